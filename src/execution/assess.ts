/**
 * Margin of an account: equity and requirements at the marks, with an optional hypothetical order
 * or fill (what-if margin, src/execution/risk.ts), and the what-if rule every order meets.
 */
import { MARGIN_MODE } from '../codec/execution.ts';
import { invariant } from '../codec/invariant.ts';
import { divCeil, divFloor, ONE } from '../std/fixed.ts';
import { BUY, type Side } from './book.ts';
import { type PortfolioPosition, portfolioRequirement } from './margin.ts';
import { markOf, scenarioOf } from './marks.ts';
import { coversInitial, deRisks } from './risk.ts';
import {
  type Account,
  type Assessment,
  BACKSTOP_KEY,
  type Change,
  type EngineState,
  type ExtraOrder,
  type Series,
} from './state.ts';
import type { UnderlyingConfig } from './types.ts';

/**
 * Equity and requirements of an account, or undefined when a series it is exposed to has no
 * mark. Open orders reserve margin as Deribit's do: a buy its premium, a sell that would open
 * a short the initial margin of that short (standard formula, also for portfolio accounts).
 * With `change`, the account as it would be after that fill (what-if margin). Portfolio accounts
 * are stressed per underlying, each on its own grid, and the requirements added: a sum, so the
 * order in which positions were opened (the map's order) cannot change it.
 */
export function assess(
  s: EngineState,
  account: Account,
  extra?: ExtraOrder,
  change?: Change,
): Assessment | undefined {
  let equityFixed = 0n;
  let standardInitial = 0n;
  let standardMaintenance = 0n;
  let orderReserveFixed = 0n;
  let orderReserve = 0n;
  const portfolio = new Map<UnderlyingConfig, PortfolioPosition[]>();
  const orderTotals = new Map<Series, { buyPremium: bigint; sellLots: number }>();
  const addOrder = (series: Series, side: Side, lots: number, priceTicks: number) => {
    let totals = orderTotals.get(series);
    if (totals === undefined) {
      totals = { buyPremium: 0n, sellLots: 0 };
      orderTotals.set(series, totals);
    }
    if (side === BUY) totals.buyPremium += BigInt(lots) * BigInt(priceTicks) * series.lotValuePerTick;
    else totals.sellLots += lots;
  };
  for (const order of account.openOrders.values()) {
    const series = s.orderSeries.get(order.orderId);
    invariant(series !== undefined, 'open order without a series');
    const lots =
      change !== undefined && change.orderId === order.orderId
        ? order.remainingLots - (change.orderLots ?? 0)
        : order.remainingLots;
    if (lots > 0) addOrder(series, order.side, lots, order.priceTicks);
  }
  if (extra !== undefined) addOrder(extra.series, extra.side, extra.lots, extra.priceTicks);
  const positionAfter = (series: Series): number =>
    (account.positions.get(series.seriesId) ?? 0) +
    (change !== undefined && change.series === series ? change.lotsDelta : 0);

  const addPosition = (series: Series, lots: number): boolean => {
    const mark = markOf(s, series);
    if (mark === undefined) return false;
    equityFixed += BigInt(lots) * mark.markPerLot;
    if (account.marginMode === MARGIN_MODE.portfolio) {
      const scenario = scenarioOf(series, mark);
      let group = portfolio.get(series.underlying);
      if (group === undefined) {
        group = [];
        portfolio.set(series.underlying, group);
      }
      group.push({ lots, scenarioPnl: scenario.pnl, contingencyPerShortLot: scenario.contingency });
    } else if (lots < 0) {
      standardInitial += BigInt(-lots) * mark.standard.initial;
      standardMaintenance += BigInt(-lots) * mark.standard.maintenance;
    }
    return true;
  };
  for (const seriesId of account.positions.keys()) {
    const series = s.seriesById.get(seriesId);
    invariant(series !== undefined, 'position in an unknown series');
    const lots = positionAfter(series);
    if (lots !== 0 && !addPosition(series, lots)) return undefined;
  }
  if (change !== undefined && change.lotsDelta !== 0 && !account.positions.has(change.series.seriesId)) {
    if (!addPosition(change.series, change.lotsDelta)) return undefined;
  }
  for (const [series, totals] of orderTotals) {
    orderReserve += totals.buyPremium;
    const opening = totals.sellLots - Math.max(positionAfter(series), 0);
    if (opening > 0) {
      const mark = markOf(s, series);
      if (mark === undefined) return undefined;
      orderReserveFixed += BigInt(opening) * mark.standard.initial;
    }
  }
  const equity = account.balance + (change?.balanceDelta ?? 0n) + divFloor(equityFixed, ONE);
  let initial = 0n;
  let maintenance = 0n;
  if (account.marginMode === MARGIN_MODE.portfolio) {
    // Each underlying on its own grid (spot moves, multiplier, contingency), requirements added:
    // no diversification is credited between underlyings (the conservative choice).
    for (const [underlying, positions] of portfolio) {
      const requirement = portfolioRequirement(underlying, positions);
      initial += requirement.initial;
      maintenance += requirement.maintenance;
    }
  } else {
    initial = divCeil(standardInitial, ONE);
    maintenance = divCeil(standardMaintenance, ONE);
  }
  return { equity, initial: initial + orderReserve + divCeil(orderReserveFixed, ONE), maintenance };
}

/**
 * The what-if margin rule (src/execution/risk.ts): `change` is the order fully filled (fee bound
 * in its balance move), `resting` the order fully resting when it can rest.
 */
export function whatIfRefusal(
  s: EngineState,
  account: Account,
  change: Change,
  resting: ExtraOrder | undefined,
  feeBound: bigint,
): 'NO_MARK_PRICE' | 'INSUFFICIENT_MARGIN' | undefined {
  const filled = assess(s, account, undefined, change);
  if (filled === undefined) return 'NO_MARK_PRICE';
  let covers = coversInitial(filled, 0n);
  if (covers && resting !== undefined) {
    const rested = assess(s, account, resting);
    if (rested === undefined) return 'NO_MARK_PRICE';
    covers = coversInitial(rested, feeBound);
  }
  if (covers) return undefined;
  const before = assess(s, account);
  if (before === undefined) return 'NO_MARK_PRICE';
  return deRisks(before, filled) ? undefined : 'INSUFFICIENT_MARGIN';
}

/** Margin as liquidation sees it: the backstop account counts the insurance fund as equity. */
export function liquidationHealth(s: EngineState, account: Account): Assessment | undefined {
  const state = assess(s, account);
  if (state === undefined || account.key !== BACKSTOP_KEY) return state;
  return { ...state, equity: state.equity + s.insuranceFund };
}
