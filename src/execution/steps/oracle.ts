/**
 * Block step 1, oracle updates (engine.ts header): a valid price passes the oracle guards
 * (src/execution/oracle-guard.ts), feeds the underlying's EWMA volatility (src/execution/volatility.ts)
 * and becomes the index; settlement samples are kept by time.
 */
import { guardPrice } from '../oracle-guard.ts';
import { placeSample } from '../settlement.ts';
import { BPS, type EngineState } from '../state.ts';
import type { OracleUpdate } from '../types.ts';
import { ewmaVariance } from '../volatility.ts';
import { checkBreaker } from './breaker.ts';

/**
 * Takes each underlying's update (the last one of the block for it): a valid price passes the
 * oracle guards (src/execution/oracle-guard.ts) before it becomes the index, and the sample is
 * kept by time, at most one per second (src/execution/settlement.ts).
 */
export function ingestOracle(s: EngineState, updates: readonly OracleUpdate[]): void {
  const byUnderlying = new Map<number, OracleUpdate>();
  for (const update of updates)
    if (s.underlyings.has(update.underlyingId)) byUnderlying.set(update.underlyingId, update);
  for (const underlyingId of [...byUnderlying.keys()].sort((a, b) => a - b)) {
    const update = byUnderlying.get(underlyingId)!;
    const underlying = s.underlyings.get(underlyingId)!;
    const valid =
      !update.stale &&
      Number.isSafeInteger(update.price) &&
      update.price > 0 &&
      Number.isSafeInteger(update.confidence) &&
      update.confidence >= 0 &&
      BigInt(update.confidence) * BPS <= BigInt(update.price) * BigInt(underlying.maxConfidenceBps);
    const accept =
      valid &&
      guardOracle(
        s,
        underlyingId,
        BigInt(update.price),
        Number.isSafeInteger(update.flags) ? update.flags! : 0,
      );
    // The circuit breaker reads the samples before this one (steps/breaker.ts).
    if (accept) checkBreaker(s, underlyingId, BigInt(update.price));
    let list = s.samples.get(underlyingId);
    if (list === undefined) {
      list = [];
      s.samples.set(underlyingId, list);
    }
    const price = accept ? BigInt(update.price) : 0n;
    const sample = { timeMs: s.timeMs, price, valid: accept };
    const placement = placeSample(list, sample);
    if (placement === 'append') list.push(sample);
    else if (placement === 'replaceLast') list[list.length - 1] = sample;
    if (placement !== 'drop') {
      s.sampleWrites.push({
        underlyingId,
        sequence: (s.sampleBase.get(underlyingId) ?? 0) + list.length - 1,
        sample,
      });
      s.dirtyOracle.add(underlyingId);
    }
    if (accept) {
      sampleVolatility(s, underlyingId, price);
      s.indexPrices.set(underlyingId, { price, blockTimeMs: s.timeMs, publishTimeMs: update.publishTimeMs });
      s.dirtyIndexes.add(underlyingId);
      s.dirtyOracle.add(underlyingId);
    }
  }
}

/**
 * Feeds an accepted index price to the underlying's EWMA (src/execution/volatility.ts): at most one
 * sample every `volSampleIntervalMs` of block time; the first price only starts the series.
 */
export function sampleVolatility(s: EngineState, underlyingId: number, price: bigint): void {
  const risk = s.risk.get(underlyingId)!;
  const dtMs = s.timeMs - risk.samplePriceTimeMs;
  if (risk.samplePrice !== 0n && dtMs < Math.max(s.params.volSampleIntervalMs, 1)) return;
  if (risk.samplePrice !== 0n)
    risk.variance = ewmaVariance(
      risk.variance,
      risk.samplePrice,
      price,
      dtMs,
      s.params.volLambdaBps,
      s.params.volLambdaIntervalMs,
    );
  risk.samplePrice = price;
  risk.samplePriceTimeMs = s.timeMs;
  s.dirtyRisk.add(underlyingId);
}

/** Applies the guard to a valid price of `underlyingId`; true when it may become the index. */
export function guardOracle(s: EngineState, underlyingId: number, price: bigint, flags: number): boolean {
  const untilBefore = s.guardUntil.get(underlyingId) ?? 0;
  const decision = guardPrice(
    flags,
    price,
    untilBefore,
    s.timeMs,
    s.params.oracleGuardPauseMs,
    s.indexPrices.get(underlyingId),
  );
  if (decision.untilMs !== untilBefore) {
    if (decision.untilMs === 0) s.guardUntil.delete(underlyingId);
    else s.guardUntil.set(underlyingId, decision.untilMs);
    s.dirtyOracle.add(underlyingId);
  }
  if (decision.event?.type === 'pause')
    s.events.push({ type: 'oracleGuardPause', underlyingId, flags, untilMs: decision.event.untilMs });
  else if (decision.event?.type === 'resume') {
    s.events.push({ type: 'oracleGuardResume', underlyingId, reason: decision.event.reason });
    // Liquidation resumes only after a grace period: accounts may add margin first.
    if (s.params.liquidationGraceMs > 0) {
      const risk = s.risk.get(underlyingId)!;
      risk.graceUntilMs = s.timeMs + s.params.liquidationGraceMs;
      s.dirtyRisk.add(underlyingId);
      s.events.push({ type: 'liquidationGrace', underlyingId, untilMs: risk.graceUntilMs });
    }
  }
  return decision.accept;
}
