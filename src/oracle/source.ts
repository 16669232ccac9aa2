/**
 * Where prices come from. A validator polls several `PriceSource`s (venues, a replay file, public
 * exchange APIs); each returns its latest quote per asset with the time the venue priced it. The
 * observation step (observation.ts) decides which quotes are fresh enough to use.
 */
import { invariant } from '../codec/invariant.ts';

/** An asset the oracle prices, and how its decimal prices map onto integer ticks. */
export interface AssetSpec {
  readonly assetId: number;
  /** e.g. 'BTC-USD'. */
  readonly symbol: string;
  /** One tick is 10^-decimals of the quote currency (the certificate's exponent is −decimals). */
  readonly decimals: number;
}

export interface Quote {
  readonly sourceId: string;
  readonly assetId: number;
  readonly priceTicks: bigint;
  /** When the venue priced it (not when we received it): staleness is judged on this. */
  readonly timestampMs: number;
}

export interface QuoteRequest {
  readonly assets: readonly AssetSpec[];
  /** The validator's clock, from the runtime's `Clock`. */
  readonly nowMs: number;
}

export interface PriceSource {
  readonly id: string;
  /**
   * The latest quote for each requested asset this source knows; assets it cannot price are left
   * out. Sources never throw for an unavailable venue: they return fewer quotes.
   */
  quotes(request: QuoteRequest): Promise<readonly Quote[]>;
}

/**
 * A fault drill: `source` stuck at the first price it quoted for each asset, still stamped with
 * the validator's clock, the shape of a feed frozen at its floor while the market moves (Venus and
 * LUNA, 2022). The observation step takes its quotes as fresh; the aggregate's median and the
 * source-health detector must see through it.
 * @example const frozen = stuckSource(source); // quotes the same price on every poll from now on
 */
export function stuckSource(source: PriceSource): PriceSource {
  const first = new Map<number, Quote>();
  return {
    id: source.id,
    async quotes(request) {
      const live = await source.quotes(request);
      for (const quote of live) if (!first.has(quote.assetId)) first.set(quote.assetId, quote);
      return request.assets.flatMap((asset) => {
        const quote = first.get(asset.assetId);
        return quote === undefined ? [] : [{ ...quote, timestampMs: request.nowMs }];
      });
    },
  };
}

/** The most digits a decimal price may carry before the point; keeps parsing bounded. */
const MAX_DECIMAL_LENGTH = 40;

/**
 * Parses a non-negative decimal string ("64123.45") into ticks of 10^-decimals, truncating extra
 * fractional digits toward zero. Returns undefined for anything that is not a plain decimal.
 * @example decimalToTicks('64123.456', 2) === 6412345n
 */
export function decimalToTicks(text: string, decimals: number): bigint | undefined {
  invariant(Number.isInteger(decimals) && decimals >= 0 && decimals <= 18, 'decimals must be in [0, 18]');
  if (text.length === 0 || text.length > MAX_DECIMAL_LENGTH) return undefined;
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) return undefined;
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').slice(0, decimals).padEnd(decimals, '0');
  return BigInt(whole + fraction);
}

/** Formats ticks back to a decimal string (for logs and JSON output, never for consensus). */
export function ticksToDecimal(ticks: bigint, decimals: number): string {
  const negative = ticks < 0n;
  const digits = (negative ? -ticks : ticks).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? `.${fraction}` : ''}`;
}
