/**
 * A pipeline tracer for latency work (docs/performance.md), off unless `PALISADE_TRACE` names a
 * directory. Each traced process appends JSON lines `{t, at, event, ...fields}` to
 * `<dir>/trace-<label>-<pid>.jsonl`, where `t` is wall-clock milliseconds with microsecond
 * precision (`performance.timeOrigin + performance.now()`, comparable across the processes of one
 * machine) and `at` the process's label (`v0`, `v1`, …, `bench`). Lines are buffered and written
 * every 200 ms and at exit, so tracing costs the event loop a string per event, not a write.
 *
 * Transactions are sampled by id: one in `PALISADE_TRACE_SAMPLE` (default 8) — the id is a
 * SHA-256, so its first byte is uniform and every process samples the same transactions. Events
 * about blocks and votes are all traced.
 *
 * Off (the default), `tracing` is false and every call site guards on it: no string, no object.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance as perfHooks } from 'node:perf_hooks';

const directory = process.env.PALISADE_TRACE ?? '';
/** Whether this process traces; call sites check it before building an event. */
export const tracing = directory !== '';
const sampleEvery = Math.max(1, Number.parseInt(process.env.PALISADE_TRACE_SAMPLE ?? '8', 10) || 8);

let label = `p${process.pid}`;
let lines: string[] = [];
let flushTimer: ReturnType<typeof setInterval> | undefined;

const flush = () => {
  if (lines.length === 0) return;
  const text = `${lines.join('\n')}\n`;
  lines = [];
  try {
    appendFileSync(join(directory, `trace-${label}-${process.pid}.jsonl`), text);
  } catch {
    // Tracing never breaks the process it traces.
  }
};

if (tracing) {
  try {
    mkdirSync(directory, { recursive: true });
  } catch {
    // Reported by the first failed write, i.e. not at all: tracing is best effort.
  }
  process.on('exit', flush);
}

/**
 * Traces this process's event loop once a second: utilization, and the delay timers saw (p50,
 * p99, max, ms) — a step that takes tens of ms on a half-idle machine is a loop held by one task.
 */
export function traceEventLoop(): void {
  if (!tracing) return;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let last = perfHooks.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = perfHooks.eventLoopUtilization();
    const used = perfHooks.eventLoopUtilization(now, last);
    last = now;
    trace('loop', {
      utilization: Math.round(used.utilization * 1000) / 1000,
      delayP50: delay.percentile(50) / 1e6,
      delayP99: delay.percentile(99) / 1e6,
      delayMax: delay.max / 1e6,
    });
    delay.reset();
  }, 1000);
  timer.unref();
}

/** Names this process in its trace lines (a validator's `v<index>`). */
export function setTraceLabel(name: string): void {
  if (!tracing) return;
  flush();
  label = name;
}

/** Milliseconds, wall clock, microsecond precision, comparable across processes of one machine. */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Records one event. Guard the call with `tracing` so that nothing is built when off.
 * @example if (tracing) trace('proposal-out', { view, height });
 */
export function trace(event: string, fields: Record<string, unknown> = {}, t = traceNow()): void {
  if (!tracing) return;
  lines.push(JSON.stringify({ t: Math.round(t * 1000) / 1000, at: label, event, ...fields }));
  if (flushTimer === undefined) {
    flushTimer = setInterval(flush, 200);
    flushTimer.unref();
  }
}

/** Whether the transaction with this id (hex, with or without 0x) is in the traced sample. */
export function tracedTransaction(idHex: string): boolean {
  if (!tracing) return false;
  const at = idHex.startsWith('0x') ? 2 : 0;
  return Number.parseInt(idHex.slice(at, at + 2), 16) % sampleEvery === 0;
}

/** The traced ids among `ids` (hex), for an event about a block or a batch. */
export function tracedIds(ids: Iterable<string>): string[] {
  const out: string[] = [];
  for (const id of ids) if (tracedTransaction(id)) out.push(id.startsWith('0x') ? id.slice(2) : id);
  return out;
}
