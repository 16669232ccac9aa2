/**
 * Deposits seen by the validators, sans-IO: no RPC, no clock. Two pieces, fed by whatever
 * follows the EVM chain (a JSON-RPC poller, a test):
 *
 * 1. `createDepositFollower` — one validator's view of the chain. It takes blocks (number, hash,
 *    parent hash, the vault's `Deposited` events in them) in any order a poller delivers them,
 *    including the blocks of a fork that replaces the tip, and releases a deposit only once its
 *    block is `confirmations` deep on the current chain. A deposit in a block reorged away before
 *    that is never released; a reorg that would replace an already-released block is refused with
 *    `REORG_BEYOND_CONFIRMATIONS` (the follower halts: releasing is never undone).
 *
 * 2. `createDepositAggregator` — what the chain's execution does with the validators' reports:
 *    a deposit is credited once 2f + 1 distinct validators reported the identical event, and never
 *    again. Identity is the vault's deposit nonce; "identical" covers every field, the block and
 *    transaction included, so f validators agreeing on a fake, or on a deposit from a block the
 *    others saw replaced, never reach the quorum. A validator that reports a nonce again with
 *    other contents (it saw a reorg) has its earlier report replaced, never counted twice.
 *
 * Every structure is bounded: the follower keeps at most `unconfirmedBlocksMax` blocks, the
 * aggregator at most `pendingMax` uncredited nonces; credited nonces are a watermark plus the set
 * above it, which stays small because the vault assigns nonces in order.
 */
import { invariant } from '../../codec/invariant.ts';
import { bytesEqual } from '../../crypto/bytes.ts';
import { keccak256 } from '../../crypto/hash.ts';

/** topic 0 of `PalisadeVault.Deposited(bytes32 account, address token, address from, uint256 amount, uint64 nonce)`. */
export const DEPOSITED_TOPIC = keccak256(
  new TextEncoder().encode('Deposited(bytes32,address,address,uint256,uint64)'),
);

export interface DepositEvent {
  /** The vault's nonce: unique per vault, assigned in order. */
  readonly nonce: bigint;
  /** 32-byte Palisade account. */
  readonly account: Uint8Array;
  /** 20-byte ERC-20 address. */
  readonly token: Uint8Array;
  readonly amount: bigint;
  readonly blockNumber: bigint;
  readonly blockHash: Uint8Array;
  readonly transactionHash: Uint8Array;
  readonly logIndex: number;
}

export interface ObservedBlock {
  readonly number: bigint;
  readonly hash: Uint8Array;
  readonly parentHash: Uint8Array;
  /** The vault's `Deposited` events in this block. */
  readonly deposits: readonly DepositEvent[];
}

export type DepositErrorCode =
  | 'NOT_A_DEPOSIT_LOG'
  | 'REORG_BEYOND_CONFIRMATIONS'
  | 'BLOCK_GAP'
  | 'DEPOSIT_NOT_IN_BLOCK'
  | 'TOO_MANY_UNCONFIRMED'
  | 'HALTED';

export class DepositError extends Error {
  override readonly name = 'DepositError';
  readonly code: DepositErrorCode;
  readonly blockNumber: bigint | undefined;
  constructor(code: DepositErrorCode, detail: string, blockNumber?: bigint) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.blockNumber = blockNumber;
  }
}

export interface VaultLog {
  /** The emitting contract. */
  readonly address: Uint8Array;
  readonly topics: readonly Uint8Array[];
  readonly data: Uint8Array;
  readonly logIndex: number;
}

function wordValue(word: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(word).toString('hex') || '0'}`);
}

function addressFromTopic(topic: Uint8Array): Uint8Array {
  if (topic.length !== 32 || topic.subarray(0, 12).some((byte) => byte !== 0)) {
    throw new DepositError('NOT_A_DEPOSIT_LOG', 'an address topic has non-zero high bytes');
  }
  return topic.slice(12);
}

/**
 * A `Deposited` log of `vault`, as a JSON-RPC follower reads it, into a {@link DepositEvent}.
 * @example const deposit = decodeDepositLog(log, vault, { number, hash }, transactionHash);
 * @throws DepositError NOT_A_DEPOSIT_LOG for a log of another contract or event, or malformed
 */
export function decodeDepositLog(
  log: VaultLog,
  vault: Uint8Array,
  block: { number: bigint; hash: Uint8Array },
  transactionHash: Uint8Array,
): DepositEvent {
  if (!bytesEqual(log.address, vault))
    throw new DepositError('NOT_A_DEPOSIT_LOG', 'emitted by another contract');
  if (log.topics.length !== 4 || !bytesEqual(log.topics[0]!, DEPOSITED_TOPIC)) {
    throw new DepositError('NOT_A_DEPOSIT_LOG', 'not a Deposited event');
  }
  if (log.data.length !== 64) throw new DepositError('NOT_A_DEPOSIT_LOG', 'Deposited data must be two words');
  const nonce = wordValue(log.data.subarray(32, 64));
  if (nonce >= 1n << 64n) throw new DepositError('NOT_A_DEPOSIT_LOG', 'nonce does not fit a uint64');
  addressFromTopic(log.topics[3]!);
  return {
    nonce,
    account: log.topics[1]!.slice(),
    token: addressFromTopic(log.topics[2]!),
    amount: wordValue(log.data.subarray(0, 32)),
    blockNumber: block.number,
    blockHash: block.hash.slice(),
    transactionHash: transactionHash.slice(),
    logIndex: log.logIndex,
  };
}

export interface DepositFollower {
  /**
   * Adds a block of the current chain (a new tip, or a block of a fork replacing the tip from its
   * height). Returns the deposits that became `confirmations` deep, in chain order.
   * @throws DepositError REORG_BEYOND_CONFIRMATIONS (then HALTED forever), BLOCK_GAP for a block
   *   whose parent is unknown, DEPOSIT_NOT_IN_BLOCK for an event naming another block
   */
  addBlock(block: ObservedBlock): DepositEvent[];
  /** The highest block whose deposits were released, if any. */
  readonly confirmedNumber: bigint | undefined;
}

/**
 * @example
 * const follower = createDepositFollower({ confirmations: 12 });
 * for (const block of blocksFromRpc) for (const deposit of follower.addBlock(block)) report(deposit);
 */
export function createDepositFollower(options: {
  confirmations: number;
  unconfirmedBlocksMax?: number;
}): DepositFollower {
  const { confirmations } = options;
  invariant(
    Number.isSafeInteger(confirmations) && confirmations >= 1,
    'confirmations must be a positive integer',
  );
  const unconfirmedMax = options.unconfirmedBlocksMax ?? Math.max(4 * confirmations, 64);
  // Blocks above the confirmed one, in height order; `confirmed` is the last released block.
  let chain: ObservedBlock[] = [];
  let confirmed: { number: bigint; hash: Uint8Array } | undefined;
  let halted = false;

  const checkBlock = (block: ObservedBlock) => {
    invariant(block.hash.length === 32 && block.parentHash.length === 32, 'block hashes are 32 bytes');
    for (const deposit of block.deposits) {
      if (deposit.blockNumber !== block.number || !bytesEqual(deposit.blockHash, block.hash)) {
        throw new DepositError(
          'DEPOSIT_NOT_IN_BLOCK',
          `deposit ${deposit.nonce} names another block`,
          block.number,
        );
      }
    }
  };

  return {
    get confirmedNumber() {
      return confirmed?.number;
    },
    addBlock(block) {
      if (halted) throw new DepositError('HALTED', 'a reorg beyond the confirmation depth was seen');
      checkBlock(block);
      if (confirmed !== undefined && block.number <= confirmed.number) {
        // A block at or below what was released: harmless if it is the same block, fatal if not.
        // Older blocks are not kept; a fork below is caught when its blocks reach the released
        // height, since their parent hashes no longer lead to the released block.
        if (block.number === confirmed.number && !bytesEqual(block.hash, confirmed.hash)) {
          halted = true;
          throw new DepositError('REORG_BEYOND_CONFIRMATIONS', 'a released block was replaced', block.number);
        }
        return [];
      }
      const base = confirmed === undefined ? (chain[0]?.number ?? block.number) : confirmed.number + 1n;
      const position = Number(block.number - base);
      if (position < 0) {
        // Before the first block this follower saw: nothing to compare it with; ignore.
        return [];
      }
      if (position > chain.length) {
        throw new DepositError('BLOCK_GAP', `block ${block.number} arrived before its parent`, block.number);
      }
      const parent = position === 0 ? confirmed : chain[position - 1];
      if (parent !== undefined && !bytesEqual(block.parentHash, parent.hash)) {
        if (position === 0) {
          halted = true;
          throw new DepositError(
            'REORG_BEYOND_CONFIRMATIONS',
            'the fork starts below a released block',
            block.number,
          );
        }
        throw new DepositError(
          'BLOCK_GAP',
          `block ${block.number} does not extend the known chain`,
          block.number,
        );
      }
      if (position < chain.length) {
        if (bytesEqual(chain[position]!.hash, block.hash)) return [];
        // A fork from this height: drop the replaced blocks (their deposits were never released).
        chain = chain.slice(0, position);
      }
      if (chain.length >= unconfirmedMax) {
        throw new DepositError(
          'TOO_MANY_UNCONFIRMED',
          `more than ${unconfirmedMax} unconfirmed blocks`,
          block.number,
        );
      }
      chain.push(block);
      // A block is `confirmations` deep when `confirmations − 1` blocks are built on it.
      const released: DepositEvent[] = [];
      while (chain.length >= confirmations) {
        const deep = chain.shift()!;
        confirmed = { number: deep.number, hash: deep.hash };
        released.push(...deep.deposits);
      }
      return released;
    },
  };
}

export type DepositReportStatus =
  | { status: 'CREDITED'; deposit: DepositEvent; validators: number[] }
  | { status: 'PENDING'; votes: number; quorum: number }
  | { status: 'DUPLICATE' }
  | { status: 'ALREADY_CREDITED' }
  | { status: 'UNKNOWN_VALIDATOR' }
  | { status: 'TOO_MANY_PENDING' };

export interface DepositAggregator {
  /** One validator's report of one deposit; an expected outcome, never a throw. */
  report(validator: number, deposit: DepositEvent): DepositReportStatus;
  isCredited(nonce: bigint): boolean;
  readonly quorum: number;
}

/** The key that two reports must share to count together: every field. */
function contentKey(deposit: DepositEvent): string {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  return [
    deposit.nonce,
    hex(deposit.account),
    hex(deposit.token),
    deposit.amount,
    deposit.blockNumber,
    hex(deposit.blockHash),
    hex(deposit.transactionHash),
    deposit.logIndex,
  ].join(':');
}

function validDeposit(deposit: DepositEvent): boolean {
  return (
    typeof deposit.nonce === 'bigint' &&
    deposit.nonce > 0n &&
    deposit.account instanceof Uint8Array &&
    deposit.account.length === 32 &&
    deposit.token instanceof Uint8Array &&
    deposit.token.length === 20 &&
    typeof deposit.amount === 'bigint' &&
    deposit.amount > 0n &&
    deposit.blockHash instanceof Uint8Array &&
    deposit.blockHash.length === 32 &&
    deposit.transactionHash instanceof Uint8Array &&
    deposit.transactionHash.length === 32 &&
    Number.isSafeInteger(deposit.logIndex) &&
    deposit.logIndex >= 0
  );
}

/**
 * @example
 * const deposits = createDepositAggregator({ validators: 4 });
 * const outcome = deposits.report(2, deposit); if (outcome.status === 'CREDITED') credit(outcome.deposit);
 */
export function createDepositAggregator(options: {
  validators: number;
  pendingMax?: number;
}): DepositAggregator {
  const n = options.validators;
  invariant(Number.isSafeInteger(n) && n >= 1 && n <= 1024, 'validators must be 1 to 1024');
  const f = Math.floor((n - 1) / 3);
  const quorum = 2 * f + 1;
  const pendingMax = options.pendingMax ?? 65_536;
  // nonce → (validator → content key of its current report)
  const pending = new Map<bigint, Map<number, string>>();
  // Credited: every nonce ≤ watermark, plus those above it.
  let watermark = 0n;
  const creditedAbove = new Set<bigint>();

  const isCredited = (nonce: bigint) => nonce <= watermark || creditedAbove.has(nonce);

  return {
    quorum,
    isCredited,
    report(validator, deposit) {
      if (!Number.isSafeInteger(validator) || validator < 0 || validator >= n)
        return { status: 'UNKNOWN_VALIDATOR' };
      invariant(validDeposit(deposit), 'a deposit report must be well formed (the decoder checks this)');
      if (isCredited(deposit.nonce)) return { status: 'ALREADY_CREDITED' };
      let votes = pending.get(deposit.nonce);
      if (votes === undefined) {
        if (pending.size >= pendingMax) return { status: 'TOO_MANY_PENDING' };
        votes = new Map();
        pending.set(deposit.nonce, votes);
      }
      const key = contentKey(deposit);
      if (votes.get(validator) === key) return { status: 'DUPLICATE' };
      votes.set(validator, key);
      let agreeing = 0;
      for (const reported of votes.values()) if (reported === key) agreeing += 1;
      if (agreeing < quorum) return { status: 'PENDING', votes: agreeing, quorum };
      const validators = [...votes].filter(([, reported]) => reported === key).map(([v]) => v);
      validators.sort((a, b) => a - b);
      pending.delete(deposit.nonce);
      creditedAbove.add(deposit.nonce);
      while (creditedAbove.has(watermark + 1n)) {
        watermark += 1n;
        creditedAbove.delete(watermark);
      }
      return { status: 'CREDITED', deposit, validators };
    },
  };
}
