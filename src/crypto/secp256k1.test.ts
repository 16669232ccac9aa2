import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeAddress, getAddress, recoverAddress, Signature, SigningKey } from 'ethers';
import fc from 'fast-check';
import * as libsecp256k1 from 'tiny-secp256k1';
import { fromHex, toHex } from './bytes.ts';
import {
  evmAddress,
  evmAddressChecksummed,
  recoverEvmAddress,
  secp256k1PublicKey,
  signDigestEvm,
  verifyDigestEvm,
} from './secp256k1.ts';

const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;
const secretKeyArbitrary = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((key) => libsecp256k1.isPrivate(key));
const digestArbitrary = fc.uint8Array({ minLength: 32, maxLength: 32 });

test('public keys and signatures equal libsecp256k1 (tiny-secp256k1, wasm) bit for bit', () => {
  fc.assert(
    fc.property(secretKeyArbitrary, digestArbitrary, (secretKey, digest) => {
      assert.equal(
        toHex(secp256k1PublicKey(secretKey)),
        toHex(libsecp256k1.pointFromScalar(secretKey, true)!),
      );
      assert.equal(
        toHex(secp256k1PublicKey(secretKey, false)),
        toHex(libsecp256k1.pointFromScalar(secretKey, false)!),
      );
      // Both use RFC 6979 deterministic nonces and low s, so the signatures are identical.
      const ours = signDigestEvm(secretKey, digest);
      const theirs = libsecp256k1.signRecoverable(digest, secretKey);
      assert.equal(toHex(ours.subarray(0, 64)), toHex(theirs.signature));
      assert.equal(ours[64], 27 + theirs.recoveryId);
      assert.equal(
        libsecp256k1.verify(digest, secp256k1PublicKey(secretKey), ours.subarray(0, 64), true),
        true,
      );
    }),
    { numRuns: 50 },
  );
});

test('addresses, signatures and recovery agree with ethers', () => {
  fc.assert(
    fc.property(secretKeyArbitrary, digestArbitrary, (secretKey, digest) => {
      const signingKey = new SigningKey(hex(secretKey));
      const address = evmAddress(secp256k1PublicKey(secretKey));
      assert.equal(evmAddressChecksummed(address), computeAddress(signingKey.publicKey));
      const ours = signDigestEvm(secretKey, digest);
      assert.equal(hex(ours), signingKey.sign(hex(digest)).serialized);
      assert.equal(recoverAddress(hex(digest), Signature.from(hex(ours))), evmAddressChecksummed(address));
      assert.equal(verifyDigestEvm(address, digest, ours), true);
    }),
    { numRuns: 50 },
  );
});

test('known answer: the address of secret key 1 is the generator point address', () => {
  const secretKey = new Uint8Array(32);
  secretKey[31] = 1;
  assert.equal(
    evmAddressChecksummed(evmAddress(secp256k1PublicKey(secretKey))),
    getAddress('0x7e5f4552091a69125d5dfcb7b8c2659029395bdf'),
  );
});

test('a wrong digest, a flipped v, a high s or garbage never recovers the signer and never throws', () => {
  const secretKey = fromHex('4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318')!;
  const address = evmAddress(secp256k1PublicKey(secretKey));
  const digest = new Uint8Array(32).fill(7);
  const signature = signDigestEvm(secretKey, digest);
  assert.equal(verifyDigestEvm(address, new Uint8Array(32).fill(8), signature), false);
  const flipped = signature.slice();
  flipped[64] = flipped[64] === 27 ? 28 : 27;
  assert.equal(verifyDigestEvm(address, digest, flipped), false);
  // s' = n − s is the same signature's malleable twin: EIP-2 forbids it.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(hex(signature.subarray(32, 64)));
  const highS = signature.slice();
  highS.set(fromHex((n - s).toString(16).padStart(64, '0'))!, 32);
  highS[64] = flipped[64]!;
  assert.equal(recoverEvmAddress(digest, highS), undefined);
  for (const bad of [new Uint8Array(65), new Uint8Array(64), new Uint8Array(65).fill(255), 'x' as never]) {
    assert.equal(recoverEvmAddress(digest, bad), undefined);
  }
  assert.equal(verifyDigestEvm(new Uint8Array(19), digest, signature), false);
  assert.throws(() => signDigestEvm(secretKey, new Uint8Array(31)), TypeError);
});
