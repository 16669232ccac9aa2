import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFinding, type Finding } from '../../monitor/finding.ts';
import { createMonitor } from '../../monitor/monitor.ts';
import { createFixtureNode } from '../api/fixture-node.ts';
import { startApiServer } from '../api/server.ts';
import type { NodeView } from '../view.ts';
import { pollFindings } from './findings.ts';
import { createDashboardServer } from './server.ts';

function finding(height: number, timeMs: number): Finding {
  return createFinding({
    alertId: 'PALISADE-TEST',
    name: 'test',
    description: '<img src=x onerror=alert(1)>',
    severity: 'High',
    type: 'Suspicious',
    height,
    timeMs,
  });
}

test('findings from every validator that answers, merged newest first; a failing one adds nothing', async () => {
  const answers: Record<string, Finding[]> = {
    'http://a': [finding(5, 500), finding(2, 200)],
    'http://b': [finding(4, 400)],
  };
  const rows = await pollFindings(
    [
      { index: 0, apiUrl: 'http://a' },
      { index: 1, apiUrl: 'http://b' },
      { index: 2, apiUrl: 'http://down' },
    ],
    async (apiUrl) => {
      const findings = answers[apiUrl];
      if (findings === undefined) throw new Error('unreachable');
      return { findings };
    },
  );
  assert.deepEqual(
    rows.map((row) => [row.validator, row.height]),
    [
      [0, 5],
      [1, 4],
      [0, 2],
    ],
  );
});

test('the dashboard snapshot carries the validators findings and the page loads the panel', async () => {
  const node = createFixtureNode();
  const monitor = createMonitor();
  const view: NodeView = {
    ...node.view,
    findings: (query) => monitor.findings(query),
    findingCounts: () => monitor.counts(),
  };
  monitor.ingest({
    kind: 'block',
    height: 3,
    timeMs: 3_000,
    events: [{ type: 'unrecoveredLoss', account: 'a7'.repeat(32), amount: 1n }],
    finalityLatencyMs: 5,
    marks: new Map(),
    insuranceFund: 0n,
    totalDeposits: 0n,
  });
  const api = await startApiServer({ view });
  const dashboard = await createDashboardServer({
    validators: [{ index: 0, apiUrl: api.url }],
    pollMs: 60_000,
  });
  try {
    const rows = dashboard.snapshot().findings;
    assert.deepEqual(
      rows.map((row) => [row.validator, row.alertId, row.severity]),
      [[0, 'PALISADE-UNRECOVERED-LOSS', 'Critical']],
    );
    const page = await (await fetch(dashboard.url)).text();
    assert.match(page, /data-testid="findings"/);
    assert.match(page, /<script type="module" src="\/findings-panel.js"><\/script>/);
    const script = await fetch(`${dashboard.url}/findings-panel.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    const text = await script.text();
    assert.match(text, /textContent/);
    assert.doesNotMatch(text, /innerHTML/, 'values never become markup');
  } finally {
    await dashboard.close();
    await api.close();
  }
});
