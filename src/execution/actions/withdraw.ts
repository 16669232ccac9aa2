/** `Withdraw`: the signer's balance, never below what its initial margin needs. */
import type { Withdraw } from '../../codec/execution.ts';
import { accountFor } from '../accounts.ts';
import { assess } from '../assess.ts';
import type { EngineState, Handled } from '../state.ts';

export function withdraw(s: EngineState, signer: Uint8Array, action: Withdraw): Handled {
  if (action.amount <= 0) return { status: 'INVALID_AMOUNT' };
  const account = accountFor(s, signer);
  const amount = BigInt(action.amount);
  if (amount > account.balance) return { status: 'INSUFFICIENT_BALANCE' };
  const assessment = assess(s, account);
  if (assessment === undefined) return { status: 'NO_MARK_PRICE' };
  if (assessment.equity - amount < assessment.initial) return { status: 'INSUFFICIENT_MARGIN' };
  // The slowdown (src/execution/steps/responses.ts): a block pays at most the cap while throttled.
  if (s.fundWatch.throttled && s.withdrawnThisBlock + amount > BigInt(s.params.withdrawCapPerBlock))
    return { status: 'WITHDRAWAL_THROTTLED' };
  s.withdrawnThisBlock += amount;
  account.balance -= amount;
  s.totalWithdrawals += amount;
  s.dirtyAccounts.add(account);
  s.events.push({ type: 'withdrawal', account: account.key, amount });
  return { status: 'OK' };
}
