/**
 * The encrypted-order pool (issue 14), sans IO: admission of envelopes and the leader's selection
 * for a height. It sits beside the plain mempool (src/mempool/mempool.ts) rather than inside it:
 * an envelope has no payload to judge, only a public body, and it belongs to exactly one height.
 *
 *   submit    decode (typed CodecError codes: MESSAGE_TOO_LARGE, MALFORMED_FIELD, …), then, with eon
 *             epochs, the eon that applies at the envelope's target (EON_KEY_PENDING while it is not
 *             recorded, WRONG_EON for another; src/chain/eon-schedule.ts), then
 *             `checkEnvelope` (src/crypto/shutter/envelope.ts: chain, eon, target window, replayed
 *             nonce, signature, ciphertext hash), then the pool's own bounds: one envelope per
 *             (sender, nonce, target) — the first wins, so a relay cannot swap in another under the
 *             same slot — at most `maxPerSender` per sender and `maxEnvelopes` in all.
 *   select    the envelopes for `height`: per sender, those whose nonces run on without a gap from
 *             the sender's next nonce (as the proposal's parent leaves it: the caller counts the
 *             envelopes its unexecuted ancestors carry); senders in the order their first envelope arrived; within
 *             `maxBytes`. The leader sees bodies only: sender, nonce, fee, size, target.
 *   finalized forgets envelopes for heights at or below the finalized one (they can never be
 *             included: each names one height) and nonces the chain has consumed.
 */

import { type SignedOrderEnvelope, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { CodecError } from '../codec/errors.ts';
import { toHex } from '../crypto/bytes.ts';
import { checkEnvelope, type EnvelopeCheck } from '../crypto/shutter/envelope.ts';

export interface EnvelopePoolOptions {
  readonly chainId: number;
  /** The eon envelopes must name, whatever their target (without eon epochs). */
  readonly eon: number;
  /**
   * With eon epochs (src/chain/eon-schedule.ts): the eon that applies at a target height, as the
   * executed chain knows it, or undefined while that height's eon is not recorded (EON_KEY_PENDING:
   * nobody could release the key). Overrides `eon`.
   */
  readonly eonAt?: (targetHeight: number) => number | undefined;
  /** How far above the next height a target may be. */
  readonly aheadMax: number;
  readonly maxEnvelopes: number;
  readonly maxPerSender: number;
  /** The sender's next unused nonce in the finalized state. */
  readonly nextNonce: (sender: Uint8Array) => number;
}

export type EnvelopeRefusal =
  | {
      readonly ok: false;
      readonly code: 'MALFORMED';
      readonly codec: CodecError['code'];
      readonly field: string;
    }
  | {
      readonly ok: false;
      readonly code:
        | Exclude<EnvelopeCheck, 'ok'>
        | 'EON_KEY_PENDING'
        | 'SLOT_TAKEN'
        | 'SENDER_LIMIT'
        | 'POOL_FULL';
    };

export type EnvelopeAdmission = { readonly ok: true; readonly id: string } | EnvelopeRefusal;

export interface EnvelopePool {
  /** `height` is the next block's height. Never throws. */
  submit(bytes: Uint8Array, height: number): EnvelopeAdmission;
  /**
   * The envelope encodings a leader of `height` proposes, in block order. `nextNonce` is the
   * sender's next nonce as the proposal's parent leaves it (counting the envelopes the unexecuted
   * ancestors carry); without it, `options.nextNonce`. Envelopes below it are never selected.
   */
  select(height: number, maxBytes: number, nextNonce?: (sender: Uint8Array) => number): Uint8Array[];
  /**
   * Whether `select(height, …, nextNonce)` would carry anything: some envelope for `height` at its
   * sender's next nonce. Costs the envelopes held for `height`, never the whole pool.
   */
  selectable(height: number, nextNonce?: (sender: Uint8Array) => number): boolean;
  finalized(height: number): void;
  readonly size: number;
}

interface Entry {
  readonly bytes: Uint8Array;
  readonly envelope: SignedOrderEnvelope;
  readonly arrival: number;
}

export function createEnvelopePool(options: EnvelopePoolOptions): EnvelopePool {
  /** By slot "sender:nonce:target". */
  const entries = new Map<string, Entry>();
  /** The slots of each target height: a leader reads its own height's envelopes only. */
  const byHeight = new Map<number, Set<string>>();
  const perSender = new Map<string, number>();
  let arrivals = 0;
  const slotOf = (envelope: SignedOrderEnvelope) =>
    `${toHex(envelope.body.sender)}:${envelope.body.nonce}:${envelope.body.targetHeight}`;
  const remove = (slot: string, entry: Entry) => {
    entries.delete(slot);
    const slots = byHeight.get(entry.envelope.body.targetHeight);
    slots?.delete(slot);
    if (slots?.size === 0) byHeight.delete(entry.envelope.body.targetHeight);
    const sender = toHex(entry.envelope.body.sender);
    const count = (perSender.get(sender) ?? 1) - 1;
    if (count === 0) perSender.delete(sender);
    else perSender.set(sender, count);
  };
  return {
    get size() {
      return entries.size;
    },
    submit(bytes, height) {
      let envelope: SignedOrderEnvelope;
      try {
        envelope = SignedOrderEnvelopeCodec.decode(bytes);
      } catch (error) {
        if (error instanceof CodecError)
          return { ok: false, code: 'MALFORMED', codec: error.code, field: error.field };
        return { ok: false, code: 'MALFORMED', codec: 'MALFORMED_FIELD', field: 'SignedOrderEnvelope' };
      }
      const slot = slotOf(envelope);
      if (entries.has(slot)) return { ok: false, code: 'SLOT_TAKEN' };
      const sender = toHex(envelope.body.sender);
      if ((perSender.get(sender) ?? 0) >= options.maxPerSender) return { ok: false, code: 'SENDER_LIMIT' };
      if (entries.size >= options.maxEnvelopes) return { ok: false, code: 'POOL_FULL' };
      // An envelope for a height whose eon is not recorded could never be opened: refused, as is
      // one for another eon than the one that applies at its target (WRONG_EON).
      const eon = options.eonAt === undefined ? options.eon : options.eonAt(envelope.body.targetHeight);
      if (eon === undefined) return { ok: false, code: 'EON_KEY_PENDING' };
      const verdict = checkEnvelope(envelope, {
        chainId: options.chainId,
        eon,
        height,
        aheadMax: options.aheadMax,
        nextNonce: options.nextNonce,
      });
      if (verdict !== 'ok') return { ok: false, code: verdict };
      entries.set(slot, { bytes, envelope, arrival: arrivals++ });
      const slots = byHeight.get(envelope.body.targetHeight) ?? new Set<string>();
      slots.add(slot);
      byHeight.set(envelope.body.targetHeight, slots);
      perSender.set(sender, (perSender.get(sender) ?? 0) + 1);
      return { ok: true, id: slot };
    },
    select(height, maxBytes, nextNonce = options.nextNonce) {
      const bySender = new Map<string, Entry[]>();
      for (const slot of byHeight.get(height) ?? []) {
        const entry = entries.get(slot)!;
        const sender = toHex(entry.envelope.body.sender);
        const list = bySender.get(sender) ?? [];
        list.push(entry);
        bySender.set(sender, list);
      }
      const runs: Entry[][] = [];
      for (const list of bySender.values()) {
        list.sort((a, b) => a.envelope.body.nonce - b.envelope.body.nonce);
        let next = nextNonce(list[0]!.envelope.body.sender);
        const run: Entry[] = [];
        for (const entry of list) {
          // Consumed, or reserved by an envelope an ancestor carries (a retry for a later height).
          if (entry.envelope.body.nonce < next) continue;
          if (entry.envelope.body.nonce !== next) break;
          run.push(entry);
          next++;
        }
        if (run.length > 0) runs.push(run);
      }
      runs.sort((a, b) => Math.min(...a.map((e) => e.arrival)) - Math.min(...b.map((e) => e.arrival)));
      const chosen: Uint8Array[] = [];
      let bytes = 0;
      for (const run of runs)
        for (const entry of run) {
          if (bytes + entry.bytes.length > maxBytes) break;
          chosen.push(entry.bytes);
          bytes += entry.bytes.length;
        }
      return chosen;
    },
    selectable(height, nextNonce = options.nextNonce) {
      for (const slot of byHeight.get(height) ?? []) {
        const { sender, nonce } = entries.get(slot)!.envelope.body;
        if (nonce === nextNonce(sender)) return true;
      }
      return false;
    },
    finalized(height) {
      for (const [slot, entry] of [...entries]) {
        const { targetHeight, nonce, sender } = entry.envelope.body;
        if (targetHeight <= height || nonce < options.nextNonce(sender)) remove(slot, entry);
      }
    },
  };
}
