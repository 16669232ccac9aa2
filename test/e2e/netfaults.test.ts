/**
 * Network faults with real processes: four validators (`palisade node`), each in its own Linux
 * network namespace (netns.ts builds them with `ip`; root is needed, and without it every test
 * here says why and skips). The tests run in order on one network:
 *
 * 1. Partition 2 + 2 for 30 s: validators 2 and 3's data links move to a second bridge, so each
 *    side reaches only itself; packets across are lost, not refused. Neither side has the 2f + 1 =
 *    3 votes a certificate needs: no height advances during it, and after the heal all four hold
 *    the same hash at every height. Healed, finality resumes within 5 s.
 * 2. A clock 10 s ahead: validator 3 restarted with PALISADE_CLOCK_OFFSET_MS=10000 (its wall clock
 *    only; timers are monotonic and unaffected). Its proposals carry times 10 s ahead, which the
 *    others refuse as more than `maxFutureBlockMs` (2 s) in the future, so the views it leads are
 *    nullified; it still verifies and votes on the others' blocks. Finality continues, no block it
 *    proposed is finalized while skewed, nothing diverges; with its clock right again its blocks
 *    are finalized again.
 * 3. Isolation beyond the catch-up window: validator 3's data link alone on the second bridge
 *    until the others are more than `stateSyncThresholdBlocks` (20 here) ahead and hold a
 *    snapshot above its height; healed, it state-syncs (snapshot checked against the root a
 *    finalized block commits to), block-syncs the rest and agrees with the others.
 * 4. Delay and loss: 200 ± 50 ms one-way on every link with 5% loss. With `tc netem` in the
 *    kernel (probed once), a netem qdisc on every validator's data link does it: real packet delay
 *    and real packet loss, which the kernel's TCP retransmits. Without it (this machine's kernel
 *    has no netem), the delay is emulated in userspace: every validator pair talks through a TCP
 *    relay in this process (the validators dial it through `peers`), which holds each chunk it
 *    forwards for 150–250 ms, in order, and holds 5% of chunks a further 200–400 ms, the
 *    retransmission timeout after which TCP resends a lost segment, with everything behind it
 *    waiting (head-of-line blocking), which is what loss costs a TCP stream. The baseline is
 *    measured on the same network and route with no delay, so the comparison is the delay alone.
 *    The finality latency in `/metrics` runs from a node first seeing a proposal (the leader:
 *    making it) to finalizing it: three one-way hops for the leader (proposal, notarize votes,
 *    finalize votes), two for the others, so over the four nodes 2.25 hops per block on average.
 *    The rise over the baseline must be at least that many minimum hop delays (150 ms) on
 *    average, and two of them on every node.
 * The seed of the relays' delays is printed; PALISADE_NETFAULTS_SEED replays it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, waitFor } from './harness.ts';
import { type NetnsNetwork, NO_DELAY, namespacesUnavailable, startNetnsNetwork } from './netns.ts';

const ALL = [0, 1, 2, 3];
/** A validator more than this many blocks behind state-syncs (set in every config). */
const STATE_SYNC_THRESHOLD_BLOCKS = 20;
/** The application's snapshot interval and the lag at which a block commits to a state root (app.ts). */
const SNAPSHOT_INTERVAL_BLOCKS = 100;
const STATE_ROOT_LAG_BLOCKS = 16;
let net: NetnsNetwork | undefined;
let unavailable: string | undefined;

before(async () => {
  unavailable = await namespacesUnavailable();
  if (unavailable !== undefined) {
    console.log(`netfaults: skipped: ${unavailable}`);
    return;
  }
  net = await startNetnsNetwork({
    leaderTimeoutMs: 1000,
    stateSyncThresholdBlocks: STATE_SYNC_THRESHOLD_BLOCKS,
  });
  console.log(
    `netfaults: ${net.netem ? 'tc netem is in this kernel: delays on the data links' : 'no tc netem in this kernel: delays from relays'}`,
  );
  console.log(`netfaults: network in ${net.directory}, relay seed ${net.seed} (PALISADE_NETFAULTS_SEED)`);
});
after(async () => {
  await net?.close();
});

function network(): NetnsNetwork {
  assert.ok(net !== undefined);
  return net;
}

async function heightsOf(indexes: readonly number[]): Promise<number[]> {
  const heights = await network().heights();
  return indexes.map((index) => heights[index] ?? -1);
}

async function minHeight(indexes: readonly number[] = ALL): Promise<number> {
  return Math.min(...(await heightsOf(indexes)));
}

async function maxHeight(indexes: readonly number[] = ALL): Promise<number> {
  return Math.max(...(await heightsOf(indexes)));
}

/** Lowest height every validator stores (a state-synced validator has nothing below its snapshot). */
let commonFrom = 1;

async function assertSameHashes(from: number, to: number): Promise<void> {
  from = Math.max(from, commonFrom);
  const lists = await Promise.all(
    ALL.map(async (index) =>
      (await network().hashes(index, from, to)).map(
        (block) => `${block.height}:${block.hash}:${block.stateRoot}`,
      ),
    ),
  );
  assert.equal(lists[0]!.length, to - from + 1, `validator 0 has every block ${from}..${to}`);
  for (const [index, list] of lists.entries())
    assert.deepEqual(list, lists[0], `validator ${index} agrees with 0`);
}

test('a 2 + 2 partition for 30 s: no finality, no divergence; healed, finality resumes within 5 s', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  await waitFor(async () => (await minHeight()) >= 3, 'all four finalizing', 60_000);
  await network().partition([2, 3]);
  const partitionedAt = Date.now();
  // Votes already in flight may still finalize a block; after that nothing can.
  await sleep(2000);
  const stalled = await heightsOf(ALL);
  while (Date.now() - partitionedAt < 30_000) {
    await sleep(1000);
    assert.deepEqual(await heightsOf(ALL), stalled, 'no validator finalizes during the partition');
  }
  await network().heal();
  const highest = Math.max(...stalled);
  await waitFor(async () => (await maxHeight()) > highest, 'a block finalized after the heal', 5000);
  await waitFor(async () => (await minHeight()) >= highest + 3, 'all four finalizing again', 30_000);
  await assertSameHashes(1, await minHeight());
});

test('a validator whose clock is 10 s ahead: its blocks are refused, finality continues, nothing diverges', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  await network().stop(3);
  await network().start(3, { PALISADE_CLOCK_OFFSET_MS: '10000' });
  const from = (await maxHeight()) + 1;
  await waitFor(
    async () => (await minHeight()) >= from + 15,
    'fifteen blocks with a skewed validator',
    60_000,
  );
  const to = await minHeight();
  await assertSameHashes(1, to);
  const blocks = await network().hashes(0, from, to);
  const proposers = blocks.map((block) => block.proposer);
  assert.ok(!proposers.includes(3), `blocks proposed by the skewed validator were finalized: ${proposers}`);
  // Its clock set right, its proposals are accepted again.
  await network().stop(3);
  await network().start(3);
  const after = (await maxHeight()) + 1;
  await waitFor(
    async () => {
      const top = await minHeight();
      return top >= after && (await network().hashes(0, after, top)).some((block) => block.proposer === 3);
    },
    'a block of validator 3 finalized with its clock right',
    60_000,
  );
  await assertSameHashes(1, await minHeight());
});

test('a validator isolated for longer than its catch-up window: healed, it catches up by state sync', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const isolatedAt = (await network().status(3))?.height ?? 0;
  await network().partition([3]);
  const survivors = [0, 1, 2];
  // Isolated until the others hold a snapshot above its height whose root a finalized block
  // covers, and are far more than the window ahead.
  const snapshotAbove = Math.ceil((isolatedAt + 1) / SNAPSHOT_INTERVAL_BLOCKS) * SNAPSHOT_INTERVAL_BLOCKS;
  const isolatedUntil = Math.max(
    snapshotAbove + STATE_ROOT_LAG_BLOCKS + 4,
    isolatedAt + 2 * STATE_SYNC_THRESHOLD_BLOCKS,
  );
  await waitFor(
    async () => (await minHeight(survivors)) >= isolatedUntil,
    `the others at ${isolatedUntil}`,
    240_000,
  );
  assert.ok(
    ((await network().status(3))?.height ?? 0) <= isolatedAt + 2,
    'the isolated validator finalized nothing',
  );
  await network().heal();
  const healedMs = Date.now();
  await waitFor(
    async () => {
      const [isolated, other] = await Promise.all([network().status(3), network().status(0)]);
      return (
        isolated !== undefined &&
        other !== undefined &&
        isolated.sync.stateSyncs >= 1 &&
        isolated.height + 2 >= other.height
      );
    },
    'validator 3 to state-sync and catch up',
    120_000,
  );
  const status = (await network().status(3))!;
  console.log(
    `netfaults: isolated at ${isolatedAt}, healed with the others at ${isolatedUntil}+; state-synced at ${status.sync.stateSyncHeight}, caught up to ${status.height} ${Date.now() - healedMs} ms after the heal`,
  );
  const syncedAt = status.sync.stateSyncHeight;
  assert.ok(syncedAt !== null && syncedAt > isolatedAt, `state-synced at ${syncedAt}, above ${isolatedAt}`);
  commonFrom = syncedAt + 1;
  await assertSameHashes(commonFrom, await minHeight());
});

test('200 ± 50 ms delay with 5% loss on every link: finality continues and its latency rises accordingly', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const nodes = network();
  if (!nodes.netem) {
    await Promise.all(ALL.map((index) => nodes.stop(index)));
    nodes.useRelays(true);
    await Promise.all(ALL.map((index) => nodes.start(index)));
  }
  await nodes.setProfile(NO_DELAY);
  const startHeight = await maxHeight();
  await waitFor(async () => (await minHeight()) >= startHeight + 3, 'finality on the links to delay', 60_000);

  /** Mean finality latency per node (seconds) over `blocks` more blocks. */
  const measure = async (blocks: number, what: string): Promise<number[]> => {
    const before = await Promise.all(ALL.map((index) => nodes.finality(index)));
    const target = (await maxHeight()) + blocks;
    await waitFor(async () => (await minHeight()) >= target, what, 120_000);
    const afterwards = await Promise.all(ALL.map((index) => nodes.finality(index)));
    return ALL.map((index) => {
      const count = afterwards[index]!.count - before[index]!.count;
      assert.ok(count > 0, `validator ${index} observed finality latencies`);
      return (afterwards[index]!.sumSeconds - before[index]!.sumSeconds) / count;
    });
  };

  const baseline = await measure(20, 'twenty blocks without delay');
  const delay = { delayMs: 200, jitterMs: 50, lossRate: 0.05, retransmitMinMs: 200, retransmitMaxMs: 400 };
  await nodes.setProfile(delay);
  // Let what was in flight without delay land before measuring.
  await sleep(3000);
  const delayed = await measure(10, 'ten blocks with delay and loss');
  const format = (values: number[]) => values.map((seconds) => `${Math.round(seconds * 1000)}`).join(', ');
  console.log(`netfaults: finality latency per validator without delay (ms): ${format(baseline)}`);
  console.log(
    `netfaults: finality latency per validator with 200 ± 50 ms and 5% loss (ms): ${format(delayed)}`,
  );
  const minimumHopS = (delay.delayMs - delay.jitterMs) / 1000;
  const rises = ALL.map((index) => delayed[index]! - baseline[index]!);
  const meanRise = rises.reduce((sum, rise) => sum + rise, 0) / rises.length;
  console.log(
    `netfaults: mean rise ${Math.round(meanRise * 1000)} ms (bound ${Math.round(2.25 * minimumHopS * 1000)} ms)`,
  );
  assert.ok(meanRise >= 2.25 * minimumHopS, `mean rise ${meanRise} s`);
  for (const [index, rise] of rises.entries())
    assert.ok(rise >= 2 * minimumHopS, `validator ${index} rose ${rise} s`);
  await nodes.setProfile(NO_DELAY);
  await assertSameHashes(1, await minHeight());
});
