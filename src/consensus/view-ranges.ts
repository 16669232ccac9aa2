/**
 * A set of view numbers held as sorted, disjoint, non-adjacent closed ranges. The engine keeps the
 * nullified views above its finalized tip in one (spec §5): a run of thousands of consecutive
 * nullified views costs one range, not one entry per view, and "is every view in (p, v)
 * nullified?" is a binary search instead of a walk. Views only enter through verified
 * certificates, so the set is bounded by the views the validators actually went through, and it
 * is pruned below the finalized tip.
 */
import { invariant } from '../codec/invariant.ts';

export class ViewRanges {
  /** `starts[i]..ends[i]` inclusive; `ends[i] + 1 < starts[i + 1]`. */
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  /** Number of disjoint ranges held (the set's memory). */
  get ranges(): number {
    return this.#starts.length;
  }

  /** Index of the last range whose start is at or below `view`, or -1. */
  #floor(view: number): number {
    let low = 0;
    let high = this.#starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.#starts[middle]! <= view) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }

  has(view: number): boolean {
    const index = this.#floor(view);
    return index >= 0 && this.#ends[index]! >= view;
  }

  add(view: number): void {
    invariant(Number.isSafeInteger(view) && view >= 0, 'views are non-negative integers');
    const index = this.#floor(view);
    if (index >= 0 && this.#ends[index]! >= view) return;
    const joinsBefore = index >= 0 && this.#ends[index]! + 1 === view;
    const joinsAfter = index + 1 < this.#starts.length && this.#starts[index + 1]! === view + 1;
    if (joinsBefore && joinsAfter) {
      this.#ends[index] = this.#ends[index + 1]!;
      this.#starts.splice(index + 1, 1);
      this.#ends.splice(index + 1, 1);
    } else if (joinsBefore) this.#ends[index] = view;
    else if (joinsAfter) this.#starts[index + 1] = view;
    else {
      this.#starts.splice(index + 1, 0, view);
      this.#ends.splice(index + 1, 0, view);
    }
  }

  /**
   * The lowest `s` such that every view in `s..view` is in the set: `view + 1` when `view` itself
   * is not.
   */
  runStart(view: number): number {
    const index = this.#floor(view);
    if (index < 0 || this.#ends[index]! < view) return view + 1;
    return this.#starts[index]!;
  }

  /** Up to `limit` views of `from..to` (inclusive) missing from the set, ascending. */
  missing(from: number, to: number, limit: number): number[] {
    const out: number[] = [];
    let view = from;
    while (view <= to && out.length < limit) {
      const index = this.#floor(view);
      if (index >= 0 && this.#ends[index]! >= view) {
        view = this.#ends[index]! + 1;
        continue;
      }
      out.push(view);
      view++;
    }
    return out;
  }

  /** Forgets every view at or below `view`. */
  pruneThrough(view: number): void {
    let drop = 0;
    while (drop < this.#starts.length && this.#ends[drop]! <= view) drop++;
    this.#starts.splice(0, drop);
    this.#ends.splice(0, drop);
    if (this.#starts.length > 0 && this.#starts[0]! <= view) this.#starts[0] = view + 1;
  }
}
