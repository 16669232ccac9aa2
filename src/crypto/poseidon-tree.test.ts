import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accountLeaf,
  FIELD_ORDER,
  loadPoseidon,
  PoseidonTree,
  PoseidonTreeError,
  packPosition,
  positionsDigest,
  rootFromPath,
  syncPoseidon,
} from './poseidon-tree.ts';

const hasher = await loadPoseidon();

test('Poseidon matches circomlib reference vectors (BN254, circomlib constants)', () => {
  // Published with circomlib / circomlibjs and reproduced by other implementations (iden3's Go,
  // the Poseidon paper's reference script with circomlib's parameters).
  assert.equal(
    hasher.hash([1n]),
    18586133768512220936620570745912940619677854269274689475585506675881198879027n,
  );
  assert.equal(hasher.hash([1n, 2n]), 0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189an);
  assert.equal(
    hasher.hash([1n, 2n, 3n]),
    6542985608222806190361240322586112750744169038454362455181422643027100751666n,
  );
  assert.equal(
    hasher.hash([1n, 2n, 3n, 4n]),
    0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465n,
  );
});

test("the engine's synchronous Poseidon (poseidon-lite) equals circomlibjs on every arity the tree uses", () => {
  let seed = 0x9e3779b97f4a7c15n;
  const next = (): bigint => {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 256n;
    return seed % FIELD_ORDER;
  };
  for (let i = 0; i < 40; i++) {
    for (const arity of [1, 2, 3]) {
      const inputs = Array.from({ length: arity }, next);
      assert.equal(syncPoseidon.hash(inputs), hasher.hash(inputs), `arity ${arity}`);
    }
  }
  const tree = new PoseidonTree(syncPoseidon, 6);
  const reference = new PoseidonTree(hasher, 6);
  for (const [i, leaf] of [
    [0, 5n],
    [9, 6n],
    [63, 7n],
  ] as const) {
    tree.set(i, leaf);
    reference.set(i, leaf);
  }
  assert.equal(tree.root(), reference.root());
  assert.throws(() => syncPoseidon.hash([FIELD_ORDER]), PoseidonTreeError);
});

test('the tree root is a function of the leaves: order of updates and rewrites do not matter', () => {
  const a = new PoseidonTree(hasher, 8);
  const b = new PoseidonTree(hasher, 8);
  a.set(3, 11n);
  a.set(200, 12n);
  a.set(7, 13n);
  b.set(7, 99n);
  b.set(200, 12n);
  b.set(3, 11n);
  b.set(7, 13n);
  assert.equal(a.root(), b.root());
  const empty = new PoseidonTree(hasher, 8).root();
  a.set(3, 0n);
  a.set(200, 0n);
  a.set(7, 0n);
  assert.equal(a.root(), empty);
  assert.deepEqual(a.snapshot().leaves, []);
});

test('a path recomputes the root; a path for another index or leaf does not', () => {
  const tree = new PoseidonTree(hasher, 20);
  for (let i = 0; i < 10; i++) tree.set(i * 977, BigInt(i + 1));
  const path = tree.path(977 * 4);
  assert.equal(rootFromPath(hasher, 5n, path), tree.root());
  assert.notEqual(rootFromPath(hasher, 6n, path), tree.root());
  assert.notEqual(rootFromPath(hasher, 5n, tree.path(977 * 3)), tree.root());
});

test('snapshot and restore give the same root; a malformed snapshot is refused', () => {
  const tree = new PoseidonTree(hasher, 12);
  tree.set(5, 1n);
  tree.set(4095, 2n);
  const snapshot = JSON.parse(JSON.stringify(tree.snapshot()));
  assert.equal(PoseidonTree.restore(hasher, snapshot).root(), tree.root());
  assert.throws(
    () =>
      PoseidonTree.restore(hasher, {
        depth: 12,
        leaves: [
          [5, '1'],
          [5, '2'],
        ],
      }),
    (e: unknown) => e instanceof PoseidonTreeError && e.code === 'INVALID_SNAPSHOT',
  );
  assert.throws(
    () => PoseidonTree.restore(hasher, { depth: 12, leaves: [[4096, '1']] }),
    (e: unknown) => e instanceof PoseidonTreeError && e.code === 'INDEX_OUT_OF_RANGE',
  );
});

test('leaves bind balance, every position (its sign too) and the owner commitment', () => {
  const base = {
    balance: 1000n,
    positions: [
      { seriesId: 2, lots: -3 },
      { seriesId: 1, lots: 5 },
    ],
    ownerCommitment: 7n,
  };
  const leaf = accountLeaf(hasher, base);
  assert.equal(accountLeaf(hasher, { ...base, positions: [...base.positions].reverse() }), leaf);
  assert.notEqual(accountLeaf(hasher, { ...base, balance: 1001n }), leaf);
  assert.notEqual(accountLeaf(hasher, { ...base, ownerCommitment: 8n }), leaf);
  assert.notEqual(
    accountLeaf(hasher, {
      ...base,
      positions: [
        { seriesId: 2, lots: 3 },
        { seriesId: 1, lots: 5 },
      ],
    }),
    leaf,
  );
  assert.notEqual(accountLeaf(hasher, { ...base, positions: [{ seriesId: 1, lots: 5 }] }), leaf);
  assert.equal(positionsDigest(hasher, []), 0n);
  assert.equal(packPosition({ seriesId: 1, lots: -3 }), 2n ** 33n + 2n ** 32n + 3n);
  assert.throws(() => packPosition({ seriesId: 1, lots: 2 ** 32 }), PoseidonTreeError);
  assert.throws(() => accountLeaf(hasher, { ...base, balance: -1n }), PoseidonTreeError);
  assert.throws(() => hasher.hash([-1n]), PoseidonTreeError);
});
