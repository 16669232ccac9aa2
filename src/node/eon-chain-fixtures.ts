/**
 * An honest chain whose eon keyset follows the validator epochs (src/chain/eon-schedule.ts), for
 * the readers that must follow it across eon boundaries: the light client (light-client-eons.test.ts)
 * and state sync (state-sync-eons.test.ts). Five genesis validators, epochs of E = 20 blocks;
 * governance removes V4 in block 1, so boundary 20 hands over to V0–V3.
 *
 *   block 1    records eon 1 (W_0 = [1, 19], the five's DKG), schedules V4's removal for 20
 *   block 6    records eon 2 (W_1 = [20, 39], the four's DKG; the set is settled: the change is pending)
 *   block 24   an order encrypted to eon 2, opened by block 25's key: pending after 24, so the root
 *              boundary 40 commits (after 24) hashes a pending batch as well as the recorded eons
 *   block 30   records eon 3 (W_2 = [40, 59], the four again; settled: no change can come for 40)
 *   block 50   an order encrypted to eon 3, opened by block 51's key
 *
 * Every block is executed by the validators' own block rule and finalized by the first quorum of the
 * set in force; the node's own recorder keeps each boundary's validator-set proof with the
 * fair-ordering parts of the root it opens, and the chain state is snapshotted at `snapshotAt`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  type ChainRules,
  type ChainState,
  chainStateRoot,
  createChainState,
  executeBlock,
  nodeStateRootFairParts,
  snapshotChainState,
  stateRootHeightFor,
} from '../chain/block-rule.ts';
import { batchIdentities } from '../chain/encrypted-batch.ts';
import { eonActivationOf } from '../chain/eon-schedule.ts';
import type { Block } from '../codec/consensus.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { VALIDATOR_CHANGE } from '../codec/execution.ts';
import { type BlockPayload, BlockPayloadCodec, noFairOrdering } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { blockDigest, genesisDigest } from '../consensus/votes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sealOrder } from '../crypto/shutter/envelope.ts';
import { type EonAgreement, eonThreshold, runLocalEonKeygen } from '../crypto/shutter/eon-keygen.ts';
import { combineBatchKeyShares, releaseBatchKeyShares } from '../crypto/shutter/key-shares.ts';
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
import { SimStorage } from '../runtime/sim/storage.ts';
import { finalized } from './epoch-chain-fixtures.ts';
import { createValidatorSetProofs } from './validator-set-proofs.ts';
import { type BlockDetail, hex } from './view.ts';

export const EON_CHAIN_ID = 11;
export const EON_EPOCH_BLOCKS = 20;
const START = Date.UTC(2026, 0, 1);
export const eonValidators = Array.from({ length: 5 }, (_, i) => testSigner(`eon-chain/validator-${i}`));
/** V4, removed by governance at boundary 20. */
export const REMOVED_VALIDATOR = 4;
export const laterValidators = eonValidators.slice(0, 4);
export const eonTrader = testSigner('eon-chain/trader');

/** A local DKG of eon `eon` among `signers` (what the window's keypers run over the network). */
export function eonDkg(eon: number, signers: readonly Ed25519Signer[]): EonAgreement[] {
  const validatorKeys = signers.map((s) => s.publicKey);
  return runLocalEonKeygen(
    { chainId: EON_CHAIN_ID, eon, validatorKeys, threshold: eonThreshold(validatorKeys.length) },
    signers.map((signer, index) => ({ index, signer })),
  );
}

export const eon1 = eonDkg(1, eonValidators);
export const eon2 = eonDkg(2, laterValidators);
export const eon3 = eonDkg(3, laterValidators);

/** The `EonActivation` of an agreement (its attestations, or those given). */
export function activationOf(
  agreements: EonAgreement[],
  eon: number,
  attestations?: readonly Uint8Array[],
): Uint8Array {
  return eonActivationOf(
    eon,
    agreements[0]!.keyset.qualified,
    agreements[0]!.commitment,
    attestations ?? agreements[0]!.attestations,
  );
}

export function eonChainRules(): ChainRules {
  return {
    chainId: EON_CHAIN_ID,
    validators: eonValidators.map((s) => s.publicKey),
    assets: [],
    engineGenesis: {
      ...testGenesis({
        chainId: EON_CHAIN_ID,
        startTimeMs: START,
        governance: testGovernance({ timelockMs: 0 }),
        traders: [eonTrader],
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
        epochBlocks: EON_EPOCH_BLOCKS,
        members: eonValidators.map((s, i) => ({
          publicKey: s.publicKey,
          p2p: `127.0.0.1:${35_100 + i}`,
          api: `http://127.0.0.1:${35_200 + i}`,
        })),
      },
    },
    fairOrdering: { eon: 1, eonEpochBlocks: EON_EPOCH_BLOCKS },
  };
}

/** Batch `height`'s keys (its envelopes `envelopes`) from keypers 0–2 of `agreements`. */
function batchKeyOf(
  agreements: EonAgreement[],
  eon: number,
  signers: readonly Ed25519Signer[],
  height: number,
  envelopes: readonly Uint8Array[],
) {
  const identities = batchIdentities(envelopes)!;
  const shares = [0, 1, 2].map((index) => {
    const released = releaseBatchKeyShares(
      {
        chainId: EON_CHAIN_ID,
        eon,
        validatorIndex: index,
        secretShare: agreements[index]!.secretShare,
        signer: signers[index]!,
      },
      { batch: height, finalizedHeight: height, identities },
    );
    assert.ok(released.ok);
    return released.share;
  });
  const combined = combineBatchKeyShares(shares, agreements[0]!.keyset.threshold);
  assert.ok(combined !== undefined);
  return combined;
}

/** An order of the trader encrypted to eon `eon`, valid up to block `expiryHeight`. */
export function encryptedOrder(eon: number, agreements: EonAgreement[], expiryHeight: number, nonce: number) {
  return SignedOrderEnvelopeCodec.encode(
    sealOrder(eonTrader, {
      chainId: EON_CHAIN_ID,
      eon,
      eonPublicKey: agreements[0]!.keyset.eonPublicKey,
      identityPrefix: new Uint8Array(randomBytes(32)),
      expiryHeight,
      fee: USDC,
      transaction: actionTransaction(eonTrader, nonce, limitOrder(1, 'buy', 100, 1), {
        chainId: EON_CHAIN_ID,
      }),
      sigma: new Uint8Array(randomBytes(32)),
    }),
  );
}

/** What a block carries beyond its timing and state root, and the batch key its votes gave. */
export interface BlockContent {
  fields: Partial<BlockPayload>;
  batchKey?: Uint8Array;
}

/** V4's removal, scheduled for the next boundary at least 16 blocks on. */
export function removalOfV4(): Uint8Array {
  return SignedTransactionCodec.encode(
    createTransactionBuilder(EON_CHAIN_ID).next(
      GOVERNANCE,
      governed(
        {
          kind: 'changeValidators',
          value: {
            op: VALIDATOR_CHANGE.remove,
            publicKey: eonValidators[REMOVED_VALIDATOR]!.publicKey,
            p2p: new Uint8Array(0),
            api: new Uint8Array(0),
          },
        },
        { chainId: EON_CHAIN_ID },
      ),
    ),
  );
}

/** The envelopes of the honest chain's encrypted orders, made once (their prefixes are random). */
const orders = new Map<number, Uint8Array>();
function orderAt(height: number, eon: number, agreements: EonAgreement[], nonce: number): Uint8Array {
  let order = orders.get(height);
  if (order === undefined) {
    order = encryptedOrder(eon, agreements, height, nonce);
    orders.set(height, order);
  }
  return order;
}

/** What block `height` carries on the honest chain. */
function contentOf(height: number): BlockContent {
  switch (height) {
    case 1:
      return { fields: { transactions: [removalOfV4()], eonActivations: [activationOf(eon1, 1)] } };
    case 6:
      return { fields: { eonActivations: [activationOf(eon2, 2)] } };
    case 24:
      return { fields: { envelopes: [orderAt(24, 2, eon2, 0)] } };
    case 25:
      return { fields: {}, batchKey: batchKeyOf(eon2, 2, laterValidators, 24, [orderAt(24, 2, eon2, 0)]) };
    case 30:
      return { fields: { eonActivations: [activationOf(eon3, 3)] } };
    case 50:
      return { fields: { envelopes: [orderAt(50, 3, eon3, 1)] } };
    case 51:
      return { fields: {}, batchKey: batchKeyOf(eon3, 3, laterValidators, 50, [orderAt(50, 3, eon3, 1)]) };
    default:
      return { fields: {} };
  }
}

export interface EonChain {
  readonly rules: ChainRules;
  /** The executed state at the tip. */
  readonly state: ChainState;
  /** Each height's finalized block as the API serves it (index height − 1). */
  readonly details: BlockDetail[];
  readonly blockOf: Map<number, Block>;
  /** The batch key each block was executed with (the one its votes carried), by height. */
  readonly batchKeyOf: Map<number, Uint8Array>;
  /** The node state root after each height. */
  readonly roots: Map<number, Uint8Array>;
  readonly proofs: ReturnType<typeof createValidatorSetProofs>;
  /** `NodeSnapshotCodec` bytes of the state after `snapshotAt`. */
  readonly snapshot: Uint8Array;
}

/**
 * The honest chain up to `blocks`, its state snapshotted after `snapshotAt`; with `content`, the
 * blocks carry what it gives instead (a chain that shows another schedule or an attack).
 * @example const chain = eonChain(70, 42);
 */
export function eonChain(
  blocks: number,
  snapshotAt: number,
  content?: (height: number) => BlockContent,
): EonChain {
  const rules = eonChainRules();
  const state = createChainState(rules);
  const roots = new Map<number, Uint8Array>([[0, chainStateRoot(state)]]);
  const proofs = createValidatorSetProofs(
    new SimStorage(),
    () => state.engine,
    () => state.priceBook.latest().values(),
    {
      fairParts: () => nodeStateRootFairParts(state.pending, state.eons ?? []),
      committedRoot: (height) => roots.get(height),
    },
  );
  proofs.record();
  let signing: Ed25519Signer[] = [...eonValidators];
  const details: BlockDetail[] = [];
  const blockOf = new Map<number, Block>();
  const batchKeys = new Map<number, Uint8Array>();
  let snapshot: Uint8Array | undefined;
  let tip = { view: 0, digest: genesisDigest(EON_CHAIN_ID) };
  for (let height = 1; height <= blocks; height++) {
    const stateRootHeight = stateRootHeightFor(height);
    const { fields, batchKey } = (content ?? contentOf)(height);
    const payload = BlockPayloadCodec.encode({
      ...noFairOrdering(),
      timeMs: START + height * 1000,
      transactions: [],
      observations: [],
      deposits: [],
      stateRootHeight,
      stateRoot: roots.get(stateRootHeight)!,
      ...fields,
    });
    const executed = executeBlock(state, {
      height,
      payload,
      ...(batchKey === undefined ? {} : { batchKey }),
    });
    for (const result of executed.result.results) assert.equal(result.status, 'OK', `block ${height}`);
    if (content === undefined && (height === 24 || height === 50))
      assert.equal(executed.fair.admitted, 1, `block ${height} admits its order`);
    if (content === undefined && (height === 25 || height === 51))
      assert.equal(executed.fair.transactions.length, 1, `block ${height} runs the order it opened`);
    if (batchKey !== undefined) batchKeys.set(height, batchKey);
    roots.set(height, executed.root);
    proofs.record();
    if (height === snapshotAt) snapshot = snapshotChainState(state);
    const block: Block = {
      view: tip.view + 1,
      height,
      parentView: tip.view,
      parent: tip.digest,
      proposer: (tip.view + 1) % signing.length,
      payload,
    };
    blockOf.set(height, block);
    const quorum = createValidatorSet(signing.map((signer) => signer.publicKey)).quorum;
    details.push(
      finalized(
        EON_CHAIN_ID,
        block,
        signing.slice(0, quorum),
        Array.from({ length: quorum }, (_, i) => i),
      ),
    );
    tip = { view: block.view, digest: blockDigest(block) };
    const committed = state.engine.validatorSet()!;
    signing = committed.members.map(
      (member) => eonValidators.find((signer) => hex(signer.publicKey) === member.publicKey)!,
    );
  }
  assert.ok(snapshot !== undefined, 'the snapshot height is on the chain');
  return { rules, state, details, blockOf, batchKeyOf: batchKeys, roots, proofs, snapshot };
}
