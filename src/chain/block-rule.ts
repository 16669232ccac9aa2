/**
 * The block rule, once: what every validator does with a finalized block. The validator's
 * application (src/node/app.ts), the API's test node (src/node/api/fixture-node.ts) and the
 * whole-node simulator (src/sim/node-harness.ts) all call `executeBlock`, so what the API tests and
 * the simulator check is what the validators run.
 *
 * `executeBlock(state, block)`, for a block whose payload is a `BlockPayload` (src/codec/node.ts):
 *
 *   1. payload   decoded; a payload that does not decode (only possible when more than f
 *                validators signed it) executes as an empty block.
 *   2. time      max(payload time, previous block time, genesis start): a deterministic clamp, so
 *                a block whose parent a validator never saw can never move the engine's clock back.
 *   3. transactions  each encoding decoded; one that does not decode is skipped, and so is a plain
 *                `placeOrder` on a market genesis keeps for encrypted orders (`encryptedOnlySeries`,
 *                ./fair-batches.ts; verifiers refuse a block carrying one). The bytes are
 *                remembered for the signature check (`ChainOptions.verifySignature`), so a node can
 *                answer it from the verification its mempool made at admission.
 *   4. oracle    the observations of the block's epoch's validators (`epochValidators`, weight 1
 *                each) aggregated by `aggregateBlock` against the previous aggregate per asset
 *                (deterministic, integer) and applied to the price book; every non-zero
 *                aggregate of a genesis asset becomes an `OracleUpdate` in engine units (stale ones
 *                flagged, guard flags passed on).
 *   4b. bridge   the deposit reports (`payload.deposits`) counted by `depositsAtQuorum`
 *                (src/interop/evm/deposit-quorum.ts): a vault deposit that 2f + 1 validators
 *                of the block's epoch reported identically, for the genesis's EVM chain and vault,
 *                goes to the engine, which credits each vault nonce once; the token must be the genesis's bridged one.
 *   4c. fair ordering (./fair-batches.ts; only with `rules.fairOrdering`) the batch of the block
 *                below, if any, is opened with `block.batchKey` (its transactions run first in
 *                step 5, in their own block's order), and the block's own envelopes are admitted:
 *                each pays its fee and reserves its
 *                nonce in step 5, and they wait as this block's batch for its key. Early-share
 *                evidence names its offenders.
 *   5. execution the engine applies the block (statuses for bad transactions; only a broken
 *                invariant throws).
 *   6. root      the node state root: SHA-256 over a label, the engine's state root and the SSZ of
 *                the previous aggregate per asset, and, while any batch waits for its key, the
 *                pending batches' root; so it covers all of a `NodeSnapshot`.
 *
 * The state (the engine and the price book) is advanced in place: the engine is an incremental
 * state machine over a Merkle commitment, and copying it per block would cost a snapshot. Nothing
 * here reads a clock, a file or randomness; the result is a function of the state and the block.
 */
import { ListCompositeType } from '@chainsafe/ssz';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { type BlockPayload, BlockPayloadCodec, noFairOrdering } from '../codec/node.ts';
import { AggregatePriceType, type AggregatePriceValue, type SignedObservation } from '../codec/oracle.ts';
import { NodeSnapshotCodec, type PendingBatch, SNAPSHOT_UNDERLYINGS_MAX } from '../codec/snapshot.ts';
import { type SignedTransaction, SignedTransactionCodec } from '../codec/transaction.ts';
import { bytesEqual, fromHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import { decodeTransaction, type TransactionDecoder, transactionId } from '../crypto/transaction.ts';
import { createEngine, type Engine, restoreEngine } from '../execution/engine.ts';
import { isGovernanceKey } from '../execution/governance.ts';
import type {
  BlockResult,
  BridgeDeposit,
  EngineEvent,
  EngineGenesis,
  OracleUpdate,
} from '../execution/types.ts';
import { VALIDATOR_CHANGE_LEAD_BLOCKS } from '../execution/validator-set.ts';
import {
  type DepositReportProblem,
  depositReportProblems,
  depositsAtQuorum,
} from '../interop/evm/deposit-quorum.ts';
import {
  AggregateFlag,
  aggregateBlock,
  type BlockAggregate,
  type DroppedObservation,
} from '../oracle/aggregate.ts';
import { createPriceBook, type PriceBook } from '../oracle/price-book.ts';
import {
  eonScheduleRoot,
  judgeEonActivation,
  pruneEons,
  type ScheduledEon,
  scheduledEonOfRecord,
  scheduledEonRecord,
} from './eon-schedule.ts';
import {
  admitEnvelopes,
  type ChainFairOrdering,
  earlyShareOffender,
  encryptionRequired,
  eonScheduleRules,
  type FairChainContext,
  type OpenedBatch,
  openBatches,
  pendingBatchesRoot,
} from './fair-batches.ts';

/**
 * A block at height h commits to the node state root after height h − STATE_ROOT_LAG_BLOCKS. Part
 * of the block rule: every validator must use the same value.
 */
export const STATE_ROOT_LAG_BLOCKS = 16;
// A validator-set change must sit in a root the old set finalizes (src/execution/validator-set.ts).
invariant(
  VALIDATOR_CHANGE_LEAD_BLOCKS >= STATE_ROOT_LAG_BLOCKS,
  'a validator-set change leads its boundary by at least the state-root lag',
);
const STATE_ROOT_LABEL = new TextEncoder().encode('PALISADE/NODE/STATE-ROOT/v1');
const PriceListType = new ListCompositeType(AggregatePriceType, SNAPSHOT_UNDERLYINGS_MAX);
/** The engine counts quote base units with 6 decimals; genesis bounds an asset's decimals by it. */
const ENGINE_DECIMALS = 6;

/** An oracle asset of the genesis and the engine underlying its aggregates price. */
export interface ChainAsset {
  readonly assetId: number;
  /** One oracle tick is 10^-decimals of the quote (at most 6). */
  readonly decimals: number;
  readonly underlyingId: number;
}

/** What the block rule needs from genesis; equal on every validator. */
export interface ChainRules {
  readonly chainId: number;
  /** Ed25519 keys of the validators, by index (each of weight 1). */
  readonly validators: readonly Uint8Array[];
  readonly assets: readonly ChainAsset[];
  readonly engineGenesis: EngineGenesis;
  /** The EVM vault the validators follow; absent: no bridge, and a block with reports is refused. */
  readonly bridge?: ChainBridge;
  /** The eon keyset orders are encrypted to; absent: no encrypted orders (envelopes are ignored). */
  readonly fairOrdering?: ChainFairOrdering;
}

/** The bridge's EVM side, from genesis. */
export interface ChainBridge {
  readonly evmChainId: number;
  /** The vault's 20-byte address. */
  readonly vault: Uint8Array;
  /** The 20-byte ERC-20 the engine's quote is bridged as (other tokens are refused). */
  readonly token: Uint8Array;
}

export interface ChainOptions {
  /**
   * Checks a transaction's signature given the bytes it was decoded from (default: the engine's
   * own Ed25519 verification). It must give the engine's verdicts.
   */
  verifySignature?: (transaction: SignedTransaction, encoded: Uint8Array) => boolean;
  /**
   * Checks an observation's signature given its bytes (default: `verifyObservationSignature`); it
   * must give that function's verdicts (src/oracle/aggregate.ts `verifySignature`).
   */
  verifyObservation?: (observation: SignedObservation, encoded: Uint8Array) => boolean;
  /**
   * Runs fair ordering's pairings (decryption, the key check): noble by default, or mcl-wasm,
   * which gives the same bytes faster (src/crypto/shutter/pairing-backend.ts).
   */
  pairingBackend?: PairingBackend;
  /**
   * Decodes a transaction encoding with its id (default: `decodeTransaction`, uncached). It must
   * give that function's answers; a node passes its transaction cache, which decoded the same
   * bytes at admission.
   */
  decodeTransaction?: TransactionDecoder;
}

/** The state the block rule advances: the engine and the oracle's price book. */
export interface ChainState {
  /** Replaced only once, before the first block, when the eon keyset arrives (src/node/app.ts). */
  rules: ChainRules;
  engine: Engine;
  readonly priceBook: PriceBook;
  /** The bytes each transaction of the block being executed was decoded from. */
  readonly encodings: WeakMap<SignedTransaction, Uint8Array>;
  readonly options: ChainOptions;
  /** Finalized blocks' encrypted orders waiting for their keys, ascending by height. */
  pending: PendingBatch[];
  /**
   * The eon keysets finalized blocks recorded (./eon-schedule.ts), still needed; absent or empty
   * without eon epochs or before the first record.
   */
  eons?: ScheduledEon[];
}

/** A finalized block as the rule sees it: its height and its `BlockPayload` encoding. */
export interface ChainBlock {
  readonly height: number;
  readonly payload: Uint8Array;
  /**
   * The key of the batch of block `height − 1` (48-byte compressed G1), which block `height` opens
   * (./fair-batches.ts). Required exactly when that batch is pending (`batchKeyNeeded`); it comes
   * from outside the block: the shares on the votes after `height − 1` was final, a later block's
   * record, or the executor's storage.
   */
  readonly batchKey?: Uint8Array;
}

export interface ExecutedBlock {
  height: number;
  /** The execution time (clamped, see step 2). */
  timeMs: number;
  /** The transactions that decoded, in block order, with their ids. */
  transactions: SignedTransaction[];
  ids: Uint8Array[];
  aggregate: BlockAggregate;
  result: BlockResult;
  events: EngineEvent[];
  /** The node state root after this block (step 6). */
  root: Uint8Array;
  /** Step 4c: earlier blocks' encrypted orders run first in this block, and this block's envelopes. */
  fair: {
    /** The opened transactions that ran, in order, with their ids and results. */
    transactions: SignedTransaction[];
    ids: Uint8Array[];
    opened: OpenedBatch[];
    /** Envelopes of this block admitted (fee paid, nonce reserved, waiting for its key). */
    admitted: number;
    /** Validators the block's early-share evidence proves Byzantine. */
    earlyShareOffenders: number[];
  };
}

/**
 * The node state root the block rule commits to: the engine's state root and the oracle
 * aggregation state (previous aggregate per asset, ascending asset id) — all a `NodeSnapshot` holds.
 */
export function nodeStateRoot(
  engineStateRoot: Uint8Array,
  prices: readonly AggregatePriceValue[],
  pending: readonly PendingBatch[] = [],
  eons: readonly ScheduledEon[] = [],
): Uint8Array {
  return nodeStateRootOfParts(engineStateRoot, prices, nodeStateRootFairParts(pending, eons));
}

/**
 * The fair-ordering digests the node state root hashes after the price root, in order: the pending
 * batches' root when any batch is pending, then the recorded eons' root when any eon is recorded.
 * Without them the root is the one chains without fair ordering have always had. A reader that
 * opens a committed root (a light client, state sync) is given these 32-byte digests rather than
 * the lists: they are preimage parts of a SHA-256, so they bind the engine root as the lists do.
 */
export function nodeStateRootFairParts(
  pending: readonly PendingBatch[],
  eons: readonly ScheduledEon[],
): Uint8Array[] {
  return [
    ...(pending.length === 0 ? [] : [pendingBatchesRoot(pending)]),
    ...(eons.length === 0 ? [] : [eonScheduleRoot(eons)]),
  ];
}

/** Most fair-ordering digests a node state root hashes (`nodeStateRootFairParts`). */
export const NODE_STATE_ROOT_FAIR_PARTS_MAX = 2;

/**
 * The node state root from its parts: the engine root, the prices and the fair-ordering digests
 * (`nodeStateRootFairParts`). What a reader recomputes from an opening.
 */
export function nodeStateRootOfParts(
  engineStateRoot: Uint8Array,
  prices: readonly AggregatePriceValue[],
  fairParts: readonly Uint8Array[],
): Uint8Array {
  invariant(fairParts.length <= NODE_STATE_ROOT_FAIR_PARTS_MAX, 'at most two fair-ordering parts');
  invariant(
    fairParts.every((part) => part.length === 32),
    'fair-ordering parts are SHA-256 digests',
  );
  const sorted = [...prices].sort((a, b) => a.assetId - b.assetId);
  const priceRoot = sha256(PriceListType.serialize(sorted));
  return sha256(STATE_ROOT_LABEL, engineStateRoot, priceRoot, ...fairParts);
}

/** The height whose state root a block at `height` commits to. */
export function stateRootHeightFor(height: number): number {
  return Math.max(0, height - STATE_ROOT_LAG_BLOCKS);
}

/**
 * Whether the engine holds an account for `publicKey`, as the mempool's `accountExists` asks: one
 * map lookup (`Engine.hasAccount`, the answer the state commitment gives between blocks; not a
 * margin assessment, as `account()` is). The genesis operator, governors and guardians count as
 * existing although their record appears only with their first accepted action: without that, the
 * mempool would refuse their first transaction.
 */
export function hasAccount(
  engine: Pick<Engine, 'hasAccount'>,
  genesis: Pick<EngineGenesis, 'operator' | 'governance'>,
  publicKey: Uint8Array,
): boolean {
  return (
    bytesEqual(publicKey, genesis.operator) ||
    engine.hasAccount(publicKey) ||
    isGovernanceKey(genesis.governance, publicKey)
  );
}

function engineOptionsOf(encodings: WeakMap<SignedTransaction, Uint8Array>, options: ChainOptions) {
  const verify = options.verifySignature;
  if (verify === undefined) return {};
  return {
    verifySignature: (transaction: SignedTransaction) =>
      verify(transaction, encodings.get(transaction) ?? SignedTransactionCodec.encode(transaction)),
  };
}

/**
 * The state at genesis.
 * @example const state = createChainState({ chainId, validators, assets, engineGenesis });
 */
export function createChainState(rules: ChainRules, options: ChainOptions = {}): ChainState {
  const encodings = new WeakMap<SignedTransaction, Uint8Array>();
  const engine = createEngine(rules.engineGenesis, engineOptionsOf(encodings, options));
  return { rules, engine, priceBook: createPriceBook(), encodings, options, pending: [] };
}

/** A snapshot decoded and restored, not yet adopted (see `adoptChainSnapshot`). */
export interface RestoredChain {
  /** The height the snapshot claims. */
  readonly height: number;
  readonly engine: Engine;
  readonly prices: readonly AggregatePriceValue[];
  readonly pending: readonly PendingBatch[];
  readonly eons: readonly ScheduledEon[];
  /** The node state root of the restored state. */
  readonly root: Uint8Array;
}

/**
 * Decodes a `NodeSnapshotCodec` snapshot and restores its engine; `state` does not change. The
 * caller checks the height (`height` and `engine.height`) and the root before adopting it.
 * @throws CodecError when the snapshot does not decode; SnapshotError when it does not restore
 */
export function restoreChainSnapshot(state: ChainState, encoded: Uint8Array): RestoredChain {
  const snapshot = NodeSnapshotCodec.decode(encoded);
  const engine = restoreEngine(
    snapshot.engine,
    state.rules.engineGenesis,
    engineOptionsOf(state.encodings, state.options),
  );
  const fairOrdering = state.rules.fairOrdering;
  const eons =
    fairOrdering === undefined || snapshot.eons.length === 0
      ? []
      : snapshot.eons.map((record) =>
          scheduledEonOfRecord(eonScheduleRules(fairOrdering, state.rules.validators), record),
        );
  return {
    height: snapshot.height,
    engine,
    prices: snapshot.prices,
    pending: snapshot.pendingBatches,
    eons,
    root: nodeStateRoot(engine.stateRoot(), snapshot.prices, snapshot.pendingBatches, eons),
  };
}

/**
 * Replaces `state` with a restored snapshot: its engine, and its previous aggregates applied to the
 * price book (which the next block's aggregation reads).
 */
export function adoptChainSnapshot(state: ChainState, restored: RestoredChain): void {
  invariant(restored.engine.height === restored.height, 'a restored snapshot is at its own height');
  state.engine = restored.engine;
  state.pending = [...restored.pending];
  state.eons = [...restored.eons];
  state.priceBook.apply({
    height: restored.height,
    prices: [...restored.prices],
    accepted: 0,
    dropped: [],
    equivocations: [],
  });
}

/** The `NodeSnapshotCodec` encoding of the state after its last block. */
export function snapshotChainState(state: ChainState): Uint8Array {
  const prices = [...state.priceBook.latest().values()].sort((a, b) => a.assetId - b.assetId);
  return NodeSnapshotCodec.encode({
    height: state.engine.height,
    engine: state.engine.snapshot(),
    prices,
    pendingBatches: state.pending,
    eons: (state.eons ?? []).map(scheduledEonRecord),
  });
}

/** The node state root of the state as it is (after its last block). */
export function chainStateRoot(state: ChainState): Uint8Array {
  return nodeStateRoot(
    state.engine.stateRoot(),
    [...state.priceBook.latest().values()],
    state.pending,
    state.eons ?? [],
  );
}

const epochKeys = new WeakMap<Engine, { epoch: number; keys: readonly Uint8Array[] }>();

/**
 * The validators whose observations and deposit reports the state's next block counts: the set the
 * engine has committed after its last block (a boundary block H still belongs to the old epoch, and
 * the change applies at its start, so the state before H holds the old set and the state after H
 * the new one), or the genesis list on a chain without epochs. Read from state, so every validator
 * executing the same blocks gets the same keys.
 */
export function epochValidators(state: {
  readonly rules: Pick<ChainRules, 'validators'>;
  readonly engine: Engine;
}): readonly Uint8Array[] {
  const committed = state.engine.validatorSet();
  if (committed === undefined) return state.rules.validators;
  const cached = epochKeys.get(state.engine);
  if (cached !== undefined && cached.epoch === committed.epoch) return cached.keys;
  const keys = committed.members.map((member) => {
    const key = fromHex(member.publicKey);
    invariant(key !== undefined, 'a committed validator key is hex');
    return key;
  });
  epochKeys.set(state.engine, { epoch: committed.epoch, keys });
  return keys;
}

/** The rules with the validators of the state's next block (`epochValidators`), for its verifier. */
export function epochRules(state: Pick<ChainState, 'rules' | 'engine'>): ChainRules {
  const validators = epochValidators(state);
  return validators === state.rules.validators ? state.rules : { ...state.rules, validators };
}

/** The payload, or undefined when it does not decode. */
export function decodeBlockPayload(bytes: Uint8Array): BlockPayload | undefined {
  try {
    return BlockPayloadCodec.decode(bytes);
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
}

/** Observations `aggregateBlock` would drop at this height and block time (a verifier refuses them). */
export function observationProblems(
  rules: Pick<ChainRules, 'chainId' | 'validators'>,
  height: number,
  timeMs: number,
  list: readonly Uint8Array[],
  verifyObservation?: ChainOptions['verifyObservation'],
): readonly DroppedObservation[] {
  return aggregateBlock({
    chainId: rules.chainId,
    height,
    blockTimeMs: timeMs,
    validators: rules.validators.map((publicKey) => ({ publicKey, weight: 1n })),
    assets: [],
    extensions: list,
    previous: new Map(),
    ...(verifyObservation === undefined ? {} : { verifySignature: verifyObservation }),
  }).dropped;
}

/** Deposit reports a verifier refuses at this height (empty: all acceptable). */
export function depositProblems(
  rules: Pick<ChainRules, 'chainId' | 'validators' | 'bridge'>,
  height: number,
  list: readonly Uint8Array[],
): DepositReportProblem[] {
  if (list.length === 0) return [];
  return depositReportProblems(
    { chainId: rules.chainId, validators: rules.validators, bridge: rules.bridge },
    height,
    list,
  );
}

/** The engine's bridge input from a block's reports (step 4b). */
export function bridgeDeposits(
  rules: Pick<ChainRules, 'chainId' | 'validators' | 'bridge'>,
  height: number,
  list: readonly Uint8Array[],
): BridgeDeposit[] {
  const bridge = rules.bridge;
  if (list.length === 0 || bridge === undefined) return [];
  const { deposits } = depositsAtQuorum(
    { chainId: rules.chainId, validators: rules.validators, bridge },
    height,
    list,
  );
  return deposits.map((deposit) => ({
    nonce: deposit.nonce,
    account: deposit.account,
    amount: deposit.amount,
    tokenListed: bytesEqual(deposit.token, bridge.token),
  }));
}

/** The engine's oracle input from a block's aggregates (step 4). */
export function oracleUpdates(
  assets: readonly ChainAsset[],
  prices: readonly AggregatePriceValue[],
): OracleUpdate[] {
  const updates: OracleUpdate[] = [];
  for (const price of prices) {
    const asset = assets.find((candidate) => candidate.assetId === price.assetId);
    if (asset === undefined || price.priceTicks === 0n) continue;
    invariant(
      asset.decimals >= 0 && asset.decimals <= ENGINE_DECIMALS,
      'asset decimals within the engine unit',
    );
    const scale = 10n ** BigInt(ENGINE_DECIMALS - asset.decimals);
    const value = price.priceTicks * scale;
    const confidence = price.confidenceTicks * scale;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || confidence > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    updates.push({
      underlyingId: asset.underlyingId,
      price: Number(value),
      confidence: Number(confidence),
      publishTimeMs: price.publishTimeMs,
      stale: (price.flags & AggregateFlag.STALE) !== 0,
      // The guards pause the underlying's marks and liquidation in the engine (oracle-guard.ts).
      flags: price.flags & (AggregateFlag.MAX_MOVE | AggregateFlag.EMA_BAND | AggregateFlag.CONFIDENCE_WIDE),
    });
  }
  return updates;
}

/** The execution time of a payload timed `payloadTimeMs` on this state (step 2). */
export function executionTime(state: ChainState, payloadTimeMs: number): number {
  return Math.max(payloadTimeMs, state.engine.timeMs, state.rules.engineGenesis.startTimeMs);
}

/**
 * Executes one finalized block on `state` (the block rule, steps 1–6 above).
 * @example const { root, events } = executeBlock(state, { height: 1, payload });
 * @throws InvariantError when the height does not follow the state's, or the engine breaks an invariant
 */
export function executeBlock(state: ChainState, block: ChainBlock): ExecutedBlock {
  invariant(
    block.height === state.engine.height + 1,
    `block ${block.height} does not follow ${state.engine.height}`,
  );
  // Observations and deposit reports count from the set of the block's epoch (`epochValidators`).
  const rules = epochRules(state);
  const payload = decodeBlockPayload(block.payload) ?? {
    timeMs: 0,
    transactions: [],
    observations: [],
    deposits: [],
    ...noFairOrdering(),
  };
  const timeMs = executionTime(state, payload.timeMs);
  // First, before anything moves: without the key of the batch below, the block does not execute.
  const fair = fairStep(state, block.height, payload, block.batchKey);
  const transactions: SignedTransaction[] = [];
  const ids: Uint8Array[] = [];
  const decode = state.options.decodeTransaction ?? decodeTransaction;
  for (const bytes of payload.transactions) {
    try {
      const { transaction, id } = decode(bytes);
      // A plain order on a market that takes encrypted orders only never runs (step 3).
      if (encryptionRequired(rules.fairOrdering, transaction)) continue;
      state.encodings.set(transaction, bytes);
      transactions.push(transaction);
      ids.push(id);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
    }
  }
  const aggregate = aggregateBlock({
    chainId: rules.chainId,
    height: block.height,
    blockTimeMs: timeMs,
    validators: rules.validators.map((publicKey) => ({ publicKey, weight: 1n })),
    assets: rules.assets.map((asset) => asset.assetId),
    extensions: payload.observations,
    previous: state.priceBook.latest(),
    ...(state.options.verifyObservation === undefined
      ? {}
      : { verifySignature: state.options.verifyObservation }),
  });
  state.priceBook.apply(aggregate);
  const result = state.engine.applyBlock({
    height: block.height,
    timeMs,
    transactions,
    oracle: oracleUpdates(rules.assets, aggregate.prices),
    deposits: bridgeDeposits(rules, block.height, payload.deposits),
    encrypted: fair.transactions,
    envelopeReservations: fair.reservations,
  });
  state.pending = fair.pending;
  if (state.eons !== undefined && rules.fairOrdering !== undefined)
    state.eons = pruneEons(
      eonScheduleRules(rules.fairOrdering, state.rules.validators),
      state.eons,
      block.height,
    );
  const root = nodeStateRoot(
    result.stateRoot,
    [...state.priceBook.latest().values()],
    state.pending,
    state.eons ?? [],
  );
  return {
    height: block.height,
    timeMs,
    transactions,
    ids,
    aggregate,
    result,
    events: result.events,
    root,
    fair: {
      transactions: fair.transactions,
      ids: fair.transactions.map((transaction) => transactionId(transaction)),
      opened: fair.opened,
      admitted: fair.reservations.length,
      earlyShareOffenders: fair.earlyShareOffenders,
    },
  };
}

/** Step 4c: which encrypted orders run, which envelopes pay, and the pending batches after. */
function fairStep(
  state: ChainState,
  height: number,
  payload: Pick<BlockPayload, 'envelopes' | 'batchKeys' | 'earlyShares' | 'eonActivations'>,
  batchKey: Uint8Array | undefined,
) {
  const fairOrdering = state.rules.fairOrdering;
  if (fairOrdering === undefined)
    return {
      transactions: [],
      opened: [],
      reservations: [],
      pending: state.pending,
      earlyShareOffenders: [],
    };
  const context: FairChainContext = {
    chainId: state.rules.chainId,
    genesisValidators: state.rules.validators,
    fairOrdering,
    eons: state.eons ?? [],
  };
  // The next eon's activation, judged on the state after the block below; one that fails its
  // checks records nothing (verifiers refuse it; should one be finalized anyway it is ignored).
  const activation = payload.eonActivations[0];
  if (activation !== undefined && fairOrdering.eonEpochBlocks !== undefined) {
    const committed = state.engine.validatorSet();
    const verdict = judgeEonActivation(
      {
        chainId: state.rules.chainId,
        rules: eonScheduleRules(fairOrdering, state.rules.validators),
        recorded: context.eons!,
        committed,
      },
      height,
      activation,
    );
    if (verdict.ok)
      state.eons = pruneEons(
        eonScheduleRules(fairOrdering, state.rules.validators),
        [...(state.eons ?? []), verdict.scheduled],
        height,
      );
  }
  const verify = engineOptionsOf(state.encodings, state.options).verifySignature;
  const opened = openBatches(context, state.pending, height, batchKey, {
    ...(verify === undefined ? {} : { verifySignature: verify }),
    ...(state.options.pairingBackend === undefined ? {} : { backend: state.options.pairingBackend }),
  });
  // Only an account with a record can pay and reserve (a genesis key gets one with its first plain action).
  const admitted = admitEnvelopes(context, opened.pending, height, payload.envelopes, (sender) =>
    state.engine.nonceOf(sender),
  );
  const pending =
    admitted.admitted.length === 0
      ? opened.pending
      : [...opened.pending, { height, envelopes: admitted.admitted }];
  const offenders = new Set<number>();
  for (const encoded of payload.earlyShares) {
    const offender = earlyShareOffender(context, height, encoded);
    if (offender !== undefined) offenders.add(offender);
  }
  return {
    transactions: opened.transactions,
    opened: opened.opened,
    reservations: admitted.reservations,
    pending,
    earlyShareOffenders: [...offenders].sort((a, b) => a - b),
  };
}
