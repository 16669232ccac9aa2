/**
 * A seeded pseudo-random generator for the simulator: xoshiro128** (Blackman & Vigna, 2018),
 * seeded through SplitMix32 so that nearby seeds give unrelated streams. Integer arithmetic only,
 * so every engine produces the same stream for the same seed. Not for cryptography.
 */
import { invariant } from '../../codec/invariant.ts';
import type { Rng } from '../types.ts';

export interface SimRng extends Rng {
  /** True with probability `perMille / 1000`. */
  chance(perMille: number): boolean;
  /** An independent generator derived from this one (for a sub-component). */
  fork(): SimRng;
}

function splitMix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/**
 * @example const rng = createSimRng(42); rng.nextInt(6);
 */
export function createSimRng(seed: number): SimRng {
  invariant(Number.isSafeInteger(seed) && seed >= 0, 'seed must be a non-negative safe integer');
  let mix = (seed ^ Math.floor(seed / 0x100000000)) | 0;
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const [next, out] = splitMix32(mix);
    mix = next;
    s[i] = out;
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;

  function next32(): number {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  const rng: SimRng = {
    nextInt(bound: number): number {
      invariant(Number.isSafeInteger(bound) && bound > 0 && bound <= 0x100000000, 'bound must be in 1..2^32');
      // Rejection sampling keeps the distribution exactly uniform.
      const limit = 0x100000000 - (0x100000000 % bound);
      for (;;) {
        const x = next32();
        if (x < limit) return x % bound;
      }
    },
    bytes(length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = next32() & 0xff;
      return out;
    },
    chance(perMille: number): boolean {
      return rng.nextInt(1000) < perMille;
    },
    fork(): SimRng {
      return createSimRng(next32() * 0x200000 + (next32() >>> 11));
    },
  };
  return rng;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
