/**
 * Settlement samples and the settlement price: pure functions over an underlying's sample list.
 *
 * Samples are kept by time, not by count: at most one per `SAMPLE_BUCKET_MS` (one second) of
 * block time, the first valid price seen in that second, or the first sample when none of the
 * second's prices is valid. Fast blocks (150 ms) therefore cost no more memory than one-second
 * blocks, and the kept samples always span the whole window the TWAP reads (a fixed count of 8,192
 * samples covered only 20 of the 30 minutes at 150 ms blocks). Thinning is a function of the
 * samples alone, so every validator keeps the same list, committed to the state root.
 *
 * The settlement price of a series expiring at E (window W, minimum coverage C, extension X,
 * fallback delay D, all genesis parameters), decided at the first block at or after E, when every
 * sample before E is known:
 *   1. the TWAP of valid samples over [E − W, E], divided by the time they cover (Derive's rule),
 *      when they cover at least C;
 *   2. else the TWAP over [E − W − X, E] when it covers more time than the window's
 *      (`extendedWindow`), else the window's own TWAP if it covers anything at all: a thin TWAP of
 *      prices from before expiry is still better evidence than any later price, and waiting
 *      cannot add samples before E;
 *   3. with no valid price at all in [E − W − X, E] the series waits, and at the first block at or
 *      after E + D settles on the last valid index price the engine holds (`lastValidPrice`); a
 *      series nobody holds settles at 0 if no price was ever seen (`noOpenInterest`).
 * So no expired series stays open longer than D.
 * A valid sample stands from its time until the next kept sample, at most `holdMs`; an invalid
 * one stands for nothing.
 */

export const SAMPLE_BUCKET_MS = 1000;

export interface Sample {
  timeMs: number;
  price: bigint;
  valid: boolean;
}

/**
 * Where a new sample goes: appended, replacing the last kept one (an invalid first sample of the
 * same second that a valid one now supersedes), or dropped (its second already has its sample).
 */
export function placeSample(list: readonly Sample[], sample: Sample): 'append' | 'replaceLast' | 'drop' {
  const last = list[list.length - 1];
  if (last === undefined) return 'append';
  if (Math.floor(last.timeMs / SAMPLE_BUCKET_MS) !== Math.floor(sample.timeMs / SAMPLE_BUCKET_MS))
    return 'append';
  return !last.valid && sample.valid ? 'replaceLast' : 'drop';
}

/** Time-weighted average of valid samples over [startMs, endMs] and the time they cover. */
export function twap(
  list: readonly Sample[],
  startMs: number,
  endMs: number,
  holdMs: number,
): { price: bigint; coveredMs: number } | undefined {
  let weighted = 0n;
  let covered = 0;
  for (let i = 0; i < list.length; i++) {
    const sample = list[i]!;
    if (!sample.valid) continue;
    if (sample.timeMs >= endMs) break;
    const next = list[i + 1];
    const holdEnd = Math.min(
      next === undefined ? Number.MAX_SAFE_INTEGER : next.timeMs,
      sample.timeMs + holdMs,
      endMs,
    );
    const from = Math.max(sample.timeMs, startMs);
    if (holdEnd <= from) continue;
    weighted += sample.price * BigInt(holdEnd - from);
    covered += holdEnd - from;
  }
  if (covered === 0) return undefined;
  return { price: weighted / BigInt(covered), coveredMs: covered };
}

export interface SettlementRules {
  settlementWindowMs: number;
  settlementMinCoveredMs: number;
  settlementExtensionMs: number;
  settlementFallbackDelayMs: number;
  maxSampleHoldMs: number;
}

export type SettlementRule = 'window' | 'extendedWindow' | 'lastValidPrice' | 'noOpenInterest';

export interface SettlementDecision {
  price: bigint;
  coveredMs: number;
  rule: SettlementRule;
}

/** The settlement price of a series by the rules of the module header, or undefined to wait. */
export function settlementPrice(
  list: readonly Sample[],
  expiryMs: number,
  nowMs: number,
  rules: SettlementRules,
  lastValidPrice: bigint | undefined,
  openInterestLots: number,
): SettlementDecision | undefined {
  const windowStart = expiryMs - rules.settlementWindowMs;
  const primary = twap(list, windowStart, expiryMs, rules.maxSampleHoldMs);
  if (primary !== undefined && primary.coveredMs >= rules.settlementMinCoveredMs)
    return { ...primary, rule: 'window' };
  const extended = twap(list, windowStart - rules.settlementExtensionMs, expiryMs, rules.maxSampleHoldMs);
  if (extended !== undefined && extended.coveredMs > (primary?.coveredMs ?? 0))
    return { ...extended, rule: 'extendedWindow' };
  if (primary !== undefined) return { ...primary, rule: 'window' };
  if (nowMs < expiryMs + rules.settlementFallbackDelayMs) return undefined;
  if (lastValidPrice !== undefined) return { price: lastValidPrice, coveredMs: 0, rule: 'lastValidPrice' };
  if (openInterestLots === 0) return { price: 0n, coveredMs: 0, rule: 'noOpenInterest' };
  return undefined;
}

/** The earliest sample time a series expiring at `expiryMs` may still read. */
export function oldestSampleNeededMs(expiryMs: number, rules: SettlementRules): number {
  return expiryMs - rules.settlementWindowMs - rules.settlementExtensionMs - rules.maxSampleHoldMs;
}
