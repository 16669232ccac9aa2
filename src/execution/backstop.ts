/**
 * The insurance fund's backstop account (see src/execution/liquidation.ts): a real engine account
 * that takes positions the book could not absorb, so that a liquidation never waits for a bid.
 *
 * Its key is a hash, so no one holds its private key and it never signs a transaction: it places
 * no orders, and its positions leave it only by settlement, by its own liquidation into the book
 * or by auto-deleveraging. It is created by its first backstop trade (a genesis without one has the
 * same root as before). The insurance fund stands behind it: its liquidation health counts the
 * fund as equity, it takes a position only when, after taking it, its equity plus the fund covers
 * its initial margin (standard formula), a negative balance it is left with when flat is covered
 * by the fund like any bankrupt account's, and a positive one returns to the fund (losses step).
 * Its balance is one of Σ balances in the conservation identity, like any account's.
 */
import { sha256 } from '../crypto/hash.ts';

export const BACKSTOP_PUBLIC_KEY: Uint8Array = sha256(
  new TextEncoder().encode('palisade/insurance-fund/backstop/v1'),
);

/** Whether the fund can carry the backstop account as it would be after a trade. */
export function backstopCanCarry(after: { equity: bigint; initial: bigint }, insuranceFund: bigint): boolean {
  return after.equity + insuranceFund >= after.initial;
}
