/**
 * The encrypted-order pool (issue 14), sans IO: admission of envelopes and the leader's selection
 * for a height. It sits beside the plain mempool (src/mempool/mempool.ts) rather than inside it:
 * an envelope has no payload to judge, only a public body.
 *
 *   submit    decode (typed CodecError codes: MESSAGE_TOO_LARGE, MALFORMED_FIELD, …), then, with eon
 *             epochs, the eon that applies at the next height (EON_KEY_PENDING while it is not
 *             recorded, WRONG_EON for another; src/chain/eon-schedule.ts), then
 *             `checkEnvelope` (src/crypto/shutter/envelope.ts: chain, eon, expiry window, replayed
 *             nonce, signature, ciphertext hash), then the pool's own bounds: one envelope per
 *             (sender, nonce) — the first wins, so a relay cannot swap in another under the same
 *             slot — at most `maxPerSender` per sender and `maxEnvelopes` in all, and no identity
             twice (IDENTITY_REUSED: a sender's second envelope under the prefix of one held or
             seen lately would be readable as soon as the first one's key is out). The envelope's
 *             identity point is hashed here (src/crypto/shutter/key-shares.ts keeps it), off the
 *             path where its batch's shares are made and checked.
 *   select    the envelopes for `height`: per sender, those whose nonces run on without a gap from
 *             the sender's next nonce (as the proposal's parent leaves it: the caller counts the
 *             envelopes its unexecuted ancestors carry), not expired below `height`, of the eon
 *             that applies there; senders in the order their first envelope arrived; within
 *             `maxBytes` and `MAX_BATCH_ENVELOPES`. The leader sees bodies only: sender, nonce,
 *             fee, size, expiry.
 *   finalized forgets envelopes that expired at or below the finalized height and nonces the
 *             chain has consumed.
 */

import {
  MAX_BATCH_ENVELOPES,
  type SignedOrderEnvelope,
  SignedOrderEnvelopeCodec,
} from '../codec/envelope.ts';
import { CodecError } from '../codec/errors.ts';
import { toHex } from '../crypto/bytes.ts';
import { checkEnvelope, type EnvelopeCheck, identityOfEnvelope } from '../crypto/shutter/envelope.ts';
import { identityPointsOf } from '../crypto/shutter/key-shares.ts';

export interface EnvelopePoolOptions {
  readonly chainId: number;
  /** The eon envelopes must name (without eon epochs). */
  readonly eon: number;
  /**
   * With eon epochs (src/chain/eon-schedule.ts): the eon that applies at a height, as the
   * executed chain knows it, or undefined while that height's eon is not recorded (EON_KEY_PENDING:
   * nobody could release the key). Overrides `eon`.
   */
  readonly eonAt?: (height: number) => number | undefined;
  /** How far above the next height an expiry may be. */
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
        | 'IDENTITY_REUSED'
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
   * Whether `select(height, …, nextNonce)` would carry anything: some unexpired envelope at its
   * sender's next nonce. Costs one lookup per sender with envelopes held.
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
  /** By sender (hex), then nonce; senders in the order their first held envelope arrived. */
  const bySender = new Map<string, Map<number, Entry>>();
  let size = 0;
  let arrivals = 0;
  /** Identities of the envelopes taken lately (held or gone), oldest first: none is taken twice. */
  const identities = new Set<string>();
  const identitiesKept = Math.max(4 * options.maxEnvelopes, 1024);
  const eonAt = (height: number) => (options.eonAt === undefined ? options.eon : options.eonAt(height));
  /** Whether `entry` may go in a block at `height` whose eon is `eon`. */
  const fits = (entry: Entry, height: number, eon: number | undefined) =>
    entry.envelope.body.expiryHeight >= height && entry.envelope.body.eon === eon;
  return {
    get size() {
      return size;
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
      const sender = toHex(envelope.body.sender);
      const held = bySender.get(sender);
      if (held?.has(envelope.body.nonce) === true) return { ok: false, code: 'SLOT_TAKEN' };
      if ((held?.size ?? 0) >= options.maxPerSender) return { ok: false, code: 'SENDER_LIMIT' };
      if (size >= options.maxEnvelopes) return { ok: false, code: 'POOL_FULL' };
      // An envelope for an eon that does not apply (or is not recorded yet) could never be opened.
      const eon = eonAt(height);
      if (eon === undefined) return { ok: false, code: 'EON_KEY_PENDING' };
      const verdict = checkEnvelope(envelope, {
        chainId: options.chainId,
        eon,
        height,
        aheadMax: options.aheadMax,
        nextNonce: options.nextNonce,
      });
      if (verdict !== 'ok') return { ok: false, code: verdict };
      const identity = identityOfEnvelope(envelope.body);
      const identityHex = toHex(identity);
      if (identities.has(identityHex)) return { ok: false, code: 'IDENTITY_REUSED' };
      identities.add(identityHex);
      if (identities.size > identitiesKept) identities.delete(identities.values().next().value!);
      identityPointsOf([identity]);
      const list = held ?? new Map<number, Entry>();
      list.set(envelope.body.nonce, { bytes, envelope, arrival: arrivals++ });
      bySender.set(sender, list);
      size++;
      return { ok: true, id: `${sender}:${envelope.body.nonce}` };
    },
    select(height, maxBytes, nextNonce = options.nextNonce) {
      const eon = eonAt(height);
      const runs: Entry[][] = [];
      for (const list of bySender.values()) {
        const first = list.values().next().value!;
        const run: Entry[] = [];
        for (let next = nextNonce(first.envelope.body.sender); ; next++) {
          const entry = list.get(next);
          if (entry === undefined || !fits(entry, height, eon)) break;
          run.push(entry);
        }
        if (run.length > 0) runs.push(run);
      }
      runs.sort((a, b) => Math.min(...a.map((e) => e.arrival)) - Math.min(...b.map((e) => e.arrival)));
      const chosen: Uint8Array[] = [];
      let bytes = 0;
      for (const run of runs)
        for (const entry of run) {
          if (chosen.length >= MAX_BATCH_ENVELOPES || bytes + entry.bytes.length > maxBytes) break;
          chosen.push(entry.bytes);
          bytes += entry.bytes.length;
        }
      return chosen;
    },
    selectable(height, nextNonce = options.nextNonce) {
      const eon = eonAt(height);
      for (const list of bySender.values()) {
        const first = list.values().next().value!;
        const entry = list.get(nextNonce(first.envelope.body.sender));
        if (entry !== undefined && fits(entry, height, eon)) return true;
      }
      return false;
    },
    finalized(height) {
      for (const [sender, list] of [...bySender]) {
        for (const [nonce, entry] of [...list]) {
          const { expiryHeight } = entry.envelope.body;
          if (expiryHeight > height && nonce >= options.nextNonce(entry.envelope.body.sender)) continue;
          list.delete(nonce);
          size--;
        }
        if (list.size === 0) bySender.delete(sender);
      }
    },
  };
}
