/**
 * A block's ciphertexts decrypted on worker threads (issue 14). Decryption is one pairing per
 * order whatever the key scheme, so it is what bounds encrypted throughput; the orders of a block
 * are independent, so they split across threads. Each thread runs `shutterDecryptBytes` on
 * mcl-wasm (src/crypto/shutter/pairing-backend.ts) and answers one `DecryptResult` per ciphertext;
 * the block rule (src/chain/encrypted-batch.ts `opened`) takes them in place of its own
 * decryptions. Its outcomes do not change: every failure is UNDECRYPTABLE there, whichever backend
 * gave which failure reason, and a success is the same plaintext on every backend.
 *
 * A pool with zero threads decrypts inline on the backend it is given. A thread that dies fails
 * its outstanding batches with an error, never with a result.
 *
 * This file is also the thread's entry point (when started with `workerData.decryptThread`).
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { batchKeyAt } from '../chain/encrypted-batch.ts';
import { invariant } from '../codec/invariant.ts';
import { type DecryptResult, G1_COMPRESSED_BYTES, shutterDecryptBytes } from '../crypto/shutter/ibe.ts';
import { createMclBackend, type PairingBackend } from '../crypto/shutter/pairing-backend.ts';

export interface DecryptPool {
  readonly threads: number;
  /**
   * One result per ciphertext, in order, ciphertext j under key j of `keys` (48-byte compressed G1
   * points concatenated: a batch's keys, src/chain/encrypted-batch.ts).
   */
  decrypt(ciphertexts: readonly Uint8Array[], keys: Uint8Array): Promise<DecryptResult[]>;
  close(): Promise<void>;
}

/** @throws InvariantError when `threads` is not a non-negative integer */
export function createDecryptPool(options: { threads: number; inline: PairingBackend }): DecryptPool {
  invariant(Number.isSafeInteger(options.threads) && options.threads >= 0, 'threads must be >= 0');
  interface Outstanding {
    resolve: (results: DecryptResult[]) => void;
    reject: (error: Error) => void;
  }
  const workers: { worker: Worker; outstanding: Map<number, Outstanding> }[] = [];
  let nextId = 1;
  let closed = false;
  for (let i = 0; i < options.threads; i++) {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { decryptThread: true },
      execArgv: [],
    });
    worker.unref();
    const entry = { worker, outstanding: new Map<number, Outstanding>() };
    worker.on('message', (answer: { id: number; results: DecryptResult[] }) => {
      const waiting = entry.outstanding.get(answer.id);
      entry.outstanding.delete(answer.id);
      waiting?.resolve(answer.results);
    });
    const fail = (error: Error) => {
      for (const waiting of entry.outstanding.values()) waiting.reject(error);
      entry.outstanding.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`decrypt thread exited with code ${code}`)));
    workers.push(entry);
  }
  const inline = (ciphertexts: readonly Uint8Array[], keys: Uint8Array) =>
    ciphertexts.map((ciphertext, j) => shutterDecryptBytes(ciphertext, batchKeyAt(keys, j), options.inline));
  return {
    threads: options.threads,
    async decrypt(ciphertexts, keys) {
      invariant(keys.length === G1_COMPRESSED_BYTES * ciphertexts.length, 'one 48-byte key per ciphertext');
      if (closed || workers.length === 0 || ciphertexts.length < 2) return inline(ciphertexts, keys);
      const chunk = Math.ceil(ciphertexts.length / workers.length);
      const parts = workers.map((entry, w) => {
        const slice = ciphertexts.slice(w * chunk, (w + 1) * chunk);
        if (slice.length === 0) return Promise.resolve([] as DecryptResult[]);
        const id = nextId++;
        return new Promise<DecryptResult[]>((resolve, reject) => {
          entry.outstanding.set(id, { resolve, reject });
          const part = keys.slice(
            G1_COMPRESSED_BYTES * w * chunk,
            G1_COMPRESSED_BYTES * (w * chunk + slice.length),
          );
          entry.worker.postMessage({ id, ciphertexts: slice, keys: part });
        });
      });
      return (await Promise.all(parts)).flat();
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((entry) => entry.worker.terminate()));
    },
  };
}

if (parentPort !== null && (workerData as { decryptThread?: boolean } | undefined)?.decryptThread) {
  const port = parentPort;
  const backend = createMclBackend();
  port.on('message', async (message: { id: number; ciphertexts: Uint8Array[]; keys: Uint8Array }) => {
    const mcl = await backend;
    port.postMessage({
      id: message.id,
      results: message.ciphertexts.map((ciphertext, j) =>
        shutterDecryptBytes(ciphertext, batchKeyAt(message.keys, j), mcl),
      ),
    });
  });
}
