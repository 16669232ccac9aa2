/**
 * Attacks on the decrypt-and-execute rule (./encrypted-batch.ts): a copied ciphertext re-wrapped
 * under another sender's envelope, garbage and non-transaction plaintexts (charged, so no free
 * cancel), a replay of a consumed nonce, an envelope for another height, a wrong key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SignedOrderEnvelope, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { envelopeSigningBytes, sealOrder } from '../crypto/shutter/envelope.ts';
import { randomEonScalar } from '../crypto/shutter/eon-dkg.ts';
import { encodeShutterCiphertext, G2, shutterEncrypt, shutterIdentityPoint } from '../crypto/shutter/ibe.ts';
import { batchIdentity } from '../crypto/shutter/key-shares.ts';
import { actionTransaction, limitOrder, testSigner } from '../execution/fixtures.ts';
import { type EncryptedBatchInput, openEncryptedBatch } from './encrypted-batch.ts';

const CHAIN_ID = 7;
const EON = 1;
const HEIGHT = 20;
const secret = randomEonScalar();
const eonPublicKey = G2.BASE.multiply(secret);
const keyFor = (height: number) =>
  shutterIdentityPoint(batchIdentity(CHAIN_ID, height)).multiply(secret).toBytes(true);
const alice = testSigner('batch/alice');
const bob = testSigner('batch/bob');
const mallory = testSigner('batch/mallory');

function order(
  signer: Ed25519Signer,
  nonce: number,
  side: 'buy' | 'sell',
  targetHeight = HEIGHT,
): SignedOrderEnvelope {
  return sealOrder(signer, {
    chainId: CHAIN_ID,
    eon: EON,
    eonPublicKey,
    targetHeight,
    fee: 500,
    transaction: actionTransaction(signer, nonce, limitOrder(1, side, 100, 1)),
    sigma: new Uint8Array(randomBytes(32)),
  });
}

/** An envelope signed by `signer` around any ciphertext bytes. */
function wrap(signer: Ed25519Signer, nonce: number, ciphertext: Uint8Array): SignedOrderEnvelope {
  const body = {
    chainId: CHAIN_ID,
    sender: signer.publicKey,
    nonce,
    fee: 500,
    eon: EON,
    targetHeight: HEIGHT,
    ciphertextBytes: ciphertext.length,
    ciphertextHash: sha256(ciphertext),
  };
  return { body, signature: signer.sign(envelopeSigningBytes(body)), ciphertext };
}

function encryptBytes(plaintext: Uint8Array): Uint8Array {
  const identity = shutterIdentityPoint(batchIdentity(CHAIN_ID, HEIGHT));
  return encodeShutterCiphertext(
    shutterEncrypt(plaintext, eonPublicKey, identity, new Uint8Array(randomBytes(32))),
  );
}

function open(
  envelopes: readonly (SignedOrderEnvelope | Uint8Array)[],
  overrides: Partial<EncryptedBatchInput> = {},
) {
  const result = openEncryptedBatch({
    chainId: CHAIN_ID,
    eon: EON,
    eonPublicKey,
    height: HEIGHT,
    envelopes: envelopes.map((e) => (e instanceof Uint8Array ? e : SignedOrderEnvelopeCodec.encode(e))),
    key: keyFor(HEIGHT),
    nextNonce: () => 0,
    ...overrides,
  });
  assert.ok(result.ok, 'the batch key is right');
  return result;
}

const reasons = (result: ReturnType<typeof open>) =>
  result.outcomes.map((o) => (o.kind === 'execute' ? 'execute' : `${o.kind}:${o.reason}`));

describe('encrypted batch: decrypt and execute in block order', () => {
  it('opens every order in its fixed position and charges each fee', () => {
    const result = open([order(bob, 0, 'sell'), order(alice, 0, 'buy'), order(alice, 1, 'buy')]);
    assert.deepEqual(reasons(result), ['execute', 'execute', 'execute']);
    assert.deepEqual(
      result.transactions.map((t) => [t.body.signer, t.body.nonce]),
      [
        [bob.publicKey, 0],
        [alice.publicKey, 0],
        [alice.publicKey, 1],
      ],
    );
    assert.deepEqual(
      result.charges.map((c) => c.fee),
      [500, 500, 500],
    );
  });

  it("re-wrap: Mallory's envelope around Alice's ciphertext is dropped and Mallory pays; Alice's order executes once", () => {
    const victim = order(alice, 0, 'buy');
    const copy = wrap(mallory, 0, victim.ciphertext);
    const result = open([copy, victim]);
    assert.deepEqual(reasons(result), ['charged:SIGNER_MISMATCH', 'execute']);
    assert.equal(result.transactions.length, 1);
    assert.deepEqual(result.transactions[0]!.body.signer, alice.publicKey);
    assert.deepEqual(
      result.charges.map((c) => [c.sender, c.executed]),
      [
        [mallory.publicKey, false],
        [alice.publicKey, true],
      ],
    );
  });

  it('garbage ciphertext and a non-transaction plaintext are charged and consume the nonce (no free cancel)', () => {
    const garbage = new Uint8Array(randomBytes(129 + 64));
    garbage[0] = 0x03;
    const result = open([
      wrap(alice, 0, garbage),
      wrap(bob, 0, encryptBytes(new TextEncoder().encode('not a transaction'))),
      // The trader tries again with the nonce the garbage consumed: a replay.
      order(alice, 0, 'buy'),
      order(bob, 1, 'sell'),
    ]);
    assert.deepEqual(reasons(result), [
      'charged:UNDECRYPTABLE',
      'charged:INVALID_TRANSACTION',
      'uncharged:REPLAYED_NONCE',
      'execute',
    ]);
    assert.deepEqual(
      result.charges.map((c) => [c.nonce, c.executed]),
      [
        [0, false],
        [0, false],
        [1, true],
      ],
    );
  });

  it('a plaintext whose nonce or signature differs from the envelope is charged and not executed', () => {
    const otherNonce = SignedTransactionCodec.encode(
      actionTransaction(alice, 5, limitOrder(1, 'buy', 100, 1)),
    );
    const forged = actionTransaction(alice, 1, limitOrder(1, 'buy', 100, 1));
    const flipped = new Uint8Array(forged.signature);
    flipped[0]! ^= 1;
    const result = open([
      wrap(alice, 0, encryptBytes(otherNonce)),
      wrap(alice, 1, encryptBytes(SignedTransactionCodec.encode({ ...forged, signature: flipped }))),
    ]);
    assert.deepEqual(reasons(result), ['charged:INNER_MISMATCH', 'charged:INNER_BAD_SIGNATURE']);
    assert.equal(result.transactions.length, 0);
  });

  it('envelopes that do not belong here are dropped uncharged: other height, bad bytes, a nonce gap, a replay of the state', () => {
    const result = open(
      [
        order(alice, 3, 'buy', HEIGHT + 1),
        Uint8Array.of(1, 1, 0x21, 0),
        order(bob, 4, 'sell'),
        order(alice, 2, 'buy'),
      ],
      { nextNonce: () => 3 },
    );
    assert.deepEqual(reasons(result), [
      'uncharged:WRONG_BATCH',
      'uncharged:MALFORMED_ENVELOPE',
      'uncharged:NONCE_GAP',
      'uncharged:REPLAYED_NONCE',
    ]);
    assert.equal(result.charges.length, 0);
  });

  it("refuses another block's key: nothing opens, nothing is charged", () => {
    const input = {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey,
      height: HEIGHT,
      envelopes: [SignedOrderEnvelopeCodec.encode(order(alice, 0, 'buy'))],
      nextNonce: () => 0,
    };
    assert.deepEqual(openEncryptedBatch({ ...input, key: keyFor(HEIGHT + 1) }), {
      ok: false,
      code: 'BAD_KEY',
    });
    assert.deepEqual(openEncryptedBatch({ ...input, key: new Uint8Array(48) }), {
      ok: false,
      code: 'BAD_KEY',
    });
    assert.equal(openEncryptedBatch({ ...input, key: keyFor(HEIGHT) }).ok, true);
  });
});
