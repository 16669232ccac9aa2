/**
 * Validator-set epochs: votes and certificates of a view are checked against the set of the epoch
 * that view belongs to, never another. Attacks: a validator removed at the boundary signs a vote
 * after it; a certificate of epoch e is presented as one of epoch e + 1 (and the reverse); a
 * schedule that would rewrite a past epoch or reach back before the current one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Vote, VoteKind } from '../codec/consensus.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { certificateFromVotes, verifyCertificate } from './certificate.ts';
import { createValidatorSchedule, verifyCertificateInEpoch, verifyVoteInEpoch } from './epochs.ts';
import { createValidatorSet } from './validators.ts';
import { signVote } from './votes.ts';

const CHAIN_ID = 7;
const signers = Array.from({ length: 6 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`epochs ${i}`))),
);
const digest = sha256(new TextEncoder().encode('a block'));

/** Epoch 1: validators 0..3 from view 1. Epoch 2 from view 100: 0, 1, 2 and 4 (3 removed, 4 added). */
function schedule() {
  const epochs = createValidatorSchedule({
    epoch: 1,
    firstView: 1,
    validators: createValidatorSet(signers.slice(0, 4).map((s) => s.publicKey)),
  });
  const next = [0, 1, 2, 4].map((i) => signers[i]!.publicKey);
  epochs.schedule({ epoch: 2, firstView: 100, validators: createValidatorSet(next) });
  return epochs;
}

function vote(signerIndex: number, asIndex: number, view: number): Vote {
  return signVote(signers[signerIndex]!, CHAIN_ID, {
    kind: VoteKind.notarize,
    view,
    digest,
    signerIndex: asIndex,
    extension: new Uint8Array(0),
  });
}

test('a vote signed by a validator removed at the boundary is refused after it, and accepted before', () => {
  const epochs = schedule();
  // Before the boundary validator 3 is index 3 of epoch 1: its vote counts.
  assert.equal(verifyVoteInEpoch(epochs, CHAIN_ID, vote(3, 3, 99)), true);
  // After it, index 3 is validator 4: validator 3's signature under index 3 fails.
  assert.equal(verifyVoteInEpoch(epochs, CHAIN_ID, vote(3, 3, 100)), false);
  // Nor can it claim any other index of epoch 2, nor one past the set.
  for (const index of [0, 1, 2, 3, 4])
    assert.equal(verifyVoteInEpoch(epochs, CHAIN_ID, vote(3, index, 150)), false);
  // The added validator votes from the boundary on, and not before it.
  assert.equal(verifyVoteInEpoch(epochs, CHAIN_ID, vote(4, 3, 100)), true);
  assert.equal(verifyVoteInEpoch(epochs, CHAIN_ID, vote(4, 3, 99)), false);
});

test('a certificate of epoch e checked against epoch e + 1 fails, and one of e + 1 against e fails', () => {
  const epochs = schedule();
  const first = epochs.at(50)!.validators;
  const second = epochs.at(100)!.validators;
  // Validators 0, 1 and 3 certify view 50 in epoch 1: a quorum there.
  const old = certificateFromVotes(VoteKind.notarize, 50, digest, [
    vote(0, 0, 50),
    vote(1, 1, 50),
    vote(3, 3, 50),
  ]);
  assert.equal(verifyCertificateInEpoch(epochs, CHAIN_ID, old), true);
  assert.equal(verifyCertificate(second, CHAIN_ID, old), false, 'epoch 1 certificate under epoch 2 set');
  // The same three sign view 120 (epoch 2): 3 is gone, so it is no certificate of epoch 2 ...
  const replayed = certificateFromVotes(VoteKind.notarize, 120, digest, [
    vote(0, 0, 120),
    vote(1, 1, 120),
    vote(3, 3, 120),
  ]);
  assert.equal(verifyCertificateInEpoch(epochs, CHAIN_ID, replayed), false);
  assert.equal(verifyCertificate(first, CHAIN_ID, replayed), true, 'it would pass under the old set');
  // ... while 0, 1 and 4 make one.
  const fresh = certificateFromVotes(VoteKind.notarize, 120, digest, [
    vote(0, 0, 120),
    vote(1, 1, 120),
    vote(4, 3, 120),
  ]);
  assert.equal(verifyCertificateInEpoch(epochs, CHAIN_ID, fresh), true);
  assert.equal(verifyCertificate(first, CHAIN_ID, fresh), false, 'epoch 2 certificate under epoch 1 set');
});

test('the schedule only grows forward: no rewriting a scheduled epoch, no boundary at or before the last', () => {
  const epochs = schedule();
  const set = createValidatorSet(signers.slice(1, 5).map((s) => s.publicKey));
  for (const [entry, code] of [
    [{ epoch: 2, firstView: 200, validators: set }, 'EPOCH_NOT_NEXT'],
    [{ epoch: 4, firstView: 200, validators: set }, 'EPOCH_NOT_NEXT'],
    [{ epoch: 3, firstView: 100, validators: set }, 'VIEW_NOT_AFTER'],
    [{ epoch: 3, firstView: 20, validators: set }, 'VIEW_NOT_AFTER'],
  ] as const) {
    assert.throws(
      () => epochs.schedule(entry),
      (error: unknown) => (error as { code?: string }).code === code,
      code,
    );
  }
  assert.equal(epochs.at(150)!.epoch, 2, 'a refused schedule changes nothing');
  assert.equal(epochs.at(0), undefined, 'view 0 is genesis, of no epoch');
  epochs.schedule({ epoch: 3, firstView: 200, validators: set });
  assert.deepEqual(
    [1, 99, 100, 199, 200, 10_000].map((view) => epochs.at(view)!.epoch),
    [1, 1, 2, 2, 3, 3],
  );
});
