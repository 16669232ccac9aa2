/**
 * The price keyset across a validator-set change (src/node/price-membership.ts over
 * src/node/price-signing.ts): at the boundary block that applies the change, the old members
 * reshare to the new set over the authenticated transport, the old keyset signs the handover, and
 * certificates continue under the new epoch. Attacks first: a removed validator that keeps
 * signing, an old member dealing bad reshares, an old member crashed during the reshare.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { peekTag } from '../codec/message.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { sealKeygenMessage } from '../crypto/keygen.ts';
import { KeygenShareCodec, SealedKeygenCodec } from '../crypto/keygen-codec.ts';
import { followHandover, followKeysetChain } from '../interop/handover-certificate.ts';
import { createKeysetRegistry } from '../interop/price-certificate.ts';
import { SigningCommitCodec } from '../interop/signing-codec.ts';
import { manualClock } from './manual-clock.ts';
import { createFilePriceKeyStore } from './price-key-files.ts';
import { createPriceSigner, type PriceSigner } from './price-signing.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-price-reshare-'));
after(() => rmSync(root, { recursive: true, force: true }));

const domain = { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x22) };
const EPOCH_BLOCKS = 4;

/**
 * Behaviours: `crashed` sends and hears nothing; `bad-reshares` signs shares off its commitment in
 * any keygen once armed; `ignores-change` never hears of the set change (keeps its old keyset and
 * signs with it).
 */
type Behaviour = 'crashed' | 'bad-reshares' | 'ignores-change';

/** Five validators at t = 4; a change at the first boundary leaves validators 0..3 (t = 3). */
function network(name: string, behaviours: Map<number, Behaviour> = new Map()) {
  const n = 5;
  const { clock, advance } = manualClock();
  const identities = Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`${name} ${i}`)));
  const signers = identities.map((seed) => createEd25519Signer(seed));
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  let armed = false;
  const outgoing = (from: number, to: number, message: Uint8Array) => {
    const behaviour = behaviours.get(from);
    if (behaviour === 'crashed') return;
    if (behaviour === 'bad-reshares' && armed && peekTag(message) === SealedKeygenCodec.tag) {
      const { payload } = SealedKeygenCodec.decode(message);
      if (peekTag(payload) === KeygenShareCodec.tag) {
        const body = KeygenShareCodec.decode(payload);
        const forged = KeygenShareCodec.encode({ ...body, share: sha256(body.share) });
        queue.push({ from, to, message: sealKeygenMessage(signers[from]!, 9, forged) });
        return;
      }
    }
    queue.push({ from, to, message });
  };
  const directories = signers.map((_, i) => mkdtempSync(join(root, `${name}-${i}-`)));
  const make = (i: number): PriceSigner =>
    createPriceSigner({
      chainId: 9,
      self: i,
      validators: signers.map((s) => s.publicKey),
      signer: signers[i]!,
      secretKey: identities[i]!,
      keyStore: createFilePriceKeyStore(directories[i]!),
      epoch: 1,
      threshold: 4,
      everyBlocks: 1,
      domain,
      assets: [{ assetId: 1, symbol: 'BTC-USD', decimals: 2, underlyingId: 1 }],
      clock,
      send: (to, message) => outgoing(i, to, message),
      broadcast: (message) => {
        for (let to = 0; to < n; to++) if (to !== i) outgoing(i, to, message);
      },
      retryMs: 500,
      attemptMs: 1000,
      dkgDealMs: 5000,
      dkgComplaintMs: 3000,
      sessionTimeoutMs: 20_000,
      epochBlocks: EPOCH_BLOCKS,
    });
  const prices = signers.map((_, i) => make(i));
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 2_000_000);
      const { from, to, message } = queue.shift()!;
      if (behaviours.get(to) !== 'crashed') prices[to]!.receive(from, message);
    }
  };
  const newSet = signers.slice(0, 4).map((s) => s.publicKey);
  const live = (i: number) => behaviours.get(i) !== 'crashed';
  return {
    prices,
    signers,
    directories,
    newMembers: [0, 1, 2, 3].filter(live),
    newSet,
    start() {
      prices.forEach((p, i) => {
        if (live(i)) p.start();
      });
      deliver();
      armed = true;
    },
    /** Block `height`: at the first boundary every validator's chain applies the change. */
    block(height: number, only?: number, deliverAfter = true) {
      const aggregates: AggregatePriceValue[] = [
        {
          assetId: 1,
          height,
          priceTicks: 6_400_000n + BigInt(height * 100),
          confidenceTicks: 500n,
          publishTimeMs: 1_717_000_000_000 + height * 1000,
          emaTicks: 6_400_000n,
          observationCount: n,
          flags: 0,
        },
      ];
      prices.forEach((p, i) => {
        if (!live(i) || (only !== undefined && i !== only)) return;
        if (height === EPOCH_BLOCKS && behaviours.get(i) !== 'ignores-change')
          p.changeValidators(height, newSet);
        p.onAggregates(height, aggregates, clock.now());
      });
      if (deliverAfter) deliver();
    },
    deliver,
    run(ms: number) {
      advance(ms, deliver);
      deliver();
    },
    restart(i: number) {
      prices[i]!.stop();
      prices[i] = make(i);
      prices[i]!.start();
      deliver();
    },
    stop() {
      for (const p of prices) p.stop();
    },
  };
}

/** Runs blocks 1..last, one a second, then lets every session and the reshare finish. */
function runThrough(net: ReturnType<typeof network>, last: number) {
  for (let height = 1; height <= last; height++) {
    net.block(height);
    net.run(1000);
  }
  net.run(30_000);
}

/**
 * Every new member holds the final keyset (of 4, t = 3, the genesis group key), a certificate of
 * it for the last block, and the handovers from epoch 1 to it.
 */
function assertContinued(
  net: ReturnType<typeof network>,
  last: number,
  groupKey: string,
  epoch = 3,
  /** Sessions a restarted validator reopened for replayed blocks the others had already certified. */
  replayed: ReadonlyMap<number, number> = new Map(),
) {
  for (const i of net.newMembers) {
    const p = net.prices[i]!;
    const keyset = p.keyset()!;
    assert.equal(keyset.epoch, epoch, `validator ${i}: reshared at 4 (and refreshed at 8 if it was done)`);
    assert.equal(keyset.participants, 4);
    assert.equal(keyset.threshold, 3);
    assert.equal(toHex(keyset.groupPublicKey), groupKey, 'a reshare keeps the group key');
    assert.equal(p.stats().reshares, 1);
    const [latest] = p.latest();
    assert.equal(latest!.height, last, `validator ${i} has the last block's certificate`);
    assert.equal(latest!.certificate.report.epoch, epoch);
    assert.ok(
      p.stats().failedSessions <= (replayed.get(i) ?? 0),
      `validator ${i}: no session without a certificate across the change (${p.stats().failedSessions})`,
    );
    // A verifier holding only the genesis key follows 1 → 2 (the reshare) → 3 (the refresh).
    const chain = p.handovers();
    assert.deepEqual(
      chain.map((h) => [h.fromEpoch, h.toEpoch]),
      Array.from({ length: epoch - 1 }, (_, k) => [k + 1, k + 2]),
    );
    const verdict = followKeysetChain(
      { epoch: 1, groupPublicKey: Uint8Array.from(Buffer.from(groupKey, 'hex')) },
      chain.map((h) => h.encoded),
      domain,
    );
    assert.ok(verdict.ok && verdict.keyset.epoch === epoch);
  }
}

test('a set change at block 4 (5 → 4 validators): reshared to the new set, handover signed, certificates continue', () => {
  const net = network('change');
  net.start();
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  // Certificates of every height, and the epoch each was signed in.
  const epochs = new Map<number, number>();
  const seen: { height: number; encoded: Uint8Array }[] = [];
  for (let height = 1; height <= 10; height++) {
    net.block(height);
    net.run(1000);
    const [latest] = net.prices[0]!.latest();
    if (latest !== undefined) {
      epochs.set(latest.height, latest.certificate.report.epoch);
      seen.push({ height: latest.height, encoded: latest.encoded });
    }
  }
  net.run(30_000);
  assertContinued(net, 10, groupKey);
  assert.equal(epochs.get(3), 1);
  assert.equal(epochs.get(6), 2, 'after the boundary certificates name the new set’s epoch');
  // The removed validator dealt its share away and stopped: no new keyset, no new sessions.
  const removed = net.prices[4]!;
  assert.equal(removed.stats().member, false);
  assert.equal(removed.stats().reshares, 1);
  assert.equal(removed.keyset()!.epoch, 1);
  // A consumer that follows the handover refuses epoch-1 certificates from then on.
  const registry = createKeysetRegistry(domain);
  registry.activate(1, Uint8Array.from(Buffer.from(groupKey, 'hex')));
  const handover = net.prices[0]!.handovers()[0]!;
  const early = seen.find((s) => s.height === 3)!.encoded;
  assert.ok(registry.verify(early).ok);
  assert.ok(followHandover(registry, handover.encoded, domain).ok);
  assert.equal(registry.verify(early).ok, false, 'the old epoch is retired');
  const after = seen.find((s) => s.height === 6)!.encoded;
  assert.ok(registry.verify(after).ok, 'epoch-2 certificates verify against epoch 2’s key');
  // Only the latest key file stays (a refresh followed the reshare): the epoch-1 share the removed
  // validator also held is off every remaining member's disk. That file is the versioned,
  // encrypted format, and its members are not in clear.
  assert.deepEqual(
    readdirSync(net.directories[1]!).filter((name) => name.startsWith('price-keyset-')),
    ['price-keyset-3.key'],
  );
  const text = readFileSync(join(net.directories[1]!, 'price-keyset-3.key'), 'utf8');
  const record = JSON.parse(text) as { format: string; version: number };
  assert.equal(record.format, 'palisade-threshold-key');
  assert.equal(record.version, 2);
  for (const signer of net.signers) assert.ok(!text.includes(toHex(signer.publicKey)));
  // The key file names the new members; a restart loads it and keeps signing.
  net.restart(1);
  assert.equal(net.prices[1]!.keyset()!.epoch, 3);
  assert.equal(net.prices[1]!.keyset()!.participants, 4);
  net.stop();
});

test('a removed validator that keeps signing with its old share: nothing it signs is certified after the change', () => {
  const net = network('removed-keeps-signing', new Map([[4, 'ignores-change']]));
  net.start();
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  // The old keyset certifies until the reshare is done (the last height it signs is the last one
  // below the new set's first certificate); from then on nothing the removed validator signs is.
  let lastOldHeight = 0;
  for (let height = 1; height <= 10; height++) {
    net.block(height);
    // The epoch this block's reports were opened in.
    if (net.prices[0]!.keyset()!.epoch === 1) lastOldHeight = height;
    net.run(1000);
  }
  net.run(30_000);
  assert.ok(lastOldHeight >= EPOCH_BLOCKS && lastOldHeight < 10, 'the reshare finished during the run');
  // Its silence in the reshare costs the deal deadline, so the reshare is still running at block 8
  // and that boundary's refresh is skipped: the new set ends on epoch 2.
  assertContinued(net, 10, groupKey, 2);
  // It stayed on epoch 1 (refreshing alone, in a session nobody else runs) and kept opening
  // epoch-1 sessions: none after the reshare became a certificate.
  const removed = net.prices[4]!;
  assert.ok(removed.stats().sessionsStarted >= 10, 'it opened a session at every block');
  assert.equal(removed.stats().member, true, 'it believes it is still a member');
  const [latest] = removed.latest();
  assert.equal(latest!.certificate.report.epoch, 1);
  assert.ok(
    latest!.height <= lastOldHeight,
    `its last certificate (${latest!.height}) is from before the reshare`,
  );
  assert.ok(removed.stats().failedSessions >= 10 - lastOldHeight - 1, 'its later sessions all failed');
  for (const i of net.newMembers) {
    for (const entry of net.prices[i]!.latest()) assert.equal(entry.certificate.report.epoch, 2);
    assert.deepEqual(net.prices[i]!.stats().badShares, {});
  }
  // Its signing messages, addressed to a member as if it still were one, are dropped: the new
  // engines count no fault from it, and sending them changes no one's state.
  const before = net.prices.slice(0, 4).map((p) => JSON.stringify(p.stats()));
  const commit = SigningCommitCodec.encode({
    chainId: 9,
    epoch: 2,
    message: sha256(new TextEncoder().encode('anything')),
    attempt: 0,
    signer: 3,
    hiding: new Uint8Array(33).fill(2),
    binding: new Uint8Array(33).fill(2),
  });
  for (let to = 0; to < 4; to++) net.prices[to]!.receive(4, commit);
  assert.deepEqual(
    net.prices.slice(0, 4).map((p) => JSON.stringify(p.stats())),
    before,
  );
  // Its epoch-1 certificates (if a peer re-announced one) are refused by a consumer on epoch 3.
  const registry = createKeysetRegistry(domain);
  registry.activate(1, Uint8Array.from(Buffer.from(groupKey, 'hex')));
  for (const handover of net.prices[0]!.handovers())
    assert.ok(followHandover(registry, handover.encoded, domain).ok);
  const old = net.prices[0]!.handovers()[0]!;
  assert.equal(followHandover(registry, old.encoded, domain).ok, false, 'no replay of an old handover');
  net.stop();
});

test('an old member deals bad reshares: accused and excluded, the reshare completes, certificates continue', () => {
  const net = network('bad-reshares', new Map([[2, 'bad-reshares']]));
  net.start();
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  runThrough(net, 10);
  for (const i of [0, 1, 3]) {
    const p = net.prices[i]!;
    assert.ok(
      p
        .stats()
        .reshareDisqualified.some((d) => d.epoch === 2 && d.dealer === 2 && d.reason === 'BAD_SHARE') ||
        p.stats().refreshDisqualified.some((d) => d.dealer === 2 && d.reason === 'BAD_SHARE'),
      `validator ${i} names dealer 2`,
    );
    assert.equal(p.keyset()!.participants, 4);
    assert.equal(toHex(p.keyset()!.groupPublicKey), groupKey);
    const [latest] = p.latest();
    assert.equal(latest!.height, 10);
    assert.equal(p.stats().failedSessions, 0);
  }
  net.stop();
});

test('an old member crashed through the reshare (f = 1): the others reshare without it, certificates continue', () => {
  const net = network('crashed-reshare', new Map([[3, 'crashed']]));
  net.start();
  net.run(9000);
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  runThrough(net, 10);
  for (const i of [0, 1, 2]) {
    const p = net.prices[i]!;
    assert.equal(p.keyset()!.participants, 4);
    assert.equal(toHex(p.keyset()!.groupPublicKey), groupKey);
    assert.ok(p.stats().reshareDisqualified.some((d) => d.dealer === 3 && d.reason === 'SILENT'));
    const [latest] = p.latest();
    assert.equal(latest!.height, 10);
  }
  net.stop();
});

/**
 * Crash anywhere, in a reshare: new member 2 has applied the change at block 4 and sent its
 * reshare deal, then dies. Restarted on the same disk it holds only the epoch-1 key file; the node
 * replays the stored blocks above its snapshot, block 4 among them (the chain applies the change
 * again), and the restarted signer must finish the reshare the others are in, or catch up to the
 * one they finished: the same keyset, epoch and handovers as the other new members.
 */
function killedMidReshare(name: string, restartAfterMs: number, replay = true) {
  const behaviours = new Map<number, Behaviour>();
  const net = network(name, behaviours);
  net.start();
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  for (let height = 1; height < EPOCH_BLOCKS; height++) {
    net.block(height);
    net.run(1000);
  }
  net.block(EPOCH_BLOCKS, undefined, false); // everyone's deal is queued, 2's included
  behaviours.set(2, 'crashed'); // 2 dies before it hears anything back
  net.deliver();
  net.run(restartAfterMs);
  behaviours.delete(2);
  net.restart(2);
  assert.equal(net.prices[2]!.keyset()!.epoch, 1, 'restarted from the epoch-1 key file');
  // The replay (its last snapshot below block 4): the chain applies the change again.
  // Replayed, the chain applies the change again; restored from a snapshot above the boundary, the
  // node tells the signer the set its state commits at start (node.ts), with no block to replay.
  if (replay) net.block(EPOCH_BLOCKS, 2);
  else net.prices[2]!.changeValidators(EPOCH_BLOCKS, net.newSet);
  net.run(1000);
  for (let height = EPOCH_BLOCKS + 1; height <= 10; height++) {
    net.block(height);
    net.run(1000);
  }
  net.run(30_000);
  // Its replayed block 4 reopens that height's session, which the others certified without it.
  assertContinued(net, 10, groupKey, 3, new Map([[2, 1]]));
  for (const i of net.newMembers)
    assert.deepEqual(net.prices[i]!.stats().reshareDisqualified, [], `validator ${i} names no dealer`);
  net.stop();
}

test('a new member killed mid-reshare after dealing, restarted while the others reshare: it finishes', () => {
  killedMidReshare('mid-reshare-early', 500);
});

test('a new member killed mid-reshare after dealing, up after the others finished: it catches up', () => {
  killedMidReshare('mid-reshare-late', 20_000);
});

test('a new member killed mid-reshare, restarted from a snapshot above the boundary (no replay): it catches up', () => {
  killedMidReshare('mid-reshare-snapshot', 20_000, false);
});
