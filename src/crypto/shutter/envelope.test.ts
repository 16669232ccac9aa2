/**
 * Attacks on the encrypted-order envelope (src/codec/envelope.ts, ./envelope.ts): malformed and
 * oversize bytes, a swapped ciphertext, a forged or cross-domain signature, an expired or
 * far-future target, a replayed nonce.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  MAX_ENVELOPE_CIPHERTEXT_BYTES,
  OrderEnvelopeBodyCodec,
  type SignedOrderEnvelope,
  SignedOrderEnvelopeCodec,
} from '../../codec/envelope.ts';
import { CodecError } from '../../codec/errors.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { DomainTag, domainMessage } from '../domain.ts';
import { createEd25519Signer, type Ed25519Signer } from '../ed25519.ts';
import { sha256 } from '../hash.ts';
import { signTransaction } from '../transaction.ts';
import {
  admitEnvelope,
  checkEnvelope,
  type EnvelopeCheckContext,
  EnvelopeError,
  envelopeSigningBytes,
  identityOfEnvelope,
  sealOrder,
} from './envelope.ts';
import { randomEonScalar } from './eon-dkg.ts';
import { decodeShutterCiphertext, G2, shutterDecrypt, shutterIdentityPoint } from './ibe.ts';
import { envelopeIdentity } from './key-shares.ts';

const CHAIN_ID = 7;
const EON = 2;
const secret = randomEonScalar();
const eonPublicKey = G2.BASE.multiply(secret);
const testSigner = (label: string) => createEd25519Signer(sha256(new TextEncoder().encode(label)));
const alice = testSigner('envelope/alice');
const mallory = testSigner('envelope/mallory');
/** Any payload: the envelope never looks inside the transaction. */
const transactionOf = (signer: Ed25519Signer, nonce: number) =>
  signTransaction(signer, { chainId: CHAIN_ID, nonce, expiryHeight: 100, payload: Uint8Array.of(1, 2, 3) });

const PREFIX = new Uint8Array(32).fill(0x5a);
const keyOf = (sender: Uint8Array, prefix: Uint8Array) =>
  shutterIdentityPoint(envelopeIdentity(CHAIN_ID, sender, prefix)).multiply(secret);

function seal(nonce = 0, expiryHeight = 10, signer = alice, identityPrefix = PREFIX): SignedOrderEnvelope {
  return sealOrder(signer, {
    chainId: CHAIN_ID,
    eon: EON,
    eonPublicKey,
    identityPrefix,
    expiryHeight,
    fee: 1000,
    transaction: transactionOf(signer, nonce),
    sigma: new Uint8Array(randomBytes(32)),
  });
}

const context: EnvelopeCheckContext = {
  chainId: CHAIN_ID,
  eon: EON,
  height: 8,
  aheadMax: 16,
  nextNonce: () => 0,
};

describe('order envelope', () => {
  const envelope = seal();
  const bytes = SignedOrderEnvelopeCodec.encode(envelope);

  it("round-trips and opens with its own identity's key only: not another prefix's, not another sender's", () => {
    const decoded = admitEnvelope(bytes, context);
    assert.deepEqual(decoded.body.sender, alice.publicKey);
    assert.deepEqual(decoded.body.identityPrefix, PREFIX);
    assert.deepEqual(identityOfEnvelope(decoded.body), envelopeIdentity(CHAIN_ID, alice.publicKey, PREFIX));
    const opened = shutterDecrypt(
      decodeShutterCiphertext(decoded.ciphertext),
      keyOf(alice.publicKey, PREFIX),
    );
    assert.ok(opened.ok);
    assert.equal(SignedTransactionCodec.decode(opened.message).body.nonce, 0);
    const otherPrefix = new Uint8Array(32).fill(0x5b);
    for (const otherKey of [keyOf(alice.publicKey, otherPrefix), keyOf(mallory.publicKey, PREFIX)])
      assert.equal(shutterDecrypt(decodeShutterCiphertext(decoded.ciphertext), otherKey).ok, false);
  });

  it('the prefix is signed: changing it under the envelope breaks the signature', () => {
    const moved = { ...envelope, body: { ...envelope.body, identityPrefix: new Uint8Array(32).fill(1) } };
    assert.equal(checkEnvelope(moved, context), 'BAD_SIGNATURE');
    const later = { ...envelope, body: { ...envelope.body, expiryHeight: envelope.body.expiryHeight + 1 } };
    assert.equal(checkEnvelope(later, context), 'BAD_SIGNATURE');
  });

  it('refuses malformed, truncated and oversize bytes with a CodecError', () => {
    assert.throws(() => admitEnvelope(bytes.subarray(0, 40), context), CodecError);
    const oversize = new Uint8Array(SignedOrderEnvelopeCodec.maxBytes + 1);
    oversize.set(bytes.subarray(0, 3));
    assert.throws(
      () => admitEnvelope(oversize, context),
      (e: unknown) => e instanceof CodecError && e.code === 'MESSAGE_TOO_LARGE',
    );
    // The declared size must be the carried size.
    const lying = SignedOrderEnvelopeCodec.type.serialize({
      ...envelope,
      body: { ...envelope.body, ciphertextBytes: envelope.body.ciphertextBytes + 32 },
    });
    const lyingBytes = new Uint8Array(3 + lying.length);
    lyingBytes.set(bytes.subarray(0, 3));
    lyingBytes.set(lying, 3);
    assert.throws(
      () => admitEnvelope(lyingBytes, context),
      (e: unknown) => e instanceof CodecError && e.field === 'SignedOrderEnvelope.body.ciphertextBytes',
    );
    // A ciphertext that is not whole 32-byte blocks, or too short, or of another version, under
    // the sender's own valid signature.
    const ragged = sealWith(envelope.ciphertext.subarray(0, envelope.ciphertext.length - 1));
    assert.equal(checkEnvelope(ragged, context), 'MALFORMED_CIPHERTEXT');
    assert.equal(
      checkEnvelope(sealWith(envelope.ciphertext.subarray(0, 129)), context),
      'MALFORMED_CIPHERTEXT',
    );
    const otherVersion = new Uint8Array(envelope.ciphertext);
    otherVersion[0] = 0x02;
    assert.throws(
      () => admitEnvelope(SignedOrderEnvelopeCodec.encode(sealWith(otherVersion)), context),
      (e: unknown) => e instanceof EnvelopeError && e.code === 'MALFORMED_CIPHERTEXT',
    );
    assert.ok(MAX_ENVELOPE_CIPHERTEXT_BYTES >= SignedTransactionCodec.maxBytes + 129);
  });

  it('refuses a ciphertext swapped under a signed envelope (CIPHERTEXT_MISMATCH)', () => {
    const other = seal(0, 10);
    const swapped = { ...envelope, ciphertext: other.ciphertext };
    assert.equal(checkEnvelope(swapped, context), 'CIPHERTEXT_MISMATCH');
  });

  it("refuses a forged signature, another sender's signature and a transaction-domain signature", () => {
    const flipped = new Uint8Array(envelope.signature);
    flipped[5]! ^= 1;
    assert.equal(checkEnvelope({ ...envelope, signature: flipped }, context), 'BAD_SIGNATURE');
    const stolen = { ...envelope, body: { ...envelope.body, sender: mallory.publicKey } };
    assert.equal(checkEnvelope(stolen, context), 'BAD_SIGNATURE');
    // The same body bytes signed in the transaction domain do not verify as an envelope.
    const crossDomain = alice.sign(
      domainMessage(DomainTag.transaction, CHAIN_ID, OrderEnvelopeBodyCodec.encode(envelope.body)),
    );
    assert.equal(checkEnvelope({ ...envelope, signature: crossDomain }, context), 'BAD_SIGNATURE');
    assert.throws(
      () => admitEnvelope(SignedOrderEnvelopeCodec.encode({ ...envelope, signature: flipped }), context),
      (e: unknown) => e instanceof EnvelopeError && e.code === 'BAD_SIGNATURE',
    );
  });

  it('refuses an expired envelope, an expiry too far ahead, another chain and another eon', () => {
    assert.equal(checkEnvelope(envelope, { ...context, height: 11 }), 'EXPIRED');
    assert.equal(checkEnvelope(envelope, { ...context, height: 10 }), 'ok');
    assert.equal(checkEnvelope(seal(0, 8 + 17), context), 'TOO_FAR_AHEAD');
    assert.equal(checkEnvelope(envelope, { ...context, chainId: 8 }), 'WRONG_CHAIN');
    assert.equal(checkEnvelope(envelope, { ...context, eon: EON + 1 }), 'WRONG_EON');
  });

  it('refuses a replayed nonce', () => {
    assert.equal(checkEnvelope(envelope, { ...context, nextNonce: () => 1 }), 'REPLAYED_NONCE');
    assert.equal(checkEnvelope(seal(3), { ...context, nextNonce: () => 1 }), 'ok');
  });
});

/** Alice's valid signature over an envelope carrying `ciphertext`, whatever its shape. */
function sealWith(ciphertext: Uint8Array): SignedOrderEnvelope {
  const body = {
    chainId: CHAIN_ID,
    sender: alice.publicKey,
    nonce: 0,
    fee: 1000,
    eon: EON,
    identityPrefix: PREFIX,
    expiryHeight: 10,
    ciphertextBytes: ciphertext.length,
    ciphertextHash: sha256(ciphertext),
  };
  return { body, signature: alice.sign(envelopeSigningBytes(body)), ciphertext: new Uint8Array(ciphertext) };
}
