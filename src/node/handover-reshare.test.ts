/**
 * Handover certificates at a validator-set change, refused unless the whole outgoing keyset
 * signed them: t − 1 colluding old members, or any other key (the new set's own DKG, a removed
 * validator's), get nothing past the TS verifier (src/interop/handover-certificate.ts) or the
 * light client (src/node/light-client.ts), and a refused handover changes neither.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createValidatorSet } from '../consensus/validators.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import {
  type FrostKeyPackage,
  frostAggregate,
  frostCommit,
  frostSignShare,
  frostVerify,
} from '../crypto/frost.ts';
import { sha256 } from '../crypto/hash.ts';
import { type KeygenRole, runLocalKeygen } from '../crypto/keygen.ts';
import { Fn } from '../crypto/vss.ts';
import {
  encodeHandoverCertificate,
  followKeysetChain,
  handoverMessage,
  type Keyset,
  verifyHandover,
} from '../interop/handover-certificate.ts';
import { createLightClient } from './light-client.ts';

const domain = { chainId: 42161, verifyingContract: new Uint8Array(20).fill(0x33) };
const people = Array.from({ length: 9 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`handover reshare ${i}`))),
);

function dkg(offset: number, n: number, t: number, epoch: number): FrostKeyPackage[] {
  const set = people.slice(offset, offset + n);
  const keys = set.map((s) => s.publicKey);
  return runLocalKeygen(
    { chainId: 7, epoch, kind: 'dkg', dealerKeys: keys, recipientKeys: keys, threshold: t },
    set.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  ).map((r) => r.key!);
}

/** FROST-signs `message` with these packages, aggregating under their first package's public part. */
function sign(keys: readonly FrostKeyPackage[], message: Uint8Array): Uint8Array {
  const round1 = keys.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    keys.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, message)]),
  );
  return frostAggregate(keys[0]!.public, commitments, message, shares);
}

function certificate(fromEpoch: number, next: Keyset, signature: Uint8Array): Uint8Array {
  return encodeHandoverCertificate({
    domain,
    fromEpoch,
    toEpoch: next.epoch,
    groupPublicKey: next.groupPublicKey,
    signature,
  });
}

// Epoch 1: people 0..4 at t = 4. The change removes 4; epoch 2 is the reshare to 0..3 at t = 3.
const old = dkg(0, 5, 4, 1);
const roles: KeygenRole[] = people.slice(0, 5).map((signer, i) => ({
  signer,
  dealer: i,
  previousKey: old[i]!,
  ...(i < 4 ? { recipient: i } : {}),
}));
const reshared = runLocalKeygen(
  {
    chainId: 7,
    epoch: 2,
    kind: 'reshare',
    dealerKeys: people.slice(0, 5).map((s) => s.publicKey),
    recipientKeys: people.slice(0, 4).map((s) => s.publicKey),
    threshold: 3,
    previous: old[0]!.public,
  },
  roles,
)
  .filter((r) => r.key !== undefined)
  .map((r) => r.key!);
const genesis: Keyset = { epoch: 1, groupPublicKey: old[0]!.groupPublicKey };
const next: Keyset = { epoch: 2, groupPublicKey: reshared[0]!.groupPublicKey };
const honestSignature = sign(old.slice(1, 5), handoverMessage(domain, 1, next));
const honest = certificate(1, next, honestSignature);

function lightClient() {
  return createLightClient({
    chainId: 7,
    validators: createValidatorSet(people.slice(0, 5).map((s) => s.publicKey)),
    keyset: genesis,
    keysetDomain: domain,
  });
}

test('the honest handover (t old members sign the reshared keyset) is followed by both verifiers', () => {
  assert.equal(toHex(next.groupPublicKey), toHex(genesis.groupPublicKey), 'a reshare keeps the key');
  assert.ok(verifyHandover(honest, genesis, domain).ok);
  assert.equal(lightClient().followHandovers([honest]).epoch, 2);
});

test('t − 1 colluding old members (the removed one among them) cannot produce a handover that verifies', () => {
  const rogue = dkg(5, 4, 3, 9);
  const target: Keyset = { epoch: 2, groupPublicKey: rogue[0]!.groupPublicKey };
  const digest = handoverMessage(domain, 1, target);
  // FROST itself refuses fewer than t shares for the old keyset.
  assert.throws(() => sign(old.slice(2, 5), digest));
  // Pretending the keyset's threshold is t − 1: each share verifies on its own terms, but the sum
  // is no signature of the group key (noble's aggregate checks it and refuses).
  const lowered = old.slice(2, 5).map((key) => ({
    ...key,
    threshold: 3,
    public: { ...key.public, signers: { min: 3, max: key.public.signers.max } },
  }));
  assert.throws(() => sign(lowered, digest));
  // What they can put in a certificate is their shares' sum beside some R: refused.
  const round1 = lowered.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  let z = 0n;
  lowered.forEach((key, i) => {
    z = Fn.add(z, Fn.fromBytes(frostSignShare(key, round1[i]!.nonces, commitments, digest)));
  });
  const signature = new Uint8Array([...honestSignature.subarray(0, 33), ...Fn.toBytes(z)]);
  assert.equal(frostVerify(signature, digest, genesis.groupPublicKey), false);
  const forged = certificate(1, target, signature);
  const verdict = verifyHandover(forged, genesis, domain);
  assert.ok(!verdict.ok && verdict.reason === 'BAD_SIGNATURE');
  const chain = followKeysetChain(genesis, [forged], domain);
  assert.ok(!chain.ok && chain.index === 0 && chain.keyset.epoch === 1);
  const light = lightClient();
  assert.throws(() => light.followHandovers([forged]), { code: 'HANDOVER_REFUSED' });
  assert.equal(light.keyset.epoch, 1, 'a refused handover changes nothing');
  assert.equal(light.followHandovers([honest]).epoch, 2, 'the honest one still follows');
});

test('a handover signed by a different key (the new set alone, or a rogue DKG) is refused by both verifiers', () => {
  const rogue = dkg(5, 4, 3, 9);
  const rogueKeyset: Keyset = { epoch: 2, groupPublicKey: rogue[0]!.groupPublicKey };
  const signedByNewSet = certificate(1, next, sign(reshared.slice(0, 3), handoverMessage(domain, 1, next)));
  // The new set's shares do reconstruct the same group key (a reshare keeps it): that handover is
  // a real one. What it cannot do is name another key without the old keyset's say-so:
  assert.ok(verifyHandover(signedByNewSet, genesis, domain).ok);
  const rogueSigned = certificate(
    1,
    rogueKeyset,
    sign(rogue.slice(0, 3), handoverMessage(domain, 1, rogueKeyset)),
  );
  const verdict = verifyHandover(rogueSigned, genesis, domain);
  assert.ok(!verdict.ok && verdict.reason === 'BAD_SIGNATURE');
  const light = lightClient();
  assert.throws(() => light.followHandovers([rogueSigned]), { code: 'HANDOVER_REFUSED' });
  assert.equal(light.keyset.epoch, 1);
  // Nor can the old keyset's handover be bent to name the rogue key after signing.
  const bent = certificate(1, rogueKeyset, sign(old.slice(0, 4), handoverMessage(domain, 1, next)));
  assert.ok(!verifyHandover(bent, genesis, domain).ok);
  assert.throws(() => light.followHandovers([bent]), { code: 'HANDOVER_REFUSED' });
});
