/**
 * A validator node: the composition root that wires the layers together.
 *
 *   transport (mutual TLS 1.3, one connection per validator pair)
 *     ├─ 0x02xx → consensus (Simplex; vote journal and finalized blocks in SQLite)
 *     ├─ 0x04xx → price keyset DKG and FROST signing (price-signing.ts)
 *     ├─ 0x0135 → the eon keyset's DKG among the validators (eon-keyset.ts; genesis `eonKeygen`),
 *                 with validator epochs one per window among its own set (eon-epochs.ts)
 *     └─ 0x05xx → transaction gossip and envelope gossip 0x0509 (here), signing
 *                 requests/announcements (price-signing.ts) and state sync, 0x0505–0x0508
 *                 (state-sync.ts)
 *   consensus ⇄ application (app.ts: the block rule — time, transactions, oracle observations —
 *     execution, persistence of finalized blocks with certificates)
 *   mempool ← API submissions and peers' gossip; the proposer selects from it
 *   oracle: the genesis' simulated market, polled every market step; each validator signs its
 *     observation for height h + 1 into its votes on block h (see app.ts)
 *   API: `startApiServer` over this node's `NodeView`
 *
 * Messages in an unknown tag range cost the sender transport score; consensus's own drop
 * counters are charged to peers every second through `createDropCounterPenalties`.
 *
 * Lifecycle: `start()` opens storage, restores the latest engine snapshot and replays the finalized
 * blocks stored after it (app.ts; a snapshot every `applicationLimits.snapshotIntervalBlocks`,
 * default 100), listens, dials, starts consensus, the oracle, the DKG (or loads the keyset) and the
 * API. With genesis `eonKeygen`, consensus (and state sync) start only once the validators agreed
 * on the eon keyset (eon-keyset.ts; loaded from `eon-share-<eon>.key` after the first start), so
 * no block runs, and no envelope is taken, before the eon key exists. With `eonKeygen` and
 * validator epochs (`--epoch-blocks`), the eon follows the epochs instead (eon-epochs.ts,
 * src/chain/eon-schedule.ts): consensus starts at once, each window's eon (the first included) is
 * made by its own validators and applies from a finalized block that records it, and a validator
 * added by governance starts and is a keyper from its first window. `stop()` stops consensus, waits for the block being applied,
 * syncs and closes storage, closes the API and the transport. `kill -9` at any point is safe:
 * votes are journaled before they are sent and a finalized block is applied again from storage.
 */

import { decodeBlockPayload, epochValidators, nodeStateRootFairParts } from '../chain/block-rule.ts';
import { eonOfWindow, eonWindowOf, type ScheduledEon } from '../chain/eon-schedule.ts';
import { type Block, BlockCodec, CertificateCodec, ProposalCodec, VoteCodec } from '../codec/consensus.ts';
import { EonActivationCodec, SignedKeyShareCodec } from '../codec/envelope.ts';
import { CodecError } from '../codec/errors.ts';
import { ValidatorSetRecordCodec } from '../codec/execution.ts';
import { peekTag } from '../codec/message.ts';
import { EnvelopeGossipCodec, MAX_GOSSIP_TRANSACTIONS, TransactionGossipCodec } from '../codec/node.ts';
import { createEngine as createConsensus, type SimplexEngine } from '../consensus/engine.ts';
import { createValidatorSchedule } from '../consensus/epochs.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { SealedEonKeygenCodec } from '../crypto/shutter/eon-keygen-codec.ts';
import type { PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import { accountStateKey } from '../execution/engine.ts';
import { VALIDATOR_SET_STATE_KEY } from '../execution/records.ts';
import { CheckpointCertificateCodec } from '../interop/evm/checkpoint.ts';
import { createDepositReporter, type DepositReporter } from '../interop/evm/deposit-quorum.ts';
import { createRpcDepositFollower } from '../interop/evm/follower-rpc.ts';
import { createEvmReader } from '../interop/evm/rpc.ts';
import type { Keyset } from '../interop/handover-certificate.ts';
import type { MonitorConfigOverrides } from '../monitor/config.ts';
import { severityRank } from '../monitor/finding.ts';
import { createMonitor } from '../monitor/monitor.ts';
import { createWebhookSender, type WebhookOptions } from '../monitor/webhook.ts';
import { AggregateFlag } from '../oracle/aggregate.ts';
import { createSimulatedMarket } from '../oracle/market.ts';
import { buildObservation, encodeVoteExtension, signObservation } from '../oracle/observation.ts';
import { type Quote, stuckSource } from '../oracle/source.ts';
import { createRealClock } from '../runtime/real/clock.ts';
import { createDropCounterPenalties } from '../runtime/real/penalties.ts';
import { openSqliteStorage, type SqliteStorage } from '../runtime/real/storage.ts';
import { createTlsTransport, type TlsTransport, type TransportLimits } from '../runtime/real/transport.ts';
import type { Network, PeerId } from '../runtime/types.ts';
import { checkpointJson, withdrawalProofJson } from './api/bridge.ts';
import type { EonKeysetJson } from './api/eon.ts';
import { nextRefreshHeight } from './api/keys.ts';
import { networkInfoOf } from './api/network.ts';
import { type RunningApiServer, startApiServer } from './api/server.ts';
import { type ApplicationLimits, createNodeApplication, type NodeApplication } from './app.ts';
import { auditLogRead, createAuditTrail } from './audit-trail.ts';
import { createCertificateHistory } from './certificate-history.ts';
import { createCheckpointSigner } from './checkpoint-signing.ts';
import { createDepositStatus } from './deposit-status.ts';
import { createEonEpochs } from './eon-epochs.ts';
import { EonShareError, readEonShareText, removeEonShare, writeEonShareDurably } from './eon-key-file.ts';
import { createEonKeysetDriver, type EonKeysetDriver } from './eon-keyset.ts';
import { catchUpEpochs, currentValidatorStatus, followValidatorEpoch, storedBlockView } from './epochs.ts';
import { type Genesis, parseHostPort } from './genesis.ts';
import { createMonitorFeed, keygenSessionsOf } from './monitor-feed.ts';
import { createFilePriceKeyStore } from './price-key-files.ts';
import { networkMembership } from './price-membership.ts';
import { createPriceSigner, type LatestCertificate, type PriceSigner } from './price-signing.ts';
import { createPrivacyCheckpoints } from './privacy.ts';
import { createSignaturePool, defaultSignatureThreads } from './signature-pool.ts';
import { boundaryProofOf, createStateSync, provenBoundaryView, type StateSync } from './state-sync.ts';
import {
  setTraceLabel,
  trace,
  tracedIds,
  tracedTransaction,
  traceEventLoop,
  traceNow,
  tracing,
} from './trace.ts';
import { createValidatorSetProofs } from './validator-set-proofs.ts';
import {
  accountToJson,
  blockDetailOf,
  bookToJson,
  type EvidenceEntry,
  envelopeSubmitResult,
  evidenceToJson,
  fillsOf,
  hex,
  marketToJson,
  type NodeEvent,
  type NodeView,
  type PriceJson,
  priceCertificateEntryOf,
  stateProofToJson,
} from './view.ts';

/** Anything with pino's call shape; tests pass a silent one. */
export interface NodeLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
  debug(details: Record<string, unknown>, message: string): void;
}

export interface NodeOptions {
  genesis: Genesis;
  /**
   * This validator's index in `genesis.validators`; for a validator that is not in genesis
   * (`join`), `genesis.validators.length`: its own peer id, after the genesis validators.
   */
  index: number;
  /**
   * A validator that is not in genesis and joins when governance adds it at an epoch boundary
   * (issue 11): the price keyset its operator trusts, from which the keyset it joins must be
   * reached by handover certificates (src/node/price-join.ts). Until a change adds it, every
   * validator's transport refuses it, and it follows the chain without voting.
   */
  join?: { trustedKeyset: Keyset } | undefined;
  /** The validator's 32-byte Ed25519 seed (from its keystore). */
  secretKey: Uint8Array;
  dataDirectory: string;
  p2pListen: { host: string; port: number };
  /** Undefined: no HTTP API. */
  apiListen?: { host: string; port: number } | undefined;
  /** Overrides of genesis p2p addresses by validator index. */
  peers?: ReadonlyMap<number, { host: string; port: number }>;
  oracleEnabled?: boolean;
  /**
   * The EVM chain's JSON-RPC URL, for a genesis with a `bridge`: this validator follows the vault
   * and reports its deposits on its votes. Undefined: it reports none (it still counts others').
   */
  evmRpcUrl?: string | undefined;
  /** Source ids this validator sees frozen at their first price: a fault drill (config `oracle.stuckSources`). */
  oracleStuckSources?: readonly string[] | undefined;
  logger?: NodeLogger;
  version?: string;
  /** Milliseconds since the Unix epoch for block times; tests may skew it. */
  wallClock?: () => number;
  transportLimits?: Partial<TransportLimits>;
  /** Threads verifying transaction signatures off the event loop (default: cores − 1, 1 to 4; 0 inline). */
  signatureThreads?: number;
  applicationLimits?: Partial<ApplicationLimits>;
  /**
   * A validator this many blocks behind the highest finalized height it knows fetches a peer's
   * snapshot (state sync) instead of executing every block (0: block sync only).
   */
  stateSyncThresholdBlocks?: number;
  /**
   * This validator's share of the genesis eon key (fair ordering, `genesis.fairOrdering`): with
   * both, the node takes encrypted orders and releases its key shares on its votes.
   */
  eonSecretShare?: bigint;
  /**
   * Runs fair ordering's pairings in the block rule (decryption, key checks): default noble;
   * `palisade node` passes mcl-wasm (`createMclBackend`), which gives the same bytes faster.
   */
  pairingBackend?: PairingBackend;
  /** The monitor's thresholds (src/monitor/config.ts), findings kept, and an optional webhook. */
  monitor?: { config?: MonitorConfigOverrides; capacity?: number; webhook?: Omit<WebhookOptions, 'onError'> };
}

/** Default of `NodeOptions.stateSyncThresholdBlocks`: state sync pays off long before this. */
export const DEFAULT_STATE_SYNC_THRESHOLD_BLOCKS = 4096;

export interface NodeAddresses {
  p2p: { host: string; port: number };
  api: string | undefined;
}

export interface PalisadeNode {
  readonly index: number;
  readonly view: NodeView;
  readonly app: NodeApplication;
  readonly consensus: SimplexEngine;
  readonly transport: TlsTransport;
  readonly prices: PriceSigner;
  readonly stateSync: StateSync;
  start(): Promise<NodeAddresses>;
  /** Tells the transport where a peer listens (when ports are only known after binding). */
  setPeerAddress(peer: PeerId, address: { host: string; port: number }): void;
  stop(): Promise<void>;
}

const silentLogger: NodeLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** Points per consensus drop reason: a peer's own fault costs, being slightly behind does not. */
const CONSENSUS_PENALTIES: Readonly<Record<string, number>> = Object.freeze({
  malformed: 10,
  oversized: 10,
  'unknown-type': 5,
  'sender-mismatch': 20,
  'bad-signature': 20,
  'bad-extension': 10,
  'bad-certificate': 20,
  'not-leader': 5,
  'digest-mismatch': 10,
  'invalid-proposal': 5,
  unsolicited: 1,
  // Requests beyond a peer's answer budget: an honest peer stays far below it (request-budget.ts).
  'rate-limited': 2,
});
/**
 * Submissions relayed within this window share a gossip frame. Every millisecond here is latency
 * for a transaction submitted away from the leader; a batch submission is one frame anyway.
 */
const GOSSIP_FLUSH_MS = 1;
/** Queued outbound gossip, at most; beyond it a submission is still admitted, just not relayed. */
const MAX_GOSSIP_QUEUE = 8192;
/** Market steps advanced per poll, so a node far behind the market catches up without stalling. */
const MAX_MARKET_STEPS_PER_POLL = 20_000;
/** How often a validator following the bridge's EVM chain polls it. */
const BRIDGE_POLL_MS = 1000;

/**
 * Builds a validator node; nothing runs until `start()`.
 * @example const node = createNode({ genesis, index: 0, secretKey, dataDirectory: 'data/0', p2pListen: { host: '127.0.0.1', port: 0 } }); await node.start();
 * @throws TypeError when `secretKey` is not the key of validator `index`; EonShareError
 *   EON_SHARE_MISSING for a validator added after genesis on a genesis with `eonKeygen`
 */
export function createNode(options: NodeOptions): PalisadeNode {
  const { genesis, index } = options;
  const logger = options.logger ?? silentLogger;
  const wallClock = options.wallClock ?? Date.now;
  const clock = createRealClock();
  const signer = createEd25519Signer(options.secretKey);
  /** The genesis validators' keys: the block rule's validators and the genesis keyset's members. */
  const keys = genesis.validators.map((v) => v.publicKey);
  const n = keys.length;
  /** Not a genesis validator: added by governance at a boundary (see `join`). */
  const joining = !keys.some((key) => toHex(key) === toHex(signer.publicKey));
  if (joining) {
    if (options.join === undefined)
      throw new TypeError(
        'the secret key is not a genesis validator’s: a validator added later needs `join`',
      );
    if (index !== n)
      throw new TypeError(
        `a validator that is not in genesis takes index ${n} (after the genesis validators)`,
      );
  } else if (keys[index] === undefined || toHex(keys[index]) !== toHex(signer.publicKey))
    throw new TypeError(`the secret key is not the key of validator ${index} in genesis`);
  /** The peer directory at start: the genesis validators, then a joiner's own key. */
  const startKeys = joining ? [...keys, signer.publicKey] : keys;
  const chainId = genesis.chainId;

  const storage: SqliteStorage = openSqliteStorage({ dataDirectory: options.dataDirectory });
  if (tracing) {
    // Each sync's wait (call → on disk), and the commit thread's own time per commit.
    const untraced = storage.sync.bind(storage);
    storage.sync = () => {
      const calledAt = traceNow();
      const before = storage.commitStats();
      return untraced().then(() => {
        const after = storage.commitStats();
        trace('sync', {
          waitedMs: traceNow() - calledAt,
          commits: after.commits - before.commits,
          commitMs: after.totalMs - before.totalMs,
          inline: after.inlineCommits - before.inlineCommits,
        });
      });
    };
  }
  const transport = createTlsTransport({
    selfIndex: index,
    secretKey: options.secretKey,
    validators: [
      ...genesis.validators.map((v, i) => ({
        publicKey: v.publicKey,
        address: options.peers?.get(i) ?? v.p2p,
      })),
      ...(joining ? [{ publicKey: signer.publicKey }] : []),
    ],
    genesisValidators: n,
    listen: options.p2pListen,
    ...(options.transportLimits === undefined ? {} : { limits: options.transportLimits }),
    clock,
    onEvent: (event) => logger.info({ event: event.type, ...event }, 'transport'),
  });

  // ---------------------------------------------------------------- oracle observations

  const oracleEnabled = options.oracleEnabled ?? true;
  const marketSpec = genesis.oracle.market;
  const market = createSimulatedMarket({
    seed: marketSpec.seed,
    startMs: genesis.engine.startTimeMs,
    stepMs: marketSpec.stepMs,
    assets: marketSpec.assets,
    venues: marketSpec.venues,
  });
  const observedAssets = genesis.oracle.assets.map((a) => ({
    assetId: a.assetId,
    symbol: a.symbol,
    decimals: a.decimals,
  }));
  const stuck = new Set(options.oracleStuckSources ?? []);
  const sources = market.sources().map((s) => (stuck.has(s.id) ? stuckSource(s) : s));
  let quotes: readonly Quote[] = [];
  let cancelPoll: (() => void) | undefined;
  const pollMarket = async () => {
    const target = Math.min(wallClock(), market.nowMs + MAX_MARKET_STEPS_PER_POLL * marketSpec.stepMs);
    market.advanceTo(target);
    const all = await Promise.all(
      sources.map((s) => s.quotes({ assets: observedAssets, nowMs: wallClock() })),
    );
    quotes = all.flat();
  };
  const schedulePoll = () => {
    cancelPoll = clock.setTimer(marketSpec.stepMs, () => {
      pollMarket()
        .catch((error) => logger.warn({ error: (error as Error).message }, 'oracle poll failed'))
        .finally(() => {
          if (running) schedulePoll();
        });
    });
  };
  const observe = (height: number): Uint8Array | undefined => {
    // An added validator observes too: the block rule counts the epoch's set (block-rule.ts
    // `epochValidators`) and peers read a vote's signer in its view's set (app `signerKey`).
    if (!oracleEnabled || quotes.length === 0) return undefined;
    const { body } = buildObservation({
      chainId,
      height,
      validator: signer.publicKey,
      nowMs: wallClock(),
      assets: observedAssets,
      quotes,
    });
    if (body.entries.length === 0) return undefined;
    return encodeVoteExtension(signObservation(signer, body));
  };

  // ---------------------------------------------------------------- bridge deposits

  // Every validator applies the genesis bridge's rules; one with an RPC URL also reports.
  const bridge = genesis.bridge;
  let reporter: DepositReporter | undefined;
  let pollDeposits: (() => Promise<unknown>) | undefined;
  let cancelBridgePoll: (() => void) | undefined;
  // Deposit reports count the epoch's validators, an added one's included (deposit-quorum.ts).
  if (bridge !== undefined && options.evmRpcUrl !== undefined) {
    const depositReporter = createDepositReporter({
      signer,
      chainId,
      bridge,
      isCredited: (nonce) => app.engine.depositCredited(nonce),
    });
    reporter = depositReporter;
    const follower = createRpcDepositFollower({
      reader: createEvmReader({ url: options.evmRpcUrl }),
      vault: bridge.vault,
      confirmations: bridge.confirmations,
      fromBlock: BigInt(bridge.fromBlock),
      report: (deposit) => depositReporter.add(deposit),
    });
    pollDeposits = () => follower.poll();
  }
  const scheduleBridgePoll = () => {
    if (pollDeposits === undefined) return;
    const poll = pollDeposits;
    cancelBridgePoll = clock.setTimer(BRIDGE_POLL_MS, () => {
      poll()
        .then(() => {
          if (running) scheduleBridgePoll();
        })
        .catch((error: Error) => {
          // A reorg beyond the confirmation depth halts the follower for good (deposits.ts); an
          // RPC failure is retried at the next poll.
          const halted = error.name === 'DepositError';
          logger.warn({ error: error.message, halted }, 'EVM deposit poll failed');
          if (running && !halted) scheduleBridgePoll();
        });
    });
  };

  // ---------------------------------------------------------------- application and consensus

  // The consensus engine's validator sets by epoch (it adds later epochs to this same schedule):
  // a vote's signer index names a member of its view's set, which the application needs to tell
  // whose observation or deposit report a vote carries.
  const schedule = createValidatorSchedule({ epoch: 1, firstView: 1, validators: createValidatorSet(keys) });
  // With validator epochs the eon follows them (src/node/eon-epochs.ts): a fresh eon per window,
  // recorded on chain, so a validator added later is a keyper from its first window on.
  const eonEpochBlocks =
    genesis.eonKeygen !== undefined && genesis.dkg.epochBlocks > 0 ? genesis.dkg.epochBlocks : undefined;
  // Without them, a validator added later took no part in the genesis eon DKG and holds no eon
  // share: without the keyset it would run blocks with envelopes under other rules and fork, so it
  // does not start.
  if (joining && genesis.eonKeygen !== undefined && eonEpochBlocks === undefined)
    throw new EonShareError(
      'EON_SHARE_MISSING',
      'a validator added after genesis holds no share of the eon keyset the genesis validators made',
    );
  const eonKeygen = genesis.eonKeygen;
  const app = createNodeApplication({
    chainId,
    validators: keys,
    signerKey: (view, signer) => schedule.at(view)?.validators.publicKeys[signer],
    self: index,
    engineGenesis: genesis.engine,
    assets: genesis.oracle.assets,
    storage,
    wallClock,
    monotonicClock: () => clock.now(),
    clock,
    observe,
    ...(bridge === undefined ? {} : { bridge }),
    ...(reporter === undefined
      ? {}
      : { reportDeposits: (height: number, maxBytes: number) => reporter.report(height, maxBytes) }),
    ...(options.applicationLimits === undefined ? {} : { limits: options.applicationLimits }),
    ...(genesis.fairOrdering === undefined || options.eonSecretShare === undefined
      ? {}
      : {
          fairOrdering: {
            rules: genesis.fairOrdering,
            secretShare: options.eonSecretShare,
            signer,
            ...(options.pairingBackend === undefined ? {} : { pairingBackend: options.pairingBackend }),
          },
        }),
    ...(eonKeygen === undefined
      ? {}
      : eonEpochBlocks !== undefined
        ? {
            // Fair ordering from the first block; each window's eon applies once a block records it.
            fairOrdering: {
              rules: {
                eon: eonKeygen.eon,
                eonEpochBlocks,
                ...(eonKeygen.encryptedOnlySeries === undefined
                  ? {}
                  : { encryptedOnlySeries: eonKeygen.encryptedOnlySeries }),
              },
              signer,
              publicKey: signer.publicKey,
              ...(options.pairingBackend === undefined ? {} : { pairingBackend: options.pairingBackend }),
            },
          }
        : {
            pendingFairOrdering:
              eonKeygen.encryptedOnlySeries === undefined
                ? {}
                : { encryptedOnlySeries: eonKeygen.encryptedOnlySeries },
          }),
  });

  let consensusHandler: ((from: PeerId, message: Uint8Array) => void) | undefined;
  if (tracing) {
    setTraceLabel(`v${index}`);
    traceEventLoop();
  }
  const consensusNetwork: Network = {
    send: (to, message) => {
      if (tracing) traceConsensus('out', message, to);
      transport.send(to, message);
    },
    broadcast: (message) => {
      if (tracing) traceConsensus('out', message);
      transport.broadcast(message);
    },
    onMessage: (handler) => {
      consensusHandler = handler;
    },
  };
  let inflight: Promise<void> = Promise.resolve();
  const consensus = createConsensus({
    chainId,
    // The start of the engine's peer directory, as the transport's; epoch 1 is the genesis set.
    validators: createValidatorSet(startKeys),
    schedule,
    self: index,
    signer,
    clock,
    network: consensusNetwork,
    storage,
    // Finalized blocks are kept once, in the node's finalized_blocks table.
    blocks: storage,
    timeouts: genesis.consensus,
    // app.finalized syncs this storage before processedHeight moves (one fsync per block).
    applicationSyncsStorage: true,
    stateSyncThresholdBlocks: options.stateSyncThresholdBlocks ?? DEFAULT_STATE_SYNC_THRESHOLD_BLOCKS,
    application: {
      propose: (context) => {
        if (!tracing) return app.propose(context);
        trace('propose-start', { view: context.view, height: context.height });
        return app.propose(context).then((payload) => {
          trace('propose-done', { view: context.view, height: context.height, bytes: payload?.length ?? -1 });
          return payload;
        });
      },
      verify: (context, payload) => app.verify(context, payload),
      finalized: (block) => {
        if (tracing) trace('finalized', { view: block.block.view, height: block.block.height });
        const done = verifyAhead(block.block).then(() => app.finalized(block));
        inflight = done.catch(() => {});
        return done;
      },
      processedHeight: () => app.processedHeight(),
      finalizedAhead: (block) => app.finalizedAhead(block),
      extension: (kind, view, digest) => app.extension(kind, view, digest),
      wantsLateExtension: (extension) => app.wantsLateExtension(extension),
      verifyExtension: (signerIndex, kind, view, digest, extension) =>
        app.verifyExtension(signerIndex, kind, view, digest, extension),
    },
  });

  const certificateHistory = createCertificateHistory(
    storage,
    (assetId) => genesis.oracle.assets.find((asset) => asset.assetId === assetId)?.symbol ?? '',
  );
  const prices = createPriceSigner({
    chainId,
    self: index,
    validators: keys,
    directory: { peerOf: (key) => transport.peerOf(key), keyOf: (peer) => transport.keyOf(peer) },
    ...(options.join === undefined ? {} : { trustedKeyset: options.join.trustedKeyset }),
    signer,
    secretKey: options.secretKey,
    keyStore: createFilePriceKeyStore(options.dataDirectory),
    // Read at start, after the finalized blocks are replayed: a chain past genesis has a keyset.
    expectKeyset: () => app.engine.height > 0,
    epoch: genesis.dkg.epoch,
    threshold: genesis.dkg.threshold,
    epochBlocks: genesis.dkg.epochBlocks,
    dkgDealMs: genesis.dkg.dealMs,
    dkgComplaintMs: genesis.dkg.complaintMs,
    everyBlocks: genesis.priceCertificates.everyBlocks,
    domain: {
      chainId: genesis.priceCertificates.chainId,
      verifyingContract: genesis.priceCertificates.verifyingContract,
    },
    assets: genesis.oracle.assets,
    clock,
    send: (to, message) => transport.send(to, message),
    broadcast: (message) => transport.broadcast(message),
    log: (level, message, details) => logger[level](details ?? {}, message),
    onCertificate: (entry) => certificateHistory.record(entry),
  });

  // The eon keyset's DKG (genesis `eonKeygen` without validator epochs): consensus waits for its
  // agreement (see `start`). With epochs, every window's DKG is src/node/eon-epochs.ts's and the
  // chain never waits for one.
  let eonAgreed = eonKeygen === undefined || eonEpochBlocks !== undefined;
  let startConsensus: (() => void) | undefined;
  const eonStore = {
    read: () =>
      eonKeygen === undefined ? undefined : readEonShareText(options.dataDirectory, eonKeygen.eon),
    write: (text: string) => {
      if (eonKeygen !== undefined) writeEonShareDurably(options.dataDirectory, text, eonKeygen.eon);
    },
  };
  const eonEpochs =
    eonKeygen === undefined || eonEpochBlocks === undefined
      ? undefined
      : createEonEpochs({
          chainId,
          genesisEon: eonKeygen.eon,
          epochBlocks: eonEpochBlocks,
          publicKey: signer.publicKey,
          signer,
          secretKey: options.secretKey,
          clock,
          store: (eon) => ({
            read: () => readEonShareText(options.dataDirectory, eon),
            write: (text) => writeEonShareDurably(options.dataDirectory, text, eon),
          }),
          forget: (eon) => removeEonShare(options.dataDirectory, eon),
          peerOf: (key) => transport.peerOf(key),
          send: (to, message) => transport.send(to, message),
          onAgreed: (eon, activation, secretShare) => app.addEon(eon, activation, secretShare),
          dealMs: eonKeygen.dealMs,
          complaintMs: eonKeygen.complaintMs,
          log: (level, message, details) => logger[level](details ?? {}, message),
        });
  const eon: EonKeysetDriver | undefined =
    eonKeygen === undefined || eonEpochs !== undefined
      ? undefined
      : createEonKeysetDriver({
          chainId,
          eon: eonKeygen.eon,
          self: index,
          validators: keys,
          signer,
          secretKey: options.secretKey,
          store: eonStore,
          clock,
          send: (to, message) => transport.send(to, message),
          broadcast: (message) => transport.broadcast(message),
          dealMs: eonKeygen.dealMs,
          complaintMs: eonKeygen.complaintMs,
          log: (level, message, details) => logger[level](details ?? {}, message),
          onAgreed: (keyset, secretShare) => {
            app.enableFairOrdering({
              rules: {
                eon: eonKeygen.eon,
                eonPublicKey: keyset.eonPublicKey,
                publicShares: keyset.publicShares,
                ...(eonKeygen.encryptedOnlySeries === undefined
                  ? {}
                  : { encryptedOnlySeries: eonKeygen.encryptedOnlySeries }),
              },
              secretShare,
              signer,
              ...(options.pairingBackend === undefined ? {} : { pairingBackend: options.pairingBackend }),
            });
            eonAgreed = true;
            startConsensus?.();
          },
        });

  // Withdrawals checkpoints (src/node/checkpoint-signing.ts), signed in the verifier's domain.
  const checkpointDomain = {
    chainId: genesis.priceCertificates.chainId,
    verifyingContract: genesis.priceCertificates.verifyingContract,
  };
  const checkpoints =
    genesis.bridge === undefined
      ? undefined
      : createCheckpointSigner({
          domain: checkpointDomain,
          everyBlocks: genesis.bridge.checkpointEveryBlocks,
          prices,
          broadcast: (message) => transport.broadcast(message),
          log: (level, message, details) => logger[level](details ?? {}, message),
          storage,
        });

  const stateSync = createStateSync({
    chainId,
    followedSet: () => {
      const committed = app.engine.validatorSet();
      if (committed === undefined) return { epoch: 1, epochBlocks: 0, keys };
      const members = committed.members.map((member) => fromHex(member.publicKey)!);
      return { epoch: committed.epoch, epochBlocks: committed.epochBlocks, keys: members };
    },
    boundaryProof: (height) => boundaryProofOf(app, validatorSetProofs, height),
    peers: n,
    self: index,
    app,
    storage,
    consensus,
    send: (to, message) => transport.send(to, message),
    clock,
    thresholdBlocks: options.stateSyncThresholdBlocks ?? DEFAULT_STATE_SYNC_THRESHOLD_BLOCKS,
    // A block waiting for its batch key may wait for blocks that a state sync replaces.
    idle: () => (app.awaitingBatchKey() ? Promise.resolve() : inflight),
    log: (level, message, details) => logger[level](details, message),
  });

  // ---------------------------------------------------------------- transaction gossip

  let gossipQueue: Uint8Array[] = [];
  /** Traced ids waiting in `gossipQueue` (tracing only). */
  const gossipTraced: string[] = [];
  let cancelGossip: (() => void) | undefined;
  const flushGossip = () => {
    cancelGossip = undefined;
    while (gossipQueue.length > 0) {
      const batch = gossipQueue.slice(0, MAX_GOSSIP_TRANSACTIONS);
      gossipQueue = gossipQueue.slice(batch.length);
      transport.broadcast(TransactionGossipCodec.encode({ transactions: batch }));
      if (tracing) trace('gossip-out', { transactions: batch.length, ids: gossipTraced.splice(0) });
    }
  };
  const relay = (bytes: Uint8Array, id?: string) => {
    if (n < 2 || gossipQueue.length >= MAX_GOSSIP_QUEUE) return;
    gossipQueue.push(bytes);
    if (tracing && id !== undefined && tracedTransaction(id)) gossipTraced.push(id);
    // Batching for a few milliseconds turns a burst of submissions into one frame per peer.
    if (cancelGossip === undefined) cancelGossip = clock.setTimer(GOSSIP_FLUSH_MS, flushGossip);
  };
  const admitContext = () => ({ height: app.engine.height + 1, nowMs: clock.now() });
  const admit = (bytes: Uint8Array) => app.mempool.admit(bytes, admitContext());
  const signatures = createSignaturePool({ threads: options.signatureThreads ?? defaultSignatureThreads() });
  /**
   * Admits `list` in order, its signatures verified on the signature pool first: what the mempool
   * would refuse anyway is refused without a verification, the rest is verified in parallel off
   * the event loop and recorded, so `admit` (which checks everything again) answers from the record.
   */
  const admitMany = async (list: readonly Uint8Array[]) => {
    const early = list.map((bytes) => app.mempool.precheck(bytes, admitContext()));
    const candidates = list.filter((_, index) => early[index] === undefined);
    const verdicts = await signatures.verify(candidates);
    candidates.forEach((bytes, index) => {
      if (verdicts[index] === true) app.recordVerified(bytes);
    });
    return list.map((bytes, index) => early[index] ?? admit(bytes));
  };

  /**
   * A finalized block's transactions this validator never admitted (it fell behind, or the block
   * outran their gossip) are verified on the signature pool and recorded before the block
   * executes; the engine then answers from the record instead of verifying each on the event loop
   * (a lagging validator spent half its event loop there at saturation). Only true verdicts are
   * recorded, so execution's verdicts are unchanged; should the pool fail, execution verifies.
   */
  const verifyAhead = async (block: Block): Promise<void> => {
    const missing = app.unverifiedTransactions(block);
    if (tracing) trace('verify-ahead', { height: block.height, missing: missing.length });
    if (missing.length === 0) return;
    try {
      const verdicts = await signatures.verify(missing);
      missing.forEach((bytes, index) => {
        if (verdicts[index] === true) app.recordVerified(bytes);
      });
    } catch (error) {
      logger.warn({ error: (error as Error).message }, 'signature pool failed; execution verifies');
    }
  };

  const onGossip = (from: PeerId, message: Uint8Array) => {
    const gossip = TransactionGossipCodec.decode(message);
    const receivedAt = tracing ? traceNow() : 0;
    void admitMany(gossip.transactions).then((results) => {
      if (tracing) traceAdmitted('gossip-admitted', receivedAt, results, from);
      // A transaction we already hold or that is already final is refused quietly; only junk
      // (undecodable or badly signed) is the sender's fault.
      const junk = results.some(
        (result) =>
          result.status === 'refused' && (result.code === 'MALFORMED' || result.code === 'BAD_SIGNATURE'),
      );
      if (junk && running) transport.penalize(from, 'bad-gossip', 2);
    });
  };

  /**
   * Envelopes a peer admitted from its clients (fair ordering). Each goes into our envelope pool as
   * a client's would; one we already hold or that is already stale is refused quietly, and only
   * junk (undecodable, badly signed, a ciphertext the envelope does not sign) is the sender's fault.
   * Not relayed further: the validator that admitted it sent it to every validator.
   */
  const onEnvelopeGossip = (from: PeerId, message: Uint8Array) => {
    const gossip = EnvelopeGossipCodec.decode(message);
    let junk = false;
    for (const bytes of gossip.envelopes) {
      const admission = app.submitEnvelope(bytes);
      if (
        !admission.ok &&
        (admission.code === 'MALFORMED' ||
          admission.code === 'BAD_SIGNATURE' ||
          admission.code === 'CIPHERTEXT_MISMATCH' ||
          admission.code === 'MALFORMED_CIPHERTEXT')
      )
        junk = true;
    }
    if (junk && running) transport.penalize(from, 'bad-gossip', 2);
  };

  /** Tracing: the traced transactions among `results` that were admitted, with when they arrived. */
  const traceAdmitted = (
    event: string,
    receivedAt: number,
    results: readonly { status: string; id?: string }[],
    from?: PeerId,
  ) => {
    const ids = tracedIds(results.flatMap((result) => (result.status === 'accepted' ? [result.id!] : [])));
    trace(event, { receivedAt, batch: results.length, ids, ...(from === undefined ? {} : { from }) });
  };
  /** Tracing: a consensus message sent (`to` undefined: broadcast) or received. */
  const traceConsensus = (direction: 'out' | 'in', message: Uint8Array, peer?: PeerId) => {
    try {
      const tag = peekTag(message);
      const where = peer === undefined ? {} : { peer };
      if (tag === VoteCodec.tag) {
        const vote = VoteCodec.decode(message);
        trace(`vote-${direction}`, { kind: vote.kind, view: vote.view, signer: vote.signer, ...where });
      } else if (tag === ProposalCodec.tag) {
        const { block } = ProposalCodec.decode(message);
        trace(`proposal-${direction}`, { view: block.view, height: block.height, ...where });
      } else if (tag === CertificateCodec.tag) {
        const certificate = CertificateCodec.decode(message);
        trace(`certificate-${direction}`, { kind: certificate.kind, view: certificate.view, ...where });
      }
    } catch {
      // Not ours to judge here: the engine refuses what does not decode.
    }
  };

  const onStateSync = (from: PeerId, message: Uint8Array) => {
    if (stateSync.receive(from, message) === 'reject') transport.penalize(from, 'bad-state-sync', 10);
  };

  transport.onMessage((from, message) => {
    let tag: number;
    try {
      tag = peekTag(message);
    } catch {
      transport.penalize(from, 'malformed');
      return;
    }
    const range = tag >> 8;
    try {
      if (range === 0x02) {
        if (tracing) traceConsensus('in', message, from);
        consensusHandler?.(from, message);
      } else if (tag === CheckpointCertificateCodec.tag) checkpoints?.receive(from, message);
      else if (range === 0x04 || tag === 0x0503 || tag === 0x0504) prices.receive(from, message);
      else if (tag === SealedEonKeygenCodec.tag) {
        // A session of a window we have not reached yet is dropped; its keyper re-sends.
        if (eonEpochs !== undefined) eonEpochs.receive(from, message);
        else if (eon === undefined) transport.penalize(from, 'unknown-type', 5);
        else eon.receive(from, message);
      } else if (tag === TransactionGossipCodec.tag) onGossip(from, message);
      else if (tag === EnvelopeGossipCodec.tag) onEnvelopeGossip(from, message);
      else if (tag === SignedKeyShareCodec.tag) {
        // A peer's key shares for a batch it executed (fair ordering), sent the moment it could.
        if (!app.receiveKeyShares(message)) transport.penalize(from, 'bad-key-shares', 2);
      } else if (tag >= 0x0505 && tag <= 0x0508) onStateSync(from, message);
      else transport.penalize(from, 'unknown-type', 5);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      transport.penalize(from, 'malformed');
    }
  });

  // ---------------------------------------------------------------- events and view

  const subscribers = new Set<(event: NodeEvent) => void>();
  const publish = (event: NodeEvent) => {
    for (const listener of subscribers) {
      try {
        listener(event);
      } catch (error) {
        logger.warn({ error: (error as Error).message }, 'subscriber threw');
      }
    }
  };
  // The monitor (src/monitor): findings go to the stream, the log (High and above) and the webhook.
  const monitor = createMonitor({
    ...(options.monitor?.config === undefined ? {} : { config: options.monitor.config }),
    ...(options.monitor?.capacity === undefined ? {} : { capacity: options.monitor.capacity }),
    onError: (detector, error) =>
      logger.error({ detector, error: (error as Error).message }, 'detector failed'),
  });
  const webhookOptions = options.monitor?.webhook;
  const webhook =
    webhookOptions === undefined
      ? undefined
      : createWebhookSender({
          ...webhookOptions,
          onError: (error) => logger.warn(error, 'webhook delivery failed'),
        });
  monitor.subscribe((findings) => {
    publish({ topic: 'findings', findings: [...findings] });
    webhook?.enqueue(findings);
    for (const finding of findings)
      if (severityRank(finding.severity) >= severityRank('High')) logger.warn({ finding }, finding.name);
  });
  const assetById = new Map(genesis.oracle.assets.map((a) => [a.assetId, a]));
  const certificateEntry = (entry: LatestCertificate) =>
    priceCertificateEntryOf({ ...entry, symbol: assetById.get(entry.assetId)?.symbol ?? entry.symbol });
  const symbolOfUnderlying = new Map(genesis.engine.underlyings.map((u) => [u.underlyingId, u.symbol]));

  const priceList = (): PriceJson[] => {
    const latest = app.priceBook.latest();
    return genesis.oracle.assets.flatMap((asset) => {
      const price = latest.get(asset.assetId);
      if (price === undefined) return [];
      return [
        {
          assetId: asset.assetId,
          symbol: asset.symbol,
          price: price.priceTicks.toString(),
          confidence: price.confidenceTicks.toString(),
          exponent: -asset.decimals,
          publishTimeMs: price.publishTimeMs,
          stale: (price.flags & AggregateFlag.STALE) !== 0,
          height: price.height,
        },
      ];
    });
  };

  // The audit log's entries (src/node/audit-trail.ts): every applied block, replays included; when
  // the trail no longer ends at the engine's committed head (a restored snapshot), it starts afresh there.
  const engineAuditHead = () => {
    const head = app.engine.auditHead();
    return { sequence: head.sequence, hash: fromHex(head.hash.slice(2))! };
  };
  const auditTrail = createAuditTrail(genesis.chainId, engineAuditHead());
  app.onApplied((applied) => {
    auditTrail.append(applied.result.events, applied.summary.height, applied.summary.timeMs);
    if (auditTrail.head().hash !== app.engine.auditHead().hash) auditTrail.reset(engineAuditHead());
  });
  // Account tree checkpoints for margin proofs (src/node/privacy.ts), replayed blocks included.
  const fairPartsNow = () => nodeStateRootFairParts(app.pendingBatches(), app.recordedEons());
  const privacy = createPrivacyCheckpoints(
    () => app.engine,
    () => app.priceBook.latest().values(),
    fairPartsNow,
  );
  app.onApplied(() => privacy.record());
  // Validator-set boundary proofs for light clients (src/node/validator-set-proofs.ts), persisted;
  // genesis first, for the boundaries at or below the state-root lag.
  // With fair ordering the committed root also hashes the pending batches and the recorded eons;
  // a proof is recorded only when its opening is our own committed root (never a wrong one).
  const validatorSetProofs = createValidatorSetProofs(
    storage,
    () => app.engine,
    () => app.priceBook.latest().values(),
    {
      fairParts: fairPartsNow,
      committedRoot: (height) => app.stateRootAt(height),
    },
  );
  if (app.engine.height === 0) validatorSetProofs.record();
  app.onApplied(() => validatorSetProofs.record());
  // Fair ordering: our key shares for a batch go to every validator once we executed its block.
  app.onKeyShares((statement) => {
    if (running && n >= 2) transport.broadcast(statement);
  });
  // A boundary below a state-sync snapshot is not stored; the state sync kept its proven view.
  const viewOfStoredBlock = (height: number) =>
    storedBlockView(storage.finalizedBlock(height)) ?? provenBoundaryView(storage, height);
  // Validator epochs (src/node/epochs.ts): a boundary block that changed the set schedules the
  // next consensus epoch from the view after it, replayed blocks included.
  // Eon epochs: each executed block may settle the next window's set or record an eon.
  // Not while the stored blocks replay at start: the transport is not up, and start() catches up.
  let eonLive = false;
  app.onApplied((applied) => {
    if (eonLive) eonEpochs?.executed(applied.summary.height, app.engine.validatorSet(), app.recordedEons());
  });
  /** `GET /v1/eon` with eon epochs: the eon of the next height as recorded, and the next one. */
  const eonEpochJson = (): EonKeysetJson => {
    const epochBlocks = eonEpochBlocks!;
    const series = [...(eonKeygen?.encryptedOnlySeries ?? [])];
    const jsonOf = (entry: ScheduledEon): EonKeysetJson => {
      const record = EonActivationCodec.decode(entry.activation);
      return {
        state: 'ready',
        source: 'dkg',
        eon: entry.eon,
        eonPublicKey: hex(entry.keyset.eonPublicKey.toBytes(true)),
        threshold: entry.keyset.threshold,
        publicShares: entry.keyset.publicShares.map((share) => hex(share.toBytes(true))),
        encryptedOnlySeries: series,
        qualified: [...record.qualified],
        commitment: record.commitment.map((point) => hex(point)),
        attestations: record.attestations.map((bytes) => hex(bytes)),
        disqualified: [],
        fromHeight: entry.fromHeight,
        untilHeight: (entry.window + 1) * epochBlocks - 1,
        validators: entry.validators.map((key) => hex(key)),
      };
    };
    const height = app.engine.height + 1;
    const window = eonWindowOf(epochBlocks, height);
    const recorded = app.recordedEons();
    const current = recorded.find((e) => e.window === window && e.fromHeight <= height);
    const following = recorded.find((e) => e !== current && e.window >= window);
    const next = following === undefined ? null : jsonOf(following);
    if (current !== undefined) return { ...jsonOf(current), next };
    return {
      state: 'pending',
      source: 'dkg',
      eon: eonOfWindow(eonKeygen!.eon, window),
      eonPublicKey: null,
      threshold: null,
      publicShares: [],
      encryptedOnlySeries: series,
      qualified: [],
      commitment: [],
      attestations: [],
      disqualified: [],
      next,
    };
  };
  app.onApplied((applied) => {
    // Epochs committed before a restored snapshot first (a replay may cross a later boundary).
    catchUpEpochs(consensus, app.engine.validatorSet(), viewOfStoredBlock);
    const epoch = followValidatorEpoch(consensus, applied.summary.view, app.engine.validatorSet());
    if (epoch !== undefined)
      logger.info({ epoch, height: applied.summary.height }, 'validator epoch scheduled');
  });
  // Deposit status for the API (src/node/deposit-status.ts), from each block's reports after it applied.
  const depositStatus =
    bridge === undefined
      ? undefined
      : createDepositStatus({
          rules: { chainId, validators: keys, bridge },
          isCredited: (nonce) => app.engine.depositCredited(nonce),
        });
  // The set a block's reports count against is its epoch's: the one committed before it applied.
  // (After a snapshot install the set before the first replayed block is the snapshot's.)
  const committedKeys = () => epochValidators({ rules: { validators: keys }, engine: app.engine });
  let depositSet = { height: app.engine.height, keys: committedKeys() };
  app.onApplied((applied) => {
    if (depositStatus === undefined) return;
    const blockSet = depositSet.height + 1 === applied.summary.height ? depositSet.keys : committedKeys();
    depositSet = { height: applied.summary.height, keys: committedKeys() };
    const stored = storage.finalizedBlock(applied.summary.height);
    let reports: readonly Uint8Array[] = [];
    if (stored !== undefined) {
      try {
        reports = decodeBlockPayload(BlockCodec.decode(stored.block).payload)?.deposits ?? [];
      } catch {
        // A stored block decoded before it was applied; unreadable now means no reports to show.
      }
    }
    depositStatus.onBlock(applied.summary.height, reports, blockSet);
  });
  app.onApplied((applied) => {
    const withdrawals = app.engine.withdrawals();
    if (checkpoints === undefined || withdrawals === undefined) return;
    checkpoints.onBlock({
      height: applied.summary.height,
      blockHash: fromHex(applied.summary.hash.slice(2))!,
      stateRoot: fromHex(applied.summary.stateRoot.slice(2))!,
      withdrawals,
      sign: !applied.replay,
    });
  });
  // Blocks and fills reach subscribers once executed, without waiting for our sync (app.ts onExecuted).
  app.onExecuted((executed) => {
    const { summary, result } = executed;
    if (tracing)
      trace('executed', {
        height: summary.height,
        view: summary.view,
        transactions: summary.transactions.length,
        ids: tracedIds(summary.transactions.map((outcome) => outcome.id)),
      });
    publish({
      topic: 'blocks',
      block: summary,
      finalityLatencyMs: executed.finalityLatencyMs,
      proposalHeight: Math.max(consensus.status().proposalHeight, summary.height + 1),
    });
    const fills = fillsOf(result.events, summary.height, summary.timeMs);
    if (fills.length > 0) publish({ topic: 'fills', fills });
  });
  // A set change applied at this boundary: the price keyset is reshared to the new set there
  // (src/node/price-membership.ts), started by the onAggregates of the same block below.
  /**
   * Tells the price signer the latest set change the state commits (idempotent: a change its
   * keyset already reflects, or one it was told, changes nothing); `onlyAt` limits it to a change
   * applied at that height.
   */
  const signerFollowsSetChange = (onlyAt?: number) => {
    const committed = app.engine.validatorSet();
    const entry = committed?.epochs[committed.epochs.length - 1];
    if (entry === undefined || entry.epoch === 1 || (onlyAt !== undefined && entry.sinceHeight !== onlyAt))
      return;
    const keysNow = entry.keys.map((hex) => fromHex(hex)!);
    // The set the state commits, for share repair even without a key (a node restored from a
    // snapshot past the change learns it only here): price-signing.ts "Share repair".
    prices.validatorSet(entry.sinceHeight, keysNow);
    if (onlyAt === undefined && prices.keyset() === undefined) return;
    // The set before the change: a validator the change adds learns the outgoing keyset from it.
    const outgoing = committed?.epochs[committed.epochs.length - 2];
    prices.changeValidators(
      entry.sinceHeight,
      keysNow,
      outgoing?.keys.map((hex) => fromHex(hex)!),
    );
  };
  app.onApplied((applied) => {
    // Keys the change names join the peer directory first: the reshare addresses them by peer.
    syncDirectory();
    signerFollowsSetChange(applied.summary.height);
  });
  app.onApplied((applied) => {
    if (applied.replay) return;
    const { summary, aggregate } = applied;
    prices.onAggregates(summary.height, aggregate.prices, clock.now());
    logger.debug({ height: summary.height, transactions: summary.transactions.length }, 'finalized');
    publish({ topic: 'prices', height: summary.height, prices: priceList() });
  });
  // After the block's reshare started (onAggregates above): who the transport admits now.
  app.onApplied(() => syncMembership());

  // ---------------------------------------------------------------- membership (issue 11)

  /** The committed validator-set record, or undefined (a genesis without epochs). */
  const membershipRecord = () => {
    const bytes = app.engine.stateValue(VALIDATOR_SET_STATE_KEY);
    if (bytes === undefined) return undefined;
    try {
      return ValidatorSetRecordCodec.decode(bytes);
    } catch {
      return undefined;
    }
  };
  const membershipNow = () => {
    const record = membershipRecord();
    return record === undefined
      ? undefined
      : {
          record,
          membership: networkMembership(record, app.engine.height, prices.stats().refreshing !== null),
        };
  };
  const addressOf = (p2p: string | undefined) => {
    if (p2p === undefined) return undefined;
    try {
      return parseHostPort(p2p, 'p2p');
    } catch {
      return undefined;
    }
  };
  /** Every key of the kept epochs and the pending change joins the transport's directory. */
  const syncDirectory = () => {
    const now = membershipNow();
    if (now === undefined) return undefined;
    for (const peer of now.membership.peers) transport.addPeer(peer.publicKey, addressOf(peer.p2p));
    return now;
  };
  let admittedNow = '';
  const selfHex = toHex(signer.publicKey);
  /**
   * The transport admits the current and next epoch's validators (price-membership.ts
   * `networkMembership`); a joiner whose chain already holds the change that added it (a restart,
   * a restored snapshot) starts joining from the record.
   */
  const syncMembership = () => {
    const now = syncDirectory();
    if (now === undefined) return;
    const admitted = now.membership.admitted
      .map((key) => transport.peerOf(key))
      .filter((peer): peer is number => peer !== undefined && peer !== index)
      .sort((a, b) => a - b);
    const summary = admitted.join(',');
    if (summary !== admittedNow) {
      admittedNow = summary;
      transport.setAdmitted(admitted);
      logger.info(
        { admitted, height: app.engine.height },
        'transport admits the current and next validators',
      );
    }
    if (!joining || prices.stats().join !== 'waiting') return;
    const epochs = now.record.epochs;
    const holdsUs = (entry: (typeof epochs)[number]) => entry.keys.some((key) => toHex(key) === selfHex);
    for (let i = epochs.length - 1; i >= 1; i--)
      if (holdsUs(epochs[i]!) && !holdsUs(epochs[i - 1]!)) {
        prices.changeValidators(epochs[i]!.sinceHeight, epochs[i]!.keys, epochs[i - 1]!.keys);
        break;
      }
  };

  const dropsByReason = (): Record<string, number> => {
    const out: Record<string, number> = { ...transport.status().drops };
    for (const reasons of Object.values(consensus.dropCounters())) {
      for (const [reason, count] of Object.entries(reasons)) out[reason] = (out[reason] ?? 0) + (count ?? 0);
    }
    return out;
  };

  const view: NodeView = {
    status() {
      const tip = app.tip();
      const consensusStatus = consensus.status();
      const peers = transport.status().peers;
      const mempoolStats = app.mempool.stats();
      return {
        chainId,
        nodeIndex: index,
        version: options.version ?? '0.0.0',
        height: tip.height,
        finalizedHash: hex(tip.digest),
        finalizedView: tip.view,
        view: Math.max(consensusStatus.view, tip.view),
        proposalHeight: Math.max(consensusStatus.proposalHeight, tip.height + 1),
        proposalLeader:
          consensusStatus.proposalLeader === undefined ? null : hex(consensusStatus.proposalLeader),
        timeMs: tip.timeMs,
        stateRoot: hex(app.engine.stateRoot()),
        validators: currentValidatorStatus({
          genesisKeys: keys,
          committed: app.engine.validatorSet(),
          self: index,
          peerOf: (key) => transport.peerOf(key),
          peers,
        }).map((entry) => ({ ...entry, publicKey: hex(entry.publicKey) })),
        mempool: { transactions: mempoolStats.transactions, bytes: mempoolStats.bytes },
        sync: {
          targetHeight: Math.max(consensus.syncStatus().targetHeight, tip.height),
          blockSyncing: consensus.syncStatus().rangeSyncing,
          stateSyncs: stateSync.status().installed,
          stateSyncHeight: stateSync.status().lastHeight,
        },
      };
    },
    // Admitted into our envelope pool and sent to every validator, so whoever leads its target
    // height holds it.
    submitEnvelope(bytes) {
      const admission = app.submitEnvelope(bytes);
      if (admission.ok && n >= 2)
        transport.broadcast(EnvelopeGossipCodec.encode({ envelopes: [bytes.slice()] }));
      return envelopeSubmitResult(admission, bytes);
    },
    async submitTransaction(bytes) {
      const [answer] = await view.submitTransactions!([bytes]);
      return answer!;
    },
    async submitTransactions(list) {
      const receivedAt = tracing ? traceNow() : 0;
      const results = await admitMany(list);
      if (tracing) traceAdmitted('http-admitted', receivedAt, results);
      return results.map((result, index) => {
        if (result.status === 'refused')
          return { status: 'refused', code: result.code, reason: result.reason };
        relay(list[index]!.slice(), result.id);
        return { status: 'accepted', id: `0x${result.id}` };
      });
    },
    transaction(id) {
      const bare = id.startsWith('0x') ? id.slice(2) : id;
      const location = app.transactionLocation(bare);
      if (location !== undefined)
        return { id: `0x${bare}`, status: 'finalized', height: location.height, outcome: location.outcome };
      if (app.mempool.has(bare)) return { id: `0x${bare}`, status: 'pending' };
      return undefined;
    },
    block(height) {
      // Served only with a proof the shipped client verifies (app.ts, finality proofs).
      const proof = app.finalityProof(height);
      const summary = app.summary(height);
      if (proof === undefined || summary === undefined) return undefined;
      return blockDetailOf(summary, proof);
    },
    blocks(from, limit) {
      const out = [];
      const top = app.engine.height;
      for (let height = Math.max(1, from); height < from + limit && height <= top; height++) {
        const summary = app.summary(height);
        if (summary !== undefined) out.push(summary);
      }
      return out;
    },
    account(publicKey, { proof }) {
      const account = app.engine.account(publicKey);
      if (!proof) return account === undefined ? undefined : { account: accountToJson(account) };
      const key = accountStateKey(publicKey);
      const value = app.engine.stateValue(key);
      return {
        account: account === undefined ? null : accountToJson(account),
        proof: {
          height: app.engine.height,
          stateRoot: hex(app.engine.stateRoot()),
          key: hex(key),
          value: value === undefined ? null : hex(value),
          proof: stateProofToJson(app.engine.prove(key)),
        },
      };
    },
    markets: () =>
      app.engine
        .series()
        .map((series) => marketToJson(series, symbolOfUnderlying.get(series.underlyingId) ?? '')),
    book(seriesId, depth) {
      const book = app.engine.book(seriesId, depth);
      return book === undefined ? undefined : bookToJson(seriesId, app.engine.height, book);
    },
    prices: priceList,
    keyset() {
      const keyset = prices.keyset();
      return keyset === undefined
        ? undefined
        : {
            epoch: keyset.epoch,
            groupPublicKey: hex(keyset.groupPublicKey),
            threshold: keyset.threshold,
            participants: keyset.participants,
          };
    },
    priceCertificates: () => prices.latest().map(certificateEntry),
    priceCertificatesAt: (query) =>
      genesis.oracle.assets
        .map((asset) => certificateHistory.at(asset.assetId, query))
        .filter((entry) => entry !== undefined)
        .sort((a, b) => a.assetId - b.assetId)
        .map(certificateEntry),
    eonKeyset(): EonKeysetJson {
      if (eonEpochBlocks !== undefined) return eonEpochJson();
      const rules = app.fairOrderingRules();
      const status = eon?.status();
      const series = rules?.encryptedOnlySeries ?? eonKeygen?.encryptedOnlySeries ?? [];
      return {
        state: rules !== undefined ? 'ready' : eonKeygen !== undefined ? 'pending' : 'disabled',
        source: eonKeygen !== undefined ? 'dkg' : rules !== undefined ? 'genesis' : null,
        eon: rules?.eon ?? eonKeygen?.eon ?? null,
        eonPublicKey:
          rules?.eonEpochBlocks !== undefined || rules === undefined
            ? null
            : hex(rules.eonPublicKey.toBytes(true)),
        threshold: rules === undefined ? null : 2 * Math.floor((n - 1) / 3) + 1,
        publicShares:
          rules?.eonEpochBlocks !== undefined || rules === undefined
            ? []
            : rules.publicShares.map((share) => hex(share.toBytes(true))),
        encryptedOnlySeries: [...series],
        qualified: status?.keyset === undefined ? [] : [...status.keyset.qualified],
        commitment: (status?.commitment ?? []).map((point) => hex(point)),
        attestations: (status?.attestations ?? []).map((bytes) => hex(bytes)),
        disqualified: status?.disqualified ?? [],
      };
    },
    keyLifecycle() {
      const keyset = prices.keyset();
      const stats = prices.stats();
      const height = app.engine.height;
      return {
        height,
        epochBlocks: genesis.dkg.epochBlocks,
        epoch: keyset?.epoch ?? null,
        nextRefreshHeight: nextRefreshHeight(height, genesis.dkg.epochBlocks),
        keyset:
          keyset === undefined
            ? null
            : {
                epoch: keyset.epoch,
                groupPublicKey: hex(keyset.groupPublicKey),
                threshold: keyset.threshold,
                participants: keyset.participants,
              },
        // The keyset's members (the validator set it was last dealt to), by member index.
        signers: (prices.members() ?? []).map((publicKey, signerIndex) => ({
          index: signerIndex,
          publicKey: hex(publicKey),
        })),
        keygen: stats.dkg,
        disqualified: stats.dkgDisqualified,
        refreshDisqualified: stats.refreshDisqualified,
        refreshes: stats.refreshes,
        refreshing: stats.refreshing,
        repair: {
          state: stats.repair.state,
          epoch: stats.repair.epoch,
          repaired: stats.repair.repaired,
          code: stats.repair.code,
          culprits: stats.repair.culprits,
        },
        certificates: stats.certificates,
        lastAssembled: stats.lastAssembled,
        suspectedSigners: stats.suspectedSigners,
        handovers: prices.handovers().map((handover) => ({
          fromEpoch: handover.fromEpoch,
          toEpoch: handover.toEpoch,
          groupPublicKey: hex(handover.groupPublicKey),
          signature: hex(handover.signature),
          encoded: hex(handover.encoded),
        })),
      };
    },
    evidence: () =>
      consensus.evidence().map((evidence): EvidenceEntry => {
        const kinds = [evidence.first.kind, evidence.second.kind];
        const kind =
          kinds[0] === 0 && kinds[1] === 0
            ? 'notarize-conflict'
            : kinds[0] === 2 && kinds[1] === 2
              ? 'finalize-conflict'
              : 'nullify-and-finalize';
        return {
          validator: evidence.first.signer,
          kind,
          view: evidence.first.view,
          evidence: evidenceToJson(evidence),
        };
      }),
    metrics() {
      const mempoolStats = app.mempool.stats();
      return {
        peersConnected: transport.status().peers.filter((p) => p.peer !== index && p.connected).length,
        mempoolTransactions: mempoolStats.transactions,
        mempoolBytes: mempoolStats.bytes,
        messagesDropped: dropsByReason(),
        transactionsRefused: { ...mempoolStats.refused },
        orderFlow: (() => {
          const flow = app.stats().orderFlow;
          return {
            encrypted: flow.encryptedExecuted,
            plain: flow.plainExecuted,
            envelopesAdmitted: flow.envelopesAdmitted,
            envelopesDecrypted: flow.envelopesDecrypted,
            envelopesUndecryptable: flow.envelopesUndecryptable,
            envelopesPooled: app.pooledEnvelopes(),
          };
        })(),
      };
    },
    auditLog: (query) =>
      auditLogRead(app.engine, auditTrail, query, app.priceBook.latest().values(), fairPartsNow()),
    findings: (query) => monitor.findings(query),
    findingCounts: () => monitor.counts(),
    privacyCheckpoint: (height) => privacy.checkpoint(height),
    validatorSetProof: (height) => validatorSetProofs.proof(height),
    checkpoint(height) {
      const record = height === 'latest' ? checkpoints?.latest() : checkpoints?.byHeight(height);
      return record?.certificate === undefined ? undefined : checkpointJson(record, checkpointDomain);
    },
    withdrawalProof(id) {
      const proof = checkpoints?.proof(id);
      return proof?.record.certificate === undefined
        ? undefined
        : withdrawalProofJson(proof, checkpointDomain);
    },
    deposits: (query) => depositStatus?.list(query) ?? [],
    deposit: (nonce) => depositStatus?.get(nonce),
    privacyWitness: (publicKey) => privacy.witness(publicKey),
    subscribe(listener) {
      subscribers.add(listener);
      return () => {
        subscribers.delete(listener);
      };
    },
  };

  const monitorFeed = createMonitorFeed({
    monitor,
    app,
    consensus,
    transport,
    evidence: view.evidence,
    quotes: () => quotes,
    assets: genesis.oracle.assets,
    keygens: () =>
      keygenSessionsOf(prices.keygenSessions(), [
        ...(eonEpochs?.sessions() ?? []),
        ...[eon?.session()].filter((run) => run !== undefined),
      ]),
    clock,
    wallClock,
    log: (message, details) => logger.warn(details, message),
  });

  // ---------------------------------------------------------------- lifecycle

  let running = false;
  let api: RunningApiServer | undefined;
  let cancelMembership: (() => void) | undefined;
  /** Once a second: a reshare that ended here lets the validators it removed go. */
  const scheduleMembership = () => {
    cancelMembership = clock.setTimer(1000, () => {
      if (!running) return;
      syncMembership();
      // A snapshot installed by state sync may hold a change no replayed block applies.
      if (n >= 2) signerFollowsSetChange();
      scheduleMembership();
    });
  };
  let cancelPenalties: (() => void) | undefined;
  const penalties = createDropCounterPenalties(transport, CONSENSUS_PENALTIES);
  const chargePenalties = () => {
    penalties.update(consensus.dropCounters());
    cancelPenalties = clock.setTimer(1000, chargePenalties);
  };

  return {
    index,
    view,
    app,
    consensus,
    transport,
    prices,
    stateSync,
    setPeerAddress: (peer, address) => transport.setPeerAddress(peer, address),

    async start() {
      running = true;
      const replayStarted = clock.now();
      // The agreed eon keyset first: the stored blocks replay under its rules. A file that fails
      // its checks stops the start here.
      const eonLoaded = eon?.load() ?? false;
      const opened = app.open();
      catchUpEpochs(consensus, app.engine.validatorSet(), viewOfStoredBlock);
      logger.info(
        {
          height: app.engine.height,
          snapshotHeight: opened.snapshotHeight,
          replayedBlocks: opened.replayedBlocks,
          replayMs: Math.round(clock.now() - replayStarted),
        },
        'restored the latest snapshot and replayed the finalized blocks after it',
      );
      syncMembership();
      // A chain past genesis ran its blocks with the agreed eon key: a new DKG would make another.
      if (eon !== undefined && app.engine.height > 0 && !eonLoaded)
        throw new EonShareError(
          'EON_SHARE_MISSING',
          `the chain is at height ${app.engine.height} and this validator's eon share file is missing`,
        );
      const p2p = await transport.listen();
      transport.start();
      scheduleMembership();
      // Without a sealed keyset: the DKG among the validators, now that the transport runs.
      eon?.start();
      eonLive = true;
      eonEpochs?.executed(app.engine.height, app.engine.validatorSet(), app.recordedEons());
      const consensusReady = new Promise<void>((resolve) => {
        startConsensus = () => {
          startConsensus = undefined;
          if (!running) return resolve();
          consensus
            .start()
            .then(() => {
              if (running) stateSync.start();
            })
            .catch((error: Error) => logger.error({ error: error.message }, 'consensus failed to start'))
            .finally(resolve);
        };
      });
      if (eonAgreed) startConsensus!();
      else logger.info({ eon: eonKeygen?.eon }, 'waiting for the eon keyset before running blocks');
      if (eonAgreed) await consensusReady;
      if (oracleEnabled) {
        await pollMarket();
        schedulePoll();
      }
      scheduleBridgePoll();
      // A DKG needs two participants at least; a single-validator network signs no certificates.
      if (n >= 2) prices.start();
      // The signer loads its key file in start(), after the replay above: a change replayed then
      // (or inside the restored snapshot) reaches it now, so a validator killed in a reshare
      // finishes it (or catches up to it) after the restart. A joiner still waiting is
      // syncMembership's (it needs the change that added it, not the latest).
      if (n >= 2) signerFollowsSetChange();
      chargePenalties();
      monitorFeed.start();
      if (options.apiListen !== undefined) {
        api = await startApiServer({
          view,
          network: networkInfoOf(genesis),
          host: options.apiListen.host,
          port: options.apiListen.port,
        });
      }
      logger.info({ p2p, api: api?.url, index }, 'node started');
      return { p2p, api: api?.url };
    },

    async stop() {
      if (!running) return;
      running = false;
      // The API closes first, so that nothing is accepted after this point, and every
      // transaction it did accept is relayed before the transport closes: a 202 must not be
      // lost with this process (the mempool is not persisted; peers hold it from here).
      if (api !== undefined) await api.close();
      startConsensus = undefined;
      consensus.stop();
      stateSync.stop();
      prices.stop();
      eon?.stop();
      eonEpochs?.stop();
      cancelPoll?.();
      cancelBridgePoll?.();
      cancelPenalties?.();
      cancelMembership?.();
      monitorFeed.stop();
      webhook?.close();
      cancelGossip?.();
      flushGossip();
      app.close();
      await inflight;
      await storage.sync();
      storage.close();
      await transport.close();
      await signatures.close();
      logger.info({ index }, 'node stopped');
    },
  };
}
