/**
 * A worker thread that encrypts orders for the fair-ordering devnet benchmark
 * (./fair-ordering-devnet.ts): a trader's client encrypts on its own machine, so the load
 * generator encrypts off its event loop, which must stay free to send and to watch blocks. It
 * encrypts on mcl-wasm, and orders to one block share its pairing (src/crypto/shutter/envelope.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEd25519Signer } from '../../src/crypto/ed25519.ts';
import { createMclBackend } from '../../src/crypto/shutter/pairing-backend.ts';
import { encrypt, prepareEncryption } from '../../src/node/client.ts';

/** The blocks this worker will encrypt to next: their pairings are done ahead, while it idles. */
export interface PrepareRequest {
  prepare: { chainId: number; eonPublicKey: Uint8Array; targetHeights: number[] };
}

export interface EncryptRequest {
  id: number;
  seed: Uint8Array;
  inputs: Parameters<typeof encrypt>[1][];
}

if (parentPort !== null && (workerData as { encryptThread?: boolean } | undefined)?.encryptThread) {
  const port = parentPort;
  // mcl-wasm, as the devnet's bots use: the same bytes as noble (pairing-backend.test.ts), faster.
  const backend = await createMclBackend();
  port.on('message', (request: EncryptRequest | PrepareRequest) => {
    if ('prepare' in request) {
      for (const targetHeight of request.prepare.targetHeights)
        prepareEncryption({ ...request.prepare, targetHeight }, { backend });
      return;
    }
    const signer = createEd25519Signer(request.seed);
    port.postMessage({
      id: request.id,
      envelopes: request.inputs.map((input) => encrypt(signer, input, { backend })),
    });
  });
}
