/**
 * Halts on the dashboard, live, in headless Chromium: a guardian halt of every market, taken by the
 * real engine from a 2-of-3 guardian proposal, reaches the node's monitor as block events; the
 * governance detector makes it a High finding, and the dashboard's findings panel shows it while
 * the page is open, then its lift by three governors. Skipped, saying so, without /usr/bin/chromium.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import type { GovernanceAction } from '../../src/codec/execution.ts';
import { createEngine } from '../../src/execution/engine.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  GOVERNORS,
  GUARDIANS,
  governed,
  testGenesis,
} from '../../src/execution/fixtures.ts';
import { GovernanceDetector } from '../../src/monitor/detectors/governance.ts';
import { createMonitor } from '../../src/monitor/monitor.ts';
import { createFixtureNode } from '../../src/node/api/fixture-node.ts';
import { startApiServer } from '../../src/node/api/server.ts';
import { createDashboardServer } from '../../src/node/dashboard/server.ts';
import type { NodeView } from '../../src/node/view.ts';

const CHROMIUM = '/usr/bin/chromium';

test('dashboard: a governance halt and its lift show live in the findings panel', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`,
  timeout: 120_000,
}, async () => {
  const engine = createEngine(testGenesis());
  const txs = createTransactionBuilder();
  const monitor = createMonitor({ detectors: [new GovernanceDetector()] });
  const apply = (action: GovernanceAction, signers: typeof GOVERNORS) => {
    const result = engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions: [txs.next(GOVERNANCE, governed(action, { signers }))],
      oracle: [],
    });
    assert.equal(result.results[0]!.status, 'OK');
    monitor.ingest({
      kind: 'block',
      height: result.height,
      timeMs: engine.timeMs,
      events: result.events,
      finalityLatencyMs: null,
      marks: new Map(),
      insuranceFund: 0n,
      totalDeposits: 0n,
    });
  };

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
    await page.locator('[data-testid="findings"]').waitFor({ timeout: 30_000 });
    apply({ kind: 'haltMarkets', value: { underlyingId: 0 } }, GUARDIANS.slice(0, 2));
    const halt = page.locator('[data-testid="findings"] tbody tr[data-alert-id="PALISADE-GOVERNANCE-HALT"]');
    await halt.waitFor({ timeout: 30_000 });
    assert.match((await halt.locator('td.description').textContent()) ?? '', /halted every market/);
    apply({ kind: 'resumeMarkets', value: { underlyingId: 0 } }, GOVERNORS.slice(0, 3));
    const rows = page.locator('[data-testid="findings"] tbody tr[data-alert-id]');
    await page
      .locator('[data-testid="findings"] tbody tr[data-alert-id="PALISADE-GOVERNANCE-RESUME"]')
      .waitFor({ timeout: 30_000 });
    assert.equal(
      await rows.first().getAttribute('data-alert-id'),
      'PALISADE-GOVERNANCE-RESUME',
      'newest first',
    );
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await dashboard.close();
    await api.close();
  }
});
