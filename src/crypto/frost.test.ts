import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { DkgRound1Body, DkgRound2Body } from '../codec/oracle.ts';
import { createDkgParticipant, DkgError, openDkgPackage, runLocalDkg, sealDkgPackage } from './dkg.ts';
import { createEd25519Signer } from './ed25519.ts';
import {
  type FrostCommitment,
  FrostError,
  type FrostKeyPackage,
  frostAggregate,
  frostAggregateOptimistic,
  frostCommit,
  frostSignShare,
  frostVerify,
} from './frost.ts';
import { sha256 } from './hash.ts';

const session = { chainId: 7, epoch: 1, participants: 4, threshold: 3 };
const keys = runLocalDkg(session);
const message = sha256(new TextEncoder().encode('price report'));

function signWith(
  signers: FrostKeyPackage[],
  msg: Uint8Array,
  tamper?: (index: number, share: Uint8Array) => Uint8Array,
) {
  const round1 = signers.map((key) => frostCommit(key));
  const commitments: FrostCommitment[] = round1.map((r) => r.commitment);
  const shares = new Map<number, Uint8Array>();
  signers.forEach((key, i) => {
    const share = frostSignShare(key, round1[i]!.nonces, commitments, msg);
    shares.set(key.index, tamper ? tamper(key.index, share) : share);
  });
  return { commitments, shares };
}

test('a DKG gives every validator the same group key and shares that sign at the threshold', () => {
  const groupKeys = new Set(keys.map((key) => Buffer.from(key.groupPublicKey).toString('hex')));
  assert.equal(groupKeys.size, 1);
  for (const subset of [
    [0, 1, 2],
    [1, 2, 3],
    [0, 2, 3],
  ]) {
    const signers = subset.map((i) => keys[i]!);
    const { commitments, shares } = signWith(signers, message);
    const signature = frostAggregate(keys[0]!.public, commitments, message, shares);
    assert.equal(signature.length, 65);
    assert.ok(frostVerify(signature, message, keys[0]!.groupPublicKey));
    const other = new Uint8Array(message);
    other[0]! ^= 1;
    assert.equal(frostVerify(signature, other, keys[0]!.groupPublicKey), false);
  }
});

test('fewer than the threshold cannot sign, and one share is not the group secret', () => {
  const round1 = keys.slice(0, 2).map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  assert.throws(
    () => frostSignShare(keys[0]!, round1[0]!.nonces, commitments, message),
    (error: unknown) => error instanceof FrostError && error.code === 'NOT_ENOUGH_SIGNERS',
  );
  const single = secp256k1.getPublicKey(keys[0]!.secret.signingShare, true);
  assert.notDeepEqual(single, keys[0]!.groupPublicKey);
});

test('a bad signature share names its signer', () => {
  const { commitments, shares } = signWith([keys[0]!, keys[1]!, keys[3]!], message, (index, share) => {
    if (index !== 3) return share;
    const bad = new Uint8Array(share);
    bad[31]! ^= 1;
    return bad;
  });
  assert.throws(
    () => frostAggregate(keys[0]!.public, commitments, message, shares),
    (error: unknown) =>
      error instanceof FrostError && error.code === 'BAD_SIGNATURE_SHARE' && error.signers.join() === '3',
  );
  // Garbage of the wrong length is also named, not thrown from deep inside the library.
  shares.set(3, new Uint8Array(5));
  shares.set(1, new Uint8Array(32));
  assert.throws(
    () => frostAggregate(keys[0]!.public, commitments, message, shares),
    (error: unknown) => error instanceof FrostError && error.signers.join() === '1,3',
  );
  shares.delete(1);
  assert.throws(
    () => frostAggregate(keys[0]!.public, commitments, message, shares),
    (error: unknown) => error instanceof FrostError && error.code === 'MISSING_SIGNATURE_SHARE',
  );
});

test('aggregating shares unchecked gives a signature that verifies; a bad, malformed or missing share is still named', () => {
  const { commitments, shares } = signWith([keys[0]!, keys[1]!, keys[3]!], message);
  const signature = frostAggregateOptimistic(keys[0]!.public, commitments, message, shares);
  assert.ok(frostVerify(signature, message, keys[0]!.groupPublicKey));
  assert.equal(
    frostVerify(signature, sha256(new TextEncoder().encode('another report')), keys[0]!.groupPublicKey),
    false,
  );
  // A bad share among them: nothing is signed, and its signer is named.
  const bad = new Map(shares);
  bad.set(
    1,
    Uint8Array.from(shares.get(1)!, (byte, i) => (i === 31 ? byte ^ 1 : byte)),
  );
  assert.throws(
    () => frostAggregateOptimistic(keys[0]!.public, commitments, message, bad),
    (error: unknown) =>
      error instanceof FrostError && error.code === 'BAD_SIGNATURE_SHARE' && error.signers.join() === '1',
  );
  bad.set(1, new Uint8Array(5));
  assert.throws(
    () => frostAggregateOptimistic(keys[0]!.public, commitments, message, bad),
    (error: unknown) => error instanceof FrostError && error.signers.join() === '1',
  );
  bad.delete(1);
  assert.throws(
    () => frostAggregateOptimistic(keys[0]!.public, commitments, message, bad),
    (error: unknown) => error instanceof FrostError && error.code === 'MISSING_SIGNATURE_SHARE',
  );
});

test('frostVerify returns false, never throws, on malformed input', () => {
  const { commitments, shares } = signWith(keys.slice(0, 3), message);
  const signature = frostAggregate(keys[0]!.public, commitments, message, shares);
  const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
    [new Uint8Array(65), message, keys[0]!.groupPublicKey],
    [signature.subarray(0, 64), message, keys[0]!.groupPublicKey],
    [signature, message, new Uint8Array(33)],
    [signature, message, keys[0]!.groupPublicKey.subarray(1)],
    [null as unknown as Uint8Array, message, keys[0]!.groupPublicKey],
  ];
  for (const [sig, msg, key] of cases) assert.equal(frostVerify(sig, msg, key), false);
});

test('DKG packages are authenticated: a forged or tampered package is refused', () => {
  const identities = Array.from({ length: 4 }, (_, i) => createEd25519Signer(sha256(new Uint8Array([i]))));
  const keysOf = identities.map((s) => s.publicKey);
  const participant = createDkgParticipant(session, 1);
  const sealed = sealDkgPackage(identities[1]!, participant.round1());
  const opened = openDkgPackage(sealed, 7, keysOf);
  assert.equal(opened.kind, 'round1');
  assert.equal(opened.body.sender, 1);
  // Validator 2 signing a package that claims to be from validator 1.
  const forged = sealDkgPackage(identities[2]!, participant.round1());
  assert.throws(
    () => openDkgPackage(forged, 7, keysOf),
    (e: unknown) => e instanceof DkgError && e.code === 'BAD_AUTHENTICATION',
  );
  const tampered = new Uint8Array(sealed);
  tampered[40]! ^= 1;
  assert.throws(() => openDkgPackage(tampered, 7, keysOf), DkgError);
  assert.throws(() => openDkgPackage(sealed, 8, keysOf), DkgError);
  assert.throws(
    () => openDkgPackage(new Uint8Array([1, 4, 20]), 7, keysOf),
    (e: unknown) => e instanceof DkgError && e.code === 'MALFORMED_PACKAGE',
  );
});

test('a DKG names the validator whose proof of knowledge or share is bad', () => {
  const parties = Array.from({ length: 4 }, (_, i) => createDkgParticipant(session, i));
  const round1 = parties.map((p) => p.round1());
  const forgedProof: DkgRound1Body = { ...round1[2]!, proofOfKnowledge: round1[3]!.proofOfKnowledge };
  parties[0]!.receiveRound1(round1[1]!);
  parties[0]!.receiveRound1(forgedProof);
  parties[0]!.receiveRound1(round1[3]!);
  assert.throws(
    () => parties[0]!.round2(),
    (e: unknown) => e instanceof DkgError && e.code === 'BAD_PROOF_OF_KNOWLEDGE' && e.culprits.join() === '2',
  );

  for (const p of parties.slice(1))
    for (const body of round1) if (body.sender !== p.index) p.receiveRound1(body);
  const shares = parties
    .slice(1)
    .flatMap((p) => p.round2())
    .filter((s) => s.recipient === 1);
  const fresh = createDkgParticipant(session, 1);
  // `fresh` has a different polynomial than parties[1] but the same index: its round one goes to nobody.
  for (const body of round1) if (body.sender !== 1) fresh.receiveRound1(body);
  fresh.round2();
  const fromTwo = shares.find((s) => s.sender === 2)!;
  const corrupted: DkgRound2Body = {
    ...fromTwo,
    signingShare: shares.find((s) => s.sender === 3)!.signingShare,
  };
  assert.throws(
    () => fresh.receiveRound2(corrupted),
    (e: unknown) => e instanceof DkgError && e.code === 'BAD_SHARE' && e.culprits.join() === '2',
  );
  assert.throws(
    () => fresh.receiveRound1(round1[0]!),
    (e: unknown) => e instanceof DkgError && e.code === 'OUT_OF_ORDER',
  );
  assert.throws(
    () => fresh.receiveRound2({ ...fromTwo, epoch: 9 }),
    (e: unknown) => e instanceof DkgError && e.code === 'WRONG_SESSION',
  );
});
