/**
 * `palisade risk --url URL [--window BLOCKS] [--json | --html FILE]`: the live security
 * assessment of a running network, read through its API (src/risk). Without `--json` it prints the
 * headline figures with their methods; `--html` writes the full report with its charts.
 */
import { writeFileSync } from 'node:fs';
import { assessRisk, type RiskReport } from '../../risk/assess.ts';
import { riskReportHtml } from '../../risk/html.ts';
import { collectSnapshot, RiskError, type RiskFetchers } from '../../risk/snapshot.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';
import { validatorSetOf, verifyFinality } from '../client.ts';
import type { BlockDetail } from '../view.ts';

export const usage =
  'usage: palisade risk --url http://127.0.0.1:8080 [--window 100] [--json | --html report.html]\n' +
  '  reads status, network, the last --window finalized blocks, oracle prices and certificates, findings and /metrics';

const spec = {
  url: { type: 'string' },
  window: { type: 'string', default: '100' },
  json: { type: 'boolean', default: false },
  html: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Requests to the node give up after this long. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Fetchers over HTTP for the risk layer, which does not import the node. */
export function httpFetchers(baseUrl: string): RiskFetchers {
  const base = baseUrl.replace(/\/+$/, '');
  let cachedSet: { id: string; set: ReturnType<typeof validatorSetOf> } | undefined;
  return {
    async fetchJson(path) {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (cause) {
        throw new RiskError('BAD_RESPONSE', `GET ${path} is not JSON`, path, { cause });
      }
      return { status: response.status, body };
    },
    async fetchText(path) {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      return { status: response.status, text: await response.text() };
    },
    verifyFinality(block, validatorPublicKeys, chainId) {
      const id = validatorPublicKeys.join(',');
      if (cachedSet?.id !== id) cachedSet = { id, set: validatorSetOf(validatorPublicKeys) };
      return verifyFinality(block as BlockDetail, cachedSet.set, chainId);
    },
  };
}

export function parseUrl(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--url is required');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url is not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http(s)');
  return url.toString().replace(/\/+$/, '');
}

/** Reads the network at `url` and assesses it. */
export async function riskReportOf(url: string, windowBlocks: number): Promise<RiskReport> {
  const snapshot = await collectSnapshot(httpFetchers(url), { url, windowBlocks, nowMs: Date.now() });
  return assessRisk(snapshot);
}

function summary(report: RiskReport): string {
  const { dispersion: d, finality: f, oracle: o, premium } = report;
  const ms = (x: number | null) => (x === null ? '—' : `${x} ms`);
  return [
    `risk of ${report.url} at height ${report.height} (window ${report.window.blocks} blocks)`,
    `  Nakamoto coefficient: safety ${d.nakamotoSafety.value}, liveness ${d.nakamotoLiveness.value}  (${d.nakamotoSafety.method})`,
    `  connected ${d.connected.value.validators} of ${d.validators.length}; ${d.livenessMargin.value.finalityStopped ? 'finality has STOPPED' : `${d.livenessMargin.value.validators} more may fail before finality stops`}`,
    `  block interval p50 ${ms(f.blockIntervalMs.value.p50)}, p99 ${ms(f.blockIntervalMs.value.p99)}, max ${ms(f.blockIntervalMs.value.max)}; views nullified ${f.nullifiedViewShare.value === null ? '—' : `${(f.nullifiedViewShare.value * 100).toFixed(2)}%`}`,
    `  oracle: ${o.perValidator.value.map((v) => `validator ${v.validator} uptime ${(v.uptime * 100).toFixed(0)}%`).join(', ')}`,
    ...(o.perSource.value ?? [])
      .filter((s) => s.status !== 'healthy')
      .map((s) => `  source ${s.source}: ${s.status}, uptime ${(s.uptime * 100).toFixed(1)}%`),
    `  certificates as expected for ${o.certificates.value.issuedWithinExpected} of ${o.certificates.value.assets} assets; bridge: not applicable`,
    `  expected loss ${premium.expectedLossBpsPerYear.toFixed(2)} bps/year = safety ${premium.components.safety.lossBps.toFixed(3)} + liveness ${premium.components.liveness.lossBps.toFixed(3)} + pricing ${premium.components.pricing.lossBps.toFixed(3)}`,
    '  assumptions:',
    ...premium.assumptions.map((a) => `    ${a.name} = ${a.value}  (${a.meaning})`),
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, spec);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.json && values.html !== undefined) throw new UsageError('--json and --html are exclusive');
  const url = parseUrl(values.url);
  const windowBlocks = numberOption('window', values.window);
  if (!Number.isSafeInteger(windowBlocks) || windowBlocks < 1 || windowBlocks > 1000)
    throw new UsageError('--window must be 1 to 1000 blocks');
  let report: RiskReport;
  try {
    report = await riskReportOf(url, windowBlocks);
  } catch (error) {
    if (!(error instanceof RiskError)) throw error;
    console.error(`palisade risk: ${error.code}: ${error.message}`);
    return 1;
  }
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else if (values.html !== undefined) {
    writeFileSync(values.html, riskReportHtml(report));
    console.log(`${summary(report)}\nwrote ${values.html}`);
  } else console.log(summary(report));
  return 0;
}

/**
 * The risk report page of the first of `apiUrls` that answers (the dashboard's `/risk`).
 * @throws RiskError `UNREACHABLE` when none answers
 */
export async function riskPageOf(apiUrls: readonly string[], windowBlocks = 100): Promise<string> {
  let last: unknown;
  for (const url of apiUrls.slice(0, 128)) {
    try {
      return riskReportHtml(await riskReportOf(url, windowBlocks));
    } catch (error) {
      if (!(error instanceof RiskError)) throw error;
      last = error;
    }
  }
  throw new RiskError('UNREACHABLE', 'no validator answered', 'apiUrls', { cause: last });
}
