/**
 * The Poseidon account tree (issue 17): what a margin proof (src/privacy, circuits/margin.circom)
 * opens. One leaf per account whose owner registered a commitment `Poseidon(secret)`
 * (actions/register-commitment.ts), at the account's creation index, in a binary tree of depth 20
 * (src/crypto/poseidon-tree.ts has the leaf and node formulas):
 *
 *   leaf = Poseidon(balance, positionsDigest(positions), commitment)
 *
 * An account whose state the circuit cannot hold — a negative balance (bankrupt, before the
 * insurance fund covers it), a balance of 2^64 or more, a position of 2^32 lots or more — has the
 * empty leaf 0 until it fits again: nobody can prove anything about it, rather than something false.
 * Accounts that registered nothing are not in the tree and cost nothing.
 *
 * Committed under the state root (steps/commit.ts), so that a certified state root certifies them:
 *   - each registration as an `OwnerCommitmentRecord` (src/codec/account-tree.ts);
 *   - once the tree has a leaf, every block, an `AccountTreeRecord`: the tree's root, its leaf
 *     count, the maintenance rate of the statement (the strictest underlying's: maintenance only
 *     grows with the rate) and the SHA-256 of the `MarkTable` — every series with a mark at this
 *     height, as the circuit's public table reads it — so a verifier's statement comes from
 *     certified marks, not from the prover.
 *
 * Deterministic: the root is a function of the set of leaves; leaves are a function of committed
 * account state. Incremental: a block rehashes only the leaves of the registered accounts it
 * touched (the engine's dirty accounts), each `positions + 1` Poseidon hashes for the leaf and 20
 * for its path; nothing else. Snapshots carry the commitments; a restore rebuilds the tree from
 * them and the accounts (a leaf is never trusted from the snapshot).
 */
import { type MarkTable, MarkTableCodec } from '../codec/account-tree.ts';
import { SERIES_STATUS } from '../codec/execution.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  type AccountLeafInput,
  accountLeaf,
  type CommittedPosition,
  type MerklePath,
  PoseidonTree,
  syncPoseidon,
} from '../crypto/poseidon-tree.ts';
import { markOf } from './marks.ts';
import type { Account, EngineState } from './state.ts';

export const ACCOUNT_TREE_DEPTH = 20;
const U32 = 2 ** 32;
const U64 = 2n ** 64n;

export interface AccountTreeState {
  readonly tree: PoseidonTree;
  /** Account index → registered commitment. */
  readonly commitments: Map<number, bigint>;
  /** Commitment (decimal) → account index: one account per commitment. */
  readonly owners: Map<string, number>;
  /** Registered this block (their records are written by the commit step). */
  readonly registered: number[];
  /** Leaves rehashed by the last committed block: the per-block cost, in leaves. */
  lastLeavesUpdated: number;
}

export function createAccountTreeState(): AccountTreeState {
  return {
    tree: new PoseidonTree(syncPoseidon, ACCOUNT_TREE_DEPTH),
    commitments: new Map(),
    owners: new Map(),
    registered: [],
    lastLeavesUpdated: 0,
  };
}

/** The leaf's inputs, or undefined when the account's state does not fit the circuit (leaf 0). */
export function leafInputsOf(account: Account, commitment: bigint): AccountLeafInput | undefined {
  if (account.balance < 0n || account.balance >= U64) return undefined;
  const positions: CommittedPosition[] = [];
  for (const [seriesId, lots] of account.positions) {
    if (Math.abs(lots) >= U32) return undefined;
    positions.push({ seriesId, lots });
  }
  positions.sort((a, b) => a.seriesId - b.seriesId);
  return { balance: account.balance, positions, ownerCommitment: commitment };
}

function leafOf(account: Account, commitment: bigint): bigint {
  const inputs = leafInputsOf(account, commitment);
  return inputs === undefined ? 0n : accountLeaf(syncPoseidon, inputs);
}

/** Records a registration (the action checked it). */
export function registerOwner(s: EngineState, account: Account, commitment: bigint): void {
  s.accountTree.commitments.set(account.index, commitment);
  s.accountTree.owners.set(commitment.toString(), account.index);
  s.accountTree.registered.push(account.index);
  s.dirtyAccounts.add(account);
}

/**
 * Rehashes the leaves of the registered accounts the block touched; returns how many. Called by
 * the commit step before it clears the dirty set.
 */
export function updateAccountTree(s: EngineState): number {
  const { commitments, tree } = s.accountTree;
  let updated = 0;
  for (const account of s.dirtyAccounts) {
    const commitment = commitments.get(account.index);
    if (commitment === undefined) continue;
    const leaf = leafOf(account, commitment);
    if (tree.leaf(account.index) !== leaf) tree.set(account.index, leaf);
    updated++;
  }
  s.accountTree.lastLeavesUpdated = updated;
  return updated;
}

/** The statement's maintenance rate: the strictest underlying's. */
export function statementMmBps(s: EngineState): number {
  let mmBps = 0;
  for (const underlying of s.underlyings.values()) mmBps = Math.max(mmBps, underlying.mmBps);
  return mmBps;
}

/** Every series with a mark at this height (not settled), by ascending id: the circuit's table. */
export function markTableOf(s: EngineState): MarkTable {
  const series = [...s.seriesById.values()]
    .filter((entry) => entry.status !== SERIES_STATUS.settled)
    .sort((a, b) => a.seriesId - b.seriesId)
    .flatMap((entry) => {
      const mark = markOf(s, entry);
      if (mark === undefined) return [];
      return [
        {
          seriesId: entry.seriesId,
          isCall: entry.isCall,
          spot: Number(mark.market.spot),
          markPerUnit: mark.markPerUnit,
          lotUnderlyingE12: entry.lotUnderlyingE12,
        },
      ];
    });
  return { height: s.height, mmBps: statementMmBps(s), series };
}

export function fieldToBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let rest = value;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

export function bytesToField(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The tree's record for this height and the mark table bytes it commits. */
export function accountTreeCommitment(s: EngineState): {
  record: { height: number; root: Uint8Array; leaves: number; mmBps: number; markTableSha256: Uint8Array };
  markTable: Uint8Array;
} {
  const markTable = MarkTableCodec.encode(markTableOf(s));
  return {
    record: {
      height: s.height,
      root: fieldToBytes(s.accountTree.tree.root()),
      leaves: s.accountTree.commitments.size,
      mmBps: statementMmBps(s),
      markTableSha256: sha256(markTable),
    },
    markTable,
  };
}

/** What a prover needs about its own account: the leaf's inputs and its path. */
export interface AccountWitnessView {
  index: number;
  commitment: bigint;
  /** Undefined when the account's state does not fit the circuit (its leaf is 0). */
  leaf: AccountLeafInput | undefined;
  path: MerklePath;
}

export function accountWitness(s: EngineState, account: Account): AccountWitnessView | undefined {
  const commitment = s.accountTree.commitments.get(account.index);
  if (commitment === undefined) return undefined;
  return {
    index: account.index,
    commitment,
    leaf: leafInputsOf(account, commitment),
    path: s.accountTree.tree.path(account.index),
  };
}
