/**
 * Hostile input against one running validator process (validator 1 of four): garbage, strangers,
 * half-open connections and oversize frames on its p2p port; malformed, huge and slow requests to
 * its API. Whatever arrives, the node must keep finalizing with the others, keep answering its
 * API, agree with the others on every block, and close what it should close.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { generateEd25519KeyPair } from '../../src/crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { readNodeConfig } from '../../src/node/config.ts';
import { createValidatorTlsIdentity } from '../../src/runtime/real/certificate.ts';
import { startTestDevnet, type TestDevnet, waitFor, within } from './harness.ts';

const TARGET = 1;
let net: TestDevnet;
let p2p: { host: string; port: number };
let api: string;
const sockets: Socket[] = [];

before(async () => {
  net = await startTestDevnet();
  p2p = net.devnet.network.genesis.validators[TARGET]!.p2p;
  api = net.apiUrls[TARGET]!;
  await waitFor(async () => ((await net.status(TARGET))?.height ?? 0) >= 2, 'the network finalizing', 30_000);
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await net?.close();
});

/** Resolves when `socket` is closed (by either side). */
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
  });
}

function tcp(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(p2p.port, p2p.host, () => resolve(socket));
    socket.on('error', () => {});
    socket.once('error', reject);
    sockets.push(socket);
  });
}

/** A TLS client presenting the certificate of `secretKey` (a validator's, or a stranger's). */
function tlsClient(secretKey: Uint8Array) {
  const identity = createValidatorTlsIdentity(secretKey);
  const socket = tlsConnect({
    host: p2p.host,
    port: p2p.port,
    cert: identity.certificatePem,
    key: identity.privateKeyPem,
    minVersion: 'TLSv1.3',
    // Validators authenticate each other by key (checked after the handshake), not by CA.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  socket.on('error', () => {});
  socket.on('data', () => {});
  sockets.push(socket);
  return socket;
}

function frame(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

/** The node finalizes `blocks` more blocks and answers its API meanwhile. */
async function keepsFinalizing(blocks: number): Promise<void> {
  const start = (await net.status(TARGET))?.height;
  assert.ok(start !== undefined, 'the target answers /v1/status');
  await waitFor(
    async () => ((await net.status(TARGET))?.height ?? 0) >= start + blocks,
    `validator ${TARGET} to finalize ${blocks} more blocks`,
    60_000,
  );
}

test('garbage, strangers, half-open connections and oversize frames on the p2p port', {
  timeout: 120_000,
}, async () => {
  // Plain TCP garbage: the TLS handshake fails and the node hangs up.
  const garbage = await Promise.all(Array.from({ length: 16 }, () => tcp()));
  for (const socket of garbage) socket.write(randomBytes(64 * 1024));
  // Half-open: connected, then silent. The handshake timeout must reclaim them.
  const silent = await Promise.all(Array.from({ length: 48 }, () => tcp().catch(() => undefined)));
  // A well-formed TLS client whose key is not in genesis: refused after the handshake.
  const stranger = tlsClient(generateEd25519KeyPair().secretKey);
  stranger.once('secureConnect', () => stranger.write(frame(randomBytes(100))));

  await within(Promise.all(garbage.map(closed)), 30_000, 'the node to hang up on garbage').catch(
    async (error: Error) => {
      // A CI run once timed out here and no local run has: say what was left, to find out why.
      const open = garbage.filter((socket) => !socket.destroyed);
      const status = await net.status(TARGET);
      throw new Error(
        `${error.message}; ${open.length} of ${garbage.length} garbage sockets still open ` +
          `(bytes read ${open.map((socket) => socket.bytesRead).join(',')}, written ${open.map((socket) => socket.bytesWritten).join(',')}); ` +
          `target ${status === undefined ? 'does not answer /v1/status' : `at height ${status.height}`}`,
      );
    },
  );
  await within(
    Promise.all(silent.flatMap((socket) => (socket === undefined ? [] : [closed(socket)]))),
    30_000,
    'the handshake timeout to close the half-open connections',
  );
  await within(closed(stranger), 30_000, 'the node to refuse a key outside genesis');

  // A validator's own key gone bad (validator 0, which dials validator 1): junk frames, then a
  // length prefix far above the frame limit. The node drops the junk, closes on the oversize
  // prefix, and the real validator 0 reconnects.
  const config = readNodeConfig(net.devnet.network.validators[0]!.config);
  const password = readFileSync(net.devnet.network.passwordFile, 'utf8').split('\n')[0]!;
  const key = await loadEd25519Keystore(readFileSync(config.keystorePath, 'utf8'), password);
  const impostor = tlsClient(key.secretKey);
  await within(
    new Promise<void>((resolve, reject) => {
      impostor.once('secureConnect', () => resolve());
      impostor.once('close', () => reject(new Error('the handshake as validator 0 failed')));
    }),
    30_000,
    'the handshake as validator 0',
  );
  const oversize = Buffer.alloc(4);
  oversize.writeUInt32BE(0xffff_ffff, 0);
  impostor.write(
    Buffer.concat([frame(randomBytes(300)), frame(randomBytes(2000)), oversize, randomBytes(64)]),
  );
  await within(closed(impostor), 30_000, 'the node to hang up on an oversize frame');

  await keepsFinalizing(10);
  await waitFor(
    async () => (await net.status(TARGET))?.validators.every((validator) => validator.connected) === true,
    'validator 1 connected to all three peers again',
    30_000,
  );
});

interface RawAnswer {
  status: number | undefined;
  body: string;
  /** True when the server closed or reset the connection instead of answering. */
  hungUp: boolean;
  /** True when nothing happened for 30 s (we gave up): never acceptable. */
  timedOut: boolean;
}

/** One HTTP request with a raw body (so that nothing on our side fixes it up). */
function send(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Uint8Array | string,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const url = new URL(path, api);
    const outgoing = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode, body: text, hungUp: false, timedOut: false }),
        );
        response.on('error', () =>
          resolve({ status: response.statusCode, body: text, hungUp: true, timedOut: false }),
        );
      },
    );
    let timedOut = false;
    outgoing.setTimeout(30_000, () => {
      timedOut = true;
      outgoing.destroy();
    });
    outgoing.on('error', () => resolve({ status: undefined, body: '', hungUp: !timedOut, timedOut }));
    if (body !== undefined) outgoing.write(body);
    outgoing.end();
  });
}

function errorCode(answer: RawAnswer): string | undefined {
  try {
    return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

test('malformed, huge and slow API requests get a 4xx or a hang-up; the API keeps answering', {
  timeout: 120_000,
}, async () => {
  // Slow clients first, so that every other request below runs while they hold connections.
  const slow = await Promise.all(
    Array.from(
      { length: 16 },
      () =>
        new Promise<Socket>((resolve) => {
          const url = new URL(api);
          const socket = netConnect(Number(url.port), url.hostname, () => {
            socket.write('POST /v1/transactions HTTP/1.1\r\nHost: palisade\r\nContent-Length: 100\r\n');
            resolve(socket);
          });
          socket.on('error', () => {});
          sockets.push(socket);
        }),
    ),
  );
  // One header byte every half second: the request never completes, and must be cut off.
  const drip = setInterval(() => {
    for (const socket of slow) if (!socket.destroyed) socket.write('X');
  }, 500);

  try {
    const json = { 'content-type': 'application/json' };
    const octets = { 'content-type': 'application/octet-stream' };
    const cases: Array<{ what: string; answer: Promise<RawAnswer>; status: number; code?: string }> = [
      {
        what: 'truncated JSON',
        answer: send('POST', '/v1/transactions', json, '{"transaction": '),
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        what: 'a field of the wrong shape',
        answer: send('POST', '/v1/transactions', json, '{"transaction":"zz"}'),
        status: 400,
        code: 'INVALID_REQUEST',
      },
      {
        what: 'an unknown field',
        answer: send('POST', '/v1/transactions', json, '{"transaction":"0x00","extra":1}'),
        status: 400,
        code: 'INVALID_REQUEST',
      },
      {
        what: 'random bytes as a transaction',
        answer: send('POST', '/v1/transactions', octets, randomBytes(300)),
        status: 400,
        code: 'MALFORMED',
      },
      {
        what: 'an unsupported media type',
        answer: send('POST', '/v1/transactions', { 'content-type': 'text/plain' }, 'hello'),
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      { what: 'a non-numeric height', answer: send('GET', '/v1/blocks/abc', {}), status: 400 },
      { what: 'a bad account key', answer: send('GET', '/v1/accounts/0xzz', {}), status: 400 },
      {
        what: 'an over-long path parameter',
        answer: send('GET', `/v1/transactions/0x${'ab'.repeat(200)}`, {}),
        status: 414,
        code: 'URI_TOO_LONG',
      },
      {
        what: 'a page far above the limit',
        answer: send('GET', '/v1/blocks?limit=1000000', {}),
        status: 400,
        code: 'INVALID_REQUEST',
      },
      { what: 'an unknown route', answer: send('GET', '/v1/nothing-here', {}), status: 404 },
    ];
    for (const item of cases) {
      const answer = await item.answer;
      assert.equal(answer.status, item.status, `${item.what}: ${answer.body}`);
      if (item.code !== undefined) assert.equal(errorCode(answer), item.code, item.what);
    }

    // 8 MiB against a 16 KiB limit: a 413 or a hang-up, never the body reaching the node.
    const huge = await send(
      'POST',
      '/v1/transactions',
      { ...octets, 'content-length': 8 * 1024 * 1024 },
      randomBytes(8 * 1024 * 1024),
    );
    assert.ok(
      !huge.timedOut && (huge.hungUp || huge.status === 413),
      `huge body: ${huge.status} ${huge.body}`,
    );

    // A thousand concurrent junk submissions, then the API still serves status promptly.
    const burst = await Promise.all(
      Array.from({ length: 1000 }, () => send('POST', '/v1/transactions', octets, randomBytes(120))),
    );
    assert.ok(burst.every((answer) => answer.status === 400 || answer.hungUp));
    assert.ok((await net.status(TARGET)) !== undefined, 'status answers during the slow requests');

    // The request timeout cuts the slow clients off.
    await within(Promise.all(slow.map(closed)), 60_000, 'the API to cut off the slow requests');
  } finally {
    clearInterval(drip);
  }
  await keepsFinalizing(5);
  const height = Math.min(...(await net.heights([0, 1, 2, 3])).map((value) => value ?? 0));
  await net.assertSameHashes([0, 1, 2, 3], 1, height);
});
