/**
 * State sync across validator-set changes (issue 11: votes and certificates of epoch e are checked
 * against epoch e's set). The chain: five validators, epochs of 20 blocks, governance removes
 * validator 0 at height 2, so boundary 20 hands over to validators 1..4; boundary 40 changes
 * nothing. An asker that executed up to height 10 knows the five; the offer's certificate (block
 * 58) is the four's.
 *
 * The attacks, each refused:
 *   - the old set signing past its epoch: the removed validator and three others, a quorum of the
 *     five, certify the offered chain (what a check against the genesis set accepted);
 *   - the boundary left out, so the asker would check the old set;
 *   - a boundary proven by another boundary's record, by a record the attacker rewrote to name its
 *     own keys, or by a certificate of the new set instead of the outgoing one;
 *   - a boundary the asker does not need (it already executed it) added to the offer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockCodec, type Certificate, CertificateCodec } from '../codec/consensus.ts';
import { ValidatorSetRecordCodec } from '../codec/execution.ts';
import { peekTag } from '../codec/message.ts';
import {
  type BoundaryProof,
  SnapshotChunkCodec,
  type SnapshotOffer,
  SnapshotOfferCodec,
  SnapshotOfferRequestCodec,
} from '../codec/node.ts';
import { verifyCertificate } from '../consensus/certificate.ts';
import type { SyncStatus } from '../consensus/engine.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { testSigner } from '../execution/fixtures.ts';
import type { SqliteStorage } from '../runtime/real/storage.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { type NodeApplication, STATE_ROOT_LAG_BLOCKS } from './app.ts';
import { finalized, honestChain } from './epoch-chain-fixtures.ts';
import {
  BOUNDARY_VIEW_PREFIX,
  boundaryProofOf,
  createStateSync,
  type OfferTrust,
  provenBoundaryView,
  verifyOffer,
} from './state-sync.ts';
import { certificateFromJson } from './view.ts';

const EPOCH = 20;
const five = Array.from({ length: 5 }, (_, i) => testSigner(`sync-set-validator-${i}`));
const chain = honestChain(70, {
  signers: five,
  epochBlocks: EPOCH,
  change: { atHeight: 2, op: 'remove', signer: five[0]! },
});
const keysOf = (signers: readonly { publicKey: Uint8Array }[]) => signers.map((s) => s.publicKey);
const bytes = (text: string) => fromHex(text)!;
const certificateAt = (height: number): Certificate =>
  certificateFromJson(chain.details[height - 1]!.finalization);

/** What the chain's own node serves for boundary `height` (the finality proof and recorded proof). */
const servedBoundary = (height: number): BoundaryProof =>
  boundaryProofOf(
    {
      finalityProof: (h) => ({
        height: h,
        hash: bytes(chain.details[h - 1]!.hash),
        block: BlockCodec.encode(chain.blockOf.get(h)!),
        certificate: certificateAt(h),
        descendants: [],
      }),
    },
    chain.proofs,
    height,
  )!;

const SNAPSHOT = 42;
const CERTIFIED = SNAPSHOT + STATE_ROOT_LAG_BLOCKS;
/** The offer of snapshot `snapshot`: its blocks up to a lag above it, certified by that block's own. */
const offerFor = (
  boundaries: BoundaryProof[],
  finalization?: Certificate,
  snapshot = SNAPSHOT,
): SnapshotOffer => ({
  height: snapshot,
  snapshotBytes: 1,
  snapshotHash: new Uint8Array(32),
  blocks: Array.from({ length: STATE_ROOT_LAG_BLOCKS + 1 }, (_, i) =>
    BlockCodec.encode(chain.blockOf.get(snapshot + i)!),
  ),
  finalization: CertificateCodec.encode(finalization ?? certificateAt(snapshot + STATE_ROOT_LAG_BLOCKS)),
  boundaries,
});
/** Snapshot 22 (certified at 38): boundary 20 is the only one to prove, so nothing after it checks it again. */
const onlyTwenty = (boundary: BoundaryProof) => offerFor([boundary], undefined, 22);
const atTen: OfferTrust = { processedHeight: 10, epoch: 1, epochBlocks: EPOCH, keys: keysOf(five) };
const honest = offerFor([servedBoundary(20), servedBoundary(40)]);

test('an asker behind a set change follows the boundaries to the set that certified the offer', () => {
  const check = verifyOffer(honest, atTen, chain.chainId);
  assert.equal(check.status, 'valid');
  if (check.status !== 'valid') return;
  // Boundary 20 changed the set (scheduled from the view after block 20's); 40 changed nothing.
  assert.equal(check.offer.epochs.length, 1);
  const [epoch] = check.offer.epochs;
  assert.equal(epoch!.epoch, 2);
  assert.equal(epoch!.boundaryHeight, 20);
  assert.equal(epoch!.firstView, chain.blockOf.get(20)!.view + 1);
  assert.deepEqual(epoch!.validators.publicKeys.map(toHex), keysOf(five.slice(1)).map(toHex));
  assert.equal(toHex(check.offer.committedRoot), toHex(chain.roots.get(SNAPSHOT)!));
});

test('the old set signing past its epoch (the removed validator among a quorum of the five) is refused', () => {
  const byOldSet = certificateFromJson(
    finalized(chain.chainId, chain.blockOf.get(CERTIFIED)!, five.slice(0, 4), [0, 1, 2, 3]).finalization,
  );
  // What the genesis-set check accepted: a quorum of the five over the offered block.
  assert.ok(verifyCertificate(createValidatorSet(keysOf(five)), chain.chainId, byOldSet));
  assert.deepEqual(
    verifyOffer(offerFor([servedBoundary(20), servedBoundary(40)], byOldSet), atTen, chain.chainId),
    {
      status: 'invalid',
      reason: 'bad-certificate',
    },
  );
});

test('a boundary left out, or proven by another boundary, a rewritten record or the wrong set, is refused', () => {
  const refused = (offer: SnapshotOffer) => verifyOffer(offer, atTen, chain.chainId);
  const badBoundary = { status: 'invalid', reason: 'bad-boundary' };
  const genuine = servedBoundary(20);
  const at40 = servedBoundary(40);
  assert.equal(refused(onlyTwenty(genuine)).status, 'valid');
  // Left out: the asker would check the offer against the five.
  assert.deepEqual(refused(offerFor([at40])), badBoundary);
  assert.deepEqual(refused(offerFor([])), badBoundary);
  assert.deepEqual(refused(offerFor([], undefined, 22)), badBoundary);
  // Boundary 20's block and certificate, boundary 40's record: its opening is another root.
  const mixed = {
    ...genuine,
    engineStateRoot: at40.engineStateRoot,
    prices: at40.prices,
    record: at40.record,
    proof: at40.proof,
  };
  assert.deepEqual(refused(onlyTwenty(mixed)), badBoundary);
  assert.deepEqual(refused(offerFor([mixed, at40])), badBoundary);
  // The record rewritten to hand over to keys the attacker holds: its state proof fails.
  const record = ValidatorSetRecordCodec.decode(genuine.record);
  const thieves = Array.from({ length: 4 }, (_, i) => testSigner(`sync-thief-${i}`));
  const rewritten = ValidatorSetRecordCodec.encode({
    ...record,
    members: record.members.map((m, i) => ({
      ...m,
      publicKey: i === 0 ? m.publicKey : thieves[i % 4]!.publicKey,
    })),
  });
  assert.deepEqual(refused(onlyTwenty({ ...genuine, record: rewritten })), badBoundary);
  // Boundary 20 certified by the four (the incoming set) instead of the five that must sign it.
  const byNewSet = finalized(chain.chainId, chain.blockOf.get(20)!, five.slice(1, 4), [0, 1, 2]).finalization;
  const wrongSigners = { ...genuine, finalization: CertificateCodec.encode(certificateFromJson(byNewSet)) };
  assert.deepEqual(refused(onlyTwenty(wrongSigners)), badBoundary);
  // Out of order.
  assert.deepEqual(refused(offerFor([at40, genuine])), badBoundary);
});

test('an asker past the boundary needs none and trusts its own set; an extra boundary is refused', () => {
  const atTwentyFive: OfferTrust = {
    processedHeight: 25,
    epoch: 2,
    epochBlocks: EPOCH,
    keys: keysOf(five.slice(1)),
  };
  const check = verifyOffer(offerFor([servedBoundary(40)]), atTwentyFive, chain.chainId);
  assert.equal(check.status, 'valid');
  assert.deepEqual(check.status === 'valid' ? check.offer.epochs : undefined, []);
  assert.deepEqual(verifyOffer(honest, atTwentyFive, chain.chainId), {
    status: 'invalid',
    reason: 'bad-boundary',
  });
  // An asker that believes the five still hold epoch 2 is not this chain's: the record disagrees.
  const confused: OfferTrust = { ...atTwentyFive, keys: keysOf(five.slice(0, 4)) };
  assert.deepEqual(verifyOffer(offerFor([servedBoundary(40)]), confused, chain.chainId), {
    status: 'invalid',
    reason: 'bad-boundary',
  });
});

test('a proven boundary view is kept under its own key and read back; anything else reads as none', () => {
  const store = new Map<string, Uint8Array>();
  const view = new Uint8Array(8);
  new DataView(view.buffer).setBigUint64(0, 1234n, false);
  store.set(`${BOUNDARY_VIEW_PREFIX}${(600).toString(16).padStart(13, '0')}`, view);
  const storage = { get: (key: string) => store.get(key) };
  assert.equal(provenBoundaryView(storage, 600), 1234);
  assert.equal(provenBoundaryView(storage, 1200), undefined);
  store.set(`${BOUNDARY_VIEW_PREFIX}${(1200).toString(16).padStart(13, '0')}`, new Uint8Array(3));
  assert.equal(provenBoundaryView(storage, 1200), undefined, 'a torn value is no view');
});

test('installing a snapshot across a set change schedules the proven epoch on consensus and keeps its view', async () => {
  const scheduler = new Scheduler();
  const clock = scheduler.clockFor();
  const snapshot = new Uint8Array(1000).fill(7);
  const offer = { ...honest, snapshotBytes: snapshot.length, snapshotHash: sha256(snapshot) };
  const sent: { to: number; tag: number }[] = [];
  const scheduled: { epoch: number; firstView: number; keys: string[] }[] = [];
  const installed: number[] = [];
  const kv = new Map<string, Uint8Array>();
  let latestEpoch = 1;
  const app = {
    processedHeight: () => 10,
    snapshotHeights: () => [] as number[],
    snapshotBytes: () => undefined,
    finalityProof: () => undefined,
    installSnapshot: (_bytes: Uint8Array, proof: { block: { height: number } }) => {
      installed.push(proof.block.height);
      return { status: 'installed' as const, height: proof.block.height };
    },
  } as unknown as NodeApplication;
  const status: SyncStatus = {
    finalizedHeight: 10,
    targetHeight: 70,
    rangeSyncing: false,
    rangeSyncedBlocks: 0,
  };
  const sync = createStateSync({
    chainId: chain.chainId,
    followedSet: () => atTen,
    boundaryProof: () => undefined,
    peers: 5,
    self: 0,
    app,
    storage: {
      finalizedBlock: () => undefined,
      put: (key: string, value: Uint8Array) => kv.set(key, value),
      get: (key: string) => kv.get(key),
      sync: async () => {},
    } as unknown as SqliteStorage,
    consensus: {
      syncStatus: () => status,
      installFinalizedTip: () => true,
      epochAt: () => ({ epoch: latestEpoch }),
      scheduleEpoch: (next) => {
        scheduled.push({
          epoch: next.epoch,
          firstView: next.firstView,
          keys: next.validators.publicKeys.map(toHex),
        });
        latestEpoch = next.epoch;
      },
      declineStateSync: () => {},
    },
    send: (to, message) => sent.push({ to, tag: peekTag(message) }),
    clock,
    thresholdBlocks: 20,
    pollMs: 100,
    requestTimeoutMs: 1000,
  });
  sync.start();
  scheduler.step(scheduler.now() + 150);
  const asked = sent.find((s) => s.tag === SnapshotOfferRequestCodec.tag)!;
  assert.equal(sync.receive(asked.to, SnapshotOfferCodec.encode(offer)), 'accept');
  assert.equal(
    sync.receive(asked.to, SnapshotChunkCodec.encode({ height: SNAPSHOT, index: 0, data: snapshot })),
    'accept',
  );
  for (let i = 0; i < 10 && installed.length === 0; i++)
    await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(installed, [SNAPSHOT]);
  assert.deepEqual(scheduled, [
    { epoch: 2, firstView: chain.blockOf.get(20)!.view + 1, keys: keysOf(five.slice(1)).map(toHex) },
  ]);
  assert.equal(provenBoundaryView({ get: (key) => kv.get(key) }, 20), chain.blockOf.get(20)!.view);
  assert.equal(sync.status().installed, 1);
  sync.stop();
});
