/**
 * The production `Rng`: operating-system entropy through `node:crypto`. `randomInt` draws without
 * modulo bias, so `nextInt` is uniform for every bound.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Rng } from '../types.ts';

/** `crypto.randomInt` accepts ranges up to 2^48; larger bounds are a caller bug. */
const MAX_INT_BOUND = 2 ** 48;
/** One call never asks for more than this; larger requests are a caller bug, not a need. */
const MAX_RANDOM_BYTES = 1 << 20;

/**
 * Randomness from the operating system.
 * @example const rng = createRealRng(); const jitterMs = rng.nextInt(100);
 * @throws RangeError on a bound outside [1, 2^48] or a length outside [0, 1 MiB]
 */
export function createRealRng(): Rng {
  return Object.freeze({
    nextInt(bound: number): number {
      if (!Number.isSafeInteger(bound) || bound < 1 || bound > MAX_INT_BOUND) {
        throw new RangeError(`bound must be an integer in [1, 2^48], got ${bound}`);
      }
      return bound === 1 ? 0 : randomInt(bound);
    },
    bytes(length: number): Uint8Array {
      if (!Number.isSafeInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
        throw new RangeError(`length must be an integer in [0, ${MAX_RANDOM_BYTES}], got ${length}`);
      }
      return new Uint8Array(randomBytes(length));
    },
  });
}
