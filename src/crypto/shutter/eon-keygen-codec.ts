/**
 * Wire messages of the validators' eon DKG (./eon-keygen.ts), tags 0x0130–0x0135 beside the
 * fair-ordering messages (0x0120–0x0124). They mirror the price keyset's keygen messages
 * (src/crypto/keygen-codec.ts) with G2 commitments (96-byte compressed points) and BLS12-381
 * scalars, plus the attestation by which the validators agree on one keyset. Every body names its
 * session by a 32-byte digest of (chain, eon, threshold, validator keys); each travels sealed:
 * encoded, then signed by its author's Ed25519 identity key in the `PALISADE/SHUTTER/EON-DKG/v1`
 * domain, so any validator can show it to the others as evidence.
 */
import {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  type ValueOf,
} from '@chainsafe/ssz';
import { defineMessage } from '../../codec/message.ts';
import { MAX_VALIDATORS } from '../../codec/oracle.ts';
import { Bytes32, Bytes64, Uint16 } from '../../codec/primitives.ts';

/** A compressed G2 point (the point itself is checked when the deal is judged). */
export const G2Bytes = new ByteVectorType(96);
/** A sealed share body is far below this; evidence larger than it is refused when decoded. */
export const MAX_SEALED_EON_SHARE_BYTES = 256;
/** Largest sealed body: a complaint naming every dealer with evidence. */
export const MAX_SEALED_EON_KEYGEN_BYTES =
  3 +
  4 +
  32 +
  2 +
  4 +
  MAX_VALIDATORS * 32 +
  4 +
  MAX_VALIDATORS * (4 + 2 + 4 + MAX_SEALED_EON_SHARE_BYTES) +
  64 +
  16;

export const EonDealType = new ContainerType(
  {
    session: Bytes32,
    dealer: Uint16,
    /** Feldman commitment Γ_k = a_k·g2 to the dealer's polynomial, t points. */
    commitment: new ListCompositeType(G2Bytes, MAX_VALIDATORS),
  },
  { typeName: 'EonDeal' },
);
export type EonDeal = ValueOf<typeof EonDealType>;

export const EonShareType = new ContainerType(
  { session: Bytes32, dealer: Uint16, recipient: Uint16, share: Bytes32 },
  { typeName: 'EonShare' },
);
export type EonShare = ValueOf<typeof EonShareType>;

export const EonAccusationType = new ContainerType(
  {
    dealer: Uint16,
    /** The dealer's sealed share for the accuser when it failed its commitment; empty when none came. */
    evidence: new ByteListType(MAX_SEALED_EON_SHARE_BYTES),
  },
  { typeName: 'EonAccusation' },
);

export const EonComplaintType = new ContainerType(
  {
    session: Bytes32,
    recipient: Uint16,
    /** SHA-256 of the sealed deal the recipient holds from each dealer, all zero when it has none. */
    dealDigests: new ListCompositeType(Bytes32, MAX_VALIDATORS),
    accusations: new ListCompositeType(EonAccusationType, MAX_VALIDATORS),
  },
  { typeName: 'EonComplaint' },
);
export type EonComplaint = ValueOf<typeof EonComplaintType>;

export const EonJustificationType = new ContainerType(
  {
    session: Bytes32,
    dealer: Uint16,
    reveals: new ListCompositeType(new ContainerType({ recipient: Uint16, share: Bytes32 }), MAX_VALIDATORS),
  },
  { typeName: 'EonJustification' },
);
export type EonJustification = ValueOf<typeof EonJustificationType>;

export const EonAttestationType = new ContainerType(
  {
    session: Bytes32,
    validator: Uint16,
    /** The qualified dealers, ascending. */
    qualified: new ListBasicType(Uint16, MAX_VALIDATORS),
    /** SHA-256 over the session, the qualified dealers and the combined commitment (./eon-keygen.ts). */
    transcript: Bytes32,
  },
  { typeName: 'EonAttestation' },
);
export type EonAttestation = ValueOf<typeof EonAttestationType>;

export const SealedEonKeygenType = new ContainerType(
  { payload: new ByteListType(MAX_SEALED_EON_KEYGEN_BYTES), signature: Bytes64 },
  { typeName: 'SealedEonKeygen' },
);

export const EonDealCodec = defineMessage({ name: 'EonDeal', tag: 0x0130, type: EonDealType });
export const EonShareCodec = defineMessage({ name: 'EonShare', tag: 0x0131, type: EonShareType });
export const EonComplaintCodec = defineMessage({ name: 'EonComplaint', tag: 0x0132, type: EonComplaintType });
export const EonJustificationCodec = defineMessage({
  name: 'EonJustification',
  tag: 0x0133,
  type: EonJustificationType,
});
export const EonAttestationCodec = defineMessage({
  name: 'EonAttestation',
  tag: 0x0134,
  type: EonAttestationType,
});
export const SealedEonKeygenCodec = defineMessage({
  name: 'SealedEonKeygen',
  tag: 0x0135,
  type: SealedEonKeygenType,
});
