import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAction } from '../codec/execution.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { signTransaction, verifyTransactionSignature } from '../crypto/transaction.ts';
import { testSigner } from '../execution/fixtures.ts';
import { createSignaturePool, INLINE_MAX } from './signature-pool.ts';
import { createVerifiedTransactions } from './verified-transactions.ts';

function encodings(count: number): Uint8Array[] {
  const signer = testSigner('pool');
  return Array.from({ length: count }, (_, nonce) =>
    SignedTransactionCodec.encode(
      signTransaction(signer, {
        chainId: 7,
        nonce,
        expiryHeight: 100,
        payload: encodeAction({ kind: 'cancelAll', value: { seriesId: 0 } }),
      }),
    ),
  );
}

test('the signature pool answers exactly what verifyTransactionSignature says, in order, on threads and inline', async () => {
  const good = encodings(40);
  const forged = good.map((bytes, index) => {
    if (index % 3 !== 0) return bytes;
    const copy = new Uint8Array(bytes);
    // The signature is the encoding's tail: a flipped bit there must be refused.
    copy[copy.length - 1]! ^= 1;
    return copy;
  });
  // A signature byte, the chain id, and the body offset (no longer canonical: the codec's path).
  const mutated = [10, 71, 3].map((at) => {
    const copy = new Uint8Array(good[1]!);
    copy[at]! ^= 1;
    return copy;
  });
  const list = [...forged, ...mutated, new Uint8Array([1, 2, 3]), new Uint8Array(0)];
  const expected = list.map((bytes) => {
    try {
      return verifyTransactionSignature(SignedTransactionCodec.decode(bytes));
    } catch {
      return false;
    }
  });
  assert.ok(expected.includes(true) && expected.includes(false));
  const pool = createSignaturePool({ threads: 2 });
  try {
    assert.deepEqual(await pool.verify(list), expected);
    assert.deepEqual(await pool.verify([list[0]!]), [expected[0]]);
    assert.deepEqual(await pool.verify([]), []);
  } finally {
    await pool.close();
  }
  // Closed, or without threads: the same verdicts, inline.
  assert.deepEqual(await pool.verify(list), expected);
  assert.deepEqual(await createSignaturePool({ threads: 0 }).verify(list), expected);
});

test('a recorded encoding answers verify without a second verification; a copy with another signature is not answered from it', () => {
  const [bytes] = encodings(1);
  const transaction = SignedTransactionCodec.decode(bytes!);
  const verified = createVerifiedTransactions({ maxEntries: 4 });
  verified.record(bytes!);
  // Same body, forged signature: another encoding, so no record answers for it.
  const forged = { ...transaction, signature: new Uint8Array(transaction.signature).fill(9) };
  assert.equal(verified.verify(forged, SignedTransactionCodec.encode(forged)), false);
  assert.equal(verified.verify(transaction, bytes!), true);
  // The engine's check consumes the record; a repeat verifies afresh (and still passes).
  assert.equal(verified.check(transaction, bytes!), true);
  assert.equal(verified.size(), 0);
  assert.equal(verified.check(transaction, bytes!), true);
});

test("views into one frame verify on threads as they would inline, and the caller's bytes stay intact", async () => {
  const good = encodings(12);
  // As a gossip frame delivers them: views into one larger buffer, at odd offsets, one empty.
  const frame = new Uint8Array(good.reduce((sum, bytes) => sum + bytes.length + 3, 5));
  let at = 5;
  const views = good.map((bytes) => {
    frame.set(bytes, at);
    const view = frame.subarray(at, at + bytes.length);
    at += bytes.length + 3;
    return view;
  });
  views[4]![80]! ^= 1;
  const list = [...views.slice(0, 6), frame.subarray(0, 0), ...views.slice(6)];
  const before = new Uint8Array(frame);
  const expected = list.map((bytes) => {
    try {
      return verifyTransactionSignature(SignedTransactionCodec.decode(bytes));
    } catch {
      return false;
    }
  });
  assert.deepEqual(
    expected.map((verdict) => (verdict ? 1 : 0)),
    [1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1],
  );
  const pool = createSignaturePool({ threads: 2 });
  try {
    assert.deepEqual(await pool.verify(list), expected);
  } finally {
    await pool.close();
  }
  // Packing copies: nothing of the caller's was transferred away or changed.
  assert.equal(frame.buffer.byteLength, before.length);
  assert.deepEqual(frame, before);
});

test('requests made in one event-loop turn travel together and each gets its own verdicts, in order', async () => {
  const good = encodings(30);
  const forged = good.map((bytes, index) => {
    if (index % 4 !== 1) return bytes;
    const copy = new Uint8Array(bytes);
    copy[3 + 4 + 10]! ^= 1;
    return copy;
  });
  const requests = [forged.slice(0, 1), forged.slice(1, 9), [], forged.slice(9, 10), forged.slice(10)];
  const pool = createSignaturePool({ threads: 2 });
  try {
    const answers = await Promise.all(requests.map((list) => pool.verify(list)));
    assert.deepEqual(
      answers,
      requests.map((list) =>
        list.map((bytes) => verifyTransactionSignature(SignedTransactionCodec.decode(bytes))),
      ),
    );
    assert.ok(answers.flat().includes(false) && answers.flat().includes(true));
    // A request made while the pool closes is still answered, inline.
    const late = pool.verify(forged.slice(0, 3));
    await pool.close();
    assert.deepEqual(await late, [true, false, true]);
  } finally {
    await pool.close();
  }
});

test('a turn of a few encodings is verified on the event loop, a larger one on the threads, with the same verdicts', async () => {
  const good = encodings(INLINE_MAX + 4);
  const forged = good.map((bytes, index) => {
    if (index % 2 === 0) return bytes;
    const copy = new Uint8Array(bytes);
    copy[copy.length - 1]! ^= 1;
    return copy;
  });
  const expected = forged.map((bytes) => verifyTransactionSignature(SignedTransactionCodec.decode(bytes)));
  const pool = createSignaturePool({ threads: 1 });
  try {
    // Two requests of one turn that together stay at INLINE_MAX: no thread is asked.
    const small = await Promise.all([
      pool.verify(forged.slice(0, 3)),
      pool.verify(forged.slice(3, INLINE_MAX)),
    ]);
    assert.deepEqual(small.flat(), expected.slice(0, INLINE_MAX));
    assert.deepEqual(pool.stats(), { inline: INLINE_MAX, threaded: 0 });
    // One more in the same turn and the whole turn goes to the thread.
    assert.deepEqual(await pool.verify(forged.slice(0, INLINE_MAX + 1)), expected.slice(0, INLINE_MAX + 1));
    assert.deepEqual(pool.stats(), { inline: INLINE_MAX, threaded: INLINE_MAX + 1 });
  } finally {
    await pool.close();
  }
  // inlineMax 0: every turn goes to the threads, as before the threshold existed.
  const threadedOnly = createSignaturePool({ threads: 1, inlineMax: 0 });
  try {
    assert.deepEqual(await threadedOnly.verify(forged.slice(0, 1)), expected.slice(0, 1));
    assert.deepEqual(threadedOnly.stats(), { inline: 0, threaded: 1 });
  } finally {
    await threadedOnly.close();
  }
});
