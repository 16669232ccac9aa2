/**
 * The engine's automatic responses (src/execution/breaker.ts, steward.ts, the withdrawal throttle
 * and the liquidation grace of the oracle guard): each one the engine takes is also a finding, so
 * that an operator sees a halt or a throttle the moment every validator applies it, with what
 * caused it. The engine decides; this only reports.
 *
 *   circuitBreakerHalt    High, Degraded: an underlying's series halted; the price, the band and
 *                         when the halt ends;
 *   callAuction           Info: one reopening uncross (price and lots);
 *   circuitBreakerReopen  Info: trading resumed;
 *   parametersAdjusted    Low, Info: the volatility-following parameters moved (bounded per step);
 *   withdrawalsThrottled  High, Degraded: the insurance fund fell fast, withdrawals capped per block;
 *   withdrawalsRestored   Info;
 *   liquidationGrace      Medium, Degraded: liquidations resume after a grace period.
 */
import type { EngineEvent } from '../../execution/types.ts';
import type { Detector } from '../detector.ts';
import { createFinding, type Finding, type FindingParameters } from '../finding.ts';
import type { MonitorSignal } from '../signals.ts';
import { FINDINGS_PER_BLOCK_MAX } from './trading.ts';

type Response = Extract<
  EngineEvent,
  {
    type:
      | 'circuitBreakerHalt'
      | 'callAuction'
      | 'circuitBreakerReopen'
      | 'parametersAdjusted'
      | 'withdrawalsThrottled'
      | 'withdrawalsRestored'
      | 'liquidationGrace';
  }
>;
type Described = Pick<FindingParameters, 'alertId' | 'name' | 'description' | 'severity' | 'type'>;

/** What each response is as a finding; its metadata is the event's own fields. */
const DESCRIBE: { [K in Response['type']]: (event: Extract<Response, { type: K }>) => Described } = {
  circuitBreakerHalt: (e) => ({
    alertId: 'PALISADE-CIRCUIT-BREAKER-HALT',
    name: 'Circuit breaker halted an underlying',
    description: `Underlying ${e.underlyingId}'s index ${e.price} left its band [${e.low}, ${e.high}] (${e.widthBps} bps): its series halt until ${e.untilMs}, then reopen by call auction`,
    severity: 'High',
    type: 'Degraded',
  }),
  callAuction: (e) => ({
    alertId: 'PALISADE-CALL-AUCTION',
    name: 'Call auction at reopening',
    description: `Series ${e.seriesId} reopened with ${e.lots} lots uncrossed at ${e.priceTicks} ticks`,
    severity: 'Info',
    type: 'Info',
  }),
  circuitBreakerReopen: (e) => ({
    alertId: 'PALISADE-CIRCUIT-BREAKER-REOPEN',
    name: 'Circuit breaker reopened',
    description: `Underlying ${e.underlyingId}'s series trade again`,
    severity: 'Info',
    type: 'Info',
  }),
  parametersAdjusted: (e) => ({
    alertId: 'PALISADE-PARAMETERS-ADJUSTED',
    name: 'Parameters followed volatility',
    description: `Underlying ${e.underlyingId}: EWMA volatility ${e.ewmaVolBps} bps; mark-volatility floor ${e.autoVolBps} bps, band and initial-margin scale ${e.scaleBps} bps`,
    severity: 'Low',
    type: 'Info',
  }),
  withdrawalsThrottled: (e) => ({
    alertId: 'PALISADE-WITHDRAWALS-THROTTLED',
    name: 'Withdrawals throttled',
    description: `The insurance fund fell to ${e.insuranceFund} from ${e.reference}: withdrawals are capped per block until it stops falling`,
    severity: 'High',
    type: 'Degraded',
  }),
  withdrawalsRestored: (e) => ({
    alertId: 'PALISADE-WITHDRAWALS-RESTORED',
    name: 'Withdrawals restored',
    description: `The insurance fund stopped falling (${e.insuranceFund}): withdrawals are no longer capped`,
    severity: 'Info',
    type: 'Info',
  }),
  liquidationGrace: (e) => ({
    alertId: 'PALISADE-LIQUIDATION-GRACE',
    name: 'Liquidations resume after a grace period',
    description: `Underlying ${e.underlyingId}'s guard pause ended; liquidations resume at ${e.untilMs}`,
    severity: 'Medium',
    type: 'Degraded',
  }),
};

function isResponse(event: EngineEvent): event is Response {
  return Object.hasOwn(DESCRIBE, event.type);
}

export class AutomaticResponseDetector implements Detector {
  readonly name = 'responses';

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    for (const [index, event] of signal.events.entries()) {
      if (findings.length >= FINDINGS_PER_BLOCK_MAX) break;
      if (!isResponse(event)) continue;
      const { type: _kind, ...metadata } = event;
      const describe = DESCRIBE[event.type] as (e: Response) => Described;
      findings.push(
        createFinding({
          ...describe(event),
          metadata,
          key: String(index),
          height: signal.height,
          timeMs: signal.timeMs,
        }),
      );
    }
    return findings;
  }
}
