/**
 * The dashboard's fair-ordering panel, server side: encrypted beside plain order flow, read from
 * the `/metrics` text the dashboard already fetches from every validator each poll.
 *
 *   palisade_transactions_executed_total{arrival="encrypted"|"plain"}   orders that ran
 *   palisade_envelopes_admitted_total                                   envelopes into final blocks
 *   palisade_envelopes_opened_total{outcome="decrypted"|"undecryptable"} what the key opened
 *   palisade_envelopes_pooled                                           envelopes waiting
 *   palisade_transactions_refused_total{code="ENCRYPTION_REQUIRED"}     plain orders refused on
 *                                                                       an encrypted-only market
 *
 * The executed, admitted and opened counts are the same on every validator that executed the
 * same blocks (since its start), so they come from the most advanced validator that answered;
 * refusals happen at the validator an order was sent to, so they are summed over all. Rates are
 * the growth of the source's counters over the time between two polls of the same validator (a
 * restart, which resets its counters, gives no rate for that poll). The page renders it with
 * `order-flow-panel.js`.
 */

export interface OrderFlowCounts {
  encryptedExecuted: number;
  plainExecuted: number;
  envelopesAdmitted: number;
  envelopesDecrypted: number;
  envelopesUndecryptable: number;
}

export interface DashboardOrderFlow extends OrderFlowCounts {
  /** The validator the counts come from. */
  source: number;
  envelopesPooled: number;
  /** Plain orders refused because their market takes encrypted orders only, all validators. */
  encryptionRequiredRefusals: number;
  /** Per second since the previous poll of the source; null on its first poll or after a restart. */
  rates: { encryptedPerSecond: number; plainPerSecond: number; envelopesPerSecond: number } | null;
  /** Encrypted orders over all orders that ran, 0..1 (null before any ran). */
  encryptedShare: number | null;
}

/** One sample (no labels: `name value`; with: `name{label="value"} value`) from Prometheus text. */
export function metricValue(text: string, name: string, labels?: Readonly<Record<string, string>>): number {
  const selector =
    labels === undefined
      ? `${name}(?:\\{\\})?`
      : `${name}\\{${Object.entries(labels)
          .map(([key, value]) => `${key}="${value}"`)
          .join(',')}\\}`;
  const match = new RegExp(`^${selector} ([0-9.eE+-]+)$`, 'm').exec(text);
  const value = match === null ? 0 : Number(match[1]);
  return Number.isFinite(value) ? value : 0;
}

/** The counts one validator's metrics give. */
export function orderFlowCountsOf(text: string): OrderFlowCounts & { pooled: number; refusals: number } {
  return {
    encryptedExecuted: metricValue(text, 'palisade_transactions_executed_total', { arrival: 'encrypted' }),
    plainExecuted: metricValue(text, 'palisade_transactions_executed_total', { arrival: 'plain' }),
    envelopesAdmitted: metricValue(text, 'palisade_envelopes_admitted_total'),
    envelopesDecrypted: metricValue(text, 'palisade_envelopes_opened_total', { outcome: 'decrypted' }),
    envelopesUndecryptable: metricValue(text, 'palisade_envelopes_opened_total', {
      outcome: 'undecryptable',
    }),
    pooled: metricValue(text, 'palisade_envelopes_pooled'),
    refusals: metricValue(text, 'palisade_transactions_refused_total', { code: 'ENCRYPTION_REQUIRED' }),
  };
}

/** Folds each poll's metrics into the panel, remembering the previous counts per validator. */
export function createOrderFlowTracker(): {
  update(
    samples: ReadonlyArray<{ index: number; height: number; metrics: string }>,
    nowMs: number,
  ): DashboardOrderFlow | null;
} {
  const previous = new Map<number, { counts: OrderFlowCounts; atMs: number }>();
  return {
    update(samples, nowMs) {
      if (samples.length === 0) return null;
      const counted = samples.map((sample) => ({ ...sample, counts: orderFlowCountsOf(sample.metrics) }));
      const source = [...counted].sort((a, b) => b.height - a.height || a.index - b.index)[0]!;
      const before = previous.get(source.index);
      for (const sample of counted) previous.set(sample.index, { counts: sample.counts, atMs: nowMs });
      const { counts } = source;
      let rates: DashboardOrderFlow['rates'] = null;
      const seconds = before === undefined ? 0 : (nowMs - before.atMs) / 1000;
      if (
        before !== undefined &&
        seconds > 0 &&
        counts.encryptedExecuted >= before.counts.encryptedExecuted &&
        counts.plainExecuted >= before.counts.plainExecuted &&
        counts.envelopesAdmitted >= before.counts.envelopesAdmitted
      )
        rates = {
          encryptedPerSecond: (counts.encryptedExecuted - before.counts.encryptedExecuted) / seconds,
          plainPerSecond: (counts.plainExecuted - before.counts.plainExecuted) / seconds,
          envelopesPerSecond: (counts.envelopesAdmitted - before.counts.envelopesAdmitted) / seconds,
        };
      const ran = counts.encryptedExecuted + counts.plainExecuted;
      return {
        source: source.index,
        encryptedExecuted: counts.encryptedExecuted,
        plainExecuted: counts.plainExecuted,
        envelopesAdmitted: counts.envelopesAdmitted,
        envelopesDecrypted: counts.envelopesDecrypted,
        envelopesUndecryptable: counts.envelopesUndecryptable,
        envelopesPooled: source.counts.pooled,
        encryptionRequiredRefusals: counted.reduce((sum, sample) => sum + sample.counts.refusals, 0),
        rates,
        encryptedShare: ran === 0 ? null : counts.encryptedExecuted / ran,
      };
    },
  };
}
