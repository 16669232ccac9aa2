/**
 * A validator that joins the set (4 → 5) at a reshare: it was not in genesis, holds no share, and
 * must learn the outgoing keyset's public package before it can receive deals
 * (src/node/price-join.ts over src/node/price-signing.ts). Attacks first: a forged package (wrong
 * group key), a Byzantine member's consistent package with other commitments, an outgoing member
 * dealing the joiner a bad share, a stranger outside the new set asking for deals. Then the change
 * itself: certificates continue across it, the joiner among the signers, and its certificates
 * verify through the handover chain from the genesis key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { peekTag } from '../codec/message.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { runLocalKeygen, sealKeygenMessage } from '../crypto/keygen.ts';
import { KeygenShareCodec, SealedKeygenCodec } from '../crypto/keygen-codec.ts';
import { commitmentEvaluator, identifierOf, Point, parsePoint, pointBytes } from '../crypto/vss.ts';
import { followKeysetChain } from '../interop/handover-certificate.ts';
import { KeysetPackageCodec, KeysetPackageRequestCodec } from '../interop/keyset-package-codec.ts';
import { createKeysetRegistry } from '../interop/price-certificate.ts';
import { manualClock } from './manual-clock.ts';
import { createKeysetJoin, KeysetJoinError } from './price-join.ts';
import { createFilePriceKeyStore } from './price-key-files.ts';
import { indexedDirectory } from './price-membership.ts';
import { createPriceSigner, type PriceSigner } from './price-signing.ts';

const root = mkdtempSync(join(tmpdir(), 'palisade-price-join-'));
after(() => rmSync(root, { recursive: true, force: true }));

const domain = { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x44) };
const CHAIN_ID = 9;
const EPOCH_BLOCKS = 4;
const GENESIS = 4;
const JOINER = 4;
const STRANGER = 5;

/** A whole, consistent public package of another keyset (4 members, t = 3): a wrong group key. */
function otherKeysetPackage(name: string) {
  const people = Array.from({ length: GENESIS }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`${name} other ${i}`))),
  );
  const keys = people.map((p) => p.publicKey);
  const [result] = runLocalKeygen(
    { chainId: CHAIN_ID, epoch: 1, kind: 'dkg', dealerKeys: keys, recipientKeys: keys, threshold: 3 },
    people.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  );
  const pkg = result!.public;
  return {
    commitments: pkg.commitments.map((c) => Uint8Array.from(c)),
    verifyingShares: Array.from({ length: GENESIS }, (_, i) =>
      Uint8Array.from(Object.values(pkg.verifyingShares)[i]!),
    ),
  };
}

/**
 * Behaviours of genesis validators: `forges-package` sends the joiner a consistent package of
 * another keyset (wrong group key) instead of the real one; `bad-shares-to-joiner` signs the
 * joiner a share off its commitment; `crashed-after` goes silent once the reshare is done.
 */
type Behaviour = 'forges-package' | 'bad-shares-to-joiner' | 'crashed-after';

function network(
  name: string,
  behaviours: Map<number, Behaviour> = new Map(),
  withStranger = false,
  lateJoiner = false,
) {
  const total = GENESIS + 1 + (withStranger ? 1 : 0);
  const { clock, advance } = manualClock();
  const identities = Array.from({ length: total }, (_, i) =>
    sha256(new TextEncoder().encode(`${name} ${i}`)),
  );
  const signers = identities.map((seed) => createEd25519Signer(seed));
  const genesisKeys = signers.slice(0, GENESIS).map((s) => s.publicKey);
  const newSet = signers.slice(0, GENESIS + 1).map((s) => s.publicKey);
  const directory = indexedDirectory(signers.map((s) => s.publicKey));
  const forged = otherKeysetPackage(name);
  const queue: { from: number; to: number; message: Uint8Array }[] = [];
  /** Every message handed to each peer (to check who received shares). */
  const delivered: Uint8Array[][] = signers.map(() => []);
  const refusedPackages: { from: number; code: string }[] = [];
  let silenced = new Set<number>();
  const outgoing = (from: number, to: number, message: Uint8Array) => {
    if (silenced.has(from)) return;
    const behaviour = behaviours.get(from);
    const tag = peekTag(message);
    if (behaviour === 'forges-package' && to === JOINER && tag === KeysetPackageCodec.tag) {
      const real = KeysetPackageCodec.decode(message);
      queue.push({ from, to, message: KeysetPackageCodec.encode({ ...real, ...forged }) });
      return;
    }
    if (behaviour === 'bad-shares-to-joiner' && to === JOINER && tag === SealedKeygenCodec.tag) {
      const { payload } = SealedKeygenCodec.decode(message);
      if (peekTag(payload) === KeygenShareCodec.tag) {
        const body = KeygenShareCodec.decode(payload);
        const bad = KeygenShareCodec.encode({ ...body, share: sha256(body.share) });
        queue.push({ from, to, message: sealKeygenMessage(signers[from]!, CHAIN_ID, bad) });
        return;
      }
    }
    queue.push({ from, to, message });
  };
  const directories = signers.map((_, i) => mkdtempSync(join(root, `${name}-${i}-`)));
  const prices: (PriceSigner | undefined)[] = signers.map(() => undefined);
  const make = (i: number, trusted?: { epoch: number; groupPublicKey: Uint8Array }): PriceSigner =>
    createPriceSigner({
      chainId: CHAIN_ID,
      self: i,
      validators: genesisKeys,
      directory,
      signer: signers[i]!,
      secretKey: identities[i]!,
      keyStore: createFilePriceKeyStore(directories[i]!),
      epoch: 1,
      threshold: 3,
      everyBlocks: 1,
      domain,
      assets: [{ assetId: 1, symbol: 'BTC-USD', decimals: 2, underlyingId: 1 }],
      clock,
      send: (to, message) => outgoing(i, to, message),
      broadcast: (message) => {
        for (let to = 0; to < total; to++) if (to !== i) outgoing(i, to, message);
      },
      log: (_level, message, details) => {
        if (message === 'refused a keyset package')
          refusedPackages.push({ from: details?.peer as number, code: details?.code as string });
      },
      retryMs: 500,
      attemptMs: 1000,
      dkgDealMs: 5000,
      dkgComplaintMs: 3000,
      sessionTimeoutMs: 20_000,
      epochBlocks: EPOCH_BLOCKS,
      ...(trusted === undefined ? {} : { trustedKeyset: trusted }),
    });
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 2_000_000);
      const { from, to, message } = queue.shift()!;
      if (silenced.has(to)) continue;
      delivered[to]!.push(message);
      prices[to]?.receive(from, message);
    }
  };
  const net = {
    prices: prices as PriceSigner[],
    signers,
    newSet,
    refusedPackages,
    delivered,
    genesisKey: new Uint8Array(),
    /** The genesis DKG among the four; then the joiner (and stranger) start, trusting its key. */
    start() {
      for (let i = 0; i < GENESIS; i++) {
        prices[i] = make(i);
        prices[i]!.start();
      }
      deliver();
      net.genesisKey = Uint8Array.from(prices[0]!.keyset()!.groupPublicKey);
      for (let i = GENESIS; i < total; i++) {
        if (lateJoiner && i === JOINER) continue;
        prices[i] = make(i, { epoch: 1, groupPublicKey: net.genesisKey });
        prices[i]!.start();
      }
      deliver();
    },
    /**
     * The joiner comes up late (everything sent to it so far was lost) and its chain, caught up,
     * applies the change that added it: as a node's block sync (or restored snapshot) makes it do.
     */
    startLateJoiner() {
      prices[JOINER] = make(JOINER, { epoch: 1, groupPublicKey: net.genesisKey });
      prices[JOINER]!.start();
      prices[JOINER]!.changeValidators(EPOCH_BLOCKS, newSet, genesisKeys);
      deliver();
    },
    /** Block `height`: at the first boundary every validator's chain applies the change. */
    block(height: number) {
      const aggregates: AggregatePriceValue[] = [
        {
          assetId: 1,
          height,
          priceTicks: 6_400_000n + BigInt(height * 100),
          confidenceTicks: 500n,
          publishTimeMs: 1_717_000_000_000 + height * 1000,
          emaTicks: 6_400_000n,
          observationCount: GENESIS,
          flags: 0,
        },
      ];
      prices.forEach((p, i) => {
        if (p === undefined || silenced.has(i)) return;
        // The stranger reads a set with itself in it (it is not: no one else's chain says so).
        if (height === EPOCH_BLOCKS)
          p.changeValidators(
            height,
            i === STRANGER ? [...newSet, signers[STRANGER]!.publicKey] : newSet,
            genesisKeys,
          );
        p.onAggregates(height, aggregates, clock.now());
      });
      deliver();
    },
    run(ms: number) {
      advance(ms, deliver);
      deliver();
    },
    silenceCrashedAfter() {
      silenced = new Set([...behaviours].filter(([, b]) => b === 'crashed-after').map(([i]) => i));
    },
    /** Stops `i` and starts it again from its key files, trusting the genesis key as before. */
    restart(i: number) {
      prices[i]!.stop();
      prices[i] = make(i, i < GENESIS ? undefined : { epoch: 1, groupPublicKey: net.genesisKey });
      prices[i]!.start();
      deliver();
    },
    send(from: number, to: number, message: Uint8Array) {
      queue.push({ from, to, message });
      deliver();
    },
    stop() {
      for (const p of prices) p?.stop();
    },
  };
  return net;
}

function blocks(net: ReturnType<typeof network>, from: number, to: number) {
  for (let height = from; height <= to; height++) {
    net.block(height);
    net.run(1000);
  }
}

/** Certificates kept by `i`'s latest, verified by a consumer that follows `i`'s handovers from genesis. */
function assertVerifiesFromGenesis(net: ReturnType<typeof network>, i: number) {
  const p = net.prices[i]!;
  const [latest] = p.latest();
  assert.ok(latest !== undefined, `validator ${i} holds a certificate`);
  const epoch = latest.certificate.report.epoch;
  const chain = p.handovers().map((h) => h.encoded);
  const verdict = followKeysetChain({ epoch: 1, groupPublicKey: net.genesisKey }, chain, domain);
  assert.ok(verdict.ok, `validator ${i}'s handovers lead from the genesis key`);
  assert.equal(verdict.keyset.epoch, epoch, 'to the epoch of its latest certificate');
  const registry = createKeysetRegistry(domain);
  registry.activate(verdict.keyset.epoch, verdict.keyset.groupPublicKey);
  assert.ok(registry.verify(latest.encoded).ok);
}

// ------------------------------------------------------------------ the package, alone

function realPackage(net: ReturnType<typeof network>, from: number): Uint8Array {
  const found = net.delivered[JOINER]!.find((m) => peekTag(m) === KeysetPackageCodec.tag);
  assert.ok(found !== undefined, `validator ${from} announced its package`);
  return found;
}

test('keyset packages: a forged group key, a stranger, a broken chain and f forgers are refused; f + 1 agreeing members are needed', () => {
  const net = network('package-unit');
  net.start();
  blocks(net, 1, EPOCH_BLOCKS);
  net.run(30_000);
  const bytes = realPackage(net, 0);
  const real = KeysetPackageCodec.decode(bytes);
  const directory = indexedDirectory(net.signers.map((s) => s.publicKey));
  const fresh = () =>
    createKeysetJoin({
      chainId: CHAIN_ID,
      domain,
      trusted: { epoch: 1, groupPublicKey: net.genesisKey },
      height: EPOCH_BLOCKS,
      outgoing: net.newSet.slice(0, GENESIS),
      directory,
    });
  const refused = (join: ReturnType<typeof fresh>, from: number, message: Uint8Array, code: string) =>
    assert.throws(
      () => join.offer(from, message),
      (error: unknown) => error instanceof KeysetJoinError && error.code === code,
    );
  const join = fresh();
  // A whole, consistent package of another keyset: its C_0 is not the certified group key.
  refused(join, 0, KeysetPackageCodec.encode({ ...real, ...otherKeysetPackage('x') }), 'WRONG_GROUP_KEY');
  // The same, with no handovers (claiming the trusted epoch itself).
  refused(
    join,
    0,
    KeysetPackageCodec.encode({ ...real, ...otherKeysetPackage('x'), epoch: 1, handovers: [] }),
    'WRONG_GROUP_KEY',
  );
  // The right group key, a verifying share off the commitment.
  const shares = real.verifyingShares.map((s) => Uint8Array.from(s));
  shares[1] = Uint8Array.from(real.verifyingShares[2]!);
  refused(join, 1, KeysetPackageCodec.encode({ ...real, verifyingShares: shares }), 'INCONSISTENT_PACKAGE');
  // A later epoch than the handovers certify, another boundary, another size, a non-member.
  refused(join, 1, KeysetPackageCodec.encode({ ...real, epoch: real.epoch + 1 }), 'CHAIN_REFUSED');
  refused(join, 1, KeysetPackageCodec.encode({ ...real, height: 8 }), 'WRONG_CHANGE');
  refused(join, JOINER, bytes, 'NOT_OUTGOING_MEMBER');
  // Nothing refused counted: one honest vote is not enough (f + 1 = 2), two are.
  assert.equal(join.accepted(), undefined);
  assert.deepEqual(join.offer(0, bytes), { status: 'counted', votes: 1, needed: 2 });
  assert.deepEqual(join.offer(0, bytes), { status: 'counted', votes: 1, needed: 2 }, 'a member votes once');
  const outcome = join.offer(3, bytes);
  assert.equal(outcome.status, 'accepted');
  assert.equal(toHex(join.accepted()!.public.commitments[0]!), toHex(net.genesisKey));
  // A Byzantine member's package with the right group key, other commitments and verifying shares
  // consistent with them: it passes every check, but alone (f = 1) it never reaches f + 1.
  const points = real.commitments.map((c) => parsePoint(c)!);
  points[1] = points[1]!.add(Point.BASE);
  const evaluate = commitmentEvaluator(points);
  const lookalike = KeysetPackageCodec.encode({
    ...real,
    commitments: points.map((point) => pointBytes(point)),
    verifyingShares: real.verifyingShares.map((_, i) => pointBytes(evaluate(identifierOf(i)))),
  });
  const lone = fresh();
  assert.deepEqual(lone.offer(2, lookalike), { status: 'counted', votes: 1, needed: 2 });
  assert.deepEqual(lone.offer(0, bytes), { status: 'counted', votes: 1, needed: 2 });
  assert.equal(lone.accepted(), undefined);
  assert.equal(lone.offer(1, bytes).status, 'accepted');
  assert.equal(
    toHex(lone.accepted()!.public.commitments[1]!),
    toHex(real.commitments[1]!),
    'the package two members agree on is the real one',
  );
  net.stop();
});

// ------------------------------------------------------------------ over the network

test('a forged package (wrong group key) from every outgoing member: the joiner refuses it and adopts no key; the others continue', () => {
  const forgers = new Map<number, Behaviour>([0, 1, 2, 3].map((i) => [i, 'forges-package']));
  const net = network('all-forged', forgers);
  net.start();
  blocks(net, 1, 10);
  net.run(30_000);
  const joiner = net.prices[JOINER]!;
  assert.equal(joiner.keyset(), undefined, 'no key adopted');
  assert.deepEqual(joiner.latest(), []);
  assert.ok(net.refusedPackages.length >= 4);
  assert.ok(net.refusedPackages.every((r) => r.code === 'WRONG_GROUP_KEY'));
  assert.deepEqual(
    [...new Set(net.refusedPackages.map((r) => r.from))].sort(),
    [0, 1, 2, 3],
    'each forger is named',
  );
  // The joiner is a silent recipient (one of f' = 1): the four reshare to the new set and sign on.
  for (let i = 0; i < GENESIS; i++) {
    const p = net.prices[i]!;
    assert.equal(p.keyset()!.participants, 5);
    assert.equal(toHex(p.keyset()!.groupPublicKey), toHex(net.genesisKey));
    assert.equal(p.latest()[0]!.height, 10);
  }
  net.stop();
});

test('one outgoing member forges the package: named, the joiner joins on the honest f + 1', () => {
  const net = network('one-forger', new Map([[1, 'forges-package']]));
  net.start();
  blocks(net, 1, 10);
  net.run(30_000);
  assert.ok(net.refusedPackages.some((r) => r.from === 1 && r.code === 'WRONG_GROUP_KEY'));
  assert.ok(net.refusedPackages.every((r) => r.from === 1));
  const joiner = net.prices[JOINER]!;
  assert.equal(joiner.keyset()!.participants, 5);
  assert.equal(toHex(joiner.keyset()!.groupPublicKey), toHex(net.genesisKey));
  assert.equal(joiner.latest()[0]!.height, 10);
  net.stop();
});

test('an outgoing member deals the joiner a bad share: named by the joiner and everyone, excluded; the joiner still gets a share', () => {
  const net = network('bad-to-joiner', new Map([[2, 'bad-shares-to-joiner']]));
  net.start();
  blocks(net, 1, 10);
  net.run(30_000);
  for (let i = 0; i <= JOINER; i++) {
    const p = net.prices[i]!;
    assert.ok(
      p.stats().reshareDisqualified.some((d) => d.epoch === 2 && d.dealer === 2 && d.reason === 'BAD_SHARE'),
      `validator ${i} names dealer 2: ${JSON.stringify(p.stats().reshareDisqualified)}`,
    );
    assert.equal(p.keyset()!.participants, 5);
    assert.equal(toHex(p.keyset()!.groupPublicKey), toHex(net.genesisKey));
    assert.equal(p.latest()[0]!.height, 10);
  }
  net.stop();
});

test('a stranger outside the new set gets no deals, even holding the package and replaying session messages', () => {
  const net = network('stranger', new Map(), true);
  net.start();
  blocks(net, 1, EPOCH_BLOCKS);
  net.run(30_000);
  // It saw the public package (as anyone could) and the broadcasts, and asks as a straggler would:
  // it re-sends a sealed message of the reshare to every outgoing member after they finished.
  const pkg = realPackage(net, 0);
  for (let from = 0; from < GENESIS; from++) net.prices[STRANGER]!.receive(from, pkg);
  const sessionMessage = net.delivered[STRANGER]!.find((m) => peekTag(m) === SealedKeygenCodec.tag);
  assert.ok(sessionMessage !== undefined, 'the stranger heard the reshare’s broadcasts');
  for (let to = 0; to < GENESIS; to++) net.send(STRANGER, to, sessionMessage);
  net.run(5000);
  const shares = net.delivered[STRANGER]!.filter((m) => {
    if (peekTag(m) !== SealedKeygenCodec.tag) return false;
    return peekTag(SealedKeygenCodec.decode(m).payload) === KeygenShareCodec.tag;
  });
  assert.equal(shares.length, 0, 'no share was ever addressed to the stranger');
  assert.equal(net.prices[STRANGER]!.keyset(), undefined);
  // The joiner, in the set, got its shares and the key.
  assert.equal(net.prices[JOINER]!.keyset()!.participants, 5);
  net.stop();
});

test('a set change at block 4 (4 → 5): the joiner adopts the new epoch key, signs, and its certificates verify from the genesis key', () => {
  const net = network('join', new Map([[3, 'crashed-after']]));
  net.start();
  const epochs = new Map<number, number>();
  for (let height = 1; height <= 10; height++) {
    net.block(height);
    net.run(1000);
    const [latest] = net.prices[0]!.latest();
    if (latest !== undefined) epochs.set(latest.height, latest.certificate.report.epoch);
  }
  net.run(30_000);
  assert.equal(epochs.get(3), 1);
  assert.ok((epochs.get(7) ?? 0) >= 2, 'certificates after the boundary name the new set’s epoch');
  const joiner = net.prices[JOINER]!;
  const keyset = joiner.keyset()!;
  assert.equal(keyset.participants, 5);
  assert.equal(keyset.threshold, 4);
  assert.equal(toHex(keyset.groupPublicKey), toHex(net.genesisKey), 'a reshare keeps the group key');
  assert.equal(joiner.stats().reshares, 1);
  assert.equal(joiner.stats().member, true);
  for (let i = 0; i <= JOINER; i++) {
    assert.equal(net.prices[i]!.latest()[0]!.height, 10, `validator ${i} has block 10's certificate`);
    assert.equal(net.prices[i]!.stats().failedSessions, 0);
    assertVerifiesFromGenesis(net, i);
  }
  // The joiner coordinated certificates with its own share in them.
  assert.ok(joiner.stats().certificates > 0, 'the joiner assembled certificates as coordinator');
  assert.ok(joiner.stats().lastAssembled!.signers.includes(JOINER));
  // Now validator 3 crashes: 4 of the 5 remain and t = 4, so every certificate needs the joiner.
  net.silenceCrashedAfter();
  const before = net.prices.slice(0, 3).map((p) => p.stats().certificates);
  blocks(net, 11, 14);
  net.run(30_000);
  for (const i of [0, 1, 2, JOINER]) assert.equal(net.prices[i]!.latest()[0]!.height, 14);
  const assembled = [0, 1, 2].filter((i, k) => net.prices[i]!.stats().certificates > before[k]!);
  assert.ok(assembled.length > 0);
  for (const i of assembled) assert.ok(net.prices[i]!.stats().lastAssembled!.signers.includes(JOINER));
  // The joiner restarts: it loads the key file of its latest epoch (naming the five members), runs
  // no DKG, and is needed again for every certificate.
  const epochBefore = joiner.keyset()!.epoch;
  net.restart(JOINER);
  const restarted = net.prices[JOINER]!;
  assert.equal(restarted.keyset()!.epoch, epochBefore);
  assert.equal(restarted.keyset()!.participants, 5);
  assert.equal(restarted.stats().join, 'joined');
  blocks(net, 15, 15);
  net.run(30_000);
  for (const i of [0, 1, 2, JOINER]) assert.equal(net.prices[i]!.latest()[0]!.height, 15);
  net.stop();
});

test('a late joiner (up after the reshare that added it ended) asks for the package, gets its share and signs', () => {
  const net = network('late', new Map(), false, true);
  net.start();
  blocks(net, 1, 10);
  net.run(30_000);
  // The four reshared to the five without it: it was silent, one of f' = 1.
  for (let i = 0; i < GENESIS; i++) assert.equal(net.prices[i]!.keyset()!.participants, 5);
  assert.equal(net.prices[0]!.stats().refreshing, null, 'the reshare is over');
  // A request from someone who is not a joiner of that change is answered with nothing.
  const request = KeysetPackageRequestCodec.encode({ chainId: CHAIN_ID, height: EPOCH_BLOCKS });
  const heardBefore = net.delivered[1]!.length;
  net.send(1, 0, request);
  net.run(2000);
  assert.ok(
    net.delivered[1]!.slice(heardBefore).every((m) => peekTag(m) !== KeysetPackageCodec.tag),
    'no package to a validator the change did not add',
  );
  net.startLateJoiner();
  net.run(30_000);
  const joiner = net.prices[JOINER]!;
  assert.equal(joiner.stats().join, 'joined', `join state ${joiner.stats().join}`);
  const keyset = joiner.keyset()!;
  assert.equal(keyset.participants, 5);
  assert.equal(keyset.epoch, net.prices[0]!.keyset()!.epoch);
  assert.equal(toHex(keyset.groupPublicKey), toHex(net.genesisKey));
  // It holds the handover into its epoch, and signs: every certificate needs four of the five, and
  // the joiner's share is in those it coordinates.
  blocks(net, 11, 14);
  net.run(30_000);
  for (let i = 0; i <= JOINER; i++) assert.equal(net.prices[i]!.latest()[0]!.height, 14);
  assertVerifiesFromGenesis(net, JOINER);
  assert.ok(joiner.stats().certificates > 0, 'the late joiner assembled certificates');
  assert.ok(joiner.stats().lastAssembled!.signers.includes(JOINER));
  net.stop();
});
