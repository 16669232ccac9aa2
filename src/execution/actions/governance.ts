/** Governance actions: listing a series, and setting a mark volatility within the hourly bound. */
import type { ListSeries, SetMarkVol } from '../../codec/execution.ts';
import { bytesEqual } from '../../crypto/bytes.ts';
import { boundedVolChange } from '../risk.ts';
import { listSeries, seriesProblem } from '../series.ts';
import type { EngineState, Handled } from '../state.ts';
import type { SeriesConfig } from '../types.ts';

export function governanceList(s: EngineState, signer: Uint8Array, action: ListSeries): Handled {
  if (!bytesEqual(signer, s.governance)) return { status: 'UNAUTHORIZED' };
  const config: SeriesConfig = { ...action };
  if (seriesProblem(config, s.underlyings.get(config.underlyingId), s.timeMs) !== undefined)
    return { status: 'INVALID_SERIES' };
  if (s.seriesById.size >= s.params.maxSeries) return { status: 'TOO_MANY_SERIES' };
  listSeries(s, config);
  return { status: 'OK' };
}

export function setMarkVol(s: EngineState, signer: Uint8Array, action: SetMarkVol): Handled {
  if (!bytesEqual(signer, s.governance)) return { status: 'UNAUTHORIZED' };
  const series = s.seriesById.get(action.seriesId);
  if (series === undefined) return { status: 'UNKNOWN_SERIES' };
  const { minVolBps, maxVolBps } = series.underlying;
  const requested = Math.min(Math.max(action.volBps, minVolBps), maxVolBps);
  // At most `maxVolChangeBpsPerHour` per hour of block time since the last change (src/execution/risk.ts).
  series.markVolBps = boundedVolChange(
    series.markVolBps,
    requested,
    series.markVolSetMs,
    s.timeMs,
    s.params.maxVolChangeBpsPerHour,
  );
  // 0 means "never set"; a block at time 0 still starts the clock.
  series.markVolSetMs = Math.max(s.timeMs, 1);
  s.markCache.delete(series.seriesId);
  s.dirtySeries.add(series);
  s.events.push({
    type: 'markVolSet',
    seriesId: series.seriesId,
    volBps: series.markVolBps,
    requestedVolBps: action.volBps,
  });
  return { status: 'OK' };
}
