/**
 * Stalled key generation. A keygen session (price keyset DKG, refresh or reshare; eon DKG) that
 * is still running well past its own deadlines shows nowhere else: a genesis DKG that never
 * reaches an attestation quorum (one Byzantine dealer timing its public answer at the complaint
 * deadline splits the honest views, src/crypto/keygen.ts "Timing") leaves the chain without price
 * certificates or bridge checkpoints, and a stuck eon DKG without fair ordering, silently.
 *
 * Judged on the node's monotonic clock against the session's own deadlines, so a young session (still in
 * its deal or complaint window, or just past it) never fires, whatever the genesis sets them to.
 * Each stalled session is reported once; when it leaves the signal (it finished) a resolution is
 * reported for it, once, and a later session of the same epoch (a retry) is judged afresh.
 */
import type { MonitorConfig } from '../config.ts';
import type { Detector } from '../detector.ts';
import { ADDRESSES_MAX, createFinding, type Finding, type Severity, validatorAddress } from '../finding.ts';
import type { KeygenSignal, KeygenWaitingFor, MonitorSignal } from '../signals.ts';

/** Sessions looked at per signal: a node runs a handful (price runs of two epochs, one eon). */
const SESSIONS_PER_SIGNAL_MAX = 16;

type Session = KeygenSignal['sessions'][number];

/** The validators the session waits for in its phase (earlier phases' lists are past deadline). */
export function waitedOn(phase: string, waitingFor: KeygenWaitingFor): number[] {
  const lists =
    phase === 'dealing'
      ? [waitingFor.deals, waitingFor.shares]
      : phase === 'complaining'
        ? [waitingFor.complaints]
        : [waitingFor.attestations];
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/**
 * A genesis DKG or an eon DKG that stalls leaves the chain without a capability (certificates,
 * fair ordering); a refresh or reshare that stalls leaves the previous keyset signing.
 */
function severityOf(session: Session): Severity {
  return session.keygen === 'price-dkg' || session.keygen === 'eon-dkg' ? 'High' : 'Medium';
}

export class KeygenStallDetector implements Detector {
  readonly name = 'keygen-stall';
  readonly #config: MonitorConfig['keygen'];
  /** Stalled sessions reported and not yet finished, by session key. */
  readonly #reported = new Map<string, Session>();

  constructor(config: MonitorConfig['keygen']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'keygen') return [];
    const findings: Finding[] = [];
    const present = new Set<string>();
    for (const session of signal.sessions.slice(0, SESSIONS_PER_SIGNAL_MAX)) {
      const key = `${session.keygen}/${session.epoch}/${session.startedMs}`;
      present.add(key);
      if (this.#reported.has(key)) continue;
      if (session.runningMs <= session.deadlinesMs + this.#config.stallGraceMs) continue;
      this.#reported.set(key, session);
      findings.push(this.#stalled(signal, session, key));
    }
    for (const [key, session] of this.#reported) {
      if (present.has(key)) continue;
      this.#reported.delete(key);
      findings.push(this.#resolved(signal, session, key));
    }
    return findings;
  }

  #stalled(signal: KeygenSignal, session: Session, key: string): Finding {
    const { runningMs } = session;
    const waited = waitedOn(session.phase, session.waitingFor);
    const named = waited.length === 0 ? 'no one (the attestations it holds disagree)' : waited.join(', ');
    return createFinding({
      alertId: 'PALISADE-KEYGEN-STALLED',
      name: 'Key generation stalled',
      description: `${session.keygen} for epoch ${session.epoch} has run ${Math.round(runningMs / 1000)} s, past its deadlines, in phase ${session.phase}; waiting for validators ${named}`,
      severity: severityOf(session),
      type: 'Degraded',
      metadata: {
        keygen: session.keygen,
        epoch: session.epoch,
        phase: session.phase,
        runningMs,
        deadlinesMs: session.deadlinesMs,
        graceMs: this.#config.stallGraceMs,
        waitingOn: waited.join(',').slice(0, 256),
      },
      addresses: waited.slice(0, ADDRESSES_MAX).map(validatorAddress),
      height: signal.height,
      timeMs: signal.timeMs,
      key,
    });
  }

  #resolved(signal: KeygenSignal, session: Session, key: string): Finding {
    return createFinding({
      alertId: 'PALISADE-KEYGEN-RESOLVED',
      name: 'Stalled key generation ended',
      description: `${session.keygen} for epoch ${session.epoch}, reported stalled, is no longer running (finished or given up)`,
      severity: 'Info',
      type: 'Info',
      metadata: {
        keygen: session.keygen,
        epoch: session.epoch,
        runningMs: session.runningMs,
      },
      height: signal.height,
      timeMs: signal.timeMs,
      key,
    });
  }
}
