/**
 * The wire form of a state proof (see `crypto/state-commitment.ts` for the tree it proves against):
 * for each internal node from the root down to where the key's path ends, its child bitmap and the
 * hashes of its other children, and the leaf found at the end, if any. Light clients and the API
 * receive it as this message, so its decoding is bounded like every other: at most 64 levels (one
 * per key nibble) of at most 15 siblings, and at most one leaf.
 */
import { ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
import { Bytes32, Uint16 } from './primitives.ts';

/** A key is 256 bits, 64 nibbles, so no path in the 16-ary tree is deeper than this. */
export const STATE_PROOF_MAX_DEPTH = 64;
/** The children of a node other than the one on the proven path. */
export const STATE_PROOF_MAX_SIBLINGS = 15;

export const StateProofLeafType = new ContainerType(
  { key: Bytes32, valueHash: Bytes32 },
  { typeName: 'StateProofLeaf' },
);
export type StateProofLeaf = ValueOf<typeof StateProofLeafType>;

/** One internal node on the path: which of its 16 children exist, and the hashes of the others. */
export const StateProofLevelType = new ContainerType(
  { childBitmap: Uint16, siblings: new ListCompositeType(Bytes32, STATE_PROOF_MAX_SIBLINGS) },
  { typeName: 'StateProofLevel' },
);
export type StateProofLevel = ValueOf<typeof StateProofLevelType>;

export const StateProofType = new ContainerType(
  {
    /** The internal nodes from the root down to where the key's path ends. */
    levels: new ListCompositeType(StateProofLevelType, STATE_PROOF_MAX_DEPTH),
    /** The leaf at the end of the path: empty list when the path ends at an empty child. */
    leaf: new ListCompositeType(StateProofLeafType, 1),
  },
  { typeName: 'StateProof' },
);
export type StateProof = ValueOf<typeof StateProofType>;

export const StateProofCodec = defineMessage({
  name: 'StateProof',
  tag: 0x0110,
  type: StateProofType,
});
