/**
 * Block step 4, liquidation (rules: src/execution/liquidation.ts): accounts below maintenance, in
 * creation order and within `maxLiquidationStepsPerBlock`, have their orders cancelled and their
 * positions closed step by step in the order that lowers the requirement most per value closed.
 */
import { MARGIN_MODE, SERIES_STATUS } from '../../codec/execution.ts';
import type { Fixed } from '../../std/fixed.ts';
import { liquidationHealth } from '../assess.ts';
import {
  type ClosureCandidate,
  closureOrder,
  type RequirementInput,
  stepReductions,
} from '../liquidation.ts';
import { markOf, scenarioOf } from '../marks.ts';
import { guardPaused } from '../oracle-guard.ts';
import type { Account, EngineState } from '../state.ts';
import { removeOrder } from '../trading.ts';
import { halted } from './breaker.ts';
import { closeStep } from './close.ts';

/** Whether a position of the account is on an underlying whose oracle guard pauses liquidation. */
export function guardPausesAccount(s: EngineState, account: Account): boolean {
  for (const seriesId of account.positions.keys()) {
    const underlyingId = s.seriesById.get(seriesId)!.underlying.underlyingId;
    if (guardPaused(s.guardUntil.get(underlyingId) ?? 0, s.timeMs)) return true;
    // A circuit-breaker halt: nothing trades on the underlying until its call auction.
    if (halted(s, underlyingId)) return true;
    // The grace period after a guard pause (steps/oracle.ts).
    if (s.timeMs < (s.risk.get(underlyingId)?.graceUntilMs ?? 0)) return true;
  }
  return false;
}

export function liquidate(s: EngineState): void {
  let stepsLeft = s.params.maxLiquidationStepsPerBlock;
  for (const index of [...s.accountsWithPositions].sort((a, b) => a - b)) {
    if (stepsLeft <= 0) return;
    const account = s.accountsByIndex[index]!;
    if (guardPausesAccount(s, account)) continue;
    let state = liquidationHealth(s, account);
    if (state === undefined || state.equity >= state.maintenance) continue;
    for (const order of [...account.openOrders.values()].sort((a, b) => a.orderId - b.orderId))
      removeOrder(s, order, 'liquidation');
    for (const candidate of closurePlan(s, account)) {
      const series = s.seriesById.get(candidate.seriesId)!;
      while (stepsLeft > 0 && state !== undefined && state.equity < state.maintenance) {
        stepsLeft -= 1;
        if (closeStep(s, account, series, state) === 0) break;
        state = liquidationHealth(s, account);
      }
    }
    if (state !== undefined && state.equity < state.maintenance && account.positions.size > 0) {
      s.events.push({
        type: 'liquidationStalled',
        account: account.key,
        equity: state.equity,
        maintenance: state.maintenance,
      });
    }
  }
}

/** The account's tradable positions in the order liquidation closes them (liquidation.ts). */
export function closurePlan(s: EngineState, account: Account): ClosureCandidate[] {
  const portfolio = account.marginMode === MARGIN_MODE.portfolio;
  const inputs: RequirementInput[] = [];
  const values: Fixed[] = [];
  const closable: boolean[] = [];
  for (const [seriesId, lots] of [...account.positions].sort((a, b) => a[0] - b[0])) {
    const series = s.seriesById.get(seriesId)!;
    const mark = markOf(s, series);
    if (mark === undefined) continue;
    const stepLots = Math.min(Math.abs(lots), s.params.liquidationStepLots);
    const input: RequirementInput = {
      seriesId,
      underlyingId: series.underlying.underlyingId,
      lots,
      stepLots,
      standardMaintenance: mark.standard.maintenance,
    };
    if (portfolio) {
      const scenario = scenarioOf(series, mark);
      input.scenarioPnl = scenario.pnl;
      input.contingency = scenario.contingency;
    }
    inputs.push(input);
    values.push(BigInt(stepLots) * (mark.markPerLot < 0n ? -mark.markPerLot : mark.markPerLot));
    closable.push(series.status === SERIES_STATUS.active);
  }
  const reductions = stepReductions(portfolio, inputs);
  return closureOrder(
    inputs
      .map((input, i) => ({
        seriesId: input.seriesId,
        lots: input.lots,
        stepLots: input.stepLots,
        reduction: reductions[i]!,
        value: values[i]!,
      }))
      .filter((_, i) => closable[i]),
  );
}
