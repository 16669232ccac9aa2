/**
 * A clock for in-process tests of the price-signing protocols: time moves only when the test
 * advances it, and due timers fire in order (by due time, then by creation), with `between` run
 * after each so the test can deliver the messages that timer produced.
 * @example const { clock, advance } = manualClock(); advance(1000, deliver);
 */
import type { Clock } from '../runtime/types.ts';

export function manualClock() {
  let now = 0;
  let sequence = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimer(delayMs, callback) {
      const id = sequence++;
      timers.set(id, { at: now + delayMs, callback });
      return () => timers.delete(id);
    },
  };
  const advance = (ms: number, between: () => void) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
      if (due.length === 0) break;
      const [id, timer] = due[0]!;
      timers.delete(id);
      now = Math.max(now, timer.at);
      timer.callback();
      between();
    }
    now = end;
  };
  return { clock, advance };
}
