/**
 * Epochs on a real devnet (four validator processes, genesis `dkg.epochBlocks`): the keyset
 * refreshes at every boundary, the group key stays, `/v1/keys` serves epoch, keyset, signers and
 * the handover chain, and price certificates continue through each refresh.
 *
 * Crash anywhere: validator 3 is SIGKILLed as soon as it has finalized the boundary block, i.e.
 * in its refresh (or, should its refresh already be done, just after it). The three others
 * keep certifying. Restarted from its data directory, no file touched, validator 3 finishes
 * the refresh (src/node/price-signing.ts, "Crash anywhere") and signs in the new epoch.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fromHex } from '../../src/crypto/bytes.ts';
import { followKeysetChain } from '../../src/interop/handover-certificate.ts';
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

function bytes(text: string): Uint8Array {
  const out = fromHex(text);
  assert.ok(out !== undefined, `${text} is hex`);
  return out;
}

test('a validator SIGKILLed in a refresh: certificates continue; restarted, it finishes the refresh and the keyset chain holds', async () => {
  await waitFor(
    async () => (await Promise.all([0, 1, 2, 3].map(keysOf))).every((keys) => keys?.epoch === 1),
    'the genesis DKG on every validator',
    20_000,
  );
  const genesis = (await keysOf(0))!;
  assert.equal(genesis.epochBlocks, EPOCH_BLOCKS);
  assert.equal(genesis.keyset?.threshold, 3);
  assert.deepEqual(
    genesis.signers.map((signer) => signer.index),
    [0, 1, 2, 3],
  );
  const groupKey = genesis.keyset!.groupPublicKey;

  // SIGKILL validator 3 as soon as it has finalized the first boundary block.
  const boundary = genesis.nextRefreshHeight!;
  const keyFile = join(net.devnet.network.directory, 'validator-3', 'data', 'price-keyset-2.key');
  await waitFor(
    async () => ((await net.status(3))?.height ?? 0) >= boundary,
    `validator 3 at the boundary ${boundary}`,
    30_000,
  );
  await net.devnet.supervisor.kill(3, 'SIGKILL');
  const finishedBeforeKill = existsSync(keyFile);
  console.log(
    `validator 3 killed at the boundary ${boundary}; its epoch-2 key file ${finishedBeforeKill ? 'was already written' : 'was not written: killed inside the refresh'}`,
  );

  // The other three keep certifying while it is down (in epoch 1 until their refresh ends).
  await waitFor(
    async () => (await certificatesOf(0)).some((entry) => entry.height > boundary),
    'a price certificate after the boundary from the three left',
    15_000,
  );

  // Restarted from its data directory at once, nothing removed, while the others are still in
  // the refresh: it finishes it, and nobody names it an equivocator for dealing again.
  await net.devnet.supervisor.start(3);
  await waitFor(
    async () => (await Promise.all([0, 1, 2, 3].map(keysOf))).every((keys) => (keys?.epoch ?? 0) >= 2),
    'all four in epoch 2 after the restart',
    25_000,
  );
  // It wrote its epoch-2 key file (or a later refresh's, which replaces it), and the epoch-1 share
  // is gone from its disk.
  const keyFiles = readdirSync(join(net.devnet.network.directory, 'validator-3', 'data')).filter((name) =>
    /^price-keyset-\d+\.key$/.test(name),
  );
  assert.equal(keyFiles.length, 1, `one key file left: ${keyFiles.join(', ')}`);
  assert.ok(
    Number(/^price-keyset-(\d+)\.key$/.exec(keyFiles[0]!)?.[1]) >= 2,
    `${keyFiles[0]} is of epoch 2 or later`,
  );
  for (const index of [0, 1, 2, 3]) {
    const keys = (await keysOf(index))!;
    assert.equal(keys.keyset?.groupPublicKey, groupKey, `validator ${index}: refresh keeps the group key`);
    const named = keys.refreshDisqualified.filter((entry) => entry.reason === 'EQUIVOCATION');
    assert.deepEqual(named, [], `validator ${index} names no equivocator`);
  }

  // The dashboard shows it live: the epoch, and every signer holding a share of it.
  await waitFor(
    () => {
      const keys = net.devnet.dashboard.snapshot().keys;
      return keys !== null && keys.epoch >= 2 && keys.signers.every((signer) => signer.epoch === keys.epoch);
    },
    'the dashboard showing epoch 2 and its four signers',
    10_000,
  );
  assert.equal(net.devnet.dashboard.snapshot().keys?.groupPublicKey, groupKey);

  // Certificates continue after the restart; each verifies under the group key a verifier
  // reaches from the genesis keyset by the handover chain.
  const heightNow = (await net.status(0))!.height;
  await waitFor(
    async () => (await certificatesOf(3)).some((entry) => entry.height > heightNow),
    'a new certificate seen by the restarted validator',
    15_000,
  );
  // The handover of the newest epoch is signed just after it starts: wait until the chain
  // reaches the epoch served beside it.
  let keys: KeyLifecycleJson | undefined;
  await waitFor(
    async () => {
      keys = await keysOf(0);
      return keys !== undefined && keys.handovers.at(-1)?.toEpoch === keys.epoch;
    },
    'a handover chain up to the current epoch',
    15_000,
  );
  const chain = keys!.handovers;
  assert.deepEqual([chain[0]?.fromEpoch, chain[0]?.toEpoch], [1, 2]);
  const verdict = followKeysetChain(
    { epoch: 1, groupPublicKey: bytes(groupKey) },
    chain.map((handover) => bytes(handover.encoded)),
    {
      chainId: net.devnet.network.genesis.priceCertificates.chainId,
      verifyingContract: net.devnet.network.genesis.priceCertificates.verifyingContract,
    },
  );
  assert.ok(verdict.ok, 'the handover chain verifies from the genesis keyset');
  assert.equal(verdict.keyset.epoch, keys!.epoch);
});
