import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from '../codec/errors.ts';
import { createEd25519Signer, generateEd25519KeyPair } from './ed25519.ts';
import { checkTransaction, SignedTransactionCodec, signTransaction } from './transaction.ts';

const signer = createEd25519Signer(generateEd25519KeyPair().secretKey);
const tx = signTransaction(signer, {
  chainId: 1,
  nonce: 3,
  expiryHeight: 100,
  payload: new Uint8Array([9, 9]),
});

test('a signed transaction survives encoding and passes the stateless checks until its expiry height', () => {
  const decoded = SignedTransactionCodec.decode(SignedTransactionCodec.encode(tx));
  assert.equal(checkTransaction(decoded, { chainId: 1, height: 100 }), 'ok');
  assert.equal(checkTransaction(decoded, { chainId: 1, height: 101 }), 'EXPIRED');
  assert.equal(checkTransaction(decoded, { chainId: 2, height: 5 }), 'WRONG_CHAIN');
});

test('changing any signed field breaks the signature', () => {
  for (const change of [{ nonce: 4 }, { expiryHeight: 101 }, { payload: new Uint8Array([9, 8]) }]) {
    const forged = { ...tx, body: { ...tx.body, ...change } };
    assert.equal(checkTransaction(forged, { chainId: 1, height: 1 }), 'BAD_SIGNATURE');
  }
});

test('an appended byte becomes part of the signed payload, so the signature no longer holds', () => {
  const bytes = SignedTransactionCodec.encode(tx);
  const extended = SignedTransactionCodec.decode(new Uint8Array([...bytes, 0]));
  assert.equal(checkTransaction(extended, { chainId: 1, height: 1 }), 'BAD_SIGNATURE');
});

test('oversized and truncated messages are typed decoding errors', () => {
  assert.throws(
    () => SignedTransactionCodec.decode(SignedTransactionCodec.encode(tx).subarray(0, 40)),
    CodecError,
  );
  assert.throws(() => SignedTransactionCodec.decode(new Uint8Array(SignedTransactionCodec.maxBytes + 1)), {
    code: 'MESSAGE_TOO_LARGE',
  });
});
