/**
 * Economic attacks modelled on real incidents, adapted to what Palisade exposes: options on an
 * index the validators aggregate, a price band around the mark, what-if margin, an insurance fund
 * with a backstop account. Each incident is data — its venue (traders and balances, series, fund,
 * index), its roles (the coalition, the bystanders that must not lose) and its script — and one
 * runner plays it: on the engine venue (venue.ts: the engine fed as a validator feeds it), or
 * through the whole-node simulator (network-venue.ts: every transaction sent to the validators'
 * mempools, ordered by consensus, executed by the block rule). Either way it is judged by the
 * fair-value invariant (fair-value.ts) and its bystanders' balances (scenario.ts).
 */
import { btcSeries, limitOrder, USDC } from '../../execution/fixtures.ts';
import { MS_PER_DAY } from '../../execution/margin.ts';
import type { EngineParameters, SeriesConfig } from '../../execution/types.ts';
import { AggregateFlag } from '../../oracle/aggregate.ts';
import { type Outcome, type Scenario, type ScenarioRoles, startScenario, usdc } from './scenario.ts';
import { REDTEAM_START_MS, type VenueOptions } from './venue.ts';

export interface EconomicContext {
  seed: number;
  /** Engine parameters replaced in the venue's genesis (an injected bug, e.g. no price band). */
  params?: Partial<EngineParameters> | undefined;
}

/** One incident: where it happens, who plays which part, what they do, and why it is refused. */
export interface Incident {
  venue: Omit<VenueOptions, 'seed' | 'params'>;
  roles: ScenarioRoles;
  /** The attack, block by block; reads the venue between blocks as an attacker would. */
  script(s: Scenario): Promise<void>;
  /** The summary of a `refused` verdict: what stopped it. */
  refusedBecause: string;
  /** Validators whose observations the script may make lie (`venue.liars`); the network venue runs them as Byzantine. */
  lyingValidators?: number;
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
const mango: Incident = {
  venue: {
    traders: { thief: 10_000, partner: 10_000, maker: 200_000, idle: 50_000 },
    series: [call60()],
    insuranceFundUsdc: 100_000,
    spotUsdc: 60_000,
  },
  roles: { coalition: ['thief', 'partner'], bystanders: ['idle', 'maker'] },
  async script(s) {
    const mark = s.venue.markUsdc(1);
    await s
      .tx('partner', limitOrder(1, 'buy', mark, 0.1))
      .tx('thief', limitOrder(1, 'sell', mark, 0.1))
      .block();
    const absurd = 10_000_000;
    await s
      .tx('partner', limitOrder(1, 'sell', absurd, 0.1))
      .tx('thief', limitOrder(1, 'buy', absurd, 0.1, { reduceOnly: true }))
      .tx('partner', {
        kind: 'withdraw',
        value: { recipient: new Uint8Array(20), token: new Uint8Array(20), amount: 990_000 * USDC },
      })
      .tx('partner', { kind: 'cancelAll', value: { seriesId: 0 } })
      .block();
    // The thin market: one honest offer of one contract at today's mark.
    await s.tx('maker', limitOrder(1, 'sell', s.venue.markUsdc(1), 1)).block();
    s.venue.spotUsdc = 78_000;
    for (let i = 0; i < 8; i++) await s.block(10_000);
    const pumped = s.venue.markUsdc(1);
    s.fact(`index pumped 60,000 → 78,000; call mark ${mark} → ${pumped} USDC`);
    await s.tx('thief', limitOrder(1, 'buy', pumped, 1, { timeInForce: 1 })).block();
    const thief = s.venue.engine.account(s.venue.key('thief'))!;
    await s
      .tx('thief', {
        kind: 'withdraw',
        value: { recipient: new Uint8Array(20), token: new Uint8Array(20), amount: Number(thief.balance) },
      })
      .block();
    await s
      .tx('partner', {
        kind: 'withdraw',
        value: {
          recipient: new Uint8Array(20),
          token: new Uint8Array(20),
          amount: Number(s.venue.engine.account(s.venue.key('partner'))!.balance),
        },
      })
      .block();
  },
  refusedBecause:
    'the absurd self-trade is refused (band / margin), the stale offer leaves the book out of band, and only cash above initial margin can be withdrawn',
};

/**
 * bZx, February 2020: one transaction moved a thin market's price and borrowed against it. Here
 * everything happens in one block: wash trades at the top of the band meant to lift the mark,
 * then a sale into an honest bid at the "new" mark and a withdrawal — marks come from the index,
 * not from trades, so nothing moves.
 */
const bzx: Incident = {
  venue: {
    traders: { thief: 20_000, partner: 20_000, maker: 200_000, idle: 50_000 },
    series: [call60()],
    insuranceFundUsdc: 100_000,
    spotUsdc: 60_000,
  },
  roles: { coalition: ['thief', 'partner'], bystanders: ['idle'] },
  async script(s) {
    const mark = s.venue.markUsdc(1);
    await s.tx('maker', limitOrder(1, 'buy', mark, 1)).block();
    const top = Math.round(mark * 1.5);
    for (let i = 0; i < 5; i++)
      s.tx('partner', limitOrder(1, 'sell', top, 0.5)).tx('thief', limitOrder(1, 'buy', top, 0.5));
    await s
      .tx('thief', limitOrder(1, 'sell', top, 1, { timeInForce: 1 }))
      .tx('thief', {
        kind: 'withdraw',
        value: { recipient: new Uint8Array(20), token: new Uint8Array(20), amount: 15_000 * USDC },
      })
      .block();
    s.fact(
      `mark before ${mark}, after the wash block ${s.venue.markUsdc(1)} USDC (honest ${s.venue.markUsdc(1, s.venue.honest)})`,
    );
  },
  refusedBecause:
    'wash trades do not move the index-based mark; the sale into the bid fills at most at fair prices',
};

/**
 * Venus, May 2022 (LUNA): the feed stuck at its floor while LUNA fell, and borrowers used it.
 * Palisade's aggregate has no floor, so the adaptation is sources that stop updating at the old
 * price while the index falls 30%: the attacker buys puts from an honest maker quoting on the
 * stuck mark, and withdraws against a short put the stuck mark keeps solvent.
 */
const venusLuna: Incident = {
  venue: {
    traders: { thief: 30_000, maker: 500_000, idle: 50_000 },
    series: [put60()],
    insuranceFundUsdc: 100_000,
    spotUsdc: 60_000,
  },
  roles: { coalition: ['thief'], bystanders: ['idle'] },
  async script(s) {
    const mark = s.venue.markUsdc(1);
    // The thief sells a put at the fair mark, then the feed sticks and the index falls 30%.
    await s
      .tx('maker', limitOrder(1, 'buy', mark, 1))
      .tx('thief', limitOrder(1, 'sell', mark, 1))
      .block();
    s.venue.feed = { priceTicks: 60_000n * BigInt(USDC), confidenceTicks: 60_000n * 1000n, sourceAgeMs: 0 };
    s.venue.spotUsdc = 42_000;
    let age = 0;
    const flags: number[] = [];
    for (let i = 0; i < 12; i++) {
      age += 10_000;
      s.venue.feed = { ...s.venue.feed, sourceAgeMs: age };
      await s.block(10_000);
      flags.push(s.venue.blocks[s.venue.blocks.length - 1]!.aggregate.prices[0]!.flags);
    }
    s.fact(
      `stuck feed: aggregate STALE in ${flags.filter((f) => (f & AggregateFlag.STALE) !== 0).length} of ${flags.length} blocks; engine mark ${s.venue.markUsdc(1)} vs honest ${s.venue.markUsdc(1, s.venue.honest)}`,
    );
    // The maker still offers puts at the stuck mark; the thief buys and withdraws.
    await s
      .tx('maker', limitOrder(1, 'sell', mark, 2))
      .tx('thief', limitOrder(1, 'buy', mark, 2, { timeInForce: 1 }))
      .tx('thief', {
        kind: 'withdraw',
        value: { recipient: new Uint8Array(20), token: new Uint8Array(20), amount: 25_000 * USDC },
      })
      .block(10_000);
    // The feed recovers; the truth arrives.
    s.venue.feed = undefined;
    for (let i = 0; i < 8; i++) await s.block(10_000);
    await s.tx('maker', { kind: 'cancelAll', value: { seriesId: 0 } }).block();
  },
  refusedBecause:
    'a stuck feed goes STALE, marks lapse after the hold, and trades and withdrawals need a mark',
};

/**
 * KiloEx, April 2025 (an oracle whose price the attacker set) and Hyperliquid JELLY, March 2025
 * (a squeeze of an illiquid market through its oracle): here f of 4 validators report the index
 * 3× too high with a tiny confidence, and the attacker, long calls bought fairly, sells into an
 * honest bid at the mark the lie would make and withdraws.
 */
const oracleSqueeze: Incident = {
  venue: {
    traders: { thief: 20_000, maker: 500_000, idle: 50_000 },
    series: [call60()],
    insuranceFundUsdc: 100_000,
    spotUsdc: 60_000,
  },
  roles: { coalition: ['thief'], bystanders: ['idle'] },
  async script(s) {
    const mark = s.venue.markUsdc(1);
    await s
      .tx('maker', limitOrder(1, 'sell', mark, 2))
      .tx('thief', limitOrder(1, 'buy', mark, 2))
      .block();
    s.venue.liars = [(_height, honest) => ({ priceTicks: honest * 3n, confidenceTicks: 1n, sourceAgeMs: 0 })];
    let outside = 0;
    for (let i = 0; i < 10; i++) {
      await s.block(2_000);
      const price = s.venue.blocks[s.venue.blocks.length - 1]!.aggregate.prices[0]!.priceTicks;
      if (price > 60_100n * BigInt(USDC) || price < 59_900n * BigInt(USDC)) outside++;
    }
    const lied = Math.round(mark * 20);
    s.fact(`f = 1 of 4 validators reports 3× the index: ${outside} of 10 aggregates left the honest range`);
    await s
      .tx('maker', limitOrder(1, 'buy', s.venue.markUsdc(1), 2))
      .tx('thief', limitOrder(1, 'sell', lied, 2, { timeInForce: 1 }))
      .tx('thief', limitOrder(1, 'sell', s.venue.markUsdc(1), 2, { timeInForce: 1 }))
      .tx('thief', {
        kind: 'withdraw',
        value: { recipient: new Uint8Array(20), token: new Uint8Array(20), amount: 19_000 * USDC },
      })
      .block();
    await s.tx('maker', { kind: 'cancelAll', value: { seriesId: 0 } }).block();
  },
  refusedBecause:
    'the median of 4 observations ignores one liar; the sale fills within the band around the honest mark',
  lyingValidators: 1,
};

/**
 * Hyperliquid ETH, March 2025: a whale opened a large leveraged position, withdrew its margin and
 * let the liquidation dump the position on the HLP vault at a loss to it. Here the whale is short
 * calls at the edge of its margin, withdraws to initial margin, and its partner rests low offers
 * for the liquidation to buy back into; then the index rises 8%.
 */
const whaleLiquidation: Incident = {
  venue: {
    traders: { whale: 60_000, partner: 100_000, maker: 1_000_000, idle: 50_000 },
    series: [call60()],
    insuranceFundUsdc: 100_000,
    spotUsdc: 60_000,
  },
  roles: { coalition: ['whale', 'partner'], bystanders: ['idle'] },
  async script(s) {
    const mark = s.venue.markUsdc(1);
    await s
      .tx('maker', limitOrder(1, 'buy', mark, 5))
      .tx('whale', limitOrder(1, 'sell', mark, 5))
      .block();
    const margin = s.venue.engine.account(s.venue.key('whale'))!.margin!;
    const spare = margin.equity - margin.initial;
    if (spare > 0n)
      await s
        .tx('whale', {
          kind: 'withdraw',
          value: { recipient: new Uint8Array(20), token: new Uint8Array(20), amount: Number(spare) },
        })
        .block();
    // The partner offers the calls back far above the mark for the liquidation to buy from.
    await s.tx('partner', limitOrder(1, 'sell', Math.round(mark * 3), 5)).block();
    s.venue.spotUsdc = 64_800;
    for (let i = 0; i < 8; i++) await s.block(10_000);
    await s.tx('partner', { kind: 'cancelAll', value: { seriesId: 0 } }).block();
    s.fact(`whale withdrew ${Number(spare) / USDC} USDC down to initial margin; index 60,000 → 64,800`);
  },
  refusedBecause:
    'the liquidation buys back within the liquidation band, the backstop takes the rest at the bankruptcy-capped mark',
};

/**
 * Issue 9: margin checked per order but spent by many at once. A thin account rests ten call
 * offers, each affordable alone; its partner lifts them all in one block; the index then rises.
 */
const manyRestingSells: Incident = {
  venue: {
    traders: { thin: 2_500, partner: 200_000, idle: 50_000 },
    series: [call60()],
    insuranceFundUsdc: 100_000,
    spotUsdc: 60_000,
  },
  roles: { coalition: ['thin', 'partner'], bystanders: ['idle'] },
  async script(s) {
    const mark = s.venue.markUsdc(1);
    for (let i = 0; i < 10; i++) s.tx('thin', limitOrder(1, 'sell', mark, 0.1));
    await s.block();
    await s.tx('partner', limitOrder(1, 'buy', mark, 1, { timeInForce: 1 })).block();
    s.venue.spotUsdc = 66_000;
    for (let i = 0; i < 6; i++) await s.block(10_000);
    await s
      .tx('partner', {
        kind: 'withdraw',
        value: {
          recipient: new Uint8Array(20),
          token: new Uint8Array(20),
          amount: Number(s.venue.engine.account(s.venue.key('partner'))!.balance / 2n),
        },
      })
      .block();
    const thin = s.venue.engine.account(s.venue.key('thin'))!;
    s.fact(
      `thin account after the rise: balance ${usdc(thin.balance)}, positions ${JSON.stringify(thin.positions)}`,
    );
  },
  refusedBecause:
    'each fill of a resting order is margin-checked when it fills: the fills beyond what the account carries do not happen',
};

/** The incidents by catalogue id. */
export const INCIDENTS: Readonly<Record<string, Incident>> = Object.freeze({
  'mango-2022': mango,
  'bzx-2020': bzx,
  'venus-luna-2022': venusLuna,
  'kiloex-jelly-2025': oracleSqueeze,
  'hyperliquid-eth-2025': whaleLiquidation,
  'issue9-many-resting-sells': manyRestingSells,
});

/** Plays an incident on the engine venue. */
export async function runIncident(incident: Incident, context: EconomicContext): Promise<Outcome> {
  const s = startScenario({ ...incident.venue, seed: context.seed, params: context.params }, incident.roles);
  await incident.script(s);
  return s.finish(incident.refusedBecause);
}
