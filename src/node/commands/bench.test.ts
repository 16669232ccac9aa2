import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listBenchmarks, run } from './bench.ts';

test('bench lists the modules under bench/ and refuses names that are not among them', async (t) => {
  const available = await listBenchmarks();
  assert.ok(available.includes('primitives'));
  const errors: string[] = [];
  t.mock.method(console, 'error', (line: string) => errors.push(line));
  assert.equal(await run(['../src/node/cli']), 2);
  assert.equal(await run(['no-such-benchmark']), 2);
  assert.match(errors.join('\n'), /Available: .*primitives/);
});
