/**
 * A seeded pseudo-random generator for simulations and replays (the simulated market, scenarios):
 * `Math.random` cannot be seeded and is engine-defined, so anything that must replay from its seed
 * draws from this instead. Integer operations only, so every machine gets the same stream.
 */
import { ONE } from './fixed.ts';
import { invariant } from './invariant.ts';

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
    return (((high << 32n) | low) * ONE) >> 64n;
  };
  return Object.freeze({
    nextU32,
    nextBelow,
    nextUnitFixed,
    nextNormalFixed: () => {
      let sum = 0n;
      for (let i = 0; i < 12; i++) sum += nextUnitFixed();
      return sum - 6n * ONE;
    },
    chancePpm: (ppm: number) => nextBelow(1_000_000) < ppm,
  });
}
