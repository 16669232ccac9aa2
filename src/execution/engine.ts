/**
 * The venue's state machine: accounts and collateral, option series, one order book per series,
 * marks, margin, liquidation, settlement, and the state root. Every validator runs it on the
 * finalized order of transactions; it is a deterministic function of (state, block): time and
 * oracle prices come in the block, all arithmetic that changes state is integer.
 *
 * Block processing, in this order (the order is part of the protocol):
 *   1. oracle updates: a valid price passes the oracle guards (src/execution/oracle-guard.ts: a
 *      flagged price pauses the underlying's index and liquidations for at most
 *      `oracleGuardPauseMs`) and becomes the index; settlement samples are kept by time, one per
 *      second (src/execution/settlement.ts);
 *   2. expiry: series whose expiry has passed stop trading (resting orders cancelled) and settle
 *      on the time-weighted average index over the last 30 minutes before expiry, divided by the
 *      time actually covered by valid prices; a thinly covered window extends backwards, and with
 *      no valid price at all the series settles on the last valid index price after
 *      `settlementFallbackDelayMs` (src/execution/settlement.ts), so settlement always concludes;
 *   3. transactions, in consensus order: stateless checks (chain, expiry height, signature, size),
 *      then the nonce, then the action. A refusal (`RejectionStatus`) changes nothing, not even
 *      the nonce; a business outcome (`OutcomeStatus`, e.g. insufficient margin) consumes the
 *      nonce and changes nothing else. A key without an account gets `UNKNOWN_ACCOUNT` for
 *      anything but being deposited to. Every order meets pre-trade risk (src/execution/risk.ts):
 *      a price band around the mark and what-if margin, reducing orders included; every maker
 *      fill meets them again, and a maker that fails leaves the book. Caps (positions per
 *      account, open orders, accounts, series) are outcomes, never invariants;
 *   4. liquidation of accounts below maintenance margin (src/execution/liquidation.ts), skipping
 *      accounts exposed to a guard-paused underlying: positions closed in the order that lowers the
 *      requirement most per value closed, in steps into the book, else taken by the insurance
 *      fund's backstop account (src/execution/backstop.ts), else auto-deleveraged against the
 *      opposite positions at the bankruptcy price;
 *   5. losses: a flat backstop account's gains return to the insurance fund; a bankrupt account
 *      (no positions, negative balance) is made whole by the insurance fund, and anything left is
 *      recorded as unrecovered. No account is charged for another's loss here: deficits were
 *      passed to counterparties with positions by auto-deleveraging in step 4;
 *   6. the state commitment is updated with what the block changed and its root returned.
 *
 * The root covers everything a later block's outcome depends on, not only what views show:
 * besides accounts, resting orders (with their time priority), series, index prices and the ledger,
 * it commits every settlement sample the TWAP will read, the block time each index was last valid
 * (marks lapse `maxSampleHoldMs` after it), each underlying's oracle-guard pause, and each
 * account's creation index (the order in which liquidation and loss allocation visit accounts).
 * Two validators with equal roots therefore have equal futures, and a snapshot is checked against
 * the root it embeds. Not in the root: the configuration (genesis; a restore compares it), each
 * book's time-priority counter (a wrong one shows in the root at the next resting order) and the
 * mark cache (rebuilt every block).
 *
 * Snapshots: `engine.snapshot()` encodes the whole state canonically (src/codec/snapshot.ts) and
 * `restoreEngine(bytes, genesis?)` rebuilds an engine that reproduces the embedded root and behaves
 * identically from then on.
 *
 * Deposits: a genesis-listed operator key (the bridge) signs `Deposit` actions that credit any
 * account; devnet bots are funded in genesis or by the operator. Withdrawals debit the signer.
 * Accounts cost a deposit: only genesis or a deposit of at least `minDepositForAccount` creates
 * one (a smaller one is `DEPOSIT_BELOW_MINIMUM` and credits nothing: the bridge must not submit
 * it, or refunds it). The operator and governance keys need no deposit: their record, which
 * holds their nonce, appears with their first accepted action.
 *
 * Conservation (tested over random sequences): deposits − withdrawals = Σ balances + fee pool +
 * insurance fund − unrecovered loss, exactly, after every block (the backstop account's balance is
 * one of the balances). Deficit shares passed by auto-deleveraging move money between balances of
 * accounts holding positions and are recorded in `socializedLossTotal`; a deficit nobody can cover
 * is written off into `unrecoveredLoss`. Accounts that neither trade nor hold positions never lose
 * balance (also tested over random sequences).
 */
import { CodecError } from '../codec/errors.ts';
import {
  AccountRecordCodec,
  type CancelAll,
  type CancelOrder,
  CLIENT_ORDER_IDS_MAX,
  type Deposit,
  decodeAction,
  IndexRecordCodec,
  LedgerRecordCodec,
  type ListSeries,
  MARGIN_MODE,
  ORDER_KIND,
  OrderRecordCodec,
  type PlaceOrder,
  SERIES_STATUS,
  SeriesRecordCodec,
  type SetMarginMode,
  type SetMarkVol,
  TIME_IN_FORCE,
  type Withdraw,
} from '../codec/execution.ts';
import { InvariantError, invariant } from '../codec/invariant.ts';
import {
  AccountIndexRecordCodec,
  EngineParametersType,
  type EngineSnapshot,
  EngineSnapshotCodec,
  OracleStateRecordCodec,
  SampleRecordCodec,
  type SignedInt,
  SNAPSHOT_ACCOUNTS_MAX,
  type UnderlyingSnapshot,
  UnderlyingSnapshotType,
} from '../codec/snapshot.ts';
import { MAX_TRANSACTION_PAYLOAD_BYTES, type SignedTransaction } from '../codec/transaction.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { createStateCommitment, type StateCommitment, type StateProof } from '../crypto/state-commitment.ts';
import { checkTransaction, type TransactionSignatureCheck } from '../crypto/transaction.ts';
import { divCeil, divFloor, type Fixed, fromBps, min, ONE } from '../std/fixed.ts';
import { BACKSTOP_PUBLIC_KEY, backstopCanCarry } from './backstop.ts';
import {
  BUY,
  createOrderBook,
  type MatchCallbacks,
  type OrderBook,
  type RestingOrder,
  SELL,
  type Side,
} from './book.ts';
import {
  bankruptcyLimitTicks,
  type ClosureCandidate,
  cappedPenalty,
  closureOrder,
  deficitShare,
  deleverageOrder,
  type RequirementInput,
  stepReductions,
} from './liquidation.ts';
import {
  contingencyPerShortLot,
  type PortfolioPosition,
  perLot,
  portfolioRequirement,
  type SeriesMarket,
  type StandardMarginPerLot,
  scenarioPnlPerLot,
  standardShortMargin,
  unitValue,
} from './margin.ts';
import { guardPaused, guardPrice } from './oracle-guard.ts';
import {
  boundedVolChange,
  clampToBand,
  coversInitial,
  deRisks,
  inBand,
  type PriceBand,
  priceBand,
} from './risk.ts';
import { oldestSampleNeededMs, placeSample, settlementPrice } from './settlement.ts';
import type {
  Block,
  BlockResult,
  CancelReason,
  EngineEvent,
  EngineGenesis,
  EngineParameters,
  OracleUpdate,
  OutcomeStatus,
  RejectionStatus,
  SeriesConfig,
  TransactionResult,
  UnderlyingConfig,
} from './types.ts';
import { REJECTION_STATUSES } from './types.ts';

const E6 = 1_000_000n;
const E12 = 1_000_000_000_000n;
const BPS = 10_000n;
/**
 * Hard bounds on what one account and the venue hold, so that every loop over them is bounded (and
 * what the records can encode). Genesis caps within them (`maxPositionsPerAccount`, `maxSeries`,
 * `maxAccounts`) are what transactions meet, each as a refusal with its own status; the invariants
 * on the hard bounds are therefore never reached by any sequence of transactions.
 */
export const MAX_LOTS_PER_ORDER = 1_000_000_000;
export const MAX_SERIES = 10_000;
export const MAX_POSITIONS_PER_ACCOUNT = 1024;
/**
 * Settlement samples kept per underlying, at most one per second (src/execution/settlement.ts):
 * 2 h 16 min, above what the defaults read (window 30 min + extension 30 min + hold 1 min, kept
 * until the 60-minute fallback delay ends: 2 h 1 min). A bound on memory, not the retention rule.
 */
const MAX_SAMPLES_PER_UNDERLYING = 8192;
const BACKSTOP_KEY = toHex(BACKSTOP_PUBLIC_KEY);

interface Account {
  readonly index: number;
  readonly key: string;
  readonly publicKey: Uint8Array;
  nonce: number;
  balance: bigint;
  marginMode: 0 | 1;
  /** Series id → signed lots (never 0: a closed position is deleted). */
  positions: Map<number, number>;
  /**
   * Series id → the position's entry cost: the premium paid for its lots (negative: received),
   * fees excluded, scaled down pro rata as it is reduced. Auto-deleveraging ranks by the profit
   * over it (src/execution/liquidation.ts). Same keys as `positions`.
   */
  entryCosts: Map<number, bigint>;
  openOrders: Map<number, RestingOrder>;
  clientOrderIds: Array<{ clientOrderId: number; orderId: number }>;
}

interface Series {
  readonly seriesId: number;
  readonly underlying: UnderlyingConfig;
  readonly isCall: boolean;
  readonly strike: bigint;
  readonly expiryMs: number;
  readonly tickSize: number;
  readonly lotSizeE6: number;
  readonly multiplierE6: number;
  /** Quote base units one lot's premium moves per tick. */
  readonly lotValuePerTick: bigint;
  readonly lotUnderlyingE12: bigint;
  markVolBps: number;
  /** Block time of the last SetMarkVol (0: never), for the hourly bound (src/execution/risk.ts). */
  markVolSetMs: number;
  status: number;
  settlementPrice: bigint;
  openInterestLots: number;
  readonly book: OrderBook;
  /** Account indexes holding a position, for settlement. */
  readonly holders: Set<number>;
}

interface MarkEntry {
  market: SeriesMarket;
  markPerUnit: Fixed;
  markPerLot: Fixed;
  /** The mark in ticks, for market and liquidation price bands. */
  markTicks: number;
  standard: StandardMarginPerLot;
  scenarioPnl?: Fixed[];
  contingency?: Fixed;
}

interface Sample {
  timeMs: number;
  price: bigint;
  valid: boolean;
}

export interface AccountView {
  publicKey: string;
  nonce: number;
  balance: bigint;
  marginMode: 'standard' | 'portfolio';
  positions: Array<{ seriesId: number; lots: number }>;
  openOrders: Array<{
    orderId: number;
    seriesId: number;
    side: 'buy' | 'sell';
    priceTicks: number;
    remainingLots: number;
    clientOrderId: number;
  }>;
  /** Undefined when a series it holds has no mark (no valid index price). */
  margin?: { equity: bigint; initial: bigint; maintenance: bigint };
}

export interface SeriesView {
  seriesId: number;
  underlyingId: number;
  isCall: boolean;
  strike: bigint;
  expiryMs: number;
  tickSize: number;
  lotSizeE6: number;
  multiplierE6: number;
  markVolBps: number;
  status: 'active' | 'expired' | 'settled';
  settlementPrice: bigint;
  openInterestLots: number;
  /** Mark price per contract in quote base units, when the index is known. */
  markPrice?: bigint;
}

export interface LedgerView {
  height: number;
  timeMs: number;
  totalDeposits: bigint;
  totalWithdrawals: bigint;
  feePool: bigint;
  insuranceFund: bigint;
  socializedLossTotal: bigint;
  unrecoveredLoss: bigint;
  /** Σ balances over every account (may include negative balances awaiting cover). */
  totalBalances: bigint;
}

export interface Engine {
  readonly chainId: number;
  readonly height: number;
  readonly timeMs: number;
  /**
   * Applies a finalized block. Transactions that fail get statuses; only a broken invariant
   * throws (a bug: the node must stop rather than diverge).
   * @throws InvariantError when the block's height or time do not follow the last block
   */
  applyBlock(block: Block): BlockResult;
  stateRoot(): Uint8Array;
  /** A proof for a state key (see {@link accountStateKey} and friends) against the current root. */
  prove(key: Uint8Array): StateProof;
  /** The committed value under a state key (an encoded record), if any. */
  stateValue(key: Uint8Array): Uint8Array | undefined;
  account(publicKey: Uint8Array | string): AccountView | undefined;
  accounts(): AccountView[];
  series(): SeriesView[];
  book(
    seriesId: number,
    maxLevels?: number,
  ): { bids: Array<[number, number, number]>; asks: Array<[number, number, number]> } | undefined;
  ledger(): LedgerView;
  indexPrice(underlyingId: number): bigint | undefined;
  /**
   * The complete state in canonical bytes (an `EngineSnapshot`, src/codec/snapshot.ts): equal
   * states give equal bytes, and {@link restoreEngine} turns them back into an engine with the same
   * root and the same future behaviour.
   */
  snapshot(): Uint8Array;
}

const textEncoder = new TextEncoder();
const ACCOUNT_NAMESPACE = textEncoder.encode('palisade/state/account');
const ORDER_NAMESPACE = textEncoder.encode('palisade/state/order');
const SERIES_NAMESPACE = textEncoder.encode('palisade/state/series');
const INDEX_NAMESPACE = textEncoder.encode('palisade/state/index');
const SAMPLE_NAMESPACE = textEncoder.encode('palisade/state/sample');
const ORACLE_NAMESPACE = textEncoder.encode('palisade/state/oracle');
const ACCOUNT_INDEX_NAMESPACE = textEncoder.encode('palisade/state/account-index');
/** The key of the ledger totals (deposits, withdrawals, fee pool, insurance fund, losses). */
export const LEDGER_STATE_KEY = sha256(textEncoder.encode('palisade/state/ledger'));

function u64Bytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/** State key of an account's record: SHA-256(namespace ‖ public key). */
export function accountStateKey(publicKey: Uint8Array): Uint8Array {
  return sha256(ACCOUNT_NAMESPACE, publicKey);
}
export function orderStateKey(orderId: number): Uint8Array {
  return sha256(ORDER_NAMESPACE, u64Bytes(orderId));
}
export function seriesStateKey(seriesId: number): Uint8Array {
  return sha256(SERIES_NAMESPACE, u64Bytes(seriesId));
}
export function indexStateKey(underlyingId: number): Uint8Array {
  return sha256(INDEX_NAMESPACE, u64Bytes(underlyingId));
}
/** A settlement sample: SHA-256(namespace ‖ underlying ‖ sequence), sequences counting every sample taken. */
export function sampleStateKey(underlyingId: number, sequence: number): Uint8Array {
  return sha256(SAMPLE_NAMESPACE, u64Bytes(underlyingId), u64Bytes(sequence));
}
export function oracleStateKey(underlyingId: number): Uint8Array {
  return sha256(ORACLE_NAMESPACE, u64Bytes(underlyingId));
}
export function accountIndexStateKey(index: number): Uint8Array {
  return sha256(ACCOUNT_INDEX_NAMESPACE, u64Bytes(index));
}

export type SnapshotErrorCode = 'GENESIS_MISMATCH' | 'INCONSISTENT_SNAPSHOT' | 'STATE_ROOT_MISMATCH';

/**
 * A snapshot that decodes but cannot be the state of an engine (or not of this chain's). Bytes that
 * do not decode at all are a `CodecError`.
 */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  readonly code: SnapshotErrorCode;
  readonly field: string;
  constructor(code: SnapshotErrorCode, field: string, detail: string, options?: { cause?: unknown }) {
    super(`${code} at ${field}: ${detail}`, options);
    this.code = code;
    this.field = field;
  }
}

function inconsistent(condition: unknown, field: string, detail: string): asserts condition {
  if (!condition) throw new SnapshotError('INCONSISTENT_SNAPSHOT', field, detail);
}

function toSigned(value: number): SignedInt {
  return { negative: value < 0, magnitude: Math.abs(value) };
}
function fromSigned(value: SignedInt): number {
  return value.negative ? -value.magnitude : value.magnitude;
}

function underlyingSnapshot(underlying: UnderlyingConfig): UnderlyingSnapshot {
  return {
    underlyingId: underlying.underlyingId,
    symbol: textEncoder.encode(underlying.symbol),
    rateBps: toSigned(underlying.rateBps),
    defaultVolBps: underlying.defaultVolBps,
    minVolBps: underlying.minVolBps,
    maxVolBps: underlying.maxVolBps,
    maxConfidenceBps: underlying.maxConfidenceBps,
    imBaseBps: underlying.imBaseBps,
    imMinBps: underlying.imMinBps,
    mmBps: underlying.mmBps,
    pmSpotMovesBps: underlying.pmSpotMovesBps.map(toSigned),
    pmInitialMultiplierBps: underlying.pmInitialMultiplierBps,
    pmContingencyBps: underlying.pmContingencyBps,
  };
}

function underlyingFromSnapshot(value: UnderlyingSnapshot): UnderlyingConfig {
  let symbol: string;
  try {
    symbol = new TextDecoder('utf-8', { fatal: true }).decode(value.symbol);
  } catch (cause) {
    throw new SnapshotError('INCONSISTENT_SNAPSHOT', 'underlyings.symbol', 'not UTF-8', { cause });
  }
  return {
    underlyingId: value.underlyingId,
    symbol,
    rateBps: fromSigned(value.rateBps),
    defaultVolBps: value.defaultVolBps,
    minVolBps: value.minVolBps,
    maxVolBps: value.maxVolBps,
    maxConfidenceBps: value.maxConfidenceBps,
    imBaseBps: value.imBaseBps,
    imMinBps: value.imMinBps,
    mmBps: value.mmBps,
    pmSpotMovesBps: value.pmSpotMovesBps.map(fromSigned),
    pmInitialMultiplierBps: value.pmInitialMultiplierBps,
    pmContingencyBps: value.pmContingencyBps,
  };
}

/** The configuration half of a snapshot, encoded, to compare a snapshot against a genesis. */
function configBytes(genesis: Pick<EngineGenesis, 'params' | 'underlyings'>): Uint8Array[] {
  return [
    EngineParametersType.serialize({ ...genesis.params }),
    ...genesis.underlyings.map((u) => UnderlyingSnapshotType.serialize(underlyingSnapshot(u))),
  ];
}

/**
 * An engine in exactly the state a snapshot holds: same root, same answers to every view, same
 * results for every future block.
 * @example const copy = restoreEngine(engine.snapshot(), genesis); copy.stateRoot() // equals engine.stateRoot()
 * @throws CodecError when the bytes are not an `EngineSnapshot`
 * @throws SnapshotError when it decodes but is not a consistent engine state, does not reproduce its
 *   own state root, or (with `genesis`) belongs to another chain or configuration
 */
export function restoreEngine(
  bytes: Uint8Array,
  genesis?: EngineGenesis,
  options: EngineOptions = {},
): Engine {
  const snapshot = EngineSnapshotCodec.decode(bytes);
  const underlyings = snapshot.underlyings.map(underlyingFromSnapshot);
  const config: EngineGenesis = {
    chainId: snapshot.chainId,
    operator: snapshot.operator,
    governance: snapshot.governance,
    startTimeMs: snapshot.startTimeMs,
    params: { ...snapshot.params },
    underlyings,
    series: [],
    accounts: [],
    insuranceFund: 0n,
  };
  if (genesis !== undefined) {
    const same =
      genesis.chainId === config.chainId &&
      bytesEqual(genesis.operator, config.operator) &&
      bytesEqual(genesis.governance, config.governance) &&
      genesis.startTimeMs === config.startTimeMs;
    const ours = configBytes(genesis);
    const theirs = configBytes(config);
    if (!same || ours.length !== theirs.length || ours.some((b, i) => !bytesEqual(b, theirs[i]!)))
      throw new SnapshotError(
        'GENESIS_MISMATCH',
        'EngineSnapshot',
        'the snapshot belongs to another chain or configuration',
      );
  }
  try {
    return buildEngine(config, options, snapshot);
  } catch (error) {
    if (error instanceof InvariantError)
      throw new SnapshotError('INCONSISTENT_SNAPSHOT', 'EngineSnapshot', error.message, { cause: error });
    throw error;
  }
}

/** Checks a series' parameters; returns why it is invalid, or undefined. */
function seriesProblem(
  config: SeriesConfig,
  underlying: UnderlyingConfig | undefined,
  nowMs: number,
): string | undefined {
  if (underlying === undefined) return 'unknown underlying';
  const positive = [config.strike, config.tickSize, config.lotSizeE6, config.multiplierE6];
  if (!positive.every((x) => Number.isSafeInteger(x) && x > 0))
    return 'strike, tick, lot and multiplier must be positive';
  if (!Number.isSafeInteger(config.expiryMs) || config.expiryMs <= nowMs)
    return 'expiry must be in the future';
  // One lot's premium per tick must be a whole number of base units, so that no premium is rounded.
  if ((BigInt(config.tickSize) * BigInt(config.lotSizeE6)) % E6 !== 0n)
    return 'tick × lot must be whole base units';
  if (BigInt(config.lotSizeE6) * BigInt(config.multiplierE6) > 1_000_000n * E12) return 'lot too large';
  return undefined;
}

function hexKey(publicKey: Uint8Array): string {
  return toHex(publicKey);
}

function canonicalEventBytes(events: readonly EngineEvent[]): Uint8Array {
  return textEncoder.encode(
    JSON.stringify(events, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value)),
  );
}

/**
 * Creates an engine at genesis.
 * @example const engine = createEngine(genesis); const { stateRoot, events } = engine.applyBlock(block);
 * @throws InvariantError when the genesis is inconsistent (unknown underlying, duplicate account)
 */
export interface EngineOptions {
  /** The state commitment to write into (default: a fresh one); the benchmark passes a timed one. */
  stateCommitment?: StateCommitment;
  /**
   * Checks a transaction's signature (default: an Ed25519 verification). A node injects one that
   * answers from the verifications its mempool already did; it must give the same verdicts.
   */
  verifySignature?: TransactionSignatureCheck;
}

export function createEngine(genesis: EngineGenesis, options: EngineOptions = {}): Engine {
  return buildEngine(genesis, options, undefined);
}

function buildEngine(
  genesis: EngineGenesis,
  options: EngineOptions,
  restored: EngineSnapshot | undefined,
): Engine {
  const params: EngineParameters = { ...genesis.params };
  // The caps are genesis choices within what the records can hold; a genesis beyond them is inconsistent.
  invariant(
    params.maxPositionsPerAccount >= 1 && params.maxPositionsPerAccount <= MAX_POSITIONS_PER_ACCOUNT,
    'maxPositionsPerAccount within 1…1024',
  );
  invariant(
    params.maxSeries <= MAX_SERIES && genesis.series.length <= params.maxSeries,
    'series within maxSeries',
  );
  invariant(
    params.maxAccounts <= SNAPSHOT_ACCOUNTS_MAX && genesis.accounts.length <= params.maxAccounts,
    'accounts within maxAccounts, within what a snapshot holds',
  );
  const chainId = genesis.chainId;
  const operator = Uint8Array.from(genesis.operator);
  const governance = Uint8Array.from(genesis.governance);
  const underlyings = new Map<number, UnderlyingConfig>();
  for (const underlying of genesis.underlyings) {
    invariant(!underlyings.has(underlying.underlyingId), 'duplicate underlying in genesis');
    underlyings.set(underlying.underlyingId, {
      ...underlying,
      pmSpotMovesBps: [...underlying.pmSpotMovesBps],
    });
  }

  const accounts = new Map<string, Account>();
  const accountsByIndex: Account[] = [];
  const accountsWithPositions = new Set<number>();
  const seriesById = new Map<number, Series>();
  const orderSeries = new Map<number, Series>();
  const indexPrices = new Map<number, { price: bigint; blockTimeMs: number; publishTimeMs: number }>();
  const samples = new Map<number, Sample[]>();
  /** Sequence of each underlying's first kept sample; sequences count every sample ever taken. */
  const sampleBase = new Map<number, number>();
  /** Per underlying, the end of its oracle-guard pause episode (absent: none), src/execution/oracle-guard.ts. */
  const guardUntil = new Map<number, number>();
  const commitment: StateCommitment = options.stateCommitment ?? createStateCommitment();
  const verifySignature = options.verifySignature;
  let markCache = new Map<number, MarkEntry | null>();

  let height = 0;
  let timeMs = genesis.startTimeMs;
  let totalDeposits = 0n;
  let totalWithdrawals = 0n;
  let feePool = 0n;
  let insuranceFund = 0n;
  let socializedLossTotal = 0n;
  let unrecoveredLoss = 0n;
  let nextOrderId = 1;
  let nextSeriesId = 1;

  const dirtyAccounts = new Set<Account>();
  const dirtyOrders = new Map<number, RestingOrder | null>();
  const dirtySeries = new Set<Series>();
  const dirtyIndexes = new Set<number>();
  /** Sample records to write (a sample) or delete (null), by underlying and sequence. */
  const sampleWrites: Array<{ underlyingId: number; sequence: number; sample: Sample | null }> = [];
  const dirtyOracle = new Set<number>();
  const newAccounts: Account[] = [];
  let events: EngineEvent[] = [];

  function createAccount(publicKey: Uint8Array): Account {
    const key = hexKey(publicKey);
    invariant(!accounts.has(key), 'account exists');
    const account: Account = {
      index: accountsByIndex.length,
      key,
      publicKey: Uint8Array.from(publicKey),
      nonce: 0,
      balance: 0n,
      marginMode: MARGIN_MODE.standard,
      positions: new Map(),
      entryCosts: new Map(),
      openOrders: new Map(),
      clientOrderIds: [],
    };
    accounts.set(key, account);
    accountsByIndex.push(account);
    dirtyAccounts.add(account);
    newAccounts.push(account);
    return account;
  }

  /**
   * The genesis keys (operator, governance) act without a deposit: their record, which holds their
   * nonce, is created by their first accepted action. Every other key needs an account, which only
   * genesis or a deposit of at least `minDepositForAccount` creates.
   */
  function isGenesisKey(publicKey: Uint8Array): boolean {
    return bytesEqual(publicKey, operator) || bytesEqual(publicKey, governance);
  }

  /** Accounts counted against `maxAccounts`: all but the genesis keys' records. */
  function countedAccounts(): number {
    let genesisRecords = accounts.has(hexKey(operator)) ? 1 : 0;
    if (!bytesEqual(operator, governance) && accounts.has(hexKey(governance))) genesisRecords += 1;
    return accounts.size - genesisRecords;
  }

  /** The signer's account; `applyTransaction` lets only existing accounts and genesis keys get here. */
  function accountFor(publicKey: Uint8Array): Account {
    const account = accounts.get(hexKey(publicKey));
    if (account !== undefined) return account;
    invariant(isGenesisKey(publicKey), 'an action from a key without an account passed admission');
    return createAccount(publicKey);
  }

  function listSeries(config: SeriesConfig): Series {
    const series = addSeries(nextSeriesId++, config, 0);
    events.push({ type: 'seriesListed', seriesId: series.seriesId });
    return series;
  }

  function addSeries(seriesId: number, config: SeriesConfig, bookSequence: number): Series {
    invariant(seriesById.size < MAX_SERIES, 'series limit reached');
    invariant(!seriesById.has(seriesId), 'series id taken');
    const underlying = underlyings.get(config.underlyingId);
    invariant(underlying !== undefined, 'series on an unknown underlying');
    const series: Series = {
      seriesId,
      underlying,
      isCall: config.isCall,
      strike: BigInt(config.strike),
      expiryMs: config.expiryMs,
      tickSize: config.tickSize,
      lotSizeE6: config.lotSizeE6,
      multiplierE6: config.multiplierE6,
      lotValuePerTick: (BigInt(config.tickSize) * BigInt(config.lotSizeE6)) / E6,
      lotUnderlyingE12: BigInt(config.lotSizeE6) * BigInt(config.multiplierE6),
      markVolBps: underlying.defaultVolBps,
      markVolSetMs: 0,
      status: SERIES_STATUS.active,
      settlementPrice: 0n,
      openInterestLots: 0,
      book: createOrderBook({ sequence: bookSequence }),
      holders: new Set(),
    };
    seriesById.set(series.seriesId, series);
    dirtySeries.add(series);
    return series;
  }

  if (restored === undefined) {
    // Genesis.
    for (const config of genesis.series) {
      const problem = seriesProblem(config, underlyings.get(config.underlyingId), genesis.startTimeMs);
      invariant(problem === undefined, `genesis series: ${problem}`);
      listSeries(config);
    }
    for (const entry of genesis.accounts) {
      invariant(entry.balance >= 0n, 'genesis balances are not negative');
      const account = createAccount(entry.publicKey);
      account.balance = entry.balance;
      account.marginMode = entry.marginMode === 'portfolio' ? MARGIN_MODE.portfolio : MARGIN_MODE.standard;
      totalDeposits += entry.balance;
    }
    invariant(genesis.insuranceFund >= 0n, 'insurance fund is not negative');
    insuranceFund = genesis.insuranceFund;
    totalDeposits += genesis.insuranceFund;
    events = [];
    commitState();
  } else {
    loadSnapshot(restored);
    events = [];
    const root = commitState();
    if (!bytesEqual(root, restored.stateRoot))
      throw new SnapshotError(
        'STATE_ROOT_MISMATCH',
        'EngineSnapshot.stateRoot',
        'the restored state has another root',
      );
  }

  /** Rebuilds the state a snapshot holds; everything it loads is marked dirty and committed afresh. */
  function loadSnapshot(snapshot: EngineSnapshot): void {
    height = snapshot.height;
    timeMs = snapshot.timeMs;
    totalDeposits = snapshot.totalDeposits;
    totalWithdrawals = snapshot.totalWithdrawals;
    feePool = snapshot.feePool;
    insuranceFund = snapshot.insuranceFund;
    socializedLossTotal = snapshot.socializedLossTotal;
    unrecoveredLoss = snapshot.unrecoveredLoss;
    nextOrderId = snapshot.nextOrderId;
    nextSeriesId = snapshot.nextSeriesId;
    inconsistent(timeMs >= genesis.startTimeMs, 'timeMs', 'before the chain started');
    for (const [i, record] of snapshot.series.entries()) {
      const r = record.record;
      inconsistent(r.seriesId > 0 && r.seriesId < nextSeriesId, `series[${i}].seriesId`, 'not a listed id');
      inconsistent(underlyings.has(r.underlyingId), `series[${i}].underlyingId`, 'unknown underlying');
      inconsistent(r.status <= SERIES_STATUS.settled, `series[${i}].status`, 'unknown status');
      inconsistent(!seriesById.has(r.seriesId), `series[${i}].seriesId`, 'repeated');
      const series = addSeries(r.seriesId, { ...r }, record.bookSequence);
      series.markVolBps = r.markVolBps;
      series.markVolSetMs = r.markVolSetMs;
      series.status = r.status;
      series.settlementPrice = BigInt(r.settlementPrice);
    }
    for (const [i, record] of snapshot.accounts.entries()) {
      inconsistent(!accounts.has(hexKey(record.publicKey)), `accounts[${i}].publicKey`, 'repeated');
      inconsistent(record.marginMode <= MARGIN_MODE.portfolio, `accounts[${i}].marginMode`, 'unknown mode');
      inconsistent(
        !record.balance.negative || record.balance.magnitude > 0n,
        `accounts[${i}].balance`,
        'negative zero',
      );
      const account = createAccount(record.publicKey);
      account.nonce = record.nonce;
      account.balance = record.balance.negative ? -record.balance.magnitude : record.balance.magnitude;
      account.marginMode =
        record.marginMode === MARGIN_MODE.portfolio ? MARGIN_MODE.portfolio : MARGIN_MODE.standard;
      account.clientOrderIds = record.clientOrderIds.map((entry) => ({ ...entry }));
      for (const [j, position] of record.positions.entries()) {
        const series = seriesById.get(position.seriesId);
        const field = `accounts[${i}].positions[${j}]`;
        inconsistent(series !== undefined, field, 'unknown series');
        inconsistent(
          position.lots > 0 && !account.positions.has(position.seriesId),
          field,
          'empty or repeated',
        );
        setPosition(account, series, position.short ? -position.lots : position.lots, 0n);
        const cost = position.entryCost;
        inconsistent(!cost.negative || cost.magnitude > 0n, `${field}.entryCost`, 'negative zero');
        account.entryCosts.set(position.seriesId, cost.negative ? -cost.magnitude : cost.magnitude);
      }
    }
    for (const [i, record] of snapshot.series.entries()) {
      const series = seriesById.get(record.record.seriesId)!;
      inconsistent(
        series.openInterestLots === record.record.openInterestLots,
        `series[${i}].openInterestLots`,
        'does not match the positions',
      );
    }
    for (const [i, record] of snapshot.orders.entries()) {
      const field = `orders[${i}]`;
      const series = seriesById.get(record.seriesId);
      const owner = accounts.get(hexKey(record.owner));
      inconsistent(
        series !== undefined && series.status === SERIES_STATUS.active,
        field,
        'not a trading series',
      );
      inconsistent(owner !== undefined, `${field}.owner`, 'unknown account');
      inconsistent(
        record.orderId > 0 && record.orderId < nextOrderId,
        `${field}.orderId`,
        'not an issued id',
      );
      inconsistent(!orderSeries.has(record.orderId), `${field}.orderId`, 'repeated');
      inconsistent(record.side === BUY || record.side === SELL, `${field}.side`, 'unknown side');
      const resting = series.book.add({
        orderId: record.orderId,
        owner: owner.index,
        side: record.side,
        priceTicks: record.priceTicks,
        remainingLots: record.remainingLots,
        clientOrderId: record.clientOrderId,
        reduceOnly: record.reduceOnly,
        sequence: record.sequence,
      });
      owner.openOrders.set(record.orderId, resting);
      orderSeries.set(record.orderId, series);
      dirtyOrders.set(record.orderId, resting);
    }
    for (const [i, record] of snapshot.indexes.entries()) {
      inconsistent(underlyings.has(record.underlyingId), `indexes[${i}].underlyingId`, 'unknown underlying');
      inconsistent(!indexPrices.has(record.underlyingId), `indexes[${i}].underlyingId`, 'repeated');
      indexPrices.set(record.underlyingId, {
        price: BigInt(record.price),
        blockTimeMs: record.blockTimeMs,
        publishTimeMs: record.publishTimeMs,
      });
      dirtyIndexes.add(record.underlyingId);
      dirtyOracle.add(record.underlyingId);
    }
    for (const [i, record] of snapshot.samples.entries()) {
      inconsistent(underlyings.has(record.underlyingId), `samples[${i}].underlyingId`, 'unknown underlying');
      inconsistent(!samples.has(record.underlyingId), `samples[${i}].underlyingId`, 'repeated');
      const list = record.samples.map((sample) => ({
        timeMs: sample.timeMs,
        price: BigInt(sample.price),
        valid: sample.valid,
      }));
      samples.set(record.underlyingId, list);
      sampleBase.set(record.underlyingId, record.firstSequence);
      if (record.guardUntilMs !== 0) guardUntil.set(record.underlyingId, record.guardUntilMs);
      for (const [j, sample] of list.entries())
        sampleWrites.push({ underlyingId: record.underlyingId, sequence: record.firstSequence + j, sample });
      dirtyOracle.add(record.underlyingId);
    }
  }

  // ---- Marks and margin -------------------------------------------------------------------

  function liveIndex(underlyingId: number): bigint | undefined {
    const entry = indexPrices.get(underlyingId);
    if (entry === undefined || timeMs - entry.blockTimeMs > params.maxSampleHoldMs) return undefined;
    return entry.price;
  }

  function markOf(series: Series): MarkEntry | undefined {
    const cached = markCache.get(series.seriesId);
    if (cached !== undefined) return cached ?? undefined;
    const spot = liveIndex(series.underlying.underlyingId);
    if (spot === undefined) {
      markCache.set(series.seriesId, null);
      return undefined;
    }
    const market: SeriesMarket = {
      isCall: series.isCall,
      strike: series.strike,
      expiryMs: series.expiryMs,
      lotUnderlyingE12: series.lotUnderlyingE12,
      spot,
      rate: fromBps(series.underlying.rateBps),
      volatility: fromBps(series.markVolBps),
      nowMs: timeMs,
    };
    const markPerUnit = unitValue(market, spot, market.volatility);
    const markPerLot = perLot(market, markPerUnit);
    const entry: MarkEntry = {
      market,
      markPerUnit,
      markPerLot,
      markTicks: Number(divFloor(markPerLot, series.lotValuePerTick * ONE)),
      standard: standardShortMargin(series.underlying, market, markPerUnit),
    };
    markCache.set(series.seriesId, entry);
    return entry;
  }

  function scenarioOf(series: Series, mark: MarkEntry): { pnl: Fixed[]; contingency: Fixed } {
    if (mark.scenarioPnl === undefined || mark.contingency === undefined) {
      mark.scenarioPnl = scenarioPnlPerLot(series.underlying, mark.market, mark.markPerUnit);
      mark.contingency = contingencyPerShortLot(series.underlying, mark.market);
    }
    return { pnl: mark.scenarioPnl, contingency: mark.contingency };
  }

  interface ExtraOrder {
    series: Series;
    side: Side;
    lots: number;
    priceTicks: number;
  }

  /**
   * A hypothetical change to an account, for what-if margin (src/execution/risk.ts): a fill of
   * `lotsDelta` lots in `series` (negative: sold) that moves the balance by `balanceDelta` (premium
   * and fee bound), and, for a maker fill, the resting order `orderId` shrinking by `orderLots`.
   */
  interface Change {
    series: Series;
    lotsDelta: number;
    balanceDelta: bigint;
    orderId?: number;
    orderLots?: number;
  }

  interface Assessment {
    equity: bigint;
    /** Initial margin of positions plus what open orders (and `extra`) reserve. */
    initial: bigint;
    maintenance: bigint;
  }

  /**
   * Equity and requirements of an account, or undefined when a series it is exposed to has no
   * mark. Open orders reserve margin as Deribit's do: a buy its premium, a sell that would open
   * a short the initial margin of that short (standard formula, also for portfolio accounts).
   * With `change`, the account as it would be after that fill (what-if margin). Portfolio accounts
   * are stressed per underlying, each on its own grid, and the requirements added: a sum, so the
   * order in which positions were opened (the map's order) cannot change it.
   */
  function assess(account: Account, extra?: ExtraOrder, change?: Change): Assessment | undefined {
    let equityFixed = 0n;
    let standardInitial = 0n;
    let standardMaintenance = 0n;
    let orderReserveFixed = 0n;
    let orderReserve = 0n;
    const portfolio = new Map<UnderlyingConfig, PortfolioPosition[]>();
    const orderTotals = new Map<Series, { buyPremium: bigint; sellLots: number }>();
    const addOrder = (series: Series, side: Side, lots: number, priceTicks: number) => {
      let totals = orderTotals.get(series);
      if (totals === undefined) {
        totals = { buyPremium: 0n, sellLots: 0 };
        orderTotals.set(series, totals);
      }
      if (side === BUY) totals.buyPremium += BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
      else totals.sellLots += lots;
    };
    for (const order of account.openOrders.values()) {
      const series = orderSeries.get(order.orderId);
      invariant(series !== undefined, 'open order without a series');
      const lots =
        change !== undefined && change.orderId === order.orderId
          ? order.remainingLots - (change.orderLots ?? 0)
          : order.remainingLots;
      if (lots > 0) addOrder(series, order.side, lots, order.priceTicks);
    }
    if (extra !== undefined) addOrder(extra.series, extra.side, extra.lots, extra.priceTicks);
    const positionAfter = (series: Series): number =>
      (account.positions.get(series.seriesId) ?? 0) +
      (change !== undefined && change.series === series ? change.lotsDelta : 0);

    const addPosition = (series: Series, lots: number): boolean => {
      const mark = markOf(series);
      if (mark === undefined) return false;
      equityFixed += BigInt(lots) * mark.markPerLot;
      if (account.marginMode === MARGIN_MODE.portfolio) {
        const scenario = scenarioOf(series, mark);
        let group = portfolio.get(series.underlying);
        if (group === undefined) {
          group = [];
          portfolio.set(series.underlying, group);
        }
        group.push({ lots, scenarioPnl: scenario.pnl, contingencyPerShortLot: scenario.contingency });
      } else if (lots < 0) {
        standardInitial += BigInt(-lots) * mark.standard.initial;
        standardMaintenance += BigInt(-lots) * mark.standard.maintenance;
      }
      return true;
    };
    for (const seriesId of account.positions.keys()) {
      const series = seriesById.get(seriesId);
      invariant(series !== undefined, 'position in an unknown series');
      const lots = positionAfter(series);
      if (lots !== 0 && !addPosition(series, lots)) return undefined;
    }
    if (change !== undefined && change.lotsDelta !== 0 && !account.positions.has(change.series.seriesId)) {
      if (!addPosition(change.series, change.lotsDelta)) return undefined;
    }
    for (const [series, totals] of orderTotals) {
      orderReserve += totals.buyPremium;
      const opening = totals.sellLots - Math.max(positionAfter(series), 0);
      if (opening > 0) {
        const mark = markOf(series);
        if (mark === undefined) return undefined;
        orderReserveFixed += BigInt(opening) * mark.standard.initial;
      }
    }
    const equity = account.balance + (change?.balanceDelta ?? 0n) + divFloor(equityFixed, ONE);
    let initial = 0n;
    let maintenance = 0n;
    if (account.marginMode === MARGIN_MODE.portfolio) {
      // Each underlying on its own grid (spot moves, multiplier, contingency), requirements added:
      // no diversification is credited between underlyings (the conservative choice).
      for (const [underlying, positions] of portfolio) {
        const requirement = portfolioRequirement(underlying, positions);
        initial += requirement.initial;
        maintenance += requirement.maintenance;
      }
    } else {
      initial = divCeil(standardInitial, ONE);
      maintenance = divCeil(standardMaintenance, ONE);
    }
    return { equity, initial: initial + orderReserve + divCeil(orderReserveFixed, ONE), maintenance };
  }

  /**
   * The what-if margin rule (src/execution/risk.ts): `change` is the order fully filled (fee bound
   * in its balance move), `resting` the order fully resting when it can rest.
   */
  function whatIfRefusal(
    account: Account,
    change: Change,
    resting: ExtraOrder | undefined,
    feeBound: bigint,
  ): 'NO_MARK_PRICE' | 'INSUFFICIENT_MARGIN' | undefined {
    const filled = assess(account, undefined, change);
    if (filled === undefined) return 'NO_MARK_PRICE';
    let covers = coversInitial(filled, 0n);
    if (covers && resting !== undefined) {
      const rested = assess(account, resting);
      if (rested === undefined) return 'NO_MARK_PRICE';
      covers = coversInitial(rested, feeBound);
    }
    if (covers) return undefined;
    const before = assess(account);
    if (before === undefined) return 'NO_MARK_PRICE';
    return deRisks(before, filled) ? undefined : 'INSUFFICIENT_MARGIN';
  }

  // ---- Trading ------------------------------------------------------------------------------

  /**
   * Sets the account's position in the series to `lots`, having paid `paid` for the change (the
   * premium, fees excluded; negative: received). The entry cost grows by what a growing position
   * paid, shrinks pro rata (toward zero) as the position is reduced, and on a flip keeps the share
   * of `paid` that opened the new side.
   */
  function setPosition(account: Account, series: Series, lots: number, paid: bigint): void {
    const before = account.positions.get(series.seriesId) ?? 0;
    invariant(Number.isSafeInteger(lots), 'position size is a safe integer');
    const costBefore = account.entryCosts.get(series.seriesId) ?? 0n;
    const delta = lots - before;
    let cost: bigint;
    if (lots === 0) cost = 0n;
    else if (before === 0 || before < 0 === delta < 0) cost = costBefore + paid;
    else if (before < 0 === lots < 0) cost = (costBefore * BigInt(lots)) / BigInt(before);
    else cost = (paid * BigInt(lots)) / BigInt(delta);
    if (lots === 0) account.entryCosts.delete(series.seriesId);
    else account.entryCosts.set(series.seriesId, cost);
    if (lots === 0) {
      account.positions.delete(series.seriesId);
      series.holders.delete(account.index);
      if (account.positions.size === 0) accountsWithPositions.delete(account.index);
    } else {
      invariant(
        account.positions.size < MAX_POSITIONS_PER_ACCOUNT || account.positions.has(series.seriesId),
        'too many positions',
      );
      account.positions.set(series.seriesId, lots);
      series.holders.add(account.index);
      accountsWithPositions.add(account.index);
    }
    series.openInterestLots += Math.max(lots, 0) - Math.max(before, 0);
    dirtyAccounts.add(account);
    dirtySeries.add(series);
  }

  /** Fee of one side of a fill: a rate of the underlying's notional, capped at a rate of the premium; rounded up. */
  function fillFee(series: Series, feeBps: number, lots: number, premium: bigint, spot: bigint): bigint {
    if (feeBps === 0) return 0n;
    const notionalFee = divCeil(BigInt(feeBps) * spot * BigInt(lots) * series.lotUnderlyingE12, E12 * BPS);
    const cap = divCeil(BigInt(params.feeCapBps) * premium, BPS);
    return min(notionalFee, cap);
  }

  function bookFill(
    series: Series,
    taker: Account,
    takerSide: Side,
    takerOrderId: number,
    maker: RestingOrder,
    lots: number,
    priceTicks: number,
    chargeTakerFee: boolean,
  ): void {
    const makerAccount = accountsByIndex[maker.owner];
    invariant(makerAccount !== undefined, 'maker account missing');
    const spot = liveIndex(series.underlying.underlyingId) ?? 0n;
    const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
    const makerFee = fillFee(series, params.makerFeeBps, lots, premium, spot);
    const takerFee = chargeTakerFee ? fillFee(series, params.takerFeeBps, lots, premium, spot) : 0n;
    const buyer = takerSide === BUY ? taker : makerAccount;
    const seller = takerSide === BUY ? makerAccount : taker;
    buyer.balance -= premium;
    seller.balance += premium;
    makerAccount.balance -= makerFee;
    taker.balance -= takerFee;
    feePool += makerFee + takerFee;
    setPosition(buyer, series, (buyer.positions.get(series.seriesId) ?? 0) + lots, premium);
    setPosition(seller, series, (seller.positions.get(series.seriesId) ?? 0) - lots, -premium);
    if (maker.remainingLots === 0) makerAccount.openOrders.delete(maker.orderId);
    dirtyOrders.set(maker.orderId, maker.remainingLots === 0 ? null : maker);
    dirtyAccounts.add(makerAccount);
    events.push({
      type: 'fill',
      seriesId: series.seriesId,
      makerOrderId: maker.orderId,
      takerOrderId,
      maker: makerAccount.key,
      taker: taker.key,
      takerSide: takerSide === BUY ? 'buy' : 'sell',
      priceTicks,
      lots,
      makerFee,
      takerFee,
    });
  }

  function removeOrder(order: RestingOrder, reason: CancelReason): void {
    const series = orderSeries.get(order.orderId);
    invariant(series !== undefined, 'resting order without a series');
    const owner = accountsByIndex[order.owner];
    invariant(owner !== undefined, 'resting order without an owner');
    if (order.level !== null) series.book.cancel(order.orderId);
    owner.openOrders.delete(order.orderId);
    orderSeries.delete(order.orderId);
    dirtyOrders.set(order.orderId, null);
    dirtyAccounts.add(owner);
    events.push({
      type: 'cancel',
      orderId: order.orderId,
      account: owner.key,
      seriesId: series.seriesId,
      lots: order.remainingLots,
      reason,
    });
  }

  function matchCallbacks(
    series: Series,
    taker: Account,
    side: Side,
    takerOrderId: number,
    chargeTakerFee: boolean,
  ): MatchCallbacks<CancelReason> {
    const mark = markOf(series);
    const band = mark === undefined ? undefined : priceBandOf(mark);
    return {
      onFill: (maker, lots, priceTicks) => {
        bookFill(series, taker, side, takerOrderId, maker, lots, priceTicks, chargeTakerFee);
        if (maker.remainingLots === 0) orderSeries.delete(maker.orderId);
      },
      onSelfTradeCancel: (maker) => removeOrder(maker, 'selfTrade'),
      reduceOnlyCapacity,
      onReduceOnlyCancel: (maker) => removeOrder(maker, 'reduceOnly'),
      admit: (maker, lots, priceTicks) => makerRefusal(series, band, maker, lots, priceTicks),
      onAdmitCancel: (maker, reason) => removeOrder(maker, reason),
    };
  }

  function priceBandOf(mark: MarkEntry): PriceBand {
    return priceBand(mark.markTicks, params.priceBandBps, params.priceBandMinTicks);
  }

  /**
   * Why a resting order met by a taker must leave the book instead of filling `lots` at its price,
   * if it must (src/execution/risk.ts): its price is outside the band of the current mark; the fill
   * would open a position beyond the owner's cap; or the owner's account after the fill fails the
   * what-if margin rule. Asked before every maker fill: the owner's position and the marks may
   * have changed since the order rested (a reducing sell may now open a short).
   */
  function makerRefusal(
    series: Series,
    band: PriceBand | undefined,
    maker: RestingOrder,
    lots: number,
    priceTicks: number,
  ): CancelReason | undefined {
    if (band === undefined || !inBand(priceTicks, band)) return 'outOfBand';
    const owner = accountsByIndex[maker.owner];
    invariant(owner !== undefined, 'resting order without an owner');
    if (!owner.positions.has(series.seriesId) && owner.positions.size >= params.maxPositionsPerAccount)
      return 'tooManyPositions';
    const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
    const feeBound = divCeil(BigInt(params.feeCapBps) * premium, BPS);
    const change: Change = {
      series,
      lotsDelta: maker.side === BUY ? lots : -lots,
      balanceDelta: (maker.side === BUY ? -premium : premium) - feeBound,
      orderId: maker.orderId,
      orderLots: lots,
    };
    return whatIfRefusal(owner, change, undefined, feeBound) === undefined ? undefined : 'insufficientMargin';
  }

  /**
   * Lots a resting reduce-only order may still fill: what is left of its owner's position on the
   * other side. The position may have shrunk since the order rested (other fills, liquidation), so
   * this is asked at every fill, never only at placement.
   */
  function reduceOnlyCapacity(maker: RestingOrder): number {
    const series = orderSeries.get(maker.orderId);
    const owner = accountsByIndex[maker.owner];
    invariant(series !== undefined && owner !== undefined, 'reduce-only order without series or owner');
    const position = owner.positions.get(series.seriesId) ?? 0;
    return maker.side === SELL ? Math.max(position, 0) : Math.max(-position, 0);
  }

  type Outcome = {
    status: 'OK' | OutcomeStatus;
    orderId?: number;
    filledLots?: number;
    restingLots?: number;
  };
  type Handled = Outcome | { status: RejectionStatus; field?: string };

  function bandTicks(mark: MarkEntry, side: Side, bandBps: number): number {
    const band = (BigInt(mark.markTicks) * BigInt(bandBps)) / BPS;
    if (side === BUY) return Math.max(mark.markTicks + Number(band), 1);
    return Math.max(mark.markTicks - Number(band), 1);
  }

  function placeOrder(signer: Uint8Array, order: PlaceOrder): Handled {
    const series = seriesById.get(order.seriesId);
    if (series === undefined) return { status: 'UNKNOWN_SERIES' };
    if (series.status !== SERIES_STATUS.active || timeMs >= series.expiryMs)
      return { status: 'SERIES_NOT_TRADING' };
    if (!Number.isSafeInteger(order.sizeE6) || order.sizeE6 <= 0) return { status: 'INVALID_SIZE' };
    if (order.sizeE6 % series.lotSizeE6 !== 0) return { status: 'SIZE_OFF_LOT' };
    let lots = order.sizeE6 / series.lotSizeE6;
    if (lots > MAX_LOTS_PER_ORDER) return { status: 'INVALID_SIZE' };
    const isMarket = order.kind === ORDER_KIND.market;
    const tif = order.timeInForce;
    let priceTicks = 0;
    if (isMarket) {
      if (order.price !== 0 || tif === TIME_IN_FORCE.gtc || order.postOnly)
        return { status: 'INVALID_ORDER' };
    } else {
      if (!Number.isSafeInteger(order.price) || order.price <= 0) return { status: 'INVALID_PRICE' };
      if (order.price % series.tickSize !== 0) return { status: 'PRICE_OFF_TICK' };
      priceTicks = order.price / series.tickSize;
      if (order.postOnly && tif !== TIME_IN_FORCE.gtc) return { status: 'INVALID_ORDER' };
    }

    // From here on the transaction is valid: outcomes consume the nonce.
    const account = accountFor(signer);
    if (order.clientOrderId !== 0) {
      const previous = account.clientOrderIds.find((entry) => entry.clientOrderId === order.clientOrderId);
      if (previous !== undefined) return { status: 'DUPLICATE_CLIENT_ORDER_ID', orderId: previous.orderId };
    }
    const mark = markOf(series);
    if (mark === undefined) return { status: 'NO_MARK_PRICE' };
    const band = priceBandOf(mark);
    if (!isMarket && !inBand(priceTicks, band)) return { status: 'PRICE_OUT_OF_BAND' };
    const side: Side = order.side === 0 ? BUY : SELL;
    const position = account.positions.get(series.seriesId) ?? 0;
    if (order.reduceOnly) {
      if (position === 0 || (side === BUY) === position > 0) return { status: 'REDUCE_ONLY_WOULD_INCREASE' };
      lots = Math.min(lots, Math.abs(position));
    }
    if (tif === TIME_IN_FORCE.gtc && account.openOrders.size >= params.maxOpenOrdersPerAccount) {
      return { status: 'TOO_MANY_OPEN_ORDERS' };
    }
    if (position === 0 && account.positions.size >= params.maxPositionsPerAccount)
      return { status: 'TOO_MANY_POSITIONS' };
    // A market order trades within the market band, and never outside the price band.
    if (isMarket) priceTicks = clampToBand(side === BUY, bandTicks(mark, side, params.marketBandBps), band);
    if (order.postOnly && series.book.wouldCross(side, priceTicks, account.index))
      return { status: 'POST_ONLY_WOULD_CROSS' };
    if (
      tif === TIME_IN_FORCE.fok &&
      series.book.fillableLots(side, priceTicks, lots, account.index, reduceOnlyCapacity, (maker, l, p) =>
        makerRefusal(series, band, maker, l, p),
      ) < lots
    ) {
      return { status: 'FOK_UNFILLABLE' };
    }
    // What-if margin on every order, reducing ones included (src/execution/risk.ts).
    const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
    const feeBound = divCeil(BigInt(params.feeCapBps) * premium, BPS);
    const refusal = whatIfRefusal(
      account,
      {
        series,
        lotsDelta: side === BUY ? lots : -lots,
        balanceDelta: (side === BUY ? -premium : premium) - feeBound,
      },
      tif === TIME_IN_FORCE.gtc ? { series, side, lots, priceTicks } : undefined,
      feeBound,
    );
    if (refusal !== undefined) return { status: refusal };

    const orderId = nextOrderId++;
    const remaining = series.book.match(
      side,
      priceTicks,
      lots,
      account.index,
      matchCallbacks(series, account, side, orderId, true),
    );
    let restingLots = 0;
    if (remaining > 0) {
      if (tif === TIME_IN_FORCE.gtc) {
        const resting = series.book.add({
          orderId,
          owner: account.index,
          side,
          priceTicks,
          remainingLots: remaining,
          clientOrderId: order.clientOrderId,
          reduceOnly: order.reduceOnly,
        });
        account.openOrders.set(orderId, resting);
        orderSeries.set(orderId, series);
        dirtyOrders.set(orderId, resting);
        restingLots = remaining;
        events.push({
          type: 'orderRested',
          orderId,
          account: account.key,
          seriesId: series.seriesId,
          side: side === BUY ? 'buy' : 'sell',
          priceTicks,
          lots: remaining,
        });
      } else {
        events.push({
          type: 'cancel',
          orderId,
          account: account.key,
          seriesId: series.seriesId,
          lots: remaining,
          reason: 'unfilledRemainder',
        });
      }
    }
    if (order.clientOrderId !== 0) {
      account.clientOrderIds.push({ clientOrderId: order.clientOrderId, orderId });
      if (account.clientOrderIds.length > CLIENT_ORDER_IDS_MAX) account.clientOrderIds.shift();
    }
    dirtyAccounts.add(account);
    return { status: 'OK', orderId, filledLots: lots - remaining, restingLots };
  }

  function cancelOrder(signer: Uint8Array, action: CancelOrder): Handled {
    const account = accounts.get(hexKey(signer));
    const order = account?.openOrders.get(action.orderId);
    if (account === undefined || order === undefined) return { status: 'UNKNOWN_ORDER' };
    removeOrder(order, 'user');
    return { status: 'OK', orderId: order.orderId };
  }

  function cancelAll(signer: Uint8Array, action: CancelAll): Handled {
    if (action.seriesId !== 0 && !seriesById.has(action.seriesId)) return { status: 'UNKNOWN_SERIES' };
    const account = accountFor(signer);
    const orders = [...account.openOrders.values()]
      .filter(
        (order) => action.seriesId === 0 || orderSeries.get(order.orderId)?.seriesId === action.seriesId,
      )
      .sort((a, b) => a.orderId - b.orderId);
    for (const order of orders) removeOrder(order, 'user');
    return { status: 'OK' };
  }

  function deposit(signer: Uint8Array, action: Deposit): Handled {
    if (!bytesEqual(signer, operator)) return { status: 'UNAUTHORIZED' };
    if (action.amount <= 0) return { status: 'INVALID_AMOUNT' };
    let account = accounts.get(hexKey(action.account));
    if (account === undefined) {
      // Accounts cost something: only a deposit of at least the minimum creates one, within the cap.
      if (BigInt(action.amount) < BigInt(params.minDepositForAccount))
        return { status: 'DEPOSIT_BELOW_MINIMUM' };
      if (countedAccounts() >= params.maxAccounts) return { status: 'TOO_MANY_ACCOUNTS' };
      account = createAccount(action.account);
    }
    account.balance += BigInt(action.amount);
    totalDeposits += BigInt(action.amount);
    dirtyAccounts.add(account);
    events.push({ type: 'deposit', account: account.key, amount: BigInt(action.amount) });
    return { status: 'OK' };
  }

  function withdraw(signer: Uint8Array, action: Withdraw): Handled {
    if (action.amount <= 0) return { status: 'INVALID_AMOUNT' };
    const account = accountFor(signer);
    const amount = BigInt(action.amount);
    if (amount > account.balance) return { status: 'INSUFFICIENT_BALANCE' };
    const assessment = assess(account);
    if (assessment === undefined) return { status: 'NO_MARK_PRICE' };
    if (assessment.equity - amount < assessment.initial) return { status: 'INSUFFICIENT_MARGIN' };
    account.balance -= amount;
    totalWithdrawals += amount;
    dirtyAccounts.add(account);
    events.push({ type: 'withdrawal', account: account.key, amount });
    return { status: 'OK' };
  }

  function governanceList(signer: Uint8Array, action: ListSeries): Handled {
    if (!bytesEqual(signer, governance)) return { status: 'UNAUTHORIZED' };
    const config: SeriesConfig = { ...action };
    if (seriesProblem(config, underlyings.get(config.underlyingId), timeMs) !== undefined)
      return { status: 'INVALID_SERIES' };
    if (seriesById.size >= params.maxSeries) return { status: 'TOO_MANY_SERIES' };
    listSeries(config);
    return { status: 'OK' };
  }

  function setMarkVol(signer: Uint8Array, action: SetMarkVol): Handled {
    if (!bytesEqual(signer, governance)) return { status: 'UNAUTHORIZED' };
    const series = seriesById.get(action.seriesId);
    if (series === undefined) return { status: 'UNKNOWN_SERIES' };
    const { minVolBps, maxVolBps } = series.underlying;
    const requested = Math.min(Math.max(action.volBps, minVolBps), maxVolBps);
    // At most `maxVolChangeBpsPerHour` per hour of block time since the last change (src/execution/risk.ts).
    series.markVolBps = boundedVolChange(
      series.markVolBps,
      requested,
      series.markVolSetMs,
      timeMs,
      params.maxVolChangeBpsPerHour,
    );
    // 0 means "never set"; a block at time 0 still starts the clock.
    series.markVolSetMs = Math.max(timeMs, 1);
    markCache.delete(series.seriesId);
    dirtySeries.add(series);
    events.push({
      type: 'markVolSet',
      seriesId: series.seriesId,
      volBps: series.markVolBps,
      requestedVolBps: action.volBps,
    });
    return { status: 'OK' };
  }

  function setMarginMode(signer: Uint8Array, action: SetMarginMode): Handled {
    const account = accountFor(signer);
    const mode = action.mode === MARGIN_MODE.portfolio ? MARGIN_MODE.portfolio : MARGIN_MODE.standard;
    const previous = account.marginMode;
    account.marginMode = mode;
    const assessment = assess(account);
    if (assessment === undefined || assessment.equity < assessment.initial) {
      account.marginMode = previous;
      return { status: assessment === undefined ? 'NO_MARK_PRICE' : 'INSUFFICIENT_MARGIN' };
    }
    dirtyAccounts.add(account);
    events.push({
      type: 'marginModeSet',
      account: account.key,
      mode: mode === MARGIN_MODE.portfolio ? 'portfolio' : 'standard',
    });
    return { status: 'OK' };
  }

  function applyTransaction(tx: SignedTransaction): TransactionResult {
    if (tx.body.payload.length > MAX_TRANSACTION_PAYLOAD_BYTES) return { status: 'OVERSIZE' };
    const check = checkTransaction(tx, { chainId, height }, verifySignature);
    if (check !== 'ok') return { status: check };
    const signer = tx.body.signer;
    const existing = accounts.get(hexKey(signer));
    if (tx.body.nonce !== (existing?.nonce ?? 0)) return { status: 'BAD_NONCE' };
    // A key without an account can do nothing but be deposited to: it creates no state at all.
    if (existing === undefined && !isGenesisKey(signer)) return { status: 'UNKNOWN_ACCOUNT' };
    let action: ReturnType<typeof decodeAction>;
    try {
      action = decodeAction(tx.body.payload);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      // A size or price that does not fit a safe integer (a "negative" u64 among them) is an
      // out-of-range size or price, not a malformed message: it gets the status a trader expects.
      if (error.code === 'INVALID_VALUE' && error.field.endsWith('.sizeE6'))
        return { status: 'INVALID_SIZE' };
      if (error.code === 'INVALID_VALUE' && error.field.endsWith('.price'))
        return { status: 'INVALID_PRICE' };
      return { status: 'MALFORMED_PAYLOAD', field: error.field };
    }
    let handled: Handled;
    switch (action.kind) {
      case 'deposit':
        handled = deposit(signer, action.value);
        break;
      case 'withdraw':
        handled = withdraw(signer, action.value);
        break;
      case 'placeOrder':
        handled = placeOrder(signer, action.value);
        break;
      case 'cancelOrder':
        handled = cancelOrder(signer, action.value);
        break;
      case 'cancelAll':
        handled = cancelAll(signer, action.value);
        break;
      case 'listSeries':
        handled = governanceList(signer, action.value);
        break;
      case 'setMarkVol':
        handled = setMarkVol(signer, action.value);
        break;
      case 'setMarginMode':
        handled = setMarginMode(signer, action.value);
        break;
    }
    if (isRejection(handled.status)) return handled;
    // Accepted (done, or a business outcome): the nonce advances.
    const account = accountFor(signer);
    account.nonce += 1;
    dirtyAccounts.add(account);
    return handled;
  }

  // ---- Oracle, expiry and settlement ---------------------------------------------------------

  /**
   * Takes each underlying's update (the last one of the block for it): a valid price passes the
   * oracle guards (src/execution/oracle-guard.ts) before it becomes the index, and the sample is
   * kept by time, at most one per second (src/execution/settlement.ts).
   */
  function ingestOracle(updates: readonly OracleUpdate[]): void {
    const byUnderlying = new Map<number, OracleUpdate>();
    for (const update of updates)
      if (underlyings.has(update.underlyingId)) byUnderlying.set(update.underlyingId, update);
    for (const underlyingId of [...byUnderlying.keys()].sort((a, b) => a - b)) {
      const update = byUnderlying.get(underlyingId)!;
      const underlying = underlyings.get(underlyingId)!;
      const valid =
        !update.stale &&
        Number.isSafeInteger(update.price) &&
        update.price > 0 &&
        Number.isSafeInteger(update.confidence) &&
        update.confidence >= 0 &&
        BigInt(update.confidence) * BPS <= BigInt(update.price) * BigInt(underlying.maxConfidenceBps);
      const accept =
        valid &&
        guardOracle(
          underlyingId,
          BigInt(update.price),
          Number.isSafeInteger(update.flags) ? update.flags! : 0,
        );
      let list = samples.get(underlyingId);
      if (list === undefined) {
        list = [];
        samples.set(underlyingId, list);
      }
      const price = accept ? BigInt(update.price) : 0n;
      const sample = { timeMs, price, valid: accept };
      const placement = placeSample(list, sample);
      if (placement === 'append') list.push(sample);
      else if (placement === 'replaceLast') list[list.length - 1] = sample;
      if (placement !== 'drop') {
        sampleWrites.push({
          underlyingId,
          sequence: (sampleBase.get(underlyingId) ?? 0) + list.length - 1,
          sample,
        });
        dirtyOracle.add(underlyingId);
      }
      if (accept) {
        indexPrices.set(underlyingId, { price, blockTimeMs: timeMs, publishTimeMs: update.publishTimeMs });
        dirtyIndexes.add(underlyingId);
        dirtyOracle.add(underlyingId);
      }
    }
  }

  /** Applies the guard to a valid price of `underlyingId`; true when it may become the index. */
  function guardOracle(underlyingId: number, price: bigint, flags: number): boolean {
    const untilBefore = guardUntil.get(underlyingId) ?? 0;
    const decision = guardPrice(
      flags,
      price,
      untilBefore,
      timeMs,
      params.oracleGuardPauseMs,
      indexPrices.get(underlyingId),
    );
    if (decision.untilMs !== untilBefore) {
      if (decision.untilMs === 0) guardUntil.delete(underlyingId);
      else guardUntil.set(underlyingId, decision.untilMs);
      dirtyOracle.add(underlyingId);
    }
    if (decision.event?.type === 'pause')
      events.push({ type: 'oracleGuardPause', underlyingId, flags, untilMs: decision.event.untilMs });
    else if (decision.event?.type === 'resume')
      events.push({ type: 'oracleGuardResume', underlyingId, reason: decision.event.reason });
    return decision.accept;
  }

  function pruneSamples(): void {
    // Every series' TWAP, extension included, starts at or after the oldest expiry still waiting
    // (or now, for series that have not expired) minus window, extension and hold.
    let oldestNeededMs = oldestSampleNeededMs(timeMs, params);
    for (const series of seriesById.values()) {
      if (series.status === SERIES_STATUS.expired)
        oldestNeededMs = Math.min(oldestNeededMs, oldestSampleNeededMs(series.expiryMs, params));
    }
    for (const [underlyingId, list] of samples) {
      let drop = 0;
      while (drop < list.length - 1 && list[drop]!.timeMs < oldestNeededMs) drop++;
      if (list.length - drop > MAX_SAMPLES_PER_UNDERLYING) drop = list.length - MAX_SAMPLES_PER_UNDERLYING;
      if (drop === 0) continue;
      const base = sampleBase.get(underlyingId) ?? 0;
      for (let i = 0; i < drop; i++) sampleWrites.push({ underlyingId, sequence: base + i, sample: null });
      sampleBase.set(underlyingId, base + drop);
      dirtyOracle.add(underlyingId);
      list.splice(0, drop);
    }
  }

  /**
   * Expired series stop trading and settle by the rules of src/execution/settlement.ts: the
   * window's TWAP, else the extended window's, else (after the fallback delay) the last valid
   * index price. Settlement is zero-sum per lot; a short left negative is a loss (losses step).
   */
  function processExpiries(): void {
    const due = [...seriesById.values()]
      .filter((series) => series.status !== SERIES_STATUS.settled && series.expiryMs <= timeMs)
      .sort((a, b) => a.seriesId - b.seriesId);
    for (const series of due) {
      if (series.status === SERIES_STATUS.active) {
        for (const order of series.book.orders().sort((a, b) => a.orderId - b.orderId))
          removeOrder(order, 'expiry');
        series.status = SERIES_STATUS.expired;
        dirtySeries.add(series);
        events.push({ type: 'expired', seriesId: series.seriesId });
      }
      const underlyingId = series.underlying.underlyingId;
      const twap = settlementPrice(
        samples.get(underlyingId) ?? [],
        series.expiryMs,
        timeMs,
        params,
        indexPrices.get(underlyingId)?.price,
        series.openInterestLots,
      );
      if (twap === undefined) {
        events.push({ type: 'settlementWaiting', seriesId: series.seriesId, reason: 'NO_VALID_PRICE' });
        continue;
      }
      if (twap.rule !== 'window')
        events.push({ type: 'settlementFallback', seriesId: series.seriesId, rule: twap.rule });
      const intrinsic = series.isCall ? twap.price - series.strike : series.strike - twap.price;
      // Floor per lot: longs receive and shorts pay the same whole amount, so settlement is zero-sum.
      const payoffPerLot = intrinsic > 0n ? (intrinsic * series.lotUnderlyingE12) / E12 : 0n;
      events.push({
        type: 'settlement',
        seriesId: series.seriesId,
        settlementPrice: twap.price,
        coveredMs: twap.coveredMs,
        payoffPerLot,
      });
      for (const index of [...series.holders].sort((a, b) => a - b)) {
        const account = accountsByIndex[index]!;
        const lots = account.positions.get(series.seriesId) ?? 0;
        const cash = BigInt(lots) * payoffPerLot;
        account.balance += cash;
        setPosition(account, series, 0, 0n);
        events.push({ type: 'positionSettled', seriesId: series.seriesId, account: account.key, lots, cash });
      }
      invariant(series.openInterestLots === 0, 'settled series keeps open interest');
      series.status = SERIES_STATUS.settled;
      series.settlementPrice = twap.price;
      markCache.delete(series.seriesId);
      dirtySeries.add(series);
    }
  }

  // ---- Liquidation and losses (rules: src/execution/liquidation.ts) ------------------------------

  /** Margin as liquidation sees it: the backstop account counts the insurance fund as equity. */
  function liquidationHealth(account: Account): Assessment | undefined {
    const state = assess(account);
    if (state === undefined || account.key !== BACKSTOP_KEY) return state;
    return { ...state, equity: state.equity + insuranceFund };
  }

  /** Whether a position of the account is on an underlying whose oracle guard pauses liquidation. */
  function guardPausesAccount(account: Account): boolean {
    for (const seriesId of account.positions.keys()) {
      const underlyingId = seriesById.get(seriesId)!.underlying.underlyingId;
      if (guardPaused(guardUntil.get(underlyingId) ?? 0, timeMs)) return true;
    }
    return false;
  }

  function liquidate(): void {
    let stepsLeft = params.maxLiquidationStepsPerBlock;
    for (const index of [...accountsWithPositions].sort((a, b) => a - b)) {
      if (stepsLeft <= 0) return;
      const account = accountsByIndex[index]!;
      if (guardPausesAccount(account)) continue;
      let state = liquidationHealth(account);
      if (state === undefined || state.equity >= state.maintenance) continue;
      for (const order of [...account.openOrders.values()].sort((a, b) => a.orderId - b.orderId))
        removeOrder(order, 'liquidation');
      for (const candidate of closurePlan(account)) {
        const series = seriesById.get(candidate.seriesId)!;
        while (stepsLeft > 0 && state !== undefined && state.equity < state.maintenance) {
          stepsLeft -= 1;
          if (closeStep(account, series, state) === 0) break;
          state = liquidationHealth(account);
        }
      }
      if (state !== undefined && state.equity < state.maintenance && account.positions.size > 0) {
        events.push({
          type: 'liquidationStalled',
          account: account.key,
          equity: state.equity,
          maintenance: state.maintenance,
        });
      }
    }
  }

  /** The account's tradable positions in the order liquidation closes them (liquidation.ts). */
  function closurePlan(account: Account): ClosureCandidate[] {
    const portfolio = account.marginMode === MARGIN_MODE.portfolio;
    const inputs: RequirementInput[] = [];
    const values: Fixed[] = [];
    const closable: boolean[] = [];
    for (const [seriesId, lots] of [...account.positions].sort((a, b) => a[0] - b[0])) {
      const series = seriesById.get(seriesId)!;
      const mark = markOf(series);
      if (mark === undefined) continue;
      const stepLots = Math.min(Math.abs(lots), params.liquidationStepLots);
      const input: RequirementInput = {
        seriesId,
        underlyingId: series.underlying.underlyingId,
        lots,
        stepLots,
        standardMaintenance: mark.standard.maintenance,
      };
      if (portfolio) {
        const scenario = scenarioOf(series, mark);
        input.scenarioPnl = scenario.pnl;
        input.contingency = scenario.contingency;
      }
      inputs.push(input);
      values.push(BigInt(stepLots) * (mark.markPerLot < 0n ? -mark.markPerLot : mark.markPerLot));
      closable.push(series.status === SERIES_STATUS.active);
    }
    const reductions = stepReductions(portfolio, inputs);
    return closureOrder(
      inputs
        .map((input, i) => ({
          seriesId: input.seriesId,
          lots: input.lots,
          stepLots: input.stepLots,
          reduction: reductions[i]!,
          value: values[i]!,
        }))
        .filter((_, i) => closable[i]),
    );
  }

  /**
   * One liquidation step on one position: the fund covers a bankrupt account's deficit as far as
   * it can; then the book or the backstop while the equity is not negative, else ADL. Returns the
   * lots closed (0: nothing could be done).
   */
  function closeStep(account: Account, series: Series, state: Assessment): number {
    const position = account.positions.get(series.seriesId) ?? 0;
    const mark = markOf(series);
    if (position === 0 || mark === undefined || series.status !== SERIES_STATUS.active) return 0;
    const isBackstop = account.key === BACKSTOP_KEY;
    const buying = position < 0;
    const side: Side = buying ? BUY : SELL;
    const lots = Math.min(Math.abs(position), params.liquidationStepLots);
    let equity = state.equity;
    if (equity < 0n && !isBackstop) {
      const cover = min(-equity, insuranceFund);
      if (cover > 0n) {
        insuranceFund -= cover;
        account.balance += cover;
        equity += cover;
        dirtyAccounts.add(account);
        events.push({ type: 'insuranceCover', account: account.key, amount: cover });
      }
    }
    if (equity >= 0n) {
      const bankruptcy = bankruptcyLimitTicks(
        buying,
        lots,
        equity,
        mark.markPerLot,
        series.lotValuePerTick,
        ONE,
      );
      const bound = (ticks: number) => (buying ? Math.min(ticks, bankruptcy) : Math.max(ticks, bankruptcy));
      const limit = bound(bandTicks(mark, side, params.liquidationBandBps));
      const filled = bookStep(account, series, side, lots, limit, state);
      if (filled > 0) return filled;
      if (!isBackstop) {
        // The fund takes as much of the step as it can carry (halving: at most log2(step) + 1 tries).
        const price = bound(bandTicks(mark, side, params.backstopBandBps));
        for (let k = lots; k >= 1; k = Math.floor(k / 2))
          if (backstopStep(account, series, buying, k, price)) return k;
      }
    }
    return deleverageStep(account, series, mark, lots, equity);
  }

  /** Closes up to `lots` in the book at `limit` or better; the penalty is capped by the value closed. */
  function bookStep(
    account: Account,
    series: Series,
    side: Side,
    lots: number,
    limit: number,
    state: Assessment,
  ): number {
    const balanceBefore = account.balance;
    const remaining = series.book.match(
      side,
      limit,
      lots,
      account.index,
      matchCallbacks(series, account, side, 0, false),
    );
    const filled = lots - remaining;
    if (filled === 0) return 0;
    // No taker fee and no own orders (cancelled): the balance moved by exactly the premium.
    const valueClosed =
      balanceBefore > account.balance ? balanceBefore - account.balance : account.balance - balanceBefore;
    const spot = liveIndex(series.underlying.underlyingId) ?? 0n;
    const notionalPenalty = divCeil(
      BigInt(params.liquidationPenaltyBps) * spot * BigInt(filled) * series.lotUnderlyingE12,
      E12 * BPS,
    );
    const afterFill = assess(account);
    // The backstop's penalty would only move the fund's own money from one pocket to the other.
    const penalty =
      account.key === BACKSTOP_KEY
        ? 0n
        : cappedPenalty(notionalPenalty, valueClosed, afterFill?.equity ?? 0n);
    account.balance -= penalty;
    insuranceFund += penalty;
    dirtyAccounts.add(account);
    events.push({
      type: 'liquidationStep',
      account: account.key,
      seriesId: series.seriesId,
      lots: filled,
      penalty,
      equityBefore: state.equity,
      maintenanceBefore: state.maintenance,
    });
    return filled;
  }

  /** The backstop account takes `lots` at `priceTicks` if the fund can carry it (backstop.ts). */
  function backstopStep(
    account: Account,
    series: Series,
    buying: boolean,
    lots: number,
    priceTicks: number,
  ): boolean {
    const seriesId = series.seriesId;
    const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
    const existing = accounts.get(BACKSTOP_KEY);
    const fundLotsAfter = (existing?.positions.get(seriesId) ?? 0) + (buying ? -lots : lots);
    const positions = new Map(existing?.positions ?? []);
    if (fundLotsAfter === 0) positions.delete(seriesId);
    else positions.set(seriesId, fundLotsAfter);
    if (positions.size > MAX_POSITIONS_PER_ACCOUNT) return false;
    const probe: Account = {
      index: existing?.index ?? -1,
      key: BACKSTOP_KEY,
      publicKey: BACKSTOP_PUBLIC_KEY,
      nonce: 0,
      balance: (existing?.balance ?? 0n) + (buying ? premium : -premium),
      marginMode: MARGIN_MODE.standard,
      positions,
      entryCosts: new Map(),
      openOrders: new Map(),
      clientOrderIds: [],
    };
    const after = assess(probe);
    if (after === undefined || !backstopCanCarry(after, insuranceFund)) return false;
    const fund = existing ?? createAccount(BACKSTOP_PUBLIC_KEY);
    const cash = buying ? -premium : premium;
    account.balance += cash;
    fund.balance -= cash;
    setPosition(account, series, (account.positions.get(seriesId) ?? 0) + (buying ? lots : -lots), -cash);
    setPosition(fund, series, fundLotsAfter, cash);
    dirtyAccounts.add(account);
    dirtyAccounts.add(fund);
    events.push({ type: 'backstopTaken', account: account.key, seriesId, lots, priceTicks, cash });
    return true;
  }

  /**
   * Auto-deleveraging: closes `lots` against the opposite positions, ranked (liquidation.ts), at
   * the mark less each counterparty's share of the account's deficit.
   */
  function deleverageStep(
    account: Account,
    series: Series,
    mark: MarkEntry,
    lots: number,
    equity: bigint,
  ): number {
    const seriesId = series.seriesId;
    const buying = (account.positions.get(seriesId) ?? 0) < 0;
    const ranked = deleverageOrder(
      [...series.holders]
        .filter((index) => index !== account.index)
        .map((index) => {
          const counterparty = accountsByIndex[index]!;
          const opposite = counterparty.positions.get(seriesId) ?? 0;
          const health = liquidationHealth(counterparty);
          const value = divFloor(BigInt(opposite) * mark.markPerLot, ONE);
          return {
            index,
            lots: buying ? opposite : -opposite,
            profit: value - (counterparty.entryCosts.get(seriesId) ?? 0n),
            equity: health === undefined ? undefined : health.equity,
          };
        })
        .filter((candidate) => candidate.lots > 0),
    );
    let deficit = equity < 0n ? -equity : 0n;
    let accountLots = 0;
    for (const held of account.positions.values()) accountLots += Math.abs(held);
    let left = lots;
    for (const candidate of ranked) {
      if (left === 0) break;
      const counterparty = accountsByIndex[candidate.index]!;
      const k = Math.min(left, candidate.lots);
      const markValue = buying
        ? divCeil(BigInt(k) * mark.markPerLot, ONE)
        : divFloor(BigInt(k) * mark.markPerLot, ONE);
      const share = deficitShare(deficit, k, accountLots, candidate.equity ?? 0n);
      const cash = buying ? share - markValue : markValue + share;
      account.balance += cash;
      counterparty.balance -= cash;
      setPosition(account, series, (account.positions.get(seriesId) ?? 0) + (buying ? k : -k), -cash);
      setPosition(
        counterparty,
        series,
        (counterparty.positions.get(seriesId) ?? 0) + (buying ? -k : k),
        cash,
      );
      dirtyAccounts.add(account);
      dirtyAccounts.add(counterparty);
      socializedLossTotal += share;
      events.push({
        type: 'autoDeleverage',
        account: account.key,
        counterparty: counterparty.key,
        seriesId,
        side: buying ? 'buy' : 'sell',
        lots: k,
        price: (buying ? -cash : cash) / BigInt(k),
        cash,
        lossShare: share,
      });
      deficit -= share;
      accountLots -= k;
      left -= k;
    }
    return lots - left;
  }

  /**
   * Returns a flat backstop account's gains to the insurance fund, then covers the negative balance
   * of every account with no positions left from the fund; what the fund cannot cover is written
   * off and recorded as unrecovered. No other account is charged: the deficits a liquidation can
   * leave were passed to counterparties by ADL at the bankruptcy price, and an account holding no
   * position never pays for another's loss.
   */
  function coverLosses(): void {
    const fund = accounts.get(BACKSTOP_KEY);
    if (fund !== undefined && fund.positions.size === 0 && fund.balance > 0n) {
      events.push({ type: 'backstopReturned', amount: fund.balance });
      insuranceFund += fund.balance;
      fund.balance = 0n;
      dirtyAccounts.add(fund);
    }
    const bankrupt = [...dirtyAccounts]
      .filter((a) => a.balance < 0n && a.positions.size === 0)
      .sort((a, b) => a.index - b.index);
    for (const account of bankrupt) {
      const fromFund = -account.balance < insuranceFund ? -account.balance : insuranceFund;
      if (fromFund > 0n) {
        insuranceFund -= fromFund;
        account.balance += fromFund;
        events.push({ type: 'insuranceCover', account: account.key, amount: fromFund });
      }
      if (account.balance < 0n) {
        // Nobody is left to charge: the deficit is written off and recorded, never silently lost.
        unrecoveredLoss += -account.balance;
        events.push({ type: 'unrecoveredLoss', account: account.key, amount: -account.balance });
        account.balance = 0n;
      }
      dirtyAccounts.add(account);
    }
  }

  // ---- State commitment ----------------------------------------------------------------------

  function accountRecord(account: Account) {
    return {
      publicKey: account.publicKey,
      nonce: account.nonce,
      balance: {
        negative: account.balance < 0n,
        magnitude: account.balance < 0n ? -account.balance : account.balance,
      },
      marginMode: account.marginMode,
      positions: [...account.positions]
        .sort((a, b) => a[0] - b[0])
        .map(([seriesId, lots]) => {
          const cost = account.entryCosts.get(seriesId) ?? 0n;
          return {
            seriesId,
            short: lots < 0,
            lots: Math.abs(lots),
            entryCost: { negative: cost < 0n, magnitude: cost < 0n ? -cost : cost },
          };
        }),
      clientOrderIds: account.clientOrderIds.map((entry) => ({ ...entry })),
    };
  }

  function orderRecord(order: RestingOrder, series: Series) {
    return {
      orderId: order.orderId,
      owner: accountsByIndex[order.owner]!.publicKey,
      seriesId: series.seriesId,
      side: order.side,
      priceTicks: order.priceTicks,
      remainingLots: order.remainingLots,
      clientOrderId: order.clientOrderId,
      reduceOnly: order.reduceOnly,
      sequence: order.sequence,
    };
  }

  function seriesRecord(series: Series) {
    return {
      seriesId: series.seriesId,
      underlyingId: series.underlying.underlyingId,
      isCall: series.isCall,
      strike: Number(series.strike),
      expiryMs: series.expiryMs,
      tickSize: series.tickSize,
      lotSizeE6: series.lotSizeE6,
      multiplierE6: series.multiplierE6,
      markVolBps: series.markVolBps,
      markVolSetMs: series.markVolSetMs,
      status: series.status,
      settlementPrice: Number(series.settlementPrice),
      openInterestLots: series.openInterestLots,
    };
  }

  /**
   * Writes what the block changed. Besides accounts, orders, series, index prices and the ledger,
   * the root covers everything a future block's outcome depends on, so that two validators that
   * agree on the root agree on the future too (and a restored snapshot can be checked against it):
   * each settlement sample (under its underlying and sequence), per underlying the block time its
   * index was last seen valid and which samples are kept, and each account's creation index.
   */
  function commitState(): Uint8Array {
    for (const account of dirtyAccounts)
      commitment.set(accountStateKey(account.publicKey), AccountRecordCodec.encode(accountRecord(account)));
    for (const account of newAccounts)
      commitment.set(
        accountIndexStateKey(account.index),
        AccountIndexRecordCodec.encode({ index: account.index, publicKey: account.publicKey }),
      );
    for (const [orderId, order] of dirtyOrders) {
      const key = orderStateKey(orderId);
      const series = order === null ? undefined : orderSeries.get(orderId);
      if (order === null || order.level === null || series === undefined) {
        commitment.delete(key);
        continue;
      }
      commitment.set(key, OrderRecordCodec.encode(orderRecord(order, series)));
    }
    for (const series of dirtySeries)
      commitment.set(seriesStateKey(series.seriesId), SeriesRecordCodec.encode(seriesRecord(series)));
    for (const underlyingId of dirtyIndexes) {
      const entry = indexPrices.get(underlyingId)!;
      commitment.set(
        indexStateKey(underlyingId),
        IndexRecordCodec.encode({
          underlyingId,
          price: Number(entry.price),
          publishTimeMs: entry.publishTimeMs,
        }),
      );
    }
    for (const write of sampleWrites) {
      const key = sampleStateKey(write.underlyingId, write.sequence);
      if (write.sample === null) commitment.delete(key);
      else
        commitment.set(
          key,
          SampleRecordCodec.encode({
            underlyingId: write.underlyingId,
            sequence: write.sequence,
            timeMs: write.sample.timeMs,
            price: Number(write.sample.price),
            valid: write.sample.valid,
          }),
        );
    }
    for (const underlyingId of dirtyOracle) {
      const first = sampleBase.get(underlyingId) ?? 0;
      commitment.set(
        oracleStateKey(underlyingId),
        OracleStateRecordCodec.encode({
          underlyingId,
          indexBlockTimeMs: indexPrices.get(underlyingId)?.blockTimeMs ?? 0,
          firstSampleSequence: first,
          nextSampleSequence: first + (samples.get(underlyingId)?.length ?? 0),
          guardUntilMs: guardUntil.get(underlyingId) ?? 0,
        }),
      );
    }
    commitment.set(
      LEDGER_STATE_KEY,
      LedgerRecordCodec.encode({
        height,
        timeMs,
        totalDeposits,
        totalWithdrawals,
        feePool,
        insuranceFund,
        socializedLossTotal,
        unrecoveredLoss,
        nextOrderId,
        nextSeriesId,
      }),
    );
    dirtyAccounts.clear();
    dirtyOrders.clear();
    dirtySeries.clear();
    dirtyIndexes.clear();
    sampleWrites.length = 0;
    dirtyOracle.clear();
    newAccounts.length = 0;
    return commitment.root();
  }

  function snapshot(): Uint8Array {
    const seriesList = [...seriesById.values()].sort((a, b) => a.seriesId - b.seriesId);
    const byUnderlying = <T>(map: Map<number, T>) => [...map.entries()].sort((a, b) => a[0] - b[0]);
    const value: EngineSnapshot = {
      chainId,
      operator,
      governance,
      startTimeMs: genesis.startTimeMs,
      params: { ...params },
      underlyings: [...underlyings.values()].map(underlyingSnapshot),
      height,
      timeMs,
      totalDeposits,
      totalWithdrawals,
      feePool,
      insuranceFund,
      socializedLossTotal,
      unrecoveredLoss,
      nextOrderId,
      nextSeriesId,
      accounts: accountsByIndex.map(accountRecord),
      series: seriesList.map((series) => ({
        record: seriesRecord(series),
        bookSequence: series.book.sequence,
      })),
      orders: seriesList.flatMap((series) => series.book.orders().map((order) => orderRecord(order, series))),
      indexes: byUnderlying(indexPrices).map(([underlyingId, entry]) => ({
        underlyingId,
        price: Number(entry.price),
        publishTimeMs: entry.publishTimeMs,
        blockTimeMs: entry.blockTimeMs,
      })),
      samples: byUnderlying(samples).map(([underlyingId, list]) => ({
        underlyingId,
        firstSequence: sampleBase.get(underlyingId) ?? 0,
        samples: list.map((sample) => ({
          timeMs: sample.timeMs,
          price: Number(sample.price),
          valid: sample.valid,
        })),
        guardUntilMs: guardUntil.get(underlyingId) ?? 0,
      })),
      stateRoot: commitment.root(),
    };
    return EngineSnapshotCodec.encode(value);
  }

  // ---- Views -------------------------------------------------------------------------------------

  function accountView(account: Account): AccountView {
    const assessment = assess(account);
    const view: AccountView = {
      publicKey: account.key,
      nonce: account.nonce,
      balance: account.balance,
      marginMode: account.marginMode === MARGIN_MODE.portfolio ? 'portfolio' : 'standard',
      positions: [...account.positions]
        .sort((a, b) => a[0] - b[0])
        .map(([seriesId, lots]) => ({ seriesId, lots })),
      openOrders: [...account.openOrders.values()]
        .sort((a, b) => a.orderId - b.orderId)
        .map((order) => ({
          orderId: order.orderId,
          seriesId: orderSeries.get(order.orderId)!.seriesId,
          side: order.side === BUY ? 'buy' : 'sell',
          priceTicks: order.priceTicks,
          remainingLots: order.remainingLots,
          clientOrderId: order.clientOrderId,
        })),
    };
    if (assessment !== undefined)
      view.margin = {
        equity: assessment.equity,
        initial: assessment.initial,
        maintenance: assessment.maintenance,
      };
    return view;
  }

  const engine: Engine = {
    chainId,
    get height() {
      return height;
    },
    get timeMs() {
      return timeMs;
    },
    applyBlock(block) {
      invariant(block.height === height + 1, `block height ${block.height} does not follow ${height}`);
      invariant(Number.isSafeInteger(block.timeMs) && block.timeMs >= timeMs, 'block time went backwards');
      height = block.height;
      timeMs = block.timeMs;
      events = [];
      markCache = new Map();
      ingestOracle(block.oracle);
      processExpiries();
      const results = block.transactions.map(applyTransaction);
      liquidate();
      coverLosses();
      pruneSamples();
      const stateRoot = commitState();
      const blockEvents = events;
      events = [];
      return {
        height,
        results,
        events: blockEvents,
        stateRoot,
        eventsHash: sha256(canonicalEventBytes(blockEvents)),
      };
    },
    stateRoot: () => commitment.root(),
    prove: (key) => commitment.prove(key),
    stateValue: (key) => commitment.get(key),
    account(publicKey) {
      const bytes = typeof publicKey === 'string' ? fromHex(publicKey) : publicKey;
      const account = bytes === undefined ? undefined : accounts.get(hexKey(bytes));
      return account === undefined ? undefined : accountView(account);
    },
    accounts: () => accountsByIndex.map(accountView),
    series() {
      return [...seriesById.values()].map((series) => {
        const mark = series.status === SERIES_STATUS.settled ? undefined : markOf(series);
        const view: SeriesView = {
          seriesId: series.seriesId,
          underlyingId: series.underlying.underlyingId,
          isCall: series.isCall,
          strike: series.strike,
          expiryMs: series.expiryMs,
          tickSize: series.tickSize,
          lotSizeE6: series.lotSizeE6,
          multiplierE6: series.multiplierE6,
          markVolBps: series.markVolBps,
          status:
            series.status === SERIES_STATUS.active
              ? 'active'
              : series.status === SERIES_STATUS.expired
                ? 'expired'
                : 'settled',
          settlementPrice: series.settlementPrice,
          openInterestLots: series.openInterestLots,
        };
        if (mark !== undefined)
          view.markPrice = divFloor(mark.markPerUnit * BigInt(series.multiplierE6), E6 * ONE);
        return view;
      });
    },
    book(seriesId, maxLevels = 50) {
      const series = seriesById.get(seriesId);
      if (series === undefined) return undefined;
      return { bids: series.book.depth(BUY, maxLevels), asks: series.book.depth(SELL, maxLevels) };
    },
    ledger() {
      return {
        height,
        timeMs,
        totalDeposits,
        totalWithdrawals,
        feePool,
        insuranceFund,
        socializedLossTotal,
        unrecoveredLoss,
        totalBalances: accountsByIndex.reduce((sum, a) => sum + a.balance, 0n),
      };
    },
    indexPrice: (underlyingId) => liveIndex(underlyingId),
    snapshot,
  };
  return engine;
}

const rejections: ReadonlySet<string> = new Set<string>(REJECTION_STATUSES);

/** True for statuses that leave the state untouched (the nonce included). */
export function isRejection(status: string): status is RejectionStatus {
  return rejections.has(status);
}

/** The functional form: applies `block` to `engine` and returns the block's results. */
export function applyBlock(engine: Engine, block: Block): BlockResult {
  return engine.applyBlock(block);
}
