/**
 * The application's signature checks: each transaction signature is verified once per validator
 * (at mempool admission), and the engine's answer for a finalized block comes from that record
 * only for the very bytes that were verified — never for a copy that shares the body (and so the
 * transaction id) but carries another signature.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { blockDigest, genesisDigest } from '../consensus/votes.ts';
import { toHex } from '../crypto/bytes.ts';
import { transactionId } from '../crypto/transaction.ts';
import { actionTransaction, testGenesis, testSigner } from '../execution/fixtures.ts';
import { openSqliteStorage } from '../runtime/real/storage.ts';
import { createNodeApplication } from './app.ts';
import { createVerifiedTransactions } from './verified-transactions.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-app-'));
after(() => rmSync(root, { recursive: true, force: true }));

const CHAIN_ID = 7;
const trader = testSigner('app-test-trader');
const validator = testSigner('app-test-validator');

test('a copy of an admitted transaction with another signature is still refused BAD_SIGNATURE by the engine', async () => {
  const storage = openSqliteStorage({ dataDirectory: join(root, 'copy') });
  const engineGenesis = testGenesis({ chainId: CHAIN_ID, traders: [trader] });
  const app = createNodeApplication({
    chainId: CHAIN_ID,
    validators: [validator.publicKey],
    self: 0,
    engineGenesis,
    assets: [],
    storage,
    wallClock: () => engineGenesis.startTimeMs + 1000,
    monotonicClock: () => 0,
    observe: () => undefined,
  });
  app.open();
  const admitted = actionTransaction(trader, 0, { kind: 'cancelAll', value: { seriesId: 0 } });
  const admittedBytes = SignedTransactionCodec.encode(admitted);
  assert.equal(app.mempool.admit(admittedBytes, { height: 1, nowMs: 0 }).status, 'accepted');

  // Same body (so the same id), a signature that is not the signer's.
  const forged = { body: admitted.body, signature: admitted.signature.slice() };
  forged.signature[0]! ^= 1;
  const forgedBytes = SignedTransactionCodec.encode(forged);
  assert.equal(toHex(transactionId(forged)), toHex(transactionId(admitted)));

  const payload = BlockPayloadCodec.encode({
    envelopes: [],

    batchKeys: [],

    earlyShares: [],
    timeMs: engineGenesis.startTimeMs + 1000,
    transactions: [forgedBytes, admittedBytes],
    observations: [],
    deposits: [],
    // Execution does not read the committed state root; only verifiers check it.
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
  });
  const block = { view: 1, height: 1, parentView: 0, parent: genesisDigest(CHAIN_ID), proposer: 0, payload };
  await app.finalized({
    block,
    digest: blockDigest(block),
    finalization: { kind: 2, view: 1, digest: blockDigest(block), votes: [] },
  });
  const summary = app.summary(1);
  assert.ok(summary);
  assert.deepEqual(
    summary.transactions.map((outcome) => outcome.status),
    ['BAD_SIGNATURE', 'OK'],
  );
  storage.close();
});

test('the record answers only for verified bytes, is consumed once and stays bounded', () => {
  const verified = createVerifiedTransactions({ maxEntries: 2 });
  const transactions = [0, 1, 2].map((nonce) =>
    actionTransaction(trader, nonce, { kind: 'cancelAll', value: { seriesId: 0 } }),
  );
  const encoded = transactions.map((tx) => SignedTransactionCodec.encode(tx));
  for (const [i, tx] of transactions.entries()) assert.equal(verified.verify(tx, encoded[i]!), true);
  assert.equal(verified.size(), 2);

  const forged = { body: transactions[2]!.body, signature: transactions[2]!.signature.slice() };
  forged.signature[5]! ^= 0x80;
  assert.equal(verified.verify(forged, SignedTransactionCodec.encode(forged)), false);
  assert.equal(verified.check(forged, SignedTransactionCodec.encode(forged)), false);
  assert.equal(verified.size(), 2);

  assert.equal(verified.check(transactions[2]!, encoded[2]!), true);
  assert.equal(verified.size(), 1);
  // Forgotten (the oldest, past the bound) or consumed: verified afresh, same verdict.
  assert.equal(verified.check(transactions[0]!, encoded[0]!), true);
  assert.equal(verified.check(transactions[2]!, encoded[2]!), true);
});
