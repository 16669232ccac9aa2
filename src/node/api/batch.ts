/**
 * The binary body of `POST /v1/transactions/batch` (docs/api.md): signed transactions back to back,
 * each a 4-byte big-endian length and then its canonical `SignedTransactionCodec` encoding. Shared
 * by the API server and the client.
 */

/**
 * The binary batch body: transactions back to back, each a 4-byte big-endian length then its
 * canonical encoding. Returns the encodings (views into `body`), or what is wrong.
 */
export function splitFramedTransactions(body: Uint8Array, maxTransactions: number): Uint8Array[] | string {
  const out: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  while (offset < body.length) {
    if (out.length >= maxTransactions) return `a batch carries at most ${maxTransactions} transactions`;
    if (offset + 4 > body.length) return 'a length prefix is cut short';
    const length = view.getUint32(offset, false);
    offset += 4;
    if (length === 0 || offset + length > body.length) return `transaction ${out.length} overruns the body`;
    out.push(body.subarray(offset, offset + length));
    offset += length;
  }
  if (out.length === 0) return 'the batch is empty';
  return out;
}

/** The binary batch body of `encodings` (see `splitFramedTransactions`). */
export function frameTransactions(encodings: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(encodings.reduce((sum, bytes) => sum + 4 + bytes.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const bytes of encodings) {
    view.setUint32(offset, bytes.length, false);
    out.set(bytes, offset + 4);
    offset += 4 + bytes.length;
  }
  return out;
}
