/**
 * `PlaceOrder`: validation, pre-trade risk (price band, what-if margin, caps; src/execution/risk.ts),
 * matching, and resting what is left of a GTC order.
 */
import {
  CLIENT_ORDER_IDS_MAX,
  ORDER_KIND,
  type PlaceOrder,
  SERIES_STATUS,
  TIME_IN_FORCE,
} from '../../codec/execution.ts';
import { divCeil } from '../../std/fixed.ts';
import { accountFor } from '../accounts.ts';
import { whatIfRefusal } from '../assess.ts';
import { BUY, SELL, type Side } from '../book.ts';
import { governanceHalted } from '../governance.ts';
import { markOf } from '../marks.ts';
import { clampToBand, inBand } from '../risk.ts';
import {
  type Account,
  BPS,
  type EngineState,
  type Handled,
  MAX_LOTS_PER_ORDER,
  type Series,
} from '../state.ts';
import { halted } from '../steps/breaker.ts';
import { bandTicks, makerRefusal, matchCallbacks, priceBandOf, reduceOnlyCapacity } from '../trading.ts';

/** What a well-formed order asks for, in the series' lots and ticks (0 ticks: a market order). */
interface OrderShape {
  series: Series;
  lots: number;
  priceTicks: number;
  isMarket: boolean;
}

/**
 * The checks that need no account: the series trades, size and price fit its lot and tick, the
 * order kind and time in force agree. A refusal here is a rejection (the nonce stays).
 */
function orderShape(s: EngineState, order: PlaceOrder): OrderShape | Handled {
  const series = s.seriesById.get(order.seriesId);
  if (series === undefined) return { status: 'UNKNOWN_SERIES' };
  if (series.status !== SERIES_STATUS.active || s.timeMs >= series.expiryMs)
    return { status: 'SERIES_NOT_TRADING' };
  if (!Number.isSafeInteger(order.sizeE6) || order.sizeE6 <= 0) return { status: 'INVALID_SIZE' };
  if (order.sizeE6 % series.lotSizeE6 !== 0) return { status: 'SIZE_OFF_LOT' };
  const lots = order.sizeE6 / series.lotSizeE6;
  if (lots > MAX_LOTS_PER_ORDER) return { status: 'INVALID_SIZE' };
  const isMarket = order.kind === ORDER_KIND.market;
  const tif = order.timeInForce;
  let priceTicks = 0;
  if (isMarket) {
    if (order.price !== 0 || tif === TIME_IN_FORCE.gtc || order.postOnly) return { status: 'INVALID_ORDER' };
  } else {
    if (!Number.isSafeInteger(order.price) || order.price <= 0) return { status: 'INVALID_PRICE' };
    if (order.price % series.tickSize !== 0) return { status: 'PRICE_OFF_TICK' };
    priceTicks = order.price / series.tickSize;
    if (order.postOnly && tif !== TIME_IN_FORCE.gtc) return { status: 'INVALID_ORDER' };
  }
  return { series, lots, priceTicks, isMarket };
}

export function placeOrder(s: EngineState, signer: Uint8Array, order: PlaceOrder): Handled {
  const shape = orderShape(s, order);
  if ('status' in shape) return shape;
  const { series, isMarket } = shape;
  let { lots, priceTicks } = shape;
  const tif = order.timeInForce;
  // From here on the transaction is valid: outcomes consume the nonce.
  const account = accountFor(s, signer);
  if (order.clientOrderId !== 0) {
    const previous = account.clientOrderIds.find((entry) => entry.clientOrderId === order.clientOrderId);
    if (previous !== undefined) return { status: 'DUPLICATE_CLIENT_ORDER_ID', orderId: previous.orderId };
  }
  // A governance halt (src/execution/governance.ts): no new order until m governors lift it.
  if (governanceHalted(s.governance, series.underlying.underlyingId)) return { status: 'MARKET_HALTED' };
  // A circuit-breaker halt (src/execution/breaker.ts): only GTC limit orders, which rest unmatched.
  const isHalted = halted(s, series.underlying.underlyingId);
  if (isHalted && (isMarket || tif !== TIME_IN_FORCE.gtc)) return { status: 'MARKET_HALTED' };
  const mark = markOf(s, series);
  if (mark === undefined) return { status: 'NO_MARK_PRICE' };
  const band = priceBandOf(s, mark);
  if (!isMarket && !inBand(priceTicks, band)) return { status: 'PRICE_OUT_OF_BAND' };
  const side: Side = order.side === 0 ? BUY : SELL;
  const position = account.positions.get(series.seriesId) ?? 0;
  if (order.reduceOnly) {
    if (position === 0 || (side === BUY) === position > 0) return { status: 'REDUCE_ONLY_WOULD_INCREASE' };
    lots = Math.min(lots, Math.abs(position));
  }
  if (tif === TIME_IN_FORCE.gtc && account.openOrders.size >= s.params.maxOpenOrdersPerAccount) {
    return { status: 'TOO_MANY_OPEN_ORDERS' };
  }
  if (position === 0 && account.positions.size >= s.params.maxPositionsPerAccount)
    return { status: 'TOO_MANY_POSITIONS' };
  // A market order trades within the market band, and never outside the price band.
  if (isMarket) priceTicks = clampToBand(side === BUY, bandTicks(mark, side, s.params.marketBandBps), band);
  if (order.postOnly && series.book.wouldCross(side, priceTicks, account.index))
    return { status: 'POST_ONLY_WOULD_CROSS' };
  if (
    tif === TIME_IN_FORCE.fok &&
    series.book.fillableLots(
      side,
      priceTicks,
      lots,
      account.index,
      (maker) => reduceOnlyCapacity(s, maker),
      (maker, l, p) => makerRefusal(s, series, band, maker, l, p),
    ) < lots
  ) {
    return { status: 'FOK_UNFILLABLE' };
  }
  // What-if margin on every order, reducing ones included (src/execution/risk.ts).
  const premium = BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
  const feeBound = divCeil(BigInt(s.params.feeCapBps) * premium, BPS);
  const refusal = whatIfRefusal(
    s,
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

  const orderId = s.nextOrderId++;
  const remaining = isHalted
    ? lots
    : series.book.match(
        side,
        priceTicks,
        lots,
        account.index,
        matchCallbacks(s, series, account, side, orderId, true),
      );
  const restingLots =
    remaining > 0 ? restOrCancel(s, account, series, order, orderId, side, priceTicks, remaining) : 0;
  if (order.clientOrderId !== 0) {
    account.clientOrderIds.push({ clientOrderId: order.clientOrderId, orderId });
    if (account.clientOrderIds.length > CLIENT_ORDER_IDS_MAX) account.clientOrderIds.shift();
  }
  s.dirtyAccounts.add(account);
  return { status: 'OK', orderId, filledLots: lots - remaining, restingLots };
}

/** What is left after matching: a GTC order rests (returns the lots resting); IOC and FOK remainders are cancelled. */
function restOrCancel(
  s: EngineState,
  account: Account,
  series: Series,
  order: PlaceOrder,
  orderId: number,
  side: Side,
  priceTicks: number,
  remaining: number,
): number {
  let restingLots = 0;
  if (order.timeInForce === TIME_IN_FORCE.gtc) {
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
    s.orderSeries.set(orderId, series);
    s.dirtyOrders.set(orderId, resting);
    restingLots = remaining;
    s.events.push({
      type: 'orderRested',
      orderId,
      account: account.key,
      seriesId: series.seriesId,
      side: side === BUY ? 'buy' : 'sell',
      priceTicks,
      lots: remaining,
    });
  } else {
    s.events.push({
      type: 'cancel',
      orderId,
      account: account.key,
      seriesId: series.seriesId,
      lots: remaining,
      reason: 'unfilledRemainder',
    });
  }
  return restingLots;
}
