/**
 * Trading detectors over the engine's fill events: trades far from the mark, self-trades and wash
 * patterns (two accounts trading the same series back and forth, which inflates volume and can
 * walk a mark without risk).
 */
import type { MonitorConfig } from '../config.ts';
import { Cooldown, type Detector, SlidingSum } from '../detector.ts';
import { accountAddress, createFinding, type Finding } from '../finding.ts';
import type { BlockSignal, MonitorSignal } from '../signals.ts';

/** At most this many findings per block from one detector: a burst of bad fills is one story. */
export const FINDINGS_PER_BLOCK_MAX = 16;

type Fill = Extract<BlockSignal['events'][number], { type: 'fill' }>;

function fillsOf(signal: BlockSignal): Fill[] {
  return signal.events.filter((event): event is Fill => event.type === 'fill');
}

/** A fill far (in bps and in ticks) from its series' mark after the block. */
export class OffMarkTradeDetector implements Detector {
  readonly name = 'trade-off-mark';
  readonly #config: MonitorConfig['trading'];

  constructor(config: MonitorConfig['trading']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    for (const fill of fillsOf(signal)) {
      if (findings.length >= FINDINGS_PER_BLOCK_MAX) break;
      const mark = signal.marks.get(fill.seriesId);
      if (mark === undefined || mark.markPrice <= 0n) continue;
      const tickSize = BigInt(mark.tickSize);
      const price = BigInt(fill.priceTicks) * tickSize;
      const distance = price > mark.markPrice ? price - mark.markPrice : mark.markPrice - price;
      const bps = (distance * 10_000n) / mark.markPrice;
      const ticks = distance / tickSize;
      if (bps <= BigInt(this.#config.offMarkBps) || ticks < BigInt(this.#config.offMarkTicksMin)) continue;
      findings.push(
        createFinding({
          alertId: 'PALISADE-TRADE-OFF-MARK',
          name: 'Trade far from the mark',
          description: `Series ${fill.seriesId} traded ${fill.lots} lots at ${price}, ${bps} bps from the mark ${mark.markPrice}`,
          severity: 'Medium',
          type: 'Suspicious',
          metadata: {
            seriesId: fill.seriesId,
            price,
            markPrice: mark.markPrice,
            deviationBps: bps,
            lots: fill.lots,
            takerSide: fill.takerSide,
            takerOrderId: fill.takerOrderId,
            makerOrderId: fill.makerOrderId,
          },
          addresses: [accountAddress(fill.maker), accountAddress(fill.taker)],
          height: signal.height,
          timeMs: signal.timeMs,
          key: `${fill.takerOrderId}/${fill.makerOrderId}`,
        }),
      );
    }
    return findings;
  }
}

/** Maker and taker are the same account. */
export class SelfTradeDetector implements Detector {
  readonly name = 'self-trade';

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    for (const fill of fillsOf(signal)) {
      if (findings.length >= FINDINGS_PER_BLOCK_MAX) break;
      if (accountAddress(fill.maker) !== accountAddress(fill.taker)) continue;
      findings.push(
        createFinding({
          alertId: 'PALISADE-SELF-TRADE',
          name: 'Self-trade',
          description: `An account traded ${fill.lots} lots of series ${fill.seriesId} with itself`,
          severity: 'Low',
          type: 'Suspicious',
          metadata: {
            seriesId: fill.seriesId,
            lots: fill.lots,
            priceTicks: fill.priceTicks,
            takerOrderId: fill.takerOrderId,
            makerOrderId: fill.makerOrderId,
          },
          addresses: [accountAddress(fill.taker)],
          height: signal.height,
          timeMs: signal.timeMs,
          key: `${fill.takerOrderId}/${fill.makerOrderId}`,
        }),
      );
    }
    return findings;
  }
}

interface PairState {
  /** Lots the lower-keyed account sold to the higher one, and the reverse, by height. */
  lowSold: SlidingSum;
  highSold: SlidingSum;
}

/**
 * Two accounts that each sold the other at least `washLotsMin` lots of one series within
 * `washWindowBlocks`: their positions cancel out while volume (and possibly the mark) moved.
 * Reported once per pair and series per window.
 */
export class WashTradeDetector implements Detector {
  readonly name = 'wash-trade';
  readonly #config: MonitorConfig['trading'];
  readonly #pairs = new Map<string, PairState>();
  readonly #cooldown: Cooldown;

  constructor(config: MonitorConfig['trading']) {
    this.#config = config;
    this.#cooldown = new Cooldown(config.washWindowBlocks, config.trackedPairsMax);
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    for (const fill of fillsOf(signal)) {
      const buyer = accountAddress(fill.takerSide === 'buy' ? fill.taker : fill.maker);
      const seller = accountAddress(fill.takerSide === 'buy' ? fill.maker : fill.taker);
      if (buyer === seller) continue;
      const [low, high] = buyer < seller ? [buyer, seller] : [seller, buyer];
      const key = `${fill.seriesId}/${low}/${high}`;
      let state = this.#pairs.get(key);
      if (state === undefined) {
        state = {
          lowSold: new SlidingSum(this.#config.washWindowBlocks, 1024),
          highSold: new SlidingSum(this.#config.washWindowBlocks, 1024),
        };
      } else {
        this.#pairs.delete(key);
      }
      // Re-inserted on every touch: the map's first key is the least recently traded pair.
      this.#pairs.set(key, state);
      if (this.#pairs.size > this.#config.trackedPairsMax)
        this.#pairs.delete(this.#pairs.keys().next().value!);
      const lowSold = state.lowSold.add(signal.height, seller === low ? fill.lots : 0);
      const highSold = state.highSold.add(signal.height, seller === high ? fill.lots : 0);
      const lotsMin = this.#config.washLotsMin;
      if (lowSold < lotsMin || highSold < lotsMin) continue;
      if (findings.length >= FINDINGS_PER_BLOCK_MAX || !this.#cooldown.ready(key, signal.height)) continue;
      findings.push(
        createFinding({
          alertId: 'PALISADE-WASH-TRADING',
          name: 'Wash trading pattern',
          description: `Two accounts traded series ${fill.seriesId} back and forth (${lowSold} and ${highSold} lots each way) within ${this.#config.washWindowBlocks} blocks`,
          severity: 'High',
          type: 'Suspicious',
          metadata: {
            seriesId: fill.seriesId,
            lotsOneWay: lowSold,
            lotsOtherWay: highSold,
            windowBlocks: this.#config.washWindowBlocks,
          },
          addresses: [low, high],
          height: signal.height,
          timeMs: signal.timeMs,
          key,
        }),
      );
    }
    return findings;
  }
}
