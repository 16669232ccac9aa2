/**
 * Block aggregation: every validator turns the observations carried by a block's votes into one
 * price per asset, deterministically and in integers, so all of them store the same bits.
 *
 * Admission (each failure drops the observation, names the reason, and changes nothing else):
 * it must decode; be for this chain and exactly this height (an observation from an earlier
 * height is a replay); be signed by a member of the validator set with a valid signature; be
 * timestamped neither ahead of the block by more than the allowed skew nor older than the allowed
 * age. The same bytes twice count once (`REPLAYED`); two different observations from one validator
 * at one height are equivocation: both are dropped and returned as evidence.
 *
 * Per asset, over the admitted observations whose sources are fresh at the block's time:
 * - price: the stake-weighted lower median. It is always one of the observed prices, and as long
 *   as the adversary holds less than half the fresh weight it lies within the honest range.
 * - confidence: trimmed by the Byzantine weight, so that f liars can neither widen it nor make it
 *   useless. Let W be the validator set's total weight and t = ⌊(W − 1)/3⌋ the most weight the
 *   fault model lets the adversary hold (strictly less than a third; t = f for n = 3f + 1 equal
 *   weights). Each fresh observation i gives an interval [lᵢ, hᵢ] = [max(pᵢ − cᵢ, 0), pᵢ + cᵢ].
 *   L is the smallest lᵢ such that the observations with l ≤ L weigh more than t; H is the largest
 *   hᵢ such that those with h ≥ H weigh more than t (the (t+1)-th lowest low and highest high by
 *   weight). The confidence is max(P − L, H − P), with P the price above.
 *   Bound (the property test in aggregate.test.ts checks it for n = 4, 7, 10, 31): any set of
 *   observations weighing more than t contains an honest one, so L ≥ the smallest honest low
 *   and H ≤ the largest honest high; P lies within the honest prices; hence confidence ≤ S =
 *   max(max honest h − min honest p, max honest p − min honest l), the honest spread, whatever
 *   the liars report (price, confidence or timestamp). It is never
 *   negative: the observations with p ≤ P weigh at least half the fresh weight, more than W/3 > t,
 *   and their lows are at most P, so L ≤ P (and H ≥ P likewise). The liars cannot narrow it below
 *   the honest observations' own (t+1)-th values either, since the honest weight alone passes t
 *   there. Pyth's construction (percentiles of p − c, p, p + c votes) did not have this property:
 *   f observations at price 1 with confidence 0 pulled its 25th percentile to 1, a confidence of
 *   about 100% of the price, and the engine then refused every sample.
 * - stale: fewer than 2f + 1 fresh observations (by weight: not more than two thirds) cannot
 *   outvote f Byzantine validators; the previous price is carried, flagged STALE, and consumers
 *   must not use it.
 * - guards (flags, never silent corrections — the monitor turns flags into circuit breakers):
 *   MAX_MOVE when the price moved more than `maxMoveBps` since the previous aggregate; EMA_BAND
 *   when it is more than `emaBandBps` from the exponential moving average; CONFIDENCE_WIDE when
 *   the confidence above is more than `confidenceWideBps` of the price. It is computed from the
 *   trimmed confidence on purpose: a flag f liars could raise at will would pause markets at will.
 *   More than f colluders control every statistic here, and then only MAX_MOVE and EMA_BAND show.
 */
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import {
  type AggregatePriceValue,
  MAX_PRICE_TICKS,
  type ObservationEntry,
  type SignedObservation,
  SignedObservationCodec,
} from '../codec/oracle.ts';
import { toHex } from '../crypto/bytes.ts';
import { verifyObservationSignature } from './observation.ts';
import { maxBigint, minBigint, weightedMedian } from './stats.ts';

export const AggregateFlag = Object.freeze({
  STALE: 1,
  MAX_MOVE: 2,
  EMA_BAND: 4,
  CONFIDENCE_WIDE: 8,
} as const);

export type AggregateFlagName = keyof typeof AggregateFlag;

export function flagNames(flags: number): AggregateFlagName[] {
  return (Object.keys(AggregateFlag) as AggregateFlagName[]).filter(
    (name) => (flags & AggregateFlag[name]) !== 0,
  );
}

export interface AggregationParams {
  /** An observation or source older than this, relative to the block time, is not fresh. */
  readonly maxObservationAgeMs: number;
  readonly maxFutureSkewMs: number;
  readonly maxMoveBps: number;
  readonly emaBandBps: number;
  /** EMA weight of the newest price, in basis points (1000 ≈ a 19-block half-life). */
  readonly emaAlphaBps: number;
  readonly confidenceWideBps: number;
}

export const DEFAULT_AGGREGATION_PARAMS: AggregationParams = Object.freeze({
  maxObservationAgeMs: 15_000,
  maxFutureSkewMs: 1_000,
  maxMoveBps: 1_000,
  emaBandBps: 1_500,
  emaAlphaBps: 500,
  confidenceWideBps: 500,
});

export interface ValidatorMember {
  readonly publicKey: Uint8Array;
  /** Stake weight; validators weigh equally when it is 1n for all. */
  readonly weight: bigint;
}

export type DropReason =
  | 'TOO_MANY'
  | 'MALFORMED'
  | 'WRONG_CHAIN'
  | 'PREVIOUS_HEIGHT'
  | 'FUTURE_HEIGHT'
  | 'UNKNOWN_SIGNER'
  | 'BAD_SIGNATURE'
  | 'FUTURE_TIMESTAMP'
  | 'STALE_TIMESTAMP'
  | 'REPLAYED'
  | 'EQUIVOCATION';

export interface DroppedObservation {
  /** Position of the vote extension in the block's list. */
  readonly index: number;
  readonly reason: DropReason;
  /** Hex Ed25519 key the observation names, when it decoded. */
  readonly validator?: string;
  readonly detail: string;
}

export interface EquivocationEvidence {
  readonly validator: string;
  readonly height: number;
  readonly observations: readonly SignedObservation[];
}

export interface AggregateBlockInput {
  readonly chainId: number;
  readonly height: number;
  /** The block's timestamp: the only clock aggregation uses. */
  readonly blockTimeMs: number;
  readonly validators: readonly ValidatorMember[];
  /** Asset ids to price; an asset with no observations comes out STALE. */
  readonly assets: readonly number[];
  /** Encoded `SignedObservation`s from the block's votes, in any order. */
  readonly extensions: readonly Uint8Array[];
  /** The previous aggregate per asset (absent before the first). */
  readonly previous: ReadonlyMap<number, AggregatePriceValue>;
  readonly params?: AggregationParams;
  /**
   * Checks an observation's signature given the bytes it was decoded from (default:
   * `verifyObservationSignature`). It must give that function's verdicts: a validator answers
   * from its record of observations it already saw verify (on their votes), so each costs one
   * verification, not one per aggregation of the same block.
   */
  readonly verifySignature?: (observation: SignedObservation, encoded: Uint8Array) => boolean;
}

export interface BlockAggregate {
  readonly height: number;
  /** One per requested asset, ascending by asset id. */
  readonly prices: readonly AggregatePriceValue[];
  readonly accepted: number;
  readonly dropped: readonly DroppedObservation[];
  readonly equivocations: readonly EquivocationEvidence[];
}

/**
 * Aggregates one block's observations.
 * @example const { prices } = aggregateBlock({ chainId, height, blockTimeMs, validators, assets: [1], extensions, previous: new Map() });
 */
export function aggregateBlock(input: AggregateBlockInput): BlockAggregate {
  const params = input.params ?? DEFAULT_AGGREGATION_PARAMS;
  invariant(input.validators.length > 0, 'validator set is empty');
  const memberWeight = new Map<string, bigint>();
  let totalWeight = 0n;
  for (const member of input.validators) {
    invariant(member.weight > 0n, 'validator weights must be positive');
    memberWeight.set(toHex(member.publicKey), member.weight);
    totalWeight += member.weight;
  }

  const dropped: DroppedObservation[] = [];
  // Honest blocks carry at most one extension per validator; twice that still admits evidence of
  // equivocation while bounding the work a malicious proposer can cause.
  const maxExtensions = 2 * input.validators.length;
  const byValidator = new Map<string, { bytes: string; observation: SignedObservation; index: number }[]>();

  for (const [index, bytes] of input.extensions.entries()) {
    if (index >= maxExtensions) {
      dropped.push({ index, reason: 'TOO_MANY', detail: `more than ${maxExtensions} extensions` });
      continue;
    }
    let observation: SignedObservation;
    try {
      observation = SignedObservationCodec.decode(bytes);
    } catch (error) {
      const detail = error instanceof CodecError ? error.message : 'undecodable';
      dropped.push({ index, reason: 'MALFORMED', detail });
      continue;
    }
    const validator = toHex(observation.body.validator);
    const problem = admissionProblem(observation, bytes, validator, memberWeight, input, params);
    if (problem !== undefined) {
      dropped.push({ index, validator, ...problem });
      continue;
    }
    const list = byValidator.get(validator) ?? [];
    const key = toHex(bytes);
    if (list.some((seen) => seen.bytes === key)) {
      dropped.push({ index, validator, reason: 'REPLAYED', detail: 'the same observation twice' });
      continue;
    }
    list.push({ bytes: key, observation, index });
    byValidator.set(validator, list);
  }

  const equivocations: EquivocationEvidence[] = [];
  const admitted: { weight: bigint; observation: SignedObservation }[] = [];
  for (const validator of [...byValidator.keys()].sort()) {
    const list = byValidator.get(validator)!;
    if (list.length > 1) {
      equivocations.push({ validator, height: input.height, observations: list.map((x) => x.observation) });
      for (const item of list) {
        dropped.push({
          index: item.index,
          reason: 'EQUIVOCATION',
          validator,
          detail: 'two observations at one height',
        });
      }
      continue;
    }
    admitted.push({ weight: memberWeight.get(validator)!, observation: list[0]!.observation });
  }

  const prices = [...new Set(input.assets)]
    .sort((a, b) => a - b)
    .map((assetId) => aggregateAsset(assetId, admitted, totalWeight, input, params));
  dropped.sort((a, b) => a.index - b.index);
  return { height: input.height, prices, accepted: admitted.length, dropped, equivocations };
}

function admissionProblem(
  observation: SignedObservation,
  encoded: Uint8Array,
  validator: string,
  memberWeight: ReadonlyMap<string, bigint>,
  input: AggregateBlockInput,
  params: AggregationParams,
): { reason: DropReason; detail: string } | undefined {
  const body = observation.body;
  if (body.chainId !== input.chainId) return { reason: 'WRONG_CHAIN', detail: `chain ${body.chainId}` };
  if (body.height < input.height)
    return { reason: 'PREVIOUS_HEIGHT', detail: `height ${body.height} < ${input.height}` };
  if (body.height > input.height)
    return { reason: 'FUTURE_HEIGHT', detail: `height ${body.height} > ${input.height}` };
  if (!memberWeight.has(validator)) return { reason: 'UNKNOWN_SIGNER', detail: 'not in the validator set' };
  const verified =
    input.verifySignature === undefined
      ? verifyObservationSignature(observation)
      : input.verifySignature(observation, encoded);
  if (!verified) return { reason: 'BAD_SIGNATURE', detail: 'signature does not verify' };
  if (body.timestampMs > input.blockTimeMs + params.maxFutureSkewMs)
    return {
      reason: 'FUTURE_TIMESTAMP',
      detail: `${body.timestampMs - input.blockTimeMs} ms ahead of the block`,
    };
  if (input.blockTimeMs - body.timestampMs > params.maxObservationAgeMs)
    return { reason: 'STALE_TIMESTAMP', detail: `${input.blockTimeMs - body.timestampMs} ms old` };
  return undefined;
}

function aggregateAsset(
  assetId: number,
  admitted: readonly { weight: bigint; observation: SignedObservation }[],
  totalWeight: bigint,
  input: AggregateBlockInput,
  params: AggregationParams,
): AggregatePriceValue {
  const fresh: { weight: bigint; entry: ObservationEntry }[] = [];
  for (const { weight, observation } of admitted) {
    const entry = observation.body.entries.find((candidate) => candidate.assetId === assetId);
    if (entry === undefined) continue;
    if (entry.sourceTimeMs > input.blockTimeMs + params.maxFutureSkewMs) continue;
    if (input.blockTimeMs - entry.sourceTimeMs > params.maxObservationAgeMs) continue;
    fresh.push({ weight, entry });
  }
  let freshWeight = 0n;
  for (const item of fresh) freshWeight += item.weight;
  const previous = input.previous.get(assetId);

  // 2f + 1 of n = 3f + 1 equal weights is exactly "more than two thirds".
  if (fresh.length === 0 || freshWeight * 3n <= totalWeight * 2n) {
    return {
      assetId,
      height: input.height,
      priceTicks: previous?.priceTicks ?? 0n,
      confidenceTicks: previous?.confidenceTicks ?? 0n,
      publishTimeMs: previous?.publishTimeMs ?? 0,
      emaTicks: previous?.emaTicks ?? 0n,
      observationCount: fresh.length,
      flags: AggregateFlag.STALE,
    };
  }

  const priceTicks = weightedMedian(fresh.map(({ weight, entry }) => ({ value: entry.priceTicks, weight })));
  const confidenceTicks = trimmedConfidence(fresh, priceTicks, (totalWeight - 1n) / 3n);
  const sourceTime = weightedMedian(
    fresh.map(({ weight, entry }) => ({ value: BigInt(entry.sourceTimeMs), weight })),
  );
  const publishTimeMs = Math.min(Number(sourceTime), input.blockTimeMs);

  let flags = 0;
  const reference = previous !== undefined && previous.priceTicks > 0n ? previous : undefined;
  if (reference !== undefined && exceedsBps(priceTicks, reference.priceTicks, params.maxMoveBps)) {
    flags |= AggregateFlag.MAX_MOVE;
  }
  const previousEma = reference !== undefined && reference.emaTicks > 0n ? reference.emaTicks : priceTicks;
  if (exceedsBps(priceTicks, previousEma, params.emaBandBps)) flags |= AggregateFlag.EMA_BAND;
  if (confidenceTicks * 10_000n > priceTicks * BigInt(params.confidenceWideBps)) {
    flags |= AggregateFlag.CONFIDENCE_WIDE;
  }
  const emaTicks = previousEma + ((priceTicks - previousEma) * BigInt(params.emaAlphaBps)) / 10_000n;
  return {
    assetId,
    height: input.height,
    priceTicks,
    confidenceTicks,
    publishTimeMs,
    emaTicks,
    observationCount: fresh.length,
    flags,
  };
}

/**
 * max(P − L, H − P) of the module header: L and H are the lows and highs reached once more than
 * `trimWeight` (the adversary's largest possible weight) has been passed from each end, so every
 * one of them is bounded by an honest observation. Capped at the codec's largest price.
 */
function trimmedConfidence(
  fresh: readonly { weight: bigint; entry: ObservationEntry }[],
  priceTicks: bigint,
  trimWeight: bigint,
): bigint {
  const lows = fresh.map(({ weight, entry }) => ({
    value: entry.priceTicks > entry.confidenceTicks ? entry.priceTicks - entry.confidenceTicks : 0n,
    weight,
  }));
  const highs = fresh.map(({ weight, entry }) => ({
    value: entry.priceTicks + entry.confidenceTicks,
    weight,
  }));
  lows.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  highs.sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : 0));
  const low = valuePastWeight(lows, trimWeight);
  const high = valuePastWeight(highs, trimWeight);
  invariant(low <= priceTicks && high >= priceTicks, 'the trimmed interval must contain the median');
  return minBigint(maxBigint(priceTicks - low, high - priceTicks), MAX_PRICE_TICKS);
}

/** The first value, in the given order, at which the cumulative weight exceeds `weight`. */
function valuePastWeight(sorted: readonly { value: bigint; weight: bigint }[], weight: bigint): bigint {
  let cumulative = 0n;
  for (const item of sorted) {
    cumulative += item.weight;
    if (cumulative > weight) return item.value;
  }
  invariant(false, 'the fresh weight must exceed the trim weight');
}

/** |value − reference| > reference × bps / 10⁴, without division. */
function exceedsBps(value: bigint, reference: bigint, bps: number): boolean {
  const distance = value > reference ? value - reference : reference - value;
  return distance * 10_000n > reference * BigInt(bps);
}
