/**
 * The griefer in CI (src/sim/adversaries/griefer.ts): a funded hostile trader's order floods and
 * cancel storms, undecodable spam, and a flood of orders signed by fresh keys at four times a
 * validator's admission budget leave every invariant clean, no-crowding-out included; and with
 * either defence it depends on removed — the mempool's NO_ACCOUNT refusal, which comes before a
 * fresh key may spend the budget, or the per-account rate limit — the first CI seed fails, honest
 * traders crowded out, and prints its replay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/node/cli.ts';
import { createSimNode } from '../../src/node/sim-node.ts';
import { replayCommand, runSimulation } from '../../src/sim/harness.ts';
import { profileByName } from '../../src/sim/profiles.ts';

const GRIEFER_SEEDS = [31_000, 31_001] as const;

test('griefer: order floods, cancel storms, spam and a fresh-key flood leave the honest market live and uncrowded', async () => {
  const failures: string[] = [];
  for (const seed of GRIEFER_SEEDS) {
    const result = await runSimulation({
      seed,
      validators: 4,
      profile: profileByName('griefer')!,
      node: createSimNode,
    });
    const { griefer, acceptedOrders, submitted, admitted } = result.market!;
    // The attack happened at the strength the mutation test needs: otherwise the run proves nothing.
    assert.ok(
      griefer !== undefined && griefer.fresh > 2000 && griefer.freshKeys > 100,
      JSON.stringify(griefer),
    );
    // Fresh keys got nothing admitted; the funded account was held to its per-account rate.
    assert.equal(griefer.freshAdmitted, 0);
    assert.ok(griefer.fundedAdmitted < griefer.funded / 2, JSON.stringify(griefer));
    // Every honest submission was admitted by some validator.
    assert.equal(admitted, submitted);
    if (result.violations.length > 0 || acceptedOrders === 0)
      failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
  }
  assert.deepEqual(failures, []);
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

test('injected bug: a mempool that admits keys without an account lets the fresh-key flood crowd honest traders out, caught on the first CI seed', async () => {
  // `--mutation admit-unfunded`: the fresh keys pass admission, spend every validator's budget as
  // it refills, and honest transactions are refused GLOBAL_RATE_LIMITED by all four validators.
  const run = await capture([
    '--seeds',
    '1',
    '--seed-start',
    String(GRIEFER_SEEDS[0]),
    '--profile',
    'griefer',
    '--mode',
    'whole-node',
    '--mutation',
    'admit-unfunded',
    '--json',
  ]);
  assert.equal(run.code, 1, run.output);
  const summary = JSON.parse(run.output);
  assert.deepEqual(summary.failedSeeds, [GRIEFER_SEEDS[0]]);
  const violations: { invariant: string; detail: string; replay: string }[] = summary.violations;
  const crowding = violations.find((violation) => violation.invariant === 'no-crowding-out');
  assert.match(
    crowding?.detail ?? JSON.stringify(violations),
    /honest trader [0-9a-f]{16} was refused GLOBAL_RATE_LIMITED by 4 of 4 validators/,
  );
  assert.equal(
    crowding!.replay,
    `palisade sim --seeds 1 --seed-start ${GRIEFER_SEEDS[0]} --validators 4 --byzantine 0 --profile griefer --mode whole-node --mutation admit-unfunded`,
  );
  // The crowding out is the market's: no honest order gets in after the heal.
  assert.ok(
    violations.some((violation) => violation.invariant === 'market-liveness'),
    JSON.stringify(violations),
  );
  assert.ok(summary.seeds[0].market.griefer.freshAdmitted > 0, JSON.stringify(summary.seeds[0].market));
  const usage = await capture(['--mutation', 'admit-unfunded']);
  assert.equal(usage.code, 2);
  assert.match(usage.output, /needs --mode whole-node/);
});

test('injected bug: without the per-account rate limit the griefer’s one funded account crowds honest traders out, caught on the first CI seed', async () => {
  // `--mutation no-rate-limit`: the nonce window alone lets one account be admitted up to 64
  // transactions a block, more than the validators' shared budget refills.
  const result = await runSimulation({
    seed: GRIEFER_SEEDS[0],
    validators: 4,
    profile: profileByName('griefer')!,
    node: createSimNode,
    mutation: 'no-rate-limit',
  });
  const crowding = result.violations.find((violation) => violation.invariant === 'no-crowding-out');
  assert.match(
    crowding?.detail ?? JSON.stringify(result.violations),
    /honest trader [0-9a-f]{16} was refused GLOBAL_RATE_LIMITED by 4 of 4 validators/,
  );
  assert.ok(
    result.violations.some((violation) => violation.invariant === 'market-liveness'),
    JSON.stringify(result.violations),
  );
  // The funded account did it alone: no fresh key was admitted.
  const griefer = result.market!.griefer!;
  assert.ok(
    griefer.fundedAdmitted > griefer.funded / 2 && griefer.freshAdmitted === 0,
    JSON.stringify(griefer),
  );
  assert.match(replayCommand(result), /--profile griefer --mode whole-node --mutation no-rate-limit$/);
});
