import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMonitor, type Monitor } from '../../monitor/monitor.ts';
import type { BlockSignal } from '../../monitor/signals.ts';
import { createClient } from '../client.ts';
import type { NodeEvent, NodeView } from '../view.ts';
import { createFixtureNode } from './fixture-node.ts';
import { createApiServer, startApiServer } from './server.ts';

const trader = 'e5'.repeat(32);

function block(height: number, events: BlockSignal['events']): BlockSignal {
  return {
    kind: 'block',
    height,
    timeMs: height * 1000,
    events,
    finalityLatencyMs: 10,
    marks: new Map(),
    insuranceFund: 0n,
    totalDeposits: 0n,
  };
}

function selfTrade(height: number): BlockSignal {
  return block(height, [
    {
      type: 'fill',
      seriesId: 1,
      makerOrderId: height * 2,
      takerOrderId: height * 2 + 1,
      maker: trader,
      taker: trader,
      takerSide: 'buy',
      priceTicks: 1,
      lots: 1,
      makerFee: 0n,
      takerFee: 0n,
    },
  ]);
}

/** The fixture node's view with a monitor attached, as node.ts attaches one. */
function monitoredView(): { view: NodeView; monitor: Monitor } {
  const node = createFixtureNode();
  const monitor = createMonitor();
  const listeners = new Set<(event: NodeEvent) => void>();
  monitor.subscribe((findings) => {
    for (const listener of listeners) listener({ topic: 'findings', findings: [...findings] });
  });
  const view: NodeView = {
    ...node.view,
    findings: (query) => monitor.findings(query),
    findingCounts: () => monitor.counts(),
    subscribe(listener) {
      listeners.add(listener);
      const inner = node.view.subscribe(listener);
      return () => {
        listeners.delete(listener);
        inner();
      };
    },
  };
  return { view, monitor };
}

describe('GET /v1/findings', () => {
  test('newest first, filtered by severity, type and since', async () => {
    const { view, monitor } = monitoredView();
    monitor.ingest(selfTrade(1));
    monitor.ingest(block(2, [{ type: 'unrecoveredLoss', account: trader, amount: 9n }]));
    monitor.ingest(block(3, [{ type: 'seriesListed', seriesId: 4 }]));
    const app = createApiServer({ view });
    try {
      const all = await app.inject('/v1/findings');
      assert.equal(all.statusCode, 200);
      const body = all.json() as { findings: Array<{ alertId: string; metadata: Record<string, string> }> };
      assert.deepEqual(
        body.findings.map((f) => f.alertId),
        ['PALISADE-SERIES-LISTED', 'PALISADE-UNRECOVERED-LOSS', 'PALISADE-SELF-TRADE'],
      );
      assert.equal(body.findings[1]!.metadata.amount, '9');
      const critical = (await app.inject('/v1/findings?severity=Critical,High')).json();
      assert.deepEqual(
        critical.findings.map((f: { alertId: string }) => f.alertId),
        ['PALISADE-UNRECOVERED-LOSS'],
      );
      const suspicious = (await app.inject('/v1/findings?type=Suspicious')).json();
      assert.deepEqual(
        suspicious.findings.map((f: { alertId: string }) => f.alertId),
        ['PALISADE-SELF-TRADE'],
      );
      assert.equal((await app.inject('/v1/findings?since=2000')).json().findings.length, 2);
      assert.equal((await app.inject('/v1/findings?limit=1')).json().findings.length, 1);
    } finally {
      await app.close();
    }
  });

  test('bad filters are refused with INVALID_REQUEST naming the field', async () => {
    const { view } = monitoredView();
    const app = createApiServer({ view });
    try {
      for (const query of [
        'severity=Urgent',
        'severity=High,',
        'type=exploit',
        'since=-1',
        'limit=501',
        'extra=1',
      ]) {
        const response = await app.inject(`/v1/findings?${query}`);
        assert.equal(response.statusCode, 400, query);
        assert.equal(response.json().error.code, 'INVALID_REQUEST', query);
      }
    } finally {
      await app.close();
    }
  });

  test('a view without a monitor answers an empty list', async () => {
    const app = createApiServer({ view: createFixtureNode().view });
    try {
      assert.deepEqual((await app.inject('/v1/findings')).json(), { findings: [] });
    } finally {
      await app.close();
    }
  });

  test('/metrics counts findings by alert id and severity', async () => {
    const { view, monitor } = monitoredView();
    for (let height = 1; height <= 3; height++) monitor.ingest(selfTrade(height));
    monitor.ingest(block(4, [{ type: 'unrecoveredLoss', account: trader, amount: 9n }]));
    const app = createApiServer({ view });
    try {
      const text = (await app.inject('/metrics')).body;
      assert.match(text, /^palisade_findings_total\{alert_id="PALISADE-SELF-TRADE",severity="Low"\} 3$/m);
      assert.match(
        text,
        /^palisade_findings_total\{alert_id="PALISADE-UNRECOVERED-LOSS",severity="Critical"\} 1$/m,
      );
    } finally {
      await app.close();
    }
  });

  test('the stream pushes new findings to `findings` subscribers', async () => {
    const { view, monitor } = monitoredView();
    const api = await startApiServer({ view });
    try {
      const socket = new WebSocket(`${api.url.replace('http', 'ws')}/v1/stream?topics=findings`);
      const messages: Array<Record<string, unknown>> = [];
      const subscribed = new Promise<void>((resolve) => {
        socket.addEventListener('message', (event) => {
          const message = JSON.parse(String(event.data));
          messages.push(message);
          if (message.type === 'subscribed') resolve();
        });
      });
      await subscribed;
      monitor.ingest(selfTrade(7));
      const deadline = Date.now() + 5000;
      while (!messages.some((m) => m.topic === 'findings') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      const pushed = messages.find((m) => m.topic === 'findings') as {
        findings: Array<{ alertId: string; height: number }>;
      };
      assert.ok(pushed !== undefined, 'a findings message arrived');
      assert.deepEqual(
        pushed.findings.map((f) => [f.alertId, f.height]),
        [['PALISADE-SELF-TRADE', 7]],
      );
      socket.close();
    } finally {
      await api.close();
    }
  });

  test('the client reads findings with the same filters', async () => {
    const { view, monitor } = monitoredView();
    monitor.ingest(selfTrade(1));
    monitor.ingest(block(2, [{ type: 'unrecoveredLoss', account: trader, amount: 9n }]));
    const api = await startApiServer({ view });
    try {
      const client = createClient({ url: api.url });
      assert.deepEqual(
        (await client.findings()).map((f) => f.alertId),
        ['PALISADE-UNRECOVERED-LOSS', 'PALISADE-SELF-TRADE'],
      );
      const critical = await client.findings({
        severities: ['Critical'],
        types: ['Degraded'],
        sinceMs: 0,
        limit: 5,
      });
      assert.deepEqual(
        critical.map((f) => f.alertId),
        ['PALISADE-UNRECOVERED-LOSS'],
      );
      await assert.rejects(client.findings({ limit: 10_000 }), { code: 'INVALID_REQUEST' });
    } finally {
      await api.close();
    }
  });
});
