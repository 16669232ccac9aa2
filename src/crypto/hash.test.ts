import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from './bytes.ts';
import { sha256, sha256Digest, sha256Hex } from './hash.ts';

const text = (value: string) => new TextEncoder().encode(value);

// FIPS 180-2, appendix B (SHA-256 examples), and the empty message.
const VECTORS: [string, string][] = [
  ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  ],
];

test('sha256 and sha256Hex give the FIPS 180-2 digests', () => {
  for (const [message, digest] of VECTORS) {
    assert.equal(toHex(sha256(text(message))), digest);
    assert.equal(sha256Hex(text(message)), digest);
  }
  assert.equal(toHex(sha256()), VECTORS[0]![1]);
});

test('sha256 of parts is the digest of their concatenation, whatever the views', () => {
  const message = text(VECTORS[2]![0]);
  const backing = new Uint8Array(message.length + 20);
  backing.set(message, 7);
  const view = backing.subarray(7, 7 + message.length);
  for (let cut = 0; cut <= message.length; cut += 5)
    assert.equal(toHex(sha256(view.subarray(0, cut), new Uint8Array(0), view.subarray(cut))), VECTORS[2]![1]);
});

test('sha256 returns a plain Uint8Array of 32 bytes over its own buffer, not shared with another digest', () => {
  const first = sha256(text('abc'));
  const second = sha256(text('abc'));
  assert.equal(Object.getPrototypeOf(first), Uint8Array.prototype);
  assert.equal(first.length, 32);
  assert.equal(first.buffer.byteLength, 32);
  assert.notEqual(first.buffer, second.buffer);
  first.fill(0);
  assert.equal(toHex(second), VECTORS[1]![1]);
});

test('sha256Digest agrees with createHash on every byte value, digests with high bytes included', async () => {
  const { createHash } = await import('node:crypto');
  // The digest is read through a one-char-per-byte string: any byte ≥ 0x80 read as UTF-8 would differ.
  let highBytes = 0;
  for (let length = 0; length < 300; length++) {
    const input = Uint8Array.from({ length }, (_, i) => (i * 131 + length * 17) & 0xff);
    const expected = createHash('sha256').update(input).digest();
    const digest = sha256Digest(input);
    assert.deepEqual([...digest], [...expected], `input of ${length} bytes`);
    highBytes += digest.filter((byte) => byte >= 0x80).length;
  }
  assert.ok(highBytes > 1000, 'the inputs exercised digest bytes above 0x7f');
});
