/**
 * Step 1c, the withdrawal slowdown (issue 15, "Automatic responses"). The insurance fund is
 * compared, at the start of every block, with its value at the start of the current window of
 * `withdrawDrawdownWindowMs` (windows start afresh when one has run its time, at the fund's value
 * then). More than `withdrawDrawdownBps` below it, withdrawals are throttled: each block pays out at
 * most `withdrawCapPerBlock` in all, in transaction order; a withdrawal beyond the cap gets
 * `WITHDRAWAL_THROTTLED` (an outcome). A run on the venue while losses drain the fund is slowed to a
 * known rate; nobody's money is kept, and a withdrawal under the cap still passes.
 */
import { BPS, type EngineState } from '../state.ts';

export function watchFund(s: EngineState): void {
  s.withdrawnThisBlock = 0n;
  const p = s.params;
  if (p.withdrawDrawdownBps === 0) return;
  const watch = s.fundWatch;
  if (s.timeMs - watch.referenceMs >= p.withdrawDrawdownWindowMs) {
    watch.reference = s.insuranceFund;
    watch.referenceMs = s.timeMs;
  }
  const throttled =
    s.insuranceFund * BPS < watch.reference * (BPS - BigInt(Math.min(p.withdrawDrawdownBps, 10_000)));
  if (throttled === watch.throttled) return;
  watch.throttled = throttled;
  s.events.push(
    throttled
      ? { type: 'withdrawalsThrottled', insuranceFund: s.insuranceFund, reference: watch.reference }
      : { type: 'withdrawalsRestored', insuranceFund: s.insuranceFund },
  );
}
