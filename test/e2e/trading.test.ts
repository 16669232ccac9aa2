/**
 * No accepted transaction is lost across restarts: four traders sign orders and submit them to
 * whichever validator answers, while every validator in turn is stopped (SIGTERM) and started
 * again. Every transaction some API accepted (202) must end up finalized exactly once, and each
 * trader's finalized nonces must be exactly 0..last, each once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type ExecutionAction, encodeAction } from '../../src/codec/execution.ts';
import { SignedTransactionCodec } from '../../src/codec/transaction.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from '../../src/crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { signTransaction, transactionId } from '../../src/crypto/transaction.ts';
import { createSeededRandom } from '../../src/execution/fixtures.ts';
import type { BlockSummary, MarketJson } from '../../src/node/view.ts';
import { sleep, startTestDevnet, type TestDevnet, waitFor } from './harness.ts';

let net: TestDevnet;
before(async () => {
  net = await startTestDevnet();
  await waitFor(async () => ((await net.status(0))?.height ?? 0) >= 3, 'the network finalizing', 30_000);
});
after(async () => {
  await net?.close();
});

/** Submission answers after which the same bytes are offered to another validator. */
const TRANSIENT = new Set(['NETWORK', 'RATE_LIMITED', 'NONCE_GAP', 'MEMPOOL_FULL', 'INTERNAL']);

interface Trader {
  signer: Ed25519Signer;
  publicKey: string;
  /** Nonces signed so far (the next one to sign). */
  nextNonce: number;
}

async function post(url: string, bytes: Uint8Array): Promise<{ status: number; code: string | undefined }> {
  try {
    const response = await fetch(`${url}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(bytes),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { error?: { code?: string } };
    return { status: response.status, code: body.error?.code };
  } catch {
    return { status: 0, code: 'NETWORK' };
  }
}

test('a trading run across a restart of every validator in turn loses no accepted transaction', {
  timeout: 240_000,
}, async () => {
  const network = net.devnet.network;
  const password = readFileSync(network.passwordFile, 'utf8').split('\n')[0]!;
  const traders: Trader[] = [];
  for (const keystore of network.traderKeystores) {
    const pair = await loadEd25519Keystore(readFileSync(keystore, 'utf8'), password);
    traders.push({
      signer: createEd25519Signer(pair.secretKey),
      publicKey: `0x${toHex(pair.publicKey)}`,
      nextNonce: 0,
    });
  }
  assert.ok(traders.length >= 2, 'the devnet funds trader accounts');
  const markets = ((await (await fetch(`${net.apiUrls[0]}/v1/markets`)).json()) as { markets: MarketJson[] })
    .markets;
  const priced = markets.filter((market) => market.markPrice !== null && market.status === 'active');
  assert.ok(priced.length > 0, 'series with a mark');
  const chainId = network.genesis.chainId;

  /** Ids some API answered 202 for. */
  const accepted = new Set<string>();
  const acceptedBy = new Map<string, string>();
  const idsByNonce = new Map<string, string>();
  const unexpected: string[] = [];
  let loadRunning = true;
  const random = createSeededRandom(6);

  const order = (): ExecutionAction => {
    const market = priced[random.below(priced.length)]!;
    const markTicks = Math.max(3, Math.round(Number(market.markPrice) / market.tickSize));
    const side = random.below(2);
    // Within a few ticks of the mark on both sides, so the traders' orders cross and fill.
    const priceTicks = Math.max(1, markTicks + (side === 0 ? 1 : -1) * (random.below(5) - 1));
    return {
      kind: 'placeOrder',
      value: {
        seriesId: market.seriesId,
        side,
        kind: 0,
        timeInForce: random.below(3) === 0 ? 1 : 0,
        postOnly: false,
        reduceOnly: false,
        price: priceTicks * market.tickSize,
        sizeE6: (1 + random.below(3)) * market.lotSizeE6,
        clientOrderId: 0,
      },
    };
  };

  const run = async (trader: Trader, ordinal: number) => {
    while (loadRunning) {
      const action: ExecutionAction =
        trader.nextNonce % 25 === 24 ? { kind: 'cancelAll', value: { seriesId: 0 } } : order();
      const transaction = signTransaction(trader.signer, {
        chainId,
        nonce: trader.nextNonce,
        expiryHeight: 10_000_000,
        payload: encodeAction(action),
      });
      const bytes = SignedTransactionCodec.encode(transaction);
      const id = `0x${toHex(transactionId(transaction))}`;
      idsByNonce.set(`${trader.publicKey}/${trader.nextNonce}`, id);
      // Offer the same bytes to one validator after another until one holds them.
      for (let attempt = 0; ; attempt++) {
        const url = net.apiUrls[(ordinal + attempt) % net.apiUrls.length]!;
        const answer = await post(url, bytes);
        if (answer.status === 202) {
          accepted.add(id);
          acceptedBy.set(id, `${url} (nonce ${trader.nextNonce})`);
          break;
        }
        // Held already (an earlier attempt got through unanswered) or already final.
        if (answer.code === 'DUPLICATE' || answer.code === 'NONCE_TOO_LOW') break;
        if (!TRANSIENT.has(answer.code ?? '')) {
          unexpected.push(`${answer.status} ${answer.code} for nonce ${trader.nextNonce}`);
          break;
        }
        // A node that refuses for 30 s after the load stopped fails the test below, not a hang.
        if (!loadRunning && attempt > 600) break;
        await sleep(50);
      }
      trader.nextNonce++;
      await sleep(25);
    }
  };

  const load = traders.map((trader, ordinal) => run(trader, ordinal));
  const heightOf = async (index: number) => (await net.status(index))?.height ?? -1;
  try {
    for (const index of [0, 1, 2, 3]) {
      await sleep(1500);
      await net.devnet.supervisor.stop(index);
      await sleep(1000);
      await net.devnet.supervisor.start(index);
      const others = [0, 1, 2, 3].filter((other) => other !== index);
      const target = Math.max(...(await Promise.all(others.map(heightOf))));
      await waitFor(async () => (await heightOf(index)) >= target, `validator ${index} to catch up`, 60_000);
    }
    await sleep(1500);
  } finally {
    loadRunning = false;
    await Promise.all(load);
  }
  assert.deepEqual(unexpected, [], 'no submission refused for a reason other than a node being down');
  assert.ok(accepted.size > 200, `a real load (${accepted.size} accepted)`);

  // Every nonce each trader signed is consumed on chain. If not, say which transaction is stuck
  // and where the validators think it is.
  const committedNonce = async (trader: Trader): Promise<number> => {
    const response = await fetch(`${net.apiUrls[0]}/v1/accounts/${trader.publicKey}`);
    if (!response.ok) return -1;
    return ((await response.json()) as { account: { nonce: number } | null }).account?.nonce ?? 0;
  };
  try {
    await waitFor(
      async () => {
        for (const trader of traders) if ((await committedNonce(trader)) !== trader.nextNonce) return false;
        return true;
      },
      'every signed transaction to be finalized',
      60_000,
    );
  } catch (error) {
    const stuck: string[] = [];
    for (const trader of traders) {
      const nonce = await committedNonce(trader);
      if (nonce === trader.nextNonce) continue;
      const id = idsByNonce.get(`${trader.publicKey}/${nonce}`) ?? 'unknown';
      const where = await Promise.all(
        net.apiUrls.map((url) =>
          fetch(`${url}/v1/transactions/${id}`)
            .then(async (response) => `${url}: ${response.status}`)
            .catch(() => `${url}: down`),
        ),
      );
      stuck.push(
        `trader ${trader.publicKey} stuck at nonce ${nonce} (${id}, accepted by ${acceptedBy.get(id)}; ${where.join(', ')})`,
      );
    }
    assert.fail(`${(error as Error).message}\n${stuck.join('\n')}`);
  }

  // Scan the whole chain: each accepted id exactly once, each trader's nonces 0..last once each.
  const height = await heightOf(0);
  const seen = new Map<string, number>();
  const nonces = new Map<string, number[]>(traders.map((trader) => [trader.publicKey, []]));
  for (let from = 1; from <= height; from += 100) {
    const response = await fetch(`${net.apiUrls[0]}/v1/blocks?from=${from}&limit=100`);
    const page = (await response.json()) as { blocks: BlockSummary[] };
    for (const block of page.blocks) {
      for (const outcome of block.transactions) {
        seen.set(outcome.id, (seen.get(outcome.id) ?? 0) + 1);
        nonces.get(outcome.signer)?.push(outcome.nonce);
      }
    }
  }
  const missing = [...accepted].filter((id) => seen.get(id) !== 1);
  assert.deepEqual(
    missing.map((id) => `${id} accepted by ${acceptedBy.get(id)}, included ${seen.get(id) ?? 0} times`),
    [],
    'every accepted transaction finalized exactly once',
  );
  for (const trader of traders) {
    const list = nonces.get(trader.publicKey)!.sort((a, b) => a - b);
    assert.deepEqual(
      list,
      Array.from({ length: trader.nextNonce }, (_, nonce) => nonce),
      `trader ${trader.publicKey.slice(0, 10)}: nonces 0..${trader.nextNonce - 1} each once`,
    );
  }
  await net.assertSameHashes([0, 1, 2, 3], 1, height);
});
