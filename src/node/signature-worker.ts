/**
 * A thread of the signature pool (signature-pool.ts): decodes each canonical transaction encoding
 * it is sent and verifies its Ed25519 signature, answering one verdict per encoding. Chunks arrive
 * packed (`packBatch`: one transferred buffer and the encodings' end offsets) and the verdicts go
 * back as one transferred byte each.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { invariant } from '../codec/invariant.ts';
import { verifyEncodedTransaction } from '../crypto/transaction.ts';

/** A chunk as it travels to a thread: the encodings end to end, and where each ends. */
export interface PackedBatch {
  data: ArrayBuffer;
  ends: Uint32Array<ArrayBuffer>;
}

/** Packs `encodings` into one buffer (copied: the caller's views stay theirs). */
export function packBatch(encodings: readonly Uint8Array[]): PackedBatch {
  let total = 0;
  for (const bytes of encodings) total += bytes.length;
  const data = new ArrayBuffer(total);
  const view = new Uint8Array(data);
  const ends = new Uint32Array(encodings.length);
  let at = 0;
  for (const [index, bytes] of encodings.entries()) {
    view.set(bytes, at);
    at += bytes.length;
    ends[index] = at;
  }
  return { data, ends };
}

/** The verdicts on a packed chunk, one byte each (1 verified, 0 not), in order. */
export function verifyPackedBatch(batch: PackedBatch): Uint8Array<ArrayBuffer> {
  const verdicts = new Uint8Array(batch.ends.length);
  let start = 0;
  for (let index = 0; index < batch.ends.length; index++) {
    const end = batch.ends[index]!;
    invariant(end >= start && end <= batch.data.byteLength, 'a packed batch ends out of order');
    verdicts[index] = verifyEncodedTransaction(new Uint8Array(batch.data, start, end - start)) ? 1 : 0;
    start = end;
  }
  return verdicts;
}

if (parentPort !== null && (workerData as { signatureThread?: boolean } | undefined)?.signatureThread) {
  const port = parentPort;
  port.on('message', (message: { id: number } & PackedBatch) => {
    const verdicts = verifyPackedBatch(message);
    port.postMessage({ id: message.id, verdicts }, [verdicts.buffer]);
  });
}
