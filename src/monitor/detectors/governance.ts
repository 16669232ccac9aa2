/**
 * Governance and parameter changes, and the engine's own protective actions: every listing, every
 * volatility change (and whether the engine clamped the request), oracle-guard pauses and resumes,
 * settlement fallbacks. Governance is one key today (issue 15 replaces it with m-of-n); until then
 * each of its actions deserves a line an operator can audit.
 */
import type { Detector } from '../detector.ts';
import { createFinding, type Finding } from '../finding.ts';
import type { MonitorSignal } from '../signals.ts';
import { FINDINGS_PER_BLOCK_MAX } from './trading.ts';

export class GovernanceDetector implements Detector {
  readonly name = 'governance';
  /** Series reported as waiting for a settlement price, until they settle (at most 4,096). */
  readonly #waiting = new Set<number>();

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    const common = { height: signal.height, timeMs: signal.timeMs };
    for (const [index, event] of signal.events.entries()) {
      if (findings.length >= FINDINGS_PER_BLOCK_MAX) break;
      const key = String(index);
      switch (event.type) {
        case 'seriesListed':
          findings.push(
            createFinding({
              alertId: 'PALISADE-SERIES-LISTED',
              name: 'Series listed',
              description: `Governance listed series ${event.seriesId}`,
              severity: 'Info',
              type: 'Info',
              metadata: { seriesId: event.seriesId },
              key,
              ...common,
            }),
          );
          break;
        case 'markVolSet': {
          const clamped = event.volBps !== event.requestedVolBps;
          findings.push(
            createFinding({
              alertId: 'PALISADE-PARAMETER-CHANGED',
              name: 'Mark volatility changed',
              description: clamped
                ? `Governance asked for ${event.requestedVolBps} bps volatility on series ${event.seriesId}; the engine bounded it to ${event.volBps}`
                : `Governance set series ${event.seriesId}'s mark volatility to ${event.volBps} bps`,
              severity: clamped ? 'Medium' : 'Low',
              type: clamped ? 'Suspicious' : 'Info',
              metadata: {
                parameter: 'markVolBps',
                seriesId: event.seriesId,
                volBps: event.volBps,
                requestedVolBps: event.requestedVolBps,
              },
              key,
              ...common,
            }),
          );
          break;
        }
        case 'oracleGuardPause':
          findings.push(
            createFinding({
              alertId: 'PALISADE-ORACLE-GUARD-PAUSE',
              name: 'Liquidations paused by the oracle guard',
              description: `Underlying ${event.underlyingId}'s price is flagged; the engine paused it until ${event.untilMs}`,
              severity: 'High',
              type: 'Degraded',
              metadata: { underlyingId: event.underlyingId, flags: event.flags, untilMs: event.untilMs },
              key,
              ...common,
            }),
          );
          break;
        case 'oracleGuardResume':
          findings.push(
            createFinding({
              alertId: 'PALISADE-ORACLE-GUARD-RESUME',
              name: 'Oracle guard resumed',
              description: `Underlying ${event.underlyingId} resumed (${event.reason})`,
              severity: 'Info',
              type: 'Info',
              metadata: { underlyingId: event.underlyingId, reason: event.reason },
              key,
              ...common,
            }),
          );
          break;
        case 'settlementFallback':
          findings.push(
            createFinding({
              alertId: 'PALISADE-SETTLEMENT-FALLBACK',
              name: 'Settlement used a fallback rule',
              description: `Series ${event.seriesId} settled by the ${event.rule} rule`,
              severity: 'Low',
              type: 'Degraded',
              metadata: { seriesId: event.seriesId, rule: event.rule },
              key,
              ...common,
            }),
          );
          break;
        case 'settlementWaiting':
          if (this.#waiting.has(event.seriesId) || this.#waiting.size >= 4096) break;
          this.#waiting.add(event.seriesId);
          findings.push(
            createFinding({
              alertId: 'PALISADE-SETTLEMENT-WAITING',
              name: 'Settlement waiting for a price',
              description: `Series ${event.seriesId} expired and waits for a valid settlement price`,
              severity: 'Medium',
              type: 'Degraded',
              metadata: { seriesId: event.seriesId, reason: event.reason },
              key,
              ...common,
            }),
          );
          break;
        case 'settlement':
          this.#waiting.delete(event.seriesId);
          break;
        default:
          break;
      }
    }
    return findings;
  }
}
