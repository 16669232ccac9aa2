/**
 * The leaf of one withdrawal in a checkpoint's withdrawals root: what `PalisadeVault.withdrawalLeaf`
 * (contracts/PalisadeVault.sol) hashes, in OpenZeppelin's StandardMerkleTree layout
 * (./merkle-evm.ts):
 *
 *   keccak256(keccak256(abi.encode(uint256 evmChainId, address vault, uint64 id, address token,
 *                                  address recipient, uint256 amount)))
 *
 * The EVM chain id and the vault's address in every leaf make a proof for one deployment match
 * nothing in any other. The engine (src/execution/withdrawals.ts) commits roots with it and the
 * EVM tooling (src/interop/evm/certificates.ts) builds claims with it; this is the one place the
 * layout is written.
 */
import { createEvmMerkleTree, type EvmMerkleTree, type EvmStaticType, evmLeafHash } from './merkle-evm.ts';

export const WITHDRAWAL_LEAF_TYPES: readonly EvmStaticType[] = Object.freeze([
  'uint256',
  'address',
  'uint64',
  'address',
  'address',
  'uint256',
]);

/** One withdrawal as its leaf names it; the id may be a safe integer or a bigint. */
export interface WithdrawalLeaf {
  readonly id: bigint | number;
  /** 20-byte ERC-20 address. */
  readonly token: Uint8Array;
  /** 20-byte recipient address. */
  readonly recipient: Uint8Array;
  readonly amount: bigint;
}

/** The leaf's values in {@link WITHDRAWAL_LEAF_TYPES} order. */
export function withdrawalLeafValues(
  evmChainId: bigint,
  vault: Uint8Array,
  withdrawal: WithdrawalLeaf,
): [bigint, Uint8Array, bigint, Uint8Array, Uint8Array, bigint] {
  return [
    evmChainId,
    vault,
    BigInt(withdrawal.id),
    withdrawal.token,
    withdrawal.recipient,
    withdrawal.amount,
  ];
}

/**
 * The vault's leaf hash of `withdrawal`.
 * @example const leaf = withdrawalLeafHash(31_337n, vault, { id: 1n, token, recipient, amount: 5n });
 * @throws EvmEncodingError when a field does not fit its ABI type
 */
export function withdrawalLeafHash(
  evmChainId: bigint,
  vault: Uint8Array,
  withdrawal: WithdrawalLeaf,
): Uint8Array {
  return evmLeafHash(WITHDRAWAL_LEAF_TYPES, withdrawalLeafValues(evmChainId, vault, withdrawal));
}

/**
 * The withdrawals tree (value index i is `withdrawals[i]`), as the vault checks its proofs.
 * @example const tree = withdrawalsMerkleTree(31_337n, vault, withdrawals); tree.proof(0);
 * @throws EvmEncodingError for a field that does not fit; RangeError for an empty list
 */
export function withdrawalsMerkleTree(
  evmChainId: bigint,
  vault: Uint8Array,
  withdrawals: readonly WithdrawalLeaf[],
): EvmMerkleTree {
  return createEvmMerkleTree(
    WITHDRAWAL_LEAF_TYPES,
    withdrawals.map((withdrawal) => withdrawalLeafValues(evmChainId, vault, withdrawal)),
  );
}
