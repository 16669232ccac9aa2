/**
 * View timeouts with exponential backoff (spec §6). Simplex is live once the timeouts exceed the
 * network's actual delay bound; a validator does not know that bound, so each consecutive view
 * that ended in a nullification doubles the next view's timeouts, up to
 * 2^{@link TIMEOUT_BACKOFF_SHIFT_MAX} times the configured ones, and any notarized or finalized
 * view resets them. The streak is a function of the certificates held (the nullified views just
 * below the view entered, back to the last certified one), so every validator holding the same
 * certificates uses the same timeouts, and a restarted validator resumes with the ones it had.
 */

/** Timeouts grow at most 2^3 = 8 times: a partition's nullified views then last 8 × the base. */
export const TIMEOUT_BACKOFF_SHIFT_MAX = 3;

/**
 * `baseMs` backed off for `nullifiedStreak` consecutive nullified views.
 * @example backedOffMs(1000, 2) === 4000; backedOffMs(1000, 50) === 8000
 */
export function backedOffMs(baseMs: number, nullifiedStreak: number): number {
  const shift = Math.min(Math.max(0, Math.trunc(nullifiedStreak)), TIMEOUT_BACKOFF_SHIFT_MAX);
  return baseMs * (1 << shift);
}
