/**
 * Certificates: a quorum of distinct validators' votes of one kind for one (view, digest). A
 * certificate stands alone: with the validator set and the chain id, anyone checks it, which is
 * what light clients and other chains need (Simplex, §3: notarization, nullification, finalization).
 */
import {
  type Certificate,
  CertificateCodec,
  isVoteKind,
  type Vote,
  type VoteKindValue,
} from '../codec/consensus.ts';
import type { ValidatorSet } from './validators.ts';
import { defaultVerifier, domainOf, extensionHash, type SignatureVerifier, voteSignedBody } from './votes.ts';

/** Builds a certificate from verified votes of one kind, view and digest (any order). */
export function certificateFromVotes(
  kind: VoteKindValue,
  view: number,
  digest: Uint8Array,
  votes: readonly Vote[],
): Certificate {
  const entries = [...votes]
    .sort((a, b) => a.signer - b.signer)
    .map((vote) => ({
      signer: vote.signer,
      extensionHash: extensionHash(vote.extension),
      signature: vote.signature,
    }));
  return { kind, view, digest: digest.slice(), votes: entries };
}

/**
 * True when `certificate` carries a quorum of distinct, in-range signers whose signatures all
 * verify on `chainId`. Never throws; a certificate that is malformed in any way is simply invalid.
 * @example verifyCertificate(validatorSet, chainId, certificate) // true or false
 */
export function verifyCertificate(
  validators: ValidatorSet,
  chainId: number,
  certificate: Certificate,
  verifier: SignatureVerifier = defaultVerifier,
): boolean {
  try {
    if (!isVoteKind(certificate.kind) || !Number.isSafeInteger(certificate.view) || certificate.view < 1)
      return false;
    if (!(certificate.digest instanceof Uint8Array) || certificate.digest.length !== 32) return false;
    const votes = certificate.votes;
    if (!Array.isArray(votes) || votes.length < validators.quorum || votes.length > validators.size)
      return false;
    let previous = -1;
    for (const entry of votes) {
      if (!Number.isInteger(entry.signer) || entry.signer <= previous || entry.signer >= validators.size)
        return false;
      previous = entry.signer;
    }
    const tag = domainOf(certificate.kind);
    for (const entry of votes) {
      const body = voteSignedBody(certificate.view, certificate.digest, entry.extensionHash);
      if (!verifier(validators.publicKeys[entry.signer]!, tag, chainId, body, entry.signature)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Canonical bytes of a certificate, for storage and comparisons. */
export function encodeCertificate(certificate: Certificate): Uint8Array {
  return CertificateCodec.encode(certificate);
}
