/**
 * Four validators in one process over the real stack: mutual-TLS transport on 127.0.0.1, SQLite
 * storage in temporary directories, the real clock with short consensus timeouts. What operators
 * rely on: every validator finalizes the same blocks with the same state roots, transactions
 * submitted to any validator are executed, oracle prices reach the engine, the DKG yields one group
 * key that price certificates verify under, and a stopped validator restarts, replays and catches
 * up to agree with the others.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { actionTransaction, OPERATOR, testGovernance, testSigner, USDC } from '../execution/fixtures.ts';
import { decodePriceCertificate, verifyPriceCertificate } from '../interop/price-certificate.ts';
import { buildGenesis, type Genesis } from './genesis.ts';
import { createNode, type NodeLogger, type PalisadeNode } from './node.ts';

const CHAIN_ID = 7;
const N = 4;
const seeds = Array.from({ length: N }, (_, i) =>
  sha256(new TextEncoder().encode(`palisade/node-test/${i}`)),
);
const traders = Array.from({ length: N }, (_, i) => testSigner(`node-test-trader-${i}`));
const root = mkdtempSync(join(tmpdir(), 'palisade-node-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A snapshot every 5 finalized blocks, so that a restart in this test restores one. */
const SNAPSHOT_INTERVAL = 5;

function startNode(genesis: Genesis, index: number, logger?: NodeLogger): PalisadeNode {
  return createNode({
    ...(logger === undefined ? {} : { logger }),
    genesis,
    index,
    secretKey: seeds[index]!,
    dataDirectory: join(root, `validator-${index}`),
    p2pListen: genesis.validators[index]!.p2p,
    transportLimits: { reconnectBaseMs: 50, reconnectMaxMs: 500 },
    applicationLimits: { emptyBlockIntervalMs: 50, snapshotIntervalBlocks: SNAPSHOT_INTERVAL },
  });
}

const ports = await Promise.all(Array.from({ length: N }, () => freePort()));
const genesis = buildGenesis({
  chainId: CHAIN_ID,
  validators: seeds.map((seed, i) => ({
    publicKey: createEd25519Signer(seed).publicKey,
    p2p: { host: '127.0.0.1', port: ports[i]! },
    api: 'http://127.0.0.1:0',
  })),
  operator: OPERATOR.publicKey,
  governance: testGovernance(),
  startTimeMs: Date.now(),
  accounts: traders.map((t) => ({ publicKey: t.publicKey, balance: 100_000n * BigInt(USDC) })),
  certificateEveryBlocks: 2,
  timeouts: { leaderMs: 400, notarizationMs: 800, nullifyRetryMs: 300, syncRetryMs: 200 },
});

const nodes: PalisadeNode[] = [];
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

function assertAgree(height: number, among: readonly PalisadeNode[]) {
  for (let h = 1; h <= height; h++) {
    const summaries = among.map((node) => node.app.summary(h));
    for (const summary of summaries) assert.ok(summary, `block ${h} stored`);
    const first = summaries[0]!;
    for (const other of summaries.slice(1)) {
      assert.equal(other!.hash, first.hash, `finalized hash at ${h}`);
      assert.equal(other!.stateRoot, first.stateRoot, `state root at ${h}`);
    }
  }
}

test('four validators finalize, execute transactions from any of them, price and certify', async () => {
  for (let i = 0; i < N; i++) nodes.push(startNode(genesis, i));
  await Promise.all(nodes.map((node) => node.start()));
  await waitFor('height 3 everywhere', () => nodes.every((node) => node.app.engine.height >= 3));

  // Each trader withdraws through a different validator; a bad transaction is refused with a code.
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const tx = actionTransaction(traders[i]!, 0, {
      kind: 'withdraw',
      value: { amount: (i + 1) * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    });
    const result = await nodes[i]!.view.submitTransaction(SignedTransactionCodec.encode(tx));
    assert.equal(result.status, 'accepted');
    if (result.status === 'accepted') ids.push(result.id);
  }
  const garbage = await nodes[0]!.view.submitTransaction(new Uint8Array([1, 2, 3]));
  assert.equal(garbage.status, 'refused');

  await waitFor('transactions final everywhere', () =>
    nodes.every((node) =>
      ids.every((id) => (node.view.transaction(id) as { status?: string })?.status === 'finalized'),
    ),
  );
  for (const node of nodes) {
    for (let i = 0; i < N; i++) {
      const account = node.app.engine.account(traders[i]!.publicKey);
      assert.equal(account?.balance, 100_000n * BigInt(USDC) - BigInt((i + 1) * USDC));
      assert.equal(account?.nonce, 1);
    }
  }
  const lookup = nodes[3]!.view.transaction(ids[0]!) as { status: string; outcome: { status: string } };
  assert.equal(lookup.outcome.status, 'OK');

  // Oracle: aggregated prices from 2f + 1 observations reach the engine's index.
  await waitFor('a fresh BTC index price', () =>
    nodes.every((node) => node.app.engine.indexPrice(1) !== undefined),
  );
  const prices = nodes[0]!.view.prices() as { price: string; stale: boolean }[];
  assert.ok(prices.length === 1 && BigInt(prices[0]!.price) > 0n);

  // DKG: one group key everywhere, stored encrypted with mode 0600; certificates verify under it.
  await waitFor('keyset everywhere', () => nodes.every((node) => node.prices.keyset() !== undefined));
  const groupKeys = nodes.map((node) => toHex(node.prices.keyset()!.groupPublicKey));
  assert.equal(new Set(groupKeys).size, 1);
  assert.equal(statSync(join(root, 'validator-0', 'price-keyset-1.key')).mode & 0o777, 0o600);
  const entry = await waitFor('a price certificate on every node', () => {
    const lists = nodes.map((node) => node.view.priceCertificates() as { encoded: string }[]);
    return lists.every((list) => list.length > 0) ? lists[0]![0] : undefined;
  });
  const certificate = decodePriceCertificate(fromHex(entry.encoded.slice(2))!);
  const keyset = nodes[1]!.prices.keyset()!;
  assert.ok(
    verifyPriceCertificate(certificate, { epoch: keyset.epoch, groupPublicKey: keyset.groupPublicKey }),
  );
  assert.deepEqual(Object.keys(nodes[0]!.prices.stats().badShares), []);

  const height = Math.min(...nodes.map((node) => node.app.engine.height));
  assertAgree(height, nodes);
  const status = await nodes[2]!.view.status();
  assert.equal(status.validators.filter((v) => v.connected).length, N);
  const block = await nodes[1]!.view.block(1);
  assert.equal(block?.finalization.digest, block?.hash);
});

test('a stopped validator restarts from its latest snapshot, replays the blocks after it, catches up and agrees', async () => {
  const stopped = nodes[3]!;
  await waitFor(
    'a snapshot behind validator 3',
    () => stopped.app.engine.height >= 2 * SNAPSHOT_INTERVAL + 2,
  );
  await stopped.stop();
  const heightAtStop = stopped.app.engine.height;
  const others = nodes.slice(0, 3);
  await waitFor('progress without validator 3', () =>
    others.every((node) => node.app.engine.height >= heightAtStop + 3),
  );
  const opened: Record<string, unknown>[] = [];
  const restarted = startNode(genesis, 3, {
    info: (details, message) => {
      if (message.startsWith('restored the latest snapshot')) opened.push(details);
    },
    warn() {},
    error() {},
    debug() {},
  });
  nodes[3] = restarted;
  await restarted.start();
  assert.ok(restarted.app.engine.height >= heightAtStop, 'replayed its stored blocks');
  // It started from the newest multiple of the interval at or below its stored height, not from genesis.
  const snapshotHeight = opened[0]?.snapshotHeight as number;
  assert.equal(snapshotHeight, heightAtStop - (heightAtStop % SNAPSHOT_INTERVAL));
  assert.equal(opened[0]?.replayedBlocks, heightAtStop - snapshotHeight);
  // The restored engine's root at the snapshot's height is the one every validator recorded there.
  assert.equal(
    restarted.app.summary(snapshotHeight)?.stateRoot,
    others[0]!.app.summary(snapshotHeight)?.stateRoot,
  );
  assert.equal(
    toHex(restarted.prices.keyset()!.groupPublicKey),
    toHex(others[0]!.prices.keyset()!.groupPublicKey),
  );
  const target = Math.max(...others.map((node) => node.app.engine.height));
  await waitFor('restarted validator catches up', () => restarted.app.engine.height >= target);
  assertAgree(target, [...others, restarted]);
});
