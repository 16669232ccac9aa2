/**
 * `palisade bench primitives` (also `npm run bench`): the foundation's primitives, each beside a
 * peer or bound measured in the same run, as a ratio.
 *
 *   Ed25519 sign / verify (node:crypto)   peer: @noble/curves ed25519, the pure-JS alternative
 *   order transaction encode / decode     peer: JSON.stringify / JSON.parse of its JSON form
 *   order transaction decode + id, direct  peer: the same through the SSZ codec (what it replaced)
 *   ordered-list Merkle root, 10,000 leaves   bound: the 2n − 1 bare SHA-256 calls it must make
 *   state commitment updates, 100,000 keys    bound: the 100,000 updates/s target
 *   TLS frames of one turn in one write       peer: a write per frame (the transport before)
 *
 * A table on a terminal; one JSON document with --json.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import { fromJson, toJson } from '../src/codec/json.ts';
import { SignedTransactionCodec, SignedTransactionType } from '../src/codec/transaction.ts';
import { fromHex, toHex } from '../src/crypto/bytes.ts';
import { createEd25519Signer, ed25519Verify } from '../src/crypto/ed25519.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { merkleRoot } from '../src/crypto/merkle.ts';
import { createStateCommitment } from '../src/crypto/state-commitment.ts';
import { decodeTransaction, transactionId } from '../src/crypto/transaction.ts';
import { createValidatorTlsIdentity } from '../src/runtime/real/certificate.ts';

interface Row {
  name: string;
  value: number;
  unit: string;
  peer: string;
  peerValue: number;
  /** value / peerValue for rates (higher is better); peerValue / value for times. */
  ratio: number;
}

/** Runs `operation` repeatedly for about `budgetMs` and returns operations per second. */
function rate(operation: (iteration: number) => void, budgetMs = 700): number {
  for (let i = 0; i < 200; i++) operation(i); // warm-up so the JIT has compiled the hot path
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let i = 0; i < 100; i++) operation(iterations++);
    elapsed = performance.now() - start;
  }
  return (iterations * 1000) / elapsed;
}

function timeMs(operation: () => void, repeats = 5): number {
  operation();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) operation();
  return (performance.now() - start) / repeats;
}

function deterministicBytes(label: string, index: number): Uint8Array {
  return sha256(new TextEncoder().encode(`${label}:${index}`));
}

function ed25519Rows(): Row[] {
  const seed = deterministicBytes('bench signer', 0);
  const signer = createEd25519Signer(seed);
  const message = deterministicBytes('bench message', 0);
  const signature = signer.sign(message);
  const signPerSecond = rate(() => signer.sign(message));
  const noblePublicKey = nobleEd25519.getPublicKey(seed);
  const nobleSignPerSecond = rate(() => nobleEd25519.sign(message, seed), 500);
  const verifyPerSecond = rate(() => ed25519Verify(signer.publicKey, message, signature));
  const nobleVerifyPerSecond = rate(() => nobleEd25519.verify(signature, message, noblePublicKey), 500);
  return [
    {
      name: 'Ed25519 sign (node:crypto)',
      value: signPerSecond,
      unit: 'ops/s',
      peer: '@noble/curves sign',
      peerValue: nobleSignPerSecond,
      ratio: signPerSecond / nobleSignPerSecond,
    },
    {
      name: 'Ed25519 verify (node:crypto)',
      value: verifyPerSecond,
      unit: 'ops/s',
      peer: '@noble/curves verify',
      peerValue: nobleVerifyPerSecond,
      ratio: verifyPerSecond / nobleVerifyPerSecond,
    },
  ];
}

function codecRows(): { rows: Row[]; orderBytes: number } {
  const fixture = JSON.parse(
    readFileSync(new URL('../test/fixtures/codec/order-transaction.json', import.meta.url), 'utf8'),
  ) as { encoding: string };
  const bytes = fromHex(fixture.encoding)!;
  const transaction = SignedTransactionCodec.decode(bytes);
  const jsonText = JSON.stringify(toJson(SignedTransactionType, transaction));
  const encodePerSecond = rate(() => SignedTransactionCodec.encode(transaction));
  const decodePerSecond = rate(() => SignedTransactionCodec.decode(bytes));
  const jsonEncodePerSecond = rate(() => JSON.stringify(toJson(SignedTransactionType, transaction)));
  const jsonDecodePerSecond = rate(() => fromJson(SignedTransactionType, JSON.parse(jsonText)));
  // What a validator derives per transaction at admission and on its signature thread: the value,
  // the id and the signed message's body, through the direct reader and through the codec.
  const admitDirectPerSecond = rate(() => decodeTransaction(bytes));
  // The peer is what decodeTransaction did before the direct reader: the codec, then the id over
  // the body encoded again, the same hex keys and freezing.
  const admitCodecPerSecond = rate(() => {
    const decoded = SignedTransactionCodec.decode(bytes);
    Object.freeze(decoded.body);
    Object.freeze(decoded);
    const id = transactionId(decoded);
    return Object.freeze({
      transaction: decoded,
      id,
      idHex: toHex(id),
      signerHex: toHex(decoded.body.signer),
    });
  });
  return {
    orderBytes: bytes.length,
    rows: [
      {
        name: `order tx encode (${bytes.length} B, SSZ)`,
        value: encodePerSecond,
        unit: 'ops/s',
        peer: 'JSON form stringify',
        peerValue: jsonEncodePerSecond,
        ratio: encodePerSecond / jsonEncodePerSecond,
      },
      {
        name: `order tx decode (${bytes.length} B, SSZ)`,
        value: decodePerSecond,
        unit: 'ops/s',
        peer: 'JSON form parse',
        peerValue: jsonDecodePerSecond,
        ratio: decodePerSecond / jsonDecodePerSecond,
      },
      {
        name: `order tx decode + id (${bytes.length} B, direct reader)`,
        value: admitDirectPerSecond,
        unit: 'ops/s',
        peer: 'SSZ codec decode + id',
        peerValue: admitCodecPerSecond,
        ratio: admitDirectPerSecond / admitCodecPerSecond,
      },
    ],
  };
}

function merkleRow(): Row {
  const leafCount = 10_000;
  const leaves = Array.from({ length: leafCount }, (_, i) => deterministicBytes('leaf', i));
  const rootMs = timeMs(() => merkleRoot(leaves));
  const scratch = new Uint8Array(65);
  const bareMs = timeMs(() => {
    for (let i = 0; i < 2 * leafCount - 1; i++) sha256(scratch);
  });
  return {
    name: 'Merkle root, 10,000 leaves',
    value: rootMs,
    unit: 'ms',
    peer: '19,999 bare SHA-256 calls',
    peerValue: bareMs,
    ratio: bareMs / rootMs,
  };
}

function stateRows(): Row[] {
  const keyCount = 100_000;
  const target = 100_000;
  const keys = Array.from({ length: keyCount }, (_, i) => deterministicBytes('state key', i));
  const state = createStateCommitment();
  const loadStart = performance.now();
  for (const [i, key] of keys.entries()) state.set(key, deterministicBytes('state value', i).subarray(0, 24));
  state.root();
  const loadPerSecond = (keyCount * 1000) / (performance.now() - loadStart);
  const rows: Row[] = [
    {
      name: 'state commitment: load 100,000 keys',
      value: loadPerSecond,
      unit: 'inserts/s',
      peer: 'target 100,000/s',
      peerValue: target,
      ratio: loadPerSecond / target,
    },
  ];
  let round = 0;
  for (const batch of [1_000, 10_000]) {
    const updates = 100_000;
    const value = new Uint8Array(24);
    const start = performance.now();
    for (let done = 0; done < updates; done += batch) {
      round++;
      for (let i = 0; i < batch; i++) {
        // A stride through the keys with a value that differs every round, so no update is a no-op.
        const index = ((done + i) * 7919) % keyCount;
        value[0] = round & 0xff;
        value[1] = round >> 8;
        value[2] = i & 0xff;
        state.set(keys[index]!, value);
      }
      state.root();
    }
    const perSecond = (updates * 1000) / (performance.now() - start);
    rows.push({
      name: `state commitment: updates, root per ${batch.toLocaleString('en')}`,
      value: perSecond,
      unit: 'updates/s',
      peer: 'target 100,000/s',
      peerValue: target,
      ratio: perSecond / target,
    });
  }
  return rows;
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(2);
}

/**
 * Runs the primitives benchmark.
 * @example await run(['--json']);
 */
/**
 * What the validator transport does with the frames one turn sends a peer (src/runtime/real/
 * transport.ts): one corked write, so one TLS record and one system call, against a write per
 * frame, what it did before. Both over one mutual-TLS 1.3 loopback connection with our validator
 * certificates; CPU of this process (both ends) per frame, 8 frames of 300 B per turn.
 */
async function tlsFramesRow(): Promise<Row> {
  const identity = createValidatorTlsIdentity(deterministicBytes('bench tls', 0));
  const tls = {
    cert: identity.certificatePem,
    key: identity.privateKeyPem,
    minVersion: 'TLSv1.3' as const,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  };
  let received = 0;
  const server = createTlsServer(tls, (socket) =>
    socket.on('data', (chunk: Buffer) => (received += chunk.length)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = tlsConnect({ ...tls, host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  await new Promise<void>((resolve) => client.once('secureConnect', () => resolve()));
  client.setNoDelay(true);
  const frame = Buffer.alloc(300, 7);
  const perTurn = 8;
  const turns = 1000;
  const cpuPerFrame = async (corked: boolean) => {
    received = 0;
    const before = process.cpuUsage();
    for (let turn = 0; turn < turns; turn++) {
      if (corked) client.cork();
      for (let i = 0; i < perTurn; i++) client.write(frame);
      if (corked) client.uncork();
      await new Promise((resolve) => setImmediate(resolve));
    }
    while (received < turns * perTurn * frame.length) await new Promise((resolve) => setTimeout(resolve, 1));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / (turns * perTurn);
  };
  await cpuPerFrame(true); // warm-up
  await cpuPerFrame(false);
  // Alternated, medians of each: this is a whole TLS connection on a shared machine.
  const corkedRuns: number[] = [];
  const eachRuns: number[] = [];
  for (let round = 0; round < 7; round++) {
    corkedRuns.push(await cpuPerFrame(true));
    eachRuns.push(await cpuPerFrame(false));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const corked = median(corkedRuns);
  const each = median(eachRuns);
  client.destroy();
  server.close();
  return {
    name: `TLS frames, ${perTurn} × ${frame.length} B per turn, one write`,
    value: corked,
    unit: 'CPU µs/frame',
    peer: 'a write per frame',
    peerValue: each,
    ratio: each / corked,
  };
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const unknown = args.filter((arg) => arg !== '--json');
  if (unknown.length > 0) {
    console.error(`bench primitives: unknown option ${unknown[0]} (only --json)`);
    return 2;
  }
  const progress = (step: string) => {
    if (!json && process.stderr.isTTY) process.stderr.write(`  measuring ${step}…\r`);
  };
  progress('Ed25519');
  const signatures = ed25519Rows();
  progress('codec');
  const codec = codecRows();
  progress('Merkle root');
  const merkle = merkleRow();
  progress('state commitment');
  const state = stateRows();
  progress('TLS frames');
  const frames = await tlsFramesRow();
  const rows = [...signatures, ...codec.rows, merkle, ...state, frames];
  if (json) {
    console.log(
      JSON.stringify({
        benchmark: 'primitives',
        node: process.version,
        orderTransactionBytes: codec.orderBytes,
        results: rows,
      }),
    );
    return 0;
  }
  const header = ['primitive', 'figure', 'unit', 'peer or bound', 'peer', 'ratio'];
  const table = rows.map((row) => [
    row.name,
    format(row.value),
    row.unit,
    row.peer,
    format(row.peerValue),
    `${row.ratio.toFixed(2)}x`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((line) => line[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 1 || column === 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ');
  console.log(
    [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...table.map(line)].join('\n'),
  );
  const verify = signatures[1]!;
  console.log(
    `\nnode:crypto verifies Ed25519 ${verify.ratio.toFixed(1)}x faster than @noble/curves here: that is why validators use it.`,
  );
  return 0;
}
