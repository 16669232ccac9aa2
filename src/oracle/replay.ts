/**
 * Replay of recorded ticks, from CSV (`timestamp_ms,source,symbol,price` with that header) or
 * JSON Lines (`{"timestampMs":…,"source":"…","symbol":"…","price":"64123.45"}`). Each recorded
 * source becomes a `PriceSource` that answers with its latest tick at or before the asked time,
 * so a recorded incident can be pushed through the same observation and aggregation code.
 * Prices stay decimal strings until `decimalToTicks`: no float ever touches them.
 */
import { type AssetSpec, decimalToTicks, type PriceSource, type Quote } from './source.ts';

export interface RecordedTick {
  readonly timestampMs: number;
  readonly source: string;
  readonly symbol: string;
  readonly price: string;
}

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  readonly code = 'BAD_TICK' as const;
  readonly line: number;
  constructor(line: number, detail: string) {
    super(`BAD_TICK at line ${line}: ${detail}`);
    this.line = line;
  }
}

/** The most ticks one file may hold; a day of one-second ticks from a dozen venues fits. */
export const MAX_REPLAY_TICKS = 2_000_000;
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function checkTick(tick: RecordedTick, line: number): RecordedTick {
  if (!Number.isSafeInteger(tick.timestampMs) || tick.timestampMs < 0)
    throw new ReplayError(line, 'timestamp must be a non-negative integer of milliseconds');
  if (!NAME_PATTERN.test(tick.source)) throw new ReplayError(line, 'bad source name');
  if (!NAME_PATTERN.test(tick.symbol)) throw new ReplayError(line, 'bad symbol');
  if (!/^\d{1,30}(\.\d{1,18})?$/.test(tick.price)) throw new ReplayError(line, `bad price '${tick.price}'`);
  return tick;
}

function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  if (all.length > MAX_REPLAY_TICKS + 1) throw new ReplayError(MAX_REPLAY_TICKS + 1, 'too many lines');
  return all;
}

/** @throws ReplayError naming the first bad line */
export function parseTicksCsv(text: string): RecordedTick[] {
  const [header, ...rows] = lines(text);
  if (header?.trim() !== 'timestamp_ms,source,symbol,price')
    throw new ReplayError(1, 'header must be timestamp_ms,source,symbol,price');
  const ticks: RecordedTick[] = [];
  rows.forEach((row, i) => {
    if (row.trim() === '') return;
    const fields = row.split(',');
    if (fields.length !== 4) throw new ReplayError(i + 2, 'expected four fields');
    const [time, source, symbol, price] = fields as [string, string, string, string];
    ticks.push(
      checkTick({ timestampMs: /^\d+$/.test(time) ? Number(time) : -1, source, symbol, price }, i + 2),
    );
  });
  return ticks;
}

/** @throws ReplayError naming the first bad line */
export function parseTicksJsonl(text: string): RecordedTick[] {
  const ticks: RecordedTick[] = [];
  lines(text).forEach((row, i) => {
    if (row.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      throw new ReplayError(i + 1, 'not JSON');
    }
    const record = value as Record<string, unknown>;
    if (typeof value !== 'object' || value === null) throw new ReplayError(i + 1, 'not an object');
    if (
      typeof record.source !== 'string' ||
      typeof record.symbol !== 'string' ||
      typeof record.price !== 'string'
    )
      throw new ReplayError(i + 1, 'source, symbol and price (a decimal string) are required');
    ticks.push(
      checkTick(
        {
          timestampMs: typeof record.timestampMs === 'number' ? record.timestampMs : -1,
          source: record.source,
          symbol: record.symbol,
          price: record.price,
        },
        i + 1,
      ),
    );
  });
  return ticks;
}

/**
 * One replaying `PriceSource` per recorded source, sorted by id.
 * @example const sources = createReplaySources(parseTicksCsv(text), assets);
 */
export function createReplaySources(
  ticks: readonly RecordedTick[],
  assets: readonly AssetSpec[],
): PriceSource[] {
  const bySymbol = new Map(assets.map((asset) => [asset.symbol, asset]));
  // source → assetId → quotes ascending by time
  const series = new Map<string, Map<number, Quote[]>>();
  for (const tick of ticks) {
    const asset = bySymbol.get(tick.symbol);
    if (asset === undefined) continue;
    const priceTicks = decimalToTicks(tick.price, asset.decimals);
    if (priceTicks === undefined || priceTicks === 0n) continue;
    const perAsset = series.get(tick.source) ?? new Map<number, Quote[]>();
    series.set(tick.source, perAsset);
    const list = perAsset.get(asset.assetId) ?? [];
    perAsset.set(asset.assetId, list);
    list.push({ sourceId: tick.source, assetId: asset.assetId, priceTicks, timestampMs: tick.timestampMs });
  }
  for (const perAsset of series.values())
    for (const list of perAsset.values()) list.sort((a, b) => a.timestampMs - b.timestampMs);

  return [...series.keys()].sort().map((id) => ({
    id,
    quotes: async (request) =>
      request.assets.flatMap((asset) => {
        const list = series.get(id)?.get(asset.assetId);
        if (list === undefined) return [];
        // The last tick at or before now: binary search, since replays can be long.
        let low = 0;
        let high = list.length;
        while (low < high) {
          const middle = (low + high) >> 1;
          if (list[middle]!.timestampMs <= request.nowMs) low = middle + 1;
          else high = middle;
        }
        return low === 0 ? [] : [list[low - 1]!];
      }),
  }));
}
