/** Block step 6, the state commitment: what the block changed is written and the root returned. */

import { AccountTreeRecordCodec, OwnerCommitmentRecordCodec } from '../../codec/account-tree.ts';
import { CreditedDepositsRecordCodec, WithdrawalsRecordCodec } from '../../codec/bridge.ts';
import {
  AccountRecordCodec,
  GovernanceRecordCodec,
  IndexRecordCodec,
  LedgerRecordCodec,
  OrderRecordCodec,
  SeriesRecordCodec,
  ValidatorSetRecordCodec,
} from '../../codec/execution.ts';
import {
  AccountIndexRecordCodec,
  AuditHeadRecordCodec,
  FundWatchRecordCodec,
  OracleStateRecordCodec,
  RiskStateRecordCodec,
  SampleRecordCodec,
} from '../../codec/snapshot.ts';
import { accountTreeCommitment, fieldToBytes, updateAccountTree } from '../account-tree.ts';
import { appendAudit } from '../audit.ts';
import { governanceRecord } from '../governance.ts';
import {
  ACCOUNT_TREE_STATE_KEY,
  AUDIT_HEAD_STATE_KEY,
  accountIndexStateKey,
  accountRecord,
  accountStateKey,
  CREDITED_DEPOSITS_STATE_KEY,
  FUND_WATCH_STATE_KEY,
  GOVERNANCE_STATE_KEY,
  indexStateKey,
  LEDGER_STATE_KEY,
  oracleStateKey,
  orderRecord,
  orderStateKey,
  ownerCommitmentStateKey,
  riskRecord,
  riskStateKey,
  sampleStateKey,
  seriesRecord,
  seriesStateKey,
  VALIDATOR_SET_STATE_KEY,
  WITHDRAWALS_STATE_KEY,
} from '../records.ts';
import type { EngineState } from '../state.ts';
import { validatorSetRecord } from '../validator-set.ts';
import { withdrawalsRecord } from '../withdrawals.ts';

/**
 * The Poseidon account tree (src/execution/account-tree.ts): registrations, the touched leaves and,
 * once it has a leaf, its root with the mark table's hash at this height.
 */
function commitAccountTree(s: EngineState): void {
  const tree = s.accountTree;
  for (const index of tree.registered) {
    const account = s.accountsByIndex[index]!;
    s.commitment.set(
      ownerCommitmentStateKey(index),
      OwnerCommitmentRecordCodec.encode({
        index,
        publicKey: account.publicKey,
        commitment: fieldToBytes(tree.commitments.get(index)!),
      }),
    );
  }
  tree.registered.length = 0;
  updateAccountTree(s);
  if (tree.commitments.size === 0) return;
  s.commitment.set(ACCOUNT_TREE_STATE_KEY, AccountTreeRecordCodec.encode(accountTreeCommitment(s).record));
}

/**
 * Writes what the block changed. Besides accounts, orders, series, index prices and the ledger,
 * the root covers everything a future block's outcome depends on, so that two validators that
 * agree on the root agree on the future too (and a restored snapshot can be checked against it):
 * each settlement sample (under its underlying and sequence), per underlying the block time its
 * index was last seen valid and which samples are kept, its automatic-response state (EWMA
 * volatility), and each account's creation index.
 */
export function commitState(s: EngineState): Uint8Array {
  for (const account of s.dirtyAccounts)
    s.commitment.set(accountStateKey(account.publicKey), AccountRecordCodec.encode(accountRecord(account)));
  for (const account of s.newAccounts)
    s.commitment.set(
      accountIndexStateKey(account.index),
      AccountIndexRecordCodec.encode({ index: account.index, publicKey: account.publicKey }),
    );
  for (const [orderId, order] of s.dirtyOrders) {
    const key = orderStateKey(orderId);
    const series = order === null ? undefined : s.orderSeries.get(orderId);
    if (order === null || order.level === null || series === undefined) {
      s.commitment.delete(key);
      continue;
    }
    s.commitment.set(key, OrderRecordCodec.encode(orderRecord(s, order, series)));
  }
  for (const series of s.dirtySeries)
    s.commitment.set(seriesStateKey(series.seriesId), SeriesRecordCodec.encode(seriesRecord(series)));
  for (const underlyingId of s.dirtyIndexes) {
    const entry = s.indexPrices.get(underlyingId)!;
    s.commitment.set(
      indexStateKey(underlyingId),
      IndexRecordCodec.encode({
        underlyingId,
        price: Number(entry.price),
        publishTimeMs: entry.publishTimeMs,
      }),
    );
  }
  for (const write of s.sampleWrites) {
    const key = sampleStateKey(write.underlyingId, write.sequence);
    if (write.sample === null) s.commitment.delete(key);
    else
      s.commitment.set(
        key,
        SampleRecordCodec.encode({
          underlyingId: write.underlyingId,
          sequence: write.sequence,
          timeMs: write.sample.timeMs,
          price: Number(write.sample.price),
          valid: write.sample.valid,
        }),
      );
  }
  for (const underlyingId of s.dirtyOracle) {
    const first = s.sampleBase.get(underlyingId) ?? 0;
    s.commitment.set(
      oracleStateKey(underlyingId),
      OracleStateRecordCodec.encode({
        underlyingId,
        indexBlockTimeMs: s.indexPrices.get(underlyingId)?.blockTimeMs ?? 0,
        firstSampleSequence: first,
        nextSampleSequence: first + (s.samples.get(underlyingId)?.length ?? 0),
        guardUntilMs: s.guardUntil.get(underlyingId) ?? 0,
      }),
    );
  }
  for (const underlyingId of s.dirtyRisk)
    s.commitment.set(
      riskStateKey(underlyingId),
      RiskStateRecordCodec.encode(riskRecord(underlyingId, s.risk.get(underlyingId)!)),
    );
  commitAccountTree(s);
  if (s.governance.dirty) {
    s.commitment.set(GOVERNANCE_STATE_KEY, GovernanceRecordCodec.encode(governanceRecord(s.governance)));
    s.governance.dirty = false;
  }
  if (s.validatorSet?.dirty === true) {
    s.commitment.set(
      VALIDATOR_SET_STATE_KEY,
      ValidatorSetRecordCodec.encode(validatorSetRecord(s.validatorSet)),
    );
    s.validatorSet.dirty = false;
  }
  // The audit log takes the block's governance actions, parameter changes and responses.
  appendAudit(s.auditHead, s.chainId, s.events, s.height, s.timeMs);
  s.commitment.set(
    AUDIT_HEAD_STATE_KEY,
    AuditHeadRecordCodec.encode({ sequence: s.auditHead.sequence, hash: s.auditHead.hash }),
  );
  s.commitment.set(FUND_WATCH_STATE_KEY, FundWatchRecordCodec.encode({ ...s.fundWatch }));
  if (s.creditedDeposits.dirty) {
    s.commitment.set(
      CREDITED_DEPOSITS_STATE_KEY,
      CreditedDepositsRecordCodec.encode(creditedDepositsRecord(s)),
    );
    s.creditedDeposits.dirty = false;
  }
  if (s.withdrawals?.dirty === true) {
    s.commitment.set(WITHDRAWALS_STATE_KEY, WithdrawalsRecordCodec.encode(withdrawalsRecord(s.withdrawals)));
    s.withdrawals.dirty = false;
  }
  s.commitment.set(
    LEDGER_STATE_KEY,
    LedgerRecordCodec.encode({
      height: s.height,
      timeMs: s.timeMs,
      totalDeposits: s.totalDeposits,
      totalWithdrawals: s.totalWithdrawals,
      feePool: s.feePool,
      insuranceFund: s.insuranceFund,
      socializedLossTotal: s.socializedLossTotal,
      unrecoveredLoss: s.unrecoveredLoss,
      nextOrderId: s.nextOrderId,
      nextSeriesId: s.nextSeriesId,
    }),
  );
  s.dirtyAccounts.clear();
  s.dirtyOrders.clear();
  s.dirtySeries.clear();
  s.dirtyIndexes.clear();
  s.sampleWrites.length = 0;
  s.dirtyOracle.clear();
  s.dirtyRisk.clear();
  s.newAccounts.length = 0;
  return s.commitment.root();
}

/** The bridge's credited nonces as committed and snapshotted (ascending above the watermark). */
export function creditedDepositsRecord(s: EngineState): { watermark: number; above: number[] } {
  return {
    watermark: s.creditedDeposits.watermark,
    above: [...s.creditedDeposits.above].sort((a, b) => a - b),
  };
}
