/**
 * The eon keyset follows the validator epochs (src/chain/eon-schedule.ts), in the block rule, attacks first.
 * Five genesis validators; governance removes V4 at boundary 20 (E = 20), so W_0 = [1, 19] is eon
 * 1 among V0–V4 and W_1 = [20, 39] is eon 2 among V0–V3, made by its own DKG and recorded on chain.
 *
 *   1. the removed V4 and f = 1 current validator cannot open a W_1 block: V4's eon-1 share does not
 *      combine with eon-2 shares, is refused by an eon-2 collector, and an eon-1 key opens nothing
 *      encrypted to eon 2;
 *   2. a forged activation (too few attestations, the old set's, a key other than the attested one,
 *      a window whose set is not settled yet) is refused by verifiers and records nothing when
 *      executed;
 *   3. an envelope for eon 1 targeting a W_1 height is refused by verifiers and dropped on execution;
 *   4. with no eon recorded by the boundary, plain blocks run on across it, envelopes for W_1 are
 *      refused (eon-key-pending) and none is admitted; a late record applies from the next block;
 *   and the recorded eons survive a snapshot with the state root.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type ChainRules,
  type ChainState,
  chainStateRoot,
  createChainState,
  executeBlock,
  restoreChainSnapshot,
  snapshotChainState,
} from '../chain/block-rule.ts';
import { batchIdentities } from '../chain/encrypted-batch.ts';
import { eonActivationOf, eonAt, windowSetKeys } from '../chain/eon-schedule.ts';
import { eonScheduleRules, fairPayloadProblem } from '../chain/fair-batches.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { VALIDATOR_CHANGE } from '../codec/execution.ts';
import { type BatchKey, type BlockPayload, BlockPayloadCodec, noFairOrdering } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sealOrder } from '../crypto/shutter/envelope.ts';
import { type EonAgreement, eonThreshold, runLocalEonKeygen } from '../crypto/shutter/eon-keygen.ts';
import { shutterDecryptBytes } from '../crypto/shutter/ibe.ts';
import {
  combineBatchKeyShares,
  releaseBatchKeyShares,
  type SignedKeyShare,
} from '../crypto/shutter/key-shares.ts';
import { nobleBackend } from '../crypto/shutter/pairing-backend.ts';
import {
  actionTransaction,
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  limitOrder,
  testGenesis,
  testGovernance,
  testSigner,
  USDC,
} from '../execution/fixtures.ts';
import { MS_PER_DAY } from '../execution/margin.ts';
import { createBatchKeyCollector } from './fair-ordering.ts';
import { createEnvelopePool } from './fair-ordering-pool.ts';

const CHAIN_ID = 7;
const E = 20;
const START = Date.UTC(2026, 0, 1);
const genesisSigners = Array.from({ length: 5 }, (_, i) => testSigner(`eon-epochs/validator-${i}`));
const REMOVED = 4;
const nextSigners = genesisSigners.slice(0, 4);
const trader = testSigner('eon-epochs/trader');
const maker = testSigner('eon-epochs/maker');

function dkg(eon: number, signers: readonly Ed25519Signer[]): EonAgreement[] {
  const validatorKeys = signers.map((s) => s.publicKey);
  return runLocalEonKeygen(
    { chainId: CHAIN_ID, eon, validatorKeys, threshold: eonThreshold(validatorKeys.length) },
    signers.map((signer, index) => ({ index, signer })),
  );
}

const eon1 = dkg(1, genesisSigners);
const eon2 = dkg(2, nextSigners);
const eon3 = dkg(3, nextSigners);

function rules(): ChainRules {
  return {
    chainId: CHAIN_ID,
    validators: genesisSigners.map((s) => s.publicKey),
    assets: [],
    engineGenesis: {
      ...testGenesis({
        chainId: CHAIN_ID,
        startTimeMs: START,
        governance: testGovernance({ timelockMs: 0 }),
        traders: [trader, maker],
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
      }),
      validatorSet: {
        epochBlocks: E,
        members: genesisSigners.map((s, i) => ({
          publicKey: s.publicKey,
          p2p: `127.0.0.1:${34_100 + i}`,
          api: `http://127.0.0.1:${34_200 + i}`,
        })),
      },
    },
    fairOrdering: { eon: 1, eonEpochBlocks: E },
  };
}

function block(state: ChainState, fields: Partial<BlockPayload> = {}, batchKey?: Uint8Array) {
  const height = state.engine.height + 1;
  const payload = BlockPayloadCodec.encode({
    timeMs: START + height * 1000,
    transactions: [],
    observations: [],
    deposits: [],
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
    ...noFairOrdering(),
    ...fields,
  });
  return executeBlock(state, { height, payload, ...(batchKey === undefined ? {} : { batchKey }) });
}

const removal = () =>
  SignedTransactionCodec.encode(
    createTransactionBuilder().next(
      GOVERNANCE,
      governed({
        kind: 'changeValidators',
        value: {
          op: VALIDATOR_CHANGE.remove,
          publicKey: genesisSigners[REMOVED]!.publicKey,
          p2p: new Uint8Array(0),
          api: new Uint8Array(0),
        },
      }),
    ),
  );

/**
 * Block 1 records eon 1 (W_0's keyset, the genesis validators' DKG) and schedules V4's removal for
 * boundary 20; the chain then runs to `height`.
 */
function chainTo(height: number): ChainState {
  const state = createChainState(rules());
  const first = block(state, { transactions: [removal()], eonActivations: [activation(eon1, 1)] });
  assert.equal(first.result.results[0]!.status, 'OK');
  assert.equal(state.eons?.[0]?.fromHeight, 2, 'W_0 applies from the block after its record');
  assert.equal(state.engine.validatorSet()!.pending?.effectiveHeight, 20);
  while (state.engine.height < height) block(state);
  return state;
}

const activation = (agreements: EonAgreement[], eon: number, attestations?: readonly Uint8Array[]) =>
  eonActivationOf(
    eon,
    agreements[0]!.keyset.qualified,
    agreements[0]!.commitment,
    attestations ?? agreements[0]!.attestations,
  );

function share(
  agreements: EonAgreement[],
  eon: number,
  index: number,
  signer: Ed25519Signer,
  batch: number,
  envelopes: readonly Uint8Array[],
) {
  const released = releaseBatchKeyShares(
    { chainId: CHAIN_ID, eon, validatorIndex: index, secretShare: agreements[index]!.secretShare, signer },
    { batch, finalizedHeight: batch, identities: batchIdentities(envelopes)! },
  );
  assert.ok(released.ok);
  return released.share;
}

/** Batch `height`'s keys (its envelopes `envelopes`) from keypers 0–2 of `agreements` (eon `eon`). */
function keyOf(
  agreements: EonAgreement[],
  eon: number,
  signers: readonly Ed25519Signer[],
  height: number,
  envelopes: readonly Uint8Array[],
): BatchKey {
  const shares = [0, 1, 2].map((i) => share(agreements, eon, i, signers[i]!, height, envelopes));
  const combined = combineBatchKeyShares(shares, 3);
  assert.ok(combined !== undefined);
  return { height, key: combined };
}

function envelope(eon: number, agreements: EonAgreement[], expiryHeight: number, nonce = 0) {
  return SignedOrderEnvelopeCodec.encode(
    sealOrder(trader, {
      chainId: CHAIN_ID,
      eon,
      eonPublicKey: agreements[0]!.keyset.eonPublicKey,
      identityPrefix: new Uint8Array(randomBytes(32)),
      expiryHeight,
      fee: USDC,
      transaction: actionTransaction(trader, nonce, limitOrder(1, 'buy', 100, 1)),
      sigma: new Uint8Array(randomBytes(32)),
    }),
  );
}

/** The verifier's context at its executed state. */
const verifierContext = (state: ChainState) => ({
  ...state.rules,
  eons: state.eons ?? [],
  executedHeight: state.engine.height,
  committed: state.engine.validatorSet()!,
});

const payloadOf = (fields: Partial<BlockPayload>) => ({ ...noFairOrdering(), ...fields });

describe('the eon keyset follows the validator epochs (adversary first)', () => {
  it('the window sets: W_1 is the set after the removal, settled once the change is pending', () => {
    const state = chainTo(3);
    const keys = windowSetKeys(E, state.engine.validatorSet()!, 3, 1)!;
    assert.deepEqual(
      keys.map((k) => Buffer.from(k).toString('hex')),
      nextSigners.map((s) => Buffer.from(s.publicKey).toString('hex')),
    );
    // Without a pending change, a set is settled only once no change can be scheduled for it.
    const quiet = createChainState(rules());
    block(quiet);
    assert.equal(windowSetKeys(E, quiet.engine.validatorSet()!, 1, 1), undefined, 'a change may still come');
    while (quiet.engine.height < 5) block(quiet);
    assert.equal(windowSetKeys(E, quiet.engine.validatorSet()!, 5, 1)!.length, 5, 'settled after 20 − 16');
  });

  it('1: the removed validator and f current ones cannot open a new-eon block', () => {
    const height = 21;
    const order = envelope(2, eon2, height);
    const ciphertext = SignedOrderEnvelopeCodec.decode(order).ciphertext;
    // V4's share of eon 1 and V0's share of eon 2: an eon-2 collector takes V0's only.
    const context = {
      chainId: CHAIN_ID,
      eon: 2,
      threshold: eon2[0]!.keyset.threshold,
      eonPublicKey: eon2[0]!.keyset.eonPublicKey,
      validatorKeys: nextSigners.map((s) => s.publicKey),
      publicShares: eon2[0]!.keyset.publicShares,
    };
    const collector = createBatchKeyCollector(context, height, batchIdentities([order])!);
    const removedShare = share(eon1, 1, REMOVED, genesisSigners[REMOVED]!, height, [order]);
    assert.deepEqual(collector.offer(removedShare), { ok: false, code: 'WRONG_EON' });
    // Relabelled as an eon-2 share it has no keyper behind it (W_1 has four: indices 0–3), and
    // under a keyper's index it is not that keyper's signature.
    assert.deepEqual(collector.offer({ ...removedShare, eon: 2 }), { ok: false, code: 'UNKNOWN_VALIDATOR' });
    assert.deepEqual(collector.offer({ ...removedShare, eon: 2, validatorIndex: 3 }), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
    assert.equal(collector.offer(share(eon2, 2, 0, nextSigners[0]!, height, [order])).ok, true);
    assert.equal(collector.combine().ok, false, 'one eon-2 share is not a key');
    // Even interpolated by hand with the coalition's shares, the key opens nothing.
    const mixed: SignedKeyShare[] = [
      share(eon2, 2, 0, nextSigners[0]!, height, [order]),
      { ...removedShare, validatorIndex: 1 },
      { ...share(eon1, 1, 0, genesisSigners[0]!, height, [order]), validatorIndex: 2 },
    ];
    const forced = combineBatchKeyShares(mixed, 3);
    assert.ok(forced !== undefined);
    assert.equal(shutterDecryptBytes(ciphertext, forced, nobleBackend).ok, false);
    // Three eon-1 shares (V4 with two more old keypers) make the eon-1 key of that height: useless
    // on an eon-2 ciphertext, and the rule never admits an eon-1 envelope there (test 3).
    const oldKey = keyOf(eon1, 1, genesisSigners, height, [order]);
    assert.equal(shutterDecryptBytes(ciphertext, oldKey.key, nobleBackend).ok, false);
    const newKey = keyOf(eon2, 2, nextSigners, height, [order]);
    assert.equal(shutterDecryptBytes(ciphertext, newKey.key, nobleBackend).ok, true, 'the control opens');
  });

  it('2: a forged activation is refused by verifiers and records nothing', () => {
    const state = chainTo(5);
    const height = 6;
    const judge = (bytes: Uint8Array) =>
      fairPayloadProblem(verifierContext(state), height, payloadOf({ eonActivations: [bytes] }));
    const few = activation(eon2, 2, eon2[0]!.attestations.slice(0, 2));
    assert.equal(judge(few), 'eon-activation-bad-attestations', 'fewer than n − f of the next set');
    const oldSet = dkg(2, genesisSigners);
    assert.equal(judge(activation(oldSet, 2)), 'eon-activation-bad-attestations', "the old set's DKG");
    const otherKey = eonActivationOf(
      2,
      eon2[0]!.keyset.qualified,
      eon3[0]!.commitment,
      eon2[0]!.attestations,
    );
    assert.equal(judge(otherKey), 'eon-activation-bad-attestations', 'a key other than the attested one');
    assert.equal(judge(activation(eon3, 3)), 'eon-activation-wrong-eon', 'two windows ahead');
    assert.equal(judge(new Uint8Array([1, 2, 3])), 'eon-activation-malformed');
    for (const forged of [few, activation(oldSet, 2), otherKey]) {
      block(state, { eonActivations: [forged] });
      assert.deepEqual(
        state.eons!.map((e) => e.eon),
        [1],
        'executed, a forged record records nothing',
      );
    }
    // The genuine one passes and is recorded once.
    assert.equal(
      fairPayloadProblem(verifierContext(state), 9, payloadOf({ eonActivations: [activation(eon2, 2)] })),
      undefined,
    );
    block(state, { eonActivations: [activation(eon2, 2)] });
    assert.deepEqual(
      state.eons!.map((e) => e.eon),
      [1, 2],
    );
    assert.equal(
      fairPayloadProblem(verifierContext(state), 10, payloadOf({ eonActivations: [activation(eon2, 2)] })),
      'eon-activation-recorded',
    );
    // Unsettled: on a chain without a pending change, W_1's set at height 2 may still change.
    const quiet = createChainState(rules());
    block(quiet, { eonActivations: [activation(eon1, 1)] });
    const quietEon2 = dkg(2, genesisSigners);
    assert.equal(
      fairPayloadProblem(
        verifierContext(quiet),
        2,
        payloadOf({ eonActivations: [activation(quietEon2, 2)] }),
      ),
      'eon-activation-set-unsettled',
    );
  });

  it('3: an old-eon envelope for a new-eon height is refused by verifiers, the pool and execution', () => {
    const state = chainTo(5);
    block(state, { eonActivations: [activation(eon2, 2)] });
    while (state.engine.height < 20) block(state);
    const stale = envelope(1, eon1, 21);
    assert.equal(
      fairPayloadProblem(verifierContext(state), 21, payloadOf({ envelopes: [stale] })),
      'envelope-wrong-eon',
    );
    const fair = state.rules.fairOrdering!;
    const pool = createEnvelopePool({
      chainId: CHAIN_ID,
      eon: 1,
      eonAt: (target) => eonAt(eonScheduleRules(fair, state.rules.validators), state.eons ?? [], target)?.eon,
      aheadMax: 8,
      maxEnvelopes: 16,
      maxPerSender: 4,
      nextNonce: () => 0,
    });
    assert.deepEqual(pool.submit(stale, 21), { ok: false, code: 'WRONG_EON' });
    // A Byzantine leader slips it in anyway: dropped, uncharged, no batch waits for an eon-1 key.
    const before = state.engine.account(trader.publicKey)!.balance;
    const executed = block(state, { envelopes: [stale] });
    assert.equal(executed.fair.admitted, 0);
    assert.equal(state.pending.length, 0);
    assert.equal(state.engine.account(trader.publicKey)!.balance, before);
    // The right eon is taken, and opens under W_1's keypers' key at the next block.
    const fresh = envelope(2, eon2, 22);
    assert.equal(pool.submit(fresh, 22).ok, true);
    assert.equal(
      fairPayloadProblem(verifierContext(state), 22, payloadOf({ envelopes: [fresh] })),
      undefined,
    );
    assert.equal(block(state, { envelopes: [fresh] }).fair.admitted, 1);
    const opened = block(state, {}, keyOf(eon2, 2, nextSigners, 22, [fresh]).key);
    assert.deepEqual(
      opened.fair.opened.map((b) => b.height),
      [22],
    );
    assert.equal(opened.fair.transactions.length, 1, "the order ran under eon 2's key");
  });

  it('4: no eon recorded by the boundary: plain blocks run on, envelopes wait; a late record applies at once', () => {
    const state = chainTo(19);
    const pending = envelope(2, eon2, 30);
    const rulesOf = () => eonScheduleRules(state.rules.fairOrdering!, state.rules.validators);
    const pool = createEnvelopePool({
      chainId: CHAIN_ID,
      eon: 1,
      eonAt: (target) => eonAt(rulesOf(), state.eons ?? [], target)?.eon,
      aheadMax: 8,
      maxEnvelopes: 16,
      maxPerSender: 4,
      nextNonce: () => 0,
    });
    for (let h = 20; h <= 24; h++) {
      assert.equal(eonAt(rulesOf(), state.eons ?? [], h), undefined);
      const executed = block(state, {
        transactions: [
          SignedTransactionCodec.encode(
            actionTransaction(maker, h - 20, { kind: 'cancelAll', value: { seriesId: 1 } }),
          ),
        ],
        envelopes: [envelope(2, eon2, h, 0)],
      });
      assert.equal(executed.result.results[0]!.status, 'OK', 'plain transactions run across the boundary');
      assert.equal(executed.fair.admitted, 0, 'no envelope for a height without an eon');
    }
    assert.deepEqual(pool.submit(pending, 25), { ok: false, code: 'EON_KEY_PENDING' });
    assert.equal(
      fairPayloadProblem(verifierContext(state), 25, payloadOf({ envelopes: [envelope(2, eon2, 25)] })),
      'eon-key-pending',
    );
    // Recorded late, in block 25: it applies from 26, within its window.
    block(state, { eonActivations: [activation(eon2, 2)] });
    assert.equal(state.eons!.find((e) => e.eon === 2)!.fromHeight, 26);
    assert.equal(eonAt(rulesOf(), state.eons!, 25), undefined);
    assert.equal(eonAt(rulesOf(), state.eons!, 26)!.eon, 2);
    const late = envelope(2, eon2, 26);
    assert.equal(block(state, { envelopes: [late] }).fair.admitted, 1);
    assert.equal(block(state, {}, keyOf(eon2, 2, nextSigners, 26, [late]).key).fair.transactions.length, 1);
  });

  it('recorded eons are in the state root and survive a snapshot; they are pruned two windows on', () => {
    const state = chainTo(5);
    const before = chainStateRoot(state);
    block(state, { eonActivations: [activation(eon2, 2)] });
    const withEon = chainStateRoot(state);
    const twin = chainTo(5);
    block(twin);
    assert.notDeepEqual(chainStateRoot(twin), withEon, 'the record changes the root');
    assert.notDeepEqual(before, withEon);
    const restored = restoreChainSnapshot(createChainState(rules()), snapshotChainState(state));
    assert.deepEqual(restored.root, withEon);
    assert.equal(restored.eons[1]!.keyset.eonPublicKey.equals(eon2[0]!.keyset.eonPublicKey), true);
    assert.equal(restored.eons[1]!.keyset.publicShares[3]!.equals(eon2[0]!.keyset.publicShares[3]!), true);
    while (state.engine.height < 40) block(state);
    assert.deepEqual(
      state.eons!.map((e) => e.eon),
      [2],
      'W_0 is two windows back at height 40',
    );
    while (state.engine.height < 60) block(state);
    assert.equal(state.eons!.length, 0, 'W_1 is two windows back at height 60');
  });
});
