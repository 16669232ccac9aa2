/**
 * Circuit breakers per underlying and the call auction that reopens a halted market (issue 15,
 * "Automatic responses"), as pure functions; src/execution/steps/breaker.ts applies them.
 *
 * Band (in the manner of CME Globex's dynamic circuit breakers, which halt a market that moves
 * beyond a band around a reference price and reopen it through a pre-open and an uncrossing): the
 * reference is the rolling low and high of the underlying's valid index samples over the last
 * `breakerWindowMs` (and since the last halt or reopening: a reopened market gets a fresh
 * reference). An accepted index price more than w below the window's high, or more than w above
 * its low, is a breach: price < high × (1 − w) or price > low × (1 + w), i.e. the index moved by
 * more than w within the window, whether in one jump or step by step. The width w follows
 * the EWMA volatility (src/execution/volatility.ts): `breakerVolMultipleBps` standard deviations of
 * a move over the window, σ × √(window / year), and never less than `breakerFloorBps` (a calm EWMA
 * must not narrow the band into halting on noise), never more than `breakerMaxBps`.
 *
 * Halt: a breach halts every series of the underlying for `breakerHaltMs` of block time. During
 * the halt nothing trades: market, IOC and FOK orders get `MARKET_HALTED` (an outcome: the nonce is
 * consumed, the order cannot be replayed after the halt), GTC limit orders rest without matching
 * (the auction's order collection; bands and what-if margin still apply), cancels work, and
 * accounts exposed to the underlying are not liquidated. The index, marks and EWMA keep following
 * the oracle. A halt is not extended by further breaches; the next band starts at the halt.
 *
 * Reopening: at the first block at or after the halt's end, each of the underlying's trading
 * series (ascending id) runs a call auction, then continuous trading resumes. While a series of the
 * underlying has no mark (the index lapsed), the reopening waits: the halt ends on a live index.
 *
 * Call auction (`uncrossingPrice`): the single price p among the resting limit prices that
 * maximises the executable volume min(bids at ≥ p, asks at ≤ p). Ties, in order: the smaller
 * imbalance |bids − asks| at p; then the price closest to the series' mark (the reference); then
 * the lower price. Every auction fill prints at p: bids and asks are matched in price-time priority
 * while the best bid's limit is ≥ p and the best ask's ≤ p. Each fill meets the rules a maker fill
 * meets in continuous trading (price band, position cap, reduce-only capacity, fill-time what-if
 * margin, no self-trade: the older of two orders of one owner leaves the book); an order that fails
 * them leaves the book and the auction goes on. If the book is still crossed afterwards (removals
 * moved the equilibrium), the price is found again on what is left, until it is not. Both sides pay
 * the maker fee (there is no aggressor); the `fill` event names the older order as maker.
 */

export interface BreakerBand {
  low: bigint;
  high: bigint;
  widthBps: number;
}

const BPS = 10_000n;

/**
 * The band width in basis points for an EWMA variance (annualised, fixed point 10^18) over a window.
 * @example breakerWidthBps(25n * 10n ** 16n, 900_000, 40_000, 500, 2_000) // 500 (4σ = 1.07% < floor)
 */
export function breakerWidthBps(
  variance: bigint,
  windowMs: number,
  volMultipleBps: number,
  floorBps: number,
  maxBps: number,
): number {
  // σ over the window in basis points: √(v × window / year) × 10^4, with v in 10^-18 units.
  const scaled = (variance * BigInt(windowMs)) / 31_536_000_000n;
  const sdBps = isqrtBig(scaled * 100_000_000n) / 1_000_000_000n;
  const width = Number((sdBps * BigInt(volMultipleBps)) / BPS);
  return Math.min(Math.max(width, floorBps), maxBps, 9_999);
}

function isqrtBig(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1);
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

/** Whether `price` is more than `widthBps` below the window's high or above its low. */
export function breaches(price: bigint, band: BreakerBand): boolean {
  return (
    price * BPS < band.high * (BPS - BigInt(band.widthBps)) ||
    price * BPS > band.low * (BPS + BigInt(band.widthBps))
  );
}

/** Price levels of one side: [priceTicks, lots]. */
export type Levels = ReadonlyArray<readonly [number, number]>;

export interface Uncrossing {
  priceTicks: number;
  /** Lots executable at the price. */
  volume: number;
  /** Bids at ≥ price minus asks at ≤ price. */
  imbalance: number;
}

/**
 * The call auction's price: maximum executable volume, then least imbalance, then closest to
 * `referenceTicks`, then the lower price. Undefined when the book does not cross.
 * @example uncrossingPrice([[105, 3], [100, 5]], [[98, 4], [103, 2]], 101) // { priceTicks: 100, volume: 4, imbalance: 4 }
 */
export function uncrossingPrice(bids: Levels, asks: Levels, referenceTicks: number): Uncrossing | undefined {
  const prices = [...new Set([...bids.map((l) => l[0]), ...asks.map((l) => l[0])])].sort((a, b) => a - b);
  const bidsUp = [...bids].sort((a, b) => a[0] - b[0]);
  const asksUp = [...asks].sort((a, b) => a[0] - b[0]);
  let demand = bidsUp.reduce((sum, level) => sum + level[1], 0);
  let supply = 0;
  let i = 0;
  let j = 0;
  let best: Uncrossing | undefined;
  // One pass upwards: demand(p) drops the bids below p, supply(p) adds the asks at or below p.
  for (const p of prices) {
    while (i < bidsUp.length && bidsUp[i]![0] < p) demand -= bidsUp[i++]![1];
    while (j < asksUp.length && asksUp[j]![0] <= p) supply += asksUp[j++]![1];
    const volume = Math.min(demand, supply);
    if (volume === 0) continue;
    const candidate = { priceTicks: p, volume, imbalance: demand - supply };
    if (best === undefined || better(candidate, best, referenceTicks)) best = candidate;
  }
  return best;
}

function better(a: Uncrossing, b: Uncrossing, reference: number): boolean {
  if (a.volume !== b.volume) return a.volume > b.volume;
  const ia = Math.abs(a.imbalance);
  const ib = Math.abs(b.imbalance);
  if (ia !== ib) return ia < ib;
  const da = Math.abs(a.priceTicks - reference);
  const db = Math.abs(b.priceTicks - reference);
  if (da !== db) return da < db;
  return a.priceTicks < b.priceTicks;
}
