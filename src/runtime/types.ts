/**
 * The outside world, as the pure layers see it. Consensus (and anything else that must run the
 * same in the simulator and in production) receives these and never reaches for timers, sockets
 * or files itself. `runtime/real/` implements them on Node; `runtime/sim/` deterministically.
 */

/** Monotonic milliseconds and timers. In the simulator time is virtual and jumps between events. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never decreases. */
  now(): number;
  /** Calls `callback` once after `delayMs`; the returned function cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

/** Seeded randomness in the simulator, OS entropy in production. */
export interface Rng {
  /** A uniform integer in [0, bound). */
  nextInt(bound: number): number;
  /** `length` uniform bytes. */
  bytes(length: number): Uint8Array;
}

/** Validators are addressed by their index in the validator set. */
export type PeerId = number;

/** Authenticated point-to-point messages between validators. Delivery is best effort. */
export interface Network {
  send(to: PeerId, message: Uint8Array): void;
  broadcast(message: Uint8Array): void;
  /** Registers the single receiver of inbound messages, tagged with the authenticated sender. */
  onMessage(handler: (from: PeerId, message: Uint8Array) => void): void;
}

/**
 * Durable key-value storage. `put` and `delete` are visible to `get` at once but buffered until
 * `sync`, which resolves only when everything before it is on disk: a vote is journaled and synced
 * before it is sent. Unsynced writes become durable in the order they were made, so a crash keeps
 * a prefix of them (consensus relies on this: its finalized chain on disk is always contiguous);
 * the last write of that prefix may be torn, and readers treat a value that does not decode as
 * absent. The simulator (`runtime/sim/storage.ts`) implements exactly this model.
 */
export interface Storage {
  get(key: string): Uint8Array | undefined;
  /** Keys with `prefix`, in byte order of the key. */
  keys(prefix: string): string[];
  put(key: string, value: Uint8Array): void;
  delete(key: string): void;
  sync(): Promise<void>;
}
