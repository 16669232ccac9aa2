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
import { main } from '../../src/node/cli.ts';

/**
 * Small blocks: one series per underlying in genesis, at most three transactions a block, and
 * episodes of 60 blocks (about twenty minutes of block time, with the fuzzer's time jumps: series
 * expire and settle within one). Every block marks each held series, on every point of its stress
 * grid for portfolio accounts, so a block's cost grows with what an episode has accumulated; deep
 * state is for the command's 2,000-block episodes.
 */
const CI_SHAPE = {
  episodeBlocks: 60,
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
  assert.ok((events.fill ?? 0) > 3_000, `fills ${events.fill}`);
  const liquidations =
    (events.liquidationStep ?? 0) + (events.backstopTaken ?? 0) + (events.autoDeleverage ?? 0);
  assert.ok(liquidations > 100, `liquidation steps, backstop takes and deleveraging: ${liquidations}`);
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

test('palisade fuzz engine prints a JSON report with blocks/s and what it reached; a bad target is a usage error', async () => {
  const printed: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (line: string) => printed.push(line);
  console.error = () => {};
  try {
    const code = await main(['fuzz', 'engine', '--blocks', '40', '--seed', '5', '--json']);
    const report = JSON.parse(printed.join('\n'));
    assert.equal(report.blocks, 40);
    assert.ok(report.blocksPerSecond > 0);
    assert.equal(typeof report.reached.fills, 'number');
    assert.equal(code, report.findings.length === 0 ? 0 : 1);
    assert.equal(await main(['fuzz', 'mempool']), 2);
    assert.equal(await main(['fuzz', 'engine', '--blocks', '0']), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
});
