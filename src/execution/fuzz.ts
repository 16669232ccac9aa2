/**
 * The engine fuzzer: drives every action the engine takes — deposit, withdraw, placeOrder with
 * random and hostile parameters (both kinds, every time in force, post-only, reduce-only, client
 * ids, extreme prices and sizes), cancel, cancelAll, listSeries, setMarkVol, setMarginMode — from
 * many accounts through `createEngine` and `applyBlock`, and checks after every block what must
 * hold whatever traders do (issue 9):
 *
 *   THROW                    `applyBlock` threw: no sequence of valid transactions may do that;
 *   CONSERVATION             deposits − withdrawals ≠ Σ balances + fee pool + insurance fund −
 *                            unrecovered loss (the engine header's identity);
 *   IDLE_LOSS                an account that never traded and holds no position has a balance
 *                            other than what it was funded with (genesis + deposits − withdrawals);
 *   FLAT_LOSS                an account flat at two checks (every `snapshotEveryBlocks`), with no
 *                            trade, settlement, liquidation or loss cover of its own in between,
 *                            whose balance moved by anything but its deposits and withdrawals:
 *                            losses are never charged to accounts that hold no position;
 *   ACCOUNT_WITHOUT_DEPOSIT  a key with no account and no deposit got one by another action
 *                            (withdraw, cancelAll, setMarginMode, an order): accounts cost a deposit;
 *   SNAPSHOT_DIVERGED        an engine restored from a snapshot does not reproduce the root, or
 *                            gives another root or other events on the next block;
 *   SETTLEMENT_STUCK         a series expired more than `SETTLEMENT_STUCK_MS` of block time ago
 *                            and has not settled (checked when the fuzzer refreshes its view of
 *                            the series, every 8 blocks): settlement must always conclude.
 *
 * The market: three underlyings with different spot levels, margin parameters and portfolio
 * stress grids; a strip of short-dated series on each, so expiries and settlements happen within
 * a run, and governance listing more (and hostile ones); an index that walks, gaps by up to 10×,
 * goes stale, comes with wide confidence, guard flags or not at all; block time that mostly ticks
 * a second and sometimes jumps an hour. The actors: a market maker quoting both sides (so that
 * liquidations find a book), traders with thin and fat balances in both margin modes, colluding
 * pairs that trade with each other at extreme prices (the Mango Markets shape of issue 9), idle
 * accounts that only ever receive deposits, fresh keys that try to act without an account, and
 * malformed transactions (wrong chain, bad signature, stale nonce, expired, undecodable payloads,
 * unauthorized governance and deposits).
 *
 * Signatures: the fuzzer tests the engine's logic, not Ed25519 (which has its own vectors). It
 * passes the engine a signature check that accepts a transaction whose signature starts with a
 * zero byte, and marks the ones it means to be forged with a one. Signing 10^5 blocks would spend
 * the whole CI budget in OpenSSL.
 *
 * A run is a sequence of episodes of at most `episodeBlocks` blocks, each from a fresh genesis and
 * its own seed (`seed + episode`): state stays small, so blocks stay fast, and a finding replays
 * with `palisade fuzz engine --seed <episode seed> --blocks <height>`. Pure and deterministic: the
 * same options give the same report, bit for bit (the CLI adds the wall-clock figures).
 */

import {
  type ExecutionAction,
  encodeAction,
  encodeGovernanceAction,
  type GovernanceAction,
} from '../codec/execution.ts';
import type { SignedTransaction } from '../codec/transaction.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { ADAPTIVE_PARAMETER_DEFAULTS } from './adaptive-defaults.ts';
import { createEngine, type Engine, isRejection, restoreEngine } from './engine.ts';
import { BTC, createSeededRandom, DEFAULT_ENGINE_PARAMETERS, USDC } from './fixtures.ts';
import { signProposal } from './governance.ts';
import { MS_PER_DAY } from './margin.ts';
import type {
  Block,
  BlockResult,
  EngineGenesis,
  OracleUpdate,
  SeriesConfig,
  UnderlyingConfig,
} from './types.ts';

export const FUZZ_FINDING_KINDS = Object.freeze([
  'THROW',
  'CONSERVATION',
  'IDLE_LOSS',
  'FLAT_LOSS',
  'ACCOUNT_WITHOUT_DEPOSIT',
  'SNAPSHOT_DIVERGED',
  'SETTLEMENT_STUCK',
] as const);
export type FuzzFindingKind = (typeof FUZZ_FINDING_KINDS)[number];

export interface FuzzFinding {
  readonly kind: FuzzFindingKind;
  /** The episode's seed: `palisade fuzz engine --seed <seed> --blocks <height>` replays it. */
  readonly seed: number;
  readonly height: number;
  readonly detail: string;
}

export interface EngineFuzzOptions {
  readonly seed: number;
  /** Blocks over all episodes. */
  readonly blocks: number;
  /** Blocks per episode before a fresh genesis (default 2,000). */
  readonly episodeBlocks?: number;
  /** A snapshot is restored and checked every this many blocks (default 50). */
  readonly snapshotEveryBlocks?: number;
  /** Most transactions the fuzzer puts in a block (default 6). */
  readonly transactionsPerBlockMax?: number;
  /**
   * Series per underlying in each episode's genesis (default 3); governance lists more. Every block
   * marks each series someone holds, so this sets most of a block's cost.
   */
  readonly seriesPerUnderlying?: number;
  /** Findings kept in the report (each kind at least once when it occurs); default 20. */
  readonly findingsMax?: number;
}

export interface EngineFuzzReport {
  readonly seed: number;
  readonly blocks: number;
  readonly episodes: number;
  readonly transactions: number;
  /** Transaction statuses, by status. */
  readonly statuses: Record<string, number>;
  /** Engine events, by type (fills, liquidation steps, settlements, insurance covers, …). */
  readonly events: Record<string, number>;
  readonly snapshotsChecked: number;
  /** Occurrences of each kind of finding, including those not kept in `findings`. */
  readonly findingCounts: Record<FuzzFindingKind, number>;
  readonly findings: readonly FuzzFinding[];
}

/** Calls back after every block with the running report (the CLI prints progress from it). */
export type FuzzProgress = (report: EngineFuzzReport) => void;

const E6 = 1_000_000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const CHAIN_ID = 7;
const START_MS = Date.UTC(2026, 0, 1);
const HOUR_MS = 3_600_000;
/**
 * Far beyond any settlement rule's reach (a 30-minute window, extended by as much again, then the
 * last valid price after an hour): an expired series still open this long after expiry is stuck.
 */
export const SETTLEMENT_STUCK_MS = 6 * HOUR_MS;
const OPERATOR_KEY = sha256(new TextEncoder().encode('palisade/fuzz/operator'));
/** Governance is one real governor (threshold 1, no timelock): its proposals carry real signatures. */
const GOVERNOR = createEd25519Signer(sha256(new TextEncoder().encode('palisade/fuzz/governance')));
const GOVERNANCE_KEY = GOVERNOR.publicKey;

/** Wraps a governance action in a proposal the fuzz governor signs; ids are unique per block position. */
function fuzzProposal(action: GovernanceAction, engine: Engine, position: number): ExecutionAction {
  const proposalId = (engine.height + 1) * 10_000 + position;
  const nowMs = engine.timeMs;
  const expiryMs = nowMs + HOUR_MS;
  const bytes = encodeGovernanceAction(action);
  return {
    kind: 'governanceProposal',
    value: {
      proposalId,
      expiryMs,
      action: bytes,
      signatures: [signProposal(GOVERNOR, CHAIN_ID, { proposalId, expiryMs, action: bytes })],
    },
  };
}

/** Signature bytes the fuzzer's check accepts, and bytes it refuses. */
const GOOD_SIGNATURE = new Uint8Array(64);
const FORGED_SIGNATURE = Uint8Array.from({ length: 64 }, () => 1);
const fuzzSignatureCheck = (tx: SignedTransaction): boolean => tx.signature[0] === 0;
/** Engine options the fuzzer runs with: its transactions carry a marker instead of a signature. */
export const FUZZ_ENGINE_OPTIONS = Object.freeze({ verifySignature: fuzzSignatureCheck });
const ENGINE_OPTIONS = FUZZ_ENGINE_OPTIONS;

interface UnderlyingPlan {
  readonly config: UnderlyingConfig;
  /** Starting index, quote base units per unit. */
  readonly spot: number;
  /** Series shape: tick, lot and multiplier, and strikes as fractions of spot in bps. */
  readonly tickSize: number;
  readonly lotSizeE6: number;
  readonly multiplierE6: number;
  readonly strikesBps: readonly number[];
}

/** Three markets that stress margin differently: BTC-like, a narrow-grid ETH, a wide-grid small coin. */
const UNDERLYINGS: readonly UnderlyingPlan[] = [
  {
    config: { ...BTC, pmSpotMovesBps: [...BTC.pmSpotMovesBps] },
    spot: 60_000 * USDC,
    tickSize: 5 * USDC,
    lotSizeE6: 100_000,
    multiplierE6: E6,
    strikesBps: [8_000, 10_000, 12_000],
  },
  {
    config: {
      ...BTC,
      underlyingId: 2,
      symbol: 'ETH',
      defaultVolBps: 8000,
      maxConfidenceBps: 200,
      imBaseBps: 2000,
      imMinBps: 1200,
      mmBps: 1000,
      pmSpotMovesBps: [-3000, -1500, 0, 1500, 3000],
      pmInitialMultiplierBps: 13000,
      pmContingencyBps: 300,
    },
    spot: 3_000 * USDC,
    tickSize: USDC,
    lotSizeE6: E6,
    multiplierE6: E6,
    strikesBps: [9_000, 10_000, 11_000],
  },
  {
    config: {
      ...BTC,
      underlyingId: 3,
      symbol: 'DOGE',
      defaultVolBps: 12000,
      maxVolBps: 40_000,
      maxConfidenceBps: 300,
      imBaseBps: 3000,
      imMinBps: 2000,
      mmBps: 1500,
      pmSpotMovesBps: [-5000, -2500, -1000, 0, 1000, 2500, 5000],
      pmInitialMultiplierBps: 15000,
      pmContingencyBps: 500,
    },
    spot: 150_000,
    tickSize: 10_000,
    lotSizeE6: E6,
    multiplierE6: 1_000 * E6,
    strikesBps: [7_000, 10_000, 13_000],
  },
];

type Role = 'maker' | 'trader' | 'colluder' | 'idle';
interface Actor {
  readonly key: Uint8Array;
  readonly hex: string;
  readonly role: Role;
}

interface SeriesInfo {
  seriesId: number;
  underlyingId: number;
  tickSize: number;
  lotSizeE6: number;
  markPrice: bigint | undefined;
  active: boolean;
}

type Random = ReturnType<typeof createSeededRandom>;

function keyOf(seed: number, label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`palisade/fuzz/${seed}/${label}`));
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.below(items.length)]!;
}

/** A draw in [0, n) for n up to 2^53, from two 32-bit draws (53 bits: exact in a double). */
function belowLarge(random: Random, n: number): number {
  if (n <= 0x1_0000_0000) return random.below(n);
  return (random.next() * 0x20_0000 + (random.next() >>> 11)) % n;
}

function seriesPlan(random: Random, plan: UnderlyingPlan, nowMs: number): SeriesConfig {
  const strikeBps = pick(random, plan.strikesBps) + (random.below(21) - 10) * 100;
  const strike = Math.max(
    plan.tickSize,
    Math.floor((plan.spot * strikeBps) / 10_000 / plan.tickSize) * plan.tickSize,
  );
  const expiryMs = nowMs + pick(random, [20 * 60_000, 2 * HOUR_MS, 6 * HOUR_MS, MS_PER_DAY, 7 * MS_PER_DAY]);
  return {
    underlyingId: plan.config.underlyingId,
    isCall: random.below(2) === 0,
    strike,
    expiryMs,
    tickSize: plan.tickSize,
    lotSizeE6: plan.lotSizeE6,
    multiplierE6: plan.multiplierE6,
  };
}

/** One episode: a genesis, its actors, and the state the generator keeps between blocks. */
/**
 * One fuzzing episode: a genesis and a block generator that reads the engine's views. Exported for
 * the determinism fixture (src/execution/determinism.test.ts), which replays episodes and compares
 * their state roots with committed digests.
 */
export function createEpisode(seed: number, transactionsPerBlockMax: number, seriesPerUnderlying: number) {
  const random = createSeededRandom(seed);
  const actors: Actor[] = [];
  const add = (role: Role, label: string) => {
    const key = keyOf(seed, label);
    actors.push({ key, hex: toHex(key), role });
  };
  // Two makers, one bidding and one offering, so that quoting round a moving mark never trades
  // with itself (self-trade prevention would cancel the older quote).
  add('maker', 'maker-bid');
  add('maker', 'maker-ask');
  for (let i = 0; i < 6; i++) add('trader', `trader-${i}`);
  for (let i = 0; i < 4; i++) add('colluder', `colluder-${i}`);
  for (let i = 0; i < 3; i++) add('idle', `idle-${i}`);
  const balances = [500, 5_000, 20_000, 50_000, 1_000_000];
  const genesisBalance = new Map<string, bigint>();
  const series: SeriesConfig[] = [];
  for (const plan of UNDERLYINGS)
    for (let i = 0; i < seriesPerUnderlying; i++) series.push(seriesPlan(random, plan, START_MS));
  const params = {
    ...DEFAULT_ENGINE_PARAMETERS,
    makerFeeBps: random.below(6),
    takerFeeBps: random.below(10),
    maxOpenOrdersPerAccount: 20 + random.below(40),
    liquidationStepLots: 1 + random.below(20),
    liquidationPenaltyBps: random.below(200),
    maxLiquidationStepsPerBlock: 5 + random.below(100),
    // The circuit breaker on, narrow enough that the random walk trips it and halts end in call
    // auctions (src/execution/breaker.ts) within an episode.
    breakerWindowMs: ADAPTIVE_PARAMETER_DEFAULTS.breakerWindowMs,
    breakerFloorBps: 50 + random.below(300),
    breakerHaltMs: 5_000 + random.below(30_000),
    // Parameters that follow volatility on, updating often enough to move within an episode.
    autoMaxStepBps: ADAPTIVE_PARAMETER_DEFAULTS.autoMaxStepBps,
    autoMinDelayMs: 1_000 + random.below(20_000),
    autoPeriodMs: 60_000 + random.below(600_000),
    // Withdrawals slow down on a fast fund drawdown; liquidation waits a grace after guard pauses.
    withdrawDrawdownBps: ADAPTIVE_PARAMETER_DEFAULTS.withdrawDrawdownBps,
    withdrawCapPerBlock: 1_000 * USDC * (1 + random.below(100)),
    liquidationGraceMs: random.below(20_000),
  };
  const genesis: EngineGenesis = {
    chainId: CHAIN_ID,
    operator: OPERATOR_KEY,
    governance: {
      governors: [GOVERNANCE_KEY],
      threshold: 1,
      guardians: [],
      guardianThreshold: 0,
      timelockMs: 0,
    },
    startTimeMs: START_MS,
    params,
    underlyings: UNDERLYINGS.map((plan) => ({
      ...plan.config,
      pmSpotMovesBps: [...plan.config.pmSpotMovesBps],
    })),
    series,
    accounts: actors.map((actor) => {
      const usdc =
        actor.role === 'maker'
          ? 50_000_000
          : actor.role === 'colluder'
            ? 20_000
            : actor.role === 'idle'
              ? 100_000
              : pick(random, balances);
      const balance = BigInt(usdc) * BigInt(USDC);
      genesisBalance.set(actor.hex, balance);
      return {
        publicKey: actor.key,
        balance,
        ...(actor.role !== 'idle' && random.below(4) === 0 ? { marginMode: 'portfolio' as const } : {}),
      };
    }),
    insuranceFund: BigInt(random.below(100_001)) * BigInt(USDC),
  };

  const nonces = new Map<string, number>();
  const spots = new Map(UNDERLYINGS.map((plan) => [plan.config.underlyingId, plan.spot]));
  let seriesInfo: SeriesInfo[] = [];
  const orderIds: number[] = [];
  let freshCounter = 0;

  function transaction(
    signer: Uint8Array,
    action: ExecutionAction | Uint8Array,
    overrides: { nonce?: number; chainId?: number; expiryHeight?: number; forged?: boolean } = {},
  ): SignedTransaction {
    return {
      body: {
        chainId: overrides.chainId ?? CHAIN_ID,
        signer,
        nonce: overrides.nonce ?? nonces.get(toHex(signer)) ?? 0,
        expiryHeight: overrides.expiryHeight ?? 1_000_000_000,
        payload: action instanceof Uint8Array ? action : encodeAction(action),
      },
      signature: overrides.forged === true ? FORGED_SIGNATURE : GOOD_SIGNATURE,
    };
  }

  function randomSeries(): SeriesInfo | undefined {
    if (seriesInfo.length === 0) return undefined;
    const active = seriesInfo.filter((s) => s.active);
    return pick(random, active.length > 0 && random.below(10) !== 0 ? active : seriesInfo);
  }

  /** A price in quote base units: near the mark mostly, else extreme or off the tick grid. */
  function orderPrice(info: SeriesInfo): number {
    const markTicks =
      info.markPrice === undefined ? 20 : Math.max(1, Number(info.markPrice / BigInt(info.tickSize)));
    const roll = random.below(100);
    if (roll < 70) return Math.max(1, markTicks + random.below(21) - 10) * info.tickSize;
    if (roll < 78) return info.tickSize; // one tick
    if (roll < 84) return Math.floor(MAX_SAFE / info.tickSize) * info.tickSize; // the largest on-grid
    if (roll < 90) return markTicks * (2 + random.below(100)) * info.tickSize;
    if (roll < 94) return info.tickSize + 1; // off the grid
    if (roll < 97) return 0;
    return belowLarge(random, MAX_SAFE);
  }

  function orderSize(info: SeriesInfo): number {
    const roll = random.below(100);
    if (roll < 80) return (1 + random.below(20)) * info.lotSizeE6;
    if (roll < 88) return (100 + random.below(5_000)) * info.lotSizeE6;
    if (roll < 92) return Math.floor(MAX_SAFE / info.lotSizeE6) * info.lotSizeE6; // beyond MAX_LOTS_PER_ORDER
    if (roll < 95)
      return 1_000_000_000 * info.lotSizeE6 <= MAX_SAFE ? 1_000_000_000 * info.lotSizeE6 : info.lotSizeE6;
    if (roll < 98) return info.lotSizeE6 + 1; // off the lot
    return 0;
  }

  function randomOrder(info: SeriesInfo | undefined): ExecutionAction {
    const seriesId = info?.seriesId ?? 1 + random.below(40);
    const shape = info ?? {
      seriesId,
      underlyingId: 1,
      tickSize: 5 * USDC,
      lotSizeE6: 100_000,
      markPrice: undefined,
      active: true,
    };
    const market = random.below(6) === 0;
    return {
      kind: 'placeOrder',
      value: {
        seriesId: random.below(30) === 0 ? 9_999 + random.below(2) : seriesId,
        side: random.below(2),
        kind: market ? 1 : 0,
        timeInForce: random.below(3),
        postOnly: random.below(6) === 0,
        reduceOnly: random.below(5) === 0,
        price: market && random.below(4) !== 0 ? 0 : orderPrice(shape),
        sizeE6: orderSize(shape),
        clientOrderId:
          random.below(3) === 0 ? 0 : pick(random, [1, 2, 3, 1 + random.below(1_000_000), MAX_SAFE]),
      },
    };
  }

  function quote(
    makers: readonly Actor[],
    info: SeriesInfo,
    out: SignedTransaction[],
    taken: Map<string, number>,
  ): void {
    const markTicks =
      info.markPrice === undefined ? undefined : Number(info.markPrice / BigInt(info.tickSize));
    if (markTicks === undefined) return;
    for (const side of [0, 1]) {
      const maker = makers[side]!;
      const offset = 1 + random.below(5);
      const ticks = side === 0 ? markTicks - offset : markTicks + offset;
      if (ticks <= 0) continue;
      out.push(
        signed(
          maker,
          {
            kind: 'placeOrder',
            value: {
              seriesId: info.seriesId,
              side,
              kind: 0,
              timeInForce: 0,
              postOnly: random.below(2) === 0,
              reduceOnly: false,
              price: ticks * info.tickSize,
              sizeE6: (5 + random.below(50)) * info.lotSizeE6,
              clientOrderId: 0,
            },
          },
          taken,
        ),
      );
    }
  }

  /** A transaction with the next nonce this block, counting the ones already put in it. */
  function signed(
    actor: { key: Uint8Array; hex: string },
    action: ExecutionAction,
    taken: Map<string, number>,
  ) {
    const used = taken.get(actor.hex) ?? 0;
    taken.set(actor.hex, used + 1);
    return transaction(actor.key, action, { nonce: (nonces.get(actor.hex) ?? 0) + used });
  }

  const freshKeysThisBlock: string[] = [];

  function nextBlock(engine: Engine): Block {
    freshKeysThisBlock.length = 0;
    const transactions: SignedTransaction[] = [];
    const taken = new Map<string, number>();
    const byRole = (role: Role) => actors.filter((a) => a.role === role);
    const count = random.below(transactionsPerBlockMax + 1);
    for (let i = 0; transactions.length < count && i < count; i++) {
      const roll = random.below(100);
      const info = randomSeries();
      if (roll < 22) {
        if (info !== undefined) quote(byRole('maker'), info, transactions, taken);
        if (random.below(20) === 0)
          transactions.push(
            signed(pick(random, byRole('maker')), { kind: 'cancelAll', value: { seriesId: 0 } }, taken),
          );
      } else if (roll < 38) {
        transactions.push(signed(pick(random, byRole('trader')), randomOrder(info), taken));
      } else if (roll < 50 && info?.markPrice !== undefined) {
        // A leveraged taker: sells (mostly) or buys into the maker's quotes, as much as its margin
        // lets it, so that the next gap has someone to liquidate.
        const markTicks = Math.max(1, Number(info.markPrice / BigInt(info.tickSize)));
        const sell = random.below(4) !== 0;
        const ticks = sell ? Math.max(1, markTicks - 6) : markTicks + 6;
        transactions.push(
          signed(
            pick(random, byRole('trader')),
            {
              kind: 'placeOrder',
              value: {
                seriesId: info.seriesId,
                side: sell ? 1 : 0,
                kind: 0,
                timeInForce: 1,
                postOnly: false,
                reduceOnly: false,
                price: ticks * info.tickSize,
                sizeE6: pick(random, [1, 2, 5, 10, 20, 50]) * info.lotSizeE6,
                clientOrderId: 0,
              },
            },
            taken,
          ),
        );
      } else if (roll < 58 && info !== undefined) {
        // A colluding pair: one rests at an absurd price, the other takes it in the same block.
        const pair = random.below(2) * 2;
        const colluders = byRole('colluder');
        const [resting, taking] =
          random.below(2) === 0
            ? [colluders[pair]!, colluders[pair + 1]!]
            : [colluders[pair + 1]!, colluders[pair]!];
        const side = random.below(2);
        const markTicks =
          info.markPrice === undefined ? 20 : Math.max(1, Number(info.markPrice / BigInt(info.tickSize)));
        const ticks = pick(random, [
          1,
          markTicks * 50,
          markTicks * 1_000,
          Math.floor(MAX_SAFE / info.tickSize),
        ]);
        const sizeE6 = (1 + random.below(200)) * info.lotSizeE6;
        const order = (s: number, tif: number, reduceOnly: boolean): ExecutionAction => ({
          kind: 'placeOrder',
          value: {
            seriesId: info.seriesId,
            side: s,
            kind: 0,
            timeInForce: tif,
            postOnly: false,
            reduceOnly,
            price: ticks * info.tickSize,
            sizeE6,
            clientOrderId: 0,
          },
        });
        transactions.push(signed(resting, order(side, 0, random.below(3) === 0), taken));
        transactions.push(signed(taking, order(1 - side, 1, random.below(3) === 0), taken));
        if (random.below(3) === 0)
          transactions.push(
            signed(
              taking,
              {
                kind: 'withdraw',
                value: {
                  amount: (1 + random.below(1_000_000)) * USDC,
                  recipient: new Uint8Array(20),
                  token: new Uint8Array(20),
                },
              },
              taken,
            ),
          );
      } else if (roll < 64) {
        const actor = pick(random, [...byRole('trader'), ...byRole('colluder'), ...byRole('maker')]);
        const orderId =
          orderIds.length > 0 && random.below(4) !== 0 ? pick(random, orderIds) : random.below(1_000_000);
        transactions.push(signed(actor, { kind: 'cancelOrder', value: { orderId } }, taken));
      } else if (roll < 67) {
        const actor = pick(random, [...byRole('trader'), ...byRole('colluder')]);
        const seriesId =
          random.below(3) === 0 ? 0 : (info?.seriesId ?? 0) + (random.below(10) === 0 ? 5_000 : 0);
        transactions.push(signed(actor, { kind: 'cancelAll', value: { seriesId } }, taken));
      } else if (roll < 72) {
        const actor = pick(random, [...byRole('trader'), ...byRole('colluder')]);
        const amount = pick(random, [0, 1, (1 + random.below(10_000)) * USDC, MAX_SAFE]);
        transactions.push(
          signed(
            actor,
            { kind: 'withdraw', value: { amount, recipient: new Uint8Array(20), token: new Uint8Array(20) } },
            taken,
          ),
        );
      } else if (roll < 78) {
        const freshRoll = random.below(4);
        const target = freshRoll === 0 ? keyOf(seed, `fresh-${freshCounter++}`) : pick(random, actors).key;
        const amount = pick(random, [0, 1, (1 + random.below(50_000)) * USDC, 10_000_000 * USDC]);
        transactions.push(
          signed(
            { key: OPERATOR_KEY, hex: toHex(OPERATOR_KEY) },
            { kind: 'deposit', value: { account: target, amount } },
            taken,
          ),
        );
      } else if (roll < 82) {
        const actor = pick(random, [...byRole('trader'), ...byRole('colluder'), ...byRole('maker')]);
        transactions.push(
          signed(actor, { kind: 'setMarginMode', value: { mode: random.below(3) === 0 ? 1 : 0 } }, taken),
        );
      } else if (roll < 86) {
        const governance = { key: GOVERNANCE_KEY, hex: toHex(GOVERNANCE_KEY) };
        if (random.below(2) === 0) {
          const plan = pick(random, UNDERLYINGS);
          const config = seriesPlan(random, plan, engine.timeMs);
          const hostile = random.below(4);
          const listing =
            hostile === 0
              ? { ...config, expiryMs: engine.timeMs - random.below(2) * HOUR_MS }
              : hostile === 1
                ? {
                    ...config,
                    tickSize: pick(random, [0, 3, MAX_SAFE]),
                    lotSizeE6: pick(random, [0, 7, MAX_SAFE]),
                  }
                : config;
          transactions.push(
            signed(
              governance,
              fuzzProposal(
                {
                  kind: 'listSeries',
                  value: { ...listing, underlyingId: random.below(15) === 0 ? 77 : listing.underlyingId },
                },
                engine,
                transactions.length,
              ),
              taken,
            ),
          );
        } else {
          const volBps = pick(random, [0, 1, 3_000, 8_000, 50_000, 4_294_967_295]);
          transactions.push(
            signed(
              governance,
              fuzzProposal(
                { kind: 'setMarkVol', value: { seriesId: info?.seriesId ?? 1, volBps } },
                engine,
                transactions.length,
              ),
              taken,
            ),
          );
        }
      } else if (roll < 93) {
        // A key with no account tries everything but a deposit.
        const key = keyOf(seed, `fresh-${freshCounter++}`);
        const fresh = { key, hex: toHex(key) };
        freshKeysThisBlock.push(fresh.hex);
        const action: ExecutionAction = pick(random, [
          {
            kind: 'withdraw',
            value: { amount: random.below(2), recipient: new Uint8Array(20), token: new Uint8Array(20) },
          },
          { kind: 'cancelAll', value: { seriesId: 0 } },
          { kind: 'setMarginMode', value: { mode: random.below(2) } },
          { kind: 'cancelOrder', value: { orderId: orderIds[0] ?? 1 } },
          randomOrder(info),
        ] as ExecutionAction[]);
        transactions.push(signed(fresh, action, taken));
      } else {
        const actor = pick(random, [...byRole('trader'), ...byRole('colluder')]);
        const hostile = random.below(7);
        const action = randomOrder(info);
        const nonce = (nonces.get(actor.hex) ?? 0) + (taken.get(actor.hex) ?? 0);
        if (hostile === 0)
          transactions.push(transaction(actor.key, action, { nonce, chainId: CHAIN_ID + 1 }));
        else if (hostile === 1) transactions.push(transaction(actor.key, action, { nonce, forged: true }));
        else if (hostile === 2)
          transactions.push(transaction(actor.key, action, { nonce, expiryHeight: engine.height }));
        else if (hostile === 3)
          transactions.push(transaction(actor.key, action, { nonce: nonce + 1 + random.below(3) }));
        else if (hostile === 4) {
          const junk = Uint8Array.from({ length: random.below(80) }, () => random.below(256));
          if (junk.length > 2 && random.below(2) === 0) [junk[0], junk[1]] = [0x03, 1 + random.below(8)];
          transactions.push(transaction(actor.key, junk, { nonce }));
        } else if (hostile === 5) {
          transactions.push(
            transaction(
              actor.key,
              { kind: 'deposit', value: { account: actor.key, amount: 1_000 * USDC } },
              { nonce },
            ),
          );
        } else {
          transactions.push(
            transaction(actor.key, { kind: 'setMarkVol', value: { seriesId: 1, volBps: 1 } }, { nonce }),
          );
        }
      }
    }

    const dt = pick(random, [1_000, 1_000, 1_000, 1_000, 1_000, 2_000, 1_000, 1_000, 1_000, 0]);
    const jump = random.below(200) === 0 ? HOUR_MS : random.below(30) === 0 ? 60_000 : 0;
    const timeMs = engine.timeMs + dt + jump;
    const oracle: OracleUpdate[] = [];
    for (const plan of UNDERLYINGS) {
      const id = plan.config.underlyingId;
      if (random.below(15) === 0) continue; // no update this block
      let spot = spots.get(id)!;
      const shock = random.below(150);
      if (shock === 0) spot = Math.max(1, Math.floor((spot * pick(random, [1, 3, 5, 7])) / 10));
      else if (shock === 1) spot = Math.min(spot * pick(random, [2, 3, 10]), Math.floor(MAX_SAFE / 4));
      else spot = Math.max(1, spot + Math.trunc((spot * (random.below(201) - 100)) / 10_000));
      // The random walk drifts back towards the start, so a run does not wander off to one tick.
      if (random.below(50) === 0) spot = Math.trunc((spot + plan.spot) / 2);
      spots.set(id, spot);
      const wide = random.below(25) === 0;
      const flags = random.below(30) === 0 ? pick(random, [2, 4, 8, 6]) : 0;
      oracle.push({
        underlyingId: id,
        price: random.below(500) === 0 ? pick(random, [0, -1, MAX_SAFE + 2]) : spot,
        confidence: wide ? Math.floor(spot / 10) : random.below(3) === 0 ? 0 : Math.floor(spot / 10_000),
        publishTimeMs: timeMs - random.below(3_000),
        stale: random.below(25) === 0,
        ...(flags !== 0 ? { flags } : {}),
      });
    }
    if (random.below(100) === 0)
      oracle.push({ underlyingId: 99, price: 5, confidence: 0, publishTimeMs: timeMs, stale: false });
    return { height: engine.height + 1, timeMs, transactions, oracle };
  }

  const stuckReported = new Set<number>();

  /**
   * Learns what the block did: nonces consumed, orders resting, the series and their marks.
   * Returns the series found stuck in expiry for the first time.
   */
  function observe(engine: Engine, block: Block, result: BlockResult): number[] {
    const stuck: number[] = [];
    block.transactions.forEach((tx, i) => {
      const status = result.results[i]?.status;
      if (status !== undefined && !isRejection(status)) {
        const hex = toHex(tx.body.signer);
        nonces.set(hex, (nonces.get(hex) ?? 0) + 1);
      }
    });
    for (const event of result.events) {
      if (event.type === 'orderRested') {
        orderIds.push(event.orderId);
        if (orderIds.length > 256) orderIds.shift();
      }
    }
    if (
      block.height % 8 === 1 ||
      result.events.some((e) => e.type === 'seriesListed' || e.type === 'expired')
    ) {
      const views = engine.series();
      seriesInfo = views.map((s) => ({
        seriesId: s.seriesId,
        underlyingId: s.underlyingId,
        tickSize: s.tickSize,
        lotSizeE6: s.lotSizeE6,
        markPrice: s.markPrice,
        active: s.status === 'active',
      }));
      for (const view of views) {
        if (view.status === 'settled' || engine.timeMs - view.expiryMs <= SETTLEMENT_STUCK_MS) continue;
        if (stuckReported.has(view.seriesId)) continue;
        stuckReported.add(view.seriesId);
        stuck.push(view.seriesId);
      }
    }
    return stuck;
  }

  return { genesis, actors, genesisBalance, nextBlock, observe, freshKeysThisBlock };
}

/** Event fields that name an account taking part in a trade, by event type. */
const TRADING_FIELDS: Record<string, readonly string[]> = {
  fill: ['maker', 'taker'],
  liquidationStep: ['account'],
  positionSettled: ['account'],
  autoDeleverage: ['account', 'counterparty'],
  backstopTaken: ['account'],
};

/** Events that change the named account's own balance without a trade: a flat account may see them. */
const OWN_LOSS_FIELDS: Record<string, readonly string[]> = {
  insuranceCover: ['account'],
  unrecoveredLoss: ['account'],
  socializedLoss: ['account'],
};

/**
 * Runs the fuzzer. Never throws on what the engine does: a throw inside `applyBlock` is a finding.
 * @example const report = runEngineFuzz({ seed: 1, blocks: 10_000 }); if (report.findings.length > 0) …
 */
export function runEngineFuzz(options: EngineFuzzOptions, onProgress?: FuzzProgress): EngineFuzzReport {
  const episodeBlocks = options.episodeBlocks ?? 2_000;
  const snapshotEvery = options.snapshotEveryBlocks ?? 50;
  const perBlock = options.transactionsPerBlockMax ?? 6;
  const findingsMax = options.findingsMax ?? 20;
  const seriesPerUnderlying = options.seriesPerUnderlying ?? 3;
  for (const [name, value] of Object.entries({
    blocks: options.blocks,
    episodeBlocks,
    snapshotEvery,
    perBlock,
    findingsMax,
    seriesPerUnderlying,
  })) {
    if (!Number.isSafeInteger(value) || value < (name === 'blocks' ? 0 : 1))
      throw new RangeError(`fuzz option ${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isSafeInteger(options.seed)) throw new RangeError('fuzz seed must be a safe integer');

  const statuses: Record<string, number> = {};
  const eventCounts: Record<string, number> = {};
  const findingCounts = Object.fromEntries(FUZZ_FINDING_KINDS.map((k) => [k, 0])) as Record<
    FuzzFindingKind,
    number
  >;
  const findings: FuzzFinding[] = [];
  let blocks = 0;
  let episodes = 0;
  let transactions = 0;
  let snapshotsChecked = 0;

  const report = (): EngineFuzzReport => ({
    seed: options.seed,
    blocks,
    episodes,
    transactions,
    statuses: { ...statuses },
    events: { ...eventCounts },
    snapshotsChecked,
    findingCounts: { ...findingCounts },
    findings: [...findings],
  });

  while (blocks < options.blocks) {
    const episodeSeed = options.seed + episodes;
    episodes += 1;
    const episode = createEpisode(episodeSeed, perBlock, seriesPerUnderlying);
    const found = (kind: FuzzFindingKind, height: number, detail: string) => {
      findingCounts[kind] += 1;
      // The first few of each kind, so that one noisy kind cannot hide another.
      if (findingCounts[kind] <= 3 && findings.length < findingsMax)
        findings.push({ kind, seed: episodeSeed, height, detail });
    };
    let engine = createEngine(episode.genesis, ENGINE_OPTIONS);
    /** Net funding of every account: genesis + deposits − withdrawals. */
    const funding = new Map(episode.genesisBalance);
    const traded = new Set<string>();
    const deposited = new Set<string>(episode.genesisBalance.keys());
    const reportedIdle = new Set<string>();
    /** Balance less net funding of each flat account at the last full check. */
    let flatResidual = new Map<string, bigint>();
    /** Accounts that traded or had a loss of their own covered since the last full check. */
    const touched = new Set<string>();
    let restored: Engine | undefined;
    const limit = Math.min(episodeBlocks, options.blocks - blocks);

    for (let b = 0; b < limit; b++) {
      const block = episode.nextBlock(engine);
      let result: BlockResult;
      try {
        result = engine.applyBlock(block);
      } catch (error) {
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        found('THROW', block.height, `applyBlock threw ${message}`);
        blocks += 1;
        break;
      }
      blocks += 1;
      transactions += block.transactions.length;
      for (const r of result.results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      for (const event of result.events) {
        eventCounts[event.type] = (eventCounts[event.type] ?? 0) + 1;
        const fields = TRADING_FIELDS[event.type];
        const named = event as unknown as Record<string, unknown>;
        if (fields !== undefined)
          for (const field of fields) {
            traded.add(String(named[field]));
            touched.add(String(named[field]));
          }
        for (const field of OWN_LOSS_FIELDS[event.type] ?? []) touched.add(String(named[field]));
        if (event.type === 'deposit') {
          funding.set(event.account, (funding.get(event.account) ?? 0n) + event.amount);
          deposited.add(event.account);
        } else if (event.type === 'withdrawal') {
          funding.set(event.account, (funding.get(event.account) ?? 0n) - event.amount);
        }
      }

      if (restored !== undefined) {
        // The copy restored one block ago must take the same block to the same root and events.
        let copy: BlockResult | undefined;
        try {
          copy = restored.applyBlock(block);
        } catch (error) {
          found('SNAPSHOT_DIVERGED', block.height, `the restored engine threw ${(error as Error).message}`);
        }
        if (
          copy !== undefined &&
          (!bytesEqual(copy.stateRoot, result.stateRoot) || !bytesEqual(copy.eventsHash, result.eventsHash))
        )
          found('SNAPSHOT_DIVERGED', block.height, 'the restored engine gave another root or other events');
        else if (copy !== undefined) engine = restored;
        restored = undefined;
      }

      const ledger = engine.ledger();
      const gap =
        ledger.totalDeposits -
        ledger.totalWithdrawals -
        (ledger.totalBalances + ledger.feePool + ledger.insuranceFund - ledger.unrecoveredLoss);
      if (gap !== 0n) found('CONSERVATION', block.height, `deposits − withdrawals − holdings = ${gap}`);

      for (const hex of episode.freshKeysThisBlock) {
        if (!deposited.has(hex) && engine.account(hex) !== undefined)
          found(
            'ACCOUNT_WITHOUT_DEPOSIT',
            block.height,
            `key ${hex.slice(0, 16)}… has an account without a deposit`,
          );
      }

      const idleCheck =
        block.height % snapshotEvery === 0 ||
        result.events.some((e) => (e.type as string) === 'socializedLoss');
      const candidates = idleCheck
        ? engine.accounts()
        : episode.actors.filter((a) => a.role === 'idle').map((a) => engine.account(a.key)!);
      for (const account of candidates) {
        if (account === undefined || traded.has(account.publicKey) || account.positions.length > 0) continue;
        const expected = funding.get(account.publicKey) ?? 0n;
        if (account.balance !== expected && !reportedIdle.has(account.publicKey)) {
          // Once per account and episode: the loss stays on its balance in every later block.
          reportedIdle.add(account.publicKey);
          found(
            'IDLE_LOSS',
            block.height,
            `account ${account.publicKey.slice(0, 16)}… never traded and holds ${account.balance}, funded ${expected}`,
          );
        }
      }

      if (idleCheck) {
        const residuals = new Map<string, bigint>();
        for (const account of candidates) {
          if (account === undefined || account.positions.length > 0) continue;
          const residual = account.balance - (funding.get(account.publicKey) ?? 0n);
          residuals.set(account.publicKey, residual);
          const before = flatResidual.get(account.publicKey);
          if (before === undefined || touched.has(account.publicKey) || residual === before) continue;
          if (reportedIdle.has(account.publicKey)) continue;
          reportedIdle.add(account.publicKey);
          found(
            'FLAT_LOSS',
            block.height,
            `account ${account.publicKey.slice(0, 16)}… held no position and did not trade, yet its balance moved by ${residual - before}`,
          );
        }
        flatResidual = residuals;
        touched.clear();
      }

      if (block.height % snapshotEvery === 0) {
        snapshotsChecked += 1;
        try {
          restored = restoreEngine(engine.snapshot(), episode.genesis, ENGINE_OPTIONS);
          if (!bytesEqual(restored.stateRoot(), engine.stateRoot())) {
            found('SNAPSHOT_DIVERGED', block.height, 'the restored engine has another root');
            restored = undefined;
          }
        } catch (error) {
          found('SNAPSHOT_DIVERGED', block.height, `restore failed: ${(error as Error).message}`);
          restored = undefined;
        }
      }
      for (const seriesId of episode.observe(engine, block, result))
        found(
          'SETTLEMENT_STUCK',
          block.height,
          `series ${seriesId} expired over 6 hours ago and has not settled`,
        );
      onProgress?.(report());
    }
  }
  return report();
}
