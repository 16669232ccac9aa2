/** Read-only views of the state for the API, the dashboard and tests; never part of the root. */
import { MARGIN_MODE, SERIES_STATUS } from '../codec/execution.ts';
import { divFloor, type Fixed, ONE } from '../std/fixed.ts';
import { assess } from './assess.ts';
import { BUY } from './book.ts';
import { yearsBetween } from './margin.ts';
import { markOf } from './marks.ts';
import type { Account, EngineState } from './state.ts';
import { E6 } from './state.ts';
import { volBpsOfVariance } from './volatility.ts';

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
  /**
   * What the mark was priced from, when the index is known: the index in quote base units per
   * unit of the underlying, and the rate, volatility and years to expiry (fixed point), so a
   * reader can derive the greeks the mark implies.
   */
  pricing?: { spot: bigint; rate: Fixed; volatility: Fixed; years: Fixed };
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

export function accountView(s: EngineState, account: Account): AccountView {
  const assessment = assess(s, account);
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
        seriesId: s.orderSeries.get(order.orderId)!.seriesId,
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

/** Every series, with its mark price when its index is live. */
export function seriesViews(s: EngineState): SeriesView[] {
  return [...s.seriesById.values()].map((series) => {
    const mark = series.status === SERIES_STATUS.settled ? undefined : markOf(s, series);
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
    if (mark !== undefined) {
      view.markPrice = divFloor(mark.markPerUnit * BigInt(series.multiplierE6), E6 * ONE);
      const { spot, rate, volatility, nowMs, expiryMs } = mark.market;
      view.pricing = { spot, rate, volatility, years: yearsBetween(nowMs, expiryMs) };
    }
    return view;
  });
}

/** An underlying's automatic-response state (issue 15). */
export interface RiskView {
  underlyingId: number;
  /** The EWMA volatility of index returns, annualised, in basis points (src/execution/volatility.ts). */
  ewmaVolBps: number;
  /** Block time of the EWMA's last sample (0: none yet). */
  sampleTimeMs: number;
  /** End of a circuit-breaker halt of its series (0: trading), src/execution/breaker.ts. */
  haltedUntilMs: number;
  /** Parameters that follow volatility (src/execution/steward.ts): mark-volatility floor, band and IM scale. */
  autoVolBps: number;
  scaleBps: number;
}

export function riskView(s: EngineState, underlyingId: number): RiskView | undefined {
  const risk = s.risk.get(underlyingId);
  if (risk === undefined) return undefined;
  return {
    underlyingId,
    ewmaVolBps: volBpsOfVariance(risk.variance),
    sampleTimeMs: risk.samplePriceTimeMs,
    haltedUntilMs: risk.haltedUntilMs,
    autoVolBps: risk.autoVolBps,
    scaleBps: risk.scaleBps,
  };
}

export function ledgerView(s: EngineState): LedgerView {
  return {
    height: s.height,
    timeMs: s.timeMs,
    totalDeposits: s.totalDeposits,
    totalWithdrawals: s.totalWithdrawals,
    feePool: s.feePool,
    insuranceFund: s.insuranceFund,
    socializedLossTotal: s.socializedLossTotal,
    unrecoveredLoss: s.unrecoveredLoss,
    totalBalances: s.accountsByIndex.reduce((sum, a) => sum + a.balance, 0n),
  };
}
