/** RFC 8032 §7.1 Ed25519 test vectors, run against `src/crypto/ed25519.ts` (node:crypto). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import {
  createEd25519Signer,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
} from '../../src/crypto/ed25519.ts';

const { vectors } = JSON.parse(readFileSync(new URL('./rfc8032-ed25519.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; secretKey: string; publicKey: string; message: string; signature: string }[];
};

test('the file holds all five RFC 8032 §7.1 vectors', () => {
  assert.deepEqual(
    vectors.map((vector) => vector.name),
    ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
  );
});

for (const vector of vectors) {
  test(`RFC 8032 §7.1 ${vector.name}: public key, signature and verification`, () => {
    const secretKey = fromHex(vector.secretKey)!;
    const message = fromHex(vector.message)!;
    const signature = fromHex(vector.signature)!;
    assert.equal(toHex(ed25519PublicKey(secretKey)), vector.publicKey);
    assert.equal(toHex(ed25519Sign(secretKey, message)), vector.signature);
    assert.equal(toHex(createEd25519Signer(secretKey).sign(message)), vector.signature);
    assert.equal(ed25519Verify(fromHex(vector.publicKey)!, message, signature), true);
    const altered = signature.slice();
    altered[0]! ^= 1;
    assert.equal(ed25519Verify(fromHex(vector.publicKey)!, message, altered), false);
  });
}
