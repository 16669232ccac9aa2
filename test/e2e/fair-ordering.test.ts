/**
 * Fair ordering on a devnet of real validator processes (issue 14): the validators make the eon
 * keyset by a DKG among themselves (the launcher deals nothing) and one market is encrypted-only; its bots trade that market with encrypted orders
 * and every other plain. The attacks on that flow come first, from a trader of our own:
 *
 *   plain on the encrypted market  refused at the API (ENCRYPTION_REQUIRED), nonce untouched
 *   garbage under an envelope      (encrypted to another key) admitted — nobody can tell before
 *                                  the key — then charged: its fee paid, its nonce spent, counted
 *                                  undecryptable; no order runs
 *   replay                         the same envelope again, at its own validator or another, is
 *                                  refused once its nonce is spent; a valid envelope sent to two
 *                                  validators runs once
 *
 * and the flow: the bots' encrypted orders run, fill on the encrypted-only market, and the
 * dashboard shows encrypted beside plain flow.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { ExecutionAction } from '../../src/codec/execution.ts';
import { encodeAction } from '../../src/codec/execution.ts';
import { SignedTransactionCodec } from '../../src/codec/transaction.ts';
import { createEd25519Signer, type Ed25519Signer } from '../../src/crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { combineEonKeyset, dealEon } from '../../src/crypto/shutter/eon-dkg.ts';
import { signTransaction } from '../../src/crypto/transaction.ts';
import { createClient, encrypt, encryptedOrderId } from '../../src/node/client.ts';
import { verifyEonKeysetJson } from '../../src/node/eon-client.ts';
import type { FillJson, MarketJson, TransactionOutcome } from '../../src/node/view.ts';
import { startTestDevnet, type TestDevnet, waitFor } from './harness.ts';

let net: TestDevnet;
let intruder: Ed25519Signer;
before(async () => {
  net = await startTestDevnet({ bots: true, extraTraders: 1, fairOrdering: true });
  const network = net.devnet.network;
  const password = readFileSync(network.passwordFile, 'utf8').split('\n')[0]!;
  const keystore = network.traderKeystores.at(-1)!;
  intruder = createEd25519Signer(
    (await loadEd25519Keystore(readFileSync(keystore, 'utf8'), password)).secretKey,
  );
  await waitFor(async () => ((await net.status(0))?.height ?? 0) >= 3, 'the network finalizing', 30_000);
});
after(async () => {
  await net?.close();
});

/**
 * The eon keyset as a client gets it: the genesis names only the eon and its encrypted-only
 * market; the key is the one the validators made among themselves, served by a node and checked
 * against n − f validators' attestations (no launcher ever held a share).
 */
async function fairRules() {
  const genesis = net.devnet.network.genesis;
  assert.equal(genesis.fairOrdering, undefined, 'the genesis lists no eon key: the validators make it');
  const keygen = genesis.eonKeygen;
  assert.ok(keygen !== undefined, 'the devnet genesis has fair ordering');
  assert.equal(keygen.encryptedOnlySeries?.length, 1, 'one encrypted-only market');
  const served = await createClient({ url: net.apiUrls[1]! }).eon();
  assert.equal(served.state, 'ready');
  assert.equal(served.source, 'dkg');
  const verified = verifyEonKeysetJson(served, {
    chainId: genesis.chainId,
    validators: genesis.validators.map((validator) => validator.publicKey),
  });
  const fair = { eon: verified.eon, eonPublicKey: verified.eonPublicKey };
  return { fair, seriesId: keygen.encryptedOnlySeries[0]! };
}

/**
 * Encrypts `input`, valid up to a few blocks above the current height, and submits it (again with a
 * later expiry when the chain passed it meanwhile: encrypting takes a while on a busy machine).
 */
async function submitFresh(
  client: ReturnType<typeof createClient>,
  signer: Ed25519Signer,
  input: Omit<Parameters<typeof encrypt>[1], 'expiryHeight'>,
) {
  for (let attempt = 1; ; attempt++) {
    // The highest height any validator executed: one that lags would take an expiry already past.
    const heights = await net.heights(net.apiUrls.map((_, index) => index));
    const sealed = { ...input, expiryHeight: Math.max(...heights.map((h) => h ?? 0)) + 6 };
    const bytes = encrypt(signer, sealed);
    try {
      await client.submitEnvelope(bytes);
      return { input: sealed, bytes };
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENVELOPE_EXPIRED' || attempt >= 5) throw error;
    }
  }
}

async function accountOf(url: string, signer: Ed25519Signer) {
  const read = await createClient({ url })
    .account(signer.publicKey)
    .catch(() => undefined);
  return { nonce: read?.account?.nonce ?? 0, balance: BigInt(read?.account?.balance ?? '0') };
}

test('attacks: a plain order on the encrypted market is refused; garbage under an envelope is charged once; replays are refused', {
  timeout: 120_000,
}, async () => {
  const { fair, seriesId } = await fairRules();
  const chainId = net.devnet.network.genesis.chainId;
  const [first, second] = net.apiUrls as [string, string];
  const client = createClient({ url: first });
  const market = (await client.markets()).find((entry: MarketJson) => entry.seriesId === seriesId)!;
  assert.ok(market !== undefined && market.status === 'active', 'the encrypted market is listed and active');
  const order: ExecutionAction = {
    kind: 'placeOrder',
    value: {
      seriesId,
      side: 0,
      kind: 0,
      timeInForce: 0,
      postOnly: true,
      reduceOnly: false,
      // A bid two ticks under the mark: inside the price band, resting (post-only).
      price: Math.max(1, Math.floor(Number(market.markPrice ?? 0) / market.tickSize) - 2) * market.tickSize,
      sizeE6: market.lotSizeE6,
      clientOrderId: 0,
    },
  };

  // Plain on the encrypted-only market: refused at admission, nothing spent.
  const start = await accountOf(first, intruder);
  const height = (await client.status()).height;
  const plain = signTransaction(intruder, {
    chainId,
    nonce: start.nonce,
    expiryHeight: height + 100,
    payload: encodeAction(order),
  });
  const refused = await fetch(`${first}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from(SignedTransactionCodec.encode(plain)),
  });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ENCRYPTION_REQUIRED');

  // Garbage: a well-formed envelope whose ciphertext no eon key of this chain opens.
  const otherKey = combineEonKeyset(
    Array.from({ length: 4 }, (_, j) => dealEon(j, 3, 4)),
    3,
    4,
  ).eonPublicKey.toBytes(true);
  const fee = 1234;
  const { input: garbageInput, bytes: garbage } = await submitFresh(client, intruder, {
    chainId,
    eon: fair.eon,
    eonPublicKey: otherKey,
    nonce: start.nonce,
    fee,
    action: order,
  });
  await waitFor(
    async () => (await accountOf(first, intruder)).nonce > start.nonce,
    'the garbage envelope charged',
    30_000,
  );
  const charged = await accountOf(first, intruder);
  assert.equal(charged.nonce, start.nonce + 1, 'its nonce is spent');
  assert.equal(charged.balance, start.balance - BigInt(fee), 'its fee is paid');
  await assert.rejects(
    client.transaction(encryptedOrderId(intruder, garbageInput)),
    (error: { code?: string }) => error.code === 'TRANSACTION_NOT_FOUND',
    'no order ran',
  );
  // Replayed, at the validator that took it and at another: its nonce is spent.
  for (const url of [first, second])
    await assert.rejects(createClient({ url }).submitEnvelope(garbage), (error: { code?: string }) =>
      ['ENVELOPE_REPLAYED_NONCE', 'ENVELOPE_EXPIRED'].includes(error.code ?? ''),
    );

  // A valid envelope submitted to two validators (a relay replaying it) runs once.
  const { input: validInput, bytes: valid } = await submitFresh(client, intruder, {
    chainId,
    eon: fair.eon,
    eonPublicKey: fair.eonPublicKey.toBytes(true),
    nonce: charged.nonce,
    fee,
    action: order,
  });
  await createClient({ url: second })
    .submitEnvelope(valid)
    .catch(() => undefined); // taken already by gossip, or taken here: either way one slot
  // Unknown to the node until its block's key opened it: NOT_FOUND until then.
  let outcome: TransactionOutcome | undefined;
  await waitFor(
    async () => {
      const found = await client.transaction(encryptedOrderId(intruder, validInput)).catch(() => undefined);
      if (found?.status === 'finalized') outcome = found.outcome;
      return outcome !== undefined;
    },
    'the valid envelope executing',
    30_000,
  );
  assert.equal(outcome!.status, 'OK');
  const after = await accountOf(first, intruder);
  assert.equal(after.nonce, charged.nonce + 1, 'one nonce for one order, however often it was sent');
  // Every validator counted the garbage as undecryptable.
  for (const url of net.apiUrls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const undecryptable = /^palisade_envelopes_opened_total\{outcome="undecryptable"\} (\d+)$/m.exec(text);
    assert.ok(undecryptable !== null && Number(undecryptable[1]) >= 1, `${url} counts the garbage envelope`);
  }
});

test("the bots' encrypted orders run and fill on the encrypted-only market; the dashboard shows encrypted beside plain flow", {
  timeout: 240_000,
}, async () => {
  const { seriesId } = await fairRules();
  const client = createClient({ url: net.apiUrls[0]! });
  let fills: FillJson[] = [];
  await waitFor(
    async () => {
      fills = await client.fills({ seriesId, limit: 50 }).catch(() => []);
      return fills.length > 0;
    },
    'a fill on the encrypted-only market',
    200_000,
  );
  const stats = net.devnet.bots!.stats();
  assert.ok(stats.encryptedExecuted > 0, 'the bots ran encrypted orders');
  assert.ok(stats.finalized > 0, 'and plain ones');
  // Each fill's block executed the taker's order, opened from an envelope (not plain: refused).
  const fill = fills[0]!;
  assert.equal(fill.seriesId, seriesId);
  await waitFor(
    () => {
      const flow = net.devnet.dashboard.snapshot().orderFlow;
      return (
        flow !== null && flow.encryptedExecuted > 0 && flow.plainExecuted > 0 && flow.envelopesDecrypted > 0
      );
    },
    'the dashboard showing encrypted and plain flow',
    10_000,
  );
  const page = await (await fetch(`${net.devnet.dashboard.url}/`)).text();
  assert.match(page, /data-testid="order-flow"/);
  const panel = await fetch(`${net.devnet.dashboard.url}/order-flow-panel.js`);
  assert.equal(panel.status, 200);
});
