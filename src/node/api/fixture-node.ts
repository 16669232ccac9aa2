/**
 * A single-process stand-in for a validator, built from the real layers, for testing the API, the
 * client and the dashboard without a network: a real execution engine from the test genesis, a
 * real mempool, real oracle aggregation of Ed25519-signed observations from four validator keys,
 * real finalization certificates signed by a quorum of those keys, real FROST price certificates
 * from a local DKG, and real equivocation evidence. What it does not have is consensus between
 * processes: `finalizeBlock` plays the part of a finalized block arriving. Each block is a real
 * `BlockPayload` (time, transactions, the validators' observations, the committed state root) and
 * is executed by the validators' own block rule (src/chain/block-rule.ts `executeBlock`), so the API
 * tests read the state a validator would reach from the same blocks.
 *
 * Test-only keys (derived from public strings); never for a real network.
 */

import {
  chainStateRoot,
  createChainState,
  executeBlock,
  hasAccount,
  STATE_ROOT_LAG_BLOCKS,
  stateRootHeightFor,
} from '../../chain/block-rule.ts';
import { type Block, BlockCodec, type Evidence, VoteKind } from '../../codec/consensus.ts';
import { BlockPayloadCodec } from '../../codec/node.ts';
import { certificateFromVotes } from '../../consensus/certificate.ts';
import { conflictOf } from '../../consensus/evidence.ts';
import { createValidatorSet, type ValidatorSet } from '../../consensus/validators.ts';
import { blockDigest, genesisDigest, signVote } from '../../consensus/votes.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { runLocalDkg } from '../../crypto/dkg.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { type FrostCommitment, frostCommit, frostSignShare } from '../../crypto/frost.ts';
import { accountStateKey, type Engine } from '../../execution/engine.ts';
import { testGenesis, testSigner } from '../../execution/fixtures.ts';
import {
  assemblePriceCertificate,
  encodePriceCertificate,
  feedIdOf,
  priceReportDigest,
} from '../../interop/price-certificate.ts';
import { createMempool, DEFAULT_MEMPOOL_LIMITS, type Mempool } from '../../mempool/mempool.ts';
import { encodeVoteExtension, signObservation } from '../../oracle/observation.ts';
import { SimStorage } from '../../runtime/sim/storage.ts';
import { DEFAULT_APPLICATION_LIMITS } from '../app.ts';
import { auditLogRead, createAuditTrail } from '../audit-trail.ts';
import { createCertificateHistory } from '../certificate-history.ts';
import { createEnvelopePool } from '../fair-ordering-pool.ts';
import {
  type AccountRead,
  accountToJson,
  type BlockDetail,
  type BlockSummary,
  bookToJson,
  certificateToJson,
  type EvidenceEntry,
  envelopeSubmitResult,
  evidenceToJson,
  fillsOf,
  hex,
  type KeysetJson,
  marketToJson,
  type NodeEvent,
  type NodeMetrics,
  type NodeView,
  outcomeOf,
  type PriceCertificateEntry,
  type PriceJson,
  priceCertificateEntryOf,
  stateProofToJson,
  type TransactionOutcome,
} from '../view.ts';

const VALIDATORS = 4;
const QUORUM = 3;
const ASSET_ID = 1;
const SYMBOL = 'BTC';
/** Oracle ticks are quote base units (6 decimals), the engine's index unit. */
const PRICE_EXPONENT = -6;
const BLOCK_INTERVAL_MS = 1000;
/** Finalized transactions remembered for `/v1/transactions/:id`. */
const MAX_REMEMBERED_TRANSACTIONS = 10_000;

export interface FixtureNode {
  readonly view: NodeView;
  readonly chainId: number;
  readonly engine: Engine;
  readonly mempool: Mempool;
  readonly validators: readonly Ed25519Signer[];
  readonly validatorSet: ValidatorSet;
  readonly traders: readonly Ed25519Signer[];
  readonly keyset: { epoch: number; groupPublicKey: Uint8Array };
  /** Finalizes the next block from the mempool with the oracle at `priceUsdc`; returns it. */
  finalizeBlock(options?: { priceUsdc?: number }): BlockDetail;
  /** Makes validator 3 sign two notarizes for different blocks in one view, and records it. */
  equivocate(): Evidence;
  /** Marks validator `index` as connected or not, as the transport would. */
  setConnected(index: number, connected: boolean): void;
  /** Adds to a dropped-message reason counter, as the transport would. */
  countDrop(reason: string): void;
}

export function createFixtureNode(
  options: {
    traders?: number;
    startPriceUsdc?: number;
    /** Takes encrypted orders for this eon into a real envelope pool (src/node/fair-ordering-pool.ts). */
    fairOrderingEon?: number;
  } = {},
): FixtureNode {
  const traders = Array.from({ length: options.traders ?? 3 }, (_, i) => testSigner(`api-trader-${i}`));
  const genesis = testGenesis({ traders });
  const chainId = genesis.chainId;
  const validators = Array.from({ length: VALIDATORS }, (_, i) => testSigner(`api-validator-${i}`));
  const chain = createChainState({
    chainId,
    validators: validators.map((signer) => signer.publicKey),
    assets: [{ assetId: ASSET_ID, decimals: -PRICE_EXPONENT, underlyingId: ASSET_ID }],
    engineGenesis: genesis,
  });
  const { engine, priceBook } = chain;
  const auditTrail = createAuditTrail(chainId, {
    sequence: engine.auditHead().sequence,
    hash: fromHex(engine.auditHead().hash.slice(2))!,
  });
  const mempool = createMempool({
    ...DEFAULT_MEMPOOL_LIMITS,
    chainId,
    expectedNonce: (account) => engine.nonceOf(account) ?? 0,
    accountExists: (account) => hasAccount(engine, genesis, account),
  });
  const envelopePool =
    options.fairOrderingEon === undefined
      ? undefined
      : createEnvelopePool({
          chainId,
          eon: options.fairOrderingEon,
          aheadMax: DEFAULT_APPLICATION_LIMITS.envelopeAheadBlocks,
          maxEnvelopes: DEFAULT_APPLICATION_LIMITS.maxPooledEnvelopes,
          maxPerSender: DEFAULT_APPLICATION_LIMITS.maxPooledEnvelopesPerSender,
          nextNonce: (sender) => engine.nonceOf(sender) ?? 0,
        });
  const validatorSet = createValidatorSet(validators.map((signer) => signer.publicKey));
  const frostKeys = runLocalDkg({ chainId, epoch: 1, participants: VALIDATORS, threshold: QUORUM });
  const keyset = { epoch: 1, groupPublicKey: frostKeys[0]!.groupPublicKey };
  const priceDomain = { chainId, verifyingContract: new Uint8Array(20).fill(0x11) };
  /** Node state roots of the last heights: each block commits to the one a lag below it. */
  const roots = new Map<number, Uint8Array>([[0, chainStateRoot(chain)]]);

  const blocks = new Map<number, BlockDetail>();
  const outcomes = new Map<string, { height: number; outcome: TransactionOutcome }>();
  const listeners = new Set<(event: NodeEvent) => void>();
  const connected = new Set<number>([1, 2, 3]);
  const drops: Record<string, number> = {};
  const evidence: EvidenceEntry[] = [];
  let certificates: PriceCertificateEntry[] = [];
  // The node's own history module over an in-memory store, so the API tests select as a node does.
  const certificateHistory = createCertificateHistory(new SimStorage(), () => SYMBOL, 1024);
  let prices: PriceJson[] = [];
  let tip = { view: 0, digest: genesisDigest(chainId) };
  let priceUsdc = options.startPriceUsdc ?? 60_000;

  function emit(event: NodeEvent): void {
    for (const listener of listeners) listener(event);
  }

  function observations(height: number, timeMs: number): Uint8Array[] {
    const priceTicks = BigInt(Math.round(priceUsdc * 1e6));
    return validators.map((signer, index) =>
      encodeVoteExtension(
        signObservation(signer, {
          chainId,
          height,
          validator: signer.publicKey,
          timestampMs: timeMs,
          // Each validator sees a slightly different price, as real sources would.
          entries: [
            {
              assetId: ASSET_ID,
              priceTicks: priceTicks + BigInt(index * 5_000_000),
              confidenceTicks: 10_000_000n,
              sourceCount: 3,
              sourceTimeMs: timeMs,
            },
          ],
        }),
      ),
    );
  }

  function certifyPrice(height: number, price: bigint, confidence: bigint, publishTimeMs: number) {
    const report = {
      feedId: feedIdOf(`${SYMBOL}-USD`),
      price,
      confidence,
      exponent: PRICE_EXPONENT,
      publishTime: Math.floor(publishTimeMs / 1000),
      epoch: keyset.epoch,
    };
    const signers = frostKeys.slice(0, QUORUM);
    const digest = priceReportDigest(report, priceDomain);
    const round1 = signers.map((key) => frostCommit(key));
    const commitments: FrostCommitment[] = round1.map((entry) => entry.commitment);
    const shares = new Map(
      signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
    );
    const certificate = assemblePriceCertificate({
      report,
      domain: priceDomain,
      publicPackage: frostKeys[0]!.public,
      commitments,
      shares,
    });
    const entry = {
      assetId: ASSET_ID,
      symbol: SYMBOL,
      height,
      certificate,
      encoded: encodePriceCertificate(certificate),
    };
    certificateHistory.record(entry);
    return priceCertificateEntryOf(entry);
  }

  function summaryOf(detail: BlockDetail): BlockSummary {
    const { finalization: _finalization, encoded: _encoded, descendants: _descendants, ...summary } = detail;
    return summary;
  }

  const view: NodeView = {
    status() {
      const last = blocks.get(engine.height);
      return {
        chainId,
        nodeIndex: 0,
        version: '0.1.0',
        height: engine.height,
        finalizedHash: hex(tip.digest),
        finalizedView: tip.view,
        view: tip.view + 1,
        proposalHeight: engine.height + 1,
        proposalLeader: null,
        timeMs: engine.timeMs,
        stateRoot: last?.stateRoot ?? hex(engine.stateRoot()),
        validators: validators.map((signer, index) => ({
          index,
          publicKey: hex(signer.publicKey),
          self: index === 0,
          connected: index === 0 || connected.has(index),
          ...(index === 0 ? {} : { score: connected.has(index) ? 100 : 0 }),
        })),
        mempool: { transactions: mempool.stats().transactions, bytes: mempool.stats().bytes },
        // The fixture node is never behind.
        sync: { targetHeight: engine.height, blockSyncing: false, stateSyncs: 0, stateSyncHeight: null },
      };
    },
    submitTransaction(bytes) {
      const result = mempool.admit(bytes, { height: engine.height + 1, nowMs: performance.now() });
      return result.status === 'accepted'
        ? { status: 'accepted', id: `0x${result.id}` }
        : { status: 'refused', code: result.code, reason: result.reason };
    },
    ...(envelopePool === undefined
      ? {}
      : {
          submitEnvelope: (bytes: Uint8Array) =>
            envelopeSubmitResult(envelopePool.submit(bytes, engine.height + 1), bytes),
        }),
    transaction(id) {
      const key = id.slice(2);
      if (mempool.has(key)) return { id, status: 'pending' };
      const found = outcomes.get(id);
      return found === undefined ? undefined : { id, status: 'finalized', ...found };
    },
    block: (height) => blocks.get(height),
    blocks(from, limit) {
      const out: BlockSummary[] = [];
      for (let height = from; height < from + limit && height <= engine.height; height++) {
        const detail = blocks.get(height);
        if (detail !== undefined) out.push(summaryOf(detail));
      }
      return out;
    },
    account(publicKey, { proof }) {
      const account = engine.account(publicKey);
      if (account === undefined && !proof) return undefined;
      const read: AccountRead = {
        account: account === undefined ? null : accountToJson(account),
      };
      if (proof) {
        const key = accountStateKey(publicKey);
        const value = engine.stateValue(key);
        read.proof = {
          height: engine.height,
          stateRoot: hex(engine.stateRoot()),
          key: hex(key),
          value: value === undefined ? null : hex(value),
          proof: stateProofToJson(engine.prove(key)),
        };
      }
      return read;
    },
    auditLog: (query) => auditLogRead(engine, auditTrail, query, priceBook.latest().values()),
    markets: () => engine.series().map((series) => marketToJson(series, SYMBOL)),
    book(seriesId, depth) {
      const book = engine.book(seriesId, depth);
      return book === undefined ? undefined : bookToJson(seriesId, engine.height, book);
    },
    prices: () => prices,
    keyset: (): KeysetJson => ({
      epoch: keyset.epoch,
      groupPublicKey: hex(keyset.groupPublicKey),
      threshold: QUORUM,
      participants: VALIDATORS,
    }),
    priceCertificates: () => certificates,
    priceCertificatesAt(query) {
      const entry = certificateHistory.at(ASSET_ID, query);
      return entry === undefined ? [] : [priceCertificateEntryOf(entry)];
    },
    evidence: () => evidence,
    metrics(): NodeMetrics {
      const stats = mempool.stats();
      return {
        peersConnected: connected.size,
        mempoolTransactions: stats.transactions,
        mempoolBytes: stats.bytes,
        messagesDropped: { ...drops },
        transactionsRefused: Object.fromEntries(Object.entries(stats.refused).filter(([, n]) => n > 0)),
      };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  return {
    view,
    chainId,
    engine,
    mempool,
    validators,
    validatorSet,
    traders,
    keyset,
    finalizeBlock(blockOptions = {}) {
      const started = performance.now();
      if (blockOptions.priceUsdc !== undefined) priceUsdc = blockOptions.priceUsdc;
      const height = engine.height + 1;
      const timeMs = engine.timeMs + BLOCK_INTERVAL_MS;
      // A validator's own bounds, so that the payload always fits consensus's limit.
      const pending = mempool.select({
        height,
        maxTransactions: Math.min(1000, DEFAULT_APPLICATION_LIMITS.maxBlockTransactions),
        maxBytes: DEFAULT_APPLICATION_LIMITS.maxBlockTransactionBytes,
      });
      const stateRootHeight = stateRootHeightFor(height);
      const payload = BlockPayloadCodec.encode({
        envelopes: [],
        batchKeys: [],
        earlyShares: [],
        eonActivations: [],
        timeMs,
        transactions: pending.map((entry) => entry.bytes),
        observations: observations(height, timeMs),
        deposits: [],
        stateRootHeight,
        stateRoot: roots.get(stateRootHeight)!,
      });
      const executed = executeBlock(chain, { height, payload });
      const { aggregate, result, transactions } = executed;
      roots.set(height, executed.root);
      roots.delete(height - STATE_ROOT_LAG_BLOCKS - 1);
      mempool.removeFinalized({ height, transactionIds: pending.map((entry) => entry.id) });

      const view = tip.view + 1;
      const block: Block = {
        view,
        height,
        parentView: tip.view,
        parent: tip.digest,
        proposer: view % VALIDATORS,
        payload,
      };
      const digest = blockDigest(block);
      const votes = validators
        .slice(0, QUORUM)
        .map((signer, signerIndex) =>
          signVote(signer, chainId, { kind: VoteKind.finalize, view, digest, signerIndex }),
        );
      const finalization = certificateFromVotes(VoteKind.finalize, view, digest, votes);
      const outcomesOfBlock = transactions.map((transaction, i) =>
        outcomeOf(executed.ids[i]!, transaction.body, result.results[i]!),
      );
      const detail: BlockDetail = {
        height,
        hash: hex(digest),
        parentHash: hex(tip.digest),
        view,
        proposer: block.proposer,
        timeMs: executed.timeMs,
        stateRoot: hex(result.stateRoot),
        transactions: outcomesOfBlock,
        finalization: certificateToJson(finalization),
        encoded: hex(BlockCodec.encode(block)),
        // Each fixture block is finalized by its own certificate.
        descendants: [],
      };
      blocks.set(height, detail);
      for (const outcome of outcomesOfBlock) {
        outcomes.set(outcome.id, { height, outcome });
        if (outcomes.size > MAX_REMEMBERED_TRANSACTIONS) outcomes.delete(outcomes.keys().next().value!);
      }
      tip = { view, digest };

      prices = aggregate.prices.map((price) => ({
        assetId: price.assetId,
        symbol: SYMBOL,
        price: price.priceTicks.toString(),
        confidence: price.confidenceTicks.toString(),
        exponent: PRICE_EXPONENT,
        publishTimeMs: price.publishTimeMs,
        stale: priceBook.price(price.assetId)?.stale ?? true,
        height,
      }));
      const fresh = aggregate.prices.find((price) => price.assetId === ASSET_ID);
      if (fresh !== undefined && fresh.priceTicks > 0n) {
        certificates = [certifyPrice(height, fresh.priceTicks, fresh.confidenceTicks, fresh.publishTimeMs)];
      }

      emit({
        topic: 'blocks',
        block: summaryOf(detail),
        finalityLatencyMs: performance.now() - started,
        proposalHeight: detail.height + 1,
      });
      auditTrail.append(result.events, height, timeMs);
      const fills = fillsOf(result.events, height, timeMs);
      if (fills.length > 0) emit({ topic: 'fills', fills });
      emit({ topic: 'prices', height, prices });
      return detail;
    },
    equivocate() {
      const view = tip.view + 1;
      const signer = validators[3]!;
      const first = signVote(signer, chainId, {
        kind: VoteKind.notarize,
        view,
        digest: new Uint8Array(32).fill(1),
        signerIndex: 3,
      });
      const second = signVote(signer, chainId, {
        kind: VoteKind.notarize,
        view,
        digest: new Uint8Array(32).fill(2),
        signerIndex: 3,
      });
      const kind = conflictOf(first, second);
      if (kind === undefined) throw new Error('the two votes do not conflict');
      const found: Evidence = { first, second };
      evidence.push({ validator: 3, kind, view, evidence: evidenceToJson(found) });
      return found;
    },
    setConnected(index, isConnected) {
      if (isConnected) connected.add(index);
      else connected.delete(index);
    },
    countDrop(reason) {
      drops[reason] = (drops[reason] ?? 0) + 1;
    },
  };
}
