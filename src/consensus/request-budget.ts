/**
 * Per-peer budgets for answering block and certificate requests (spec §9). Answering costs reads
 * and bandwidth that the asker does not pay for, so without a budget one peer could make every
 * validator read and send 4 MiB per 40-byte request. Each peer has two token buckets on the
 * engine's `Clock`, one counting requests and one counting response bytes; a request finding
 * either empty is dropped and counted (`rate-limited`), which costs the peer score through the
 * drop-counter penalties like any other bad message.
 *
 * The budgets are far above what an honest validator asks for: it keeps at most 64 block and 64
 * certificate requests outstanding and retries each after the sync retry interval, spread over its
 * peers. Integer arithmetic only: tokens are counted in thousandths, refilled by whole elapsed
 * milliseconds.
 */
import type { Clock } from '../runtime/types.ts';

export interface RequestBudgetLimits {
  /** Requests a peer may send at once, and per second after that. */
  readonly requestsBurst: number;
  readonly requestsPerSecond: number;
  /** Response bytes a peer may be sent at once, and per second after that. */
  readonly bytesBurst: number;
  readonly bytesPerSecond: number;
}

export const DEFAULT_REQUEST_BUDGET: RequestBudgetLimits = Object.freeze({
  requestsBurst: 256,
  requestsPerSecond: 128,
  bytesBurst: 32 << 20,
  bytesPerSecond: 16 << 20,
});

interface Bucket {
  /** Thousandths of a request / of a byte. */
  requests: number;
  bytes: number;
  updatedMs: number;
}

export class RequestBudget {
  readonly #clock: Clock;
  readonly #limits: RequestBudgetLimits;
  readonly #buckets: Bucket[];

  constructor(clock: Clock, peers: number, limits: RequestBudgetLimits = DEFAULT_REQUEST_BUDGET) {
    this.#clock = clock;
    this.#limits = limits;
    const now = Math.floor(clock.now());
    this.#buckets = Array.from({ length: peers }, () => ({
      requests: limits.requestsBurst * 1000,
      bytes: limits.bytesBurst * 1000,
      updatedMs: now,
    }));
  }

  #refill(peer: number): Bucket | undefined {
    const bucket = this.#buckets[peer];
    if (bucket === undefined) return undefined;
    const now = Math.floor(this.#clock.now());
    const elapsedMs = Math.max(0, now - bucket.updatedMs);
    if (elapsedMs > 0) {
      const limits = this.#limits;
      bucket.requests = Math.min(
        limits.requestsBurst * 1000,
        bucket.requests + elapsedMs * limits.requestsPerSecond,
      );
      bucket.bytes = Math.min(limits.bytesBurst * 1000, bucket.bytes + elapsedMs * limits.bytesPerSecond);
      bucket.updatedMs = now;
    }
    return bucket;
  }

  /** Takes one request from `peer`'s budget; false (nothing taken) when none is left. */
  takeRequest(peer: number): boolean {
    const bucket = this.#refill(peer);
    if (bucket === undefined || bucket.requests < 1000) return false;
    bucket.requests -= 1000;
    return true;
  }

  /** Response bytes `peer` may be sent now. */
  bytesAvailable(peer: number): number {
    const bucket = this.#refill(peer);
    return bucket === undefined ? 0 : Math.floor(bucket.bytes / 1000);
  }

  /** Charges `bytes` sent to `peer` (at most what {@link bytesAvailable} allowed). */
  spendBytes(peer: number, bytes: number): void {
    const bucket = this.#refill(peer);
    if (bucket !== undefined) bucket.bytes = Math.max(0, bucket.bytes - bytes * 1000);
  }
}
