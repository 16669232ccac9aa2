/**
 * `palisade iv`: the implied volatility of an option price, by the engine's own solver. Exits 1
 * with the reason when no volatility gives the price (below intrinsic, above the upper bound) or
 * the solver does not converge.
 */
import { impliedVolatility } from '../../execution/pricing.ts';
import { formatFixed } from '../../std/fixed.ts';
import { parseOptions } from '../args.ts';
import { decimalsOption, fixedOption, optionTypeOption, pricingOptionSpec } from './price.ts';

export const usage =
  'usage: palisade iv --type call|put --spot S --strike K --rate r --years T --price P [--dividend q] [--decimals 6] [--json]';

export async function run(args: string[]): Promise<number> {
  const { vol: _unused, ...spec } = pricingOptionSpec;
  const { values } = parseOptions(args, { ...spec, price: { type: 'string' } });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const decimals = decimalsOption(values.decimals);
  const result = impliedVolatility({
    type: optionTypeOption(values.type),
    spot: fixedOption('spot', values.spot, { positive: true }),
    strike: fixedOption('strike', values.strike, { positive: true }),
    rate: fixedOption('rate', values.rate),
    years: fixedOption('years', values.years, { nonNegative: true }),
    dividendYield: fixedOption('dividend', values.dividend),
    price: fixedOption('price', values.price, { nonNegative: true }),
  });
  const output: Record<string, string | number> = { status: result.status };
  if (result.status === 'ok') {
    output.volatility = formatFixed(result.volatility, decimals);
    output.iterations = result.iterations;
  } else if (result.status === 'BELOW_INTRINSIC')
    output.lowerBound = formatFixed(result.lowerBound, decimals);
  else if (result.status === 'ABOVE_UPPER_BOUND')
    output.upperBound = formatFixed(result.upperBound, decimals);
  else output.lastVolatility = formatFixed(result.lastVolatility, decimals);
  if (values.json === true) console.log(JSON.stringify(output));
  else if (result.status === 'ok') console.log(`volatility ${output.volatility}`);
  else console.error(`palisade iv: no implied volatility (${result.status}) ${JSON.stringify(output)}`);
  return result.status === 'ok' ? 0 : 1;
}
