import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { openSqliteStorage, type StorageError, VOTE_BATCHES_AHEAD_MAX } from './storage.ts';

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
  // Each batch writes a journal entry, a finalized block and a snapshot at the same height, plus
  // an unsynced write in flight when the kill lands. It prints a height only after its sync.
  const child = `
    const { openSqliteStorage } = await import(${JSON.stringify(moduleUrl)});
    const storage = openSqliteStorage({ dataDirectory: ${JSON.stringify(dataDirectory)} });
    for (let height = 0; ; height += 1) {
      const value = new Uint8Array(2048).fill(height % 251);
      storage.put('journal/' + String(height).padStart(8, '0'), value);
      storage.putFinalizedBlock({ height, hash: new Uint8Array([height % 251]), block: value, certificate: value });
      storage.putSnapshot({ height, state: value });
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
    assert.deepEqual(storage.finalizedBlock(height)?.hash, bytes(height % 251));
  }
  // Batches are atomic: the block and snapshot of every surviving batch survive, and nothing else.
  assert.equal(storage.latestFinalizedHeight(), journal.length - 1);
  assert.equal(storage.latestSnapshot()?.height, journal.length - 1);
  storage.close();
});

test('group commit: syncs made while a commit is on its way share the next one, and each resolves only once its writes are in the file', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
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

test('vote lane: a vote sync commits ahead of the other lane’s queued batch, and without its writes', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  const votes = storage.voteLane();
  const reader = openSqliteStorage({ dataDirectory, commits: 'inline' });
  try {
    const big = new Uint8Array(4 * 1024 * 1024).fill(7);
    const order: string[] = [];
    // A finalized block's batch on its way to disk, and the next one queued behind it.
    storage.putFinalizedBlock({ height: 1, hash: bytes(1), block: big, certificate: bytes(1) });
    storage.put('summary/1', big);
    const first = storage.sync().then(() => order.push('block 1'));
    storage.putFinalizedBlock({ height: 2, hash: bytes(2), block: big, certificate: bytes(2) });
    storage.put('summary/2', big);
    const second = storage.sync().then(() => {
      order.push('block 2');
      assert.ok(reader.get('summary/2') !== undefined);
    });
    // A vote journaled after both: it must not wait for block 2's batch.
    votes.put('journal/1', bytes(9));
    const vote = votes.sync().then(() => {
      order.push('vote');
      assert.deepEqual(reader.get('journal/1'), bytes(9), 'the vote is in the file when its sync resolves');
      assert.equal(reader.get('summary/2'), undefined, 'the vote batch did not carry the queued block');
      assert.equal(reader.finalizedBlock(2), undefined);
    });
    // Until then both lanes read alike: the vote lane sees the other lane's writes and the reverse.
    assert.deepEqual(votes.get('summary/2'), big);
    assert.deepEqual(storage.get('journal/1'), bytes(9));
    assert.deepEqual(storage.keys('journal/'), ['journal/1']);
    await Promise.all([first, second, vote]);
    assert.deepEqual(order, ['block 1', 'vote', 'block 2']);
    const stats = storage.commitStats();
    assert.equal(stats.commits, 3);
    assert.equal(stats.voteCommits, 1);
  } finally {
    storage.close();
    reader.close();
  }
});

test('vote lane: a plain sync carries the vote lane too, and a key written on both lanes keeps its newest value', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  const votes = storage.voteLane();
  assert.equal(storage.voteLane(), votes);
  const reader = openSqliteStorage({ dataDirectory, commits: 'inline' });
  try {
    votes.put('journal/1', bytes(1));
    storage.put('summary/1', bytes(2));
    await storage.sync();
    assert.deepEqual(reader.get('journal/1'), bytes(1));
    assert.deepEqual(reader.get('summary/1'), bytes(2));

    // Other lane first, then the vote lane: the vote sync makes the newer value durable.
    storage.put('shared/a', bytes(1));
    votes.put('shared/a', bytes(2));
    await votes.sync();
    assert.deepEqual(reader.get('shared/a'), bytes(2));
    await storage.sync();
    assert.deepEqual(reader.get('shared/a'), bytes(2));

    // Vote lane first, then the other lane: the key stays on the vote lane, so a vote sync cannot
    // leave the older value as the last one written.
    votes.put('shared/b', bytes(1));
    storage.put('shared/b', bytes(2));
    assert.deepEqual(votes.get('shared/b'), bytes(2));
    await votes.sync();
    assert.deepEqual(reader.get('shared/b'), bytes(2));
    await storage.sync();
    assert.deepEqual(reader.get('shared/b'), bytes(2));

    // Deletes follow the same rule.
    storage.put('shared/c', bytes(1));
    votes.delete('shared/c');
    assert.equal(storage.get('shared/c'), undefined);
    await votes.sync();
    assert.equal(reader.get('shared/c'), undefined);
    await storage.sync();
    assert.equal(reader.get('shared/c'), undefined);
    assert.deepEqual(reader.keys('shared/'), ['shared/a', 'shared/b']);

    // Nothing pending on the vote lane: its sync resolves at once, without sealing the other lane.
    storage.put('summary/2', bytes(3));
    await votes.sync();
    assert.equal(reader.get('summary/2'), undefined);
    await storage.sync();
    assert.deepEqual(reader.get('summary/2'), bytes(3));
  } finally {
    storage.close();
    reader.close();
  }
});

test('vote lane: votes arriving during every vote commit hold the other lane back VOTE_BATCHES_AHEAD_MAX batches at most', async () => {
  const dataDirectory = freshDirectory();
  const storage = openSqliteStorage({ dataDirectory });
  const votes = storage.voteLane();
  try {
    storage.put('summary/0', new Uint8Array(1024 * 1024));
    const first = storage.sync();
    storage.put('summary/1', bytes(1));
    let voteCommitsAhead = -1;
    const waiting = storage.sync().then(() => {
      voteCommitsAhead = storage.commitStats().voteCommits;
    });
    // A voter that journals a vote and syncs it every millisecond until block 1 is durable (for
    // 5,000 votes at most), so that a vote sync is waiting whenever a commit ends.
    let view = 0;
    let blockDone = false;
    void waiting.then(() => {
      blockDone = true;
    });
    const voted: Promise<void>[] = [];
    while (!blockDone && view < 5000) {
      view += 1;
      votes.put(`journal/${String(view).padStart(6, '0')}`, bytes(view % 251));
      voted.push(votes.sync());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all([first, waiting, ...voted]);
    assert.ok(view < 5000, 'block 1 became durable while votes kept coming');
    // Votes went ahead of the waiting batch, but no more than VOTE_BATCHES_AHEAD_MAX of them.
    assert.ok(voteCommitsAhead >= 1, `${voteCommitsAhead} vote batches went ahead`);
    assert.ok(voteCommitsAhead <= VOTE_BATCHES_AHEAD_MAX, `${voteCommitsAhead} vote batches went ahead`);
    assert.equal(storage.keys('journal/').length, view);
  } finally {
    storage.close();
  }
});

test('vote lane: after SIGKILL each lane holds a prefix of its writes, every acknowledged vote survives, and no block outruns the votes journaled before it', async () => {
  const dataDirectory = freshDirectory();
  const moduleUrl = pathToFileURL(join(import.meta.dirname, 'storage.ts')).href;
  // Step h journals vote h on the vote lane, then buffers block h and its summary on the other
  // lane; it waits for the vote only (as consensus does) and prints acknowledgements as they come.
  const child = `
    const { openSqliteStorage } = await import(${JSON.stringify(moduleUrl)});
    const storage = openSqliteStorage({ dataDirectory: ${JSON.stringify(dataDirectory)} });
    const votes = storage.voteLane();
    for (let height = 0; ; height += 1) {
      const key = String(height).padStart(8, '0');
      const value = new Uint8Array(height % 3 === 0 ? 65536 : 512).fill(height % 251);
      votes.put('journal/' + key, new Uint8Array([height % 251]));
      const vote = votes.sync();
      storage.put('summary/' + key, value);
      storage.putFinalizedBlock({ height, hash: new Uint8Array([height % 251]), block: value, certificate: value });
      storage.sync().then(() => process.stdout.write('b ' + height + '\\n'), () => {});
      await vote;
      process.stdout.write('v ' + height + '\\n');
    }`;
  const process_ = spawn(process.execPath, ['--input-type=module', '-e', child], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const confirmed = await new Promise<{ vote: number; block: number }>((resolve, reject) => {
    process_.on('error', reject);
    process_.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited early: ${code ?? signal}`));
    });
    process_.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = output.split('\n').filter((line) => line !== '');
      if (lines.filter((line) => line.startsWith('v ')).length >= 60) {
        process_.kill('SIGKILL');
        const last = (kind: string) =>
          Math.max(-1, ...lines.filter((line) => line.startsWith(kind)).map((line) => Number(line.slice(2))));
        resolve({ vote: last('v '), block: last('b ') });
      }
    });
  });
  await new Promise((resolve) => process_.once('close', resolve));

  const storage = openSqliteStorage({ dataDirectory });
  assert.deepEqual(storage.integrityCheck(), ['ok']);
  const journal = storage.keys('journal/').map((key) => Number(key.slice('journal/'.length)));
  const summaries = storage.keys('summary/').map((key) => Number(key.slice('summary/'.length)));
  // Prefixes of each lane's writes: no gaps.
  assert.deepEqual(
    journal,
    Array.from({ length: journal.length }, (_, height) => height),
  );
  assert.deepEqual(
    summaries,
    Array.from({ length: summaries.length }, (_, height) => height),
  );
  assert.ok(journal.length >= confirmed.vote + 1, `${journal.length} votes, acknowledged ${confirmed.vote}`);
  assert.ok(
    summaries.length >= confirmed.block + 1,
    `${summaries.length} blocks, acknowledged ${confirmed.block}`,
  );
  // A block's batch carries every vote journaled before it, and the block with its summary.
  assert.ok(summaries.length <= journal.length, `${summaries.length} blocks outran ${journal.length} votes`);
  assert.equal(storage.latestFinalizedHeight() ?? -1, summaries.length - 1);
  for (const height of journal)
    assert.deepEqual(storage.get(`journal/${String(height).padStart(8, '0')}`), bytes(height % 251));
  // The vote lane did go ahead at times: some vote was durable before the block written with it.
  storage.close();
});
