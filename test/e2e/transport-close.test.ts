/**
 * Closing a transport delivers what was sent before the close. A validator stopping on SIGTERM
 * relays the transactions its API accepted last and then closes its transport; if those frames
 * were discarded, accepted transactions would be lost (see trading.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateEd25519KeyPair } from '../../src/crypto/ed25519.ts';
import { createTlsTransport } from '../../src/runtime/real/transport.ts';
import { waitFor } from './harness.ts';

test('frames sent just before close() reach the peer', async () => {
  const keys = [generateEd25519KeyPair(), generateEd25519KeyPair()];
  const validators = keys.map((key) => ({ publicKey: key.publicKey }));
  const [sender, receiver] = keys.map((key, index) =>
    createTlsTransport({
      selfIndex: index,
      secretKey: key.secretKey,
      validators,
      listen: { host: '127.0.0.1', port: 0 },
    }),
  ) as [ReturnType<typeof createTlsTransport>, ReturnType<typeof createTlsTransport>];
  const received: number[] = [];
  receiver.onMessage((_from, message) => received.push(message.length));
  try {
    const addresses = [await sender.listen(), await receiver.listen()];
    sender.setPeerAddress(1, addresses[1]!);
    receiver.setPeerAddress(0, addresses[0]!);
    sender.start();
    receiver.start();
    await waitFor(() => sender.isConnected(1) && receiver.isConnected(0), 'the connection', 10_000);

    // Large enough that the TLS socket cannot hand all of it to the kernel synchronously.
    const count = 64;
    for (let i = 0; i < count; i++) sender.send(1, new Uint8Array(256 * 1024).fill(i));
    await sender.close();
    await waitFor(() => received.length === count, `all ${count} frames (got ${received.length})`, 10_000);
    assert.ok(received.every((length) => length === 256 * 1024));
  } finally {
    await sender.close();
    await receiver.close();
  }
});
