/**
 * Step 1b, parameters that follow volatility (rules: src/execution/steward.ts): after the oracle
 * step, each underlying's mark-volatility floor and risk scale move towards the EWMA's targets,
 * within the stewards' bounds.
 */
import type { EngineState } from '../state.ts';
import { boundedStep } from '../steward.ts';
import { volBpsOfVariance } from '../volatility.ts';

export function followVolatility(s: EngineState): void {
  const p = s.params;
  if (p.autoMaxStepBps === 0) return;
  for (const [underlyingId, risk] of [...s.risk].sort((a, b) => a[0] - b[0])) {
    if (risk.autoUpdatedMs !== 0 && s.timeMs - risk.autoUpdatedMs < p.autoMinDelayMs) continue;
    const underlying = s.underlyings.get(underlyingId)!;
    const ewmaVolBps = volBpsOfVariance(risk.variance);
    const targetVol = Math.min(Math.max(ewmaVolBps, underlying.minVolBps), underlying.maxVolBps);
    const ratio = Number((BigInt(ewmaVolBps) * 10_000n) / BigInt(Math.max(underlying.defaultVolBps, 1)));
    const targetScale = Math.min(Math.max(ratio, 10_000), p.autoScaleMaxBps);
    if (risk.autoUpdatedMs === 0 || s.timeMs - risk.periodStartMs >= p.autoPeriodMs) {
      risk.periodStartMs = s.timeMs;
      risk.periodStartVolBps = risk.autoVolBps;
      risk.periodStartScaleBps = risk.scaleBps;
    }
    const vol = boundedStep(
      risk.autoVolBps,
      targetVol,
      risk.periodStartVolBps,
      p.autoMaxStepBps,
      p.autoMaxPeriodBps,
    );
    const scale = Math.max(
      boundedStep(risk.scaleBps, targetScale, risk.periodStartScaleBps, p.autoMaxStepBps, p.autoMaxPeriodBps),
      10_000,
    );
    risk.autoUpdatedMs = s.timeMs;
    s.dirtyRisk.add(underlyingId);
    if (vol === risk.autoVolBps && scale === risk.scaleBps) continue;
    risk.autoVolBps = vol;
    risk.scaleBps = scale;
    s.events.push({ type: 'parametersAdjusted', underlyingId, ewmaVolBps, autoVolBps: vol, scaleBps: scale });
  }
}
