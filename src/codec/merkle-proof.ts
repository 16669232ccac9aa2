/**
 * The wire form of an inclusion proof in an ordered-list commitment (`crypto/merkle.ts`): the
 * leaf's index, the list's length and the audit path of RFC 9162 §2.1.3. Bounded like every
 * decoder: a list of at most 2^32 − 1 leaves has an audit path of at most 32 hashes.
 */
import { ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
import { Bytes32, Uint64 } from './primitives.ts';

/** The most leaves one commitment covers; far above any block's transactions or events. */
export const MERKLE_MAX_LEAVES = 0xffff_ffff;
export const MERKLE_MAX_PATH = 32;

export const MerkleInclusionProofType = new ContainerType(
  {
    index: Uint64,
    leafCount: Uint64,
    path: new ListCompositeType(Bytes32, MERKLE_MAX_PATH),
  },
  { typeName: 'MerkleInclusionProof' },
);
export type MerkleInclusionProof = ValueOf<typeof MerkleInclusionProofType>;

export const MerkleInclusionProofCodec = defineMessage({
  name: 'MerkleInclusionProof',
  tag: 0x0111,
  type: MerkleInclusionProofType,
  validate: (proof) => {
    if (proof.leafCount > MERKLE_MAX_LEAVES) return { field: 'leafCount', reason: 'above 2^32 − 1' };
    if (proof.index >= proof.leafCount) return { field: 'index', reason: 'not below leafCount' };
    return undefined;
  },
});
