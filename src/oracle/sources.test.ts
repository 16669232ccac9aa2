import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { exp as expFixed, ONE as FIXED_ONE, isqrt as sqrtBigint } from '../std/fixed.ts';
import { createPrng } from '../std/prng.ts';
import {
  createCoinbaseSource,
  createDeribitIndexSource,
  createKrakenSource,
  type FetchLike,
} from './http-sources.ts';
import { createSimulatedMarket } from './market.ts';
import { observeAsset } from './observation.ts';
import { createReplaySources, parseTicksCsv, parseTicksJsonl, ReplayError } from './replay.ts';
import { type AssetSpec, decimalToTicks, type PriceSource, stuckSource, ticksToDecimal } from './source.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/oracle/${name}`, import.meta.url), 'utf8');
const BTC: AssetSpec = { assetId: 1, symbol: 'BTC-USD', decimals: 2 };
const ETH: AssetSpec = { assetId: 2, symbol: 'ETH-USD', decimals: 2 };
const NOW = 1_717_243_200_500;

function recorded(routes: Record<string, { status: number; file: string }>): {
  fetch: FetchLike;
  urls: string[];
} {
  const urls: string[] = [];
  return {
    urls,
    fetch: async (url) => {
      urls.push(url);
      const route = routes[url];
      if (route === undefined) throw new Error('connection refused');
      const body = fixture(route.file);
      return { ok: route.status < 300, status: route.status, text: async () => body };
    },
  };
}

test('decimal prices parse exactly into ticks, and garbage is refused', () => {
  assert.equal(decimalToTicks('64123.456', 2), 6_412_345n);
  assert.equal(decimalToTicks('7', 3), 7_000n);
  assert.equal(ticksToDecimal(6_412_345n, 2), '64123.45');
  for (const bad of ['', '-1', '1e5', '1.2.3', ' 1', 'NaN', '0x10', '9'.repeat(41)])
    assert.equal(decimalToTicks(bad, 2), undefined);
});

test('Coinbase, Kraken and Deribit adapters read their recorded responses', async () => {
  const { fetch, urls } = recorded({
    'https://api.exchange.coinbase.com/products/BTC-USD/ticker': {
      status: 200,
      file: 'coinbase-ticker-btc-usd.json',
    },
    'https://api.kraken.com/0/public/Ticker?pair=XBTUSD': { status: 200, file: 'kraken-ticker-xbtusd.json' },
    'https://www.deribit.com/api/v2/public/get_index_price?index_name=btc_usd': {
      status: 200,
      file: 'deribit-index-btc_usd.json',
    },
  });
  const request = { assets: [BTC], nowMs: NOW };
  const coinbase = await createCoinbaseSource({ fetch, instruments: new Map([[1, 'BTC-USD']]) }).quotes(
    request,
  );
  const kraken = await createKrakenSource({ fetch, instruments: new Map([[1, 'XBTUSD']]) }).quotes(request);
  const deribit = await createDeribitIndexSource({ fetch, instruments: new Map([[1, 'btc_usd']]) }).quotes(
    request,
  );
  assert.deepEqual(coinbase, [
    {
      sourceId: 'coinbase',
      assetId: 1,
      priceTicks: 6_412_345n,
      timestampMs: Date.parse('2024-06-01T12:00:00.123Z'),
    },
  ]);
  assert.deepEqual(kraken, [{ sourceId: 'kraken', assetId: 1, priceTicks: 6_412_510n, timestampMs: NOW }]);
  assert.deepEqual(deribit, [
    { sourceId: 'deribit-index', assetId: 1, priceTicks: 6_411_987n, timestampMs: 1_717_243_200_118 },
  ]);
  assert.equal(urls.length, 3);
});

test('error responses, failures and unknown instruments give no quote, never a throw', async () => {
  const errors: string[] = [];
  const { fetch } = recorded({
    'https://api.exchange.coinbase.com/products/BTC-USD/ticker': {
      status: 404,
      file: 'coinbase-not-found.json',
    },
    'https://api.exchange.coinbase.com/products/ETH-USD/ticker': {
      status: 200,
      file: 'coinbase-not-found.json',
    },
    'https://api.kraken.com/0/public/Ticker?pair=XBTUSD': { status: 200, file: 'kraken-unknown-pair.json' },
    'https://www.deribit.com/api/v2/public/get_index_price?index_name=btc_usd': {
      status: 200,
      file: 'deribit-error.json',
    },
    'https://www.deribit.com/api/v2/public/get_index_price?index_name=eth_usd': {
      status: 200,
      file: 'ticks.csv',
    },
  });
  const onError = (_asset: number, reason: string) => errors.push(reason);
  const request = { assets: [BTC, ETH], nowMs: NOW };
  assert.deepEqual(
    await createCoinbaseSource({
      fetch,
      onError,
      instruments: new Map([
        [1, 'BTC-USD'],
        [2, 'ETH-USD'],
      ]),
    }).quotes(request),
    [],
  );
  assert.deepEqual(
    await createKrakenSource({
      fetch,
      onError,
      instruments: new Map([
        [1, 'XBTUSD'],
        [2, 'ETHUSD'],
      ]),
    }).quotes(request),
    [],
  );
  assert.deepEqual(
    await createDeribitIndexSource({
      fetch,
      onError,
      instruments: new Map([
        [1, 'btc_usd'],
        [2, 'eth_usd'],
      ]),
    }).quotes(request),
    [],
  );
  // Requests for different assets run in parallel, so the order of the reports is not fixed.
  assert.deepEqual(errors.sort(), [
    'HTTP 404',
    'coinbase: NotFound',
    'deribit: Invalid params',
    'kraken: EQuery:Unknown asset pair',
    'malformed response',
    'request failed: connection refused',
  ]);
  assert.throws(() => createKrakenSource({ fetch, instruments: new Map([[1, 'XBT/USD&x=1']]) }), TypeError);
});

test('replayed ticks from CSV and JSONL answer with the latest tick at or before now', async () => {
  const ticks = parseTicksCsv(fixture('ticks.csv'));
  assert.equal(ticks.length, 10);
  assert.deepEqual(
    parseTicksJsonl(fixture('ticks.jsonl')),
    ticks.filter((t) => t.symbol === 'BTC-USD' && t.source !== 'venue-c').slice(0, 3),
  );
  const sources = createReplaySources(ticks, [BTC, ETH]);
  assert.deepEqual(
    sources.map((s) => s.id),
    ['venue-a', 'venue-b', 'venue-c'],
  );
  const at = async (nowMs: number) =>
    (await Promise.all(sources.map((s) => s.quotes({ assets: [BTC, ETH], nowMs })))).flat();
  assert.deepEqual(await at(1_717_243_199_999), []);
  const second = await at(1_717_243_201_500);
  assert.deepEqual(
    second.filter((q) => q.assetId === 1).map((q) => q.priceTicks),
    [6_412_200n, 6_411_950n, 153_891_000n],
  );
  // The 24x print is an outlier for the observation, which stays at the honest venues' median.
  const report = observeAsset(1, second, 1_717_243_201_500);
  assert.equal(report.entry?.priceTicks, 6_411_950n);
  assert.deepEqual(report.dropped, [{ sourceId: 'venue-c', reason: 'OUTLIER' }]);
});

test('malformed replay files are refused with the line that is wrong', () => {
  assert.throws(
    () => parseTicksCsv('time,source\n'),
    (e: unknown) => e instanceof ReplayError && e.line === 1,
  );
  assert.throws(
    () => parseTicksCsv('timestamp_ms,source,symbol,price\n1,a,BTC-USD,1\n2,a,BTC-USD,-3\n'),
    (e: unknown) => e instanceof ReplayError && e.line === 3,
  );
  assert.throws(
    () => parseTicksJsonl('{"timestampMs":1,"source":"a","symbol":"B","price":1}\n'),
    (e: unknown) => e instanceof ReplayError && e.line === 1,
  );
  assert.throws(() => parseTicksJsonl('{}\nnot json'), ReplayError);
});

test('observations drop stale, future-timestamped and duplicate quotes', () => {
  const quote = (sourceId: string, priceTicks: bigint, timestampMs: number) => ({
    sourceId,
    assetId: 1,
    priceTicks,
    timestampMs,
  });
  const report = observeAsset(
    1,
    [
      quote('a', 100n, NOW - 100),
      quote('b', 101n, NOW - 60_000),
      quote('c', 99n, NOW + 5_000),
      quote('a', 50n, NOW),
      quote('d', 102n, NOW - 10),
    ],
    NOW,
  );
  assert.deepEqual(
    report.dropped.map((d) => `${d.sourceId}:${d.reason}`),
    ['a:DUPLICATE_SOURCE', 'b:STALE', 'c:FUTURE'],
  );
  assert.equal(report.entry?.priceTicks, 100n);
  assert.equal(report.entry?.sourceCount, 2);
  assert.equal(observeAsset(1, [quote('b', 101n, NOW - 60_000)], NOW).entry, undefined);
});

test('fixed-point exp and sqrt are accurate, and the simulated market is deterministic', () => {
  assert.equal(expFixed(0n), FIXED_ONE);
  const e = expFixed(FIXED_ONE);
  assert.ok(e > 2_718_281_828_459_045_000n && e < 2_718_281_828_459_046_000n, `${e}`);
  const inverse = expFixed(-3n * FIXED_ONE);
  assert.ok(inverse > 49_787_068_367_863_900n && inverse < 49_787_068_367_864_000n, `${inverse}`);
  assert.equal(sqrtBigint(10n ** 36n), 10n ** 18n);
  assert.equal(sqrtBigint(15n), 3n);
  const a = createPrng(9);
  const b = createPrng(9);
  assert.deepEqual([a.nextU32(), a.nextU32()], [b.nextU32(), b.nextU32()]);

  const spec = {
    seed: 3,
    startMs: 0,
    stepMs: 1_000,
    assets: [
      {
        ...BTC,
        initialPriceTicks: 6_500_000n,
        annualVolatilityBps: 8_000,
        jumpPpmPerStep: 1_000,
        jumpBps: 200,
      },
    ],
    venues: [{ id: 'v', noiseBps: 5, latencyMs: 2_000, outagePpmPerStep: 0, outageMs: 0 }],
  };
  const one = createSimulatedMarket(spec);
  const two = createSimulatedMarket(spec);
  one.advanceTo(3_600_000);
  two.advanceTo(3_600_000);
  assert.equal(one.truePrice(1), two.truePrice(1));
  assert.notEqual(one.truePrice(1), 6_500_000n);
  assert.equal(one.venueQuote('v', 1)?.timestampMs, 3_600_000 - 2_000);
});

test('a stuck source repeats its first price per asset, stamped with the caller’s clock', async () => {
  let price = 100n;
  const live: PriceSource = {
    id: 'venue-x',
    quotes: async (request) => [
      { sourceId: 'venue-x', assetId: BTC.assetId, priceTicks: price, timestampMs: request.nowMs - 10 },
      ...(price > 100n
        ? [{ sourceId: 'venue-x', assetId: ETH.assetId, priceTicks: price * 2n, timestampMs: request.nowMs }]
        : []),
    ],
  };
  const frozen = stuckSource(live);
  assert.equal(frozen.id, 'venue-x');
  const first = await frozen.quotes({ assets: [BTC, ETH], nowMs: NOW });
  assert.deepEqual(first, [
    { sourceId: 'venue-x', assetId: BTC.assetId, priceTicks: 100n, timestampMs: NOW },
  ]);
  price = 250n;
  const later = await frozen.quotes({ assets: [BTC, ETH], nowMs: NOW + 60_000 });
  assert.deepEqual(later, [
    { sourceId: 'venue-x', assetId: BTC.assetId, priceTicks: 100n, timestampMs: NOW + 60_000 },
    { sourceId: 'venue-x', assetId: ETH.assetId, priceTicks: 500n, timestampMs: NOW + 60_000 },
  ]);
  price = 300n;
  assert.equal((await frozen.quotes({ assets: [ETH], nowMs: NOW + 1 }))[0]?.priceTicks, 500n);
});
