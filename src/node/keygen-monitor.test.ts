/**
 * The stalled-keygen alert through the node's own pieces: four real price signers (the driver of
 * src/crypto/keygen.ts) on a simulated network and clock, one of them Byzantine as in the known
 * attack, and the monitor feed sampling the honest validator 0's `keygenSessions()` into the
 * standard monitor.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peekTag } from '../codec/message.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import {
  KeygenAttestationCodec,
  KeygenJustificationCodec,
  KeygenShareCodec,
  SealedKeygenCodec,
} from '../crypto/keygen-codec.ts';
import { createMonitor } from '../monitor/monitor.ts';
import { createEonKeysetDriver } from './eon-keyset.ts';
import { manualClock } from './manual-clock.ts';
import { createMonitorFeed, keygenSessionsOf, type MonitorFeedOptions } from './monitor-feed.ts';
import { createMemoryPriceKeyStore, createPriceSigner, type PriceSigner } from './price-signing.ts';

const DEAL_MS = 5_000;
const COMPLAINT_MS = 3_000;

/** The sealed keygen message's inner tag, or undefined for anything else. */
function keygenTag(message: Uint8Array): number | undefined {
  try {
    return peekTag(SealedKeygenCodec.decode(message).payload);
  } catch {
    return undefined;
  }
}

/**
 * Validators 0 and 2 start at t = 0, 3 at 50 ms, 1 at 300 ms (deadlines are local). Dealer 3
 * withholds its share to 0, so 0 accuses it; 3 lets its public answer out only to 1, only between
 * 0's and 2's complaint deadline (8,000 ms) and 1's (8,300 ms), and never attests. 0 and 2 finish
 * without 3, 1 with it: two transcripts, no n − f attestations of either, the DKG never ends.
 */
function attackedGenesis(timedAnswer = true) {
  const { clock, advance } = manualClock();
  const identities = [0, 1, 2, 3].map((i) => sha256(new TextEncoder().encode(`keygen-monitor ${i}`)));
  const signers = identities.map((seed) => createEd25519Signer(seed));
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  const outgoing = (from: number, to: number, message: Uint8Array) => {
    if (from === 3) {
      const tag = keygenTag(message);
      if (tag === KeygenShareCodec.tag && to === 0) return;
      if (tag === KeygenAttestationCodec.tag) return;
      const released = timedAnswer && to === 1 && clock.now() > 8_000 && clock.now() < 8_300;
      if (tag === KeygenJustificationCodec.tag && !released) return;
    }
    queue.push({ from, to, message });
  };
  const prices: PriceSigner[] = signers.map((signer, i) =>
    createPriceSigner({
      chainId: 9,
      self: i,
      validators: signers.map((s) => s.publicKey),
      signer,
      secretKey: identities[i]!,
      keyStore: createMemoryPriceKeyStore(),
      epoch: 1,
      threshold: 3,
      everyBlocks: 1,
      domain: { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x11) },
      assets: [{ assetId: 1, symbol: 'BTC-USD', decimals: 2, underlyingId: 1 }],
      clock,
      send: (to, message) => outgoing(i, to, message),
      broadcast: (message) => {
        for (let to = 0; to < 4; to++) if (to !== i) outgoing(i, to, message);
      },
      retryMs: 500,
      dkgDealMs: DEAL_MS,
      dkgComplaintMs: COMPLAINT_MS,
    }),
  );
  const deliver = () => {
    while (queue.length > 0) {
      const { from, to, message } = queue.shift()!;
      prices[to]!.receive(from, message);
    }
  };
  const run = (ms: number) => {
    advance(ms, deliver);
    deliver();
  };
  prices[0]!.start();
  prices[2]!.start();
  run(50);
  prices[3]!.start();
  run(250);
  prices[1]!.start();
  deliver();
  return { prices, clock, run };
}

/** A monitor feed over validator 0's keygen sessions (the other layers stood in for, quiet). */
function feedOf(prices: PriceSigner, clock: ReturnType<typeof manualClock>['clock']) {
  const monitor = createMonitor();
  const feed = createMonitorFeed({
    monitor,
    app: {
      engine: { height: 0 },
      mempool: { stats: () => ({ transactions: 0, refused: {} }) },
      onApplied: () => () => {},
    } as unknown as MonitorFeedOptions['app'],
    consensus: {
      status: () => ({ view: 1, finalizedView: 0, conflictingFinalizations: 0 }) as never,
      dropCounters: () => ({}),
    },
    transport: { status: () => ({ peers: [], refusals: {}, handshaking: { strangers: 0 } }) as never },
    evidence: () => [],
    quotes: () => [],
    assets: [],
    keygens: () => keygenSessionsOf(prices.keygenSessions(), []),
    clock,
    wallClock: () => 1_700_000_000_000 + Math.round(clock.now()),
  });
  const sample = async () => {
    const before = monitor.findings().length;
    await feed.sample();
    return monitor.findings().slice(0, monitor.findings().length - before);
  };
  return { monitor, sample };
}

test('a genesis DKG stalled by a dealer timing its answer at the complaint deadline raises the finding, once', async () => {
  const { prices, clock, run } = attackedGenesis();
  const { monitor, sample } = feedOf(prices[0]!, clock);
  run(9_000);
  for (const i of [0, 1, 2]) assert.equal(prices[i]!.stats().dkg, 'running', `validator ${i} is stuck`);
  const [session] = prices[0]!.keygenSessions();
  assert.equal(session?.phase, 'attesting');
  assert.deepEqual(session.waitingFor.attestations, [3]);
  // Past its deadlines (8 s) but within the grace: an honest session could still be finishing.
  assert.deepEqual(await sample(), []);
  run(60_000);
  const findings = await sample();
  assert.deepEqual(
    findings.map((f) => [f.alertId, f.severity, f.addresses.join()]),
    [['PALISADE-KEYGEN-STALLED', 'High', 'validator:3']],
  );
  assert.equal(findings[0]!.metadata.keygen, 'price-dkg');
  assert.equal(findings[0]!.metadata.deadlinesMs, String(DEAL_MS + COMPLAINT_MS));
  // Sampled again and again while the stall lasts: nothing new.
  for (let i = 0; i < 30; i++) {
    run(1_000);
    assert.deepEqual(await sample(), []);
  }
  assert.equal(monitor.counts().find((c) => c.alertId === 'PALISADE-KEYGEN-STALLED')?.total, 1);
});

test('the same dealer answering no one: every honest view agrees, the DKG completes, nothing is raised', async () => {
  const { prices, clock, run } = attackedGenesis(false);
  const { sample } = feedOf(prices[0]!, clock);
  run(1_000);
  assert.equal(prices[0]!.keygenSessions().length, 1, 'young and running');
  assert.deepEqual(await sample(), []);
  run(70_000);
  assert.equal(prices[0]!.stats().dkg, 'done');
  assert.deepEqual(prices[0]!.stats().dkgCulprits, [3]);
  assert.deepEqual(prices[0]!.keygenSessions(), []);
  assert.deepEqual(await sample(), []);
});

test('an eon DKG with three silent validators: its running session names them, with its start and deadlines', () => {
  const { clock, advance } = manualClock();
  const identities = [0, 1, 2, 3].map((i) => sha256(new TextEncoder().encode(`eon-monitor ${i}`)));
  const keys = identities.map((seed) => createEd25519Signer(seed).publicKey);
  let file: string | undefined;
  const driver = createEonKeysetDriver({
    chainId: 9,
    eon: 5,
    self: 0,
    validators: keys,
    signer: createEd25519Signer(identities[0]!),
    secretKey: identities[0]!,
    store: {
      read: () => file,
      write: (text) => {
        file = text;
      },
    },
    clock,
    send: () => {},
    broadcast: () => {},
    onAgreed: () => {},
    dealMs: DEAL_MS,
    complaintMs: COMPLAINT_MS,
  });
  assert.equal(driver.session(), undefined, 'not started');
  advance(100, () => {});
  driver.start();
  advance(1_000, () => {});
  const young = driver.session();
  assert.equal(young?.phase, 'dealing');
  assert.equal(young.startedMs, 100);
  assert.equal(young.deadlinesMs, DEAL_MS + COMPLAINT_MS);
  assert.deepEqual(young.waitingFor.deals, [1, 2, 3]);
  const [signal] = keygenSessionsOf([], [young]);
  assert.deepEqual([signal?.keygen, signal?.epoch], ['eon-dkg', 5]);
  advance(DEAL_MS + COMPLAINT_MS, () => {});
  // Too few dealers to qualify: the run is over for this machine but the driver keeps waiting.
  const late = driver.session();
  assert.notEqual(late?.phase, 'dealing');
  assert.equal(late?.startedMs, 100, 'the same run');
  driver.stop();
});
