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
import { invariant } from '../codec/invariant.ts';
import type { SignedTransaction } from '../codec/transaction.ts';
import { sha256Hex } from '../crypto/hash.ts';
import { verifyTransactionSignature } from '../crypto/transaction.ts';

export interface VerifiedTransactions {
  /**
   * True when `encoded` (the transaction's canonical bytes) is remembered (the record is kept) or
   * its signature verifies now, which is then remembered.
   */
  verify(transaction: SignedTransaction, encoded: Uint8Array): boolean;
  /**
   * Remembers `encoded` as verified: only for bytes whose signature was just verified elsewhere
   * (the signature pool, signature-pool.ts, which answers exactly as `verifyTransactionSignature`).
   */
  record(encoded: Uint8Array): void;
  /**
   * True when `encoded` was remembered (the record is then consumed) or, failing that, when the
   * signature verifies now. The same answer `verifyTransactionSignature` gives.
   */
  check(transaction: SignedTransaction, encoded: Uint8Array): boolean;
  /** Whether `encoded` is remembered (nothing is consumed or verified). */
  has(encoded: Uint8Array): boolean;
  size(): number;
}

/**
 * @example const verified = createVerifiedTransactions({ maxEntries: 100_000 }); verified.verify(tx, bytes); verified.check(tx, bytes) // true, without a second verification
 * @throws InvariantError when `maxEntries` is not a positive integer
 */
export function createVerifiedTransactions(options: { maxEntries: number }): VerifiedTransactions {
  invariant(
    Number.isSafeInteger(options.maxEntries) && options.maxEntries > 0,
    'maxEntries must be positive',
  );
  /** Hex SHA-256 of verified encodings, oldest first (a Set iterates in insertion order). */
  const verified = new Set<string>();
  const keyOf = (encoded: Uint8Array) => sha256Hex(encoded);
  const remember = (key: string) => {
    verified.delete(key);
    verified.add(key);
    // Each insertion adds one, so one removal keeps the bound.
    if (verified.size > options.maxEntries) {
      const oldest = verified.values().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
  };
  return {
    verify(transaction, encoded) {
      const key = keyOf(encoded);
      if (verified.has(key)) return true;
      if (!verifyTransactionSignature(transaction)) return false;
      remember(key);
      return true;
    },
    record(encoded) {
      remember(keyOf(encoded));
    },
    check(transaction, encoded) {
      if (verified.delete(keyOf(encoded))) return true;
      return verifyTransactionSignature(transaction);
    },
    has: (encoded) => verified.has(keyOf(encoded)),
    size: () => verified.size,
  };
}
