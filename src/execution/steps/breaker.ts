/**
 * Circuit breakers (rules: src/execution/breaker.ts): the breach check on every accepted index price
 * (called from step 1, steps/oracle.ts), and step 2b, the reopening of halted underlyings through a
 * call auction per series, after expiry and before the block's transactions.
 */
import { SERIES_STATUS } from '../../codec/execution.ts';
import { BUY, type RestingOrder, SELL } from '../book.ts';
import { type BreakerBand, breaches, breakerWidthBps, uncrossingPrice } from '../breaker.ts';
import { markOf } from '../marks.ts';
import { inBand } from '../risk.ts';
import type { EngineState, Series } from '../state.ts';
import { bookFill, makerRefusal, priceBandOf, reduceOnlyCapacity, removeOrder } from '../trading.ts';
import type { CancelReason } from '../types.ts';

/** Whether the underlying's circuit breaker halts its series now. */
export function halted(s: EngineState, underlyingId: number): boolean {
  return (s.risk.get(underlyingId)?.haltedUntilMs ?? 0) !== 0;
}

/** The breaker's band now: the rolling low and high of valid samples in the window (since the last halt or reopening), or none. */
export function breakerBand(s: EngineState, underlyingId: number): BreakerBand | undefined {
  const risk = s.risk.get(underlyingId)!;
  if (s.params.breakerWindowMs === 0) return undefined;
  const fromMs = Math.max(s.timeMs - s.params.breakerWindowMs, risk.bandFromMs);
  const list = s.samples.get(underlyingId) ?? [];
  let low: bigint | undefined;
  let high: bigint | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const sample = list[i]!;
    if (sample.timeMs < fromMs) break;
    if (!sample.valid) continue;
    if (low === undefined || sample.price < low) low = sample.price;
    if (high === undefined || sample.price > high) high = sample.price;
  }
  if (low === undefined || high === undefined) return undefined;
  const p = s.params;
  const widthBps = breakerWidthBps(
    risk.variance,
    p.breakerWindowMs,
    p.breakerVolMultipleBps,
    p.breakerFloorBps,
    p.breakerMaxBps,
  );
  return { low, high, widthBps };
}

/** An accepted index price of `underlyingId` (before its sample is kept): a breach starts a halt. */
export function checkBreaker(s: EngineState, underlyingId: number, price: bigint): void {
  if (halted(s, underlyingId) || s.params.breakerHaltMs === 0) return;
  const band = breakerBand(s, underlyingId);
  if (band === undefined || !breaches(price, band)) return;
  const risk = s.risk.get(underlyingId)!;
  risk.haltedUntilMs = s.timeMs + s.params.breakerHaltMs;
  risk.bandFromMs = s.timeMs;
  s.dirtyRisk.add(underlyingId);
  s.events.push({
    type: 'circuitBreakerHalt',
    underlyingId,
    price,
    low: band.low,
    high: band.high,
    widthBps: band.widthBps,
    untilMs: risk.haltedUntilMs,
  });
}

/** Step 2b: halts that have run their time end with a call auction on each series (ascending id). */
export function reopenMarkets(s: EngineState): void {
  for (const [underlyingId, risk] of [...s.risk].sort((a, b) => a[0] - b[0])) {
    if (risk.haltedUntilMs === 0 || s.timeMs < risk.haltedUntilMs) continue;
    const series = [...s.seriesById.values()]
      .filter((x) => x.underlying.underlyingId === underlyingId && x.status === SERIES_STATUS.active)
      .sort((a, b) => a.seriesId - b.seriesId);
    // An auction needs the mark's band; without a live index the market stays halted.
    if (series.some((x) => markOf(s, x) === undefined)) continue;
    for (const x of series) callAuction(s, x);
    risk.haltedUntilMs = 0;
    // The band's reference starts afresh at the reopening.
    risk.bandFromMs = s.timeMs;
    s.dirtyRisk.add(underlyingId);
    s.events.push({ type: 'circuitBreakerReopen', underlyingId });
  }
}

/** Uncrosses the series' book at one price (src/execution/breaker.ts), again until it is not crossed. */
export function callAuction(s: EngineState, series: Series): void {
  const mark = markOf(s, series)!;
  const band = priceBandOf(s, mark);
  const book = series.book;
  for (;;) {
    const levels = (side: typeof BUY | typeof SELL) =>
      book.depth(side, Number.MAX_SAFE_INTEGER).map(([price, lots]) => [price, lots] as const);
    const uncross = uncrossingPrice(levels(BUY), levels(SELL), mark.markTicks);
    if (uncross === undefined) return;
    const price = uncross.priceTicks;
    let traded = 0;
    for (;;) {
      const bid = book.first(BUY);
      const ask = book.first(SELL);
      if (bid === undefined || ask === undefined || bid.priceTicks < price || ask.priceTicks > price) break;
      const removal = auctionRemoval(s, series, band, bid, ask, price);
      if (removal !== undefined) {
        removeOrder(s, removal.order, removal.reason);
        continue;
      }
      const lots = auctionLots(s, bid, ask);
      const [maker, taker] = bid.sequence < ask.sequence ? [bid, ask] : [ask, bid];
      const takerAccount = s.accountsByIndex[taker.owner]!;
      book.reduce(maker, lots);
      book.reduce(taker, lots);
      bookFill(
        s,
        series,
        takerAccount,
        taker.side,
        taker.orderId,
        maker,
        lots,
        price,
        true,
        s.params.makerFeeBps,
      );
      for (const order of [maker, taker]) {
        if (order.remainingLots === 0) {
          s.accountsByIndex[order.owner]!.openOrders.delete(order.orderId);
          s.orderSeries.delete(order.orderId);
        }
      }
      s.dirtyOrders.set(taker.orderId, taker.remainingLots === 0 ? null : taker);
      s.dirtyAccounts.add(takerAccount);
      traded += lots;
    }
    if (traded > 0)
      s.events.push({ type: 'callAuction', seriesId: series.seriesId, priceTicks: price, lots: traded });
  }
}

function auctionLots(s: EngineState, bid: RestingOrder, ask: RestingOrder): number {
  let lots = Math.min(bid.remainingLots, ask.remainingLots);
  if (bid.reduceOnly) lots = Math.min(lots, reduceOnlyCapacity(s, bid));
  if (ask.reduceOnly) lots = Math.min(lots, reduceOnlyCapacity(s, ask));
  return lots;
}

/** Which of the pair must leave the book instead of trading, and why (the maker-fill rules). */
function auctionRemoval(
  s: EngineState,
  series: Series,
  band: ReturnType<typeof priceBandOf>,
  bid: RestingOrder,
  ask: RestingOrder,
  price: number,
): { order: RestingOrder; reason: CancelReason } | undefined {
  if (bid.owner === ask.owner) return { order: bid.sequence < ask.sequence ? bid : ask, reason: 'selfTrade' };
  for (const order of [bid, ask]) {
    if (!inBand(order.priceTicks, band)) return { order, reason: 'outOfBand' };
    if (order.reduceOnly && reduceOnlyCapacity(s, order) <= 0) return { order, reason: 'reduceOnly' };
  }
  const lots = auctionLots(s, bid, ask);
  for (const order of [bid, ask]) {
    const reason = makerRefusal(s, series, band, order, lots, price);
    if (reason !== undefined) return { order, reason };
  }
  return undefined;
}
