/**
 * Network detectors: validators sending bad frames or failing authentication, strangers flooding
 * the handshake pool, and mempool spam. All read running totals and judge the increase over a
 * sliding window of the node's clock.
 */
import type { MonitorConfig } from '../config.ts';
import { Cooldown, type Detector, SlidingSum } from '../detector.ts';
import { createFinding, type Finding, validatorAddress } from '../finding.ts';
import { counterIncrease, type MonitorSignal } from '../signals.ts';

/** Peers tracked at most: the genesis set is at most a few dozen, ids above this are ignored. */
const PEERS_MAX = 256;

/**
 * A validator whose messages keep failing to decode or verify (faults in `faultReasons`), or that
 * the transport banned for its score. A faulty peer costs score already; this tells the operator.
 */
export class PeerFaultDetector implements Detector {
  readonly name = 'peer-faults';
  readonly #config: MonitorConfig['peers'];
  readonly #totals = new Map<number, Map<string, number>>();
  readonly #windows = new Map<number, SlidingSum>();
  readonly #banned = new Set<number>();
  readonly #cooldown: Cooldown;

  constructor(config: MonitorConfig['peers']) {
    this.#config = config;
    this.#cooldown = new Cooldown(config.cooldownMs);
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'peers') return [];
    const findings: Finding[] = [];
    for (const peer of signal.peers) {
      if (!Number.isSafeInteger(peer.peer) || peer.peer < 0 || peer.peer >= PEERS_MAX) continue;
      let totals = this.#totals.get(peer.peer);
      if (totals === undefined) {
        totals = new Map();
        this.#totals.set(peer.peer, totals);
      }
      const increase = counterIncrease(totals, peer.faults);
      let faults = 0;
      const reasons: string[] = [];
      for (const reason of this.#config.faultReasons) {
        const count = increase[reason] ?? 0;
        if (count > 0) {
          faults += count;
          reasons.push(`${reason}=${count}`);
        }
      }
      let window = this.#windows.get(peer.peer);
      if (window === undefined) {
        window = new SlidingSum(this.#config.peerFaultWindowMs);
        this.#windows.set(peer.peer, window);
      }
      const inWindow = window.add(signal.timeMs, faults);
      if (
        inWindow >= this.#config.peerFaultsMax &&
        this.#cooldown.ready(`faults/${peer.peer}`, signal.timeMs)
      ) {
        findings.push(
          createFinding({
            alertId: 'PALISADE-PEER-BAD-FRAMES',
            name: 'Peer sending bad messages',
            description: `Validator ${peer.peer} sent ${inWindow} malformed, oversized or badly signed messages within ${this.#config.peerFaultWindowMs} ms`,
            severity: 'High',
            type: 'Suspicious',
            metadata: {
              validator: peer.peer,
              faults: inWindow,
              windowMs: this.#config.peerFaultWindowMs,
              latest: reasons.join(',').slice(0, 256),
            },
            addresses: [validatorAddress(peer.peer)],
            height: signal.height,
            timeMs: signal.timeMs,
            key: `${peer.peer}/${signal.timeMs}`,
          }),
        );
      }
      if (peer.banned && !this.#banned.has(peer.peer)) {
        this.#banned.add(peer.peer);
        findings.push(
          createFinding({
            alertId: 'PALISADE-PEER-BANNED',
            name: 'Peer banned',
            description: `The transport banned validator ${peer.peer}: its score fell to zero`,
            severity: 'High',
            type: 'Suspicious',
            metadata: { validator: peer.peer },
            addresses: [validatorAddress(peer.peer)],
            height: signal.height,
            timeMs: signal.timeMs,
            key: `${peer.peer}/${signal.timeMs}`,
          }),
        );
      } else if (!peer.banned) {
        this.#banned.delete(peer.peer);
      }
    }
    return findings;
  }
}

/**
 * Connections refused at the handshake. Authentication failures (a key that is not the validator's
 * at its address, our own key, a validator dialing the wrong way) point at impersonation or a
 * stolen address; a high rate of the other refusals (unknown keys, failed or timed-out handshakes)
 * is a stranger flood against the handshake pool.
 */
export class HandshakeDetector implements Detector {
  readonly name = 'handshakes';
  readonly #config: MonitorConfig['peers'];
  readonly #totals = new Map<string, number>();
  readonly #authFailures: SlidingSum;
  readonly #strangers: SlidingSum;
  readonly #cooldown: Cooldown;

  constructor(config: MonitorConfig['peers']) {
    this.#config = config;
    this.#authFailures = new SlidingSum(config.strangerWindowMs);
    this.#strangers = new SlidingSum(config.strangerWindowMs);
    this.#cooldown = new Cooldown(config.cooldownMs);
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'peers') return [];
    const increase = counterIncrease(this.#totals, signal.refusals);
    let auth = 0;
    let strangers = 0;
    const authReasons: string[] = [];
    for (const [reason, count] of Object.entries(increase)) {
      if (this.#config.authFailureReasons.includes(reason)) {
        auth += count;
        authReasons.push(`${reason}=${count}`);
      } else {
        strangers += count;
      }
    }
    const findings: Finding[] = [];
    const authInWindow = this.#authFailures.add(signal.timeMs, auth);
    if (authInWindow >= this.#config.authFailuresMax && this.#cooldown.ready('auth', signal.timeMs)) {
      findings.push(
        createFinding({
          alertId: 'PALISADE-PEER-AUTH-FAILURE',
          name: 'Peers failing authentication',
          description: `${authInWindow} connections presented a key that is not the expected validator's within ${this.#config.strangerWindowMs} ms`,
          severity: 'High',
          type: 'Suspicious',
          metadata: {
            failures: authInWindow,
            latest: authReasons.sort().join(','),
            windowMs: this.#config.strangerWindowMs,
          },
          height: signal.height,
          timeMs: signal.timeMs,
          key: `auth/${signal.timeMs}`,
        }),
      );
    }
    const strangersInWindow = this.#strangers.add(signal.timeMs, strangers);
    if (
      strangersInWindow >= this.#config.strangerRefusalsMax &&
      this.#cooldown.ready('strangers', signal.timeMs)
    ) {
      findings.push(
        createFinding({
          alertId: 'PALISADE-STRANGER-FLOOD',
          name: 'Stranger connection flood',
          description: `${strangersInWindow} connections from non-validators were refused within ${this.#config.strangerWindowMs} ms`,
          severity: 'Medium',
          type: 'Suspicious',
          metadata: {
            refused: strangersInWindow,
            handshaking: signal.strangerHandshakes,
            windowMs: this.#config.strangerWindowMs,
          },
          height: signal.height,
          timeMs: signal.timeMs,
          key: `strangers/${signal.timeMs}`,
        }),
      );
    }
    return findings;
  }
}

/** Submissions refused at admission for spam codes at a high rate, and a mempool nearly full. */
export class MempoolSpamDetector implements Detector {
  readonly name = 'mempool-spam';
  readonly #config: MonitorConfig['mempool'];
  readonly #totals = new Map<string, number>();
  readonly #refusals: SlidingSum;
  readonly #byCode = new Map<string, SlidingSum>();
  readonly #cooldown: Cooldown;

  constructor(config: MonitorConfig['mempool']) {
    this.#config = config;
    this.#refusals = new SlidingSum(config.windowMs);
    this.#cooldown = new Cooldown(config.cooldownMs);
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'mempool') return [];
    const increase = counterIncrease(this.#totals, signal.refused);
    let spam = 0;
    const codes: Array<[string, number]> = [];
    for (const code of this.#config.spamCodes) {
      let window = this.#byCode.get(code);
      if (window === undefined) {
        window = new SlidingSum(this.#config.windowMs);
        this.#byCode.set(code, window);
      }
      const count = increase[code] ?? 0;
      spam += count;
      const inWindow = window.add(signal.timeMs, count);
      if (inWindow > 0) codes.push([code, inWindow]);
    }
    const findings: Finding[] = [];
    const inWindow = this.#refusals.add(signal.timeMs, spam);
    if (inWindow >= this.#config.refusalsMax && this.#cooldown.ready('spam', signal.timeMs)) {
      codes.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      findings.push(
        createFinding({
          alertId: 'PALISADE-MEMPOOL-SPAM',
          name: 'Mempool spam',
          description: `${inWindow} submissions were refused within ${this.#config.windowMs} ms (top: ${codes[0]?.[0] ?? 'none'})`,
          severity: 'Medium',
          type: 'Suspicious',
          metadata: {
            refused: inWindow,
            windowMs: this.#config.windowMs,
            codes: codes
              .slice(0, 8)
              .map(([code, count]) => `${code}=${count}`)
              .join(','),
          },
          height: signal.height,
          timeMs: signal.timeMs,
          key: `spam/${signal.timeMs}`,
        }),
      );
    }
    const fillBps =
      signal.transactionsMax > 0 ? Math.floor((signal.transactions * 10_000) / signal.transactionsMax) : 0;
    if (fillBps >= this.#config.saturationBps && this.#cooldown.ready('saturation', signal.timeMs)) {
      findings.push(
        createFinding({
          alertId: 'PALISADE-MEMPOOL-SATURATED',
          name: 'Mempool nearly full',
          description: `The mempool holds ${signal.transactions} of ${signal.transactionsMax} transactions`,
          severity: 'Medium',
          type: 'Degraded',
          metadata: { transactions: signal.transactions, transactionsMax: signal.transactionsMax, fillBps },
          height: signal.height,
          timeMs: signal.timeMs,
          key: `saturation/${signal.timeMs}`,
        }),
      );
    }
    return findings;
  }
}
