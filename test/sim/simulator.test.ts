/**
 * The simulator itself: runs replay bit for bit, a deliberately broken rule is caught, more than f
 * Byzantine validators never yield a false "all good", seven validators work, and the CLI prints
 * its summary and the replay command of a failing seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/node/cli.ts';
import { runSimulation } from '../../src/sim/harness.ts';
import { PROFILES, profileByName } from '../../src/sim/profiles.ts';

test('the same seed replays bit for bit; another seed does not', async () => {
  for (const name of ['crash', 'mix', 'garbage', 'twins']) {
    const profile = profileByName(name)!;
    const first = await runSimulation({ seed: 77, validators: 4, profile });
    const again = await runSimulation({ seed: 77, validators: 4, profile });
    const other = await runSimulation({ seed: 78, validators: 4, profile });
    assert.deepEqual(again, first);
    assert.notEqual(other.traceHash, first.traceHash);
  }
});

test('a validator that may finalize after nullifying is caught within a few hundred seeds', async () => {
  const profiles = ['lossy', 'partition', 'crash', 'mix'].map((name) => profileByName(name)!);
  let caughtAt: number | undefined;
  for (let seed = 1; seed <= 300 && caughtAt === undefined; seed++) {
    const profile = profiles[seed % profiles.length]!;
    const result = await runSimulation({ seed, validators: 4, profile, mutation: 'finalize-after-nullify' });
    const names = result.violations.map((violation) => violation.invariant);
    if (names.includes('no-conflicting-votes') || names.includes('nullified-xor-finalized')) caughtAt = seed;
  }
  assert.ok(caughtAt !== undefined, 'the broken rule went unnoticed for 300 seeds');
});

test('more than f Byzantine validators always show a safety violation or a halt', async () => {
  for (const [index, profile] of PROFILES.entries()) {
    for (const validators of [4, 7]) {
      const byzantine = validators === 4 ? 2 : 3;
      const result = await runSimulation({ seed: 500 + index, validators, byzantine, profile });
      assert.ok(
        result.violations.length > 0,
        `${profile.name} with ${byzantine}/${validators} Byzantine reported all good`,
      );
    }
  }
});

test('seven validators with two Byzantine keep every invariant', async () => {
  for (const name of ['calm', 'equivocator', 'mix', 'crash']) {
    const result = await runSimulation({ seed: 31, validators: 7, profile: profileByName(name)! });
    assert.equal(result.byzantine, name === 'calm' || name === 'crash' ? 0 : 2);
    assert.deepEqual(result.violations, [], name);
  }
});

test('adversaries leave traces: evidence for equivocation, dropped messages for garbage', async () => {
  const conflicter = await runSimulation({ seed: 5, validators: 4, profile: profileByName('conflicter')! });
  assert.ok(conflicter.evidence > 0);
  const garbage = await runSimulation({ seed: 5, validators: 4, profile: profileByName('garbage')! });
  assert.ok(garbage.drops > 20, `only ${garbage.drops} drops`);
});

async function capture(args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const original = { log: console.log, error: console.error };
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  console.error = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    const code = await main(['sim', ...args]);
    return { code, output: lines.join('\n') };
  } finally {
    console.log = original.log;
    console.error = original.error;
  }
}

test('palisade sim --json prints the summary; a failing seed prints the command that replays it', async () => {
  const ok = await capture(['--seeds', '3', '--seed-start', '4', '--profile', 'all', '--json']);
  assert.equal(ok.code, 0);
  const summary = JSON.parse(ok.output);
  assert.equal(summary.runs, 3);
  assert.deepEqual(summary.violations, []);
  assert.ok(summary.finalizedBlocksMin >= 5);
  assert.equal(typeof summary.viewsNullified, 'number');
  assert.match(summary.traceHash, /^[0-9a-f]{64}$/);
  assert.equal(summary.seeds.length, 3);

  const bad = await capture(['--seeds', '1', '--seed-start', '9', '--byzantine', '2', '--profile', 'calm']);
  assert.equal(bad.code, 1);
  assert.match(
    bad.output,
    /replay: palisade sim --seeds 1 --seed-start 9 --validators 4 --byzantine 2 --profile calm/,
  );

  const usage = await capture(['--profile', 'nope']);
  assert.equal(usage.code, 2);
  assert.match(usage.output, /unknown profile 'nope'/);
});
