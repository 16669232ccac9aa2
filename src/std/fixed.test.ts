/**
 * The fixed-point library against published constants (e, ln 2, √2 to 18 decimals; the standard
 * normal CDF from Abramowitz & Stegun, table 26.1) and its rounding helpers' signs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { divCeil, divFloor, exp, formatFixed, isqrt, ln, normalCdf, ONE, parseFixed, sqrt } from './fixed.ts';

/** |a − b| ≤ tolerance, in units of 10^-18. */
function near(actual: bigint, expected: bigint, tolerance: bigint, what: string): void {
  const gap = actual > expected ? actual - expected : expected - actual;
  assert.ok(gap <= tolerance, `${what}: ${actual} is ${gap} from ${expected}`);
}

test('exp, ln and sqrt meet the published constants to about 1e-16', () => {
  assert.equal(exp(0n), ONE);
  near(exp(ONE), 2_718_281_828_459_045_235n, 1_000n, 'e');
  near(exp(-3n * ONE), 49_787_068_367_863_943n, 100n, 'e^-3');
  near(ln(2n * ONE), 693_147_180_559_945_309n, 100n, 'ln 2');
  near(ln(exp(5n * ONE)), 5n * ONE, 1_000n, 'ln e^5');
  near(sqrt(2n * ONE), 1_414_213_562_373_095_048n, 1n, '√2');
  assert.equal(isqrt(10n ** 36n), 10n ** 18n);
  assert.equal(isqrt(15n), 3n);
});

test('the normal CDF meets Abramowitz & Stegun table 26.1', () => {
  near(normalCdf(0n), ONE / 2n, 10n, 'N(0)');
  near(normalCdf(ONE), parseFixed('0.841344746068543'), 100_000n, 'N(1)');
  near(normalCdf(-2n * ONE), parseFixed('0.022750131948179'), 100_000n, 'N(-2)');
  near(normalCdf(3n * ONE), parseFixed('0.998650101968370'), 100_000n, 'N(3)');
});

test('divFloor and divCeil round toward −∞ and +∞ for every sign', () => {
  assert.deepEqual(
    [divFloor(7n, 2n), divFloor(-7n, 2n), divFloor(7n, -2n), divFloor(-7n, -2n)],
    [3n, -4n, -4n, 3n],
  );
  assert.deepEqual(
    [divCeil(7n, 2n), divCeil(-7n, 2n), divCeil(7n, -2n), divCeil(-7n, -2n)],
    [4n, -3n, -3n, 4n],
  );
  assert.equal(divFloor(6n, 3n), 2n);
  assert.equal(formatFixed(parseFixed('-1.2345675'), 6), '-1.234568');
});
