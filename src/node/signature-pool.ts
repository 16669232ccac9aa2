/**
 * Transaction signatures verified on worker threads, in parallel with consensus and execution on
 * the event loop. The pool answers one verdict per canonical encoding — exactly what
 * `verifyTransactionSignature(SignedTransactionCodec.decode(bytes))` says, false for bytes that do
 * not decode — so what the node admits is unchanged; only where the Ed25519 work runs moves. A
 * verified encoding is then recorded (verified-transactions.ts) and the mempool's and engine's
 * checks are answered from the record.
 *
 * Batches are split across the threads (round-robin by chunk), so a batch submission or a gossip
 * frame of hundreds of transactions uses every thread at once. A chunk travels as one buffer of the
 * encodings end to end and their end offsets, both transferred, and comes back as one byte per
 * verdict: structured-cloning an array of hundreds of small views (each dragging its backing frame
 * along) cost the event loop more than the verification it handed off. A pool with zero threads verifies
 * inline (the simulator and tests need no threads). A thread that dies fails its outstanding
 * batches with an error, never with a verdict.
 *
 * A turn that brings only a few encodings (at most `inlineMax`, default INLINE_MAX) is verified
 * inline on the event loop: a round trip to a thread costs the event loop about as much as one
 * verification (the message out, the answer in) and the transaction two thread wake-ups, which on
 * a machine whose cores are busy are milliseconds each (docs/performance.md, eleventh session). Under
 * load a turn brings more and goes to the threads, so parallelism is kept where it pays.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { invariant } from '../codec/invariant.ts';
import { verifyEncodedTransaction } from '../crypto/transaction.ts';
import { packBatch } from './signature-worker.ts';

export interface SignaturePool {
  readonly threads: number;
  /** One verdict per encoding, in order. */
  verify(encodings: readonly Uint8Array[]): Promise<boolean[]>;
  /** Stops the threads; later calls verify inline. */
  close(): Promise<void>;
  /** Encodings verified so far on the event loop and on the threads. */
  stats(): { inline: number; threaded: number };
}

/** Below this many, a batch is not split further (a message costs more than a few verifications). */
const MIN_CHUNK = 8;
/** Encodings collected from one event-loop turn before they are sent without waiting for its end. */
const MAX_QUEUED = 4096;
/** Most encodings of one turn verified on the event loop rather than sent (≈ 0.1 ms each). */
export const INLINE_MAX = 8;

/** Default thread count: the machine's cores less the event loop's, at least one, at most four. */
export function defaultSignatureThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * @example const pool = createSignaturePool({ threads: 2 }); const [ok] = await pool.verify([bytes]);
 * @throws InvariantError when `threads` is not a non-negative integer
 */
export function createSignaturePool(options: { threads: number; inlineMax?: number }): SignaturePool {
  invariant(Number.isSafeInteger(options.threads) && options.threads >= 0, 'threads must be >= 0');
  const inlineMax = options.inlineMax ?? INLINE_MAX;
  invariant(Number.isSafeInteger(inlineMax) && inlineMax >= 0, 'inlineMax must be >= 0');
  const counts = { inline: 0, threaded: 0 };
  interface Outstanding {
    resolve: (verdicts: boolean[]) => void;
    reject: (error: Error) => void;
  }
  const workers: { worker: Worker; outstanding: Map<number, Outstanding> }[] = [];
  let nextId = 1;
  let nextWorker = 0;
  let closed = false;
  for (let i = 0; i < options.threads; i++) {
    const worker = new Worker(new URL('./signature-worker.ts', import.meta.url), {
      workerData: { signatureThread: true },
      execArgv: [],
    });
    worker.unref();
    const entry = { worker, outstanding: new Map<number, Outstanding>() };
    worker.on('message', (answer: { id: number; verdicts: Uint8Array }) => {
      const waiting = entry.outstanding.get(answer.id);
      entry.outstanding.delete(answer.id);
      waiting?.resolve(Array.from(answer.verdicts, (verdict) => verdict === 1));
    });
    const fail = (error: Error) => {
      for (const waiting of entry.outstanding.values()) waiting.reject(error);
      entry.outstanding.clear();
      const index = workers.indexOf(entry);
      if (index !== -1) workers.splice(index, 1);
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('a signature thread exited')));
    workers.push(entry);
  }

  function send(chunk: readonly Uint8Array[]): Promise<boolean[]> {
    if (closed || workers.length === 0) {
      counts.inline += chunk.length;
      return Promise.resolve(chunk.map(verifyEncodedTransaction));
    }
    counts.threaded += chunk.length;
    const entry = workers[nextWorker++ % workers.length]!;
    const id = nextId++;
    const batch = packBatch(chunk);
    return new Promise<boolean[]>((resolve, reject) => {
      entry.outstanding.set(id, { resolve, reject });
      entry.worker.postMessage({ id, ...batch }, [batch.data, batch.ends.buffer]);
    });
  }

  /** Splits `encodings` over the threads (chunks of at least MIN_CHUNK) and verifies them. */
  async function verifyNow(encodings: readonly Uint8Array[]): Promise<boolean[]> {
    const parts = Math.max(1, Math.min(workers.length, Math.floor(encodings.length / MIN_CHUNK)));
    const size = Math.ceil(encodings.length / parts);
    const chunks: Uint8Array[][] = [];
    for (let start = 0; start < encodings.length; start += size)
      chunks.push(encodings.slice(start, start + size) as Uint8Array[]);
    const verdicts = await Promise.all(chunks.map(send));
    return verdicts.flat();
  }

  // Requests of one event-loop turn (every gossip frame and submission read in it) travel
  // together: one message per thread per turn instead of one per frame, each message costing the
  // event loop tens of microseconds whatever it carries.
  interface Queued {
    encodings: readonly Uint8Array[];
    resolve: (verdicts: boolean[]) => void;
    reject: (error: Error) => void;
  }
  let queued: Queued[] = [];
  let queuedCount = 0;
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    const requests = queued;
    queued = [];
    queuedCount = 0;
    if (requests.length === 0) return;
    const all = requests.flatMap((request) => request.encodings);
    if (all.length <= inlineMax) {
      counts.inline += all.length;
      let at = 0;
      const verdicts = all.map(verifyEncodedTransaction);
      for (const request of requests) {
        request.resolve(verdicts.slice(at, at + request.encodings.length));
        at += request.encodings.length;
      }
      return;
    }
    verifyNow(all).then(
      (verdicts) => {
        invariant(verdicts.length === all.length, 'one verdict per encoding');
        let at = 0;
        for (const request of requests) {
          request.resolve(verdicts.slice(at, at + request.encodings.length));
          at += request.encodings.length;
        }
      },
      (error: Error) => {
        for (const request of requests) request.reject(error);
      },
    );
  };

  return {
    threads: options.threads,
    verify(encodings) {
      if (encodings.length === 0) return Promise.resolve([]);
      if (closed || workers.length === 0) {
        counts.inline += encodings.length;
        return Promise.resolve(encodings.map(verifyEncodedTransaction));
      }
      return new Promise<boolean[]>((resolve, reject) => {
        queued.push({ encodings, resolve, reject });
        queuedCount += encodings.length;
        // Bounded: a turn's requests go at once when they reach MAX_QUEUED.
        if (queuedCount >= MAX_QUEUED) flush();
        else if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    stats: () => ({ ...counts }),
    async close() {
      closed = true;
      await Promise.all(workers.splice(0).map(({ worker }) => worker.terminate()));
    },
  };
}
