/**
 * The CI seed suite: 504 seeds across every profile (42 each), four validators, the profile's
 * default number of Byzantine validators (f for adversary profiles). No run may violate an
 * invariant, liveness included. A failure names the seed and the command that replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayCommand, runSimulation } from '../../src/sim/harness.ts';
import { PROFILES } from '../../src/sim/profiles.ts';

const SEEDS_PER_PROFILE = 42;

for (const [index, profile] of PROFILES.entries()) {
  test(`${SEEDS_PER_PROFILE} seeds of '${profile.name}' keep every invariant`, async () => {
    const failures: string[] = [];
    let finalized = Number.POSITIVE_INFINITY;
    for (let i = 0; i < SEEDS_PER_PROFILE; i++) {
      const seed = 10_000 + index * 1000 + i;
      const result = await runSimulation({ seed, validators: 4, profile });
      finalized = Math.min(finalized, result.finalizedMin);
      if (result.violations.length > 0) {
        failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(finalized >= 5, `some run finalized only ${finalized} blocks`);
  });
}
