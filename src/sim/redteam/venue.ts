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

export interface Venue {
  readonly engine: Engine;
  /** The twin that sees only the honest index: its marks are the honest marks. */
  readonly honest: Engine;
  readonly genesis: EngineGenesis;
  readonly validators: readonly Ed25519Signer[];
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
  tx(label: string, action: ExecutionAction): Venue;
  /** Executes the pending transactions in one block `advanceMs` after the last. */
  block(advanceMs?: number): BlockResult;
  readonly blocks: readonly { result: BlockResult; aggregate: BlockAggregate; honest: BlockResult }[];
  /** The series' mark per contract in USDC rounded to its tick (at least one tick). */
  markUsdc(seriesId: number, engine?: Engine): number;
}

/** Builds a venue; its first block (no transactions) has already run, so marks exist. */
export function createVenue(options: VenueOptions): Venue {
  const n = options.validators ?? 4;
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
    chainId: REDTEAM_CHAIN_ID,
    startTimeMs: REDTEAM_START_MS,
    traders: Object.keys(options.traders).map(signerOf),
    insuranceFundUsdc: options.insuranceFundUsdc,
    series: options.series,
    ...(options.params === undefined ? {} : { params: options.params }),
    ...(options.underlying === undefined ? {} : { underlying: options.underlying }),
  });
  for (const [index, usdc] of Object.values(options.traders).entries())
    genesis.accounts[index]!.balance = BigInt(Math.round(usdc * USDC));
  const engine = createEngine(genesis);
  const honest = createEngine(genesis);
  const validators = Array.from({ length: n }, (_, i) =>
    testSigner(`redteam/${options.seed}/validator/${i}`),
  );
  const members = validators.map((signer) => ({ publicKey: signer.publicKey, weight: 1n }));
  const used = new Map<string, number>();
  let pending: ReturnType<typeof actionTransaction>[] = [];
  let previous = new Map<number, AggregatePriceValue>();
  let honestPrevious = new Map<number, AggregatePriceValue>();
  const blocks: { result: BlockResult; aggregate: BlockAggregate; honest: BlockResult }[] = [];

  const observe = (signer: Ed25519Signer, height: number, timeMs: number, entry: ObservedEntry) =>
    encodeVoteExtension(
      signObservation(signer, {
        chainId: REDTEAM_CHAIN_ID,
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

  const venue: Venue = {
    engine,
    honest,
    genesis,
    validators,
    spotUsdc: options.spotUsdc,
    feed: undefined,
    liars: [],
    signer: signerOf,
    key: (label) => toHex(signerOf(label).publicKey),
    tx(label, action) {
      const signer = signerOf(label);
      const offset = used.get(label) ?? 0;
      used.set(label, offset + 1);
      const nonce = (engine.account(signer.publicKey)?.nonce ?? 0) + offset;
      pending.push(actionTransaction(signer, nonce, action, { chainId: REDTEAM_CHAIN_ID }));
      return venue;
    },
    block(advanceMs = 1000) {
      const timeMs = engine.timeMs + advanceMs;
      const height = engine.height + 1;
      const honestTicks = BigInt(Math.round(venue.spotUsdc * USDC));
      const fresh: ObservedEntry = {
        priceTicks: honestTicks,
        confidenceTicks: honestTicks / 1000n,
        sourceAgeMs: 0,
      };
      const extensions: Uint8Array[] = [];
      const honestExtensions: Uint8Array[] = [];
      for (const [index, signer] of validators.entries()) {
        const liar = venue.liars[index - (n - venue.liars.length)];
        honestExtensions.push(observe(signer, height, timeMs, fresh));
        const entry = liar !== undefined ? liar(height, honestTicks) : (venue.feed ?? fresh);
        if (entry !== undefined) extensions.push(observe(signer, height, timeMs, entry));
      }
      const aggregate = aggregateBlock({
        chainId: REDTEAM_CHAIN_ID,
        height,
        blockTimeMs: timeMs,
        validators: members,
        assets: [ASSET.assetId],
        extensions,
        previous,
      });
      const honestAggregate = aggregateBlock({
        chainId: REDTEAM_CHAIN_ID,
        height,
        blockTimeMs: timeMs,
        validators: members,
        assets: [ASSET.assetId],
        extensions: honestExtensions,
        previous: honestPrevious,
      });
      previous = new Map(aggregate.prices.map((price) => [price.assetId, price]));
      honestPrevious = new Map(honestAggregate.prices.map((price) => [price.assetId, price]));
      const result = engine.applyBlock({
        height,
        timeMs,
        transactions: pending,
        oracle: oracleUpdates([ASSET], aggregate.prices),
      });
      const honestResult = honest.applyBlock({
        height,
        timeMs,
        transactions: [],
        oracle: oracleUpdates([ASSET], honestAggregate.prices),
      });
      pending = [];
      used.clear();
      blocks.push({ result, aggregate, honest: honestResult });
      return result;
    },
    blocks,
    markUsdc(seriesId, from = engine) {
      const series = from.series().find((entry) => entry.seriesId === seriesId);
      const tick = (series?.tickSize ?? USDC) / USDC;
      const mark = series?.markPrice;
      if (mark === undefined) return tick;
      return Math.max(tick, Math.round(Number(mark) / USDC / tick) * tick);
    },
  };
  venue.block();
  return venue;
}
