/**
 * `palisade devnet`: a whole network on this machine (what `npm start` runs): validators as
 * separate processes on loopback, the simulated market as their oracle, trading bots and the
 * dashboard. See src/node/devnet/devnet.ts for what it starts and `<data>/devnet.json`.
 *
 * On a terminal it prints progress, the validators' API URLs and pids and the dashboard URL, then
 * a status line now and then and any validator that exits unexpectedly (restarted with backoff).
 * With --json it prints one JSON document (the devnet.json record) once everything is up and
 * writes later events as JSON lines on stderr. Ctrl-C or SIGTERM stops bots, dashboard and
 * validators (SIGTERM, SIGKILL after a grace period) and exits 0; a second Ctrl-C kills at once.
 * Exit codes: 1 the devnet failed to start, 2 bad usage.
 */
import { numberOption, parseOptions, UsageError } from '../args.ts';
import { type RunningDevnet, startDevnet } from '../devnet/devnet.ts';
import { DevnetError } from '../devnet/network.ts';
import type { SupervisorEvent } from '../devnet/supervisor.ts';
import { MAX_EPOCH_BLOCKS } from '../genesis.ts';

export const usage = `usage: palisade devnet [--validators N] [--data DIR] [--reset] [--base-port PORT]
                      [--dashboard-port PORT] [--no-bots] [--leader-timeout-ms MS]
                      [--epoch-blocks N] [--validator-metadata FILE] [--no-evm] [--evm-port PORT]
                      [--no-fair-ordering] [--json]
  defaults: 4 validators, data in ./.palisade/devnet, base port 26600, dashboard on base port + 200
  validator i: p2p 127.0.0.1:(PORT+i), API http://127.0.0.1:(PORT+100+i)
  starting again resumes from DIR; --reset deletes DIR first. Ctrl-C stops everything.
  --epoch-blocks N: the validators refresh the price keyset every N finalized blocks (a new epoch,
    the same group key, a handover certificate); default 0, never. At least 10 when set.
  --validator-metadata FILE: what each validator's operator declares (palisade genesis
    --validator-metadata), read by palisade risk and conformance; absent: declared as unknown
  the bridge (default): a local EVM node (Hardhat's EDR) on --evm-port (default base port + 300)
    with the test stablecoin, the vault and the verifier; the bots deposit through the vault and
    are credited by 2f + 1 validators. --no-evm makes a network without it (genesis-funded bots).
  fair ordering (default): the validators make the eon keyset by a DKG among themselves at first
    start (each seals only its own share in its data directory; no block runs before they agree,
    GET /v1/eon serves it) and one market, the nearest-expiry call at the money, takes encrypted
    orders only; the bots trade it encrypted, every other market plain.
    --no-fair-ordering makes a network without it.
  --base-port, --leader-timeout-ms, --epoch-blocks, --validator-metadata, --no-evm and
    --no-fair-ordering apply when the network is made (first start or --reset).`;

const STATUS_INTERVAL_MS = 15_000;

function integer(name: string, value: string | boolean | undefined, min: number, max: number): number {
  const parsed = numberOption(name, value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}]`);
  return parsed;
}

function describe(event: SupervisorEvent): string | undefined {
  switch (event.type) {
    case 'exited':
      if (event.expected) return undefined;
      return `validator ${event.index} (pid ${event.pid}) exited unexpectedly (${event.signal ?? `code ${event.code}`}); see its log`;
    case 'restarting':
      return `restarting validator ${event.index} in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt})`;
    case 'start-failed':
      return `validator ${event.index} failed to start: ${event.error.split('\n')[0]}`;
    case 'ready':
      return undefined;
  }
}

/**
 * Runs `palisade devnet` until SIGINT or SIGTERM.
 * @example process.exitCode = await run(['--validators', '4']);
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    validators: { type: 'string', default: '4' },
    data: { type: 'string', default: '.palisade/devnet' },
    reset: { type: 'boolean', default: false },
    'base-port': { type: 'string' },
    'dashboard-port': { type: 'string' },
    'no-bots': { type: 'boolean', default: false },
    'leader-timeout-ms': { type: 'string', default: '1000' },
    'epoch-blocks': { type: 'string' },
    'validator-metadata': { type: 'string' },
    'no-evm': { type: 'boolean', default: false },
    'no-fair-ordering': { type: 'boolean', default: false },
    'evm-port': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const json = values.json === true;
  const validators = integer('validators', values.validators, 1, 64);
  const basePort =
    values['base-port'] === undefined
      ? undefined
      : integer('base-port', values['base-port'], 1024, 65_535 - 200 - validators);
  const dashboardPort =
    values['dashboard-port'] === undefined
      ? undefined
      : integer('dashboard-port', values['dashboard-port'], 0, 65_535);
  const epochBlocks =
    values['epoch-blocks'] === undefined
      ? undefined
      : integer('epoch-blocks', values['epoch-blocks'], 0, MAX_EPOCH_BLOCKS);
  if (epochBlocks !== undefined && epochBlocks > 0 && epochBlocks < 10)
    throw new UsageError('--epoch-blocks must be 0 (never) or at least 10');
  const say = (message: string) => {
    if (json) process.stderr.write(`${JSON.stringify({ event: 'progress', message })}\n`);
    else console.log(message);
  };
  const warn = (event: Record<string, unknown>, message: string) => {
    if (json) process.stderr.write(`${JSON.stringify(event)}\n`);
    else console.log(message);
  };
  let startedOnce = false;
  const options: Parameters<typeof startDevnet>[0] = {
    dataDirectory: values.data as string,
    validators,
    basePort,
    dashboardPort,
    bots: values['no-bots'] !== true,
    reset: values.reset === true,
    leaderTimeoutMs: integer('leader-timeout-ms', values['leader-timeout-ms'], 50, 600_000),
    epochBlocks,
    validatorMetadataFile: values['validator-metadata'],
    evm: values['no-evm'] !== true,
    fairOrdering: values['no-fair-ordering'] !== true,
    evmPort:
      values['evm-port'] === undefined ? undefined : integer('evm-port', values['evm-port'], 0, 65_535),
    onProgress: say,
    onEvent: (event) => {
      if (event.type === 'ready') {
        if (startedOnce)
          warn({ ...event }, `validator ${event.index} is back up: pid ${event.pid}, ${event.api}`);
        return;
      }
      const message = describe(event);
      if (message !== undefined) warn({ ...event }, message);
    },
    onBotError: (bot, message) => warn({ event: 'bot-error', bot, message }, `bot ${bot}: ${message}`),
  };
  // A ready event is news only after start-up (a restart); the start-up lines say the rest.
  const markStarted = () => {
    startedOnce = true;
  };
  return await supervise(options, json, markStarted);
}

async function supervise(
  options: Parameters<typeof startDevnet>[0],
  json: boolean,
  markStarted: () => void,
): Promise<number> {
  let signalled: string | undefined;
  let wake: () => void = () => {};
  const stopRequested = new Promise<void>((resolveStop) => {
    wake = resolveStop;
  });
  const onSignal = (signal: string) => {
    if (signalled !== undefined) {
      // A second Ctrl-C: no more waiting. The supervisor's exit hook SIGKILLs the validators.
      process.exit(130);
    }
    signalled = signal;
    if (!json) console.log(`\n${signal}: stopping the bots, the dashboard and the validators…`);
    wake();
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);

  let devnet: RunningDevnet;
  try {
    devnet = await startDevnet(options);
  } catch (error) {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    // DevnetError says what to do (--reset, stop the other devnet); anything else is shown as is.
    const message = error instanceof DevnetError ? error.message : (error as Error).stack;
    console.error(`palisade devnet: ${message}`);
    return 1;
  }
  markStarted();

  const record = devnet.record();
  if (json) {
    process.stdout.write(`${JSON.stringify(record)}\n`);
  } else {
    console.log('');
    for (const validator of record.validators) {
      console.log(
        `validator ${validator.index}  pid ${validator.pid}  api ${validator.api}  p2p ${validator.p2p}`,
      );
    }
    console.log(`dashboard    ${record.dashboard}`);
    if (record.evm !== undefined) {
      console.log(`evm          pid ${record.evm.pid}  rpc ${record.evm.rpc}  chain ${record.evm.chainId}`);
      console.log(
        `             vault ${record.evm.vault}  token ${record.evm.token} (pUSD)  verifier ${record.evm.verifier}`,
      );
    }
    const encryptedSeries =
      devnet.network.genesis.fairOrdering?.encryptedOnlySeries ??
      devnet.network.genesis.eonKeygen?.encryptedOnlySeries;
    console.log(
      options.bots
        ? `bots         ${record.bots.map((bot) => bot.role).join(', ')} trading the series nearest the money${
            encryptedSeries === undefined ? '' : ` (series ${encryptedSeries.join(', ')} encrypted)`
          }`
        : 'bots         off (--no-bots)',
    );
    console.log(`devnet.json  ${record.dataDirectory}/devnet.json`);
    console.log('Ctrl-C stops everything; `palisade devnet` again resumes, --reset starts afresh.\n');
  }

  const statusTimer =
    !json && process.stdout.isTTY
      ? setInterval(() => {
          const snapshot = devnet.dashboard.snapshot();
          const up = snapshot.validators.filter((validator) => validator.up).length;
          const bots = devnet.bots?.stats();
          const funded =
            devnet.evm === undefined || bots === undefined ? '' : `${bots.prepared} funded via the vault, `;
          const trading =
            bots === undefined
              ? ''
              : ` · bots ${funded}${bots.finalized} transactions finalized, ${bots.encryptedExecuted} encrypted orders run, ${bots.filledLots} lots filled`;
          const keys = snapshot.keys;
          const epoch =
            keys === null
              ? ' · price keyset: DKG running'
              : ` · epoch ${keys.epoch} (${keys.signers.filter((signer) => signer.epoch === keys.epoch).length}/${keys.signers.length} signers in it)`;
          console.log(
            `height ${snapshot.height} · validators ${up}/${snapshot.validators.length} up${epoch}${trading}`,
          );
        }, STATUS_INTERVAL_MS)
      : undefined;

  if (signalled === undefined) await stopRequested;
  if (statusTimer !== undefined) clearInterval(statusTimer);
  await devnet.stop();
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
  if (!json) console.log('stopped.');
  return 0;
}
