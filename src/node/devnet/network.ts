/**
 * The on-disk network of a devnet: keys, genesis and one config per validator, made once by
 * `palisade genesis` (the same command an operator runs for a real network) and read back on
 * every later start, so a devnet resumes from its data directory.
 *
 *   <data>/password.txt          keystore password (random, mode 0600; a devnet's keys are local)
 *   <data>/network/              what `palisade genesis --out` wrote: genesis.json, keys/,
 *                                validator-<i>/config.json and validator-<i>/data/
 *
 * The genesis is written into a scratch directory and renamed into place only once complete: an
 * interrupted first start leaves no half-made network that a second start would trip over.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toHex } from '../../crypto/bytes.ts';
import { type Genesis, parseGenesis } from '../genesis.ts';
import { declareEonKeygen } from './eon-setup.ts';

/** `bin/palisade.js`, which child processes run with this same Node (`process.execPath`). */
export const PALISADE_BIN = new URL('../../../bin/palisade.js', import.meta.url).pathname;

export class DevnetError extends Error {
  override readonly name = 'DevnetError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface DevnetNetworkOptions {
  /** The devnet's data directory. */
  dataDirectory: string;
  validators: number;
  /** Validator i: p2p on basePort + i, API on basePort + 100 + i (the genesis command's rule). */
  basePort: number;
  /** Funded accounts for the trading bots (keystores under network/keys/trader-<i>.json). */
  traders: number;
  /** Consensus leader timeout; tests shorten it so that a view change takes less time. */
  leaderTimeoutMs: number;
  /** Refresh the price keyset every this many finalized blocks (0 or absent: never). */
  epochBlocks?: number;
  /** `palisade genesis --validator-metadata`: what each validator's operator declares. */
  validatorMetadataFile?: string | undefined;
  /** Keygen round deadlines written into genesis (absent: the genesis defaults). */
  keygenDealMs?: number;
  keygenComplaintMs?: number;
  /**
   * The EVM side (`palisade genesis --bridge`): a new network credits deposits through the vault,
   * so its traders start unfunded (the bots deposit).
   */
  bridgeFile?: string;
  /**
   * Fair ordering in a new genesis: `eonKeygen` (the validators' eon DKG at first start) and one
   * encrypted-only market (eon-setup.ts); default false
   * (every order plain). `palisade devnet` passes true unless --no-fair-ordering.
   */
  fairOrdering?: boolean;
}

export interface DevnetValidatorEntry {
  index: number;
  publicKey: string;
  config: string;
  p2p: string;
  api: string;
}

export interface DevnetNetwork {
  directory: string;
  genesisPath: string;
  passwordFile: string;
  genesis: Genesis;
  validators: DevnetValidatorEntry[];
  /** Keystore paths of the funded trader accounts, by index. */
  traderKeystores: string[];
  operatorKeystore: string;
}

const TRADER_KEYSTORE = /^trader-(\d+)\.json$/;

/** The network directory under a devnet data directory. */
export function networkDirectoryOf(dataDirectory: string): string {
  return join(resolve(dataDirectory), 'network');
}

/**
 * Reads an existing devnet network; undefined when there is none yet.
 * @throws DevnetError BAD_NETWORK when the directory exists but its genesis does not parse
 */
export async function readNetwork(dataDirectory: string): Promise<DevnetNetwork | undefined> {
  const directory = networkDirectoryOf(dataDirectory);
  const genesisPath = join(directory, 'genesis.json');
  if (!existsSync(genesisPath)) return undefined;
  let genesis: Genesis;
  try {
    genesis = parseGenesis(JSON.parse(await readFile(genesisPath, 'utf8')));
  } catch (cause) {
    throw new DevnetError(
      'BAD_NETWORK',
      `${genesisPath} does not parse (${(cause as Error).message}); start afresh with --reset`,
      { cause },
    );
  }
  const keys = await readdir(join(directory, 'keys'));
  const traderKeystores = keys
    .flatMap((name) => {
      const match = TRADER_KEYSTORE.exec(name);
      return match === null ? [] : [{ index: Number(match[1]), path: join(directory, 'keys', name) }];
    })
    .sort((a, b) => a.index - b.index)
    .map((entry) => entry.path);
  return {
    directory,
    genesisPath,
    passwordFile: join(resolve(dataDirectory), 'password.txt'),
    genesis,
    validators: genesis.validators.map((validator, index) => ({
      index,
      publicKey: `0x${toHex(validator.publicKey)}`,
      config: join(directory, `validator-${index}`, 'config.json'),
      p2p: `${validator.p2p.host}:${validator.p2p.port}`,
      api: validator.api,
    })),
    traderKeystores,
    operatorKeystore: join(directory, 'keys', 'operator.json'),
  };
}

/** Runs `palisade genesis` as a child process; resolves with its exit code and stderr. */
function runGenesisCommand(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [PALISADE_BIN, 'genesis', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // Bounded: a usage message is a few hundred bytes; more is noise.
      if (stderr.length < 16_384) stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolveRun({ code, stderr }));
  });
}

/**
 * Reads the devnet's network, or creates it (keys, genesis, configs) when there is none.
 * @example const { network, created } = await ensureNetwork({ dataDirectory: '.palisade/devnet', validators: 4, basePort: 26600, traders: 4, leaderTimeoutMs: 1000 });
 * @throws DevnetError GENESIS_FAILED when `palisade genesis` fails, MISMATCH when an existing
 *   network has another number of validators than asked for
 */
export async function ensureNetwork(
  options: DevnetNetworkOptions,
): Promise<{ network: DevnetNetwork; created: boolean }> {
  const existing = await readNetwork(options.dataDirectory);
  if (existing !== undefined) {
    if (existing.validators.length !== options.validators) {
      throw new DevnetError(
        'MISMATCH',
        `the devnet in ${options.dataDirectory} has ${existing.validators.length} validators, not ${options.validators}; pass --reset to start afresh with ${options.validators}`,
      );
    }
    return { network: existing, created: false };
  }
  const dataDirectory = resolve(options.dataDirectory);
  await mkdir(dataDirectory, { recursive: true, mode: 0o700 });
  const passwordFile = join(dataDirectory, 'password.txt');
  if (!existsSync(passwordFile)) {
    await writeFile(passwordFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  const scratch = join(dataDirectory, `network.partial-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  const { code, stderr } = await runGenesisCommand([
    '--out',
    scratch,
    '--validators',
    String(options.validators),
    '--base-port',
    String(options.basePort),
    '--traders',
    String(options.traders),
    ...(options.bridgeFile === undefined ? [] : ['--bridge', options.bridgeFile, '--trader-balance', '0']),
    '--leader-timeout-ms',
    String(options.leaderTimeoutMs),
    '--epoch-blocks',
    String(options.epochBlocks ?? 0),
    ...(options.keygenDealMs === undefined ? [] : ['--keygen-deal-ms', String(options.keygenDealMs)]),
    ...(options.keygenComplaintMs === undefined
      ? []
      : ['--keygen-complaint-ms', String(options.keygenComplaintMs)]),
    ...(options.validatorMetadataFile === undefined
      ? []
      : ['--validator-metadata', resolve(options.validatorMetadataFile)]),
    '--password-file',
    passwordFile,
    // scrypt at 2^14: these keys guard nothing but a local devnet, and start-up stays quick.
    '--fast-kdf',
    '--json',
  ]);
  if (code !== 0) {
    await rm(scratch, { recursive: true, force: true });
    throw new DevnetError('GENESIS_FAILED', `palisade genesis exited with ${code}: ${stderr.trim()}`);
  }
  if (options.fairOrdering === true) {
    try {
      await declareEonKeygen(scratch);
    } catch (error) {
      await rm(scratch, { recursive: true, force: true });
      throw error;
    }
  }
  await rename(scratch, networkDirectoryOf(dataDirectory));
  const network = await readNetwork(dataDirectory);
  if (network === undefined)
    throw new DevnetError('GENESIS_FAILED', 'palisade genesis wrote no genesis.json');
  return { network, created: true };
}

/**
 * Points every validator's config at the EVM node (`evmRpc`), which may listen on another port
 * after a restart: the devnet rewrites it at every start, before the validators read it.
 */
export async function setEvmRpc(network: DevnetNetwork, rpc: string): Promise<void> {
  for (const validator of network.validators) {
    const config = JSON.parse(await readFile(validator.config, 'utf8')) as Record<string, unknown>;
    if (config.evmRpc === rpc) continue;
    config.evmRpc = rpc;
    const scratch = `${validator.config}.${process.pid}.tmp`;
    await writeFile(scratch, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    await rename(scratch, validator.config);
  }
}
