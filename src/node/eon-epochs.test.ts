/**
 * The eon keyset follows the validator epochs (src/node/eon-epochs.ts), over the real stack in one
 * process: four nodes, mutual-TLS transport on 127.0.0.1 (ports 34300+), SQLite storage, the real
 * clock, genesis `eonKeygen` with validator epochs of E = 20 blocks.
 *
 *   across two boundaries  every window's eon (1, 2, 3) is made by its own DKG, recorded on chain
 *                          and served by `GET /v1/eon` with attestations that verify against the
 *                          window's set; an encrypted order to each window's eon executes on every
 *                          node, on both sides of boundaries 20 and 40; each eon has a new key.
 *   f down                 validator 3 is stopped before the third window's set is settled: the
 *                          other three make and record eon 3 without it, and it restarts with the
 *                          key files of the eons it took part in, catching up on the chain.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { OPERATOR, testGovernance, testSigner, USDC } from '../execution/fixtures.ts';
import { encrypt, encryptedOrderId } from './client.ts';
import { eonResolver } from './devnet/eon-setup.ts';
import { verifyEonKeysetJson } from './eon-client.ts';
import { buildGenesis, type Genesis } from './genesis.ts';
import { createNode, type PalisadeNode } from './node.ts';

const CHAIN_ID = 7;
const N = 4;
const E = 20;
const BASE_PORT = 34_300;
const API_PORT = 34_310;
const root = mkdtempSync(join(tmpdir(), 'palisade-eon-epochs-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const seeds = Array.from({ length: N }, (_, i) =>
  sha256(new TextEncoder().encode(`palisade/eon-epochs/${i}`)),
);
const trader = testSigner('eon-epochs-trader');
const base = buildGenesis({
  chainId: CHAIN_ID,
  validators: seeds.map((seed, i) => ({
    publicKey: createEd25519Signer(seed).publicKey,
    p2p: { host: '127.0.0.1', port: BASE_PORT + i },
    api: 'http://127.0.0.1:0',
  })),
  operator: OPERATOR.publicKey,
  governance: testGovernance(),
  startTimeMs: Date.now(),
  accounts: [{ publicKey: trader.publicKey, balance: 100_000n * BigInt(USDC) }],
  timeouts: { leaderMs: 400, notarizationMs: 800, nullifyRetryMs: 300, syncRetryMs: 200 },
  epochBlocks: E,
  keygenDealMs: 20_000,
  keygenComplaintMs: 5_000,
});
const genesis: Genesis = {
  ...base,
  eonKeygen: { eon: 1, encryptedOnlySeries: [1], dealMs: 4000, complaintMs: 2000 },
};
const keys = genesis.validators.map((v) => v.publicKey);
const dataOf = (index: number) => join(root, `validator-${index}`);
const start = (index: number) =>
  createNode({
    genesis,
    index,
    secretKey: seeds[index]!,
    dataDirectory: dataOf(index),
    p2pListen: genesis.validators[index]!.p2p,
    // Validator 0 serves the API: the devnet bots' resolver reads each window's eon from it.
    ...(index === 0 ? { apiListen: { host: '127.0.0.1', port: API_PORT } } : {}),
    transportLimits: { reconnectBaseMs: 50, reconnectMaxMs: 500 },
    // Slow enough empty blocks that a window outlasts a DKG on a loaded machine.
    applicationLimits: { emptyBlockIntervalMs: 150 },
    oracleEnabled: false,
  });

const nodes: PalisadeNode[] = [];
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

let nonce = 0;
/** An order encrypted to the eon `node` serves for the next heights; resolves once it ran on `among`. */
async function encryptedOrderRuns(among: readonly PalisadeNode[], expectedEon: number): Promise<string> {
  const served = await waitFor(`eon ${expectedEon} served`, () => {
    const json = among[0]!.view.eonKeyset!() as ReturnType<NonNullable<PalisadeNode['view']['eonKeyset']>>;
    if (json instanceof Promise) return undefined;
    return json.state === 'ready' && json.eon === expectedEon ? json : undefined;
  });
  // The served keyset's attestations check against its window's validators (here the genesis set).
  assert.deepEqual(
    served.validators,
    keys.map((key) => `0x${toHex(key)}`),
  );
  const eon = verifyEonKeysetJson(served, { chainId: CHAIN_ID, validators: keys });
  // On a loaded machine the named block can be proposed before the envelope reaches its leader;
  // it then never runs (and consumes nothing), so the order is sealed again for a later block.
  for (let attempt = 1; ; attempt++) {
    const height = Math.max(...among.map((node) => node.app.engine.height));
    const expiryHeight = Math.min(height + 3, served.untilHeight!);
    assert.ok(expiryHeight > height, 'an expiry inside the window');
    const input = {
      chainId: CHAIN_ID,
      eon: eon.eon,
      eonPublicKey: eon.eonPublicKeyBytes,
      expiryHeight,
      nonce,
      fee: 1000,
      action: {
        kind: 'withdraw' as const,
        value: { amount: USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
      },
    };
    const submitted = await among[0]!.view.submitEnvelope!(encrypt(trader, input));
    assert.equal(submitted.status, 'accepted', JSON.stringify(submitted));
    const id = encryptedOrderId(trader, input);
    const ran = () =>
      among.every(
        (node) => (node.view.transaction(id) as { status?: string } | undefined)?.status === 'finalized',
      );
    // Settled once it ran everywhere, or once every node executed two blocks past its expiry
    // without it (admitted at the expiry at the latest, it would have run by then).
    await waitFor(`the eon-${expectedEon} order valid up to ${expiryHeight} runs or is passed`, () =>
      ran() || among.every((node) => node.app.engine.height >= expiryHeight + 2) ? true : undefined,
    );
    if (ran()) break;
    assert.ok(attempt < 5, `the eon-${expectedEon} order missed ${attempt} blocks in a row`);
    assert.ok(
      among.every((node) => node.app.engine.account(trader.publicKey)!.nonce === nonce),
      'a missed envelope consumes no nonce',
    );
  }
  nonce++;
  for (const node of among) assert.equal(node.app.engine.account(trader.publicKey)!.nonce, nonce);
  return served.eonPublicKey!;
}

test('one eon per validator epoch: orders run under eons 1, 2 and 3 across two boundaries; f down does not stop the next DKG', async () => {
  for (let i = 0; i < N; i++) nodes.push(start(i));
  await Promise.all(nodes.map((node) => node.start()));
  const eonKeys: string[] = [];
  // W_0: eon 1, made at start and recorded by an early block.
  eonKeys.push(await encryptedOrderRuns(nodes, 1));
  // W_1 (heights 20–39): eon 2, made before boundary 20 among the same set, a new key.
  await waitFor('height 21', () => nodes.every((node) => node.app.engine.height >= 21));
  for (const node of nodes) {
    assert.equal(node.app.eonAt(20)?.eon, 2, 'the boundary block belongs to the new eon');
    assert.equal(node.app.eonAt(19)?.eon, 1);
  }
  // Validator 3 goes down before W_2's set is settled (height 24 = 40 − 16): f of four.
  const down = nodes[3]!;
  assert.ok(down.app.engine.height < 24, `validator 3 at ${down.app.engine.height}`);
  await down.stop();
  const live = nodes.slice(0, 3);
  eonKeys.push(await encryptedOrderRuns(live, 2));
  assert.notEqual(eonKeys[1], eonKeys[0], 'a fresh key per eon');
  // The devnet bots' resolver finds the same key for a W_1 height over HTTP: a light client follows
  // the chain from the genesis set and takes the key from the block that recorded it.
  const resolved = await eonResolver(
    [`http://127.0.0.1:${API_PORT}`],
    genesis,
  )(live[0]!.app.engine.height + 2);
  assert.equal(resolved?.eon, 2);
  assert.equal(`0x${toHex(resolved!.eonPublicKey)}`, eonKeys[1]);
  await waitFor('height 41', () => live.every((node) => node.app.engine.height >= 41), 120_000);
  eonKeys.push(await encryptedOrderRuns(live, 3));
  assert.equal(new Set(eonKeys).size, 3);
  // Until eon 3 was recorded, heights of W_2 had no eon (envelopes refused): the chain ran on.
  const third = live[0]!.app.recordedEons().find((e) => e.eon === 3)!;
  for (let h = 40; h < third.fromHeight; h++) assert.equal(live[0]!.app.eonAt(h), undefined);
  // It comes back: the files of the eons it made are there (eon 1 is pruned at height 40), it
  // catches up, runs the blocks of eon 3 it missed, and its own DKG for eon 3 catches up too.
  assert.ok(existsSync(join(dataOf(3), 'eon-share-2.key')), "eon 2's key file");
  const restarted = start(3);
  nodes[3] = restarted;
  await restarted.start();
  const target = Math.max(...live.map((node) => node.app.engine.height));
  await waitFor(
    `validator 3 catches up (at ${restarted.app.engine.height}, target ${target})`,
    () => restarted.app.engine.height >= target,
    120_000,
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}; now at ${restarted.app.engine.height}, awaiting key ${restarted.app.awaitingBatchKey()}`,
    );
  });
  // Eon 3 may have been recorded late (three keypers wait for the absent one's deadlines): it
  // applies from the block after its record, the same on every node.
  const recorded = live[0]!.app.recordedEons().find((e) => e.eon === 3)!;
  assert.equal(restarted.app.recordedEons().find((e) => e.eon === 3)?.fromHeight, recorded.fromHeight);
  assert.equal(restarted.app.eonAt(target)?.eon, 3);
  const second = live[0]!.app.recordedEons().find((e) => e.eon === 2);
  console.log(
    `eon 2 recorded at ${second?.recordedAt}; eon 3 recorded at ${recorded.recordedAt}, applies from ${recorded.fromHeight}`,
  );
  assert.equal(restarted.app.engine.account(trader.publicKey)!.nonce, nonce);
  eonKeys.push(await encryptedOrderRuns(nodes, 3));
});
