/**
 * Circuit breakers and the call auction (issue 15, "Automatic responses"). The attack: a crash
 * keeps trading through a large move, resting bids priced on the old index filled by anyone who
 * sells into them. With the breaker the move halts the underlying's series, nothing trades during
 * the halt, and the market reopens through one uncrossing price.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesEqual } from '../crypto/bytes.ts';
import { ADAPTIVE_PARAMETER_DEFAULTS } from './adaptive-defaults.ts';
import { breaches, breakerWidthBps, uncrossingPrice } from './breaker.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import {
  btcSeries,
  createTransactionBuilder,
  limitOrder,
  testGenesis,
  testSigner,
  USDC,
} from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { Block, EngineEvent, EngineParameters, OracleUpdate } from './types.ts';
import { varianceOfVolBps } from './volatility.ts';

const START = Date.UTC(2026, 0, 1);
const alice = testSigner('breaker-alice');
const bob = testSigner('breaker-bob');
const carol = testSigner('breaker-carol');

test('uncrossing price: maximum volume, then least imbalance, then nearest the reference, then lower', () => {
  // Volume 4 at 98 and at 100 (bids ≥ p: 8, asks ≤ p: 4), imbalance 4 both: 100 is nearer 101.
  assert.deepEqual(
    uncrossingPrice(
      [
        [105, 3],
        [100, 5],
      ],
      [
        [98, 4],
        [103, 2],
      ],
      101,
    ),
    {
      priceTicks: 100,
      volume: 4,
      imbalance: 4,
    },
  );
  // 103: bids 3, asks 6 → 3; 100: bids 8, asks 4 → 4; max volume wins over the reference.
  assert.equal(
    uncrossingPrice(
      [
        [105, 3],
        [100, 5],
      ],
      [
        [98, 4],
        [103, 2],
      ],
      105,
    )?.priceTicks,
    100,
  );
  // Imbalance decides: at 10 volume 5 (bids 5, asks 5); at 11 volume 5 (bids 5, asks 7).
  assert.deepEqual(
    uncrossingPrice(
      [[11, 5]],
      [
        [10, 5],
        [11, 2],
      ],
      11,
    ),
    { priceTicks: 10, volume: 5, imbalance: 0 },
  );
  // Everything equal but the distance to the reference: 10 and 12 both 2 away from 11: the lower.
  assert.equal(uncrossingPrice([[12, 1]], [[10, 1]], 11)?.priceTicks, 10);
  assert.equal(uncrossingPrice([[9, 1]], [[10, 1]], 11), undefined, 'no cross, no auction');
});

test('band width: 4σ of a 15-minute move, floored and capped', () => {
  // 60% a year over 15 minutes: 0.6 × √(900/31,536,000) = 0.3205%; × 4 = 1.28% < the 5% floor.
  assert.equal(breakerWidthBps(varianceOfVolBps(6000), 900_000, 40_000, 500, 2000), 500);
  // 1000% a year: 5.34% × 4 = 21.4%, capped at 20%.
  assert.equal(breakerWidthBps(varianceOfVolBps(100_000), 900_000, 40_000, 500, 2000), 2000);
  // 500%: 2.67% × 4 = 10.68% → 1068 bps (floor of the integer steps).
  assert.equal(breakerWidthBps(varianceOfVolBps(50_000), 900_000, 40_000, 500, 2000), 1068);
  // A window that ranged 100–102: 5% below its high is 96.9, 5% above its low 105.
  const band = { low: 100n, high: 102n, widthBps: 500 };
  assert.equal(breaches(105n, band), false, '105 is the edge, still inside');
  assert.equal(breaches(106n, band), true);
  assert.equal(breaches(97n, band), false);
  assert.equal(breaches(96n, band), true);
  // A slide of 1% a step: the window's high stays, so the sixth step is a breach (a crash in bursts).
  const slide = { low: 95_099n, high: 100_000n, widthBps: 500 };
  assert.equal(breaches(94_148n, slide), true);
});

function genesisWith(params: Partial<EngineParameters> = {}) {
  const genesis = testGenesis({
    startTimeMs: START,
    // Deep in the money, so that the option's mark moves less than its 50% price band in a 7% drop.
    series: [btcSeries(true, 40_000, START + 30 * MS_PER_DAY)],
    traders: [alice, bob, carol],
    // The genesis defaults' breaker (the shared fixture switches it off).
    params: { ...ADAPTIVE_PARAMETER_DEFAULTS, ...params },
  });
  return genesis;
}

function oracle(spotUsdc: number): OracleUpdate[] {
  return [{ underlyingId: 1, price: spotUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false }];
}

function block(
  engine: Engine,
  spotUsdc: number,
  advanceMs: number,
  transactions: Block['transactions'] = [],
): Block {
  return {
    height: engine.height + 1,
    timeMs: engine.timeMs + advanceMs,
    transactions,
    oracle: oracle(spotUsdc),
  };
}

/** A market IOC sell of `contracts`. */
const marketSell = (contracts: number) =>
  limitOrder(1, 'sell', 0, contracts, { kind: 1, price: 0, timeInForce: 1 });

const ofType = <T extends EngineEvent['type']>(events: readonly EngineEvent[], type: T) =>
  events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);

/** 30 calm seconds at 60,000, then Bob bids 2 contracts at the mark (rounded to the tick). */
function calmWithBid(engine: Engine, txs: ReturnType<typeof createTransactionBuilder>) {
  for (let k = 0; k < 30; k++) engine.applyBlock(block(engine, 60_000, 1000));
  const markUsdc = Number(engine.series()[0]!.markPrice!) / USDC;
  const bid = Math.round(markUsdc / 5) * 5;
  engine.applyBlock(block(engine, 60_000, 1000, [txs.next(bob, limitOrder(1, 'buy', bid, 2))]));
  return bid;
}

test('attack: without the breaker a 7% drop in one block trades into bids priced on the old index', () => {
  const engine = createEngine(genesisWith({ breakerWindowMs: 0 }));
  const txs = createTransactionBuilder();
  calmWithBid(engine, txs);
  const crash = engine.applyBlock(block(engine, 56_000, 1000, [txs.next(alice, marketSell(2))]));
  assert.equal(crash.results[0]!.status, 'OK');
  assert.equal(ofType(crash.events, 'fill').length, 1, 'the stale bid was hit');
});

test('a 7% drop halts the series; only GTC limits rest, unmatched; the reopening auction prints one price', () => {
  const genesis = genesisWith();
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  const bid = calmWithBid(engine, txs);
  const crash = engine.applyBlock(
    block(engine, 56_000, 1000, [
      txs.next(alice, marketSell(2)),
      txs.next(alice, limitOrder(1, 'sell', bid, 1, { timeInForce: 2 })),
    ]),
  );
  const halt = ofType(crash.events, 'circuitBreakerHalt');
  assert.equal(halt.length, 1, 'no halt on a 7% drop');
  assert.equal(halt[0]!.untilMs, engine.timeMs + 120_000);
  assert.equal(halt[0]!.widthBps, 500);
  assert.deepEqual(
    crash.results.map((r) => r.status),
    ['MARKET_HALTED', 'MARKET_HALTED'],
  );
  assert.equal(ofType(crash.events, 'fill').length, 0);
  assert.equal(engine.risk(1)!.haltedUntilMs, halt[0]!.untilMs);
  // During the halt: crossing GTC limits rest (the auction's order collection).
  const markUsdc = Number(engine.series()[0]!.markPrice!) / USDC;
  const low = Math.round((markUsdc * 0.98) / 5) * 5;
  const collect = engine.applyBlock(
    block(engine, 56_000, 10_000, [
      txs.next(carol, limitOrder(1, 'sell', low, 3)),
      txs.next(alice, limitOrder(1, 'buy', low + 10, 1)),
    ]),
  );
  assert.deepEqual(
    collect.results.map((r) => r.status),
    ['OK', 'OK'],
  );
  assert.equal(ofType(collect.events, 'fill').length, 0, 'a fill during the halt');
  assert.equal(ofType(collect.events, 'orderRested').length, 2);
  // Still halted a tick before the end, and a second breach does not extend it.
  let blocks = 0;
  const snapshotAt = engine.snapshot();
  const replay: Block[] = [];
  while (engine.timeMs + 10_000 < halt[0]!.untilMs) {
    // The first of these blocks drops a further 6%: a breach, but the halt is not extended.
    const b = block(engine, blocks === 0 ? 52_600 : 56_000, 10_000);
    replay.push(b);
    const r = engine.applyBlock(b);
    assert.equal(ofType(r.events, 'circuitBreakerHalt').length, 0);
    assert.equal(ofType(r.events, 'fill').length, 0);
    blocks++;
  }
  assert.ok(blocks > 0);
  const reopenBlock = block(engine, 56_000, 10_000);
  replay.push(reopenBlock);
  const reopen = engine.applyBlock(reopenBlock);
  const auction = ofType(reopen.events, 'callAuction');
  assert.equal(auction.length, 1, 'no call auction at reopening');
  assert.ok(reopen.events.some((e) => e.type === 'circuitBreakerReopen' && e.underlyingId === 1));
  const fills = ofType(reopen.events, 'fill');
  assert.ok(fills.length >= 2, 'Bob and Alice both buy from Carol');
  assert.ok(
    fills.every((f) => f.priceTicks === auction[0]!.priceTicks),
    'the auction printed more than one price',
  );
  assert.equal(
    fills.reduce((sum, f) => sum + f.lots, 0),
    auction[0]!.lots,
  );
  // 30 lots of Carol's ask against 20 + 10 bid lots: everything executes; the price is one of the limits.
  assert.equal(auction[0]!.lots, 30);
  assert.ok([bid / 5, low / 5, (low + 10) / 5].includes(auction[0]!.priceTicks));
  const book = engine.book(1)!;
  assert.ok(
    book.bids.length === 0 || book.asks.length === 0 || book.bids[0]![0] < book.asks[0]![0],
    'still crossed',
  );
  assert.equal(engine.risk(1)!.haltedUntilMs, 0);
  // A node restored from a snapshot taken during the halt reopens identically.
  const restored = restoreEngine(snapshotAt, genesis);
  for (const b of replay) restored.applyBlock(b);
  assert.ok(bytesEqual(restored.stateRoot(), engine.stateRoot()));
});

test('after the reopening the band starts again from the halt: the new level does not halt again', () => {
  const engine = createEngine(genesisWith());
  for (let k = 0; k < 30; k++) engine.applyBlock(block(engine, 60_000, 1000));
  const first = engine.applyBlock(block(engine, 56_000, 1000));
  assert.equal(ofType(first.events, 'circuitBreakerHalt').length, 1);
  let halts = 0;
  for (let k = 0; k < 60; k++)
    halts += ofType(engine.applyBlock(block(engine, 56_000, 5000)).events, 'circuitBreakerHalt').length;
  assert.equal(halts, 0, 'the old high kept halting the new level');
  // A further 6% drop from the new level halts again.
  const second = engine.applyBlock(block(engine, 52_500, 1000));
  assert.equal(ofType(second.events, 'circuitBreakerHalt').length, 1);
});
