/**
 * The engine parameters governance may change (`SetParameter`, timelocked), each within bounds that
 * keep the engine's own invariants true: the stewards' bounds on automatic changes, the circuit
 * breaker, fees, the price band, the withdrawal slowdown and the liquidation grace. Parameters that
 * size records or bound loops (caps, windows the samples are kept for) are genesis-only.
 */
import type { EngineParameters } from './types.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Name → [lowest, highest] value governance may set. */
export const GOVERNED_PARAMETERS: Readonly<
  Partial<Record<keyof EngineParameters, readonly [number, number]>>
> = Object.freeze({
  makerFeeBps: [0, 100],
  takerFeeBps: [0, 100],
  priceBandBps: [100, 10_000],
  maxVolChangeBpsPerHour: [0, 100_000],
  breakerVolMultipleBps: [10_000, 200_000],
  breakerFloorBps: [50, 5_000],
  breakerMaxBps: [100, 10_000],
  breakerHaltMs: [1_000, HOUR_MS],
  autoMinDelayMs: [1_000, DAY_MS],
  autoMaxStepBps: [0, 5_000],
  autoMaxPeriodBps: [0, 10_000],
  autoPeriodMs: [60_000, 7 * DAY_MS],
  autoScaleMaxBps: [10_000, 100_000],
  withdrawDrawdownBps: [100, 10_000],
  withdrawCapPerBlock: [1_000_000, 1_000_000_000_000_000],
  liquidationGraceMs: [0, HOUR_MS],
});

/** Why `name` may not be set to `value` (a field), or undefined. */
export function governedParameterProblem(
  params: EngineParameters,
  name: string,
  value: number,
): string | undefined {
  const bounds = Object.hasOwn(GOVERNED_PARAMETERS, name)
    ? GOVERNED_PARAMETERS[name as keyof EngineParameters]
    : undefined;
  if (bounds === undefined) return 'action.name';
  if (!Number.isSafeInteger(value) || value < bounds[0] || value > bounds[1]) return 'action.value';
  // The breaker's floor stays below its cap whichever of the two moves.
  const floor = name === 'breakerFloorBps' ? value : params.breakerFloorBps;
  const cap = name === 'breakerMaxBps' ? value : params.breakerMaxBps;
  if (floor > cap) return 'action.value';
  return undefined;
}
