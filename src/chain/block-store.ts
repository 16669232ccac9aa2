/**
 * Where a validator keeps its finalized chain: the `Storage` key-value interface plus finalized
 * blocks by height and state snapshots. The real runtime's SQLite storage
 * (src/runtime/real/storage.ts) implements it; `createKvBlockStore` implements it over any
 * `Storage`, which is how the simulator's crash-prone storage (src/runtime/sim/storage.ts) carries a
 * whole node.
 *
 * One sync makes a block and everything written before it durable together. Over a plain
 * `Storage`, whose crash keeps a prefix of the unsynced writes, that holds because blocks and
 * snapshots are buffered here and written at `sync`, after every other write of the same sync and
 * in height order: a block that survived a crash implies its summary, index and roots did too.
 */
import { invariant } from '../codec/invariant.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import type { Storage } from '../runtime/types.ts';

export interface FinalizedBlockRecord {
  height: number;
  hash: Uint8Array;
  /** `BlockCodec` encoding. */
  block: Uint8Array;
  /** `CertificateCodec` encoding of the certificate that finalized it (or a descendant). */
  certificate: Uint8Array;
}

export interface SnapshotRecord {
  height: number;
  state: Uint8Array;
}

export interface BlockStore extends Storage {
  /**
   * Buffers a finalized block until `sync`. Writing the same block again is a no-op.
   * @throws when another hash is already finalized at that height (finality never changes)
   */
  putFinalizedBlock(record: FinalizedBlockRecord): void;
  finalizedBlock(height: number): FinalizedBlockRecord | undefined;
  /** The highest finalized height stored (or buffered), or undefined when there is none. */
  latestFinalizedHeight(): number | undefined;
  /** Buffers a snapshot until `sync`, replacing any at that height. */
  putSnapshot(record: SnapshotRecord): void;
  /** The snapshot with the greatest height (buffered ones included). */
  latestSnapshot(): SnapshotRecord | undefined;
  /** Heights of the synced snapshots, ascending. */
  snapshotHeights(): number[];
  /** A synced snapshot's state, or undefined. */
  snapshot(height: number): Uint8Array | undefined;
  /** Buffers deletion of every snapshot below `height`. */
  deleteSnapshotsBelow(height: number): void;
}

const BLOCK_PREFIX = 'chain/block/';
const SNAPSHOT_PREFIX = 'chain/snapshot/';
const HASH_BYTES = 32;
/** Height, hash, then the two lengths: a torn record is shorter than its lengths say. */
const HEADER_BYTES = HASH_BYTES + 8;

function heightKey(prefix: string, height: number): string {
  invariant(Number.isSafeInteger(height) && height >= 0, 'heights are non-negative integers');
  return prefix + height.toString().padStart(16, '0');
}

function heightOf(key: string, prefix: string): number {
  return Number(key.slice(prefix.length));
}

function encodeBlockRecord(record: FinalizedBlockRecord): Uint8Array {
  invariant(record.hash.length === HASH_BYTES, 'a block hash is 32 bytes');
  const out = new Uint8Array(HEADER_BYTES + record.block.length + record.certificate.length);
  out.set(record.hash, 0);
  const view = new DataView(out.buffer);
  view.setUint32(HASH_BYTES, record.block.length);
  view.setUint32(HASH_BYTES + 4, record.certificate.length);
  out.set(record.block, HEADER_BYTES);
  out.set(record.certificate, HEADER_BYTES + record.block.length);
  return out;
}

/** The record, or undefined when the value is torn (shorter or longer than its lengths say). */
function decodeBlockRecord(height: number, value: Uint8Array): FinalizedBlockRecord | undefined {
  if (value.length < HEADER_BYTES) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  const blockBytes = view.getUint32(HASH_BYTES);
  const certificateBytes = view.getUint32(HASH_BYTES + 4);
  if (value.length !== HEADER_BYTES + blockBytes + certificateBytes) return undefined;
  return {
    height,
    hash: value.slice(0, HASH_BYTES),
    block: value.slice(HEADER_BYTES, HEADER_BYTES + blockBytes),
    certificate: value.slice(HEADER_BYTES + blockBytes),
  };
}

/** Snapshots carry a length prefix for the same reason. */
function encodeSnapshot(state: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + state.length);
  new DataView(out.buffer).setUint32(0, state.length);
  out.set(state, 4);
  return out;
}

function decodeSnapshot(value: Uint8Array | undefined): Uint8Array | undefined {
  if (value === undefined || value.length < 4) return undefined;
  const length = new DataView(value.buffer, value.byteOffset, value.length).getUint32(0);
  return value.length === 4 + length ? value.slice(4) : undefined;
}

/**
 * A `BlockStore` over a key-value `Storage`.
 * @example const store = createKvBlockStore(new SimStorage()); store.putFinalizedBlock(record); await store.sync();
 */
export function createKvBlockStore(storage: Storage): BlockStore {
  const pendingBlocks = new Map<number, FinalizedBlockRecord>();
  const pendingSnapshots = new Map<number, Uint8Array>();
  let pendingFloor: number | undefined;

  const storedBlock = (height: number): FinalizedBlockRecord | undefined => {
    const value = storage.get(heightKey(BLOCK_PREFIX, height));
    return value === undefined ? undefined : decodeBlockRecord(height, value);
  };
  const storedSnapshotHeights = (): number[] =>
    storage
      .keys(SNAPSHOT_PREFIX)
      .filter((key) => decodeSnapshot(storage.get(key)) !== undefined)
      .map((key) => heightOf(key, SNAPSHOT_PREFIX));

  return {
    get: (key) => storage.get(key),
    keys: (prefix) => storage.keys(prefix),
    put: (key, value) => storage.put(key, value),
    delete: (key) => storage.delete(key),

    async sync() {
      // Snapshots, their pruning and then the blocks, in height order, after every other write.
      for (const [height, state] of [...pendingSnapshots].sort((a, b) => a[0] - b[0]))
        storage.put(heightKey(SNAPSHOT_PREFIX, height), encodeSnapshot(state));
      if (pendingFloor !== undefined) {
        for (const key of storage.keys(SNAPSHOT_PREFIX))
          if (heightOf(key, SNAPSHOT_PREFIX) < pendingFloor) storage.delete(key);
      }
      for (const record of [...pendingBlocks.values()].sort((a, b) => a.height - b.height))
        storage.put(heightKey(BLOCK_PREFIX, record.height), encodeBlockRecord(record));
      pendingSnapshots.clear();
      pendingBlocks.clear();
      pendingFloor = undefined;
      await storage.sync();
    },

    putFinalizedBlock(record) {
      const existing = pendingBlocks.get(record.height) ?? storedBlock(record.height);
      if (existing !== undefined) {
        invariant(
          bytesEqual(existing.hash, record.hash),
          `height ${record.height} is already finalized with another hash; finality never changes`,
        );
        return;
      }
      pendingBlocks.set(record.height, {
        height: record.height,
        hash: record.hash.slice(),
        block: record.block.slice(),
        certificate: record.certificate.slice(),
      });
    },

    finalizedBlock(height) {
      const pending = pendingBlocks.get(height);
      if (pending !== undefined)
        return { ...pending, hash: pending.hash.slice(), block: pending.block.slice() };
      return storedBlock(height);
    },

    latestFinalizedHeight() {
      let latest: number | undefined;
      for (const height of pendingBlocks.keys()) if (latest === undefined || height > latest) latest = height;
      const keys = storage.keys(BLOCK_PREFIX);
      // A torn last record is absent: the highest one that decodes is the stored tip.
      for (let i = keys.length - 1; i >= 0; i--) {
        const height = heightOf(keys[i]!, BLOCK_PREFIX);
        if (storedBlock(height) === undefined) continue;
        if (latest === undefined || height > latest) latest = height;
        break;
      }
      return latest;
    },

    putSnapshot(record) {
      pendingSnapshots.set(record.height, record.state.slice());
    },

    latestSnapshot() {
      let latest: SnapshotRecord | undefined;
      for (const [height, state] of pendingSnapshots)
        if (latest === undefined || height > latest.height) latest = { height, state: state.slice() };
      const heights = storedSnapshotHeights().filter(
        (height) => pendingFloor === undefined || height >= pendingFloor,
      );
      const top = heights[heights.length - 1];
      if (top !== undefined && (latest === undefined || top > latest.height)) {
        const state = decodeSnapshot(storage.get(heightKey(SNAPSHOT_PREFIX, top)));
        if (state !== undefined) return { height: top, state };
      }
      return latest;
    },

    snapshotHeights: () => storedSnapshotHeights(),

    snapshot: (height) => decodeSnapshot(storage.get(heightKey(SNAPSHOT_PREFIX, height))),

    deleteSnapshotsBelow(height) {
      pendingFloor = Math.max(pendingFloor ?? 0, height);
      for (const pending of [...pendingSnapshots.keys()])
        if (pending < height) pendingSnapshots.delete(pending);
    },
  };
}
