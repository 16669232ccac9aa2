/**
 * A finalized chain built through the real application and storage, for the catch-up test and
 * benchmark (`bench/catchup.ts`): small empty blocks that follow the block rule (time, state root
 * a lag below), each executed by `NodeApplication.finalized` and written in the consensus engine's
 * layout too, so an engine on the same storage recovers the chain and serves it to peers. Only one
 * block in `certifyEvery` gets its own finalization; the others are stored with it, as a validator
 * stores blocks finalized through a descendant's certificate.
 */
import { type Block, type Certificate, VoteKind } from '../codec/consensus.ts';
import { peekTag } from '../codec/message.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { NodeSnapshotCodec } from '../codec/snapshot.ts';
import { certificateFromVotes } from '../consensus/certificate.ts';
import {
  type Application,
  createEngine,
  putFinalizedBlock,
  type SimplexEngine,
} from '../consensus/engine.ts';
import { leaderOf, type ValidatorSet } from '../consensus/validators.ts';
import { blockDigest, genesisDigest, signVote } from '../consensus/votes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { createEngine as createExecutionEngine } from '../execution/engine.ts';
import type { EngineGenesis } from '../execution/types.ts';
import type { SqliteStorage } from '../runtime/real/storage.ts';
import type { SimEndpoint } from '../runtime/sim/network.ts';
import type { Scheduler } from '../runtime/sim/scheduler.ts';
import type { Network, PeerId } from '../runtime/types.ts';
import { type NodeApplication, nodeStateRoot, STATE_ROOT_LAG_BLOCKS, stateRootHeightFor } from './app.ts';
import { createStateSync, type StateSync } from './state-sync.ts';

export interface BuildChainOptions {
  chainId: number;
  validators: ValidatorSet;
  /** Signers of the finalize votes: a quorum of them. */
  signers: readonly Ed25519Signer[];
  app: NodeApplication;
  storage: SqliteStorage;
  length: number;
  /** At most the state root lag: a block's root must be executed before the block is built. */
  certifyEvery: number;
  startTimeMs: number;
  /** State roots the application does not hold (heights below a snapshot it installed). */
  roots?: ReadonlyMap<number, Uint8Array>;
}

function emptyPayload(height: number, startTimeMs: number, rootHeight: number, stateRoot: Uint8Array) {
  return BlockPayloadCodec.encode({
    envelopes: [],
    batchKeys: [],
    earlyShares: [],
    eonActivations: [],
    timeMs: startTimeMs + height,
    transactions: [],
    observations: [],
    deposits: [],
    stateRootHeight: rootHeight,
    stateRoot,
  });
}

/** Finalize votes of `signers` over (view, digest), as a certificate. */
export function finalizationOf(
  chainId: number,
  signers: readonly Ed25519Signer[],
  view: number,
  digest: Uint8Array,
): Certificate {
  const votes = signers.map((signer, signerIndex) =>
    signVote(signer, chainId, { kind: VoteKind.finalize, view, digest, signerIndex }),
  );
  return certificateFromVotes(VoteKind.finalize, view, digest, votes);
}

/**
 * Extends the application's chain to `length` blocks; returns the block digests by height - 1.
 * @example const digests = await buildFinalizedChain({ chainId, validators, signers, app, storage, length: 1000, certifyEvery: 10, startTimeMs });
 */
export async function buildFinalizedChain(options: BuildChainOptions): Promise<Uint8Array[]> {
  const { app, storage, chainId } = options;
  if (options.certifyEvery < 1 || options.certifyEvery > STATE_ROOT_LAG_BLOCKS)
    throw new RangeError(`certifyEvery must be within [1, ${STATE_ROOT_LAG_BLOCKS}]`);
  const quorum = options.signers.slice(0, options.validators.quorum);
  const digests: Uint8Array[] = [];
  let parent = app.tip().height === 0 ? genesisDigest(chainId) : app.tip().digest;
  let height = app.tip().height + 1;
  while (height <= options.length) {
    const batch: Block[] = [];
    const end = Math.min(options.length, height + options.certifyEvery - 1);
    for (; height <= end; height++) {
      const rootHeight = stateRootHeightFor(height);
      const stateRoot = options.roots?.get(rootHeight) ?? app.stateRootAt(rootHeight);
      if (stateRoot === undefined) throw new Error(`no state root at ${rootHeight}`);
      const payload = emptyPayload(height, options.startTimeMs, rootHeight, stateRoot);
      const block: Block = {
        view: height,
        height,
        parentView: height - 1,
        parent,
        proposer: leaderOf(options.validators, height),
        payload,
      };
      parent = blockDigest(block);
      digests.push(parent);
      batch.push(block);
    }
    const last = batch.at(-1)!;
    const finalization = finalizationOf(chainId, quorum, last.view, parent);
    for (const block of batch) {
      putFinalizedBlock(storage, block, finalization, storage);
      await app.finalized({ block, digest: blockDigest(block), finalization });
    }
  }
  return digests;
}

export interface BareChainOptions {
  chainId: number;
  validators: ValidatorSet;
  signers: readonly Ed25519Signer[];
  engineGenesis: EngineGenesis;
  /** Receives the chain in the consensus engine's layout only. */
  storage: SqliteStorage;
  length: number;
  certifyEvery: number;
}

export interface BareChain {
  digests: Uint8Array[];
  /** The last block and the certificate stored with it. */
  tip: { block: Block; digest: Uint8Array; finalization: Certificate };
  /** `NodeSnapshotCodec` encoding of the state after the last block. */
  snapshot: Uint8Array;
  /** Node state root after each of the last STATE_ROOT_LAG_BLOCKS + 1 heights. */
  roots: Map<number, Uint8Array>;
}

/**
 * A long chain of empty blocks executed by the execution engine alone, without the application
 * (no oracle assets, so its aggregation state stays empty and the node state root is the engine's
 * root with an empty price list, as the application computes it), written in the consensus
 * engine's layout: a peer serves it by block sync, and `NodeApplication.installSnapshot` takes
 * the returned snapshot to continue it through the application with `buildFinalizedChain`.
 * @example const bare = await buildBareChain({ chainId, validators, signers, engineGenesis, storage, length: 50_000, certifyEvery: 100 });
 */
export async function buildBareChain(options: BareChainOptions): Promise<BareChain> {
  const { chainId, storage, engineGenesis } = options;
  const quorum = options.signers.slice(0, options.validators.quorum);
  const engine = createExecutionEngine(engineGenesis);
  const roots = new Map<number, Uint8Array>([[0, nodeStateRoot(engine.stateRoot(), [])]]);
  const digests: Uint8Array[] = [];
  let parent = genesisDigest(chainId);
  let pending: Block[] = [];
  let tip: BareChain['tip'] | undefined;
  for (let height = 1; height <= options.length; height++) {
    const rootHeight = stateRootHeightFor(height);
    const payload = emptyPayload(height, engineGenesis.startTimeMs, rootHeight, roots.get(rootHeight)!);
    const block: Block = {
      view: height,
      height,
      parentView: height - 1,
      parent,
      proposer: leaderOf(options.validators, height),
      payload,
    };
    parent = blockDigest(block);
    digests.push(parent);
    pending.push(block);
    const result = engine.applyBlock({
      height,
      timeMs: engineGenesis.startTimeMs + height,
      transactions: [],
      oracle: [],
    });
    roots.set(height, nodeStateRoot(result.stateRoot, []));
    roots.delete(height - STATE_ROOT_LAG_BLOCKS - 1);
    if (height % options.certifyEvery === 0 || height === options.length) {
      const finalization = finalizationOf(chainId, quorum, height, parent);
      for (const stored of pending) putFinalizedBlock(storage, stored, finalization, storage);
      tip = { block, digest: parent, finalization };
      pending = [];
      if (height % 1000 < options.certifyEvery) await storage.sync();
    }
  }
  await storage.sync();
  if (tip === undefined) throw new RangeError('length must be at least 1');
  const snapshot = NodeSnapshotCodec.encode({
    height: options.length,
    engine: engine.snapshot(),
    prices: [],
    pendingBatches: [],
    eons: [],
  });
  return { digests, tip, snapshot, roots };
}

/** Consensus timeouts of simulated catch-up runs (short: only the sync paths matter). */
export const CATCHUP_TIMEOUTS = Object.freeze({
  leaderMs: 500,
  notarizationMs: 1000,
  nullifyRetryMs: 500,
  syncRetryMs: 100,
});

/** Splits one simulated endpoint between consensus (0x02xx) and state sync (0x0505–0x0508). */
function routed(endpoint: SimEndpoint) {
  let consensus: ((from: PeerId, message: Uint8Array) => void) | undefined;
  let stateSync: StateSync | undefined;
  endpoint.onMessage((from, message) => {
    const tag = peekTag(message);
    if (tag >> 8 === 0x02) consensus?.(from, message);
    else if (tag >= 0x0505 && tag <= 0x0508) stateSync?.receive(from, message);
  });
  const network: Network = {
    send: (to, message) => endpoint.send(to, message),
    broadcast: (message) => endpoint.broadcast(message),
    onMessage: (handler) => {
      consensus = handler;
    },
  };
  return {
    network,
    attach: (sync: StateSync) => {
      stateSync = sync;
    },
  };
}

export interface SimulatedValidatorOptions {
  scheduler: Scheduler;
  endpoint: SimEndpoint;
  self: number;
  app: NodeApplication;
  storage: SqliteStorage;
  chainId: number;
  validators: ValidatorSet;
  signers: readonly Ed25519Signer[];
  /** State sync beyond this many blocks behind (0: block sync only, but still serve snapshots). */
  thresholdBlocks: number;
}

/**
 * A validator as the node wires it — the real application and storage, the consensus engine and
 * state sync — over the simulated clock and network. It never proposes: these runs are about
 * catching up with blocks that exist.
 * @example const v = simulatedValidator({ scheduler, endpoint, self: 1, app, storage, chainId, validators, signers, thresholdBlocks: 1000 }); await v.consensus.start(); v.stateSync.start();
 */
export function simulatedValidator(options: SimulatedValidatorOptions) {
  const { app, storage, scheduler, endpoint, self, chainId, validators } = options;
  const route = routed(endpoint);
  let inflight: Promise<void> = Promise.resolve();
  const application: Application = {
    propose: () => undefined,
    verify: (context, payload) => app.verify(context, payload),
    finalized: (block) => {
      const done = app.finalized(block);
      inflight = done.catch(() => {});
      return done;
    },
    processedHeight: () => app.processedHeight(),
  };
  const consensus: SimplexEngine = createEngine({
    chainId,
    validators,
    self,
    signer: options.signers[self]!,
    clock: scheduler.clockFor(),
    network: route.network,
    storage,
    blocks: storage,
    application,
    timeouts: CATCHUP_TIMEOUTS,
    applicationSyncsStorage: true,
    stateSyncThresholdBlocks: options.thresholdBlocks,
  });
  const stateSync = createStateSync({
    chainId,
    // A chain without epochs: one set from genesis, no boundaries to prove.
    followedSet: () => ({ epoch: 1, epochBlocks: 0, keys: validators.publicKeys }),
    boundaryProof: () => undefined,
    peers: validators.size,
    self,
    app,
    storage,
    consensus,
    send: (to, message) => endpoint.send(to, message),
    clock: scheduler.clockFor(),
    thresholdBlocks: options.thresholdBlocks,
    pollMs: 200,
    requestTimeoutMs: 1000,
    idle: () => inflight,
  });
  route.attach(stateSync);
  return { app, storage, consensus, stateSync };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the simulation in 20 ms slices until `done()` (or `maxSteps` slices), letting the real
 * storage and application promises settle between events.
 */
export async function runSimulationUntil(scheduler: Scheduler, done: () => boolean, maxSteps = 50_000) {
  for (let step = 0; step < maxSteps && !done(); step++) {
    await settle();
    while (scheduler.step(scheduler.now() + 20)) await settle();
    scheduler.advanceTo(scheduler.now() + 20);
  }
  for (let i = 0; i < 20; i++) await settle();
}
