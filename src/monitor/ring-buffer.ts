/**
 * A fixed-capacity ring buffer: pushing into a full buffer overwrites the oldest entry, so memory is
 * `capacity` entries whatever arrives.
 */
import { invariant } from '../codec/invariant.ts';

export class RingBuffer<T> {
  readonly capacity: number;
  readonly #slots: Array<T | undefined>;
  /** Index of the next slot to write. */
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    invariant(
      Number.isSafeInteger(capacity) && capacity > 0,
      'ring buffer capacity must be a positive integer',
    );
    this.capacity = capacity;
    this.#slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `value`; returns the entry it overwrote, if the buffer was full. */
  push(value: T): T | undefined {
    const evicted = this.#size === this.capacity ? this.#slots[this.#next] : undefined;
    this.#slots[this.#next] = value;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size += 1;
    return evicted;
  }

  /** Entries from the newest to the oldest. */
  *newestFirst(): Generator<T> {
    for (let i = 1; i <= this.#size; i++) {
      yield this.#slots[(this.#next - i + this.capacity) % this.capacity] as T;
    }
  }
}
