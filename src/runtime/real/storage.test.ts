import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { DEFAULT_INLINE_COMMIT_BYTES, openSqliteStorage, type StorageError } from './storage.ts';

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});
function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'palisade-storage-'));
  directories.push(directory);
  return directory;
}
const bytes = (...values: number[]) => new Uint8Array(values);

test('writes are visible at once, durable only after sync, and survive reopening', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  storage.put('journal/1', bytes(1));
  storage.put('journal/2', bytes(2));
  assert.deepEqual(storage.get('journal/1'), bytes(1));
  await storage.sync();
  storage.put('journal/3', bytes(3));
  storage.delete('journal/1');
  assert.equal(storage.get('journal/1'), undefined);
  assert.deepEqual(storage.keys('journal/'), ['journal/2', 'journal/3']);
  storage.close(); // like a crash: the unsynced put and delete are lost

  const reopened = openSqliteStorage({ dataDirectory });
  assert.deepEqual(reopened.keys('journal/'), ['journal/1', 'journal/2']);
  assert.deepEqual(reopened.get('journal/1'), bytes(1));
  assert.deepEqual(reopened.integrityCheck(), ['ok']);
  reopened.close();
});

test('keys(prefix) returns exactly the keys with that prefix, in byte order, synced or not', async () => {
  const alphabet = ['a', 'b', 'é', '/', '\u00ff', '\u{1f600}'];
  const keyArbitrary = fc
    .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 4 })
    .map((chars) => chars.join(''));
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(keyArbitrary, { maxLength: 12 }),
      fc.uniqueArray(keyArbitrary, { maxLength: 6 }),
      fc.array(fc.constantFrom(...alphabet), { maxLength: 2 }).map((chars) => chars.join('')),
      async (synced, buffered, prefix) => {
        for (const key of storage.keys('')) storage.delete(key);
        for (const key of synced) storage.put(key, bytes(1));
        await storage.sync();
        for (const key of buffered) storage.put(key, bytes(2));
        const expected = [...new Set([...synced, ...buffered])]
          .filter((key) => key.startsWith(prefix))
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.deepEqual(storage.keys(prefix), expected);
        await storage.sync();
      },
    ),
    { numRuns: 60 },
  );
  storage.close();
});

test('bad keys and oversized batches are refused with a code and change nothing', async () => {
  const storage = openSqliteStorage({ dataDirectory: freshDirectory(), maxPendingBytes: 100 });
  const code = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return (error as StorageError).code;
    }
    return 'no error';
  };
  assert.equal(
    code(() => storage.put('', bytes(1))),
    'INVALID_KEY',
  );
  assert.equal(
    code(() => storage.put('\ud800', bytes(1))),
    'INVALID_KEY',
  );
  assert.equal(
    code(() => storage.put('big', new Uint8Array(200))),
    'BATCH_TOO_LARGE',
  );
  assert.equal(storage.get('big'), undefined);
  assert.deepEqual(storage.keys(''), []);
  storage.put('small', bytes(1));
  await storage.sync();
  storage.put('big', new Uint8Array(90)); // the budget is per batch, and the last sync emptied it
  storage.close();
  assert.equal(
    code(() => storage.get('small')),
    'CLOSED',
  );
});

test('finalized blocks are write-once by height, and pages of them come back in order', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  assert.equal(storage.latestFinalizedHeight(), undefined);
  for (const height of [3, 1, 2]) {
    storage.putFinalizedBlock({
      height,
      hash: bytes(height),
      block: bytes(10, height),
      certificate: bytes(20),
    });
  }
  assert.equal(storage.latestFinalizedHeight(), 3);
  await storage.sync();
  storage.putFinalizedBlock({ height: 2, hash: bytes(2), block: bytes(10, 2), certificate: bytes(20) });
  assert.throws(
    () => storage.putFinalizedBlock({ height: 2, hash: bytes(9), block: bytes(), certificate: bytes() }),
    (error: StorageError) => error.code === 'CONFLICTING_BLOCK',
  );
  assert.throws(
    () => storage.putFinalizedBlock({ height: -1, hash: bytes(9), block: bytes(), certificate: bytes() }),
    (error: StorageError) => error.code === 'INVALID_HEIGHT',
  );
  await storage.sync();
  storage.close();
  const reopened = openSqliteStorage({ dataDirectory });
  assert.deepEqual(
    reopened.finalizedBlocks(2, 10).map((record) => [record.height, [...record.hash], [...record.block]]),
    [
      [2, [2], [10, 2]],
      [3, [3], [10, 3]],
    ],
  );
  assert.deepEqual(reopened.finalizedBlock(1)?.certificate, bytes(20));
  assert.equal(reopened.finalizedBlock(4), undefined);
  reopened.close();
});

test('the latest engine snapshot wins, and old ones can be pruned', async () => {
  const storage = openSqliteStorage({ dataDirectory: freshDirectory() });
  assert.equal(storage.latestSnapshot(), undefined);
  storage.putSnapshot({ height: 10, state: bytes(10) });
  await storage.sync();
  storage.putSnapshot({ height: 20, state: bytes(20) });
  assert.deepEqual(storage.latestSnapshot(), { height: 20, state: bytes(20) });
  storage.deleteSnapshotsBelow(20);
  await storage.sync();
  assert.deepEqual(storage.latestSnapshot(), { height: 20, state: bytes(20) });
  storage.deleteSnapshotsBelow(25);
  assert.equal(storage.latestSnapshot(), undefined);
  storage.close();
});

test('after SIGKILL mid-write, every synced batch survives whole and the database opens cleanly', async () => {
  const dataDirectory = freshDirectory();
  const moduleUrl = pathToFileURL(join(import.meta.dirname, 'storage.ts')).href;
  // Each batch writes a journal entry, at even heights a finalized block and a snapshot too, plus
  // an unsynced write in flight when the kill lands. It prints a height only after its sync.
  const child = `
    const { openSqliteStorage } = await import(${JSON.stringify(moduleUrl)});
    const storage = openSqliteStorage({ dataDirectory: ${JSON.stringify(dataDirectory)} });
    for (let height = 0; ; height += 1) {
      const value = new Uint8Array(2048).fill(height % 251);
      storage.put('journal/' + String(height).padStart(8, '0'), value);
      // Odd batches are journal entries alone, which commit on this thread (the commit thread idle).
      if (height % 2 === 0) {
        storage.putFinalizedBlock({ height, hash: new Uint8Array([height % 251]), block: value, certificate: value });
        storage.putSnapshot({ height, state: value });
      }
      await storage.sync();
      process.stdout.write(height + '\\n');
      storage.put('unsynced/' + height, value);
    }`;
  const process_ = spawn(process.execPath, ['--input-type=module', '-e', child], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const lastConfirmed = await new Promise<number>((resolve, reject) => {
    process_.on('error', reject);
    process_.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited early: ${code ?? signal}`));
    });
    process_.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = output.split('\n').filter((line) => line !== '');
      if (lines.length >= 40) {
        process_.kill('SIGKILL');
        resolve(Number(lines.at(-1)));
      }
    });
  });
  await new Promise((resolve) => process_.once('close', resolve));

  const storage = openSqliteStorage({ dataDirectory });
  assert.deepEqual(storage.integrityCheck(), ['ok']);
  const journal = storage.keys('journal/');
  assert.ok(journal.length >= lastConfirmed + 1, `${journal.length} entries, confirmed ${lastConfirmed}`);
  // 'unsynced/h' was buffered after batch h and committed with batch h + 1: it exists exactly when
  // that later batch does, so the write in flight at the kill is gone and nothing else is.
  assert.deepEqual(
    storage
      .keys('unsynced/')
      .map((key) => Number(key.slice('unsynced/'.length)))
      .sort((a, b) => a - b),
    Array.from({ length: journal.length - 1 }, (_, height) => height),
  );
  for (let height = 0; height < journal.length; height += 1) {
    const key = `journal/${String(height).padStart(8, '0')}`;
    assert.equal(journal[height], key);
    assert.deepEqual(storage.get(key), new Uint8Array(2048).fill(height % 251));
    assert.deepEqual(
      storage.finalizedBlock(height)?.hash,
      height % 2 === 0 ? bytes(height % 251) : undefined,
    );
  }
  // Batches are atomic: the block and snapshot of every surviving batch survive, and nothing else.
  const lastEven = (journal.length - 1) & ~1;
  assert.equal(storage.latestFinalizedHeight(), lastEven);
  assert.equal(storage.latestSnapshot()?.height, lastEven);
  storage.close();
});

test('group commit: syncs made while a commit is on its way share the next one, and each resolves only once its writes are in the file', async () => {
  const dataDirectory = freshDirectory();
  // Every batch through the thread (small ones would commit inline, one by one).
  const storage = openSqliteStorage({ dataDirectory, inlineCommitMaxBytes: 0 });
  const reader = openSqliteStorage({ dataDirectory, commits: 'inline' });
  const seenOnDisk: boolean[] = [];
  const syncs: Promise<void>[] = [];
  for (let i = 0; i < 50; i += 1) {
    const key = `journal/${String(i).padStart(4, '0')}`;
    storage.put(key, bytes(i));
    syncs.push(
      storage.sync().then(() => {
        // Another connection sees it: it is committed, not only buffered in this process.
        seenOnDisk.push(reader.get(key) !== undefined);
      }),
    );
  }
  await Promise.all(syncs);
  assert.equal(seenOnDisk.length, 50);
  assert.ok(seenOnDisk.every(Boolean));
  const { commits, syncs: counted } = storage.commitStats();
  assert.equal(counted, 50);
  // The first sync commits alone; the 49 made during it ride together in the next.
  assert.equal(commits, 2);
  assert.deepEqual(reader.keys('journal/').length, 50);
  storage.close();
  reader.close();
});

test('a small batch commits inline only with the commit thread idle and without blocks, and never overtakes a batch on its way', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  const reader = openSqliteStorage({ dataDirectory, commits: 'inline' });
  // A vote-sized batch, thread idle: committed before sync() returns its promise.
  storage.put('journal/a', bytes(1));
  const first = storage.sync();
  assert.deepEqual(reader.get('journal/a'), bytes(1));
  await first;
  assert.equal(storage.commitStats().inlineCommits, 1);
  // A block goes to the thread; a small batch synced meanwhile waits for it, and the key both
  // batches wrote keeps the newer value.
  storage.put('journal/b', bytes(2));
  storage.putFinalizedBlock({ height: 1, hash: bytes(9), block: bytes(9), certificate: bytes(9) });
  const withBlock = storage.sync();
  storage.put('journal/b', bytes(3));
  const later = storage.sync();
  assert.equal(reader.get('journal/b'), undefined);
  await withBlock;
  await later;
  assert.deepEqual(reader.get('journal/b'), bytes(3));
  assert.deepEqual(reader.finalizedBlock(1)?.hash, bytes(9));
  // A batch larger than the limit goes to the thread too.
  storage.put('journal/c', new Uint8Array(DEFAULT_INLINE_COMMIT_BYTES + 1));
  const large = storage.sync();
  assert.equal(reader.get('journal/c'), undefined);
  await large;
  assert.equal(reader.get('journal/c')?.length, DEFAULT_INLINE_COMMIT_BYTES + 1);
  const stats = storage.commitStats();
  // a inline; the block on the thread; b's newer value inline once the thread answered; c on the thread.
  assert.equal(stats.commits, 4);
  assert.equal(stats.inlineCommits, 2);
  storage.close();
  reader.close();
});
