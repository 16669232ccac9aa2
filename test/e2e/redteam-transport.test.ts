/**
 * Red team against the transport's admission (src/runtime/real/transport.ts), over real sockets
 * on loopback. Linux routes all of 127/8 to the loopback device, so a test can open connections
 * from distinct source addresses (127.0.0.x) and play validators at different hosts.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer, connect as netConnect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { generateEd25519KeyPair } from '../../src/crypto/ed25519.ts';
import { createValidatorTlsIdentity } from '../../src/runtime/real/certificate.ts';
import { createTlsTransport } from '../../src/runtime/real/transport.ts';

const open: { close(): unknown }[] = [];
after(async () => {
  for (const item of open) await item.close();
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

test('attack: a Byzantine validator churning never-finished handshakes from its own genesis host cannot keep another validator out of the reserved pool', async () => {
  const keys = [generateEd25519KeyPair(), generateEd25519KeyPair(), generateEd25519KeyPair()];
  // Validator 0 is honest at 127.0.0.1, validator 1 Byzantine at 127.0.0.3; validator 2 accepts.
  const receiver = createTlsTransport({
    selfIndex: 2,
    secretKey: keys[2]!.secretKey,
    validators: [
      { publicKey: keys[0]!.publicKey, address: { host: '127.0.0.1', port: 1 } },
      { publicKey: keys[1]!.publicKey, address: { host: '127.0.0.3', port: 1 } },
      { publicKey: keys[2]!.publicKey },
    ],
    listen: { host: '127.0.0.1', port: 0 },
    limits: { handshakeTimeoutMs: 5000 },
  });
  open.push(receiver);
  const address = await receiver.listen();
  // The Byzantine validator opens TCP connections from its genesis host and sends nothing.
  let flooding = true;
  let opened = 0;
  const flood = new Set<Socket>();
  const openOne = () => {
    if (!flooding) return;
    const socket = netConnect({ host: address.host, port: address.port, localAddress: '127.0.0.3' });
    opened++;
    flood.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => flood.delete(socket));
  };
  // 100 new connections every 2 ms while fewer than 600 are open: far more than 64 arrive during
  // any handshake, as a flood from another machine would.
  const timer = setInterval(() => {
    for (let i = 0; i < 100 && flood.size < 600; i++) openOne();
  }, 2);
  open.push({ close: () => clearInterval(timer) });
  open.push({
    close: () => {
      flooding = false;
      for (const socket of flood) socket.destroy();
    },
  });
  // The flood is on once the receiver replaces reserved handshakes.
  assert.ok(await waitFor(() => (receiver.status().refusals.reserved_replaced ?? 0) > 100, 5000));
  // The honest validator dials (as validator 0 must: the lower index dials) from 127.0.0.1, across
  // the world: a relay on its host delays every chunk by 150 ms each way, so its TLS handshake
  // takes about half a second, as a validator on another continent's does.
  const relay = createNetServer((client) => {
    const upstream = netConnect({ host: address.host, port: address.port, localAddress: '127.0.0.1' });
    const delayed = (to: Socket) => (chunk: Buffer) =>
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, 150);
    client.on('data', delayed(upstream));
    upstream.on('data', delayed(client));
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => {});
      a.once('close', () => setTimeout(() => b.destroy(), 150));
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.6', () => resolve()));
  open.push({ close: () => relay.close() });
  const relayPort = (relay.address() as { port: number }).port;
  const identity = createValidatorTlsIdentity(keys[0]!.secretKey);
  let attempts = 0;
  const dial = () => {
    attempts++;
    const socket = tlsConnect({
      host: '127.0.0.6',
      port: relayPort,
      cert: identity.certificatePem,
      key: identity.privateKeyPem,
      minVersion: 'TLSv1.3',
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('close', () => {
      if (flooding && !receiver.isConnected(0)) setTimeout(dial, 50);
    });
    open.push({ close: () => socket.destroy() });
  };
  dial();
  const connected = await waitFor(() => receiver.isConnected(0), 5000);
  const { refusals } = receiver.status();
  flooding = false;
  clearInterval(timer);
  for (const socket of flood) socket.destroy();
  assert.ok(opened > 150, 'the flood churned');
  assert.ok(
    connected,
    `validator 0 kept out after ${attempts} dials while validator 1 opened ${opened} connections: ${JSON.stringify(refusals)}`,
  );
  await receiver.close();
});
