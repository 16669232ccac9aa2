/**
 * The feed turns what the layers expose into signals the detectors understand: the layers are
 * stood in for by objects with the same shapes (the real ones need a network), and each finding
 * checks one path of the wiring end to end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Monitor } from '../monitor/monitor.ts';
import { createMonitor } from '../monitor/monitor.ts';
import type { Quote } from '../oracle/source.ts';
import type { Clock } from '../runtime/types.ts';
import type { AppliedBlock } from './app.ts';
import { createMonitorFeed, type MonitorFeedOptions } from './monitor-feed.ts';

const trader = 'f6'.repeat(32);

function setup(overrides: { refusals?: Record<string, number>; quotes?: Quote[] } = {}) {
  const listeners = new Set<(applied: AppliedBlock) => void>();
  const timers: Array<() => void> = [];
  const clock: Clock = {
    now: () => 0,
    setTimer: (_delay, callback) => {
      timers.push(callback);
      return () => {};
    },
  };
  const app = {
    engine: {
      height: 5,
      series: () => [
        { seriesId: 1, markPrice: 1_000_000n, tickSize: 1_000, openInterestLots: 1_000, status: 'active' },
      ],
      ledger: () => ({ insuranceFund: 1_000n, totalDeposits: 1_000_000n }),
      accounts: () => [
        { publicKey: trader, positions: [{ seriesId: 1, lots: 950 }] },
        { publicKey: 'ab'.repeat(32), positions: [{ seriesId: 1, lots: -950 }] },
      ],
    },
    mempool: { stats: () => ({ transactions: 0, refused: { BAD_SIGNATURE: 0 } }) },
    onApplied: (listener: (applied: AppliedBlock) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as MonitorFeedOptions['app'];
  const monitor: Monitor = createMonitor();
  const feed = createMonitorFeed({
    monitor,
    app,
    consensus: {
      status: () => ({
        running: true,
        view: 30,
        finalizedHeight: 5,
        finalizedView: 10,
        finalizedDigest: new Uint8Array(32),
        proposalHeight: 7,
        proposalLeader: undefined,
        conflictingFinalizations: 0,
      }),
      dropCounters: () => ({ 2: { 'bad-signature': 25 } }),
    },
    transport: {
      status: () =>
        ({
          peers: [{ peer: 2, banned: false, drops: {} }],
          refusals: overrides.refusals ?? {},
          handshaking: { reserved: 0, strangers: 0 },
        }) as never,
    },
    evidence: () => [{ validator: 1, kind: 'finalize-conflict', view: 9, evidence: {} as never }],
    quotes: () => overrides.quotes ?? [],
    assets: [{ assetId: 1 }],
    clock,
    wallClock: () => 1_700_000_000_000,
    openInterestEveryBlocks: 5,
  });
  const apply = (applied: Partial<AppliedBlock> & { events?: unknown[] }) => {
    for (const listener of listeners)
      listener({
        summary: { height: 5, timeMs: 1_700_000_000_000 } as never,
        result: { events: applied.events ?? [] } as never,
        aggregate: {
          prices: [{ assetId: 1, priceTicks: 100_000n, flags: 0 }],
          dropped: [],
          equivocations: [],
        } as never,
        finalityLatencyMs: 10,
        replay: applied.replay ?? false,
        fair: { admitted: 0, executed: 0, openedHeights: [], earlyShareOffenders: [] },
      });
  };
  return { monitor, feed, apply, timers };
}

test('a sample reports evidence, a nullification run and a peer sending bad signatures', async () => {
  const { monitor, feed } = setup({ refusals: { wrong_peer_key: 5 } });
  await feed.sample();
  assert.deepEqual(
    monitor
      .findings()
      .map((f) => f.alertId)
      .sort(),
    [
      'PALISADE-EQUIVOCATION',
      'PALISADE-NULLIFICATION-RUN',
      'PALISADE-PEER-AUTH-FAILURE',
      'PALISADE-PEER-BAD-FRAMES',
    ],
  );
});

test('an applied block reports off-mark and self trades, own-vs-aggregate deviation and concentration; a replayed one nothing', () => {
  const quotes: Quote[] = [
    { sourceId: 'venue', assetId: 1, priceTicks: 110_000n, timestampMs: 1_700_000_000_000 },
  ];
  const { monitor, feed, apply, timers } = setup({ quotes });
  feed.start();
  assert.equal(timers.length, 1, 'the sample timer is armed');
  const selfTrade = {
    type: 'fill',
    seriesId: 1,
    makerOrderId: 1,
    takerOrderId: 2,
    maker: trader,
    taker: trader,
    takerSide: 'buy',
    priceTicks: 2_000,
    lots: 1,
    makerFee: 0n,
    takerFee: 0n,
  };
  apply({ events: [selfTrade], replay: true });
  assert.deepEqual(monitor.findings(), []);
  for (let i = 0; i < 3; i++) apply({ events: i === 0 ? [selfTrade] : [] });
  const alerts = new Set(monitor.findings().map((f) => f.alertId));
  for (const expected of [
    'PALISADE-TRADE-OFF-MARK',
    'PALISADE-SELF-TRADE',
    'PALISADE-ORACLE-OWN-DEVIATION',
    'PALISADE-CONCENTRATED-OPEN-INTEREST',
  ])
    assert.ok(alerts.has(expected), `${expected} in ${[...alerts].join(', ')}`);
  feed.stop();
  apply({ events: [{ ...selfTrade, makerOrderId: 7, takerOrderId: 8 }] });
  assert.equal(monitor.findings().filter((f) => f.alertId === 'PALISADE-SELF-TRADE').length, 1, 'stopped');
});
