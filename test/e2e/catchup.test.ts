/**
 * Catching up with real processes: one validator of four is killed and stays down for longer than
 * its configured catch-up window (`stateSyncThresholdBlocks`) covers at the devnet's block rate.
 * Restarted, it state-syncs — fetches a peer's snapshot, checks it against the state root a
 * finalized block commits to, installs it — then block-syncs the rest, and ends with the same
 * block hashes as the others; every height it and a peer serve verifies with the shipped client.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type BlockDetail, validatorSetOf, verifyFinality } from '../../src/node/client.ts';
import { startTestDevnet, type TestDevnet, waitFor } from './harness.ts';

/** The restarted validator state-syncs when more than this many blocks behind. */
const THRESHOLD_BLOCKS = 20;
/** The devnet's snapshot interval (the application's default). */
const SNAPSHOT_INTERVAL_BLOCKS = 100;
/** The block a lag above a snapshot commits to its root (app.ts, STATE_ROOT_LAG_BLOCKS). */
const STATE_ROOT_LAG_BLOCKS = 16;

let net: TestDevnet;
before(async () => {
  net = await startTestDevnet();
});
after(async () => {
  await net?.close();
});

async function minHeight(indexes: readonly number[]): Promise<number> {
  const heights = await net.heights(indexes);
  return Math.min(...heights.map((height) => height ?? -1));
}

async function block(index: number, height: number): Promise<BlockDetail> {
  const response = await fetch(`${net.apiUrls[index]}/v1/blocks/${height}`);
  assert.equal(response.status, 200, `validator ${index} serves block ${height}`);
  return (await response.json()) as BlockDetail;
}

test('a validator down for longer than its catch-up window state-syncs on restart, then agrees', async () => {
  const survivors = [0, 1, 2];
  await waitFor(async () => (await minHeight([0, 1, 2, 3])) >= 3, 'all four finalizing', 60_000);
  await net.devnet.supervisor.kill(3, 'SIGKILL');
  const atKill = (await net.status(0))?.height ?? 0;
  const configPath = net.devnet.network.validators[3]!.config;
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    configPath,
    `${JSON.stringify({ ...config, stateSyncThresholdBlocks: THRESHOLD_BLOCKS }, null, 2)}\n`,
  );

  // Down until the others hold a snapshot above its height whose root a finalized block covers,
  // and are far more than the window ahead.
  const snapshotAbove = Math.ceil((atKill + 1) / SNAPSHOT_INTERVAL_BLOCKS) * SNAPSHOT_INTERVAL_BLOCKS;
  const downUntil = Math.max(snapshotAbove + STATE_ROOT_LAG_BLOCKS + 4, atKill + 2 * THRESHOLD_BLOCKS);
  await waitFor(async () => (await minHeight(survivors)) >= downUntil, `survivors at ${downUntil}`, 180_000);

  await net.devnet.supervisor.start(3);
  await waitFor(
    async () => {
      const [status, leader] = await Promise.all([net.status(3), net.status(0)]);
      return (
        status !== undefined &&
        leader !== undefined &&
        status.sync.stateSyncs >= 1 &&
        status.height >= downUntil &&
        status.height + 2 >= leader.height
      );
    },
    'validator 3 state-synced and caught up',
    120_000,
  );
  const status = (await net.status(3))!;
  const syncedAt = status.sync.stateSyncHeight;
  assert.ok(syncedAt !== null && syncedAt > atKill, `state-synced at ${syncedAt}, above ${atKill}`);
  assert.equal(syncedAt % SNAPSHOT_INTERVAL_BLOCKS, 0, 'at a snapshot height');
  // Heights below the snapshot were never fetched: the validator serves from just above it.
  assert.equal((await fetch(`${net.apiUrls[3]}/v1/blocks/${syncedAt - 1}`)).status, 404);

  const top = Math.min(status.height, await minHeight(survivors));
  await net.assertSameHashes([0, 3], syncedAt + 1, top);
  const genesisKeys = status.validators.map((validator) => validator.publicKey);
  const validators = validatorSetOf(genesisKeys);
  for (let height = syncedAt + 1; height <= top; height++) {
    assert.ok(
      verifyFinality(await block(3, height), validators, status.chainId),
      `validator 3, height ${height}`,
    );
  }
  for (let height = 1; height <= top; height++) {
    assert.ok(
      verifyFinality(await block(0, height), validators, status.chainId),
      `validator 0, height ${height}`,
    );
  }
});
