/**
 * Deterministic numerics for the oracle: a seeded pseudo-random generator and fixed-point
 * `exp`/`sqrt` in `bigint`. JavaScript's `Math.exp`/`Math.random` are engine-defined (DESIGN.md,
 * "Consensus-critical arithmetic is integer"), so the simulated market and anything that might feed
 * consensus is built from integer operations only: the same seed gives the same path on every
 * machine, which is what lets a scenario replay from its seed.
 */
import { invariant } from '../codec/invariant.ts';

/** Fixed-point scale: 1.0 is represented as 10^18. */
export const FIXED_ONE = 10n ** 18n;
/** ln 2 at 10^18, rounded (0.693147180559945309...). */
const LN2 = 693_147_180_559_945_309n;
/** Beyond this exponent the result would dwarf any price; simulations never come close. */
const EXP_ARGUMENT_MAX = 64n * FIXED_ONE;

/**
 * e^(x / 10^18) × 10^18, rounded down. Range reduction x = k·ln2 + r with |r| ≤ ln2/2, then a
 * Taylor series for e^r (terms shrink by at least 2× each step, so 40 terms exceed 10^-18).
 * @throws InvariantError when |x| exceeds 64 (a caller bug in a price model)
 */
export function expFixed(x: bigint): bigint {
  invariant(x <= EXP_ARGUMENT_MAX && x >= -EXP_ARGUMENT_MAX, 'expFixed argument out of range');
  const k = divRound(x, LN2);
  const r = x - k * LN2;
  let term = FIXED_ONE;
  let sum = FIXED_ONE;
  for (let n = 1n; n <= 40n && term !== 0n; n++) {
    term = (term * r) / (n * FIXED_ONE);
    sum += term;
  }
  return k >= 0n ? sum << k : sum >> -k;
}

/** ⌊√n⌋ for a non-negative bigint (Newton's method, which converges from above). */
export function sqrtBigint(n: bigint): bigint {
  invariant(n >= 0n, 'square root of a negative number');
  if (n < 2n) return n;
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** √(x / 10^18) × 10^18. */
export function sqrtFixed(x: bigint): bigint {
  return sqrtBigint(x * FIXED_ONE);
}

/** Division rounding half away from zero. */
export function divRound(a: bigint, b: bigint): bigint {
  invariant(b !== 0n, 'division by zero');
  const negative = a < 0n !== b < 0n;
  const absA = a < 0n ? -a : a;
  const absB = b < 0n ? -b : b;
  const q = (absA + absB / 2n) / absB;
  return negative ? -q : q;
}

export function absBigint(a: bigint): bigint {
  return a < 0n ? -a : a;
}

/** A seeded generator of 32-bit integers; the same seed yields the same stream everywhere. */
export interface Prng {
  /** A uniform integer in [0, 2^32). */
  nextU32(): number;
  /** A uniform integer in [0, bound), bound ≤ 2^32, without modulo bias. */
  nextBelow(bound: number): number;
  /** A uniform fixed-point number in [0, 1) at 10^18. */
  nextUnitFixed(): bigint;
  /**
   * An approximately standard normal fixed-point number: the Irwin–Hall sum of twelve uniforms
   * minus six. Its tails stop at ±6σ, which a market simulation can live with, and it needs no
   * logarithm (Box–Muller would).
   */
  nextNormalFixed(): bigint;
  /** True with probability `ppm` / 10^6. */
  chancePpm(ppm: number): boolean;
}

/**
 * xoshiro128** (Blackman & Vigna) seeded through splitmix32: all 32-bit integer operations, so it
 * is exact in JavaScript.
 * @example const rng = createPrng(42); rng.nextBelow(6);
 */
export function createPrng(seed: number): Prng {
  invariant(Number.isSafeInteger(seed), 'PRNG seed must be a safe integer');
  let z = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
  const splitmix = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z ^ (z >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()] as [number, number, number, number];
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    for (let i = 0; i < 4; i++) s[i] = (s[i] as number) >>> 0;
    return result;
  };
  const nextBelow = (bound: number): number => {
    invariant(Number.isInteger(bound) && bound > 0 && bound <= 2 ** 32, 'bound must be in (0, 2^32]');
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const x = nextU32();
      if (x < limit) return x % bound;
    }
  };
  const nextUnitFixed = (): bigint => {
    const high = BigInt(nextU32());
    const low = BigInt(nextU32());
    return (((high << 32n) | low) * FIXED_ONE) >> 64n;
  };
  return Object.freeze({
    nextU32,
    nextBelow,
    nextUnitFixed,
    nextNormalFixed: () => {
      let sum = 0n;
      for (let i = 0; i < 12; i++) sum += nextUnitFixed();
      return sum - 6n * FIXED_ONE;
    },
    chancePpm: (ppm: number) => nextBelow(1_000_000) < ppm,
  });
}
