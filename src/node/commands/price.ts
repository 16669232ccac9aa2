/**
 * `palisade price`: an option's price and greeks from the engine's own fixed-point pricing, so what
 * it prints is exactly what the validators compute. Decimal input is parsed exactly (no float
 * detour) and output is formatted from the fixed-point result.
 */
import { bsm, type OptionType } from '../../execution/pricing.ts';
import { type Fixed, formatFixed, parseFixed } from '../../std/fixed.ts';
import { parseOptions, UsageError } from '../args.ts';

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
  'usage: palisade price --type call|put --spot S --strike K --rate r --vol v --years T [--dividend q] [--decimals 6] [--json]\n' +
  '  rates, yields and volatility as fractions per year (0.05 = 5%); vega and rho per 1.00, theta per year';

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
  const { values } = parseOptions(args, pricingOptionSpec);
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const decimals = decimalsOption(values.decimals);
  const valuation = bsm({
    type: optionTypeOption(values.type),
    spot: fixedOption('spot', values.spot, { positive: true }),
    strike: fixedOption('strike', values.strike, { positive: true }),
    rate: fixedOption('rate', values.rate),
    volatility: fixedOption('vol', values.vol, { nonNegative: true }),
    years: fixedOption('years', values.years, { nonNegative: true }),
    dividendYield: fixedOption('dividend', values.dividend),
  });
  const fields = Object.entries(valuation).map(
    ([name, value]) => [name, formatFixed(value, decimals)] as const,
  );
  if (values.json === true) console.log(JSON.stringify(Object.fromEntries(fields)));
  else for (const [name, value] of fields) console.log(`${name.padEnd(6)} ${value}`);
  return 0;
}
