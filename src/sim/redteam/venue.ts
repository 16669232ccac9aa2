/**
 * The red team's venue: the engine fed exactly as a validator feeds it — every block's oracle
 * input is the aggregate (src/oracle/aggregate.ts) of n validators' signed observations, f of
 * which the scenario may make lie, turned into engine updates by the block rule's own
 * `oracleUpdates` (src/chain/block-rule.ts). Transactions are signed by the attackers' and the
 * honest traders' keys, nonces taken from the state plus what the pending block already used.
 *
 * Beside it runs a twin engine of the same genesis that sees only the honest index and no
 * transaction: marks depend on the index, the series' volatility and time, not on the book, so
 * the twin's mark is the honest mark that "fair" is measured against (fair-value.ts).
 *
 * Shared by the catalogue (catalogue.ts), the CI test (test/sim/redteam.test.ts) and
 * `palisade redteam`; the engine tests' own drivers (src/execution/*.test.ts) predate it.
 */
import type { ChainAsset } from '../../chain/block-rule.ts';
import { oracleUpdates } from '../../chain/block-rule.ts';
import type { ExecutionAction } from '../../codec/execution.ts';
import type { AggregatePriceValue } from '../../codec/oracle.ts';
import { toHex } from '../../crypto/bytes.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import { createEngine, type Engine } from '../../execution/engine.ts';
import { actionTransaction, testGenesis, testSigner, USDC } from '../../execution/fixtures.ts';
import type {
  BlockResult,
  EngineGenesis,
  EngineParameters,
  SeriesConfig,
  UnderlyingConfig,
} from '../../execution/types.ts';
import { aggregateBlock, type BlockAggregate } from '../../oracle/aggregate.ts';
import { encodeVoteExtension, signObservation } from '../../oracle/observation.ts';

export const REDTEAM_CHAIN_ID = 0x7ed7;
export const REDTEAM_START_MS = Date.UTC(2026, 0, 1);
const ASSET: ChainAsset = Object.freeze({ assetId: 1, decimals: 6, underlyingId: 1 });
const SOURCES = 3;

/** One validator's observation of the asset, or undefined for none (a validator that stays silent). */
export interface ObservedEntry {
  priceTicks: bigint;
  confidenceTicks: bigint;
  /** How old the observation's sources are, ms before the block time. */
  sourceAgeMs: number;
}

/** What a lying validator reports given the honest index (quote base units) at `height`. */
export type Liar = (height: number, honestTicks: bigint) => ObservedEntry | undefined;

export interface VenueOptions {
  /** Trader labels (keys are `testSigner('redteam/<seed>/<label>')`) and their genesis balances in USDC. */
  traders: Record<string, number>;
  series: SeriesConfig[];
  insuranceFundUsdc: number;
  seed: number;
  spotUsdc: number;
  params?: Partial<EngineParameters> | undefined;
  underlying?: Partial<UnderlyingConfig> | undefined;
  validators?: number;
}

/** One block of a venue, as the scenario runner follows it. */
export interface VenueBlock {
  result: BlockResult;
  aggregate: BlockAggregate;
  /** The honest twin's result for the same height (no transaction, the honest index). */
  honest: BlockResult;
  /** The note each transaction was queued with (`tx`'s third argument), in block order. */
  notes: readonly (string | undefined)[];
}

export interface Venue {
  readonly engine: Engine;
  /** The twin that sees only the honest index: its marks are the honest marks. */
  readonly honest: Engine;
  readonly genesis: EngineGenesis;
  /** The honest index in USDC; scenarios move it. */
  spotUsdc: number;
  /**
   * What every validator's sources report, when not the honest index (a feed stuck at a floor:
   * all sources read the same wrong, old value). Undefined: the honest index, fresh.
   */
  feed: ObservedEntry | undefined;
  /** The lie of each of the last `liars.length` validators (f at most, unless a scenario says). */
  liars: Liar[];
  signer(label: string): Ed25519Signer;
  key(label: string): string;
  /** Queues a transaction of `label`'s for the next block; `note` names it in the evidence. */
  tx(label: string, action: ExecutionAction, note?: string): Venue;
  /** Executes the pending transactions, `advanceMs` of block time after the last block. */
  block(advanceMs?: number): unknown;
  readonly blocks: readonly VenueBlock[];
  /** The series' mark per contract in USDC rounded to its tick (at least one tick). */
  markUsdc(seriesId: number, engine?: Engine): number;
  /** Every block executed from now on, in order. */
  onBlock(listener: (block: VenueBlock) => void): void;
  /** A queued transaction no validator admitted (network venues), with the mempool's code. */
  onRefused(listener: (note: string | undefined, code: string) => void): void;
}

/** The engine venue: `block` runs at once and returns the block's result. */
export interface EngineVenue extends Venue {
  tx(label: string, action: ExecutionAction, note?: string): EngineVenue;
  block(advanceMs?: number): BlockResult;
}

/** Deterministic trader keys and the venue's genesis (balances as `options.traders` says). */
export function venueGenesis(
  options: VenueOptions,
  chainId: number,
): { genesis: EngineGenesis; signerOf: (label: string) => Ed25519Signer } {
  const signers = new Map<string, Ed25519Signer>();
  const signerOf = (label: string): Ed25519Signer => {
    let signer = signers.get(label);
    if (signer === undefined) {
      signer = testSigner(`redteam/${options.seed}/${label}`);
      signers.set(label, signer);
    }
    return signer;
  };
  const genesis = testGenesis({
    chainId,
    startTimeMs: REDTEAM_START_MS,
    traders: Object.keys(options.traders).map(signerOf),
    insuranceFundUsdc: options.insuranceFundUsdc,
    series: options.series,
    ...(options.params === undefined ? {} : { params: options.params }),
    ...(options.underlying === undefined ? {} : { underlying: options.underlying }),
  });
  for (const [index, usdc] of Object.values(options.traders).entries())
    genesis.accounts[index]!.balance = BigInt(Math.round(usdc * USDC));
  return { genesis, signerOf };
}

/** One validator's signed observation of the asset. */
function observe(
  chainId: number,
  signer: Ed25519Signer,
  height: number,
  timeMs: number,
  entry: ObservedEntry,
) {
  return encodeVoteExtension(
    signObservation(signer, {
      chainId,
      height,
      validator: signer.publicKey,
      timestampMs: timeMs,
      entries: [
        {
          assetId: ASSET.assetId,
          priceTicks: entry.priceTicks,
          confidenceTicks: entry.confidenceTicks,
          sourceCount: SOURCES,
          sourceTimeMs: timeMs - entry.sourceAgeMs,
        },
      ],
    }),
  );
}

/** The honest index as every honest source reads it: fresh, confidence 0.1%. */
export function freshEntry(spotUsdc: number): ObservedEntry {
  const priceTicks = BigInt(Math.round(spotUsdc * USDC));
  return { priceTicks, confidenceTicks: priceTicks / 1000n, sourceAgeMs: 0 };
}

/**
 * Aggregates n validators' observations block after block, as the block rule does: `entries[i]`
 * is validator i's (undefined: silent). Used by the venue and by its honest twin.
 */
export function createAggregator(seed: number, chainId: number, n: number) {
  const validators = Array.from({ length: n }, (_, i) => testSigner(`redteam/${seed}/validator/${i}`));
  const members = validators.map((signer) => ({ publicKey: signer.publicKey, weight: 1n }));
  let previous = new Map<number, AggregatePriceValue>();
  return {
    validators,
    aggregate(
      height: number,
      timeMs: number,
      entries: readonly (ObservedEntry | undefined)[],
    ): BlockAggregate {
      const extensions: Uint8Array[] = [];
      for (const [index, signer] of validators.entries()) {
        const entry = entries[index];
        if (entry !== undefined) extensions.push(observe(chainId, signer, height, timeMs, entry));
      }
      const aggregate = aggregateBlock({
        chainId,
        height,
        blockTimeMs: timeMs,
        validators: members,
        assets: [ASSET.assetId],
        extensions,
        previous,
      });
      previous = new Map(aggregate.prices.map((price) => [price.assetId, price]));
      return aggregate;
    },
  };
}

/** The honest twin: the same genesis, no transaction, the honest index at every block. */
export function createHonestTwin(genesis: EngineGenesis, seed: number, n: number) {
  const engine = createEngine(genesis);
  const aggregator = createAggregator(seed, genesis.chainId, n);
  return {
    engine,
    block(height: number, timeMs: number, spotUsdc: number): BlockResult {
      const fresh = freshEntry(spotUsdc);
      const aggregate = aggregator.aggregate(height, timeMs, Array(n).fill(fresh));
      return engine.applyBlock({
        height,
        timeMs,
        transactions: [],
        oracle: oracleUpdates([ASSET], aggregate.prices),
      });
    },
  };
}

/** The series' mark per contract in USDC rounded to its tick (at least one tick). */
export function markUsdcOf(engine: Engine, seriesId: number): number {
  const series = engine.series().find((entry) => entry.seriesId === seriesId);
  const tick = (series?.tickSize ?? USDC) / USDC;
  const mark = series?.markPrice;
  if (mark === undefined) return tick;
  return Math.max(tick, Math.round(Number(mark) / USDC / tick) * tick);
}

/** Builds a venue; its first block (no transactions) has already run, so marks exist. */
export function createVenue(options: VenueOptions): EngineVenue {
  const n = options.validators ?? 4;
  const { genesis, signerOf } = venueGenesis(options, REDTEAM_CHAIN_ID);
  const engine = createEngine(genesis);
  const twin = createHonestTwin(genesis, options.seed, n);
  const aggregator = createAggregator(options.seed, REDTEAM_CHAIN_ID, n);
  const used = new Map<string, number>();
  let pending: { tx: ReturnType<typeof actionTransaction>; note: string | undefined }[] = [];
  const blocks: VenueBlock[] = [];
  const listeners: ((block: VenueBlock) => void)[] = [];

  const venue: EngineVenue = {
    engine,
    honest: twin.engine,
    genesis,
    spotUsdc: options.spotUsdc,
    feed: undefined,
    liars: [],
    signer: signerOf,
    key: (label) => toHex(signerOf(label).publicKey),
    tx(label, action, note) {
      const signer = signerOf(label);
      const offset = used.get(label) ?? 0;
      used.set(label, offset + 1);
      const nonce = (engine.account(signer.publicKey)?.nonce ?? 0) + offset;
      pending.push({ tx: actionTransaction(signer, nonce, action, { chainId: REDTEAM_CHAIN_ID }), note });
      return venue;
    },
    block(advanceMs = 1000) {
      const timeMs = engine.timeMs + advanceMs;
      const height = engine.height + 1;
      const fresh = freshEntry(venue.spotUsdc);
      const entries = aggregator.validators.map((_, index) => {
        const liar = venue.liars[index - (n - venue.liars.length)];
        return liar !== undefined ? liar(height, fresh.priceTicks) : (venue.feed ?? fresh);
      });
      const aggregate = aggregator.aggregate(height, timeMs, entries);
      const result = engine.applyBlock({
        height,
        timeMs,
        transactions: pending.map((entry) => entry.tx),
        oracle: oracleUpdates([ASSET], aggregate.prices),
      });
      const honestResult = twin.block(height, timeMs, venue.spotUsdc);
      const block: VenueBlock = {
        result,
        aggregate,
        honest: honestResult,
        notes: pending.map((entry) => entry.note),
      };
      pending = [];
      used.clear();
      blocks.push(block);
      for (const listener of listeners) listener(block);
      return result;
    },
    blocks,
    markUsdc: (seriesId, from = engine) => markUsdcOf(from, seriesId),
    onBlock(listener) {
      listeners.push(listener);
    },
    onRefused() {
      // Every transaction reaches the engine: refusals are statuses in the block.
    },
  };
  venue.block();
  return venue;
}
