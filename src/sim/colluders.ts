/**
 * `colluders` (whole-node mode): three funded traders that search for value extraction while the
 * honest market maker and takers trade, sending their transactions to every validator's mempool
 * like everyone else. What they may do each move:
 *   self      one sells to another at 0.001× … 1000× the mark (a self-trade at an extreme price);
 *   reduce    a reduce-only order at an extreme price;
 *   sweep     immediate-or-cancel orders on both sides of every active series at ±45% of the mark
 *             (inside the band), taking whatever honest orders rest there;
 *   withdraw  a fraction of one colluder's balance;
 *   cancel    one colluder cancels all;
 *   pump      the index moves ±3% or ±8%: as at Mango, the colluders push the thin spot venues the
 *             validators' sources read, so every honest observation follows (below the oracle's
 *             jump guards, which flag moves over 10%).
 * Search, one strategy per run from the seed:
 *   random    each plan is two moves drawn at random;
 *   greedy    each plan is the best of `CANDIDATES` random two-move plans, each tried on a copy of
 *             the state (the engine's snapshot restored) as two blocks 200 ms apart.
 * The reward is what the coalition can withdraw: withdrawals plus equity (balance and positions at
 * the mark, what closing at the mark leaves), against what it held before. A plan's second move
 * goes as soon as its first has executed — after a pump, once the engine's index has moved — so
 * a sweep lands before the maker re-quotes. The attacker-withdrawal invariant (harness.ts) judges
 * them: deposits plus fair pay, "fair" being the reference band around the honest mark.
 */
import type { ExecutionAction } from '../codec/execution.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { type Engine, restoreEngine } from '../execution/engine.ts';
import { actionTransaction, limitOrder, USDC } from '../execution/fixtures.ts';
import type { EngineGenesis } from '../execution/types.ts';
import type { SimRng } from '../runtime/sim/rng.ts';
import type { Clock } from '../runtime/types.ts';

export type ColludeStrategy = 'random' | 'greedy';
export const COLLUDE_STRATEGIES: readonly ColludeStrategy[] = Object.freeze(['random', 'greedy']);

export const COLLUDERS = 3;
const PRICE_FACTORS = [0.001, 0.5, 1.5, 3, 1000] as const;
const SIZES = [0.1, 1] as const;
const PUMPS_BPS = [-800, -300, 300, 800] as const;
const CANDIDATES = 4;
/** How often the colluders look at the state, the least time between plans, and how long they wait for a move to execute. */
const POLL_MS = 10;
const PLAN_GAP_MS = 120;
const MOVE_TIMEOUT_MS = 300;
const LOOKAHEAD_BLOCK_MS = 200;

export type ColludeMove =
  | { kind: 'self'; seller: number; buyer: number; series: number; factor: number; size: number }
  | { kind: 'reduce'; who: number; series: number; side: 'buy' | 'sell'; factor: number; size: number }
  | { kind: 'sweep'; who: number }
  | { kind: 'withdraw'; who: number; fraction: number }
  | { kind: 'cancel'; who: number }
  | { kind: 'pump'; bps: number };

export interface ColludeStats {
  strategy: ColludeStrategy;
  moves: number;
  pumps: number;
  sweeps: number;
  /** The best lookahead reward a greedy plan promised, USDC (0 for random). */
  bestPlanUsdc: number;
}

export interface Colluders {
  readonly signers: readonly Ed25519Signer[];
  readonly stats: ColludeStats;
  start(context: {
    clock: Clock;
    reference: () => Engine | undefined;
    submit: (bytes: Uint8Array) => number;
    /** Moves the index by `bps` from now on (the market's `shiftIndex`). */
    pump: (bps: number) => void;
  }): void;
}

function drawMove(rng: SimRng, seriesCount: number): ColludeMove {
  const who = () => rng.nextInt(COLLUDERS);
  const pick = <T>(list: readonly T[]) => list[rng.nextInt(list.length)]!;
  const series = 1 + rng.nextInt(seriesCount);
  switch (rng.nextInt(7)) {
    case 0: {
      const seller = who();
      return {
        kind: 'self',
        seller,
        buyer: (seller + 1 + rng.nextInt(COLLUDERS - 1)) % COLLUDERS,
        series,
        factor: pick(PRICE_FACTORS),
        size: pick(SIZES),
      };
    }
    case 1:
      return {
        kind: 'reduce',
        who: who(),
        series,
        side: rng.nextInt(2) === 0 ? 'buy' : 'sell',
        factor: pick(PRICE_FACTORS),
        size: pick(SIZES),
      };
    case 2:
    case 3:
      return { kind: 'sweep', who: who() };
    case 4:
      return rng.nextInt(2) === 0
        ? { kind: 'withdraw', who: who(), fraction: pick([0.25, 0.5, 1]) }
        : { kind: 'cancel', who: who() };
    default:
      return { kind: 'pump', bps: pick(PUMPS_BPS) };
  }
}

/** The transactions' actions of one move on `engine`'s marks, by colluder index. */
function actionsOf(move: ColludeMove, engine: Engine): [number, ExecutionAction][] {
  const active = engine
    .series()
    .filter((entry) => entry.status === 'active' && entry.markPrice !== undefined);
  const at = (seriesId: number, factor: number): number | undefined => {
    const series = active.find((entry) => entry.seriesId === seriesId);
    if (series?.markPrice === undefined) return undefined;
    const tick = series.tickSize / USDC;
    return Math.max(tick, Math.round((Number(series.markPrice) * factor) / USDC / tick) * tick);
  };
  switch (move.kind) {
    case 'self': {
      const price = at(move.series, move.factor);
      if (price === undefined) return [];
      return [
        [move.seller, limitOrder(move.series, 'sell', price, move.size)],
        [move.buyer, limitOrder(move.series, 'buy', price, move.size, { timeInForce: 1 })],
        [move.seller, { kind: 'cancelAll', value: { seriesId: 0 } }],
      ];
    }
    case 'reduce': {
      const price = at(move.series, move.factor);
      return price === undefined
        ? []
        : [[move.who, limitOrder(move.series, move.side, price, move.size, { reduceOnly: true })]];
    }
    case 'sweep':
      return active.flatMap((series): [number, ExecutionAction][] => [
        [move.who, limitOrder(series.seriesId, 'buy', at(series.seriesId, 1.45)!, 1, { timeInForce: 1 })],
        [move.who, limitOrder(series.seriesId, 'sell', at(series.seriesId, 0.55)!, 1, { timeInForce: 1 })],
      ]);
    case 'withdraw':
      return [];
    case 'cancel':
      return [[move.who, { kind: 'cancelAll', value: { seriesId: 0 } }]];
    case 'pump':
      return [];
  }
}

export function createColluders(options: {
  signers: readonly Ed25519Signer[];
  chainId: number;
  strategy: ColludeStrategy;
  rng: SimRng;
  genesis: EngineGenesis;
  underlyingId: number;
}): Colluders {
  const { signers, chainId, strategy, rng, genesis, underlyingId } = options;
  const stats: ColludeStats = { strategy, moves: 0, pumps: 0, sweeps: 0, bestPlanUsdc: 0 };
  const seriesCount = genesis.series.length;

  /** The actions of a move, withdrawals sized from `engine`'s balances. */
  const actions = (move: ColludeMove, engine: Engine): [number, ExecutionAction][] => {
    if (move.kind !== 'withdraw') return actionsOf(move, engine);
    const balance = engine.account(signers[move.who]!.publicKey)?.balance ?? 0n;
    const amount = Number((balance * BigInt(Math.round(move.fraction * 100))) / 100n);
    return amount > 0
      ? [
          [
            move.who,
            { kind: 'withdraw', value: { amount, recipient: new Uint8Array(20), token: new Uint8Array(20) } },
          ],
        ]
      : [];
  };
  const equity = (engine: Engine): bigint =>
    signers.reduce((sum, signer) => {
      const account = engine.account(signer.publicKey);
      return sum + (account?.margin?.equity ?? account?.balance ?? 0n);
    }, 0n);

  /** What a plan would gain the coalition on a copy of `engine`'s state (withdrawals plus equity). */
  const lookahead = (engine: Engine, plan: readonly ColludeMove[]): bigint => {
    const index = engine.indexPrice(underlyingId);
    if (index === undefined) return 0n;
    let copy: Engine;
    try {
      // The colluders' own transactions, signed here: the copy need not verify them.
      copy = restoreEngine(engine.snapshot(), undefined, { verifySignature: () => true });
    } catch {
      return 0n;
    }
    const before = equity(copy);
    const keys = new Set(signers.map((signer) => Buffer.from(signer.publicKey).toString('hex')));
    let price = index;
    let withdrawn = 0n;
    for (const move of plan) {
      if (move.kind === 'pump') price += (price * BigInt(move.bps)) / 10_000n;
      const used = new Map<number, number>();
      const transactions = actions(move, copy).map(([who, action]) => {
        const offset = used.get(who) ?? 0;
        used.set(who, offset + 1);
        const nonce = (copy.account(signers[who]!.publicKey)?.nonce ?? 0) + offset;
        return actionTransaction(signers[who]!, nonce, action, { chainId });
      });
      const timeMs = copy.timeMs + LOOKAHEAD_BLOCK_MS;
      try {
        const result = copy.applyBlock({
          height: copy.height + 1,
          timeMs,
          transactions,
          oracle: [
            {
              underlyingId,
              price: Number(price),
              confidence: Number(price / 1000n),
              publishTimeMs: timeMs,
              stale: false,
            },
          ],
        });
        for (const event of result.events)
          if (event.type === 'withdrawal' && keys.has(event.account.replace(/^0x/, '').toLowerCase()))
            withdrawn += event.amount;
      } catch {
        return -1n;
      }
    }
    return equity(copy) + withdrawn - before;
  };

  const choose = (engine: Engine): ColludeMove[] => {
    const draw = () => [drawMove(rng, seriesCount), drawMove(rng, seriesCount)];
    if (strategy === 'random') return draw();
    let best: { plan: ColludeMove[]; reward: bigint } | undefined;
    for (let i = 0; i < CANDIDATES; i++) {
      const plan = draw();
      const reward = lookahead(engine, plan);
      if (best === undefined || reward > best.reward) best = { plan, reward };
    }
    const usdc = Number(best!.reward) / USDC;
    if (usdc > stats.bestPlanUsdc) stats.bestPlanUsdc = usdc;
    return best!.plan;
  };

  return {
    signers,
    stats,
    start({ clock, reference, submit, pump }) {
      let plan: ColludeMove[] = [];
      /** What the last move waits for: the colluders' nonces to reach these, or the index to leave `from`. */
      let waiting:
        | { nonces: Map<number, number>; index?: { from: bigint; bps: number }; since: number }
        | undefined;
      let lastPlanMs = Number.NEGATIVE_INFINITY;
      const executed = (engine: Engine): boolean => {
        if (waiting === undefined) return true;
        if (clock.now() - waiting.since > MOVE_TIMEOUT_MS) return true;
        for (const [who, nonce] of waiting.nonces)
          if ((engine.account(signers[who]!.publicKey)?.nonce ?? 0) < nonce) return false;
        const index = waiting.index;
        if (index !== undefined) {
          const now = engine.indexPrice(underlyingId) ?? index.from;
          const moved = now > index.from ? now - index.from : index.from - now;
          const wanted = (index.from * BigInt(Math.abs(index.bps))) / 20_000n;
          if (moved < wanted) return false;
        }
        return true;
      };
      const tick = () => {
        const engine = reference();
        if (engine !== undefined && executed(engine)) {
          waiting = undefined;
          if (plan.length === 0 && clock.now() - lastPlanMs >= PLAN_GAP_MS) {
            plan = choose(engine);
            lastPlanMs = clock.now();
          }
          const move = plan.shift();
          if (move !== undefined) {
            stats.moves++;
            const nonces = new Map<number, number>();
            for (const [who, action] of actions(move, engine)) {
              const nonce = nonces.get(who) ?? engine.account(signers[who]!.publicKey)?.nonce ?? 0;
              nonces.set(who, nonce + 1);
              submit(
                SignedTransactionCodec.encode(actionTransaction(signers[who]!, nonce, action, { chainId })),
              );
            }
            waiting = { nonces, since: clock.now() };
            if (move.kind === 'sweep') stats.sweeps++;
            if (move.kind === 'pump') {
              stats.pumps++;
              const from = engine.indexPrice(underlyingId);
              pump(move.bps);
              if (from !== undefined) waiting.index = { from, bps: move.bps };
            }
          }
        }
        clock.setTimer(POLL_MS, tick);
      };
      clock.setTimer(60, tick);
    },
  };
}
