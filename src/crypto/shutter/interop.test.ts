/**
 * Interop with Shutter's own code, loopback only (the peers are WASM builds run in-process).
 *
 * - `@shutter-network/shutter-sdk` 0.0.2: Shutter's TypeScript SDK over blst compiled to WASM,
 *   the BLS12-381 scheme (version 0x03). Both directions run against it: it encrypts for our
 *   threshold eon key and identity and our combined key decrypts; we encrypt and it decrypts with
 *   our combined key.
 * - `@shutter-network/shutter-crypto` 2.0.0 (the newest on the registry, Feb 2024) is a WASM build
 *   of shlib v0.1.13, from before Shutter moved to BLS12-381 (April–June 2024): it is the BN254
 *   ("bn256") scheme with 128-byte eon keys. The test below pins that fact, so the day a BLS12-381
 *   release appears this file fails and the interop moves to it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import { toHex } from '../bytes.ts';
import { combineEonKeyset, combineEonSecretShare, dealEon } from './eon-dkg.ts';
import {
  createShutterEncryptor,
  decodeG1,
  decodeShutterCiphertext,
  encodeShutterCiphertext,
  shutterDecrypt,
  shutterEncrypt,
  shutterIdentityPoint,
  verifyShutterDecryptionKey,
} from './ibe.ts';
import { combineKeyShares, computeKeyShare, envelopeIdentity, findBadKeyShares } from './key-shares.ts';
import { createMclBackend, nobleBackend } from './pairing-backend.ts';

type Hex = `0x${string}`;
interface ShutterSdk {
  computeIdentityP1(preimage: Hex): Promise<{ compress(): Uint8Array }>;
  encryptData(message: Hex, identityPreimage: Hex, eonKey: Hex, sigma: Hex): Promise<Hex>;
  decrypt(ciphertext: Hex, key: Hex): Promise<Hex>;
}
interface ShutterCryptoWasm {
  init(): Promise<void>;
  encrypt(
    message: Uint8Array,
    eonKey: Uint8Array,
    epochId: Uint8Array,
    sigma: Uint8Array,
  ): Promise<Uint8Array>;
}

const require = createRequire(import.meta.url);
const hexOf = (bytes: Uint8Array): Hex => `0x${toHex(bytes)}`;
const bytesOf = (value: string) => new Uint8Array(Buffer.from(value.replace(/^0x/, ''), 'hex'));

// A 4-validator eon (f = 1, t = 2f + 1 = 3) from the DKG, every dealer honest.
const COUNT = 4;
const THRESHOLD = 3;
const dealings = Array.from({ length: COUNT }, (_, j) => dealEon(j, THRESHOLD, COUNT));
const keyset = combineEonKeyset(dealings, THRESHOLD, COUNT);
const secretShares = Array.from({ length: COUNT }, (_, i) => combineEonSecretShare(dealings, i));
const CHAIN_ID = 7;
const sender = new Uint8Array(randomBytes(32));
const prefix = new Uint8Array(randomBytes(32));
// An envelope's identity (its sender and the prefix it picked), as a client seals to it.
const identityPreimage = envelopeIdentity(CHAIN_ID, sender, prefix);

/** The key validators 1, 3 and 0 (any t of them) release and combine for the identity. */
function thresholdKey(preimage: Uint8Array) {
  const identity = shutterIdentityPoint(preimage);
  const shares = [1, 3, 0].map((validatorIndex) => ({
    validatorIndex,
    share: computeKeyShare(secretShares[validatorIndex]!, identity),
  }));
  assert.deepEqual(findBadKeyShares(shares, keyset.publicShares, identity), []);
  const combined = combineKeyShares(shares, THRESHOLD);
  assert.ok(combined.ok);
  return combined.key;
}

describe('interop with @shutter-network/shutter-sdk (BLS12-381, blst WASM)', () => {
  let sdk: ShutterSdk;
  before(() => {
    sdk = require('@shutter-network/shutter-sdk') as ShutterSdk;
  });

  it('a ciphertext the SDK makes for our eon key and identity decrypts with our threshold-combined key', async () => {
    const order = new TextEncoder().encode('sell 3 BTC-20270625-90000-P at 4100 — a 47-byte order');
    const ciphertext = await sdk.encryptData(
      hexOf(order),
      hexOf(identityPreimage),
      hexOf(keyset.eonPublicKey.toBytes(true)),
      hexOf(new Uint8Array(randomBytes(32))),
    );
    const key = thresholdKey(identityPreimage);
    assert.equal(
      verifyShutterDecryptionKey(key, keyset.eonPublicKey, shutterIdentityPoint(identityPreimage)),
      true,
    );
    assert.deepEqual(shutterDecrypt(decodeShutterCiphertext(bytesOf(ciphertext)), key), {
      ok: true,
      message: order,
    });
  });

  it('the SDK hashes an envelope identity to the same point as we do, so our released key is its key', async () => {
    const theirs = await sdk.computeIdentityP1(hexOf(identityPreimage));
    assert.equal(toHex(theirs.compress()), toHex(shutterIdentityPoint(identityPreimage).toBytes(true)));
  });

  it('a ciphertext we make decrypts in the SDK with our threshold-combined key', async () => {
    for (const length of [0, 1, 31, 32, 33, 300]) {
      const message = new Uint8Array(randomBytes(length));
      const wire = encodeShutterCiphertext(
        shutterEncrypt(
          message,
          keyset.eonPublicKey,
          shutterIdentityPoint(identityPreimage),
          new Uint8Array(randomBytes(32)),
        ),
      );
      const key = thresholdKey(identityPreimage);
      const plaintext = await sdk.decrypt(hexOf(wire), hexOf(key.toBytes(true)));
      assert.equal(plaintext, hexOf(message), `length ${length}`);
    }
  });

  it("the cached encryptor, on noble and on mcl-wasm, makes the SDK's bytes for the same sigma, and the SDK decrypts them", async () => {
    const mcl = await createMclBackend();
    const identity = shutterIdentityPoint(identityPreimage);
    const key = thresholdKey(identityPreimage);
    for (const backend of [nobleBackend, mcl]) {
      const encryptor = createShutterEncryptor(keyset.eonPublicKey, identity, backend);
      // Several messages through one encryptor: the cached pairing is reused, never a stale mask.
      for (const length of [0, 33, 300]) {
        const message = new Uint8Array(randomBytes(length));
        const sigma = new Uint8Array(randomBytes(32));
        const ours = encryptor.encrypt(message, sigma);
        const theirs = await sdk.encryptData(
          hexOf(message),
          hexOf(identityPreimage),
          hexOf(keyset.eonPublicKey.toBytes(true)),
          hexOf(sigma),
        );
        assert.equal(hexOf(ours), theirs, `${backend.name}, length ${length}`);
        assert.equal(await sdk.decrypt(hexOf(ours), hexOf(key.toBytes(true))), hexOf(message));
      }
    }
  });

  it("the SDK's ciphertext for one envelope opens with no other envelope's key: another sender's with the same prefix, the same sender's with another prefix", async () => {
    const ciphertext = await sdk.encryptData(
      '0x0102',
      hexOf(identityPreimage),
      hexOf(keyset.eonPublicKey.toBytes(true)),
      hexOf(new Uint8Array(randomBytes(32))),
    );
    for (const otherPreimage of [
      envelopeIdentity(CHAIN_ID, new Uint8Array(32).fill(9), prefix),
      envelopeIdentity(CHAIN_ID, sender, new Uint8Array(randomBytes(32))),
    ]) {
      const wrongKey = decodeG1(thresholdKey(otherPreimage).toBytes(true), 'key');
      assert.equal(shutterDecrypt(decodeShutterCiphertext(bytesOf(ciphertext)), wrongKey).ok, false);
      // The SDK checks only the padding, so a wrong key may give it bytes; never the message.
      const theirs = await sdk.decrypt(ciphertext, hexOf(wrongKey.toBytes(true))).catch(() => undefined);
      assert.notEqual(theirs, '0x0102');
    }
  });
});

describe('@shutter-network/shutter-crypto 2.0.0 (registry) is the pre-2024 BN254 scheme', () => {
  it('refuses a BLS12-381 eon key ("bn256: not enough data")', async () => {
    const peer = require('@shutter-network/shutter-crypto') as ShutterCryptoWasm;
    await peer.init();
    await assert.rejects(
      peer.encrypt(Uint8Array.of(1), keyset.eonPublicKey.toBytes(true), identityPreimage, new Uint8Array(32)),
      (error: unknown) => String(error).includes('bn256'),
    );
  });
});
