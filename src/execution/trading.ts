/**
 * Trading primitives the actions and the liquidation step share: positions (with their entry
 * cost), fills and fees, order removal, and the checks a resting order meets before each fill.
 */
import { invariant } from '../codec/invariant.ts';
import { divCeil, min } from '../std/fixed.ts';
import { whatIfRefusal } from './assess.ts';
import { BUY, type MatchCallbacks, type RestingOrder, SELL, type Side } from './book.ts';
import { liveIndex, markOf } from './marks.ts';
import { inBand, type PriceBand, priceBand } from './risk.ts';
import {
  type Account,
  BPS,
  type Change,
  E12,
  type EngineState,
  MAX_POSITIONS_PER_ACCOUNT,
  type MarkEntry,
  type Series,
} from './state.ts';
import type { CancelReason } from './types.ts';

/**
 * Sets the account's position in the series to `lots`, having paid `paid` for the change (the
 * premium, fees excluded; negative: received). The entry cost grows by what a growing position
 * paid, shrinks pro rata (toward zero) as the position is reduced, and on a flip keeps the share
 * of `paid` that opened the new side.
 */
export function setPosition(
  s: EngineState,
  account: Account,
  series: Series,
  lots: number,
  paid: bigint,
): void {
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
    if (account.positions.size === 0) s.accountsWithPositions.delete(account.index);
  } else {
    invariant(
      account.positions.size < MAX_POSITIONS_PER_ACCOUNT || account.positions.has(series.seriesId),
      'too many positions',
    );
    account.positions.set(series.seriesId, lots);
    series.holders.add(account.index);
    s.accountsWithPositions.add(account.index);
  }
  series.openInterestLots += Math.max(lots, 0) - Math.max(before, 0);
  s.dirtyAccounts.add(account);
  s.dirtySeries.add(series);
}

/** Fee of one side of a fill: a rate of the underlying's notional, capped at a rate of the premium; rounded up. */
export function fillFee(
  s: EngineState,
  series: Series,
  feeBps: number,
  lots: number,
  premium: bigint,
  spot: bigint,
): bigint {
  if (feeBps === 0) return 0n;
  const notionalFee = divCeil(BigInt(feeBps) * spot * BigInt(lots) * series.lotUnderlyingE12, E12 * BPS);
  const cap = divCeil(BigInt(s.params.feeCapBps) * premium, BPS);
  return min(notionalFee, cap);
}

export function bookFill(
  s: EngineState,
  series: Series,
  taker: Account,
  takerSide: Side,
  takerOrderId: number,
  maker: RestingOrder,
  lots: number,
  priceTicks: number,
  chargeTakerFee: boolean,
  /** The taker's fee rate when not `takerFeeBps` (the call auction charges both sides the maker fee). */
  takerFeeBps: number = s.params.takerFeeBps,
): void {
  const makerAccount = s.accountsByIndex[maker.owner];
  invariant(makerAccount !== undefined, 'maker account missing');
  const spot = liveIndex(s, series.underlying.underlyingId) ?? 0n;
  const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
  const makerFee = fillFee(s, series, s.params.makerFeeBps, lots, premium, spot);
  const takerFee = chargeTakerFee ? fillFee(s, series, takerFeeBps, lots, premium, spot) : 0n;
  const buyer = takerSide === BUY ? taker : makerAccount;
  const seller = takerSide === BUY ? makerAccount : taker;
  buyer.balance -= premium;
  seller.balance += premium;
  makerAccount.balance -= makerFee;
  taker.balance -= takerFee;
  s.feePool += makerFee + takerFee;
  setPosition(s, buyer, series, (buyer.positions.get(series.seriesId) ?? 0) + lots, premium);
  setPosition(s, seller, series, (seller.positions.get(series.seriesId) ?? 0) - lots, -premium);
  if (maker.remainingLots === 0) makerAccount.openOrders.delete(maker.orderId);
  s.dirtyOrders.set(maker.orderId, maker.remainingLots === 0 ? null : maker);
  s.dirtyAccounts.add(makerAccount);
  s.events.push({
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

export function removeOrder(s: EngineState, order: RestingOrder, reason: CancelReason): void {
  const series = s.orderSeries.get(order.orderId);
  invariant(series !== undefined, 'resting order without a series');
  const owner = s.accountsByIndex[order.owner];
  invariant(owner !== undefined, 'resting order without an owner');
  if (order.level !== null) series.book.cancel(order.orderId);
  owner.openOrders.delete(order.orderId);
  s.orderSeries.delete(order.orderId);
  s.dirtyOrders.set(order.orderId, null);
  s.dirtyAccounts.add(owner);
  s.events.push({
    type: 'cancel',
    orderId: order.orderId,
    account: owner.key,
    seriesId: series.seriesId,
    lots: order.remainingLots,
    reason,
  });
}

export function matchCallbacks(
  s: EngineState,
  series: Series,
  taker: Account,
  side: Side,
  takerOrderId: number,
  chargeTakerFee: boolean,
): MatchCallbacks<CancelReason> {
  const mark = markOf(s, series);
  const band = mark === undefined ? undefined : priceBandOf(s, mark);
  return {
    onFill: (maker, lots, priceTicks) => {
      bookFill(s, series, taker, side, takerOrderId, maker, lots, priceTicks, chargeTakerFee);
      if (maker.remainingLots === 0) s.orderSeries.delete(maker.orderId);
    },
    onSelfTradeCancel: (maker) => removeOrder(s, maker, 'selfTrade'),
    reduceOnlyCapacity: (maker) => reduceOnlyCapacity(s, maker),
    onReduceOnlyCancel: (maker) => removeOrder(s, maker, 'reduceOnly'),
    admit: (maker, lots, priceTicks) => makerRefusal(s, series, band, maker, lots, priceTicks),
    onAdmitCancel: (maker, reason) => removeOrder(s, maker, reason),
  };
}

export function priceBandOf(s: EngineState, mark: MarkEntry): PriceBand {
  return priceBand(mark.markTicks, mark.bandBps, s.params.priceBandMinTicks);
}

/**
 * Why a resting order met by a taker must leave the book instead of filling `lots` at its price,
 * if it must (src/execution/risk.ts): its price is outside the band of the current mark; the fill
 * would open a position beyond the owner's cap; or the owner's account after the fill fails the
 * what-if margin rule. Asked before every maker fill: the owner's position and the marks may
 * have changed since the order rested (a reducing sell may now open a short).
 */
export function makerRefusal(
  s: EngineState,
  series: Series,
  band: PriceBand | undefined,
  maker: RestingOrder,
  lots: number,
  priceTicks: number,
): CancelReason | undefined {
  if (band === undefined || !inBand(priceTicks, band)) return 'outOfBand';
  const owner = s.accountsByIndex[maker.owner];
  invariant(owner !== undefined, 'resting order without an owner');
  if (!owner.positions.has(series.seriesId) && owner.positions.size >= s.params.maxPositionsPerAccount)
    return 'tooManyPositions';
  const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
  const feeBound = divCeil(BigInt(s.params.feeCapBps) * premium, BPS);
  const change: Change = {
    series,
    lotsDelta: maker.side === BUY ? lots : -lots,
    balanceDelta: (maker.side === BUY ? -premium : premium) - feeBound,
    orderId: maker.orderId,
    orderLots: lots,
  };
  return whatIfRefusal(s, owner, change, undefined, feeBound) === undefined
    ? undefined
    : 'insufficientMargin';
}

/**
 * Lots a resting reduce-only order may still fill: what is left of its owner's position on the
 * other side. The position may have shrunk since the order rested (other fills, liquidation), so
 * this is asked at every fill, never only at placement.
 */
export function reduceOnlyCapacity(s: EngineState, maker: RestingOrder): number {
  const series = s.orderSeries.get(maker.orderId);
  const owner = s.accountsByIndex[maker.owner];
  invariant(series !== undefined && owner !== undefined, 'reduce-only order without series or owner');
  const position = owner.positions.get(series.seriesId) ?? 0;
  return maker.side === SELL ? Math.max(position, 0) : Math.max(-position, 0);
}

export function bandTicks(mark: MarkEntry, side: Side, bandBps: number): number {
  const band = (BigInt(mark.markTicks) * BigInt(bandBps)) / BPS;
  if (side === BUY) return Math.max(mark.markTicks + Number(band), 1);
  return Math.max(mark.markTicks - Number(band), 1);
}
