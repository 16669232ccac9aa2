/**
 * State sync and finality proofs through the real application, SQLite storage and consensus
 * engine (over the simulated clock and network, so the run is deterministic and fast):
 *
 * - a validator 50,000 blocks behind fetches a peer's snapshot, checks it against the state root a
 *   finalized block commits to, installs it, replays the rest by block sync, and ends with the same
 *   block hashes and state root as the peer;
 * - every height either node serves verifies with the shipped client's `verifyFinality`, most of
 *   them through the chain of descendants up to the certified block; a tampered chain is refused;
 * - a snapshot that does not match the committed root, and an offer whose certificate or chain is
 *   wrong, are refused and change nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BlockCodec } from '../codec/consensus.ts';
import { BlockPayloadCodec, type SnapshotOffer } from '../codec/node.ts';
import { NodeSnapshotCodec } from '../codec/snapshot.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { blockDigest } from '../consensus/votes.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { restoreEngine } from '../execution/engine.ts';
import { testGenesis } from '../execution/fixtures.ts';
import { openSqliteStorage, type SqliteStorage } from '../runtime/real/storage.ts';
import { SimNetwork } from '../runtime/sim/network.ts';
import { createSimRng } from '../runtime/sim/rng.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { createNodeApplication, type NodeApplication, nodeStateRoot, STATE_ROOT_LAG_BLOCKS } from './app.ts';
import {
  buildBareChain,
  buildFinalizedChain,
  runSimulationUntil,
  simulatedValidator,
} from './catchup-fixtures.ts';
import { verifyFinality } from './client.ts';
import { verifyOffer } from './state-sync.ts';
import { type BlockDetail, blockDetailOf } from './view.ts';

const CHAIN_ID = 7;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x50 + i)));
const keys = signers.map((signer) => signer.publicKey);
const validators = createValidatorSet(keys);
/** A chain without epochs, asked from genesis: one set, no boundaries to prove. */
const trust = { processedHeight: 0, epoch: 1, epochBlocks: 0, keys: validators.publicKeys };
const engineGenesis = testGenesis({ chainId: CHAIN_ID });
const wiring = { chainId: CHAIN_ID, validators, signers };
const root = mkdtempSync(join(tmpdir(), 'palisade-state-sync-'));
after(() => rmSync(root, { recursive: true, force: true }));

function openApp(name: string): { app: NodeApplication; storage: SqliteStorage } {
  const storage = openSqliteStorage({ dataDirectory: join(root, name), durability: 'off' });
  const app = createNodeApplication({
    chainId: CHAIN_ID,
    validators: keys,
    self: 0,
    engineGenesis,
    assets: [],
    storage,
    wallClock: () => engineGenesis.startTimeMs,
    monotonicClock: () => 0,
    observe: () => undefined,
    limits: { snapshotIntervalBlocks: 1000 },
  });
  app.open();
  return { app, storage };
}

/** Every height `app` serves, as the API would serve it. */
function servedBlocks(app: NodeApplication, from: number, to: number): BlockDetail[] {
  const out: BlockDetail[] = [];
  for (let height = from; height <= to; height++) {
    const summary = app.summary(height);
    const proof = app.finalityProof(height);
    assert.ok(summary !== undefined && proof !== undefined, `height ${height} is served`);
    out.push(blockDetailOf(summary, proof));
  }
  return out;
}

test('a validator 50,000 blocks behind catches up by state sync, then block sync: equal hashes and state roots', async () => {
  const length = 50_000;
  const snapshotHeight = length - 200;
  const source = openApp('source');
  // The first 49,800 blocks are executed by the execution engine alone (fast), the source
  // installs the resulting snapshot and executes the last 200 through the application.
  const bare = await buildBareChain({
    chainId: CHAIN_ID,
    validators,
    signers,
    engineGenesis,
    storage: source.storage,
    length: snapshotHeight,
    certifyEvery: 100,
  });
  const installed = source.app.installSnapshot(bare.snapshot, {
    block: bare.tip.block,
    digest: bare.tip.digest,
    certificate: bare.tip.finalization,
    committedRoot: bare.roots.get(snapshotHeight)!,
  });
  assert.deepEqual(installed, { status: 'installed', height: snapshotHeight });
  await source.storage.sync();
  const tail = await buildFinalizedChain({
    chainId: CHAIN_ID,
    validators,
    signers,
    app: source.app,
    storage: source.storage,
    length,
    certifyEvery: 10,
    startTimeMs: engineGenesis.startTimeMs,
    roots: bare.roots,
  });
  const digests = [...bare.digests, ...tail];
  assert.equal(digests.length, length);

  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, createSimRng(9), { latencyMs: 2, jitterMs: 0, lossPerMille: 0 });
  const peer = simulatedValidator({
    scheduler,
    endpoint: network.addEndpoint(0),
    self: 0,
    ...source,
    ...wiring,
    thresholdBlocks: 0,
  });
  const lagging = simulatedValidator({
    scheduler,
    endpoint: network.addEndpoint(1),
    self: 1,
    ...openApp('lagging'),
    ...wiring,
    thresholdBlocks: 1000,
  });
  await peer.consensus.start();
  peer.stateSync.start();
  await lagging.consensus.start();
  lagging.stateSync.start();

  await runSimulationUntil(scheduler, () => lagging.app.processedHeight() >= length);

  const status = lagging.stateSync.status();
  assert.equal(status.installed, 1, 'state synced once');
  assert.equal(status.lastHeight, snapshotHeight);
  // State sync instead of block sync: nothing below the snapshot was fetched or executed.
  assert.equal(lagging.storage.finalizedBlock(1), undefined);
  assert.equal(lagging.app.summary(snapshotHeight - 1), undefined);
  assert.equal(lagging.app.processedHeight(), length);
  assert.equal(lagging.consensus.status().finalizedHeight, length);
  assert.equal(toHex(lagging.app.tip().digest), toHex(digests[length - 1]!));
  assert.equal(toHex(lagging.consensus.status().finalizedDigest), toHex(digests[length - 1]!));
  assert.equal(toHex(lagging.app.engine.stateRoot()), toHex(source.app.engine.stateRoot()));
  assert.equal(toHex(lagging.app.stateRootAt(length)!), toHex(source.app.stateRootAt(length)!));
  for (let height = snapshotHeight; height <= length; height++) {
    const stored = lagging.storage.finalizedBlock(height);
    assert.ok(stored !== undefined, `height ${height} stored`);
    if (toHex(stored.hash) !== toHex(digests[height - 1]!)) assert.fail(`hash differs at ${height}`);
    assert.equal(lagging.app.summary(height)?.stateRoot, source.app.summary(height)?.stateRoot);
  }

  // Attack 7: every height either node serves verifies with the shipped client; nine blocks in
  // ten are finalized through a later block's certificate and verify through the hash chain.
  for (const node of [source.app, lagging.app]) {
    const served = servedBlocks(node, snapshotHeight + 1, length);
    assert.ok(served.filter((detail) => detail.descendants.length > 0).length >= served.length / 2);
    for (const detail of served) {
      if (!verifyFinality(detail, validators, CHAIN_ID))
        assert.fail(`height ${detail.height} does not verify`);
    }
  }
  lagging.stateSync.stop();
  lagging.consensus.stop();
  peer.stateSync.stop();
  peer.consensus.stop();
});

test('a tampered finality chain is refused by verifyFinality', async () => {
  const { app, storage } = openApp('tamper');
  await buildFinalizedChain({
    chainId: CHAIN_ID,
    validators,
    signers,
    app,
    storage,
    length: 30,
    certifyEvery: 10,
    startTimeMs: engineGenesis.startTimeMs,
  });
  const served = servedBlocks(app, 1, 30);
  for (const detail of served)
    assert.ok(verifyFinality(detail, validators, CHAIN_ID), `height ${detail.height}`);
  const detail = served[3]!;
  assert.equal(detail.descendants.length, 6, 'height 4 is certified through height 10');

  const tamperedBlock = BlockCodec.decode(Buffer.from(detail.descendants[2]!.slice(2), 'hex'));
  tamperedBlock.payload = tamperedBlock.payload.slice();
  tamperedBlock.payload[tamperedBlock.payload.length - 1]! ^= 1;
  const replaced = [...detail.descendants];
  replaced[2] = `0x${toHex(BlockCodec.encode(tamperedBlock))}`;
  const cases: [string, BlockDetail][] = [
    ['a descendant changed', { ...detail, descendants: replaced }],
    ['a descendant missing', { ...detail, descendants: detail.descendants.slice(0, -1) }],
    [
      'a descendant dropped from the middle',
      { ...detail, descendants: detail.descendants.filter((_, i) => i !== 1) },
    ],
    ['no descendants', { ...detail, descendants: [] }],
    ['another block’s certificate', { ...detail, finalization: served[19]!.finalization }],
    ['the block changed', { ...detail, encoded: served[4]!.encoded }],
  ];
  for (const [name, tampered] of cases)
    assert.equal(verifyFinality(tampered, validators, CHAIN_ID), false, name);
});

test('state sync refuses offers that do not prove their root, and snapshots that do not match it', async () => {
  const { app, storage } = openApp('offers');
  await buildFinalizedChain({
    chainId: CHAIN_ID,
    validators,
    signers,
    app,
    storage,
    length: 1100,
    certifyEvery: 10,
    startTimeMs: engineGenesis.startTimeMs,
  });
  const height = 1000;
  const blocks: Uint8Array[] = [];
  for (let k = height; k <= height + STATE_ROOT_LAG_BLOCKS + 4; k++)
    blocks.push(storage.finalizedBlock(k)!.block);
  const proof = app.finalityProof(height + STATE_ROOT_LAG_BLOCKS + 4)!;
  assert.equal(proof.descendants.length, 0, 'height 1020 has its own certificate');
  const snapshot = app.snapshotBytes(height)!;
  const offer: SnapshotOffer = {
    height,
    snapshotBytes: snapshot.length,
    snapshotHash: new Uint8Array(32),
    blocks,
    finalization: storage.finalizedBlock(height + STATE_ROOT_LAG_BLOCKS + 4)!.certificate,
    boundaries: [],
  };
  const good = verifyOffer(offer, trust, CHAIN_ID);
  assert.equal(good.status, 'valid');
  if (good.status !== 'valid') return;
  const decoded = NodeSnapshotCodec.decode(snapshot);
  const restoredRoot = restoreEngine(decoded.engine, engineGenesis).stateRoot();
  assert.equal(toHex(good.offer.committedRoot), toHex(nodeStateRoot(restoredRoot, decoded.prices)));
  assert.equal(toHex(good.offer.digest), toHex(blockDigest(BlockCodec.decode(blocks[0]!))));

  const otherCertificate = storage.finalizedBlock(height + 10)!.certificate;
  const swapped = [...blocks];
  [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
  assert.deepEqual(verifyOffer({ ...offer, finalization: otherCertificate }, trust, CHAIN_ID), {
    status: 'invalid',
    reason: 'bad-certificate',
  });
  assert.deepEqual(verifyOffer({ ...offer, blocks: swapped }, trust, CHAIN_ID), {
    status: 'invalid',
    reason: 'broken-chain',
  });
  assert.deepEqual(
    verifyOffer({ ...offer, blocks: blocks.slice(0, STATE_ROOT_LAG_BLOCKS) }, trust, CHAIN_ID),
    {
      status: 'invalid',
      reason: 'too-short',
    },
  );
  // The block a lag above the snapshot is the one that commits to its root.
  const committing = BlockPayloadCodec.decode(BlockCodec.decode(blocks[STATE_ROOT_LAG_BLOCKS]!).payload);
  assert.equal(committing.stateRootHeight, height);
  // An offer that names another height than its blocks start at is refused.
  assert.deepEqual(verifyOffer({ ...offer, height: height + 1 }, trust, CHAIN_ID), {
    status: 'invalid',
    reason: 'broken-chain',
  });

  // A snapshot whose engine state is right but whose oracle state is not (a price the committed
  // root does not cover), and the snapshot of another height, are refused; nothing changes.
  const fresh = openApp('offers-fresh');
  const forgedPrice = {
    assetId: 1,
    height,
    priceTicks: 1n,
    confidenceTicks: 0n,
    publishTimeMs: engineGenesis.startTimeMs,
    emaTicks: 1n,
    observationCount: 3,
    flags: 0,
  };
  const relabeled = NodeSnapshotCodec.encode({ ...decoded, prices: [forgedPrice] });
  const genesisState = NodeSnapshotCodec.encode({
    height,
    engine: fresh.app.engine.snapshot(),
    prices: [],
    pendingBatches: [],
    eons: [],
  });
  const before = toHex(fresh.app.engine.stateRoot());
  const refused = fresh.app.installSnapshot(relabeled, {
    block: good.offer.block,
    digest: good.offer.digest,
    certificate: good.offer.certificate,
    committedRoot: good.offer.committedRoot,
  });
  assert.deepEqual(refused, { status: 'refused', reason: 'root-mismatch' });
  const otherHeight = fresh.app.installSnapshot(genesisState, {
    block: good.offer.block,
    digest: good.offer.digest,
    certificate: good.offer.certificate,
    committedRoot: good.offer.committedRoot,
  });
  assert.deepEqual(otherHeight, { status: 'refused', reason: 'height-mismatch' });
  assert.equal(toHex(fresh.app.engine.stateRoot()), before);
  assert.equal(fresh.app.processedHeight(), 0);
  // The right snapshot installs.
  const accepted = fresh.app.installSnapshot(snapshot, {
    block: good.offer.block,
    digest: good.offer.digest,
    certificate: good.offer.certificate,
    committedRoot: good.offer.committedRoot,
  });
  assert.deepEqual(accepted, { status: 'installed', height });
  assert.equal(`0x${toHex(fresh.app.engine.stateRoot())}`, app.summary(height)!.stateRoot);
});
