/**
 * `GET /v1/network` and the genesis validator metadata behind it: declared operator, jurisdiction,
 * hosting and key custody survive the genesis JSON round trip and are served; undeclared ones are
 * null; a metadata field that is unknown, empty or over 64 characters is refused with the field
 * named, so a genesis cannot smuggle a label the report would print unescaped or unbounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testSigner } from '../../execution/fixtures.ts';
import { buildGenesis, genesisToJson, parseGenesis } from '../genesis.ts';
import { createFixtureNode } from './fixture-node.ts';
import { networkInfoOf } from './network.ts';
import { createApiServer } from './server.ts';

const genesis = buildGenesis({
  chainId: 9,
  validators: [0, 1, 2, 3].map((i) => ({
    publicKey: testSigner(`network-test-${i}`).publicKey,
    p2p: { host: '10.0.0.1', port: 26600 + i },
    api: `http://10.0.0.1:${26700 + i}`,
    ...(i < 3
      ? { metadata: { operator: `op-${i}`, jurisdiction: 'CH', keyCustody: i === 0 ? 'hsm' : 'mpc' } }
      : {}),
  })),
  operator: testSigner('network-test-operator').publicKey,
  governance: {
    governors: [1, 2, 3, 4, 5].map((i) => testSigner(`network-test-governor-${i}`).publicKey),
    threshold: 3,
    guardians: [1, 2, 3].map((i) => testSigner(`network-test-governor-${i}`).publicKey),
    guardianThreshold: 2,
    timelockMs: 60_000,
  },
  startTimeMs: 1_800_000_000_000,
});

// biome-ignore lint/suspicious/noExplicitAny: the test breaks one field of the JSON document at a time
type JsonDocument = Record<string, any>;

test('declared metadata round-trips through genesis JSON and is served at /v1/network; undeclared fields are null', async () => {
  const parsed = parseGenesis(JSON.parse(JSON.stringify(genesisToJson(genesis))));
  assert.deepEqual(parsed.validators[0]!.metadata, {
    operator: 'op-0',
    jurisdiction: 'CH',
    keyCustody: 'hsm',
  });
  assert.equal(parsed.validators[3]!.metadata, undefined);
  const node = createFixtureNode();
  const app = createApiServer({ view: node.view, network: networkInfoOf(parsed) });
  try {
    const response = await app.inject('/v1/network');
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.deepEqual(
      body.validators.map((v: JsonDocument) => [v.operator, v.jurisdiction, v.hosting, v.keyCustody]),
      [
        ['op-0', 'CH', null, 'hsm'],
        ['op-1', 'CH', null, 'mpc'],
        ['op-2', 'CH', null, 'mpc'],
        [null, null, null, null],
      ],
    );
    assert.deepEqual(body.consensus.quorum, 3);
    assert.deepEqual(body.priceKeyset, { epoch: 1, threshold: 3, participants: 4 });
    assert.deepEqual(body.governance.threshold, 3);
    assert.equal(body.governance.keys.length, 5);
    assert.equal(body.governance.guardians.length, 3);
    assert.equal(body.governance.guardianThreshold, 2);
    assert.equal(body.governance.timelockMs, 60_000);
    assert.deepEqual(
      body.oracle.sources.map((s: JsonDocument) => s.id),
      ['venue-a', 'venue-b', 'venue-c', 'venue-d'],
    );
    assert.equal(body.bridge, null);
  } finally {
    await app.close();
  }
  const bare = createApiServer({ view: node.view });
  try {
    const response = await bare.inject('/v1/network');
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'NOT_FOUND');
  } finally {
    await bare.close();
  }
});

test('bad metadata is refused with the field named', () => {
  const cases: Array<[unknown, string]> = [
    [{ owner: 'x' }, 'validators[0].metadata.owner'],
    [{ operator: '' }, 'validators[0].metadata.operator'],
    [{ hosting: 'x'.repeat(65) }, 'validators[0].metadata.hosting'],
    [{ keyCustody: 7 }, 'validators[0].metadata.keyCustody'],
    ['acme', 'validators[0].metadata'],
  ];
  for (const [metadata, field] of cases) {
    const document = JSON.parse(JSON.stringify(genesisToJson(genesis))) as JsonDocument;
    document.validators[0].metadata = metadata;
    assert.throws(() => parseGenesis(document), { code: 'INVALID_GENESIS', field }, field);
  }
});
