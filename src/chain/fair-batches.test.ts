/**
 * Fair ordering in the block rule (./fair-batches.ts, ./block-rule.ts), attacks first:
 *
 * - the leader of the block after an encrypted batch, who would like its own plain transactions
 *   to run ahead of the orders in it (a measured profit when it can; zero because block h + 1
 *   opens h's batch first, and cannot execute without its key or with a wrong one);
 * - a Byzantine leader's envelopes: a sender's nonces repeated or out of order in one block, a
 *   forged signature (refused by verifiers);
 * - the free cancel: a plain transaction reusing an envelope's nonce after the envelope is in;
 *   garbage under a valid envelope; a sender without an account;
 * - a wrong key recorded in a block, early-share evidence, snapshots and the node state root while
 *   a batch waits for the next block.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { EarlyKeyShareCodec, MAX_BATCH_ENVELOPES, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import type { ExecutionAction } from '../codec/execution.ts';
import { type BatchKey, type BlockPayload, BlockPayloadCodec, noFairOrdering } from '../codec/node.ts';
import { SignedObservationCodec } from '../codec/oracle.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { verifyEarlyKeyShare } from '../consensus/evidence.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { envelopeSigningBytes, keyShareMessageOf, sealOrder } from '../crypto/shutter/envelope.ts';
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
import { actionTransaction, limitOrder, testGenesis, testSigner, USDC } from '../execution/fixtures.ts';
import { MS_PER_DAY } from '../execution/margin.ts';
import { signObservation } from '../oracle/observation.ts';
import {
  type ChainRules,
  type ChainState,
  chainStateRoot,
  createChainState,
  executeBlock,
  restoreChainSnapshot,
  snapshotChainState,
} from './block-rule.ts';
import { batchIdentities } from './encrypted-batch.ts';
import { admitEnvelopes, batchKeyNeeded, earlyShareOffender, fairPayloadProblem } from './fair-batches.ts';

const CHAIN_ID = 7;
const EON = 1;
const COUNT = 4;
const THRESHOLD = 3;
const START = Date.UTC(2026, 0, 1);
const validators = Array.from({ length: COUNT }, (_, i) => testSigner(`fair-chain/validator-${i}`));
const dealings = Array.from({ length: COUNT }, (_, j) => dealEon(j, THRESHOLD, COUNT));
const keyset = combineEonKeyset(dealings, THRESHOLD, COUNT);
const secretShares = Array.from({ length: COUNT }, (_, i) => combineEonSecretShare(dealings, i));
const maker = testSigner('fair-chain/maker');
const victim = testSigner('fair-chain/victim');
const leader = testSigner('fair-chain/leader');

function rules(): ChainRules {
  return {
    chainId: CHAIN_ID,
    validators: validators.map((v) => v.publicKey),
    assets: [{ assetId: 1, decimals: 6, underlyingId: 1 }],
    engineGenesis: {
      ...testGenesis({
        chainId: CHAIN_ID,
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
      }),
    },
    fairOrdering: { eon: EON, eonPublicKey: keyset.eonPublicKey, publicShares: keyset.publicShares },
  };
}

/** Validator i's signed statement for `batch` with the batch's `identities` (the batch final). */
function statementOf(i: number, batch: number, identities: readonly Uint8Array[]): SignedKeyShare {
  const released = releaseBatchKeyShares(
    { chainId: CHAIN_ID, eon: EON, validatorIndex: i, secretShare: secretShares[i]!, signer: validators[i]! },
    { batch, finalizedHeight: batch, identities },
  );
  assert.ok(released.ok);
  return released.share;
}

/** The identities of the batch of block `height` pending in `state`. */
function pendingIdentities(state: ChainState, height: number): Uint8Array[] | undefined {
  const batch = state.pending.find((b) => b.height === height);
  return batch === undefined ? undefined : batchIdentities(batch.envelopes);
}

/** Block h's keys, combined from t validators' released statements (h final). */
function keyOf(state: ChainState, height: number): BatchKey {
  const identities = pendingIdentities(state, height);
  assert.ok(identities !== undefined, `batch ${height} is pending`);
  const key = combineBatchKeyShares(
    [0, 1, 2].map((i) => statementOf(i, height, identities)),
    THRESHOLD,
  );
  assert.ok(key !== undefined);
  return { height, key };
}

/** Every validator's signed observation of the underlying at 60,000 for `height`. */
function observations(height: number): Uint8Array[] {
  const timeMs = START + height * 1000;
  return validators.map((signer) =>
    SignedObservationCodec.encode(
      signObservation(signer, {
        chainId: CHAIN_ID,
        height,
        validator: signer.publicKey,
        timestampMs: timeMs,
        entries: [
          {
            assetId: 1,
            priceTicks: 60_000n * BigInt(USDC),
            confidenceTicks: 0n,
            sourceCount: 3,
            sourceTimeMs: timeMs,
          },
        ],
      }),
    ),
  );
}

/** The next block with `fields`; `batchKey` is the key of the batch below it, when one is pending. */
function block(state: ChainState, fields: Partial<BlockPayload> = {}, batchKey?: BatchKey) {
  const height = state.engine.height + 1;
  const payload = BlockPayloadCodec.encode({
    timeMs: START + height * 1000,
    transactions: [],
    observations: observations(height),
    deposits: [],
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
    ...noFairOrdering(),
    ...fields,
  });
  return executeBlock(state, {
    height,
    payload,
    ...(batchKey === undefined ? {} : { batchKey: batchKey.key }),
  });
}

const plain = (signer: Ed25519Signer, nonce: number, action: ExecutionAction) =>
  SignedTransactionCodec.encode(actionTransaction(signer, nonce, action));

function sealed(
  signer: Ed25519Signer,
  nonce: number,
  action: ExecutionAction,
  expiryHeight: number,
  fee = 2 * USDC,
) {
  return SignedOrderEnvelopeCodec.encode(
    sealOrder(signer, {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey,
      identityPrefix: new Uint8Array(randomBytes(32)),
      expiryHeight,
      fee,
      transaction: actionTransaction(signer, nonce, action),
      sigma: new Uint8Array(randomBytes(32)),
    }),
  );
}

const ASK = limitOrder(1, 'sell', 10_000, 1);
const TAKE = limitOrder(1, 'buy', 10_500, 1); // the victim's large buy, 500 above the ask

/** Blocks 1–2: the maker's ask rests, the victim's encrypted buy is in block 2, waiting for block 3. */
function scene() {
  const state = createChainState(rules());
  block(state, { transactions: [plain(maker, 0, ASK)] });
  const leaderBefore = state.engine.account(leader.publicKey)!.balance;
  const victimBefore = state.engine.account(victim.publicKey)!.balance;
  const included = block(state, { envelopes: [sealed(victim, 0, TAKE, 2)] });
  assert.equal(included.fair.admitted, 1);
  return { state, leaderBefore, victimBefore };
}

const lotsOf = (state: ChainState, signer: Ed25519Signer) =>
  state.engine.account(signer.publicKey)!.positions.reduce((sum, p) => sum + p.lots, 0);

describe("the next block's leader against the batch below it (adversary first)", () => {
  // Its sandwich: take the ask at 10,000 and rest a sell at the victim's limit.
  const sandwich = [
    plain(leader, 0, limitOrder(1, 'buy', 10_000, 1)),
    plain(leader, 1, limitOrder(1, 'sell', 10_500, 1)),
  ];

  it('the attack is real when the leader runs ahead of an order it read: a measured profit', () => {
    const state = createChainState(rules());
    block(state, { transactions: [plain(maker, 0, ASK)] });
    const leaderBefore = state.engine.account(leader.publicKey)!.balance;
    // The same buy, readable and after the leader's: what a key in the leader's hands would allow.
    block(state, { transactions: [...sandwich, plain(victim, 0, TAKE)] });
    const profit = Number(state.engine.account(leader.publicKey)!.balance - leaderBefore) / USDC;
    assert.equal(lotsOf(state, leader), 0, 'the leader ends flat');
    assert.ok(profit > 450 && profit <= 500, `profit ${profit} USDC`);
    console.log(`leader ahead of an order it read: profit ${profit} USDC`);
  });

  it("block 3 opens block 2's batch before its own transactions: the victim takes the ask and the leader gains exactly 0", () => {
    const { state, leaderBefore } = scene();
    assert.equal(batchKeyNeeded(state.pending, 3), 2);
    // The leader of 3 proposed before 2 was final; whatever it puts in 3 runs after 2's orders,
    // and it records no key (a record opens nothing).
    const executed = block(state, { transactions: sandwich }, keyOf(state, 2));
    assert.deepEqual(
      executed.fair.opened.map((batch) => batch.height),
      [2],
    );
    assert.equal(executed.result.encryptedResults[0]!.status, 'OK');
    assert.equal(lotsOf(state, victim), 1, 'the victim bought the ask');
    assert.equal(lotsOf(state, leader), 0, 'nothing left for the leader to buy');
    assert.equal(state.engine.account(leader.publicKey)!.balance - leaderBefore, 0n);
    assert.deepEqual(state.pending, []);
    console.log('leader of the next block: profit 0 USDC');
  });

  it("block 3 never executes without block 2's key, nor with a wrong one: the state is untouched", () => {
    const { state } = scene();
    const root = chainStateRoot(state);
    assert.throws(() => block(state, { transactions: sandwich }), /executes only with the key of batch 2/);
    const wrong: BatchKey = { height: 2, key: G1.BASE.multiply(12345n).toBytes(true) };
    assert.throws(() => block(state, { transactions: sandwich }, wrong), /not its key/);
    // The key of another envelope (the victim's own, another prefix) is as wrong.
    const other = envelopeIdentity(CHAIN_ID, victim.publicKey, new Uint8Array(32).fill(1));
    const otherKey = combineBatchKeyShares(
      [0, 1, 2].map((i) => statementOf(i, 2, [other])),
      THRESHOLD,
    )!;
    assert.throws(() => block(state, {}, { height: 2, key: otherKey }), /not its key/);
    assert.deepEqual(chainStateRoot(state), root);
    assert.equal(state.engine.height, 2);
    assert.equal(block(state, {}, keyOf(state, 2)).fair.transactions.length, 1);
  });
});

describe("a Byzantine leader's envelopes", () => {
  const context = () => ({
    chainId: CHAIN_ID,
    validators: rules().validators,
    fairOrdering: rules().fairOrdering!,
  });
  const payloadOf = (envelopes: Uint8Array[]) => ({
    envelopes,
    batchKeys: [],
    earlyShares: [],
    eonActivations: [],
  });

  it("a sender's nonces repeated or out of order in one block are refused; a forged signature too", () => {
    const zero = sealed(victim, 0, TAKE, 4);
    const zeroAgain = sealed(victim, 0, TAKE, 4);
    const one = sealed(victim, 1, TAKE, 4);
    const three = sealed(victim, 3, TAKE, 4);
    assert.equal(fairPayloadProblem(context(), 4, payloadOf([zero, one])), undefined);
    assert.equal(fairPayloadProblem(context(), 4, payloadOf([zero, zeroAgain])), 'envelope-nonce-order');
    assert.equal(fairPayloadProblem(context(), 4, payloadOf([one, zero])), 'envelope-nonce-order');
    assert.equal(fairPayloadProblem(context(), 4, payloadOf([zero, three])), 'envelope-nonce-order');
    // Other senders interleave freely.
    assert.equal(
      fairPayloadProblem(context(), 4, payloadOf([zero, sealed(maker, 0, ASK, 4), one])),
      undefined,
    );
    const forged = SignedOrderEnvelopeCodec.decode(zero);
    const byMallory = SignedOrderEnvelopeCodec.encode({
      ...forged,
      signature: leader.sign(envelopeSigningBytes(forged.body)),
    });
    assert.equal(fairPayloadProblem(context(), 4, payloadOf([byMallory])), 'bad-envelope');
  });

  it('finalized anyway (more than f signed it), a repeat, a gap or a replay runs nothing and is charged nothing', () => {
    const state = createChainState(rules());
    const balance = state.engine.account(victim.publicKey)!.balance;
    // Block 1: nonce 0, a second nonce 0 and a nonce 2 after it: only the first is admitted.
    const first = block(state, {
      envelopes: [sealed(victim, 0, TAKE, 1), sealed(victim, 0, TAKE, 1), sealed(victim, 2, TAKE, 1)],
    });
    assert.equal(first.fair.admitted, 1);
    // Block 2 replays nonce 0 (a retry the victim signed for height 2) and skips to 2: dropped.
    const second = block(
      state,
      { envelopes: [sealed(victim, 0, TAKE, 2), sealed(victim, 2, TAKE, 2)] },
      keyOf(state, 1),
    );
    assert.equal(second.fair.admitted, 0);
    assert.equal(second.fair.transactions.length, 1, "block 1's order ran once");
    assert.deepEqual(state.pending, []);
    assert.equal(state.engine.account(victim.publicKey)!.nonce, 1);
    assert.equal(state.engine.account(victim.publicKey)!.balance < balance, true);
    const afterOne = state.engine.account(victim.publicKey)!.balance;
    block(state);
    assert.equal(
      state.engine.account(victim.publicKey)!.balance,
      afterOne,
      'nothing charged for the dropped ones',
    );
  });
});

describe('no free cancel, and who pays', () => {
  it('the envelope pays its fee and reserves its nonce when included; a plain transaction reusing the nonce is BAD_NONCE', () => {
    const state = createChainState(rules());
    const before = state.engine.account(victim.publicKey)!;
    const included = block(state, {
      envelopes: [sealed(victim, 0, TAKE, 1, 3 * USDC)],
      transactions: [plain(victim, 0, limitOrder(1, 'buy', 9_000, 1))],
    });
    assert.deepEqual(included.result.reservationResults, [{ status: 'RESERVED', charged: BigInt(3 * USDC) }]);
    assert.equal(included.result.results[0]!.status, 'BAD_NONCE');
    const after = state.engine.account(victim.publicKey)!;
    assert.equal(after.nonce, before.nonce + 1);
    assert.equal(after.balance, before.balance - BigInt(3 * USDC));
  });

  it('garbage under a valid envelope pays and runs nothing; an account-less sender and a nonce gap are dropped uncharged', () => {
    const state = createChainState(rules());
    const stranger = testSigner('fair-chain/stranger');
    const garbage = new Uint8Array(1 + 96 + 32 + 64).fill(7);
    garbage[0] = 0x03;
    const body = {
      chainId: CHAIN_ID,
      sender: victim.publicKey,
      nonce: 0,
      fee: USDC,
      eon: EON,
      identityPrefix: new Uint8Array(32).fill(3),
      expiryHeight: 1,
      ciphertextBytes: garbage.length,
      ciphertextHash: sha256(garbage),
    };
    const wrapped = SignedOrderEnvelopeCodec.encode({
      body,
      signature: victim.sign(envelopeSigningBytes(body)),
      ciphertext: garbage,
    });
    const balance = state.engine.account(victim.publicKey)!.balance;
    const first = block(state, {
      envelopes: [wrapped, sealed(stranger, 0, TAKE, 1), sealed(maker, 5, ASK, 1)],
    });
    assert.equal(first.fair.admitted, 1);
    const opened = block(state, {}, keyOf(state, 1));
    assert.equal(opened.fair.opened[0]!.outcomes[0]!.kind, 'charged');
    assert.equal(opened.fair.transactions.length, 0);
    assert.equal(state.engine.account(victim.publicKey)!.balance, balance - BigInt(USDC));
    assert.equal(state.engine.account(victim.publicKey)!.nonce, 1);
    assert.equal(state.engine.account(maker.publicKey)!.nonce, 0);
  });
});

describe('keys, evidence, snapshots', () => {
  it('a wrong key record is refused by verifiers and, in a finalized block, opens nothing and changes nothing', () => {
    const state = createChainState(rules());
    block(state, { envelopes: [sealed(victim, 0, TAKE, 1)] });
    const wrong: BatchKey = { height: 1, key: G1.BASE.multiply(12345n).toBytes(true) };
    const context = {
      chainId: CHAIN_ID,
      validators: rules().validators,
      fairOrdering: rules().fairOrdering!,
    };
    const known = { batchIdentities: (height: number) => pendingIdentities(state, height) };
    const payload = { envelopes: [], batchKeys: [wrong], earlyShares: [], eonActivations: [] };
    assert.equal(fairPayloadProblem(context, 3, payload, known), 'bad-batch-key');
    assert.equal(
      fairPayloadProblem(context, 3, { ...payload, batchKeys: [keyOf(state, 1)] }, known),
      undefined,
    );
    // A verifier that does not know the batch leaves the record to the executors' own check.
    assert.equal(fairPayloadProblem(context, 3, payload), undefined);
    assert.equal(
      fairPayloadProblem(context, 1, { ...payload, batchKeys: [keyOf(state, 1)] }),
      'batch-key-not-below-block',
    );
    assert.equal(
      fairPayloadProblem(context, 3, { ...payload, batchKeys: [keyOf(state, 1), keyOf(state, 1)] }),
      'batch-keys-not-ascending',
    );
    // Records open nothing: block 2 opens batch 1 with the key its executor holds, whatever it records.
    const withWrong = block(state, { batchKeys: [wrong] }, keyOf(state, 1));
    assert.equal(withWrong.fair.transactions.length, 1);
    assert.deepEqual(state.pending, []);
  });

  it('an expired envelope is refused by verifiers and dropped by the rule', () => {
    const context = {
      chainId: CHAIN_ID,
      validators: rules().validators,
      fairOrdering: rules().fairOrdering!,
    };
    const envelope = sealed(victim, 0, TAKE, 7);
    assert.equal(
      fairPayloadProblem(context, 8, {
        envelopes: [envelope],
        batchKeys: [],
        earlyShares: [],
        eonActivations: [],
      }),
      'bad-envelope',
    );
    assert.equal(
      fairPayloadProblem(context, 7, {
        envelopes: [envelope],
        batchKeys: [],
        earlyShares: [],
        eonActivations: [],
      }),
      undefined,
    );
    const state = createChainState(rules());
    assert.equal(block(state, { envelopes: [sealed(victim, 0, TAKE, 0)] }).fair.admitted, 0);
    assert.equal(state.engine.account(victim.publicKey)!.nonce, 0);
    assert.equal(
      fairPayloadProblem({ chainId: CHAIN_ID, validators: [] }, 8, {
        envelopes: [envelope],
        batchKeys: [],
        earlyShares: [],
        eonActivations: [],
      }),
      'fair-ordering-disabled',
    );
  });

  it('early-share evidence names the validator that released a share for a block not yet final', () => {
    const state = createChainState(rules());
    const released = releaseBatchKeyShares(
      {
        chainId: CHAIN_ID,
        eon: EON,
        validatorIndex: 2,
        secretShare: secretShares[2]!,
        signer: validators[2]!,
      },
      // The liar tells its own guard that 5 is final.
      {
        batch: 5,
        finalizedHeight: 5,
        identities: [envelopeIdentity(CHAIN_ID, victim.publicKey, new Uint8Array(32))],
      },
    );
    assert.ok(released.ok);
    const share = keyShareMessageOf(released.share);
    const evidence = EarlyKeyShareCodec.encode({ share, finalizedHeightAtRecord: 0 });
    const context = {
      chainId: CHAIN_ID,
      validators: rules().validators,
      fairOrdering: rules().fairOrdering!,
    };
    assert.equal(
      fairPayloadProblem(context, 1, { envelopes: [], batchKeys: [], earlyShares: [evidence] }),
      undefined,
    );
    assert.deepEqual(block(state, { earlyShares: [evidence] }).fair.earlyShareOffenders, [2]);
    // Recorded at block 6, a share for 5 proves nothing: 5 may be final by then.
    const late = EarlyKeyShareCodec.encode({ share, finalizedHeightAtRecord: 5 });
    assert.equal(
      fairPayloadProblem(context, 6, { envelopes: [], batchKeys: [], earlyShares: [late] }),
      'bad-early-share',
    );
  });

  it('the node state root covers the pending batches, and a snapshot restores them', () => {
    const state = createChainState(rules());
    block(state, { envelopes: [sealed(victim, 0, TAKE, 1)] });
    const root = chainStateRoot(state);
    const restored = restoreChainSnapshot(createChainState(rules()), snapshotChainState(state));
    assert.deepEqual(restored.root, root);
    assert.equal(restored.pending.length, 1);
    const saved = state.pending;
    state.pending = [];
    assert.notDeepEqual(chainStateRoot(state), root, 'dropping a pending batch changes the root');
    state.pending = saved;
  });
});

describe('expiry and the batch bound', () => {
  const chain = () => ({
    chainId: CHAIN_ID,
    genesisValidators: rules().validators,
    fairOrdering: rules().fairOrdering!,
  });
  const accountNonce = () => 0;

  it('an envelope is admitted in any block up to its expiry height and dropped uncharged above it', () => {
    const envelope = sealed(victim, 0, TAKE, 3);
    for (const height of [1, 2, 3]) {
      const admitted = admitEnvelopes(chain(), [], height, [envelope], accountNonce);
      assert.deepEqual(admitted.admitted, [envelope], `height ${height}`);
      assert.equal(admitted.reservations.length, 1);
    }
    assert.deepEqual(admitEnvelopes(chain(), [], 4, [envelope], accountNonce), {
      reservations: [],
      admitted: [],
    });
    // Executed: block 4 drops it, and charges and reserves nothing.
    const state = createChainState(rules());
    for (let h = 1; h <= 3; h++) block(state);
    const before = state.engine.account(victim.publicKey)!;
    const dropped = block(state, { envelopes: [envelope] });
    assert.equal(dropped.fair.admitted, 0);
    assert.deepEqual(state.pending, []);
    const after = state.engine.account(victim.publicKey)!;
    assert.equal(after.balance, before.balance);
    assert.equal(after.nonce, before.nonce);
    // A verifier refuses it at 4, not at 3.
    const payload = (envelopes: Uint8Array[]) => ({
      envelopes,
      batchKeys: [],
      earlyShares: [],
      eonActivations: [],
    });
    const context = {
      chainId: CHAIN_ID,
      validators: rules().validators,
      fairOrdering: rules().fairOrdering!,
    };
    assert.equal(fairPayloadProblem(context, 3, payload([envelope])), undefined);
    assert.equal(fairPayloadProblem(context, 4, payload([envelope])), 'bad-envelope');
  });

  it(`only the first ${MAX_BATCH_ENVELOPES} envelopes of a block are admitted; the rest are not charged and consume no nonce`, () => {
    const count = MAX_BATCH_ENVELOPES + 3;
    const envelopes = Array.from({ length: count }, (_, n) => sealed(victim, n, TAKE, 1, USDC));
    const admitted = admitEnvelopes(chain(), [], 1, envelopes, accountNonce);
    assert.deepEqual(admitted.admitted, envelopes.slice(0, MAX_BATCH_ENVELOPES));
    assert.deepEqual(
      admitted.reservations.map((r) => r.nonce),
      Array.from({ length: MAX_BATCH_ENVELOPES }, (_, n) => n),
    );
    const state = createChainState(rules());
    const before = state.engine.account(victim.publicKey)!;
    const included = block(state, { envelopes });
    assert.equal(included.fair.admitted, MAX_BATCH_ENVELOPES);
    const after = state.engine.account(victim.publicKey)!;
    assert.equal(after.nonce, before.nonce + MAX_BATCH_ENVELOPES);
    assert.equal(after.balance, before.balance - BigInt(MAX_BATCH_ENVELOPES * USDC));
    // The 17th, sent again in the next block, is the sender's next nonce and is admitted there.
    const next = block(
      state,
      { envelopes: [sealed(victim, MAX_BATCH_ENVELOPES, TAKE, 2, USDC)] },
      keyOf(state, 1),
    );
    assert.equal(next.fair.admitted, 1);
    assert.equal(next.fair.opened[0]!.outcomes.length, MAX_BATCH_ENVELOPES);
  });
});

describe('early-share evidence against batch statements (src/consensus/evidence.ts)', () => {
  const identities = [envelopeIdentity(CHAIN_ID, victim.publicKey, new Uint8Array(32).fill(4))];
  const evidenceContext = {
    chainId: CHAIN_ID,
    eon: EON,
    validatorKeys: validators.map((v) => v.publicKey),
    publicShares: keyset.publicShares,
  };
  /** Validator 1's statement for batch 9, signed while the chain had finalized only `finalized`. */
  const leaked = statementOf(1, 9, identities);
  const chain = {
    chainId: CHAIN_ID,
    genesisValidators: rules().validators,
    fairOrdering: rules().fairOrdering!,
  };

  it('convicts its signer when recorded at a finalized height below the batch; not at or above it', () => {
    const share = keyShareMessageOf(leaked);
    for (const finalized of [0, 5, 8])
      assert.equal(verifyEarlyKeyShare({ share, finalizedHeightAtRecord: finalized }, evidenceContext), 1);
    for (const finalized of [9, 10])
      assert.equal(
        verifyEarlyKeyShare({ share, finalizedHeightAtRecord: finalized }, evidenceContext),
        undefined,
      );
    // In a block: recorded at H with finalized H − 1, for a batch ≥ H.
    const at = (height: number, finalized = height - 1) =>
      earlyShareOffender(
        chain,
        height,
        EarlyKeyShareCodec.encode({ share, finalizedHeightAtRecord: finalized }),
      );
    assert.equal(at(9), 1);
    assert.equal(at(10), undefined);
    assert.equal(at(9, 9), undefined, 'a finalized height that is not the chain’s own');
  });

  it('a forged signature convicts no one, nor a statement relabelled to another batch', () => {
    const forged = { ...leaked, signature: validators[0]!.sign(keyShareSigningBytes(leaked)) };
    assert.equal(
      verifyEarlyKeyShare({ share: keyShareMessageOf(forged), finalizedHeightAtRecord: 0 }, evidenceContext),
      undefined,
    );
    // An honest statement for final batch 3, relabelled as for batch 9 (or renamed to another validator).
    const honest = statementOf(2, 3, identities);
    for (const framed of [
      { ...honest, batch: 9 },
      { ...honest, batch: 9, validatorIndex: 0 },
      { ...honest, batch: 9, identitiesRoot: identitiesRoot([new Uint8Array(32)]) },
    ]) {
      assert.equal(
        verifyEarlyKeyShare(
          { share: keyShareMessageOf(framed), finalizedHeightAtRecord: 3 },
          evidenceContext,
        ),
        undefined,
      );
      assert.equal(
        earlyShareOffender(
          chain,
          9,
          EarlyKeyShareCodec.encode({ share: keyShareMessageOf(framed), finalizedHeightAtRecord: 8 }),
        ),
        undefined,
      );
    }
  });
});
