import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encodeAction } from '../codec/execution.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { toHex } from '../crypto/bytes.ts';
import { signTransaction } from '../crypto/transaction.ts';
import { testSigner } from '../execution/fixtures.ts';
import { createFixtureNode, type FixtureNode } from './api/fixture-node.ts';
import { type RunningApiServer, startApiServer } from './api/server.ts';
import {
  CLIENT_ERRORS,
  ClientError,
  type ClientErrorCode,
  createClient,
  type PalisadeClient,
  type StreamEvent,
  type Trader,
  validatorSetOf,
  verifyAccountProof,
  verifyFinality,
  verifyPriceCertificate,
} from './client.ts';

describe('client against the API server on 127.0.0.1', () => {
  let node: FixtureNode;
  let api: RunningApiServer;
  let client: PalisadeClient;

  before(async () => {
    node = createFixtureNode({ traders: 4 });
    api = await startApiServer({ view: node.view });
    client = createClient({ url: api.url });
    node.finalizeBlock();
  });
  after(() => api.close());

  test('traders sign orders with their own nonces; orders rest, cross and show up in books, fills and accounts', async () => {
    const markets = await client.markets();
    const market = markets[0]!;
    const maker = client.trader(node.traders[0]!);
    const taker = client.trader(node.traders[1]!);
    // Two orders submitted back to back: the client numbers them 0 and 1 without a round trip. The
    // first market is the 7-day 50,000 call, marked near 10,030 USDC (2,006 ticks of 5 USDC).
    const [first, second] = await Promise.all([
      maker.placeOrder({ seriesId: market.seriesId, side: 'sell', priceTicks: 2000, lots: 1 }, market),
      maker.placeOrder({ seriesId: market.seriesId, side: 'sell', priceTicks: 2010, lots: 1 }, market),
    ]);
    assert.notEqual(first.id, second.id);
    node.finalizeBlock();
    assert.equal((await client.waitForTransaction(first.id)).status, 'OK');
    assert.equal((await client.waitForTransaction(second.id)).nonce, 1);
    const book = await client.book(market.seriesId, 5);
    assert.deepEqual(
      book.asks.map((level) => level.priceTicks),
      [2000, 2010],
    );

    const buy = await taker.placeOrder(
      { seriesId: market.seriesId, side: 'buy', priceTicks: 2000, lots: 1 },
      market,
    );
    const finalizing = setInterval(() => node.finalizeBlock(), 20);
    try {
      const outcome = await client.waitForTransaction(buy.id, { intervalMs: 10 });
      assert.equal(outcome.status, 'OK');
      assert.equal(outcome.filledLots, 1);
    } finally {
      clearInterval(finalizing);
    }
    const fills = await client.fills({ seriesId: market.seriesId });
    assert.deepEqual(
      fills.map((fill) => [fill.kind, fill.kind === 'trade' ? fill.priceTicks : undefined]),
      [['trade', 2000]],
    );
    const read = await client.account(node.traders[1]!.publicKey, { proof: true });
    assert.deepEqual(read.account?.positions, [{ seriesId: market.seriesId, lots: 1 }]);
    assert.ok(verifyAccountProof(node.traders[1]!.publicKey, read));
    // A node that lies about the account is caught by the proof.
    const lie = structuredClone(read);
    lie.account!.balance = `${BigInt(lie.account!.balance) + 1n}`;
    assert.ok(!verifyAccountProof(node.traders[1]!.publicKey, lie));
    assert.ok(!verifyAccountProof(node.traders[1]!.publicKey, read, `0x${'00'.repeat(32)}`));

    const cancel = await maker.cancelAll(market.seriesId);
    node.finalizeBlock();
    assert.equal((await client.waitForTransaction(cancel.id)).status, 'OK');
    assert.equal((await client.book(market.seriesId)).asks.length, 0);
  });

  test('a refused transaction surfaces as a ClientError with the API code, and the trader resyncs its nonce', async () => {
    const other = createClient({ url: api.url }).trader(node.traders[2]!);
    const mine = client.trader(node.traders[2]!);
    await other.withdraw(1);
    node.finalizeBlock();
    // `mine` still believes the nonce is 0; the node says NONCE_TOO_LOW and the trader re-reads it.
    const { id } = await mine.withdraw(1);
    node.finalizeBlock();
    assert.equal((await client.waitForTransaction(id)).nonce, 1);

    await assert.rejects(client.submitTransaction(new Uint8Array([1, 2, 3])), (error: unknown) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.code, 'MALFORMED');
      assert.equal(error.status, 400);
      return true;
    });
    await assert.rejects(client.block(10_000), { code: 'BLOCK_NOT_FOUND', status: 404 });
    await assert.rejects(client.account(testSigner('nobody').publicKey), { code: 'ACCOUNT_NOT_FOUND' });
    await assert.rejects(createClient({ url: 'http://127.0.0.1:1' }).status(), {
      code: 'NETWORK',
      status: 0,
    });
  });

  test('a batch submission answers every transaction in order, binary and JSON, over one kept-alive connection', async () => {
    const connections = { count: 0 };
    const onConnection = () => {
      connections.count += 1;
    };
    api.app.server.on('connection', onConnection);
    try {
      const { chainId } = await client.status();
      const signer = node.traders[3]!;
      const start = (await client.account(signer.publicKey)).account?.nonce ?? 0;
      const signed = (nonce: number) =>
        signTransaction(signer, {
          chainId,
          nonce,
          expiryHeight: 1_000_000,
          payload: encodeAction({ kind: 'cancelAll', value: { seriesId: 0 } }),
        });
      const first = signed(start);
      const answers = await client.submitTransactions([
        first,
        signed(start + 1),
        first,
        new Uint8Array([1, 2]),
      ]);
      assert.deepEqual(
        answers.map((answer) => (answer.status === 'accepted' ? 'accepted' : answer.code)),
        ['accepted', 'accepted', 'DUPLICATE', 'MALFORMED'],
      );
      // The same route takes JSON hex.
      const json = await fetch(`${api.url}/v1/transactions/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          transactions: [`0x${toHex(SignedTransactionCodec.encode(signed(start + 2)))}`],
        }),
      });
      assert.equal(json.status, 200);
      assert.equal(((await json.json()) as { results: { status: string }[] }).results[0]?.status, 'accepted');
      node.finalizeBlock();
      const id = answers[1]!.status === 'accepted' ? answers[1]!.id : '0x';
      assert.equal((await client.waitForTransaction(id)).status, 'OK');
      // A body that is not whole frames is refused as a whole and admits nothing.
      const cut = await fetch(`${api.url}/v1/transactions/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array([0, 0, 0, 9, 1, 2]),
      });
      assert.equal(cut.status, 400);
      // Every request of the client above (status, account, batch, wait) rode one connection.
      assert.equal(connections.count <= 2, true, `${connections.count} connections`);
    } finally {
      api.app.server.off('connection', onConnection);
    }
  });

  test('finality and price certificates verify against the validator set and the keyset, and forgeries do not', async () => {
    const status = await client.status();
    const validators = validatorSetOf(status.validators.map((validator) => validator.publicKey));
    const block = await client.block(status.height);
    assert.ok(verifyFinality(block, validators, status.chainId));
    assert.ok(!verifyFinality(block, validators, status.chainId + 1));
    const other = await client.block(status.height - 1);
    assert.ok(!verifyFinality({ ...block, finalization: other.finalization }, validators, status.chainId));
    assert.ok(!verifyFinality({ ...block, encoded: other.encoded }, validators, status.chainId));

    const { keyset, certificates } = await client.certificates();
    assert.ok(keyset !== null);
    const entry = certificates[0]!;
    assert.ok(verifyPriceCertificate(entry, keyset));
    assert.ok(!verifyPriceCertificate(entry, { ...keyset, epoch: keyset.epoch + 1 }));
    const inflated = {
      certificate: { ...entry.certificate, price: `${BigInt(entry.certificate.price) + 1n}` },
    };
    assert.ok(!verifyPriceCertificate(inflated, keyset));
    const prices = await client.prices();
    assert.equal(prices[0]!.price, entry.certificate.price);
  });

  test('an order without its market reads the series from the node, so its tick size is never taken as 1', async () => {
    const trader = client.trader(node.traders[3]!);
    // 2,001 ticks of series 1 (tick 5 USDC) is 10,005 USDC, inside the band around the ~10,030 mark;
    // with a tick size of 1 it would be 0.002001 USDC and PRICE_OFF_TICK.
    const { id } = await trader.placeOrder({ seriesId: 1, side: 'buy', priceTicks: 2001, lots: 1 });
    node.finalizeBlock();
    const outcome = await client.waitForTransaction(id);
    assert.equal(outcome.status, 'OK');
    assert.equal(outcome.restingLots, 1);
    const book = await client.book(1, 50);
    assert.ok(book.bids.some((level) => level.priceTicks === 2001));
    await assert.rejects(trader.placeOrder({ seriesId: 4242, side: 'buy', priceTicks: 1, lots: 1 }), {
      code: 'SERIES_NOT_FOUND',
    });
    const wrongMarket = (await client.markets())[1]!;
    await assert.rejects(
      trader.placeOrder({ seriesId: 1, side: 'buy', priceTicks: 2001, lots: 1 }, wrongMarket),
      { code: 'INVALID_ORDER' },
    );
  });

  test('orders the engine would refuse are refused before signing, and cost no nonce', async () => {
    const trader = client.trader(node.traders[3]!);
    const market = (await client.markets())[0]!;
    const nonceBefore = (await client.account(node.traders[3]!.publicKey)).account?.nonce;
    const pendingBefore = node.mempool.stats();
    // What a JavaScript caller (no compiler) can still send: each is the engine's INVALID_ORDER.
    const refused: unknown[] = [
      { seriesId: 1, side: 'buy', lots: 1, kind: 'market', timeInForce: 'gtc' },
      { seriesId: 1, side: 'buy', lots: 1, kind: 'market', postOnly: true },
      { seriesId: 1, side: 'buy', lots: 1, kind: 'market', priceTicks: 2000 },
      { seriesId: 1, side: 'buy', lots: 1, priceTicks: 2000, postOnly: true, timeInForce: 'ioc' },
      { seriesId: 1, side: 'buy', lots: 0, priceTicks: 2000 },
      { seriesId: 1, side: 'buy', lots: 1, priceTicks: 20.5 },
      { seriesId: 1, side: 'up', lots: 1, priceTicks: 2000 },
    ];
    for (const order of refused) {
      await assert.rejects(trader.placeOrder(order as never, market), (error: unknown) => {
        assert.ok(error instanceof ClientError, String(error));
        assert.equal(error.code, 'INVALID_ORDER', JSON.stringify(order));
        return true;
      });
    }
    assert.deepEqual(node.mempool.stats(), pendingBefore);
    node.finalizeBlock();
    assert.equal((await client.account(node.traders[3]!.publicKey)).account?.nonce, nonceBefore);
  });

  test('an error code outside the documented ones is a BAD_RESPONSE, not a code nobody handles', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'SOMETHING_NEW', message: 'a newer node' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await assert.rejects(createClient({ url: `http://127.0.0.1:${port}` }).status(), (error: unknown) => {
        assert.ok(error instanceof ClientError);
        assert.equal(error.code, 'BAD_RESPONSE');
        assert.match(error.message, /SOMETHING_NEW/);
        return true;
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.deepEqual(Object.keys(CLIENT_ERRORS).sort(), [
      'BAD_RESPONSE',
      'INVALID_ADDRESS',
      'INVALID_ORDER',
      'NETWORK',
      'TIMEOUT',
    ]);
  });

  test('the stream delivers finalized blocks and prices as they happen', async () => {
    const events: StreamEvent[] = [];
    const subscription = client.stream(['blocks', 'prices'], (event) => events.push(event));
    await subscription.ready;
    const detail = node.finalizeBlock();
    const deadline = Date.now() + 5000;
    while (events.length < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    subscription.close();
    const block = events.find((event) => event.topic === 'blocks');
    assert.ok(block !== undefined && block.topic === 'blocks');
    assert.equal(block.block.hash, detail.hash);
    const prices = events.find((event) => event.topic === 'prices' && event.height === detail.height);
    assert.ok(prices?.topic === 'prices');
    // The stream's prices carry their whole-unit decimals, as /v1/oracle/prices does.
    const streamed = prices.prices[0]!;
    assert.equal(
      streamed.priceDecimal,
      (Number(streamed.price) * 10 ** streamed.exponent).toFixed(-streamed.exponent).replace(/\.?0+$/, ''),
    );
    const blocks = await client.blocks({ from: detail.height - 1, limit: 2 });
    assert.deepEqual(
      blocks.map((summary) => summary.height),
      [detail.height - 1, detail.height],
    );
  });
});

/**
 * Type-level tests: `npm run typecheck` compiles this function (it never runs). Each
 * `@ts-expect-error` line is a combination the engine refuses, and the compiler must refuse it too:
 * were the type to accept one, the directive would be unused and the typecheck would fail.
 */
export function orderParameterTypes(trader: Trader, market: Parameters<Trader['placeOrder']>[1]): void {
  void trader.placeOrder({ seriesId: 1, side: 'buy', priceTicks: 2000, lots: 1 });
  void trader.placeOrder({ seriesId: 1, side: 'buy', priceTicks: 2000, lots: 1, timeInForce: 'ioc' }, market);
  void trader.placeOrder({ seriesId: 1, side: 'buy', priceTicks: 2000, lots: 1, postOnly: true });
  void trader.placeOrder({ seriesId: 1, side: 'sell', lots: 1, kind: 'market', timeInForce: 'fok' });
  // @ts-expect-error a market order never rests, so it cannot be GTC
  void trader.placeOrder({ seriesId: 1, side: 'buy', lots: 1, kind: 'market', timeInForce: 'gtc' });
  // @ts-expect-error a market order takes, so it cannot be post-only
  void trader.placeOrder({ seriesId: 1, side: 'buy', lots: 1, kind: 'market', postOnly: true });
  // @ts-expect-error a market order has no price
  void trader.placeOrder({ seriesId: 1, side: 'buy', lots: 1, kind: 'market', priceTicks: 2000 });
  // @ts-expect-error a post-only order rests, so it cannot be IOC
  void trader.placeOrder({
    seriesId: 1,
    side: 'buy',
    priceTicks: 2000,
    lots: 1,
    postOnly: true,
    timeInForce: 'ioc',
  });
  // @ts-expect-error a limit order needs its price
  void trader.placeOrder({ seriesId: 1, side: 'buy', lots: 1 });
  const withoutSeries = { tickSize: 5, lotSizeE6: 1 };
  const limit = { seriesId: 1, side: 'buy', priceTicks: 2000, lots: 1 } as const;
  // @ts-expect-error the market given must carry the series id it is checked against
  void trader.placeOrder(limit, withoutSeries);

  const documented: ClientErrorCode[] = ['NETWORK', 'ACCOUNT_NOT_FOUND', 'NONCE_GAP', 'INVALID_ORDER'];
  void documented;
  // @ts-expect-error a code neither the API nor the client documents
  const undocumented: ClientErrorCode = 'SOMETHING_NEW';
  void undocumented;
}
