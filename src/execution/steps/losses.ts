/** Block step 5, losses (engine.ts header): the backstop's gains return to the fund, bankrupt flat accounts are covered. */
import { BACKSTOP_KEY, type EngineState } from '../state.ts';

/**
 * Returns a flat backstop account's gains to the insurance fund, then covers the negative balance
 * of every account with no positions left from the fund; what the fund cannot cover is written
 * off and recorded as unrecovered. No other account is charged: the deficits a liquidation can
 * leave were passed to counterparties by ADL at the bankruptcy price, and an account holding no
 * position never pays for another's loss.
 */
export function coverLosses(s: EngineState): void {
  const fund = s.accounts.get(BACKSTOP_KEY);
  if (fund !== undefined && fund.positions.size === 0 && fund.balance > 0n) {
    s.events.push({ type: 'backstopReturned', amount: fund.balance });
    s.insuranceFund += fund.balance;
    fund.balance = 0n;
    s.dirtyAccounts.add(fund);
  }
  const bankrupt = [...s.dirtyAccounts]
    .filter((a) => a.balance < 0n && a.positions.size === 0)
    .sort((a, b) => a.index - b.index);
  for (const account of bankrupt) {
    const fromFund = -account.balance < s.insuranceFund ? -account.balance : s.insuranceFund;
    if (fromFund > 0n) {
      s.insuranceFund -= fromFund;
      account.balance += fromFund;
      s.events.push({ type: 'insuranceCover', account: account.key, amount: fromFund });
    }
    if (account.balance < 0n) {
      // Nobody is left to charge: the deficit is written off and recorded, never silently lost.
      s.unrecoveredLoss += -account.balance;
      s.events.push({ type: 'unrecoveredLoss', account: account.key, amount: -account.balance });
      account.balance = 0n;
    }
    s.dirtyAccounts.add(account);
  }
}
