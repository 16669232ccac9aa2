/**
 * The Poseidon account tree's records under the state root (tags 0x033c–0x033e), for the margin
 * proofs of src/privacy (issue 17). The engine keeps a Poseidon Merkle tree of the accounts whose
 * owner registered a commitment `Poseidon(secret)` (src/execution/account-tree.ts); these records
 * put it under the SHA-256 state root, so whatever certifies a state root certifies them:
 *
 *   AccountTreeRecord      under palisade/state/account-tree: the tree's root at `height`, how many
 *                          leaves it has (the anonymity set's upper bound), the maintenance rate and
 *                          the SHA-256 of the mark table (`MarkTableCodec`) the circuit's public
 *                          inputs are read from.
 *   OwnerCommitmentRecord  under palisade/state/owner-commitment ‖ index: the commitment an account
 *                          registered, once, and whose account it is.
 *   MarkTable              not stored: the canonical bytes whose hash the tree record commits, served
 *                          by the node so a verifier builds the statement from certified marks.
 *
 * Field elements (roots, commitments) are 32 bytes big-endian, below BN254's scalar field order.
 */
import { ContainerType, ListCompositeType, UintBigintType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
import { Bool, Bytes32, Uint32, Uint64 } from './primitives.ts';

/** Series a mark table may list: the engine's MAX_SERIES. */
export const MARK_TABLE_SERIES_MAX = 10_000;

export const AccountTreeRecordType = new ContainerType(
  { height: Uint64, root: Bytes32, leaves: Uint32, mmBps: Uint32, markTableSha256: Bytes32 },
  { typeName: 'AccountTreeRecord' },
);
export type AccountTreeRecord = ValueOf<typeof AccountTreeRecordType>;
export const AccountTreeRecordCodec = defineMessage({
  name: 'AccountTreeRecord',
  tag: 0x033c,
  type: AccountTreeRecordType,
});

export const OwnerCommitmentRecordType = new ContainerType(
  { index: Uint64, publicKey: Bytes32, commitment: Bytes32 },
  { typeName: 'OwnerCommitmentRecord' },
);
export type OwnerCommitmentRecord = ValueOf<typeof OwnerCommitmentRecordType>;
export const OwnerCommitmentRecordCodec = defineMessage({
  name: 'OwnerCommitmentRecord',
  tag: 0x033d,
  type: OwnerCommitmentRecordType,
});

export const MarkTableEntryType = new ContainerType(
  {
    seriesId: Uint32,
    isCall: Bool,
    /** The live index, quote base units per unit of underlying. */
    spot: Uint64,
    /** The engine's mark per unit of underlying, fixed point 10^18. */
    markPerUnit: new UintBigintType(16),
    lotUnderlyingE12: new UintBigintType(16),
  },
  { typeName: 'MarkTableEntry' },
);
export const MarkTableType = new ContainerType(
  {
    height: Uint64,
    mmBps: Uint32,
    /** Every series with a mark at `height`, by ascending id. */
    series: new ListCompositeType(MarkTableEntryType, MARK_TABLE_SERIES_MAX),
  },
  { typeName: 'MarkTable' },
);
export type MarkTable = ValueOf<typeof MarkTableType>;
export const MarkTableCodec = defineMessage({
  name: 'MarkTable',
  tag: 0x033e,
  type: MarkTableType,
  validate: (value) => {
    for (let i = 1; i < value.series.length; i++) {
      if (value.series[i]!.seriesId <= value.series[i - 1]!.seriesId)
        return { field: `series[${i}].seriesId`, reason: 'not ascending' };
    }
    return undefined;
  },
});
