/**
 * Oracle detectors: this validator's own observation far from the aggregate, a source stuck or
 * diverging from the others, an aggregate raising a guard flag, and validators signing two
 * observations for one height.
 *
 * Own vs aggregate: with at most f liars the aggregate is the honest median, so an own observation
 * far from it means this validator's sources are broken or manipulated (or, with more than f
 * liars, that the aggregate is): either way an operator must look.
 */
import { AggregateFlag, flagNames } from '../../oracle/aggregate.ts';
import type { MonitorConfig } from '../config.ts';
import { Cooldown, type Detector, deviationBps, SlidingSum } from '../detector.ts';
import { createFinding, type Finding, sourceAddress } from '../finding.ts';
import type { MonitorSignal } from '../signals.ts';

function median(values: readonly bigint[]): bigint | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2n;
}

/** Own observation vs the aggregate, per asset, for several blocks in a row. */
export class OwnDeviationDetector implements Detector {
  readonly name = 'oracle-own-deviation';
  readonly #config: MonitorConfig['oracle'];
  readonly #inRow = new Map<number, number>();

  constructor(config: MonitorConfig['oracle']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'oracle') return [];
    const findings: Finding[] = [];
    const own = new Map(signal.own.map((entry) => [entry.assetId, entry.priceTicks]));
    for (const aggregate of signal.aggregate.slice(0, 256)) {
      const mine = own.get(aggregate.assetId);
      // A stale aggregate carries the previous price: no basis for comparison.
      if (mine === undefined || aggregate.flags & AggregateFlag.STALE || aggregate.priceTicks <= 0n) {
        this.#inRow.delete(aggregate.assetId);
        continue;
      }
      const bps = deviationBps(mine, aggregate.priceTicks, aggregate.priceTicks);
      if (bps <= BigInt(this.#config.ownDeviationBps)) {
        this.#inRow.delete(aggregate.assetId);
        continue;
      }
      const inRow = (this.#inRow.get(aggregate.assetId) ?? 0) + 1;
      this.#inRow.set(aggregate.assetId, inRow);
      if (inRow !== this.#config.ownDeviationBlocks) continue;
      findings.push(
        createFinding({
          alertId: 'PALISADE-ORACLE-OWN-DEVIATION',
          name: 'Own observation far from the aggregate',
          description: `For ${inRow} blocks this validator’s price for asset ${aggregate.assetId} was ${bps} bps from the aggregate`,
          severity: 'Medium',
          type: 'Degraded',
          metadata: {
            assetId: aggregate.assetId,
            ownPriceTicks: mine,
            aggregatePriceTicks: aggregate.priceTicks,
            deviationBps: bps,
            thresholdBps: this.#config.ownDeviationBps,
          },
          height: signal.height,
          timeMs: signal.timeMs,
          key: String(aggregate.assetId),
        }),
      );
    }
    return findings;
  }
}

interface SourceState {
  lastPriceTicks: bigint;
  changedAtMs: number;
  /** The median of all sources when this source's price last changed. */
  othersMedianAtChange: bigint;
  divergingInRow: number;
  stuckReported: boolean;
}

/**
 * Per source and asset: diverging (far from the median of all sources for several samples) or
 * stuck (the same price for `sourceStuckMs` while the median moved).
 */
export class SourceHealthDetector implements Detector {
  readonly name = 'oracle-sources';
  readonly #config: MonitorConfig['oracle'];
  readonly #sources = new Map<string, SourceState>();

  constructor(config: MonitorConfig['oracle']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'oracle') return [];
    const findings: Finding[] = [];
    const byAsset = new Map<number, Array<{ sourceId: string; priceTicks: bigint }>>();
    for (const quote of signal.quotes.slice(0, 4096)) {
      if (quote.priceTicks <= 0n) continue;
      let list = byAsset.get(quote.assetId);
      if (list === undefined) {
        list = [];
        byAsset.set(quote.assetId, list);
      }
      list.push(quote);
    }
    for (const [assetId, quotes] of byAsset) {
      // With fewer than three sources "the others" is one source: no majority to judge by.
      if (quotes.length < 3) continue;
      // The median of all the asset's quotes: with three or more sources one bad source cannot
      // move it past the honest ones, so each source is judged against the majority.
      const others = median(quotes.map((quote) => quote.priceTicks));
      if (others === undefined) continue;
      for (const quote of quotes) {
        const key = `${quote.sourceId}/${assetId}`;
        let state = this.#sources.get(key);
        if (state === undefined) {
          if (this.#sources.size >= this.#config.trackedSourcesMax) continue;
          state = {
            lastPriceTicks: quote.priceTicks,
            changedAtMs: signal.timeMs,
            othersMedianAtChange: others,
            divergingInRow: 0,
            stuckReported: false,
          };
          this.#sources.set(key, state);
        } else if (state.lastPriceTicks !== quote.priceTicks) {
          state.lastPriceTicks = quote.priceTicks;
          state.changedAtMs = signal.timeMs;
          state.othersMedianAtChange = others;
          state.stuckReported = false;
        }
        const divergence = deviationBps(quote.priceTicks, others, others);
        if (divergence > BigInt(this.#config.sourceDivergenceBps)) {
          state.divergingInRow += 1;
          if (state.divergingInRow === this.#config.sourceDivergenceSamples) {
            findings.push(
              this.#finding(signal, quote.sourceId, assetId, 'PALISADE-ORACLE-SOURCE-DIVERGING', {
                name: 'Oracle source diverging',
                description: `Source ${quote.sourceId} has been ${divergence} bps from the sources' median for asset ${assetId} for ${state.divergingInRow} samples`,
                metadata: {
                  sourcePriceTicks: quote.priceTicks,
                  othersMedianTicks: others,
                  deviationBps: divergence,
                },
              }),
            );
          }
        } else {
          state.divergingInRow = 0;
        }
        const unchangedMs = signal.timeMs - state.changedAtMs;
        const othersMoved = deviationBps(others, state.othersMedianAtChange, state.othersMedianAtChange);
        if (
          !state.stuckReported &&
          unchangedMs >= this.#config.sourceStuckMs &&
          othersMoved >= BigInt(this.#config.sourceStuckMoveBps)
        ) {
          state.stuckReported = true;
          findings.push(
            this.#finding(signal, quote.sourceId, assetId, 'PALISADE-ORACLE-SOURCE-STUCK', {
              name: 'Oracle source stuck',
              description: `Source ${quote.sourceId} has quoted ${quote.priceTicks} for asset ${assetId} for ${unchangedMs} ms while the others moved ${othersMoved} bps`,
              metadata: {
                sourcePriceTicks: quote.priceTicks,
                othersMedianTicks: others,
                unchangedMs,
                othersMovedBps: othersMoved,
              },
            }),
          );
        }
      }
    }
    return findings;
  }

  #finding(
    signal: MonitorSignal,
    sourceId: string,
    assetId: number,
    alertId: string,
    details: { name: string; description: string; metadata: Record<string, bigint | number> },
  ): Finding {
    return createFinding({
      alertId,
      name: details.name,
      description: details.description.slice(0, 512),
      severity: 'Low',
      type: 'Degraded',
      metadata: { source: sourceId.slice(0, 64), assetId, ...details.metadata },
      addresses: [sourceAddress(sourceId)],
      height: signal.height,
      timeMs: signal.timeMs,
      key: `${sourceId}/${assetId}`,
    });
  }
}

/**
 * An aggregate raising a guard flag, on the rise: MAX_MOVE, EMA_BAND and CONFIDENCE_WIDE at once,
 * STALE only once it has lasted `staleBlocksInRow` blocks (a single stale block is routine).
 */
export class AggregateFlagDetector implements Detector {
  readonly name = 'oracle-flags';
  readonly #config: MonitorConfig['oracle'];
  readonly #flags = new Map<number, number>();
  readonly #staleInRow = new Map<number, number>();

  constructor(config: MonitorConfig['oracle']) {
    this.#config = config;
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'oracle') return [];
    const findings: Finding[] = [];
    for (const aggregate of signal.aggregate.slice(0, 256)) {
      const stale = (aggregate.flags & AggregateFlag.STALE) !== 0;
      const staleInRow = stale ? (this.#staleInRow.get(aggregate.assetId) ?? 0) + 1 : 0;
      this.#staleInRow.set(aggregate.assetId, staleInRow);
      // STALE counts as raised only from the block it has lasted long enough.
      const flags =
        stale && staleInRow < this.#config.staleBlocksInRow
          ? aggregate.flags & ~AggregateFlag.STALE
          : aggregate.flags;
      const before = this.#flags.get(aggregate.assetId) ?? 0;
      this.#flags.set(aggregate.assetId, flags);
      const raised = flags & ~before;
      if (raised === 0) continue;
      const names = flagNames(raised);
      findings.push(
        createFinding({
          alertId: 'PALISADE-ORACLE-FLAGGED',
          name: 'Oracle aggregate flagged',
          description: `The aggregate price of asset ${aggregate.assetId} raised ${names.join(', ')}${stale ? ` (stale for ${staleInRow} blocks)` : ''}`,
          severity: names.includes('MAX_MOVE') || names.includes('EMA_BAND') ? 'High' : 'Medium',
          type: 'Degraded',
          metadata: { assetId: aggregate.assetId, flags: names.join(','), priceTicks: aggregate.priceTicks },
          height: signal.height,
          timeMs: signal.timeMs,
          key: `${aggregate.assetId}/${raised}`,
        }),
      );
    }
    return findings;
  }
}

/** A validator that signed two different observations for one height: proof of misbehaviour. */
export class ObservationEquivocationDetector implements Detector {
  readonly name = 'oracle-equivocation';

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'oracle') return [];
    return signal.equivocations.slice(0, 64).map((entry) => {
      const validator = entry.validator.toLowerCase().replace(/^0x/, '');
      return createFinding({
        alertId: 'PALISADE-ORACLE-EQUIVOCATION',
        name: 'Validator signed two observations',
        description: `Validator ${validator.slice(0, 16)}… signed two different oracle observations for height ${signal.height}`,
        severity: 'High',
        type: 'Exploit',
        metadata: { validatorKey: validator.slice(0, 64) },
        addresses: /^[0-9a-f]{64}$/.test(validator) ? [`0x${validator}`] : [],
        height: signal.height,
        timeMs: signal.timeMs,
        key: validator,
      });
    });
  }
}

/** Validators tracked for bad observations at most (the set is a few dozen; junk keys share one). */
const OBSERVERS_MAX = 256;

/**
 * Observations the aggregation dropped for the signer's fault (bad signature, wrong chain, unknown
 * signer, a timestamp from the future, a replay), counted per validator over a window of blocks.
 * Late or surplus observations are normal and not counted.
 */
export class BadObservationDetector implements Detector {
  readonly name = 'oracle-bad-observations';
  readonly #config: MonitorConfig['oracle'];
  readonly #windows = new Map<string, SlidingSum>();
  readonly #cooldown: Cooldown;

  constructor(config: MonitorConfig['oracle']) {
    this.#config = config;
    this.#cooldown = new Cooldown(config.badObservationWindowBlocks, OBSERVERS_MAX);
  }

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'oracle') return [];
    const counts = new Map<string, { count: number; reasons: Set<string> }>();
    for (const drop of signal.dropped.slice(0, 1024)) {
      if (!this.#config.badObservationReasons.includes(drop.reason)) continue;
      const key = drop.validator?.toLowerCase().replace(/^0x/, '');
      let validator = key !== undefined && /^[0-9a-f]{64}$/.test(key) ? key : 'unknown';
      if (!this.#windows.has(validator) && this.#windows.size >= OBSERVERS_MAX) validator = 'unknown';
      const entry = counts.get(validator) ?? { count: 0, reasons: new Set<string>() };
      entry.count += 1;
      entry.reasons.add(drop.reason);
      counts.set(validator, entry);
    }
    const findings: Finding[] = [];
    for (const [validator, { count, reasons }] of counts) {
      let window = this.#windows.get(validator);
      if (window === undefined) {
        window = new SlidingSum(this.#config.badObservationWindowBlocks, 1024);
        this.#windows.set(validator, window);
      }
      const inWindow = window.add(signal.height, count);
      if (inWindow < this.#config.badObservationsMax || !this.#cooldown.ready(validator, signal.height))
        continue;
      findings.push(
        createFinding({
          alertId: 'PALISADE-ORACLE-BAD-OBSERVATION',
          name: 'Invalid oracle observations',
          description: `${inWindow} observations ${validator === 'unknown' ? 'naming no known validator' : `signed by ${validator.slice(0, 16)}…`} were dropped within ${this.#config.badObservationWindowBlocks} blocks (${[...reasons].sort().join(', ')})`,
          severity: 'Medium',
          type: 'Suspicious',
          metadata: { validatorKey: validator, dropped: inWindow, reasons: [...reasons].sort().join(',') },
          addresses: validator === 'unknown' ? [] : [`0x${validator}`],
          height: signal.height,
          timeMs: signal.timeMs,
          key: validator,
        }),
      );
    }
    return findings;
  }
}
