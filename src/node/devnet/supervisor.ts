/**
 * Runs validators as separate OS processes (`palisade node --config FILE`) and looks after them.
 *
 * A validator is up when it prints its JSON ready line on stdout (commands/node.ts); its pino
 * logs (stderr) are appended to `<logDirectory>/validator-<i>.log`. A validator that exits when
 * nobody asked it to is reported and, when restarts are on, started again after a backoff that
 * doubles with each consecutive quick failure (from `initialDelayMs` to `maxDelayMs`) and resets
 * once a run lasted `stableAfterMs`: a crash loop costs little, a rare crash recovers at once.
 * Exits the caller asked for (`kill`, `stop`, `stopAll`) are never restarted.
 *
 * Stopping sends SIGTERM (the node finishes the block being applied and syncs storage) and
 * SIGKILL after `stopGraceMs`. No validator outlives its supervisor: should the supervising
 * process exit without stopping them (an uncaught exception, a failing test), an `exit` hook
 * SIGKILLs every child still running; should it be killed outright, each child notices its stdin
 * pipe close and stops itself (orphan-guard.ts, preloaded into every validator).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DevnetError, PALISADE_BIN } from './network.ts';

export type ValidatorState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface ValidatorProcessInfo {
  index: number;
  config: string;
  logFile: string;
  state: ValidatorState;
  pid: number | null;
  /** From the ready line: API base URL and p2p host:port. */
  api: string | null;
  p2p: string | null;
  /** Restarts after unexpected exits, over the supervisor's lifetime. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; atMs: number; expected: boolean } | null;
}

export type SupervisorEvent =
  | { type: 'ready'; index: number; pid: number; api: string | null; p2p: string }
  | {
      type: 'exited';
      index: number;
      pid: number;
      code: number | null;
      signal: string | null;
      expected: boolean;
    }
  | { type: 'restarting'; index: number; delayMs: number; attempt: number }
  | { type: 'start-failed'; index: number; error: string };

export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A run at least this long resets the backoff. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
});

export interface SupervisorOptions {
  /** Config file of validator i at index i. */
  configs: readonly string[];
  logDirectory: string;
  /** false: report unexpected exits but leave the validator down (fault tests want that). */
  restart?: RestartPolicy | false;
  /** Until the ready line; default 60 s (the first start runs the DKG, a restart replays blocks). */
  readyTimeoutMs?: number;
  /** SIGTERM → SIGKILL; default 10 s. */
  stopGraceMs?: number;
  onEvent?: (event: SupervisorEvent) => void;
  /** Extra environment for the validators. */
  env?: Record<string, string>;
}

export interface Supervisor {
  /** Starts every validator at once; resolves when all are ready, rejects if one fails. */
  startAll(): Promise<ValidatorProcessInfo[]>;
  /** Starts validator `index` (which must not be running); resolves once it is ready. */
  start(index: number): Promise<ValidatorProcessInfo>;
  /** Sends `signal` and waits for the exit, which counts as expected (no restart). */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM, SIGKILL after the grace period; resolves when it has exited. */
  stop(index: number): Promise<void>;
  stopAll(): Promise<void>;
  validators(): ValidatorProcessInfo[];
  info(index: number): ValidatorProcessInfo;
}

interface Slot {
  info: ValidatorProcessInfo;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  /** Set before we signal it ourselves, so its exit is not taken for a crash. */
  expectExit: boolean;
  startedAtMs: number;
  consecutiveFailures: number;
  restartTimer: NodeJS.Timeout | undefined;
}

const LOG_TAIL_BYTES = 4096;
const ORPHAN_GUARD = new URL('./orphan-guard.ts', import.meta.url).href;

function logTail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-LOG_TAIL_BYTES).trim();
  } catch {
    return '';
  }
}

/**
 * @example const supervisor = createSupervisor({ configs, logDirectory: 'logs' }); await supervisor.startAll();
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const restart = options.restart === undefined ? DEFAULT_RESTART_POLICY : options.restart;
  const emit = (event: SupervisorEvent) => options.onEvent?.(event);
  mkdirSync(options.logDirectory, { recursive: true });
  let shuttingDown = false;

  const slots: Slot[] = options.configs.map((config, index) => ({
    info: {
      index,
      config,
      logFile: join(options.logDirectory, `validator-${index}.log`),
      state: 'stopped',
      pid: null,
      api: null,
      p2p: null,
      restarts: 0,
      lastExit: null,
    },
    child: undefined,
    exited: undefined,
    expectExit: false,
    startedAtMs: 0,
    consecutiveFailures: 0,
    restartTimer: undefined,
  }));

  const slotOf = (index: number): Slot => {
    const slot = slots[index];
    if (slot === undefined) throw new RangeError(`no validator ${index}`);
    return slot;
  };

  // The last line of defence against orphans: synchronous, so it runs even on process.exit().
  const killAllNow = () => {
    for (const slot of slots) {
      if (slot.child !== undefined && slot.child.exitCode === null && slot.child.signalCode === null) {
        slot.child.kill('SIGKILL');
      }
    }
  };
  process.on('exit', killAllNow);

  const scheduleRestart = (slot: Slot) => {
    if (restart === false || shuttingDown) return;
    const ranMs = Date.now() - slot.startedAtMs;
    slot.consecutiveFailures = ranMs >= restart.stableAfterMs ? 1 : slot.consecutiveFailures + 1;
    const delayMs = Math.min(
      restart.maxDelayMs,
      restart.initialDelayMs * 2 ** Math.min(16, slot.consecutiveFailures - 1),
    );
    slot.info.state = 'restarting';
    emit({ type: 'restarting', index: slot.info.index, delayMs, attempt: slot.consecutiveFailures });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (shuttingDown || slot.child !== undefined) return;
      slot.info.restarts += 1;
      // A failed start exits the child, and its exit handler schedules the next attempt.
      launch(slot, true).catch((error: unknown) =>
        emit({ type: 'start-failed', index: slot.info.index, error: (error as Error).message }),
      );
    }, delayMs);
  };

  /**
   * Starts the validator of `slot`. `restarting`: a restart after a crash, whose own failure to
   * start is retried with backoff; a first start's failure is the caller's to handle.
   */
  function launch(slot: Slot, restarting = false): Promise<ValidatorProcessInfo> {
    if (slot.child !== undefined) {
      return Promise.reject(new Error(`validator ${slot.info.index} is already running`));
    }
    if (slot.restartTimer !== undefined) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const logFd = openSync(slot.info.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        ['--import', ORPHAN_GUARD, PALISADE_BIN, 'node', '--config', slot.info.config],
        {
          // stdin stays an open pipe that only our death closes (orphan-guard.ts).
          stdio: ['pipe', 'pipe', logFd],
          env: { ...process.env, ...options.env },
          // Its own process group: a Ctrl-C on the terminal reaches only the supervisor, which
          // stops the validators itself, instead of racing them to exit and taking that for a crash.
          detached: true,
        },
      );
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(logFd);
    }
    slot.child = child;
    slot.expectExit = false;
    slot.startedAtMs = Date.now();
    slot.info.state = 'starting';
    slot.info.pid = child.pid ?? null;
    slot.info.api = null;
    slot.info.p2p = null;

    let markExited: () => void = () => {};
    slot.exited = new Promise<void>((resolveExit) => {
      markExited = resolveExit;
    });
    let ready = false;
    let failStart: (error: Error) => void = () => {};

    child.once('exit', (code, signal) => {
      const expected = slot.expectExit || shuttingDown;
      slot.child = undefined;
      slot.info.state = 'stopped';
      slot.info.lastExit = { code, signal, atMs: Date.now(), expected };
      const pid = slot.info.pid ?? 0;
      slot.info.pid = null;
      markExited();
      if (!ready) {
        failStart(
          new DevnetError(
            'VALIDATOR_START_FAILED',
            `validator ${slot.info.index} exited (${signal ?? code}) before it was ready; its log ${slot.info.logFile} ends:\n${logTail(slot.info.logFile)}`,
          ),
        );
      }
      emit({ type: 'exited', index: slot.info.index, pid, code, signal, expected });
      if (!expected && (ready || restarting)) scheduleRestart(slot);
    });

    return new Promise<ValidatorProcessInfo>((resolveReady, rejectReady) => {
      failStart = rejectReady;
      const timer = setTimeout(() => {
        rejectReady(
          new DevnetError(
            'VALIDATOR_START_FAILED',
            `validator ${slot.info.index} not ready within ${readyTimeoutMs} ms; see ${slot.info.logFile}`,
          ),
        );
        slot.expectExit = true;
        child.kill('SIGKILL');
      }, readyTimeoutMs);
      child.once('exit', () => clearTimeout(timer));
      child.once('error', (error) => {
        clearTimeout(timer);
        rejectReady(error);
      });
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        let message: { event?: unknown; api?: unknown; p2p?: unknown };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          return;
        }
        if (message.event !== 'ready' || ready) return;
        ready = true;
        clearTimeout(timer);
        slot.info.state = 'running';
        slot.info.api = typeof message.api === 'string' ? message.api : null;
        slot.info.p2p = typeof message.p2p === 'string' ? message.p2p : null;
        emit({
          type: 'ready',
          index: slot.info.index,
          pid: slot.info.pid ?? 0,
          api: slot.info.api,
          p2p: slot.info.p2p ?? '',
        });
        resolveReady({ ...slot.info });
      });
    });
  }

  async function signalAndWait(slot: Slot, signal: NodeJS.Signals): Promise<void> {
    if (slot.restartTimer !== undefined) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.info.state = 'stopped';
    }
    const child = slot.child;
    if (child === undefined) return;
    slot.expectExit = true;
    child.kill(signal);
    await slot.exited;
  }

  async function stopSlot(slot: Slot): Promise<void> {
    const child = slot.child;
    if (child === undefined) return signalAndWait(slot, 'SIGTERM');
    const escalate = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    try {
      await signalAndWait(slot, 'SIGTERM');
    } finally {
      clearTimeout(escalate);
    }
  }

  return {
    async startAll() {
      const started = await Promise.allSettled(slots.map((slot) => launch(slot)));
      const failure = started.find((result) => result.status === 'rejected');
      if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
      return slots.map((slot) => ({ ...slot.info }));
    },
    start: (index) => launch(slotOf(index)),
    kill: (index, signal = 'SIGKILL') => signalAndWait(slotOf(index), signal),
    stop: (index) => stopSlot(slotOf(index)),
    async stopAll() {
      shuttingDown = true;
      await Promise.all(slots.map((slot) => stopSlot(slot)));
      process.off('exit', killAllNow);
    },
    validators: () => slots.map((slot) => ({ ...slot.info })),
    info: (index) => ({ ...slotOf(index).info }),
  };
}
