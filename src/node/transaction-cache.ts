/**
 * Each transaction encoding decoded once per validator. A transaction's bytes reach a validator's
 * event loop three times: at admission (twice there: the precheck before the signature pool, then
 * `admit`), in the proposal that carries it (`verify`), and in the finalized block (the block
 * rule). Each pass decoded the SSZ, re-encoded the body and hashed it for the id: about a third of
 * the event loop's time per transaction at saturation (docs/performance.md). This cache answers
 * the later passes from the first.
 *
 * The key is SHA-256 of the WHOLE encoding, so an answer is the decoding of exactly these bytes
 * (up to a SHA-256 collision, which transaction ids already rule out): a copy with the same body
 * and another signature, or any other bytes, is a different entry. Only successful decodings are
 * kept; bytes that do not decode throw the codec's own CodecError every time, so every verdict
 * built on a decode is unchanged. Entries are frozen (`decodeTransaction`): the mempool, the
 * verifier and the engine share them and none may change them.
 *
 * Bounded by entries and by encoded bytes, the oldest forgotten first; a forgotten encoding is
 * simply decoded again. What is needed is the window from admission to execution, a few seconds
 * of traffic, far below the bounds.
 */
import { invariant } from '../codec/invariant.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { sha256Hex } from '../crypto/hash.ts';
import {
  type DecodedTransaction,
  decodeTransaction,
  type TransactionDecoder,
} from '../crypto/transaction.ts';

export interface TransactionCache {
  /** What `decodeTransaction(bytes)` gives, from the cache when these bytes were decoded before. */
  readonly decode: TransactionDecoder;
  size(): number;
  /** Encoded bytes of the entries held. */
  bytes(): number;
}

export interface TransactionCacheLimits {
  maxEntries: number;
  maxBytes: number;
}

/** About 20 s of saturated traffic on the devnet, at most 8 MiB of encodings. */
export const DEFAULT_TRANSACTION_CACHE_LIMITS: Readonly<TransactionCacheLimits> = Object.freeze({
  maxEntries: 16_384,
  maxBytes: 8 * 1024 * 1024,
});

/**
 * @example const cache = createTransactionCache(DEFAULT_TRANSACTION_CACHE_LIMITS); const { idHex } = cache.decode(bytes);
 * @throws InvariantError when a limit is not a positive integer
 */
export function createTransactionCache(
  limits: TransactionCacheLimits = DEFAULT_TRANSACTION_CACHE_LIMITS,
): TransactionCache {
  invariant(Number.isSafeInteger(limits.maxEntries) && limits.maxEntries > 0, 'maxEntries must be positive');
  invariant(Number.isSafeInteger(limits.maxBytes) && limits.maxBytes > 0, 'maxBytes must be positive');
  /** By hex SHA-256 of the encoding, oldest first (a Map iterates in insertion order). */
  const entries = new Map<string, { decoded: DecodedTransaction; length: number }>();
  let heldBytes = 0;
  return {
    decode(bytes) {
      // What the codec refuses before reading a byte is refused by it, uncached and unhashed.
      if (!(bytes instanceof Uint8Array) || bytes.length > SignedTransactionCodec.maxBytes)
        return decodeTransaction(bytes);
      const key = sha256Hex(bytes);
      const held = entries.get(key);
      if (held !== undefined) return held.decoded;
      const decoded = decodeTransaction(bytes);
      entries.set(key, { decoded, length: bytes.length });
      heldBytes += bytes.length;
      // Each insertion adds one entry of at most the codec's maximum, so this loop ends.
      while (entries.size > limits.maxEntries || heldBytes > limits.maxBytes) {
        const oldest = entries.entries().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest[0]);
        heldBytes -= oldest[1].length;
      }
      return decoded;
    },
    size: () => entries.size,
    bytes: () => heldBytes,
  };
}
