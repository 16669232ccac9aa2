/**
 * Keeps DESIGN.md's layer table true: every import under `src/` must point down the table, and
 * the pure layers (consensus, execution, mempool, oracle, chain) must not reach the real world.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const srcRoot = resolve(import.meta.dirname, '..', 'src');

/** Which of our layers each layer may import (its own folder is always allowed). */
const allowedImports: Record<string, readonly string[]> = {
  std: [],
  codec: ['std'],
  crypto: ['std', 'codec'],
  runtime: ['std', 'codec', 'crypto'],
  consensus: ['std', 'codec', 'crypto', 'runtime'],
  mempool: ['std', 'codec', 'crypto'],
  execution: ['std', 'codec', 'crypto'],
  oracle: ['std', 'codec', 'crypto'],
  monitor: ['std', 'codec', 'crypto', 'runtime', 'consensus', 'mempool', 'execution', 'oracle'],
  interop: ['std', 'codec', 'crypto'],
  privacy: ['std', 'codec', 'crypto'],
  risk: ['std', 'codec', 'monitor'],
  // The block rule: composes the layers above it over the runtime's interfaces (never the real runtime).
  chain: [
    'std',
    'codec',
    'crypto',
    'runtime',
    'consensus',
    'mempool',
    'execution',
    'oracle',
    'monitor',
    'interop',
  ],
  node: [
    'std',
    'codec',
    'crypto',
    'runtime',
    'consensus',
    'mempool',
    'execution',
    'oracle',
    'monitor',
    'interop',
    'risk',
    'privacy',
    'chain',
    'sim',
  ],
  sim: [
    'std',
    'codec',
    'crypto',
    'runtime',
    'consensus',
    'mempool',
    'execution',
    'oracle',
    'monitor',
    'interop',
    'risk',
    'chain',
  ],
};

/** Real-world implementations inside `runtime` that only `node` may use. */
const realRuntimeFolder = 'runtime/real/';

/** Layers whose code must be a deterministic function of its inputs. */
const pureLayers = new Set(['std', 'consensus', 'execution', 'mempool', 'oracle', 'chain']);
const worldModules =
  /^node:(fs|net|tls|http|https|http2|dgram|child_process|worker_threads|sqlite|os|cluster)(\/|$)/;
const nondeterministic = [
  /\bDate\.now\s*\(/,
  /\bnew Date\s*\(\s*\)/,
  /\bMath\.random\s*\(/,
  /\bperformance\.now\s*\(/,
];
/** Floating-point transcendental functions differ across engines; state must not depend on them. */
const floatTranscendental = /\bMath\.(exp|log|log2|log10|pow|sqrt|sin|cos|tan|cbrt|expm1|log1p)\s*\(/;

function listSourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const pattern =
    /(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(pattern)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier !== undefined) specifiers.push(specifier);
  }
  return specifiers;
}

function layerOf(file: string): string {
  return relative(srcRoot, file).split(sep)[0] ?? '';
}

const files = listSourceFiles(srcRoot);

test('every folder under src/ is a layer named in DESIGN.md', () => {
  for (const file of files) {
    const layer = layerOf(file);
    assert.ok(
      layer in allowedImports,
      `${relative(srcRoot, file)} sits in '${layer}', which DESIGN.md does not name`,
    );
  }
});

test('imports point only down the layer table', () => {
  const violations: string[] = [];
  for (const file of files) {
    const layer = layerOf(file);
    const allowed = allowedImports[layer] ?? [];
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(srcRoot, resolve(dirname(file), specifier));
      const targetLayer = target.split(sep)[0] ?? '';
      if (target.startsWith('..')) {
        violations.push(`${relative(srcRoot, file)} imports '${specifier}', outside src/`);
      } else if (targetLayer !== layer && !allowed.includes(targetLayer)) {
        violations.push(`${relative(srcRoot, file)} (${layer}) imports '${specifier}' (${targetLayer})`);
      } else if (
        layer !== 'node' &&
        layer !== 'runtime' &&
        target.split(sep).join('/').startsWith(realRuntimeFolder)
      ) {
        violations.push(`${relative(srcRoot, file)} (${layer}) imports the real runtime '${specifier}'`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('pure layers never touch the real world, the wall clock, randomness or float transcendentals', () => {
  const violations: string[] = [];
  for (const file of files) {
    if (!pureLayers.has(layerOf(file)) || file.endsWith('.test.ts')) continue;
    const source = readFileSync(file, 'utf8');
    const name = relative(srcRoot, file);
    for (const specifier of importsOf(source)) {
      if (worldModules.test(specifier)) violations.push(`${name} imports ${specifier}`);
    }
    for (const pattern of nondeterministic) {
      if (pattern.test(source)) violations.push(`${name} uses ${pattern.source}`);
    }
    if (floatTranscendental.test(source)) {
      violations.push(`${name} uses a floating-point transcendental (Math.exp/log/pow/sqrt/...)`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees static, dynamic and side-effect imports', () => {
  const source =
    "import { a } from './a.ts';\nimport type { B } from '../b.ts';\nexport * from './c.ts';\nimport './d.ts';\nconst e = await import('./e.ts');";
  assert.deepEqual(importsOf(source), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts']);
});
