/**
 * Decryption-key shares for Shutter-compatible threshold IBE (see ./ibe.ts for the scheme).
 *
 * Identity. Every encrypted order carries its own identity, chosen by its sender: the envelope
 * names a random 32-byte `identityPrefix`, and the order is encrypted to the identity preimage
 *
 *   id = SHA-256(len ‖ "PALISADE/SHUTTER/IDENTITY/v2" ‖ chain id u64 ‖ sender (32 bytes) ‖ prefix)
 *
 * (Shutter's Gnosis deployment makes identities the same way, from a sender and a prefix it
 * picks). Nobody but the sender can make an envelope for it (the envelope is signed), so nobody
 * can have a key released for another user's orders; the key opens that one envelope and nothing
 * else, and it is released only for an envelope a finalized block admitted, so an order that was
 * never included is never readable. Q = H1(id) as Shutter hashes identities.
 *
 * Shares. Validator i holds s_i (./eon-dkg.ts) and releases D_ij = s_i·Q_j for every envelope j
 * of a finalized batch, all in one signed statement. Shares are checked against the validator's
 * public share P_i = s_i·g2 by e(D_ij, g2) = e(Q_j, P_i); all of one validator's shares for a batch
 * are checked at once with random weights ρ_j (Bellare–Garay–Rabin 1998, small exponents):
 * e(Σρ_j·D_ij, g2) = e(Σρ_j·Q_j, P_i), two pairings whatever their number. t shares of one
 * identity combine by Lagrange interpolation at 0: K_j = Σ λ_i·D_ij = s·Q_j.
 *
 * Signatures. Each validator signs its statement for a batch with its Ed25519 identity key over
 *
 *   len ‖ "PALISADE/SHUTTER/KEY-SHARE/v2" ‖ chain id u64 ‖ eon u64 ‖ batch u64 ‖ validator u16 ‖
 *   SHA-256(id_1 ‖ … ‖ id_k) ‖ k u16 ‖ D_i1 ‖ … ‖ D_ik
 *
 * A validator may sign a statement for batch b only once b is finalized. A signed statement for a
 * batch that was not final when the chain recorded it is therefore attributable evidence
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
import { nobleBackend, type PairingBackend } from './pairing-backend.ts';

export const ShutterDomainTag = Object.freeze({
  identity: 'PALISADE/SHUTTER/IDENTITY/v2',
  keyShare: 'PALISADE/SHUTTER/KEY-SHARE/v2',
  envelope: 'PALISADE/SHUTTER/ENVELOPE/v2',
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

export const IDENTITY_PREFIX_BYTES = 32;

/** The identity preimage of `sender`'s envelope that names `prefix`, on `chainId` (see the header). */
export function envelopeIdentity(chainId: number, sender: Uint8Array, prefix: Uint8Array): Uint8Array {
  invariant(sender.length === SENDER_BYTES, 'sender must be a 32-byte public key');
  invariant(prefix.length === IDENTITY_PREFIX_BYTES, 'identity prefix must be 32 bytes');
  const body = new Uint8Array(SENDER_BYTES + IDENTITY_PREFIX_BYTES);
  body.set(sender, 0);
  body.set(prefix, SENDER_BYTES);
  return new Uint8Array(
    createHash('sha256')
      .update(domainBytes(ShutterDomainTag.identity, chainId, body))
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

/**
 * What a validator signs when it releases its shares of one batch: one share per admitted
 * envelope, in batch order, each D_ij = s_i·H1(id_j), and the SHA-256 of the identities they are
 * for (`identitiesRoot`), so the statement names exactly which keys it hands out.
 */
export interface KeyShareStatement {
  readonly chainId: number;
  readonly eon: number;
  readonly batch: number;
  readonly validatorIndex: number;
  readonly identitiesRoot: Uint8Array;
  /** Compressed G1 points, one per identity. */
  readonly shares: readonly Uint8Array[];
}

export interface SignedKeyShare extends KeyShareStatement {
  readonly signature: Uint8Array;
}

/** SHA-256 of the batch's identity preimages, concatenated in batch order. */
export function identitiesRoot(identities: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const identity of identities) {
    invariant(identity.length === IDENTITY_PREIMAGE_BYTES, 'identity preimage must be 32 bytes');
    hash.update(identity);
  }
  return new Uint8Array(hash.digest());
}

/** The exact bytes a validator signs for `statement`. */
export function keyShareSigningBytes(statement: KeyShareStatement): Uint8Array {
  invariant(statement.identitiesRoot.length === 32, 'identities root must be 32 bytes');
  invariant(
    Number.isInteger(statement.validatorIndex) &&
      statement.validatorIndex >= 0 &&
      statement.validatorIndex < 0xffff,
    'validator index must be a u16',
  );
  invariant(statement.shares.length < 0x10000, 'share count must be a u16');
  const head = 8 + 8 + 2 + 32 + 2;
  const body = new Uint8Array(head + G1_COMPRESSED_BYTES * statement.shares.length);
  body.set(u64(statement.eon), 0);
  body.set(u64(statement.batch), 8);
  const view = new DataView(body.buffer);
  view.setUint16(16, statement.validatorIndex);
  body.set(statement.identitiesRoot, 18);
  view.setUint16(50, statement.shares.length);
  statement.shares.forEach((share, j) => {
    invariant(share.length === G1_COMPRESSED_BYTES, 'a share is a 48-byte compressed G1 point');
    body.set(share, head + G1_COMPRESSED_BYTES * j);
  });
  return domainBytes(ShutterDomainTag.keyShare, statement.chainId, body);
}

export interface ShareSigner {
  sign(message: Uint8Array): Uint8Array;
}

export type ReleaseResult =
  | { readonly ok: true; readonly share: SignedKeyShare }
  | {
      readonly ok: false;
      readonly code: 'BATCH_NOT_FINALIZED' | 'EMPTY_BATCH';
      readonly batch: number;
      readonly finalizedHeight: number;
    };

/**
 * The only way a validator's shares leave it: refused for a batch above the finalized height,
 * whatever the caller's reason (a vote for the block is not finality). `identities` are the batch's
 * admitted envelopes' identities ({@link envelopeIdentity}), in batch order; `points` their H1 when
 * the caller holds them (else hashed here).
 */
export function releaseBatchKeyShares(
  parameters: {
    readonly chainId: number;
    readonly eon: number;
    readonly validatorIndex: number;
    readonly secretShare: bigint;
    readonly signer: ShareSigner;
    readonly backend?: PairingBackend;
  },
  request: {
    readonly batch: number;
    readonly finalizedHeight: number;
    readonly identities: readonly Uint8Array[];
    readonly points?: readonly Uint8Array[];
  },
): ReleaseResult {
  const refusal = (code: 'BATCH_NOT_FINALIZED' | 'EMPTY_BATCH'): ReleaseResult => ({
    ok: false,
    code,
    batch: request.batch,
    finalizedHeight: request.finalizedHeight,
  });
  if (request.batch > request.finalizedHeight) return refusal('BATCH_NOT_FINALIZED');
  if (request.identities.length === 0) return refusal('EMPTY_BATCH');
  invariant(
    parameters.secretShare > 0n && parameters.secretShare < Fr.ORDER,
    'secret share must be a non-zero scalar',
  );
  const points = request.points ?? identityPointsOf(request.identities);
  const shares = points.map((point) => {
    const share = parameters.backend?.g1Multiply(point, parameters.secretShare);
    return share ?? computeKeyShare(parameters.secretShare, decodeG1(point, 'identity')).toBytes(true);
  });
  const statement: KeyShareStatement = {
    chainId: parameters.chainId,
    eon: parameters.eon,
    batch: request.batch,
    validatorIndex: parameters.validatorIndex,
    identitiesRoot: identitiesRoot(request.identities),
    shares,
  };
  return {
    ok: true,
    share: Object.freeze({
      ...statement,
      signature: parameters.signer.sign(keyShareSigningBytes(statement)),
    }),
  };
}

/**
 * The batch's keys from the first `threshold` statements (distinct validators, each with one share
 * per envelope): K_j = Σ λ_i·D_ij for every envelope j, 48 bytes each, concatenated in batch order.
 * Undefined when there are too few statements, their share counts differ, or a share is no G1
 * point. Callers check the shares first (`checkSignedKeyShare`) or the keys after.
 */
export function combineBatchKeyShares(
  statements: readonly Pick<SignedKeyShare, 'validatorIndex' | 'shares'>[],
  threshold: number,
  backend: PairingBackend = nobleBackend,
): Uint8Array | undefined {
  if (statements.length < threshold) return undefined;
  const used = statements.slice(0, threshold);
  const count = used[0]!.shares.length;
  if (used.some((s) => s.shares.length !== count)) return undefined;
  const key = new Uint8Array(G1_COMPRESSED_BYTES * count);
  for (let j = 0; j < count; j++) {
    let combined: ReturnType<typeof combineKeySharesWith>;
    try {
      combined = combineKeySharesWith(
        backend,
        used.map((s) => ({ validatorIndex: s.validatorIndex, share: s.shares[j]! })),
        threshold,
      );
    } catch {
      return undefined;
    }
    if (!combined.ok) return undefined;
    key.set(combined.key, G1_COMPRESSED_BYTES * j);
  }
  return key;
}

/** Identity points H1(id) are the same on every use: kept for the identities seen lately. */
const IDENTITY_POINTS_KEPT = 8192;
const identityPoints = new Map<string, Uint8Array>();

/**
 * H1(id), compressed, for each identity preimage (a hash to G1 each, about 2 ms on noble, so the
 * last {@link IDENTITY_POINTS_KEPT} are kept: a validator hashes an envelope's identity when it
 * admits it to its pool, and finds it again when the envelope's batch is released and opened).
 */
export function identityPointsOf(identities: readonly Uint8Array[]): Uint8Array[] {
  return identities.map((identity) => {
    const key = Buffer.from(identity).toString('hex');
    let point = identityPoints.get(key);
    if (point === undefined) {
      point = shutterIdentityPoint(identity).toBytes(true);
      identityPoints.set(key, point);
      if (identityPoints.size > IDENTITY_POINTS_KEPT)
        identityPoints.delete(identityPoints.keys().next().value!);
    }
    return point;
  });
}

export interface ShareVerificationContext {
  readonly chainId: number;
  readonly eon: number;
  /** Ed25519 identity keys by validator index. */
  readonly validatorKeys: readonly Uint8Array[];
  /** Eon public shares P_i by validator index. */
  readonly publicShares: readonly G2Point[];
  readonly backend?: PairingBackend;
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
        | 'WRONG_IDENTITIES'
        | 'BAD_SHARE'
        | 'MALFORMED';
    };

/** Chain, eon, membership and the Ed25519 signature of a received statement. Never throws. */
export function checkKeyShareSignature(
  share: SignedKeyShare,
  context: Omit<ShareVerificationContext, 'publicShares'> & { readonly publicShares?: readonly G2Point[] },
): SignedShareCheck {
  if (share.chainId !== context.chainId) return { ok: false, code: 'WRONG_CHAIN' };
  if (share.eon !== context.eon) return { ok: false, code: 'WRONG_EON' };
  const key = context.validatorKeys[share.validatorIndex];
  if (
    key === undefined ||
    (context.publicShares !== undefined && context.publicShares[share.validatorIndex] === undefined)
  )
    return { ok: false, code: 'UNKNOWN_VALIDATOR' };
  let bytes: Uint8Array;
  try {
    bytes = keyShareSigningBytes(share);
  } catch {
    return { ok: false, code: 'MALFORMED' };
  }
  return ed25519Verify(key, bytes, share.signature) ? { ok: true } : { ok: false, code: 'BAD_SIGNATURE' };
}

/**
 * Signature, membership, identities and the pairing check of a received statement for the batch
 * whose identities are `identities`: all of its shares at once against P_i (one weighted check).
 * Never throws.
 */
export function checkSignedKeyShare(
  share: SignedKeyShare,
  context: ShareVerificationContext,
  identities: readonly Uint8Array[],
  points: readonly Uint8Array[] = identityPointsOf(identities),
): SignedShareCheck {
  const signed = checkKeyShareSignature(share, context);
  if (!signed.ok) return signed;
  if (
    share.shares.length !== identities.length ||
    !bytesEqualNoThrow(share.identitiesRoot, identitiesRoot(identities))
  )
    return { ok: false, code: 'WRONG_IDENTITIES' };
  const publicShare = context.publicShares[share.validatorIndex]!.toBytes(true);
  return verifyBlockKeysWith(context.backend ?? nobleBackend, share.shares, points, publicShare)
    ? { ok: true }
    : { ok: false, code: 'BAD_SHARE' };
}

function bytesEqualNoThrow(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Proof that validator `share.validatorIndex` released key material for batch `share.batch`
 * before that batch was final: its own signed statement for that batch, recorded by the chain at a
 * point where the finalized height was `finalizedHeightAtRecord` < `share.batch`. The block rule
 * supplies that height from its own state when it includes the evidence, so the accuser cannot
 * choose it. An honest validator signs a statement for batch b only once b is final, and no block
 * at or below b can be added after that, so its signature alone convicts: the shares' own pairing
 * check is not needed (it would need the identities, which the statement names by their root).
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
  context: Omit<ShareVerificationContext, 'publicShares'> & { readonly publicShares?: readonly G2Point[] },
): EarlyShareVerdict {
  if (evidence.share.batch <= evidence.finalizedHeightAtRecord) return { ok: false, code: 'NOT_EARLY' };
  const check = checkKeyShareSignature(evidence.share, context);
  if (!check.ok) return { ok: false, code: check.code };
  return { ok: true, offender: evidence.share.validatorIndex, batch: evidence.share.batch };
}

/** Decodes a 48-byte compressed share from untrusted bytes. @throws {CodecError} */
export function decodeKeyShare(bytes: Uint8Array): G1Point {
  return decodeG1(bytes, 'keyShare.share');
}
