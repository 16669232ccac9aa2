/**
 * Block sync by height (spec §7): a validator far behind — more blocks than the backward walk from
 * a finalization can hold in memory — catches up by fetching finalized blocks forward from its tip
 * in bounded ranges, served from a peer's storage, and checked by hash links and the finality
 * certificate stored with them (most of which certify a later block than the range's last).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Block,
  BlockCodec,
  type Certificate,
  CertificateCodec,
  RangeRequestCodec,
  RangeResponseCodec,
  VoteKind,
} from '../codec/consensus.ts';
import { peekTag } from '../codec/message.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { SimNetwork } from '../runtime/sim/network.ts';
import { createSimRng } from '../runtime/sim/rng.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import { certificateFromVotes } from './certificate.ts';
import { type Application, createEngine, type FinalizedBlock, MAX_BLOCKS_IN_MEMORY } from './engine.ts';
import { createValidatorSet, leaderOf } from './validators.ts';
import { blockDigest, genesisDigest, signVote } from './votes.ts';

const chainId = 11;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x70 + i)));
const validators = createValidatorSet(signers.map((signer) => signer.publicKey));
const timeouts = { leaderMs: 200, notarizationMs: 400, nullifyRetryMs: 200, syncRetryMs: 50 };

function pad(value: number): string {
  return value.toString().padStart(16, '0');
}

function finalization(view: number, digest: Uint8Array): Certificate {
  const votes = [0, 1, 2].map((i) =>
    signVote(signers[i]!, chainId, { kind: VoteKind.finalize, view, digest, signerIndex: i }),
  );
  return certificateFromVotes(VoteKind.finalize, view, digest, votes);
}

/**
 * A finalized chain of `length` small blocks, one view each, written into `storage` in the engine's
 * layout (block, proof and digest index per height). Only every `certifyEvery`-th block and the
 * last have their own finalization; the blocks in between are stored with the next one's, as a
 * validator stores blocks it finalized through a descendant's certificate.
 */
async function buildChain(storage: SimStorage, length: number, certifyEvery: number) {
  const digests: Uint8Array[] = [];
  const blocks: Block[] = [];
  let parent = genesisDigest(chainId);
  for (let height = 1; height <= length; height++) {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(0, height);
    const block: Block = {
      view: height,
      height,
      parentView: height - 1,
      parent,
      proposer: leaderOf(validators, height),
      payload,
    };
    parent = blockDigest(block);
    blocks.push(block);
    digests.push(parent);
  }
  let proof: Certificate | undefined;
  for (let height = length; height >= 1; height--) {
    const block = blocks[height - 1]!;
    if (height === length || height % certifyEvery === 0) proof = finalization(height, digests[height - 1]!);
    storage.put(`consensus/block/${pad(height)}`, BlockCodec.encode(block));
    storage.put(`consensus/proof/${pad(height)}`, CertificateCodec.encode(proof!));
    const heightBytes = new Uint8Array(8);
    new DataView(heightBytes.buffer).setBigUint64(0, BigInt(height));
    storage.put(`consensus/digest/${toHex(digests[height - 1]!)}`, heightBytes);
    if (height % 10_000 === 0) await storage.sync();
  }
  await storage.sync();
  return { blocks, digests };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A stand-in for the execution layer: a running hash of every payload it is given, in order. */
function recordingApplication() {
  const delivered: FinalizedBlock[] = [];
  let stateRoot: Uint8Array = new Uint8Array(32);
  const application: Application = {
    // The caught-up validator must not make blocks of its own while catching up.
    propose: () => undefined,
    verify: () => true,
    finalized: (block) => {
      delivered.push(block);
      stateRoot = sha256(stateRoot, block.block.payload);
    },
    processedHeight: () => delivered.length,
  };
  return { application, delivered, stateRoot: () => stateRoot };
}

test('a validator 50,000 blocks behind catches up by block sync by height: equal hashes and state', async () => {
  const length = 50_000;
  assert.ok(length > 4 * MAX_BLOCKS_IN_MEMORY, 'far more blocks than the backward walk holds');
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, createSimRng(5), { latencyMs: 2, jitterMs: 0, lossPerMille: 0 });
  const sourceStorage = new SimStorage();
  const { blocks, digests } = await buildChain(sourceStorage, length, 1000);
  let expectedRoot: Uint8Array = new Uint8Array(32);
  for (const block of blocks) expectedRoot = sha256(expectedRoot, block.payload);

  const source = recordingApplication();
  // The source has applied everything it stored.
  const sourceApp: Application = { ...source.application, processedHeight: () => length };
  const lagging = recordingApplication();
  let rangeResponses = 0;
  const sourceNetwork = network.addEndpoint(0);
  const laggingNetwork = network.addEndpoint(1);
  network.observe((_from, to, message) => {
    if (to === 1 && peekTag(message) === RangeResponseCodec.tag) rangeResponses++;
  });
  const engines = [
    createEngine({
      chainId,
      validators,
      self: 0,
      signer: signers[0]!,
      clock: scheduler.clockFor(),
      network: sourceNetwork,
      storage: sourceStorage,
      application: sourceApp,
      timeouts,
    }),
    createEngine({
      chainId,
      validators,
      self: 1,
      signer: signers[1]!,
      clock: scheduler.clockFor(),
      network: laggingNetwork,
      storage: new SimStorage(),
      application: lagging.application,
      timeouts,
    }),
  ];
  for (const engine of engines) await engine.start();
  const caughtUp = engines[1]!;
  // The source's nullify timeouts rebroadcast its entry certificate (the tip's finalization), which
  // is all the lagging validator learns of the network; everything else it fetches.
  for (let ms = 0; ms < 600_000 && caughtUp.status().finalizedHeight < length; ms += 50) {
    await settle();
    while (scheduler.step(scheduler.now() + 50)) await settle();
    scheduler.advanceTo(scheduler.now() + 50);
    while (lagging.delivered.length < caughtUp.status().finalizedHeight) await settle();
  }
  for (let i = 0; i < 20; i++) await settle();
  assert.equal(caughtUp.status().finalizedHeight, length);
  assert.equal(toHex(caughtUp.status().finalizedDigest), toHex(digests[length - 1]!));
  assert.equal(lagging.delivered.length, length);
  lagging.delivered.forEach((entry, index) => {
    assert.equal(entry.block.height, index + 1);
    if (toHex(entry.digest) !== toHex(digests[index]!)) assert.fail(`hash differs at height ${index + 1}`);
  });
  assert.equal(toHex(lagging.stateRoot()), toHex(expectedRoot));
  const sync = caughtUp.syncStatus();
  assert.ok(sync.rangeSyncedBlocks > length - 2 * MAX_BLOCKS_IN_MEMORY, `${sync.rangeSyncedBlocks} by range`);
  // Bounded ranges: many responses, none above the request size.
  assert.ok(rangeResponses >= Math.floor(length / 1024), `${rangeResponses} range responses`);
});

test('peers that break the hash chain or forge the certificate of a range are charged, and the honest one still serves the catch-up', async () => {
  const length = 3_000;
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, createSimRng(6), { latencyMs: 2, jitterMs: 0, lossPerMille: 0 });
  const sourceStorage = new SimStorage();
  const { blocks, digests } = await buildChain(sourceStorage, length, 100);
  const source = recordingApplication();
  const lagging = recordingApplication();
  const honest = createEngine({
    chainId,
    validators,
    self: 0,
    signer: signers[0]!,
    clock: scheduler.clockFor(),
    network: network.addEndpoint(0),
    storage: sourceStorage,
    application: { ...source.application, processedHeight: () => length },
    timeouts,
  });
  const caughtUp = createEngine({
    chainId,
    validators,
    self: 1,
    signer: signers[1]!,
    clock: scheduler.clockFor(),
    network: network.addEndpoint(1),
    storage: new SimStorage(),
    application: lagging.application,
    timeouts,
  });
  // Validator 2 answers every range with real blocks whose first parent is wrong; validator 3 with
  // a chain of its own that links to the asker's tip, "certified" by one key signing for three.
  const liars = [2, 3].map((self) => {
    const endpoint = network.addEndpoint(self);
    let answered = 0;
    endpoint.onMessage((from, message) => {
      if (peekTag(message) !== RangeRequestCodec.tag) return;
      const request = RangeRequestCodec.decode(message);
      answered++;
      const start = request.fromHeight;
      if (self === 2) {
        const range = blocks.slice(start - 1, start - 1 + 64).map((block) => ({ ...block }));
        range[0] = { ...range[0]!, parent: new Uint8Array(32).fill(7) };
        const proof = finalization(range.at(-1)!.view, blockDigest(range.at(-1)!));
        endpoint.send(from, RangeResponseCodec.encode({ blocks: range, finalization: proof }));
        return;
      }
      let parent = start === 1 ? genesisDigest(chainId) : digests[start - 2]!;
      const fake: Block[] = [];
      for (let height = start; height < start + 64; height++) {
        const block: Block = {
          view: height,
          height,
          parentView: height - 1,
          parent,
          proposer: 3,
          payload: new TextEncoder().encode(`fake ${height}`),
        };
        parent = blockDigest(block);
        fake.push(block);
      }
      const last = fake.at(-1)!;
      const forged = certificateFromVotes(
        VoteKind.finalize,
        last.view,
        parent,
        [0, 1, 3].map((signerIndex) =>
          signVote(signers[3]!, chainId, {
            kind: VoteKind.finalize,
            view: last.view,
            digest: parent,
            signerIndex,
          }),
        ),
      );
      endpoint.send(from, RangeResponseCodec.encode({ blocks: fake, finalization: forged }));
    });
    return { answered: () => answered };
  });
  await honest.start();
  await caughtUp.start();
  for (let ms = 0; ms < 300_000 && caughtUp.status().finalizedHeight < length; ms += 50) {
    await settle();
    while (scheduler.step(scheduler.now() + 50)) await settle();
    scheduler.advanceTo(scheduler.now() + 50);
  }
  for (let i = 0; i < 20; i++) await settle();
  assert.equal(caughtUp.status().finalizedHeight, length);
  assert.equal(toHex(caughtUp.status().finalizedDigest), toHex(digests[length - 1]!));
  lagging.delivered.forEach((entry, index) => {
    if (toHex(entry.digest) !== toHex(digests[index]!)) assert.fail(`hash differs at height ${index + 1}`);
  });
  assert.ok(
    liars.every((liar) => liar.answered() > 0),
    'both liars were asked',
  );
  const drops = caughtUp.dropCounters();
  assert.ok((drops[2]?.['digest-mismatch'] ?? 0) >= 1, JSON.stringify(drops));
  assert.ok((drops[3]?.['bad-certificate'] ?? 0) >= 1, JSON.stringify(drops));
  assert.equal(drops[0], undefined, 'the honest peer is charged nothing');
});
