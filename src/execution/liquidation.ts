/**
 * Liquidation rules, as pure functions over explicit arguments (the engine's `liquidate` step
 * applies them; see engine.ts, block step 4).
 *
 * An account below maintenance margin has its open orders cancelled, then is closed one step
 * (`liquidationStepLots`) at a time, margin looked at again after every step, until it is back
 * at or above maintenance:
 * - Order: positions are ranked once per account and block by how much closing one step lowers
 *   the maintenance requirement per unit of value closed (`closureOrder`): shorts before the longs
 *   that hedge them. A position whose step lowers nothing (a long in standard margin) comes only
 *   after every position that does, so a long carrying no requirement is never sold while a short
 *   remains; among those, shorts still come before longs.
 * - Where a step goes, while the account's equity at the mark is not negative: into the book
 *   within `liquidationBandBps` of the mark and never past the bankruptcy price (the price that
 *   would leave the account's equity at zero: a worse fill only grows a deficit); if the book
 *   fills nothing, the insurance fund's backstop account takes the step at the mark moved
 *   `backstopBandBps` against the account (again never past the bankruptcy price), if the fund
 *   can carry it: after taking it, the backstop account's equity plus the insurance fund must
 *   cover its initial margin (it takes the largest of step, step / 2, step / 4, … lots it can
 *   carry). Otherwise the step is auto-deleveraged.
 * - A bankrupt account (equity at the mark below zero) is covered first by the insurance fund, up
 *   to what it holds; the deficit left is then passed, with its positions, to the holders of the
 *   opposite positions: auto-deleveraging (ADL) at the bankruptcy price. Each ADL trade closes
 *   lots of both sides at the mark, less the counterparty's share of the deficit, pro rata to the
 *   lots closed out of all the account's lots (the last lots take what is left), and never more
 *   than the counterparty's own equity. Counterparties are ranked by the unrealized profit of their
 *   opposite position in the series (its value at the mark less its entry cost: the premium paid
 *   for it, negative when received, which the engine keeps per position through every fill,
 *   backstop take, ADL trade and settlement) divided by the counterparty's equity, highest first,
 *   then account index (`deleverageOrder`). Profit for equity is the rank Hyperliquid and dYdX v4
 *   use (profit × effective leverage, which for one position is profit ÷ equity up to the
 *   position's size): the positions that gained most from the move, for the collateral behind them,
 *   give back first. Ranking by absolute free equity instead let a colluding pair steer ADL: the
 *   thief's partner, small and highly leveraged, kept its winning long while a large honest holder
 *   of the same long was closed at the bankruptcy price (src/execution/redteam-adl.test.ts).
 *   A counterparty whose equity is zero, negative or cannot be assessed ranks last. A deficit no
 *   counterparty can bear stays on the account and, once it is flat, is recorded as unrecovered
 *   loss (losses step). No account that holds no position ever pays.
 * - The penalty of a book step is `liquidationPenaltyBps` of the underlying's notional closed,
 *   capped by the value closed (the premium that changed hands) and by the equity left; it goes
 *   to the insurance fund. The backstop's band is its compensation; ADL takes no penalty.
 */
import type { Fixed } from '../std/fixed.ts';

export interface ClosureCandidate {
  seriesId: number;
  /** The account's signed position. */
  lots: number;
  /** Lots the next step would close. */
  stepLots: number;
  /** Maintenance requirement the step removes (fixed point; may be negative). */
  reduction: Fixed;
  /** Value the step closes at the mark (fixed point, ≥ 0). */
  value: Fixed;
}

/**
 * Positions in the order liquidation closes them: positive reduction first, by reduction per
 * value closed, highest first (a step that closes no value but lowers the requirement first of
 * all); then shorts before longs, by reduction, highest first; ties by series id.
 */
export function closureOrder(candidates: readonly ClosureCandidate[]): ClosureCandidate[] {
  return [...candidates].sort((a, b) => {
    const aHelps = a.reduction > 0n;
    const bHelps = b.reduction > 0n;
    if (aHelps !== bHelps) return aHelps ? -1 : 1;
    if (aHelps) {
      // a.reduction / a.value against b.reduction / b.value, cross-multiplied (values ≥ 0).
      const left = a.reduction * b.value;
      const right = b.reduction * a.value;
      if (left !== right) return left > right ? -1 : 1;
    } else {
      if (a.lots < 0 !== b.lots < 0) return a.lots < 0 ? -1 : 1;
      if (a.reduction !== b.reduction) return a.reduction > b.reduction ? -1 : 1;
    }
    return a.seriesId - b.seriesId;
  });
}

export interface RequirementInput {
  seriesId: number;
  underlyingId: number;
  lots: number;
  stepLots: number;
  /** Standard maintenance per short lot (fixed point). */
  standardMaintenance: Fixed;
  /** Portfolio mode only: the series' scenario PnL per lot and contingency per short lot. */
  scenarioPnl?: readonly Fixed[];
  contingency?: Fixed;
}

/**
 * What one step on each position removes from the maintenance requirement. Standard margin is
 * additive: a short's step removes its lots' maintenance, a long's nothing. Portfolio margin is
 * the worst scenario loss per underlying plus the contingency on shorts; a step changes one
 * underlying's scenario vector by the lots closed, so each candidate costs one pass over its grid.
 */
export function stepReductions(portfolio: boolean, positions: readonly RequirementInput[]): Fixed[] {
  if (!portfolio) return positions.map((p) => (p.lots < 0 ? BigInt(p.stepLots) * p.standardMaintenance : 0n));
  const totals = new Map<number, Fixed[]>();
  for (const p of positions) {
    const pnl = p.scenarioPnl ?? [];
    let total = totals.get(p.underlyingId);
    if (total === undefined) {
      total = pnl.map(() => 0n);
      totals.set(p.underlyingId, total);
    }
    for (let s = 0; s < total.length; s++) total[s]! += BigInt(p.lots) * (pnl[s] ?? 0n);
  }
  const worstOf = (vector: readonly Fixed[]) => vector.reduce((worst, x) => (x < worst ? x : worst), 0n);
  return positions.map((p) => {
    const total = totals.get(p.underlyingId)!;
    const pnl = p.scenarioPnl ?? [];
    // Closing moves the position toward zero by stepLots: +stepLots for a short, −stepLots for a long.
    const delta = BigInt(p.lots < 0 ? p.stepLots : -p.stepLots);
    let worstAfter = 0n;
    for (let s = 0; s < total.length; s++) {
      const x = total[s]! + delta * (pnl[s] ?? 0n);
      if (x < worstAfter) worstAfter = x;
    }
    const contingency = p.lots < 0 ? BigInt(p.stepLots) * (p.contingency ?? 0n) : 0n;
    return worstAfter - worstOf(total) + contingency;
  });
}

/**
 * The worst limit, in ticks, at which closing `lots` leaves the account's equity at or above
 * zero: a buy pays at most mark + equity / lots, a sell receives at least mark − equity / lots.
 */
export function bankruptcyLimitTicks(
  buying: boolean,
  lots: number,
  equity: bigint,
  markPerLot: Fixed,
  lotValuePerTick: bigint,
  one: bigint,
): number {
  const perTick = BigInt(lots) * lotValuePerTick * one;
  const markTotal = BigInt(lots) * markPerLot;
  if (buying) {
    const limit = (markTotal + equity * one) / perTick;
    return limit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(limit);
  }
  const floorValue = markTotal - equity * one;
  if (floorValue <= 0n) return 1;
  const limit = (floorValue + perTick - 1n) / perTick;
  return limit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Math.max(Number(limit), 1);
}

/** The penalty of a book step: the notional rate, capped by the value closed and the equity left. */
export function cappedPenalty(notionalPenalty: bigint, valueClosed: bigint, equityLeft: bigint): bigint {
  let penalty = notionalPenalty < valueClosed ? notionalPenalty : valueClosed;
  if (equityLeft < penalty) penalty = equityLeft;
  return penalty > 0n ? penalty : 0n;
}

export interface DeleverageCounterparty {
  index: number;
  /** The counterparty's opposite position, as a positive lot count. */
  lots: number;
  /** Unrealized profit of that position: its value at the mark less its entry cost (base units). */
  profit: bigint;
  /** The counterparty's equity (what it can bear of a deficit), or undefined when it cannot be assessed. */
  equity: bigint | undefined;
}

/**
 * Counterparties in ADL order: profit ÷ equity, highest first, then account index; those whose
 * equity is not positive (or unknown) last, by account index. Ratios are compared by
 * cross-multiplication, so the order is exact.
 */
export function deleverageOrder<T extends DeleverageCounterparty>(counterparties: readonly T[]): T[] {
  return [...counterparties].sort((a, b) => {
    const aRanked = a.equity !== undefined && a.equity > 0n;
    const bRanked = b.equity !== undefined && b.equity > 0n;
    if (aRanked !== bRanked) return aRanked ? -1 : 1;
    if (aRanked && bRanked) {
      const left = a.profit * (b.equity as bigint);
      const right = b.profit * (a.equity as bigint);
      if (left !== right) return left > right ? -1 : 1;
    }
    return a.index - b.index;
  });
}

/**
 * The counterparty's share of a deficit for an ADL trade of `lots` out of `accountLots`: pro rata
 * (rounded up), all that is left on the account's last lots, never more than `bearable`.
 */
export function deficitShare(deficit: bigint, lots: number, accountLots: number, bearable: bigint): bigint {
  if (deficit <= 0n || bearable <= 0n) return 0n;
  let share =
    lots >= accountLots ? deficit : (deficit * BigInt(lots) + BigInt(accountLots) - 1n) / BigInt(accountLots);
  if (share > deficit) share = deficit;
  return share < bearable ? share : bearable;
}
