/**
 * `palisade price`: an option's price and greeks from the engine's own fixed-point pricing, so what
 * it prints is exactly what the validators compute. Decimal input is parsed exactly (no float
 * detour) and output is formatted from the fixed-point result.
 *
 * Greeks are shown in the venue convention by default, as Deribit shows them: vega per volatility
 * point (1%), theta per calendar day (1/365 of a year), rho per rate point (1%). `--greeks
 * per-unit` shows the pricing's own figures instead: per 1.00 of volatility and rate, per year.
 * Every field names its unit, so the two can never be mistaken for each other.
 */
import { bsm, type OptionType } from '../../execution/pricing.ts';
import { type Fixed, formatFixed, ONE, parseFixed } from '../../std/fixed.ts';
import { parseOptions, UsageError } from '../args.ts';
import { type GreeksConvention, greeksWithUnits } from '../view.ts';

export const pricingOptionSpec = {
  type: { type: 'string' },
  spot: { type: 'string' },
  strike: { type: 'string' },
  rate: { type: 'string', default: '0' },
  vol: { type: 'string' },
  years: { type: 'string' },
  dividend: { type: 'string', default: '0' },
  decimals: { type: 'string', default: '6' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const usage =
  'usage: palisade price --type call|put --spot S --strike K --rate r --vol v --years T [--dividend q] [--decimals 6] [--greeks venue|per-unit] [--json]\n' +
  '  rates, yields and volatility as fractions per year (0.05 = 5%, negative rates as --rate -0.05)\n' +
  '  greeks: venue (default) = vegaPerVolPoint, thetaPerDay, rhoPerRatePoint; per-unit = vegaPerUnitVol, thetaPerYear, rhoPerUnitRate';

export function greeksOption(value: string | boolean | undefined): GreeksConvention {
  if (value === undefined || value === 'venue') return 'venue';
  if (value === 'per-unit') return 'per-unit';
  throw new UsageError(`--greeks must be venue or per-unit, got ${String(value)}`);
}

/** Prices and strikes the 18-decimal pricing keeps digits for (quote units). */
const PRICE_MIN: Fixed = ONE / 1_000_000n; // 10^-6
const PRICE_MAX: Fixed = ONE * 1_000_000_000_000n; // 10^12
/** Largest |rate × years| and |dividend × years|: e^100 is no discount factor, and e^130 overflows. */
const GROWTH_MAX: Fixed = 100n * ONE;

/**
 * Refuses inputs outside the range the fixed-point pricing covers, with a usage error naming the
 * option, rather than letting a broken invariant deep in `ln` or `exp` crash the command: a spot of
 * 10^-18 makes spot/strike round to zero, whose logarithm does not exist.
 * @throws UsageError naming the option out of range
 */
export function checkPricingDomain(input: {
  spot: Fixed;
  strike: Fixed;
  rate: Fixed;
  years: Fixed;
  dividendYield: Fixed;
}): void {
  for (const [name, value] of [
    ['spot', input.spot],
    ['strike', input.strike],
  ] as const) {
    if (value < PRICE_MIN || value > PRICE_MAX)
      throw new UsageError(
        `--${name} must be between 0.000001 and 1000000000000, got ${formatFixed(value, 18)}`,
      );
  }
  for (const [name, value] of [
    ['rate', input.rate],
    ['dividend', input.dividendYield],
  ] as const) {
    const growth = (value * input.years) / ONE;
    if (growth > GROWTH_MAX || growth < -GROWTH_MAX)
      throw new UsageError(`--${name} × --years must be within ±100 (e^100 is no discount factor)`);
  }
}

/** Parses a decimal option exactly into fixed point, or throws a UsageError naming it. */
export function fixedOption(
  name: string,
  value: string | boolean | undefined,
  options: { positive?: boolean; nonNegative?: boolean } = {},
): Fixed {
  if (typeof value !== 'string') throw new UsageError(`--${name} is required`);
  let parsed: Fixed;
  try {
    parsed = parseFixed(value);
  } catch {
    throw new UsageError(`--${name} needs a decimal number, got '${value}'`);
  }
  if (options.positive === true && parsed <= 0n) throw new UsageError(`--${name} must be positive`);
  if (options.nonNegative === true && parsed < 0n) throw new UsageError(`--${name} must not be negative`);
  return parsed;
}

export function optionTypeOption(value: string | boolean | undefined): OptionType {
  if (value === 'call' || value === 'put') return value;
  throw new UsageError(`--type must be call or put, got ${String(value ?? 'nothing')}`);
}

export function decimalsOption(value: string | boolean | undefined): number {
  const decimals = Number(value);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18)
    throw new UsageError('--decimals must be 0..18');
  return decimals;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    ...pricingOptionSpec,
    greeks: { type: 'string', default: 'venue' },
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const decimals = decimalsOption(values.decimals);
  const convention = greeksOption(values.greeks);
  const input = {
    type: optionTypeOption(values.type),
    spot: fixedOption('spot', values.spot, { positive: true }),
    strike: fixedOption('strike', values.strike, { positive: true }),
    rate: fixedOption('rate', values.rate),
    volatility: fixedOption('vol', values.vol, { nonNegative: true }),
    years: fixedOption('years', values.years, { nonNegative: true }),
    dividendYield: fixedOption('dividend', values.dividend),
  };
  checkPricingDomain(input);
  const fields = Object.entries(greeksWithUnits(bsm(input), convention)).map(
    ([name, value]) => [name, formatFixed(value, decimals)] as const,
  );
  if (values.json === true) console.log(JSON.stringify(Object.fromEntries(fields)));
  else for (const [name, value] of fields) console.log(`${name.padEnd(15)} ${value}`);
  return 0;
}
