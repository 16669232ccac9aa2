/**
 * The transaction cache must never change a verdict: an answer is the decoding of exactly the bytes
 * asked about, whatever was decoded before, evicted or tampered with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../codec/errors.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { toHex } from '../crypto/bytes.ts';
import { decodeTransaction, signTransaction, transactionId } from '../crypto/transaction.ts';
import { testSigner } from '../execution/fixtures.ts';
import { type AdmitResult, createMempool, DEFAULT_MEMPOOL_LIMITS, type Mempool } from '../mempool/mempool.ts';
import { createTransactionCache } from './transaction-cache.ts';

const CHAIN = 7;
const signers = [0, 1, 2].map((i) => testSigner(`cache ${i}`));
const made = new Map<string, Uint8Array>();
function encoded(signer: number, nonce: number, payload = 0): Uint8Array {
  const key = `${signer}/${nonce}/${payload}`;
  let bytes = made.get(key);
  if (bytes === undefined) {
    bytes = SignedTransactionCodec.encode(
      signTransaction(signers[signer]!, {
        chainId: CHAIN,
        nonce,
        expiryHeight: 1000,
        payload: new Uint8Array([payload, 1, 2, 3]),
      }),
    );
    made.set(key, bytes);
  }
  return bytes;
}

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof CodecError, `${error}`);
    return error.code;
  }
}

test('the cache answers what decodeTransaction answers, for exactly the bytes asked about', () => {
  const cache = createTransactionCache({ maxEntries: 8, maxBytes: 1 << 20 });
  const bytes = encoded(0, 0);
  const first = cache.decode(bytes);
  assert.deepEqual(first, decodeTransaction(bytes));
  assert.equal(first.idHex, toHex(transactionId(SignedTransactionCodec.decode(bytes))));
  assert.equal(first.signerHex, toHex(signers[0]!.publicKey));
  // Asked again, even through another buffer with the same content: the same answer, once decoded.
  assert.equal(cache.decode(new Uint8Array(bytes)), first);
  assert.equal(cache.size(), 1);
  // Same body, another signature: the same id (the body's), but its own signature, never the
  // cached one: the signature check downstream sees the bytes that were sent.
  const forged = new Uint8Array(bytes);
  // Version, tag, the body's offset, then the signature's 64 bytes.
  forged[3 + 4]! ^= 1;
  const other = cache.decode(forged);
  assert.equal(other.idHex, first.idHex);
  assert.notDeepEqual(other.transaction.signature, first.transaction.signature);
  assert.deepEqual(other, decodeTransaction(forged));
  assert.equal(cache.size(), 2);
});

test('bytes that do not decode throw the codec error every time and are not kept', () => {
  const cache = createTransactionCache({ maxEntries: 8, maxBytes: 1 << 20 });
  const bytes = encoded(0, 1);
  const junk = [
    // Cut inside the signature.
    bytes.subarray(0, 50),
    new Uint8Array([1, 2, 3]),
    new Uint8Array(0),
    new Uint8Array(SignedTransactionCodec.maxBytes + 1),
    Uint8Array.from(bytes, (byte, index) => (index === 3 ? byte ^ 0xff : byte)),
  ];
  for (const input of junk) {
    const expected = codeOf(() => SignedTransactionCodec.decode(input));
    assert.notEqual(expected, 'ok');
    assert.equal(
      codeOf(() => cache.decode(input)),
      expected,
    );
    assert.equal(
      codeOf(() => cache.decode(input)),
      expected,
    );
  }
  assert.equal(cache.size(), 0);
});

test('entries are frozen: a consumer that tries to change one fails, and the next answer is intact', () => {
  const cache = createTransactionCache({ maxEntries: 8, maxBytes: 1 << 20 });
  const bytes = encoded(1, 0);
  const decoded = cache.decode(bytes);
  assert.throws(() => {
    (decoded.transaction.body as { nonce: number }).nonce = 99;
  }, TypeError);
  assert.throws(() => {
    (decoded as { idHex: string }).idHex = 'ff';
  }, TypeError);
  assert.deepEqual(cache.decode(bytes), decodeTransaction(bytes));
});

test('the cache stays within its entry and byte bounds, and an evicted encoding decodes again to the same answer', () => {
  const size = encoded(0, 0).length;
  const cache = createTransactionCache({ maxEntries: 3, maxBytes: 2 * size + 1 });
  for (let nonce = 0; nonce < 10; nonce++) {
    cache.decode(encoded(2, nonce));
    assert.ok(cache.size() <= 2 && cache.bytes() <= 2 * size + 1);
  }
  assert.deepEqual(cache.decode(encoded(2, 0)), decodeTransaction(encoded(2, 0)));
});

/** Everything observable about a pool, the refusal counters included. */
function observable(mempool: Mempool) {
  return {
    stats: mempool.stats(),
    pending: mempool.pending().map((entry) => [entry.id, entry.nonce, toHex(entry.bytes)]),
    selection: mempool
      .select({ height: 10, maxTransactions: 100, maxBytes: 1 << 20 })
      .map((entry) => entry.id),
  };
}

test('a mempool decoding through a small cache gives the verdicts and the pool of one that decodes every time', () => {
  const operation = fc.record({
    signer: fc.integer({ min: 0, max: 2 }),
    nonce: fc.integer({ min: 0, max: 4 }),
    payload: fc.integer({ min: 0, max: 1 }),
    corrupt: fc.constantFrom('none', 'none', 'none', 'signature', 'truncate', 'body'),
    precheck: fc.boolean(),
    finalize: fc.integer({ min: 0, max: 6 }),
  });
  fc.assert(
    fc.property(fc.array(operation, { minLength: 10, maxLength: 60 }), (operations) => {
      const committed = new Map<string, number>();
      const make = (decode?: ReturnType<typeof createTransactionCache>['decode']) =>
        createMempool({
          ...DEFAULT_MEMPOOL_LIMITS,
          maxPendingPerAccount: 3,
          chainId: CHAIN,
          expectedNonce: (key) => committed.get(toHex(key)) ?? 0,
          ...(decode === undefined ? {} : { decodeTransaction: decode }),
        });
      const plain = make();
      const cached = make(createTransactionCache({ maxEntries: 3, maxBytes: 1 << 20 }).decode);
      for (const [step, op] of operations.entries()) {
        let bytes = encoded(op.signer, op.nonce, op.payload);
        if (op.corrupt === 'signature') {
          bytes = bytes.slice();
          bytes[bytes.length - 2]! ^= 0x10;
        } else if (op.corrupt === 'truncate') bytes = bytes.subarray(0, bytes.length - 1);
        else if (op.corrupt === 'body') {
          // The nonce's low byte: another body under the old signature.
          bytes = bytes.slice();
          bytes[3 + 4 + 64 + 8 + 32]! ^= 1;
        }
        const context = { height: 10, nowMs: step * 7 };
        const answer = (mempool: Mempool): AdmitResult | undefined =>
          op.precheck ? mempool.precheck(bytes, context) : mempool.admit(bytes, context);
        assert.deepEqual(answer(cached), answer(plain));
        if (op.finalize === 0) {
          // A block of what the pool selects: committed nonces move on, both pools drop the same.
          const included = plain.select({ height: 10, maxTransactions: 3, maxBytes: 1 << 20 });
          for (const entry of included) committed.set(entry.account, entry.nonce + 1);
          const block = { height: 10, transactionIds: included.map((entry) => entry.id) };
          assert.deepEqual(cached.removeFinalized(block), plain.removeFinalized(block));
        }
        assert.deepEqual(observable(cached), observable(plain));
      }
    }),
    { numRuns: 60 },
  );
});
