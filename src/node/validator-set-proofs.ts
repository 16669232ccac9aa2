/**
 * What a light client needs at each validator-set boundary (src/execution/validator-set.ts), kept
 * by the node that executed it: the validator-set record under the state root that the boundary
 * block commits, with its state proof and the opening of that node state root.
 *
 * Boundary block H (a multiple of `epochBlocks`) is the last block the outgoing set finalizes, and
 * its payload commits the node state root after `stateRootHeightFor(H)` = H − 16 (0 for H ≤ 16). A
 * change takes effect at H only if it executed at or before H − 16, so the record in that root
 * names it as pending (or names none): the set after H follows from the record alone, and the
 * record is certified by the old set's 2f + 1 through the boundary block. The node therefore
 * records the proof when it has executed height H − 16 (and at genesis, for the boundaries at or
 * below 16), and persists it, so that a light client starting from genesis can ask for every
 * boundary. Nothing here is trusted by its reader (src/node/light-client.ts `acceptValidatorSet`).
 *
 * With fair ordering the node state root also hashes the pending batches' root and the recorded
 * eons' root (src/chain/block-rule.ts `nodeStateRootFairParts`); the proof carries those two
 * digests (`fairParts`), without which no opening of such a root could verify and neither a light
 * client nor state sync could cross a boundary of a chain that records eons.
 */
import {
  NODE_STATE_ROOT_FAIR_PARTS_MAX,
  nodeStateRootOfParts,
  STATE_ROOT_LAG_BLOCKS,
  stateRootHeightFor,
} from '../chain/block-rule.ts';
import { ValidatorSetRecordCodec } from '../codec/execution.ts';
import { AggregatePriceType, type AggregatePriceValue } from '../codec/oracle.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { decodeStateProof, encodeStateProof, verifyStateProof } from '../crypto/state-commitment.ts';
import type { Engine } from '../execution/engine.ts';
import { VALIDATOR_SET_STATE_KEY } from '../execution/records.ts';
import { applyValidatorBoundary, validatorSetFromRecord } from '../execution/validator-set.ts';
import type { Storage } from '../runtime/types.ts';
import { fairPartsJson } from './view.ts';

/** Boundary proofs kept per node (oldest dropped): 4,096 epochs, years at the devnet's 600 blocks. */
export const VALIDATOR_SET_PROOFS_KEPT = 4096;
const PREFIX = 'validator-set-proof/';

/** `GET /v1/validators/boundaries/:height`. */
export interface ValidatorSetProofJson {
  /** The boundary block H. */
  boundaryHeight: number;
  /** The height whose state the proof opens: H − 16 (0 for H ≤ 16), the root block H commits. */
  height: number;
  /** Engine state root after `height`, 0x-hex. */
  engineStateRoot: string;
  /** Each oracle aggregate after `height` (`AggregatePriceType` SSZ), 0x-hex, ascending asset id. */
  prices: string[];
  /** `ValidatorSetRecordCodec` bytes: the value under `VALIDATOR_SET_STATE_KEY`. */
  record: string;
  /** `StateProofCodec` bytes of that key under `engineStateRoot`. */
  proof: string;
  /**
   * With fair ordering: the digests the node state root hashes after the price root (the pending
   * batches' root, the recorded eons' root, each when not empty; `nodeStateRootFairParts`), 0x-hex.
   * Absent or empty on a chain without pending batches or recorded eons at `height`.
   */
  fairParts?: string[];
}

export interface ValidatorSetProofs {
  /** Records the state after the block just applied, or genesis (call from `onApplied` and at start). */
  record(): void;
  /** The proof for boundary `height`; undefined when it is no boundary or not kept here. */
  proof(height: number): ValidatorSetProofJson | undefined;
}

const hex = (bytes: Uint8Array): string => `0x${toHex(bytes)}`;
const keyOf = (height: number) => `${PREFIX}${height.toString(16).padStart(13, '0')}`;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * The node's boundary proofs over its engine, price book and storage.
 * @example const proofs = createValidatorSetProofs(storage, () => app.engine, () => app.priceBook.latest().values());
 */
export function createValidatorSetProofs(
  storage: Storage,
  engine: () => Engine,
  prices: () => Iterable<AggregatePriceValue>,
  options: {
    /** Boundary proofs kept (oldest dropped); default VALIDATOR_SET_PROOFS_KEPT. */
    kept?: number;
    /** The fair-ordering parts of the node state root after the engine's height (`nodeStateRootFairParts`). */
    fairParts?: () => Uint8Array[];
    /**
     * The node state root after `height` as this node committed it: when given, a proof whose
     * opening does not hash to it is not recorded (a reader asks another node, or block sync runs).
     */
    committedRoot?: (height: number) => Uint8Array | undefined;
  } = {},
): ValidatorSetProofs {
  const kept = options.kept ?? VALIDATOR_SET_PROOFS_KEPT;
  return {
    record() {
      const current = engine();
      const set = current.validatorSet();
      if (set === undefined) return;
      const height = current.height;
      // Only the roots a boundary block commits: genesis, and B·k − 16.
      if (height !== 0 && (height + STATE_ROOT_LAG_BLOCKS) % set.epochBlocks !== 0) return;
      const value = current.stateValue(VALIDATOR_SET_STATE_KEY);
      if (value === undefined) return;
      const sorted = [...prices()].sort((a, b) => a.assetId - b.assetId);
      const fairParts = options.fairParts?.() ?? [];
      const engineRoot = current.stateRoot();
      if (options.committedRoot !== undefined) {
        const committed = options.committedRoot(height);
        if (
          committed === undefined ||
          !bytesEqual(committed, nodeStateRootOfParts(engineRoot, sorted, fairParts))
        )
          return;
      }
      const entry = {
        height,
        engineStateRoot: hex(engineRoot),
        prices: sorted.map((price) => hex(AggregatePriceType.serialize(price))),
        record: hex(value),
        proof: hex(encodeStateProof(current.prove(VALIDATOR_SET_STATE_KEY))),
        ...fairPartsJson(fairParts),
      };
      storage.put(keyOf(height), textEncoder.encode(JSON.stringify(entry)));
      const keys = storage.keys(PREFIX);
      for (const stale of keys.slice(0, Math.max(0, keys.length - kept))) storage.delete(stale);
    },
    proof(boundaryHeight) {
      const set = engine().validatorSet();
      if (set === undefined || !Number.isSafeInteger(boundaryHeight) || boundaryHeight <= 0) return undefined;
      if (boundaryHeight % set.epochBlocks !== 0) return undefined;
      const height = stateRootHeightFor(boundaryHeight);
      const bytes = storage.get(keyOf(height));
      if (bytes === undefined) return undefined;
      try {
        const entry = JSON.parse(textDecoder.decode(bytes)) as Omit<ValidatorSetProofJson, 'boundaryHeight'>;
        return entry.height === height ? { boundaryHeight, ...entry } : undefined;
      } catch {
        return undefined; // a torn record: the reader asks another node
      }
    },
  };
}

/** The opening of the node state root a boundary block commits, decoded from a proof's fields. */
export interface BoundaryOpening {
  readonly engineStateRoot: Uint8Array;
  readonly prices: readonly AggregatePriceValue[];
  /** `ValidatorSetRecordCodec` bytes. */
  readonly record: Uint8Array;
  /** `StateProofCodec` bytes of the record under `engineStateRoot`. */
  readonly proof: Uint8Array;
  /** The fair-ordering digests the root hashes after the price root (`nodeStateRootFairParts`). */
  readonly fairParts?: readonly Uint8Array[];
}

/** The validator set a reader follows: its epoch, the epoch length and the members' keys in order. */
export interface FollowedSet {
  readonly epoch: number;
  readonly epochBlocks: number;
  readonly keys: readonly Uint8Array[];
}

export type BoundaryVerdict =
  | { ok: true; next: { epoch: number; keys: Uint8Array[] } | undefined }
  | { ok: false; code: 'MALFORMED' | 'ROOT_MISMATCH' | 'BAD_STATE_PROOF' | 'VALIDATOR_SET_MISMATCH' };

/**
 * What follows boundary block `boundaryHeight` from the set a reader follows, given the root the
 * (certified) boundary block commits and its opening: the opening must hash to that root, the
 * record must be proven under the opened engine root and agree with the followed set, and the
 * next set is what the execution rule (`applyValidatorBoundary`) makes of the record — `next`
 * undefined when the set does not change there. Never trusts the server; never throws.
 * Used by the light client and by state sync.
 * @example const verdict = followBoundary(opening, payload.stateRoot, 600, { epoch: 1, epochBlocks: 600, keys });
 */
export function followBoundary(
  opening: BoundaryOpening,
  committedRoot: Uint8Array,
  boundaryHeight: number,
  followed: FollowedSet,
): BoundaryVerdict {
  let state: ReturnType<typeof validatorSetFromRecord>;
  try {
    const fairParts = opening.fairParts ?? [];
    if (fairParts.length > NODE_STATE_ROOT_FAIR_PARTS_MAX || fairParts.some((part) => part.length !== 32))
      return { ok: false, code: 'MALFORMED' };
    if (
      !bytesEqual(
        nodeStateRootOfParts(opening.engineStateRoot, [...opening.prices], fairParts),
        committedRoot,
      )
    )
      return { ok: false, code: 'ROOT_MISMATCH' };
    const proof = decodeStateProof(opening.proof);
    if (!verifyStateProof(opening.engineStateRoot, VALIDATOR_SET_STATE_KEY, opening.record, proof))
      return { ok: false, code: 'BAD_STATE_PROOF' };
    state = validatorSetFromRecord(ValidatorSetRecordCodec.decode(opening.record));
  } catch {
    return { ok: false, code: 'MALFORMED' };
  }
  // A record under a certified root is the chain's own; one that disagrees with the followed set
  // means the reader's starting point is not this chain's.
  const keys = state.members.map((member) => member.publicKey);
  if (
    state.epoch !== followed.epoch ||
    state.epochBlocks !== followed.epochBlocks ||
    keys.length !== followed.keys.length ||
    keys.some((key, i) => !bytesEqual(key, followed.keys[i]!))
  )
    return { ok: false, code: 'VALIDATOR_SET_MISMATCH' };
  if (applyValidatorBoundary(state, boundaryHeight) === undefined) return { ok: true, next: undefined };
  return { ok: true, next: { epoch: state.epoch, keys: state.members.map((member) => member.publicKey) } };
}
