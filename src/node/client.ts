/**
 * The TypeScript client of a Palisade node (`palisade/client`): reads state, signs and submits
 * orders with nonce management, streams events, and verifies what the node serves — finality
 * certificates against the validator set, price certificates against the threshold keyset, and
 * account state against a state root — so a caller need not trust the node it talks to for those.
 *
 * Uses the global `fetch` and `WebSocket` (Node 22+, browsers). Every failure is a `ClientError`
 * with a stable `code` (`ClientErrorCode`, docs/api.md): the API's own error code (see
 * `api/errors.ts`) when the node answered, or one of the client's own (`CLIENT_ERRORS`).
 *
 * Orders are a union (`OrderParameters`), so the compiler refuses the combinations the engine
 * refuses (a market order resting GTC or post-only, a post-only order that is IOC); the client
 * checks the same at run time for JavaScript callers, before anything is signed.
 *
 * @example
 * const client = createClient({ url: 'http://127.0.0.1:8080' });
 * const trader = client.trader(createEd25519Signer(seed));
 * const { id } = await trader.placeOrder({ seriesId: 1, side: 'buy', priceTicks: 600, lots: 10 });
 * const outcome = await client.waitForTransaction(id);
 */
import { KEY_WAIT_BLOCKS_MAX } from '../chain/fair-batches.ts';
import { BlockCodec, type Certificate, VoteKind } from '../codec/consensus.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { AccountRecordCodec, type ExecutionAction, encodeAction } from '../codec/execution.ts';
import { fromJson } from '../codec/json.ts';
import { StateProofType } from '../codec/state-proof.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../codec/transaction.ts';
import { verifyCertificate } from '../consensus/certificate.ts';
import { createValidatorSet, type ValidatorSet } from '../consensus/validators.ts';
import { blockDigest } from '../consensus/votes.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { prepareOrderSealing, sealOrder } from '../crypto/shutter/envelope.ts';
import { decodeG2 } from '../crypto/shutter/ibe.ts';
import type { PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import { verifyStateProof } from '../crypto/state-commitment.ts';
import { signTransaction, transactionId } from '../crypto/transaction.ts';
import { accountStateKey } from '../execution/engine.ts';
import { verifyPriceCertificate as verifyFrostPriceCertificate } from '../interop/price-certificate.ts';
import type { Finding } from '../monitor/finding.ts';
import type { FindingQuery } from '../monitor/monitor.ts';
import { frameTransactions } from './api/batch.ts';
import type { CheckpointJson, WithdrawalProofJson } from './api/bridge.ts';
import type { EonKeysetJson } from './api/eon.ts';
import { API_ERRORS, type ApiErrorCode } from './api/errors.ts';
import type { KeyLifecycleJson } from './api/keys.ts';
import type { PrivacyCheckpointJson, PrivacyWitnessJson } from './api/privacy.ts';
import type { DepositState, DepositStatusJson } from './deposit-status.ts';
import type { ValidatorSetProofJson } from './validator-set-proofs.ts';
import type {
  AccountRead,
  BlockDetail,
  BlockSummary,
  BookJson,
  EvidenceEntry,
  FillJson,
  Hex,
  KeysetJson,
  MarketJson,
  NodeEventTopic,
  NodeStatus,
  PriceCertificateEntry,
  PriceWithDecimalsJson,
  StreamEvent,
  TransactionLookup,
  TransactionOutcome,
} from './view.ts';

import { certificateFromJson, priceCertificateFromJson } from './view.ts';

export type * from './view.ts';

/** The codes a `ClientError` has that the node never sends: the client's own findings. */
export const CLIENT_ERRORS = Object.freeze({
  NETWORK: 'the node could not be reached, or the connection failed',
  TIMEOUT: 'no answer (or no finalization) within the time allowed',
  BAD_RESPONSE: 'the node answered something that is not the API (not JSON, an unknown error code)',
  INVALID_ORDER: 'order parameters the engine would refuse; nothing was signed or sent',
  INVALID_ADDRESS: 'an EVM address that is not 20 bytes of 0x hex; nothing was signed or sent',
} as const);

/** Every code a `ClientError` can have: the API's (docs/api.md, "Errors") and the client's own. */
export type ClientErrorCode = ApiErrorCode | keyof typeof CLIENT_ERRORS;

function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(API_ERRORS, code);
}

/** A failed call: `code` is the API's error code, or one of {@link CLIENT_ERRORS}. */
export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** The HTTP status, or 0 when there was no answer. */
  readonly status: number;
  readonly field: string | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    status: number,
    field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ClientError';
    this.code = code;
    this.status = status;
    this.field = field;
  }
}

export interface ClientOptions {
  /** The node's API base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

/** What every order has. */
interface OrderCommon {
  seriesId: number;
  side: 'buy' | 'sell';
  /** Size in lots of the series (`MarketJson.lotSizeE6`). */
  lots: number;
  /** Only ever reduces the position (capped at its size). */
  reduceOnly?: boolean;
  /** Non-zero: the engine refuses a second order with the same id from this account. */
  clientOrderId?: number;
}

/** A limit order: GTC rests what does not fill; IOC and FOK never rest. */
export interface LimitOrderParameters extends OrderCommon {
  kind?: 'limit';
  /** Price in ticks of the series' tick size (so the limit price is `priceTicks × tickSize`). */
  priceTicks: number;
  timeInForce?: 'gtc' | 'ioc' | 'fok';
  postOnly?: false;
}

/** A post-only limit order: refused (`POST_ONLY_WOULD_CROSS`) rather than taking; always GTC. */
export interface PostOnlyOrderParameters extends OrderCommon {
  kind?: 'limit';
  priceTicks: number;
  timeInForce?: 'gtc';
  postOnly: true;
}

/** A market order: trades within the venue's market band, never rests, so it has no price. */
export interface MarketOrderParameters extends OrderCommon {
  kind: 'market';
  priceTicks?: undefined;
  /** Default IOC. */
  timeInForce?: 'ioc' | 'fok';
  postOnly?: false;
}

/**
 * An order the engine can accept: the compiler refuses a market order with a price, GTC or
 * post-only, and a post-only order that is IOC or FOK (the engine's INVALID_ORDER).
 */
export type OrderParameters = LimitOrderParameters | PostOnlyOrderParameters | MarketOrderParameters;

/** What an order needs of its series to be encoded: prices and sizes go on the wire in base units. */
export type OrderMarket = Pick<MarketJson, 'seriesId' | 'tickSize' | 'lotSizeE6'>;

export interface TraderOptions {
  /** Blocks after the current height at which a transaction expires; default 120. */
  expiryBlocks?: number;
}

/** An account that signs with `signer` and keeps its own nonce count. */
export interface Trader {
  readonly publicKey: Hex;
  /**
   * Places a limit, post-only or market order. Sizes are in lots and prices in ticks, as the
   * series lists them (`MarketJson.lotSizeE6`, `tickSize`); pass the series' market, or leave it
   * out and the client reads it from `/v1/markets` (once per series).
   * @throws ClientError INVALID_ORDER for parameters the engine would refuse (nothing is signed),
   *   SERIES_NOT_FOUND when the node lists no such series
   */
  placeOrder(order: OrderParameters, market?: OrderMarket): Promise<{ id: Hex }>;
  cancel(orderId: number): Promise<{ id: Hex }>;
  /** Cancels every open order in `seriesId`, or in every series when omitted. */
  cancelAll(seriesId?: number): Promise<{ id: Hex }>;
  /** Credits `account` (only the genesis operator's deposits are executed). */
  deposit(account: Hex, amount: bigint | number): Promise<{ id: Hex }>;
  /**
   * Withdraws `amount` quote base units to `to.recipient` on the bridge's EVM chain, paid in
   * `to.token` (the genesis bridge's ERC-20). Without `to` the action names no recipient, which a
   * bridged engine refuses (INVALID_RECIPIENT); src/node/withdraw-evm.ts claims it on the vault.
   */
  withdraw(amount: bigint | number, to?: { recipient: Hex; token: Hex }): Promise<{ id: Hex }>;
  /** Signs and submits any execution action. */
  submitAction(action: ExecutionAction): Promise<{ id: Hex }>;
  /**
   * Forgets the local nonce and reads the account's again on the next submission: call it after
   * a transaction was refused in a block (a refusal does not consume its nonce).
   */
  resync(): void;
}

export interface StreamSubscription {
  close(): void;
  /** Resolves when the socket is open and the subscription confirmed. */
  readonly ready: Promise<void>;
}

/** One transaction's answer within a batch submission. */
export type BatchSubmitResult =
  | { status: 'accepted'; id: Hex }
  | { status: 'refused'; code: ApiErrorCode; reason: string };

export interface PalisadeClient {
  status(): Promise<NodeStatus>;
  /** Submits a signed transaction (or its canonical encoding). */
  submitTransaction(transaction: SignedTransaction | Uint8Array): Promise<{ id: Hex }>;
  /**
   * Submits many in one request (`POST /v1/transactions/batch`, binary); resolves with one answer
   * per transaction, in order: a refusal is an answer, not an error.
   */
  submitTransactions(transactions: readonly (SignedTransaction | Uint8Array)[]): Promise<BatchSubmitResult[]>;
  /**
   * Submits an encrypted order (`encrypt`'s output, `POST /v1/envelopes`); resolves with the slot
   * it holds. A refusal rejects with a `ClientError` carrying the `ENVELOPE_*` code.
   */
  submitEnvelope(envelope: Uint8Array): Promise<{ sender: Hex; nonce: number; expiryHeight: number }>;
  transaction(id: Hex): Promise<TransactionLookup>;
  /** Polls until the transaction is finalized; resolves with its outcome. */
  waitForTransaction(
    id: Hex,
    options?: { timeoutMs?: number; intervalMs?: number },
  ): Promise<TransactionOutcome>;
  blocks(options?: { from?: number; limit?: number }): Promise<BlockSummary[]>;
  block(height: number): Promise<BlockDetail>;
  account(publicKey: Hex | Uint8Array, options?: { proof?: boolean }): Promise<AccountRead>;
  markets(): Promise<MarketJson[]>;
  book(seriesId: number, depth?: number): Promise<BookJson>;
  fills(options?: { seriesId?: number; limit?: number }): Promise<FillJson[]>;
  prices(): Promise<PriceWithDecimalsJson[]>;
  /**
   * The latest price certificate per asset; with `height` or `time` (Unix seconds), the one in
   * force then (docs/api.md); `asset` keeps one symbol. Verify each (light-client.ts does).
   */
  certificates(
    query?: { asset?: string } & ({ height?: number; time?: never } | { time?: number; height?: never }),
  ): Promise<{ keyset: KeysetJson | null; certificates: PriceCertificateEntry[] }>;
  evidence(): Promise<EvidenceEntry[]>;
  /** The node's monitor findings, newest first (docs/api.md, Findings). */
  findings(query?: FindingQuery): Promise<Finding[]>;
  /**
   * The account tree's checkpoint at `height` (margin proofs, src/node/privacy.ts): check it with
   * `verifyAccountTreeCheckpoint` before use.
   */
  privacyCheckpoint(height: number): Promise<PrivacyCheckpointJson>;
  /** A registered account's leaf inputs and Merkle path (this names the account to the node). */
  privacyWitness(publicKey: Hex | Uint8Array): Promise<PrivacyWitnessJson>;
  /** A certified withdrawals checkpoint, by height or the latest (docs/api.md, Withdrawals). */
  checkpoint(height: number | 'latest'): Promise<CheckpointJson>;
  /** The price keyset's lifecycle and its handover chain (`GET /v1/keys`); follow it with a light client. */
  keys(): Promise<KeyLifecycleJson>;
  /**
   * The eon keyset orders are encrypted to (`GET /v1/eon`); check it against the genesis
   * validators with `verifyEonKeysetJson` (src/node/eon-client.ts) before encrypting to it.
   */
  eon(): Promise<EonKeysetJson>;
  /**
   * At a validator-set boundary, the set record under the root the boundary block commits, proven;
   * BOUNDARY_NOT_FOUND when not kept. Check it with a light client's `acceptValidatorSet`.
   */
  validatorSetProof(height: number): Promise<ValidatorSetProofJson>;
  /** A withdrawal's leaf, proof and certified checkpoint; WITHDRAWAL_NOT_FOUND until certified. */
  withdrawal(id: number): Promise<WithdrawalProofJson>;
  /** A vault deposit's status by its nonce: credited, or pending with its reporters (docs/api.md, Deposits). */
  deposit(nonce: number): Promise<DepositStatusJson>;
  /** Vault deposits the node has seen reported, highest nonce first. */
  deposits(query?: { status?: DepositState; limit?: number }): Promise<DepositStatusJson[]>;
  /** Polls until the withdrawal is in a certified checkpoint; TIMEOUT after `timeoutMs` (default 60 s). */
  waitForWithdrawal(
    id: number,
    options?: { timeoutMs?: number; intervalMs?: number },
  ): Promise<WithdrawalProofJson>;
  /** A trading account over this client. */
  trader(signer: Ed25519Signer, options?: TraderOptions): Trader;
  /** Opens `/v1/stream` for `topics`; `onEvent` gets every event, `onClose` the close code. */
  stream(
    topics: readonly NodeEventTopic[],
    onEvent: (event: StreamEvent) => void,
    onClose?: (code: number, reason: string) => void,
  ): StreamSubscription;
}

const SIDE = { buy: 0, sell: 1 } as const;
const KIND = { limit: 0, market: 1 } as const;
const TIME_IN_FORCE = { gtc: 0, ioc: 1, fok: 2 } as const;
/** How long a cached chain height may be used for expiry heights. */
const HEIGHT_CACHE_MS = 2000;
/** Series whose tick and lot sizes a client remembers. */
const MARKET_CACHE_MAX = 10_000;

/**
 * Why the engine would refuse `order`'s shape (INVALID_ORDER, INVALID_PRICE, INVALID_SIZE), for
 * callers the compiler did not check; undefined when it is well formed.
 */
function orderProblem(order: OrderParameters): string | undefined {
  const loose = order as {
    kind?: unknown;
    priceTicks?: unknown;
    timeInForce?: unknown;
    postOnly?: unknown;
    lots?: unknown;
    side?: unknown;
  };
  if (loose.side !== 'buy' && loose.side !== 'sell') return 'side must be buy or sell';
  if (!Number.isSafeInteger(loose.lots) || (loose.lots as number) <= 0)
    return 'lots must be a positive integer';
  if (loose.kind !== undefined && loose.kind !== 'limit' && loose.kind !== 'market')
    return 'kind must be limit or market';
  if (loose.timeInForce !== undefined && !Object.hasOwn(TIME_IN_FORCE, loose.timeInForce as string))
    return 'timeInForce must be gtc, ioc or fok';
  if (loose.kind === 'market') {
    if (loose.priceTicks !== undefined) return 'a market order has no price';
    if (loose.timeInForce === 'gtc') return 'a market order never rests: it cannot be GTC';
    if (loose.postOnly === true) return 'a market order takes: it cannot be post-only';
    return undefined;
  }
  if (!Number.isSafeInteger(loose.priceTicks) || (loose.priceTicks as number) <= 0)
    return 'priceTicks must be a positive integer';
  if (loose.postOnly === true && loose.timeInForce !== undefined && loose.timeInForce !== 'gtc')
    return 'a post-only order rests: it must be GTC';
  return undefined;
}

function hexOf(bytes: Uint8Array): Hex {
  return `0x${toHex(bytes)}`;
}

function bytesOf(value: Hex, what: string): Uint8Array {
  const bytes = fromHex(value);
  if (bytes === undefined) throw new ClientError('BAD_RESPONSE', `${what} is not hex`, 0);
  return bytes;
}

/** A 20-byte EVM address from 0x hex. @throws ClientError INVALID_ADDRESS */
function addressOf(value: Hex, what: string): Uint8Array {
  const bytes = /^0x[0-9a-fA-F]{40}$/.test(value) ? fromHex(value.slice(2)) : undefined;
  if (bytes === undefined) throw new ClientError('INVALID_ADDRESS', `${what} is not a 20-byte 0x address`, 0);
  return bytes;
}

/**
 * @example const client = createClient({ url: 'http://127.0.0.1:8080' }); await client.status();
 */
export function createClient(options: ClientOptions): PalisadeClient {
  const base = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  let chain: { chainId: number; height: number; atMs: number } | undefined;

  async function call<T>(
    path: string,
    init: RequestInit = {},
    allowed: readonly number[] = [200],
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      throw new ClientError(
        timedOut ? 'TIMEOUT' : 'NETWORK',
        timedOut ? `${path}: no answer within ${timeoutMs} ms` : `${path}: ${(error as Error).message}`,
        0,
        undefined,
        { cause: error },
      );
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new ClientError('BAD_RESPONSE', `${path}: answer is not JSON`, response.status, undefined, {
        cause: error,
      });
    }
    if (allowed.includes(response.status)) return body as T;
    const failure = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)
      ?.error;
    if (typeof failure?.code === 'string') {
      const code = failure.code;
      if (!isApiErrorCode(code)) {
        throw new ClientError(
          'BAD_RESPONSE',
          `${path}: unknown error code ${JSON.stringify(code.slice(0, 64))}`,
          response.status,
        );
      }
      throw new ClientError(
        code,
        typeof failure.message === 'string' ? failure.message : code,
        response.status,
        typeof failure.field === 'string' ? failure.field : undefined,
      );
    }
    throw new ClientError('BAD_RESPONSE', `${path}: unexpected status ${response.status}`, response.status);
  }

  async function status(): Promise<NodeStatus> {
    const current = await call<NodeStatus>('/v1/status');
    chain = { chainId: current.chainId, height: current.height, atMs: performance.now() };
    return current;
  }

  async function chainNow(): Promise<{ chainId: number; height: number }> {
    if (chain === undefined || performance.now() - chain.atMs > HEIGHT_CACHE_MS) await status();
    return chain!;
  }

  async function submitTransaction(transaction: SignedTransaction | Uint8Array): Promise<{ id: Hex }> {
    const bytes =
      transaction instanceof Uint8Array ? transaction : SignedTransactionCodec.encode(transaction);
    const accepted = await call<{ id: Hex }>(
      '/v1/transactions',
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Uint8Array.from(bytes),
      },
      [202],
    );
    return { id: accepted.id };
  }

  async function submitEnvelope(envelope: Uint8Array) {
    const accepted = await call<{ sender: Hex; nonce: number; expiryHeight: number }>(
      '/v1/envelopes',
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Uint8Array.from(envelope),
      },
      [202],
    );
    return { sender: accepted.sender, nonce: accepted.nonce, expiryHeight: accepted.expiryHeight };
  }

  async function submitTransactions(
    transactions: readonly (SignedTransaction | Uint8Array)[],
  ): Promise<BatchSubmitResult[]> {
    const encodings = transactions.map((transaction) =>
      transaction instanceof Uint8Array ? transaction : SignedTransactionCodec.encode(transaction),
    );
    const answer = await call<{ results: BatchSubmitResult[] }>('/v1/transactions/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: frameTransactions(encodings),
    });
    if (!Array.isArray(answer.results) || answer.results.length !== encodings.length)
      throw new ClientError(
        'BAD_RESPONSE',
        '/v1/transactions/batch: one answer per transaction expected',
        200,
      );
    return answer.results;
  }

  async function account(
    publicKey: Hex | Uint8Array,
    readOptions: { proof?: boolean } = {},
  ): Promise<AccountRead> {
    const key = typeof publicKey === 'string' ? publicKey : hexOf(publicKey);
    return call<AccountRead>(`/v1/accounts/${key}${readOptions.proof === true ? '?proof=true' : ''}`);
  }

  // A series' tick and lot size never change once listed, so one read serves every later order.
  const marketCache = new Map<number, OrderMarket>();
  async function marketOf(seriesId: number): Promise<OrderMarket> {
    const cached = marketCache.get(seriesId);
    if (cached !== undefined) return cached;
    const listed = (await call<{ markets: MarketJson[] }>('/v1/markets')).markets;
    for (const market of listed) {
      if (marketCache.size >= MARKET_CACHE_MAX) break;
      marketCache.set(market.seriesId, {
        seriesId: market.seriesId,
        tickSize: market.tickSize,
        lotSizeE6: market.lotSizeE6,
      });
    }
    const found = marketCache.get(seriesId) ?? listed.find((market) => market.seriesId === seriesId);
    if (found === undefined) throw new ClientError('SERIES_NOT_FOUND', `no series ${seriesId}`, 404);
    return found;
  }

  function trader(signer: Ed25519Signer, traderOptions: TraderOptions = {}): Trader {
    const publicKey = hexOf(signer.publicKey);
    const expiryBlocks = traderOptions.expiryBlocks ?? 120;
    let nextNonce: number | undefined;
    // Submissions are chained so that nonces are handed out in the order they reach the node.
    let queue: Promise<unknown> = Promise.resolve();

    async function committedNonce(): Promise<number> {
      try {
        return (await account(publicKey)).account?.nonce ?? 0;
      } catch (error) {
        if (error instanceof ClientError && error.code === 'ACCOUNT_NOT_FOUND') return 0;
        throw error;
      }
    }

    async function submitOnce(action: ExecutionAction, retry: boolean): Promise<{ id: Hex }> {
      if (nextNonce === undefined) nextNonce = await committedNonce();
      const { chainId, height } = await chainNow();
      const nonce = nextNonce;
      const transaction = signTransaction(signer, {
        chainId,
        nonce,
        expiryHeight: height + expiryBlocks,
        payload: encodeAction(action),
      });
      try {
        const result = await submitTransaction(transaction);
        nextNonce = nonce + 1;
        return result;
      } catch (error) {
        // Our count and the chain disagree (another client signed with this key, or a block
        // refused one of ours): read the committed nonce again and try once more.
        const stale =
          error instanceof ClientError && (error.code === 'NONCE_TOO_LOW' || error.code === 'NONCE_GAP');
        if (stale) nextNonce = undefined;
        if (stale && retry) return submitOnce(action, false);
        throw error;
      }
    }

    function submitAction(action: ExecutionAction): Promise<{ id: Hex }> {
      const result = queue.then(() => submitOnce(action, true));
      queue = result.catch(() => undefined);
      return result;
    }

    return {
      publicKey,
      submitAction,
      async placeOrder(order, market) {
        const problem = orderProblem(order);
        if (problem !== undefined) throw new ClientError('INVALID_ORDER', problem, 0);
        const series = market ?? (await marketOf(order.seriesId));
        if (series.seriesId !== order.seriesId) {
          throw new ClientError(
            'INVALID_ORDER',
            `the market given is series ${series.seriesId}, the order is for ${order.seriesId}`,
            0,
          );
        }
        const isMarket = order.kind === 'market';
        return submitAction({
          kind: 'placeOrder',
          value: {
            seriesId: order.seriesId,
            side: SIDE[order.side],
            kind: KIND[order.kind ?? 'limit'],
            timeInForce: TIME_IN_FORCE[order.timeInForce ?? (isMarket ? 'ioc' : 'gtc')],
            postOnly: order.postOnly ?? false,
            reduceOnly: order.reduceOnly ?? false,
            price: isMarket ? 0 : order.priceTicks * series.tickSize,
            sizeE6: order.lots * series.lotSizeE6,
            clientOrderId: order.clientOrderId ?? 0,
          },
        });
      },
      cancel: (orderId) => submitAction({ kind: 'cancelOrder', value: { orderId } }),
      cancelAll: (seriesId = 0) => submitAction({ kind: 'cancelAll', value: { seriesId } }),
      deposit: (to, amount) =>
        submitAction({ kind: 'deposit', value: { account: bytesOf(to, 'account'), amount: Number(amount) } }),
      withdraw: (amount, to) =>
        submitAction({
          kind: 'withdraw',
          value: {
            amount: Number(amount),
            recipient: to === undefined ? new Uint8Array(20) : addressOf(to.recipient, 'recipient'),
            token: to === undefined ? new Uint8Array(20) : addressOf(to.token, 'token'),
          },
        }),
      resync() {
        nextNonce = undefined;
      },
    };
  }

  return {
    status,
    submitTransaction,
    submitTransactions,
    submitEnvelope,
    transaction: (id) => call<TransactionLookup>(`/v1/transactions/${id}`),
    async waitForTransaction(id, waitOptions = {}) {
      const deadline = performance.now() + (waitOptions.timeoutMs ?? 30_000);
      const intervalMs = waitOptions.intervalMs ?? 100;
      for (;;) {
        const found = await call<TransactionLookup>(`/v1/transactions/${id}`);
        if (found.status === 'finalized') return found.outcome;
        if (performance.now() > deadline) {
          throw new ClientError('TIMEOUT', `transaction ${id} not finalized in time`, 0);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    async blocks(page = {}) {
      const query = new URLSearchParams();
      if (page.from !== undefined) query.set('from', String(page.from));
      if (page.limit !== undefined) query.set('limit', String(page.limit));
      const suffix = query.size > 0 ? `?${query}` : '';
      return (await call<{ blocks: BlockSummary[] }>(`/v1/blocks${suffix}`)).blocks;
    },
    block: (height) => call<BlockDetail>(`/v1/blocks/${height}`),
    account,
    markets: async () => (await call<{ markets: MarketJson[] }>('/v1/markets')).markets,
    book: (seriesId, depth) =>
      call<BookJson>(`/v1/markets/${seriesId}/book${depth === undefined ? '' : `?depth=${depth}`}`),
    async fills(query = {}) {
      const params = new URLSearchParams();
      if (query.seriesId !== undefined) params.set('seriesId', String(query.seriesId));
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      const suffix = params.size > 0 ? `?${params}` : '';
      return (await call<{ fills: FillJson[] }>(`/v1/fills${suffix}`)).fills;
    },
    prices: async () => (await call<{ prices: PriceWithDecimalsJson[] }>('/v1/oracle/prices')).prices,
    certificates(query = {}) {
      const params = new URLSearchParams();
      if (query.asset !== undefined) params.set('asset', query.asset);
      if (query.height !== undefined) params.set('height', String(query.height));
      if (query.time !== undefined) params.set('time', String(query.time));
      const search = params.size > 0 ? `?${params}` : '';
      return call<{ keyset: KeysetJson | null; certificates: PriceCertificateEntry[] }>(
        `/v1/oracle/certificates${search}`,
      );
    },
    evidence: async () => (await call<{ evidence: EvidenceEntry[] }>('/v1/evidence')).evidence,
    async findings(query = {}) {
      const params = new URLSearchParams();
      if (query.severities !== undefined && query.severities.length > 0)
        params.set('severity', query.severities.join(','));
      if (query.types !== undefined && query.types.length > 0) params.set('type', query.types.join(','));
      if (query.sinceMs !== undefined) params.set('since', String(query.sinceMs));
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      const suffix = params.size > 0 ? `?${params}` : '';
      return (await call<{ findings: Finding[] }>(`/v1/findings${suffix}`)).findings;
    },
    privacyCheckpoint: (height) => call<PrivacyCheckpointJson>(`/v1/privacy/checkpoints/${height}`),
    checkpoint: (height) => call<CheckpointJson>(`/v1/bridge/checkpoints/${height}`),
    keys: () => call<KeyLifecycleJson>('/v1/keys'),
    eon: () => call<EonKeysetJson>('/v1/eon'),
    validatorSetProof: (height) => call<ValidatorSetProofJson>(`/v1/validators/boundaries/${height}`),
    withdrawal: (id) => call<WithdrawalProofJson>(`/v1/bridge/withdrawals/${id}`),
    deposit: (nonce) => call<DepositStatusJson>(`/v1/bridge/deposits/${nonce}`),
    async deposits(query = {}) {
      const params = new URLSearchParams();
      if (query.status !== undefined) params.set('status', query.status);
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      const suffix = params.size > 0 ? `?${params}` : '';
      return (await call<{ deposits: DepositStatusJson[] }>(`/v1/bridge/deposits${suffix}`)).deposits;
    },
    async waitForWithdrawal(id, waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 60_000);
      for (;;) {
        try {
          return await call<WithdrawalProofJson>(`/v1/bridge/withdrawals/${id}`);
        } catch (error) {
          if (!(error instanceof ClientError) || error.code !== 'WITHDRAWAL_NOT_FOUND') throw error;
        }
        if (Date.now() >= deadline)
          throw new ClientError('TIMEOUT', `withdrawal ${id} is in no certified checkpoint yet`, 0);
        await new Promise((resolve) => setTimeout(resolve, waitOptions.intervalMs ?? 250));
      }
    },
    privacyWitness: (publicKey) =>
      call<PrivacyWitnessJson>(
        `/v1/privacy/accounts/${typeof publicKey === 'string' ? publicKey : `0x${toHex(publicKey)}`}/witness`,
      ),
    trader,
    stream(topics, onEvent, onClose) {
      const url = new URL(`/v1/stream?topics=${topics.join(',')}`, base);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const socket = new WebSocket(url);
      let confirm: () => void = () => {};
      let fail: (error: Error) => void = () => {};
      const ready = new Promise<void>((resolve, reject) => {
        confirm = resolve;
        fail = reject;
      });
      // A caller that never awaits `ready` must not get an unhandled rejection when the stream ends.
      ready.catch(() => {});
      socket.addEventListener('message', (message) => {
        const data = JSON.parse(String(message.data)) as { type?: string; topic?: string };
        if (data.type === 'subscribed') confirm();
        else if (data.topic !== undefined) onEvent(data as StreamEvent);
      });
      socket.addEventListener('error', () => fail(new ClientError('NETWORK', 'stream failed to open', 0)));
      socket.addEventListener('close', (event) => {
        fail(new ClientError('NETWORK', `stream closed (${event.code})`, 0));
        onClose?.(event.code, event.reason);
      });
      return { ready, close: () => socket.close() };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Verification: what a client checks instead of trusting the node.

/** Eon keys decoded (and subgroup-checked) by `encrypt`: a client encrypts to one or two at a time. */
const EON_KEYS_KEPT = 4;
const eonKeys = new Map<string, ReturnType<typeof decodeG2>>();

/**
 * The eon key as a checked point of G2, decoded once per key: decompressing and checking the
 * subgroup cost about 5 ms on noble (measured), half of what an order to a prepared block cost
 * when every `encrypt` did it again.
 */
function eonKeyOf(bytes: Uint8Array): ReturnType<typeof decodeG2> {
  const key = toHex(bytes);
  let point = eonKeys.get(key);
  if (point === undefined) {
    point = decodeG2(bytes, 'eonPublicKey');
    eonKeys.set(key, point);
    // Oldest first out: Map iterates in insertion order.
    if (eonKeys.size > EON_KEYS_KEPT) eonKeys.delete(eonKeys.keys().next().value!);
  }
  return point;
}

/**
 * Encrypts an order (issue 14, fair ordering): `action` is signed as a transaction at `nonce`,
 * encrypted under the eon key (96-byte compressed G2, as the validators' keyset publishes it) to the
 * order's own identity, the signer's with `identityPrefix` (32 random bytes: fresh ones unless
 * given, e.g. a prefix `prepareEncryption` prepared), and wrapped in an envelope signed by the same
 * key (src/crypto/shutter/envelope.ts). Returns the `SignedOrderEnvelope` encoding. Any block up to
 * `expiryHeight` may include it; nobody can open it before a finalized block has admitted it, and
 * if none does, nobody ever can. The transaction inside runs at the start of the block after the
 * one that admitted it; its own expiry is `KEY_WAIT_BLOCKS_MAX` blocks above the envelope's.
 * @throws {CodecError} when `eonPublicKey` is not a point of G2
 */
export function encrypt(
  signer: Ed25519Signer,
  input: {
    chainId: number;
    eon: number;
    eonPublicKey: Uint8Array;
    expiryHeight: number;
    nonce: number;
    fee: number;
    action: ExecutionAction;
    identityPrefix?: Uint8Array;
  },
  options: {
    /**
     * Runs the pairing work: default noble; `await createMclBackend()` gives the same bytes several
     * times faster. A prefix prepared with `prepareEncryption` has its pairing done already.
     */
    backend?: PairingBackend;
  } = {},
): Uint8Array {
  const transaction = signTransaction(signer, {
    chainId: input.chainId,
    nonce: input.nonce,
    expiryHeight: input.expiryHeight + KEY_WAIT_BLOCKS_MAX,
    payload: encodeAction(input.action),
  });
  const envelope = sealOrder(signer, {
    chainId: input.chainId,
    eon: input.eon,
    eonPublicKey: eonKeyOf(input.eonPublicKey),
    identityPrefix: input.identityPrefix ?? globalThis.crypto.getRandomValues(new Uint8Array(32)),
    expiryHeight: input.expiryHeight,
    fee: input.fee,
    transaction,
    sigma: globalThis.crypto.getRandomValues(new Uint8Array(32)),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  });
  return SignedOrderEnvelopeCodec.encode(envelope);
}

/**
 * Prepares one future order of `sender` before it exists: picks a fresh identity prefix and does
 * its identity's pairing (the bulk of an order's encryption) now, while the client waits, and keeps
 * it. Pass the prefix returned to `encrypt` (once: a prefix is one order's identity).
 * @example const prefix = prepareEncryption({ chainId, eonPublicKey, sender: signer.publicKey }, { backend });
 * @throws {CodecError} when `eonPublicKey` is not a point of G2
 */
export function prepareEncryption(
  input: { chainId: number; eonPublicKey: Uint8Array; sender: Uint8Array },
  options: { backend?: PairingBackend } = {},
): Uint8Array {
  const identityPrefix = globalThis.crypto.getRandomValues(new Uint8Array(32));
  prepareOrderSealing({
    chainId: input.chainId,
    eonPublicKey: eonKeyOf(input.eonPublicKey),
    sender: input.sender,
    identityPrefix,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  });
  return identityPrefix;
}

/**
 * The id the order inside `encrypt(signer, input)` has once it runs (`GET /v1/transactions/:id`
 * finds it in the block that executed it): the same transaction, signed the same way (Ed25519
 * signatures are deterministic), whatever random the envelope's encryption drew.
 * @example const id = encryptedOrderId(signer, input); await client.submitEnvelope(encrypt(signer, input)); await client.waitForTransaction(id);
 */
export function encryptedOrderId(
  signer: Ed25519Signer,
  input: { chainId: number; expiryHeight: number; nonce: number; action: ExecutionAction },
): Hex {
  const transaction = signTransaction(signer, {
    chainId: input.chainId,
    nonce: input.nonce,
    expiryHeight: input.expiryHeight + KEY_WAIT_BLOCKS_MAX,
    payload: encodeAction(input.action),
  });
  return hexOf(transactionId(transaction));
}

/** A validator set from its public keys in index order (e.g. from genesis, or `/v1/status`). */
export function validatorSetOf(publicKeys: readonly (Hex | Uint8Array)[]): ValidatorSet {
  return createValidatorSet(
    publicKeys.map((key) => (typeof key === 'string' ? bytesOf(key, 'public key') : key)),
  );
}

/** Longest chain of descendants `verifyFinality` follows (the node's own bound, app.ts). */
export const MAX_FINALITY_DESCENDANTS = 8192;

/**
 * True when `block` is final under `validators` on `chainId`: its encoding hashes to its digest,
 * and its certificate is a quorum of valid finalize votes over that digest — or over the last of
 * `descendants`, where each descendant is at the next height and names the previous block's hash
 * as its parent (a block finalized through a later block's certificate). Never throws.
 * @example verifyFinality(await client.block(42), validatorSetOf(genesisKeys), 7)
 */
export function verifyFinality(block: BlockDetail, validators: ValidatorSet, chainId: number): boolean {
  try {
    const certificate: Certificate = certificateFromJson(block.finalization);
    if (certificate.kind !== VoteKind.finalize) return false;
    const decoded = BlockCodec.decode(bytesOf(block.encoded, 'encoded'));
    const digest = blockDigest(decoded);
    if (hexOf(digest) !== block.hash.toLowerCase() || decoded.height !== block.height) return false;
    const descendants = block.descendants ?? [];
    if (!Array.isArray(descendants) || descendants.length > MAX_FINALITY_DESCENDANTS) return false;
    let certified = decoded;
    let certifiedDigest = digest;
    for (const encoded of descendants) {
      const next = BlockCodec.decode(bytesOf(encoded, 'descendants'));
      if (next.height !== certified.height + 1 || !bytesEqual(next.parent, certifiedDigest)) return false;
      certified = next;
      certifiedDigest = blockDigest(next);
    }
    if (!bytesEqual(certifiedDigest, certificate.digest) || certificate.view !== certified.view) return false;
    return verifyCertificate(validators, chainId, certificate);
  } catch {
    return false;
  }
}

/**
 * True when the price certificate is signed by the keyset's group key for the keyset's epoch.
 * Never throws.
 */
export function verifyPriceCertificate(
  entry: Pick<PriceCertificateEntry, 'certificate'>,
  keyset: Pick<KeysetJson, 'epoch' | 'groupPublicKey'>,
): boolean {
  try {
    const value = priceCertificateFromJson(entry.certificate);
    return verifyFrostPriceCertificate(
      {
        report: {
          feedId: value.feedId,
          price: value.price,
          confidence: value.confidence,
          exponent: value.exponent | 0,
          publishTime: value.publishTime,
          epoch: value.epoch,
        },
        domain: { chainId: value.chainId, verifyingContract: value.verifyingContract },
        signature: value.signature,
      },
      { epoch: keyset.epoch, groupPublicKey: bytesOf(keyset.groupPublicKey, 'groupPublicKey') },
    );
  } catch {
    return false;
  }
}

/**
 * True when `read.proof` proves the account's committed record (or its absence) under
 * `stateRoot` (by default the root the proof names; pass one from a block you verified), and the
 * account the node described agrees with that record. Never throws.
 */
export function verifyAccountProof(publicKey: Hex | Uint8Array, read: AccountRead, stateRoot?: Hex): boolean {
  try {
    const proof = read.proof;
    if (proof === undefined) return false;
    const key = typeof publicKey === 'string' ? bytesOf(publicKey, 'publicKey') : publicKey;
    const root = bytesOf(stateRoot ?? proof.stateRoot, 'stateRoot');
    if (stateRoot !== undefined && stateRoot.toLowerCase() !== proof.stateRoot.toLowerCase()) return false;
    const value = proof.value === null ? undefined : bytesOf(proof.value, 'value');
    if (
      !verifyStateProof(root, accountStateKey(key), value, fromJson(StateProofType, proof.proof, 'proof'))
    ) {
      return false;
    }
    if (value === undefined) return read.account === null;
    const record = AccountRecordCodec.decode(value);
    const account = read.account;
    if (account === null || !bytesEqual(record.publicKey, key) || record.nonce !== account.nonce)
      return false;
    const balance = record.balance.negative ? -record.balance.magnitude : record.balance.magnitude;
    if (balance.toString() !== account.balance) return false;
    const committed = record.positions
      .map((position) => `${position.seriesId}:${position.short ? -position.lots : position.lots}`)
      .sort();
    const described = account.positions.map((position) => `${position.seriesId}:${position.lots}`).sort();
    return committed.join(',') === described.join(',');
  } catch {
    return false;
  }
}
