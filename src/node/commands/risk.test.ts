/**
 * `palisade risk` over a loopback API: the test node (src/node/api/fixture-node.ts) serves real
 * blocks with finality certificates and signed observations; `/v1/network` describes it; one
 * scenario adds a monitor whose real source-health detector saw one oracle source freeze. The
 * figures must move the right way: a validator down cuts the liveness margin, a concentrated
 * operator cuts the Nakamoto coefficient, a stuck source loses uptime, and the JSON matches its
 * schema in docs/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { assessRisk, type RiskReport } from '../../risk/assess.ts';
import { riskReportHtml } from '../../risk/html.ts';
import { collectSnapshot } from '../../risk/snapshot.ts';
import { createFixtureNode, type FixtureNode } from '../api/fixture-node.ts';
import { createDashboardServer } from '../dashboard/server.ts';
import { httpFetchers } from './risk.ts';
import { fixtureNetwork, serveFixture, stuckSourceFindings } from './risk-fixtures.ts';

const root = join(import.meta.dirname, '..', '..', '..');

async function reportOf(url: string, windowBlocks = 100): Promise<RiskReport> {
  return assessRisk(
    await collectSnapshot(httpFetchers(url), { url, windowBlocks, nowMs: 1_700_000_000_000 }),
  );
}

function newNode(blocks: number): FixtureNode {
  const node = createFixtureNode();
  for (let i = 0; i < blocks; i++) node.finalizeBlock({ priceUsdc: 60_000 + i });
  return node;
}

test('a healthy 4-validator network: safety and liveness Nakamoto 2, one more may fail, every figure has a method, JSON matches docs/risk-report.schema.json', async () => {
  const node = newNode(30);
  const api = await serveFixture(node, fixtureNetwork(node));
  try {
    const report = await reportOf(api.url);
    assert.equal(report.window.blocks, 30);
    assert.equal(report.dispersion.nakamotoSafety.value, 2);
    assert.equal(report.dispersion.nakamotoLiveness.value, 2);
    assert.deepEqual(report.dispersion.connected.value, { validators: 4, votingPower: 4 });
    assert.deepEqual(report.dispersion.livenessMargin.value, {
      validators: 1,
      votingPower: 1,
      finalityStopped: false,
    });
    assert.equal(report.finality.blockIntervalMs.value.p50, 1000);
    assert.equal(report.finality.nullifiedViewShare.value, 0);
    assert.deepEqual(report.finality.certificatesWithQuorum.value, {
      checked: 30,
      withQuorum: 30,
      verified: 30,
    });
    for (const v of report.oracle.perValidator.value) assert.equal(v.uptime, 1, `validator ${v.validator}`);
    // The fixture's validators see prices 5 USDC apart around 60,000: about 0.8 to 1.7 bps from the median.
    assert.ok(report.oracle.perValidator.value.every((v) => (v.deviationBpsMax ?? 99) < 2));
    assert.equal(report.bridge.status, 'not-applicable');
    assert.ok(report.premium.expectedLossBpsPerYear > 0 && report.premium.expectedLossBpsPerYear < 10_000);
    for (const key of ['nakamotoSafety', 'nakamotoLiveness', 'connected', 'livenessMargin'] as const)
      assert.ok(report.dispersion[key].method.length > 20, key);

    const schema = JSON.parse(readFileSync(join(root, 'docs', 'risk-report.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema) as ((
      data: unknown,
    ) => boolean) & { errors?: unknown };
    const json = JSON.parse(JSON.stringify(report));
    assert.ok(validate(json), JSON.stringify(validate.errors));
    // The schema is not a blank cheque: a report missing its premium is refused.
    delete json.premium;
    assert.equal(validate(json), false);

    const html = riskReportHtml(report);
    assert.match(html, /<svg[^>]*aria-label="risk rosette"/);
    assert.match(html, /aria-label="block interval"/);
    assert.doesNotMatch(html, /<script|src=|href="http|@import|url\(/);
  } finally {
    await api.close();
  }
});

test('one validator down: the liveness margin drops to zero and the expected loss rises; two down: finality stopped', async () => {
  const node = newNode(20);
  const api = await serveFixture(node, fixtureNetwork(node));
  try {
    const healthy = await reportOf(api.url);
    node.setConnected(3, false);
    const degraded = await reportOf(api.url);
    assert.deepEqual(degraded.dispersion.connected.value, { validators: 3, votingPower: 3 });
    assert.deepEqual(degraded.dispersion.livenessMargin.value, {
      validators: 0,
      votingPower: 0,
      finalityStopped: false,
    });
    assert.ok(
      degraded.premium.components.liveness.lossBps > healthy.premium.components.liveness.lossBps,
      `${degraded.premium.components.liveness.lossBps} > ${healthy.premium.components.liveness.lossBps}`,
    );
    node.setConnected(2, false);
    const halted = await reportOf(api.url);
    assert.equal(halted.dispersion.livenessMargin.value.finalityStopped, true);
    assert.equal(halted.premium.components.liveness.haltedHoursPerYear, 8760);
  } finally {
    await api.close();
  }
});

test('two validators run by one operator: the Nakamoto coefficient for safety falls to 1 and the safety loss rises; undeclared metadata counts as one group', async () => {
  const node = newNode(5);
  const spread = await serveFixture(node, fixtureNetwork(node));
  const concentrated = await serveFixture(
    node,
    fixtureNetwork(node, { operators: ['acme', 'acme', 'b', 'c'] }),
  );
  const undeclared = await serveFixture(node, undefined);
  try {
    const a = await reportOf(spread.url);
    const b = await reportOf(concentrated.url);
    const c = await reportOf(undeclared.url);
    assert.equal(a.dispersion.nakamotoSafety.value, 2);
    assert.equal(b.dispersion.nakamotoSafety.value, 1);
    assert.match(b.dispersion.nakamotoSafety.method, /binding: operator/);
    assert.ok(b.premium.components.safety.lossBps > a.premium.components.safety.lossBps);
    assert.equal(c.dispersion.declared, false);
    assert.equal(c.dispersion.nakamotoSafety.value, 1);
    assert.ok(c.dispersion.validators.every((v) => v.operator === 'unknown' && v.keyCustody === 'unknown'));
  } finally {
    await Promise.all([spread.close(), concentrated.close(), undeclared.close()]);
  }
});

test('one oracle source stuck: its uptime and status worsen, the others stay healthy', async () => {
  const node = newNode(90);
  const startMs = (await node.view.block(1))!.timeMs;
  const findings = stuckSourceFindings(startMs, 90, { divergingSource: true });
  assert.ok(findings.some((f) => f.alertId === 'PALISADE-ORACLE-SOURCE-STUCK'));
  const healthyApi = await serveFixture(node, fixtureNetwork(node), []);
  const stuckApi = await serveFixture(node, fixtureNetwork(node), findings);
  try {
    const healthy = await reportOf(healthyApi.url);
    const stuck = await reportOf(stuckApi.url);
    const source = (r: RiskReport, id: string) => r.oracle.perSource.value!.find((s) => s.source === id)!;
    assert.equal(source(healthy, 'venue-c').uptime, 1);
    assert.equal(source(stuck, 'venue-c').status, 'stuck');
    assert.ok(source(stuck, 'venue-c').uptime < 0.5, `uptime ${source(stuck, 'venue-c').uptime}`);
    assert.equal(source(stuck, 'venue-d').status, 'diverging');
    assert.ok(
      (source(stuck, 'venue-d').deviationBpsMax ?? 0) >= 400,
      `${source(stuck, 'venue-d').deviationBpsMax}`,
    );
    assert.equal(source(stuck, 'venue-a').deviationBpsMax, null);
    assert.equal(source(stuck, 'venue-a').status, 'healthy');
    assert.equal(source(stuck, 'venue-a').uptime, 1);
  } finally {
    await Promise.all([healthyApi.close(), stuckApi.close()]);
  }
});

test('an unreachable node is a typed UNREACHABLE error, and a non-API answer BAD_RESPONSE', async () => {
  await assert.rejects(reportOf('http://127.0.0.1:9'), { code: 'UNREACHABLE' });
  const fetchers = {
    fetchJson: async () => ({ status: 200, body: { height: 'tall' } }),
    fetchText: async () => ({ status: 404, text: '' }),
  };
  await assert.rejects(collectSnapshot(fetchers, { url: 'x', nowMs: 0 }), { code: 'BAD_RESPONSE' });
});

test("the dashboard's /risk serves the live report of the first validator that answers, and its page links to it", async () => {
  const node = newNode(4);
  const api = await serveFixture(node, fixtureNetwork(node), []);
  const dashboard = await createDashboardServer({
    validators: [
      { index: 0, apiUrl: 'http://127.0.0.1:9' },
      { index: 1, apiUrl: api.url },
    ],
    pollMs: 60_000,
  });
  try {
    const page = await fetch(`${dashboard.url}/risk`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /aria-label="risk rosette"/);
    assert.match(await (await fetch(`${dashboard.url}/`)).text(), /href="\/risk"/);
  } finally {
    await dashboard.close();
    await api.close();
  }
});
