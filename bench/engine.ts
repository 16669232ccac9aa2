/**
 * `palisade bench engine`: the derivatives engine's figures, each beside its peer or bound from
 * the same run.
 *
 *   matching   a seeded stream of limit orders around a mid with 10% cancels through one book,
 *              and the same stream through `hft-limit-order-book` (goal: ≥ 5× its orders/s)
 *   pricing    fixed-point BSM valuations with all greeks per second
 *   margin     portfolio margin of an account with 100 positions (goal: < 1 ms), with the
 *              per-series scenario vectors cached per block (warm) and computed afresh (cold)
 *   replay     blocks of mixed trading (signature checks included) per second, and the share of
 *              time spent computing the state root
 *   baseline   with `--baseline DIR` (another checkout, e.g. `git worktree add /tmp/engine-old
 *              <commit>` with node_modules linked): the same blocks replayed through that
 *              checkout's engine and this one, alternately, `--rounds` times each, timed by
 *              process CPU user time (`process.cpuUsage`), which a loaded machine disturbs less
 *              than wall time; the median of each and their ratio (this engine's speed over the
 *              baseline's; issue 9 asks ≥ 0.9). Signatures are taken as verified (as a node's
 *              mempool cache answers), so the figure is the engine's own work.
 *
 * Timing uses `performance.now()`; it never feeds the engine.
 */

import { pathToFileURL } from 'node:url';
import { OrderBook as PeerOrderBook } from 'hft-limit-order-book';
import { createStateCommitment, type StateCommitment } from '../src/crypto/state-commitment.ts';
import { BUY, createOrderBook, SELL } from '../src/execution/book.ts';
import { createEngine } from '../src/execution/engine.ts';
import {
  BTC,
  createMixedWorkload,
  createSeededRandom,
  testGenesis,
  testSigner,
} from '../src/execution/fixtures.ts';
import {
  contingencyPerShortLot,
  MS_PER_DAY,
  type PortfolioPosition,
  portfolioRequirement,
  type SeriesMarket,
  scenarioPnlPerLot,
  unitValue,
} from '../src/execution/margin.ts';
import { bsm } from '../src/execution/pricing.ts';
import type { Block } from '../src/execution/types.ts';
import { parseOptions, UsageError } from '../src/node/args.ts';
import { fromBps, ONE, parseFixed } from '../src/std/fixed.ts';

interface Operation {
  cancel: boolean;
  id: number;
  side: 0 | 1;
  priceTicks: number;
  lots: number;
}

/** Limit orders around a mid of 10,000 ticks, ±50 ticks, sizes 1–100; every tenth operation cancels an earlier order. */
function orderStream(count: number, seed: number): Operation[] {
  const random = createSeededRandom(seed);
  const out: Operation[] = [];
  let nextId = 1;
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9 && nextId > 1) {
      out.push({ cancel: true, id: 1 + random.below(nextId - 1), side: 0, priceTicks: 0, lots: 0 });
      continue;
    }
    const side = random.below(2) as 0 | 1;
    // Buys centred a little below the mid and sells a little above, so about a third cross.
    const offset = random.below(101) - 50;
    const priceTicks = 10_000 + offset + (side === BUY ? -10 : 10);
    out.push({ cancel: false, id: nextId++, side, priceTicks, lots: 1 + random.below(100) });
  }
  return out;
}

function benchOurs(stream: Operation[]): { seconds: number; fills: number } {
  const book = createOrderBook();
  let fills = 0;
  const callbacks = {
    onFill: () => {
      fills++;
    },
    onSelfTradeCancel: () => {},
  };
  const start = performance.now();
  for (const op of stream) {
    if (op.cancel) {
      book.cancel(op.id);
      continue;
    }
    const side = op.side === 0 ? BUY : SELL;
    // Each order has its own owner, as in the peer (which has no self-trade prevention).
    const remaining = book.match(side, op.priceTicks, op.lots, op.id, callbacks);
    if (remaining > 0) {
      book.add({
        orderId: op.id,
        owner: op.id,
        side,
        priceTicks: op.priceTicks,
        remainingLots: remaining,
        clientOrderId: 0,
        reduceOnly: false,
      });
    }
  }
  return { seconds: (performance.now() - start) / 1000, fills };
}

function benchPeer(stream: Operation[]): { seconds: number } {
  const book = new PeerOrderBook();
  const ids = stream.map((op) => String(op.id));
  const start = performance.now();
  for (let i = 0; i < stream.length; i++) {
    const op = stream[i]!;
    if (op.cancel) book.cancel(ids[i]!);
    else
      book.limit({
        id: ids[i]!,
        side: op.side === 0 ? ('buy' as never) : ('sell' as never),
        size: op.lots,
        price: op.priceTicks,
      });
  }
  return { seconds: (performance.now() - start) / 1000 };
}

function benchPricing(iterations: number): number {
  const base = {
    type: 'call' as const,
    strike: parseFixed('60000'),
    rate: parseFixed('0.03'),
    volatility: parseFixed('0.6'),
    years: parseFixed('0.1'),
  };
  let checksum = 0n;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    checksum += bsm({ ...base, spot: parseFixed('55000') + BigInt(i) * ONE }).delta;
  }
  const seconds = (performance.now() - start) / 1000;
  if (checksum === 0n) throw new Error('pricing produced nothing');
  return iterations / seconds;
}

function benchMargin(): { coldMs: number; warmMs: number } {
  const markets: SeriesMarket[] = Array.from({ length: 100 }, (_, i) => ({
    isCall: i % 2 === 0,
    strike: BigInt(40_000 + 500 * (i >> 1)) * 1_000_000n,
    expiryMs: (7 + (i % 5) * 14) * MS_PER_DAY,
    lotUnderlyingE12: 100_000_000_000n,
    spot: 60_000_000_000n,
    rate: 0n,
    volatility: fromBps(6000),
    nowMs: 0,
  }));
  const build = (): PortfolioPosition[] =>
    markets.map((market, i) => {
      const mark = unitValue(market, market.spot, market.volatility);
      return {
        lots: i % 3 === 0 ? -(1 + i) : 1 + i,
        scenarioPnl: scenarioPnlPerLot(BTC, market, mark),
        contingencyPerShortLot: contingencyPerShortLot(BTC, market),
      };
    });
  const coldStart = performance.now();
  const positions = build();
  portfolioRequirement(BTC, positions);
  const coldMs = performance.now() - coldStart;
  const runs = 2000;
  const warmStart = performance.now();
  for (let i = 0; i < runs; i++) portfolioRequirement(BTC, positions);
  return { coldMs, warmMs: (performance.now() - warmStart) / runs };
}

function timedCommitment(): { commitment: StateCommitment; rootMs: () => number } {
  const inner = createStateCommitment();
  let spent = 0;
  const commitment: StateCommitment = {
    set: (key, value) => {
      const start = performance.now();
      inner.set(key, value);
      spent += performance.now() - start;
    },
    delete: (key) => {
      const start = performance.now();
      inner.delete(key);
      spent += performance.now() - start;
    },
    get: (key) => inner.get(key),
    get size() {
      return inner.size;
    },
    root: () => {
      const start = performance.now();
      const root = inner.root();
      spent += performance.now() - start;
      return root;
    },
    prove: (key) => inner.prove(key),
  };
  return { commitment, rootMs: () => spent };
}

function benchReplay(blockCount: number, log: (line: string) => void) {
  const traders = Array.from({ length: 40 }, (_, i) => testSigner(`bench-${i}`));
  const genesis = testGenesis({ traders, balanceUsdc: 10_000_000 });
  const builder = createEngine(genesis);
  const workload = createMixedWorkload({
    seed: 7,
    traders,
    seriesIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    transactionsPerBlock: 8,
    moveBps: 20,
  });
  const blocks: Block[] = [];
  let fills = 0;
  for (let i = 0; i < blockCount; i++) {
    const block = workload.nextBlock(builder);
    blocks.push(block);
    fills += builder.applyBlock(block).events.filter((e) => e.type === 'fill').length;
    if ((i + 1) % 2000 === 0) log(`  generated ${i + 1}/${blockCount} blocks`);
  }
  const { commitment, rootMs } = timedCommitment();
  const engine = createEngine(genesis, { stateCommitment: commitment });
  const rootBefore = rootMs();
  const start = performance.now();
  for (const block of blocks) engine.applyBlock(block);
  const totalMs = performance.now() - start;
  const commitMs = rootMs() - rootBefore;
  const transactions = blocks.reduce((sum, b) => sum + b.transactions.length, 0);
  return {
    blocks: blockCount,
    transactions,
    fills,
    seconds: totalMs / 1000,
    blocksPerSecond: blockCount / (totalMs / 1000),
    stateRootMsPerBlock: commitMs / blockCount,
    stateRootShare: commitMs / totalMs,
  };
}

type CreateEngine = typeof createEngine;

/** CPU user milliseconds of replaying `blocks` from genesis through `create`'s engine. */
function replayCpuMs(create: CreateEngine, genesis: ReturnType<typeof testGenesis>, blocks: Block[]): number {
  const engine = create(genesis, { verifySignature: () => true });
  const before = process.cpuUsage();
  for (const block of blocks) engine.applyBlock(block);
  return process.cpuUsage(before).user / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * This engine against the one in another checkout on the same blocks, alternating (baseline, ours,
 * baseline, ours …) so that a load change on the machine hits both alike.
 */
async function benchBaseline(
  directory: string,
  blockCount: number,
  rounds: number,
  log: (line: string) => void,
) {
  const url = pathToFileURL(`${directory.replace(/\/$/, '')}/src/execution/engine.ts`).href;
  const baseline = (await import(url)) as { createEngine: CreateEngine };
  const traders = Array.from({ length: 40 }, (_, i) => testSigner(`bench-${i}`));
  const genesis = testGenesis({ traders, balanceUsdc: 10_000_000 });
  const builder = createEngine(genesis, { verifySignature: () => true });
  const workload = createMixedWorkload({
    seed: 11,
    traders,
    seriesIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    transactionsPerBlock: 8,
    moveBps: 20,
  });
  const blocks: Block[] = [];
  for (let i = 0; i < blockCount; i++) {
    const block = workload.nextBlock(builder);
    blocks.push(block);
    builder.applyBlock(block);
  }
  // One warm-up replay each, so that both are measured with optimized code.
  replayCpuMs(baseline.createEngine, genesis, blocks.slice(0, Math.min(500, blocks.length)));
  replayCpuMs(createEngine, genesis, blocks.slice(0, Math.min(500, blocks.length)));
  const baselineMs: number[] = [];
  const oursMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    baselineMs.push(replayCpuMs(baseline.createEngine, genesis, blocks));
    oursMs.push(replayCpuMs(createEngine, genesis, blocks));
    log(
      `  round ${round + 1}/${rounds}: baseline ${baselineMs.at(-1)!.toFixed(0)} ms, this ${oursMs.at(-1)!.toFixed(0)} ms`,
    );
  }
  const baselineMedianMs = median(baselineMs);
  const oursMedianMs = median(oursMs);
  return {
    directory,
    blocks: blockCount,
    rounds,
    baselineCpuMs: baselineMedianMs,
    oursCpuMs: oursMedianMs,
    baselineBlocksPerSecond: blockCount / (baselineMedianMs / 1000),
    oursBlocksPerSecond: blockCount / (oursMedianMs / 1000),
    /** This engine's speed over the baseline's (above 1: faster). */
    speedRatio: baselineMedianMs / oursMedianMs,
    boundRatio: 0.9,
  };
}

export async function run(args: string[]): Promise<number> {
  let values: { json?: boolean; orders?: string; blocks?: string; baseline?: string; rounds?: string };
  try {
    values = parseOptions(args, {
      json: { type: 'boolean', default: false },
      orders: { type: 'string', default: '500000' },
      blocks: { type: 'string', default: '10000' },
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '5' },
    }).values;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(
        `palisade bench engine: ${error.message}\nusage: palisade bench engine [--orders 500000] [--blocks 10000] [--baseline DIR [--rounds 5]] [--json]`,
      );
      return 2;
    }
    throw error;
  }
  const orders = Number(values.orders);
  const blockCount = Number(values.blocks);
  const rounds = Number(values.rounds);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 100) {
    console.error('palisade bench engine: --rounds 1…100');
    return 2;
  }
  if (
    !Number.isSafeInteger(orders) ||
    orders < 1000 ||
    !Number.isSafeInteger(blockCount) ||
    blockCount < 10
  ) {
    console.error('palisade bench engine: --orders ≥ 1000 and --blocks ≥ 10');
    return 2;
  }
  const quiet = values.json === true;
  const log = (line: string) => {
    if (!quiet) console.log(line);
  };

  log(
    `matching: ${orders.toLocaleString('en')} operations (10% cancels), same seeded stream through both books`,
  );
  const stream = orderStream(orders, 2026);
  const warm = orderStream(20_000, 1);
  benchOurs(warm);
  benchPeer(warm);
  const ours = benchOurs(stream);
  const peer = benchPeer(stream);
  const oursRate = orders / ours.seconds;
  const peerRate = orders / peer.seconds;
  log(
    `  palisade book           ${Math.round(oursRate).toLocaleString('en')} orders/s (${ours.fills.toLocaleString('en')} fills)`,
  );
  log(`  hft-limit-order-book    ${Math.round(peerRate).toLocaleString('en')} orders/s`);
  log(`  ratio                   ${(oursRate / peerRate).toFixed(1)}× (goal ≥ 5×)`);

  log('pricing: BSM price with delta, gamma, vega, theta, rho in 18-decimal fixed point');
  benchPricing(2000);
  const pricingRate = benchPricing(20_000);
  log(`  ${Math.round(pricingRate).toLocaleString('en')} valuations with greeks/s`);

  log('portfolio margin: 100 positions, 27 scenarios (9 spot moves × 3 volatility states)');
  benchMargin();
  const margin = benchMargin();
  log(
    `  warm (scenario vectors cached per block)   ${margin.warmMs.toFixed(3)} ms  (bound 1 ms: ${(1 / margin.warmMs).toFixed(1)}× under)`,
  );
  log(`  cold (2,700 revaluations included)         ${margin.coldMs.toFixed(1)} ms`);

  log(`replay: ${blockCount.toLocaleString('en')} blocks of mixed trading, 8 signed transactions each`);
  const replay = benchReplay(blockCount, log);
  log(
    `  ${Math.round(replay.blocksPerSecond).toLocaleString('en')} blocks/s (${Math.round(replay.transactions / replay.seconds).toLocaleString('en')} tx/s, ${replay.fills.toLocaleString('en')} fills)`,
  );
  log(
    `  state commitment ${replay.stateRootMsPerBlock.toFixed(3)} ms/block, ${(replay.stateRootShare * 100).toFixed(1)}% of replay time`,
  );

  let baseline: Awaited<ReturnType<typeof benchBaseline>> | undefined;
  if (values.baseline !== undefined) {
    log(
      `baseline: the same ${blockCount.toLocaleString('en')} blocks through ${values.baseline} and this checkout, alternately, CPU user time`,
    );
    baseline = await benchBaseline(values.baseline, blockCount, rounds, log);
    log(
      `  baseline ${Math.round(baseline.baselineBlocksPerSecond).toLocaleString('en')} blocks/s (median ${baseline.baselineCpuMs.toFixed(0)} ms)`,
    );
    log(
      `  this     ${Math.round(baseline.oursBlocksPerSecond).toLocaleString('en')} blocks/s (median ${baseline.oursCpuMs.toFixed(0)} ms)`,
    );
    log(`  ratio    ${baseline.speedRatio.toFixed(3)}× the baseline's speed (bound ≥ 0.9×)`);
  }

  if (quiet) {
    console.log(
      JSON.stringify({
        matching: {
          operations: orders,
          oursOrdersPerSecond: Math.round(oursRate),
          peerOrdersPerSecond: Math.round(peerRate),
          ratio: oursRate / peerRate,
          goalRatio: 5,
          fills: ours.fills,
        },
        pricing: { valuationsWithGreeksPerSecond: Math.round(pricingRate) },
        portfolioMargin: {
          positions: 100,
          scenarios: 27,
          warmMs: margin.warmMs,
          coldMs: margin.coldMs,
          boundMs: 1,
        },
        replay,
        ...(baseline === undefined ? {} : { baseline }),
      }),
    );
  }
  return 0;
}

if (import.meta.main) process.exitCode = await run(process.argv.slice(2));
