/**
 * The devnet part of `palisade bench fair-ordering` (`--devnet`, or `--devnet-only`): encrypted
 * beside plain order flow on one running devnet, in one run, so both see the same machine, the
 * same validators and the same blocks.
 *
 * A devnet of `validators` processes is made with fair ordering (an eon keyset, one
 * encrypted-only market). Two groups of `traders` funded accounts trade at the same time in a
 * closed loop: each trader sends a round of `batch` actions (a cancel of its series, then post-only
 * bids of one lot), waits until all of them ran, and sends the next. The plain group sends signed
 * transactions (`POST /v1/transactions/batch`) on a plain market; the encrypted group sends the
 * same actions as envelopes (`encrypt` + `POST /v1/envelopes`) on the encrypted-only market.
 * Each order is sealed once, to its own identity (a fresh prefix, src/node/client.ts), with
 * `expiryHeight` = the highest executed height the trader knows + ENVELOPE_LEAD_BLOCKS: any block
 * up to that may include it, so the client no longer guesses which block comes next. The prefixes'
 * pairings are done ahead on the encryption worker while it idles (./encrypt-worker.ts: a small
 * queue per trader), so sealing an order costs a power in GT and a signature. Each envelope goes to
 * the trader's validator, which gossips it, and to the expected leaders of the next two proposals.
 * Latency runs from the start of a round (before signing or encrypting), so the client's
 * encryption is in it. Executions are seen on validator 0's block stream; over the measured window
 * (after `warmupSeconds`) the run reports per group
 *
 *   throughput              orders executed per second
 *   submit-to-execution     ms (median, p95) and blocks (execution height − executed height at
 *                           submission, median)
 *
 * each beside the goal: encrypted throughput ≥ 0.5 × plain, and added latency ≤ one block
 * (the median encrypted minus the median plain, in blocks, and in ms over the mean block
 * interval of the run); and the client's encryption per order, how many orders had a prefix
 * prepared ahead, and the envelopes that expired without running: an order not run by the time
 * the stream shows block expiryHeight + 1 + EXPIRED_AFTER_BLOCKS (a batch runs in the block after
 * the one that includes it) is counted expired and its round resent with the account's nonce.
 * Should be 0: an honest leader includes a pooled envelope in the next block it proposes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BlockCodec } from '../../src/codec/consensus.ts';
import { SignedOrderEnvelopeCodec } from '../../src/codec/envelope.ts';
import type { ExecutionAction } from '../../src/codec/execution.ts';
import { encodeAction } from '../../src/codec/execution.ts';
import { BlockPayloadCodec } from '../../src/codec/node.ts';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from '../../src/crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { ENVELOPE_LEAD_BLOCKS } from '../../src/crypto/shutter/envelope.ts';
import { signTransaction, transactionId } from '../../src/crypto/transaction.ts';
import { createClient, encryptedOrderId, type PalisadeClient } from '../../src/node/client.ts';
import { BOT_ROLES, startDevnet } from '../../src/node/devnet/devnet.ts';
import { awaitEonKeyset } from '../../src/node/devnet/eon-setup.ts';
import { freeBasePort } from '../../src/node/devnet/ports.ts';
import type { MarketJson, NodeStatus } from '../../src/node/view.ts';
import type { EncryptReply, EncryptRequest, PrepareRequest } from './encrypt-worker.ts';

export interface DevnetFairOptions {
  validators: number;
  traders: number;
  batch: number;
  warmupSeconds: number;
  seconds: number;
  /**
   * The devnet's base port: p2p on base..base+n−1, APIs on base+100.. (no dashboard, no EVM);
   * default a free block found at random (src/node/devnet/ports.ts).
   */
  basePort?: number;
  say: (message: string) => void;
}

export const DEVNET_FAIR_DEFAULTS = Object.freeze({
  traders: 2,
  batch: 2,
  warmupSeconds: 5,
  seconds: 30,
});

/** One order in flight: a plain transaction, or one envelope. */
interface Order {
  group: 'plain' | 'encrypted';
  submittedMs: number;
  submitHeight: number;
  /** Its transaction id (an envelope's: the id of the transaction inside). */
  id: string;
  /** Encrypted only: the highest height that may include its envelope. */
  expiryHeight?: number;
  /** Ran (true), or expired or timed out (false). */
  resolve: (ran: boolean) => void;
}

interface Execution {
  group: 'plain' | 'encrypted';
  atMs: number;
  latencyMs: number;
  latencyBlocks: number;
}

const KEY_POLL_MS = 20;
const ENCRYPT_THREADS = 2;
/**
 * Blocks past expiryHeight + 1 (where the last batch that may hold it runs) before an order not
 * run counts as expired: slack for a batch whose key comes late.
 */
const EXPIRED_AFTER_BLOCKS = 2;
/** Prefixes kept prepared per encrypted trader (bounded by the encryptor cache, 64 per worker). */
const PREPARED_PER_TRADER_MAX = 16;
const ROUND_TIMEOUT_MS = 15_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p + 0.5))]!;
}

const round2 = (value: number | null) => (value === null ? null : Number(value.toFixed(2)));

/** FAIR_DEBUG: what blocks `from`..`to` carried (envelopes by sender, nonce and expiry; batch keys). */
async function debugBlocks(client: PalisadeClient, from: number, to: number): Promise<void> {
  for (let at = from; at <= to; at++) {
    const detail = await client.block(at).catch(() => undefined);
    if (detail === undefined) continue;
    const block = BlockCodec.decode(fromHex(detail.encoded.slice(2))!);
    const payload = BlockPayloadCodec.decode(block.payload);
    const envelopes = payload.envelopes.map((bytes) => {
      const { body } = SignedOrderEnvelopeCodec.decode(bytes);
      return `${toHex(body.sender).slice(0, 8)}/${body.nonce}/exp${body.expiryHeight}`;
    });
    console.error(
      'block',
      at,
      'view',
      block.view,
      'envelopes',
      envelopes.join(' '),
      'keys',
      payload.batchKeys.map((k) => k.height).join(','),
      'txs',
      detail.transactions.length,
    );
  }
}

export async function runDevnetFairOrdering(options: DevnetFairOptions) {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'palisade-bench-fair-'));
  options.say(`devnet: ${options.validators} validators with fair ordering in ${dataDirectory}`);
  const devnet = await startDevnet({
    dataDirectory,
    validators: options.validators,
    basePort: options.basePort ?? (await freeBasePort(options.validators)),
    dashboardPort: 0,
    bots: false,
    reset: false,
    restart: false,
    fairOrdering: true,
    extraTraders: 2 * options.traders,
  });
  try {
    const network = devnet.network;
    // The validators make the eon keyset among themselves: read it as a client does, attested.
    const fair = await awaitEonKeyset(
      network.validators.map((validator) => validator.api),
      network.genesis,
      120_000,
    );
    const encryptedSeries = fair.encryptedOnlySeries![0]!;
    const chainId = network.genesis.chainId;
    const password = (await readFile(network.passwordFile, 'utf8')).split(/\r?\n/)[0] ?? '';
    const signers: Ed25519Signer[] = [];
    const seeds = new Map<Ed25519Signer, Uint8Array>();
    for (const path of network.traderKeystores.slice(BOT_ROLES.length)) {
      const pair = await loadEd25519Keystore(await readFile(path, 'utf8'), password);
      const signer = createEd25519Signer(pair.secretKey);
      signers.push(signer);
      seeds.set(signer, pair.secretKey);
    }
    // Encryption runs on worker threads, as a trader's client would on its own machine.
    const workers = Array.from(
      { length: ENCRYPT_THREADS },
      () =>
        new Worker(new URL('./encrypt-worker.ts', import.meta.url), {
          workerData: { encryptThread: true },
          execArgv: [],
        }),
    );
    const replies = new Map<number, (reply: EncryptReply) => void>();
    for (const worker of workers)
      worker.on('message', (reply: EncryptReply) => {
        replies.get(reply.id)?.(reply);
        replies.delete(reply.id);
      });
    let nextRequest = 0;
    /** Each trader's worker, fixed: the prefixes it prepared live in that worker. */
    const workerOf = new Map<Ed25519Signer, Worker>();
    const encryptOff = (signer: Ed25519Signer, inputs: EncryptRequest['inputs']) =>
      new Promise<EncryptReply>((resolve) => {
        const id = nextRequest++;
        replies.set(id, resolve);
        const request: EncryptRequest = { id, seed: seeds.get(signer)!, inputs };
        (workerOf.get(signer) ?? workers[0]!).postMessage(request);
      });
    const apiUrls = network.validators.map((validator) => validator.api);
    const observer = createClient({ url: apiUrls[0]! });
    let markets: MarketJson[] = [];
    for (let attempt = 0; attempt < 300 && markets.length === 0; attempt++) {
      markets = (await observer.markets()).filter((m) => m.markPrice !== null && m.status === 'active');
      if (markets.length === 0) await delay(200);
    }
    const encryptedMarket = markets.find((m) => m.seriesId === encryptedSeries);
    const plainMarket = markets.find(
      (m) => m.seriesId !== encryptedSeries && m.expiryMs === encryptedMarket?.expiryMs,
    );
    if (encryptedMarket === undefined || plainMarket === undefined)
      throw new Error('no marked series to trade');

    /** Orders in flight by transaction id. */
    const sent = new Map<string, Order>();
    const settle = (order: Order, ran: boolean) => {
      sent.delete(order.id);
      order.resolve(ran);
    };
    /** Envelopes not run by expiryHeight + 1 + EXPIRED_AFTER_BLOCKS, by the stream. */
    const expired = { count: 0 };
    const executions: Execution[] = [];
    const blockTimes: number[] = [];
    const initial = await observer.status();
    let height = initial.height;
    /** The highest next-proposal height seen (`proposalHeight`), from the stream and the polls. */
    const proposal = { height: initial.proposalHeight };
    /** The latest status polled: whom it expects to propose next (`proposalLeader`). */
    let latestStatus: NodeStatus | undefined = initial;
    const seeProposal = (proposalHeight: number) => {
      proposal.height = Math.max(proposal.height, proposalHeight);
    };
    /** Each encrypted envelope's expiry above the executed height at the time it was sent. */
    const leads: number[] = [];
    const stream = observer.stream(['blocks'], (event) => {
      if (event.topic !== 'blocks') return;
      const now = performance.now();
      height = Math.max(height, event.block.height);
      seeProposal(event.proposalHeight);
      blockTimes.push(now);
      for (const outcome of event.block.transactions) {
        const order = sent.get(outcome.id);
        if (order === undefined) continue;
        executions.push({
          group: order.group,
          atMs: now,
          latencyMs: now - order.submittedMs,
          latencyBlocks: event.block.height - order.submitHeight,
        });
        settle(order, true);
      }
      // The last batch that may hold an envelope is its expiryHeight; it runs in the next block.
      for (const order of [...sent.values()])
        if (
          order.expiryHeight !== undefined &&
          event.block.height > order.expiryHeight + 1 + EXPIRED_AFTER_BLOCKS
        ) {
          expired.count++;
          if (process.env.FAIR_DEBUG)
            setTimeout(() => {
              void observer.transaction(order.id as `0x${string}`).then(
                (found) =>
                  console.error(
                    'expired',
                    order.id,
                    order.expiryHeight,
                    order.submitHeight,
                    event.block.height,
                    JSON.stringify(found),
                  ),
                (error: Error) => console.error('expired', order.id, order.expiryHeight, error.message),
              );
              void debugBlocks(observer, order.submitHeight, order.expiryHeight! + 2);
            }, 2000);
          settle(order, false);
        }
    });
    await stream.ready;
    // The highest height any validator executed: validator 0 (which the stream and the load
    // generator share) may lag, and an envelope for a block already past elsewhere is refused.
    const statusClients = apiUrls.map((url) => createClient({ url, timeoutMs: 1000 }));
    /** Each validator's API client by its public key (the status lists them in index order). */
    const validatorKeys = initial.validators.map((validator) => validator.publicKey);
    const clientOfKey = new Map(validatorKeys.map((key, index) => [key, statusClients[index]!]));
    /** The validator expected to propose height `at`, from a status (round robin, no nullified view). */
    const leaderFor = (status: NodeStatus | undefined, at: number) => {
      const index =
        status?.proposalLeader === null ? -1 : validatorKeys.indexOf(status?.proposalLeader ?? '0x');
      if (status === undefined || index < 0) return undefined;
      return clientOfKey.get(validatorKeys[(index + at - status.proposalHeight) % validatorKeys.length]!);
    };
    let polling = true;
    const pollHeights = (async () => {
      while (polling) {
        const statuses = await Promise.all(statusClients.map((c) => c.status().catch(() => undefined)));
        for (const status of statuses) {
          if (status === undefined) continue;
          height = Math.max(height, status.height);
          seeProposal(status.proposalHeight);
          if (latestStatus === undefined || status.proposalHeight >= latestStatus.proposalHeight)
            latestStatus = status;
        }
        await delay(100);
      }
    })();

    const actionsFor = (market: MarketJson): ExecutionAction[] => [
      { kind: 'cancelAll', value: { seriesId: market.seriesId } },
      ...Array.from(
        { length: options.batch - 1 },
        (): ExecutionAction => ({
          kind: 'placeOrder',
          value: {
            seriesId: market.seriesId,
            side: 0,
            kind: 0,
            timeInForce: 0,
            postOnly: true,
            reduceOnly: false,
            price: market.tickSize,
            sizeE6: market.lotSizeE6,
            clientOrderId: 0,
          },
        }),
      ),
    ];

    const encryptMs = { all: [] as number[] };
    /** Orders sealed with a prefix prepared ahead, of all sealed. */
    const prepared = { ahead: 0, all: 0 };
    /** Envelopes the API refused, by code. */
    const refusedEnvelopes: Record<string, number> = {};
    let running = true;
    /** Resolves, per order, once it ran (true) or it expired or timed out (false). */
    const waitAll = (
      ids: readonly string[],
      group: Order['group'],
      startedMs: number,
      expiryHeight?: number,
    ) =>
      Promise.all(
        ids.map(
          (id) =>
            new Promise<boolean>((resolve) => {
              const order: Order = {
                group,
                submittedMs: startedMs,
                submitHeight: height,
                id,
                ...(expiryHeight === undefined ? {} : { expiryHeight }),
                resolve,
              };
              sent.set(id, order);
              const check = () => {
                if (sent.get(id) !== order) return;
                if (performance.now() - startedMs > ROUND_TIMEOUT_MS || !running) {
                  settle(order, false);
                  return;
                }
                setTimeout(check, KEY_POLL_MS * 5);
              };
              setTimeout(check, KEY_POLL_MS * 5);
            }),
        ),
      );

    const nonceOf = async (client: PalisadeClient, signer: Ed25519Signer) =>
      (await client.account(signer.publicKey).catch(() => undefined))?.account?.nonce ?? 0;

    const plainTrader = async (signer: Ed25519Signer, client: PalisadeClient) => {
      let nonce = await nonceOf(client, signer);
      while (running) {
        const startedMs = performance.now();
        const transactions = actionsFor(plainMarket).map((action, offset) =>
          signTransaction(signer, {
            chainId,
            nonce: nonce + offset,
            expiryHeight: height + 100,
            payload: encodeAction(action),
          }),
        );
        const ids = transactions.map((transaction) => `0x${toHex(transactionId(transaction))}`);
        const pending = waitAll(ids, 'plain', startedMs);
        const answers = await client.submitTransactions(transactions).catch(() => []);
        const ran = await pending;
        if (answers.every((answer) => answer.status === 'accepted') && ran.every(Boolean))
          nonce += transactions.length;
        else nonce = await nonceOf(client, signer);
      }
    };

    const encryptedTrader = async (signer: Ed25519Signer, client: PalisadeClient) => {
      let nonce = await nonceOf(client, signer);
      while (running) {
        const startedMs = performance.now();
        // No block to aim at: any block up to the expiry may include the envelope, so the expiry
        // is set from the executed height the trader knows, without asking the chain again.
        const expiryHeight = height + ENVELOPE_LEAD_BLOCKS;
        const inputs = actionsFor(encryptedMarket).map((action, offset) => ({
          chainId,
          eon: fair.eon,
          eonPublicKey: fair.eonPublicKey.toBytes(true),
          expiryHeight,
          nonce: nonce + offset,
          fee: 1000,
          action,
        }));
        const sealStart = performance.now();
        const sealed = await encryptOff(signer, inputs);
        encryptMs.all.push((performance.now() - sealStart) / inputs.length);
        prepared.ahead += sealed.preparedAhead;
        prepared.all += inputs.length;
        leads.push(expiryHeight - height);
        const ids = inputs.map((input) => encryptedOrderId(signer, input));
        const pending = waitAll(ids, 'encrypted', startedMs, expiryHeight);
        // All at once: one after another would leave the later nonces a round trip behind, and a
        // leader that proposes in between carries the first alone (the pool selects a sender's
        // nonces without a gap, so a later one arriving first just waits for the earlier). To our
        // validator, which gossips them to all, and to the expected leaders of the next two
        // proposals (`proposalLeader`), which saves the gossip hop; their answers do not count
        // (the gossip may have brought them the same envelope first).
        const leaders = new Set(
          [proposal.height, proposal.height + 1].map((at) => leaderFor(latestStatus, at)),
        );
        for (const leader of leaders)
          if (leader !== undefined && leader !== client)
            for (const bytes of sealed.envelopes) void leader.submitEnvelope(bytes).catch(() => undefined);
        const answers = await Promise.allSettled(
          sealed.envelopes.map((bytes) => client.submitEnvelope(bytes)),
        );
        // SLOT_TAKEN: a leader had it from us directly and gossiped it here first; it is pooled.
        const taken = (answer: PromiseSettledResult<unknown>) =>
          answer.status === 'rejected' && (answer.reason as { code?: string }).code === 'ENVELOPE_SLOT_TAKEN';
        const accepted = answers.every((answer) => answer.status === 'fulfilled' || taken(answer));
        for (const answer of answers)
          if (answer.status === 'rejected' && !taken(answer)) {
            const code = (answer.reason as { code?: string }).code ?? 'ERROR';
            refusedEnvelopes[code] = (refusedEnvelopes[code] ?? 0) + 1;
          }
        const ran = await pending;
        if (accepted && ran.every(Boolean)) nonce += ids.length;
        else {
          if (process.env.FAIR_DEBUG)
            console.error(
              'round failed',
              toHex(signer.publicKey).slice(0, 8),
              nonce,
              expiryHeight,
              height,
              JSON.stringify(
                answers.map((a) => (a.status === 'fulfilled' ? 'ok' : (a.reason as { code?: string }).code)),
              ),
              JSON.stringify(ran),
            );
          nonce = await nonceOf(client, signer);
        }
      }
    };

    // Warm each worker (mcl's tables, the JIT) before the clock starts.
    const warmInput = {
      chainId,
      eon: fair.eon,
      eonPublicKey: fair.eonPublicKey.toBytes(true),
      expiryHeight: 1,
      nonce: 0,
      fee: 0,
      action: { kind: 'cancelAll', value: { seriesId: 0 } } as ExecutionAction,
    };
    for (let round = 0; round < 2; round++)
      await Promise.all(
        workers.map((worker) => {
          workerOf.set(signers[0]!, worker);
          return encryptOff(signers[0]!, [warmInput, warmInput]);
        }),
      );
    const plainSigners = signers.slice(0, options.traders);
    const encryptedSigners = signers.slice(options.traders, 2 * options.traders);
    // Each encrypted trader's worker, and its queue of prepared prefixes there, filled from now on.
    const tradersPerWorker = Math.ceil(encryptedSigners.length / workers.length);
    const depth = Math.max(
      1,
      Math.min(2 * options.batch, PREPARED_PER_TRADER_MAX, Math.floor(48 / tradersPerWorker)),
    );
    encryptedSigners.forEach((signer, i) => {
      const worker = workers[i % workers.length]!;
      workerOf.set(signer, worker);
      const request: PrepareRequest = {
        prepare: { seed: seeds.get(signer)!, chainId, eonPublicKey: fair.eonPublicKey.toBytes(true), depth },
      };
      worker.postMessage(request);
    });
    options.say(
      `load: ${options.traders} plain traders on series ${plainMarket.seriesId} beside ${options.traders} encrypted on series ${encryptedSeries}, ${options.batch} actions per round, each envelope sealed once, expiry ${ENVELOPE_LEAD_BLOCKS} blocks above the executed height, prefixes prepared ahead (${depth} per trader); ${options.warmupSeconds} s warm-up, ${options.seconds} s measured`,
    );
    const startMs = performance.now();
    const loops = [
      ...plainSigners.map((signer, i) =>
        plainTrader(signer, createClient({ url: apiUrls[i % apiUrls.length]! })),
      ),
      ...encryptedSigners.map((signer, i) => encryptedTrader(signer, statusClients[i % apiUrls.length]!)),
    ];
    await delay((options.warmupSeconds + options.seconds) * 1000);
    running = false;
    await Promise.all(loops);
    polling = false;
    await pollHeights;
    stream.close();
    await Promise.all(workers.map((worker) => worker.terminate()));

    const windowStart = startMs + options.warmupSeconds * 1000;
    const windowEnd = windowStart + options.seconds * 1000;
    const inWindow = executions.filter((e) => e.atMs >= windowStart && e.atMs < windowEnd);
    const blocksInWindow = blockTimes.filter((t) => t >= windowStart && t < windowEnd).length;
    const blockIntervalMs = blocksInWindow === 0 ? null : (options.seconds * 1000) / blocksInWindow;
    const group = (name: Execution['group']) => {
      const list = inWindow.filter((e) => e.group === name);
      return {
        executed: list.length,
        perSecond: round2(list.length / options.seconds)!,
        latencyMsMedian: round2(
          percentile(
            list.map((e) => e.latencyMs),
            0.5,
          ),
        ),
        latencyMsP95: round2(
          percentile(
            list.map((e) => e.latencyMs),
            0.95,
          ),
        ),
        latencyBlocksMedian: percentile(
          list.map((e) => e.latencyBlocks),
          0.5,
        ),
        /** Orders by submit-to-execution blocks. */
        latencyBlocksCounts: list.reduce<Record<number, number>>((counts, e) => {
          counts[e.latencyBlocks] = (counts[e.latencyBlocks] ?? 0) + 1;
          return counts;
        }, {}),
      };
    };
    const plain = group('plain');
    const encrypted = group('encrypted');
    const addedBlocks =
      plain.latencyBlocksMedian === null || encrypted.latencyBlocksMedian === null
        ? null
        : encrypted.latencyBlocksMedian - plain.latencyBlocksMedian;
    const addedMs =
      plain.latencyMsMedian === null || encrypted.latencyMsMedian === null
        ? null
        : encrypted.latencyMsMedian - plain.latencyMsMedian;
    const throughputRatio = plain.perSecond === 0 ? null : round2(encrypted.perSecond / plain.perSecond);
    return {
      validators: options.validators,
      traders: options.traders,
      batch: options.batch,
      seconds: options.seconds,
      blocks: blocksInWindow,
      blockIntervalMs: round2(blockIntervalMs),
      plain,
      encrypted,
      envelopesExpired: expired.count,
      envelopesRefused: refusedEnvelopes,
      clientEncryptMsPerOrderMedian: round2(percentile(encryptMs.all, 0.5)),
      clientEncryptMsPerOrderP95: round2(percentile(encryptMs.all, 0.95)),
      ordersPreparedAhead: prepared.ahead,
      ordersSealed: prepared.all,
      expiryLeadBlocksMedian: percentile(leads, 0.5),
      goals: {
        throughput: {
          ratioEncryptedToPlain: throughputRatio,
          goalAtLeast: 0.5,
          // How far the figure is from its goal: ≥ 1 meets it.
          ratioToGoal: throughputRatio === null ? null : round2(throughputRatio / 0.5),
        },
        addedLatency: {
          blocks: addedBlocks,
          ms: round2(addedMs),
          msInBlocks: addedMs === null || blockIntervalMs === null ? null : round2(addedMs / blockIntervalMs),
          goalAtMostBlocks: 1,
          // ≤ 1 meets it.
          ratioToGoal: addedBlocks === null ? null : round2(addedBlocks / 1),
        },
      },
    };
  } finally {
    await devnet.stop();
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

export type DevnetFairResult = Awaited<ReturnType<typeof runDevnetFairOrdering>>;

/** The lines printed for a run. */
export function devnetFairLines(result: DevnetFairResult): string[] {
  const { plain, encrypted, goals } = result;
  return [
    `devnet n=${result.validators}, ${result.traders} + ${result.traders} traders × ${result.batch} per round, ${result.seconds} s: ${result.blocks} blocks (${result.blockIntervalMs} ms apart)`,
    `  plain:     ${plain.perSecond} orders/s, submit→execution ${plain.latencyMsMedian} ms median (p95 ${plain.latencyMsP95}), ${plain.latencyBlocksMedian} block(s) median (orders by blocks ${JSON.stringify(plain.latencyBlocksCounts)})`,
    `  encrypted: ${encrypted.perSecond} orders/s, submit→execution ${encrypted.latencyMsMedian} ms median (p95 ${encrypted.latencyMsP95}), ${encrypted.latencyBlocksMedian} block(s) median (orders by blocks ${JSON.stringify(encrypted.latencyBlocksCounts)}); each sealed once; ${result.envelopesExpired} envelopes expired without running (goal 0); refused ${JSON.stringify(result.envelopesRefused)}`,
    `  client encryption ${result.clientEncryptMsPerOrderMedian} ms per order median (p95 ${result.clientEncryptMsPerOrderP95}; mcl-wasm, worker thread, round trip included), ${result.ordersPreparedAhead} of ${result.ordersSealed} sealed with a prefix prepared ahead; expiry ${result.expiryLeadBlocksMedian} blocks above the executed height`,
    `  throughput encrypted/plain ×${goals.throughput.ratioEncryptedToPlain} (goal ≥ 0.5: ×${goals.throughput.ratioToGoal} of it)`,
    `  added latency ${goals.addedLatency.blocks} block(s), ${goals.addedLatency.ms} ms = ${goals.addedLatency.msInBlocks} block intervals (goal ≤ 1 block)`,
  ];
}
