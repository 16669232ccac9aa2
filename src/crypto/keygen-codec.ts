/**
 * Wire messages of the complaint-capable key generation (src/crypto/keygen.ts), tags 0x0430–0x0435
 * in the oracle range (the price keyset is the oracle's). Every body names its session by a
 * 32-byte digest of the session's parameters, so a package for another epoch, kind, threshold or
 * validator set never fits. Each body travels sealed: encoded, then signed by its author's Ed25519
 * identity key in the `PALISADE/ORACLE/DKG/v1` domain, so any validator can show it to the others
 * as evidence (a dealer's signed share that fails its own commitment convicts the dealer).
 */
import {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  type ValueOf,
} from '@chainsafe/ssz';
import { defineMessage } from '../codec/message.ts';
import { MAX_VALIDATORS, Secp256k1Point } from '../codec/oracle.ts';
import { Bytes32, Bytes64, Uint16 } from '../codec/primitives.ts';

/** A sealed share body is far below this; evidence larger than it is refused when decoded. */
export const MAX_SEALED_SHARE_BYTES = 256;
/** Largest sealed body: a complaint naming every dealer with evidence. */
export const MAX_SEALED_KEYGEN_BYTES =
  3 +
  4 +
  32 +
  2 +
  4 +
  MAX_VALIDATORS * 32 +
  4 +
  MAX_VALIDATORS * (4 + 2 + 4 + MAX_SEALED_SHARE_BYTES) +
  64 +
  16;

export const KeygenDealType = new ContainerType(
  {
    session: Bytes32,
    dealer: Uint16,
    /** Feldman commitment to the dealer's polynomial; a refresh leaves out C_0 (the identity). */
    commitment: new ListCompositeType(Secp256k1Point, MAX_VALIDATORS),
    /** Schnorr proof of knowledge of a_0 (DKG only; all zero otherwise). */
    proofOfKnowledge: new ByteVectorType(65),
  },
  { typeName: 'KeygenDeal' },
);
export type KeygenDeal = ValueOf<typeof KeygenDealType>;

export const KeygenShareType = new ContainerType(
  { session: Bytes32, dealer: Uint16, recipient: Uint16, share: Bytes32 },
  { typeName: 'KeygenShare' },
);
export type KeygenShare = ValueOf<typeof KeygenShareType>;

export const KeygenAccusationType = new ContainerType(
  {
    dealer: Uint16,
    /** The dealer's sealed share for the accuser when it failed its commitment; empty when none came. */
    evidence: new ByteListType(MAX_SEALED_SHARE_BYTES),
  },
  { typeName: 'KeygenAccusation' },
);

export const KeygenComplaintType = new ContainerType(
  {
    session: Bytes32,
    recipient: Uint16,
    /** SHA-256 of the sealed deal the recipient holds from each dealer, all zero when it has none. */
    dealDigests: new ListCompositeType(Bytes32, MAX_VALIDATORS),
    accusations: new ListCompositeType(KeygenAccusationType, MAX_VALIDATORS),
  },
  { typeName: 'KeygenComplaint' },
);
export type KeygenComplaint = ValueOf<typeof KeygenComplaintType>;

export const KeygenRevealType = new ContainerType(
  { recipient: Uint16, share: Bytes32 },
  { typeName: 'KeygenReveal' },
);

export const KeygenJustificationType = new ContainerType(
  { session: Bytes32, dealer: Uint16, reveals: new ListCompositeType(KeygenRevealType, MAX_VALIDATORS) },
  { typeName: 'KeygenJustification' },
);
export type KeygenJustification = ValueOf<typeof KeygenJustificationType>;

export const KeygenAttestationType = new ContainerType(
  {
    session: Bytes32,
    recipient: Uint16,
    /** The qualified dealers, ascending. */
    qualified: new ListBasicType(Uint16, MAX_VALIDATORS),
    /** SHA-256 over QUAL and the combined commitment (`KeygenResult.transcriptDigest`). */
    transcript: Bytes32,
  },
  { typeName: 'KeygenAttestation' },
);
export type KeygenAttestation = ValueOf<typeof KeygenAttestationType>;

export const SealedKeygenType = new ContainerType(
  { payload: new ByteListType(MAX_SEALED_KEYGEN_BYTES), signature: Bytes64 },
  { typeName: 'SealedKeygen' },
);

export const KeygenDealCodec = defineMessage({ name: 'KeygenDeal', tag: 0x0430, type: KeygenDealType });
export const KeygenShareCodec = defineMessage({ name: 'KeygenShare', tag: 0x0431, type: KeygenShareType });
export const KeygenComplaintCodec = defineMessage({
  name: 'KeygenComplaint',
  tag: 0x0432,
  type: KeygenComplaintType,
});
export const KeygenJustificationCodec = defineMessage({
  name: 'KeygenJustification',
  tag: 0x0433,
  type: KeygenJustificationType,
});
export const SealedKeygenCodec = defineMessage({ name: 'SealedKeygen', tag: 0x0434, type: SealedKeygenType });
export const KeygenAttestationCodec = defineMessage({
  name: 'KeygenAttestation',
  tag: 0x0435,
  type: KeygenAttestationType,
});
