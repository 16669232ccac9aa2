import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { AbiCoder } from 'ethers';
import fc from 'fast-check';
import { toHex } from './bytes.ts';
import {
  createEvmMerkleTree,
  EvmEncodingError,
  type EvmStaticType,
  evmAbiEncode,
  evmLeafHash,
  verifyEvmMerkleProof,
} from './merkle-evm.ts';

const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;

// A price-certificate-like leaf: (feed id, price, timestamp, signed premium, flag, asset address).
const types: EvmStaticType[] = ['bytes32', 'uint256', 'uint64', 'int128', 'bool', 'address'];
const tupleArbitrary = fc.tuple(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 127n), max: (1n << 127n) - 1n }),
  fc.boolean(),
  fc.uint8Array({ minLength: 20, maxLength: 20 }),
);

/** The same tuple in the form the OpenZeppelin package takes: hex strings, decimal strings. */
function forOpenZeppelin(tuple: readonly (Uint8Array | bigint | boolean)[]): unknown[] {
  return tuple.map((value) =>
    value instanceof Uint8Array ? hex(value) : typeof value === 'bigint' ? value.toString() : value,
  );
}

test('roots, leaf hashes and proofs equal @openzeppelin/merkle-tree StandardMerkleTree', () => {
  fc.assert(
    fc.property(fc.array(tupleArbitrary, { minLength: 1, maxLength: 24 }), (tuples) => {
      const ours = createEvmMerkleTree(types, tuples);
      const theirs = StandardMerkleTree.of(tuples.map(forOpenZeppelin), types);
      assert.equal(hex(ours.root), theirs.root);
      tuples.forEach((tuple, i) => {
        assert.equal(hex(ours.leafHash(i)), theirs.leafHash(forOpenZeppelin(tuple)));
        assert.deepEqual(ours.proof(i).map(hex), theirs.getProof(i));
        assert.equal(verifyEvmMerkleProof(ours.root, evmLeafHash(types, tuple), ours.proof(i)), true);
        assert.equal(
          StandardMerkleTree.verify(theirs.root, types, forOpenZeppelin(tuple), ours.proof(i).map(hex)),
          true,
        );
      });
    }),
    { numRuns: 60 },
  );
});

test('a proof does not verify another leaf or another root', () => {
  const tuples = Array.from(
    { length: 5 },
    (_, i) => [new Uint8Array(32).fill(i), BigInt(i), 1n, -1n, true, new Uint8Array(20)] as const,
  );
  const tree = createEvmMerkleTree(types, tuples);
  const proof = tree.proof(2);
  assert.equal(verifyEvmMerkleProof(tree.root, tree.leafHash(3), proof), false);
  assert.equal(verifyEvmMerkleProof(tree.leafHash(2), tree.leafHash(2), proof), false);
  assert.equal(verifyEvmMerkleProof(tree.root, tree.leafHash(2), proof.slice(1)), false);
  assert.equal(verifyEvmMerkleProof(tree.root, tree.leafHash(2), [new Uint8Array(3)]), false);
  assert.equal(verifyEvmMerkleProof(tree.root, tree.leafHash(2), 'x' as never), false);
});

test('abi.encode of static values equals ethers AbiCoder', () => {
  const coder = AbiCoder.defaultAbiCoder();
  fc.assert(
    fc.property(tupleArbitrary, (tuple) => {
      assert.equal(hex(evmAbiEncode(types, tuple)), coder.encode(types, forOpenZeppelin(tuple)));
    }),
    { numRuns: 100 },
  );
});

test('abi.encode known answer: small integers pad left, negatives sign-extend, bytesN pad right', () => {
  // abi.encode(uint8(1), int16(-2), bytes4(0xdeadbeef)): three words; -2 sign-extends to 0xff..fe.
  const encoded = evmAbiEncode(
    ['uint8', 'int16', 'bytes4'],
    [1, -2n, new Uint8Array([0xde, 0xad, 0xbe, 0xef])],
  );
  assert.equal(toHex(encoded), `${'00'.repeat(31)}01${'ff'.repeat(31)}fe${'deadbeef'}${'00'.repeat(28)}`);
});

test('values that do not fit their type are typed errors naming the position', () => {
  const cases: [EvmStaticType[], unknown[], string][] = [
    [['uint8'], [256n], 'values[0][0]'],
    [['int8'], [-129n], 'values[0][0]'],
    [['uint256'], [1.5], 'values[0][0]'],
    [['address'], [new Uint8Array(19)], 'values[0][0]'],
    [['bytes4'], [new Uint8Array(3)], 'values[0][0]'],
    [['bool'], [1], 'values[0][0]'],
    [['uint7' as EvmStaticType], [1n], 'values[0][0]'],
    [['uint8', 'uint8'], [1n], 'values[0]'],
  ];
  for (const [caseTypes, tuple, field] of cases) {
    assert.throws(
      () => createEvmMerkleTree(caseTypes, [tuple as never]),
      (error: unknown) => error instanceof EvmEncodingError && error.field === field,
      `${caseTypes.join(',')}`,
    );
  }
  assert.throws(() => createEvmMerkleTree(types, []), RangeError);
});
