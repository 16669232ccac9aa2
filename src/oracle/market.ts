/**
 * The simulated market the devnet prices by default: per asset a geometric Brownian motion with
 * Poisson-style jumps and two volatility regimes (calm and stressed, switching at random), seen
 * through several venues that each add their own noise, lag the true price by their own latency
 * and go down for a while now and then. Everything is integer and driven by one seed, so a
 * scenario replays bit for bit (see fixed.ts for why no `Math.exp`).
 *
 * One step of the log price: ln S' = ln S + (−σ²/2)·dt + σ·√dt·Z, σ scaled by the regime; with
 * probability `jumpPpmPerStep` a jump of ±`jumpBps` follows.
 */
import { invariant } from '../codec/invariant.ts';
import { abs as absBigint, exp as expFixed, ONE as FIXED_ONE, sqrt as sqrtFixed } from '../std/fixed.ts';
import { createPrng, type Prng } from '../std/prng.ts';
import type { AssetSpec, PriceSource, Quote } from './source.ts';

export interface SimulatedAssetSpec extends AssetSpec {
  readonly initialPriceTicks: bigint;
  readonly annualVolatilityBps: number;
  readonly jumpPpmPerStep: number;
  readonly jumpBps: number;
}

export interface VenueSpec {
  readonly id: string;
  /** Standard deviation of the venue's deviation from the true price. */
  readonly noiseBps: number;
  /** How far behind the true price the venue's quotes run. */
  readonly latencyMs: number;
  /** Chance per step that the venue goes down; while down it repeats its last quote. */
  readonly outagePpmPerStep: number;
  readonly outageMs: number;
}

export interface MarketSpec {
  readonly seed: number;
  readonly startMs: number;
  readonly stepMs: number;
  readonly assets: readonly SimulatedAssetSpec[];
  readonly venues: readonly VenueSpec[];
  /** σ multiplier in the stressed regime, in percent (300 = 3×). */
  readonly stressedVolatilityPercent?: number;
  readonly regimeSwitchPpmPerStep?: number;
}

/** A scripted move of the true price, e.g. a 90% crash: the factor goes linearly from 1 to `toBps`/10⁴. */
export interface ScriptedMove {
  readonly assetId: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly toBps: number;
}

export interface SimulatedMarket {
  readonly nowMs: number;
  readonly regime: 'calm' | 'stressed';
  advanceTo(timeMs: number): void;
  truePrice(assetId: number): bigint;
  /** The venue's current quote, or undefined before its first (and never after: it goes stale). */
  venueQuote(venueId: string, assetId: number): Quote | undefined;
  /** One `PriceSource` per venue. */
  sources(): PriceSource[];
}

const MS_PER_YEAR = 31_557_600_000n;
const MAX_STEPS_PER_ADVANCE = 10_000_000;

/**
 * @example const market = createSimulatedMarket({ seed: 1, startMs: 0, stepMs: 1000, assets, venues }); market.advanceTo(60_000);
 */
export function createSimulatedMarket(
  spec: MarketSpec,
  moves: readonly ScriptedMove[] = [],
): SimulatedMarket {
  invariant(
    spec.stepMs > 0 && spec.assets.length > 0 && spec.venues.length > 0,
    'market needs steps, assets, venues',
  );
  const rng: Prng = createPrng(spec.seed);
  const dt = (BigInt(spec.stepMs) * FIXED_ONE) / MS_PER_YEAR;
  const sqrtDt = sqrtFixed(dt);
  const stressedPercent = BigInt(spec.stressedVolatilityPercent ?? 300);
  const switchPpm = spec.regimeSwitchPpmPerStep ?? 500;
  const maxLatencySteps = Math.max(...spec.venues.map((v) => Math.ceil(v.latencyMs / spec.stepMs)));

  // Base (GBM) price per asset, in ticks scaled by 10^18 to keep precision across steps.
  const base = new Map(spec.assets.map((a) => [a.assetId, a.initialPriceTicks * FIXED_ONE]));
  // Recent true prices, newest last, for venue latency.
  const history = new Map(spec.assets.map((a) => [a.assetId, [a.initialPriceTicks]]));
  const venueState = new Map(
    spec.venues.map((v) => [v.id, { downUntilMs: -1, last: new Map<number, Quote>() }]),
  );
  let nowMs = spec.startMs;
  let stressed = false;

  const scriptedFactorBps = (assetId: number, timeMs: number): bigint => {
    let factor = 10_000n;
    for (const move of moves) {
      if (move.assetId !== assetId || timeMs < move.fromMs) continue;
      const span = BigInt(Math.max(1, move.toMs - move.fromMs));
      const elapsed = BigInt(Math.min(timeMs, move.toMs) - move.fromMs);
      factor = (factor * (10_000n * span + (BigInt(move.toBps) - 10_000n) * elapsed)) / (10_000n * span);
    }
    return factor;
  };

  const truePriceAt = (asset: SimulatedAssetSpec, timeMs: number): bigint => {
    const price =
      ((base.get(asset.assetId) ?? 0n) * scriptedFactorBps(asset.assetId, timeMs)) / (10_000n * FIXED_ONE);
    return price > 0n ? price : 1n;
  };

  const quoteVenues = () => {
    for (const venue of spec.venues) {
      const state = venueState.get(venue.id)!;
      if (state.downUntilMs > nowMs) continue;
      if (rng.chancePpm(venue.outagePpmPerStep)) {
        state.downUntilMs = nowMs + venue.outageMs;
        continue;
      }
      const lagSteps = Math.ceil(venue.latencyMs / spec.stepMs);
      for (const asset of spec.assets) {
        const past = history.get(asset.assetId)!;
        const lagged = past[Math.max(0, past.length - 1 - lagSteps)]!;
        const noise = (BigInt(venue.noiseBps) * rng.nextNormalFixed()) / 10_000n;
        const price = (lagged * (FIXED_ONE + noise)) / FIXED_ONE;
        state.last.set(asset.assetId, {
          sourceId: venue.id,
          assetId: asset.assetId,
          priceTicks: price > 0n ? price : 1n,
          timestampMs: nowMs - venue.latencyMs,
        });
      }
    }
  };

  const step = () => {
    nowMs += spec.stepMs;
    if (rng.chancePpm(switchPpm)) stressed = !stressed;
    for (const asset of spec.assets) {
      const sigma =
        (BigInt(asset.annualVolatilityBps) * FIXED_ONE * (stressed ? stressedPercent : 100n)) / 1_000_000n;
      const drift = (-((sigma * sigma) / FIXED_ONE) * dt) / (2n * FIXED_ONE);
      const diffusion = (((sigma * sqrtDt) / FIXED_ONE) * rng.nextNormalFixed()) / FIXED_ONE;
      let logReturn = drift + diffusion;
      if (rng.chancePpm(asset.jumpPpmPerStep)) {
        const size = (BigInt(asset.jumpBps) * FIXED_ONE) / 10_000n;
        logReturn += rng.nextBelow(2) === 0 ? size : -size;
      }
      const next = ((base.get(asset.assetId) ?? 0n) * expFixed(logReturn)) / FIXED_ONE;
      base.set(asset.assetId, next > FIXED_ONE ? next : FIXED_ONE);
      const past = history.get(asset.assetId)!;
      past.push(truePriceAt(asset, nowMs));
      if (past.length > maxLatencySteps + 1) past.shift();
    }
    quoteVenues();
  };

  quoteVenues();
  return {
    get nowMs() {
      return nowMs;
    },
    get regime() {
      return stressed ? 'stressed' : 'calm';
    },
    advanceTo(timeMs) {
      const steps = Math.floor((timeMs - nowMs) / spec.stepMs);
      invariant(steps <= MAX_STEPS_PER_ADVANCE, 'advance too far in one call');
      for (let i = 0; i < steps; i++) step();
    },
    truePrice(assetId) {
      const asset = spec.assets.find((a) => a.assetId === assetId);
      invariant(asset !== undefined, `unknown asset ${assetId}`);
      return truePriceAt(asset, nowMs);
    },
    venueQuote(venueId, assetId) {
      return venueState.get(venueId)?.last.get(assetId);
    },
    sources() {
      return spec.venues.map((venue) => ({
        id: venue.id,
        quotes: async (request) =>
          request.assets.flatMap((asset) => {
            const quote = venueState.get(venue.id)?.last.get(asset.assetId);
            return quote === undefined ? [] : [quote];
          }),
      }));
    },
  };
}

/** Basis points between two prices, |a − b| / b, rounded down (for reports). */
export function deviationBps(price: bigint, reference: bigint): number {
  if (reference <= 0n) return Number.POSITIVE_INFINITY;
  return Number((absBigint(price - reference) * 10_000n) / reference);
}
