/**
 * The commit thread of `openSqliteStorage` (storage.ts): it owns the database's only writing
 * connection and applies each batch the main thread hands it in one transaction, fsynced
 * (`synchronous = FULL`) before it answers. Batches arrive and commit strictly in order, one at a
 * time, so the file always holds a prefix of them. The main thread never waits on the disk: it
 * keeps serving reads (its own read-only use of the same WAL database) and resolves a `sync()`
 * only when this thread has answered for the batch that carries its writes.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CommitBatch {
  id: number;
  /** Key bytes and value; `null` deletes. */
  kv: [Uint8Array, Uint8Array | null][];
  blocks: { height: number; hash: Uint8Array; block: Uint8Array; certificate: Uint8Array }[];
  snapshotFloor: number | undefined;
  snapshots: { height: number; state: Uint8Array }[];
}

export type CommitAnswer = { id: number; ok: true; ms: number } | { id: number; ok: false; error: string };

/** Applies one batch in one transaction (shared with the inline path, durability 'off'). */
export function applyBatch(
  database: DatabaseSync,
  statements: ReturnType<typeof prepareWrites>,
  batch: Omit<CommitBatch, 'id'>,
): void {
  database.exec('BEGIN IMMEDIATE');
  try {
    for (const [key, value] of batch.kv) {
      if (value === null) statements.delete.run(key);
      else statements.put.run(key, value);
    }
    for (const record of batch.blocks)
      statements.putBlock.run(record.height, record.hash, record.block, record.certificate);
    // The floor is applied before new snapshots so a snapshot at or above it is never lost.
    if (batch.snapshotFloor !== undefined) statements.deleteSnapshotsBelow.run(batch.snapshotFloor);
    for (const record of batch.snapshots) statements.putSnapshot.run(record.height, record.state);
    database.exec('COMMIT');
  } catch (error) {
    database.exec('ROLLBACK');
    throw error;
  }
}

export function prepareWrites(database: DatabaseSync) {
  return {
    put: database.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)'),
    delete: database.prepare('DELETE FROM kv WHERE key = ?'),
    putBlock: database.prepare(
      'INSERT INTO finalized_blocks (height, hash, block, certificate) VALUES (?, ?, ?, ?)',
    ),
    putSnapshot: database.prepare('INSERT OR REPLACE INTO snapshots (height, state) VALUES (?, ?)'),
    deleteSnapshotsBelow: database.prepare('DELETE FROM snapshots WHERE height < ?'),
  };
}

if (
  parentPort !== null &&
  (workerData as { storageCommitThread?: string } | undefined)?.storageCommitThread
) {
  const port = parentPort;
  const database = new DatabaseSync((workerData as { storageCommitThread: string }).storageCommitThread);
  database.exec('PRAGMA synchronous = FULL');
  database.exec('PRAGMA busy_timeout = 10000');
  const statements = prepareWrites(database);
  port.on('message', (message: CommitBatch | 'close') => {
    if (message === 'close') {
      database.close();
      port.close();
      return;
    }
    const start = performance.now();
    let answer: CommitAnswer;
    try {
      applyBatch(database, statements, message);
      answer = { id: message.id, ok: true, ms: performance.now() - start };
    } catch (error) {
      answer = { id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(answer);
  });
}
