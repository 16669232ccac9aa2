/**
 * Pre-trade risk, as pure functions the engine applies (issue 9): price bands around the mark, the
 * what-if margin rule, and the bound on governance's volatility changes.
 *
 * Price band. A series' band is [mark − w, mark + w] in ticks, w = max(mark × `priceBandBps`,
 * `priceBandMinTicks`), the low edge at least one tick. The percentage follows the mark (Deribit and
 * CME band option limits around a reference price); the minimum keeps options worth a few ticks
 * tradable. A limit order outside the band is refused with `PRICE_OUT_OF_BAND`, an outcome (the
 * nonce is consumed): the band moves with the mark, and a refused order must not become valid when
 * a validator replays it later. At match time the taker's limit is clamped to the band, and a maker
 * met outside the band (its price went stale as the mark moved) leaves the book with reason
 * `outOfBand` instead of filling: no fill ever prints outside the band of its block.
 *
 * What-if margin. Every order, reducing ones included, is checked against the account as it would
 * be after the order: the premium paid or received at the (clamped) limit, a fee bound of
 * `feeCapBps` of that premium (no fee can exceed it), the position after the fill, and every open
 * order's reserve (src/execution/engine.ts `assess`; portfolio accounts use the portfolio
 * requirement after the trade, per underlying). Two end states are checked: the order fully
 * resting (its reserve counted; only for orders that can rest) and the order fully filled at its
 * limit. Equity is linear in the filled fraction and the requirement convex (a maximum over
 * scenarios plus linear terms), so equity − requirement is concave in the fraction: if both ends
 * pass, every partial fill passes. Better prices than the limit only help. The order passes when
 *
 *   (a) at both ends equity ≥ initial requirement (the fee bound counted), or
 *   (b) it de-risks: filled, the maintenance requirement is strictly lower than now, and equity −
 *       maintenance is not lower than now (resting, it leaves both unchanged).
 *
 * Rule (b) lets an account under initial margin (even under maintenance) buy back a short or sell
 * a hedge away at a sane price; a "reduction" at an absurd price lowers equity by more than it
 * removes from the requirement and fails it. Either way the account is not brought closer to
 * liquidation by its own order, so an order that passes cannot get its account liquidated in the
 * same block unless it already was liquidatable.
 *
 * The same rule runs again when a resting order fills as maker (the position may have changed
 * since it rested: a reducing sell may now open a short); a maker that fails it leaves the book
 * with reason `insufficientMargin`, as does one whose fill would open a position beyond
 * `maxPositionsPerAccount` (`tooManyPositions`).
 *
 * Volatility bound. `SetMarkVol` moves a series' volatility by at most `maxVolChangeBpsPerHour` ×
 * min(elapsed, 1 hour) / 1 hour, elapsed being the block time since the series' previous
 * `SetMarkVol` (a series never set has the full hour). A larger request is clamped and the
 * `markVolSet` event shows the applied value beside the requested one. Over any hour governance can
 * thus move a series by at most twice the bound, and one action by at most the bound.
 */

export const MS_PER_HOUR = 3_600_000;

export interface PriceBand {
  lowTicks: number;
  highTicks: number;
}

/**
 * The band around a mark of `markTicks`.
 * @example priceBand(100, 5000, 10) // { lowTicks: 50, highTicks: 150 }
 */
export function priceBand(markTicks: number, bandBps: number, minTicks: number): PriceBand {
  // markTicks < 2^53 and bandBps < 2^32: the product can exceed 2^53, so it is done in bigint.
  const width = Math.max(Number((BigInt(markTicks) * BigInt(bandBps)) / 10_000n), minTicks);
  return { lowTicks: Math.max(markTicks - width, 1), highTicks: markTicks + width };
}

export function inBand(priceTicks: number, band: PriceBand): boolean {
  return priceTicks >= band.lowTicks && priceTicks <= band.highTicks;
}

/** A taker's limit clamped to the band: a buy pays at most the high edge, a sell gets at least the low one. */
export function clampToBand(isBuy: boolean, limitTicks: number, band: PriceBand): number {
  return isBuy ? Math.min(limitTicks, band.highTicks) : Math.max(limitTicks, band.lowTicks);
}

export interface MarginState {
  equity: bigint;
  initial: bigint;
  maintenance: bigint;
}

/** Rule (a) at one end state: equity covers the initial requirement plus the fee bound. */
export function coversInitial(state: MarginState, feeBound: bigint): boolean {
  return state.equity >= state.initial + feeBound;
}

/**
 * Rule (b): the filled end state strictly lowers maintenance and does not lower equity − maintenance.
 * `after` already has the fee bound taken from its equity.
 */
export function deRisks(before: MarginState, after: MarginState): boolean {
  return (
    after.maintenance < before.maintenance &&
    after.equity - after.maintenance >= before.equity - before.maintenance
  );
}

/**
 * The volatility a `SetMarkVol` applies: the request (already clamped to the underlying's band)
 * moved towards from `currentBps` by at most the allowance since `lastSetMs` (0: never set).
 * @example boundedVolChange(6000, 50_000, 0, 10_000_000, 1000) // 7000
 */
export function boundedVolChange(
  currentBps: number,
  requestedBps: number,
  lastSetMs: number,
  nowMs: number,
  maxChangeBpsPerHour: number,
): number {
  const elapsedMs = lastSetMs === 0 ? MS_PER_HOUR : Math.min(Math.max(nowMs - lastSetMs, 0), MS_PER_HOUR);
  const allowance = Number((BigInt(maxChangeBpsPerHour) * BigInt(elapsedMs)) / BigInt(MS_PER_HOUR));
  return Math.min(Math.max(requestedBps, currentBps - allowance), currentBps + allowance);
}
