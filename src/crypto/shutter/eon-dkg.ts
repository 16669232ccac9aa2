/**
 * The eon keyset: a threshold BLS12-381 key whose public half lives in G2, made by a joint-Feldman
 * DKG among the validators (Pedersen 1991 / Gennaro–Jarecki–Krawczyk–Rabin 1999, "JF-DKG"), the
 * construction shcrypto's `Gammas` implement for Shutter's keypers.
 *
 * src/crypto/vss.ts (the key-lifecycle DKG's Feldman VSS) is fixed to secp256k1, so this module
 * repeats the Feldman arrangement over G2 with noble's BLS12-381 points:
 *
 *   dealer j: f_j of degree t − 1 over F_q, commitment Γ_j,k = a_j,k·g2 (k < t),
 *             share for validator i: f_j(x_i), x_i = i + 1
 *   check:    f_j(x_i)·g2 = Σ_k x_i^k·Γ_j,k                          (Feldman 1987)
 *   result:   over the qualified dealers Q, secret share s_i = Σ_{j∈Q} f_j(x_i),
 *             public share P_i = s_i·g2 = Σ_{j∈Q} Σ_k x_i^k·Γ_j,k, eon key P = Σ_{j∈Q} Γ_j,0.
 *
 * Complaints are the minimal JF-DKG rule: a recipient whose share fails the check accuses the
 * dealer; the dealer answers by revealing that share, and is disqualified when the revealed share
 * also fails (or it does not answer). Everyone can re-run the check on the revealed share, so an
 * honest dealer is never disqualified by a false accusation. Refresh and resharing of this keyset
 * reuse the same checks with a zero (refresh) or a Lagrange-weighted (resharing) constant term.
 * The validators run these rounds over the network, with signed messages and an attestation round,
 * through ./eon-keygen.ts.
 */
import { invariant } from '../../codec/invariant.ts';
import { Fr, G2, type G2Point } from './ibe.ts';

export interface EonDealing {
  readonly dealerIndex: number;
  /** Γ_k = a_k·g2, t points. */
  readonly commitment: readonly G2Point[];
  /** f(x_i) for every validator i (in a real run each travels encrypted to its recipient). */
  readonly shares: readonly bigint[];
}

export interface EonKeyset {
  readonly threshold: number;
  readonly eonPublicKey: G2Point;
  /** P_i = s_i·g2 by validator index: what a decryption-key share is checked against. */
  readonly publicShares: readonly G2Point[];
  /** The dealers whose dealings were combined, ascending. */
  readonly qualified: readonly number[];
}

export type ComplaintVerdict = 'DEALER_DISQUALIFIED' | 'COMPLAINT_REJECTED';

/** The identifier scalar of validator `index` (0-based), as shcrypto's `KeyperX` (index + 1). */
export function eonIdentifier(index: number): bigint {
  invariant(Number.isInteger(index) && index >= 0 && index < 0xffff, 'validator index must be a u16');
  return BigInt(index + 1);
}

/** A uniform non-zero scalar: 48 random bytes reduced mod q (bias below 2^-128, RFC 9380 §5). */
export function randomEonScalar(): bigint {
  for (;;) {
    let value = 0n;
    for (const byte of crypto.getRandomValues(new Uint8Array(48))) value = (value << 8n) | BigInt(byte);
    value = Fr.create(value);
    if (value !== 0n) return value;
  }
}

/** Σ_k x^k·Γ_k: the public value of a committed polynomial at x. */
export function evaluateG2Commitment(commitment: readonly G2Point[], x: bigint): G2Point {
  invariant(commitment.length > 0, 'empty commitment');
  let value = G2.ZERO;
  for (let k = commitment.length - 1; k >= 0; k--) value = value.multiplyUnsafe(x).add(commitment[k]!);
  return value;
}

/**
 * A dealer's dealing for `count` validators at threshold `threshold`. `constant` is the secret
 * term: random for a fresh eon, 0 for a proactive refresh. `scalar` draws the other coefficients:
 * OS randomness unless a caller that must replay bit for bit (the simulator) passes a seeded one.
 */
export function dealEon(
  dealerIndex: number,
  threshold: number,
  count: number,
  constant: bigint = randomEonScalar(),
  scalar: () => bigint = randomEonScalar,
): EonDealing {
  invariant(Number.isInteger(threshold) && threshold >= 1 && threshold <= count, 'need 1 ≤ t ≤ n');
  invariant(constant >= 0n && constant < Fr.ORDER, 'constant must be a scalar');
  const coefficients = [constant];
  for (let k = 1; k < threshold; k++) {
    const coefficient = scalar();
    invariant(coefficient > 0n && coefficient < Fr.ORDER, 'coefficient must be a non-zero scalar');
    coefficients.push(coefficient);
  }
  const commitment = coefficients.map((a) => (a === 0n ? G2.ZERO : G2.BASE.multiply(a)));
  const shares: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const x = eonIdentifier(i);
    let value = 0n;
    for (let k = coefficients.length - 1; k >= 0; k--) value = Fr.add(Fr.mul(value, x), coefficients[k]!);
    shares.push(value);
  }
  return Object.freeze({ dealerIndex, commitment: Object.freeze(commitment), shares: Object.freeze(shares) });
}

/** Feldman's check of one dealt share; `false`, never a throw, on anything malformed. */
export function verifyEonShare(
  commitment: readonly G2Point[],
  recipientIndex: number,
  share: bigint,
): boolean {
  if (commitment.length === 0 || typeof share !== 'bigint' || share < 0n || share >= Fr.ORDER) return false;
  if (!Number.isInteger(recipientIndex) || recipientIndex < 0 || recipientIndex >= 0xffff) return false;
  const expected = evaluateG2Commitment(commitment, eonIdentifier(recipientIndex));
  const actual = share === 0n ? G2.ZERO : G2.BASE.multiply(share);
  return actual.equals(expected);
}

/**
 * Rules on a complaint against `dealing` by `recipientIndex`, given the share the dealer revealed
 * in answer (`undefined` when it did not answer in time).
 */
export function judgeComplaint(
  commitment: readonly G2Point[],
  recipientIndex: number,
  revealedShare: bigint | undefined,
): ComplaintVerdict {
  if (revealedShare === undefined) return 'DEALER_DISQUALIFIED';
  return verifyEonShare(commitment, recipientIndex, revealedShare)
    ? 'COMPLAINT_REJECTED'
    : 'DEALER_DISQUALIFIED';
}

/**
 * Combines the qualified dealings into the public keyset. At least `threshold` qualified dealers
 * are required (so at least one is honest when threshold > f).
 */
export function combineEonKeyset(
  dealings: readonly EonDealing[],
  threshold: number,
  count: number,
): EonKeyset {
  invariant(dealings.length >= threshold, 'fewer qualified dealers than the threshold');
  const sorted = [...dealings].sort((a, b) => a.dealerIndex - b.dealerIndex);
  for (const dealing of sorted)
    invariant(dealing.commitment.length === threshold, 'commitment of the wrong degree');
  const eonPublicKey = sorted.reduce((sum, dealing) => sum.add(dealing.commitment[0]!), G2.ZERO);
  invariant(!eonPublicKey.is0(), 'eon key is the identity point');
  // Sum the commitments coefficient-wise first: one evaluation per validator instead of one per dealer.
  const summed: G2Point[] = [];
  for (let k = 0; k < threshold; k++)
    summed.push(sorted.reduce((sum, dealing) => sum.add(dealing.commitment[k]!), G2.ZERO));
  const publicShares: G2Point[] = [];
  for (let i = 0; i < count; i++) publicShares.push(evaluateG2Commitment(summed, eonIdentifier(i)));
  return Object.freeze({
    threshold,
    eonPublicKey,
    publicShares: Object.freeze(publicShares),
    qualified: Object.freeze(sorted.map((dealing) => dealing.dealerIndex)),
  });
}

/** Validator `index`'s secret share: the sum of what every qualified dealer dealt it. */
export function combineEonSecretShare(dealings: readonly EonDealing[], index: number): bigint {
  return dealings.reduce((sum, dealing) => Fr.add(sum, dealing.shares[index]!), 0n);
}
