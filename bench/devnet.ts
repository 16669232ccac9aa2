/**
 * `palisade bench devnet [--json] [--seconds S] [--accounts N] [--validators 4,7,10]
 * [--submit batch|single] [--no-profile] [--rate R] [--keep DIR] [--base-port P]`: real devnets of n validators on this machine (each
 * validator its own process, on loopback; n = 4, 7 and 10 by default, one after the other) under a
 * load generator that signs orders and submits them over HTTP to every API: in batches (`POST
 * /v1/transactions/batch`, what every ~2 ms brings per node) by default, one per request with
 * `--submit single`.
 *
 *   saturation   closed loop: every account keeps up to WINDOW transactions unfinalized and
 *                submits as fast as the nodes accept, paced under the mempool's per-account
 *                rate limit; figure: finalized transactions per second.
 *   half load    open loop at half the saturated throughput, transactions sent on a schedule
 *                whatever the answers; figures: submit-to-finality latency p50 and p99.
 *   --rate R     no saturation phase: the open loop runs at R tx/s instead (latency at a light,
 *                fixed load, where waits show rather than CPU); --keep DIR keeps the validators'
 *                data directories and logs under DIR.
 *   --base-port P  the networks listen on P.. (p2p P + i, API P + 100 + i, EVM P + 300), checked
 *                free first; without it a free block is picked at random in 20,000–32,400. For
 *                a machine where others own port ranges.
 *
 * Submit-to-finality is measured from just before the HTTP POST to the moment validator 0's
 * WebSocket stream delivers the finalized block that carries the transaction.
 *
 * The bound, measured in the same run before the network starts: cores × single-core Ed25519
 * verifications per second ÷ validators — every validator verifies every transaction, so no
 * network of this size on this machine can finalize faster. The ratio printed is measured
 * saturated throughput over that bound. Everything shares the machine: the four validators, the
 * load generator (signing, HTTP) and the stream reader; the report says how many cores there are.
 * The verification rate is measured before and after the networks run and the mean is used: on a
 * machine other work shares, the bound moves with the load as the figures do.
 *
 * CPU per transaction per validator: each validator's process CPU time (utime + stime from
 * /proc/<pid>/stat) over the saturation window, divided by the transactions finalized in it, and
 * split by category with each validator's CPU profile (`--cpu-prof`, samples inside the window only;
 * bench/lib/cpu-profile.ts): signature, decode, execution, state root, storage, network, HTTP/JSON,
 * consensus, oracle/prices, GC, other; "threads" is process CPU beyond the main thread's (the
 * storage commit thread, the signature pool, V8's and libuv's helpers). The CPU profiler's own
 * sampling thread (`v8:ProfEvntProc`, present only under --cpu-prof) is measurement, not the
 * pipeline: it is left out of every figure and printed beside them.
 *
 * Orders: a few accounts quote post-only around the mark (cancelling all every 20 orders, so
 * books stay bounded); the rest send immediate-or-cancel orders near the mark, so blocks carry
 * fills as well as resting and cancelled orders.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecutionAction, encodeAction } from '../src/codec/execution.ts';
import { SignedTransactionCodec } from '../src/codec/transaction.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { createEd25519Signer, type Ed25519Signer, ed25519Verify } from '../src/crypto/ed25519.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { loadEd25519Keystore } from '../src/crypto/keystore.ts';
import { signTransaction, transactionId } from '../src/crypto/transaction.ts';
import { createSeededRandom } from '../src/execution/fixtures.ts';
import { frameTransactions } from '../src/node/api/batch.ts';
import { createClient } from '../src/node/client.ts';
import { BOT_ROLES, startDevnet } from '../src/node/devnet/devnet.ts';
import { basePortFree, freeBasePort } from '../src/node/devnet/ports.ts';
import {
  setTraceLabel,
  trace,
  tracedIds,
  tracedTransaction,
  traceEventLoop,
  tracing,
} from '../src/node/trace.ts';
import type { MarketJson } from '../src/node/view.ts';
import { CATEGORIES, type Category, summarizeProfile } from './lib/cpu-profile.ts';

/** Goals of issue 18, printed beside the figures. */
const GOALS = { ratioToBound: 0.35, halfLoadP50Ms: 50, halfLoadP99Ms: 150 } as const;
/** How long the batching load generator collects a node's transactions before posting them. */
const BATCH_WINDOW_MS = 2;
const MAX_BATCH = 512;
/** Unfinalized transactions an account may have at once (the mempool holds 64 per account). */
const WINDOW = 48;
/** Per-account submissions per second, under the mempool's 100 per second per account. */
const ACCOUNT_RATE = 90;
const MAKERS = 8;

interface Account {
  signer: Ed25519Signer;
  role: 'maker' | 'taker';
  nonce: number;
  /** Submitted, not yet seen finalized. */
  inflight: number;
  /** Wakes the account's loop when one of its transactions finalizes. */
  wake: (() => void) | undefined;
}

interface Sent {
  account: Account;
  sentAtMs: number;
}

interface PhaseResult {
  offeredPerSecond: number;
  /** Blocks validator 0 streamed in the window, and the transactions they carried on average. */
  blocks: number;
  transactionsPerBlock: number;
  submitted: number;
  accepted: number;
  refused: Record<string, number>;
  finalized: number;
  finalizedPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number; samples: number };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * POSTs `body` and resolves with the status and the parsed JSON answer. node:http on a keep-alive
 * agent, not `fetch`: at half load the generator posts several hundred small batches a second, and
 * `fetch` cost its event loop most of a core (traced: loop utilization 0.57, tens of ms between a
 * batch's send and the node's handler), which the latency figures then counted as the pipeline's.
 */
function postJson(agent: Agent, url: string, body: Uint8Array): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve({
              status: response.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            });
          } catch (error) {
            reject(error as Error);
          }
        });
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * CPU µs of one Ed25519 verification on this thread, right now (`count` of them, timed by the
 * thread's own CPU clock): on a machine other work shares, a core's CPU time per operation moves
 * with the load (caches and sibling hyperthreads are shared), so the benchmark measures it inside
 * the saturation window and expresses CPU per transaction in verifications too.
 */
function verifyCpuUs(count = 1500): number {
  const signer = createEd25519Signer(sha256(new TextEncoder().encode('bench devnet bound')));
  const message = new Uint8Array(150).fill(7);
  const signature = signer.sign(message);
  for (let i = 0; i < 100; i++) ed25519Verify(signer.publicKey, message, signature);
  const start = process.threadCpuUsage();
  for (let i = 0; i < count; i++) ed25519Verify(signer.publicKey, message, signature);
  const used = process.threadCpuUsage(start);
  return (used.user + used.system) / count;
}

/** Single-core Ed25519 verifications per second (node:crypto, cached public key), ~1 s. */
function verifyRate(): number {
  const signer = createEd25519Signer(sha256(new TextEncoder().encode('bench devnet bound')));
  // A transaction's signed message is a domain tag, the chain id and the body: ~150 bytes.
  const message = new Uint8Array(150).fill(7);
  const signature = signer.sign(message);
  for (let i = 0; i < 500; i++) ed25519Verify(signer.publicKey, message, signature);
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    for (let i = 0; i < 200; i++) ed25519Verify(signer.publicKey, message, signature);
    count += 200;
    elapsed = performance.now() - start;
  }
  return (count * 1000) / elapsed;
}

interface Options {
  json: boolean;
  seconds: number;
  accounts: number;
  validators: number[];
  submit: 'batch' | 'single';
  profile: boolean;
  /** `--rate R`: no saturation phase; the open-loop phase runs at R tx/s (latency at a light load). */
  rate: number | undefined;
  /** `--keep DIR`: the validators' data and logs are kept under DIR instead of deleted. */
  keep: string | undefined;
  /** `--base-port P`: the ports the networks use start at P (see the header). */
  basePort: number | undefined;
}

const USAGE = `usage: palisade bench devnet [--json] [--seconds S] [--accounts N] [--validators 4,7,10]
                             [--submit batch|single] [--no-profile] [--rate R] [--keep DIR]
                             [--base-port P]`;

function parseArgs(args: string[]): Options {
  const value = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`);
    if (index === -1) return fallback;
    const parsed = Number(args[index + 1]);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`--${name} needs a positive integer`);
    return parsed;
  };
  const validatorsAt = args.indexOf('--validators');
  const validators =
    validatorsAt === -1
      ? [4, 7, 10]
      : String(args[validatorsAt + 1] ?? '')
          .split(',')
          .map(Number);
  if (validators.some((n) => !Number.isInteger(n) || n < 1 || n > 32))
    throw new Error('--validators needs a comma-separated list of counts in [1, 32]');
  const submitAt = args.indexOf('--submit');
  const submit = submitAt === -1 ? 'batch' : args[submitAt + 1];
  if (submit !== 'batch' && submit !== 'single') throw new Error('--submit is batch or single');
  return {
    json: args.includes('--json'),
    seconds: value('seconds', 12),
    accounts: value('accounts', 128),
    validators,
    submit,
    profile: !args.includes('--no-profile'),
    rate: args.includes('--rate') ? value('rate', 1) : undefined,
    keep: args.includes('--keep') ? String(args[args.indexOf('--keep') + 1] ?? '') || undefined : undefined,
    basePort: args.includes('--base-port') ? value('base-port', 1) : undefined,
  };
}

/** Clock ticks per second of /proc's CPU times. */
function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/**
 * A process's CPU time so far (user + system), µs, or NaN when /proc cannot say; with `mainThread`,
 * only its main thread's (the thread whose id is the pid).
 */
function processCpuUs(pid: number, ticks: number, mainThread = false): number {
  try {
    const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticks;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU µs so far of a process's threads other than the main one, by kind: Node's worker threads
 * (the storage commit thread, the signature pool), V8's helpers (garbage collection, compilers),
 * and the rest (libuv's pool, the inspector).
 */
function threadCpuUs(pid: number, ticks: number): Threads {
  const out = { workers: 0, v8: 0, profiler: 0, rest: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      if (tid === String(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const us = ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticks;
        if (name === 'WorkerThread') out.workers += us;
        else if (name.startsWith('V8')) out.v8 += us;
        // The CPU profiler's sampling thread exists only under --cpu-prof: measurement, not work.
        else if (name === 'v8:ProfEvntProc') out.profiler += us;
        else out.rest += us;
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    // The process ended.
  }
  return out;
}

/** Monotonic µs, the clock V8's CPU profiles stamp samples with. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

type Split = Record<Category | 'threads', number> & {
  threadKinds: Threads;
};

/** CPU of a process's threads beyond the main one, by kind (see threadCpuUs). */
interface Threads {
  workers: number;
  v8: number;
  profiler: number;
  rest: number;
}

interface NetworkResult {
  validators: number;
  bound: number;
  saturation: PhaseResult;
  halfLoad: PhaseResult;
  ratioToBound: number;
  /**
   * µs of CPU per finalized transaction per validator, saturation window, mean over validators;
   * without the CPU profiler's own thread, which `profilerUsPerTransaction` counts.
   */
  cpuUsPerTransaction: number;
  profilerUsPerTransaction: number;
  /**
   * CPU µs of one Ed25519 verification measured inside the saturation window: the bound's unit
   * at that moment's load; `cpuUsPerTransaction / verifyCpuUs` is what a transaction costs a
   * validator in verifications (1 would be the bound).
   */
  verifyCpuUs: number;
  /** The same split by category (profiles), or undefined without --cpu-prof. */
  split: Split | undefined;
  goals: { ratioToBound: boolean; halfLoadP50Ms: boolean; halfLoadP99Ms: boolean };
}

/**
 * Runs the benchmark; resolves with the exit code.
 * @example process.exitCode = await run(['--json', '--validators', '4']);
 */
export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const options = parseArgs(args);
  setTraceLabel('bench');
  traceEventLoop();
  if (options.basePort !== undefined && options.basePort + 300 > 65_535)
    throw new Error('--base-port leaves no room for the ports above it (P + 300 ≤ 65535)');
  const say = (message: string) => {
    if (!options.json) console.log(message);
  };
  const cores = availableParallelism();
  say(`measuring single-core Ed25519 verification rate (${cores} cores)…`);
  if (options.rate !== undefined)
    say(`--rate ${options.rate}: no saturation phase; the open-loop phase runs at ${options.rate} tx/s`);
  const rateBefore = verifyRate();
  const results: NetworkResult[] = [];
  const failures: { validators: number; error: string }[] = [];
  for (const n of options.validators) {
    // A network that cannot start (a starved machine) is reported and the next n still runs.
    try {
      const result = await runNetwork(options, n, cores, rateBefore, say);
      results.push(result);
      say(
        `n = ${n}: ${Math.round(result.saturation.finalizedPerSecond)} tx/s at saturation (ratio ${(result.saturation.finalizedPerSecond / result.bound).toFixed(2)} of the bound measured before), half-load p50 ${Math.round(result.halfLoad.latencyMs.p50)} ms, p99 ${Math.round(result.halfLoad.latencyMs.p99)} ms, ${Math.round(result.cpuUsPerTransaction)} CPU µs/tx per validator`,
      );
    } catch (error) {
      failures.push({ validators: n, error: error instanceof Error ? error.message : String(error) });
      say(`n = ${n}: failed: ${failures.at(-1)!.error}`);
    }
  }
  const rateAfter = verifyRate();
  const verifiesPerSecond = (rateBefore + rateAfter) / 2;
  for (const result of results) {
    result.bound = (cores * verifiesPerSecond) / result.validators;
    result.ratioToBound = result.saturation.finalizedPerSecond / result.bound;
    result.goals.ratioToBound = result.ratioToBound >= GOALS.ratioToBound;
  }
  const report = {
    benchmark: 'devnet',
    machine: { cores, node: process.version },
    accounts: options.accounts,
    submit: options.submit,
    bound: {
      ed25519VerifiesPerSecondSingleCore: Math.round(verifiesPerSecond),
      measured: { before: Math.round(rateBefore), after: Math.round(rateAfter) },
      formula: 'cores × single-core Ed25519 verifications per second ÷ validators',
    },
    goals: GOALS,
    networks: results,
    failures,
  };
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
    return failures.length === 0 ? 0 : 1;
  }
  const f = (value: number, digits = 0) =>
    Number.isFinite(value)
      ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '–';
  const mark = (met: boolean) => (met ? 'met' : 'not met');
  console.log('');
  console.log(
    `devnet: ${cores} cores, ${options.accounts} accounts, ${options.submit === 'batch' ? 'batched' : 'one-per-request'} HTTP submissions; Ed25519 ${f(verifiesPerSecond)} verifies/s on one core (${f(rateBefore)} before, ${f(rateAfter)} after)`,
  );
  for (const failure of failures) console.log(`n = ${failure.validators}: failed: ${failure.error}`);
  for (const result of results) {
    const { saturation: sat, halfLoad: half } = result;
    console.log(`n = ${result.validators}`);
    console.log(
      `  bound        ${f(result.bound)} tx/s  (${cores} cores × ${f(verifiesPerSecond)} verifies/s ÷ ${result.validators})`,
    );
    console.log(
      `  saturation   ${f(sat.finalizedPerSecond)} tx/s finalized   ratio ${f(result.ratioToBound, 2)} (goal ≥ ${GOALS.ratioToBound}: ${mark(result.goals.ratioToBound)})   p50 ${f(sat.latencyMs.p50, 1)} ms  p99 ${f(sat.latencyMs.p99, 1)} ms   ${f(sat.blocks / options.seconds, 1)} blocks/s × ${f(sat.transactionsPerBlock)} tx   refused: ${refusals(sat)}`,
    );
    console.log(
      `  half load    ${f(half.finalizedPerSecond)} tx/s (offered ${f(half.offeredPerSecond)})   p50 ${f(half.latencyMs.p50, 1)} ms (goal ≤ ${GOALS.halfLoadP50Ms}: ${mark(result.goals.halfLoadP50Ms)})  p99 ${f(half.latencyMs.p99, 1)} ms (goal ≤ ${GOALS.halfLoadP99Ms}: ${mark(result.goals.halfLoadP99Ms)})   ${f(half.blocks / options.seconds, 1)} blocks/s   refused: ${refusals(half)}`,
    );
    const split = result.split;
    const parts =
      split === undefined
        ? ''
        : `: ${[...CATEGORIES, 'threads' as const]
            .map((category) => `${category} ${f(split[category])}`)
            .join(
              ', ',
            )} (worker threads ${f(split.threadKinds.workers)}, V8 helpers ${f(split.threadKinds.v8)}, rest ${f(split.threadKinds.rest)})`;
    const profiler =
      result.profilerUsPerTransaction > 0
        ? ` [the profiler's own thread: ${f(result.profilerUsPerTransaction)} more]`
        : '';
    console.log(
      `  CPU µs/tx per validator at saturation ${f(result.cpuUsPerTransaction)}${parts}${profiler}`,
    );
    console.log(
      `  in verifications: ${f(result.cpuUsPerTransaction / result.verifyCpuUs, 2)} per transaction per validator (one Ed25519 verification took ${f(result.verifyCpuUs)} CPU µs in the window; the bound counts 1)`,
    );
  }
  return failures.length === 0 ? 0 : 1;
}

/** The saturation phase's result when it did not run (`--rate`). */
function emptyPhase(): PhaseResult {
  const none = Number.NaN;
  return {
    offeredPerSecond: 0,
    blocks: 0,
    transactionsPerBlock: 0,
    submitted: 0,
    accepted: 0,
    refused: {},
    finalized: 0,
    finalizedPerSecond: none,
    latencyMs: { p50: none, p99: none, max: none, samples: 0 },
  };
}

function refusals(phase: PhaseResult): string {
  return (
    Object.entries(phase.refused)
      .map(([code, count]) => `${code} ${count}`)
      .join(', ') || 'none'
  );
}

async function runNetwork(
  options: Options,
  validators: number,
  cores: number,
  verifiesPerSecond: number,
  say: (message: string) => void,
): Promise<NetworkResult> {
  if (options.basePort !== undefined && !(await basePortFree(options.basePort, validators)))
    throw new Error(`--base-port ${options.basePort}: a port of the block is taken`);
  const dataDirectory = mkdtempSync(join(options.keep ?? tmpdir(), 'palisade-bench-devnet-'));
  const profileDirectory = join(dataDirectory, 'profiles');
  say(`n = ${validators}: starting validators with ${options.accounts} funded accounts in ${dataDirectory}…`);
  // The validators inherit the environment: profile them, not this process.
  const savedNodeOptions = process.env.NODE_OPTIONS;
  if (options.profile)
    process.env.NODE_OPTIONS =
      `${savedNodeOptions ?? ''} --cpu-prof --cpu-prof-dir=${profileDirectory}`.trim();
  let devnet: Awaited<ReturnType<typeof startDevnet>>;
  try {
    devnet = await startDevnet({
      dataDirectory,
      validators,
      basePort: options.basePort ?? (await freeBasePort(validators)),
      dashboardPort: 0,
      bots: false,
      reset: false,
      restart: false,
      extraTraders: options.accounts,
    });
  } finally {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
  }
  const ticks = clockTicks();
  const pids = devnet.supervisor.validators().map((info) => info.pid ?? 0);
  let stopped = false;
  try {
    const network = devnet.network;
    const password = (await readFile(network.passwordFile, 'utf8')).split(/\r?\n/)[0] ?? '';
    const keystores = network.traderKeystores.slice(BOT_ROLES.length);
    const accounts: Account[] = await Promise.all(
      keystores.map(async (path, index) => {
        const pair = await loadEd25519Keystore(await readFile(path, 'utf8'), password);
        return {
          signer: createEd25519Signer(pair.secretKey),
          role: index < MAKERS ? ('maker' as const) : ('taker' as const),
          nonce: 0,
          inflight: 0,
          wake: undefined,
        };
      }),
    );
    const apiUrls = network.validators.map((validator) => validator.api);
    const client = createClient({ url: apiUrls[0]! });
    // Marks appear once the oracle has aggregated a price.
    let markets: MarketJson[] = [];
    for (let attempt = 0; attempt < 150; attempt++) {
      markets = (await client.markets()).filter((market) => market.markPrice !== null);
      if (markets.length > 0) break;
      await sleep(200);
    }
    if (markets.length === 0) throw new Error('no series has a mark price');
    const chainId = network.genesis.chainId;
    const random = createSeededRandom(2026);

    const orderFor = (account: Account): ExecutionAction => {
      if (account.role === 'maker' && account.nonce % 20 === 19) {
        return { kind: 'cancelAll', value: { seriesId: 0 } };
      }
      const market = markets[random.below(markets.length)]!;
      const markTicks = Math.max(4, Math.round(Number(market.markPrice) / market.tickSize));
      const side = random.below(2);
      const maker = account.role === 'maker';
      // Makers rest 1–3 ticks off the mark; takers cross up to 2 ticks through it.
      const offset = maker ? -(1 + random.below(3)) : random.below(3);
      const priceTicks = Math.max(1, markTicks + (side === 0 ? offset : -offset));
      return {
        kind: 'placeOrder',
        value: {
          seriesId: market.seriesId,
          side,
          kind: 0,
          timeInForce: maker ? 0 : 1,
          postOnly: maker,
          reduceOnly: false,
          price: priceTicks * market.tickSize,
          sizeE6: (1 + random.below(3)) * market.lotSizeE6,
          clientOrderId: 0,
        },
      };
    };

    // Finality as validator 0 reports it, block by block.
    const sent = new Map<string, Sent>();
    let latencies: number[] = [];
    let finalizedInWindow = 0;
    let blocksInWindow = 0;
    let window: { startMs: number; endMs: number } | undefined;
    let streamFailure: string | undefined;
    const stream = client.stream(
      ['blocks'],
      (event) => {
        if (event.topic !== 'blocks') return;
        const nowMs = performance.now();
        if (window !== undefined && nowMs >= window.startMs && nowMs < window.endMs) blocksInWindow++;
        if (tracing)
          trace('seen', {
            height: event.block.height,
            ids: tracedIds(event.block.transactions.map((outcome) => outcome.id)),
          });
        for (const outcome of event.block.transactions) {
          const entry = sent.get(outcome.id);
          if (entry === undefined) continue;
          sent.delete(outcome.id);
          entry.account.inflight--;
          entry.account.wake?.();
          if (window !== undefined && entry.sentAtMs >= window.startMs && entry.sentAtMs < window.endMs) {
            latencies.push(nowMs - entry.sentAtMs);
          }
          if (window !== undefined && nowMs >= window.startMs && nowMs < window.endMs) finalizedInWindow++;
        }
      },
      (code) => {
        streamFailure = `the block stream closed (${code})`;
      },
    );
    await stream.ready;

    // Per node, what was signed in the last BATCH_WINDOW_MS, posted together.
    const queues = apiUrls.map(
      () => [] as { bytes: Uint8Array; answer: (code: string) => void; traced: string[] }[],
    );
    const flushTimers: (ReturnType<typeof setTimeout> | undefined)[] = apiUrls.map(() => undefined);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const flush = async (node: number): Promise<void> => {
      flushTimers[node] = undefined;
      const queue = queues[node]!.splice(0, queues[node]!.length);
      if (queue.length === 0) return;
      if (tracing)
        trace('posted', { node, batch: queue.length, ids: queue.flatMap((entry) => entry.traced) });
      let codes: string[];
      try {
        const response = await postJson(
          agent,
          `${apiUrls[node]}/v1/transactions/batch`,
          frameTransactions(queue.map((entry) => entry.bytes)),
        );
        const body = response.json as {
          results?: { status: string; code?: string }[];
          error?: { code?: string };
        };
        codes =
          response.status === 200 && body.results !== undefined
            ? body.results.map((result) =>
                result.status === 'accepted' ? 'ACCEPTED' : (result.code ?? 'REFUSED'),
              )
            : queue.map(() => body.error?.code ?? `HTTP_${response.status}`);
      } catch {
        codes = queue.map(() => 'NETWORK');
      }
      if (tracing)
        trace('answered', { node, batch: queue.length, ids: queue.flatMap((entry) => entry.traced) });
      for (const [index, entry] of queue.entries()) entry.answer(codes[index] ?? 'NETWORK');
    };
    const post = (node: number, bytes: Uint8Array, id: string): Promise<string> => {
      if (options.submit === 'single') {
        return fetch(`${apiUrls[node]}/v1/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.from(bytes),
        })
          .then(async (response) => {
            const body = (await response.json()) as { error?: { code?: string } };
            return response.status === 202 ? 'ACCEPTED' : (body.error?.code ?? `HTTP_${response.status}`);
          })
          .catch(() => 'NETWORK');
      }
      return new Promise<string>((answer) => {
        const queue = queues[node]!;
        queue.push({ bytes, answer, traced: tracedTransaction(id) ? [id.slice(2)] : [] });
        if (queue.length >= MAX_BATCH) {
          clearTimeout(flushTimers[node]);
          void flush(node);
        } else if (flushTimers[node] === undefined) {
          flushTimers[node] = setTimeout(() => void flush(node), BATCH_WINDOW_MS);
        }
      });
    };

    let submitted = 0;
    let accepted = 0;
    let refused: Record<string, number> = {};
    const submit = async (account: Account, ordinal: number): Promise<void> => {
      const transaction = signTransaction(account.signer, {
        chainId,
        nonce: account.nonce,
        expiryHeight: 1_000_000_000,
        payload: encodeAction(orderFor(account)),
      });
      const bytes = SignedTransactionCodec.encode(transaction);
      const id = `0x${toHex(transactionId(transaction))}`;
      const sentAtMs = performance.now();
      if (tracing && tracedTransaction(id))
        trace('sent', { id: id.slice(2), node: ordinal % apiUrls.length });
      sent.set(id, { account, sentAtMs });
      account.inflight++;
      account.nonce++;
      submitted++;
      const code = await post(ordinal % apiUrls.length, bytes, id);
      if (code === 'ACCEPTED') {
        accepted++;
        return;
      }
      refused[code] = (refused[code] ?? 0) + 1;
      // Refused: it will never finalize. Its nonce is free again unless the node says it is
      // taken, and is reused when nothing later was signed meanwhile.
      if (sent.delete(id)) account.inflight--;
      const nonceTaken = code === 'NONCE_IN_USE' || code === 'NONCE_TOO_LOW' || code === 'DUPLICATE';
      if (!nonceTaken && account.nonce === transaction.body.nonce + 1) account.nonce--;
    };

    /** CPU µs of one verification, measured by this process in the middle of the saturation window. */
    let verifyCpuInWindow = Number.NaN;
    /** CPU of each validator over the saturation window, and the window on the profiles' clock. */
    let cpuWindow:
      | { fromUs: number; toUs: number; cpuUs: number[]; mainUs: number[]; threads: Threads[] }
      | undefined;
    const measure = async (
      name: string,
      drive: (endMs: number) => Promise<void>,
      offeredPerSecond: number,
      sampleCpu: boolean,
    ): Promise<PhaseResult> => {
      const warmupMs = 3000;
      const start = performance.now();
      window = { startMs: start + warmupMs, endMs: start + warmupMs + options.seconds * 1000 };
      submitted = 0;
      accepted = 0;
      refused = {};
      latencies = [];
      finalizedInWindow = 0;
      blocksInWindow = 0;
      let cpuAtStart: { us: number; cpu: number[]; main: number[]; threads: Threads[] } | undefined;
      const timers: ReturnType<typeof setTimeout>[] = [];
      if (sampleCpu) {
        timers.push(
          setTimeout(
            () => {
              verifyCpuInWindow = verifyCpuUs();
            },
            warmupMs + (options.seconds * 1000) / 2,
          ),
          setTimeout(() => {
            cpuAtStart = {
              us: monotonicUs(),
              cpu: pids.map((pid) => processCpuUs(pid, ticks)),
              main: pids.map((pid) => processCpuUs(pid, ticks, true)),
              threads: pids.map((pid) => threadCpuUs(pid, ticks)),
            };
          }, warmupMs),
          setTimeout(
            () => {
              if (cpuAtStart === undefined) return;
              const now = pids.map((pid) => processCpuUs(pid, ticks));
              const main = pids.map((pid) => processCpuUs(pid, ticks, true));
              const threads = pids.map((pid) => threadCpuUs(pid, ticks));
              cpuWindow = {
                fromUs: cpuAtStart.us,
                toUs: monotonicUs(),
                cpuUs: now.map((cpu, index) => cpu - cpuAtStart!.cpu[index]!),
                mainUs: main.map((cpu, index) => cpu - cpuAtStart!.main[index]!),
                threads: threads.map((now, index) => {
                  const then = cpuAtStart!.threads[index]!;
                  return {
                    workers: now.workers - then.workers,
                    v8: now.v8 - then.v8,
                    profiler: now.profiler - then.profiler,
                    rest: now.rest - then.rest,
                  };
                }),
              };
            },
            warmupMs + options.seconds * 1000,
          ),
        );
      }
      say(`n = ${validators}, ${name}: ${warmupMs / 1000} s warm-up, ${options.seconds} s measured…`);
      if (tracing)
        trace('window', {
          phase: name,
          validators,
          from: performance.timeOrigin + window.startMs,
          to: performance.timeOrigin + window.endMs,
          // The CPU profiles' clock (monotonic µs), to read a kept run's profiles in this window.
          fromUs: monotonicUs() + (window.startMs - performance.now()) * 1000,
          toUs: monotonicUs() + (window.endMs - performance.now()) * 1000,
        });
      await drive(window.endMs);
      // Let what was sent inside the window finalize before reading latencies.
      const drainUntil = performance.now() + 10_000;
      while (sent.size > 0 && performance.now() < drainUntil) await sleep(50);
      for (const timer of timers) clearTimeout(timer);
      if (streamFailure !== undefined) throw new Error(streamFailure);
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        offeredPerSecond,
        blocks: blocksInWindow,
        transactionsPerBlock: blocksInWindow === 0 ? 0 : finalizedInWindow / blocksInWindow,
        submitted,
        accepted,
        refused,
        finalized: finalizedInWindow,
        finalizedPerSecond: finalizedInWindow / options.seconds,
        latencyMs: {
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted.at(-1) ?? Number.NaN,
          samples: sorted.length,
        },
      };
    };

    // Saturation: each account submits whenever it has room in its window, paced per account.
    const fixedRate = options.rate;
    const saturation =
      fixedRate !== undefined
        ? emptyPhase()
        : await measure(
            'saturation',
            async (endMs) => {
              const minGapMs = 1000 / ACCOUNT_RATE;
              await Promise.all(
                accounts.map(async (account, ordinal) => {
                  let nextAtMs = performance.now() + random.below(1000) / ACCOUNT_RATE;
                  while (performance.now() < endMs) {
                    if (account.inflight >= WINDOW) {
                      await new Promise<void>((resolve) => {
                        account.wake = resolve;
                        setTimeout(resolve, 200);
                      });
                      account.wake = undefined;
                      continue;
                    }
                    const waitMs = nextAtMs - performance.now();
                    if (waitMs > 0) await sleep(waitMs);
                    nextAtMs = Math.max(nextAtMs + minGapMs, performance.now());
                    await submit(account, ordinal);
                  }
                }),
              );
            },
            accounts.length * ACCOUNT_RATE,
            true,
          );

    // Half load: open loop at half the saturated throughput, spread over the accounts.
    const halfRate = fixedRate ?? Math.max(1, saturation.finalizedPerSecond / 2);
    const half = await measure(
      'half load',
      async (endMs) => {
        const gapMs = 1000 / halfRate;
        let nextAtMs = performance.now();
        let ordinal = 0;
        const pending: Promise<void>[] = [];
        while (performance.now() < endMs) {
          // Always yield: a wait under a millisecond used to spin here, holding the event loop
          // that reads the answers and the block stream (the generator's own latency, traced).
          const waitMs = nextAtMs - performance.now();
          if (waitMs > 0) await sleep(waitMs);
          // Send every transaction whose time has come (timers are coarser than the gap).
          while (nextAtMs <= performance.now()) {
            const account = accounts[ordinal % accounts.length]!;
            pending.push(submit(account, ordinal));
            ordinal++;
            nextAtMs += gapMs;
          }
          if (pending.length > 1000) pending.splice(0, pending.length - 1000);
        }
        await Promise.all(pending);
      },
      halfRate,
      false,
    );
    stream.close();
    agent.destroy();
    await devnet.stop();
    stopped = true;

    // The profiler's own thread (--cpu-prof only) is measurement, not the pipeline: left out of
    // the figure and reported beside it.
    const profilerUs = (index: number) => cpuWindow?.threads[index]?.profiler ?? 0;
    const perTransaction = (values: number[]) =>
      values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
    const finalizedMin1 = Math.max(1, saturation.finalized);
    const cpuUsPerTransaction = perTransaction(
      (cpuWindow?.cpuUs ?? []).map((cpu, index) => (cpu - profilerUs(index)) / finalizedMin1),
    );
    const profilerUsPerTransaction = perTransaction(
      (cpuWindow?.cpuUs ?? []).map((_, index) => profilerUs(index) / finalizedMin1),
    );
    let split: Split | undefined;
    if (options.profile && cpuWindow !== undefined) {
      const files = readdirSync(profileDirectory);
      // Kept networks keep the window too, for reading the profiles afterwards.
      if (options.keep !== undefined)
        writeFileSync(
          join(profileDirectory, 'saturation-window.json'),
          JSON.stringify({ fromUs: cpuWindow.fromUs, toUs: cpuWindow.toUs, pids }),
        );
      const splits: Split[] = [];
      pids.forEach((pid, index) => {
        // CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile: the main thread is 0.
        const file = files.find((name) => name.split('.')[3] === String(pid) && name.split('.')[4] === '0');
        if (file === undefined) return;
        const summary = summarizeProfile(join(profileDirectory, file), 0, {
          fromUs: cpuWindow!.fromUs,
          toUs: cpuWindow!.toUs,
        });
        // The profile says how the main thread's time divides; /proc says how much CPU it had (on
        // a loaded machine a profile's busy time also counts time spent waiting for a core).
        const transactions = Math.max(1, saturation.finalized);
        const mainCpu = cpuWindow!.mainUs[index] ?? Number.NaN;
        const share = (us: number) => (summary.busyUs === 0 ? 0 : us / summary.busyUs);
        const one = Object.fromEntries(
          CATEGORIES.map((category) => [
            category,
            (share(summary.byCategory[category]) * mainCpu) / transactions,
          ]),
        ) as unknown as Split;
        one.threads = Math.max(
          0,
          ((cpuWindow!.cpuUs[index] ?? mainCpu) - mainCpu - profilerUs(index)) / transactions,
        );
        const kinds = cpuWindow!.threads[index] ?? { workers: 0, v8: 0, profiler: 0, rest: 0 };
        one.threadKinds = {
          workers: kinds.workers / transactions,
          v8: kinds.v8 / transactions,
          profiler: kinds.profiler / transactions,
          rest: kinds.rest / transactions,
        };
        splits.push(one);
      });
      if (splits.length > 0) {
        const mean = (pick: (one: Split) => number) =>
          splits.reduce((sum, one) => sum + pick(one), 0) / splits.length;
        split = {
          ...(Object.fromEntries(
            [...CATEGORIES, 'threads' as const].map((category) => [category, mean((one) => one[category])]),
          ) as Record<Category | 'threads', number>),
          threadKinds: {
            workers: mean((one) => one.threadKinds.workers),
            v8: mean((one) => one.threadKinds.v8),
            profiler: mean((one) => one.threadKinds.profiler),
            rest: mean((one) => one.threadKinds.rest),
          },
        };
      }
    }
    return {
      validators,
      bound: (cores * verifiesPerSecond) / validators,
      saturation,
      halfLoad: half,
      ratioToBound: 0,
      cpuUsPerTransaction,
      profilerUsPerTransaction,
      verifyCpuUs: verifyCpuInWindow,
      split,
      goals: {
        ratioToBound: false,
        halfLoadP50Ms: half.latencyMs.p50 <= GOALS.halfLoadP50Ms,
        halfLoadP99Ms: half.latencyMs.p99 <= GOALS.halfLoadP99Ms,
      },
    };
  } finally {
    if (!stopped) await devnet.stop();
    if (options.keep === undefined) rmSync(dataDirectory, { recursive: true, force: true });
  }
}
