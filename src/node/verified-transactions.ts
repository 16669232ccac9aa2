/**
 * Which signed transactions this validator has already seen verify, so that each signature costs
 * one Ed25519 verification per validator: the mempool verifies at admission and records the
 * transaction here; the engine, executing the finalized block, asks again and is answered from
 * the record. A signature check was ~29% of a validator's time at saturation when it ran twice.
 *
 * The key is SHA-256 of the WHOLE canonical encoding (body and signature), never the transaction
 * id: the id covers only the body, so a copy with the same body and another signature would
 * share it, and answering for that copy from the record would let a bad signature execute on this
 * validator and not on another — a fork. Only successful verifications are recorded, so every
 * answer is exactly what `ed25519Verify` would say (up to a SHA-256 collision), and the engine's
 * verdicts, hence state roots, do not change.
 *
 * Bounded: at most `maxEntries`, the oldest forgotten first; a forgotten transaction is simply
 * verified again. An entry is consumed when the engine asks for it (a block executes a
 * transaction once; a repeat is verified afresh).
 */
import type { SignedTransaction } from '../codec/transaction.ts';
import { verifyTransactionSignature } from '../crypto/transaction.ts';
import { createVerifiedRecord, type VerifiedRecord } from '../crypto/verified-record.ts';

export type VerifiedTransactions = VerifiedRecord<SignedTransaction>;

/**
 * @example const verified = createVerifiedTransactions({ maxEntries: 100_000 }); verified.verify(tx, bytes); verified.check(tx, bytes) // true, without a second verification
 * @throws InvariantError when `maxEntries` is not a positive integer
 */
export function createVerifiedTransactions(options: { maxEntries: number }): VerifiedTransactions {
  return createVerifiedRecord(verifyTransactionSignature, options);
}
