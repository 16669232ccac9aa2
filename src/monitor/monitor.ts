/**
 * The monitor: every detector over every signal, the findings kept in a ring buffer (bounded
 * memory whatever an attacker makes the detectors report), counts by alert id and severity for
 * `/metrics`, and subscribers (the API stream, a webhook).
 *
 * A detector that throws is a bug in that detector; it is counted and reported to `onError`, and
 * the other detectors still see the signal: one broken detector must not blind the rest.
 */
import { type MonitorConfig, type MonitorConfigOverrides, resolveMonitorConfig } from './config.ts';
import type { Detector } from './detector.ts';
import {
  EvidenceDetector,
  FinalityLatencyDetector,
  NullificationRunDetector,
} from './detectors/consensus.ts';
import { GovernanceDetector } from './detectors/governance.ts';
import { KeygenStallDetector } from './detectors/keygen.ts';
import {
  ConcentrationDetector,
  InsuranceDrawdownDetector,
  LargeWithdrawalDetector,
  LiquidationCascadeDetector,
} from './detectors/ledger.ts';
import { HandshakeDetector, MempoolSpamDetector, PeerFaultDetector } from './detectors/network.ts';
import {
  AggregateFlagDetector,
  BadObservationDetector,
  ObservationEquivocationDetector,
  OwnDeviationDetector,
  SourceHealthDetector,
} from './detectors/oracle.ts';
import { AutomaticResponseDetector } from './detectors/responses.ts';
import { OffMarkTradeDetector, SelfTradeDetector, WashTradeDetector } from './detectors/trading.ts';
import {
  FINDING_TYPES,
  type Finding,
  type FindingType,
  MonitorError,
  SEVERITIES,
  type Severity,
} from './finding.ts';
import { RingBuffer } from './ring-buffer.ts';
import type { MonitorSignal } from './signals.ts';

/** Findings kept for `/v1/findings` by default: a few days of a busy network's findings. */
export const DEFAULT_FINDINGS_CAPACITY = 2_000;
/** Distinct (alert id, severity) counters at most; the alert ids are ours, so far fewer exist. */
const COUNTERS_MAX = 512;
export const FINDINGS_PAGE_MAX = 500;

export interface FindingQuery {
  /** Only these severities (all when absent or empty). */
  severities?: readonly Severity[];
  types?: readonly FindingType[];
  /** Only findings with `timeMs >= sinceMs`. */
  sinceMs?: number;
  /** At most this many, newest first (default and maximum `FINDINGS_PAGE_MAX`). */
  limit?: number;
}

export interface FindingCount {
  alertId: string;
  severity: Severity;
  total: number;
}

export interface MonitorOptions {
  config?: MonitorConfigOverrides;
  capacity?: number;
  /** Replaces the standard detectors (tests). */
  detectors?: readonly Detector[];
  onError?: (detector: string, error: unknown) => void;
}

export interface Monitor {
  readonly config: MonitorConfig;
  /** Runs every detector over `signal`; returns the new findings (already stored and published). */
  ingest(signal: MonitorSignal): Finding[];
  /**
   * Stored findings, newest first.
   * @throws MonitorError (INVALID_QUERY) for an unknown severity or type, or a bad limit
   */
  findings(query?: FindingQuery): Finding[];
  /** Running totals since start, by alert id and severity, sorted. */
  counts(): FindingCount[];
  /** `listener` gets each batch of new findings; it must not throw. Returns the unsubscribe. */
  subscribe(listener: (findings: readonly Finding[]) => void): () => void;
  /** Times a detector threw since start. */
  readonly detectorErrors: number;
}

/** The standard detectors with `config`'s thresholds. */
export function standardDetectors(config: MonitorConfig): Detector[] {
  return [
    new EvidenceDetector(),
    new NullificationRunDetector(config.consensus),
    new FinalityLatencyDetector(config.consensus),
    new PeerFaultDetector(config.peers),
    new HandshakeDetector(config.peers),
    new MempoolSpamDetector(config.mempool),
    new OwnDeviationDetector(config.oracle),
    new SourceHealthDetector(config.oracle),
    new AggregateFlagDetector(config.oracle),
    new ObservationEquivocationDetector(),
    new BadObservationDetector(config.oracle),
    new OffMarkTradeDetector(config.trading),
    new SelfTradeDetector(),
    new WashTradeDetector(config.trading),
    new LargeWithdrawalDetector(config.ledger),
    new LiquidationCascadeDetector(config.ledger),
    new InsuranceDrawdownDetector(config.ledger),
    new ConcentrationDetector(config.ledger),
    new GovernanceDetector(),
    new AutomaticResponseDetector(),
    new KeygenStallDetector(config.keygen),
  ];
}

/**
 * @example const monitor = createMonitor({ config: { trading: { offMarkBps: 1_000 } } }); monitor.ingest(signal);
 * @throws MonitorError (INVALID_CONFIG) for a threshold out of range
 */
export function createMonitor(options: MonitorOptions = {}): Monitor {
  const config = resolveMonitorConfig(options.config);
  const capacity = options.capacity ?? DEFAULT_FINDINGS_CAPACITY;
  if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 1_000_000)
    throw new MonitorError('INVALID_CONFIG', 'capacity', 'must be 1 to 1,000,000');
  const detectors = options.detectors ?? standardDetectors(config);
  const stored = new RingBuffer<Finding>(capacity);
  const storedIds = new Set<string>();
  const counts = new Map<string, FindingCount>();
  const listeners = new Set<(findings: readonly Finding[]) => void>();
  let detectorErrors = 0;

  function count(finding: Finding): void {
    let key = `${finding.alertId}\n${finding.severity}`;
    if (!counts.has(key) && counts.size >= COUNTERS_MAX) key = `PALISADE-OTHER\n${finding.severity}`;
    const entry = counts.get(key);
    if (entry !== undefined) entry.total += 1;
    else counts.set(key, { alertId: key.split('\n')[0]!, severity: finding.severity, total: 1 });
  }

  return {
    config,
    ingest(signal) {
      const fresh: Finding[] = [];
      for (const detector of detectors) {
        let found: Finding[];
        try {
          found = detector.observe(signal);
        } catch (error) {
          detectorErrors += 1;
          options.onError?.(detector.name, error);
          continue;
        }
        for (const finding of found) {
          // The same occurrence reported again (a detector re-seeing old evidence) is kept once.
          if (storedIds.has(finding.id)) continue;
          storedIds.add(finding.id);
          const evicted = stored.push(finding);
          if (evicted !== undefined) storedIds.delete(evicted.id);
          count(finding);
          fresh.push(finding);
        }
      }
      if (fresh.length > 0) {
        for (const listener of listeners) {
          try {
            listener(fresh);
          } catch (error) {
            options.onError?.('subscriber', error);
          }
        }
      }
      return fresh;
    },
    findings(query = {}) {
      const severities = query.severities ?? [];
      const types = query.types ?? [];
      for (const severity of severities)
        if (!SEVERITIES.includes(severity))
          throw new MonitorError('INVALID_QUERY', 'severity', `unknown ${severity}`);
      for (const type of types)
        if (!FINDING_TYPES.includes(type)) throw new MonitorError('INVALID_QUERY', 'type', `unknown ${type}`);
      const limit = query.limit ?? FINDINGS_PAGE_MAX;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > FINDINGS_PAGE_MAX)
        throw new MonitorError('INVALID_QUERY', 'limit', `must be 1 to ${FINDINGS_PAGE_MAX}`);
      const out: Finding[] = [];
      for (const finding of stored.newestFirst()) {
        if (out.length >= limit) break;
        if (severities.length > 0 && !severities.includes(finding.severity)) continue;
        if (types.length > 0 && !types.includes(finding.type)) continue;
        if (query.sinceMs !== undefined && finding.timeMs < query.sinceMs) continue;
        out.push(finding);
      }
      return out;
    },
    counts() {
      return [...counts.values()]
        .map((entry) => ({ ...entry }))
        .sort(
          (a, b) =>
            (a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0) ||
            a.severity.localeCompare(b.severity),
        );
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get detectorErrors() {
      return detectorErrors;
    },
  };
}
