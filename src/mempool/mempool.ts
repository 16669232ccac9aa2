/**
 * The mempool: which signed transactions a validator holds for its next proposals.
 *
 * Admission (`admit`), cheapest check first so that junk costs little; the first failure is the
 * answer, returned as a status with a stable code, and a refused transaction changes nothing:
 *
 *   MALFORMED      not bytes, or not a canonical SignedTransaction encoding
 *   TOO_LARGE      above `maxTransactionBytes`
 *   WRONG_CHAIN    signed for another chain id
 *   EXPIRED        its `expiryHeight` is below the height of the next block
 *   DUPLICATE      a transaction with the same id (hash of the body) is already pending
 *   ENCRYPTION_REQUIRED an order on a market that takes encrypted orders only (`encryptionRequired`)
 *   NO_ACCOUNT     the signer has no account (`accountExists`, when configured): the engine refuses
 *                  every action from such a key (a deposit credits an account, but only the
 *                  operator, which the node counts as existing, may sign one), and fresh keys cost
 *                  nothing to make, so they must not cost the pool anything either — not even
 *                  admission budget
 *   NONCE_TOO_LOW  the account's committed state has already used this nonce
 *   NONCE_GAP      the nonce is `maxPendingPerAccount` or more ahead of the committed next nonce
 *   NONCE_IN_USE   another transaction of this account with this nonce is pending (no replacement:
 *                  without fees there is nothing to choose the replacement by)
 *   RATE_LIMITED   the account had `rateLimit.transactions` admitted within `rateLimit.windowMs`
 *   GLOBAL_RATE_LIMITED  this validator's admission budget is spent: a token bucket over `nowMs`
 *                  (`globalRateLimit`: so many per second, up to `burst` saved) for every admission.
 *                  Fresh keys are refused before it (NO_ACCOUNT), so they cannot spend it.
 *   BAD_SIGNATURE  the signature is not the signer's over this body on this chain
 *   MEMPOOL_FULL   the pool is at its bound and the eviction rule frees nothing for this account
 *
 * Nonce rule: a nonce in [committed next, committed next + maxPendingPerAccount) is held even when
 * earlier nonces are missing (they may arrive through another validator, out of order); only the
 * contiguous run from the committed next nonce is selectable for a block.
 *
 * Eviction rule (at `maxTransactions` or `maxBytes`): the newcomer may displace the *highest-nonce*
 * transaction of the account holding the most pending transactions (ties: the greater account key),
 * and only if that account would still hold more than the newcomer's account after admission.
 * A key without an account never evicts anything: it may only wait for room.
 * One account flooding the pool therefore pays first, and an account can never evict its way past
 * another to a larger share. The highest nonce goes first because it is the last to be executable.
 *
 * Selection (`select`) is by arrival: round-robin, one transaction per account per round (so one
 * account cannot fill a block), each account's in nonce order from its committed next nonce, and
 * within a round the accounts in the order their transaction for that round was admitted (a
 * sequence number the pool gives every admission). The account key plays no part: a key ground
 * to start with zeros gains nothing. The same admission calls give the same selection. An expired
 * transaction or one that does not fit ends its account's run (later nonces cannot execute
 * without it). Fair ordering by encrypted transactions comes later (roadmap 6).
 *
 * Pure: time (`nowMs`) and height come in as arguments, committed nonces and accounts through
 * `expectedNonce` and `accountExists`, so the same calls give the same pool (the token buckets
 * included) in the simulator and in production.
 */
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../codec/transaction.ts';
import {
  checkTransaction,
  decodeTransaction,
  type TransactionDecoder,
  verifyTransactionSignature,
} from '../crypto/transaction.ts';

export const MEMPOOL_REFUSAL_CODES = Object.freeze([
  'MALFORMED',
  'TOO_LARGE',
  'WRONG_CHAIN',
  'EXPIRED',
  'DUPLICATE',
  'NONCE_TOO_LOW',
  'NONCE_GAP',
  'NONCE_IN_USE',
  'RATE_LIMITED',
  'GLOBAL_RATE_LIMITED',
  'NO_ACCOUNT',
  'BAD_SIGNATURE',
  'MEMPOOL_FULL',
  'ENCRYPTION_REQUIRED',
] as const);
export type MempoolRefusalCode = (typeof MEMPOOL_REFUSAL_CODES)[number];

export type AdmitResult =
  | {
      status: 'accepted';
      /** Transaction id, hex. */
      id: string;
      /** Ids of the transactions evicted to make room, if any. */
      evicted: string[];
    }
  | { status: 'refused'; code: MempoolRefusalCode; reason: string };

export interface MempoolConfig {
  chainId: number;
  /** Most transactions held. */
  maxTransactions: number;
  /** Most encoded bytes held over all transactions. */
  maxBytes: number;
  /** Largest encoded transaction accepted; at most the codec's own maximum. */
  maxTransactionBytes: number;
  /** Width of the nonce window per account, and so the most an account holds. */
  maxPendingPerAccount: number;
  /** Per-account admissions allowed per sliding window. */
  rateLimit: { transactions: number; windowMs: number };
  /** Admissions remembered for rate limiting (over all accounts); beyond it, MEMPOOL_FULL. */
  maxTrackedAdmissions: number;
  /** This validator's admissions over all accounts: a token bucket refilled from `nowMs`. */
  globalRateLimit: TokenBucketLimit;
  /** The next nonce the committed state expects from `account` (0 for an unknown account). */
  expectedNonce: (account: Uint8Array) => number;
  /**
   * Whether the committed state has an account for this key (a node also counts the genesis
   * operator and governance keys, whose record appears with their first action). Without it every
   * key counts as having one (no NO_ACCOUNT refusals).
   */
  accountExists?: (account: Uint8Array) => boolean;
  /**
   * Verifies a decoded transaction's signature, given also its canonical encoding (default: an
   * Ed25519 verification). A node passes one that also records the verified encoding, so that its
   * engine need not verify the same bytes again.
   */
  verifySignature?: (transaction: SignedTransaction, encoded: Uint8Array) => boolean;
  /**
   * Decodes an encoding with its id (default: `decodeTransaction`, uncached). A node passes its
   * transaction cache (src/node/transaction-cache.ts), which gives the same answers, so that the
   * precheck, `admit`, the proposal check and execution decode each encoding once.
   */
  decodeTransaction?: TransactionDecoder;
  /**
   * Whether the block rule takes this transaction only encrypted (an order on a market genesis
   * keeps for encrypted orders, src/chain/fair-batches.ts): refused ENCRYPTION_REQUIRED.
   */
  encryptionRequired?: (transaction: SignedTransaction) => boolean;
}

export interface TokenBucketLimit {
  /** Tokens added per second of `nowMs`; one admission spends one. */
  transactionsPerSecond: number;
  /** The most tokens saved up: the largest burst admitted at once. */
  burst: number;
}

/** The mempool's bounds: what a node configures beside the chain and the committed state. */
export type MempoolLimits = Readonly<
  Pick<
    MempoolConfig,
    | 'maxTransactions'
    | 'maxBytes'
    | 'maxTransactionBytes'
    | 'maxPendingPerAccount'
    | 'rateLimit'
    | 'maxTrackedAdmissions'
    | 'globalRateLimit'
  >
>;

export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = Object.freeze({
  maxTransactions: 50_000,
  maxBytes: 64 * 1024 * 1024,
  maxTransactionBytes: SignedTransactionCodec.maxBytes,
  maxPendingPerAccount: 64,
  rateLimit: Object.freeze({ transactions: 100, windowMs: 1000 }),
  maxTrackedAdmissions: 200_000,
  // Several times what the devnet finalizes at saturation (about 1,000 tx/s on two cores), so the
  // bucket binds only under a flood.
  globalRateLimit: Object.freeze({ transactionsPerSecond: 5_000, burst: 10_000 }),
});

export interface AdmitContext {
  /** Height of the next block: the earliest at which this transaction could be included. */
  height: number;
  /** Milliseconds on the node's monotonic clock, for the rate limit. */
  nowMs: number;
}

export interface PendingTransaction {
  id: string;
  transaction: SignedTransaction;
  /** The encoding as admitted (canonical), ready to put in a block. */
  bytes: Uint8Array;
  account: string;
  nonce: number;
  admittedAtMs: number;
  /** Admission order within this pool: selection orders a round by it. */
  sequence: number;
}

export interface SelectOptions {
  /** Height of the block being proposed. */
  height: number;
  maxTransactions: number;
  maxBytes: number;
}

export interface FinalizedRemoval {
  /** Removed because the block included them. */
  included: number;
  /** Removed because the committed nonce moved past them. */
  stale: number;
  /** Removed because they can no longer be included (expiry below the next height). */
  expired: number;
}

export interface MempoolStats {
  transactions: number;
  bytes: number;
  accounts: number;
  accepted: number;
  evicted: number;
  refused: Record<MempoolRefusalCode, number>;
}

export interface Mempool {
  /** Decodes and checks `bytes`; holds the transaction or says why not. Never throws on input. */
  admit(bytes: Uint8Array, context: AdmitContext): AdmitResult;
  /**
   * The refusal `admit` would give for a reason other than the signature, or undefined: lets a
   * node skip verifying (on its signature pool) what would be refused anyway. Changes nothing in
   * the pool; a refusal is counted as `admit` counts it.
   */
  precheck(bytes: Uint8Array, context: AdmitContext): AdmitResult | undefined;
  /** Transactions for a proposal at `options.height`, in block order (see the header comment). */
  select(options: SelectOptions): PendingTransaction[];
  /** After the block at `height` is finalized: drops what it included, what is stale or expired. */
  removeFinalized(block: { height: number; transactionIds: readonly string[] }): FinalizedRemoval;
  has(id: string): boolean;
  /** Every pending transaction by account key, then nonce. */
  pending(): PendingTransaction[];
  stats(): MempoolStats;
}

interface AccountQueue {
  readonly key: Uint8Array;
  readonly byNonce: Map<number, PendingTransaction>;
}

/**
 * @example
 * const mempool = createMempool({ ...DEFAULT_MEMPOOL_LIMITS, chainId: 1, expectedNonce: (account) => ledger.nonceOf(account) });
 * const result = mempool.admit(bytes, { height: 42, nowMs: clock.now() });
 * if (result.status === 'refused') reply(400, result.code, result.reason);
 * @throws InvariantError when the configuration is out of range
 */
export function createMempool(config: MempoolConfig): Mempool {
  for (const [name, value] of Object.entries({
    maxTransactions: config.maxTransactions,
    maxBytes: config.maxBytes,
    maxTransactionBytes: config.maxTransactionBytes,
    maxPendingPerAccount: config.maxPendingPerAccount,
    rateTransactions: config.rateLimit.transactions,
    rateWindowMs: config.rateLimit.windowMs,
    maxTrackedAdmissions: config.maxTrackedAdmissions,
    globalTransactionsPerSecond: config.globalRateLimit.transactionsPerSecond,
    globalBurst: config.globalRateLimit.burst,
  })) {
    invariant(Number.isSafeInteger(value) && value > 0, `mempool ${name} must be a positive integer`);
  }
  invariant(
    config.maxTransactionBytes <= SignedTransactionCodec.maxBytes,
    'maxTransactionBytes is above what the codec decodes',
  );
  invariant(Number.isSafeInteger(config.chainId) && config.chainId >= 0, 'chainId must be a safe integer');

  const verifySignature = config.verifySignature ?? verifyTransactionSignature;
  const decode = config.decodeTransaction ?? decodeTransaction;
  const byId = new Map<string, PendingTransaction>();
  const accounts = new Map<string, AccountQueue>();
  let totalBytes = 0;
  /** Admissions in arrival order, for the sliding rate window; pruned from the front. */
  const admissions: { account: string; atMs: number }[] = [];
  let admissionsHead = 0;
  const admissionsByAccount = new Map<string, number>();
  let accepted = 0;
  let evictedCount = 0;
  let nextSequence = 0;
  const globalBucket = createTokenBucket(config.globalRateLimit);
  const refused = Object.fromEntries(MEMPOOL_REFUSAL_CODES.map((code) => [code, 0])) as Record<
    MempoolRefusalCode,
    number
  >;

  function refuse(code: MempoolRefusalCode, reason: string): AdmitResult {
    refused[code] += 1;
    return { status: 'refused', code, reason };
  }

  function committedNonce(key: Uint8Array): number {
    const nonce = config.expectedNonce(key);
    invariant(Number.isSafeInteger(nonce) && nonce >= 0, 'expectedNonce must return a safe integer >= 0');
    return nonce;
  }

  function pruneAdmissions(nowMs: number): void {
    while (admissionsHead < admissions.length) {
      const oldest = admissions[admissionsHead];
      if (oldest === undefined || oldest.atMs > nowMs - config.rateLimit.windowMs) break;
      admissionsHead += 1;
      const left = (admissionsByAccount.get(oldest.account) ?? 1) - 1;
      if (left === 0) admissionsByAccount.delete(oldest.account);
      else admissionsByAccount.set(oldest.account, left);
    }
    // Compact once the consumed front dominates, keeping the array within twice the live window.
    if (admissionsHead > 1024 && admissionsHead * 2 > admissions.length) {
      admissions.splice(0, admissionsHead);
      admissionsHead = 0;
    }
  }

  function removeEntry(entry: PendingTransaction): void {
    byId.delete(entry.id);
    totalBytes -= entry.bytes.length;
    const queue = accounts.get(entry.account);
    if (queue === undefined) return;
    queue.byNonce.delete(entry.nonce);
    if (queue.byNonce.size === 0) accounts.delete(entry.account);
  }

  /**
   * The evictions that would make room for a transaction of `bytes` from `account`, or undefined
   * if the eviction rule cannot. Plans without mutating, so a refusal changes nothing.
   */
  function planEvictions(account: string, bytes: number): PendingTransaction[] | undefined {
    const plan: PendingTransaction[] = [];
    const removedFrom = new Map<string, number>();
    let count = byId.size;
    let size = totalBytes;
    const newcomerCount = (accounts.get(account)?.byNonce.size ?? 0) + 1;
    // Each pass removes one transaction, so at most maxTransactions passes.
    while (count + 1 > config.maxTransactions || size + bytes > config.maxBytes) {
      let victim: AccountQueue | undefined;
      let victimName = '';
      let victimCount = 0;
      for (const [name, queue] of accounts) {
        const held = queue.byNonce.size - (removedFrom.get(name) ?? 0);
        if (held > victimCount || (held === victimCount && held > 0 && name > victimName)) {
          victim = queue;
          victimName = name;
          victimCount = held;
        }
      }
      if (victim === undefined || victimCount <= newcomerCount) return undefined;
      const removed = removedFrom.get(victimName) ?? 0;
      const nonces = [...victim.byNonce.keys()].sort((a, b) => b - a);
      const nonce = nonces[removed];
      const entry = nonce === undefined ? undefined : victim.byNonce.get(nonce);
      invariant(entry !== undefined, 'eviction plan ran past an account queue');
      plan.push(entry);
      removedFrom.set(victimName, removed + 1);
      count -= 1;
      size -= entry.bytes.length;
    }
    return plan;
  }

  /**
   * Every admission check but the signature, in admission order; changes nothing but the refusal
   * counters. A transaction refused here would be refused by `admit` with the same code.
   */
  function screen(
    bytes: Uint8Array,
    context: AdmitContext,
  ): AdmitResult | { status: 'screened'; transaction: SignedTransaction; id: string; account: string } {
    invariant(Number.isSafeInteger(context.height) && context.height >= 0, 'height must be a safe integer');
    invariant(Number.isFinite(context.nowMs), 'nowMs must be finite');
    if (!(bytes instanceof Uint8Array)) return refuse('MALFORMED', 'a transaction is bytes');
    if (bytes.length > config.maxTransactionBytes) {
      return refuse('TOO_LARGE', `${bytes.length} bytes, maximum ${config.maxTransactionBytes}`);
    }
    let decoded: ReturnType<TransactionDecoder>;
    try {
      decoded = decode(bytes);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      if (error.code === 'MESSAGE_TOO_LARGE') return refuse('TOO_LARGE', error.message);
      return refuse('MALFORMED', error.message);
    }
    const { transaction, idHex: id, signerHex: account } = decoded;
    const { body } = transaction;
    if (body.chainId !== config.chainId) {
      return refuse('WRONG_CHAIN', `chain ${body.chainId}, this network is ${config.chainId}`);
    }
    if (body.expiryHeight < context.height) {
      return refuse('EXPIRED', `expired at height ${body.expiryHeight}, next block is ${context.height}`);
    }
    if (byId.has(id)) return refuse('DUPLICATE', `transaction ${id} is already pending`);
    if (config.encryptionRequired?.(transaction) === true)
      return refuse('ENCRYPTION_REQUIRED', 'this market takes encrypted orders only: send it with encrypt');
    if (config.accountExists !== undefined && !config.accountExists(body.signer)) {
      return refuse('NO_ACCOUNT', 'the signer has no account; the operator deposits to open one');
    }
    const expected = committedNonce(body.signer);
    if (body.nonce < expected) {
      return refuse('NONCE_TOO_LOW', `nonce ${body.nonce} is used; the account's next nonce is ${expected}`);
    }
    if (body.nonce >= expected + config.maxPendingPerAccount) {
      return refuse(
        'NONCE_GAP',
        `nonce ${body.nonce} is too far ahead of the next nonce ${expected} (window ${config.maxPendingPerAccount})`,
      );
    }
    if (accounts.get(account)?.byNonce.has(body.nonce)) {
      return refuse('NONCE_IN_USE', `another transaction with nonce ${body.nonce} is pending`);
    }
    pruneAdmissions(context.nowMs);
    if ((admissionsByAccount.get(account) ?? 0) >= config.rateLimit.transactions) {
      return refuse(
        'RATE_LIMITED',
        `at most ${config.rateLimit.transactions} transactions per ${config.rateLimit.windowMs} ms per account`,
      );
    }
    // Tokens are checked here and spent only on admission, so that junk cannot drain the budget.
    globalBucket.refill(context.nowMs);
    if (!globalBucket.available()) {
      return refuse(
        'GLOBAL_RATE_LIMITED',
        `this validator admits at most ${config.globalRateLimit.transactionsPerSecond} per second`,
      );
    }
    return { status: 'screened', transaction, id, account };
  }

  function admit(bytes: Uint8Array, context: AdmitContext): AdmitResult {
    const screened = screen(bytes, context);
    if (screened.status !== 'screened') return screened;
    const { transaction, id, account } = screened;
    const { body } = transaction;
    // Signature last among the checks of the transaction itself: it costs the most.
    const check = checkTransaction(transaction, { chainId: config.chainId, height: context.height }, (tx) =>
      verifySignature(tx, bytes),
    );
    if (check !== 'ok') return refuse(check, 'the signature does not verify for this signer and body');
    if (admissions.length - admissionsHead >= config.maxTrackedAdmissions) {
      return refuse('MEMPOOL_FULL', 'too many admissions within the rate window');
    }
    const evictions = planEvictions(account, bytes.length);
    if (evictions === undefined) {
      return refuse('MEMPOOL_FULL', 'the pool is full and no account holds more than this one would');
    }

    for (const entry of evictions) removeEntry(entry);
    evictedCount += evictions.length;
    const entry: PendingTransaction = {
      id,
      transaction,
      bytes: new Uint8Array(bytes),
      account,
      nonce: body.nonce,
      admittedAtMs: context.nowMs,
      sequence: nextSequence++,
    };
    globalBucket.spend();
    byId.set(id, entry);
    totalBytes += entry.bytes.length;
    let queue = accounts.get(account);
    if (queue === undefined) {
      queue = { key: new Uint8Array(body.signer), byNonce: new Map() };
      accounts.set(account, queue);
    }
    queue.byNonce.set(body.nonce, entry);
    admissions.push({ account, atMs: context.nowMs });
    admissionsByAccount.set(account, (admissionsByAccount.get(account) ?? 0) + 1);
    accepted += 1;
    return { status: 'accepted', id, evicted: evictions.map((evicted) => evicted.id) };
  }

  function select(options: SelectOptions): PendingTransaction[] {
    invariant(Number.isSafeInteger(options.height) && options.height >= 0, 'height must be a safe integer');
    invariant(Number.isSafeInteger(options.maxTransactions) && options.maxTransactions >= 0, 'bad limit');
    invariant(Number.isSafeInteger(options.maxBytes) && options.maxBytes >= 0, 'bad byte limit');
    const runs = [...accounts.values()].map((queue) => ({
      queue,
      next: committedNonce(queue.key),
      open: true,
    }));
    const chosen: PendingTransaction[] = [];
    let bytes = 0;
    // Each round takes at most one transaction per account and ends an account's run otherwise,
    // so there are at most maxPendingPerAccount + 1 rounds.
    for (let open = runs.length; open > 0 && chosen.length < options.maxTransactions; ) {
      const round: { entry: PendingTransaction; run: (typeof runs)[number] }[] = [];
      for (const run of runs) {
        if (!run.open) continue;
        const entry = run.queue.byNonce.get(run.next);
        if (entry === undefined || entry.transaction.body.expiryHeight < options.height) {
          run.open = false;
          continue;
        }
        round.push({ entry, run });
      }
      // Sequences are unique, so the order within a round depends on the admissions only.
      round.sort((a, b) => a.entry.sequence - b.entry.sequence);
      open = 0;
      for (const { entry, run } of round) {
        if (chosen.length >= options.maxTransactions) break;
        if (bytes + entry.bytes.length > options.maxBytes) {
          run.open = false;
          continue;
        }
        chosen.push(entry);
        bytes += entry.bytes.length;
        run.next += 1;
        open += 1;
      }
    }
    return chosen;
  }

  function removeFinalized(block: { height: number; transactionIds: readonly string[] }): FinalizedRemoval {
    invariant(Number.isSafeInteger(block.height) && block.height >= 0, 'height must be a safe integer');
    const removal: FinalizedRemoval = { included: 0, stale: 0, expired: 0 };
    for (const id of block.transactionIds) {
      const entry = byId.get(id);
      if (entry === undefined) continue;
      removeEntry(entry);
      removal.included += 1;
    }
    for (const queue of [...accounts.values()]) {
      const expected = committedNonce(queue.key);
      for (const entry of [...queue.byNonce.values()]) {
        if (entry.nonce < expected) {
          removeEntry(entry);
          removal.stale += 1;
        } else if (entry.transaction.body.expiryHeight <= block.height) {
          removeEntry(entry);
          removal.expired += 1;
        }
      }
    }
    return removal;
  }

  return {
    admit(bytes: Uint8Array, context: AdmitContext): AdmitResult {
      return admit(bytes, context);
    },
    precheck(bytes: Uint8Array, context: AdmitContext): AdmitResult | undefined {
      const screened = screen(bytes, context);
      return screened.status === 'screened' ? undefined : screened;
    },
    select,
    removeFinalized,
    has(id: string): boolean {
      return byId.has(id);
    },
    pending(): PendingTransaction[] {
      return [...accounts.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .flatMap(([, queue]) => [...queue.byNonce.values()].sort((a, b) => a.nonce - b.nonce));
    },
    stats(): MempoolStats {
      return {
        transactions: byId.size,
        bytes: totalBytes,
        accounts: accounts.size,
        accepted,
        evicted: evictedCount,
        refused: { ...refused },
      };
    },
  };
}

/**
 * A token bucket in integer thousandths of a token, refilled from whole milliseconds of `nowMs`
 * (the remainder carries over), so every validator given the same calls holds the same tokens.
 * A clock that steps back refills nothing.
 */
function createTokenBucket(limit: TokenBucketLimit) {
  const capacity = limit.burst * 1000;
  let milliTokens = capacity;
  let lastMs: number | undefined;
  return {
    refill(nowMs: number): void {
      if (lastMs === undefined || nowMs < lastMs) {
        lastMs = lastMs === undefined ? nowMs : lastMs;
        return;
      }
      const elapsedMs = Math.floor(nowMs - lastMs);
      if (elapsedMs <= 0) return;
      lastMs += elapsedMs;
      // A token per 1000 / rate ms is `rate` thousandths of a token per ms.
      milliTokens = Math.min(capacity, milliTokens + elapsedMs * limit.transactionsPerSecond);
    },
    available: (): boolean => milliTokens >= 1000,
    spend(): void {
      invariant(milliTokens >= 1000, 'spent a token the bucket does not hold');
      milliTokens -= 1000;
    },
  };
}
