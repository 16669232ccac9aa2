/**
 * Crash faults with real processes: four validators (`palisade node`), each its own OS process,
 * killed with SIGKILL and restarted from their data directories. With n = 4 the network
 * tolerates f = 1: one validator down must not stop finality, two must stop it without any
 * validator finalizing something the others do not, and restarting them must bring finality back.
 * The tests run in order on one network; each leaves all four validators running.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, startTestDevnet, TEST_LEADER_TIMEOUT_MS, type TestDevnet, waitFor } from './harness.ts';

let net: TestDevnet;
before(async () => {
  net = await startTestDevnet();
});
after(async () => {
  await net?.close();
});

const ALL = [0, 1, 2, 3];

async function minHeight(indexes: readonly number[]): Promise<number> {
  const heights = await net.heights(indexes);
  return Math.min(...heights.map((height) => height ?? -1));
}

async function maxHeight(indexes: readonly number[]): Promise<number> {
  const heights = await net.heights(indexes);
  return Math.max(...heights.map((height) => height ?? -1));
}

test('one of four killed with SIGKILL: finality continues; restarted, it catches up with the same hashes', async () => {
  await waitFor(async () => (await minHeight(ALL)) >= 3, 'all four finalizing', 30_000);
  await net.devnet.supervisor.kill(3, 'SIGKILL');
  const survivors = [0, 1, 2];
  const atKill = await maxHeight(survivors);
  await waitFor(
    async () => (await minHeight(survivors)) >= atKill + 10,
    'ten more blocks finalized by the three survivors',
    60_000,
  );

  await net.devnet.supervisor.start(3);
  const target = await maxHeight(survivors);
  await waitFor(async () => (await minHeight([3])) >= target, 'the restarted validator to catch up', 60_000);
  await net.assertSameHashes(ALL, 1, target);
});

test('two of four killed: finality stops and nothing diverges; restarted, finality resumes', async () => {
  await net.devnet.supervisor.kill(2, 'SIGKILL');
  await net.devnet.supervisor.kill(3, 'SIGKILL');
  const survivors = [0, 1];
  // A block whose votes were already in flight may still finalize; after that nothing can.
  await sleep(1000);
  // A survivor still applying a block the other already applied is not new finality: compare
  // the highest height either reports.
  const stalledHeight = await maxHeight(survivors);
  await sleep(10 * TEST_LEADER_TIMEOUT_MS);
  assert.equal(await maxHeight(survivors), stalledHeight, 'no block finalizes with two of four validators');
  await net.assertSameHashes(survivors, 1, await minHeight(survivors));

  await Promise.all([net.devnet.supervisor.start(2), net.devnet.supervisor.start(3)]);
  await waitFor(
    async () => (await minHeight(ALL)) >= stalledHeight + 5,
    'finality to resume on all four',
    90_000,
  );
  await net.assertSameHashes(ALL, 1, await minHeight(ALL));
});
