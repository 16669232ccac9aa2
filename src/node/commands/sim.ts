/**
 * `palisade sim`: runs the deterministic simulator over a range of seeds and prints a summary. Two
 * modes: `consensus` (the fast profile: consensus over a hash-chain application) and `whole-node`
 * (every validator runs the validators' own application — mempool, the block rule, oracle
 * observations on votes, price signing — with traders and a seeded market, and the venue's
 * invariants, certificate-liveness among them, are checked too). A failing seed is printed with the one command that replays it. Exit code 1 when
 * any run violates an invariant (including liveness), 2 on a usage error.
 */
import { createHash } from 'node:crypto';
import {
  aggregateFrontRunner,
  MUTATIONS,
  type Mutation,
  type RunResult,
  replayCommand,
  runSimulation,
} from '../../sim/harness.ts';
import { NODE_PROFILES, PROFILES, profileByName } from '../../sim/profiles.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';
import { createSimNode } from '../sim-node.ts';

const MODES = ['consensus', 'whole-node'] as const;

export const usage = `usage: palisade sim [--seeds N] [--seed-start S] [--validators N] [--byzantine B] [--profile NAME|all] [--mode consensus|whole-node] [--mutation NAME] [--json]

  --seeds       how many seeds to run (default 20)
  --seed-start  first seed (default 1)
  --validators  validators per run, 1..64 (default 4)
  --byzantine   Byzantine validators (default: f for adversary profiles, 0 otherwise); above f the
                Byzantine validators collude and the run must show a violation or a halt
  --profile     one of: ${PROFILES.map((profile) => profile.name).join(', ')}, or 'all' to cycle (default all);
                with --mode whole-node also: ${NODE_PROFILES.map((profile) => profile.name).join(', ')}
  --mode        consensus (default, fast: a hash-chain application) or whole-node (every validator runs
                the validators' application and price signing with traders and a seeded market;
                venue invariants and certificate-liveness too)
  --mutation    a bug put in on purpose, to see an invariant catch it (tests and replays only):
                ${MUTATIONS.join(', ')}; all but the first need --mode whole-node
  --json        print one JSON document instead of progress`;

/** Largest seed count one invocation accepts. */
const MAX_SEEDS = 1_000_000;

function integer(
  name: string,
  value: string | boolean | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = numberOption(name, value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  }
  return parsed;
}

/** Price certificates after the heal, as one run's line shows them. */
function certificatesText(certificates: NonNullable<RunResult['market']>['certificates']): string {
  if (certificates === undefined) return '';
  return ` certificates ${certificates.certified}/${certificates.opened}`;
}

/** The front-runner's take and fair ordering's flow, when the run has them. */
function frontRunnerText(market: NonNullable<RunResult['market']>): string {
  const front = market.frontRunner;
  const fair = market.fairOrdering;
  const parts: string[] = [];
  if (front !== undefined)
    parts.push(
      ` front-runner ${front.strategy} read ${front.frontRun} guessed ${front.guessed} taken-from-victims ${front.takenFromVictimsUsdc} USDC edge ${front.edgeUsdc} profit ${front.profitUsdc}`,
    );
  if (fair !== undefined) {
    const delay = fair.finalityToExecutionBlocks;
    parts.push(
      ` encrypted ${fair.executed}/${fair.sealed} executed, finality→execution ${delay === undefined ? '-' : `${delay.min}..${delay.max} blocks (mean ${delay.mean})`}`,
    );
  }
  return parts.join('');
}

export async function run(args: string[]): Promise<number> {
  const options = parse(args);
  if (options === undefined) {
    console.log(usage);
    return 0;
  }
  const { seeds, seedStart, validators, byzantine, profileName, json, mode, mutation } = options;
  const node = mode === 'whole-node' ? createSimNode : undefined;
  const startedMs = performance.now();
  const results: RunResult[] = [];
  const combined = createHash('sha256');
  for (let i = 0; i < seeds; i++) {
    const seed = seedStart + i;
    const cycle = mode === 'whole-node' ? [...PROFILES, ...NODE_PROFILES] : PROFILES;
    const profile = profileName === 'all' ? cycle[seed % cycle.length]! : profileByName(profileName)!;
    const result = await runSimulation({ seed, validators, byzantine, profile, node, mutation });
    results.push(result);
    combined.update(result.traceHash);
    if (!json) {
      const verdict =
        result.violations.length === 0 ? 'ok' : `FAIL ${result.violations.map((v) => v.invariant).join(',')}`;
      const market =
        result.market === undefined
          ? ''
          : ` orders ${result.market.acceptedOrders} fills ${result.market.fills} marks ${result.market.freshMarks}/${result.market.blocksAfterHeal}${certificatesText(result.market.certificates)}${frontRunnerText(result.market)}`;
      console.log(
        `seed ${seed} ${profile.name.padEnd(11)} finalized ${result.finalizedMin}..${result.finalizedMax} nullified ${result.viewsNullified}${market} trace ${result.traceHash.slice(0, 16)} ${verdict}`,
      );
      if (result.violations.length > 0) {
        for (const violation of result.violations)
          console.log(`    ${violation.invariant}: ${violation.detail}`);
        console.log(`    replay: ${replayCommand(result)}`);
      }
    }
  }
  const failed = results.filter((result) => result.violations.length > 0);
  const frontRunner = aggregateFrontRunner(results);
  const elapsedMs = performance.now() - startedMs;
  const summary = {
    runs: results.length,
    mode,
    seedsPerSecond: Number(((results.length * 1000) / Math.max(1, elapsedMs)).toFixed(2)),
    violations: failed.flatMap((result) =>
      result.violations.map((violation) => ({
        seed: result.seed,
        profile: result.profile,
        invariant: violation.invariant,
        detail: violation.detail,
        replay: replayCommand(result),
      })),
    ),
    failedSeeds: failed.map((result) => result.seed),
    finalizedBlocksMin: Math.min(...results.map((result) => result.finalizedMin)),
    viewsNullified: results.reduce((sum, result) => sum + result.viewsNullified, 0),
    evidence: results.reduce((sum, result) => sum + result.evidence, 0),
    droppedMessages: results.reduce((sum, result) => sum + result.drops, 0),
    traceHash: combined.digest('hex'),
    ...(frontRunner === undefined ? {} : { frontRunner }),
    seeds: results.map((result) => ({
      seed: result.seed,
      profile: result.profile,
      byzantine: result.byzantine,
      finalizedMin: result.finalizedMin,
      viewsNullified: result.viewsNullified,
      violations: result.violations.length,
      traceHash: result.traceHash,
      ...(result.market === undefined ? {} : { market: result.market }),
    })),
  };
  if (json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(
      `${summary.runs} ${mode} runs (${summary.seedsPerSecond} seeds/s), ${failed.length} failed, finalized at least ${summary.finalizedBlocksMin} blocks per honest validator, ${summary.viewsNullified} views nullified, trace ${summary.traceHash}`,
    );
    if (frontRunner !== undefined) {
      const figure = (value: { mean: number; standardError: number }) =>
        `${value.mean} ± ${value.standardError}`;
      console.log(
        `front-runner over the sandwich seeds ${frontRunner.seeds.join(',')}: ${frontRunner.read} orders read, ${frontRunner.guessed} guessed blind, ${frontRunner.victimFills} victim fills; per seed (mean ± standard error, USDC) taken from victims ${figure(frontRunner.takenFromVictimsUsdc)}, edge ${figure(frontRunner.edgeUsdc)}, profit ${figure(frontRunner.profitUsdc)}`,
      );
    }
  }
  return failed.length === 0 ? 0 : 1;
}

function parse(args: string[]) {
  const { values } = parseOptions(args, {
    seeds: { type: 'string' },
    'seed-start': { type: 'string' },
    validators: { type: 'string' },
    byzantine: { type: 'string' },
    profile: { type: 'string' },
    mode: { type: 'string' },
    mutation: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) return undefined;
  const validators = integer('validators', values.validators, 4, 1, 64);
  const profileName = typeof values.profile === 'string' ? values.profile : 'all';
  if (profileName !== 'all' && profileByName(profileName) === undefined) {
    throw new UsageError(`unknown profile '${profileName}'`);
  }
  if (values.mode !== 'whole-node' && profileByName(profileName)?.nodeAdversary !== undefined) {
    throw new UsageError(`profile '${profileName}' attacks the venue: it needs --mode whole-node`);
  }
  const mode = typeof values.mode === 'string' ? values.mode : 'consensus';
  if (!(MODES as readonly string[]).includes(mode))
    throw new UsageError(`unknown mode '${mode}' (one of: ${MODES.join(', ')})`);
  const mutation = typeof values.mutation === 'string' ? values.mutation : undefined;
  if (mutation !== undefined && !(MUTATIONS as readonly string[]).includes(mutation))
    throw new UsageError(`unknown mutation '${mutation}' (one of: ${MUTATIONS.join(', ')})`);
  if (mutation !== undefined && mutation !== 'finalize-after-nullify' && mode !== 'whole-node')
    throw new UsageError(`mutation '${mutation}' needs --mode whole-node`);
  return {
    mode: mode as (typeof MODES)[number],
    mutation: mutation as Mutation | undefined,
    seeds: integer('seeds', values.seeds, 20, 1, MAX_SEEDS),
    seedStart: integer('seed-start', values['seed-start'], 1, 0, Number.MAX_SAFE_INTEGER - MAX_SEEDS),
    validators,
    byzantine:
      values.byzantine === undefined ? undefined : integer('byzantine', values.byzantine, 0, 0, validators),
    profileName,
    json: values.json === true,
  };
}
