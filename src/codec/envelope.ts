/**
 * Encrypted orders (issue 14, fair ordering). An order travels as a public envelope and a Shutter
 * ciphertext (src/crypto/shutter/ibe.ts) of a whole `SignedTransaction` encoding:
 *
 *   OrderEnvelopeBody  what admission and the leader see: the sender, the account nonce the order
 *                      consumes, the fee it pays, the eon (keyset) it is encrypted to, the random
 *                      prefix of its identity, the highest height that may include it, and the
 *                      ciphertext's size and SHA-256
 *   SignedOrderEnvelope the body, the sender's Ed25519 signature over
 *                      `PALISADE/SHUTTER/ENVELOPE/v2 ‖ chain id ‖ encode(OrderEnvelopeBody)`, and
 *                      the ciphertext bytes
 *
 * The ciphertext is encrypted to the envelope's own identity (its sender and prefix,
 * src/crypto/shutter/key-shares.ts `envelopeIdentity`), so it can only be opened by the key the
 * validators release once a finalized block has admitted this envelope. Any block up to the
 * expiry may include it: the sender does not have to guess which block will.
 *
 * A decryption-key share (`SignedKeyShareMessage`) and the evidence of one released early
 * (`EarlyKeyShareEvidence`) are here too: the bytes a validator sends and the chain records, and
 * the vote extension that carries a validator's shares (`KeyShareVoteExtension`).
 *
 * `EonActivation`: a window's eon keyset as a block records it (src/chain/eon-schedule.ts): the
 * eon, QUAL, the combined commitment (compressed G2, the eon key first) and the n − f sealed
 * attestations of the window's validators (src/crypto/shutter/eon-keygen-codec.ts `SealedEonKeygen`).
 */
import {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  type ValueOf,
} from '@chainsafe/ssz';
import { MAX_EXTENSION_BYTES } from './consensus.ts';
import { defineMessage } from './message.ts';
import { MAX_VALIDATORS } from './oracle.ts';
import { Bytes32, Bytes64, Uint16, Uint32, Uint64 } from './primitives.ts';
import { SignedTransactionCodec } from './transaction.ts';

/** Shutter's header: version byte, C1 (compressed G2, 96 bytes), C2 (32 bytes). */
export const ENVELOPE_CIPHERTEXT_HEADER_BYTES = 1 + 96 + 32;
export const ENVELOPE_CIPHERTEXT_BLOCK_BYTES = 32;
/**
 * The largest ciphertext an envelope may carry: the header and the PKCS#7-padded blocks of the
 * largest `SignedTransaction` encoding (padding always adds 1..32 bytes).
 */
export const MAX_ENVELOPE_CIPHERTEXT_BYTES =
  ENVELOPE_CIPHERTEXT_HEADER_BYTES +
  ENVELOPE_CIPHERTEXT_BLOCK_BYTES *
    (Math.floor(SignedTransactionCodec.maxBytes / ENVELOPE_CIPHERTEXT_BLOCK_BYTES) + 1);
/** The smallest: the header and one block (a zero-byte plaintext pads to one block). */
export const MIN_ENVELOPE_CIPHERTEXT_BYTES =
  ENVELOPE_CIPHERTEXT_HEADER_BYTES + ENVELOPE_CIPHERTEXT_BLOCK_BYTES;

export const OrderEnvelopeBodyType = new ContainerType(
  {
    chainId: Uint64,
    sender: Bytes32,
    nonce: Uint64,
    /** Base units of the settlement asset, charged whether or not the order opens and is valid. */
    fee: Uint64,
    eon: Uint64,
    /**
     * Random, chosen by the sender: with the sender it makes the order's own identity
     * (src/crypto/shutter/key-shares.ts `envelopeIdentity`), so its key opens this envelope only.
     */
    identityPrefix: Bytes32,
    /** The highest height whose block may include it; it is expired above it. */
    expiryHeight: Uint64,
    ciphertextBytes: Uint32,
    ciphertextHash: Bytes32,
  },
  { typeName: 'OrderEnvelopeBody' },
);
export type OrderEnvelopeBody = ValueOf<typeof OrderEnvelopeBodyType>;

export const SignedOrderEnvelopeType = new ContainerType(
  {
    body: OrderEnvelopeBodyType,
    signature: Bytes64,
    ciphertext: new ByteListType(MAX_ENVELOPE_CIPHERTEXT_BYTES),
  },
  { typeName: 'SignedOrderEnvelope' },
);
export type SignedOrderEnvelope = ValueOf<typeof SignedOrderEnvelopeType>;

export const OrderEnvelopeBodyCodec = defineMessage({
  name: 'OrderEnvelopeBody',
  tag: 0x0120,
  type: OrderEnvelopeBodyType,
});

/**
 * The declared size must be the carried size. The ciphertext's own shape (a Shutter header, whole
 * 32-byte blocks), the signature and the hash are src/crypto/shutter/envelope.ts's `checkEnvelope`.
 */
export const SignedOrderEnvelopeCodec = defineMessage({
  name: 'SignedOrderEnvelope',
  tag: 0x0121,
  type: SignedOrderEnvelopeType,
  validate(value) {
    const size = value.ciphertext.length;
    if (value.body.ciphertextBytes !== size)
      return { field: 'body.ciphertextBytes', reason: `says ${value.body.ciphertextBytes}, carries ${size}` };
    return undefined;
  },
});

/**
 * Envelopes one block admits, at most: each costs every validator one 48-byte share on a vote, and
 * a batch's shares ride one vote extension (`MAX_EXTENSION_BYTES`) beside an observation.
 */
export const MAX_BATCH_ENVELOPES = 16;

/**
 * A validator's shares D_ij = s_i·H1(id_j) of a batch's keys, one per admitted envelope in batch
 * order, as it signs and sends them (src/crypto/shutter/key-shares.ts `keyShareSigningBytes`).
 */
export const SignedKeyShareType = new ContainerType(
  {
    chainId: Uint64,
    eon: Uint64,
    batch: Uint64,
    validatorIndex: Uint16,
    /** SHA-256 of the batch's identity preimages, in batch order. */
    identitiesRoot: Bytes32,
    /** Compressed G1 points. */
    shares: new ListCompositeType(new ByteVectorType(48), MAX_BATCH_ENVELOPES),
    signature: Bytes64,
  },
  { typeName: 'SignedKeyShareMessage' },
);
export type SignedKeyShareMessage = ValueOf<typeof SignedKeyShareType>;

export const SignedKeyShareCodec = defineMessage({
  name: 'SignedKeyShareMessage',
  tag: 0x0122,
  type: SignedKeyShareType,
  validate(value) {
    if (value.validatorIndex === 0xffff) return { field: 'validatorIndex', reason: '0xffff is no validator' };
    if (value.shares.length === 0)
      return { field: 'shares', reason: 'a statement releases at least one share' };
    return undefined;
  },
});

/**
 * A validator's signed share for a batch above the finalized height at which the chain records
 * it. The recording height is the chain's, not the accuser's: the block rule fills it in.
 */
export const EarlyKeyShareType = new ContainerType(
  { share: SignedKeyShareType, finalizedHeightAtRecord: Uint64 },
  { typeName: 'EarlyKeyShare' },
);
export type EarlyKeyShare = ValueOf<typeof EarlyKeyShareType>;

export const EarlyKeyShareCodec = defineMessage({
  name: 'EarlyKeyShare',
  tag: 0x0123,
  type: EarlyKeyShareType,
});

/** Key shares one vote carries, at most: a backlog of finalized batches drains this many per vote. */
export const MAX_VOTE_KEY_SHARES = 4;

/**
 * A vote's extension when the validator releases decryption-key shares: `inner` is what the vote
 * would carry without them (a bare `SignedObservation`, a bridge `VoteExtension`, or nothing) and
 * `shares` the validator's own `SignedKeyShareMessage` encodings for finalized blocks. A vote with
 * no share to release carries `inner` bare, as before.
 */
export const KeyShareVoteExtensionType = new ContainerType(
  {
    inner: new ByteListType(MAX_EXTENSION_BYTES),
    shares: new ListCompositeType(new ByteListType(SignedKeyShareCodec.maxBytes), MAX_VOTE_KEY_SHARES),
  },
  { typeName: 'KeyShareVoteExtension' },
);
export type KeyShareVoteExtension = ValueOf<typeof KeyShareVoteExtensionType>;

export const KeyShareVoteExtensionCodec = defineMessage({
  name: 'KeyShareVoteExtension',
  tag: 0x0124,
  type: KeyShareVoteExtensionType,
  maxBytes: MAX_EXTENSION_BYTES,
  validate: (value) =>
    value.shares.length === 0
      ? { field: 'shares', reason: 'a vote without key shares carries its inner extension bare' }
      : undefined,
});

/** Bytes a `KeyShareVoteExtension` adds around its parts (envelope, two offsets, one per share). */
export function keyShareExtensionOverhead(shares: number): number {
  return 3 + 2 * 4 + 4 * shares;
}

/** A sealed eon DKG attestation is a few hundred bytes (session, index, QUAL, transcript, signature). */
export const MAX_SEALED_ATTESTATION_BYTES = 640;

export const EonActivationType = new ContainerType(
  {
    eon: Uint64,
    /** QUAL, ascending. */
    qualified: new ListBasicType(Uint16, MAX_VALIDATORS),
    /** Σ_{j∈QUAL} Γ_j: t compressed G2 points, the first the eon key. */
    commitment: new ListCompositeType(new ByteVectorType(96), MAX_VALIDATORS),
    /** n − f `SealedEonKeygen` attestations of the window's set. */
    attestations: new ListCompositeType(new ByteListType(MAX_SEALED_ATTESTATION_BYTES), MAX_VALIDATORS),
  },
  { typeName: 'EonActivation' },
);
export type EonActivation = ValueOf<typeof EonActivationType>;

export const EonActivationCodec = defineMessage({
  name: 'EonActivation',
  tag: 0x0125,
  type: EonActivationType,
});
