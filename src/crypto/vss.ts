/**
 * Feldman verifiable secret sharing over secp256k1 (Feldman 1987, "A practical scheme for
 * non-interactive verifiable secret sharing"; RFC 9591 Appendix C.2 names the same check
 * `vss_verify`). The group arithmetic is `@noble/curves`' (points, the scalar field, randomness,
 * hash-to-field); this module only arranges it: a dealer's polynomial f of degree t − 1, its
 * commitment C_k = a_k·G, the share f(x) for identifier x, and the check
 *
 *   share·G = Σ_k x^k · C_k                                  (Feldman, RFC 9591 App. C.2)
 *
 * plus Lagrange coefficients (RFC 9591 §4.2) for interpolating at 0 or at any identifier, and the
 * verifier of the Schnorr proof of knowledge that frost-rs and noble attach to a DKG commitment
 * (Komlo–Goldberg, "FROST", §5.1 round 1 step 2).
 *
 * Identifiers are validator index + 1 (RFC 9591 §4.1 forbids 0), as in src/crypto/frost.ts.
 * Every function taking public input that can be malformed returns `false` / `undefined` rather
 * than throwing; the rest assert their arguments with `invariant`.
 */

import { interleavedMSMUnsafe, mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import {
  type secp256k1 as Secp256k1Curve,
  secp256k1,
  secp256k1_FROST,
  secp256k1_hasher,
} from '@noble/curves/secp256k1.js';
import { invariant } from '../codec/invariant.ts';
import { FROST_SUITE } from './frost.ts';

export type Point = InstanceType<typeof Secp256k1Curve.Point>;
export const Point = secp256k1.Point;
/** The scalar field (integers mod the group order n). */
export const Fn = secp256k1_FROST.utils.Fn;

const POINT_BYTES = 33;
const SCALAR_BYTES = 32;
/** The DST of noble's and frost-rs's DKG proof-of-knowledge challenge (context string ‖ "dkg"). */
const POK_DST = new TextEncoder().encode(`${FROST_SUITE}dkg`);

/** The RFC 9591 identifier scalar of validator `index` (0-based). */
export function identifierOf(index: number): bigint {
  invariant(Number.isInteger(index) && index >= 0 && index < 0xffff, 'validator index must be a u16');
  return BigInt(index + 1);
}

/** Bytes for sampling: the CSPRNG by default, or a deterministic stream (see keygen's dealing seed). */
export type RandomBytes = (length?: number) => Uint8Array<ArrayBuffer>;

/** A fresh non-zero scalar from noble's sampler, over the CSPRNG unless `rng` is given. */
export function randomScalar(rng?: RandomBytes): bigint {
  return Fn.fromBytes(
    rng === undefined ? secp256k1_FROST.utils.randomScalar() : secp256k1_FROST.utils.randomScalar(rng),
  );
}

/**
 * A polynomial of `degree + 1` coefficients with the given constant term, the others random.
 * A zero constant (proactive refresh) is allowed; its commitment is then the identity, which is
 * never sent (see {@link commitPolynomial}).
 */
export function randomPolynomial(coefficientCount: number, constant: bigint, rng?: RandomBytes): bigint[] {
  invariant(Number.isInteger(coefficientCount) && coefficientCount >= 1, 'a polynomial needs a coefficient');
  invariant(constant >= 0n && constant < Fn.ORDER, 'constant term must be a scalar');
  const coefficients = [constant];
  for (let k = 1; k < coefficientCount; k++) coefficients.push(randomScalar(rng));
  return coefficients;
}

/** C_k = a_k·G for every coefficient (constant-time base multiplication: the a_k are secret). */
export function commitPolynomial(coefficients: readonly bigint[]): Point[] {
  return coefficients.map((a) => (a === 0n ? Point.ZERO : Point.BASE.multiply(a)));
}

/** f(x) by Horner's rule in the scalar field. */
export function evaluatePolynomial(coefficients: readonly bigint[], x: bigint): bigint {
  invariant(coefficients.length > 0, 'empty polynomial');
  let value = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) value = Fn.add(Fn.mul(value, x), coefficients[k]!);
  return value;
}

function powers(x: bigint, count: number): bigint[] {
  const out: bigint[] = [];
  let power = 1n;
  for (let k = 0; k < count; k++) {
    out.push(power);
    power = Fn.mul(power, x);
  }
  return out;
}

/**
 * Σ_k x^k · C_k: the public image of f(x), as one multi-scalar multiplication (noble's
 * interleaved wNAF `mulAddUnsafe`, the one noble's own VSS check uses; variable time: all public).
 */
export function evaluateCommitment(commitment: readonly Point[], x: bigint): Point {
  const scalars = powers(x, commitment.length);
  const points: Point[] = [];
  const used: bigint[] = [];
  commitment.forEach((point, k) => {
    if (!point.equals(Point.ZERO)) {
      points.push(point);
      used.push(scalars[k]!);
    }
  });
  return points.length === 0 ? Point.ZERO : mulAddUnsafe(Point, points, used);
}

/**
 * An evaluator of one commitment at many identifiers (all verifying shares of a keyset): noble's
 * `interleavedMSMUnsafe` precomputes the commitment's tables once.
 */
export function commitmentEvaluator(commitment: readonly Point[]): (x: bigint) => Point {
  invariant(
    commitment.every((point) => !point.equals(Point.ZERO)),
    'a combined commitment has no identity',
  );
  const evaluate = interleavedMSMUnsafe(Point, [...commitment], 4);
  return (x) => evaluate(powers(x, commitment.length));
}

/** Feldman's check: share·G = Σ x^k C_k. `false` for a share that is not a scalar. */
export function verifyShare(share: bigint, x: bigint, commitment: readonly Point[]): boolean {
  if (share <= 0n || share >= Fn.ORDER) return false;
  return Point.BASE.multiply(share).equals(evaluateCommitment(commitment, x));
}

/**
 * Coefficient-wise sum Σ_i w_i · C_i of equally long commitments (w_i = 1 when weights omitted).
 * Weighted, each coefficient is one multi-scalar multiplication over the commitments (noble's
 * `mulAddUnsafe`): at n = 31 that is 21 MSMs of 31 points instead of 651 single multiplications.
 */
export function combineCommitments(
  commitments: readonly (readonly Point[])[],
  weights?: readonly bigint[],
): Point[] {
  invariant(commitments.length > 0, 'nothing to combine');
  invariant(weights === undefined || weights.length === commitments.length, 'one weight per commitment');
  const length = commitments[0]!.length;
  for (const commitment of commitments)
    invariant(commitment.length === length, 'commitments of different degrees');
  return Array.from({ length }, (_, k) => {
    const points: Point[] = [];
    const scalars: bigint[] = [];
    commitments.forEach((commitment, i) => {
      const term = commitment[k]!;
      const weight = weights?.[i] ?? 1n;
      if (term.equals(Point.ZERO) || weight === 0n) return;
      points.push(term);
      scalars.push(weight);
    });
    if (points.length === 0) return Point.ZERO;
    if (weights === undefined) return points.reduce((sum, point) => sum.add(point));
    return mulAddUnsafe(Point, points, scalars);
  });
}

/** Feldman's check of a share that is already public (evidence, a revealed answer): variable time. */
export function verifyPublicShare(share: bigint, x: bigint, commitment: readonly Point[]): boolean {
  if (share <= 0n || share >= Fn.ORDER) return false;
  return Point.BASE.multiplyUnsafe(share).equals(evaluateCommitment(commitment, x));
}

/**
 * λ_i(target) = Π_{j≠i} (target − x_j) / (x_i − x_j) over the identifiers `xs` (RFC 9591 §4.2 for
 * target 0; any target for share repair).
 */
export function lagrangeCoefficient(xs: readonly bigint[], xi: bigint, target = 0n): bigint {
  invariant(new Set(xs).size === xs.length, 'identifiers repeat');
  invariant(xs.includes(xi), 'identifier is not in the set');
  let numerator = 1n;
  let denominator = 1n;
  for (const xj of xs) {
    if (xj === xi) continue;
    numerator = Fn.mul(numerator, Fn.sub(target, xj));
    denominator = Fn.mul(denominator, Fn.sub(xi, xj));
  }
  return Fn.div(numerator, denominator);
}

/** A compressed point from the wire; `undefined` for anything that is not a valid non-identity point. */
export function parsePoint(bytes: Uint8Array): Point | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== POINT_BYTES) return undefined;
  try {
    const point = Point.fromBytes(bytes);
    point.assertValidity();
    return point.equals(Point.ZERO) ? undefined : point;
  } catch {
    return undefined;
  }
}

export function pointBytes(point: Point): Uint8Array<ArrayBuffer> {
  invariant(!point.equals(Point.ZERO), 'the identity has no compressed encoding');
  return Uint8Array.from(point.toBytes(true));
}

/** A 32-byte big-endian scalar from the wire; `undefined` unless 0 < s < n. */
export function parseScalar(bytes: Uint8Array): bigint | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) return undefined;
  const value = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  return value > 0n && value < Fn.ORDER ? value : undefined;
}

export function scalarBytes(value: bigint): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(Fn.toBytes(value));
}

/**
 * Checks the proof of knowledge of a DKG commitment's constant term, as noble's
 * `DKG.round1` produces it: proof = R ‖ μ with μ = k + a_0·c and c = H_dkg(id ‖ C_0 ‖ R), so
 * μ·G − c·C_0 = R (Komlo–Goldberg §5.1, round 1 step 2; frost-rs `compute_proof_of_knowledge`).
 * Never throws.
 */
export function verifyProofOfKnowledge(x: bigint, constantCommitment: Point, proof: Uint8Array): boolean {
  if (!(proof instanceof Uint8Array) || proof.length !== POINT_BYTES + SCALAR_BYTES) return false;
  const commitmentR = parsePoint(proof.subarray(0, POINT_BYTES));
  const mu = BigInt(`0x${Buffer.from(proof.subarray(POINT_BYTES)).toString('hex')}`);
  if (commitmentR === undefined || mu >= Fn.ORDER) return false;
  const challenge = secp256k1_hasher.hashToScalar(
    new Uint8Array([...Fn.toBytes(x), ...constantCommitment.toBytes(true), ...commitmentR.toBytes(true)]),
    { DST: POK_DST },
  );
  const lhs = mu === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(mu);
  return lhs.subtract(constantCommitment.multiplyUnsafe(challenge)).equals(commitmentR);
}
