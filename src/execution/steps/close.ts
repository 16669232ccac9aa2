/**
 * One liquidation step on one position: the insurance fund covers a bankrupt account first; then
 * the book within the liquidation band and the bankruptcy price, else the backstop, else ADL.
 */
import { SERIES_STATUS } from '../../codec/execution.ts';
import { divCeil, min, ONE } from '../../std/fixed.ts';
import { assess } from '../assess.ts';
import { BUY, SELL, type Side } from '../book.ts';
import { bankruptcyLimitTicks, cappedPenalty } from '../liquidation.ts';
import { liveIndex, markOf } from '../marks.ts';
import {
  type Account,
  type Assessment,
  BACKSTOP_KEY,
  BPS,
  E12,
  type EngineState,
  type Series,
} from '../state.ts';
import { bandTicks, matchCallbacks } from '../trading.ts';
import { backstopStep } from './backstop.ts';
import { deleverageStep } from './deleverage.ts';

/**
 * One liquidation step on one position: the fund covers a bankrupt account's deficit as far as
 * it can; then the book or the backstop while the equity is not negative, else ADL. Returns the
 * lots closed (0: nothing could be done).
 */
export function closeStep(s: EngineState, account: Account, series: Series, state: Assessment): number {
  const position = account.positions.get(series.seriesId) ?? 0;
  const mark = markOf(s, series);
  if (position === 0 || mark === undefined || series.status !== SERIES_STATUS.active) return 0;
  const isBackstop = account.key === BACKSTOP_KEY;
  const buying = position < 0;
  const side: Side = buying ? BUY : SELL;
  const lots = Math.min(Math.abs(position), s.params.liquidationStepLots);
  let equity = state.equity;
  if (equity < 0n && !isBackstop) {
    const cover = min(-equity, s.insuranceFund);
    if (cover > 0n) {
      s.insuranceFund -= cover;
      account.balance += cover;
      equity += cover;
      s.dirtyAccounts.add(account);
      s.events.push({ type: 'insuranceCover', account: account.key, amount: cover });
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
    const limit = bound(bandTicks(mark, side, s.params.liquidationBandBps));
    const filled = bookStep(s, account, series, side, lots, limit, state);
    if (filled > 0) return filled;
    if (!isBackstop) {
      // The fund takes as much of the step as it can carry (halving: at most log2(step) + 1 tries).
      const price = bound(bandTicks(mark, side, s.params.backstopBandBps));
      for (let k = lots; k >= 1; k = Math.floor(k / 2))
        if (backstopStep(s, account, series, buying, k, price)) return k;
    }
  }
  return deleverageStep(s, account, series, mark, lots, equity);
}

/** Closes up to `lots` in the book at `limit` or better; the penalty is capped by the value closed. */
export function bookStep(
  s: EngineState,
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
    matchCallbacks(s, series, account, side, 0, false),
  );
  const filled = lots - remaining;
  if (filled === 0) return 0;
  // No taker fee and no own orders (cancelled): the balance moved by exactly the premium.
  const valueClosed =
    balanceBefore > account.balance ? balanceBefore - account.balance : account.balance - balanceBefore;
  const spot = liveIndex(s, series.underlying.underlyingId) ?? 0n;
  const notionalPenalty = divCeil(
    BigInt(s.params.liquidationPenaltyBps) * spot * BigInt(filled) * series.lotUnderlyingE12,
    E12 * BPS,
  );
  const afterFill = assess(s, account);
  // The backstop's penalty would only move the fund's own money from one pocket to the other.
  const penalty =
    account.key === BACKSTOP_KEY ? 0n : cappedPenalty(notionalPenalty, valueClosed, afterFill?.equity ?? 0n);
  account.balance -= penalty;
  s.insuranceFund += penalty;
  s.dirtyAccounts.add(account);
  s.events.push({
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
