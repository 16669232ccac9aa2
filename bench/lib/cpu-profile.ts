/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`) by where a validator's time goes. Each sample is
 * charged to one category: walking the sample's stack from the leaf upwards, the first frame that
 * matches a category's rule decides (so SHA-256 inside the state root counts as state root, and
 * SHA-256 inside a signature check as signature). Samples matching nothing are "other"; the
 * profiler's own (idle), (program) and (garbage collector) nodes are kept apart.
 *
 * The rules name this project's modules and the libraries under them; they are a reading aid for
 * docs/performance.md and the devnet benchmark, not an exact accounting.
 */
import { readFileSync } from 'node:fs';

export const CATEGORIES = [
  'signature',
  'decode',
  'execution',
  'state root',
  'storage',
  'network',
  'http/json',
  'consensus',
  'oracle/prices',
  'gc',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Wall time the profile covers, µs. */
  wallUs: number;
  /** Busy time (everything but idle), µs. */
  busyUs: number;
  /** µs per category (idle excluded). */
  byCategory: Record<Category, number>;
  /** The hottest functions by self time: `name url:line`, µs. */
  topSelf: { frame: string; us: number }[];
}

/** The category a single frame belongs to, or undefined when it says nothing by itself. */
function frameCategory(functionName: string, url: string): Category | undefined {
  if (functionName === '(garbage collector)') return 'gc';
  const u = url;
  if (
    /crypto\/ed25519|verifyTransactionSignature|verified-transactions|signature-pool|@noble\/curves/.test(
      u,
    ) ||
    /^(verify|ed25519Verify|verifyTransactionSignature)$/.test(functionName)
  )
    return 'signature';
  if (/state-commitment|crypto\/merkle|poseidon|stateRoot|nodeStateRoot/.test(u + functionName))
    return 'state root';
  if (/runtime\/real\/storage|chain\/block-store/.test(u)) return 'storage';
  if (/src\/codec\//.test(u)) return 'decode';
  if (/src\/execution\/|chain\/block-rule/.test(u)) return 'execution';
  if (/runtime\/real\/transport|node:net|node:tls|_tls_|node:internal\/(stream|net|tls)|frame-reader/.test(u))
    return 'network';
  if (
    /fastify|find-my-way|light-my-request|avvio|pino|api\/server|api\/stream|api\/schemas|node:_http|node:http|internal\/http|ws\/lib|@fastify/.test(
      u,
    )
  )
    return 'http/json';
  if (/^(stringify|parse)$/.test(functionName) && u === '') return 'http/json';
  if (/src\/consensus\//.test(u)) return 'consensus';
  if (/src\/oracle\/|price-signing|crypto\/frost/.test(u)) return 'oracle/prices';
  return undefined;
}

/**
 * Reads one `.cpuprofile` and charges its samples to categories; with `window` (µs on the
 * profile's clock, the system's monotonic clock that `process.hrtime` also reads), only the
 * samples taken inside it.
 * @example const summary = summarizeProfile('/tmp/prof/CPU.…cpuprofile');
 */
export function summarizeProfile(
  path: string,
  top = 15,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const categoryOf = new Map<number, Category | 'idle'>();
  const resolve = (id: number): Category | 'idle' => {
    const cached = categoryOf.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id)!;
    const { functionName, url } = node.callFrame;
    let category: Category | 'idle' | undefined;
    if (functionName === '(idle)') category = 'idle';
    else if (functionName === '(program)') category = 'other';
    else {
      // SQLite statements are native frames with no url: their caller decides.
      if (url === '' && /^(run|exec|all|get|prepare)$/.test(functionName)) {
        const up = parent.get(id);
        const above = up === undefined ? undefined : byId.get(up);
        if (above !== undefined && /runtime\/real\/storage|block-store/.test(above.callFrame.url))
          category = 'storage';
      }
      category ??= frameCategory(functionName, url);
      if (category === undefined) {
        const up = parent.get(id);
        category = up === undefined ? 'other' : resolve(up);
      }
    }
    categoryOf.set(id, category);
    return category;
  };
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const self = new Map<string, number>();
  let idleUs = 0;
  let atUs = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i] ?? 0;
    atUs += delta;
    if (window !== undefined && (atUs < window.fromUs || atUs >= window.toUs)) continue;
    const category = resolve(id);
    if (category === 'idle') {
      idleUs += delta;
      continue;
    }
    byCategory[category] += delta;
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}`;
    self.set(key, (self.get(key) ?? 0) + delta);
  }
  const wallUs =
    window === undefined
      ? profile.endTime - profile.startTime
      : Math.max(0, Math.min(window.toUs, profile.endTime) - Math.max(window.fromUs, profile.startTime));
  return {
    wallUs,
    busyUs: wallUs - idleUs,
    byCategory,
    topSelf: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, us]) => ({ frame, us })),
  };
}

/** `node bench/lib/cpu-profile.ts FILE…`: prints each profile's summary. */
if (import.meta.main) {
  for (const path of process.argv.slice(2)) {
    const summary = summarizeProfile(path);
    const pct = (us: number) => `${((100 * us) / summary.busyUs).toFixed(1)}%`;
    console.log(
      `${path}: wall ${(summary.wallUs / 1e6).toFixed(1)} s, busy ${(summary.busyUs / 1e6).toFixed(1)} s`,
    );
    for (const category of CATEGORIES)
      console.log(`  ${category.padEnd(14)} ${pct(summary.byCategory[category]).padStart(6)}`);
    for (const { frame, us } of summary.topSelf) console.log(`    ${pct(us).padStart(6)}  ${frame}`);
  }
}
