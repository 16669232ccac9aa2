/**
 * The block rule across a committed validator-set change (issue 11): oracle observations and
 * bridge deposit reports count from the validator set of the block's epoch, read from the engine's
 * committed record, not from the genesis list. Attacks: a removed validator's report completing a
 * 2f + 1 deposit quorum after its boundary; a removed validator's observation aggregated; an added
 * validator's report and observation ignored; the quorum kept at the genesis n when n grows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ReportedDeposit, SignedDepositReportCodec } from '../codec/bridge.ts';
import { VALIDATOR_CHANGE } from '../codec/execution.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  testGenesis,
  testGovernance,
  testSigner,
  USDC,
} from '../execution/fixtures.ts';
import { signDepositReport } from '../interop/evm/deposit-quorum.ts';
import { encodeVoteExtension, signObservation } from '../oracle/observation.ts';
import { type ChainBridge, type ChainState, createChainState, executeBlock } from './block-rule.ts';

const CHAIN_ID = 7;
const EPOCH_BLOCKS = 10;
/** The change executes at height 1; the first boundary at least 16 blocks on is 20. */
const BOUNDARY = 20;
const bridge: ChainBridge = {
  evmChainId: 31_337,
  vault: new Uint8Array(20).fill(0x5a),
  token: new Uint8Array(20).fill(0x70),
};
const ALICE = new Uint8Array(32).fill(0xa1);

function chain(genesis: Ed25519Signer[], change: { op: number; signer: Ed25519Signer }) {
  const engineGenesis = {
    ...testGenesis({ chainId: CHAIN_ID, governance: testGovernance({ timelockMs: 0 }) }),
    validatorSet: {
      epochBlocks: EPOCH_BLOCKS,
      members: genesis.map((s, i) => ({
        publicKey: s.publicKey,
        p2p: `127.0.0.1:${9300 + i}`,
        api: `http://127.0.0.1:${8300 + i}`,
      })),
    },
  };
  const state = createChainState({
    chainId: CHAIN_ID,
    validators: genesis.map((s) => s.publicKey),
    assets: [],
    engineGenesis,
    bridge,
  });
  const enc = new TextEncoder();
  const add = change.op === VALIDATOR_CHANGE.add;
  const tx = createTransactionBuilder().next(
    GOVERNANCE,
    governed({
      kind: 'changeValidators',
      value: {
        op: change.op,
        publicKey: change.signer.publicKey,
        p2p: add ? enc.encode('127.0.0.1:9399') : new Uint8Array(0),
        api: add ? enc.encode('http://127.0.0.1:8399') : new Uint8Array(0),
      },
    }),
  );
  const first = block(state, { transactions: [SignedTransactionCodec.encode(tx)] });
  assert.equal(first.result.results[0]!.status, 'OK', 'the change is accepted');
  while (state.engine.height < BOUNDARY) block(state, {});
  assert.equal(state.engine.validatorSet()!.epoch, 2, 'the boundary applied the change');
  return state;
}

function block(
  state: ChainState,
  parts: { transactions?: Uint8Array[]; observations?: Uint8Array[]; deposits?: Uint8Array[] },
) {
  const height = state.engine.height + 1;
  const payload = BlockPayloadCodec.encode({
    envelopes: [],
    batchKeys: [],
    earlyShares: [],
    eonActivations: [],
    timeMs: timeOf(state, height),
    transactions: parts.transactions ?? [],
    observations: parts.observations ?? [],
    deposits: parts.deposits ?? [],
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
  });
  return executeBlock(state, { height, payload });
}

const timeOf = (state: ChainState, height: number) => state.rules.engineGenesis.startTimeMs + height * 1000;

function deposit(nonce: number): ReportedDeposit {
  return {
    transactionHash: new Uint8Array(32).fill(nonce),
    logIndex: 0,
    account: ALICE,
    token: bridge.token,
    amount: 100n * BigInt(USDC),
    nonce,
  };
}

function report(signer: Ed25519Signer, height: number, nonce: number): Uint8Array {
  return SignedDepositReportCodec.encode(
    signDepositReport(signer, {
      chainId: CHAIN_ID,
      height,
      validator: signer.publicKey,
      evmChainId: bridge.evmChainId,
      vault: bridge.vault,
      deposits: [deposit(nonce)],
    }),
  );
}

function observation(state: ChainState, signer: Ed25519Signer, height: number): Uint8Array {
  return encodeVoteExtension(
    signObservation(signer, {
      chainId: CHAIN_ID,
      height,
      validator: signer.publicKey,
      timestampMs: timeOf(state, height),
      entries: [],
    }),
  );
}

const credited = (state: ChainState) => state.engine.account(ALICE)?.balance ?? 0n;

test('attack: a removed validator completes a deposit quorum or is aggregated after its boundary', () => {
  const signers = Array.from({ length: 5 }, (_, i) => testSigner(`epoch-rule-remove-${i}`));
  const state = chain(signers, { op: VALIDATOR_CHANGE.remove, signer: signers[4]! });
  const height = BOUNDARY + 1;
  // Two members and the removed validator: three reports, the quorum of both 4 and 5, but only two count.
  const executed = block(state, {
    deposits: [2, 3, 4].map((i) => report(signers[i]!, height, 1)),
    observations: [3, 4].map((i) => observation(state, signers[i]!, height)),
  });
  assert.equal(credited(state), 0n, 'the removed validator does not complete the quorum');
  assert.equal(executed.aggregate.accepted, 1, 'only the member observation is aggregated');
  assert.deepEqual(
    executed.aggregate.dropped.map((d) => [d.index, d.reason]),
    [[1, 'UNKNOWN_SIGNER']],
  );
  // Three members do reach it.
  block(state, { deposits: [0, 1, 2].map((i) => report(signers[i]!, height + 1, 1)) });
  assert.equal(credited(state), 100n * BigInt(USDC));
});

test('an added validator counts from its epoch on, and the quorum follows the grown set', () => {
  // Six genesis validators: 2f + 1 = 3; seven after the add: 2f + 1 = 5.
  const signers = Array.from({ length: 7 }, (_, i) => testSigner(`epoch-rule-add-${i}`));
  const joiner = signers[6]!;
  const state = chain(signers.slice(0, 6), { op: VALIDATOR_CHANGE.add, signer: joiner });
  let height = BOUNDARY + 1;
  // Three genesis reports were a quorum of six; of seven they are not.
  block(state, { deposits: [0, 1, 2].map((i) => report(signers[i]!, height, 1)) });
  assert.equal(credited(state), 0n, 'three of seven is below 2f + 1');
  height += 1;
  const executed = block(state, {
    deposits: [0, 1, 2, 3, 6].map((i) => report(signers[i]!, height, 1)),
    observations: [observation(state, joiner, height)],
  });
  assert.equal(
    credited(state),
    100n * BigInt(USDC),
    'four members and the added validator are five of seven',
  );
  assert.equal(executed.aggregate.accepted, 1, 'the added validator observation is aggregated');
  assert.deepEqual(executed.aggregate.dropped, []);
});
