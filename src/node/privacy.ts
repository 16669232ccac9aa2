/**
 * Margin proofs over a running network (issue 17): what a node keeps and serves for them, and the
 * verifier's check that an account root is the certified one.
 *
 * The node keeps, for each of its last `PRIVACY_CHECKPOINTS_KEPT` heights at which the engine's
 * account tree has a leaf, the opening of its node state root (engine root and oracle aggregates),
 * the account tree's record, its state proof and the mark table (src/node/api/privacy.ts serves
 * them). A verifier trusts none of it until `verifyAccountTreeCheckpoint`:
 *
 *   1. its light client (src/node/light-client.ts) followed finality to a block that commits the
 *      node state root after `height` (the block at height + 16): `committedRoot(height)`;
 *   2. the opening hashes to that root (`nodeStateRoot`), so the engine root is the certified one;
 *   3. the state proof shows the record under that engine root (`verifyStateProof`);
 *   4. the record is at `height` and the mark table hashes to the record's `markTableSha256`.
 * Then the record's root, the table and its maintenance rate are the statement's, and a proof is
 * checked against them (src/privacy/prover.ts `verifyMargin`), never against anything the prover
 * or the node said on their own.
 */

import { NODE_STATE_ROOT_FAIR_PARTS_MAX, nodeStateRootOfParts } from '../chain/block-rule.ts';
import { AccountTreeRecordCodec, type MarkTable, MarkTableCodec } from '../codec/account-tree.ts';
import { AggregatePriceType, type AggregatePriceValue } from '../codec/oracle.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { decodeStateProof, encodeStateProof, verifyStateProof } from '../crypto/state-commitment.ts';
import { bytesToField } from '../execution/account-tree.ts';
import { ACCOUNT_TREE_STATE_KEY, type Engine } from '../execution/engine.ts';
import type { MarginStatement, SeriesMark } from '../privacy/margin-proof.ts';
import type { PrivacyCheckpointJson, PrivacyWitnessJson } from './api/privacy.ts';
import type { LightClient } from './light-client.ts';
import { fairPartsJson, quoteDecimal } from './view.ts';

/** Heights kept: a verifier needs height + 16 finalized first, and some time to ask. */
export const PRIVACY_CHECKPOINTS_KEPT = 256;

const hex = (bytes: Uint8Array): string => `0x${toHex(bytes)}`;

export interface PrivacyCheckpoints {
  /** Records the state after the block just applied (call it from `onApplied`). */
  record(): void;
  checkpoint(height: number): PrivacyCheckpointJson | undefined;
  witness(publicKey: Uint8Array): PrivacyWitnessJson | undefined;
}

/**
 * The node's memory of account tree checkpoints, over its engine and price book.
 * @example const privacy = createPrivacyCheckpoints(() => app.engine, () => app.priceBook.latest().values());
 */
export function createPrivacyCheckpoints(
  engine: () => Engine,
  prices: () => Iterable<AggregatePriceValue>,
  /** The fair-ordering digests the node state root hashes now (none without fair ordering). */
  fairParts: () => readonly Uint8Array[] = () => [],
): PrivacyCheckpoints {
  const kept = new Map<number, PrivacyCheckpointJson>();
  return {
    record() {
      const current = engine();
      const tree = current.accountTree();
      if (tree === undefined) return;
      const sorted = [...prices()].sort((a, b) => a.assetId - b.assetId);
      kept.set(tree.height, {
        height: tree.height,
        engineStateRoot: hex(current.stateRoot()),
        prices: sorted.map((price) => hex(AggregatePriceType.serialize(price))),
        ...fairPartsJson(fairParts()),
        record: hex(tree.record),
        proof: hex(encodeStateProof(current.prove(ACCOUNT_TREE_STATE_KEY))),
        markTable: hex(tree.markTable),
      });
      kept.delete(tree.height - PRIVACY_CHECKPOINTS_KEPT);
    },
    checkpoint: (height) => kept.get(height),
    witness(publicKey) {
      const current = engine();
      const witness = current.accountWitness(publicKey);
      if (witness === undefined) return undefined;
      return {
        height: current.height,
        index: witness.index,
        leafBalance: witness.leaf === undefined ? null : witness.leaf.balance.toString(),
        leafBalanceDecimal: witness.leaf === undefined ? null : quoteDecimal(witness.leaf.balance),
        positions: witness.leaf?.positions.map((p) => ({ seriesId: p.seriesId, lots: p.lots })) ?? [],
        commitment: witness.commitment.toString(),
        siblings: witness.path.siblings.map(String),
        pathBits: [...witness.path.pathBits],
      };
    },
  };
}

export type CheckpointRefusal =
  | 'MALFORMED'
  | 'ROOT_NOT_COMMITTED'
  | 'OPENING_MISMATCH'
  | 'BAD_STATE_PROOF'
  | 'WRONG_HEIGHT'
  | 'MARK_TABLE_MISMATCH';

export class AccountTreeCheckpointError extends Error {
  override readonly name = 'AccountTreeCheckpointError';
  readonly code: CheckpointRefusal;
  readonly height: number;
  constructor(code: CheckpointRefusal, height: number, detail: string, options?: { cause?: unknown }) {
    super(`${code} at height ${height}: ${detail}`, options);
    this.code = code;
    this.height = height;
  }
}

export interface CertifiedAccountTree {
  height: number;
  root: bigint;
  leaves: number;
  mmBps: number;
  series: SeriesMark[];
}

function bytesOf(value: unknown, height: number, field: string): Uint8Array {
  const bytes = typeof value === 'string' && value.startsWith('0x') ? fromHex(value.slice(2)) : undefined;
  if (bytes === undefined) throw new AccountTreeCheckpointError('MALFORMED', height, `${field} is not hex`);
  return bytes;
}

/** The opening of a node state root as a node serves it: what `nodeStateRoot` hashes, 0x-hex. */
export interface StateRootOpeningJson {
  /** Engine state root after the height. */
  engineStateRoot: string;
  /** Each oracle aggregate after the height (`AggregatePriceType` SSZ), ascending asset id. */
  prices: string[];
  /**
   * With fair ordering: the pending batches' and the recorded eons' digests the root also hashes
   * after the height (src/chain/block-rule.ts `nodeStateRootFairParts`), 0x-hex; absent or empty
   * when there are none.
   */
  fairParts?: string[];
}

/**
 * The engine state root after `height` as finality certifies it (module header, steps 1–2): the
 * followed chain committed a node state root for `height` and `opening` hashes to it. Shared by
 * every verifier of a served state (margin proofs here, the audit log in commands/audit-log.ts),
 * which throws its own error for the refusal.
 */
export function openCommittedEngineRoot(
  light: Pick<LightClient, 'committedRoot'>,
  height: number,
  opening: StateRootOpeningJson,
):
  | { engineRoot: Uint8Array }
  | { refusal: 'ROOT_NOT_COMMITTED' | 'MALFORMED' | 'OPENING_MISMATCH'; detail: string } {
  const committed = light.committedRoot(height);
  if (committed === undefined)
    return { refusal: 'ROOT_NOT_COMMITTED', detail: 'no followed block commits this height' };
  let engineRoot: Uint8Array;
  let prices: AggregatePriceValue[];
  let fairParts: Uint8Array[];
  try {
    engineRoot = bytesOf(opening.engineStateRoot, height, 'engineStateRoot');
    prices = opening.prices.map((p, i) => AggregatePriceType.deserialize(bytesOf(p, height, `prices[${i}]`)));
    const served = opening.fairParts ?? [];
    if (!Array.isArray(served) || served.length > NODE_STATE_ROOT_FAIR_PARTS_MAX)
      throw new Error('fairParts');
    fairParts = served.map((part, i) => bytesOf(part, height, `fairParts[${i}]`));
    if (fairParts.some((part) => part.length !== 32)) throw new Error('fairParts');
  } catch {
    return { refusal: 'MALFORMED', detail: 'the opening does not decode' };
  }
  // The fair-ordering digests are SHA-256 preimage parts beside the engine root: a node cannot
  // pick them to open another engine root.
  if (!bytesEqual(nodeStateRootOfParts(engineRoot, prices, fairParts), committed))
    return { refusal: 'OPENING_MISMATCH', detail: 'the opening is not the committed root' };
  return { engineRoot };
}

/**
 * The account tree at `height` as the finalized chain certifies it (module header, steps 1–4).
 * @throws AccountTreeCheckpointError naming the step that failed
 */
export function verifyAccountTreeCheckpoint(
  light: LightClient,
  height: number,
  checkpoint: PrivacyCheckpointJson,
): CertifiedAccountTree {
  const opened = openCommittedEngineRoot(light, height, checkpoint);
  if ('refusal' in opened) throw new AccountTreeCheckpointError(opened.refusal, height, opened.detail);
  const engineRoot = opened.engineRoot;
  let record: ReturnType<typeof AccountTreeRecordCodec.decode>;
  let table: MarkTable;
  let recordBytes: Uint8Array;
  let proof: ReturnType<typeof decodeStateProof>;
  try {
    recordBytes = bytesOf(checkpoint.record, height, 'record');
    record = AccountTreeRecordCodec.decode(recordBytes);
    proof = decodeStateProof(bytesOf(checkpoint.proof, height, 'proof'));
    const tableBytes = bytesOf(checkpoint.markTable, height, 'markTable');
    table = MarkTableCodec.decode(tableBytes);
    if (!bytesEqual(sha256(tableBytes), record.markTableSha256))
      throw new AccountTreeCheckpointError(
        'MARK_TABLE_MISMATCH',
        height,
        'the table is not the one committed',
      );
  } catch (error) {
    if (error instanceof AccountTreeCheckpointError) throw error;
    throw new AccountTreeCheckpointError('MALFORMED', height, 'the checkpoint does not decode', {
      cause: error,
    });
  }
  if (!verifyStateProof(engineRoot, ACCOUNT_TREE_STATE_KEY, recordBytes, proof))
    throw new AccountTreeCheckpointError(
      'BAD_STATE_PROOF',
      height,
      'the record is not under the engine root',
    );
  if (record.height !== height || table.height !== height)
    throw new AccountTreeCheckpointError('WRONG_HEIGHT', height, `the record is of height ${record.height}`);
  return {
    height,
    root: bytesToField(record.root),
    leaves: record.leaves,
    mmBps: record.mmBps,
    series: table.series.map((s) => ({ ...s, spot: BigInt(s.spot) })),
  };
}

/** The verifier's statement over a certified tree: its k (basis points) and its challenge. */
export function certifiedStatement(
  tree: CertifiedAccountTree,
  kBps: number,
  challenge: bigint,
): MarginStatement {
  return { height: tree.height, root: tree.root, mmBps: tree.mmBps, kBps, challenge, series: tree.series };
}
