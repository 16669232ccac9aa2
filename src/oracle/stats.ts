/**
 * Integer order statistics shared by the per-validator observation and the block aggregation.
 * Inputs are sorted by value with a canonical tie-break, so the result never depends on arrival
 * order; everything is `bigint`, so every validator computes the same bits.
 */
import { invariant } from '../codec/invariant.ts';

export interface WeightedValue {
  readonly value: bigint;
  readonly weight: bigint;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedValues(values: readonly bigint[]): bigint[] {
  return [...values].sort(compareBigint);
}

/**
 * The weighted percentile at `numerator/denominator`: the smallest value whose cumulative weight
 * reaches that fraction of the total. It is always one of the inputs, so with fewer than half
 * the weight adversarial, the weighted median lies between two honest values.
 */
export function weightedPercentile(
  items: readonly WeightedValue[],
  numerator: bigint,
  denominator: bigint,
): bigint {
  invariant(items.length > 0, 'percentile of an empty set');
  invariant(denominator > 0n && numerator >= 0n && numerator <= denominator, 'percentile out of range');
  const sorted = [...items].sort(
    (a, b) => compareBigint(a.value, b.value) || compareBigint(a.weight, b.weight),
  );
  let total = 0n;
  for (const item of sorted) {
    invariant(item.weight > 0n, 'weights must be positive');
    total += item.weight;
  }
  let cumulative = 0n;
  for (const item of sorted) {
    cumulative += item.weight;
    // cumulative / total ≥ numerator / denominator, in integers.
    if (cumulative * denominator >= total * numerator) return item.value;
  }
  return sorted[sorted.length - 1]!.value;
}

/** The weighted lower median. */
export function weightedMedian(items: readonly WeightedValue[]): bigint {
  return weightedPercentile(items, 1n, 2n);
}

/** The lower median of unweighted values. */
export function median(values: readonly bigint[]): bigint {
  return weightedMedian(values.map((value) => ({ value, weight: 1n })));
}

/** The largest of some bigints (`Math.max` does not take bigints). */
export function maxBigint(...values: bigint[]): bigint {
  invariant(values.length > 0, 'maximum of nothing');
  let best = values[0]!;
  for (const value of values) if (value > best) best = value;
  return best;
}

/** The smallest of some bigints. */
export function minBigint(...values: bigint[]): bigint {
  invariant(values.length > 0, 'minimum of nothing');
  let best = values[0]!;
  for (const value of values) if (value < best) best = value;
  return best;
}
