/**
 * Public exchange APIs as price sources: Coinbase Exchange's product ticker, Kraken's public
 * Ticker and Deribit's index price. The oracle layer may not open sockets (DESIGN.md: it is pure),
 * so each adapter takes a `fetch`-like function that the node injects; tests inject recorded
 * responses (test/fixtures/oracle). A venue that fails, times out, or answers something
 * unexpected contributes no quote — never an exception, never a guessed price.
 *
 * Response formats, as each exchange documents them:
 * - Coinbase `GET https://api.exchange.coinbase.com/products/{product}/ticker` →
 *   `{"ask","bid","volume","trade_id","price","size","time"}`; `price` is the last trade, `time`
 *   its ISO-8601 timestamp.
 * - Kraken `GET https://api.kraken.com/0/public/Ticker?pair={pair}` →
 *   `{"error":[],"result":{"<pair name>":{"a":[…],"b":[…],"c":["<last price>","<lot>"],…}}}`.
 *   The ticker carries no timestamp, so the quote is stamped with the time the request was made.
 * - Deribit `GET https://www.deribit.com/api/v2/public/get_index_price?index_name={index}` →
 *   `{"jsonrpc":"2.0","result":{"index_price":…,"estimated_delivery_price":…},"usOut":…}`;
 *   `usOut` (microseconds) is when the server answered. Deribit sends the price as a JSON number;
 *   it is re-read as a decimal string from the raw text, never through a float.
 */
import { type AssetSpec, decimalToTicks, type PriceSource, type Quote } from './source.ts';

/** The subset of the WHATWG `fetch` the adapters use. */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export interface HttpSourceOptions {
  readonly fetch: FetchLike;
  /** Asset id → the venue's instrument name (product, pair or index). */
  readonly instruments: ReadonlyMap<number, string>;
  readonly timeoutMs?: number;
  /** Called with what went wrong for an asset (for logs and metrics). */
  readonly onError?: (assetId: number, reason: string) => void;
}

/** Ticker responses are a few hundred bytes; anything far larger is not a ticker. */
const MAX_RESPONSE_CHARS = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 2_000;
const INSTRUMENT_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

type Parsed = { price: string; timestampMs: number } | { error: string };

async function fetchText(options: HttpSourceOptions, url: string): Promise<string | { error: string }> {
  try {
    const response = await options.fetch(url, {
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      headers: { accept: 'application/json', 'user-agent': 'palisade-oracle' },
    });
    if (!response.ok) return { error: `HTTP ${response.status}` };
    const text = await response.text();
    return text.length > MAX_RESPONSE_CHARS ? { error: 'response too large' } : text;
  } catch (error) {
    return { error: `request failed: ${(error as Error).message ?? 'unknown'}` };
  }
}

function createHttpSource(
  id: string,
  options: HttpSourceOptions,
  urlFor: (instrument: string) => string,
  parse: (text: string, instrument: string, nowMs: number) => Parsed,
): PriceSource {
  for (const instrument of options.instruments.values()) {
    if (!INSTRUMENT_PATTERN.test(instrument))
      throw new TypeError(`${id}: bad instrument name '${instrument}'`);
  }
  return {
    id,
    async quotes(request) {
      const wanted = request.assets.filter((asset) => options.instruments.has(asset.assetId));
      const results = await Promise.all(
        wanted.map(async (asset: AssetSpec): Promise<Quote | undefined> => {
          const instrument = options.instruments.get(asset.assetId)!;
          const text = await fetchText(options, urlFor(instrument));
          const parsed: Parsed =
            typeof text === 'string' ? safeParse(parse, text, instrument, request.nowMs) : text;
          if ('error' in parsed) {
            options.onError?.(asset.assetId, parsed.error);
            return undefined;
          }
          const priceTicks = decimalToTicks(parsed.price, asset.decimals);
          if (priceTicks === undefined || priceTicks === 0n) {
            options.onError?.(asset.assetId, `unusable price '${parsed.price}'`);
            return undefined;
          }
          return { sourceId: id, assetId: asset.assetId, priceTicks, timestampMs: parsed.timestampMs };
        }),
      );
      return results.filter((quote): quote is Quote => quote !== undefined);
    },
  };
}

function safeParse(
  parse: (text: string, instrument: string, nowMs: number) => Parsed,
  text: string,
  instrument: string,
  nowMs: number,
): Parsed {
  try {
    return parse(text, instrument, nowMs);
  } catch {
    return { error: 'malformed response' };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function createCoinbaseSource(options: HttpSourceOptions): PriceSource {
  return createHttpSource(
    'coinbase',
    options,
    (product) => `https://api.exchange.coinbase.com/products/${product}/ticker`,
    (text) => {
      const body: unknown = JSON.parse(text);
      if (!isRecord(body)) return { error: 'not an object' };
      if (typeof body.message === 'string') return { error: `coinbase: ${body.message}` };
      if (typeof body.price !== 'string' || typeof body.time !== 'string')
        return { error: 'missing price or time' };
      const timestampMs = Date.parse(body.time);
      if (!Number.isSafeInteger(timestampMs)) return { error: 'bad time' };
      return { price: body.price, timestampMs };
    },
  );
}

export function createKrakenSource(options: HttpSourceOptions): PriceSource {
  return createHttpSource(
    'kraken',
    options,
    (pair) => `https://api.kraken.com/0/public/Ticker?pair=${pair}`,
    (text, _pair, nowMs) => {
      const body: unknown = JSON.parse(text);
      if (!isRecord(body) || !Array.isArray(body.error)) return { error: 'not a Kraken response' };
      if (body.error.length > 0) return { error: `kraken: ${String(body.error[0])}` };
      if (!isRecord(body.result)) return { error: 'missing result' };
      // Kraken answers under its own pair name (XBTUSD → XXBTZUSD): exactly one entry is expected.
      const entries = Object.values(body.result);
      if (entries.length !== 1 || !isRecord(entries[0])) return { error: 'expected exactly one pair' };
      const last = entries[0].c;
      if (!Array.isArray(last) || typeof last[0] !== 'string') return { error: 'missing last trade' };
      return { price: last[0], timestampMs: nowMs };
    },
  );
}

export function createDeribitIndexSource(options: HttpSourceOptions): PriceSource {
  return createHttpSource(
    'deribit-index',
    options,
    (index) => `https://www.deribit.com/api/v2/public/get_index_price?index_name=${index}`,
    (text) => {
      const body: unknown = JSON.parse(text);
      if (!isRecord(body)) return { error: 'not an object' };
      if (isRecord(body.error)) return { error: `deribit: ${String(body.error.message)}` };
      if (
        !isRecord(body.result) ||
        typeof body.result.index_price !== 'number' ||
        typeof body.usOut !== 'number'
      )
        return { error: 'missing index_price or usOut' };
      // The decimal exactly as sent, not a float's re-rendering of it.
      const raw = /"index_price"\s*:\s*(\d+(?:\.\d+)?)(?![\d.eE])/.exec(text)?.[1];
      if (raw === undefined) return { error: 'index_price is not a plain decimal' };
      return { price: raw, timestampMs: Math.floor(body.usOut / 1000) };
    },
  );
}
