/**
 * Equivocation evidence: two signed votes by one validator in one view that Simplex forbids an
 * honest validator to send together (§3): two notarizes of different blocks, two finalizes of
 * different blocks, or a nullify and a finalize. Anyone with the validator set checks it alone.
 */
import { type Evidence, type Vote, VoteKind } from '../codec/consensus.ts';
import type { EarlyKeyShare } from '../codec/envelope.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { keyShareOfMessage } from '../crypto/shutter/envelope.ts';
import { type ShareVerificationContext, verifyEarlyShareEvidence } from '../crypto/shutter/key-shares.ts';
import type { ValidatorSet } from './validators.ts';
import { defaultVerifier, type SignatureVerifier, verifyVote } from './votes.ts';

export type EquivocationKind = 'notarize-conflict' | 'finalize-conflict' | 'nullify-and-finalize';

/** How two votes by the same validator in the same view conflict, or undefined if they do not. */
export function conflictOf(first: Vote, second: Vote): EquivocationKind | undefined {
  if (first.signer !== second.signer || first.view !== second.view) return undefined;
  if (first.kind === VoteKind.notarize && second.kind === VoteKind.notarize) {
    return bytesEqual(first.digest, second.digest) ? undefined : 'notarize-conflict';
  }
  if (first.kind === VoteKind.finalize && second.kind === VoteKind.finalize) {
    return bytesEqual(first.digest, second.digest) ? undefined : 'finalize-conflict';
  }
  const kinds = new Set([first.kind, second.kind]);
  if (kinds.has(VoteKind.nullify) && kinds.has(VoteKind.finalize)) return 'nullify-and-finalize';
  return undefined;
}

/**
 * The validator index that `evidence` proves Byzantine, or undefined when it proves nothing
 * (votes that do not conflict, a signer out of range, or a signature that does not verify).
 * Never throws.
 */
export function verifyEvidence(
  validators: ValidatorSet,
  chainId: number,
  evidence: Evidence,
  verifier: SignatureVerifier = defaultVerifier,
): number | undefined {
  try {
    const { first, second } = evidence;
    if (conflictOf(first, second) === undefined) return undefined;
    const key = validators.publicKeys[first.signer];
    if (key === undefined) return undefined;
    if (!verifyVote(key, chainId, first, verifier) || !verifyVote(key, chainId, second, verifier))
      return undefined;
    return first.signer;
  } catch {
    return undefined;
  }
}

/**
 * `EarlyKeyShare` evidence (issue 14, src/codec/envelope.ts): validator i's own signed
 * decryption-key shares for batch b, recorded while the finalized height was below b. Validators
 * sign a batch's shares only once the block is final, so this proves i Byzantine: it handed out
 * key material for b's orders before their order was fixed. `finalizedHeightAtRecord` must be the recording chain's, never the accuser's. Returns
 * the offender's index, or undefined when the evidence proves nothing. Never throws.
 */
export function verifyEarlyKeyShare(
  evidence: EarlyKeyShare,
  context: ShareVerificationContext,
): number | undefined {
  try {
    const verdict = verifyEarlyShareEvidence(
      { share: keyShareOfMessage(evidence.share), finalizedHeightAtRecord: evidence.finalizedHeightAtRecord },
      context,
    );
    return verdict.ok ? verdict.offender : undefined;
  } catch {
    return undefined;
  }
}
