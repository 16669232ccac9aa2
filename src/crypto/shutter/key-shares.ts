/**
 * Decryption-key shares for Shutter-compatible threshold IBE (see ./ibe.ts for the scheme).
 *
 * Identity. An order from `sender` for batch `batch` (the block height whose order it joins) is
 * encrypted to the 32-byte identity preimage
 *
 *   id = SHA-256(len ‖ "PALISADE/SHUTTER/IDENTITY/v1" ‖ chain id u64 ‖ batch u64 ‖ sender (32 bytes))
 *
 * so the key the validators release for one (batch, sender) opens nothing of any other sender's
 * or any other batch's orders, and a key can be asked for only by naming an envelope the chain
 * has ordered. Q = H1(id) as Shutter hashes identities.
 *
 * The chain uses the coarser {@link batchIdentity} (one identity per block: one key opens all of
 * block h's orders and nothing of any other block's) because the per-sender form costs a hash,
 * shares and a combine per order; `orderIdentity` stays for the figures that compare the two.
 *
 * Shares. Validator i holds s_i (./eon-dkg.ts) and releases D_i = s_i·Q. It is checked against
 * the validator's public share P_i = s_i·g2 by e(D_i, g2) = e(Q, P_i). Many shares for one
 * identity are checked at once with random weights ρ_i (Bellare–Garay–Rabin 1998, small
 * exponents): e(Σρ_i·D_i, g2) = e(Q, Σρ_i·P_i), two pairings whatever their number; when that
 * fails each share is checked alone to name the bad ones. t shares combine by Lagrange
 * interpolation at 0: K = Σ λ_i·D_i = s·Q.
 *
 * Signatures. Each released share is signed with the validator's Ed25519 identity key over
 *
 *   len ‖ "PALISADE/SHUTTER/KEY-SHARE/v1" ‖ chain id u64 ‖ eon u64 ‖ batch u64 ‖ validator u16 ‖ id ‖ D_i
 *
 * A validator may release shares for batch b only once b is finalized. A valid signed share for
 * a batch that was not final when the chain recorded it is therefore attributable evidence
 * ({@link EarlyShareEvidence}).
 */
import { createHash } from 'node:crypto';
import { pippenger } from '@noble/curves/abstract/curve.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { invariant } from '../../codec/invariant.ts';
import { ed25519Verify } from '../ed25519.ts';
import { eonIdentifier, randomEonScalar } from './eon-dkg.ts';
import {
  decodeG1,
  Fr,
  G1,
  G1_COMPRESSED_BYTES,
  type G1Point,
  G2,
  type G2Point,
  shutterIdentityPoint,
} from './ibe.ts';
import type { PairingBackend } from './pairing-backend.ts';

export const ShutterDomainTag = Object.freeze({
  identity: 'PALISADE/SHUTTER/IDENTITY/v1',
  batchIdentity: 'PALISADE/SHUTTER/BATCH-IDENTITY/v1',
  keyShare: 'PALISADE/SHUTTER/KEY-SHARE/v1',
  envelope: 'PALISADE/SHUTTER/ENVELOPE/v1',
} as const);

/** Length-prefixed domain tag ‖ chain id u64 ‖ body: the layout of src/crypto/domain.ts. */
export function shutterDomainBytes(
  tag: (typeof ShutterDomainTag)[keyof typeof ShutterDomainTag],
  chainId: number,
  body: Uint8Array,
): Uint8Array {
  return domainBytes(tag, chainId, body);
}

export const IDENTITY_PREIMAGE_BYTES = 32;
const SENDER_BYTES = 32;
const Fp12 = bls12_381.fields.Fp12;

function domainBytes(tag: string, chainId: number, body: Uint8Array): Uint8Array {
  invariant(Number.isSafeInteger(chainId) && chainId >= 0, 'chain id must be a non-negative safe integer');
  const tagBytes = new TextEncoder().encode(tag);
  const out = new Uint8Array(1 + tagBytes.length + 8 + body.length);
  out[0] = tagBytes.length;
  out.set(tagBytes, 1);
  new DataView(out.buffer).setBigUint64(1 + tagBytes.length, BigInt(chainId));
  out.set(body, 1 + tagBytes.length + 8);
  return out;
}

function u64(value: number): Uint8Array {
  invariant(Number.isSafeInteger(value) && value >= 0, 'u64 field must be a non-negative safe integer');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** The identity preimage of `sender`'s orders in `batch` on `chainId`. */
export function orderIdentity(chainId: number, batch: number, sender: Uint8Array): Uint8Array {
  invariant(sender.length === SENDER_BYTES, 'sender must be a 32-byte public key');
  const body = new Uint8Array(8 + SENDER_BYTES);
  body.set(u64(batch), 0);
  body.set(sender, 8);
  return new Uint8Array(
    createHash('sha256')
      .update(domainBytes(ShutterDomainTag.identity, chainId, body))
      .digest(),
  );
}

/**
 * The identity preimage of every order in `batch` (the block height whose order it joins) on
 * `chainId`: SHA-256(len ‖ "PALISADE/SHUTTER/BATCH-IDENTITY/v1" ‖ chain id u64 ‖ batch u64). One
 * key per block opens all of that block's orders and nothing of any other block's: the key for
 * height h is s·H1(id(h)), and s·H1(id(h')) for h' ≠ h cannot be computed from it (BDH).
 */
export function batchIdentity(chainId: number, batch: number): Uint8Array {
  return new Uint8Array(
    createHash('sha256')
      .update(domainBytes(ShutterDomainTag.batchIdentity, chainId, u64(batch)))
      .digest(),
  );
}

/** D_i = s_i·Q. */
export function computeKeyShare(secretShare: bigint, identity: G1Point): G1Point {
  invariant(secretShare > 0n && secretShare < Fr.ORDER, 'secret share must be a non-zero scalar');
  return identity.multiply(secretShare);
}

/** e(D_i, g2) = e(Q, P_i). Never throws. */
export function verifyKeyShare(share: G1Point, publicShare: G2Point, identity: G1Point): boolean {
  if (share.is0() || publicShare.is0() || identity.is0()) return false;
  return Fp12.eql(
    bls12_381.pairingBatch([
      { g1: share, g2: G2.BASE.negate() },
      { g1: identity, g2: publicShare },
    ]),
    Fp12.ONE,
  );
}

export interface IndexedKeyShare {
  readonly validatorIndex: number;
  readonly share: G1Point;
}

/**
 * The validators among `shares` whose share is wrong for `identity`: [] when all are right. One
 * weighted two-pairing check first; per-share checks only when it fails.
 */
export function findBadKeyShares(
  shares: readonly IndexedKeyShare[],
  publicShares: readonly G2Point[],
  identity: G1Point,
): number[] {
  const unknown = shares
    .filter((s) => publicShares[s.validatorIndex] === undefined)
    .map((s) => s.validatorIndex);
  const known = shares.filter((s) => publicShares[s.validatorIndex] !== undefined);
  if (known.length === 0) return unknown;
  if (known.every((s) => !s.share.is0())) {
    let left = G1.ZERO;
    let right = G2.ZERO;
    for (const { validatorIndex, share } of known) {
      // 128-bit weights suffice for soundness 2^-128 and halve the multiplication cost.
      const weight = batchWeight();
      left = left.add(share.multiply(weight));
      right = right.add(publicShares[validatorIndex]!.multiply(weight));
    }
    const product = bls12_381.pairingBatch([
      { g1: left, g2: G2.BASE.negate() },
      { g1: identity, g2: right },
    ]);
    if (Fp12.eql(product, Fp12.ONE)) return unknown;
  }
  const bad = known.filter((s) => !verifyKeyShare(s.share, publicShares[s.validatorIndex]!, identity));
  return [...unknown, ...bad.map((s) => s.validatorIndex)].sort((a, b) => a - b);
}

/** λ_i for interpolation at 0 over the identifiers of `indices`. */
export function lagrangeAtZero(indices: readonly number[], index: number): bigint {
  const xi = eonIdentifier(index);
  let numerator = 1n;
  let denominator = 1n;
  for (const other of indices) {
    if (other === index) continue;
    const xj = eonIdentifier(other);
    numerator = Fr.mul(numerator, xj);
    denominator = Fr.mul(denominator, Fr.sub(xj, xi));
  }
  return Fr.div(numerator, denominator);
}

export type CombineResult =
  | { readonly ok: true; readonly key: G1Point }
  | { readonly ok: false; readonly code: 'TOO_FEW_SHARES' | 'DUPLICATE_VALIDATOR'; readonly have: number };

/**
 * K = Σ λ_i·D_i over exactly the first `threshold` distinct shares (callers verify them first with
 * {@link findBadKeyShares}; the combined key can also be checked with `verifyShutterDecryptionKey`).
 */
export function combineKeyShares(shares: readonly IndexedKeyShare[], threshold: number): CombineResult {
  const indices = shares.map((s) => s.validatorIndex);
  if (new Set(indices).size !== indices.length)
    return { ok: false, code: 'DUPLICATE_VALIDATOR', have: shares.length };
  if (shares.length < threshold) return { ok: false, code: 'TOO_FEW_SHARES', have: shares.length };
  const used = shares.slice(0, threshold);
  const usedIndices = used.map((s) => s.validatorIndex);
  const key = used.reduce(
    (sum, s) => sum.add(s.share.multiply(lagrangeAtZero(usedIndices, s.validatorIndex))),
    G1.ZERO,
  );
  return { ok: true, key };
}

/**
 * Checks the combined keys of a whole block at once. Every key is K_j = s·Q_j under the same
 * eon key P, so with random 128-bit weights ρ_j
 *
 *   e(Σ ρ_j·K_j, g2) = e(Σ ρ_j·Q_j, P)
 *
 * holds for all j with certainty when every key is right, and with probability ≤ 2^-128 when
 * any is wrong: two pairings and two multi-scalar multiplications (Pippenger) for k keys, against
 * 2k pairings one by one. `false` says only that some key is wrong; callers then check the keys
 * (or their validators' shares) one at a time to name it. Never throws.
 */
export function verifyDecryptionKeysBatch(
  keys: readonly G1Point[],
  identities: readonly G1Point[],
  eonPublicKey: G2Point,
): boolean {
  if (keys.length !== identities.length || eonPublicKey.is0()) return false;
  if (keys.length === 0) return true;
  if (keys.some((key) => key.is0()) || identities.some((identity) => identity.is0())) return false;
  const weights = keys.map(batchWeight);
  const weightedKeys = pippenger(G1, [...keys], weights);
  const weightedIdentities = pippenger(G1, [...identities], weights);
  if (weightedKeys.is0() || weightedIdentities.is0()) return false;
  return Fp12.eql(
    bls12_381.pairingBatch([
      { g1: weightedKeys, g2: G2.BASE.negate() },
      { g1: weightedIdentities, g2: eonPublicKey },
    ]),
    Fp12.ONE,
  );
}

function batchWeight(): bigint {
  return (randomEonScalar() & ((1n << 128n) - 1n)) | 1n;
}

/**
 * The block rule's bytes path for {@link verifyDecryptionKeysBatch} on a pairing backend: are all
 * `keys` s·Q_j for the s behind `publicKey`? With `publicKey` the eon key this checks a block's
 * combined keys; with validator i's public share P_i it checks all of i's shares for the block.
 * `false` on any malformed point. Never throws.
 */
export function verifyBlockKeysWith(
  backend: PairingBackend,
  keys: readonly Uint8Array[],
  identities: readonly Uint8Array[],
  publicKey: Uint8Array,
): boolean {
  if (keys.length !== identities.length) return false;
  if (keys.length === 0) return true;
  const weights = keys.map(batchWeight);
  try {
    const left = backend.g1MultiScalar(keys, weights);
    const right = backend.g1MultiScalar(identities, weights);
    if (left === undefined || right === undefined) return false;
    return backend.pairingEquals(left, right, publicKey);
  } catch {
    return false;
  }
}

/** {@link combineKeyShares} on a pairing backend, compressed shares in and the key out. */
export function combineKeySharesWith(
  backend: PairingBackend,
  shares: readonly { readonly validatorIndex: number; readonly share: Uint8Array }[],
  threshold: number,
): { readonly ok: true; readonly key: Uint8Array } | Extract<CombineResult, { ok: false }> {
  const indices = shares.map((s) => s.validatorIndex);
  if (new Set(indices).size !== indices.length)
    return { ok: false, code: 'DUPLICATE_VALIDATOR', have: shares.length };
  if (shares.length < threshold) return { ok: false, code: 'TOO_FEW_SHARES', have: shares.length };
  const used = shares.slice(0, threshold);
  const usedIndices = used.map((s) => s.validatorIndex);
  const key = backend.g1MultiScalar(
    used.map((s) => s.share),
    used.map((s) => lagrangeAtZero(usedIndices, s.validatorIndex)),
  );
  invariant(key !== undefined, 'shares must be decoded and checked before combining');
  return { ok: true, key };
}

/** What a validator signs when it releases a share. */
export interface KeyShareStatement {
  readonly chainId: number;
  readonly eon: number;
  readonly batch: number;
  readonly validatorIndex: number;
  readonly identity: Uint8Array;
  readonly share: G1Point;
}

export interface SignedKeyShare extends KeyShareStatement {
  readonly signature: Uint8Array;
}

/** The exact bytes a validator signs for `statement`. */
export function keyShareSigningBytes(statement: KeyShareStatement): Uint8Array {
  invariant(statement.identity.length === IDENTITY_PREIMAGE_BYTES, 'identity preimage must be 32 bytes');
  invariant(
    Number.isInteger(statement.validatorIndex) &&
      statement.validatorIndex >= 0 &&
      statement.validatorIndex < 0xffff,
    'validator index must be a u16',
  );
  const body = new Uint8Array(8 + 8 + 2 + IDENTITY_PREIMAGE_BYTES + G1_COMPRESSED_BYTES);
  body.set(u64(statement.eon), 0);
  body.set(u64(statement.batch), 8);
  new DataView(body.buffer).setUint16(16, statement.validatorIndex);
  body.set(statement.identity, 18);
  body.set(statement.share.toBytes(true), 18 + IDENTITY_PREIMAGE_BYTES);
  return domainBytes(ShutterDomainTag.keyShare, statement.chainId, body);
}

export interface ShareSigner {
  sign(message: Uint8Array): Uint8Array;
}

export type ReleaseResult =
  | { readonly ok: true; readonly share: SignedKeyShare }
  | {
      readonly ok: false;
      readonly code: 'BATCH_NOT_FINALIZED';
      readonly batch: number;
      readonly finalizedHeight: number;
    };

/**
 * The only way a validator's share leaves it: refused for a batch above the finalized height,
 * whatever the caller's reason (a vote for the block is not finality).
 */
export function releaseKeyShare(
  parameters: {
    readonly chainId: number;
    readonly eon: number;
    readonly validatorIndex: number;
    readonly secretShare: bigint;
    readonly signer: ShareSigner;
  },
  request: { readonly batch: number; readonly sender: Uint8Array; readonly finalizedHeight: number },
): ReleaseResult {
  if (request.batch > request.finalizedHeight)
    return {
      ok: false,
      code: 'BATCH_NOT_FINALIZED',
      batch: request.batch,
      finalizedHeight: request.finalizedHeight,
    };
  return signShare(
    parameters,
    request.batch,
    orderIdentity(parameters.chainId, request.batch, request.sender),
  );
}

/**
 * {@link releaseKeyShare} for the block's single identity {@link batchIdentity}: the share every
 * validator releases for block `batch` once it is final, whatever orders the block holds.
 */
export function releaseBatchKeyShare(
  parameters: Parameters<typeof releaseKeyShare>[0],
  request: { readonly batch: number; readonly finalizedHeight: number },
): ReleaseResult {
  if (request.batch > request.finalizedHeight)
    return {
      ok: false,
      code: 'BATCH_NOT_FINALIZED',
      batch: request.batch,
      finalizedHeight: request.finalizedHeight,
    };
  return signShare(parameters, request.batch, batchIdentity(parameters.chainId, request.batch));
}

function signShare(
  parameters: Parameters<typeof releaseKeyShare>[0],
  batch: number,
  identity: Uint8Array,
): ReleaseResult {
  const statement: KeyShareStatement = {
    chainId: parameters.chainId,
    eon: parameters.eon,
    batch,
    validatorIndex: parameters.validatorIndex,
    identity,
    share: computeKeyShare(parameters.secretShare, shutterIdentityPoint(identity)),
  };
  return {
    ok: true,
    share: Object.freeze({
      ...statement,
      signature: parameters.signer.sign(keyShareSigningBytes(statement)),
    }),
  };
}

export interface ShareVerificationContext {
  readonly chainId: number;
  readonly eon: number;
  /** Ed25519 identity keys by validator index. */
  readonly validatorKeys: readonly Uint8Array[];
  /** Eon public shares P_i by validator index. */
  readonly publicShares: readonly G2Point[];
}

export type SignedShareCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code:
        | 'WRONG_CHAIN'
        | 'WRONG_EON'
        | 'UNKNOWN_VALIDATOR'
        | 'BAD_SIGNATURE'
        | 'BAD_SHARE'
        | 'MALFORMED';
    };

/** Signature, membership and pairing check of a received share. Never throws. */
export function checkSignedKeyShare(
  share: SignedKeyShare,
  context: ShareVerificationContext,
): SignedShareCheck {
  if (share.chainId !== context.chainId) return { ok: false, code: 'WRONG_CHAIN' };
  if (share.eon !== context.eon) return { ok: false, code: 'WRONG_EON' };
  const key = context.validatorKeys[share.validatorIndex];
  const publicShare = context.publicShares[share.validatorIndex];
  if (key === undefined || publicShare === undefined) return { ok: false, code: 'UNKNOWN_VALIDATOR' };
  let bytes: Uint8Array;
  try {
    bytes = keyShareSigningBytes(share);
  } catch {
    return { ok: false, code: 'MALFORMED' };
  }
  if (!ed25519Verify(key, bytes, share.signature)) return { ok: false, code: 'BAD_SIGNATURE' };
  if (!verifyKeyShare(share.share, publicShare, shutterIdentityPoint(share.identity)))
    return { ok: false, code: 'BAD_SHARE' };
  return { ok: true };
}

/**
 * Proof that validator `share.validatorIndex` released key material for batch `share.batch`
 * before that batch was final: its own signed, valid share, recorded by the chain at a point where
 * the finalized height was `finalizedHeightAtRecord` < `share.batch`. The block rule supplies
 * that height from its own state when it includes the evidence, so the accuser cannot choose it.
 */
export interface EarlyShareEvidence {
  readonly share: SignedKeyShare;
  readonly finalizedHeightAtRecord: number;
}

type SignedShareFailure = Extract<SignedShareCheck, { ok: false }>['code'];

export type EarlyShareVerdict =
  | { readonly ok: true; readonly offender: number; readonly batch: number }
  | { readonly ok: false; readonly code: 'NOT_EARLY' | SignedShareFailure };

/** Checks evidence of an early release. Never throws. */
export function verifyEarlyShareEvidence(
  evidence: EarlyShareEvidence,
  context: ShareVerificationContext,
): EarlyShareVerdict {
  const check = checkSignedKeyShare(evidence.share, context);
  if (!check.ok) return { ok: false, code: check.code };
  if (evidence.share.batch <= evidence.finalizedHeightAtRecord) return { ok: false, code: 'NOT_EARLY' };
  return { ok: true, offender: evidence.share.validatorIndex, batch: evidence.share.batch };
}

/** Decodes a 48-byte compressed share from untrusted bytes. @throws {CodecError} */
export function decodeKeyShare(bytes: Uint8Array): G1Point {
  return decodeG1(bytes, 'keyShare.share');
}

/**
 * {@link verifyEarlyShareEvidence} for batch shares: the signed share must also be for its
 * batch's own identity, so what it leaked is the key of a block that was not yet final.
 */
export function verifyEarlyBatchShareEvidence(
  evidence: EarlyShareEvidence,
  context: ShareVerificationContext,
): EarlyShareVerdict | { readonly ok: false; readonly code: 'WRONG_IDENTITY' } {
  const expected = batchIdentity(context.chainId, evidence.share.batch);
  const identity = evidence.share.identity;
  if (identity.length !== expected.length || identity.some((byte, i) => byte !== expected[i]))
    return { ok: false, code: 'WRONG_IDENTITY' };
  return verifyEarlyShareEvidence(evidence, context);
}
