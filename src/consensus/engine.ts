/**
 * The Simplex engine of one validator (the protocol is specified in `index.ts`; "spec §n" below
 * refers to it). Everything outside comes through the runtime interfaces: `Clock` for timers,
 * `Network` for authenticated messages, `Storage` for the vote and certificate journal and
 * finalized blocks.
 *
 * State changes happen synchronously inside message and timer handlers; only storage syncs and
 * application calls are awaited, and every decision that must not be taken twice (signing a vote,
 * proposing) is recorded in memory before the first await, so concurrent handlers never sign twice.
 *
 * Catching up (spec §7): a finalization close above our tip is resolved by walking back from its
 * block through block requests by digest; one further below the lowest block we hold than
 * `RANGE_SYNC_GAP_BLOCKS` is closed by block sync by height instead — finalized blocks fetched
 * forward from our tip in ranges served from peers' storage, checked by parent hashes from our
 * tip and finalized once we hold the block the range's stored certificate certifies. With
 * `stateSyncThresholdBlocks`, a larger gap waits for the node's state sync, which installs a new
 * tip (`installFinalizedTip`) or declines (`declineStateSync`).
 */
import {
  type Block,
  BlockCodec,
  type Certificate,
  CertificateCodec,
  type CertificateRequest,
  CertificateRequestCodec,
  type Evidence,
  MAX_RANGE_BLOCKS,
  MAX_SYNC_BLOCKS,
  MAX_SYNC_RESPONSE_BYTES,
  MAX_VALIDATORS,
  type Proposal,
  ProposalCodec,
  type RangeRequest,
  RangeRequestCodec,
  type RangeResponse,
  RangeResponseCodec,
  type SyncRequest,
  SyncRequestCodec,
  type SyncResponse,
  SyncResponseCodec,
  type Vote,
  VoteCodec,
  VoteKind,
  type VoteKindValue,
} from '../codec/consensus.ts';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import type { Clock, Network, PeerId, Storage } from '../runtime/types.ts';
import { certificateFromVotes, verifyCertificate } from './certificate.ts';
import { createValidatorSchedule, type ValidatorEpoch, type ValidatorSchedule } from './epochs.ts';
import { conflictOf } from './evidence.ts';
import { EvidenceStore } from './evidence-store.ts';
import { RequestBudget } from './request-budget.ts';
import { backedOffMs } from './timeouts.ts';
import { leaderOf, type ValidatorSet } from './validators.ts';
import { ViewRanges } from './view-ranges.ts';
import {
  blockDigest,
  defaultVerifier,
  genesisDigest,
  type SignatureVerifier,
  signVote,
  verifyVote,
  ZERO_DIGEST,
} from './votes.ts';

/** What the application sees of a block's position when proposing or verifying it. */
export interface BlockContext {
  readonly view: number;
  readonly height: number;
  readonly parentView: number;
  readonly parent: Uint8Array;
  readonly proposer: number;
}

/** An application's judgement of a proposal: valid, invalid, or not yet decidable here. */
export type Verdict = boolean | 'unknown';

/** A finalized block and the finalization that proves it (of this block or of a descendant). */
export interface FinalizedBlock {
  readonly block: Block;
  readonly digest: Uint8Array;
  readonly finalization: Certificate;
}

/**
 * The application behind consensus. The engine orders digests; the application gives blocks
 * their meaning. Methods may return a value or a promise.
 */
export interface Application {
  /** A payload for a new block in `context`, or undefined to let the view time out. */
  propose(context: BlockContext): Promise<Uint8Array | undefined> | Uint8Array | undefined;
  /**
   * Whether `payload` is acceptable in `context` (the parent may be notarized but not final):
   * true, false (the proposer is charged), or 'unknown' when this validator cannot judge it yet
   * (its own execution is behind what the block commits to). An unknown proposal gets no vote and
   * charges nobody; it is verified again after each block we finalize while its view lasts.
   */
  verify(context: BlockContext, payload: Uint8Array): Promise<Verdict> | Verdict;
  /**
   * Called once per finalized block, in height order, after it is durable (spec §8) — or, with
   * `EngineConfig.applicationSyncsStorage`, once its records are written to storage, which the
   * application's own sync then makes durable before `processedHeight` passes the block.
   */
  finalized(block: FinalizedBlock): Promise<void> | void;
  /**
   * Told of each block as soon as it is finalized, before `finalized` is called for it (which may
   * be later: the application is still processing an earlier block). It may read what the block
   * carries (e.g. a record another block's processing waits for); nothing is applied yet.
   */
  finalizedAhead?(block: Block): void;
  /** Height of the last finalized block the application has durably processed (0 = genesis). */
  processedHeight(): number;
  /** Opaque bytes to attach to one of our votes (oracle observations, decryption shares). */
  extension?(kind: VoteKindValue, view: number, digest: Uint8Array): Uint8Array;
  /**
   * Whether the application needs `extension` even from a vote that arrives after its view's
   * certificate formed. Such votes count for nothing and are not verified, so their extensions
   * are lost; decryption-key shares must not be (a batch opens only with 2f + 1 of them, and the
   * votes that formed the certificate may not all carry theirs). A vote it wants is verified and
   * handed to `verifyExtension`; this is asked of late votes only, and must be cheap.
   */
  wantsLateExtension?(extension: Uint8Array): boolean;
  /** Checks a peer's extension; called only for votes whose signature verified. */
  verifyExtension?(
    signer: number,
    kind: VoteKindValue,
    view: number,
    digest: Uint8Array,
    extension: Uint8Array,
  ): boolean;
}

export interface EngineTimeouts {
  /** No proposal by then: nullify (spec §6; Simplex's 2Δ). */
  leaderMs: number;
  /** No notarization by then: nullify (spec §6; Simplex's 3Δ). */
  notarizationMs: number;
  /** After nullifying, rebroadcast the nullify and the entry certificate this often. */
  nullifyRetryMs: number;
  /** A block request that got no answer goes to the next peer after this long. */
  syncRetryMs: number;
}

export const DEFAULT_TIMEOUTS: EngineTimeouts = Object.freeze({
  leaderMs: 1000,
  notarizationMs: 2000,
  nullifyRetryMs: 1000,
  syncRetryMs: 500,
});

/** Hooks for the simulator and metrics; the engine never depends on what they do. */
export interface EngineObserver {
  /** A vote of ours was journaled, synced and is about to be sent. */
  released?(vote: Vote): void;
  /** A certificate was assembled here (`formed`) or received and verified. */
  certificate?(certificate: Certificate, formed: boolean): void;
  evidence?(evidence: Evidence): void;
}

export interface EngineConfig {
  chainId: number;
  /**
   * The genesis validators. With `schedule`, they are also the start of the peer directory: a
   * `PeerId` is an index into the genesis keys followed by every key a later epoch adds, in the
   * order the epochs add them (the network numbers peers the same way).
   */
  validators: ValidatorSet;
  /** Our index in `validators` (our `PeerId`). */
  self: number;
  /**
   * The validator sets by epoch (src/consensus/epochs.ts): a vote, proposal or certificate of view
   * v is checked against the set of v's epoch, its signer index names a member of that set, the
   * leader of v is v mod that set's size and a quorum is that set's. Later epochs are added with
   * {@link SimplexEngine.scheduleEpoch}. Default: `validators` for every view.
   */
  schedule?: ValidatorSchedule;
  signer: Ed25519Signer;
  clock: Clock;
  network: Network;
  storage: Storage;
  application: Application;
  timeouts?: Partial<EngineTimeouts>;
  verifier?: SignatureVerifier;
  observer?: EngineObserver;
  /**
   * True when `application.finalized` syncs this same `storage` before its `processedHeight`
   * moves past the block: the engine then delivers without a sync of its own, and the finalized
   * block's records commit in the application's sync, one fsync per block instead of two. A crash
   * before that sync loses only records that peers still hold, as a crash before the engine's own
   * sync would; votes are synced before they are sent either way (spec §3).
   */
  applicationSyncsStorage?: boolean;
  /**
   * Where finalized blocks and their proofs are kept, when the node keeps them itself (its
   * `finalized_blocks` table): the engine writes each finalized block there once, and the
   * application's own write of the same block is a no-op, instead of a second copy under the
   * engine's keys. It must be `storage` itself, and that storage must commit each sync whole or
   * not at all (the SQLite storage does: one transaction per sync), so that one sync makes a block
   * durable with the journal pruning that follows its finality: a pruned journal without its block
   * could let a restarted validator vote again in a view it voted in. A store that buffers blocks
   * until its sync and writes them last over a prefix-durable `Storage` (src/chain/block-store.ts
   * `createKvBlockStore`, the simulator's) does not qualify. Absent: the engine's own keys.
   */
  blocks?: FinalizedBlockStore;
  /**
   * A deliberately broken rule, only for proving that the simulator catches one: with
   * 'finalize-after-nullify' the engine signs finalize in a view it nullified (violates spec §3).
   */
  mutation?: 'finalize-after-nullify';
  /**
   * With a state sync behind the engine (src/node/state-sync.ts): a finalization more than this
   * many blocks above our tip is not fetched block by block; the engine waits for
   * `installFinalizedTip`, or for `declineStateSync` when no snapshot can be had. Undefined or 0:
   * always block sync.
   */
  stateSyncThresholdBlocks?: number;
}

export interface EngineStatus {
  running: boolean;
  view: number;
  finalizedHeight: number;
  finalizedView: number;
  finalizedDigest: Uint8Array;
  /**
   * The height the next proposal carries as this validator sees consensus: one above the current
   * view's proposal once it has one, else one above the block a proposal in the current view
   * extends (the highest certified block below it, or the finalized tip). Finalization and
   * execution run a block or two below it; a client that names a height for its order (fair
   * ordering's envelopes) names this one or above.
   */
  proposalHeight: number;
  /**
   * The public key of the leader expected to propose `proposalHeight` (the current view's leader
   * while the view has no proposal, else the next view's), were no view nullified; a client may
   * send what that proposal should carry to it directly. Undefined where no set is known.
   */
  proposalLeader: Uint8Array | undefined;
  /** Finalizations seen that conflict with our finalized chain: only possible beyond f faults. */
  conflictingFinalizations: number;
}

/** What {@link SimplexEngine.cacheSizes} reports. */
export interface CacheSizes {
  blocks: number;
  /** Blocks other than the tip at or below the finalized tip's view or height: always 0. */
  stale: number;
  /** Payload bytes of the blocks and proposals held. */
  blockBytes: number;
  views: number;
  proposals: number;
  blockRequests: number;
  certificateRequests: number;
}

/** Why a peer's message was dropped; the node weighs these when scoring peers. */
export const DropReason = Object.freeze({
  malformed: 'malformed',
  oversized: 'oversized',
  unknownType: 'unknown-type',
  senderMismatch: 'sender-mismatch',
  badSignature: 'bad-signature',
  badExtension: 'bad-extension',
  badCertificate: 'bad-certificate',
  notLeader: 'not-leader',
  digestMismatch: 'digest-mismatch',
  invalidProposal: 'invalid-proposal',
  tooFarAhead: 'too-far-ahead',
  stale: 'stale',
  unsolicited: 'unsolicited',
  /** A block or certificate request beyond the peer's budget (spec §9): not answered. */
  rateLimited: 'rate-limited',
} as const);
export type DropReasonValue = (typeof DropReason)[keyof typeof DropReason];

/** Votes and proposals further than this many views ahead of ours are dropped (bounds memory). */
export const MAX_VIEWS_AHEAD = 64;
/** Views whose state we hold at once; beyond it the oldest unfinalized view is forgotten. */
export const MAX_TRACKED_VIEWS = 2048;
/**
 * Unfinalized blocks held in memory: blocks above the finalized tip that we checked (spec §5),
 * proposed, or fetched or kept because a quorum certified them. Unchecked proposals are held with
 * their view instead (at most one per view in the MAX_VIEWS_AHEAD window), never here.
 */
export const MAX_BLOCKS_IN_MEMORY = 8192;
/** Block requests outstanding at once. */
export const MAX_INFLIGHT_REQUESTS = 64;
/** A request is abandoned after this many peers failed to answer it (it is re-issued if needed). */
export const MAX_REQUEST_ATTEMPTS = 32;
/** Nullifications asked for at once when a proposal skips views we hold none for (spec §7). */
export const MAX_CERTIFICATE_BATCH = 16;
/**
 * Block sync by height (spec §7): when the backward walk from a finalization would have to hold
 * more than this many unfinalized blocks below the lowest one it has, the engine instead fetches
 * finalized blocks forward from its tip in height ranges, served from peers' storage.
 */
export const RANGE_SYNC_GAP_BLOCKS = 256;
/** Blocks asked for in one range request (a response may carry fewer: its byte budget). */
export const RANGE_REQUEST_BLOCKS = 256;
/**
 * Blocks fetched by height that link to our tip but are not yet covered by a finality certificate
 * we hold (their stored proof certifies a later block): at most this many, and this many bytes;
 * beyond, the run is dropped and fetched again from another peer.
 */
export const MAX_RANGE_RUN_BLOCKS = MAX_BLOCKS_IN_MEMORY;
export const MAX_RANGE_RUN_BYTES = 64 * 1024 * 1024;

/**
 * A store of finalized blocks by height (src/chain/block-store.ts `BlockStore` and the SQLite
 * storage implement it). Records hold the `BlockCodec` and `CertificateCodec` encodings.
 */
export interface FinalizedBlockStore {
  /** Buffers until the next sync; the same block again is a no-op. */
  putFinalizedBlock(record: {
    height: number;
    hash: Uint8Array;
    block: Uint8Array;
    certificate: Uint8Array;
  }): void;
  finalizedBlock(
    height: number,
  ): { hash: Uint8Array; block: Uint8Array; certificate: Uint8Array } | undefined;
  /** The highest height stored or buffered. */
  latestFinalizedHeight(): number | undefined;
}

const JOURNAL_PREFIX = 'consensus/vote/';
const BLOCK_PREFIX = 'consensus/block/';
const PROOF_PREFIX = 'consensus/proof/';
const DIGEST_PREFIX = 'consensus/digest/';
/**
 * Every certificate above the finalized tip we saw or formed, by view and kind (at most three per
 * view), and the block our notarize vote signs, by view: written before the next vote is synced,
 * so what we acted on survives a crash with that vote; pruned with the vote journal (spec §3, §6).
 */
const CERTIFICATE_PREFIX = 'consensus/certificate/';
const NOTARIZED_PREFIX = 'consensus/notarized/';
/** Written by an earlier version (the entry certificate alone); superseded by CERTIFICATE_PREFIX. */
const LEGACY_ENTRY_KEY = 'consensus/entry';

interface VoteEntry {
  vote: Vote;
  digestHex: string;
  verified: boolean;
}

interface ViewState {
  readonly view: number;
  proposal: { block: Block; digest: Uint8Array; digestHex: string } | undefined;
  /** 'undecided': the application could not judge it yet; re-verified after our next finalization. */
  proposalState: 'none' | 'checking' | 'accepted' | 'rejected' | 'undecided';
  proposing: boolean;
  /** Votes by kind (index = VoteKind), then by signer: at most n per kind. */
  readonly votes: [Map<number, VoteEntry>, Map<number, VoteEntry>, Map<number, VoteEntry>];
  readonly certificates: [Certificate | undefined, Certificate | undefined, Certificate | undefined];
  /** What we signed in this view (from memory or the journal): the basis of spec §3. */
  readonly signed: [Vote | undefined, Vote | undefined, Vote | undefined];
  entryCertificate: Certificate | undefined;
  timers: (() => void)[];
  retryArmed: boolean;
  /** Conflicts recorded in this view, by signer and kinds: each is counted once (spec §9). */
  conflicts: Set<string> | undefined;
}

interface FinalizedTip {
  height: number;
  view: number;
  digest: Uint8Array;
}

/** Block sync by height in progress: see {@link RANGE_SYNC_GAP_BLOCKS}. */
interface RangeSync {
  /** Blocks above our tip, linked to it by parent hash, that no certificate we hold covers yet. */
  run: { block: Block; digest: Uint8Array }[];
  runBytes: number;
  /** Requests that went unanswered or were refused; the sync gives up after MAX_REQUEST_ATTEMPTS. */
  failures: number;
  /** Picks the peer asked: it moves on at each failure. */
  attempts: number;
  inflight: { peer: number; fromHeight: number; cancel: () => void } | undefined;
}

/** What {@link SimplexEngine.syncStatus} reports. */
export interface SyncStatus {
  finalizedHeight: number;
  /** Highest height we know to be finalized (from a finalization whose block we hold). */
  targetHeight: number;
  /** True while finalized blocks are fetched forward by height. */
  rangeSyncing: boolean;
  /** Blocks finalized through block sync by height since start. */
  rangeSyncedBlocks: number;
}

function pad(value: number): string {
  return value.toString().padStart(16, '0');
}

function journalKey(view: number, kind: number): string {
  return `${JOURNAL_PREFIX}${pad(view)}/${kind}`;
}

function certificateKey(view: number, kind: number): string {
  return `${CERTIFICATE_PREFIX}${pad(view)}/${kind}`;
}

/** The view a journal key (`<prefix><16-digit view>/...`) belongs to. */
function viewOfKey(prefix: string, key: string): number {
  return Number(key.slice(prefix.length, prefix.length + 16));
}

/**
 * A Simplex validator. Create it with {@link createEngine}, then `start()`.
 * @example const engine = createEngine(config); await engine.start(); engine.status().finalizedHeight;
 */
export class SimplexEngine {
  readonly #config: EngineConfig;
  readonly #validators: ValidatorSet;
  readonly #schedule: ValidatorSchedule;
  /** Keys by `PeerId` (see EngineConfig.validators), and the reverse. */
  readonly #directory: Uint8Array[];
  readonly #peerByKey = new Map<string, PeerId>();
  /** Per validator set: the peer of each member and our member index (undefined: not a member). */
  readonly #rosters = new WeakMap<ValidatorSet, { peers: PeerId[]; self: number | undefined }>();
  readonly #timeouts: EngineTimeouts;
  readonly #verifier: SignatureVerifier;
  readonly #genesis: Uint8Array;
  #running = false;
  #view = 1;
  #tip: FinalizedTip;
  readonly #views = new Map<number, ViewState>();
  readonly #blocks = new Map<string, Block>();
  readonly #requests = new Map<string, { digest: Uint8Array; attempts: number; cancel: () => void }>();
  /** Certificate requests by `<view>/<need>` (see {@link CertificateNeed}). */
  readonly #certificateRequests = new Map<string, { attempts: number; cancel: () => void }>();
  /** The finalization that proves our tip, served to peers asking about views we have pruned. */
  #tipProof: Certificate | undefined;
  #pendingFinalization: Certificate | undefined;
  #rangeSync: RangeSync | undefined;
  #targetHeight = 0;
  #rangeSyncedBlocks = 0;
  /** State sync gave up (see EngineConfig.stateSyncThresholdBlocks): block sync whatever the gap. */
  #stateSyncDeclined = false;
  readonly #deliveries: FinalizedBlock[] = [];
  #delivering = false;
  readonly #evidence: EvidenceStore;
  /** Views above the finalized tip with a nullification we hold (spec §5), as ranges. */
  readonly #nullified = new ViewRanges();
  /** Views above the finalized tip with a notarization or finalization we hold, and its digest. */
  readonly #certified = new Map<number, Uint8Array>();
  /** Views holding a proposal not (yet) in the block cache; released when we leave the view. */
  readonly #heldProposals = new Set<number>();
  /** Late votes for the finalized tip whose extensions were passed on (`#passTipExtension`). */
  #tipExtensions: { view: number; checked: Set<string> } = { view: -1, checked: new Set() };
  /** Per-peer budgets for answering block and certificate requests (spec §9). */
  readonly #syncBudget: RequestBudget;
  readonly #certificateBudget: RequestBudget;
  readonly #drops: Map<string, number>[];
  #conflictingFinalizations = 0;

  constructor(config: EngineConfig) {
    invariant(
      Number.isInteger(config.self) && config.self >= 0 && config.self < config.validators.size,
      'self must index the validator set',
    );
    invariant(
      bytesEqual(config.signer.publicKey, config.validators.publicKeys[config.self]!),
      'the signer must hold the key of validator `self`',
    );
    this.#config = config;
    this.#validators = config.validators;
    this.#schedule =
      config.schedule ?? createValidatorSchedule({ epoch: 1, firstView: 1, validators: config.validators });
    this.#directory = config.validators.publicKeys.map((key) => key.slice());
    for (const [peer, key] of this.#directory.entries()) this.#peerByKey.set(toHex(key), peer);
    for (let view = 1; ; ) {
      // Keys of epochs already scheduled join the directory in epoch order.
      const epoch = this.#schedule.at(view);
      if (epoch !== undefined) this.#addToDirectory(epoch.validators);
      const latest = this.#schedule.latest();
      if (epoch === undefined || epoch.epoch === latest.epoch) {
        this.#addToDirectory(latest.validators);
        break;
      }
      view = this.#nextEpochView(epoch);
    }
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
    this.#verifier = config.verifier ?? defaultVerifier;
    this.#genesis = genesisDigest(config.chainId);
    this.#tip = { height: 0, view: 0, digest: this.#genesis };
    // With epochs, peers are the directory (it grows) and evidence is kept by the signer index of
    // its view's epoch: both are sized for the most validators a set can have.
    const peers = config.schedule === undefined ? config.validators.size : MAX_VALIDATORS;
    this.#drops = Array.from({ length: peers }, () => new Map<string, number>());
    invariant(
      config.blocks === undefined || (config.blocks as unknown) === config.storage,
      'the finalized-block store must be the engine storage itself (one sync for both)',
    );
    this.#evidence = new EvidenceStore(config.storage, peers);
    this.#syncBudget = new RequestBudget(config.clock, peers);
    this.#certificateBudget = new RequestBudget(config.clock, peers);
  }

  // ---------------------------------------------------------------- validator epochs

  /** The first view after `epoch` that belongs to a later scheduled epoch. */
  #nextEpochView(epoch: ValidatorEpoch): number {
    let low = epoch.firstView + 1;
    let high = this.#schedule.latest().firstView;
    // Binary search over views: the schedule maps views to epochs monotonically.
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      if (this.#schedule.at(middle)!.epoch > epoch.epoch) high = middle;
      else low = middle + 1;
    }
    return high;
  }

  #addToDirectory(set: ValidatorSet): void {
    for (const key of set.publicKeys) {
      const hex = toHex(key);
      if (this.#peerByKey.has(hex) || this.#directory.length >= MAX_VALIDATORS) continue;
      this.#peerByKey.set(hex, this.#directory.length);
      this.#directory.push(key.slice());
    }
  }

  /** The set of `view`'s epoch; undefined for views of no kept epoch. */
  #setAt(view: number): ValidatorSet | undefined {
    return this.#schedule.at(view)?.validators;
  }

  #roster(set: ValidatorSet): { peers: PeerId[]; self: number | undefined } {
    let roster = this.#rosters.get(set);
    if (roster === undefined) {
      const peers = set.publicKeys.map((key) => this.#peerByKey.get(toHex(key)) ?? -1);
      const self = peers.indexOf(this.#config.self);
      roster = { peers, self: self < 0 ? undefined : self };
      this.#rosters.set(set, roster);
    }
    return roster;
  }

  /** Our member index in `view`'s set; undefined when we are not a member then. */
  #selfIn(view: number): number | undefined {
    const set = this.#setAt(view);
    return set === undefined ? undefined : this.#roster(set).self;
  }

  /** The peer that member `index` of `view`'s set is; undefined for no such member. */
  #peerIn(view: number, index: number): PeerId | undefined {
    const set = this.#setAt(view);
    if (set === undefined || !Number.isInteger(index) || index < 0 || index >= set.size) return undefined;
    const peer = this.#roster(set).peers[index]!;
    return peer < 0 ? undefined : peer;
  }

  /** The epoch of `view` (undefined: none kept), for status and the application. */
  epochAt(view: number): ValidatorEpoch | undefined {
    return this.#schedule.at(view);
  }

  /**
   * Schedules the next validator epoch, derived by the application from the finalized chain (a
   * governance change applied at an epoch boundary, src/execution/validator-set.ts): from
   * `next.firstView` on, votes and certificates are checked against `next.validators`. Votes held
   * for those views are checked again under the new set (those of a removed validator, or signed
   * under an index that now names another key, fail and are dropped), and a nullify we signed there
   * under our old index is signed again under the new one: the same view and the same content, so
   * spec §3 (which is about what a validator signs, not the index it signs it under) is kept. A
   * notarize or finalize signed under the old index stays recorded (we sign no other in that view).
   * @throws EpochScheduleError when `next` is not the next epoch or does not start after the last
   */
  scheduleEpoch(next: ValidatorEpoch): void {
    this.#schedule.schedule(next);
    this.#addToDirectory(next.validators);
    for (const state of this.#views.values()) {
      if (state.view < next.firstView) continue;
      const self = this.#selfIn(state.view);
      for (const kind of [VoteKind.notarize, VoteKind.nullify, VoteKind.finalize]) {
        for (const entry of state.votes[kind].values()) entry.verified = false;
        const own = state.signed[kind];
        if (own === undefined || own.signer === self) continue;
        state.votes[kind].delete(own.signer);
        if (kind === VoteKind.nullify && self !== undefined) this.#resignNullify(state, self);
      }
      for (const kind of [VoteKind.notarize, VoteKind.nullify, VoteKind.finalize]) {
        const digests = new Set([...state.votes[kind].values()].map((entry) => entry.digestHex));
        for (const digestHex of digests) this.#checkQuorum(state, kind, digestHex);
      }
    }
  }

  /** Whether `certificate` carries a quorum of its view's epoch's set (spec §4). */
  #verifyCertificate(certificate: Certificate): boolean {
    const set = this.#setAt(certificate.view);
    return set !== undefined && verifyCertificate(set, this.#config.chainId, certificate, this.#verifier);
  }

  /** Signs our nullify of `state.view` again under member index `self` (see scheduleEpoch). */
  #resignNullify(state: ViewState, self: number): void {
    const previous = state.signed[VoteKind.nullify]!;
    const vote = signVote(this.#config.signer, this.#config.chainId, {
      kind: VoteKind.nullify,
      view: state.view,
      digest: previous.digest,
      signerIndex: self,
      extension: previous.extension,
    });
    state.signed[VoteKind.nullify] = vote;
    this.#config.storage.put(journalKey(state.view, VoteKind.nullify), VoteCodec.encode(vote));
    void this.#config.storage.sync().then(() => {
      if (!this.#running) return;
      this.#config.observer?.released?.(vote);
      this.#config.network.broadcast(VoteCodec.encode(vote));
      this.#addVote(state, vote, true);
    });
  }

  /** Recovers from storage (spec §3, §8), then starts taking messages and timers. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#recoverFinalized();
    const lastVotedView = this.#recoverJournal();
    const certificates = this.#recoverCertificates();
    this.#recoverNotarizedBlocks();
    this.#evidence.load();
    if (this.#config.storage.get(LEGACY_ENTRY_KEY) !== undefined)
      this.#config.storage.delete(LEGACY_ENTRY_KEY);
    this.#config.network.onMessage((from, message) => this.#onMessage(from, message));
    this.#queueUndelivered();
    this.#enterView(Math.max(this.#tip.view + 1, lastVotedView), undefined, true);
    // The certificates we held before the crash act again as when first seen: they move us into
    // the views they open, give us the entry certificate spec §6 forwards, answer peers' requests
    // (spec §7) and let proposals build on them (spec §5), even when no other honest node has them.
    for (const certificate of certificates)
      this.#acceptCertificate(this.#viewState(certificate.view), certificate, false, true);
    if (this.#tipProof !== undefined) this.#enterView(this.#tipProof.view + 1, this.#tipProof);
  }

  /** Cancels every timer and ignores further input; storage stays as it is. */
  stop(): void {
    this.#running = false;
    for (const state of this.#views.values()) this.#cancelTimers(state);
    for (const request of this.#requests.values()) request.cancel();
    this.#requests.clear();
    for (const request of this.#certificateRequests.values()) request.cancel();
    this.#certificateRequests.clear();
    this.#stopRangeSync();
  }

  status(): EngineStatus {
    return {
      running: this.#running,
      view: this.#view,
      finalizedHeight: this.#tip.height,
      finalizedView: this.#tip.view,
      finalizedDigest: this.#tip.digest.slice(),
      proposalHeight: this.#proposalHeight(),
      proposalLeader: this.#proposalLeader(),
      conflictingFinalizations: this.#conflictingFinalizations,
    };
  }

  /**
   * `EngineStatus.proposalHeight`, read only (no block or certificate requests, unlike
   * `#parentFor`): costs the unfinalized certified views, as `#viewsBelow` does.
   */
  #proposalLeader(): Uint8Array | undefined {
    const view = this.#views.get(this.#view)?.proposal === undefined ? this.#view : this.#view + 1;
    const set = this.#setAt(view);
    return set === undefined ? undefined : set.publicKeys[leaderOf(set, view)]?.slice();
  }

  #proposalHeight(): number {
    const proposal = this.#views.get(this.#view)?.proposal;
    if (proposal !== undefined) return Math.max(proposal.block.height, this.#tip.height) + 1;
    const { certifiedView } = this.#viewsBelow(this.#view);
    const certified = this.#certified.get(certifiedView);
    const parent = certified === undefined ? undefined : this.#blocks.get(toHex(certified));
    return Math.max(parent?.height ?? 0, this.#tip.height) + 1;
  }

  /**
   * How much each bounded cache holds now (for tests and metrics): blocks in memory and their
   * payload bytes, tracked views, proposals held, and outstanding block and certificate requests.
   */
  cacheSizes(): CacheSizes {
    let blockBytes = 0;
    let stale = 0;
    const tipHex = toHex(this.#tip.digest);
    for (const [hex, block] of this.#blocks) {
      blockBytes += block.payload.length;
      if (hex !== tipHex && (block.view <= this.#tip.view || block.height <= this.#tip.height)) stale++;
    }
    let proposals = 0;
    for (const state of this.#views.values()) {
      if (state.proposal === undefined) continue;
      proposals++;
      if (!this.#blocks.has(state.proposal.digestHex)) blockBytes += state.proposal.block.payload.length;
    }
    return {
      blocks: this.#blocks.size,
      stale,
      blockBytes,
      views: this.#views.size,
      proposals,
      blockRequests: this.#requests.size,
      certificateRequests: this.#certificateRequests.size,
    };
  }

  /**
   * State sync found no snapshot (or failed): catch up by block sync, however far behind. Once
   * caught up, the threshold applies again.
   */
  declineStateSync(): void {
    if (this.#stateSyncDeclined) return;
    this.#stateSyncDeclined = true;
    this.#advanceFinalized();
  }

  /** Whether the gap to the known finalized height is for state sync to close, not block sync. */
  #awaitingStateSync(): boolean {
    const threshold = this.#config.stateSyncThresholdBlocks ?? 0;
    if (threshold <= 0 || this.#stateSyncDeclined) return false;
    if (this.#targetHeight - this.#tip.height <= threshold) return false;
    this.#stopRangeSync();
    return true;
  }

  /** How far behind the network we are, and whether block sync by height is running. */
  syncStatus(): SyncStatus {
    return {
      finalizedHeight: this.#tip.height,
      targetHeight: Math.max(this.#targetHeight, this.#tip.height),
      rangeSyncing: this.#rangeSync !== undefined,
      rangeSyncedBlocks: this.#rangeSyncedBlocks,
    };
  }

  /**
   * Installs a finalized tip restored by state sync: the application already holds its state at
   * `finalized.block` (restored from a snapshot whose state root a finality certificate covers),
   * so consensus continues from there and fetches the blocks above it by height. The caller has
   * checked that `finalized.finalization` certifies the block or a descendant of it; this checks
   * the certificate itself and that the block is above our tip. Returns false, changing nothing,
   * otherwise.
   */
  installFinalizedTip(finalized: FinalizedBlock): boolean {
    const { block, finalization } = finalized;
    if (!this.#running || block.height <= this.#tip.height) return false;
    const digest = blockDigest(block);
    if (!bytesEqual(digest, finalized.digest)) return false;
    if (finalization.kind !== VoteKind.finalize || finalization.view < block.view) return false;
    if (!this.#verifyCertificate(finalization)) return false;
    putFinalizedBlock(this.#config.storage, block, finalization, this.#config.blocks);
    this.#tip = { height: block.height, view: block.view, digest };
    this.#tipProof = finalization;
    this.#targetHeight = Math.max(this.#targetHeight, block.height);
    // The rest, up to the network, is block sync's: a snapshot will not get us closer now.
    this.#stateSyncDeclined = true;
    // Blocks below the new tip were never applied here and never will be: the state replaces them.
    const pending = this.#deliveries.filter((entry) => entry.block.height > block.height);
    this.#deliveries.length = 0;
    this.#deliveries.push(...pending);
    if (this.#pendingFinalization !== undefined && this.#pendingFinalization.view <= block.view)
      this.#pendingFinalization = undefined;
    this.#stopRangeSync();
    this.#prune();
    if (this.#view <= this.#tip.view) this.#enterView(this.#tip.view + 1, undefined);
    this.#advanceFinalized();
    return true;
  }

  /**
   * Equivocation evidence kept (persisted; at most `EVIDENCE_PER_OFFENDER_MAX` per offender),
   * ordered by view then signer.
   */
  evidence(): Evidence[] {
    return this.#evidence.list();
  }

  /** Conflicting vote pairs seen per offender (more than {@link evidence} keeps of each). */
  evidenceCounts(): Record<number, number> {
    return this.#evidence.counts();
  }

  /** Dropped messages per peer index and reason. */
  dropCounters(): Record<number, Partial<Record<DropReasonValue, number>>> {
    const out: Record<number, Partial<Record<DropReasonValue, number>>> = {};
    this.#drops.forEach((reasons, peer) => {
      if (reasons.size === 0) return;
      const entry: Partial<Record<DropReasonValue, number>> = {};
      for (const reason of [...reasons.keys()].sort())
        entry[reason as DropReasonValue] = reasons.get(reason)!;
      out[peer] = entry;
    });
    return out;
  }

  // ---------------------------------------------------------------- recovery

  #recoverFinalized(): void {
    const storage = this.#config.storage;
    const latest = this.#config.blocks?.latestFinalizedHeight();
    const heights =
      this.#config.blocks === undefined
        ? storage.keys(BLOCK_PREFIX).map((key) => Number(key.slice(BLOCK_PREFIX.length)))
        : latest === undefined
          ? []
          : [latest];
    // Writes become durable in order, so the finalized chain on disk is contiguous; a torn or
    // missing last entry is skipped and the block is simply fetched and finalized again.
    for (let i = heights.length - 1; i >= 0; i--) {
      const height = heights[i]!;
      const block = this.#readFinalizedBlock(height);
      const proof = this.#readProof(height);
      if (block === undefined || proof === undefined) continue;
      this.#tip = { height, view: block.view, digest: blockDigest(block) };
      this.#tipProof = proof;
      this.#blocks.set(toHex(this.#tip.digest), block);
      return;
    }
  }

  /** The stored encoding of the finalized block at `height`, wherever this engine keeps blocks. */
  #finalizedBlockBytes(height: number): Uint8Array | undefined {
    const blocks = this.#config.blocks;
    return blocks === undefined
      ? this.#config.storage.get(BLOCK_PREFIX + pad(height))
      : blocks.finalizedBlock(height)?.block;
  }

  #readFinalizedBlock(height: number): Block | undefined {
    const bytes = this.#finalizedBlockBytes(height);
    if (bytes === undefined) return undefined;
    try {
      const block = BlockCodec.decode(bytes);
      return block.height === height ? block : undefined;
    } catch {
      return undefined;
    }
  }

  #readProof(height: number): Certificate | undefined {
    const blocks = this.#config.blocks;
    const bytes =
      blocks === undefined
        ? this.#config.storage.get(PROOF_PREFIX + pad(height))
        : blocks.finalizedBlock(height)?.certificate;
    if (bytes === undefined) return undefined;
    try {
      return CertificateCodec.decode(bytes);
    } catch {
      return undefined;
    }
  }

  /** Reloads our own votes above the finalized tip; returns the highest view we voted in. */
  #recoverJournal(): number {
    let highest = 0;
    for (const key of this.#config.storage.keys(JOURNAL_PREFIX)) {
      const bytes = this.#config.storage.get(key);
      let vote: Vote;
      try {
        vote = VoteCodec.decode(bytes ?? new Uint8Array(0));
      } catch {
        // Only a write that never reached `sync` can be torn, and such a vote was never sent.
        continue;
      }
      // Only we write the journal; the signer index is the one of the vote's epoch (it may differ
      // between epochs), so it is not what makes a vote ours.
      if (vote.view <= this.#tip.view) continue;
      highest = Math.max(highest, vote.view);
    }
    return highest;
  }

  /** The certificate journal above the finalized tip, in view order; torn or invalid ones skipped. */
  #recoverCertificates(): Certificate[] {
    const storage = this.#config.storage;
    const out: Certificate[] = [];
    for (const key of storage.keys(CERTIFICATE_PREFIX)) {
      if (viewOfKey(CERTIFICATE_PREFIX, key) <= this.#tip.view) continue;
      const certificate = this.#decodeCertificate(storage.get(key));
      if (certificate !== undefined && key === certificateKey(certificate.view, certificate.kind))
        out.push(certificate);
    }
    return out;
  }

  /**
   * A journaled certificate, or undefined when it is absent, torn or (with `verify`) invalid.
   * Answers to peers skip verification: they verify what they receive (spec §4).
   */
  #decodeCertificate(bytes: Uint8Array | undefined, verify = true): Certificate | undefined {
    if (bytes === undefined) return undefined;
    try {
      const certificate = CertificateCodec.decode(bytes);
      return !verify || this.#verifyCertificate(certificate) ? certificate : undefined;
    } catch {
      // Only a write that never reached `sync` can be torn; peers may still hold it.
      return undefined;
    }
  }

  /** Reloads the blocks we notarized above the finalized tip, so we can still serve them (spec §7). */
  #recoverNotarizedBlocks(): void {
    const storage = this.#config.storage;
    for (const key of storage.keys(NOTARIZED_PREFIX)) {
      const view = viewOfKey(NOTARIZED_PREFIX, key);
      if (view <= this.#tip.view) continue;
      try {
        const block = BlockCodec.decode(storage.get(key) ?? new Uint8Array(0));
        if (block.view === view && block.height > this.#tip.height)
          this.#storeBlock(toHex(blockDigest(block)), block);
      } catch {
        // A torn block was never synced, so neither was the notarize vote that followed it.
      }
    }
  }

  #queueUndelivered(): void {
    const processed = this.#config.application.processedHeight();
    invariant(processed <= this.#tip.height, 'the application is ahead of the finalized chain it was given');
    for (let height = processed + 1; height <= this.#tip.height; height++) {
      const block = this.#readFinalizedBlock(height);
      const proof = this.#readProof(height);
      invariant(block !== undefined && proof !== undefined, `finalized block ${height} missing from storage`);
      this.#deliveries.push({ block, digest: blockDigest(block), finalization: proof });
    }
    void this.#deliver();
  }

  // ---------------------------------------------------------------- views and timers

  #viewState(view: number): ViewState {
    let state = this.#views.get(view);
    if (state !== undefined) return state;
    state = {
      view,
      proposal: undefined,
      proposalState: 'none',
      proposing: false,
      votes: [new Map(), new Map(), new Map()],
      certificates: [undefined, undefined, undefined],
      signed: [undefined, undefined, undefined],
      entryCertificate: undefined,
      timers: [],
      retryArmed: false,
      conflicts: undefined,
    };
    this.#views.set(view, state);
    // The journal, not memory, is the record of what we signed: a view forgotten below and seen
    // again gets its votes back, so spec §3 holds whatever was evicted.
    for (const kind of [VoteKind.notarize, VoteKind.nullify, VoteKind.finalize]) {
      const bytes = this.#config.storage.get(journalKey(view, kind));
      if (bytes === undefined) continue;
      try {
        const vote = VoteCodec.decode(bytes);
        if (vote.view === view && vote.kind === kind) state.signed[kind] = vote;
      } catch {
        // A torn entry was never synced, so that vote was never sent (see #recoverJournal).
      }
    }
    if (state.signed[VoteKind.notarize] !== undefined) state.proposalState = 'accepted';
    if (this.#views.size > MAX_TRACKED_VIEWS) {
      // Forgetting an old unfinalized view can only cost liveness (a proposal built over it waits).
      let oldest = Number.POSITIVE_INFINITY;
      for (const candidate of this.#views.keys()) {
        if (candidate !== this.#view && candidate !== view && candidate < oldest) oldest = candidate;
      }
      const evicted = this.#views.get(oldest);
      if (evicted !== undefined) {
        this.#cancelTimers(evicted);
        this.#views.delete(oldest);
      }
    }
    return state;
  }

  #cancelTimers(state: ViewState): void {
    for (const cancel of state.timers) cancel();
    state.timers = [];
    state.retryArmed = false;
  }

  /**
   * Enters `view` (spec §2, §4) and arms its timers (spec §6). The certificate `via` is journaled
   * (it becomes durable with the first vote synced in the view), so a restart can still forward
   * it (spec §6); a certificate of the view before ours also becomes our entry certificate when
   * we got here without one (at a restart).
   */
  #enterView(view: number, via: Certificate | undefined, force = false): void {
    if (!this.#running) return;
    if (view === this.#view && !force) {
      const current = this.#views.get(view);
      if (via !== undefined && current !== undefined && current.entryCertificate === undefined)
        this.#setEntry(current, via);
      return;
    }
    if (view <= this.#view && !force) return;
    const previous = this.#views.get(this.#view);
    if (previous !== undefined) this.#cancelTimers(previous);
    this.#view = view;
    this.#releaseProposalsBelow(view);
    const state = this.#viewState(view);
    if (via !== undefined) this.#setEntry(state, via);
    const clock = this.#config.clock;
    // Simplex's timeouts back off while views keep being nullified (see timeouts.ts).
    const streak = this.#nullifiedStreak(view);
    state.timers.push(
      clock.setTimer(backedOffMs(this.#timeouts.leaderMs, streak), () => {
        if (state.signed[VoteKind.notarize] === undefined) this.#timeout(state);
      }),
      clock.setTimer(backedOffMs(this.#timeouts.notarizationMs, streak), () => {
        if (state.certificates[VoteKind.notarize] === undefined) this.#timeout(state);
      }),
    );
    if (state.signed[VoteKind.nullify] !== undefined) this.#timeout(state);
    this.#tryPropose();
    this.#tryNotarize();
  }

  /**
   * Forgets the proposals of views below `view` that never joined the block cache: we only
   * notarize in our current view, and a quorum certifying one of them later makes us fetch it
   * (spec §7), so holding them would only let a leader's unchecked payloads pile up.
   */
  #releaseProposalsBelow(view: number): void {
    for (const held of [...this.#heldProposals]) {
      if (held >= view) continue;
      this.#heldProposals.delete(held);
      const state = this.#views.get(held);
      if (state?.proposal !== undefined && !this.#blocks.has(state.proposal.digestHex))
        state.proposal = undefined;
    }
  }

  #setEntry(state: ViewState, via: Certificate): void {
    // `via` is already in the certificate journal (see #acceptCertificate), or is the tip's proof.
    state.entryCertificate = via;
  }

  /** The view timed out: nullify it (never after finalizing it, spec §3) and keep rebroadcasting. */
  #timeout(state: ViewState): void {
    if (!this.#running || state.view !== this.#view) return;
    if (state.signed[VoteKind.finalize] !== undefined) return;
    const existing = state.signed[VoteKind.nullify];
    if (existing === undefined) {
      this.#castVote(state, VoteKind.nullify, ZERO_DIGEST);
    } else {
      this.#config.network.broadcast(VoteCodec.encode(existing));
    }
    if (state.entryCertificate !== undefined) {
      this.#config.network.broadcast(CertificateCodec.encode(state.entryCertificate));
    }
    if (!state.retryArmed) {
      state.retryArmed = true;
      state.timers.push(
        this.#config.clock.setTimer(this.#timeouts.nullifyRetryMs, () => {
          state.retryArmed = false;
          this.#timeout(state);
        }),
      );
    }
  }

  // ---------------------------------------------------------------- signing

  /**
   * Signs a vote, records it in memory at once (so nothing signs a conflicting one meanwhile),
   * journals and syncs it, and only then sends it and counts it (spec §3).
   */
  #castVote(state: ViewState, kind: VoteKindValue, digest: Uint8Array, proposal?: Block): void {
    // Outside the view's validator set we sign nothing (a removed validator has no voice after it).
    const self = this.#selfIn(state.view);
    if (self === undefined) return;
    invariant(state.signed[kind] === undefined, 'a vote of this kind was already signed in this view');
    if (kind === VoteKind.finalize && this.#config.mutation !== 'finalize-after-nullify') {
      invariant(state.signed[VoteKind.nullify] === undefined, 'never finalize a nullified view (spec §3)');
    }
    if (kind === VoteKind.nullify) {
      invariant(state.signed[VoteKind.finalize] === undefined, 'never nullify a finalized view (spec §3)');
    }
    const extension = this.#config.application.extension?.(kind, state.view, digest) ?? new Uint8Array(0);
    const vote = signVote(this.#config.signer, this.#config.chainId, {
      kind,
      view: state.view,
      digest,
      signerIndex: self,
      extension,
    });
    state.signed[kind] = vote;
    const storage = this.#config.storage;
    if (kind === VoteKind.notarize) {
      // The block we notarize is journaled ahead of the vote, so it is durable whenever the vote
      // is: a notarization it joins can always be resolved from us, even after a crash (spec §7).
      const block = proposal ?? state.proposal?.block;
      if (block !== undefined && bytesEqual(blockDigest(block), digest))
        storage.put(`${NOTARIZED_PREFIX}${pad(state.view)}`, BlockCodec.encode(block));
    }
    storage.put(journalKey(state.view, kind), VoteCodec.encode(vote));
    void storage.sync().then(() => {
      if (!this.#running) return;
      this.#config.observer?.released?.(vote);
      if (proposal !== undefined) {
        this.#config.network.broadcast(ProposalCodec.encode({ block: proposal, vote }));
      } else {
        this.#config.network.broadcast(VoteCodec.encode(vote));
      }
      this.#addVote(state, vote, true);
    });
  }

  // ---------------------------------------------------------------- proposing (spec §5)

  /**
   * What the certificates we hold say about the views just below `view` (spec §5): `runStart` is
   * the first of the consecutive nullified views ending at `view − 1` (`view` when that one is not
   * nullified), and `certifiedView` the highest certified view at or above `runStart − 1` (below
   * `view`), or −1. A proposal in `view` builds on `certifiedView` when there is one, on the
   * finalized tip when the run reaches down to it, and must wait for view `runStart − 1` otherwise.
   * Both lookups cost the number of unfinalized certified views, not the length of the run.
   */
  #viewsBelow(view: number): { runStart: number; certifiedView: number } {
    const runStart = this.#nullified.runStart(view - 1);
    let certifiedView = -1;
    // Certified views above the tip are few: the tip follows them unless finalize votes are lost.
    for (const candidate of this.#certified.keys()) {
      if (candidate >= runStart - 1 && candidate < view && candidate > certifiedView)
        certifiedView = candidate;
    }
    return { runStart, certifiedView };
  }

  /** Consecutive views just below `view` that were nullified and not certified (spec §6 backoff). */
  #nullifiedStreak(view: number): number {
    const { runStart, certifiedView } = this.#viewsBelow(view);
    return certifiedView >= 0 ? view - 1 - certifiedView : view - runStart;
  }

  /** The parent a proposal in `view` must extend, or undefined while certificates are missing. */
  #parentFor(view: number): { parentView: number; parent: Uint8Array } | undefined {
    const { runStart, certifiedView } = this.#viewsBelow(view);
    const certified = this.#certified.get(certifiedView);
    if (certified !== undefined) return { parentView: certifiedView, parent: certified };
    if (runStart - 1 <= this.#tip.view) return { parentView: this.#tip.view, parent: this.#tip.digest };
    this.#requestCertificates(runStart - 1, 'any');
    return undefined;
  }

  #heightOf(digest: Uint8Array, view: number): number | undefined {
    if (view === this.#tip.view && bytesEqual(digest, this.#tip.digest)) return this.#tip.height;
    const block = this.#blocks.get(toHex(digest));
    if (block === undefined) {
      this.#request(digest, 4);
      return undefined;
    }
    return block.height;
  }

  #tryPropose(): void {
    const view = this.#view;
    const state = this.#viewState(view);
    const set = this.#setAt(view);
    const self = this.#selfIn(view);
    if (!this.#running || set === undefined || self === undefined || leaderOf(set, view) !== self) return;
    if (
      state.proposing ||
      state.signed[VoteKind.notarize] !== undefined ||
      state.signed[VoteKind.nullify] !== undefined
    ) {
      return;
    }
    const parent = this.#parentFor(view);
    if (parent === undefined) return;
    const parentHeight = this.#heightOf(parent.parent, parent.parentView);
    if (parentHeight === undefined) return;
    state.proposing = true;
    const context: BlockContext = { view, height: parentHeight + 1, ...parent, proposer: self };
    void Promise.resolve(this.#config.application.propose(context)).then((payload) => {
      if (!this.#running || payload === undefined || this.#view !== view) return;
      if (state.signed[VoteKind.notarize] !== undefined || state.signed[VoteKind.nullify] !== undefined)
        return;
      const block: Block = {
        view,
        height: context.height,
        parentView: context.parentView,
        parent: context.parent,
        proposer: self,
        payload,
      };
      const digest = blockDigest(block);
      const digestHex = toHex(digest);
      this.#storeBlock(digestHex, block);
      state.proposal = { block, digest, digestHex };
      state.proposalState = 'accepted';
      this.#castVote(state, VoteKind.notarize, digest, block);
    });
  }

  // ---------------------------------------------------------------- notarizing (spec §5)

  /** Checks the current view's proposal and notarizes it when every rule of spec §5 holds. */
  #tryNotarize(): void {
    const state = this.#views.get(this.#view);
    if (!this.#running || state === undefined || state.proposal === undefined) return;
    if (state.proposalState !== 'none') return;
    if (state.signed[VoteKind.notarize] !== undefined || state.signed[VoteKind.nullify] !== undefined) return;
    const { block } = state.proposal;
    const verdict = this.#checkParent(block);
    if (verdict === 'wait') return;
    if (verdict === 'invalid') {
      state.proposalState = 'rejected';
      this.#drop(block.proposer, DropReason.invalidProposal);
      return;
    }
    state.proposalState = 'checking';
    const context: BlockContext = {
      view: block.view,
      height: block.height,
      parentView: block.parentView,
      parent: block.parent,
      proposer: block.proposer,
    };
    void Promise.resolve(this.#config.application.verify(context, block.payload)).then((valid) => {
      if (valid === 'unknown') {
        // Not the proposer's fault: our execution is behind. No vote, no charge; the view times
        // out as for a silent leader unless a finalization lets us judge it first.
        state.proposalState = 'undecided';
        return;
      }
      if (valid !== true) {
        state.proposalState = 'rejected';
        this.#drop(block.proposer, DropReason.invalidProposal);
        return;
      }
      state.proposalState = 'accepted';
      if (!this.#running || this.#view !== state.view || state.proposal === undefined) return;
      if (state.signed[VoteKind.notarize] !== undefined || state.signed[VoteKind.nullify] !== undefined)
        return;
      // Checked by spec §5 and the application: the block joins the cache, for the proposals that
      // build on it and the finalization that may cover it.
      this.#storeBlock(state.proposal.digestHex, state.proposal.block);
      this.#castVote(state, VoteKind.notarize, state.proposal.digest);
    });
  }

  #checkParent(block: Block): 'ok' | 'wait' | 'invalid' {
    if (block.parentView < this.#tip.view) return 'invalid';
    if (block.parentView === this.#tip.view) {
      if (!bytesEqual(block.parent, this.#tip.digest)) return 'invalid';
    } else {
      const certified = this.#certified.get(block.parentView);
      if (certified === undefined) {
        this.#requestCertificates(block.parentView, 'certified');
        return 'wait';
      }
      if (!bytesEqual(certified, block.parent)) return 'invalid';
    }
    // Every skipped view needs its nullification; the ones we lack are fetched a batch at a time
    // (each arrival re-checks), so any number of skipped views resolves in bounded memory.
    const missing = this.#nullified.missing(block.parentView + 1, block.view - 1, MAX_CERTIFICATE_BATCH);
    if (missing.length > 0) {
      for (const view of missing) this.#requestCertificates(view, 'nullify');
      return 'wait';
    }
    const parentHeight = this.#heightOf(block.parent, block.parentView);
    if (parentHeight === undefined) return 'wait';
    return block.height === parentHeight + 1 ? 'ok' : 'invalid';
  }

  // ---------------------------------------------------------------- inbound messages

  #drop(peer: PeerId, reason: DropReasonValue): void {
    const counters = this.#drops[peer];
    if (counters === undefined) return;
    counters.set(reason, (counters.get(reason) ?? 0) + 1);
  }

  #onMessage(from: PeerId, message: Uint8Array): void {
    if (!this.#running || !Number.isInteger(from) || from < 0 || from >= this.#directory.length) return;
    if (from === this.#config.self) return;
    let tag: number;
    try {
      tag = peekTag(message);
    } catch {
      this.#drop(from, DropReason.malformed);
      return;
    }
    try {
      switch (tag) {
        case VoteCodec.tag:
          this.#onVote(from, VoteCodec.decode(message));
          return;
        case ProposalCodec.tag:
          this.#onProposal(from, ProposalCodec.decode(message));
          return;
        case CertificateCodec.tag:
          this.#onCertificate(from, CertificateCodec.decode(message));
          return;
        case SyncRequestCodec.tag:
          this.#onSyncRequest(from, SyncRequestCodec.decode(message));
          return;
        case SyncResponseCodec.tag:
          this.#onSyncResponse(from, SyncResponseCodec.decode(message));
          return;
        case CertificateRequestCodec.tag:
          this.#onCertificateRequest(from, CertificateRequestCodec.decode(message));
          return;
        case RangeRequestCodec.tag:
          this.#onRangeRequest(from, RangeRequestCodec.decode(message));
          return;
        case RangeResponseCodec.tag:
          this.#onRangeResponse(from, RangeResponseCodec.decode(message));
          return;
        default:
          this.#drop(from, DropReason.unknownType);
      }
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      this.#drop(from, error.code === 'MESSAGE_TOO_LARGE' ? DropReason.oversized : DropReason.malformed);
    }
  }

  /** Whether a vote or proposal for `view` is inside the window we keep state for. */
  #inWindow(from: PeerId, view: number): boolean {
    if (view <= this.#tip.view) {
      this.#drop(from, DropReason.stale);
      return false;
    }
    if (view > this.#view + MAX_VIEWS_AHEAD) {
      this.#drop(from, DropReason.tooFarAhead);
      return false;
    }
    return true;
  }

  #onVote(from: PeerId, vote: Vote): void {
    if (this.#peerIn(vote.view, vote.signer) !== from) {
      this.#drop(from, DropReason.senderMismatch);
      return;
    }
    if (!this.#inWindow(from, vote.view)) {
      this.#passTipExtension(vote);
      return;
    }
    this.#addVote(this.#viewState(vote.view), vote, false);
  }

  /** Checks one vote's signature and extension now; counts the failure against its signer. */
  #verifyNow(entry: VoteEntry): boolean {
    if (entry.verified) return true;
    const vote = entry.vote;
    const key = this.#setAt(vote.view)?.publicKeys[vote.signer];
    const peer = this.#peerIn(vote.view, vote.signer) ?? -1;
    if (key === undefined || !verifyVote(key, this.#config.chainId, vote, this.#verifier)) {
      this.#drop(peer, DropReason.badSignature);
      return false;
    }
    const verifyExtension = this.#config.application.verifyExtension;
    // The application knows validators by peer (genesis index): it is given the peer, not the index.
    if (
      peer !== this.#config.self &&
      verifyExtension !== undefined &&
      !verifyExtension(peer, vote.kind as VoteKindValue, vote.view, vote.digest, vote.extension)
    ) {
      this.#drop(peer, DropReason.badExtension);
      return false;
    }
    entry.verified = true;
    return true;
  }

  /**
   * Records a vote, detecting equivocation (spec §9), and assembles a certificate when a quorum
   * agrees (spec §4). Signatures are checked lazily: only when they could complete a quorum, or
   * when the vote conflicts with another of the same signer.
   */
  #addVote(state: ViewState, vote: Vote, verified: boolean): void {
    const kind = vote.kind as VoteKindValue;
    const entry: VoteEntry = { vote, digestHex: toHex(vote.digest), verified };
    const sameKind = state.votes[kind].get(vote.signer);
    if (sameKind !== undefined) {
      if (sameKind.digestHex === entry.digestHex) return;
      if (!this.#verifyNow(entry)) return;
      if (!this.#verifyNow(sameKind)) {
        state.votes[kind].set(vote.signer, entry);
      } else {
        this.#recordEvidence(state, sameKind.vote, vote);
        return;
      }
    } else {
      const opposite =
        kind === VoteKind.finalize
          ? VoteKind.nullify
          : kind === VoteKind.nullify
            ? VoteKind.finalize
            : undefined;
      const other = opposite === undefined ? undefined : state.votes[opposite].get(vote.signer);
      if (other !== undefined) {
        if (!this.#verifyNow(entry)) return;
        if (this.#verifyNow(other)) this.#recordEvidence(state, other.vote, vote);
        else state.votes[opposite!].delete(vote.signer);
      }
      state.votes[kind].set(vote.signer, entry);
    }
    if (state.certificates[kind] !== undefined) this.#passLateExtension(state, entry);
    else this.#checkQuorum(state, kind, entry.digestHex);
  }

  /**
   * A vote that arrives after its view's certificate counts for nothing, so it is never verified
   * lazily, but its extension (the signer's oracle observation for the next height) is what the
   * next leader waits for to propose with 2f + 1 fresh prices. When we lead the next view, such a
   * vote is verified now, which hands its extension to the application; so it is whenever the
   * application wants the extension (`wantsLateExtension`: decryption-key shares).
   */
  #passLateExtension(state: ViewState, entry: VoteEntry): void {
    if (entry.verified || entry.vote.extension.length === 0) return;
    if (this.#config.application.wantsLateExtension?.(entry.vote.extension) === true) {
      this.#verifyNow(entry);
      return;
    }
    const next = state.view + 1;
    const set = this.#setAt(next);
    const self = this.#selfIn(next);
    if (set === undefined || self === undefined || leaderOf(set, next) !== self) return;
    this.#verifyNow(entry);
  }

  /**
   * A vote for our finalized tip arrives too late to count, but its extension is its signer's
   * observation for the height after the tip: the next block's, which we propose when we lead the
   * view after the tip's. A validator whose loop was busy (it finalized the tip from a certificate
   * before its peers' votes were read) otherwise drops them and waits its observation timeout.
   * An extension the application wants late (`wantsLateExtension`) is passed on whoever leads.
   * Each signer's vote of each kind is checked once per tip.
   */
  #passTipExtension(vote: Vote): void {
    const tip = this.#tip;
    if (vote.view !== tip.view || vote.kind === VoteKind.nullify || vote.extension.length === 0) return;
    if (!bytesEqual(vote.digest, tip.digest)) return;
    const next = tip.view + 1;
    const set = this.#setAt(next);
    const self = this.#selfIn(next);
    const wanted = this.#config.application.wantsLateExtension?.(vote.extension) === true;
    if (!wanted && (set === undefined || self === undefined || leaderOf(set, next) !== self)) return;
    if (this.#tipExtensions.view !== tip.view) this.#tipExtensions = { view: tip.view, checked: new Set() };
    const key = `${vote.kind}/${vote.signer}`;
    if (this.#tipExtensions.checked.has(key)) return;
    this.#tipExtensions.checked.add(key);
    this.#verifyNow({ vote, digestHex: toHex(vote.digest), verified: false });
  }

  #checkQuorum(state: ViewState, kind: VoteKindValue, digestHex: string): void {
    if (state.certificates[kind] !== undefined) return;
    const quorum = this.#setAt(state.view)?.quorum;
    if (quorum === undefined) return;
    const agreeing = [...state.votes[kind].values()].filter((entry) => entry.digestHex === digestHex);
    if (agreeing.length < quorum) return;
    const valid: Vote[] = [];
    for (const entry of agreeing) {
      if (this.#verifyNow(entry)) valid.push(entry.vote);
      else state.votes[kind].delete(entry.vote.signer);
    }
    if (valid.length < quorum) return;
    const first = valid[0]!;
    const certificate = certificateFromVotes(kind, state.view, first.digest, valid);
    this.#config.network.broadcast(CertificateCodec.encode(certificate));
    this.#acceptCertificate(state, certificate, true);
  }

  #onProposal(from: PeerId, proposal: Proposal): void {
    const { block, vote } = proposal;
    const set = this.#setAt(block.view);
    const leader = set === undefined ? -1 : leaderOf(set, block.view);
    if (block.proposer !== leader || this.#peerIn(block.view, leader) !== from) {
      this.#drop(from, DropReason.notLeader);
      return;
    }
    if (!this.#inWindow(from, block.view)) return;
    const digest = blockDigest(block);
    if (!bytesEqual(digest, vote.digest)) {
      this.#drop(from, DropReason.digestMismatch);
      return;
    }
    const state = this.#viewState(block.view);
    const digestHex = toHex(digest);
    if (state.proposal !== undefined) {
      // A second, different proposal is the leader's second notarize: `#addVote` records evidence.
      if (state.proposal.digestHex !== digestHex) this.#addVote(state, vote, false);
      return;
    }
    const entry: VoteEntry = { vote, digestHex, verified: false };
    if (!this.#verifyNow(entry)) return;
    // Checked before anything is held (spec §5): a block whose height cannot follow its parent, or
    // cannot be reached from our tip in the views since, is refused. The leader's vote still
    // counts, so a second proposal of the view is caught as equivocation (spec §9).
    if (!this.#plausible(block)) {
      state.proposalState = 'rejected';
      this.#drop(from, DropReason.invalidProposal);
      this.#addVote(state, vote, true);
      return;
    }
    if (block.view < this.#view) {
      // We no longer notarize in that view; the block matters only if a quorum certified it.
      const certified = this.#certified.get(block.view);
      if (certified !== undefined && bytesEqual(certified, digest)) {
        this.#storeBlock(digestHex, block);
        this.#advanceFinalized();
        this.#tryPropose();
        this.#tryNotarize();
      }
      this.#addVote(state, vote, true);
      return;
    }
    // Held with the view, not in the block cache, until it is checked or certified: at most one
    // per view in the window of MAX_VIEWS_AHEAD views we accept messages for.
    state.proposal = { block, digest, digestHex };
    this.#heldProposals.add(block.view);
    this.#addVote(state, vote, true);
    this.#tryNotarize();
  }

  /**
   * Whether a proposal's height and parent can be right at all, from what we hold: its parent is
   * not below our tip, its height is above the tip's and at most one per view since the tip, and
   * when we hold its parent, exactly one above the parent's.
   */
  #plausible(block: Block): boolean {
    const tip = this.#tip;
    if (block.parentView < tip.view || block.height <= tip.height) return false;
    if (block.height - tip.height > block.view - tip.view) return false;
    if (block.parentView === tip.view)
      return bytesEqual(block.parent, tip.digest) && block.height === tip.height + 1;
    const parent = this.#blocks.get(toHex(block.parent));
    if (parent === undefined) return true;
    return parent.view === block.parentView && block.height === parent.height + 1;
  }

  #onCertificate(from: PeerId, certificate: Certificate): void {
    if (certificate.view <= this.#tip.view) return;
    const existing = this.#views.get(certificate.view)?.certificates[certificate.kind];
    if (existing !== undefined) return;
    // A nullification already held for a view whose state was forgotten (MAX_TRACKED_VIEWS) adds
    // nothing: the ranges, not the view state, are what proposals are checked against (spec §5).
    if (certificate.kind === VoteKind.nullify && this.#nullified.has(certificate.view)) return;
    if (!this.#verifyCertificate(certificate)) {
      this.#drop(from, DropReason.badCertificate);
      return;
    }
    this.#acceptCertificate(this.#viewState(certificate.view), certificate, false);
  }

  /** A certificate (assembled here or verified) moves the view and may finalize (spec §3, §4). */
  #acceptCertificate(state: ViewState, certificate: Certificate, formed: boolean, recovered = false): void {
    const kind = certificate.kind as VoteKindValue;
    if (state.certificates[kind] !== undefined) return;
    state.certificates[kind] = certificate;
    // Journaled before any vote it leads to (our finalize below, votes of the next view) is
    // synced, so a restart after such a vote still holds it (spec §6, §7).
    if (!recovered && certificate.view > this.#tip.view)
      this.#config.storage.put(certificateKey(certificate.view, kind), CertificateCodec.encode(certificate));
    this.#config.observer?.certificate?.(certificate, formed);
    if (certificate.view > this.#tip.view) {
      if (kind === VoteKind.nullify) this.#nullified.add(certificate.view);
      else this.#certified.set(certificate.view, certificate.digest);
    }
    if (kind === VoteKind.notarize || kind === VoteKind.finalize) {
      // Votes held below the quorum when the certificate came from elsewhere were never checked,
      // so their extensions (observations for the next height) never reached the application; the
      // next leader checks them now instead of waiting for observations it already holds.
      for (const entry of state.votes[kind].values()) this.#passLateExtension(state, entry);
      const hex = toHex(certificate.digest);
      // A quorum certified the proposal we hold (even one we never checked): it joins the cache.
      if (state.proposal?.digestHex === hex) this.#storeBlock(hex, state.proposal.block);
      if (!this.#blocks.has(hex))
        this.#request(certificate.digest, kind === VoteKind.finalize ? MAX_SYNC_BLOCKS : 4);
    }
    // Entering first journals the certificate before our finalize vote below is synced, so a
    // restart after that vote resumes in the next view and can still forward it (spec §6).
    this.#enterView(certificate.view + 1, certificate);
    if (kind === VoteKind.notarize) this.#maybeFinalize(state, certificate.digest);
    if (kind === VoteKind.finalize) this.#onFinalization(certificate);
    this.#tryPropose();
    this.#tryNotarize();
  }

  /** After a notarization: finalize unless we nullified the view (the safety rule, spec §3). */
  #maybeFinalize(state: ViewState, digest: Uint8Array): void {
    if (state.view <= this.#tip.view || state.signed[VoteKind.finalize] !== undefined) return;
    const nullified = state.signed[VoteKind.nullify] !== undefined;
    if (nullified && this.#config.mutation !== 'finalize-after-nullify') return;
    this.#castVote(state, VoteKind.finalize, digest);
  }

  /** Persists a conflict once per view, signer and kinds, bounded per offender (spec §9). */
  #recordEvidence(state: ViewState, first: Vote, second: Vote): void {
    if (conflictOf(first, second) === undefined) return;
    const key = `${first.signer}/${first.kind}/${second.kind}`;
    state.conflicts ??= new Set();
    // At most n signers × 3 kind pairs per view, so this set is bounded with the views.
    if (state.conflicts.has(key)) return;
    state.conflicts.add(key);
    const evidence: Evidence = { first, second };
    this.#evidence.record(evidence);
    this.#config.observer?.evidence?.(evidence);
  }

  // ---------------------------------------------------------------- finalization (spec §4, §8)

  #onFinalization(certificate: Certificate): void {
    if (certificate.view <= this.#tip.view) return;
    if (this.#pendingFinalization === undefined || certificate.view > this.#pendingFinalization.view) {
      this.#pendingFinalization = certificate;
    }
    this.#advanceFinalized();
  }

  /** Walks from the pending finalization down to our tip; finalizes the path once it is whole. */
  #advanceFinalized(): void {
    const target = this.#pendingFinalization;
    if (target === undefined || !this.#running) return;
    if (target.view <= this.#tip.view) {
      this.#pendingFinalization = undefined;
      return;
    }
    const path: { block: Block; digest: Uint8Array }[] = [];
    let digest = target.digest;
    for (let steps = 0; steps <= MAX_BLOCKS_IN_MEMORY; steps++) {
      const block = this.#blocks.get(toHex(digest));
      if (block === undefined) {
        // Far below the lowest block we hold, walking back would need more blocks than memory
        // holds: fetch forward by height from our tip instead (spec §7).
        const lowest = path.at(-1)?.block.height;
        if (lowest !== undefined && lowest - this.#tip.height - 1 > RANGE_SYNC_GAP_BLOCKS)
          this.#startRangeSync();
        else this.#request(digest, MAX_SYNC_BLOCKS);
        return;
      }
      if (steps === 0) {
        this.#targetHeight = Math.max(this.#targetHeight, block.height);
        if (this.#awaitingStateSync()) return;
      }
      if (block.height <= this.#tip.height) {
        // Only more than f Byzantine validators can finalize a block off our finalized chain.
        this.#conflictingFinalizations++;
        this.#pendingFinalization = undefined;
        return;
      }
      path.push({ block, digest });
      if (block.height === this.#tip.height + 1) {
        if (!bytesEqual(block.parent, this.#tip.digest)) {
          this.#conflictingFinalizations++;
          this.#pendingFinalization = undefined;
          return;
        }
        break;
      }
      digest = block.parent;
    }
    if (path.at(-1)?.block.height !== this.#tip.height + 1) return;
    this.#pendingFinalization = undefined;
    path.reverse();
    this.#finalizePath(path, target);
  }

  /**
   * Finalizes `path` (consecutive blocks from our tip + 1, the last certified by `target`): stores
   * each block with the certificate, or with the finalization of its own view when we hold one, so
   * that most stored proofs certify their own block (spec §8); then moves the tip and delivers.
   */
  #finalizePath(path: readonly { block: Block; digest: Uint8Array }[], target: Certificate): void {
    const storage = this.#config.storage;
    for (const { block, digest: blockHash } of path) {
      const own = this.#views.get(block.view)?.certificates[VoteKind.finalize];
      const proof = own !== undefined && bytesEqual(own.digest, blockHash) ? own : target;
      putFinalizedBlock(storage, block, proof, this.#config.blocks, blockHash);
      this.#deliveries.push({ block, digest: blockHash, finalization: proof });
    }
    for (const { block } of path) this.#config.application.finalizedAhead?.(block);
    const last = path.at(-1)!;
    this.#tip = { height: last.block.height, view: last.block.view, digest: last.digest };
    this.#tipProof = target;
    this.#targetHeight = Math.max(this.#targetHeight, last.block.height);
    // Caught up: should we fall far behind again, state sync is worth trying again.
    if (this.#tip.height >= this.#targetHeight) this.#stateSyncDeclined = false;
    this.#prune();
    void this.#deliver();
    if (this.#view <= this.#tip.view) this.#enterView(this.#tip.view + 1, target);
    this.#tryPropose();
    this.#tryNotarize();
  }

  /** Forgets views and blocks at or below the finalized tip, and their journal entries. */
  #prune(): void {
    const storage = this.#config.storage;
    for (const [view, state] of this.#views) {
      if (view > this.#tip.view) continue;
      this.#cancelTimers(state);
      this.#views.delete(view);
    }
    // Votes at or below the finalized view can never matter again: we never vote there (spec §3);
    // nor can certificates or notarized blocks there (the tip's proof answers for them).
    for (const prefix of [JOURNAL_PREFIX, CERTIFICATE_PREFIX, NOTARIZED_PREFIX]) {
      for (const key of storage.keys(prefix)) {
        if (viewOfKey(prefix, key) > this.#tip.view) break;
        storage.delete(key);
      }
    }
    for (const [hex, request] of this.#requests) {
      const block = this.#blocks.get(hex);
      if (block !== undefined && block.height <= this.#tip.height) {
        request.cancel();
        this.#requests.delete(hex);
      }
    }
    // Every cache is pruned by view as well as by height: nothing at or below the finalized view
    // or height but the tip itself can be needed again, whatever height it claims.
    const tipHex = toHex(this.#tip.digest);
    for (const [hex, block] of this.#blocks) {
      if (hex !== tipHex && (block.view <= this.#tip.view || block.height <= this.#tip.height))
        this.#blocks.delete(hex);
    }
    this.#nullified.pruneThrough(this.#tip.view);
    for (const view of this.#certified.keys()) if (view <= this.#tip.view) this.#certified.delete(view);
    for (const view of this.#heldProposals) if (view <= this.#tip.view) this.#heldProposals.delete(view);
    for (const [key, request] of this.#certificateRequests) {
      if (Number(key.slice(0, key.indexOf('/'))) > this.#tip.view) continue;
      request.cancel();
      this.#certificateRequests.delete(key);
    }
  }

  /** Syncs finalized blocks to storage, then hands them to the application in order (spec §8). */
  async #deliver(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (this.#deliveries.length > 0 && this.#running) {
        if (this.#config.applicationSyncsStorage !== true) await this.#config.storage.sync();
        while (this.#deliveries.length > 0 && this.#running) {
          const next = this.#deliveries.shift()!;
          await this.#config.application.finalized(next);
          this.#retryUndecided();
        }
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** Our execution moved: a proposal of the current view we could not judge is verified again. */
  #retryUndecided(): void {
    const state = this.#views.get(this.#view);
    if (state === undefined || state.proposalState !== 'undecided') return;
    state.proposalState = 'none';
    this.#tryNotarize();
  }

  // ---------------------------------------------------------------- resolver (spec §7)

  #storeBlock(digestHex: string, block: Block): boolean {
    if (this.#blocks.has(digestHex)) return true;
    // Nothing at or below the finalized tip, by view or by height, can be needed again.
    if (block.view <= this.#tip.view || block.height <= this.#tip.height) return false;
    if (this.#blocks.size >= MAX_BLOCKS_IN_MEMORY) return false;
    this.#blocks.set(digestHex, block);
    return true;
  }

  #request(digest: Uint8Array, count: number): void {
    const hex = toHex(digest);
    if (this.#requests.has(hex) || this.#requests.size >= MAX_INFLIGHT_REQUESTS) return;
    const request = { digest: digest.slice(), attempts: 0, cancel: () => {} };
    this.#requests.set(hex, request);
    const attempt = () => {
      if (!this.#running || this.#blocks.has(hex) || request.attempts >= MAX_REQUEST_ATTEMPTS) {
        this.#requests.delete(hex);
        return;
      }
      const size = this.#directory.length;
      const peer = (this.#config.self + 1 + (request.attempts % (size - 1))) % size;
      request.attempts++;
      this.#config.network.send(peer, SyncRequestCodec.encode({ digest: request.digest, count }));
      request.cancel = this.#config.clock.setTimer(this.#timeouts.syncRetryMs, attempt);
    };
    if (this.#directory.length > 1) attempt();
  }

  /**
   * Asks peers in turn for the certificates of `view` until one that meets `need` arrives (spec §7).
   * A view can have both a notarization and a nullification (an honest validator may nullify after
   * notarizing), and peers may hold either: a proposal skipping the view needs its nullification, one
   * building on it its notarization, so holding the other kind does not end the request.
   */
  #requestCertificates(view: number, need: CertificateNeed): void {
    const key = `${view}/${need}`;
    if (this.#certificateRequests.has(key) || this.#certificateRequests.size >= MAX_INFLIGHT_REQUESTS) return;
    if (this.#directory.length < 2) return;
    const request = { attempts: 0, cancel: () => {} };
    this.#certificateRequests.set(key, request);
    const attempt = () => {
      const nullified = this.#nullified.has(view);
      const certified = this.#certified.has(view);
      const settled =
        view <= this.#tip.view ||
        (need === 'nullify' ? nullified : need === 'certified' ? certified : nullified || certified);
      if (!this.#running || settled || request.attempts >= MAX_REQUEST_ATTEMPTS) {
        if (this.#certificateRequests.get(key) === request) this.#certificateRequests.delete(key);
        return;
      }
      const size = this.#directory.length;
      const peer = (this.#config.self + 1 + ((view + request.attempts) % (size - 1))) % size;
      request.attempts++;
      this.#config.network.send(peer, CertificateRequestCodec.encode({ view }));
      request.cancel = this.#config.clock.setTimer(this.#timeouts.syncRetryMs, attempt);
    };
    attempt();
  }

  /**
   * Answers with the certificates we hold for the view, or, for a view at or below our finalized
   * tip, with the finalization of the tip: it lets the asker finalize and move past that view.
   */
  #onCertificateRequest(from: PeerId, request: CertificateRequest): void {
    if (!this.#certificateBudget.takeRequest(from)) {
      this.#drop(from, DropReason.rateLimited);
      return;
    }
    const answer = (certificate: Certificate) => {
      const encoded = CertificateCodec.encode(certificate);
      if (encoded.length > this.#certificateBudget.bytesAvailable(from)) return;
      this.#certificateBudget.spendBytes(from, encoded.length);
      this.#config.network.send(from, encoded);
    };
    if (request.view <= this.#tip.view) {
      if (this.#tipProof !== undefined) answer(this.#tipProof);
      return;
    }
    const state = this.#views.get(request.view);
    for (const kind of [VoteKind.notarize, VoteKind.nullify, VoteKind.finalize]) {
      // A view forgotten from memory (MAX_TRACKED_VIEWS) still answers from the journal.
      const certificate =
        state?.certificates[kind] ??
        this.#decodeCertificate(this.#config.storage.get(certificateKey(request.view, kind)), false);
      if (certificate !== undefined) answer(certificate);
    }
  }

  #lookupBlock(digest: Uint8Array): Block | undefined {
    const hex = toHex(digest);
    const inMemory = this.#blocks.get(hex);
    if (inMemory !== undefined) return inMemory;
    const height = this.#config.storage.get(DIGEST_PREFIX + hex);
    if (height === undefined || height.length !== 8) return undefined;
    return this.#readFinalizedBlock(
      Number(new DataView(height.buffer, height.byteOffset, 8).getBigUint64(0)),
    );
  }

  /** Answers from memory or storage, within the peer's request and byte budget (spec §7, §9). */
  #onSyncRequest(from: PeerId, request: SyncRequest): void {
    if (!this.#syncBudget.takeRequest(from)) {
      this.#drop(from, DropReason.rateLimited);
      return;
    }
    const byteLimit = Math.min(MAX_SYNC_RESPONSE_BYTES, this.#syncBudget.bytesAvailable(from));
    const blocks: Block[] = [];
    let bytes = 0;
    let digest = request.digest;
    for (let i = 0; i < request.count; i++) {
      const block = this.#lookupBlock(digest);
      if (block === undefined) break;
      const size = BlockCodec.type.serialize(block).length;
      if (bytes + size > byteLimit) {
        if (blocks.length === 0) this.#drop(from, DropReason.rateLimited);
        break;
      }
      bytes += size;
      blocks.push(block);
      if (block.height === 1) break;
      digest = block.parent;
    }
    if (blocks.length === 0) return;
    this.#syncBudget.spendBytes(from, bytes);
    this.#config.network.send(from, SyncResponseCodec.encode({ blocks }));
  }

  #onSyncResponse(from: PeerId, response: SyncResponse): void {
    let expected: Uint8Array | undefined;
    let accepted = 0;
    for (const block of response.blocks) {
      const digest = blockDigest(block);
      const hex = toHex(digest);
      const asked = this.#requests.get(hex);
      if (asked === undefined && (expected === undefined || !bytesEqual(digest, expected))) {
        if (accepted === 0) this.#drop(from, DropReason.unsolicited);
        break;
      }
      if (asked !== undefined) {
        asked.cancel();
        this.#requests.delete(hex);
      }
      if (block.height > this.#tip.height && !this.#storeBlock(hex, block)) break;
      accepted++;
      expected = block.parent;
    }
    if (accepted === 0) return;
    this.#advanceFinalized();
    this.#tryPropose();
    this.#tryNotarize();
  }

  // ---------------------------------------------------------------- block sync by height (spec §7)

  #startRangeSync(): void {
    if (!this.#running || this.#directory.length < 2) return;
    if (this.#rangeSync === undefined)
      this.#rangeSync = { run: [], runBytes: 0, failures: 0, attempts: 0, inflight: undefined };
    if (this.#rangeSync.inflight === undefined) this.#requestRange();
  }

  #stopRangeSync(): void {
    this.#rangeSync?.inflight?.cancel();
    this.#rangeSync = undefined;
  }

  /** The block the next range must extend: the end of the unproven run, or our tip. */
  #rangeEnd(sync: RangeSync): { height: number; digest: Uint8Array } {
    // Finalization through the cache may have overtaken the run: drop what is now final.
    while (sync.run.length > 0 && sync.run[0]!.block.height <= this.#tip.height) {
      sync.runBytes -= sync.run.shift()!.block.payload.length;
    }
    const first = sync.run[0];
    if (first !== undefined && !bytesEqual(first.block.parent, this.#tip.digest)) {
      sync.run = [];
      sync.runBytes = 0;
    }
    const last = sync.run.at(-1);
    return last === undefined
      ? { height: this.#tip.height, digest: this.#tip.digest }
      : { height: last.block.height, digest: last.digest };
  }

  #requestRange(): void {
    const sync = this.#rangeSync;
    if (sync === undefined || !this.#running) return;
    if (sync.failures >= MAX_REQUEST_ATTEMPTS) {
      // Every peer failed us for a while: give up until the next finalization restarts the sync.
      this.#stopRangeSync();
      return;
    }
    const fromHeight = this.#rangeEnd(sync).height + 1;
    const size = this.#directory.length;
    // The same peer while it serves us; the next one after a failure (#rangeFailed).
    const peer = (this.#config.self + 1 + (sync.attempts % (size - 1))) % size;
    const inflight = { peer, fromHeight, cancel: () => {} };
    sync.inflight = inflight;
    this.#config.network.send(peer, RangeRequestCodec.encode({ fromHeight, count: RANGE_REQUEST_BLOCKS }));
    // A range is larger than one block, so its answer gets several block-request periods.
    inflight.cancel = this.#config.clock.setTimer(4 * this.#timeouts.syncRetryMs, () => {
      if (this.#rangeSync !== sync || sync.inflight !== inflight) return;
      sync.inflight = undefined;
      this.#rangeFailed(sync);
      this.#requestRange();
    });
  }

  /**
   * A peer failed a range (no answer, a broken hash chain, a bad certificate, or blocks no
   * certificate covers): its unproven blocks go and the next peer is asked. A run only ever holds
   * one peer's blocks, so an honest peer is never charged for continuing a liar's run.
   */
  #rangeFailed(sync: RangeSync): void {
    sync.failures++;
    sync.attempts++;
    sync.run = [];
    sync.runBytes = 0;
  }

  /**
   * Serves finalized blocks by height from storage, at most `MAX_RANGE_BLOCKS` and
   * `MAX_SYNC_RESPONSE_BYTES`, with the finality certificate stored with the last of them. The
   * range ends, when it can, at a block whose stored certificate is its own, so the asker can
   * finalize the whole range at once; otherwise the certificate covers a later block and the asker
   * keeps the range until it holds that block.
   */
  #onRangeRequest(from: PeerId, request: RangeRequest): void {
    // Ranges are read from storage and cost bandwidth the asker does not pay: the same per-peer
    // budget as block requests (request-budget.ts) bounds them.
    if (!this.#syncBudget.takeRequest(from)) {
      this.#drop(from, DropReason.rateLimited);
      return;
    }
    const byteLimit = Math.min(MAX_SYNC_RESPONSE_BYTES, this.#syncBudget.bytesAvailable(from));
    const last = Math.min(
      request.fromHeight + Math.min(request.count, MAX_RANGE_BLOCKS) - 1,
      this.#tip.height,
    );
    const blocks: Block[] = [];
    const digests: Uint8Array[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    for (let height = request.fromHeight; height <= last; height++) {
      const encoded = this.#finalizedBlockBytes(height);
      const block = this.#readFinalizedBlock(height);
      if (encoded === undefined || block === undefined) break;
      if (bytes + encoded.length > byteLimit) {
        if (blocks.length === 0) this.#drop(from, DropReason.rateLimited);
        break;
      }
      bytes += encoded.length;
      blocks.push(block);
      digests.push(sha256(encoded));
      sizes.push(encoded.length);
    }
    let end = blocks.length - 1;
    let finalization: Certificate | undefined;
    for (let index = end; index >= 0 && finalization === undefined; index--) {
      const proof = this.#readProof(blocks[index]!.height);
      if (proof !== undefined && bytesEqual(proof.digest, digests[index]!)) {
        end = index;
        finalization = proof;
      }
    }
    if (end < 0) return;
    finalization ??= this.#readProof(blocks[end]!.height);
    if (finalization === undefined) return;
    this.#syncBudget.spendBytes(
      from,
      sizes.slice(0, end + 1).reduce((sum, size) => sum + size, 0),
    );
    this.#config.network.send(
      from,
      RangeResponseCodec.encode({ blocks: blocks.slice(0, end + 1), finalization }),
    );
  }

  /**
   * Extends the unproven run with a peer's range when it links by parent hash, then finalizes the
   * run up to the block the range's certificate covers, if we hold that block; otherwise asks for
   * the next range (the certificate covers a later block). Only the peer asked is heard.
   */
  #onRangeResponse(from: PeerId, response: RangeResponse): void {
    const sync = this.#rangeSync;
    const inflight = sync?.inflight;
    if (sync === undefined || inflight === undefined || from !== inflight.peer) {
      this.#drop(from, DropReason.unsolicited);
      return;
    }
    if (response.blocks[0]!.height !== inflight.fromHeight) {
      this.#drop(from, DropReason.unsolicited);
      return;
    }
    inflight.cancel();
    sync.inflight = undefined;
    let end = this.#rangeEnd(sync);
    for (const block of response.blocks) {
      if (block.height <= end.height) continue;
      if (block.height !== end.height + 1 || !bytesEqual(block.parent, end.digest)) {
        // A peer that breaks the hash chain from a tip it served before lied once: start over.
        this.#drop(from, DropReason.digestMismatch);
        this.#rangeFailed(sync);
        this.#requestRange();
        return;
      }
      if (
        sync.run.length >= MAX_RANGE_RUN_BLOCKS ||
        sync.runBytes + block.payload.length > MAX_RANGE_RUN_BYTES
      )
        break;
      const digest = blockDigest(block);
      sync.run.push({ block, digest });
      sync.runBytes += block.payload.length;
      end = { height: block.height, digest };
      sync.failures = 0;
    }
    const certificate = response.finalization;
    const index = sync.run.findIndex(({ digest }) => bytesEqual(digest, certificate.digest));
    if (index >= 0) {
      const certified = sync.run[index]!.block;
      if (
        certificate.kind !== VoteKind.finalize ||
        certificate.view !== certified.view ||
        !this.#verifyCertificate(certificate)
      ) {
        this.#drop(from, DropReason.badCertificate);
        this.#rangeFailed(sync);
        this.#requestRange();
        return;
      }
      const path = sync.run.splice(0, index + 1);
      for (const entry of path) sync.runBytes -= entry.block.payload.length;
      sync.failures = 0;
      this.#rangeSyncedBlocks += path.length;
      this.#finalizePath(path, certificate);
      if (this.#rangeSync !== sync) return;
    } else if (sync.run.length >= MAX_RANGE_RUN_BLOCKS) {
      // No certificate covers this much: the peer fed us blocks off the finalized chain.
      this.#rangeFailed(sync);
    }
    // Done once the remaining gap is small enough for the backward walk to close it.
    const target = this.#pendingFinalization;
    const gap = this.#targetHeight - this.#rangeEnd(sync).height;
    if (sync.run.length === 0 && (target === undefined || gap <= RANGE_SYNC_GAP_BLOCKS)) {
      this.#stopRangeSync();
      this.#advanceFinalized();
      return;
    }
    this.#requestRange();
  }
}

/**
 * Which certificate of a view a certificate request waits for: its nullification (to skip it),
 * its notarization or finalization (to build on it), or any of them (to choose a parent, spec §5).
 */
type CertificateNeed = 'nullify' | 'certified' | 'any';

function heightBytes(height: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(height), false);
  return out;
}

/**
 * Writes a finalized block and its proof in the engine's storage layout, as the engine itself does
 * when it finalizes: into `blocks` when the engine is given one (`EngineConfig.blocks`), else under
 * the engine's own keys; the digest index is always the engine's. For tools and tests that build a
 * chain an engine then serves and recovers. The caller syncs.
 * @example putFinalizedBlock(storage, block, finalization, storage); await storage.sync();
 */
export function putFinalizedBlock(
  storage: Storage,
  block: Block,
  proof: Certificate,
  blocks?: FinalizedBlockStore,
  digest: Uint8Array = blockDigest(block),
): void {
  const encoded = BlockCodec.encode(block);
  if (blocks === undefined) {
    storage.put(BLOCK_PREFIX + pad(block.height), encoded);
    storage.put(PROOF_PREFIX + pad(block.height), CertificateCodec.encode(proof));
  } else {
    blocks.putFinalizedBlock({
      height: block.height,
      hash: digest,
      block: encoded,
      certificate: CertificateCodec.encode(proof),
    });
  }
  storage.put(DIGEST_PREFIX + toHex(digest), heightBytes(block.height));
}

/**
 * Creates a validator's engine; call `start()` to run it.
 * @throws InvariantError when `self` or the signer does not match the validator set
 */
export function createEngine(config: EngineConfig): SimplexEngine {
  return new SimplexEngine(config);
}
