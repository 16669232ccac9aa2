/**
 * Validator epochs in the engine (issue 11): five engines over the simulated network, the
 * application removing validator 2 (a middle index, so validators 3 and 4 change index) at the
 * epoch boundary of height 10, as src/execution/validator-set.ts would: at the finalized boundary
 * block each engine schedules epoch 2 from the view after it, and no one votes on a block above
 * the boundary before it has finalized the boundary block (the node's rule, src/node/epochs.ts).
 * Attacks: the removed validator keeps voting after the boundary, under its old index and under
 * every other; a certificate made by epoch 1's set is presented for a view of epoch 2; a vote
 * of epoch 2 under a shifted index is replayed by the validator that held that index before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CertificateCodec, type Vote, VoteCodec, VoteKind } from '../codec/consensus.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { SimNetwork } from '../runtime/sim/network.ts';
import { createSimRng } from '../runtime/sim/rng.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import { certificateFromVotes } from './certificate.ts';
import { type Application, createEngine, type FinalizedBlock, type SimplexEngine } from './engine.ts';
import { createValidatorSchedule } from './epochs.ts';
import { createValidatorSet } from './validators.ts';
import { signVote } from './votes.ts';

const chainId = 11;
const BOUNDARY = 10;
const REMOVED = 2;
const signers = Array.from({ length: 5 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`epochs-engine ${i}`))),
);
const genesisSet = createValidatorSet(signers.map((s) => s.publicKey));
const nextSet = createValidatorSet(signers.filter((_, i) => i !== REMOVED).map((s) => s.publicKey));
const timeouts = { leaderMs: 200, notarizationMs: 300, nullifyRetryMs: 200, syncRetryMs: 100 };

interface Validator {
  engine: SimplexEngine;
  finalized: FinalizedBlock[];
  released: Vote[];
}

function network(seed: number) {
  const scheduler = new Scheduler();
  const net = new SimNetwork(scheduler, createSimRng(seed), { latencyMs: 5, jitterMs: 5, lossPerMille: 0 });
  const validators: Validator[] = [];
  const endpoints = signers.map((_, peer) => net.addEndpoint(peer));
  for (const [peer, signer] of signers.entries()) {
    const finalized: FinalizedBlock[] = [];
    const released: Vote[] = [];
    let engine: SimplexEngine | undefined;
    const processed = () => finalized.at(-1)?.block.height ?? 0;
    const application: Application = {
      // Above the boundary only once the boundary block is ours: every validator knows epoch 2's
      // set before it votes in it.
      propose: (context) =>
        context.height > BOUNDARY && processed() < BOUNDARY ? undefined : new Uint8Array(4),
      verify: (context) => (context.height > BOUNDARY && processed() < BOUNDARY ? 'unknown' : true),
      finalized: (block) => {
        finalized.push(block);
        if (block.block.height === BOUNDARY)
          engine!.scheduleEpoch({ epoch: 2, firstView: block.block.view + 1, validators: nextSet });
      },
      processedHeight: processed,
    };
    engine = createEngine({
      chainId,
      validators: genesisSet,
      schedule: createValidatorSchedule({ epoch: 1, firstView: 1, validators: genesisSet }),
      self: peer,
      signer,
      clock: scheduler.clockFor(),
      network: endpoints[peer]!,
      storage: new SimStorage(),
      application,
      timeouts,
      observer: { released: (vote) => released.push(vote) },
    });
    validators.push({ engine, finalized, released });
  }
  return { scheduler, net, validators, endpoints };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runUntil(scheduler: Scheduler, done: () => boolean, limitMs: number): Promise<void> {
  await settle();
  while (!done() && scheduler.now() < limitMs) {
    if (!scheduler.step(scheduler.now() + 10)) scheduler.advanceTo(scheduler.now() + 10);
    await settle();
  }
}

test('removing a validator at the boundary: finality continues with four, the removed one has no voice after it', async () => {
  const { scheduler, validators, endpoints } = network(1);
  for (const v of validators) await v.engine.start();
  const staying = validators.filter((_, i) => i !== REMOVED);
  await runUntil(
    scheduler,
    () => staying.every((v) => v.engine.status().finalizedHeight >= BOUNDARY + 15),
    120_000,
  );
  for (const v of staying)
    assert.ok(v.engine.status().finalizedHeight >= BOUNDARY + 15, 'finality continues');
  const boundary = validators[0]!.finalized.find((f) => f.block.height === BOUNDARY)!;
  const firstView = boundary.block.view + 1;
  // Every validator (the removed one too) finalized the same chain, and agrees where epoch 2 starts.
  for (const v of validators) {
    assert.equal(v.engine.epochAt(firstView)?.epoch, 2);
    assert.equal(v.engine.epochAt(firstView - 1)?.epoch, 1);
  }
  // Blocks above the boundary are finalized by certificates of epoch 2's set: four signers at
  // most, indices 0..3, and validator 2's key is none of them.
  const later = validators[0]!.finalized.filter((f) => f.block.height > BOUNDARY);
  assert.ok(later.length > 0);
  for (const { finalization } of later) {
    assert.ok(finalization.view >= firstView);
    assert.ok(finalization.votes.length >= nextSet.quorum && finalization.votes.every((e) => e.signer < 4));
  }
  // The removed validator signed nothing after the boundary (it is outside the set of those views).
  assert.deepEqual(
    validators[REMOVED]!.released.filter((vote) => vote.view >= firstView + 1),
    [],
    'no vote of the removed validator after the boundary',
  );

  // Attack: the removed validator keeps voting for a later view, under its old index and every
  // other; and validator 4 (index 3 now) replays under index 4, its index of epoch 1.
  const target = validators[0]!.engine;
  const view = target.status().view + 1;
  const before = target.dropCounters();
  const forge = (signer: number, signerIndex: number) =>
    signVote(signers[signer]!, chainId, {
      kind: VoteKind.nullify,
      view,
      digest: new Uint8Array(32),
      signerIndex,
    });
  for (const index of [0, 1, 2, 3, 4]) endpoints[REMOVED]!.send(0, VoteCodec.encode(forge(REMOVED, index)));
  endpoints[4]!.send(0, VoteCodec.encode(forge(4, 4)));
  // Attack: a certificate of epoch 1's set (validators 0..3 under their epoch 1 indices, a quorum
  // of five) for a view of epoch 2. Validator 2's and 3's entries do not verify under epoch 2.
  const oldQuorum = [0, 1, 2, 3].map((i) => forge(i, i));
  const stale = certificateFromVotes(VoteKind.nullify, view, new Uint8Array(32), oldQuorum);
  endpoints[REMOVED]!.send(0, CertificateCodec.encode(stale));
  await runUntil(scheduler, () => false, scheduler.now() + 50);
  const after = target.dropCounters();
  const count = (peer: number, reason: string) =>
    ((after[peer] as Record<string, number> | undefined)?.[reason] ?? 0) -
    ((before[peer] as Record<string, number> | undefined)?.[reason] ?? 0);
  // Index 2 now names validator 3, index 3 validator 4, index 4 nobody: none is the removed one's.
  assert.equal(count(REMOVED, 'sender-mismatch'), 5, 'every vote of the removed validator refused');
  assert.equal(count(4, 'sender-mismatch'), 1, 'a vote under a shifted index refused');
  assert.equal(count(REMOVED, 'bad-certificate'), 1, 'an epoch 1 certificate does not pass for epoch 2');
  // And finality goes on among the four.
  const height = target.status().finalizedHeight;
  await runUntil(scheduler, () => target.status().finalizedHeight >= height + 3, scheduler.now() + 60_000);
  assert.ok(target.status().finalizedHeight >= height + 3);
  for (const v of validators) v.engine.stop();
});
