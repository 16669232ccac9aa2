/**
 * Zero-knowledge margin proofs: "I control an account, in the account tree with root R (certified
 * at checkpoint h), whose equity is at least k times its maintenance requirement", shown without
 * saying which account.
 *
 * THREAT MODEL
 *
 * Palisade's blocks and state are public: anyone who replays the chain reads every account's
 * balance and positions. What a trader can keep private is the link between an account and
 * themselves. A proof from this module is meant to show exactly one fact to a verifier (a lender,
 * another venue) and nothing else.
 *
 * Revealed by a proof, to everyone who sees it:
 *   - the root R and so the height h it was taken at, and the series table (the certified index
 *     and mark of every live series at h — public anyway);
 *   - k (as basis points) and the maintenance rate — the statement itself;
 *   - the circuit size (1, 4 or 16 position slots): an upper bound on the account's position count,
 *     so provers who want the largest anonymity set use 16;
 *   - the tag Poseidon(secret, challenge): the same account shown twice to one challenge gives the
 *     same tag; under different challenges tags are unlinkable (Poseidon as a PRF of the secret).
 *   Hence the anonymity set: every account in the tree at h with at most that many positions whose
 *   equity is at least k × maintenance. Its size is computable by anyone from public state
 *   (`anonymitySetSize`) and is what the verifier learns about "which": one of those. A set of one
 *   names the account; verifiers and provers should look at the size before relying on privacy.
 * Not revealed: the account's index, address or key, its balance, positions, exact equity or
 * ratio (only that it is ≥ k), the secret, and any link between two proofs under two challenges.
 * Not protected: timing and network metadata of whoever submits the proof; a trader whose
 * registration transaction is linkable to them (register from an account you do not mind naming,
 * or note the commitment is public and ties nothing unless the secret leaks); an account whose
 * state is unique among those that qualify at a given k, which a prover can push to a set of one by
 * choosing k just below its own ratio — so k should be the verifier's round threshold, not the
 * prover's. Soundness rests on Groth16 and on the setup: the devnet keys come from a public beacon
 * (circuits/build.ts) and can be forged by anyone; production needs the ceremony in
 * circuits/README.md.
 *
 * THE STATEMENT (circuits/margin.circom, mirrored by `standardRequirement` below)
 *
 * Standard margin as the engine computes it (src/execution/marks.ts markOf, margin.ts
 * standardShortMargin and perLot, assess.ts), per lot, fixed point 10^18, floors as the engine:
 *   markPerLot = ⌊m · L / 10^12⌋                 m = mark per unit, L = lotUnderlyingE12
 *   call  mmUnit = S · mmBps · 10^14 + m          (= mul(S·ONE, fromBps(mmBps)) + m)
 *   put   mmUnit = max(S · mmBps · 10^14, ⌊m · mmBps / 10^4⌋) + m
 *   mmPerLot = ⌊mmUnit · L / 10^12⌋
 *   equity = balance + ⌊Σ lots · markPerLot / 10^18⌋,  maintenance = ⌈Σ_short |lots| · mmPerLot / 10^18⌉
 *   holds when equity · 10^4 ≥ kBps · maintenance (and the fixed-point equity is not negative).
 * Exact, not simplified. Only the maintenance side of standard margin is proved (initial margin,
 * order reserves and portfolio margin are not in the statement); the engine's maintenance rate is
 * per underlying, the circuit takes one rate for the whole table (a statement about one underlying,
 * or the strictest rate of several — conservative: maintenance only grows with the rate).
 */
import { createHash } from 'node:crypto';
import {
  accountLeaf,
  type CommittedPosition,
  canonicalPositions,
  FIELD_ORDER,
  type MerklePath,
  ownerCommitment,
  type PoseidonHasher,
  packPosition,
  rootFromPath,
} from '../crypto/poseidon-tree.ts';

export const CIRCUIT_SIZES = [1, 4, 16] as const;
export type CircuitSize = (typeof CIRCUIT_SIZES)[number];
/** Series slots in the public table (every circuit). */
export const TABLE_SLOTS = 32;
/** Series id of an empty table slot: outside the 32-bit range a position's series id is held to. */
export const EMPTY_SERIES_ID = 2n ** 32n;
export const TREE_DEPTH = 20;
const ONE = 10n ** 18n;
const E12 = 10n ** 12n;

export type MarginProofErrorCode =
  | 'INVALID_INPUT'
  | 'TOO_MANY_POSITIONS'
  | 'TABLE_TOO_LARGE'
  | 'UNKNOWN_SERIES'
  | 'SECRET_MISMATCH'
  | 'NOT_IN_TREE'
  | 'INSUFFICIENT_MARGIN'
  | 'PROOF_FAILED'
  | 'MALFORMED_PROOF'
  | 'WRONG_ROOT'
  | 'STALE_CHECKPOINT'
  | 'WRONG_STATEMENT'
  | 'INVALID_PROOF'
  | 'TAG_REUSED'
  | 'KEY_HASH_MISMATCH';

export class MarginProofError extends Error {
  override readonly name = 'MarginProofError';
  readonly code: MarginProofErrorCode;
  readonly field: string;
  constructor(code: MarginProofErrorCode, field: string, detail: string, options?: { cause?: unknown }) {
    super(`${code} at ${field}: ${detail}`, options);
    this.code = code;
    this.field = field;
  }
}

/** One live series as the certified marks give it at the checkpoint's height. */
export interface SeriesMark {
  seriesId: number;
  isCall: boolean;
  /** Index, quote base units per unit of underlying (< 2^48). */
  spot: bigint;
  /** Mark per unit of underlying, fixed point 10^18 (< 2^100): the engine's markPerUnit. */
  markPerUnit: bigint;
  /** Units of underlying per lot × 10^12 (< 2^48). */
  lotUnderlyingE12: bigint;
}

/** What the verifier fixes: everything public except the tag. */
export interface MarginStatement {
  /** Height of the checkpoint whose account root is `root`. */
  height: number;
  root: bigint;
  /** Maintenance rate in basis points (0.075 → 750). */
  mmBps: number;
  /** The ratio k in basis points (1.5 → 15,000). */
  kBps: number;
  /** The verifier's challenge, a field element. */
  challenge: bigint;
  /** Every live series at `height` (at most TABLE_SLOTS = 32), any order: the table is sorted by series id. */
  series: readonly SeriesMark[];
}

/** What only the prover knows. */
export interface AccountWitness {
  index: number;
  balance: bigint;
  positions: readonly CommittedPosition[];
  secret: bigint;
  path: MerklePath;
}

/** The proof as it travels: no account field, by construction (see the threat model). */
export interface MarginProof {
  version: 1;
  circuit: CircuitSize;
  height: number;
  /** Public signals in the circuit's order, decimal strings. */
  publicSignals: string[];
  proof: {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  };
}

function checkInteger(value: bigint, bits: number, field: string): void {
  if (value < 0n || value >= 2n ** BigInt(bits)) {
    throw new MarginProofError('INVALID_INPUT', field, `must be an integer in [0, 2^${bits})`);
  }
}

function checkSafe(value: number, bits: number, field: string): void {
  if (!Number.isSafeInteger(value)) throw new MarginProofError('INVALID_INPUT', field, 'not an integer');
  checkInteger(BigInt(value), bits, field);
}

/** Checks the statement against the circuit's ranges and returns the table sorted by series id. */
export function checkStatement(statement: MarginStatement): SeriesMark[] {
  checkSafe(statement.height, 53, 'height');
  if (statement.root < 0n || statement.root >= FIELD_ORDER) {
    throw new MarginProofError('INVALID_INPUT', 'root', 'not a field element');
  }
  if (statement.challenge < 0n || statement.challenge >= FIELD_ORDER) {
    throw new MarginProofError('INVALID_INPUT', 'challenge', 'not a field element');
  }
  checkSafe(statement.mmBps, 14, 'mmBps');
  checkSafe(statement.kBps, 20, 'kBps');
  if (statement.kBps === 0) throw new MarginProofError('INVALID_INPUT', 'kBps', 'k must be positive');
  if (statement.series.length > TABLE_SLOTS) {
    throw new MarginProofError('TABLE_TOO_LARGE', 'series', `at most ${TABLE_SLOTS} live series per proof`);
  }
  const table = [...statement.series].sort((a, b) => a.seriesId - b.seriesId);
  table.forEach((s, i) => {
    checkSafe(s.seriesId, 32, `series[${i}].seriesId`);
    if (i > 0 && table[i - 1]?.seriesId === s.seriesId) {
      throw new MarginProofError('INVALID_INPUT', `series[${i}].seriesId`, 'series listed twice');
    }
    checkInteger(s.spot, 48, `series[${i}].spot`);
    checkInteger(s.markPerUnit, 100, `series[${i}].markPerUnit`);
    checkInteger(s.lotUnderlyingE12, 48, `series[${i}].lotUnderlyingE12`);
  });
  return table;
}

/** Public signals in the circuit's declaration order; `tag` is the prover's. */
export function publicSignalsOf(statement: MarginStatement, tag: bigint): string[] {
  const table = checkStatement(statement);
  const column = (f: (s: SeriesMark) => bigint, empty: bigint): string[] =>
    Array.from({ length: TABLE_SLOTS }, (_, j) => {
      const s = table[j];
      return (s === undefined ? empty : f(s)).toString();
    });
  return [
    statement.root.toString(),
    String(statement.mmBps),
    String(statement.kBps),
    statement.challenge.toString(),
    tag.toString(),
    ...column((s) => BigInt(s.seriesId), EMPTY_SERIES_ID),
    ...column((s) => (s.isCall ? 1n : 0n), 0n),
    ...column((s) => s.spot, 0n),
    ...column((s) => s.markPerUnit, 0n),
    ...column((s) => s.lotUnderlyingE12, 0n),
  ];
}

export const TAG_SIGNAL = 4;

export interface Requirement {
  equity: bigint;
  maintenance: bigint;
}

/** The engine's standard maintenance and equity, exactly as the circuit evaluates them. */
export function standardRequirement(
  mmBps: number,
  series: readonly SeriesMark[],
  balance: bigint,
  positions: readonly CommittedPosition[],
): Requirement {
  const byId = new Map(series.map((s) => [s.seriesId, s]));
  let equityFixed = balance * ONE;
  let maintenanceFixed = 0n;
  for (const position of positions) {
    const s = byId.get(position.seriesId);
    if (s === undefined) {
      throw new MarginProofError(
        'UNKNOWN_SERIES',
        'positions',
        `series ${position.seriesId} has no certified mark`,
      );
    }
    const markPerLot = (s.markPerUnit * s.lotUnderlyingE12) / E12;
    const rateTerm = s.spot * BigInt(mmBps) * 10n ** 14n;
    const markTerm = (s.markPerUnit * BigInt(mmBps)) / 10_000n;
    const mmUnit = (s.isCall ? rateTerm : rateTerm > markTerm ? rateTerm : markTerm) + s.markPerUnit;
    const mmPerLot = (mmUnit * s.lotUnderlyingE12) / E12;
    equityFixed += BigInt(position.lots) * markPerLot;
    if (position.lots < 0) maintenanceFixed += BigInt(-position.lots) * mmPerLot;
  }
  const equity = equityFixed >= 0n ? equityFixed / ONE : -((-equityFixed + ONE - 1n) / ONE);
  return { equity, maintenance: (maintenanceFixed + ONE - 1n) / ONE };
}

export function meetsRatio(requirement: Requirement, kBps: number): boolean {
  return requirement.equity >= 0n && requirement.equity * 10_000n >= BigInt(kBps) * requirement.maintenance;
}

/** How many accounts of the public state the proof hides among (see the threat model). */
export function anonymitySetSize(
  statement: MarginStatement,
  size: CircuitSize,
  accounts: ReadonlyArray<{ balance: bigint; positions: readonly CommittedPosition[] }>,
): number {
  return accounts.filter(
    (a) =>
      a.positions.length <= size &&
      a.balance >= 0n &&
      meetsRatio(
        standardRequirement(statement.mmBps, statement.series, a.balance, a.positions),
        statement.kBps,
      ),
  ).length;
}

export function tagOf(hasher: PoseidonHasher, secret: bigint, challenge: bigint): bigint {
  return hasher.hash([secret, challenge]);
}

/** The circuit's input (public and private) for one account: no check beyond the encodings. */
export function circuitInputs(
  hasher: PoseidonHasher,
  statement: MarginStatement,
  witness: AccountWitness,
  size: CircuitSize,
): Record<string, string | string[]> {
  const positions = canonicalPositions(witness.positions);
  if (positions.length > size) {
    throw new MarginProofError(
      'TOO_MANY_POSITIONS',
      'positions',
      `${positions.length} positions, circuit has ${size}`,
    );
  }
  const signals = publicSignalsOf(statement, tagOf(hasher, witness.secret, statement.challenge));
  const slot = (i: number, f: (p: CommittedPosition) => bigint): string => {
    const p = positions[i];
    return (p === undefined ? 0n : f(p)).toString();
  };
  positions.forEach((p, i) => {
    packPosition(p, `positions[${i}]`);
  });
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const col = (k: number) => signals.slice(5 + k * TABLE_SLOTS, 5 + (k + 1) * TABLE_SLOTS);
  return {
    root: signals[0] as string,
    mmBps: signals[1] as string,
    kBps: signals[2] as string,
    challenge: signals[3] as string,
    tag: signals[4] as string,
    tableId: col(0),
    tableIsCall: col(1),
    tableSpot: col(2),
    tableMark: col(3),
    tableLotE12: col(4),
    secret: witness.secret.toString(),
    balance: witness.balance.toString(),
    used: range(size).map((i) => (i < positions.length ? '1' : '0')),
    seriesId: range(size).map((i) => slot(i, (p) => BigInt(p.seriesId))),
    short: range(size).map((i) => slot(i, (p) => (p.lots < 0 ? 1n : 0n))),
    lots: range(size).map((i) => slot(i, (p) => BigInt(Math.abs(p.lots)))),
    pathBits: witness.path.pathBits.map(String),
    siblings: witness.path.siblings.map(String),
  };
}

/** The prover's own checks before spending seconds on a proof that cannot exist. */
export function checkWitness(
  hasher: PoseidonHasher,
  statement: MarginStatement,
  witness: AccountWitness,
  registeredCommitment: bigint,
): void {
  checkStatement(statement);
  checkInteger(witness.balance, 64, 'balance');
  if (witness.path.siblings.length !== TREE_DEPTH || witness.path.pathBits.length !== TREE_DEPTH) {
    throw new MarginProofError('INVALID_INPUT', 'path', `a path has ${TREE_DEPTH} levels`);
  }
  if (ownerCommitment(hasher, witness.secret) !== registeredCommitment) {
    throw new MarginProofError(
      'SECRET_MISMATCH',
      'secret',
      'Poseidon(secret) is not the registered commitment',
    );
  }
  const leaf = accountLeaf(hasher, {
    balance: witness.balance,
    positions: witness.positions,
    ownerCommitment: registeredCommitment,
  });
  if (rootFromPath(hasher, leaf, witness.path) !== statement.root) {
    throw new MarginProofError('NOT_IN_TREE', 'root', 'the account and path do not give this root');
  }
  const requirement = standardRequirement(
    statement.mmBps,
    statement.series,
    witness.balance,
    witness.positions,
  );
  if (!meetsRatio(requirement, statement.kBps)) {
    throw new MarginProofError(
      'INSUFFICIENT_MARGIN',
      'kBps',
      `equity ${requirement.equity} is below ${statement.kBps / 10_000} × maintenance ${requirement.maintenance}`,
    );
  }
}

/** A verifier's memory of the tags it has accepted, per challenge. */
export class TagRegistry {
  private readonly seen = new Set<string>();
  has(challenge: bigint, tag: string): boolean {
    return this.seen.has(`${challenge}:${tag}`);
  }
  add(challenge: bigint, tag: string): void {
    this.seen.add(`${challenge}:${tag}`);
  }
}

/** Parses untrusted JSON into a `MarginProof` shape (values checked, nothing else kept). */
export function parseMarginProof(value: unknown): MarginProof {
  const bad = (field: string, why: string): never => {
    throw new MarginProofError('MALFORMED_PROOF', field, why);
  };
  if (typeof value !== 'object' || value === null) return bad('proof', 'not an object');
  const v = value as Record<string, unknown>;
  const allowed = new Set(['version', 'circuit', 'height', 'publicSignals', 'proof']);
  for (const key of Object.keys(v)) if (!allowed.has(key)) bad(key, 'unknown field');
  if (v.version !== 1) bad('version', 'must be 1');
  if (!CIRCUIT_SIZES.includes(v.circuit as CircuitSize)) bad('circuit', 'must be 1, 4 or 16');
  if (typeof v.height !== 'number' || !Number.isSafeInteger(v.height) || v.height < 0)
    bad('height', 'not a height');
  const decimal = (x: unknown): boolean => typeof x === 'string' && /^(0|[1-9][0-9]{0,76})$/.test(x);
  if (!Array.isArray(v.publicSignals) || !v.publicSignals.every(decimal))
    bad('publicSignals', 'not decimal strings');
  const p = v.proof as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null) return bad('proof.proof', 'not an object');
  const points = (x: unknown, n: number): boolean => Array.isArray(x) && x.length === n && x.every(decimal);
  if (!points(p.pi_a, 3)) bad('proof.pi_a', 'not a G1 point');
  if (!points(p.pi_c, 3)) bad('proof.pi_c', 'not a G1 point');
  if (!Array.isArray(p.pi_b) || p.pi_b.length !== 3 || !p.pi_b.every((x) => points(x, 2))) {
    bad('proof.pi_b', 'not a G2 point');
  }
  if (p.protocol !== 'groth16' || p.curve !== 'bn128') bad('proof.protocol', 'groth16 over bn128 only');
  return {
    version: 1,
    circuit: v.circuit as CircuitSize,
    height: v.height as number,
    publicSignals: [...(v.publicSignals as string[])],
    proof: {
      pi_a: [...(p.pi_a as string[])],
      pi_b: (p.pi_b as string[][]).map((x) => [...x]),
      pi_c: [...(p.pi_c as string[])],
      protocol: 'groth16',
      curve: 'bn128',
    },
  };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
