/**
 * Turns cumulative per-peer drop counters (what consensus exposes as `dropCounters()`: messages it
 * refused, by peer and reason) into transport penalties. Only the increase since the previous call
 * is charged, and each reason costs what the caller says: malformed or badly signed messages are
 * the sender's fault, while stale votes are normal for an honest peer that is slightly behind and
 * should cost nothing.
 */
import type { PeerId } from '../types.ts';

export type DropCounters = Readonly<Record<PeerId, Readonly<Partial<Record<string, number>>>>>;

export interface PenaltySink {
  penalize(peer: PeerId, reason: string, points?: number): void;
}

/**
 * @example
 * const feed = createDropCounterPenalties(transport, { malformed: 10, 'bad-signature': 20 });
 * clock.setTimer(1000, function tick() { feed.update(engine.dropCounters()); clock.setTimer(1000, tick); });
 * @throws RangeError when a weight is negative or not finite
 */
export function createDropCounterPenalties(
  sink: PenaltySink,
  pointsByReason: Readonly<Record<string, number>>,
): { update(counters: DropCounters): void } {
  for (const [reason, points] of Object.entries(pointsByReason)) {
    if (!Number.isFinite(points) || points < 0) throw new RangeError(`penalty for ${reason} must be >= 0`);
  }
  const charged = new Map<string, number>();
  return {
    update(counters: DropCounters): void {
      for (const [peerText, reasons] of Object.entries(counters)) {
        const peer = Number(peerText);
        for (const [reason, total] of Object.entries(reasons)) {
          const points = pointsByReason[reason];
          if (points === undefined || points === 0 || total === undefined) continue;
          const key = `${peer}/${reason}`;
          const fresh = total - (charged.get(key) ?? 0);
          charged.set(key, total);
          // A counter that went down belongs to a restarted engine: nothing new to charge.
          if (fresh > 0) sink.penalize(peer, reason, fresh * points);
        }
      }
    },
  };
}
