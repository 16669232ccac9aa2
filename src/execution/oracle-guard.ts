/**
 * The oracle guards, as the engine reads them. The aggregate (src/oracle/aggregate.ts) flags a
 * price that jumped (MAX_MOVE), left its moving average's band (EMA_BAND) or carries a wide
 * confidence (CONFIDENCE_WIDE). The engine neither trusts such a price at once nor refuses it
 * forever:
 * - a flagged valid price while no pause episode is open starts one: the price is not taken as
 *   the index and its sample is invalid, so marks stay on the last unflagged index and accounts
 *   exposed to the underlying are not liquidated, until `pauseMs` of block time has passed;
 * - flagged prices inside the pause are treated the same; the first flagged price at or after the
 *   pause's end is taken (a move all sources keep agreeing on is real), and so are those after it;
 * - an unflagged valid price ends the episode.
 * A legitimate gap is therefore followed at the first block at or after pauseMs from its first
 * flagged block: within ⌈pauseMs / block interval⌉ + 1 blocks (201 at 150 ms blocks and the
 * default 30 s). A one-block spike and the flagged return from it never become the index. The
 * pause must stay shorter than `maxSampleHoldMs` so that marks on the held index do not lapse.
 * `pauseMs` = 0 disables the guards. The episode's end (`untilMs`, 0 for none) is state,
 * committed to the root with the underlying's oracle record.
 */

/** MAX_MOVE | EMA_BAND | CONFIDENCE_WIDE in src/oracle/aggregate.ts `AggregateFlag`. */
export const GUARD_FLAGS_MASK = 2 | 4 | 8;

export interface GuardDecision {
  /** Whether the price becomes the index (and a valid settlement sample). */
  accept: boolean;
  untilMs: number;
  event?: { type: 'pause'; untilMs: number } | { type: 'resume'; reason: 'unflagged' | 'timeout' };
}

/**
 * The guard's verdict on one valid price.
 * @param untilMs the open episode's pause end, 0 when none
 * @param indexTimeMs block time the index was last taken, undefined when never
 */
export function guardPrice(
  flags: number,
  untilMs: number,
  nowMs: number,
  pauseMs: number,
  indexTimeMs: number | undefined,
): GuardDecision {
  const flagged = pauseMs > 0 && (flags & GUARD_FLAGS_MASK) !== 0;
  if (!flagged) {
    if (untilMs === 0) return { accept: true, untilMs: 0 };
    // A pause that already timed out said so when it let the first flagged price through.
    return nowMs < untilMs
      ? { accept: true, untilMs: 0, event: { type: 'resume', reason: 'unflagged' } }
      : { accept: true, untilMs: 0 };
  }
  if (untilMs === 0) {
    const end = nowMs + pauseMs;
    return { accept: false, untilMs: end, event: { type: 'pause', untilMs: end } };
  }
  if (nowMs < untilMs) return { accept: false, untilMs };
  const first = indexTimeMs === undefined || indexTimeMs < untilMs;
  return first
    ? { accept: true, untilMs, event: { type: 'resume', reason: 'timeout' } }
    : { accept: true, untilMs };
}

/** Whether an underlying's liquidations are paused. */
export function guardPaused(untilMs: number, nowMs: number): boolean {
  return untilMs !== 0 && nowMs < untilMs;
}
