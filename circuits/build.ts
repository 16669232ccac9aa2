/**
 * Builds the margin-proof circuits and their Groth16 keys for the devnet:
 *
 *   node circuits/build.ts [--sizes 1,4,16] [--write-hashes] [--compile-only]
 *
 * 1. Phase 1 (powers of tau: 2^14, 2^15, 2^16 for 1, 4, 16 positions): a fresh accumulator and one
 *    contribution from a public beacon, then `prepare phase2`.
 * 2. Each circuit compiled by `circom2` (the WASM build of circom 2, no native binary) with `--O2`.
 * 3. Phase 2: `groth16 setup`, then one beacon contribution; the verification key exported.
 *
 * Every step is deterministic (beacons, no random contribution), so the keys are reproducible
 * artifacts and `circuits/keys.sha256.json` commits their SHA-256 hashes; the loader
 * (src/privacy/keys.ts) refuses a key whose hash differs. The price of determinism: anyone can
 * recompute the devnet's toxic waste and forge proofs. These keys are for the devnet only; the
 * production ceremony is in circuits/README.md.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { KEY_PART_BYTES } from '../src/privacy/keys.ts';

const root = resolve(import.meta.dirname, '..');
const circuitsDir = join(root, 'circuits');
const buildDir = join(circuitsDir, 'build');
/** The committed copies that tests and the CLI load (src/privacy/keys.ts), so CI never rebuilds. */
const keysDir = join(circuitsDir, 'keys');
const snarkjsCli = join(root, 'node_modules', 'snarkjs', 'build', 'cli.cjs');
const circomCli = join(root, 'node_modules', 'circom2', 'cli.js');
/** Powers of tau per circuit (constraints + public inputs must fit): 2^14, 2^15, 2^16. */
export function ptauPower(size: number): number {
  return size === 16 ? 16 : size === 4 ? 15 : 14;
}
/** SHA-256("PALISADE/PRIVACY/DEVNET-BEACON/v1"): the devnet's public beacon. */
export const DEVNET_BEACON = 'c648cded16310dc4fde686b49a9bb6d5a66ca1075e652303c86971607eced23e';
const BEACON_ITERATIONS_EXP = '10';

function run(cli: string, args: string[]): void {
  execFileSync(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function artifactPaths(size: number): { wasm: string; zkey: string; vkey: string; r1cs: string } {
  return {
    r1cs: join(buildDir, `margin_${size}.r1cs`),
    wasm: join(buildDir, `margin_${size}_js`, `margin_${size}.wasm`),
    zkey: join(buildDir, `margin_${size}.zkey`),
    vkey: join(buildDir, `margin_${size}.vkey.json`),
  };
}

function buildPtau(power: number): string {
  const final = join(buildDir, `pot${power}_final.ptau`);
  if (existsSync(final)) return final;
  const p0 = join(buildDir, `pot${power}_0.ptau`);
  const p1 = join(buildDir, `pot${power}_1.ptau`);
  run(snarkjsCli, ['powersoftau', 'new', 'bn128', String(power), p0]);
  run(snarkjsCli, [
    'powersoftau',
    'beacon',
    p0,
    p1,
    DEVNET_BEACON,
    BEACON_ITERATIONS_EXP,
    '-n=palisade-devnet',
  ]);
  run(snarkjsCli, ['powersoftau', 'prepare', 'phase2', p1, `${final}.tmp`]);
  renameSync(`${final}.tmp`, final);
  rmSync(p0);
  rmSync(p1);
  return final;
}

/** Compiles one circuit (r1cs and witness generator), no keys: what witness-level tests need. */
export function compileCircuit(size: number): void {
  run(circomCli, [
    join('circuits', `margin_${size}.circom`),
    '--r1cs',
    '--wasm',
    '--O2',
    '-l',
    'node_modules',
    '-o',
    join('circuits', 'build'),
  ]);
}

function buildCircuit(size: number, ptau: string): Record<string, string> {
  const paths = artifactPaths(size);
  compileCircuit(size);
  const z0 = join(buildDir, `margin_${size}_0.zkey`);
  run(snarkjsCli, ['groth16', 'setup', paths.r1cs, ptau, z0]);
  run(snarkjsCli, [
    'zkey',
    'beacon',
    z0,
    paths.zkey,
    DEVNET_BEACON,
    BEACON_ITERATIONS_EXP,
    '-n=palisade-devnet',
  ]);
  rmSync(z0);
  run(snarkjsCli, ['zkey', 'export', 'verificationkey', paths.zkey, paths.vkey]);
  return { wasm: sha256File(paths.wasm), zkey: sha256File(paths.zkey), vkey: sha256File(paths.vkey) };
}

/** Copies one circuit's wasm, proving key and verification key to circuits/keys (to commit). */
function copyToKeys(size: number): void {
  const paths = artifactPaths(size);
  mkdirSync(keysDir, { recursive: true });
  copyFileSync(paths.wasm, join(keysDir, `margin_${size}.wasm`));
  // The proving key goes in parts of at most 4 MiB (src/privacy/keys.ts joins them): no tracked
  // file over the repository's 5 MB limit.
  const zkey = readFileSync(paths.zkey);
  for (const stale of readdirSync(keysDir)) {
    if (stale.startsWith(`margin_${size}.zkey`)) rmSync(join(keysDir, stale));
  }
  for (let i = 0; i * KEY_PART_BYTES < zkey.length; i++) {
    writeFileSync(
      join(keysDir, `margin_${size}.zkey.${i}`),
      zkey.subarray(i * KEY_PART_BYTES, (i + 1) * KEY_PART_BYTES),
    );
  }
  copyFileSync(paths.vkey, join(keysDir, `margin_${size}.vkey.json`));
}

function main(argv: string[]): void {
  const sizesAt = argv.indexOf('--sizes');
  const sizes = (sizesAt >= 0 ? (argv[sizesAt + 1] ?? '') : '1,4,16').split(',').map(Number);
  for (const size of sizes) {
    if (![1, 4, 16].includes(size)) throw new Error(`no circuit with ${size} positions (1, 4, 16)`);
  }
  mkdirSync(buildDir, { recursive: true });
  // One build at a time: a second one (two test files, two engineers) waits for the first.
  const lock = join(buildDir, '.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    }
  }
  try {
    build(argv, sizes);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function build(argv: string[], sizes: number[]): void {
  if (argv.includes('--compile-only')) {
    for (const size of sizes) if (!existsSync(artifactPaths(size).wasm)) compileCircuit(size);
    return;
  }
  const hashesPath = join(circuitsDir, 'keys.sha256.json');
  const hashes: Record<string, Record<string, string>> = existsSync(hashesPath)
    ? JSON.parse(readFileSync(hashesPath, 'utf8'))
    : {};
  for (const size of sizes) {
    const paths = artifactPaths(size);
    const committed = hashes[String(size)];
    if (
      committed !== undefined &&
      !argv.includes('--write-hashes') &&
      [paths.wasm, paths.zkey, paths.vkey].every((p) => existsSync(p)) &&
      sha256File(paths.wasm) === committed.wasm &&
      sha256File(paths.zkey) === committed.zkey &&
      sha256File(paths.vkey) === committed.vkey
    ) {
      continue; // already built (by a build this one waited for)
    }
    const started = process.hrtime.bigint();
    const built = buildCircuit(size, buildPtau(ptauPower(size)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(`margin_${size}: built in ${seconds.toFixed(1)} s\n`);
    if (argv.includes('--write-hashes')) hashes[String(size)] = built;
    else if (committed !== undefined && JSON.stringify(committed) !== JSON.stringify(built)) {
      throw new Error(`margin_${size}: built keys differ from circuits/keys.sha256.json`);
    }
    copyToKeys(size);
  }
  if (argv.includes('--write-hashes')) writeFileSync(hashesPath, `${JSON.stringify(hashes, null, 2)}\n`);
}

if (import.meta.main) main(process.argv.slice(2));
