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
    return parseArgs({ args, options: spec, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Parses a finite decimal number option, or throws a {@link UsageError} naming it. */
export function numberOption(name: string, value: string | boolean | undefined): number {
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(Number(value))) {
    throw new UsageError(`--${name} needs a number, got ${value === undefined ? 'nothing' : String(value)}`);
  }
  return Number(value);
}
