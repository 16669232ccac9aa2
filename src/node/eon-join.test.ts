/**
 * A validator added by governance on an eon-epoch network (src/node/eon-epochs.ts), over the real
 * stack in one process (TLS on 127.0.0.1, ports 34500+): before this change it refused to start
 * (EON_SHARE_MISSING). Four genesis validators, E = 20; governors add a fifth, which starts with
 * the genesis price keyset as its trusted keyset, is admitted from the block that executes the
 * change, deals in the DKG of its first window's eon (the recorded QUAL names it), holds its share,
 * and an order encrypted to that eon runs on all five.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EonActivationCodec } from '../codec/envelope.ts';
import { VALIDATOR_CHANGE } from '../codec/execution.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { fromHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  OPERATOR,
  testGovernance,
  testSigner,
  USDC,
} from '../execution/fixtures.ts';
import { changeBoundary } from '../execution/validator-set.ts';
import { encrypt, encryptedOrderId } from './client.ts';
import { buildGenesis, type Genesis } from './genesis.ts';
import { createNode, type PalisadeNode } from './node.ts';

const CHAIN_ID = 7;
const N = 4;
const E = 20;
const BASE_PORT = 34_500;
const root = mkdtempSync(join(tmpdir(), 'palisade-eon-join-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const seeds = Array.from({ length: N + 1 }, (_, i) =>
  sha256(new TextEncoder().encode(`palisade/eon-join/${i}`)),
);
const joinerKey = createEd25519Signer(seeds[N]!).publicKey;
const trader = testSigner('eon-join-trader');
const genesis: Genesis = {
  ...buildGenesis({
    chainId: CHAIN_ID,
    validators: seeds.slice(0, N).map((seed, i) => ({
      publicKey: createEd25519Signer(seed).publicKey,
      p2p: { host: '127.0.0.1', port: BASE_PORT + i },
      api: 'http://127.0.0.1:0',
    })),
    operator: OPERATOR.publicKey,
    governance: testGovernance({ timelockMs: 0 }),
    startTimeMs: Date.now(),
    accounts: [{ publicKey: trader.publicKey, balance: 100_000n * BigInt(USDC) }],
    timeouts: { leaderMs: 400, notarizationMs: 800, nullifyRetryMs: 300, syncRetryMs: 200 },
    epochBlocks: E,
    keygenDealMs: 20_000,
    keygenComplaintMs: 5_000,
  }),
  eonKeygen: { eon: 1, encryptedOnlySeries: [1], dealMs: 4000, complaintMs: 2000 },
};
const start = (index: number, join?: { trustedKeyset: { epoch: number; groupPublicKey: Uint8Array } }) =>
  createNode({
    genesis,
    index,
    secretKey: seeds[index]!,
    dataDirectory: join === undefined ? `${root}/validator-${index}` : `${root}/joiner`,
    p2pListen: { host: '127.0.0.1', port: BASE_PORT + index },
    transportLimits: { reconnectBaseMs: 50, reconnectMaxMs: 500 },
    applicationLimits: { emptyBlockIntervalMs: 150 },
    oracleEnabled: false,
    ...(join === undefined ? {} : { join }),
  });

const nodes: PalisadeNode[] = [];
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

test('a validator added by governance starts, deals in its first window’s eon DKG and that eon’s orders run', async () => {
  for (let i = 0; i < N; i++) nodes.push(start(i));
  await Promise.all(nodes.map((node) => node.start()));
  const lifecycle = await waitFor('the genesis price keyset', () => {
    const keys = nodes[0]!.view.keyLifecycle!();
    if (keys instanceof Promise) return undefined;
    return keys.keyset?.epoch === 1 ? keys.keyset : undefined;
  });
  const joiner = start(N, {
    trustedKeyset: { epoch: 1, groupPublicKey: fromHex(lifecycle.groupPublicKey)! },
  });
  nodes.push(joiner);
  await joiner.start();

  const text = new TextEncoder();
  const proposal = createTransactionBuilder(CHAIN_ID).next(
    GOVERNANCE,
    governed(
      {
        kind: 'changeValidators',
        value: {
          op: VALIDATOR_CHANGE.add,
          publicKey: joinerKey,
          p2p: text.encode(`127.0.0.1:${BASE_PORT + N}`),
          api: text.encode('http://127.0.0.1:34599'),
        },
      },
      { expiryMs: Date.now() + 600_000, chainId: CHAIN_ID },
    ),
  );
  const submitted = await nodes[0]!.view.submitTransaction(SignedTransactionCodec.encode(proposal));
  assert.equal(submitted.status, 'accepted', JSON.stringify(submitted));
  const outcome = await waitFor('the proposal executed', () => {
    const tx = nodes[0]!.view.transaction(submitted.status === 'accepted' ? submitted.id : '0x') as
      | { status?: string; outcome?: { status?: string } }
      | undefined;
    return tx?.status === 'finalized' ? tx : undefined;
  });
  assert.equal(outcome.outcome?.status, 'OK', JSON.stringify(outcome));
  const pending = await waitFor('the change pending', () => nodes[0]!.app.engine.validatorSet()?.pending);
  const boundary = pending.effectiveHeight;
  assert.equal(boundary % E, 0);
  assert.ok(boundary >= changeBoundary(E, 1));
  const eon = 1 + boundary / E;
  // The eon of the joiner's first window is recorded on chain, made by all five.
  const recorded = await waitFor(`eon ${eon} recorded`, () =>
    nodes[0]!.app.recordedEons().find((e) => e.eon === eon),
  );
  assert.equal(recorded.validators.length, N + 1);
  assert.ok(EonActivationCodec.decode(recorded.activation).qualified.includes(N), 'the joiner dealt');
  // It follows the chain past the boundary and holds the same schedule.
  await waitFor('the joiner past the boundary', () => joiner.app.engine.height > boundary + 2);
  const atJoiner = joiner.app.recordedEons().find((e) => e.eon === eon)!;
  assert.ok(atJoiner.keyset.eonPublicKey.equals(recorded.keyset.eonPublicKey));
  // An order encrypted to that eon, for a height of its window, runs on all five.
  const height = Math.max(...nodes.map((node) => node.app.engine.height), recorded.fromHeight);
  const input = {
    chainId: CHAIN_ID,
    eon,
    eonPublicKey: recorded.keyset.eonPublicKey.toBytes(true),
    expiryHeight: height + 3,
    nonce: 0,
    fee: 1000,
    action: {
      kind: 'withdraw' as const,
      value: { amount: USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    },
  };
  assert.ok(input.expiryHeight < boundary + E, 'inside the window');
  const sent = await joiner.view.submitEnvelope!(encrypt(trader, input));
  assert.equal(sent.status, 'accepted', JSON.stringify(sent));
  const id = encryptedOrderId(trader, input);
  await waitFor('the order runs on all five', () =>
    nodes.every(
      (node) => (node.view.transaction(id) as { status?: string } | undefined)?.status === 'finalized',
    ),
  );
});
