/**
 * The dashboard's keyset panel folds what each validator's `/v1/keys` says (served by the real API
 * route, so the shapes are the API's): the view of the validator in the latest epoch, and each
 * signer's own epoch — one still refreshing shows behind, a down one unknown.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFixtureNode } from '../api/fixture-node.ts';
import type { KeyLifecycleJson } from '../api/keys.ts';
import { createApiServer } from '../api/server.ts';
import { pollKeys } from './keys.ts';
import { createDashboardServer } from './server.ts';

const GROUP_KEY = `0x02${'ab'.repeat(32)}`;

function lifecycle(epoch: number, height: number): KeyLifecycleJson {
  return {
    height,
    epochBlocks: 600,
    epoch,
    nextRefreshHeight: (Math.floor(height / 600) + 1) * 600,
    keyset: { epoch, groupPublicKey: GROUP_KEY, threshold: 3, participants: 4 },
    signers: [0, 1, 2, 3].map((index) => ({ index, publicKey: `0x${String(index).repeat(64)}` })),
    keygen: 'done',
    disqualified: [],
    refreshDisqualified: epoch === 3 ? [{ epoch: 3, dealer: 2, reason: 'SILENT' }] : [],
    refreshes: epoch - 1,
    refreshing: null,
    repair: { state: 'idle', epoch: null, repaired: 0, code: null, culprits: [] },
    certificates: 10,
    lastAssembled: null,
    suspectedSigners: [],
    handovers: [],
  };
}

test('the keyset panel shows the latest epoch, its key and threshold, and each signer at its own epoch', async () => {
  const node = createFixtureNode();
  const served = new Map<string, KeyLifecycleJson | undefined>([
    ['http://v0', lifecycle(3, 1250)],
    ['http://v1', lifecycle(2, 1201)],
    ['http://v3', undefined],
  ]);
  const apps = new Map(
    [...served].map(([url, keys]) => [
      url,
      createApiServer({
        view: keys === undefined ? node.view : { ...node.view, keyLifecycle: () => keys },
      }),
    ]),
  );
  try {
    const keys = await pollKeys(
      [
        { index: 1, apiUrl: 'http://v1', up: true },
        { index: 0, apiUrl: 'http://v0', up: true },
        { index: 2, apiUrl: 'http://v2', up: false },
        { index: 3, apiUrl: 'http://v3', up: true },
      ],
      async (apiUrl) => {
        const response = await apps.get(apiUrl)!.inject('/v1/keys');
        if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
        return response.json() as KeyLifecycleJson;
      },
    );
    assert.ok(keys !== null);
    assert.equal(keys.epoch, 3);
    assert.equal(keys.groupPublicKey, GROUP_KEY);
    assert.equal(keys.threshold, 3);
    assert.equal(keys.nextRefreshHeight, 1800);
    assert.deepEqual(
      keys.signers.map((signer) => [signer.index, signer.epoch, signer.up]),
      [
        [0, 3, true],
        [1, 2, true],
        [2, null, false],
        [3, null, true],
      ],
    );
    assert.deepEqual(keys.refreshDisqualified, [{ epoch: 3, dealer: 2, reason: 'SILENT' }]);
    assert.equal(
      await pollKeys([{ index: 0, apiUrl: 'http://v3', up: true }], async () => {
        throw new Error('no route');
      }),
      null,
    );
  } finally {
    await Promise.all([...apps.values()].map((app) => app.close()));
  }
});

test('the signers panel names who signed the latest certificate and who suspects which signer', async () => {
  const node = createFixtureNode();
  // v0 assembled an older certificate; v1 the latest one, without 2 (which v1 and v3 now pass over).
  const served = new Map<string, KeyLifecycleJson>([
    ['http://v0', { ...lifecycle(2, 1210), lastAssembled: { height: 1203, epoch: 2, signers: [0, 1, 2] } }],
    [
      'http://v1',
      {
        ...lifecycle(2, 1210),
        lastAssembled: { height: 1207, epoch: 2, signers: [0, 1, 3] },
        suspectedSigners: [2],
      },
    ],
    ['http://v3', { ...lifecycle(2, 1209), suspectedSigners: [2] }],
  ]);
  const apps = new Map(
    [...served].map(([url, keys]) => [
      url,
      createApiServer({ view: { ...node.view, keyLifecycle: () => keys } }),
    ]),
  );
  const get = async (apiUrl: string) => {
    const response = await apps.get(apiUrl)!.inject('/v1/keys');
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
    return response.json() as KeyLifecycleJson;
  };
  try {
    const keys = await pollKeys(
      [
        { index: 0, apiUrl: 'http://v0', up: true },
        { index: 1, apiUrl: 'http://v1', up: true },
        { index: 3, apiUrl: 'http://v3', up: true },
      ],
      get,
    );
    assert.ok(keys !== null);
    assert.deepEqual(keys.lastCertificate, { height: 1207, epoch: 2, signers: [0, 1, 3], assembledBy: 1 });
    assert.deepEqual(
      keys.signers.map((signer) => [signer.index, signer.suspectedBy]),
      [
        [0, []],
        [1, []],
        [2, [1, 3]],
        [3, []],
      ],
    );
    // Nobody assembled anything yet: no last certificate, and nobody suspected.
    const quiet = await pollKeys([{ index: 3, apiUrl: 'http://v3', up: true }], async () =>
      lifecycle(2, 1209),
    );
    assert.equal(quiet?.lastCertificate, null);
    assert.ok(quiet?.signers.every((signer) => signer.suspectedBy.length === 0));
  } finally {
    await Promise.all([...apps.values()].map((app) => app.close()));
  }
});

test('the dashboard serves the keyset panel, and its snapshot has no keyset before any validator holds one', async () => {
  const dashboard = await createDashboardServer({ validators: [], pollMs: 60_000 });
  try {
    const script = await fetch(`${dashboard.url}/keys-panel.js`);
    assert.equal(script.status, 200);
    assert.match(await script.text(), /renderKeys/);
    const page = await (await fetch(dashboard.url)).text();
    assert.match(page, /data-testid="signers"/);
    assert.match(page, /data-testid="keyset-last-signers"/);
    assert.match(page, /src="\/keys-panel.js"/);
    assert.equal(dashboard.snapshot().keys, null);
  } finally {
    await dashboard.close();
  }
});
