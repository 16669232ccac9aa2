import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../cli.ts';
import { regimePath, runStress } from './stress.ts';

test('the March-2020 regime trips the breaker, reopens through call auctions, and the parameters move within bounds', () => {
  const report = runStress('march-2020');
  assert.ok(report.lowSpot < 0.7 * 60_000, 'the regime is not a 30%+ crash');
  assert.ok(report.halts.length >= 3, `${report.halts.length} halts`);
  assert.ok(report.auctions.length >= 1, 'no halt reopened through an auction');
  assert.ok(report.reopens >= report.halts.length - 1, 'a halt never reopened');
  for (const halt of report.halts)
    assert.ok(halt.untilMinute - halt.minute <= 2, 'a halt longer than 2 minutes');
  assert.ok((report.statuses.MARKET_HALTED ?? 0) > 0, 'nothing was refused during a halt');
  // The EWMA rose with the crash; the scale never fell below 1× nor jumped more than 10% a row.
  const first = report.rows[0]!;
  const last = report.rows.at(-1)!;
  assert.ok(last.ewmaVolBps > first.ewmaVolBps);
  for (const r of report.rows) assert.ok(r.scaleBps >= 10_000 && r.scaleBps <= 15_000);
});

test('the calm regime halts nothing', () => {
  const report = runStress('calm');
  assert.equal(report.halts.length, 0);
  assert.equal(report.statuses.MARKET_HALTED ?? 0, 0);
  assert.equal(regimePath('calm').length, 720);
});

test('palisade stress refuses an unknown regime with exit code 2', async () => {
  const error = console.error;
  const lines: string[] = [];
  console.error = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    assert.equal(await main(['stress', '--regime', 'nope']), 2);
  } finally {
    console.error = error;
  }
  assert.match(lines.join('\n'), /--regime must be one of/);
});
