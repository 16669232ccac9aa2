/**
 * Signing and checking single votes and proposals. A vote's signature covers
 * `domain(kind) ‖ chainId ‖ SSZ(VoteSignedBody{view, digest, sha256(extension)})`: the domain tag
 * separates the three kinds, so a notarize signature can never be replayed as a finalize.
 */
import {
  type Block,
  BlockCodec,
  type Vote,
  VoteKind,
  type VoteKindValue,
  VoteSignedBodyType,
} from '../codec/consensus.ts';
import { DomainTag, type DomainTagValue } from '../crypto/domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';

/** Checks one domain-separated signature; never throws. The simulator passes a memoizing one. */
export type SignatureVerifier = (
  publicKey: Uint8Array,
  tag: DomainTagValue,
  chainId: number,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

export const defaultVerifier: SignatureVerifier = verifyInDomain;

export const ZERO_DIGEST = new Uint8Array(32);

export function domainOf(kind: VoteKindValue): DomainTagValue {
  return kind === VoteKind.notarize
    ? DomainTag.notarize
    : kind === VoteKind.nullify
      ? DomainTag.nullify
      : DomainTag.finalize;
}

/** The digest votes sign for a block: SHA-256 of its canonical encoding. */
export function blockDigest(block: Block): Uint8Array {
  return sha256(BlockCodec.encode(block));
}

/** The genesis digest of chain `chainId`: the parent of height 1, notarized and final at view 0. */
export function genesisDigest(chainId: number): Uint8Array {
  const id = new Uint8Array(8);
  new DataView(id.buffer).setBigUint64(0, BigInt(chainId), false);
  return sha256(new TextEncoder().encode('PALISADE/CONSENSUS/GENESIS/v1'), id);
}

export function extensionHash(extension: Uint8Array): Uint8Array {
  return sha256(extension);
}

/** The bytes inside the domain that a vote of (view, digest, extension hash) signs. */
export function voteSignedBody(view: number, digest: Uint8Array, extensionDigest: Uint8Array): Uint8Array {
  return VoteSignedBodyType.serialize({ view, digest, extensionHash: extensionDigest });
}

export interface VoteToSign {
  kind: VoteKindValue;
  view: number;
  digest: Uint8Array;
  signerIndex: number;
  extension?: Uint8Array;
}

/**
 * @example const vote = signVote(signer, 7, { kind: VoteKind.nullify, view: 3, digest: ZERO_DIGEST, signerIndex: 0 });
 */
export function signVote(signer: Ed25519Signer, chainId: number, toSign: VoteToSign): Vote {
  const extension = toSign.extension ?? new Uint8Array(0);
  const body = voteSignedBody(toSign.view, toSign.digest, extensionHash(extension));
  return {
    kind: toSign.kind,
    view: toSign.view,
    digest: toSign.digest.slice(),
    signer: toSign.signerIndex,
    extension,
    signature: signInDomain(signer, domainOf(toSign.kind), chainId, body),
  };
}

/** True when `vote` is signed by `publicKey` on `chainId`; false on anything malformed. */
export function verifyVote(
  publicKey: Uint8Array,
  chainId: number,
  vote: Vote,
  verifier: SignatureVerifier = defaultVerifier,
): boolean {
  try {
    const body = voteSignedBody(vote.view, vote.digest, extensionHash(vote.extension));
    return verifier(publicKey, domainOf(vote.kind as VoteKindValue), chainId, body, vote.signature);
  } catch {
    return false;
  }
}
