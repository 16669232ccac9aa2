/**
 * The public package of a keyset, announced by its members to a validator that joins the set at a
 * reshare (issue 11, "validator-set change"; src/node/price-join.ts). A joining validator holds no
 * share of the outgoing keyset, so it cannot compute the reshare session (whose digest binds the
 * outgoing commitments, src/crypto/keygen.ts `keygenSessionDigest`) nor check the deals it receives
 * (Wong–Wang–Wing §4: C_i0 must equal the dealer's verifying share Y_i) without this package.
 *
 * ## Wire format (tag 0x0452, SSZ in the common envelope)
 *   chainId u64 ‖ epoch u64 (the outgoing keyset's) ‖ height u64 (the boundary block of the change)
 *   ‖ threshold u16 ‖ participants u16 ‖ commitments List[bytes33, 128] (the keyset's Feldman
 *   commitment, C_0 = the group key) ‖ verifyingShares List[bytes33, 128] (Y_j for identifiers
 *   1…participants) ‖ handovers List[ByteList[256], 64] (encoded handover certificates, oldest first)
 * Nothing in it is secret. It is not signed as a whole: the receiver trusts none of it until the
 * handover chain verifies from the keyset it trusts and f + 1 outgoing members sent the same one.
 */
import { ByteListType, ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from '../codec/message.ts';
import { MAX_VALIDATORS, Secp256k1Point } from '../codec/oracle.ts';
import { Uint16, Uint64 } from '../codec/primitives.ts';
import { HandoverCertificateCodec } from './handover-certificate.ts';

/** Handover certificates a package carries, at most (a member keeps the last 64). */
export const MAX_PACKAGE_HANDOVERS = 64;

export const KeysetPackageType = new ContainerType(
  {
    chainId: Uint64,
    epoch: Uint64,
    height: Uint64,
    threshold: Uint16,
    participants: Uint16,
    commitments: new ListCompositeType(Secp256k1Point, MAX_VALIDATORS),
    verifyingShares: new ListCompositeType(Secp256k1Point, MAX_VALIDATORS),
    handovers: new ListCompositeType(
      new ByteListType(HandoverCertificateCodec.maxBytes),
      MAX_PACKAGE_HANDOVERS,
    ),
  },
  { typeName: 'KeysetPackage' },
);
export type KeysetPackage = ValueOf<typeof KeysetPackageType>;

export const KeysetPackageCodec = defineMessage({
  name: 'KeysetPackage',
  tag: 0x0452,
  type: KeysetPackageType,
  validate: (value) => {
    if (value.participants < 2) return { field: 'participants', reason: 'a keyset has at least 2 members' };
    if (value.threshold < 2 || value.threshold > value.participants)
      return { field: 'threshold', reason: 'must be between 2 and participants' };
    if (value.commitments.length !== value.threshold)
      return { field: 'commitments', reason: 'one commitment point per coefficient (threshold)' };
    if (value.verifyingShares.length !== value.participants)
      return { field: 'verifyingShares', reason: 'one verifying share per participant' };
    return undefined;
  },
});

/**
 * A joiner's request for the package of the change at `height` (tag 0x0453: chainId u64 ‖ height
 * u64). A joiner that came up after the outgoing members finished the reshare would otherwise wait
 * forever: nothing re-sends a finished run unprompted. A member answers a joiner of that change
 * (and no one else), at most once per retry interval, with the package and what its run sent it.
 */
export const KeysetPackageRequestType = new ContainerType(
  { chainId: Uint64, height: Uint64 },
  { typeName: 'KeysetPackageRequest' },
);
export type KeysetPackageRequest = ValueOf<typeof KeysetPackageRequestType>;

export const KeysetPackageRequestCodec = defineMessage({
  name: 'KeysetPackageRequest',
  tag: 0x0453,
  type: KeysetPackageRequestType,
  validate: (value) =>
    value.height < 1 ? { field: 'height', reason: 'a change applies at a boundary ≥ 1' } : undefined,
});
