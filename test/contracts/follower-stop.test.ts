/**
 * The EVM node stops under a validator's deposit follower (the devnet stops it last, and a
 * validator may outlive it): every poll in flight or after fails with a typed EvmRpcError
 * (RPC_UNREACHABLE), nothing rejects unhandled (Node would end the process), and the follower's
 * state stays usable — a new node at the same address is followed again from where it stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRpcDepositFollower } from '../../src/interop/evm/follower-rpc.ts';
import { createEvmReader, EvmRpcError } from '../../src/interop/evm/rpc.ts';
import { startEdrNode } from './edr-node.ts';

test('stopping the EVM node under a polling follower rejects each poll typed, none unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const node = await startEdrNode();
  try {
    for (let i = 0; i < 3; i++) await node.request('evm_mine');
    const follower = createRpcDepositFollower({
      reader: createEvmReader({ url: node.url, timeoutMs: 1000 }),
      vault: new Uint8Array(20).fill(0x11),
      confirmations: 1,
      fromBlock: 0n,
      report: () => {},
    });
    const first = await follower.poll();
    assert.equal(first.followed, first.head);
    // Polls in flight while the node closes, then polls against nothing.
    const inFlight = [follower.poll(), follower.poll()];
    await node.close();
    const outcomes = await Promise.allSettled([...inFlight, follower.poll(), follower.poll()]);
    for (const outcome of outcomes.slice(2)) {
      assert.equal(outcome.status, 'rejected');
      assert.ok(outcome.reason instanceof EvmRpcError, String(outcome.reason));
      assert.equal((outcome.reason as EvmRpcError).code, 'RPC_UNREACHABLE');
    }
    // Give any stray promise a chance to reject unhandled before looking.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await node.close().catch(() => undefined);
  }
});
