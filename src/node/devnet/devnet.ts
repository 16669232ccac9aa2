/**
 * A whole Palisade network on one machine: what `palisade devnet` (and `npm start`) runs.
 *
 *   1. the network: keys, genesis and configs on first start (network.ts, through `palisade
 *      genesis`), read back on every later start, so the chain resumes from the data directory;
 *   2. the validators, each its own OS process on loopback (supervisor.ts), observing the
 *      genesis' simulated market as their oracle source;
 *   3. the dashboard (../dashboard/server.ts) polling every validator's API;
 *   4. the trading bots (bots.ts) on the accounts genesis funded;
 *   5. `<data>/devnet.json`: API URL, p2p address and pid of every validator and the dashboard
 *      URL, rewritten whenever a pid changes and marked `running: false` on a clean stop.
 *
 * Only one devnet runs per data directory: a start refuses while devnet.json names a live
 * supervisor. Validators left running by a supervisor that was SIGKILLed (found by their pid in
 * devnet.json *and* their command line naming this devnet's config) are stopped before starting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createEd25519Signer } from '../../crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../crypto/keystore.ts';
import { createDashboardServer, type RunningDashboard } from '../dashboard/server.ts';
import { type BotAccount, type RunningBots, startBots } from './bots.ts';
import { DevnetError, type DevnetNetwork, ensureNetwork } from './network.ts';
import {
  createSupervisor,
  type RestartPolicy,
  type Supervisor,
  type SupervisorEvent,
  type ValidatorProcessInfo,
} from './supervisor.ts';

export const DEVNET_FILE_FORMAT = 'palisade-devnet/1';
export const DEFAULT_BASE_PORT = 26_600;
/** Bot accounts funded in genesis: two makers and two takers. */
export const BOT_ROLES: readonly BotAccount['role'][] = Object.freeze(['maker', 'maker', 'taker', 'taker']);

export interface DevnetOptions {
  dataDirectory: string;
  validators: number;
  /**
   * Validator i: p2p basePort + i, API basePort + 100 + i; default 26600. Only used when the
   * network is made: an existing network keeps the ports in its genesis.
   */
  basePort?: number | undefined;
  /** The dashboard's port, 0 for any free one; default the network's base port + 200. */
  dashboardPort?: number | undefined;
  bots: boolean;
  reset: boolean;
  /**
   * Funded accounts made with a new network beyond the bots' own (the benchmark's load
   * generator signs with them); keystores under network/keys/trader-<i>.json after the bots'.
   */
  extraTraders?: number;
  /** Consensus leader timeout written into a new genesis (default 1000 ms). */
  leaderTimeoutMs?: number;
  /**
   * Price keyset refresh period written into a new genesis, in finalized blocks (default 0:
   * never). An existing network keeps its genesis' period.
   */
  epochBlocks?: number | undefined;
  /** A JSON file of declared validator metadata for a new network's genesis (palisade genesis --validator-metadata). */
  validatorMetadataFile?: string | undefined;
  /** Keygen round deadlines written into a new genesis (tests shorten them). */
  keygenDealMs?: number | undefined;
  keygenComplaintMs?: number | undefined;
  restart?: RestartPolicy | false;
  /** Dashboard poll period (default 1000 ms). */
  dashboardPollMs?: number;
  onProgress?: (message: string) => void;
  onEvent?: (event: SupervisorEvent) => void;
  onBotError?: (bot: string, message: string) => void;
}

export interface DevnetValidatorRecord {
  index: number;
  publicKey: string;
  api: string;
  p2p: string;
  pid: number | null;
  state: ValidatorProcessInfo['state'];
  restarts: number;
  config: string;
  log: string;
}

/** The document written to `<data>/devnet.json`. */
export interface DevnetRecord {
  format: typeof DEVNET_FILE_FORMAT;
  running: boolean;
  supervisorPid: number;
  chainId: number;
  dataDirectory: string;
  genesis: string;
  dashboard: string;
  validators: DevnetValidatorRecord[];
  bots: Array<{ role: BotAccount['role']; publicKey: string }>;
  updatedAt: string;
}

export interface RunningDevnet {
  readonly network: DevnetNetwork;
  readonly supervisor: Supervisor;
  readonly dashboard: RunningDashboard;
  readonly bots: RunningBots | undefined;
  /** True when this start made the network (keys and genesis). */
  readonly created: boolean;
  record(): DevnetRecord;
  /** Bots, dashboard, then validators (SIGTERM, SIGKILL after the grace period). */
  stop(): Promise<void>;
}

const BOT_STOP_WAIT_MS = 2000;

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms).unref());
}

export function devnetFileOf(dataDirectory: string): string {
  return join(resolve(dataDirectory), 'devnet.json');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

async function readRecord(dataDirectory: string): Promise<DevnetRecord | undefined> {
  try {
    return JSON.parse(await readFile(devnetFileOf(dataDirectory), 'utf8')) as DevnetRecord;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a second devnet on one data directory, and stops validators a killed supervisor left.
 * @throws DevnetError ALREADY_RUNNING
 */
async function claimDataDirectory(dataDirectory: string, progress: (message: string) => void): Promise<void> {
  const previous = await readRecord(dataDirectory);
  if (previous === undefined) return;
  if (previous.running && previous.supervisorPid !== process.pid && alive(previous.supervisorPid)) {
    throw new DevnetError(
      'ALREADY_RUNNING',
      `a devnet (pid ${previous.supervisorPid}) is already running on ${dataDirectory}; stop it first (Ctrl-C or kill ${previous.supervisorPid})`,
    );
  }
  for (const validator of previous.validators ?? []) {
    const pid = validator.pid;
    if (pid === null || !alive(pid)) continue;
    // A pid may have been reused by an unrelated process: only one running our config is ours.
    if (!commandLineOf(pid)?.includes(validator.config)) continue;
    progress(`stopping validator ${validator.index} (pid ${pid}) left running by an earlier devnet`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await delay(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

async function writeRecord(dataDirectory: string, record: DevnetRecord): Promise<void> {
  const file = devnetFileOf(dataDirectory);
  // Write then rename, so a reader never sees half a document.
  const scratch = `${file}.${process.pid}.tmp`;
  await writeFile(scratch, `${JSON.stringify(record, null, 2)}\n`);
  await rename(scratch, file);
}

/**
 * Starts (or resumes) a devnet; resolves once every validator is ready and the dashboard serves.
 * @example const devnet = await startDevnet({ dataDirectory: '.palisade/devnet', validators: 4, basePort: 26600, dashboardPort: 26800, bots: true, reset: false });
 * @throws DevnetError when the data directory is in use, genesis fails or a validator cannot start
 */
export async function startDevnet(options: DevnetOptions): Promise<RunningDevnet> {
  const dataDirectory = resolve(options.dataDirectory);
  const progress = options.onProgress ?? (() => {});
  await claimDataDirectory(dataDirectory, progress);
  if (options.reset && existsSync(dataDirectory)) {
    progress(`--reset: removing ${dataDirectory}`);
    await rm(dataDirectory, { recursive: true, force: true });
  }

  progress('preparing keys, genesis and validator configs');
  const { network, created } = await ensureNetwork({
    dataDirectory,
    validators: options.validators,
    basePort: options.basePort ?? DEFAULT_BASE_PORT,
    traders: BOT_ROLES.length + (options.extraTraders ?? 0),
    leaderTimeoutMs: options.leaderTimeoutMs ?? 1000,
    ...(options.epochBlocks === undefined ? {} : { epochBlocks: options.epochBlocks }),
    ...(options.validatorMetadataFile === undefined
      ? {}
      : { validatorMetadataFile: options.validatorMetadataFile }),
    ...(options.keygenDealMs === undefined ? {} : { keygenDealMs: options.keygenDealMs }),
    ...(options.keygenComplaintMs === undefined ? {} : { keygenComplaintMs: options.keygenComplaintMs }),
  });
  const networkBasePort = network.genesis.validators[0]!.p2p.port;
  if (!created && options.basePort !== undefined && networkBasePort !== options.basePort) {
    progress(`the network was made with base port ${networkBasePort}; it keeps its ports`);
  }
  const networkEpochBlocks = network.genesis.dkg.epochBlocks;
  if (!created && options.epochBlocks !== undefined && networkEpochBlocks !== options.epochBlocks) {
    progress(
      `the network was made with ${networkEpochBlocks === 0 ? 'no refresh' : `epochs of ${networkEpochBlocks} blocks`}; it keeps them (--reset to change)`,
    );
  }
  progress(
    created
      ? `new network in ${network.directory} (chain ${network.genesis.chainId})`
      : `resuming the network in ${network.directory} (chain ${network.genesis.chainId})`,
  );

  let record: DevnetRecord | undefined;
  let writing: Promise<void> = Promise.resolve();
  const persist = () => {
    if (record === undefined) return;
    record = { ...record, validators: validatorRecords(), updatedAt: new Date().toISOString() };
    const snapshot = record;
    // Serialized so that an older snapshot never lands after a newer one.
    writing = writing.then(() => writeRecord(dataDirectory, snapshot)).catch(() => undefined);
  };

  const supervisor = createSupervisor({
    configs: network.validators.map((validator) => validator.config),
    logDirectory: join(dataDirectory, 'logs'),
    ...(options.restart === undefined ? {} : { restart: options.restart }),
    onEvent: (event) => {
      if (event.type === 'ready' || event.type === 'exited') persist();
      options.onEvent?.(event);
    },
  });

  const validatorRecords = (): DevnetValidatorRecord[] =>
    supervisor.validators().map((info) => {
      const entry = network.validators[info.index]!;
      return {
        index: info.index,
        publicKey: entry.publicKey,
        api: info.api ?? entry.api,
        p2p: info.p2p ?? entry.p2p,
        pid: info.pid,
        state: info.state,
        restarts: info.restarts,
        config: info.config,
        log: info.logFile,
      };
    });

  progress(`starting ${network.validators.length} validators (logs in ${join(dataDirectory, 'logs')})`);
  let dashboard: RunningDashboard | undefined;
  let bots: RunningBots | undefined;
  try {
    await supervisor.startAll();
    dashboard = await createDashboardServer({
      validators: network.validators.map((validator) => ({ index: validator.index, apiUrl: validator.api })),
      host: '127.0.0.1',
      port: options.dashboardPort ?? networkBasePort + 200,
      ...(options.dashboardPollMs === undefined ? {} : { pollMs: options.dashboardPollMs }),
    });

    const password = (await readFile(network.passwordFile, 'utf8')).split(/\r?\n/)[0] ?? '';
    const botAccounts: BotAccount[] = [];
    for (const [index, role] of BOT_ROLES.entries()) {
      const keystore = network.traderKeystores[index];
      if (keystore === undefined) break;
      const pair = await loadEd25519Keystore(await readFile(keystore, 'utf8'), password);
      botAccounts.push({ role, signer: createEd25519Signer(pair.secretKey) });
      pair.secretKey.fill(0);
    }
    if (options.bots && botAccounts.length > 0) {
      bots = startBots({
        apiUrls: network.validators.map((validator) => validator.api),
        accounts: botAccounts,
        ...(options.onBotError === undefined ? {} : { onError: options.onBotError }),
      });
    }
    record = {
      format: DEVNET_FILE_FORMAT,
      running: true,
      supervisorPid: process.pid,
      chainId: network.genesis.chainId,
      dataDirectory,
      genesis: network.genesisPath,
      dashboard: dashboard.url,
      validators: validatorRecords(),
      bots: options.bots
        ? botAccounts.map((account) => ({
            role: account.role,
            publicKey: `0x${Buffer.from(account.signer.publicKey).toString('hex')}`,
          }))
        : [],
      updatedAt: new Date().toISOString(),
    };
    persist();
    await writing;
  } catch (error) {
    await bots?.stop();
    await dashboard?.close();
    await supervisor.stopAll();
    throw error;
  }

  const startedDashboard = dashboard;
  let stopping: Promise<void> | undefined;
  return {
    network,
    supervisor,
    dashboard: startedDashboard,
    bots,
    created,
    record: () => record!,
    stop() {
      stopping ??= (async () => {
        // A bot in the middle of an HTTP call finishes within its timeout; nobody needs to wait.
        if (bots !== undefined) await Promise.race([bots.stop(), delay(BOT_STOP_WAIT_MS)]);
        await startedDashboard.close();
        await supervisor.stopAll();
        record = { ...record!, running: false };
        persist();
        await writing;
      })();
      return stopping;
    },
  };
}
