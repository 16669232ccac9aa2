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
 *   6. with the bridge (a network made with `evm`, the CLI's default): a local EVM node (evm.ts,
 *      Hardhat's EDR in its own process) started before everything else and stopped after it,
 *      the test stablecoin, vault and verifier on it (bridge.ts), their addresses and chain id in
 *      genesis, every validator following it (`evmRpc`), and bots that fund their accounts by
 *      depositing through the vault: their balances come from the 2f + 1 deposit quorum.
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
import { EDR_ACCOUNT_KEYS } from '../../interop/evm/edr-server.ts';
import {
  addressOf,
  BOT_WALLET_BASE,
  type BridgeDeployment,
  DEVNET_CONFIRMATIONS,
  DEVNET_EVM_BLOCK_MS,
  deployTokenAndVault,
  deployVerifier,
  depositFor,
  hasCode,
} from '../../interop/evm/vault-setup.ts';
import type { PalisadeClient, Trader } from '../client.ts';
import { createDashboardServer, type RunningDashboard } from '../dashboard/server.ts';
import { claimOnVault, servedHandovers } from '../withdraw-evm.ts';
import { type BotAccount, type RunningBots, startBots } from './bots.ts';
import { awaitEonKeyset, eonResolver } from './eon-setup.ts';
import { type EvmProcess, startEvmProcess } from './evm.ts';
import { DevnetError, type DevnetNetwork, ensureNetwork, readNetwork, setEvmRpc } from './network.ts';
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
/** What each bot deposits through the vault on a bridged devnet (test stablecoin, 6 decimals). */
export const BOT_DEPOSIT = 1_000_000n * 10n ** 6n;
/** How long a bot waits for its deposit to be credited before it deposits again. */
const CREDIT_WAIT_MS = 60_000;
/** On a bridged devnet each bot withdraws this much to its EVM wallet this often, and claims it. */
export const BOT_WITHDRAWAL = 1_000n * 10n ** 6n;
const BOT_WITHDRAW_EVERY_MS = 45_000;
/** Beyond the eon DKG's own deadlines: start-up of the validators and their connections. */
const EON_KEYSET_WAIT_SLACK_MS = 60_000;
const CLAIM_ATTEMPTS = 3;

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
  /**
   * Make a new network with the bridge: a local EVM node, the vault and verifier on it, deposits
   * by 2f + 1 (default false here; `palisade devnet` passes true unless --no-evm). An existing
   * network keeps what it was made with.
   */
  evm?: boolean;
  /** The EVM node's JSON-RPC port, 0 for any free one; default the network's base port + 300. */
  evmPort?: number | undefined;
  /**
   * A new network's genesis gets fair ordering: the validators make its eon keyset by a DKG among
   * themselves at first start (eon-setup.ts), and one market takes encrypted orders only, which the bots trade encrypted (default false here;
   * `palisade devnet` passes true unless --no-fair-ordering). An existing network keeps what it
   * was made with.
   */
  fairOrdering?: boolean;
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
  /** The EVM side, on a bridged devnet. */
  evm?: {
    rpc: string;
    pid: number;
    chainId: number;
    token: string;
    vault: string;
    verifier: string;
    fromBlock: number;
    journal: string;
  };
  updatedAt: string;
}

export interface RunningDevnet {
  readonly network: DevnetNetwork;
  readonly supervisor: Supervisor;
  readonly dashboard: RunningDashboard;
  readonly bots: RunningBots | undefined;
  /** The bridge's EVM node and contracts; undefined on a devnet without the bridge. */
  readonly evm: (BridgeDeployment & { process: EvmProcess }) | undefined;
  /** Resolves once the verifier is on the EVM chain (after the validators' DKG). */
  readonly verifierReady: Promise<void>;
  /** The bots' withdrawals through the vault: submitted on Palisade, claimed (paid or queued) on the EVM. */
  withdrawals(): { submitted: number; claimed: number; failed: number };
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
  const leftovers = (previous.validators ?? []).map((validator) => ({
    what: `validator ${validator.index}`,
    pid: validator.pid,
    mark: validator.config,
  }));
  if (previous.evm !== undefined)
    leftovers.push({ what: 'the EVM node', pid: previous.evm.pid, mark: previous.evm.journal });
  for (const validator of leftovers) {
    const pid = validator.pid;
    if (pid === null || !alive(pid)) continue;
    // A pid may have been reused by an unrelated process: only one running our config is ours.
    if (!commandLineOf(pid)?.includes(validator.mark)) continue;
    progress(`stopping ${validator.what} (pid ${pid}) left running by an earlier devnet`);
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

  // The bridge: its EVM node starts first, since a new genesis names contracts deployed on it.
  const existing = await readNetwork(dataDirectory);
  const bridged = existing === undefined ? options.evm === true : existing.genesis.bridge !== undefined;
  if (existing !== undefined && options.evm === true && !bridged) {
    progress('this network was made without the bridge; it runs without one (--reset to add it)');
  }
  const evmDirectory = join(dataDirectory, 'evm');
  let evm: (BridgeDeployment & { process: EvmProcess }) | undefined;
  let bridgeFile: string | undefined;
  if (bridged) {
    const basePort = existing?.genesis.validators[0]?.p2p.port ?? options.basePort ?? DEFAULT_BASE_PORT;
    const journal = join(evmDirectory, 'journal.jsonl');
    // A journal without its network (an interrupted first start) describes another chain.
    if (existing === undefined) await rm(evmDirectory, { recursive: true, force: true });
    progress(
      existing === undefined ? 'starting the EVM node' : 'starting the EVM node (replaying its journal)',
    );
    const evmProcess = await startEvmProcess({
      port: options.evmPort ?? basePort + 300,
      chainId: existing?.genesis.bridge?.evmChainId ?? 31_337,
      blockMs: DEVNET_EVM_BLOCK_MS,
      journal,
      logFile: join(dataDirectory, 'logs', 'evm.log'),
      onUnexpectedExit: (code, signal) =>
        progress(
          `the EVM node exited unexpectedly (${signal ?? `code ${code}`}); deposits stop until the devnet restarts (see logs/evm.log)`,
        ),
    });
    try {
      if (existing === undefined) {
        progress('deploying the test stablecoin and the vault');
        const deployment = await deployTokenAndVault(evmProcess.rpc);
        evm = { ...deployment, process: evmProcess };
        bridgeFile = join(evmDirectory, 'bridge.json');
        await writeFile(
          bridgeFile,
          `${JSON.stringify({
            evmChainId: deployment.evmChainId,
            vault: deployment.vault,
            token: deployment.token,
            fromBlock: deployment.fromBlock,
            confirmations: DEVNET_CONFIRMATIONS,
            verifier: deployment.verifier,
          })}\n`,
        );
      } else {
        const genesis = existing.genesis;
        const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}` as const;
        evm = {
          evmChainId: genesis.bridge!.evmChainId,
          rpc: evmProcess.rpc,
          token: hex(genesis.bridge!.token),
          vault: hex(genesis.bridge!.vault),
          verifier: hex(genesis.priceCertificates.verifyingContract),
          fromBlock: genesis.bridge!.fromBlock,
          process: evmProcess,
        };
        if (!(await hasCode(evmProcess.rpc, evm.vault))) {
          throw new DevnetError(
            'EVM_STATE_LOST',
            `the EVM node has no vault at ${evm.vault} (was ${journal} removed?); start afresh with --reset`,
          );
        }
      }
    } catch (error) {
      await evmProcess.stop();
      throw error;
    }
  }

  progress('preparing keys, genesis and validator configs');
  let ensured: Awaited<ReturnType<typeof ensureNetwork>>;
  try {
    ensured = await ensureNetwork({
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
      ...(bridgeFile === undefined ? {} : { bridgeFile }),
      ...(options.fairOrdering === undefined ? {} : { fairOrdering: options.fairOrdering }),
    });
    if (evm !== undefined) await setEvmRpc(ensured.network, evm.rpc);
  } catch (error) {
    await evm?.process.stop();
    throw error;
  }
  const { network, created } = ensured;
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
  let verifierReady: Promise<void> = Promise.resolve();
  const withdrawals = botWithdrawals(() => evm, options.onBotError);
  const verifierAbort = new AbortController();
  try {
    await supervisor.startAll();
    if (evm !== undefined) {
      const deployment = evm;
      verifierReady = ensureVerifier(deployment, network.validators[0]!.api, verifierAbort.signal).then(
        (deployed) => {
          if (deployed)
            progress(`the verifier is at ${deployment.verifier} with the validators' price group key`);
        },
        (error: Error) => {
          if (!verifierAbort.signal.aborted) progress(`the verifier could not be deployed: ${error.message}`);
        },
      );
    }
    dashboard = await createDashboardServer({
      validators: network.validators.map((validator) => ({ index: validator.index, apiUrl: validator.api })),
      host: '127.0.0.1',
      port: options.dashboardPort ?? networkBasePort + 200,
      ...(options.dashboardPollMs === undefined ? {} : { pollMs: options.dashboardPollMs }),
      ...(evm === undefined
        ? {}
        : { bridge: { rpc: evm.rpc, vault: evm.vault, token: evm.token, verifier: evm.verifier } }),
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
    // The eon key: from the genesis (a network made before the validators' eon DKG), or served by
    // the validators once they agreed on it, checked against their attestations.
    let fair: { eon: number; eonPublicKey: Uint8Array; encryptedOnlySeries?: readonly number[] } | undefined;
    const listed = network.genesis.fairOrdering;
    const keygen = network.genesis.eonKeygen;
    if (listed !== undefined) fair = { ...listed, eonPublicKey: listed.eonPublicKey.toBytes(true) };
    else if (keygen !== undefined && options.bots && botAccounts.length > 0) {
      progress('waiting for the validators to agree on the eon keyset');
      const agreed = await awaitEonKeyset(
        network.validators.map((validator) => validator.api),
        network.genesis,
        EON_KEYSET_WAIT_SLACK_MS + keygen.dealMs + keygen.complaintMs,
      );
      progress(
        `the eon keyset is agreed (${agreed.eonPublicKeyBytes.length}-byte key, threshold ${agreed.threshold})`,
      );
      fair = {
        eon: agreed.eon,
        eonPublicKey: agreed.eonPublicKeyBytes,
        encryptedOnlySeries: agreed.encryptedOnlySeries,
      };
    }
    if (options.bots && botAccounts.length > 0) {
      bots = startBots({
        apiUrls: network.validators.map((validator) => validator.api),
        accounts: botAccounts,
        ...(fair?.encryptedOnlySeries === undefined
          ? {}
          : {
              encryption: {
                chainId: network.genesis.chainId,
                eon: fair.eon,
                eonPublicKey: fair.eonPublicKey,
                seriesIds: fair.encryptedOnlySeries,
                // With validator epochs the eon follows them: the bots read each window's.
                ...(keygen !== undefined && network.genesis.dkg.epochBlocks > 0
                  ? {
                      eonAt: eonResolver(
                        network.validators.map((validator) => validator.api),
                        network.genesis,
                      ),
                    }
                  : {}),
              },
            }),
        ...(options.onBotError === undefined ? {} : { onError: options.onBotError }),
        ...(evm === undefined
          ? {}
          : {
              prepare: fundThroughVault(evm),
              withdraw: { everyMs: BOT_WITHDRAW_EVERY_MS, run: withdrawals.run },
            }),
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
      ...(evm === undefined
        ? {}
        : {
            evm: {
              rpc: evm.rpc,
              pid: evm.process.pid,
              chainId: evm.evmChainId,
              token: evm.token,
              vault: evm.vault,
              verifier: evm.verifier,
              fromBlock: evm.fromBlock,
              journal: join(evmDirectory, 'journal.jsonl'),
            },
          }),
      updatedAt: new Date().toISOString(),
    };
    persist();
    await writing;
  } catch (error) {
    verifierAbort.abort();
    await bots?.stop();
    await dashboard?.close();
    await supervisor.stopAll();
    await verifierReady;
    await evm?.process.stop();
    throw error;
  }

  const startedDashboard = dashboard;
  let stopping: Promise<void> | undefined;
  return {
    network,
    supervisor,
    dashboard: startedDashboard,
    bots,
    evm,
    verifierReady,
    withdrawals: withdrawals.stats,
    created,
    record: () => record!,
    stop() {
      stopping ??= (async () => {
        verifierAbort.abort();
        // A bot in the middle of an HTTP call finishes within its timeout; nobody needs to wait.
        if (bots !== undefined) await Promise.race([bots.stop(), delay(BOT_STOP_WAIT_MS)]);
        await startedDashboard.close();
        withdrawals.stop();
        await supervisor.stopAll();
        await verifierReady;
        await withdrawals.settled();
        // Last: the validators follow it until they stop.
        await evm?.process.stop();
        record = { ...record!, running: false };
        persist();
        await writing;
      })();
      return stopping;
    },
  };
}

/** The price keyset a validator serves (`GET /v1/keys`); undefined while its DKG runs. */
async function currentKeyset(
  api: string,
  signal: AbortSignal,
): Promise<{ epoch: number; groupPublicKey: Uint8Array } | undefined> {
  try {
    const response = await fetch(`${api}/v1/keys`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { keyset: { epoch: number; groupPublicKey: string } | null };
    if (body.keyset === null) return undefined;
    return {
      epoch: body.keyset.epoch,
      groupPublicKey: Uint8Array.from(Buffer.from(body.keyset.groupPublicKey.slice(2), 'hex')),
    };
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
}

/**
 * Deploys the verifier once the validators' DKG made the price keyset (bridge.ts explains the
 * order); false when it was there already (a resumed devnet).
 */
async function ensureVerifier(
  deployment: BridgeDeployment,
  api: string,
  signal: AbortSignal,
): Promise<boolean> {
  if (await hasCode(deployment.rpc, deployment.verifier)) return false;
  for (;;) {
    signal.throwIfAborted();
    const keyset = await currentKeyset(api, signal);
    if (keyset !== undefined) {
      await deployVerifier(deployment, keyset);
      return true;
    }
    await delay(500);
  }
}

function balanceOf(read: { account: { balance: string } | null } | undefined): bigint {
  return BigInt(read?.account?.balance ?? '0');
}

/**
 * A bot's funding on a bridged devnet: unless its account already holds half a deposit (a resumed
 * devnet), mint test stablecoin to its EVM wallet, approve the vault and deposit, then wait until
 * the validators' 2f + 1 quorum credited it.
 */
function fundThroughVault(
  deployment: BridgeDeployment,
): (account: BotAccount, ordinal: number, client: PalisadeClient) => Promise<void> {
  return async (account, ordinal, client) => {
    const read = () => client.account(account.signer.publicKey).catch(() => undefined);
    const before = balanceOf(await read());
    if (before >= BOT_DEPOSIT / 2n) return;
    await depositFor(deployment, BOT_WALLET_BASE + ordinal, account.signer.publicKey, BOT_DEPOSIT);
    const deadline = Date.now() + CREDIT_WAIT_MS;
    while (balanceOf(await read()) < before + BOT_DEPOSIT) {
      if (Date.now() > deadline)
        throw new DevnetError(
          'DEPOSIT_NOT_CREDITED',
          `bot ${ordinal}'s deposit was not credited within ${CREDIT_WAIT_MS} ms`,
        );
      await delay(500);
    }
  };
}

/**
 * The bots' withdrawals: `run` (a bot's step) signs `Withdraw` of BOT_WITHDRAWAL to the bot's EVM
 * wallet and waits for its block; the claim — waiting for the certified checkpoint that holds
 * it, then `submitCheckpoint` if the vault lacks it and `claim` with the Merkle proof (src/node/
 * withdraw-evm.ts) — runs in the background so the bot goes back to trading.
 */
function botWithdrawals(
  deploymentOf: () => BridgeDeployment | undefined,
  onError: ((bot: string, message: string) => void) | undefined,
) {
  const counts = { submitted: 0, claimed: 0, failed: 0 };
  const claims = new Set<Promise<void>>();
  let stopped = false;
  return {
    stats: () => ({ ...counts }),
    stop() {
      stopped = true;
    },
    settled: () => Promise.allSettled([...claims]).then(() => undefined),
    async run(_account: BotAccount, ordinal: number, client: PalisadeClient, trader: Trader): Promise<void> {
      const deployment = deploymentOf();
      if (deployment === undefined || stopped) return;
      const wallet = BOT_WALLET_BASE + ordinal;
      const { id } = await trader.withdraw(BOT_WITHDRAWAL, {
        recipient: addressOf(wallet),
        token: deployment.token,
      });
      const outcome = await client.waitForTransaction(id, { timeoutMs: 30_000 });
      if (outcome.status !== 'OK' || outcome.withdrawalId === undefined)
        throw new DevnetError('WITHDRAW_REFUSED', `the engine answered ${outcome.status}`);
      counts.submitted++;
      const withdrawalId = outcome.withdrawalId;
      const claim = (async () => {
        const read = await client.waitForWithdrawal(withdrawalId, { timeoutMs: 120_000 });
        const { keyset } = await client.certificates();
        if (keyset === null) throw new DevnetError('WITHDRAW_REFUSED', 'the node serves no keyset');
        // Two bots may race to submit the same checkpoint; the loser's next try finds it known.
        for (let attempt = 1; ; attempt++) {
          try {
            await claimOnVault(
              read,
              { rpcUrl: deployment.rpc, privateKey: EDR_ACCOUNT_KEYS[wallet]!, vault: deployment.vault },
              Uint8Array.from(Buffer.from(keyset.groupPublicKey.slice(2), 'hex')),
              await servedHandovers(client),
            );
            break;
          } catch (error) {
            if (stopped || attempt >= CLAIM_ATTEMPTS) throw error;
            await delay(2000);
          }
        }
        counts.claimed++;
      })().catch((error: Error) => {
        if (stopped) return;
        counts.failed++;
        onError?.(`withdrawer-${ordinal}`, error.message);
      });
      claims.add(claim);
      claim.finally(() => claims.delete(claim));
    },
  };
}
