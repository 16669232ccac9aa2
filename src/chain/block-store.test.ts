/**
 * The block store over the simulator's crash-prone storage: a crash keeps a prefix of the unsynced
 * writes, the last maybe torn. A block that survives implies every write made before it in the same
 * sync survived (the application's summary, index and roots), a torn block is absent rather than
 * garbage, and finality never changes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSimRng } from '../runtime/sim/rng.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import { createKvBlockStore } from './block-store.ts';

const encoder = new TextEncoder();

function record(height: number, fill = height) {
  return {
    height,
    hash: new Uint8Array(32).fill(fill),
    block: encoder.encode(`block ${height} `.repeat(height)),
    certificate: encoder.encode(`certificate ${height}`),
  };
}

test('the blocks of one sync are written after its other writes and in height order', async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = createSimRng(seed);
    const inner = new SimStorage();
    // A storage whose sync is withheld: what the store wrote at its sync stays unsynced, then a crash.
    const withheld = {
      get: (key: string) => inner.get(key),
      keys: (prefix: string) => inner.keys(prefix),
      put: (key: string, value: Uint8Array) => inner.put(key, value),
      delete: (key: string) => inner.delete(key),
      sync: () => Promise.resolve(),
    };
    const store = createKvBlockStore(withheld);
    for (let height = 1; height <= 4; height++) {
      store.put(`summary/${height}`, encoder.encode(`summary ${height}`));
      store.putFinalizedBlock(record(height));
    }
    await store.sync();
    inner.crash(rng);
    const after = createKvBlockStore(inner);
    const latest = after.latestFinalizedHeight() ?? 0;
    for (let height = 1; height <= latest; height++) {
      assert.deepEqual(after.finalizedBlock(height), record(height), `seed ${seed}: block ${height}`);
      assert.ok(
        inner.get(`summary/${height}`) !== undefined,
        `seed ${seed}: block ${height} without its summary`,
      );
    }
    for (let height = latest + 1; height <= 4; height++)
      assert.equal(after.finalizedBlock(height), undefined, `seed ${seed}: torn block ${height} is absent`);
  }
});

test('finality never changes; snapshots are pruned at sync', async () => {
  const store = createKvBlockStore(new SimStorage());
  store.putFinalizedBlock(record(1));
  store.putFinalizedBlock(record(1));
  assert.throws(() => store.putFinalizedBlock(record(1, 9)), /already finalized with another hash/);
  for (const height of [10, 20, 30]) store.putSnapshot({ height, state: encoder.encode(`s${height}`) });
  assert.deepEqual(store.snapshotHeights(), []);
  await store.sync();
  assert.deepEqual(store.snapshotHeights(), [10, 20, 30]);
  store.deleteSnapshotsBelow(20);
  assert.equal(store.latestSnapshot()?.height, 30);
  await store.sync();
  assert.deepEqual(store.snapshotHeights(), [20, 30]);
  assert.deepEqual(store.snapshot(30), encoder.encode('s30'));
  assert.throws(() => store.putFinalizedBlock(record(1, 7)), /another hash/);
});
