/**
 * Feeds a validator's monitor (src/monitor) from what its layers already expose, read-only:
 *   - every finalized block the engine applies (not replays): its events, the marks, the ledger
 *     totals and the oracle aggregate beside this validator's own observation and raw quotes;
 *     every `openInterestEveryBlocks` blocks, open interest by holder;
 *   - once every `sampleIntervalMs` on the node's clock: consensus status and evidence, transport
 *     and consensus drops per peer, refused connections, and the mempool's refusals; and, when
 *     `keygens` is given, the key generations running (price keyset, eon) and whom they wait for.
 * Nothing here changes what the node does; a sample that throws is logged and the next one runs.
 */
import type { SimplexEngine } from '../consensus/engine.ts';
import { DEFAULT_MEMPOOL_LIMITS } from '../mempool/mempool.ts';
import type { Monitor } from '../monitor/monitor.ts';
import type { KeygenSignal, KeygenWaitingFor, OpenInterestSignal } from '../monitor/signals.ts';
import { observeAsset } from '../oracle/observation.ts';
import type { Quote } from '../oracle/source.ts';
import type { TlsTransport } from '../runtime/real/transport.ts';
import type { Clock } from '../runtime/types.ts';
import type { AppliedBlock, NodeApplication } from './app.ts';
import type { EonKeygenProgress } from './eon-keyset.ts';
import type { PriceKeygenSession } from './price-signing.ts';
import type { NodeView } from './view.ts';

export interface MonitorFeedOptions {
  monitor: Monitor;
  app: Pick<NodeApplication, 'engine' | 'mempool' | 'onApplied'>;
  consensus: Pick<SimplexEngine, 'status' | 'dropCounters'>;
  transport: Pick<TlsTransport, 'status'>;
  /** Equivocation evidence as the API serves it (the kinds already classified). */
  evidence: NodeView['evidence'];
  /** This validator's latest source quotes (what its next observation is built from). */
  quotes: () => readonly Quote[];
  assets: readonly { assetId: number }[];
  /**
   * The keygen sessions running now (price-signing.ts `keygenSessions`, eon-keyset.ts `session`),
   * with `startedMs` on `clock` (the drivers' runtime clock): the feed adds how long each has run.
   */
  keygens?: () => readonly KeygenSession[];
  clock: Clock;
  wallClock: () => number;
  mempoolTransactionsMax?: number;
  sampleIntervalMs?: number;
  openInterestEveryBlocks?: number;
  log?: (message: string, details: Record<string, unknown>) => void;
}

export interface MonitorFeed {
  start(): void;
  stop(): void;
  /** Takes one sample of consensus, peers and mempool now (tests; the timer calls it too). */
  sample(): Promise<void>;
}

type KeygenSession = Omit<KeygenSignal['sessions'][number], 'runningMs'>;

const waitingLists = (waiting: KeygenWaitingFor): KeygenWaitingFor => ({
  deals: waiting.deals,
  shares: waiting.shares,
  complaints: waiting.complaints,
  attestations: waiting.attestations,
});

/** The price keyset's and the eon keysets' running sessions, in the signal's terms. */
export function keygenSessionsOf(
  price: readonly PriceKeygenSession[],
  eon: readonly EonKeygenProgress[],
): KeygenSession[] {
  return [
    ...price.map((run) => ({
      keygen: `price-${run.kind}` as const,
      epoch: run.epoch,
      startedMs: run.startedMs,
      deadlinesMs: run.deadlinesMs,
      phase: run.phase,
      waitingFor: waitingLists(run.waitingFor),
    })),
    ...eon.map((run) => ({
      keygen: 'eon-dkg' as const,
      epoch: run.eon,
      startedMs: run.startedMs,
      deadlinesMs: run.deadlinesMs,
      phase: run.phase,
      waitingFor: waitingLists(run.waitingFor),
    })),
  ];
}

/** Holders listed per series and side in an open-interest sample: the largest matter. */
const HOLDERS_PER_SIDE_MAX = 32;

export function createMonitorFeed(options: MonitorFeedOptions): MonitorFeed {
  const { monitor, app, consensus, transport, clock, wallClock } = options;
  const sampleIntervalMs = options.sampleIntervalMs ?? 1000;
  const openInterestEveryBlocks = options.openInterestEveryBlocks ?? 20;
  const mempoolTransactionsMax = options.mempoolTransactionsMax ?? DEFAULT_MEMPOOL_LIMITS.maxTransactions;
  const log = options.log ?? (() => {});
  let cancelTimer: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;

  function onBlock(applied: AppliedBlock): void {
    if (applied.replay) return;
    const { summary, result, aggregate } = applied;
    const marks = new Map<number, { markPrice: bigint; tickSize: number }>();
    for (const series of app.engine.series()) {
      if (series.markPrice !== undefined)
        marks.set(series.seriesId, { markPrice: series.markPrice, tickSize: series.tickSize });
    }
    const ledger = app.engine.ledger();
    monitor.ingest({
      kind: 'block',
      height: summary.height,
      timeMs: summary.timeMs,
      events: result.events,
      finalityLatencyMs: applied.finalityLatencyMs,
      marks,
      insuranceFund: ledger.insuranceFund,
      totalDeposits: ledger.totalDeposits,
    });
    const quotes = options.quotes();
    const nowMs = wallClock();
    monitor.ingest({
      kind: 'oracle',
      height: summary.height,
      timeMs: summary.timeMs,
      own: options.assets.flatMap((asset) => {
        const entry = observeAsset(asset.assetId, quotes, nowMs).entry;
        return entry === undefined ? [] : [{ assetId: asset.assetId, priceTicks: entry.priceTicks }];
      }),
      aggregate: aggregate.prices.map((price) => ({
        assetId: price.assetId,
        priceTicks: price.priceTicks,
        flags: price.flags,
      })),
      quotes,
      dropped: aggregate.dropped.map((drop) => ({
        reason: drop.reason,
        ...(drop.validator === undefined ? {} : { validator: drop.validator }),
      })),
      equivocations: aggregate.equivocations.map((entry) => ({ validator: entry.validator })),
    });
    if (summary.height % openInterestEveryBlocks === 0)
      monitor.ingest(openInterest(summary.height, summary.timeMs));
  }

  function openInterest(height: number, timeMs: number): OpenInterestSignal {
    const bySeries = new Map<
      number,
      { longs: Array<{ account: string; lots: number }>; shorts: Array<{ account: string; lots: number }> }
    >();
    for (const account of app.engine.accounts()) {
      for (const position of account.positions) {
        if (position.lots === 0) continue;
        let entry = bySeries.get(position.seriesId);
        if (entry === undefined) {
          entry = { longs: [], shorts: [] };
          bySeries.set(position.seriesId, entry);
        }
        const holder = { account: account.publicKey, lots: Math.abs(position.lots) };
        (position.lots > 0 ? entry.longs : entry.shorts).push(holder);
      }
    }
    const largest = (holders: Array<{ account: string; lots: number }>) =>
      holders.sort((a, b) => b.lots - a.lots).slice(0, HOLDERS_PER_SIDE_MAX);
    return {
      kind: 'openInterest',
      height,
      timeMs,
      series: app.engine.series().flatMap((series) => {
        const entry = bySeries.get(series.seriesId);
        if (entry === undefined || series.status !== 'active') return [];
        return [
          {
            seriesId: series.seriesId,
            openInterestLots: series.openInterestLots,
            longs: largest(entry.longs),
            shorts: largest(entry.shorts),
          },
        ];
      }),
    };
  }

  async function sample(): Promise<void> {
    const height = app.engine.height;
    const timeMs = wallClock();
    const status = consensus.status();
    const evidence = await options.evidence();
    monitor.ingest({
      kind: 'consensus',
      height,
      timeMs,
      view: status.view,
      finalizedView: status.finalizedView,
      conflictingFinalizations: status.conflictingFinalizations,
      evidence: evidence.map((entry) => ({ validator: entry.validator, kind: entry.kind, view: entry.view })),
    });
    const transportStatus = transport.status();
    const consensusDrops = consensus.dropCounters();
    monitor.ingest({
      kind: 'peers',
      height,
      timeMs,
      peers: transportStatus.peers.map((peer) => {
        const faults: Record<string, number> = {};
        for (const [reason, count] of Object.entries(peer.drops)) faults[`transport/${reason}`] = count;
        for (const [reason, count] of Object.entries(consensusDrops[peer.peer] ?? {}))
          faults[`consensus/${reason}`] = count ?? 0;
        return { peer: peer.peer, banned: peer.banned, faults };
      }),
      refusals: transportStatus.refusals,
      strangerHandshakes: transportStatus.handshaking.strangers,
    });
    const mempool = app.mempool.stats();
    monitor.ingest({
      kind: 'mempool',
      height,
      timeMs,
      refused: mempool.refused,
      transactions: mempool.transactions,
      transactionsMax: mempoolTransactionsMax,
    });
    if (options.keygens !== undefined)
      monitor.ingest({ kind: 'keygen', height, timeMs, sessions: keygenSessions(options.keygens()) });
  }

  function keygenSessions(running: readonly KeygenSession[]): KeygenSignal['sessions'] {
    const nowMs = clock.now();
    return running.map((session) => ({
      ...session,
      startedMs: Math.round(session.startedMs),
      runningMs: Math.max(0, Math.round(nowMs - session.startedMs)),
    }));
  }

  function schedule(): void {
    cancelTimer = clock.setTimer(sampleIntervalMs, () => {
      sample()
        .catch((error) => log('monitor sample failed', { error: (error as Error).message }))
        .finally(() => {
          if (cancelTimer !== undefined) schedule();
        });
    });
  }

  return {
    start() {
      if (unsubscribe !== undefined) return;
      unsubscribe = app.onApplied((applied) => {
        try {
          onBlock(applied);
        } catch (error) {
          log('monitor block feed failed', {
            error: (error as Error).message,
            height: applied.summary.height,
          });
        }
      });
      schedule();
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      const cancel = cancelTimer;
      cancelTimer = undefined;
      cancel?.();
    },
    sample,
  };
}
