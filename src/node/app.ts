/**
 * The consensus `Application` of a validator: what a block means, who decides each part of it and
 * what every validator checks. Consensus orders opaque payloads; this module gives them meaning.
 *
 * The block rule (a `BlockPayload`, src/codec/node.ts), decided by the proposer, checked by every
 * verifier, executed identically by everyone on finalization:
 *
 *   time          the proposer's wall clock, raised to parent time + 1 when the clock is behind.
 *                 A verifier refuses a time more than `maxFutureBlockMs` ahead of its own clock,
 *                 or not after the parent's time when it knows the parent. On execution the time
 *                 is max(payload time, previous block time, genesis start): a deterministic clamp,
 *                 so a block whose parent a verifier never saw (it synced it) can never make the
 *                 engine's clock go backwards on any validator.
 *   transactions  `mempool.select` at the block's height, minus those already in the block's
 *                 unfinalized ancestors. Verifiers check they decode, are not repeated in the block
 *                 or its known ancestors, and fit the bounds; signatures, nonces and expiry are
 *                 the engine's to judge (a bad one gets a status and changes nothing). A
 *                 transaction's signature is verified once per validator: by the mempool at
 *                 admission, which records the verified encoding (verified-transactions.ts); the
 *                 engine's check is answered from that record for the same bytes and verifies
 *                 anything else itself. The verifier in between checks no signatures.
 *   observations  the signed oracle observations for this height that the proposer holds: every
 *                 validator attaches its observation for height h + 1 as the extension of its
 *                 notarize and finalize votes on the block at height h, so the leader of h + 1,
 *                 which needs the notarization of h to propose, holds 2f + 1 of them by then.
 *                 Verifiers refuse the block when any observation would be dropped by
 *                 `aggregateBlock` (bad signature, wrong height, stale, repeated, equivocating);
 *                 fewer than 2f + 1 is allowed and yields a STALE aggregate, never a stall.
 *   deposits      the signed deposit reports for this height the proposer holds (the bridge,
 *                 src/interop/evm/deposit-quorum.ts): a validator that follows the EVM vault puts
 *                 its report beside its observation in its vote extension (a `VoteExtension`,
 *                 src/codec/bridge.ts). Verifiers refuse the block when any report is malformed,
 *                 signed by a non-validator or badly, for another height, chain or vault, or a
 *                 second one of a validator; on execution a deposit reported identically by 2f + 1
 *                 of them is credited, once per vault nonce.
 *   state root    `stateRootHeight` = max(0, height − STATE_ROOT_LAG_BLOCKS) and `stateRoot` = the
 *                 node state root after that height: SHA-256 over a label, the engine's state root
 *                 and the SSZ of the oracle aggregation state (the previous aggregate per asset, which
 *                 the next block's aggregation reads), so it covers all of a `NodeSnapshot`. Height 0
 *                 is the genesis state. The proposer waits (at most `stateRootWaitMs`) for its own
 *                 execution to reach that height; a verifier refuses any other height or root, and
 *                 when its execution is behind it waits for it (at most `stateRootWaitMs`, then
 *                 answers 'unknown': a verifier that far behind only withholds its own vote and
 *                 never charges the proposer).
 *                 Why the root is the honest one: a block is notarized only when 2f + 1 validators
 *                 verified it, so at least f + 1 honest ones checked the root against their own
 *                 execution of the finalized chain at `stateRootHeight`. That block is an ancestor of
 *                 the block being verified: consensus only verifies a block that extends our
 *                 finalized tip through notarized parents, and every notarized block above a
 *                 finalized one extends it (Simplex safety), so whatever a verifier's height, the
 *                 block at `stateRootHeight` it executed is the one this block builds on. Execution
 *                 is deterministic, so every honest validator's root there is the same and a
 *                 notarized — a fortiori finalized — block carries exactly it. A finality
 *                 certificate of the block, or of a descendant linked to it by parent hashes, thus
 *                 covers the state at `stateRootHeight`: state sync checks a snapshot against it.
 *                 The lag keeps proposers and verifiers from waiting in steady state, where
 *                 execution trails proposals by two or three blocks.
 *
 * On finalization every validator aggregates the block's observations with `aggregateBlock`
 * (deterministic, integer) against its price book, feeds the engine the non-zero aggregates as
 * `OracleUpdate`s (stale ones flagged), applies the block, and persists in one storage sync the
 * finalized block with its certificate, a JSON summary with every transaction's outcome, and a
 * transaction-id index. Only then does `processedHeight` move, so a crash at any point replays
 * from storage what was durable and consensus redelivers the rest (spec §8).
 *
 * Snapshots: every `snapshotIntervalBlocks` finalized blocks (default 100) the node stores a
 * `NodeSnapshot` (src/codec/snapshot.ts) — the engine's snapshot and the previous oracle aggregate
 * per asset, which the next block's aggregation reads — in the same storage sync as the block, and
 * deletes snapshots older than the one before it. Restart: `open()` restores the latest snapshot
 * (checked against its own state root and this genesis) and replays only the finalized blocks
 * stored after it; a snapshot that does not decode or restore is ignored and every block is replayed
 * from genesis, which gives the same state, only slower.
 *
 * State sync (src/node/state-sync.ts): `installSnapshot` replaces the state with a peer's snapshot
 * once the caller has checked it against the state root a finalized block commits to (above); the
 * snapshot and the finalized block at its height are stored, so a restart restores it again. Blocks
 * below it are never applied here; the API serves heights from it upwards.
 *
 * Finality proofs (`finalityProof`): a block finalized through a later block's certificate is
 * stored with that certificate; the proof adds the stored encodings of the blocks from it up to the
 * certified one, so anyone can follow the parent hashes (src/node/client.ts `verifyFinality`).
 */

import {
  adoptChainSnapshot,
  type ChainBridge,
  createChainState,
  decodeBlockPayload,
  depositProblems,
  observationProblems as droppedObservations,
  epochRules,
  epochValidators,
  executeBlock,
  hasAccount,
  nodeStateRoot,
  restoreChainSnapshot,
  STATE_ROOT_LAG_BLOCKS,
  snapshotChainState,
  stateRootHeightFor,
} from '../chain/block-rule.ts';
import type { BlockStore } from '../chain/block-store.ts';
import { batchIdentities, isBatchKey } from '../chain/encrypted-batch.ts';
import { type EonAtHeight, eonAt, judgeEonActivation, type ScheduledEon } from '../chain/eon-schedule.ts';
import {
  batchKeyNeeded,
  type ChainFairOrdering,
  encryptionRequired,
  eonScheduleRules,
  fairPayloadProblem,
  KEY_WAIT_BLOCKS_MAX,
} from '../chain/fair-batches.ts';
import {
  SignedDepositReportCodec,
  VOTE_EXTENSION_OVERHEAD_BYTES,
  VoteExtensionCodec,
} from '../codec/bridge.ts';
import {
  type Block,
  BlockCodec,
  type Certificate,
  CertificateCodec,
  MAX_EXTENSION_BYTES,
  VoteKind,
} from '../codec/consensus.ts';
import {
  type EarlyKeyShare,
  EarlyKeyShareCodec,
  KeyShareVoteExtensionCodec,
  keyShareExtensionOverhead,
  MAX_BATCH_ENVELOPES,
  MAX_VOTE_KEY_SHARES,
  SignedKeyShareCodec,
  SignedOrderEnvelopeCodec,
} from '../codec/envelope.ts';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import {
  type BatchKey,
  BlockPayloadCodec,
  MAX_BLOCK_BATCH_KEYS,
  MAX_BLOCK_EARLY_SHARES,
  MAX_BLOCK_OBSERVATIONS,
} from '../codec/node.ts';
import { type SignedObservation, SignedObservationCodec } from '../codec/oracle.ts';
import { MAX_PENDING_BATCH_BYTES, type PendingBatch } from '../codec/snapshot.ts';
import type { BlockContext, FinalizedBlock, Verdict } from '../consensus/engine.ts';
import { blockDigest, genesisDigest } from '../consensus/votes.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { ShareSigner } from '../crypto/shutter/key-shares.ts';
import type { PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import type { DecodedTransaction } from '../crypto/transaction.ts';
import { createVerifiedRecord } from '../crypto/verified-record.ts';
import { type Engine, SnapshotError } from '../execution/engine.ts';
import type { BlockResult, EngineGenesis } from '../execution/types.ts';
import { createMempool, DEFAULT_MEMPOOL_LIMITS, type Mempool } from '../mempool/mempool.ts';
import { AggregateFlag, aggregateBlock, type BlockAggregate } from '../oracle/aggregate.ts';
import { verifyObservationSignature } from '../oracle/observation.ts';
import type { PriceBook } from '../oracle/price-book.ts';
import { createRealClock } from '../runtime/real/clock.ts';
import type { Clock } from '../runtime/types.ts';
import { epochGateHeight } from './epochs.ts';
import { createKeyShareRelay, type KeyShareRelay } from './fair-ordering.ts';
import { createEnvelopePool, type EnvelopeAdmission } from './fair-ordering-pool.ts';
import type { OracleAsset } from './genesis.ts';
import { trace, tracedIds, traceNow, tracing } from './trace.ts';
import { createTransactionCache } from './transaction-cache.ts';
import { createVerifiedTransactions } from './verified-transactions.ts';
import { type BlockSummary, hex, outcomeOf, type TransactionOutcome } from './view.ts';

/** Blocks whose payload facts we remember (proposed or verified, not yet far below finality). */
const MAX_KNOWN_BLOCKS = 4096;
/** Heights ahead of the finalized one for which peers' observations are kept. */
const OBSERVATION_WINDOW = 64;
/** Observations remembered as verified: every validator's for twice the window (32 validators at most). */
const VERIFIED_OBSERVATIONS_KEPT = 2 * 32 * OBSERVATION_WINDOW;
const SUMMARY_PREFIX = 'node/summary/';
const TX_PREFIX = 'node/tx/';
/** The node state root after each recent height (see the block rule's state root). */
const ROOT_PREFIX = 'node/root/';
/** The batch key block h executed with (that of batch h − 1), so a restart replays it the same. */
const BATCH_KEY_PREFIX = 'node/batch-key/';
/** How long a block waiting for its batch key sleeps between looks when nothing wakes it. */
const BATCH_KEY_POLL_MS = 1000;

// The block rule itself (execution, the node state root and its lag) lives in src/chain/block-rule.ts.
export { hasAccount, nodeStateRoot, STATE_ROOT_LAG_BLOCKS, stateRootHeightFor };

/** Roots kept (memory and storage): verifying a block above the finalized tip needs only the last lag. */
const ROOTS_KEPT = 4 * STATE_ROOT_LAG_BLOCKS;
/** Verifications waiting for our execution to reach a committed height, at most. */
const MAX_ROOT_WAITERS = 256;
/** Blocks between a stored block and the one its certificate certifies, at most, in a proof. */
export const MAX_FINALITY_DESCENDANTS = 8192;

/** A stored finalized block with what proves it final: see `NodeApplication.finalityProof`. */
export interface FinalityProof {
  height: number;
  hash: Uint8Array;
  /** `BlockCodec` encoding. */
  block: Uint8Array;
  certificate: Certificate;
  /** Encodings of the blocks above, up to the one `certificate` certifies (empty: this one). */
  descendants: Uint8Array[];
}

/** What `installSnapshot` did. */
export type InstallSnapshotResult =
  | { status: 'installed'; height: number }
  | { status: 'refused'; reason: 'not-ahead' | 'malformed' | 'root-mismatch' | 'height-mismatch' };

export interface ApplicationLimits {
  /** Most transactions a proposer puts in a block. */
  maxBlockTransactions: number;
  /** Byte budget of a block's transactions (their encodings). */
  maxBlockTransactionBytes: number;
  /** A proposal timed further than this ahead of our wall clock is refused. */
  maxFutureBlockMs: number;
  /**
   * With nothing selectable in the mempool, the leader waits this long after its parent's time
   * before proposing an empty block (the oracle still moves). Keep it well under the consensus
   * leader timeout. Transactions arriving meanwhile are proposed at once.
   */
  emptyBlockIntervalMs: number;
  /** A snapshot of the engine is stored every this many finalized blocks (0: never). */
  snapshotIntervalBlocks: number;
  /** How long a proposer or verifier waits for its execution to reach a committed state root. */
  stateRootWaitMs: number;
  /**
   * How long a proposer holding observations for its height, but fewer than 2f + 1 fresh ones
   * for some asset, waits for more to arrive on votes before proposing (a stale aggregate pauses
   * marks). Keep it well under the consensus leader timeout.
   */
  observationWaitMs: number;
  /** Fair ordering: how far above the next height an envelope's target may be at admission. */
  envelopeAheadBlocks: number;
  /** Fair ordering: byte budget of a block's envelopes. */
  maxBlockEnvelopeBytes: number;
  /** Fair ordering: envelopes the pool holds, in all and per sender. */
  maxPooledEnvelopes: number;
  maxPooledEnvelopesPerSender: number;
}

export const DEFAULT_APPLICATION_LIMITS: ApplicationLimits = Object.freeze({
  maxBlockTransactions: 4096,
  maxBlockTransactionBytes: 768 * 1024,
  maxFutureBlockMs: 2000,
  emptyBlockIntervalMs: 250,
  snapshotIntervalBlocks: 100,
  stateRootWaitMs: 5000,
  observationWaitMs: 200,
  envelopeAheadBlocks: 8,
  maxBlockEnvelopeBytes: 256 * 1024,
  maxPooledEnvelopes: 8192,
  maxPooledEnvelopesPerSender: 16,
});
/** Snapshots kept: the latest and the one before it, in case the latest cannot be restored. */
const SNAPSHOTS_KEPT = 2;

const SELF_SLOT = 'self';
const bySlot = (a: [string, Uint8Array], b: [string, Uint8Array]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export interface NodeApplicationOptions {
  chainId: number;
  /** Ed25519 keys of the validators, by index. */
  validators: readonly Uint8Array[];
  /**
   * The key of a vote's signer: consensus numbers a vote's signer by its index in the validator
   * set of the vote's view's epoch (src/consensus/epochs.ts), which after a set change is not the
   * genesis index. Default: `validators[signer]`, every view (no set changes).
   */
  signerKey?: (view: number, signer: number) => Uint8Array | undefined;
  self: number;
  engineGenesis: EngineGenesis;
  assets: readonly OracleAsset[];
  /** The real runtime's SQLite storage, or `createKvBlockStore` over the simulator's. */
  storage: BlockStore;
  /** Milliseconds since the Unix epoch: block times come from here (only when proposing). */
  wallClock: () => number;
  /** Monotonic milliseconds for rate limits and latency. */
  monotonicClock: () => number;
  /** Timers (waiting for a state root, a proposer's poll of its mempool); default the real clock. */
  clock?: Clock;
  /** Our signed observation for `height` (encoded), or undefined when we have no prices. */
  observe: (height: number) => Uint8Array | undefined;
  /** The EVM vault this network bridges (genesis); absent: no bridge. */
  bridge?: ChainBridge;
  /**
   * Our signed deposit report for `height` (an encoded `SignedDepositReport`,
   * src/interop/evm/deposit-quorum.ts `createDepositReporter`), or undefined when we hold none.
   */
  reportDeposits?: (height: number, maxBytes: number) => Uint8Array | undefined;
  limits?: Partial<ApplicationLimits>;
  mempoolLimits?: Partial<typeof DEFAULT_MEMPOOL_LIMITS>;
  /**
   * An injected bug, for the simulator's mutation test only (`palisade sim --mutation
   * admit-unfunded`): the mempool admits keys without an account (no NO_ACCOUNT refusal).
   */
  admitWithoutAccount?: boolean;
  /** Fair ordering (issue 14): the genesis eon keyset and our share of it; absent: none. */
  fairOrdering?: NodeFairOrdering;
  /**
   * Fair ordering whose eon keyset the validators are still making (src/node/eon-keyset.ts): the
   * encrypted-only markets refuse plain orders already, envelopes are refused with
   * EON_KEY_PENDING, and `enableFairOrdering` brings the keyset in before any block runs.
   */
  pendingFairOrdering?: { readonly encryptedOnlySeries?: readonly number[] };
}

/** A validator's part in fair ordering: the chain's eon keyset and its own share of it. */
export interface NodeFairOrdering {
  readonly rules: ChainFairOrdering;
  /**
   * Our share of the fixed keyset s_i (the eon DKG's output for our index); absent with eon
   * epochs, whose shares come per eon (`addEon`), and for a validator that holds none.
   */
  readonly secretShare?: bigint;
  /** Signs our key shares: our validator identity key (`validators[self]`). */
  readonly signer: ShareSigner;
  /** Runs the block rule's pairings (decryption, key checks); default noble. mcl-wasm is faster. */
  readonly pairingBackend?: PairingBackend;
  /** Our identity key (a keyper is found by it in each eon's set); default `validators[self]`. */
  readonly publicKey?: Uint8Array;
}

/** Transactions executed, encrypted (opened from envelopes) and plain, and envelopes admitted. */
export interface OrderFlow {
  encryptedExecuted: number;
  plainExecuted: number;
  envelopesAdmitted: number;
  /** Admitted envelopes opened under their keys whose order ran. */
  envelopesDecrypted: number;
  /** Opened but charged and dropped: undecryptable or an invalid plaintext (fee and nonce spent). */
  envelopesUndecryptable: number;
}

/** What a block did with encrypted orders, as listeners see it. */
export interface AppliedFairOrdering {
  /** Envelopes of this block admitted (fee paid, nonce reserved, waiting for the key). */
  admitted: number;
  /** Earlier blocks' encrypted transactions that ran first in this block. */
  executed: number;
  /** Heights of the batches this block opened. */
  openedHeights: number[];
  /** Validators this block's early-share evidence proves Byzantine. */
  earlyShareOffenders: number[];
}

/** What one finalized block did, as listeners see it. */
export interface AppliedBlock {
  summary: BlockSummary;
  result: BlockResult;
  aggregate: BlockAggregate;
  /** Proposal seen → finalized on our monotonic clock, or null when we never saw the proposal. */
  finalityLatencyMs: number | null;
  /** True while replaying stored blocks at start-up. */
  replay: boolean;
  fair: AppliedFairOrdering;
}

function envelopeNoncesOf(envelopes: readonly Uint8Array[]): KnownBlock['envelopeNonces'] {
  const nonces: KnownBlock['envelopeNonces'] = [];
  for (const encoded of envelopes) {
    try {
      const { body } = SignedOrderEnvelopeCodec.decode(encoded);
      nonces.push({ sender: body.sender, nonce: body.nonce });
    } catch {
      // Dropped on execution (`admitEnvelopes`): it reserves nothing.
    }
  }
  return nonces;
}

/** A leader of `height` waiting in `propose`; `ready` once an envelope it would carry is pooled. */
interface EnvelopeWait {
  readonly height: number;
  readonly nextNonce: (sender: Uint8Array) => number;
  ready: boolean;
}

interface KnownBlock {
  height: number;
  parentHex: string;
  timeMs: number;
  transactionIds: string[];
  /** Heights of the batch keys the block carries. */
  batchKeyHeights: number[];
  /** The (sender, nonce) of each envelope the block carries that decodes, in block order. */
  envelopeNonces: { sender: Uint8Array; nonce: number }[];
  seenAtMs: number;
}

export interface NodeApplication {
  readonly engine: Engine;
  readonly mempool: Mempool;
  readonly priceBook: PriceBook;
  /**
   * Records that `encoded`'s signature was verified off the event loop (src/node/signature-pool.ts),
   * so admission and execution answer from the record instead of verifying again.
   */
  recordVerified(encoded: Uint8Array): void;
  /**
   * The transaction encodings of a finalized block not yet to execute whose signatures are not in
   * the record: those this validator has not admitted (it fell behind, or the block outran their
   * gossip). A node verifies them on its signature pool and records them before `finalized`, so
   * that execution does not verify them one by one on the event loop. Empty for a block at or
   * below the executed height.
   */
  unverifiedTransactions(block: Block): Uint8Array[];
  /**
   * An encrypted-order envelope (`SignedOrderEnvelope` encoding) for the envelope pool, judged
   * against the next height. Never throws; 'FAIR_ORDERING_DISABLED' without an eon keyset.
   */
  submitEnvelope(
    bytes: Uint8Array,
  ): EnvelopeAdmission | { ok: false; code: 'FAIR_ORDERING_DISABLED' | 'EON_KEY_PENDING' };
  /**
   * The eon keyset the validators agreed on (`pendingFairOrdering`), with our share; call before
   * consensus runs a block. @throws InvariantError after a block ran, or with fair ordering already on
   */
  enableFairOrdering(fair: NodeFairOrdering): void;
  /** The eon keyset blocks are encrypted to; undefined before it exists or without fair ordering. */
  fairOrderingRules(): ChainFairOrdering | undefined;
  /**
   * A later window's eon keyset our set agreed on (src/node/eon-keyset.ts): its activation record,
   * which our proposals carry until a finalized block records it, and our share of it when we
   * are one of its keypers. Idempotent.
   */
  addEon(eon: number, activation: Uint8Array, secretShare?: bigint): void;
  /** The eon that applies at `height` on our executed chain (undefined: not recorded, or no fair ordering). */
  eonAt(height: number): EonAtHeight | undefined;
  /** The eons finalized blocks recorded that the state still keeps (src/chain/eon-schedule.ts). */
  recordedEons(): readonly ScheduledEon[];
  /** The batches pending on the executed chain (what the node state root hashes beside the eons). */
  pendingBatches(): readonly PendingBatch[];
  /** Envelopes waiting in the pool. */
  pooledEnvelopes(): number;
  /**
   * Restores the latest stored snapshot, if any, and replays the stored finalized blocks after it
   * into the engine; call once before consensus starts.
   */
  open(): { snapshotHeight: number; replayedBlocks: number };
  propose(context: BlockContext): Promise<Uint8Array | undefined>;
  verify(context: BlockContext, payload: Uint8Array): Verdict | Promise<Verdict>;
  finalized(block: FinalizedBlock): Promise<void>;
  /**
   * Whether `finalized` is waiting for the key of the batch below its block (the shares on later
   * votes, or a later block's record). State sync need not wait for such a block to be applied.
   */
  awaitingBatchKey(): boolean;
  /** Ends any wait in `finalized` (the node stops); the block waiting is not executed. */
  close(): void;
  /** A block just finalized, before `finalized` gets it: the batch keys it records are learnt. */
  finalizedAhead(block: Block): void;
  processedHeight(): number;
  extension(kind: number, view: number, digest: Uint8Array): Uint8Array;
  /** Whether a late vote's extension is still wanted (it carries decryption-key shares). */
  wantsLateExtension(extension: Uint8Array): boolean;
  /**
   * Our signed key-share statement for each batch as soon as we executed its block (the block is
   * final): the node sends it to every validator at once, rather than only on our next vote, which
   * may already have gone out before the execution ended. Returns the unsubscribe function.
   */
  onKeyShares(listener: (statement: Uint8Array) => void): () => void;
  /**
   * A `SignedKeyShareMessage` a peer sent directly (see `onKeyShares`): held for its batch when it
   * checks. False when it is junk (does not decode or is not signed by the validator it names).
   */
  receiveKeyShares(statement: Uint8Array): boolean;
  verifyExtension(
    signer: number,
    kind: number,
    view: number,
    digest: Uint8Array,
    extension: Uint8Array,
  ): boolean;
  /** Latest finalized block's digest and view (genesis: zero digest, view 0). */
  tip(): { height: number; digest: Uint8Array; view: number; timeMs: number };
  summary(height: number): BlockSummary | undefined;
  transactionLocation(id: string): { height: number; outcome: TransactionOutcome } | undefined;
  onApplied(listener: (applied: AppliedBlock) => void): () => void;
  /**
   * Called once per block finalized by consensus (never for a replay), as soon as it is executed
   * and its writes are buffered, before they are synced: what traders see (the block stream, fills)
   * need not wait for this validator's disk, since a finalization certificate, not our copy, makes
   * a block final. `processedHeight` and `onApplied` still move only after the sync.
   */
  onExecuted(listener: (executed: AppliedBlock) => void): () => void;
  stats(): {
    proposed: number;
    verified: number;
    refusedProposals: Record<string, number>;
    /** Finalized blocks' order flow since start (replays included): encrypted beside plain. */
    orderFlow: OrderFlow;
  };
  /** The node state root after `height`, when we know it (the last few heights, and genesis). */
  stateRootAt(height: number): Uint8Array | undefined;
  /**
   * The stored block at `height` with its certificate and, when that certifies a later block, the
   * stored blocks up to it; undefined when not stored or when that chain is not complete yet.
   */
  finalityProof(height: number): FinalityProof | undefined;
  /** Heights of the snapshots stored and synced, ascending. */
  snapshotHeights(): number[];
  /** A stored snapshot's `NodeSnapshotCodec` encoding (the last one read is cached). */
  snapshotBytes(height: number): Uint8Array | undefined;
  /**
   * Replaces the state with a snapshot (state sync). The caller has checked that `committedRoot`
   * is the state root a finalized block commits to at the snapshot's height and that `block` is
   * the finalized block at that height; this checks the snapshot against the root. The writes
   * are buffered; the caller syncs storage.
   */
  installSnapshot(
    encoded: Uint8Array,
    finalized: { block: Block; digest: Uint8Array; certificate: Certificate; committedRoot: Uint8Array },
  ): InstallSnapshotResult;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function heightKey(prefix: string, height: number): string {
  return prefix + height.toString().padStart(16, '0');
}

/**
 * @example const app = createNodeApplication({ chainId, validators, self, engineGenesis, assets, storage, wallClock: Date.now, monotonicClock: () => performance.now(), observe });
 */
export function createNodeApplication(options: NodeApplicationOptions): NodeApplication {
  const limits: ApplicationLimits = { ...DEFAULT_APPLICATION_LIMITS, ...options.limits };
  const { chainId, storage } = options;
  const mempoolLimits = { ...DEFAULT_MEMPOOL_LIMITS, ...options.mempoolLimits };
  // Each signature is verified once here: at admission, recorded by its whole encoding; the
  // engine's check of a finalized block's transaction is answered from that record.
  const verifiedTransactions = createVerifiedTransactions({ maxEntries: 2 * mempoolLimits.maxTransactions });
  // Each observation is verified when its vote arrives; the proposal's check, the leader's wait
  // and execution then answer from this record instead of verifying it three more times.
  const verifiedObservations = createVerifiedRecord(verifyObservationSignature, {
    maxEntries: VERIFIED_OBSERVATIONS_KEPT,
  });
  const verifyObservation = (observation: SignedObservation, encoded: Uint8Array) =>
    verifiedObservations.verify(observation, encoded);
  // Each encoding decoded once here: at admission; the proposal check and execution ask again.
  const transactionCache = createTransactionCache();
  const clock = options.clock ?? createRealClock();
  const chain = createChainState(
    {
      chainId,
      validators: options.validators,
      assets: options.assets,
      engineGenesis: options.engineGenesis,
      ...(options.bridge === undefined ? {} : { bridge: options.bridge }),
      ...(options.fairOrdering === undefined ? {} : { fairOrdering: options.fairOrdering.rules }),
    },
    {
      verifySignature: (transaction, encoded) => verifiedTransactions.check(transaction, encoded),
      verifyObservation,
      ...(options.fairOrdering?.pairingBackend === undefined
        ? {}
        : { pairingBackend: options.fairOrdering.pairingBackend }),
      decodeTransaction: transactionCache.decode,
    },
  );
  const { priceBook } = chain;
  /** The encrypted-only markets, known from genesis whether or not the eon keyset exists yet. */
  const encryptedOnly =
    options.fairOrdering?.rules.encryptedOnlySeries === undefined
      ? options.pendingFairOrdering?.encryptedOnlySeries === undefined
        ? undefined
        : { encryptedOnlySeries: options.pendingFairOrdering.encryptedOnlySeries }
      : options.fairOrdering.rules;
  const basePool = createMempool({
    chainId,
    ...mempoolLimits,
    expectedNonce: (account) => chain.engine.nonceOf(account) ?? 0,
    ...(options.admitWithoutAccount === true
      ? {}
      : { accountExists: (account: Uint8Array) => hasAccount(chain.engine, options.engineGenesis, account) }),
    verifySignature: (transaction, encoded) => verifiedTransactions.verify(transaction, encoded),
    decodeTransaction: transactionCache.decode,
    ...(encryptedOnly === undefined
      ? {}
      : { encryptionRequired: (transaction) => encryptionRequired(encryptedOnly, transaction) }),
  });
  // A leader waiting in `propose` (for transactions, an unknown ancestor, observations or a batch
  // key) is woken by what it waits for, not by a poll: each waiter is a one-shot callback.
  const proposerWaiters = new Set<() => void>();
  /** Leaders waiting in `propose` for something to carry, with what an envelope must be to end it. */
  const envelopeWaits = new Set<EnvelopeWait>();
  const wakeProposers = () => {
    for (const waiter of [...proposerWaiters]) waiter();
  };
  /** Resolves at the next `wakeProposers`, or when the wall clock reaches `untilMs`. */
  const nextChange = (untilMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      let cancel: (() => void) | undefined;
      const done = () => {
        proposerWaiters.delete(done);
        cancel?.();
        resolve();
      };
      proposerWaiters.add(done);
      cancel = clock.setTimer(Math.max(1, untilMs - options.wallClock()), done);
    });
  const mempool: Mempool = {
    ...basePool,
    admit(bytes, context) {
      const result = basePool.admit(bytes, context);
      if (result.status === 'accepted') wakeProposers();
      return result;
    },
  };
  const known = new Map<string, KnownBlock>();
  let fair = options.fairOrdering;
  /** Our shares of the eons after the genesis one (each made by its window's DKG), by eon. */
  const eonShares = new Map<number, bigint>();
  /** Activation records of agreed eon keysets, by eon: a leader records each once (eon-schedule.ts). */
  const offeredActivations = new Map<number, Uint8Array>();
  const scheduleRules = () =>
    chain.rules.fairOrdering === undefined
      ? undefined
      : eonScheduleRules(chain.rules.fairOrdering, options.validators);
  /** The eon that applies at `height` as our executed chain knows it. */
  const eonHere = (height: number): EonAtHeight | undefined => {
    const rules = scheduleRules();
    return rules === undefined ? undefined : eonAt(rules, chain.eons ?? [], height);
  };
  /** One share relay per eon: its keypers, its threshold, our share of it if we hold one. */
  const relays = new Map<number, KeyShareRelay>();
  const relayOfEon = (eon: EonAtHeight): KeyShareRelay | undefined => {
    if (fair === undefined) return undefined;
    const existing = relays.get(eon.eon);
    if (existing !== undefined) return existing;
    const ownKey = fair.publicKey ?? options.validators[options.self];
    const self = ownKey === undefined ? -1 : eon.validators.findIndex((key) => bytesEqual(key, ownKey));
    const share = fair.rules.eonEpochBlocks === undefined ? fair.secretShare : eonShares.get(eon.eon);
    const created = createKeyShareRelay({
      context: {
        chainId,
        eon: eon.eon,
        threshold: eon.threshold,
        eonPublicKey: eon.eonPublicKey,
        validatorKeys: eon.validators,
        publicShares: eon.publicShares,
        ...(fair.pairingBackend === undefined ? {} : { backend: fair.pairingBackend }),
      },
      self: Math.max(self, 0),
      ...(self >= 0 && share !== undefined ? { secretShare: share } : {}),
      signer: fair.signer,
    });
    relays.set(eon.eon, created);
    return created;
  };
  /** The relay of the eon of block `height`; undefined without fair ordering or an eon there. */
  const relayAt = (height: number): KeyShareRelay | undefined => {
    const eon = eonHere(height);
    return eon === undefined ? undefined : relayOfEon(eon);
  };
  const envelopePoolOf = (fair: NodeFairOrdering | undefined) =>
    fair === undefined
      ? undefined
      : createEnvelopePool({
          chainId,
          eon: fair.rules.eon,
          ...(fair.rules.eonEpochBlocks === undefined
            ? {}
            : { eonAt: (target: number) => eonHere(target)?.eon }),
          aheadMax: limits.envelopeAheadBlocks,
          maxEnvelopes: limits.maxPooledEnvelopes,
          maxPerSender: limits.maxPooledEnvelopesPerSender,
          nextNonce: (sender) => chain.engine.nonceOf(sender) ?? 0,
        });
  /** The context a verifier judges a proposal's fair-ordering fields in (eons as executed here). */
  const fairVerifierContext = () => {
    const committed = chain.engine.validatorSet();
    return {
      ...chain.rules,
      eons: chain.eons ?? [],
      executedHeight: chain.engine.height,
      ...(committed === undefined ? {} : { committed }),
    };
  };
  /**
   * The activation a leader of `height` records: an offered one that passes the block rule on our
   * state, which must be the parent's (we executed `height − 1`); offers for windows passed go.
   */
  const eonActivationFor = (height: number): Uint8Array[] => {
    const rules = chain.rules.fairOrdering;
    if (rules?.eonEpochBlocks === undefined || offeredActivations.size === 0) return [];
    if (chain.engine.height !== height - 1) return [];
    const committed = chain.engine.validatorSet();
    for (const [eon, bytes] of [...offeredActivations].sort((a, b) => a[0] - b[0])) {
      const verdict = judgeEonActivation(
        {
          chainId,
          rules: eonScheduleRules(rules, options.validators),
          recorded: chain.eons ?? [],
          committed,
        },
        height,
        bytes,
      );
      if (verdict.ok) return [bytes];
      if (verdict.problem !== 'eon-activation-set-unsettled') offeredActivations.delete(eon);
    }
    return [];
  };
  let envelopePool = envelopePoolOf(fair);
  /**
   * Batch keys from outside our relay, by height: records in blocks we verified or saw finalized
   * (each passed the pairing check) and, on a restart, the ones stored with the blocks they opened.
   */
  const knownKeys = new Map<number, Uint8Array>();
  /** Records of keys for heights whose eon is not recorded in our executed state yet (unchecked). */
  const uncheckedKeys = new Map<number, Uint8Array>();
  /**
   * Keys of batches opened here that no block at or below our executed height records yet: a
   * leader records them (`batchKeys`) for validators that missed the votes.
   */
  const unrecorded = new Map<number, Uint8Array>();
  /** Early-share evidence to record on chain, by "validator:batch" (until its batch is reached). */
  const earlyEvidence = new Map<string, EarlyKeyShare>();
  /** Observations by height, then by validator index (first valid one wins). */
  // Observations and deposit reports by height, then by slot: SELF_SLOT for ours, the signer's
  // key (hex) for a peer's.
  const observations = new Map<number, Map<string, Uint8Array>>();
  /** Deposit reports by height, then by validator index (first valid one wins). */
  const depositReports = new Map<number, Map<string, Uint8Array>>();
  const listeners = new Set<(applied: AppliedBlock) => void>();
  const executedListeners = new Set<(executed: AppliedBlock) => void>();
  const keyShareListeners = new Set<(statement: Uint8Array) => void>();
  /** The highest height consensus told us is final (`finalizedAhead`), at least our executed one. */
  let finalizedSeen = 0;
  const refused: Record<string, number> = {};
  let proposed = 0;
  let verified = 0;
  const orderFlow: OrderFlow = {
    encryptedExecuted: 0,
    plainExecuted: 0,
    envelopesAdmitted: 0,
    envelopesDecrypted: 0,
    envelopesUndecryptable: 0,
  };
  let durableHeight = 0;
  /** `finalized` is waiting for a batch key (see there); `close` ends such a wait. */
  let awaitingKey = false;
  let closed = false;
  let tipDigest: Uint8Array = genesisDigest(chainId);
  // The block the engine has executed but not yet synced (between `execute` and `storage.sync()`
  // in `finalized`): `tip()` names it, so a status never pairs the engine's height with the
  // digest of the block below it.
  let executedUnsynced: { digest: Uint8Array; view: number } | undefined;
  let tipView = 0;
  let opened = false;
  /** Node state roots of recent heights (the block rule's state root); older ones in storage. */
  const roots = new Map<number, Uint8Array>();
  const genesisRoot = nodeStateRoot(chain.engine.stateRoot(), []);
  const rootWaiters: { height: number; resolve: (reached: boolean) => void }[] = [];
  /** Moves when state sync replaces the state, so a block applied across it does not move the tip. */
  let generation = 0;
  let snapshotCache: { height: number; bytes: Uint8Array } | undefined;

  const recordRoot = (height: number, root: Uint8Array) => {
    roots.set(height, root);
    roots.delete(height - ROOTS_KEPT);
    for (let i = rootWaiters.length - 1; i >= 0; i--) {
      if (rootWaiters[i]!.height <= height) rootWaiters.splice(i, 1)[0]!.resolve(true);
    }
  };

  /** The height executed before proposing or voting at `height` (src/node/epochs.ts). */
  const epochGate = (height: number) =>
    epochGateHeight(options.engineGenesis.validatorSet?.epochBlocks, height);

  /** Resolves true once our execution has reached `height`, false after `stateRootWaitMs`. */
  const reachHeight = (height: number): Promise<boolean> => {
    if (chain.engine.height >= height) return Promise.resolve(true);
    if (rootWaiters.length >= MAX_ROOT_WAITERS) return Promise.resolve(false);
    return new Promise((resolve) => {
      const cancel = clock.setTimer(limits.stateRootWaitMs, () => {
        const index = rootWaiters.indexOf(waiter);
        if (index >= 0) rootWaiters.splice(index, 1);
        resolve(false);
      });
      const waiter = {
        height,
        resolve: (reached: boolean) => {
          cancel();
          resolve(reached);
        },
      };
      rootWaiters.push(waiter);
    });
  };

  const refuse = (reason: string): false => {
    refused[reason] = (refused[reason] ?? 0) + 1;
    return false;
  };

  const remember = (digest: Uint8Array, entry: KnownBlock) => {
    known.set(toHex(digest), entry);
    // An ancestor a waiting leader could not see past may be this one.
    wakeProposers();
    if (known.size <= MAX_KNOWN_BLOCKS) return;
    // Forget the lowest heights first: they are finalized or abandoned.
    const sorted = [...known.entries()].sort((a, b) => a[1].height - b[1].height);
    for (const [key] of sorted.slice(0, known.size - MAX_KNOWN_BLOCKS)) known.delete(key);
  };

  /**
   * Transaction ids in the unfinalized ancestors of `parentHex`, or undefined when one of them is
   * unknown here: a proposer that cannot see every transaction above the finalized tip must not
   * propose any, or it may repeat one (executed as BAD_NONCE, wasting the block).
   */
  const ancestorTransactions = (parentHex: string): Set<string> | undefined => {
    const ids = new Set<string>();
    let cursorHex = parentHex;
    for (let steps = 0; steps < MAX_KNOWN_BLOCKS; steps++) {
      if (cursorHex === toHex(tipDigest)) return ids;
      const cursor = known.get(cursorHex);
      // An ancestor we never verified (it reached us through sync): its transactions are unknown.
      if (cursor === undefined) return undefined;
      // Executed already (its finalization is being persisted): the mempool no longer holds them.
      if (cursor.height <= chain.engine.height) return ids;
      for (const id of cursor.transactionIds) ids.add(id);
      cursorHex = cursor.parentHex;
    }
    return undefined;
  };

  /**
   * Fair ordering: each sender's next envelope nonce once the unexecuted ancestors up to and
   * including `parentHex` execute. Their envelopes reserve nonces in block order when they run
   * (`admitEnvelopes`: the next nonce or nothing), replayed here the same way, so a proposal
   * continues a sender's run instead of leaving a gap until those blocks execute, and never
   * carries a nonce an ancestor already does. Undefined with an ancestor unknown here (it reached
   * us through sync): what it carries is unknown, and an envelope stays valid for several blocks,
   * so a proposal over it carries no envelope rather than repeat one of its.
   */
  const ancestorNextNonce = (parentHex: string): ((sender: Uint8Array) => number) | undefined => {
    const executed = (sender: Uint8Array) => chain.engine.nonceOf(sender) ?? 0;
    const path: KnownBlock[] = [];
    let cursorHex = parentHex;
    for (let steps = 0; ; steps++) {
      if (steps >= MAX_KNOWN_BLOCKS) return undefined;
      if (cursorHex === toHex(tipDigest)) break;
      const cursor = known.get(cursorHex);
      if (cursor === undefined) return undefined;
      if (cursor.height <= chain.engine.height) break;
      path.push(cursor);
      cursorHex = cursor.parentHex;
    }
    const next = new Map<string, number>();
    for (const block of path.reverse()) {
      // A block admits at most MAX_BATCH_ENVELOPES (a Byzantine leader may carry more): the rest
      // reserve nothing, so they must not move the next nonce here either.
      let admitted = 0;
      for (const { sender, nonce } of block.envelopeNonces) {
        if (admitted >= MAX_BATCH_ENVELOPES) break;
        const key = toHex(sender);
        const expected = next.get(key) ?? chain.engine.nonceOf(sender);
        if (expected === undefined || nonce !== expected) continue;
        next.set(key, expected + 1);
        admitted++;
      }
    }
    return (sender) => next.get(toHex(sender)) ?? executed(sender);
  };

  /**
   * Fair ordering: heights of the batch keys the unexecuted ancestors up to `parentHex` record;
   * undefined when one of them is unknown here (then what it records is unknown too).
   */
  const recordedAbove = (parentHex: string): Set<number> | undefined => {
    const carried = new Set<number>();
    let cursorHex = parentHex;
    for (let steps = 0; ; steps++) {
      if (steps >= MAX_KNOWN_BLOCKS) return undefined;
      if (cursorHex === toHex(tipDigest)) break;
      const cursor = known.get(cursorHex);
      if (cursor === undefined) return undefined;
      if (cursor.height <= chain.engine.height) break;
      for (const height of cursor.batchKeyHeights) carried.add(height);
      cursorHex = cursor.parentHex;
    }
    return carried;
  };

  /** The identities of pending batch `height` (executed here, keys not yet used), memoized. */
  const identitiesMemo = new Map<number, readonly Uint8Array[]>();
  const pendingIdentities = (height: number): readonly Uint8Array[] | undefined => {
    const memo = identitiesMemo.get(height);
    if (memo !== undefined) return memo;
    const batch = chain.pending.find((pending) => pending.height === height);
    const identities = batch === undefined ? undefined : batchIdentities(batch.envelopes);
    if (identities !== undefined) identitiesMemo.set(height, identities);
    return identities;
  };

  /** The relay of batch `height`, opened with its identities once the batch is pending here. */
  const relayOfBatch = (height: number): KeyShareRelay | undefined => {
    const relay = relayAt(height);
    if (relay === undefined || relay.opened(height)) return relay;
    const identities = pendingIdentities(height);
    if (identities !== undefined) relay.open(height, identities);
    return relay;
  };

  /**
   * Batch `height`'s keys once it is final here: from 2f + 1 good statements (ours added first:
   * `height` is executed, so releasing it is allowed), or a record or stored keys; else undefined.
   */
  const heldKey = (height: number): Uint8Array | undefined => {
    if (fair === undefined || height > chain.engine.height) return undefined;
    const recorded = knownKeys.get(height);
    if (recorded !== undefined) return recorded;
    const eon = eonHere(height);
    const identities = pendingIdentities(height);
    const unchecked = uncheckedKeys.get(height);
    if (unchecked !== undefined && eon !== undefined && identities !== undefined) {
      uncheckedKeys.delete(height);
      if (isBatchKey(identities, unchecked, eon.eonPublicKey, fair.pairingBackend)) {
        knownKeys.set(height, unchecked);
        return unchecked;
      }
    }
    const relay = eon === undefined ? undefined : relayOfBatch(height);
    if (relay === undefined || eon === undefined) return undefined;
    relay.attach(height, chain.engine.height);
    // Combining costs pairings: not before enough shares are held to succeed.
    if (relay.held(height) < eon.threshold) return undefined;
    const outcome = relay.key(height, chain.engine.height);
    return outcome?.ok ? outcome.key : undefined;
  };

  /** A record of batch `height`'s keys from a block: kept when it may still be needed and checks. */
  const learnKey = (height: number, key: Uint8Array, checked: boolean) => {
    if (fair === undefined || knownKeys.has(height) || height + 2 < chain.engine.height) return;
    if (!checked) {
      const eon = eonHere(height);
      const identities = pendingIdentities(height);
      // A record for a batch our execution has not reached yet (a validator catching up sees
      // later blocks first), or whose eon it has not recorded, waits unchecked (`heldKey`).
      if (eon === undefined || identities === undefined) {
        if (height > chain.engine.height && uncheckedKeys.size < KEY_WAIT_BLOCKS_MAX)
          uncheckedKeys.set(height, key.slice());
        return;
      }
      if (!isBatchKey(identities, key, eon.eonPublicKey, fair.pairingBackend)) return;
    }
    knownKeys.set(height, key.slice());
    wakeProposers();
  };

  /**
   * The highest batch whose key shares a vote of `kind` on `digest` may carry: the batches whose
   * next block's contents are fixed for good, as the vote itself shows. A finalize vote for a block
   * at height H is cast after seeing it notarized, and a notarize vote for one at H extends a
   * notarized block at H − 1; a notarized block stays in the chain (every later proposal extends
   * the highest certified view), so in both cases the block after batch h ≤ H − 1 (resp. H − 2) can
   * no longer change. Nullify votes carry none, and neither do votes for a block we do not know.
   *
   * Why: the keys of batch h open h's admitted envelopes only (each has its own identity), and
   * those run first in h + 1 whatever h + 1 carries, so a share on any vote after h is final would
   * leak nothing ahead of its place. The rule is kept because it costs nothing (h + 1 executes
   * only once final, on the finalize votes that carry the shares) and it keeps the keys of h
   * unknown until the block that runs after h's orders is fixed: nobody can choose h + 1's plain
   * transactions after reading h's orders, not even to react to them.
   */
  const shareableBatchMax = (kind: number, digest: Uint8Array): number => {
    if (kind === VoteKind.nullify) return -1;
    const block = known.get(toHex(digest));
    if (block === undefined) return -1;
    return kind === VoteKind.finalize ? block.height - 1 : block.height - 2;
  };

  /**
   * Our signed shares for the pending batches (every one final: they are executed here) up to
   * batch `maxBatch` (`shareableBatchMax`), oldest first, within `room` bytes and
   * `MAX_VOTE_KEY_SHARES`. A block that is only voted for, not final, is never among them: its
   * envelopes are not a pending batch until it executes.
   */
  const ownShares = (room: number, maxBatch: number): Uint8Array[] => {
    const shares: Uint8Array[] = [];
    if (fair === undefined) return shares;
    let used = keyShareExtensionOverhead(0);
    for (const batch of chain.pending) {
      if (shares.length >= MAX_VOTE_KEY_SHARES || batch.height > maxBatch) break;
      const bytes = relayOfBatch(batch.height)?.attach(batch.height, chain.engine.height);
      if (bytes === undefined) continue;
      if (used + bytes.length + 4 > room) break;
      shares.push(bytes);
      used += bytes.length + 4;
    }
    return shares;
  };

  /**
   * A peer's key share from its vote: its own (a vote carries only its signer's shares), signed by
   * it; held for its batch. A valid share for a height above our finalized one is kept as evidence
   * against its signer. Shares far outside the heights we collect for are accepted and not kept.
   */
  const acceptKeyShare = (signer: number | undefined, bytes: Uint8Array): boolean => {
    if (fair === undefined) return false;
    let message: ReturnType<typeof SignedKeyShareCodec.decode>;
    try {
      message = SignedKeyShareCodec.decode(bytes);
    } catch {
      return false;
    }
    // On a vote, the statement must be the vote signer's own; sent directly, its signature (the
    // relay checks it) is all that names its sender.
    if (signer !== undefined && message.validatorIndex !== signer) return false;
    const batch = Number(message.batch);
    // Early is above what consensus has shown us final, not above what we executed: a statement
    // pushed the moment its sender executed a block we have not executed yet is no early release.
    const finalized = Math.max(chain.engine.height, finalizedSeen);
    if (batch > finalized + OBSERVATION_WINDOW || batch + KEY_WAIT_BLOCKS_MAX < finalized) return true;
    // A batch whose eon we have not seen recorded (ahead of our execution): accepted, not kept.
    const relay = relayOfBatch(batch);
    if (relay === undefined) return true;
    const verdict = relay.receive(bytes, finalized);
    if (!verdict.ok) return verdict.code === 'DUPLICATE';
    if (verdict.early === true) {
      const caught = relay.evidence[relay.evidence.length - 1]!;
      const key = `${signer}:${batch}`;
      if (!earlyEvidence.has(key) && earlyEvidence.size < 4 * MAX_BLOCK_EARLY_SHARES)
        earlyEvidence.set(key, caught);
    }
    wakeProposers();
    return true;
  };

  /** The early-share evidence a block at `height` can record (its batch not below `height`). */
  const earlySharesFor = (height: number): Uint8Array[] => {
    const list: Uint8Array[] = [];
    for (const evidence of earlyEvidence.values()) {
      if (list.length >= MAX_BLOCK_EARLY_SHARES) break;
      if (Number(evidence.share.batch) < height) continue;
      // The block rule stamps evidence with the chain's own finalized height below the block.
      list.push(EarlyKeyShareCodec.encode({ share: evidence.share, finalizedHeightAtRecord: height - 1 }));
    }
    return list;
  };

  const parentTime = (parentHex: string): number | undefined => {
    if (parentHex === toHex(tipDigest)) return chain.engine.timeMs;
    return known.get(parentHex)?.timeMs;
  };

  /** Observations `aggregateBlock` would drop, for this height and block time. */
  const observationProblems = (height: number, timeMs: number, list: readonly Uint8Array[]) =>
    droppedObservations(epochRules(chain), height, timeMs, list, verifyObservation);

  /**
   * Whether we hold observations for `height` but, at a block time of now, fewer than 2f + 1 of
   * them would be fresh for some asset (the aggregate would be STALE). Holding none is not a lack:
   * a network without prices must not wait on every block.
   */
  let freshQuorumMemo: { height: number; held: number; lacks: boolean } | undefined;
  const lacksFreshQuorum = (height: number, parentMs: number | undefined): boolean => {
    const pool = observations.get(height);
    if (pool === undefined || pool.size === 0 || options.assets.length === 0) return false;
    if (pool.size >= epochValidators(chain).length) return false;
    // Asked again on every wake of a waiting leader: aggregate (and verify) only when more arrived.
    if (freshQuorumMemo?.height === height && freshQuorumMemo.held === pool.size)
      return freshQuorumMemo.lacks;
    const timeMs = Math.max(
      options.wallClock(),
      (parentMs ?? chain.engine.timeMs) + 1,
      options.engineGenesis.startTimeMs,
    );
    const aggregate = aggregateBlock({
      chainId,
      height,
      blockTimeMs: timeMs,
      validators: epochValidators(chain).map((publicKey) => ({ publicKey, weight: 1n })),
      assets: options.assets.map((asset) => asset.assetId),
      extensions: [...pool.entries()].sort(bySlot).map(([, bytes]) => bytes),
      previous: chain.priceBook.latest(),
      verifySignature: verifyObservation,
    });
    const lacks = aggregate.prices.some((price) => (price.flags & AggregateFlag.STALE) !== 0);
    freshQuorumMemo = { height, held: pool.size, lacks };
    return lacks;
  };

  /**
   * An admitted envelope ends the wait of a leader of its height when its nonce is its sender's
   * next one as that leader's parent leaves it (so `select` carries it). At most a few waits are
   * open (one per proposal under way): one decode and a nonce lookup per wait.
   */
  const wakeForEnvelope = (bytes: Uint8Array) => {
    const { body } = SignedOrderEnvelopeCodec.decode(bytes);
    let woken = false;
    for (const wait of envelopeWaits)
      if (!wait.ready && body.expiryHeight >= wait.height && wait.nextNonce(body.sender) === body.nonce) {
        wait.ready = true;
        woken = true;
      }
    if (woken) wakeProposers();
  };

  /** Whether the mempool holds a transaction a block at `height` could carry (not already above us). */
  const hasSelectable = (height: number, exclude: ReadonlySet<string>): boolean => {
    if (mempool.stats().transactions === 0) return false;
    const candidates = mempool.select({
      height,
      maxTransactions: exclude.size + 1,
      maxBytes: limits.maxBlockTransactionBytes,
    });
    return candidates.some((pending) => !exclude.has(pending.id));
  };

  /**
   * Executes one finalized block by the block rule (src/chain/block-rule.ts) and records its node
   * state root. Everything is a function of the block and the state before it, so every validator
   * computes the same root.
   */
  const execute = (block: Block, batchKey: Uint8Array | undefined) => {
    const executed = executeBlock(chain, {
      height: block.height,
      payload: block.payload,
      ...(batchKey === undefined ? {} : { batchKey }),
    });
    recordRoot(block.height, executed.root);
    orderFlow.encryptedExecuted += executed.fair.transactions.length;
    orderFlow.plainExecuted += executed.transactions.length;
    orderFlow.envelopesAdmitted += executed.fair.admitted;
    for (const batch of executed.fair.opened)
      for (const outcome of batch.outcomes) {
        if (outcome.kind === 'execute') orderFlow.envelopesDecrypted++;
        else if (outcome.kind === 'charged') orderFlow.envelopesUndecryptable++;
      }
    return executed;
  };

  const summarize = (
    block: Block,
    digest: Uint8Array,
    executed: ReturnType<typeof execute>,
  ): BlockSummary => ({
    height: block.height,
    hash: hex(digest),
    parentHash: hex(block.parent),
    view: block.view,
    proposer: block.proposer,
    timeMs: executed.timeMs,
    stateRoot: hex(executed.result.stateRoot),
    // Execution order: earlier blocks' encrypted orders opened here run first.
    transactions: [
      ...executed.fair.transactions.map((tx, i) =>
        outcomeOf(executed.fair.ids[i]!, tx.body, executed.result.encryptedResults[i]!),
      ),
      ...executed.transactions.map((tx, i) =>
        outcomeOf(executed.ids[i]!, tx.body, executed.result.results[i]!),
      ),
    ],
  });

  const fairOf = (executed: ReturnType<typeof execute>): AppliedFairOrdering => ({
    admitted: executed.fair.admitted,
    executed: executed.fair.transactions.length,
    openedHeights: executed.fair.opened.map((batch) => batch.height),
    earlyShareOffenders: executed.fair.earlyShareOffenders,
  });

  /**
   * After block `height` executed (with `batchKey`, the key of batch height − 1, if it opened one):
   * the key waits to be recorded; envelopes, shares, keys and evidence that can no longer be used go.
   */
  const pruneFair = (height: number, payload: Uint8Array, digest: Uint8Array, batchKey?: Uint8Array) => {
    if (fair === undefined) return;
    envelopePool?.finalized(height);
    const lowest = chain.pending[0]?.height ?? height + 1;
    // An eon older than the one of the lowest height still to open is needed no more: its relay
    // and our share of it go (the sealed key file stays until the node prunes it).
    const oldest = eonHere(lowest)?.eon;
    for (const [eon, relay] of [...relays]) {
      relay.prune(lowest);
      if (oldest !== undefined && eon < oldest) {
        relays.delete(eon);
        eonShares.delete(eon);
      }
    }
    if (batchKey !== undefined) unrecorded.set(height - 1, batchKey);
    const records =
      known.get(toHex(digest))?.batchKeyHeights ??
      (decodeBlockPayload(payload)?.batchKeys ?? []).map((key) => key.height);
    for (const recordedHeight of records) unrecorded.delete(recordedHeight);
    for (const memo of [...identitiesMemo.keys()]) if (memo < lowest) identitiesMemo.delete(memo);
    for (const map of [unrecorded, knownKeys, uncheckedKeys])
      for (const keyHeight of [...map.keys()])
        if (keyHeight + (map === unrecorded ? KEY_WAIT_BLOCKS_MAX : 2) < height) map.delete(keyHeight);
    if (earlyEvidence.size === 0) return;
    const recorded = new Set<string>();
    // Decoded again only while we hold evidence (rare): the block rule does not hand it back.
    for (const encoded of decodeBlockPayload(payload)?.earlyShares ?? []) {
      try {
        const { share } = EarlyKeyShareCodec.decode(encoded);
        recorded.add(`${share.validatorIndex}:${share.batch}`);
      } catch {
        // A verifier refused it unless more than f signed the block: nothing to forget.
      }
    }
    for (const [key, evidence] of [...earlyEvidence])
      if (recorded.has(key) || Number(evidence.share.batch) <= height) earlyEvidence.delete(key);
  };

  const emit = (applied: AppliedBlock) => {
    for (const listener of listeners) listener(applied);
  };

  const pruneObservations = () => {
    for (const height of [...observations.keys()])
      if (height <= chain.engine.height) observations.delete(height);
    for (const height of [...depositReports.keys()])
      if (height <= chain.engine.height) depositReports.delete(height);
  };

  /**
   * Restores the latest snapshot at or below `latest` into the engine and price book; returns its
   * height, or 0 when there is none usable (the caller then replays from genesis).
   */
  const restoreSnapshot = (latest: number): number => {
    const record = storage.latestSnapshot();
    if (record === undefined || record.height > latest) return 0;
    const stored = storage.finalizedBlock(record.height);
    if (stored === undefined) return 0;
    try {
      const restored = restoreChainSnapshot(chain, record.state);
      if (restored.height !== record.height || restored.engine.height !== record.height) return 0;
      adoptChainSnapshot(chain, restored);
      tipDigest = stored.hash;
      tipView = BlockCodec.decode(stored.block).view;
      durableHeight = record.height;
      recordRoot(record.height, restored.root);
      return record.height;
    } catch (error) {
      if (error instanceof CodecError || error instanceof SnapshotError) return 0;
      throw error;
    }
  };

  /** Buffers a snapshot of the state after `height` (written by the block's own sync). */
  const storeSnapshot = (height: number) => {
    invariant(chain.engine.height === height, 'a snapshot is taken of the state after its height');
    storage.putSnapshot({ height, state: snapshotChainState(chain) });
    const floor = height - (SNAPSHOTS_KEPT - 1) * limits.snapshotIntervalBlocks;
    if (floor > 0) storage.deleteSnapshotsBelow(floor);
  };

  /** A peer's observation from its vote extension: checked, and kept for its height. */
  const signerKey = options.signerKey ?? ((_view: number, signer: number) => options.validators[signer]);
  const acceptObservation = (expected: Uint8Array | undefined, bytes: Uint8Array): boolean => {
    let decoded: ReturnType<typeof SignedObservationCodec.decode>;
    try {
      decoded = SignedObservationCodec.decode(bytes);
    } catch {
      return false;
    }
    if (expected === undefined || !bytesEqual(decoded.body.validator, expected)) return false;
    if (decoded.body.chainId !== chainId || !verifyObservation(decoded, bytes)) return false;
    const height = decoded.body.height;
    // Valid but outside the window we collect for: accepted (the vote is fine) and not kept.
    if (height <= chain.engine.height || height > chain.engine.height + OBSERVATION_WINDOW) return true;
    // Kept by the signer's key, not its index: indexes shift at a validator-set change.
    const slot = toHex(decoded.body.validator);
    const map = observations.get(height) ?? new Map<string, Uint8Array>();
    if (!map.has(slot)) {
      map.set(slot, bytes.slice());
      wakeProposers();
    }
    observations.set(height, map);
    return true;
  };

  /** A peer's deposit report from its vote extension: checked as a block's verifier will, and kept. */
  const acceptDepositReport = (expected: Uint8Array | undefined, bytes: Uint8Array): boolean => {
    let report: ReturnType<typeof SignedDepositReportCodec.decode>;
    try {
      report = SignedDepositReportCodec.decode(bytes);
    } catch {
      return false;
    }
    if (expected === undefined || !bytesEqual(report.body.validator, expected)) return false;
    const height = report.body.height;
    if (height <= chain.engine.height || height > chain.engine.height + OBSERVATION_WINDOW) return true;
    if (depositProblems(epochRules(chain), height, [bytes]).length > 0) return false;
    const slot = toHex(report.body.validator);
    const map = depositReports.get(height) ?? new Map<string, Uint8Array>();
    if (!map.has(slot)) map.set(slot, bytes.slice());
    depositReports.set(height, map);
    return true;
  };

  /** Our observation for the height after the block a vote names (none on a nullify). */
  const ownObservation = (
    kind: number,
    digest: Uint8Array,
  ): { target: number | undefined; observation: Uint8Array | undefined } => {
    // A nullify names no block, so there is no next height to observe for.
    if (kind === 1) return { target: undefined, observation: undefined };
    const digestHex = toHex(digest);
    const height = digestHex === toHex(tipDigest) ? chain.engine.height : known.get(digestHex)?.height;
    if (height === undefined) return { target: undefined, observation: undefined };
    const target = height + 1;
    if (target <= chain.engine.height || target > chain.engine.height + OBSERVATION_WINDOW)
      return { target: undefined, observation: undefined };
    const pool = observations.get(target);
    // One observation per height: a second, different one would be equivocation (aggregate.ts).
    let observation = pool?.get(SELF_SLOT);
    if (observation === undefined) {
      observation = options.observe(target);
      if (observation !== undefined) {
        const map = pool ?? new Map<string, Uint8Array>();
        map.set(SELF_SLOT, observation);
        observations.set(target, map);
      }
    }
    return { target, observation };
  };

  /** Our deposit report for `target`, in the room the observation and `reserved` bytes leave. */
  const ownDepositReport = (
    target: number,
    observation: Uint8Array | undefined,
    reserved: number,
  ): Uint8Array | undefined => {
    // One deposit report per height too: the votes of both kinds carry the same bytes.
    const reportPool = depositReports.get(target);
    let report = reportPool?.get(SELF_SLOT);
    if (report === undefined && options.reportDeposits !== undefined) {
      const room =
        MAX_EXTENSION_BYTES - VOTE_EXTENSION_OVERHEAD_BYTES - (observation?.length ?? 0) - reserved;
      report = options.reportDeposits(target, room);
      if (report !== undefined) {
        const map = reportPool ?? new Map<string, Uint8Array>();
        map.set(SELF_SLOT, report);
        depositReports.set(target, map);
      }
    }
    return report;
  };

  /** A peer's extension without key shares: a bare observation, or a `VoteExtension`. */
  const verifyBaseExtension = (signer: number, view: number, extension: Uint8Array): boolean => {
    if (extension.length === 0) return true;
    const expected = signerKey(view, signer);
    let observationBytes = extension;
    if (
      extension.length >= 3 &&
      extension[1] === VoteExtensionCodec.tag >> 8 &&
      extension[2] === (VoteExtensionCodec.tag & 0xff)
    ) {
      let composite: ReturnType<typeof VoteExtensionCodec.decode>;
      try {
        composite = VoteExtensionCodec.decode(extension);
      } catch {
        return false;
      }
      if (!acceptDepositReport(expected, composite.deposits)) return false;
      observationBytes = composite.observation;
      if (observationBytes.length === 0) return true;
    }
    return acceptObservation(expected, observationBytes);
  };

  const app: NodeApplication = {
    get engine() {
      return chain.engine;
    },
    mempool,
    priceBook,
    recordVerified: (encoded) => verifiedTransactions.record(encoded),
    unverifiedTransactions(block) {
      if (block.height <= chain.engine.height) return [];
      const transactions = decodeBlockPayload(block.payload)?.transactions ?? [];
      return transactions.filter((encoded) => !verifiedTransactions.has(encoded));
    },

    open() {
      invariant(!opened, 'open() runs once');
      opened = true;
      // Consensus stores a block once it is final (the engine writes it into this storage), and
      // execution writes the block's state root in the sync that makes the execution durable: a
      // block above the last stored root was final but not executed when the node stopped, and
      // consensus delivers it again (from `processedHeight() + 1`).
      let latest = storage.latestFinalizedHeight() ?? 0;
      while (latest > 0 && storage.get(heightKey(ROOT_PREFIX, latest)) === undefined) latest--;
      const snapshotHeight = restoreSnapshot(latest);
      for (let height = snapshotHeight + 1; height <= latest; height++) {
        const record = storage.finalizedBlock(height);
        // Finalized blocks are written in order and synced together, so the stored chain is contiguous.
        invariant(record !== undefined, `finalized block ${height} missing below ${latest}`);
        const block = BlockCodec.decode(record.block);
        const needed = batchKeyNeeded(chain.pending, height);
        const batchKey = needed === undefined ? undefined : storage.get(heightKey(BATCH_KEY_PREFIX, height));
        invariant(needed === undefined || batchKey !== undefined, `batch key of block ${height} missing`);
        const executed = execute(block, batchKey);
        pruneFair(height, block.payload, record.hash, batchKey);
        const summary = summarize(block, record.hash, executed);
        tipDigest = record.hash;
        tipView = block.view;
        durableHeight = height;
        emit({
          summary,
          result: executed.result,
          aggregate: executed.aggregate,
          finalityLatencyMs: null,
          replay: true,
          fair: fairOf(executed),
        });
      }
      return { snapshotHeight, replayedBlocks: latest - snapshotHeight };
    },

    async propose(context) {
      // The block commits to our own state root a lag below it: never propose without it.
      const rootHeight = stateRootHeightFor(context.height);
      if (!(await reachHeight(Math.max(rootHeight, epochGate(context.height))))) return undefined;
      const stateRoot = app.stateRootAt(rootHeight);
      if (stateRoot === undefined) return undefined;
      const parentHex = toHex(context.parent);
      // Measured from the parent's time, but never longer than one interval from now (skewed clocks).
      const waitUntil = Math.min(
        (parentTime(parentHex) ?? Number.POSITIVE_INFINITY) + limits.emptyBlockIntervalMs,
        options.wallClock() + limits.emptyBlockIntervalMs,
      );
      // An ancestor certified before we checked it leaves its transactions unknown, and nothing can
      // be proposed over it; it becomes known when it finalizes, a round later. So the ancestors are
      // looked up again on every poll: the mempool goes into this block as soon as they are known,
      // instead of an empty block now (and the mempool a view later).
      //
      // An envelope this block could carry is a reason to propose as much as a transaction. The
      // pool is asked once; then each admitted envelope unexpired at this height at its sender's
      // next nonce marks the wait done (`submitEnvelope`, one nonce lookup each), so a flood of
      // envelopes costs no rescans, and envelopes that can never be selected (nonce gaps) wake
      // nobody: they neither hold the proposal back nor hurry it.
      const proposeStartMs = tracing ? traceNow() : 0;
      let exclusions = ancestorTransactions(parentHex);
      const envelopeWait: EnvelopeWait | undefined =
        envelopePool === undefined
          ? undefined
          : {
              height: context.height,
              // Over an unknown ancestor no envelope is carried, so none ends the wait.
              nextNonce: ancestorNextNonce(parentHex) ?? (() => -1),
              ready: false,
            };
      if (envelopeWait !== undefined) {
        envelopeWait.ready = envelopePool!.selectable(context.height, envelopeWait.nextNonce);
        envelopeWaits.add(envelopeWait);
      }
      try {
        while (
          options.wallClock() < waitUntil &&
          (exclusions === undefined ||
            (!hasSelectable(context.height, exclusions) && envelopeWait?.ready !== true))
        ) {
          await nextChange(waitUntil);
          exclusions = ancestorTransactions(parentHex);
        }
      } finally {
        if (envelopeWait !== undefined) envelopeWaits.delete(envelopeWait);
      }
      const parentMs = parentTime(parentHex);
      const mempoolWaitedMs = tracing ? traceNow() : 0;
      // f validators can answer first with observations that count for nothing (sources hours old):
      // carried in place of honest ones, they leave fewer than 2f + 1 fresh and the marks stale.
      // The honest observations are on their way on the remaining votes; wait for them, bounded.
      const observationsUntil = options.wallClock() + limits.observationWaitMs;
      while (options.wallClock() < observationsUntil && lacksFreshQuorum(context.height, parentMs)) {
        await nextChange(observationsUntil);
      }
      const timeMs = Math.max(
        options.wallClock(),
        (parentMs ?? chain.engine.timeMs) + 1,
        options.engineGenesis.startTimeMs,
      );
      const exclude = ancestorTransactions(parentHex);
      const ownObservations: Uint8Array[] = [];
      const pool = observations.get(context.height);
      if (pool !== undefined) {
        const candidates = [...pool.entries()].sort(bySlot).map(([, bytes]) => bytes);
        const dropped = new Set(observationProblems(context.height, timeMs, candidates).map((d) => d.index));
        candidates.forEach((bytes, index) => {
          if (!dropped.has(index) && ownObservations.length < MAX_BLOCK_OBSERVATIONS)
            ownObservations.push(bytes);
        });
      }
      const ownDeposits: Uint8Array[] = [];
      const reportPool = depositReports.get(context.height);
      if (reportPool !== undefined) {
        for (const [, bytes] of [...reportPool.entries()].sort(bySlot))
          if (depositProblems(epochRules(chain), context.height, [bytes]).length === 0)
            ownDeposits.push(bytes);
      }
      const observationBytes = [...ownObservations, ...ownDeposits].reduce(
        (sum, bytes) => sum + bytes.length + 4,
        0,
      );
      const selected =
        exclude === undefined
          ? []
          : mempool.select({
              height: context.height,
              maxTransactions: limits.maxBlockTransactions + exclude.size,
              maxBytes: limits.maxBlockTransactionBytes - observationBytes,
            });
      const transactions: Uint8Array[] = [];
      const ids: string[] = [];
      for (const pending of selected) {
        if (exclude?.has(pending.id)) continue;
        if (transactions.length >= limits.maxBlockTransactions) break;
        transactions.push(pending.bytes);
        ids.push(pending.id);
      }
      if (tracing)
        trace('propose-selected', {
          view: context.view,
          height: context.height,
          startedAt: proposeStartMs,
          mempoolWaitedAt: mempoolWaitedMs,
          ancestorsKnown: exclude !== undefined,
          excluded: exclude?.size ?? -1,
          pool: mempool.stats().transactions,
          transactions: ids.length,
          ids: tracedIds(ids),
        });
      // Records for validators that missed the votes: keys of opened batches no ancestor records.
      const batchKeys: BatchKey[] = [];
      const recorded = recordedAbove(parentHex);
      if (recorded !== undefined)
        for (const height of [...unrecorded.keys()].sort((a, b) => a - b)) {
          if (batchKeys.length >= MAX_BLOCK_BATCH_KEYS) break;
          if (height < context.height && !recorded.has(height))
            batchKeys.push({ height, key: unrecorded.get(height)! });
        }
      // An eon activation (a few hundred bytes per validator) takes its room from the envelopes'.
      const eonActivations = eonActivationFor(context.height);
      const activationBytes = eonActivations.reduce((sum, bytes) => sum + bytes.length, 0);
      const envelopeNonces = ancestorNextNonce(parentHex);
      const envelopes =
        envelopeNonces === undefined
          ? []
          : (envelopePool?.select(
              context.height,
              Math.max(0, Math.min(limits.maxBlockEnvelopeBytes, MAX_PENDING_BATCH_BYTES) - activationBytes),
              envelopeNonces,
            ) ?? []);
      const payload = BlockPayloadCodec.encode({
        envelopes,
        batchKeys,
        earlyShares: fair === undefined ? [] : earlySharesFor(context.height),
        eonActivations,
        timeMs,
        transactions,
        observations: ownObservations,
        deposits: ownDeposits,
        stateRootHeight: rootHeight,
        stateRoot,
      });
      const digest = blockDigest({
        view: context.view,
        height: context.height,
        parentView: context.parentView,
        parent: context.parent,
        proposer: context.proposer,
        payload,
      });
      remember(digest, {
        height: context.height,
        parentHex,
        timeMs,
        transactionIds: ids,
        batchKeyHeights: batchKeys.map((key) => key.height),
        envelopeNonces: envelopeNoncesOf(envelopes),
        seenAtMs: options.monotonicClock(),
      });
      proposed++;
      return payload;
    },

    verify(context, bytes) {
      const payload = decodeBlockPayload(bytes);
      if (payload === undefined) return refuse('malformed');
      if (payload.transactions.length > limits.maxBlockTransactions) return refuse('too-many-transactions');
      const members = epochRules(chain).validators.length;
      if (payload.observations.length > members) return refuse('too-many-observations');
      if (payload.deposits.length > members) return refuse('too-many-deposit-reports');
      const parentHex = toHex(context.parent);
      const parentMs = parentTime(parentHex);
      if (parentMs !== undefined && payload.timeMs <= parentMs) return refuse('time-not-after-parent');
      if (payload.timeMs > options.wallClock() + limits.maxFutureBlockMs) return refuse('time-in-future');
      let transactionBytes = 0;
      const ids: string[] = [];
      // With an ancestor unknown here, repeats of its transactions cannot be seen; the engine
      // still refuses them by nonce, so the block is accepted rather than stalling the chain.
      const seen = ancestorTransactions(parentHex) ?? new Set<string>();
      for (const encoded of payload.transactions) {
        transactionBytes += encoded.length;
        let decoded: DecodedTransaction;
        try {
          decoded = transactionCache.decode(encoded);
        } catch {
          return refuse('malformed-transaction');
        }
        if (encryptionRequired(encryptedOnly, decoded.transaction))
          return refuse('plain-order-on-encrypted-market');
        const id = decoded.idHex;
        if (seen.has(id)) return refuse('repeated-transaction');
        seen.add(id);
        ids.push(id);
      }
      if (transactionBytes > limits.maxBlockTransactionBytes) return refuse('too-many-bytes');
      if (observationProblems(context.height, payload.timeMs, payload.observations).length > 0)
        return refuse('bad-observation');
      if (depositProblems(epochRules(chain), context.height, payload.deposits).length > 0)
        return refuse('bad-deposit-report');
      const fairProblem = fairPayloadProblem(fairVerifierContext(), context.height, payload, {
        ...(fair?.pairingBackend === undefined ? {} : { backend: fair.pairingBackend }),
        knownKey: (height) => knownKeys.get(height) ?? unrecorded.get(height),
        batchIdentities: pendingIdentities,
      });
      if (fairProblem !== undefined) return refuse(fairProblem);
      // A record one a validator behind us may wait for: kept once it checks against the batch
      // (the check above is skipped for a batch we do not know, so it is made here again).
      for (const record of payload.batchKeys) learnKey(record.height, record.key, false);
      const rootHeight = stateRootHeightFor(context.height);
      if (payload.stateRootHeight !== rootHeight) return refuse('wrong-state-root-height');
      // Not knowing the root (our execution is behind it, or restored from a snapshot above it) is
      // our own limit, not the proposer's fault: the verdict is 'unknown', which charges nobody.
      const cannotJudge = (reason: string): 'unknown' => {
        refuse(reason);
        return 'unknown';
      };
      const checkRoot = (): Verdict => {
        const expected = app.stateRootAt(rootHeight);
        if (expected === undefined) return cannotJudge('state-root-unknown');
        if (!bytesEqual(expected, payload.stateRoot)) return refuse('wrong-state-root');
        remember(blockDigest({ ...context, payload: bytes }), {
          height: context.height,
          parentHex,
          timeMs: payload.timeMs,
          transactionIds: ids,
          batchKeyHeights: payload.batchKeys.map((key) => key.height),
          envelopeNonces: envelopeNoncesOf(payload.envelopes),
          seenAtMs: options.monotonicClock(),
        });
        verified++;
        return true;
      };
      // Above an epoch boundary we judge only once we executed it, and so know its validator set.
      const needed = Math.max(rootHeight, epochGate(context.height));
      if (chain.engine.height >= needed) return checkRoot();
      // Our execution is behind the committed height: the root is checked once we get there.
      return reachHeight(needed).then((reached) =>
        reached ? checkRoot() : cannotJudge('state-root-not-reached'),
      );
    },

    async finalized(finalized) {
      const { block, digest } = finalized;
      // Consensus redelivers from processedHeight + 1; anything at or below it is already applied.
      if (block.height <= chain.engine.height) return;
      const startGeneration = generation;
      invariant(
        block.height === chain.engine.height + 1,
        `finalized height ${block.height} skips ${chain.engine.height + 1}`,
      );
      // Block h + 1 opens batch h with its key (src/chain/fair-batches.ts): never without it. The
      // shares ride the votes after h was final (on h + 1's, mostly already here); a validator that
      // missed them finds the key recorded in a later finalized block (`finalizedAhead`).
      const needed = batchKeyNeeded(chain.pending, block.height);
      let batchKey: Uint8Array | undefined;
      try {
        awaitingKey = needed !== undefined;
        while (needed !== undefined) {
          batchKey = heldKey(needed);
          if (batchKey !== undefined) break;
          // Closed (the node stops): left unexecuted; consensus redelivers it after a restart.
          if (closed) return;
          await nextChange(options.wallClock() + BATCH_KEY_POLL_MS);
          // State sync replaced the state meanwhile: this block is below it.
          if (generation !== startGeneration || block.height !== chain.engine.height + 1) return;
        }
      } finally {
        awaitingKey = false;
      }
      if (tracing) trace('execute-start', { height: block.height, keyed: needed !== undefined });
      const executed = execute(block, batchKey);
      executedUnsynced = { digest, view: block.view };
      // Out of the mempool as soon as the engine has executed them, not after the sync below: in
      // between, the engine's height already counts this block, so `ancestorTransactions` no
      // longer excludes its transactions, and a proposal made during the sync would carry them
      // again (executed as BAD_NONCE, and their id index pointing at the failed copy).
      mempool.removeFinalized({ height: block.height, transactionIds: executed.ids.map((id) => toHex(id)) });
      pruneFair(block.height, block.payload, digest, batchKey);
      // Executed: its transactions are known (ancestorTransactions) and batch keys may be held.
      wakeProposers();
      // Its admitted envelopes' key shares go out now, not only on our next vote (which may have
      // left while this block executed): the next block opens this batch as soon as 2f + 1 are in.
      if (keyShareListeners.size > 0 && chain.pending.some((batch) => batch.height === block.height)) {
        const statement = relayOfBatch(block.height)?.attach(block.height, chain.engine.height);
        if (statement !== undefined) for (const listener of keyShareListeners) listener(statement);
      }
      const summary = summarize(block, digest, executed);
      storage.putFinalizedBlock({
        height: block.height,
        hash: digest,
        block: BlockCodec.encode(block),
        certificate: CertificateCodec.encode(finalized.finalization),
      });
      storage.put(heightKey(SUMMARY_PREFIX, block.height), textEncoder.encode(JSON.stringify(summary)));
      if (batchKey !== undefined) storage.put(heightKey(BATCH_KEY_PREFIX, block.height), batchKey);
      [...executed.fair.ids, ...executed.ids].forEach((id, index) => {
        // A transaction's location is where it first executed; a later copy a faulty leader
        // slipped into a block (refused by the engine as BAD_NONCE) must not replace it.
        const key = TX_PREFIX + toHex(id);
        if (storage.get(key) === undefined) storage.put(key, textEncoder.encode(`${block.height}/${index}`));
      });
      if (limits.snapshotIntervalBlocks > 0 && block.height % limits.snapshotIntervalBlocks === 0)
        storeSnapshot(block.height);
      storage.put(heightKey(ROOT_PREFIX, block.height), roots.get(block.height)!);
      if (block.height > ROOTS_KEPT) storage.delete(heightKey(ROOT_PREFIX, block.height - ROOTS_KEPT));
      const seenAt = known.get(toHex(digest))?.seenAtMs;
      const executedEvent: AppliedBlock = {
        summary,
        result: executed.result,
        aggregate: executed.aggregate,
        finalityLatencyMs: seenAt === undefined ? null : Math.max(0, options.monotonicClock() - seenAt),
        replay: false,
        fair: fairOf(executed),
      };
      for (const listener of executedListeners) listener(executedEvent);
      await storage.sync();
      // State sync replaced the state meanwhile: this block is below it and moves nothing.
      if (generation !== startGeneration) return;
      durableHeight = block.height;
      tipDigest = digest;
      tipView = block.view;
      executedUnsynced = undefined;
      for (const [key, entry] of known) if (entry.height <= block.height) known.delete(key);
      pruneObservations();
      wakeProposers();
      emit({
        summary,
        result: executed.result,
        aggregate: executed.aggregate,
        finalityLatencyMs: seenAt === undefined ? null : Math.max(0, options.monotonicClock() - seenAt),
        replay: false,
        fair: fairOf(executed),
      });
    },

    processedHeight: () => durableHeight,

    awaitingBatchKey: () => awaitingKey,

    close() {
      closed = true;
      wakeProposers();
    },

    finalizedAhead(block) {
      finalizedSeen = Math.max(finalizedSeen, block.height);
      if (fair === undefined || block.height <= chain.engine.height) return;
      for (const record of decodeBlockPayload(block.payload)?.batchKeys ?? [])
        learnKey(record.height, record.key, false);
    },

    extension(kind, _view, digest) {
      const { target, observation } = ownObservation(kind, digest);
      // Our key shares for executed blocks ride after the observation, on the votes that show the
      // next block fixed (`shareableBatchMax`); a deposit report takes the room left.
      const shares = ownShares(
        MAX_EXTENSION_BYTES - VOTE_EXTENSION_OVERHEAD_BYTES - (observation?.length ?? 0),
        shareableBatchMax(kind, digest),
      );
      const sharesBytes =
        shares.length === 0
          ? 0
          : keyShareExtensionOverhead(shares.length) + shares.reduce((sum, bytes) => sum + bytes.length, 0);
      const report = target === undefined ? undefined : ownDepositReport(target, observation, sharesBytes);
      const inner =
        report === undefined
          ? (observation ?? new Uint8Array(0))
          : VoteExtensionCodec.encode({ observation: observation ?? new Uint8Array(0), deposits: report });
      if (shares.length === 0) return inner;
      return KeyShareVoteExtensionCodec.encode({ inner, shares });
    },

    // Key shares are needed from every validator that sends them, not only from the 2f + 1 votes
    // that happened to form a certificate first: a batch opens only with 2f + 1 shares, and those
    // votes may be from validators that had not executed the batch yet.
    wantsLateExtension: (extension) =>
      fair !== undefined &&
      extension.length >= 3 &&
      extension[1] === KeyShareVoteExtensionCodec.tag >> 8 &&
      extension[2] === (KeyShareVoteExtensionCodec.tag & 0xff),

    verifyExtension(signer, _kind, view, _digest, extension) {
      if (
        extension.length >= 3 &&
        extension[1] === KeyShareVoteExtensionCodec.tag >> 8 &&
        extension[2] === (KeyShareVoteExtensionCodec.tag & 0xff)
      ) {
        let composite: ReturnType<typeof KeyShareVoteExtensionCodec.decode>;
        try {
          composite = KeyShareVoteExtensionCodec.decode(extension);
        } catch {
          return false;
        }
        for (const share of composite.shares) if (!acceptKeyShare(signer, share)) return false;
        return verifyBaseExtension(signer, view, composite.inner);
      }
      return verifyBaseExtension(signer, view, extension);
    },

    submitEnvelope(bytes) {
      if (envelopePool === undefined)
        return {
          ok: false,
          code: options.pendingFairOrdering === undefined ? 'FAIR_ORDERING_DISABLED' : 'EON_KEY_PENDING',
        };
      const admission = envelopePool.submit(bytes, chain.engine.height + 1);
      if (admission.ok && envelopeWaits.size > 0) wakeForEnvelope(bytes);
      return admission;
    },

    pooledEnvelopes: () => envelopePool?.size ?? 0,

    enableFairOrdering(next) {
      invariant(
        fair === undefined && options.pendingFairOrdering !== undefined,
        'fair ordering is enabled once',
      );
      invariant(chain.engine.height === 0, 'the eon keyset comes before the first block');
      const series = options.pendingFairOrdering.encryptedOnlySeries ?? [];
      invariant(
        (next.rules.encryptedOnlySeries ?? []).join() === series.join(),
        'the keyset keeps the genesis encrypted-only markets',
      );
      fair = next;
      chain.rules = { ...chain.rules, fairOrdering: next.rules };
      relays.clear();
      envelopePool = envelopePoolOf(next);
    },

    fairOrderingRules: () => chain.rules.fairOrdering,

    addEon(eon, activation, secretShare) {
      if (!offeredActivations.has(eon) && !(chain.eons ?? []).some((e) => e.eon === eon))
        offeredActivations.set(eon, activation.slice());
      if (secretShare !== undefined && !eonShares.has(eon)) {
        eonShares.set(eon, secretShare);
        // A relay made before we held the share only collected: remade, it releases ours too.
        relays.delete(eon);
      }
      wakeProposers();
    },

    eonAt: (height) => eonHere(height),

    recordedEons: () => chain.eons ?? [],
    pendingBatches: () => chain.pending,

    tip: () => ({
      height: chain.engine.height,
      digest: (executedUnsynced?.digest ?? tipDigest).slice(),
      view: executedUnsynced?.view ?? tipView,
      timeMs: chain.engine.timeMs,
    }),

    summary(height) {
      const bytes = storage.get(heightKey(SUMMARY_PREFIX, height));
      if (bytes === undefined) return undefined;
      try {
        return JSON.parse(textDecoder.decode(bytes)) as BlockSummary;
      } catch {
        return undefined;
      }
    },

    transactionLocation(id) {
      const bytes = storage.get(TX_PREFIX + id);
      if (bytes === undefined) return undefined;
      const [heightText, indexText] = textDecoder.decode(bytes).split('/');
      const height = Number(heightText);
      const summary = app.summary(height);
      const outcome = summary?.transactions[Number(indexText)];
      return outcome === undefined ? undefined : { height, outcome };
    },

    onApplied(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onKeyShares(listener) {
      keyShareListeners.add(listener);
      return () => keyShareListeners.delete(listener);
    },

    receiveKeyShares: (statement) => acceptKeyShare(undefined, statement),

    onExecuted(listener) {
      executedListeners.add(listener);
      return () => executedListeners.delete(listener);
    },

    stats: () => ({ proposed, verified, refusedProposals: { ...refused }, orderFlow: { ...orderFlow } }),

    stateRootAt(height) {
      if (height === 0) return genesisRoot;
      const inMemory = roots.get(height);
      if (inMemory !== undefined) return inMemory;
      const stored = storage.get(heightKey(ROOT_PREFIX, height));
      return stored?.length === 32 ? stored : undefined;
    },

    finalityProof(height) {
      const record = storage.finalizedBlock(height);
      if (record === undefined) return undefined;
      let certificate: Certificate;
      try {
        certificate = CertificateCodec.decode(record.certificate);
      } catch (error) {
        if (error instanceof CodecError) return undefined;
        throw error;
      }
      if (certificate.kind !== VoteKind.finalize) return undefined;
      const descendants: Uint8Array[] = [];
      let cursor = record.hash;
      // Blocks of one finalization are stored one sync each, the certified one last: until it is
      // stored the chain is incomplete and the block is not served yet.
      for (let next = height + 1; !bytesEqual(cursor, certificate.digest); next++) {
        if (descendants.length >= MAX_FINALITY_DESCENDANTS) return undefined;
        const above = storage.finalizedBlock(next);
        if (above === undefined) return undefined;
        descendants.push(above.block);
        cursor = above.hash;
      }
      return { height, hash: record.hash, block: record.block, certificate, descendants };
    },

    snapshotHeights: () => storage.snapshotHeights(),

    snapshotBytes(height) {
      if (snapshotCache?.height === height) return snapshotCache.bytes;
      const bytes = storage.snapshot(height);
      if (bytes !== undefined) snapshotCache = { height, bytes };
      return bytes;
    },

    installSnapshot(encoded, finalized) {
      const { block, digest, certificate, committedRoot } = finalized;
      if (block.height <= chain.engine.height) return { status: 'refused', reason: 'not-ahead' };
      let restored: ReturnType<typeof restoreChainSnapshot>;
      try {
        restored = restoreChainSnapshot(chain, encoded);
      } catch (error) {
        if (error instanceof CodecError || error instanceof SnapshotError)
          return { status: 'refused', reason: 'malformed' };
        throw error;
      }
      if (restored.height !== block.height || restored.engine.height !== block.height)
        return { status: 'refused', reason: 'height-mismatch' };
      const root = restored.root;
      if (!bytesEqual(root, committedRoot)) return { status: 'refused', reason: 'root-mismatch' };
      generation++;
      adoptChainSnapshot(chain, restored);
      roots.clear();
      recordRoot(block.height, root);
      tipDigest = digest.slice();
      tipView = block.view;
      executedUnsynced = undefined;
      durableHeight = block.height;
      known.clear();
      pruneObservations();
      storage.putSnapshot({ height: block.height, state: encoded });
      storage.putFinalizedBlock({
        height: block.height,
        hash: digest,
        block: BlockCodec.encode(block),
        certificate: CertificateCodec.encode(certificate),
      });
      storage.put(heightKey(ROOT_PREFIX, block.height), root);
      return { status: 'installed', height: block.height };
    },
  };
  return app;
}
