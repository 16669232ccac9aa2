/** Option series: the checks a listing meets, and adding one (genesis, governance, a restore). */
import { SERIES_STATUS } from '../codec/execution.ts';
import { invariant } from '../codec/invariant.ts';
import { createOrderBook } from './book.ts';
import { E6, E12, type EngineState, MAX_SERIES, type Series } from './state.ts';
import type { SeriesConfig, UnderlyingConfig } from './types.ts';

/** Checks a series' parameters; returns why it is invalid, or undefined. */
export function seriesProblem(
  config: SeriesConfig,
  underlying: UnderlyingConfig | undefined,
  nowMs: number,
): string | undefined {
  if (underlying === undefined) return 'unknown underlying';
  const positive = [config.strike, config.tickSize, config.lotSizeE6, config.multiplierE6];
  if (!positive.every((x) => Number.isSafeInteger(x) && x > 0))
    return 'strike, tick, lot and multiplier must be positive';
  if (!Number.isSafeInteger(config.expiryMs) || config.expiryMs <= nowMs)
    return 'expiry must be in the future';
  // One lot's premium per tick must be a whole number of base units, so that no premium is rounded.
  if ((BigInt(config.tickSize) * BigInt(config.lotSizeE6)) % E6 !== 0n)
    return 'tick × lot must be whole base units';
  if (BigInt(config.lotSizeE6) * BigInt(config.multiplierE6) > 1_000_000n * E12) return 'lot too large';
  return undefined;
}

export function listSeries(s: EngineState, config: SeriesConfig): Series {
  const series = addSeries(s, s.nextSeriesId++, config, 0);
  s.events.push({ type: 'seriesListed', seriesId: series.seriesId });
  return series;
}

export function addSeries(
  s: EngineState,
  seriesId: number,
  config: SeriesConfig,
  bookSequence: number,
): Series {
  invariant(s.seriesById.size < MAX_SERIES, 'series limit reached');
  invariant(!s.seriesById.has(seriesId), 'series id taken');
  const underlying = s.underlyings.get(config.underlyingId);
  invariant(underlying !== undefined, 'series on an unknown underlying');
  const series: Series = {
    seriesId,
    underlying,
    isCall: config.isCall,
    strike: BigInt(config.strike),
    expiryMs: config.expiryMs,
    tickSize: config.tickSize,
    lotSizeE6: config.lotSizeE6,
    multiplierE6: config.multiplierE6,
    lotValuePerTick: (BigInt(config.tickSize) * BigInt(config.lotSizeE6)) / E6,
    lotUnderlyingE12: BigInt(config.lotSizeE6) * BigInt(config.multiplierE6),
    markVolBps: underlying.defaultVolBps,
    markVolSetMs: 0,
    status: SERIES_STATUS.active,
    settlementPrice: 0n,
    openInterestLots: 0,
    book: createOrderBook({ sequence: bookSequence }),
    holders: new Set(),
  };
  s.seriesById.set(series.seriesId, series);
  s.dirtySeries.add(series);
  return series;
}
