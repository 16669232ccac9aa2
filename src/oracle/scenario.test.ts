import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from './scenario.ts';

test('a scenario replays bit for bit from its seed, and another seed gives another path', async () => {
  const a = await runScenario('calm', { seed: 5, durationMs: 60_000 });
  const b = await runScenario('calm', { seed: 5, durationMs: 60_000 });
  const c = await runScenario('calm', { seed: 6, durationMs: 60_000 });
  assert.deepEqual(a, b);
  assert.notEqual(a.series.lastPrice, c.series.lastPrice);
});

test('one venue pumped 24x for ten minutes: cut as an outlier, the aggregate barely moves', async () => {
  const summary = await runScenario('venue-pump');
  assert.ok(
    (summary.droppedQuotes.OUTLIER ?? 0) >= 4 * 600 * 0.9,
    'the pumped venue is dropped by every validator',
  );
  assert.ok(summary.worstDeviationBps < 50, `worst deviation ${summary.worstDeviationBps} bps`);
  assert.equal(summary.honestBound.holds, true);
  assert.equal(summary.series.staleBlocks, 0);
});

test('a source stuck at a floor while the market falls 90%: the aggregate follows the market', async () => {
  const summary = await runScenario('stuck-floor');
  assert.ok(summary.worstDeviationBps < 200, `worst deviation ${summary.worstDeviationBps} bps`);
  assert.ok((summary.droppedQuotes.OUTLIER ?? 0) > 0);
  const last = Number(summary.series.lastPrice);
  const lastTrue = Number(summary.series.lastTruePrice);
  assert.ok(Math.abs(last - lastTrue) / lastTrue < 0.01, `${last} vs ${lastTrue}`);
  // A 90% fall is exactly what the EMA band exists to flag for the circuit breakers.
  assert.ok(summary.guardsTripped.includes('EMA_BAND'));
  assert.equal(summary.honestBound.holds, true);
});

test('f validators reporting extremes or equivocating cannot move the price out of the honest range', async () => {
  const extreme = await runScenario('byzantine-extreme', { durationMs: 180_000 });
  assert.equal(extreme.honestRange.blocksOutside, 0);
  assert.equal(extreme.honestBound.holds, true);
  assert.ok(extreme.worstDeviationBps < 50);
  const equivocate = await runScenario('byzantine-equivocate', { durationMs: 120_000 });
  assert.equal(equivocate.equivocations, 2 * 120);
  assert.equal(equivocate.droppedObservations.EQUIVOCATION, 2 * 2 * 120);
  assert.equal(equivocate.honestBound.holds, true);
  assert.equal(equivocate.series.staleBlocks, 0);
});

test('one validator with only stale sources: the others still form a fresh quorum', async () => {
  const summary = await runScenario('validator-stale', { durationMs: 240_000 });
  assert.equal(summary.series.staleBlocks, 0);
  assert.equal(summary.honestBound.holds, true);
});

test('fewer than 2f + 1 fresh observations flag the price stale for the whole outage', async () => {
  const summary = await runScenario('stale-quorum');
  // Minutes 2–6, less the observation age allowance at the start.
  assert.ok(
    summary.series.staleBlocks >= 220 && summary.series.staleBlocks <= 240,
    `${summary.series.staleBlocks}`,
  );
  assert.equal(summary.guards.STALE, summary.series.staleBlocks);
});

test('future-timestamped, replayed and stranger-signed observations are all dropped', async () => {
  const summary = await runScenario('bad-observations', { durationMs: 60_000 });
  assert.equal(summary.droppedObservations.FUTURE_TIMESTAMP, 60);
  assert.equal(summary.droppedObservations.UNKNOWN_SIGNER, 60);
  assert.equal(summary.droppedObservations.PREVIOUS_HEIGHT, 59);
  assert.equal(summary.series.staleBlocks, 0);
  assert.equal(summary.honestBound.holds, true);
});

test('more than f colluders: the guards flag and the summary says the honest bound no longer holds', async () => {
  const summary = await runScenario('collusion', { durationMs: 300_000 });
  assert.equal(summary.honestBound.applies, false);
  assert.equal(summary.honestBound.holds, false);
  assert.match(summary.honestBound.statement, /honest bound no longer holds/);
  assert.ok(summary.guardsTripped.includes('MAX_MOVE'));
  // 2f + 1 colluders agree with each other, so the trimmed confidence (which f liars cannot
  // widen) stays narrow: the move guards are what flag a majority lie.
  assert.ok(summary.guardsTripped.includes('EMA_BAND'));
  assert.ok(summary.worstDeviationBps > 2_500);
});

test('attack: f validators at one tick with confidence 0, or with the widest confidence, cannot widen the confidence', async () => {
  const summary = await runScenario('byzantine-confidence', { durationMs: 180_000 });
  assert.equal(summary.series.staleBlocks, 0);
  assert.equal(summary.honestRange.blocksOutside, 0);
  assert.equal(summary.honestConfidence.blocksWider, 0);
  assert.ok(summary.honestConfidence.blocksChecked >= 170, `${summary.honestConfidence.blocksChecked}`);
  // The engine refuses samples wider than 100 bps (BTC's maxConfidenceBps in the fixtures).
  assert.ok(summary.honestConfidence.widestBps < 100, `widest ${summary.honestConfidence.widestBps} bps`);
  assert.equal(summary.guards.CONFIDENCE_WIDE, 0);
  assert.equal(summary.honestBound.holds, true);
});
