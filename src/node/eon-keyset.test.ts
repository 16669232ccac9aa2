/**
 * The eon keyset made by the validators themselves (genesis `eonKeygen`), over the real stack in
 * one process: mutual-TLS transport on 127.0.0.1, SQLite storage, the real clock.
 *
 *   Byzantine dealer   validator 3 is not a node but a process on the real transport with its
 *                      own DKG machine, which deals validator 0 a share off its commitment (signed,
 *                      so it convicts it) and never runs consensus. Validators 0–2 name it
 *                      BAD_SHARE, agree on a keyset of dealers {0, 1, 2}, run no block before
 *                      that, and an order encrypted to the served key (checked by its attestations)
 *                      runs after its block is final.
 *   crash in the DKG   four honest nodes; validator 3 is stopped right after starting (mid-DKG) and
 *                      restarted after the others agreed: it adopts their keyset (its share from
 *                      what they re-send), opens the same key, and its sealed file restarts it
 *                      without a DKG; a file holding a share of another keyset stops it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { KeystoreError } from '../crypto/keystore.ts';
import {
  createEonKeygenMachine,
  type EonKeygenOutput,
  sealEonKeygenMessage,
} from '../crypto/shutter/eon-keygen.ts';
import { EonShareCodec, SealedEonKeygenCodec } from '../crypto/shutter/eon-keygen-codec.ts';
import { OPERATOR, testGovernance, testSigner, USDC } from '../execution/fixtures.ts';
import { createTlsTransport } from '../runtime/real/transport.ts';
import { encrypt, encryptedOrderId } from './client.ts';
import { verifyEonKeysetJson } from './eon-client.ts';
import {
  EonShareError,
  openEonKeyset,
  readEonShareText,
  sealEonKeyset,
  writeEonShareDurably,
} from './eon-key-file.ts';
import { eonKeygenSessionOf } from './eon-keyset.ts';
import { buildGenesis, type Genesis } from './genesis.ts';
import { createNode, type PalisadeNode } from './node.ts';

const CHAIN_ID = 7;
const N = 4;
const root = mkdtempSync(join(tmpdir(), 'palisade-eon-keyset-'));
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

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function network(name: string) {
  const seeds = Array.from({ length: N }, (_, i) =>
    sha256(new TextEncoder().encode(`palisade/eon-test/${name}/${i}`)),
  );
  const trader = testSigner(`eon-test-trader-${name}`);
  const ports = await Promise.all(Array.from({ length: N }, () => freePort()));
  const base = buildGenesis({
    chainId: CHAIN_ID,
    validators: seeds.map((seed, i) => ({
      publicKey: createEd25519Signer(seed).publicKey,
      p2p: { host: '127.0.0.1', port: ports[i]! },
      api: 'http://127.0.0.1:0',
    })),
    operator: OPERATOR.publicKey,
    governance: testGovernance(),
    startTimeMs: Date.now(),
    accounts: [{ publicKey: trader.publicKey, balance: 100_000n * BigInt(USDC) }],
    timeouts: { leaderMs: 400, notarizationMs: 800, nullifyRetryMs: 300, syncRetryMs: 200 },
  });
  const genesis: Genesis = {
    ...base,
    eonKeygen: { eon: 1, encryptedOnlySeries: [1], dealMs: 3000, complaintMs: 1500 },
  };
  const start = (index: number) =>
    createNode({
      genesis,
      index,
      secretKey: seeds[index]!,
      dataDirectory: join(root, name, `validator-${index}`),
      p2pListen: genesis.validators[index]!.p2p,
      transportLimits: { reconnectBaseMs: 50, reconnectMaxMs: 500 },
      applicationLimits: { emptyBlockIntervalMs: 50 },
      oracleEnabled: false,
    });
  return { seeds, trader, genesis, start, keys: genesis.validators.map((v) => v.publicKey) };
}

const nodes: PalisadeNode[] = [];
const closers: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  await Promise.all(closers.map((close) => close()));
});

/** Submits a withdrawal encrypted to the served (and checked) eon key; resolves once it ran. */
async function encryptedOrderRuns(
  net: Awaited<ReturnType<typeof network>>,
  among: readonly PalisadeNode[],
): Promise<void> {
  const served = await among[1]!.view.eonKeyset!();
  const eon = verifyEonKeysetJson(served, { chainId: CHAIN_ID, validators: net.keys });
  const input = {
    chainId: CHAIN_ID,
    eon: eon.eon,
    eonPublicKey: eon.eonPublicKeyBytes,
    expiryHeight: Math.max(...among.map((node) => node.app.engine.height)) + 4,
    nonce: 0,
    fee: 1000,
    action: {
      kind: 'withdraw' as const,
      value: { amount: 5 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    },
  };
  const submitted = await among[0]!.view.submitEnvelope!(encrypt(net.trader, input));
  assert.equal(submitted.status, 'accepted', JSON.stringify(submitted));
  const id = encryptedOrderId(net.trader, input);
  await waitFor('the encrypted order runs after its block is final, everywhere', () =>
    among.every(
      (node) => (node.view.transaction(id) as { status?: string } | undefined)?.status === 'finalized',
    ),
  );
  for (const node of among) {
    const account = node.app.engine.account(net.trader.publicKey)!;
    assert.equal(account.nonce, 1);
    assert.equal(
      account.balance,
      100_000n * BigInt(USDC) - 5n * BigInt(USDC) - 1000n,
      'withdrawn and fee paid',
    );
  }
}

test('a Byzantine dealer (a share off its commitment) is named and left out; the other three agree and an encrypted order runs', async () => {
  const net = await network('byzantine');
  // Validator 3: the real transport and DKG machine, its share for validator 0 replaced.
  const transport = createTlsTransport({
    selfIndex: 3,
    secretKey: net.seeds[3]!,
    validators: net.genesis.validators.map((v) => ({ publicKey: v.publicKey, address: v.p2p })),
    genesisValidators: N,
    listen: net.genesis.validators[3]!.p2p,
    limits: { reconnectBaseMs: 50, reconnectMaxMs: 500 },
  });
  closers.push(() => transport.close());
  const session = eonKeygenSessionOf(CHAIN_ID, 1, net.keys);
  const signer = createEd25519Signer(net.seeds[3]!);
  const machine = createEonKeygenMachine(session, { index: 3, signer });
  const corrupt = (output: EonKeygenOutput): EonKeygenOutput =>
    output.to === 'recipient' && output.recipient === 0
      ? {
          ...output,
          bytes: sealEonKeygenMessage(
            signer,
            CHAIN_ID,
            EonShareCodec.encode({
              session: machine.sessionDigest,
              dealer: 3,
              recipient: 0,
              share: new Uint8Array(32).fill(7),
            }),
          ),
        }
      : output;
  const sent = machine.start().map(corrupt);
  const send = (outputs: readonly EonKeygenOutput[]) => {
    for (const output of outputs)
      if (output.to === 'all') transport.broadcast(output.bytes);
      else transport.send(output.recipient, output.bytes);
  };
  transport.onMessage((_, message) => {
    try {
      if (SealedEonKeygenCodec.decode(message) !== undefined) send(machine.receive(message).map(corrupt));
    } catch {
      // Consensus and other traffic: this Byzantine validator ignores it.
    }
  });
  await transport.listen();
  transport.start();
  const resend = setInterval(() => send(sent), 500);
  closers.push(async () => clearInterval(resend));

  const honest = [0, 1, 2].map((i) => net.start(i));
  nodes.push(...honest);
  await honest[0]!.start();
  send(sent);
  // Alone with the Byzantine dealer, validator 0 cannot reach n − f attestations: no block runs and
  // no envelope is taken before the eon key exists.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal((await honest[0]!.view.eonKeyset!()).state, 'pending');
  assert.equal(honest[0]!.app.engine.height, 0, 'no block runs before the eon key exists');
  assert.equal(honest[0]!.app.fairOrderingRules(), undefined);
  const early = honest[0]!.app.submitEnvelope(new Uint8Array([1, 2, 3]));
  assert.equal(early.ok ? 'accepted' : early.code, 'EON_KEY_PENDING');
  await Promise.all(honest.slice(1).map((node) => node.start()));
  await waitFor('the eon keyset agreed by validators 0–2', () =>
    honest.every((node) => node.app.fairOrderingRules() !== undefined),
  );
  const served = await Promise.all(honest.map((node) => node.view.eonKeyset!()));
  assert.equal(new Set(served.map((s) => s.eonPublicKey)).size, 1, 'one eon key everywhere');
  for (const s of served) {
    assert.deepEqual(s.qualified, [0, 1, 2], 'the Byzantine dealer is out of QUAL');
    assert.equal(s.state, 'ready');
  }
  // Validator 0 got the bad share: it names the dealer with the reason; everyone excludes it.
  assert.deepEqual(served[0]!.disqualified, [{ dealer: 3, reason: 'BAD_SHARE' }]);
  await encryptedOrderRuns(net, honest);
  for (const node of honest) await node.stop();
  nodes.length = 0;
});

test('a validator stopped in the middle of the DKG restarts after the others agreed, adopts their keyset and runs blocks with them', async () => {
  const net = await network('restart');
  const all = Array.from({ length: N }, (_, i) => net.start(i));
  nodes.push(...all);
  await Promise.all(all.map((node) => node.start()));
  await all[3]!.stop(); // mid-DKG: its deal may or may not have gone out
  const others = all.slice(0, 3);
  await waitFor('the others agree without it', () =>
    others.every((node) => node.app.fairOrderingRules() !== undefined),
  );
  await waitFor('the others run blocks', () => others.every((node) => node.app.engine.height >= 2));
  const restarted = net.start(3);
  nodes[3] = restarted;
  await restarted.start();
  await waitFor(
    'the restarted validator adopts the agreed keyset',
    () => restarted.app.fairOrderingRules() !== undefined,
  );
  const key = (node: PalisadeNode) => {
    const rules = node.app.fairOrderingRules()!;
    assert.ok(rules.eonEpochBlocks === undefined, 'one eon: no validator epochs here');
    return rules.eonPublicKey.toBytes(true);
  };
  assert.deepEqual(key(restarted), key(others[0]!));
  const target = Math.max(...others.map((node) => node.app.engine.height));
  await waitFor('it catches up', () => restarted.app.engine.height >= target);
  await encryptedOrderRuns(net, [...others, restarted]);

  // Its sealed file restarts it with no DKG; a share of another keyset in its place stops it.
  await restarted.stop();
  const again = net.start(3);
  nodes[3] = again;
  await again.start();
  assert.deepEqual(key(again), key(others[0]!), 'loaded from the sealed file at start');
  await again.stop();
  const dataOf = (index: number) => join(root, 'restart', `validator-${index}`);
  const own = readEonShareText(dataOf(3), 1)!;
  const header = (index: number) => ({ chainId: CHAIN_ID, eon: 1, index });
  const session = eonKeygenSessionOf(CHAIN_ID, 1, net.keys);
  // Validator 2's file in 3's place fails its authentication.
  writeEonShareDurably(dataOf(3), readEonShareText(dataOf(2), 1)!, 1);
  const swapped = net.start(3);
  await assert.rejects(swapped.start(), (error: unknown) => error instanceof KeystoreError);
  await swapped.stop();
  // Validator 2's share sealed under 3's own key: it opens, but it is not 3's share of the keyset.
  const { file } = openEonKeyset(readEonShareText(dataOf(2), 1)!, net.seeds[2]!, header(2), session);
  writeEonShareDurably(dataOf(3), sealEonKeyset(file, net.seeds[3]!, header(3)), 1);
  const mismatched = net.start(3);
  await assert.rejects(
    mismatched.start(),
    (error: unknown) => error instanceof EonShareError && error.code === 'EON_SHARE_MISMATCH',
  );
  await mismatched.stop();
  writeEonShareDurably(dataOf(3), own, 1);
});
