import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../codec/errors.ts';
import {
  createStateCommitment,
  decodeStateProof,
  encodeStateProof,
  STATE_EMPTY_ROOT,
  verifyStateProof,
} from './state-commitment.ts';

function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

function keyOf(firstByte: number, fill = 0): Uint8Array {
  const key = new Uint8Array(32).fill(fill);
  key[0] = firstByte;
  return key;
}

const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * The tree's definition written out plainly, independent of the incremental implementation:
 * empty set → zeros, one key → its leaf, else split on the next nibble and hash the present
 * children behind a bitmap.
 */
function referenceRoot(entries: [Uint8Array, Uint8Array][], depth = 0): Uint8Array {
  if (entries.length === 0) return new Uint8Array(32);
  if (entries.length === 1) {
    const [key, value] = entries[0]!;
    return sha(new Uint8Array([0]), key, sha(value));
  }
  const nibble = (key: Uint8Array) => (depth % 2 === 0 ? key[depth >> 1]! >> 4 : key[depth >> 1]! & 15);
  let bitmap = 0;
  const children: Uint8Array[] = [];
  for (let i = 0; i < 16; i++) {
    const group = entries.filter(([key]) => nibble(key) === i);
    if (group.length === 0) continue;
    bitmap |= 1 << (15 - i);
    children.push(referenceRoot(group, depth + 1));
  }
  return sha(new Uint8Array([1, bitmap >> 8, bitmap & 255]), ...children);
}

test('the empty tree has the all-zero root and proves any key absent', () => {
  const state = createStateCommitment();
  assert.deepEqual(state.root(), STATE_EMPTY_ROOT);
  const proof = state.prove(keyOf(1));
  assert.equal(verifyStateProof(state.root(), keyOf(1), undefined, proof), true);
  assert.equal(verifyStateProof(state.root(), keyOf(1), bytes('x'), proof), false);
});

test('known answer: keys differing in the first nibble hash as one node with a two-bit bitmap', () => {
  const state = createStateCommitment();
  state.set(keyOf(0x80), bytes('b'));
  state.set(keyOf(0x00), bytes('a'));
  const leafA = sha(new Uint8Array([0]), keyOf(0x00), sha(bytes('a')));
  const leafB = sha(new Uint8Array([0]), keyOf(0x80), sha(bytes('b')));
  // Children 0 and 8 are present: bitmap 0b1000_0000_1000_0000.
  assert.deepEqual(state.root(), sha(new Uint8Array([1, 0x80, 0x80]), leafA, leafB));
  // Keys sharing the first nibble are pushed down one level, under a node with a single child.
  const deeper = createStateCommitment();
  deeper.set(keyOf(0x00), bytes('a'));
  deeper.set(keyOf(0x01), bytes('c'));
  const leafC = sha(new Uint8Array([0]), keyOf(0x01), sha(bytes('c')));
  const inner = sha(new Uint8Array([1, 0xc0, 0x00]), leafA, leafC);
  assert.deepEqual(deeper.root(), sha(new Uint8Array([1, 0x80, 0x00]), inner));
});

// Random keys rarely share long prefixes, so half the keys differ only in their last byte or two:
// that exercises deep chains of single-child internal nodes and their collapse on deletion.
const keyArbitrary = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc.tuple(fc.nat(3), fc.nat(255)).map(([high, low]) => {
    const key = new Uint8Array(32);
    key[30] = high;
    key[31] = low;
    return key;
  }),
);
const entryArbitrary = fc.tuple(keyArbitrary, fc.uint8Array({ minLength: 0, maxLength: 40 }));

test('the root depends only on the final set of entries, not on insertion or deletion order', () => {
  fc.assert(
    fc.property(
      fc.array(entryArbitrary, { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.context(),
      (entries, deletions, context) => {
        const state = createStateCommitment();
        const model = new Map<string, [Uint8Array, Uint8Array]>();
        for (const [key, value] of entries) {
          state.set(key, value);
          model.set(Buffer.from(key).toString('hex'), [key, value]);
        }
        for (const index of deletions) {
          const target = entries[index % Math.max(1, entries.length)];
          if (target === undefined) continue;
          state.delete(target[0]);
          model.delete(Buffer.from(target[0]).toString('hex'));
        }
        context.log(`size ${model.size}`);
        const sorted = [...model.values()].sort((a, b) => Buffer.compare(a[0], b[0]));
        assert.equal(state.size, model.size);
        assert.deepEqual(state.root(), referenceRoot(sorted));
        // The same set inserted in the reverse order gives the same root.
        const reversed = createStateCommitment();
        for (const [key, value] of [...sorted].reverse()) reversed.set(key, value);
        assert.deepEqual(reversed.root(), state.root());
      },
    ),
    { numRuns: 200 },
  );
});

test('roots computed between updates equal roots computed once at the end', () => {
  fc.assert(
    fc.property(fc.array(entryArbitrary, { minLength: 1, maxLength: 30 }), (entries) => {
      const incremental = createStateCommitment();
      const batched = createStateCommitment();
      for (const [key, value] of entries) {
        incremental.set(key, value);
        incremental.root();
        batched.set(key, value);
      }
      for (const [key] of entries.slice(0, entries.length >> 1)) {
        incremental.delete(key);
        incremental.root();
        batched.delete(key);
      }
      assert.deepEqual(incremental.root(), batched.root());
    }),
    { numRuns: 100 },
  );
});

test('membership and non-membership proofs verify against the root, and only for the true value', () => {
  fc.assert(
    fc.property(
      fc.array(entryArbitrary, { minLength: 1, maxLength: 50 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (entries, absentCandidate) => {
        const state = createStateCommitment();
        for (const [key, value] of entries) state.set(key, value);
        const root = state.root();
        for (const [key] of entries) {
          const value = state.get(key)!;
          const proof = decodeStateProof(encodeStateProof(state.prove(key)));
          assert.equal(verifyStateProof(root, key, value, proof), true);
          assert.equal(verifyStateProof(root, key, undefined, proof), false);
          assert.equal(verifyStateProof(root, key, new Uint8Array([...value, 0]), proof), false);
        }
        if (state.get(absentCandidate) === undefined) {
          const proof = state.prove(absentCandidate);
          assert.equal(verifyStateProof(root, absentCandidate, undefined, proof), true);
          assert.equal(verifyStateProof(root, absentCandidate, new Uint8Array(0), proof), false);
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('a proof for one key does not prove another key, nor hold against another root', () => {
  const state = createStateCommitment();
  for (let i = 0; i < 64; i++) state.set(sha(new Uint8Array([i])), new Uint8Array([i]));
  const root = state.root();
  const key = sha(new Uint8Array([5]));
  const proof = state.prove(key);
  assert.equal(verifyStateProof(root, key, new Uint8Array([5]), proof), true);
  assert.equal(verifyStateProof(root, sha(new Uint8Array([6])), new Uint8Array([5]), proof), false);
  // A non-membership claim for a present key using its own proof fails.
  assert.equal(verifyStateProof(root, key, undefined, proof), false);
  state.set(key, new Uint8Array([55]));
  assert.equal(verifyStateProof(state.root(), key, new Uint8Array([5]), proof), false);
  // A truncated path, a flipped sibling or a moved child fails.
  assert.equal(
    verifyStateProof(root, key, new Uint8Array([5]), { ...proof, levels: proof.levels.slice(1) }),
    false,
  );
  const flipped = proof.levels.map((level) => ({ ...level, siblings: level.siblings.map((s) => s.slice()) }));
  flipped[0]!.siblings[0]![0]! ^= 1;
  assert.equal(verifyStateProof(root, key, new Uint8Array([5]), { ...proof, levels: flipped }), false);
  const moved = proof.levels.map((level) => ({ ...level, siblings: [...level.siblings] }));
  moved[0]!.siblings.reverse();
  assert.equal(verifyStateProof(root, key, new Uint8Array([5]), { ...proof, levels: moved }), false);
});

test("non-membership cannot be shown with a leaf that is off the key's path", () => {
  const state = createStateCommitment();
  state.set(keyOf(0x00), bytes('a'));
  state.set(keyOf(0x80), bytes('b'));
  const root = state.root();
  const absent = keyOf(0x81);
  const honest = state.prove(absent);
  assert.equal(verifyStateProof(root, absent, undefined, honest), true);
  // Present the proof of the left leaf as if it were the absent key's path ending.
  const forged = state.prove(keyOf(0x00));
  assert.equal(verifyStateProof(root, absent, undefined, forged), false);
});

test('get, delete and size track the entries; values are copied in and out', () => {
  const state = createStateCommitment();
  const value = bytes('balance');
  state.set(keyOf(1), value);
  value[0] = 0;
  assert.deepEqual(state.get(keyOf(1)), bytes('balance'));
  state.get(keyOf(1))![0] = 0;
  assert.deepEqual(state.get(keyOf(1)), bytes('balance'));
  assert.equal(state.size, 1);
  state.delete(keyOf(2));
  assert.equal(state.size, 1);
  state.delete(keyOf(1));
  assert.equal(state.size, 0);
  assert.equal(state.get(keyOf(1)), undefined);
  assert.deepEqual(state.root(), STATE_EMPTY_ROOT);
  assert.throws(() => state.set(new Uint8Array(31), value), TypeError);
});

test('verification returns false, never throws, on malformed arguments', () => {
  const key = keyOf(1);
  const bad: unknown[] = [
    null,
    7,
    {},
    { levels: 'x', leaf: [] },
    { levels: [], leaf: [{ key: 1 }] },
    { levels: [{ childBitmap: 1.5, siblings: [] }], leaf: [] },
    { levels: [{ childBitmap: 0x10000, siblings: [] }], leaf: [] },
    { levels: [null], leaf: [] },
  ];
  for (const proof of bad) {
    assert.equal(verifyStateProof(STATE_EMPTY_ROOT, key, undefined, proof as never), false);
  }
  assert.equal(
    verifyStateProof(STATE_EMPTY_ROOT, key, undefined, {
      levels: new Array(65).fill({ childBitmap: 0, siblings: [] }),
      leaf: [],
    }),
    false,
  );
  assert.equal(verifyStateProof(new Uint8Array(31), key, undefined, { levels: [], leaf: [] }), false);
});

test('proof decoding is bounded and typed', () => {
  const state = createStateCommitment();
  state.set(keyOf(1), bytes('x'));
  const encoded = encodeStateProof(state.prove(keyOf(1)));
  assert.throws(() => decodeStateProof(encoded.subarray(0, encoded.length - 1)), CodecError);
  assert.throws(
    () => decodeStateProof(new Uint8Array(200_000)),
    (error: unknown) => {
      return error instanceof CodecError && error.code === 'MESSAGE_TOO_LARGE';
    },
  );
});
