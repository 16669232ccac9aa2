import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from './errors.ts';
import { fromJson, jsonSchema, messageFromJson, messageJsonSchema, messageToJson, toJson } from './json.ts';
import { StateProofCodec } from './state-proof.ts';
import { type SignedTransaction, SignedTransactionCodec, TransactionBodyType } from './transaction.ts';

const tx: SignedTransaction = {
  body: {
    chainId: 7,
    signer: new Uint8Array(32).fill(0xab),
    nonce: 2 ** 40,
    expiryHeight: 100,
    payload: new Uint8Array([1, 2]),
  },
  signature: new Uint8Array(64).fill(1),
};

function rejects(run: () => unknown, code: string, field: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof CodecError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.field, field, error.message);
    return true;
  });
}

test('bytes are 0x hex, u64 are decimal strings, and the JSON form round-trips', () => {
  const json = messageToJson(SignedTransactionCodec, tx) as {
    body: Record<string, unknown>;
    signature: string;
  };
  assert.equal(json.body.chainId, '7');
  assert.equal(json.body.nonce, '1099511627776');
  assert.equal(json.body.payload, '0x0102');
  assert.equal(json.signature, `0x${'01'.repeat(64)}`);
  assert.deepEqual(messageFromJson(SignedTransactionCodec, JSON.parse(JSON.stringify(json))), tx);
  // Small integers are JSON numbers.
  const proof = { levels: [{ childBitmap: 0x8001, siblings: [] }], leaf: [] };
  assert.deepEqual(toJson(StateProofCodec.type, proof), {
    levels: [{ childBitmap: 0x8001, siblings: [] }],
    leaf: [],
  });
});

test('unknown, missing and mistyped fields are typed errors with the dotted path', () => {
  const json = messageToJson(SignedTransactionCodec, tx) as { body: Record<string, unknown> };
  rejects(
    () => messageFromJson(SignedTransactionCodec, { ...json, extra: 1 }),
    'UNKNOWN_FIELD',
    'SignedTransaction.extra',
  );
  const { nonce: _nonce, ...withoutNonce } = json.body;
  rejects(
    () => messageFromJson(SignedTransactionCodec, { ...json, body: withoutNonce }),
    'INVALID_JSON',
    'SignedTransaction.body.nonce',
  );
  rejects(
    () => messageFromJson(SignedTransactionCodec, { ...json, body: { ...json.body, nonce: 5 } }),
    'INVALID_JSON',
    'SignedTransaction.body.nonce',
  );
  rejects(
    () =>
      messageFromJson(SignedTransactionCodec, { ...json, body: { ...json.body, nonce: '9007199254740992' } }),
    'INVALID_JSON',
    'SignedTransaction.body.nonce',
  );
  rejects(
    () => messageFromJson(SignedTransactionCodec, { ...json, body: { ...json.body, signer: '0x12' } }),
    'INVALID_JSON',
    'SignedTransaction.body.signer',
  );
  rejects(
    () => messageFromJson(SignedTransactionCodec, { ...json, body: { ...json.body, payload: '0x1' } }),
    'INVALID_JSON',
    'SignedTransaction.body.payload',
  );
  rejects(
    () =>
      messageFromJson(SignedTransactionCodec, {
        ...json,
        body: { ...json.body, payload: `0x${'00'.repeat(4097)}` },
      }),
    'INVALID_JSON',
    'SignedTransaction.body.payload',
  );
  rejects(
    () => fromJson(StateProofCodec.type, { levels: [{ childBitmap: 70000, siblings: [] }], leaf: [] }),
    'INVALID_JSON',
    'value.levels[0].childBitmap',
  );
  rejects(() => fromJson(StateProofCodec.type, { levels: [], leaf: [1, 2] }), 'INVALID_JSON', 'value.leaf');
  rejects(() => messageFromJson(SignedTransactionCodec, []), 'INVALID_JSON', 'SignedTransaction');
});

test('schemas describe the same shape: strict objects, hex patterns, bounded lists', () => {
  const schema = jsonSchema(TransactionBodyType) as {
    type: string;
    additionalProperties: boolean;
    required: string[];
    properties: Record<string, { type: string; pattern?: string; maxLength?: number }>;
  };
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['chainId', 'signer', 'nonce', 'expiryHeight', 'payload']);
  assert.equal(schema.properties.signer?.pattern, '^0x[0-9a-fA-F]{64}$');
  assert.equal(schema.properties.payload?.maxLength, 2 + 2 * 4096);
  assert.equal(schema.properties.nonce?.type, 'string');
  assert.equal(messageJsonSchema(SignedTransactionCodec).$id, 'SignedTransaction');
});
