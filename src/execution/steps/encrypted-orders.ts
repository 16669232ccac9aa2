/**
 * Block step 3a, fair ordering's side of execution (issue 14; the block rule that decides what
 * reaches here is src/chain/fair-batches.ts):
 *
 *   encrypted     transactions of an earlier block, opened with their keys, run first and in
 *                 the order their block fixed. Their nonces were reserved when their envelopes were
 *                 included, so they run with the nonce check already made and advance nothing.
 *   reservations  this block's admitted envelopes: each pays its fee from the sender's balance (at
 *                 most what the balance holds, never below zero) into the fee pool and consumes its
 *                 nonce now. The payment and the nonce are gone whatever the ciphertext holds once it
 *                 opens, and a plain transaction with the same nonce later in this or any block gets
 *                 BAD_NONCE: sending an order encrypted buys no option to cancel it.
 */
import type { SignedTransaction } from '../../codec/transaction.ts';
import { type EngineState, hexKey } from '../state.ts';
import type { EnvelopeReservation, ReservationResult, TransactionResult } from '../types.ts';
import { applyTransaction } from './transactions.ts';

/** Runs opened encrypted transactions, their nonces reserved. */
export function applyEncrypted(
  s: EngineState,
  transactions: readonly SignedTransaction[],
): TransactionResult[] {
  return transactions.map((transaction) => applyTransaction(s, transaction, { nonceReserved: true }));
}

/** Charges and reserves this block's envelopes, in block order. */
export function reserveEnvelopes(
  s: EngineState,
  reservations: readonly EnvelopeReservation[],
): ReservationResult[] {
  return reservations.map((reservation) => reserve(s, reservation));
}

function reserve(s: EngineState, reservation: EnvelopeReservation): ReservationResult {
  const account = s.accounts.get(hexKey(reservation.sender));
  if (account === undefined) return { status: 'UNKNOWN_ACCOUNT' };
  if (account.nonce !== reservation.nonce) return { status: 'BAD_NONCE' };
  const available = account.balance > 0n ? account.balance : 0n;
  const fee = BigInt(reservation.fee);
  const charged = fee < available ? fee : available;
  account.balance -= charged;
  s.feePool += charged;
  account.nonce += 1;
  s.dirtyAccounts.add(account);
  return { status: 'RESERVED', charged };
}
