/**
 * Block step 3, transactions in consensus order: stateless checks, the nonce, then the action
 * (src/execution/actions/). A rejection changes nothing; an accepted action or business outcome
 * advances the nonce.
 */
import { CodecError } from '../../codec/errors.ts';
import { decodeAction } from '../../codec/execution.ts';
import { MAX_TRANSACTION_PAYLOAD_BYTES, type SignedTransaction } from '../../codec/transaction.ts';
import { checkTransaction } from '../../crypto/transaction.ts';
import { accountFor, isGenesisKey } from '../accounts.ts';
import { cancelAll, cancelOrder } from '../actions/cancel.ts';
import { deposit } from '../actions/deposit.ts';
import { submitProposal, unwrappedGovernance } from '../actions/governance.ts';
import { setMarginMode } from '../actions/margin-mode.ts';
import { placeOrder } from '../actions/place-order.ts';
import { registerCommitment } from '../actions/register-commitment.ts';
import { withdraw } from '../actions/withdraw.ts';
import { type EngineState, type Handled, hexKey } from '../state.ts';
import { isRejection, type TransactionResult } from '../types.ts';

/**
 * `nonceReserved`: the transaction's nonce was consumed when its encrypted envelope was included
 * (steps/encrypted-orders.ts); it is not checked against the account's and does not advance it.
 */
export function applyTransaction(
  s: EngineState,
  tx: SignedTransaction,
  options: { readonly nonceReserved?: boolean } = {},
): TransactionResult {
  if (tx.body.payload.length > MAX_TRANSACTION_PAYLOAD_BYTES) return { status: 'OVERSIZE' };
  const check = checkTransaction(tx, { chainId: s.chainId, height: s.height }, s.verifySignature);
  if (check !== 'ok') return { status: check };
  const signer = tx.body.signer;
  const existing = s.accounts.get(hexKey(signer));
  if (options.nonceReserved !== true && tx.body.nonce !== (existing?.nonce ?? 0))
    return { status: 'BAD_NONCE' };
  // A key without an account can do nothing but be deposited to: it creates no state at all.
  if (existing === undefined && !isGenesisKey(s, signer)) return { status: 'UNKNOWN_ACCOUNT' };
  let action: ReturnType<typeof decodeAction>;
  try {
    action = decodeAction(tx.body.payload);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    // A size or price that does not fit a safe integer (a "negative" u64 among them) is an
    // out-of-range size or price, not a malformed message: it gets the status a trader expects.
    if (error.code === 'INVALID_VALUE' && error.field.endsWith('.sizeE6')) return { status: 'INVALID_SIZE' };
    if (error.code === 'INVALID_VALUE' && error.field.endsWith('.price')) return { status: 'INVALID_PRICE' };
    return { status: 'MALFORMED_PAYLOAD', field: error.field };
  }
  let handled: Handled;
  switch (action.kind) {
    case 'governanceProposal':
      handled = submitProposal(s, action.value);
      break;
    case 'deposit':
      handled = deposit(s, signer, action.value);
      break;
    case 'withdraw':
      handled = withdraw(s, signer, action.value);
      break;
    case 'placeOrder':
      handled = placeOrder(s, signer, action.value);
      break;
    case 'cancelOrder':
      handled = cancelOrder(s, signer, action.value);
      break;
    case 'cancelAll':
      handled = cancelAll(s, signer, action.value);
      break;
    case 'listSeries':
    case 'setMarkVol':
      handled = unwrappedGovernance();
      break;
    case 'setMarginMode':
      handled = setMarginMode(s, signer, action.value);
      break;
    case 'registerCommitment':
      handled = registerCommitment(s, signer, action.value);
      break;
  }
  if (isRejection(handled.status)) return handled;
  // Accepted (done, or a business outcome): the nonce advances, unless it was reserved before.
  if (options.nonceReserved === true) return handled;
  const account = accountFor(s, signer);
  account.nonce += 1;
  s.dirtyAccounts.add(account);
  return handled;
}
