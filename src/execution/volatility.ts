/**
 * Per-underlying EWMA volatility of index returns (RiskMetrics), in fixed point (src/std/fixed.ts),
 * as pure functions the oracle step applies (src/execution/steps/oracle.ts).
 *
 * RiskMetrics (J.P. Morgan/Reuters, RiskMetrics Technical Document, 4th ed., 1996, §5.2) updates a
 * variance with σ²ₜ = λ·σ²ₜ₋₁ + (1 − λ)·r²ₜ, λ = 0.94 for daily returns. Our samples are not daily:
 * a sample is taken at most every `volSampleIntervalMs` of block time, and blocks may be late. So the
 * decay is scaled to the time Δt since the previous sample, λ_Δ = λ^(Δt / T) with T =
 * `volLambdaIntervalMs` (a day for λ = 0.94): two samples Δt apart decay the past as much as one
 * sample 2Δt later would. The squared log return is annualised before it enters the average,
 * r² × (year / Δt), so the state is an annualised variance whatever the spacing, and the volatility
 * `√σ²` is directly comparable with the governance marks (`markVolBps`, annualised).
 *
 * Everything is integer: ln, pow and sqrt are src/std/fixed.ts's, exact on every machine. The
 * variance is capped at `MAX_VARIANCE` (1000% annualised volatility squared) so its record has a
 * bound; a single return of any size moves it by at most (1 − λ_Δ) of that.
 */
import { div, type Fixed, fromBps, isqrt, ln, mul, ONE, pow } from '../std/fixed.ts';

export const MS_PER_YEAR = 31_536_000_000n;
/** (1000%)²: the highest variance the state holds. */
export const MAX_VARIANCE: Fixed = 100n * ONE;
/** Gaps longer than this many decay intervals count as this many (λ_Δ is already ~0 there). */
const MAX_GAP_INTERVALS = 64n;

/** The variance of an annualised volatility given in basis points: (bps / 10,000)². */
export function varianceOfVolBps(volBps: number): Fixed {
  const vol = fromBps(volBps);
  return mul(vol, vol);
}

/** The annualised volatility in basis points of a variance (floor). */
export function volBpsOfVariance(variance: Fixed): number {
  // The volatility is √(v / 10^18) = √v / 10^9; in basis points, × 10^4.
  return Number((isqrt(variance) * 10_000n) / 1_000_000_000n);
}

/**
 * One RiskMetrics update: the variance after a price `price` observed `dtMs` after `previousPrice`.
 * @example ewmaVariance(varianceOfVolBps(5000), 100n, 100n, 86_400_000, 9400, 86_400_000) // 0.94 × 0.25
 */
export function ewmaVariance(
  variance: Fixed,
  previousPrice: bigint,
  price: bigint,
  dtMs: number,
  lambdaBps: number,
  lambdaIntervalMs: number,
): Fixed {
  if (dtMs <= 0 || previousPrice <= 0n || price <= 0n) return variance;
  const interval = BigInt(lambdaIntervalMs);
  let dt = BigInt(dtMs);
  if (dt > interval * MAX_GAP_INTERVALS) dt = interval * MAX_GAP_INTERVALS;
  const r = ln(div(price * ONE, previousPrice * ONE));
  const annualised = (mul(r, r) * MS_PER_YEAR) / dt;
  const decay = lambdaBps >= 10_000 ? ONE : pow(fromBps(lambdaBps), div(dt * ONE, interval * ONE));
  const next = mul(decay, variance) + mul(ONE - decay, annualised);
  return next > MAX_VARIANCE ? MAX_VARIANCE : next;
}
