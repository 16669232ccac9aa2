/**
 * The CI seed suite: 42 seeds of every older profile and a handful of each of issue 10's liveness
 * attacks (a long partition runs 20 virtual minutes), four validators, the profile's default
 * number of Byzantine validators (f for adversary profiles). No run may violate an invariant,
 * liveness and bounded caches included. A failure names the seed and the command that replays it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayCommand, runSimulation } from '../../src/sim/harness.ts';
import { PROFILES, profileByName } from '../../src/sim/profiles.ts';

const SEEDS_PER_PROFILE = 42;
/** Fewer seeds for the profiles that cost more per run; each still fails when its fix is reverted. */
const SEEDS_BY_PROFILE: Readonly<Record<string, number>> = {
  'cache-filler': 8,
  'sync-flooder': 6,
  'long-partition': 2,
};

for (const [index, profile] of PROFILES.entries()) {
  const seeds = SEEDS_BY_PROFILE[profile.name] ?? SEEDS_PER_PROFILE;
  test(`${seeds} seeds of '${profile.name}' keep every invariant`, async () => {
    const failures: string[] = [];
    let finalized = Number.POSITIVE_INFINITY;
    for (let i = 0; i < seeds; i++) {
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

/**
 * Seeds from wide sweeps that once failed, each with the command that replays it. 5243 and 5351
 * ('mix'): every honest validator that held the certificate opening the highest honest view
 * crashed and restarted without it, so none could forward it (spec §6) to the honest validator
 * left in an earlier view, and no view after the heal gathered a quorum. 6264, 6430 and 6531
 * ('mix'): every honest holder of a notarized block (6264, 6430) or of every certificate of the
 * view above the finalized tip (6531) crashed and restarted without it, so every proposal waited
 * on a block or certificate request nobody could answer; both are now journaled (spec §7).
 * 41167 ('mix'): view 3 had both a notarization and a nullification, and the honest validators
 * held one kind each; a certificate request ended once the view had either kind, so the holder of
 * the notarization never asked for the nullification it needed to accept proposals skipping view 3,
 * nor the others for the notarization proposals built on it: every view after the heal was nullified.
 */
const REGRESSION_SEEDS: readonly { seed: number; profile: string; validators: number; byzantine: number }[] =
  [
    { seed: 5243, profile: 'mix', validators: 4, byzantine: 1 },
    { seed: 5351, profile: 'mix', validators: 4, byzantine: 1 },
    { seed: 6264, profile: 'mix', validators: 4, byzantine: 1 },
    { seed: 6430, profile: 'mix', validators: 4, byzantine: 1 },
    { seed: 6531, profile: 'mix', validators: 4, byzantine: 1 },
    { seed: 41167, profile: 'mix', validators: 4, byzantine: 1 },
  ];

test('seeds that once stalled keep every invariant', async () => {
  const failures: string[] = [];
  for (const { seed, profile, validators, byzantine } of REGRESSION_SEEDS) {
    const result = await runSimulation({ seed, validators, byzantine, profile: profileByName(profile)! });
    if (result.violations.length > 0 || result.finalizedMin < 5) {
      failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
    }
  }
  assert.deepEqual(failures, []);
});
