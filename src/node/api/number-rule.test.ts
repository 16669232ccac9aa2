/**
 * The API's number rule (docs/api.md, "Numbers") over what the server actually sends: every GET
 * route of the OpenAPI document is asked of a fixture node that has traded (fills, margin, prices,
 * certificates, evidence, the audit log), with the optional views a validator has (keys, boundary
 * proofs, checkpoints, margin-proof witness) answering, and every value of every 200 response is
 * walked. The schema test (server.test.ts) checks what the schemas allow; this one checks that no
 * integer slips out as a string through a free-form field, and no number is anything but a safe
 * integer outside the two measured quantities.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { actionTransaction, limitOrder } from '../../execution/fixtures.ts';
import { hex, type NodeView } from '../view.ts';
import { createFixtureNode } from './fixture-node.ts';
import {
  FIELD_ELEMENT_FIELDS,
  MONEY_FIELDS,
  NON_INTEGER_NUMBER_FIELDS,
  STRING_MAP_FIELDS,
} from './schemas.ts';
import { createApiServer } from './server.ts';

const money = new Set<string>(MONEY_FIELDS);
const fieldElements = new Set<string>(FIELD_ELEMENT_FIELDS);
const stringMaps = new Set<string>(STRING_MAP_FIELDS);
const nonIntegers = new Set<string>(NON_INTEGER_NUMBER_FIELDS);
/** Exact decimals in whole units: "50000" is one, and so are the greeks. */
const unitDecimalParents = new Set(['greeks', 'greeksPerUnit']);

/** Every breach of the number rule in one JSON value, named by its path. */
export function numberRuleValueProblems(where: string, value: unknown): string[] {
  const problems: string[] = [];
  const visit = (path: string, name: string, parent: string, node: unknown) => {
    if (typeof node === 'string') {
      if (!/^-?[0-9]+$/.test(node)) return;
      const allowed =
        money.has(name) ||
        fieldElements.has(name) ||
        name.endsWith('Decimal') ||
        unitDecimalParents.has(parent);
      if (!allowed) problems.push(`${where} ${path}: integer ${JSON.stringify(node)} sent as a string`);
    } else if (typeof node === 'number') {
      if (money.has(name)) problems.push(`${where} ${path}: money sent as a number`);
      else if (!Number.isSafeInteger(node) && !nonIntegers.has(name))
        problems.push(`${where} ${path}: ${node} is not a safe integer`);
    } else if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) visit(`${path}[${i}]`, name, parent, item);
    } else if (node !== null && typeof node === 'object') {
      // A string map keeps its values as recorded (docs/api.md).
      if (stringMaps.has(name)) return;
      for (const [key, child] of Object.entries(node)) visit(`${path}.${key}`, key, name, child);
    }
  };
  visit('', '', '', value);
  return problems;
}

test('the walker catches what it is for', () => {
  assert.deepEqual(
    numberRuleValueProblems('x', {
      certificate: { epoch: '1', price: '5' },
      keyset: { epoch: 1 },
      score: 0.5,
      lots: 1.5,
      balance: 7,
      metadata: { amount: '12' },
      markets: [{ strikeDecimal: '50000', greeks: { delta: '1' } }],
    }),
    [
      'x .certificate.epoch: integer "1" sent as a string',
      'x .lots: 1.5 is not a safe integer',
      'x .balance: money sent as a number',
    ],
  );
});

test('every GET response keeps the number rule', async () => {
  const node = createFixtureNode();
  const [maker, taker] = node.traders as [(typeof node.traders)[number], (typeof node.traders)[number]];
  const h32 = hex(new Uint8Array(32).fill(3));
  const depositFixture = {
    nonce: 1,
    status: 'pending' as const,
    quorum: 3,
    validators: 4,
    reporters: [0, 2],
    reported: 2,
    contents: 1,
    height: 2,
    creditedHeight: null,
    transactionHash: h32,
    logIndex: 0,
    account: h32,
    token: hex(new Uint8Array(20).fill(4)),
    amount: '2500000',
    amountDecimal: '2.5',
  };
  const view: NodeView = {
    ...node.view,
    keyLifecycle: () => ({
      height: 3,
      epochBlocks: 600,
      epoch: 2,
      nextRefreshHeight: 600,
      keyset: { ...node.view.keyset()!, epoch: 2 } as never,
      signers: [{ index: 0, publicKey: hex(node.validators[0]!.publicKey) }],
      keygen: 'done',
      disqualified: [{ dealer: 3, reason: 'SILENT' }],
      refreshDisqualified: [],
      refreshes: 1,
      refreshing: null,
      repair: { state: 'idle', epoch: null, repaired: 0, code: null, culprits: [] },
      certificates: 3,
      lastAssembled: { height: 3, epoch: 2, signers: [0, 1, 2] },
      suspectedSigners: [3],
      handovers: [
        {
          fromEpoch: 1,
          toEpoch: 2,
          groupPublicKey: hex(new Uint8Array(33).fill(2)),
          signature: hex(new Uint8Array(65)),
          encoded: '0x00',
        },
      ],
    }),
    deposits: () => [depositFixture],
    deposit: (nonce) => (nonce === 1 ? depositFixture : undefined),
    validatorSetProof: (height) => ({
      boundaryHeight: height,
      height: Math.max(0, height - 16),
      engineStateRoot: h32,
      prices: [],
      record: '0x00',
      proof: '0x00',
    }),
  };
  const app = createApiServer({ view });
  await app.ready();
  // The app is up before the trade: it keeps fills from the blocks it sees.
  node.finalizeBlock();
  // A trade, so that fills, margins and open interest are non-empty.
  for (const [signer, side] of [
    [maker, 'sell'],
    [taker, 'buy'],
  ] as const) {
    node.view.submitTransaction(
      SignedTransactionCodec.encode(actionTransaction(signer, 0, limitOrder(1, side, 10_000, 1))),
    );
    node.finalizeBlock();
  }
  node.equivocate();
  node.finalizeBlock();
  try {
    const document = (await app.inject('/v1/openapi.json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const transactionId = (await app.inject('/v1/blocks/2')).json().transactions[0]?.id as string;
    const parameters: Record<string, string> = {
      height: '2',
      publicKey: hex(maker.publicKey),
      seriesId: '1',
      id: transactionId,
      nonce: '1',
    };
    const walked: string[] = [];
    const problems: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!('get' in operations) || path === '/v1/stream' || path.startsWith('/v1/docs')) continue;
      if (path === '/v1/openapi.json') continue;
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => parameters[name] ?? name);
      for (const suffix of url.startsWith('/v1/accounts/') ? ['', '?proof=true'] : ['']) {
        const response = await app.inject(`${url}${suffix}`);
        if (response.statusCode !== 200 || !response.headers['content-type']?.toString().includes('json'))
          continue;
        walked.push(`${url}${suffix}`);
        problems.push(...numberRuleValueProblems(`${url}${suffix}`, response.json()));
      }
    }
    assert.deepEqual(problems, []);
    assert.ok((await app.inject('/v1/fills')).json().fills.length > 0, 'a trade was walked');
    // The walk reached the routes it is for (a route that stopped answering would hide a breach).
    for (const route of [
      '/v1/status',
      '/v1/blocks/2',
      '/v1/accounts/' + hex(maker.publicKey) + '?proof=true',
      '/v1/markets',
      '/v1/fills',
      '/v1/oracle/certificates',
      '/v1/evidence',
      '/v1/keys',
      '/v1/validators/boundaries/2',
      '/v1/audit-log',
      '/v1/bridge/deposits',
      '/v1/bridge/deposits/1',
    ])
      assert.ok(walked.includes(route), `${route} was walked (walked: ${walked.join(', ')})`);
  } finally {
    await app.close();
  }
});
