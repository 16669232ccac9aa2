/**
 * Parameters that follow volatility, bounded in the manner of Aave's risk stewards (issue 15): per
 * underlying, the engine moves two automatic parameters towards targets set by the EWMA volatility
 * (src/execution/volatility.ts), and never faster than genesis allows.
 *
 * - `autoVolBps`, the mark volatility floor from the market: marks price with
 *   max(series' governance volatility, autoVolBps) (src/execution/marks.ts). Its target is the
 *   EWMA volatility clamped to the underlying's [minVolBps, maxVolBps]. The governance number stays
 *   a floor, so a calm EWMA never cheapens marks below it (no pro-cyclical collapse).
 * - `scaleBps`, the risk scale (10,000 = 1×): the limit-price band (src/execution/risk.ts) and the
 *   standard initial margin (`imBaseBps`, `imMinBps`) are multiplied by it. Its target is
 *   EWMA / defaultVolBps, at least 1× (the genesis values are the floor) and at most
 *   `autoScaleMaxBps`. Maintenance margin does not scale: a volatility spike restricts new risk
 *   but does not by itself liquidate anyone.
 *
 * Bounds (the stewards' rules), for each parameter: an update at most every `autoMinDelayMs` of
 * block time; one update moves it by at most `autoMaxStepBps` of its current value; within one
 * period of `autoPeriodMs` (periods start at the first update after the previous one ended) it
 * stays within `autoMaxPeriodBps` of its value at the period's start, however many small steps
 * are taken. `autoMaxStepBps` = 0 switches the automatic changes off.
 */

export interface StewardBounds {
  minDelayMs: number;
  maxStepBps: number;
  maxPeriodBps: number;
  periodMs: number;
}

const BPS = 10_000n;

/**
 * The value after one bounded move from `current` towards `target`: at most `maxStepBps` of
 * `current`, and within `maxPeriodBps` of `periodStart`. At least one unit moves when the step allows any.
 * @example boundedStep(6000, 20_000, 6000, 1000, 5000) // 6600
 */
export function boundedStep(
  current: number,
  target: number,
  periodStart: number,
  maxStepBps: number,
  maxPeriodBps: number,
): number {
  const step = Number((BigInt(current) * BigInt(maxStepBps)) / BPS);
  const span = Number((BigInt(periodStart) * BigInt(maxPeriodBps)) / BPS);
  const low = Math.max(current - step, periodStart - span);
  const high = Math.min(current + step, periodStart + span);
  return Math.min(Math.max(target, Math.min(low, current)), Math.max(high, current));
}
