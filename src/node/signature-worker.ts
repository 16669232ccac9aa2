/**
 * A thread of the signature pool (signature-pool.ts): decodes each canonical transaction encoding
 * it is sent and verifies its Ed25519 signature, answering one verdict per encoding.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { verifyTransactionSignature } from '../crypto/transaction.ts';

/** True exactly when `bytes` decode and the signature is the signer's over the body on its chain. */
export function verifyEncodedTransaction(bytes: Uint8Array): boolean {
  try {
    return verifyTransactionSignature(SignedTransactionCodec.decode(bytes));
  } catch {
    return false;
  }
}

if (parentPort !== null && (workerData as { signatureThread?: boolean } | undefined)?.signatureThread) {
  const port = parentPort;
  port.on('message', (message: { id: number; encodings: Uint8Array[] }) => {
    port.postMessage({ id: message.id, verdicts: message.encodings.map(verifyEncodedTransaction) });
  });
}
