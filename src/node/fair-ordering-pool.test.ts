/**
 * Attacks on envelope admission (./fair-ordering-pool.ts): oversize and malformed bytes, an
 * envelope under someone else's name, a relay swapping another envelope into a taken slot, one
 * sender filling the pool, replays, envelopes that can no longer be included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
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

function envelope(signer: Ed25519Signer, nonce: number, targetHeight: number, fee = 10): Uint8Array {
  return SignedOrderEnvelopeCodec.encode(
    sealOrder(signer, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey,
      targetHeight,
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

  it('first envelope in a slot wins: a second for the same sender, nonce and height is refused', () => {
    const pool = createEnvelopePool(options);
    assert.ok(pool.submit(envelope(alice, 0, 12, 10), 10).ok);
    assert.deepEqual(pool.submit(envelope(alice, 0, 12, 99), 10), { ok: false, code: 'SLOT_TAKEN' });
    // The same nonce for another height is a second chance, not a replacement.
    assert.ok(pool.submit(envelope(alice, 0, 13), 10).ok);
    assert.deepEqual(pool.select(12, 1 << 20), [envelope(alice, 0, 12, 10)]);
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
    assert.equal(pool.size, 1, 'the envelope for height 11 can never be included now');
    nonces.set(alice, 2);
    pool.finalized(11);
    assert.equal(pool.size, 0, 'nonce 1 was consumed (by a plain transaction, say)');
    nonces.clear();
  });

  it('selects per sender a gapless nonce run for the height, senders in arrival order, within the byte bound', () => {
    const pool = createEnvelopePool(options);
    pool.submit(envelope(bob, 1, 12), 10); // waits for bob's nonce 0
    pool.submit(envelope(alice, 0, 12), 10);
    pool.submit(envelope(bob, 0, 12), 10);
    pool.submit(envelope(alice, 1, 13), 10); // another height
    const all = pool.select(12, 1 << 20);
    assert.deepEqual(all, [envelope(bob, 0, 12), envelope(bob, 1, 12), envelope(alice, 0, 12)]);
    assert.deepEqual(pool.select(12, all[0]!.length * 2), all.slice(0, 2));
    assert.deepEqual(pool.select(13, 1 << 20), [], "alice's nonce 1 waits for her nonce 0 to be consumed");
  });

  it("selects from the parent's next nonce: above the executed one, and never a nonce an ancestor already carries", () => {
    const pool = createEnvelopePool(options);
    pool.submit(envelope(alice, 0, 13), 10); // a retry of nonce 0, already in the block at 12
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
    // Above the parent's next nonce a gap still stops the run: alice's 1 and 2 wait for her 0.
    assert.deepEqual(pool.select(13, 1 << 20, () => 0).length, 4);
    pool.submit(envelope(carol, 1, 13), 10);
    assert.deepEqual(pool.select(13, 1 << 20, () => 0).length, 4, "carol's nonce 1 waits for her 0");
  });
});
