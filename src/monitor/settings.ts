/**
 * The `monitor` section of a validator's config file, parsed strictly:
 *
 *   "monitor": {
 *     "capacity": 2000,                                  findings kept for /v1/findings
 *     "thresholds": { "trading": { "offMarkBps": 2000 },  any setting of config.ts, by section;
 *                     "ledger": { "largeWithdrawalAmount": "5000000000000" } }   bigints as decimal strings
 *     "webhook": { "url": "https://…", "minSeverity": "High", "attemptsMax": 6, … }
 *   }
 *
 * The webhook's HMAC secret never sits in the file: it comes from the environment variable named
 * by `WEBHOOK_SECRET_VARIABLE` (see `withWebhookSecret`).
 */
import { DEFAULT_MONITOR_CONFIG, type MonitorConfigOverrides, resolveMonitorConfig } from './config.ts';
import { MonitorError, SEVERITIES, type Severity } from './finding.ts';
import { createWebhookSender, type WebhookOptions } from './webhook.ts';

export const WEBHOOK_SECRET_VARIABLE = 'PALISADE_WEBHOOK_SECRET';

export interface MonitorSettings {
  config?: MonitorConfigOverrides;
  capacity?: number;
  webhook?: Omit<WebhookOptions, 'onError' | 'fetch' | 'random'>;
}

const WEBHOOK_NUMBERS = [
  'attemptsMax',
  'backoffBaseMs',
  'backoffMaxMs',
  'timeoutMs',
  'queueMax',
  'batchMax',
] as const;

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MonitorError('INVALID_CONFIG', field, 'must be an object');
  return value as Record<string, unknown>;
}

/**
 * @example parseMonitorSettings({ webhook: { url: 'https://hooks.example/p' } })
 * @throws MonitorError (INVALID_CONFIG) naming the first wrong field (`monitor.…`)
 */
export function parseMonitorSettings(value: unknown): MonitorSettings {
  const record = objectAt(value, 'monitor');
  const settings: MonitorSettings = {};
  for (const key of Object.keys(record))
    if (!['capacity', 'thresholds', 'webhook'].includes(key))
      throw new MonitorError('INVALID_CONFIG', `monitor.${key}`, 'unknown field');
  if (record.capacity !== undefined) {
    if (
      !Number.isSafeInteger(record.capacity) ||
      (record.capacity as number) < 1 ||
      (record.capacity as number) > 1_000_000
    )
      throw new MonitorError('INVALID_CONFIG', 'monitor.capacity', 'must be 1 to 1,000,000');
    settings.capacity = record.capacity as number;
  }
  if (record.thresholds !== undefined) {
    const thresholds = objectAt(record.thresholds, 'monitor.thresholds');
    const overrides: Record<string, Record<string, unknown>> = {};
    for (const [section, entries] of Object.entries(thresholds)) {
      const defaults = (DEFAULT_MONITOR_CONFIG as unknown as Record<string, Record<string, unknown>>)[
        section
      ];
      if (defaults === undefined)
        throw new MonitorError('INVALID_CONFIG', `monitor.thresholds.${section}`, 'unknown section');
      overrides[section] = {};
      for (const [name, setting] of Object.entries(objectAt(entries, `monitor.thresholds.${section}`))) {
        const field = `monitor.thresholds.${section}.${name}`;
        if (!(name in defaults)) throw new MonitorError('INVALID_CONFIG', field, 'unknown setting');
        if (typeof defaults[name] === 'bigint') {
          if (typeof setting !== 'string' || !/^[1-9][0-9]{0,30}$/.test(setting))
            throw new MonitorError('INVALID_CONFIG', field, 'must be a positive integer as a decimal string');
          overrides[section][name] = BigInt(setting);
        } else {
          overrides[section][name] = setting;
        }
      }
    }
    try {
      resolveMonitorConfig(overrides as MonitorConfigOverrides);
    } catch (error) {
      if (error instanceof MonitorError)
        throw new MonitorError('INVALID_CONFIG', `monitor.thresholds.${error.field}`, error.detail);
      throw error;
    }
    settings.config = overrides as MonitorConfigOverrides;
  }
  if (record.webhook !== undefined) {
    const webhook = objectAt(record.webhook, 'monitor.webhook');
    for (const key of Object.keys(webhook))
      if (key !== 'url' && key !== 'minSeverity' && !(WEBHOOK_NUMBERS as readonly string[]).includes(key))
        throw new MonitorError(
          'INVALID_CONFIG',
          `monitor.webhook.${key}`,
          'unknown field (the secret comes from the environment)',
        );
    if (typeof webhook.url !== 'string')
      throw new MonitorError('INVALID_CONFIG', 'monitor.webhook.url', 'must be a URL');
    if (webhook.minSeverity !== undefined && !SEVERITIES.includes(webhook.minSeverity as Severity))
      throw new MonitorError(
        'INVALID_CONFIG',
        'monitor.webhook.minSeverity',
        `must be one of ${SEVERITIES.join(', ')}`,
      );
    const options: Record<string, unknown> = { url: webhook.url };
    if (webhook.minSeverity !== undefined) options.minSeverity = webhook.minSeverity;
    for (const key of WEBHOOK_NUMBERS) if (webhook[key] !== undefined) options[key] = webhook[key];
    // The sender checks the URL and the bounds; building one here reports them at start-up.
    try {
      createWebhookSender(options as unknown as WebhookOptions).close();
    } catch (error) {
      if (error instanceof MonitorError)
        throw new MonitorError('INVALID_CONFIG', `monitor.${error.field}`, error.detail);
      throw error;
    }
    settings.webhook = options as unknown as MonitorSettings['webhook'] & object;
  }
  return settings;
}

/** The settings with the webhook secret from `environment[WEBHOOK_SECRET_VARIABLE]`, when set. */
export function withWebhookSecret(
  settings: MonitorSettings,
  environment: Readonly<Record<string, string | undefined>>,
): MonitorSettings {
  const secret = environment[WEBHOOK_SECRET_VARIABLE];
  if (settings.webhook === undefined || secret === undefined || secret === '') return settings;
  return { ...settings, webhook: { ...settings.webhook, secret } };
}
