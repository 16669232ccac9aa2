/**
 * Sends findings to an operator's webhook (a chat bridge, PagerDuty's events endpoint behind a
 * relay, a SIEM), in batches, one request at a time, with retries.
 *
 * Request: `POST <url>` with `content-type: application/json` and the body
 * `{"findings":[Finding, …]}`; with a secret, `x-palisade-signature: sha256=<hex HMAC-SHA256 of the
 * body>` so the receiver can tell our requests from forged ones. Receivers deduplicate on each
 * finding's `id` (a retried batch may arrive twice if a response was lost).
 *
 * Retries: a network error, a timeout, 408, 429 and 5xx are retried up to `attemptsMax` attempts
 * with exponential backoff (`backoffBaseMs` doubling up to `backoffMaxMs`, equal jitter: half fixed,
 * half random, so that many validators do not retry in step); a `Retry-After` of a few seconds is
 * honoured within the same ceiling. Any other answer is final. Bounds: at most `queueMax` findings
 * wait (the oldest are dropped and counted beyond it), `batchMax` per request, `timeoutMs` per
 * attempt. The sender never throws into the node: failures are counted and passed to `onError`.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../crypto/bytes.ts';
import { type Finding, MonitorError, type Severity, severityRank } from './finding.ts';

export interface WebhookOptions {
  url: string;
  /** Findings below this severity are not sent (default Medium). */
  minSeverity?: Severity;
  /** Signs each body with HMAC-SHA256 (see the header). */
  secret?: string;
  attemptsMax?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  timeoutMs?: number;
  queueMax?: number;
  batchMax?: number;
  /** Injected for tests; the global `fetch` by default. */
  fetch?: typeof fetch;
  /** In [0, 1): the jitter source (Math.random by default; tests pass a constant). */
  random?: () => number;
  onError?: (error: { attempt: number; status?: number; message: string; final: boolean }) => void;
}

export interface WebhookStats {
  /** Findings delivered (2xx). */
  delivered: number;
  /** Findings given up on: a final refusal or every attempt failed. */
  failed: number;
  /** Findings dropped because the queue was full. */
  dropped: number;
  /** Attempts beyond each batch's first. */
  retries: number;
  queued: number;
}

export interface WebhookSender {
  /** Queues the findings at or above `minSeverity`; returns at once. */
  enqueue(findings: readonly Finding[]): void;
  /** Resolves when everything queued so far has been delivered or given up on. */
  idle(): Promise<void>;
  stats(): WebhookStats;
  /** Stops sending; whatever is queued is abandoned. */
  close(): void;
}

export const DEFAULT_WEBHOOK_OPTIONS = Object.freeze({
  minSeverity: 'Medium' as Severity,
  attemptsMax: 6,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  timeoutMs: 5_000,
  queueMax: 1_000,
  batchMax: 50,
});

const textEncoder = new TextEncoder();

function positive(value: number, field: string, maximum: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > maximum)
    throw new MonitorError('INVALID_CONFIG', `webhook.${field}`, `must be an integer from 1 to ${maximum}`);
  return value;
}

/**
 * @example const webhook = createWebhookSender({ url: 'https://hooks.example/palisade', secret }); monitor.subscribe((f) => webhook.enqueue(f));
 * @throws MonitorError (INVALID_CONFIG) for a URL that is not http(s) or a bound out of range
 */
export function createWebhookSender(options: WebhookOptions): WebhookSender {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new MonitorError('INVALID_CONFIG', 'webhook.url', 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new MonitorError('INVALID_CONFIG', 'webhook.url', 'must be http or https');
  const settings = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
  const attemptsMax = positive(settings.attemptsMax, 'attemptsMax', 100);
  const backoffBaseMs = positive(settings.backoffBaseMs, 'backoffBaseMs', 3_600_000);
  const backoffMaxMs = positive(settings.backoffMaxMs, 'backoffMaxMs', 3_600_000);
  const timeoutMs = positive(settings.timeoutMs, 'timeoutMs', 600_000);
  const queueMax = positive(settings.queueMax, 'queueMax', 1_000_000);
  const batchMax = positive(settings.batchMax, 'batchMax', 10_000);
  const minRank = severityRank(settings.minSeverity);
  if (minRank < 0) throw new MonitorError('INVALID_CONFIG', 'webhook.minSeverity', 'is not a severity');
  const doFetch = options.fetch ?? fetch;
  const random = options.random ?? Math.random;
  const key = options.secret === undefined ? undefined : textEncoder.encode(options.secret);

  let queue: Finding[] = [];
  const stats: WebhookStats = { delivered: 0, failed: 0, dropped: 0, retries: 0, queued: 0 };
  let running: Promise<void> | undefined;
  let closed = false;
  const abort = new AbortController();

  function wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  function backoffMs(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
    const jittered = Math.floor(exponential / 2 + (exponential / 2) * random());
    return Math.min(backoffMaxMs, Math.max(jittered, retryAfterMs ?? 0));
  }

  /** One batch, every attempt; true when delivered. */
  async function deliver(batch: Finding[]): Promise<boolean> {
    const body = JSON.stringify({ findings: batch });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined)
      headers['x-palisade-signature'] = `sha256=${toHex(hmac(sha256, key, textEncoder.encode(body)))}`;
    for (let attempt = 1; attempt <= attemptsMax && !closed; attempt++) {
      if (attempt > 1) stats.retries += 1;
      let status: number | undefined;
      let retryAfterMs: number | undefined;
      let message: string;
      try {
        const response = await doFetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
        });
        status = response.status;
        // The body is not read beyond what is needed to free the connection.
        await response.body?.cancel().catch(() => {});
        if (status >= 200 && status < 300) return true;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
        message = `the webhook answered ${status}`;
      } catch (error) {
        message = error instanceof Error ? error.message : 'request failed';
      }
      const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
      const final = !retryable || attempt === attemptsMax;
      options.onError?.({ attempt, ...(status === undefined ? {} : { status }), message, final });
      if (final) return false;
      await wait(backoffMs(attempt, retryAfterMs));
    }
    return false;
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 && !closed) {
      const batch = queue.slice(0, batchMax);
      queue = queue.slice(batch.length);
      stats.queued = queue.length;
      if (await deliver(batch)) stats.delivered += batch.length;
      else stats.failed += batch.length;
    }
    running = undefined;
  }

  return {
    enqueue(findings) {
      if (closed) return;
      for (const finding of findings) {
        if (severityRank(finding.severity) < minRank) continue;
        queue.push(finding);
      }
      if (queue.length > queueMax) {
        stats.dropped += queue.length - queueMax;
        queue = queue.slice(queue.length - queueMax);
      }
      stats.queued = queue.length;
      if (running === undefined && queue.length > 0) running = drain();
    },
    async idle() {
      while (running !== undefined) await running;
    },
    stats: () => ({ ...stats }),
    close() {
      closed = true;
      abort.abort();
      queue = [];
      stats.queued = 0;
    },
  };
}
