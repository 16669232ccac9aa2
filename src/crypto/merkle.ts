/**
 * Ordered-list commitment: the Merkle Tree Hash of RFC 6962 §2.1 (restated in RFC 9162 §2.1.1)
 * over SHA-256, for the transactions and events of a block.
 *
 *   MTH({})      = SHA-256()
 *   leaf(d)      = SHA-256(0x00 ‖ d)
 *   node(l, r)   = SHA-256(0x01 ‖ l ‖ r)
 *   MTH(D[0:n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n
 *
 * The distinct leaf and node prefixes defeat the second-preimage trick of presenting an inner node
 * as a leaf, and the odd node at the end of a level is carried up unhashed rather than paired with
 * itself, so no two lists share a root (Bitcoin's duplication allowed that: CVE-2012-2459).
 * Leaf data is hashed inside: callers pass the bytes (an encoded transaction, an event) themselves.
 *
 * As in RFC 6962, the root does not commit to the number of leaves on its own: a proof for a leaf
 * away from the right edge verifies for several list lengths. Whoever signs a root (a block header)
 * must sign the count beside it, and verifiers take the count from there.
 */
import {
  MERKLE_MAX_LEAVES,
  MERKLE_MAX_PATH,
  type MerkleInclusionProof,
  MerkleInclusionProofCodec,
} from '../codec/merkle-proof.ts';
import { bytesEqual } from './bytes.ts';
import { sha256 } from './hash.ts';

export type { MerkleInclusionProof };
export { MERKLE_MAX_LEAVES };

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** The hash of one leaf's data: SHA-256(0x00 ‖ data). */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

function checkLeaves(leaves: readonly Uint8Array[]): void {
  if (!Array.isArray(leaves) || leaves.length > MERKLE_MAX_LEAVES) {
    throw new RangeError(`a Merkle list holds at most ${MERKLE_MAX_LEAVES} leaves`);
  }
}

/**
 * Every level of the tree, leaves' hashes first; a level's odd last node moves up unchanged,
 * which is the same tree as RFC 6962's split at the largest power of two.
 */
function levels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  const all: Uint8Array[][] = [leaves.map(merkleLeafHash)];
  for (let level = all[0]!; level.length > 1; ) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    all.push(next);
    level = next;
  }
  return all;
}

/**
 * The root committing to `leaves` in order.
 * @example const transactionsRoot = merkleRoot(block.transactions.map((tx) => SignedTransactionCodec.encode(tx)));
 * @throws RangeError above 2^32 − 1 leaves
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  checkLeaves(leaves);
  if (leaves.length === 0) return sha256();
  const all = levels(leaves);
  return all[all.length - 1]![0]!;
}

/**
 * The inclusion proof of `leaves[index]` (RFC 9162 §2.1.3.1's audit path, bottom up).
 * @example const proof = merkleProof(encodedTransactions, 3);
 * @throws RangeError when `index` is not a position in `leaves`
 */
export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleInclusionProof {
  checkLeaves(leaves);
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`index ${index} is outside a list of ${leaves.length}`);
  }
  const path: Uint8Array[] = [];
  let position = index;
  for (const level of levels(leaves)) {
    if (level.length === 1) break;
    const sibling = position ^ 1;
    // The last node of an odd level has no sibling: it moves up and adds nothing to the path.
    if (sibling < level.length) path.push(level[sibling]!);
    position >>>= 1;
  }
  return { index, leafCount: leaves.length, path };
}

/**
 * Checks that `leaf` is at `proof.index` of a list of `proof.leafCount` committed to by `root`
 * (RFC 9162 §2.1.3.2). Pure; returns false, never throws, on malformed input.
 * @example verifyMerkleProof(block.transactionsRoot, encodedTransaction, proof); // true
 */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleInclusionProof): boolean {
  try {
    if (!(root instanceof Uint8Array) || root.length !== 32 || !(leaf instanceof Uint8Array)) return false;
    if (typeof proof !== 'object' || proof === null) return false;
    const { index, leafCount, path } = proof;
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(leafCount)) return false;
    if (index < 0 || index >= leafCount || leafCount > MERKLE_MAX_LEAVES) return false;
    if (!Array.isArray(path) || path.length > MERKLE_MAX_PATH) return false;
    let position = index;
    let last = leafCount - 1;
    let hash = merkleLeafHash(leaf);
    for (const sibling of path) {
      if (!(sibling instanceof Uint8Array) || sibling.length !== 32 || last === 0) return false;
      if (position % 2 === 1 || position === last) {
        hash = nodeHash(sibling, hash);
        // A right-edge node with no sibling rises through levels without being hashed.
        while (position % 2 === 0 && position !== 0) {
          position = Math.floor(position / 2);
          last = Math.floor(last / 2);
        }
      } else {
        hash = nodeHash(hash, sibling);
      }
      position = Math.floor(position / 2);
      last = Math.floor(last / 2);
    }
    return last === 0 && bytesEqual(hash, root);
  } catch {
    return false;
  }
}

/**
 * The canonical bytes of an inclusion proof.
 * @example const bytes = encodeMerkleProof(merkleProof(leaves, 0));
 */
export function encodeMerkleProof(proof: MerkleInclusionProof): Uint8Array {
  return MerkleInclusionProofCodec.encode(proof);
}

/**
 * Decodes an inclusion proof from untrusted bytes.
 * @example const proof = decodeMerkleProof(bytes);
 * @throws CodecError naming the failing field
 */
export function decodeMerkleProof(bytes: Uint8Array): MerkleInclusionProof {
  return MerkleInclusionProofCodec.decode(bytes);
}
