/**
 * The risk report: figures computed from one `NetworkSnapshot`, each with the method that gave it
 * (printed in the report, so a reader can redo it). Floating point is fine here: nothing in this
 * layer reaches consensus; figures are rounded for display only where they are printed.
 *
 * Definitions used throughout (n validators, quorum q of voting power, Simplex finalizes with q):
 * - safety threshold: two quorums intersect in 2q − n of power; a coalition holding that much can
 *   sign two conflicting finalizations (> 1/3 when n = 3f + 1 and q = 2f + 1).
 * - liveness threshold: n − q + 1 of power withheld leaves no quorum (also > 1/3 at n = 3f + 1).
 * - Nakamoto coefficient for a threshold and a grouping: the fewest groups (operators,
 *   jurisdictions, …; largest first) whose power reaches it. Validators that declare nothing are
 *   one group called 'unknown': undeclared operators cannot be assumed independent.
 */
import {
  DEFAULT_PREMIUM_ASSUMPTIONS,
  type ExpectedLoss,
  expectedLoss,
  type PremiumAssumptions,
} from './premium.ts';
import type { BlockSample, NetworkSnapshot, ValidatorInfo } from './snapshot.ts';

export const RISK_REPORT_FORMAT = 'palisade-risk-report/1';
export const DIMENSIONS = ['validator', 'operator', 'jurisdiction', 'hosting', 'keyCustody'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface Figure<T> {
  value: T;
  method: string;
}

export interface GroupShare {
  group: string;
  validators: number;
  votingPower: number;
  share: number;
}

export interface DispersionByDimension {
  dimension: Dimension;
  groups: GroupShare[];
  nakamotoSafety: number;
  nakamotoLiveness: number;
}

export interface ValidatorOracleFigures {
  validator: number;
  uptime: number;
  stalenessMsP50: number | null;
  stalenessMsMax: number | null;
  deviationBpsMean: number | null;
  deviationBpsMax: number | null;
  confidenceWidthBpsMean: number | null;
  finalizationsSigned: number;
}

export interface SourceFigures {
  source: string;
  stuckFindings: number;
  divergingFindings: number;
  stuckMsMax: number;
  /** Largest distance from the other sources' median a diverging finding reported (bps); null: none. */
  deviationBpsMax: number | null;
  uptime: number;
  status: 'healthy' | 'stuck' | 'diverging';
}

export interface RiskReport {
  format: typeof RISK_REPORT_FORMAT;
  url: string;
  takenAtMs: number;
  height: number;
  window: { blocks: number; fromHeight: number | null; toHeight: number | null; spanMs: number };
  dispersion: {
    validators: Array<{
      index: number;
      publicKey: string;
      votingPower: number;
      share: number;
      connected: boolean;
      operator: string;
      jurisdiction: string;
      hosting: string;
      keyCustody: string;
    }>;
    byDimension: DispersionByDimension[];
    safetyThresholdPower: Figure<number>;
    livenessThresholdPower: Figure<number>;
    nakamotoSafety: Figure<number>;
    nakamotoLiveness: Figure<number>;
    connected: Figure<{ validators: number; votingPower: number }>;
    livenessMargin: Figure<{ validators: number; votingPower: number; finalityStopped: boolean }>;
    declared: boolean;
  };
  finality: {
    blockIntervalMs: Figure<{ p50: number | null; p99: number | null; max: number | null }>;
    finalityLatencyMs: Figure<{ p50: number | null; p99: number | null; observations: number }>;
    nullifiedViewShare: Figure<number | null>;
    certificatesWithQuorum: Figure<{ checked: number; withQuorum: number; verified: number | null }>;
    series: Array<{ height: number; intervalMs: number; nullifiedViews: number }>;
  };
  oracle: {
    assets: Array<{
      assetId: number;
      symbol: string;
      stale: boolean;
      stalenessMs: number;
      confidenceWidthBps: number | null;
      certificateHeight: number | null;
      certificateLagBlocks: number | null;
    }>;
    perValidator: Figure<ValidatorOracleFigures[]>;
    perSource: Figure<SourceFigures[] | null>;
    certificates: Figure<{
      expectedEveryBlocks: number | null;
      issuedWithinExpected: number;
      assets: number;
    }>;
    keysetThreshold: Figure<{ threshold: number; participants: number; quorum: number } | null>;
    series: Array<{ height: number; deviationBpsMax: number; observations: number }>;
  };
  bridge: { status: 'not-applicable'; reason: string };
  premium: ExpectedLoss;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function labelOf(v: ValidatorInfo, dimension: Dimension): string {
  if (dimension === 'validator') return `validator:${v.index}`;
  return v[dimension] ?? 'unknown';
}

/** Fewest groups (largest first) whose power reaches `threshold`; Infinity is never returned. */
export function nakamotoCoefficient(powers: readonly number[], threshold: number): number {
  const sorted = [...powers].sort((a, b) => b - a);
  let sum = 0;
  for (const [i, power] of sorted.entries()) {
    sum += power;
    if (sum >= threshold) return i + 1;
  }
  return sorted.length + 1;
}

function dispersionOf(
  validators: readonly ValidatorInfo[],
  totalPower: number,
  safety: number,
  liveness: number,
) {
  return DIMENSIONS.map((dimension): DispersionByDimension => {
    const groups = new Map<string, GroupShare>();
    for (const v of validators) {
      const group = labelOf(v, dimension);
      const entry = groups.get(group) ?? { group, validators: 0, votingPower: 0, share: 0 };
      entry.validators += 1;
      entry.votingPower += v.votingPower;
      groups.set(group, entry);
    }
    const list = [...groups.values()]
      .map((g) => ({ ...g, share: totalPower === 0 ? 0 : g.votingPower / totalPower }))
      .sort((a, b) => b.votingPower - a.votingPower || (a.group < b.group ? -1 : 1));
    const powers = list.map((g) => g.votingPower);
    return {
      dimension,
      groups: list,
      nakamotoSafety: nakamotoCoefficient(powers, safety),
      nakamotoLiveness: nakamotoCoefficient(powers, liveness),
    };
  });
}

function median(values: readonly bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2n;
}

function bps(numerator: bigint, denominator: bigint): number {
  return denominator === 0n ? 0 : Number((numerator * 1_000_000n) / denominator) / 100;
}

function oracleOf(snapshot: NetworkSnapshot, blocks: readonly BlockSample[]) {
  const perValidator = new Map<
    number,
    { present: number; staleness: number[]; deviation: number[]; width: number[]; signed: number }
  >();
  for (const v of snapshot.network.validators)
    perValidator.set(v.index, { present: 0, staleness: [], deviation: [], width: [], signed: 0 });
  const series: Array<{ height: number; deviationBpsMax: number; observations: number }> = [];
  for (const block of blocks) {
    for (const signer of block.certificateSigners) {
      const entry = perValidator.get(signer);
      if (entry !== undefined) entry.signed += 1;
    }
    const seen = new Set<number>();
    const byAsset = new Map<number, typeof block.observations>();
    for (const observation of block.observations) {
      const list = byAsset.get(observation.assetId) ?? [];
      list.push(observation);
      byAsset.set(observation.assetId, list);
    }
    let deviationMax = 0;
    for (const observations of byAsset.values()) {
      const reference = median(observations.map((o) => o.priceTicks));
      for (const observation of observations) {
        const entry = perValidator.get(observation.validator);
        if (entry === undefined) continue;
        seen.add(observation.validator);
        const gap =
          observation.priceTicks > reference
            ? observation.priceTicks - reference
            : reference - observation.priceTicks;
        const deviation = bps(gap, reference);
        deviationMax = Math.max(deviationMax, deviation);
        entry.deviation.push(deviation);
        entry.width.push(bps(2n * observation.confidenceTicks, observation.priceTicks));
        entry.staleness.push(Math.max(0, block.timeMs - observation.sourceTimeMs));
      }
    }
    for (const validator of seen) perValidator.get(validator)!.present += 1;
    series.push({
      height: block.height,
      deviationBpsMax: deviationMax,
      observations: block.observations.length,
    });
  }
  const figures: ValidatorOracleFigures[] = [...perValidator.entries()]
    .sort(([a], [b]) => a - b)
    .map(([validator, e]) => {
      const staleness = [...e.staleness].sort((a, b) => a - b);
      return {
        validator,
        uptime: blocks.length === 0 ? 0 : e.present / blocks.length,
        stalenessMsP50: quantile(staleness, 0.5),
        stalenessMsMax: staleness.length === 0 ? null : staleness[staleness.length - 1]!,
        deviationBpsMean:
          e.deviation.length === 0 ? null : e.deviation.reduce((s, x) => s + x, 0) / e.deviation.length,
        deviationBpsMax: e.deviation.length === 0 ? null : Math.max(...e.deviation),
        confidenceWidthBpsMean:
          e.width.length === 0 ? null : e.width.reduce((s, x) => s + x, 0) / e.width.length,
        finalizationsSigned: e.signed,
      };
    });
  return { figures, series };
}

function sourcesOf(
  snapshot: NetworkSnapshot,
  spanMs: number,
  fromHeight: number | null,
): SourceFigures[] | null {
  if (snapshot.findings === null && snapshot.network.oracleSources === null) return null;
  const sources = new Map<string, SourceFigures>();
  const entry = (source: string) => {
    let found = sources.get(source);
    if (found === undefined) {
      found = {
        source,
        stuckFindings: 0,
        divergingFindings: 0,
        stuckMsMax: 0,
        deviationBpsMax: null,
        uptime: 1,
        status: 'healthy',
      };
      sources.set(source, found);
    }
    return found;
  };
  for (const id of snapshot.network.oracleSources ?? []) entry(id);
  for (const finding of snapshot.findings ?? []) {
    if (fromHeight !== null && finding.height < fromHeight) continue;
    const source =
      finding.metadata.source ?? finding.addresses.find((a) => a.startsWith('source:'))?.slice(7);
    if (source === undefined) continue;
    if (finding.alertId === 'PALISADE-ORACLE-SOURCE-STUCK') {
      const figures = entry(source);
      figures.stuckFindings += 1;
      const unchangedMs = Number(finding.metadata.unchangedMs ?? '0');
      figures.stuckMsMax = Math.max(figures.stuckMsMax, Number.isFinite(unchangedMs) ? unchangedMs : 0);
    } else if (finding.alertId === 'PALISADE-ORACLE-SOURCE-DIVERGING') {
      const figures = entry(source);
      figures.divergingFindings += 1;
      const deviation = Number(finding.metadata.deviationBps ?? 'NaN');
      if (Number.isFinite(deviation))
        figures.deviationBpsMax = Math.max(figures.deviationBpsMax ?? 0, deviation);
    }
  }
  for (const figures of sources.values()) {
    if (figures.stuckFindings > 0) {
      // A stuck source was frozen for at least the longest span a finding reports (and never less
      // than one detection per finding): that share of the window is counted as down.
      const downMs = Math.min(spanMs, Math.max(figures.stuckMsMax, 1));
      figures.uptime = spanMs === 0 ? 0 : 1 - downMs / spanMs;
      figures.status = 'stuck';
    } else if (figures.divergingFindings > 0) figures.status = 'diverging';
  }
  return [...sources.values()].sort((a, b) => (a.source < b.source ? -1 : 1));
}

/**
 * Computes the risk report of `snapshot`.
 * @example const report = assessRisk(await collectSnapshot(fetchers, { url, nowMs: Date.now() }));
 */
export function assessRisk(
  snapshot: NetworkSnapshot,
  assumptions: PremiumAssumptions = DEFAULT_PREMIUM_ASSUMPTIONS,
): RiskReport {
  const { network } = snapshot;
  const total = network.totalPower;
  const quorum = network.quorumPower;
  const safetyThreshold = Math.max(1, 2 * quorum - total);
  const livenessThreshold = Math.max(1, total - quorum + 1);
  const byDimension = dispersionOf(network.validators, total, safetyThreshold, livenessThreshold);
  const declaredDimensions = byDimension.filter(
    (d) => d.dimension !== 'validator' && !(d.groups.length === 1 && d.groups[0]!.group === 'unknown'),
  );
  const binding = byDimension.reduce((worst, d) => (d.nakamotoSafety < worst.nakamotoSafety ? d : worst));
  const bindingLiveness = byDimension.reduce((worst, d) =>
    d.nakamotoLiveness < worst.nakamotoLiveness ? d : worst,
  );
  const connectedValidators = network.validators.filter((v) => v.connected);
  const connectedPower = connectedValidators.reduce((s, v) => s + v.votingPower, 0);
  const marginPower = connectedPower - quorum;
  // With unequal powers the validators that may still fail are the smallest connected ones.
  const smallestFirst = connectedValidators.map((v) => v.votingPower).sort((a, b) => a - b);
  let marginValidators = 0;
  for (let spent = 0; marginValidators < smallestFirst.length; marginValidators++) {
    spent += smallestFirst[marginValidators]!;
    if (spent > marginPower) break;
  }

  const blocks = [...snapshot.blocks].sort((a, b) => a.height - b.height);
  const intervals: Array<{ height: number; intervalMs: number; nullifiedViews: number }> = [];
  for (let i = 1; i < blocks.length; i++) {
    const previous = blocks[i - 1]!;
    const block = blocks[i]!;
    if (block.height !== previous.height + 1) continue;
    intervals.push({
      height: block.height,
      intervalMs: block.timeMs - previous.timeMs,
      nullifiedViews: Math.max(0, block.view - previous.view - 1),
    });
  }
  const sortedIntervals = intervals.map((x) => x.intervalMs).sort((a, b) => a - b);
  const viewSpan = intervals.reduce((s, x) => s + x.nullifiedViews + 1, 0);
  const nullified = intervals.reduce((s, x) => s + x.nullifiedViews, 0);
  const histogram = snapshot.finalityHistogram;
  const observed = histogram.length === 0 ? 0 : histogram[histogram.length - 1]!.count;
  const histogramQuantile = (q: number): number | null => {
    if (observed === 0) return null;
    const bucket = histogram.find((b) => b.count >= q * observed);
    return bucket === undefined || !Number.isFinite(bucket.le) ? null : bucket.le * 1000;
  };
  const withQuorum = blocks.filter((b) => {
    const power = b.certificateSigners.reduce(
      (s, i) => s + (network.validators.find((v) => v.index === i)?.votingPower ?? 0),
      0,
    );
    return power >= quorum;
  }).length;

  const fromHeight = blocks.length === 0 ? null : blocks[0]!.height;
  const toHeight = blocks.length === 0 ? null : blocks[blocks.length - 1]!.height;
  const spanMs = blocks.length < 2 ? 0 : blocks[blocks.length - 1]!.timeMs - blocks[0]!.timeMs;
  const oracle = oracleOf(snapshot, blocks);
  const sources = sourcesOf(snapshot, spanMs, fromHeight);
  const assets = snapshot.prices.map((price) => {
    const certificate = snapshot.certificates.find((c) => c.assetId === price.assetId);
    return {
      assetId: price.assetId,
      symbol: price.symbol,
      stale: price.stale,
      stalenessMs: Math.max(0, snapshot.nodeTimeMs - price.publishTimeMs),
      confidenceWidthBps: price.price === 0n ? null : bps(2n * price.confidence, price.price),
      certificateHeight: certificate?.height ?? null,
      certificateLagBlocks:
        certificate === undefined ? null : Math.max(0, snapshot.height - certificate.height),
    };
  });
  const every = network.certificateEveryBlocks;
  const issuedWithinExpected = assets.filter(
    (a) => a.certificateLagBlocks !== null && (every === null || a.certificateLagBlocks <= 2 * every),
  ).length;
  const keyset =
    snapshot.keyset ?? (network.priceKeyset === null ? null : { epoch: 0, ...network.priceKeyset });

  const perValidatorDeviationShare =
    oracle.figures.length === 0
      ? 0
      : oracle.figures.filter((f) => (f.deviationBpsMax ?? 0) > assumptions.badObservationBps).length /
        oracle.figures.length;

  const report: Omit<RiskReport, 'premium'> = {
    format: RISK_REPORT_FORMAT,
    url: snapshot.url,
    takenAtMs: snapshot.takenAtMs,
    height: snapshot.height,
    window: { blocks: blocks.length, fromHeight, toHeight, spanMs },
    dispersion: {
      validators: network.validators.map((v) => ({
        index: v.index,
        publicKey: v.publicKey,
        votingPower: v.votingPower,
        share: total === 0 ? 0 : v.votingPower / total,
        connected: v.connected,
        operator: v.operator ?? 'unknown',
        jurisdiction: v.jurisdiction ?? 'unknown',
        hosting: v.hosting ?? 'unknown',
        keyCustody: v.keyCustody ?? 'unknown',
      })),
      byDimension,
      safetyThresholdPower: {
        value: safetyThreshold,
        method: `2q − n of voting power (q = ${quorum}, n = ${total}): the overlap of two quorums; a coalition holding it can finalize two conflicting blocks`,
      },
      livenessThresholdPower: {
        value: livenessThreshold,
        method: `n − q + 1 of voting power (q = ${quorum}, n = ${total}): withheld, no quorum can form`,
      },
      nakamotoSafety: {
        value: binding.nakamotoSafety,
        method: `fewest groups, largest first, reaching the safety threshold; the minimum over validator, operator, jurisdiction, hosting and key custody (binding: ${binding.dimension}); undeclared validators form one 'unknown' group`,
      },
      nakamotoLiveness: {
        value: bindingLiveness.nakamotoLiveness,
        method: `fewest groups reaching the liveness threshold, minimum over the same groupings (binding: ${bindingLiveness.dimension})`,
      },
      connected: {
        value: { validators: connectedValidators.length, votingPower: connectedPower },
        method:
          'validators with an open authenticated connection to the node queried, itself included (GET /v1/status)',
      },
      livenessMargin: {
        value: {
          validators: marginValidators,
          votingPower: Math.max(0, marginPower),
          finalityStopped: marginPower < 0,
        },
        method:
          'connected power minus quorum power; in validators, how many of the smallest connected ones may still fail before no quorum is left',
      },
      declared: declaredDimensions.length > 0,
    },
    finality: {
      blockIntervalMs: {
        value: {
          p50: quantile(sortedIntervals, 0.5),
          p99: quantile(sortedIntervals, 0.99),
          max: sortedIntervals.length === 0 ? null : sortedIntervals[sortedIntervals.length - 1]!,
        },
        method:
          'block time of each finalized block minus its parent’s, over consecutive heights in the window (nearest-rank quantiles); a new block follows its parent’s finalization, so this bounds the time from proposal to finality',
      },
      finalityLatencyMs: {
        value: { p50: histogramQuantile(0.5), p99: histogramQuantile(0.99), observations: observed },
        method:
          'upper bound of the palisade_finality_latency_seconds bucket holding the quantile (GET /metrics): the node’s own time from seeing a proposal to finalizing it, since it started',
      },
      nullifiedViewShare: {
        value: viewSpan === 0 ? null : nullified / viewSpan,
        method:
          'views skipped between consecutive finalized blocks (each skipped view was nullified) over all views the window spans',
      },
      certificatesWithQuorum: {
        value: {
          checked: blocks.length,
          withQuorum,
          verified: blocks.some((b) => b.certificateVerified === null)
            ? null
            : blocks.filter((b) => b.certificateVerified === true).length,
        },
        method:
          'finalization certificates in the window whose distinct signers hold quorum voting power; verified: those whose encoding, hash, descendants and finalize signatures the client’s verifyFinality accepts against the validator keys (null without a verifier)',
      },
      series: intervals,
    },
    oracle: {
      assets,
      perValidator: {
        value: oracle.figures,
        method:
          'from the signed observations each finalized block carries: uptime = share of blocks with the validator’s observation; staleness = block time minus the median time of its sources; deviation = distance from the median of that block’s observations (bps); confidence width = 2 × half-width / price (bps); finalizationsSigned = certificates in the window carrying its signature',
      },
      perSource: {
        value: sources,
        method:
          'sources from genesis (GET /v1/network) and the monitor’s PALISADE-ORACLE-SOURCE-STUCK and -DIVERGING findings in the window (GET /v1/findings); uptime = 1 − the longest frozen span a stuck finding reports / window span; staleness = that span (stuckMsMax); deviation = the largest distance from the other sources’ median a diverging finding reports',
      },
      certificates: {
        value: { expectedEveryBlocks: every, issuedWithinExpected, assets: assets.length },
        method:
          'assets whose latest FROST price certificate is at most 2 × everyBlocks below the tip (GET /v1/oracle/certificates); the node keeps only the latest certificate per asset',
      },
      keysetThreshold: {
        value:
          keyset === null ? null : { threshold: keyset.threshold, participants: keyset.participants, quorum },
        method:
          'the active price keyset’s FROST threshold beside the consensus quorum (GET /v1/oracle/certificates)',
      },
      series: oracle.series,
    },
    bridge: {
      status: 'not-applicable',
      reason:
        'the node serves no bridge state (GET /v1/network bridge: null); exposure is counted once the interoperability layer serves value locked, rate-limit capacity, delayed withdrawals and pause state',
    },
  };
  const premium = expectedLoss(
    {
      validators: total,
      nakamotoSafety: binding.nakamotoSafety,
      groupsInBindingDimension: binding.groups.length,
      connectedValidators: connectedValidators.length,
      livenessMarginValidators: marginPower < 0 ? -1 : marginValidators,
      faultTolerance: network.faultTolerance,
      badObservationShare: perValidatorDeviationShare,
      stalePriceShare: assets.length === 0 ? 1 : assets.filter((a) => a.stale).length / assets.length,
    },
    assumptions,
  );
  return { ...report, premium };
}
