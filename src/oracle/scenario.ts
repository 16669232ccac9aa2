/**
 * Manipulation scenarios: a whole oracle pipeline — simulated venues, each validator's signed
 * observation, block aggregation with its guards — under one named attack, replayable from its
 * seed. `palisade oracle-sim --scenario NAME --json` prints the summary; each scenario is also a
 * test with the bound it must meet.
 *
 * The bound (issue 5): with at most f Byzantine validators and a majority of honest sources per
 * validator, the aggregate lies within the honest validators' observations, every block, and
 * (issue 9) its confidence is no wider than the honest spread of src/oracle/aggregate.ts: the
 * largest distance from an honest price to the far end of another honest interval. With more than
 * f colluders neither holds, and the summary says so; the move guards must then flag.
 */
import { invariant } from '../codec/invariant.ts';
import { type AggregatePriceValue, MAX_PRICE_TICKS, type ObservationEntry } from '../codec/oracle.ts';
import { createEd25519Signer, type Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { createPrng } from '../std/prng.ts';
import {
  AggregateFlag,
  type AggregationParams,
  aggregateBlock,
  DEFAULT_AGGREGATION_PARAMS,
  flagNames,
} from './aggregate.ts';
import {
  createSimulatedMarket,
  deviationBps,
  type ScriptedMove,
  type SimulatedAssetSpec,
  type VenueSpec,
} from './market.ts';
import {
  buildObservation,
  DEFAULT_OBSERVATION_PARAMS,
  encodeVoteExtension,
  signObservation,
} from './observation.ts';
import type { Quote } from './source.ts';
import { maxBigint, minBigint } from './stats.ts';

export const SCENARIO_NAMES = [
  'calm',
  'venue-pump',
  'stuck-floor',
  'byzantine-extreme',
  'byzantine-equivocate',
  'byzantine-confidence',
  'validator-stale',
  'stale-quorum',
  'bad-observations',
  'collusion',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

const MINUTE = 60_000;
const CHAIN_ID = 31_337;
const START_MS = 1_750_000_000_000;
const BLOCK_MS = 1_000;
const ASSET: SimulatedAssetSpec = {
  assetId: 1,
  symbol: 'BTC-USD',
  decimals: 2,
  initialPriceTicks: 6_500_000n,
  annualVolatilityBps: 6_000,
  jumpPpmPerStep: 200,
  jumpBps: 150,
};

interface ScenarioPlan {
  readonly description: string;
  readonly validators: number;
  readonly byzantine: number;
  readonly durationMs: number;
  readonly moves?: readonly ScriptedMove[];
  /** Rewrites the quotes one validator sees (a pumped venue, a stuck or frozen source). */
  readonly distortQuotes?: (validator: number, quotes: Quote[], nowMs: number, truePrice: bigint) => Quote[];
  /** What a Byzantine validator puts in the block instead of its honest observation. */
  readonly byzantineExtensions?: (context: ByzantineContext) => Uint8Array[];
  /** Extra hostile extensions that appear in the block (replays, strangers). */
  readonly injected?: (context: ByzantineContext) => Uint8Array[];
}

interface ByzantineContext {
  readonly validator: number;
  readonly signer: Ed25519Signer;
  readonly height: number;
  readonly nowMs: number;
  readonly honestEntry: ObservationEntry | undefined;
  readonly previousExtensions: readonly Uint8Array[];
  readonly stranger: Ed25519Signer;
}

function withinWindow(nowMs: number, fromMinute: number, toMinute: number): boolean {
  return nowMs >= START_MS + fromMinute * MINUTE && nowMs < START_MS + toMinute * MINUTE;
}

function forge(
  signer: Ed25519Signer,
  height: number,
  timestampMs: number,
  entries: ObservationEntry[],
): Uint8Array {
  return encodeVoteExtension(
    signObservation(signer, { chainId: CHAIN_ID, height, validator: signer.publicKey, timestampMs, entries }),
  );
}

function scaled(
  entry: ObservationEntry | undefined,
  numerator: bigint,
  denominator: bigint,
  nowMs: number,
): ObservationEntry[] {
  if (entry === undefined) return [];
  const price = (entry.priceTicks * numerator) / denominator;
  return [{ ...entry, priceTicks: price > 0n ? price : 1n, sourceTimeMs: nowMs - 100 }];
}

function plan(name: ScenarioName): ScenarioPlan {
  switch (name) {
    case 'calm':
      return { description: 'no attack: the baseline', validators: 4, byzantine: 0, durationMs: 10 * MINUTE };
    case 'venue-pump':
      return {
        description: 'one venue (of five) pumped 24x for ten minutes, as MNGO was in October 2022',
        validators: 4,
        byzantine: 0,
        durationMs: 16 * MINUTE,
        distortQuotes: (_v, quotes, nowMs) =>
          withinWindow(nowMs, 3, 13)
            ? quotes.map((q) => (q.sourceId === 'venue-0' ? { ...q, priceTicks: q.priceTicks * 24n } : q))
            : quotes,
      };
    case 'stuck-floor':
      return {
        description:
          'the market falls 90% while one source sticks at a floor price, as LUNA did on Venus in May 2022',
        validators: 4,
        byzantine: 0,
        durationMs: 16 * MINUTE,
        moves: [
          {
            assetId: ASSET.assetId,
            fromMs: START_MS + 2 * MINUTE,
            toMs: START_MS + 12 * MINUTE,
            toBps: 1_000,
          },
        ],
        distortQuotes: (_v, quotes) => {
          const floor = ASSET.initialPriceTicks / 2n;
          return quotes.map((q) =>
            q.sourceId === 'venue-1' && q.priceTicks < floor ? { ...q, priceTicks: floor } : q,
          );
        },
      };
    case 'byzantine-extreme':
      return {
        description: 'f of 3f + 1 validators report extreme prices (1000x and one tick)',
        validators: 7,
        byzantine: 2,
        durationMs: 10 * MINUTE,
        byzantineExtensions: (c) => [
          forge(
            c.signer,
            c.height,
            c.nowMs,
            scaled(
              c.honestEntry,
              c.validator % 2 === 0 ? 1000n : 1n,
              c.validator % 2 === 0 ? 1n : 10n ** 9n,
              c.nowMs,
            ),
          ),
        ],
      };
    case 'byzantine-equivocate':
      return {
        description: 'f validators send two different observations at every height',
        validators: 7,
        byzantine: 2,
        durationMs: 10 * MINUTE,
        byzantineExtensions: (c) => [
          forge(c.signer, c.height, c.nowMs, scaled(c.honestEntry, 3n, 2n, c.nowMs)),
          forge(c.signer, c.height, c.nowMs, scaled(c.honestEntry, 1n, 2n, c.nowMs)),
        ],
      };
    case 'byzantine-confidence':
      return {
        description:
          'f of 3f + 1 validators report one tick with confidence 0, or the market price with the widest confidence, to widen the confidence until the engine refuses every sample',
        validators: 7,
        byzantine: 2,
        durationMs: 10 * MINUTE,
        byzantineExtensions: (c) => {
          if (c.honestEntry === undefined) return [];
          const entry =
            c.validator % 2 === 0
              ? { ...c.honestEntry, priceTicks: 1n, confidenceTicks: 0n, sourceTimeMs: c.nowMs - 100 }
              : { ...c.honestEntry, confidenceTicks: MAX_PRICE_TICKS - c.honestEntry.priceTicks };
          return [forge(c.signer, c.height, c.nowMs, [entry])];
        },
      };
    case 'validator-stale':
      return {
        description: 'all sources of one validator go stale (frozen quotes) from minute 2',
        validators: 4,
        byzantine: 0,
        durationMs: 10 * MINUTE,
        distortQuotes: (v, quotes, nowMs) =>
          v === 0 && nowMs >= START_MS + 2 * MINUTE
            ? quotes.map((q) => ({ ...q, timestampMs: Math.min(q.timestampMs, START_MS + 2 * MINUTE) }))
            : quotes,
      };
    case 'stale-quorum':
      return {
        description:
          'f + 1 validators lose all fresh sources from minute 2 to 6: fewer than 2f + 1 fresh observations',
        validators: 4,
        byzantine: 0,
        durationMs: 8 * MINUTE,
        distortQuotes: (v, quotes, nowMs) =>
          v < 2 && withinWindow(nowMs, 2, 6)
            ? quotes.map((q) => ({ ...q, timestampMs: Math.min(q.timestampMs, START_MS + 2 * MINUTE) }))
            : quotes,
      };
    case 'bad-observations':
      return {
        description:
          'every block also carries a future-timestamped observation, one replayed from the previous height and one signed by a stranger',
        validators: 4,
        byzantine: 1,
        durationMs: 6 * MINUTE,
        byzantineExtensions: (c) => [
          forge(c.signer, c.height, c.nowMs + 60_000, scaled(c.honestEntry, 2n, 1n, c.nowMs)),
        ],
        injected: (c) => [
          ...c.previousExtensions.slice(0, 1),
          forge(c.stranger, c.height, c.nowMs, scaled(c.honestEntry, 1n, 3n, c.nowMs)),
        ],
      };
    case 'collusion':
      return {
        description: '2f + 1 validators collude to report 30% below the market from minute 4',
        validators: 7,
        byzantine: 5,
        durationMs: 10 * MINUTE,
        byzantineExtensions: (c) => [
          forge(
            c.signer,
            c.height,
            c.nowMs,
            withinWindow(c.nowMs, 4, 1_000)
              ? scaled(c.honestEntry, 7n, 10n, c.nowMs)
              : scaled(c.honestEntry, 1n, 1n, c.nowMs),
          ),
        ],
      };
  }
}

const VENUES: readonly VenueSpec[] = [0, 1, 2, 3, 4].map((i) => ({
  id: `venue-${i}`,
  noiseBps: 3 + i,
  latencyMs: 200 + 150 * i,
  outagePpmPerStep: 1_000,
  outageMs: 20_000,
}));

export interface ScenarioOptions {
  readonly seed?: number;
  /** Overrides the plan's duration (tests shorten long runs). */
  readonly durationMs?: number;
  readonly params?: AggregationParams;
}

export interface ScenarioSummary {
  readonly scenario: ScenarioName;
  readonly description: string;
  readonly seed: number;
  readonly validators: number;
  readonly f: number;
  readonly byzantine: number;
  readonly blocks: number;
  readonly asset: string;
  readonly series: {
    readonly firstPrice: string;
    readonly lastPrice: string;
    readonly minPrice: string;
    readonly maxPrice: string;
    readonly lastTruePrice: string;
    readonly staleBlocks: number;
  };
  /** Blocks on which each guard flagged. */
  readonly guards: Record<string, number>;
  readonly guardsTripped: string[];
  readonly droppedObservations: Record<string, number>;
  readonly droppedQuotes: Record<string, number>;
  readonly equivocations: number;
  readonly worstDeviationBps: number;
  readonly worstDeviationHeight: number;
  readonly honestRange: { readonly blocksOutside: number; readonly blocksChecked: number };
  /** Blocks whose confidence was wider than the honest spread, of those with honest observations. */
  readonly honestConfidence: {
    readonly blocksWider: number;
    readonly blocksChecked: number;
    /** The widest confidence seen, in basis points of its price. */
    readonly widestBps: number;
  };
  readonly honestBound: { readonly applies: boolean; readonly holds: boolean; readonly statement: string };
}

/**
 * Runs one scenario from its seed.
 * @example const summary = await runScenario('venue-pump', { seed: 1 });
 */
export async function runScenario(
  name: ScenarioName,
  options: ScenarioOptions = {},
): Promise<ScenarioSummary> {
  const scenario = plan(name);
  const seed = options.seed ?? 1;
  const params = options.params ?? DEFAULT_AGGREGATION_PARAMS;
  const durationMs = options.durationMs ?? scenario.durationMs;
  invariant(durationMs > 0 && durationMs <= 24 * 60 * MINUTE, 'scenario duration out of range');
  const n = scenario.validators;
  const f = Math.floor((n - 1) / 3);
  const market = createSimulatedMarket(
    { seed, startMs: START_MS, stepMs: 250, assets: [ASSET], venues: VENUES },
    scenario.moves ?? [],
  );
  const sources = market.sources();
  const signers = Array.from({ length: n }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`oracle-sim/${seed}/validator/${i}`))),
  );
  const stranger = createEd25519Signer(sha256(new TextEncoder().encode(`oracle-sim/${seed}/stranger`)));
  const validators = signers.map((s) => ({ publicKey: s.publicKey, weight: 1n }));
  // Each validator sees the venues through its own network: a little jitter of its own.
  const jitter = Array.from({ length: n }, (_, i) => createPrng(seed * 1_000 + i));

  let previous = new Map<number, AggregatePriceValue>();
  let previousExtensions: Uint8Array[] = [];
  const guards: Record<string, number> = { STALE: 0, MAX_MOVE: 0, EMA_BAND: 0, CONFIDENCE_WIDE: 0 };
  const droppedObservations: Record<string, number> = {};
  const droppedQuotes: Record<string, number> = {};
  let equivocations = 0;
  let worstDeviationBps = 0;
  let worstDeviationHeight = 0;
  let blocksOutside = 0;
  let blocksChecked = 0;
  let blocksWider = 0;
  let widestConfidenceBps = 0;
  let staleBlocks = 0;
  const prices: bigint[] = [];
  const blocks = Math.floor(durationMs / BLOCK_MS);

  for (let height = 1; height <= blocks; height++) {
    const nowMs = START_MS + height * BLOCK_MS;
    market.advanceTo(nowMs);
    const truePrice = market.truePrice(ASSET.assetId);
    const extensions: Uint8Array[] = [];
    const honestPrices: bigint[] = [];
    const honestEntries: ObservationEntry[] = [];
    for (let v = 0; v < n; v++) {
      const raw = (await Promise.all(sources.map((s) => s.quotes({ assets: [ASSET], nowMs })))).flat();
      const seen = raw.map((q) => {
        const noise = BigInt(jitter[v]!.nextBelow(5)) - 2n;
        return { ...q, priceTicks: q.priceTicks + (q.priceTicks * noise) / 100_000n };
      });
      const quotes = scenario.distortQuotes?.(v, seen, nowMs, truePrice) ?? seen;
      const { body, reports } = buildObservation({
        chainId: CHAIN_ID,
        height,
        validator: signers[v]!.publicKey,
        nowMs,
        assets: [ASSET],
        quotes,
        params: DEFAULT_OBSERVATION_PARAMS,
      });
      for (const report of reports)
        for (const drop of report.dropped) droppedQuotes[drop.reason] = (droppedQuotes[drop.reason] ?? 0) + 1;
      const context: ByzantineContext = {
        validator: v,
        signer: signers[v]!,
        height,
        nowMs,
        honestEntry: body.entries[0],
        previousExtensions,
        stranger,
      };
      if (v < scenario.byzantine && scenario.byzantineExtensions !== undefined) {
        extensions.push(...scenario.byzantineExtensions(context));
      } else {
        extensions.push(encodeVoteExtension(signObservation(signers[v]!, body)));
        const entry = body.entries[0];
        if (entry !== undefined && nowMs - entry.sourceTimeMs <= params.maxObservationAgeMs) {
          honestPrices.push(entry.priceTicks);
          honestEntries.push(entry);
        }
      }
      if (v === 0 && scenario.injected !== undefined) extensions.push(...scenario.injected(context));
    }
    const block = aggregateBlock({
      chainId: CHAIN_ID,
      height,
      blockTimeMs: nowMs,
      validators,
      assets: [ASSET.assetId],
      extensions,
      previous,
      params,
    });
    previousExtensions = extensions.slice(scenario.byzantine);
    for (const drop of block.dropped)
      droppedObservations[drop.reason] = (droppedObservations[drop.reason] ?? 0) + 1;
    equivocations += block.equivocations.length;
    const price = block.prices[0]!;
    for (const flag of flagNames(price.flags)) guards[flag] = (guards[flag] ?? 0) + 1;
    previous = new Map([[ASSET.assetId, price]]);
    if ((price.flags & AggregateFlag.STALE) !== 0) {
      staleBlocks++;
      continue;
    }
    prices.push(price.priceTicks);
    const deviation = deviationBps(price.priceTicks, truePrice);
    if (deviation > worstDeviationBps) {
      worstDeviationBps = deviation;
      worstDeviationHeight = height;
    }
    if (honestPrices.length > 0) {
      blocksChecked++;
      const low = minBigint(...honestPrices);
      const high = maxBigint(...honestPrices);
      if (price.priceTicks < low || price.priceTicks > high) blocksOutside++;
      if (price.confidenceTicks > honestSpread(honestEntries)) blocksWider++;
    }
    const confidenceBps = Number((price.confidenceTicks * 10_000n) / price.priceTicks);
    if (confidenceBps > widestConfidenceBps) widestConfidenceBps = confidenceBps;
  }

  const applies = scenario.byzantine <= f;
  const holds = blocksOutside === 0 && blocksWider === 0;
  const statement = applies
    ? holds
      ? `with ${scenario.byzantine} ≤ f = ${f} Byzantine validators the aggregate stayed within the honest observations, its confidence within the honest spread, on all ${blocksChecked} checked blocks`
      : `BOUND VIOLATED: with only ${scenario.byzantine} ≤ f = ${f} Byzantine validators the aggregate left the honest range on ${blocksOutside} blocks and its confidence exceeded the honest spread on ${blocksWider}`
    : `${scenario.byzantine} colluding validators exceed f = ${f}: the honest bound no longer holds (aggregate outside the honest range on ${blocksOutside} of ${blocksChecked} blocks); the guards flagged ${
        Object.entries(guards)
          .filter(([, count]) => count > 0)
          .map(([flag, count]) => `${flag} on ${count}`)
          .join(', ') || 'nothing'
      }`;
  const format = (ticks: bigint) => {
    const digits = ticks.toString().padStart(ASSET.decimals + 1, '0');
    return `${digits.slice(0, -ASSET.decimals)}.${digits.slice(-ASSET.decimals)}`;
  };
  const nonEmpty = prices.length > 0 ? prices : [0n];
  return {
    scenario: name,
    description: scenario.description,
    seed,
    validators: n,
    f,
    byzantine: scenario.byzantine,
    blocks,
    asset: ASSET.symbol,
    series: {
      firstPrice: format(nonEmpty[0]!),
      lastPrice: format(nonEmpty[nonEmpty.length - 1]!),
      minPrice: format(minBigint(...nonEmpty)),
      maxPrice: format(maxBigint(...nonEmpty)),
      lastTruePrice: format(market.truePrice(ASSET.assetId)),
      staleBlocks,
    },
    guards,
    guardsTripped: Object.keys(guards).filter((flag) => (guards[flag] ?? 0) > 0),
    droppedObservations,
    droppedQuotes,
    equivocations,
    worstDeviationBps,
    worstDeviationHeight,
    honestRange: { blocksOutside, blocksChecked },
    honestConfidence: { blocksWider, blocksChecked, widestBps: widestConfidenceBps },
    honestBound: { applies, holds: applies && holds, statement },
  };
}

/** The honest spread bound of src/oracle/aggregate.ts over the honest validators' entries. */
function honestSpread(entries: readonly ObservationEntry[]): bigint {
  const prices = entries.map((e) => e.priceTicks);
  const lows = entries.map((e) => (e.priceTicks > e.confidenceTicks ? e.priceTicks - e.confidenceTicks : 0n));
  const highs = entries.map((e) => e.priceTicks + e.confidenceTicks);
  return maxBigint(maxBigint(...highs) - minBigint(...prices), maxBigint(...prices) - minBigint(...lows));
}
