/**
 * Poseidon commitments to accounts, the ones the margin circuit (circuits/margin.circom) opens.
 *
 * Hash: Poseidon over BN254's scalar field with circomlib's constants, evaluated by `circomlibjs`
 * (the reference JS of the same project as circomlib's circuits): a root computed here and a root
 * recomputed inside the circuit agree bit for bit, which the proving tests exercise. The engine
 * needs a synchronous hash and cannot wait seconds at start-up for circomlibjs (importing it and
 * building its WASM took 2.4 s + 4 s here, measured), so `syncPoseidon` evaluates the same
 * permutation with `poseidon-lite` (pure JS, circomlib's constants, used by Semaphore/zk-kit); a
 * test checks the two agree on random inputs of every arity the tree uses.
 *
 *   ownerCommitment = Poseidon(secret)
 *   packed position = seriesId · 2^33 + short · 2^32 + |lots|      (seriesId, |lots| < 2^32)
 *   positionsDigest = d_n, d_0 = 0, d_{i+1} = Poseidon(d_i, packed_i), positions by seriesId
 *   leaf            = Poseidon(balance, positionsDigest, ownerCommitment)
 *   tree            = binary, fixed depth (20: 2^20 accounts), empty leaf 0,
 *                     node = Poseidon(left, right); leaf index = the account's index
 *
 * Updates are incremental: setting a leaf rehashes the `depth` nodes above it (20 Poseidon(2)),
 * nodes of empty subtrees are the precomputed zero hashes and never stored. The tree is a pure
 * function of its non-empty leaves; the snapshot is exactly that list, and `restore` rebuilds it.
 */
import { poseidon1 } from 'poseidon-lite/poseidon1';
import { poseidon2 } from 'poseidon-lite/poseidon2';
import { poseidon3 } from 'poseidon-lite/poseidon3';

/** BN254's scalar field order: every Poseidon input and output is below it. */
export const FIELD_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
export const POSEIDON_TREE_DEPTH = 20;
const U32 = 2n ** 32n;

export type PoseidonTreeErrorCode =
  | 'OUT_OF_FIELD'
  | 'INDEX_OUT_OF_RANGE'
  | 'INVALID_POSITION'
  | 'INVALID_SNAPSHOT';

export class PoseidonTreeError extends Error {
  override readonly name = 'PoseidonTreeError';
  readonly code: PoseidonTreeErrorCode;
  readonly field: string;
  constructor(code: PoseidonTreeErrorCode, field: string, detail: string) {
    super(`${code} at ${field}: ${detail}`);
    this.code = code;
    this.field = field;
  }
}

export interface PoseidonHasher {
  /** Poseidon over 1 to 16 field elements. */
  hash(inputs: readonly bigint[]): bigint;
}

let hasherPromise: Promise<PoseidonHasher> | undefined;

/** The process's Poseidon (circomlibjs builds its WASM once). */
export function loadPoseidon(): Promise<PoseidonHasher> {
  // Imported on first use: loading circomlibjs costs seconds, and the engine (which imports this
  // module for `syncPoseidon`) must not pay them.
  hasherPromise ??= import('circomlibjs')
    .then(({ buildPoseidon }) => buildPoseidon())
    .then((poseidon) => ({
      hash(inputs: readonly bigint[]): bigint {
        inputs.forEach((value, i) => {
          checkField(value, `inputs[${i}]`);
        });
        return poseidon.F.toObject(poseidon(inputs));
      },
    }));
  return hasherPromise;
}

/**
 * Poseidon over 1 to 3 inputs, synchronously (`poseidon-lite`): what the engine's account tree uses
 * (leaves take 3 inputs, nodes and the positions chain 2, the owner commitment 1).
 */
export const syncPoseidon: PoseidonHasher = Object.freeze({
  hash(inputs: readonly bigint[]): bigint {
    inputs.forEach((value, i) => {
      checkField(value, `inputs[${i}]`);
    });
    const list = [...inputs];
    if (list.length === 1) return poseidon1(list);
    if (list.length === 2) return poseidon2(list);
    if (list.length === 3) return poseidon3(list);
    throw new PoseidonTreeError('OUT_OF_FIELD', 'inputs', 'the synchronous Poseidon takes 1 to 3 inputs');
  },
});

function checkField(value: bigint, field: string): void {
  if (value < 0n || value >= FIELD_ORDER) {
    throw new PoseidonTreeError('OUT_OF_FIELD', field, 'not an element of the BN254 scalar field');
  }
}

export interface CommittedPosition {
  seriesId: number;
  /** Signed lots, never 0. */
  lots: number;
}

export interface AccountLeafInput {
  /** Quote base units, 0 ≤ balance < 2^64 (the circuit's range). */
  balance: bigint;
  positions: readonly CommittedPosition[];
  ownerCommitment: bigint;
}

export function ownerCommitment(hasher: PoseidonHasher, secret: bigint): bigint {
  return hasher.hash([secret]);
}

export function packPosition(position: CommittedPosition, field = 'position'): bigint {
  const { seriesId, lots } = position;
  if (!Number.isSafeInteger(seriesId) || seriesId < 0 || BigInt(seriesId) >= U32) {
    throw new PoseidonTreeError('INVALID_POSITION', `${field}.seriesId`, 'must be an integer in [0, 2^32)');
  }
  if (!Number.isSafeInteger(lots) || lots === 0 || BigInt(Math.abs(lots)) >= U32) {
    throw new PoseidonTreeError(
      'INVALID_POSITION',
      `${field}.lots`,
      'must be a non-zero integer, |lots| < 2^32',
    );
  }
  return BigInt(seriesId) * 2n * U32 + (lots < 0 ? U32 : 0n) + BigInt(Math.abs(lots));
}

/** Positions in the order the digest and the circuit take them: by series id. */
export function canonicalPositions(positions: readonly CommittedPosition[]): CommittedPosition[] {
  const sorted = [...positions].sort((a, b) => a.seriesId - b.seriesId);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.seriesId === sorted[i - 1]?.seriesId) {
      throw new PoseidonTreeError('INVALID_POSITION', `positions[${i}]`, 'two positions in one series');
    }
  }
  return sorted;
}

export function positionsDigest(hasher: PoseidonHasher, positions: readonly CommittedPosition[]): bigint {
  let digest = 0n;
  canonicalPositions(positions).forEach((position, i) => {
    digest = hasher.hash([digest, packPosition(position, `positions[${i}]`)]);
  });
  return digest;
}

export function accountLeaf(hasher: PoseidonHasher, account: AccountLeafInput): bigint {
  if (account.balance < 0n || account.balance >= 2n ** 64n) {
    throw new PoseidonTreeError('OUT_OF_FIELD', 'balance', 'must be in [0, 2^64)');
  }
  checkField(account.ownerCommitment, 'ownerCommitment');
  return hasher.hash([account.balance, positionsDigest(hasher, account.positions), account.ownerCommitment]);
}

export interface MerklePath {
  /** Sibling at each level, leaf level first. */
  siblings: bigint[];
  /** 1 where the node on the path is the right child. */
  pathBits: number[];
}

export interface PoseidonTreeSnapshot {
  depth: number;
  /** Non-empty leaves by increasing index, values as decimal strings. */
  leaves: Array<[number, string]>;
}

export class PoseidonTree {
  readonly depth: number;
  private readonly hasher: PoseidonHasher;
  private readonly zeros: bigint[];
  /** levels[l]: index → node at height l (0 = leaves); nodes equal to the zero hash are absent. */
  private readonly levels: Array<Map<number, bigint>>;

  constructor(hasher: PoseidonHasher, depth = POSEIDON_TREE_DEPTH) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 32) {
      throw new PoseidonTreeError('INDEX_OUT_OF_RANGE', 'depth', 'must be an integer in [1, 32]');
    }
    this.depth = depth;
    this.hasher = hasher;
    this.zeros = [0n];
    for (let l = 0; l < depth; l++) {
      const z = this.zeros[l] as bigint;
      this.zeros.push(hasher.hash([z, z]));
    }
    this.levels = Array.from({ length: depth + 1 }, () => new Map<number, bigint>());
  }

  private node(level: number, index: number): bigint {
    return this.levels[level]?.get(index) ?? (this.zeros[level] as bigint);
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** this.depth) {
      throw new PoseidonTreeError(
        'INDEX_OUT_OF_RANGE',
        'index',
        `must be an integer in [0, 2^${this.depth})`,
      );
    }
  }

  /** Sets one leaf and rehashes the path above it: `depth` Poseidon(2) evaluations. */
  set(index: number, leaf: bigint): void {
    this.checkIndex(index);
    checkField(leaf, 'leaf');
    let value = leaf;
    let at = index;
    for (let level = 0; level <= this.depth; level++) {
      const nodes = this.levels[level] as Map<number, bigint>;
      if (value === this.zeros[level]) nodes.delete(at);
      else nodes.set(at, value);
      if (level === this.depth) break;
      const sibling = this.node(level, at ^ 1);
      value = at & 1 ? this.hasher.hash([sibling, value]) : this.hasher.hash([value, sibling]);
      at >>= 1;
    }
  }

  leaf(index: number): bigint {
    this.checkIndex(index);
    return this.node(0, index);
  }

  root(): bigint {
    return this.node(this.depth, 0);
  }

  path(index: number): MerklePath {
    this.checkIndex(index);
    const siblings: bigint[] = [];
    const pathBits: number[] = [];
    let at = index;
    for (let level = 0; level < this.depth; level++) {
      siblings.push(this.node(level, at ^ 1));
      pathBits.push(at & 1);
      at >>= 1;
    }
    return { siblings, pathBits };
  }

  snapshot(): PoseidonTreeSnapshot {
    const leaves = [...(this.levels[0] as Map<number, bigint>).entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, v]): [number, string] => [i, v.toString()]);
    return { depth: this.depth, leaves };
  }

  static restore(hasher: PoseidonHasher, snapshot: PoseidonTreeSnapshot): PoseidonTree {
    const tree = new PoseidonTree(hasher, snapshot.depth);
    let previous = -1;
    for (const [index, value] of snapshot.leaves) {
      if (!Number.isSafeInteger(index) || index <= previous) {
        throw new PoseidonTreeError('INVALID_SNAPSHOT', 'leaves', 'indices must be increasing integers');
      }
      if (!/^(0|[1-9][0-9]*)$/.test(value)) {
        throw new PoseidonTreeError('INVALID_SNAPSHOT', `leaves[${index}]`, 'not a decimal field element');
      }
      tree.set(index, BigInt(value));
      previous = index;
    }
    return tree;
  }
}

/** Recomputes a root from a leaf and its path (what the circuit does). */
export function rootFromPath(hasher: PoseidonHasher, leaf: bigint, path: MerklePath): bigint {
  let value = leaf;
  path.siblings.forEach((sibling, level) => {
    value = path.pathBits[level] ? hasher.hash([sibling, value]) : hasher.hash([value, sibling]);
  });
  return value;
}
