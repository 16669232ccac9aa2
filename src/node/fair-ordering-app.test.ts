/**
 * Fair ordering through four validators' applications (src/node/app.ts), in process, n = 4, f = 1,
 * t = 3. Each round is what consensus does with one block: the leader proposes, every validator
 * verifies, the notarize votes (with their extensions) go to everyone, the block is finalized and
 * executed, the finalize votes (with theirs) go to everyone. The attacks come first:
 *
 *   never early        a validator voting for a block that is not final attaches no share for it;
 *                      a peer's share for a height above ours is evidence, recorded in the next
 *                      block, and the block rule names its signer
 *   next leader        block h + 1 opens h's batch first, whatever its leader puts in it or leaves
 *                      out: its plain transactions run after the orders
 *   missed votes       a validator that got none of the shares waits for the key, never executes
 *                      without it, and finds it recorded in a later finalized block
 *   Byzantine leader   an envelope repeated across a block and its unexecuted ancestor, a nonce
 *                      skipped, a replay: none runs twice or out of order, none is charged twice
 *   f bad keypers      one validator withholding its shares, or sending wrong ones (signed), does
 *                      not stop the key: the three others' combine
 *
 * and the flow: envelopes submitted in one order reach the block in the leader's order (fixed while
 * nobody could read them), are decrypted after finality and execute first in the next block, in
 * that order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKvBlockStore } from '../chain/block-store.ts';
import type { FairOrderingRules } from '../chain/fair-batches.ts';
import {
  KeyShareVoteExtensionCodec,
  MAX_BATCH_ENVELOPES,
  SignedKeyShareCodec,
  SignedOrderEnvelopeCodec,
} from '../codec/envelope.ts';
import type { ExecutionAction } from '../codec/execution.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { BlockContext } from '../consensus/engine.ts';
import { blockDigest, genesisDigest } from '../consensus/votes.ts';
import { toHex } from '../crypto/bytes.ts';
import { identityOfEnvelope, keyShareMessageOf } from '../crypto/shutter/envelope.ts';
import { combineEonKeyset, combineEonSecretShare, dealEon } from '../crypto/shutter/eon-dkg.ts';
import { releaseBatchKeyShares } from '../crypto/shutter/key-shares.ts';
import { actionTransaction, limitOrder, testGenesis, testSigner } from '../execution/fixtures.ts';
import type { Clock, Storage } from '../runtime/types.ts';
import { type AppliedBlock, createNodeApplication, type NodeApplication } from './app.ts';
import { encrypt } from './client.ts';
import { hex } from './view.ts';

const N = 4;
const THRESHOLD = 3;
const CHAIN_ID = 7;
const EON = 1;
const NOTARIZE = 0;
const FINALIZE = 2;
const NULLIFY = 1;

const dealings = Array.from({ length: N }, (_, j) => dealEon(j, THRESHOLD, N));
const keyset = combineEonKeyset(dealings, THRESHOLD, N);
const secretShares = Array.from({ length: N }, (_, i) => combineEonSecretShare(dealings, i));
const validators = Array.from({ length: N }, (_, i) => testSigner(`fair-app/validator-${i}`));
const rules: FairOrderingRules = {
  eon: EON,
  eonPublicKey: keyset.eonPublicKey,
  publicShares: keyset.publicShares,
};
const traders = ['alice', 'bob', 'carol', 'dave'].map((name) => testSigner(`fair-app/${name}`));
const [alice, bob, carol, dave] = traders as [
  (typeof traders)[0],
  (typeof traders)[0],
  (typeof traders)[0],
  (typeof traders)[0],
];
const CANCEL_ALL: ExecutionAction = { kind: 'cancelAll', value: { seriesId: 0 } };

function memoryStorage(): Storage {
  const map = new Map<string, Uint8Array>();
  return {
    get: (key) => map.get(key),
    keys: (prefix) => [...map.keys()].filter((key) => key.startsWith(prefix)).sort(),
    put: (key, value) => {
      map.set(key, value.slice());
    },
    delete: (key) => {
      map.delete(key);
    },
    sync: async () => {},
  };
}

interface Network {
  apps: NodeApplication[];
  applied: AppliedBlock[][];
  /** The finalized tip: digest and view. */
  tip: { digest: Uint8Array; view: number; height: number };
  now: { ms: number };
}

/** Four validators; `byzantine` replaces one's eon secret share (a liar signs wrong shares). */
function network(
  options: {
    liar?: number;
    encryptedOnlySeries?: number[];
    /** With it, the apps' timers run on `clock` (a test moves `now` and fires them). */
    clock?: Clock;
    emptyBlockIntervalMs?: number;
  } = {},
): Network {
  const engineGenesis = testGenesis({ chainId: CHAIN_ID, traders });
  const now = { ms: engineGenesis.startTimeMs + 1000 };
  const applied: AppliedBlock[][] = validators.map(() => []);
  const apps = validators.map((signer, self) => {
    const app = createNodeApplication({
      chainId: CHAIN_ID,
      validators: validators.map((v) => v.publicKey),
      self,
      engineGenesis,
      assets: [],
      storage: createKvBlockStore(memoryStorage()),
      wallClock: () => now.ms,
      monotonicClock: () => now.ms,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      observe: () => undefined,
      limits: {
        emptyBlockIntervalMs: options.emptyBlockIntervalMs ?? 0,
        observationWaitMs: 0,
        snapshotIntervalBlocks: 0,
      },
      fairOrdering: {
        rules:
          options.encryptedOnlySeries === undefined
            ? rules
            : { ...rules, encryptedOnlySeries: options.encryptedOnlySeries },
        secretShare: options.liar === self ? secretShares[self]! + 1n : secretShares[self]!,
        signer,
      },
    });
    app.open();
    app.onApplied((block) => applied[self]!.push(block));
    return app;
  });
  return { apps, applied, tip: { digest: genesisDigest(CHAIN_ID), view: 0, height: 0 }, now };
}

interface RoundOptions {
  leader?: number;
  /** What the leader proposes instead of its own payload (a Byzantine leader). */
  rewrite?: (payload: Uint8Array) => Uint8Array;
  /** Validators whose extensions never reach anyone (withholding). */
  silent?: ReadonlySet<number> | undefined;
  /** Stop after the notarize votes: the block is not finalized. */
  notarizeOnly?: boolean;
}

function contextOf(net: Network, leader: number): BlockContext {
  const height = net.tip.height + 1;
  return {
    view: net.tip.view + 1,
    height,
    parentView: net.tip.view,
    parent: net.tip.digest,
    proposer: leader,
  };
}

/** Every validator's extension for a vote of `kind` on `digest`, delivered to every other one. */
function vote(net: Network, kind: number, view: number, digest: Uint8Array, silent?: ReadonlySet<number>) {
  const extensions = net.apps.map((app) => app.extension(kind, view, digest));
  extensions.forEach((extension, signer) => {
    if (silent?.has(signer)) return;
    net.apps.forEach((app, receiver) => {
      if (receiver === signer) return;
      assert.equal(app.verifyExtension(signer, kind, view, digest, extension), true, `vote of ${signer}`);
    });
  });
  return extensions;
}

async function round(net: Network, options: RoundOptions = {}) {
  net.now.ms += 1000;
  const leader = options.leader ?? (net.tip.height + 1) % N;
  const context = contextOf(net, leader);
  const own = await net.apps[leader]!.propose(context);
  assert.ok(own, 'the leader proposes');
  const payload = options.rewrite === undefined ? own : options.rewrite(own);
  const verdicts = await Promise.all(
    net.apps.map((app, i) => (i === leader ? true : app.verify(context, payload))),
  );
  const block = { ...context, payload };
  const digest = blockDigest(block);
  const notarizeExtensions = verdicts.every((v) => v === true)
    ? vote(net, NOTARIZE, context.view, digest, options.silent)
    : [];
  if (options.notarizeOnly === true || verdicts.some((v) => v !== true))
    return { verdicts, payload, digest, notarizeExtensions, context };
  // Notarized: the finalize votes go out (carrying the shares of the batches below it), then the
  // block is final and executes, as consensus orders them.
  const finalizeExtensions = vote(net, FINALIZE, context.view, digest, options.silent);
  for (const app of net.apps)
    await app.finalized({
      block,
      digest,
      finalization: { kind: FINALIZE, view: context.view, digest, votes: [] },
    });
  net.tip = { digest, view: context.view, height: context.height };
  return { verdicts, payload, digest, notarizeExtensions, finalizeExtensions, context };
}

/** The key-share batches an extension carries. */
function sharedBatches(extension: Uint8Array): number[] {
  if (extension.length < 3 || extension[1] !== KeyShareVoteExtensionCodec.tag >> 8) return [];
  if (extension[2] !== (KeyShareVoteExtensionCodec.tag & 0xff)) return [];
  return KeyShareVoteExtensionCodec.decode(extension).shares.map(
    (bytes) => SignedKeyShareCodec.decode(bytes).batch,
  );
}

function envelope(signer: typeof alice, nonce: number, expiryHeight: number, action = CANCEL_ALL) {
  return encrypt(signer, {
    chainId: CHAIN_ID,
    eon: EON,
    eonPublicKey: keyset.eonPublicKey.toBytes(true),
    expiryHeight,
    nonce,
    fee: 10,
    action,
  });
}

/** Submits to every validator (gossip), expecting admission. */
function submit(net: Network, bytes: Uint8Array) {
  for (const app of net.apps) assert.deepEqual(app.submitEnvelope(bytes).ok, true);
}

function innerIds(bytes: readonly Uint8Array[]): string[] {
  // The plaintext is hidden; the envelope names the transaction only through the sender and nonce.
  return bytes.map((encoded) => {
    const { body } = SignedOrderEnvelopeCodec.decode(encoded);
    return `${toHex(body.sender)}:${body.nonce}`;
  });
}

describe('fair ordering through the validators (4 apps, f = 1)', () => {
  it("a sender's envelopes n, n + 1, n + 2 go into blocks while the earlier ones are not yet executed; none twice", async () => {
    const net = network();
    await round(net); // height 1
    // Alice's nonces 0 and 1 before block 2, her nonce 2 before block 3, nothing before block 4:
    // each is valid up to height 10, so any of the blocks may carry it.
    const sent: Record<number, Uint8Array[]> = {
      2: [envelope(alice, 0, 10), envelope(alice, 1, 10)],
      3: [envelope(alice, 2, 10)],
      4: [],
    };
    // Blocks 2, 3, 4 each on the previous one, notarized but none finalized (so none executed).
    const blocks: { context: BlockContext; payload: Uint8Array; digest: Uint8Array }[] = [];
    for (let height = 2; height <= 4; height++) {
      for (const bytes of sent[height]!) submit(net, bytes);
      net.now.ms += 1000;
      const leader = height % N;
      const parent = blocks.at(-1);
      const context: BlockContext = {
        view: height,
        height,
        parentView: parent?.context.view ?? net.tip.view,
        parent: parent?.digest ?? net.tip.digest,
        proposer: leader,
      };
      const payload = await net.apps[leader]!.propose(context);
      assert.ok(payload);
      const verdicts = await Promise.all(
        net.apps.map((app, i) => (i === leader ? true : app.verify(context, payload))),
      );
      assert.deepEqual(verdicts, [true, true, true, true], `block ${height} is accepted`);
      const digest = blockDigest({ ...context, payload });
      vote(net, NOTARIZE, context.view, digest);
      blocks.push({ context, payload, digest });
    }
    const nonceOf = (payload: Uint8Array) =>
      BlockPayloadCodec.decode(payload).envelopes.map(
        (bytes) => SignedOrderEnvelopeCodec.decode(bytes).body.nonce,
      );
    assert.deepEqual(
      blocks.map((block) => nonceOf(block.payload)),
      [[0, 1], [2], []],
      'each block carries the next nonces, never one its unexecuted ancestors carry',
    );
    for (const { context, payload, digest } of blocks) {
      // The finalize votes on a block carry the shares of the batch below it (executed): the
      // block opens that batch as it executes.
      vote(net, FINALIZE, context.view, digest);
      for (const app of net.apps)
        await app.finalized({
          block: { ...context, payload },
          digest,
          finalization: { kind: FINALIZE, view: context.view, digest, votes: [] },
        });
    }
    // Executed in order, every envelope reserved its nonce: the same on every validator.
    for (const app of net.apps) assert.equal(app.engine.account(alice.publicKey)!.nonce, 3);
    const roots = net.apps.map((app) => toHex(app.stateRootAt(4)!));
    assert.equal(new Set(roots).size, 1);
  });

  it('never early: no vote carries a share of block h before h is final and the block after it is notarized (no nullify or notarize vote, no vote on h itself)', async () => {
    const net = network();
    await round(net); // height 1
    submit(net, envelope(alice, 0, 2));
    const pending = await round(net, { notarizeOnly: true });
    assert.equal(BlockPayloadCodec.decode(pending.payload).envelopes.length, 1);
    // Every validator verified block 2 and voted for it; none released a share of its key.
    for (const extension of pending.notarizeExtensions) assert.deepEqual(sharedBatches(extension), []);
    // Its finalize votes (still not final) carry none either.
    for (const app of net.apps)
      assert.deepEqual(sharedBatches(app.extension(FINALIZE, 2, pending.digest)), []);
    const block = { ...pending.context, payload: pending.payload };
    for (const app of net.apps)
      await app.finalized({
        block,
        digest: pending.digest,
        finalization: { kind: FINALIZE, view: 2, digest: pending.digest, votes: [] },
      });
    net.tip = { digest: pending.digest, view: 2, height: 2 };
    // Final and executed: still no vote on block 2 itself carries its share.
    for (const app of net.apps)
      assert.deepEqual(sharedBatches(app.extension(FINALIZE, 2, pending.digest)), []);
    // Block 3 is proposed and every validator checks it. Voting to notarize it is not enough: the
    // shares ride only on votes that show the block opening batch 2 fixed (app.ts
    // `shareableBatchMax`), so batch 2's keys are out only once what runs after its orders is fixed.
    const three = await round(net, { notarizeOnly: true });
    for (const extension of three.notarizeExtensions) assert.deepEqual(sharedBatches(extension), []);
    // A stalled view: nullify votes never carry a share (a leader that stalls learns nothing).
    for (const app of net.apps)
      assert.deepEqual(sharedBatches(app.extension(NULLIFY, 3, new Uint8Array(32))), []);
    // A vote on a block we never saw carries none either.
    for (const app of net.apps)
      assert.deepEqual(sharedBatches(app.extension(FINALIZE, 3, new Uint8Array(32).fill(7))), []);
    // Block 3 notarized: its finalize votes show its contents fixed, and carry block 2's share.
    for (const app of net.apps)
      assert.deepEqual(sharedBatches(app.extension(FINALIZE, 3, three.digest)), [2]);
  });

  it('an envelope a block carried but did not admit gets no key: no vote carries a share of it, and it opens only once admitted', async () => {
    // Before per-envelope identities one key opened every envelope sealed for a height, so an
    // envelope its block left out (or carried without admitting) was readable once that block's
    // key was out, while its nonce was still unused: a leader could read it and trade ahead of
    // its later inclusion. Now shares are released for admitted envelopes only.
    const net = network();
    await round(net); // 1
    const skipped = envelope(alice, 1, 10); // nonce 1 while alice's next is 0: not admissible yet
    const carry = (payload: Uint8Array) =>
      BlockPayloadCodec.encode({ ...BlockPayloadCodec.decode(payload), envelopes: [skipped] });
    const two = await round(net, { rewrite: carry }); // 2: a Byzantine leader carries it
    assert.deepEqual(two.verdicts, [true, true, true, true], 'stateless checks pass');
    for (const list of net.applied) assert.equal(list.at(-1)!.fair.admitted, 0);
    // Block 3's votes, the ones that would carry batch 2's shares, carry none: nothing to open.
    const three = await round(net);
    for (const extension of [...three.notarizeExtensions, ...three.finalizeExtensions!])
      assert.deepEqual(sharedBatches(extension), []);
    for (const list of net.applied) assert.deepEqual(list.at(-1)!.fair.openedHeights, []);
    // Its nonce unused, the same envelope is admitted once alice's nonce 0 goes first, and opens.
    submit(net, envelope(alice, 0, 10));
    submit(net, skipped);
    const four = await round(net); // 4: both admitted
    assert.equal(BlockPayloadCodec.decode(four.payload).envelopes.length, 2);
    const five = await round(net); // 5: opens batch 4
    for (const extension of five.finalizeExtensions!) assert.deepEqual(sharedBatches(extension), [4]);
    for (const app of net.apps) assert.equal(app.engine.account(alice.publicKey)!.nonce, 2);
    assert.deepEqual(
      net.apps[0]!.summary(5)!.transactions.map((outcome) => outcome.nonce),
      [0, 1],
    );
  });

  it('a Byzantine leader carrying more envelopes than a block admits does not make the next leader skip nonces', async () => {
    const net = network();
    await round(net); // 1
    const sent = Array.from({ length: MAX_BATCH_ENVELOPES + 4 }, (_, nonce) => envelope(alice, nonce, 10));
    // The honest pools hold the four a block cannot admit after the first MAX_BATCH_ENVELOPES.
    for (const bytes of sent.slice(MAX_BATCH_ENVELOPES)) submit(net, bytes);
    const carryAll = (payload: Uint8Array) =>
      BlockPayloadCodec.encode({ ...BlockPayloadCodec.decode(payload), envelopes: sent });
    const two = await round(net, { rewrite: carryAll, notarizeOnly: true });
    assert.deepEqual(two.verdicts, [true, true, true, true]);
    // The next leader builds on the unexecuted block 2: it admits 16, so alice's next is 16, not 20.
    net.now.ms += 1000;
    const context: BlockContext = { view: 3, height: 3, parentView: 2, parent: two.digest, proposer: 3 };
    const three = (await net.apps[3]!.propose(context))!;
    assert.deepEqual(
      BlockPayloadCodec.decode(three).envelopes.map(
        (bytes) => SignedOrderEnvelopeCodec.decode(bytes).body.nonce,
      ),
      [16, 17, 18, 19],
    );
    for (const app of net.apps)
      await app.finalized({
        block: { ...two.context, payload: two.payload },
        digest: two.digest,
        finalization: { kind: FINALIZE, view: 2, digest: two.digest, votes: [] },
      });
    for (const list of net.applied) assert.equal(list.at(-1)!.fair.admitted, MAX_BATCH_ENVELOPES);
    for (const app of net.apps) assert.equal(app.engine.account(alice.publicKey)!.nonce, MAX_BATCH_ENVELOPES);
  });

  it('a leader that does not know an unexecuted ancestor carries no envelope: it cannot tell which ones that block carries', async () => {
    // Envelopes stay valid for several blocks, so a leader that cannot see what an ancestor
    // carried would carry its envelopes again (dropped at admission, but taking the block's slots).
    const net = network();
    await round(net); // 1
    const sent = envelope(alice, 0, 10);
    submit(net, sent);
    net.now.ms += 1000;
    const twoContext = contextOf(net, 2);
    const two = (await net.apps[2]!.propose(twoContext))!;
    assert.equal(BlockPayloadCodec.decode(two).envelopes.length, 1);
    // Validators 0 and 1 verify block 2; validator 3 never sees it (it would reach it by sync).
    for (const i of [0, 1]) assert.equal(await net.apps[i]!.verify(twoContext, two), true);
    const twoDigest = blockDigest({ ...twoContext, payload: two });
    const threeContext: BlockContext = {
      view: twoContext.view + 1,
      height: 3,
      parentView: twoContext.view,
      parent: twoDigest,
      proposer: 3,
    };
    const unaware = (await net.apps[3]!.propose(threeContext))!;
    assert.deepEqual(BlockPayloadCodec.decode(unaware).envelopes, [], 'an unknown ancestor: no envelope');
    const aware = (await net.apps[0]!.propose({ ...threeContext, proposer: 0 }))!;
    assert.deepEqual(BlockPayloadCodec.decode(aware).envelopes, [], 'the ancestor carries it: not again');
  });

  it('key shares pushed the moment a validator executes a batch open the next block with no vote carrying any', async () => {
    // The vote after a block's execution may already have left (the finalize vote of the next
    // block goes out when it is notarized, often while the batch's block still executes): then the
    // shares waited for a later vote, and the next block's execution with them.
    const net = network();
    const everyone = new Set([0, 1, 2, 3]);
    const pushed: number[] = [];
    net.apps.forEach((app, from) => {
      app.onKeyShares((statement) => {
        pushed.push(from);
        net.apps.forEach((peer, to) => {
          if (to !== from) assert.equal(peer.receiveKeyShares(statement), true);
        });
      });
    });
    await round(net, { silent: everyone }); // 1
    submit(net, envelope(alice, 0, 10));
    await round(net, { silent: everyone }); // 2: admitted; each validator pushes its shares
    assert.deepEqual(pushed.sort(), [0, 1, 2, 3]);
    await round(net, { silent: everyone }); // 3: opens batch 2 with the pushed shares alone
    for (const list of net.applied) assert.deepEqual(list.at(-1)!.fair.openedHeights, [2]);
    for (const app of net.apps) assert.equal(app.stats().orderFlow.encryptedExecuted, 1);
    // Junk sent directly is refused (the node penalizes its sender): not a statement, or one
    // signed by another validator than the one it names.
    assert.equal(net.apps[0]!.receiveKeyShares(Uint8Array.of(1, 1, 0x22, 0)), false);
    const identities = [identityOfEnvelope(SignedOrderEnvelopeCodec.decode(envelope(bob, 0, 10)).body)];
    const released = releaseBatchKeyShares(
      {
        chainId: CHAIN_ID,
        eon: EON,
        validatorIndex: 2,
        secretShare: secretShares[2]!,
        signer: validators[1]!,
      },
      { batch: 3, finalizedHeight: 3, identities },
    );
    assert.ok(released.ok);
    assert.equal(
      net.apps[0]!.receiveKeyShares(SignedKeyShareCodec.encode(keyShareMessageOf(released.share))),
      false,
    );
  });

  it('an early share from a peer is evidence: the next block records it and the block rule names the signer', async () => {
    const net = network();
    await round(net); // height 1
    // Validator 3 releases its shares for block 3's envelope while only block 1 is final (it lies
    // to its own guard about the finalized height).
    const batch = 3;
    const order = SignedOrderEnvelopeCodec.decode(envelope(alice, 0, 10));
    const released = releaseBatchKeyShares(
      {
        chainId: CHAIN_ID,
        eon: EON,
        validatorIndex: 3,
        secretShare: secretShares[3]!,
        signer: validators[3]!,
      },
      { batch, finalizedHeight: batch, identities: [identityOfEnvelope(order.body)] },
    );
    assert.ok(released.ok);
    const share = released.share;
    const extension = KeyShareVoteExtensionCodec.encode({
      inner: new Uint8Array(0),
      shares: [SignedKeyShareCodec.encode(keyShareMessageOf(share))],
    });
    // The vote itself is fine (the share is real and signed): taken, and kept as evidence.
    assert.equal(net.apps[2]!.verifyExtension(3, NOTARIZE, 1, net.tip.digest, extension), true);
    // A share on a vote must be its signer's own: validator 1 cannot pass off validator 3's.
    assert.equal(net.apps[0]!.verifyExtension(1, NOTARIZE, 1, net.tip.digest, extension), false);
    const recorded = await round(net, { leader: 2 }); // height 2, validator 2 leads
    assert.equal(BlockPayloadCodec.decode(recorded.payload).earlyShares.length, 1);
    assert.deepEqual(recorded.verdicts, [true, true, true, true]);
    for (const list of net.applied) assert.deepEqual(list.at(-1)!.fair.earlyShareOffenders, [3]);
  });

  it("the next block's leader cannot run ahead: block 3 opens block 2's batch first, whatever it carries or leaves out", async () => {
    const net = network();
    await round(net); // 1
    submit(net, envelope(alice, 0, 2));
    await round(net); // 2: the envelope is included, paid, waiting
    // A plain transaction for the leader of 3 to run ahead of the order (here it even holds the
    // key: the test's rounds deliver block 2's finalize votes before block 3 is proposed).
    const plain = SignedTransactionCodec.encode(actionTransaction(bob, 0, CANCEL_ALL));
    for (const app of net.apps)
      assert.equal(app.mempool.admit(plain, { height: 3, nowMs: net.now.ms }).status, 'accepted');
    const stripKeys = (payload: Uint8Array) =>
      BlockPayloadCodec.encode({ ...BlockPayloadCodec.decode(payload), batchKeys: [] });
    const third = await round(net, { leader: 3, rewrite: stripKeys });
    assert.deepEqual(third.verdicts, [true, true, true, true]);
    for (const list of net.applied) assert.deepEqual(list.at(-1)!.fair.openedHeights, [2]);
    // Order fixed first: alice's encrypted order ran before bob's plain one.
    const summary = net.apps[1]!.summary(3)!;
    assert.deepEqual(
      summary.transactions.map((outcome) => outcome.signer),
      [hex(alice.publicKey), hex(bob.publicKey)],
    );
    // Block 4 records block 2's key for anyone who missed the votes; it opens nothing more.
    const fourth = await round(net);
    assert.deepEqual(
      BlockPayloadCodec.decode(fourth.payload).batchKeys.map((key) => key.height),
      [2],
    );
    const roots = net.apps.map((app) => toHex(app.stateRootAt(4)!));
    assert.equal(new Set(roots).size, 1);
  });

  it('a validator that missed every share waits for the key, never executes without it, and finds it recorded in a later block; stopping ends the wait', async () => {
    const net = network();
    await round(net); // 1
    submit(net, envelope(alice, 0, 2));
    // Validator 3 hears no one's votes from block 2 on: it gets blocks, never shares.
    const deaf = net.apps[3]!;
    const hearing = net.apps.slice(0, 3);
    const roundWithout = async () => {
      net.now.ms += 1000;
      const leader = (net.tip.height + 1) % 3;
      const context = contextOf(net, leader);
      const payload = (await hearing[leader]!.propose(context))!;
      const verdicts = await Promise.all(
        hearing.map((app, i) => (i === leader ? true : app.verify(context, payload))),
      );
      assert.deepEqual(verdicts, [true, true, true]);
      const digest = blockDigest({ ...context, payload });
      const finalizedBlock = {
        block: { ...context, payload },
        digest,
        finalization: { kind: FINALIZE, view: context.view, digest, votes: [] },
      };
      const extensions = hearing.map((app) => app.extension(FINALIZE, context.view, digest));
      extensions.forEach((extension, signer) => {
        hearing.forEach((app, receiver) => {
          if (receiver !== signer)
            assert.ok(app.verifyExtension(signer, FINALIZE, context.view, digest, extension));
        });
      });
      for (const app of hearing) await app.finalized(finalizedBlock);
      net.tip = { digest, view: context.view, height: context.height };
      return finalizedBlock;
    };
    const two = await roundWithout();
    await deaf.finalized(two);
    const three = await roundWithout();
    // Block 3 opens batch 2: validator 3 holds only its own share, so it waits.
    let done = false;
    const executing = deaf.finalized(three).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(done, false);
    assert.equal(deaf.engine.height, 2, 'not executed without the key');
    assert.equal(deaf.processedHeight(), 2);
    assert.equal(deaf.awaitingBatchKey(), true);
    submit(net, envelope(bob, 0, 4));
    const four = await roundWithout();
    assert.deepEqual(
      BlockPayloadCodec.decode(four.block.payload).batchKeys.map((key) => key.height),
      [2],
    );
    // Consensus hands it block 4 as soon as it is final: the record there is the key it waits for.
    deaf.finalizedAhead(four.block);
    await executing;
    assert.equal(deaf.engine.height, 3);
    assert.equal(toHex(deaf.stateRootAt(3)!), toHex(net.apps[0]!.stateRootAt(3)!));
    assert.equal(deaf.summary(3)!.transactions[0]!.signer, hex(alice.publicKey));
    // Block 5 waits for block 4's key; the node stopping ends the wait and executes nothing.
    await deaf.finalized(four);
    const five = await roundWithout();
    const waiting = deaf.finalized(five);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(deaf.awaitingBatchKey(), true);
    deaf.close();
    await waiting;
    assert.equal(deaf.engine.height, 4);
    assert.equal(deaf.awaitingBatchKey(), false);
  });

  it('a Byzantine leader repeats an envelope of an unexecuted ancestor, skips a nonce and replays one: none runs twice or out of order', async () => {
    const net = network();
    await round(net); // 1
    // Alice's nonce 0, a second envelope she signed for nonce 0 (sent elsewhere, another prefix),
    // and her nonce 2 (a gap).
    const first = envelope(alice, 0, 10);
    const retry = envelope(alice, 0, 10);
    const gap = envelope(alice, 2, 10);
    submit(net, first);
    const balance = net.apps[0]!.engine.account(alice.publicKey)!.balance;
    // Block 2 carries nonce 0; notarized, not yet final (so not executed).
    const two = await round(net, { notarizeOnly: true });
    assert.deepEqual(innerIds(BlockPayloadCodec.decode(two.payload).envelopes), innerIds([first]));
    // The Byzantine leader of 3 builds on 2 with the retry of nonce 0 and the nonce-2 envelope.
    net.now.ms += 1000;
    const context: BlockContext = { view: 3, height: 3, parentView: 2, parent: two.digest, proposer: 3 };
    const own = (await net.apps[3]!.propose(context))!;
    assert.deepEqual(BlockPayloadCodec.decode(own).envelopes, [], 'an honest leader proposes neither');
    const byzantine = BlockPayloadCodec.encode({ ...BlockPayloadCodec.decode(own), envelopes: [retry, gap] });
    // Out of order within the block: refused by every verifier.
    const verdicts = await Promise.all(net.apps.slice(0, 3).map((app) => app.verify(context, byzantine)));
    assert.deepEqual(verdicts, [false, false, false]);
    assert.equal(net.apps[0]!.stats().refusedProposals['envelope-nonce-order'], 1);
    // The retry alone passes the stateless checks; finalized, it runs nothing and pays nothing.
    const repeat = BlockPayloadCodec.encode({ ...BlockPayloadCodec.decode(own), envelopes: [retry] });
    const accepted = await Promise.all(net.apps.slice(0, 3).map((app) => app.verify(context, repeat)));
    assert.deepEqual(accepted, [true, true, true]);
    const twoBlock = { ...two.context, payload: two.payload };
    const threeBlock = { ...context, payload: repeat };
    const threeDigest = blockDigest(threeBlock);
    for (const app of net.apps)
      await app.finalized({
        block: twoBlock,
        digest: two.digest,
        finalization: { kind: FINALIZE, view: 2, digest: two.digest, votes: [] },
      });
    // Block 3's finalize votes carry the shares of batch 2 (validator 3 never verified this block
    // 3, so its vote carries none: three shares are the threshold).
    vote(net, FINALIZE, 3, threeDigest);
    for (const app of net.apps)
      await app.finalized({
        block: threeBlock,
        digest: threeDigest,
        finalization: { kind: FINALIZE, view: 3, digest: threeDigest, votes: [] },
      });
    for (const [i, app] of net.apps.entries()) {
      const account = app.engine.account(alice.publicKey)!;
      assert.equal(account.nonce, 1, `validator ${i}: nonce 0 used once`);
      assert.equal(account.balance, balance - 10n, 'one fee');
      assert.equal(app.stats().orderFlow.encryptedExecuted, 1);
      assert.equal(app.stats().orderFlow.envelopesAdmitted, 1);
      // The spent nonce's envelopes are refused at the door from now on; the gap is not hers to fill.
      assert.equal(app.submitEnvelope(envelope(alice, 0, 5)).ok, false);
    }
  });

  for (const fault of ['withholding', 'lying'] as const)
    it(`envelopes decrypt and execute in the order fixed at inclusion, with one ${fault} validator`, async () => {
      const net = network(fault === 'lying' ? { liar: 1 } : {});
      const silent = fault === 'withholding' ? new Set([1]) : undefined;
      await round(net, { silent }); // 1
      // Arrival order dave, carol, bob, alice: the leader orders by arrival; nobody can read them.
      const sent = [dave, carol, bob, alice].map((trader) => envelope(trader, 0, 2));
      for (const bytes of sent) submit(net, bytes);
      const included = await round(net, { silent }); // 2
      const fixed = BlockPayloadCodec.decode(included.payload).envelopes;
      assert.deepEqual(innerIds(fixed), innerIds(sent));
      for (const list of net.applied) assert.equal(list.at(-1)!.fair.admitted, 4);
      // Block 3 opens batch 2 with the key combined from the shares on block 2's finalize votes;
      // it records no key (its leader proposed it before it could hold one).
      const opened = await round(net, { silent });
      assert.deepEqual(BlockPayloadCodec.decode(opened.payload).batchKeys, []);
      for (const [i, list] of net.applied.entries()) {
        assert.deepEqual(list.at(-1)!.fair.openedHeights, [2], `validator ${i}`);
        assert.equal(list.at(-1)!.fair.executed, 4);
      }
      const summary = net.apps[0]!.summary(3)!;
      assert.deepEqual(
        summary.transactions.map((outcome) => outcome.signer),
        [dave, carol, bob, alice].map((t) => hex(t.publicKey)),
      );
      assert.deepEqual(
        summary.transactions.map((outcome) => outcome.status),
        ['OK', 'OK', 'OK', 'OK'],
      );
      // The order flow every validator counts: four encrypted orders admitted and executed, no plain.
      for (const app of net.apps)
        assert.deepEqual(app.stats().orderFlow, {
          encryptedExecuted: 4,
          plainExecuted: 0,
          envelopesAdmitted: 4,
          envelopesDecrypted: 4,
          envelopesUndecryptable: 0,
        });
      // Same blocks, same state on every validator.
      const roots = net.apps.map((app) => toHex(app.stateRootAt(3)!));
      assert.equal(new Set(roots).size, 1);
    });

  it('garbage under the envelope (encrypted to another key) is charged: fee paid, nonce spent, counted undecryptable; its replay is refused', async () => {
    const net = network();
    await round(net); // 1
    const otherDealings = Array.from({ length: N }, (_, j) => dealEon(j, THRESHOLD, N));
    const wrongKey = combineEonKeyset(otherDealings, THRESHOLD, N).eonPublicKey.toBytes(true);
    const garbage = encrypt(alice, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: wrongKey,
      expiryHeight: 2,
      nonce: 0,
      fee: 10,
      action: CANCEL_ALL,
    });
    const before = net.apps[0]!.engine.account(alice.publicKey)!.balance;
    submit(net, garbage); // nobody can tell before the key is out
    await round(net); // 2: included
    await round(net); // 3: opened, nothing to run
    for (const app of net.apps) {
      assert.equal(app.engine.account(alice.publicKey)!.nonce, 1);
      assert.equal(app.engine.account(alice.publicKey)!.balance, before - 10n);
      const flow = app.stats().orderFlow;
      assert.equal(flow.envelopesAdmitted, 1);
      assert.equal(flow.envelopesDecrypted, 0);
      assert.equal(flow.envelopesUndecryptable, 1);
      assert.equal(flow.encryptedExecuted, 0);
      // The same bytes again: its nonce is spent, so the pool refuses them (no second charge).
      const again = app.submitEnvelope(garbage);
      assert.equal(again.ok, false);
    }
    await round(net); // 4
    for (const app of net.apps) assert.equal(app.engine.account(alice.publicKey)!.balance, before - 10n);
  });

  it('a market genesis keeps for encrypted orders: a plain order is refused at admission, in a proposal and on execution; encrypted it runs', async () => {
    const net = network({ encryptedOnlySeries: [1] });
    await round(net); // 1
    const plainOrder = SignedTransactionCodec.encode(
      actionTransaction(bob, 0, limitOrder(1, 'buy', 2000, 1)),
    );
    for (const app of net.apps) {
      const admitted = app.mempool.admit(plainOrder, { height: 2, nowMs: net.now.ms });
      assert.equal(admitted.status === 'refused' && admitted.code, 'ENCRYPTION_REQUIRED');
    }
    // Another market still takes plain orders.
    const elsewhere = SignedTransactionCodec.encode(
      actionTransaction(carol, 0, limitOrder(2, 'buy', 2000, 1)),
    );
    assert.equal(net.apps[0]!.mempool.admit(elsewhere, { height: 2, nowMs: net.now.ms }).status, 'accepted');
    // A Byzantine leader slips the plain order in: every verifier refuses the block.
    const slipped = await round(net, {
      leader: 2,
      rewrite: (payload) => {
        const decoded = BlockPayloadCodec.decode(payload);
        return BlockPayloadCodec.encode({ ...decoded, transactions: [...decoded.transactions, plainOrder] });
      },
    });
    assert.deepEqual(
      slipped.verdicts.filter((_, i) => i !== 2),
      [false, false, false],
    );
    assert.equal(net.apps[0]!.stats().refusedProposals['plain-order-on-encrypted-market'], 1);
    // Finalized anyway (more than f signed it): the block rule skips it on every validator.
    const context = contextOf(net, 2);
    const decoded = BlockPayloadCodec.decode(slipped.payload);
    const block = {
      ...context,
      payload: BlockPayloadCodec.encode({ ...decoded, transactions: [plainOrder] }),
    };
    const digest = blockDigest(block);
    for (const app of net.apps)
      await app.finalized({
        block,
        digest,
        finalization: { kind: FINALIZE, view: context.view, digest, votes: [] },
      });
    net.tip = { digest, view: context.view, height: context.height };
    for (const app of net.apps) {
      assert.deepEqual(app.summary(2)!.transactions, []);
      assert.equal(app.engine.account(bob.publicKey)!.nonce, 0);
    }
    vote(net, FINALIZE, context.view, digest);
    // The same order encrypted goes through the envelope pool and runs once its key is out.
    submit(net, envelope(bob, 0, 3, limitOrder(1, 'buy', 2000, 1)));
    await round(net); // 3: included
    await round(net); // 4: opened
    const ran = net.apps[0]!.summary(4)!.transactions;
    // Bob's opened order first, then the plain order on the other market validator 0 held.
    assert.deepEqual(
      ran.map((outcome) => [outcome.signer, outcome.nonce]),
      [
        [hex(bob.publicKey), 0],
        [hex(carol.publicKey), 0],
      ],
    );
    assert.equal(net.apps[0]!.engine.account(bob.publicKey)!.nonce, 1);
  });
});

/**
 * A leader waiting for something to carry (an empty mempool, up to `emptyBlockIntervalMs`) and the
 * envelopes it could carry. Attacks first: a Byzantine client's envelopes that can never be
 * selected (nonce gaps, many senders) must neither hold the proposal back nor hurry it, and an
 * envelope sent just after the leader chose must not make it wait or choose again.
 */
describe('a leader waiting for envelopes it could carry (manual clock)', () => {
  const INTERVAL_MS = 10_000;
  function waitingNetwork() {
    const timers: { at: number; callback: () => void }[] = [];
    const holder: { now?: { ms: number } } = {};
    const clock: Clock = {
      now: () => holder.now!.ms,
      setTimer(delayMs, callback) {
        const timer = { at: holder.now!.ms + delayMs, callback };
        timers.push(timer);
        return () => {
          const index = timers.indexOf(timer);
          if (index >= 0) timers.splice(index, 1);
        };
      },
    };
    const net = network({ clock, emptyBlockIntervalMs: INTERVAL_MS });
    holder.now = net.now;
    const advance = async (ms: number) => {
      net.now.ms += ms;
      for (const due of timers.filter((timer) => timer.at <= net.now.ms)) {
        timers.splice(timers.indexOf(due), 1);
        due.callback();
      }
      await settle();
    };
    return { net, advance };
  }
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Starts block 1's proposal on its leader; `result()` is its payload once proposed. */
  function proposeFirst(net: Network, view = 1) {
    const leader = view % N;
    const context: BlockContext = {
      view,
      height: 1,
      parentView: 0,
      parent: net.tip.digest,
      proposer: leader,
    };
    let payload: Uint8Array | undefined;
    void net.apps[leader]!.propose(context).then((bytes) => {
      payload = bytes;
    });
    return { leader, result: () => payload };
  }
  const envelopesOf = (payload: Uint8Array) => innerIds(BlockPayloadCodec.decode(payload).envelopes);

  it('an envelope at its sender’s next nonce for the height ends the wait: proposed at once, carrying it', async () => {
    // Fails before: the leader waited for a transaction or the whole interval, and an encrypted
    // order missed it whenever no plain order came.
    const { net } = waitingNetwork();
    const proposal = proposeFirst(net);
    await settle();
    assert.equal(proposal.result(), undefined, 'nothing to carry yet: the leader waits');
    const bytes = envelope(alice, 0, 1);
    for (const app of net.apps) assert.equal(app.submitEnvelope(bytes).ok, true);
    await settle();
    const payload = proposal.result();
    assert.ok(payload, 'still waiting with an envelope for its height in the pool');
    assert.deepEqual(envelopesOf(payload), [`${toHex(alice.publicKey)}:0`]);
  });

  it('a flood of envelopes that cannot be selected (nonce gaps) neither wakes the leader nor holds it past its interval', async () => {
    // The adversary: Sybil senders with envelopes at nonces above their next (never selectable).
    // Were any envelope taken as a reason to propose, each would hurry an empty block; were the
    // leader to wait for the gaps to fill, they would hold it. Neither.
    const { net, advance } = waitingNetwork();
    const proposal = proposeFirst(net);
    await settle();
    const sybils = Array.from({ length: 6 }, (_, i) => testSigner(`fair-app/sybil-${i}`));
    for (const sybil of sybils)
      for (const bytes of [envelope(sybil, 1, 1), envelope(sybil, 2, 1), envelope(sybil, 3, 2)])
        assert.equal(net.apps[proposal.leader]!.submitEnvelope(bytes).ok, true);
    await settle();
    assert.equal(proposal.result(), undefined, 'envelopes it cannot carry woke the leader');
    await advance(INTERVAL_MS);
    const payload = proposal.result();
    assert.ok(payload, 'the gaps held the leader past its interval');
    assert.deepEqual(envelopesOf(payload), []);
  });

  it('an envelope sent just after the leader chose changes nothing there; a later view at the same height carries it', async () => {
    const { net } = waitingNetwork();
    const first = proposeFirst(net);
    await settle();
    const early = envelope(alice, 0, 1);
    for (const app of net.apps) assert.equal(app.submitEnvelope(early).ok, true);
    await settle();
    assert.deepEqual(envelopesOf(first.result()!), [`${toHex(alice.publicKey)}:0`]);
    // Just too late on purpose: bob's, for the same height, after the choice.
    const late = envelope(bob, 0, 1);
    for (const app of net.apps) assert.equal(app.submitEnvelope(late).ok, true);
    await settle();
    assert.deepEqual(envelopesOf(first.result()!), [`${toHex(alice.publicKey)}:0`], 'the proposal is fixed');
    // View 1 nullified: view 2's leader proposes height 1 again, at once, with both.
    const second = proposeFirst(net, 2);
    await settle();
    assert.ok(second.result(), 'the re-proposal of height 1 waited');
    assert.deepEqual(
      new Set(envelopesOf(second.result()!)),
      new Set([`${toHex(alice.publicKey)}:0`, `${toHex(bob.publicKey)}:0`]),
    );
  });
});
