/**
 * The operator files in docs/ops stay true to the node: the Prometheus rules parse and their unit
 * tests pass (`promtool`, Debian's `prometheus` package; .ci/run installs it), and every metric the
 * rules and the Grafana dashboard query is one the node's `/metrics` actually exports.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { createApiServer } from '../src/node/api/server.ts';
import type { NodeView } from '../src/node/view.ts';

const opsDirectory = resolve(import.meta.dirname, '..', 'docs', 'ops');
/** Series Prometheus makes itself, not the node. */
const PROMETHEUS_SERIES = new Set(['up']);
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

function promtool(...args: string[]) {
  return spawnSync('promtool', args, { cwd: opsDirectory, encoding: 'utf8', timeout: 60_000 });
}

const promtoolPresent = promtool('--version').error === undefined;

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice(match.index + name.length).trimStart();
    if (after.startsWith('(') || PROMQL_WORDS.has(name.toLowerCase())) continue;
    if (name.startsWith('$')) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name the node's `/metrics` exposes (histograms with their three suffixes). */
async function exportedSeries(): Promise<Set<string>> {
  const view = {
    status: () => ({ height: 0 }),
    metrics: () => ({
      peersConnected: 0,
      mempoolTransactions: 0,
      mempoolBytes: 0,
      messagesDropped: {},
      transactionsRefused: {},
    }),
    subscribe: () => () => {},
  } as unknown as NodeView;
  const app = createApiServer({ view });
  try {
    const text = (await app.inject('/metrics')).body;
    const series = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      series.add(name!);
      if (type === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) series.add(`${name}${suffix}`);
    }
    return series;
  } finally {
    await app.close();
  }
}

function ruleExpressions(): string[] {
  const text = readFileSync(join(opsDirectory, 'alerts.yml'), 'utf8');
  return [...text.matchAll(/^\s+expr: (.+)$/gm)].map((match) => match[1]!.trim());
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(join(opsDirectory, 'grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ query?: unknown }> };
  };
  const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'string' ? variable.query : '';
    const inner = /^label_values\((.+),\s*\w+\)$/.exec(query);
    if (inner !== null) exprs.push(inner[1]!);
  }
  return exprs;
}

test('promtool check rules docs/ops/alerts.yml', (context) => {
  if (!promtoolPresent) {
    context.skip('promtool is not installed (apt-get install prometheus); .ci/run installs it');
    return;
  }
  const result = promtool('check', 'rules', 'alerts.yml');
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: the alerts fire on the failures they describe and not otherwise', (context) => {
  if (!promtoolPresent) {
    context.skip('promtool is not installed (apt-get install prometheus); .ci/run installs it');
    return;
  }
  const result = promtool('test', 'rules', 'alerts.test.yml');
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

test('the metric-name extractor finds metrics and nothing else', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (instance, le) (rate(palisade_x_bucket{job="a",le=~"1|2"}[5m]))) > 2',
    ),
    ['palisade_x_bucket'],
  );
  assert.deepEqual(metricNames('scalar(max(a_total)) - b_total > 20 and on() count(c) > 1'), [
    'a_total',
    'b_total',
    'c',
  ]);
});

test('every metric the alert rules and the Grafana dashboard query is exported by the node', async () => {
  const exported = await exportedSeries();
  assert.ok(exported.has('palisade_findings_total'), 'the findings counter is registered');
  const rules = ruleExpressions();
  const panels = dashboardExpressions();
  assert.ok(rules.length >= 10 && panels.length >= 10, 'both files were read');
  const referenced = new Set([...rules, ...panels].flatMap(metricNames));
  const missing = [...referenced].filter((name) => !exported.has(name) && !PROMETHEUS_SERIES.has(name));
  assert.deepEqual(missing, [], `queried but not exported: ${missing.join(', ')}`);
  // And the other way round: each exported metric is on the dashboard.
  const onDashboard = new Set(panels.flatMap(metricNames));
  const unshown = [...exported].filter(
    (name) =>
      !onDashboard.has(name) && !/_(bucket|sum|count)$/.test(name) && !onDashboard.has(`${name}_bucket`),
  );
  assert.deepEqual(unshown, [], `exported but not on the dashboard: ${unshown.join(', ')}`);
});
