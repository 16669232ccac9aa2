/**
 * `front-runner` (whole-node mode): a Byzantine leader that reads the transactions its mempool
 * selected for its proposal and rewrites the list before proposing — the baseline fair ordering
 * drives to zero. Its consensus messages are honest; only its payloads lie.
 * Strategies, one per run from the seed:
 *   sandwich  ahead of every large order (≥ 0.3 contract; with `takersOnly`, immediate-or-cancel
 *             ones only: a resting quote has nothing to sandwich) it inserts its own trader's order
 *             on the same side at the victim's limit, sized to take every resting lot up to that
 *             limit (at least the victim's size), and an order on the other side at that limit, of
 *             the victim's size, for the victim to fill against; a cancel-all after the victim;
 *   censor    drops every transaction of one honest taker;
 *   reorder   puts the transactions in reverse order (cancels after the orders they meant to
 *             precede, later nonces first).
 *
 * With fair ordering (`encryption`) the takers' orders reach it as envelopes: it sees the sender,
 * nonce, fee, target height and ciphertext size, not the order. `sandwich` still tries: an
 * envelope whose ciphertext is the size of a sealed order is taken for a large taker's order, and
 * the leader guesses the rest from the seed — the series, the side, and a limit at the low end of
 * the large takers' slippage (LARGE_TAKER_GUESS_TICKS past the mark) — then places the same two
 * legs. The victim runs only once its block is final and its key out, at the start of a later
 * block, so the leader cannot put a cancel right after it: its bait rests until the next block it
 * leads, which cancels it first. `reorder` reverses the envelopes too; `censor` drops the taker's
 * envelopes (the sender is public).
 *
 * Its trader is a funded genesis account; its profit (balance plus positions at the mark, less its
 * deposit) is reported in the run summary beside how many orders it front-ran, guessed at, and dropped.
 */

import { SignedOrderEnvelopeCodec } from '../../codec/envelope.ts';
import { decodeAction, type ExecutionAction, encodeAction, type PlaceOrder } from '../../codec/execution.ts';
import { BlockPayloadCodec } from '../../codec/node.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../../codec/transaction.ts';
import { bytesEqual, toHex } from '../../crypto/bytes.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { sealOrder } from '../../crypto/shutter/envelope.ts';
import type { G2Point } from '../../crypto/shutter/ibe.ts';
import { signTransaction } from '../../crypto/transaction.ts';
import type { Engine } from '../../execution/engine.ts';
import type { BlockResult } from '../../execution/types.ts';
import type { SimRng } from '../../runtime/sim/rng.ts';

export type FrontRunStrategy = 'sandwich' | 'censor' | 'reorder';
export const FRONT_RUN_STRATEGIES: readonly FrontRunStrategy[] = Object.freeze([
  'sandwich',
  'censor',
  'reorder',
]);

/** Orders of at least this size (contracts × 10⁶) are worth front-running. */
export const LARGE_ORDER_E6 = 300_000;
/** What it takes of the book ahead of one victim, at most (contracts × 10⁶). */
const TAKE_MAX_E6 = 5_000_000;
/** Blind, it guesses a large taker's limit this many ticks past the mark (the low end it has seen). */
export const LARGE_TAKER_GUESS_TICKS = 20;
const IMMEDIATE_OR_CANCEL = 1;

export interface FrontRunStats {
  proposals: number;
  /** Plain orders it read and sandwiched. */
  frontRun: number;
  /** Envelopes it saw in its proposals, and the ones it sandwiched blind (guessing the order). */
  envelopesSeen: number;
  guessed: number;
  censored: number;
  reordered: number;
}

export interface FrontRunner {
  readonly signer: Ed25519Signer;
  readonly strategy: FrontRunStrategy;
  readonly stats: FrontRunStats;
  /** The orders it sandwiched, read or guessed at, as "signer hex:nonce" (its victims). */
  readonly targets: ReadonlySet<string>;
  /** The rewritten payload; the original when there is nothing to gain or it does not decode. */
  rewrite(payload: Uint8Array, engine: Engine): Uint8Array;
}

export function createFrontRunner(options: {
  signer: Ed25519Signer;
  chainId: number;
  strategy: FrontRunStrategy;
  /** The honest taker whose transactions `censor` drops. */
  censored: Uint8Array;
  /** Sandwich only immediate-or-cancel orders (the simulator's market: its maker's quotes rest). */
  takersOnly?: boolean;
  /** Fair ordering: the eon the takers seal to (to size a sealed order), and its guesses' source. */
  encryption?: { eon: number; eonPublicKey: G2Point; rng: SimRng } | undefined;
}): FrontRunner {
  const { signer, chainId, strategy } = options;
  const stats: FrontRunStats = {
    proposals: 0,
    frontRun: 0,
    envelopesSeen: 0,
    guessed: 0,
    censored: 0,
    reordered: 0,
  };
  /** Nonces it has used in proposals not yet executed, by the engine nonce they started from. */
  let next: { base: number; nonce: number } | undefined;
  const targets = new Set<string>();
  /** A blind sandwich's bait rests in the book: the next proposal cancels it first. */
  let baitResting = false;
  let orderCiphertextBytes: number | undefined;
  const own = (engine: Engine, action: ExecutionAction): Uint8Array => {
    const base = engine.account(signer.publicKey)?.nonce ?? 0;
    if (next === undefined || next.base !== base || next.nonce < base) next = { base, nonce: base };
    const transaction = signTransaction(signer, {
      chainId,
      nonce: next.nonce++,
      expiryHeight: engine.height + 1000,
      payload: encodeAction(action),
    });
    return SignedTransactionCodec.encode(transaction);
  };
  const cancelAll = (engine: Engine) => own(engine, { kind: 'cancelAll', value: { seriesId: 0 } });
  /** Takes the book up to the victim's limit, then offers the victim's size back at that limit. */
  const legs = (engine: Engine, victim: PlaceOrder): Uint8Array[] => {
    const series = engine.series().find((entry) => entry.seriesId === victim.seriesId);
    const book = engine.book(victim.seriesId, 20);
    if (series === undefined || book === undefined) return [];
    const limitTicks = Math.floor(victim.price / series.tickSize);
    let lots = 0;
    for (const [priceTicks, levelLots] of victim.side === 0 ? book.asks : book.bids) {
      if (victim.side === 0 ? priceTicks > limitTicks : priceTicks < limitTicks) break;
      lots += levelLots;
    }
    const takeE6 = Math.max(victim.sizeE6, Math.min(TAKE_MAX_E6, lots * series.lotSizeE6));
    const common = { postOnly: false, reduceOnly: false, clientOrderId: 0 };
    return [
      own(engine, {
        kind: 'placeOrder',
        value: { ...victim, ...common, sizeE6: takeE6, timeInForce: IMMEDIATE_OR_CANCEL },
      }),
      own(engine, {
        kind: 'placeOrder',
        value: { ...victim, ...common, side: victim.side === 0 ? 1 : 0, timeInForce: 0 },
      }),
    ];
  };
  /** The ciphertext size of a sealed order (every `placeOrder` encodes to the same length). */
  const sealedOrderBytes = (encryption: NonNullable<typeof options.encryption>): number => {
    if (orderCiphertextBytes !== undefined) return orderCiphertextBytes;
    const probe = sealOrder(signer, {
      chainId,
      eon: encryption.eon,
      eonPublicKey: encryption.eonPublicKey,
      identityPrefix: new Uint8Array(32),
      expiryHeight: 1,
      fee: 0,
      transaction: signTransaction(signer, {
        chainId,
        nonce: 0,
        expiryHeight: 1,
        payload: encodeAction({
          kind: 'placeOrder',
          value: {
            seriesId: 1,
            side: 0,
            kind: 0,
            timeInForce: IMMEDIATE_OR_CANCEL,
            postOnly: false,
            reduceOnly: false,
            price: 1,
            sizeE6: LARGE_ORDER_E6,
            clientOrderId: 0,
          },
        }),
      }),
      sigma: new Uint8Array(32),
    });
    orderCiphertextBytes = probe.ciphertext.length;
    return orderCiphertextBytes;
  };
  /** A guess at a large taker's order from nothing but the market: series, side and limit drawn. */
  const guess = (engine: Engine, rng: SimRng): PlaceOrder | undefined => {
    const active = engine.series().filter((entry) => entry.status === 'active' && entry.markPrice);
    const series = active[rng.nextInt(Math.max(1, active.length))];
    if (series?.markPrice === undefined) return undefined;
    const side = rng.nextInt(2);
    const markTicks = Math.round(Number(series.markPrice) / series.tickSize);
    const limitTicks = side === 0 ? markTicks + LARGE_TAKER_GUESS_TICKS : markTicks - LARGE_TAKER_GUESS_TICKS;
    if (limitTicks <= 0) return undefined;
    return {
      seriesId: series.seriesId,
      side,
      kind: 0,
      timeInForce: IMMEDIATE_OR_CANCEL,
      postOnly: false,
      reduceOnly: false,
      price: limitTicks * series.tickSize,
      sizeE6: LARGE_ORDER_E6,
      clientOrderId: 0,
    };
  };
  return {
    signer,
    strategy,
    stats,
    targets,
    rewrite(bytes, engine) {
      let payload: ReturnType<typeof BlockPayloadCodec.decode>;
      try {
        payload = BlockPayloadCodec.decode(bytes);
      } catch {
        return bytes;
      }
      stats.proposals++;
      stats.envelopesSeen += payload.envelopes.length;
      const decoded: { bytes: Uint8Array; transaction: SignedTransaction | undefined }[] =
        payload.transactions.map((encoded) => {
          try {
            return { bytes: encoded, transaction: SignedTransactionCodec.decode(encoded) };
          } catch {
            return { bytes: encoded, transaction: undefined };
          }
        });
      let transactions: Uint8Array[];
      let envelopes = payload.envelopes;
      if (strategy === 'reorder') {
        transactions = decoded.map((entry) => entry.bytes).reverse();
        envelopes = [...envelopes].reverse();
        if (transactions.length > 1 || envelopes.length > 1) stats.reordered++;
      } else if (strategy === 'censor') {
        transactions = [];
        for (const entry of decoded) {
          if (
            entry.transaction !== undefined &&
            bytesEqual(entry.transaction.body.signer, options.censored)
          ) {
            stats.censored++;
            continue;
          }
          transactions.push(entry.bytes);
        }
        envelopes = envelopes.filter((encoded) => {
          const sender = senderOf(encoded);
          if (sender === undefined || !bytesEqual(sender, options.censored)) return true;
          stats.censored++;
          return false;
        });
      } else {
        transactions = [];
        // The bait of a blind sandwich is cancelled first; it runs after the orders opened here.
        if (baitResting) {
          transactions.push(cancelAll(engine));
          baitResting = false;
        }
        let inserted = false;
        for (const entry of decoded) {
          const action = actionOf(entry.transaction);
          if (
            action?.kind === 'placeOrder' &&
            action.value.sizeE6 >= LARGE_ORDER_E6 &&
            (options.takersOnly !== true || action.value.timeInForce === IMMEDIATE_OR_CANCEL) &&
            !bytesEqual(entry.transaction!.body.signer, signer.publicKey)
          ) {
            transactions.push(...legs(engine, action.value));
            transactions.push(entry.bytes);
            stats.frontRun++;
            targets.add(`${toHex(entry.transaction!.body.signer)}:${entry.transaction!.body.nonce}`);
            inserted = true;
            continue;
          }
          transactions.push(entry.bytes);
        }
        if (inserted) transactions.push(cancelAll(engine));
        const encryption = options.encryption;
        if (encryption !== undefined && envelopes.length > 0) {
          // The first envelope the size of a sealed order is its bet; the order inside is guessed.
          const size = sealedOrderBytes(encryption);
          const target = envelopes
            .map(envelopeOf)
            .find(
              (envelope) =>
                envelope !== undefined &&
                envelope.body.ciphertextBytes >= size &&
                !bytesEqual(envelope.body.sender, signer.publicKey),
            );
          const guessed = target === undefined ? undefined : guess(engine, encryption.rng);
          if (target !== undefined && guessed !== undefined) {
            transactions.push(...legs(engine, guessed));
            stats.guessed++;
            targets.add(`${toHex(target.body.sender)}:${target.body.nonce}`);
            baitResting = true;
          }
        }
      }
      return BlockPayloadCodec.encode({ ...payload, transactions, envelopes });
    },
  };
}

function actionOf(transaction: SignedTransaction | undefined): ExecutionAction | undefined {
  if (transaction === undefined) return undefined;
  try {
    return decodeAction(transaction.body.payload);
  } catch {
    return undefined;
  }
}

function envelopeOf(encoded: Uint8Array): ReturnType<typeof SignedOrderEnvelopeCodec.decode> | undefined {
  try {
    return SignedOrderEnvelopeCodec.decode(encoded);
  } catch {
    return undefined;
  }
}

function senderOf(encoded: Uint8Array): Uint8Array | undefined {
  return envelopeOf(encoded)?.body.sender;
}

/**
 * The front-runner's edge: over every fill of its trader with another account, the honest mark of
 * the series after that block (the engine's, which oracle-honest-range keeps on the honest
 * observations) less the price, per contract bought (the price less the mark per contract sold),
 * times the contracts, less the fee it paid on the fill. It is what the trades took from their
 * counterparties when they were made; unlike the profit at the end (`FrontRunSummary.profitUsdc`)
 * it does not move with the index after them, so a position held while the market walks adds no
 * noise to it.
 */
export class FrontRunEdge {
  readonly #key: string;
  readonly #targets: ReadonlySet<string>;
  #edge = 0n;
  #taken = 0n;
  #fills = 0;
  #victimFills = 0;
  #height = 0;

  constructor(frontRunner: Pick<FrontRunner, 'signer' | 'targets'>) {
    this.#key = toHex(frontRunner.signer.publicKey);
    this.#targets = frontRunner.targets;
  }

  /**
   * One executed block (in height order; a block seen again is counted once), with its
   * transactions' signers (hex) and nonces in execution order, as `SimApplied` gives them.
   */
  block(
    height: number,
    result: BlockResult,
    engine: Engine,
    executed: { signers: readonly string[]; nonces?: readonly number[] | undefined },
  ): void {
    if (height <= this.#height) return;
    this.#height = height;
    // The orders of this block that it targeted: the victims' order ids.
    const victims = new Set<number>();
    const results = [...result.encryptedResults, ...result.results];
    for (const [index, outcome] of results.entries()) {
      const target = `${executed.signers[index]}:${executed.nonces?.[index]}`;
      if (outcome.orderId !== undefined && this.#targets.has(target)) victims.add(outcome.orderId);
    }
    for (const event of result.events) {
      if (event.type !== 'fill') continue;
      const asMaker = normalKey(event.maker) === this.#key;
      const asTaker = normalKey(event.taker) === this.#key;
      if (asMaker === asTaker) continue;
      const series = engine.series().find((entry) => entry.seriesId === event.seriesId);
      if (series?.markPrice === undefined) continue;
      const buys = asTaker ? event.takerSide === 'buy' : event.takerSide === 'sell';
      const price = BigInt(event.priceTicks) * BigInt(series.tickSize);
      const perContract = buys ? series.markPrice - price : price - series.markPrice;
      const value = (perContract * BigInt(event.lots) * BigInt(series.lotSizeE6)) / 1_000_000n;
      this.#edge += value - (asTaker ? event.takerFee : event.makerFee);
      this.#fills++;
      if (victims.has(asTaker ? event.makerOrderId : event.takerOrderId)) {
        this.#taken += value;
        this.#victimFills++;
      }
    }
  }

  /** What its victims' orders paid it beyond the honest mark, over their fills against it (before fees). */
  get taken(): bigint {
    return this.#taken;
  }

  get victimFills(): number {
    return this.#victimFills;
  }

  get edge(): bigint {
    return this.#edge;
  }

  get fills(): number {
    return this.#fills;
  }
}

function normalKey(key: string): string {
  return key.replace(/^0x/, '').toLowerCase();
}
