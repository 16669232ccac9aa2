import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../cli.ts';

async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => err.push(parts.join(' '));
  try {
    const code = await main(['oracle-sim', ...args]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('oracle-sim --json prints one JSON document with the series, guards, deviation and bound', async () => {
  const { code, out } = await capture(['--scenario', 'collusion', '--minutes', '5', '--json']);
  assert.equal(code, 0);
  const summary = JSON.parse(out);
  assert.equal(summary.scenario, 'collusion');
  assert.ok(summary.guardsTripped.length > 0);
  assert.equal(typeof summary.worstDeviationBps, 'number');
  assert.match(summary.honestBound.statement, /no longer holds/);
  assert.ok(summary.series.lastPrice.length > 0);
});

test('oracle-sim refuses an unknown scenario with usage and exit code 2', async () => {
  const { code, err } = await capture(['--scenario', 'nope']);
  assert.equal(code, 2);
  assert.match(err, /--scenario must be one of/);
});
