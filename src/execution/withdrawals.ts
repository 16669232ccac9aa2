/**
 * Withdrawals through the EVM vault (contracts/PalisadeVault.sol). A `Withdraw` debits the account
 * at once (actions/withdraw.ts) and appends the withdrawal to the current checkpoint period's
 * list; the list's root enters the state root in the `WithdrawalsRecord` (src/codec/bridge.ts),
 * and the validators FROST-certify it at the period's end (src/node/checkpoint-signing.ts).
 *
 * Periods. With `checkpointEveryBlocks` = k, a withdrawal in block h belongs to the checkpoint at
 * ⌈h / k⌉ · k. The first block after that height starts an empty list (step 1e, before any
 * transaction); ids count up across periods from 1 and are never reused, so the vault's
 * `claimed[id]` pays each once. A period holds at most `MAX_WITHDRAWALS_PER_CHECKPOINT`.
 *
 * Slots. Nothing else would stop one funded account from taking a whole period with 1,024 dust
 * withdrawals, period after period, so that honest withdrawals are refused (`WITHDRAWALS_FULL`)
 * for as long as it cares to. So a withdrawal is at least `minWithdrawal` (`WITHDRAWAL_TOO_SMALL`)
 * and one account makes at most `maxWithdrawalsPerAccount` per period (`WITHDRAWAL_PERIOD_LIMIT`):
 * with the defaults, filling a period takes 1,024 / 8 = 128 accounts and 10,240 USDC withdrawn
 * from Palisade every period (the value does leave: the vault pays it, and coming back is a vault
 * deposit seen by 2f + 1). The account index of each entry is committed beside it, so a node
 * restored from a snapshot counts the same.
 *
 * Leaves are the vault's `withdrawalLeaf` (src/crypto/withdrawal-leaf.ts, the one place the layout
 * is written): the chain id and vault in every leaf make a proof for another deployment match
 * nothing there.
 * An empty list's root is {@link EMPTY_WITHDRAWALS_ROOT}, a hash of a domain tag: never zero
 * (the vault refuses the zero root, Nomad's loss), and no leaf or pair of nodes hashes to it.
 */
import { MAX_WITHDRAWALS_PER_CHECKPOINT } from '../codec/bridge.ts';
import { invariant } from '../codec/invariant.ts';
import { keccak256 } from '../crypto/hash.ts';
import type { EvmMerkleTree } from '../crypto/merkle-evm.ts';
import { withdrawalLeafHash as leafHash, withdrawalsMerkleTree } from '../crypto/withdrawal-leaf.ts';
import type { EngineState, WithdrawalEntry, WithdrawalsState } from './state.ts';
import { DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT, DEFAULT_MIN_WITHDRAWAL, type EngineBridge } from './types.ts';

export { MAX_WITHDRAWALS_PER_CHECKPOINT };

/** The withdrawals root of a period without withdrawals. */
export const EMPTY_WITHDRAWALS_ROOT: Uint8Array = keccak256(
  new TextEncoder().encode('PALISADE/WITHDRAWALS/EMPTY/v1'),
);

/** The vault's leaf hash of `entry`. */
export function withdrawalLeafHash(bridge: EngineBridge, entry: WithdrawalEntry): Uint8Array {
  return leafHash(BigInt(bridge.evmChainId), bridge.vault, entry);
}

/**
 * The StandardMerkleTree over `entries` (value index i is entries[i]); undefined when empty.
 * @example const tree = withdrawalsTree(bridge, entries); tree?.proof(0);
 */
export function withdrawalsTree(
  bridge: EngineBridge,
  entries: readonly WithdrawalEntry[],
): EvmMerkleTree | undefined {
  if (entries.length === 0) return undefined;
  return withdrawalsMerkleTree(BigInt(bridge.evmChainId), bridge.vault, entries);
}

export function withdrawalsRootOf(bridge: EngineBridge, entries: readonly WithdrawalEntry[]): Uint8Array {
  return withdrawalsTree(bridge, entries)?.root ?? EMPTY_WITHDRAWALS_ROOT.slice();
}

/** The checkpoint height whose root covers a withdrawal made at `height`. */
export function checkpointHeightOf(height: number, everyBlocks: number): number {
  invariant(Number.isSafeInteger(everyBlocks) && everyBlocks >= 1, 'a checkpoint period is positive');
  return Math.ceil(height / everyBlocks) * everyBlocks;
}

/** `bridge` with the defaults of the fields it leaves out (copies of its addresses). */
export function resolveBridge(bridge: EngineBridge): Required<EngineBridge> {
  return {
    evmChainId: bridge.evmChainId,
    vault: Uint8Array.from(bridge.vault),
    token: Uint8Array.from(bridge.token),
    checkpointEveryBlocks: bridge.checkpointEveryBlocks,
    minWithdrawal: bridge.minWithdrawal ?? DEFAULT_MIN_WITHDRAWAL,
    maxWithdrawalsPerAccount: bridge.maxWithdrawalsPerAccount ?? DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT,
  };
}

/** The state at genesis: no withdrawal yet, written into the first root. */
export function initialWithdrawals(given: EngineBridge | undefined): WithdrawalsState | undefined {
  if (given === undefined) return undefined;
  const bridge = resolveBridge(given);
  invariant(
    bridge.vault.length === 20 && bridge.token.length === 20 && Number.isSafeInteger(bridge.evmChainId),
    'a bridge names a 20-byte vault and token',
  );
  invariant(
    bridge.minWithdrawal >= 1n &&
      Number.isSafeInteger(bridge.maxWithdrawalsPerAccount) &&
      bridge.maxWithdrawalsPerAccount >= 1 &&
      bridge.maxWithdrawalsPerAccount <= MAX_WITHDRAWALS_PER_CHECKPOINT,
    'a bridge has a positive minimum withdrawal and a per-account cap within the period bound',
  );
  return {
    bridge,
    nextId: 1,
    checkpointHeight: checkpointHeightOf(0, bridge.checkpointEveryBlocks),
    entries: [],
    withdrawers: [],
    perAccount: new Map(),
    root: EMPTY_WITHDRAWALS_ROOT.slice(),
    dirty: true,
  };
}

/** Block step 1e: the block after a checkpoint height starts the next period's empty list. */
export function rollWithdrawals(s: EngineState): void {
  const withdrawals = s.withdrawals;
  if (withdrawals === undefined || s.height <= withdrawals.checkpointHeight) return;
  withdrawals.checkpointHeight = checkpointHeightOf(s.height, withdrawals.bridge.checkpointEveryBlocks);
  if (withdrawals.entries.length > 0) {
    withdrawals.entries = [];
    withdrawals.withdrawers = [];
    withdrawals.perAccount = new Map();
    withdrawals.root = EMPTY_WITHDRAWALS_ROOT.slice();
  }
  withdrawals.dirty = true;
}

/** Withdrawals account `index` made in the current period. */
export function withdrawalsBy(withdrawals: WithdrawalsState, index: number): number {
  return withdrawals.perAccount.get(index) ?? 0;
}

/** Appends account `index`'s withdrawal (the caller checked token, balance and caps); returns its id. */
export function appendWithdrawal(
  withdrawals: WithdrawalsState,
  index: number,
  recipient: Uint8Array,
  token: Uint8Array,
  amount: bigint,
): number {
  invariant(withdrawals.entries.length < MAX_WITHDRAWALS_PER_CHECKPOINT, 'a period within its bound');
  const made = withdrawalsBy(withdrawals, index);
  invariant(made < withdrawals.bridge.maxWithdrawalsPerAccount, 'an account within its share');
  withdrawals.perAccount.set(index, made + 1);
  withdrawals.withdrawers.push(index);
  const id = withdrawals.nextId++;
  withdrawals.entries.push({
    id,
    recipient: Uint8Array.from(recipient),
    token: Uint8Array.from(token),
    amount,
  });
  withdrawals.dirty = true;
  return id;
}

/** The record the commit step writes; the root is recomputed here, once per block that changed it. */
export function withdrawalsRecord(withdrawals: WithdrawalsState) {
  withdrawals.root = withdrawalsRootOf(withdrawals.bridge, withdrawals.entries);
  return {
    evmChainId: withdrawals.bridge.evmChainId,
    vault: withdrawals.bridge.vault,
    token: withdrawals.bridge.token,
    checkpointEveryBlocks: withdrawals.bridge.checkpointEveryBlocks,
    minWithdrawal: withdrawals.bridge.minWithdrawal,
    maxWithdrawalsPerAccount: withdrawals.bridge.maxWithdrawalsPerAccount,
    nextId: withdrawals.nextId,
    checkpointHeight: withdrawals.checkpointHeight,
    entries: withdrawals.entries.map((entry) => ({ ...entry })),
    withdrawers: withdrawals.withdrawers.slice(),
    root: withdrawals.root,
  };
}
