/**
 * The oracle guards, as the engine reads them. The aggregate (src/oracle/aggregate.ts) flags a
 * price that jumped (MAX_MOVE), left its moving average's band (EMA_BAND) or carries a wide
 * confidence (CONFIDENCE_WIDE). The engine neither trusts such a price at once nor refuses it
 * forever:
 * - a flagged valid price while no pause episode is open starts one: the price is not taken as
 *   the index and its sample is invalid, so marks stay on the last unflagged index and accounts
 *   exposed to the underlying are not liquidated, until `pauseMs` of block time has passed;
 * - inside the pause, flagged prices are treated the same, and so are unflagged ones far from the
 *   held index: the aggregate flags a jump once and its EMA may absorb it within a block, so an
 *   unflagged price ends the pause early only when it is back within `GUARD_RESUME_BAND_BPS` of
 *   the held index (the spike is over);
 * - the first price at or after the pause's end is taken, flagged or not (a move all sources keep
 *   agreeing on is real), and so are those after it; an unflagged price then ends the episode.
 * A legitimate gap is therefore followed at the first block at or after pauseMs from its first
 * flagged block: within ⌈pauseMs / block interval⌉ + 1 blocks (201 at 150 ms blocks and the
 * default 30 s). A one-block spike and the flagged return from it never become the index. The
 * pause must stay shorter than `maxSampleHoldMs` so that marks on the held index do not lapse.
 * `pauseMs` = 0 disables the guards. The episode's end (`untilMs`, 0 for none) is state,
 * committed to the root with the underlying's oracle record.
 */

/** MAX_MOVE | EMA_BAND | CONFIDENCE_WIDE in src/oracle/aggregate.ts `AggregateFlag`. */
export const GUARD_FLAGS_MASK = 2 | 4 | 8;
/** How close to the held index an unflagged price must be to end a pause early: 2%. */
export const GUARD_RESUME_BAND_BPS = 200n;

export interface GuardDecision {
  /** Whether the price becomes the index (and a valid settlement sample). */
  accept: boolean;
  untilMs: number;
  event?: { type: 'pause'; untilMs: number } | { type: 'resume'; reason: 'unflagged' | 'timeout' };
}

/**
 * The guard's verdict on one valid price.
 * @param untilMs the open episode's pause end, 0 when none
 * @param index the held index and the block time it was taken, undefined when there is none
 */
export function guardPrice(
  flags: number,
  price: bigint,
  untilMs: number,
  nowMs: number,
  pauseMs: number,
  index: { price: bigint; blockTimeMs: number } | undefined,
): GuardDecision {
  const flagged = pauseMs > 0 && (flags & GUARD_FLAGS_MASK) !== 0;
  if (untilMs === 0) {
    if (!flagged) return { accept: true, untilMs: 0 };
    const end = nowMs + pauseMs;
    return { accept: false, untilMs: end, event: { type: 'pause', untilMs: end } };
  }
  if (nowMs < untilMs) {
    if (flagged || index === undefined) return { accept: false, untilMs };
    const gap = price > index.price ? price - index.price : index.price - price;
    if (gap * 10_000n > index.price * GUARD_RESUME_BAND_BPS) return { accept: false, untilMs };
    return { accept: true, untilMs: 0, event: { type: 'resume', reason: 'unflagged' } };
  }
  // The pause ran out: the price is taken; the first one taken says so.
  const event =
    index === undefined || index.blockTimeMs < untilMs
      ? { type: 'resume' as const, reason: 'timeout' as const }
      : undefined;
  const next = flagged ? untilMs : 0;
  return event === undefined ? { accept: true, untilMs: next } : { accept: true, untilMs: next, event };
}

/** Whether an underlying's liquidations are paused. */
export function guardPaused(untilMs: number, nowMs: number): boolean {
  return untilMs !== 0 && nowMs < untilMs;
}
