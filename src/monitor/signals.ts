/**
 * What the monitor reads: read-only samples of what the layers already emit, one union. The node
 * (src/node/monitor-feed.ts) builds them; detectors never reach into a layer themselves, so each
 * one is a function of the signals it was given and can be tested with hand-made ones.
 *
 * Counters (drops, refusals) arrive as running totals, as the layers keep them: a detector diffs
 * consecutive samples itself, and a total that went down (a restarted component) counts as a new
 * baseline, never as a negative burst.
 */
import type { EngineEvent } from '../execution/types.ts';

/** One finalized block as the engine applied it, with the state the block-level detectors need. */
export interface BlockSignal {
  kind: 'block';
  height: number;
  timeMs: number;
  events: readonly EngineEvent[];
  /** Proposal seen → finalized on this node, or null when the block came through sync. */
  finalityLatencyMs: number | null;
  /** Mark per contract in quote base units, and the tick size, of each series with a mark. */
  marks: ReadonlyMap<number, { markPrice: bigint; tickSize: number }>;
  /** The insurance fund after the block, in quote base units. */
  insuranceFund: bigint;
  /** Total deposits ever credited (quote base units): the scale large withdrawals are judged on. */
  totalDeposits: bigint;
}

/** Per-series open interest and the largest holders, sampled every few blocks. */
export interface OpenInterestSignal {
  kind: 'openInterest';
  height: number;
  timeMs: number;
  series: ReadonlyArray<{
    seriesId: number;
    openInterestLots: number;
    /** Each account's long lots in the series (the short side holds the same total). */
    longs: ReadonlyArray<{ account: string; lots: number }>;
    shorts: ReadonlyArray<{ account: string; lots: number }>;
  }>;
}

export type EvidenceKind = 'notarize-conflict' | 'finalize-conflict' | 'nullify-and-finalize';

/** Consensus: the view, the finalized tip, conflict counters and the evidence held. */
export interface ConsensusSignal {
  kind: 'consensus';
  height: number;
  timeMs: number;
  view: number;
  finalizedView: number;
  /** Finalizations seen that conflict with our chain: impossible with at most f faults. */
  conflictingFinalizations: number;
  evidence: ReadonlyArray<{ validator: number; kind: EvidenceKind; view: number }>;
}

/** Transport and consensus drops per peer, refused connections, bans (running totals). */
export interface PeersSignal {
  kind: 'peers';
  height: number;
  timeMs: number;
  peers: ReadonlyArray<{
    peer: number;
    banned: boolean;
    /** Dropped or refused messages from this peer, by reason (`consensus/…`, `transport/…`). */
    faults: Readonly<Record<string, number>>;
  }>;
  /** Connections refused before or at the handshake, by reason (the transport's `refusals`). */
  refusals: Readonly<Record<string, number>>;
  /** Strangers' connections still in their handshake right now. */
  strangerHandshakes: number;
}

/** The mempool's refusals by code (running totals) and its fill. */
export interface MempoolSignal {
  kind: 'mempool';
  height: number;
  timeMs: number;
  refused: Readonly<Record<string, number>>;
  transactions: number;
  transactionsMax: number;
}

/** One block's oracle: this validator's own observation, the aggregate, and the raw source quotes. */
export interface OracleSignal {
  kind: 'oracle';
  height: number;
  timeMs: number;
  /** What this validator's own sources say now, per asset (absent: no usable quote). */
  own: ReadonlyArray<{ assetId: number; priceTicks: bigint }>;
  aggregate: ReadonlyArray<{ assetId: number; priceTicks: bigint; flags: number }>;
  quotes: ReadonlyArray<{ sourceId: string; assetId: number; priceTicks: bigint; timestampMs: number }>;
  /** Observations the aggregation dropped from this block, with the validator they name. */
  dropped: ReadonlyArray<{ reason: string; validator?: string }>;
  /** Validators that signed two different observations for this height. */
  equivocations: ReadonlyArray<{ validator: string }>;
}

export type KeygenSessionKind = 'price-dkg' | 'price-refresh' | 'price-reshare' | 'eon-dkg';

/** Whom a keygen session still waits for, by transport validator index, per message kind. */
export interface KeygenWaitingFor {
  deals: readonly number[];
  shares: readonly number[];
  complaints: readonly number[];
  attestations: readonly number[];
}

/**
 * The key generations running on this node now (price keyset DKG, refresh or reshare, eon DKG),
 * as their drivers' `waitingFor()` reports them. A session absent from the list has finished
 * (agreed, or failed and given up); an empty list means none runs.
 */
export interface KeygenSignal {
  kind: 'keygen';
  height: number;
  timeMs: number;
  sessions: ReadonlyArray<{
    keygen: KeygenSessionKind;
    /** The price epoch or the eon the session produces. */
    epoch: number;
    /** When this node started the session, on its runtime clock: names the run (a retry differs). */
    startedMs: number;
    /** How long it has run, on that clock (monotonic: a wall-clock step changes nothing). */
    runningMs: number;
    /** Deals + complaints deadline from `startedMs`: an honest session is done soon after it. */
    deadlinesMs: number;
    /** The machine's phase (`dealing`, `complaining`, `attesting`). */
    phase: string;
    waitingFor: KeygenWaitingFor;
  }>;
}

export type MonitorSignal =
  | KeygenSignal
  | BlockSignal
  | OpenInterestSignal
  | ConsensusSignal
  | PeersSignal
  | MempoolSignal
  | OracleSignal;

/**
 * The increase of each counter since `previous` (mutated to `current`). A counter that went down
 * was reset: its new value is the increase.
 */
export function counterIncrease(
  previous: Map<string, number>,
  current: Readonly<Record<string, number>>,
): Record<string, number> {
  const increase: Record<string, number> = {};
  for (const [key, total] of Object.entries(current)) {
    const before = previous.get(key) ?? 0;
    const fresh = total >= before ? total - before : total;
    if (fresh > 0) increase[key] = fresh;
    previous.set(key, total);
  }
  return increase;
}
