/**
 * noble and mcl-wasm behind one interface must agree byte for byte: on random points and
 * scalars, on malformed encodings (both refuse), and on decrypting Shutter ciphertexts, fresh and
 * tampered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { randomEonScalar } from './eon-dkg.ts';
import {
  encodeShutterCiphertext,
  G1,
  G2,
  shutterDecrypt,
  shutterDecryptBytes,
  shutterEncrypt,
  shutterIdentityPoint,
} from './ibe.ts';
import { createMclBackend, nobleBackend, type PairingBackend } from './pairing-backend.ts';

const hexOf = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? 'undefined' : Buffer.from(bytes).toString('hex');

describe('pairing backends agree', () => {
  let mcl: PairingBackend;
  before(async () => {
    mcl = await createMclBackend();
  });

  it('on pairings, G2 base multiplications and G1 multiplications of random inputs', () => {
    for (let round = 0; round < 4; round++) {
      const p = G1.BASE.multiply(randomEonScalar()).toBytes(true);
      const q = G2.BASE.multiply(randomEonScalar()).toBytes(true);
      const scalar = randomEonScalar();
      assert.equal(hexOf(mcl.pairingBytes(p, q)), hexOf(nobleBackend.pairingBytes(p, q)));
      assert.equal(hexOf(mcl.g2BaseMultiply(scalar)), hexOf(nobleBackend.g2BaseMultiply(scalar)));
      assert.equal(hexOf(mcl.g1Multiply(p, scalar)), hexOf(nobleBackend.g1Multiply(p, scalar)));
    }
  });

  it('both refuse a point off the curve, the identity and an invalid encoding', () => {
    const q = G2.BASE.toBytes(true);
    const notOnCurve = G1.BASE.toBytes(true);
    notOnCurve[47]! ^= 0x01;
    const infinity = G1.ZERO.toBytes(true);
    for (const backend of [nobleBackend, mcl]) {
      assert.equal(backend.pairingBytes(notOnCurve, q), undefined, backend.name);
      assert.equal(backend.pairingBytes(infinity, q), undefined, backend.name);
      assert.equal(backend.pairingBytes(new Uint8Array(48).fill(0xff), q), undefined, backend.name);
    }
  });

  it('on decrypting fresh and tampered ciphertexts', () => {
    const secret = randomEonScalar();
    const eonKey = G2.BASE.multiply(secret);
    const identity = shutterIdentityPoint(new Uint8Array(randomBytes(32)));
    const key = identity.multiply(secret);
    const message = new Uint8Array(randomBytes(70));
    const ciphertext = shutterEncrypt(message, eonKey, identity, new Uint8Array(randomBytes(32)));
    const wire = encodeShutterCiphertext(ciphertext);
    const keyBytes = key.toBytes(true);
    assert.deepEqual(shutterDecryptBytes(wire, keyBytes, mcl), { ok: true, message });
    assert.deepEqual(shutterDecryptBytes(wire, keyBytes, nobleBackend), shutterDecrypt(ciphertext, key));
    for (const offset of [5, 1 + 96 + 1, wire.length - 40, wire.length - 1]) {
      const tampered = wire.slice();
      tampered[offset]! ^= 0x80;
      const fromMcl = shutterDecryptBytes(tampered, keyBytes, mcl);
      assert.equal(fromMcl.ok, false, `offset ${offset}`);
      assert.deepEqual(fromMcl, shutterDecryptBytes(tampered, keyBytes, nobleBackend), `offset ${offset}`);
    }
    assert.deepEqual(shutterDecryptBytes(wire.subarray(0, 100), keyBytes, mcl), {
      ok: false,
      reason: 'MALFORMED',
    });
  });
});
