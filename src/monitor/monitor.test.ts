import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveMonitorConfig } from './config.ts';
import type { Detector } from './detector.ts';
import { createFinding, type Finding, MonitorError } from './finding.ts';
import { createMonitor } from './monitor.ts';
import { RingBuffer } from './ring-buffer.ts';
import type { BlockSignal, MonitorSignal } from './signals.ts';

const self = 'd4'.repeat(32);

function block(height: number, events: BlockSignal['events']): BlockSignal {
  return {
    kind: 'block',
    height,
    timeMs: height * 1000,
    events,
    finalityLatencyMs: 10,
    marks: new Map(),
    insuranceFund: 1_000n,
    totalDeposits: 1_000_000n,
  };
}

function selfTrades(height: number, count: number): BlockSignal {
  return block(
    height,
    Array.from({ length: count }, (_, i) => ({
      type: 'fill' as const,
      seriesId: 1,
      makerOrderId: height * 1000 + 2 * i,
      takerOrderId: height * 1000 + 2 * i + 1,
      maker: self,
      taker: self,
      takerSide: 'buy' as const,
      priceTicks: 1,
      lots: 1,
      makerFee: 0n,
      takerFee: 0n,
    })),
  );
}

describe('findings', () => {
  test('a malformed finding is a typed error naming the field', () => {
    const base = {
      alertId: 'PALISADE-X',
      name: 'x',
      description: 'x',
      severity: 'Low',
      type: 'Info',
      height: 1,
      timeMs: 1,
    } as const;
    assert.throws(() => createFinding({ ...base, alertId: 'lower-case' }), {
      code: 'INVALID_FINDING',
      field: 'alertId',
    });
    assert.throws(() => createFinding({ ...base, addresses: ['0xnothex'] }), { field: 'addresses' });
    const huge = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]));
    assert.throws(() => createFinding({ ...base, metadata: huge }), { field: 'metadata' });
    assert.throws(() => createFinding({ ...base, metadata: { note: 'x'.repeat(257) } }), {
      field: 'metadata/note',
    });
    const finding = createFinding({ ...base, metadata: { amount: 10n ** 30n } });
    assert.equal(finding.metadata.amount, '1000000000000000000000000000000');
    assert.ok(Object.isFrozen(finding));
  });

  test('the id is stable for the same occurrence and differs between occurrences', () => {
    const base = {
      alertId: 'PALISADE-X',
      name: 'x',
      description: 'x',
      severity: 'Low',
      type: 'Info',
      height: 1,
      timeMs: 1,
    } as const;
    assert.equal(
      createFinding({ ...base, key: 'a' }).id,
      createFinding({ ...base, key: 'a', timeMs: 99 }).id,
    );
    assert.notEqual(createFinding({ ...base, key: 'a' }).id, createFinding({ ...base, key: 'b' }).id);
  });

  test('config overrides are checked', () => {
    assert.equal(resolveMonitorConfig({ trading: { offMarkBps: 100 } }).trading.offMarkBps, 100);
    assert.throws(() => resolveMonitorConfig({ trading: { offMarkBps: 0 } }), MonitorError);
    assert.throws(() => resolveMonitorConfig({ ledger: { largeWithdrawalAmount: -1n } }), {
      field: 'ledger.largeWithdrawalAmount',
    });
    assert.throws(() => resolveMonitorConfig({ nonsense: {} } as never), { code: 'INVALID_CONFIG' });
    assert.throws(() => resolveMonitorConfig({ trading: { typo: 1 } as never }), { field: 'trading.typo' });
  });
});

describe('monitor', () => {
  test('memory is bounded: a flood of findings keeps only the newest `capacity`', () => {
    const monitor = createMonitor({ capacity: 50 });
    for (let height = 1; height <= 100; height++) monitor.ingest(selfTrades(height, 16));
    const kept = monitor.findings();
    assert.equal(kept.length, 50);
    assert.equal(kept[0]!.height, 100, 'newest first');
    assert.equal(kept.at(-1)!.height, 97);
    // Counts are totals since start, not what the buffer still holds.
    assert.deepEqual(monitor.counts(), [{ alertId: 'PALISADE-SELF-TRADE', severity: 'Low', total: 1600 }]);
  });

  test('filters by severity, type and time; refuses unknown values', () => {
    const monitor = createMonitor();
    monitor.ingest(selfTrades(1, 1));
    monitor.ingest(block(2, [{ type: 'unrecoveredLoss', account: self, amount: 5n }]));
    monitor.ingest(block(3, [{ type: 'seriesListed', seriesId: 1 }]));
    assert.deepEqual(
      monitor.findings().map((f) => f.alertId),
      ['PALISADE-SERIES-LISTED', 'PALISADE-UNRECOVERED-LOSS', 'PALISADE-SELF-TRADE'],
    );
    assert.deepEqual(
      monitor.findings({ severities: ['Critical', 'Low'] }).map((f) => f.alertId),
      ['PALISADE-UNRECOVERED-LOSS', 'PALISADE-SELF-TRADE'],
    );
    assert.deepEqual(
      monitor.findings({ types: ['Info'] }).map((f) => f.alertId),
      ['PALISADE-SERIES-LISTED'],
    );
    assert.deepEqual(monitor.findings({ sinceMs: 2000 }).length, 2);
    assert.deepEqual(monitor.findings({ limit: 1 }).length, 1);
    assert.throws(() => monitor.findings({ severities: ['Urgent' as never] }), { code: 'INVALID_QUERY' });
    assert.throws(() => monitor.findings({ limit: 10_000 }), { field: 'limit' });
  });

  test('the same occurrence is stored and counted once', () => {
    const finding = createFinding({
      alertId: 'PALISADE-X',
      name: 'x',
      description: 'x',
      severity: 'Low',
      type: 'Info',
      height: 1,
      timeMs: 1,
    });
    const repeater: Detector = { name: 'repeater', observe: () => [finding] };
    const monitor = createMonitor({ detectors: [repeater] });
    const seen: Finding[] = [];
    monitor.subscribe((findings) => seen.push(...findings));
    monitor.ingest(block(1, []));
    monitor.ingest(block(2, []));
    assert.equal(monitor.findings().length, 1);
    assert.equal(seen.length, 1);
    assert.equal(monitor.counts()[0]!.total, 1);
  });

  test('a throwing detector is counted and does not blind the others', () => {
    const errors: string[] = [];
    const broken: Detector = {
      name: 'broken',
      observe: () => {
        throw new Error('bug');
      },
    };
    const fine: Detector = {
      name: 'fine',
      observe: (signal: MonitorSignal) => [
        createFinding({
          alertId: 'PALISADE-OK',
          name: 'ok',
          description: 'ok',
          severity: 'Info',
          type: 'Info',
          height: signal.height,
          timeMs: 0,
        }),
      ],
    };
    const monitor = createMonitor({ detectors: [broken, fine], onError: (name) => errors.push(name) });
    assert.equal(monitor.ingest(block(1, [])).length, 1);
    assert.equal(monitor.detectorErrors, 1);
    assert.deepEqual(errors, ['broken']);
  });

  test('ring buffer overwrites the oldest', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) ring.push(i);
    assert.deepEqual([...ring.newestFirst()], [5, 4, 3]);
    assert.equal(ring.push(6), 3);
    assert.throws(() => new RingBuffer(0));
  });
});
