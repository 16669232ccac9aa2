/**
 * Fuzzes every proof verifier with mutated and random proofs: a verifier returns a boolean and
 * never throws, and a mutated proof verifies only if it still is the honest proof.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from '../../src/codec/errors.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import {
  decodeMerkleProof,
  encodeMerkleProof,
  merkleProof,
  merkleRoot,
  verifyMerkleProof,
} from '../../src/crypto/merkle.ts';
import { createEvmMerkleTree, verifyEvmMerkleProof } from '../../src/crypto/merkle-evm.ts';
import {
  createStateCommitment,
  decodeStateProof,
  encodeStateProof,
  type StateProof,
  verifyStateProof,
} from '../../src/crypto/state-commitment.ts';
import { createRandom, mutate, type Random } from './mutate.ts';

const INPUTS_PER_VERIFIER = 10_000;

/** Mutated bytes either fail to decode with a CodecError or decode to a proof handed to `check`. */
function fuzzEncodedProofs<P>(
  name: string,
  encodings: Uint8Array[],
  decode: (bytes: Uint8Array) => P,
  check: (proof: P, original: number, bytes: Uint8Array) => void,
  random: Random,
): void {
  for (let i = 0; i < INPUTS_PER_VERIFIER; i++) {
    const original = random.below(encodings.length);
    const bytes = i % 10 === 0 ? random.bytes(random.below(600)) : mutate(encodings[original]!, random);
    let proof: P;
    try {
      proof = decode(bytes);
    } catch (error) {
      if (error instanceof CodecError) continue;
      assert.fail(`${name}: decoding threw ${String(error)} for ${toHex(bytes)}`);
    }
    check(proof, original, bytes);
  }
}

test(`state proofs: ${INPUTS_PER_VERIFIER} mutated proofs are refused unless still honest`, () => {
  const random = createRandom(1);
  const state = createStateCommitment();
  const keys = Array.from({ length: 300 }, (_, i) => sha256(new Uint8Array([i, i >> 8])));
  for (const [i, key] of keys.slice(0, 200).entries()) state.set(key, new Uint8Array([i]));
  const root = state.root();
  // Proofs of present keys (membership) and of absent keys (non-membership).
  const cases = keys.slice(150, 250).map((key) => ({ key, value: state.get(key), proof: state.prove(key) }));
  const encodings = cases.map((entry) => encodeStateProof(entry.proof));
  fuzzEncodedProofs(
    'state proof',
    encodings,
    decodeStateProof,
    (proof: StateProof, original, bytes) => {
      const { key, value } = cases[original]!;
      const verdict = verifyStateProof(root, key, value, proof);
      assert.equal(typeof verdict, 'boolean');
      if (verdict) assert.equal(toHex(bytes), toHex(encodings[original]!), 'a mutated state proof verified');
      // The opposite claim about the same key never verifies.
      assert.equal(
        verifyStateProof(root, key, value === undefined ? new Uint8Array([0]) : undefined, proof),
        false,
      );
    },
    random,
  );
});

test(`ordered-list proofs: ${INPUTS_PER_VERIFIER} mutated proofs are refused unless still honest`, () => {
  const random = createRandom(2);
  const leaves = Array.from({ length: 37 }, (_, i) => new Uint8Array([i, 1, 2]));
  const root = merkleRoot(leaves);
  const encodings = leaves.map((_, index) => encodeMerkleProof(merkleProof(leaves, index)));
  fuzzEncodedProofs(
    'ordered-list proof',
    encodings,
    decodeMerkleProof,
    (proof, original) => {
      const verdict = verifyMerkleProof(root, leaves[original]!, proof);
      assert.equal(typeof verdict, 'boolean');
      // The root does not commit to the list length (see merkle.ts), so only index and path must match.
      if (verdict) {
        const honest = merkleProof(leaves, original);
        assert.equal(proof.index, honest.index, 'a mutated proof verified at another index');
        assert.deepEqual(proof.path.map(toHex), honest.path.map(toHex), 'a mutated path verified');
      }
    },
    random,
  );
});

test(`EVM Merkle proofs: ${INPUTS_PER_VERIFIER} mutated proofs are refused unless still honest`, () => {
  const random = createRandom(3);
  const values = Array.from(
    { length: 40 },
    (_, i) => [new Uint8Array(20).fill(i), BigInt(i) * 10n ** 18n] as const,
  );
  const tree = createEvmMerkleTree(['address', 'uint256'], values);
  for (let i = 0; i < INPUTS_PER_VERIFIER; i++) {
    const index = random.below(values.length);
    const honest = tree.proof(index);
    let proof: Uint8Array[];
    switch (i % 4) {
      case 0:
        proof = honest.map((sibling) =>
          random.below(honest.length) === 0 ? mutate(sibling, random) : sibling,
        );
        break;
      case 1:
        proof = honest.filter(() => random.below(4) !== 0);
        break;
      case 2:
        proof = [...honest, random.bytes(32)];
        break;
      default:
        proof = Array.from({ length: random.below(8) }, () =>
          random.bytes(random.below(3) === 0 ? random.below(40) : 32),
        );
    }
    const leaf = random.below(5) === 0 ? mutate(tree.leafHash(index), random) : tree.leafHash(index);
    const verdict = verifyEvmMerkleProof(tree.root, leaf, proof);
    assert.equal(typeof verdict, 'boolean');
    if (verdict) {
      assert.equal(toHex(leaf), toHex(tree.leafHash(index)));
      assert.deepEqual(proof.map(toHex), honest.map(toHex), 'a mutated EVM proof verified');
    }
  }
  // Arguments of the wrong kind are refused, not thrown on.
  for (const bad of [null, 'x', 7, {}, [null], [new Uint8Array(32), 5]]) {
    assert.equal(verifyEvmMerkleProof(tree.root, tree.leafHash(0), bad as never), false);
  }
});
