/**
 * Crash anywhere, deterministically, on a real devnet (four validator processes, genesis
 * `dkg.epochBlocks` 60), and share repair over the real transport.
 *
 * Mid-refresh SIGKILL. A refresh between four live validators ends in a few round trips, too
 * fast to hit from outside. So validator 2 is frozen (SIGSTOP) just before the boundary: the
 * three others finalize the boundary and start the refresh, which cannot end without 2's deal
 * until the deal deadline. Validator 3 is SIGKILLed once its own `/v1/keys` says `refreshing: 2`,
 * and 2 is thawed (SIGCONT) right after: the kill lands inside the refresh every run (its
 * epoch-2 key file is checked to be absent). Certificates continue from 0, 1 and 2; restarted
 * from its data directory, nothing removed, 3 finishes the refresh or is left out of it and
 * comes back in epoch 2 either way, under the same group key.
 *
 * Lost disk. Validator 1 is stopped and every price key file in its data directory deleted;
 * restarted, it gets its share of the current epoch back by share repair (not a DKG), the
 * group key unchanged, and the sealed key file is written again.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KeyLifecycleJson } from '../../src/node/api/keys.ts';
import type { PriceCertificateEntry } from '../../src/node/view.ts';
import { startTestDevnet, type TestDevnet, waitFor } from './harness.ts';

const EPOCH_BLOCKS = 60;
let net: TestDevnet;

before(async () => {
  net = await startTestDevnet({
    validators: 4,
    epochBlocks: EPOCH_BLOCKS,
    keygenDealMs: 20_000,
    keygenComplaintMs: 5000,
  });
});
after(() => net.close());

async function getJson<T>(index: number, path: string): Promise<T | undefined> {
  try {
    const response = await fetch(`${net.apiUrls[index]}${path}`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

const keysOf = (index: number) => getJson<KeyLifecycleJson>(index, '/v1/keys');
const certificatesOf = async (index: number) =>
  (await getJson<{ certificates: PriceCertificateEntry[] }>(index, '/v1/oracle/certificates'))
    ?.certificates ?? [];
const dataOf = (index: number) => join(net.devnet.network.directory, `validator-${index}`, 'data');
const pidOf = (index: number) => {
  const pid = net.devnet.supervisor.info(index).pid;
  assert.ok(pid !== null, `validator ${index} runs`);
  return pid;
};

/** Epochs of the price key files in validator i's data directory (a refresh prunes older ones). */
const keyFileEpochs = (index: number) =>
  readdirSync(dataOf(index))
    .map((name) => /^price-keyset-(\d+)\.key$/.exec(name)?.[1])
    .filter((epoch) => epoch !== undefined)
    .map(Number);

let groupKey: string;

test('SIGKILL inside a refresh (held open by a frozen peer): certificates continue, the killed validator comes back in the new epoch', async () => {
  await waitFor(
    async () => (await Promise.all([0, 1, 2, 3].map(keysOf))).every((keys) => keys?.epoch === 1),
    'the genesis DKG on every validator',
    30_000,
  );
  const genesis = (await keysOf(0))!;
  groupKey = genesis.keyset!.groupPublicKey;
  const boundary = genesis.nextRefreshHeight!;
  assert.ok(((await net.status(2))?.height ?? 0) < boundary - 2, 'validator 2 well before the boundary');
  await waitFor(
    async () => ((await net.status(2))?.height ?? 0) >= boundary - 2,
    'validator 2 two blocks before the boundary',
    60_000,
  );
  process.kill(pidOf(2), 'SIGSTOP');
  let thawed = false;
  try {
    await waitFor(
      async () => (await keysOf(3))?.refreshing === 2,
      'validator 3 in the refresh into epoch 2',
      15_000,
    );
    await net.devnet.supervisor.kill(3, 'SIGKILL');
  } finally {
    process.kill(pidOf(2), 'SIGCONT');
    thawed = true;
  }
  assert.ok(thawed);
  assert.ok(
    !existsSync(join(dataOf(3), 'price-keyset-2.key')),
    'validator 3 was killed inside the refresh: no epoch-2 key file',
  );

  // Validators 0, 1 and 2 keep certifying.
  await waitFor(
    async () => (await certificatesOf(0)).some((entry) => entry.height > boundary),
    'a price certificate after the boundary from the three left',
    40_000,
  );

  await net.devnet.supervisor.start(3);
  await waitFor(
    async () => (await Promise.all([0, 1, 2, 3].map(keysOf))).every((keys) => (keys?.epoch ?? 0) >= 2),
    'all four in epoch 2 after the restart',
    60_000,
  );
  for (const index of [0, 1, 2, 3]) {
    const keys = (await keysOf(index))!;
    assert.equal(keys.keyset?.groupPublicKey, groupKey, `validator ${index}: the group key stays`);
    assert.deepEqual(
      keys.refreshDisqualified.filter((entry) => entry.reason === 'EQUIVOCATION'),
      [],
      `validator ${index} names no equivocator`,
    );
  }
  assert.ok(
    keyFileEpochs(3).some((epoch) => epoch >= 2),
    'validator 3 holds its epoch-2 share (or a later refresh’s) on disk',
  );
  const heightNow = (await net.status(0))!.height;
  await waitFor(
    async () =>
      (await certificatesOf(3)).some((entry) => entry.height > heightNow && entry.certificate.epoch >= 2),
    'a new epoch-2 certificate seen by the restarted validator',
    20_000,
  );
});

test('a validator whose price key files are deleted gets its share back by repair, and certificates continue', async () => {
  assert.ok(groupKey !== undefined, 'runs after the first test');
  const epoch = (await keysOf(0))!.epoch!;
  await net.devnet.supervisor.kill(1, 'SIGKILL');
  const keyFiles = readdirSync(dataOf(1)).filter((name) => name.startsWith('price-keyset-'));
  assert.ok(keyFiles.length > 0);
  for (const name of keyFiles) rmSync(join(dataOf(1), name));
  await net.devnet.supervisor.start(1);
  await waitFor(
    async () => (await keysOf(1))?.repair.state === 'done',
    'validator 1 repaired its share',
    60_000,
  );
  const keys = (await keysOf(1))!;
  const current = (await keysOf(0))!.epoch!;
  // The share of the epoch current when it came back (a refresh may have followed since).
  assert.ok(
    keys.repair.epoch! >= epoch && keys.epoch! >= keys.repair.epoch!,
    'the share of the current epoch',
  );
  assert.ok(current - keys.epoch! <= 1, 'at most one refresh behind the others');
  assert.equal(keys.keyset?.groupPublicKey, groupKey, 'the group key is unchanged: no new DKG');
  assert.deepEqual(keys.repair.culprits, []);
  // The repaired epoch's file, or a later one's: a refresh after the repair prunes the older file.
  const written = keyFileEpochs(1);
  assert.ok(
    written.some((epoch) => epoch >= keys.repair.epoch!),
    `sealed key file written again (files of epochs ${written.join(', ')})`,
  );
  const heightNow = (await net.status(0))!.height;
  await waitFor(
    async () => (await certificatesOf(1)).some((entry) => entry.height > heightNow),
    'a new certificate seen by the repaired validator',
    20_000,
  );
});
