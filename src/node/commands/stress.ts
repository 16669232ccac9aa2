/**
 * `palisade stress [--regime calm|march-2020|cascade-2022|all] [--json]`: replays volatility
 * regimes through the execution engine with every automatic response on (genesis defaults,
 * src/execution/adaptive-defaults.ts) and prints how the EWMA volatility, the mark-volatility
 * floor, the band and initial-margin scale moved, what halted, and how each halt reopened.
 *
 * The regimes are index paths in 10-second blocks, shaped after published moves and compressed:
 * - calm: 2 hours of ±5 bps noise every 10 s around 60,000 (about 50% a year);
 * - march-2020: BTC's 12–13 March 2020 fall (about −50% in a day, most of it in hours): half an
 *   hour calm, then −40% over 3 hours in bursts of −6% to −9% in a few minutes, a partial rebound;
 * - cascade-2022: the 2022 deleveraging cascade (Terra, Celsius and 3AC, FTX): three legs of −12%
 *   over 20 minutes each, an hour apart, with relief rallies of +4%.
 * The paths are fixed (a seeded generator for the noise), so every run prints the same figures.
 *
 * Two bots trade an at-the-money call: a maker re-quotes a bid and an ask 2% around the mark every
 * minute; a seller sends a market sell every block, and during a halt rests a sell under the
 * maker's bid, so that the reopening auction has a crossed book to clear.
 */
import { ADAPTIVE_PARAMETER_DEFAULTS } from '../../execution/adaptive-defaults.ts';
import { createEngine, type Engine } from '../../execution/engine.ts';
import {
  btcSeries,
  createSeededRandom,
  createTransactionBuilder,
  limitOrder,
  testGenesis,
  testSigner,
  USDC,
} from '../../execution/fixtures.ts';
import { MS_PER_DAY } from '../../execution/margin.ts';
import type { Block, EngineEvent } from '../../execution/types.ts';
import { parseOptions, UsageError } from '../args.ts';

export const usage = 'usage: palisade stress [--regime calm|march-2020|cascade-2022|all] [--json]';

export const REGIMES = ['calm', 'march-2020', 'cascade-2022'] as const;
export type Regime = (typeof REGIMES)[number];

const BLOCK_MS = 10_000;
const START = Date.UTC(2026, 0, 1);
const SPOT = 60_000;

/** The regime's index path, one price (whole USDC) per 10-second block. */
export function regimePath(regime: Regime): number[] {
  const random = createSeededRandom(2020);
  const noise = (bps: number) => 1 + (random.below(2 * bps + 1) - bps) / 10_000;
  const path: number[] = [];
  let price = SPOT;
  const hold = (blocks: number, bps: number) => {
    for (let i = 0; i < blocks; i++) path.push(Math.round(price * noise(bps)));
  };
  /** Moves the level by `totalBps` over `blocks`, evenly, with noise. */
  const move = (blocks: number, totalBps: number) => {
    const step = (1 + totalBps / 10_000) ** (1 / blocks);
    for (let i = 0; i < blocks; i++) {
      price *= step;
      path.push(Math.round(price * noise(5)));
    }
  };
  // ±5 bps uniform noise every 10 s is about 50% a year, BTC's usual volatility.
  if (regime === 'calm') hold(720, 5);
  else if (regime === 'march-2020') {
    hold(180, 5);
    for (const [burst, rest] of [
      [-900, 90],
      [-700, 60],
      [-800, 120],
      [-600, 90],
      [-900, 120],
    ] as const) {
      move(24, burst);
      hold(rest, 15);
    }
    move(120, 1500);
    hold(120, 10);
  } else {
    hold(120, 5);
    for (let leg = 0; leg < 3; leg++) {
      move(120, -1200);
      hold(180, 10);
      move(60, 400);
      hold(180, 5);
    }
  }
  return path;
}

export interface StressRow {
  minute: number;
  spot: number;
  ewmaVolBps: number;
  autoVolBps: number;
  scaleBps: number;
  priceBandBps: number;
  /** The seller's initial margin per short contract (its standard margin, scaled). */
  shortInitialMarginUsdc: number;
  halted: boolean;
}

export interface StressReport {
  regime: Regime;
  blocks: number;
  lowSpot: number;
  highSpot: number;
  rows: StressRow[];
  halts: Array<{
    minute: number;
    spot: number;
    low: number;
    high: number;
    widthBps: number;
    untilMinute: number;
  }>;
  auctions: Array<{ minute: number; seriesId: number; priceUsdc: number; lots: number }>;
  reopens: number;
  parameterChanges: number;
  statuses: Record<string, number>;
  fills: number;
}

/** Replays one regime; pure and deterministic. */
export function runStress(regime: Regime): StressReport {
  const maker = testSigner('stress-maker');
  const seller = testSigner('stress-seller');
  const genesis = testGenesis({
    startTimeMs: START,
    series: [btcSeries(true, SPOT, START + 30 * MS_PER_DAY)],
    traders: [maker, seller],
    balanceUsdc: 10_000_000,
    insuranceFundUsdc: 1_000_000,
    // Every automatic response as genesis sets it by default.
    params: { ...ADAPTIVE_PARAMETER_DEFAULTS },
  });
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder(genesis.chainId);
  const path = regimePath(regime);
  const report: StressReport = {
    regime,
    blocks: path.length,
    lowSpot: Math.min(...path),
    highSpot: Math.max(...path),
    rows: [],
    halts: [],
    auctions: [],
    reopens: 0,
    parameterChanges: 0,
    statuses: {},
    fills: 0,
  };
  const minuteOf = (timeMs: number) => Math.round((timeMs - START) / 60_000);
  for (const [i, spot] of path.entries()) {
    const transactions: Block['transactions'] = [];
    const halted = engine.risk(1)!.haltedUntilMs !== 0;
    const mark = markUsdc(engine);
    if (mark !== undefined) {
      if (i % 6 === 0) {
        transactions.push(txs.next(maker, { kind: 'cancelAll', value: { seriesId: 1 } }));
        transactions.push(txs.next(maker, limitOrder(1, 'buy', tick(mark * 0.98), 1)));
        transactions.push(txs.next(maker, limitOrder(1, 'sell', tick(mark * 1.02), 1)));
      }
      if (halted && i % 6 === 3)
        transactions.push(txs.next(seller, limitOrder(1, 'sell', tick(mark * 0.96), 0.5)));
      else if (!halted)
        transactions.push(txs.next(seller, limitOrder(1, 'sell', 0, 0.1, { kind: 1, timeInForce: 1 })));
    }
    const result = engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + BLOCK_MS,
      transactions,
      oracle: [{ underlyingId: 1, price: spot * USDC, confidence: 0, publishTimeMs: 0, stale: false }],
    });
    for (const r of result.results) report.statuses[r.status] = (report.statuses[r.status] ?? 0) + 1;
    for (const e of result.events) record(report, e, minuteOf(engine.timeMs));
    if (i % 30 === 29 || i === path.length - 1)
      report.rows.push(row(engine, spot, minuteOf(engine.timeMs), seller.publicKey));
  }
  return report;
}

function record(report: StressReport, e: EngineEvent, minute: number): void {
  if (e.type === 'circuitBreakerHalt')
    report.halts.push({
      minute,
      spot: Number(e.price) / USDC,
      low: Number(e.low) / USDC,
      high: Number(e.high) / USDC,
      widthBps: e.widthBps,
      untilMinute: Math.round((e.untilMs - START) / 60_000),
    });
  else if (e.type === 'callAuction')
    report.auctions.push({ minute, seriesId: e.seriesId, priceUsdc: e.priceTicks * 5, lots: e.lots });
  else if (e.type === 'circuitBreakerReopen') report.reopens++;
  else if (e.type === 'parametersAdjusted') report.parameterChanges++;
  else if (e.type === 'fill') report.fills++;
}

function row(engine: Engine, spot: number, minute: number, seller: Uint8Array): StressRow {
  const risk = engine.risk(1)!;
  const account = engine.account(seller);
  const lots = Math.abs(account?.positions[0]?.lots ?? 0);
  const initial = Number(account?.margin?.initial ?? 0n) / USDC;
  return {
    minute,
    spot,
    ewmaVolBps: risk.ewmaVolBps,
    autoVolBps: risk.autoVolBps,
    scaleBps: risk.scaleBps,
    priceBandBps: Math.floor((5000 * risk.scaleBps) / 10_000),
    // Lots are 0.1 contract.
    shortInitialMarginUsdc: lots === 0 ? 0 : Math.round((initial * 10) / lots),
    halted: risk.haltedUntilMs !== 0,
  };
}

function markUsdc(engine: Engine): number | undefined {
  const mark = engine.series()[0]?.markPrice;
  return mark === undefined ? undefined : Number(mark) / USDC;
}

/** A price on the 5-USDC tick, at least one tick. */
function tick(usdc: number): number {
  return Math.max(5, Math.round(usdc / 5) * 5);
}

function printReport(report: StressReport): void {
  console.log(
    `regime ${report.regime}: ${report.blocks} blocks of 10 s, index ${report.lowSpot}–${report.highSpot}; ` +
      `${report.halts.length} halts, ${report.auctions.length} auctions, ${report.parameterChanges} parameter changes, ${report.fills} fills`,
  );
  console.log('  min     spot   ewma%   markVol%  scale  band%  IM/short   halted');
  for (const r of report.rows)
    console.log(
      `  ${String(r.minute).padStart(4)} ${String(r.spot).padStart(8)} ${(r.ewmaVolBps / 100).toFixed(1).padStart(7)} ${(r.autoVolBps / 100).toFixed(1).padStart(9)} ${(r.scaleBps / 10_000).toFixed(2).padStart(6)} ${(r.priceBandBps / 100).toFixed(1).padStart(6)} ${String(r.shortInitialMarginUsdc).padStart(9)}   ${r.halted ? 'yes' : ''}`,
    );
  for (const h of report.halts)
    console.log(
      `  halt at minute ${h.minute}: index ${h.spot} outside [${h.low}, ${h.high}] ± ${(h.widthBps / 100).toFixed(2)}%, until minute ${h.untilMinute}`,
    );
  for (const a of report.auctions)
    console.log(
      `  call auction at minute ${a.minute}: series ${a.seriesId}, ${a.lots} lots at ${a.priceUsdc} USDC`,
    );
  const statuses = Object.entries(report.statuses)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`  statuses: ${statuses}`);
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    regime: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`palisade stress takes no arguments; got ${positionals.join(' ')}`);
  const wanted = String(values.regime);
  if (wanted !== 'all' && !(REGIMES as readonly string[]).includes(wanted))
    throw new UsageError(`--regime must be one of ${[...REGIMES, 'all'].join(', ')}; got ${wanted}`);
  const regimes = wanted === 'all' ? [...REGIMES] : [wanted as Regime];
  const reports = regimes.map(runStress);
  if (values.json === true) console.log(JSON.stringify(reports, null, 2));
  else for (const report of reports) printReport(report);
  return 0;
}
