/**
 * The webhook sender against a real HTTP server on loopback: retries with backoff through 503s,
 * gives up on a 400, signs bodies, and keeps its queue bounded when the receiver is down.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../crypto/bytes.ts';
import { createFinding, type Finding, type Severity } from './finding.ts';
import { createWebhookSender } from './webhook.ts';

interface Received {
  body: { findings: Finding[] };
  signature: string | undefined;
  atMs: number;
}

async function receiver(
  answer: (count: number) => number,
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    received.push({
      body: JSON.parse(text),
      signature: request.headers['x-palisade-signature'] as string | undefined,
      atMs: performance.now(),
    });
    response.statusCode = answer(received.length);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, server };
}

function finding(index: number, severity: Severity = 'High'): Finding {
  return createFinding({
    alertId: 'PALISADE-TEST',
    name: 'test',
    description: 'test',
    severity,
    type: 'Info',
    height: index,
    timeMs: index,
    key: String(index),
  });
}

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

describe('webhook', () => {
  test('retries through 503s with growing delays, then delivers once; bodies are signed', async () => {
    const hook = await receiver((count) => (count <= 2 ? 503 : 200));
    servers.push(hook.server);
    const errors: Array<{ attempt: number; status?: number; final: boolean }> = [];
    const sender = createWebhookSender({
      url: hook.url,
      secret: 'shared-secret',
      backoffBaseMs: 40,
      random: () => 0.999,
      onError: (error) => errors.push(error),
    });
    sender.enqueue([finding(1), finding(2, 'Low')]);
    await sender.idle();
    assert.equal(hook.received.length, 3);
    assert.deepEqual(
      hook.received.map((r) => r.body.findings.map((f) => f.height)),
      [[1], [1], [1]],
      'the same batch each time; the Low finding stays under minSeverity',
    );
    assert.deepEqual(sender.stats(), { delivered: 1, failed: 0, dropped: 0, retries: 2, queued: 0 });
    assert.deepEqual(
      errors.map((e) => [e.attempt, e.status, e.final]),
      [
        [1, 503, false],
        [2, 503, false],
      ],
    );
    const gaps = [
      hook.received[1]!.atMs - hook.received[0]!.atMs,
      hook.received[2]!.atMs - hook.received[1]!.atMs,
    ];
    assert.ok(gaps[0]! >= 35, `first backoff ~40 ms, was ${gaps[0]}`);
    assert.ok(gaps[1]! >= 75, `second backoff ~80 ms (doubled), was ${gaps[1]}`);
    const body = JSON.stringify(hook.received[2]!.body);
    const expected = `sha256=${toHex(hmac(sha256, new TextEncoder().encode('shared-secret'), new TextEncoder().encode(body)))}`;
    assert.equal(hook.received[2]!.signature, expected);
  });

  test('a 400 is final: no retry', async () => {
    const hook = await receiver(() => 400);
    servers.push(hook.server);
    const sender = createWebhookSender({ url: hook.url, backoffBaseMs: 10 });
    sender.enqueue([finding(1)]);
    await sender.idle();
    assert.equal(hook.received.length, 1);
    assert.equal(sender.stats().failed, 1);
    assert.equal(hook.received[0]!.signature, undefined, 'unsigned without a secret');
  });

  test('a receiver that is down: attempts are bounded and the queue drops the oldest', async () => {
    const hook = await receiver(() => 200);
    hook.server.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const sender = createWebhookSender({
      url: hook.url,
      backoffBaseMs: 5,
      backoffMaxMs: 10,
      attemptsMax: 3,
      queueMax: 10,
      batchMax: 5,
    });
    const batch = Array.from({ length: 30 }, (_, i) => finding(i + 1));
    sender.enqueue(batch);
    await sender.idle();
    const stats = sender.stats();
    // Thirty queued at once into room for ten: the twenty oldest go; the ten left go out as two
    // batches of five, each tried three times.
    assert.equal(stats.dropped, 20);
    assert.equal(stats.failed, 10);
    assert.equal(stats.delivered, 0);
    assert.equal(stats.retries, 2 * 2);
  });

  test('only http(s) URLs', () => {
    assert.throws(() => createWebhookSender({ url: 'file:///etc/passwd' }), { code: 'INVALID_CONFIG' });
    assert.throws(() => createWebhookSender({ url: 'not a url' }), { field: 'webhook.url' });
    assert.throws(() => createWebhookSender({ url: 'http://127.0.0.1/', attemptsMax: 0 }), {
      field: 'webhook.attemptsMax',
    });
  });
});
