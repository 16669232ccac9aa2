/**
 * `palisade bench sim [--seeds N] [--profile NAME[,NAME…]|venue] [--json]`: simulated seeds per second of the
 * whole-node profile (every validator runs the validators' application with traders and a
 * seeded market) beside the consensus-only profile (a hash-chain application), on the same seeds,
 * fault profile and validator counts (n = 4 and 7), in one process. The ratio is what running the
 * real block rule costs the simulator; the consensus-only profile is its peer, not a bound.
 * `--profile venue` measures each venue adversary (oracle-liar, griefer, front-runner,
 * withholder-signer); the consensus-only peer of a venue profile runs the same faults with its f
 * validators honest there. The whole node includes price signing (DKG and FROST sessions). Each
 * rate is given twice: per wall-clock second, and per second of this process's CPU time (user +
 * system), which a machine shared with other work does not deflate.
 */
import { parseArgs } from 'node:util';
import { createSimNode } from '../src/node/sim-node.ts';
import { runSimulation } from '../src/sim/harness.ts';
import { NODE_PROFILES, profileByName } from '../src/sim/profiles.ts';

const SEED_START = 90_000;

async function seedsPerSecond(options: {
  seeds: number;
  validators: number;
  profile: string;
  wholeNode: boolean;
}): Promise<{ seedsPerSecond: number; seedsPerCpuSecond: number; failed: number; blocksMin: number }> {
  const profile = profileByName(options.profile)!;
  let failed = 0;
  let blocksMin = Number.POSITIVE_INFINITY;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let i = 0; i < options.seeds; i++) {
    const result = await runSimulation({
      seed: SEED_START + i,
      validators: options.validators,
      profile,
      node: options.wholeNode ? createSimNode : undefined,
    });
    if (result.violations.length > 0) failed++;
    blocksMin = Math.min(blocksMin, result.finalizedMin);
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    seedsPerSecond: Number(((options.seeds * 1000) / elapsedMs).toFixed(2)),
    seedsPerCpuSecond: Number(((options.seeds * 1000) / cpuMs).toFixed(2)),
    failed,
    blocksMin,
  };
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seeds: { type: 'string', default: '6' },
      profile: { type: 'string', default: 'mix' },
      json: { type: 'boolean', default: false },
    },
  });
  const seeds = Number(values.seeds);
  if (!Number.isSafeInteger(seeds) || seeds < 1 || seeds > 10_000) {
    console.error('palisade bench sim: --seeds must be an integer in 1..10000');
    return 2;
  }
  const profiles =
    values.profile === 'venue' ? NODE_PROFILES.map((profile) => profile.name) : values.profile.split(',');
  for (const name of profiles)
    if (profileByName(name) === undefined) {
      console.error(`palisade bench sim: unknown profile '${name}'`);
      return 2;
    }
  // Warm-up: module loading and JIT are not part of either figure.
  await seedsPerSecond({ seeds: 1, validators: 4, profile: 'calm', wholeNode: true });
  const rows = [];
  for (const profile of profiles)
    for (const validators of [4, 7]) {
      const consensus = await seedsPerSecond({ seeds, validators, profile, wholeNode: false });
      const wholeNode = await seedsPerSecond({ seeds, validators, profile, wholeNode: true });
      rows.push({
        profile,
        validators,
        consensusSeedsPerSecond: consensus.seedsPerSecond,
        wholeNodeSeedsPerSecond: wholeNode.seedsPerSecond,
        wholeNodeOverConsensus: Number((wholeNode.seedsPerSecond / consensus.seedsPerSecond).toFixed(3)),
        consensusSeedsPerCpuSecond: consensus.seedsPerCpuSecond,
        wholeNodeSeedsPerCpuSecond: wholeNode.seedsPerCpuSecond,
        failed: consensus.failed + wholeNode.failed,
        wholeNodeBlocksMin: wholeNode.blocksMin,
      });
    }
  if (values.json) console.log(JSON.stringify({ seeds, profile: values.profile, rows }, null, 2));
  else {
    console.log(`simulated seeds per second, ${seeds} seeds each`);
    for (const row of rows)
      console.log(
        `  ${row.profile.padEnd(17)} n = ${row.validators}  whole-node ${row.wholeNodeSeedsPerSecond}/s (${row.wholeNodeSeedsPerCpuSecond}/CPU s)  consensus-only ${row.consensusSeedsPerSecond}/s (${row.consensusSeedsPerCpuSecond}/CPU s)  (${row.wholeNodeOverConsensus}×)  failed ${row.failed}`,
      );
  }
  return rows.every((row) => row.failed === 0) ? 0 : 1;
}
