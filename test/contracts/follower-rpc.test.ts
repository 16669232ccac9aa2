/**
 * The JSON-RPC deposit follower against a real EVM node on 127.0.0.1: Hardhat's EDR
 * (test/contracts/edr-node.ts) running the committed vault, verifier and test token. Deposits are
 * released at the configured depth and once each; a reorg below that depth (evm_snapshot /
 * evm_revert, then a different chain mined) is followed; a deposit reorged away before its
 * confirmation is never reported, so never credited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { createDepositAggregator, type DepositEvent } from '../../src/interop/evm/deposits.ts';
import { createRpcDepositFollower } from '../../src/interop/evm/follower-rpc.ts';
import { createEvmReader } from '../../src/interop/evm/rpc.ts';
import { type EdrNode, startEdrNode } from './edr-node.ts';
import { type Chain, deployOnEdr } from './edr-vault.ts';

const account = (fill: number) => new Uint8Array(32).fill(fill);
const bytes = (hex: Hex) => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));

describe('deposit follower over JSON-RPC against EDR on 127.0.0.1', { timeout: 120_000 }, () => {
  let node: EdrNode | undefined;
  let chain: Chain;
  before(async () => {
    node = await startEdrNode();
    chain = await deployOnEdr(node);
  });
  after(() => node?.close());

  function follower(confirmations: number, reported: DepositEvent[]) {
    return createRpcDepositFollower({
      reader: createEvmReader({ url: chain.node.url, timeoutMs: 2000 }),
      vault: bytes(chain.vault),
      confirmations,
      fromBlock: chain.deployBlock,
      report: (deposit) => reported.push(deposit),
      maxBlocksPerPoll: 1000,
    });
  }

  test('a deposit is reported once it is `confirmations` deep, and only once', async () => {
    const reported: DepositEvent[] = [];
    const validator = follower(4, reported);
    await chain.deposit(1_000n, account(1));
    await validator.poll();
    assert.equal(reported.length, 0, 'one block deep is not four');
    await chain.mine(2);
    await validator.poll();
    assert.equal(reported.length, 0, 'three blocks deep is not four');
    await chain.mine(1);
    await validator.poll();
    await validator.poll();
    assert.equal(reported.length, 1);
    assert.equal(reported[0]!.amount, 1_000n);
    assert.deepEqual(reported[0]!.account, account(1));
    assert.deepEqual(reported[0]!.token, bytes(chain.token));
    await chain.mine(3);
    await validator.poll();
    assert.equal(reported.length, 1, 'never reported twice');
  });

  test('attack: a deposit reorged away before its confirmation is never reported nor credited', async () => {
    const confirmations = 3;
    const followers = Array.from({ length: 4 }, () => ({ reported: [] as DepositEvent[] }));
    const validators = followers.map((entry) => follower(confirmations, entry.reported));
    await chain.prepare(5_000_000n);
    for (const validator of validators) await validator.poll();
    const before = await chain.snapshot();
    // The attacker deposits a large amount and the validators see it, one block short of deep.
    await chain.depositPrepared(5_000_000n, account(0xaa));
    await chain.mine(confirmations - 2);
    for (const validator of validators) await validator.poll();
    // The deposit is reorged away: the chain from the snapshot is replaced by one without it,
    // longer than the old one, carrying an honest deposit instead.
    await chain.revert(before);
    await chain.mine(1);
    await chain.deposit(7n, account(0xbb));
    await chain.mine(confirmations);
    const aggregator = createDepositAggregator({ validators: 4 });
    const credited: DepositEvent[] = [];
    for (const [index, validator] of validators.entries()) {
      const outcome = await validator.poll();
      assert.ok(outcome.reorgedBlocks >= 1, 'the reorg was seen');
      for (const deposit of followers[index]!.reported) {
        const status = aggregator.report(index, deposit);
        if (status.status === 'CREDITED') credited.push(status.deposit);
      }
    }
    const attacker = Buffer.from(account(0xaa)).toString('hex');
    for (const { reported } of followers) {
      const amounts = reported.map((deposit) => deposit.amount);
      assert.ok(!amounts.includes(5_000_000n), 'the reorged-away deposit is never reported');
      assert.equal(amounts.filter((amount) => amount === 7n).length, 1, 'the deposit that stayed, once');
    }
    assert.ok(credited.every((deposit) => Buffer.from(deposit.account).toString('hex') !== attacker));
    assert.equal(credited.filter((deposit) => deposit.amount === 7n).length, 1);
  });

  test('a reorg of a released block halts the follower (REORG_BEYOND_CONFIRMATIONS)', async () => {
    const reported: DepositEvent[] = [];
    const validator = follower(2, reported);
    await validator.poll();
    const before = await chain.snapshot();
    await chain.deposit(11n, account(3));
    await chain.mine(2);
    await validator.poll();
    assert.equal(reported.at(-1)?.amount, 11n);
    await chain.revert(before);
    await chain.mine(6);
    await assert.rejects(validator.poll(), { code: 'REORG_BEYOND_CONFIRMATIONS' });
    await assert.rejects(validator.poll(), { code: 'HALTED' });
  });
});
