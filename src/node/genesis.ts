/**
 * The genesis file: what every validator of one network must agree on before the first block.
 * It is JSON (bytes as lower-case hex without "0x", money as decimal strings) and is parsed
 * strictly: an unknown field, a missing one or a value out of range is a `GenesisError` naming
 * the field, and nothing is started from a half-understood genesis.
 *
 *   format            "palisade-genesis/1"
 *   chainId           signed into every vote, transaction and observation
 *   validators[]      { publicKey (Ed25519, hex), p2p "host:port", api "http://host:port" }, in
 *                     index order: validator i is the leader of views ≡ i (mod n)
 *   engine            the execution engine's genesis (operator key, governance: governors with a
 *                     threshold m, guardians with a pause threshold g, a timelock; parameters,
 *                     underlyings, listed option series, funded accounts, insurance fund)
 *   oracle            assets the validators price (assetId, symbol, decimals, underlyingId: the
 *                     engine underlying the aggregate feeds) and the simulated market they observe
 *                     (devnet default: every validator derives the same venues from the same seed)
 *   dkg               { epoch, threshold, epochBlocks?, dealMs?, complaintMs? }: the price keyset's
 *                     first epoch and its FROST threshold (2f + 1 by default); the DKG itself runs
 *                     among the validators at start. With epochBlocks > 0 (default 0: never) the
 *                     validators refresh their shares into the next epoch at every finalized
 *                     height that is a multiple of it; dealMs and complaintMs (defaults 30,000
 *                     and 10,000) are the keygen rounds' deadlines, the same for every validator
 *   priceCertificates { everyBlocks, chainId, verifyingContract }: how often the validators
 *                     threshold-sign each fresh aggregate, and the EIP-712 domain they sign in
 *   consensus         timeouts (ms) every validator uses; all should use the same
 *   bridge            optional { evmChainId, vault, token, fromBlock, confirmations,
 *                     checkpointEveryBlocks?, minWithdrawal?, maxWithdrawalsPerAccount? }: the EVM vault the validators follow
 *                     (src/interop/evm/deposit-quorum.ts). A deposit is credited when 2f + 1 of them
 *                     report it `confirmations` deep; `token` is the ERC-20 the engine's quote is
 *                     bridged as, `fromBlock` the vault's deployment block. Withdrawals are paid by
 *                     the vault against a checkpoint the price keyset certifies at every height that
 *                     is a multiple of `checkpointEveryBlocks` (default 10; src/execution/
 *                     withdrawals.ts), in the EIP-712 domain of `priceCertificates` (the
 *                     PalisadeVerifier the vault calls), whose chainId must then be `evmChainId`.
 *                     `minWithdrawal?` (decimal string of quote base units, default "10000000",
 *                     10 USDC) and `maxWithdrawalsPerAccount?` (1 to 1,024, default 8 per
 *                     checkpoint period) keep one account from taking a period's 1,024 slots
 *                     A genesis with a bridge names no operator: `engine.operator` must be 64
 *                     zeros (no key), so no single key can mint
 *   fairOrdering      optional { eon, eonPublicKey, publicShares, encryptedOnlySeries? }: the eon
 *                     keyset orders are encrypted to (issue 14; 96-byte compressed G2 hex, one
 *                     public share per validator in index order) and the series that take
 *                     encrypted orders only: a keyset made before the chain, outside it. A
 *                     validator enables it with its own eon share (`NodeOptions.eonSecretShare`)
 *   eonKeygen         optional { eon, encryptedOnlySeries?, dealMs?, complaintMs? }, exclusive
 *                     with `fairOrdering`: the validators make the eon keyset themselves, by a
 *                     DKG among them at first start (src/node/eon-keyset.ts), and run no block
 *                     before they agree on it; the deadlines default to `dkg`'s
 */

import type { FairOrderingRules } from '../chain/fair-batches.ts';
import { MAX_WITHDRAWALS_PER_CHECKPOINT } from '../codec/bridge.ts';
import { GOVERNANCE_KEYS_MAX } from '../codec/execution.ts';
import type { EngineTimeouts } from '../consensus/engine.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { decodeG2 } from '../crypto/shutter/ibe.ts';
import { ADAPTIVE_PARAMETER_DEFAULTS } from '../execution/adaptive-defaults.ts';
import { MAX_POSITIONS_PER_ACCOUNT } from '../execution/engine.ts';
import { BTC, btcSeries, DEFAULT_ENGINE_PARAMETERS, USDC } from '../execution/fixtures.ts';
import { type GovernanceConfig, governanceConfigProblem } from '../execution/governance.ts';
import { MS_PER_DAY } from '../execution/margin.ts';
import type {
  EngineBridge,
  EngineGenesis,
  EngineParameters,
  SeriesConfig,
  UnderlyingConfig,
} from '../execution/types.ts';
import type { SimulatedAssetSpec, VenueSpec } from '../oracle/market.ts';
import { validatorSetGenesis } from './epochs.ts';

export const GENESIS_FORMAT = 'palisade-genesis/1';
/** The most validators a genesis may list (the oracle's and DKG's bound). */
export const MAX_GENESIS_VALIDATORS = 128;

export class GenesisError extends Error {
  override readonly name = 'GenesisError';
  readonly code = 'INVALID_GENESIS';
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`genesis ${field}: ${reason}`);
    this.field = field;
  }
}

export interface GenesisValidator {
  publicKey: Uint8Array;
  /** Where its transport listens, as peers dial it. */
  p2p: { host: string; port: number };
  /** Its HTTP API base URL (informational: clients and the devnet read it). */
  api: string;
  /** Who runs it, where, and how its key is held, as declared (optional; `palisade risk` reads it). */
  metadata?: ValidatorMetadata;
}

/** Declared facts about a validator's operation; each is free text of at most 64 characters. */
export interface ValidatorMetadata {
  operator?: string;
  jurisdiction?: string;
  hosting?: string;
  keyCustody?: string;
}

const VALIDATOR_METADATA_FIELDS = ['operator', 'jurisdiction', 'hosting', 'keyCustody'] as const;

export interface OracleAsset {
  assetId: number;
  symbol: string;
  /** One oracle tick is 10^-decimals of the quote; the certificate's exponent is −decimals. */
  decimals: number;
  /** The engine underlying this asset's aggregate prices. */
  underlyingId: number;
}

export interface SimulatedMarketGenesis {
  seed: number;
  stepMs: number;
  assets: SimulatedAssetSpec[];
  venues: VenueSpec[];
}

export interface Genesis {
  chainId: number;
  validators: GenesisValidator[];
  engine: EngineGenesis;
  oracle: { assets: OracleAsset[]; market: SimulatedMarketGenesis };
  dkg: KeyLifecycleGenesis;
  priceCertificates: { everyBlocks: number; chainId: number; verifyingContract: Uint8Array };
  consensus: EngineTimeouts;
  /** The EVM vault the validators follow; absent: no bridge. */
  bridge?: GenesisBridge;
  /** The eon keyset for encrypted orders; absent: none (src/chain/fair-batches.ts). */
  fairOrdering?: FairOrderingRules;
  /** Fair ordering whose eon keyset the validators make by DKG at first start. */
  eonKeygen?: EonKeygenGenesis;
}

/** The `eonKeygen` section: the eon, its encrypted-only markets and the DKG's deadlines. */
export interface EonKeygenGenesis {
  eon: number;
  encryptedOnlySeries?: number[];
  dealMs: number;
  complaintMs: number;
}

/** The `bridge` section. */
export interface GenesisBridge {
  evmChainId: number;
  /** 20-byte vault address. */
  vault: Uint8Array;
  /** 20-byte ERC-20 the engine's quote is bridged as. */
  token: Uint8Array;
  /** The vault's deployment block: followers read from here. */
  fromBlock: number;
  /** Depth at which a validator reports a deposit (1 = in the head block). */
  confirmations: number;
  /** A withdrawals checkpoint is certified at every multiple of this height. */
  checkpointEveryBlocks: number;
  /** The smallest withdrawal in quote base units; absent: the engine's default (10 USDC). */
  minWithdrawal?: bigint;
  /** Withdrawals per account and checkpoint period (1 to 1,024); absent: the engine's default (8). */
  maxWithdrawalsPerAccount?: number;
}

/** Checkpoint period when genesis names none: about ten seconds of blocks on the devnet. */
export const DEFAULT_CHECKPOINT_EVERY_BLOCKS = 10;

/** The price keyset's lifecycle: its first epoch, threshold, refresh period and keygen deadlines. */
export interface KeyLifecycleGenesis {
  epoch: number;
  threshold: number;
  /** Refresh into the next epoch at every finalized height that is a multiple of this; 0: never. */
  epochBlocks: number;
  /** Deadline of a keygen's deal round, from its start (ms). */
  dealMs: number;
  /** Deadline of its complaint round, after the deal deadline (ms). */
  complaintMs: number;
}

/** Keygen deadlines when genesis names none: generous for a WAN, where a late deal costs a dealer. */
export const DEFAULT_KEYGEN_DEAL_MS = 30_000;
export const DEFAULT_KEYGEN_COMPLAINT_MS = 10_000;
/** The most blocks an epoch may last (about a year at one block a second). */
export const MAX_EPOCH_BLOCKS = 31_536_000;

/** The largest f with n ≥ 3f + 1, and the quorum n − f. */
export function faultTolerance(n: number): { f: number; quorum: number } {
  const f = Math.floor((n - 1) / 3);
  return { f, quorum: n - f };
}

// ---------------------------------------------------------------------------------------------
// JSON form

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function hex(bytes: Uint8Array): string {
  return toHex(bytes);
}

/** The JSON document of a genesis (what `palisade genesis` writes). */
export function genesisToJson(genesis: Genesis): Json {
  const engine = genesis.engine;
  return {
    format: GENESIS_FORMAT,
    chainId: genesis.chainId,
    validators: genesis.validators.map((v) => ({
      publicKey: hex(v.publicKey),
      p2p: `${v.p2p.host}:${v.p2p.port}`,
      api: v.api,
      ...(v.metadata === undefined ? {} : { metadata: { ...v.metadata } }),
    })),
    engine: {
      chainId: engine.chainId,
      operator: hex(engine.operator),
      governance: {
        governors: engine.governance.governors.map(hex),
        threshold: engine.governance.threshold,
        guardians: engine.governance.guardians.map(hex),
        guardianThreshold: engine.governance.guardianThreshold,
        timelockMs: engine.governance.timelockMs,
      },
      startTimeMs: engine.startTimeMs,
      params: { ...engine.params },
      underlyings: engine.underlyings.map((u) => ({ ...u, pmSpotMovesBps: [...u.pmSpotMovesBps] })),
      series: engine.series.map((s) => ({ ...s })),
      accounts: engine.accounts.map((a) => ({
        publicKey: hex(a.publicKey),
        balance: a.balance.toString(),
        ...(a.marginMode === undefined ? {} : { marginMode: a.marginMode }),
      })),
      insuranceFund: engine.insuranceFund.toString(),
    } as unknown as Json,
    oracle: {
      assets: genesis.oracle.assets.map((a) => ({ ...a })),
      market: {
        seed: genesis.oracle.market.seed,
        stepMs: genesis.oracle.market.stepMs,
        assets: genesis.oracle.market.assets.map((a) => ({
          ...a,
          initialPriceTicks: a.initialPriceTicks.toString(),
        })),
        venues: genesis.oracle.market.venues.map((v) => ({ ...v })),
      },
    } as unknown as Json,
    dkg: { ...genesis.dkg },
    priceCertificates: {
      everyBlocks: genesis.priceCertificates.everyBlocks,
      chainId: genesis.priceCertificates.chainId,
      verifyingContract: hex(genesis.priceCertificates.verifyingContract),
    },
    consensus: { ...genesis.consensus } as unknown as Json,
    ...(genesis.bridge === undefined
      ? {}
      : {
          bridge: {
            evmChainId: genesis.bridge.evmChainId,
            vault: hex(genesis.bridge.vault),
            token: hex(genesis.bridge.token),
            fromBlock: genesis.bridge.fromBlock,
            confirmations: genesis.bridge.confirmations,
            checkpointEveryBlocks: genesis.bridge.checkpointEveryBlocks,
            ...(genesis.bridge.minWithdrawal === undefined
              ? {}
              : { minWithdrawal: genesis.bridge.minWithdrawal.toString() }),
            ...(genesis.bridge.maxWithdrawalsPerAccount === undefined
              ? {}
              : { maxWithdrawalsPerAccount: genesis.bridge.maxWithdrawalsPerAccount }),
          },
        }),
    ...(genesis.fairOrdering === undefined
      ? {}
      : {
          fairOrdering: {
            eon: genesis.fairOrdering.eon,
            eonPublicKey: hex(genesis.fairOrdering.eonPublicKey.toBytes(true)),
            publicShares: genesis.fairOrdering.publicShares.map((share) => hex(share.toBytes(true))),
            ...(genesis.fairOrdering.encryptedOnlySeries === undefined
              ? {}
              : { encryptedOnlySeries: [...genesis.fairOrdering.encryptedOnlySeries] }),
          },
        }),
    ...(genesis.eonKeygen === undefined
      ? {}
      : {
          eonKeygen: {
            eon: genesis.eonKeygen.eon,
            ...(genesis.eonKeygen.encryptedOnlySeries === undefined
              ? {}
              : { encryptedOnlySeries: [...genesis.eonKeygen.encryptedOnlySeries] }),
            dealMs: genesis.eonKeygen.dealMs,
            complaintMs: genesis.eonKeygen.complaintMs,
          },
        }),
  };
}

// ---------------------------------------------------------------------------------------------
// Strict reading

type Obj = Record<string, unknown>;

function object(
  value: unknown,
  field: string,
  keys: readonly string[],
  optional: readonly string[] = [],
): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GenesisError(field, 'must be an object');
  const record = value as Obj;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key) && !optional.includes(key))
      throw new GenesisError(`${field}.${key}`, 'unknown field');
  }
  for (const key of keys) if (!(key in record)) throw new GenesisError(`${field}.${key}`, 'missing');
  return record;
}

function integer(value: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new GenesisError(field, `must be an integer in [${min}, ${max}]`);
  return value;
}

function text(value: unknown, field: string, maxLength = 256): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength)
    throw new GenesisError(field, `must be a non-empty string of at most ${maxLength} characters`);
  return value;
}

function bytes(value: unknown, field: string, length: number): Uint8Array {
  const parsed =
    typeof value === 'string' ? fromHex(value.startsWith('0x') ? value.slice(2) : value) : undefined;
  if (parsed === undefined || parsed.length !== length)
    throw new GenesisError(field, `must be ${length} bytes of hex`);
  return parsed;
}

function decimal(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^\d{1,40}$/.test(value))
    throw new GenesisError(field, 'must be a non-negative decimal string');
  return BigInt(value);
}

function array(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length > max)
    throw new GenesisError(field, `must be an array of at most ${max} entries`);
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new GenesisError(field, 'must be true or false');
  return value;
}

/**
 * Parses "host:port" (IPv6 in brackets).
 * @throws GenesisError naming `field`
 */
export function parseHostPort(value: unknown, field: string): { host: string; port: number } {
  const raw = text(value, field);
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(raw);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65_535)
    throw new GenesisError(field, 'must be host:port');
  return { host, port };
}

const PARAM_KEYS: readonly (keyof EngineParameters)[] = [
  'makerFeeBps',
  'takerFeeBps',
  'feeCapBps',
  'maxOpenOrdersPerAccount',
  'marketBandBps',
  'liquidationBandBps',
  'liquidationStepLots',
  'liquidationPenaltyBps',
  'maxLiquidationStepsPerBlock',
  'settlementWindowMs',
  'maxSampleHoldMs',
  'backstopBandBps',
  'oracleGuardPauseMs',
  'settlementMinCoveredMs',
  'settlementExtensionMs',
  'settlementFallbackDelayMs',
  'priceBandBps',
  'priceBandMinTicks',
  'maxPositionsPerAccount',
  'maxAccounts',
  'maxSeries',
  'minDepositForAccount',
  'maxVolChangeBpsPerHour',
];

const UNDERLYING_NUMBER_KEYS = [
  'underlyingId',
  'rateBps',
  'defaultVolBps',
  'minVolBps',
  'maxVolBps',
  'maxConfidenceBps',
  'imBaseBps',
  'imMinBps',
  'mmBps',
  'pmInitialMultiplierBps',
  'pmContingencyBps',
] as const;

function parseUnderlying(value: unknown, field: string): UnderlyingConfig {
  const record = object(value, field, [...UNDERLYING_NUMBER_KEYS, 'symbol', 'pmSpotMovesBps']);
  const out: Record<string, unknown> = { symbol: text(record.symbol, `${field}.symbol`, 32) };
  for (const key of UNDERLYING_NUMBER_KEYS) {
    // rateBps may be negative; everything else is a count or a basis-point share.
    out[key] = integer(record[key], `${field}.${key}`, key === 'rateBps' ? -100_000 : 0);
  }
  out.pmSpotMovesBps = array(record.pmSpotMovesBps, `${field}.pmSpotMovesBps`, 64).map((x, i) =>
    integer(x, `${field}.pmSpotMovesBps[${i}]`, -10_000, 100_000),
  );
  return out as unknown as UnderlyingConfig;
}

function parseSeries(value: unknown, field: string): SeriesConfig {
  const keys = ['underlyingId', 'isCall', 'strike', 'expiryMs', 'tickSize', 'lotSizeE6', 'multiplierE6'];
  const record = object(value, field, keys);
  return {
    underlyingId: integer(record.underlyingId, `${field}.underlyingId`),
    isCall: boolean(record.isCall, `${field}.isCall`),
    strike: integer(record.strike, `${field}.strike`, 1),
    expiryMs: integer(record.expiryMs, `${field}.expiryMs`, 1),
    tickSize: integer(record.tickSize, `${field}.tickSize`, 1),
    lotSizeE6: integer(record.lotSizeE6, `${field}.lotSizeE6`, 1),
    multiplierE6: integer(record.multiplierE6, `${field}.multiplierE6`, 1),
  };
}

/**
 * `engine.governance`: { governors[] (Ed25519, hex), threshold m, guardians[] (hex), guardianThreshold
 * g, timelockMs } (src/execution/governance.ts). One key alone never governs: m < 2 is accepted here
 * (a test network may choose it) but fails the conformance control PDS-GOV-01.
 */
function parseGovernance(value: unknown): GovernanceConfig {
  const field = 'engine.governance';
  const record = object(value, field, [
    'governors',
    'threshold',
    'guardians',
    'guardianThreshold',
    'timelockMs',
  ]);
  const keys = (list: unknown, at: string) =>
    array(list, at, GOVERNANCE_KEYS_MAX).map((key, i) => bytes(key, `${at}[${i}]`, 32));
  const config: GovernanceConfig = {
    governors: keys(record.governors, `${field}.governors`),
    threshold: integer(record.threshold, `${field}.threshold`, 1, GOVERNANCE_KEYS_MAX),
    guardians: keys(record.guardians, `${field}.guardians`),
    guardianThreshold: integer(
      record.guardianThreshold,
      `${field}.guardianThreshold`,
      0,
      GOVERNANCE_KEYS_MAX,
    ),
    timelockMs: integer(record.timelockMs, `${field}.timelockMs`),
  };
  const problem = governanceConfigProblem(config);
  if (problem !== undefined) throw new GenesisError(field, problem);
  return config;
}

function parseEngine(value: unknown, chainId: number): EngineGenesis {
  const field = 'engine';
  const record = object(value, field, [
    'chainId',
    'operator',
    'governance',
    'startTimeMs',
    'params',
    'underlyings',
    'series',
    'accounts',
    'insuranceFund',
  ]);
  if (record.chainId !== chainId) throw new GenesisError('engine.chainId', 'must equal chainId');
  const adaptiveKeys = Object.keys(
    ADAPTIVE_PARAMETER_DEFAULTS,
  ) as (keyof typeof ADAPTIVE_PARAMETER_DEFAULTS)[];
  const paramsRecord = object(record.params, 'engine.params', PARAM_KEYS, adaptiveKeys);
  const params = {} as Record<string, number>;
  for (const key of PARAM_KEYS) params[key] = integer(paramsRecord[key], `engine.params.${key}`);
  // Issue 15's parameters may be omitted (a genesis written before them): their defaults apply.
  for (const key of adaptiveKeys)
    params[key] =
      paramsRecord[key] === undefined
        ? ADAPTIVE_PARAMETER_DEFAULTS[key]
        : integer(paramsRecord[key], `engine.params.${key}`);
  if (params.volLambdaBps! < 1 || params.volLambdaBps! > 10_000)
    throw new GenesisError('engine.params.volLambdaBps', 'must be in [1, 10000]');
  if (params.breakerWindowMs! > params.settlementWindowMs! + params.settlementExtensionMs!)
    throw new GenesisError(
      'engine.params.breakerWindowMs',
      'must be at most settlementWindowMs + settlementExtensionMs (the samples kept)',
    );
  if (params.volLambdaIntervalMs! < 1)
    throw new GenesisError('engine.params.volLambdaIntervalMs', 'must be positive');
  // A guard pause holds the last index price; were it as long as the hold, marks would lapse and
  // every margin check would answer NO_MARK_PRICE during the pause (src/execution/oracle-guard.ts).
  if (params.oracleGuardPauseMs! >= params.maxSampleHoldMs!)
    throw new GenesisError('engine.params.oracleGuardPauseMs', 'must be below maxSampleHoldMs');
  if (params.maxPositionsPerAccount! < 1 || params.maxPositionsPerAccount! > MAX_POSITIONS_PER_ACCOUNT)
    throw new GenesisError(
      'engine.params.maxPositionsPerAccount',
      `must be between 1 and ${MAX_POSITIONS_PER_ACCOUNT}`,
    );
  const underlyings = array(record.underlyings, 'engine.underlyings', 64).map((u, i) =>
    parseUnderlying(u, `engine.underlyings[${i}]`),
  );
  const series = array(record.series, 'engine.series', 10_000).map((s, i) =>
    parseSeries(s, `engine.series[${i}]`),
  );
  const accounts = array(record.accounts, 'engine.accounts', 100_000).map((a, i) => {
    const at = `engine.accounts[${i}]`;
    const entry = object(a, at, ['publicKey', 'balance'], ['marginMode']);
    const mode = entry.marginMode;
    if (mode !== undefined && mode !== 'standard' && mode !== 'portfolio')
      throw new GenesisError(`${at}.marginMode`, 'must be standard or portfolio');
    return {
      publicKey: bytes(entry.publicKey, `${at}.publicKey`, 32),
      balance: decimal(entry.balance, `${at}.balance`),
      ...(mode === undefined ? {} : { marginMode: mode as 'standard' | 'portfolio' }),
    };
  });
  return {
    chainId,
    operator: bytes(record.operator, 'engine.operator', 32),
    governance: parseGovernance(record.governance),
    startTimeMs: integer(record.startTimeMs, 'engine.startTimeMs'),
    params: params as unknown as EngineParameters,
    underlyings,
    series,
    accounts,
    insuranceFund: decimal(record.insuranceFund, 'engine.insuranceFund'),
  };
}

function parseOracle(value: unknown, underlyingIds: ReadonlySet<number>): Genesis['oracle'] {
  const record = object(value, 'oracle', ['assets', 'market']);
  const seen = new Set<number>();
  const assets = array(record.assets, 'oracle.assets', 64).map((a, i) => {
    const at = `oracle.assets[${i}]`;
    const entry = object(a, at, ['assetId', 'symbol', 'decimals', 'underlyingId']);
    const asset: OracleAsset = {
      assetId: integer(entry.assetId, `${at}.assetId`, 0, 0xffff_ffff),
      symbol: text(entry.symbol, `${at}.symbol`, 32),
      // The engine prices in 6-decimal quote units; finer oracle ticks would be truncated.
      decimals: integer(entry.decimals, `${at}.decimals`, 0, 6),
      underlyingId: integer(entry.underlyingId, `${at}.underlyingId`),
    };
    if (seen.has(asset.assetId)) throw new GenesisError(`${at}.assetId`, 'duplicate asset');
    if (!underlyingIds.has(asset.underlyingId))
      throw new GenesisError(`${at}.underlyingId`, 'no such underlying');
    seen.add(asset.assetId);
    return asset;
  });
  const market = object(record.market, 'oracle.market', ['seed', 'stepMs', 'assets', 'venues']);
  const marketAssets = array(market.assets, 'oracle.market.assets', 64).map((a, i) => {
    const at = `oracle.market.assets[${i}]`;
    const entry = object(a, at, [
      'assetId',
      'symbol',
      'decimals',
      'initialPriceTicks',
      'annualVolatilityBps',
      'jumpPpmPerStep',
      'jumpBps',
    ]);
    return {
      assetId: integer(entry.assetId, `${at}.assetId`, 0, 0xffff_ffff),
      symbol: text(entry.symbol, `${at}.symbol`, 32),
      decimals: integer(entry.decimals, `${at}.decimals`, 0, 18),
      initialPriceTicks: decimal(entry.initialPriceTicks, `${at}.initialPriceTicks`),
      annualVolatilityBps: integer(entry.annualVolatilityBps, `${at}.annualVolatilityBps`),
      jumpPpmPerStep: integer(entry.jumpPpmPerStep, `${at}.jumpPpmPerStep`, 0, 1_000_000),
      jumpBps: integer(entry.jumpBps, `${at}.jumpBps`, 0, 10_000),
    };
  });
  const venues = array(market.venues, 'oracle.market.venues', 64).map((v, i) => {
    const at = `oracle.market.venues[${i}]`;
    const entry = object(v, at, ['id', 'noiseBps', 'latencyMs', 'outagePpmPerStep', 'outageMs']);
    return {
      id: text(entry.id, `${at}.id`, 64),
      noiseBps: integer(entry.noiseBps, `${at}.noiseBps`, 0, 10_000),
      latencyMs: integer(entry.latencyMs, `${at}.latencyMs`, 0, 3_600_000),
      outagePpmPerStep: integer(entry.outagePpmPerStep, `${at}.outagePpmPerStep`, 0, 1_000_000),
      outageMs: integer(entry.outageMs, `${at}.outageMs`, 0, 86_400_000),
    };
  });
  if (venues.length === 0) throw new GenesisError('oracle.market.venues', 'needs at least one venue');
  for (const asset of assets) {
    if (!marketAssets.some((m) => m.assetId === asset.assetId))
      throw new GenesisError('oracle.market.assets', `asset ${asset.assetId} has no simulated market`);
  }
  return {
    assets,
    market: {
      seed: integer(market.seed, 'oracle.market.seed', 0, 0xffff_ffff),
      stepMs: integer(market.stepMs, 'oracle.market.stepMs', 10, 60_000),
      assets: marketAssets,
      venues,
    },
  };
}

/**
 * Parses and checks a genesis document (the parsed JSON).
 * @example const genesis = parseGenesis(JSON.parse(readFileSync('genesis.json', 'utf8')));
 * @throws GenesisError naming the first field that is wrong
 */
export function parseGenesis(document: unknown): Genesis {
  const record = object(
    document,
    'genesis',
    ['format', 'chainId', 'validators', 'engine', 'oracle', 'dkg', 'priceCertificates', 'consensus'],
    ['bridge', 'fairOrdering', 'eonKeygen'],
  );
  if (record.format !== GENESIS_FORMAT) throw new GenesisError('format', `must be "${GENESIS_FORMAT}"`);
  const chainId = integer(record.chainId, 'chainId');
  const keys = new Set<string>();
  const validators = array(record.validators, 'validators', MAX_GENESIS_VALIDATORS).map((v, i) => {
    const at = `validators[${i}]`;
    const entry = object(v, at, ['publicKey', 'p2p', 'api'], ['metadata']);
    const publicKey = bytes(entry.publicKey, `${at}.publicKey`, 32);
    if (keys.has(toHex(publicKey))) throw new GenesisError(`${at}.publicKey`, 'duplicate validator key');
    keys.add(toHex(publicKey));
    const parsed: GenesisValidator = {
      publicKey,
      p2p: parseHostPort(entry.p2p, `${at}.p2p`),
      api: text(entry.api, `${at}.api`),
    };
    if (entry.metadata !== undefined) {
      const declared = object(entry.metadata, `${at}.metadata`, [], VALIDATOR_METADATA_FIELDS);
      const metadata: ValidatorMetadata = {};
      for (const field of VALIDATOR_METADATA_FIELDS) {
        if (declared[field] !== undefined)
          metadata[field] = text(declared[field], `${at}.metadata.${field}`, 64);
      }
      parsed.metadata = metadata;
    }
    return parsed;
  });
  if (validators.length < 1) throw new GenesisError('validators', 'needs at least one validator');
  const engine = parseEngine(record.engine, chainId);
  const oracle = parseOracle(record.oracle, new Set(engine.underlyings.map((u) => u.underlyingId)));
  const dkgRecord = object(
    record.dkg,
    'dkg',
    ['epoch', 'threshold'],
    ['epochBlocks', 'dealMs', 'complaintMs'],
  );
  const dkg: KeyLifecycleGenesis = {
    epoch: integer(dkgRecord.epoch, 'dkg.epoch'),
    threshold: integer(dkgRecord.threshold, 'dkg.threshold', 2, Math.max(2, validators.length)),
    epochBlocks:
      dkgRecord.epochBlocks === undefined
        ? 0
        : integer(dkgRecord.epochBlocks, 'dkg.epochBlocks', 0, MAX_EPOCH_BLOCKS),
    dealMs:
      dkgRecord.dealMs === undefined
        ? DEFAULT_KEYGEN_DEAL_MS
        : integer(dkgRecord.dealMs, 'dkg.dealMs', 100, 600_000),
    complaintMs:
      dkgRecord.complaintMs === undefined
        ? DEFAULT_KEYGEN_COMPLAINT_MS
        : integer(dkgRecord.complaintMs, 'dkg.complaintMs', 100, 600_000),
  };
  // A refresh takes a few block times at best; under 10 blocks an epoch would be spent mostly
  // refreshing (a boundary reached while a refresh runs is skipped), so such a value is a typo.
  if (dkg.epochBlocks > 0 && dkg.epochBlocks < 10)
    throw new GenesisError('dkg.epochBlocks', 'must be 0 (no refresh) or at least 10');
  const certificates = object(record.priceCertificates, 'priceCertificates', [
    'everyBlocks',
    'chainId',
    'verifyingContract',
  ]);
  const consensusRecord = object(record.consensus, 'consensus', [
    'leaderMs',
    'notarizationMs',
    'nullifyRetryMs',
    'syncRetryMs',
  ]);
  const bridge = record.bridge === undefined ? undefined : parseBridge(record.bridge, engine.operator);
  const validatorSet = validatorSetGenesis(validators, dkg.epochBlocks);
  const certificateChainId = integer(certificates.chainId, 'priceCertificates.chainId');
  if (bridge !== undefined && certificateChainId !== bridge.evmChainId)
    throw new GenesisError(
      'priceCertificates.chainId',
      'with a bridge, certificates name its EVM chain (bridge.evmChainId): the vault verifies checkpoints there',
    );
  const fairOrdering =
    record.fairOrdering === undefined ? undefined : parseFairOrdering(record.fairOrdering, validators.length);
  if (fairOrdering !== undefined && record.eonKeygen !== undefined)
    throw new GenesisError(
      'eonKeygen',
      'a genesis names its eon keyset (fairOrdering) or has it made (eonKeygen), not both',
    );
  const eonKeygen = record.eonKeygen === undefined ? undefined : parseEonKeygen(record.eonKeygen, dkg);
  return {
    ...(bridge === undefined ? {} : { bridge }),
    ...(fairOrdering === undefined ? {} : { fairOrdering }),
    ...(eonKeygen === undefined ? {} : { eonKeygen }),
    chainId,
    validators,
    // With epochs, the engine commits the validator set governance may change (src/node/epochs.ts).
    engine: {
      ...engine,
      ...(bridge === undefined ? {} : { bridge: engineBridge(bridge) }),
      ...(validatorSet === undefined ? {} : { validatorSet }),
    },
    oracle,
    dkg,
    priceCertificates: {
      everyBlocks: integer(certificates.everyBlocks, 'priceCertificates.everyBlocks', 1, 1_000_000),
      chainId: certificateChainId,
      verifyingContract: bytes(certificates.verifyingContract, 'priceCertificates.verifyingContract', 20),
    },
    consensus: {
      leaderMs: integer(consensusRecord.leaderMs, 'consensus.leaderMs', 1, 600_000),
      notarizationMs: integer(consensusRecord.notarizationMs, 'consensus.notarizationMs', 1, 600_000),
      nullifyRetryMs: integer(consensusRecord.nullifyRetryMs, 'consensus.nullifyRetryMs', 1, 600_000),
      syncRetryMs: integer(consensusRecord.syncRetryMs, 'consensus.syncRetryMs', 1, 600_000),
    },
  };
}

/** `eonKeygen`: the eon the validators make at first start, its markets and deadlines. */
function parseEonKeygen(value: unknown, dkg: KeyLifecycleGenesis): EonKeygenGenesis {
  const record = object(value, 'eonKeygen', ['eon'], ['encryptedOnlySeries', 'dealMs', 'complaintMs']);
  const series =
    record.encryptedOnlySeries === undefined
      ? undefined
      : array(record.encryptedOnlySeries, 'eonKeygen.encryptedOnlySeries', 10_000).map((id, i) =>
          integer(id, `eonKeygen.encryptedOnlySeries[${i}]`, 1, 0xffff_ffff),
        );
  if (series !== undefined && new Set(series).size !== series.length)
    throw new GenesisError('eonKeygen.encryptedOnlySeries', 'names a series twice');
  return {
    eon: integer(record.eon, 'eonKeygen.eon', 0, 0xffff_ffff),
    ...(series === undefined ? {} : { encryptedOnlySeries: series }),
    dealMs:
      record.dealMs === undefined ? dkg.dealMs : integer(record.dealMs, 'eonKeygen.dealMs', 100, 600_000),
    complaintMs:
      record.complaintMs === undefined
        ? dkg.complaintMs
        : integer(record.complaintMs, 'eonKeygen.complaintMs', 100, 600_000),
  };
}

/** `fairOrdering`: the eon keyset (points checked on G2) and the encrypted-only series. */
function parseFairOrdering(value: unknown, validatorCount: number): FairOrderingRules {
  const record = object(
    value,
    'fairOrdering',
    ['eon', 'eonPublicKey', 'publicShares'],
    ['encryptedOnlySeries'],
  );
  const point = (text: unknown, field: string) => {
    try {
      return decodeG2(bytes(text, field, 96), field);
    } catch (error) {
      if (error instanceof GenesisError) throw error;
      throw new GenesisError(field, 'is not a compressed G2 point');
    }
  };
  const publicShares = array(record.publicShares, 'fairOrdering.publicShares', MAX_GENESIS_VALIDATORS).map(
    (share, i) => point(share, `fairOrdering.publicShares[${i}]`),
  );
  if (publicShares.length !== validatorCount)
    throw new GenesisError(
      'fairOrdering.publicShares',
      'needs one public share per validator, in index order',
    );
  const series =
    record.encryptedOnlySeries === undefined
      ? undefined
      : array(record.encryptedOnlySeries, 'fairOrdering.encryptedOnlySeries', 10_000).map((id, i) =>
          integer(id, `fairOrdering.encryptedOnlySeries[${i}]`, 1, 0xffff_ffff),
        );
  if (series !== undefined && new Set(series).size !== series.length)
    throw new GenesisError('fairOrdering.encryptedOnlySeries', 'names a series twice');
  return {
    eon: integer(record.eon, 'fairOrdering.eon', 0, 0xffff_ffff),
    eonPublicKey: point(record.eonPublicKey, 'fairOrdering.eonPublicKey'),
    publicShares,
    ...(series === undefined ? {} : { encryptedOnlySeries: series }),
  };
}

/** `bridge`: the EVM vault; with it, no operator key (the engine's `Deposit` action mints nothing). */
function parseBridge(value: unknown, operator: Uint8Array): GenesisBridge {
  const record = object(
    value,
    'bridge',
    ['evmChainId', 'vault', 'token', 'fromBlock', 'confirmations'],
    ['checkpointEveryBlocks', 'minWithdrawal', 'maxWithdrawalsPerAccount'],
  );
  if (operator.some((byte) => byte !== 0))
    throw new GenesisError('engine.operator', 'a genesis with a bridge names no operator key (64 zeros)');
  return {
    evmChainId: integer(record.evmChainId, 'bridge.evmChainId', 1),
    vault: bytes(record.vault, 'bridge.vault', 20),
    token: bytes(record.token, 'bridge.token', 20),
    fromBlock: integer(record.fromBlock, 'bridge.fromBlock'),
    confirmations: integer(record.confirmations, 'bridge.confirmations', 1, 10_000),
    checkpointEveryBlocks:
      record.checkpointEveryBlocks === undefined
        ? DEFAULT_CHECKPOINT_EVERY_BLOCKS
        : integer(record.checkpointEveryBlocks, 'bridge.checkpointEveryBlocks', 1, 100_000),
    ...(record.minWithdrawal === undefined ? {} : { minWithdrawal: minWithdrawal(record.minWithdrawal) }),
    ...(record.maxWithdrawalsPerAccount === undefined
      ? {}
      : {
          maxWithdrawalsPerAccount: integer(
            record.maxWithdrawalsPerAccount,
            'bridge.maxWithdrawalsPerAccount',
            1,
            MAX_WITHDRAWALS_PER_CHECKPOINT,
          ),
        }),
  };
}

/** `bridge.minWithdrawal`: a positive decimal string that fits the record's uint256. */
function minWithdrawal(value: unknown): bigint {
  const amount = decimal(value, 'bridge.minWithdrawal');
  if (amount < 1n || amount >= 1n << 256n)
    throw new GenesisError('bridge.minWithdrawal', 'must be a positive amount of quote base units');
  return amount;
}

/** The engine's side of the bridge: where withdrawals are paid and how often they are certified. */
export function engineBridge(bridge: GenesisBridge): EngineBridge {
  return {
    evmChainId: bridge.evmChainId,
    vault: Uint8Array.from(bridge.vault),
    token: Uint8Array.from(bridge.token),
    checkpointEveryBlocks: bridge.checkpointEveryBlocks,
    ...(bridge.minWithdrawal === undefined ? {} : { minWithdrawal: bridge.minWithdrawal }),
    ...(bridge.maxWithdrawalsPerAccount === undefined
      ? {}
      : { maxWithdrawalsPerAccount: bridge.maxWithdrawalsPerAccount }),
  };
}

/** The default simulated market of a devnet: BTC around 60,000 USDC on four venues. */
export function defaultSimulatedMarket(seed: number): SimulatedMarketGenesis {
  return {
    seed,
    stepMs: 250,
    assets: [
      {
        assetId: 1,
        symbol: 'BTC-USD',
        decimals: 6,
        initialPriceTicks: 60_000_000_000n,
        annualVolatilityBps: 6000,
        jumpPpmPerStep: 20,
        jumpBps: 200,
      },
    ],
    venues: [
      { id: 'venue-a', noiseBps: 5, latencyMs: 250, outagePpmPerStep: 50, outageMs: 5000 },
      { id: 'venue-b', noiseBps: 8, latencyMs: 500, outagePpmPerStep: 50, outageMs: 5000 },
      { id: 'venue-c', noiseBps: 10, latencyMs: 250, outagePpmPerStep: 100, outageMs: 3000 },
      { id: 'venue-d', noiseBps: 6, latencyMs: 750, outagePpmPerStep: 50, outageMs: 8000 },
    ],
  };
}

export interface BuildGenesisOptions {
  chainId: number;
  validators: GenesisValidator[];
  /** The bridge key that credits deposits, and the key that lists series. */
  operator: Uint8Array;
  /** Governors, guardians, thresholds and timelock (src/execution/governance.ts). */
  governance: GovernanceConfig;
  startTimeMs: number;
  /** Accounts funded at genesis (e.g. devnet bots), balances in quote base units. */
  accounts?: { publicKey: Uint8Array; balance: bigint }[];
  marketSeed?: number;
  /** Threshold-sign fresh aggregates every this many blocks (default 5). */
  certificateEveryBlocks?: number;
  /** Refresh the price keyset every this many finalized blocks (default 0: never). */
  epochBlocks?: number;
  /** Keygen deadlines (defaults DEFAULT_KEYGEN_DEAL_MS, DEFAULT_KEYGEN_COMPLAINT_MS). */
  keygenDealMs?: number;
  keygenComplaintMs?: number;
  timeouts?: Partial<EngineTimeouts>;
  /** EIP-712 domain of price certificates (default: this chain id, the zero address). */
  certificateChainId?: number;
  verifyingContract?: Uint8Array;
}

/** Default consensus timeouts of a network: about 3× a WAN round trip, as Simplex's Δ suggests. */
export const DEFAULT_NETWORK_TIMEOUTS: EngineTimeouts = Object.freeze({
  leaderMs: 1000,
  notarizationMs: 2000,
  nullifyRetryMs: 1000,
  syncRetryMs: 500,
});

function validatorSetField(validators: readonly GenesisValidator[], epochBlocks: number | undefined) {
  const validatorSet = validatorSetGenesis(validators, epochBlocks);
  return validatorSet === undefined ? {} : { validatorSet };
}

/**
 * A genesis with one BTC underlying (Deribit-like margin), calls and puts at 50k–70k expiring 7
 * and 30 days after `startTimeMs`, the BTC-USD oracle asset on the default simulated market, the
 * DKG threshold at 2f + 1 (at least 2).
 * @example const genesis = buildGenesis({ chainId: 7, validators, operator, governance, startTimeMs: Date.now() });
 */
export function buildGenesis(options: BuildGenesisOptions): Genesis {
  const n = options.validators.length;
  const strikes = [50_000, 55_000, 60_000, 65_000, 70_000];
  const series = [7, 30].flatMap((days) =>
    strikes.flatMap((strike) =>
      [true, false].map((isCall) => btcSeries(isCall, strike, options.startTimeMs + days * MS_PER_DAY)),
    ),
  );
  return {
    chainId: options.chainId,
    validators: options.validators,
    engine: {
      chainId: options.chainId,
      operator: options.operator,
      governance: options.governance,
      startTimeMs: options.startTimeMs,
      params: { ...DEFAULT_ENGINE_PARAMETERS },
      underlyings: [{ ...BTC, pmSpotMovesBps: [...BTC.pmSpotMovesBps] }],
      series,
      accounts: (options.accounts ?? []).map((a) => ({ publicKey: a.publicKey, balance: a.balance })),
      insuranceFund: 1_000_000n * BigInt(USDC),
      ...validatorSetField(options.validators, options.epochBlocks),
    },
    oracle: {
      assets: [{ assetId: 1, symbol: 'BTC-USD', decimals: 6, underlyingId: 1 }],
      market: defaultSimulatedMarket(options.marketSeed ?? options.chainId),
    },
    dkg: {
      epoch: 1,
      threshold: Math.max(2, faultTolerance(n).quorum),
      epochBlocks: options.epochBlocks ?? 0,
      dealMs: options.keygenDealMs ?? DEFAULT_KEYGEN_DEAL_MS,
      complaintMs: options.keygenComplaintMs ?? DEFAULT_KEYGEN_COMPLAINT_MS,
    },
    priceCertificates: {
      everyBlocks: options.certificateEveryBlocks ?? 5,
      chainId: options.certificateChainId ?? options.chainId,
      verifyingContract: options.verifyingContract ?? new Uint8Array(20),
    },
    consensus: { ...DEFAULT_NETWORK_TIMEOUTS, ...options.timeouts },
  };
}
