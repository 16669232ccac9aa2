/**
 * Sealing and checking encrypted orders (the codec is src/codec/envelope.ts). A trader signs the
 * inner transaction as any other (src/crypto/transaction.ts), picks a random identity prefix,
 * encrypts the transaction's encoding to its own identity (sender, prefix) under the eon key, and
 * signs the public envelope:
 *
 *   signature = Ed25519(sender, len ‖ "PALISADE/SHUTTER/ENVELOPE/v2" ‖ chain id u64 ‖ encode(body))
 *
 * The body commits to the ciphertext by its SHA-256, so a relay cannot swap the ciphertext under a
 * signed envelope. It does not stop someone from copying a ciphertext under an envelope of their
 * own, but it gains nothing: the copy names the copier's identity, so the copier's key does not
 * open it (UNDECRYPTABLE, the copier pays, src/chain/encrypted-batch.ts), and no key for the
 * original's identity is released by it.
 *
 * `checkEnvelope` is the stateless admission check, cheapest first (the ciphertext's shape too); the nonce verdict needs the
 * sender's next nonce, which the caller reads from its state.
 */
import {
  ENVELOPE_CIPHERTEXT_BLOCK_BYTES,
  ENVELOPE_CIPHERTEXT_HEADER_BYTES,
  MIN_ENVELOPE_CIPHERTEXT_BYTES,
  OrderEnvelopeBodyCodec,
  type SignedKeyShareMessage,
  type SignedOrderEnvelope,
  SignedOrderEnvelopeCodec,
} from '../../codec/envelope.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../../codec/transaction.ts';
import { bytesEqual } from '../bytes.ts';
import { type Ed25519Signer, ed25519Verify } from '../ed25519.ts';
import { sha256 } from '../hash.ts';
import { createShutterEncryptor, type G2Point, type ShutterEncryptor, shutterIdentityPoint } from './ibe.ts';
import { envelopeIdentity, ShutterDomainTag, type SignedKeyShare, shutterDomainBytes } from './key-shares.ts';
import { nobleBackend, type PairingBackend } from './pairing-backend.ts';

export interface SealOrderInput {
  readonly chainId: number;
  readonly eon: number;
  readonly eonPublicKey: G2Point;
  /** 32 random bytes, fresh per order: with the sender, the order's identity. */
  readonly identityPrefix: Uint8Array;
  /** The highest height whose block may include the envelope. */
  readonly expiryHeight: number;
  readonly fee: number;
  /** The inner transaction, signed by the same key that signs the envelope. */
  readonly transaction: SignedTransaction;
  /** 32 fresh secret random bytes (the Fujisaki–Okamoto σ). */
  readonly sigma: Uint8Array;
  /**
   * Runs the encryption's pairing work (default noble); mcl-wasm (`createMclBackend`) gives the
   * same bytes, several times faster.
   */
  readonly backend?: PairingBackend;
}

/** Encryptors kept per (backend, eon key, identity): the identities a client prepared lately. */
const ENCRYPTORS_KEPT = 64;
const encryptors = new Map<string, ShutterEncryptor>();

type EncryptorInput = Pick<SealOrderInput, 'chainId' | 'eonPublicKey' | 'identityPrefix' | 'backend'> & {
  readonly sender: Uint8Array;
};

/**
 * The encryptor for one identity, made once: H1 of the identity and e(Q, P) are its per-identity
 * work, so a client that prepared the identity ahead (`prepareOrderSealing`) then seals an order
 * to it with a power in GT instead of a hash to G1 and a pairing.
 */
function encryptorFor(input: EncryptorInput): ShutterEncryptor {
  const backend = input.backend ?? nobleBackend;
  const identity = envelopeIdentity(input.chainId, input.sender, input.identityPrefix);
  const key = `${backend.name}:${input.eonPublicKey.toHex(true)}:${Buffer.from(identity).toString('hex')}`;
  let encryptor = encryptors.get(key);
  if (encryptor === undefined) {
    encryptor = createShutterEncryptor(input.eonPublicKey, shutterIdentityPoint(identity), backend);
    encryptors.set(key, encryptor);
    // Oldest first out: Map iterates in insertion order.
    if (encryptors.size > ENCRYPTORS_KEPT) encryptors.delete(encryptors.keys().next().value!);
  }
  return encryptor;
}

/**
 * Encrypts `transaction` to the sender's identity for `identityPrefix` and signs the envelope.
 * @example const envelope = sealOrder(signer, { chainId, eon, eonPublicKey, identityPrefix, expiryHeight, fee, transaction, sigma });
 */
export function sealOrder(signer: Ed25519Signer, input: SealOrderInput): SignedOrderEnvelope {
  const ciphertext = encryptorFor({ ...input, sender: signer.publicKey }).encrypt(
    SignedTransactionCodec.encode(input.transaction),
    input.sigma,
  );
  const body = {
    chainId: input.chainId,
    sender: signer.publicKey,
    nonce: input.transaction.body.nonce,
    fee: input.fee,
    eon: input.eon,
    identityPrefix: input.identityPrefix,
    expiryHeight: input.expiryHeight,
    ciphertextBytes: ciphertext.length,
    ciphertextHash: sha256(ciphertext),
  };
  return { body, signature: signer.sign(envelopeSigningBytes(body)), ciphertext };
}

/**
 * Does the per-identity work of sealing an order ahead of time (the hash to G1 and the pairing,
 * ~a pairing): a client picks its next orders' prefixes while it waits and prepares them, and
 * sealing an order to one then costs a power in GT. Kept as `sealOrder` keeps it.
 */
export function prepareOrderSealing(input: EncryptorInput): void {
  encryptorFor(input);
}

/** The identity preimage of an envelope: its sender's, for its prefix. */
export function identityOfEnvelope(body: SignedOrderEnvelope['body']): Uint8Array {
  return envelopeIdentity(body.chainId, body.sender, body.identityPrefix);
}

/** The exact bytes the sender signs. */
export function envelopeSigningBytes(body: SignedOrderEnvelope['body']): Uint8Array {
  return shutterDomainBytes(ShutterDomainTag.envelope, body.chainId, OrderEnvelopeBodyCodec.encode(body));
}

/** Signature over the body and the body's hash of the ciphertext; never throws. */
export function verifyEnvelope(
  envelope: SignedOrderEnvelope,
): 'ok' | 'BAD_SIGNATURE' | 'CIPHERTEXT_MISMATCH' {
  try {
    if (!ed25519Verify(envelope.body.sender, envelopeSigningBytes(envelope.body), envelope.signature))
      return 'BAD_SIGNATURE';
  } catch {
    return 'BAD_SIGNATURE';
  }
  return bytesEqual(sha256(envelope.ciphertext), envelope.body.ciphertextHash) ? 'ok' : 'CIPHERTEXT_MISMATCH';
}

/** Why an envelope is refused; `ok` means it may be ordered. */
export type EnvelopeCheck =
  | 'ok'
  | 'WRONG_CHAIN'
  | 'WRONG_EON'
  | 'EXPIRED'
  | 'TOO_FAR_AHEAD'
  | 'REPLAYED_NONCE'
  | 'MALFORMED_CIPHERTEXT'
  | 'BAD_SIGNATURE'
  | 'CIPHERTEXT_MISMATCH';

/**
 * A client's envelope lead: the expiry it gives is this many heights above the highest height it
 * has seen executed. The heights an envelope can still go in are the proposals it may meet, and a
 * censoring leader simply leaves it out, so its lifetime must span more leaders than there are
 * Byzantine ones. The executed height a client knows trails the next proposal by up to three
 * (execution waits a block for the keys; a proposal is under way while the block before it
 * finalizes), so 6 leaves at least three proposals: with n = 4 and leaders taken in turn, at
 * least two are honest. It stays within the default admission window (the node's
 * `envelopeAheadBlocks`, 8); with larger n it does not span f + 1 leaders (a known bound).
 */
export const ENVELOPE_LEAD_BLOCKS = 6;

export interface EnvelopeCheckContext {
  readonly chainId: number;
  readonly eon: number;
  /** The height of the next block (the earliest an admitted envelope can be included in). */
  readonly height: number;
  /** How far above `height` an expiry may be (bounds how long a mempool holds an envelope). */
  readonly aheadMax: number;
  /** The sender's next unused nonce. */
  readonly nextNonce: (sender: Uint8Array) => number;
}

/**
 * The admission verdict, cheapest first: chain, eon, expiry window, nonce, then signature and
 * ciphertext hash. A nonce above the next is allowed (orders queue); one below it was consumed.
 */
export function checkEnvelope(envelope: SignedOrderEnvelope, context: EnvelopeCheckContext): EnvelopeCheck {
  const { body } = envelope;
  if (body.chainId !== context.chainId) return 'WRONG_CHAIN';
  if (body.eon !== context.eon) return 'WRONG_EON';
  if (body.expiryHeight < context.height) return 'EXPIRED';
  if (body.expiryHeight > context.height + context.aheadMax) return 'TOO_FAR_AHEAD';
  if (body.nonce < context.nextNonce(body.sender)) return 'REPLAYED_NONCE';
  if (!wellFormedCiphertext(envelope.ciphertext)) return 'MALFORMED_CIPHERTEXT';
  return verifyEnvelope(envelope);
}

/** Shutter's wire shape: version 0x03, C1 and C2, then at least one whole 32-byte block. */
export function wellFormedCiphertext(ciphertext: Uint8Array): boolean {
  return (
    ciphertext.length >= MIN_ENVELOPE_CIPHERTEXT_BYTES &&
    (ciphertext.length - ENVELOPE_CIPHERTEXT_HEADER_BYTES) % ENVELOPE_CIPHERTEXT_BLOCK_BYTES === 0 &&
    ciphertext[0] === 0x03
  );
}

/** A typed refusal of envelope bytes, for callers that prefer a throw. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  readonly code: Exclude<EnvelopeCheck, 'ok'>;
  constructor(code: Exclude<EnvelopeCheck, 'ok'>) {
    super(`envelope refused: ${code}`);
    this.code = code;
  }
}

/**
 * Decodes and checks envelope bytes from a peer or a client.
 * @throws {CodecError} on malformed or oversize bytes; {@link EnvelopeError} on a refusal.
 */
export function admitEnvelope(bytes: Uint8Array, context: EnvelopeCheckContext): SignedOrderEnvelope {
  const envelope = SignedOrderEnvelopeCodec.decode(bytes);
  const verdict = checkEnvelope(envelope, context);
  if (verdict !== 'ok') throw new EnvelopeError(verdict);
  return envelope;
}

/** The wire form of a signed statement. */
export function keyShareMessageOf(share: SignedKeyShare): SignedKeyShareMessage {
  return {
    chainId: share.chainId,
    eon: share.eon,
    batch: share.batch,
    validatorIndex: share.validatorIndex,
    identitiesRoot: share.identitiesRoot,
    shares: [...share.shares],
    signature: share.signature,
  };
}

/** A statement from the wire (its points are checked where they are used: the pairing checks). */
export function keyShareOfMessage(message: SignedKeyShareMessage): SignedKeyShare {
  return Object.freeze({
    chainId: message.chainId,
    eon: message.eon,
    batch: message.batch,
    validatorIndex: message.validatorIndex,
    identitiesRoot: message.identitiesRoot,
    shares: Object.freeze([...message.shares]),
    signature: message.signature,
  });
}
