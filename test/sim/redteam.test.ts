/**
 * The red-team catalogue in CI (src/sim/redteam/catalogue.ts): every entry must report `refused`
 * on the simulated venue, price certificates and network; a bug injected through the genesis —
 * the price band removed — must turn the Mango entry into `succeeded` with a loss, which shows
 * the fair-value invariant and the catalogue can see what the band prevents; and the command
 * prints its table, its JSON and its report file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/node/cli.ts';
import { NO_BAND } from '../../src/node/commands/redteam.ts';
import { createSimNode } from '../../src/node/sim-node.ts';
import { CATALOGUE, runCatalogue } from '../../src/sim/redteam/catalogue.ts';
import { withholderSigner } from '../../src/sim/redteam/withholder-signer.ts';
import type { SimNodeFactory } from '../../src/sim/whole-node.ts';

test('every catalogue entry is refused on the simulated network, venue and certificates', async () => {
  const results = await runCatalogue({ seeds: 1, seedStart: 1, node: createSimNode });
  assert.equal(results.length, CATALOGUE.length);
  const succeeded = results.filter((result) => result.verdict !== 'refused');
  assert.deepEqual(
    succeeded.map((result) => `${result.id}: ${result.summary}\n${result.evidence.statuses.join('\n')}`),
    [],
  );
  // The evidence is there to read: statuses for every entry, balances for the venue's.
  for (const result of results)
    assert.ok(result.evidence.statuses.length > 0, `${result.id} has no statuses`);
  for (const result of results.filter((r) => r.target === 'venue'))
    assert.ok(Object.keys(result.evidence.balancesAfter).length > 0, `${result.id} has no balances`);
});

test('injected bug: with the price band removed, the Mango entry succeeds and names the loss', async () => {
  // Fails if the fair-value invariant judged fills by the venue's own (removed) band: the stale
  // offer lifted at the pre-pump mark would then count as fair and the entry would stay refused.
  const venue = CATALOGUE.filter((entry) => entry.target === 'venue' && entry.id !== 'colluders-search').map(
    (entry) => entry.id,
  );
  const seeds = 3;
  const results = [
    ...(await runCatalogue({ seeds, seedStart: 1, params: NO_BAND, only: venue })),
    ...(await runCatalogue({ seeds: 1, seedStart: 1, params: NO_BAND, only: ['colluders-search'] })),
  ];
  const mango = results.filter((result) => result.id === 'mango-2022');
  assert.equal(mango.length, seeds);
  for (const result of mango) {
    assert.equal(result.verdict, 'succeeded', result.summary);
    assert.ok(Number(result.loss) > 1000, `loss ${result.loss}`);
    assert.ok(Number(result.evidence.fairValue!.unfairFlows) > 0);
  }
  // The colluders' search finds it too, within one CI seed.
  const searched = results.filter((result) => result.id === 'colluders-search');
  assert.equal(searched[0]!.verdict, 'succeeded', searched[0]!.summary);
  // With the band, the same seeds are refused.
  const banded = await runCatalogue({ seeds, seedStart: 1, only: ['mango-2022'] });
  assert.deepEqual(
    banded.map((result) => result.verdict),
    Array(seeds).fill('refused'),
  );
});

test('the economic incidents through the whole node: the band removed, Mango succeeds through mempools and consensus; a validator on another rule turns an entry into succeeded', async () => {
  const [mango] = await runCatalogue({
    seeds: 1,
    seedStart: 1,
    params: NO_BAND,
    node: createSimNode,
    only: ['mango-2022-network'],
  });
  assert.equal(mango!.target, 'network');
  assert.equal(mango!.verdict, 'succeeded', mango!.summary);
  assert.ok(Number(mango!.loss) > 1000, `loss ${mango!.loss}`);
  assert.ok(Number(mango!.evidence.fairValue!.unfairFlows) > 0);
  assert.ok(
    mango!.evidence.facts.some((fact) => /whole node at n = 4 .*every invariant kept/.test(fact)),
    mango!.evidence.facts.join('\n'),
  );
  // Validator 1 executes with another taker fee: the whole-node run's state-agreement invariant
  // breaks under the entry's script, and the entry says so rather than `refused`.
  const divergent: SimNodeFactory = (parameters) =>
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
  const [broken] = await runCatalogue({
    seeds: 1,
    seedStart: 1,
    node: divergent,
    only: ['mango-2022-network'],
  });
  assert.equal(broken!.verdict, 'succeeded');
  assert.match(broken!.summary, /state-agreement/);
});

async function capture(args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    const code = await main(['redteam', ...args]);
    return { code, output: lines.join('\n') };
  } finally {
    console.log = original;
  }
}

test('palisade redteam prints a table, --json, and writes the evidence to --report', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'palisade-redteam-'));
  try {
    const report = join(directory, 'report.json');
    const table = await capture(['--only', 'bzx-2020,nomad-2022', '--report', report]);
    assert.equal(table.code, 0, table.output);
    assert.match(table.output, /bzx-2020 +1 +venue +refused/);
    assert.match(table.output, /2 run\(s\) of 2 attack\(s\): 2 refused, 0 succeeded/);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(written.refused, 2);
    assert.ok(written.results[0].evidence.statuses.length > 0);
    const json = await capture(['--only', 'wormhole-2022', '--json']);
    assert.equal(json.code, 0);
    const document = JSON.parse(json.output);
    assert.equal(document.results[0].verdict, 'refused');
    const usage = await capture(['--only', 'nope']);
    assert.equal(usage.code, 2);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('withholder-signer can fail: f + 1 withholders at n = 4 leave reports uncertified and the entry says so', () => {
  const outcome = withholderSigner({ seed: 1, aboveF: true });
  assert.equal(outcome.verdict, 'succeeded', outcome.evidence.statuses.join('\n'));
  assert.match(outcome.evidence.statuses[0]!, /0 of 3 reports certified/);
});

test('palisade redteam --url runs the API-reachable entries against a node on 127.0.0.1', async () => {
  const { createFixtureNode } = await import('../../src/node/api/fixture-node.ts');
  const { startApiServer } = await import('../../src/node/api/server.ts');
  const node = createFixtureNode({ traders: 2 });
  const api = await startApiServer({ view: node.view });
  node.finalizeBlock();
  const finalizing = setInterval(() => node.finalizeBlock(), 20);
  try {
    const run = await capture(['--url', api.url, '--json']);
    const document = JSON.parse(run.output);
    assert.equal(document.target, api.url);
    assert.deepEqual(
      document.results.map((result: { id: string; verdict: string }) => `${result.id} ${result.verdict}`),
      ['wormhole-2022 refused', 'nomad-2022 refused', 'harmony-2022 refused', 'mango-2022 refused'],
      run.output,
    );
    assert.equal(run.code, 0);
    const harmony = document.results.find((result: { id: string }) => result.id === 'harmony-2022');
    assert.match(harmony.summary, /no forgery verifies/);
    // Every other entry is named with why the API cannot reach it: the two lists cover the catalogue.
    const reached = new Set(document.results.map((result: { id: string }) => result.id));
    const named = document.notThroughApi as { id: string; why: string }[];
    assert.ok(named.every((entry) => entry.why.length > 20 && !reached.has(entry.id)));
    assert.deepEqual(
      [...reached, ...named.map((entry) => entry.id)].sort(),
      CATALOGUE.map((entry) => entry.id).sort(),
    );
    const table = await capture(['--url', api.url]);
    assert.match(table.output, /not run through the API \(\d+; the simulated catalogue runs them\):/);
    assert.match(table.output, /ronin-2022 +needs f validators’ FROST shares/);
  } finally {
    clearInterval(finalizing);
    await api.close();
  }
});
