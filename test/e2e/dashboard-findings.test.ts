/**
 * The dashboard's findings panel in headless Chromium (Debian's, through playwright-core): a
 * validator's findings appear newest first, a new one shows up live, and a description carrying
 * markup is shown as text (never parsed). Skipped, saying so, when /usr/bin/chromium is missing;
 * CI installs it (.ci/run).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Detector } from '../../src/monitor/detector.ts';
import { createFinding, type Finding } from '../../src/monitor/finding.ts';
import { createMonitor } from '../../src/monitor/monitor.ts';
import { createFixtureNode } from '../../src/node/api/fixture-node.ts';
import { startApiServer } from '../../src/node/api/server.ts';
import { createDashboardServer } from '../../src/node/dashboard/server.ts';
import type { NodeView } from '../../src/node/view.ts';

const CHROMIUM = '/usr/bin/chromium';

test('findings panel: newest first, live, markup shown as text', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`,
  timeout: 120_000,
}, async () => {
  // A detector that reports whatever the test queues, so the page's content is known exactly.
  const queued: Finding[] = [];
  const relay: Detector = { name: 'relay', observe: () => queued.splice(0) };
  const monitor = createMonitor({ detectors: [relay] });
  const report = (height: number, alertId: string, description: string, severity: Finding['severity']) => {
    queued.push(
      createFinding({
        alertId,
        name: alertId,
        description,
        severity,
        type: 'Suspicious',
        height,
        timeMs: height * 1000,
      }),
    );
    monitor.ingest({ kind: 'mempool', height, timeMs: 0, refused: {}, transactions: 0, transactionsMax: 1 });
  };
  report(1, 'PALISADE-FIRST', 'the older one', 'Low');
  report(2, 'PALISADE-SECOND', 'the newer one', 'High');

  const node = createFixtureNode();
  const view: NodeView = {
    ...node.view,
    findings: (query) => monitor.findings(query),
    findingCounts: () => monitor.counts(),
  };
  const api = await startApiServer({ view });
  const dashboard = await createDashboardServer({ validators: [{ index: 0, apiUrl: api.url }], pollMs: 200 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(dashboard.url);
    const rows = page.locator('[data-testid="findings"] tbody tr[data-alert-id]');
    await rows.nth(1).waitFor({ timeout: 30_000 });
    assert.deepEqual(await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-alert-id'))), [
      'PALISADE-SECOND',
      'PALISADE-FIRST',
    ]);

    const hostile = '<img src=x onerror="document.title=\'owned\'">';
    report(3, 'PALISADE-THIRD', hostile, 'Critical');
    await page
      .locator('[data-testid="findings"] tbody tr[data-alert-id="PALISADE-THIRD"]')
      .waitFor({ timeout: 30_000 });
    assert.equal(
      await rows.first().getAttribute('data-alert-id'),
      'PALISADE-THIRD',
      'the new finding is on top',
    );
    assert.equal(await rows.first().locator('td.description').textContent(), hostile, 'shown as text');
    assert.equal(await page.locator('[data-testid="findings"] img').count(), 0, 'never parsed as markup');
    assert.notEqual(await page.title(), 'owned');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await dashboard.close();
    await api.close();
  }
});
