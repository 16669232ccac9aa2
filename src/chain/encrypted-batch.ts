/**
 * The decrypt-and-execute rule for a finalized block's encrypted orders (issue 14), pure: a
 * function of the block's envelopes in their fixed order, the batch key the validators released
 * after the block was final, the eon key, and the senders' nonces. Nothing here reads a clock or
 * randomness, so every validator reaches the same outcomes.
 *
 * `openEncryptedBatch` first checks the keys: one per envelope, K_j = s·H1(id_j) for the envelope's
 * own identity (its sender and prefix, ../crypto/shutter/key-shares.ts `envelopeIdentity`) under the
 * eon key, all checked by one weighted pairing equation; wrong keys open nothing and the batch
 * waits for right ones (`BAD_KEY`, no outcome at all, nothing charged). Then, in block order:
 *
 *   not charged (the sender never consented to this inclusion, or it is not theirs to pay):
 *     MALFORMED_ENVELOPE   the bytes are no `SignedOrderEnvelope`
 *     WRONG_CHAIN / WRONG_EON / EXPIRED   signed for another chain or keyset, or for blocks up to
 *                          a height below this one: the leader included it where it does not belong
 *     BAD_SIGNATURE / CIPHERTEXT_MISMATCH   not signed by the sender, or its ciphertext swapped
 *     REPLAYED_NONCE / NONCE_GAP   the nonce is not the sender's next (a replay, or one the
 *                          leader put before its predecessor)
 *   charged (fee and nonce consumed: the sender signed this envelope for this block, so there is
 *   no free option to cancel after seeing the key):
 *     UNDECRYPTABLE        the ciphertext does not open under the envelope's key
 *     INVALID_TRANSACTION  the plaintext is no `SignedTransaction`
 *     SIGNER_MISMATCH      the plaintext is signed by someone else (a copy of another trader's
 *                          ciphertext under the copier's envelope does not even open: the copy
 *                          names the copier's identity, so it is UNDECRYPTABLE; the copier pays)
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
import { identityOfEnvelope, verifyEnvelope } from '../crypto/shutter/envelope.ts';
import {
  type DecryptResult,
  G1_COMPRESSED_BYTES,
  type G2Point,
  shutterDecryptBytes,
} from '../crypto/shutter/ibe.ts';
import { identityPointsOf, verifyBlockKeysWith } from '../crypto/shutter/key-shares.ts';
import { nobleBackend, type PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import { verifyTransactionSignature } from '../crypto/transaction.ts';

export type UnchargedDrop =
  | 'MALFORMED_ENVELOPE'
  | 'WRONG_CHAIN'
  | 'WRONG_EON'
  | 'EXPIRED'
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
  /** The finalized block's height, which admitted the envelopes. */
  readonly height: number;
  /** The block's admitted envelope encodings, in block order. */
  readonly envelopes: readonly Uint8Array[];
  /** The batch's combined keys, one compressed G1 (48 bytes) per envelope, concatenated in order. */
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
 * The identity preimages of a batch's envelope encodings, in order; undefined when one does not
 * decode (no batch the chain admitted holds such an envelope).
 */
export function batchIdentities(envelopes: readonly Uint8Array[]): Uint8Array[] | undefined {
  const identities: Uint8Array[] = [];
  for (const bytes of envelopes) {
    try {
      identities.push(identityOfEnvelope(SignedOrderEnvelopeCodec.decode(bytes).body));
    } catch {
      return undefined;
    }
  }
  return identities;
}

/** Key `j` of a batch's concatenated keys. */
export function batchKeyAt(key: Uint8Array, index: number): Uint8Array {
  return key.subarray(G1_COMPRESSED_BYTES * index, G1_COMPRESSED_BYTES * (index + 1));
}

/**
 * Are `key`'s 48-byte parts the keys s·H1(id_j) of `identities` under `eonPublicKey`, one each,
 * in order? One weighted pairing check for all (../crypto/shutter/key-shares.ts
 * `verifyBlockKeysWith`): only the right keys pass it, so the verdict is the same on every
 * validator. Never throws.
 */
export function isBatchKey(
  identities: readonly Uint8Array[],
  key: Uint8Array,
  eonPublicKey: G2Point,
  backend: PairingBackend = nobleBackend,
): boolean {
  if (identities.length === 0 || key.length !== G1_COMPRESSED_BYTES * identities.length) return false;
  try {
    const keys = identities.map((_, j) => batchKeyAt(key, j));
    return verifyBlockKeysWith(backend, keys, identityPointsOf(identities), eonPublicKey.toBytes(true));
  } catch {
    return false;
  }
}

/** Opens and judges a finalized block's encrypted orders. Never throws on untrusted input. */
export function openEncryptedBatch(input: EncryptedBatchInput): EncryptedBatchResult {
  const identities = batchIdentities(input.envelopes);
  if (identities === undefined || !isBatchKey(identities, input.key, input.eonPublicKey, input.backend))
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
  if (body.expiryHeight < input.height) return uncharged('EXPIRED');
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
    shutterDecryptBytes(envelope.ciphertext, batchKeyAt(input.key, index), input.backend ?? nobleBackend);
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
