import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CertificateAnnouncementCodec } from '../codec/node.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { followKeysetChain } from '../interop/handover-certificate.ts';
import { verifyPriceCertificate } from '../interop/price-certificate.ts';
import { SigningAttemptShareCodec } from '../interop/signing-codec.ts';
import { manualClock } from './manual-clock.ts';
import { createFilePriceKeyStore } from './price-key-files.ts';
import { createPriceSigner, type PriceSigner } from './price-signing.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-price-signing-'));
after(() => rmSync(root, { recursive: true, force: true }));

const domain = { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x11) };

type Fault = 'crashed' | 'withholds-shares' | 'bad-shares';

function network(
  n: number,
  faults: ReadonlyMap<number, Fault>,
  name: string,
  reuse?: readonly string[],
  epochBlocks = 0,
) {
  const { clock, advance } = manualClock();
  const identities = Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`${name} ${i}`)));
  const signers = identities.map((seed) => createEd25519Signer(seed));
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  const outgoing = (from: number, to: number, message: Uint8Array) => {
    const fault = faults.get(from);
    if (fault === 'crashed') return;
    const isShare = ((message[1]! << 8) | message[2]!) === SigningAttemptShareCodec.tag;
    if (isShare && fault === 'withholds-shares') return;
    if (isShare && fault === 'bad-shares') {
      const body = SigningAttemptShareCodec.decode(message);
      const share = Uint8Array.from(body.share);
      share[0]! ^= 0x40;
      queue.push({ from, to, message: SigningAttemptShareCodec.encode({ ...body, share }) });
      return;
    }
    queue.push({ from, to, message });
  };
  const directories = reuse ?? signers.map((_, i) => mkdtempSync(join(root, `${name}-${i}-`)));
  const make = (i: number): PriceSigner =>
    createPriceSigner({
      chainId: 9,
      self: i,
      validators: signers.map((s) => s.publicKey),
      signer: signers[i]!,
      secretKey: identities[i]!,
      keyStore: createFilePriceKeyStore(directories[i]!),
      epoch: 1,
      threshold: n - Math.floor((n - 1) / 3),
      everyBlocks: 1,
      domain,
      assets: [
        { assetId: 1, symbol: 'BTC-USD', decimals: 2, underlyingId: 1 },
        { assetId: 2, symbol: 'ETH-USD', decimals: 2, underlyingId: 2 },
      ],
      clock,
      send: (to, message) => outgoing(i, to, message),
      broadcast: (message) => {
        for (let to = 0; to < n; to++) if (to !== i) outgoing(i, to, message);
      },
      retryMs: 500,
      attemptMs: 1000,
      dkgDealMs: 5000,
      dkgComplaintMs: 3000,
      sessionTimeoutMs: 15_000,
      epochBlocks,
    });
  const prices: PriceSigner[] = signers.map((_, i) => make(i));
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 1_000_000);
      const { from, to, message } = queue.shift()!;
      if (faults.get(to) !== 'crashed') prices[to]!.receive(from, message);
    }
  };
  return {
    prices,
    /** The live, non-faulty validators' signers now (a restarted one's new process). */
    get honest() {
      return prices.filter((_, i) => !faults.has(i));
    },
    directories,
    start() {
      prices.forEach((p, i) => {
        if (faults.get(i) !== 'crashed') p.start();
      });
      deliver();
    },
    run(ms: number) {
      advance(ms, deliver);
      deliver();
    },
    deliver,
    /** A new process for validator i on the same disk (the old one is stopped first). */
    restart(i: number) {
      prices[i]!.stop();
      prices[i] = make(i);
      prices[i]!.start();
      deliver();
    },
    /** Block `height` finalized at `only` (default every live validator); delivers unless told not to. */
    block(height: number, only?: readonly number[], deliverAfter = true) {
      const aggregates: AggregatePriceValue[] = [1, 2].map((assetId) => ({
        assetId,
        height,
        priceTicks: 6_400_000n + BigInt(height * 100 + assetId),
        confidenceTicks: 500n,
        publishTimeMs: 1_717_000_000_000 + height * 1000,
        emaTicks: 6_400_000n,
        observationCount: n,
        flags: 0,
      }));
      // The faulty validators finalize first, so their commitments are among the first t a
      // coordinator sees (the worst case: they get chosen).
      const order = [...prices.keys()].sort((a, b) => Number(faults.has(b)) - Number(faults.has(a)));
      for (const i of order)
        if (faults.get(i) !== 'crashed' && (only === undefined || only.includes(i)))
          prices[i]!.onAggregates(height, aggregates, clock.now());
      if (deliverAfter) deliver();
    },
    stop() {
      for (const p of prices) p.stop();
    },
  };
}

/** Runs `blocks` blocks, one per simulated second, and checks every honest node has every certificate. */
function certifiesEveryBlock(net: ReturnType<typeof network>, blocks: number) {
  for (let height = 1; height <= blocks; height++) {
    net.block(height);
    net.run(1000);
  }
  net.run(20_000);
  const keyset = net.honest[0]!.keyset()!;
  for (const p of net.honest) {
    const latest = p.latest();
    assert.equal(latest.length, 2, 'both assets certified');
    for (const entry of latest) {
      assert.equal(entry.height, blocks, 'up to the last block');
      // A refresh keeps the group key; the certificate names the epoch it was signed in.
      assert.ok(entry.certificate.report.epoch <= keyset.epoch);
      assert.ok(
        verifyPriceCertificate(entry.certificate, {
          epoch: entry.certificate.report.epoch,
          groupPublicKey: keyset.groupPublicKey,
        }),
      );
    }
    // Every session this node opened ended with a verified certificate (none timed out).
    assert.equal(p.stats().sessionsStarted, 2 * blocks);
    assert.equal(p.stats().failedSessions, 0, 'no session without a certificate');
  }
}

test('a crashed validator (f = 1 of 4): the DKG names it SILENT and finishes, and certificates keep coming', () => {
  const net = network(4, new Map([[2, 'crashed']]), 'crashed');
  net.start();
  assert.ok(
    net.honest.every((p) => p.keyset() === undefined),
    'no key before the deadlines',
  );
  net.run(9000);
  const keys = new Set(net.honest.map((p) => toHex(p.keyset()!.groupPublicKey)));
  assert.equal(keys.size, 1);
  for (const p of net.honest) assert.deepEqual(p.stats().dkgDisqualified, [{ dealer: 2, reason: 'SILENT' }]);
  certifiesEveryBlock(net, 8);
  net.stop();
});

test('a validator that commits then withholds its share (f = 1 of 4): retried without it, certificates keep coming', () => {
  const net = network(4, new Map([[3, 'withholds-shares']]), 'withholds');
  net.start();
  assert.ok(
    net.prices.every((p) => p.keyset() !== undefined),
    'the DKG finishes at once with everyone online',
  );
  certifiesEveryBlock(net, 8);
  const silent = net.honest.reduce((sum, p) => sum + (p.stats().silentSigners[3] ?? 0), 0);
  assert.ok(silent >= 1, 'the withholding validator is named');
  net.stop();
});

test('f = 2 of 7 Byzantine signers sending shares that fail RFC 9591 §5.4: named, certificates keep coming', () => {
  const net = network(
    7,
    new Map<number, Fault>([
      [1, 'bad-shares'],
      [4, 'bad-shares'],
    ]),
    'byzantine',
  );
  net.start();
  certifiesEveryBlock(net, 7);
  const bad = net.honest.reduce(
    (sum, p) => sum + (p.stats().badShares[1] ?? 0) + (p.stats().badShares[4] ?? 0),
    0,
  );
  assert.ok(bad >= 1);
  net.stop();
});

test('the key file is versioned and checked: an unknown version is refused at start, a tampered file is not loaded', () => {
  const net = network(4, new Map(), 'keyfile');
  net.start();
  net.stop();
  const file = join(net.directories[0]!, 'price-keyset-1.key');
  const text = readFileSync(file, 'utf8');
  const record = JSON.parse(text) as { format: string; version: number; data: string };
  assert.equal(record.format, 'palisade-threshold-key');
  assert.equal(record.version, 2);
  const restart = () => network(4, new Map(), 'keyfile', net.directories).prices[0]!.start();
  writeFileSync(file, JSON.stringify({ ...record, version: 9 }));
  assert.throws(restart, { name: 'KeystoreError', code: 'KEYSTORE_UNSUPPORTED' });
  const flipped = (record.data[0] === '0' ? '1' : '0') + record.data.slice(1);
  writeFileSync(file, JSON.stringify({ ...record, data: flipped }));
  // A file that fails its checks is as good as lost: no key, and share repair is asked for
  // (src/node/price-repair.test.ts); it is never signed with.
  const tampered = network(4, new Map(), 'keyfile', net.directories).prices[0]!;
  assert.doesNotThrow(() => tampered.start());
  assert.equal(tampered.keyset(), undefined, 'a tampered key file is not loaded');
  tampered.stop();
  writeFileSync(file, text);
  const again = network(4, new Map(), 'keyfile', net.directories);
  again.prices[0]!.start();
  assert.equal(
    toHex(again.prices[0]!.keyset()!.groupPublicKey),
    toHex(net.prices[0]!.keyset()!.groupPublicKey),
  );
  again.stop();
});

test('proactive refresh every 3 blocks: the epoch advances, the group key stays, certificates continue and name the epoch', () => {
  const net = network(4, new Map(), 'refresh', undefined, 3);
  net.start();
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  certifiesEveryBlock(net, 10);
  for (const p of net.prices) {
    assert.equal(p.keyset()!.epoch, 4, 'refreshed at heights 3, 6 and 9');
    assert.equal(toHex(p.keyset()!.groupPublicKey), groupKey);
    assert.equal(p.stats().refreshes, 3);
    for (const entry of p.latest()) assert.equal(entry.certificate.report.epoch, 4);
  }
  // Only the latest share stays on disk: a disk stolen after the refreshes holds no older share.
  for (const directory of net.directories)
    assert.deepEqual(
      readdirSync(directory).filter((name) => name.startsWith('price-keyset-')),
      ['price-keyset-4.key'],
    );
  // Each refresh is certified by the outgoing keyset: a verifier holding epoch 1 follows to epoch 4.
  for (const p of net.prices) {
    const chain = p.handovers();
    assert.deepEqual(
      chain.map((h) => [h.fromEpoch, h.toEpoch]),
      [
        [1, 2],
        [2, 3],
        [3, 4],
      ],
    );
    const verdict = followKeysetChain(
      { epoch: 1, groupPublicKey: fromHex(groupKey)! },
      chain.map((h) => h.encoded),
      domain,
    );
    assert.ok(verdict.ok && verdict.keyset.epoch === 4);
  }
  net.stop();
  // A restart loads the latest epoch's key file.
  const again = network(4, new Map(), 'refresh', net.directories, 3);
  again.prices[0]!.start();
  assert.equal(again.prices[0]!.keyset()!.epoch, 4);
  again.stop();
});

test('refresh with a crashed validator (f = 1 of 4): the others refresh without it and certificates continue', () => {
  const net = network(4, new Map([[1, 'crashed']]), 'refresh-crashed', undefined, 5);
  net.start();
  net.run(9000);
  const groupKey = toHex(net.honest[0]!.keyset()!.groupPublicKey);
  certifiesEveryBlock(net, 16);
  for (const p of net.honest) {
    assert.ok(p.keyset()!.epoch >= 2, 'at least one refresh finished');
    assert.equal(toHex(p.keyset()!.groupPublicKey), groupKey);
  }
  assert.equal(
    new Set(net.honest.map((p) => p.keyset()!.epoch)).size,
    1,
    'the honest validators agree on the epoch',
  );
  net.stop();
});

/**
 * Crash anywhere: validator 3 finalizes the boundary block, deals its refresh (deal and shares
 * reach everyone) and dies before it hears anything back. Restarted on the same disk — with only
 * the previous epoch's key file — it must finish the refresh the others are in (`stillRunning`)
 * or have finished (after the deadlines): the same epoch and group key as the others, and
 * certificates from then on verify under it. Without deterministic dealing its second deal
 * would be an equivocation; without a late start it would stay an epoch behind for good.
 */
function killedMidRefresh(name: string, restartAfterMs: number) {
  const faults = new Map<number, Fault>();
  const net = network(4, faults, name, undefined, 5);
  net.start();
  for (let height = 1; height <= 4; height++) {
    net.block(height);
    net.run(1000);
  }
  const groupKey = toHex(net.prices[0]!.keyset()!.groupPublicKey);
  net.block(5, [0, 1, 2], false);
  net.block(5, [3], false);
  faults.set(3, 'crashed');
  net.deliver();
  net.run(restartAfterMs);
  faults.delete(3);
  net.restart(3);
  assert.equal(net.prices[3]!.keyset()!.epoch, 1, 'restarted from the epoch-1 key file');
  net.run(20_000);
  for (let height = 6; height <= 9; height++) {
    net.block(height);
    net.run(1000);
  }
  net.run(20_000);
  for (const [i, p] of net.prices.entries()) {
    assert.equal(p.keyset()!.epoch, 2, `validator ${i} is in epoch 2`);
    assert.equal(toHex(p.keyset()!.groupPublicKey), groupKey);
    for (const entry of p.latest()) {
      assert.equal(entry.height, 9);
      assert.equal(entry.certificate.report.epoch, 2);
    }
  }
  // Validator 3's new share is right (nobody saw a bad signature share from it), and its deal
  // after the restart was the one from before: no one names it an equivocator.
  for (const p of net.prices) {
    assert.equal(p.stats().badShares[3] ?? 0, 0);
    assert.deepEqual(p.stats().refreshDisqualified, []);
    // Every one holds the handover into epoch 2, the late one too.
    assert.deepEqual(
      p.handovers().map((h) => [h.fromEpoch, h.toEpoch]),
      [[1, 2]],
    );
  }
  net.stop();
}

test('killed mid-refresh after dealing, restarted while the others still refresh: it finishes the refresh', () => {
  killedMidRefresh('mid-refresh-early', 1000);
});

test('killed mid-refresh after dealing, restarted after the others finished: it catches up to their epoch', () => {
  killedMidRefresh('mid-refresh-late', 20_000);
});

test('a Byzantine peer re-announcing an old certificate at a false height cannot pin the latest price or the history', () => {
  const net = network(4, new Map(), 'replayed-height');
  net.start();
  net.run(10_000);
  for (let height = 1; height <= 3; height++) {
    net.block(height);
    net.run(1000);
  }
  net.run(5000);
  const victim = net.prices[0]!;
  const old = victim.latest().find((entry) => entry.assetId === 1)!;
  assert.equal(old.height, 3);
  const first = net.prices[1]!.latest().find((entry) => entry.assetId === 1)!;
  // Validator 3 replays a real certificate (it verifies) under a height far above the chain's.
  for (const height of [2 ** 40, 3, 4]) {
    victim.receive(
      3,
      CertificateAnnouncementCodec.encode({ assetId: 1, height, certificate: first.encoded }),
    );
  }
  const pinned = victim.latest().find((entry) => entry.assetId === 1)!;
  assert.equal(pinned.height, 3, 'the replay did not become the latest');
  assert.deepEqual(pinned.encoded, old.encoded);
  for (let height = 4; height <= 5; height++) {
    net.block(height);
    net.run(1000);
  }
  net.run(5000);
  const latest = victim.latest().find((entry) => entry.assetId === 1)!;
  assert.equal(latest.height, 5, 'later certificates still take over');
  assert.equal(latest.certificate.report.publishTime, Math.floor((1_717_000_000_000 + 5 * 1000) / 1000));
  net.stop();
});

/**
 * Crash anywhere, in the genesis DKG. Validator 3 is killed at one of three points — before it
 * sent anything, after its deal and shares went out, or after the others finished — and restarted
 * on the same (empty-keyed) disk. Whatever the point, it must end up in the keyset the others
 * formed (same group key, a share that signs), or, had it dealt nothing in time, be named SILENT
 * and excluded as a dealer while still getting its share as a member; never a second keyset, never
 * an equivocation, and no key file removed by hand.
 */
function killedMidDkg(name: string, point: 'before-dealing' | 'after-dealing', restartAfterMs: number) {
  const faults = new Map<number, Fault>();
  if (point === 'before-dealing') faults.set(3, 'crashed');
  const net = network(4, faults, name);
  net.start(); // with 'after-dealing', 3's deal and shares are out before it dies
  faults.set(3, 'crashed');
  net.run(restartAfterMs);
  faults.delete(3);
  net.restart(3);
  net.run(20_000);
  const groupKeys = new Set(net.prices.map((p) => toHex(p.keyset()!.groupPublicKey)));
  assert.equal(groupKeys.size, 1, 'one keyset, the restarted validator in it');
  for (const p of net.prices) assert.equal(p.keyset()!.epoch, 1);
  const disqualified = net.prices.slice(0, 3).map((p) => p.stats().dkgDisqualified);
  for (const d of disqualified)
    if (point === 'after-dealing')
      assert.deepEqual(d, [], 'its deal before the crash counts: no one names it');
    else if (restartAfterMs >= 8000) assert.deepEqual(d, [{ dealer: 3, reason: 'SILENT' }]);
  certifiesEveryBlock(net, 4);
  // Its own certificates' shares verify: it signs with a share of the same key.
  for (const p of net.prices) assert.equal(p.stats().badShares[3] ?? 0, 0);
  net.stop();
}

test('killed in the genesis DKG before dealing, restarted while the others deal: it deals and finishes', () => {
  killedMidDkg('dkg-before-early', 'before-dealing', 1000);
});

test('killed in the genesis DKG before dealing, up after the others finished: named SILENT, still gets its share', () => {
  killedMidDkg('dkg-before-late', 'before-dealing', 20_000);
});

test('killed in the genesis DKG after dealing, restarted while the others still run it: it finishes', () => {
  killedMidDkg('dkg-after-early', 'after-dealing', 1000);
});

test('killed in the genesis DKG after dealing, up after the others finished: it catches up to their keyset', () => {
  killedMidDkg('dkg-after-late', 'after-dealing', 20_000);
});

test('more than f validators down through the genesis DKG: it fails, and forms once they are back (a numbered retry)', () => {
  const faults = new Map<number, Fault>([
    [2, 'crashed'],
    [3, 'crashed'],
  ]);
  const net = network(4, faults, 'dkg-retry');
  net.start();
  net.run(9000); // both deadlines pass with two dealers of four: below 2f + 1
  for (const i of [0, 1]) {
    assert.equal(net.prices[i]!.keyset(), undefined);
    assert.equal(net.prices[i]!.stats().dkg, 'failed');
  }
  faults.clear();
  net.restart(2);
  net.restart(3);
  net.run(30_000);
  const groupKeys = new Set(
    net.prices.map((p) => (p.keyset() === undefined ? 'none' : toHex(p.keyset()!.groupPublicKey))),
  );
  assert.equal(groupKeys.size, 1, `one keyset among all four (${[...groupKeys].join(', ')})`);
  assert.ok(!groupKeys.has('none'), 'every validator holds a share');
  certifiesEveryBlock(net, 3);
  net.stop();
});
