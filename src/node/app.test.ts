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
import { encodeVoteExtension, signObservation } from '../oracle/observation.ts';
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
    eonActivations: [],
    timeMs: engineGenesis.startTimeMs + 1000,
    transactions: [forgedBytes, admittedBytes],
    observations: [],
    deposits: [],
    // Execution does not read the committed state root; only verifiers check it.
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
  });
  const block = { view: 1, height: 1, parentView: 0, parent: genesisDigest(CHAIN_ID), proposer: 0, payload };
  // What a node verifies on its pool before execution: what it never admitted, the forged copy.
  assert.deepEqual(app.unverifiedTransactions(block), [forgedBytes]);
  await app.finalized({
    block,
    digest: blockDigest(block),
    finalization: { kind: 2, view: 1, digest: blockDigest(block), votes: [] },
  });
  assert.deepEqual(app.unverifiedTransactions(block), [], 'a block at the executed height needs nothing');
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

test('a leader whose parent it never checked proposes its mempool as soon as the parent finalizes, not after the empty-block interval', async () => {
  // Fails before: the ancestors' transactions were looked up once, so a parent certified before
  // we checked it kept the leader waiting the whole interval (then an empty-looking wait of 250 ms
  // at every such view) although the parent finalized a few milliseconds later.
  const storage = openSqliteStorage({ dataDirectory: join(root, 'unknown-parent') });
  const engineGenesis = testGenesis({ chainId: CHAIN_ID, traders: [trader] });
  let nowMs = engineGenesis.startTimeMs + 1000;
  const timers: { at: number; callback: () => void }[] = [];
  const clock = {
    now: () => nowMs,
    setTimer(delayMs: number, callback: () => void) {
      const timer = { at: nowMs + delayMs, callback };
      timers.push(timer);
      return () => timers.splice(timers.indexOf(timer), 1);
    },
  };
  const advance = async (ms: number) => {
    nowMs += ms;
    for (const due of timers.filter((timer) => timer.at <= nowMs)) {
      timers.splice(timers.indexOf(due), 1);
      due.callback();
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  const app = createNodeApplication({
    chainId: CHAIN_ID,
    validators: [validator.publicKey],
    self: 0,
    engineGenesis,
    assets: [],
    storage,
    wallClock: () => nowMs,
    monotonicClock: () => nowMs,
    clock,
    observe: () => undefined,
    limits: { emptyBlockIntervalMs: 1000 },
  });
  app.open();
  const order = actionTransaction(trader, 0, { kind: 'cancelAll', value: { seriesId: 0 } });
  assert.equal(
    app.mempool.admit(SignedTransactionCodec.encode(order), { height: 2, nowMs }).status,
    'accepted',
  );
  // Block 1 reached consensus without this validator checking it (certified, then finalized).
  const payload = BlockPayloadCodec.encode({
    timeMs: nowMs - 10,
    transactions: [],
    observations: [],
    deposits: [],
    envelopes: [],
    batchKeys: [],
    earlyShares: [],
    eonActivations: [],
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
  });
  const parent = { view: 1, height: 1, parentView: 0, parent: genesisDigest(CHAIN_ID), proposer: 0, payload };
  let proposal: Uint8Array | undefined;
  void app
    .propose({ view: 2, height: 2, parentView: 1, parent: blockDigest(parent), proposer: 0 })
    .then((bytes) => {
      proposal = bytes;
    });
  await advance(20);
  assert.equal(
    proposal,
    undefined,
    'nothing may be proposed over an ancestor whose transactions are unknown',
  );
  await app.finalized({
    block: parent,
    digest: blockDigest(parent),
    finalization: { kind: 2, view: 1, digest: blockDigest(parent), votes: [] },
  });
  for (let step = 0; step < 10 && proposal === undefined; step++) await advance(5);
  assert.ok(proposal, 'still waiting 50 ms after the parent finalized');
  assert.equal(BlockPayloadCodec.decode(proposal).transactions.length, 1);
  storage.close();
});

test('a finalized block reaches onExecuted before its sync; processedHeight and onApplied wait for the sync; the tip names it at once', async () => {
  // Fails before: there was no way to see a finalized block before this validator's own fsync, so
  // the block stream (and a trader's finality) waited one more disk sync after the certificate.
  const storage = openSqliteStorage({ dataDirectory: join(root, 'executed-first') });
  let release: (() => void) | undefined;
  const realSync = storage.sync.bind(storage);
  storage.sync = () =>
    new Promise<void>((resolve) => {
      release = () => void realSync().then(resolve);
    });
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
  const seen: string[] = [];
  app.onExecuted((executed) => seen.push(`executed ${executed.summary.height}`));
  app.onApplied((applied) => seen.push(`applied ${applied.summary.height}`));
  const order = actionTransaction(trader, 0, { kind: 'cancelAll', value: { seriesId: 0 } });
  const payload = BlockPayloadCodec.encode({
    timeMs: engineGenesis.startTimeMs + 1000,
    transactions: [SignedTransactionCodec.encode(order)],
    observations: [],
    deposits: [],
    envelopes: [],
    batchKeys: [],
    earlyShares: [],
    eonActivations: [],
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
  });
  const block = { view: 1, height: 1, parentView: 0, parent: genesisDigest(CHAIN_ID), proposer: 0, payload };
  const done = app.finalized({
    block,
    digest: blockDigest(block),
    finalization: { kind: 2, view: 1, digest: blockDigest(block), votes: [] },
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['executed 1']);
  assert.equal(app.processedHeight(), 0, 'processedHeight moved before the block was durable');
  // What the stream announces can already be looked up (reads see the buffered writes).
  assert.equal(app.transactionLocation(toHex(transactionId(order)))?.height, 1);
  // GET /v1/status reads tip(): the height the engine executed with that block's digest, not the
  // digest of the block below (which read as two validators on different chains at one height).
  assert.deepEqual(
    { height: app.tip().height, digest: toHex(app.tip().digest), view: app.tip().view },
    { height: 1, digest: toHex(blockDigest(block)), view: 1 },
  );
  release!();
  await done;
  assert.deepEqual(seen, ['executed 1', 'applied 1']);
  assert.equal(app.processedHeight(), 1);
  storage.close();
});

test('after a validator-set change a vote carries its signer’s observation by the signer’s index in that view’s set, not in genesis', () => {
  // Fails before: the index was looked up in the genesis list, so after B left, C (now index 1)
  // had its observation refused as B's — and its vote with it — and an added E was never known.
  const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((name) => testSigner(`app-epoch-${name}`));
  const genesisSet = [a!, b!, c!, d!].map((s) => s.publicKey);
  const laterSet = [a!, c!, d!, e!].map((s) => s.publicKey);
  const storage = openSqliteStorage({ dataDirectory: join(root, 'epoch-signers') });
  const engineGenesis = testGenesis({ chainId: CHAIN_ID, traders: [trader] });
  const app = createNodeApplication({
    chainId: CHAIN_ID,
    validators: genesisSet,
    signerKey: (view, signer) => (view >= 10 ? laterSet : genesisSet)[signer],
    self: 0,
    engineGenesis,
    assets: [],
    storage,
    wallClock: () => engineGenesis.startTimeMs + 1000,
    monotonicClock: () => 0,
    observe: () => undefined,
  });
  app.open();
  const observationOf = (who: typeof a) =>
    encodeVoteExtension(
      signObservation(who!, {
        chainId: CHAIN_ID,
        height: 1,
        validator: who!.publicKey,
        timestampMs: engineGenesis.startTimeMs,
        entries: [],
      }),
    );
  const digest = new Uint8Array(32).fill(1);
  assert.equal(app.verifyExtension(1, 0, 10, digest, observationOf(c)), true, 'C at its new index 1');
  assert.equal(app.verifyExtension(3, 0, 10, digest, observationOf(e)), true, 'the added E at index 3');
  assert.equal(
    app.verifyExtension(1, 0, 5, digest, observationOf(c)),
    false,
    'index 1 is B before the change',
  );
  assert.equal(
    app.verifyExtension(1, 0, 10, digest, observationOf(b)),
    false,
    'B signs as index 1 after it left',
  );
  assert.equal(app.verifyExtension(2, 0, 5, digest, observationOf(c)), true, 'C at its genesis index');
  storage.close();
});
