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
import type { Detector } from '../detector.ts';
import { createFinding, type Finding } from '../finding.ts';
import type { MonitorSignal } from '../signals.ts';
import { FINDINGS_PER_BLOCK_MAX } from './trading.ts';

export class AutomaticResponseDetector implements Detector {
  readonly name = 'responses';

  observe(signal: MonitorSignal): Finding[] {
    if (signal.kind !== 'block') return [];
    const findings: Finding[] = [];
    const common = { height: signal.height, timeMs: signal.timeMs };
    for (const [index, event] of signal.events.entries()) {
      if (findings.length >= FINDINGS_PER_BLOCK_MAX) break;
      const key = String(index);
      switch (event.type) {
        case 'circuitBreakerHalt':
          findings.push(
            createFinding({
              alertId: 'PALISADE-CIRCUIT-BREAKER-HALT',
              name: 'Circuit breaker halted an underlying',
              description: `Underlying ${event.underlyingId}'s index ${event.price} left its band [${event.low}, ${event.high}] (${event.widthBps} bps): its series halt until ${event.untilMs}, then reopen by call auction`,
              severity: 'High',
              type: 'Degraded',
              metadata: {
                underlyingId: event.underlyingId,
                price: event.price,
                low: event.low,
                high: event.high,
                widthBps: event.widthBps,
                untilMs: event.untilMs,
              },
              key,
              ...common,
            }),
          );
          break;
        case 'callAuction':
          findings.push(
            createFinding({
              alertId: 'PALISADE-CALL-AUCTION',
              name: 'Call auction at reopening',
              description: `Series ${event.seriesId} reopened with ${event.lots} lots uncrossed at ${event.priceTicks} ticks`,
              severity: 'Info',
              type: 'Info',
              metadata: { seriesId: event.seriesId, priceTicks: event.priceTicks, lots: event.lots },
              key,
              ...common,
            }),
          );
          break;
        case 'circuitBreakerReopen':
          findings.push(
            createFinding({
              alertId: 'PALISADE-CIRCUIT-BREAKER-REOPEN',
              name: 'Circuit breaker reopened',
              description: `Underlying ${event.underlyingId}'s series trade again`,
              severity: 'Info',
              type: 'Info',
              metadata: { underlyingId: event.underlyingId },
              key,
              ...common,
            }),
          );
          break;
        case 'parametersAdjusted':
          findings.push(
            createFinding({
              alertId: 'PALISADE-PARAMETERS-ADJUSTED',
              name: 'Parameters followed volatility',
              description: `Underlying ${event.underlyingId}: EWMA volatility ${event.ewmaVolBps} bps; mark-volatility floor ${event.autoVolBps} bps, band and initial-margin scale ${event.scaleBps} bps`,
              severity: 'Low',
              type: 'Info',
              metadata: {
                underlyingId: event.underlyingId,
                ewmaVolBps: event.ewmaVolBps,
                autoVolBps: event.autoVolBps,
                scaleBps: event.scaleBps,
              },
              key,
              ...common,
            }),
          );
          break;
        case 'withdrawalsThrottled':
          findings.push(
            createFinding({
              alertId: 'PALISADE-WITHDRAWALS-THROTTLED',
              name: 'Withdrawals throttled',
              description: `The insurance fund fell to ${event.insuranceFund} from ${event.reference}: withdrawals are capped per block until it stops falling`,
              severity: 'High',
              type: 'Degraded',
              metadata: { insuranceFund: event.insuranceFund, reference: event.reference },
              key,
              ...common,
            }),
          );
          break;
        case 'withdrawalsRestored':
          findings.push(
            createFinding({
              alertId: 'PALISADE-WITHDRAWALS-RESTORED',
              name: 'Withdrawals restored',
              description: `The insurance fund stopped falling (${event.insuranceFund}): withdrawals are no longer capped`,
              severity: 'Info',
              type: 'Info',
              metadata: { insuranceFund: event.insuranceFund },
              key,
              ...common,
            }),
          );
          break;
        case 'liquidationGrace':
          findings.push(
            createFinding({
              alertId: 'PALISADE-LIQUIDATION-GRACE',
              name: 'Liquidations resume after a grace period',
              description: `Underlying ${event.underlyingId}'s guard pause ended; liquidations resume at ${event.untilMs}`,
              severity: 'Medium',
              type: 'Degraded',
              metadata: { underlyingId: event.underlyingId, untilMs: event.untilMs },
              key,
              ...common,
            }),
          );
          break;
        default:
          break;
      }
    }
    return findings;
  }
}
