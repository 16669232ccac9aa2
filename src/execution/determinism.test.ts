/**
 * The engine's behaviour, pinned: fuzzer episodes (src/execution/fuzz.ts) replayed block by block,
 * every state root and events hash folded into one digest per seed, and compared with the digests
 * committed in test/fixtures/engine/determinism.json. A refactor that changes no behaviour keeps
 * every digest; a deliberate change of behaviour or of the state's encoding regenerates the file
 * in the same commit and says so:
 *
 *   PALISADE_REGENERATE=1 node --test src/execution/determinism.test.ts
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { createEngine } from './engine.ts';
import { createEpisode, FUZZ_ENGINE_OPTIONS } from './fuzz.ts';

const FIXTURE = new URL('../../test/fixtures/engine/determinism.json', import.meta.url);
const SEEDS = [3, 11, 42] as const;
const BLOCKS = 2_000;
const CHECKPOINT_EVERY = 500;
/** The fuzzer's default episode shape (its `palisade fuzz engine` runs). */
const TRANSACTIONS_PER_BLOCK_MAX = 6;
const SERIES_PER_UNDERLYING = 3;

interface SeedDigest {
  /** SHA-256 over every block's state root ‖ events hash, in order. */
  digest: string;
  /** The state root every CHECKPOINT_EVERY blocks, to locate a divergence. */
  checkpoints: string[];
  /** SHA-256 of the final snapshot's bytes. */
  snapshotSha256: string;
  /** How many events of each type the episode produced: what the digest covers. */
  events: Record<string, number>;
}

function replay(seed: number): SeedDigest {
  const episode = createEpisode(seed, TRANSACTIONS_PER_BLOCK_MAX, SERIES_PER_UNDERLYING);
  const engine = createEngine(episode.genesis, FUZZ_ENGINE_OPTIONS);
  const hash = createHash('sha256');
  const checkpoints: string[] = [];
  const events: Record<string, number> = {};
  for (let b = 1; b <= BLOCKS; b++) {
    const block = episode.nextBlock(engine);
    const result = engine.applyBlock(block);
    hash.update(result.stateRoot);
    hash.update(result.eventsHash);
    for (const event of result.events) events[event.type] = (events[event.type] ?? 0) + 1;
    if (b % CHECKPOINT_EVERY === 0) checkpoints.push(toHex(result.stateRoot));
    episode.observe(engine, block, result);
  }
  const sorted = Object.fromEntries(Object.entries(events).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    digest: hash.digest('hex'),
    checkpoints,
    snapshotSha256: toHex(sha256(engine.snapshot())),
    events: sorted,
  };
}

test('fuzzer episodes reproduce the committed state roots, events and snapshots', () => {
  const actual: Record<string, SeedDigest> = {};
  for (const seed of SEEDS) actual[String(seed)] = replay(seed);
  if (process.env.PALISADE_REGENERATE === '1') {
    const file = {
      note: `Fuzzer episodes (src/execution/fuzz.ts createEpisode, ${TRANSACTIONS_PER_BLOCK_MAX} transactions a block at most, ${SERIES_PER_UNDERLYING} series per underlying), ${BLOCKS} blocks each. Regenerate only for a deliberate change of behaviour: PALISADE_REGENERATE=1 node --test src/execution/determinism.test.ts`,
      blocks: BLOCKS,
      seeds: actual,
    };
    writeFileSync(FIXTURE, `${JSON.stringify(file, null, 2)}\n`);
  }
  const expected = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { seeds: Record<string, SeedDigest> };
  for (const seed of SEEDS) {
    const want = expected.seeds[String(seed)];
    const got = actual[String(seed)]!;
    assert.ok(want !== undefined, `no digest committed for seed ${seed}`);
    assert.deepEqual(got.events, want.events, `seed ${seed}: other events`);
    assert.deepEqual(got.checkpoints, want.checkpoints, `seed ${seed}: other state roots`);
    assert.equal(got.digest, want.digest, `seed ${seed}: another root or events hash in some block`);
    assert.equal(got.snapshotSha256, want.snapshotSha256, `seed ${seed}: another snapshot`);
  }
  // The episodes must reach what the engine's hard paths do, or equal digests prove little.
  const total = (type: string) => SEEDS.reduce((sum, s) => sum + (actual[String(s)]!.events[type] ?? 0), 0);
  for (const type of [
    'fill',
    'liquidationStep',
    'settlement',
    'autoDeleverage',
    'backstopTaken',
    'circuitBreakerHalt',
    'callAuction',
  ])
    assert.ok(total(type) > 0, `no ${type} event in the fixture's episodes`);
});
