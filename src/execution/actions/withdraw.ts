/**
 * `Withdraw`: the signer's balance, never below what its initial margin needs. With a bridge the
 * withdrawal is appended to the checkpoint period's list the vault pays from
 * (src/execution/withdrawals.ts): the token must be the bridge's, the recipient not zero, the
 * amount at least the bridge's minimum, and the account within its share of the period.
 */
import type { Withdraw } from '../../codec/execution.ts';
import { bytesEqual, toHex } from '../../crypto/bytes.ts';
import { accountFor } from '../accounts.ts';
import { assess } from '../assess.ts';
import type { EngineState, Handled } from '../state.ts';
import { appendWithdrawal, MAX_WITHDRAWALS_PER_CHECKPOINT, withdrawalsBy } from '../withdrawals.ts';

export function withdraw(s: EngineState, signer: Uint8Array, action: Withdraw): Handled {
  if (action.amount <= 0) return { status: 'INVALID_AMOUNT' };
  const withdrawals = s.withdrawals;
  if (withdrawals !== undefined) {
    if (action.recipient.every((byte) => byte === 0)) return { status: 'INVALID_RECIPIENT' };
    if (!bytesEqual(action.token, withdrawals.bridge.token)) return { status: 'UNLISTED_TOKEN' };
    if (BigInt(action.amount) < withdrawals.bridge.minWithdrawal) return { status: 'WITHDRAWAL_TOO_SMALL' };
  }
  const account = accountFor(s, signer);
  const amount = BigInt(action.amount);
  if (amount > account.balance) return { status: 'INSUFFICIENT_BALANCE' };
  const assessment = assess(s, account);
  if (assessment === undefined) return { status: 'NO_MARK_PRICE' };
  if (assessment.equity - amount < assessment.initial) return { status: 'INSUFFICIENT_MARGIN' };
  // The slowdown (src/execution/steps/responses.ts): a block pays at most the cap while throttled.
  if (s.fundWatch.throttled && s.withdrawnThisBlock + amount > BigInt(s.params.withdrawCapPerBlock))
    return { status: 'WITHDRAWAL_THROTTLED' };
  if (withdrawals !== undefined) {
    // One account's share first: a griefer at its cap learns that, not that the period is full.
    if (withdrawalsBy(withdrawals, account.index) >= withdrawals.bridge.maxWithdrawalsPerAccount)
      return { status: 'WITHDRAWAL_PERIOD_LIMIT' };
    if (withdrawals.entries.length >= MAX_WITHDRAWALS_PER_CHECKPOINT) return { status: 'WITHDRAWALS_FULL' };
  }
  s.withdrawnThisBlock += amount;
  account.balance -= amount;
  s.totalWithdrawals += amount;
  s.dirtyAccounts.add(account);
  if (withdrawals === undefined) {
    s.events.push({ type: 'withdrawal', account: account.key, amount });
    return { status: 'OK' };
  }
  const id = appendWithdrawal(withdrawals, account.index, action.recipient, action.token, amount);
  s.events.push({
    type: 'withdrawal',
    account: account.key,
    amount,
    id,
    recipient: toHex(action.recipient),
    token: toHex(action.token),
  });
  return { status: 'OK', withdrawalId: id };
}
