/**
 * Parameters that follow volatility (issue 15), bounded as Aave's risk stewards bound theirs. The
 * attacks: a parameter jumped in one update, a parameter walked far within one period by many small
 * steps, and a calm market collapsing margins below their genesis values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADAPTIVE_PARAMETER_DEFAULTS } from './adaptive-defaults.ts';
import { createEngine, type Engine } from './engine.ts';
import { btcSeries, testGenesis, testSigner, USDC } from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import { boundedStep } from './steward.ts';
import type { EngineEvent, EngineParameters } from './types.ts';

const START = Date.UTC(2026, 0, 1);

test('one bounded step: at most maxStep of the value, within maxPeriod of the period start', () => {
  assert.equal(boundedStep(6000, 20_000, 6000, 1000, 5000), 6600);
  assert.equal(boundedStep(6000, 100, 6000, 1000, 5000), 5400);
  assert.equal(boundedStep(6000, 6100, 6000, 1000, 5000), 6100, 'a close target is reached');
  // Walked up to 8,900 within the period from 6,000: the period allows 9,000, not the 9,790 a step would.
  assert.equal(boundedStep(8900, 20_000, 6000, 1000, 5000), 9000);
  assert.equal(boundedStep(9000, 20_000, 6000, 1000, 5000), 9000, 'the period bound holds');
  // A value already outside the period span (a new period) is never pushed back by the bound.
  assert.equal(boundedStep(12_000, 20_000, 6000, 1000, 5000), 12_000);
});

const alice = testSigner('steward-alice');

function crashEngine(params: Partial<EngineParameters> = {}) {
  return createEngine(
    testGenesis({
      startTimeMs: START,
      series: [btcSeries(true, 60_000, START + 30 * MS_PER_DAY)],
      traders: [alice],
      params: { ...ADAPTIVE_PARAMETER_DEFAULTS, breakerWindowMs: 0, ...params },
    }),
  );
}

/** A violent path: 4% up or down every 10 seconds. */
function swing(engine: Engine, seconds: number) {
  const events: EngineEvent[] = [];
  for (let k = 0; k < seconds / 10; k++) {
    const price = k % 2 === 0 ? 60_000 : 57_600;
    const result = engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 10_000,
      transactions: [],
      oracle: [{ underlyingId: 1, price: price * USDC, confidence: 0, publishTimeMs: 0, stale: false }],
    });
    events.push(...result.events);
  }
  return events;
}

test('attack: many small steps cannot walk a parameter beyond the period bound; each step is bounded', () => {
  const engine = crashEngine();
  const events = swing(engine, 3_590).filter(
    (e): e is Extract<EngineEvent, { type: 'parametersAdjusted' }> => e.type === 'parametersAdjusted',
  );
  assert.ok(events.length >= 5, `only ${events.length} adjustments`);
  assert.ok(engine.risk(1)!.ewmaVolBps > 20_000, 'the EWMA did not see the swings');
  let previous = { autoVolBps: 6000, scaleBps: 10_000 };
  for (const e of events) {
    assert.ok(
      e.autoVolBps <= Math.floor(previous.autoVolBps * 1.1),
      `a step of more than 10%: ${JSON.stringify(e)}`,
    );
    assert.ok(e.scaleBps <= Math.floor(previous.scaleBps * 1.1));
    // Within the first hour (one period), at most 50% above the genesis values however many steps.
    assert.ok(e.autoVolBps <= 9000, `walked to ${e.autoVolBps} in one period`);
    assert.ok(e.scaleBps <= 15_000);
    previous = e;
  }
  assert.equal(previous.autoVolBps, 9000, 'the bound is reached, not only respected');
  // Updates are at least autoMinDelayMs apart: one a minute at most.
  assert.ok(events.length <= 60);
  // The next period may go further, again by at most 50% of its start.
  const later = swing(engine, 3_600).filter(
    (e): e is Extract<EngineEvent, { type: 'parametersAdjusted' }> => e.type === 'parametersAdjusted',
  );
  assert.ok(later.at(-1)!.autoVolBps > 9000 && later.at(-1)!.autoVolBps <= 13_500);
  assert.equal(engine.risk(1)!.scaleBps, 22_500, 'the scale: 1.5× per period, twice');
});

test('bands and initial margin follow the EWMA; a calm market never takes them below genesis', () => {
  const engine = crashEngine();
  const series = () => engine.series()[0]!;
  const calm = createEngine(
    testGenesis({
      startTimeMs: START,
      series: [btcSeries(true, 60_000, START + 30 * MS_PER_DAY)],
      params: { ...ADAPTIVE_PARAMETER_DEFAULTS, breakerWindowMs: 0 },
    }),
  );
  for (let k = 0; k < 360; k++)
    calm.applyBlock({
      height: calm.height + 1,
      timeMs: calm.timeMs + 10_000,
      transactions: [],
      oracle: [{ underlyingId: 1, price: 60_000 * USDC, confidence: 0, publishTimeMs: 0, stale: false }],
    });
  assert.ok(calm.risk(1)!.ewmaVolBps < 6000, 'a flat hour decays the EWMA');
  assert.equal(calm.risk(1)!.scaleBps, 10_000, 'the scale fell below 1×');
  assert.ok(calm.risk(1)!.autoVolBps < 6000, 'the market volatility follows the calm EWMA down');
  const calmMark = calm.series()[0]!.markPrice!;
  swing(engine, 3_600);
  assert.ok(engine.risk(1)!.scaleBps > 10_000);
  // Back at 60,000, the swinging market's mark is higher (volatility 90% instead of the 60% floor).
  assert.ok(series().markPrice! > calmMark, `${series().markPrice} vs ${calmMark}`);
  assert.equal(calm.series()[0]!.markVolBps, 6000, 'governance volatility is untouched: a floor');
});
