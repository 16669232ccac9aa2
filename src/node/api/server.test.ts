import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { InjectOptions } from 'fastify';
import { BlockCodec } from '../../codec/consensus.ts';
import { AccountRecordCodec } from '../../codec/execution.ts';
import { fromJson } from '../../codec/json.ts';
import { StateProofType } from '../../codec/state-proof.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { verifyCertificate } from '../../consensus/certificate.ts';
import { verifyEvidence } from '../../consensus/evidence.ts';
import { blockDigest } from '../../consensus/votes.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { verifyStateProof } from '../../crypto/state-commitment.ts';
import { accountStateKey } from '../../execution/engine.ts';
import { actionTransaction, limitOrder, testSigner } from '../../execution/fixtures.ts';
import { createKeysetRegistry } from '../../interop/price-certificate.ts';
import { certificateFromJson, evidenceFromJson, hex } from '../view.ts';
import { API_ERRORS } from './errors.ts';
import { createFixtureNode, type FixtureNode } from './fixture-node.ts';
import {
  BASE_UNITS_PATTERN,
  FIELD_ELEMENT_FIELDS,
  FIELD_ELEMENT_PATTERN,
  MONEY_FIELDS,
  SIGNED_BASE_UNITS_PATTERN,
  UNIT_DECIMAL_PATTERN,
} from './schemas.ts';
import { createApiServer, startApiServer } from './server.ts';

function bytes(value: string): Uint8Array {
  const out = fromHex(value);
  assert.ok(out !== undefined, `${value} is hex`);
  return out;
}

/** Series 1 is the 7-day 50,000 call; at 60,000 its mark is about 10,030 USDC, inside whose price band orders must be. */
function encodedOrder(node: FixtureNode, trader: number, nonce: number, side: 'buy' | 'sell', price: number) {
  const signer = node.traders[trader]!;
  return SignedTransactionCodec.encode(actionTransaction(signer, nonce, limitOrder(1, side, price, 1)));
}

describe('API server over a node built from the real layers', () => {
  let node: FixtureNode;
  let app: ReturnType<typeof createApiServer>;

  before(async () => {
    node = createFixtureNode();
    app = createApiServer({ view: node.view });
    await app.ready();
    node.finalizeBlock();
  });
  after(() => app.close());

  test('status names the height, finalized hash, view and which validators are connected', async () => {
    node.setConnected(2, false);
    const response = await app.inject('/v1/status');
    assert.equal(response.statusCode, 200);
    const status = response.json();
    assert.equal(status.height, node.engine.height);
    assert.match(status.finalizedHash, /^0x[0-9a-f]{64}$/);
    assert.ok(status.view > status.finalizedView);
    assert.equal(status.chainId, node.chainId);
    assert.deepEqual(
      status.validators.map((validator: { connected: boolean }) => validator.connected),
      [true, true, false, true],
    );
    node.setConnected(2, true);
  });

  test('a signed order submitted as JSON hex is accepted, pending, then finalized with its outcome', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      payload: { transaction: hex(encodedOrder(node, 0, 0, 'sell', 10_000)) },
    });
    assert.equal(response.statusCode, 202, response.body);
    const { id } = response.json();
    assert.match(id, /^0x[0-9a-f]{64}$/);
    assert.equal((await app.inject(`/v1/transactions/${id}`)).json().status, 'pending');
    node.finalizeBlock();
    const found = (await app.inject(`/v1/transactions/${id}`)).json();
    assert.equal(found.status, 'finalized');
    assert.equal(found.height, node.engine.height);
    assert.equal(found.outcome.status, 'OK');
    assert.equal(found.outcome.restingLots, 10);
  });

  test('raw octet-stream bytes are accepted too, and a crossing order fills', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(encodedOrder(node, 1, 0, 'buy', 10_000)),
    });
    assert.equal(response.statusCode, 202, response.body);
    node.finalizeBlock();
    const fills = (await app.inject('/v1/fills?seriesId=1')).json().fills;
    assert.equal(fills.length, 1);
    assert.equal(fills[0].maker, hex(node.traders[0]!.publicKey));
    assert.equal(fills[0].takerSide, 'buy');
    assert.equal(fills[0].lots, 10);
  });

  test('mempool refusals come back with their code and status', async () => {
    const fresh = encodedOrder(node, 2, 0, 'buy', 100);
    const first = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      payload: { transaction: hex(fresh) },
    });
    assert.equal(first.statusCode, 202);
    const duplicate = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      payload: { transaction: hex(fresh) },
    });
    assert.equal(duplicate.statusCode, 409);
    assert.equal(duplicate.json().error.code, 'DUPLICATE');

    const tampered = Uint8Array.from(encodedOrder(node, 2, 1, 'buy', 100));
    tampered[tampered.length - 1]! ^= 1;
    const badSignature = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      payload: { transaction: hex(tampered) },
    });
    assert.equal(badSignature.statusCode, 400);
    assert.equal(badSignature.json().error.code, 'BAD_SIGNATURE');

    const used = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      payload: { transaction: hex(encodedOrder(node, 0, 0, 'sell', 4000)) },
    });
    assert.equal(used.statusCode, 409);
    assert.equal(used.json().error.code, 'NONCE_TOO_LOW');

    const garbage = await app.inject({
      method: 'POST',
      url: '/v1/transactions',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from('not a transaction'),
    });
    assert.equal(garbage.statusCode, 400);
    assert.equal(garbage.json().error.code, 'MALFORMED');
  });

  test('malformed requests get a typed 4xx naming the field, and never reach the mempool', async () => {
    const before = node.mempool.stats();
    const cases: Array<{
      request: InjectOptions;
      status: number;
      code: string;
      field?: string;
    }> = [
      {
        request: { method: 'POST', url: '/v1/transactions', payload: { transaction: '0x00', extra: 1 } },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'body/extra',
      },
      {
        request: { method: 'POST', url: '/v1/transactions', payload: { transaction: 'zz' } },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'body/transaction',
      },
      {
        request: { method: 'POST', url: '/v1/transactions', payload: {} },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'body/transaction',
      },
      {
        request: {
          method: 'POST',
          url: '/v1/transactions',
          payload: { transaction: `0x${'00'.repeat(5000)}` },
        },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'body/transaction',
      },
      {
        request: {
          method: 'POST',
          url: '/v1/transactions',
          payload: { transaction: `0x${'00'.repeat(40_000)}` },
        },
        status: 413,
        code: 'BODY_TOO_LARGE',
      },
      {
        request: {
          method: 'POST',
          url: '/v1/transactions',
          headers: { 'content-type': 'application/json' },
          payload: '{"transaction": ',
        },
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        request: {
          method: 'POST',
          url: '/v1/transactions',
          headers: { 'content-type': 'text/plain' },
          payload: '0x00',
        },
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        request: { method: 'GET', url: '/v1/blocks?limit=100000' },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'querystring/limit',
      },
      {
        request: { method: 'GET', url: '/v1/blocks?sneaky=1' },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'querystring/sneaky',
      },
      {
        request: { method: 'GET', url: '/v1/blocks/-1' },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'params/height',
      },
      {
        request: { method: 'GET', url: '/v1/accounts/0x1234' },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'params/publicKey',
      },
      {
        request: { method: 'GET', url: '/v1/markets/1/book?depth=0' },
        status: 400,
        code: 'INVALID_REQUEST',
        field: 'querystring/depth',
      },
      {
        request: { method: 'GET', url: `/v1/accounts/0x${'a'.repeat(5000)}` },
        status: 414,
        code: 'URI_TOO_LONG',
      },
      { request: { method: 'GET', url: '/v1/blocks/%E0%A4%A' }, status: 400, code: 'INVALID_REQUEST' },
      { request: { method: 'GET', url: '/v2/status' }, status: 404, code: 'NOT_FOUND' },
      { request: { method: 'DELETE', url: '/v1/status' }, status: 404, code: 'NOT_FOUND' },
    ];
    for (const { request, status, code, field } of cases) {
      const response = await app.inject(request);
      const label = JSON.stringify(request).slice(0, 120);
      assert.equal(response.statusCode, status, `${label}: ${response.body}`);
      const body = response.json();
      assert.equal(body.error.code, code, label);
      assert.equal(typeof body.error.message, 'string');
      if (field !== undefined) assert.equal(body.error.field, field, label);
    }
    assert.deepEqual(node.mempool.stats(), before);
  });

  test('blocks page ascending and each block carries a finality certificate a light client can check', async () => {
    node.finalizeBlock();
    const height = node.engine.height;
    const latest = (await app.inject('/v1/blocks?limit=2')).json().blocks;
    assert.deepEqual(
      latest.map((block: { height: number }) => block.height),
      [height - 1, height],
    );
    const page = (await app.inject('/v1/blocks?from=1&limit=3')).json().blocks;
    assert.deepEqual(
      page.map((block: { height: number }) => block.height),
      [1, 2, 3],
    );
    assert.equal(page[1].parentHash, page[0].hash);

    const detail = (await app.inject(`/v1/blocks/${height}`)).json();
    const certificate = certificateFromJson(detail.finalization);
    assert.ok(verifyCertificate(node.validatorSet, node.chainId, certificate));
    const block = BlockCodec.decode(bytes(detail.encoded));
    assert.equal(hex(blockDigest(block)), detail.hash);
    assert.equal(hex(certificate.digest), detail.hash);
    assert.equal(block.height, height);

    const missing = await app.inject(`/v1/blocks/${height + 1}`);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'BLOCK_NOT_FOUND');
  });

  test('an account shows its position and margin; with proof=true the record verifies under the state root', async () => {
    const publicKey = hex(node.traders[1]!.publicKey);
    const plain = (await app.inject(`/v1/accounts/${publicKey}`)).json();
    assert.deepEqual(plain.account.positions, [{ seriesId: 1, lots: 10 }]);
    assert.equal(plain.account.nonce, 1);
    assert.match(plain.account.balance, /^[0-9]+$/);
    assert.equal(plain.proof, undefined);

    const read = (
      await app.inject(`/v1/accounts/${publicKey.toUpperCase().replace('0X', '0x')}?proof=true`)
    ).json();
    const { proof } = read;
    assert.equal(proof.key, hex(accountStateKey(node.traders[1]!.publicKey)));
    assert.equal(proof.stateRoot, hex(node.engine.stateRoot()));
    const value = bytes(proof.value);
    assert.ok(
      verifyStateProof(
        bytes(proof.stateRoot),
        bytes(proof.key),
        value,
        fromJson(StateProofType, proof.proof),
      ),
    );
    assert.equal(AccountRecordCodec.decode(value).nonce, 1);
    const forged = Uint8Array.from(value);
    forged[forged.length - 1]! ^= 1;
    assert.ok(
      !verifyStateProof(
        bytes(proof.stateRoot),
        bytes(proof.key),
        forged,
        fromJson(StateProofType, proof.proof),
      ),
    );

    const stranger = testSigner('api-stranger').publicKey;
    const unknown = await app.inject(`/v1/accounts/${hex(stranger)}`);
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'ACCOUNT_NOT_FOUND');
    const absent = (await app.inject(`/v1/accounts/${hex(stranger)}?proof=true`)).json();
    assert.equal(absent.account, null);
    assert.equal(absent.proof.value, null);
    assert.ok(
      verifyStateProof(
        bytes(absent.proof.stateRoot),
        accountStateKey(stranger),
        undefined,
        fromJson(StateProofType, absent.proof.proof),
      ),
    );
  });

  test('markets and books show listed series and resting orders, best first', async () => {
    const markets = (await app.inject('/v1/markets')).json().markets;
    assert.equal(markets.length, 20);
    assert.equal(markets[0].underlying, 'BTC');
    assert.match(markets[0].markPrice, /^[0-9]+$/);
    for (const [nonce, price] of [
      [1, 10_100],
      [2, 10_200],
    ] as const) {
      const payload = { transaction: hex(encodedOrder(node, 0, nonce, 'sell', price)) };
      assert.equal((await app.inject({ method: 'POST', url: '/v1/transactions', payload })).statusCode, 202);
    }
    node.finalizeBlock();
    const book = (await app.inject('/v1/markets/1/book?depth=1')).json();
    assert.equal(book.asks.length, 1);
    assert.equal(book.asks[0].priceTicks, 10_100 / 5);
    assert.equal(book.height, node.engine.height);
    const missing = await app.inject('/v1/markets/99999/book');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'SERIES_NOT_FOUND');
  });

  test('oracle prices carry confidence, and the price certificate verifies against the served keyset', async () => {
    const prices = (await app.inject('/v1/oracle/prices')).json().prices;
    assert.equal(prices[0].symbol, 'BTC');
    assert.equal(prices[0].stale, false);
    assert.ok(BigInt(prices[0].confidence) > 0n);
    const { keyset, certificates } = (await app.inject('/v1/oracle/certificates')).json();
    assert.equal(keyset.epoch, 1);
    const registry = createKeysetRegistry({
      chainId: node.chainId,
      verifyingContract: new Uint8Array(20).fill(0x11),
    });
    registry.activate(keyset.epoch, bytes(keyset.groupPublicKey));
    const verdict = registry.verify(bytes(certificates[0].encoded));
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.detail);
    assert.equal(verdict.certificate.report.price, BigInt(certificates[0].certificate.price));
    // The JSON shows the signed exponent the EIP-712 report signs, the same as the price feed.
    assert.equal(certificates[0].certificate.exponent, verdict.certificate.report.exponent);
    assert.equal(certificates[0].certificate.exponent, prices[0].exponent);
    assert.ok(certificates[0].certificate.exponent < 0);
  });

  test('past certificates by height or time: the one in force then, verifiable; bad queries refused', async () => {
    const first = (await app.inject('/v1/oracle/certificates')).json().certificates[0];
    node.finalizeBlock();
    node.finalizeBlock();
    const latest = (await app.inject('/v1/oracle/certificates')).json().certificates[0];
    assert.ok(latest.height > first.height);
    const atHeight = (await app.inject(`/v1/oracle/certificates?height=${latest.height - 1}`)).json();
    assert.equal(atHeight.certificates.length, 1);
    assert.ok(atHeight.certificates[0].height < latest.height);
    assert.ok(atHeight.certificates[0].height >= first.height);
    const registry = createKeysetRegistry({
      chainId: node.chainId,
      verifyingContract: new Uint8Array(20).fill(0x11),
    });
    registry.activate(atHeight.keyset.epoch, bytes(atHeight.keyset.groupPublicKey));
    assert.ok(registry.verify(bytes(atHeight.certificates[0].encoded)).ok);
    const byTime = (
      await app.inject(`/v1/oracle/certificates?asset=BTC&time=${latest.certificate.publishTime}`)
    ).json();
    assert.equal(byTime.certificates[0].certificate.publishTime, latest.certificate.publishTime);
    assert.deepEqual((await app.inject('/v1/oracle/certificates?height=0')).json().certificates, []);
    const both = await app.inject('/v1/oracle/certificates?height=1&time=1');
    assert.equal(both.statusCode, 400);
    assert.equal(both.json().error.field, 'querystring/time');
    const unknown = await app.inject('/v1/oracle/certificates?asset=NOPE&height=1');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'ASSET_NOT_FOUND');
    assert.equal((await app.inject('/v1/oracle/certificates?heigth=1')).statusCode, 400, 'unknown field');
  });

  test('evidence is served in a form anyone can verify', async () => {
    node.equivocate();
    const evidence = (await app.inject('/v1/evidence')).json().evidence;
    assert.equal(evidence.length, 1);
    assert.equal(evidence[0].kind, 'notarize-conflict');
    assert.equal(verifyEvidence(node.validatorSet, node.chainId, evidenceFromJson(evidence[0].evidence)), 3);
  });

  test('/metrics exposes height, finality latency, peers, mempool and drops by reason in its own registry', async () => {
    node.countDrop('bad-signature');
    node.countDrop('bad-signature');
    const other = createApiServer({ view: createFixtureNode({ traders: 1 }).view });
    await other.ready();
    const text = (await app.inject('/metrics')).body;
    assert.match(text, new RegExp(`^palisade_finalized_height ${node.engine.height}$`, 'm'));
    assert.match(text, /^palisade_finality_latency_seconds_count [1-9][0-9]*$/m);
    assert.match(text, /^palisade_peers_connected 3$/m);
    assert.match(text, /^palisade_mempool_transactions [0-9]+$/m);
    assert.match(text, /^palisade_messages_dropped_total\{reason="bad-signature"\} 2$/m);
    assert.match(text, /^palisade_transactions_refused_total\{code="DUPLICATE"\} 1$/m);
    assert.match((await other.inject('/metrics')).body, /^palisade_finalized_height 0$/m);
    await other.close();
  });

  test('/v1/openapi.json is a valid OpenAPI 3.1 document of every registered route, and /v1/docs shows it', async () => {
    const routes: string[] = [];
    const probe = createApiServer({ view: createFixtureNode({ traders: 1 }).view });
    probe.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) {
        // HEAD mirrors GET; the page's own assets are not the API.
        if (method !== 'HEAD' && !route.url.startsWith('/v1/docs')) routes.push(`${method} ${route.url}`);
      }
    });
    await probe.ready();
    try {
      const response = await probe.inject('/v1/openapi.json');
      assert.equal(response.statusCode, 200);
      const document = response.json();
      assert.equal(document.openapi, '3.1.0');
      // Throws, naming the fault, unless the document is valid against the OpenAPI 3.1 schema.
      await SwaggerParser.validate(structuredClone(document));
      const described = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, operations]) =>
          Object.keys(operations).map(
            (method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`,
          ),
      );
      assert.ok(routes.length >= 15, `the route scan saw ${routes.length} routes`);
      assert.deepEqual([...described].sort(), [...new Set(routes)].sort());
      const page = await probe.inject('/v1/docs');
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /text\/html/);
      assert.match(page.body, /swagger/i);
    } finally {
      await probe.close();
    }
  });

  test('one number rule over every schema: money a decimal string with its whole-unit Decimal, every other integer a bounded number', async () => {
    const document = (await app.inject('/v1/openapi.json')).json();
    assert.deepEqual(numberRuleProblems(document), []);
    // The checker itself catches what it is for (so the test above can fail).
    const planted = {
      paths: {
        '/a': {
          get: {
            responses: {
              200: {
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      properties: {
                        keyset: { type: 'object', properties: { epoch: { type: 'integer', minimum: 0 } } },
                        certificate: {
                          type: 'object',
                          properties: { epoch: { type: 'string', pattern: BASE_UNITS_PATTERN } },
                        },
                        balance: { type: 'string', pattern: SIGNED_BASE_UNITS_PATTERN },
                        lots: { type: 'integer', minimum: 0, maximum: 2 ** 64 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    };
    assert.deepEqual(numberRuleProblems(planted).sort(), [
      '/a get 200: balance has no balanceDecimal beside it',
      '/a get 200: epoch is a decimal string but not a money field',
      '/a get 200: epoch is not bounded within ±(2^53 − 1)',
      '/a get 200: lots is not bounded within ±(2^53 − 1)',
      'epoch is both a number and a string',
    ]);
  });

  test('amounts a person reads come with their whole-unit decimal, equal to the base units', async () => {
    const account = (await app.inject(`/v1/accounts/${hex(node.traders[1]!.publicKey)}`)).json().account;
    assert.equal(account.balanceDecimal, unitsOf(account.balance, 6));
    assert.equal(account.margin.maintenanceDecimal, unitsOf(account.margin.maintenance, 6));
    const market = (await app.inject('/v1/markets')).json().markets[0];
    // Series 1 is the 50,000 call: the strike in base units is 50,000 × 10^6.
    assert.equal(market.strike, '50000000000');
    assert.equal(market.strikeDecimal, '50000');
    assert.equal(market.markPriceDecimal, unitsOf(market.markPrice, 6));
    const price = (await app.inject('/v1/oracle/prices')).json().prices[0];
    assert.equal(price.priceDecimal, unitsOf(price.price, -price.exponent));
    assert.equal(price.confidenceDecimal, unitsOf(price.confidence, -price.exponent));
    const { certificates, keyset } = (await app.inject('/v1/oracle/certificates')).json();
    // The certificate's epoch is a number, as the keyset's is (it used to be "1" beside 1).
    assert.equal(certificates[0].certificate.epoch, keyset.epoch);
    assert.equal(typeof certificates[0].certificate.publishTime, 'number');
  });

  test('every error code has a status', () => {
    for (const [code, { status }] of Object.entries(API_ERRORS)) {
      assert.ok(status >= 400 && status < 600, code);
    }
  });
});

describe('WebSocket stream on 127.0.0.1', () => {
  function nextMessage(socket: WebSocket, predicate: (message: Record<string, unknown>) => boolean) {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message')), 5000);
      socket.addEventListener('message', function listener(event) {
        const message = JSON.parse(String(event.data)) as Record<string, unknown>;
        if (!predicate(message)) return;
        clearTimeout(timer);
        socket.removeEventListener('message', listener);
        resolve(message);
      });
    });
  }

  function open(url: string): Promise<WebSocket> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(socket));
      socket.addEventListener('error', () => reject(new Error('did not open')));
    });
  }

  test('subscribers get the blocks, fills and prices they ask for, and bad frames get an error', async () => {
    const node = createFixtureNode();
    const api = await startApiServer({ view: node.view });
    try {
      assert.match(api.url, /^http:\/\/127\.0\.0\.1:[0-9]+$/);
      const socket = await open(`${api.url.replace('http', 'ws')}/v1/stream?topics=blocks,fills`);
      const confirmed = await nextMessage(socket, (message) => message.type === 'subscribed');
      assert.deepEqual(confirmed.topics, ['blocks', 'fills']);

      const block = nextMessage(socket, (message) => message.topic === 'blocks');
      node.finalizeBlock();
      const event = await block;
      assert.equal((event.block as { height: number }).height, 1);
      assert.equal(typeof event.finalityLatencyMs, 'number');

      socket.send(JSON.stringify({ op: 'subscribe', topics: ['prices'], extra: true }));
      const error = await nextMessage(socket, (message) => message.type === 'error');
      assert.match((error.error as { message: string }).message, /extra/);

      socket.send(JSON.stringify({ op: 'subscribe', topics: ['prices'] }));
      await nextMessage(socket, (message) => message.type === 'subscribed');
      const prices = nextMessage(socket, (message) => message.topic === 'prices');
      node.finalizeBlock();
      assert.equal((await prices).height, 2);
      socket.close();
    } finally {
      await api.close();
    }
  });

  test('subscribers beyond the limit are refused with 503, and a consumer that falls behind is closed', async () => {
    const node = createFixtureNode({ traders: 1 });
    const api = await startApiServer({
      view: node.view,
      limits: { stream: { maxSubscribers: 1, maxBufferedBytes: 200 } },
    });
    try {
      const url = `${api.url.replace('http', 'ws')}/v1/stream?topics=blocks`;
      const socket = await open(url);
      await nextMessage(socket, (message) => message.type === 'subscribed');

      const { port } = new URL(api.url);
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest({
          host: '127.0.0.1',
          port,
          path: '/v1/stream',
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('upgrade', () => reject(new Error('upgraded past the limit')));
        request.on('error', reject);
        request.end();
      });
      assert.equal(status, 503);

      // A block event is larger than the 200-byte backlog allowed: the subscriber is cut off.
      const closed = new Promise<number>((resolve) =>
        socket.addEventListener('close', (event) => resolve(event.code)),
      );
      node.finalizeBlock();
      assert.equal(await closed, 1013);
    } finally {
      await api.close();
    }
  });
});

/** `value` base units with `decimals` places, by string arithmetic (independent of view.ts). */
function unitsOf(value: string, decimals: number): string {
  const negative = value.startsWith('-');
  const digits = (negative ? value.slice(1) : value).padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

type Schema = { [key: string]: unknown };

/**
 * Every breach of the API's number rule (docs/api.md, "Numbers") in an OpenAPI document: an integer
 * without bounds within ±(2^53 − 1), a money field as a number, a base-unit string that is not a
 * money field, a money field a person reads without its `<name>Decimal` (signed codec objects, which
 * carry a `title`, are exempt from that), and a field name that is a number in one place and a
 * string in another.
 */
function numberRuleProblems(document: { paths: Record<string, Record<string, Schema>> }): string[] {
  const problems: string[] = [];
  const kinds = new Map<string, Set<'number' | 'string'>>();
  const money = new Set<string>(MONEY_FIELDS);
  const decimalPatterns = new Set([BASE_UNITS_PATTERN, SIGNED_BASE_UNITS_PATTERN]);
  const unwrap = (schema: Schema): Schema => {
    const anyOf = schema.anyOf as Schema[] | undefined;
    if (anyOf !== undefined && anyOf.length === 2 && anyOf[0]!.type === 'null') return anyOf[1]!;
    return schema;
  };
  const field = (where: string, name: string, raw: Schema, siblings: Schema | undefined, signed: boolean) => {
    const schema = unwrap(raw);
    if (schema.type === 'integer') {
      kinds.set(name, (kinds.get(name) ?? new Set()).add('number'));
      const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
      const bounded =
        typeof minimum === 'number' &&
        typeof maximum === 'number' &&
        minimum >= Number.MIN_SAFE_INTEGER &&
        maximum <= Number.MAX_SAFE_INTEGER;
      if (!bounded) problems.push(`${where}: ${name} is not bounded within ±(2^53 − 1)`);
      if (money.has(name)) problems.push(`${where}: money field ${name} is a number`);
    } else if (schema.type === 'string' && schema.pattern === FIELD_ELEMENT_PATTERN) {
      kinds.set(name, (kinds.get(name) ?? new Set()).add('string'));
      if (!(FIELD_ELEMENT_FIELDS as readonly string[]).includes(name))
        problems.push(`${where}: ${name} is a field element string but not a field element`);
    } else if (schema.type === 'string' && decimalPatterns.has(schema.pattern as string)) {
      kinds.set(name, (kinds.get(name) ?? new Set()).add('string'));
      if (!money.has(name)) problems.push(`${where}: ${name} is a decimal string but not a money field`);
      else if (!signed && siblings !== undefined) {
        const beside = siblings[`${name}Decimal`] as Schema | undefined;
        if (beside === undefined || unwrap(beside).pattern !== UNIT_DECIMAL_PATTERN)
          problems.push(`${where}: ${name} has no ${name}Decimal beside it`);
      }
    }
    walk(where, schema, signed);
  };
  const walk = (where: string, schema: Schema, signed: boolean) => {
    const inSigned = signed || typeof schema.title === 'string';
    const properties = schema.properties as Record<string, Schema> | undefined;
    if (properties !== undefined)
      for (const [name, sub] of Object.entries(properties)) field(where, name, sub, properties, inSigned);
    if (schema.items !== undefined) walk(where, schema.items as Schema, inSigned);
    for (const key of ['anyOf', 'oneOf', 'allOf'])
      for (const sub of (schema[key] as Schema[] | undefined) ?? []) walk(where, sub, inSigned);
  };
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const parameter of (operation.parameters as Schema[] | undefined) ?? [])
        field(
          `${path} ${method} parameter`,
          parameter.name as string,
          parameter.schema as Schema,
          undefined,
          false,
        );
      const bodies = Object.values(
        ((operation.requestBody as Schema | undefined)?.content as Record<string, Schema> | undefined) ?? {},
      );
      for (const body of bodies) walk(`${path} ${method} body`, body.schema as Schema, false);
      for (const [status, response] of Object.entries((operation.responses as Record<string, Schema>) ?? {}))
        for (const content of Object.values((response.content as Record<string, Schema> | undefined) ?? {}))
          walk(`${path} ${method} ${status}`, content.schema as Schema, false);
    }
  }
  for (const [name, seen] of kinds) if (seen.size > 1) problems.push(`${name} is both a number and a string`);
  return problems;
}
