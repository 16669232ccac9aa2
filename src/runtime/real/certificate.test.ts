import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { generateEd25519KeyPair } from '../../crypto/ed25519.ts';
import { createValidatorTlsIdentity, ed25519KeyOfCertificate } from './certificate.ts';

test('the validator certificate parses in OpenSSL, is self-signed, and carries the identity key', () => {
  const { secretKey, publicKey } = generateEd25519KeyPair();
  const identity = createValidatorTlsIdentity(secretKey);
  const certificate = new X509Certificate(identity.certificatePem);
  assert.equal(certificate.subject, 'CN=palisade-validator');
  assert.equal(certificate.issuer, 'CN=palisade-validator');
  assert.ok(certificate.verify(certificate.publicKey));
  assert.deepEqual(ed25519KeyOfCertificate(certificate), publicKey);
  assert.deepEqual(identity.publicKey, publicKey);
  assert.ok(new Date(certificate.validTo).getUTCFullYear() === 9999);
});

test('one key always yields the same certificate; different keys, different serials', () => {
  const first = generateEd25519KeyPair();
  const second = generateEd25519KeyPair();
  const a = createValidatorTlsIdentity(first.secretKey);
  assert.equal(createValidatorTlsIdentity(first.secretKey).certificatePem, a.certificatePem);
  const b = createValidatorTlsIdentity(second.secretKey);
  assert.notEqual(
    new X509Certificate(a.certificatePem).serialNumber,
    new X509Certificate(b.certificatePem).serialNumber,
  );
});

test('no certificate yields no identity key, and a seed of the wrong length is refused', () => {
  assert.equal(ed25519KeyOfCertificate(undefined), undefined);
  assert.throws(() => createValidatorTlsIdentity(new Uint8Array(31)), TypeError);
});

test('every key yields a certificate OpenSSL accepts for TLS (no non-minimal DER anywhere)', async () => {
  const { createSecureContext } = await import('node:tls');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      const identity = createValidatorTlsIdentity(seed);
      createSecureContext({ cert: identity.certificatePem, key: identity.privateKeyPem });
      assert.deepEqual(
        ed25519KeyOfCertificate(new X509Certificate(identity.certificatePem)),
        identity.publicKey,
      );
    }),
    { numRuns: 500 },
  );
});
