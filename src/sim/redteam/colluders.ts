/**
 * `colluders`: traders that search for value extraction rather than follow a script. Three
 * colluding accounts, an honest market maker re-quoting around the mark every block, an idle
 * bystander and the insurance fund share a red-team venue (venue.ts). The colluders' moves are
 * drawn from an alphabet of what the venue lets a trader do — self-trades at extreme prices,
 * reduce-only orders at extreme prices, taking the maker's quotes, withdrawals, cancels — and
 * from what the world may do meanwhile (the index moving up to 30%, time running to an expiry);
 * their transactions go first in each block, ahead of the maker's re-quote, as a colluding
 * proposer would order them.
 *
 * Search: `random` sequences, then a `greedy` one built move by move, each move the candidate that
 * maximises the reward so far. Reward is what the coalition can withdraw: withdrawn plus, per
 * account, min(balance, equity − initial margin), minus deposits. The entry is judged by the
 * fair-value invariant (fair-value.ts) at the end of every sequence tried, and reports the best
 * reward found and the worst excess: `succeeded` if any sequence extracted beyond fair pay or
 * cost the bystander.
 */
import type { ExecutionAction } from '../../codec/execution.ts';
import { btcSeries, limitOrder } from '../../execution/fixtures.ts';
import { MS_PER_DAY } from '../../execution/margin.ts';
import type { EngineParameters } from '../../execution/types.ts';
import { createSimRng, type SimRng } from '../../runtime/sim/rng.ts';
import { FairValueLedger } from './fair-value.ts';
import { type Evidence, type Outcome, usdc } from './scenario.ts';
import { createVenue, REDTEAM_START_MS, type Venue } from './venue.ts';

const COLLUDERS = ['c0', 'c1', 'c2'] as const;
const SERIES = [
  btcSeries(true, 60_000, REDTEAM_START_MS + 7 * MS_PER_DAY),
  btcSeries(false, 60_000, REDTEAM_START_MS + 7 * MS_PER_DAY),
  // Expires two hours in: the expiry-time games.
  btcSeries(true, 60_000, REDTEAM_START_MS + 2 * 3_600_000),
];
const PRICE_FACTORS = [0.001, 0.5, 1, 1.5, 3, 1000] as const;
const SIZES = [0.1, 1, 5] as const;
const INDEX_MOVES = [-0.3, -0.1, -0.03, 0.03, 0.1, 0.3] as const;

export type Move =
  | { kind: 'self'; seller: number; buyer: number; series: number; factor: number; size: number }
  | { kind: 'reduce'; who: number; series: number; side: 'buy' | 'sell'; factor: number; size: number }
  | { kind: 'take'; who: number; series: number; side: 'buy' | 'sell'; size: number }
  | { kind: 'withdraw'; who: number; fraction: number }
  | { kind: 'cancel'; who: number }
  | { kind: 'index'; move: number }
  | { kind: 'expiry' };

function drawMove(rng: SimRng): Move {
  const who = () => rng.nextInt(COLLUDERS.length);
  const pick = <T>(list: readonly T[]) => list[rng.nextInt(list.length)]!;
  const series = 1 + rng.nextInt(SERIES.length);
  switch (rng.nextInt(7)) {
    case 0:
    case 1: {
      const seller = who();
      return {
        kind: 'self',
        seller,
        buyer: (seller + 1 + rng.nextInt(2)) % 3,
        series,
        factor: pick(PRICE_FACTORS),
        size: pick(SIZES),
      };
    }
    case 2:
      return {
        kind: 'reduce',
        who: who(),
        series,
        side: rng.nextInt(2) === 0 ? 'buy' : 'sell',
        factor: pick(PRICE_FACTORS),
        size: pick(SIZES),
      };
    case 3:
      return {
        kind: 'take',
        who: who(),
        series,
        side: rng.nextInt(2) === 0 ? 'buy' : 'sell',
        size: pick(SIZES),
      };
    case 4:
      return { kind: 'withdraw', who: who(), fraction: pick([0.25, 0.5, 0.9, 1]) };
    case 5:
      return rng.nextInt(3) === 0 ? { kind: 'expiry' } : { kind: 'cancel', who: who() };
    default:
      return { kind: 'index', move: pick(INDEX_MOVES) };
  }
}

export function describeMove(move: Move): string {
  switch (move.kind) {
    case 'self':
      return `c${move.seller} sells ${move.size} of series ${move.series} to c${move.buyer} at ${move.factor}× the mark`;
    case 'reduce':
      return `c${move.who} ${move.side}s ${move.size} of series ${move.series} reduce-only at ${move.factor}× the mark`;
    case 'take':
      return `c${move.who} ${move.side}s ${move.size} of series ${move.series} from the maker`;
    case 'withdraw':
      return `c${move.who} withdraws ${move.fraction * 100}% of its balance`;
    case 'cancel':
      return `c${move.who} cancels all`;
    case 'index':
      return `the index moves ${move.move * 100}%`;
    case 'expiry':
      return 'time runs to a minute before the 2-hour expiry, or past it';
  }
}

interface Played {
  reward: bigint;
  excess: bigint;
  bystanderLoss: bigint;
  statuses: string[];
  balancesBefore: Record<string, string>;
  balancesAfter: Record<string, string>;
}

/** Plays `moves` on a fresh venue; deterministic in (seed, moves, params). */
function play(seed: number, moves: readonly Move[], params: Partial<EngineParameters> | undefined): Played {
  const venue = createVenue({
    seed,
    params,
    traders: { c0: 20_000, c1: 20_000, c2: 20_000, maker: 2_000_000, idle: 50_000 },
    series: SERIES,
    insuranceFundUsdc: 200_000,
    spotUsdc: 60_000,
  });
  const ledger = new FairValueLedger(
    COLLUDERS.map((label) => venue.key(label)),
    venue.engine,
  );
  const idleBefore = venue.engine.account(venue.key('idle'))!.balance;
  const labels = [...COLLUDERS, 'maker', 'idle'];
  const balances = () =>
    Object.fromEntries(
      labels.map((label) => [label, usdc(venue.engine.account(venue.key(label))?.balance ?? 0n)]),
    );
  const balancesBefore = balances();
  const statuses: string[] = [];
  const step = (advanceMs: number, label: string, actions: [string, ExecutionAction][]) => {
    for (const [who, action] of actions) venue.tx(who, action);
    requote(venue);
    const result = venue.block(advanceMs);
    const last = venue.blocks[venue.blocks.length - 1]!;
    ledger.block(result, last.honest, venue.engine, venue.honest);
    const mine = result.results.slice(0, actions.length).map((r) => r.status);
    statuses.push(`h${result.height} ${label} → ${mine.join(', ') || 'no transaction'}`);
  };
  requote(venue);
  venue.block();
  for (const move of moves) {
    const label = describeMove(move);
    const mark = (series: number) => venue.markUsdc(series);
    const tick = 5;
    const at = (series: number, factor: number) =>
      Math.max(tick, Math.round((mark(series) * factor) / tick) * tick);
    switch (move.kind) {
      case 'self':
        step(1000, label, [
          [`c${move.seller}`, limitOrder(move.series, 'sell', at(move.series, move.factor), move.size)],
          [
            `c${move.buyer}`,
            limitOrder(move.series, 'buy', at(move.series, move.factor), move.size, { timeInForce: 1 }),
          ],
          [`c${move.seller}`, { kind: 'cancelAll', value: { seriesId: 0 } }],
        ]);
        break;
      case 'reduce':
        step(1000, label, [
          [
            `c${move.who}`,
            limitOrder(move.series, move.side, at(move.series, move.factor), move.size, { reduceOnly: true }),
          ],
        ]);
        break;
      case 'take': {
        const price = move.side === 'buy' ? at(move.series, 1.5) : at(move.series, 0.5);
        step(1000, label, [
          [`c${move.who}`, limitOrder(move.series, move.side, price, move.size, { timeInForce: 1 })],
        ]);
        break;
      }
      case 'withdraw': {
        const balance = venue.engine.account(venue.key(`c${move.who}`))?.balance ?? 0n;
        const amount = Number((balance * BigInt(Math.round(move.fraction * 100))) / 100n);
        step(
          1000,
          label,
          amount > 0
            ? [
                [
                  `c${move.who}`,
                  {
                    kind: 'withdraw',
                    value: { amount, recipient: new Uint8Array(20), token: new Uint8Array(20) },
                  },
                ],
              ]
            : [],
        );
        break;
      }
      case 'cancel':
        step(1000, label, [[`c${move.who}`, { kind: 'cancelAll', value: { seriesId: 0 } }]]);
        break;
      case 'index':
        venue.spotUsdc = Math.round(venue.spotUsdc * (1 + move.move));
        step(10_000, label, []);
        break;
      case 'expiry': {
        const expiry = SERIES[2]!.expiryMs;
        const target =
          venue.engine.timeMs < expiry - 60_000 ? expiry - 60_000 : venue.engine.timeMs + 31 * 60_000;
        step(Math.max(1000, target - venue.engine.timeMs), label, []);
        break;
      }
    }
  }
  // Let the guards and the settlement window run out, then count what can be withdrawn.
  for (let i = 0; i < 4; i++) step(30_000, 'time passes', []);
  let reward = -ledger.report(venue.engine, venue.honest).deposits;
  reward += ledger.report(venue.engine, venue.honest).withdrawn;
  for (const label of COLLUDERS) {
    const account = venue.engine.account(venue.key(label));
    if (account?.margin === undefined) continue;
    const free = account.margin.equity - account.margin.initial;
    const can = free < account.balance ? free : account.balance;
    if (can > 0n) reward += can;
  }
  const idleAfter = venue.engine.account(venue.key('idle'))!.balance;
  return {
    reward,
    excess: ledger.report(venue.engine, venue.honest).excess,
    bystanderLoss: idleBefore > idleAfter ? idleBefore - idleAfter : 0n,
    statuses,
    balancesBefore,
    balancesAfter: balances(),
  };
}

/** The maker cancels and quotes each series 2 ticks either side of the mark, 2 contracts. */
function requote(venue: Venue): void {
  venue.tx('maker', { kind: 'cancelAll', value: { seriesId: 0 } });
  for (const [index] of SERIES.entries()) {
    const seriesId = index + 1;
    const view = venue.engine.series().find((entry) => entry.seriesId === seriesId);
    if (view?.status !== 'active' || view.markPrice === undefined) continue;
    const mark = venue.markUsdc(seriesId);
    if (mark > 10) venue.tx('maker', limitOrder(seriesId, 'buy', mark - 10, 2));
    venue.tx('maker', limitOrder(seriesId, 'sell', mark + 10, 2));
  }
}

export interface SearchBudget {
  random: number;
  length: number;
  greedySteps: number;
  candidates: number;
}

export const CI_SEARCH: SearchBudget = Object.freeze({ random: 8, length: 6, greedySteps: 3, candidates: 6 });

/** The colluders' search on one seed. */
export function colluders(context: {
  seed: number;
  params?: Partial<EngineParameters> | undefined;
  budget?: SearchBudget;
}): Outcome {
  const budget = context.budget ?? CI_SEARCH;
  const rng = createSimRng(context.seed * 7919 + 17);
  let tried = 0;
  let best: { moves: Move[]; played: Played } | undefined;
  let worst: { moves: Move[]; played: Played } | undefined;
  const consider = (moves: Move[]) => {
    const played = play(context.seed, moves, context.params);
    tried++;
    if (best === undefined || played.reward > best.played.reward) best = { moves, played };
    const damage = (p: Played) => (p.excess > 0n ? p.excess : 0n) + p.bystanderLoss;
    if (worst === undefined || damage(played) > damage(worst.played)) worst = { moves, played };
    return played;
  };
  for (let i = 0; i < budget.random; i++)
    consider(Array.from({ length: budget.length }, () => drawMove(rng)));
  let greedy: Move[] = [];
  for (let stepIndex = 0; stepIndex < budget.greedySteps; stepIndex++) {
    let chosen: { moves: Move[]; reward: bigint } | undefined;
    for (let c = 0; c < budget.candidates; c++) {
      const moves = [...greedy, drawMove(rng)];
      const played = consider(moves);
      if (chosen === undefined || played.reward > chosen.reward) chosen = { moves, reward: played.reward };
    }
    greedy = chosen!.moves;
  }
  const damaged = worst!.played.excess > 0n || worst!.played.bystanderLoss > 0n;
  const loss = (worst!.played.excess > 0n ? worst!.played.excess : 0n) + worst!.played.bystanderLoss;
  const shown = damaged ? worst! : best!;
  const evidence: Evidence = {
    statuses: shown.played.statuses,
    events: {},
    notable: [],
    balancesBefore: shown.played.balancesBefore,
    balancesAfter: shown.played.balancesAfter,
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts: [
      `${tried} sequences tried (${budget.random} random of ${budget.length} moves, greedy ${budget.greedySteps} moves × ${budget.candidates} candidates)`,
      `best reward (withdrawable beyond deposits): ${usdc(best!.played.reward)} USDC by ${best!.moves.map(describeMove).join('; ')}`,
      `largest excess over fair pay: ${usdc(worst!.played.excess)} USDC; bystander loss ${usdc(worst!.played.bystanderLoss)}`,
      `shown: the ${damaged ? 'damaging' : 'best'} sequence: ${shown.moves.map(describeMove).join('; ')}`,
    ],
  };
  return {
    verdict: damaged ? 'succeeded' : 'refused',
    loss,
    summary: damaged
      ? `a searched sequence extracted ${usdc(loss)} USDC beyond fair pay`
      : `${tried} searched sequences: the best withdraws ${usdc(best!.played.reward)} USDC beyond deposits, none beyond fair pay`,
    evidence,
  };
}
