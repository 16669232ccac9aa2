/**
 * The security specification and `palisade conformance`: the machine file matches its schema and
 * the prose; the checker passes every applicable automatic control on a sound network and fails
 * exactly the controls a weakened configuration breaks (one governance key, a FROST threshold
 * below 2f + 1, a validator down); SARIF output has the 2.1.0 shape code-scanning tools read.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { assessRisk } from '../../risk/assess.ts';
import {
  CHECKS,
  type ConformanceResult,
  checkConformance,
  conformanceHtml,
  conformanceSarif,
  parseSpecification,
} from '../../risk/conformance.ts';
import { collectSnapshot } from '../../risk/snapshot.ts';
import { createFixtureNode, type FixtureNode } from '../api/fixture-node.ts';
import type { NetworkInfo } from '../api/network.ts';
import { startApiServer } from '../api/server.ts';
import { conformanceOf, loadSpecification } from './conformance.ts';
import { httpFetchers } from './risk.ts';
import { fixtureNetwork, serveFixture } from './risk-fixtures.ts';

const specDir = join(import.meta.dirname, '..', '..', '..', 'docs', 'spec');
const specJson = JSON.parse(readFileSync(join(specDir, 'controls.json'), 'utf8'));
const specification = loadSpecification();

test('controls.json is valid against controls.schema.json, CC-BY-4.0, and covers every domain the specification names', () => {
  const schema = JSON.parse(readFileSync(join(specDir, 'controls.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema) as ((
    data: unknown,
  ) => boolean) & { errors?: unknown };
  assert.ok(validate(specJson), JSON.stringify(validate.errors));
  assert.equal(specJson.license, 'CC-BY-4.0');
  const domains = new Set(specification.controls.map((c) => c.domain));
  for (const domain of [
    'consensus',
    'oracle',
    'keys',
    'bridge',
    'ordering',
    'monitoring',
    'parameters',
    'governance',
    'testing',
  ])
    assert.ok(domains.has(domain as never), domain);
  const incidents = new Set(specification.controls.flatMap((c) => c.incidents));
  for (const name of ['Mango', 'Ronin', 'Wormhole', 'Nomad', 'Harmony', 'bZx', 'KiloEx', 'JELLY'])
    assert.ok(incidents.has(name), name);
  // A control without a rationale is refused by the schema, and an unknown check by the parser.
  const broken = structuredClone(specJson);
  delete broken.controls[0].rationale;
  assert.equal(validate(broken), false);
  const unknownCheck = structuredClone(specJson);
  unknownCheck.controls[0].check = { method: 'automatic', checkId: 'consensus.vibes' };
  assert.throws(() => parseSpecification(unknownCheck), {
    code: 'INVALID_SPEC',
    field: 'controls[0].check.checkId',
  });
});

test('the prose (docs/spec/README.md) and controls.json list the same controls with the same requirement, evidence and check', () => {
  const prose = readFileSync(join(specDir, 'README.md'), 'utf8');
  const sections = [...prose.matchAll(/^### (PDS-[A-Z]{3}-\d{2}) — (.+)$([\s\S]*?)(?=^##|(?![\s\S]))/gm)];
  assert.deepEqual(
    sections.map((s) => s[1]),
    specification.controls.map((c) => c.id),
  );
  assert.match(prose, new RegExp(`version ${specJson.version.replace(/\./g, '\\.')}`));
  for (const [section, control] of sections.map((s, i) => [s, specification.controls[i]!] as const)) {
    assert.equal(section[2], control.title, control.id);
    const body = section[3]!;
    assert.ok(body.includes(`**Requirement.** ${control.requirement}`), `${control.id} requirement`);
    assert.ok(body.includes(`**Evidence.** ${control.evidence}`), `${control.id} evidence`);
    const check =
      control.check.method === 'automatic'
        ? `**Check.** automatic (\`${control.check.checkId}\`)`
        : '**Check.** declared evidence';
    assert.ok(body.includes(check), `${control.id} check`);
  }
  // Every automatic check the checker implements is used by some control, and the other way round.
  const used = new Set(
    specification.controls.flatMap((c) => (c.check.method === 'automatic' ? [c.check.checkId] : [])),
  );
  assert.deepEqual([...used].sort(), Object.keys(CHECKS).sort());
});

function newNode(blocks: number): FixtureNode {
  const node = createFixtureNode();
  for (let i = 0; i < blocks; i++) node.finalizeBlock({ priceUsdc: 60_000 + i });
  return node;
}

async function conformance(node: FixtureNode, network: NetworkInfo): Promise<ConformanceResult> {
  const api = await serveFixture(node, network, []);
  try {
    return await conformanceOf(api.url, specification, { 'PDS-TST-02': 'https://ci.example/redteam/latest' });
  } finally {
    await api.close();
  }
}

const failing = (result: ConformanceResult) =>
  result.results.filter((r) => r.status === 'fail').map((r) => r.id);

test('a sound network passes every applicable automatic control; one governance key, a threshold below 2f + 1 or a validator down fail exactly the controls that say so', async () => {
  const node = newNode(12);
  const sound = await conformance(node, fixtureNetwork(node));
  assert.deepEqual(failing(sound), [], JSON.stringify(sound.results.filter((r) => r.status === 'fail')));
  assert.equal(sound.summary.conforms, true);
  for (const r of sound.results) {
    if (r.method === 'declared')
      assert.equal(r.status, r.id === 'PDS-TST-02' ? 'declared' : 'undeclared', r.id);
    else if (r.id.startsWith('PDS-BRG')) assert.equal(r.status, 'not-applicable', r.id);
    else assert.equal(r.status, 'pass', `${r.id}: ${r.evidence}`);
  }

  const oneKey = await conformance(node, fixtureNetwork(node, { governanceKeys: 1, governanceThreshold: 1 }));
  assert.deepEqual(failing(oneKey), ['PDS-GOV-01']);
  assert.equal(oneKey.summary.conforms, false);

  const lowThreshold = await conformance(node, fixtureNetwork(node, { keysetThreshold: 2 }));
  assert.deepEqual(failing(lowThreshold), ['PDS-ORA-02']);
  assert.match(
    lowThreshold.results.find((r) => r.id === 'PDS-ORA-02')!.evidence,
    /threshold 2 of 4; 2f \+ 1 = 3/,
  );

  const concentrated = await conformance(
    node,
    fixtureNetwork(node, { operators: ['acme', 'acme', 'b', 'c'] }),
  );
  assert.deepEqual(failing(concentrated), ['PDS-CON-03']);

  node.setConnected(3, false);
  const oneDown = await conformance(node, fixtureNetwork(node));
  assert.deepEqual(failing(oneDown), ['PDS-CON-04']);
});

test('SARIF 2.1.0: one rule per control, one result per control naming its rule, kinds and levels as the standard pairs them', async () => {
  const node = newNode(6);
  const api = await serveFixture(
    node,
    fixtureNetwork(node, { governanceKeys: 1, governanceThreshold: 1 }),
    [],
  );
  try {
    const snapshot = await collectSnapshot(httpFetchers(api.url), { url: api.url, nowMs: 0 });
    const result = checkConformance(specification, snapshot, assessRisk(snapshot));
    const sarif = JSON.parse(JSON.stringify(conformanceSarif(specification, result, '0.1.0')));
    // The parts of the OASIS SARIF 2.1.0 schema a consumer relies on, written out here (no network).
    const sarifShape = {
      type: 'object',
      required: ['version', 'runs'],
      properties: {
        version: { const: '2.1.0' },
        $schema: { type: 'string' },
        runs: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['tool', 'results'],
            properties: {
              tool: {
                type: 'object',
                required: ['driver'],
                properties: {
                  driver: {
                    type: 'object',
                    required: ['name', 'rules'],
                    properties: {
                      name: { type: 'string' },
                      rules: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['id', 'shortDescription'],
                          properties: {
                            id: { type: 'string' },
                            shortDescription: { type: 'object', required: ['text'] },
                            defaultConfiguration: {
                              type: 'object',
                              properties: { level: { enum: ['none', 'note', 'warning', 'error'] } },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['ruleId', 'message', 'kind', 'level'],
                  properties: {
                    ruleId: { type: 'string' },
                    ruleIndex: { type: 'integer', minimum: 0 },
                    kind: { enum: ['notApplicable', 'pass', 'fail', 'review', 'open', 'informational'] },
                    level: { enum: ['none', 'note', 'warning', 'error'] },
                    message: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
                  },
                },
              },
            },
          },
        },
      },
    };
    const validate = new Ajv({ strict: false }).compile(sarifShape) as ((data: unknown) => boolean) & {
      errors?: unknown;
    };
    assert.ok(validate(sarif), JSON.stringify(validate.errors));
    const run = sarif.runs[0];
    assert.equal(run.tool.driver.rules.length, specification.controls.length);
    assert.equal(run.results.length, specification.controls.length);
    for (const r of run.results) {
      assert.equal(run.tool.driver.rules[r.ruleIndex].id, r.ruleId);
      if (r.kind === 'fail') assert.notEqual(r.level, 'none');
      else assert.equal(r.level, 'none');
    }
    assert.deepEqual(
      run.results.filter((r: { kind: string }) => r.kind === 'fail').map((r: { ruleId: string }) => r.ruleId),
      ['PDS-GOV-01'],
    );
    const html = conformanceHtml(result);
    assert.match(html, /PDS-GOV-01/);
    assert.doesNotMatch(html, /<script|src=/);
  } finally {
    await api.close();
  }
});

test('a node serving a forged finality certificate (quorum of signers, one signature flipped) fails PDS-CON-02: certificates are verified, not only counted', async () => {
  const node = newNode(6);
  const forged = {
    ...node.view,
    block(height: number) {
      const block = node.view.block(height) as ReturnType<FixtureNode['view']['block']> & {
        finalization: { votes: Array<{ signature: string }> };
      };
      if (block === undefined || height !== 4) return block;
      const copy = structuredClone(block);
      const signature = copy.finalization.votes[0]!.signature;
      // Flip the last hex digit of the first finalize signature: the signer count is unchanged.
      copy.finalization.votes[0]!.signature =
        `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
      return copy;
    },
  };
  const api = await startApiServer({
    view: { ...forged, findings: () => [] },
    network: fixtureNetwork(node),
  });
  try {
    const result = await conformanceOf(api.url, specification);
    const control = result.results.find((r) => r.id === 'PDS-CON-02')!;
    assert.equal(control.status, 'fail', control.evidence);
    assert.match(control.evidence, /6 of 6 finality certificates carry quorum power; 5 of 6 verify/);
  } finally {
    await api.close();
  }
});
