/**
 * EWMA volatility per underlying (issue 15, "Parameters that follow volatility"): the RiskMetrics
 * update against values worked by hand in floating point, λ scaled to the sample spacing, and the
 * engine keeping it in the state root and in snapshots.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesEqual } from '../crypto/bytes.ts';
import { type Fixed, ONE, toNumber } from '../std/fixed.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import { testGenesis, USDC } from './fixtures.ts';
import type { OracleUpdate } from './types.ts';
import { ewmaVariance, MAX_VARIANCE, varianceOfVolBps, volBpsOfVariance } from './volatility.ts';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

function close(actual: Fixed, expected: number, relative = 1e-12) {
  const got = toNumber(actual);
  assert.ok(Math.abs(got - expected) <= relative * Math.abs(expected), `${got} is not ${expected}`);
}

test('one daily RiskMetrics step: 0.94 σ² + 0.06 r² × 365, r = ln 1.1', () => {
  const before = varianceOfVolBps(5000); // 0.25
  const r = Math.log(1.1);
  close(ewmaVariance(before, 100n, 110n, DAY, 9400, DAY), 0.94 * 0.25 + 0.06 * r * r * 365);
  // No move: only the decay.
  close(ewmaVariance(before, 100n, 100n, DAY, 9400, DAY), 0.94 * 0.25);
});

test('λ is scaled to the spacing: two half-day samples decay the past as one daily sample does', () => {
  const before = varianceOfVolBps(8000);
  const half = ewmaVariance(
    ewmaVariance(before, 100n, 100n, DAY / 2, 9400, DAY),
    100n,
    100n,
    DAY / 2,
    9400,
    DAY,
  );
  close(half, 0.94 * 0.64, 1e-12);
  // One second: λ^(1/86400), the weight of a new sample is tiny but its return is annualised.
  const r = Math.log(1.01);
  const w = 1 - 0.94 ** (1 / 86_400);
  close(
    ewmaVariance(before, 100_000n, 101_000n, 1000, 9400, DAY),
    (1 - w) * 0.64 + w * r * r * 365 * 86_400,
    1e-9,
  );
});

test('volatility in basis points round-trips, and the variance is capped', () => {
  assert.equal(volBpsOfVariance(varianceOfVolBps(6000)), 6000);
  assert.equal(volBpsOfVariance(varianceOfVolBps(1)), 1);
  const huge = ewmaVariance(MAX_VARIANCE, 1n, 1_000_000_000n, 1, 1, DAY);
  assert.equal(huge, MAX_VARIANCE);
  assert.equal(ewmaVariance(ONE, 0n, 5n, 1000, 9400, DAY), ONE, 'no previous price: unchanged');
});

function oracle(price: number): OracleUpdate[] {
  return [{ underlyingId: 1, price: price * USDC, confidence: 0, publishTimeMs: 0, stale: false }];
}

function run(engine: Engine, prices: number[], stepMs: number) {
  for (const price of prices)
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + stepMs,
      transactions: [],
      oracle: oracle(price),
    });
}

test('the engine follows a crash in its EWMA, commits it in the root, and a snapshot keeps it', () => {
  const genesis = testGenesis({ startTimeMs: START, series: [], underlying: { defaultVolBps: 5000 } });
  const calm = createEngine(genesis);
  const crash = createEngine(genesis);
  // Both start and end at 60,000; one of them falls 40% and comes back on the way.
  const path = [60_000, 57_000, 52_000, 45_000, 36_000, 42_000, 50_000, 60_000];
  run(
    calm,
    path.map(() => 60_000),
    1000,
  );
  run(crash, path, 1000);
  assert.equal(calm.risk(1)!.ewmaVolBps < 5000, true, 'calm prices decay the EWMA');
  assert.ok(crash.risk(1)!.ewmaVolBps > 2 * 5000, `crash EWMA ${crash.risk(1)!.ewmaVolBps} bps`);
  // Same index, same ledger, same everything else: only the EWMA tells them apart, and the root does.
  assert.equal(calm.indexPrice(1), crash.indexPrice(1));
  assert.ok(!bytesEqual(calm.stateRoot(), crash.stateRoot()), 'the EWMA is in the state root');
  const copy = restoreEngine(crash.snapshot(), genesis);
  assert.deepEqual(copy.risk(1), crash.risk(1));
  run(copy, [61_000], 1000);
  run(crash, [61_000], 1000);
  assert.ok(bytesEqual(copy.stateRoot(), crash.stateRoot()));
});

test('samples closer than volSampleIntervalMs do not move the EWMA (no flood of tiny blocks)', () => {
  const genesis = testGenesis({ startTimeMs: START, series: [] });
  const engine = createEngine(genesis);
  run(engine, [60_000], 1000);
  const before = engine.risk(1)!;
  run(engine, [50_000, 70_000, 50_000], 100);
  assert.deepEqual(engine.risk(1), before);
});
