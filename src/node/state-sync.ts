/**
 * State sync: a validator far behind the network fetches a peer's `NodeSnapshot` at a finalized
 * height instead of executing every block since its own tip, checks it against the state root a
 * finality certificate covers, installs it, and lets block sync by height (consensus, spec §7)
 * replay the blocks above it.
 *
 * When: every `pollMs` the driver compares the highest height consensus knows to be finalized with
 * the height the application has processed; a gap above `thresholdBlocks` (0: never) starts a sync.
 * Consensus, given the same threshold, does not fetch such a gap block by block meanwhile; when no
 * peer offers a usable snapshot, or the one fetched is refused, the driver declines
 * (`declineStateSync`) and block sync closes the gap; the next round waits `DECLINED_RETRY_MS`.
 *
 * Protocol (messages in src/codec/node.ts, one peer at a time, each step with a timeout that moves
 * on to the next peer):
 *   1. `SnapshotOfferRequest{minHeight}` → `SnapshotOffer`: a stored snapshot's height s, size and
 *      hash, the finalized blocks s, s + 1, …, H and the finalization of H. The responder picks its
 *      newest synced snapshot with s + STATE_ROOT_LAG_BLOCKS at or below its processed height and
 *      a chain to a certified block that fits the offer's bounds.
 *   2. The asker checks the offer (`verifyOffer`): consecutive heights linked by parent hash, the
 *      certificate a quorum of finalize votes over H, and the block at s + STATE_ROOT_LAG_BLOCKS,
 *      which commits to the node state root after s (app.ts, the block rule). That root is what
 *      2f + 1 validators checked against their own execution, so it is the honest state at s.
 *      Validator sets (issue 11): H's certificate is checked against the set of H's epoch, which
 *      the asker learns by following the chain of set changes from the set its own state commits
 *      (at its processed height p). The offer carries every epoch boundary b with p < b < H
 *      (`BoundaryProof`): block b with its own finalize certificate, checked against the set in
 *      force before b, and the validator-set record under the root b commits, with its state
 *      proof (`followBoundary`, the light client's check). A change proven there gives the set
 *      from the view after b's. So a certificate of a set that governance removed — the old
 *      validators signing past their epoch, however many of them — is refused, as is a chain
 *      with a boundary left out. The changes proven are scheduled on consensus when the snapshot
 *      is installed (their boundary views kept in storage, `BOUNDARY_VIEW_PREFIX`, for restarts).
 *      An asker more than MAX_OFFER_BOUNDARIES boundaries behind gets no offer and catches up
 *      block by block until it is within them.
 *   3. `SnapshotChunkRequest{height, index}` → `SnapshotChunk`, in order, `SNAPSHOT_CHUNK_BYTES`
 *      each, from the peer that made the offer; the whole must hash to the offered hash (a lying
 *      peer wastes one download, then the next peer is asked).
 *   4. The application restores the snapshot and refuses it unless its node state root equals the
 *      committed root (`installSnapshot`); consensus takes block s as its finalized tip
 *      (`installFinalizedTip`); one storage sync makes both durable.
 *
 * Bounds: one sync at a time, snapshots up to `SNAPSHOT_MAX_BYTES` fetched within a deadline of
 * the request timeout plus their size at `FETCH_MIN_BYTES_PER_SECOND` (a peer that drips chunks is
 * dropped and the next one asked), offers up to MAX_OFFER_BLOCKS
 * blocks and MAX_OFFER_BLOCK_BYTES; a responder answers each peer at most `MAX_OFFERS_PER_SECOND`
 * offers and `MAX_CHUNKS_PER_SECOND` chunks per second and drops the rest, and reads and hashes
 * each snapshot it serves once (it holds the two the application keeps).
 */
import { stateRootHeightFor } from '../chain/block-rule.ts';
import { type Block, BlockCodec, type Certificate, CertificateCodec, VoteKind } from '../codec/consensus.ts';
import { CodecError } from '../codec/errors.ts';
import { peekTag } from '../codec/message.ts';
import {
  BlockPayloadCodec,
  type BoundaryProof,
  BoundaryProofType,
  MAX_OFFER_BLOCK_BYTES,
  MAX_OFFER_BLOCKS,
  MAX_OFFER_BOUNDARIES,
  MAX_OFFER_BOUNDARY_BYTES,
  SNAPSHOT_CHUNK_BYTES,
  SnapshotChunkCodec,
  SnapshotChunkRequestCodec,
  type SnapshotOffer,
  SnapshotOfferCodec,
  SnapshotOfferRequestCodec,
} from '../codec/node.ts';
import { AggregatePriceType, type AggregatePriceValue } from '../codec/oracle.ts';
import { verifyCertificate } from '../consensus/certificate.ts';
import type { FinalizedBlock, SyncStatus } from '../consensus/engine.ts';
import type { ValidatorEpoch } from '../consensus/epochs.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { blockDigest } from '../consensus/votes.ts';
import { bytesEqual, fromHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { SqliteStorage } from '../runtime/real/storage.ts';
import type { Clock, PeerId, Storage } from '../runtime/types.ts';
import { type NodeApplication, STATE_ROOT_LAG_BLOCKS } from './app.ts';
import { type FollowedSet, followBoundary, type ValidatorSetProofJson } from './validator-set-proofs.ts';

/** Offers one responder answers per peer per second. */
export const MAX_OFFERS_PER_SECOND = 2;
/** Chunks one responder serves per peer per second (32 MiB/s). */
export const MAX_CHUNKS_PER_SECOND = 32;
/** Snapshots held in memory for serving: the application keeps two (app.ts SNAPSHOTS_KEPT). */
const SERVED_SNAPSHOTS_MAX = 2;
/** After no peer offered a snapshot, the next round waits this long (block sync runs meanwhile). */
const DECLINED_RETRY_MS = 30_000;
/** A chunk that does not arrive in time is asked for again this many times, then the peer is dropped. */
const CHUNK_ATTEMPTS = 3;
/**
 * The slowest whole download we wait for (4 MiB/s, an eighth of what a responder serves): a peer
 * that answers each chunk just inside the chunk timeout would otherwise hold a 1 GiB fetch, and
 * with it the gap consensus keeps for state sync, for over half an hour.
 */
export const FETCH_MIN_BYTES_PER_SECOND = 4 << 20;

/** Storage keys of the views of boundary blocks a state sync proved (below its snapshot). */
export const BOUNDARY_VIEW_PREFIX = 'state-sync/boundary-view/';
const boundaryViewKey = (height: number) => `${BOUNDARY_VIEW_PREFIX}${height.toString(16).padStart(13, '0')}`;

/**
 * The view of boundary block `height` as a state sync proved it, or undefined: what restarts
 * schedule an epoch from when the boundary block itself is below the installed snapshot.
 */
export function provenBoundaryView(storage: Pick<Storage, 'get'>, height: number): number | undefined {
  const bytes = storage.get(boundaryViewKey(height));
  if (bytes === undefined || bytes.length !== 8) return undefined;
  const view = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false));
  return Number.isSafeInteger(view) ? view : undefined;
}

/** What the asker trusts when it asks: the set its own state commits at its processed height. */
export interface OfferTrust extends FollowedSet {
  /** The asker's processed height when it asked: the offer proves every boundary above it. */
  readonly processedHeight: number;
}

export interface StateSyncOptions {
  chainId: number;
  /** The validator set this node's state commits now (its epoch, epoch length and keys). */
  followedSet: () => FollowedSet;
  /** Boundary block `height` with its own finalization and its record's proof, if kept here. */
  boundaryProof: (height: number) => BoundaryProof | undefined;
  /** Peers asked for offers: transport indices 0 … peers − 1 but our own. */
  peers: number;
  self: number;
  app: NodeApplication;
  storage: SqliteStorage;
  consensus: {
    syncStatus(): SyncStatus;
    installFinalizedTip(finalized: FinalizedBlock): boolean;
    /** The latest scheduled epoch, and scheduling the next (src/consensus/epochs.ts). */
    epochAt(view: number): { epoch: number } | undefined;
    scheduleEpoch(next: ValidatorEpoch): void;
    /** No snapshot to be had: consensus catches up block by block instead. */
    declineStateSync(): void;
  };
  send: (to: PeerId, message: Uint8Array) => void;
  clock: Clock;
  /** Start a state sync when this many blocks behind the highest finalized height known (0: never). */
  thresholdBlocks: number;
  pollMs?: number;
  /** How long to wait for an offer or a chunk. */
  requestTimeoutMs?: number;
  /** Resolves when no finalized block is being applied. */
  idle?: () => Promise<void>;
  log?: (level: 'info' | 'warn', message: string, details: Record<string, unknown>) => void;
}

export interface StateSyncStatus {
  phase: 'idle' | 'offer' | 'fetching' | 'installing';
  /** Snapshots installed since start. */
  installed: number;
  /** Height of the last snapshot installed, or null. */
  lastHeight: number | null;
  /** How long the last state sync took, offer to install (ms on the node's clock), or null. */
  lastDurationMs: number | null;
}

/** What a message did, for the node's peer scoring: only `reject` is the sender's fault. */
export type StateSyncVerdict = 'accept' | 'ignore' | 'reject';

export interface StateSync {
  start(): void;
  stop(): void;
  receive(from: PeerId, message: Uint8Array): StateSyncVerdict;
  status(): StateSyncStatus;
}

/** A checked offer: the finalized block at the snapshot's height and the root committed to it. */
export interface VerifiedOffer {
  height: number;
  snapshotBytes: number;
  snapshotHash: Uint8Array;
  block: Block;
  digest: Uint8Array;
  certificate: Certificate;
  committedRoot: Uint8Array;
  /** The set changes the offer's boundaries prove, ascending: each epoch from its first view. */
  epochs: (ValidatorEpoch & { boundaryHeight: number })[];
}

export type OfferCheck =
  | { status: 'valid'; offer: VerifiedOffer }
  | {
      status: 'invalid';
      reason: 'malformed' | 'broken-chain' | 'too-short' | 'bad-certificate' | 'no-root' | 'bad-boundary';
    };

/** The epoch boundaries an offer certified at `certifiedHeight` must prove to an asker at `processed`. */
export function boundariesBetween(epochBlocks: number, processed: number, certifiedHeight: number): number[] {
  if (epochBlocks <= 0) return [];
  const out: number[] = [];
  for (let b = (Math.floor(processed / epochBlocks) + 1) * epochBlocks; b < certifiedHeight; b += epochBlocks)
    out.push(b);
  return out;
}

/**
 * Checks a snapshot offer against what the asker trusts: the blocks form a hash chain from the
 * snapshot's height; every epoch boundary between the asker's height and the certified block is
 * proven, each by its own certificate of the set before it and the validator-set record under its
 * committed root, which gives the next set; the certificate finalizes the last block under the
 * set so reached; and the block a lag above the snapshot commits to its state root. Never throws.
 * @example const check = verifyOffer(offer, { processedHeight: 0, epoch: 1, epochBlocks: 0, keys }, chainId); if (check.status === 'valid') check.offer.committedRoot;
 */
export function verifyOffer(offer: SnapshotOffer, trust: OfferTrust, chainId: number): OfferCheck {
  try {
    const blocks = offer.blocks.map((bytes) => BlockCodec.decode(bytes));
    const digests = blocks.map((block) => blockDigest(block));
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      if (block.height !== offer.height + i) return { status: 'invalid', reason: 'broken-chain' };
      if (i > 0 && !bytesEqual(block.parent, digests[i - 1]!))
        return { status: 'invalid', reason: 'broken-chain' };
    }
    if (blocks.length <= STATE_ROOT_LAG_BLOCKS) return { status: 'invalid', reason: 'too-short' };
    const certificate = CertificateCodec.decode(offer.finalization);
    const last = blocks.at(-1)!;
    // Follow the set from the asker's own through every boundary below the certified block.
    const expected = boundariesBetween(trust.epochBlocks, trust.processedHeight, last.height);
    if (offer.boundaries.length !== expected.length) return { status: 'invalid', reason: 'bad-boundary' };
    let followed: FollowedSet = trust;
    let set = createValidatorSet(trust.keys);
    const epochs: VerifiedOffer['epochs'] = [];
    for (const [i, entry] of offer.boundaries.entries()) {
      const height = expected[i]!;
      const block = BlockCodec.decode(entry.block);
      const digest = blockDigest(block);
      const own = CertificateCodec.decode(entry.finalization);
      if (
        block.height !== height ||
        own.kind !== VoteKind.finalize ||
        own.view !== block.view ||
        !bytesEqual(own.digest, digest) ||
        !verifyCertificate(set, chainId, own)
      )
        return { status: 'invalid', reason: 'bad-boundary' };
      // A boundary inside the offered chain is that chain's block.
      const inChain = height - offer.height;
      if (inChain >= 0 && !bytesEqual(digests[inChain]!, digest))
        return { status: 'invalid', reason: 'broken-chain' };
      const payload = BlockPayloadCodec.decode(block.payload);
      if (payload.stateRootHeight !== stateRootHeightFor(height))
        return { status: 'invalid', reason: 'bad-boundary' };
      let prices: AggregatePriceValue[];
      try {
        prices = entry.prices.map((price) => AggregatePriceType.deserialize(price));
      } catch {
        return { status: 'invalid', reason: 'malformed' };
      }
      const verdict = followBoundary(
        {
          engineStateRoot: entry.engineStateRoot,
          prices,
          record: entry.record,
          proof: entry.proof,
          fairParts: entry.fairParts,
        },
        payload.stateRoot,
        height,
        followed,
      );
      if (!verdict.ok) return { status: 'invalid', reason: 'bad-boundary' };
      if (verdict.next === undefined) continue;
      followed = { epoch: verdict.next.epoch, epochBlocks: trust.epochBlocks, keys: verdict.next.keys };
      set = createValidatorSet(verdict.next.keys);
      epochs.push({
        epoch: verdict.next.epoch,
        firstView: block.view + 1,
        validators: set,
        boundaryHeight: height,
      });
    }
    if (
      certificate.kind !== VoteKind.finalize ||
      certificate.view !== last.view ||
      !bytesEqual(certificate.digest, digests.at(-1)!) ||
      !verifyCertificate(set, chainId, certificate)
    )
      return { status: 'invalid', reason: 'bad-certificate' };
    const payload = BlockPayloadCodec.decode(blocks[STATE_ROOT_LAG_BLOCKS]!.payload);
    if (payload.stateRootHeight !== offer.height) return { status: 'invalid', reason: 'no-root' };
    return {
      status: 'valid',
      offer: {
        height: offer.height,
        snapshotBytes: offer.snapshotBytes,
        snapshotHash: offer.snapshotHash,
        block: blocks[0]!,
        digest: digests[0]!,
        certificate,
        committedRoot: payload.stateRoot,
        epochs,
      },
    };
  } catch (error) {
    if (error instanceof CodecError) return { status: 'invalid', reason: 'malformed' };
    throw error;
  }
}

/**
 * Boundary block `height` as this node can prove it to a state-syncing peer: the block with its
 * own finalization (a boundary finalized only through a descendant's certificate is not offered),
 * and the validator-set proof the node recorded for it. Undefined when either is not kept here.
 */
export function boundaryProofOf(
  app: Pick<NodeApplication, 'finalityProof'>,
  proofs: { proof(height: number): ValidatorSetProofJson | undefined },
  height: number,
): BoundaryProof | undefined {
  const finality = app.finalityProof(height);
  const served = proofs.proof(height);
  if (finality === undefined || finality.descendants.length > 0 || served === undefined) return undefined;
  const engineStateRoot = fromHex(served.engineStateRoot);
  const record = fromHex(served.record);
  const proof = fromHex(served.proof);
  const prices: Uint8Array[] = [];
  for (const price of served.prices) {
    const decoded = fromHex(price);
    if (decoded === undefined) return undefined;
    prices.push(decoded);
  }
  const fairParts: Uint8Array[] = [];
  for (const part of served.fairParts ?? []) {
    const decoded = fromHex(part);
    if (decoded === undefined || decoded.length !== 32) return undefined;
    fairParts.push(decoded);
  }
  if (engineStateRoot === undefined || record === undefined || proof === undefined) return undefined;
  return {
    block: finality.block,
    finalization: CertificateCodec.encode(finality.certificate),
    engineStateRoot,
    prices,
    record,
    proof,
    fairParts,
  };
}

interface Fetch {
  peer: PeerId;
  offer: VerifiedOffer;
  chunks: Uint8Array[];
  attempts: number;
  startedMs: number;
  /** The whole snapshot must be in by then (`FETCH_MIN_BYTES_PER_SECOND`), or the peer is dropped. */
  deadlineMs: number;
}

/**
 * The state sync driver of one node; `receive` takes the four state sync messages.
 * @example const sync = createStateSync({ ...wiring, thresholdBlocks: 4096 }); sync.start();
 */
export function createStateSync(options: StateSyncOptions): StateSync {
  const { app, storage, consensus, clock, chainId } = options;
  const pollMs = options.pollMs ?? 1000;
  const timeoutMs = options.requestTimeoutMs ?? 2000;
  const size = options.peers;
  let running = false;
  let phase: StateSyncStatus['phase'] = 'idle';
  let installed = 0;
  let lastHeight: number | null = null;
  let lastDurationMs: number | null = null;
  let cancelPoll: (() => void) | undefined;
  let cancelRequest: (() => void) | undefined;
  /** The peer asked for an offer, and how many have been asked in this round. */
  let asked: { peer: PeerId; round: number; startedMs: number; trust: OfferTrust } | undefined;
  let rotation = 0;
  /** After a round without a usable offer, block sync has its turn until then. */
  let retryAtMs = 0;
  let fetch: Fetch | undefined;
  /** The snapshot this node serves now, with its hash. */
  /**
   * The snapshots this node serves, by height, each read and hashed once: as many as the
   * application keeps (`SERVED_SNAPSHOTS_MAX`), so that a peer alternating its chunk requests
   * between them cannot make every request read and hash a whole snapshot again.
   */
  const served = new Map<number, { bytes: Uint8Array; hash: Uint8Array }>();
  const budget = new Map<PeerId, { windowMs: number; offers: number; chunks: number }>();

  const log = (level: 'info' | 'warn', message: string, details: Record<string, unknown>) =>
    options.log?.(level, message, details);

  const withinBudget = (peer: PeerId, kind: 'offers' | 'chunks'): boolean => {
    const window = Math.floor(clock.now() / 1000);
    let entry = budget.get(peer);
    if (entry === undefined || entry.windowMs !== window) {
      entry = { windowMs: window, offers: 0, chunks: 0 };
      budget.set(peer, entry);
    }
    const limit = kind === 'offers' ? MAX_OFFERS_PER_SECOND : MAX_CHUNKS_PER_SECOND;
    if (entry[kind] >= limit) return false;
    entry[kind]++;
    return true;
  };

  const reset = () => {
    cancelRequest?.();
    cancelRequest = undefined;
    asked = undefined;
    fetch = undefined;
    phase = 'idle';
  };

  const gap = () => consensus.syncStatus().targetHeight - app.processedHeight();
  const behind = (): boolean => options.thresholdBlocks > 0 && gap() > options.thresholdBlocks;

  const askOffer = (round: number) => {
    if (!running) return;
    if (round >= size - 1) {
      // No peer offered a usable snapshot: block sync closes the gap instead.
      log('info', 'state sync: no snapshot offered; block sync instead', { behind: gap() });
      reset();
      retryAtMs = clock.now() + DECLINED_RETRY_MS;
      consensus.declineStateSync();
      return;
    }
    const peer = (options.self + 1 + (rotation++ % (size - 1))) % size;
    phase = 'offer';
    // What we trust is fixed when we ask: the offer proves the boundaries above this height.
    const trust: OfferTrust = { ...options.followedSet(), processedHeight: app.processedHeight() };
    asked = { peer, round, startedMs: asked?.startedMs ?? clock.now(), trust };
    options.send(peer, SnapshotOfferRequestCodec.encode({ minHeight: trust.processedHeight + 1 }));
    cancelRequest?.();
    cancelRequest = clock.setTimer(timeoutMs, () => askOffer(round + 1));
  };

  const requestChunk = () => {
    const current = fetch;
    if (current === undefined || !running) return;
    if (current.attempts >= CHUNK_ATTEMPTS) {
      log('warn', 'state sync: a peer stopped serving its snapshot', { peer: current.peer });
      reset();
      return;
    }
    if (clock.now() > current.deadlineMs) {
      log('warn', 'state sync: a peer serves its snapshot too slowly', {
        peer: current.peer,
        receivedBytes: current.chunks.length * SNAPSHOT_CHUNK_BYTES,
      });
      reset();
      return;
    }
    current.attempts++;
    const index = current.chunks.length;
    options.send(current.peer, SnapshotChunkRequestCodec.encode({ height: current.offer.height, index }));
    cancelRequest?.();
    cancelRequest = clock.setTimer(timeoutMs, requestChunk);
  };

  const poll = () => {
    cancelPoll = clock.setTimer(pollMs, poll);
    if (phase === 'idle' && clock.now() >= retryAtMs && behind() && size > 1) askOffer(0);
  };

  const install = async (current: Fetch) => {
    phase = 'installing';
    cancelRequest?.();
    cancelRequest = undefined;
    const total = current.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of current.chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    if (!bytesEqual(sha256(bytes), current.offer.snapshotHash)) {
      log('warn', 'state sync: the snapshot does not match its offer', { peer: current.peer });
      reset();
      return;
    }
    await options.idle?.();
    if (!running || fetch !== current) return;
    const { offer } = current;
    // Block sync may have overtaken the snapshot meanwhile; then there is nothing to install.
    if (consensus.syncStatus().finalizedHeight >= offer.height || app.processedHeight() >= offer.height) {
      reset();
      return;
    }
    const result = app.installSnapshot(bytes, {
      block: offer.block,
      digest: offer.digest,
      certificate: offer.certificate,
      committedRoot: offer.committedRoot,
    });
    if (result.status !== 'installed') {
      log('warn', 'state sync: snapshot refused', { peer: current.peer, reason: result.reason });
      reset();
      consensus.declineStateSync();
      return;
    }
    // The set changes the offer proved: consensus checks the blocks above the snapshot against
    // them; their boundary views stay for restarts (the boundary blocks are not stored here).
    for (const epoch of offer.epochs) {
      const view = new Uint8Array(8);
      new DataView(view.buffer).setBigUint64(0, BigInt(epoch.firstView - 1), false);
      storage.put(boundaryViewKey(epoch.boundaryHeight), view);
      const latest = consensus.epochAt(Number.MAX_SAFE_INTEGER)?.epoch ?? 1;
      if (epoch.epoch === latest + 1)
        consensus.scheduleEpoch({
          epoch: epoch.epoch,
          firstView: epoch.firstView,
          validators: epoch.validators,
        });
    }
    const tipInstalled = consensus.installFinalizedTip({
      block: offer.block,
      digest: offer.digest,
      finalization: offer.certificate,
    });
    await storage.sync();
    installed++;
    lastHeight = offer.height;
    lastDurationMs = Math.round(clock.now() - current.startedMs);
    log('info', 'state synced', {
      height: offer.height,
      snapshotBytes: total,
      peer: current.peer,
      durationMs: lastDurationMs,
      consensusTip: tipInstalled,
    });
    reset();
  };

  const onOffer = (from: PeerId, offer: SnapshotOffer): StateSyncVerdict => {
    if (phase !== 'offer' || asked === undefined || asked.peer !== from) return 'ignore';
    const check = verifyOffer(offer, asked.trust, chainId);
    if (check.status !== 'valid') {
      log('warn', 'state sync: invalid offer', { peer: from, reason: check.reason });
      askOffer(asked.round + 1);
      return 'reject';
    }
    if (check.offer.height <= app.processedHeight()) {
      askOffer(asked.round + 1);
      return 'ignore';
    }
    const deadlineMs =
      clock.now() + timeoutMs + Math.ceil((check.offer.snapshotBytes * 1000) / FETCH_MIN_BYTES_PER_SECOND);
    fetch = {
      peer: from,
      offer: check.offer,
      chunks: [],
      attempts: 0,
      startedMs: asked.startedMs,
      deadlineMs,
    };
    asked = undefined;
    phase = 'fetching';
    log('info', 'state sync: fetching a snapshot', {
      peer: from,
      height: check.offer.height,
      snapshotBytes: check.offer.snapshotBytes,
    });
    requestChunk();
    return 'accept';
  };

  const onChunk = (
    from: PeerId,
    chunk: { height: number; index: number; data: Uint8Array },
  ): StateSyncVerdict => {
    const current = fetch;
    if (phase !== 'fetching' || current === undefined || current.peer !== from) return 'ignore';
    if (chunk.height !== current.offer.height || chunk.index !== current.chunks.length) return 'ignore';
    const received = current.chunks.length * SNAPSHOT_CHUNK_BYTES;
    const expected = Math.min(SNAPSHOT_CHUNK_BYTES, current.offer.snapshotBytes - received);
    if (chunk.data.length !== expected) {
      reset();
      return 'reject';
    }
    current.chunks.push(chunk.data);
    current.attempts = 0;
    if (received + chunk.data.length < current.offer.snapshotBytes) {
      requestChunk();
    } else {
      void install(current).catch((error: unknown) => {
        log('warn', 'state sync: install failed', { error: (error as Error).message });
        reset();
      });
    }
    return 'accept';
  };

  /** The snapshot at `height` with its hash, read once and kept while it is being served. */
  const servedSnapshot = (height: number) => {
    const kept = served.get(height);
    if (kept !== undefined) return kept;
    const bytes = app.snapshotBytes(height);
    if (bytes === undefined) return undefined;
    // Heights the application no longer keeps go first, then the lowest.
    const current = new Set(app.snapshotHeights());
    for (const old of [...served.keys()]) if (!current.has(old)) served.delete(old);
    while (served.size >= SERVED_SNAPSHOTS_MAX) served.delete(Math.min(...served.keys()));
    const entry = { bytes, hash: sha256(bytes) };
    served.set(height, entry);
    return entry;
  };

  /** The newest snapshot we can prove: see step 1 of the protocol. */
  const buildOffer = (minHeight: number): SnapshotOffer | undefined => {
    const processed = app.processedHeight();
    const heights = app
      .snapshotHeights()
      .filter((h) => h >= minHeight && h + STATE_ROOT_LAG_BLOCKS <= processed);
    for (const height of heights.reverse()) {
      const blocks: Uint8Array[] = [];
      let bytes = 0;
      for (let k = height; k < height + STATE_ROOT_LAG_BLOCKS; k++) {
        const record = storage.finalizedBlock(k);
        if (record === undefined) break;
        blocks.push(record.block);
        bytes += record.block.length;
      }
      if (blocks.length < STATE_ROOT_LAG_BLOCKS) continue;
      const proof = app.finalityProof(height + STATE_ROOT_LAG_BLOCKS);
      if (proof === undefined) continue;
      blocks.push(proof.block, ...proof.descendants);
      bytes += proof.block.length + proof.descendants.reduce((sum, block) => sum + block.length, 0);
      if (blocks.length > MAX_OFFER_BLOCKS || bytes > MAX_OFFER_BLOCK_BYTES) continue;
      const certifiedHeight = height + blocks.length - 1;
      const wanted = boundariesBetween(options.followedSet().epochBlocks, minHeight - 1, certifiedHeight);
      if (wanted.length > MAX_OFFER_BOUNDARIES) continue;
      const boundaries: BoundaryProof[] = [];
      let boundaryBytes = 0;
      for (const b of wanted) {
        const entry = options.boundaryProof(b);
        if (entry === undefined) break;
        boundaryBytes += BoundaryProofType.serialize(entry).length;
        if (boundaryBytes > MAX_OFFER_BOUNDARY_BYTES) break;
        boundaries.push(entry);
      }
      if (boundaries.length !== wanted.length) continue;
      const snapshot = servedSnapshot(height);
      if (snapshot === undefined) continue;
      return {
        height,
        snapshotBytes: snapshot.bytes.length,
        snapshotHash: snapshot.hash,
        blocks,
        finalization: CertificateCodec.encode(proof.certificate),
        boundaries,
      };
    }
    return undefined;
  };

  const receive = (from: PeerId, message: Uint8Array): StateSyncVerdict => {
    if (!running) return 'ignore';
    try {
      switch (peekTag(message)) {
        case SnapshotOfferRequestCodec.tag: {
          const request = SnapshotOfferRequestCodec.decode(message);
          if (!withinBudget(from, 'offers')) return 'ignore';
          const offer = buildOffer(request.minHeight);
          if (offer !== undefined) options.send(from, SnapshotOfferCodec.encode(offer));
          return 'accept';
        }
        case SnapshotOfferCodec.tag:
          return onOffer(from, SnapshotOfferCodec.decode(message));
        case SnapshotChunkRequestCodec.tag: {
          const request = SnapshotChunkRequestCodec.decode(message);
          if (!withinBudget(from, 'chunks')) return 'ignore';
          const snapshot = servedSnapshot(request.height);
          const start = request.index * SNAPSHOT_CHUNK_BYTES;
          if (snapshot === undefined || start >= snapshot.bytes.length) return 'ignore';
          const data = snapshot.bytes.subarray(start, start + SNAPSHOT_CHUNK_BYTES);
          options.send(
            from,
            SnapshotChunkCodec.encode({ height: request.height, index: request.index, data }),
          );
          return 'accept';
        }
        case SnapshotChunkCodec.tag:
          return onChunk(from, SnapshotChunkCodec.decode(message));
        default:
          return 'reject';
      }
    } catch (error) {
      if (error instanceof CodecError) return 'reject';
      throw error;
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      poll();
    },
    stop() {
      running = false;
      cancelPoll?.();
      reset();
    },
    receive,
    status: () => ({ phase, installed, lastHeight, lastDurationMs }),
  };
}
