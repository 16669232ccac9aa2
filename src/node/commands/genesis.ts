/**
 * `palisade genesis --validators N --out DIR`: everything a new network needs, in one directory
 * that can be copied to the validators' machines (see the README's multi-machine section):
 *
 *   DIR/genesis.json                the genesis (src/node/genesis.ts)
 *   DIR/keys/validator-<i>.json     EIP-2335 keystores of the validators' Ed25519 identity keys
 *   DIR/keys/operator.json          the key that credits deposits, without --bridge (with it,
 *                                   deposits are credited by 2f + 1 validators and there is none)
 *   DIR/keys/governor-<i>.json      the governors' keys (default 5; 3 of them sign every governance
 *                                   action, the first 3 are also guardians, 2 of whom may halt)
 *   DIR/keys/trader-<i>.json        with --traders N: funded trading keys (devnet bots)
 *   DIR/validator-<i>/config.json   the config of validator i (src/node/config.ts): genesis and
 *                                   keystore paths relative to it, data in validator-<i>/data
 *
 * --bridge FILE names the EVM side (a JSON object: evmChainId, vault, token, fromBlock,
 * confirmations, verifier; addresses 0x-hex): genesis gets its `bridge` section, the price
 * certificates are signed for that chain id and verifier contract, and no operator key exists.
 * --evm-rpc URL writes `evmRpc` into every validator's config (what the validators follow).
 *
 * Validator i listens for peers on HOST:(base-port + i) and serves its API on
 * API-HOST:(base-port + 100 + i). Keystores are written with mode 0600 and encrypted under the
 * password from --password-file (first line), else $PALISADE_KEYSTORE_PASSWORD.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GOVERNANCE_KEYS_MAX } from '../../codec/execution.ts';
import { toHex } from '../../crypto/bytes.ts';
import { type Ed25519KeyPair, generateEd25519KeyPair } from '../../crypto/ed25519.ts';
import { createEd25519Keystore, KeystoreError } from '../../crypto/keystore.ts';
import { USDC } from '../../execution/fixtures.ts';
import { governanceConfigProblem } from '../../execution/governance.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';
import { nodeConfigToJson } from '../config.ts';
import {
  buildGenesis,
  DEFAULT_CHECKPOINT_EVERY_BLOCKS,
  DEFAULT_KEYGEN_COMPLAINT_MS,
  DEFAULT_KEYGEN_DEAL_MS,
  genesisToJson,
  MAX_EPOCH_BLOCKS,
} from '../genesis.ts';

export const PASSWORD_ENVIRONMENT_VARIABLE = 'PALISADE_KEYSTORE_PASSWORD';
const MAX_VALIDATORS = 128;
const MAX_TRADERS = 1000;
export const usage = `usage: palisade genesis --out DIR [--validators N] [--chain-id ID] [--host HOST] [--base-port PORT]
                        [--api-host HOST] [--traders N] [--trader-balance USDC] [--certificate-every BLOCKS]
                        [--leader-timeout-ms MS] [--start-time-ms MS] [--password-file FILE]
                        [--governors N] [--governance-threshold M] [--guardians G] [--guardian-threshold K]
                        [--timelock-ms MS]
                        [--epoch-blocks N] [--keygen-deal-ms MS] [--keygen-complaint-ms MS]
                        [--validator-metadata FILE] [--bridge FILE] [--evm-rpc URL]
                        [--kdf scrypt|pbkdf2] [--fast-kdf] [--json]
  validator i: p2p HOST:(PORT+i), API API-HOST:(PORT+100+i); defaults 4 validators, chain 7, 127.0.0.1, 26600
  password: --password-file (first line), else $${PASSWORD_ENVIRONMENT_VARIABLE}
  governance: N governor keys (default 5), M of them sign each action (3); the first G are
    guardians (3), K of whom may halt markets (2); non-emergency actions wait MS (60000)
  --fast-kdf: scrypt n=2^14 instead of 2^18 (local devnets and tests only)
  --epoch-blocks: refresh the price keyset every N finalized blocks (default 0: never; else >= 10)
  --bridge: a JSON object {evmChainId, vault, token, fromBlock, confirmations, verifier} naming the
    EVM vault, token and certificate verifier: deposits are credited by 2f + 1 validators, no operator key
  --evm-rpc: the EVM JSON-RPC URL written into every validator config (evmRpc)
  --validator-metadata: a JSON array, one object per validator, of what its operator declares:
    operator, jurisdiction, hosting, keyCustody (each optional, at most 64 characters); palisade
    risk and conformance read it from genesis`;

const METADATA_FIELDS = ['operator', 'jurisdiction', 'hosting', 'keyCustody'] as const;

export interface BridgeFile {
  evmChainId: number;
  vault: Uint8Array;
  token: Uint8Array;
  fromBlock: number;
  confirmations: number;
  verifier: Uint8Array;
}

/** Reads --bridge: the EVM side a bridged network follows and certifies for. */
async function readBridgeFile(file: string): Promise<BridgeFile> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new UsageError(`--bridge: cannot read ${file}: ${(cause as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError('--bridge must be a JSON object');
  const record = value as Record<string, unknown>;
  const fields = ['evmChainId', 'vault', 'token', 'fromBlock', 'confirmations', 'verifier'];
  for (const key of Object.keys(record))
    if (!fields.includes(key)) throw new UsageError(`--bridge.${key} is not one of ${fields.join(', ')}`);
  const address = (key: string): Uint8Array => {
    const text = record[key];
    if (typeof text !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(text) || /^0x0{40}$/.test(text))
      throw new UsageError(`--bridge.${key} must be a non-zero 0x-hex address`);
    return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
  };
  const whole = (key: string, min: number, max: number): number => {
    const n = record[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
      throw new UsageError(`--bridge.${key} must be an integer in [${min}, ${max}]`);
    return n;
  };
  return {
    evmChainId: whole('evmChainId', 1, Number.MAX_SAFE_INTEGER),
    vault: address('vault'),
    token: address('token'),
    fromBlock: whole('fromBlock', 0, Number.MAX_SAFE_INTEGER),
    confirmations: whole('confirmations', 1, 10_000),
    verifier: address('verifier'),
  };
}

/** Reads --validator-metadata: one object per validator with only the declared fields. */
async function readValidatorMetadata(
  file: string,
  n: number,
): Promise<Array<Partial<Record<(typeof METADATA_FIELDS)[number], string>>>> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new UsageError(`--validator-metadata: cannot read ${file}: ${(cause as Error).message}`);
  }
  if (!Array.isArray(document) || document.length !== n)
    throw new UsageError(`--validator-metadata must be a JSON array of ${n} objects, one per validator`);
  return document.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new UsageError(`--validator-metadata[${i}] must be an object`);
    const declared: Partial<Record<(typeof METADATA_FIELDS)[number], string>> = {};
    for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
      if (!(METADATA_FIELDS as readonly string[]).includes(key))
        throw new UsageError(`--validator-metadata[${i}].${key} is not one of ${METADATA_FIELDS.join(', ')}`);
      if (typeof value !== 'string' || value.length === 0 || value.length > 64)
        throw new UsageError(`--validator-metadata[${i}].${key} must be text of 1 to 64 characters`);
      declared[key as (typeof METADATA_FIELDS)[number]] = value;
    }
    return declared;
  });
}

async function readPassword(file: string | undefined): Promise<string> {
  if (file !== undefined) return (await readFile(file, 'utf8')).split(/\r?\n/)[0] ?? '';
  const fromEnvironment = process.env[PASSWORD_ENVIRONMENT_VARIABLE];
  if (fromEnvironment !== undefined) return fromEnvironment;
  throw new UsageError(`no password: pass --password-file or set ${PASSWORD_ENVIRONMENT_VARIABLE}`);
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  // 'wx' never overwrites a key or a genesis of an existing network.
  const file = await open(path, 'wx', mode);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

function integerOption(name: string, value: string | boolean | undefined, min: number, max: number): number {
  const parsed = numberOption(name, value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}]`);
  return parsed;
}

/**
 * Runs `palisade genesis`.
 * @example await run(['--validators', '4', '--out', 'net', '--password-file', 'pw.txt']);
 */
export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseOptions(args, {
      out: { type: 'string' },
      validators: { type: 'string', default: '4' },
      'chain-id': { type: 'string', default: '7' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-host': { type: 'string', default: '127.0.0.1' },
      'base-port': { type: 'string', default: '26600' },
      traders: { type: 'string', default: '0' },
      'trader-balance': { type: 'string', default: '1000000' },
      'certificate-every': { type: 'string', default: '5' },
      'leader-timeout-ms': { type: 'string', default: '1000' },
      governors: { type: 'string', default: '5' },
      'governance-threshold': { type: 'string', default: '3' },
      guardians: { type: 'string', default: '3' },
      'guardian-threshold': { type: 'string', default: '2' },
      'timelock-ms': { type: 'string', default: '60000' },
      'epoch-blocks': { type: 'string', default: '0' },
      'keygen-deal-ms': { type: 'string', default: String(DEFAULT_KEYGEN_DEAL_MS) },
      'keygen-complaint-ms': { type: 'string', default: String(DEFAULT_KEYGEN_COMPLAINT_MS) },
      'start-time-ms': { type: 'string' },
      'validator-metadata': { type: 'string' },
      bridge: { type: 'string' },
      'evm-rpc': { type: 'string' },
      'password-file': { type: 'string' },
      kdf: { type: 'string', default: 'scrypt' },
      'fast-kdf': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (typeof values.out !== 'string') throw new UsageError('--out DIR is required');
    const n = integerOption('validators', values.validators, 1, MAX_VALIDATORS);
    const chainId = integerOption('chain-id', values['chain-id'], 0, Number.MAX_SAFE_INTEGER);
    const basePort = integerOption('base-port', values['base-port'], 1, 65_535 - 100 - n);
    const traderCount = integerOption('traders', values.traders, 0, MAX_TRADERS);
    const traderBalance = integerOption('trader-balance', values['trader-balance'], 0, 1_000_000_000_000);
    const certificateEvery = integerOption('certificate-every', values['certificate-every'], 1, 1_000_000);
    const leaderMs = integerOption('leader-timeout-ms', values['leader-timeout-ms'], 50, 600_000);
    const governorCount = integerOption('governors', values.governors, 1, GOVERNANCE_KEYS_MAX);
    const governanceThreshold = integerOption(
      'governance-threshold',
      values['governance-threshold'],
      1,
      governorCount,
    );
    const guardianCount = integerOption('guardians', values.guardians, 0, governorCount);
    const guardianThreshold = integerOption(
      'guardian-threshold',
      values['guardian-threshold'],
      0,
      guardianCount,
    );
    const timelockMs = integerOption('timelock-ms', values['timelock-ms'], 0, 30 * 86_400_000);
    const epochBlocks = integerOption('epoch-blocks', values['epoch-blocks'], 0, MAX_EPOCH_BLOCKS);
    if (epochBlocks > 0 && epochBlocks < 10) throw new UsageError('--epoch-blocks is 0 or at least 10');
    const keygenDealMs = integerOption('keygen-deal-ms', values['keygen-deal-ms'], 100, 600_000);
    const keygenComplaintMs = integerOption(
      'keygen-complaint-ms',
      values['keygen-complaint-ms'],
      100,
      600_000,
    );
    const startTimeMs =
      values['start-time-ms'] === undefined
        ? Date.now()
        : integerOption('start-time-ms', values['start-time-ms'], 0, Number.MAX_SAFE_INTEGER);
    if (values.kdf !== 'scrypt' && values.kdf !== 'pbkdf2') throw new UsageError('--kdf is scrypt or pbkdf2');
    const metadata =
      values['validator-metadata'] === undefined
        ? undefined
        : await readValidatorMetadata(values['validator-metadata'], n);
    const bridge = values.bridge === undefined ? undefined : await readBridgeFile(values.bridge as string);
    const evmRpc = values['evm-rpc'] as string | undefined;
    if (evmRpc !== undefined && !/^https?:\/\/\S{1,2000}$/.test(evmRpc))
      throw new UsageError('--evm-rpc must be an http(s) URL');
    const password = await readPassword(values['password-file']);
    const host = values.host as string;
    const apiHost = values['api-host'] as string;

    const out = resolve(values.out);
    // Refuse before writing a single key: a half-overwritten network directory is worse than none.
    const existing = await open(join(out, 'genesis.json'), 'r').then(
      (file) => file.close().then(() => true),
      () => false,
    );
    if (existing) {
      console.error(`palisade genesis: ${out} already holds a genesis.json; choose another --out`);
      return 1;
    }
    const keysDirectory = join(out, 'keys');
    await mkdir(keysDirectory, { recursive: true, mode: 0o700 });
    const kdfOptions =
      values.kdf === 'pbkdf2'
        ? { kdf: 'pbkdf2' as const, ...(values['fast-kdf'] ? { pbkdf2Rounds: 16_384 } : {}) }
        : { kdf: 'scrypt' as const, ...(values['fast-kdf'] ? { scrypt: { n: 16_384, r: 8, p: 1 } } : {}) };
    const saveKey = async (name: string, label: string): Promise<{ pair: Ed25519KeyPair; path: string }> => {
      const pair = generateEd25519KeyPair();
      const keystore = await createEd25519Keystore(pair.secretKey, password, { ...kdfOptions, label });
      const path = join(keysDirectory, `${name}.json`);
      await writeNew(path, `${JSON.stringify(keystore, null, 2)}\n`, 0o600);
      pair.secretKey.fill(0);
      return { pair, path };
    };

    const validators = [];
    for (let i = 0; i < n; i++) validators.push(await saveKey(`validator-${i}`, `validator ${i}`));
    // With a bridge, 2f + 1 validators credit deposits and no single key can (genesis.ts).
    const operator = bridge === undefined ? await saveKey('operator', 'operator') : undefined;
    const governors = [];
    for (let i = 0; i < governorCount; i++) governors.push(await saveKey(`governor-${i}`, `governor ${i}`));
    const governance = {
      governors: governors.map((g) => g.pair.publicKey),
      threshold: governanceThreshold,
      guardians: governors.slice(0, guardianCount).map((g) => g.pair.publicKey),
      guardianThreshold,
      timelockMs,
    };
    const governanceProblem = governanceConfigProblem(governance);
    if (governanceProblem !== undefined) throw new UsageError(`governance: ${governanceProblem}`);
    const traders = [];
    for (let i = 0; i < traderCount; i++) traders.push(await saveKey(`trader-${i}`, `trader ${i}`));

    const shownHost = (name: string) => (name.includes(':') ? `[${name}]` : name);
    const genesis = buildGenesis({
      chainId,
      validators: validators.map((v, i) => ({
        publicKey: v.pair.publicKey,
        p2p: { host, port: basePort + i },
        api: `http://${shownHost(apiHost)}:${basePort + 100 + i}`,
        ...(metadata === undefined || Object.keys(metadata[i]!).length === 0
          ? {}
          : { metadata: metadata[i]! }),
      })),
      operator: operator?.pair.publicKey ?? new Uint8Array(32),
      governance,
      startTimeMs,
      accounts: traders.map((t) => ({
        publicKey: t.pair.publicKey,
        balance: BigInt(traderBalance) * BigInt(USDC),
      })),
      certificateEveryBlocks: certificateEvery,
      epochBlocks,
      keygenDealMs,
      keygenComplaintMs,
      ...(bridge === undefined
        ? {}
        : { certificateChainId: bridge.evmChainId, verifyingContract: bridge.verifier }),
      timeouts: {
        leaderMs,
        notarizationMs: 2 * leaderMs,
        nullifyRetryMs: leaderMs,
        syncRetryMs: Math.max(50, leaderMs >> 1),
      },
    });
    if (bridge !== undefined) {
      genesis.bridge = {
        evmChainId: bridge.evmChainId,
        vault: bridge.vault,
        token: bridge.token,
        fromBlock: bridge.fromBlock,
        confirmations: bridge.confirmations,
        checkpointEveryBlocks: DEFAULT_CHECKPOINT_EVERY_BLOCKS,
      };
    }
    const genesisPath = join(out, 'genesis.json');
    await writeNew(genesisPath, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`, 0o644);

    const configs: string[] = [];
    for (let i = 0; i < n; i++) {
      const directory = join(out, `validator-${i}`);
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const config = nodeConfigToJson(
        {
          genesisPath,
          index: i,
          keystorePath: validators[i]!.path,
          passwordFile: values['password-file'] === undefined ? undefined : resolve(values['password-file']),
          dataDirectory: join(directory, 'data'),
          p2pListen: { host, port: basePort + i },
          apiListen: { host: apiHost, port: basePort + 100 + i },
          peers: new Map(),
          oracleEnabled: true,
          logLevel: 'info',
          ...(evmRpc === undefined ? {} : { evmRpcUrl: evmRpc }),
        },
        out,
      );
      // Paths in a config are relative to its own directory.
      config.genesis = '../genesis.json';
      config.keystore = `../keys/validator-${i}.json`;
      config.dataDirectory = 'data';
      const path = join(directory, 'config.json');
      await writeNew(path, `${JSON.stringify(config, null, 2)}\n`, 0o600);
      configs.push(path);
    }

    const summary = {
      chainId,
      genesis: genesisPath,
      validators: validators.map((v, i) => ({
        index: i,
        publicKey: toHex(v.pair.publicKey),
        keystore: v.path,
        config: configs[i],
        p2p: `${shownHost(host)}:${basePort + i}`,
        api: `http://${shownHost(apiHost)}:${basePort + 100 + i}`,
      })),
      operator:
        operator === undefined
          ? null
          : { publicKey: toHex(operator.pair.publicKey), keystore: operator.path },
      governance: {
        governors: governors.map((g) => ({ publicKey: toHex(g.pair.publicKey), keystore: g.path })),
        threshold: governanceThreshold,
        guardians: governors.slice(0, guardianCount).map((g) => toHex(g.pair.publicKey)),
        guardianThreshold,
        timelockMs,
      },
      traders: traders.map((t) => ({ publicKey: toHex(t.pair.publicKey), keystore: t.path })),
    };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`genesis   ${genesisPath} (chain ${chainId}, ${n} validators)`);
      for (const v of summary.validators)
        console.log(`validator ${v.index}  ${v.p2p}  ${v.api}  ${v.config}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof KeystoreError || (error as NodeJS.ErrnoException).syscall !== undefined) {
      console.error(`palisade genesis: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
