/**
 * A validator's record of signatures it has already seen verify, over any signed value whose check
 * is a pure function of its canonical bytes (transactions: src/node/verified-transactions.ts;
 * oracle observations, checked on their votes, again in the proposal and at execution). Only true
 * verdicts are remembered, keyed by SHA-256 of the whole encoding (body and signature), so a copy
 * of a remembered body under another signature is verified afresh, and every answer is the one the
 * check itself would give (up to a SHA-256 collision): state roots do not depend on the record.
 * Bounded: the oldest entries are forgotten first, and a forgotten value is simply verified again.
 */
import { invariant } from '../codec/invariant.ts';
import { sha256Hex } from './hash.ts';

/** A record of verified signatures over values of type `T` (transactions, observations). */
export interface VerifiedRecord<T> {
  /**
   * True when `encoded` (the value's canonical bytes) is remembered (the record is kept) or its
   * signature verifies now, which is then remembered.
   */
  verify(value: T, encoded: Uint8Array): boolean;
  /**
   * Remembers `encoded` as verified: only for bytes whose signature was just verified elsewhere
   * (the signature pool, signature-pool.ts, which answers exactly as `verifyTransactionSignature`).
   */
  record(encoded: Uint8Array): void;
  /**
   * True when `encoded` was remembered (the record is then consumed) or, failing that, when the
   * signature verifies now: the same answer the check itself gives.
   */
  check(value: T, encoded: Uint8Array): boolean;
  /** Whether `encoded` is remembered (nothing is consumed or verified). */
  has(encoded: Uint8Array): boolean;
  size(): number;
}

/**
 * A record of `check`'s true verdicts, keyed by SHA-256 of the value's whole canonical encoding.
 * `check(value)` must depend on nothing but those bytes (a signature over them under the key they
 * name): then every answer is the one `check` would give, up to a SHA-256 collision.
 * @example const observations = createVerifiedRecord(verifyObservationSignature, { maxEntries: 4096 });
 * @throws InvariantError when `maxEntries` is not a positive integer
 */
export function createVerifiedRecord<T>(
  check: (value: T) => boolean,
  options: { maxEntries: number },
): VerifiedRecord<T> {
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
    verify(value, encoded) {
      const key = keyOf(encoded);
      if (verified.has(key)) return true;
      if (!check(value)) return false;
      remember(key);
      return true;
    },
    record(encoded) {
      remember(keyOf(encoded));
    },
    check(value, encoded) {
      if (verified.delete(keyOf(encoded))) return true;
      return check(value);
    },
    has: (encoded) => verified.has(keyOf(encoded)),
    size: () => verified.size,
  };
}
