/**
 * Settlement always concludes (issue 9). Attacks and failures:
 * - fast blocks: at 150 ms a fixed sample count covered 20 minutes of a 30-minute window, so the
 *   TWAP silently became a 20-minute TWAP; samples are now kept by time (one per second) and the
 *   TWAP covers the whole window;
 * - a window too thinly covered by valid prices (an oracle outage, a confidence pushed wide):
 *   the window extends backwards by up to `settlementExtensionMs`;
 * - no usable price anywhere near expiry: the series settles `settlementFallbackDelayMs` after
 *   expiry on the last valid index price, instead of staying open forever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngine, type Engine } from './engine.ts';
import {
  btcSeries,
  createTransactionBuilder,
  limitOrder,
  testGenesis,
  testSigner,
  USDC,
} from './fixtures.ts';
import type { EngineEvent, OracleUpdate } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const EXPIRY = START + 3 * 60 * 60_000;
const MINUTE = 60_000;
const alice = testSigner('settlement-alice');
const bob = testSigner('settlement-bob');

function setup(): Engine {
  const engine = createEngine(
    testGenesis({ startTimeMs: START, traders: [alice, bob], series: [btcSeries(true, 60_000, EXPIRY)] }),
  );
  const txs = createTransactionBuilder();
  engine.applyBlock({
    height: 1,
    timeMs: START + 1000,
    transactions: [
      txs.next(bob, limitOrder(1, 'buy', 250, 1)),
      txs.next(alice, limitOrder(1, 'sell', 250, 1, { timeInForce: 1 })),
    ],
    oracle: price(60_000),
  });
  assert.deepEqual(engine.account(alice.publicKey)?.positions, [{ seriesId: 1, lots: -10 }]);
  return engine;
}

function price(usdc: number, extra: Partial<OracleUpdate> = {}): OracleUpdate[] {
  return [{ underlyingId: 1, price: usdc * USDC, confidence: 0, publishTimeMs: 0, stale: false, ...extra }];
}

function at(engine: Engine, timeMs: number, oracle: OracleUpdate[]): EngineEvent[] {
  return engine.applyBlock({ height: engine.height + 1, timeMs, transactions: [], oracle }).events;
}

test('with 150 ms blocks the settlement TWAP covers the whole 30-minute window', () => {
  const engine = setup();
  // 15 minutes at 60,000 then 15 at 62,000 (from 31 minutes before expiry, every 150 ms): 61,000.
  let settled: EngineEvent | undefined;
  for (let t = EXPIRY - 31 * MINUTE; t <= EXPIRY; t += 150) {
    const events = at(engine, t, price(t < EXPIRY - 15 * MINUTE ? 60_000 : 62_000));
    settled ??= events.find((e) => e.type === 'settlement');
  }
  assert.deepEqual(settled, {
    type: 'settlement',
    seriesId: 1,
    settlementPrice: 61_000n * U,
    coveredMs: 30 * MINUTE,
    payoffPerLot: 100n * U, // 0.1 BTC × (61,000 − 60,000)
  });
  assert.deepEqual(engine.account(alice.publicKey)?.positions, []);
});

test('a thinly covered window extends backwards: valid prices up to 35 minutes before expiry settle it', () => {
  const engine = setup();
  for (let t = EXPIRY - 55 * MINUTE; t < EXPIRY - 35 * MINUTE; t += MINUTE) at(engine, t, price(61_500));
  for (let t = EXPIRY - 35 * MINUTE; t < EXPIRY; t += MINUTE) at(engine, t, price(61_500, { stale: true }));
  const events = at(engine, EXPIRY, price(64_000));
  assert.ok(events.some((e) => e.type === 'settlementFallback' && e.rule === 'extendedWindow'));
  const settlement = events.find((e) => e.type === 'settlement');
  assert.ok(settlement?.type === 'settlement', 'the series did not settle at expiry');
  assert.equal(settlement.settlementPrice, 61_500n * U);
  assert.equal(settlement.coveredMs, 20 * MINUTE);
});

test('a series whose window had no valid price settles on the last valid price after the stated delay', () => {
  const engine = setup();
  // Valid until 70 minutes before expiry (outside the window and its extension), then confidence
  // pushed wider than the 1% allowed until 10 minutes after expiry, then valid again at 63,000.
  for (let t = EXPIRY - 70 * MINUTE; t < EXPIRY + 10 * MINUTE; t += MINUTE) {
    const wide = t >= EXPIRY - 65 * MINUTE;
    at(engine, t, price(wide ? 90_000 : 60_500, wide ? { confidence: 10_000 * USDC } : {}));
  }
  const delayMs = 60 * MINUTE;
  let settled: EngineEvent[] = [];
  let settledAt = 0;
  for (let t = EXPIRY + 10 * MINUTE; t <= EXPIRY + delayMs + MINUTE && settledAt === 0; t += MINUTE) {
    const events = at(engine, t, price(63_000));
    if (events.some((e) => e.type === 'settlement')) {
      settled = events;
      settledAt = t;
    } else {
      assert.equal(engine.series()[0]?.status, 'expired');
    }
  }
  assert.equal(settledAt, EXPIRY + delayMs, 'the series did not settle after the fallback delay');
  assert.ok(settled.some((e) => e.type === 'settlementFallback' && e.rule === 'lastValidPrice'));
  const settlement = settled.find((e) => e.type === 'settlement');
  assert.ok(settlement?.type === 'settlement' && settlement.settlementPrice === 63_000n * U);
  assert.deepEqual(engine.account(alice.publicKey)?.positions, []);
  assert.equal(engine.series()[0]?.status, 'settled');
});
