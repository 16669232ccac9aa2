/**
 * The checked JSON-RPC reader against a lying endpoint on 127.0.0.1: every malformed answer is
 * refused with RPC_MALFORMED and the field, a silent one with RPC_TIMEOUT within the bound, a
 * JSON-RPC error with RPC_ERROR, a closed port with RPC_UNREACHABLE. The honest answers of the
 * same endpoint are accepted.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DEPOSITED_TOPIC } from './deposits.ts';
import { createRpcDepositFollower } from './follower-rpc.ts';
import { createEvmReader, type EvmRpcErrorCode } from './rpc.ts';

const vault = new Uint8Array(20).fill(0x11);
const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;
const word = (value: bigint) => value.toString(16).padStart(64, '0');
const blockHash = hex(new Uint8Array(32).fill(0xb1));
const goodBlock = { number: '0x5', hash: blockHash, parentHash: hex(new Uint8Array(32).fill(0xb0)) };
const goodLog = {
  address: hex(vault),
  blockHash,
  blockNumber: '0x5',
  logIndex: '0x0',
  transactionHash: hex(new Uint8Array(32).fill(0x77)),
  removed: false,
  topics: [
    hex(DEPOSITED_TOPIC),
    hex(new Uint8Array(32).fill(9)),
    `0x${'00'.repeat(12)}${'22'.repeat(20)}`,
    `0x${'00'.repeat(12)}${'33'.repeat(20)}`,
  ],
  data: `0x${word(1000n)}${word(1n)}`,
};

/** What the endpoint answers next, per method: a result, an error, or silence. */
type Answer = { result: unknown } | { error: { code: number; message: string } } | 'silence' | 'not json';
let answers: Record<string, Answer> = {};
let server: Server;
let url: string;

before(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string };
      const answer = answers[body.method] ?? { error: { code: -32601, message: 'no such method' } };
      if (answer === 'silence') return;
      response.writeHead(200, { 'content-type': 'application/json' });
      if (answer === 'not json') return response.end('<html>');
      response.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, ...answer }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function refused(code: EvmRpcErrorCode, run: () => Promise<unknown>, field?: string) {
  await assert.rejects(run, (error: { code?: string; field?: string }) => {
    assert.equal(error.code, code, String(error));
    if (field !== undefined) assert.equal(error.field, field);
    return true;
  });
}

describe('EVM JSON-RPC reader against a lying endpoint', () => {
  test('honest answers are read', async () => {
    answers = {
      eth_blockNumber: { result: '0x5' },
      eth_getBlockByNumber: { result: goodBlock },
      eth_getLogs: { result: [goodLog] },
    };
    const reader = createEvmReader({ url });
    assert.equal(await reader.headNumber(), 5n);
    const header = (await reader.blockByNumber(5n))!;
    assert.equal(header.number, 5n);
    const logs = await reader.depositLogs(vault, header);
    assert.equal(logs.length, 1);
  });

  test('malformed heads and blocks are refused with the field', async () => {
    const reader = createEvmReader({ url });
    for (const bad of ['5', '0x', '0x05', 5, null, `0x${'f'.repeat(80)}`]) {
      answers = { eth_blockNumber: { result: bad } };
      await refused('RPC_MALFORMED', () => reader.headNumber(), 'result');
    }
    const blocks: Array<[unknown, string]> = [
      [{ ...goodBlock, hash: `0x${'b1'.repeat(31)}` }, 'hash'],
      [{ ...goodBlock, parentHash: 'b0' }, 'parentHash'],
      [{ ...goodBlock, number: '0x6' }, 'number'],
      ['a block', 'result'],
    ];
    for (const [block, field] of blocks) {
      answers = { eth_getBlockByNumber: { result: block } };
      await refused('RPC_MALFORMED', () => reader.blockByNumber(5n), field);
    }
  });

  test('logs of another block, contract or event, removed, repeated or undecodable are refused', async () => {
    const reader = createEvmReader({ url });
    const header = {
      number: 5n,
      hash: Uint8Array.from(Buffer.from(blockHash.slice(2), 'hex')),
      parentHash: new Uint8Array(32),
    };
    const cases: Array<[unknown, string]> = [
      [[{ ...goodLog, blockHash: hex(new Uint8Array(32).fill(0xee)) }], '0.blockHash'],
      [[{ ...goodLog, blockNumber: '0x4' }], '0.blockNumber'],
      [[{ ...goodLog, address: hex(new Uint8Array(20).fill(0x12)) }], '0.address'],
      [[{ ...goodLog, topics: [hex(new Uint8Array(32).fill(1)), ...goodLog.topics.slice(1)] }], '0.topics.0'],
      [[{ ...goodLog, removed: true }], '0.removed'],
      [[goodLog, goodLog], '1.logIndex'],
      [{ logs: [] }, 'result'],
      [Array.from({ length: 1025 }, () => goodLog), 'result'],
    ];
    for (const [logs, field] of cases) {
      answers = { eth_getLogs: { result: logs } };
      await refused('RPC_MALFORMED', () => reader.depositLogs(vault, header), field);
    }
    // A well-formed log whose data is not a Deposited event's: the follower refuses it as malformed.
    answers = {
      eth_blockNumber: { result: '0x5' },
      eth_getBlockByNumber: { result: goodBlock },
      eth_getLogs: { result: [{ ...goodLog, data: `0x${word(1000n)}` }] },
    };
    const follower = createRpcDepositFollower({
      reader,
      vault,
      confirmations: 1,
      fromBlock: 5n,
      report: () => assert.fail('reported'),
    });
    await refused('RPC_MALFORMED', () => follower.poll(), 'data');
  });

  test('silence, errors, junk and a closed port are typed and bounded', async () => {
    answers = { eth_blockNumber: 'silence' };
    const started = performance.now();
    await refused('RPC_TIMEOUT', () => createEvmReader({ url, timeoutMs: 200 }).headNumber());
    assert.ok(performance.now() - started < 5000, 'bounded by the timeout, not by the server');
    answers = { eth_blockNumber: { error: { code: -32000, message: 'header not found' } } };
    await refused('RPC_ERROR', () => createEvmReader({ url }).headNumber());
    answers = { eth_blockNumber: 'not json' };
    await refused('RPC_MALFORMED', () => createEvmReader({ url }).headNumber(), 'body');
    answers = { eth_getLogs: { result: Array.from({ length: 200 }, () => goodLog) } };
    const header = { number: 5n, hash: new Uint8Array(32).fill(0xb1), parentHash: new Uint8Array(32) };
    await refused(
      'RPC_MALFORMED',
      () => createEvmReader({ url, responseBytesMax: 4096 }).depositLogs(vault, header),
      'body',
    );
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await refused('RPC_UNREACHABLE', () => createEvmReader({ url: `http://127.0.0.1:${port}` }).headNumber());
  });
});
