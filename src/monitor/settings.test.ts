import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMonitorSettings, WEBHOOK_SECRET_VARIABLE, withWebhookSecret } from './settings.ts';

test('a monitor section: thresholds (bigints as decimal strings), capacity and webhook', () => {
  const settings = parseMonitorSettings({
    capacity: 500,
    thresholds: { trading: { offMarkBps: 1_500 }, ledger: { largeWithdrawalAmount: '5000000000000' } },
    webhook: { url: 'https://hooks.example/palisade', minSeverity: 'High', attemptsMax: 3 },
  });
  assert.deepEqual(settings, {
    capacity: 500,
    config: { trading: { offMarkBps: 1_500 }, ledger: { largeWithdrawalAmount: 5_000_000_000_000n } },
    webhook: { url: 'https://hooks.example/palisade', minSeverity: 'High', attemptsMax: 3 },
  });
  const secret = withWebhookSecret(settings, { [WEBHOOK_SECRET_VARIABLE]: 's3cret' });
  assert.equal(secret.webhook?.secret, 's3cret');
  assert.equal(withWebhookSecret(settings, {}).webhook?.secret, undefined);
});

test('wrong monitor settings name the field', () => {
  const cases: Array<[unknown, string]> = [
    [[], 'monitor'],
    [{ extra: 1 }, 'monitor.extra'],
    [{ capacity: 0 }, 'monitor.capacity'],
    [{ thresholds: { nope: {} } }, 'monitor.thresholds.nope'],
    [{ thresholds: { trading: { typo: 1 } } }, 'monitor.thresholds.trading.typo'],
    [{ thresholds: { trading: { offMarkBps: 0 } } }, 'monitor.thresholds.trading.offMarkBps'],
    [
      { thresholds: { ledger: { largeWithdrawalAmount: 5 } } },
      'monitor.thresholds.ledger.largeWithdrawalAmount',
    ],
    [{ webhook: { url: 'ftp://x' } }, 'monitor.webhook.url'],
    [{ webhook: { url: 'https://x', secret: 'in the file' } }, 'monitor.webhook.secret'],
    [{ webhook: { url: 'https://x', minSeverity: 'Urgent' } }, 'monitor.webhook.minSeverity'],
    [{ webhook: { url: 'https://x', attemptsMax: -1 } }, 'monitor.webhook.attemptsMax'],
  ];
  for (const [value, field] of cases)
    assert.throws(
      () => parseMonitorSettings(value),
      { code: 'INVALID_CONFIG', field },
      JSON.stringify(value),
    );
});
