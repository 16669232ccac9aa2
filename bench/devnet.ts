/**
 * `palisade bench devnet [--json] [--seconds S] [--accounts N]`: a real four-validator devnet on
 * this machine (each validator its own process, on loopback) under a load generator that signs
 * orders and submits them over HTTP to all four APIs.
 *
 *   saturation   closed loop: every account keeps up to WINDOW transactions unfinalized and
 *                submits as fast as the nodes accept, paced under the mempool's per-account
 *                rate limit; figure: finalized transactions per second.
 *   half load    open loop at half the saturated throughput, transactions sent on a schedule
 *                whatever the answers; figures: submit-to-finality latency p50 and p99.
 *
 * Submit-to-finality is measured from just before the HTTP POST to the moment validator 0's
 * WebSocket stream delivers the finalized block that carries the transaction.
 *
 * The bound, measured in the same run before the network starts: cores × single-core Ed25519
 * verifications per second ÷ validators — every validator verifies every transaction, so no
 * network of this size on this machine can finalize faster. The ratio printed is measured
 * saturated throughput over that bound. Everything shares the machine: the four validators, the
 * load generator (signing, HTTP) and the stream reader; the report says how many cores there are.
 *
 * Orders: a few accounts quote post-only around the mark (cancelling all every 20 orders, so
 * books stay bounded); the rest send immediate-or-cancel orders near the mark, so blocks carry
 * fills as well as resting and cancelled orders.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
import { createClient } from '../src/node/client.ts';
import { BOT_ROLES, startDevnet } from '../src/node/devnet/devnet.ts';
import { freeBasePort } from '../src/node/devnet/ports.ts';
import type { MarketJson } from '../src/node/view.ts';

const VALIDATORS = 4;
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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

function parseArgs(args: string[]): { json: boolean; seconds: number; accounts: number } {
  const value = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`);
    if (index === -1) return fallback;
    const parsed = Number(args[index + 1]);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`--${name} needs a positive integer`);
    return parsed;
  };
  return { json: args.includes('--json'), seconds: value('seconds', 12), accounts: value('accounts', 128) };
}

/**
 * Runs the benchmark; resolves with the exit code.
 * @example process.exitCode = await run(['--json']);
 */
export async function run(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const say = (message: string) => {
    if (!options.json) console.log(message);
  };
  const cores = availableParallelism();
  say(`measuring single-core Ed25519 verification rate (${cores} cores)…`);
  const verifiesPerSecond = verifyRate();
  const bound = (cores * verifiesPerSecond) / VALIDATORS;

  const dataDirectory = mkdtempSync(join(tmpdir(), 'palisade-bench-devnet-'));
  say(`starting ${VALIDATORS} validators with ${options.accounts} funded accounts in ${dataDirectory}…`);
  const devnet = await startDevnet({
    dataDirectory,
    validators: VALIDATORS,
    basePort: await freeBasePort(VALIDATORS),
    dashboardPort: 0,
    bots: false,
    reset: false,
    restart: false,
    extraTraders: options.accounts,
  });
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
    for (let attempt = 0; attempt < 100; attempt++) {
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
    let window: { startMs: number; endMs: number } | undefined;
    let streamFailure: string | undefined;
    const stream = client.stream(
      ['blocks'],
      (event) => {
        if (event.topic !== 'blocks') return;
        const nowMs = performance.now();
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
      sent.set(id, { account, sentAtMs });
      account.inflight++;
      account.nonce++;
      submitted++;
      let code: string;
      try {
        const response = await fetch(`${apiUrls[ordinal % apiUrls.length]}/v1/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.from(bytes),
        });
        const body = (await response.json()) as { error?: { code?: string } };
        code = response.status === 202 ? 'ACCEPTED' : (body.error?.code ?? `HTTP_${response.status}`);
      } catch {
        code = 'NETWORK';
      }
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

    const measure = async (
      name: string,
      drive: (endMs: number) => Promise<void>,
      offeredPerSecond: number,
    ): Promise<PhaseResult> => {
      const warmupMs = 3000;
      const start = performance.now();
      window = { startMs: start + warmupMs, endMs: start + warmupMs + options.seconds * 1000 };
      submitted = 0;
      accepted = 0;
      refused = {};
      latencies = [];
      finalizedInWindow = 0;
      say(`${name}: ${warmupMs / 1000} s warm-up, ${options.seconds} s measured…`);
      await drive(window.endMs);
      // Let what was sent inside the window finalize before reading latencies.
      const drainUntil = performance.now() + 10_000;
      while (sent.size > 0 && performance.now() < drainUntil) await sleep(50);
      if (streamFailure !== undefined) throw new Error(streamFailure);
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        offeredPerSecond,
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
    const saturation = await measure(
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
    );

    // Half load: open loop at half the saturated throughput, spread over the accounts.
    const halfRate = saturation.finalizedPerSecond / 2;
    const half = await measure(
      'half load',
      async (endMs) => {
        const gapMs = 1000 / halfRate;
        let nextAtMs = performance.now();
        let ordinal = 0;
        const pending: Promise<void>[] = [];
        while (performance.now() < endMs) {
          const waitMs = nextAtMs - performance.now();
          if (waitMs > 1) await sleep(waitMs);
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
    );
    stream.close();

    const ratio = saturation.finalizedPerSecond / bound;
    const report = {
      benchmark: 'devnet',
      machine: { cores, node: process.version },
      validators: VALIDATORS,
      accounts: accounts.length,
      bound: {
        ed25519VerifiesPerSecondSingleCore: Math.round(verifiesPerSecond),
        transactionsPerSecond: Math.round(bound),
        formula: 'cores × single-core Ed25519 verifications per second ÷ validators',
      },
      saturation,
      halfLoad: half,
      ratioToBound: ratio,
      goals: {
        ratioToBound: { target: 0.7, met: ratio >= 0.7 },
        halfLoadP50Ms: { target: 50, met: half.latencyMs.p50 < 50 },
        halfLoadP99Ms: { target: 250, met: half.latencyMs.p99 < 250 },
      },
    };
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const f = (value: number, digits = 0) =>
      value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const refusals = (phase: PhaseResult) =>
      Object.entries(phase.refused)
        .map(([code, count]) => `${code} ${count}`)
        .join(', ') || 'none';
    console.log('');
    console.log(
      `devnet: ${VALIDATORS} validator processes on ${cores} cores, ${accounts.length} accounts, HTTP submissions`,
    );
    console.log(
      `  bound        ${f(bound)} tx/s  (${cores} cores × ${f(verifiesPerSecond)} Ed25519 verifies/s ÷ ${VALIDATORS} validators)`,
    );
    console.log(
      `  saturation   ${f(saturation.finalizedPerSecond)} tx/s finalized   ratio to bound ${f(ratio, 2)} (goal ≥ 0.70)   p50 ${f(saturation.latencyMs.p50, 1)} ms  p99 ${f(saturation.latencyMs.p99, 1)} ms   refused: ${refusals(saturation)}`,
    );
    console.log(
      `  half load    ${f(half.finalizedPerSecond)} tx/s finalized (offered ${f(halfRate)})   p50 ${f(half.latencyMs.p50, 1)} ms (goal < 50)  p99 ${f(half.latencyMs.p99, 1)} ms (goal < 250)   refused: ${refusals(half)}`,
    );
    return 0;
  } finally {
    await devnet.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}
