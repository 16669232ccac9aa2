/**
 * Share repair: a validator that lost its share (disk gone) gets it back from t others, and
 * nobody — not the helpers, not the network — learns it. This is the enrollment protocol of
 * Laing and Stinson ("A survey and refinement of repairable threshold schemes", J. Math. Cryptol.
 * 2018, §4, the scheme ZF `frost` ships as `repairable`), with public commitments added so a
 * helper that cheats is named rather than just making the result fail:
 *
 *   helpers H (|H| = t), lost validator r, Lagrange ζ_i = λ_i(r) over H (RFC 9591 §4.2 at x = r)
 *   1. helper i splits ζ_i·s_i into t random summands δ_{i,j} (j ∈ H), sends δ_{i,j} privately to
 *      helper j, and publishes D_{i,j} = δ_{i,j}·G. Anyone checks Σ_j D_{i,j} = ζ_i·Y_i with the
 *      public verifying share Y_i — so helper i shared its own share — and helper j checks
 *      δ_{i,j}·G = D_{i,j};
 *   2. helper j sends σ_j = Σ_i δ_{i,j} to r, who checks σ_j·G = Σ_i D_{i,j};
 *   3. r sums s_r = Σ_j σ_j = Σ_i ζ_i s_i = F(r) and checks s_r·G = Y_r (RFC 9591 App. C.2).
 *
 * Helper j sees one random summand of every ζ_i s_i and r sees only sums of them, so no party
 * below the threshold learns another's share; the D_{i,j} are points and reveal no more than
 * the public Y_i. The math is sans-IO; the transport (encrypted validator channels for δ and σ)
 * is the driver's.
 */
import type { FrostPublic } from '@noble/curves/abstract/frost.js';
import { secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { invariant } from '../codec/invariant.ts';
import { type FrostKeyPackage, participantIdentifier } from './frost.ts';
import {
  Fn,
  identifierOf,
  lagrangeCoefficient,
  Point,
  parsePoint,
  parseScalar,
  pointBytes,
  randomScalar,
  scalarBytes,
} from './vss.ts';

export type RepairErrorCode =
  | 'BAD_HELPER_SET'
  | 'BAD_SPLIT'
  | 'BAD_SUMMAND'
  | 'BAD_SUM'
  | 'MISSING'
  | 'WRONG_RESULT';

export class RepairError extends Error {
  override readonly name = 'RepairError';
  readonly code: RepairErrorCode;
  /** Helpers at fault. */
  readonly culprits: readonly number[];
  constructor(code: RepairErrorCode, culprits: readonly number[], detail: string) {
    super(`${code}: ${detail}${culprits.length > 0 ? ` (helpers ${culprits.join(', ')})` : ''}`);
    this.code = code;
    this.culprits = culprits;
  }
}

/** Step 1's output of helper i: a private summand for each helper, and the public commitments. */
export interface RepairSplit {
  readonly helper: number;
  /** δ_{i,j} by helper j (32-byte scalars); send each only to its helper. */
  readonly summands: ReadonlyMap<number, Uint8Array>;
  /** D_{i,j} = δ_{i,j}·G in the order of the sorted helper set; broadcast. */
  readonly commitments: readonly Uint8Array[];
}

function checkHelpers(publicPackage: FrostPublic, helpers: readonly number[], lost: number): number[] {
  const sorted = [...helpers].sort((a, b) => a - b);
  const n = publicPackage.signers.max;
  if (new Set(sorted).size !== sorted.length || sorted.length !== publicPackage.signers.min)
    throw new RepairError('BAD_HELPER_SET', [], `need exactly ${publicPackage.signers.min} distinct helpers`);
  if (
    sorted.some((h) => !Number.isInteger(h) || h < 0 || h >= n) ||
    !Number.isInteger(lost) ||
    lost < 0 ||
    lost >= n
  )
    throw new RepairError('BAD_HELPER_SET', [], 'helpers and the lost validator must be in the keyset');
  if (sorted.includes(lost)) throw new RepairError('BAD_HELPER_SET', [], 'the lost validator cannot help');
  return sorted;
}

function verifyingShare(publicPackage: FrostPublic, index: number): Point {
  const bytes = publicPackage.verifyingShares[participantIdentifier(index)];
  const point = bytes === undefined ? undefined : parsePoint(bytes);
  invariant(point !== undefined, 'the keyset has a verifying share for every member');
  return point;
}

/**
 * Step 1, run by helper `key.index`.
 * @example const split = repairSplit(myKey, [0, 1, 2], 4);
 * @throws RepairError BAD_HELPER_SET
 */
export function repairSplit(key: FrostKeyPackage, helpers: readonly number[], lost: number): RepairSplit {
  const sorted = checkHelpers(key.public, helpers, lost);
  invariant(sorted.includes(key.index), 'only a helper splits');
  const xs = sorted.map(identifierOf);
  const zeta = lagrangeCoefficient(xs, identifierOf(key.index), identifierOf(lost));
  const value = Fn.mul(zeta, Fn.fromBytes(key.secret.signingShare));
  const summands = new Map<number, Uint8Array>();
  let rest = value;
  sorted.forEach((helper, position) => {
    const delta = position === sorted.length - 1 ? rest : randomScalar();
    rest = Fn.sub(rest, delta);
    summands.set(helper, scalarBytes(delta));
  });
  const commitments = sorted.map((helper) =>
    pointBytes(Point.BASE.multiply(Fn.fromBytes(summands.get(helper)!))),
  );
  return { helper: key.index, summands, commitments };
}

/** Checks helper i's public commitments: Σ_j D_{i,j} = ζ_i·Y_i. Never throws. */
export function repairSplitIsSound(
  publicPackage: FrostPublic,
  helpers: readonly number[],
  lost: number,
  helper: number,
  commitments: readonly Uint8Array[],
): boolean {
  try {
    const sorted = checkHelpers(publicPackage, helpers, lost);
    if (!sorted.includes(helper) || commitments.length !== sorted.length) return false;
    let sum = Point.ZERO;
    for (const bytes of commitments) {
      const point = parsePoint(bytes);
      if (point === undefined) return false;
      sum = sum.add(point);
    }
    const xs = sorted.map(identifierOf);
    const zeta = lagrangeCoefficient(xs, identifierOf(helper), identifierOf(lost));
    return sum.equals(verifyingShare(publicPackage, helper).multiplyUnsafe(zeta));
  } catch {
    return false;
  }
}

/**
 * Step 2, run by helper `self`: checks every split it received and sums its summands into σ.
 * @throws RepairError BAD_SPLIT (commitments do not add up to ζ_i·Y_i), BAD_SUMMAND (δ ≠ its
 *   commitment), MISSING — each naming the helpers at fault
 */
export function repairSum(
  publicPackage: FrostPublic,
  helpers: readonly number[],
  lost: number,
  self: number,
  received: ReadonlyMap<number, { summand: Uint8Array; commitments: readonly Uint8Array[] }>,
): Uint8Array {
  const sorted = checkHelpers(publicPackage, helpers, lost);
  const position = sorted.indexOf(self);
  invariant(position >= 0, 'only a helper sums');
  const missing = sorted.filter((h) => !received.has(h));
  if (missing.length > 0) throw new RepairError('MISSING', missing, 'no split');
  const badSplits = sorted.filter(
    (h) => !repairSplitIsSound(publicPackage, sorted, lost, h, received.get(h)!.commitments),
  );
  if (badSplits.length > 0) throw new RepairError('BAD_SPLIT', badSplits, 'commitments do not add up to ζ·Y');
  let sigma = 0n;
  const badSummands: number[] = [];
  for (const helper of sorted) {
    const { summand, commitments } = received.get(helper)!;
    const delta = parseScalar(summand);
    const expected = parsePoint(commitments[position]!)!;
    if (delta === undefined || !Point.BASE.multiply(delta).equals(expected)) badSummands.push(helper);
    else sigma = Fn.add(sigma, delta);
  }
  if (badSummands.length > 0)
    throw new RepairError('BAD_SUMMAND', badSummands, 'summand does not match its commitment');
  return scalarBytes(sigma);
}

/**
 * Step 3, run by the lost validator: checks each σ_j against the public commitments, sums them,
 * and checks the result against its verifying share. Returns its key package again.
 * @throws RepairError MISSING, BAD_SPLIT, BAD_SUM naming helpers; WRONG_RESULT should never happen
 *   once the others pass
 */
export function repairRecover(
  publicPackage: FrostPublic,
  template: { epoch: number; threshold: number; participants: number; groupPublicKey: Uint8Array },
  helpers: readonly number[],
  lost: number,
  sums: ReadonlyMap<number, Uint8Array>,
  splitCommitments: ReadonlyMap<number, readonly Uint8Array[]>,
): FrostKeyPackage {
  const sorted = checkHelpers(publicPackage, helpers, lost);
  const missing = sorted.filter((h) => !sums.has(h) || !splitCommitments.has(h));
  if (missing.length > 0) throw new RepairError('MISSING', missing, 'no sum or no commitments');
  const badSplits = sorted.filter(
    (h) => !repairSplitIsSound(publicPackage, sorted, lost, h, splitCommitments.get(h)!),
  );
  if (badSplits.length > 0) throw new RepairError('BAD_SPLIT', badSplits, 'commitments do not add up to ζ·Y');
  let share = 0n;
  const badSums: number[] = [];
  sorted.forEach((helper, position) => {
    const sigma = sums.get(helper)!;
    let expected = Point.ZERO;
    for (const other of sorted) expected = expected.add(parsePoint(splitCommitments.get(other)![position]!)!);
    const value = sigma.length === 32 ? Fn.fromBytes(sigma) : undefined;
    const image = value === undefined || value === 0n ? Point.ZERO : Point.BASE.multiply(value);
    if (value === undefined || !image.equals(expected)) badSums.push(helper);
    else share = Fn.add(share, value);
  });
  if (badSums.length > 0) throw new RepairError('BAD_SUM', badSums, 'sum does not match the summands');
  const signingShare = scalarBytes(share);
  const identifier = participantIdentifier(lost);
  try {
    secp256k1_FROST.validateSecret({ identifier, signingShare }, publicPackage);
  } catch {
    throw new RepairError('WRONG_RESULT', [], 'the repaired share does not match the verifying share');
  }
  return Object.freeze({
    epoch: template.epoch,
    index: lost,
    threshold: template.threshold,
    participants: template.participants,
    groupPublicKey: template.groupPublicKey,
    public: publicPackage,
    secret: { identifier, signingShare },
  });
}
