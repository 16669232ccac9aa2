/**
 * The production `Clock`: monotonic milliseconds from `performance.now()` (which Node backs with
 * a monotonic OS clock, so it never jumps when the wall clock is adjusted) and `setTimeout`.
 */
import type { Clock } from '../types.ts';

/** The longest delay `setTimeout` honours; beyond it Node fires after 1 ms, which would be a bug. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * A monotonic clock whose origin is the moment it was created.
 * @example const clock = createRealClock(); const cancel = clock.setTimer(100, () => tick());
 * @throws RangeError when a delay is negative, not finite, or above about 24.8 days
 */
export function createRealClock(): Clock {
  const originMs = performance.now();
  return Object.freeze({
    now(): number {
      return performance.now() - originMs;
    },
    setTimer(delayMs: number, callback: () => void): () => void {
      if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_TIMER_DELAY_MS) {
        throw new RangeError(`timer delay must be within [0, ${MAX_TIMER_DELAY_MS}] ms, got ${delayMs}`);
      }
      const handle = setTimeout(callback, delayMs);
      return () => clearTimeout(handle);
    },
  });
}
