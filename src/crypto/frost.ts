/**
 * FROST(secp256k1, SHA-256) threshold Schnorr signatures (RFC 9591), from `@noble/curves`'s
 * `secp256k1_FROST`, unmodified. This module is the plumbing around it: validators are numbered
 * 0…n−1 and participant i has the RFC identifier i + 1 (RFC 9591 §4.1 forbids 0); every signature
 * share is verified (RFC 9591 §5.4) before aggregation, so a validator that sends a bad share is
 * named rather than silently breaking the signature.
 *
 * Two rounds (RFC 9591 §5): each chosen signer publishes nonce commitments (`frostCommit`), then,
 * once the coordinator has `threshold` of them, signs its share (`frostSignShare`); the
 * coordinator aggregates (`frostAggregate`). The output is 65 bytes: the group commitment R in
 * SEC1 compressed form (33) ‖ the scalar z, big-endian (32), and it verifies as
 * z·G = R + c·PK with c = H2(R ‖ PK ‖ message) — see src/interop/price-certificate.ts for how an
 * EVM contract recomputes c.
 */
import type { FrostPublic, FrostSecret, Nonces } from '@noble/curves/abstract/frost.js';
import { secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { invariant } from '../codec/invariant.ts';

export const FROST_SUITE = 'FROST-secp256k1-SHA256-v1';
export const FROST_SIGNATURE_BYTES = 65;
export const FROST_POINT_BYTES = 33;
export const FROST_SCALAR_BYTES = 32;

/** The RFC 9591 identifier of validator `index` (0-based): the scalar index + 1. */
export function participantIdentifier(index: number): string {
  invariant(Number.isInteger(index) && index >= 0 && index < 0xffff, 'participant index must be a u16');
  return secp256k1_FROST.Identifier.fromNumber(index + 1);
}

/** A validator's share of one keyset, from the DKG (src/crypto/dkg.ts). Keep `secret` private. */
export interface FrostKeyPackage {
  readonly epoch: number;
  readonly index: number;
  readonly threshold: number;
  readonly participants: number;
  /** The group public key, SEC1 compressed (33 bytes): what certificate verifiers hold. */
  readonly groupPublicKey: Uint8Array;
  readonly public: FrostPublic;
  readonly secret: FrostSecret;
}

/** A signer's round-one commitment, as the coordinator and the other signers see it. */
export interface FrostCommitment {
  readonly signer: number;
  readonly hiding: Uint8Array;
  readonly binding: Uint8Array;
}

export type FrostErrorCode =
  | 'BAD_SIGNATURE_SHARE'
  | 'MISSING_SIGNATURE_SHARE'
  | 'NOT_ENOUGH_SIGNERS'
  | 'UNKNOWN_SIGNER'
  | 'DUPLICATE_SIGNER'
  | 'NOT_A_SIGNER';

export class FrostError extends Error {
  override readonly name = 'FrostError';
  readonly code: FrostErrorCode;
  /** Validator indices at fault (for BAD_SIGNATURE_SHARE: whose share failed RFC 9591 §5.4). */
  readonly signers: readonly number[];

  constructor(code: FrostErrorCode, signers: readonly number[], detail: string) {
    super(`${code}: ${detail}${signers.length > 0 ? ` (validators ${signers.join(', ')})` : ''}`);
    this.code = code;
    this.signers = signers;
  }
}

/**
 * Round one: fresh nonces (kept by the signer, used once) and their public commitments.
 * @example const { nonces, commitment } = frostCommit(key);
 */
export function frostCommit(
  key: FrostKeyPackage,
  randomBytes?: (length?: number) => Uint8Array,
): { nonces: Nonces; commitment: FrostCommitment } {
  // RFC 9591 §4.1 nonce_generate hashes fresh randomness with the secret; `randomBytes` is for tests.
  const { nonces, commitments } = secp256k1_FROST.commit(key.secret, randomBytes as never);
  return {
    nonces,
    commitment: { signer: key.index, hiding: commitments.hiding, binding: commitments.binding },
  };
}

function commitmentList(publicPackage: FrostPublic, commitments: readonly FrostCommitment[]) {
  const seen = new Set<number>();
  for (const commitment of commitments) {
    if (seen.has(commitment.signer))
      throw new FrostError('DUPLICATE_SIGNER', [commitment.signer], 'two commitments from one signer');
    seen.add(commitment.signer);
    if (publicPackage.verifyingShares[participantIdentifier(commitment.signer)] === undefined)
      throw new FrostError('UNKNOWN_SIGNER', [commitment.signer], 'not a member of this keyset');
  }
  if (commitments.length < publicPackage.signers.min) {
    throw new FrostError(
      'NOT_ENOUGH_SIGNERS',
      [],
      `${commitments.length} commitments, threshold ${publicPackage.signers.min}`,
    );
  }
  // RFC 9591 §4.3: the commitment list is sorted by identifier; noble sorts too, we do it explicitly.
  return [...commitments]
    .sort((a, b) => a.signer - b.signer)
    .map((c) => ({ identifier: participantIdentifier(c.signer), hiding: c.hiding, binding: c.binding }));
}

/**
 * Round two: this signer's share of the signature over `message`. Consumes `nonces` (noble zeroes
 * them), so a nonce can never sign twice.
 * @throws FrostError when the commitment list is malformed or does not include this signer
 */
export function frostSignShare(
  key: FrostKeyPackage,
  nonces: Nonces,
  commitments: readonly FrostCommitment[],
  message: Uint8Array,
): Uint8Array {
  const list = commitmentList(key.public, commitments);
  if (!commitments.some((c) => c.signer === key.index))
    throw new FrostError('NOT_A_SIGNER', [key.index], 'this validator has no commitment in the list');
  return secp256k1_FROST.signShare(key.secret, key.public, nonces, list, message);
}

/**
 * RFC 9591 §5.4 for one signer's share: `false` (never a throw) when it does not verify or does not
 * parse, so a coordinator can name the signer the moment its share arrives.
 */
export function frostVerifyShare(
  publicPackage: FrostPublic,
  commitments: readonly FrostCommitment[],
  message: Uint8Array,
  signer: number,
  share: Uint8Array,
): boolean {
  try {
    const list = commitmentList(publicPackage, commitments);
    return (
      share instanceof Uint8Array &&
      share.length === FROST_SCALAR_BYTES &&
      commitments.some((c) => c.signer === signer) &&
      secp256k1_FROST.verifyShare(publicPackage, list, message, participantIdentifier(signer), share)
    );
  } catch {
    return false;
  }
}

/**
 * Validators whose shares fail RFC 9591 §5.4 verification (or are missing), ascending.
 * Never throws for malformed shares: a share that cannot be parsed is a bad share.
 */
export function findBadShares(
  publicPackage: FrostPublic,
  commitments: readonly FrostCommitment[],
  message: Uint8Array,
  shares: ReadonlyMap<number, Uint8Array>,
): number[] {
  const list = commitmentList(publicPackage, commitments);
  const bad: number[] = [];
  for (const commitment of [...commitments].sort((a, b) => a.signer - b.signer)) {
    const share = shares.get(commitment.signer);
    let valid = false;
    try {
      valid =
        share instanceof Uint8Array &&
        share.length === FROST_SCALAR_BYTES &&
        secp256k1_FROST.verifyShare(
          publicPackage,
          list,
          message,
          participantIdentifier(commitment.signer),
          share,
        );
    } catch {
      valid = false;
    }
    if (!valid) bad.push(commitment.signer);
  }
  return bad;
}

/**
 * Aggregates verified shares into one 65-byte signature.
 * @throws FrostError BAD_SIGNATURE_SHARE naming every validator whose share failed, or
 *   MISSING_SIGNATURE_SHARE naming those who committed but sent none
 */
export function frostAggregate(
  publicPackage: FrostPublic,
  commitments: readonly FrostCommitment[],
  message: Uint8Array,
  shares: ReadonlyMap<number, Uint8Array>,
): Uint8Array {
  const missing = commitments.filter((c) => !shares.has(c.signer)).map((c) => c.signer);
  if (missing.length > 0)
    throw new FrostError(
      'MISSING_SIGNATURE_SHARE',
      missing.sort((a, b) => a - b),
      'no share',
    );
  const bad = findBadShares(publicPackage, commitments, message, shares);
  if (bad.length > 0)
    throw new FrostError('BAD_SIGNATURE_SHARE', bad, 'share fails RFC 9591 §5.4 verification');
  const list = commitmentList(publicPackage, commitments);
  const byIdentifier: Record<string, Uint8Array> = {};
  for (const c of commitments) byIdentifier[participantIdentifier(c.signer)] = shares.get(c.signer)!;
  const signature = secp256k1_FROST.aggregate(publicPackage, list, message, byIdentifier);
  invariant(signature.length === FROST_SIGNATURE_BYTES, 'FROST signature must be 65 bytes');
  return signature;
}

/**
 * Aggregates shares without checking each first, as `frostAggregate` does: the aggregate signature
 * itself is verified (by @noble/curves' `aggregate`) before it is returned, so nothing that does
 * not verify under the group key ever leaves, and only when it fails are the shares checked one by
 * one, to name the signers at fault. One group commitment instead of one per share: a signing
 * session's coordinator, which this is for, saves t share verifications when everyone is honest.
 * @throws FrostError as `frostAggregate` (BAD_SIGNATURE_SHARE naming every bad share's signer)
 */
export function frostAggregateOptimistic(
  publicPackage: FrostPublic,
  commitments: readonly FrostCommitment[],
  message: Uint8Array,
  shares: ReadonlyMap<number, Uint8Array>,
): Uint8Array {
  const missing = commitments.filter((c) => !shares.has(c.signer)).map((c) => c.signer);
  if (missing.length > 0)
    throw new FrostError(
      'MISSING_SIGNATURE_SHARE',
      missing.sort((a, b) => a - b),
      'no share',
    );
  const list = commitmentList(publicPackage, commitments);
  const byIdentifier: Record<string, Uint8Array> = {};
  for (const c of commitments) byIdentifier[participantIdentifier(c.signer)] = shares.get(c.signer)!;
  let signature: Uint8Array;
  try {
    signature = secp256k1_FROST.aggregate(publicPackage, list, message, byIdentifier);
  } catch {
    // The slow path, only when a share is bad: every share is checked, and the bad ones named.
    return frostAggregate(publicPackage, commitments, message, shares);
  }
  invariant(signature.length === FROST_SIGNATURE_BYTES, 'FROST signature must be 65 bytes');
  return signature;
}

/** Verifies a FROST signature against a group public key; `false`, never a throw, on bad input. */
export function frostVerify(signature: Uint8Array, message: Uint8Array, groupPublicKey: Uint8Array): boolean {
  try {
    if (!(signature instanceof Uint8Array) || signature.length !== FROST_SIGNATURE_BYTES) return false;
    if (!(groupPublicKey instanceof Uint8Array) || groupPublicKey.length !== FROST_POINT_BYTES) return false;
    if (!(message instanceof Uint8Array)) return false;
    return secp256k1_FROST.verify(signature, message, groupPublicKey);
  } catch {
    return false;
  }
}
