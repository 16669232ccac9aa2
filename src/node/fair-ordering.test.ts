/**
 * Attacks on the key-release side of fair ordering (./fair-ordering.ts), n = 7, f = 2,
 * t = 2f + 1 = 5: f validators send garbage shares, shares for another batch or other identities,
 * shares released before their block is final, f colluders pooling their shares early, statements
 * that arrive before their batch is known. And the front-runner leader
 * (src/sim/adversaries/front-runner.ts) fed envelopes instead of plain transactions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { batchIdentities, isBatchKey, openEncryptedBatch } from '../chain/encrypted-batch.ts';
import { VOTE_EXTENSION_OVERHEAD_BYTES } from '../codec/bridge.ts';
import { MAX_EXTENSION_BYTES } from '../codec/consensus.ts';
import {
  EarlyKeyShareCodec,
  keyShareExtensionOverhead,
  SignedKeyShareCodec,
  SignedOrderEnvelopeCodec,
} from '../codec/envelope.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedObservationCodec } from '../codec/oracle.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { verifyEarlyKeyShare } from '../consensus/evidence.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { envelopeSigningBytes, identityOfEnvelope, keyShareMessageOf } from '../crypto/shutter/envelope.ts';
import { combineEonKeyset, combineEonSecretShare, dealEon } from '../crypto/shutter/eon-dkg.ts';
import { G1 } from '../crypto/shutter/ibe.ts';
import {
  combineBatchKeyShares,
  envelopeIdentity,
  identitiesRoot,
  keyShareSigningBytes,
  releaseBatchKeyShares,
  type SignedKeyShare,
} from '../crypto/shutter/key-shares.ts';
import { createMclBackend } from '../crypto/shutter/pairing-backend.ts';
import { createEngine } from '../execution/engine.ts';
import { actionTransaction, limitOrder, testGenesis, testSigner, USDC } from '../execution/fixtures.ts';
import { MS_PER_DAY } from '../execution/margin.ts';
import { createFrontRunner } from '../sim/adversaries/front-runner.ts';
import { encrypt } from './client.ts';
import {
  type BatchKeyContext,
  createBatchKeyCollector,
  createKeyShareRelay,
  earlyShareEvidence,
  MAX_KEY_SHARE_ATTACHMENT_BYTES,
} from './fair-ordering.ts';

const COUNT = 7;
const F = 2;
const THRESHOLD = 2 * F + 1;
const CHAIN_ID = 7;
const EON = 3;

const dealings = Array.from({ length: COUNT }, (_, j) => dealEon(j, THRESHOLD, COUNT));
const keyset = combineEonKeyset(dealings, THRESHOLD, COUNT);
const secretShares = Array.from({ length: COUNT }, (_, i) => combineEonSecretShare(dealings, i));
const signers = Array.from({ length: COUNT }, () => createEd25519Signer(new Uint8Array(randomBytes(32))));
const context: BatchKeyContext = {
  chainId: CHAIN_ID,
  eon: EON,
  threshold: THRESHOLD,
  eonPublicKey: keyset.eonPublicKey,
  validatorKeys: signers.map((s) => s.publicKey),
  publicShares: keyset.publicShares,
};
const alice = testSigner('fair/alice');

/** `count` client-encrypted orders of alice (nonces from `firstNonce`), valid up to `expiryHeight`. */
function orders(count: number, expiryHeight = 1000, firstNonce = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, j) =>
    encrypt(alice, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey.toBytes(true),
      expiryHeight,
      nonce: firstNonce + j,
      fee: 100,
      action: limitOrder(1, 'buy', 100 + j, 1),
    }),
  );
}

/** Random identities standing for a batch's envelopes (the collectors see identities only). */
function identitiesOf(count: number): Uint8Array[] {
  return Array.from({ length: count }, () =>
    envelopeIdentity(CHAIN_ID, alice.publicKey, new Uint8Array(randomBytes(32))),
  );
}

function release(
  validatorIndex: number,
  batch: number,
  identities: readonly Uint8Array[],
  finalizedHeight = batch,
): SignedKeyShare {
  const result = releaseBatchKeyShares(
    {
      chainId: CHAIN_ID,
      eon: EON,
      validatorIndex,
      secretShare: secretShares[validatorIndex]!,
      signer: signers[validatorIndex]!,
    },
    { batch, finalizedHeight, identities },
  );
  assert.ok(result.ok);
  return result.share;
}

/** Statements made of random points, signed by their validator: garbage it cannot deny sending. */
function garbage(validatorIndex: number, batch: number, identities: readonly Uint8Array[]): SignedKeyShare {
  const statement = {
    chainId: CHAIN_ID,
    eon: EON,
    batch,
    validatorIndex,
    identitiesRoot: identitiesRoot(identities),
    shares: identities.map(() =>
      G1.BASE.multiply(BigInt(`0x${Buffer.from(randomBytes(16)).toString('hex')}`) + 1n).toBytes(true),
    ),
  };
  return { ...statement, signature: signers[validatorIndex]!.sign(keyShareSigningBytes(statement)) };
}

describe('batch key shares', () => {
  it('2f + 1 honest statements (sent as bytes) combine into the keys that open every client-encrypted order of the batch', () => {
    const height = 40;
    const envelopes = orders(3);
    const identities = batchIdentities(envelopes)!;
    const collector = createBatchKeyCollector(context, height, identities);
    for (let i = 0; i < THRESHOLD; i++)
      assert.deepEqual(
        collector.offer(SignedKeyShareCodec.encode(keyShareMessageOf(release(i, height, identities)))),
        { ok: true, held: i + 1 },
      );
    const combined = collector.combine();
    assert.ok(combined.ok);
    assert.deepEqual(combined.liars, []);
    assert.equal(combined.key.length, 48 * 3);
    const opened = openEncryptedBatch({
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey,
      height,
      envelopes,
      key: combined.key,
      nextNonce: () => 0,
    });
    assert.ok(opened.ok);
    assert.deepEqual(
      opened.outcomes.map((o) => o.kind),
      ['execute', 'execute', 'execute'],
    );
    assert.deepEqual(opened.transactions[2]!.body.signer, alice.publicKey);
  });

  it('f validators send garbage shares: the keys still combine from the honest ones and the liars are named', () => {
    const height = 41;
    const identities = identitiesOf(4);
    const collector = createBatchKeyCollector(context, height, identities);
    // The liars answer first, so a naive "first t statements" combiner would use them.
    collector.offer(garbage(1, height, identities));
    collector.offer(garbage(4, height, identities));
    for (const i of [0, 2, 3, 5, 6]) collector.offer(release(i, height, identities));
    const combined = collector.combine();
    assert.ok(combined.ok);
    assert.deepEqual(
      combined.liars.map((s) => s.validatorIndex),
      [1, 4],
    );
    assert.deepEqual(combined.used, [0, 2, 3, 5, 6]);
    assert.ok(isBatchKey(identities, combined.key, keyset.eonPublicKey));
    // A liar cannot try again with a good statement once caught.
    assert.deepEqual(collector.offer(release(1, height, identities)), { ok: false, code: 'DUPLICATE' });
  });

  it('one wrong share among a statement of good ones makes its sender a liar', () => {
    const height = 44;
    const identities = identitiesOf(5);
    const honest = release(2, height, identities);
    // Validator 2 swaps two of its shares: each is a real share, just for the wrong envelope.
    const swapped = [...honest.shares];
    [swapped[1], swapped[3]] = [swapped[3]!, swapped[1]!];
    const statement = { ...honest, shares: swapped };
    const lying = { ...statement, signature: signers[2]!.sign(keyShareSigningBytes(statement)) };
    const collector = createBatchKeyCollector(context, height, identities);
    collector.offer(lying);
    for (const i of [0, 1, 3, 4, 5]) collector.offer(release(i, height, identities));
    const combined = collector.combine();
    assert.ok(combined.ok);
    assert.deepEqual(
      combined.liars.map((s) => s.validatorIndex),
      [2],
    );
    assert.ok(isBatchKey(identities, combined.key, keyset.eonPublicKey));
  });

  it('a signed statement whose shares are not points at all is named like any liar, and the keys still combine', async () => {
    const height = 45;
    const identities = identitiesOf(2);
    const statement = {
      chainId: CHAIN_ID,
      eon: EON,
      batch: height,
      validatorIndex: 0,
      identitiesRoot: identitiesRoot(identities),
      shares: [new Uint8Array(48).fill(0xff), new Uint8Array(48)],
    };
    const junk = { ...statement, signature: signers[0]!.sign(keyShareSigningBytes(statement)) };
    for (const backend of [undefined, await createMclBackend()]) {
      const collector = createBatchKeyCollector(
        backend === undefined ? context : { ...context, backend },
        height,
        identities,
      );
      // Through the wire codec too: the bytes decode (48 each), the points are checked where used.
      assert.deepEqual(collector.offer(SignedKeyShareCodec.encode(keyShareMessageOf(junk))), {
        ok: true,
        held: 1,
      });
      for (const i of [1, 2, 3, 4, 5]) collector.offer(release(i, height, identities));
      const combined = collector.combine();
      assert.ok(combined.ok);
      assert.deepEqual(
        combined.liars.map((s) => s.validatorIndex),
        [0],
      );
      assert.ok(isBatchKey(identities, combined.key, keyset.eonPublicKey));
    }
  });

  it('on mcl-wasm the collector gives the same keys, and a liar among the first t statements is named', async () => {
    const backend = await createMclBackend();
    const height = 43;
    const identities = identitiesOf(3);
    const onMcl = createBatchKeyCollector({ ...context, backend }, height, identities);
    const onNoble = createBatchKeyCollector(context, height, identities);
    // Validator 0's statement is wrong and sorts first, so the optimistic combine fails on it.
    const lie = garbage(0, height, identities);
    const good = [1, 2, 3, 4, 5].map((i) => release(i, height, identities));
    for (const collector of [onMcl, onNoble]) {
      collector.offer(lie);
      for (const statement of good) collector.offer(statement);
    }
    const [fromMcl, fromNoble] = [onMcl.combine(), onNoble.combine()];
    assert.ok(fromMcl.ok && fromNoble.ok);
    assert.equal(toHex(fromMcl.key), toHex(fromNoble.key));
    assert.deepEqual(
      fromMcl.liars.map((s) => s.validatorIndex),
      [0],
    );
    assert.ok(isBatchKey(identities, fromMcl.key, keyset.eonPublicKey));
  });

  it('with only 2f honest statements beside f garbage ones there are no keys, and the liars are still named', () => {
    const height = 42;
    const identities = identitiesOf(2);
    const collector = createBatchKeyCollector(context, height, identities);
    for (const i of [0, 1, 2, 3]) collector.offer(release(i, height, identities));
    collector.offer(garbage(5, height, identities));
    collector.offer(garbage(6, height, identities));
    const combined = collector.combine();
    assert.equal(combined.ok, false);
    assert.deepEqual(
      combined.liars.map((s) => s.validatorIndex),
      [5, 6],
    );
  });

  it('refuses a statement for another batch, for other identities, of another length, badly signed, of an unknown validator, repeated', () => {
    const height = 43;
    const identities = identitiesOf(3);
    const collector = createBatchKeyCollector(context, height, identities);
    assert.deepEqual(collector.offer(release(0, height + 1, identities)), { ok: false, code: 'WRONG_BATCH' });
    // The right batch, signed by its validator, but for other identities: keys of someone else's orders.
    assert.deepEqual(collector.offer(release(0, height, identitiesOf(3))), {
      ok: false,
      code: 'WRONG_IDENTITY',
    });
    // The batch's identities but one envelope left out (or one added).
    assert.deepEqual(collector.offer(release(0, height, identities.slice(0, 2))), {
      ok: false,
      code: 'WRONG_IDENTITY',
    });
    const short = release(1, height, identities);
    const cut = { ...short, shares: short.shares.slice(0, 2) };
    assert.deepEqual(collector.offer({ ...cut, signature: signers[1]!.sign(keyShareSigningBytes(cut)) }), {
      ok: false,
      code: 'WRONG_IDENTITY',
    });
    const share = release(2, height, identities);
    assert.deepEqual(
      collector.offer({ ...share, signature: signers[3]!.sign(keyShareSigningBytes(share)) }),
      { ok: false, code: 'BAD_SIGNATURE' },
    );
    assert.deepEqual(collector.offer({ ...share, validatorIndex: COUNT }), {
      ok: false,
      code: 'UNKNOWN_VALIDATOR',
    });
    assert.deepEqual(collector.offer({ ...share, eon: EON + 1 }), { ok: false, code: 'WRONG_EON' });
    assert.deepEqual(collector.offer(Uint8Array.of(1, 1, 0x22)), { ok: false, code: 'MALFORMED' });
    assert.deepEqual(collector.offer(share), { ok: true, held: 1 });
    assert.deepEqual(collector.offer(share), { ok: false, code: 'DUPLICATE' });
  });
});

describe('never early', () => {
  it('an honest validator refuses to release shares for a block that is not final, or for an empty batch', () => {
    const parameters = {
      chainId: CHAIN_ID,
      eon: EON,
      validatorIndex: 0,
      secretShare: secretShares[0]!,
      signer: signers[0]!,
    };
    assert.deepEqual(
      releaseBatchKeyShares(parameters, { batch: 51, finalizedHeight: 50, identities: identitiesOf(1) }),
      { ok: false, code: 'BATCH_NOT_FINALIZED', batch: 51, finalizedHeight: 50 },
    );
    assert.deepEqual(releaseBatchKeyShares(parameters, { batch: 50, finalizedHeight: 50, identities: [] }), {
      ok: false,
      code: 'EMPTY_BATCH',
      batch: 50,
      finalizedHeight: 50,
    });
  });

  it('a statement released before its block is final is evidence that verifies and names its signer', () => {
    const identities = identitiesOf(2);
    const early = release(3, 51, identities, 51); // validator 3 lies to its own guard: the chain is final at 50
    const evidence = earlyShareEvidence(early, 50, context);
    assert.ok(evidence !== undefined);
    const decoded = EarlyKeyShareCodec.decode(EarlyKeyShareCodec.encode(evidence));
    assert.equal(verifyEarlyKeyShare(decoded, context), 3);
    // Once the block is final the same statement is no evidence.
    assert.equal(earlyShareEvidence(early, 51, context), undefined);
    assert.equal(verifyEarlyKeyShare({ ...decoded, finalizedHeightAtRecord: 51 }, context), undefined);
    // A statement "by" validator 3 signed by someone else proves nothing against 3.
    const framed = keyShareMessageOf({ ...early, signature: signers[0]!.sign(keyShareSigningBytes(early)) });
    assert.equal(verifyEarlyKeyShare({ share: framed, finalizedHeightAtRecord: 50 }, context), undefined);
    // Nor does its own statement relabelled to a later batch (the signature covers the batch).
    const relabelled = keyShareMessageOf({ ...early, batch: 60 });
    assert.equal(verifyEarlyKeyShare({ share: relabelled, finalizedHeightAtRecord: 50 }, context), undefined);
  });

  it('f colluders pooling their statements before finality learn nothing: no keys, and interpolating theirs is wrong', () => {
    const height = 52;
    const identities = identitiesOf(2);
    const pooled = [0, 1].map((i) => release(i, height, identities));
    assert.equal(combineBatchKeyShares(pooled, THRESHOLD), undefined);
    const guess = combineBatchKeyShares(pooled, F);
    assert.ok(guess !== undefined);
    assert.equal(isBatchKey(identities, guess, keyset.eonPublicKey), false);
  });

  it('an envelope no block admitted gets no key: the keys of its batch-mates do not open it', () => {
    const height = 53;
    const [admitted, leftOut] = [orders(2), orders(1, 1000, 2)];
    const identities = batchIdentities(admitted)!;
    const collector = createBatchKeyCollector(context, height, identities);
    for (const i of [0, 1, 2, 3, 4]) collector.offer(release(i, height, identities));
    const combined = collector.combine();
    assert.ok(combined.ok);
    // The left-out envelope under each released key: undecryptable, however the keys are lined up.
    for (const index of [0, 1]) {
      const opened = openEncryptedBatch({
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey: keyset.eonPublicKey,
        height,
        envelopes: index === 0 ? [leftOut[0]!, admitted[1]!] : [admitted[0]!, leftOut[0]!],
        key: combined.key,
        nextNonce: () => (index === 0 ? 2 : 0),
      });
      // The keys are not the keys of this list's identities: nothing opens, nothing is charged.
      assert.deepEqual(opened, { ok: false, code: 'BAD_KEY' });
    }
    assert.notEqual(
      toHex(identityOfEnvelope(SignedOrderEnvelopeCodec.decode(leftOut[0]!).body)),
      toHex(identities[0]!),
    );
  });
});

describe('statements riding on votes (the relay)', () => {
  const relays = Array.from({ length: COUNT }, (_, i) =>
    createKeyShareRelay({ context, self: i, secretShare: secretShares[i]!, signer: signers[i]! }),
  );

  it('attaches nothing for a batch not final or not open, then its statement; 2f + 1 relayed statements give the keys once final', () => {
    const height = 100;
    const identities = identitiesOf(16);
    for (const relay of relays) assert.equal(relay.attach(height, height), undefined, 'not open yet');
    for (const relay of relays) relay.open(height, identities);
    for (const relay of relays) assert.equal(relay.attach(height, height - 1), undefined);
    const attached = relays.slice(1, THRESHOLD).map((relay) => relay.attach(height, height)!);
    // A full batch's statement fits a vote extension beside the largest observation: were it not,
    // the shares could never ride a vote and the batch would never open (the chain would halt).
    for (const bytes of attached) assert.ok(bytes.length <= MAX_KEY_SHARE_ATTACHMENT_BYTES);
    assert.ok(
      keyShareExtensionOverhead(1) + SignedObservationCodec.maxBytes + MAX_KEY_SHARE_ATTACHMENT_BYTES <=
        MAX_EXTENSION_BYTES - VOTE_EXTENSION_OVERHEAD_BYTES,
    );
    const us = relays[0]!;
    assert.ok(us.attach(height, height) !== undefined);
    for (const bytes of attached)
      assert.deepEqual(us.receive(bytes, height), { ok: true, held: attached.indexOf(bytes) + 2 });
    assert.equal(us.key(height, height - 1), undefined, 'never combined before finality');
    const outcome = us.key(height, height);
    assert.ok(outcome?.ok);
    assert.ok(isBatchKey(identities, outcome.key, keyset.eonPublicKey));
    assert.deepEqual(us.evidence, []);
  });

  it('statements that arrive before their batch is open here wait, and count once it opens', () => {
    const height = 102;
    const identities = identitiesOf(2);
    const peers = [1, 2, 3, 4].map((i) => {
      const relay = createKeyShareRelay({
        context,
        self: i,
        secretShare: secretShares[i]!,
        signer: signers[i]!,
      });
      relay.open(height, identities);
      return relay.attach(height, height)!;
    });
    const us = createKeyShareRelay({ context, self: 0, secretShare: secretShares[0]!, signer: signers[0]! });
    for (const bytes of peers) assert.deepEqual(us.receive(bytes, height), { ok: true, held: 0 });
    assert.deepEqual(us.receive(peers[0]!, height), { ok: false, code: 'DUPLICATE' });
    // A forged one is refused at once, before the batch is known.
    const forged = SignedKeyShareCodec.decode(peers[1]!);
    forged.signature = new Uint8Array(64);
    assert.deepEqual(us.receive(SignedKeyShareCodec.encode(forged), height), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
    assert.equal(us.held(height), 0);
    us.open(height, identities);
    assert.equal(us.held(height), 4);
    us.attach(height, height);
    const outcome = us.key(height, height);
    assert.ok(outcome?.ok);
    assert.ok(isBatchKey(identities, outcome.key, keyset.eonPublicKey));
  });

  it('a peer whose vote carries a statement for a block not yet final is caught: the evidence names it', () => {
    const height = 101;
    const identities = identitiesOf(1);
    // Validator 6 tells its guard the block is final when the chain's finalized height is 100.
    relays[6]!.open(height, identities);
    const early = relays[6]!.attach(height, height)!;
    const us = relays[0]!;
    assert.deepEqual(us.receive(early, height - 1), { ok: true, held: 0, early: true });
    assert.equal(us.evidence.length, 1);
    assert.equal(verifyEarlyKeyShare(us.evidence[0]!, context), 6);
  });
});

describe('front-runner leader against envelopes', () => {
  const victim = testSigner('fair/victim');
  const leader = testSigner('fair/leader');
  const engine = createEngine(testGenesis({ traders: [victim, leader] }));
  const seriesId = 1;
  const large = (side: 'buy' | 'sell') => limitOrder(seriesId, side, 100, 1); // 1 contract ≥ LARGE_ORDER_E6
  const payloadOf = (transactions: Uint8Array[]) =>
    BlockPayloadCodec.encode({
      envelopes: [],
      batchKeys: [],
      earlyShares: [],
      eonActivations: [],
      timeMs: 1,
      transactions,
      observations: [],
      deposits: [],
      stateRootHeight: 0,
      stateRoot: new Uint8Array(32),
    });
  const sealed = (side: 'buy' | 'sell') =>
    encrypt(victim, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey.toBytes(true),
      expiryHeight: 60,
      nonce: 0,
      fee: 100,
      action: large(side),
    });

  it('sandwiches a plain large order (the control: the attack is real)', () => {
    const runner = createFrontRunner({
      signer: leader,
      chainId: CHAIN_ID,
      strategy: 'sandwich',
      censored: victim.publicKey,
    });
    const plain = payloadOf([SignedTransactionCodec.encode(actionTransaction(victim, 0, large('buy')))]);
    const rewritten = BlockPayloadCodec.decode(runner.rewrite(plain, engine));
    assert.equal(runner.stats.frontRun, 1);
    assert.equal(rewritten.transactions.length, 4);
  });

  it('cannot condition on the side: a buy and a sell envelope look alike and the sandwich passes both through untouched', () => {
    const buy = sealed('buy');
    const sell = sealed('sell');
    const publicView = (bytes: Uint8Array) => {
      const { body, ciphertext } = SignedOrderEnvelopeCodec.decode(bytes);
      return {
        ...body,
        identityPrefix: undefined,
        ciphertextHash: undefined,
        ciphertextLength: ciphertext.length,
        signature: undefined,
      };
    };
    // Everything the leader can read without the key is the same for both sides (the prefix is
    // fresh random bytes, and the hash and the signature are functions of uniformly random
    // ciphertext bytes).
    assert.deepEqual(publicView(buy), publicView(sell));
    assert.equal(buy.length, sell.length);
    const runner = createFrontRunner({
      signer: leader,
      chainId: CHAIN_ID,
      strategy: 'sandwich',
      censored: victim.publicKey,
    });
    for (const envelope of [buy, sell]) {
      const payload = payloadOf([envelope]);
      assert.deepEqual(runner.rewrite(payload, engine), payload);
    }
    // Zero trades inserted, so zero profit on either side: a strategy that reads only what is
    // public chooses the same for buy and sell, and its expected edge over a hidden side is zero.
    assert.equal(runner.stats.frontRun, 0);
  });

  it('can still censor by sender: the envelope names it (the limit of encryption)', () => {
    const payload = BlockPayloadCodec.decode(payloadOf([sealed('buy')]));
    const censored = payload.transactions.filter(
      (bytes) => !Buffer.from(SignedOrderEnvelopeCodec.decode(bytes).body.sender).equals(victim.publicKey),
    );
    assert.equal(censored.length, 0);
  });
});

describe("the flow against Shutter's SDK (@shutter-network/shutter-sdk 0.0.2, blst WASM)", () => {
  type Hex = `0x${string}`;
  const sdk = createRequire(import.meta.url)('@shutter-network/shutter-sdk') as {
    encryptData(message: Hex, identityPreimage: Hex, eonKey: Hex, sigma: Hex): Promise<Hex>;
    decrypt(ciphertext: Hex, key: Hex): Promise<Hex>;
  };
  const hexOf = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString('hex')}`;
  const height = 70;
  const keysOf = (envelopes: readonly Uint8Array[]) => {
    const identities = batchIdentities(envelopes)!;
    const collector = createBatchKeyCollector(context, height, identities);
    for (const i of [6, 2, 4, 0, 5]) collector.offer(release(i, height, identities));
    const combined = collector.combine();
    assert.ok(combined.ok);
    return combined.key;
  };

  it("an order the SDK encrypts to our eon key and the envelope's identity executes through our rule", async () => {
    const transaction = actionTransaction(alice, 0, limitOrder(1, 'sell', 120, 2));
    const identityPrefix = new Uint8Array(randomBytes(32));
    const ciphertext = Buffer.from(
      (
        await sdk.encryptData(
          hexOf(SignedTransactionCodec.encode(transaction)),
          hexOf(envelopeIdentity(CHAIN_ID, alice.publicKey, identityPrefix)),
          hexOf(keyset.eonPublicKey.toBytes(true)),
          hexOf(new Uint8Array(randomBytes(32))),
        )
      ).slice(2),
      'hex',
    );
    const body = {
      chainId: CHAIN_ID,
      sender: alice.publicKey,
      nonce: 0,
      fee: 100,
      eon: EON,
      identityPrefix,
      expiryHeight: height,
      ciphertextBytes: ciphertext.length,
      ciphertextHash: sha256(new Uint8Array(ciphertext)),
    };
    const envelope = SignedOrderEnvelopeCodec.encode({
      body,
      signature: alice.sign(envelopeSigningBytes(body)),
      ciphertext: new Uint8Array(ciphertext),
    });
    const opened = openEncryptedBatch({
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey,
      height,
      envelopes: [envelope],
      key: keysOf([envelope]),
      nextNonce: () => 0,
    });
    assert.ok(opened.ok);
    assert.deepEqual(
      opened.transactions.map((t) => SignedTransactionCodec.encode(t)),
      [SignedTransactionCodec.encode(transaction)],
    );
  });

  it("the client's encrypted order opens in the SDK with our threshold-combined key", async () => {
    const action = limitOrder(1, 'buy', 90, 3);
    const bytes = encrypt(alice, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey.toBytes(true),
      expiryHeight: height,
      nonce: 4,
      fee: 100,
      action,
    });
    const envelope = SignedOrderEnvelopeCodec.decode(bytes);
    const plaintext = await sdk.decrypt(hexOf(envelope.ciphertext), hexOf(keysOf([bytes])));
    const transaction = SignedTransactionCodec.decode(new Uint8Array(Buffer.from(plaintext.slice(2), 'hex')));
    assert.deepEqual(transaction.body.signer, alice.publicKey);
    assert.equal(transaction.body.nonce, 4);
  });
});

describe("the front-runner's profit, executed by the engine", () => {
  // One series whose mark is exactly its intrinsic value: a call struck at 50,000 with the index at
  // 60,000 and a 0.01% mark volatility, 1-contract lots, 1 USDC ticks (as src/execution/engine.test.ts).
  const START = Date.UTC(2026, 0, 1);
  const maker = testSigner('profit/maker');
  const victim = testSigner('profit/victim');
  const leader = testSigner('profit/leader');
  const genesis = () => {
    const g = testGenesis({
      startTimeMs: START,
      traders: [maker, victim, leader],
      series: [
        {
          underlyingId: 1,
          isCall: true,
          strike: 50_000 * USDC,
          expiryMs: START + MS_PER_DAY,
          tickSize: USDC,
          lotSizeE6: 1_000_000,
          multiplierE6: 1_000_000,
        },
      ],
      underlying: { defaultVolBps: 1 },
    });
    return g;
  };
  const oracle = [{ underlyingId: 1, price: 60_000 * USDC, confidence: 0, publishTimeMs: 0, stale: false }];
  const ask = actionTransaction(maker, 0, limitOrder(1, 'sell', 10_000, 1));
  const take = limitOrder(1, 'buy', 10_500, 1); // the victim's large buy, limit 500 above the ask

  /** The leader's gain over the run: balance change (its position ends flat). */
  function run(secondBlock: (engine: ReturnType<typeof createEngine>) => Uint8Array[]) {
    const engine = createEngine(genesis());
    engine.applyBlock({ height: 1, timeMs: START + 1000, transactions: [ask], oracle });
    const before = engine.account(leader.publicKey)!.balance;
    const runner = createFrontRunner({
      signer: leader,
      chainId: CHAIN_ID,
      strategy: 'sandwich',
      censored: victim.publicKey,
    });
    const proposed = BlockPayloadCodec.decode(
      runner.rewrite(
        BlockPayloadCodec.encode({
          envelopes: [],
          batchKeys: [],
          earlyShares: [],
          eonActivations: [],
          timeMs: 0,
          transactions: secondBlock(engine),
          observations: [],
          deposits: [],
          stateRootHeight: 0,
          stateRoot: new Uint8Array(32),
        }),
        engine,
      ),
    ).transactions;
    return { engine, proposed, before, runner };
  }

  it('plain: the sandwich takes the ask and sells it to the victim at its limit, a measured profit', () => {
    const { engine, proposed, before, runner } = run(() => [
      SignedTransactionCodec.encode(actionTransaction(victim, 0, take)),
    ]);
    engine.applyBlock({
      height: 2,
      timeMs: START + 2000,
      transactions: proposed.map((bytes) => SignedTransactionCodec.decode(bytes)),
      oracle,
    });
    const leaderAfter = engine.account(leader.publicKey)!;
    const profit = Number(leaderAfter.balance - before) / USDC;
    assert.equal(runner.stats.frontRun, 1);
    assert.deepEqual(
      leaderAfter.positions.filter((p) => p.lots !== 0),
      [],
    );
    // Bought at 10,000, sold at 10,500, two fills' fees (at most 18 USDC each: 3 bps of 60,000).
    assert.ok(profit > 450 && profit <= 500, `profit ${profit} USDC`);
    console.log(`front-runner, plain orders: profit ${profit} USDC on one sandwich`);
  });

  it('encrypted: it proposes the envelope untouched, the block opens after finality, and its profit is exactly zero', () => {
    const height = 2;
    const { engine, proposed, before, runner } = run(() => [
      encrypt(victim, {
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey: keyset.eonPublicKey.toBytes(true),
        expiryHeight: height,
        nonce: 0,
        fee: 0,
        action: take,
      }),
    ]);
    assert.equal(runner.stats.frontRun, 0);
    const identities = batchIdentities(proposed)!;
    const collector = createBatchKeyCollector(context, height, identities);
    for (const i of [0, 1, 2, 3, 4]) collector.offer(release(i, height, identities));
    const combined = collector.combine();
    assert.ok(combined.ok);
    const opened = openEncryptedBatch({
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey,
      height,
      envelopes: proposed,
      key: combined.key,
      nextNonce: (sender) => engine.account(sender)?.nonce ?? 0,
    });
    assert.ok(opened.ok);
    assert.equal(opened.transactions.length, 1);
    engine.applyBlock({ height, timeMs: START + 2000, transactions: [...opened.transactions], oracle });
    // The victim's order ran (it bought the ask), and the leader traded nothing.
    assert.deepEqual(
      engine.account(victim.publicKey)!.positions.filter((p) => p.lots !== 0),
      [{ seriesId: 1, lots: 1 }],
    );
    assert.equal(engine.account(leader.publicKey)!.balance - before, 0n);
    console.log('front-runner, encrypted orders: profit 0 USDC');
  });
});
