/**
 * A token bucket: up to `capacity` tokens, refilled continuously at `refillPerSecond`. A peer may
 * burst up to the capacity and sustain the refill rate; anything above is refused, not queued, so
 * a flooding peer costs us the work of counting its messages and nothing more.
 */
export interface TokenBucket {
  /** Takes `tokens` if that many are available at `nowMs`; returns whether it did. */
  take(tokens: number, nowMs: number): boolean;
  /** Tokens available at `nowMs`. */
  available(nowMs: number): number;
}

/**
 * @example const bucket = createTokenBucket({ capacity: 100, refillPerSecond: 50 }, clock.now());
 * @throws RangeError on a non-positive capacity or a negative refill rate
 */
export function createTokenBucket(
  limits: { capacity: number; refillPerSecond: number },
  startMs: number,
): TokenBucket {
  const { capacity, refillPerSecond } = limits;
  if (!(capacity > 0) || !Number.isFinite(capacity)) throw new RangeError('capacity must be positive');
  if (!(refillPerSecond >= 0) || !Number.isFinite(refillPerSecond)) {
    throw new RangeError('refill rate must be non-negative');
  }
  let tokens = capacity;
  let updatedMs = startMs;
  function refill(nowMs: number): void {
    // A clock that went backwards (it should not) refills nothing rather than draining the bucket.
    if (nowMs > updatedMs) {
      tokens = Math.min(capacity, tokens + ((nowMs - updatedMs) * refillPerSecond) / 1000);
      updatedMs = nowMs;
    }
  }
  return {
    take(count: number, nowMs: number): boolean {
      refill(nowMs);
      if (count > tokens) return false;
      tokens -= count;
      return true;
    },
    available(nowMs: number): number {
      refill(nowMs);
      return tokens;
    },
  };
}
