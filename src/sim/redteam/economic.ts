/**
 * Economic attacks modelled on real incidents, adapted to what Palisade exposes: options on an
 * index the validators aggregate, a price band around the mark, what-if margin, an insurance fund
 * with a backstop account. Each runs on a red-team venue (venue.ts) and is judged by the
 * fair-value invariant (fair-value.ts) and by its bystanders' balances (scenario.ts).
 */
import { btcSeries, limitOrder, USDC } from '../../execution/fixtures.ts';
import { MS_PER_DAY } from '../../execution/margin.ts';
import type { EngineParameters, SeriesConfig } from '../../execution/types.ts';
import { AggregateFlag } from '../../oracle/aggregate.ts';
import { type Outcome, startScenario } from './scenario.ts';
import { REDTEAM_START_MS } from './venue.ts';

export interface EconomicContext {
  seed: number;
  /** Engine parameters replaced in the venue's genesis (an injected bug, e.g. no price band). */
  params?: Partial<EngineParameters> | undefined;
}

const WEEK = REDTEAM_START_MS + 7 * MS_PER_DAY;
const call60 = (): SeriesConfig => btcSeries(true, 60_000, WEEK);
const put60 = (): SeriesConfig => btcSeries(false, 60_000, WEEK);

/**
 * Mango Markets, October 2022: the attacker took both sides of a thin perpetual, pumped the
 * index on thin spot venues and borrowed the treasury against the unrealised gain. Here: (1) a
 * self-trade at an absurd price meant to make one account "rich" and then withdraw; (2) the
 * index pumped 30% (sources honestly follow the pumped spot), after which the attacker lifts an
 * honest maker's offer left at the old mark on the thin series and withdraws against the mark.
 */
export function mango(context: EconomicContext): Outcome {
  const s = startScenario(
    {
      seed: context.seed,
      params: context.params,
      traders: { thief: 10_000, partner: 10_000, maker: 200_000, idle: 50_000 },
      series: [call60()],
      insuranceFundUsdc: 100_000,
      spotUsdc: 60_000,
    },
    { coalition: ['thief', 'partner'], bystanders: ['idle', 'maker'] },
  );
  const mark = s.venue.markUsdc(1);
  s.tx('partner', limitOrder(1, 'buy', mark, 0.1))
    .tx('thief', limitOrder(1, 'sell', mark, 0.1))
    .block();
  const absurd = 10_000_000;
  s.tx('partner', limitOrder(1, 'sell', absurd, 0.1))
    .tx('thief', limitOrder(1, 'buy', absurd, 0.1, { reduceOnly: true }))
    .tx('partner', {
      kind: 'withdraw',
      value: { amount: 990_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    })
    .tx('partner', { kind: 'cancelAll', value: { seriesId: 0 } })
    .block();
  // The thin market: one honest offer of one contract at today's mark.
  s.tx('maker', limitOrder(1, 'sell', s.venue.markUsdc(1), 1)).block();
  s.venue.spotUsdc = 78_000;
  for (let i = 0; i < 8; i++) s.block(10_000);
  const pumped = s.venue.markUsdc(1);
  s.fact(`index pumped 60,000 → 78,000; call mark ${mark} → ${pumped} USDC`);
  s.tx('thief', limitOrder(1, 'buy', pumped, 1, { timeInForce: 1 })).block();
  const thief = s.venue.engine.account(s.venue.key('thief'))!;
  s.tx('thief', {
    kind: 'withdraw',
    value: { amount: Number(thief.balance), recipient: new Uint8Array(20), token: new Uint8Array(20) },
  }).block();
  s.tx('partner', {
    kind: 'withdraw',
    value: {
      amount: Number(s.venue.engine.account(s.venue.key('partner'))!.balance),
      recipient: new Uint8Array(20),
      token: new Uint8Array(20),
    },
  }).block();
  return s.finish(
    'the absurd self-trade is refused (band / margin), the stale offer leaves the book out of band, and only cash above initial margin can be withdrawn',
  );
}

/**
 * bZx, February 2020: one transaction moved a thin market's price and borrowed against it. Here
 * everything happens in one block: wash trades at the top of the band meant to lift the mark,
 * then a sale into an honest bid at the "new" mark and a withdrawal — marks come from the index,
 * not from trades, so nothing moves.
 */
export function bzx(context: EconomicContext): Outcome {
  const s = startScenario(
    {
      seed: context.seed,
      params: context.params,
      traders: { thief: 20_000, partner: 20_000, maker: 200_000, idle: 50_000 },
      series: [call60()],
      insuranceFundUsdc: 100_000,
      spotUsdc: 60_000,
    },
    { coalition: ['thief', 'partner'], bystanders: ['idle'] },
  );
  const mark = s.venue.markUsdc(1);
  s.tx('maker', limitOrder(1, 'buy', mark, 1)).block();
  const top = Math.round(mark * 1.5);
  for (let i = 0; i < 5; i++)
    s.tx('partner', limitOrder(1, 'sell', top, 0.5)).tx('thief', limitOrder(1, 'buy', top, 0.5));
  s.tx('thief', limitOrder(1, 'sell', top, 1, { timeInForce: 1 }))
    .tx('thief', {
      kind: 'withdraw',
      value: { amount: 15_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    })
    .block();
  s.fact(
    `mark before ${mark}, after the wash block ${s.venue.markUsdc(1)} USDC (honest ${s.venue.markUsdc(1, s.venue.honest)})`,
  );
  return s.finish(
    'wash trades do not move the index-based mark; the sale into the bid fills at most at fair prices',
  );
}

/**
 * Venus, May 2022 (LUNA): the feed stuck at its floor while LUNA fell, and borrowers used it.
 * Palisade's aggregate has no floor, so the adaptation is sources that stop updating at the old
 * price while the index falls 30%: the attacker buys puts from an honest maker quoting on the
 * stuck mark, and withdraws against a short put the stuck mark keeps solvent.
 */
export function venusLuna(context: EconomicContext): Outcome {
  const s = startScenario(
    {
      seed: context.seed,
      params: context.params,
      traders: { thief: 30_000, maker: 500_000, idle: 50_000 },
      series: [put60()],
      insuranceFundUsdc: 100_000,
      spotUsdc: 60_000,
    },
    { coalition: ['thief'], bystanders: ['idle'] },
  );
  const mark = s.venue.markUsdc(1);
  // The thief sells a put at the fair mark, then the feed sticks and the index falls 30%.
  s.tx('maker', limitOrder(1, 'buy', mark, 1))
    .tx('thief', limitOrder(1, 'sell', mark, 1))
    .block();
  s.venue.feed = { priceTicks: 60_000n * BigInt(USDC), confidenceTicks: 60_000n * 1000n, sourceAgeMs: 0 };
  s.venue.spotUsdc = 42_000;
  let age = 0;
  const flags: number[] = [];
  for (let i = 0; i < 12; i++) {
    age += 10_000;
    s.venue.feed = { ...s.venue.feed, sourceAgeMs: age };
    s.block(10_000);
    flags.push(s.venue.blocks[s.venue.blocks.length - 1]!.aggregate.prices[0]!.flags);
  }
  s.fact(
    `stuck feed: aggregate STALE in ${flags.filter((f) => (f & AggregateFlag.STALE) !== 0).length} of ${flags.length} blocks; engine mark ${s.venue.markUsdc(1)} vs honest ${s.venue.markUsdc(1, s.venue.honest)}`,
  );
  // The maker still offers puts at the stuck mark; the thief buys and withdraws.
  s.tx('maker', limitOrder(1, 'sell', mark, 2))
    .tx('thief', limitOrder(1, 'buy', mark, 2, { timeInForce: 1 }))
    .tx('thief', {
      kind: 'withdraw',
      value: { amount: 25_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    })
    .block(10_000);
  // The feed recovers; the truth arrives.
  s.venue.feed = undefined;
  for (let i = 0; i < 8; i++) s.block(10_000);
  s.tx('maker', { kind: 'cancelAll', value: { seriesId: 0 } }).block();
  return s.finish(
    'a stuck feed goes STALE, marks lapse after the hold, and trades and withdrawals need a mark',
  );
}

/**
 * KiloEx, April 2025 (an oracle whose price the attacker set) and Hyperliquid JELLY, March 2025
 * (a squeeze of an illiquid market through its oracle): here f of 4 validators report the index
 * 3× too high with a tiny confidence, and the attacker, long calls bought fairly, sells into an
 * honest bid at the mark the lie would make and withdraws.
 */
export function oracleSqueeze(context: EconomicContext): Outcome {
  const s = startScenario(
    {
      seed: context.seed,
      params: context.params,
      traders: { thief: 20_000, maker: 500_000, idle: 50_000 },
      series: [call60()],
      insuranceFundUsdc: 100_000,
      spotUsdc: 60_000,
    },
    { coalition: ['thief'], bystanders: ['idle'] },
  );
  const mark = s.venue.markUsdc(1);
  s.tx('maker', limitOrder(1, 'sell', mark, 2))
    .tx('thief', limitOrder(1, 'buy', mark, 2))
    .block();
  s.venue.liars = [(_height, honest) => ({ priceTicks: honest * 3n, confidenceTicks: 1n, sourceAgeMs: 0 })];
  let outside = 0;
  for (let i = 0; i < 10; i++) {
    s.block(2_000);
    const price = s.venue.blocks[s.venue.blocks.length - 1]!.aggregate.prices[0]!.priceTicks;
    if (price > 60_100n * BigInt(USDC) || price < 59_900n * BigInt(USDC)) outside++;
  }
  const lied = Math.round(mark * 20);
  s.fact(`f = 1 of 4 validators reports 3× the index: ${outside} of 10 aggregates left the honest range`);
  s.tx('maker', limitOrder(1, 'buy', s.venue.markUsdc(1), 2))
    .tx('thief', limitOrder(1, 'sell', lied, 2, { timeInForce: 1 }))
    .tx('thief', limitOrder(1, 'sell', s.venue.markUsdc(1), 2, { timeInForce: 1 }))
    .tx('thief', {
      kind: 'withdraw',
      value: { amount: 19_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    })
    .block();
  s.tx('maker', { kind: 'cancelAll', value: { seriesId: 0 } }).block();
  return s.finish(
    'the median of 4 observations ignores one liar; the sale fills within the band around the honest mark',
  );
}

/**
 * Hyperliquid ETH, March 2025: a whale opened a large leveraged position, withdrew its margin and
 * let the liquidation dump the position on the HLP vault at a loss to it. Here the whale is short
 * calls at the edge of its margin, withdraws to initial margin, and its partner rests low offers
 * for the liquidation to buy back into; then the index rises 8%.
 */
export function whaleLiquidation(context: EconomicContext): Outcome {
  const s = startScenario(
    {
      seed: context.seed,
      params: context.params,
      traders: { whale: 60_000, partner: 100_000, maker: 1_000_000, idle: 50_000 },
      series: [call60()],
      insuranceFundUsdc: 100_000,
      spotUsdc: 60_000,
    },
    { coalition: ['whale', 'partner'], bystanders: ['idle'] },
  );
  const mark = s.venue.markUsdc(1);
  s.tx('maker', limitOrder(1, 'buy', mark, 5))
    .tx('whale', limitOrder(1, 'sell', mark, 5))
    .block();
  const margin = s.venue.engine.account(s.venue.key('whale'))!.margin!;
  const spare = margin.equity - margin.initial;
  if (spare > 0n)
    s.tx('whale', {
      kind: 'withdraw',
      value: { amount: Number(spare), recipient: new Uint8Array(20), token: new Uint8Array(20) },
    }).block();
  // The partner offers the calls back far above the mark for the liquidation to buy from.
  s.tx('partner', limitOrder(1, 'sell', Math.round(mark * 3), 5)).block();
  s.venue.spotUsdc = 64_800;
  for (let i = 0; i < 8; i++) s.block(10_000);
  s.tx('partner', { kind: 'cancelAll', value: { seriesId: 0 } }).block();
  s.fact(`whale withdrew ${Number(spare) / USDC} USDC down to initial margin; index 60,000 → 64,800`);
  return s.finish(
    'the liquidation buys back within the liquidation band, the backstop takes the rest at the bankruptcy-capped mark',
  );
}
