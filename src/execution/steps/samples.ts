/** After the block's steps: settlement samples no TWAP can read any more are dropped (and uncommitted). */
import { SERIES_STATUS } from '../../codec/execution.ts';
import { oldestSampleNeededMs } from '../settlement.ts';
import { type EngineState, MAX_SAMPLES_PER_UNDERLYING } from '../state.ts';

export function pruneSamples(s: EngineState): void {
  // Every series' TWAP, extension included, starts at or after the oldest expiry still waiting
  // (or now, for series that have not expired) minus window, extension and hold.
  let oldestNeededMs = oldestSampleNeededMs(s.timeMs, s.params);
  for (const series of s.seriesById.values()) {
    if (series.status === SERIES_STATUS.expired)
      oldestNeededMs = Math.min(oldestNeededMs, oldestSampleNeededMs(series.expiryMs, s.params));
  }
  for (const [underlyingId, list] of s.samples) {
    let drop = 0;
    while (drop < list.length - 1 && list[drop]!.timeMs < oldestNeededMs) drop++;
    if (list.length - drop > MAX_SAMPLES_PER_UNDERLYING) drop = list.length - MAX_SAMPLES_PER_UNDERLYING;
    if (drop === 0) continue;
    const base = s.sampleBase.get(underlyingId) ?? 0;
    for (let i = 0; i < drop; i++) s.sampleWrites.push({ underlyingId, sequence: base + i, sample: null });
    s.sampleBase.set(underlyingId, base + drop);
    s.dirtyOracle.add(underlyingId);
    list.splice(0, drop);
  }
}
