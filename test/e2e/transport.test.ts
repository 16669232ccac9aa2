/**
 * The validator transport over real sockets on 127.0.0.1 (ephemeral ports): who may connect, what
 * arrives, and how the transport treats peers that misbehave, stall or restart.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, test } from 'node:test';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type Ed25519KeyPair, generateEd25519KeyPair } from '../../src/crypto/ed25519.ts';
import { createValidatorTlsIdentity } from '../../src/runtime/real/certificate.ts';
import {
  createTlsTransport,
  type PeerAddress,
  type TlsTransport,
  type TransportLimits,
} from '../../src/runtime/real/transport.ts';
import { startTestDevnet, type TestDevnet, waitFor as waitForAsync } from './harness.ts';

const LOCALHOST = '127.0.0.1';
const open: { close(): unknown }[] = [];
after(async () => {
  for (const item of open) await item.close();
});

/** Short timers so failures and recoveries happen within a test's time. */
const FAST: Partial<TransportLimits> = {
  reconnectBaseMs: 20,
  reconnectMaxMs: 200,
  heartbeatIntervalMs: 100,
  idleTimeoutMs: 1000,
  handshakeTimeoutMs: 1000,
};

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Received {
  from: number;
  text: string;
}

interface Network {
  keys: Ed25519KeyPair[];
  transports: TlsTransport[];
  inboxes: Received[][];
  addresses: PeerAddress[];
}

async function startNetwork(
  size: number,
  limits: Partial<TransportLimits> = {},
  skip: ReadonlySet<number> = new Set(),
): Promise<Network> {
  const keys = Array.from({ length: size }, () => generateEd25519KeyPair());
  const validators = keys.map((key) => ({ publicKey: key.publicKey }));
  const transports: TlsTransport[] = [];
  const inboxes: Received[][] = [];
  const addresses: PeerAddress[] = [];
  for (let index = 0; index < size; index += 1) {
    const inbox: Received[] = [];
    inboxes.push(inbox);
    if (skip.has(index)) continue;
    const transport = createTlsTransport({
      selfIndex: index,
      secretKey: keys[index]!.secretKey,
      validators,
      listen: { host: LOCALHOST, port: 0 },
      limits: { ...FAST, ...limits },
    });
    transport.onMessage((from, message) => inbox.push({ from, text: Buffer.from(message).toString() }));
    open.push(transport);
    transports[index] = transport;
    addresses[index] = await transport.listen();
  }
  for (let index = 0; index < size; index += 1) {
    const transport = transports[index];
    if (transport === undefined) continue;
    for (let peer = 0; peer < size; peer += 1) {
      const address = addresses[peer];
      if (peer !== index && address !== undefined) transport.setPeerAddress(peer, address);
    }
    transport.start();
  }
  return { keys, transports, inboxes, addresses };
}

function text(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value));
}

/** A TLS client holding `secretKey`'s certificate, as a peer or an impostor would be. */
function rawClient(secretKey: Uint8Array, address: PeerAddress): TLSSocket {
  const identity = createValidatorTlsIdentity(secretKey);
  const socket = tlsConnect({
    host: address.host,
    port: address.port,
    cert: identity.certificatePem,
    key: identity.privateKeyPem,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  socket.on('error', () => {});
  open.push({ close: () => socket.destroy() });
  return socket;
}

function frame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

function closed(socket: { once(event: 'close', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

test('four validators connect pairwise and deliver every message tagged with its sender', async () => {
  const { transports, inboxes } = await startNetwork(4);
  for (const transport of transports) {
    await waitFor(() => transport.status().peers.every((peer) => peer.connected), 'a full mesh');
  }
  transports.forEach((transport, from) => {
    transport.broadcast(text(`hello from ${from}`));
    transport.send((from + 1) % 4, text(`direct from ${from}`));
  });
  await waitFor(() => inboxes.every((inbox) => inbox.length === 4), 'every message');
  inboxes.forEach((inbox, index) => {
    const expected = [0, 1, 2, 3]
      .filter((from) => from !== index)
      .map((from) => ({ from, text: `hello from ${from}` }));
    expected.push({ from: (index + 3) % 4, text: `direct from ${(index + 3) % 4}` });
    const sort = (items: Received[]) => [...items].sort((a, b) => a.text.localeCompare(b.text));
    assert.deepEqual(sort(inbox), sort(expected));
  });
  const status = transports[0]!.status();
  assert.deepEqual(
    status.peers.map((peer) => [peer.peer, peer.direction, peer.connects]),
    [
      [1, 'outbound', 1],
      [2, 'outbound', 1],
      [3, 'outbound', 1],
    ],
  );
  assert.ok(status.peers.every((peer) => peer.messagesOut >= 1 && peer.messagesIn >= 1 && peer.bytesIn > 0));
  assert.deepEqual(
    transports[3]!.status().peers.map((peer) => peer.direction),
    ['inbound', 'inbound', 'inbound'],
  );
  // Authenticated connections have left the handshake pools.
  for (const transport of transports)
    assert.deepEqual(transport.status().handshaking, { reserved: 0, strangers: 0 });
  for (const transport of transports) await transport.close();
});

test('frames sent to one peer in one turn leave in one write, in order; a later turn writes again', async () => {
  const { transports, inboxes } = await startNetwork(2);
  for (const transport of transports)
    await waitFor(() => transport.status().peers.every((peer) => peer.connected), 'connected');
  const writesBefore = transports[0]!.status().peers[0]!.writesOut;
  for (let i = 0; i < 50; i++) transports[0]!.send(1, text(`frame ${i}`));
  await waitFor(() => inboxes[1]!.length === 50, 'all 50 frames');
  assert.deepEqual(
    inboxes[1]!.map((received) => received.text),
    Array.from({ length: 50 }, (_, i) => `frame ${i}`),
  );
  assert.equal(transports[0]!.status().peers[0]!.writesOut - writesBefore, 1, 'one write for the turn');
  transports[0]!.send(1, text('next turn'));
  await waitFor(() => inboxes[1]!.length === 51, 'the next turn’s frame');
  assert.equal(transports[0]!.status().peers[0]!.writesOut - writesBefore, 2);
  for (const transport of transports) await transport.close();
});

test('a message to oneself is dropped, as in the simulated network; broadcast skips oneself', async () => {
  const { transports, inboxes } = await startNetwork(2);
  await waitFor(() => transports[0]!.isConnected(1), 'the connection');
  transports[0]!.send(0, text('note to self'));
  transports[0]!.broadcast(text('to everyone else'));
  await waitFor(() => inboxes[1]!.length === 1, 'the broadcast');
  assert.deepEqual(inboxes[0], []);
  assert.deepEqual(inboxes[1], [{ from: 0, text: 'to everyone else' }]);
  for (const transport of transports) await transport.close();
});

test('a stranger key cannot complete a connection or deliver a frame, and a non-TLS client is refused', async () => {
  const { transports, inboxes, addresses } = await startNetwork(2);
  await waitFor(() => transports[1]!.isConnected(0), 'the validators to connect');
  const stranger = generateEd25519KeyPair();
  const socket = rawClient(stranger.secretKey, addresses[1]!);
  socket.once('secureConnect', () => socket.write(frame('let me in')));
  await closed(socket);
  await waitFor(() => transports[1]!.status().refusals.unknown_key === 1, 'the refusal to be counted');

  const plain = netConnect(addresses[1]!.port, LOCALHOST, () => plain.write(Buffer.alloc(64, 0x41)));
  plain.on('error', () => {});
  await closed(plain);
  await waitFor(() => transports[1]!.status().refusals.handshake_failed === 1, 'the failed handshake');

  transports[0]!.send(1, text('still here'));
  await waitFor(() => inboxes[1]!.length === 1, 'a genuine message');
  assert.deepEqual(inboxes[1], [{ from: 0, text: 'still here' }]);
  for (const transport of transports) await transport.close();
});

test('a TCP connection that never starts a handshake is closed after its pool’s handshake window', async () => {
  const { transports, addresses } = await startNetwork(1, {
    handshakeTimeoutMs: 2000,
    strangerHandshakeTimeoutMs: 100,
  });
  // From the validators' host (127.0.0.1, where genesis puts them): the reserved window.
  const fromValidatorHost = netConnect(addresses[0]!.port, LOCALHOST);
  // From elsewhere: a stranger's window.
  const fromElsewhere = netConnect({ port: addresses[0]!.port, host: LOCALHOST, localAddress: '127.0.5.1' });
  for (const socket of [fromValidatorHost, fromElsewhere]) {
    socket.on('error', () => {});
    open.push({ close: () => socket.destroy() });
  }
  await closed(fromElsewhere);
  assert.equal(fromValidatorHost.destroyed, false, 'the reserved window is the longer one');
  await closed(fromValidatorHost);
  await waitFor(() => transports[0]!.status().refusals.handshake_timeout === 2, 'the refusals');
  assert.deepEqual(transports[0]!.status().handshaking, { reserved: 0, strangers: 0 });
  await transports[0]!.close();
});

test('closing a transport does not wait for connections still in their handshake', async () => {
  const { transports, addresses } = await startNetwork(1, { handshakeTimeoutMs: 60_000 });
  const halfOpen = netConnect(addresses[0]!.port, LOCALHOST);
  halfOpen.on('error', () => {});
  await new Promise((resolve) => halfOpen.once('connect', resolve));
  const startedMs = Date.now();
  await Promise.all([transports[0]!.close(), closed(halfOpen)]);
  assert.ok(Date.now() - startedMs < 5000);
});

test('the dialer refuses a server that holds another key than the validator it meant to reach', async () => {
  const keys = [generateEd25519KeyPair(), generateEd25519KeyPair()];
  const impostor = createValidatorTlsIdentity(generateEd25519KeyPair().secretKey);
  let impostorReceived = 0;
  const server = createTlsServer(
    {
      cert: impostor.certificatePem,
      key: impostor.privateKeyPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      socket.on('data', (chunk) => {
        impostorReceived += chunk.length;
      });
      socket.on('error', () => {});
    },
  );
  open.push(server);
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const port = (server.address() as { port: number }).port;
  const transport = createTlsTransport({
    selfIndex: 0,
    secretKey: keys[0]!.secretKey,
    validators: keys.map((key, index) => ({
      publicKey: key.publicKey,
      ...(index === 1 ? { address: { host: LOCALHOST, port } } : {}),
    })),
    listen: { host: LOCALHOST, port: 0 },
    limits: FAST,
  });
  open.push(transport);
  transport.send(1, text('for validator 1 only'));
  transport.start();
  await waitFor(() => (transport.status().refusals.wrong_peer_key ?? 0) >= 2, 'repeated refusals');
  assert.equal(transport.isConnected(1), false);
  assert.equal(impostorReceived, 0);
  assert.equal(transport.status().peers[0]!.queuedMessages, 1);
  await transport.close();
});

test('a validator dialing against the dialing rule is refused', async () => {
  const { transports, keys, addresses } = await startNetwork(2);
  // Validator 1 must wait for validator 0 to dial; a connection from it is a protocol violation.
  const socket = rawClient(keys[1]!.secretKey, addresses[0]!);
  await closed(socket);
  await waitFor(() => transports[0]!.status().refusals.wrong_direction === 1, 'the refusal');
  for (const transport of transports) await transport.close();
});

test('an oversize length prefix closes the connection and costs the peer score; it reconnects', async () => {
  const keys = [generateEd25519KeyPair(), generateEd25519KeyPair()];
  const receiver = createTlsTransport({
    selfIndex: 1,
    secretKey: keys[1]!.secretKey,
    validators: keys.map((key) => ({ publicKey: key.publicKey })),
    listen: { host: LOCALHOST, port: 0 },
    limits: { ...FAST, maxFrameBytes: 1024 },
  });
  open.push(receiver);
  const received: string[] = [];
  receiver.onMessage((_from, message) => received.push(Buffer.from(message).toString()));
  const address = await receiver.listen();
  // Validator 0's key, misbehaving: one good frame, then a length far above the maximum.
  const socket = rawClient(keys[0]!.secretKey, address);
  socket.on('data', () => {});
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  const oversize = Buffer.alloc(4);
  oversize.writeUInt32BE(1025, 0);
  socket.write(Buffer.concat([frame('fine'), oversize, Buffer.alloc(100)]));
  await closed(socket);
  await waitFor(() => receiver.status().drops.oversize_frame === 1, 'the oversize drop');
  assert.deepEqual(received, ['fine']);
  const peer = receiver.status().peers[0]!;
  assert.equal(peer.connected, false);
  assert.ok(peer.score <= 51 && peer.score > 49, `score ${peer.score}`);

  const retry = rawClient(keys[0]!.secretKey, address);
  retry.on('data', () => {});
  await new Promise<void>((resolve) => retry.once('secureConnect', () => resolve()));
  retry.write(frame('after'));
  await waitFor(() => received.length === 2, 'the frame after reconnecting');
  assert.equal(received[1], 'after');
  await receiver.close();
});

test('penalties ban a peer for the cool-down, refuse its connections, then let it back', async () => {
  const { transports, inboxes } = await startNetwork(2, { banMs: 400 });
  await waitFor(() => transports[1]!.isConnected(0), 'the connection');
  transports[1]!.penalize(0, 'invalid_vote', 60);
  assert.equal(transports[1]!.status().peers[0]!.banned, false);
  transports[1]!.penalize(0, 'invalid_vote', 60);
  const banned = transports[1]!.status().peers[0]!;
  assert.equal(banned.banned, true);
  assert.deepEqual(banned.penalties, { invalid_vote: 2 });
  await waitFor(() => !transports[0]!.isConnected(1), 'the disconnection');
  // Validator 0 keeps dialing with backoff and is refused until the ban ends.
  await waitFor(() => (transports[1]!.status().refusals.banned ?? 0) >= 1, 'a refused redial');
  transports[0]!.send(1, text('after the ban'));
  await waitFor(() => inboxes[1]!.length === 1, 'delivery after the ban', 5000);
  const restored = transports[1]!.status().peers[0]!;
  assert.equal(restored.banned, false);
  assert.equal(restored.score, 100);
  assert.deepEqual(inboxes[1], [{ from: 0, text: 'after the ban' }]);
  for (const transport of transports) await transport.close();
});

test('a restarted peer is redialed with backoff and receives what was queued meanwhile', async () => {
  const network = await startNetwork(2);
  const [first, second] = network.transports;
  await waitFor(() => first!.isConnected(1), 'the connection');
  await second!.close();
  await waitFor(() => !first!.isConnected(1), 'the disconnection');
  first!.send(1, text('while you were away'));
  const restarted = createTlsTransport({
    selfIndex: 1,
    secretKey: network.keys[1]!.secretKey,
    validators: network.keys.map((key) => ({ publicKey: key.publicKey })),
    listen: network.addresses[1]!,
    limits: FAST,
  });
  open.push(restarted);
  const inbox: string[] = [];
  restarted.onMessage((_from, message) => inbox.push(Buffer.from(message).toString()));
  await restarted.listen();
  await waitFor(() => inbox.length === 1, 'the queued message after the restart');
  assert.deepEqual(inbox, ['while you were away']);
  assert.equal(first!.status().peers[0]!.connects, 2);
  await first!.close();
  await restarted.close();
});

test('a silent peer fills only its own bounded queue; the others keep receiving', async () => {
  // Validator 2 is "up" but stops reading: its TLS server accepts with the real key, then stalls.
  const network = await startNetwork(
    3,
    { outboundQueueMessages: 8, socketHighWaterBytes: 64 * 1024 },
    new Set([2]),
  );
  const silentIdentity = createValidatorTlsIdentity(network.keys[2]!.secretKey);
  const silent = createTlsServer(
    {
      cert: silentIdentity.certificatePem,
      key: silentIdentity.privateKeyPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      // One heartbeat, as an accepting validator sends, then it never reads or writes again.
      socket.write(Buffer.alloc(4));
      socket.pause();
      socket.on('error', () => {});
    },
  );
  open.push(silent);
  await new Promise<void>((resolve) => silent.listen(0, LOCALHOST, resolve));
  const sender = network.transports[0]!;
  sender.setPeerAddress(2, { host: LOCALHOST, port: (silent.address() as { port: number }).port });
  await waitFor(() => sender.isConnected(1) && sender.isConnected(2), 'both connections');
  // Paced as consensus would be: the live peer's queue never overflows; the silent one's must.
  const payload = 'x'.repeat(64 * 1024);
  const count = 300;
  for (let i = 0; i < count; i += 1) {
    while (sender.status().peers[0]!.queuedMessages > 4) await new Promise(setImmediate);
    sender.broadcast(text(`${i}:${payload}`));
  }
  await waitFor(() => network.inboxes[1]!.length === count, 'every message at the live peer', 15_000);
  assert.deepEqual(
    network.inboxes[1]!.map((message) => Number(message.text.split(':')[0])),
    Array.from({ length: count }, (_, i) => i),
  );
  const stalled = sender.status().peers[1]!;
  assert.equal(stalled.peer, 2);
  assert.ok(stalled.queuedMessages <= 8, `queue of ${stalled.queuedMessages}`);
  assert.ok((stalled.drops.outbound_queue_full ?? 0) > 0);
  assert.equal(sender.status().peers[0]!.drops.outbound_queue_full, undefined);
  // No heartbeat from the silent peer within the idle timeout: the connection is dropped and redialed.
  await waitFor(() => sender.status().peers[1]!.connects >= 2, 'the idle peer to be redialed');
  for (const transport of network.transports) await transport?.close();
  silent.close();
});

test('frames above the per-peer rate are dropped and counted', async () => {
  const { transports, inboxes } = await startNetwork(2, {
    rateBurstMessages: 10,
    rateMessagesPerSecond: 0.001,
  });
  await waitFor(() => transports[0]!.isConnected(1), 'the connection');
  for (let i = 0; i < 25; i += 1) transports[0]!.send(1, text(`m${i}`));
  await waitFor(() => transports[1]!.status().drops.rate_limited === 15, 'the rate-limit drops');
  assert.deepEqual(
    inboxes[1]!.map((message) => message.text),
    Array.from({ length: 10 }, (_, i) => `m${i}`),
  );
  assert.ok(transports[1]!.status().peers[0]!.score < 100);
  for (const transport of transports) await transport.close();
});

test('creating a transport with a key that is not its validator’s is refused', () => {
  const keys = [generateEd25519KeyPair(), generateEd25519KeyPair()];
  assert.throws(
    () =>
      createTlsTransport({
        selfIndex: 0,
        secretKey: keys[1]!.secretKey,
        validators: keys.map((key) => ({ publicKey: key.publicKey })),
        listen: { host: LOCALHOST, port: 0 },
      }),
    /not the key of validator 0/,
  );
});

/**
 * Strangers holding the connection slots (issue 10, attack 4). Every stranger here connects from
 * its own loopback address (127.0.1.x, 127.0.2.x), as attackers on other machines would; the
 * validators connect from 127.0.0.1, the host their genesis addresses name.
 */
interface StrangerSwarm {
  /** TCP connections the swarm opened in all. */
  attempts(): number;
  stop(): void;
}

function strangerSwarm(target: PeerAddress, options: { idle: number; slowloris: number }): StrangerSwarm {
  const live = new Set<ReturnType<typeof netConnect>>();
  let attempts = 0;
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  const connectFrom = (localAddress: string, onConnect?: (socket: ReturnType<typeof netConnect>) => void) => {
    attempts += 1;
    const socket = netConnect({ host: target.host, port: target.port, localAddress });
    socket.on('error', () => {});
    live.add(socket);
    socket.once('connect', () => onConnect?.(socket));
    socket.once('close', () => live.delete(socket));
    return socket;
  };
  // Idle sockets: four per address over many addresses, never a byte; reopened when closed.
  for (let i = 0; i < options.idle; i += 1) {
    const localAddress = `127.0.1.${1 + Math.floor(i / 4)}`;
    const keep = () => {
      if (stopped) return;
      connectFrom(localAddress).once('close', () => setTimeout(keep, 10));
    };
    keep();
  }
  // Slowloris: a TLS record header then one byte every 200 ms, never a complete ClientHello.
  for (let i = 0; i < options.slowloris; i += 1) {
    const localAddress = `127.0.2.${1 + Math.floor(i / 4)}`;
    const keep = () => {
      if (stopped) return;
      const socket = connectFrom(localAddress, (connected) => {
        connected.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
        const drip = setInterval(() => {
          if (connected.destroyed) clearInterval(drip);
          else connected.write(Buffer.from([0x01]));
        }, 200);
        timers.push(drip);
      });
      socket.once('close', () => setTimeout(keep, 10));
    };
    keep();
  }
  // One stranger reconnecting in a loop as fast as it is closed.
  const loop = () => {
    if (stopped) return;
    connectFrom('127.0.3.1').once('close', () => setImmediate(loop));
  };
  loop();
  return {
    attempts: () => attempts,
    stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      for (const socket of live) socket.destroy();
    },
  };
}

test('strangers holding idle, slowloris and looping connections cannot keep a restarted validator out', async () => {
  // Default handshake windows and slot limits; only reconnection is quick, so that a refused
  // dial would be retried (and counted) many times while the test waits.
  const limits: Partial<TransportLimits> = { reconnectBaseMs: 20, reconnectMaxMs: 200 };
  const network = await startNetwork(2, limits);
  const [first, target] = network.transports as [TlsTransport, TlsTransport];
  await waitFor(() => target.isConnected(0), 'the first connection');
  const swarm = strangerSwarm(network.addresses[1]!, { idle: 200, slowloris: 40 });
  open.push({ close: () => swarm.stop() });
  await waitFor(
    () => target.status().handshaking.strangers === 32,
    'the strangers to fill their pool',
    10_000,
  );
  // Past one stranger handshake window: whatever was evicted or timed out, the strangers are back.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(target.status().handshaking.strangers, 32);

  // Validator 0 restarts (a new process would be a new transport with the same key).
  await first.close();
  await waitFor(() => !target.isConnected(0), 'the disconnection');
  const events: string[] = [];
  const restarted = createTlsTransport({
    selfIndex: 0,
    secretKey: network.keys[0]!.secretKey,
    validators: network.keys.map((key) => ({ publicKey: key.publicKey })),
    listen: { host: LOCALHOST, port: 0 },
    limits,
    onEvent: (event) => events.push(event.type),
  });
  open.push(restarted);
  restarted.setPeerAddress(1, network.addresses[1]!);
  restarted.start();
  await waitFor(() => restarted.isConnected(1) && target.isConnected(0), 'the restarted validator', 10_000);
  // The very first dial got through: no failed attempt before the connection.
  assert.deepEqual(events.slice(0, events.indexOf('connected') + 1), ['connected']);
  // The strangers kept trying throughout and never held more than their pool.
  const { refusals, handshaking } = target.status();
  assert.ok(handshaking.strangers <= 32, JSON.stringify(handshaking));
  // ... and were refused for it: evicted from the full pool, or rate-limited (how much of each
  // depends on how fast this machine lets the swarm dial; a loaded machine dials slower).
  const pushedBack = (refusals.handshake_rate_limited ?? 0) + (refusals.handshake_evicted ?? 0);
  assert.ok(pushedBack > 0, `evictions or rate limits in ${JSON.stringify(refusals)}`);
  swarm.stop();
  await restarted.close();
  await target.close();
});

/** A transport for validator 1 with default limits, and validator 0's key in a raw TLS client. */
async function floodTarget(
  limits: Partial<TransportLimits> = {},
): Promise<{ receiver: TlsTransport; flooder: TLSSocket; received: number[] }> {
  const keys = [generateEd25519KeyPair(), generateEd25519KeyPair()];
  const receiver = createTlsTransport({
    selfIndex: 1,
    secretKey: keys[1]!.secretKey,
    validators: keys.map((key) => ({ publicKey: key.publicKey })),
    listen: { host: LOCALHOST, port: 0 },
    limits,
  });
  open.push(receiver);
  const received: number[] = [];
  receiver.onMessage((_from, message) => received.push(message.length));
  const flooder = rawClient(keys[0]!.secretKey, await receiver.listen());
  flooder.on('data', () => {});
  await new Promise<void>((resolve) => flooder.once('secureConnect', () => resolve()));
  await waitFor(() => receiver.isConnected(0), 'the connection');
  return { receiver, flooder, received };
}

test('a validator connecting from an address genesis does not name still gets a fair share of the stranger slots', async () => {
  const network = await startNetwork(2, { reconnectBaseMs: 20, reconnectMaxMs: 200 });
  const target = network.transports[1]!;
  await network.transports[0]!.close();
  await waitFor(() => !target.isConnected(0), 'the disconnection');
  const swarm = strangerSwarm(network.addresses[1]!, { idle: 200, slowloris: 0 });
  open.push({ close: () => swarm.stop() });
  await waitFor(
    () => target.status().handshaking.strangers === 32,
    'the strangers to fill their pool',
    10_000,
  );
  // Validator 0 behind a NAT: its connection comes from 127.0.4.1, which no validator address names.
  const identity = createValidatorTlsIdentity(network.keys[0]!.secretKey);
  const natted = tlsConnect({
    socket: netConnect({ host: LOCALHOST, port: network.addresses[1]!.port, localAddress: '127.0.4.1' }),
    cert: identity.certificatePem,
    key: identity.privateKeyPem,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  natted.on('error', () => {});
  natted.on('data', () => {});
  open.push({ close: () => natted.destroy() });
  await waitFor(() => target.isConnected(0), 'the validator behind the NAT', 5000);
  assert.ok((target.status().refusals.handshake_evicted ?? 0) >= 1, JSON.stringify(target.status().refusals));
  swarm.stop();
  natted.destroy();
  await target.close();
});

test('strangers holding the slots of two of four validators do not halt a network whose other two restart', async () => {
  // The attack that halted the network before: strangers hold validators 2 and 3's connection
  // slots, and validators 0 and 1 restart. If 0 and 1 could not reach 2 and 3 again, each side
  // would have two of the three votes a certificate needs.
  const net = await startTestDevnet();
  const swarms: StrangerSwarm[] = [];
  try {
    await restartBesideStrangers(net, swarms);
  } finally {
    for (const swarm of swarms) swarm.stop();
    await net.close();
  }
});

async function restartBesideStrangers(net: TestDevnet, swarms: StrangerSwarm[]): Promise<void> {
  const all = [0, 1, 2, 3];
  const minHeight = async () => Math.min(...(await net.heights(all)).map((height) => height ?? -1));
  await waitForAsync(async () => (await minHeight()) >= 3, 'all four finalizing', 60_000);
  const p2p = net.devnet.network.validators.map((validator) => validator.p2p);
  for (const index of [2, 3]) {
    const [host, port] = p2p[index]!.split(':') as [string, string];
    swarms.push(strangerSwarm({ host, port: Number(port) }, { idle: 200, slowloris: 40 }));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await net.devnet.supervisor.kill(0, 'SIGKILL');
  await net.devnet.supervisor.kill(1, 'SIGKILL');
  const before = Math.max(...(await net.heights([2, 3])).map((height) => height ?? -1));
  await Promise.all([net.devnet.supervisor.start(0), net.devnet.supervisor.start(1)]);
  await waitForAsync(
    async () => (await minHeight()) >= before + 10,
    'ten blocks finalized by all four',
    60_000,
  );
  for (const swarm of swarms) {
    assert.ok(swarm.attempts() > 240, `the strangers kept trying (${swarm.attempts()} connections)`);
  }
  await net.assertSameHashes(all, 1, await minHeight());
}

test('with the default limits a peer flooding messages is cut to the honest budget and banned', async () => {
  // Honest peers send about 30 messages/s (see DEFAULT_TRANSPORT_LIMITS); this one, holding a
  // validator's key but not using our transport, writes 12,000 frames at once.
  const { receiver, flooder, received } = await floodTarget();
  const startedMs = Date.now();
  const frames: Buffer[] = [];
  for (let i = 0; i < 12_000; i += 1) frames.push(frame(`m${i}`));
  flooder.write(Buffer.concat(frames));
  await waitFor(() => receiver.status().peers[0]!.banned, 'the ban', 10_000);
  const elapsedS = (Date.now() - startedMs) / 1000;
  const status = receiver.status().peers[0]!;
  // Delivered: at most the burst plus the sustained rate over the time it took.
  assert.ok(received.length <= 4096 + 1000 * elapsedS, `${received.length} delivered in ${elapsedS} s`);
  assert.ok((status.drops.rate_limited ?? 0) >= 100, JSON.stringify(status.drops));
  assert.ok((status.penalties.rate_limited ?? 0) >= 100);
  await receiver.close();
});

test('a peer sending more bytes than the byte budget has the excess dropped and pays for it', async () => {
  // A small budget so that the test does not depend on how fast this machine encrypts.
  const { receiver, flooder, received } = await floodTarget({
    rateBytesPerSecond: 1024 * 1024,
    rateBurstBytes: 4 * 1024 * 1024,
  });
  const startedMs = Date.now();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1024 * 1024, 0);
  const mebibyteFrame = Buffer.concat([header, Buffer.alloc(1024 * 1024)]);
  for (let i = 0; i < 16; i += 1) flooder.write(mebibyteFrame);
  await waitFor(
    () => received.length + (receiver.status().drops.rate_limited ?? 0) === 16,
    'every frame delivered or dropped',
    20_000,
  );
  const elapsedS = (Date.now() - startedMs) / 1000;
  assert.ok(received.length <= 4 + elapsedS, `${received.length} MiB delivered in ${elapsedS} s`);
  assert.ok((receiver.status().peers[0]!.penalties.rate_limited ?? 0) > 0);
  await receiver.close();
});
