/** Block step 2, expiry and settlement (engine.ts header; rules in src/execution/settlement.ts). */
import { SERIES_STATUS } from '../../codec/execution.ts';
import { invariant } from '../../codec/invariant.ts';
import { settlementPrice } from '../settlement.ts';
import { E12, type EngineState } from '../state.ts';
import { removeOrder, setPosition } from '../trading.ts';

/**
 * Expired series stop trading and settle by the rules of src/execution/settlement.ts: the
 * window's TWAP, else the extended window's, else (after the fallback delay) the last valid
 * index price. Settlement is zero-sum per lot; a short left negative is a loss (losses step).
 */
export function processExpiries(s: EngineState): void {
  const due = [...s.seriesById.values()]
    .filter((series) => series.status !== SERIES_STATUS.settled && series.expiryMs <= s.timeMs)
    .sort((a, b) => a.seriesId - b.seriesId);
  for (const series of due) {
    if (series.status === SERIES_STATUS.active) {
      for (const order of series.book.orders().sort((a, b) => a.orderId - b.orderId))
        removeOrder(s, order, 'expiry');
      series.status = SERIES_STATUS.expired;
      s.dirtySeries.add(series);
      s.events.push({ type: 'expired', seriesId: series.seriesId });
    }
    const underlyingId = series.underlying.underlyingId;
    const twap = settlementPrice(
      s.samples.get(underlyingId) ?? [],
      series.expiryMs,
      s.timeMs,
      s.params,
      s.indexPrices.get(underlyingId)?.price,
      series.openInterestLots,
    );
    if (twap === undefined) {
      s.events.push({ type: 'settlementWaiting', seriesId: series.seriesId, reason: 'NO_VALID_PRICE' });
      continue;
    }
    if (twap.rule !== 'window')
      s.events.push({ type: 'settlementFallback', seriesId: series.seriesId, rule: twap.rule });
    const intrinsic = series.isCall ? twap.price - series.strike : series.strike - twap.price;
    // Floor per lot: longs receive and shorts pay the same whole amount, so settlement is zero-sum.
    const payoffPerLot = intrinsic > 0n ? (intrinsic * series.lotUnderlyingE12) / E12 : 0n;
    s.events.push({
      type: 'settlement',
      seriesId: series.seriesId,
      settlementPrice: twap.price,
      coveredMs: twap.coveredMs,
      payoffPerLot,
    });
    for (const index of [...series.holders].sort((a, b) => a - b)) {
      const account = s.accountsByIndex[index]!;
      const lots = account.positions.get(series.seriesId) ?? 0;
      const cash = BigInt(lots) * payoffPerLot;
      account.balance += cash;
      setPosition(s, account, series, 0, 0n);
      s.events.push({ type: 'positionSettled', seriesId: series.seriesId, account: account.key, lots, cash });
    }
    invariant(series.openInterestLots === 0, 'settled series keeps open interest');
    series.status = SERIES_STATUS.settled;
    series.settlementPrice = twap.price;
    s.markCache.delete(series.seriesId);
    s.dirtySeries.add(series);
  }
}
