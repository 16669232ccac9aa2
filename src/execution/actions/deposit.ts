/**
 * Deposits. Two ways value enters an account:
 *
 * - `creditBridgeDeposits` (the bridge): vault deposits that 2f + 1 validators reported
 *   identically in the block (src/interop/evm/deposit-quorum.ts). Each vault nonce is consumed
 *   once, ever: a nonce credited (or refused) before is skipped, whatever the block carries. A
 *   deposit that cannot be credited (another token, an amount beyond the engine's integers, below
 *   `minDepositForAccount` for a new account, the account cap) is consumed with a
 *   `bridgeDepositRefused` event: reporting it again changes nothing.
 * - `deposit` (a `Deposit` action signed by the genesis operator key): the in-process fixture
 *   path of tests and of networks without a bridge. A production genesis with a bridge names no
 *   usable operator key (src/node/genesis.ts), so nothing but the validators' quorum mints.
 */
import type { Deposit } from '../../codec/execution.ts';
import { invariant } from '../../codec/invariant.ts';
import { bytesEqual } from '../../crypto/bytes.ts';
import { countedAccounts, createAccount } from '../accounts.ts';
import { type EngineState, type Handled, hexKey } from '../state.ts';
import type { BridgeDeposit, BridgeDepositRefusal } from '../types.ts';

export function deposit(s: EngineState, signer: Uint8Array, action: Deposit): Handled {
  // A genesis with a bridge names the zero key: nobody holds it, and it is refused outright.
  if (s.operator.every((byte) => byte === 0) || !bytesEqual(signer, s.operator))
    return { status: 'UNAUTHORIZED' };
  if (action.amount <= 0) return { status: 'INVALID_AMOUNT' };
  const refusal = creditAccount(s, action.account, BigInt(action.amount));
  return { status: refusal ?? 'OK' };
}

/** Credits `amount` to `key`, creating the account; a refusal changes nothing. */
function creditAccount(
  s: EngineState,
  key: Uint8Array,
  amount: bigint,
): 'DEPOSIT_BELOW_MINIMUM' | 'TOO_MANY_ACCOUNTS' | undefined {
  let account = s.accounts.get(hexKey(key));
  if (account === undefined) {
    // Accounts cost something: only a deposit of at least the minimum creates one, within the cap.
    if (amount < BigInt(s.params.minDepositForAccount)) return 'DEPOSIT_BELOW_MINIMUM';
    if (countedAccounts(s) >= s.params.maxAccounts) return 'TOO_MANY_ACCOUNTS';
    account = createAccount(s, key);
  }
  account.balance += amount;
  s.totalDeposits += amount;
  s.dirtyAccounts.add(account);
  s.events.push({ type: 'deposit', account: account.key, amount });
  return undefined;
}

/** Whether the bridge has consumed vault nonce `nonce`. */
export function isDepositCredited(s: EngineState, nonce: number): boolean {
  const credited = s.creditedDeposits;
  return nonce <= credited.watermark || credited.above.has(nonce);
}

/** The most credited nonces kept above the watermark (the codec's bound). */
const CREDITED_ABOVE_MAX = 4096;

/** The block's quorum deposits (engine step 1d), each nonce consumed once. */
export function creditBridgeDeposits(s: EngineState, deposits: readonly BridgeDeposit[]): void {
  const credited = s.creditedDeposits;
  for (const bridged of deposits) {
    invariant(Number.isSafeInteger(bridged.nonce) && bridged.nonce > 0, 'vault nonces are positive');
    invariant(bridged.account.length === 32 && bridged.amount > 0n, 'a bridge deposit is well formed');
    if (isDepositCredited(s, bridged.nonce)) continue;
    // Nonces far ahead of the watermark wait (still reported) rather than grow the set unbounded.
    if (bridged.nonce !== credited.watermark + 1 && credited.above.size >= CREDITED_ABOVE_MAX) continue;
    let refusal: BridgeDepositRefusal | undefined;
    if (!bridged.tokenListed) refusal = 'UNLISTED_TOKEN';
    else if (bridged.amount > BigInt(Number.MAX_SAFE_INTEGER)) refusal = 'AMOUNT_TOO_LARGE';
    else refusal = creditAccount(s, bridged.account, bridged.amount);
    if (refusal !== undefined)
      s.events.push({
        type: 'bridgeDepositRefused',
        nonce: bridged.nonce,
        account: hexKey(bridged.account),
        amount: bridged.amount,
        reason: refusal,
      });
    credited.above.add(bridged.nonce);
    while (credited.above.has(credited.watermark + 1)) {
      credited.watermark += 1;
      credited.above.delete(credited.watermark);
    }
    credited.dirty = true;
  }
}
