/**
 * Share repair after validator-set changes (src/node/price-signing.ts, "Share repair"): the
 * keyset to repair is the current one whatever its members, numbered by member index (not by
 * transport peer), with its own t and f. Validators in one process over a simulated
 * authenticated network, key files on a real temporary disk; a restarted validator's chain
 * applies the set changes again (as a node replaying its finalized blocks does) before it starts.
 * Attacks first: a removed validator asking for a share, or answering as a helper with the member
 * index it had before the change; a cheating helper after the change; a joiner whose reshare is
 * out of its peers' reach.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { peekTag } from '../codec/message.ts';
import { CertificateAnnouncementCodec } from '../codec/node.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { toHex } from '../crypto/bytes.ts';
import { DomainTag } from '../crypto/domain.ts';
import { createEd25519Signer, signInDomain } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { followKeysetChain } from '../interop/handover-certificate.ts';
import { KeysetPackageRequestCodec } from '../interop/keyset-package-codec.ts';
import {
  decodePriceCertificate,
  encodePriceCertificate,
  verifyPriceCertificate,
} from '../interop/price-certificate.ts';
import { repairKeysetDigest } from '../interop/share-repair.ts';
import {
  RepairRequestCodec,
  RepairSplitBodyCodec,
  RepairSplitCodec,
  RepairSumCodec,
} from '../interop/share-repair-codec.ts';
import { manualClock } from './manual-clock.ts';
import { createFilePriceKeyStore } from './price-key-files.ts';
import { indexedDirectory } from './price-membership.ts';
import { createPriceSigner, type PriceSigner } from './price-signing.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-price-repair-membership-'));
after(() => rmSync(root, { recursive: true, force: true }));

const domain = { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x33) };
const CHAIN_ID = 9;
const EPOCH_BLOCKS = 4;

/** Rewrites (or drops, undefined) a message `from` sends to `to`; `inject` queues extra messages first. */
type Tamper = (
  from: number,
  to: number,
  message: Uint8Array,
  inject: (from: number, to: number, message: Uint8Array) => void,
) => Uint8Array | undefined;

interface Scenario {
  name: string;
  /** Validators 0..genesis-1 are the genesis set (t = 2f + 1); the others are known to the directory. */
  genesis: number;
  total: number;
  /** The set (peer indices) the chain applies at the first boundary. */
  change: readonly number[];
  /** Not started with the others (a joiner that comes up late). */
  late?: readonly number[];
  tamper?: Tamper;
}

function network(scenario: Scenario) {
  const { genesis, total } = scenario;
  const { clock, advance } = manualClock();
  const identities = Array.from({ length: total }, (_, i) =>
    sha256(new TextEncoder().encode(`${scenario.name} ${i}`)),
  );
  const signers = identities.map((seed) => createEd25519Signer(seed));
  const keys = signers.map((s) => s.publicKey);
  const genesisKeys = keys.slice(0, genesis);
  const newSet = scenario.change.map((i) => keys[i]!);
  const directory = indexedDirectory(keys);
  const down = new Set<number>();
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  const inject = (from: number, to: number, message: Uint8Array) => queue.push({ from, to, message });
  const outgoing = (from: number, to: number, message: Uint8Array) => {
    if (down.has(from)) return;
    const sent = scenario.tamper === undefined ? message : scenario.tamper(from, to, message, inject);
    if (sent !== undefined) queue.push({ from, to, message: sent });
  };
  const directories = signers.map((_, i) => mkdtempSync(join(root, `${scenario.name}-${i}-`)));
  /** The set changes each validator's chain applied: replayed into a restarted process. */
  let changeApplied = false;
  let genesisKey: Uint8Array | undefined;
  const prices: (PriceSigner | undefined)[] = signers.map(() => undefined);
  const make = (i: number): PriceSigner =>
    createPriceSigner({
      chainId: CHAIN_ID,
      self: i,
      validators: genesisKeys,
      directory,
      signer: signers[i]!,
      secretKey: identities[i]!,
      keyStore: createFilePriceKeyStore(directories[i]!),
      epoch: 1,
      threshold: genesis - Math.floor((genesis - 1) / 3),
      everyBlocks: 1,
      domain,
      assets: [{ assetId: 1, symbol: 'BTC-USD', decimals: 2, underlyingId: 1 }],
      clock,
      send: (to, message) => outgoing(i, to, message),
      broadcast: (message) => {
        for (let to = 0; to < total; to++) if (to !== i) outgoing(i, to, message);
      },
      retryMs: 500,
      attemptMs: 1000,
      dkgDealMs: 5000,
      dkgComplaintMs: 3000,
      sessionTimeoutMs: 20_000,
      repairMs: 2000,
      epochBlocks: EPOCH_BLOCKS,
      // A restarted validator's chain is past genesis (the node passes finalized height > 0).
      expectKeyset: () => true,
      ...(i >= genesis && genesisKey !== undefined
        ? { trustedKeyset: { epoch: 1, groupPublicKey: genesisKey } }
        : {}),
    });
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 3_000_000);
      const { from, to, message } = queue.shift()!;
      if (!down.has(to)) prices[to]?.receive(from, message);
    }
  };
  /** A process for `i` on its disk; its chain applies the change again if it was applied. */
  const boot = (i: number, replay: boolean) => {
    prices[i] = make(i);
    if (replay && changeApplied) prices[i]!.changeValidators(EPOCH_BLOCKS, newSet, genesisKeys);
    prices[i]!.start();
    deliver();
  };
  const net = {
    prices: prices as PriceSigner[],
    signers,
    keys,
    newSet,
    directories,
    down,
    queue,
    clock,
    genesisKey: () => genesisKey!,
    start() {
      for (let i = 0; i < genesis; i++) {
        prices[i] = make(i);
        prices[i]!.start();
      }
      deliver();
      net.run(20_000);
      genesisKey = Uint8Array.from(prices[0]!.keyset()!.groupPublicKey);
      for (let i = genesis; i < total; i++) if (!scenario.late?.includes(i)) boot(i, false);
    },
    run(ms: number) {
      advance(ms, deliver);
      deliver();
    },
    /** A new process for `i`; `wipe` first deletes every key file; `replay` reapplies the change. */
    restart(i: number, wipe = false, replay = true) {
      prices[i]?.stop();
      if (wipe) for (const file of readdirSync(directories[i]!)) rmSync(join(directories[i]!, file));
      down.delete(i);
      boot(i, replay);
    },
    startLate(i: number) {
      boot(i, true);
    },
    block(height: number) {
      const aggregates: AggregatePriceValue[] = [
        {
          assetId: 1,
          height,
          priceTicks: 6_400_000n + BigInt(height * 100),
          confidenceTicks: 500n,
          publishTimeMs: 1_717_000_000_000 + height * 1000,
          emaTicks: 6_400_000n,
          observationCount: genesis,
          flags: 0,
        },
      ];
      if (height === EPOCH_BLOCKS) changeApplied = true;
      prices.forEach((p, i) => {
        if (p === undefined || down.has(i)) return;
        if (height === EPOCH_BLOCKS) p.changeValidators(height, newSet, genesisKeys);
        p.onAggregates(height, aggregates, clock.now());
      });
      deliver();
    },
    /** Blocks one a second; at each boundary, time for a refresh with a silent member to end. */
    blocks(from: number, to: number) {
      for (let height = from; height <= to; height++) {
        net.block(height);
        net.run(height % EPOCH_BLOCKS === 0 ? 10_000 : 1000);
      }
      net.run(20_000);
    },
    stop() {
      for (const p of prices) p?.stop();
    },
  };
  return net;
}

type Net = ReturnType<typeof network>;

/** Live validators `who` hold a certificate of `height` that verifies under the group key. */
function certified(net: Net, who: readonly number[], height: number) {
  for (const i of who) {
    const [latest] = net.prices[i]!.latest();
    assert.ok(latest !== undefined, `validator ${i} holds a certificate`);
    assert.equal(latest.height, height, `validator ${i} certified up to ${height}`);
    assert.ok(
      verifyPriceCertificate(latest.certificate, {
        epoch: latest.certificate.report.epoch,
        groupPublicKey: net.genesisKey(),
      }),
    );
  }
}

const isTag = (message: Uint8Array, tag: number) => {
  try {
    return peekTag(message) === tag;
  } catch {
    return false;
  }
};

/** `i` holds the share of the current keyset again, by repair, and names `members` members. */
function repairedInto(net: Net, i: number, reference: number, members: number) {
  const p = net.prices[i]!;
  const keyset = p.keyset();
  assert.ok(keyset !== undefined, `validator ${i} holds a share: repair ${JSON.stringify(p.stats().repair)}`);
  assert.equal(keyset.epoch, net.prices[reference]!.keyset()!.epoch, 'the current epoch');
  assert.equal(keyset.participants, members);
  assert.equal(toHex(keyset.groupPublicKey), toHex(net.genesisKey()), 'group key unchanged');
  assert.equal(p.stats().repair.state, 'done');
  assert.deepEqual(
    p.members()!.map((k) => toHex(k)),
    net.newSet.map((k) => toHex(k)),
    'the keyset of the new set, in its member order',
  );
  assert.deepEqual(
    readdirSync(net.directories[i]!).filter((f) => f.startsWith('price-keyset-')),
    [`price-keyset-${keyset.epoch}.key`],
  );
  // Its handover chain leads from the genesis key to the repaired epoch (the helpers sent theirs).
  const verdict = followKeysetChain(
    { epoch: 1, groupPublicKey: net.genesisKey() },
    p.handovers().map((h) => h.encoded),
    domain,
  );
  assert.ok(verdict.ok, `validator ${i}'s handovers verify from genesis`);
  assert.equal(verdict.keyset.epoch, keyset.epoch, 'up to the repaired epoch');
}

// ------------------------------------------------------------------ 4 → 5: the joiner

test('after a 4 → 5 change the joiner (member index 4 of a keyset it got by reshare) loses its key directory: it repairs, restarts from the file, and signs', () => {
  const net = network({ name: 'joiner-wiped', genesis: 4, total: 5, change: [0, 1, 2, 3, 4] });
  net.start();
  net.blocks(1, 17);
  const joiner = 4;
  assert.equal(net.prices[joiner]!.stats().join, 'joined');
  assert.ok(net.prices[0]!.keyset()!.epoch >= 5, 'past the epochs whose runs members keep');
  net.down.add(joiner);
  net.restart(joiner, true);
  assert.equal(net.prices[joiner]!.keyset(), undefined, 'no key at start');
  net.blocks(18, 19);
  repairedInto(net, joiner, 0, 5);
  assert.equal(net.prices[joiner]!.stats().join, 'joined', 'a repaired joiner is joined');
  assert.deepEqual(net.prices[joiner]!.stats().repair.culprits, []);
  assert.equal(
    [0, 1, 2, 3].reduce((sum, i) => sum + net.prices[i]!.stats().repair.helped, 0),
    4,
    't = 4 of the five helped',
  );
  // From its file after a restart, and needed: with validator 3 down, t = 4 of the 4 left.
  net.restart(joiner);
  assert.equal(net.prices[joiner]!.keyset()?.participants, 5);
  assert.equal(net.prices[joiner]!.stats().repair.state, 'idle');
  net.down.add(3);
  net.blocks(20, 22);
  certified(net, [0, 1, 2, joiner], 22);
  net.stop();
});

test('a joiner down for three refreshes after the change that added it (its reshare gone from every member) comes up and gets its share by repair', () => {
  const joiner = 4;
  const net = network({ name: 'joiner-late', genesis: 4, total: 5, change: [0, 1, 2, 3, 4], late: [joiner] });
  net.start();
  net.blocks(1, 21);
  const epoch = net.prices[0]!.keyset()!.epoch;
  assert.equal(net.prices[0]!.keyset()!.participants, 5, 'the four reshared to the five without it');
  assert.ok(epoch >= 5, `three refreshes after the reshare into 2 (epoch ${epoch})`);
  // The package request of the change gets no answer any more: the reshare's run is gone.
  net.queue.length = 0;
  for (const member of [0, 1, 2, 3])
    net.prices[member]!.receive(
      joiner,
      KeysetPackageRequestCodec.encode({ chainId: CHAIN_ID, height: EPOCH_BLOCKS }),
    );
  assert.equal(net.queue.filter((m) => m.to === joiner).length, 0, 'no package, no straggler answer');
  net.startLate(joiner);
  net.blocks(22, 25);
  repairedInto(net, joiner, 0, 5);
  const stats = net.prices[joiner]!.stats();
  assert.equal(stats.join, 'joined');
  assert.equal(stats.repair.repaired, 1);
  // It signs: with validator 3 down every certificate needs it.
  net.down.add(3);
  net.blocks(26, 28);
  certified(net, [0, 1, 2, joiner], 28);
  assert.ok(
    [0, 1, 2, joiner].some((i) => net.prices[i]!.stats().lastAssembled?.signers.includes(joiner) === true),
    'its share is in the certificates',
  );
  net.stop();
});

// ------------------------------------------------------------------ 5 → 4: validator 1 removed

/** The new set [0, 2, 3, 4]: peer 2 is member 1, peer 3 member 2, peer 4 member 3. */
const REMOVAL = [0, 2, 3, 4];
const REMOVED = 1;
const LOST = 3;
const LOST_MEMBER = 2;

test('after a 5 → 4 change removing validator 1, validator 3 (member 2 of the new keyset) loses its key directory: it repairs from members 0, 1, 3 (peers 0, 2, 4) and signs', () => {
  const net = network({ name: 'removal-wiped', genesis: 5, total: 5, change: REMOVAL });
  net.start();
  net.blocks(1, 13);
  assert.equal(net.prices[REMOVED]!.stats().member, false, 'validator 1 retired');
  assert.equal(net.prices[0]!.keyset()!.participants, 4);
  net.down.add(LOST);
  net.restart(LOST, true);
  net.blocks(14, 17);
  repairedInto(net, LOST, 0, 4);
  assert.equal(net.prices[LOST]!.keyset()!.threshold, 3, 't of the new set');
  assert.deepEqual(net.prices[LOST]!.stats().repair.culprits, []);
  assert.equal(net.prices[REMOVED]!.stats().repair.helped, 0, 'the removed validator helped in nothing');
  for (const i of [0, 2, 4]) assert.equal(net.prices[i]!.stats().repair.helped, 1, `helper ${i}`);
  // With validator 0 down, t = 3 of peers 2, 3, 4: the repaired share signs.
  net.down.add(0);
  net.blocks(18, 20);
  certified(net, [2, LOST, 4], 20);
  for (const i of [2, LOST, 4]) assert.equal(net.prices[i]!.stats().badShares[LOST] ?? 0, 0);
  net.stop();
});

test('restored from a snapshot taken after the change (no boundary replayed): it asks the genesis keyset and is refused until its node tells it the set (validatorSet); then it repairs', () => {
  const net = network({ name: 'removal-snapshot', genesis: 5, total: 5, change: REMOVAL });
  net.start();
  net.blocks(1, 13);
  net.down.add(LOST);
  net.restart(LOST, true, false);
  net.blocks(14, 17);
  const p = net.prices[LOST]!;
  assert.equal(p.keyset(), undefined, 'the genesis set’s keyset of epoch 4 is no one’s');
  assert.equal(p.stats().repair.state, 'running');
  for (const i of REMOVAL) assert.equal(net.prices[i]!.stats().repair.helped, 0, `validator ${i} refused`);
  const epoch = net.prices[0]!.keyset()!.epoch;
  p.validatorSet(EPOCH_BLOCKS, net.newSet);
  net.blocks(18, 19);
  assert.equal(net.prices[0]!.keyset()!.epoch, epoch, 'no refresh in between: the same epoch, asked again');
  repairedInto(net, LOST, 0, 4);
  net.stop();
});

test('a Byzantine member floods invented certificate epochs (100 and up): the repair still goes to the epoch more than f members announce', () => {
  let armed = false;
  let invented = 100;
  const liar = 4;
  const net = network({
    name: 'epoch-flood',
    genesis: 5,
    total: 5,
    change: REMOVAL,
    tamper: (from, to, message, inject) => {
      if (!armed || from !== liar || to !== LOST || !isTag(message, CertificateAnnouncementCodec.tag))
        return message;
      const announcement = CertificateAnnouncementCodec.decode(message);
      const certificate = decodePriceCertificate(announcement.certificate);
      for (let k = 0; k < 6; k++)
        inject(
          liar,
          LOST,
          CertificateAnnouncementCodec.encode({
            ...announcement,
            certificate: encodePriceCertificate({
              ...certificate,
              report: { ...certificate.report, epoch: invented++ },
            }),
          }),
        );
      return message;
    },
  });
  net.start();
  net.blocks(1, 13);
  armed = true;
  net.down.add(LOST);
  net.restart(LOST, true);
  net.blocks(14, 17);
  assert.ok(invented > 106, 'the liar announced invented epochs');
  repairedInto(net, LOST, 0, 4);
  net.stop();
});

test('the removed validator asks for a share of the new keyset (with its genesis view, or naming itself a member): nobody answers', () => {
  const net = network({ name: 'removal-asks', genesis: 5, total: 5, change: REMOVAL });
  net.start();
  net.blocks(1, 13);
  const epoch = net.prices[0]!.keyset()!.epoch;
  // Its key directory wiped and its chain not replayed: it believes the genesis set holds the keyset.
  net.restart(REMOVED, true, false);
  net.blocks(14, 16);
  assert.equal(net.prices[REMOVED]!.keyset(), undefined, 'no share of the new keyset');
  assert.notEqual(net.prices[REMOVED]!.stats().repair.state, 'done');
  for (const i of REMOVAL)
    assert.equal(net.prices[i]!.stats().repair.helped, 0, `validator ${i} helped no one`);
  // A crafted request naming the new keyset exactly (its digest, a member index it does not hold).
  const digest = repairKeysetDigest({ members: net.newSet, threshold: 3 });
  const splits = () => net.queue.filter((m) => isTag(m.message, RepairSplitCodec.tag)).length;
  for (const lost of [0, 1, 2, 3]) {
    const request = RepairRequestCodec.encode({
      chainId: CHAIN_ID,
      epoch,
      keyset: digest,
      lost,
      attempt: 7,
      helpers: [0, 1, 2, 3].filter((h) => h !== lost).slice(0, 3),
    });
    net.queue.length = 0;
    for (const to of REMOVAL) net.prices[to]!.receive(REMOVED, request);
    assert.equal(splits(), 0, `claiming member ${lost}: no split from any member`);
  }
  // Once its chain applies the change, it is in no keyset and does not ask at all.
  net.restart(REMOVED, true, true);
  net.blocks(17, 18);
  assert.equal(net.prices[REMOVED]!.stats().repair.state, 'idle');
  for (const i of REMOVAL) assert.equal(net.prices[i]!.stats().repair.helped, 0);
  net.stop();
});

test('answers from the removed validator acting as a helper (as member 1, its index before the change, now peer 2’s) are not used', () => {
  const forged = { sums: 0, splits: 0 };
  let armed = false;
  const signers = Array.from({ length: 5 }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`removal-helper ${i}`))),
  );
  const net = network({
    name: 'removal-helper',
    genesis: 5,
    total: 5,
    change: REMOVAL,
    tamper: (from, to, message, inject) => {
      if (!armed || from === REMOVED) return message;
      // Before each real sum to the lost validator, the removed one sends a bad copy as member 1.
      if (to === LOST && isTag(message, RepairSumCodec.tag)) {
        const sum = RepairSumCodec.decode(message);
        const bad = Uint8Array.from(sum.sum);
        bad[31]! ^= 1;
        inject(REMOVED, LOST, RepairSumCodec.encode({ ...sum, helper: 1, sum: bad }));
        forged.sums++;
      }
      // Before each real split, a split of its own, signed with its key, as member 1.
      if (isTag(message, RepairSplitCodec.tag)) {
        const { body } = RepairSplitCodec.decode(message);
        const fake = { ...body, helper: 1, summand: sha256(body.summand) };
        const signature = signInDomain(
          signers[REMOVED]!,
          DomainTag.dkg,
          CHAIN_ID,
          RepairSplitBodyCodec.encode(fake),
        );
        inject(REMOVED, to, RepairSplitCodec.encode({ body: fake, signature }));
        forged.splits++;
      }
      return message;
    },
  });
  net.start();
  net.blocks(1, 13);
  armed = true;
  net.down.add(LOST);
  net.restart(LOST, true);
  net.blocks(14, 17);
  assert.ok(forged.sums > 0 && forged.splits > 0, 'the removed validator answered');
  repairedInto(net, LOST, 0, 4);
  assert.deepEqual(net.prices[LOST]!.stats().repair.culprits, [], 'no helper named for its answers');
  assert.equal(net.prices[LOST]!.stats().repair.repaired, 1);
  // The repaired share is the right one: it signs with peers 2 and 4 (validator 0 down).
  net.down.add(0);
  net.blocks(18, 19);
  certified(net, [2, LOST, 4], 19);
  net.stop();
});

test('after the 5 → 4 change a helper (peer 4, member 3) sends a wrong sum: it is named BAD_SUM by its peer index; with t = 3 of 3 others the repair ends TOO_FEW_HELPERS and writes nothing', () => {
  let armed = false;
  const cheater = 4;
  const net = network({
    name: 'removal-cheater',
    genesis: 5,
    total: 5,
    change: REMOVAL,
    tamper: (from, to, message) => {
      if (!armed || from !== cheater || to !== LOST || !isTag(message, RepairSumCodec.tag)) return message;
      const sum = RepairSumCodec.decode(message);
      const bad = Uint8Array.from(sum.sum);
      bad[0]! ^= 1;
      return RepairSumCodec.encode({ ...sum, sum: bad });
    },
  });
  net.start();
  net.blocks(1, 13);
  armed = true;
  net.down.add(LOST);
  net.restart(LOST, true);
  net.blocks(14, 17);
  const stats = net.prices[LOST]!.stats().repair;
  assert.deepEqual(
    stats.culprits.map((c) => [c.validator, c.fault]),
    [[cheater, 'BAD_SUM']],
    'named by transport peer 4, not by its member index 3',
  );
  assert.equal(stats.state, 'failed');
  assert.equal(stats.code, 'TOO_FEW_HELPERS');
  assert.equal(net.prices[LOST]!.keyset(), undefined);
  assert.deepEqual(
    readdirSync(net.directories[LOST]!).filter((f) => f.startsWith('price-keyset-')),
    [],
  );
  assert.equal(LOST_MEMBER, REMOVAL.indexOf(LOST));
  net.stop();
});

test('wiped while the reshare into its set still runs: it hears the outgoing keyset’s epoch first (helpers refuse that digest), then repairs into the new keyset', () => {
  const net = network({ name: 'removal-during-reshare', genesis: 5, total: 5, change: REMOVAL });
  net.start();
  net.blocks(1, 3);
  // Down from the boundary on: the reshare into epoch 2 waits for it (a silent dealer and recipient).
  net.down.add(LOST);
  net.block(4);
  net.run(1000);
  net.restart(LOST, true);
  net.block(5);
  net.run(1000);
  assert.equal(net.prices[0]!.keyset()!.epoch, 1, 'the reshare is still running');
  net.blocks(6, 13);
  const p = net.prices[LOST]!;
  assert.ok(net.prices[0]!.keyset()!.epoch >= 2);
  repairedInto(net, LOST, 0, 4);
  assert.ok(
    p.stats().repair.culprits.every((c) => c.fault === 'SILENT'),
    `only the refused attempts at epoch 1: ${JSON.stringify(p.stats().repair.culprits)}`,
  );
  assert.ok(
    !p.stats().repair.culprits.some((c) => c.validator === REMOVED),
    'never asked the removed validator',
  );
  net.stop();
});

test('8 → 7 removing validator 1: validator 5 (member 4) wiped, a helper whose member index is not its peer index cheats: named BAD_SUM by its peer, the repair completes from five honest (t = 5)', () => {
  let armed = false;
  const lost = 5;
  const set = [0, 2, 3, 4, 5, 6, 7];
  /** The peer of the second helper of the first request (member m ≥ 1 is peer m + 1). */
  let cheater: number | undefined;
  const net = network({
    name: 'eight-to-seven',
    genesis: 8,
    total: 8,
    change: set,
    tamper: (from, to, message) => {
      if (!armed) return message;
      if (from === lost && cheater === undefined && isTag(message, RepairRequestCodec.tag))
        cheater = set[RepairRequestCodec.decode(message).helpers[1]!]!;
      if (from !== cheater || to !== lost || !isTag(message, RepairSumCodec.tag)) return message;
      const sum = RepairSumCodec.decode(message);
      const bad = Uint8Array.from(sum.sum);
      bad[31]! ^= 1;
      return RepairSumCodec.encode({ ...sum, sum: bad });
    },
  });
  net.start();
  net.blocks(1, 9);
  assert.equal(net.prices[0]!.keyset()!.participants, 7);
  armed = true;
  net.down.add(lost);
  net.restart(lost, true);
  net.blocks(10, 17);
  assert.ok(
    cheater !== undefined && cheater !== set.indexOf(cheater),
    'its peer index is not its member index',
  );
  repairedInto(net, lost, 0, 7);
  assert.equal(net.prices[lost]!.keyset()!.threshold, 5);
  // Helpers that refused an attempt begun just before a refresh moved them on are noted SILENT;
  // the only fault is the cheater's, named by its transport peer.
  assert.deepEqual(
    net.prices[lost]!.stats()
      .repair.culprits.filter((c) => c.fault !== 'SILENT')
      .map((c) => [c.validator, c.fault]),
    [[cheater, 'BAD_SUM']],
  );
  net.stop();
});
