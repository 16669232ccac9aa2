/**
 * Share repair wired into price signing (src/node/price-signing.ts, "Share repair"): validators
 * in one process over a simulated authenticated network, each with its key files on a real
 * temporary disk (src/node/price-key-files.ts). Attacks first: a validator whose key directory
 * is wiped gets its share back from the others (no new DKG, the group key unchanged) and signs
 * again; helpers sending bad repair messages are named and the repair completes from the honest
 * ones, or fails with a typed code when too few are honest; a request from anyone but the lost
 * validator, or for an old epoch's share, gets nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { peekTag } from '../codec/message.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { verifyPriceCertificate } from '../interop/price-certificate.ts';
import { repairKeysetDigest } from '../interop/share-repair.ts';
import { RepairRequestCodec, RepairSplitCodec, RepairSumCodec } from '../interop/share-repair-codec.ts';
import { manualClock } from './manual-clock.ts';
import { createFilePriceKeyStore } from './price-key-files.ts';
import { createPriceSigner, type PriceSigner } from './price-signing.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-price-repair-'));
after(() => rmSync(root, { recursive: true, force: true }));

const domain = { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x22) };
const EPOCH_BLOCKS = 4;

/** Rewrites (or drops, undefined) a message validator `from` sends to `to`. */
type Tamper = (from: number, to: number, message: Uint8Array) => Uint8Array | undefined;

function network(n: number, name: string, tamper: Tamper = (_f, _t, m) => m, pastGenesis = false) {
  const { clock, advance } = manualClock();
  const identities = Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`${name} ${i}`)));
  const signers = identities.map((seed) => createEd25519Signer(seed));
  const down = new Set<number>();
  const restarted = new Set<number>(pastGenesis ? Array.from({ length: n }, (_, i) => i) : []);
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  const outgoing = (from: number, to: number, message: Uint8Array) => {
    if (down.has(from)) return;
    const sent = tamper(from, to, message);
    if (sent !== undefined) queue.push({ from, to, message: sent });
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
      repairMs: 2000,
      epochBlocks: EPOCH_BLOCKS,
      // A restarted validator's chain is past genesis (the node passes finalized height > 0).
      expectKeyset: () => restarted.has(i),
    });
  const prices: PriceSigner[] = signers.map((_, i) => make(i));
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 1_000_000);
      const { from, to, message } = queue.shift()!;
      if (!down.has(to)) prices[to]!.receive(from, message);
    }
  };
  const net = {
    prices,
    signers,
    directories,
    down,
    queue,
    start() {
      for (const p of prices) p.start();
      deliver();
    },
    run(ms: number) {
      advance(ms, deliver);
      deliver();
    },
    deliver,
    /** A new process for validator i on its disk; `wipe` first removes every key file. */
    restart(i: number, wipe = false) {
      prices[i]!.stop();
      if (wipe) for (const file of readdirSync(directories[i]!)) rmSync(join(directories[i]!, file));
      down.delete(i);
      restarted.add(i);
      prices[i] = make(i);
      prices[i]!.start();
      deliver();
    },
    block(height: number) {
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
      prices.forEach((p, i) => {
        if (!down.has(i)) p.onAggregates(height, aggregates, clock.now());
      });
      deliver();
    },
    blocks(from: number, to: number) {
      for (let height = from; height <= to; height++) {
        net.block(height);
        net.run(1000);
      }
      net.run(20_000);
    },
    stop() {
      for (const p of prices) p.stop();
    },
  };
  return net;
}

/** Every live validator's latest certificates are of `height` and verify under the group key. */
function certified(net: ReturnType<typeof network>, height: number, groupKey: Uint8Array) {
  for (const [i, p] of net.prices.entries()) {
    if (net.down.has(i)) continue;
    const latest = p.latest();
    assert.equal(latest.length, 2, `validator ${i} holds both assets' certificates`);
    for (const entry of latest) {
      assert.equal(entry.height, height, `validator ${i} certified up to ${height}`);
      assert.ok(
        verifyPriceCertificate(entry.certificate, {
          epoch: entry.certificate.report.epoch,
          groupPublicKey: groupKey,
        }),
      );
    }
  }
}

const isTag = (message: Uint8Array, tag: number) => {
  try {
    return peekTag(message) === tag;
  } catch {
    return false;
  }
};

/** Three refreshes (epoch 4), so no peer still holds the genesis DKG's messages to replay. */
function afterThreeRefreshes(n: number, name: string, tamper?: Tamper) {
  const net = network(n, name, tamper);
  net.start();
  net.run(20_000);
  net.blocks(1, 13);
  const keyset = net.prices[0]!.keyset()!;
  assert.equal(keyset.epoch, 4);
  return { net, groupKey: keyset.groupPublicKey };
}

test('a validator restarted with its key directory wiped gets its share back by repair (no new DKG): same group key, sealed v2 file, and it signs', () => {
  const { net, groupKey } = afterThreeRefreshes(4, 'wiped');
  const lost = 3;
  net.down.add(lost);
  net.restart(lost, true);
  assert.equal(net.prices[lost]!.keyset(), undefined, 'no key at start');
  net.blocks(14, 15);
  const repaired = net.prices[lost]!;
  assert.equal(repaired.keyset()?.epoch, 4, 'the current epoch, not a fresh genesis keyset');
  assert.equal(toHex(repaired.keyset()!.groupPublicKey), toHex(groupKey), 'group key unchanged');
  assert.equal(repaired.stats().repair.state, 'done');
  assert.equal(repaired.stats().repair.repaired, 1);
  assert.deepEqual(repaired.stats().repair.culprits, []);
  // The helpers said so too; nobody ran another DKG with it.
  for (const i of [0, 1, 2]) assert.equal(net.prices[i]!.stats().repair.helped, 1, `helper ${i}`);
  const file = JSON.parse(readFileSync(join(net.directories[lost]!, 'price-keyset-4.key'), 'utf8')) as {
    format: string;
    version: number;
  };
  assert.deepEqual([file.format, file.version], ['palisade-threshold-key', 2]);
  assert.deepEqual(readdirSync(net.directories[lost]!).sort(), ['price-keyset-4.key'], 'no genesis DKG file');
  // Restarted again, it loads the repaired file and asks for nothing.
  net.restart(lost);
  assert.equal(net.prices[lost]!.keyset()?.epoch, 4);
  assert.equal(net.prices[lost]!.stats().repair.state, 'idle');
  // With validator 0 down, t = 3 of 4 certificates need the repaired share: they continue, and
  // the next refresh (block 16) takes it in.
  net.down.add(0);
  net.blocks(16, 18);
  certified(net, 18, groupKey);
  for (const i of [1, 2, 3]) {
    assert.equal(net.prices[i]!.keyset()?.epoch, 5, `validator ${i} refreshed with the repaired one`);
    assert.equal(net.prices[i]!.stats().badShares[lost] ?? 0, 0, 'no bad signature share from it');
  }
  net.stop();
});

test('wiped in epoch 1, where the peers could still replay the genesis DKG: past genesis it repairs, it does not deal again', () => {
  const net = network(4, 'wiped-genesis');
  net.start();
  net.run(20_000);
  net.blocks(1, 2);
  const groupKey = net.prices[0]!.keyset()!.groupPublicKey;
  net.down.add(1);
  net.restart(1, true);
  net.run(1000);
  assert.equal(net.prices[1]!.keyset(), undefined, 'no DKG result: it dealt nothing');
  net.blocks(3, 3);
  const stats = net.prices[1]!.stats();
  assert.equal(stats.repair.state, 'done');
  assert.equal(stats.repair.epoch, 1);
  assert.equal(stats.refreshing, null);
  assert.equal(toHex(net.prices[1]!.keyset()!.groupPublicKey), toHex(groupKey));
  net.stop();
});

test('past genesis with no keyset anywhere (every validator lost its files before the DKG ended): they deal the DKG after its deadlines', () => {
  const net = network(4, 'nobody-has-it', undefined, true);
  net.start();
  net.run(7000);
  assert.ok(
    net.prices.every((p) => p.keyset() === undefined),
    'waiting for a repair first',
  );
  net.run(20_000);
  const keys = net.prices.map((p) => p.keyset());
  assert.ok(keys.every((k) => k?.epoch === 1));
  assert.ok(keys.every((k) => toHex(k!.groupPublicKey) === toHex(keys[0]!.groupPublicKey)));
  assert.ok(net.prices.every((p) => p.stats().repair.state === 'idle'));
  net.stop();
});

test('a tampered key file is as good as lost: the validator gets its share back by repair', () => {
  const { net, groupKey } = afterThreeRefreshes(4, 'tampered');
  const lost = 2;
  net.prices[lost]!.stop();
  const path = join(net.directories[lost]!, 'price-keyset-4.key');
  const record = JSON.parse(readFileSync(path, 'utf8')) as { data: string };
  const flipped = (record.data[0] === '0' ? '1' : '0') + record.data.slice(1);
  rmSync(path);
  writeFileSync(path, JSON.stringify({ ...record, data: flipped }));
  net.down.add(lost);
  net.restart(lost);
  net.blocks(14, 15);
  assert.equal(net.prices[lost]!.keyset()?.epoch, 4);
  assert.equal(toHex(net.prices[lost]!.keyset()!.groupPublicKey), toHex(groupKey));
  assert.equal(net.prices[lost]!.stats().repair.state, 'done');
  assert.deepEqual(readdirSync(net.directories[lost]!), ['price-keyset-4.key'], 'rewritten in place');
  net.restart(lost);
  assert.equal(net.prices[lost]!.keyset()?.epoch, 4, 'the rewritten file reads back');
  net.stop();
});

test('n = 7 (t = 5): a helper sending a wrong repair sum is named BAD_SUM; the repair completes from the honest ones', () => {
  const lost = 6;
  let armed = false;
  const { net, groupKey } = afterThreeRefreshes(7, 'cheaters', (from, to, message) => {
    if (!armed) return message;
    if (from === 0 && to === lost && isTag(message, RepairSumCodec.tag)) {
      const sum = RepairSumCodec.decode(message);
      const bad = Uint8Array.from(sum.sum);
      bad[31]! ^= 1;
      return RepairSumCodec.encode({ ...sum, sum: bad });
    }
    return message;
  });
  armed = true;
  net.down.add(lost);
  net.restart(lost, true);
  net.blocks(14, 15);
  const stats = net.prices[lost]!.stats().repair;
  assert.equal(stats.state, 'done');
  assert.equal(net.prices[lost]!.keyset()?.epoch, 4);
  assert.equal(toHex(net.prices[lost]!.keyset()!.groupPublicKey), toHex(groupKey));
  const named = new Map(stats.culprits.map((c) => [c.validator, c.fault]));
  assert.equal(named.get(0), 'BAD_SUM', 'the wrong sum is named');
  assert.deepEqual([...named.keys()], [0], 'no honest helper named');
  net.stop();
});

test('too few honest helpers (n = 4, one cheater): the repair fails with TOO_FEW_HELPERS and writes nothing', () => {
  const lost = 3;
  let armed = false;
  const { net } = afterThreeRefreshes(4, 'too-few', (from, to, message) => {
    if (!armed || from !== 0 || to !== lost || !isTag(message, RepairSumCodec.tag)) return message;
    const sum = RepairSumCodec.decode(message);
    const bad = Uint8Array.from(sum.sum);
    bad[0]! ^= 1;
    return RepairSumCodec.encode({ ...sum, sum: bad });
  });
  armed = true;
  net.down.add(lost);
  net.restart(lost, true);
  net.blocks(14, 15);
  const stats = net.prices[lost]!.stats().repair;
  assert.equal(stats.state, 'failed');
  assert.equal(stats.code, 'TOO_FEW_HELPERS');
  assert.deepEqual(
    stats.culprits.map((c) => [c.validator, c.fault]),
    [[0, 'BAD_SUM']],
  );
  assert.equal(net.prices[lost]!.keyset(), undefined);
  assert.ok(!readdirSync(net.directories[lost]!).includes('price-keyset-4.key'), 'no repaired file');
  // The three others still certify (t = 3).
  net.stop();
});

test('a repair request from a stranger, for someone else, or for an old epoch gets nothing', () => {
  const { net } = afterThreeRefreshes(4, 'strangers');
  const helper = net.prices[0]!;
  const keyset = repairKeysetDigest({ members: net.signers.map((s) => s.publicKey), threshold: 3 });
  const request = (epoch: number, lost: number, digest = keyset) =>
    RepairRequestCodec.encode({ chainId: 9, epoch, keyset: digest, lost, attempt: 1, helpers: [0, 1, 2] });
  const answers = (from: number, message: Uint8Array) => {
    net.queue.length = 0;
    helper.receive(from, message);
    const sent = net.queue.filter((m) => m.from === 0 && isTag(m.message, RepairSplitCodec.tag)).length;
    net.queue.length = 0;
    return sent;
  };
  assert.equal(answers(7, request(4, 7)), 0, 'a peer index outside the validator set');
  assert.equal(answers(3, request(4, 2)), 0, 'validator 3 asking for validator 2');
  assert.equal(answers(3, request(3, 3)), 0, 'an old epoch (3) while the keyset is in epoch 4');
  assert.equal(answers(3, request(1, 3)), 0, 'the genesis epoch');
  const otherKeyset = repairKeysetDigest({ members: net.signers.map((s) => s.publicKey), threshold: 2 });
  assert.equal(answers(3, request(4, 3, otherKeyset)), 0, 'another keyset (another threshold) of epoch 4');
  assert.equal(
    answers(3, request(4, 3)),
    2,
    'control: its own share of the current epoch: splits to the two other helpers',
  );
  assert.equal(helper.stats().repair.helped, 1, 'helped once, in the control');
  net.stop();
});
