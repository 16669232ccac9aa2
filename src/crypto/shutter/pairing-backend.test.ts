/**
 * noble and mcl-wasm behind one interface must agree byte for byte: on random points and
 * scalars, on malformed encodings (both refuse), and on decrypting Shutter ciphertexts, fresh and
 * tampered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { combineEonKeyset, combineEonSecretShare, dealEon, randomEonScalar } from './eon-dkg.ts';
import {
  createShutterEncryptor,
  encodeShutterCiphertext,
  G1,
  G2,
  shutterDecrypt,
  shutterDecryptBytes,
  shutterEncrypt,
  shutterIdentityPoint,
} from './ibe.ts';
import {
  combineKeyShares,
  combineKeySharesWith,
  computeKeyShare,
  envelopeIdentity,
  verifyBlockKeysWith,
} from './key-shares.ts';
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

  it('on prepared pairings raised to a scalar: e(P, Q)^r = e(r·P, Q), the same bytes; bad points refused', () => {
    for (let round = 0; round < 2; round++) {
      const p = G1.BASE.multiply(randomEonScalar()).toBytes(true);
      const q = G2.BASE.multiply(randomEonScalar()).toBytes(true);
      const expected = [randomEonScalar(), randomEonScalar()].map((r) => ({
        r,
        bytes: hexOf(nobleBackend.pairingBytes(nobleBackend.g1Multiply(p, r)!, q)),
      }));
      for (const backend of [nobleBackend, mcl]) {
        const power = backend.preparePairing(p, q);
        assert.ok(power, backend.name);
        for (const { r, bytes } of expected) assert.equal(hexOf(power(r)), bytes, backend.name);
      }
    }
    for (const backend of [nobleBackend, mcl])
      assert.equal(backend.preparePairing(G1.ZERO.toBytes(true), G2.BASE.toBytes(true)), undefined);
  });

  it("the cached encryptor gives shutterEncrypt's bytes for the same sigma, on both backends", () => {
    const eonKey = G2.BASE.multiply(randomEonScalar());
    const identity = shutterIdentityPoint(new Uint8Array(randomBytes(32)));
    const encryptors = [nobleBackend, mcl].map((backend) =>
      createShutterEncryptor(eonKey, identity, backend),
    );
    for (const length of [0, 31, 32, 70]) {
      const message = new Uint8Array(randomBytes(length));
      const sigma = new Uint8Array(randomBytes(32));
      const reference = hexOf(encodeShutterCiphertext(shutterEncrypt(message, eonKey, identity, sigma)));
      for (const encryptor of encryptors) assert.equal(hexOf(encryptor.encrypt(message, sigma)), reference);
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

  it('on combining shares and batch-checking a block of keys, with the same verdicts on bad ones', () => {
    const dealings = Array.from({ length: 4 }, (_, j) => dealEon(j, 3, 4));
    const keyset = combineEonKeyset(dealings, 3, 4);
    const secrets = Array.from({ length: 4 }, (_, i) => combineEonSecretShare(dealings, i));
    const identities = Array.from({ length: 5 }, (_, j) =>
      shutterIdentityPoint(envelopeIdentity(1, new Uint8Array(32).fill(j), new Uint8Array(32).fill(2))),
    );
    const shares = identities.map((q) =>
      [3, 0, 2].map((i) => ({ validatorIndex: i, share: computeKeyShare(secrets[i]!, q) })),
    );
    const eonKey = keyset.eonPublicKey.toBytes(true);
    const identityBytes = identities.map((q) => q.toBytes(true));
    for (const backend of [nobleBackend, mcl]) {
      const keys = shares.map((row) => {
        const combined = combineKeySharesWith(
          backend,
          row.map((s) => ({ validatorIndex: s.validatorIndex, share: s.share.toBytes(true) })),
          3,
        );
        assert.ok(combined.ok);
        const reference = combineKeyShares(row, 3);
        assert.ok(reference.ok);
        assert.equal(hexOf(combined.key), hexOf(reference.key.toBytes(true)), backend.name);
        return combined.key;
      });
      assert.equal(verifyBlockKeysWith(backend, keys, identityBytes, eonKey), true, backend.name);
      const validatorShares = shares.map((row) => row[1]!.share.toBytes(true)); // validator 0's
      assert.equal(
        verifyBlockKeysWith(backend, validatorShares, identityBytes, keyset.publicShares[0]!.toBytes(true)),
        true,
      );
      assert.equal(
        verifyBlockKeysWith(backend, validatorShares, identityBytes, keyset.publicShares[1]!.toBytes(true)),
        false,
      );
      const offset = G1.BASE.multiply(randomEonScalar());
      const cancelling = [...keys];
      cancelling[0] = G1.fromBytes(keys[0]!).add(offset).toBytes(true);
      cancelling[3] = G1.fromBytes(keys[3]!).subtract(offset).toBytes(true);
      assert.equal(verifyBlockKeysWith(backend, cancelling, identityBytes, eonKey), false, backend.name);
      const broken = [...keys];
      broken[2] = new Uint8Array(48).fill(0xff);
      assert.equal(verifyBlockKeysWith(backend, broken, identityBytes, eonKey), false, backend.name);
    }
  });
});
