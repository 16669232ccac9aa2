/**
 * Virtual time for the simulator. One scheduler holds every pending event of a run in a binary
 * heap ordered by (time, insertion sequence), so events at the same instant run in the order they
 * were scheduled: the same seed gives the same interleaving, bit for bit.
 *
 * Each simulated process gets its own `Clock` from `clockFor`; crashing the process cancels all its
 * timers at once (`SimClock.stopAll`), as a real crash would.
 */
import { invariant } from '../../codec/invariant.ts';
import type { Clock } from '../types.ts';

interface Event {
  time: number;
  sequence: number;
  run: () => void;
  cancelled: boolean;
}

export interface SimClock extends Clock {
  /** Cancels every timer this clock set; later `setTimer` calls work again. */
  stopAll(): void;
}

export class Scheduler {
  #heap: Event[] = [];
  #sequence = 0;
  #now = 0;
  #executed = 0;

  now(): number {
    return this.#now;
  }

  /** Events run so far (a run's budget is bounded by it). */
  executed(): number {
    return this.#executed;
  }

  pending(): number {
    return this.#heap.length;
  }

  /** Schedules `run` after `delayMs` of virtual time; returns a cancel function. */
  schedule(delayMs: number, run: () => void): () => void {
    invariant(Number.isFinite(delayMs) && delayMs >= 0, 'delay must be a non-negative number');
    const event: Event = {
      time: this.#now + Math.ceil(delayMs),
      sequence: this.#sequence++,
      run,
      cancelled: false,
    };
    this.#push(event);
    return () => {
      event.cancelled = true;
    };
  }

  /**
   * Runs the next event at or before `untilMs`; returns false when none is due. Time jumps to the
   * event's instant.
   */
  step(untilMs: number): boolean {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.time > untilMs) return false;
      this.#pop();
      if (top.cancelled) continue;
      this.#now = top.time;
      this.#executed++;
      top.run();
      return true;
    }
  }

  /** Moves time forward to `untilMs` once `step(untilMs)` has returned false. */
  advanceTo(untilMs: number): void {
    if (untilMs > this.#now) this.#now = untilMs;
  }

  /** A clock for one simulated process, sharing this scheduler's time. */
  clockFor(): SimClock {
    const cancels = new Set<() => void>();
    return {
      now: () => this.#now,
      setTimer: (delayMs: number, callback: () => void) => {
        let cancel: () => void = () => {};
        const wrapped = () => {
          cancels.delete(cancel);
          callback();
        };
        cancel = this.schedule(Math.max(0, delayMs), wrapped);
        const remove = () => {
          cancel();
          cancels.delete(cancel);
        };
        cancels.add(cancel);
        return remove;
      },
      stopAll: () => {
        for (const cancel of cancels) cancel();
        cancels.clear();
      },
    };
  }

  #less(a: Event, b: Event): boolean {
    return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
  }

  #push(event: Event): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
