import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainTag } from './domain.ts';
import {
  createEd25519Signer,
  ed25519Verify,
  generateEd25519KeyPair,
  signInDomain,
  verifyInDomain,
} from './ed25519.ts';

test('a signature made in one domain or on one chain never verifies in another', () => {
  const { secretKey, publicKey } = generateEd25519KeyPair();
  const signer = createEd25519Signer(secretKey);
  const message = new TextEncoder().encode('order 42');
  const signature = signInDomain(signer, DomainTag.transaction, 7, message);
  assert.equal(verifyInDomain(publicKey, DomainTag.transaction, 7, message, signature), true);
  assert.equal(verifyInDomain(publicKey, DomainTag.notarize, 7, message, signature), false);
  assert.equal(verifyInDomain(publicKey, DomainTag.transaction, 8, message, signature), false);
  assert.equal(ed25519Verify(publicKey, message, signature), false);
});

test('verify returns false, never throws, for malformed keys, signatures and messages', () => {
  const { publicKey } = generateEd25519KeyPair();
  const message = new Uint8Array([1, 2, 3]);
  assert.equal(ed25519Verify(new Uint8Array(31), message, new Uint8Array(64)), false);
  assert.equal(ed25519Verify(publicKey, message, new Uint8Array(63)), false);
  assert.equal(ed25519Verify(new Uint8Array(32).fill(255), message, new Uint8Array(64)), false);
  assert.equal(ed25519Verify(publicKey, 'not bytes' as unknown as Uint8Array, new Uint8Array(64)), false);
  assert.equal(ed25519Verify(null as unknown as Uint8Array, message, new Uint8Array(64)), false);
});
