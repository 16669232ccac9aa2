/**
 * The fair-ordering panel's arithmetic: counts from the most advanced validator, refusals summed
 * over all, rates only between two polls of one validator whose counters did not go back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOrderFlowTracker, metricValue } from './order-flow.ts';

function metrics(counts: {
  encrypted: number;
  plain: number;
  admitted: number;
  decrypted: number;
  undecryptable: number;
  pooled?: number;
  refused?: number;
}): string {
  return [
    '# HELP palisade_transactions_executed_total Transactions executed',
    '# TYPE palisade_transactions_executed_total counter',
    `palisade_transactions_executed_total{arrival="encrypted"} ${counts.encrypted}`,
    `palisade_transactions_executed_total{arrival="plain"} ${counts.plain}`,
    `palisade_envelopes_admitted_total ${counts.admitted}`,
    `palisade_envelopes_opened_total{outcome="decrypted"} ${counts.decrypted}`,
    `palisade_envelopes_opened_total{outcome="undecryptable"} ${counts.undecryptable}`,
    `palisade_envelopes_pooled ${counts.pooled ?? 0}`,
    `palisade_transactions_refused_total{code="NONCE_GAP"} 7`,
    ...(counts.refused === undefined
      ? []
      : [`palisade_transactions_refused_total{code="ENCRYPTION_REQUIRED"} ${counts.refused}`]),
    '',
  ].join('\n');
}

test('metricValue reads one labelled sample, and 0 for one that is absent', () => {
  const text = metrics({ encrypted: 3, plain: 9, admitted: 4, decrypted: 3, undecryptable: 1 });
  assert.equal(metricValue(text, 'palisade_transactions_executed_total', { arrival: 'plain' }), 9);
  assert.equal(metricValue(text, 'palisade_envelopes_admitted_total'), 4);
  assert.equal(metricValue(text, 'palisade_transactions_refused_total', { code: 'ENCRYPTION_REQUIRED' }), 0);
  assert.equal(metricValue('garbage{', 'palisade_envelopes_admitted_total'), 0);
});

test('counts from the most advanced validator, refusals summed, rates between two polls', () => {
  const tracker = createOrderFlowTracker();
  const first = tracker.update(
    [
      {
        index: 0,
        height: 10,
        metrics: metrics({ encrypted: 2, plain: 8, admitted: 3, decrypted: 2, undecryptable: 1, refused: 1 }),
      },
      {
        index: 1,
        height: 9,
        metrics: metrics({ encrypted: 1, plain: 7, admitted: 2, decrypted: 1, undecryptable: 1, refused: 2 }),
      },
    ],
    1000,
  )!;
  assert.equal(first.source, 0);
  assert.equal(first.encryptedExecuted, 2);
  assert.equal(first.envelopesUndecryptable, 1);
  assert.equal(first.encryptionRequiredRefusals, 3);
  assert.equal(first.rates, null);
  assert.equal(first.encryptedShare, 0.2);
  const second = tracker.update(
    [
      {
        index: 0,
        height: 12,
        metrics: metrics({ encrypted: 6, plain: 12, admitted: 7, decrypted: 6, undecryptable: 1, pooled: 2 }),
      },
    ],
    3000,
  )!;
  assert.deepEqual(second.rates, { encryptedPerSecond: 2, plainPerSecond: 2, envelopesPerSecond: 2 });
  assert.equal(second.envelopesPooled, 2);
  // Validator 0 restarted: its counters start again from zero, which is no negative rate.
  const restarted = tracker.update(
    [
      {
        index: 0,
        height: 13,
        metrics: metrics({ encrypted: 0, plain: 1, admitted: 0, decrypted: 0, undecryptable: 0 }),
      },
    ],
    4000,
  )!;
  assert.equal(restarted.rates, null);
  assert.equal(tracker.update([], 5000), null);
});
