/**
 * The direct transaction decoder against the SSZ codec it stands in for. An attacker who found an
 * encoding the direct reader accepts and the codec refuses (a second encoding of one transaction,
 * a nonce read wrongly, a payload past its bound) would have a validator admit or execute what the
 * specification says does not exist; so on valid, mutated and hostile encodings the two must give
 * the same value or the same error, and the direct reader must take every canonical encoding
 * (otherwise it saves nothing and the test below would pass on a reader that never reads).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPrng } from '../std/prng.ts';
import { CodecError } from './errors.ts';
import {
  decodeSignedTransaction,
  MAX_TRANSACTION_PAYLOAD_BYTES,
  readSignedTransaction,
  type SignedTransaction,
  SignedTransactionCodec,
  TransactionBodyCodec,
} from './transaction.ts';

const prng = createPrng(0x7ac0de);
/** Uniform in [0, 1). */
const random = () => prng.nextU32() / 2 ** 32;
const randomBytes = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));

/** u64 values where readers go wrong: the 32-bit boundary and the last safe integer. */
const EDGES = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

function sample(payloadLength: number): SignedTransaction {
  return {
    body: {
      chainId: pick(EDGES),
      signer: randomBytes(32),
      nonce: random() < 0.5 ? pick(EDGES) : Math.floor(random() * 1e6),
      expiryHeight: pick(EDGES),
      payload: randomBytes(payloadLength),
    },
    signature: randomBytes(64),
  };
}

type Outcome = { value: unknown; encodedBody: Uint8Array } | { code: string; field: string };

function outcome(decode: (bytes: Uint8Array) => { transaction: SignedTransaction; encodedBody: Uint8Array }) {
  return (bytes: Uint8Array): Outcome => {
    try {
      const { transaction, encodedBody } = decode(bytes);
      return { value: transaction, encodedBody };
    } catch (error) {
      assert.ok(error instanceof CodecError, `a CodecError, not ${String(error)}`);
      return { code: error.code, field: error.field };
    }
  };
}

const direct = outcome(decodeSignedTransaction);
const codec = outcome((bytes) => {
  const transaction = SignedTransactionCodec.decode(bytes);
  return { transaction, encodedBody: TransactionBodyCodec.encode(transaction.body) };
});

function assertSame(bytes: Uint8Array, what: string): void {
  assert.deepStrictEqual(direct(bytes), codec(bytes), what);
}

test('every canonical encoding is read directly, to the codec value and the body encoding', () => {
  for (const length of [0, 1, 59, 60, 61, 200, 4095, MAX_TRANSACTION_PAYLOAD_BYTES]) {
    for (let round = 0; round < 8; round++) {
      const transaction = sample(length);
      const bytes = SignedTransactionCodec.encode(transaction);
      const read = readSignedTransaction(bytes);
      assert.ok(read !== undefined, `payload of ${length} bytes read directly`);
      assert.deepStrictEqual(read.transaction, SignedTransactionCodec.decode(bytes));
      assert.deepStrictEqual(read.transaction, transaction);
      assert.deepStrictEqual(read.encodedBody, TransactionBodyCodec.encode(transaction.body));
      // From a Node Buffer (what a socket or an HTTP body hands over): plain copies come back.
      const buffer = Buffer.from(bytes);
      const fromBuffer = readSignedTransaction(buffer);
      assert.deepStrictEqual(fromBuffer?.transaction, transaction);
      buffer.fill(0);
      assert.deepStrictEqual(fromBuffer?.transaction, transaction, 'the decoded value owns its bytes');
    }
  }
});

test('mutated encodings: the same value or the same CodecError as the codec, byte by byte', () => {
  const bytes = SignedTransactionCodec.encode(sample(40));
  // Every byte of the header, the offsets and the integers, set to values that matter there.
  for (let at = 0; at < 131; at++) {
    for (const value of [0x00, 0x01, 0x02, 0x20, 0x3c, 0x44, 0x7f, 0x80, 0xff]) {
      const mutated = bytes.slice();
      mutated[at] = value;
      assertSame(mutated, `byte ${at} = 0x${value.toString(16)}`);
    }
  }
  for (let round = 0; round < 2000; round++) {
    const mutated = bytes.slice();
    const flips = 1 + Math.floor(random() * 3);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * mutated.length);
      mutated[at] = mutated[at]! ^ (1 << Math.floor(random() * 8));
    }
    assertSame(mutated, `random flips, round ${round}`);
  }
});

test('hostile lengths, offsets and integers are refused exactly as the codec refuses them', () => {
  const bytes = SignedTransactionCodec.encode(sample(10));
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.length);
  for (let length = 0; length <= bytes.length; length++)
    assertSame(bytes.subarray(0, length), `truncated to ${length}`);
  const extended = new Uint8Array(bytes.length + 1);
  extended.set(bytes);
  assertSame(extended, 'a trailing byte (a payload one longer, still in bounds)');
  const largest = SignedTransactionCodec.encode(sample(MAX_TRANSACTION_PAYLOAD_BYTES));
  const tooLong = new Uint8Array(largest.length + 1);
  tooLong.set(largest);
  assertSame(tooLong, 'a payload one past its bound');
  assert.ok('code' in codec(tooLong), 'the codec refuses a payload past its bound');

  const cases: [string, (b: Uint8Array) => void][] = [
    ['body offset 67', (b) => view(b).setUint32(3, 67, true)],
    ['body offset 69', (b) => view(b).setUint32(3, 69, true)],
    ['body offset 2^32 − 1', (b) => view(b).setUint32(3, 0xffff_ffff, true)],
    ['payload offset 59', (b) => view(b).setUint32(71 + 56, 59, true)],
    ['payload offset 61', (b) => view(b).setUint32(71 + 56, 61, true)],
    ['payload offset past the end', (b) => view(b).setUint32(71 + 56, 4000, true)],
    ['nonce 2^53', (b) => view(b).setBigUint64(71 + 40, 2n ** 53n, true)],
    ['nonce 2^64 − 1', (b) => view(b).setBigUint64(71 + 40, 2n ** 64n - 1n, true)],
    ['chain id 2^53 + 1', (b) => view(b).setBigUint64(71, 2n ** 53n + 1n, true)],
    ['expiry 2^63', (b) => view(b).setBigUint64(71 + 48, 2n ** 63n, true)],
    ['version 2', (b) => (b[0] = 2)],
    ['the TransactionBody tag', (b) => (b[2] = 0x01)],
  ];
  for (const [name, mutate] of cases) {
    const mutated = bytes.slice();
    mutate(mutated);
    assert.equal(readSignedTransaction(mutated), undefined, `${name}: not read directly`);
    assertSame(mutated, name);
    assert.ok('code' in codec(mutated), `${name}: the codec refuses it too`);
  }
  assertSame(new Uint8Array(0), 'empty');
  assert.throws(() => decodeSignedTransaction('not bytes' as unknown as Uint8Array), CodecError);
});
