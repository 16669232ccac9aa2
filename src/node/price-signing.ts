/**
 * The price keyset and threshold-signed price certificates, over the validators' authenticated
 * transport (the `from` of every message is a TLS-authenticated validator index). This file is
 * the I/O around two sans-IO protocols: key generation with complaints (src/crypto/keygen.ts)
 * and signing that tolerates f faulty validators (src/interop/threshold-signing.ts).
 *
 * DKG. At start, when the data directory holds no key file for the genesis epoch, every validator
 * runs a `dkg` keygen session. Everything it sends is kept and re-sent every `retryMs` until it
 * has finished (peers that connect late still get it; every message is idempotent), and again to
 * a peer that is still sending keygen messages after we finished. Deadlines count from our start:
 * `dkgDealMs` for deals and shares, `dkgDealMs + dkgComplaintMs` for complaints and answers. A
 * validator that is silent, sends a bad share or equivocates is named in `stats().dkgCulprits`,
 * and the others finish without it when at least 2f + 1 dealers qualify. With more than f
 * validators down through the deadlines the DKG fails everywhere it ran; when a peer then deals
 * it (it came up), the failed run starts again — same session, same deal, fresh deadlines — at
 * most once per pair of deadlines, so the key forms once 2f + 1 validators are up, however late. The key package is
 * written as a version-2 threshold key file (src/crypto/keystore.ts: AES-256-GCM under a key
 * derived with HKDF-SHA-256 from the identity seed, header authenticated) into the `keyStore`: on
 * a node, a file mode 0600, fsynced and renamed into place (src/node/price-key-files.ts); in the
 * simulator, the simulated validator's disk (`createMemoryPriceKeyStore`).
 *
 * I/O. Everything outside goes through interfaces: the key store, `send`/`broadcast` (the real
 * transport on a node, the simulated network in src/sim) and the runtime `Clock` for every timer,
 * so the same driver runs in a validator and in `palisade sim --mode whole-node`.
 *
 * Refresh. With `epochBlocks` > 0, at every finalized height that is a multiple of it, every
 * validator starts a zero-sum refresh (the same keygen with complaints, kind `refresh`) into the
 * next epoch: same deadlines, same re-sending. Its key file is written under the new epoch, and
 * signing moves to the new shares; sessions already open finish on the old epoch's. The group key
 * never changes, certificates name the new epoch, and a share stolen before a refresh is useless
 * after it. At restart the latest epoch's key file is loaded.
 *
 * Crash anywhere. A validator killed in a DKG or refresh restarts with the key file of the epoch
 * before (or none) and finishes the round it was in, with no file removed by hand:
 *   - its dealing (polynomial and proof of knowledge) is derived from its identity key and the
 *     session (src/crypto/keygen.ts `dealingSeed`, HKDF-SHA-256), so what it deals after the
 *     restart is byte for byte what it may have dealt before: a copy to its peers, never an
 *     equivocation that would disqualify it;
 *   - a keygen message for the refresh into the epoch after ours, while we run none, means our
 *     peers are in a refresh we are not (we crashed in it, or were down at its boundary): we start
 *     it then; a price certificate of that next epoch means they finished it, and we start it too,
 *     and they answer our messages with everything they sent (the straggler rule above);
 *   - a refresh that failed (too few dealers reached us) starts again at most once per pair of
 *     deadlines when such a sign comes.
 * A validator down across two refreshes or more is not caught up this way (peers keep the
 * messages of the last two runs), nor is one whose key files are gone or fail their checks: it
 * gets its share of the current epoch back by share repair (below, "Share repair").
 *
 * Share repair. With no usable key file (disk lost, key directory wiped, a file that fails its
 * authentication; a file of an unknown version is refused instead, never overwritten), two
 * epochs or more behind, or a joiner whose reshare its peers no longer keep, a member of the
 * current keyset asks t other members to repair its share (src/interop/share-repair.ts,
 * Laing–Stinson §4). This holds for any keyset, not only the genesis one:
 *   - the keyset is that of the latest validator set our chain applied (`changeValidators`,
 *     recorded with or without a key; a node replaying its blocks calls it before `start`), else
 *     the one our key names, else the genesis validators; its members are numbered in set order
 *     and translated to transport peers as the reshare does, and its n, f and t (the genesis
 *     threshold for the genesis set, 2f' + 1 for a reshared one) are the ones used;
 *   - its epoch is the one more than f of its members announce certificates of; a newer epoch so
 *     announced supersedes the one being repaired;
 *   - every repair message names the epoch and the keyset (digest of members and threshold), and
 *     a helper answers only for the epoch it signs in now, when the digest is its own keyset's,
 *     and only to the member the request names as lost, authenticated as that member: a request
 *     for an old epoch, from a validator a change removed, or from a stranger gets nothing, and
 *     splits and sums count only from members of the run's keyset (a removed validator's answers,
 *     under the member index it had before the change, are no one's);
 *   - the repaired share is checked against its verifying share (the package more than f helpers
 *     agree on) and against the group key we held or our operator trusts (`trustedKeyset`), then
 *     sealed into the same version-2 key file with the keyset's members, and signing resumes;
 *   - each helper sends the handover certificates it holds up to its epoch just before its sum;
 *     those that verify under the repaired group key are kept, so the repaired validator's chain
 *     (`handovers()`, the package it gives joiners) again leads from the genesis key.
 * `stats().repair` names helpers that cheated, by transport peer; a repair left with fewer than t
 * unconvicted helpers ends `failed` with TOO_FEW_HELPERS. While a reshare into our set still runs,
 * the certificates we hear are the outgoing keyset's, whose members differ from our set: helpers
 * refuse the digest, the attempts time out (those helpers are noted SILENT, and tried again), and
 * the new epoch's certificates start the repair that works. A validator our chain removed is in
 * no keyset: it neither asks nor falls back to a genesis DKG. The chain's set comes from
 * `changeValidators` (every boundary a node applies or replays, and a joiner's own change) and
 * from `validatorSet(height, keys)`, which only records it: a node restored from a snapshot taken
 * after the latest change learns the set only through the latter. Until it is told, such a
 * validator asks for the genesis set's keyset, which members refuse.
 *
 * Validator-set change. When the execution state applies a set change at boundary block H, the
 * node calls `changeValidators(H, keys)` before `onAggregates(H)`; the boundary then starts a
 * reshare (src/crypto/keygen.ts kind `reshare`, Desmedt–Jajodia / Wong–Wang–Wing, see
 * src/node/price-membership.ts) instead of a refresh: the old members deal, the new members
 * receive, over the same transport messages, with the same deadlines, re-sending and complaint
 * round. The new keyset keeps the group key and takes the next epoch; its engine numbers the new
 * members (messages are translated to transport peers), the old keyset signs the handover, and a
 * validator that only dealt retires (`stats().member` false) and signs nothing new.
 *
 * Joining. A validator added by governance (not among the genesis validators) starts with no
 * keyset and runs no DKG. When the change that adds it applies (`changeValidators(H, keys,
 * outgoing)`), it is a recipient only of the reshare (Wong–Wang–Wing §4: it deals nothing):
 *   1. every outgoing member sends each joiner the outgoing keyset's public package (tag 0x0452,
 *      src/interop/keyset-package-codec.ts: commitments, verifying shares, the handovers up to
 *      its epoch) when it starts the reshare, and again with every re-send of the run;
 *   2. the joiner counts a package only if its handover chain verifies from the keyset its
 *      operator trusts (`trustedKeyset`; src/interop/handover-certificate.ts), C_0 is the key the
 *      chain certifies, and its verifying shares are its commitment's evaluations (RFC 9591 App.
 *      C.2); it uses the package once f + 1 outgoing members sent the same one (src/node/
 *      price-join.ts; refusals are typed, logged and in `stats().refusedPackages`);
 *   3. with it, the joiner computes the session the outgoing members run and receives their deals
 *      and shares (GJKR complaint round as everyone: a dealer that sends it a bad share is
 *      accused with its own signed share and disqualified by all), adopts the new epoch's key,
 *      keeps the handover chain (the package's, then the outgoing keyset's handover into the new
 *      epoch) and signs in that epoch's engine like any member.
 * Shares go only to the new set's members (a peer outside it is sent broadcasts, never a share).
 * A joiner that comes up after the outgoing members started or finished the reshare asks for it:
 * from the change on, it sends the outgoing members a package request (tag 0x0453) every
 * `retryMs` until it holds its share, and each answers a joiner of that change with the package
 * and, once its run is over, everything the run sent that joiner (the straggler answer: deals,
 * shares addressed to it, complaints and answers, the handover). Members keep the runs of the
 * last two epochs, so a joiner more than two keyset epochs late is not served this way: it is a
 * member of the current keyset with no share, which is the lost-share case, and it gets its share
 * by share repair (below) once more than f of its set's members announce certificates of an epoch
 * after the outgoing one (with no package accepted, any epoch they announce); a repaired joiner is
 * joined and stops asking for the package, and keeps the handovers its helpers send (below).
 *
 * Signing. After every finalized block whose height is a multiple of `everyBlocks`, every
 * validator holds the same aggregates (a function of finalized blocks), so each knows what to
 * sign: for each asset with a fresh aggregate, the EIP-712 `PriceReport` digest. The session's
 * first coordinator is validator (height / everyBlocks + asset index) mod n; a coordinator retries
 * without whoever withheld or sent a bad share, and the next validator takes over from a silent
 * coordinator (see threshold-signing.ts). The certificate is verified against the group key and
 * announced to everyone, who verify it again before keeping it as the asset's latest.
 */
import { hkdfSync } from 'node:crypto';
import type { FrostPublic, FrostSecret } from '@noble/curves/abstract/frost.js';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import { CertificateAnnouncementCodec } from '../codec/node.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { type FrostKeyPackage, participantIdentifier } from '../crypto/frost.ts';
import {
  createKeygenMachine,
  KeygenError,
  type KeygenMachine,
  type KeygenOutput,
  type KeygenPhase,
  type KeygenSession,
  keygenMessageSession,
  keygenSessionDigest,
} from '../crypto/keygen.ts';
import { SealedKeygenCodec } from '../crypto/keygen-codec.ts';
import { KeystoreError, openThresholdKeyFile, sealThresholdKeyFile } from '../crypto/keystore.ts';
import {
  decodeHandoverCertificate,
  encodeHandoverCertificate,
  type HandoverCertificate,
  HandoverCertificateCodec,
  handoverMessage,
  type Keyset,
  verifyHandover,
} from '../interop/handover-certificate.ts';
import {
  KeysetPackageCodec,
  KeysetPackageRequestCodec,
  MAX_PACKAGE_HANDOVERS,
} from '../interop/keyset-package-codec.ts';
import {
  type CertificateDomain,
  decodePriceCertificate,
  encodePriceCertificate,
  feedIdOf,
  type PriceCertificate,
  type PriceReport,
  priceReportDigest,
  verifyPriceCertificate,
} from '../interop/price-certificate.ts';
import {
  createShareRepair,
  type RepairedShare,
  type RepairOutput,
  repairKeysetDigest,
} from '../interop/share-repair.ts';
import { REPAIR_TAGS, RepairSumCodec } from '../interop/share-repair-codec.ts';
import { createSignerHealth } from '../interop/signer-health.ts';
import {
  SigningAttemptRequestCodec,
  SigningAttemptShareCodec,
  SigningCommitCodec,
  SigningInviteCodec,
} from '../interop/signing-codec.ts';
import {
  createThresholdSigner,
  type SigningOutput,
  type ThresholdSigner,
} from '../interop/threshold-signing.ts';
import { AggregateFlag } from '../oracle/aggregate.ts';
import type { Clock, PeerId } from '../runtime/types.ts';
import type { OracleAsset } from './genesis.ts';
import { createKeysetJoin, type KeysetJoin, KeysetJoinError } from './price-join.ts';
import {
  type EpochMembers,
  epochMembers,
  indexedDirectory,
  memberIndexOf,
  type PeerDirectory,
  sameMembers,
  thresholdOfSet,
} from './price-membership.ts';

/** Reports awaiting a certificate, held at most; older ones are forgotten. */
const MAX_PENDING_REPORTS = 256;
/** Reports built from our own finalized aggregates, remembered by digest to place announcements. */
const MAX_KNOWN_REPORTS = 4096;
/** Verified certificates announced for heights we have not reached, held until we do. */
const MAX_AHEAD_CERTIFICATES = 256;
/** Handover certificates kept (one per refresh). */
const MAX_HANDOVERS = 64;
/** Keygen messages we sent, kept for re-sending: a deal, n shares, a complaint, answers. */
const MAX_SENT_KEYGEN = 4 * 256;
/** Package requests remembered for rate limiting (joiners × runs). */
const MAX_PACKAGE_ANSWERS = 1024;
/** Keyset packages a joiner holds before its chain reached the change (one per peer), at most. */
const MAX_EARLY_PACKAGES = 256;
/** Handovers a joiner holds until it has a keyset to check them against, at most. */
const MAX_EARLY_HANDOVERS = 8;
/** Refused keyset packages remembered for stats. */
const MAX_REFUSED_PACKAGES = 32;

/**
 * The price keyset's durable store: one sealed key file (text) per epoch. `write` returns only
 * once the text is durable and whole (a crash leaves the old file or the new one, never half).
 */
export interface PriceKeyStore {
  /** Epochs that have a key file, in any order. */
  epochs(): number[];
  /** The key file of `epoch`; undefined when there is none. */
  read(epoch: number): string | undefined;
  write(epoch: number, text: string): void;
  /** Deletes the key file of `epoch` (nothing when there is none). */
  remove(epoch: number): void;
}

/**
 * Deletes every key file older than `epoch`, once `epoch`'s is durable: a start reads only the
 * latest file, and a share kept on disk after its refresh is what proactive refresh exists to make
 * worthless (a disk stolen later must not hold it).
 */
function pruneKeyFiles(store: PriceKeyStore, epoch: number): void {
  for (const old of store.epochs()) if (old < epoch) store.remove(old);
}

/**
 * A key store in memory: the simulator's model of a validator's disk (it survives the simulated
 * process's crashes because the harness keeps it per validator, not per process).
 * @example const keyStore = createMemoryPriceKeyStore(); createPriceSigner({ ...options, keyStore });
 */
export function createMemoryPriceKeyStore(): PriceKeyStore {
  const files = new Map<number, string>();
  return {
    epochs: () => [...files.keys()],
    read: (epoch) => files.get(epoch),
    write: (epoch, text) => {
      files.set(epoch, text);
    },
    remove: (epoch) => {
      files.delete(epoch);
    },
  };
}

export interface PriceSignerOptions {
  chainId: number;
  self: number;
  validators: readonly Uint8Array[];
  signer: Ed25519Signer;
  /** The identity seed: the key-file encryption key is derived from it. */
  secretKey: Uint8Array;
  /** Where the sealed key files are kept (src/node/price-key-files.ts on a node). */
  keyStore: PriceKeyStore;
  epoch: number;
  threshold: number;
  everyBlocks: number;
  domain: CertificateDomain;
  assets: readonly OracleAsset[];
  clock: Clock;
  send(to: PeerId, message: Uint8Array): void;
  broadcast(message: Uint8Array): void;
  log?: (level: 'info' | 'warn', message: string, details?: Record<string, unknown>) => void;
  /** Called with each certificate kept (assembled here or announced by a peer, verified either way). */
  onCertificate?: (entry: LatestCertificate) => void;
  retryMs?: number;
  /** A report with no certificate this long after its block counts as a failed session. */
  sessionTimeoutMs?: number;
  /** Deadline of one signing attempt (threshold-signing.ts). */
  attemptMs?: number;
  dkgDealMs?: number;
  dkgComplaintMs?: number;
  /** Deadline of one share-repair attempt (src/interop/share-repair.ts); default 10 s. */
  repairMs?: number;
  /**
   * Asked at start when no usable key file is found: true when the chain is past genesis (on a
   * node, its finalized height > 0), so a keyset exists and the share is repaired instead of
   * dealt again. A DKG replayed by only some peers could end with another qualified set, hence
   * another (wrong) key; repair checks the share against the keyset the others hold.
   */
  expectKeyset?: () => boolean;
  /**
   * Proactive refresh every this many finalized blocks (0: never): at each multiple, every
   * validator starts a zero-sum refresh into the next epoch; the group key stays.
   */
  epochBlocks?: number;
  /**
   * The transport's peers by identity key (default: peer i is `validators[i]`). A validator set
   * change may name only keys the directory holds; the genesis keyset's members are `validators`.
   */
  directory?: PeerDirectory;
  /**
   * The keyset this validator's operator trusts (the genesis keyset, or a later verified one). A
   * validator not among `validators` (added by governance) needs it to join at a reshare: it
   * accepts the outgoing keyset's package only through handovers from this keyset (price-join.ts).
   */
  trustedKeyset?: Keyset;
}

export interface LatestCertificate {
  assetId: number;
  symbol: string;
  height: number;
  certificate: PriceCertificate;
  encoded: Uint8Array;
}

export interface PriceSignerStats {
  dkg: 'running' | 'done' | 'failed';
  /** Dealers the DKG left out, with why (SILENT, BAD_SHARE, EQUIVOCATION, …). */
  dkgCulprits: number[];
  dkgDisqualified: { dealer: number; reason: string }[];
  sessionsStarted: number;
  certificates: number;
  failedSessions: number;
  /** Bad signature shares seen as coordinator, by validator index. */
  badShares: Record<number, number>;
  /** Chosen signers that did not deliver, seen as coordinator, by validator index. */
  silentSigners: Record<number, number>;
  signingAttempts: number;
  /** Refreshes completed since start. */
  refreshes: number;
  /** Dealers the latest completed refresh left out, with why; empty when it qualified everyone. */
  refreshDisqualified: { epoch: number; dealer: number; reason: string }[];
  /** Reshares to a new validator set completed since start (dealt, received, or both). */
  reshares: number;
  /** Old members the latest completed reshare left out, with why. */
  reshareDisqualified: { epoch: number; dealer: number; reason: string }[];
  /** False once a reshare moved the keyset to a set without us: we sign nothing new. */
  member: boolean;
  /**
   * A validator that is not in genesis: 'waiting' for a set change that adds it, 'package' once one
   * did and it waits for f + 1 outgoing members' keyset package, 'resharing' in the reshare,
   * 'joined' once it holds a share. 'genesis' for the genesis validators.
   */
  join: 'genesis' | 'waiting' | 'package' | 'resharing' | 'joined';
  /** Keyset packages refused (price-join.ts), by sender and code; the last 32. */
  refusedPackages: { peer: number; code: string }[];
  /** The latest price certificate this node assembled as coordinator, and whose shares it holds. */
  lastAssembled: { height: number; epoch: number; signers: number[] } | null;
  /** Validators this node currently passes over as signers (src/interop/signer-health.ts). */
  suspectedSigners: number[];
  /** The epoch a refresh or reshare we take part in is producing now; null when none runs. */
  refreshing: number | null;
  /** Share repair of our own lost share (see "Share repair" in the module header). */
  repair: {
    state: 'idle' | 'running' | 'done' | 'failed';
    /** The epoch being (or last) repaired. */
    epoch: number | null;
    /** Shares repaired since start. */
    repaired: number;
    /** Why the latest repair gave up (src/interop/share-repair.ts `failure`). */
    code: 'TOO_FEW_HELPERS' | null;
    /** Helpers named in our repairs, by validator index, with what they did. */
    culprits: { validator: number; fault: string; attempt: number }[];
    /** Repairs of others we took part in as a helper. */
    helped: number;
  };
}

/** A running keygen session as the monitor sees it; validators are transport peers. */
export interface PriceKeygenSession {
  kind: 'dkg' | 'refresh' | 'reshare';
  epoch: number;
  /** When this node started the run (its clock); both deadlines count from here. */
  startedMs: number;
  /** dkgDealMs + dkgComplaintMs: the run's last deadline, from `startedMs`. */
  deadlinesMs: number;
  phase: KeygenPhase;
  /**
   * The machine's `waitingFor()` in transport peers. Its `answers` (the dealers whose public
   * answers we hold, not those we wait for) is left out.
   */
  waitingFor: Record<'deals' | 'shares' | 'complaints' | 'attestations', number[]>;
}

export interface PriceSigner {
  start(): void;
  stop(): void;
  /** Takes a keygen or signing (0x04xx) or announcement (0x0504) message from an authenticated peer. */
  receive(from: PeerId, message: Uint8Array): void;
  /** Called after every finalized block with the block's aggregates. */
  onAggregates(height: number, prices: readonly AggregatePriceValue[], nowMs: number): void;
  keyset():
    | { epoch: number; groupPublicKey: Uint8Array; threshold: number; participants: number }
    | undefined;
  latest(): LatestCertificate[];
  /** The current keyset's members (identity keys) in member order; undefined without a keyset. */
  members(): readonly Uint8Array[] | undefined;
  /** Handover certificates from each refreshed epoch to the next, oldest first (the last 64). */
  handovers(): (HandoverCertificate & { encoded: Uint8Array })[];
  stats(): PriceSignerStats;
  /** The keygen sessions running now, for the monitor (src/node/monitor-feed.ts). */
  keygenSessions(): PriceKeygenSession[];
  /** Resolves once the DKG has produced (or loaded) a key package. */
  ready(): Promise<void>;
  /**
   * The execution state applied a validator-set change at boundary block `height` (its
   * `validatorSetChanged`): `keys` is the new set in index order. Call it before
   * `onAggregates(height)`, which then starts a reshare to that set instead of a refresh.
   * Keys the directory cannot reach are recipients that stay silent (at most f' of them).
   * `outgoing` is the set before the change (index order): a validator that holds no keyset yet
   * and is in `keys` joins with it (price-join.ts); members ignore it (their keyset names its own).
   */
  changeValidators(height: number, keys: readonly Uint8Array[], outgoing?: readonly Uint8Array[]): void;
  /**
   * The validator set the chain holds now: `keys` (index order) since the change applied at
   * `height`. Share repair repairs into this set's keyset when we hold no share. `changeValidators`
   * implies it; a node also calls it at start and after blocks, since a restored snapshot skips
   * the boundary blocks that would have told us. Nothing else changes (no reshare, no join).
   */
  validatorSet(height: number, keys: readonly Uint8Array[]): void;
  /**
   * Opens a signing session for another certificate's digest (src/node/checkpoint-signing.ts)
   * on `epoch`'s keyset; every validator must open the same digest. `onSigned` gets the group
   * signature when this validator assembles it as coordinator. False when that epoch has no engine.
   */
  signDigest(
    digest: Uint8Array,
    epoch: number,
    base: number,
    onSigned: (signature: Uint8Array) => void,
  ): boolean;
  /** The digest's certificate is known (from a peer): stop working on it. */
  closeDigest(digest: Uint8Array, epoch: number): void;
}

// ---------------------------------------------------------------------------------------------
// Key file (contents inside the encrypted envelope)

interface KeyFileContents {
  epoch: number;
  index: number;
  threshold: number;
  participants: number;
  groupPublicKey: string;
  public: {
    signers: { min: number; max: number };
    commitments: string[];
    verifyingShares: Record<string, string>;
  };
  secret: { identifier: string; signingShare: string };
  /**
   * The keyset's members (identity keys, hex) in member order; absent in files written before
   * set changes existed, whose members are the genesis validators.
   */
  members?: string[];
  /** Sealed keygen messages we sent, to answer peers still running the DKG after a restart. */
  sent?: { to: number | 'all'; bytes: string }[];
}

interface KeygenRun {
  readonly epoch: number;
  readonly kind: 'dkg' | 'refresh' | 'reshare';
  /** The session's recipients, for addressing its shares (the new set in a reshare). */
  readonly recipients: EpochMembers;
  /** Undefined for a run finished before a restart (only its sent messages remain). */
  readonly machine: KeygenMachine | undefined;
  readonly sent: KeygenOutput[];
  state: 'running' | 'done' | 'failed';
  readonly digest: Uint8Array;
  /**
   * A reshare that adds validators: the outgoing keyset's package (price-join.ts) and the peers of
   * the joiners it goes to, re-sent with the run's messages.
   */
  readonly joinPackage?: { bytes: Uint8Array; peers: readonly PeerId[] };
  /** A reshare's boundary block: a late joiner's package request names it. */
  readonly changeHeight?: number;
  /** When `startRun` started it, on our clock (the monitor judges stalls from it). */
  startedMs?: number;
}

function fileKey(secretKey: Uint8Array, chainId: number, epoch: number): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      secretKey,
      Buffer.from(`chain ${chainId}`),
      `palisade/price-keyset/v1/epoch ${epoch}`,
      32,
    ),
  );
}

/** The key file's contents; undefined when absent. @throws KeystoreError when present but not readable. */
function readKeyFile(
  store: PriceKeyStore,
  epoch: number,
  key: Buffer,
  header: { chainId: number; epoch: number; index: number },
) {
  const text = store.read(epoch);
  if (text === undefined) return undefined;
  return JSON.parse(openThresholdKeyFile(text, key, header).plaintext) as KeyFileContents;
}

function bytesOf(hexText: string): Uint8Array<ArrayBuffer> {
  const bytes = fromHex(hexText);
  if (bytes === undefined) throw new TypeError('key file holds malformed hex');
  return Uint8Array.from(bytes);
}

function toKeyPackage(file: KeyFileContents): FrostKeyPackage {
  const publicPackage: FrostPublic = {
    signers: file.public.signers,
    commitments: file.public.commitments.map(bytesOf),
    verifyingShares: Object.fromEntries(
      Object.entries(file.public.verifyingShares).map(([id, share]) => [id, bytesOf(share)]),
    ),
  };
  const secret: FrostSecret = {
    identifier: file.secret.identifier,
    signingShare: bytesOf(file.secret.signingShare),
  };
  return Object.freeze({
    epoch: file.epoch,
    index: file.index,
    threshold: file.threshold,
    participants: file.participants,
    groupPublicKey: bytesOf(file.groupPublicKey),
    public: publicPackage,
    secret,
  });
}

function fromKeyPackage(
  key: FrostKeyPackage,
  sent: readonly KeygenOutput[],
  members: readonly Uint8Array[],
): KeyFileContents {
  return {
    members: members.map((member) => toHex(member)),
    epoch: key.epoch,
    index: key.index,
    threshold: key.threshold,
    participants: key.participants,
    groupPublicKey: toHex(key.groupPublicKey),
    public: {
      signers: { min: key.public.signers.min, max: key.public.signers.max },
      commitments: key.public.commitments.map((c) => toHex(c)),
      verifyingShares: Object.fromEntries(
        Object.entries(key.public.verifyingShares).map(([id, share]) => [id, toHex(share)]),
      ),
    },
    secret: { identifier: key.secret.identifier, signingShare: toHex(key.secret.signingShare) },
    sent: sent.map((output) => ({
      to: output.to === 'all' ? 'all' : output.recipient,
      bytes: toHex(output.bytes),
    })),
  };
}

const SIGNING_TAGS = new Set([
  SigningCommitCodec.tag,
  SigningAttemptRequestCodec.tag,
  SigningAttemptShareCodec.tag,
  SigningInviteCodec.tag,
]);

// ---------------------------------------------------------------------------------------------

/**
 * @example const prices = createPriceSigner({ ...options }); prices.start(); transport.onMessage((from, m) => prices.receive(from, m));
 */
export function createPriceSigner(options: PriceSignerOptions): PriceSigner {
  const directory = options.directory ?? indexedDirectory(options.validators);
  /** The genesis keyset's members: the validators, in transport order. */
  const genesisMembers = epochMembers(options.validators, directory);
  /** Members of every keyset epoch we hold (or held) a key or an engine for. */
  const membersOf = new Map<number, EpochMembers>();
  const membersAt = (epoch: number): EpochMembers => membersOf.get(epoch) ?? genesisMembers;
  /** A set change applied at a boundary: the reshare at that height deals to these members. */
  let pendingChange: { height: number; epoch: number; members: EpochMembers } | undefined;
  /** False once a reshare moved the keyset to a set without us. */
  let member = true;
  let reshares = 0;
  let reshareDisqualified: PriceSignerStats['reshareDisqualified'] = [];
  /** Not a genesis validator: it has no keyset until a set change adds it (price-join.ts). */
  const joiner = memberIndexOf(options.validators, options.signer.publicKey) === undefined;
  let joinState: PriceSignerStats['join'] = joiner ? 'waiting' : 'genesis';
  /** The change that adds us, while we have no keyset: its new set, outgoing set and package votes. */
  let joining:
    | { height: number; index: number; members: EpochMembers; outgoing: EpochMembers; join: KeysetJoin }
    | undefined;
  const earlyPackages = new Map<PeerId, Uint8Array>();
  const earlyHandovers: Uint8Array[] = [];
  const refusedPackages: PriceSignerStats['refusedPackages'] = [];
  const retryMs = options.retryMs ?? 1000;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
  const attemptMs = options.attemptMs ?? 2000;
  const dkgDealMs = options.dkgDealMs ?? 30_000;
  const dkgComplaintMs = options.dkgComplaintMs ?? 10_000;
  const epochBlocks = options.epochBlocks ?? 0;
  const log = options.log ?? (() => {});
  const headerOf = (epoch: number) => ({ chainId: options.chainId, epoch, index: options.self });

  /** The key package signing now (the latest epoch), and the engines of the last two epochs. */
  let key: FrostKeyPackage | undefined;
  const engines = new Map<number, ThresholdSigner>();
  /** Keygen sessions: the genesis DKG and each epoch's refresh, by the epoch they produce. */
  const runs = new Map<number, KeygenRun>();
  let dkgState: PriceSignerStats['dkg'] = 'running';
  let dkgDisqualified: { dealer: number; reason: string }[] = [];
  let refreshDisqualified: PriceSignerStats['refreshDisqualified'] = [];
  let refreshes = 0;
  const lastAnswerMs = new Map<number, number>();
  /** When each epoch's refresh last started (a failed one starts again only after its deadlines). */
  const lastRefreshStartMs = new Map<number, number>();
  /** Our dealings' secret: a restarted dealer deals the same again (src/crypto/keygen.ts `dealingSeed`). */
  const dealingSeed = Uint8Array.from(
    Buffer.from(
      hkdfSync(
        'sha256',
        options.secretKey,
        Buffer.from(`chain ${options.chainId}`),
        'palisade/keygen-dealing/v1',
        32,
      ),
    ),
  );
  /**
   * Who failed to sign or coordinate (src/interop/signer-health.ts), by member index: shared by
   * the engines of epochs with the same members, fresh after a set change renumbers them.
   */
  const healthOf = new Map<number, ReturnType<typeof createSignerHealth>>();
  let lastAssembled: PriceSignerStats['lastAssembled'] = null;
  const timers: (() => void)[] = [];
  let running = false;
  let resolveReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });

  const pending = new Map<
    string,
    { report: PriceReport; asset: OracleAsset; height: number; createdMs: number; epoch: number }
  >();
  const latestByAsset = new Map<number, LatestCertificate>();
  /**
   * An announcement's height is not signed (the report holds a publish time, not a height), so a
   * peer could replay a real certificate under a false height and pin `latest` or the history.
   * Heights come from our own chain instead: digest → the height whose aggregate produced it.
   */
  const knownReports = new Map<string, number>();
  const aheadCertificates = new Map<string, { certificate: PriceCertificate; encoded: Uint8Array }>();
  /** Handover digests being signed → the epoch they hand over to. */
  const pendingHandovers = new Map<string, number>();
  const handovers: HandoverCertificate[] = [];
  let highestHeight = 0;
  /** The epoch a reshare without us produced (we keep its handover). */
  let retiredInto: number | undefined;
  /** Sessions opened through `signDigest`, by digest hex → completion callback (bounded). */
  const external = new Map<string, (signature: Uint8Array) => void>();
  let sessionsStarted = 0;
  let certificates = 0;
  let failedSessions = 0;

  const later = (delayMs: number, callback: () => void) => {
    timers.push(options.clock.setTimer(delayMs, callback));
  };

  // ------------------------------------------------------------------ keygen (DKG and refresh)

  const transmit = (run: KeygenRun, output: KeygenOutput) => {
    if (output.to === 'all') {
      options.broadcast(output.bytes);
      return;
    }
    const peer = run.recipients.peerOfMember(output.recipient);
    if (peer !== undefined && peer !== options.self) options.send(peer, output.bytes);
  };

  const dispatchKeygen = (run: KeygenRun, outputs: readonly KeygenOutput[]) => {
    for (const output of outputs) {
      if (run.sent.length < MAX_SENT_KEYGEN) run.sent.push(output);
      transmit(run, output);
    }
    checkKeygenDone(run);
  };

  /**
   * The outgoing keyset certifies the next epoch's key for verifiers that follow keysets
   * (src/interop/handover-certificate.ts); every old member opens the same session on its engine.
   */
  const openHandover = (fromEpoch: number, next: { epoch: number; groupPublicKey: Uint8Array }) => {
    const previous = engines.get(fromEpoch);
    if (previous === undefined) return;
    const digest = handoverMessage(options.domain, fromEpoch, next);
    pendingHandovers.set(toHex(digest), next.epoch);
    while (pendingHandovers.size > 8) pendingHandovers.delete(pendingHandovers.keys().next().value as string);
    const participants = membersAt(fromEpoch).keys.length;
    dispatchSigning(fromEpoch, previous.open(digest, fromEpoch % participants, options.clock.now()));
  };

  const adopt = (next: FrostKeyPackage, members: EpochMembers) => {
    key = next;
    const before = membersOf.get(next.epoch - 1);
    membersOf.set(next.epoch, members);
    let health = healthOf.get(next.epoch);
    if (health === undefined) {
      const inherited = before !== undefined && sameMembers(before.keys, members.keys);
      health = (inherited ? healthOf.get(next.epoch - 1) : undefined) ?? createSignerHealth();
      healthOf.set(next.epoch, health);
    }
    if (!engines.has(next.epoch))
      engines.set(
        next.epoch,
        createThresholdSigner({ chainId: options.chainId, self: next.index, key: next, attemptMs, health }),
      );
    // In-flight sessions of the previous epoch finish on its engine; older engines are dropped.
    for (const epoch of [...engines.keys()]) if (epoch < next.epoch - 1) engines.delete(epoch);
    for (const epoch of [...membersOf.keys()]) if (epoch < next.epoch - 2) membersOf.delete(epoch);
    for (const epoch of [...healthOf.keys()]) if (epoch < next.epoch - 2) healthOf.delete(epoch);
    openHandover(next.epoch - 1, next);
  };

  const keepHandover = (certificate: HandoverCertificate) => {
    if (handovers.some((h) => h.toEpoch === certificate.toEpoch)) return;
    handovers.push(certificate);
    handovers.sort((a, b) => a.fromEpoch - b.fromEpoch);
    while (handovers.length > MAX_HANDOVERS) handovers.shift();
  };

  const onHandover = (bytes: Uint8Array) => {
    holdRepairHandover(bytes);
    if (key === undefined) {
      // A joiner in its reshare: the handover into the epoch it is about to hold may come first.
      if (joining !== undefined && earlyHandovers.length < MAX_EARLY_HANDOVERS)
        earlyHandovers.push(bytes.slice());
      return;
    }
    const certificate = decodeHandoverCertificate(bytes);
    // Refresh keeps the group key, so the outgoing keyset's key is ours with its epoch.
    const verdict = verifyHandover(
      bytes,
      { epoch: certificate.fromEpoch, groupPublicKey: key.groupPublicKey },
      options.domain,
    );
    if (!verdict.ok || !bytesEqual(verdict.next.groupPublicKey, key.groupPublicKey)) return;
    if (!engines.has(certificate.toEpoch) && certificate.toEpoch !== retiredInto) return;
    pendingHandovers.delete(toHex(handoverMessage(options.domain, certificate.fromEpoch, verdict.next)));
    engines
      .get(certificate.fromEpoch)
      ?.close(handoverMessage(options.domain, certificate.fromEpoch, verdict.next));
    keepHandover(certificate);
  };

  /**
   * A reshare we only dealt in finished: the keyset moved to a set without us. We help the old
   * keyset sign the handover, finish the old epoch's open sessions, and sign nothing new.
   */
  const retire = (run: KeygenRun, groupPublicKey: Uint8Array) => {
    member = false;
    retiredInto = run.epoch;
    reshares++;
    log('info', 'price keyset moved to a validator set without us', { epoch: run.epoch });
    openHandover(run.epoch - 1, { epoch: run.epoch, groupPublicKey });
  };

  const checkKeygenDone = (run: KeygenRun) => {
    if (run.machine === undefined || run.machine.phase !== 'done' || run.state !== 'running') return;
    try {
      const result = run.machine.result();
      if (result === undefined) return;
      const disqualified = result.disqualified.map((d) => ({ dealer: d.dealer, reason: d.reason }));
      if (run.kind === 'reshare') reshareDisqualified = disqualified.map((d) => ({ epoch: run.epoch, ...d }));
      if (result.key === undefined) {
        run.state = 'done';
        if (run.kind === 'reshare') retire(run, result.groupPublicKey);
        return;
      }
      run.state = 'done';
      options.keyStore.write(
        run.epoch,
        sealThresholdKeyFile(
          JSON.stringify(fromKeyPackage(result.key, run.sent, run.recipients.keys)),
          fileKey(options.secretKey, options.chainId, run.epoch),
          headerOf(run.epoch),
        ),
      );
      pruneKeyFiles(options.keyStore, run.epoch);
      if (disqualified.length > 0)
        log('warn', `${run.kind} left out dealers`, { epoch: run.epoch, disqualified });
      if (run.kind === 'dkg') {
        dkgState = 'done';
        dkgDisqualified = disqualified;
      } else if (run.kind === 'refresh') {
        refreshes++;
        refreshDisqualified = disqualified.map((d) => ({ epoch: run.epoch, ...d }));
      } else reshares++;
      const wasJoining = key === undefined && joining !== undefined;
      if (key === undefined || result.key.epoch > key.epoch) adopt(result.key, run.recipients);
      if (wasJoining) {
        joinState = 'joined';
        dkgState = 'done';
        joining = undefined;
        for (const bytes of earlyHandovers.splice(0, earlyHandovers.length)) onHandover(bytes);
      }
      log(
        'info',
        `price keyset ${run.kind === 'dkg' ? 'ready' : run.kind === 'refresh' ? 'refreshed' : 'reshared'}`,
        {
          epoch: result.key.epoch,
          groupPublicKey: toHex(result.key.groupPublicKey),
        },
      );
      startTicking();
      resolveReady();
    } catch (error) {
      if (!(error instanceof KeygenError)) throw error;
      run.state = 'failed';
      if (run.kind === 'dkg') {
        dkgState = 'failed';
        dkgDisqualified = error.culprits.map((dealer) => ({ dealer, reason: error.code }));
      }
      log('warn', `${run.kind} failed`, { epoch: run.epoch, code: error.code, culprits: error.culprits });
    }
  };

  const sendJoinPackage = (run: KeygenRun) => {
    if (run.joinPackage === undefined) return;
    for (const peer of run.joinPackage.peers) options.send(peer, run.joinPackage.bytes);
  };

  const retransmit = (run: KeygenRun) => {
    if (!running || run.state !== 'running') return;
    sendJoinPackage(run);
    for (const output of run.sent) transmit(run, output);
    later(retryMs, () => retransmit(run));
  };

  /** Starts a keygen run: the machine's first messages, its two deadlines and re-sending. */
  const startRun = (run: KeygenRun) => {
    run.startedMs = options.clock.now();
    runs.set(run.epoch, run);
    for (const epoch of [...runs.keys()]) if (epoch < run.epoch - 2) runs.delete(epoch);
    sendJoinPackage(run);
    dispatchKeygen(run, run.machine!.start());
    later(dkgDealMs, () => {
      if (running && run.state === 'running') dispatchKeygen(run, run.machine!.advance('deals'));
    });
    later(dkgDealMs + dkgComplaintMs, () => {
      if (running && run.state === 'running') dispatchKeygen(run, run.machine!.advance('complaints'));
    });
    later(retryMs, () => retransmit(run));
  };

  /** The DKG (genesis members) or the refresh of our current keyset (its members). */
  const session = (epoch: number, kind: 'dkg' | 'refresh'): KeygenSession => {
    const members = kind === 'dkg' ? genesisMembers : membersAt(key!.epoch);
    return {
      chainId: options.chainId,
      epoch,
      kind,
      dealerKeys: members.keys,
      recipientKeys: members.keys,
      threshold: kind === 'dkg' ? options.threshold : key!.threshold,
      ...(kind === 'refresh' ? { previous: key!.public } : {}),
    };
  };

  /** The reshare of our current keyset (its members deal) to `to` (they receive). */
  const reshareSession = (epoch: number, to: EpochMembers): KeygenSession => ({
    chainId: options.chainId,
    epoch,
    kind: 'reshare',
    dealerKeys: membersAt(key!.epoch).keys,
    recipientKeys: to.keys,
    threshold: thresholdOfSet(to.keys.length),
    previous: key!.public,
  });

  /**
   * Proactive refresh (src/crypto/keygen.ts kind `refresh`) into epoch key.epoch + 1. A run that
   * failed may start again after its deadlines (a validator that came back late retries).
   */
  const startRefresh = () => {
    if (key === undefined || !member) return;
    const epoch = key.epoch + 1;
    const existing = runs.get(epoch);
    if (existing !== undefined && existing.state !== 'failed') return;
    const now = options.clock.now();
    if (now - (lastRefreshStartMs.get(epoch) ?? Number.NEGATIVE_INFINITY) < dkgDealMs + dkgComplaintMs)
      return;
    lastRefreshStartMs.set(epoch, now);
    const next = nextKeygen()!;
    const machine = createKeygenMachine(next.session, {
      dealer: key.index,
      ...(next.recipient === undefined ? {} : { recipient: next.recipient }),
      signer: options.signer,
      previousKey: key,
      dealingSeed,
    });
    const joinPackage = next.session.kind === 'reshare' ? packageForJoiners(next.recipients) : undefined;
    startRun({
      epoch,
      kind: next.session.kind as 'refresh' | 'reshare',
      recipients: next.recipients,
      machine,
      sent: [],
      state: 'running',
      digest: machine.sessionDigest,
      ...(joinPackage === undefined ? {} : { joinPackage }),
      ...(next.session.kind === 'reshare' && pendingChange !== undefined
        ? { changeHeight: pendingChange.height }
        : {}),
    });
  };

  /**
   * The outgoing keyset's public package and the handovers that certify its epoch, for the new
   * members that hold no share of it (price-join.ts); undefined when the change adds no one.
   */
  const packageForJoiners = (to: EpochMembers) => {
    if (key === undefined || pendingChange === undefined) return undefined;
    const current = membersAt(key.epoch);
    const peers: PeerId[] = [];
    to.keys.forEach((member, index) => {
      const peer = to.peerOfMember(index);
      if (memberIndexOf(current.keys, member) === undefined && peer !== undefined && peer !== options.self)
        peers.push(peer);
    });
    if (peers.length === 0) return undefined;
    const { min, max } = key.public.signers;
    const bytes = KeysetPackageCodec.encode({
      chainId: options.chainId,
      epoch: key.epoch,
      height: pendingChange.height,
      threshold: min,
      participants: max,
      commitments: key.public.commitments.map((point) => Uint8Array.from(point)),
      verifyingShares: Array.from({ length: max }, (_, index) =>
        Uint8Array.from(key!.public.verifyingShares[participantIdentifier(index)]!),
      ),
      handovers: handovers
        .filter((h) => h.toEpoch <= key!.epoch)
        .slice(-MAX_PACKAGE_HANDOVERS)
        .map((h) => encodeHandoverCertificate(h)),
    });
    return { bytes, peers };
  };

  /** A refused package changes nothing; it is logged and counted with its sender. */
  const refusePackage = (from: PeerId, error: KeysetJoinError) => {
    refusedPackages.push({ peer: from, code: error.code });
    while (refusedPackages.length > MAX_REFUSED_PACKAGES) refusedPackages.shift();
    log('warn', 'refused a keyset package', { peer: from, code: error.code, field: error.field });
  };

  /**
   * A keyset package for a joiner (price-join.ts). Before our chain reached the change it is held
   * (one per peer); once f + 1 outgoing members agree on one we start the reshare as a recipient.
   */
  const onPackage = (from: PeerId, bytes: Uint8Array) => {
    if (!joiner || key !== undefined) return;
    if (joining === undefined) {
      if (directory.keyOf(from) === undefined) return;
      earlyPackages.delete(from);
      earlyPackages.set(from, bytes.slice());
      while (earlyPackages.size > MAX_EARLY_PACKAGES)
        earlyPackages.delete(earlyPackages.keys().next().value as PeerId);
      return;
    }
    let outcome: ReturnType<KeysetJoin['offer']>;
    try {
      outcome = joining.join.offer(from, bytes);
    } catch (error) {
      if (!(error instanceof KeysetJoinError)) throw error;
      refusePackage(from, error);
      return;
    }
    if (outcome.status !== 'accepted' || runs.has(outcome.package.epoch + 1)) return;
    const accepted = outcome.package;
    const session: KeygenSession = {
      chainId: options.chainId,
      epoch: accepted.epoch + 1,
      kind: 'reshare',
      dealerKeys: joining.outgoing.keys,
      recipientKeys: joining.members.keys,
      threshold: thresholdOfSet(joining.members.keys.length),
      previous: accepted.public,
    };
    // The handovers up to the outgoing epoch verified from the trusted keyset: ours to pass on.
    for (const encoded of accepted.handovers) keepHandover(decodeHandoverCertificate(encoded));
    membersOf.set(accepted.epoch, joining.outgoing);
    const machine = createKeygenMachine(session, {
      recipient: joining.index,
      signer: options.signer,
      dealingSeed,
    });
    joinState = 'resharing';
    log('info', 'joining the price keyset', { epoch: session.epoch, height: joining.height });
    startRun({
      epoch: session.epoch,
      kind: 'reshare',
      recipients: joining.members,
      machine,
      sent: [],
      state: 'running',
      digest: machine.sessionDigest,
    });
  };

  /**
   * The session into key.epoch + 1 the boundary starts: a reshare to the new set when the
   * execution state applied a set change there (`changeValidators`), else a refresh.
   */
  const nextKeygen = () => {
    if (key === undefined) return undefined;
    const epoch = key.epoch + 1;
    const change = pendingChange?.epoch === epoch ? pendingChange : undefined;
    if (change === undefined)
      return { session: session(epoch, 'refresh'), recipients: membersAt(key.epoch), recipient: key.index };
    return {
      session: reshareSession(epoch, change.members),
      recipients: change.members,
      recipient: memberIndexOf(change.members.keys, options.signer.publicKey),
    };
  };

  /**
   * The session digest of the refresh or reshare into key.epoch + 1, as our peers compute it: a
   * keygen message for it while we have no such run means the network started it without us (we
   * were down at its boundary block, or crashed in it), so we start it late.
   */
  let nextKeygenDigest: { epoch: number; change: unknown; digest: Uint8Array } | undefined;
  const isNextRefresh = (digest: Uint8Array) => {
    if (key === undefined || !member) return false;
    if (nextKeygenDigest?.epoch !== key.epoch + 1 || nextKeygenDigest.change !== pendingChange)
      nextKeygenDigest = {
        epoch: key.epoch + 1,
        change: pendingChange,
        digest: keygenSessionDigest(nextKeygen()!.session),
      };
    return bytesEqual(nextKeygenDigest.digest, digest);
  };

  const answerStraggler = (from: number, run: KeygenRun) => {
    // A peer still in a keygen we finished: give it what we sent, at most once per retry interval.
    const now = options.clock.now();
    const last = lastAnswerMs.get(from * 65_536 + run.epoch) ?? Number.NEGATIVE_INFINITY;
    if (now - last < retryMs) return;
    lastAnswerMs.set(from * 65_536 + run.epoch, now);
    for (const output of run.sent)
      if (output.to === 'all' || run.recipients.peerOfMember(output.recipient) === from)
        options.send(from, output.bytes);
    // A straggler that finishes on these missed the handover into this epoch: send it after them.
    const handover = handovers.find((h) => h.toEpoch === run.epoch);
    if (handover !== undefined) options.send(from, encodeHandoverCertificate(handover));
  };

  /**
   * A joiner asks for the package of the change that added it (it came up after our reshare
   * started, or after it ended): the package, and, once our run is over, what it sent the joiner
   * (the straggler answer); a running run re-sends everything anyway. Only the joiners of that
   * change are answered, at most once per retry interval each.
   */
  const lastPackageAnswerMs = new Map<number, number>();
  const onPackageRequest = (from: PeerId, bytes: Uint8Array) => {
    const request = KeysetPackageRequestCodec.decode(bytes);
    if (request.chainId !== options.chainId) return;
    for (const run of runs.values()) {
      if (run.kind !== 'reshare' || run.changeHeight !== request.height || run.joinPackage === undefined)
        continue;
      if (!run.joinPackage.peers.includes(from)) return;
      const now = options.clock.now();
      const slot = from * 65_536 + run.epoch;
      if (now - (lastPackageAnswerMs.get(slot) ?? Number.NEGATIVE_INFINITY) < retryMs) return;
      lastPackageAnswerMs.set(slot, now);
      while (lastPackageAnswerMs.size > MAX_PACKAGE_ANSWERS)
        lastPackageAnswerMs.delete(lastPackageAnswerMs.keys().next().value as number);
      options.send(from, run.joinPackage.bytes);
      if (run.state !== 'running') answerStraggler(from, run);
      return;
    }
  };

  /**
   * A joiner asks the outgoing members for the package every retry interval until it holds its
   * share: a change that added us while we were down or behind has no one re-sending it to us.
   */
  const requestPackage = (height: number) => {
    if (!running || key !== undefined || joining?.height !== height) return;
    const request = KeysetPackageRequestCodec.encode({ chainId: options.chainId, height });
    joining.outgoing.keys.forEach((_, member) => {
      const peer = joining!.outgoing.peerOfMember(member);
      if (peer !== undefined && peer !== options.self) options.send(peer, request);
    });
    later(retryMs, () => requestPackage(height));
  };

  const onKeygen = (from: number, bytes: Uint8Array) => {
    const digest = keygenMessageSession(bytes);
    for (const run of runs.values()) {
      if (!bytesEqual(run.digest, digest)) continue;
      if (run.state === 'failed' && isNextRefresh(digest)) break;
      // A genesis DKG that failed (fewer than 2f + 1 dealers reached us by its deadlines) while a
      // peer still deals it: more validators are up now, so run it again (the same session and
      // deal, from a fresh machine and fresh deadlines), at most once per pair of deadlines.
      if (run.state === 'failed' && run.kind === 'dkg' && key === undefined && retryGenesisDkg()) {
        answerStraggler(from, run);
        const retry = runs.get(run.epoch);
        if (retry?.machine !== undefined) dispatchKeygen(retry, retry.machine.receive(bytes));
        return;
      }
      if (run.state !== 'running' || run.machine === undefined) answerStraggler(from, run);
      else dispatchKeygen(run, run.machine.receive(bytes));
      return;
    }
    // Crash anywhere: a refresh our peers run and we do not (we came back from a crash in it, or
    // after its boundary). Dealing is derived from our identity key (`dealingSeed`), so the deal we
    // send now is the one we may have sent before the crash, byte for byte.
    if (!isNextRefresh(digest)) return;
    startRefresh();
    const run = runs.get(key!.epoch + 1);
    if (run?.state === 'running' && run.machine !== undefined)
      dispatchKeygen(run, run.machine.receive(bytes));
  };

  // ------------------------------------------------------------------ signing

  /** Sends an epoch engine's messages: its `to` is a member index of that epoch. */
  const dispatchSigning = (epoch: number, outputs: readonly SigningOutput[]) => {
    const members = membersAt(epoch);
    for (const output of outputs) {
      const peer = members.peerOfMember(output.to);
      if (peer !== undefined) options.send(peer, output.bytes);
    }
    collectCompletions();
  };

  const keep = (entry: LatestCertificate) => {
    const current = latestByAsset.get(entry.assetId);
    if (current === undefined || current.height < entry.height) latestByAsset.set(entry.assetId, entry);
    options.onCertificate?.(entry);
  };

  const collectCompletions = () => {
    for (const [epoch, engine] of engines) {
      for (const completion of engine.takeCompleted()) {
        const digestHex = toHex(completion.message);
        const toEpoch = pendingHandovers.get(digestHex);
        if (toEpoch !== undefined && key !== undefined) {
          const certificate: HandoverCertificate = {
            domain: options.domain,
            fromEpoch: epoch,
            toEpoch,
            groupPublicKey: key.groupPublicKey,
            signature: completion.signature,
          };
          const encoded = encodeHandoverCertificate(certificate);
          if (!verifyHandover(encoded, { epoch, groupPublicKey: key.groupPublicKey }, options.domain).ok)
            continue;
          pendingHandovers.delete(digestHex);
          keepHandover(certificate);
          options.broadcast(encoded);
          continue;
        }
        const onSigned = external.get(digestHex);
        if (onSigned !== undefined) {
          external.delete(digestHex);
          onSigned(completion.signature);
          continue;
        }
        const entry = pending.get(digestHex);
        const signingKey = engine === engines.get(epoch) ? keyOfEpoch(epoch) : undefined;
        if (entry === undefined || signingKey === undefined) continue;
        const certificate: PriceCertificate = {
          report: entry.report,
          domain: options.domain,
          signature: completion.signature,
        };
        if (!verifyPriceCertificate(certificate, { epoch, groupPublicKey: signingKey.groupPublicKey })) {
          log('warn', 'assembled price certificate does not verify', { height: entry.height });
          continue;
        }
        pending.delete(digestHex);
        const encoded = encodePriceCertificate(certificate);
        certificates++;
        lastAssembled = {
          height: entry.height,
          epoch,
          signers: [...completion.signers].sort((a, b) => a - b),
        };
        keep({
          assetId: entry.asset.assetId,
          symbol: entry.asset.symbol,
          height: entry.height,
          certificate,
          encoded,
        });
        options.broadcast(
          CertificateAnnouncementCodec.encode({
            assetId: entry.asset.assetId,
            height: entry.height,
            certificate: encoded,
          }),
        );
      }
    }
  };

  /** Refresh keeps the group key, so every epoch's key is the current key with its epoch. */
  const keyOfEpoch = (epoch: number) =>
    key !== undefined && engines.has(epoch) ? { epoch, groupPublicKey: key.groupPublicKey } : undefined;

  let ticking = false;
  const tick = () => {
    if (!running) return;
    const now = options.clock.now();
    for (const [epoch, engine] of engines) dispatchSigning(epoch, engine.tick(now));
    dispatchRepair(repair.tick(now));
    for (const [digestHex, entry] of pending) {
      if (now - entry.createdMs <= sessionTimeoutMs) continue;
      failedSessions++;
      pending.delete(digestHex);
      engines.get(entry.epoch)?.close(fromHex(digestHex)!);
    }
    later(Math.max(1, Math.floor(attemptMs / 4)), tick);
  };
  const startTicking = () => {
    if (ticking) return;
    ticking = true;
    tick();
  };

  const onAnnouncement = (from: PeerId, bytes: Uint8Array) => {
    const announcement = CertificateAnnouncementCodec.decode(bytes);
    noteKeysetEpoch(from, decodePriceCertificate(announcement.certificate).report.epoch);
    if (key === undefined) return;
    const asset = options.assets.find((a) => a.assetId === announcement.assetId);
    if (asset === undefined) return;
    const certificate = decodePriceCertificate(announcement.certificate);
    if (toHex(certificate.report.feedId) !== toHex(feedIdOf(asset.symbol))) return;
    if (
      certificate.domain.chainId !== options.domain.chainId ||
      toHex(certificate.domain.verifyingContract) !== toHex(options.domain.verifyingContract)
    )
      return;
    // A certificate of the epoch after ours: the others finished a refresh we missed. Start it;
    // they answer our messages with theirs (answerStraggler). Only a hint: a forged one costs a
    // keygen run that fails, at most once per pair of deadlines.
    if (certificate.report.epoch === key.epoch + 1 && !engines.has(key.epoch + 1)) startRefresh();
    const keyset = keyOfEpoch(certificate.report.epoch);
    if (keyset === undefined || !verifyPriceCertificate(certificate, keyset)) return;
    const digest = priceReportDigest(certificate.report, certificate.domain);
    const digestHex = toHex(digest);
    engines.get(keyset.epoch)?.close(digest);
    pending.delete(digestHex);
    const height = knownReports.get(digestHex);
    if (height !== undefined) {
      keep({
        assetId: asset.assetId,
        symbol: asset.symbol,
        height,
        certificate,
        encoded: announcement.certificate.slice(),
      });
      return;
    }
    // Not a report of a height we processed. Ahead of us (we are catching up): hold it until our
    // own aggregate builds the same report. At or below what we processed: not our chain's
    // report for that height (or one from before a restart): nothing to file it under.
    if (announcement.height <= highestHeight) return;
    aheadCertificates.set(digestHex, { certificate, encoded: announcement.certificate.slice() });
    while (aheadCertificates.size > MAX_AHEAD_CERTIFICATES)
      aheadCertificates.delete(aheadCertificates.keys().next().value as string);
  };

  /** A set change names us and we hold no keyset: collect the outgoing package (price-join.ts). */
  const joinAt = (
    height: number,
    keys: readonly Uint8Array[],
    outgoing: readonly Uint8Array[] | undefined,
  ) => {
    const index = memberIndexOf(keys, options.signer.publicKey);
    if (index === undefined || joining?.height === height) return;
    if (outgoing === undefined || options.trustedKeyset === undefined) {
      log('warn', 'added to the validator set without an outgoing set or a trusted keyset: cannot join', {
        height,
      });
      return;
    }
    joining = {
      height,
      index,
      members: epochMembers(keys, directory),
      outgoing: epochMembers(outgoing, directory),
      join: createKeysetJoin({
        chainId: options.chainId,
        domain: options.domain,
        trusted: options.trustedKeyset,
        height,
        outgoing,
        directory,
      }),
    };
    joinState = 'package';
    const held = [...earlyPackages];
    earlyPackages.clear();
    for (const [from, bytes] of held) onPackage(from, bytes);
    later(retryMs, () => requestPackage(height));
  };

  // ------------------------------------------------------------------ share repair

  /**
   * Share repair (src/interop/share-repair.ts): a member of the current keyset with no usable key
   * file (disk lost, key directory wiped, a file that fails its checks), one two epochs or more
   * behind, or a joiner whose reshare is out of its peers' reach, gets its share of the current
   * epoch back from t helpers without any of them learning it.
   *
   * Whose keyset. We repair into the keyset of the latest validator set our chain applied
   * (`changeValidators`, recorded with or without a key), else the one our key names, else the
   * genesis validators; we ask only when we are in it. Its members are numbered in set order,
   * translated to transport peers through the directory as the reshare does, and t is the genesis
   * threshold for the genesis set, 2f' + 1 for a set a reshare made (price-membership.ts). The
   * keyset's current epoch is what more than f of its members say in the price certificates they
   * announce over the authenticated transport (at least one of them is honest); a newer epoch said
   * so supersedes the one being repaired. Repair messages name the keyset by the digest of its
   * members and threshold, and helpers answer only for the epoch they sign in now, only members of
   * that keyset, and only the lost member itself: a request for an old epoch, from a validator a
   * change removed, or from a stranger gets nothing, and a removed validator's splits or sums count
   * for no one. While a reshare to our set is still running, the epoch we hear is the outgoing
   * keyset's, whose members differ: helpers refuse the digest, our attempts time out, and the new
   * epoch's certificates start the repair that works. The repaired share must match the verifying
   * share the helpers' majority holds for us, and the group key we held before or the one our
   * operator trusts (`trustedKeyset`); it is sealed into the same version-2 key file a DKG writes,
   * with its members. A joiner that repairs is joined: its package requests stop.
   */
  const repairMs = options.repairMs ?? 10_000;
  const repair = createShareRepair({
    chainId: options.chainId,
    signer: options.signer,
    deadlineMs: repairMs,
    held: (epoch) =>
      key !== undefined && member && key.epoch === epoch
        ? { key, members: membersAt(epoch).keys }
        : undefined,
  });
  /** The latest validator set our chain applied, with or without a key (`changeValidators`). */
  let chainSet: { height: number; members: EpochMembers } | undefined;
  const noteChainSet = (height: number, keys: readonly Uint8Array[]) => {
    if (chainSet !== undefined && chainSet.height >= height) return;
    chainSet = { height, members: epochMembers(keys, directory) };
  };
  /** The keyset we would repair into, and its threshold; undefined when we are not a member of it. */
  const repairKeyset = (): { members: EpochMembers; threshold: number } | undefined => {
    const held = key === undefined ? undefined : membersAt(key.epoch);
    const members = chainSet?.members ?? held ?? (joiner ? undefined : genesisMembers);
    if (members === undefined || memberIndexOf(members.keys, options.signer.publicKey) === undefined)
      return undefined;
    const threshold =
      held !== undefined && key !== undefined && sameMembers(held.keys, members.keys)
        ? key.threshold
        : sameMembers(members.keys, genesisMembers.keys)
          ? options.threshold
          : thresholdOfSet(members.keys.length);
    return threshold < members.keys.length ? { members, threshold } : undefined;
  };
  /**
   * The highest certificate epoch each validator announced, by transport peer (one entry per
   * peer the directory knows: a Byzantine one announcing epochs it makes up takes no one else's
   * place, where a map by epoch evicted the real epoch under a flood of invented ones).
   */
  const announcedEpochs = new Map<PeerId, number>();
  let repairState: PriceSignerStats['repair']['state'] = 'idle';
  let repairEpoch: number | null = null;
  /** The keyset (digest, hex) the repair in progress asks for. */
  let repairDigest = '';
  let repairsDone = 0;
  let repairTicking = false;

  const repairStats = (): PriceSignerStats['repair'] => {
    const engineStats = repair.stats();
    return {
      state: repairState,
      epoch: repairEpoch,
      repaired: repairsDone,
      code: repairState === 'failed' ? (repair.failure()?.code ?? null) : null,
      // Named by transport peer, as every other stat (the engine names keyset members).
      culprits: engineStats.culprits.flatMap((c) => {
        const validator = directory.peerOf(c.key);
        return validator === undefined ? [] : [{ validator, fault: c.fault, attempt: c.attempt }];
      }),
      helped: engineStats.helped,
    };
  };

  /**
   * The handovers into the epoch we repair, which repair itself does not carry: each helper sends
   * the ones it holds up to its epoch just before its sum, and we keep those that verify under the
   * repaired share's group key (only the group signs one), so our chain again starts at genesis.
   */
  const repairHandovers: Uint8Array[] = [];
  const holdRepairHandover = (bytes: Uint8Array) => {
    if (repair.repairing() !== undefined && repairHandovers.length < MAX_HANDOVERS)
      repairHandovers.push(bytes.slice());
  };
  const keepRepairHandovers = (repaired: FrostKeyPackage) => {
    for (const bytes of repairHandovers.splice(0, repairHandovers.length)) {
      try {
        const certificate = decodeHandoverCertificate(bytes);
        const verdict = verifyHandover(
          bytes,
          { epoch: certificate.fromEpoch, groupPublicKey: repaired.groupPublicKey },
          options.domain,
        );
        if (
          verdict.ok &&
          bytesEqual(verdict.next.groupPublicKey, repaired.groupPublicKey) &&
          certificate.toEpoch <= repaired.epoch
        )
          keepHandover(certificate);
      } catch {
        // not a handover certificate: nothing to keep
      }
    }
  };

  const dispatchRepair = (outputs: readonly RepairOutput[]) => {
    for (const output of outputs) {
      const peer = directory.peerOf(output.to);
      if (peer === undefined || peer === options.self) continue;
      if (key !== undefined && peekTag(output.bytes) === RepairSumCodec.tag)
        for (const handover of handovers)
          if (handover.toEpoch <= key.epoch) options.send(peer, encodeHandoverCertificate(handover));
      options.send(peer, output.bytes);
    }
    for (const repaired of repair.takeRepaired()) adoptRepaired(repaired);
    // Our share came back another way (a reshare as joiner, a refresh straggler): stop asking.
    const repairing = repair.repairing();
    if (repairing !== undefined && key !== undefined && repairing <= key.epoch) {
      repair.cancel();
      if (repairState === 'running') repairState = 'idle';
    }
    if (repairState === 'running' && repair.repairing() === undefined && repair.failure() !== undefined) {
      repairState = 'failed';
      log('warn', 'share repair failed', { ...repair.failure() });
    }
  };

  const adoptRepaired = (repaired: RepairedShare) => {
    const groupKey = key?.groupPublicKey ?? options.trustedKeyset?.groupPublicKey;
    if (groupKey !== undefined && !bytesEqual(groupKey, repaired.key.groupPublicKey)) {
      repairState = 'failed';
      log('warn', 'repaired share is of another group key: dropped', { epoch: repaired.key.epoch });
      return;
    }
    if (key !== undefined && repaired.key.epoch <= key.epoch) return;
    const members = epochMembers(repaired.members, directory);
    options.keyStore.write(
      repaired.key.epoch,
      sealThresholdKeyFile(
        JSON.stringify(fromKeyPackage(repaired.key, [], members.keys)),
        fileKey(options.secretKey, options.chainId, repaired.key.epoch),
        headerOf(repaired.key.epoch),
      ),
    );
    pruneKeyFiles(options.keyStore, repaired.key.epoch);
    // A DKG, refresh or reshare we were still running from before is superseded: stop re-sending it.
    for (const run of runs.values())
      if (run.state === 'running' && run.epoch <= repaired.key.epoch) run.state = 'done';
    runs.set(repaired.key.epoch, {
      epoch: repaired.key.epoch,
      kind: 'refresh',
      recipients: members,
      machine: undefined,
      sent: [],
      state: 'done',
      digest: new Uint8Array(32),
    });
    repairState = 'done';
    repairsDone++;
    dkgState = 'done';
    member = true;
    adopt(repaired.key, members);
    keepRepairHandovers(repaired.key);
    if (joiner && joinState !== 'joined') {
      joinState = 'joined';
      joining = undefined;
      for (const bytes of earlyHandovers.splice(0, earlyHandovers.length)) onHandover(bytes);
    }
    log('info', 'price share repaired', {
      epoch: repaired.key.epoch,
      members: members.keys.length,
      groupPublicKey: toHex(repaired.key.groupPublicKey),
    });
    startTicking();
    resolveReady();
  };

  const repairTick = () => {
    if (!running || repair.repairing() === undefined) {
      repairTicking = false;
      return;
    }
    dispatchRepair(repair.tick(options.clock.now()));
    later(Math.max(1, Math.floor(repairMs / 4)), repairTick);
  };

  /**
   * A validator announced a certificate of `epoch`: more than f members of the keyset we would
   * repair into saying an epoch we lack starts (or moves) a repair of our share of it.
   */
  const noteKeysetEpoch = (from: PeerId, epoch: number) => {
    if (!Number.isSafeInteger(epoch) || epoch < options.epoch || directory.keyOf(from) === undefined) return;
    announcedEpochs.set(from, Math.max(epoch, announcedEpochs.get(from) ?? 0));
    if (key !== undefined && !member) return;
    const target = repairKeyset();
    if (target === undefined) return;
    // The (f + 1)-th highest epoch the set's members announced: one of them is honest and signs in
    // that epoch or a later one, so a keyset of it exists; f liars cannot push it higher.
    const f = Math.floor((target.members.keys.length - 1) / 3);
    const heard = [...announcedEpochs]
      .filter(([peer]) => target.members.memberOfPeer(peer) !== undefined)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (heard.length <= f) return;
    epoch = heard[f]![1];
    if (key !== undefined && epoch < key.epoch + 2) return; // a refresh straggler catches up by itself
    const members = heard.filter(([, announced]) => announced >= epoch).map(([peer]) => peer);
    // A newer epoch, or the same one of the keyset our chain's set now names, restarts the repair.
    const keyset = { members: target.members.keys, threshold: target.threshold };
    const digest = toHex(repairKeysetDigest(keyset));
    const repairing = repair.repairing();
    if (repairing !== undefined && (repairing > epoch || (repairing === epoch && digest === repairDigest)))
      return;
    // Convicted helpers stay convicted: a failed repair of this keyset and epoch is not asked again.
    if (repairState === 'failed' && repairEpoch === epoch && repairDigest === digest) return;
    // A joiner in its reshare knows the outgoing keyset's epoch: up to it, no keyset holds us.
    const outgoingEpoch = joining?.join.accepted()?.epoch;
    if (outgoingEpoch !== undefined && epoch <= outgoingEpoch) return;
    repairState = 'running';
    repairEpoch = epoch;
    repairDigest = digest;
    log('info', 'asking peers for share repair', {
      epoch,
      members: target.members.keys.length,
      heard: members,
    });
    dispatchRepair(
      repair.request(
        epoch,
        keyset,
        members.sort((a, b) => a - b).flatMap((peer) => directory.keyOf(peer) ?? []),
        options.clock.now(),
      ),
    );
    if (!repairTicking && repair.repairing() !== undefined) {
      repairTicking = true;
      later(Math.max(1, Math.floor(repairMs / 4)), repairTick);
    }
  };

  let genesisDkgStartedMs = Number.NEGATIVE_INFINITY;
  let genesisDkgAttempts = 0;
  /** Starts the genesis DKG again when the last attempt began a pair of deadlines ago or more. */
  const retryGenesisDkg = (): boolean => {
    if (options.clock.now() - genesisDkgStartedMs < dkgDealMs + dkgComplaintMs) return false;
    log('info', 'genesis DKG failed earlier; a peer deals it now: running it again', {
      attempt: genesisDkgAttempts + 1,
    });
    startGenesisDkg();
    return true;
  };
  const startGenesisDkg = () => {
    genesisDkgStartedMs = options.clock.now();
    genesisDkgAttempts++;
    dkgState = 'running';
    const machine = createKeygenMachine(session(options.epoch, 'dkg'), {
      dealer: options.self,
      recipient: options.self,
      signer: options.signer,
      dealingSeed,
    });
    startRun({
      epoch: options.epoch,
      kind: 'dkg',
      recipients: genesisMembers,
      machine,
      sent: [],
      state: 'running',
      digest: machine.sessionDigest,
    });
  };

  const onRepair = (from: PeerId, bytes: Uint8Array) => {
    const sender = directory.keyOf(from);
    if (sender === undefined) return; // no one the transport knows: nothing to say to it
    dispatchRepair(repair.receive(sender, bytes, options.clock.now()));
  };

  return {
    start() {
      if (running) return;
      running = true;
      // The latest epoch we hold a key file for (the genesis DKG's, or a later refresh's).
      const latestEpoch = options.keyStore
        .epochs()
        .filter((epoch) => Number.isSafeInteger(epoch) && epoch >= options.epoch)
        .reduce((a, b) => Math.max(a, b), options.epoch);
      let file: KeyFileContents | undefined;
      try {
        file = readKeyFile(
          options.keyStore,
          latestEpoch,
          fileKey(options.secretKey, options.chainId, latestEpoch),
          headerOf(latestEpoch),
        );
      } catch (error) {
        // A file of a format we do not know is refused (a newer release wrote it: never overwrite
        // it). One that fails its checks is as good as lost: share repair gets the share back.
        if (!(error instanceof KeystoreError) || error.code === 'KEYSTORE_UNSUPPORTED') throw error;
        log('warn', 'price key file unreadable: asking peers for share repair', {
          epoch: latestEpoch,
          code: error.code,
        });
      }
      if (file !== undefined) {
        const loaded = toKeyPackage(file);
        const sent: KeygenOutput[] = (file.sent ?? []).map((entry) =>
          entry.to === 'all'
            ? { to: 'all', bytes: bytesOf(entry.bytes) }
            : { to: 'recipient', recipient: entry.to, bytes: bytesOf(entry.bytes) },
        );
        const digest = sent.length > 0 ? keygenMessageSession(sent[0]!.bytes) : new Uint8Array(32);
        const members =
          file.members === undefined ? genesisMembers : epochMembers(file.members.map(bytesOf), directory);
        invariant(
          members.keys.length === loaded.participants &&
            bytesEqual(members.keys[loaded.index]!, options.signer.publicKey),
          'the key file is ours and names its members',
        );
        runs.set(latestEpoch, {
          epoch: latestEpoch,
          kind: latestEpoch === options.epoch ? 'dkg' : 'refresh',
          recipients: members,
          machine: undefined,
          sent,
          state: 'done',
          digest,
        });
        dkgState = 'done';
        if (joiner) joinState = 'joined';
        adopt(loaded, members);
        // A crash between writing a refresh's file and pruning leaves the older ones: prune now.
        pruneKeyFiles(options.keyStore, latestEpoch);
        startTicking();
        resolveReady();
        return;
      }
      // Not a genesis validator: no DKG; a set change that adds us starts our reshare (joinAt).
      if (joiner) {
        log('info', 'not a genesis validator: waiting for a set change that adds us');
        return;
      }
      if (options.expectKeyset?.() === true) {
        // Our chain is past genesis, so a keyset most likely exists: its share comes back by
        // repair (noteKeysetEpoch), not by dealing again. Only when no validator has announced
        // a certificate of any epoch by the DKG's deadlines (none holds a keyset) do we deal.
        log('info', 'no usable price key file past genesis: waiting for share repair');
        later(dkgDealMs + dkgComplaintMs, () => {
          // A validator our chain removed holds no keyset to deal again either.
          if (running && key === undefined && announcedEpochs.size === 0 && repairKeyset() !== undefined)
            startGenesisDkg();
        });
        return;
      }
      startGenesisDkg();
    },

    stop() {
      running = false;
      for (const cancel of timers.splice(0, timers.length)) cancel();
    },

    receive(from, message) {
      if (!running || from === options.self) return;
      try {
        const tag = peekTag(message);
        if (tag === SealedKeygenCodec.tag) onKeygen(from, message);
        else if (SIGNING_TAGS.has(tag)) {
          // Each engine takes only its own epoch's messages, and only from that epoch's members
          // (a validator removed by a set change is no one to the new keyset's engines).
          for (const [epoch, engine] of engines) {
            const sender = membersAt(epoch).memberOfPeer(from);
            if (sender !== undefined)
              dispatchSigning(epoch, engine.receive(sender, message, options.clock.now()));
          }
        } else if (tag === CertificateAnnouncementCodec.tag) onAnnouncement(from, message);
        else if (tag === KeysetPackageCodec.tag) onPackage(from, message);
        else if (tag === KeysetPackageRequestCodec.tag) onPackageRequest(from, message);
        else if (REPAIR_TAGS.has(tag)) onRepair(from, message);
        else if (tag === HandoverCertificateCodec.tag) onHandover(message);
      } catch (error) {
        // Malformed, forged or out-of-session input from a peer changes nothing here.
        log('warn', 'dropped price-signing message', { peer: from, reason: (error as Error).message });
      }
    },

    onAggregates(height, prices) {
      if (!running || key === undefined) return;
      highestHeight = Math.max(highestHeight, height);
      if (epochBlocks > 0 && height > 0 && height % epochBlocks === 0) startRefresh();
      const engine = engines.get(key.epoch);
      if (!member || engine === undefined || height % options.everyBlocks !== 0) return;
      const participants = membersAt(key.epoch).keys.length;
      options.assets.forEach((asset, assetIndex) => {
        const price = prices.find((p) => p.assetId === asset.assetId);
        if (price === undefined || price.priceTicks <= 0n || (price.flags & AggregateFlag.STALE) !== 0)
          return;
        const report: PriceReport = {
          feedId: feedIdOf(asset.symbol),
          price: price.priceTicks,
          confidence: price.confidenceTicks,
          exponent: -asset.decimals,
          publishTime: Math.floor(price.publishTimeMs / 1000),
          epoch: key!.epoch,
        };
        const digest = priceReportDigest(report, options.domain);
        const digestHex = toHex(digest);
        knownReports.set(digestHex, height);
        while (knownReports.size > MAX_KNOWN_REPORTS)
          knownReports.delete(knownReports.keys().next().value as string);
        const announced = aheadCertificates.get(digestHex);
        if (announced !== undefined) {
          // The others certified it while we were behind: file it at our height, no session.
          aheadCertificates.delete(digestHex);
          keep({ assetId: asset.assetId, symbol: asset.symbol, height, ...announced });
          return;
        }
        if (pending.has(digestHex)) return;
        pending.set(digestHex, { report, asset, height, createdMs: options.clock.now(), epoch: key!.epoch });
        while (pending.size > MAX_PENDING_REPORTS) pending.delete(pending.keys().next().value as string);
        sessionsStarted++;
        const base = (Math.floor(height / options.everyBlocks) + assetIndex) % participants;
        dispatchSigning(key!.epoch, engine.open(digest, base, options.clock.now()));
      });
    },

    keyset: () =>
      key === undefined
        ? undefined
        : {
            epoch: key.epoch,
            groupPublicKey: key.groupPublicKey,
            threshold: key.threshold,
            participants: key.participants,
          },

    latest: () => [...latestByAsset.values()].sort((a, b) => a.assetId - b.assetId),

    members: () =>
      key === undefined ? undefined : membersAt(key.epoch).keys.map((member) => member.slice()),

    handovers: () => handovers.map((h) => ({ ...h, encoded: encodeHandoverCertificate(h) })),

    stats: () => {
      const badShares: Record<number, number> = {};
      const silentSigners: Record<number, number> = {};
      let signingAttempts = 0;
      for (const [epoch, engine] of engines) {
        const engineStats = engine.stats();
        signingAttempts += engineStats.attemptsStarted;
        for (const [validator, record] of Object.entries(engineStats.faults)) {
          // Engines count by member index; stats name transport peers, the same across epochs.
          const v = membersAt(epoch).peerOfMember(Number(validator));
          if (v === undefined) continue;
          if (record.badShares > 0) badShares[v] = (badShares[v] ?? 0) + record.badShares;
          if (record.silent > 0) silentSigners[v] = (silentSigners[v] ?? 0) + record.silent;
        }
      }
      return {
        dkg: dkgState,
        dkgCulprits: dkgDisqualified.map((d) => d.dealer),
        dkgDisqualified: dkgDisqualified.map((d) => ({ ...d })),
        refreshDisqualified: refreshDisqualified.map((d) => ({ ...d })),
        lastAssembled:
          lastAssembled === null ? null : { ...lastAssembled, signers: [...lastAssembled.signers] },
        suspectedSigners:
          key === undefined ? [] : (healthOf.get(key.epoch)?.suspectedSigners(options.clock.now()) ?? []),
        refreshing:
          [...runs.values()].find((run) => run.kind !== 'dkg' && run.state === 'running')?.epoch ?? null,
        repair: repairStats(),
        sessionsStarted,
        certificates,
        failedSessions,
        badShares,
        silentSigners,
        signingAttempts,
        refreshes,
        reshares,
        reshareDisqualified: reshareDisqualified.map((d) => ({ ...d })),
        member,
        join: joinState,
        refusedPackages: refusedPackages.map((r) => ({ ...r })),
      };
    },

    keygenSessions: () =>
      [...runs.values()].flatMap((run) => {
        if (run.state !== 'running' || run.machine === undefined || run.startedMs === undefined) return [];
        // Dealers are the keyset being refreshed or reshared (the genesis members for the DKG).
        const dealers = run.kind === 'dkg' ? run.recipients : membersAt(run.epoch - 1);
        const peers = (members: EpochMembers, indices: readonly number[]) =>
          indices.flatMap((index) => members.peerOfMember(index) ?? []);
        const waiting = run.machine.waitingFor();
        return [
          {
            kind: run.kind,
            epoch: run.epoch,
            startedMs: run.startedMs,
            deadlinesMs: dkgDealMs + dkgComplaintMs,
            phase: run.machine.phase,
            waitingFor: {
              deals: peers(dealers, waiting.deals),
              shares: peers(dealers, waiting.shares),
              complaints: peers(run.recipients, waiting.complaints),
              attestations: peers(run.recipients, waiting.attestations),
            },
          },
        ];
      }),

    ready: () => readyPromise,

    signDigest(digest, epoch, base, onSigned) {
      const engine = engines.get(epoch);
      if (!running || engine === undefined) return false;
      external.set(toHex(digest), onSigned);
      while (external.size > MAX_PENDING_REPORTS) external.delete(external.keys().next().value as string);
      dispatchSigning(epoch, engine.open(digest, base % membersAt(epoch).keys.length, options.clock.now()));
      return true;
    },

    changeValidators(height, keys, outgoing) {
      invariant(Number.isSafeInteger(height) && height > 0, 'a set change applies at a boundary height');
      noteChainSet(height, keys);
      if (key === undefined && joiner) {
        joinAt(height, keys, outgoing);
        return;
      }
      if (key === undefined || !member) return;
      const members = epochMembers(keys, directory);
      if (sameMembers(members.keys, membersAt(key.epoch).keys)) return; // replayed, already ours
      if (pendingChange?.height === height) return;
      const unreachable = members.keys.filter((_, i) => members.peerOfMember(i) === undefined).length;
      if (unreachable > 0) log('warn', 'new validators the transport cannot reach', { height, unreachable });
      pendingChange = { height, epoch: key.epoch + 1, members };
    },

    validatorSet(height, keys) {
      invariant(Number.isSafeInteger(height) && height >= 0, 'a set holds from a height');
      noteChainSet(height, keys);
    },

    closeDigest(digest, epoch) {
      external.delete(toHex(digest));
      engines.get(epoch)?.close(digest);
    },
  };
}
