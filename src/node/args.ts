/**
 * A small, strict argument parser for the CLI: `--name value`, `--name=value` and boolean
 * `--flag`. Unknown options are an error, never silently ignored.
 */
import { parseArgs } from 'node:util';

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; default?: string | boolean }
>;

export class UsageError extends Error {
  readonly code = 'USAGE';
}

/**
 * Parses `args` against `spec`; throws {@link UsageError} naming the offending option.
 * @example const { values } = parseOptions(['--json'], { json: { type: 'boolean' } });
 * @throws UsageError on an unknown option or a missing value
 */
export function parseOptions<T extends OptionSpec>(args: string[], spec: T) {
  try {
    return parseArgs({
      args: joinNegativeValues(args, spec),
      options: spec,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A negative number: `-0.05`, `-5`, `-.5`, `-1e-3`; never an option, whose name starts with a letter. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)[\d.eE+-]*$/;

/**
 * `--rate -0.05` as `--rate=-0.05`: `node:util` parseArgs refuses a value that starts with a dash
 * as ambiguous, but after an option that takes a value, a negative number can only be that value.
 */
function joinNegativeValues(args: readonly string[], spec: OptionSpec): string[] {
  const takesValue = new Set<string>();
  for (const [name, option] of Object.entries(spec)) {
    if (option.type !== 'string') continue;
    takesValue.add(`--${name}`);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (takesValue.has(arg) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Parses a finite decimal number option, or throws a {@link UsageError} naming it. */
export function numberOption(name: string, value: string | boolean | undefined): number {
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(Number(value))) {
    throw new UsageError(`--${name} needs a number, got ${value === undefined ? 'nothing' : String(value)}`);
  }
  return Number(value);
}
