/**
 * Messages of share repair over the validators' channels (src/interop/share-repair.ts), tags
 * 0x0470–0x0473 in the oracle range (the node routes 0x04xx to the price signer). Each names its
 * run by (chain, epoch, keyset, lost member, attempt, helper set), so a message of one run never
 * counts for another. `keyset` is the digest of the keyset's members and threshold
 * (share-repair.ts `repairKeysetDigest`): member indices mean something only within one member
 * list, so a helper whose keyset of that epoch has other members (a set change the lost validator
 * has not seen, or one it saw before the reshare ended) refuses the run rather than read the
 * indices against its own list. `lost`, `helper`, `recipient` and `helpers` are member indices of
 * that keyset; senders are the transport's authenticated identity keys. A split is also signed by
 * its helper so that the helper receiving it can show it to the lost validator as evidence when
 * it does not match its own commitments.
 */
import { ByteListType, ContainerType, ListBasicType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from '../codec/message.ts';
import { MAX_VALIDATORS, Secp256k1Point } from '../codec/oracle.ts';
import { Bytes32, Bytes64, Uint16, Uint64 } from '../codec/primitives.ts';

const RunFields = {
  chainId: Uint64,
  epoch: Uint64,
  keyset: Bytes32,
  lost: Uint16,
  attempt: Uint16,
  helpers: new ListBasicType(Uint16, MAX_VALIDATORS),
};
const Points = new ListCompositeType(Secp256k1Point, MAX_VALIDATORS);

/** The lost validator asks each helper of the set to run the repair of its share of `epoch`. */
export const RepairRequestType = new ContainerType(RunFields, { typeName: 'RepairRequest' });
export type RepairRequest = ValueOf<typeof RepairRequestType>;

/** Helper → helper: δ_{i,j} (private) and D_{i,·} (the helper's public commitments). */
export const RepairSplitBodyType = new ContainerType(
  { ...RunFields, helper: Uint16, recipient: Uint16, summand: Bytes32, commitments: Points },
  { typeName: 'RepairSplitBody' },
);
export type RepairSplitBody = ValueOf<typeof RepairSplitBodyType>;

export const RepairSplitType = new ContainerType(
  { body: RepairSplitBodyType, signature: Bytes64 },
  { typeName: 'RepairSplit' },
);
export type RepairSplit = ValueOf<typeof RepairSplitType>;

/** A signed split is far below this. */
export const MAX_REPAIR_SPLIT_BYTES = 8192;

export const RepairAccusationType = new ContainerType(
  { helper: Uint16, evidence: new ByteListType(MAX_REPAIR_SPLIT_BYTES) },
  { typeName: 'RepairAccusation' },
);

/**
 * Helper → lost validator: σ_j (all zeros when it accuses instead), its own D_{j,·}, the keyset's
 * public commitment and verifying shares (the lost validator may have lost them too), and its
 * accusations: a helper whose signed split fails (evidence: that split) or never came (none).
 */
export const RepairSumType = new ContainerType(
  {
    ...RunFields,
    helper: Uint16,
    sum: Bytes32,
    commitments: Points,
    groupCommitments: Points,
    verifyingShares: Points,
    accusations: new ListCompositeType(RepairAccusationType, MAX_VALIDATORS),
  },
  { typeName: 'RepairSum' },
);
export type RepairSum = ValueOf<typeof RepairSumType>;

export const RepairRequestCodec = defineMessage({
  name: 'RepairRequest',
  tag: 0x0470,
  type: RepairRequestType,
});
export const RepairSplitCodec = defineMessage({ name: 'RepairSplit', tag: 0x0471, type: RepairSplitType });
export const RepairSumCodec = defineMessage({ name: 'RepairSum', tag: 0x0472, type: RepairSumType });
/** What a split's signature covers (never sent alone). */
export const RepairSplitBodyCodec = defineMessage({
  name: 'RepairSplitBody',
  tag: 0x0473,
  type: RepairSplitBodyType,
});

export const REPAIR_TAGS: ReadonlySet<number> = new Set([
  RepairRequestCodec.tag,
  RepairSplitCodec.tag,
  RepairSumCodec.tag,
]);
