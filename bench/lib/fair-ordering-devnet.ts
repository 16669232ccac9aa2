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
 * same actions as envelopes (`encrypt` + `POST /v1/envelopes`) on the encrypted-only market,
 * each sealed twice, with one nonce: for the height the client's `envelopeTargetHeight` names from
 * the validator's `proposalHeight` (the next proposal's) and for the one after, so an order that
 * just misses the next proposal runs a block later instead of being resent (the first copy
 * included runs; the other is a replay no leader selects). Latency runs from the start of a round
 * (before signing or encrypting), so the client's encryption is in it. Executions are seen on
 * validator 0's block
 * stream; over the measured window (after `warmupSeconds`) the run reports per group
 *
 *   throughput              orders executed per second
 *   submit-to-execution     ms (median, p95) and blocks (execution height − finalized height at
 *                           submission, median)
 *   finality-to-execution   encrypted only: execution height − the envelope's block height, the
 *                           blocks an order waits after its place is final for its key (median, max)
 *
 * each beside the issue's goal: encrypted throughput ≥ 0.5 × plain, and added latency ≤ one block
 * (the median encrypted minus the median plain, in blocks, and in ms over the mean block
 * interval of the run). An order both of whose blocks passed without it (their leaders had not
 * received it yet) is counted as missed once the block after the later one ran without it (it
 * opens that batch first); its nonce was never used and the trader resends at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ExecutionAction } from '../../src/codec/execution.ts';
import { encodeAction } from '../../src/codec/execution.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from '../../src/crypto/ed25519.ts';
import { loadEd25519Keystore } from '../../src/crypto/keystore.ts';
import { signTransaction, transactionId } from '../../src/crypto/transaction.ts';
import {
  createClient,
  type encrypt,
  encryptedOrderId,
  envelopeTargetHeight,
  type PalisadeClient,
} from '../../src/node/client.ts';
import { BOT_ROLES, startDevnet } from '../../src/node/devnet/devnet.ts';
import { awaitEonKeyset } from '../../src/node/devnet/eon-setup.ts';
import { freeBasePort } from '../../src/node/devnet/ports.ts';
import type { MarketJson, NodeStatus } from '../../src/node/view.ts';

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

/** One order in flight: plain, or encrypted as one envelope per height it was sealed for. */
interface Order {
  group: 'plain' | 'encrypted';
  submittedMs: number;
  submitHeight: number;
  /** Its transaction ids, one per envelope copy (plain: one). */
  ids: string[];
  /** The copies' blocks (encrypted only), by id. */
  targetHeights?: Map<string, number>;
  /** Ran (true), or missed every block it was sealed for (false). */
  resolve: (ran: boolean) => void;
}

interface Execution {
  group: 'plain' | 'encrypted';
  atMs: number;
  latencyMs: number;
  latencyBlocks: number;
  finalityToExecutionBlocks?: number;
  /** Encrypted: it ran on the copy for the earlier of its two heights. */
  firstCopy?: boolean;
}

const KEY_POLL_MS = 20;
const ENCRYPT_THREADS = 2;
/** Past its block by this many without running, an envelope is missed. */
const MISSED_AFTER_BLOCKS = 3;
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
    const replies = new Map<number, (envelopes: Uint8Array[]) => void>();
    for (const worker of workers)
      worker.on('message', (reply: { id: number; envelopes: Uint8Array[] }) => {
        replies.get(reply.id)?.(reply.envelopes);
        replies.delete(reply.id);
      });
    let nextRequest = 0;
    const encryptOff = (signer: Ed25519Signer, inputs: Parameters<typeof encrypt>[1][]) =>
      new Promise<Uint8Array[]>((resolve) => {
        const id = nextRequest++;
        replies.set(id, resolve);
        // By target block, so the worker that prepared a block's pairing encrypts to it.
        const worker = workers[(inputs[0]?.targetHeight ?? id) % workers.length]!;
        worker.postMessage({ id, seed: seeds.get(signer)!, inputs });
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

    /** Orders in flight by transaction id (an encrypted order under each of its copies' ids). */
    const sent = new Map<string, Order>();
    const settle = (order: Order, ran: boolean) => {
      for (const id of order.ids) sent.delete(id);
      order.resolve(ran);
    };
    const missed = { count: 0 };
    const executions: Execution[] = [];
    const blockTimes: number[] = [];
    const initial = await observer.status();
    let height = initial.height;
    /** The highest next-proposal height seen (`proposalHeight`), and when it was seen. */
    const proposal = { height: initial.proposalHeight, atMs: performance.now() };
    const seeProposal = (proposalHeight: number, atMs: number) => {
      if (proposalHeight > proposal.height) {
        proposal.height = proposalHeight;
        proposal.atMs = atMs;
      }
    };
    // A trader's client knows the blocks it will target next and does their pairings while it
    // waits (src/node/client.ts prepareEncryption): each new height, the next few targets.
    let prepared = 0;
    /** The lead (blocks ahead) of each encrypted round, in order. */
    const leads: number[] = [];
    /** The same above the next proposal's height as the trader knew it when it sent. */
    const proposalLeads: number[] = [];
    const prepareAhead = () => {
      const targetHeights: number[] = [];
      // The next proposal's height and the two above it: what envelopeTargetHeight names.
      for (let ahead = 0; ahead <= 2; ahead++)
        if (proposal.height + ahead > prepared) targetHeights.push(proposal.height + ahead);
      if (targetHeights.length === 0) return;
      prepared = targetHeights.at(-1)!;
      for (const target of targetHeights)
        workers[target % workers.length]!.postMessage({
          prepare: { chainId, eonPublicKey: fair.eonPublicKey.toBytes(true), targetHeights: [target] },
        });
    };
    const stream = observer.stream(['blocks'], (event) => {
      if (event.topic !== 'blocks') return;
      const now = performance.now();
      height = Math.max(height, event.block.height);
      seeProposal(event.proposalHeight, now);
      prepareAhead();
      blockTimes.push(now);
      for (const outcome of event.block.transactions) {
        const order = sent.get(outcome.id);
        if (order === undefined) continue;
        const targetHeight = order.targetHeights?.get(outcome.id);
        executions.push({
          group: order.group,
          atMs: now,
          latencyMs: now - order.submittedMs,
          latencyBlocks: event.block.height - order.submitHeight,
          ...(targetHeight === undefined
            ? {}
            : {
                finalityToExecutionBlocks: event.block.height - targetHeight,
                firstCopy: targetHeight === Math.min(...order.targetHeights!.values()),
              }),
        });
        if (process.env.FAIR_DEBUG && targetHeight !== undefined)
          console.log(
            'ran',
            event.block.height,
            targetHeight,
            [...order.targetHeights!.values()],
            order.submitHeight,
          );
        settle(order, true);
      }
      // Block h + 1 opens batch h first: an order none of whose copies' heights is at or above
      // this block, and that did not run in it, missed all its blocks (no nonce spent); the trader
      // resends at once.
      for (const order of new Set(sent.values()))
        if (
          order.targetHeights !== undefined &&
          Math.max(...order.targetHeights.values()) < event.block.height
        ) {
          missed.count++;
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
    /** The validator expected to propose `targetHeight`, from a status (round robin, no nullified view). */
    const leaderFor = (status: NodeStatus | undefined, targetHeight: number) => {
      const index =
        status?.proposalLeader === null ? -1 : validatorKeys.indexOf(status?.proposalLeader ?? '0x');
      if (status === undefined || index < 0) return undefined;
      return clientOfKey.get(
        validatorKeys[(index + targetHeight - status.proposalHeight) % validatorKeys.length]!,
      );
    };
    let polling = true;
    const pollHeights = (async () => {
      while (polling) {
        const heights = await Promise.all(
          statusClients.map((c) =>
            c.status().then(
              (s) => s.height,
              () => 0,
            ),
          ),
        );
        height = Math.max(height, ...heights);
        prepareAhead();
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

    /** Round trip of one envelope submission, ms (moving average). */
    const submitMs = { mean: 2 };
    const encryptMs = { perOrder: 0, samples: 0, all: [] as number[] };
    /** Envelopes the API refused, by code. */
    const refusedEnvelopes: Record<string, number> = {};
    let running = true;
    /** Resolves, per order, once one of its ids ran (true) or it timed out or missed (false). */
    const waitAll = (
      orders: readonly (readonly string[])[],
      group: Order['group'],
      startedMs: number,
      targetHeightsOf?: (id: string) => number,
    ) =>
      Promise.all(
        orders.map(
          (ids) =>
            new Promise<boolean>((resolve) => {
              const order: Order = {
                group,
                submittedMs: startedMs,
                submitHeight: height,
                ids: [...ids],
                ...(targetHeightsOf === undefined
                  ? {}
                  : { targetHeights: new Map(ids.map((id) => [id, targetHeightsOf(id)])) }),
                resolve,
              };
              for (const id of ids) sent.set(id, order);
              const last = targetHeightsOf === undefined ? undefined : Math.max(...ids.map(targetHeightsOf));
              const check = () => {
                if (!sent.has(ids[0]!)) return;
                const late = last !== undefined && height > last + MISSED_AFTER_BLOCKS;
                if (late || performance.now() - startedMs > ROUND_TIMEOUT_MS || !running) {
                  if (late) missed.count++;
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
        const pending = waitAll(
          ids.map((id) => [id]),
          'plain',
          startedMs,
        );
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
        // The envelope names its block inside the ciphertext. The round is sealed for two heights
        // at once (one on each worker): the one envelopeTargetHeight names from what is known now,
        // and the one after. Once both are sealed the status is read again, and every copy whose
        // height is not yet passed is sent. Copies share their nonces: the first included runs,
        // a later one is a replay its leader does not select (src/node/fair-ordering-pool.ts), so
        // an order that just misses the next proposal runs one block later instead of being
        // resent. The encryption is thus not between the last look at the chain and the send.
        const recent = blockTimes.slice(-11);
        const intervalMs = Math.max(
          1,
          recent.length < 2 ? 1000 : (recent.at(-1)! - recent[0]!) / (recent.length - 1),
        );
        const early = envelopeTargetHeight({
          proposalHeight: proposal.height,
          ageMs: performance.now() - proposal.atMs,
          // Not the encryption: the copies are chosen after it, from a fresh status.
          sendMs: 2 * submitMs.mean,
          blockIntervalMs: intervalMs,
        });
        const inputsFor = (targetHeight: number) =>
          actionsFor(encryptedMarket).map((action, offset) => ({
            chainId,
            eon: fair.eon,
            eonPublicKey: fair.eonPublicKey.toBytes(true),
            targetHeight,
            nonce: nonce + offset,
            fee: 1000,
            action,
          }));
        const seal = (targets: readonly number[]) =>
          Promise.all(
            targets.map(async (targetHeight) => {
              const inputs = inputsFor(targetHeight);
              return { targetHeight, inputs, sealed: await encryptOff(signer, inputs) };
            }),
          );
        const sealStart = performance.now();
        let copies = await seal([early, early + 1]);
        const perOrder = (performance.now() - sealStart) / options.batch;
        encryptMs.perOrder = encryptMs.samples === 0 ? perOrder : 0.8 * encryptMs.perOrder + 0.2 * perOrder;
        encryptMs.samples++;
        encryptMs.all.push(perOrder);
        const asked = performance.now();
        const status = await client.status().catch(() => undefined);
        submitMs.mean = 0.8 * submitMs.mean + 0.2 * (performance.now() - asked);
        if (status !== undefined) seeProposal(status.proposalHeight, asked);
        const named = envelopeTargetHeight({
          proposalHeight: proposal.height,
          ageMs: performance.now() - proposal.atMs,
          sendMs: submitMs.mean,
          blockIntervalMs: intervalMs,
        });
        // A copy for the height the validator still names may just miss; it costs nothing then.
        copies = copies.filter(
          (copy) => copy.targetHeight >= Math.min(named, status?.proposalHeight ?? named),
        );
        if (copies.length === 0) copies = await seal([named, named + 1]);
        const first = copies[0]!.targetHeight;
        leads.push(first - height);
        proposalLeads.push(first - proposal.height);
        const targetOf = new Map<string, number>();
        const orders = inputsFor(first).map((_, offset) =>
          copies.map((copy) => {
            const id = encryptedOrderId(signer, copy.inputs[offset]!);
            targetOf.set(id, copy.targetHeight);
            return id;
          }),
        );
        const pending = waitAll(orders, 'encrypted', startedMs, (id) => targetOf.get(id)!);
        // All at once: one after another would leave the later nonces a round trip behind, and a
        // leader that proposes in between carries the first alone (the pool selects a sender's
        // nonces without a gap, so a later one arriving first just waits for the earlier). To our
        // validator, which gossips them to all, and to the expected leader of each copy's height
        // as well (`proposalLeader`), which saves the gossip hop; its answers do not count (the
        // gossip may have brought it the same envelope first).
        for (const copy of copies) {
          const leader = leaderFor(status, copy.targetHeight);
          if (leader !== undefined && leader !== client)
            for (const bytes of copy.sealed) void leader.submitEnvelope(bytes).catch(() => undefined);
        }
        const answers = await Promise.all(
          copies.map((copy) => Promise.allSettled(copy.sealed.map((bytes) => client.submitEnvelope(bytes)))),
        );
        // SLOT_TAKEN: the leader had it from us directly and gossiped it here first; it is pooled.
        const taken = (answer: PromiseSettledResult<unknown>) =>
          answer.status === 'rejected' && (answer.reason as { code?: string }).code === 'ENVELOPE_SLOT_TAKEN';
        const pooled = (answer: PromiseSettledResult<unknown>) =>
          answer.status === 'fulfilled' || taken(answer);
        // Each order needs one copy pooled; a copy refused for a height passed meanwhile is spare.
        const accepted = orders.every((_, offset) => answers.some((copy) => pooled(copy[offset]!)));
        for (const answer of answers.flat())
          if (answer.status === 'rejected' && !taken(answer)) {
            const code = (answer.reason as { code?: string }).code ?? 'ERROR';
            refusedEnvelopes[code] = (refusedEnvelopes[code] ?? 0) + 1;
          }
        const ran = await pending;
        if (accepted && ran.every(Boolean)) nonce += orders.length;
        else nonce = await nonceOf(client, signer);
      }
    };

    // Warm each worker (mcl's tables, the JIT) before the clock starts.
    const warmInput = {
      chainId,
      eon: fair.eon,
      eonPublicKey: fair.eonPublicKey.toBytes(true),
      targetHeight: 1,
      nonce: 0,
      fee: 0,
      action: { kind: 'cancelAll', value: { seriesId: 0 } } as ExecutionAction,
    };
    for (let round = 0; round < 2; round++)
      await Promise.all(workers.map(() => encryptOff(signers[0]!, [warmInput, warmInput])));
    const plainSigners = signers.slice(0, options.traders);
    const encryptedSigners = signers.slice(options.traders, 2 * options.traders);
    options.say(
      `load: ${options.traders} plain traders on series ${plainMarket.seriesId} beside ${options.traders} encrypted on series ${encryptedSeries}, ${options.batch} actions per round, envelopes for the next proposal's height (envelopeTargetHeight); ${options.warmupSeconds} s warm-up, ${options.seconds} s measured`,
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
        ...(name === 'encrypted'
          ? {
              finalityToExecutionBlocksMedian: percentile(
                list.map((e) => e.finalityToExecutionBlocks ?? 0),
                0.5,
              ),
              ranOnFirstCopy: list.filter((e) => e.firstCopy === true).length,
              finalityToExecutionBlocksMax: list.reduce(
                (max, e) => Math.max(max, e.finalityToExecutionBlocks ?? 0),
                0,
              ),
            }
          : {}),
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
      envelopesMissed: missed.count,
      envelopesRefused: refusedEnvelopes,
      clientEncryptMsPerOrderMedian: round2(percentile(encryptMs.all, 0.5)),
      leadBlocksMedian: percentile(leads, 0.5),
      proposalLeadBlocksMedian: percentile(proposalLeads, 0.5),
      proposalLeadBlocksMean: round2(
        proposalLeads.length === 0 ? null : proposalLeads.reduce((a, b) => a + b, 0) / proposalLeads.length,
      ),
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
    `  encrypted: ${encrypted.perSecond} orders/s, submit→execution ${encrypted.latencyMsMedian} ms median (p95 ${encrypted.latencyMsP95}), ${encrypted.latencyBlocksMedian} block(s) median (orders by blocks ${JSON.stringify(encrypted.latencyBlocksCounts)}); finality→execution ${encrypted.finalityToExecutionBlocksMedian} block(s) median, ${encrypted.finalityToExecutionBlocksMax} max; ${encrypted.ranOnFirstCopy} of ${encrypted.executed} ran on the copy for the earlier height; ${result.envelopesMissed} orders missed both; refused ${JSON.stringify(result.envelopesRefused)}`,
    `  client encryption ${result.clientEncryptMsPerOrderMedian} ms per order (mcl-wasm, target blocks prepared ahead) → envelopes ${result.leadBlocksMedian} block(s) above the executed height, ${result.proposalLeadBlocksMedian} above the next proposal (median; mean ${result.proposalLeadBlocksMean})`,
    `  throughput encrypted/plain ×${goals.throughput.ratioEncryptedToPlain} (goal ≥ 0.5: ×${goals.throughput.ratioToGoal} of it)`,
    `  added latency ${goals.addedLatency.blocks} block(s), ${goals.addedLatency.ms} ms = ${goals.addedLatency.msInBlocks} block intervals (goal ≤ 1 block)`,
  ];
}
