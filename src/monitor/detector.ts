/**
 * A detector turns signals into findings. It is a small class with state of its own (previous
 * counters, a window of recent samples), bounded, and a function of the signals it was given:
 * no clock, no I/O, so a test replays any sequence of signals and gets the same findings.
 */
import type { Finding } from './finding.ts';
import type { MonitorSignal } from './signals.ts';

export interface Detector {
  /** A stable name, used in logs when a detector throws. */
  readonly name: string;
  /** Findings for this signal (usually none); signals of other kinds are ignored. */
  observe(signal: MonitorSignal): Finding[];
}

/** Sums amounts over a sliding window of time (or height); at most `entriesMax` entries kept. */
export class SlidingSum {
  readonly #windowSize: number;
  readonly #entriesMax: number;
  #entries: Array<{ at: number; amount: number }> = [];
  #total = 0;

  constructor(windowSize: number, entriesMax = 4096) {
    this.#windowSize = windowSize;
    this.#entriesMax = entriesMax;
  }

  /** Adds `amount` at `at` and returns the sum over `(at - window, at]`. */
  add(at: number, amount: number): number {
    if (amount > 0) {
      this.#entries.push({ at, amount });
      this.#total += amount;
    }
    let drop = 0;
    while (
      drop < this.#entries.length &&
      (this.#entries[drop]!.at <= at - this.#windowSize || this.#entries.length - drop > this.#entriesMax)
    ) {
      this.#total -= this.#entries[drop]!.amount;
      drop++;
    }
    if (drop > 0) this.#entries = this.#entries.slice(drop);
    return this.#total;
  }

  reset(): void {
    this.#entries = [];
    this.#total = 0;
  }
}

/** Remembers when each key last fired; at most `keysMax` keys (the oldest are forgotten). */
export class Cooldown {
  readonly #periodMs: number;
  readonly #keysMax: number;
  readonly #lastFired = new Map<string, number>();

  constructor(periodMs: number, keysMax = 4096) {
    this.#periodMs = periodMs;
    this.#keysMax = keysMax;
  }

  /** True (and remembered) when `key` has not fired within the period before `at`. */
  ready(key: string, at: number): boolean {
    const last = this.#lastFired.get(key);
    if (last !== undefined && at - last < this.#periodMs) return false;
    this.#lastFired.delete(key);
    this.#lastFired.set(key, at);
    if (this.#lastFired.size > this.#keysMax) {
      const oldest = this.#lastFired.keys().next().value;
      if (oldest !== undefined) this.#lastFired.delete(oldest);
    }
    return true;
  }
}

/** |a − b| in basis points of `reference` (0 when the reference is not positive). */
export function deviationBps(a: bigint, b: bigint, reference: bigint): bigint {
  if (reference <= 0n) return 0n;
  const distance = a > b ? a - b : b - a;
  return (distance * 10_000n) / reference;
}
