/**
 * Decryption on worker threads (./fair-ordering-decrypt.ts) must not change a block's outcomes:
 * the same plaintexts for good ciphertexts, a failure for garbage and for another block's
 * ciphertext, and the rule's outcomes identical with and without the threads' results.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { openEncryptedBatch } from '../chain/encrypted-batch.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { identityOfEnvelope, sealOrder } from '../crypto/shutter/envelope.ts';
import { randomEonScalar } from '../crypto/shutter/eon-dkg.ts';
import { G2, shutterDecryptBytes, shutterIdentityPoint } from '../crypto/shutter/ibe.ts';
import { nobleBackend } from '../crypto/shutter/pairing-backend.ts';
import { actionTransaction, limitOrder, testSigner } from '../execution/fixtures.ts';
import { createDecryptPool } from './fair-ordering-decrypt.ts';

const CHAIN_ID = 7;
const HEIGHT = 30;
const secret = randomEonScalar();
const eonPublicKey = G2.BASE.multiply(secret);
const traders = ['a', 'b', 'c'].map((label) => testSigner(`decrypt-pool/${label}`));

const seal = (index: number) =>
  sealOrder(traders[index]!, {
    chainId: CHAIN_ID,
    eon: 1,
    eonPublicKey,
    identityPrefix: new Uint8Array(randomBytes(32)),
    expiryHeight: HEIGHT,
    fee: 1,
    transaction: actionTransaction(traders[index]!, 0, limitOrder(1, 'buy', 100, 1)),
    sigma: new Uint8Array(randomBytes(32)),
  });
const keyOf = (envelope: ReturnType<typeof seal>) =>
  shutterIdentityPoint(identityOfEnvelope(envelope.body)).multiply(secret).toBytes(true);

describe('decrypt pool', () => {
  const pool = createDecryptPool({ threads: 2, inline: nobleBackend });
  after(() => pool.close());

  it('gives the inline results on threads, each ciphertext under its own key, and the rule the same outcomes', async () => {
    const envelopes = [seal(0), seal(1), seal(2)];
    const garbage = new Uint8Array(randomBytes(129 + 32));
    garbage[0] = 0x03;
    const ciphertexts = [...envelopes.map((e) => e.ciphertext), garbage];
    // The third envelope under the second's key: keys open their own envelope only.
    const keys = Buffer.concat([
      keyOf(envelopes[0]!),
      keyOf(envelopes[1]!),
      keyOf(envelopes[1]!),
      keyOf(envelopes[0]!),
    ]);
    const threaded = await pool.decrypt(ciphertexts, new Uint8Array(keys));
    const inline = ciphertexts.map((c, j) =>
      shutterDecryptBytes(c, keys.subarray(48 * j, 48 * (j + 1)), nobleBackend),
    );
    assert.deepEqual(
      threaded.map((r) => r.ok),
      [true, true, false, false],
    );
    assert.deepEqual(
      threaded.map((r) => (r.ok ? r.message : undefined)),
      inline.map((r) => (r.ok ? r.message : undefined)),
    );
    const input = {
      chainId: CHAIN_ID,
      eon: 1,
      eonPublicKey,
      height: HEIGHT,
      envelopes: envelopes.slice(0, 2).map((e) => SignedOrderEnvelopeCodec.encode(e)),
      key: new Uint8Array(keys.subarray(0, 96)),
      nextNonce: () => 0,
    };
    assert.deepEqual(
      openEncryptedBatch({ ...input, opened: threaded.slice(0, 2) }),
      openEncryptedBatch(input),
    );
  });

  it('refuses a key list that is not one key per ciphertext', async () => {
    await assert.rejects(
      pool.decrypt([seal(0).ciphertext], new Uint8Array(96)),
      /one 48-byte key per ciphertext/,
    );
  });
});
