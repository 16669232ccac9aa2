/**
 * Consensus detectors: equivocation evidence and conflicting finalizations (proof of a Byzantine
 * validator, or of more than f of them), long nullification runs (views passing without a block:
 * a leader down or withheld votes) and finality-latency breaches.
 */
import type { MonitorConfig } from '../config.ts';
import type { Detector } from '../detector.ts';
import { createFinding, type Finding, validatorAddress } from '../finding.ts';
import type { MonitorSignal } from '../signals.ts';

/** Evidence pairs remembered to report each once; consensus keeps a few per offender. */
const EVIDENCE_REMEMBERED_MAX = 4096;

/**
 * Reports each new piece of equivocation evidence once (Critical, Exploit: two conflicting signed
 * votes are proof, not suspicion), and any rise of the conflicting-finalization counter.
 */
export class EvidenceDetector implements Detector {
  readonly name = 'evidence';
  readonly #seen = new Set<string>();
  #conflictingFinalizations = 0;

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'consensus') return [];
    const findings: Finding[] = [];
    for (const entry of signal.evidence) {
      const key = `${entry.validator}/${entry.kind}/${entry.view}`;
      if (this.#seen.has(key)) continue;
      this.#seen.add(key);
      if (this.#seen.size > EVIDENCE_REMEMBERED_MAX) this.#seen.delete(this.#seen.values().next().value!);
      findings.push(
        createFinding({
          alertId: 'PALISADE-EQUIVOCATION',
          name: 'Validator equivocated',
          description: `Validator ${entry.validator} signed two conflicting votes in view ${entry.view} (${entry.kind})`,
          severity: 'Critical',
          type: 'Exploit',
          metadata: { validator: entry.validator, evidenceKind: entry.kind, view: entry.view },
          addresses: [validatorAddress(entry.validator)],
          height: signal.height,
          timeMs: signal.timeMs,
          key,
        }),
      );
    }
    if (signal.conflictingFinalizations > this.#conflictingFinalizations) {
      findings.push(
        createFinding({
          alertId: 'PALISADE-CONFLICTING-FINALIZATION',
          name: 'Conflicting finalization',
          description:
            'A finalization certificate conflicts with this node’s finalized chain: more than f validators are faulty',
          severity: 'Critical',
          type: 'Exploit',
          metadata: { conflictingFinalizations: signal.conflictingFinalizations },
          height: signal.height,
          timeMs: signal.timeMs,
          key: String(signal.conflictingFinalizations),
        }),
      );
    }
    this.#conflictingFinalizations = signal.conflictingFinalizations;
    return findings;
  }
}

/**
 * A run of views without finalization. Simplex moves to the next view when a view is nullified, so
 * `view − finalizedView − 1` is the number of views that passed without a finalized block. Reported
 * once per run when it reaches the threshold; a new run is reported after the tip moves.
 */
export class NullificationRunDetector implements Detector {
  readonly name = 'nullification-run';
  readonly #config: MonitorConfig['consensus'];
  #reportedForFinalizedView = -1;

  constructor(config: MonitorConfig['consensus']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'consensus') return [];
    const run = signal.view - signal.finalizedView - 1;
    if (run < this.#config.nullificationRunViews) return [];
    if (this.#reportedForFinalizedView === signal.finalizedView) return [];
    this.#reportedForFinalizedView = signal.finalizedView;
    return [
      createFinding({
        alertId: 'PALISADE-NULLIFICATION-RUN',
        name: 'Long nullification run',
        description: `${run} views have passed since the last finalized view ${signal.finalizedView} without a finalized block`,
        severity: 'High',
        type: 'Degraded',
        metadata: {
          views: run,
          view: signal.view,
          finalizedView: signal.finalizedView,
          thresholdViews: this.#config.nullificationRunViews,
        },
        height: signal.height,
        timeMs: signal.timeMs,
        key: String(signal.finalizedView),
      }),
    ];
  }
}

/** Finality slower than the bound for several blocks in a row (a single slow block is noise). */
export class FinalityLatencyDetector implements Detector {
  readonly name = 'finality-latency';
  readonly #config: MonitorConfig['consensus'];
  #breachesInRow = 0;
  #worstMs = 0;

  constructor(config: MonitorConfig['consensus']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block' || signal.finalityLatencyMs === null) return [];
    const latencyMs = signal.finalityLatencyMs;
    if (latencyMs <= this.#config.finalityLatencyMsMax) {
      this.#breachesInRow = 0;
      this.#worstMs = 0;
      return [];
    }
    this.#breachesInRow += 1;
    this.#worstMs = Math.max(this.#worstMs, latencyMs);
    // Reported when the run reaches the threshold, and again at each further multiple of it.
    if (this.#breachesInRow % this.#config.finalityBreachesInRow !== 0) return [];
    return [
      createFinding({
        alertId: 'PALISADE-FINALITY-LATENCY',
        name: 'Finality latency breach',
        description: `${this.#breachesInRow} blocks in a row took over ${this.#config.finalityLatencyMsMax} ms from proposal to finality`,
        severity: 'Medium',
        type: 'Degraded',
        metadata: {
          blocksInRow: this.#breachesInRow,
          latencyMs: Math.round(latencyMs),
          worstLatencyMs: Math.round(this.#worstMs),
          thresholdMs: this.#config.finalityLatencyMsMax,
        },
        height: signal.height,
        timeMs: signal.timeMs,
      }),
    ];
  }
}
