/**
 * A verifier that cannot judge a proposal yet must not charge its proposer (the node's verifier
 * refuses to judge a block whose committed state root lies beyond its own execution). Before the
 * three-way verdict, such a verifier answered `false`, the engine counted 'invalid-proposal'
 * against the honest leader, and the transport score that charges could get it banned by a
 * lagging validator. The test plays validator 1 (the leader of view 1) against validator 0's engine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Block, ProposalCodec, type Vote, VoteCodec, VoteKind } from '../codec/consensus.ts';
import { peekTag } from '../codec/message.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import type { Network, PeerId } from '../runtime/types.ts';
import { type Application, createEngine, type Verdict } from './engine.ts';
import { createValidatorSet } from './validators.ts';
import { blockDigest, genesisDigest, signVote } from './votes.ts';

const chainId = 7;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x61 + i)));
const validators = createValidatorSet(signers.map((signer) => signer.publicKey));
const timeouts = { leaderMs: 50, notarizationMs: 80, nullifyRetryMs: 1000, syncRetryMs: 50 };

class CapturingNetwork implements Network {
  sent: Uint8Array[] = [];
  handler: ((from: PeerId, message: Uint8Array) => void) | undefined;
  send(_to: PeerId, message: Uint8Array): void {
    this.sent.push(message);
  }
  broadcast(message: Uint8Array): void {
    this.sent.push(message);
  }
  onMessage(handler: (from: PeerId, message: Uint8Array) => void): void {
    this.handler = handler;
  }
  votes(): Vote[] {
    return this.sent.filter((m) => peekTag(m) === VoteCodec.tag).map((m) => VoteCodec.decode(m));
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runUntil(scheduler: Scheduler, timeMs: number): Promise<void> {
  await settle();
  while (scheduler.step(timeMs)) await settle();
  scheduler.advanceTo(timeMs);
}

/** Validator 0's engine whose application answers `verdict` for every proposal, after a delay. */
async function judgeViewOne(verdict: Verdict) {
  const scheduler = new Scheduler();
  const network = new CapturingNetwork();
  const clock = scheduler.clockFor();
  const application: Application = {
    propose: () => new Uint8Array(4),
    // Like the node's verifier waiting (bounded) for its execution before it answers.
    verify: () => new Promise<Verdict>((resolve) => clock.setTimer(10, () => resolve(verdict))),
    finalized: () => {},
    processedHeight: () => 0,
  };
  const engine = createEngine({
    chainId,
    validators,
    self: 0,
    signer: signers[0]!,
    clock,
    network,
    storage: new SimStorage(),
    application,
    timeouts,
  });
  await engine.start();
  const block: Block = {
    view: 1,
    height: 1,
    parentView: 0,
    parent: genesisDigest(chainId),
    proposer: 1,
    payload: new Uint8Array(4),
  };
  const vote = signVote(signers[1]!, chainId, {
    kind: VoteKind.notarize,
    view: 1,
    digest: blockDigest(block),
    signerIndex: 1,
  });
  network.handler!(1, ProposalCodec.encode({ block, vote }));
  await runUntil(scheduler, 300);
  const votes = network.votes().filter((v) => v.view === 1);
  const drops = engine.dropCounters()[1] ?? {};
  engine.stop();
  return {
    notarized: votes.some((v) => v.kind === VoteKind.notarize),
    nullified: votes.some((v) => v.kind === VoteKind.nullify),
    charged: drops['invalid-proposal'] ?? 0,
  };
}

test('a verifier that cannot judge a proposal yet neither votes for it nor charges its proposer', async () => {
  const outcome = await judgeViewOne('unknown');
  assert.equal(outcome.charged, 0, 'the honest leader was charged invalid-proposal by a lagging verifier');
  assert.equal(outcome.notarized, false, 'notarized a proposal it could not judge');
  // Withholding its vote is all a lagging verifier does: the view times out as for a silent leader.
  assert.equal(outcome.nullified, true);
});

test('an invalid proposal is still charged and a valid one notarized', async () => {
  const invalid = await judgeViewOne(false);
  assert.equal(invalid.charged, 1);
  assert.equal(invalid.notarized, false);
  const valid = await judgeViewOne(true);
  assert.equal(valid.charged, 0);
  assert.equal(valid.notarized, true);
});
