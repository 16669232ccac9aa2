/**
 * A worker thread that encrypts orders for the fair-ordering devnet benchmark
 * (./fair-ordering-devnet.ts): a trader's client encrypts on its own machine, so the load
 * generator encrypts off its event loop, which must stay free to send and to watch blocks. It
 * encrypts on mcl-wasm.
 *
 * Every order has its own identity (sender and a fresh 32-byte prefix, src/node/client.ts). The
 * costly part of sealing, the identity's hash to G1 and its pairing, does not depend on the order,
 * so the worker keeps a small queue of prefixes per trader whose pairing is done already
 * (`prepareEncryption`), refills it while it has nothing else to do, and seals each order with one
 * prefix off the front. A trader always goes to the same worker: the prepared pairings live in
 * that worker's memory. When the queue runs dry the order is sealed with a fresh prefix on the spot,
 * and the reply says how many orders were sealed that way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer } from '../../src/crypto/ed25519.ts';
import { createMclBackend } from '../../src/crypto/shutter/pairing-backend.ts';
import { encrypt, prepareEncryption } from '../../src/node/client.ts';

/** What a trader's orders are encrypted to; the worker keeps its queue full for it from now on. */
export interface PrepareRequest {
  prepare: { seed: Uint8Array; chainId: number; eonPublicKey: Uint8Array; depth: number };
}

export interface EncryptRequest {
  id: number;
  seed: Uint8Array;
  /** The orders, without a prefix: the worker gives each one of its prepared prefixes. */
  inputs: Omit<Parameters<typeof encrypt>[1], 'identityPrefix'>[];
}

export interface EncryptReply {
  id: number;
  envelopes: Uint8Array[];
  /** Orders sealed with a prefix prepared ahead (the rest had their pairing done on the spot). */
  preparedAhead: number;
}

interface TraderQueue {
  readonly chainId: number;
  readonly eonPublicKey: Uint8Array;
  readonly sender: Uint8Array;
  readonly depth: number;
  readonly prefixes: Uint8Array[];
}

if (parentPort !== null && (workerData as { encryptThread?: boolean } | undefined)?.encryptThread) {
  const port = parentPort;
  // mcl-wasm, as the devnet's bots use: the same bytes as noble (pairing-backend.test.ts), faster.
  const backend = await createMclBackend();
  const queues = new Map<string, TraderQueue>();
  let refilling = false;
  /**
   * Prepares one prefix for the emptiest queue below its depth, then yields (setImmediate) so an
   * encryption request that came in meanwhile is served before the next preparation.
   */
  const refill = () => {
    let emptiest: TraderQueue | undefined;
    for (const queue of queues.values())
      if (
        queue.prefixes.length < queue.depth &&
        (emptiest === undefined || queue.prefixes.length < emptiest.prefixes.length)
      )
        emptiest = queue;
    if (emptiest === undefined) {
      refilling = false;
      return;
    }
    emptiest.prefixes.push(prepareEncryption(emptiest, { backend }));
    setImmediate(refill);
  };
  const startRefill = () => {
    if (refilling) return;
    refilling = true;
    setImmediate(refill);
  };
  port.on('message', (request: EncryptRequest | PrepareRequest) => {
    if ('prepare' in request) {
      const { seed, chainId, eonPublicKey, depth } = request.prepare;
      const sender = createEd25519Signer(seed).publicKey;
      queues.set(toHex(sender), { chainId, eonPublicKey, sender, depth, prefixes: [] });
      startRefill();
      return;
    }
    const signer = createEd25519Signer(request.seed);
    const queue = queues.get(toHex(signer.publicKey));
    let preparedAhead = 0;
    const envelopes = request.inputs.map((input) => {
      const identityPrefix = queue?.prefixes.shift();
      if (identityPrefix !== undefined) preparedAhead++;
      return encrypt(signer, identityPrefix === undefined ? input : { ...input, identityPrefix }, {
        backend,
      });
    });
    const reply: EncryptReply = { id: request.id, envelopes, preparedAhead };
    port.postMessage(reply);
    startRefill();
  });
}
