/**
 * The attacker-withdrawal invariant: no coalition of attacking accounts takes out more than it
 * put in plus what the market paid it at fair prices.
 *
 * Fair, precisely. Let m be the honest mark of a series at a block — the mark the engine computes
 * from the honest index (the twin engine of venue.ts, which sees only honest observations and no
 * transaction) — and tick its tick size. The fair band is
 *     [m − w, m + w],  w = max(m · B / 10⁴, K · tick)
 * with B = 5000 and K = 10, the reference genesis's `priceBandBps` and `priceBandMinTicks`
 * (DEFAULT_ENGINE_PARAMETERS), whatever band the venue under test runs with: a venue whose band
 * was widened or removed is judged by the reference band, so removing the band is a bug this
 * invariant can see. A price inside the band is fair; a price outside it is worth its nearest
 * edge.
 *
 * What the market paid the coalition at fair prices, `fairPay`, sums the coalition's flows with
 * anyone outside it, each valued fairly:
 *   a fill against an outside account (a book liquidation step is a fill too): −lots × fair price
 *     (lots signed, + bought), the price clamped into the band at that block;
 *   lots the insurance fund's backstop took (`backstopTaken`): + lots × fair price likewise;
 *   a position settled at expiry: its lots × the payoff per lot of the honest twin's settlement;
 *   and what the coalition holds at the end, at the honest mark.
 * Fills between two coalition accounts move value only inside it and count for nothing.
 *
 * The coalition's take is what it withdrew plus its end balances plus its end positions at the
 * honest mark. The invariant: take ≤ deposits + fairPay + rounding, where deposits are the
 * coalition's genesis balances and rounding one base unit per flow. Fees, liquidation penalties
 * and losses only lower the take; an insurance cover of a coalition deficit, an auto-deleveraging
 * of an outside account at a price off the band, or a fill at an unfair price raise it: `excess`
 * is the loss the venue suffered to the attack.
 */
import type { Engine } from '../../execution/engine.ts';
import { DEFAULT_ENGINE_PARAMETERS } from '../../execution/fixtures.ts';
import type { BlockResult } from '../../execution/types.ts';

const E6 = 1_000_000n;
const BPS = 10_000n;

export interface FairValueReport {
  deposits: bigint;
  withdrawn: bigint;
  /** End balances plus end positions at the honest mark. */
  held: bigint;
  fairPay: bigint;
  /** take − (deposits + fairPay + rounding); positive is value extracted. */
  excess: bigint;
  /** Flows with outside accounts, and how many were priced outside the fair band. */
  outsideFlows: number;
  unfairFlows: number;
}

interface SeriesInfo {
  tickSize: bigint;
  lotSizeE6: bigint;
}

const normal = (key: string) => key.replace(/^0x/, '').toLowerCase();

/** Follows one coalition through a venue's blocks; call `block` after every block, in order. */
export class FairValueLedger {
  readonly #coalition: ReadonlySet<string>;
  readonly #deposits: bigint;
  #withdrawn = 0n;
  #fairCash = 0n;
  #outsideFlows = 0;
  #unfairFlows = 0;
  #positions = new Map<string, Map<number, number>>();

  #height = -1;

  /**
   * @param deposits the coalition's deposits when not its balances in `engine` now (a ledger
   *   started after genesis, from the genesis accounts)
   */
  constructor(coalition: Iterable<string>, engine: Engine, deposits?: bigint) {
    this.#coalition = new Set([...coalition].map(normal));
    let balances = 0n;
    for (const key of this.#coalition) balances += engine.account(key)?.balance ?? 0n;
    this.#deposits = deposits ?? balances;
    this.#snapshotPositions(engine);
  }

  #snapshotPositions(engine: Engine): void {
    this.#positions = new Map();
    for (const key of this.#coalition) {
      const account = engine.account(key);
      this.#positions.set(key, new Map((account?.positions ?? []).map((p) => [p.seriesId, p.lots])));
    }
  }

  #series(engine: Engine, seriesId: number): SeriesInfo {
    const series = engine.series().find((entry) => entry.seriesId === seriesId);
    if (series === undefined) throw new Error(`series ${seriesId} unknown`);
    return { tickSize: BigInt(series.tickSize), lotSizeE6: BigInt(series.lotSizeE6) };
  }

  /** The fair price per contract (base units) of `priceTicks` at the honest mark; whether it was fair. */
  #fair(honest: Engine, seriesId: number, priceTicks: number): { price: bigint; fair: boolean } {
    const info = this.#series(honest, seriesId);
    const price = BigInt(priceTicks) * info.tickSize;
    const mark = honest.series().find((entry) => entry.seriesId === seriesId)?.markPrice;
    if (mark === undefined) return { price, fair: true };
    const byBps = (mark * BigInt(DEFAULT_ENGINE_PARAMETERS.priceBandBps)) / BPS;
    const byTicks = BigInt(DEFAULT_ENGINE_PARAMETERS.priceBandMinTicks) * info.tickSize;
    const width = byBps > byTicks ? byBps : byTicks;
    const low = mark > width ? mark - width : 0n;
    const high = mark + width;
    if (price < low) return { price: low, fair: false };
    if (price > high) return { price: high, fair: false };
    return { price, fair: true };
  }

  /** Accounts one block's events; `engine` and `honest` are the venue and its twin after it. */
  block(result: BlockResult, honestResult: BlockResult | undefined, engine: Engine, honest: Engine): void {
    // A block seen again (a restarted node replaying) is counted once.
    if (result.height <= this.#height) return;
    this.#height = result.height;
    const inside = (key: string) => this.#coalition.has(normal(key));
    for (const event of result.events) {
      if (event.type === 'withdrawal' && inside(event.account)) this.#withdrawn += event.amount;
      if (event.type === 'fill') {
        const makerIn = inside(event.maker);
        const takerIn = inside(event.taker);
        if (makerIn === takerIn) continue;
        const coalitionBuys = takerIn ? event.takerSide === 'buy' : event.takerSide === 'sell';
        const { price, fair } = this.#fair(honest, event.seriesId, event.priceTicks);
        const info = this.#series(engine, event.seriesId);
        const cash = (BigInt(event.lots) * info.lotSizeE6 * price) / E6;
        this.#fairCash += coalitionBuys ? -cash : cash;
        this.#outsideFlows++;
        if (!fair) this.#unfairFlows++;
      }
      if (event.type === 'backstopTaken' && inside(event.account)) {
        const { price, fair } = this.#fair(honest, event.seriesId, event.priceTicks);
        const info = this.#series(engine, event.seriesId);
        const held = this.#positions.get(normal(event.account))?.get(event.seriesId) ?? 0;
        const cash = (BigInt(event.lots) * info.lotSizeE6 * price) / E6;
        // A long handed over is sold to the fund; a short handed over is bought back from it.
        this.#fairCash += held >= 0 ? cash : -cash;
        this.#outsideFlows++;
        if (!fair) this.#unfairFlows++;
      }
      if (event.type === 'positionSettled' && inside(event.account)) {
        const settled = honestResult?.events.find(
          (candidate) => candidate.type === 'settlement' && candidate.seriesId === event.seriesId,
        );
        const payoff = settled?.type === 'settlement' ? settled.payoffPerLot : 0n;
        this.#fairCash += BigInt(event.lots) * payoff;
        this.#outsideFlows++;
      }
    }
    this.#snapshotPositions(engine);
  }

  report(engine: Engine, honest: Engine): FairValueReport {
    let balances = 0n;
    let positionsValue = 0n;
    for (const key of this.#coalition) {
      const account = engine.account(key);
      if (account === undefined) continue;
      balances += account.balance;
      for (const position of account.positions) {
        const series = honest.series().find((entry) => entry.seriesId === position.seriesId);
        const mark = series?.markPrice ?? 0n;
        positionsValue += (BigInt(position.lots) * BigInt(series?.lotSizeE6 ?? 0) * mark) / E6;
      }
    }
    const held = balances + positionsValue;
    const fairPay = this.#fairCash + positionsValue;
    const rounding = BigInt(this.#outsideFlows + 1);
    return {
      deposits: this.#deposits,
      withdrawn: this.#withdrawn,
      held,
      fairPay,
      excess: this.#withdrawn + held - this.#deposits - fairPay - rounding,
      outsideFlows: this.#outsideFlows,
      unfairFlows: this.#unfairFlows,
    };
  }
}
