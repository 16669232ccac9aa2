/**
 * The contract between a running node and its API: everything the HTTP/WebSocket server reads
 * from the node, and the one thing it writes (a submitted transaction). The node implements
 * `NodeView`; `api/server.ts` only ever talks to this interface, so the API can be tested against
 * real layer objects without a network, and the node never has to know about HTTP.
 *
 * Every type here is plain JSON data, ready for schema-driven serialization. One rule for numbers
 * (docs/api.md, "Numbers"; a test walks every schema of the OpenAPI document to keep it):
 *   money     amounts and prices in base units are decimal strings of the integer (`Decimal`,
 *             `SignedDecimal` with a leading "-"), whatever their size, because they can pass 2^53;
 *             beside each one a person reads, `<name>Decimal` gives the same value in whole units
 *             ("10030.25", `UnitDecimal`)
 *   others    every other integer (heights, views, epochs, times, ids, counts, lots, ticks) is a
 *             JSON number, bounded below 2^53 (the codec's 64-bit views and epochs included)
 *   bytes     "0x" + lower-case hex (`Hex`)
 *
 * Reads are synchronous snapshots of the node's state after its last applied finalized block
 * (a method may also return a promise, for a node that reads blocks from storage). A read never
 * throws on a well-formed argument: "not found" is `undefined`.
 *
 * The helpers at the end convert the execution engine's own views into these forms, so that the
 * node, the tests and any other implementer produce exactly the same JSON.
 */
import { type Certificate, CertificateType, type Evidence, EvidenceType } from '../codec/consensus.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { fromJson, toJson } from '../codec/json.ts';
import { PriceCertificateCodec, PriceCertificateType, type PriceCertificateValue } from '../codec/oracle.ts';
import type { StateProof } from '../codec/state-proof.ts';
import { StateProofType } from '../codec/state-proof.ts';
import { toHex } from '../crypto/bytes.ts';
import { BACKSTOP_PUBLIC_KEY } from '../execution/backstop.ts';
import type { AccountView, SeriesView } from '../execution/engine.ts';
import { bsm, type OptionValuation } from '../execution/pricing.ts';
import type { EngineEvent, TransactionResult, TransactionStatus } from '../execution/types.ts';
import type { MempoolRefusalCode } from '../mempool/mempool.ts';
import type { Finding } from '../monitor/finding.ts';
import type { FindingCount, FindingQuery } from '../monitor/monitor.ts';
import { ONE as FIXED_ONE, type Fixed } from '../std/fixed.ts';
import type { CheckpointJson, WithdrawalProofJson } from './api/bridge.ts';
import type { EonKeysetJson } from './api/eon.ts';
import type { KeyLifecycleJson } from './api/keys.ts';
import type { PrivacyCheckpointJson, PrivacyWitnessJson } from './api/privacy.ts';
import type { DepositStatusJson, DepositStatusQuery } from './deposit-status.ts';
import type { EnvelopeAdmission } from './fair-ordering-pool.ts';
import type { ValidatorSetProofJson } from './validator-set-proofs.ts';

/** "0x" followed by lower-case hex digits, two per byte. */
export type Hex = string;
/** A non-negative integer as a decimal string (no sign, no leading zeros). */
export type Decimal = string;
/** An integer as a decimal string, with a leading "-" when negative. */
export type SignedDecimal = string;
/** A decimal number in whole units of its asset, e.g. "10030.25" or "-0.5" (no exponent, no trailing zeros). */
export type UnitDecimal = string;
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
  /**
   * The height the next block proposal carries as this node sees consensus (> `height`): one above
   * the current view's proposal once it has one, else one above the highest certified block. The
   * earliest block an order submitted now can be in (an envelope's expiry must not be below it).
   */
  proposalHeight: number;
  /** The validator expected to propose `proposalHeight` (were no view nullified); null where unknown. */
  proposalLeader: Hex | null;
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

/** Why the envelope pool (src/node/fair-ordering-pool.ts) refused an encrypted order. */
export type EnvelopeRefusalCode =
  | 'FAIR_ORDERING_DISABLED'
  | 'EON_KEY_PENDING'
  | 'ENVELOPE_MALFORMED'
  | 'ENVELOPE_WRONG_CHAIN'
  | 'ENVELOPE_WRONG_EON'
  | 'ENVELOPE_EXPIRED'
  | 'ENVELOPE_TOO_FAR_AHEAD'
  | 'ENVELOPE_REPLAYED_NONCE'
  | 'ENVELOPE_MALFORMED_CIPHERTEXT'
  | 'ENVELOPE_BAD_SIGNATURE'
  | 'ENVELOPE_CIPHERTEXT_MISMATCH'
  | 'ENVELOPE_SLOT_TAKEN'
  | 'ENVELOPE_IDENTITY_REUSED'
  | 'ENVELOPE_SENDER_LIMIT'
  | 'ENVELOPE_POOL_FULL';

/** `POST /v1/envelopes`: what the envelope pool said about an encrypted order. */
export type EnvelopeSubmitResult =
  | { status: 'accepted'; sender: Hex; nonce: number; expiryHeight: number }
  | { status: 'refused'; code: EnvelopeRefusalCode; reason: string };

const ENVELOPE_REASONS: Record<EnvelopeRefusalCode, string> = {
  FAIR_ORDERING_DISABLED: 'this network has no eon key: it takes no encrypted orders',
  EON_KEY_PENDING: 'the validators are still making the eon key (GET /v1/eon): no encrypted orders yet',
  ENVELOPE_MALFORMED: 'not a canonical SignedOrderEnvelope encoding',
  ENVELOPE_WRONG_CHAIN: 'the envelope is for another chain id',
  ENVELOPE_WRONG_EON: 'encrypted to another eon than the current one',
  ENVELOPE_EXPIRED: 'its expiry height is below the next block',
  ENVELOPE_TOO_FAR_AHEAD: 'its expiry height is too far above the next block',
  ENVELOPE_REPLAYED_NONCE: 'the account has already used this nonce',
  ENVELOPE_MALFORMED_CIPHERTEXT: 'the ciphertext is not a Shutter ciphertext',
  ENVELOPE_BAD_SIGNATURE: 'the signature is not the sender’s over this envelope',
  ENVELOPE_CIPHERTEXT_MISMATCH: 'the ciphertext does not match the size and hash the envelope signs',
  ENVELOPE_SLOT_TAKEN: 'an envelope of this sender and nonce is already pending',
  ENVELOPE_IDENTITY_REUSED:
    'another envelope of this sender used this identity prefix: one key would open both, so the second would be readable once the first runs',
  ENVELOPE_SENDER_LIMIT: 'the sender has the most envelopes pending it may',
  ENVELOPE_POOL_FULL: 'the envelope pool is full',
};

/** The API's answer for the envelope pool's verdict on `bytes`. */
export function envelopeSubmitResult(
  admission: EnvelopeAdmission | { ok: false; code: 'FAIR_ORDERING_DISABLED' | 'EON_KEY_PENDING' },
  bytes: Uint8Array,
): EnvelopeSubmitResult {
  if (admission.ok) {
    const { body } = SignedOrderEnvelopeCodec.decode(bytes);
    return {
      status: 'accepted',
      sender: hex(body.sender),
      nonce: body.nonce,
      expiryHeight: body.expiryHeight,
    };
  }
  const code: EnvelopeRefusalCode =
    admission.code === 'FAIR_ORDERING_DISABLED' || admission.code === 'EON_KEY_PENDING'
      ? admission.code
      : `ENVELOPE_${admission.code}`;
  const reason =
    admission.code === 'MALFORMED'
      ? `${ENVELOPE_REASONS[code]} (${'codec' in admission ? `${admission.codec} at ${admission.field}` : ''})`
      : ENVELOPE_REASONS[code];
  return { status: 'refused', code, reason };
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
  /** A bridged withdrawal's id: `GET /v1/bridge/withdrawals/:id` serves its proof. */
  withdrawalId?: number;
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

/**
 * The JSON form of a consensus `Certificate`: the codec's (`codec/json.ts`) with `view` as a number,
 * as everywhere else in the API.
 */
export interface CertificateJson {
  kind: number;
  view: number;
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
  balanceDecimal: UnitDecimal;
  marginMode: 'standard' | 'portfolio';
  /** Positive lots are long, negative short. */
  positions: Array<{ seriesId: number; lots: number }>;
  openOrders: OpenOrderJson[];
  /** Null when a series it holds has no mark (no valid index price). */
  margin: MarginJson | null;
}

/** An account's margin, in quote base units with the same in whole units beside each. */
export interface MarginJson {
  equity: SignedDecimal;
  equityDecimal: UnitDecimal;
  initial: Decimal;
  initialDecimal: UnitDecimal;
  maintenance: Decimal;
  maintenanceDecimal: UnitDecimal;
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

/** One entry of the engine's audit log (src/execution/audit.ts), hashes 0x-hex. */
export interface AuditEntryJson {
  sequence: number;
  height: number;
  timeMs: number;
  kind: 'governance' | 'parameter' | 'response';
  action: string;
  details: Record<string, string>;
  previousHash: Hex;
  hash: Hex;
}

/**
 * The audit log as a node serves it: entries from `from`, and the committed head with its state
 * proof (`value` is the encoded `AuditHeadRecord` under `key`, the audit-head state key).
 */
export interface AuditLogRead {
  chainId: number;
  entries: AuditEntryJson[];
  head: { sequence: number; hash: Hex };
  proof: AccountProofJson;
  /**
   * The opening of the node state root after `proof.height`: the engine root (`proof.stateRoot`)
   * and each oracle aggregate (`AggregatePriceType` SSZ, ascending asset id), which the block at
   * `proof.height` + 16 commits; a light client checks it (src/node/privacy.ts `openCommittedEngineRoot`).
   */
  opening: { engineStateRoot: Hex; prices: Hex[]; fairParts?: Hex[] };
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
  /** Quote base units per unit of the underlying. */
  strike: Decimal;
  strikeDecimal: UnitDecimal;
  expiryMs: number;
  tickSize: number;
  lotSizeE6: number;
  multiplierE6: number;
  markVolBps: number;
  status: 'active' | 'expired' | 'settled';
  settlementPrice: Decimal;
  settlementPriceDecimal: UnitDecimal;
  openInterestLots: number;
  /** Mark price per contract; null while the index is unknown. */
  markPrice: Decimal | null;
  markPriceDecimal: UnitDecimal | null;
  /**
   * The greeks the mark implies, per contract, in whole quote units and the venue convention
   * (vega per volatility point, theta per calendar day, rho per rate point); null while the index
   * is unknown.
   */
  greeks: MarketGreeksJson | null;
  /** The same greeks per 1.00 of volatility and rate and per year. */
  greeksPerUnit: MarketGreeksPerUnitJson | null;
}

/** Exact decimals of fixed-point greeks (18 places at most). */
export interface MarketGreeksJson {
  delta: UnitDecimal;
  gamma: UnitDecimal;
  vegaPerVolPoint: UnitDecimal;
  thetaPerDay: UnitDecimal;
  rhoPerRatePoint: UnitDecimal;
}

export interface MarketGreeksPerUnitJson {
  delta: UnitDecimal;
  gamma: UnitDecimal;
  vegaPerUnitVol: UnitDecimal;
  thetaPerYear: UnitDecimal;
  rhoPerUnitRate: UnitDecimal;
}

/** Days in the year `thetaPerDay` divides by (calendar days, as Deribit counts them). */
export const DAYS_PER_YEAR = 365n;

export type GreeksConvention = 'venue' | 'per-unit';

/**
 * A valuation's fields with their units in their names: the venue convention (per volatility
 * point, per day, per rate point) or the pricing's own (per 1.00, per year).
 * @example greeksWithUnits(bsm(input), 'venue').vegaPerVolPoint
 */
export function greeksWithUnits(
  valuation: OptionValuation,
  convention: GreeksConvention,
): Record<string, Fixed> {
  const { price, delta, gamma, vega, theta, rho } = valuation;
  if (convention === 'per-unit') {
    return { price, delta, gamma, vegaPerUnitVol: vega, thetaPerYear: theta, rhoPerUnitRate: rho };
  }
  return {
    price,
    delta,
    gamma,
    vegaPerVolPoint: vega / 100n,
    thetaPerDay: theta / DAYS_PER_YEAR,
    rhoPerRatePoint: rho / 100n,
  };
}

/**
 * The greeks of one contract of `series` at its mark: Black-Scholes on the index and strike in
 * whole quote units, each figure scaled by the contract's multiplier.
 */
function marketGreeks(series: SeriesView, convention: GreeksConvention): Record<string, UnitDecimal> | null {
  if (series.pricing === undefined) return null;
  const { spot, rate, volatility, years } = series.pricing;
  const whole = 10n ** BigInt(QUOTE_DECIMALS);
  const valuation = bsm({
    type: series.isCall ? 'call' : 'put',
    spot: (spot * FIXED_ONE) / whole,
    strike: (series.strike * FIXED_ONE) / whole,
    rate,
    volatility,
    years,
  });
  const { price: _price, ...greeks } = greeksWithUnits(valuation, convention);
  const multiplier = BigInt(series.multiplierE6);
  return Object.fromEntries(
    Object.entries(greeks).map(([name, value]) => [name, unitDecimal((value * multiplier) / 1_000_000n, 18)]),
  );
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

/**
 * `GET /v1/oracle/prices` and the `prices` stream: the node's {@link PriceJson} with price and
 * confidence in whole units of the quote beside the ticks (the server adds them,
 * {@link priceWithDecimals}).
 */
export interface PriceWithDecimalsJson extends PriceJson {
  /** `price` × 10^`exponent`. */
  priceDecimal: UnitDecimal;
  confidenceDecimal: UnitDecimal;
}

/**
 * The JSON form of the codec's `PriceCertificate` (see `codec/oracle.ts`), with the API's number
 * rule: `price` and `confidence` (oracle ticks, money) are decimal strings, `publishTime`, `epoch`
 * and `chainId` numbers.
 */
export interface PriceCertificateJson {
  feedId: Hex;
  price: Decimal;
  confidence: Decimal;
  /** The EIP-712 int32 exponent (e.g. −6); the binary encoding carries it as a two's-complement u32. */
  exponent: number;
  /** Seconds since the Unix epoch. */
  publishTime: number;
  epoch: number;
  chainId: number;
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
  view: number;
  digest: Hex;
  signer: number;
  extension: Hex;
  signature: Hex;
}

/**
 * What `/v1/fills` and the `fills` stream carry: trades, and every step of a liquidation (engine
 * events `fill`, `liquidationStep`, `backstopTaken`, `autoDeleverage`), in the order the engine
 * executed them. Units are the engine's: ticks of the series' tick size, lots, quote base units
 * (with the whole-unit `…Decimal` beside each amount).
 */
export type FillJson = TradeFillJson | LiquidationFillJson | BackstopFillJson | DeleverageFillJson;

/** What every entry of {@link FillJson} has. */
interface FillBase {
  height: number;
  timeMs: number;
  seriesId: number;
  lots: number;
}

/** A trade in the book. */
export interface TradeFillJson extends FillBase {
  kind: 'trade';
  makerOrderId: number;
  takerOrderId: number;
  maker: Hex;
  taker: Hex;
  takerSide: 'buy' | 'sell';
  priceTicks: number;
  makerFee: Decimal;
  makerFeeDecimal: UnitDecimal;
  takerFee: Decimal;
  takerFeeDecimal: UnitDecimal;
  /** True when the taker is an account being liquidated (the step follows as a `liquidation` entry). */
  liquidation: boolean;
}

/** One liquidation step closed in the book: the trades just before it are its fills. */
export interface LiquidationFillJson extends FillBase {
  kind: 'liquidation';
  /** The account being liquidated. */
  account: Hex;
  /** The liquidated account's side (`buy` closes a short), from its fills; null without them. */
  side: 'buy' | 'sell' | null;
  /** Charged to the account, paid to the insurance fund. */
  penalty: Decimal;
  penaltyDecimal: UnitDecimal;
  /** The account's equity and maintenance requirement when the step began. */
  equityBefore: SignedDecimal;
  equityBeforeDecimal: UnitDecimal;
  maintenanceBefore: Decimal;
  maintenanceBeforeDecimal: UnitDecimal;
}

/** A step the book could not absorb, taken by the insurance fund's backstop account. */
export interface BackstopFillJson extends FillBase {
  kind: 'backstop';
  account: Hex;
  /** The backstop account's public key. */
  counterparty: Hex;
  /** The liquidated account's side; null when nothing changed hands that tells (a zero price). */
  side: 'buy' | 'sell' | null;
  priceTicks: number;
  /** Paid to the liquidated account (negative: paid by it). */
  cash: SignedDecimal;
  cashDecimal: UnitDecimal;
}

/** Lots of a liquidated account closed against an opposite position (auto-deleveraging). */
export interface DeleverageFillJson extends FillBase {
  kind: 'deleverage';
  account: Hex;
  /** The account whose opposite position was reduced. */
  counterparty: Hex;
  /** The liquidated account's side: `buy` closes its short. */
  side: 'buy' | 'sell';
  /** Quote base units per lot the account paid (`buy`) or received (`sell`): the mark less the loss share. */
  price: Decimal;
  priceDecimal: UnitDecimal;
  /** Paid to the liquidated account (negative: paid by it), the counterparty's loss share included. */
  cash: SignedDecimal;
  cashDecimal: UnitDecimal;
  /** The part of the liquidated account's deficit the counterparty bore. */
  lossShare: Decimal;
  lossShareDecimal: UnitDecimal;
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
  /**
   * Fair ordering: transactions executed since start by how they arrived (opened from an envelope,
   * or plain), envelopes admitted into blocks, and envelopes waiting in the pool. Absent: no counts.
   */
  orderFlow?: {
    encrypted: number;
    plain: number;
    envelopesAdmitted: number;
    /** Opened envelopes whose order ran, and those charged and dropped (undecryptable, invalid). */
    envelopesDecrypted?: number;
    envelopesUndecryptable?: number;
    envelopesPooled: number;
  };
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
      /** `NodeStatus.proposalHeight` as this block executed: a block stream is all a client polls. */
      proposalHeight: number;
    }
  | { topic: 'fills'; fills: FillJson[] }
  | { topic: 'prices'; height: number; prices: PriceJson[] }
  /** New findings of this node's monitor (src/monitor), as they are made. */
  | { topic: 'findings'; findings: Finding[] };

export type NodeEventTopic = NodeEvent['topic'];

/** An event as `/v1/stream` sends it: prices carry their whole-unit decimals. */
export type StreamEvent =
  | Exclude<NodeEvent, { topic: 'prices' }>
  | { topic: 'prices'; height: number; prices: PriceWithDecimalsJson[] };

export interface NodeView {
  status(): MaybePromise<NodeStatus>;
  /**
   * Hands canonical `SignedTransactionCodec` bytes to the mempool (and on to peers when accepted).
   * The API has already checked the size and, for JSON bodies, the shape; the mempool decodes
   * and checks everything again, so any bytes are safe to pass.
   */
  submitTransaction(bytes: Uint8Array): MaybePromise<SubmitResult>;
  /** Many at once, answered in order (a node verifies their signatures together); optional. */
  submitTransactions?(list: readonly Uint8Array[]): MaybePromise<SubmitResult[]>;
  /** An encrypted order's envelope for the envelope pool; absent: the node takes none. */
  submitEnvelope?(bytes: Uint8Array): MaybePromise<EnvelopeSubmitResult>;
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
  /**
   * Per asset, ascending by id, the certificate in force at a past height (the newest assembled at
   * or below it) or time (the newest whose report was published at or before it, Unix seconds).
   * Absent: the node keeps no history (only the latest).
   */
  priceCertificatesAt?(query: { height: number } | { time: number }): MaybePromise<PriceCertificateEntry[]>;
  /** The price keyset's epoch, signers and handover chain (absent: the node runs no keyset). */
  keyLifecycle?(): MaybePromise<KeyLifecycleJson>;
  /** The fair-ordering eon keyset (`GET /v1/eon`); absent: not served. */
  eonKeyset?(): MaybePromise<EonKeysetJson>;
  /** The account tree's checkpoint at `height` for margin proofs (src/node/privacy.ts); absent: none kept. */
  privacyCheckpoint?(height: number): MaybePromise<PrivacyCheckpointJson | undefined>;
  /** A certified withdrawals checkpoint (src/node/checkpoint-signing.ts); absent: no bridge. */
  checkpoint?(height: number | 'latest'): MaybePromise<CheckpointJson | undefined>;
  /**
   * At validator-set boundary `height`, the set record under the root that block commits, proven
   * (src/node/validator-set-proofs.ts); undefined when no boundary or not kept. Absent: no epochs.
   */
  validatorSetProof?(height: number): MaybePromise<ValidatorSetProofJson | undefined>;
  /** A withdrawal's leaf, proof and checkpoint; undefined when in no certified checkpoint kept. */
  withdrawalProof?(id: number): MaybePromise<WithdrawalProofJson | undefined>;
  /** Vault deposits seen reported, highest nonce first (src/node/deposit-status.ts); absent: no bridge. */
  deposits?(query: DepositStatusQuery): MaybePromise<DepositStatusJson[]>;
  /** One vault deposit's status; undefined when neither credited nor reported. */
  deposit?(nonce: number): MaybePromise<DepositStatusJson | undefined>;
  /** A registered account's leaf inputs and Merkle path at the node's height. */
  privacyWitness?(publicKey: Uint8Array): MaybePromise<PrivacyWitnessJson | undefined>;
  /** Equivocation evidence this node holds (bounded by the consensus engine). */
  evidence(): MaybePromise<EvidenceEntry[]>;
  metrics(): NodeMetrics;
  /** The engine's audit log entries from `from` (at most `limit`) and its proven head. */
  auditLog?(query: { from: number; limit: number }): MaybePromise<AuditLogRead>;
  /** The monitor's stored findings, newest first (absent: the node runs no monitor). */
  findings?(query: FindingQuery): MaybePromise<Finding[]>;
  /** Findings made since start, by alert id and severity (for `/metrics`). */
  findingCounts?(): FindingCount[];
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
/** A kept certificate (its codec encoding) as the API serves it. */
export function priceCertificateEntryOf(entry: {
  readonly assetId: number;
  readonly symbol: string;
  readonly height: number;
  readonly encoded: Uint8Array;
}): PriceCertificateEntry {
  return {
    assetId: entry.assetId,
    symbol: entry.symbol,
    height: entry.height,
    certificate: priceCertificateToJson(PriceCertificateCodec.decode(entry.encoded)),
    encoded: hex(entry.encoded),
  };
}

export function priceCertificateToJson(certificate: PriceCertificateValue): PriceCertificateJson {
  const json = toJson(PriceCertificateType, certificate) as unknown as PriceCertificateJson;
  return {
    ...json,
    exponent: certificate.exponent | 0,
    publishTime: certificate.publishTime,
    epoch: certificate.epoch,
    chainId: certificate.chainId,
  };
}

/**
 * Parses {@link priceCertificateToJson}'s form back into the codec's value.
 * @throws CodecError naming the field when the JSON is not a price certificate
 */
export function priceCertificateFromJson(json: PriceCertificateJson): PriceCertificateValue {
  const exponent = Number.isInteger(json.exponent) ? json.exponent >>> 0 : json.exponent;
  const codecForm = {
    ...json,
    exponent,
    publishTime: codecUint64(json.publishTime),
    epoch: codecUint64(json.epoch),
    chainId: codecUint64(json.chainId),
  };
  return fromJson(PriceCertificateType, codecForm, 'certificate');
}

/**
 * A 64-bit integer the API shows as a JSON number, back in the codec's decimal-string form. Only a
 * safe integer converts; anything else is passed on for `fromJson` to refuse with the field named.
 */
function codecUint64(value: unknown): unknown {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
}

/** The JSON form of a consensus finality certificate. */
export function certificateToJson(certificate: Certificate): CertificateJson {
  const json = toJson(CertificateType, certificate) as unknown as CertificateJson;
  return { ...json, view: certificate.view };
}

/**
 * Parses {@link certificateToJson}'s form back into the codec's value.
 * @throws CodecError naming the field when the JSON is not a certificate
 */
export function certificateFromJson(json: CertificateJson, path = 'finalization'): Certificate {
  return fromJson(CertificateType, { ...json, view: codecUint64(json.view) }, path);
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
  const json = toJson(EvidenceType, evidence) as unknown as EvidenceEntry['evidence'];
  return {
    first: { ...json.first, view: evidence.first.view },
    second: { ...json.second, view: evidence.second.view },
  };
}

/**
 * Parses {@link evidenceToJson}'s form back into the codec's value.
 * @throws CodecError naming the field when the JSON is not evidence
 */
export function evidenceFromJson(json: EvidenceEntry['evidence']): Evidence {
  return fromJson(
    EvidenceType,
    {
      first: { ...json.first, view: codecUint64(json.first.view) },
      second: { ...json.second, view: codecUint64(json.second.view) },
    },
    'evidence',
  );
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
    balanceDecimal: quoteDecimal(account.balance),
    marginMode: account.marginMode,
    positions: account.positions.map((position) => ({ seriesId: position.seriesId, lots: position.lots })),
    openOrders: account.openOrders.map((order) => ({ ...order })),
    margin:
      account.margin === undefined
        ? null
        : {
            equity: account.margin.equity.toString(),
            equityDecimal: quoteDecimal(account.margin.equity),
            initial: account.margin.initial.toString(),
            initialDecimal: quoteDecimal(account.margin.initial),
            maintenance: account.margin.maintenance.toString(),
            maintenanceDecimal: quoteDecimal(account.margin.maintenance),
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
    strikeDecimal: quoteDecimal(series.strike),
    expiryMs: series.expiryMs,
    tickSize: series.tickSize,
    lotSizeE6: series.lotSizeE6,
    multiplierE6: series.multiplierE6,
    markVolBps: series.markVolBps,
    status: series.status,
    settlementPrice: series.settlementPrice.toString(),
    settlementPriceDecimal: quoteDecimal(series.settlementPrice),
    openInterestLots: series.openInterestLots,
    markPrice: series.markPrice === undefined ? null : series.markPrice.toString(),
    markPriceDecimal: series.markPrice === undefined ? null : quoteDecimal(series.markPrice),
    greeks: marketGreeks(series, 'venue') as MarketGreeksJson | null,
    greeksPerUnit: marketGreeks(series, 'per-unit') as MarketGreeksPerUnitJson | null,
  };
}

/** A price with its whole-unit decimals (`price` × 10^`exponent`), as the API serves it. */
export function priceWithDecimals(price: PriceJson): PriceWithDecimalsJson {
  const scale = -price.exponent;
  const toUnits = (ticks: Decimal) =>
    scale >= 0 ? unitDecimal(BigInt(ticks), scale) : (BigInt(ticks) * 10n ** BigInt(-scale)).toString();
  return { ...price, priceDecimal: toUnits(price.price), confidenceDecimal: toUnits(price.confidence) };
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

/**
 * The trades and liquidation steps among a block's engine events, in event order. A book
 * liquidation step is emitted after its fills, so those fills (the account as taker, in the same
 * series, just before it) are marked `liquidation` and give the step its side. A backstop take's
 * side follows from its cash (the account pays to buy); an auto-deleveraging trade names its own.
 */
export function fillsOf(events: readonly EngineEvent[], height: number, timeMs: number): FillJson[] {
  const fills: FillJson[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'fill':
        fills.push({
          kind: 'trade',
          height,
          timeMs,
          seriesId: event.seriesId,
          makerOrderId: event.makerOrderId,
          takerOrderId: event.takerOrderId,
          maker: prefixed(event.maker),
          taker: prefixed(event.taker),
          takerSide: event.takerSide,
          priceTicks: event.priceTicks,
          lots: event.lots,
          makerFee: event.makerFee.toString(),
          makerFeeDecimal: quoteDecimal(event.makerFee),
          takerFee: event.takerFee.toString(),
          takerFeeDecimal: quoteDecimal(event.takerFee),
          liquidation: false,
        });
        break;
      case 'liquidationStep': {
        const account = prefixed(event.account);
        let side: 'buy' | 'sell' | undefined;
        for (let i = fills.length - 1; i >= 0; i--) {
          const fill = fills[i]!;
          if (fill.kind !== 'trade' || fill.liquidation || fill.taker !== account) break;
          if (fill.seriesId !== event.seriesId) break;
          fill.liquidation = true;
          side = fill.takerSide;
        }
        fills.push({
          kind: 'liquidation',
          height,
          timeMs,
          seriesId: event.seriesId,
          lots: event.lots,
          account,
          side: side ?? null,
          penalty: event.penalty.toString(),
          penaltyDecimal: quoteDecimal(event.penalty),
          equityBefore: event.equityBefore.toString(),
          equityBeforeDecimal: quoteDecimal(event.equityBefore),
          maintenanceBefore: event.maintenanceBefore.toString(),
          maintenanceBeforeDecimal: quoteDecimal(event.maintenanceBefore),
        });
        break;
      }
      case 'backstopTaken':
        fills.push({
          kind: 'backstop',
          height,
          timeMs,
          seriesId: event.seriesId,
          lots: event.lots,
          account: prefixed(event.account),
          counterparty: BACKSTOP_ACCOUNT,
          side: sideOfCash(event.cash),
          priceTicks: event.priceTicks,
          cash: event.cash.toString(),
          cashDecimal: quoteDecimal(event.cash),
        });
        break;
      case 'autoDeleverage':
        fills.push({
          kind: 'deleverage',
          height,
          timeMs,
          seriesId: event.seriesId,
          lots: event.lots,
          account: prefixed(event.account),
          counterparty: prefixed(event.counterparty),
          side: event.side,
          price: event.price.toString(),
          priceDecimal: quoteDecimal(event.price),
          cash: event.cash.toString(),
          cashDecimal: quoteDecimal(event.cash),
          lossShare: event.lossShare.toString(),
          lossShareDecimal: quoteDecimal(event.lossShare),
        });
        break;
    }
  }
  return fills;
}

/** The insurance fund's backstop account, as the fills name it. */
export const BACKSTOP_ACCOUNT: Hex = hex(BACKSTOP_PUBLIC_KEY);

/** An account that pays (negative cash) bought; one that is paid sold; zero tells nothing. */
function sideOfCash(cash: bigint): 'buy' | 'sell' | null {
  return cash < 0n ? 'buy' : cash > 0n ? 'sell' : null;
}

function prefixed(key: string): Hex {
  return key.startsWith('0x') ? key : `0x${key}`;
}

/** Decimal places of the engine's quote asset (USDC-like; src/execution/types.ts). */
export const QUOTE_DECIMALS = 6;

/**
 * `value` × 10^−`decimals` as an exact decimal: "10030.25", "-0.000001", "0".
 * @example unitDecimal(10_030_250_000n, 6) === '10030.25'
 */
export function unitDecimal(value: bigint, decimals: number): UnitDecimal {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  const body = fraction === '' ? whole : `${whole}.${fraction}`;
  return negative ? `-${body}` : body;
}

/** An amount in quote base units, in whole quote units. */
export function quoteDecimal(value: bigint): UnitDecimal {
  return unitDecimal(value, QUOTE_DECIMALS);
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
  if (result.withdrawalId !== undefined) outcome.withdrawalId = result.withdrawalId;
  if (result.filledLots !== undefined) outcome.filledLots = result.filledLots;
  if (result.restingLots !== undefined) outcome.restingLots = result.restingLots;
  return outcome;
}

/** "0x"-prefixed lower-case hex of `bytes`. */
export function hex(bytes: Uint8Array): Hex {
  return `0x${toHex(bytes)}`;
}

/**
 * A state-root opening's fair-ordering digests as served (src/chain/block-rule.ts
 * `nodeStateRootFairParts`): left out when there are none, the opening chains without fair
 * ordering have always served.
 */
export function fairPartsJson(parts: readonly Uint8Array[]): { fairParts?: Hex[] } {
  return parts.length === 0 ? {} : { fairParts: parts.map(hex) };
}
