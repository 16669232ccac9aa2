/**
 * Margin: standard (per position, Deribit's published form) and portfolio (scenario grid, Derive's
 * PMRM and Aevo's published form), plus the reserve that open orders hold.
 *
 * Everything here is per lot and in the quote asset. For one unit of the underlying at index S,
 * mark m (the option's value per unit) and strike K (Deribit, "Margin", options section, with the
 * BTC-denominated fractions multiplied by S):
 *
 *   short call  IM = max(0.15·S − OTM, 0.10·S) + m,  OTM = max(K − S, 0);  MM = 0.075·S + m
 *   short put   MM = max(0.075·S, 0.075·m) + m;  IM = max(max(0.15·S − OTM, 0.10·S) + m, MM),
 *               OTM = max(S − K, 0)
 *   long        nothing beyond the premium already paid
 *
 * with 0.15 / 0.10 / 0.075 per underlying (`imBaseBps`, `imMinBps`, `mmBps`).
 *
 * Portfolio margin revalues every position under a grid of spot moves (default ±20% in 5% steps)
 * crossed with three volatility states: unchanged, up ×(1 + 0.6·m) and down ×max(0, 1 − 0.3·m),
 * where m = τ^0.3 for expiries up to 30 days and τ^0.13 beyond, τ = 30 days / max(T, 1 day)
 * (Derive PMRM): short expiries get larger shocks. Maintenance is the worst scenario loss plus a
 * contingency per naked short (2% of spot per unit); initial is 1.25× maintenance. The scenario
 * values of one lot depend only on the series and the market, so they are computed once per block
 * per series and shared by every account: an account's requirement is then 27 dot products.
 */
import { invariant } from '../codec/invariant.ts';
import { divCeil, divFloor, type Fixed, fromBps, max, min, mul, ONE, pow } from '../std/fixed.ts';
import { bsm } from './pricing.ts';

export const MS_PER_DAY = 86_400_000;
export const MS_PER_YEAR = 365 * MS_PER_DAY;
const E12 = 1_000_000_000_000n;

export interface MarginParameters {
  imBaseBps: number;
  imMinBps: number;
  mmBps: number;
  /** Spot moves of the portfolio grid, in basis points (e.g. −2000 … 2000). */
  pmSpotMovesBps: readonly number[];
  /** Initial = maintenance × this / 10,000. */
  pmInitialMultiplierBps: number;
  /** Per naked short unit of underlying, as a fraction of spot. */
  pmContingencyBps: number;
}

/** What margin needs to know about one series in the current block. */
export interface SeriesMarket {
  isCall: boolean;
  /** Quote base units per unit of underlying. */
  strike: bigint;
  expiryMs: number;
  /** Units of underlying per lot × 10^12 (lot size × multiplier, each × 10^6). */
  lotUnderlyingE12: bigint;
  /** Quote base units per unit of underlying (the oracle index). */
  spot: bigint;
  /** Annual rate as a fixed-point fraction. */
  rate: Fixed;
  volatility: Fixed;
  nowMs: number;
}

export function yearsBetween(nowMs: number, expiryMs: number): Fixed {
  const ms = expiryMs > nowMs ? expiryMs - nowMs : 0;
  return (BigInt(ms) * ONE) / BigInt(MS_PER_YEAR);
}

/** The value of one unit of underlying's worth of the option, quote base units, fixed point. */
export function unitValue(market: SeriesMarket, spot: bigint, volatility: Fixed): Fixed {
  return bsm({
    type: market.isCall ? 'call' : 'put',
    spot: spot * ONE,
    strike: market.strike * ONE,
    rate: market.rate,
    volatility,
    years: yearsBetween(market.nowMs, market.expiryMs),
  }).price;
}

/** Scales a per-unit fixed-point amount to one lot (still fixed point). */
export function perLot(market: SeriesMarket, perUnit: Fixed): Fixed {
  return (perUnit * market.lotUnderlyingE12) / E12;
}

export interface StandardMarginPerLot {
  /** Initial margin of one short lot, fixed-point quote base units. */
  initial: Fixed;
  maintenance: Fixed;
}

/**
 * Standard margin of one short lot given the mark per unit (fixed point).
 * @example standardShortMargin(params, market, markPerUnit).initial
 */
export function standardShortMargin(
  params: MarginParameters,
  market: SeriesMarket,
  markPerUnit: Fixed,
): StandardMarginPerLot {
  const spot = market.spot * ONE;
  const strike = market.strike * ONE;
  const base = mul(spot, fromBps(params.imBaseBps));
  const floor = mul(spot, fromBps(params.imMinBps));
  const mmRate = fromBps(params.mmBps);
  let initial: Fixed;
  let maintenance: Fixed;
  if (market.isCall) {
    const otm = max(strike - spot, 0n);
    initial = max(base - otm, floor) + markPerUnit;
    maintenance = mul(spot, mmRate) + markPerUnit;
  } else {
    const otm = max(spot - strike, 0n);
    maintenance = max(mul(spot, mmRate), mul(markPerUnit, mmRate)) + markPerUnit;
    initial = max(max(base - otm, floor) + markPerUnit, maintenance);
  }
  return { initial: perLot(market, initial), maintenance: perLot(market, maintenance) };
}

/** Derive PMRM volatility shock multiplier m = τ^(0.3 or 0.13), τ = 30 d / max(T, 1 d). */
export function volShockScale(nowMs: number, expiryMs: number): Fixed {
  const remainingMs = Math.max(expiryMs - nowMs, MS_PER_DAY);
  const tau = (30n * BigInt(MS_PER_DAY) * ONE) / BigInt(remainingMs);
  const exponent = remainingMs <= 30 * MS_PER_DAY ? (3n * ONE) / 10n : (13n * ONE) / 100n;
  return pow(tau, exponent);
}

export const PM_VOL_STATES = 3;

/**
 * Profit or loss of one long lot in each scenario, relative to the current mark (fixed point):
 * index i·3 + v for spot move i and volatility state v (0 unchanged, 1 up, 2 down).
 */
export function scenarioPnlPerLot(
  params: MarginParameters,
  market: SeriesMarket,
  markPerUnit: Fixed,
): Fixed[] {
  const m = volShockScale(market.nowMs, market.expiryMs);
  const volUp = mul(market.volatility, ONE + mul((6n * ONE) / 10n, m));
  const volDown = mul(market.volatility, max(0n, ONE - mul((3n * ONE) / 10n, m)));
  const out: Fixed[] = [];
  for (const moveBps of params.pmSpotMovesBps) {
    // Spot in the scenario, truncated to a base unit: a sub-unit move cannot matter to a margin.
    const spot = (market.spot * BigInt(10_000 + moveBps)) / 10_000n;
    for (const volatility of [market.volatility, volUp, volDown]) {
      out.push(perLot(market, unitValue(market, spot > 0n ? spot : 1n, volatility) - markPerUnit));
    }
  }
  return out;
}

export interface PortfolioPosition {
  /** Signed lots: positive long, negative short. */
  lots: number;
  scenarioPnl: readonly Fixed[];
  /** Quote base units of contingency per short lot (fixed point). */
  contingencyPerShortLot: Fixed;
}

export function contingencyPerShortLot(params: MarginParameters, market: SeriesMarket): Fixed {
  return perLot(market, mul(market.spot * ONE, fromBps(params.pmContingencyBps)));
}

export interface Requirement {
  /** Quote base units, rounded up. */
  initial: bigint;
  maintenance: bigint;
}

/**
 * Portfolio margin of a set of positions: maintenance = worst scenario loss + contingencies,
 * initial = maintenance × multiplier; both rounded up (in the venue's favour).
 */
export function portfolioRequirement(
  params: MarginParameters,
  positions: readonly PortfolioPosition[],
): Requirement {
  const scenarioCount = params.pmSpotMovesBps.length * PM_VOL_STATES;
  let worst = 0n;
  for (let s = 0; s < scenarioCount; s++) {
    let pnl = 0n;
    for (const position of positions) {
      const value = position.scenarioPnl[s];
      invariant(value !== undefined, 'scenario vector shorter than the grid');
      pnl += BigInt(position.lots) * value;
    }
    worst = min(worst, pnl);
  }
  let contingency = 0n;
  for (const position of positions) {
    if (position.lots < 0) contingency += BigInt(-position.lots) * position.contingencyPerShortLot;
  }
  const maintenanceFixed = -worst + contingency;
  const initialFixed = (maintenanceFixed * BigInt(params.pmInitialMultiplierBps)) / 10_000n;
  return { initial: divCeil(initialFixed, ONE), maintenance: divCeil(maintenanceFixed, ONE) };
}

/** A signed fixed-point amount of lots × value, as quote base units rounded down (venue's favour). */
export function valueFloor(lots: number, valuePerLot: Fixed): bigint {
  return divFloor(BigInt(lots) * valuePerLot, ONE);
}
