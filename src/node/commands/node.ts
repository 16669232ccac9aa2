/**
 * `palisade node --config FILE`: runs one validator until SIGTERM or SIGINT.
 *
 * When it is ready (storage replayed, p2p listening, consensus and API started) it prints exactly
 * one JSON line on stdout:
 *   {"event":"ready","index":0,"pid":1234,"chainId":7,"publicKey":"…","p2p":"127.0.0.1:26600","api":"http://127.0.0.1:26700"}
 * (`api` is null without an API). Logs are pino JSON lines on stderr. On SIGTERM/SIGINT it stops
 * consensus, finishes the block being applied, syncs and closes storage, closes the API and the
 * transport, prints {"event":"stopped",…} and exits 0. Exit codes: 1 runtime failure, 2 bad
 * usage or config.
 *
 * Testing only: $PALISADE_CLOCK_OFFSET_MS (an integer, at most a day either way) shifts the
 * node's wall clock — the times it gives its blocks, the clock it checks others' block times
 * against, its oracle's market time — as a machine whose clock is off would. Monotonic timers
 * (consensus timeouts, the transport) are not shifted, as a skewed clock does not shift them.
 * The node logs a warning when it is set. test/e2e/netfaults.test.ts runs a validator 10 s ahead.
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { toHex } from '../../crypto/bytes.ts';
import { KeystoreError, loadEd25519Keystore } from '../../crypto/keystore.ts';
import { createMclBackend } from '../../crypto/shutter/pairing-backend.ts';
import { withWebhookSecret } from '../../monitor/settings.ts';
import { parseOptions, UsageError } from '../args.ts';
import { ConfigError, readNodeConfig } from '../config.ts';
import { EonShareError, loadEonShare, openEonKeyset, readEonShareText } from '../eon-key-file.ts';
import { eonKeygenSessionOf } from '../eon-keyset.ts';
import { GenesisError, parseGenesis } from '../genesis.ts';
import { createNode } from '../node.ts';
import { PASSWORD_ENVIRONMENT_VARIABLE } from './genesis.ts';

const CLOCK_OFFSET_VARIABLE = 'PALISADE_CLOCK_OFFSET_MS';
const MAX_CLOCK_OFFSET_MS = 86_400_000;

function clockOffsetMs(): number {
  const text = process.env[CLOCK_OFFSET_VARIABLE];
  if (text === undefined || text === '') return 0;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || Math.abs(value) > MAX_CLOCK_OFFSET_MS)
    throw new UsageError(`$${CLOCK_OFFSET_VARIABLE} must be an integer of milliseconds within a day`);
  return value;
}

const USAGE = `usage: palisade node --config FILE
  password: the config's passwordFile, else $${PASSWORD_ENVIRONMENT_VARIABLE}`;

async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Runs `palisade node`; resolves with the exit code once the node has stopped.
 * @example process.exitCode = await run(['--config', 'net/validator-0/config.json']);
 */
export async function run(args: string[]): Promise<number> {
  let config: ReturnType<typeof readNodeConfig>;
  let secretKey: Uint8Array;
  let publicKey: Uint8Array;
  let genesis: ReturnType<typeof parseGenesis>;
  let offsetMs: number;
  let eonSecretShare: bigint | undefined;
  try {
    offsetMs = clockOffsetMs();
    const { values } = parseOptions(args, {
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (typeof values.config !== 'string') throw new UsageError('--config FILE is required');
    config = readNodeConfig(values.config);
    try {
      genesis = parseGenesis(JSON.parse(await readFile(config.genesisPath, 'utf8')));
    } catch (error) {
      if (error instanceof GenesisError) throw error;
      throw new ConfigError('genesis', `cannot read ${config.genesisPath}: ${(error as Error).message}`);
    }
    // A validator added by governance later (`join`) is not in genesis: it takes the index after them.
    if (config.join !== undefined && config.index !== genesis.validators.length)
      throw new ConfigError('index', `a joining validator takes index ${genesis.validators.length}`);
    if (config.join === undefined && config.index >= genesis.validators.length)
      throw new ConfigError('index', `genesis lists ${genesis.validators.length} validators`);
    const password =
      config.passwordFile !== undefined
        ? ((await readFile(config.passwordFile, 'utf8')).split(/\r?\n/)[0] ?? '')
        : process.env[PASSWORD_ENVIRONMENT_VARIABLE];
    if (password === undefined)
      throw new UsageError(`no password: set passwordFile in the config or ${PASSWORD_ENVIRONMENT_VARIABLE}`);
    const pair = await loadEd25519Keystore(await readFile(config.keystorePath, 'utf8'), password);
    if (config.join !== undefined) {
      if (genesis.validators.some((v) => toHex(v.publicKey) === toHex(pair.publicKey)))
        throw new ConfigError('join', 'its key is a genesis validator’s: remove `join`');
    } else if (toHex(pair.publicKey) !== toHex(genesis.validators[config.index]!.publicKey))
      throw new ConfigError('keystore', `its key is not validator ${config.index}'s key in genesis`);
    publicKey = pair.publicKey;
    secretKey = pair.secretKey;
    if (genesis.fairOrdering !== undefined)
      eonSecretShare = loadEonShare(
        config.dataDirectory,
        secretKey,
        genesis.chainId,
        config.index,
        genesis.fairOrdering,
      );
    // The validators' own eon keyset (genesis `eonKeygen`): a sealed file from an earlier start
    // must hold this validator's share of a keyset n − f validators attested; no file: the DKG runs.
    if (genesis.eonKeygen !== undefined && config.join !== undefined)
      throw new EonShareError(
        'EON_SHARE_MISSING',
        'a validator added after genesis holds no share of the eon keyset the genesis validators made',
      );
    if (genesis.eonKeygen !== undefined) {
      const text = readEonShareText(config.dataDirectory, genesis.eonKeygen.eon);
      if (text !== undefined)
        openEonKeyset(
          text,
          secretKey,
          { chainId: genesis.chainId, eon: genesis.eonKeygen.eon, index: config.index },
          eonKeygenSessionOf(
            genesis.chainId,
            genesis.eonKeygen.eon,
            genesis.validators.map((v) => v.publicKey),
          ),
        );
    }
  } catch (error) {
    if (error instanceof EonShareError) {
      console.error(`palisade node: ${error.code}: ${error.message}`);
      return 2;
    }
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof GenesisError) {
      console.error(`palisade node: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof KeystoreError || (error as NodeJS.ErrnoException).code !== undefined) {
      console.error(`palisade node: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }

  const logger = pino({ level: config.logLevel, base: { index: config.index } }, pino.destination(2));
  if (offsetMs !== 0)
    logger.warn({ clockOffsetMs: offsetMs }, `wall clock shifted by $${CLOCK_OFFSET_VARIABLE}`);
  const node = createNode({
    genesis,
    index: config.index,
    secretKey,
    dataDirectory: config.dataDirectory,
    p2pListen: config.p2pListen,
    apiListen: config.apiListen,
    peers: config.peers,
    oracleEnabled: config.oracleEnabled,
    oracleStuckSources: config.oracleStuckSources,
    evmRpcUrl: config.evmRpcUrl,
    ...(config.join === undefined ? {} : { join: config.join }),
    ...(eonSecretShare === undefined ? {} : { eonSecretShare }),
    // The block rule's decryption on mcl-wasm: the same bytes as noble (pairing-backend.test.ts), faster.
    ...(genesis.fairOrdering === undefined ? {} : { pairingBackend: await createMclBackend() }),
    ...(config.stateSyncThresholdBlocks === undefined
      ? {}
      : { stateSyncThresholdBlocks: config.stateSyncThresholdBlocks }),
    ...(config.monitor === undefined ? {} : { monitor: withWebhookSecret(config.monitor, process.env) }),
    logger,
    version: await packageVersion(),
    ...(offsetMs === 0 ? {} : { wallClock: () => Date.now() + offsetMs }),
  });

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string, code: number) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      node
        .stop()
        .then(() => {
          process.stdout.write(
            `${JSON.stringify({ event: 'stopped', index: config.index, pid: process.pid })}\n`,
          );
          resolveExit(code);
        })
        .catch((error: unknown) => {
          logger.error({ error: (error as Error).message }, 'shutdown failed');
          resolveExit(1);
        });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM', 0));
    process.once('SIGINT', () => shutdown('SIGINT', 0));
    node
      .start()
      .then((addresses) => {
        const host = addresses.p2p.host.includes(':') ? `[${addresses.p2p.host}]` : addresses.p2p.host;
        process.stdout.write(
          `${JSON.stringify({
            event: 'ready',
            index: config.index,
            pid: process.pid,
            chainId: genesis.chainId,
            publicKey: toHex(publicKey),
            p2p: `${host}:${addresses.p2p.port}`,
            api: addresses.api ?? null,
          })}\n`,
        );
      })
      .catch((error: unknown) => {
        logger.error({ error: (error as Error).message, stack: (error as Error).stack }, 'start failed');
        shutdown('start-failure', 1);
      });
  });
}
