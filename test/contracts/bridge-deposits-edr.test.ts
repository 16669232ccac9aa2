/**
 * Deposit on the EVM → credited on Palisade at 2f + 1, end to end against a real EVM node on
 * 127.0.0.1 (Hardhat's EDR running the committed vault): four validators each follow the vault over
 * JSON-RPC (follower-rpc.ts), release a deposit once it is `confirmations` deep, sign reports
 * (deposit-quorum.ts), and every validator's block rule credits what 2f + 1 reported. A validator
 * that is offline does not stop the credit; one alone never makes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import {
  type ChainBridge,
  type ChainState,
  createChainState,
  executeBlock,
} from '../../src/chain/block-rule.ts';
import { BlockPayloadCodec } from '../../src/codec/node.ts';
import { testGenesis, testSigner, USDC } from '../../src/execution/fixtures.ts';
import { createDepositReporter, type DepositReporter } from '../../src/interop/evm/deposit-quorum.ts';
import { createRpcDepositFollower, type RpcDepositFollower } from '../../src/interop/evm/follower-rpc.ts';
import { createEvmReader } from '../../src/interop/evm/rpc.ts';
import { type EdrNode, startEdrNode } from './edr-node.ts';
import { type Chain, deployOnEdr } from './edr-vault.ts';

const CHAIN_ID = 7;
const CONFIRMATIONS = 3;
const bytes = (hex: Hex) => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));

describe('EVM deposit → 2f + 1 reports → credited, against EDR on 127.0.0.1', { timeout: 120_000 }, () => {
  let node: EdrNode | undefined;
  let chain: Chain;
  before(async () => {
    node = await startEdrNode();
    chain = await deployOnEdr(node);
  });
  after(() => node?.close());

  test('credited once at 2f + 1 of 4 (one validator offline), never by one alone', async () => {
    const bridge: ChainBridge = {
      evmChainId: Number(chain.node.chainId),
      vault: bytes(chain.vault),
      token: bytes(chain.token),
    };
    const signers = [0, 1, 2, 3].map((i) => testSigner(`edr-bridge-${i}`));
    const engineGenesis = testGenesis({ chainId: CHAIN_ID });
    // Each validator executes the same blocks on its own state.
    const states: ChainState[] = signers.map(() =>
      createChainState({
        chainId: CHAIN_ID,
        validators: signers.map((s) => s.publicKey),
        assets: [],
        engineGenesis,
        bridge,
      }),
    );
    const validators = signers.map((signer, i) => {
      const reporter: DepositReporter = createDepositReporter({
        signer,
        chainId: CHAIN_ID,
        bridge,
        isCredited: (nonce) => states[i]!.engine.depositCredited(nonce),
      });
      const follower: RpcDepositFollower = createRpcDepositFollower({
        reader: createEvmReader({ url: chain.node.url, timeoutMs: 2000 }),
        vault: bridge.vault,
        confirmations: CONFIRMATIONS,
        fromBlock: chain.deployBlock,
        report: (deposit) => reporter.add(deposit),
        maxBlocksPerPoll: 1000,
      });
      return { reporter, follower };
    });
    const alice = new Uint8Array(32).fill(0xa7);
    const amount = 1_234n * BigInt(USDC);
    /** One Palisade block carrying the reports of `online` validators. */
    const block = async (online: number[]) => {
      for (const i of online) await validators[i]!.follower.poll();
      const height = states[0]!.engine.height + 1;
      const reports = online
        .map((i) => validators[i]!.reporter.report(height))
        .filter((report): report is Uint8Array => report !== undefined);
      const payload = BlockPayloadCodec.encode({
        envelopes: [],
        batchKeys: [],
        earlyShares: [],
        eonActivations: [],
        timeMs: engineGenesis.startTimeMs + height * 1000,
        transactions: [],
        observations: [],
        deposits: reports,
        stateRootHeight: 0,
        stateRoot: new Uint8Array(32),
      });
      const roots = states.map((state) => executeBlock(state, { height, payload }).root);
      for (const root of roots) assert.deepEqual(root, roots[0], 'every validator computes the same root');
      return reports.length;
    };
    const balance = () => states[0]!.engine.account(alice)?.balance ?? 0n;

    await chain.deposit(amount, alice);
    assert.equal(await block([0, 1, 2]), 0, 'one block deep: nobody reports');
    await chain.mine(CONFIRMATIONS - 1);
    // Deep enough, but only validator 0 looks: one report is not 2f + 1.
    assert.equal(await block([0]), 1);
    assert.equal(balance(), 0n);
    // Validators 0–2 (3 is offline): credited.
    assert.equal(await block([0, 1, 2]), 3);
    assert.equal(balance(), amount);
    for (const state of states) assert.equal(state.engine.account(alice)?.balance, amount);
    // Validator 3 comes back and reports it too: credited already, nothing moves; the others are quiet.
    await chain.mine(2);
    assert.equal(await block([0, 1, 2, 3]), 0, 'everyone sees it credited and reports nothing');
    assert.equal(balance(), amount);
  });
});
