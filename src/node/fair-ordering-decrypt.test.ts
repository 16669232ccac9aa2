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
import { sealOrder } from '../crypto/shutter/envelope.ts';
import { randomEonScalar } from '../crypto/shutter/eon-dkg.ts';
import { G2, shutterDecryptBytes, shutterIdentityPoint } from '../crypto/shutter/ibe.ts';
import { batchIdentity } from '../crypto/shutter/key-shares.ts';
import { nobleBackend } from '../crypto/shutter/pairing-backend.ts';
import { actionTransaction, limitOrder, testSigner } from '../execution/fixtures.ts';
import { createDecryptPool } from './fair-ordering-decrypt.ts';

const CHAIN_ID = 7;
const HEIGHT = 30;
const secret = randomEonScalar();
const eonPublicKey = G2.BASE.multiply(secret);
const key = shutterIdentityPoint(batchIdentity(CHAIN_ID, HEIGHT)).multiply(secret).toBytes(true);
const traders = ['a', 'b', 'c'].map((label) => testSigner(`decrypt-pool/${label}`));

const seal = (index: number, targetHeight: number) =>
  sealOrder(traders[index]!, {
    chainId: CHAIN_ID,
    eon: 1,
    eonPublicKey,
    targetHeight,
    fee: 1,
    transaction: actionTransaction(traders[index]!, 0, limitOrder(1, 'buy', 100, 1)),
    sigma: new Uint8Array(randomBytes(32)),
  });

describe('decrypt pool', () => {
  const pool = createDecryptPool({ threads: 2, inline: nobleBackend });
  after(() => pool.close());

  it('gives the inline results on threads, and the rule the same outcomes', async () => {
    const envelopes = [seal(0, HEIGHT), seal(1, HEIGHT), seal(2, HEIGHT + 1)];
    const garbage = new Uint8Array(randomBytes(129 + 32));
    garbage[0] = 0x03;
    const ciphertexts = [...envelopes.map((e) => e.ciphertext), garbage];
    const threaded = await pool.decrypt(ciphertexts, key);
    const inline = ciphertexts.map((c) => shutterDecryptBytes(c, key, nobleBackend));
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
      key,
      nextNonce: () => 0,
    };
    assert.deepEqual(openEncryptedBatch({ ...input, opened: threaded }), openEncryptedBatch(input));
  });
});
