/**
 * The devnet's EVM node as a child process (`palisade evm-node`, Hardhat's EDR behind JSON-RPC),
 * started and stopped by the devnet like its validators and guarded the same way against
 * orphans: it runs with orphan-guard.ts preloaded (when the devnet dies, however it dies, the
 * node's stdin closes and it stops itself), and an `exit` hook here SIGKILLs it should the devnet
 * exit without stopping it. Its chain lives in memory; `<data>/evm/journal.jsonl` (written by the
 * node) replays it on the next start, so a resumed devnet finds its contracts and deposits again.
 * Its output goes to `<data>/logs/evm.log`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { DevnetError, PALISADE_BIN } from './network.ts';

const ORPHAN_GUARD = new URL('./orphan-guard.ts', import.meta.url).href;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5000;

export interface EvmProcessOptions {
  /** 0: any free port. */
  port: number;
  chainId: number;
  blockMs: number;
  journal: string;
  logFile: string;
  /** Called when it exits without being asked to (the devnet reports it; nothing restarts it). */
  onUnexpectedExit?: (code: number | null, signal: string | null) => void;
}

export interface EvmProcess {
  readonly rpc: string;
  readonly pid: number;
  readonly replayed: number;
  /** SIGTERM, SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2048).trim();
  } catch {
    return '';
  }
}

/**
 * @example const evm = await startEvmProcess({ port: 26900, chainId: 31337, blockMs: 1000, journal, logFile });
 * @throws DevnetError EVM_START_FAILED
 */
export async function startEvmProcess(options: EvmProcessOptions): Promise<EvmProcess> {
  mkdirSync(dirname(options.journal), { recursive: true });
  mkdirSync(dirname(options.logFile), { recursive: true });
  const logFd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [
        '--import',
        ORPHAN_GUARD,
        PALISADE_BIN,
        'evm-node',
        '--port',
        String(options.port),
        '--chain-id',
        String(options.chainId),
        '--block-ms',
        String(options.blockMs),
        '--journal',
        options.journal,
      ],
      // stdin: the pipe only our death closes (orphan-guard.ts); own process group, as validators.
      { stdio: ['pipe', 'pipe', logFd], detached: true },
    );
  } finally {
    closeSync(logFd);
  }
  let expected = false;
  const killNow = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killNow);
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', (code, signal) => {
      process.off('exit', killNow);
      if (!expected) options.onUnexpectedExit?.(code, signal);
      resolveExit();
    }),
  );

  const ready = await new Promise<{ rpc: string; replayed: number }>((resolveReady, rejectReady) => {
    const fail = (why: string) =>
      rejectReady(
        new DevnetError(
          'EVM_START_FAILED',
          `the EVM node ${why}; ${options.logFile} ends:\n${logTail(options.logFile)}`,
        ),
      );
    const timer = setTimeout(() => {
      expected = true;
      child.kill('SIGKILL');
      fail(`was not ready within ${READY_TIMEOUT_MS} ms`);
    }, READY_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(`exited (${signal ?? code}) before it was ready`);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(`could not start: ${error.message}`);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const message = JSON.parse(line) as { event?: unknown; rpc?: unknown; replayed?: unknown };
        if (message.event !== 'ready' || typeof message.rpc !== 'string') return;
        clearTimeout(timer);
        resolveReady({ rpc: message.rpc, replayed: Number(message.replayed ?? 0) });
      } catch {
        // Not our line.
      }
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    rpc: ready.rpc,
    pid: child.pid ?? 0,
    replayed: ready.replayed,
    stop() {
      stopping ??= (async () => {
        expected = true;
        if (child.exitCode !== null || child.signalCode !== null) return;
        const escalate = setTimeout(killNow, STOP_GRACE_MS);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(escalate);
      })();
      return stopping;
    },
  };
}
