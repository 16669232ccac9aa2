/**
 * Snapshots (src/codec/snapshot.ts): the whole state in canonical bytes, and loading them back
 * with every field checked for consistency (a snapshot that decodes but cannot be a state is a
 * `SnapshotError`).
 */
import { decodeGovernanceAction, MARGIN_MODE, SERIES_STATUS } from '../codec/execution.ts';
import {
  EngineParametersType,
  type EngineSnapshot,
  EngineSnapshotCodec,
  type SignedInt,
  type UnderlyingSnapshot,
  UnderlyingSnapshotType,
} from '../codec/snapshot.ts';
import { FIELD_ORDER } from '../crypto/poseidon-tree.ts';
import { bytesToField, fieldToBytes, registerOwner } from './account-tree.ts';
import { createAccount } from './accounts.ts';
import { BUY, SELL } from './book.ts';
import { governanceConfigProblem, governanceFromRecord, governanceRecord } from './governance.ts';
import { accountRecord, orderRecord, riskRecord, seriesRecord, textEncoder } from './records.ts';
import { addSeries } from './series.ts';
import { type EngineState, hexKey } from './state.ts';
import { creditedDepositsRecord } from './steps/commit.ts';
import { setPosition } from './trading.ts';
import type { EngineGenesis, UnderlyingConfig } from './types.ts';
import { validatorSetFromRecord, validatorSetRecord } from './validator-set.ts';
import { MAX_VARIANCE } from './volatility.ts';
import { withdrawalsRecord } from './withdrawals.ts';

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

export function inconsistent(condition: unknown, field: string, detail: string): asserts condition {
  if (!condition) throw new SnapshotError('INCONSISTENT_SNAPSHOT', field, detail);
}

function toSigned(value: number): SignedInt {
  return { negative: value < 0, magnitude: Math.abs(value) };
}
function fromSigned(value: SignedInt): number {
  return value.negative ? -value.magnitude : value.magnitude;
}

export function underlyingSnapshot(underlying: UnderlyingConfig): UnderlyingSnapshot {
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

export function underlyingFromSnapshot(value: UnderlyingSnapshot): UnderlyingConfig {
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
export function configBytes(genesis: Pick<EngineGenesis, 'params' | 'underlyings'>): Uint8Array[] {
  return [
    EngineParametersType.serialize({ ...genesis.params }),
    ...genesis.underlyings.map((u) => UnderlyingSnapshotType.serialize(underlyingSnapshot(u))),
  ];
}

/** Rebuilds the state a snapshot holds; everything it loads is marked dirty and committed afresh. */
export function loadSnapshot(s: EngineState, snapshot: EngineSnapshot): void {
  s.height = snapshot.height;
  s.timeMs = snapshot.timeMs;
  s.totalDeposits = snapshot.totalDeposits;
  s.totalWithdrawals = snapshot.totalWithdrawals;
  s.feePool = snapshot.feePool;
  s.insuranceFund = snapshot.insuranceFund;
  s.socializedLossTotal = snapshot.socializedLossTotal;
  s.unrecoveredLoss = snapshot.unrecoveredLoss;
  s.nextOrderId = snapshot.nextOrderId;
  s.nextSeriesId = snapshot.nextSeriesId;
  inconsistent(s.timeMs >= s.startTimeMs, 'timeMs', 'before the chain started');
  const validators = snapshot.validatorSet[0];
  s.validatorSet = validators === undefined ? undefined : validatorSetFromRecord(validators);
  loadSeries(s, snapshot);
  loadAccounts(s, snapshot);
  loadOrders(s, snapshot);
  loadOracle(s, snapshot);
  loadRisk(s, snapshot);
  loadGovernance(s, snapshot);
  loadCommitments(s, snapshot);
}

/** Ownership commitments: each of an existing account, in the field, not 0, not shared. */
function loadCommitments(s: EngineState, snapshot: EngineSnapshot): void {
  let previous = -1;
  for (const [i, entry] of snapshot.commitments.entries()) {
    const field = `commitments[${i}]`;
    const account = s.accountsByIndex[entry.index];
    inconsistent(entry.index > previous, `${field}.index`, 'not ascending');
    inconsistent(account !== undefined, `${field}.index`, 'no such account');
    const commitment = bytesToField(entry.commitment);
    inconsistent(commitment !== 0n && commitment < FIELD_ORDER, `${field}.commitment`, 'not a commitment');
    inconsistent(!s.accountTree.owners.has(commitment.toString()), `${field}.commitment`, 'shared');
    registerOwner(s, account, commitment);
    previous = entry.index;
  }
}

/** Governance's record: its sets must be usable, its queue decodable, its halts known underlyings. */
function loadGovernance(s: EngineState, snapshot: EngineSnapshot): void {
  const loaded = governanceFromRecord(snapshot.governance);
  const problem = governanceConfigProblem(loaded.config);
  inconsistent(problem === undefined, 'governance.config', problem ?? '');
  for (const [i, entry] of loaded.queue.entries()) {
    try {
      decodeGovernanceAction(entry.action);
    } catch (cause) {
      throw new SnapshotError('INCONSISTENT_SNAPSHOT', `governance.queue[${i}]`, 'not a governance action', {
        cause,
      });
    }
  }
  for (const underlyingId of loaded.halted)
    inconsistent(
      underlyingId === 0 || s.underlyings.has(underlyingId),
      'governance.halted',
      'unknown underlying',
    );
  for (const [name, value] of loaded.parameters)
    inconsistent(
      (s.params as unknown as Record<string, number>)[name] === value,
      `governance.parameters.${name}`,
      'the parameters do not hold it',
    );
  s.governance.config = loaded.config;
  s.governance.used = loaded.used;
  s.governance.queue = loaded.queue;
  s.governance.parameters = loaded.parameters;
  for (const underlyingId of loaded.halted) s.governance.halted.add(underlyingId);
  s.governance.dirty = true;
}

/** The automatic responses' state: exactly one record per configured underlying. */
function loadRisk(s: EngineState, snapshot: EngineSnapshot): void {
  for (const [i, record] of snapshot.risk.entries()) {
    const field = `risk[${i}]`;
    inconsistent(s.underlyings.has(record.underlyingId), `${field}.underlyingId`, 'unknown underlying');
    inconsistent(!s.risk.has(record.underlyingId), `${field}.underlyingId`, 'repeated');
    inconsistent(record.variance <= MAX_VARIANCE, `${field}.variance`, 'above the cap');
    inconsistent(
      record.scaleBps >= 10_000 && record.periodStartScaleBps >= 10_000,
      `${field}.scaleBps`,
      'below 1×',
    );
    s.risk.set(record.underlyingId, {
      variance: record.variance,
      samplePrice: BigInt(record.samplePrice),
      samplePriceTimeMs: record.samplePriceTimeMs,
      haltedUntilMs: record.haltedUntilMs,
      bandFromMs: record.bandFromMs,
      autoVolBps: record.autoVolBps,
      scaleBps: record.scaleBps,
      autoUpdatedMs: record.autoUpdatedMs,
      periodStartMs: record.periodStartMs,
      periodStartVolBps: record.periodStartVolBps,
      periodStartScaleBps: record.periodStartScaleBps,
      graceUntilMs: record.graceUntilMs,
    });
    s.dirtyRisk.add(record.underlyingId);
  }
  inconsistent(s.risk.size === s.underlyings.size, 'risk', 'not one record per underlying');
  s.fundWatch.reference = snapshot.fundWatch.reference;
  s.fundWatch.referenceMs = snapshot.fundWatch.referenceMs;
  s.fundWatch.throttled = snapshot.fundWatch.throttled;
  s.auditHead.sequence = snapshot.auditHead.sequence;
  s.auditHead.hash = Uint8Array.from(snapshot.auditHead.hash);
  const credited = snapshot.creditedDeposits;
  s.creditedDeposits.watermark = credited.watermark;
  for (const nonce of credited.above) s.creditedDeposits.above.add(nonce);
  s.creditedDeposits.dirty = credited.watermark > 0 || credited.above.length > 0;
  loadWithdrawals(s, snapshot);
}

/** The withdrawals list: present exactly when the configuration names a bridge. */
function loadWithdrawals(s: EngineState, snapshot: EngineSnapshot): void {
  const record = snapshot.withdrawals[0];
  const withdrawals = s.withdrawals;
  inconsistent((record === undefined) === (withdrawals === undefined), 'withdrawals', 'bridge mismatch');
  if (record === undefined || withdrawals === undefined) return;
  withdrawals.nextId = record.nextId;
  withdrawals.checkpointHeight = record.checkpointHeight;
  withdrawals.entries = record.entries.map((entry) => ({
    id: entry.id,
    recipient: Uint8Array.from(entry.recipient),
    token: Uint8Array.from(entry.token),
    amount: entry.amount,
  }));
  withdrawals.withdrawers = record.withdrawers.slice();
  withdrawals.perAccount = new Map();
  for (const index of withdrawals.withdrawers)
    withdrawals.perAccount.set(index, (withdrawals.perAccount.get(index) ?? 0) + 1);
  withdrawals.dirty = true;
}

/** Series, before the accounts whose positions name them. */
function loadSeries(s: EngineState, snapshot: EngineSnapshot): void {
  for (const [i, record] of snapshot.series.entries()) {
    const r = record.record;
    inconsistent(r.seriesId > 0 && r.seriesId < s.nextSeriesId, `series[${i}].seriesId`, 'not a listed id');
    inconsistent(s.underlyings.has(r.underlyingId), `series[${i}].underlyingId`, 'unknown underlying');
    inconsistent(r.status <= SERIES_STATUS.settled, `series[${i}].status`, 'unknown status');
    inconsistent(!s.seriesById.has(r.seriesId), `series[${i}].seriesId`, 'repeated');
    const series = addSeries(s, r.seriesId, { ...r }, record.bookSequence);
    series.markVolBps = r.markVolBps;
    series.markVolSetMs = r.markVolSetMs;
    series.status = r.status;
    series.settlementPrice = BigInt(r.settlementPrice);
  }
}

/** Accounts with their positions (and entry costs); open interest must then match the positions. */
function loadAccounts(s: EngineState, snapshot: EngineSnapshot): void {
  for (const [i, record] of snapshot.accounts.entries()) {
    inconsistent(!s.accounts.has(hexKey(record.publicKey)), `accounts[${i}].publicKey`, 'repeated');
    inconsistent(record.marginMode <= MARGIN_MODE.portfolio, `accounts[${i}].marginMode`, 'unknown mode');
    inconsistent(
      !record.balance.negative || record.balance.magnitude > 0n,
      `accounts[${i}].balance`,
      'negative zero',
    );
    const account = createAccount(s, record.publicKey);
    account.nonce = record.nonce;
    account.balance = record.balance.negative ? -record.balance.magnitude : record.balance.magnitude;
    account.marginMode =
      record.marginMode === MARGIN_MODE.portfolio ? MARGIN_MODE.portfolio : MARGIN_MODE.standard;
    account.clientOrderIds = record.clientOrderIds.map((entry) => ({ ...entry }));
    for (const [j, position] of record.positions.entries()) {
      const series = s.seriesById.get(position.seriesId);
      const field = `accounts[${i}].positions[${j}]`;
      inconsistent(series !== undefined, field, 'unknown series');
      inconsistent(
        position.lots > 0 && !account.positions.has(position.seriesId),
        field,
        'empty or repeated',
      );
      setPosition(s, account, series, position.short ? -position.lots : position.lots, 0n);
      const cost = position.entryCost;
      inconsistent(!cost.negative || cost.magnitude > 0n, `${field}.entryCost`, 'negative zero');
      account.entryCosts.set(position.seriesId, cost.negative ? -cost.magnitude : cost.magnitude);
    }
  }
  for (const [i, record] of snapshot.series.entries()) {
    const series = s.seriesById.get(record.record.seriesId)!;
    inconsistent(
      series.openInterestLots === record.record.openInterestLots,
      `series[${i}].openInterestLots`,
      'does not match the positions',
    );
  }
}

/** Resting orders, each in a trading series and owned by a known account. */
function loadOrders(s: EngineState, snapshot: EngineSnapshot): void {
  for (const [i, record] of snapshot.orders.entries()) {
    const field = `orders[${i}]`;
    const series = s.seriesById.get(record.seriesId);
    const owner = s.accounts.get(hexKey(record.owner));
    inconsistent(
      series !== undefined && series.status === SERIES_STATUS.active,
      field,
      'not a trading series',
    );
    inconsistent(owner !== undefined, `${field}.owner`, 'unknown account');
    inconsistent(
      record.orderId > 0 && record.orderId < s.nextOrderId,
      `${field}.orderId`,
      'not an issued id',
    );
    inconsistent(!s.orderSeries.has(record.orderId), `${field}.orderId`, 'repeated');
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
    s.orderSeries.set(record.orderId, series);
    s.dirtyOrders.set(record.orderId, resting);
  }
}

/** Index prices, settlement samples and oracle-guard pauses, per underlying. */
function loadOracle(s: EngineState, snapshot: EngineSnapshot): void {
  for (const [i, record] of snapshot.indexes.entries()) {
    inconsistent(s.underlyings.has(record.underlyingId), `indexes[${i}].underlyingId`, 'unknown underlying');
    inconsistent(!s.indexPrices.has(record.underlyingId), `indexes[${i}].underlyingId`, 'repeated');
    s.indexPrices.set(record.underlyingId, {
      price: BigInt(record.price),
      blockTimeMs: record.blockTimeMs,
      publishTimeMs: record.publishTimeMs,
    });
    s.dirtyIndexes.add(record.underlyingId);
    s.dirtyOracle.add(record.underlyingId);
  }
  for (const [i, record] of snapshot.samples.entries()) {
    inconsistent(s.underlyings.has(record.underlyingId), `samples[${i}].underlyingId`, 'unknown underlying');
    inconsistent(!s.samples.has(record.underlyingId), `samples[${i}].underlyingId`, 'repeated');
    const list = record.samples.map((sample) => ({
      timeMs: sample.timeMs,
      price: BigInt(sample.price),
      valid: sample.valid,
    }));
    s.samples.set(record.underlyingId, list);
    s.sampleBase.set(record.underlyingId, record.firstSequence);
    if (record.guardUntilMs !== 0) s.guardUntil.set(record.underlyingId, record.guardUntilMs);
    for (const [j, sample] of list.entries())
      s.sampleWrites.push({ underlyingId: record.underlyingId, sequence: record.firstSequence + j, sample });
    s.dirtyOracle.add(record.underlyingId);
  }
}

export function snapshotBytes(s: EngineState): Uint8Array {
  const seriesList = [...s.seriesById.values()].sort((a, b) => a.seriesId - b.seriesId);
  const byUnderlying = <T>(map: Map<number, T>) => [...map.entries()].sort((a, b) => a[0] - b[0]);
  const value: EngineSnapshot = {
    chainId: s.chainId,
    operator: s.operator,
    governance: governanceRecord(s.governance),
    validatorSet: s.validatorSet === undefined ? [] : [validatorSetRecord(s.validatorSet)],
    startTimeMs: s.startTimeMs,
    params: { ...s.params },
    underlyings: [...s.underlyings.values()].map(underlyingSnapshot),
    height: s.height,
    timeMs: s.timeMs,
    totalDeposits: s.totalDeposits,
    totalWithdrawals: s.totalWithdrawals,
    feePool: s.feePool,
    insuranceFund: s.insuranceFund,
    socializedLossTotal: s.socializedLossTotal,
    unrecoveredLoss: s.unrecoveredLoss,
    nextOrderId: s.nextOrderId,
    nextSeriesId: s.nextSeriesId,
    accounts: s.accountsByIndex.map((account) => accountRecord(account)),
    series: seriesList.map((series) => ({
      record: seriesRecord(series),
      bookSequence: series.book.sequence,
    })),
    orders: seriesList.flatMap((series) =>
      series.book.orders().map((order) => orderRecord(s, order, series)),
    ),
    indexes: byUnderlying(s.indexPrices).map(([underlyingId, entry]) => ({
      underlyingId,
      price: Number(entry.price),
      publishTimeMs: entry.publishTimeMs,
      blockTimeMs: entry.blockTimeMs,
    })),
    samples: byUnderlying(s.samples).map(([underlyingId, list]) => ({
      underlyingId,
      firstSequence: s.sampleBase.get(underlyingId) ?? 0,
      samples: list.map((sample) => ({
        timeMs: sample.timeMs,
        price: Number(sample.price),
        valid: sample.valid,
      })),
      guardUntilMs: s.guardUntil.get(underlyingId) ?? 0,
    })),
    risk: byUnderlying(s.risk).map(([underlyingId, risk]) => riskRecord(underlyingId, risk)),
    fundWatch: { ...s.fundWatch },
    auditHead: { sequence: s.auditHead.sequence, hash: s.auditHead.hash },
    creditedDeposits: creditedDepositsRecord(s),
    withdrawals: s.withdrawals === undefined ? [] : [withdrawalsRecord(s.withdrawals)],
    commitments: [...s.accountTree.commitments.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, commitment]) => ({ index, commitment: fieldToBytes(commitment) })),
    stateRoot: s.commitment.root(),
  };
  return EngineSnapshotCodec.encode(value);
}
