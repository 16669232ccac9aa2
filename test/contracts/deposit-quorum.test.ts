/**
 * Deposits seen by 2f + 1, through the block rule every validator runs (src/chain/block-rule.ts
 * over src/interop/evm/deposit-quorum.ts and the engine's `creditBridgeDeposits`). Validators sign
 * real Ed25519 deposit reports; blocks carry them in `BlockPayload.deposits`; balances are read
 * from the engine. Attacks: f validators inventing a deposit, one validator reporting twice, the
 * same deposit replayed at a later height, reporters disagreeing on the amount, a report for another
 * EVM chain or vault, a forged signature, and a snapshot restored between two credits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  adoptChainSnapshot,
  type ChainBridge,
  type ChainState,
  createChainState,
  depositProblems,
  executeBlock,
  restoreChainSnapshot,
  snapshotChainState,
} from '../../src/chain/block-rule.ts';
import {
  type DepositReportBody,
  type ReportedDeposit,
  SignedDepositReportCodec,
} from '../../src/codec/bridge.ts';
import { BlockPayloadCodec } from '../../src/codec/node.ts';
import type { Ed25519Signer } from '../../src/crypto/ed25519.ts';
import { testGenesis, testSigner, USDC } from '../../src/execution/fixtures.ts';
import { createDepositReporter, signDepositReport } from '../../src/interop/evm/deposit-quorum.ts';

const CHAIN_ID = 7;
const bridge: ChainBridge = {
  evmChainId: 31_337,
  vault: new Uint8Array(20).fill(0x5a),
  token: new Uint8Array(20).fill(0x70),
};
const ALICE = new Uint8Array(32).fill(0xa1);

function network(n: number) {
  const signers = Array.from({ length: n }, (_, i) => testSigner(`bridge-validator-${n}-${i}`));
  const engineGenesis = testGenesis({ chainId: CHAIN_ID });
  const state = createChainState({
    chainId: CHAIN_ID,
    validators: signers.map((signer) => signer.publicKey),
    assets: [],
    engineGenesis,
    bridge,
  });
  return { signers, state, engineGenesis };
}

function deposit(overrides: Partial<ReportedDeposit> = {}): ReportedDeposit {
  return {
    transactionHash: new Uint8Array(32).fill(0x11),
    logIndex: 3,
    account: ALICE,
    token: bridge.token,
    amount: 250n * BigInt(USDC),
    nonce: 1,
    ...overrides,
  };
}

function report(
  signer: Ed25519Signer,
  height: number,
  deposits: ReportedDeposit[],
  overrides: Partial<DepositReportBody> = {},
): Uint8Array {
  const body: DepositReportBody = {
    chainId: CHAIN_ID,
    height,
    validator: signer.publicKey,
    evmChainId: bridge.evmChainId,
    vault: bridge.vault,
    deposits,
    ...overrides,
  };
  return SignedDepositReportCodec.encode(signDepositReport(signer, body));
}

/** Executes the next block carrying `reports`; returns the verifier's problems and the events. */
function block(state: ChainState, reports: Uint8Array[]) {
  const height = state.engine.height + 1;
  const payload = BlockPayloadCodec.encode({
    envelopes: [],
    batchKeys: [],
    earlyShares: [],
    eonActivations: [],
    timeMs: state.rules.engineGenesis.startTimeMs + height * 1000,
    transactions: [],
    observations: [],
    deposits: reports,
    stateRootHeight: 0,
    stateRoot: new Uint8Array(32),
  });
  const problems = depositProblems(state.rules, height, reports);
  const executed = executeBlock(state, { height, payload });
  return { problems, events: executed.events, height };
}

const balance = (state: ChainState, account = ALICE) => state.engine.account(account)?.balance ?? 0n;

describe('deposits credited at 2f + 1 identical reports', () => {
  test('honest: 2f + 1 of 4 validators report a deposit, it is credited once', () => {
    const { signers, state } = network(4);
    const height = state.engine.height + 1;
    const { problems } = block(
      state,
      signers.slice(0, 3).map((signer) => report(signer, height, [deposit()])),
    );
    assert.deepEqual(problems, []);
    assert.equal(balance(state), 250n * BigInt(USDC));
    assert.equal(state.engine.depositCredited(1), true);
    assert.equal(state.engine.depositCredited(2), false);
  });

  test('attack: f of 7 validators invent a deposit → not credited', () => {
    const { signers, state } = network(7);
    const height = state.engine.height + 1;
    const invented = deposit({ amount: 1_000_000n * BigInt(USDC) });
    const { problems } = block(
      state,
      signers.slice(0, 2).map((signer) => report(signer, height, [invented])),
    );
    assert.deepEqual(problems, [], 'the reports are well formed: only their number is short');
    assert.equal(balance(state), 0n);
    assert.equal(state.engine.depositCredited(1), false);
    // The honest 2f + 1 later report the real deposit of that nonce: it, not the invention, is credited.
    const next = state.engine.height + 1;
    block(
      state,
      signers.slice(2, 7).map((signer) => report(signer, next, [deposit()])),
    );
    assert.equal(balance(state), 250n * BigInt(USDC));
  });

  test('attack: one validator reports a deposit twice → counted once, and the block is refused', () => {
    const { signers, state } = network(4);
    const height = state.engine.height + 1;
    const twice = report(signers[0]!, height, [deposit()]);
    const again = report(signers[0]!, height, [deposit(), deposit({ nonce: 2 })]);
    const { problems } = block(state, [twice, again, report(signers[1]!, height, [deposit()])]);
    assert.deepEqual(
      problems.map((problem) => problem.reason),
      ['repeated-validator'],
    );
    assert.equal(balance(state), 0n, 'two distinct validators are not 2f + 1 = 3');
    // A report listing one nonce twice does not decode: the verifier refuses it as malformed.
    const next = state.engine.height + 1;
    const doubled = report(signers[2]!, next, [deposit(), deposit()]);
    const refused = block(state, [
      doubled,
      report(signers[0]!, next, [deposit()]),
      report(signers[1]!, next, [deposit()]),
    ]);
    assert.deepEqual(
      refused.problems.map((problem) => problem.reason),
      ['malformed'],
    );
    assert.equal(balance(state), 0n);
  });

  test('attack: the same deposit replayed at a later height → credited once', () => {
    const { signers, state } = network(4);
    for (let i = 0; i < 3; i++) {
      const height = state.engine.height + 1;
      block(
        state,
        signers.map((signer) => report(signer, height, [deposit()])),
      );
    }
    assert.equal(balance(state), 250n * BigInt(USDC));
    const deposits = state.engine.ledger();
    assert.ok(deposits !== undefined);
  });

  test('attack: reporters disagree on the amount → not credited', () => {
    const { signers, state } = network(4);
    const height = state.engine.height + 1;
    block(state, [
      report(signers[0]!, height, [deposit()]),
      report(signers[1]!, height, [deposit()]),
      report(signers[2]!, height, [deposit({ amount: 251n * BigInt(USDC) })]),
      report(signers[3]!, height, [deposit({ amount: 251n * BigInt(USDC) })]),
    ]);
    assert.equal(balance(state), 0n);
    assert.equal(state.engine.depositCredited(1), false);
  });

  test('attack: any other field differs (account, token, transaction, log index) → not credited', () => {
    for (const other of [
      { account: new Uint8Array(32).fill(0xee) },
      { token: new Uint8Array(20).fill(0x71) },
      { transactionHash: new Uint8Array(32).fill(0x12) },
      { logIndex: 4 },
    ]) {
      const { signers, state } = network(4);
      const height = state.engine.height + 1;
      block(state, [
        report(signers[0]!, height, [deposit()]),
        report(signers[1]!, height, [deposit()]),
        report(signers[2]!, height, [deposit(other)]),
      ]);
      assert.equal(state.engine.depositCredited(1), false, JSON.stringify(Object.keys(other)));
    }
  });

  test('attack: a deposit from another EVM chain id or vault address → refused', () => {
    const { signers, state } = network(4);
    const height = state.engine.height + 1;
    const otherChain = signers.map((signer) => report(signer, height, [deposit()], { evmChainId: 1 }));
    const { problems } = block(state, otherChain);
    assert.deepEqual(
      problems.map((problem) => problem.reason),
      ['wrong-bridge', 'wrong-bridge', 'wrong-bridge', 'wrong-bridge'],
    );
    const next = state.engine.height + 1;
    const otherVault = signers.map((signer) =>
      report(signer, next, [deposit()], { vault: new Uint8Array(20).fill(0x5b) }),
    );
    assert.equal(block(state, otherVault).problems.length, 4);
    assert.equal(balance(state), 0n);
    assert.equal(state.engine.depositCredited(1), false);
  });

  test('attack: a forged signature, a non-validator, another height or chain → refused, not counted', () => {
    const { signers, state } = network(4);
    const height = state.engine.height + 1;
    const forged = SignedDepositReportCodec.decode(report(signers[0]!, height, [deposit()]));
    forged.signature = new Uint8Array(64).fill(7);
    const outsider = testSigner('not-a-validator');
    const { problems } = block(state, [
      SignedDepositReportCodec.encode(forged),
      report(outsider, height, [deposit()]),
      report(signers[1]!, height + 1, [deposit()]),
      report(signers[2]!, height, [deposit()], { chainId: CHAIN_ID + 1 }),
      report(signers[3]!, height, [deposit()]),
    ]);
    assert.deepEqual(
      problems.map((problem) => problem.reason),
      ['bad-signature', 'unknown-validator', 'wrong-height', 'wrong-chain'],
    );
    assert.equal(balance(state), 0n);
  });

  test('a deposit of another token is consumed without a credit; too small for a new account likewise', () => {
    const { signers, state } = network(4);
    const height = state.engine.height + 1;
    const { events } = block(
      state,
      signers.map((signer) =>
        report(signer, height, [
          deposit({ token: new Uint8Array(20).fill(0x71) }),
          deposit({ nonce: 2, amount: 1n }),
        ]),
      ),
    );
    assert.deepEqual(
      events.filter((event) => event.type === 'bridgeDepositRefused').map((event) => event.reason),
      ['UNLISTED_TOKEN', 'DEPOSIT_BELOW_MINIMUM'],
    );
    assert.equal(balance(state), 0n);
    assert.equal(state.engine.depositCredited(1), true);
    assert.equal(state.engine.depositCredited(2), true);
  });

  test('credited nonces are in the state root and survive a snapshot: no second credit after a restore', () => {
    const { signers, state } = network(4);
    const before = state.engine.stateRoot();
    const height = state.engine.height + 1;
    block(
      state,
      signers.map((signer) => report(signer, height, [deposit({ nonce: 2 })])),
    );
    const rootAfter = state.engine.stateRoot();
    assert.notDeepEqual(rootAfter, before);
    // A validator restarting from the snapshot (a fresh state, as after a restart or a state sync).
    const restarted = createChainState(state.rules);
    const restored = restoreChainSnapshot(restarted, snapshotChainState(state));
    assert.deepEqual(restored.engine.stateRoot(), rootAfter);
    adoptChainSnapshot(restarted, restored);
    assert.equal(restarted.engine.depositCredited(2), true);
    assert.equal(restarted.engine.depositCredited(1), false, 'nonce 1 is still open below nonce 2');
    const next = restarted.engine.height + 1;
    block(
      restarted,
      signers.map((signer) => report(signer, next, [deposit(), deposit({ nonce: 2 })])),
    );
    assert.equal(balance(restarted), 500n * BigInt(USDC), 'nonce 1 once, nonce 2 not again');
  });

  test('a block without reports leaves the state root as it was before the bridge existed', () => {
    const { state } = network(4);
    const withoutBridge = createChainState({
      chainId: CHAIN_ID,
      validators: state.rules.validators,
      assets: [],
      engineGenesis: state.rules.engineGenesis,
    });
    block(state, []);
    block(withoutBridge, []);
    assert.deepEqual(state.engine.stateRoot(), withoutBridge.engine.stateRoot());
  });

  test('the reporter signs the lowest uncredited nonces and drops what the engine credited', () => {
    const { signers, state } = network(4);
    const reporters = signers.map((signer) =>
      createDepositReporter({
        signer,
        chainId: CHAIN_ID,
        bridge,
        isCredited: (nonce) => state.engine.depositCredited(nonce),
      }),
    );
    const event = (nonce: number) => ({
      nonce: BigInt(nonce),
      account: ALICE,
      token: bridge.token,
      amount: 20n * BigInt(USDC),
      blockNumber: 10n,
      blockHash: new Uint8Array(32).fill(9),
      transactionHash: new Uint8Array(32).fill(nonce),
      logIndex: 0,
    });
    for (const reporter of reporters) for (let nonce = 1; nonce <= 10; nonce++) reporter.add(event(nonce));
    let height = state.engine.height + 1;
    const first = reporters.map((reporter) => reporter.report(height)!);
    assert.equal(SignedDepositReportCodec.decode(first[0]!).body.deposits.length, 8);
    block(state, first);
    assert.equal(balance(state), 8n * 20n * BigInt(USDC));
    height = state.engine.height + 1;
    const second = reporters.map((reporter) => reporter.report(height)!);
    assert.deepEqual(
      SignedDepositReportCodec.decode(second[0]!).body.deposits.map((entry) => entry.nonce),
      [9, 10],
    );
    block(state, second);
    assert.equal(balance(state), 10n * 20n * BigInt(USDC));
    assert.equal(reporters[0]!.report(state.engine.height + 1), undefined);
    assert.equal(reporters[0]!.pending, 0);
  });

  test('a report fits the room its vote extension leaves: fewer deposits, or none, never an oversize vote', () => {
    const { signers, state } = network(4);
    const reporter = createDepositReporter({
      signer: signers[0]!,
      chainId: CHAIN_ID,
      bridge,
      isCredited: (nonce) => state.engine.depositCredited(nonce),
    });
    for (let nonce = 1; nonce <= 10; nonce++)
      reporter.add({
        nonce: BigInt(nonce),
        account: ALICE,
        token: bridge.token,
        amount: 20n * BigInt(USDC),
        blockNumber: 10n,
        blockHash: new Uint8Array(32).fill(9),
        transactionHash: new Uint8Array(32).fill(nonce),
        logIndex: 0,
      });
    const full = reporter.report(1)!;
    assert.equal(full.length, SignedDepositReportCodec.maxBytes);
    // Room for three deposits and a little more: three, within the room.
    const room = full.length - 5 * 128 + 100;
    const partial = reporter.report(1, room)!;
    assert.ok(partial.length <= room);
    assert.deepEqual(
      SignedDepositReportCodec.decode(partial).body.deposits.map((entry) => entry.nonce),
      [1, 2, 3],
    );
    assert.equal(reporter.report(1, 200), undefined, 'no room for one deposit: no report');
    assert.equal(reporter.pending, 10);
  });
});
