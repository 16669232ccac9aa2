/**
 * Which eon keyset applies at which height when the eon follows the validator epochs (fair
 * ordering, issue 14). Pure, a function of the chain state and the blocks, like the rest of
 * src/chain.
 *
 * Windows. With eon epochs on (`EonEpochRules.eonEpochBlocks` = the validator-set epoch length
 * E), the heights split into windows W_k = [kE, (k+1)E − 1] (W_0 = [1, E − 1]). Block h's key is
 * released on the votes of block h + 1 (src/node/fair-ordering.ts), and the votes on heights kE + 1
 * … (k + 1)E are the set that holds after boundary kE (src/execution/validator-set.ts: block kE is
 * the last block the old set finalizes). So the keypers of W_k are exactly the set after boundary
 * kE, and the boundary block kE itself, whose key rides on the first votes of the new set, belongs
 * to the new eon: no height's key ever needs a validator that has left, and the last block of an
 * epoch before a set change is solved rather than refused.
 *
 * Eon numbers. W_k's eon is the genesis eon + k. Every window's keyset, W_0's included (the eon DKG
 * the genesis validators run at first start, src/node/eon-keyset.ts), is made by a DKG among the
 * window's own set (the same machine, src/crypto/shutter/eon-keygen.ts, a session per eon) and
 * applies only once a finalized block records it, so the chain itself says which key applies where
 * and a validator that joins later, or a light client, needs nothing from outside it:
 *
 *   `EonActivation` in block R   { eon, QUAL, Σ Γ_j over QUAL (the combined commitment: the eon
 *                                key and, evaluated, every public share), n − f sealed attestations }
 *   accepted                     for W_k with k the window of R or the next one, not recorded yet,
 *                                when the set of W_k is settled in the state R executes on (the
 *                                pending change for boundary kE is known, or no change can still
 *                                be scheduled for it: `changeBoundary(E, R) > kE`), and the
 *                                attestations verify against that set's session
 *                                (`verifyEonAttestations`): n − f distinct members of the new set
 *                                signed exactly this QUAL and commitment
 *   applies                      to the heights h of W_k with h > R: from the boundary kE when it
 *                                was recorded in time, at once (from R + 1) when late. Late
 *                                recording starts the window's encrypted flow one block after the
 *                                record instead of a whole epoch later; it is as sound, because
 *                                the keypers of every height of W_k are W_k's set either way.
 *   ignored on execution         anything else (a verifier refuses it, `eonActivationProblem`;
 *                                should a forged record be finalized anyway it records nothing)
 *
 * Until W_k's eon applies, heights of W_k have no eon: envelopes for them are refused
 * (EON_KEY_PENDING at admission, dropped uncharged on execution); plain transactions run on. The
 * chain never waits for a key: a block whose height has no eon carries no pending batch.
 *
 * Without eon epochs (`eonEpochBlocks` absent, e.g. a genesis that names its keyset) the genesis
 * eon applies at every height, as before.
 */
import { type EonActivation, EonActivationCodec } from '../codec/envelope.ts';
import { invariant } from '../codec/invariant.ts';
import type { ScheduledEonRecord } from '../codec/snapshot.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { EonKeyset } from '../crypto/shutter/eon-dkg.ts';
import {
  EonKeygenError,
  eonKeysetOf,
  eonThreshold,
  verifyEonAttestations,
} from '../crypto/shutter/eon-keygen.ts';
import { decodeG2, type G2Point } from '../crypto/shutter/ibe.ts';
import { changeBoundary } from '../execution/validator-set.ts';

/** An eon keyset of a window, recorded on chain (or the genesis one). */
export interface ScheduledEon {
  readonly eon: number;
  /** Its window k. */
  readonly window: number;
  /** The first height it applies at; it applies up to the window's last height. */
  readonly fromHeight: number;
  /** The height of the block that recorded it (0: genesis). */
  readonly recordedAt: number;
  readonly keyset: EonKeyset;
  /** The window's validator identity keys, by keyper index. */
  readonly validators: readonly Uint8Array[];
  /** The `EonActivation` encoding that recorded it (what the state root and snapshots keep). */
  readonly activation: Uint8Array;
}

/** What applies at one height: the eon, its key and the keypers who release its batch keys. */
export interface EonAtHeight {
  readonly eon: number;
  readonly eonPublicKey: G2Point;
  readonly publicShares: readonly G2Point[];
  readonly validators: readonly Uint8Array[];
  /** t = 2f + 1 of the window's set. */
  readonly threshold: number;
}

/** The window of `height` (heights [kE, (k + 1)E − 1]). */
export function eonWindowOf(epochBlocks: number, height: number): number {
  return Math.floor(height / epochBlocks);
}

/** The eon number of window `window`. */
export function eonOfWindow(genesisEon: number, window: number): number {
  return genesisEon + window;
}

/** The genesis part the schedule needs. */
export type EonScheduleRules =
  | {
      /** One fixed keyset (the genesis names it, or made once): it applies at every height. */
      readonly genesisEon: number;
      readonly genesisEonPublicKey: G2Point;
      readonly genesisPublicShares: readonly G2Point[];
      /** The genesis validators: its keypers. */
      readonly genesisValidators: readonly Uint8Array[];
      readonly epochBlocks?: undefined;
    }
  | {
      /** Window 0's eon; every window's keyset, W_0's included, comes from a record. */
      readonly genesisEon: number;
      readonly genesisValidators: readonly Uint8Array[];
      readonly epochBlocks: number;
    };

/** The eon that applies at `height`, or undefined when its window's eon is not recorded yet. */
export function eonAt(
  rules: EonScheduleRules,
  recorded: readonly ScheduledEon[],
  height: number,
): EonAtHeight | undefined {
  if (rules.epochBlocks === undefined)
    return {
      eon: rules.genesisEon,
      eonPublicKey: rules.genesisEonPublicKey,
      publicShares: rules.genesisPublicShares,
      validators: rules.genesisValidators,
      threshold: eonThreshold(rules.genesisValidators.length),
    };
  const window = eonWindowOf(rules.epochBlocks, height);
  const entry = recorded.find((e) => e.window === window);
  if (entry === undefined || height < entry.fromHeight) return undefined;
  return {
    eon: entry.eon,
    eonPublicKey: entry.keyset.eonPublicKey,
    publicShares: entry.keyset.publicShares,
    validators: entry.validators,
    threshold: entry.keyset.threshold,
  };
}

/** The eon numbered `eon` among the genesis one and the recorded ones, or undefined. */
export function eonByNumber(
  rules: EonScheduleRules,
  recorded: readonly ScheduledEon[],
  eon: number,
): EonAtHeight | undefined {
  if (rules.epochBlocks === undefined) return eon === rules.genesisEon ? eonAt(rules, [], 1) : undefined;
  const entry = recorded.find((e) => e.eon === eon);
  return entry === undefined ? undefined : eonAt(rules, recorded, Math.max(entry.fromHeight, 1));
}

/** The committed validator set as the engine shows it (src/execution/validator-set.ts view). */
export interface CommittedSet {
  readonly members: readonly { readonly publicKey: string }[];
  readonly pending:
    | { readonly effectiveHeight: number; readonly op: 'add' | 'remove'; readonly publicKey: string }
    | undefined;
}

/**
 * The keys of the set after boundary `window`·E, as the state after block `executed` knows it, or
 * undefined while a change for that boundary may still be scheduled (or the boundary is passed by
 * more than the one pending change can tell).
 */
export function windowSetKeys(
  epochBlocks: number,
  committed: CommittedSet,
  executed: number,
  window: number,
): Uint8Array[] | undefined {
  const boundary = window * epochBlocks;
  const current = eonWindowOf(epochBlocks, executed);
  // The state knows the set of its own window (the boundary applied) and of the next one.
  if (window < current || window > current + 1) return undefined;
  let keys = committed.members.map((m) => m.publicKey);
  const pending = committed.pending;
  if (pending !== undefined) {
    // One change at a time: while one is pending no other can be scheduled for this boundary.
    if (pending.effectiveHeight <= boundary)
      keys =
        pending.op === 'add' ? [...keys, pending.publicKey] : keys.filter((key) => key !== pending.publicKey);
  } else if (window > current && changeBoundary(epochBlocks, executed + 1) <= boundary) return undefined;
  return keys.map((key) => fromHex(key)!);
}

export type EonActivationProblem =
  | 'eon-epochs-off'
  | 'eon-activation-malformed'
  | 'eon-activation-wrong-eon'
  | 'eon-activation-recorded'
  | 'eon-activation-set-unsettled'
  | 'eon-activation-bad-attestations';

export type EonActivationVerdict =
  | { readonly ok: true; readonly scheduled: ScheduledEon }
  | { readonly ok: false; readonly problem: EonActivationProblem };

/**
 * Judges an `EonActivation` encoding carried by block `height`, on the state after `height − 1`
 * (its recorded eons and committed set). Deterministic; never throws on untrusted input.
 */
export function judgeEonActivation(
  input: {
    readonly chainId: number;
    readonly rules: EonScheduleRules;
    readonly recorded: readonly ScheduledEon[];
    readonly committed: CommittedSet | undefined;
  },
  height: number,
  encoded: Uint8Array,
): EonActivationVerdict {
  const { rules } = input;
  const epochBlocks = rules.epochBlocks;
  if (epochBlocks === undefined || input.committed === undefined)
    return { ok: false, problem: 'eon-epochs-off' };
  let record: EonActivation;
  let commitment: G2Point[];
  try {
    record = EonActivationCodec.decode(encoded);
    commitment = record.commitment.map((bytes) => decodeG2(bytes, 'commitment'));
  } catch {
    return { ok: false, problem: 'eon-activation-malformed' };
  }
  const here = eonWindowOf(epochBlocks, height);
  const eon = record.eon;
  const window = eon - rules.genesisEon;
  if (window !== here && window !== here + 1) return { ok: false, problem: 'eon-activation-wrong-eon' };
  // A window's last height is opened by the next window's set: recording then applies to nothing.
  if (window < 0 || (window === here && height >= (window + 1) * epochBlocks - 1))
    return { ok: false, problem: 'eon-activation-wrong-eon' };
  if (input.recorded.some((e) => e.window === window))
    return { ok: false, problem: 'eon-activation-recorded' };
  const validators = windowSetKeys(epochBlocks, input.committed, height - 1, window);
  if (validators === undefined) return { ok: false, problem: 'eon-activation-set-unsettled' };
  let keyset: EonKeyset;
  try {
    keyset = verifyEonAttestations(
      { chainId: input.chainId, eon, validatorKeys: validators, threshold: eonThreshold(validators.length) },
      record.qualified,
      commitment,
      record.attestations,
    );
  } catch (error) {
    if (error instanceof EonKeygenError || error instanceof Error)
      return { ok: false, problem: 'eon-activation-bad-attestations' };
    throw error;
  }
  return {
    ok: true,
    scheduled: {
      eon,
      window,
      fromHeight: Math.max(window * epochBlocks, height + 1),
      recordedAt: height,
      keyset,
      validators,
      activation: encoded.slice(),
    },
  };
}

/**
 * The recorded eons still needed at `height`: the window's, the next one's and the previous one's
 * (its last block's batch may still be pending, its early shares still provable).
 */
export function pruneEons(
  rules: EonScheduleRules,
  recorded: readonly ScheduledEon[],
  height: number,
): ScheduledEon[] {
  if (rules.epochBlocks === undefined) return [...recorded];
  const window = eonWindowOf(rules.epochBlocks, height);
  return recorded.filter((e) => e.window >= window - 1);
}

const EONS_ROOT_LABEL = new TextEncoder().encode('PALISADE/NODE/EON-SCHEDULE/v1');

/** SHA-256 over the recorded eons (part of the node state root when there are any). */
export function eonScheduleRoot(recorded: readonly ScheduledEon[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of recorded) {
    const header = new Uint8Array(24);
    const view = new DataView(header.buffer);
    view.setBigUint64(0, BigInt(e.eon));
    view.setBigUint64(8, BigInt(e.fromHeight));
    view.setBigUint64(16, BigInt(e.recordedAt));
    parts.push(header, sha256(e.activation), ...e.validators);
  }
  return sha256(EONS_ROOT_LABEL, ...parts);
}

/** A recorded eon as a snapshot keeps it. */
export function scheduledEonRecord(e: ScheduledEon): ScheduledEonRecord {
  return {
    fromHeight: e.fromHeight,
    recordedAt: e.recordedAt,
    activation: e.activation,
    validators: e.validators.map((key) => key.slice()),
  };
}

/**
 * A recorded eon from a snapshot: its keyset recomputed from the recorded commitment (the
 * attestations were checked when the block recorded it; the state root covers the bytes).
 * @throws CodecError or InvariantError on bytes no block rule could have recorded
 */
export function scheduledEonOfRecord(rules: EonScheduleRules, record: ScheduledEonRecord): ScheduledEon {
  invariant(rules.epochBlocks !== undefined, 'recorded eons need eon epochs');
  const activation = EonActivationCodec.decode(record.activation);
  const commitment = activation.commitment.map((bytes) => decodeG2(bytes, 'commitment'));
  const window = activation.eon - rules.genesisEon;
  invariant(window >= 0, 'a recorded eon is of a window');
  return {
    eon: activation.eon,
    window,
    fromHeight: record.fromHeight,
    recordedAt: record.recordedAt,
    keyset: eonKeysetOf(commitment, activation.qualified, record.validators.length),
    validators: record.validators.map((key) => key.slice()),
    activation: record.activation.slice(),
  };
}

/** The activation record of an agreed keyset (what a proposer puts in a block). */
export function eonActivationOf(
  eon: number,
  qualified: readonly number[],
  commitment: readonly G2Point[],
  attestations: readonly Uint8Array[],
): Uint8Array {
  return EonActivationCodec.encode({
    eon,
    qualified: [...qualified],
    commitment: commitment.map((point) => point.toBytes(true)),
    attestations: [...attestations],
  });
}

/** Hex of the validators of an eon, for logs and the API. */
export function eonValidatorHex(entry: Pick<ScheduledEon, 'validators'>): string[] {
  return entry.validators.map((key) => `0x${toHex(key)}`);
}
