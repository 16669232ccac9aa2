/**
 * The whole-node profile's world: what a validator node is to the simulator, the seeded market
 * its oracle observes, the traders that use it, and the venue's invariants.
 *
 * The node itself is the validators' composition (consensus application, mempool, the block rule
 * of src/chain, oracle observations on votes, price signing) built by a `SimNodeFactory` the
 * composition root provides (src/node/sim-node.ts wraps `createNodeApplication` and
 * `createPriceSigner`), over this run's simulated storage, clock, disk and network. Every validator observes the same seeded index with a small per-validator spread, as
 * real sources would; traders are a market maker quoting around the mark and takers crossing it,
 * signing with their own keys and sending each transaction to every validator's mempool (the
 * gossip a real node does).
 *
 * Venue invariants, checked after every finalized block on one honest validator (the consensus
 * invariants already prove every honest validator has the same node state root at each height):
 *   conservation        deposits − withdrawals = Σ balances + fee pool + insurance − unrecovered loss;
 *   idle-accounts       accounts that never trade keep their genesis balance;
 *   no-loss-without-position  an account holding no position and no open order before a block, and
 *                       signing nothing in it, has no less afterwards;
 *   no-invariant-thrown an application call that throws (an engine invariant, a bug) is reported;
 *   market-liveness     after the heal the honest traders' orders are accepted and finalized, and
 *                       marks keep coming;
 *   no-censorship       after the heal every honest trader (they send all the time, to every
 *                       mempool) has a transaction executed: f censoring leaders cannot shut one out;
 *   no-account-without-deposit  nobody gets an account record without a deposit (fresh keys);
 *   no-crowding-out     no honest trader's transaction is refused by every validator for want of
 *                       capacity (GLOBAL_RATE_LIMITED, MEMPOOL_FULL): they send far below every
 *                       per-account limit, so only others spending the shared budget could cause it;
 *   attacker-withdrawal the hostile traders (griefer, front-runner) take out no more than their
 *                       deposits plus what the market paid them at fair prices: fills valued within
 *                       the reference band around the honest mark (src/sim/redteam/fair-value.ts
 *                       defines it; here the honest mark is the engine's, which oracle-honest-range
 *                       keeps on the honest observations);
 *   oracle-honest-range a fresh aggregate price lies within the prices the block's honest
 *                       observations reported, and its confidence within their spread (the bound
 *                       src/oracle/aggregate.ts proves), whatever f liars report;
 *   certificate-liveness after the heal every report an honest validator opened for signing is
 *                       certified, under the one group key all honest validators hold, for the
 *                       price the finalized block aggregated (src/sim/certificate-liveness.ts).
 *
 * Venue adversaries (profiles in src/sim/profiles.ts `NODE_PROFILES`):
 *   oracle-liar  the f Byzantine validators' observations lie, all in one direction per run: far
 *                above or below the index with a tiny confidence, a confidence as wide as the
 *                price, source times an hour old (to void samples), or a mix per height;
 *   griefer      a funded hostile trader floods resting orders and cancel storms at many times the
 *                per-account rate, spams undecodable bytes, and floods orders signed by fresh keys
 *                at four times a validator's admission budget (src/sim/adversaries/griefer.ts);
 *   front-runner the f Byzantine leaders rewrite their proposals (src/sim/adversaries/front-runner.ts):
 *                their funded trader's orders sandwich large ones, a taker is censored, or the
 *                order is reversed; the trader's profit is in the run summary; in these runs a
 *                large taker accepts 20 to 40 ticks of slippage, the value a sandwich can take;
 *   front-runner-encrypted the same with fair ordering (issue 14): the validators hold an eon
 *                keyset (src/sim/eon-keyset.ts), the takers seal every order to it (the client's
 *                `encrypt`: src/crypto/shutter/envelope.ts `sealOrder`) and send the envelope to
 *                every validator's envelope pool, and the node does the rest as a validator does
 *                (key shares on votes once a block is final, the block rule's decryption); the
 *                leaders see envelopes only, and guess;
 *   withholder-signer the f Byzantine validators run price signing (they deal in the DKG and send
 *                nonce commitments in every session) and never send a signature share (the
 *                harness drops them on the way out and counts them).
 */

import type { ChainAsset } from '../chain/block-rule.ts';
import type { BlockStore } from '../chain/block-store.ts';
import { type FairOrderingRules, KEY_WAIT_BLOCKS_MAX } from '../chain/fair-batches.ts';
import { SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { encodeAction } from '../codec/execution.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import { SignedObservationCodec } from '../codec/oracle.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import type { Application } from '../consensus/engine.ts';
import { toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { ENVELOPE_LEAD_BLOCKS, sealOrder } from '../crypto/shutter/envelope.ts';
import type { G2Point } from '../crypto/shutter/ibe.ts';
import { signTransaction } from '../crypto/transaction.ts';
import type { Engine } from '../execution/engine.ts';
import {
  actionTransaction,
  btcSeries,
  limitOrder,
  testGenesis,
  testSigner,
  USDC,
} from '../execution/fixtures.ts';
import { MS_PER_DAY } from '../execution/margin.ts';
import type { BlockResult, EngineGenesis, EngineParameters } from '../execution/types.ts';
import type { CertificateDomain } from '../interop/price-certificate.ts';
import type { MempoolLimits } from '../mempool/mempool.ts';
import { AggregateFlag, type BlockAggregate } from '../oracle/aggregate.ts';
import { encodeVoteExtension, signObservation } from '../oracle/observation.ts';
import type { SimRng } from '../runtime/sim/rng.ts';
import type { Clock } from '../runtime/types.ts';
import { type GrieferStats, startGriefer } from './adversaries/griefer.ts';

/**
 * Price signing in a whole-node run (src/node/price-signing.ts, driven by every validator): the
 * genesis keyset's threshold, how often reports are signed, and the driver's timings scaled to
 * the simulator's 10 ms links.
 */
export interface SimPriceSigning {
  readonly threshold: number;
  readonly everyBlocks: number;
  readonly domain: CertificateDomain;
  readonly retryMs: number;
  readonly attemptMs: number;
  readonly sessionTimeoutMs: number;
  readonly dkgDealMs: number;
  readonly dkgComplaintMs: number;
}

/** What the harness sees of one simulated validator's price signer. */
export interface SimPriceSigner {
  /** Starts the DKG (or loads the keyset from the validator's disk). */
  start(): void;
  /** Takes a price-signing message (0x04xx, 0x0503, 0x0504) from an authenticated peer. */
  receive(from: number, message: Uint8Array): void;
  keyset(): { epoch: number; groupPublicKey: Uint8Array } | undefined;
  /** The reports this process opened a signing session for, in order. */
  opened(): readonly SimOpenedReport[];
  stats(): {
    dkg: string;
    certificates: number;
    sessionsStarted: number;
    failedSessions: number;
    signingAttempts: number;
    silentSigners: Record<number, number>;
  };
}

export interface SimOpenedReport {
  height: number;
  assetId: number;
  priceTicks: bigint;
  /**
   * The rest of the signed report: a report equal to an earlier one (same price, confidence and
   * publish second, as under a quiet index) shares that one's session and certificate.
   */
  confidenceTicks: bigint;
  publishTime: number;
}

/** The price certificates' EIP-712 domain in the simulator. */
export const SIM_PRICE_DOMAIN: CertificateDomain = Object.freeze({
  chainId: 0x5a11,
  verifyingContract: Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i),
});

/**
 * Price signing at n validators: threshold n − f (2f + 1 at n = 3f + 1, as genesis sets it), a
 * report every 5 blocks, attempts of 100 ms (a few 10 ms round trips), sessions abandoned after
 * 1.5 s, and DKG deadlines past the heal at 800 ms (the DKG assumes synchronous links by its
 * deadline; the faults before the heal are the asynchrony it waits out, re-sending every 50 ms).
 * `noRetry` is the mutation that shows `certificate-liveness` works: an attempt deadline longer
 * than any run, so an attempt whose chosen signers withhold is never retried.
 */
export function simPriceSigning(n: number, options: { noRetry?: boolean } = {}): SimPriceSigning {
  const f = Math.floor((n - 1) / 3);
  return Object.freeze({
    threshold: n - f,
    everyBlocks: 10,
    domain: SIM_PRICE_DOMAIN,
    retryMs: 50,
    attemptMs: options.noRetry === true ? 1_000_000_000 : 100,
    sessionTimeoutMs: 1500,
    dkgDealMs: 1000,
    dkgComplaintMs: 300,
  });
}

/** What the harness hands the factory for one simulated validator process. */
export interface SimNodeParameters {
  chainId: number;
  validators: readonly Uint8Array[];
  self: number;
  engineGenesis: EngineGenesis;
  assets: readonly ChainAsset[];
  storage: BlockStore;
  clock: Clock;
  /** Virtual milliseconds since the Unix epoch. */
  wallClock: () => number;
  observe: (height: number) => Uint8Array | undefined;
  /** The validator's identity key and the seed it came from (the price key files are sealed under it). */
  signer: Ed25519Signer;
  secretKey: Uint8Array;
  /** Files on this validator's disk: they survive its crashes, each written whole or not at all. */
  disk: Map<string, string>;
  priceSigning: SimPriceSigning;
  /**
   * Fair ordering (issue 14): the chain's eon keyset and this validator's secret share of it
   * (src/sim/eon-keyset.ts); absent: plain orders only.
   */
  fairOrdering?: { rules: FairOrderingRules; secretShare: bigint };
  /**
   * A defence switched off by an injected bug (harness `MUTATIONS`): the proposer's wait for
   * fresh observations (0: none).
   */
  applicationLimits?: { observationWaitMs?: number };
  /**
   * A defence switched off by an injected bug (`--mutation admit-unfunded`): the mempool admits
   * keys without an account, so they spend the validator's admission budget.
   */
  admitWithoutAccount?: boolean;
  /** Mempool limits replaced over {@link SIM_MEMPOOL_LIMITS} (`--mutation no-rate-limit`). */
  mempoolLimits?: Partial<MempoolLimits>;
  /** Price-signing messages to peers over the simulated network. */
  send(to: number, message: Uint8Array): void;
  broadcast(message: Uint8Array): void;
}

/** One finalized block as a simulated node reports it. */
export interface SimApplied {
  height: number;
  result: BlockResult;
  aggregate: BlockAggregate;
  /**
   * The signer of each transaction, in execution order (lowercase hex, no prefix): the encrypted
   * orders opened in this block first (`result.encryptedResults`), then the plain ones (`result.results`).
   */
  signers: readonly string[];
  /** Each transaction's nonce, in the same order (when the node reports them). */
  nonces?: readonly number[];
  replay: boolean;
  /** Fair ordering: envelopes admitted in this block, and the earlier blocks whose orders it opened. */
  fair?: { admitted: number; openedHeights: readonly number[] };
}

export interface SimNode {
  /** What consensus drives. */
  readonly application: Required<Application>;
  readonly engine: Engine;
  /** Restores storage; call once before consensus starts. */
  open(): void;
  /** Admits an encoded transaction into the mempool at virtual time `nowMs`. */
  admit(bytes: Uint8Array, nowMs: number): { status: string; code?: string };
  /** Admits an encoded order envelope into the envelope pool (fair ordering; refused without it). */
  submitEnvelope(bytes: Uint8Array): { status: string; code?: string };
  stateRootAt(height: number): Uint8Array | undefined;
  onApplied(listener: (applied: SimApplied) => void): void;
  readonly prices: SimPriceSigner;
}

export type SimNodeFactory = (parameters: SimNodeParameters) => SimNode;

/** Application timings scaled to the simulator's 10 ms links and 60 ms leader timeout. */
export const SIM_APPLICATION_LIMITS = Object.freeze({
  emptyBlockIntervalMs: 20,
  stateRootWaitMs: 300,
  observationWaitMs: 25,
  snapshotIntervalBlocks: 16,
  maxFutureBlockMs: 2000,
});

/**
 * Mempool limits scaled to the simulator's traffic as the application's are to its links: the
 * per-validator admission budget (src/mempool/mempool.ts `globalRateLimit`) at 500 a second with
 * a burst of 250: about three times what the seeded market's honest traders (some 70 a second)
 * and a funded hostile account held to the per-account rate (100 a second) send together, as the
 * production budget is several times what a devnet finalizes. The other limits are production's.
 */
export const SIM_MEMPOOL_LIMITS = Object.freeze({
  globalRateLimit: Object.freeze({ transactionsPerSecond: 500, burst: 250 }),
});

/**
 * The injected bug `--mutation no-rate-limit`: a per-account rate limit so high it is none (the
 * nonce window still holds).
 */
export const NO_ACCOUNT_RATE_LIMIT: Partial<MempoolLimits> = Object.freeze({
  rateLimit: Object.freeze({ transactions: 1_000_000_000, windowMs: 1000 }),
});

/**
 * Mempool refusals that say the validator's capacity is spent, not that the transaction or its
 * sender is at fault: an honest trader, far below every per-account limit, must never get one
 * (no-crowding-out).
 */
export const CAPACITY_REFUSALS: ReadonlySet<string> = new Set(['GLOBAL_RATE_LIMITED', 'MEMPOOL_FULL']);

/**
 * The injected bug the venue's invariants must catch: a price band so wide it is none (orders at
 * any price are accepted, and resting orders a mark move leaves far off are not cancelled). Used
 * only by the mutation switch (`palisade sim --mutation no-price-band`, `palisade redteam
 * --inject no-band`) and their tests.
 */
export const NO_PRICE_BAND: Partial<EngineParameters> = Object.freeze({
  priceBandBps: 1_000_000_000,
  priceBandMinTicks: 1_000_000_000,
});

export const SIM_ASSET: ChainAsset = Object.freeze({ assetId: 1, decimals: 6, underlyingId: 1 });
const START_TIME_MS = Date.UTC(2026, 0, 1);
const START_PRICE_USDC = 60_000;
/** The index moves once per step, by at most this much. */
const MARKET_STEP_MS = 100;
const MARKET_MOVE_BPS_MAX = 8;
/** Each validator's sources read a little apart. */
const VALIDATOR_SPREAD_BPS = 2;
const CONFIDENCE_BPS = 10;
const TAKERS = 3;
const IDLE_ACCOUNTS = 2;
const TRADER_BALANCE_USDC = 1_000_000;
const COLLUDER_BALANCE_USDC = 100_000;
/** How often each trader acts, virtual ms, and how long it waits for its nonce to move. */
const TRADER_PERIOD_MS = 60;
const TRADER_RESYNC_MS = 300;
/**
 * Slippage a large taker accepts in the front-runner profiles: 20 to 40 ticks past the mark, as a
 * market order sized for a thin book does (the other profiles' takers cross by 3 to 5 ticks, which
 * the taker fee alone makes worthless to sandwich). It is the value a leader that reads the order
 * can take: fill the book up to the taker's limit, then sell it back there.
 */
const LARGE_TAKER_SLIPPAGE_TICKS_MIN = 20;
const LARGE_TAKER_SLIPPAGE_TICKS_SPAN = 21;
/** Orders of at least this size (contracts × 10⁶) are large (the front-runner's victims). */
const LARGE_TAKER_SIZE_E6 = 300_000;
/** Fair ordering: what a taker's envelope pays (base units) for its inclusion. */
export const SIM_ENVELOPE_FEE = 1000;
/** Blocks every honest validator must finalize after the heal in a whole-node run (market liveness is judged over them). */
export const WHOLE_NODE_LIVENESS_BLOCKS = 20;

export type LieStrategy = 'high' | 'low' | 'wide' | 'stale' | 'mixed';
export const LIE_STRATEGIES: readonly LieStrategy[] = Object.freeze([
  'high',
  'low',
  'wide',
  'stale',
  'mixed',
]);

export interface SimMarketWorld {
  readonly engineGenesis: EngineGenesis;
  readonly assets: readonly ChainAsset[];
  readonly idle: readonly Ed25519Signer[];
  /** The hostile traders' keys (griefer, front-runner), judged by the attacker-withdrawal invariant. */
  readonly attackers: readonly Ed25519Signer[];
  /** The front-runner's trader (a funded genesis account), when the run has one. */
  readonly frontRunner: Ed25519Signer | undefined;
  /** The colluding traders (funded genesis accounts), when the run has them. */
  readonly colluders: readonly Ed25519Signer[];
  /** Moves the index by `bps` from virtual time `nowMs` on (the colluders' pump of the spot venues). */
  shiftIndex(bps: number, nowMs: number): void;
  /** The honest takers (the front-runner's censor strategy drops the first one's transactions). */
  readonly takers: readonly Ed25519Signer[];
  /** Keys (hex) of the honest traders: the market maker and the takers. */
  readonly honestTraders: ReadonlySet<string>;
  /** A lying observation for `height` (oracle-liar), by `strategy`. */
  lie(signer: Ed25519Signer, height: number, nowMs: number, strategy: LieStrategy): Uint8Array;
  /** The index in quote base units at virtual time `nowMs` (ms since the run began). */
  indexAt(nowMs: number): bigint;
  /** Validator `index`'s signed observation for `height` at virtual time `nowMs`. */
  observation(signer: Ed25519Signer, index: number, height: number, nowMs: number): Uint8Array;
  /**
   * Starts the traders; `submit` sends one encoding to every validator, returning how many admitted
   * it, and `submitEnvelope` one order envelope (the takers seal their orders when the market was
   * made with `encryption`).
   */
  startTraders(options: {
    clock: Clock;
    reference: () => Engine | undefined;
    submit: (bytes: Uint8Array) => number;
    submitEnvelope?: (bytes: Uint8Array) => number;
  }): TraderStats;
}

export interface TraderStats {
  submitted: number;
  admitted: number;
  /** Orders the takers sent sealed (fair ordering), and how many of those some validator admitted. */
  sealed: number;
  sealedAdmitted: number;
  /** What the griefer sent and got admitted, when the run has one. */
  griefer?: GrieferStats;
}

/** The seeded market of one run. */
export function createSimMarket(options: {
  chainId: number;
  rng: SimRng;
  griefer?: boolean;
  frontRunner?: boolean;
  colluders?: number;
  /** Engine parameters replaced in the genesis (an injected bug: the price band removed). */
  params?: Partial<EngineParameters> | undefined;
  /** Fair ordering: the takers seal every order to this eon key (src/sim/eon-keyset.ts). */
  encryption?: { eon: number; eonPublicKey: G2Point } | undefined;
}): SimMarketWorld {
  const { chainId } = options;
  const colluders = Array.from({ length: options.colluders ?? 0 }, (_, i) =>
    testSigner(`sim-colluder/${chainId}/${i}`),
  );
  const griefer = options.griefer === true ? testSigner(`sim-griefer/${chainId}`) : undefined;
  const frontRunner = options.frontRunner === true ? testSigner(`sim-front-runner/${chainId}`) : undefined;
  const walk = options.rng.fork();
  const traderRng = options.rng.fork();
  // Forked only when used, so the runs without them keep their seeds' traces.
  const sigmaRng = options.encryption === undefined ? undefined : options.rng.fork();
  const slippage = frontRunner !== undefined;
  const maker = testSigner(`sim-maker/${chainId}`);
  const takers = Array.from({ length: TAKERS }, (_, i) => testSigner(`sim-taker/${i}`));
  const idle = Array.from({ length: IDLE_ACCOUNTS }, (_, i) => testSigner(`sim-idle/${i}`));
  const engineGenesis = testGenesis({
    chainId,
    startTimeMs: START_TIME_MS,
    traders: [
      maker,
      ...takers,
      ...idle,
      ...(griefer === undefined ? [] : [griefer]),
      ...(frontRunner === undefined ? [] : [frontRunner]),
      ...colluders,
    ],
    balanceUsdc: TRADER_BALANCE_USDC,
    ...(options.params === undefined ? {} : { params: options.params }),
    insuranceFundUsdc: 100_000,
    series: [
      btcSeries(true, 60_000, START_TIME_MS + 7 * MS_PER_DAY),
      btcSeries(false, 60_000, START_TIME_MS + 7 * MS_PER_DAY),
      btcSeries(true, 65_000, START_TIME_MS + 30 * MS_PER_DAY),
    ],
  });
  for (const signer of colluders) {
    const entry = engineGenesis.accounts.find((account) => account.publicKey === signer.publicKey);
    if (entry !== undefined) entry.balance = BigInt(COLLUDER_BALANCE_USDC * USDC);
  }
  const path: bigint[] = [BigInt(START_PRICE_USDC) * BigInt(USDC)];
  const indexAt = (nowMs: number): bigint => {
    const step = Math.max(0, Math.floor(nowMs / MARKET_STEP_MS));
    while (path.length <= step) {
      const last = path[path.length - 1]!;
      const moveBps = BigInt(walk.nextInt(2 * MARKET_MOVE_BPS_MAX + 1) - MARKET_MOVE_BPS_MAX);
      path.push(last + (last * moveBps) / 10_000n);
    }
    return path[step]!;
  };

  const signed = (
    signer: Ed25519Signer,
    height: number,
    nowMs: number,
    entry: { priceTicks: bigint; confidenceTicks: bigint; sourceTimeMs: number },
  ) =>
    encodeVoteExtension(
      signObservation(signer, {
        chainId,
        height,
        validator: signer.publicKey,
        timestampMs: START_TIME_MS + nowMs,
        entries: [{ assetId: SIM_ASSET.assetId, sourceCount: 3, ...entry }],
      }),
    );
  return {
    engineGenesis,
    assets: [SIM_ASSET],
    idle,
    frontRunner,
    colluders,
    attackers: [
      ...(griefer === undefined ? [] : [griefer]),
      ...(frontRunner === undefined ? [] : [frontRunner]),
      ...colluders,
    ],
    shiftIndex(bps, nowMs) {
      indexAt(nowMs);
      const step = Math.max(0, Math.floor(nowMs / MARKET_STEP_MS));
      for (let i = step; i < path.length; i++) path[i] = path[i]! + (path[i]! * BigInt(bps)) / 10_000n;
    },
    takers,
    honestTraders: new Set([maker, ...takers].map((signer) => toHex(signer.publicKey))),
    indexAt,
    lie(signer, height, nowMs, strategy) {
      const index0 = indexAt(nowMs);
      const timeMs = START_TIME_MS + nowMs;
      const chosen = strategy === 'mixed' ? LIE_STRATEGIES[height % 4]! : strategy;
      if (chosen === 'high')
        return signed(signer, height, nowMs, {
          priceTicks: index0 * 3n,
          confidenceTicks: 1n,
          sourceTimeMs: timeMs,
        });
      if (chosen === 'low')
        return signed(signer, height, nowMs, {
          priceTicks: index0 / 3n,
          confidenceTicks: 0n,
          sourceTimeMs: timeMs,
        });
      if (chosen === 'wide')
        return signed(signer, height, nowMs, {
          priceTicks: index0,
          confidenceTicks: index0,
          sourceTimeMs: timeMs,
        });
      return signed(signer, height, nowMs, {
        priceTicks: index0 * 2n,
        confidenceTicks: 1n,
        sourceTimeMs: timeMs - 3_600_000,
      });
    },
    observation(signer, index, height, nowMs) {
      const index0 = indexAt(nowMs);
      const spread = BigInt((index % 3) - 1) * BigInt(VALIDATOR_SPREAD_BPS);
      const priceTicks = index0 + (index0 * spread) / 10_000n;
      const timeMs = START_TIME_MS + nowMs;
      return encodeVoteExtension(
        signObservation(signer, {
          chainId,
          height,
          validator: signer.publicKey,
          timestampMs: timeMs,
          entries: [
            {
              assetId: SIM_ASSET.assetId,
              priceTicks,
              confidenceTicks: (priceTicks * BigInt(CONFIDENCE_BPS)) / 10_000n,
              sourceCount: 3,
              sourceTimeMs: timeMs,
            },
          ],
        }),
      );
    },
    startTraders({ clock, reference, submit, submitEnvelope }) {
      const stats: TraderStats = { submitted: 0, admitted: 0, sealed: 0, sealedAdmitted: 0 };
      const encryption = options.encryption;
      const all = [maker, ...takers];
      for (const [position, signer] of all.entries()) {
        let nextNonce: number | undefined;
        let waitingSince = 0;
        const send = (nonce: number, action: Parameters<typeof actionTransaction>[2]) => {
          const bytes = SignedTransactionCodec.encode(actionTransaction(signer, nonce, action, { chainId }));
          stats.submitted++;
          if (submit(bytes) > 0) stats.admitted++;
        };
        /** A taker's order sealed to the eon key, valid for a few heights (what the client's `encrypt` does). */
        const seal = (engine: Engine, nonce: number, action: Parameters<typeof actionTransaction>[2]) => {
          const expiryHeight = engine.height + ENVELOPE_LEAD_BLOCKS;
          const envelope = sealOrder(signer, {
            chainId,
            eon: encryption!.eon,
            eonPublicKey: encryption!.eonPublicKey,
            identityPrefix: Uint8Array.from({ length: 32 }, () => sigmaRng!.nextInt(256)),
            expiryHeight,
            fee: SIM_ENVELOPE_FEE,
            transaction: signTransaction(signer, {
              chainId,
              nonce,
              expiryHeight: expiryHeight + KEY_WAIT_BLOCKS_MAX,
              payload: encodeAction(action),
            }),
            sigma: Uint8Array.from({ length: 32 }, () => sigmaRng!.nextInt(256)),
          });
          stats.submitted++;
          stats.sealed++;
          if ((submitEnvelope?.(SignedOrderEnvelopeCodec.encode(envelope)) ?? 0) > 0) {
            stats.admitted++;
            stats.sealedAdmitted++;
          }
        };
        const act = () => {
          const engine = reference();
          const account = engine?.account(signer.publicKey);
          if (engine !== undefined && account !== undefined) {
            // Resynchronise from the state when the previous batch executed or seems lost.
            if (
              nextNonce === undefined ||
              account.nonce >= nextNonce ||
              clock.now() - waitingSince > TRADER_RESYNC_MS
            ) {
              nextNonce = account.nonce;
              const series = engine.series().filter((entry) => entry.status === 'active' && entry.markPrice);
              const chosen = series[traderRng.nextInt(Math.max(1, series.length))];
              if (chosen?.markPrice !== undefined) {
                const tickUsdc = chosen.tickSize / USDC;
                const markUsdc = Math.round(Number(chosen.markPrice) / USDC / tickUsdc) * tickUsdc;
                if (position === 0) {
                  const halfSpread = tickUsdc * (1 + traderRng.nextInt(3));
                  send(nextNonce++, { kind: 'cancelAll', value: { seriesId: 0 } });
                  send(nextNonce++, limitOrder(chosen.seriesId, 'buy', markUsdc - halfSpread, 1));
                  send(nextNonce++, limitOrder(chosen.seriesId, 'sell', markUsdc + halfSpread, 1));
                } else {
                  const side = traderRng.nextInt(2) === 0 ? 'buy' : 'sell';
                  let crossUsdc = tickUsdc * (3 + traderRng.nextInt(3));
                  const contracts = (1 + traderRng.nextInt(5)) / 10;
                  if (slippage && contracts * 1_000_000 >= LARGE_TAKER_SIZE_E6)
                    crossUsdc =
                      tickUsdc *
                      (LARGE_TAKER_SLIPPAGE_TICKS_MIN + traderRng.nextInt(LARGE_TAKER_SLIPPAGE_TICKS_SPAN));
                  const price = side === 'buy' ? markUsdc + crossUsdc : markUsdc - crossUsdc;
                  const order = limitOrder(chosen.seriesId, side, price, contracts, { timeInForce: 1 });
                  if (encryption === undefined) send(nextNonce++, order);
                  else seal(engine, nextNonce++, order);
                }
                waitingSince = clock.now();
              }
            }
          }
          clock.setTimer(TRADER_PERIOD_MS + traderRng.nextInt(TRADER_PERIOD_MS), act);
        };
        clock.setTimer(50 + position * 7, act);
      }
      if (griefer !== undefined)
        stats.griefer = startGriefer(griefer, { clock, reference, submit, rng: traderRng.fork(), chainId });
      return stats;
    },
  };
}

/** The honest observations' range in one block: what a fresh aggregate must lie within. */
export interface HonestRange {
  priceMin: bigint;
  priceMax: bigint;
  lowMin: bigint;
  highMax: bigint;
}

/** The range of the honest validators' observations of `assetId` a block payload carries. */
export function honestRangeOf(
  payload: Uint8Array,
  honestKeys: ReadonlySet<string>,
  assetId: number,
): HonestRange | undefined {
  let range: HonestRange | undefined;
  let observations: Uint8Array[];
  try {
    observations = BlockPayloadCodec.decode(payload).observations;
  } catch {
    return undefined;
  }
  for (const bytes of observations) {
    let observation: ReturnType<typeof SignedObservationCodec.decode>;
    try {
      observation = SignedObservationCodec.decode(bytes);
    } catch {
      continue;
    }
    if (!honestKeys.has(toHex(observation.body.validator))) continue;
    const entry = observation.body.entries.find((candidate) => candidate.assetId === assetId);
    if (entry === undefined) continue;
    const low = entry.priceTicks > entry.confidenceTicks ? entry.priceTicks - entry.confidenceTicks : 0n;
    const high = entry.priceTicks + entry.confidenceTicks;
    range =
      range === undefined
        ? { priceMin: entry.priceTicks, priceMax: entry.priceTicks, lowMin: low, highMax: high }
        : {
            priceMin: entry.priceTicks < range.priceMin ? entry.priceTicks : range.priceMin,
            priceMax: entry.priceTicks > range.priceMax ? entry.priceTicks : range.priceMax,
            lowMin: low < range.lowMin ? low : range.lowMin,
            highMax: high > range.highMax ? high : range.highMax,
          };
  }
  return range;
}

/** Venue invariants over one honest validator's finalized blocks (see the header). */
export class VenueChecker {
  readonly #fail: (invariant: string, detail: string) => void;
  readonly #idle: ReadonlyMap<string, bigint>;
  #previous = new Map<string, { balance: bigint; flat: boolean }>();
  #height = 0;
  /** Blocks after the heal, and how many carried a fresh mark or an accepted order. */
  afterHeal = { blocks: 0, freshMarks: 0, acceptedOrders: 0, fills: 0 };
  healed = false;

  readonly #honestTraders: ReadonlySet<string>;
  readonly #accountsMax: number;

  /** Honest traders seen executing after the heal (no-censorship), when that is judged. */
  readonly #included: Set<string> | undefined;

  /**
   * @param options.censorship judge no-censorship: every honest trader has a transaction executed
   *   in the blocks after the heal (the seeded market's traders send all the time; a script's
   *   bystanders do not, so network-venue.ts runs leave it off)
   */
  constructor(
    fail: (invariant: string, detail: string) => void,
    market: Pick<SimMarketWorld, 'idle' | 'honestTraders' | 'engineGenesis'>,
    options: { censorship?: boolean } = {},
  ) {
    const { idle, engineGenesis: genesis } = market;
    this.#fail = fail;
    this.#included = options.censorship === true ? new Set() : undefined;
    this.#honestTraders = market.honestTraders;
    // No deposits happen in the simulation: the genesis accounts and the operator's are all there are.
    this.#accountsMax = genesis.accounts.length + 2;
    const balances = new Map(genesis.accounts.map((entry) => [toHex(entry.publicKey), entry.balance]));
    this.#idle = new Map(
      idle.map((signer) => [toHex(signer.publicKey), balances.get(toHex(signer.publicKey)) ?? 0n]),
    );
  }

  /** Checks one block, given the engine after it; blocks must come in height order without gaps. */
  applied(engine: Engine, applied: SimApplied, honest?: HonestRange): void {
    if (applied.height <= this.#height) return;
    const height = applied.height;
    this.#height = height;
    const ledger = engine.ledger();
    const gap =
      ledger.totalDeposits -
      ledger.totalWithdrawals -
      (ledger.totalBalances + ledger.feePool + ledger.insuranceFund - ledger.unrecoveredLoss);
    if (gap !== 0n)
      this.#fail('conservation', `height ${height}: deposits − withdrawals − holdings = ${gap}`);
    const signers = new Set(applied.signers);
    const next = new Map<string, { balance: bigint; flat: boolean }>();
    for (const account of engine.accounts()) {
      const key = account.publicKey.startsWith('0x') ? account.publicKey.slice(2) : account.publicKey;
      next.set(key, {
        balance: account.balance,
        flat: account.positions.length === 0 && account.openOrders.length === 0,
      });
      const idleBalance = this.#idle.get(key);
      if (idleBalance !== undefined && account.balance !== idleBalance)
        this.#fail(
          'idle-accounts',
          `height ${height}: idle account ${key.slice(0, 16)} holds ${account.balance}, not ${idleBalance}`,
        );
      const before = this.#previous.get(key);
      if (before?.flat && !signers.has(key) && account.balance < before.balance)
        this.#fail(
          'no-loss-without-position',
          `height ${height}: account ${key.slice(0, 16)} with no position lost ${before.balance - account.balance}`,
        );
    }
    this.#previous = next;
    if (next.size > this.#accountsMax)
      this.#fail(
        'no-account-without-deposit',
        `height ${height}: ${next.size} accounts, at most ${this.#accountsMax} were funded`,
      );
    const fresh = applied.aggregate.prices.find((entry) => entry.assetId === SIM_ASSET.assetId);
    if (
      honest !== undefined &&
      fresh !== undefined &&
      (fresh.flags & AggregateFlag.STALE) === 0 &&
      fresh.priceTicks > 0n
    ) {
      if (fresh.priceTicks < honest.priceMin || fresh.priceTicks > honest.priceMax)
        this.#fail(
          'oracle-honest-range',
          `height ${height}: aggregate ${fresh.priceTicks} outside the honest prices ${honest.priceMin}..${honest.priceMax}`,
        );
      const spreadUp = honest.highMax - honest.priceMin;
      const spreadDown = honest.priceMax - honest.lowMin;
      const bound = spreadUp > spreadDown ? spreadUp : spreadDown;
      if (fresh.confidenceTicks > bound)
        this.#fail(
          'oracle-honest-range',
          `height ${height}: confidence ${fresh.confidenceTicks} above the honest spread ${bound}`,
        );
    }
    if (!this.healed) return;
    this.afterHeal.blocks++;
    const price = applied.aggregate.prices.find((entry) => entry.assetId === SIM_ASSET.assetId);
    if (price !== undefined && (price.flags & AggregateFlag.STALE) === 0 && price.priceTicks > 0n)
      this.afterHeal.freshMarks++;
    for (const signer of applied.signers) if (this.#honestTraders.has(signer)) this.#included?.add(signer);
    // `signers` is in execution order: the encrypted orders opened here, then the plain ones.
    const results = [...applied.result.encryptedResults, ...applied.result.results];
    for (const [index, result] of results.entries()) {
      if (result.status !== 'OK' || !this.#honestTraders.has(applied.signers[index] ?? '')) continue;
      if ((result.filledLots ?? 0) > 0) this.afterHeal.fills++;
      if (result.orderId !== undefined) this.afterHeal.acceptedOrders++;
    }
  }

  /**
   * An honest trader's transaction that no validator admitted, with the refusals each gave
   * (no-crowding-out): a capacity refusal means someone else spent what the trader was owed.
   */
  refused(signer: string, codes: readonly string[], nowMs: number): void {
    if (!this.#honestTraders.has(signer)) return;
    const capacity = codes.filter((code) => CAPACITY_REFUSALS.has(code));
    if (capacity.length > 0)
      this.#fail(
        'no-crowding-out',
        `at ${nowMs} ms honest trader ${signer.slice(0, 16)} was refused ${[...new Set(capacity)].join(', ')} by ${capacity.length} of ${codes.length} validators`,
      );
  }

  /** Judges fresh marks over the blocks from here on only (after a scripted attack: network-venue.ts). */
  restartMarkCount(): void {
    this.afterHeal.blocks = 0;
    this.afterHeal.freshMarks = 0;
  }

  /** The liveness of the market after the heal (a run that met the consensus target). */
  finish(): void {
    const { blocks, freshMarks, acceptedOrders } = this.afterHeal;
    if (blocks === 0) return;
    if (acceptedOrders === 0)
      this.#fail('market-liveness', `no order was accepted in the ${blocks} blocks after the heal`);
    if (2 * freshMarks < blocks)
      this.#fail(
        'market-liveness',
        `only ${freshMarks} of the ${blocks} blocks after the heal carried a fresh mark`,
      );
    if (this.#included !== undefined)
      for (const trader of [...this.#honestTraders].sort())
        if (!this.#included.has(trader))
          this.#fail(
            'no-censorship',
            `honest trader ${trader.slice(0, 16)} had no transaction executed in the ${blocks} blocks after the heal`,
          );
  }
}
