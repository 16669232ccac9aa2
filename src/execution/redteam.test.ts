/**
 * Red team against pre-trade risk (issue 9), as a thief would try it after the fixes: margin
 * that is checked per order but spent by many orders at once, resting orders that fill after the
 * mark moved, wash trades to move the mark, and governance moving volatility in several steps.
 * Each test is named `attack: …` and asserts what refuses it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionAction } from '../codec/execution.ts';
import { toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { createEngine, type Engine } from './engine.ts';
import {
  actionTransaction,
  btcSeries,
  GOVERNANCE,
  governed,
  limitOrder,
  testGenesis,
  testSigner,
  USDC,
} from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { BlockResult, EngineEvent } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const TICK = 5 * USDC;
const MS_PER_HOUR = 3_600_000;

/** Feeds one engine blocks: nonces from its state plus those this block already used. */
function blocks(engine: Engine, spotUsdc = 60_000) {
  const used = new Map<Ed25519Signer, number>();
  let pending: ReturnType<typeof actionTransaction>[] = [];
  const state = { spotUsdc };
  return {
    state,
    tx(signer: Ed25519Signer, action: ExecutionAction) {
      const nonce = (engine.account(signer.publicKey)?.nonce ?? 0) + (used.get(signer) ?? 0);
      used.set(signer, (used.get(signer) ?? 0) + 1);
      pending.push(actionTransaction(signer, nonce, action));
      return this;
    },
    block(advanceMs = 1000): BlockResult {
      const timeMs = engine.timeMs + advanceMs;
      const result = engine.applyBlock({
        height: engine.height + 1,
        timeMs,
        transactions: pending,
        oracle: [
          {
            underlyingId: 1,
            price: Math.round(state.spotUsdc * USDC),
            confidence: 0,
            publishTimeMs: timeMs,
            stale: false,
          },
        ],
      });
      pending = [];
      used.clear();
      return result;
    },
  };
}

function markUsdc(engine: Engine, seriesId: number): number {
  const mark = engine.series().find((s) => s.seriesId === seriesId)?.markPrice;
  assert.ok(mark !== undefined);
  return Math.max(5, Math.round(Number(mark) / TICK) * 5);
}

const liquidated = (events: EngineEvent[], signer: Ed25519Signer) =>
  events.some((e) => e.type === 'liquidationStep' && e.account === toHex(signer.publicKey));

function setup(thinBalanceUsdc: number) {
  const thin = testSigner('red-thin');
  const whale = testSigner('red-whale');
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [thin, whale],
    insuranceFundUsdc: 100_000,
    series: [btcSeries(true, 60_000, START + 7 * MS_PER_DAY)],
  });
  genesis.accounts[0]!.balance = BigInt(thinBalanceUsdc) * U;
  const engine = createEngine(genesis);
  const d = blocks(engine);
  d.block();
  return { thin, whale, engine, d, genesis };
}

function assertSolvent(engine: Engine, signer: Ed25519Signer, events: EngineEvent[]) {
  assert.ok(!liquidated(events, signer), 'the account was liquidated by fills of its own orders');
  const margin = engine.account(signer.publicKey)!.margin!;
  assert.ok(
    margin.equity >= margin.maintenance,
    `equity ${margin.equity} < maintenance ${margin.maintenance}`,
  );
  assert.equal(engine.ledger().socializedLossTotal, 0n);
  assert.equal(engine.ledger().insuranceFund, 100_000n * U);
}

test('attack: many resting sells, each affordable alone, filled at once by one taker', () => {
  const { thin, whale, engine, d } = setup(3_000);
  const mark = markUsdc(engine, 1);
  for (let i = 0; i < 30; i++) d.tx(thin, limitOrder(1, 'sell', mark, 0.1));
  const placed = d.block();
  const resting = placed.results.filter((r) => r.status === 'OK').length;
  // Resting orders count towards the what-if margin: the account runs out after a few.
  assert.ok(resting < 30 && placed.results.slice(resting).every((r) => r.status === 'INSUFFICIENT_MARGIN'));
  const r = d.tx(whale, limitOrder(1, 'buy', mark, 3, { timeInForce: 1 })).block();
  const lots = engine.account(thin.publicKey)!.positions.find((p) => p.seriesId === 1)?.lots ?? 0;
  assert.ok(lots >= -resting, `${resting} orders rested, short ${-lots} lots`);
  assertSolvent(engine, thin, r.events);
});

test('attack: resting sells placed while cheap fill after the index rises 5%', () => {
  const { thin, whale, engine, d } = setup(3_000);
  const mark = markUsdc(engine, 1);
  for (let i = 0; i < 10; i++) d.tx(thin, limitOrder(1, 'sell', mark + 50, 0.1));
  d.block();
  d.state.spotUsdc = 63_000;
  d.block();
  const lift = markUsdc(engine, 1) + 50;
  const r = d.tx(whale, limitOrder(1, 'buy', Math.max(lift, mark + 50), 1, { timeInForce: 1 })).block();
  assertSolvent(engine, thin, r.events);
});

test('attack: wash trades between two colluders at the top of the band do not move the mark', () => {
  const { thin, whale, engine, d } = setup(1_000_000);
  const before = engine.series().find((s) => s.seriesId === 1)!.markPrice;
  // Each round trades one lot as high as the band lets them, then back.
  for (let round = 0; round < 20; round++) {
    const high = Math.round((markUsdc(engine, 1) * 1.4) / 5) * 5;
    const r = d
      .tx(thin, limitOrder(1, 'sell', high, 0.1))
      .tx(whale, limitOrder(1, 'buy', high, 0.1, { timeInForce: 1 }))
      .tx(thin, { kind: 'cancelAll', value: { seriesId: 0 } })
      .block(0);
    assert.equal(r.results[1]!.filledLots, 1, `round ${round}: the wash trade happened`);
  }
  const after = engine.series().find((s) => s.seriesId === 1)!.markPrice;
  assert.equal(after, before, 'the mark followed the colluders’ trades');
});

test('attack: governance moves volatility in several steps: within one block nothing after the first, over any hour at most twice the hourly bound', () => {
  const { engine, d, genesis } = setup(3_000);
  const bound = Number(genesis.params.maxVolChangeBpsPerHour);
  const vol = () => engine.series().find((s) => s.seriesId === 1)!.markVolBps;
  const start = vol();
  const target = { kind: 'setMarkVol', value: { seriesId: 1, volBps: 50_000 } } as const;
  d.tx(GOVERNANCE, governed(target))
    .tx(GOVERNANCE, governed(target))
    .tx(GOVERNANCE, governed(target))
    .block();
  assert.ok(vol() - start <= bound, `three actions in one block moved ${vol() - start} bps`);
  // Just before and just after an hour boundary, then again an hour later.
  d.tx(GOVERNANCE, governed(target)).block(MS_PER_HOUR - 1000);
  d.tx(GOVERNANCE, governed(target)).block(2000);
  assert.ok(vol() - start <= 2 * bound, `within an hour: ${vol() - start} bps`);
});

test('attack: a reduce-only order larger than the position never flips it, resting or taking', () => {
  const { thin, whale, engine, d } = setup(3_000);
  const mark = markUsdc(engine, 1);
  d.tx(whale, limitOrder(1, 'sell', mark, 0.1))
    .tx(thin, limitOrder(1, 'buy', mark, 0.1))
    .block();
  assert.deepEqual(engine.account(thin.publicKey)!.positions, [{ seriesId: 1, lots: 1 }]);
  // Taking: a reduce-only sell of 5 lots against a 5-lot bid.
  d.tx(whale, limitOrder(1, 'buy', mark, 0.5))
    .tx(thin, limitOrder(1, 'sell', mark, 0.5, { reduceOnly: true }))
    .block();
  assert.deepEqual(engine.account(thin.publicKey)!.positions, [], 'the reduce-only sell flipped the long');
  // Resting: long again, a resting reduce-only sell of 5 lots, then the whale lifts it all.
  d.tx(whale, limitOrder(1, 'sell', mark, 0.1))
    .tx(thin, limitOrder(1, 'buy', mark, 0.1, { timeInForce: 1 }))
    .block();
  d.tx(whale, { kind: 'cancelAll', value: { seriesId: 0 } }).block();
  assert.deepEqual(engine.account(thin.publicKey)!.positions, [{ seriesId: 1, lots: 1 }]);
  d.tx(thin, limitOrder(1, 'sell', mark + 10, 0.5, { reduceOnly: true })).block();
  const r = d.tx(whale, limitOrder(1, 'buy', mark + 10, 0.5, { timeInForce: 1 })).block();
  assert.deepEqual(
    engine.account(thin.publicKey)!.positions,
    [],
    'the resting reduce-only sell opened a short',
  );
  assert.ok(!liquidated(r.events, thin));
});

test('attack: a maker cancelling all in the same block after a taker: the transaction order decides, deterministically', () => {
  const run = () => {
    const { thin, whale, engine, d } = setup(3_000);
    const mark = markUsdc(engine, 1);
    d.tx(thin, limitOrder(1, 'sell', mark, 0.1)).block();
    const r = d
      .tx(whale, limitOrder(1, 'buy', mark, 0.1, { timeInForce: 1 }))
      .tx(thin, { kind: 'cancelAll', value: { seriesId: 0 } })
      .block();
    return {
      filled: r.results[0]!.filledLots,
      root: toHex(engine.stateRoot()),
      open: engine.account(thin.publicKey)!.positions,
    };
  };
  const a = run();
  const b = run();
  assert.equal(a.filled, 1, 'the earlier taker fills before the cancel');
  assert.deepEqual(a, b);
});
