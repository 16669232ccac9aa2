/**
 * The griefer: a hostile trader of the whole-node profile (src/sim/whole-node.ts), against the
 * validators' mempools rather than consensus. It
 *   - floods resting orders far from the mark from its funded account, one every virtual ms (ten
 *     times the per-account rate limit, within the nonce window, its nonce moving on only when a
 *     validator admits one), and sends cancel storms (`cancelAll`) among them every 20 ms;
 *   - floods orders signed by fresh keys nobody funded, `FRESH_PER_MS` every virtual ms, each key
 *     signing a run of nonces from 0 (the nonces an unknown account may use): four times the
 *     simulator's per-validator admission budget (`SIM_MEMPOOL_LIMITS.globalRateLimit`);
 *   - spams undecodable bytes every 20 ms.
 * The floods' ticks are set ahead of time, so at any instant they run before other traffic.
 *
 * What it is up against, two defences of the mempool that each keep the validator's admission
 * budget (shared by every sender) for honest traders:
 *   - the per-account rate limit holds its funded account to 100 a second; without it
 *     (`--mutation no-rate-limit`) that one account, up to its 64-nonce window a block, spends
 *     the budget;
 *   - a key without an account is refused (NO_ACCOUNT) before it may spend the budget, so fresh
 *     keys cost a validator a decode and nothing else; without that refusal (`--mutation
 *     admit-unfunded`) the fresh keys spend it.
 * Either way honest transactions are refused GLOBAL_RATE_LIMITED by every validator: the
 * no-crowding-out invariant (whole-node.ts `VenueChecker.refused`) reports it.
 */
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import type { Engine } from '../../execution/engine.ts';
import { actionTransaction, limitOrder, testSigner, USDC } from '../../execution/fixtures.ts';
import { DEFAULT_MEMPOOL_LIMITS } from '../../mempool/mempool.ts';
import type { SimRng } from '../../runtime/sim/rng.ts';
import type { Clock } from '../../runtime/types.ts';

/** How often the griefer acts, virtual ms. */
export const GRIEF_PERIOD_MS = 20;
/** The mempool's nonce window (DEFAULT_MEMPOOL_LIMITS.maxPendingPerAccount): the funded flood stays in it. */
const NONCE_WINDOW = DEFAULT_MEMPOOL_LIMITS.maxPendingPerAccount;
/** Orders signed by fresh keys per virtual ms: 2,000 a second, four times the simulator's budget. */
export const FRESH_PER_MS = 2;
/**
 * How far ahead each flood tick is set: more than any honest trader sets its timers (at most
 * 120 ms), so the flood's tick at an instant is ordered before theirs.
 */
const FLOOD_LOOKAHEAD_MS = 200;
/** Nonces each fresh key signs (0 upwards: within the window an unknown account is given). */
const NONCES_PER_FRESH_KEY = 20;

export interface GrieferStats {
  /** Orders and cancels sent from the funded account, and how many some validator admitted. */
  funded: number;
  fundedAdmitted: number;
  /** Orders sent from fresh keys, the keys made, and how many some validator admitted. */
  fresh: number;
  freshKeys: number;
  freshAdmitted: number;
  /** Undecodable messages sent. */
  spam: number;
}

/** Starts the griefer on `clock`; the returned stats fill in as it acts. */
export function startGriefer(
  griefer: Ed25519Signer,
  context: {
    clock: Clock;
    reference: () => Engine | undefined;
    submit: (bytes: Uint8Array) => number;
    rng: SimRng;
    chainId: number;
  },
): GrieferStats {
  const { clock, reference, submit, rng, chainId } = context;
  const stats: GrieferStats = {
    funded: 0,
    fundedAdmitted: 0,
    fresh: 0,
    freshKeys: 0,
    freshAdmitted: 0,
    spam: 0,
  };
  let nonce: number | undefined;
  let stranger: Ed25519Signer | undefined;
  let strangerNonce = NONCES_PER_FRESH_KEY;
  /** The series and mark the fresh keys' orders use, from the last tick that saw a mark. */
  let target: { seriesId: number; markUsdc: number; tickUsdc: number } | undefined;
  /** The funded account's committed nonce as last seen. */
  let committed = 0;
  /** Sends an action from the funded account; the nonce moves on only when some validator admits it. */
  const sendFunded = (action: Parameters<typeof actionTransaction>[2]) => {
    if (nonce === undefined) return;
    stats.funded++;
    if (submit(SignedTransactionCodec.encode(actionTransaction(griefer, nonce, action, { chainId }))) > 0) {
      stats.fundedAdmitted++;
      nonce++;
    }
  };
  const act = () => {
    const engine = reference();
    const account = engine?.account(griefer.publicKey);
    const series = engine?.series().filter((entry) => entry.status === 'active' && entry.markPrice) ?? [];
    const chosen = series[rng.nextInt(Math.max(1, series.length))];
    if (chosen?.markPrice !== undefined) {
      const tickUsdc = chosen.tickSize / USDC;
      const markUsdc = Math.round(Number(chosen.markPrice) / USDC / tickUsdc) * tickUsdc;
      if (account !== undefined) {
        committed = account.nonce;
        // Back to the committed nonce when it passed ours, or now and then when the window is full
        // (what it holds above a gap — an expired order — never executes).
        if (
          nonce === undefined ||
          nonce < account.nonce ||
          (nonce >= account.nonce + NONCE_WINDOW && rng.nextInt(10) === 0)
        )
          nonce = account.nonce;
        if (rng.nextInt(2) === 0) sendFunded({ kind: 'cancelAll', value: { seriesId: 0 } });
      }
      target = { seriesId: chosen.seriesId, markUsdc, tickUsdc };
    }
    stats.spam++;
    submit(Uint8Array.from({ length: 1 + rng.nextInt(300) }, () => rng.nextInt(256)));
    clock.setTimer(GRIEF_PERIOD_MS, act);
  };
  // Keys nobody funded, each signing valid orders at the mark from nonce 0, FRESH_PER_MS every
  // virtual millisecond. Each flood tick is set FLOOD_LOOKAHEAD_MS ahead, so at any instant it
  // runs before whatever else happens then: a flood always in flight takes each token of the
  // budget as it refills, before anyone else asks for it.
  const flood = () => {
    // A resting order far from the mark from the funded account, within its nonce window.
    if (target !== undefined && nonce !== undefined && nonce < committed + NONCE_WINDOW) {
      const away = target.tickUsdc * (20 + rng.nextInt(40));
      const side = rng.nextInt(2) === 0 ? 'buy' : 'sell';
      const price =
        side === 'buy' ? Math.max(target.tickUsdc, target.markUsdc - away) : target.markUsdc + away;
      const order = limitOrder(target.seriesId, side, price, 0.1, { postOnly: true });
      sendFunded(order);
    }
    if (target !== undefined)
      for (let i = 0; i < FRESH_PER_MS; i++) {
        if (stranger === undefined || strangerNonce >= NONCES_PER_FRESH_KEY) {
          stranger = testSigner(`sim-stranger/${chainId}/${stats.freshKeys++}`);
          strangerNonce = 0;
        }
        const side = rng.nextInt(2) === 0 ? 'buy' : 'sell';
        const order = limitOrder(target.seriesId, side, target.markUsdc, 0.1);
        const bytes = SignedTransactionCodec.encode(
          actionTransaction(stranger, strangerNonce++, order, { chainId }),
        );
        stats.fresh++;
        if (submit(bytes) > 0) stats.freshAdmitted++;
      }
    clock.setTimer(FLOOD_LOOKAHEAD_MS, flood);
  };
  for (let at = 0; at < FLOOD_LOOKAHEAD_MS; at++) clock.setTimer(40 + at, flood);
  clock.setTimer(40, act);
  return stats;
}
