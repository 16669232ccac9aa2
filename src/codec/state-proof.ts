/**
 * The wire form of a state proof (see `crypto/state-commitment.ts` for the tree it proves against):
 * the sibling hashes from the root down to the position where the key's path ends, and the leaf
 * found there, if any. Light clients and the API receive it as this message, so its decoding is
 * bounded like every other: at most 256 siblings (one per key bit) and at most one leaf.
 */
import { ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
import { Bytes32 } from './primitives.ts';

/** A key is 256 bits, so no path in the tree is deeper than this. */
export const STATE_PROOF_MAX_DEPTH = 256;

export const StateProofLeafType = new ContainerType(
  { key: Bytes32, valueHash: Bytes32 },
  { typeName: 'StateProofLeaf' },
);
export type StateProofLeaf = ValueOf<typeof StateProofLeafType>;

export const StateProofType = new ContainerType(
  {
    /** Sibling hashes, `siblings[0]` being the root's other child, down to the terminal position. */
    siblings: new ListCompositeType(Bytes32, STATE_PROOF_MAX_DEPTH),
    /** The leaf at the terminal position: empty list when that position is empty. */
    leaf: new ListCompositeType(StateProofLeafType, 1),
  },
  { typeName: 'StateProof' },
);
export type StateProof = ValueOf<typeof StateProofType>;

export const StateProofCodec = defineMessage({
  name: 'StateProof',
  tag: 0x0110,
  type: StateProofType,
  maxBytes: 3 + StateProofType.maxSize,
});
