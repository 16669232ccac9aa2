import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ExecutionAction } from '../../codec/execution.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { actionTransaction, limitOrder } from '../../execution/fixtures.ts';
import { createFixtureNode, type FixtureNode } from '../api/fixture-node.ts';
import { createApiServer } from '../api/server.ts';
import {
  createDashboardServer,
  type DashboardSnapshot,
  histogramTotals,
  type RunningDashboard,
} from './server.ts';

/**
 * Records what the real API answers for a node that has traded, so the stubs below serve the
 * API's true shapes (recorded at test start, so they can never go stale).
 */
async function recordApi(drive: (node: FixtureNode) => void = trade): Promise<Map<string, string>> {
  const node = createFixtureNode({ traders: 4 });
  const app = createApiServer({ view: node.view });
  await app.ready();
  drive(node);
  const recorded = new Map<string, string>();
  const markets = (await app.inject('/v1/markets')).json().markets as Array<{ seriesId: number }>;
  const paths = [
    '/v1/status',
    '/v1/oracle/prices',
    '/v1/markets',
    '/v1/fills?limit=30',
    ...markets.map((market) => `/v1/markets/${market.seriesId}/book?depth=8`),
  ];
  for (const path of paths) {
    const response = await app.inject(path);
    assert.equal(response.statusCode, 200, path);
    recorded.set(path, response.body);
  }
  await app.close();
  return recorded;
}

function submit(node: FixtureNode, signer: Ed25519Signer, nonce: number, action: ExecutionAction) {
  node.view.submitTransaction(SignedTransactionCodec.encode(actionTransaction(signer, nonce, action)));
}

/** Two resting offers and two crossing bids in series 1, one block each. */
function trade(node: FixtureNode): void {
  const [maker, taker] = node.traders;
  // Series 1 (the 7-day 50,000 call) is marked near 10,030 USDC: orders stay inside its price band.
  for (const [signer, nonce, side, price] of [
    [maker!, 0, 'sell', 10_000],
    [maker!, 1, 'sell', 10_100],
    [taker!, 0, 'buy', 10_000],
    [taker!, 1, 'buy', 9_900],
  ] as const) {
    const bytes = SignedTransactionCodec.encode(
      actionTransaction(signer, nonce, limitOrder(1, side, price, 1)),
    );
    node.view.submitTransaction(bytes);
    node.finalizeBlock();
  }
}

/**
 * Two accounts short 10 lots of series 1 each to a third, then withdraw down to near their
 * initial margin; the index climbs 500 USDC a block to 63,000, where both fall below maintenance.
 * The first is closed in the book against a fourth trader's offer (a liquidation step and its
 * trade); for the second the book is empty and the insurance fund holds nothing, so it is
 * auto-deleveraged against the long.
 */
function liquidate(node: FixtureNode): void {
  const [first, long, offerer, second] = node.traders as [
    Ed25519Signer,
    Ed25519Signer,
    Ed25519Signer,
    Ed25519Signer,
  ];
  node.finalizeBlock();
  submit(node, first, 0, limitOrder(1, 'sell', 10_000, 1));
  submit(node, second, 0, limitOrder(1, 'sell', 10_000, 1));
  submit(node, long, 0, limitOrder(1, 'buy', 10_000, 2));
  node.finalizeBlock();
  submit(node, first, 1, {
    kind: 'withdraw',
    value: { amount: 980_000 * 1_000_000, recipient: new Uint8Array(20), token: new Uint8Array(20) },
  });
  submit(node, second, 1, {
    kind: 'withdraw',
    value: { amount: 980_000 * 1_000_000, recipient: new Uint8Array(20), token: new Uint8Array(20) },
  });
  node.finalizeBlock();
  for (let priceUsdc = 60_000; priceUsdc <= 63_000; priceUsdc += 500) {
    if (priceUsdc === 61_000) submit(node, offerer, 0, limitOrder(1, 'sell', 11_000, 1));
    node.finalizeBlock({ priceUsdc });
  }
}

/** A validator API stub: recorded JSON, and a finality histogram that grows 25 ms per block. */
function startStub(recorded: Map<string, string>): Promise<Server> {
  let blocks = 0;
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path === '/metrics') {
      blocks += 1;
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(
        [
          '# TYPE palisade_finality_latency_seconds histogram',
          `palisade_finality_latency_seconds_sum ${(blocks * 0.025).toFixed(3)}`,
          `palisade_finality_latency_seconds_count ${blocks}`,
          '',
        ].join('\n'),
      );
      return;
    }
    const body = recorded.get(path);
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    response.end(body ?? '{"error":{"code":"NOT_FOUND","message":"no stub"}}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('dashboard aggregation server', () => {
  let stubs: Server[];
  let downUrl: string;
  let dashboard: RunningDashboard;

  before(async () => {
    const recorded = await recordApi();
    stubs = await Promise.all([startStub(recorded), startStub(recorded)]);
    // A port that was listening and is now closed: a validator that is down.
    const gone = await startStub(recorded);
    downUrl = urlOf(gone);
    await new Promise((resolve) => gone.close(resolve));
    dashboard = await createDashboardServer({
      validators: [
        { index: 0, apiUrl: urlOf(stubs[0]!) },
        { index: 1, apiUrl: urlOf(stubs[1]!) },
        { index: 2, apiUrl: downUrl },
      ],
      pollMs: 50,
      maxClients: 1,
    });
  });
  after(async () => {
    await dashboard.close();
    await Promise.all(stubs.map((stub) => new Promise((resolve) => stub.close(resolve))));
  });

  test('a snapshot folds every validator, the down one included, with prices, books and fills', async () => {
    // A latency needs two polls of each validator's histogram; on a loaded machine the first polls
    // may take longer than the poll interval, so wait for the second one (bounded) instead of a sleep.
    let snapshot: DashboardSnapshot | undefined;
    for (let attempt = 0; attempt < 200; attempt++) {
      snapshot = (await (await fetch(`${dashboard.url}/api/snapshot`)).json()) as DashboardSnapshot;
      if (snapshot.history.length >= 2 && snapshot.validators[0]?.finalityLatencyMs != null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(snapshot !== undefined);
    assert.equal(snapshot.chainId, 7);
    assert.equal(snapshot.height, 4);
    assert.deepEqual(
      snapshot.validators.map((validator) => validator.up),
      [true, true, false],
    );
    assert.equal(snapshot.validators[2]!.height, null);
    assert.ok(snapshot.validators[2]!.error);
    assert.equal(snapshot.validators[0]!.peersConnected, 3);
    assert.ok(Math.abs((snapshot.validators[0]!.finalityLatencyMs ?? 0) - 25) < 1e-6);
    assert.ok(snapshot.history.length >= 2);
    assert.equal(snapshot.history.at(-1)!.validatorsUp, 2);
    assert.ok(Math.abs((snapshot.history.at(-1)!.finalityLatencyMs ?? 0) - 25) < 1e-6);
    assert.equal(snapshot.prices[0]!.symbol, 'BTC');
    assert.ok(BigInt(snapshot.prices[0]!.confidence) > 0n);
    // The traded series has open interest, so it is the first book shown; its resting orders show.
    assert.equal(snapshot.books.length, 4);
    assert.equal(snapshot.books[0]!.market.seriesId, 1);
    assert.deepEqual(
      snapshot.books[0]!.book.asks.map((level) => level.priceTicks),
      [2020],
    );
    assert.deepEqual(
      snapshot.books[0]!.book.bids.map((level) => level.priceTicks),
      [1980],
    );
    assert.equal(snapshot.fills.length, 1);
    assert.deepEqual(
      snapshot.fills.map((fill) => [fill.kind, fill.kind === 'trade' ? fill.priceTicks : undefined]),
      [['trade', 2000]],
    );
  });

  test('the page and its module are served; the event stream pushes snapshots and is bounded', async () => {
    const page = await fetch(`${dashboard.url}/`);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    for (const id of ['height', 'validators', 'prices', 'books', 'fills', 'chart-height', 'chart-latency']) {
      assert.ok(html.includes(`data-testid="${id}"`), id);
    }
    const script = await fetch(`${dashboard.url}/app.js`);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await script.text(), /new EventSource\('\/api\/events'\)/);
    assert.equal((await fetch(`${dashboard.url}/nope`)).status, 404);
    assert.equal((await fetch(`${dashboard.url}/api/snapshot`, { method: 'POST' })).status, 405);

    const controller = new AbortController();
    const events = await fetch(`${dashboard.url}/api/events`, { signal: controller.signal });
    assert.equal(events.headers.get('content-type'), 'text/event-stream');
    const refused = await fetch(`${dashboard.url}/api/events`);
    assert.equal(refused.status, 503);
    await refused.body?.cancel();

    const reader = events.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while ((text.match(/^data: /gm) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const frames = text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as DashboardSnapshot);
    assert.ok(frames.length >= 2);
    assert.ok(frames[1]!.timeMs >= frames[0]!.timeMs);
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });

  test('histogram totals are read from Prometheus text', () => {
    const text =
      'x_sum 1\npalisade_finality_latency_seconds_sum 0.5\npalisade_finality_latency_seconds_count 20\n';
    assert.deepEqual(histogramTotals(text, 'palisade_finality_latency_seconds'), { sum: 0.5, count: 20 });
    assert.equal(histogramTotals('', 'palisade_finality_latency_seconds'), undefined);
  });
});

describe('dashboard: every step of a liquidation shows', () => {
  test('book steps with their trades, and auto-deleveraging trades, reach the snapshot with their kind and side', async () => {
    const recorded = await recordApi(liquidate);
    const stub = await startStub(recorded);
    const dashboard = await createDashboardServer({
      validators: [{ index: 0, apiUrl: urlOf(stub) }],
      pollMs: 50,
    });
    try {
      let snapshot: DashboardSnapshot | undefined;
      for (let attempt = 0; attempt < 200 && (snapshot?.fills.length ?? 0) === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        snapshot = (await (await fetch(`${dashboard.url}/api/snapshot`)).json()) as DashboardSnapshot;
      }
      assert.ok(snapshot !== undefined);
      // Newest first: the block at 63,000 holds the deleveraging, the step and the trade it made.
      const latest = snapshot.fills.filter((fill) => fill.height === snapshot.fills[0]!.height);
      assert.deepEqual(
        latest.map((fill) => fill.kind),
        ['deleverage', 'liquidation', 'trade'],
      );
      const [deleverage, step, trade] = latest;
      assert.ok(deleverage?.kind === 'deleverage' && step?.kind === 'liquidation' && trade?.kind === 'trade');
      assert.equal(trade.liquidation, true);
      assert.equal(trade.taker, step.account);
      assert.equal(step.side, 'buy');
      assert.equal(step.lots, 10);
      assert.ok(BigInt(step.penalty) > 0n);
      assert.ok(BigInt(step.equityBefore) < BigInt(step.maintenanceBefore));
      assert.equal(deleverage.side, 'buy');
      assert.equal(deleverage.lots, 10);
      assert.notEqual(deleverage.account, step.account);
      assert.ok(BigInt(deleverage.cash) < 0n, 'the short pays to be closed');
      assert.equal(deleverage.cashDecimal, unitsOf(deleverage.cash));
      // The trades before the liquidation are ordinary ones.
      assert.ok(snapshot.fills.some((fill) => fill.kind === 'trade' && !fill.liquidation));
    } finally {
      await dashboard.close();
      await new Promise((resolve) => stub.close(resolve));
    }
  });
});

/** Quote base units (6 decimals) in whole units, by string arithmetic. */
function unitsOf(value: string): string {
  const negative = value.startsWith('-');
  const digits = (negative ? value.slice(1) : value).padStart(7, '0');
  const fraction = digits.slice(-6).replace(/0+$/, '');
  return `${negative ? '-' : ''}${digits.slice(0, -6)}${fraction === '' ? '' : `.${fraction}`}`;
}
