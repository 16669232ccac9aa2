/**
 * The engine fuzzer in CI (src/execution/fuzz.ts): 10^5 blocks of every action with random and
 * hostile parameters, in short episodes of small blocks so that the run fits a CI minute on one
 * core, and after every block: no throw, conservation, idle accounts keep their balance, no
 * account without a deposit, snapshots that reproduce the root. Longer runs:
 * `palisade fuzz engine --blocks N`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EngineFuzzOptions, runEngineFuzz } from '../../src/execution/fuzz.ts';

/** Small blocks: one series per underlying in genesis, at most three transactions a block. */
const CI_SHAPE = {
  episodeBlocks: 100,
  seriesPerUnderlying: 1,
  transactionsPerBlockMax: 3,
  snapshotEveryBlocks: 50,
} satisfies Partial<EngineFuzzOptions>;

test('the fuzzer is deterministic: the same options give the same report', () => {
  const options = { ...CI_SHAPE, seed: 99, blocks: 300 };
  assert.deepEqual(runEngineFuzz(options), runEngineFuzz(options));
});

test('10^5 fuzzed blocks: applyBlock never throws, money is conserved, idle accounts keep their balance, snapshots reproduce the root', () => {
  const report = runEngineFuzz({ ...CI_SHAPE, seed: 1, blocks: 100_000 });
  assert.equal(report.blocks, 100_000);
  const detail = report.findings
    .map((f) => `${f.kind} seed ${f.seed} height ${f.height}: ${f.detail}`)
    .join('\n');
  assert.deepEqual(report.findings, [], `findings:\n${detail}`);
  // The run must reach what it exists to test, or a clean result means nothing.
  const events = report.events;
  assert.ok((events.fill ?? 0) > 5_000, `fills ${events.fill}`);
  assert.ok((events.liquidationStep ?? 0) > 100, `liquidation steps ${events.liquidationStep}`);
  assert.ok((events.settlement ?? 0) > 100, `settlements ${events.settlement}`);
  assert.ok((events.insuranceCover ?? 0) > 0, `insurance covers ${events.insuranceCover}`);
  assert.ok(report.snapshotsChecked >= 1_000, `snapshots ${report.snapshotsChecked}`);
  for (const status of [
    'INSUFFICIENT_MARGIN',
    'BAD_NONCE',
    'MALFORMED_PAYLOAD',
    'UNAUTHORIZED',
    'INVALID_PRICE',
  ])
    assert.ok(
      (report.statuses[status] ?? 0) > 0,
      `no ${status}: the hostile inputs are not reaching the engine`,
    );
});
