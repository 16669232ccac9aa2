/**
 * Liveness attacks on one engine (issue 10): a Byzantine leader filling the block cache, a long
 * run of nullified views, sync and certificate request floods, and an equivocation flood. The
 * test plays validators 1..3 (validator 3 is the Byzantine one) against validator 0's engine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Block,
  type Certificate,
  CertificateCodec,
  CertificateRequestCodec,
  ProposalCodec,
  SyncRequestCodec,
  SyncResponseCodec,
  type Vote,
  VoteCodec,
  VoteKind,
  type VoteKindValue,
} from '../codec/consensus.ts';
import { peekTag } from '../codec/message.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { createSimRng } from '../runtime/sim/rng.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import type { Network, PeerId } from '../runtime/types.ts';
import { certificateFromVotes } from './certificate.ts';
import { type Application, createEngine, type EngineConfig, MAX_VIEWS_AHEAD } from './engine.ts';
import { createValidatorSet, leaderOf } from './validators.ts';
import { blockDigest, genesisDigest, signVote, ZERO_DIGEST } from './votes.ts';

const chainId = 7;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x61 + i)));
const validators = createValidatorSet(signers.map((signer) => signer.publicKey));
const timeouts = { leaderMs: 50, notarizationMs: 80, nullifyRetryMs: 1000, syncRetryMs: 50 };
const genesis = genesisDigest(chainId);

class CapturingNetwork implements Network {
  sent: { to: PeerId | 'all'; message: Uint8Array }[] = [];
  handler: ((from: PeerId, message: Uint8Array) => void) | undefined;
  send(to: PeerId, message: Uint8Array): void {
    this.sent.push({ to, message });
  }
  broadcast(message: Uint8Array): void {
    this.sent.push({ to: 'all', message });
  }
  onMessage(handler: (from: PeerId, message: Uint8Array) => void): void {
    this.handler = handler;
  }
  deliver(from: PeerId, message: Uint8Array): void {
    this.handler!(from, message);
  }
  tagged(tag: number, to?: PeerId | 'all'): Uint8Array[] {
    return this.sent
      .filter((entry) => (to === undefined || entry.to === to) && peekTag(entry.message) === tag)
      .map((entry) => entry.message);
  }
  votes(): Vote[] {
    return this.tagged(VoteCodec.tag).map((message) => VoteCodec.decode(message));
  }
  clear(): void {
    this.sent = [];
  }
}

const application: Application = {
  propose: () => new Uint8Array(4),
  verify: () => true,
  finalized: () => {},
  processedHeight: () => 0,
};

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runUntil(scheduler: Scheduler, timeMs: number): Promise<void> {
  await settle();
  while (scheduler.step(timeMs)) await settle();
  scheduler.advanceTo(timeMs);
}

function engineFor(
  scheduler: Scheduler,
  storage: SimStorage,
  network: Network,
  extra: Partial<EngineConfig> = {},
) {
  return createEngine({
    chainId,
    validators,
    self: 0,
    signer: signers[0]!,
    clock: scheduler.clockFor(),
    network,
    storage,
    application,
    timeouts,
    ...extra,
  });
}

function vote(signer: number, kind: VoteKindValue, view: number, digest: Uint8Array = ZERO_DIGEST): Vote {
  return signVote(signers[signer]!, chainId, { kind, view, digest, signerIndex: signer });
}

/** A certificate signed by validators 1, 2 and 3 (a quorum of four). */
function certificate(kind: VoteKindValue, view: number, digest: Uint8Array = ZERO_DIGEST): Certificate {
  return certificateFromVotes(
    kind,
    view,
    digest,
    [1, 2, 3].map((i) => vote(i, kind, view, digest)),
  );
}

function proposal(block: Block): Uint8Array {
  return ProposalCodec.encode({
    block,
    vote: vote(block.proposer, VoteKind.notarize, block.view, blockDigest(block)),
  });
}

test('a Byzantine leader proposing at height 2^50 in every view it leads cannot fill the cache or stop finality', async () => {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  const engine = engineFor(scheduler, new SimStorage(), network);
  await engine.start();
  const rng = createSimRng(5);
  let tip = { view: 0, height: 0, digest: genesis };
  let honest = 0;
  let largest = { blocks: 0, blockBytes: 0, views: 0, proposals: 0 };
  // Each round fills the window of views the engine accepts with the attacker's proposals (one per
  // view it leads), then an honest leader's block in the window is finalized, which moves the
  // engine past the window. 600 rounds are 36,000 views and 9,000 attacking proposals: more than
  // the 8,192 blocks the cache holds.
  const rounds = 600;
  for (let round = 0; round < rounds; round++) {
    const view = engine.status().view;
    for (let w = view; w <= view + MAX_VIEWS_AHEAD; w++) {
      if (leaderOf(validators, w) !== 3) continue;
      network.deliver(
        3,
        proposal({
          view: w,
          height: 2 ** 50,
          parentView: w - 1,
          parent: rng.bytes(32),
          proposer: 3,
          payload: new Uint8Array(16),
        }),
      );
    }
    let h = view + MAX_VIEWS_AHEAD - 4;
    while (leaderOf(validators, h) !== 1 && leaderOf(validators, h) !== 2) h++;
    const block: Block = {
      view: h,
      height: tip.height + 1,
      parentView: tip.view,
      parent: tip.digest,
      proposer: leaderOf(validators, h),
      payload: new Uint8Array(16),
    };
    network.deliver(block.proposer, proposal(block));
    network.deliver(1, CertificateCodec.encode(certificate(VoteKind.finalize, h, blockDigest(block))));
    tip = { view: h, height: block.height, digest: blockDigest(block) };
    honest++;
    const sizes = engine.cacheSizes();
    largest = {
      blocks: Math.max(largest.blocks, sizes.blocks),
      blockBytes: Math.max(largest.blockBytes, sizes.blockBytes),
      views: Math.max(largest.views, sizes.views),
      proposals: Math.max(largest.proposals, sizes.proposals),
    };
    if (round % 64 === 0) await settle();
    network.clear();
  }
  await settle();
  assert.ok(engine.status().view > 30_000);
  assert.equal(engine.status().finalizedHeight, honest, 'finality stopped under the cache filler');
  // Nothing the attacker sent is held: the blocks are the tip and at most a window's proposals.
  assert.ok(largest.blocks <= 2 + MAX_VIEWS_AHEAD, `blocks in memory grew to ${largest.blocks}`);
  assert.ok(largest.proposals <= 2 + MAX_VIEWS_AHEAD, `proposals held grew to ${largest.proposals}`);
  const drops = engine.dropCounters()[3] ?? {};
  assert.ok(
    (drops['invalid-proposal'] ?? 0) >= 8000,
    `attacker's proposals not counted: ${JSON.stringify(drops)}`,
  );
});

test('proposals with unknown parents and 1 MiB payloads are held only for the window of views ahead', async () => {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  const engine = engineFor(scheduler, new SimStorage(), network);
  await engine.start();
  const rng = createSimRng(6);
  const payload = new Uint8Array(1 << 20);
  let largestBytes = 0;
  // 200 views of nullifications with the attacker proposing a plausible-height block on an unknown
  // parent in each view it leads, ahead of the engine.
  for (let view = 1; view <= 200; view++) {
    const ahead = view + MAX_VIEWS_AHEAD - 1;
    if (leaderOf(validators, ahead) === 3) {
      network.deliver(
        3,
        proposal({
          view: ahead,
          height: 1,
          parentView: ahead - 1,
          parent: rng.bytes(32),
          proposer: 3,
          payload,
        }),
      );
    }
    network.deliver(1, CertificateCodec.encode(certificate(VoteKind.nullify, view)));
    largestBytes = Math.max(largestBytes, engine.cacheSizes().blockBytes);
    network.clear();
  }
  assert.equal(engine.status().view, 201);
  const windowBytes = (MAX_VIEWS_AHEAD / 4 + 2) * payload.length;
  assert.ok(largestBytes <= windowBytes, `held ${largestBytes} payload bytes, more than ${windowBytes}`);
});

/** Delivers nullifications of `from..to`; the engine follows them view by view. */
function nullifyViews(network: CapturingNetwork, from: number, to: number): void {
  for (let view = from; view <= to; view++) {
    network.deliver(1 + (view % 3), CertificateCodec.encode(certificate(VoteKind.nullify, view)));
    if (view % 256 === 0) network.clear();
  }
  network.clear();
}

async function healsAfterNullifications(restartAt: number | undefined): Promise<void> {
  const views = 5000;
  const scheduler = new Scheduler();
  const storage = new SimStorage();
  let network = new CapturingNetwork();
  let engine = engineFor(scheduler, storage, network);
  await engine.start();
  if (restartAt === undefined) nullifyViews(network, 1, views);
  else {
    nullifyViews(network, 1, restartAt);
    // Our nullify vote of the next view syncs the journal, then the validator crashes.
    await runUntil(scheduler, 10_000);
    assert.ok(network.votes().some((v) => v.kind === VoteKind.nullify && v.view === restartAt + 1));
    engine.stop();
    storage.crash(createSimRng(2));
    network = new CapturingNetwork();
    engine = engineFor(scheduler, storage, network);
    await engine.start();
    assert.equal(engine.status().view, restartAt + 1);
    nullifyViews(network, restartAt + 1, views);
  }
  await settle();
  assert.equal(engine.status().view, views + 1);
  // The leader of the next view (validator 1) proposes over all of them: it is notarized.
  const block: Block = {
    view: views + 1,
    height: 1,
    parentView: 0,
    parent: genesis,
    proposer: 1,
    payload: new Uint8Array(4),
  };
  assert.equal(leaderOf(validators, block.view), 1);
  network.deliver(1, proposal(block));
  await runUntil(scheduler, scheduler.now() + 1);
  assert.ok(
    network.votes().some((v) => v.kind === VoteKind.notarize && v.view === views + 1),
    `no notarize after ${views} nullified views; asked for ${network.tagged(CertificateRequestCodec.tag).length} certificates`,
  );
  network.deliver(2, CertificateCodec.encode(certificate(VoteKind.notarize, block.view, blockDigest(block))));
  network.deliver(2, CertificateCodec.encode(certificate(VoteKind.finalize, block.view, blockDigest(block))));
  await runUntil(scheduler, scheduler.now() + 1);
  assert.equal(engine.status().finalizedHeight, 1);
  // Three nullified views later we lead, and propose on the block just finalized.
  nullifyViews(network, views + 2, views + 3);
  const ours = views + 4;
  assert.equal(leaderOf(validators, ours), 0);
  await runUntil(scheduler, scheduler.now() + 1);
  const proposals = network.tagged(ProposalCodec.tag).map((message) => ProposalCodec.decode(message).block);
  assert.deepEqual(
    proposals.map((p) => [p.view, p.height, p.parentView]),
    [[ours, 2, views + 1]],
  );
}

test('5,000 consecutive nullified views, then the network heals: the chain finalizes again', async () => {
  await healsAfterNullifications(undefined);
});

test('5,000 consecutive nullified views with a crash and restart in the middle: the chain finalizes again', async () => {
  await healsAfterNullifications(2500);
});

test('a leader whose view follows thousands of nullified views still proposes', async () => {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  const engine = engineFor(scheduler, new SimStorage(), network);
  await engine.start();
  nullifyViews(network, 1, 4999);
  assert.equal(leaderOf(validators, 5000), 0);
  await runUntil(scheduler, 1);
  const proposals = network.tagged(ProposalCodec.tag).map((message) => ProposalCodec.decode(message).block);
  assert.deepEqual(
    proposals.map((p) => [p.view, p.height, p.parentView]),
    [[5000, 1, 0]],
  );
});

test('timeouts back off exponentially over consecutive nullified views, up to a bound, and reset on progress', async () => {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  // We never propose, so every view we lead times out on the leader timeout too.
  const engine = engineFor(scheduler, new SimStorage(), network, {
    application: { ...application, propose: () => undefined },
  });
  await engine.start();
  /** Time from now until our nullify vote of the current view goes out. */
  const timeoutOfCurrentView = async (): Promise<number> => {
    const view = engine.status().view;
    const start = scheduler.now();
    for (let t = start + 1; t <= start + 100_000; t++) {
      await runUntil(scheduler, t);
      if (network.votes().some((v) => v.kind === VoteKind.nullify && v.view === view)) return t - start;
    }
    return Number.POSITIVE_INFINITY;
  };
  const observed: number[] = [];
  for (let view = 1; view <= 8; view++) {
    observed.push(await timeoutOfCurrentView());
    network.deliver(1, CertificateCodec.encode(certificate(VoteKind.nullify, view)));
  }
  // View 1 is entered without a nullified predecessor; each nullified view doubles, to at most 8×.
  assert.deepEqual(observed, [50, 100, 200, 400, 400, 400, 400, 400]);
  // A notarization is progress: the next view's timeout is the base one again.
  const block: Block = {
    view: 9,
    height: 1,
    parentView: 0,
    parent: genesis,
    proposer: 1,
    payload: new Uint8Array(4),
  };
  network.deliver(1, CertificateCodec.encode(certificate(VoteKind.notarize, 9, blockDigest(block))));
  assert.equal(engine.status().view, 10);
  assert.equal(await timeoutOfCurrentView(), 50);
});

test('a peer sending 10,000 block-sync requests gets at most its budget answered and is counted', async () => {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  const engine = engineFor(scheduler, new SimStorage(), network);
  await engine.start();
  // Validator 1's block of view 1 is notarized here, so we hold it and serve it.
  const block: Block = {
    view: 1,
    height: 1,
    parentView: 0,
    parent: genesis,
    proposer: 1,
    payload: new Uint8Array(1000),
  };
  network.deliver(1, proposal(block));
  await runUntil(scheduler, 1);
  const request = SyncRequestCodec.encode({ digest: blockDigest(block), count: 1 });
  for (let i = 0; i < 10_000; i++) network.deliver(2, request);
  const answered = network.tagged(SyncResponseCodec.tag, 2).length;
  assert.ok(answered > 0, 'the first requests must be answered');
  assert.ok(answered <= 256, `${answered} of 10,000 requests answered`);
  const dropped = engine.dropCounters()[2]?.['rate-limited'] ?? 0;
  assert.equal(dropped, 10_000 - answered);
  // Another peer's budget is its own, and the flooder's refills with time.
  network.deliver(3, request);
  assert.equal(network.tagged(SyncResponseCodec.tag, 3).length, 1);
  await runUntil(scheduler, scheduler.now() + 1000);
  network.clear();
  network.deliver(2, request);
  assert.equal(network.tagged(SyncResponseCodec.tag, 2).length, 1);
});

test('a peer sending 10,000 certificate requests gets at most its budget answered and is counted', async () => {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  const engine = engineFor(scheduler, new SimStorage(), network);
  await engine.start();
  network.deliver(1, CertificateCodec.encode(certificate(VoteKind.nullify, 1)));
  network.clear();
  const request = CertificateRequestCodec.encode({ view: 1 });
  for (let i = 0; i < 10_000; i++) network.deliver(2, request);
  const answered = network.tagged(CertificateCodec.tag, 2).length;
  assert.ok(answered > 0 && answered <= 256, `${answered} of 10,000 requests answered`);
  assert.equal(engine.dropCounters()[2]?.['rate-limited'] ?? 0, 10_000 - answered);
});

test('evidence survives a restart, and 10,000 equivocations by one validator stay bounded while another is still recorded', async () => {
  const scheduler = new Scheduler();
  const storage = new SimStorage();
  let network = new CapturingNetwork();
  let engine = engineFor(scheduler, storage, network);
  await engine.start();
  const storedBytes = () =>
    storage.keys('consensus/evidence').reduce((sum, key) => sum + (storage.get(key)?.length ?? 0), 0);
  const equivocate = (signer: number, view: number) => {
    network.deliver(
      signer,
      VoteCodec.encode(vote(signer, VoteKind.notarize, view, new Uint8Array(32).fill(1))),
    );
    network.deliver(
      signer,
      VoteCodec.encode(vote(signer, VoteKind.notarize, view, new Uint8Array(32).fill(2))),
    );
  };
  let largest = 0;
  let view = 1;
  for (let i = 0; i < 10_000; i++) {
    if (view > engine.status().view + MAX_VIEWS_AHEAD - 1) {
      network.deliver(
        1,
        CertificateCodec.encode(certificate(VoteKind.nullify, engine.status().view + MAX_VIEWS_AHEAD - 2)),
      );
      network.clear();
    }
    equivocate(3, view++);
    if (i % 500 === 0) largest = Math.max(largest, storedBytes(), engine.evidence().length);
  }
  const afterFlood = storedBytes();
  assert.ok(afterFlood < 64 * 1024, `evidence storage grew to ${afterFlood} bytes`);
  assert.ok(engine.evidence().length <= 64, `evidence in memory grew to ${engine.evidence().length}`);
  assert.ok(engine.evidenceCounts()[3]! >= 10_000, `counted ${engine.evidenceCounts()[3]}`);
  // A second offender is still recorded.
  equivocate(2, engine.status().view + 1);
  assert.ok(engine.evidence().some((evidence) => evidence.first.signer === 2));
  // Our next vote syncs the records; then we crash and restart: the evidence is still served.
  const before = engine.evidence().map((evidence) => VoteCodec.encode(evidence.second));
  await runUntil(scheduler, scheduler.now() + 10_000);
  engine.stop();
  storage.crash(createSimRng(3));
  network = new CapturingNetwork();
  engine = engineFor(scheduler, storage, network);
  await engine.start();
  assert.deepEqual(
    engine.evidence().map((evidence) => VoteCodec.encode(evidence.second)),
    before,
  );
  assert.ok(engine.evidenceCounts()[3]! >= 10_000);
  assert.equal(engine.evidenceCounts()[2], 1);
});
