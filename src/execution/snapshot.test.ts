/**
 * Engine snapshots: a restored engine has the same root and the same future (roots, events and
 * results at every later height, settlement from samples taken before the snapshot included), the
 * bytes are canonical, and bad bytes are typed errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError } from '../codec/errors.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { createEngine, type Engine, restoreEngine, SnapshotError } from './engine.ts';
import { btcSeries, createMixedWorkload, createSeededRandom, testGenesis, testSigner } from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { Block, BlockResult } from './types.ts';

const START = Date.UTC(2026, 0, 1);
const traders = Array.from({ length: 6 }, (_, i) => testSigner(`snapshot-${i}`));
// Two series expire 150 s in, after the snapshot at height 100: they settle on samples from before it.
const genesis = testGenesis({
  startTimeMs: START,
  traders,
  balanceUsdc: 200_000,
  insuranceFundUsdc: 1_000,
  series: [
    btcSeries(true, 60_000, START + 150_000),
    btcSeries(false, 60_000, START + 150_000),
    btcSeries(true, 62_000, START + 7 * MS_PER_DAY),
    btcSeries(false, 58_000, START + 7 * MS_PER_DAY),
  ],
});

function blocksFrom(
  engine: Engine,
  count: number,
  seed: number,
): { blocks: Block[]; results: BlockResult[] } {
  const workload = createMixedWorkload({
    seed,
    traders,
    seriesIds: [1, 2, 3, 4],
    transactionsPerBlock: 10,
    moveBps: 60,
  });
  const blocks: Block[] = [];
  const results: BlockResult[] = [];
  for (let i = 0; i < count; i++) {
    const block = workload.nextBlock(engine);
    blocks.push(block);
    results.push(engine.applyBlock(block));
  }
  return { blocks, results };
}

test('a restored engine has the same root and the same future: roots, events and results at every height', () => {
  const original = createEngine(genesis);
  blocksFrom(original, 100, 7);
  const bytes = original.snapshot();
  const restored = restoreEngine(bytes, genesis);
  assert.ok(bytesEqual(restored.stateRoot(), original.stateRoot()));
  assert.equal(restored.height, 100);
  assert.deepEqual(restored.accounts(), original.accounts());
  assert.deepEqual(restored.series(), original.series());
  assert.deepEqual(restored.ledger(), original.ledger());
  // Canonical: the restored engine's snapshot is the same bytes.
  assert.ok(bytesEqual(restored.snapshot(), bytes));

  const { blocks, results } = blocksFrom(original, 120, 8);
  const kinds = new Set<string>();
  blocks.forEach((block, i) => {
    const expected = results[i]!;
    const actual = restored.applyBlock(block);
    assert.equal(
      toHex(actual.stateRoot),
      toHex(expected.stateRoot),
      `root differs at height ${block.height}`,
    );
    assert.equal(
      toHex(actual.eventsHash),
      toHex(expected.eventsHash),
      `events differ at height ${block.height}`,
    );
    assert.deepEqual(actual.results, expected.results, `results differ at height ${block.height}`);
    assert.deepEqual(actual.events, expected.events);
    for (const event of expected.events) kinds.add(event.type);
  });
  // The future compared includes fills against orders that rested before the snapshot and the
  // settlement of series whose TWAP window began before it.
  for (const kind of ['fill', 'cancel', 'settlement', 'positionSettled'])
    assert.ok(kinds.has(kind), `no ${kind} after the snapshot: ${[...kinds].join(' ')}`);
  assert.ok(bytesEqual(restored.snapshot(), original.snapshot()));
});

test('snapshots taken at every 25th height restore to engines that follow the original', () => {
  const original = createEngine(genesis);
  const workload = createMixedWorkload({
    seed: 11,
    traders,
    seriesIds: [1, 2, 3, 4],
    transactionsPerBlock: 8,
  });
  const replicas: Engine[] = [];
  for (let height = 1; height <= 200; height++) {
    const block = workload.nextBlock(original);
    const result = original.applyBlock(block);
    for (const replica of replicas) {
      const own = replica.applyBlock(block);
      assert.ok(bytesEqual(own.stateRoot, result.stateRoot), `replica root differs at ${height}`);
      assert.ok(bytesEqual(own.eventsHash, result.eventsHash));
    }
    if (height % 25 === 0) replicas.push(restoreEngine(original.snapshot()));
  }
});

test('bad snapshot bytes are typed errors: CodecError when they do not decode, SnapshotError when they do not fit', () => {
  const engine = createEngine(genesis);
  blocksFrom(engine, 30, 3);
  const bytes = engine.snapshot();
  assert.throws(() => restoreEngine(bytes.subarray(0, bytes.length - 1)), CodecError);
  assert.throws(() => restoreEngine(new Uint8Array([1, 3, 0x30])), CodecError);
  assert.throws(() => restoreEngine(new Uint8Array(0)), CodecError);
  const otherChain = testGenesis({ startTimeMs: START, traders, chainId: 8 });
  assert.throws(
    () => restoreEngine(bytes, otherChain),
    (error) => error instanceof SnapshotError && error.code === 'GENESIS_MISMATCH',
  );
  // Any single flipped byte: refused with a typed error, or (a byte the root does not cover, such as
  // a parameter compared with no genesis) restored to the same root.
  const random = createSeededRandom(99);
  const codes = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const mutated = bytes.slice();
    const at = random.below(mutated.length);
    mutated[at] = mutated[at]! ^ (1 + random.below(255));
    try {
      const restored = restoreEngine(mutated, genesis);
      assert.ok(
        bytesEqual(restored.stateRoot(), engine.stateRoot()),
        `byte ${at} changed the state silently`,
      );
      codes.set('restored', (codes.get('restored') ?? 0) + 1);
    } catch (error) {
      assert.ok(error instanceof CodecError || error instanceof SnapshotError, `untyped error: ${error}`);
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
  }
  assert.ok((codes.get('STATE_ROOT_MISMATCH') ?? 0) > 0, [...codes].join(' '));
});
