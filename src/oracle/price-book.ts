/**
 * What the engine reads: the latest aggregate per asset as `price(asset)`, and the time-weighted
 * average price that settlement uses (a TWAP is far costlier to push than one block's median).
 * Both are pure functions of the blocks applied, in order, so every validator agrees.
 */
import { invariant } from '../codec/invariant.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { AggregateFlag, type BlockAggregate } from './aggregate.ts';

export interface PriceView {
  readonly priceTicks: bigint;
  readonly confidenceTicks: bigint;
  readonly publishTimeMs: number;
  /** True when fewer than 2f + 1 fresh observations existed: consumers must not use the price. */
  readonly stale: boolean;
  readonly flags: number;
}

interface Sample {
  readonly timeMs: number;
  readonly priceTicks: bigint;
}

/**
 * A bounded time-weighted average: each sample's price holds from its time until the next sample.
 * Stale prices are never recorded, so a stuck feed cannot drag the average.
 */
export interface Twap {
  record(timeMs: number, priceTicks: bigint): void;
  /** The average over [nowMs − windowMs, nowMs], or undefined without a sample in reach. */
  average(nowMs: number): bigint | undefined;
}

export function createTwap(options: { windowMs: number; maxSamples: number }): Twap {
  invariant(options.windowMs > 0 && options.maxSamples >= 2, 'TWAP window and capacity must be positive');
  const samples: Sample[] = [];
  return {
    record(timeMs, priceTicks) {
      const last = samples[samples.length - 1];
      if (last !== undefined && timeMs <= last.timeMs) {
        // Publish times never go back; an equal time replaces the sample rather than doubling it.
        if (timeMs === last.timeMs) samples[samples.length - 1] = { timeMs, priceTicks };
        return;
      }
      samples.push({ timeMs, priceTicks });
      if (samples.length > options.maxSamples) samples.shift();
    },
    average(nowMs) {
      const start = nowMs - options.windowMs;
      let weighted = 0n;
      let duration = 0n;
      for (let i = 0; i < samples.length; i++) {
        const sample = samples[i]!;
        const next = samples[i + 1];
        const from = Math.max(sample.timeMs, start);
        const to = Math.min(next?.timeMs ?? nowMs, nowMs);
        if (to <= from) continue;
        weighted += sample.priceTicks * BigInt(to - from);
        duration += BigInt(to - from);
      }
      return duration === 0n ? undefined : weighted / duration;
    },
  };
}

export interface PriceBook {
  /** Applies one block's aggregate; heights must increase. */
  apply(block: BlockAggregate): void;
  price(assetId: number): PriceView | undefined;
  twap(assetId: number, nowMs: number): bigint | undefined;
  /** The previous aggregates, as `aggregateBlock` wants them. */
  latest(): ReadonlyMap<number, AggregatePriceValue>;
}

/**
 * @example const book = createPriceBook(); book.apply(aggregateBlock(...)); book.price(1)?.stale
 */
export function createPriceBook(
  options: { twapWindowMs: number; maxTwapSamples: number } = {
    twapWindowMs: 300_000,
    maxTwapSamples: 1024,
  },
): PriceBook {
  const latest = new Map<number, AggregatePriceValue>();
  const twaps = new Map<number, Twap>();
  let height = -1;
  return {
    apply(block) {
      invariant(block.height > height, 'aggregates must be applied in height order');
      height = block.height;
      for (const price of block.prices) {
        latest.set(price.assetId, price);
        if ((price.flags & AggregateFlag.STALE) !== 0) continue;
        let twap = twaps.get(price.assetId);
        if (twap === undefined) {
          twap = createTwap({ windowMs: options.twapWindowMs, maxSamples: options.maxTwapSamples });
          twaps.set(price.assetId, twap);
        }
        twap.record(price.publishTimeMs, price.priceTicks);
      }
    },
    price(assetId) {
      const price = latest.get(assetId);
      if (price === undefined) return undefined;
      return {
        priceTicks: price.priceTicks,
        confidenceTicks: price.confidenceTicks,
        publishTimeMs: price.publishTimeMs,
        stale: (price.flags & AggregateFlag.STALE) !== 0,
        flags: price.flags,
      };
    },
    twap(assetId, nowMs) {
      return twaps.get(assetId)?.average(nowMs);
    },
    latest: () => latest,
  };
}
