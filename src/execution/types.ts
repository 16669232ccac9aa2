/**
 * The engine's inputs and outputs: genesis, blocks, per-transaction statuses and events.
 *
 * Units (fixed per asset, as CONVENTIONS.md asks): quote amounts in base units of the quote asset
 * (6 decimals, USDC-like) as `bigint`; index prices in quote base units per unit of underlying;
 * option prices in ticks of the series' tick size (quote base units per contract); sizes in lots.
 */
import type { SignedTransaction } from '../codec/transaction.ts';
import type { GovernanceConfig } from './governance.ts';
import type { MarginParameters } from './margin.ts';
import type { ValidatorSetGenesis } from './validator-set.ts';

export interface UnderlyingConfig extends MarginParameters {
  underlyingId: number;
  symbol: string;
  /** Annual risk-free rate used for marks, in basis points (may be negative). */
  rateBps: number;
  /** Mark volatility of a newly listed series, and the band governance may set it within. */
  defaultVolBps: number;
  minVolBps: number;
  maxVolBps: number;
  /** An oracle price whose confidence interval is wider than this fraction of it is not valid. */
  maxConfidenceBps: number;
}

export interface EngineParameters {
  /** Of the underlying's notional (Deribit: 3 bps), capped at `feeCapBps` of the premium. */
  makerFeeBps: number;
  takerFeeBps: number;
  /** Deribit caps option fees at 12.5% of the option price. */
  feeCapBps: number;
  maxOpenOrdersPerAccount: number;
  /** Market orders and liquidation orders trade no further than this from the mark. */
  marketBandBps: number;
  liquidationBandBps: number;
  /** Lots closed per liquidation step, before margin is looked at again. */
  liquidationStepLots: number;
  /** Of the underlying's notional closed, paid by the liquidated account to the insurance fund. */
  liquidationPenaltyBps: number;
  /** Liquidation steps per block over all accounts: a bound on the block's work. */
  maxLiquidationStepsPerBlock: number;
  /** Settlement TWAP window before expiry (30 minutes). */
  settlementWindowMs: number;
  /** How long one oracle sample may stand for the price when the next block is late. */
  maxSampleHoldMs: number;
  /**
   * The insurance fund's backstop account takes a position the book could not absorb at the mark
   * moved this far against the liquidated account (src/execution/liquidation.ts).
   */
  backstopBandBps: number;
  /**
   * A guard-flagged oracle price (MAX_MOVE, EMA_BAND, CONFIDENCE_WIDE) pauses new index prices and
   * liquidation on its underlying for at most this long, in block time (src/execution/oracle-guard.ts).
   */
  oracleGuardPauseMs: number;
  /** A settlement window covering less than this with valid prices is extended (src/execution/settlement.ts). */
  settlementMinCoveredMs: number;
  /** How far before the window the TWAP may reach when the window itself is too thinly covered. */
  settlementExtensionMs: number;
  /** After expiry plus this, a series with no usable TWAP settles on the last valid index price. */
  settlementFallbackDelayMs: number;
  /**
   * Price band of limit orders (src/execution/risk.ts): a limit may be at most this fraction of the
   * mark away from it, or `priceBandMinTicks` ticks, whichever is wider; at match time a taker's
   * limit is clamped to the band and a maker outside it leaves the book.
   */
  priceBandBps: number;
  priceBandMinTicks: number;
  /** Caps, each a refusal with its own status: positions per account (≤ 1024), accounts, series. */
  maxPositionsPerAccount: number;
  maxAccounts: number;
  maxSeries: number;
  /** The smallest deposit that creates an account, in quote base units (an account's cost). */
  minDepositForAccount: number;
  /** Governance moves a series' mark volatility by at most this much per hour of block time. */
  maxVolChangeBpsPerHour: number;
  /**
   * EWMA volatility per underlying (src/execution/volatility.ts): RiskMetrics' λ (9400 = 0.94) for
   * returns `volLambdaIntervalMs` apart (a day), scaled to the actual spacing; a sample at most
   * every `volSampleIntervalMs` of block time.
   */
  volLambdaBps: number;
  volLambdaIntervalMs: number;
  volSampleIntervalMs: number;
  /**
   * Circuit breaker per underlying (src/execution/breaker.ts): a band of `breakerVolMultipleBps`
   * EWMA standard deviations over `breakerWindowMs` (0: no breaker), at least `breakerFloorBps` and
   * at most `breakerMaxBps`, around the rolling low and high of the window; a breach halts the
   * underlying's series for `breakerHaltMs`, then a call auction reopens them.
   */
  breakerWindowMs: number;
  breakerVolMultipleBps: number;
  breakerFloorBps: number;
  breakerMaxBps: number;
  breakerHaltMs: number;
  /**
   * Parameters that follow volatility (src/execution/steward.ts), Aave-risk-steward bounds: an
   * update at most every `autoMinDelayMs`; one update moves a parameter by at most `autoMaxStepBps`
   * of its value (0: no automatic changes); within a period of `autoPeriodMs` it stays within
   * `autoMaxPeriodBps` of its value at the period's start. The risk scale (band and initial margin
   * multiplier) is at most `autoScaleMaxBps` (10,000 = 1×).
   */
  autoMinDelayMs: number;
  autoMaxStepBps: number;
  autoMaxPeriodBps: number;
  autoPeriodMs: number;
  autoScaleMaxBps: number;
  /**
   * Withdrawals slow down (src/execution/steps/responses.ts): while the insurance fund is more than
   * `withdrawDrawdownBps` below its value at the start of the current `withdrawDrawdownWindowMs`
   * window (0: never), a block pays out at most `withdrawCapPerBlock` quote base units in all.
   */
  withdrawDrawdownBps: number;
  withdrawDrawdownWindowMs: number;
  withdrawCapPerBlock: number;
  /** After an oracle-guard pause ends, liquidation on the underlying waits this much longer. */
  liquidationGraceMs: number;
}

export interface SeriesConfig {
  underlyingId: number;
  isCall: boolean;
  strike: number;
  expiryMs: number;
  tickSize: number;
  lotSizeE6: number;
  multiplierE6: number;
}

export interface GenesisAccount {
  publicKey: Uint8Array;
  balance: bigint;
  marginMode?: 'standard' | 'portfolio';
}

export interface EngineGenesis {
  chainId: number;
  /** The bridge/operator key: the only signer whose Deposit actions credit accounts. */
  operator: Uint8Array;
  /**
   * Governors (m of them sign every governance action), guardians (g of them may halt) and the
   * timelock of non-emergency actions (src/execution/governance.ts).
   */
  governance: GovernanceConfig;
  startTimeMs: number;
  params: EngineParameters;
  underlyings: UnderlyingConfig[];
  series: SeriesConfig[];
  accounts: GenesisAccount[];
  /** Seed capital of the insurance fund, counted as a deposit. */
  insuranceFund: bigint;
  /**
   * The consensus validators and the epoch length (src/execution/validator-set.ts), when
   * governance is to change the set; without it `ChangeValidators` is refused.
   */
  validatorSet?: ValidatorSetGenesis;
  /**
   * The EVM vault withdrawals are paid from (src/execution/withdrawals.ts); absent: withdrawals
   * debit and pay nothing (test networks without a bridge), and no list is committed.
   */
  bridge?: EngineBridge;
}

/** The vault side of withdrawals: the leaf's domain, the token it pays, the checkpoint period. */
export interface EngineBridge {
  evmChainId: number;
  /** 20-byte vault address. */
  vault: Uint8Array;
  /** 20-byte ERC-20 the engine's quote is paid out as. */
  token: Uint8Array;
  /** A checkpoint certifies every height that is a multiple of this (at least 1). */
  checkpointEveryBlocks: number;
  /**
   * The smallest withdrawal, in quote base units (default {@link DEFAULT_MIN_WITHDRAWAL}); below it
   * `WITHDRAWAL_TOO_SMALL`. With the cap below it prices the period's slots (src/execution/withdrawals.ts).
   */
  minWithdrawal?: bigint;
  /**
   * Withdrawals one account may make in one checkpoint period (1 to 1,024, default
   * {@link DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT}); beyond it `WITHDRAWAL_PERIOD_LIMIT`.
   */
  maxWithdrawalsPerAccount?: number;
}

/**
 * 10 USDC at 6 decimals: the same as the default `minDepositForAccount` (what an account costs), so
 * a period's 1,024 slots cost at least 10,240 USDC withdrawn, and any honest withdrawal worth a
 * vault claim's gas is above it.
 */
export const DEFAULT_MIN_WITHDRAWAL = 10_000_000n;
/** 8 per account and period: filling a period's 1,024 slots takes 128 funded accounts. */
export const DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT = 8;

export interface OracleUpdate {
  underlyingId: number;
  /** Quote base units per unit of underlying. */
  price: number;
  confidence: number;
  publishTimeMs: number;
  stale: boolean;
  /**
   * The aggregate's guard flags (src/oracle/aggregate.ts `AggregateFlag`: MAX_MOVE 2, EMA_BAND 4,
   * CONFIDENCE_WIDE 8; STALE is `stale`). A flagged price pauses its underlying's marks and
   * liquidation for at most `oracleGuardPauseMs`. Absent means none.
   */
  flags?: number;
}

export interface Block {
  height: number;
  timeMs: number;
  /** In the order consensus finalized them. */
  transactions: SignedTransaction[];
  oracle: OracleUpdate[];
  /**
   * Vault deposits that 2f + 1 validators reported identically in this block (the block rule,
   * src/interop/evm/deposit-quorum.ts), ascending by nonce; each nonce is credited once, ever.
   */
  deposits?: BridgeDeposit[];
  /**
   * Encrypted orders of an earlier block, opened by the block rule with their keys, released once
   * that block was final (src/chain/fair-batches.ts), in the order that block fixed. They run before
   * `transactions`; their nonces were reserved when their envelopes were included.
   */
  encrypted?: SignedTransaction[];
  /**
   * This block's encrypted-order envelopes that the block rule admitted, in block order: each
   * pays its fee (at most the sender's balance, to the fee pool) and reserves its nonce now,
   * before `transactions`, whatever its ciphertext turns out to hold.
   */
  envelopeReservations?: EnvelopeReservation[];
}

/** An included envelope's charge: its fee and the nonce its hidden transaction consumes. */
export interface EnvelopeReservation {
  sender: Uint8Array;
  nonce: number;
  /** Base units of the quote asset. */
  fee: number;
}

/** What a reservation did: `charged` base units moved to the fee pool. */
export type ReservationResult =
  | { status: 'RESERVED'; charged: bigint }
  | { status: 'UNKNOWN_ACCOUNT' | 'BAD_NONCE' };

/** Why a vault deposit was consumed without a credit (its value stays in the vault). */
export type BridgeDepositRefusal =
  | 'UNLISTED_TOKEN'
  | 'AMOUNT_TOO_LARGE'
  | 'DEPOSIT_BELOW_MINIMUM'
  | 'TOO_MANY_ACCOUNTS';

/** A deposit into the EVM vault, as the block rule hands it to the engine. */
export interface BridgeDeposit {
  /** The vault's nonce (unique per vault). */
  nonce: number;
  /** The 32-byte Palisade account. */
  account: Uint8Array;
  /** Token base units (the vault's uint256). */
  amount: bigint;
  /** Whether the token is the one the genesis bridges (the engine's quote). */
  tokenListed: boolean;
}

/**
 * Refusals that leave the state untouched, the nonce included. The one list: `RejectionStatus`
 * and the engine's `isRejection` are both derived from it. `UNKNOWN_ACCOUNT` is any action but a
 * deposit to it from a key that has no account (accounts cost a deposit).
 */
export const REJECTION_STATUSES = Object.freeze([
  'OVERSIZE',
  'WRONG_CHAIN',
  'EXPIRED',
  'BAD_SIGNATURE',
  'BAD_NONCE',
  'MALFORMED_PAYLOAD',
  'UNAUTHORIZED',
  'UNKNOWN_SERIES',
  'SERIES_NOT_TRADING',
  'INVALID_SIZE',
  'SIZE_OFF_LOT',
  'INVALID_PRICE',
  'PRICE_OFF_TICK',
  'INVALID_ORDER',
  'INVALID_AMOUNT',
  /** A withdrawal to the zero address (the vault would burn it). */
  'INVALID_RECIPIENT',
  /** A withdrawal of a token the bridge does not pay out. */
  'UNLISTED_TOKEN',
  /** A bridged withdrawal below the genesis `bridge.minWithdrawal`. */
  'WITHDRAWAL_TOO_SMALL',
  'INVALID_SERIES',
  'UNKNOWN_ORDER',
  'UNKNOWN_ACCOUNT',
  /** A RegisterCommitment of 0 or of a value outside BN254's scalar field. */
  'INVALID_COMMITMENT',
  /** Governance (src/execution/governance.ts): fewer than the threshold of counted signatures. */
  'INSUFFICIENT_SIGNATURES',
  /** A proposal submitted after its expiry. */
  'PROPOSAL_EXPIRED',
  /** A proposal id already accepted. */
  'PROPOSAL_REPLAYED',
  /** A proposal whose action cannot run (its `field` says which part), or whose expiry is too far. */
  'INVALID_PROPOSAL',
  /** The accepted-id set or the timelock queue is full. */
  'TOO_MANY_PROPOSALS',
] as const);

/** Refusals that leave the state untouched, the nonce included (see `REJECTION_STATUSES`). */
export type RejectionStatus = (typeof REJECTION_STATUSES)[number];

const rejections: ReadonlySet<string> = new Set<string>(REJECTION_STATUSES);

/** True for statuses that leave the state untouched (the nonce included). */
export function isRejection(status: string): status is RejectionStatus {
  return rejections.has(status);
}

/** Business outcomes: the transaction is consumed (its nonce advances) but does nothing else. */
export type OutcomeStatus =
  | 'INSUFFICIENT_MARGIN'
  | 'INSUFFICIENT_BALANCE'
  | 'POST_ONLY_WOULD_CROSS'
  | 'FOK_UNFILLABLE'
  | 'TOO_MANY_OPEN_ORDERS'
  | 'REDUCE_ONLY_WOULD_INCREASE'
  | 'NO_MARK_PRICE'
  | 'DUPLICATE_CLIENT_ORDER_ID'
  /**
   * A limit outside the series' price band around the mark. An outcome, not a rejection: the band
   * moves with the mark, so a refused order must consume its nonce and can never be replayed later.
   */
  | 'PRICE_OUT_OF_BAND'
  | 'TOO_MANY_POSITIONS'
  | 'TOO_MANY_ACCOUNTS'
  | 'TOO_MANY_SERIES'
  /** A deposit that would create an account with less than `minDepositForAccount`. */
  | 'DEPOSIT_BELOW_MINIMUM'
  /**
   * A market, IOC or FOK order on a series whose underlying's circuit breaker halted it
   * (src/execution/breaker.ts). An outcome: the halt ends, and the order must not be replayed then.
   */
  | 'MARKET_HALTED'
  /** A withdrawal beyond this block's cap while the insurance fund draws down fast (an outcome). */
  | 'WITHDRAWAL_THROTTLED'
  /** The checkpoint period's withdrawals list is full; the next period takes it (an outcome). */
  | 'WITHDRAWALS_FULL'
  /**
   * The account made `bridge.maxWithdrawalsPerAccount` withdrawals in this checkpoint period
   * already; the next period takes it (an outcome).
   */
  | 'WITHDRAWAL_PERIOD_LIMIT'
  /** The account already registered its ownership commitment (src/execution/account-tree.ts): once only. */
  | 'COMMITMENT_ALREADY_SET'
  /** Another account registered this commitment first. */
  | 'COMMITMENT_TAKEN';

export type TransactionStatus = 'OK' | RejectionStatus | OutcomeStatus;

export interface TransactionResult {
  status: TransactionStatus;
  /** The payload field at fault, for MALFORMED_PAYLOAD. */
  field?: string;
  orderId?: number;
  /** A bridged withdrawal's id (src/execution/withdrawals.ts): what the vault's claim names. */
  withdrawalId?: number;
  filledLots?: number;
  restingLots?: number;
}

export type CancelReason =
  | 'user'
  | 'selfTrade'
  | 'unfilledRemainder'
  | 'expiry'
  | 'liquidation'
  /** A resting reduce-only order whose owner's position no longer leaves it anything to reduce. */
  | 'reduceOnly'
  /** A resting order priced outside the band around the current mark, met by a taker. */
  | 'outOfBand'
  /** A resting order whose fill would fail the what-if margin check at fill time. */
  | 'insufficientMargin'
  /** A resting order whose fill would open a position beyond `maxPositionsPerAccount`. */
  | 'tooManyPositions';

export type EngineEvent =
  | { type: 'deposit'; account: string; amount: bigint }
  /** `id`, `recipient` and `token` (hex) when a bridge pays it out (src/execution/withdrawals.ts). */
  | { type: 'withdrawal'; account: string; amount: bigint; id?: number; recipient?: string; token?: string }
  /** A vault deposit consumed without a credit (the value stays in the vault). */
  | {
      type: 'bridgeDepositRefused';
      nonce: number;
      account: string;
      amount: bigint;
      reason: BridgeDepositRefusal;
    }
  | { type: 'seriesListed'; seriesId: number }
  /** A governance proposal ran (`signers`: the counted keys' first 6 bytes, hex, comma-separated; absent after a timelock). */
  | { type: 'governanceExecuted'; proposalId: number; action: string; signers?: string }
  | { type: 'governanceQueued'; proposalId: number; action: string; executeAtMs: number; signers: string }
  | { type: 'governanceFailed'; proposalId: number; action: string; reason: string }
  /** Governance halted new orders on an underlying's series (0: on all of them). */
  | { type: 'governanceHalt'; proposalId: number; underlyingId: number }
  | { type: 'governanceResume'; proposalId: number; underlyingId: number }
  | { type: 'proposalCancelled'; proposalId: number; cancelled: number }
  | {
      type: 'governanceChanged';
      proposalId: number;
      governors: number;
      threshold: number;
      guardians: number;
      guardianThreshold: number;
      timelockMs: number;
    }
  | { type: 'parameterSet'; proposalId: number; name: string; value: number; previous: number }
  /** A `ChangeValidators` passed: the set changes at the start of block `effectiveHeight`. */
  | {
      type: 'validatorChangeScheduled';
      proposalId: number;
      op: 'add' | 'remove';
      publicKey: string;
      effectiveHeight: number;
    }
  /** The epoch boundary applied a change: `epoch`'s set (`validators` members) begins after this block. */
  | { type: 'validatorSetChanged'; proposalId: number; epoch: number; validators: number; publicKey: string }
  /** `volBps` is the volatility applied: the request clamped to the band and to the hourly bound. */
  | { type: 'markVolSet'; seriesId: number; volBps: number; requestedVolBps: number }
  | { type: 'marginModeSet'; account: string; mode: 'standard' | 'portfolio' }
  | { type: 'commitmentRegistered'; account: string; index: number }
  | {
      type: 'orderRested';
      orderId: number;
      account: string;
      seriesId: number;
      side: 'buy' | 'sell';
      priceTicks: number;
      lots: number;
    }
  | {
      type: 'fill';
      seriesId: number;
      makerOrderId: number;
      takerOrderId: number;
      maker: string;
      taker: string;
      takerSide: 'buy' | 'sell';
      priceTicks: number;
      lots: number;
      makerFee: bigint;
      takerFee: bigint;
    }
  | { type: 'cancel'; orderId: number; account: string; seriesId: number; lots: number; reason: CancelReason }
  | {
      type: 'liquidationStep';
      account: string;
      seriesId: number;
      lots: number;
      penalty: bigint;
      equityBefore: bigint;
      maintenanceBefore: bigint;
    }
  | { type: 'liquidationStalled'; account: string; equity: bigint; maintenance: bigint }
  /** The insurance fund's backstop account took lots the book could not absorb (`cash` paid to the account). */
  | {
      type: 'backstopTaken';
      account: string;
      seriesId: number;
      lots: number;
      priceTicks: number;
      cash: bigint;
    }
  /**
   * The liquidated account's lots closed against an opposite position at the mark, less the
   * account's deficit share (`lossShare`) borne by the counterparty; `cash` is what the
   * liquidated account received (negative: paid).
   */
  | {
      type: 'autoDeleverage';
      /** The liquidated account. */
      account: string;
      /** The holder of the opposite position, closed against it. */
      counterparty: string;
      seriesId: number;
      /** The liquidated account's side: 'buy' closes its short, 'sell' its long. */
      side: 'buy' | 'sell';
      lots: number;
      /**
       * Quote base units per lot the liquidated account paid ('buy') or received ('sell'): the mark
       * less the counterparty's share of the deficit, per lot, truncated toward zero.
       */
      price: bigint;
      /** What the liquidated account received (negative: paid), in all. */
      cash: bigint;
      lossShare: bigint;
    }
  /** A flat backstop account's gains return to the insurance fund. */
  | { type: 'backstopReturned'; amount: bigint }
  /** A circuit breaker tripped (src/execution/breaker.ts): the underlying's series halt until `untilMs`. */
  | {
      type: 'circuitBreakerHalt';
      underlyingId: number;
      price: bigint;
      low: bigint;
      high: bigint;
      widthBps: number;
      untilMs: number;
    }
  /** A series' call auction at reopening: `lots` traded at the one price `priceTicks`. */
  | { type: 'callAuction'; seriesId: number; priceTicks: number; lots: number }
  | { type: 'circuitBreakerReopen'; underlyingId: number }
  /**
   * Parameters that follow volatility moved (src/execution/steward.ts): the mark-volatility floor
   * and the band and initial-margin scale, towards targets from the EWMA (`ewmaVolBps`), bounded.
   */
  | {
      type: 'parametersAdjusted';
      underlyingId: number;
      ewmaVolBps: number;
      autoVolBps: number;
      scaleBps: number;
    }
  /** The insurance fund fell fast: withdrawals are capped per block (`withdrawCapPerBlock`) until it stops. */
  | { type: 'withdrawalsThrottled'; insuranceFund: bigint; reference: bigint }
  | { type: 'withdrawalsRestored'; insuranceFund: bigint }
  /** A guard pause ended: liquidation on the underlying resumes at `untilMs`. */
  | { type: 'liquidationGrace'; underlyingId: number; untilMs: number }
  | { type: 'oracleGuardPause'; underlyingId: number; flags: number; untilMs: number }
  | { type: 'oracleGuardResume'; underlyingId: number; reason: 'unflagged' | 'timeout' }
  | {
      type: 'settlementFallback';
      seriesId: number;
      rule: 'extendedWindow' | 'lastValidPrice' | 'noOpenInterest';
    }
  | { type: 'expired'; seriesId: number }
  | { type: 'settlementWaiting'; seriesId: number; reason: 'NO_VALID_PRICE' }
  | { type: 'settlement'; seriesId: number; settlementPrice: bigint; coveredMs: number; payoffPerLot: bigint }
  | { type: 'positionSettled'; seriesId: number; account: string; lots: number; cash: bigint }
  | { type: 'insuranceCover'; account: string; amount: bigint }
  | { type: 'unrecoveredLoss'; account: string; amount: bigint };

export interface BlockResult {
  height: number;
  results: TransactionResult[];
  /** Results of `Block.encrypted`, in order (empty when there were none). */
  encryptedResults: TransactionResult[];
  /** Results of `Block.envelopeReservations`, in order. */
  reservationResults: ReservationResult[];
  events: EngineEvent[];
  stateRoot: Uint8Array;
  /** SHA-256 over the canonical encoding of `events`: validators agree on it with the root. */
  eventsHash: Uint8Array;
}
