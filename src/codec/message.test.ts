import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BooleanType, ContainerType, ListCompositeType } from '@chainsafe/ssz';
import { type Block, BlockCodec, SyncResponseCodec } from './consensus.ts';
import { CodecError } from './errors.ts';
import { PlaceOrderCodec } from './execution.ts';
import { decodeAny, defineMessage, type MessageCodec } from './message.ts';
import { Bytes32, Uint16 } from './primitives.ts';
import { SignedTransactionCodec } from './transaction.ts';

const Inner = new ContainerType({ flag: new BooleanType(), weight: Uint16 }, { typeName: 'Inner' });
const Probe = defineMessage({
  name: 'Probe',
  tag: 0xfff0,
  type: new ContainerType(
    { id: Bytes32, inner: Inner, items: new ListCompositeType(Inner, 4) },
    { typeName: 'Probe' },
  ),
  maxBytes: 200,
});

function decodeFailure(bytes: Uint8Array): CodecError {
  try {
    Probe.decode(bytes);
  } catch (error) {
    assert.ok(error instanceof CodecError);
    return error;
  }
  assert.fail('decoding should have failed');
}

const sample = {
  id: new Uint8Array(32).fill(3),
  inner: { flag: true, weight: 7 },
  items: [
    { flag: false, weight: 1 },
    { flag: true, weight: 2 },
  ],
};

test('a malformed nested field is reported by its dotted path', () => {
  const bytes = Probe.encode(sample);
  // Layout: header (3) ‖ id (32) ‖ inner.flag (1) ‖ inner.weight (2) ‖ items offset (4) ‖ items.
  const badFlag = bytes.slice();
  badFlag[3 + 32] = 2;
  assert.equal(decodeFailure(badFlag).field, 'Probe.inner.flag');
  const badItem = bytes.slice();
  badItem[3 + 32 + 3 + 4 + 3] = 9; // items[1].flag
  assert.equal(decodeFailure(badItem).field, 'Probe.items[1].flag');
  const badOffset = bytes.slice();
  badOffset[3 + 32 + 3] = 99;
  assert.equal(decodeFailure(badOffset).field, 'Probe');
  assert.equal(decodeFailure(badOffset).code, 'MALFORMED_FIELD');
});

test('envelope errors: too short, unknown version, unknown type, wrong type, trailing bytes, too large', () => {
  const bytes = Probe.encode(sample);
  assert.equal(decodeFailure(bytes.subarray(0, 2)).code, 'MESSAGE_TOO_SHORT');
  const version = bytes.slice();
  version[0] = 2;
  assert.equal(decodeFailure(version).code, 'UNKNOWN_VERSION');
  const otherTag = bytes.slice();
  otherTag[2] = 0xf1;
  assert.equal(decodeFailure(otherTag).code, 'WRONG_TYPE');
  assert.throws(
    () => decodeAny(otherTag),
    (error: unknown) => error instanceof CodecError && error.code === 'UNKNOWN_TYPE',
  );
  assert.equal(decodeFailure(new Uint8Array([...bytes, 0])).code, 'MALFORMED_FIELD');
  assert.equal(decodeFailure(new Uint8Array(201)).code, 'MESSAGE_TOO_LARGE');
  assert.deepEqual(decodeAny(bytes).value, sample);
});

function assertUnsafeIntegerRefused<T>(codec: MessageCodec<T>, value: T, field: string): void {
  const bytes = codec.encode(value);
  assert.throws(
    () => codec.decode(bytes),
    (error: unknown) =>
      error instanceof CodecError && error.code === 'INVALID_VALUE' && error.field === field,
    `${codec.name} should refuse 2^53 at ${field}`,
  );
  assert.throws(
    () => decodeAny(bytes),
    (error: unknown) =>
      error instanceof CodecError && error.code === 'INVALID_VALUE' && error.field === field,
  );
}

test('a u64 of 2^53 is refused by the envelope, naming the field, in consensus, execution and transaction messages', () => {
  const block: Block = {
    view: 2,
    height: 1,
    parentView: 1,
    parent: new Uint8Array(32),
    proposer: 0,
    payload: new Uint8Array(0),
  };
  // The same shapes with safe values decode, so the refusals below are the envelope's rule alone.
  assert.deepEqual(BlockCodec.decode(BlockCodec.encode(block)), block);
  assertUnsafeIntegerRefused(BlockCodec, { ...block, height: 2 ** 53 }, 'Block.height');
  assertUnsafeIntegerRefused(
    SyncResponseCodec,
    { blocks: [block, { ...block, view: 2 ** 53 }] },
    'SyncResponse.blocks[1].view',
  );

  const order = {
    seriesId: 1,
    side: 0,
    kind: 0,
    timeInForce: 0,
    postOnly: false,
    reduceOnly: false,
    price: 100,
    sizeE6: 1_000_000,
    clientOrderId: 7,
  };
  assert.deepEqual(PlaceOrderCodec.decode(PlaceOrderCodec.encode(order)), order);
  assertUnsafeIntegerRefused(
    PlaceOrderCodec,
    { ...order, clientOrderId: 2 ** 53 },
    'PlaceOrder.clientOrderId',
  );

  const transaction = {
    body: {
      chainId: 1,
      signer: new Uint8Array(32),
      nonce: 2 ** 53,
      expiryHeight: 10,
      payload: new Uint8Array(0),
    },
    signature: new Uint8Array(64),
  };
  assertUnsafeIntegerRefused(SignedTransactionCodec, transaction, 'SignedTransaction.body.nonce');
});
