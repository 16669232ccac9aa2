/**
 * Reference values: J. Hull, Options, Futures and Other Derivatives (examples 15.6 and the greeks
 * tables of chapter 19, S=49 K=50); E. G. Haug, The Complete Guide to Option Pricing Formulas,
 * 2nd ed., §1.1.4 (Black-76). The bar is agreement to 1e-4.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abs, type Fixed, formatFixed, ln, normalCdf, ONE, parseFixed, sqrt } from '../std/fixed.ts';
import { black76, bsm, impliedVolatility } from './pricing.ts';

const f = parseFixed;
const TOLERANCE = f('0.0001');

function near(actual: Fixed, expected: string, what: string, tolerance = TOLERANCE): void {
  const diff = abs(actual - f(expected));
  assert.ok(diff <= tolerance, `${what}: got ${formatFixed(actual, 8)}, expected ${expected}`);
}

test('Hull: S=42 K=40 r=10% σ=20% T=0.5 prices the call at 4.759422 and the put at 0.808599', () => {
  const base = { spot: f('42'), strike: f('40'), rate: f('0.1'), volatility: f('0.2'), years: f('0.5') };
  near(bsm({ ...base, type: 'call' }).price, '4.759422', 'call');
  near(bsm({ ...base, type: 'put' }).price, '0.808599', 'put');
});

test('Hull: S=49 K=50 r=5% σ=20% T=0.3846 call greeks', () => {
  const v = bsm({
    type: 'call',
    spot: f('49'),
    strike: f('50'),
    rate: f('0.05'),
    volatility: f('0.2'),
    years: f('0.3846'),
  });
  near(v.price, '2.400461', 'price');
  near(v.delta, '0.521602', 'delta');
  near(v.gamma, '0.065545', 'gamma');
  near(v.vega, '12.105243', 'vega');
  near(v.theta, '-4.305390', 'theta per year');
  near(v.rho, '8.906574', 'rho');
});

test('put-call parity holds with a dividend yield: C − P = S e^(−qT) − K e^(−rT)', () => {
  const base = {
    spot: f('100'),
    strike: f('95'),
    rate: f('0.03'),
    volatility: f('0.35'),
    years: f('1.25'),
    dividendYield: f('0.02'),
  };
  const call = bsm({ ...base, type: 'call' });
  const put = bsm({ ...base, type: 'put' });
  // S e^(−qT) − K e^(−rT) = 100·e^(−0.025) − 95·e^(−0.0375) = 97.530991 − 91.503470 = 6.027522
  near(call.price - put.price, '6.027522', 'parity');
  near(call.delta - put.delta, '0.975310', 'delta parity is e^(−qT)');
});

test('Haug: Black-76 F=19 K=19 T=0.75 r=10% σ=28% is worth 1.701051 (call and put alike at the money)', () => {
  const base = { forward: f('19'), strike: f('19'), rate: f('0.1'), volatility: f('0.28'), years: f('0.75') };
  near(black76({ ...base, type: 'call' }).price, '1.701051', 'call');
  near(black76({ ...base, type: 'put' }).price, '1.701051', 'put');
  near(black76({ ...base, type: 'call' }).rho, '-1.275788', 'rho = −T·V');
});

test('implied volatility recovers 20% from Hull’s call and put prices', () => {
  const base = { spot: f('42'), strike: f('40'), rate: f('0.1'), years: f('0.5') };
  for (const [type, price] of [
    ['call', '4.759422'],
    ['put', '0.808599'],
  ] as const) {
    const result = impliedVolatility({ ...base, type, price: f(price) });
    assert.equal(result.status, 'ok');
    if (result.status === 'ok') near(result.volatility, '0.2', `${type} iv`, f('0.000001'));
  }
});

test('implied volatility says so when no volatility gives the price', () => {
  const base = { type: 'call' as const, spot: f('42'), strike: f('40'), rate: f('0.1'), years: f('0.5') };
  // Lower bound S − K e^(−rT) = 42 − 40·e^(−0.05) = 3.950918.
  const below = impliedVolatility({ ...base, price: f('3.9') });
  assert.equal(below.status, 'BELOW_INTRINSIC');
  if (below.status === 'BELOW_INTRINSIC') near(below.lowerBound, '3.950918', 'lower bound');
  assert.equal(impliedVolatility({ ...base, price: f('42') }).status, 'ABOVE_UPPER_BOUND');
});

test('an expired or zero-volatility option is worth its discounted intrinsic value', () => {
  const call = bsm({
    type: 'call',
    spot: f('110'),
    strike: f('100'),
    rate: 0n,
    volatility: f('0.5'),
    years: 0n,
  });
  assert.equal(call.price, f('10'));
  assert.equal(call.delta, ONE);
  const put = bsm({ type: 'put', spot: f('110'), strike: f('100'), rate: 0n, volatility: 0n, years: f('1') });
  assert.equal(put.price, 0n);
});

test('the integer functions agree with published tables', () => {
  // Abramowitz & Stegun table 26.1: N(1) = 0.8413447461, N(−1.96) = 0.0249978951.
  near(normalCdf(ONE), '0.8413447461', 'N(1)', 10n ** 8n);
  near(normalCdf(f('-1.96')), '0.0249978951', 'N(-1.96)', 10n ** 8n);
  near(ln(f('2')), '0.693147180559945309', 'ln 2', 10n);
  near(sqrt(f('2')), '1.414213562373095048', '√2', 10n);
});
