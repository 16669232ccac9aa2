/**
 * The eon keysets a light client learns from the chain it follows (src/node/light-client.ts), when
 * the eon follows the validator epochs (src/chain/eon-schedule.ts, issue 14). Sans-IO: the light
 * client feeds it the `EonActivation`s of every block it accepted and each window's validator set
 * as it proves it; it answers which eon keyset applies at a height and whether a served or relayed
 * keyset is that one. It never takes a key the chain did not record.
 *
 * ## The rule it follows (the block rule's `judgeEonActivation`, on what a light client knows)
 * An `EonActivation` in finalized block R names eon e, so window w = e − genesisEon. It records
 * W_w's keyset when
 *   - w is R's window or the next one, and not R's window when R is that window's last height
 *     (opened by the next set), nor the next one when R is its own window's first height (the state
 *     R executes on is then two windows before w: its set is not settled there);
 *   - no earlier block recorded W_w;
 *   - its attestations verify (`verifyEonAttestations`) against W_w's set: n − f distinct members
 *     of the set that holds after boundary wE signed exactly this QUAL and combined commitment;
 *   - and, when that set is the previous window's unchanged, no change could still be scheduled for
 *     boundary wE at R (`changeBoundary(E, R) > wE`): with no change pending the block rule counts
 *     the set unsettled until then.
 * It then applies from max(wE, R + 1) to (w + 1)E − 1.
 *
 * W_0's set is the genesis set; W_w's (w ≥ 1) is known once the light client has proven boundary
 * wE (`acceptValidatorSet`). A record for a window whose set is not proven yet waits, in block
 * order, and is judged when it is.
 *
 * What a light client cannot see is whether a changed set was already pending in the state R
 * executed on (the block rule also refuses a record before the change executed). A record the
 * block rule refused for that reason but which n − f members of the new set attested cannot exist
 * under the light client's own assumption (at most f faulty per set): honest keypers start a
 * window's DKG only once its set is settled on their executed chain, and the block carrying their
 * attestations is proposed after that (src/node/eon-epochs.ts).
 */
import { eonScheduleRoot } from '../chain/eon-schedule.ts';
import { type EonActivation, EonActivationCodec } from '../codec/envelope.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import type { EonKeyset } from '../crypto/shutter/eon-dkg.ts';
import { eonThreshold, verifyEonAttestations } from '../crypto/shutter/eon-keygen.ts';
import { decodeG2, type G2Point } from '../crypto/shutter/ibe.ts';
import { changeBoundary } from '../execution/validator-set.ts';

/** Windows whose sets and eons are kept behind the newest (older ones are forgotten). */
export const LIGHT_EON_WINDOWS_KEPT = 8;
/** Records waiting for their window's set (at most one per block: honest verifiers refuse more). */
export const LIGHT_EON_CANDIDATES_MAX = 64;

/** An eon keyset the chain recorded, as the light client learned it. */
export interface LightEon {
  readonly eon: number;
  readonly window: number;
  /** The heights it applies at. */
  readonly fromHeight: number;
  readonly untilHeight: number;
  /** The finalized block that recorded it. */
  readonly recordedAt: number;
  readonly eonPublicKey: G2Point;
  /** 96-byte compressed G2: what `encrypt` takes. */
  readonly eonPublicKeyBytes: Uint8Array;
  readonly publicShares: readonly G2Point[];
  readonly threshold: number;
  /** The window's validators (its keypers), by keyper index. */
  readonly validators: readonly Uint8Array[];
  /** Its `EonActivation` encoding, as the block carried it. */
  readonly activation: Uint8Array;
}

/** A record's fields (from an `EonActivation`, or a served `GET /v1/eon`). */
export interface EonRecordFields {
  readonly eon: number;
  readonly qualified: readonly number[];
  readonly commitment: readonly G2Point[];
  readonly attestations: readonly Uint8Array[];
}

export type EonCheck =
  | { readonly ok: true; readonly eon: LightEon }
  | {
      readonly ok: false;
      readonly code:
        | 'EON_UNKNOWN_WINDOW'
        | 'EON_WRONG_WINDOW'
        | 'EON_BAD_ATTESTATIONS'
        | 'EON_NOT_RECORDED'
        | 'EON_MISMATCH';
      readonly details: Record<string, unknown>;
    };

export interface LightEons {
  /** Block `height` (accepted) carried these `EonActivation` encodings. */
  noteBlock(height: number, activations: readonly Uint8Array[]): void;
  /**
   * The set of window `window` (the set after boundary window·E) is proven. With `accept`, the
   * records it settles are kept only when `accept` approves the schedule they give (it is shown the
   * eon-schedule root the chain's state would commit after a height); otherwise nothing changes and
   * false is returned.
   */
  learnWindowSet(
    window: number,
    keys: readonly Uint8Array[],
    accept?: (scheduleRootAfter: (height: number) => Uint8Array | undefined) => boolean,
  ): boolean;
  /** The recorded eon that applies at `height`, or undefined. */
  eonAt(height: number): LightEon | undefined;
  /** Checks a record's fields against the window's set and the chain's record of that window. */
  check(fields: EonRecordFields, forHeight?: number): EonCheck;
}

interface Candidate {
  readonly height: number;
  readonly window: number;
  readonly record: EonActivation;
  readonly commitment: G2Point[];
  readonly encoded: Uint8Array;
}

const sameKeys = (a: readonly Uint8Array[], b: readonly Uint8Array[]) =>
  a.length === b.length && a.every((key, i) => bytesEqual(key, b[i]!));

const sameRecord = (a: EonRecordFields, b: EonRecordFields) =>
  a.eon === b.eon &&
  a.qualified.length === b.qualified.length &&
  a.qualified.every((dealer, i) => dealer === b.qualified[i]) &&
  a.commitment.length === b.commitment.length &&
  a.commitment.every((point, i) => point.equals(b.commitment[i]!));

/**
 * The eon schedule of a light client that starts at genesis.
 * @example const eons = createLightEons({ chainId, genesisEon: 1, epochBlocks: 600, genesisSet: keys });
 */
export function createLightEons(options: {
  chainId: number;
  genesisEon: number;
  epochBlocks: number;
  genesisSet: readonly Uint8Array[];
}): LightEons {
  const { chainId, genesisEon, epochBlocks } = options;
  const sets = new Map<number, readonly Uint8Array[]>([[0, options.genesisSet.map((key) => key.slice())]]);
  const recorded = new Map<number, LightEon & { record: EonRecordFields }>();
  const candidates: Candidate[] = [];
  const windowOf = (height: number) => Math.floor(height / epochBlocks);

  /** The session check of a record against window `window`'s set; the keyset, or undefined. */
  function attested(fields: EonRecordFields, set: readonly Uint8Array[]): EonKeyset | undefined {
    try {
      return verifyEonAttestations(
        { chainId, eon: fields.eon, validatorKeys: [...set], threshold: eonThreshold(set.length) },
        fields.qualified,
        fields.commitment,
        fields.attestations,
      );
    } catch {
      return undefined;
    }
  }

  function judge(candidate: Candidate): void {
    const { window, height } = candidate;
    if (recorded.has(window)) return;
    const set = sets.get(window)!;
    const boundary = window * epochBlocks;
    if (window > windowOf(height) && window >= 1) {
      const before = sets.get(window - 1);
      // Unchanged set, nothing pending for its boundary: settled only once no change can come.
      if (before !== undefined && sameKeys(before, set) && changeBoundary(epochBlocks, height) <= boundary)
        return;
    }
    const fields: EonRecordFields = {
      eon: candidate.record.eon,
      qualified: candidate.record.qualified,
      commitment: candidate.commitment,
      attestations: candidate.record.attestations,
    };
    const keyset = attested(fields, set);
    if (keyset === undefined) return;
    recorded.set(window, {
      eon: fields.eon,
      window,
      fromHeight: Math.max(boundary, height + 1),
      untilHeight: (window + 1) * epochBlocks - 1,
      recordedAt: height,
      eonPublicKey: keyset.eonPublicKey,
      eonPublicKeyBytes: keyset.eonPublicKey.toBytes(true),
      publicShares: keyset.publicShares,
      threshold: keyset.threshold,
      validators: set.map((key) => key.slice()),
      activation: candidate.encoded.slice(),
      record: fields,
    });
  }

  /** Judges, in block order, every waiting record whose window's set is known. */
  function settle(): void {
    for (let i = 0; i < candidates.length; ) {
      const candidate = candidates[i]!;
      if (!sets.has(candidate.window)) {
        i++;
        continue;
      }
      candidates.splice(i, 1);
      judge(candidate);
    }
  }

  /**
   * What the block rule's state after `height` keeps of the eons (recorded by then, of its window
   * or later or the one before: `pruneEons`), in recording order, hashed as the node state root
   * hashes it (`eonScheduleRoot`); undefined when it keeps none.
   */
  function scheduleRootAfter(height: number): Uint8Array | undefined {
    const kept = [...recorded.values()]
      .filter((e) => e.recordedAt <= height && e.window >= windowOf(height) - 1)
      .sort((a, b) => a.recordedAt - b.recordedAt);
    if (kept.length === 0) return undefined;
    return eonScheduleRoot(
      kept.map((e) => ({
        eon: e.eon,
        window: e.window,
        fromHeight: e.fromHeight,
        recordedAt: e.recordedAt,
        keyset: {
          threshold: e.threshold,
          eonPublicKey: e.eonPublicKey,
          publicShares: e.publicShares,
          qualified: e.record.qualified,
        },
        validators: e.validators,
        activation: e.activation,
      })),
    );
  }

  function prune(newest: number): void {
    for (const window of [...sets.keys()]) if (window < newest - LIGHT_EON_WINDOWS_KEPT) sets.delete(window);
    for (const window of [...recorded.keys()])
      if (window < newest - LIGHT_EON_WINDOWS_KEPT) recorded.delete(window);
  }

  return {
    noteBlock(height, activations) {
      const here = windowOf(height);
      for (const encoded of activations) {
        let record: EonActivation;
        let commitment: G2Point[];
        try {
          record = EonActivationCodec.decode(encoded);
          commitment = record.commitment.map((bytes) => decodeG2(bytes, 'commitment'));
        } catch {
          continue; // the block rule records nothing for it either
        }
        const window = record.eon - genesisEon;
        if (window < 0 || (window !== here && window !== here + 1)) continue;
        if (window === here && height >= (window + 1) * epochBlocks - 1) continue;
        if (window === here + 1 && height % epochBlocks === 0) continue;
        if (recorded.has(window)) continue;
        if (candidates.length >= LIGHT_EON_CANDIDATES_MAX) candidates.shift();
        candidates.push({ height, window, record, commitment, encoded: encoded.slice() });
      }
      settle();
      prune(here);
    },

    learnWindowSet(window, keys, accept) {
      const before = { sets: new Map(sets), recorded: new Map(recorded), candidates: [...candidates] };
      sets.set(
        window,
        keys.map((key) => key.slice()),
      );
      settle();
      if (accept !== undefined && !accept(scheduleRootAfter)) {
        for (const [map, saved] of [
          [sets, before.sets],
          [recorded, before.recorded],
        ] as const) {
          map.clear();
          for (const [key, value] of saved as Map<number, never>)
            (map as Map<number, unknown>).set(key, value);
        }
        candidates.splice(0, candidates.length, ...before.candidates);
        return false;
      }
      prune(window);
      return true;
    },

    eonAt(height) {
      const entry = recorded.get(windowOf(height));
      if (entry === undefined || height < entry.fromHeight) return undefined;
      const { record: _record, ...eon } = entry;
      return eon;
    },

    check(fields, forHeight) {
      const window = fields.eon - genesisEon;
      if (forHeight !== undefined && windowOf(forHeight) !== window)
        return {
          ok: false,
          code: 'EON_WRONG_WINDOW',
          details: { eon: fields.eon, height: forHeight, window: windowOf(forHeight) },
        };
      const set = sets.get(window);
      if (window < 0 || set === undefined)
        return { ok: false, code: 'EON_UNKNOWN_WINDOW', details: { eon: fields.eon, window } };
      if (attested(fields, set) === undefined)
        return { ok: false, code: 'EON_BAD_ATTESTATIONS', details: { eon: fields.eon, window } };
      const entry = recorded.get(window);
      if (entry === undefined)
        return { ok: false, code: 'EON_NOT_RECORDED', details: { eon: fields.eon, window } };
      if (!sameRecord(entry.record, fields))
        return { ok: false, code: 'EON_MISMATCH', details: { eon: fields.eon, window } };
      const { record: _record, ...eon } = entry;
      return { ok: true, eon };
    },
  };
}
