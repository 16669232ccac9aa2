/**
 * The bench's encryption worker (./encrypt-worker.ts): a prepared prefix is one order's identity,
 * so the worker must hand each one out once (two orders under one identity: the key released for
 * one opens the other), seal with prepared prefixes while it has them, and still seal when its
 * queue is empty.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SignedOrderEnvelopeCodec } from '../../src/codec/envelope.ts';
import type { ExecutionAction } from '../../src/codec/execution.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer } from '../../src/crypto/ed25519.ts';
import { G2 } from '../../src/crypto/shutter/ibe.ts';
import type { EncryptReply, EncryptRequest, PrepareRequest } from './encrypt-worker.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('each order gets its own prefix, prepared ahead while the queue lasts', async () => {
  const worker = new Worker(new URL('./encrypt-worker.ts', import.meta.url), {
    workerData: { encryptThread: true },
  });
  try {
    const seed = new Uint8Array(randomBytes(32));
    const sender = createEd25519Signer(seed).publicKey;
    const eonPublicKey = G2.BASE.multiply(12345n).toBytes(true);
    const prepare: PrepareRequest = { prepare: { seed, chainId: 7, eonPublicKey, depth: 3 } };
    worker.postMessage(prepare);
    const input = (nonce: number) => ({
      chainId: 7,
      eon: 1,
      eonPublicKey,
      expiryHeight: 10,
      nonce,
      fee: 1,
      action: { kind: 'cancelAll', value: { seriesId: 0 } } as ExecutionAction,
    });
    const ask = (id: number, nonces: number[]) =>
      new Promise<EncryptReply>((resolve) => {
        const onReply = (reply: EncryptReply) => {
          if (reply.id !== id) return;
          worker.off('message', onReply);
          resolve(reply);
        };
        worker.on('message', onReply);
        const request: EncryptRequest = { id, seed, inputs: nonces.map(input) };
        worker.postMessage(request);
      });
    await delay(1500); // mcl loads and the queue fills (3 pairings)
    const first = await ask(1, [0, 1]);
    assert.equal(first.preparedAhead, 2);
    // More than the queue holds at once: the rest are sealed on the spot, none twice.
    const second = await ask(2, [2, 3, 4, 5]);
    assert.ok(second.preparedAhead <= 3, `prepared ${second.preparedAhead} of a queue of 3`);
    assert.ok(second.preparedAhead < 4);
    const prefixes = [...first.envelopes, ...second.envelopes].map((bytes) => {
      const { body } = SignedOrderEnvelopeCodec.decode(bytes);
      assert.equal(toHex(body.sender), toHex(sender));
      return toHex(body.identityPrefix);
    });
    assert.equal(new Set(prefixes).size, prefixes.length, 'a prefix was used for two orders');
  } finally {
    await worker.terminate();
  }
});
