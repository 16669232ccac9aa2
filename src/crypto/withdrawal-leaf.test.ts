/**
 * The vault's withdrawal leaf, written once here and used by the engine (execution/withdrawals.ts)
 * and the EVM tooling (interop/evm/certificates.ts): checked against viem's ABI encoder, which
 * shares no code with ours. The vault's own `withdrawalLeaf` is checked against it in
 * test/contracts (a real EVM), and both users in test/withdrawal-leaf-users.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAbiParameters, keccak256 as viemKeccak } from 'viem';
import { toHex } from './bytes.ts';
import { verifyEvmMerkleProof } from './merkle-evm.ts';
import {
  WITHDRAWAL_LEAF_TYPES,
  withdrawalLeafHash,
  withdrawalLeafValues,
  withdrawalsMerkleTree,
} from './withdrawal-leaf.ts';

const vault = new Uint8Array(20).fill(0x33);
const token = new Uint8Array(20).fill(0x44);
const withdrawals = [1, 2, 3].map((id) => ({
  id: BigInt(id),
  recipient: new Uint8Array(20).fill(id),
  token,
  amount: 10n ** 24n + BigInt(id),
}));
const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}` as const;

test('the leaf is keccak256(keccak256(abi.encode(chainId, vault, id, token, recipient, amount)))', () => {
  const w = withdrawals[1]!;
  const encoded = encodeAbiParameters(
    WITHDRAWAL_LEAF_TYPES.map((type) => ({ type })),
    [31_337n, hex(vault), w.id, hex(w.token), hex(w.recipient), w.amount],
  );
  assert.equal(hex(withdrawalLeafHash(31_337n, vault, w)), viemKeccak(viemKeccak(encoded)));
  assert.deepEqual(withdrawalLeafValues(31_337n, vault, w), [
    31_337n,
    vault,
    2n,
    token,
    w.recipient,
    w.amount,
  ]);
});

test('the tree holds each leaf under the root, and a leaf of another amount is not under it', () => {
  const tree = withdrawalsMerkleTree(31_337n, vault, withdrawals);
  assert.deepEqual(tree.leafHash(1), withdrawalLeafHash(31_337n, vault, withdrawals[1]!));
  assert.ok(verifyEvmMerkleProof(tree.root, tree.leafHash(1), tree.proof(1)));
  const forged = withdrawalLeafHash(31_337n, vault, { ...withdrawals[1]!, amount: 10n ** 25n });
  assert.equal(verifyEvmMerkleProof(tree.root, forged, tree.proof(1)), false);
  assert.throws(() => withdrawalsMerkleTree(31_337n, vault, []), RangeError);
});

test('another chain id or vault changes every leaf', () => {
  const w = withdrawals[0]!;
  const leaf = hex(withdrawalLeafHash(1n, vault, w));
  assert.notEqual(hex(withdrawalLeafHash(2n, vault, w)), leaf);
  assert.notEqual(hex(withdrawalLeafHash(1n, new Uint8Array(20).fill(0x34), w)), leaf);
});
