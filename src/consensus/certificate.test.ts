import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CertificateCodec,
  EvidenceCodec,
  MAX_SYNC_BLOCKS,
  SyncRequestCodec,
  VoteCodec,
  VoteKind,
} from '../codec/consensus.ts';
import { CodecError } from '../codec/errors.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { certificateFromVotes, verifyCertificate } from './certificate.ts';
import { verifyEvidence } from './evidence.ts';
import { createValidatorSet, leaderOf } from './validators.ts';
import { signVote, verifyVote, ZERO_DIGEST } from './votes.ts';

const chainId = 9;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(i + 1)));
const set = createValidatorSet(signers.map((s) => s.publicKey));
const digest = new Uint8Array(32).fill(7);

function votes(kind: 0 | 1 | 2, who: number[], view = 5, d = digest) {
  return who.map((i) =>
    signVote(signers[i]!, chainId, { kind, view, digest: d, signerIndex: i, extension: Uint8Array.of(i) }),
  );
}

test('a validator set of 3f+1 has quorum 2f+1 and rotates leaders', () => {
  assert.equal(set.maxFaulty, 1);
  assert.equal(set.quorum, 3);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((v) => leaderOf(set, v)),
    [1, 2, 3, 0, 1],
  );
  assert.equal(createValidatorSet(Array.from({ length: 5 }, () => signers[0]!.publicKey)).quorum, 4);
});

test('a certificate of a quorum verifies standalone, after an encode/decode round trip', () => {
  const certificate = certificateFromVotes(VoteKind.finalize, 5, digest, votes(2, [3, 0, 2]));
  assert.deepEqual(
    certificate.votes.map((entry) => entry.signer),
    [0, 2, 3],
  );
  const decoded = CertificateCodec.decode(CertificateCodec.encode(certificate));
  assert.equal(verifyCertificate(set, chainId, decoded), true);
});

test('certificates short of a quorum, on another chain, for another digest or tampered are invalid', () => {
  const good = certificateFromVotes(VoteKind.notarize, 5, digest, votes(0, [0, 1, 2]));
  assert.equal(
    verifyCertificate(set, chainId, certificateFromVotes(VoteKind.notarize, 5, digest, votes(0, [0, 1]))),
    false,
  );
  assert.equal(verifyCertificate(set, chainId + 1, good), false);
  assert.equal(verifyCertificate(set, chainId, { ...good, digest: new Uint8Array(32) }), false);
  assert.equal(verifyCertificate(set, chainId, { ...good, kind: VoteKind.finalize }), false);
  assert.equal(verifyCertificate(set, chainId, { ...good, view: 6 }), false);
  const tampered = structuredClone(good);
  tampered.votes[1]!.signature[0]! ^= 1;
  assert.equal(verifyCertificate(set, chainId, tampered), false);
  const duplicated = { ...good, votes: [good.votes[0]!, good.votes[0]!, good.votes[1]!] };
  assert.equal(verifyCertificate(set, chainId, duplicated), false);
  const outOfRange = { ...good, votes: [...good.votes.slice(0, 2), { ...good.votes[2]!, signer: 9 }] };
  assert.equal(verifyCertificate(set, chainId, outOfRange), false);
  // Never throws, whatever it is given.
  assert.equal(
    verifyCertificate(set, chainId, { kind: 7, view: -1, digest: new Uint8Array(1), votes: [] } as never),
    false,
  );
  assert.equal(verifyCertificate(set, chainId, null as never), false);
});

test('a vote signature binds its kind, view, digest and extension', () => {
  const [vote] = votes(0, [1]);
  assert.equal(verifyVote(signers[1]!.publicKey, chainId, vote!), true);
  assert.equal(verifyVote(signers[1]!.publicKey, chainId, { ...vote!, kind: VoteKind.finalize }), false);
  assert.equal(verifyVote(signers[1]!.publicKey, chainId, { ...vote!, extension: Uint8Array.of(9) }), false);
  assert.equal(verifyVote(signers[2]!.publicKey, chainId, vote!), false);
});

test('equivocation evidence verifies standalone and names the signer; non-conflicting pairs prove nothing', () => {
  const [a] = votes(0, [2], 5, digest);
  const [b] = votes(0, [2], 5, new Uint8Array(32).fill(8));
  const evidence = EvidenceCodec.decode(EvidenceCodec.encode({ first: a!, second: b! }));
  assert.equal(verifyEvidence(set, chainId, evidence), 2);
  const [nullify] = votes(1, [2], 5, ZERO_DIGEST);
  const [finalize] = votes(2, [2], 5, digest);
  assert.equal(verifyEvidence(set, chainId, { first: nullify!, second: finalize! }), 2);
  assert.equal(verifyEvidence(set, chainId, { first: a!, second: a! }), undefined);
  const [otherView] = votes(0, [2], 6, new Uint8Array(32).fill(8));
  assert.equal(verifyEvidence(set, chainId, { first: a!, second: otherView! }), undefined);
  const forged = { ...b!, signature: new Uint8Array(64) };
  assert.equal(verifyEvidence(set, chainId, { first: a!, second: forged }), undefined);
});

test('consensus decoders refuse bad input with a typed error naming the field', () => {
  const [vote] = votes(1, [0], 5, ZERO_DIGEST);
  const encoded = VoteCodec.encode(vote!);
  assert.throws(() => VoteCodec.decode(encoded.slice(0, 20)), CodecError);
  const nonZero = VoteCodec.encode({ ...vote!, digest: digest });
  assert.throws(
    () => VoteCodec.decode(nonZero),
    (error: CodecError) => error.field === 'Vote.digest',
  );
  assert.throws(
    () => VoteCodec.decode(VoteCodec.encode({ ...vote!, kind: 3 })),
    (error: CodecError) => error.field === 'Vote.kind',
  );
  assert.throws(
    () => SyncRequestCodec.decode(SyncRequestCodec.encode({ digest, count: MAX_SYNC_BLOCKS + 1 })),
    (error: CodecError) => error.field === 'SyncRequest.count',
  );
  const oversized = new Uint8Array(VoteCodec.maxBytes + 1);
  oversized.set(encoded.subarray(0, 3));
  assert.throws(
    () => VoteCodec.decode(oversized),
    (error: CodecError) => error.code === 'MESSAGE_TOO_LARGE',
  );
  const unsorted = certificateFromVotes(VoteKind.notarize, 5, digest, votes(0, [0, 1, 2]));
  unsorted.votes.reverse();
  assert.throws(() => CertificateCodec.decode(CertificateCodec.encode(unsorted)), CodecError);
});
