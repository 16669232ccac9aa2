/**
 * The one fixed-point library (DESIGN.md, `src/std`): 18 decimals on `bigint`, and the
 * transcendental functions pricing and the simulated market need (exp, ln, sqrt, the standard
 * normal CDF and density), written with integer operations only.
 *
 * Why not `Math.exp` and friends: ECMAScript lets each engine approximate them (ECMA-262 §21.3.2
 * says "implementation-approximated"), so two validators on different Node builds could disagree
 * in the last bit of a mark price and fork the chain. Integer addition, multiplication and
 * truncating division are exactly specified, so every function here returns the same bits on every
 * machine. Accuracy is about 1e-16 relative, far inside the 1e-4 the venue's prices need.
 *
 * A value `x` of type `Fixed` stands for x / 10^18. Multiplication and division truncate toward
 * zero; callers that turn a result into money round with {@link divFloor} / {@link divCeil} in the
 * venue's favour.
 */
import { invariant } from './invariant.ts';

export type Fixed = bigint;

export const FIXED_DECIMALS = 18;
export const ONE: Fixed = 10n ** 18n;
const TWO: Fixed = 2n * ONE;
const HALF: Fixed = ONE / 2n;

/** Rounds a quotient toward negative infinity (bigint `/` truncates toward zero). */
export function divFloor(numerator: bigint, denominator: bigint): bigint {
  invariant(denominator !== 0n, 'divFloor by zero');
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  return remainder !== 0n && remainder < 0n !== denominator < 0n ? quotient - 1n : quotient;
}

/** Rounds a quotient toward positive infinity. */
export function divCeil(numerator: bigint, denominator: bigint): bigint {
  invariant(denominator !== 0n, 'divCeil by zero');
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  return remainder !== 0n && remainder < 0n === denominator < 0n ? quotient + 1n : quotient;
}

export function mul(a: Fixed, b: Fixed): Fixed {
  return (a * b) / ONE;
}

export function div(a: Fixed, b: Fixed): Fixed {
  invariant(b !== 0n, 'fixed-point division by zero');
  return (a * ONE) / b;
}

export function abs(a: Fixed): Fixed {
  return a < 0n ? -a : a;
}

export function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function fromInteger(n: number | bigint): Fixed {
  return BigInt(n) * ONE;
}

/** A fraction in basis points (1/10,000) as fixed point: exact. */
export function fromBps(bps: number): Fixed {
  invariant(Number.isSafeInteger(bps), 'basis points must be a safe integer');
  return (BigInt(bps) * ONE) / 10_000n;
}

const DECIMAL_PATTERN = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a decimal string exactly (digits beyond the 18th decimal are truncated toward zero).
 * Used at the edges: CLI input and the constants below, never on floats.
 * @example parseFixed('0.2') === 200000000000000000n
 * @throws RangeError when the text is not a decimal number
 */
export function parseFixed(text: string): Fixed {
  const match = DECIMAL_PATTERN.exec(text.trim());
  if (match === null) throw new RangeError(`not a decimal number: '${text}'`);
  const [, sign, whole = '0', fraction = '', exponentText] = match;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 60) {
    throw new RangeError(`exponent out of range: '${text}'`);
  }
  let digits = BigInt(whole + fraction);
  let scale = FIXED_DECIMALS - fraction.length + exponent;
  if (scale >= 0) digits *= 10n ** BigInt(scale);
  else {
    digits /= 10n ** BigInt(-scale);
    scale = 0;
  }
  return sign === '-' ? -digits : digits;
}

/** Formats with `decimals` digits after the point, rounding half away from zero. */
export function formatFixed(value: Fixed, decimals = 6): string {
  invariant(Number.isInteger(decimals) && decimals >= 0 && decimals <= FIXED_DECIMALS, 'decimals 0..18');
  const negative = value < 0n;
  const unit = 10n ** BigInt(FIXED_DECIMALS - decimals);
  const magnitude = ((negative ? -value : value) + unit / 2n) / unit;
  const text = magnitude.toString().padStart(decimals + 1, '0');
  const whole = text.slice(0, text.length - decimals);
  const fraction = text.slice(text.length - decimals);
  const body = decimals === 0 ? whole : `${whole}.${fraction}`;
  return negative && magnitude !== 0n ? `-${body}` : body;
}

/** A fixed-point value as a float, for display and benchmarks only; never feeds state. */
export function toNumber(value: Fixed): number {
  return Number(value) / 1e18;
}

const LN2: Fixed = 693147180559945309n; // ln 2 = 0.693147180559945309417...
const SQRT_2PI: Fixed = 2506628274631000502n; // √(2π) = 2.506628274631000502415...
const INV_SQRT_2PI: Fixed = 398942280401432677n; // 1/√(2π) = 0.398942280401432677939...
const EXP_MIN: Fixed = -42n * ONE; // e^-42 ≈ 5.7e-19, below one unit of the last place
const EXP_MAX: Fixed = 130n * ONE; // e^130 ≈ 2.9e56: far beyond any price, a sign of a bug

/**
 * e^x. Range reduction x = k·ln2 + r with |r| ≤ ln2/2, then a Taylor series of 18 terms in
 * Horner form (the 18th term is below 1e-20 for |r| ≤ 0.35), then a shift by k.
 */
export function exp(x: Fixed): Fixed {
  if (x < EXP_MIN) return 0n;
  invariant(x <= EXP_MAX, 'exp argument too large');
  // Round k to nearest so that |r| ≤ ln2/2.
  const k = divFloor(x + LN2 / 2n, LN2);
  const r = x - k * LN2;
  let sum = ONE;
  for (let n = 18n; n >= 1n; n--) sum = ONE + (r * sum) / (ONE * n);
  return k >= 0n ? sum << k : sum >> -k;
}

/** Number of bits of a positive bigint. */
function bitLength(x: bigint): number {
  let bits = 0;
  let rest = x;
  while (rest >= 1n << 64n) {
    rest >>= 64n;
    bits += 64;
  }
  while (rest > 0n) {
    rest >>= 1n;
    bits += 1;
  }
  return bits;
}

const ONE_BITS = bitLength(ONE); // 60: 2^59 ≤ 10^18 < 2^60
const SQRT2: Fixed = 1414213562373095049n;
const SQRT_HALF: Fixed = 707106781186547524n;

/**
 * ln x for x > 0. Normalise x = 2^k·y with y in [1/√2, √2), then
 * ln y = 2·atanh(z) = 2(z + z³/3 + z⁵/5 + …) with z = (y−1)/(y+1), |z| ≤ 0.172; 16 odd terms
 * take the remainder below 1e-25.
 * @throws InvariantError when x ≤ 0
 */
export function ln(x: Fixed): Fixed {
  invariant(x > 0n, 'ln of a non-positive number');
  let k = bitLength(x) - ONE_BITS;
  let y = k >= 0 ? x >> BigInt(k) : x << BigInt(-k);
  while (y >= SQRT2) {
    y >>= 1n;
    k += 1;
  }
  while (y < SQRT_HALF) {
    y <<= 1n;
    k -= 1;
  }
  const z = ((y - ONE) * ONE) / (y + ONE);
  const z2 = (z * z) / ONE;
  let sum = 0n;
  for (let n = 31n; n >= 1n; n -= 2n) sum = ONE / n + (z2 * sum) / ONE;
  return BigInt(k) * LN2 + (2n * z * sum) / ONE;
}

/** floor(√n) of a non-negative integer, by Newton's iteration from an upper bound. */
export function isqrt(n: bigint): bigint {
  invariant(n >= 0n, 'isqrt of a negative number');
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) + 1) >> 1);
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

/** √x in fixed point (floor). */
export function sqrt(x: Fixed): Fixed {
  return isqrt(x * ONE);
}

/** x^y = e^(y·ln x) for x > 0. */
export function pow(x: Fixed, y: Fixed): Fixed {
  return exp(mul(y, ln(x)));
}

/**
 * The standard normal CDF by Hart's double-precision algorithm (J. F. Hart, Computer
 * Approximations, 1968, algorithm 5666, as given in G. West, "Better approximations to cumulative
 * normal functions", Wilmott 2005): a rational function times e^(−x²/2) for |x| < 7.07, a
 * continued fraction beyond; absolute error below 1e-14.
 */
const HART_P = [
  '0.0352624965998911',
  '0.700383064443688',
  '6.37396220353165',
  '33.912866078383',
  '112.079291497871',
  '221.213596169931',
  '220.206867912376',
].map(parseFixed);
const HART_Q = [
  '0.0883883476483184',
  '1.75566716318264',
  '16.064177579207',
  '86.7807322029461',
  '296.564248779674',
  '637.333633378831',
  '793.826512519948',
  '440.413735824752',
].map(parseFixed);
const HART_CUTOFF: Fixed = parseFixed('7.07106781186547');
const HART_TAIL: Fixed = parseFixed('0.65');
const NORMAL_CDF_ZERO_BEYOND: Fixed = 37n * ONE;

export interface NormalValues {
  /** N(x), the cumulative distribution. */
  cdf: Fixed;
  /** n(x) = e^(−x²/2)/√(2π), the density. */
  pdf: Fixed;
}

/** N(x) and n(x) together: both need e^(−x²/2), the expensive part. */
export function normal(x: Fixed): NormalValues {
  const a = abs(x);
  if (a > NORMAL_CDF_ZERO_BEYOND) return { cdf: x > 0n ? ONE : 0n, pdf: 0n };
  const gauss = exp(-(a * a) / TWO);
  const pdf = (gauss * INV_SQRT_2PI) / ONE;
  let tail: Fixed;
  if (a < HART_CUTOFF) {
    let numerator = 0n;
    for (const c of HART_P) numerator = (numerator * a) / ONE + c;
    let denominator = 0n;
    for (const c of HART_Q) denominator = (denominator * a) / ONE + c;
    tail = (gauss * numerator) / denominator;
  } else {
    let build = a + div(4n * ONE, a + HART_TAIL);
    build = a + div(3n * ONE, build);
    build = a + div(2n * ONE, build);
    build = a + div(ONE, build);
    tail = div(gauss, mul(build, SQRT_2PI));
  }
  return { cdf: x > 0n ? ONE - tail : tail, pdf };
}

export function normalCdf(x: Fixed): Fixed {
  return normal(x).cdf;
}

export function normalPdf(x: Fixed): Fixed {
  return normal(x).pdf;
}

export { HALF as FIXED_HALF };
