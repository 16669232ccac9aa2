/**
 * `palisade price` as a user runs it (through `main`): greeks in the venue convention by default
 * with their units in their names, negative rates as values, and inputs outside the fixed-point
 * pricing's range refused as usage errors instead of crashing on a broken invariant.
 *
 * Reference: Hull, "Options, Futures, and Other Derivatives", the greeks example of a 20-week call
 * (S = 49, K = 50, r = 5%, σ = 20%, T = 0.3846): price 2.40, delta 0.522, gamma 0.066,
 * vega 12.1 per 1.00 of volatility (0.121 per point), theta −4.31 per year (−0.0118 per day),
 * rho 8.91 per 1.00 of rate (0.0891 per point).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../cli.ts';

async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => out.push(parts.join(' '));
  console.error = (...parts: unknown[]) => err.push(parts.join(' '));
  try {
    const code = await main(['price', ...args]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const HULL = [
  '--type',
  'call',
  '--spot',
  '49',
  '--strike',
  '50',
  '--rate',
  '0.05',
  '--vol',
  '0.2',
  '--years',
  '0.3846',
];

function close(actual: string | undefined, expected: number, tolerance: number, what: string) {
  assert.ok(actual !== undefined, `${what} is printed`);
  assert.ok(
    Math.abs(Number(actual) - expected) <= tolerance,
    `${what} ${actual}, expected ${expected} ± ${tolerance}`,
  );
}

test('greeks are in the venue convention by default, each field naming its unit (Hull’s example)', async () => {
  const { code, out } = await capture([...HULL, '--json']);
  assert.equal(code, 0);
  const venue = JSON.parse(out) as Record<string, string>;
  assert.deepEqual(Object.keys(venue), [
    'price',
    'delta',
    'gamma',
    'vegaPerVolPoint',
    'thetaPerDay',
    'rhoPerRatePoint',
  ]);
  close(venue.price, 2.4, 0.005, 'price');
  close(venue.delta, 0.522, 0.0005, 'delta');
  close(venue.gamma, 0.066, 0.0005, 'gamma');
  close(venue.vegaPerVolPoint, 0.121, 0.0005, 'vega per point');
  close(venue.thetaPerDay, -4.31 / 365, 0.00005, 'theta per day');
  close(venue.rhoPerRatePoint, 0.0891, 0.00005, 'rho per point');

  const table = await capture(HULL);
  assert.match(table.out, /^vegaPerVolPoint +0\.121/m);
  assert.match(table.out, /^thetaPerDay +-0\.011[78]/m);
});

test('--greeks per-unit keeps the pricing’s own figures: per 1.00 of volatility and rate, per year', async () => {
  const { code, out } = await capture([...HULL, '--greeks', 'per-unit', '--json']);
  assert.equal(code, 0);
  const perUnit = JSON.parse(out) as Record<string, string>;
  close(perUnit.vegaPerUnitVol, 12.1, 0.05, 'vega per 1.00');
  close(perUnit.thetaPerYear, -4.31, 0.01, 'theta per year');
  close(perUnit.rhoPerUnitRate, 8.91, 0.01, 'rho per 1.00');
  assert.equal(perUnit.vegaPerVolPoint, undefined);
  const unknown = await capture([...HULL, '--greeks', 'percent']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--greeks must be venue or per-unit/);
});

test('a negative rate after its option is a value, as with --rate=-0.05', async () => {
  const base = [
    '--type',
    'put',
    '--spot',
    '100',
    '--strike',
    '100',
    '--vol',
    '0.3',
    '--years',
    '1',
    '--json',
  ];
  const spaced = await capture([...base, '--rate', '-0.05', '--dividend', '-0.01']);
  assert.equal(spaced.code, 0, spaced.err);
  const joined = await capture([...base, '--rate=-0.05', '--dividend=-0.01']);
  assert.equal(spaced.out, joined.out);
  // A negative rate makes the put dearer than at zero rate.
  const zero = await capture(base);
  assert.ok(Number(JSON.parse(spaced.out).price) > Number(JSON.parse(zero.out).price));
  // A negative spot is now read as a value too, and refused for what it is.
  const negativeSpot = await capture([
    '--type',
    'call',
    '--spot',
    '-5',
    '--strike',
    '5',
    '--vol',
    '0.2',
    '--years',
    '1',
  ]);
  assert.equal(negativeSpot.code, 2);
  assert.match(negativeSpot.err, /--spot must be positive/);
});

test('inputs outside the pricing’s range are usage errors, never an uncaught invariant', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--spot', '0.000000000000000001', '--strike', '50'], /--spot must be between/],
    [['--spot', '1e-18', '--strike', '50'], /--spot must be between/],
    [['--spot', '50', '--strike', '0.000000000000000001'], /--strike must be between/],
    [['--spot', '1', '--strike', '1e21'], /--strike must be between/],
    [['--spot', '50', '--strike', '50', '--rate', '-1', '--years', '1000'], /--rate × --years/],
    [['--spot', '50', '--strike', '50', '--dividend', '-0.5', '--years', '300'], /--dividend × --years/],
  ];
  for (const [options, message] of cases) {
    const args = ['--type', 'call', '--vol', '0.2', '--years', '1', ...options];
    const { code, err } = await capture(args);
    assert.equal(code, 2, `${args.join(' ')}: ${err}`);
    assert.match(err, message);
  }
});
