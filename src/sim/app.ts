/**
 * The simulator's application: a hash chain whose state after height h is
 * `sha256(state(h − 1) ‖ h ‖ payload(h))`. It is small, deterministic and stateful, so the
 * invariant "honest validators' application state hashes agree at every height" tests real state,
 * and it persists through the same storage as the engine, so crashes exercise exactly-once delivery.
 *
 * Vote extensions carry 8 bytes that each validator derives from its index and the view: a peer's
 * extension is accepted only when it matches, as the oracle will check observations.
 */
import type { Block, VoteKindValue } from '../codec/consensus.ts';
import type { Application, BlockContext, FinalizedBlock } from '../consensus/engine.ts';
import { bytesEqual, concatBytes } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { Storage } from '../runtime/types.ts';

const STATE_PREFIX = 'app/state/';
export const SIM_PAYLOAD_BYTES = 24;

export interface AppObserver {
  /** A block was applied: the block, its digest and the resulting state hash. */
  applied(block: Block, digest: Uint8Array, stateHash: Uint8Array): void;
  /** The engine broke its delivery contract (a gap or a repeat). */
  deliveryError(detail: string): void;
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/**
 * The payload a proposer builds for `context`. The salt is the proposing process's endpoint, so
 * the two copies of a twin propose different blocks in the same view, as a real equivocating key
 * holder would.
 */
export function simPayload(context: BlockContext, salt: number): Uint8Array {
  const digest = sha256(
    new TextEncoder().encode('sim-payload'),
    context.parent,
    u64(context.view),
    u64(salt),
  );
  return digest.slice(0, SIM_PAYLOAD_BYTES);
}

export function simExtension(signer: number, view: number): Uint8Array {
  return sha256(u64(signer), u64(view)).slice(0, 8);
}

export class SimApplication implements Application {
  readonly #storage: Storage;
  readonly #observer: AppObserver;
  readonly #self: number;
  readonly #salt: number;
  #height = 0;
  #state: Uint8Array = new Uint8Array(32);

  constructor(storage: Storage, self: number, observer: AppObserver, salt = self) {
    this.#storage = storage;
    this.#self = self;
    this.#salt = salt;
    this.#observer = observer;
    // Each height's state is its own key, so a torn last write falls back to the previous one.
    const keys = storage.keys(STATE_PREFIX);
    for (let i = keys.length - 1; i >= 0; i--) {
      const value = storage.get(keys[i]!);
      if (value === undefined || value.length !== 40) continue;
      this.#height = Number(new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0));
      this.#state = value.slice(8);
      break;
    }
  }

  processedHeight(): number {
    return this.#height;
  }

  stateHash(): Uint8Array {
    return this.#state.slice();
  }

  propose(context: BlockContext): Uint8Array {
    return simPayload(context, this.#salt);
  }

  verify(_context: BlockContext, payload: Uint8Array): boolean {
    return payload.length === SIM_PAYLOAD_BYTES;
  }

  async finalized({ block, digest }: FinalizedBlock): Promise<void> {
    if (block.height !== this.#height + 1) {
      this.#observer.deliveryError(
        `validator ${this.#self} got height ${block.height} after ${this.#height}`,
      );
      return;
    }
    this.#state = sha256(this.#state, u64(block.height), block.payload);
    this.#height = block.height;
    this.#storage.put(
      STATE_PREFIX + block.height.toString().padStart(16, '0'),
      concatBytes(u64(block.height), this.#state),
    );
    if (block.height > 2)
      this.#storage.delete(STATE_PREFIX + (block.height - 2).toString().padStart(16, '0'));
    await this.#storage.sync();
    this.#observer.applied(block, digest, this.#state);
  }

  extension(_kind: VoteKindValue, view: number): Uint8Array {
    return simExtension(this.#self, view);
  }

  verifyExtension(
    signer: number,
    _kind: VoteKindValue,
    view: number,
    _digest: Uint8Array,
    extension: Uint8Array,
  ): boolean {
    return bytesEqual(extension, simExtension(signer, view));
  }
}
