/**
 * Simulated durable storage. Writes are buffered until `sync`; a crash keeps everything synced,
 * then applies a random prefix of the unsynced writes, of which the last may be torn (a value cut
 * short), as a file system that reorders nothing but loses power mid-write would.
 */
import type { Storage } from '../types.ts';
import type { SimRng } from './rng.ts';

type Operation = { key: string; value: Uint8Array | undefined };

/** Unsynced operations one process may buffer; a runaway writer is a bug, not a workload. */
const MAX_UNSYNCED_OPERATIONS = 100_000;

export class SimStorage implements Storage {
  readonly #durable = new Map<string, Uint8Array>();
  readonly #visible = new Map<string, Uint8Array>();
  #unsynced: Operation[] = [];
  #syncs = 0;
  #tornWrites = 0;

  get(key: string): Uint8Array | undefined {
    return this.#visible.get(key);
  }

  keys(prefix: string): string[] {
    const out: string[] = [];
    for (const key of this.#visible.keys()) if (key.startsWith(prefix)) out.push(key);
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  put(key: string, value: Uint8Array): void {
    this.#record({ key, value: value.slice() });
    this.#visible.set(key, value.slice());
  }

  delete(key: string): void {
    this.#record({ key, value: undefined });
    this.#visible.delete(key);
  }

  async sync(): Promise<void> {
    this.#syncs++;
    for (const operation of this.#unsynced) apply(this.#durable, operation);
    this.#unsynced = [];
  }

  /** Loses power: keeps synced data and a random prefix of the rest, the last write maybe torn. */
  crash(rng: SimRng): void {
    const kept = rng.nextInt(this.#unsynced.length + 1);
    for (let i = 0; i < kept; i++) {
      const operation = this.#unsynced[i]!;
      const last = i === kept - 1;
      if (last && operation.value !== undefined && operation.value.length > 0 && rng.chance(500)) {
        this.#tornWrites++;
        apply(this.#durable, {
          key: operation.key,
          value: operation.value.slice(0, rng.nextInt(operation.value.length)),
        });
      } else {
        apply(this.#durable, operation);
      }
    }
    this.#unsynced = [];
    this.#visible.clear();
    for (const [key, value] of this.#durable) this.#visible.set(key, value);
  }

  stats(): { syncs: number; tornWrites: number; keys: number } {
    return { syncs: this.#syncs, tornWrites: this.#tornWrites, keys: this.#visible.size };
  }

  #record(operation: Operation): void {
    if (this.#unsynced.length >= MAX_UNSYNCED_OPERATIONS) {
      throw new Error(
        `SimStorage: more than ${MAX_UNSYNCED_OPERATIONS} unsynced writes; a caller never syncs`,
      );
    }
    this.#unsynced.push(operation);
  }
}

function apply(map: Map<string, Uint8Array>, operation: Operation): void {
  if (operation.value === undefined) map.delete(operation.key);
  else map.set(operation.key, operation.value);
}
