/**
 * The whole-node profile in CI: every validator runs the validators' own application (mempool,
 * the block rule of src/chain, oracle observations on votes) and price signing (DKG, FROST
 * certificates) over the simulated network, with traders and a seeded market, under the fault
 * profiles; no run may violate an invariant — consensus safety, the same node state root on every
 * honest validator at every height, conservation of value, no loss to idle or flat accounts, no
 * invariant thrown, markets live, price certificates live and verifying under the group key.
 * Each invariant is also shown to fail on a node built to break it, and a run replays bit for bit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/node/cli.ts';
import { createSimNode } from '../../src/node/sim-node.ts';
import { replayCommand, runSimulation } from '../../src/sim/harness.ts';
import { profileByName } from '../../src/sim/profiles.ts';
import type { SimNodeFactory } from '../../src/sim/whole-node.ts';

/**
 * Seeds per profile (about 1.5 s each on one core at n = 4 with price signing; one fewer seed of
 * calm, lossy, partition and mix than before it ran, to keep the file's time).
 */
const CI_RUNS: readonly { profile: string; seeds: number; validators: number }[] = [
  { profile: 'calm', seeds: 1, validators: 4 },
  { profile: 'lossy', seeds: 1, validators: 4 },
  { profile: 'crash', seeds: 2, validators: 4 },
  { profile: 'partition', seeds: 1, validators: 4 },
  { profile: 'mix', seeds: 2, validators: 4 },
  { profile: 'equivocator', seeds: 1, validators: 4 },
  { profile: 'withholder', seeds: 1, validators: 4 },
  { profile: 'twins', seeds: 1, validators: 4 },
  { profile: 'mix', seeds: 1, validators: 7 },
];

test('whole-node runs keep every invariant under faults and f Byzantine validators', async () => {
  const failures: string[] = [];
  const crashedInDkg: string[] = [];
  for (const [index, { profile, seeds, validators }] of CI_RUNS.entries()) {
    for (let i = 0; i < seeds; i++) {
      const seed = 20_000 + index * 100 + i;
      const result = await runSimulation({
        seed,
        validators,
        profile: profileByName(profile)!,
        node: createSimNode,
      });
      assert.equal(result.mode, 'whole-node');
      const market = result.market!;
      if (result.violations.length > 0 || market.acceptedOrders === 0)
        failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
      // Price signing ran and was judged on every run, those where an honest validator crashed
      // during the DKG included (it deals the same again at restart: src/crypto/keygen.ts dealingSeed).
      const certificates = market.certificates!;
      assert.ok(certificates.opened > 0 && certificates.certified === certificates.opened, profile);
      if (certificates.crashedInDkg > 0) crashedInDkg.push(`${profile}/${validators} seed ${seed}`);
      assert.ok(result.finalizedMin >= 20, `${profile} seed ${seed} finalized only ${result.finalizedMin}`);
    }
  }
  assert.deepEqual(failures, []);
  // The mix seeds once 'not judged' (the harness counted honest validators that crashed during
  // the DKG as faulty dealers) are judged, and every report after the heal is certified. Since the
  // DKG ends with an attestation round (src/crypto/keygen.ts step 6) it lasts long enough for the
  // crash profile's first crash to land in it too.
  assert.deepEqual(crashedInDkg, [
    'crash/4 seed 20200',
    'mix/4 seed 20400',
    'mix/4 seed 20401',
    'mix/7 seed 20800',
  ]);
});

/** One seed per lie (the strategy is drawn from the seed: src/sim/whole-node.ts `LIE_STRATEGIES`). */
const LIAR_SEEDS = { stale: 30_000, low: 30_001, wide: 30_002, mixed: 30_003, high: 30_009 } as const;

test('oracle-liar: f lying validators keep neither marks out of the honest range nor the market stale', async () => {
  // Fails before the proposer waited for fresh observations (app.ts observationWaitMs): with the
  // 'stale' lie, 'only 5 of the 20 blocks after the heal carried a fresh mark' (market-liveness).
  const failures: string[] = [];
  const runs = [
    ...Object.values(LIAR_SEEDS).map((seed) => ({ seed, validators: 4 })),
    { seed: LIAR_SEEDS.stale, validators: 7 },
  ];
  for (const { seed, validators } of runs) {
    const result = await runSimulation({
      seed,
      validators,
      profile: profileByName('oracle-liar')!,
      node: createSimNode,
    });
    assert.equal(result.byzantine, validators === 4 ? 1 : 2);
    // Certificates certify the aggregate of the finalized blocks, whatever the liars reported.
    const certificates = result.market!.certificates!;
    assert.ok(
      certificates.opened > 0 && certificates.certified === certificates.opened,
      JSON.stringify(certificates),
    );
    if (result.violations.length > 0)
      failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
  }
  assert.deepEqual(failures, []);
});

test('market-liveness catches a proposer that does not wait for fresh observations: the stale lie leaves the marks stale', async () => {
  // The defence against oracle-liar's 'stale' lie (app.ts observationWaitMs) switched off: the
  // liar's hour-old observations arrive first and are carried in place of honest ones.
  const result = await runSimulation({
    seed: LIAR_SEEDS.stale,
    validators: 4,
    profile: profileByName('oracle-liar')!,
    node: createSimNode,
    mutation: 'no-observation-wait',
  });
  const caught = result.violations.filter((violation) => violation.invariant === 'market-liveness');
  assert.match(
    caught[0]?.detail ?? JSON.stringify(result.violations),
    /blocks after the heal carried a fresh mark/,
  );
  assert.match(
    replayCommand(result),
    /--profile oracle-liar --mode whole-node --mutation no-observation-wait$/,
  );
});

test('withholder-signer: f validators that deal and commit and never send a share leave certificates live and verifying (n = 4 and 7)', async () => {
  const failures: string[] = [];
  for (const { seed, validators } of [
    { seed: 32_000, validators: 4 },
    { seed: 32_100, validators: 7 },
  ]) {
    const result = await runSimulation({
      seed,
      validators,
      profile: profileByName('withholder-signer')!,
      node: createSimNode,
    });
    assert.equal(result.byzantine, validators === 4 ? 1 : 2);
    const certificates = result.market!.certificates!;
    // The withholding happened and the coordinators saw it: otherwise the run proves nothing.
    assert.ok(certificates.sharesWithheld > 0 && certificates.silentNamed > 0, JSON.stringify(certificates));
    assert.ok(certificates.opened > 0 && certificates.certified === certificates.opened);
    if (result.violations.length > 0)
      failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
  }
  assert.deepEqual(failures, []);
});

test('certificate-liveness catches a signing session that never retries: with the withholder chosen, its reports stay uncertified', async () => {
  // The mutation gives every price signer an attempt deadline longer than the run. Seed 32_000
  // happens not to choose the withholder after the heal; 32_001..32_005 do (5 of 6 seeds).
  const caught: number[] = [];
  for (const seed of [32_001]) {
    const result = await runSimulation({
      seed,
      validators: 4,
      profile: profileByName('withholder-signer')!,
      node: createSimNode,
      mutation: 'no-signing-retry',
    });
    if (result.violations.some((violation) => violation.invariant === 'certificate-liveness'))
      caught.push(seed);
  }
  assert.deepEqual(caught, [32_001]);
});

test('certificate-liveness catches a validator that holds another group key, and one that never forms a keyset', async () => {
  // Validator 2 reports a keyset of its own (another group key): honest keysets must agree.
  const forged = breaking(2, (node) => ({
    ...node,
    get engine() {
      return node.engine;
    },
    prices: {
      ...node.prices,
      keyset: () => {
        const real = node.prices.keyset();
        return real === undefined
          ? undefined
          : { ...real, groupPublicKey: real.groupPublicKey.map((b) => b ^ 1) };
      },
    },
  }));
  const first = await runSimulation({
    seed: 3,
    validators: 4,
    profile: profileByName('calm')!,
    node: forged,
  });
  assert.ok(
    first.violations.some(
      (v) => v.invariant === 'certificate-liveness' && /different group keys/.test(v.detail),
    ),
    JSON.stringify(first.violations),
  );
  // Price signers that never start form no keyset and open no report.
  const silent: SimNodeFactory = (parameters) => {
    const node = createSimNode(parameters);
    return {
      ...node,
      get engine() {
        return node.engine;
      },
      prices: { ...node.prices, start: () => {} },
    };
  };
  const second = await runSimulation({
    seed: 3,
    validators: 4,
    profile: profileByName('calm')!,
    node: silent,
  });
  assert.ok(
    second.violations.some(
      (v) => v.invariant === 'certificate-liveness' && /holds no price keyset/.test(v.detail),
    ),
    JSON.stringify(second.violations),
  );
});

// The griefer's runs and its mutation test: test/sim/griefer.test.ts.

/** One seed per strategy (drawn from the seed: src/sim/adversaries/front-runner.ts). */
const FRONT_RUN_SEEDS = { censor: 1, sandwich: 3, reorder: 11 } as const;

test('front-runner: f Byzantine leaders that sandwich, censor or reorder leave every invariant and the market live; their profit is measured', async () => {
  const failures: string[] = [];
  for (const [strategy, seed] of Object.entries(FRONT_RUN_SEEDS)) {
    const result = await runSimulation({
      seed,
      validators: 4,
      profile: profileByName('front-runner')!,
      node: createSimNode,
    });
    const front = result.market?.frontRunner;
    assert.ok(front !== undefined, 'the run summary reports the front-runner');
    assert.equal(front.strategy, strategy);
    assert.equal(typeof front.profitUsdc, 'number');
    // The rewriting happened: otherwise the run proves nothing about it.
    if (strategy === 'sandwich') {
      assert.ok(front.frontRun > 0, JSON.stringify(front));
      // The attacker-withdrawal invariant judged real flows between the front-runner and honest traders.
      assert.ok(result.market!.attackers!.outsideFlows > 0, JSON.stringify(result.market));
    }
    if (strategy === 'censor') assert.ok(front.censored > 0, JSON.stringify(front));
    if (strategy === 'reorder') assert.ok(front.reordered > 0, JSON.stringify(front));
    if (result.violations.length > 0 || result.market!.acceptedOrders === 0)
      failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
  }
  assert.deepEqual(failures, []);
});

test('no-censorship catches a censoring leader once transactions stop reaching every mempool', async () => {
  // The defence switched off (`--mutation no-gossip`): each transaction reaches only the highest-
  // numbered validator, the Byzantine front-runner, whose censor strategy drops one taker for good.
  const result = await runSimulation({
    seed: FRONT_RUN_SEEDS.censor,
    validators: 4,
    profile: profileByName('front-runner')!,
    node: createSimNode,
    mutation: 'no-gossip',
  });
  assert.equal(result.market!.frontRunner!.strategy, 'censor');
  assert.deepEqual(
    result.violations.map((violation) => violation.invariant),
    ['no-censorship'],
  );
});

/** The colluders' CI seeds: 4 and 6 search greedily, 5 at random (src/sim/colluders.ts). */
const COLLUDER_SEEDS = { start: 4, count: 3 } as const;

test('colluders: traders searching self-trades, reduce-only games, sweeps, withdrawals and pumps take no more than fair pay', async () => {
  const failures: string[] = [];
  const strategies = new Set<string>();
  let outsideFlows = 0;
  for (let seed = COLLUDER_SEEDS.start; seed < COLLUDER_SEEDS.start + COLLUDER_SEEDS.count; seed++) {
    const result = await runSimulation({
      seed,
      validators: 4,
      profile: profileByName('colluders')!,
      node: createSimNode,
    });
    const colluders = result.market!.colluders!;
    strategies.add(colluders.strategy);
    // The search acted, through the mempools: otherwise the run proves nothing.
    assert.ok(colluders.moves > 5 && colluders.pumps > 0 && colluders.sweeps > 0, JSON.stringify(colluders));
    outsideFlows += result.market!.attackers!.outsideFlows;
    if (result.violations.length > 0 || result.market!.acceptedOrders === 0)
      failures.push(`${JSON.stringify(result.violations)}\n  replay: ${replayCommand(result)}`);
  }
  assert.deepEqual([...strategies].sort(), ['greedy', 'random']);
  assert.ok(outsideFlows > 0, 'the colluders traded with honest accounts');
  assert.deepEqual(failures, []);
});

test('injected bug: with the price band removed, the colluders profile fails attacker-withdrawal within its CI seeds and prints the replay', async () => {
  // The same seeds as the test above, with the genesis band removed (`--mutation no-price-band`):
  // after a pump the maker's quotes at the old mark are not cancelled, a sweep lifts them off the
  // fair band, and the attacker-withdrawal invariant sees the excess.
  const run = await capture([
    '--seeds',
    String(COLLUDER_SEEDS.count),
    '--seed-start',
    String(COLLUDER_SEEDS.start),
    '--profile',
    'colluders',
    '--mode',
    'whole-node',
    '--mutation',
    'no-price-band',
  ]);
  assert.equal(run.code, 1, run.output);
  assert.match(
    run.output,
    /attacker-withdrawal: the hostile traders hold and withdrew \d+ .* beyond \([1-9]\d* of \d+ flows off the fair band\)/,
  );
  assert.match(
    run.output,
    /replay: palisade sim --seeds 1 --seed-start [456] --validators 4 --byzantine 0 --profile colluders --mode whole-node --mutation no-price-band/,
  );
  const caught = run.output.split('\n').filter((line) => /^seed \d+ colluders .*FAIL/.test(line));
  assert.ok(caught.length >= 1, run.output);
  const usage = await capture(['--mutation', 'no-price-band']);
  assert.equal(usage.code, 2);
  assert.match(usage.output, /needs --mode whole-node/);
});

test('a whole-node run replays bit for bit; another seed does not', async () => {
  const profile = profileByName('crash')!;
  const first = await runSimulation({ seed: 41, validators: 4, profile, node: createSimNode });
  const again = await runSimulation({ seed: 41, validators: 4, profile, node: createSimNode });
  const other = await runSimulation({ seed: 42, validators: 4, profile, node: createSimNode });
  assert.deepEqual(again, first);
  assert.notEqual(other.traceHash, first.traceHash);
});

/** A factory whose validator `victim` is changed by `alter`; the others are the real node. */
function breaking(victim: number, alter: (node: ReturnType<SimNodeFactory>) => ReturnType<SimNodeFactory>) {
  const factory: SimNodeFactory = (parameters) => {
    const node = createSimNode(parameters);
    return parameters.self === victim ? alter(node) : node;
  };
  return factory;
}

test('a validator executing another rule is caught: its node state root differs', async () => {
  // Validator 1 runs a genesis with another taker fee: the same blocks give another state.
  const factory: SimNodeFactory = (parameters) =>
    createSimNode(
      parameters.self !== 1
        ? parameters
        : {
            ...parameters,
            engineGenesis: {
              ...parameters.engineGenesis,
              params: {
                ...parameters.engineGenesis.params,
                takerFeeBps: parameters.engineGenesis.params.takerFeeBps + 1,
              },
            },
          },
    );
  const result = await runSimulation({
    seed: 3,
    validators: 4,
    profile: profileByName('calm')!,
    node: factory,
  });
  assert.ok(
    result.violations.some((violation) => violation.invariant === 'state-agreement'),
    JSON.stringify(result.violations),
  );
});

test('an application that throws while executing is reported as no-invariant-thrown', async () => {
  const factory = breaking(2, (node) => ({
    ...node,
    get engine() {
      return node.engine;
    },
    application: {
      ...node.application,
      finalized: async (block) => {
        if (block.block.height === 10) throw new Error('invariant: injected');
        return node.application.finalized(block);
      },
    },
  }));
  const result = await runSimulation({
    seed: 3,
    validators: 4,
    profile: profileByName('calm')!,
    node: factory,
  });
  assert.ok(
    result.violations.some((violation) => violation.invariant === 'no-invariant-thrown'),
    JSON.stringify(result.violations),
  );
});

test('validators that admit no transaction are caught: the market is not live', async () => {
  const refuseAll = (node: ReturnType<SimNodeFactory>) => ({
    ...node,
    get engine() {
      return node.engine;
    },
    admit: () => ({ status: 'refused', code: 'INJECTED' }),
  });
  const factory: SimNodeFactory = (parameters) => refuseAll(createSimNode(parameters));
  const result = await runSimulation({
    seed: 3,
    validators: 4,
    profile: profileByName('calm')!,
    node: factory,
  });
  assert.ok(
    result.violations.some((violation) => violation.invariant === 'market-liveness'),
    JSON.stringify(result.violations),
  );
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

test('palisade sim --mode whole-node prints the market; a failing seed prints the replay with its mode', async () => {
  const ok = await capture([
    '--seeds',
    '1',
    '--seed-start',
    '5',
    '--profile',
    'calm',
    '--mode',
    'whole-node',
    '--json',
  ]);
  assert.equal(ok.code, 0, ok.output);
  const summary = JSON.parse(ok.output);
  assert.equal(summary.mode, 'whole-node');
  assert.deepEqual(summary.violations, []);
  assert.ok(summary.seeds[0].market.acceptedOrders > 0);
  assert.ok(summary.seedsPerSecond > 0);

  const bad = await capture([
    '--seeds',
    '1',
    '--seed-start',
    '9',
    '--byzantine',
    '2',
    '--profile',
    'calm',
    '--mode',
    'whole-node',
  ]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.output,
    /replay: palisade sim --seeds 1 --seed-start 9 --validators 4 --byzantine 2 --profile calm --mode whole-node/,
  );
  const usage = await capture(['--mode', 'nope']);
  assert.equal(usage.code, 2);
  assert.match(usage.output, /unknown mode 'nope'/);
});
