/**
 * The engine's explicit state (`EngineState`) and the records it holds: accounts, series, marks,
 * settlement samples; the hard bounds every loop over them meets; and the result types every action
 * returns. Steps (src/execution/steps/) and actions (src/execution/actions/) are functions over it.
 */
import { toHex } from '../crypto/bytes.ts';
import type { StateCommitment } from '../crypto/state-commitment.ts';
import type { TransactionSignatureCheck } from '../crypto/transaction.ts';
import type { Fixed } from '../std/fixed.ts';
import { type AccountTreeState, createAccountTreeState } from './account-tree.ts';
import type { EngineAuditHead } from './audit.ts';
import { BACKSTOP_PUBLIC_KEY } from './backstop.ts';
import type { OrderBook, RestingOrder, Side } from './book.ts';
import type { GovernanceState } from './governance.ts';
import type { SeriesMarket, StandardMarginPerLot } from './margin.ts';
import type {
  EngineBridge,
  EngineEvent,
  EngineParameters,
  OutcomeStatus,
  RejectionStatus,
  UnderlyingConfig,
} from './types.ts';
import type { ValidatorSetState } from './validator-set.ts';

export const E6 = 1_000_000n;
export const E12 = 1_000_000_000_000n;
export const BPS = 10_000n;
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
export const MAX_SAMPLES_PER_UNDERLYING = 8192;
export const BACKSTOP_KEY = toHex(BACKSTOP_PUBLIC_KEY);

export interface Account {
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

export interface Series {
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

export interface MarkEntry {
  market: SeriesMarket;
  markPerUnit: Fixed;
  markPerLot: Fixed;
  /** The mark in ticks, for market and liquidation price bands. */
  markTicks: number;
  /** The limit-price band's width for this block: `priceBandBps` × the risk scale (src/execution/steward.ts). */
  bandBps: number;
  standard: StandardMarginPerLot;
  scenarioPnl?: Fixed[];
  contingency?: Fixed;
}

export interface Sample {
  timeMs: number;
  price: bigint;
  valid: boolean;
}

export interface ExtraOrder {
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
export interface Change {
  series: Series;
  lotsDelta: number;
  balanceDelta: bigint;
  orderId?: number;
  orderLots?: number;
}

export interface Assessment {
  equity: bigint;
  /** Initial margin of positions plus what open orders (and `extra`) reserve. */
  initial: bigint;
  maintenance: bigint;
}

export type Outcome = {
  status: 'OK' | OutcomeStatus;
  orderId?: number;
  /** A bridged withdrawal's id in the vault's leaf (src/execution/withdrawals.ts). */
  withdrawalId?: number;
  filledLots?: number;
  restingLots?: number;
};
export type Handled = Outcome | { status: RejectionStatus; field?: string };

/** An index price and when it was last valid (marks lapse `maxSampleHoldMs` after it). */
export interface IndexEntry {
  price: bigint;
  blockTimeMs: number;
  publishTimeMs: number;
}

/**
 * Per underlying, what the automatic responses keep (issue 15): the EWMA variance of index returns
 * (src/execution/volatility.ts) and the price and block time of the sample it last took.
 */
export interface UnderlyingRisk {
  /** Annualised variance of log returns, fixed point. */
  variance: Fixed;
  /** The index price of the last EWMA sample (0: none yet). */
  samplePrice: bigint;
  samplePriceTimeMs: number;
  /** End of the circuit-breaker halt (0: trading), src/execution/breaker.ts. */
  haltedUntilMs: number;
  /** The breaker's rolling low and high count samples from this block time on (the last halt or reopening). */
  bandFromMs: number;
  /** Parameters that follow volatility (src/execution/steward.ts): the mark-volatility floor. */
  autoVolBps: number;
  /** The band and initial-margin multiplier, 10,000 = 1×. */
  scaleBps: number;
  /** Block time of the last automatic update (0: none). */
  autoUpdatedMs: number;
  /** The current bound period's start and the two values then. */
  periodStartMs: number;
  periodStartVolBps: number;
  periodStartScaleBps: number;
  /** Liquidation on the underlying waits until this block time after a guard pause (0: none). */
  graceUntilMs: number;
}

/** The withdrawal slowdown's watch on the insurance fund (src/execution/steps/responses.ts). */
export interface FundWatch {
  /** The fund at the start of the current window, and that start's block time. */
  reference: bigint;
  referenceMs: number;
  throttled: boolean;
}

/** A sample record to write (a sample) or delete (null), by underlying and sequence. */
export interface SampleWrite {
  underlyingId: number;
  sequence: number;
  sample: Sample | null;
}

/**
 * The vault nonces credited so far: every nonce up to `watermark` and those in `above`. Written to
 * the commitment only once non-empty, so a chain without a bridge keeps its roots.
 */
export interface CreditedDeposits {
  watermark: number;
  readonly above: Set<number>;
  /** Changed in the block being applied (or restored): the commit step writes its record. */
  dirty: boolean;
}

/** One withdrawal the vault will pay (its leaf: src/execution/withdrawals.ts). */
export interface WithdrawalEntry {
  readonly id: number;
  readonly recipient: Uint8Array;
  readonly token: Uint8Array;
  readonly amount: bigint;
}

/**
 * The current checkpoint period's withdrawals (src/execution/withdrawals.ts), present only when
 * the genesis names a bridge; written to the commitment whenever `dirty`.
 */
export interface WithdrawalsState {
  /** The genesis bridge with its defaults filled in (src/execution/withdrawals.ts `resolveBridge`). */
  readonly bridge: Required<EngineBridge>;
  nextId: number;
  /** The checkpoint whose withdrawals root covers `entries`. */
  checkpointHeight: number;
  entries: WithdrawalEntry[];
  /** The account index that made each entry (same order); in the root. */
  withdrawers: number[];
  /** Entries per account index this period: derived from `withdrawers`, never committed. */
  perAccount: Map<number, number>;
  root: Uint8Array;
  dirty: boolean;
}

/**
 * The whole state of the venue, and what the block being applied has changed so far. Every step
 * and action is a function of it (and of its own arguments) that changes it in place; nothing else
 * holds state. The configuration fields are fixed at genesis; the `dirty…` sets, `sampleWrites`,
 * `newAccounts` and `events` live for one block and are emptied by the commit step.
 */
export interface EngineState {
  readonly chainId: number;
  readonly operator: Uint8Array;
  /** Governors, guardians, accepted ids, the timelock queue and halts (src/execution/governance.ts), in the root. */
  readonly governance: GovernanceState;
  /** The consensus validator set and its scheduled change (src/execution/validator-set.ts), in the root. */
  validatorSet: ValidatorSetState | undefined;
  readonly startTimeMs: number;
  readonly params: EngineParameters;
  readonly underlyings: Map<number, UnderlyingConfig>;
  readonly verifySignature: TransactionSignatureCheck | undefined;
  readonly commitment: StateCommitment;

  readonly accounts: Map<string, Account>;
  /** Accounts in creation order: the order liquidation and loss allocation visit them. */
  readonly accountsByIndex: Account[];
  readonly accountsWithPositions: Set<number>;
  readonly seriesById: Map<number, Series>;
  readonly orderSeries: Map<number, Series>;
  readonly indexPrices: Map<number, IndexEntry>;
  readonly samples: Map<number, Sample[]>;
  /** Sequence of each underlying's first kept sample; sequences count every sample ever taken. */
  readonly sampleBase: Map<number, number>;
  /** Per underlying, the end of its oracle-guard pause episode (absent: none), src/execution/oracle-guard.ts. */
  readonly guardUntil: Map<number, number>;
  /** Per underlying, the automatic responses' state (every configured underlying has one). */
  readonly risk: Map<number, UnderlyingRisk>;
  readonly fundWatch: FundWatch;
  /** The audit log's head (src/execution/audit.ts), in the root. */
  readonly auditHead: EngineAuditHead;
  /** Vault nonces the bridge credited (actions/deposit.ts `creditBridgeDeposits`), in the root. */
  readonly creditedDeposits: CreditedDeposits;
  /** The Poseidon account tree of registered owners (src/execution/account-tree.ts), in the root. */
  readonly accountTree: AccountTreeState;
  /** Withdrawals of the current checkpoint period, in the root; undefined without a bridge. */
  readonly withdrawals: WithdrawalsState | undefined;
  /** Withdrawals paid in the block being applied (not state: reset every block). */
  withdrawnThisBlock: bigint;
  /** Marks of this block, by series (null: no mark); rebuilt every block, not in the root. */
  markCache: Map<number, MarkEntry | null>;

  height: number;
  timeMs: number;
  totalDeposits: bigint;
  totalWithdrawals: bigint;
  feePool: bigint;
  insuranceFund: bigint;
  socializedLossTotal: bigint;
  unrecoveredLoss: bigint;
  nextOrderId: number;
  nextSeriesId: number;

  readonly dirtyAccounts: Set<Account>;
  readonly dirtyOrders: Map<number, RestingOrder | null>;
  readonly dirtySeries: Set<Series>;
  readonly dirtyIndexes: Set<number>;
  readonly sampleWrites: SampleWrite[];
  readonly dirtyOracle: Set<number>;
  readonly dirtyRisk: Set<number>;
  readonly newAccounts: Account[];
  events: EngineEvent[];
}

/** An empty state (no accounts, no series, no prices) with the given configuration. */
export function emptyState(config: {
  chainId: number;
  operator: Uint8Array;
  governance: GovernanceState;
  validatorSet: ValidatorSetState | undefined;
  startTimeMs: number;
  params: EngineParameters;
  underlyings: Map<number, UnderlyingConfig>;
  verifySignature: TransactionSignatureCheck | undefined;
  commitment: StateCommitment;
  withdrawals: WithdrawalsState | undefined;
}): EngineState {
  return {
    ...config,
    accounts: new Map(),
    accountsByIndex: [],
    accountsWithPositions: new Set(),
    seriesById: new Map(),
    orderSeries: new Map(),
    indexPrices: new Map(),
    samples: new Map(),
    sampleBase: new Map(),
    guardUntil: new Map(),
    risk: new Map(),
    fundWatch: { reference: 0n, referenceMs: 0, throttled: false },
    auditHead: { sequence: 0, hash: new Uint8Array(32) },
    creditedDeposits: { watermark: 0, above: new Set(), dirty: false },
    accountTree: createAccountTreeState(),
    withdrawnThisBlock: 0n,
    markCache: new Map(),
    height: 0,
    timeMs: config.startTimeMs,
    totalDeposits: 0n,
    totalWithdrawals: 0n,
    feePool: 0n,
    insuranceFund: 0n,
    socializedLossTotal: 0n,
    unrecoveredLoss: 0n,
    nextOrderId: 1,
    nextSeriesId: 1,
    dirtyAccounts: new Set(),
    dirtyOrders: new Map(),
    dirtySeries: new Set(),
    dirtyIndexes: new Set(),
    sampleWrites: [],
    dirtyOracle: new Set(),
    dirtyRisk: new Set(),
    newAccounts: [],
    events: [],
  };
}

export function hexKey(publicKey: Uint8Array): string {
  return toHex(publicKey);
}
