/**
 * The decrypt-and-execute rule for a finalized block's encrypted orders (issue 14), pure: a
 * function of the block's envelopes in their fixed order, the batch key the validators released
 * after the block was final, the eon key, and the senders' nonces. Nothing here reads a clock or
 * randomness, so every validator reaches the same outcomes.
 *
 * `openEncryptedBatch` first checks the key: it must be s·H1(batchIdentity(chain, height)) for the
 * eon key (the pairing equation, ./../crypto/shutter/ibe.ts); a wrong key opens nothing and the
 * batch waits for a right one (`BAD_KEY`, no outcome at all, nothing charged). Then, in block order:
 *
 *   not charged (the sender never consented to this inclusion, or it is not theirs to pay):
 *     MALFORMED_ENVELOPE   the bytes are no `SignedOrderEnvelope`
 *     WRONG_CHAIN / WRONG_EON / WRONG_BATCH   signed for another chain, keyset or height: the
 *                          leader included it where it does not belong (it stays usable at its own
 *                          height)
 *     BAD_SIGNATURE / CIPHERTEXT_MISMATCH   not signed by the sender, or its ciphertext swapped
 *     REPLAYED_NONCE / NONCE_GAP   the nonce is not the sender's next (a replay, or one the
 *                          leader put before its predecessor)
 *   charged (fee and nonce consumed: the sender signed this envelope for this block, so there is
 *   no free option to cancel after seeing the key):
 *     UNDECRYPTABLE        the ciphertext does not open under the block's key
 *     INVALID_TRANSACTION  the plaintext is no `SignedTransaction`
 *     SIGNER_MISMATCH      the plaintext is signed by someone else: a copy of another trader's
 *                          ciphertext under the copier's envelope (the copier pays, the copy is
 *                          dropped, the original is untouched)
 *     INNER_MISMATCH       the plaintext's chain or nonce differs from the envelope's
 *     INNER_BAD_SIGNATURE  the plaintext's own signature does not verify
 *   execute                the decrypted transaction, to execute in this position; its fee is
 *                          charged too, and its nonce (the envelope's) is consumed by executing it.
 *
 * The engine's side (charge `fee` from the sender's balance, capped at the balance, and consume
 * the nonce of a dropped-but-charged order) is the caller's: see `charges`.
 */
import { type SignedOrderEnvelope, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../codec/transaction.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { verifyEnvelope } from '../crypto/shutter/envelope.ts';
import {
  type DecryptResult,
  decodeG1,
  type G2Point,
  shutterDecryptBytes,
  shutterIdentityPoint,
  verifyShutterDecryptionKey,
} from '../crypto/shutter/ibe.ts';
import { batchIdentity } from '../crypto/shutter/key-shares.ts';
import { nobleBackend, type PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import { verifyTransactionSignature } from '../crypto/transaction.ts';

export type UnchargedDrop =
  | 'MALFORMED_ENVELOPE'
  | 'WRONG_CHAIN'
  | 'WRONG_EON'
  | 'WRONG_BATCH'
  | 'BAD_SIGNATURE'
  | 'CIPHERTEXT_MISMATCH'
  | 'REPLAYED_NONCE'
  | 'NONCE_GAP';
export type ChargedDrop =
  | 'UNDECRYPTABLE'
  | 'INVALID_TRANSACTION'
  | 'SIGNER_MISMATCH'
  | 'INNER_MISMATCH'
  | 'INNER_BAD_SIGNATURE';

export type EncryptedOrderOutcome =
  | {
      readonly kind: 'execute';
      readonly index: number;
      readonly envelope: SignedOrderEnvelope;
      readonly transaction: SignedTransaction;
    }
  | {
      readonly kind: 'charged';
      readonly index: number;
      readonly envelope: SignedOrderEnvelope;
      readonly reason: ChargedDrop;
    }
  | { readonly kind: 'uncharged'; readonly index: number; readonly reason: UnchargedDrop };

export interface EncryptedBatchInput {
  readonly chainId: number;
  readonly eon: number;
  readonly eonPublicKey: G2Point;
  /** The finalized block's height: the batch whose identity the key is for. */
  readonly height: number;
  /** The block's envelope encodings, in block order. */
  readonly envelopes: readonly Uint8Array[];
  /** The combined batch key, compressed G1 (48 bytes). */
  readonly key: Uint8Array;
  /** The sender's next nonce before this batch. */
  readonly nextNonce: (sender: Uint8Array) => number;
  /** Same verdict as `verifyTransactionSignature`; a node may answer from a cache. */
  readonly verifySignature?: (transaction: SignedTransaction) => boolean;
  readonly backend?: PairingBackend;
  /**
   * Decryptions already made, by envelope index: `shutterDecryptBytes(envelope.ciphertext, key)`
   * on any backend (e.g. on worker threads, src/node/fair-ordering-decrypt.ts). Used in place of
   * decrypting here; an index without one is decrypted here. Every failure is UNDECRYPTABLE
   * whatever its reason, so the outcomes do not depend on which backend made them.
   */
  readonly opened?: readonly (DecryptResult | undefined)[];
}

export type EncryptedBatchResult =
  | {
      readonly ok: true;
      readonly outcomes: readonly EncryptedOrderOutcome[];
      /** The decrypted transactions to execute, in block order. */
      readonly transactions: readonly SignedTransaction[];
      /** Fee and nonce consumption for every charged envelope (executed or dropped), in block order. */
      readonly charges: readonly {
        readonly sender: Uint8Array;
        readonly nonce: number;
        readonly fee: number;
        readonly executed: boolean;
      }[];
    }
  | { readonly ok: false; readonly code: 'BAD_KEY' };

/**
 * Is `key` the batch key of `height` under `eonPublicKey`? Deterministic; never throws. With a
 * `backend`, the pairing equation runs on it (mcl-wasm gives noble's verdict, faster).
 */
export function isBatchKey(
  chainId: number,
  height: number,
  key: Uint8Array,
  eonPublicKey: G2Point,
  backend?: PairingBackend,
): boolean {
  try {
    const identity = shutterIdentityPoint(batchIdentity(chainId, height));
    if (backend !== undefined)
      return backend.pairingEquals(key, identity.toBytes(true), eonPublicKey.toBytes(true));
    return verifyShutterDecryptionKey(decodeG1(key, 'batchKey'), eonPublicKey, identity);
  } catch {
    return false;
  }
}

/** Opens and judges a finalized block's encrypted orders. Never throws on untrusted input. */
export function openEncryptedBatch(input: EncryptedBatchInput): EncryptedBatchResult {
  if (!isBatchKey(input.chainId, input.height, input.key, input.eonPublicKey, input.backend))
    return { ok: false, code: 'BAD_KEY' };
  const nonces = new Map<string, number>();
  const outcomes = input.envelopes.map((bytes, index) => judge(input, nonces, bytes, index));
  const transactions: SignedTransaction[] = [];
  const charges: { sender: Uint8Array; nonce: number; fee: number; executed: boolean }[] = [];
  for (const outcome of outcomes) {
    if (outcome.kind === 'uncharged') continue;
    const { sender, nonce, fee } = outcome.envelope.body;
    if (outcome.kind === 'execute') transactions.push(outcome.transaction);
    charges.push({ sender, nonce, fee, executed: outcome.kind === 'execute' });
  }
  return { ok: true, outcomes, transactions, charges };
}

/** One envelope's outcome; `nonces` carries the senders' next nonces through the batch. */
function judge(
  input: EncryptedBatchInput,
  nonces: Map<string, number>,
  bytes: Uint8Array,
  index: number,
): EncryptedOrderOutcome {
  let envelope: SignedOrderEnvelope;
  try {
    envelope = SignedOrderEnvelopeCodec.decode(bytes);
  } catch {
    return { kind: 'uncharged', index, reason: 'MALFORMED_ENVELOPE' };
  }
  const { body } = envelope;
  const uncharged = (reason: UnchargedDrop): EncryptedOrderOutcome => ({ kind: 'uncharged', index, reason });
  if (body.chainId !== input.chainId) return uncharged('WRONG_CHAIN');
  if (body.eon !== input.eon) return uncharged('WRONG_EON');
  if (body.targetHeight !== input.height) return uncharged('WRONG_BATCH');
  const verdict = verifyEnvelope(envelope);
  if (verdict !== 'ok') return uncharged(verdict);
  const senderKey = toHex(body.sender);
  const expected = nonces.get(senderKey) ?? input.nextNonce(body.sender);
  if (body.nonce < expected) return uncharged('REPLAYED_NONCE');
  if (body.nonce > expected) return uncharged('NONCE_GAP');
  nonces.set(senderKey, expected + 1);
  const charged = (reason: ChargedDrop): EncryptedOrderOutcome => ({
    kind: 'charged',
    index,
    envelope,
    reason,
  });
  const opened =
    input.opened?.[index] ??
    shutterDecryptBytes(envelope.ciphertext, input.key, input.backend ?? nobleBackend);
  if (!opened.ok) return charged('UNDECRYPTABLE');
  let transaction: SignedTransaction;
  try {
    transaction = SignedTransactionCodec.decode(opened.message);
  } catch {
    return charged('INVALID_TRANSACTION');
  }
  if (!bytesEqual(transaction.body.signer, body.sender)) return charged('SIGNER_MISMATCH');
  if (transaction.body.chainId !== body.chainId || transaction.body.nonce !== body.nonce)
    return charged('INNER_MISMATCH');
  if (!(input.verifySignature ?? verifyTransactionSignature)(transaction))
    return charged('INNER_BAD_SIGNATURE');
  return { kind: 'execute', index, envelope, transaction };
}
