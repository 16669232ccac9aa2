/**
 * One economic attack run on a red-team venue (venue.ts): the attackers' coalition, the accounts
 * that must not lose (bystanders), and the evidence the verdict rests on — every transaction's
 * status by who sent it, the notable events, balances before and after, the fund, and the
 * fair-value ledger (fair-value.ts). The verdict is `succeeded` when the coalition took more than
 * deposits plus fair pay (the loss is that excess), when a bystander lost, or when the insurance
 * fund or socialised losses paid for the coalition; else `refused`.
 */
import type { ExecutionAction } from '../../codec/execution.ts';
import { USDC } from '../../execution/fixtures.ts';
import { FairValueLedger, type FairValueReport } from './fair-value.ts';
import { createVenue, type Venue, type VenueOptions } from './venue.ts';

export type Verdict = 'refused' | 'succeeded';

export interface Evidence {
  /** Each transaction's status, in order, as `label: action → STATUS`. */
  statuses: string[];
  /** Event counts by type over the attack, and the notable ones in full (outOfBand cancels, liquidations, covers). */
  events: Record<string, number>;
  notable: string[];
  balancesBefore: Record<string, string>;
  balancesAfter: Record<string, string>;
  insuranceFund: { before: string; after: string };
  socializedLoss: string;
  fairValue?: Record<keyof FairValueReport, string>;
  /** Scenario-specific facts (marks, aggregates, verifier answers). */
  facts: string[];
}

export interface Outcome {
  verdict: Verdict;
  /** The loss in USDC base units when the attack succeeded, else 0. */
  loss: bigint;
  summary: string;
  evidence: Evidence;
}

export const usdc = (units: bigint): string => {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  return `${sign}${abs / BigInt(USDC)}.${(abs % BigInt(USDC)).toString().padStart(6, '0')}`;
};

export interface Scenario {
  readonly venue: Venue;
  tx(label: string, action: ExecutionAction): Scenario;
  /** Executes the queued transactions `advanceMs` of block time after the last block. */
  block(advanceMs?: number): Promise<void>;
  fact(line: string): void;
  finish(summary: string): Outcome;
}

export interface ScenarioRoles {
  /** The attackers' labels. */
  coalition: string[];
  /** Accounts that must not lose. */
  bystanders: string[];
}

/** Starts a scenario on the engine venue (venue.ts). */
export function startScenario(options: VenueOptions, roles: ScenarioRoles): Scenario {
  return scenarioOn(createVenue(options), Object.keys(options.traders), roles);
}

/** Runs a scenario on `venue`, whose traders are `labels` (the engine venue, or a network venue). */
export function scenarioOn(venue: Venue, labels: readonly string[], roles: ScenarioRoles): Scenario {
  const balances = () =>
    Object.fromEntries(labels.map((label) => [label, venue.engine.account(venue.key(label))?.balance ?? 0n]));
  const before = balances();
  const fundBefore = venue.engine.ledger().insuranceFund;
  const ledger = new FairValueLedger(
    roles.coalition.map((label) => venue.key(label)),
    venue.engine,
  );
  const statuses: string[] = [];
  const events: Record<string, number> = {};
  const notable: string[] = [];
  const facts: string[] = [];
  const labelOf = new Map(labels.map((label) => [venue.key(label), label]));
  const who = (key: string) => labelOf.get(key.replace(/^0x/, '').toLowerCase()) ?? key.slice(0, 12);
  venue.onRefused((note, code) => statuses.push(`${note ?? '?'} → not admitted: ${code}`));
  venue.onBlock((block) => {
    const { result } = block;
    ledger.block(result, block.honest, venue.engine, venue.honest);
    for (const [index, outcome] of result.results.entries()) {
      const note = block.notes[index];
      if (note !== undefined) statuses.push(`h${result.height} ${note} → ${outcome.status}`);
    }
    for (const event of result.events) {
      events[event.type] = (events[event.type] ?? 0) + 1;
      if (
        (event.type === 'cancel' && event.reason !== 'user') ||
        event.type === 'liquidationStep' ||
        event.type === 'backstopTaken' ||
        event.type === 'insuranceCover' ||
        event.type === 'unrecoveredLoss' ||
        event.type === 'withdrawal' ||
        event.type === 'fill'
      ) {
        const text = JSON.stringify(event, (_key, value) =>
          typeof value === 'bigint' ? value.toString() : value,
        ).replace(/"(account|maker|taker)":"([0-9a-f]+)"/g, (_m, field, key) => `"${field}":"${who(key)}"`);
        if (notable.length < 60) notable.push(`h${result.height} ${text}`);
      }
    }
  });
  const scenario: Scenario = {
    venue,
    tx(label, action) {
      const detail =
        action.kind === 'placeOrder'
          ? `${action.value.side === 0 ? 'buy' : 'sell'} ${action.value.sizeE6 / 1e6} @${action.value.price / USDC} on series ${action.value.seriesId}${action.value.reduceOnly ? ' reduce-only' : ''}`
          : action.kind === 'withdraw'
            ? `withdraw ${usdc(BigInt(action.value.amount))}`
            : action.kind;
      venue.tx(label, action, `${label}: ${detail}`);
      return scenario;
    },
    async block(advanceMs) {
      await venue.block(advanceMs);
    },
    fact(line) {
      facts.push(line);
    },
    finish(summary) {
      const after = balances();
      const ledgerView = venue.engine.ledger();
      const report = ledger.report(venue.engine, venue.honest);
      let loss = report.excess > 0n ? report.excess : 0n;
      for (const label of roles.bystanders) {
        const drop = before[label]! - after[label]!;
        if (drop > 0n) {
          loss += drop;
          facts.push(`bystander ${label} lost ${usdc(drop)}`);
        }
      }
      const fundPaid = fundBefore - ledgerView.insuranceFund;
      if (fundPaid > 0n && report.excess > 0n) facts.push(`the insurance fund paid ${usdc(fundPaid)}`);
      if (ledgerView.socializedLossTotal > 0n && report.excess > 0n)
        facts.push(`socialised losses ${usdc(ledgerView.socializedLossTotal)}`);
      const verdict: Verdict = loss > 0n ? 'succeeded' : 'refused';
      const show = (record: Record<string, bigint>) =>
        Object.fromEntries(Object.entries(record).map(([label, value]) => [label, usdc(value)]));
      return {
        verdict,
        loss,
        summary:
          verdict === 'refused'
            ? summary
            : `${usdc(loss)} USDC extracted: ${report.unfairFlows} of ${report.outsideFlows} flows with outside accounts off the fair band${facts.length > 0 ? `; ${facts.join('; ')}` : ''}`,
        evidence: {
          statuses,
          events,
          notable,
          balancesBefore: show(before),
          balancesAfter: show(after),
          insuranceFund: { before: usdc(fundBefore), after: usdc(ledgerView.insuranceFund) },
          socializedLoss: usdc(ledgerView.socializedLossTotal),
          fairValue: Object.fromEntries(
            Object.entries(report).map(([field, value]) => [
              field,
              typeof value === 'bigint' ? usdc(value) : String(value),
            ]),
          ) as Record<keyof FairValueReport, string>,
          facts,
        },
      };
    },
  };
  return scenario;
}
