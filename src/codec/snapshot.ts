/**
 * Engine snapshots and the state records they added to the commitment (tags 0x0330–0x033f), and the
 * node's snapshot envelope (0x0580).
 *
 * An `EngineSnapshot` is the complete state of the execution engine after a block, in canonical
 * bytes: the configuration it runs under (chain, operator and governance keys, parameters,
 * underlyings), the ledger totals and id counters, every account in creation order (the order is
 * consensus-relevant: liquidation and loss allocation walk accounts by it), every series with its
 * book's time-priority counter, every resting order in book order (per series by id: bids best
 * level first, then asks, each level oldest first), the index prices with the block time they were
 * seen at, the settlement samples the TWAP reads, and the state root all of this commits to. The
 * same state always yields the same bytes (lists in a fixed order, no maps), so two validators'
 * snapshots at one height are byte-equal, and a restore is checked against the embedded root.
 *
 * Amounts that may be negative (a rate, a grid move) are a sign and a magnitude; "negative zero" is
 * refused so that every value has one encoding.
 */
import { ByteListType, ContainerType, ListCompositeType, UintBigintType, type ValueOf } from '@chainsafe/ssz';
import { CreditedDepositsRecordType, WithdrawalsRecordType } from './bridge.ts';
import { EonActivationCodec, SignedOrderEnvelopeCodec } from './envelope.ts';
import {
  AccountRecordType,
  GovernanceRecordType,
  OrderRecordType,
  SeriesRecordType,
  ValidatorSetRecordType,
} from './execution.ts';
import { defineMessage } from './message.ts';
import { AggregatePriceType } from './oracle.ts';
import { Bool, Bytes32, Uint16, Uint32, Uint64 } from './primitives.ts';

/** Bounds of what a snapshot may hold; each is far above what the engine's own limits allow today. */
export const SNAPSHOT_ACCOUNTS_MAX = 1 << 20;
export const SNAPSHOT_ORDERS_MAX = 1 << 22;
export const SNAPSHOT_SERIES_MAX = 10_000;
export const SNAPSHOT_UNDERLYINGS_MAX = 256;
export const SNAPSHOT_SAMPLES_PER_UNDERLYING_MAX = 8192;
export const SNAPSHOT_GRID_MOVES_MAX = 64;
/** A snapshot larger than this is refused before decoding (1 GiB). */
export const SNAPSHOT_MAX_BYTES = 1 << 30;

const Amount128 = new UintBigintType(16);

const SignedIntType = new ContainerType({ negative: Bool, magnitude: Uint32 }, { typeName: 'SignedInt' });
export type SignedInt = ValueOf<typeof SignedIntType>;

export const EngineParametersType = new ContainerType(
  {
    makerFeeBps: Uint32,
    takerFeeBps: Uint32,
    feeCapBps: Uint32,
    maxOpenOrdersPerAccount: Uint32,
    marketBandBps: Uint32,
    liquidationBandBps: Uint32,
    liquidationStepLots: Uint32,
    liquidationPenaltyBps: Uint32,
    maxLiquidationStepsPerBlock: Uint32,
    settlementWindowMs: Uint64,
    maxSampleHoldMs: Uint64,
    backstopBandBps: Uint32,
    oracleGuardPauseMs: Uint64,
    settlementMinCoveredMs: Uint64,
    settlementExtensionMs: Uint64,
    settlementFallbackDelayMs: Uint64,
    priceBandBps: Uint32,
    priceBandMinTicks: Uint32,
    maxPositionsPerAccount: Uint32,
    maxAccounts: Uint32,
    maxSeries: Uint32,
    minDepositForAccount: Uint64,
    maxVolChangeBpsPerHour: Uint32,
    volLambdaBps: Uint32,
    volLambdaIntervalMs: Uint64,
    volSampleIntervalMs: Uint64,
    breakerWindowMs: Uint64,
    breakerVolMultipleBps: Uint32,
    breakerFloorBps: Uint32,
    breakerMaxBps: Uint32,
    breakerHaltMs: Uint64,
    autoMinDelayMs: Uint64,
    autoMaxStepBps: Uint32,
    autoMaxPeriodBps: Uint32,
    autoPeriodMs: Uint64,
    autoScaleMaxBps: Uint32,
    withdrawDrawdownBps: Uint32,
    withdrawDrawdownWindowMs: Uint64,
    withdrawCapPerBlock: Uint64,
    liquidationGraceMs: Uint64,
  },
  { typeName: 'EngineParameters' },
);

export const UnderlyingSnapshotType = new ContainerType(
  {
    underlyingId: Uint16,
    /** UTF-8. */
    symbol: new ByteListType(32),
    rateBps: SignedIntType,
    defaultVolBps: Uint32,
    minVolBps: Uint32,
    maxVolBps: Uint32,
    maxConfidenceBps: Uint32,
    imBaseBps: Uint32,
    imMinBps: Uint32,
    mmBps: Uint32,
    pmSpotMovesBps: new ListCompositeType(SignedIntType, SNAPSHOT_GRID_MOVES_MAX),
    pmInitialMultiplierBps: Uint32,
    pmContingencyBps: Uint32,
  },
  { typeName: 'UnderlyingSnapshot' },
);
export type UnderlyingSnapshot = ValueOf<typeof UnderlyingSnapshotType>;

export const SeriesSnapshotType = new ContainerType(
  {
    record: SeriesRecordType,
    /** The last time-priority sequence its book assigned. */
    bookSequence: Uint64,
  },
  { typeName: 'SeriesSnapshot' },
);

export const IndexSnapshotType = new ContainerType(
  { underlyingId: Uint16, price: Uint64, publishTimeMs: Uint64, blockTimeMs: Uint64 },
  { typeName: 'IndexSnapshot' },
);

const SampleType = new ContainerType({ timeMs: Uint64, price: Uint64, valid: Bool }, { typeName: 'Sample' });

export const SampleListSnapshotType = new ContainerType(
  {
    underlyingId: Uint16,
    /** Sequence number of the first sample in `samples` (sequences count every sample ever taken). */
    firstSequence: Uint64,
    samples: new ListCompositeType(SampleType, SNAPSHOT_SAMPLES_PER_UNDERLYING_MAX),
    /** End of the underlying's oracle-guard pause episode (0: none), see src/execution/oracle-guard.ts. */
    guardUntilMs: Uint64,
  },
  { typeName: 'SampleListSnapshot' },
);

/**
 * Per underlying, the automatic responses' state (issue 15, src/execution/volatility.ts): the EWMA
 * variance of index returns (annualised, 18-decimal fixed point) and the last sample it took, and
 * the circuit breaker's halt and reference start (src/execution/breaker.ts).
 */
export const RiskStateRecordType = new ContainerType(
  {
    underlyingId: Uint16,
    variance: Amount128,
    samplePrice: Uint64,
    samplePriceTimeMs: Uint64,
    /** End of the circuit-breaker halt (0: trading), src/execution/breaker.ts. */
    haltedUntilMs: Uint64,
    /** The breaker's reference counts samples from this block time on. */
    bandFromMs: Uint64,
    /** Parameters that follow volatility (src/execution/steward.ts) and their bound period. */
    autoVolBps: Uint32,
    scaleBps: Uint32,
    autoUpdatedMs: Uint64,
    periodStartMs: Uint64,
    periodStartVolBps: Uint32,
    periodStartScaleBps: Uint32,
    /** Liquidation waits until this block time after an oracle-guard pause (0: none). */
    graceUntilMs: Uint64,
  },
  { typeName: 'RiskStateRecord' },
);
export type RiskStateRecord = ValueOf<typeof RiskStateRecordType>;
export const RiskStateRecordCodec = defineMessage({
  name: 'RiskStateRecord',
  tag: 0x0334,
  type: RiskStateRecordType,
});

/** The withdrawal slowdown's watch on the insurance fund (src/execution/steps/responses.ts). */
export const FundWatchRecordType = new ContainerType(
  { reference: Amount128, referenceMs: Uint64, throttled: Bool },
  { typeName: 'FundWatchRecord' },
);
export type FundWatchRecord = ValueOf<typeof FundWatchRecordType>;
export const FundWatchRecordCodec = defineMessage({
  name: 'FundWatchRecord',
  tag: 0x0335,
  type: FundWatchRecordType,
});

/** The head of the engine's audit log (src/execution/audit.ts): next sequence and last hash. */
export const AuditHeadRecordType = new ContainerType(
  { sequence: Uint64, hash: Bytes32 },
  { typeName: 'AuditHeadRecord' },
);
export type AuditHeadRecord = ValueOf<typeof AuditHeadRecordType>;
export const AuditHeadRecordCodec = defineMessage({
  name: 'AuditHeadRecord',
  tag: 0x0336,
  type: AuditHeadRecordType,
});

export const EngineSnapshotType = new ContainerType(
  {
    chainId: Uint64,
    operator: Bytes32,
    /** Governance's committed record (src/execution/governance.ts). */
    governance: GovernanceRecordType,
    startTimeMs: Uint64,
    params: EngineParametersType,
    underlyings: new ListCompositeType(UnderlyingSnapshotType, SNAPSHOT_UNDERLYINGS_MAX),
    height: Uint64,
    timeMs: Uint64,
    totalDeposits: Amount128,
    totalWithdrawals: Amount128,
    feePool: Amount128,
    insuranceFund: Amount128,
    socializedLossTotal: Amount128,
    unrecoveredLoss: Amount128,
    nextOrderId: Uint64,
    nextSeriesId: Uint32,
    /** In creation order: an account's position in this list is its index. */
    accounts: new ListCompositeType(AccountRecordType, SNAPSHOT_ACCOUNTS_MAX),
    series: new ListCompositeType(SeriesSnapshotType, SNAPSHOT_SERIES_MAX),
    /** Per series (ascending id): bids best level first, then asks; each level oldest first. */
    orders: new ListCompositeType(OrderRecordType, SNAPSHOT_ORDERS_MAX),
    indexes: new ListCompositeType(IndexSnapshotType, SNAPSHOT_UNDERLYINGS_MAX),
    samples: new ListCompositeType(SampleListSnapshotType, SNAPSHOT_UNDERLYINGS_MAX),
    /** Per underlying (ascending id), the automatic responses' state, as committed. */
    risk: new ListCompositeType(RiskStateRecordType, SNAPSHOT_UNDERLYINGS_MAX),
    fundWatch: FundWatchRecordType,
    auditHead: AuditHeadRecordType,
    /** The vault nonces the bridge credited (src/execution/actions/deposit.ts). */
    creditedDeposits: CreditedDepositsRecordType,
    /** The checkpoint period's withdrawals (src/execution/withdrawals.ts): one with a bridge, else none. */
    withdrawals: new ListCompositeType(WithdrawalsRecordType, 1),
    /**
     * Registered ownership commitments (src/execution/account-tree.ts) by ascending account index,
     * each 32 bytes big-endian; the Poseidon tree is rebuilt from them and the accounts.
     */
    commitments: new ListCompositeType(
      new ContainerType({ index: Uint64, commitment: Bytes32 }, { typeName: 'CommitmentSnapshot' }),
      SNAPSHOT_ACCOUNTS_MAX,
    ),
    /** The consensus validator set (src/execution/validator-set.ts); empty when genesis names none. */
    validatorSet: new ListCompositeType(ValidatorSetRecordType, 1),
    /** The state root the engine had when the snapshot was taken; a restore must reproduce it. */
    stateRoot: Bytes32,
  },
  { typeName: 'EngineSnapshot' },
);
export type EngineSnapshot = ValueOf<typeof EngineSnapshotType>;

function signedProblem(value: SignedInt, field: string) {
  return value.negative && value.magnitude === 0 ? { field, reason: 'negative zero' } : undefined;
}

export const EngineSnapshotCodec = defineMessage({
  name: 'EngineSnapshot',
  tag: 0x0330,
  type: EngineSnapshotType,
  maxBytes: SNAPSHOT_MAX_BYTES,
  validate: (value) => {
    for (const [i, underlying] of value.underlyings.entries()) {
      const problem =
        signedProblem(underlying.rateBps, `underlyings[${i}].rateBps`) ??
        underlying.pmSpotMovesBps
          .map((move, j) => signedProblem(move, `underlyings[${i}].pmSpotMovesBps[${j}]`))
          .find((p) => p !== undefined);
      if (problem !== undefined) return problem;
    }
    return undefined;
  },
});

/*
 * State records that make the root cover everything future blocks depend on (see engine.ts,
 * "State commitment").
 */

/** One settlement sample of an underlying, under (underlying, sequence). */
export const SampleRecordType = new ContainerType(
  { underlyingId: Uint16, sequence: Uint64, timeMs: Uint64, price: Uint64, valid: Bool },
  { typeName: 'SampleRecord' },
);
export type SampleRecord = ValueOf<typeof SampleRecordType>;
export const SampleRecordCodec = defineMessage({
  name: 'SampleRecord',
  tag: 0x0331,
  type: SampleRecordType,
});

/**
 * Per underlying: when its index price was last seen valid, which samples are kept, and the end of
 * its oracle-guard pause episode (0: none).
 */
export const OracleStateRecordType = new ContainerType(
  {
    underlyingId: Uint16,
    indexBlockTimeMs: Uint64,
    firstSampleSequence: Uint64,
    nextSampleSequence: Uint64,
    guardUntilMs: Uint64,
  },
  { typeName: 'OracleStateRecord' },
);
export type OracleStateRecord = ValueOf<typeof OracleStateRecordType>;
export const OracleStateRecordCodec = defineMessage({
  name: 'OracleStateRecord',
  tag: 0x0332,
  type: OracleStateRecordType,
  validate: (value) =>
    value.firstSampleSequence > value.nextSampleSequence
      ? { field: 'firstSampleSequence', reason: 'after nextSampleSequence' }
      : undefined,
});

/** An account's creation index, which orders liquidation and loss allocation. */
export const AccountIndexRecordType = new ContainerType(
  { index: Uint64, publicKey: Bytes32 },
  { typeName: 'AccountIndexRecord' },
);
export type AccountIndexRecord = ValueOf<typeof AccountIndexRecordType>;
export const AccountIndexRecordCodec = defineMessage({
  name: 'AccountIndexRecord',
  tag: 0x0333,
  type: AccountIndexRecordType,
});

/** Finalized blocks whose encrypted orders wait for their key, at most (src/chain/fair-batches.ts). */
export const MAX_PENDING_BATCHES = 16;
/** Envelopes one pending batch holds (a block's `MAX_BLOCK_ENVELOPES`). */
export const MAX_PENDING_BATCH_ENVELOPES = 2048;
/** Bytes of one pending batch's envelopes: a block payload's bound. */
export const MAX_PENDING_BATCH_BYTES = 1 << 20;

/** A finalized block's admitted encrypted orders, in block order, waiting for their keys. */
export const PendingBatchType = new ContainerType(
  {
    height: Uint64,
    envelopes: new ListCompositeType(
      new ByteListType(SignedOrderEnvelopeCodec.maxBytes),
      MAX_PENDING_BATCH_ENVELOPES,
    ),
  },
  { typeName: 'PendingBatch' },
);
export type PendingBatch = ValueOf<typeof PendingBatchType>;
export const PendingBatchListType = new ListCompositeType(PendingBatchType, MAX_PENDING_BATCHES);

/** Recorded eons a state keeps at most: the previous, the current and the next window's. */
export const MAX_SCHEDULED_EONS = 4;

/** An eon keyset a block recorded (src/chain/eon-schedule.ts), as a snapshot keeps it. */
export const ScheduledEonType = new ContainerType(
  {
    fromHeight: Uint64,
    recordedAt: Uint64,
    /** The `EonActivation` encoding the block carried. */
    activation: new ByteListType(EonActivationCodec.maxBytes),
    /** The window's validator identity keys, by keyper index. */
    validators: new ListCompositeType(Bytes32, 256),
  },
  { typeName: 'ScheduledEon' },
);
export type ScheduledEonRecord = ValueOf<typeof ScheduledEonType>;

/**
 * What a validator stores every K finalized blocks: the engine snapshot, the oracle aggregation
 * state the next block's aggregate depends on (the previous aggregate per asset, EMA included),
 * and the encrypted batches still waiting for their keys, ascending by height.
 */
export const NodeSnapshotType = new ContainerType(
  {
    height: Uint64,
    /** An encoded `EngineSnapshot`. */
    engine: new ByteListType(SNAPSHOT_MAX_BYTES),
    /** Previous aggregate per asset, ascending asset id, as `aggregateBlock` wants them. */
    prices: new ListCompositeType(AggregatePriceType, SNAPSHOT_UNDERLYINGS_MAX),
    pendingBatches: PendingBatchListType,
    /** The eons recorded on chain and still needed, ascending (src/chain/eon-schedule.ts). */
    eons: new ListCompositeType(ScheduledEonType, MAX_SCHEDULED_EONS),
  },
  { typeName: 'NodeSnapshot' },
);
export type NodeSnapshot = ValueOf<typeof NodeSnapshotType>;
export const NodeSnapshotCodec = defineMessage({
  name: 'NodeSnapshot',
  tag: 0x0580,
  type: NodeSnapshotType,
  maxBytes:
    SNAPSHOT_MAX_BYTES +
    64 * 1024 +
    MAX_PENDING_BATCHES * MAX_PENDING_BATCH_BYTES +
    MAX_SCHEDULED_EONS * (EonActivationCodec.maxBytes + 256 * 32 + 64),
  validate(value) {
    for (let i = 0; i < value.pendingBatches.length; i++) {
      const batch = value.pendingBatches[i]!;
      if (i > 0 && batch.height <= value.pendingBatches[i - 1]!.height)
        return { field: `pendingBatches[${i}].height`, reason: 'must ascend strictly' };
      if (batch.height > value.height)
        return { field: `pendingBatches[${i}].height`, reason: 'above the snapshot' };
      if (batch.envelopes.length === 0)
        return { field: `pendingBatches[${i}].envelopes`, reason: 'must not be empty' };
    }
    return undefined;
  },
});
