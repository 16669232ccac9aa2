/**
 * Marks: the live index of an underlying (valid for `maxSampleHoldMs` after its block) and each
 * series' mark, margin per lot and stress scenarios, computed once per block and cached.
 */
import { divFloor, type Fixed, fromBps, ONE } from '../std/fixed.ts';
import {
  contingencyPerShortLot,
  perLot,
  type SeriesMarket,
  scenarioPnlPerLot,
  standardShortMargin,
  unitValue,
} from './margin.ts';
import type { EngineState, MarkEntry, Series } from './state.ts';
import type { UnderlyingConfig } from './types.ts';

export function liveIndex(s: EngineState, underlyingId: number): bigint | undefined {
  const entry = s.indexPrices.get(underlyingId);
  if (entry === undefined || s.timeMs - entry.blockTimeMs > s.params.maxSampleHoldMs) return undefined;
  return entry.price;
}

export function markOf(s: EngineState, series: Series): MarkEntry | undefined {
  const cached = s.markCache.get(series.seriesId);
  if (cached !== undefined) return cached ?? undefined;
  const spot = liveIndex(s, series.underlying.underlyingId);
  if (spot === undefined) {
    s.markCache.set(series.seriesId, null);
    return undefined;
  }
  const risk = s.risk.get(series.underlying.underlyingId);
  const scaleBps = risk?.scaleBps ?? 10_000;
  const market: SeriesMarket = {
    isCall: series.isCall,
    strike: series.strike,
    expiryMs: series.expiryMs,
    lotUnderlyingE12: series.lotUnderlyingE12,
    spot,
    rate: fromBps(series.underlying.rateBps),
    // The governance volatility is a floor; the market's (src/execution/steward.ts) may be higher.
    // autoMaxStepBps = 0 switches the automatic parameters off, their effect included.
    volatility: fromBps(
      Math.max(series.markVolBps, s.params.autoMaxStepBps === 0 ? 0 : (risk?.autoVolBps ?? 0)),
    ),
    nowMs: s.timeMs,
  };
  const markPerUnit = unitValue(market, spot, market.volatility);
  const markPerLot = perLot(market, markPerUnit);
  const entry: MarkEntry = {
    market,
    markPerUnit,
    markPerLot,
    markTicks: Number(divFloor(markPerLot, series.lotValuePerTick * ONE)),
    standard: standardShortMargin(scaledInitial(series.underlying, scaleBps), market, markPerUnit),
    bandBps: scaled(s.params.priceBandBps, scaleBps),
  };
  s.markCache.set(series.seriesId, entry);
  return entry;
}

function scaled(value: number, scaleBps: number): number {
  return Number((BigInt(value) * BigInt(scaleBps)) / 10_000n);
}

/** The underlying's margin parameters with the initial-margin rates scaled (maintenance unchanged). */
function scaledInitial(underlying: UnderlyingConfig, scaleBps: number): UnderlyingConfig {
  if (scaleBps === 10_000) return underlying;
  return {
    ...underlying,
    imBaseBps: scaled(underlying.imBaseBps, scaleBps),
    imMinBps: scaled(underlying.imMinBps, scaleBps),
  };
}

export function scenarioOf(series: Series, mark: MarkEntry): { pnl: Fixed[]; contingency: Fixed } {
  if (mark.scenarioPnl === undefined || mark.contingency === undefined) {
    mark.scenarioPnl = scenarioPnlPerLot(series.underlying, mark.market, mark.markPerUnit);
    mark.contingency = contingencyPerShortLot(series.underlying, mark.market);
  }
  return { pnl: mark.scenarioPnl, contingency: mark.contingency };
}
