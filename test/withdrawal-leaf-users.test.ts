/**
 * The engine (which commits the withdrawals root) and the EVM tooling (which builds the relayer's
 * proofs) take the vault's leaf from the one layout in src/crypto/withdrawal-leaf.ts: the same
 * withdrawals give the same leaves and root through either.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withdrawalLeafHash, withdrawalsMerkleTree } from '../src/crypto/withdrawal-leaf.ts';
import { withdrawalLeafHash as engineLeafHash, withdrawalsRootOf } from '../src/execution/withdrawals.ts';
import { withdrawalsTree as evmWithdrawalsTree } from '../src/interop/evm/certificates.ts';

test('the engine and the EVM tooling build the same leaves and root', () => {
  const vault = new Uint8Array(20).fill(0x33);
  const token = new Uint8Array(20).fill(0x44);
  const withdrawals = [1n, 2n, 3n].map((id) => ({
    id,
    recipient: new Uint8Array(20).fill(Number(id)),
    token,
    amount: id * 7n,
  }));
  const tree = withdrawalsMerkleTree(31_337n, vault, withdrawals);
  const bridge = { evmChainId: 31_337, vault, token, checkpointEveryBlocks: 4 };
  const entries = withdrawals.map((w) => ({ ...w, id: Number(w.id) }));
  assert.deepEqual(withdrawalsRootOf(bridge, entries), tree.root);
  assert.deepEqual(evmWithdrawalsTree(withdrawals, 31_337n, vault).root, tree.root);
  assert.deepEqual(engineLeafHash(bridge, entries[2]!), withdrawalLeafHash(31_337n, vault, withdrawals[2]!));
});
