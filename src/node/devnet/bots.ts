/**
 * Trading bots that make a devnet's option books trade, through the same typed client
 * (`palisade/client`) and HTTP API any trader uses: they sign every order with their own key.
 *
 *   maker  every `quoteIntervalMs`: cancels its quotes and quotes a bid and an ask in each of the
 *          `seriesQuoted` active series nearest the money, around the engine's mark (its
 *          fixed-point Black–Scholes price, `MarketJson.markPrice`), half a spread of
 *          `spreadBps` (at least one tick) either side plus up to a tick of jitter, post-only.
 *          Past `maxInventoryLots` in a series it quotes only the side that reduces it.
 *   taker  every `takeIntervalMs`: picks one of those series and sends an immediate-or-cancel
 *          order at the best opposite quote for 1–3 lots, buying or selling at random, or
 *          towards flat past `maxInventoryLots`.
 *
 * Each bot waits for its last transaction of a cycle to be finalized before the next cycle, so it
 * never has more than one cycle in flight and its nonce count cannot drift far; when a wait times
 * out or the node refuses something, it reads its nonce from the chain again. A bot whose node
 * stops answering moves on to the next API URL, so the bots keep trading while a validator
 * restarts. Accounts are funded in genesis (`palisade genesis --traders`), or, on a devnet with
 * the bridge, by `prepare`: each bot first runs it (the devnet's deposits through the vault, then
 * a wait for the 2f + 1 credit), retrying every few seconds until it succeeds, and trades after.
 *
 * With `encryption` (a devnet whose genesis has fair ordering), the bots' orders on the
 * encrypted-only series go as encrypted orders (the client's `encrypt` + `submitEnvelope`), the
 * rest plain. An envelope takes the sender's next nonce but is known to the chain only once its
 * block is final, so a bot never mixes the two in flight: each cycle sends its plain transactions,
 * waits for the last to be final, then reads its nonce from the chain and sends its envelopes, each
 * valid up to `ENVELOPE_LEAD_BLOCKS` above the executed height, and waits for their orders to run
 * (found by id: `encryptedOrderId`). An envelope that expired without a block admitting it is
 * counted missed; its nonce was never used, and the next cycle reads the nonce again.
 */
import type { ExecutionAction } from '../../codec/execution.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { ENVELOPE_LEAD_BLOCKS } from '../../crypto/shutter/envelope.ts';
import { createMclBackend, type PairingBackend } from '../../crypto/shutter/pairing-backend.ts';
import { createSeededRandom } from '../../execution/fixtures.ts';
import {
  ClientError,
  createClient,
  encrypt,
  encryptedOrderId,
  type PalisadeClient,
  type Trader,
} from '../client.ts';
import type { AccountRead, MarketJson, PriceJson, TransactionOutcome } from '../view.ts';

export interface BotAccount {
  role: 'maker' | 'taker';
  signer: Ed25519Signer;
}

export interface BotsOptions {
  /** API base URLs of the validators; each bot starts on a different one. */
  apiUrls: readonly string[];
  accounts: readonly BotAccount[];
  seriesQuoted?: number;
  quoteIntervalMs?: number;
  takeIntervalMs?: number;
  /** Half the quoted spread of the first maker, in basis points of the mark; later makers widen it. */
  spreadBps?: number;
  maxInventoryLots?: number;
  seed?: number;
  /**
   * Run once per bot before its first cycle (and again after a failure, until it succeeds): the
   * devnet funds the bot's account through the bridge here.
   */
  prepare?: (account: BotAccount, ordinal: number, client: PalisadeClient) => Promise<void>;
  /**
   * Every `everyMs` a bot takes one step out of its trading to run `run` with its own trader (so
   * that nonces stay in order): the devnet withdraws to the bot's EVM wallet here.
   */
  withdraw?: {
    everyMs: number;
    run: (account: BotAccount, ordinal: number, client: PalisadeClient, trader: Trader) => Promise<void>;
  };
  /** Errors worth telling an operator about (a node down, a refusal), at most one per bot per 10 s. */
  onError?: (bot: string, message: string) => void;
  /** Encrypted orders on `seriesIds` (the genesis' encrypted-only series); absent: all plain. */
  encryption?: BotEncryption;
}

/** What a bot needs to encrypt orders: the genesis' eon keyset (`fairOrdering`). */
export interface BotEncryption {
  chainId: number;
  eon: number;
  /** 96-byte compressed G2. */
  eonPublicKey: Uint8Array;
  seriesIds: readonly number[];
  /** Each envelope's fee in quote base units (default ENVELOPE_FEE). */
  fee?: number;
  /**
   * With eon epochs: the eon keyset of a target height (a fresh eon per validator epoch,
   * src/chain/eon-schedule.ts), in place of `eon` and `eonPublicKey`; undefined: none yet.
   */
  eonAt?: (height: number) => Promise<{ eon: number; eonPublicKey: Uint8Array } | undefined>;
}

/** An envelope's fee: paid whatever its plaintext, so an envelope is never a free option. */
export const ENVELOPE_FEE = 1000;
/** Past its target by this many blocks without its order having run, an envelope is missed. */
const ENVELOPE_MISSED_BLOCKS = 4;

export interface BotStats {
  /** Transactions the API accepted. */
  submitted: number;
  /** Of those, finalized (any outcome). */
  finalized: number;
  quotes: number;
  takerOrders: number;
  /** Lots the takers' orders filled. */
  filledLots: number;
  /** Submissions refused or failed, by error code. */
  errors: Record<string, number>;
  /** Bots whose `prepare` succeeded. */
  prepared: number;
  /** `withdraw` steps that succeeded. */
  withdrawals: number;
  /** Envelopes the API admitted (encrypted orders). */
  envelopesSubmitted: number;
  /** Of those, orders that ran (decrypted and executed, any outcome). */
  encryptedExecuted: number;
  /** Lots the takers' encrypted orders filled. */
  encryptedFilledLots: number;
  /** Envelopes whose height passed without them. */
  envelopesMissed: number;
}

export interface RunningBots {
  stats(): BotStats;
  /** Stops after the current step of every bot; resolves when all have stopped. */
  stop(): Promise<void>;
}

const DEFAULTS = {
  seriesQuoted: 6,
  quoteIntervalMs: 1500,
  takeIntervalMs: 800,
  spreadBps: 150,
  maxInventoryLots: 40,
};
const FINALITY_WAIT_MS = 15_000;
const FINALITY_POLL_MS = 150;
const EXPIRY_BLOCKS = 60;
const ERROR_REPORT_INTERVAL_MS = 10_000;
const PREPARE_RETRY_MS = 3000;
/** Series that expire sooner than this are left alone: they stop trading before a cycle ends. */
const MIN_TIME_TO_EXPIRY_MS = 60 * 60_000;

/** The spot price in quote base units (6 decimals) from an oracle price, if any. */
function spotBaseUnits(prices: readonly PriceJson[], underlying: string): number | undefined {
  const price = prices.find((entry) => entry.symbol.startsWith(`${underlying}-`));
  if (price === undefined) return undefined;
  return Number(price.price) * 10 ** (6 + price.exponent);
}

/** The active series with a mark worth quoting, nearest the money first. */
export function seriesToQuote(
  markets: readonly MarketJson[],
  prices: readonly PriceJson[],
  count: number,
  nowMs: number,
): MarketJson[] {
  const tradable = markets.filter(
    (market) =>
      market.status === 'active' &&
      market.expiryMs - nowMs > MIN_TIME_TO_EXPIRY_MS &&
      market.markPrice !== null &&
      // Below two ticks a bid of at least one tick and an ask above it cannot straddle the mark.
      Number(market.markPrice) >= 2 * market.tickSize,
  );
  const distance = (market: MarketJson) => {
    const spot = spotBaseUnits(prices, market.underlying);
    return spot === undefined ? market.seriesId : Math.abs(Number(market.strike) - spot);
  };
  return tradable
    .sort((a, b) => a.expiryMs - b.expiryMs || distance(a) - distance(b) || a.seriesId - b.seriesId)
    .slice(0, count);
}

/** Bid and ask ticks around `markPrice` (quote base units per contract). */
export function quoteTicks(
  market: Pick<MarketJson, 'markPrice' | 'tickSize'>,
  spreadBps: number,
  jitter: { bid: number; ask: number },
): { bid: number; ask: number } {
  const markTicks = Number(market.markPrice) / market.tickSize;
  const half = Math.max(1, (markTicks * spreadBps) / 10_000);
  const bid = Math.max(1, Math.floor(markTicks - half - jitter.bid));
  const ask = Math.max(bid + 1, Math.ceil(markTicks + half + jitter.ask));
  return { bid, ask };
}

/** A limit order as an execution action (what `Trader.placeOrder` signs), for `encrypt`. */
export function orderAction(
  market: Pick<MarketJson, 'seriesId' | 'tickSize' | 'lotSizeE6'>,
  side: 'buy' | 'sell',
  priceTicks: number,
  lots: number,
  style: 'post-only' | 'ioc',
): ExecutionAction {
  return {
    kind: 'placeOrder',
    value: {
      seriesId: market.seriesId,
      side: side === 'buy' ? 0 : 1,
      kind: 0,
      timeInForce: style === 'ioc' ? 1 : 0,
      postOnly: style === 'post-only',
      reduceOnly: false,
      price: priceTicks * market.tickSize,
      sizeE6: lots * market.lotSizeE6,
      clientOrderId: 0,
    },
  };
}

function positionOf(account: AccountRead | undefined, seriesId: number): number {
  return account?.account?.positions.find((position) => position.seriesId === seriesId)?.lots ?? 0;
}

/**
 * @example const bots = startBots({ apiUrls, accounts: [{ role: 'maker', signer }, { role: 'taker', signer: other }] });
 */
/** mcl-wasm for the bots' encryption (the same bytes as noble, several times faster), loaded once. */
let encryptionBackendLoad: Promise<PairingBackend> | undefined;
const encryptionBackend = () => {
  encryptionBackendLoad ??= createMclBackend();
  return encryptionBackendLoad;
};

export function startBots(options: BotsOptions): RunningBots {
  if (options.apiUrls.length === 0) throw new RangeError('bots need at least one API URL');
  const settings = {
    seriesQuoted: options.seriesQuoted ?? DEFAULTS.seriesQuoted,
    quoteIntervalMs: options.quoteIntervalMs ?? DEFAULTS.quoteIntervalMs,
    takeIntervalMs: options.takeIntervalMs ?? DEFAULTS.takeIntervalMs,
    spreadBps: options.spreadBps ?? DEFAULTS.spreadBps,
    maxInventoryLots: options.maxInventoryLots ?? DEFAULTS.maxInventoryLots,
  };
  const random = createSeededRandom(options.seed ?? Date.now() >>> 0);
  const stats: BotStats = {
    submitted: 0,
    finalized: 0,
    quotes: 0,
    takerOrders: 0,
    filledLots: 0,
    errors: {},
    prepared: 0,
    withdrawals: 0,
    envelopesSubmitted: 0,
    encryptedExecuted: 0,
    encryptedFilledLots: 0,
    envelopesMissed: 0,
  };
  const encryptedSeries = new Set(options.encryption?.seriesIds ?? []);
  let stopped = false;
  const wakers = new Set<() => void>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });

  function runBot(account: BotAccount, ordinal: number, makerOrdinal: number): Promise<void> {
    const name = `${account.role}-${ordinal}`;
    let urlIndex = ordinal % options.apiUrls.length;
    let client: PalisadeClient;
    let trader: Trader;
    const connect = () => {
      client = createClient({ url: options.apiUrls[urlIndex]!, timeoutMs: 5000 });
      trader = client.trader(account.signer, { expiryBlocks: EXPIRY_BLOCKS });
    };
    connect();
    // The client of the node this bot talks to now (`fail` moves it on when one stops answering).
    const currentClient = () => client;
    const currentTrader = () => trader;
    let lastReportMs = 0;

    const fail = (error: unknown) => {
      const code = error instanceof ClientError ? error.code : 'ERROR';
      stats.errors[code] = (stats.errors[code] ?? 0) + 1;
      if (code === 'NETWORK' || code === 'TIMEOUT') {
        // This node is not answering (restarting, or gone): trade through the next one.
        urlIndex = (urlIndex + 1) % options.apiUrls.length;
        connect();
      } else {
        trader.resync();
      }
      const now = Date.now();
      if (now - lastReportMs >= ERROR_REPORT_INTERVAL_MS) {
        lastReportMs = now;
        options.onError?.(name, `${code}: ${(error as Error).message}`);
      }
    };

    const submit = async (send: () => Promise<{ id: string }>): Promise<string | undefined> => {
      try {
        const { id } = await send();
        stats.submitted++;
        return id;
      } catch (error) {
        fail(error);
        return undefined;
      }
    };

    /** Polls until `id` is finalized; gives up (and resyncs the nonce) after FINALITY_WAIT_MS. */
    const awaitFinal = async (id: string | undefined) => {
      if (id === undefined) return undefined;
      const deadline = Date.now() + FINALITY_WAIT_MS;
      while (!stopped) {
        try {
          const found = await client.transaction(id);
          if (found.status === 'finalized') {
            stats.finalized++;
            return found.outcome;
          }
        } catch (error) {
          fail(error);
          return undefined;
        }
        if (Date.now() > deadline) {
          fail(
            new ClientError('TIMEOUT', `transaction ${id} not finalized within ${FINALITY_WAIT_MS} ms`, 0),
          );
          return undefined;
        }
        await sleep(FINALITY_POLL_MS);
      }
      return undefined;
    };

    /**
     * Sends `actions` as envelopes for one height, nonces from the chain's, and waits for their
     * orders to run; the outcomes of those that ran, in order.
     */
    const sendEncrypted = async (actions: readonly ExecutionAction[]): Promise<TransactionOutcome[]> => {
      const encryption = options.encryption;
      if (encryption === undefined || actions.length === 0) return [];
      let ids: string[];
      let expiryHeight: number;
      try {
        const [me, status] = await Promise.all([
          client.account(trader.publicKey).catch(() => undefined),
          client.status(),
        ]);
        const firstNonce = me?.account?.nonce ?? 0;
        expiryHeight = status.height + ENVELOPE_LEAD_BLOCKS;
        ids = [];
        // The eon of the next block (an envelope is valid only in blocks of its eon's window).
        const key = encryption.eonAt === undefined ? encryption : await encryption.eonAt(status.height + 1);
        // No eon for that height yet (its window's DKG is not recorded): nothing to encrypt to.
        if (key === undefined) return [];
        for (const [offset, action] of actions.entries()) {
          const input = {
            chainId: encryption.chainId,
            eon: key.eon,
            eonPublicKey: key.eonPublicKey,
            expiryHeight,
            nonce: firstNonce + offset,
            fee: encryption.fee ?? ENVELOPE_FEE,
            action,
          };
          await client.submitEnvelope(encrypt(account.signer, input, { backend: await encryptionBackend() }));
          stats.envelopesSubmitted++;
          ids.push(encryptedOrderId(account.signer, input));
        }
      } catch (error) {
        fail(error);
        return [];
      } finally {
        // The plain side's nonce count no longer matches the chain's: read it again next time.
        trader.resync();
      }
      const outcomes: TransactionOutcome[] = [];
      for (const id of ids) {
        while (!stopped) {
          try {
            const found = await client.transaction(id as `0x${string}`);
            if (found.status === 'finalized') {
              stats.encryptedExecuted++;
              outcomes.push(found.outcome);
              break;
            }
          } catch (error) {
            if (!(error instanceof ClientError && error.code === 'TRANSACTION_NOT_FOUND')) {
              fail(error);
              return outcomes;
            }
          }
          const height = await client.status().then(
            (status) => status.height,
            () => expiryHeight,
          );
          if (height > expiryHeight + ENVELOPE_MISSED_BLOCKS) {
            stats.envelopesMissed++;
            break;
          }
          await sleep(FINALITY_POLL_MS);
        }
      }
      return outcomes;
    };

    const quoteCycle = async () => {
      const [markets, prices, me] = await Promise.all([
        client.markets(),
        client.prices(),
        client.account(trader.publicKey).catch(() => undefined),
      ]);
      const series = seriesToQuote(markets, prices, settings.seriesQuoted, Date.now());
      if (series.length === 0) return;
      const spreadBps = settings.spreadBps * (1 + makerOrdinal);
      let last = await submit(() => trader.cancelAll());
      const sealed: ExecutionAction[] = [];
      for (const market of series) {
        const { bid, ask } = quoteTicks(market, spreadBps, {
          bid: random.below(2),
          ask: random.below(2),
        });
        const position = positionOf(me, market.seriesId);
        for (const [side, priceTicks] of [
          ['buy', bid],
          ['sell', ask],
        ] as const) {
          if (side === 'buy' && position >= settings.maxInventoryLots) continue;
          if (side === 'sell' && position <= -settings.maxInventoryLots) continue;
          const lots = 2 + random.below(4);
          if (encryptedSeries.has(market.seriesId)) {
            sealed.push(orderAction(market, side, priceTicks, lots, 'post-only'));
            continue;
          }
          const id = await submit(() =>
            trader.placeOrder({ seriesId: market.seriesId, side, priceTicks, lots, postOnly: true }, market),
          );
          if (id !== undefined) {
            last = id;
            stats.quotes++;
          }
        }
      }
      await awaitFinal(last);
      const ran = await sendEncrypted(sealed);
      stats.quotes += ran.length;
    };

    const takeCycle = async () => {
      const [markets, prices, me] = await Promise.all([
        client.markets(),
        client.prices(),
        client.account(trader.publicKey).catch(() => undefined),
      ]);
      const series = seriesToQuote(markets, prices, settings.seriesQuoted, Date.now());
      const market = series[random.below(Math.max(1, series.length))];
      if (market === undefined) return;
      const book = await client.book(market.seriesId, 1);
      const position = positionOf(me, market.seriesId);
      let side: 'buy' | 'sell' = random.below(2) === 0 ? 'buy' : 'sell';
      if (position >= settings.maxInventoryLots) side = 'sell';
      if (position <= -settings.maxInventoryLots) side = 'buy';
      const level = side === 'buy' ? book.asks[0] : book.bids[0];
      if (level === undefined) return;
      const lots = 1 + random.below(3);
      if (encryptedSeries.has(market.seriesId)) {
        const [outcome] = await sendEncrypted([orderAction(market, side, level.priceTicks, lots, 'ioc')]);
        if (outcome !== undefined) {
          stats.takerOrders++;
          stats.filledLots += outcome.filledLots ?? 0;
          stats.encryptedFilledLots += outcome.filledLots ?? 0;
        }
        return;
      }
      const id = await submit(() =>
        trader.placeOrder(
          { seriesId: market.seriesId, side, priceTicks: level.priceTicks, lots, timeInForce: 'ioc' },
          market,
        ),
      );
      if (id !== undefined) stats.takerOrders++;
      const outcome = await awaitFinal(id);
      stats.filledLots += outcome?.filledLots ?? 0;
    };

    const cycle = account.role === 'maker' ? quoteCycle : takeCycle;
    const interval = account.role === 'maker' ? settings.quoteIntervalMs : settings.takeIntervalMs;
    return (async () => {
      // Spread the bots' first cycles so they do not all hit the node in the same millisecond.
      await sleep(random.below(interval));
      while (options.prepare !== undefined && !stopped) {
        try {
          await options.prepare(account, ordinal, currentClient());
          stats.prepared++;
          break;
        } catch (error) {
          fail(error);
          await sleep(PREPARE_RETRY_MS);
        }
      }
      const withdraw = options.withdraw;
      // The first withdrawal comes a while after funding: the deposit first has to be credited.
      let lastWithdrawMs = Date.now();
      while (!stopped) {
        try {
          await cycle();
          if (withdraw !== undefined && Date.now() - lastWithdrawMs >= withdraw.everyMs) {
            lastWithdrawMs = Date.now();
            await withdraw.run(account, ordinal, currentClient(), currentTrader());
            stats.withdrawals++;
          }
        } catch (error) {
          fail(error);
        }
        await sleep(interval / 2 + random.below(interval));
      }
    })();
  }

  let makers = 0;
  const loops = options.accounts.map((account, ordinal) =>
    runBot(account, ordinal, account.role === 'maker' ? makers++ : 0),
  );

  return {
    stats: () => ({ ...stats, errors: { ...stats.errors } }),
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
    },
  };
}
