/**
 * `RegisterCommitment`: the signer's ownership commitment `Poseidon(secret)` for margin proofs
 * (src/execution/account-tree.ts). Only for the signer's own account (the signature is the only
 * authority: there is no field naming an account), once, and never one another account holds: a
 * copied commitment would let one secret show two accounts, and a replaced one would let an account
 * show itself twice to one verifier under two secrets. The genesis keys are not traders: refused.
 */
import type { RegisterCommitment } from '../../codec/execution.ts';
import { FIELD_ORDER } from '../../crypto/poseidon-tree.ts';
import { bytesToField, registerOwner } from '../account-tree.ts';
import { isGenesisKey } from '../accounts.ts';
import { type EngineState, type Handled, hexKey } from '../state.ts';

export function registerCommitment(s: EngineState, signer: Uint8Array, action: RegisterCommitment): Handled {
  const account = s.accounts.get(hexKey(signer));
  if (account === undefined || isGenesisKey(s, signer)) return { status: 'UNAUTHORIZED' };
  const commitment = bytesToField(action.commitment);
  if (commitment === 0n || commitment >= FIELD_ORDER)
    return { status: 'INVALID_COMMITMENT', field: 'commitment' };
  if (s.accountTree.commitments.has(account.index)) return { status: 'COMMITMENT_ALREADY_SET' };
  if (s.accountTree.owners.has(commitment.toString())) return { status: 'COMMITMENT_TAKEN' };
  registerOwner(s, account, commitment);
  s.events.push({ type: 'commitmentRegistered', account: account.key, index: account.index });
  return { status: 'OK' };
}
