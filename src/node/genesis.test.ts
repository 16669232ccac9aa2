/**
 * Genesis and config files are read strictly: what `palisade genesis` writes parses back to the
 * same network, and a wrong or unknown field is a typed error naming the field, never a network
 * started from a half-understood file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import { combineEonKeyset, dealEon } from '../crypto/shutter/eon-dkg.ts';
import { OPERATOR, testGovernance, testSigner } from '../execution/fixtures.ts';
import { DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT, DEFAULT_MIN_WITHDRAWAL } from '../execution/types.ts';
import { resolveBridge } from '../execution/withdrawals.ts';
import { ConfigError, parseNodeConfig } from './config.ts';
import { buildGenesis, GenesisError, genesisToJson, parseGenesis } from './genesis.ts';

const genesis = buildGenesis({
  chainId: 9,
  validators: [0, 1, 2, 3].map((i) => ({
    publicKey: testSigner(`genesis-test-${i}`).publicKey,
    p2p: { host: '10.0.0.1', port: 26600 + i },
    api: `http://10.0.0.1:${26700 + i}`,
  })),
  operator: OPERATOR.publicKey,
  governance: testGovernance(),
  startTimeMs: 1_800_000_000_000,
  accounts: [{ publicKey: testSigner('genesis-trader').publicKey, balance: 5n }],
});

// biome-ignore lint/suspicious/noExplicitAny: tests reach into the JSON document to break one field at a time
type JsonDocument = Record<string, any>;

function roundTrip(document: unknown) {
  return parseGenesis(JSON.parse(JSON.stringify(document)));
}

test('a built genesis round-trips through its JSON form', () => {
  const parsed = roundTrip(genesisToJson(genesis));
  assert.deepEqual(parsed, genesis);
  assert.equal(parsed.dkg.threshold, 3);
  assert.equal(toHex(parsed.validators[1]!.publicKey), toHex(genesis.validators[1]!.publicKey));
});

test('epochs: genesis carries the refresh period and keygen deadlines; a genesis without them never refreshes', () => {
  const withEpochs = buildGenesis({
    chainId: 9,
    validators: genesis.validators,
    operator: OPERATOR.publicKey,
    governance: testGovernance(),
    startTimeMs: 1_800_000_000_000,
    epochBlocks: 600,
    keygenDealMs: 4000,
    keygenComplaintMs: 2000,
  });
  const parsed = roundTrip(genesisToJson(withEpochs));
  assert.deepEqual(parsed.dkg, { epoch: 1, threshold: 3, epochBlocks: 600, dealMs: 4000, complaintMs: 2000 });
  // A genesis written before epochs existed: no refresh, the old fixed deadlines.
  const document = JSON.parse(JSON.stringify(genesisToJson(genesis))) as JsonDocument;
  document.dkg = { epoch: 1, threshold: 3 };
  assert.deepEqual(parseGenesis(document).dkg, {
    epoch: 1,
    threshold: 3,
    epochBlocks: 0,
    dealMs: 30_000,
    complaintMs: 10_000,
  });
});

test('wrong genesis fields are refused with the field named', () => {
  const cases: [string, (doc: JsonDocument) => void][] = [
    ['format', (doc) => (doc.format = 'other')],
    ['validators[1].publicKey', (doc) => (doc.validators[1].publicKey = doc.validators[0].publicKey)],
    ['validators[0].p2p', (doc) => (doc.validators[0].p2p = 'no-port')],
    ['engine.chainId', (doc) => (doc.engine.chainId = 1)],
    ['engine.accounts[0].balance', (doc) => (doc.engine.accounts[0].balance = '-5')],
    ['oracle.assets[0].underlyingId', (doc) => (doc.oracle.assets[0].underlyingId = 99)],
    ['dkg.threshold', (doc) => (doc.dkg.threshold = 9)],
    ['dkg.epochBlocks', (doc) => (doc.dkg.epochBlocks = 5)],
    ['dkg.epochBlocks', (doc) => (doc.dkg.epochBlocks = -600)],
    ['dkg.epochBlocks', (doc) => (doc.dkg.epochBlocks = '600')],
    ['dkg.dealMs', (doc) => (doc.dkg.dealMs = 0)],
    ['dkg.refreshEvery', (doc) => (doc.dkg.refreshEvery = 600)],
    [
      'engine.params.oracleGuardPauseMs',
      (doc) => (doc.engine.params.oracleGuardPauseMs = doc.engine.params.maxSampleHoldMs),
    ],
    ['engine.params.maxPositionsPerAccount', (doc) => (doc.engine.params.maxPositionsPerAccount = 5000)],
    ['genesis.extra', (doc) => (doc.extra = true)],
  ];
  for (const [field, mutate] of cases) {
    const document = JSON.parse(JSON.stringify(genesisToJson(genesis))) as JsonDocument;
    mutate(document);
    assert.throws(
      () => parseGenesis(document),
      (error: unknown) => error instanceof GenesisError && error.field === field,
      field,
    );
  }
});

test('configs resolve paths against their directory and refuse unknown fields', () => {
  const config = parseNodeConfig(
    {
      format: 'palisade-node-config/1',
      genesis: '../genesis.json',
      index: 2,
      keystore: '../keys/validator-2.json',
      dataDirectory: 'data',
      p2pListen: '0.0.0.0:26602',
      apiListen: null,
      peers: { '0': '[::1]:26600' },
    },
    '/srv/net/validator-2',
  );
  assert.equal(config.genesisPath, '/srv/net/genesis.json');
  assert.equal(config.dataDirectory, '/srv/net/validator-2/data');
  assert.equal(config.apiListen, undefined);
  assert.deepEqual(config.peers.get(0), { host: '::1', port: 26600 });
  assert.throws(
    () => parseNodeConfig({ format: 'palisade-node-config/1', surprise: 1 }, '/'),
    (error: unknown) => error instanceof ConfigError && error.field === 'surprise',
  );
});

test('fair ordering: the eon keyset and encrypted-only series round-trip; wrong points, counts and repeats are refused', () => {
  const dealings = [0, 1, 2, 3].map((j) => dealEon(j, 3, 4));
  const keyset = combineEonKeyset(dealings, 3, 4);
  const withFair = {
    ...genesis,
    fairOrdering: {
      eon: 1,
      eonPublicKey: keyset.eonPublicKey,
      publicShares: [...keyset.publicShares],
      encryptedOnlySeries: [1, 3],
    },
  };
  const parsed = roundTrip(genesisToJson(withFair));
  assert.equal(parsed.fairOrdering!.eonPublicKey.equals(keyset.eonPublicKey), true);
  assert.deepEqual(parsed.fairOrdering!.encryptedOnlySeries, [1, 3]);
  assert.equal(
    parsed.fairOrdering!.publicShares.every((share, i) => share.equals(keyset.publicShares[i]!)),
    true,
  );
  // Without the section: no fair ordering, as before.
  assert.equal(roundTrip(genesisToJson(genesis)).fairOrdering, undefined);
  const broken = (edit: (fair: JsonDocument) => void) => {
    const document = JSON.parse(JSON.stringify(genesisToJson(withFair))) as JsonDocument;
    edit(document.fairOrdering);
    return () => parseGenesis(document);
  };
  const notOnCurve = `0x${'ff'.repeat(96)}`;
  const cases: [string, (fair: JsonDocument) => void, string][] = [
    ['a key off the curve', (fair) => (fair.eonPublicKey = notOnCurve), 'fairOrdering.eonPublicKey'],
    ['a short share', (fair) => (fair.publicShares[2] = '0x01'), 'fairOrdering.publicShares[2]'],
    ['a share missing', (fair) => fair.publicShares.pop(), 'fairOrdering.publicShares'],
    ['a series twice', (fair) => (fair.encryptedOnlySeries = [2, 2]), 'fairOrdering.encryptedOnlySeries'],
    ['series 0', (fair) => (fair.encryptedOnlySeries = [0]), 'fairOrdering.encryptedOnlySeries[0]'],
    ['an unknown field', (fair) => (fair.extra = 1), 'fairOrdering.extra'],
  ];
  for (const [name, edit, field] of cases)
    assert.throws(
      broken(edit),
      (error: unknown) => error instanceof GenesisError && error.field === field,
      name,
    );
});

test('eonKeygen: the validators make the eon keyset; the section round-trips, deadlines default to dkg, and it excludes a listed keyset', () => {
  const withKeygen = {
    ...genesis,
    eonKeygen: { eon: 2, encryptedOnlySeries: [4], dealMs: 1500, complaintMs: 700 },
  };
  const parsed = roundTrip(genesisToJson(withKeygen));
  assert.deepEqual(parsed.eonKeygen, withKeygen.eonKeygen);
  assert.equal(parsed.fairOrdering, undefined, 'no key in the genesis');
  const bare = JSON.parse(JSON.stringify(genesisToJson(genesis))) as JsonDocument;
  bare.eonKeygen = { eon: 1 };
  assert.deepEqual(parseGenesis(bare).eonKeygen, {
    eon: 1,
    dealMs: genesis.dkg.dealMs,
    complaintMs: genesis.dkg.complaintMs,
  });
  const keyset = combineEonKeyset(
    [0, 1, 2, 3].map((j) => dealEon(j, 3, 4)),
    3,
    4,
  );
  const both = JSON.parse(
    JSON.stringify(
      genesisToJson({
        ...withKeygen,
        fairOrdering: { eon: 1, eonPublicKey: keyset.eonPublicKey, publicShares: [...keyset.publicShares] },
      }),
    ),
  );
  assert.throws(
    () => parseGenesis(both),
    (error: unknown) => error instanceof GenesisError && error.field === 'eonKeygen',
  );
  for (const [edit, field] of [
    [(k: JsonDocument) => (k.encryptedOnlySeries = [1, 1]), 'eonKeygen.encryptedOnlySeries'],
    [(k: JsonDocument) => (k.dealMs = 5), 'eonKeygen.dealMs'],
    [(k: JsonDocument) => (k.eonPublicKey = '0x00'), 'eonKeygen.eonPublicKey'],
  ] as const) {
    const document = JSON.parse(JSON.stringify(genesisToJson(withKeygen))) as JsonDocument;
    edit(document.eonKeygen);
    assert.throws(
      () => parseGenesis(document),
      (error: unknown) => error instanceof GenesisError && error.field === field,
      field,
    );
  }
});

test('bridge: the withdrawal minimum and per-account cap reach the engine; absent, the engine defaults; wrong ones are refused', () => {
  const bridged = (extra: JsonDocument = {}): JsonDocument => {
    const document = JSON.parse(JSON.stringify(genesisToJson(genesis))) as JsonDocument;
    document.engine.operator = '0'.repeat(64);
    document.priceCertificates.chainId = 31_337;
    document.bridge = {
      evmChainId: 31_337,
      vault: `0x${'a1'.repeat(20)}`,
      token: `0x${'b2'.repeat(20)}`,
      fromBlock: 0,
      confirmations: 2,
      ...extra,
    };
    return document;
  };
  const plain = parseGenesis(bridged());
  assert.equal(plain.bridge?.minWithdrawal, undefined);
  assert.equal(plain.engine.bridge?.minWithdrawal, undefined);
  // The engine fills the defaults (src/execution/withdrawals.ts): 10 USDC, 8 per period.
  assert.deepEqual(
    [
      resolveBridge(plain.engine.bridge!).minWithdrawal,
      resolveBridge(plain.engine.bridge!).maxWithdrawalsPerAccount,
    ],
    [DEFAULT_MIN_WITHDRAWAL, DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT],
  );
  const set = parseGenesis(bridged({ minWithdrawal: '2500000', maxWithdrawalsPerAccount: 3 }));
  assert.equal(set.engine.bridge?.minWithdrawal, 2_500_000n);
  assert.equal(set.engine.bridge?.maxWithdrawalsPerAccount, 3);
  assert.deepEqual(roundTrip(genesisToJson(set)), set);
  const wrong: [JsonDocument, string][] = [
    [{ minWithdrawal: '0' }, 'bridge.minWithdrawal'],
    [{ minWithdrawal: 10_000_000 }, 'bridge.minWithdrawal'],
    [{ minWithdrawal: (1n << 256n).toString() }, 'bridge.minWithdrawal'],
    [{ maxWithdrawalsPerAccount: 0 }, 'bridge.maxWithdrawalsPerAccount'],
    [{ maxWithdrawalsPerAccount: 1025 }, 'bridge.maxWithdrawalsPerAccount'],
    [{ maxWithdrawalsPerAccount: 2.5 }, 'bridge.maxWithdrawalsPerAccount'],
  ];
  for (const [extra, field] of wrong) {
    assert.throws(
      () => parseGenesis(bridged(extra)),
      (error: unknown) => error instanceof GenesisError && error.field === field,
      field,
    );
  }
});
