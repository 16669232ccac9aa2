/**
 * Red team against mempool admission (src/mempool/mempool.ts) as a stranger and as a thief with
 * a few funded accounts would try to starve honest traders.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAction } from '../codec/execution.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from '../crypto/ed25519.ts';
import { signTransaction } from '../crypto/transaction.ts';
import { createMempool, DEFAULT_MEMPOOL_LIMITS } from './mempool.ts';

const CHAIN = 7;

function key(label: number): Ed25519Signer {
  const seed = new Uint8Array(32);
  seed[0] = 0x5a;
  seed[1] = label >> 8;
  seed[2] = label & 0xff;
  return createEd25519Signer(seed);
}

function cancelAll(signer: Ed25519Signer, nonce: number): Uint8Array {
  return SignedTransactionCodec.encode(
    signTransaction(signer, {
      chainId: CHAIN,
      nonce,
      expiryHeight: 1000,
      payload: encodeAction({ kind: 'cancelAll', value: { seriesId: 0 } }),
    }),
  );
}

function poolWith(funded: ReadonlySet<string>) {
  return createMempool({
    ...DEFAULT_MEMPOOL_LIMITS,
    chainId: CHAIN,
    expectedNonce: () => 0,
    accountExists: (account) => funded.has(toHex(account)),
  });
}

test('attack: a stranger with 2,000 fresh keys sending non-deposits spends no admission budget; an honest account is admitted after', () => {
  const honest = key(9999);
  const mempool = poolWith(new Set([toHex(honest.publicKey)]));
  for (let i = 0; i < 2000; i++) {
    const result = mempool.admit(cancelAll(key(i), 0), { height: 1, nowMs: 0 });
    assert.ok(result.status === 'refused' && result.code === 'NO_ACCOUNT');
  }
  assert.equal(mempool.admit(cancelAll(honest, 0), { height: 1, nowMs: 0 }).status, 'accepted');
  assert.equal(mempool.stats().transactions, 1);
});

test('attack: a thief with funded accounts drains the global bucket; honest admission resumes within a millisecond-scale refill, never blocked for long', () => {
  const thieves = Array.from({ length: 160 }, (_, i) => key(i));
  const honest = key(9999);
  const mempool = poolWith(new Set([...thieves, honest].map((s) => toHex(s.publicKey))));
  let admitted = 0;
  for (const thief of thieves)
    for (let nonce = 0; nonce < DEFAULT_MEMPOOL_LIMITS.maxPendingPerAccount; nonce++)
      if (mempool.admit(cancelAll(thief, nonce), { height: 1, nowMs: 0 }).status === 'accepted') admitted++;
  assert.equal(admitted, DEFAULT_MEMPOOL_LIMITS.globalRateLimit.burst, 'the burst is the bound');
  const drained = mempool.admit(cancelAll(honest, 0), { height: 1, nowMs: 0 });
  assert.ok(drained.status === 'refused' && drained.code === 'GLOBAL_RATE_LIMITED');
  // One millisecond later the bucket holds five tokens again; the honest account gets one.
  assert.equal(mempool.admit(cancelAll(honest, 0), { height: 1, nowMs: 1 }).status, 'accepted');
});
