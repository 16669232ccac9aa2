/**
 * Sealing and checking encrypted orders (the codec is src/codec/envelope.ts). A trader signs the
 * inner transaction as any other (src/crypto/transaction.ts), encrypts its encoding to the batch
 * identity of the target height under the eon key, and signs the public envelope:
 *
 *   signature = Ed25519(sender, len ‖ "PALISADE/SHUTTER/ENVELOPE/v1" ‖ chain id u64 ‖ encode(body))
 *
 * The body commits to the ciphertext by its SHA-256, so a relay cannot swap the ciphertext under a
 * signed envelope. It does not stop someone from copying a ciphertext under an envelope of their
 * own: the block rule (src/chain/encrypted-batch.ts) refuses to execute a plaintext whose signer
 * is not the envelope's sender.
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
import {
  createShutterEncryptor,
  decodeG1,
  type G2Point,
  type ShutterEncryptor,
  shutterIdentityPoint,
} from './ibe.ts';
import { batchIdentity, ShutterDomainTag, type SignedKeyShare, shutterDomainBytes } from './key-shares.ts';
import { nobleBackend, type PairingBackend } from './pairing-backend.ts';

export interface SealOrderInput {
  readonly chainId: number;
  readonly eon: number;
  readonly eonPublicKey: G2Point;
  readonly targetHeight: number;
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

/** Encryptors kept per (backend, eon key, chain, target height): a client's recent target blocks. */
const ENCRYPTORS_KEPT = 16;
const encryptors = new Map<string, ShutterEncryptor>();

/**
 * The encryptor for one target block, made once: H1 of the block's identity and e(Q, P) are the
 * same for every order to that block (one identity per block), so the next orders to it cost a
 * power in GT instead of a hash to G1 and a pairing.
 */
function encryptorFor(
  input: Pick<SealOrderInput, 'chainId' | 'eonPublicKey' | 'targetHeight' | 'backend'>,
): ShutterEncryptor {
  const backend = input.backend ?? nobleBackend;
  const key = `${backend.name}:${input.eonPublicKey.toHex(true)}:${input.chainId}:${input.targetHeight}`;
  let encryptor = encryptors.get(key);
  if (encryptor === undefined) {
    const identity = shutterIdentityPoint(batchIdentity(input.chainId, input.targetHeight));
    encryptor = createShutterEncryptor(input.eonPublicKey, identity, backend);
    encryptors.set(key, encryptor);
    // Oldest first out: Map iterates in insertion order.
    if (encryptors.size > ENCRYPTORS_KEPT) encryptors.delete(encryptors.keys().next().value!);
  }
  return encryptor;
}

/**
 * Encrypts `transaction` to the target height's batch identity and signs the envelope.
 * @example const envelope = sealOrder(signer, { chainId, eon, eonPublicKey, targetHeight, fee, transaction, sigma });
 */
export function sealOrder(signer: Ed25519Signer, input: SealOrderInput): SignedOrderEnvelope {
  const ciphertext = encryptorFor(input).encrypt(
    SignedTransactionCodec.encode(input.transaction),
    input.sigma,
  );
  const body = {
    chainId: input.chainId,
    sender: signer.publicKey,
    nonce: input.transaction.body.nonce,
    fee: input.fee,
    eon: input.eon,
    targetHeight: input.targetHeight,
    ciphertextBytes: ciphertext.length,
    ciphertextHash: sha256(ciphertext),
  };
  return { body, signature: signer.sign(envelopeSigningBytes(body)), ciphertext };
}

/**
 * Does the per-block work of sealing orders to `targetHeight` ahead of time (the hash to G1 and
 * the pairing, ~a pairing): a client that knows which blocks it will target prepares them while
 * it waits, and sealing an order to one then costs a power in GT. Kept as `sealOrder` keeps it.
 */
export function prepareOrderSealing(
  input: Pick<SealOrderInput, 'chainId' | 'eonPublicKey' | 'targetHeight' | 'backend'>,
): void {
  encryptorFor(input);
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

export interface EnvelopeCheckContext {
  readonly chainId: number;
  readonly eon: number;
  /** The height of the next block (the earliest an admitted envelope can be included in). */
  readonly height: number;
  /** How far above `height` a target may be (bounds what a mempool holds for later). */
  readonly aheadMax: number;
  /** The sender's next unused nonce. */
  readonly nextNonce: (sender: Uint8Array) => number;
}

/**
 * The admission verdict, cheapest first: chain, eon, target window, nonce, then signature and
 * ciphertext hash. A nonce above the next is allowed (orders queue); one below it was consumed.
 */
export function checkEnvelope(envelope: SignedOrderEnvelope, context: EnvelopeCheckContext): EnvelopeCheck {
  const { body } = envelope;
  if (body.chainId !== context.chainId) return 'WRONG_CHAIN';
  if (body.eon !== context.eon) return 'WRONG_EON';
  if (body.targetHeight < context.height) return 'EXPIRED';
  if (body.targetHeight > context.height + context.aheadMax) return 'TOO_FAR_AHEAD';
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

/** The wire form of a signed share. */
export function keyShareMessageOf(share: SignedKeyShare): SignedKeyShareMessage {
  return {
    chainId: share.chainId,
    eon: share.eon,
    batch: share.batch,
    validatorIndex: share.validatorIndex,
    identity: share.identity,
    share: share.share.toBytes(true),
    signature: share.signature,
  };
}

/** A share from the wire. @throws {CodecError} when the point is not in G1. */
export function keyShareOfMessage(message: SignedKeyShareMessage): SignedKeyShare {
  return Object.freeze({
    chainId: message.chainId,
    eon: message.eon,
    batch: message.batch,
    validatorIndex: message.validatorIndex,
    identity: message.identity,
    share: decodeG1(message.share, 'SignedKeyShareMessage.share'),
    signature: message.signature,
  });
}
