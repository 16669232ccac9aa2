/**
 * Red team against state sync (src/node/state-sync.ts), as a Byzantine validator would attack a
 * validator that is far behind: the victim's driver runs over a simulated clock against peers this
 * test plays, with a genuine finalized chain (real application, SQLite, certificates) so that the
 * offers the attacker makes are the strongest it can make: real blocks and a real certificate, but
 * a snapshot of its own choosing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Block, BlockCodec, CertificateCodec, VoteKind } from '../codec/consensus.ts';
import type { ExecutionAction } from '../codec/execution.ts';
import { peekTag } from '../codec/message.ts';
import {
  BlockPayloadCodec,
  SNAPSHOT_CHUNK_BYTES,
  SnapshotChunkCodec,
  SnapshotChunkRequestCodec,
  type SnapshotOffer,
  SnapshotOfferCodec,
  SnapshotOfferRequestCodec,
} from '../codec/node.ts';
import { SNAPSHOT_MAX_BYTES } from '../codec/snapshot.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { certificateFromVotes } from '../consensus/certificate.ts';
import type { SyncStatus } from '../consensus/engine.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { blockDigest, signVote } from '../consensus/votes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { actionTransaction, GOVERNANCE, governed, OPERATOR, testGenesis } from '../execution/fixtures.ts';
import { openSqliteStorage, type SqliteStorage } from '../runtime/real/storage.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import type { PeerId } from '../runtime/types.ts';
import { createNodeApplication, type NodeApplication, STATE_ROOT_LAG_BLOCKS } from './app.ts';
import { buildFinalizedChain } from './catchup-fixtures.ts';
import { createStateSync, FETCH_MIN_BYTES_PER_SECOND, verifyOffer } from './state-sync.ts';

const CHAIN_ID = 7;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x60 + i)));
const keys = signers.map((signer) => signer.publicKey);
const validators = createValidatorSet(keys);
/** A chain without epochs, asked from genesis: one set, no boundaries to prove. */
const trust = { processedHeight: 0, epoch: 1, epochBlocks: 0, keys: validators.publicKeys };
const engineGenesis = testGenesis({ chainId: CHAIN_ID });
const root = mkdtempSync(join(tmpdir(), 'palisade-redteam-sync-'));
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
    limits: { snapshotIntervalBlocks: 100 },
  });
  app.open();
  return { app, storage };
}

let chains = 0;
/** A genuine chain of 140 finalized blocks with a snapshot at 100, and the honest offer for it. */
async function honestChain() {
  const { app, storage } = openApp(`chain-${++chains}`);
  await buildFinalizedChain({
    chainId: CHAIN_ID,
    validators,
    signers,
    app,
    storage,
    length: 140,
    certifyEvery: 10,
    startTimeMs: engineGenesis.startTimeMs,
  });
  const height = 100;
  const blocks: Uint8Array[] = [];
  const last = height + STATE_ROOT_LAG_BLOCKS + 4;
  for (let k = height; k <= last; k++) blocks.push(storage.finalizedBlock(k)!.block);
  const snapshot = app.snapshotBytes(height)!;
  const offer: SnapshotOffer = {
    height,
    snapshotBytes: snapshot.length,
    snapshotHash: sha256(snapshot),
    blocks,
    finalization: storage.finalizedBlock(last)!.certificate,
    boundaries: [],
  };
  assert.equal(verifyOffer(offer, trust, CHAIN_ID).status, 'valid');
  return { app, storage, offer, snapshot };
}

interface Sent {
  to: PeerId;
  tag: number;
  message: Uint8Array;
  atMs: number;
}

/** The victim: validator 0, at height 0, knowing of finalized height 100,000. */
function victim(scheduler: Scheduler) {
  const sent: Sent[] = [];
  const installs: number[] = [];
  let declined = 0;
  const clock = scheduler.clockFor();
  const fakeApp = {
    processedHeight: () => 0,
    snapshotHeights: () => [] as number[],
    snapshotBytes: () => undefined,
    finalityProof: () => undefined,
    installSnapshot: (_bytes: Uint8Array, proof: { block: Block }) => {
      installs.push(proof.block.height);
      return { status: 'refused' as const, reason: 'root-mismatch' as const };
    },
  } as unknown as NodeApplication;
  const status: SyncStatus = {
    finalizedHeight: 0,
    targetHeight: 100_000,
    rangeSyncing: false,
    rangeSyncedBlocks: 0,
  };
  const sync = createStateSync({
    chainId: CHAIN_ID,
    followedSet: () => trust,
    boundaryProof: () => undefined,
    peers: validators.size,
    self: 0,
    app: fakeApp,
    storage: { finalizedBlock: () => undefined, sync: async () => {} } as unknown as SqliteStorage,
    consensus: {
      syncStatus: () => status,
      installFinalizedTip: () => true,
      epochAt: () => ({ epoch: 1 }),
      scheduleEpoch: () => {},
      declineStateSync: () => {
        declined++;
      },
    },
    send: (to, message) => sent.push({ to, tag: peekTag(message), message, atMs: scheduler.now() }),
    clock,
    thresholdBlocks: 1000,
    pollMs: 1000,
    requestTimeoutMs: 2000,
  });
  return { sync, sent, installs, declined: () => declined, clock };
}

function runUntil(scheduler: Scheduler, untilMs: number, onStep?: () => void) {
  while (scheduler.step(untilMs)) onStep?.();
  scheduler.advanceTo(untilMs);
}

test('attack: a Byzantine peer that drips a 1 GiB claimed snapshot, one chunk just inside each timeout, cannot hold a validator in state sync for long', async () => {
  const { offer } = await honestChain();
  // The strongest lie: genuine blocks and certificate, but a snapshot of the maximum size whose
  // hash the liar chose (it will never match, but the victim learns that only at the end).
  const lie: SnapshotOffer = {
    ...offer,
    snapshotBytes: SNAPSHOT_MAX_BYTES,
    snapshotHash: new Uint8Array(32).fill(9),
  };
  assert.equal(verifyOffer(lie, trust, CHAIN_ID).status, 'valid', 'the offer itself proves its root');
  const scheduler = new Scheduler();
  const node = victim(scheduler);
  const chunk = new Uint8Array(SNAPSHOT_CHUNK_BYTES);
  let handled = 0;
  // Peer 1 is the liar; it answers its chunk requests 1.9 s late, always inside the 2 s timeout.
  const handle = () => {
    for (; handled < node.sent.length; handled++) {
      const { to, tag, message } = node.sent[handled]!;
      if (to !== 1) continue;
      if (tag === SnapshotOfferRequestCodec.tag)
        scheduler.schedule(10, () => node.sync.receive(1, SnapshotOfferCodec.encode(lie)));
      if (tag === SnapshotChunkRequestCodec.tag) {
        const { height, index } = SnapshotChunkRequestCodec.decode(message);
        // Never the last chunk: the test must not assemble a GiB.
        if ((index + 2) * SNAPSHOT_CHUNK_BYTES > SNAPSHOT_MAX_BYTES) continue;
        scheduler.schedule(1900, () =>
          node.sync.receive(1, SnapshotChunkCodec.encode({ height, index, data: chunk })),
        );
      }
    }
  };
  node.sync.start();
  // Within ten minutes of virtual time the victim must have left the liar and asked someone else.
  runUntil(scheduler, 10 * 60_000, handle);
  node.sync.stop();
  const chunkRequests = node.sent.filter((s) => s.to === 1 && s.tag === SnapshotChunkRequestCodec.tag);
  assert.ok(chunkRequests.length > 10, 'the liar was fetched from');
  const askedOthers = node.sent.filter((s) => s.to !== 1 && s.tag === SnapshotOfferRequestCodec.tag);
  assert.ok(
    askedOthers.length > 0,
    `after ${chunkRequests.length} dripped chunks (${Math.round(scheduler.now() / 1000)} s) the victim still fetches from the liar and asked nobody else`,
  );
  // The liar is dropped at the deadline: the request timeout plus 1 GiB at the minimum rate.
  const heldMs = askedOthers[0]!.atMs - chunkRequests[0]!.atMs;
  const deadlineMs = 2000 + (SNAPSHOT_MAX_BYTES * 1000) / FETCH_MIN_BYTES_PER_SECOND;
  assert.ok(heldMs <= deadlineMs + 2 * 2000, `held ${heldMs} ms, deadline ${deadlineMs} ms`);
  assert.equal(node.installs.length, 0);
});

test('attack: offers nobody asked for, from the wrong peer or replayed after the fetch started, are ignored', async () => {
  const { offer } = await honestChain();
  const scheduler = new Scheduler();
  const node = victim(scheduler);
  node.sync.start();
  runUntil(scheduler, 1000);
  const asked = node.sent.find((s) => s.tag === SnapshotOfferRequestCodec.tag);
  assert.ok(asked !== undefined);
  const stranger = ((asked.to + 1) % 3) + 1;
  assert.equal(node.sync.receive(stranger, SnapshotOfferCodec.encode(offer)), 'ignore');
  assert.equal(node.sync.status().phase, 'offer');
  assert.equal(node.sync.receive(asked.to, SnapshotOfferCodec.encode(offer)), 'accept');
  assert.equal(node.sync.status().phase, 'fetching');
  // A replay of the same offer, or a chunk from another peer, changes nothing.
  assert.equal(node.sync.receive(asked.to, SnapshotOfferCodec.encode(offer)), 'ignore');
  const data = new Uint8Array(Math.min(SNAPSHOT_CHUNK_BYTES, offer.snapshotBytes));
  assert.equal(
    node.sync.receive(stranger, SnapshotChunkCodec.encode({ height: offer.height, index: 0, data })),
    'ignore',
  );
  // A chunk of the wrong size from the peer itself is its fault.
  assert.equal(
    node.sync.receive(
      asked.to,
      SnapshotChunkCodec.encode({ height: offer.height, index: 0, data: data.subarray(1) }),
    ),
    'reject',
  );
  assert.equal(node.sync.status().phase, 'idle');
  node.sync.stop();
});

test('attack: f validators forge a chain whose committing block carries their root; a certificate of f signatures, repeated or not, is refused', async () => {
  const { offer } = await honestChain();
  const blocks = offer.blocks.map((bytes) => BlockCodec.decode(bytes));
  // Replace the committing block's root and rebuild the hash chain above it.
  const forged: Block[] = [];
  let parent =
    blocks[STATE_ROOT_LAG_BLOCKS - 1] === undefined
      ? new Uint8Array(32)
      : blockDigest(blocks[STATE_ROOT_LAG_BLOCKS - 1]!);
  for (let i = 0; i < blocks.length; i++) {
    if (i < STATE_ROOT_LAG_BLOCKS) {
      forged.push(blocks[i]!);
      continue;
    }
    let payload = blocks[i]!.payload;
    if (i === STATE_ROOT_LAG_BLOCKS) {
      const decoded = BlockPayloadCodec.decode(payload);
      payload = BlockPayloadCodec.encode({ ...decoded, stateRoot: new Uint8Array(32).fill(0xee) });
    }
    const block = { ...blocks[i]!, parent, payload };
    forged.push(block);
    parent = blockDigest(block);
  }
  const last = forged.at(-1)!;
  const digest = blockDigest(last);
  const liar = signers[1]!;
  const vote = signVote(liar, CHAIN_ID, { kind: VoteKind.finalize, view: last.view, digest, signerIndex: 1 });
  const base = { ...offer, blocks: forged.map((block) => BlockCodec.encode(block)) };
  for (const votes of [[vote], [vote, vote, vote]]) {
    const certificate = certificateFromVotes(VoteKind.finalize, last.view, digest, votes);
    const check = verifyOffer(
      { ...base, finalization: CertificateCodec.encode(certificate) },
      trust,
      CHAIN_ID,
    );
    // Too few signers is refused by the codec itself ('malformed'), repeated ones by the check.
    assert.equal(check.status, 'invalid');
    if (check.status === 'invalid')
      assert.ok(['malformed', 'bad-certificate'].includes(check.reason), check.reason);
  }
  // The genuine certificate over the honest tip does not cover the forged chain either.
  assert.deepEqual(verifyOffer(base, trust, CHAIN_ID), { status: 'invalid', reason: 'bad-certificate' });
  // Nor does a genuine certificate of another height (the honest chain's certificate at 110).
  const { storage } = await honestChain();
  const other = storage.finalizedBlock(110)!.certificate;
  assert.deepEqual(verifyOffer({ ...offer, finalization: other }, trust, CHAIN_ID), {
    status: 'invalid',
    reason: 'bad-certificate',
  });
});

test('attack: a Byzantine peer alternating chunk requests between the two kept snapshots cannot make the responder re-read and re-hash a snapshot per request', () => {
  const scheduler = new Scheduler();
  let reads = 0;
  const snapshots = new Map([
    [100, new Uint8Array(3 * SNAPSHOT_CHUNK_BYTES).fill(1)],
    [200, new Uint8Array(3 * SNAPSHOT_CHUNK_BYTES).fill(2)],
  ]);
  const responderApp = {
    processedHeight: () => 300,
    snapshotHeights: () => [100, 200],
    snapshotBytes: (height: number) => {
      reads++;
      return snapshots.get(height);
    },
  } as unknown as NodeApplication;
  const served: number[] = [];
  const responder = createStateSync({
    chainId: CHAIN_ID,
    followedSet: () => trust,
    boundaryProof: () => undefined,
    peers: validators.size,
    self: 0,
    app: responderApp,
    storage: { finalizedBlock: () => undefined, sync: async () => {} } as unknown as SqliteStorage,
    consensus: {
      syncStatus: () => ({
        finalizedHeight: 300,
        targetHeight: 300,
        rangeSyncing: false,
        rangeSyncedBlocks: 0,
      }),
      installFinalizedTip: () => true,
      epochAt: () => ({ epoch: 1 }),
      scheduleEpoch: () => {},
      declineStateSync: () => {},
    },
    send: (_to, message) => {
      if (peekTag(message) === SnapshotChunkCodec.tag) served.push(SnapshotChunkCodec.decode(message).height);
    },
    clock: scheduler.clockFor(),
    thresholdBlocks: 0,
  });
  responder.start();
  for (let i = 0; i < 32; i++)
    responder.receive(1, SnapshotChunkRequestCodec.encode({ height: i % 2 === 0 ? 100 : 200, index: i % 3 }));
  responder.stop();
  assert.equal(served.length, 32, 'every request within the budget is answered');
  assert.ok(reads <= 2, `${reads} snapshot reads (each also hashed) for 32 chunk requests`);
});

/** A signed transaction's encoding, as a client sends it. */
function encoded(signer: Parameters<typeof actionTransaction>[0], nonce: number, action: ExecutionAction) {
  return SignedTransactionCodec.encode(actionTransaction(signer, nonce, action, { chainId: CHAIN_ID }));
}

test('attack: governance is not locked out — its key has no record until its first action, and the mempool does not refuse it NO_ACCOUNT', () => {
  const { app } = openApp('governance');
  const result = app.mempool.admit(
    encoded(
      GOVERNANCE,
      0,
      governed({ kind: 'setMarkVol', value: { seriesId: 1, volBps: 6000 } }, { chainId: CHAIN_ID }),
    ),
    { height: 1, nowMs: 0 },
  );
  assert.equal(result.status, 'accepted', JSON.stringify(result));
});

test('attack: a stranger signing deposits with fresh keys (only the operator deposits) is refused NO_ACCOUNT and cannot keep the operator from onboarding anyone', () => {
  const { app } = openApp('newcomers');
  // The stranger: free keys, each signing a "deposit" to itself. The engine answers UNAUTHORIZED,
  // so none of this costs the stranger anything.
  let refusedJunk = 0;
  for (let i = 0; i < 400; i++) {
    const key = createEd25519Signer(
      new Uint8Array(32).fill(0).map((_, j) => (j === 0 ? 0xa0 : j === 1 ? i >> 8 : j === 2 ? i & 0xff : 1)),
    );
    const result = app.mempool.admit(
      encoded(key, 0, { kind: 'deposit', value: { account: key.publicKey, amount: 10 ** 12 } }),
      { height: 1, nowMs: 0 },
    );
    if (result.status === 'refused' && result.code === 'NO_ACCOUNT') refusedJunk++;
  }
  // The operator onboards a new trader in the same second.
  const trader = createEd25519Signer(new Uint8Array(32).fill(0x77));
  const onboarding = app.mempool.admit(
    encoded(OPERATOR, 0, { kind: 'deposit', value: { account: trader.publicKey, amount: 100_000_000 } }),
    { height: 1, nowMs: 0 },
  );
  assert.equal(refusedJunk, 400, 'a stranger-signed deposit was admitted');
  assert.equal(
    onboarding.status,
    'accepted',
    `operator refused after ${400 - refusedJunk} junk deposits from strangers were admitted: ${JSON.stringify(onboarding)}`,
  );
});
