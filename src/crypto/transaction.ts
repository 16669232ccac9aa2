/**
 * Building and checking signed transactions. These are the stateless checks (signature, chain,
 * expiry, size); the nonce and rate rules that need account state live with the mempool and the
 * engine, which call `checkTransaction` first.
 */
import {
  decodeSignedTransaction,
  type SignedTransaction,
  SignedTransactionCodec,
  TransactionBodyCodec,
} from '../codec/transaction.ts';
import { toHex } from './bytes.ts';
import { DomainTag, domainMessage } from './domain.ts';
import { type Ed25519Signer, ed25519Verify } from './ed25519.ts';
import { sha256 } from './hash.ts';

export interface UnsignedTransaction {
  chainId: number;
  nonce: number;
  expiryHeight: number;
  payload: Uint8Array;
}

/** The stateless verdicts on a transaction; `ok` means it may go on to the stateful checks. */
export type TransactionCheck = 'ok' | 'WRONG_CHAIN' | 'EXPIRED' | 'BAD_SIGNATURE';

/**
 * Signs a transaction for `signer`.
 * @example const tx = signTransaction(signer, { chainId: 1, nonce: 0, expiryHeight: 100, payload });
 */
export function signTransaction(signer: Ed25519Signer, unsigned: UnsignedTransaction): SignedTransaction {
  const body = { ...unsigned, signer: signer.publicKey };
  const signature = signer.sign(
    domainMessage(DomainTag.transaction, body.chainId, TransactionBodyCodec.encode(body)),
  );
  return { body, signature };
}

/** The transaction id: SHA-256 of the encoded body (the signature is not part of the identity). */
export function transactionId(tx: SignedTransaction): Uint8Array {
  return sha256(TransactionBodyCodec.encode(tx.body));
}

/**
 * A transaction decoded from its canonical encoding, with what every consumer derives from it: the
 * mempool at admission, a verifier of a proposal, the block rule at execution. Frozen: the same
 * object may be handed to all of them (src/node/transaction-cache.ts), so none may change it.
 */
export interface DecodedTransaction {
  readonly transaction: SignedTransaction;
  /** `transactionId(transaction)`. */
  readonly id: Uint8Array;
  /** The id as lowercase hex without a prefix: the mempool's key. */
  readonly idHex: string;
  /** The signer's public key as lowercase hex without a prefix: the mempool's account key. */
  readonly signerHex: string;
}

/**
 * Decodes a canonical `SignedTransaction` encoding with its id; any implementation must give
 * exactly what {@link decodeTransaction} gives (a node may answer from a cache keyed by the bytes).
 * @throws CodecError exactly when `SignedTransactionCodec.decode` does
 */
export type TransactionDecoder = (bytes: Uint8Array) => DecodedTransaction;

/**
 * Decodes `bytes` and derives the id, uncached.
 * @example const { transaction, idHex } = decodeTransaction(bytes);
 * @throws CodecError when the bytes are not a canonical SignedTransaction encoding
 */
export function decodeTransaction(bytes: Uint8Array): DecodedTransaction {
  const { transaction, encodedBody } = decodeSignedTransaction(bytes);
  Object.freeze(transaction.body);
  Object.freeze(transaction);
  // transactionId(transaction), from the body's encoding the decoder already holds.
  const id = sha256(encodedBody);
  return Object.freeze({ transaction, id, idHex: toHex(id), signerHex: toHex(transaction.body.signer) });
}

/** True when the signature is the signer's over this body on this body's chain; never throws. */
export function verifyTransactionSignature(tx: SignedTransaction): boolean {
  try {
    const message = domainMessage(
      DomainTag.transaction,
      tx.body.chainId,
      TransactionBodyCodec.encode(tx.body),
    );
    return ed25519Verify(tx.body.signer, message, tx.signature);
  } catch {
    return false;
  }
}

/**
 * True when `bytes` decode and their signature is the signer's over the body on its chain: exactly
 * `verifyTransactionSignature(SignedTransactionCodec.decode(bytes))`, false for bytes that do not
 * decode, without encoding the body again (the decoder hands its canonical bytes over). Never throws.
 */
export function verifyEncodedTransaction(bytes: Uint8Array): boolean {
  try {
    const { transaction, encodedBody } = decodeSignedTransaction(bytes);
    const message = domainMessage(DomainTag.transaction, transaction.body.chainId, encodedBody);
    return ed25519Verify(transaction.body.signer, message, transaction.signature);
  } catch {
    return false;
  }
}

/**
 * Answers whether a transaction's signature is valid. Any implementation must give exactly the
 * verdict of {@link verifyTransactionSignature} (a node may answer from a record of earlier
 * verifications of the same bytes); the engine's determinism rests on it.
 */
export type TransactionSignatureCheck = (tx: SignedTransaction) => boolean;

/**
 * The stateless checks, cheapest first: right chain, not expired at `height`, valid signature.
 * A transaction is valid up to and including its `expiryHeight`.
 */
export function checkTransaction(
  tx: SignedTransaction,
  context: { chainId: number; height: number },
  verifySignature: TransactionSignatureCheck = verifyTransactionSignature,
): TransactionCheck {
  if (tx.body.chainId !== context.chainId) return 'WRONG_CHAIN';
  if (context.height > tx.body.expiryHeight) return 'EXPIRED';
  return verifySignature(tx) ? 'ok' : 'BAD_SIGNATURE';
}

export { SignedTransactionCodec };
