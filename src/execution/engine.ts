/**
 * The venue's state machine: accounts and collateral, option series, one order book per series,
 * marks, margin, liquidation, settlement, and the state root. Every validator runs it on the
 * finalized order of transactions; it is a deterministic function of (state, block): time and
 * oracle prices come in the block, all arithmetic that changes state is integer.
 *
 * Shape (as Lodestar's state transition): the whole state is one explicit value, `EngineState`
 * (src/execution/state.ts), and `applyBlock` below is the pipeline of the steps listed next, each a
 * module of src/execution/steps/; every transaction kind is a module of src/execution/actions/
 * returning a status. This file only composes them and keeps the public API.
 *
 * Block processing, in this order (the order is part of the protocol):
 *   1. oracle updates (steps/oracle.ts): a valid price passes the oracle guards
 *      (src/execution/oracle-guard.ts: a flagged price pauses the underlying's index and liquidations
 *      for at most `oracleGuardPauseMs`, and liquidation waits `liquidationGraceMs` after it), feeds the
 *      underlying's EWMA volatility (src/execution/volatility.ts), is checked against the circuit
 *      breaker's band (steps/breaker.ts, src/execution/breaker.ts: a breach halts the underlying's
 *      series for `breakerHaltMs`) and becomes the index; settlement samples are kept by time, one
 *      per second (src/execution/settlement.ts);
 *   1b. parameters that follow volatility (steps/steward.ts, src/execution/steward.ts): the mark
 *      volatility floor and the band and initial-margin scale move towards the EWMA's targets within
 *      the stewards' bounds; 1c. the withdrawal slowdown's watch on the insurance fund
 *      (steps/responses.ts); 1d. bridge deposits (actions/deposit.ts `creditBridgeDeposits`):
 *      the vault deposits 2f + 1 validators reported in the block, each vault nonce credited once;
 *   2. expiry (steps/expiry.ts): series whose expiry has passed stop trading (resting orders cancelled)
 *      and settle on the time-weighted average index over the last 30 minutes before expiry, divided by
 *      the time actually covered by valid prices; a thinly covered window extends backwards, and with
 *      no valid price at all the series settles on the last valid index price after
 *      `settlementFallbackDelayMs` (src/execution/settlement.ts), so settlement always concludes;
 *   2b. reopening (steps/breaker.ts): a halt that has run its time ends with a call auction per
 *      series of the underlying, uncrossing its book at one price;
 *   2c. governance (actions/governance.ts, rules in src/execution/governance.ts): queued proposals
 *      whose timelock has ended run, in (time, id) order; accepted ids past their expiry are dropped;
 *   3a. fair ordering (steps/encrypted-orders.ts): an earlier block's encrypted orders, opened with
 *      its key, run first in that block's order (their nonces reserved); then this block's envelopes
 *      pay their fees and reserve their nonces;
 *   3. transactions (steps/transactions.ts, actions/), in consensus order: stateless checks (chain,
 *      expiry height, signature, size), then the nonce, then the action. A refusal (`RejectionStatus`)
 *      changes nothing, not even the nonce; a business outcome (`OutcomeStatus`, e.g. insufficient
 *      margin) consumes the nonce and changes nothing else. A key without an account gets
 *      `UNKNOWN_ACCOUNT` for anything but being deposited to. Every order meets pre-trade risk
 *      (src/execution/risk.ts): a price band around the mark and what-if margin, reducing orders
 *      included; every maker fill meets them again, and a maker that fails leaves the book. Caps
 *      (positions per account, open orders, accounts, series) are outcomes, never invariants;
 *   4. liquidation (steps/liquidation.ts, close.ts, backstop.ts, deleverage.ts) of accounts below
 *      maintenance margin (src/execution/liquidation.ts), skipping accounts exposed to a guard-paused
 *      underlying: positions closed in the order that lowers the requirement most per value closed, in
 *      steps into the book, else taken by the insurance fund's backstop account
 *      (src/execution/backstop.ts), else auto-deleveraged against the opposite positions at the
 *      bankruptcy price, the most profitable for their equity first;
 *   5. losses (steps/losses.ts): a flat backstop account's gains return to the insurance fund; a
 *      bankrupt account (no positions, negative balance) is made whole by the insurance fund, and
 *      anything left is recorded as unrecovered. No account is charged for another's loss here:
 *      deficits were passed to counterparties with positions by auto-deleveraging in step 4;
 *   6. the state commitment (steps/commit.ts; after steps/samples.ts drops unread samples) is updated
 *      with what the block changed and its root returned; the block's governance actions, parameter
 *      changes and automatic responses are first appended to the audit log whose head the root
 *      commits (src/execution/audit.ts).
 *
 * The root covers everything a later block's outcome depends on, not only what views show:
 * besides accounts, resting orders (with their time priority), series, index prices and the ledger,
 * it commits every settlement sample the TWAP will read, the block time each index was last valid
 * (marks lapse `maxSampleHoldMs` after it), each underlying's oracle-guard pause, its automatic
 * responses' state (EWMA, halt, automatic parameters and their bound period, liquidation grace),
 * the withdrawal slowdown's fund watch, the audit log's head, and each account's creation index (the order in which liquidation and loss allocation visit accounts).
 * Two validators with equal roots therefore have equal futures, and a snapshot is checked against
 * the root it embeds. Not in the root: the configuration (genesis; a restore compares it), each
 * book's time-priority counter (a wrong one shows in the root at the next resting order) and the
 * mark cache (rebuilt every block).
 *
 * Snapshots: `engine.snapshot()` encodes the whole state canonically (src/codec/snapshot.ts) and
 * `restoreEngine(bytes, genesis?)` rebuilds an engine that reproduces the embedded root and behaves
 * identically from then on.
 *
 * Deposits: a genesis-listed operator key (the bridge) signs `Deposit` actions that credit any
 * account; devnet bots are funded in genesis or by the operator. Withdrawals debit the signer.
 * Accounts cost a deposit: only genesis or a deposit of at least `minDepositForAccount` creates
 * one (a smaller one is `DEPOSIT_BELOW_MINIMUM` and credits nothing: the bridge must not submit
 * it, or refunds it). The operator and governance keys need no deposit: their record, which
 * holds their nonce, appears with their first accepted action.
 *
 * Conservation (tested over random sequences): deposits − withdrawals = Σ balances + fee pool +
 * insurance fund − unrecovered loss, exactly, after every block (the backstop account's balance is
 * one of the balances). Deficit shares passed by auto-deleveraging move money between balances of
 * accounts holding positions and are recorded in `socializedLossTotal`; a deficit nobody can cover
 * is written off into `unrecoveredLoss`. Accounts that neither trade nor hold positions never lose
 * balance (also tested over random sequences).
 */

import { AccountTreeRecordCodec } from '../codec/account-tree.ts';
import { MARGIN_MODE } from '../codec/execution.ts';
import { InvariantError, invariant } from '../codec/invariant.ts';
import { type EngineSnapshot, EngineSnapshotCodec, SNAPSHOT_ACCOUNTS_MAX } from '../codec/snapshot.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { createStateCommitment, type StateCommitment, type StateProof } from '../crypto/state-commitment.ts';
import type { TransactionSignatureCheck } from '../crypto/transaction.ts';
import { type AccountWitnessView, accountTreeCommitment, accountWitness } from './account-tree.ts';
import { createAccount } from './accounts.ts';
import { creditBridgeDeposits, isDepositCredited } from './actions/deposit.ts';
import { applyEpochBoundary, executeDueProposals } from './actions/governance.ts';
import { BUY, SELL } from './book.ts';
import {
  configFromValue,
  type GovernanceView,
  governanceConfigProblem,
  governanceView,
  initialGovernance,
} from './governance.ts';
import { liveIndex } from './marks.ts';
import { listSeries, seriesProblem } from './series.ts';
import {
  configBytes,
  loadSnapshot,
  SnapshotError,
  snapshotBytes,
  underlyingFromSnapshot,
} from './snapshots.ts';
import {
  type EngineState,
  emptyState,
  hexKey,
  MAX_POSITIONS_PER_ACCOUNT,
  MAX_SERIES,
  type WithdrawalEntry,
  type WithdrawalsState,
} from './state.ts';
import { reopenMarkets } from './steps/breaker.ts';
import { commitState } from './steps/commit.ts';
import { applyEncrypted, reserveEnvelopes } from './steps/encrypted-orders.ts';
import { processExpiries } from './steps/expiry.ts';
import { liquidate } from './steps/liquidation.ts';
import { coverLosses } from './steps/losses.ts';
import { ingestOracle } from './steps/oracle.ts';
import { watchFund } from './steps/responses.ts';
import { pruneSamples } from './steps/samples.ts';
import { followVolatility } from './steps/steward.ts';
import { applyTransaction } from './steps/transactions.ts';
import type {
  Block,
  BlockResult,
  EngineBridge,
  EngineEvent,
  EngineGenesis,
  EngineParameters,
  UnderlyingConfig,
} from './types.ts';
import { initialValidatorSet, type ValidatorSetView, validatorSetView } from './validator-set.ts';
import {
  type AccountView,
  accountView,
  type LedgerView,
  ledgerView,
  type RiskView,
  riskView,
  type SeriesView,
  seriesViews,
} from './views.ts';
import { varianceOfVolBps } from './volatility.ts';
import { initialWithdrawals, resolveBridge, rollWithdrawals } from './withdrawals.ts';

/** What {@link Engine.withdrawals} returns: copies, safe to keep. */
export interface WithdrawalsView {
  bridge: EngineBridge;
  nextId: number;
  /** The checkpoint height whose withdrawals root covers `entries`. */
  checkpointHeight: number;
  entries: WithdrawalEntry[];
  root: Uint8Array;
}

function withdrawalsView(withdrawals: WithdrawalsState | undefined): WithdrawalsView | undefined {
  if (withdrawals === undefined) return undefined;
  return {
    bridge: {
      ...withdrawals.bridge,
      vault: withdrawals.bridge.vault.slice(),
      token: withdrawals.bridge.token.slice(),
    },
    nextId: withdrawals.nextId,
    checkpointHeight: withdrawals.checkpointHeight,
    entries: withdrawals.entries.map((entry) => ({
      ...entry,
      recipient: entry.recipient.slice(),
      token: entry.token.slice(),
    })),
    root: withdrawals.root.slice(),
  };
}

/** The bridge a snapshot's withdrawals record names (none: no bridge). */
function bridgeOfSnapshot(snapshot: EngineSnapshot): { bridge?: EngineBridge } {
  const record = snapshot.withdrawals[0];
  if (record === undefined) return {};
  return {
    bridge: {
      evmChainId: record.evmChainId,
      vault: Uint8Array.from(record.vault),
      token: Uint8Array.from(record.token),
      checkpointEveryBlocks: record.checkpointEveryBlocks,
      minWithdrawal: record.minWithdrawal,
      maxWithdrawalsPerAccount: record.maxWithdrawalsPerAccount,
    },
  };
}

function sameBridge(a: EngineBridge | undefined, b: EngineBridge | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const [x, y] = [resolveBridge(a), resolveBridge(b)];
  return (
    x.minWithdrawal === y.minWithdrawal &&
    x.maxWithdrawalsPerAccount === y.maxWithdrawalsPerAccount &&
    a.evmChainId === b.evmChainId &&
    a.checkpointEveryBlocks === b.checkpointEveryBlocks &&
    bytesEqual(a.vault, b.vault) &&
    bytesEqual(a.token, b.token)
  );
}

export type { AccountWitnessView } from './account-tree.ts';
export type { GovernanceConfig, GovernanceView } from './governance.ts';
export {
  ACCOUNT_TREE_STATE_KEY,
  accountIndexStateKey,
  accountStateKey,
  indexStateKey,
  LEDGER_STATE_KEY,
  oracleStateKey,
  orderStateKey,
  ownerCommitmentStateKey,
  sampleStateKey,
  seriesStateKey,
  WITHDRAWALS_STATE_KEY,
} from './records.ts';
export { SnapshotError, type SnapshotErrorCode } from './snapshots.ts';
export { MAX_LOTS_PER_ORDER, MAX_POSITIONS_PER_ACCOUNT, MAX_SERIES } from './state.ts';
export { isRejection } from './types.ts';
export type { AccountView, LedgerView, RiskView, SeriesView } from './views.ts';

/** The account tree at one height, as the engine commits it. */
export interface AccountTreeView {
  height: number;
  root: bigint;
  leaves: number;
  mmBps: number;
  /** The encoded `AccountTreeRecord`: the value under `ACCOUNT_TREE_STATE_KEY`. */
  record: Uint8Array;
  /** The encoded `MarkTable` whose SHA-256 the record holds. */
  markTable: Uint8Array;
  /** Leaves the last block rehashed (its cost: each positions + 21 Poseidon hashes). */
  leavesUpdated: number;
}

export interface Engine {
  readonly chainId: number;
  readonly height: number;
  readonly timeMs: number;
  /**
   * Applies a finalized block. Transactions that fail get statuses; only a broken invariant
   * throws (a bug: the node must stop rather than diverge).
   * @throws InvariantError when the block's height or time do not follow the last block
   */
  applyBlock(block: Block): BlockResult;
  stateRoot(): Uint8Array;
  /** A proof for a state key (see {@link accountStateKey} and friends) against the current root. */
  prove(key: Uint8Array): StateProof;
  /** The committed value under a state key (an encoded record), if any. */
  stateValue(key: Uint8Array): Uint8Array | undefined;
  account(publicKey: Uint8Array | string): AccountView | undefined;
  /**
   * The nonce the account of `publicKey` expects next (what `account(publicKey)?.nonce` says),
   * without building its view and margin: the mempool asks for every admission and every pending
   * account of every proposal. Undefined for a key without an account.
   */
  nonceOf(publicKey: Uint8Array): number | undefined;
  /**
   * Whether the state holds an account for `publicKey`. Between blocks the same answer as
   * `stateValue(accountStateKey(publicKey)) !== undefined` (every account is committed at the end
   * of the block that created it, and none is ever removed), without hashing the key.
   */
  hasAccount(publicKey: Uint8Array): boolean;
  accounts(): AccountView[];
  series(): SeriesView[];
  book(
    seriesId: number,
    maxLevels?: number,
  ): { bids: Array<[number, number, number]>; asks: Array<[number, number, number]> } | undefined;
  ledger(): LedgerView;
  indexPrice(underlyingId: number): bigint | undefined;
  /** Whether the bridge has consumed this vault nonce (credited it, or refused it for good). */
  depositCredited(nonce: number): boolean;
  /** Governance's current sets, timelock queue and halts (src/execution/governance.ts). */
  governance(): GovernanceView;
  /** The consensus validator set, its epoch and scheduled change; undefined when genesis names none. */
  validatorSet(): ValidatorSetView | undefined;
  /** The audit log's head (src/execution/audit.ts): entries so far and the last hash, 0x-hex. */
  auditHead(): { sequence: number; hash: string };
  /**
   * The Poseidon account tree at this height (src/execution/account-tree.ts): its committed record
   * (under `ACCOUNT_TREE_STATE_KEY`), root, and the mark table the record's hash covers; undefined
   * before the first registration.
   */
  accountTree(): AccountTreeView | undefined;
  /** A registered account's leaf inputs and Merkle path at this height (what its prover needs). */
  accountWitness(publicKey: Uint8Array | string): AccountWitnessView | undefined;
  /** An underlying's automatic-response state: its EWMA volatility (issue 15). */
  risk(underlyingId: number): RiskView | undefined;
  /**
   * The checkpoint period's withdrawals (src/execution/withdrawals.ts) as committed at this height,
   * under `WITHDRAWALS_STATE_KEY`; undefined without a bridge.
   */
  withdrawals(): WithdrawalsView | undefined;
  /**
   * The complete state in canonical bytes (an `EngineSnapshot`, src/codec/snapshot.ts): equal
   * states give equal bytes, and {@link restoreEngine} turns them back into an engine with the same
   * root and the same future behaviour.
   */
  snapshot(): Uint8Array;
}

/**
 * An engine in exactly the state a snapshot holds: same root, same answers to every view, same
 * results for every future block.
 * @example const copy = restoreEngine(engine.snapshot(), genesis); copy.stateRoot() // equals engine.stateRoot()
 * @throws CodecError when the bytes are not an `EngineSnapshot`
 * @throws SnapshotError when it decodes but is not a consistent engine state, does not reproduce its
 *   own state root, or (with `genesis`) belongs to another chain or configuration
 */
export function restoreEngine(
  bytes: Uint8Array,
  genesis?: EngineGenesis,
  options: EngineOptions = {},
): Engine {
  const snapshot = EngineSnapshotCodec.decode(bytes);
  const underlyings = snapshot.underlyings.map(underlyingFromSnapshot);
  const config: EngineGenesis = {
    chainId: snapshot.chainId,
    operator: snapshot.operator,
    governance: configFromValue(snapshot.governance.config),
    startTimeMs: snapshot.startTimeMs,
    params: { ...snapshot.params },
    underlyings,
    series: [],
    accounts: [],
    insuranceFund: 0n,
    ...bridgeOfSnapshot(snapshot),
  };
  if (genesis !== undefined) {
    // Governance may have rotated its keys and set parameters since genesis: the snapshot's record
    // (committed in its root) says which, and the genesis parameters with those applied must match.
    const same =
      sameBridge(genesis.bridge, config.bridge) &&
      genesis.chainId === config.chainId &&
      bytesEqual(genesis.operator, config.operator) &&
      genesis.startTimeMs === config.startTimeMs;
    const overrides = Object.fromEntries(
      snapshot.governance.parameters.map((entry) => [new TextDecoder().decode(entry.name), entry.value]),
    );
    const ours = configBytes({ ...genesis, params: { ...genesis.params, ...overrides } });
    const theirs = configBytes(config);
    if (!same || ours.length !== theirs.length || ours.some((b, i) => !bytesEqual(b, theirs[i]!)))
      throw new SnapshotError(
        'GENESIS_MISMATCH',
        'EngineSnapshot',
        'the snapshot belongs to another chain or configuration',
      );
  }
  try {
    return buildEngine(config, options, snapshot);
  } catch (error) {
    if (error instanceof InvariantError)
      throw new SnapshotError('INCONSISTENT_SNAPSHOT', 'EngineSnapshot', error.message, { cause: error });
    throw error;
  }
}

/**
 * Creates an engine at genesis.
 * @example const engine = createEngine(genesis); const { stateRoot, events } = engine.applyBlock(block);
 * @throws InvariantError when the genesis is inconsistent (unknown underlying, duplicate account)
 */
export interface EngineOptions {
  /** The state commitment to write into (default: a fresh one); the benchmark passes a timed one. */
  stateCommitment?: StateCommitment;
  /**
   * Checks a transaction's signature (default: an Ed25519 verification). A node injects one that
   * answers from the verifications its mempool already did; it must give the same verdicts.
   */
  verifySignature?: TransactionSignatureCheck;
}

export function createEngine(genesis: EngineGenesis, options: EngineOptions = {}): Engine {
  return buildEngine(genesis, options, undefined);
}

function buildEngine(
  genesis: EngineGenesis,
  options: EngineOptions,
  restored: EngineSnapshot | undefined,
): Engine {
  const params: EngineParameters = { ...genesis.params };
  // The caps are genesis choices within what the records can hold; a genesis beyond them is inconsistent.
  invariant(
    params.maxPositionsPerAccount >= 1 && params.maxPositionsPerAccount <= MAX_POSITIONS_PER_ACCOUNT,
    'maxPositionsPerAccount within 1…1024',
  );
  // The breaker's window reads settlement samples, kept for window + extension (steps/samples.ts).
  invariant(
    params.breakerWindowMs <= params.settlementWindowMs + params.settlementExtensionMs,
    'breakerWindowMs within the samples kept',
  );
  invariant(
    params.maxSeries <= MAX_SERIES && genesis.series.length <= params.maxSeries,
    'series within maxSeries',
  );
  invariant(
    params.maxAccounts <= SNAPSHOT_ACCOUNTS_MAX && genesis.accounts.length <= params.maxAccounts,
    'accounts within maxAccounts, within what a snapshot holds',
  );
  const governanceProblem = governanceConfigProblem(genesis.governance);
  invariant(governanceProblem === undefined, `genesis governance: ${governanceProblem}`);
  const underlyings = new Map<number, UnderlyingConfig>();
  for (const underlying of genesis.underlyings) {
    invariant(!underlyings.has(underlying.underlyingId), 'duplicate underlying in genesis');
    underlyings.set(underlying.underlyingId, {
      ...underlying,
      pmSpotMovesBps: [...underlying.pmSpotMovesBps],
    });
  }
  const s = emptyState({
    chainId: genesis.chainId,
    operator: Uint8Array.from(genesis.operator),
    governance: initialGovernance(genesis.governance),
    validatorSet: genesis.validatorSet === undefined ? undefined : initialValidatorSet(genesis.validatorSet),
    startTimeMs: genesis.startTimeMs,
    params,
    underlyings,
    verifySignature: options.verifySignature,
    commitment: options.stateCommitment ?? createStateCommitment(),
    withdrawals: initialWithdrawals(genesis.bridge),
  });

  if (restored === undefined) {
    // Genesis.
    for (const config of genesis.series) {
      const problem = seriesProblem(config, underlyings.get(config.underlyingId), genesis.startTimeMs);
      invariant(problem === undefined, `genesis series: ${problem}`);
      listSeries(s, config);
    }
    for (const entry of genesis.accounts) {
      invariant(entry.balance >= 0n, 'genesis balances are not negative');
      const account = createAccount(s, entry.publicKey);
      account.balance = entry.balance;
      account.marginMode = entry.marginMode === 'portfolio' ? MARGIN_MODE.portfolio : MARGIN_MODE.standard;
      s.totalDeposits += entry.balance;
    }
    // Every underlying's EWMA starts at its governance volatility and takes its first sample later.
    for (const underlying of [...underlyings.values()].sort((a, b) => a.underlyingId - b.underlyingId)) {
      s.risk.set(underlying.underlyingId, {
        variance: varianceOfVolBps(underlying.defaultVolBps),
        samplePrice: 0n,
        samplePriceTimeMs: 0,
        haltedUntilMs: 0,
        bandFromMs: 0,
        autoVolBps: underlying.defaultVolBps,
        scaleBps: 10_000,
        autoUpdatedMs: 0,
        periodStartMs: 0,
        periodStartVolBps: underlying.defaultVolBps,
        periodStartScaleBps: 10_000,
        graceUntilMs: 0,
      });
      s.dirtyRisk.add(underlying.underlyingId);
    }
    invariant(genesis.insuranceFund >= 0n, 'insurance fund is not negative');
    s.insuranceFund = genesis.insuranceFund;
    s.totalDeposits += genesis.insuranceFund;
    s.fundWatch.reference = genesis.insuranceFund;
    s.fundWatch.referenceMs = genesis.startTimeMs;
    s.events = [];
    commitState(s);
  } else {
    loadSnapshot(s, restored);
    s.events = [];
    const root = commitState(s);
    if (!bytesEqual(root, restored.stateRoot))
      throw new SnapshotError(
        'STATE_ROOT_MISMATCH',
        'EngineSnapshot.stateRoot',
        'the restored state has another root',
      );
  }
  return engineOver(s);
}

/** The block pipeline, in the order of this file's header (the order is part of the protocol). */
function applyBlockTo(s: EngineState, block: Block): BlockResult {
  invariant(block.height === s.height + 1, `block height ${block.height} does not follow ${s.height}`);
  invariant(Number.isSafeInteger(block.timeMs) && block.timeMs >= s.timeMs, 'block time went backwards');
  s.height = block.height;
  s.timeMs = block.timeMs;
  s.events = [];
  s.markCache = new Map();
  ingestOracle(s, block.oracle);
  followVolatility(s);
  watchFund(s);
  creditBridgeDeposits(s, block.deposits ?? []);
  rollWithdrawals(s);
  processExpiries(s);
  reopenMarkets(s);
  applyEpochBoundary(s);
  executeDueProposals(s);
  const encryptedResults = applyEncrypted(s, block.encrypted ?? []);
  const reservationResults = reserveEnvelopes(s, block.envelopeReservations ?? []);
  const results = block.transactions.map((tx) => applyTransaction(s, tx));
  liquidate(s);
  coverLosses(s);
  pruneSamples(s);
  const stateRoot = commitState(s);
  const events = s.events;
  s.events = [];
  return {
    height: s.height,
    results,
    encryptedResults,
    reservationResults,
    events,
    stateRoot,
    eventsHash: sha256(canonicalEventBytes(events)),
  };
}

const textEncoder = new TextEncoder();

function canonicalEventBytes(events: readonly EngineEvent[]): Uint8Array {
  return textEncoder.encode(
    JSON.stringify(events, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value)),
  );
}

/** The `Engine` interface over a state: the pipeline, the commitment and the views. */
function engineOver(s: EngineState): Engine {
  return {
    chainId: s.chainId,
    get height() {
      return s.height;
    },
    get timeMs() {
      return s.timeMs;
    },
    applyBlock: (block) => applyBlockTo(s, block),
    stateRoot: () => s.commitment.root(),
    prove: (key) => s.commitment.prove(key),
    stateValue: (key) => s.commitment.get(key),
    account(publicKey) {
      const bytes = typeof publicKey === 'string' ? fromHex(publicKey) : publicKey;
      const account = bytes === undefined ? undefined : s.accounts.get(hexKey(bytes));
      return account === undefined ? undefined : accountView(s, account);
    },
    nonceOf: (publicKey) => s.accounts.get(hexKey(publicKey))?.nonce,
    hasAccount: (publicKey) => s.accounts.has(hexKey(publicKey)),
    accounts: () => s.accountsByIndex.map((account) => accountView(s, account)),
    series: () => seriesViews(s),
    book(seriesId, maxLevels = 50) {
      const series = s.seriesById.get(seriesId);
      if (series === undefined) return undefined;
      return { bids: series.book.depth(BUY, maxLevels), asks: series.book.depth(SELL, maxLevels) };
    },
    ledger: () => ledgerView(s),
    indexPrice: (underlyingId) => liveIndex(s, underlyingId),
    risk: (underlyingId) => riskView(s, underlyingId),
    withdrawals: () => withdrawalsView(s.withdrawals),
    depositCredited: (nonce) => isDepositCredited(s, nonce),
    governance: () => governanceView(s.governance),
    validatorSet: () => (s.validatorSet === undefined ? undefined : validatorSetView(s.validatorSet)),
    auditHead: () => ({ sequence: s.auditHead.sequence, hash: `0x${toHex(s.auditHead.hash)}` }),
    accountTree() {
      if (s.accountTree.commitments.size === 0) return undefined;
      const { record, markTable } = accountTreeCommitment(s);
      return {
        height: s.height,
        root: s.accountTree.tree.root(),
        leaves: record.leaves,
        mmBps: record.mmBps,
        record: AccountTreeRecordCodec.encode(record),
        markTable,
        leavesUpdated: s.accountTree.lastLeavesUpdated,
      };
    },
    accountWitness(publicKey) {
      const bytes = typeof publicKey === 'string' ? fromHex(publicKey) : publicKey;
      const account = bytes === undefined ? undefined : s.accounts.get(hexKey(bytes));
      return account === undefined ? undefined : accountWitness(s, account);
    },
    snapshot: () => snapshotBytes(s),
  };
}

/** The functional form: applies `block` to `engine` and returns the block's results. */
export function applyBlock(engine: Engine, block: Block): BlockResult {
  return engine.applyBlock(block);
}
