import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../codec/errors.ts';
import { fromHex, toHex } from './bytes.ts';
import {
  decodeMerkleProof,
  encodeMerkleProof,
  merkleLeafHash,
  merkleProof,
  merkleRoot,
  verifyMerkleProof,
} from './merkle.ts';

const vectors = JSON.parse(
  readFileSync(new URL('../../test/vectors/rfc6962-merkle.json', import.meta.url), 'utf8'),
) as {
  leaves: string[];
  emptyRoot: string;
  roots: string[];
  paths: { index: number; leafCount: number; path: string[] }[];
};
const leaves = vectors.leaves.map((hex) => fromHex(hex)!);

test('roots match the RFC 6962 test data for every list length from 0 to 8', () => {
  assert.equal(toHex(merkleRoot([])), vectors.emptyRoot);
  vectors.roots.forEach((root, i) => {
    assert.equal(toHex(merkleRoot(leaves.slice(0, i + 1))), root, `root of ${i + 1} leaves`);
  });
});

test('audit paths match the RFC 6962 test data and verify', () => {
  for (const { index, leafCount, path } of vectors.paths) {
    const list = leaves.slice(0, leafCount);
    const proof = merkleProof(list, index);
    assert.deepEqual(proof.path.map(toHex), path);
    assert.equal(verifyMerkleProof(merkleRoot(list), list[index]!, proof), true);
  }
});

test('every leaf of every list up to 40 proves, and only at its own index', () => {
  for (let length = 1; length <= 40; length++) {
    const list = Array.from({ length }, (_, i) => new Uint8Array([i, length]));
    const root = merkleRoot(list);
    for (let index = 0; index < length; index++) {
      const proof = decodeMerkleProof(encodeMerkleProof(merkleProof(list, index)));
      assert.equal(verifyMerkleProof(root, list[index]!, proof), true, `${index} of ${length}`);
      assert.equal(verifyMerkleProof(root, new Uint8Array([255]), proof), false);
      if (length > 1) {
        const other = (index + 1) % length;
        assert.equal(verifyMerkleProof(root, list[index]!, { ...proof, index: other }), false);
      }
    }
  }
});

test('an inner node presented as a leaf does not verify (no second preimage)', () => {
  const list = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3]), new Uint8Array([4])];
  const root = merkleRoot(list);
  // The left child of the root, as data: 32-byte hashes of leaves 0 and 1 concatenated.
  const forgedLeaf = new Uint8Array([...merkleLeafHash(list[0]!), ...merkleLeafHash(list[1]!)]);
  const rightChild = merkleProof(list, 0).path[1]!;
  assert.equal(verifyMerkleProof(root, forgedLeaf, { index: 0, leafCount: 2, path: [rightChild] }), false);
});

test('odd nodes are carried up, not duplicated: [a, b, c] and [a, b, c, c] differ', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 17 }), (list) => {
      if (list.length % 2 === 1) {
        assert.notDeepEqual(merkleRoot(list), merkleRoot([...list, list[list.length - 1]!]));
      }
    }),
  );
});

test('verification returns false, never throws, on malformed input; decoding is typed', () => {
  const list = [new Uint8Array([1]), new Uint8Array([2])];
  const root = merkleRoot(list);
  const proof = merkleProof(list, 0);
  const bad: unknown[] = [
    null,
    {},
    { ...proof, index: -1 },
    { ...proof, index: 0.5 },
    { ...proof, index: 2 },
    { ...proof, path: [new Uint8Array(31)] },
    { ...proof, path: 'x' },
  ];
  for (const candidate of bad) assert.equal(verifyMerkleProof(root, list[0]!, candidate as never), false);
  assert.equal(verifyMerkleProof(new Uint8Array(3), list[0]!, proof), false);
  const encoded = encodeMerkleProof({ index: 5, leafCount: 8, path: [] });
  const outOfRange = encodeMerkleProof({ index: 1, leafCount: 8, path: [] });
  outOfRange.set(encoded.subarray(3, 11), 3 + 8); // leafCount := 5, index stays 1 → valid
  assert.equal(decodeMerkleProof(outOfRange).leafCount, 5);
  assert.throws(
    () => decodeMerkleProof(encodeMerkleProof({ index: 9, leafCount: 8, path: [] })),
    (error: unknown) => error instanceof CodecError && error.field === 'MerkleInclusionProof.index',
  );
  assert.throws(() => merkleProof(list, 2), RangeError);
});
