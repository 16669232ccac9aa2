/**
 * A Merkle tree that EVM contracts check with OpenZeppelin's `MerkleProof.verify`, built exactly as
 * OpenZeppelin's `StandardMerkleTree` (the `@openzeppelin/merkle-tree` package, format
 * `standard-v1`) builds it, so a root or proof made here is accepted there and the reverse:
 *
 *   leaf        = keccak256(keccak256(abi.encode(values...)))
 *   node(a, b)  = keccak256(min(a, b) ‖ max(a, b))      (sorted pair, as MerkleProof.sol hashes)
 *
 * Leaves are sorted by hash, laid out at the end of a complete binary tree array in reverse order,
 * and each internal node at i hashes its children at 2i + 1 and 2i + 2. Hashing the encoded values
 * twice keeps a 64-byte leaf from being read as an inner node (OpenZeppelin's second-preimage
 * defence); sorting pairs spares the proof any left/right flags.
 *
 * Only the static ABI types are encoded (address, bool, uintN, intN, bytesN): what Palisade's
 * price and message leaves contain. Each is one 32-byte word, so `abi.encode` is their concatenation.
 */
import { bytesEqual, compareBytes } from './bytes.ts';
import { keccak256 } from './hash.ts';

export type EvmStaticType = 'address' | 'bool' | `uint${number}` | `int${number}` | `bytes${number}`;
/** `address` and `bytesN` take bytes; `uintN` and `intN` take bigints or safe integers; `bool` a boolean. */
export type EvmValue = Uint8Array | bigint | number | boolean;

/** Far above any batch of messages or prices a certificate covers; keeps proofs at most 24 hashes. */
export const EVM_MERKLE_MAX_LEAVES = 1 << 24;
/** The verifier's bound on proof length: generous for any tree, and it caps the work per call. */
const EVM_MERKLE_MAX_PROOF = 256;

/** A value that does not fit its declared ABI type; `field` is `values[i][j]` or `types[j]`. */
export class EvmEncodingError extends Error {
  override readonly name = 'EvmEncodingError';
  readonly code = 'EVM_ENCODING' as const;
  readonly field: string;
  constructor(field: string, detail: string) {
    super(`EVM_ENCODING at ${field}: ${detail}`);
    this.field = field;
  }
}

function integerWord(value: EvmValue, bits: number, signed: boolean, field: string): Uint8Array {
  let integer: bigint;
  if (typeof value === 'bigint') integer = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
  else throw new EvmEncodingError(field, 'expected a bigint or a safe integer');
  const limit = 1n << BigInt(bits);
  const [low, high] = signed ? [-(limit >> 1n), (limit >> 1n) - 1n] : [0n, limit - 1n];
  if (integer < low || integer > high) throw new EvmEncodingError(field, `out of range for ${bits} bits`);
  // Negative values are two's complement over the whole word, as the EVM sign-extends them.
  const unsigned = integer < 0n ? (1n << 256n) + integer : integer;
  const word = new Uint8Array(32);
  let rest = unsigned;
  for (let i = 31; i >= 0 && rest > 0n; i--) {
    word[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return word;
}

function encodeWord(type: EvmStaticType, value: EvmValue, field: string): Uint8Array {
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new EvmEncodingError(field, 'expected a boolean');
    const word = new Uint8Array(32);
    word[31] = value ? 1 : 0;
    return word;
  }
  if (type === 'address') {
    if (!(value instanceof Uint8Array) || value.length !== 20)
      throw new EvmEncodingError(field, 'expected 20 bytes');
    const word = new Uint8Array(32);
    word.set(value, 12);
    return word;
  }
  const match = /^(uint|int|bytes)([0-9]+)$/.exec(type);
  const size = Number(match?.[2]);
  if (match?.[1] === 'bytes' && size >= 1 && size <= 32) {
    if (!(value instanceof Uint8Array) || value.length !== size) {
      throw new EvmEncodingError(field, `expected ${size} bytes`);
    }
    const word = new Uint8Array(32);
    word.set(value, 0);
    return word;
  }
  if ((match?.[1] === 'uint' || match?.[1] === 'int') && size >= 8 && size <= 256 && size % 8 === 0) {
    return integerWord(value, size, match[1] === 'int', field);
  }
  throw new EvmEncodingError(field, `'${type}' is not a supported static ABI type`);
}

/**
 * `abi.encode(values...)` for static types.
 * @example evmAbiEncode(['address', 'uint256'], [recipient, 1000n]); // 64 bytes
 * @throws EvmEncodingError naming the value that does not fit its type
 */
export function evmAbiEncode(
  types: readonly EvmStaticType[],
  values: readonly EvmValue[],
  at = 'values',
): Uint8Array {
  if (types.length !== values.length) {
    throw new EvmEncodingError(at, `${values.length} values for ${types.length} types`);
  }
  const out = new Uint8Array(32 * types.length);
  types.forEach((type, j) => {
    out.set(encodeWord(type, values[j] as EvmValue, `${at}[${j}]`), 32 * j);
  });
  return out;
}

/**
 * The leaf hash `StandardMerkleTree` gives these values: keccak256(keccak256(abi.encode(values))).
 * @example const leaf = evmLeafHash(['address', 'uint256'], [recipient, 1000n]);
 * @throws EvmEncodingError naming the value that does not fit its type
 */
export function evmLeafHash(types: readonly EvmStaticType[], values: readonly EvmValue[]): Uint8Array {
  return keccak256(keccak256(evmAbiEncode(types, values)));
}

/** MerkleProof.sol's `_hashPair`: the two hashes in ascending order, concatenated and hashed. */
function sortedPairHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) <= 0 ? keccak256(a, b) : keccak256(b, a);
}

export interface EvmMerkleTree {
  readonly root: Uint8Array;
  readonly length: number;
  /** The leaf hash of the `valueIndex`-th values given to {@link createEvmMerkleTree}. */
  leafHash(valueIndex: number): Uint8Array;
  /** The proof for the `valueIndex`-th values, bottom up, as `MerkleProof.verify` takes it. */
  proof(valueIndex: number): Uint8Array[];
}

/**
 * Builds the tree over `values` (each a tuple matching `types`), as `StandardMerkleTree.of(values,
 * types)` does with its default `sortLeaves: true`.
 * @example
 * const tree = createEvmMerkleTree(['address', 'uint256'], [[alice, 5n], [bob, 7n]]);
 * verifyEvmMerkleProof(tree.root, tree.leafHash(1), tree.proof(1)); // true
 * @throws EvmEncodingError for a value that does not fit its type; RangeError for no values or too many
 */
export function createEvmMerkleTree(
  types: readonly EvmStaticType[],
  values: readonly (readonly EvmValue[])[],
): EvmMerkleTree {
  if (values.length === 0 || values.length > EVM_MERKLE_MAX_LEAVES) {
    throw new RangeError(`an EVM Merkle tree holds 1 to ${EVM_MERKLE_MAX_LEAVES} leaves`);
  }
  const hashed = values.map((tuple, valueIndex) => ({
    valueIndex,
    hash: keccak256(keccak256(evmAbiEncode(types, tuple, `values[${valueIndex}]`))),
  }));
  // Array.prototype.sort is stable, so equal leaves keep their input order, as in the package.
  hashed.sort((a, b) => compareBytes(a.hash, b.hash));
  const nodes = new Array<Uint8Array>(2 * hashed.length - 1);
  const treeIndexOf = new Array<number>(values.length);
  hashed.forEach(({ valueIndex, hash }, sortedIndex) => {
    const treeIndex = nodes.length - 1 - sortedIndex;
    nodes[treeIndex] = hash;
    treeIndexOf[valueIndex] = treeIndex;
  });
  for (let i = nodes.length - 1 - hashed.length; i >= 0; i--) {
    nodes[i] = sortedPairHash(nodes[2 * i + 1]!, nodes[2 * i + 2]!);
  }
  const positionOf = (valueIndex: number): number => {
    const treeIndex = Number.isSafeInteger(valueIndex) ? treeIndexOf[valueIndex] : undefined;
    if (treeIndex === undefined) throw new RangeError(`no values at index ${valueIndex}`);
    return treeIndex;
  };
  return Object.freeze({
    root: nodes[0]!.slice(),
    length: values.length,
    leafHash: (valueIndex: number) => nodes[positionOf(valueIndex)]!.slice(),
    proof(valueIndex: number): Uint8Array[] {
      const proof: Uint8Array[] = [];
      for (let i = positionOf(valueIndex); i > 0; i = (i - 1) >> 1) {
        proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]!.slice());
      }
      return proof;
    },
  });
}

/**
 * `MerkleProof.verify(proof, root, leaf)`: folds the proof into the leaf with sorted-pair hashing
 * and compares with the root. Pure; false, never a throw, on malformed input.
 * @example verifyEvmMerkleProof(root, evmLeafHash(['address', 'uint256'], [alice, 5n]), proof);
 */
export function verifyEvmMerkleProof(
  root: Uint8Array,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  try {
    if (!(root instanceof Uint8Array) || root.length !== 32) return false;
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== 32) return false;
    if (!Array.isArray(proof) || proof.length > EVM_MERKLE_MAX_PROOF) return false;
    let hash = leafHash;
    for (const sibling of proof) {
      if (!(sibling instanceof Uint8Array) || sibling.length !== 32) return false;
      hash = sortedPairHash(hash, sibling);
    }
    return bytesEqual(hash, root);
  } catch {
    return false;
  }
}
