/**
 * Attacks on the key-release side of fair ordering (./fair-ordering.ts), n = 7, f = 2,
 * t = 2f + 1 = 5: f validators send garbage shares, a share for another height, a share released
 * before its block is final, f colluders pooling their shares early. And the front-runner leader
 * (src/sim/adversaries/front-runner.ts) fed envelopes instead of plain transactions.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { isBatchKey, openEncryptedBatch } from '../chain/encrypted-batch.ts';
import { EarlyKeyShareCodec, SignedKeyShareCodec, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { verifyEarlyKeyShare } from '../consensus/evidence.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { envelopeSigningBytes, keyShareMessageOf } from '../crypto/shutter/envelope.ts';
import { combineEonKeyset, combineEonSecretShare, dealEon } from '../crypto/shutter/eon-dkg.ts';
import { G1, shutterIdentityPoint } from '../crypto/shutter/ibe.ts';
import {
  batchIdentity,
  combineKeyShares,
  computeKeyShare,
  keyShareSigningBytes,
  releaseBatchKeyShare,
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

function release(validatorIndex: number, batch: number, finalizedHeight = batch): SignedKeyShare {
  const result = releaseBatchKeyShare(
    {
      chainId: CHAIN_ID,
      eon: EON,
      validatorIndex,
      secretShare: secretShares[validatorIndex]!,
      signer: signers[validatorIndex]!,
    },
    { batch, finalizedHeight },
  );
  assert.ok(result.ok);
  return result.share;
}

/** A share of a random point, signed by its validator: garbage it cannot deny sending. */
function garbage(validatorIndex: number, batch: number): SignedKeyShare {
  const statement = {
    chainId: CHAIN_ID,
    eon: EON,
    batch,
    validatorIndex,
    identity: batchIdentity(CHAIN_ID, batch),
    share: G1.BASE.multiply(BigInt(`0x${Buffer.from(randomBytes(16)).toString('hex')}`) + 1n),
  };
  return { ...statement, signature: signers[validatorIndex]!.sign(keyShareSigningBytes(statement)) };
}

describe('batch key shares', () => {
  it('2f + 1 honest shares (sent as bytes) combine into the key that opens the client-encrypted order', () => {
    const height = 40;
    const envelope = encrypt(alice, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey.toBytes(true),
      targetHeight: height,
      nonce: 0,
      fee: 100,
      action: limitOrder(1, 'buy', 100, 1),
    });
    const collector = createBatchKeyCollector(context, height);
    for (let i = 0; i < THRESHOLD; i++)
      assert.deepEqual(collector.offer(SignedKeyShareCodec.encode(keyShareMessageOf(release(i, height)))), {
        ok: true,
        held: i + 1,
      });
    const combined = collector.combine();
    assert.ok(combined.ok);
    assert.deepEqual(combined.liars, []);
    const opened = openEncryptedBatch({
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey,
      height,
      envelopes: [envelope],
      key: combined.key,
      nextNonce: () => 0,
    });
    assert.ok(opened.ok);
    assert.equal(opened.outcomes[0]!.kind, 'execute');
    assert.deepEqual(opened.transactions[0]!.body.signer, alice.publicKey);
  });

  it('f validators send garbage shares: the key still combines from the honest ones and the liars are named', () => {
    const height = 41;
    const collector = createBatchKeyCollector(context, height);
    // The liars answer first, so a naive "first t shares" combiner would use them.
    collector.offer(garbage(1, height));
    collector.offer(garbage(4, height));
    for (const i of [0, 2, 3, 5, 6]) collector.offer(release(i, height));
    const combined = collector.combine();
    assert.ok(combined.ok);
    assert.deepEqual(
      combined.liars.map((s) => s.validatorIndex),
      [1, 4],
    );
    assert.deepEqual(combined.used, [0, 2, 3, 5, 6]);
    assert.ok(isBatchKey(CHAIN_ID, height, combined.key, keyset.eonPublicKey));
    // A liar cannot try again with a good share once caught.
    assert.deepEqual(collector.offer(release(1, height)), { ok: false, code: 'DUPLICATE' });
  });

  it('on mcl-wasm the collector gives the same key, and a liar among the first t shares is named', async () => {
    const backend = await createMclBackend();
    const height = 43;
    const onMcl = createBatchKeyCollector({ ...context, backend }, height);
    const onNoble = createBatchKeyCollector(context, height);
    // Validator 0's share is wrong and sorts first, so the optimistic t-share combine fails on it.
    for (const collector of [onMcl, onNoble]) {
      collector.offer(garbage(0, height));
      for (const i of [1, 2, 3, 4, 5]) collector.offer(release(i, height));
    }
    const [fromMcl, fromNoble] = [onMcl.combine(), onNoble.combine()];
    assert.ok(fromMcl.ok && fromNoble.ok);
    assert.equal(toHex(fromMcl.key), toHex(fromNoble.key));
    assert.deepEqual(
      fromMcl.liars.map((s) => s.validatorIndex),
      [0],
    );
    assert.ok(isBatchKey(CHAIN_ID, height, fromMcl.key, keyset.eonPublicKey));
  });

  it('with only 2f honest shares beside f garbage ones there is no key, and the liars are still named', () => {
    const height = 42;
    const collector = createBatchKeyCollector(context, height);
    for (const i of [0, 1, 2, 3]) collector.offer(release(i, height));
    collector.offer(garbage(5, height));
    collector.offer(garbage(6, height));
    const combined = collector.combine();
    assert.equal(combined.ok, false);
    assert.deepEqual(
      combined.liars.map((s) => s.validatorIndex),
      [5, 6],
    );
  });

  it('refuses a share for another height, for another identity, badly signed, of an unknown validator, repeated', () => {
    const height = 43;
    const collector = createBatchKeyCollector(context, height);
    assert.deepEqual(collector.offer(release(0, height + 1)), { ok: false, code: 'WRONG_BATCH' });
    // The right batch number on another height's share (the signature is the validator's).
    const other = release(0, height + 1);
    const relabelled = { ...other, batch: height };
    const resigned = { ...relabelled, signature: signers[0]!.sign(keyShareSigningBytes(relabelled)) };
    assert.deepEqual(collector.offer(resigned), { ok: false, code: 'WRONG_IDENTITY' });
    const share = release(2, height);
    assert.deepEqual(
      collector.offer({ ...share, signature: signers[3]!.sign(keyShareSigningBytes(share)) }),
      {
        ok: false,
        code: 'BAD_SIGNATURE',
      },
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
  it('an honest validator refuses to release a share for a block that is not final', () => {
    const result = releaseBatchKeyShare(
      { chainId: CHAIN_ID, eon: EON, validatorIndex: 0, secretShare: secretShares[0]!, signer: signers[0]! },
      { batch: 51, finalizedHeight: 50 },
    );
    assert.deepEqual(result, { ok: false, code: 'BATCH_NOT_FINALIZED', batch: 51, finalizedHeight: 50 });
  });

  it('a share released before its block is final is evidence that verifies and names its signer', () => {
    const early = release(3, 51, 51); // validator 3 lies to its own guard: the chain is final at 50
    const evidence = earlyShareEvidence(early, 50, context);
    assert.ok(evidence !== undefined);
    const decoded = EarlyKeyShareCodec.decode(EarlyKeyShareCodec.encode(evidence));
    assert.equal(verifyEarlyKeyShare(decoded, context), 3);
    // Once the block is final the same share is no evidence.
    assert.equal(earlyShareEvidence(early, 51, context), undefined);
    assert.equal(verifyEarlyKeyShare({ ...decoded, finalizedHeightAtRecord: 51 }, context), undefined);
    // A share "by" validator 3 signed by someone else proves nothing against 3.
    const framed = keyShareMessageOf({ ...early, signature: signers[0]!.sign(keyShareSigningBytes(early)) });
    assert.equal(verifyEarlyKeyShare({ share: framed, finalizedHeightAtRecord: 50 }, context), undefined);
    // Nor does a signed share that is not the batch key's share (garbage is a different fault).
    const wrongPoint = garbage(3, 51);
    assert.equal(
      verifyEarlyKeyShare({ share: keyShareMessageOf(wrongPoint), finalizedHeightAtRecord: 50 }, context),
      undefined,
    );
  });

  it('f colluders pooling their shares before finality learn nothing: no key, and interpolating theirs is wrong', () => {
    const height = 52;
    const identity = shutterIdentityPoint(batchIdentity(CHAIN_ID, height));
    const pooled = [0, 1].map((i) => ({
      validatorIndex: i,
      share: computeKeyShare(secretShares[i]!, identity),
    }));
    assert.deepEqual(combineKeyShares(pooled, THRESHOLD), { ok: false, code: 'TOO_FEW_SHARES', have: F });
    const guess = combineKeyShares(pooled, F);
    assert.ok(guess.ok);
    assert.equal(isBatchKey(CHAIN_ID, height, guess.key.toBytes(true), keyset.eonPublicKey), false);
  });
});

describe('shares riding on votes (the relay)', () => {
  const relays = Array.from({ length: COUNT }, (_, i) =>
    createKeyShareRelay({ context, self: i, secretShare: secretShares[i]!, signer: signers[i]! }),
  );

  it('attaches nothing for a block that is not final, then the share; 2f + 1 relayed shares give the key once final', () => {
    const height = 100;
    for (const relay of relays) assert.equal(relay.attach(height, height - 1), undefined);
    const attached = relays.slice(1, THRESHOLD).map((relay) => relay.attach(height, height)!);
    for (const bytes of attached) assert.ok(bytes.length <= MAX_KEY_SHARE_ATTACHMENT_BYTES);
    const us = relays[0]!;
    assert.ok(us.attach(height, height) !== undefined);
    for (const bytes of attached)
      assert.deepEqual(us.receive(bytes, height), { ok: true, held: attached.indexOf(bytes) + 2 });
    assert.equal(us.key(height, height - 1), undefined, 'never combined before finality');
    const outcome = us.key(height, height);
    assert.ok(outcome?.ok);
    assert.ok(isBatchKey(CHAIN_ID, height, outcome.key, keyset.eonPublicKey));
    assert.deepEqual(us.evidence, []);
  });

  it('a peer whose vote carries a share for a block not yet final is caught: the evidence names it', () => {
    const height = 101;
    // Validator 6 tells its guard the block is final when the chain's finalized height is 100.
    const early = relays[6]!.attach(height, height)!;
    const us = relays[0]!;
    assert.deepEqual(us.receive(early, height - 1), { ok: true, held: 1, early: true });
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
      targetHeight: 60,
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
        ciphertextHash: undefined,
        ciphertextLength: ciphertext.length,
        signature: undefined,
      };
    };
    // Everything the leader can read without the key is the same for both sides (the hash and the
    // signature are functions of uniformly random ciphertext bytes).
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
  const batchKey = () => {
    const collector = createBatchKeyCollector(context, height);
    for (const i of [6, 2, 4, 0, 5]) collector.offer(release(i, height));
    const combined = collector.combine();
    assert.ok(combined.ok);
    return combined.key;
  };

  it('an order the SDK encrypts to our eon key and the block identity executes through our rule', async () => {
    const transaction = actionTransaction(alice, 0, limitOrder(1, 'sell', 120, 2));
    const ciphertext = Buffer.from(
      (
        await sdk.encryptData(
          hexOf(SignedTransactionCodec.encode(transaction)),
          hexOf(batchIdentity(CHAIN_ID, height)),
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
      targetHeight: height,
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
      key: batchKey(),
      nextNonce: () => 0,
    });
    assert.ok(opened.ok);
    assert.deepEqual(
      opened.transactions.map((t) => SignedTransactionCodec.encode(t)),
      [SignedTransactionCodec.encode(transaction)],
    );
  });

  it("the client's encrypted order opens in the SDK with our threshold-combined block key", async () => {
    const action = limitOrder(1, 'buy', 90, 3);
    const envelope = SignedOrderEnvelopeCodec.decode(
      encrypt(alice, {
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey: keyset.eonPublicKey.toBytes(true),
        targetHeight: height,
        nonce: 4,
        fee: 100,
        action,
      }),
    );
    const plaintext = await sdk.decrypt(hexOf(envelope.ciphertext), hexOf(batchKey()));
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
        targetHeight: height,
        nonce: 0,
        fee: 0,
        action: take,
      }),
    ]);
    assert.equal(runner.stats.frontRun, 0);
    const collector = createBatchKeyCollector(context, height);
    for (const i of [0, 1, 2, 3, 4]) collector.offer(release(i, height));
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
