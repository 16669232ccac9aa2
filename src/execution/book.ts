/**
 * One limit order book: price-time priority over integer price ticks and integer lots.
 *
 * Layout (chosen for the matching loop, which runs on every order): each side keeps its price
 * levels in an array sorted so that the best level is the last element (bids ascending, asks
 * descending), so taking or emptying the best level is a `pop`. A level is a doubly linked FIFO of
 * orders, so a cancel anywhere in the queue is O(1) once the order is found by id. Option books
 * have tens to hundreds of levels, where a binary search and `splice` beat a tree.
 *
 * The book knows nothing about money or margin: the engine decides whether an order may trade and
 * books each fill through the callbacks. Self-trade prevention is "cancel the resting order"
 * (Deribit's and CME's common default): an order never fills against its own owner's order; the
 * older one leaves the book and the newer one keeps matching. Before each maker fill the engine may
 * refuse it (`admit`: price band, position cap, fill-time margin); a refused maker leaves the book
 * and matching continues with the next one.
 */
import { invariant } from '../codec/invariant.ts';

export const BUY = 0;
export const SELL = 1;
export type Side = typeof BUY | typeof SELL;

export interface RestingOrder {
  readonly orderId: number;
  readonly owner: number;
  readonly side: Side;
  readonly priceTicks: number;
  remainingLots: number;
  readonly clientOrderId: number;
  readonly reduceOnly: boolean;
  /** Sequence at which the order rested: its time priority. */
  readonly sequence: number;
  level: PriceLevel | null;
  previous: RestingOrder | null;
  next: RestingOrder | null;
}

export interface PriceLevel {
  readonly priceTicks: number;
  head: RestingOrder | null;
  tail: RestingOrder | null;
  totalLots: number;
  orderCount: number;
}

export interface MatchCallbacks<Reason extends string = string> {
  /** A fill of `lots` at the maker's price; the maker's `remainingLots` is already reduced. */
  onFill(maker: RestingOrder, lots: number, priceTicks: number): void;
  /** A resting order of the taker's own owner left the book (self-trade prevention). */
  onSelfTradeCancel(maker: RestingOrder): void;
  /**
   * Lots a reduce-only resting order may still fill without increasing or flipping its owner's
   * position (asked before each of its fills). Absent: reduce-only makers are not limited.
   */
  reduceOnlyCapacity?(maker: RestingOrder): number;
  /** A reduce-only resting order left the book because its owner's position leaves it nothing to reduce. */
  onReduceOnlyCancel?(maker: RestingOrder): void;
  /**
   * Asked before every fill of a maker (after the reduce-only limit): undefined lets `lots` fill at
   * `priceTicks`; a reason removes the maker from the book instead (`onAdmitCancel`) and matching
   * goes on with the next one. The engine's price band and fill-time margin check live here.
   */
  admit?(maker: RestingOrder, lots: number, priceTicks: number): Reason | undefined;
  onAdmitCancel?(maker: RestingOrder, reason: Reason): void;
}

export interface OrderBook {
  readonly orderCount: number;
  bestBid(): number | undefined;
  bestAsk(): number | undefined;
  /** True when a `side` order at `priceTicks` would trade immediately against another owner. */
  wouldCross(side: Side, priceTicks: number, owner: number): boolean;
  /**
   * Lots that a `side` order limited to `limitTicks` (undefined: any price) could fill now,
   * counting only other owners' orders, up to `wantedLots`. Used for FOK.
   */
  fillableLots(
    side: Side,
    limitTicks: number | undefined,
    wantedLots: number,
    owner: number,
    reduceOnlyCapacity?: (maker: RestingOrder) => number,
    admit?: (maker: RestingOrder, lots: number, priceTicks: number) => string | undefined,
  ): number;
  /** Matches an incoming order; returns the lots left unfilled. */
  match<Reason extends string>(
    side: Side,
    limitTicks: number | undefined,
    lots: number,
    owner: number,
    callbacks: MatchCallbacks<Reason>,
  ): number;
  /**
   * Rests an order at the back of its price level. A snapshot restore passes the order's original
   * `sequence` (at most the book's counter); otherwise the book assigns the next one.
   */
  add(
    order: Omit<RestingOrder, 'level' | 'previous' | 'next' | 'sequence'> & { sequence?: number },
  ): RestingOrder;
  /** The last sequence assigned (time priority counter), for snapshots. */
  readonly sequence: number;
  cancel(orderId: number): RestingOrder | undefined;
  get(orderId: number): RestingOrder | undefined;
  /** The order with time priority at the best level of `side` (the call auction's next one). */
  first(side: Side): RestingOrder | undefined;
  /** Takes `lots` from a resting order (it leaves the book at zero), for the call auction's fills. */
  reduce(order: RestingOrder, lots: number): void;
  /** Aggregated levels from the best outward: [priceTicks, totalLots, orderCount]. */
  depth(side: Side, maxLevels: number): Array<[number, number, number]>;
  /** Every resting order, bids then asks, each side best level first and in time order. */
  orders(): RestingOrder[];
}

/**
 * Creates an empty book.
 * @example const book = createOrderBook(); book.add({ orderId: 1, owner: 7, side: BUY, priceTicks: 100, remainingLots: 5, clientOrderId: 0, reduceOnly: false });
 */
export function createOrderBook(options: { sequence?: number } = {}): OrderBook {
  // Sorted so that the best level is last: bids ascending by price, asks descending.
  const levels: [PriceLevel[], PriceLevel[]] = [[], []];
  const levelByPrice: [Map<number, PriceLevel>, Map<number, PriceLevel>] = [new Map(), new Map()];
  const byId = new Map<number, RestingOrder>();
  let sequence = options.sequence ?? 0;
  invariant(Number.isSafeInteger(sequence) && sequence >= 0, 'book sequence is a safe integer');

  /** True when `a` is a better price than `b` for `side`. */
  function better(side: Side, a: number, b: number): boolean {
    return side === BUY ? a > b : a < b;
  }

  function crosses(takerSide: Side, limitTicks: number | undefined, makerPrice: number): boolean {
    if (limitTicks === undefined) return true;
    return takerSide === BUY ? makerPrice <= limitTicks : makerPrice >= limitTicks;
  }

  function insertLevel(side: Side, priceTicks: number): PriceLevel {
    const level: PriceLevel = { priceTicks, head: null, tail: null, totalLots: 0, orderCount: 0 };
    const list = levels[side];
    // Binary search for the first index whose level is better than the new price.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (better(side, list[middle]!.priceTicks, priceTicks)) high = middle;
      else low = middle + 1;
    }
    if (low === list.length) list.push(level);
    else list.splice(low, 0, level);
    levelByPrice[side].set(priceTicks, level);
    return level;
  }

  function removeLevel(side: Side, level: PriceLevel): void {
    const list = levels[side];
    levelByPrice[side].delete(level.priceTicks);
    if (list[list.length - 1] === level) {
      list.pop();
      return;
    }
    let low = 0;
    let high = list.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const candidate = list[middle]!;
      if (candidate === level) {
        list.splice(middle, 1);
        return;
      }
      if (better(side, candidate.priceTicks, level.priceTicks)) high = middle - 1;
      else low = middle + 1;
    }
    invariant(false, 'price level missing from its side');
  }

  function unlink(order: RestingOrder): void {
    const level = order.level;
    invariant(level !== null, 'unlinking an order that is not resting');
    if (order.previous === null) level.head = order.next;
    else order.previous.next = order.next;
    if (order.next === null) level.tail = order.previous;
    else order.next.previous = order.previous;
    level.totalLots -= order.remainingLots;
    level.orderCount -= 1;
    order.level = null;
    order.previous = null;
    order.next = null;
    byId.delete(order.orderId);
    if (level.orderCount === 0) removeLevel(order.side, level);
  }

  const book: OrderBook = {
    get orderCount() {
      return byId.size;
    },
    get sequence() {
      return sequence;
    },
    bestBid() {
      const list = levels[BUY];
      return list[list.length - 1]?.priceTicks;
    },
    bestAsk() {
      const list = levels[SELL];
      return list[list.length - 1]?.priceTicks;
    },
    wouldCross(side, priceTicks, owner) {
      const opposite = levels[side === BUY ? SELL : BUY];
      for (let i = opposite.length - 1; i >= 0; i--) {
        const level = opposite[i]!;
        if (!crosses(side, priceTicks, level.priceTicks)) return false;
        // Own orders would be cancelled by self-trade prevention, not traded against.
        for (let order = level.head; order !== null; order = order.next)
          if (order.owner !== owner) return true;
      }
      return false;
    },
    fillableLots(side, limitTicks, wantedLots, owner, reduceOnlyCapacity, admit) {
      const opposite = levels[side === BUY ? SELL : BUY];
      let total = 0;
      // Reduce-only capacity is per owner: two reduce-only orders share one position to reduce.
      const capacityLeft = new Map<number, number>();
      for (let i = opposite.length - 1; i >= 0 && total < wantedLots; i--) {
        const level = opposite[i]!;
        if (!crosses(side, limitTicks, level.priceTicks)) break;
        for (let order = level.head; order !== null && total < wantedLots; order = order.next) {
          if (order.owner === owner) continue;
          // A maker the engine would remove instead of filling counts for nothing. It is asked about
          // its lots as of now: two makers of one owner that each pass alone may not pass together.
          const asked = Math.min(order.remainingLots, wantedLots - total);
          if (admit !== undefined && admit(order, asked, level.priceTicks) !== undefined) continue;
          if (order.reduceOnly && reduceOnlyCapacity !== undefined) {
            const left = capacityLeft.get(order.owner) ?? reduceOnlyCapacity(order);
            const lots = Math.min(order.remainingLots, left);
            capacityLeft.set(order.owner, left - lots);
            total += lots;
          } else total += order.remainingLots;
        }
      }
      return Math.min(total, wantedLots);
    },
    match(side, limitTicks, lots, owner, callbacks) {
      invariant(Number.isSafeInteger(lots) && lots > 0, 'match needs a positive lot count');
      const makerSide: Side = side === BUY ? SELL : BUY;
      const opposite = levels[makerSide];
      let remaining = lots;
      while (remaining > 0 && opposite.length > 0) {
        const level = opposite[opposite.length - 1]!;
        if (!crosses(side, limitTicks, level.priceTicks)) break;
        let maker = level.head;
        while (maker !== null && remaining > 0) {
          const next = maker.next;
          if (maker.owner === owner) {
            unlink(maker);
            callbacks.onSelfTradeCancel(maker);
          } else {
            let fill = Math.min(maker.remainingLots, remaining);
            if (maker.reduceOnly && callbacks.reduceOnlyCapacity !== undefined) {
              fill = Math.min(fill, callbacks.reduceOnlyCapacity(maker));
              if (fill <= 0) {
                // Nothing left to reduce: the order leaves the book rather than open or flip a position.
                unlink(maker);
                callbacks.onReduceOnlyCancel?.(maker);
                maker = next;
                continue;
              }
            }
            const refusal = callbacks.admit?.(maker, fill, level.priceTicks);
            if (refusal !== undefined) {
              unlink(maker);
              callbacks.onAdmitCancel?.(maker, refusal);
              maker = next;
              continue;
            }
            maker.remainingLots -= fill;
            level.totalLots -= fill;
            remaining -= fill;
            // unlink subtracts the (now zero) remainder, so the level total stays right.
            if (maker.remainingLots === 0) unlink(maker);
            callbacks.onFill(maker, fill, level.priceTicks);
            if (
              maker.remainingLots > 0 &&
              maker.reduceOnly &&
              callbacks.reduceOnlyCapacity !== undefined &&
              callbacks.reduceOnlyCapacity(maker) <= 0
            ) {
              unlink(maker);
              callbacks.onReduceOnlyCancel?.(maker);
            }
          }
          maker = next;
        }
      }
      return remaining;
    },
    add(fields) {
      invariant(!byId.has(fields.orderId), 'order id already resting');
      invariant(
        Number.isSafeInteger(fields.remainingLots) && fields.remainingLots > 0,
        'resting lots must be positive',
      );
      invariant(
        Number.isSafeInteger(fields.priceTicks) && fields.priceTicks > 0,
        'resting price must be positive',
      );
      const side = fields.side;
      const level = levelByPrice[side].get(fields.priceTicks) ?? insertLevel(side, fields.priceTicks);
      let orderSequence: number;
      if (fields.sequence === undefined) {
        sequence += 1;
        orderSequence = sequence;
      } else {
        invariant(
          Number.isSafeInteger(fields.sequence) && fields.sequence > 0 && fields.sequence <= sequence,
          'a restored order sequence is within the book counter',
        );
        orderSequence = fields.sequence;
      }
      const order: RestingOrder = {
        orderId: fields.orderId,
        owner: fields.owner,
        side: fields.side,
        priceTicks: fields.priceTicks,
        remainingLots: fields.remainingLots,
        clientOrderId: fields.clientOrderId,
        reduceOnly: fields.reduceOnly,
        sequence: orderSequence,
        level,
        previous: level.tail,
        next: null,
      };
      if (level.tail === null) level.head = order;
      else level.tail.next = order;
      level.tail = order;
      level.totalLots += order.remainingLots;
      level.orderCount += 1;
      byId.set(order.orderId, order);
      return order;
    },
    cancel(orderId) {
      const order = byId.get(orderId);
      if (order === undefined) return undefined;
      unlink(order);
      return order;
    },
    get(orderId) {
      return byId.get(orderId);
    },
    first(side) {
      const list = levels[side];
      return list[list.length - 1]?.head ?? undefined;
    },
    reduce(order, lots) {
      invariant(order.level !== null && byId.get(order.orderId) === order, 'reducing an order not resting');
      invariant(
        Number.isSafeInteger(lots) && lots > 0 && lots <= order.remainingLots,
        'reduce within the order',
      );
      order.remainingLots -= lots;
      order.level.totalLots -= lots;
      if (order.remainingLots === 0) unlink(order);
    },
    depth(side, maxLevels) {
      const list = levels[side];
      const out: Array<[number, number, number]> = [];
      for (let i = list.length - 1; i >= 0 && out.length < maxLevels; i--) {
        const level = list[i]!;
        out.push([level.priceTicks, level.totalLots, level.orderCount]);
      }
      return out;
    },
    orders() {
      const out: RestingOrder[] = [];
      for (const side of [BUY, SELL] as const) {
        const list = levels[side];
        for (let i = list.length - 1; i >= 0; i--) {
          for (let order = list[i]!.head; order !== null; order = order.next) out.push(order);
        }
      }
      return out;
    },
  };
  return book;
}
