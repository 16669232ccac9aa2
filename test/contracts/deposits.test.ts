/**
 * Deposits end to end without a network: real `Deposited` logs from the vault in the EVM, read
 * block by block by four validators' followers, credited by the aggregator at 2f + 1 — and a
 * validator that invents a deposit is one voice short of the quorum.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDepositAggregator,
  createDepositFollower,
  DEPOSITED_TOPIC,
  type DepositEvent,
  decodeDepositLog,
  type ObservedBlock,
} from '../../src/interop/evm/deposits.ts';
import type { MinedBlock } from '../../src/interop/evm/harness.ts';
import { deploy, fund } from './fixtures.ts';

function observe(block: MinedBlock, vault: Uint8Array): ObservedBlock {
  const deposits = block.logs
    .filter((log) => Buffer.from(log.address).equals(Buffer.from(vault)) && log.topics[0] !== undefined)
    .filter((log) => Buffer.from(log.topics[0]!).equals(Buffer.from(DEPOSITED_TOPIC)))
    .map((log) => decodeDepositLog(log, vault, block, block.transactionHash));
  return { number: block.number, hash: block.hash, parentHash: block.parentHash, deposits };
}

test('vault deposits seen by four followers are credited once each at 2f + 1; an invented one never', async () => {
  const deployment = await deploy();
  const depositor = await deployment.evm.account('depositor');
  const accounts = [1, 2, 3].map((i) => new Uint8Array(32).fill(i));
  for (const [i, account] of accounts.entries()) {
    const result = await fund(deployment, depositor, BigInt(1_000 * (i + 1)), account);
    assert.equal(result.ok, true, result.revert?.name);
  }
  // Three more blocks so the last deposit is deep enough.
  for (let i = 0; i < 3; i++) await deployment.token.send(depositor, 'mint', [depositor.hex, 1n]);

  const aggregator = createDepositAggregator({ validators: 4 });
  const credited: DepositEvent[] = [];
  // The Byzantine validator 3 reports first, so its inflated reports are pending when the others arrive.
  for (const validator of [3, 0, 1, 2]) {
    const follower = createDepositFollower({ confirmations: 3 });
    for (const block of deployment.evm.blocks) {
      for (const deposit of follower.addBlock(observe(block, deployment.vault.address))) {
        // Validator 3 is Byzantine: it inflates every deposit it reports.
        const reported = validator === 3 ? { ...deposit, amount: deposit.amount * 1_000n } : deposit;
        const outcome = aggregator.report(validator, reported);
        if (outcome.status === 'CREDITED') credited.push(outcome.deposit);
      }
    }
  }
  assert.deepEqual(
    credited.map((d) => [d.nonce, d.amount, Buffer.from(d.account).toString('hex')]),
    accounts.map((account, i) => [
      BigInt(i + 1),
      BigInt(1_000 * (i + 1)),
      Buffer.from(account).toString('hex'),
    ]),
  );
  assert.ok(credited.every((d) => Buffer.from(d.token).equals(Buffer.from(deployment.token.address))));
  assert.ok(
    credited.every((d) => d.amount < 1_000_000n),
    'no inflated amount was credited',
  );
  const fake = { ...credited[0]!, amount: 1n << 60n };
  assert.equal(aggregator.report(3, fake).status, 'ALREADY_CREDITED');
});

test('a log of another contract or event is not read as a deposit', async () => {
  const deployment = await deploy();
  const depositor = await deployment.evm.account('depositor');
  const minted = await deployment.token.send(depositor, 'mint', [depositor.hex, 5n]);
  const transfer = minted.rawLogs[0]!;
  assert.throws(
    () => decodeDepositLog(transfer, deployment.vault.address, minted.block, minted.transactionHash),
    /NOT_A_DEPOSIT_LOG/,
  );
  assert.throws(
    () => decodeDepositLog(transfer, deployment.token.address, minted.block, minted.transactionHash),
    /NOT_A_DEPOSIT_LOG: not a Deposited event/,
  );
});
