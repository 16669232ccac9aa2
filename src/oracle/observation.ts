/**
 * A validator's observation: one signed message per height carrying, for each asset, the median
 * of its fresh sources, a confidence interval, how many sources it used and when they priced.
 *
 * Per asset (all integer):
 *   1. drop quotes older than `maxSourceAgeMs` or timestamped more than `maxFutureSkewMs` ahead of
 *      the validator's clock (a venue's clock ahead of ours is a bug or an attack, not freshness);
 *   2. take the median of the rest, then drop quotes further than `outlierBandBps` from it — a
 *      pumped thin venue (Mango Markets, 2022) is cut here before it can move anything;
 *   3. the price is the median of the survivors; the confidence is Pyth's construction applied to
 *      sources: the larger distance from the median to the 25th and 75th percentiles.
 * With a majority of honest sources, steps 2–3 keep the price inside the honest quotes' range.
 *
 * The signed bytes are `PALISADE/ORACLE/OBSERVATION/v1 ‖ chain id ‖ encode(ObservationBody)`.
 */
import {
  type ObservationBody,
  ObservationBodyCodec,
  type ObservationEntry,
  type SignedObservation,
  SignedObservationCodec,
} from '../codec/oracle.ts';
import { DomainTag } from '../crypto/domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from '../crypto/ed25519.ts';
import type { AssetSpec, Quote } from './source.ts';
import { maxBigint, median, weightedPercentile } from './stats.ts';

export interface ObservationParams {
  readonly maxSourceAgeMs: number;
  readonly maxFutureSkewMs: number;
  readonly outlierBandBps: number;
  /** Fewer surviving sources than this and the validator reports nothing for the asset. */
  readonly minSources: number;
}

export const DEFAULT_OBSERVATION_PARAMS: ObservationParams = Object.freeze({
  maxSourceAgeMs: 10_000,
  maxFutureSkewMs: 1_000,
  outlierBandBps: 500,
  minSources: 1,
});

/** Why a quote was not used; reported so operators can see a venue misbehave. */
export type QuoteDrop = 'STALE' | 'FUTURE' | 'OUTLIER' | 'UNKNOWN_ASSET' | 'DUPLICATE_SOURCE';

export interface AssetObservationReport {
  readonly assetId: number;
  readonly entry: ObservationEntry | undefined;
  readonly dropped: readonly { sourceId: string; reason: QuoteDrop }[];
}

/** The most quotes considered per asset: bounds the work an observation does. */
export const MAX_QUOTES_PER_ASSET = 64;

/**
 * Turns one asset's quotes into an observation entry, or `undefined` with the reasons.
 * @example observeAsset(quotes, 1_700_000_000_000, DEFAULT_OBSERVATION_PARAMS)
 */
export function observeAsset(
  assetId: number,
  quotes: readonly Quote[],
  nowMs: number,
  params: ObservationParams = DEFAULT_OBSERVATION_PARAMS,
): AssetObservationReport {
  const dropped: { sourceId: string; reason: QuoteDrop }[] = [];
  const seenSources = new Set<string>();
  const fresh: Quote[] = [];
  // Sorting by source id first makes the result independent of the order sources answered in.
  const ordered = [...quotes]
    .filter((quote) => quote.assetId === assetId)
    .sort((a, b) => (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0))
    .slice(0, MAX_QUOTES_PER_ASSET);
  for (const quote of ordered) {
    if (seenSources.has(quote.sourceId)) {
      dropped.push({ sourceId: quote.sourceId, reason: 'DUPLICATE_SOURCE' });
    } else if (quote.timestampMs > nowMs + params.maxFutureSkewMs) {
      dropped.push({ sourceId: quote.sourceId, reason: 'FUTURE' });
    } else if (nowMs - quote.timestampMs > params.maxSourceAgeMs || quote.priceTicks <= 0n) {
      dropped.push({ sourceId: quote.sourceId, reason: 'STALE' });
    } else {
      fresh.push(quote);
    }
    seenSources.add(quote.sourceId);
  }
  if (fresh.length === 0) return { assetId, entry: undefined, dropped };

  const center = median(fresh.map((quote) => quote.priceTicks));
  const band = (center * BigInt(params.outlierBandBps)) / 10_000n;
  const kept = fresh.filter((quote) => {
    const distance = quote.priceTicks > center ? quote.priceTicks - center : center - quote.priceTicks;
    if (distance <= band) return true;
    dropped.push({ sourceId: quote.sourceId, reason: 'OUTLIER' });
    return false;
  });
  if (kept.length < Math.max(1, params.minSources)) return { assetId, entry: undefined, dropped };

  const items = kept.map((quote) => ({ value: quote.priceTicks, weight: 1n }));
  const priceTicks = median(kept.map((quote) => quote.priceTicks));
  const q25 = weightedPercentile(items, 1n, 4n);
  const q75 = weightedPercentile(items, 3n, 4n);
  const confidenceTicks = maxBigint(priceTicks - q25, q75 - priceTicks);
  const sourceTimeMs = Number(median(kept.map((quote) => BigInt(quote.timestampMs))));
  return {
    assetId,
    entry: { assetId, priceTicks, confidenceTicks, sourceCount: Math.min(kept.length, 255), sourceTimeMs },
    dropped,
  };
}

export interface BuildObservationParameters {
  readonly chainId: number;
  readonly height: number;
  readonly validator: Uint8Array;
  readonly nowMs: number;
  readonly assets: readonly AssetSpec[];
  readonly quotes: readonly Quote[];
  readonly params?: ObservationParams;
}

/** Builds the unsigned observation body for `height` and a per-asset account of what was used. */
export function buildObservation(parameters: BuildObservationParameters): {
  body: ObservationBody;
  reports: AssetObservationReport[];
} {
  const assets = [...parameters.assets].sort((a, b) => a.assetId - b.assetId);
  const reports = assets.map((asset) =>
    observeAsset(asset.assetId, parameters.quotes, parameters.nowMs, parameters.params),
  );
  const entries = reports.flatMap((report) => (report.entry === undefined ? [] : [report.entry]));
  const body: ObservationBody = {
    chainId: parameters.chainId,
    height: parameters.height,
    validator: parameters.validator,
    timestampMs: parameters.nowMs,
    entries,
  };
  return { body, reports };
}

/** Signs an observation body with the validator's identity key. */
export function signObservation(signer: Ed25519Signer, body: ObservationBody): SignedObservation {
  const signature = signInDomain(
    signer,
    DomainTag.observation,
    body.chainId,
    ObservationBodyCodec.encode(body),
  );
  return { body, signature };
}

/** The vote-extension bytes consensus attaches to this validator's vote at `body.height`. */
export function encodeVoteExtension(observation: SignedObservation): Uint8Array {
  return SignedObservationCodec.encode(observation);
}

/**
 * Checks the signature of an observation against the key it names; `false`, never a throw.
 * Whether that key belongs to a validator is the aggregator's question.
 */
export function verifyObservationSignature(observation: SignedObservation): boolean {
  try {
    return verifyInDomain(
      observation.body.validator,
      DomainTag.observation,
      observation.body.chainId,
      ObservationBodyCodec.encode(observation.body),
      observation.signature,
    );
  } catch {
    return false;
  }
}
