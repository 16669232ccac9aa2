/**
 * What the state root commits: the state keys (SHA-256 of a namespace and an id) and the records
 * of accounts, orders and series as the codecs (src/codec/execution.ts) encode them.
 */
import { sha256 } from '../crypto/hash.ts';
import type { RestingOrder } from './book.ts';
import type { Account, EngineState, Series, UnderlyingRisk } from './state.ts';

export const textEncoder = new TextEncoder();
const ACCOUNT_NAMESPACE = textEncoder.encode('palisade/state/account');
const ORDER_NAMESPACE = textEncoder.encode('palisade/state/order');
const SERIES_NAMESPACE = textEncoder.encode('palisade/state/series');
const INDEX_NAMESPACE = textEncoder.encode('palisade/state/index');
const SAMPLE_NAMESPACE = textEncoder.encode('palisade/state/sample');
const ORACLE_NAMESPACE = textEncoder.encode('palisade/state/oracle');
/** The key of the audit log's head (src/execution/audit.ts). */
export const AUDIT_HEAD_STATE_KEY = sha256(textEncoder.encode('palisade/state/audit-head'));
/** The key of governance's record (src/execution/governance.ts): sets, accepted ids, queue, halts. */
export const GOVERNANCE_STATE_KEY = sha256(textEncoder.encode('palisade/state/governance'));
/** The key of the consensus validator set's record (src/execution/validator-set.ts). */
export const VALIDATOR_SET_STATE_KEY = sha256(textEncoder.encode('palisade/state/validator-set'));
/** The key of the vault nonces the bridge credited (actions/deposit.ts). */
export const CREDITED_DEPOSITS_STATE_KEY = sha256(textEncoder.encode('palisade/state/credited-deposits'));
/** The key of the checkpoint period's withdrawals record (src/execution/withdrawals.ts). */
export const WITHDRAWALS_STATE_KEY = sha256(textEncoder.encode('palisade/state/withdrawals'));
/** The key of the withdrawal slowdown's fund watch. */
export const FUND_WATCH_STATE_KEY = sha256(textEncoder.encode('palisade/state/fund-watch'));
const RISK_NAMESPACE = textEncoder.encode('palisade/state/risk');
const ACCOUNT_INDEX_NAMESPACE = textEncoder.encode('palisade/state/account-index');
/** The key of the Poseidon account tree's record (src/execution/account-tree.ts). */
export const ACCOUNT_TREE_STATE_KEY = sha256(textEncoder.encode('palisade/state/account-tree'));
const OWNER_COMMITMENT_NAMESPACE = textEncoder.encode('palisade/state/owner-commitment');
/** The key of an account's registered ownership commitment, by account index. */
export function ownerCommitmentStateKey(index: number): Uint8Array {
  return sha256(OWNER_COMMITMENT_NAMESPACE, u64Bytes(index));
}
/** The key of the ledger totals (deposits, withdrawals, fee pool, insurance fund, losses). */
export const LEDGER_STATE_KEY = sha256(textEncoder.encode('palisade/state/ledger'));

function u64Bytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
  return out;
}

/** State key of an account's record: SHA-256(namespace ‖ public key). */
export function accountStateKey(publicKey: Uint8Array): Uint8Array {
  return sha256(ACCOUNT_NAMESPACE, publicKey);
}
export function orderStateKey(orderId: number): Uint8Array {
  return sha256(ORDER_NAMESPACE, u64Bytes(orderId));
}
export function seriesStateKey(seriesId: number): Uint8Array {
  return sha256(SERIES_NAMESPACE, u64Bytes(seriesId));
}
export function indexStateKey(underlyingId: number): Uint8Array {
  return sha256(INDEX_NAMESPACE, u64Bytes(underlyingId));
}
/** A settlement sample: SHA-256(namespace ‖ underlying ‖ sequence), sequences counting every sample taken. */
export function sampleStateKey(underlyingId: number, sequence: number): Uint8Array {
  return sha256(SAMPLE_NAMESPACE, u64Bytes(underlyingId), u64Bytes(sequence));
}
export function oracleStateKey(underlyingId: number): Uint8Array {
  return sha256(ORACLE_NAMESPACE, u64Bytes(underlyingId));
}
/** An underlying's automatic-response state (EWMA volatility, issue 15). */
export function riskStateKey(underlyingId: number): Uint8Array {
  return sha256(RISK_NAMESPACE, u64Bytes(underlyingId));
}
export function riskRecord(underlyingId: number, risk: UnderlyingRisk) {
  return {
    underlyingId,
    variance: risk.variance,
    samplePrice: Number(risk.samplePrice),
    samplePriceTimeMs: risk.samplePriceTimeMs,
    haltedUntilMs: risk.haltedUntilMs,
    bandFromMs: risk.bandFromMs,
    autoVolBps: risk.autoVolBps,
    scaleBps: risk.scaleBps,
    autoUpdatedMs: risk.autoUpdatedMs,
    periodStartMs: risk.periodStartMs,
    periodStartVolBps: risk.periodStartVolBps,
    periodStartScaleBps: risk.periodStartScaleBps,
    graceUntilMs: risk.graceUntilMs,
  };
}
export function accountIndexStateKey(index: number): Uint8Array {
  return sha256(ACCOUNT_INDEX_NAMESPACE, u64Bytes(index));
}

export function accountRecord(account: Account) {
  return {
    publicKey: account.publicKey,
    nonce: account.nonce,
    balance: {
      negative: account.balance < 0n,
      magnitude: account.balance < 0n ? -account.balance : account.balance,
    },
    marginMode: account.marginMode,
    positions: [...account.positions]
      .sort((a, b) => a[0] - b[0])
      .map(([seriesId, lots]) => {
        const cost = account.entryCosts.get(seriesId) ?? 0n;
        return {
          seriesId,
          short: lots < 0,
          lots: Math.abs(lots),
          entryCost: { negative: cost < 0n, magnitude: cost < 0n ? -cost : cost },
        };
      }),
    clientOrderIds: account.clientOrderIds.map((entry) => ({ ...entry })),
  };
}

export function orderRecord(s: EngineState, order: RestingOrder, series: Series) {
  return {
    orderId: order.orderId,
    owner: s.accountsByIndex[order.owner]!.publicKey,
    seriesId: series.seriesId,
    side: order.side,
    priceTicks: order.priceTicks,
    remainingLots: order.remainingLots,
    clientOrderId: order.clientOrderId,
    reduceOnly: order.reduceOnly,
    sequence: order.sequence,
  };
}

export function seriesRecord(series: Series) {
  return {
    seriesId: series.seriesId,
    underlyingId: series.underlying.underlyingId,
    isCall: series.isCall,
    strike: Number(series.strike),
    expiryMs: series.expiryMs,
    tickSize: series.tickSize,
    lotSizeE6: series.lotSizeE6,
    multiplierE6: series.multiplierE6,
    markVolBps: series.markVolBps,
    markVolSetMs: series.markVolSetMs,
    status: series.status,
    settlementPrice: Number(series.settlementPrice),
    openInterestLots: series.openInterestLots,
  };
}
