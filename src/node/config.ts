/**
 * One validator's config file (`palisade node --config FILE`), JSON, parsed strictly like the
 * genesis. Relative paths are resolved against the config file's directory, so a directory made
 * by `palisade genesis` can be moved or copied to another machine as a whole.
 *
 *   format          "palisade-node-config/1"
 *   genesis         path of genesis.json
 *   index           this validator's index in genesis.validators; a validator that is not in
 *                   genesis (added by governance later, `join`) gives genesis.validators.length
 *   keystore        path of its EIP-2335 keystore (the identity key the genesis lists)
 *   passwordFile    optional: first line is the keystore password; otherwise the environment
 *                   variable PALISADE_KEYSTORE_PASSWORD
 *   dataDirectory   SQLite database, price keyset; created if missing
 *   p2pListen       "host:port" the transport binds (0.0.0.0:PORT across machines)
 *   apiListen       "host:port" of the HTTP API, or null for none (127.0.0.1 by default: the API
 *                   is for the operator's machine unless they choose otherwise)
 *   peers           optional { "<index>": "host:port" } overriding genesis p2p addresses (NAT,
 *                   private networks)
 *   oracle          optional { "enabled": false } to run without observing prices, and
 *                   "stuckSources": ["venue-id", …], a fault drill: those sources freeze at their
 *                   first price on this validator (src/oracle/source.ts stuckSource)
 *   logLevel        optional pino level (default "info")
 *   monitor         optional findings settings: capacity, thresholds, webhook (src/monitor/settings.ts)
 *   join            optional, only for a validator that is not in genesis:
 *                   { "trustedKeyset": { "epoch": N, "groupPublicKey": "<33-byte hex>" } }, the price
 *                   keyset its operator trusts (the genesis keyset, or a later one verified by
 *                   hand, as an EVM verifier is deployed with one). It accepts the keyset it joins
 *                   only through handover certificates from this one (src/node/price-join.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { MonitorError } from '../monitor/finding.ts';
import { type MonitorSettings, parseMonitorSettings } from '../monitor/settings.ts';
import { GenesisError, parseHostPort } from './genesis.ts';

export const CONFIG_FORMAT = 'palisade-node-config/1';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
  readonly field: string;
  constructor(field: string, reason: string, options?: { cause?: unknown }) {
    super(`config ${field}: ${reason}`, options);
    this.field = field;
  }
}

export interface NodeConfig {
  /** Absolute paths. */
  genesisPath: string;
  index: number;
  keystorePath: string;
  passwordFile: string | undefined;
  dataDirectory: string;
  p2pListen: { host: string; port: number };
  apiListen: { host: string; port: number } | undefined;
  peers: Map<number, { host: string; port: number }>;
  oracleEnabled: boolean;
  /** Sources this validator sees frozen (a fault drill); empty normally. */
  oracleStuckSources?: readonly string[] | undefined;
  logLevel: LogLevel;
  /** Blocks behind at which the node state-syncs (NodeOptions.stateSyncThresholdBlocks); undefined: default. */
  stateSyncThresholdBlocks?: number | undefined;
  /** The `monitor` section (NodeOptions.monitor); undefined: the defaults, no webhook. */
  monitor?: MonitorSettings | undefined;
  /** `evmRpc`: the bridge's EVM JSON-RPC URL (genesis `bridge`); undefined: report no deposits. */
  evmRpcUrl?: string | undefined;
  /** `join`: a validator not in genesis, with the price keyset its operator trusts. */
  join?: { trustedKeyset: { epoch: number; groupPublicKey: Uint8Array } } | undefined;
}

const KEYS = ['format', 'genesis', 'index', 'keystore', 'dataDirectory', 'p2pListen', 'apiListen'];
const OPTIONAL = [
  'passwordFile',
  'peers',
  'oracle',
  'logLevel',
  'stateSyncThresholdBlocks',
  'monitor',
  'evmRpc',
  'join',
];

/** The `join` section: `{ trustedKeyset: { epoch, groupPublicKey } }`. */
function joinSection(value: unknown): NonNullable<NodeConfig['join']> {
  const shape = 'must be { "trustedKeyset": { "epoch": N, "groupPublicKey": "<33-byte hex>" } }';
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError('join', shape);
  const record = value as Record<string, unknown>;
  if (Object.keys(record).some((key) => key !== 'trustedKeyset')) throw new ConfigError('join', shape);
  const trusted = record.trustedKeyset as Record<string, unknown> | undefined;
  if (typeof trusted !== 'object' || trusted === null || Array.isArray(trusted))
    throw new ConfigError('join.trustedKeyset', shape);
  if (Object.keys(trusted).some((key) => key !== 'epoch' && key !== 'groupPublicKey'))
    throw new ConfigError('join.trustedKeyset', shape);
  const epoch = trusted.epoch;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1)
    throw new ConfigError('join.trustedKeyset.epoch', 'must be a keyset epoch (1 or more)');
  const text = trusted.groupPublicKey;
  const hex = typeof text === 'string' ? text.replace(/^0x/, '') : '';
  const key = /^(02|03)[0-9a-fA-F]{64}$/.test(hex) ? fromHex(hex) : undefined;
  if (key === undefined)
    throw new ConfigError(
      'join.trustedKeyset.groupPublicKey',
      'must be a compressed secp256k1 point (33 bytes, hex)',
    );
  return { trustedKeyset: { epoch, groupPublicKey: key } };
}

function path(value: unknown, field: string, base: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096)
    throw new ConfigError(field, 'must be a path');
  return isAbsolute(value) ? value : resolve(base, value);
}

function address(value: unknown, field: string): { host: string; port: number } {
  try {
    return parseHostPort(value, field);
  } catch (error) {
    if (error instanceof GenesisError) throw new ConfigError(field, 'must be host:port');
    throw error;
  }
}

/**
 * Parses a config document; `base` is the directory relative paths are resolved against.
 * @throws ConfigError naming the first wrong field
 */
export function parseNodeConfig(document: unknown, base: string): NodeConfig {
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new ConfigError('config', 'must be an object');
  const record = document as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (!KEYS.includes(key) && !OPTIONAL.includes(key)) throw new ConfigError(key, 'unknown field');
  for (const key of KEYS) if (!(key in record)) throw new ConfigError(key, 'missing');
  if (record.format !== CONFIG_FORMAT) throw new ConfigError('format', `must be "${CONFIG_FORMAT}"`);
  const index = record.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 1024)
    throw new ConfigError('index', 'must be a validator index');
  const peers = new Map<number, { host: string; port: number }>();
  if (record.peers !== undefined) {
    if (typeof record.peers !== 'object' || record.peers === null || Array.isArray(record.peers))
      throw new ConfigError('peers', 'must be an object of index → host:port');
    for (const [key, value] of Object.entries(record.peers)) {
      const peer = Number(key);
      if (!/^\d{1,4}$/.test(key)) throw new ConfigError(`peers.${key}`, 'key must be a validator index');
      peers.set(peer, address(value, `peers.${key}`));
    }
  }
  let oracleEnabled = true;
  let oracleStuckSources: string[] | undefined;
  if (record.oracle !== undefined) {
    const oracle = record.oracle as Record<string, unknown>;
    if (
      typeof oracle !== 'object' ||
      oracle === null ||
      Object.keys(oracle).some((k) => k !== 'enabled' && k !== 'stuckSources')
    )
      throw new ConfigError('oracle', 'must be { "enabled"?: boolean, "stuckSources"?: string[] }');
    if (oracle.enabled !== undefined && typeof oracle.enabled !== 'boolean')
      throw new ConfigError('oracle.enabled', 'must be true or false');
    oracleEnabled = oracle.enabled ?? true;
    if (oracle.stuckSources !== undefined) {
      const stuck = oracle.stuckSources;
      if (
        !Array.isArray(stuck) ||
        stuck.length > 64 ||
        stuck.some((id) => typeof id !== 'string' || !/^[\w.-]{1,64}$/.test(id))
      )
        throw new ConfigError('oracle.stuckSources', 'must be a list of at most 64 source ids');
      oracleStuckSources = stuck as string[];
    }
  }
  const threshold = record.stateSyncThresholdBlocks;
  if (threshold !== undefined && (!Number.isSafeInteger(threshold) || (threshold as number) < 0))
    throw new ConfigError('stateSyncThresholdBlocks', 'must be a non-negative integer (0: never state sync)');
  let monitor: MonitorSettings | undefined;
  try {
    monitor = record.monitor === undefined ? undefined : parseMonitorSettings(record.monitor);
  } catch (error) {
    if (error instanceof MonitorError) throw new ConfigError(error.field, error.detail);
    throw error;
  }
  const evmRpc = record.evmRpc;
  if (evmRpc !== undefined && (typeof evmRpc !== 'string' || !/^https?:\/\/\S{1,2000}$/.test(evmRpc)))
    throw new ConfigError('evmRpc', 'must be an http(s) URL');
  const logLevel = record.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel as LogLevel))
    throw new ConfigError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    genesisPath: path(record.genesis, 'genesis', base),
    index,
    keystorePath: path(record.keystore, 'keystore', base),
    passwordFile:
      record.passwordFile === undefined ? undefined : path(record.passwordFile, 'passwordFile', base),
    dataDirectory: path(record.dataDirectory, 'dataDirectory', base),
    p2pListen: address(record.p2pListen, 'p2pListen'),
    apiListen: record.apiListen === null ? undefined : address(record.apiListen, 'apiListen'),
    peers,
    oracleEnabled,
    ...(oracleStuckSources === undefined ? {} : { oracleStuckSources }),
    logLevel: logLevel as LogLevel,
    stateSyncThresholdBlocks: threshold as number | undefined,
    monitor,
    ...(evmRpc === undefined ? {} : { evmRpcUrl: evmRpc as string }),
    ...(record.join === undefined ? {} : { join: joinSection(record.join) }),
  };
}

/**
 * Reads and parses a config file.
 * @throws ConfigError when the file is unreadable, not JSON, or wrong
 */
export function readNodeConfig(file: string): NodeConfig {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError('config', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseNodeConfig(document, dirname(resolve(file)));
}

/** The JSON document of a config, with paths relative to `base` when they lie under it. */
export function nodeConfigToJson(config: NodeConfig, base: string): Record<string, unknown> {
  const relative = (absolute: string) =>
    absolute.startsWith(`${base}/`) ? absolute.slice(base.length + 1) : absolute;
  const hostPort = (a: { host: string; port: number }) =>
    `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  return {
    format: CONFIG_FORMAT,
    genesis: relative(config.genesisPath),
    index: config.index,
    keystore: relative(config.keystorePath),
    ...(config.passwordFile === undefined ? {} : { passwordFile: relative(config.passwordFile) }),
    dataDirectory: relative(config.dataDirectory),
    p2pListen: hostPort(config.p2pListen),
    apiListen: config.apiListen === undefined ? null : hostPort(config.apiListen),
    ...(config.peers.size === 0
      ? {}
      : { peers: Object.fromEntries([...config.peers].map(([i, a]) => [String(i), hostPort(a)])) }),
    ...(config.oracleEnabled && (config.oracleStuckSources ?? []).length === 0
      ? {}
      : {
          oracle: {
            enabled: config.oracleEnabled,
            ...((config.oracleStuckSources ?? []).length === 0
              ? {}
              : { stuckSources: [...(config.oracleStuckSources ?? [])] }),
          },
        }),
    logLevel: config.logLevel,
    ...(config.stateSyncThresholdBlocks === undefined
      ? {}
      : { stateSyncThresholdBlocks: config.stateSyncThresholdBlocks }),
    ...(config.evmRpcUrl === undefined ? {} : { evmRpc: config.evmRpcUrl }),
    ...(config.join === undefined
      ? {}
      : {
          join: {
            trustedKeyset: {
              epoch: config.join.trustedKeyset.epoch,
              groupPublicKey: toHex(config.join.trustedKeyset.groupPublicKey),
            },
          },
        }),
  };
}
