/**
 * Governance and parameter changes, and the engine's own protective actions: every listing, every
 * volatility change (and whether the engine clamped the request), oracle-guard pauses and resumes,
 * settlement fallbacks, and every step of an m-of-n governance proposal (queued, executed, failed,
 * cancelled, a halt and its lift, a rotation of the governors, a parameter set): each deserves a
 * line an operator can audit, and a rotation or a failed proposal a closer look.
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
        case 'governanceQueued':
        case 'governanceExecuted':
        case 'governanceFailed':
        case 'proposalCancelled':
        case 'governanceChanged':
        case 'parameterSet':
          findings.push(governanceFinding(event, key, common));
          break;
        case 'governanceHalt':
          findings.push(
            createFinding({
              alertId: 'PALISADE-GOVERNANCE-HALT',
              name: 'Markets halted by governance',
              description:
                event.underlyingId === 0
                  ? `Guardians or governors halted every market (proposal ${event.proposalId}); m governors lift it`
                  : `Guardians or governors halted underlying ${event.underlyingId} (proposal ${event.proposalId}); m governors lift it`,
              severity: 'High',
              type: 'Degraded',
              metadata: { underlyingId: event.underlyingId, proposalId: event.proposalId },
              key,
              ...common,
            }),
          );
          break;
        case 'governanceResume':
          findings.push(
            createFinding({
              alertId: 'PALISADE-GOVERNANCE-RESUME',
              name: 'Governance halt lifted',
              description: `Governors lifted the halt on ${event.underlyingId === 0 ? 'every market' : `underlying ${event.underlyingId}`} (proposal ${event.proposalId})`,
              severity: 'Info',
              type: 'Info',
              metadata: { underlyingId: event.underlyingId, proposalId: event.proposalId },
              key,
              ...common,
            }),
          );
          break;
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

type GovernanceStep = Extract<MonitorSignal & { kind: 'block' }, { kind: 'block' }>['events'][number] & {
  type:
    | 'governanceQueued'
    | 'governanceExecuted'
    | 'governanceFailed'
    | 'proposalCancelled'
    | 'governanceChanged'
    | 'parameterSet';
};

/** A proposal's step as a finding: a rotation is High, a failed execution Medium, the rest Info. */
function governanceFinding(
  event: GovernanceStep,
  key: string,
  common: { height: number; timeMs: number },
): Finding {
  const metadata: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(event))
    if (name !== 'type') metadata[name] = value as string | number;
  const severity =
    event.type === 'governanceChanged' ? 'High' : event.type === 'governanceFailed' ? 'Medium' : 'Info';
  return createFinding({
    alertId: `PALISADE-GOVERNANCE-${event.type
      .replace(/^governance/, '')
      .replace(/(?<!^)[A-Z]/g, (c) => `-${c}`)
      .toUpperCase()}`,
    name: `Governance: ${event.type}`,
    description: `Governance proposal ${event.proposalId}: ${event.type}`,
    severity,
    type: severity === 'Info' ? 'Info' : 'Suspicious',
    metadata,
    key,
    ...common,
  });
}
