/**
 * The validator transport when the set changes (issue 11, "validator-set change"), over real
 * sockets on 127.0.0.1: a validator that is not in genesis is a stranger until governance adds it,
 * a directory peer that is not yet (or no longer) in the set is refused, and an added validator
 * is dialed, heard and sent to once it is admitted. Attacks first: a stranger holding the joiner's
 * place before the change (its key is unknown), the joiner's own key while its change is only
 * proposed (in the directory, not admitted), a removed validator reconnecting, and strangers'
 * idle sockets around the joiner's admission.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { toHex } from '../../src/crypto/bytes.ts';
import { type Ed25519KeyPair, generateEd25519KeyPair } from '../../src/crypto/ed25519.ts';
import { createValidatorTlsIdentity } from '../../src/runtime/real/certificate.ts';
import {
  createTlsTransport,
  type PeerAddress,
  type TlsTransport,
  type TransportLimits,
} from '../../src/runtime/real/transport.ts';

const LOCALHOST = '127.0.0.1';
const open: { close(): unknown }[] = [];
after(async () => {
  for (const item of open) await item.close();
});

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

const text = (value: string) => new Uint8Array(Buffer.from(value));

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

function closed(socket: { once(event: 'close', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

interface Node {
  transport: TlsTransport;
  inbox: { from: number; text: string }[];
  address: PeerAddress;
}

async function startNode(
  selfKey: Ed25519KeyPair,
  genesis: readonly Ed25519KeyPair[],
  addresses: ReadonlyMap<string, PeerAddress>,
): Promise<Node> {
  const inGenesis = genesis.findIndex((key) => toHex(key.publicKey) === toHex(selfKey.publicKey));
  const directory = inGenesis >= 0 ? genesis : [...genesis, selfKey];
  const transport = createTlsTransport({
    selfIndex: inGenesis >= 0 ? inGenesis : genesis.length,
    secretKey: selfKey.secretKey,
    validators: directory.map((key) => {
      const address = addresses.get(toHex(key.publicKey));
      return address === undefined ? { publicKey: key.publicKey } : { publicKey: key.publicKey, address };
    }),
    genesisValidators: genesis.length,
    listen: { host: LOCALHOST, port: 0 },
    limits: FAST,
  });
  const inbox: Node['inbox'] = [];
  transport.onMessage((from, message) => inbox.push({ from, text: Buffer.from(message).toString() }));
  open.push(transport);
  return { transport, inbox, address: await transport.listen() };
}

/** Four genesis validators listening, connected, and a joiner's key (not in genesis). */
async function network() {
  const genesis = Array.from({ length: 4 }, () => generateEd25519KeyPair());
  const nodes: Node[] = [];
  for (const key of genesis) nodes.push(await startNode(key, genesis, new Map()));
  for (const [index, node] of nodes.entries()) {
    for (const [peer, other] of nodes.entries())
      if (peer !== index) node.transport.setPeerAddress(peer, other.address);
    node.transport.start();
  }
  for (const node of nodes)
    await waitFor(() => node.transport.status().peers.every((peer) => peer.connected), 'the genesis mesh');
  return { genesis, nodes };
}

test('attack: the joiner’s key before governance adds it is a stranger, and while only proposed it is refused', async () => {
  const { nodes } = await network();
  const joiner = generateEd25519KeyPair();
  // Nobody's directory holds it: a stranger, whoever presents it.
  const early = rawClient(joiner.secretKey, nodes[0]!.address);
  await closed(early);
  await waitFor(() => nodes[0]!.transport.status().refusals.unknown_key === 1, 'an unknown key');
  // In the directory (the change is known) but not admitted (not in the current or next set).
  const peer = nodes[0]!.transport.addPeer(joiner.publicKey);
  assert.equal(peer, 4);
  assert.equal(nodes[0]!.transport.addPeer(joiner.publicKey), 4, 'one id per key');
  const proposed = rawClient(joiner.secretKey, nodes[0]!.address);
  proposed.once('secureConnect', () => proposed.write(Buffer.from([0, 0, 0, 2, 0x41, 0x41])));
  await closed(proposed);
  await waitFor(() => nodes[0]!.transport.status().refusals.not_admitted === 1, 'a refusal: not admitted');
  // Nothing is queued for it either.
  nodes[0]!.transport.send(peer, text('not yet'));
  const status = nodes[0]!.transport.status().peers.find((entry) => entry.peer === peer)!;
  assert.equal(status.admitted, false);
  assert.equal(status.queuedMessages, 0);
  assert.equal(status.drops.not_admitted, 1);
  for (const node of nodes) await node.transport.close();
});

test('an admitted joiner is dialed by every genesis validator and exchanges messages both ways', async () => {
  const { genesis, nodes } = await network();
  const joinerKey = generateEd25519KeyPair();
  const joiner = await startNode(joinerKey, genesis, new Map());
  for (const [index, node] of nodes.entries()) joiner.transport.setPeerAddress(index, node.address);
  joiner.transport.start();
  for (const node of nodes) {
    const peer = node.transport.addPeer(joinerKey.publicKey, joiner.address);
    node.transport.setAdmitted([0, 1, 2, 3, peer]);
  }
  await waitFor(
    () => joiner.transport.status().peers.every((peer) => peer.connected),
    'the joiner connected',
  );
  // The genesis validators dial; the joiner never does (no wrong-direction refusals anywhere).
  assert.deepEqual(
    joiner.transport.status().peers.map((peer) => peer.direction),
    ['inbound', 'inbound', 'inbound', 'inbound'],
  );
  for (const node of nodes) node.transport.send(4, text(`to the joiner`));
  joiner.transport.broadcast(text('hello from the joiner'));
  await waitFor(() => joiner.inbox.length === 4, 'four messages at the joiner');
  await waitFor(() => nodes.every((node) => node.inbox.length === 1), 'the joiner’s broadcast');
  for (const node of nodes) assert.deepEqual(node.inbox, [{ from: 4, text: 'hello from the joiner' }]);
  assert.deepEqual(joiner.inbox.map((entry) => entry.from).sort(), [0, 1, 2, 3]);
  for (const node of nodes) assert.equal(node.transport.status().refusals.wrong_direction, undefined);
  for (const node of [...nodes, joiner]) await node.transport.close();
});

test('attack: a removed validator is cut off, its messages stop, and its reconnection is refused', async () => {
  const { genesis, nodes } = await network();
  for (const node of nodes.slice(0, 3)) node.transport.setAdmitted([0, 1, 2]);
  await waitFor(
    () =>
      nodes.slice(0, 3).every((node) => !node.transport.status().peers.find((p) => p.peer === 3)!.connected),
    'validator 3 cut off',
  );
  nodes[3]!.transport.broadcast(text('still here?'));
  // It redials 0..2 (they dial it: it waits) — its own attempts against the rule or as itself:
  const retry = rawClient(genesis[3]!.secretKey, nodes[0]!.address);
  await closed(retry);
  await waitFor(
    () => (nodes[0]!.transport.status().refusals.not_admitted ?? 0) >= 1,
    'its reconnection refused',
  );
  nodes[0]!.transport.broadcast(text('among the three'));
  await waitFor(() => nodes[1]!.inbox.length === 1 && nodes[2]!.inbox.length === 1, 'the three still talk');
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const node of nodes.slice(0, 3))
    assert.ok(
      node.inbox.every((entry) => entry.from !== 3),
      'nothing from the removed validator',
    );
  assert.deepEqual(nodes[3]!.inbox, [], 'and nothing to it');
  for (const node of nodes) await node.transport.close();
});

test('two added validators connect exactly once whatever order their directories list each other in', async () => {
  const genesis = Array.from({ length: 4 }, () => generateEd25519KeyPair());
  const [a, b] = [generateEd25519KeyPair(), generateEd25519KeyPair()];
  // Each numbers itself first after genesis, then learns of the other.
  const nodeA = await startNode(a, genesis, new Map());
  const nodeB = await startNode(b, genesis, new Map());
  const bAtA = nodeA.transport.addPeer(b.publicKey, nodeB.address);
  const aAtB = nodeB.transport.addPeer(a.publicKey, nodeA.address);
  assert.equal(bAtA, 5);
  assert.equal(aAtB, 5);
  nodeA.transport.setAdmitted([bAtA]);
  nodeB.transport.setAdmitted([aAtB]);
  nodeA.transport.start();
  nodeB.transport.start();
  await waitFor(() => nodeA.transport.isConnected(bAtA) && nodeB.transport.isConnected(aAtB), 'the pair');
  nodeA.transport.send(bAtA, text('from a'));
  await waitFor(() => nodeB.inbox.length === 1, 'a message');
  assert.deepEqual(nodeB.inbox, [{ from: aAtB, text: 'from a' }]);
  const directions = [
    nodeA.transport.status().peers.find((p) => p.peer === bAtA)!.direction,
    nodeB.transport.status().peers.find((p) => p.peer === aAtB)!.direction,
  ].sort();
  assert.deepEqual(directions, ['inbound', 'outbound']);
  for (const node of [nodeA, nodeB]) {
    assert.equal(node.transport.status().refusals.wrong_direction, undefined);
    await node.transport.close();
  }
});

test('strangers’ idle sockets do not keep an admitted joiner from connecting', async () => {
  const { genesis, nodes } = await network();
  const joinerKey = generateEd25519KeyPair();
  const joiner = await startNode(joinerKey, genesis, new Map());
  // Idle TCP connections and stranger TLS clients at validator 0 before the joiner is admitted.
  const idle = Array.from({ length: 40 }, () => {
    const socket = netConnect(nodes[0]!.address.port, LOCALHOST);
    socket.on('error', () => {});
    open.push({ close: () => socket.destroy() });
    return socket;
  });
  for (let i = 0; i < 4; i++) rawClient(generateEd25519KeyPair().secretKey, nodes[0]!.address);
  const peer = nodes[0]!.transport.addPeer(joinerKey.publicKey, joiner.address);
  nodes[0]!.transport.setAdmitted([1, 2, 3, peer]);
  joiner.transport.start();
  await waitFor(() => nodes[0]!.transport.isConnected(peer), 'the joiner admitted past the strangers');
  assert.ok(joiner.transport.isConnected(0));
  for (const socket of idle) socket.destroy();
  for (const node of [...nodes, joiner]) await node.transport.close();
});
