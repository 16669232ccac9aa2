/**
 * `palisade bench <name> [options]`: runs the benchmark module `bench/<name>.ts`, which exports
 * `run(args): Promise<number>` and takes `--json` for one JSON document instead of a table. The
 * name is checked against the files present before anything is imported, so the command never
 * loads a path built from arbitrary input; an unknown name lists the benchmarks there are.
 */
import { readdir } from 'node:fs/promises';

const benchDirectory = new URL('../../../bench/', import.meta.url);
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

interface BenchModule {
  run(args: string[]): Promise<number>;
}

/** The benchmark names available: `bench/<name>.ts` files, sorted. */
export async function listBenchmarks(): Promise<string[]> {
  const entries = await readdir(benchDirectory, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => entry.name.slice(0, -'.ts'.length))
    .filter((name) => NAME_PATTERN.test(name))
    .sort();
}

/**
 * Runs `palisade bench`.
 * @example process.exitCode = await run(['primitives', '--json']);
 */
export async function run(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const available = await listBenchmarks();
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(`usage: palisade bench <name> [--json]\nbenchmarks: ${available.join(', ')}`);
    return name === undefined ? 2 : 0;
  }
  if (!available.includes(name)) {
    console.error(`palisade bench: no benchmark '${name}'. Available: ${available.join(', ')}`);
    return 2;
  }
  const module = (await import(new URL(`${name}.ts`, benchDirectory).href)) as Partial<BenchModule>;
  if (typeof module.run !== 'function') {
    console.error(`palisade bench: bench/${name}.ts does not export run(args)`);
    return 1;
  }
  return module.run(rest);
}
