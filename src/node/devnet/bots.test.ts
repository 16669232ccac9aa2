/**
 * The market makers' arithmetic: which series they quote and where. A maker that quoted through
 * the mark, off the tick grid or in a series about to expire would trade at a loss, be refused,
 * or stall when the series stops trading.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MarketJson, PriceJson } from '../view.ts';
import { quoteTicks, seriesToQuote } from './bots.ts';

const DAY_MS = 86_400_000;
const NOW_MS = Date.UTC(2026, 10, 21);

function market(seriesId: number, strikeUsdc: number, overrides: Partial<MarketJson> = {}): MarketJson {
  return {
    seriesId,
    underlyingId: 1,
    underlying: 'BTC',
    isCall: true,
    strike: String(strikeUsdc * 1_000_000),
    strikeDecimal: String(strikeUsdc),
    expiryMs: NOW_MS + 7 * DAY_MS,
    tickSize: 5_000_000,
    lotSizeE6: 100_000,
    multiplierE6: 1_000_000,
    markVolBps: 6000,
    status: 'active',
    settlementPrice: '0',
    settlementPriceDecimal: '0',
    openInterestLots: 0,
    markPrice: String(2_000 * 1_000_000),
    markPriceDecimal: '2000',
    greeks: null,
    greeksPerUnit: null,
    ...overrides,
  };
}

const SPOT: PriceJson[] = [
  {
    assetId: 1,
    symbol: 'BTC-USD',
    price: String(61_000 * 1_000_000),
    confidence: '1000000',
    exponent: -6,
    publishTimeMs: NOW_MS,
    stale: false,
    height: 10,
  },
];

test('makers quote the active series nearest the money, nearest expiry first', () => {
  const markets = [
    market(1, 50_000),
    market(2, 60_000),
    market(3, 70_000),
    market(4, 65_000),
    market(5, 60_000, { expiryMs: NOW_MS + 30 * DAY_MS }),
    market(6, 61_000, { status: 'expired' }),
    market(7, 61_000, { markPrice: null }),
    market(8, 61_000, { expiryMs: NOW_MS + 10 * 60_000 }),
    market(9, 61_000, { markPrice: '5000000' }),
  ];
  const chosen = seriesToQuote(markets, SPOT, 4, NOW_MS).map((entry) => entry.seriesId);
  assert.deepEqual(chosen, [2, 4, 3, 1]);
  assert.deepEqual(
    seriesToQuote(markets, SPOT, 10, NOW_MS).map((entry) => entry.seriesId),
    [2, 4, 3, 1, 5],
    'no expired, unmarked, about-to-expire or sub-two-tick series',
  );
});

test('quotes straddle the mark on the tick grid, at least a tick either side', () => {
  // Mark 2,002.50 USDC = 400.5 ticks of 5 USDC.
  const quoted = { markPrice: String(2_002_500_000), tickSize: 5_000_000 };
  const tight = quoteTicks(quoted, 0, { bid: 0, ask: 0 });
  assert.ok(tight.bid * 5 < 2_002.5 && tight.ask * 5 > 2_002.5);
  assert.ok(Number.isInteger(tight.bid) && Number.isInteger(tight.ask));
  const wide = quoteTicks(quoted, 150, { bid: 1, ask: 1 });
  assert.deepEqual(wide, { bid: 393, ask: 408 });
  // A mark of two ticks still leaves a bid of one tick.
  assert.deepEqual(quoteTicks({ markPrice: '10000000', tickSize: 5_000_000 }, 150, { bid: 1, ask: 1 }), {
    bid: 1,
    ask: 4,
  });
});
