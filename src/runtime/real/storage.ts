/**
 * Durable storage in `node:sqlite` under the node's data directory.
 *
 * Durability: the database runs in WAL mode with `synchronous = FULL`, so a committed transaction
 * is fsynced to the write-ahead log before `COMMIT` returns; after `kill -9` or a power cut the
 * database opens at the last commit (SQLite replays or discards the WAL on open). Writes are
 * buffered in memory until `sync()`, which applies them all in one transaction: either every write
 * since the previous sync survives a crash, or none does. A vote is journaled and synced before it
 * is sent (DESIGN.md, Storage). `durability: 'off'` (benchmarks and tests that build long chains,
 * never a validator) keeps the rollback journal in memory and never fsyncs.
 *
 * Group commit off the event loop (durability 'full'): the commits run on a worker thread
 * (storage-worker.ts) that owns the only writing connection, so an fsync (milliseconds, tens of
 * them on a shared disk) never blocks consensus, the API or gossip. At most one batch is being
 * committed at a time; a `sync()` called meanwhile seals everything written so far into the next
 * batch once the current one is on disk, so every vote and block synced during one fsync shares the
 * next one. `sync()` still resolves only when its writes are on disk, so a vote is durable before it
 * is sent exactly as before. One exception: a small batch (a vote's journal entry; no block, no
 * snapshot, at most `inlineCommitMaxBytes`) that finds the thread idle is committed on the calling
 * thread, because its fsync costs less than the thread's round trip on busy cores; with no batch in
 * flight, the order of batches in the file is unchanged. Reads see, newest first, the unsynced
 * writes, the batch being committed, then the file. A failed commit fails every later `sync()` too (the file then holds a
 * prefix of the batches and nothing after the failure is ever acknowledged).
 *
 * Tables:
 *   kv               — the `Storage` interface's key-value pairs (the consensus journal lives here);
 *                      keys are stored as UTF-8 blobs, so SQLite's memcmp order is byte order
 *   finalized_blocks — height → block hash, encoded block, finality certificate; write-once
 *   snapshots        — height → encoded engine state, to restart without replaying from genesis
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { bytesEqual } from '../../crypto/bytes.ts';
import type { Storage } from '../types.ts';
import { applyBatch, type CommitAnswer, type CommitBatch, prepareWrites } from './storage-worker.ts';

const SCHEMA_VERSION = 1;
export const DEFAULT_DATABASE_FILE = 'palisade.sqlite';
/** Unsynced writes held in memory at most; callers sync far more often than this fills. */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;
/** Most finalized blocks one `finalizedBlocks` call returns (block sync pages through more). */
export const MAX_BLOCKS_PER_READ = 1024;
const MAX_KEY_BYTES = 1024;

export type StorageErrorCode =
  | 'CLOSED'
  | 'INVALID_KEY'
  | 'INVALID_HEIGHT'
  | 'BATCH_TOO_LARGE'
  | 'CONFLICTING_BLOCK'
  | 'COMMIT_FAILED'
  | 'UNSUPPORTED_SCHEMA';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.code = code;
  }
}

export interface FinalizedBlockRecord {
  height: number;
  hash: Uint8Array;
  block: Uint8Array;
  certificate: Uint8Array;
}

export interface SnapshotRecord {
  height: number;
  state: Uint8Array;
}

export interface SqliteStorage extends Storage {
  /** The database file. */
  readonly path: string;
  /**
   * Buffers a finalized block until `sync`. Writing the same block again is a no-op.
   * @throws StorageError CONFLICTING_BLOCK when another hash is already finalized at that height
   */
  putFinalizedBlock(record: FinalizedBlockRecord): void;
  finalizedBlock(height: number): FinalizedBlockRecord | undefined;
  /** The highest finalized height stored (or buffered), or undefined when there is none. */
  latestFinalizedHeight(): number | undefined;
  /** Stored blocks from `fromHeight` upwards, at most `limit` (≤ MAX_BLOCKS_PER_READ); synced ones only. */
  finalizedBlocks(fromHeight: number, limit: number): FinalizedBlockRecord[];
  /** Buffers an engine snapshot until `sync`, replacing any at that height. */
  putSnapshot(record: SnapshotRecord): void;
  /** The snapshot with the greatest height (buffered ones included). */
  latestSnapshot(): SnapshotRecord | undefined;
  /** Heights of the synced snapshots, ascending (what state sync may offer peers). */
  snapshotHeights(): number[];
  /** A synced snapshot's state, or undefined. */
  snapshot(height: number): Uint8Array | undefined;
  /** Buffers deletion of every snapshot below `height` (keep recent ones, free space). */
  deleteSnapshotsBelow(height: number): void;
  /** SQLite's own consistency check of the whole file: `['ok']` when healthy. */
  integrityCheck(): string[];
  /** Closes the database; unsynced writes are discarded, exactly as a crash would. */
  close(): void;
  /**
   * Commits so far and their durations (ms, on the commit thread or inline): group-commit figures;
   * `inlineCommits` counts the small batches a storage with a commit thread committed itself.
   */
  commitStats(): { commits: number; syncs: number; totalMs: number; inlineCommits: number };
}

export interface OpenStorageOptions {
  /** Created if missing. */
  dataDirectory: string;
  fileName?: string;
  maxPendingBytes?: number;
  /**
   * 'full' (the default): every sync reaches the disk before it returns. 'off' leaves flushing to
   * the operating system — for benchmarks and tests that build long chains, never for a validator.
   */
  durability?: 'full' | 'off';
  /**
   * Where commits run: 'thread' (the default with durability 'full') on a worker thread, so the
   * event loop never waits on fsync; 'inline' on the calling thread (the default with 'off').
   */
  commits?: 'thread' | 'inline';
  /**
   * With commits on the thread: a batch of at most this many bytes (default
   * DEFAULT_INLINE_COMMIT_BYTES; 0 never) that holds no block or snapshot and finds the thread idle
   * is committed on the calling thread instead, fsync included.
   */
  inlineCommitMaxBytes?: number;
}

/**
 * A vote's sync (its journal entry, a notarized proposal) is a few kB and takes ≈ 0.5 ms to commit
 * on this machine's disk, but 6–11 ms from `sync()` to its answer through the commit thread on
 * two busy cores (the thread's wake-up, the answer's trip back; docs/performance.md, twelfth and
 * sixteenth sessions). With the thread idle, no earlier batch is uncommitted, so committing such a
 * batch here keeps the file a prefix of the batches; blocks, snapshots and anything larger still
 * go to the thread.
 */
export const DEFAULT_INLINE_COMMIT_BYTES = 64 * 1024;

/**
 * Opens (creating if needed) the node's database.
 * @example const storage = openSqliteStorage({ dataDirectory: './data' }); storage.put('journal/7', vote); await storage.sync();
 * @throws StorageError UNSUPPORTED_SCHEMA when the file was written by a newer version
 */
export function openSqliteStorage(options: OpenStorageOptions): SqliteStorage {
  mkdirSync(options.dataDirectory, { recursive: true });
  const path = join(options.dataDirectory, options.fileName ?? DEFAULT_DATABASE_FILE);
  const maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  const database = new DatabaseSync(path);
  try {
    // A commit thread of a storage just closed on this file may still be finishing its batch.
    database.exec('PRAGMA busy_timeout = 10000');
    database.exec(`PRAGMA journal_mode = ${options.durability === 'off' ? 'MEMORY' : 'WAL'}`);
    database.exec(`PRAGMA synchronous = ${options.durability === 'off' ? 'OFF' : 'FULL'}`);
    const version = (database.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > SCHEMA_VERSION) {
      throw new StorageError(
        'UNSUPPORTED_SCHEMA',
        `${path} has schema ${version}, this node knows ${SCHEMA_VERSION}`,
      );
    }
    database.exec(`
      CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS finalized_blocks (
        height INTEGER PRIMARY KEY, hash BLOB NOT NULL, block BLOB NOT NULL, certificate BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS snapshots (height INTEGER PRIMARY KEY, state BLOB NOT NULL);
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  } catch (error) {
    database.close();
    throw error;
  }

  const statements = {
    get: database.prepare('SELECT value FROM kv WHERE key = ?'),
    keysFrom: database.prepare('SELECT key FROM kv WHERE key >= ? ORDER BY key'),
    keysBetween: database.prepare('SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key'),
    block: database.prepare('SELECT height, hash, block, certificate FROM finalized_blocks WHERE height = ?'),
    blocks: database.prepare(
      'SELECT height, hash, block, certificate FROM finalized_blocks WHERE height >= ? ORDER BY height LIMIT ?',
    ),
    latestHeight: database.prepare('SELECT MAX(height) AS height FROM finalized_blocks'),
    latestSnapshot: database.prepare('SELECT height, state FROM snapshots ORDER BY height DESC LIMIT 1'),
    snapshotHeights: database.prepare('SELECT height FROM snapshots ORDER BY height'),
    snapshot: database.prepare('SELECT state FROM snapshots WHERE height = ?'),
  } satisfies Record<string, StatementSync>;

  /** Unsynced key-value writes; `null` marks a delete. */
  let pendingKv = new Map<string, Uint8Array | null>();
  let pendingBlocks = new Map<number, FinalizedBlockRecord>();
  let pendingSnapshots = new Map<number, SnapshotRecord>();
  let pendingSnapshotFloor: number | undefined;
  let pendingBytes = 0;
  let closed = false;

  /** The batch being committed: sealed writes, still read through until the commit answers. */
  interface Sealed {
    id: number;
    kv: Map<string, Uint8Array | null>;
    blocks: Map<number, FinalizedBlockRecord>;
    snapshots: Map<number, SnapshotRecord>;
    snapshotFloor: number | undefined;
    done: Promise<void>;
    resolve: () => void;
    reject: (error: Error) => void;
  }
  let committing: Sealed | undefined;
  /** Syncs waiting for the batch after `committing`. */
  let next: { done: Promise<void>; resolve: () => void; reject: (error: Error) => void } | undefined;
  let failure: StorageError | undefined;
  let nextBatchId = 1;
  const stats = { commits: 0, syncs: 0, totalMs: 0, inlineCommits: 0 };
  const useThread = (options.commits ?? (options.durability === 'off' ? 'inline' : 'thread')) === 'thread';
  const inlineCommitMaxBytes = useThread ? (options.inlineCommitMaxBytes ?? DEFAULT_INLINE_COMMIT_BYTES) : 0;
  const inlineWrites = useThread && inlineCommitMaxBytes === 0 ? undefined : prepareWrites(database);
  let worker: Worker | undefined;
  if (useThread) {
    worker = new Worker(new URL('./storage-worker.ts', import.meta.url), {
      workerData: { storageCommitThread: path },
      // The main entry's flags (--input-type, --import of a guard, the test runner's) are not its.
      execArgv: [],
    });
    // A storage nobody closes must not keep the process alive.
    worker.unref();
    worker.on('message', (answer: CommitAnswer) => finishCommit(answer));
    worker.on('error', (error) => {
      finishCommit({ id: committing?.id ?? 0, ok: false, error: error.message });
    });
  }

  function deferred(): { done: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { done, resolve, reject };
  }

  function hasPending(): boolean {
    return (
      pendingKv.size > 0 ||
      pendingBlocks.size > 0 ||
      pendingSnapshots.size > 0 ||
      pendingSnapshotFloor !== undefined
    );
  }

  /** Seals every unsynced write into one batch and hands it to the commit thread (or commits it). */
  function startCommit(waiters: {
    done: Promise<void>;
    resolve: () => void;
    reject: (error: Error) => void;
  }) {
    const sealed: Sealed = {
      id: nextBatchId++,
      kv: pendingKv,
      blocks: pendingBlocks,
      snapshots: pendingSnapshots,
      snapshotFloor: pendingSnapshotFloor,
      ...waiters,
    };
    // Only a batch the thread never sees may run here, and only with nothing before it in flight.
    const inline =
      worker === undefined ||
      (pendingBytes <= inlineCommitMaxBytes &&
        sealed.blocks.size === 0 &&
        sealed.snapshots.size === 0 &&
        sealed.snapshotFloor === undefined);
    pendingKv = new Map();
    pendingBlocks = new Map();
    pendingSnapshots = new Map();
    pendingSnapshotFloor = undefined;
    pendingBytes = 0;
    committing = sealed;
    const batch: CommitBatch = {
      id: sealed.id,
      kv: [...sealed.kv].map(([key, value]) => [Buffer.from(key, 'utf8'), value]),
      blocks: [...sealed.blocks.values()].sort((a, b) => a.height - b.height),
      snapshotFloor: sealed.snapshotFloor,
      snapshots: [...sealed.snapshots.values()],
    };
    if (!inline) {
      worker!.postMessage(batch);
      return;
    }
    if (worker !== undefined) stats.inlineCommits += 1;
    const start = performance.now();
    try {
      applyBatch(database, inlineWrites!, batch);
    } catch (error) {
      finishCommit({
        id: sealed.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    finishCommit({ id: sealed.id, ok: true, ms: performance.now() - start });
  }

  function finishCommit(answer: CommitAnswer): void {
    const sealed = committing;
    if (sealed === undefined || sealed.id !== answer.id) return;
    committing = undefined;
    if (!answer.ok) {
      failure = new StorageError('COMMIT_FAILED', `${path}: ${answer.error}`);
      // The failed batch stays readable (it is what this process wrote), and nothing after it is
      // ever acknowledged: a validator that cannot write stops voting instead of voting unjournaled.
      pendingKv = new Map([...sealed.kv, ...pendingKv]);
      pendingBlocks = new Map([...sealed.blocks, ...pendingBlocks]);
      pendingSnapshots = new Map([...sealed.snapshots, ...pendingSnapshots]);
      sealed.reject(failure);
      if (next !== undefined) {
        next.reject(failure);
        next = undefined;
      }
      return;
    }
    stats.commits += 1;
    stats.totalMs += answer.ms;
    sealed.resolve();
    if (next !== undefined && !closed) {
      const waiters = next;
      next = undefined;
      startCommit(waiters);
    }
  }

  /** The newest unsynced or committing value of `key`: a value, `null` (deleted) or undefined. */
  function bufferedKv(key: string): Uint8Array | null | undefined {
    if (pendingKv.has(key)) return pendingKv.get(key);
    if (committing?.kv.has(key)) return committing.kv.get(key);
    return undefined;
  }

  function assertOpen(): void {
    if (closed) throw new StorageError('CLOSED', `${path} is closed`);
  }

  function keyBytes(key: string): Buffer {
    if (typeof key !== 'string') throw new StorageError('INVALID_KEY', 'key must be a string');
    const bytes = Buffer.from(key, 'utf8');
    if (bytes.length === 0 || bytes.length > MAX_KEY_BYTES || bytes.toString('utf8') !== key) {
      throw new StorageError('INVALID_KEY', `key must be 1..${MAX_KEY_BYTES} bytes of well-formed UTF-8`);
    }
    return bytes;
  }

  function assertHeight(height: number): void {
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new StorageError('INVALID_HEIGHT', `height must be a non-negative safe integer, got ${height}`);
    }
  }

  function reserve(bytes: number): void {
    if (pendingBytes + bytes > maxPendingBytes) {
      throw new StorageError(
        'BATCH_TOO_LARGE',
        `${pendingBytes + bytes} unsynced bytes would exceed ${maxPendingBytes}; sync more often`,
      );
    }
    pendingBytes += bytes;
  }

  function copy(bytes: Uint8Array): Uint8Array {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('value must be a Uint8Array');
    return new Uint8Array(bytes);
  }

  function toBlock(row: Record<string, unknown>): FinalizedBlockRecord {
    return {
      height: Number(row.height),
      hash: new Uint8Array(row.hash as Uint8Array),
      block: new Uint8Array(row.block as Uint8Array),
      certificate: new Uint8Array(row.certificate as Uint8Array),
    };
  }

  /** The smallest byte string greater than every string that starts with `prefix`, if any. */
  function prefixEnd(prefix: Buffer): Buffer | undefined {
    const end = Buffer.from(prefix);
    for (let i = end.length - 1; i >= 0; i -= 1) {
      if ((end[i] ?? 0) < 0xff) {
        end[i] = (end[i] ?? 0) + 1;
        return end.subarray(0, i + 1);
      }
    }
    return undefined;
  }

  function storedBlock(height: number): FinalizedBlockRecord | undefined {
    const row = statements.block.get(height);
    return row === undefined ? undefined : toBlock(row);
  }

  return {
    path,
    get(key: string): Uint8Array | undefined {
      assertOpen();
      const bytes = keyBytes(key);
      const buffered = bufferedKv(key);
      if (buffered !== undefined) return buffered === null ? undefined : new Uint8Array(buffered);
      const row = statements.get.get(bytes);
      return row === undefined ? undefined : new Uint8Array(row.value as Uint8Array);
    },
    keys(prefix: string): string[] {
      assertOpen();
      if (typeof prefix !== 'string') throw new StorageError('INVALID_KEY', 'prefix must be a string');
      const start = Buffer.from(prefix, 'utf8');
      const end = prefixEnd(start);
      const rows =
        end === undefined ? statements.keysFrom.all(start) : statements.keysBetween.all(start, end);
      const keys = new Set(rows.map((row) => Buffer.from(row.key as Uint8Array).toString('utf8')));
      for (const layer of committing === undefined ? [pendingKv] : [committing.kv, pendingKv]) {
        for (const [key, value] of layer) {
          if (!key.startsWith(prefix)) continue;
          if (value === null) keys.delete(key);
          else keys.add(key);
        }
      }
      return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    },
    put(key: string, value: Uint8Array): void {
      assertOpen();
      const bytes = keyBytes(key);
      const stored = copy(value);
      reserve(bytes.length + stored.length);
      pendingKv.set(key, stored);
    },
    delete(key: string): void {
      assertOpen();
      reserve(keyBytes(key).length);
      pendingKv.set(key, null);
    },
    sync(): Promise<void> {
      assertOpen();
      if (failure !== undefined) return Promise.reject(failure);
      stats.syncs += 1;
      if (!hasPending()) {
        // Everything written is sealed already: done once the batch being committed is.
        if (next !== undefined) return next.done;
        return committing === undefined ? Promise.resolve() : committing.done;
      }
      if (committing !== undefined) {
        // Group commit: what is written now goes in the batch after the one on its way to disk.
        next ??= deferred();
        return next.done;
      }
      const waiters = deferred();
      startCommit(waiters);
      return waiters.done;
    },
    putFinalizedBlock(record: FinalizedBlockRecord): void {
      assertOpen();
      assertHeight(record.height);
      const existing =
        pendingBlocks.get(record.height) ??
        committing?.blocks.get(record.height) ??
        storedBlock(record.height);
      if (existing !== undefined) {
        if (bytesEqual(existing.hash, record.hash)) return;
        throw new StorageError(
          'CONFLICTING_BLOCK',
          `height ${record.height} is already finalized with another hash; finality never changes`,
        );
      }
      const stored = {
        height: record.height,
        hash: copy(record.hash),
        block: copy(record.block),
        certificate: copy(record.certificate),
      };
      reserve(stored.hash.length + stored.block.length + stored.certificate.length);
      pendingBlocks.set(record.height, stored);
    },
    finalizedBlock(height: number): FinalizedBlockRecord | undefined {
      assertOpen();
      assertHeight(height);
      const pending = pendingBlocks.get(height) ?? committing?.blocks.get(height);
      if (pending !== undefined) {
        return {
          ...pending,
          hash: copy(pending.hash),
          block: copy(pending.block),
          certificate: copy(pending.certificate),
        };
      }
      return storedBlock(height);
    },
    latestFinalizedHeight(): number | undefined {
      assertOpen();
      const row = statements.latestHeight.get();
      let latest = row?.height === null || row?.height === undefined ? undefined : Number(row.height);
      for (const height of pendingBlocks.keys()) if (latest === undefined || height > latest) latest = height;
      for (const height of committing?.blocks.keys() ?? [])
        if (latest === undefined || height > latest) latest = height;
      return latest;
    },
    finalizedBlocks(fromHeight: number, limit: number): FinalizedBlockRecord[] {
      assertOpen();
      assertHeight(fromHeight);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_BLOCKS_PER_READ) {
        throw new StorageError('INVALID_HEIGHT', `limit must be within [1, ${MAX_BLOCKS_PER_READ}]`);
      }
      return statements.blocks.all(fromHeight, limit).map(toBlock);
    },
    putSnapshot(record: SnapshotRecord): void {
      assertOpen();
      assertHeight(record.height);
      const stored = { height: record.height, state: copy(record.state) };
      reserve(stored.state.length);
      pendingSnapshots.set(record.height, stored);
    },
    latestSnapshot(): SnapshotRecord | undefined {
      assertOpen();
      let latest: SnapshotRecord | undefined;
      const pendingFloor = pendingSnapshotFloor ?? 0;
      for (const record of pendingSnapshots.values()) {
        if (latest === undefined || record.height > latest.height) latest = record;
      }
      for (const record of committing?.snapshots.values() ?? []) {
        if (record.height >= pendingFloor && (latest === undefined || record.height > latest.height))
          latest = record;
      }
      const row = statements.latestSnapshot.get();
      if (row !== undefined) {
        const height = Number(row.height);
        const floor = Math.max(pendingFloor, committing?.snapshotFloor ?? 0);
        const floorDropsIt = floor > 0 && height < floor;
        if (!floorDropsIt && (latest === undefined || height > latest.height)) {
          return { height, state: new Uint8Array(row.state as Uint8Array) };
        }
      }
      return latest === undefined ? undefined : { height: latest.height, state: copy(latest.state) };
    },
    snapshotHeights(): number[] {
      assertOpen();
      return statements.snapshotHeights.all().map((row) => Number(row.height));
    },
    snapshot(height: number): Uint8Array | undefined {
      assertOpen();
      assertHeight(height);
      const row = statements.snapshot.get(height);
      return row === undefined ? undefined : new Uint8Array(row.state as Uint8Array);
    },
    deleteSnapshotsBelow(height: number): void {
      assertOpen();
      assertHeight(height);
      pendingSnapshotFloor = Math.max(pendingSnapshotFloor ?? 0, height);
      for (const pending of [...pendingSnapshots.keys()]) {
        if (pending < height) pendingSnapshots.delete(pending);
      }
    },
    integrityCheck(): string[] {
      assertOpen();
      return database
        .prepare('PRAGMA integrity_check')
        .all()
        .map((row) => String(row.integrity_check));
    },
    close(): void {
      if (closed) return;
      closed = true;
      database.close();
      // The batch on its way (if any) still commits, in order, then the thread closes: from the
      // outside that is a crash just after that commit. Syncs not yet sealed never resolve.
      worker?.postMessage('close');
    },
    commitStats: () => ({ ...stats }),
  };
}
