/**
 * `palisade conformance --url URL [--spec FILE] [--evidence FILE] [--window BLOCKS]
 *  [--json | --sarif FILE | --html FILE]`: checks a running network against the derivatives
 * security specification (docs/spec/controls.json by default). Automatic controls run through the
 * network's API; declared controls take the evidence an operator lists in `--evidence` (a JSON
 * object from control id to a document or CI run). Exit 1 when any control fails.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assessRisk } from '../../risk/assess.ts';
import {
  type ConformanceResult,
  checkConformance,
  conformanceHtml,
  conformanceSarif,
  type DeclaredEvidence,
  parseSpecification,
  type Specification,
} from '../../risk/conformance.ts';
import { collectSnapshot, RiskError } from '../../risk/snapshot.ts';
import { numberOption, parseOptions, UsageError } from '../args.ts';
import { httpFetchers, parseUrl } from './risk.ts';

export const usage =
  'usage: palisade conformance --url http://127.0.0.1:8080 [--spec docs/spec/controls.json] [--evidence FILE] [--window 100] [--json | --sarif FILE | --html FILE]';

const spec = {
  url: { type: 'string' },
  spec: { type: 'string' },
  evidence: { type: 'string' },
  window: { type: 'string', default: '100' },
  json: { type: 'boolean', default: false },
  sarif: { type: 'string' },
  html: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const DEFAULT_SPEC_PATH = join(import.meta.dirname, '..', '..', '..', 'docs', 'spec', 'controls.json');

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} ${path} is not JSON`);
  }
}

export function loadSpecification(path: string = DEFAULT_SPEC_PATH): Specification {
  return parseSpecification(readJson(path, 'specification'));
}

function declaredEvidence(path: string | undefined): DeclaredEvidence {
  if (path === undefined) return {};
  const value = readJson(path, 'evidence file');
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError('the evidence file must map control ids to strings');
  for (const [id, pointer] of Object.entries(value))
    if (typeof pointer !== 'string' || pointer.length === 0 || pointer.length > 1000)
      throw new UsageError(`evidence for ${id} must be a string of 1 to 1000 characters`);
  return value as DeclaredEvidence;
}

/** Runs `specification` against the network at `url`. */
export async function conformanceOf(
  url: string,
  specification: Specification,
  declared: DeclaredEvidence = {},
  windowBlocks = 100,
): Promise<ConformanceResult> {
  const snapshot = await collectSnapshot(httpFetchers(url), { url, windowBlocks, nowMs: Date.now() });
  return checkConformance(specification, snapshot, assessRisk(snapshot), declared);
}

function text(result: ConformanceResult): string {
  const s = result.summary;
  return [
    `${result.specification.name} ${result.specification.version} against ${result.url} at height ${result.height}`,
    ...result.results.map((r) => `  ${r.status.padEnd(14)} ${r.id}  ${r.title}: ${r.evidence}`),
    `summary: ${s.pass} pass, ${s.fail} fail, ${s['not-applicable']} not applicable, ${s.declared} declared, ${s.undeclared} undeclared (${s.total} controls)`,
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseOptions(args, spec);
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const outputs = [values.json, values.sarif !== undefined, values.html !== undefined].filter(Boolean).length;
  if (outputs > 1) throw new UsageError('--json, --sarif and --html are exclusive');
  const url = parseUrl(values.url);
  const windowBlocks = numberOption('window', values.window);
  if (!Number.isSafeInteger(windowBlocks) || windowBlocks < 1 || windowBlocks > 1000)
    throw new UsageError('--window must be 1 to 1000 blocks');
  let specification: Specification;
  try {
    specification = loadSpecification(values.spec);
  } catch (error) {
    if (error instanceof RiskError) throw new UsageError(`--spec: ${error.field}: ${error.message}`);
    throw error;
  }
  const declared = declaredEvidence(values.evidence);
  let result: ConformanceResult;
  try {
    result = await conformanceOf(url, specification, declared, windowBlocks);
  } catch (error) {
    if (!(error instanceof RiskError)) throw error;
    console.error(`palisade conformance: ${error.code}: ${error.message}`);
    return 1;
  }
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    if (values.sarif !== undefined)
      writeFileSync(
        values.sarif,
        `${JSON.stringify(conformanceSarif(specification, result, '0.1.0'), null, 2)}\n`,
      );
    if (values.html !== undefined) writeFileSync(values.html, conformanceHtml(result));
    console.log(text(result));
  }
  return result.summary.conforms ? 0 : 1;
}
