/**
 * European option pricing in fixed point: Black-Scholes-Merton with a continuous dividend yield
 * (Merton 1973; Hull, Options, Futures and Other Derivatives, §15.8 and §17.4), Black-76 on a
 * forward (Black 1976; Haug, The Complete Guide to Option Pricing Formulas, §1.1.4), the greeks,
 * and an implied volatility solver.
 *
 * Units: every input and output is a {@link Fixed} (18 decimals). Rates, yields and volatilities
 * are per year as fractions (0.05 = 5%); time is in years. Vega and rho are per 1.00 change of
 * volatility or rate (divide by 100 for "per point"), theta is per year.
 */
import { invariant } from '../codec/invariant.ts';
import { abs, div, exp, type Fixed, ln, max, mul, normal, ONE, sqrt } from '../std/fixed.ts';

export type OptionType = 'call' | 'put';

export interface BsmInput {
  type: OptionType;
  spot: Fixed;
  strike: Fixed;
  /** Continuously compounded risk-free rate per year. */
  rate: Fixed;
  volatility: Fixed;
  years: Fixed;
  /** Continuous dividend yield (or foreign rate); 0 when omitted. */
  dividendYield?: Fixed;
}

export interface OptionValuation {
  price: Fixed;
  delta: Fixed;
  gamma: Fixed;
  /** Per 1.00 of volatility. */
  vega: Fixed;
  /** Per year of calendar time (negative for a decaying long option). */
  theta: Fixed;
  /** Per 1.00 of the rate. */
  rho: Fixed;
}

function checkInput(input: BsmInput): void {
  invariant(input.spot > 0n, 'spot must be positive');
  invariant(input.strike > 0n, 'strike must be positive');
  invariant(input.volatility >= 0n, 'volatility must not be negative');
  invariant(input.years >= 0n, 'time to expiry must not be negative');
}

/** Below this σ√T (1e-9) the lognormal terms divide by almost zero: the option is worth its discounted intrinsic value. */
const DEGENERATE_STDDEV: Fixed = 1_000_000_000n;

/**
 * Price and greeks under Black-Scholes-Merton with dividend yield q:
 *   d1 = (ln(S/K) + (r − q + σ²/2)T) / (σ√T),  d2 = d1 − σ√T
 *   call = S e^(−qT) N(d1) − K e^(−rT) N(d2),   put = K e^(−rT) N(−d2) − S e^(−qT) N(−d1)
 * @example bsm({ type: 'call', spot: parseFixed('42'), strike: parseFixed('40'), rate: parseFixed('0.1'), volatility: parseFixed('0.2'), years: parseFixed('0.5') }).price // ≈ 4.759422
 * @throws InvariantError on a non-positive spot or strike, or a negative volatility or time
 */
export function bsm(input: BsmInput): OptionValuation {
  checkInput(input);
  const { type, spot, strike, rate, volatility, years } = input;
  const dividendYield = input.dividendYield ?? 0n;
  const discount = exp(-mul(rate, years));
  const carry = exp(-mul(dividendYield, years));
  const forwardSpot = mul(spot, carry); // S e^(−qT)
  const discountedStrike = mul(strike, discount); // K e^(−rT)
  const sqrtYears = sqrt(years);
  const stddev = mul(volatility, sqrtYears);
  const isCall = type === 'call';

  if (stddev < DEGENERATE_STDDEV) {
    // No uncertainty left: the payoff is known, its delta is a step and the other greeks vanish.
    const inTheMoney = isCall ? forwardSpot > discountedStrike : forwardSpot < discountedStrike;
    const price = inTheMoney ? abs(forwardSpot - discountedStrike) : 0n;
    const delta = inTheMoney ? (isCall ? carry : -carry) : 0n;
    const rho = inTheMoney
      ? isCall
        ? mul(mul(strike, years), discount)
        : -mul(mul(strike, years), discount)
      : 0n;
    return { price, delta, gamma: 0n, vega: 0n, theta: 0n, rho };
  }

  const d1 = div(
    ln(div(spot, strike)) + mul(rate - dividendYield + mul(volatility, volatility) / 2n, years),
    stddev,
  );
  const d2 = d1 - stddev;
  const n1 = normal(d1);
  const n2 = normal(d2);
  const density = n1.pdf; // n(d1)
  const decay = -div(mul(mul(forwardSpot, density), volatility), 2n * sqrtYears);
  const gamma = div(mul(carry, density), mul(spot, stddev));
  const vega = mul(mul(forwardSpot, density), sqrtYears);

  if (isCall) {
    const price = mul(forwardSpot, n1.cdf) - mul(discountedStrike, n2.cdf);
    return {
      price: max(price, 0n),
      delta: mul(carry, n1.cdf),
      gamma,
      vega,
      theta: decay - mul(mul(rate, discountedStrike), n2.cdf) + mul(mul(dividendYield, forwardSpot), n1.cdf),
      rho: mul(mul(strike, years), mul(discount, n2.cdf)),
    };
  }
  const minusD1 = ONE - n1.cdf; // N(−d1)
  const minusD2 = ONE - n2.cdf; // N(−d2)
  const price = mul(discountedStrike, minusD2) - mul(forwardSpot, minusD1);
  return {
    price: max(price, 0n),
    delta: -mul(carry, minusD1),
    gamma,
    vega,
    theta: decay + mul(mul(rate, discountedStrike), minusD2) - mul(mul(dividendYield, forwardSpot), minusD1),
    rho: -mul(mul(strike, years), mul(discount, minusD2)),
  };
}

export interface Black76Input {
  type: OptionType;
  forward: Fixed;
  strike: Fixed;
  rate: Fixed;
  volatility: Fixed;
  years: Fixed;
}

/**
 * Black-76 on a forward F: the BSM formula with S = F and q = r, so that S e^(−qT) = F e^(−rT).
 * Delta and gamma are with respect to F. Rho holds F fixed: ∂V/∂r = −T·V.
 * @example black76({ type: 'call', forward: parseFixed('19'), strike: parseFixed('19'), rate: parseFixed('0.1'), volatility: parseFixed('0.28'), years: parseFixed('0.75') }).price // ≈ 1.701051
 */
export function black76(input: Black76Input): OptionValuation {
  const valuation = bsm({
    type: input.type,
    spot: input.forward,
    strike: input.strike,
    rate: input.rate,
    volatility: input.volatility,
    years: input.years,
    dividendYield: input.rate,
  });
  return { ...valuation, rho: -mul(input.years, valuation.price) };
}

/** Price only, for hot paths (margin scenarios) that need no greeks. Same formula as {@link bsm}. */
export function bsmPrice(input: BsmInput): Fixed {
  return bsm(input).price;
}

export type ImpliedVolatilityResult =
  | { status: 'ok'; volatility: Fixed; iterations: number }
  /** The price is below the no-arbitrage lower bound (the discounted intrinsic value). */
  | { status: 'BELOW_INTRINSIC'; lowerBound: Fixed }
  /** The price is at or above the no-arbitrage upper bound (S e^(−qT) for a call, K e^(−rT) for a put). */
  | { status: 'ABOVE_UPPER_BOUND'; upperBound: Fixed }
  | { status: 'NO_CONVERGENCE'; lastVolatility: Fixed; lastError: Fixed };

export interface ImpliedVolatilityInput extends Omit<BsmInput, 'volatility'> {
  price: Fixed;
}

const VOL_LOW: Fixed = ONE / 10_000n; // 0.01% a year
const VOL_HIGH: Fixed = 10n * ONE; // 1000% a year
const IV_MAX_ITERATIONS = 100;
/** Price tolerance: 1e-12 of a price unit, well inside what a tick can express. */
const IV_PRICE_TOLERANCE: Fixed = 1_000_000n;

/**
 * The volatility at which {@link bsm} gives `price`: Newton steps on vega, kept inside a bisection
 * bracket so that a flat vega cannot throw the iterate out. Returns a status instead of throwing
 * when the price admits no volatility or the solver does not converge in 100 steps.
 * @example impliedVolatility({ type: 'call', spot: parseFixed('42'), strike: parseFixed('40'), rate: parseFixed('0.1'), years: parseFixed('0.5'), price: parseFixed('4.759422') })
 */
export function impliedVolatility(input: ImpliedVolatilityInput): ImpliedVolatilityResult {
  const { price, ...rest } = input;
  const dividendYield = rest.dividendYield ?? 0n;
  const forwardSpot = mul(rest.spot, exp(-mul(dividendYield, rest.years)));
  const discountedStrike = mul(rest.strike, exp(-mul(rest.rate, rest.years)));
  const isCall = rest.type === 'call';
  const lowerBound = max(isCall ? forwardSpot - discountedStrike : discountedStrike - forwardSpot, 0n);
  const upperBound = isCall ? forwardSpot : discountedStrike;
  if (price < lowerBound) return { status: 'BELOW_INTRINSIC', lowerBound };
  if (price >= upperBound) return { status: 'ABOVE_UPPER_BOUND', upperBound };

  let low = VOL_LOW;
  let high = VOL_HIGH;
  let volatility = parseInitialGuess(rest.spot, rest.strike, rest.years, price);
  let error = 0n;
  for (let iteration = 1; iteration <= IV_MAX_ITERATIONS; iteration++) {
    const valuation = bsm({ ...rest, volatility });
    error = valuation.price - price;
    if (abs(error) <= IV_PRICE_TOLERANCE) return { status: 'ok', volatility, iterations: iteration };
    // The price rises with volatility, so the sign of the error tells which side the root is on.
    if (error > 0n) high = volatility;
    else low = volatility;
    let next = valuation.vega > 0n ? volatility - div(error, valuation.vega) : 0n;
    if (next <= low || next >= high) next = (low + high) / 2n;
    if (high - low < 2n) break;
    volatility = next;
  }
  return { status: 'NO_CONVERGENCE', lastVolatility: volatility, lastError: error };
}

/**
 * Brenner and Subrahmanyam's at-the-money approximation σ ≈ √(2π/T)·C/S as a start, clamped to a
 * sane range: Newton from there converges in a handful of steps for ordinary options.
 */
function parseInitialGuess(spot: Fixed, strike: Fixed, years: Fixed, price: Fixed): Fixed {
  if (years <= 0n) return ONE / 2n;
  const reference = spot > strike ? spot : strike;
  const guess = div(mul(2506628274631000502n, price), mul(reference, sqrt(years)));
  if (guess < ONE / 20n) return ONE / 20n;
  if (guess > 3n * ONE) return 3n * ONE;
  return guess;
}
