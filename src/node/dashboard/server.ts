/**
 * The devnet dashboard: one web page (`index.html` + `app.js`, no build step, no CDN) and the
 * aggregated feed behind it. Every `pollMs` the server asks each validator's API for its status,
 * its `/metrics` (for finality latency), and — from the first validator that answers — oracle
 * prices, markets, a few order books and recent fills; it folds the answers into one snapshot and
 * pushes it to every open page over Server-Sent Events. A validator that does not answer within
 * the poll's timeout shows as down; nothing it fails to say stops the others being shown.
 *
 *   GET /                 the page
 *   GET /app.js           its module (and /findings-panel.js, the findings panel: findings.ts;
 *                         /keys-panel.js, the price keyset's epoch and signers: keys.ts;
 *                         /bridge-panel.js, the vault's deposits, limits and pause: bridge.ts;
 *                         /order-flow-panel.js, encrypted beside plain orders: order-flow.ts)
 *   GET /risk             the live risk report of the network (src/risk, `palisade risk --html`)
 *   GET /api/snapshot     the latest snapshot (JSON)
 *   GET /api/events       text/event-stream of snapshots, one per poll
 *
 * Finality latency comes from each validator's `palisade_finality_latency_seconds` histogram:
 * the growth of its sum over the growth of its count between two polls is the mean latency of
 * the blocks finalized in between.
 *
 * Bounds: at most `maxClients` event streams; a page that does not keep up (more than
 * `maxBufferedBytes` unsent) is disconnected, and its EventSource reconnects on its own; history
 * is `historyLength` samples; books and fills shown are capped.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { riskPageOf } from '../commands/risk.ts';
import type { BookJson, FillJson, MarketJson, NodeStatus, PriceJson } from '../view.ts';
import { type DashboardBridge, pollBridge } from './bridge.ts';
import { type DashboardFinding, fetchFindings, pollFindings } from './findings.ts';
import { type DashboardKeys, fetchKeys, pollKeys } from './keys.ts';
import { createOrderFlowTracker, type DashboardOrderFlow } from './order-flow.ts';

export interface DashboardValidator {
  index: number;
  /** e.g. `http://127.0.0.1:8080` */
  apiUrl: string;
}

export interface DashboardServerOptions {
  validators: readonly DashboardValidator[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default 1000. */
  pollMs?: number;
  /** Per-request timeout of a poll; default 800 ms, under the poll interval. */
  requestTimeoutMs?: number;
  maxClients?: number;
  maxBufferedBytes?: number;
  historyLength?: number;
  /** Order books shown (the most open interest first); default 4. */
  books?: number;
  /** The bridge's EVM node and contracts: the vault panel (bridge.ts); absent, no panel. */
  bridge?: { rpc: string; vault: string; token: string; verifier: string };
}

export interface ValidatorSnapshot {
  index: number;
  apiUrl: string;
  up: boolean;
  height: number | null;
  view: number | null;
  finalizedHash: string | null;
  /** Other validators this one is connected to. */
  peersConnected: number | null;
  /** Mean finality latency of the blocks it finalized since the previous poll. */
  finalityLatencyMs: number | null;
  mempoolTransactions: number | null;
  /** Why it is down. */
  error: string | null;
}

export interface HistorySample {
  timeMs: number;
  height: number;
  finalityLatencyMs: number | null;
  validatorsUp: number;
}

export interface DashboardSnapshot {
  timeMs: number;
  chainId: number | null;
  height: number;
  validators: ValidatorSnapshot[];
  history: HistorySample[];
  prices: PriceJson[];
  books: Array<{ market: MarketJson; book: BookJson }>;
  fills: FillJson[];
  /** Every answering validator's latest monitor findings, newest first. */
  findings: DashboardFinding[];
  /** The price keyset: epoch, group key, signers and their epochs; null before the DKG. */
  keys: DashboardKeys | null;
  /** The vault on the EVM node and the latest checkpoint's withdrawals; null without a bridge. */
  bridge: DashboardBridge | null;
  /** Encrypted beside plain order flow (fair ordering); null while no validator answers. */
  orderFlow: DashboardOrderFlow | null;
}

export interface RunningDashboard {
  readonly url: string;
  /** The latest snapshot (after at least one poll once `start` resolved). */
  snapshot(): DashboardSnapshot;
  close(): Promise<void>;
}

const STATIC_DIRECTORY = import.meta.dirname;
const FILLS_SHOWN = 30;

interface LatencyCounters {
  sum: number;
  count: number;
}

/** Reads `<name>_sum` and `<name>_count` from Prometheus text. */
export function histogramTotals(text: string, name: string): LatencyCounters | undefined {
  const sum = new RegExp(`^${name}_sum(?:\\{\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  const count = new RegExp(`^${name}_count(?:\\{\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  if (sum === null || count === null) return undefined;
  return { sum: Number(sum[1]), count: Number(count[1]) };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Starts the dashboard and its first poll.
 * @example const dashboard = await createDashboardServer({ validators: [{ index: 0, apiUrl }] }); console.log(dashboard.url);
 */
export async function createDashboardServer(options: DashboardServerOptions): Promise<RunningDashboard> {
  const pollMs = options.pollMs ?? 1000;
  const requestTimeoutMs = options.requestTimeoutMs ?? Math.min(800, pollMs);
  const maxClients = options.maxClients ?? 64;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const historyLength = options.historyLength ?? 300;
  const booksShown = options.books ?? 4;
  const [page, script, findingsScript, keysScript, bridgeScript, orderFlowScript] = await Promise.all([
    readFile(join(STATIC_DIRECTORY, 'index.html')),
    readFile(join(STATIC_DIRECTORY, 'app.js')),
    readFile(join(STATIC_DIRECTORY, 'findings-panel.js')),
    readFile(join(STATIC_DIRECTORY, 'keys-panel.js')),
    readFile(join(STATIC_DIRECTORY, 'bridge-panel.js')),
    readFile(join(STATIC_DIRECTORY, 'order-flow-panel.js')),
  ]);
  const orderFlow = createOrderFlowTracker();

  const latency = new Map<number, LatencyCounters>();
  const history: HistorySample[] = [];
  let current: DashboardSnapshot = {
    timeMs: Date.now(),
    chainId: null,
    height: 0,
    validators: options.validators.map((validator) => ({
      index: validator.index,
      apiUrl: validator.apiUrl,
      up: false,
      height: null,
      view: null,
      finalizedHash: null,
      peersConnected: null,
      finalityLatencyMs: null,
      mempoolTransactions: null,
      error: 'not polled yet',
    })),
    history,
    prices: [],
    books: [],
    fills: [],
    findings: [],
    keys: null,
    bridge: null,
    orderFlow: null,
  };
  const clients = new Set<ServerResponse>();

  async function get<T>(base: string, path: string, as: 'json' | 'text' = 'json'): Promise<T> {
    const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(requestTimeoutMs) });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return (as === 'json' ? await response.json() : await response.text()) as T;
  }

  async function pollValidator(validator: DashboardValidator): Promise<{
    snapshot: ValidatorSnapshot;
    status?: NodeStatus;
    metrics?: string;
  }> {
    try {
      const [status, metrics] = await Promise.all([
        get<NodeStatus>(validator.apiUrl, '/v1/status'),
        get<string>(validator.apiUrl, '/metrics', 'text'),
      ]);
      const totals = histogramTotals(metrics, 'palisade_finality_latency_seconds');
      const previous = latency.get(validator.index);
      let finalityLatencyMs: number | null = null;
      if (totals !== undefined) {
        if (previous !== undefined && totals.count > previous.count) {
          finalityLatencyMs = ((totals.sum - previous.sum) / (totals.count - previous.count)) * 1000;
        }
        latency.set(validator.index, totals);
      }
      return {
        status,
        metrics,
        snapshot: {
          index: validator.index,
          apiUrl: validator.apiUrl,
          up: true,
          height: status.height,
          view: status.view,
          finalizedHash: status.finalizedHash,
          peersConnected: status.validators.filter((entry) => !entry.self && entry.connected).length,
          finalityLatencyMs,
          mempoolTransactions: status.mempool.transactions,
          error: null,
        },
      };
    } catch (error) {
      return {
        snapshot: {
          index: validator.index,
          apiUrl: validator.apiUrl,
          up: false,
          height: null,
          view: null,
          finalizedHash: null,
          peersConnected: null,
          finalityLatencyMs: null,
          mempoolTransactions: null,
          error: error instanceof Error ? error.message : String(error),
        },
      };
    }
  }

  /** Prices, books and fills from one validator that answers (they agree on finalized state). */
  async function pollMarket(apiUrl: string) {
    const [prices, markets, fills] = await Promise.all([
      get<{ prices: PriceJson[] }>(apiUrl, '/v1/oracle/prices'),
      get<{ markets: MarketJson[] }>(apiUrl, '/v1/markets'),
      get<{ fills: FillJson[] }>(apiUrl, `/v1/fills?limit=${FILLS_SHOWN}`),
    ]);
    const shown = markets.markets
      .filter((market) => market.status === 'active')
      .sort((a, b) => b.openInterestLots - a.openInterestLots || a.seriesId - b.seriesId)
      .slice(0, booksShown);
    const books = await Promise.all(
      shown.map(async (market) => ({
        market,
        book: await get<BookJson>(apiUrl, `/v1/markets/${market.seriesId}/book?depth=8`),
      })),
    );
    return { prices: prices.prices, books, fills: fills.fills };
  }

  async function poll(): Promise<void> {
    const results = await Promise.all(options.validators.map(pollValidator));
    const up = results.filter((result) => result.snapshot.up);
    const height = Math.max(0, ...up.map((result) => result.snapshot.height ?? 0));
    let market = { prices: current.prices, books: current.books, fills: current.fills };
    // Market data from the most advanced validator that answers; a failure keeps the last known.
    const source = [...up].sort((a, b) => (b.snapshot.height ?? 0) - (a.snapshot.height ?? 0))[0];
    if (source !== undefined) {
      try {
        market = await pollMarket(source.snapshot.apiUrl);
      } catch {
        // Keep the previous market data; the validator table already says who is reachable.
      }
    }
    const findings = await pollFindings(
      up.map((result) => result.snapshot),
      (apiUrl) => fetchFindings(apiUrl, requestTimeoutMs),
    );
    const keys =
      (await pollKeys(
        results.map((result) => result.snapshot),
        (apiUrl) => fetchKeys(apiUrl, requestTimeoutMs),
      )) ?? current.keys;
    const bridge =
      options.bridge === undefined
        ? null
        : await pollBridge(
            options.bridge as Parameters<typeof pollBridge>[0],
            source?.snapshot.apiUrl,
            requestTimeoutMs,
          );
    const timeMs = Date.now();
    const flow =
      orderFlow.update(
        up.flatMap((result) =>
          result.metrics === undefined
            ? []
            : [
                {
                  index: result.snapshot.index,
                  height: result.snapshot.height ?? 0,
                  metrics: result.metrics,
                },
              ],
        ),
        timeMs,
      ) ?? current.orderFlow;
    history.push({
      timeMs,
      height,
      finalityLatencyMs: median(
        up.flatMap((result) =>
          result.snapshot.finalityLatencyMs === null ? [] : [result.snapshot.finalityLatencyMs],
        ),
      ),
      validatorsUp: up.length,
    });
    if (history.length > historyLength) history.splice(0, history.length - historyLength);
    current = {
      timeMs,
      chainId: up[0]?.status?.chainId ?? current.chainId,
      height,
      validators: results.map((result) => result.snapshot),
      history,
      ...market,
      findings,
      keys,
      bridge,
      orderFlow: flow,
    };
    broadcast();
  }

  function broadcast(): void {
    if (clients.size === 0) return;
    const frame = `data: ${JSON.stringify(current)}\n\n`;
    for (const client of clients) {
      if (client.writableLength + frame.length > maxBufferedBytes) {
        // The page stopped reading; its EventSource reconnects when it can keep up again.
        clients.delete(client);
        client.destroy();
        continue;
      }
      client.write(frame);
    }
  }

  function serve(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'application/json', allow: 'GET' });
      response.end(JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' } }));
      return;
    }
    const security = {
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'",
    };
    switch (path) {
      case '/':
      case '/index.html':
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...security });
        response.end(page);
        return;
      case '/app.js':
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...security });
        response.end(script);
        return;
      case '/findings-panel.js':
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...security });
        response.end(findingsScript);
        return;
      case '/keys-panel.js':
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...security });
        response.end(keysScript);
        return;
      case '/bridge-panel.js':
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...security });
        response.end(bridgeScript);
        return;
      case '/order-flow-panel.js':
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...security });
        response.end(orderFlowScript);
        return;
      case '/risk':
        // The live risk report (palisade risk --html), from the first validator that answers.
        riskPageOf(options.validators.map((validator) => validator.apiUrl)).then(
          (html) => {
            response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...security });
            response.end(html);
          },
          (error: Error) => {
            response.writeHead(502, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ error: { code: 'UNREACHABLE', message: error.message } }));
          },
        );
        return;
      case '/api/snapshot':
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify(current));
        return;
      case '/api/events':
        if (clients.size >= maxClients) {
          response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
          response.end(JSON.stringify({ error: { code: 'TOO_MANY_SUBSCRIBERS', message: 'retry later' } }));
          return;
        }
        response.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        response.write(`retry: ${pollMs}\ndata: ${JSON.stringify(current)}\n\n`);
        clients.add(response);
        request.on('close', () => clients.delete(response));
        return;
      default:
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route ${path}` } }));
    }
  }

  const server = createServer({ requestTimeout: 10_000 }, serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const host = options.host ?? '127.0.0.1';

  await poll();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Each poll starts after the previous one ends, so a slow validator never piles polls up.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      // poll() catches per validator; this catch only keeps a bug from stopping the dashboard.
      poll()
        .catch(() => undefined)
        .then(schedule);
    }, pollMs);
  };
  schedule();

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    snapshot: () => current,
    async close() {
      stopped = true;
      clearTimeout(timer);
      for (const client of clients) client.destroy();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
