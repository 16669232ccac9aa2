/**
 * `palisade oracle-sim --scenario NAME [--seed N] [--json]`: runs the oracle pipeline (simulated
 * venues, signed observations, block aggregation and its guards) under a named manipulation and
 * prints the aggregated series, which guards tripped, the worst deviation from the true price and
 * whether the honest bound held. `--scenario all` runs every scenario.
 */
import {
  runScenario,
  SCENARIO_NAMES,
  type ScenarioName,
  type ScenarioSummary,
} from '../../oracle/scenario.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';

export const usage = `usage: palisade oracle-sim --scenario NAME|all [--seed N] [--minutes M] [--json]\nscenarios: ${SCENARIO_NAMES.join(', ')}`;

function printText(summary: ScenarioSummary): void {
  const lines = [
    `scenario ${summary.scenario} (seed ${summary.seed}): ${summary.description}`,
    `  validators ${summary.validators} (f = ${summary.f}), byzantine ${summary.byzantine}, blocks ${summary.blocks}`,
    `  ${summary.asset}: first ${summary.series.firstPrice}, last ${summary.series.lastPrice} (true ${summary.series.lastTruePrice}), range ${summary.series.minPrice}–${summary.series.maxPrice}, stale blocks ${summary.series.staleBlocks}`,
    `  guards tripped: ${summary.guardsTripped.length === 0 ? 'none' : summary.guardsTripped.map((g) => `${g} ×${summary.guards[g]}`).join(', ')}`,
    `  dropped observations: ${JSON.stringify(summary.droppedObservations)}; dropped quotes: ${JSON.stringify(summary.droppedQuotes)}`,
    `  worst deviation from the true price: ${summary.worstDeviationBps} bps at height ${summary.worstDeviationHeight}`,
    `  ${summary.honestBound.statement}`,
  ];
  console.log(lines.join('\n'));
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, {
    scenario: { type: 'string' },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const name = values.scenario;
  if (name !== 'all' && !SCENARIO_NAMES.includes(name as ScenarioName)) {
    throw new UsageError(
      `--scenario must be one of ${SCENARIO_NAMES.join(', ')} or all, got ${String(name ?? 'nothing')}`,
    );
  }
  const seed = numberOption('seed', values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError('--seed must be an integer');
  const minutes = values.minutes === undefined ? undefined : numberOption('minutes', values.minutes);
  if (minutes !== undefined && (minutes <= 0 || minutes > 1440))
    throw new UsageError('--minutes must be in (0, 1440]');
  const names = name === 'all' ? [...SCENARIO_NAMES] : [name as ScenarioName];
  const summaries: ScenarioSummary[] = [];
  for (const scenario of names) {
    const summary = await runScenario(scenario, {
      seed,
      ...(minutes === undefined ? {} : { durationMs: Math.round(minutes * 60_000) }),
    });
    summaries.push(summary);
    if (values.json !== true) printText(summary);
  }
  if (values.json === true) console.log(JSON.stringify(name === 'all' ? summaries : summaries[0], null, 2));
  // A violated bound within the fault model is a failure worth a non-zero exit in scripts.
  return summaries.some((s) => s.honestBound.applies && !s.honestBound.holds) ? 1 : 0;
}
