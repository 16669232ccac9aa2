/**
 * Prometheus metrics of one API server, in a registry of its own (never prom-client's global
 * default), so two nodes in one process, or two tests, never share or clash over a series.
 *
 * Gauges and counters the node already keeps are read at scrape time from `NodeView.metrics()`;
 * the finality latency histogram is observed from the node's block events as they arrive.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeView } from '../view.ts';

/** Finality is tens of milliseconds on loopback and seconds across continents. */
const FINALITY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ApiMetrics {
  readonly registry: Registry;
  observeFinality(latencyMs: number): void;
}

export function createApiMetrics(
  view: NodeView,
  stream: { readonly subscribers: number; readonly slowConsumersDropped: number },
): ApiMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'palisade_finalized_height',
    help: 'Height of the last finalized block this node has applied',
    registers: [registry],
    async collect() {
      this.set((await view.status()).height);
    },
  });
  const finality = new Histogram({
    name: 'palisade_finality_latency_seconds',
    help: 'From first seeing a block proposal to finalizing it, on this node',
    buckets: FINALITY_BUCKETS_SECONDS,
    registers: [registry],
  });
  new Gauge({
    name: 'palisade_peers_connected',
    help: 'Validators with an open authenticated connection to this node',
    registers: [registry],
    collect() {
      this.set(view.metrics().peersConnected);
    },
  });
  new Gauge({
    name: 'palisade_mempool_transactions',
    help: 'Transactions held in the mempool',
    registers: [registry],
    collect() {
      this.set(view.metrics().mempoolTransactions);
    },
  });
  new Gauge({
    name: 'palisade_mempool_bytes',
    help: 'Encoded bytes held in the mempool',
    registers: [registry],
    collect() {
      this.set(view.metrics().mempoolBytes);
    },
  });
  // The node keeps these counts itself; they are copied in at scrape time. A counter cannot be
  // set, so each scrape resets it and adds the node's running total: the exposed value is still
  // monotonic because the node's totals are.
  new Counter({
    name: 'palisade_messages_dropped_total',
    help: 'Peer messages dropped, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, total] of Object.entries(view.metrics().messagesDropped))
        this.inc({ reason }, total);
    },
  });
  new Counter({
    name: 'palisade_transactions_refused_total',
    help: 'Submitted transactions refused by the mempool, by code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, total] of Object.entries(view.metrics().transactionsRefused))
        this.inc({ code }, total);
    },
  });
  // Fair ordering: encrypted beside plain flow (executed transactions, envelopes into blocks).
  new Counter({
    name: 'palisade_transactions_executed_total',
    help: 'Transactions executed in finalized blocks since start, by how they arrived (encrypted, plain)',
    labelNames: ['arrival'],
    registers: [registry],
    collect() {
      this.reset();
      const flow = view.metrics().orderFlow;
      this.inc({ arrival: 'encrypted' }, flow?.encrypted ?? 0);
      this.inc({ arrival: 'plain' }, flow?.plain ?? 0);
    },
  });
  new Counter({
    name: 'palisade_envelopes_admitted_total',
    help: 'Encrypted-order envelopes admitted into finalized blocks since start (fee paid, nonce used)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(view.metrics().orderFlow?.envelopesAdmitted ?? 0);
    },
  });
  new Counter({
    name: 'palisade_envelopes_opened_total',
    help: 'Admitted envelopes opened under their block key since start, by outcome (decrypted: the order ran; undecryptable: charged and dropped)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const flow = view.metrics().orderFlow;
      this.inc({ outcome: 'decrypted' }, flow?.envelopesDecrypted ?? 0);
      this.inc({ outcome: 'undecryptable' }, flow?.envelopesUndecryptable ?? 0);
    },
  });
  new Gauge({
    name: 'palisade_envelopes_pooled',
    help: 'Encrypted-order envelopes waiting in the envelope pool',
    registers: [registry],
    collect() {
      this.set(view.metrics().orderFlow?.envelopesPooled ?? 0);
    },
  });
  new Gauge({
    name: 'palisade_api_stream_subscribers',
    help: 'Open WebSocket stream subscribers',
    registers: [registry],
    collect() {
      this.set(stream.subscribers);
    },
  });
  new Counter({
    name: 'palisade_api_stream_slow_consumers_dropped_total',
    help: 'Stream subscribers disconnected for falling behind',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stream.slowConsumersDropped);
    },
  });
  return {
    registry,
    observeFinality(latencyMs) {
      finality.observe(latencyMs / 1000);
    },
  };
}
