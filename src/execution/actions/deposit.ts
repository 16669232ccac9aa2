/** `Deposit`: the operator (the bridge) credits an account, creating it at `minDepositForAccount` or more. */
import type { Deposit } from '../../codec/execution.ts';
import { bytesEqual } from '../../crypto/bytes.ts';
import { countedAccounts, createAccount } from '../accounts.ts';
import { type EngineState, type Handled, hexKey } from '../state.ts';

export function deposit(s: EngineState, signer: Uint8Array, action: Deposit): Handled {
  if (!bytesEqual(signer, s.operator)) return { status: 'UNAUTHORIZED' };
  if (action.amount <= 0) return { status: 'INVALID_AMOUNT' };
  let account = s.accounts.get(hexKey(action.account));
  if (account === undefined) {
    // Accounts cost something: only a deposit of at least the minimum creates one, within the cap.
    if (BigInt(action.amount) < BigInt(s.params.minDepositForAccount))
      return { status: 'DEPOSIT_BELOW_MINIMUM' };
    if (countedAccounts(s) >= s.params.maxAccounts) return { status: 'TOO_MANY_ACCOUNTS' };
    account = createAccount(s, action.account);
  }
  account.balance += BigInt(action.amount);
  s.totalDeposits += BigInt(action.amount);
  s.dirtyAccounts.add(account);
  s.events.push({ type: 'deposit', account: account.key, amount: BigInt(action.amount) });
  return { status: 'OK' };
}
