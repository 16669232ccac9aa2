/**
 * Attacks on envelope admission (./fair-ordering-pool.ts): oversize and malformed bytes, an
 * envelope under someone else's name, a relay swapping another envelope into a taken slot, one
 * sender filling the pool, replays, envelopes that can no longer be included, a batch larger than
 * one vote can carry shares for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BATCH_ENVELOPES, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sealOrder } from '../crypto/shutter/envelope.ts';
import { G2 } from '../crypto/shutter/ibe.ts';
import { actionTransaction, limitOrder, testSigner } from '../execution/fixtures.ts';
import { createEnvelopePool, type EnvelopePoolOptions } from './fair-ordering-pool.ts';

const CHAIN_ID = 7;
const EON = 1;
const eonPublicKey = G2.BASE.multiply(987654321n);
const alice = testSigner('pool/alice');
const bob = testSigner('pool/bob');
const mallory = testSigner('pool/mallory');

const carol = testSigner('pool/carol');
const sigma = new Uint8Array(32).fill(9);

function envelope(signer: Ed25519Signer, nonce: number, expiryHeight: number, fee = 10): Uint8Array {
  return SignedOrderEnvelopeCodec.encode(
    sealOrder(signer, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey,
      // Fixed per (nonce, fee, expiry) so that one call's bytes equal another's.
      identityPrefix: new Uint8Array(32).map((_, i) =>
        i === 0 ? nonce : i === 1 ? fee : expiryHeight & 0xff,
      ),
      expiryHeight,
      fee,
      transaction: actionTransaction(signer, nonce, limitOrder(1, 'buy', 100, 1)),
      sigma: new Uint8Array(sigma.map((b, i) => b ^ nonce ^ (i === 0 ? fee : 0))),
    }),
  );
}

const nonces = new Map<Ed25519Signer, number>();
const options: EnvelopePoolOptions = {
  chainId: CHAIN_ID,
  eon: EON,
  aheadMax: 8,
  maxEnvelopes: 6,
  maxPerSender: 3,
  nextNonce: (sender) => {
    for (const [signer, nonce] of nonces) if (Buffer.from(signer.publicKey).equals(sender)) return nonce;
    return 0;
  },
};

describe('envelope pool', () => {
  it('refuses malformed and oversize bytes with the codec error code, and changes nothing', () => {
    const pool = createEnvelopePool(options);
    assert.deepEqual(pool.submit(Uint8Array.of(1, 1, 0x21), 10), {
      ok: false,
      code: 'MALFORMED',
      codec: 'MESSAGE_TOO_SHORT',
      field: 'SignedOrderEnvelope',
    });
    const oversize = new Uint8Array(SignedOrderEnvelopeCodec.maxBytes + 1);
    const verdict = pool.submit(oversize, 10);
    assert.ok(!verdict.ok && verdict.code === 'MALFORMED' && verdict.codec === 'MESSAGE_TOO_LARGE');
    assert.equal(pool.size, 0);
  });

  it("refuses an envelope under Alice's name that Alice did not sign", () => {
    const pool = createEnvelopePool(options);
    const decoded = SignedOrderEnvelopeCodec.decode(envelope(mallory, 0, 12));
    const forged = SignedOrderEnvelopeCodec.encode({
      ...decoded,
      body: { ...decoded.body, sender: alice.publicKey },
    });
    assert.deepEqual(pool.submit(forged, 10), { ok: false, code: 'BAD_SIGNATURE' });
    assert.equal(pool.size, 0);
  });

  it('first envelope in a slot wins: a second for the same sender and nonce is refused, whatever its expiry', () => {
    const pool = createEnvelopePool(options);
    assert.ok(pool.submit(envelope(alice, 0, 12, 10), 10).ok);
    assert.deepEqual(pool.submit(envelope(alice, 0, 12, 99), 10), { ok: false, code: 'SLOT_TAKEN' });
    assert.deepEqual(pool.submit(envelope(alice, 0, 14), 10), { ok: false, code: 'SLOT_TAKEN' });
    assert.deepEqual(pool.select(12, 1 << 20), [envelope(alice, 0, 12, 10)]);
  });

  it("refuses a sender's second envelope under an identity prefix it already used, held or gone", () => {
    // One key per identity: were both taken, the second would be readable once the first's key is
    // out, before its own place is fixed.
    const pool = createEnvelopePool(options);
    const reuse = (nonce: number, prefixOf: number) =>
      SignedOrderEnvelopeCodec.encode(
        sealOrder(alice, {
          chainId: CHAIN_ID,
          eon: EON,
          eonPublicKey,
          identityPrefix: new Uint8Array(32).fill(prefixOf),
          expiryHeight: 12,
          fee: 10,
          transaction: actionTransaction(alice, nonce, limitOrder(1, 'buy', 100, 1)),
          sigma: new Uint8Array(32).fill(nonce + 1),
        }),
      );
    assert.ok(pool.submit(reuse(0, 7), 10).ok);
    assert.deepEqual(pool.submit(reuse(1, 7), 10), { ok: false, code: 'IDENTITY_REUSED' });
    // Gone from the pool (its nonce consumed): the prefix stays used.
    nonces.set(alice, 1);
    pool.finalized(10);
    assert.equal(pool.size, 0);
    assert.deepEqual(pool.submit(reuse(1, 7), 10), { ok: false, code: 'IDENTITY_REUSED' });
    // Another sender's envelope under the same prefix is another identity.
    const bobs = SignedOrderEnvelopeCodec.encode(
      sealOrder(bob, {
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey,
        identityPrefix: new Uint8Array(32).fill(7),
        expiryHeight: 12,
        fee: 10,
        transaction: actionTransaction(bob, 0, limitOrder(1, 'buy', 100, 1)),
        sigma: new Uint8Array(32).fill(3),
      }),
    );
    assert.ok(pool.submit(bobs, 10).ok);
    assert.ok(pool.submit(reuse(1, 8), 10).ok);
    nonces.clear();
  });

  it('one sender cannot fill the pool; a full pool refuses', () => {
    const pool = createEnvelopePool(options);
    for (let nonce = 0; nonce < 3; nonce++) assert.ok(pool.submit(envelope(mallory, nonce, 12), 10).ok);
    assert.deepEqual(pool.submit(envelope(mallory, 3, 12), 10), { ok: false, code: 'SENDER_LIMIT' });
    for (let nonce = 0; nonce < 3; nonce++) assert.ok(pool.submit(envelope(bob, nonce, 12), 10).ok);
    assert.deepEqual(pool.submit(envelope(alice, 0, 12), 10), { ok: false, code: 'POOL_FULL' });
  });

  it('refuses expired, far-future and replayed envelopes; forgets what can no longer be included', () => {
    const pool = createEnvelopePool(options);
    assert.deepEqual(pool.submit(envelope(alice, 0, 9), 10), { ok: false, code: 'EXPIRED' });
    assert.deepEqual(pool.submit(envelope(alice, 0, 19), 10), { ok: false, code: 'TOO_FAR_AHEAD' });
    nonces.set(bob, 2);
    assert.deepEqual(pool.submit(envelope(bob, 1, 12), 10), { ok: false, code: 'REPLAYED_NONCE' });
    assert.ok(pool.submit(envelope(alice, 0, 11), 10).ok);
    assert.ok(pool.submit(envelope(alice, 1, 12), 10).ok);
    pool.finalized(11);
    assert.equal(pool.size, 1, 'the envelope valid up to height 11 can never be included now');
    nonces.set(alice, 2);
    pool.finalized(11);
    assert.equal(pool.size, 0, 'nonce 1 was consumed (by a plain transaction, say)');
    nonces.clear();
  });

  it('an envelope the block at h left out is still selected at h + 1, up to its expiry (no target to miss)', () => {
    const pool = createEnvelopePool(options);
    pool.submit(envelope(alice, 0, 14), 10);
    for (const height of [10, 11, 12, 13, 14])
      assert.deepEqual(pool.select(height, 1 << 20), [envelope(alice, 0, 14)]);
    assert.deepEqual(pool.select(15, 1 << 20), [], 'expired above 14');
    assert.equal(pool.selectable(14), true);
    assert.equal(pool.selectable(15), false);
  });

  it('selects per sender a gapless nonce run of unexpired envelopes, senders in arrival order, within the byte bound', () => {
    const pool = createEnvelopePool(options);
    pool.submit(envelope(bob, 1, 12), 10); // waits for bob's nonce 0
    pool.submit(envelope(alice, 0, 12), 10);
    pool.submit(envelope(bob, 0, 12), 10);
    pool.submit(envelope(alice, 1, 11), 10);
    const all = pool.select(12, 1 << 20);
    assert.deepEqual(all, [envelope(bob, 0, 12), envelope(bob, 1, 12), envelope(alice, 0, 12)]);
    assert.deepEqual(pool.select(12, all[0]!.length * 2), all.slice(0, 2));
    // At 11 alice's nonce 1 follows her 0; at 12 it has expired and stops her run.
    assert.deepEqual(pool.select(11, 1 << 20).length, 4);
    assert.equal(pool.select(13, 1 << 20).length, 0, 'everything expired');
  });

  it('selects at most MAX_BATCH_ENVELOPES for one block: a batch is what one vote can carry shares for', () => {
    const pool = createEnvelopePool({ ...options, maxEnvelopes: 40, maxPerSender: 40 });
    for (let nonce = 0; nonce < MAX_BATCH_ENVELOPES + 4; nonce++)
      assert.ok(pool.submit(envelope(alice, nonce, 12), 10).ok);
    assert.equal(pool.select(12, 1 << 20).length, MAX_BATCH_ENVELOPES);
  });

  it("selects from the parent's next nonce: above the executed one, and never a nonce an ancestor already carries", () => {
    const pool = createEnvelopePool(options);
    pool.submit(envelope(alice, 0, 13), 10); // already in the unexecuted block at 12
    pool.submit(envelope(alice, 1, 13), 10);
    pool.submit(envelope(alice, 2, 13), 10);
    pool.submit(envelope(bob, 0, 13), 10);
    // Executed state: nonce 0 for both. The unexecuted block 12 carries alice's nonce 0.
    const afterParent = (sender: Uint8Array) => (Buffer.from(alice.publicKey).equals(sender) ? 1 : 0);
    assert.deepEqual(pool.select(13, 1 << 20, afterParent), [
      envelope(alice, 1, 13),
      envelope(alice, 2, 13),
      envelope(bob, 0, 13),
    ]);
    // Everything already carried by ancestors (alice's 0 to 2, bob's 0): nothing is selected twice.
    const allCarried = (sender: Uint8Array) => (Buffer.from(alice.publicKey).equals(sender) ? 3 : 1);
    assert.deepEqual(pool.select(13, 1 << 20, allCarried), []);
    assert.deepEqual(pool.select(13, 1 << 20, () => 0).length, 4);
    pool.submit(envelope(carol, 1, 13), 10);
    assert.deepEqual(pool.select(13, 1 << 20, () => 0).length, 4, "carol's nonce 1 waits for her 0");
  });
});
