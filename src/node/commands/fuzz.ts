/**
 * `palisade fuzz engine [--blocks N] [--seed S] [--episode-blocks E] [--snapshot-every K]
 * [--series M] [--transactions T] [--json]`: drives every engine action with random and hostile
 * inputs (src/execution/fuzz.ts), checks after every block that `applyBlock` did not throw, that
 * money is conserved, that accounts which never traded kept their balance, that no key got an
 * account without a deposit, that a restored snapshot reproduces the root and that expired series
 * settle. Prints blocks per second and what the run reached (fills, liquidation steps,
 * settlements, insurance covers, statuses); exits 1 with each finding's episode seed and height,
 * which replay it: `palisade fuzz engine --seed <seed> --blocks <height>` (with the same shape
 * options).
 */
import { type EngineFuzzReport, runEngineFuzz } from '../../execution/fuzz.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';

export const usage =
  'usage: palisade fuzz engine [--blocks N] [--seed S] [--episode-blocks E] [--snapshot-every K] [--series M] [--transactions T] [--json]';

function integerOption(name: string, value: string | boolean | undefined, min: number): number {
  const parsed = numberOption(name, value);
  if (!Number.isSafeInteger(parsed) || parsed < min)
    throw new UsageError(`--${name} must be an integer of at least ${min}, got ${String(value)}`);
  return parsed;
}

/** What the run reached, in the words an operator looks for. */
function reached(report: EngineFuzzReport): Record<string, number> {
  const events = report.events;
  return {
    fills: events.fill ?? 0,
    liquidationSteps: events.liquidationStep ?? 0,
    backstopTakes: events.backstopTaken ?? 0,
    autoDeleverages: events.autoDeleverage ?? 0,
    settlements: events.settlement ?? 0,
    insuranceCovers: events.insuranceCover ?? 0,
    socializedLosses: events.socializedLoss ?? 0,
    unrecoveredLosses: events.unrecoveredLoss ?? 0,
    expiries: events.expired ?? 0,
    seriesListed: events.seriesListed ?? 0,
  };
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    blocks: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    'episode-blocks': { type: 'string', default: '2000' },
    'snapshot-every': { type: 'string', default: '50' },
    series: { type: 'string', default: '3' },
    transactions: { type: 'string', default: '6' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const [target, ...extra] = positionals;
  if (target !== 'engine' || extra.length > 0)
    throw new UsageError(`palisade fuzz takes one target, engine; got ${positionals.join(' ') || 'nothing'}`);
  const blocks = integerOption('blocks', values.blocks, 1);
  const seed = numberOption('seed', values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError('--seed must be an integer');
  const options = {
    seed,
    blocks,
    episodeBlocks: integerOption('episode-blocks', values['episode-blocks'], 1),
    snapshotEveryBlocks: integerOption('snapshot-every', values['snapshot-every'], 1),
    seriesPerUnderlying: integerOption('series', values.series, 1),
    transactionsPerBlockMax: integerOption('transactions', values.transactions, 1),
  };
  const progress = values.json !== true && process.stderr.isTTY === true;
  const startedMs = performance.now();
  let lastPrintMs = startedMs;
  const report = runEngineFuzz(options, (partial) => {
    if (!progress) return;
    const nowMs = performance.now();
    if (nowMs - lastPrintMs < 500) return;
    lastPrintMs = nowMs;
    const rate = Math.round((partial.blocks * 1000) / (nowMs - startedMs));
    process.stderr.write(
      `\rblock ${partial.blocks}/${blocks}, ${rate} blocks/s, findings ${partial.findings.length}   `,
    );
  });
  const elapsedMs = performance.now() - startedMs;
  if (progress) process.stderr.write('\n');
  const blocksPerSecond = Math.round((report.blocks * 1000) / Math.max(elapsedMs, 1));
  const findings = Object.values(report.findingCounts).reduce((a, b) => a + b, 0);
  if (values.json === true) {
    console.log(
      JSON.stringify(
        { ...report, elapsedMs: Math.round(elapsedMs), blocksPerSecond, reached: reached(report) },
        null,
        2,
      ),
    );
  } else {
    const statuses = Object.entries(report.statuses)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([status, count]) => `${status} ${count}`)
      .join(', ');
    // The episode's shape must match for a replay; its length only needs to reach the height.
    const replayOptions = ` --snapshot-every ${options.snapshotEveryBlocks} --series ${options.seriesPerUnderlying} --transactions ${options.transactionsPerBlockMax}`;
    const lines = [
      `fuzz engine (seed ${report.seed}): ${report.blocks} blocks in ${report.episodes} episodes, ${report.transactions} transactions, ${blocksPerSecond} blocks/s`,
      `  reached: ${Object.entries(reached(report))
        .map(([name, count]) => `${name} ${count}`)
        .join(', ')}`,
      `  statuses: ${statuses}`,
      `  snapshots restored and checked: ${report.snapshotsChecked}`,
      findings === 0
        ? '  findings: none'
        : `  findings: ${Object.entries(report.findingCounts)
            .filter(([, count]) => count > 0)
            .map(([kind, count]) => `${kind} ×${count}`)
            .join(', ')}`,
      ...report.findings.map(
        (f) =>
          `    ${f.kind} at height ${f.height} (replay: palisade fuzz engine --seed ${f.seed} --blocks ${f.height}${replayOptions}): ${f.detail}`,
      ),
    ];
    console.log(lines.join('\n'));
  }
  return findings === 0 ? 0 : 1;
}
