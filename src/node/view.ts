/**
 * The contract between a running node and its API: everything the HTTP/WebSocket server reads
 * from the node, and the one thing it writes (a submitted transaction). The node implements
 * `NodeView`; `api/server.ts` only ever talks to this interface, so the API can be tested against
 * real layer objects without a network, and the node never has to know about HTTP.
 *
 * Every type here is plain JSON data, ready for schema-driven serialization:
 *   bytes     "0x" + lower-case hex (`Hex`)
 *   bigints   decimal strings (`Decimal`), signed ones with a leading "-" (`SignedDecimal`)
 *   integers  JSON numbers (all below 2^53)
 *
 * Reads are synchronous snapshots of the node's state after its last applied finalized block
 * (a method may also return a promise, for a node that reads blocks from storage). A read never
 * throws on a well-formed argument: "not found" is `undefined`.
 *
 * The helpers at the end convert the execution engine's own views into these forms, so that the
 * node, the tests and any other implementer produce exactly the same JSON.
 */
import { type Certificate, CertificateType, type Evidence, EvidenceType } from '../codec/consensus.ts';
import { fromJson, toJson } from '../codec/json.ts';
import { PriceCertificateType, type PriceCertificateValue } from '../codec/oracle.ts';
import type { StateProof } from '../codec/state-proof.ts';
import { StateProofType } from '../codec/state-proof.ts';
import { toHex } from '../crypto/bytes.ts';
import type { AccountView, SeriesView } from '../execution/engine.ts';
import type { EngineEvent, TransactionResult, TransactionStatus } from '../execution/types.ts';
import type { MempoolRefusalCode } from '../mempool/mempool.ts';

/** "0x" followed by lower-case hex digits, two per byte. */
export type Hex = string;
/** A non-negative integer as a decimal string (no sign, no leading zeros). */
export type Decimal = string;
/** An integer as a decimal string, with a leading "-" when negative. */
export type SignedDecimal = string;
/** A value the node may produce synchronously or, when it has to read storage, as a promise. */
export type MaybePromise<T> = T | Promise<T>;

/** One validator of the genesis set, as this node sees it. */
export interface ValidatorStatus {
  /** Index in the genesis validator set (0-based); consensus votes name validators by it. */
  index: number;
  /** Ed25519 identity key. */
  publicKey: Hex;
  /** True for this node itself. */
  self: boolean;
  /** True when an authenticated transport connection to it is open (always true for `self`). */
  connected: boolean;
  /** The transport's current score of the peer (absent for `self`); lower is worse. */
  score?: number;
}

/**
 * `GET /v1/status`. Everything an operator or a load balancer needs to tell whether the node is
 * alive, finalizing and connected.
 */
export interface NodeStatus {
  chainId: number;
  /** This node's index in the validator set. */
  nodeIndex: number;
  /** The software version (package.json `version`). */
  version: string;
  /** Height of the last finalized block that the engine has applied (0 = genesis). */
  height: number;
  /** Digest of that block (the consensus block digest its finality certificate signs). */
  finalizedHash: Hex;
  /** The view that block was finalized in. */
  finalizedView: number;
  /** The consensus view this node is in now (≥ `finalizedView`). */
  view: number;
  /** Block time (ms since the Unix epoch) of the last applied block. */
  timeMs: number;
  /** The engine's state root after applying block `height`. */
  stateRoot: Hex;
  /** Every genesis validator in index order, with whether this node is connected to it. */
  validators: ValidatorStatus[];
  mempool: { transactions: number; bytes: number };
  /** How this node catches up: block sync by height and state sync (src/node/state-sync.ts). */
  sync: SyncStatusJson;
}

export interface SyncStatusJson {
  /** Highest height this node knows to be finalized (≥ `height` while it catches up). */
  targetHeight: number;
  /** True while consensus fetches finalized blocks forward by height. */
  blockSyncing: boolean;
  /** Snapshots installed by state sync since the node started. */
  stateSyncs: number;
  /** Height of the last snapshot installed by state sync, or null. */
  stateSyncHeight: number | null;
}

/** `POST /v1/transactions`: what the mempool said about a submitted transaction. */
export type SubmitResult =
  | { status: 'accepted'; id: Hex }
  | { status: 'refused'; code: MempoolRefusalCode; reason: string };

/** The outcome of one transaction in a finalized block (the engine's `TransactionResult`). */
export interface TransactionOutcome {
  id: Hex;
  signer: Hex;
  nonce: number;
  status: TransactionStatus;
  /** The payload field at fault, for MALFORMED_PAYLOAD. */
  field?: string;
  orderId?: number;
  filledLots?: number;
  restingLots?: number;
}

/** `GET /v1/transactions/:id`: where a transaction is. Unknown ids are `undefined`. */
export type TransactionLookup =
  | { id: Hex; status: 'pending' }
  | { id: Hex; status: 'finalized'; height: number; outcome: TransactionOutcome };

/** A finalized block, without its encoding. */
export interface BlockSummary {
  height: number;
  /** Consensus block digest: SHA-256 of the encoded consensus `Block`. */
  hash: Hex;
  parentHash: Hex;
  view: number;
  proposer: number;
  timeMs: number;
  /** The engine's state root after applying this block. */
  stateRoot: Hex;
  /** Transactions in execution order with their outcomes. */
  transactions: TransactionOutcome[];
}

/** The JSON form of a consensus `Certificate` (see `codec/json.ts`). */
export interface CertificateJson {
  kind: number;
  view: Decimal;
  digest: Hex;
  votes: Array<{ signer: number; extensionHash: Hex; signature: Hex }>;
}

/**
 * `GET /v1/blocks/:height`: a finalized block with the certificate that finalized it — its own, or
 * a descendant's with the blocks linking the two.
 */
export interface BlockDetail extends BlockSummary {
  /** The finalization certificate: a quorum of finalize votes over `hash`. */
  finalization: CertificateJson;
  /**
   * The canonical encoding of the consensus `Block` (envelope included, `BlockCodec.encode`),
   * so a light client can recompute `hash` itself before trusting the certificate.
   */
  encoded: Hex;
  /**
   * Empty when `finalization` certifies this block. A block finalized through a later block's
   * certificate carries the encodings of the blocks from the next height up to the certified one,
   * ascending: each names the previous one's hash as its parent, so the certificate covers this
   * block through the hash chain.
   */
  descendants: Hex[];
}

export interface OpenOrderJson {
  orderId: number;
  seriesId: number;
  side: 'buy' | 'sell';
  priceTicks: number;
  remainingLots: number;
  clientOrderId: number;
}

/** An account, in quote base units (6 decimals) and lots. */
export interface AccountJson {
  publicKey: Hex;
  /** The next nonce the engine expects from this account. */
  nonce: number;
  balance: SignedDecimal;
  marginMode: 'standard' | 'portfolio';
  /** Positive lots are long, negative short. */
  positions: Array<{ seriesId: number; lots: number }>;
  openOrders: OpenOrderJson[];
  /** Null when a series it holds has no mark (no valid index price). */
  margin: { equity: SignedDecimal; initial: Decimal; maintenance: Decimal } | null;
}

/** The JSON form of a `StateProof` (see `codec/state-proof.ts`). */
export interface StateProofJson {
  levels: Array<{ childBitmap: number; siblings: Hex[] }>;
  leaf: Array<{ key: Hex; valueHash: Hex }>;
}

/**
 * A proof that the account's committed record (or its absence) is under `stateRoot`, the root
 * after block `height`. `value` is the encoded `AccountRecord` (`AccountRecordCodec`), or null when
 * the account does not exist; `key` is `accountStateKey(publicKey)`.
 */
export interface AccountProofJson {
  height: number;
  stateRoot: Hex;
  key: Hex;
  value: Hex | null;
  proof: StateProofJson;
}

export interface AccountRead {
  /** Null when the engine has never seen the account (only returned together with a proof). */
  account: AccountJson | null;
  proof?: AccountProofJson;
}

/** A listed option series with its mark, in quote base units. */
export interface MarketJson {
  seriesId: number;
  underlyingId: number;
  /** The underlying's symbol, e.g. "BTC". */
  underlying: string;
  isCall: boolean;
  strike: Decimal;
  expiryMs: number;
  tickSize: number;
  lotSizeE6: number;
  multiplierE6: number;
  markVolBps: number;
  status: 'active' | 'expired' | 'settled';
  settlementPrice: Decimal;
  openInterestLots: number;
  /** Mark price per contract; null while the index is unknown. */
  markPrice: Decimal | null;
}

/** One aggregated price level. */
export interface BookLevel {
  priceTicks: number;
  lots: number;
  orders: number;
}

export interface BookJson {
  seriesId: number;
  /** Height of the state the book was read at. */
  height: number;
  /** Best (highest) first. */
  bids: BookLevel[];
  /** Best (lowest) first. */
  asks: BookLevel[];
}

/** The latest aggregated oracle price of an asset, as the price book holds it. */
export interface PriceJson {
  assetId: number;
  symbol: string;
  /** Price and confidence half-width in the oracle's ticks, i.e. × 10^`exponent` of the quote. */
  price: Decimal;
  confidence: Decimal;
  exponent: number;
  publishTimeMs: number;
  /** True when fewer than 2f + 1 fresh observations existed: consumers must not use it. */
  stale: boolean;
  /** Height of the block that carried the aggregate. */
  height: number;
}

/** The JSON form of the codec's `PriceCertificate` (see `codec/oracle.ts`). */
export interface PriceCertificateJson {
  feedId: Hex;
  price: Decimal;
  confidence: Decimal;
  /** The EIP-712 int32 exponent (e.g. −6); the binary encoding carries it as a two's-complement u32. */
  exponent: number;
  publishTime: Decimal;
  epoch: Decimal;
  chainId: Decimal;
  verifyingContract: Hex;
  signature: Hex;
}

/** The price keyset: the FROST group key from the DKG and its epoch. */
export interface KeysetJson {
  epoch: number;
  /** SEC1-compressed secp256k1 point, 33 bytes. */
  groupPublicKey: Hex;
  threshold: number;
  participants: number;
}

export interface PriceCertificateEntry {
  assetId: number;
  symbol: string;
  /** Height of the block whose aggregate the certificate signs. */
  height: number;
  certificate: PriceCertificateJson;
  /** `PriceCertificateCodec` encoding, what `KeysetRegistry.verify` and EVM verifiers take. */
  encoded: Hex;
}

export interface EvidenceEntry {
  /** The validator the evidence proves Byzantine. */
  validator: number;
  kind: 'notarize-conflict' | 'finalize-conflict' | 'nullify-and-finalize';
  view: number;
  /** The JSON form of the codec's `Evidence` (two conflicting signed votes). */
  evidence: { first: VoteJson; second: VoteJson };
}

export interface VoteJson {
  kind: number;
  view: Decimal;
  digest: Hex;
  signer: number;
  extension: Hex;
  signature: Hex;
}

/** A trade, in the engine's units (ticks of the series' tick size, lots, quote base units). */
export interface FillJson {
  height: number;
  timeMs: number;
  seriesId: number;
  makerOrderId: number;
  takerOrderId: number;
  maker: Hex;
  taker: Hex;
  takerSide: 'buy' | 'sell';
  priceTicks: number;
  lots: number;
  makerFee: Decimal;
  takerFee: Decimal;
}

/** Counters and gauges for `/metrics`; counters only ever grow over the node's lifetime. */
export interface NodeMetrics {
  /** Validators (not counting this node) with an open authenticated connection. */
  peersConnected: number;
  mempoolTransactions: number;
  mempoolBytes: number;
  /** Peer messages dropped since start, by reason (transport and consensus reasons together). */
  messagesDropped: Record<string, number>;
  /** Transactions refused at admission since start, by mempool code. */
  transactionsRefused: Record<string, number>;
}

/** What the node pushes to subscribers, once per finalized block, in height order. */
export type NodeEvent =
  | {
      topic: 'blocks';
      block: BlockSummary;
      /**
       * Milliseconds from this node first seeing the block's proposal to finalizing it, on this
       * node's monotonic clock; null when the block arrived through sync (no proposal seen).
       */
      finalityLatencyMs: number | null;
    }
  | { topic: 'fills'; fills: FillJson[] }
  | { topic: 'prices'; height: number; prices: PriceJson[] };

export type NodeEventTopic = NodeEvent['topic'];

export interface NodeView {
  status(): MaybePromise<NodeStatus>;
  /**
   * Hands canonical `SignedTransactionCodec` bytes to the mempool (and on to peers when accepted).
   * The API has already checked the size and, for JSON bodies, the shape; the mempool decodes
   * and checks everything again, so any bytes are safe to pass.
   */
  submitTransaction(bytes: Uint8Array): MaybePromise<SubmitResult>;
  transaction(id: Hex): MaybePromise<TransactionLookup | undefined>;
  /** A finalized block with its finality certificate, or undefined above the finalized height. */
  block(height: number): MaybePromise<BlockDetail | undefined>;
  /**
   * Finalized blocks with heights `from` .. `from + limit - 1` that exist, ascending. Heights
   * below what the node retains are skipped. The API bounds `limit`.
   */
  blocks(from: number, limit: number): MaybePromise<BlockSummary[]>;
  /** `publicKey` is 32 bytes; undefined when unknown and no proof was asked for. */
  account(publicKey: Uint8Array, options: { proof: boolean }): MaybePromise<AccountRead | undefined>;
  markets(): MaybePromise<MarketJson[]>;
  /** Undefined for an unknown series. The API bounds `depth`. */
  book(seriesId: number, depth: number): MaybePromise<BookJson | undefined>;
  prices(): MaybePromise<PriceJson[]>;
  /** The active price keyset; undefined before the DKG has produced one. */
  keyset(): MaybePromise<KeysetJson | undefined>;
  /** The latest price certificate per asset, ascending by asset id. */
  priceCertificates(): MaybePromise<PriceCertificateEntry[]>;
  /** Equivocation evidence this node holds (bounded by the consensus engine). */
  evidence(): MaybePromise<EvidenceEntry[]>;
  metrics(): NodeMetrics;
  /**
   * Calls `listener` for every event from now on, synchronously from the node's block delivery;
   * the listener must not throw or block. Returns the unsubscribe function.
   */
  subscribe(listener: (event: NodeEvent) => void): () => void;
}

// ---------------------------------------------------------------------------------------------
// Conversions from the layers' own objects.

/**
 * The JSON form of a price certificate: the codec's JSON form, except that `exponent` is the signed
 * int32 the EIP-712 report signs rather than the u32 that carries it on the wire.
 */
export function priceCertificateToJson(certificate: PriceCertificateValue): PriceCertificateJson {
  const json = toJson(PriceCertificateType, certificate) as unknown as PriceCertificateJson;
  return { ...json, exponent: certificate.exponent | 0 };
}

/**
 * Parses {@link priceCertificateToJson}'s form back into the codec's value.
 * @throws CodecError naming the field when the JSON is not a price certificate
 */
export function priceCertificateFromJson(json: PriceCertificateJson): PriceCertificateValue {
  const exponent = Number.isInteger(json.exponent) ? json.exponent >>> 0 : json.exponent;
  return fromJson(PriceCertificateType, { ...json, exponent }, 'certificate');
}

/** The JSON form of a consensus finality certificate. */
export function certificateToJson(certificate: Certificate): CertificateJson {
  return toJson(CertificateType, certificate) as unknown as CertificateJson;
}

/**
 * What `GET /v1/blocks/:height` serves: the summary with the block's encoding, its stored finality
 * certificate and the encodings of the descendants that link the two (empty for its own).
 */
export function blockDetailOf(
  summary: BlockSummary,
  proof: { certificate: Certificate; block: Uint8Array; descendants: readonly Uint8Array[] },
): BlockDetail {
  return {
    ...summary,
    finalization: certificateToJson(proof.certificate),
    encoded: hex(proof.block),
    descendants: proof.descendants.map((encoded) => hex(encoded)),
  };
}

export function evidenceToJson(evidence: Evidence): EvidenceEntry['evidence'] {
  return toJson(EvidenceType, evidence) as unknown as EvidenceEntry['evidence'];
}

export function stateProofToJson(proof: StateProof): StateProofJson {
  return toJson(StateProofType, proof) as unknown as StateProofJson;
}

/** The engine's `AccountView` as the API's account. */
export function accountToJson(account: AccountView): AccountJson {
  return {
    publicKey: account.publicKey.startsWith('0x') ? account.publicKey : `0x${account.publicKey}`,
    nonce: account.nonce,
    balance: account.balance.toString(),
    marginMode: account.marginMode,
    positions: account.positions.map((position) => ({ seriesId: position.seriesId, lots: position.lots })),
    openOrders: account.openOrders.map((order) => ({ ...order })),
    margin:
      account.margin === undefined
        ? null
        : {
            equity: account.margin.equity.toString(),
            initial: account.margin.initial.toString(),
            maintenance: account.margin.maintenance.toString(),
          },
  };
}

/** The engine's `SeriesView` as a market; `symbol` is the underlying's. */
export function marketToJson(series: SeriesView, symbol: string): MarketJson {
  return {
    seriesId: series.seriesId,
    underlyingId: series.underlyingId,
    underlying: symbol,
    isCall: series.isCall,
    strike: series.strike.toString(),
    expiryMs: series.expiryMs,
    tickSize: series.tickSize,
    lotSizeE6: series.lotSizeE6,
    multiplierE6: series.multiplierE6,
    markVolBps: series.markVolBps,
    status: series.status,
    settlementPrice: series.settlementPrice.toString(),
    openInterestLots: series.openInterestLots,
    markPrice: series.markPrice === undefined ? null : series.markPrice.toString(),
  };
}

/** The engine's depth tuples `[priceTicks, lots, orders]` as a book. */
export function bookToJson(
  seriesId: number,
  height: number,
  depth: { bids: Array<[number, number, number]>; asks: Array<[number, number, number]> },
): BookJson {
  const level = ([priceTicks, lots, orders]: [number, number, number]): BookLevel => ({
    priceTicks,
    lots,
    orders,
  });
  return { seriesId, height, bids: depth.bids.map(level), asks: depth.asks.map(level) };
}

/** The fills among a block's engine events. */
export function fillsOf(events: readonly EngineEvent[], height: number, timeMs: number): FillJson[] {
  const fills: FillJson[] = [];
  for (const event of events) {
    if (event.type !== 'fill') continue;
    fills.push({
      height,
      timeMs,
      seriesId: event.seriesId,
      makerOrderId: event.makerOrderId,
      takerOrderId: event.takerOrderId,
      maker: event.maker.startsWith('0x') ? event.maker : `0x${event.maker}`,
      taker: event.taker.startsWith('0x') ? event.taker : `0x${event.taker}`,
      takerSide: event.takerSide,
      priceTicks: event.priceTicks,
      lots: event.lots,
      makerFee: event.makerFee.toString(),
      takerFee: event.takerFee.toString(),
    });
  }
  return fills;
}

/** One transaction's outcome, from its id, body and the engine's result. */
export function outcomeOf(
  id: Uint8Array,
  body: { signer: Uint8Array; nonce: number },
  result: TransactionResult,
): TransactionOutcome {
  const outcome: TransactionOutcome = {
    id: hex(id),
    signer: hex(body.signer),
    nonce: body.nonce,
    status: result.status,
  };
  if (result.field !== undefined) outcome.field = result.field;
  if (result.orderId !== undefined) outcome.orderId = result.orderId;
  if (result.filledLots !== undefined) outcome.filledLots = result.filledLots;
  if (result.restingLots !== undefined) outcome.restingLots = result.restingLots;
  return outcome;
}

/** "0x"-prefixed lower-case hex of `bytes`. */
export function hex(bytes: Uint8Array): Hex {
  return `0x${toHex(bytes)}`;
}
