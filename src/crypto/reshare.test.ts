/**
 * Resharing at a validator-set change (src/crypto/keygen.ts kind `reshare`; Desmedt–Jajodia 1997,
 * Wong–Wang–Wing 2002 §4, with GJKR's complaint round): attacks first. The old set deals to the
 * new set; old dealers that send bad reshares or stay silent are named and left out, the reshare
 * completes with the qualified ones, the group key stays, and a removed validator's old share
 * fits nothing of the new keyset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from './bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from './ed25519.ts';
import {
  type FrostKeyPackage,
  frostAggregate,
  frostCommit,
  frostSignShare,
  frostVerify,
  frostVerifyShare,
} from './frost.ts';
import { sha256 } from './hash.ts';
import {
  createKeygenMachine,
  type KeygenOutput,
  type KeygenResult,
  type KeygenRole,
  type KeygenSession,
  keygenSessionDigest,
  runLocalKeygen,
  sealKeygenMessage,
} from './keygen.ts';
import { KeygenShareCodec } from './keygen-codec.ts';
import { Fn, identifierOf, lagrangeCoefficient, Point } from './vss.ts';

const people = Array.from({ length: 12 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`reshare ${i}`))),
);
const message = sha256(new TextEncoder().encode('a price report after the change'));

function dkg(set: readonly Ed25519Signer[], t: number): FrostKeyPackage[] {
  const keys = set.map((s) => s.publicKey);
  return runLocalKeygen(
    { chainId: 7, epoch: 1, kind: 'dkg', dealerKeys: keys, recipientKeys: keys, threshold: t },
    set.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  ).map((r) => r.key!);
}

type DealerFault = 'bad-shares' | 'silent';

/**
 * Reshares `old` (held by `oldSet`) to `newSet` at threshold `t`, with the given old dealers
 * faulty. Every validator is one machine, dealing if in the old set and receiving if in the new.
 * Returns the honest machines' results by identity, or the typed error they raise.
 */
function reshare(
  old: readonly FrostKeyPackage[],
  oldSet: readonly Ed25519Signer[],
  newSet: readonly Ed25519Signer[],
  t: number,
  faults: ReadonlyMap<number, DealerFault> = new Map(),
) {
  const session: KeygenSession = {
    chainId: 7,
    epoch: 2,
    kind: 'reshare',
    dealerKeys: oldSet.map((s) => s.publicKey),
    recipientKeys: newSet.map((s) => s.publicKey),
    threshold: t,
    previous: old[0]!.public,
  };
  const digest = keygenSessionDigest(session);
  const everyone = [...new Set([...oldSet, ...newSet])];
  const roles: KeygenRole[] = everyone.map((signer) => {
    const dealer = oldSet.indexOf(signer);
    const recipient = newSet.indexOf(signer);
    return {
      signer,
      ...(dealer >= 0 ? { dealer, previousKey: old[dealer]! } : {}),
      ...(recipient >= 0 ? { recipient } : {}),
    };
  });
  const faultOf = (i: number) => (roles[i]!.dealer === undefined ? undefined : faults.get(roles[i]!.dealer!));
  const machines = roles.map((role) => createKeygenMachine(session, role));
  const queue: { from: number; output: KeygenOutput }[] = [];
  const emit = (from: number, outputs: readonly KeygenOutput[]) => {
    const fault = faultOf(from);
    if (fault === 'silent') return;
    for (const output of outputs) {
      if (fault === 'bad-shares' && output.to === 'recipient') {
        // A signed share off the dealer's own commitment: what a Byzantine old member sends.
        const forged = KeygenShareCodec.encode({
          session: digest,
          dealer: roles[from]!.dealer!,
          recipient: output.recipient,
          share: sha256(output.bytes),
        });
        queue.push({ from, output: { ...output, bytes: sealKeygenMessage(roles[from]!.signer, 7, forged) } });
      } else queue.push({ from, output });
    }
  };
  machines.forEach((machine, i) => {
    emit(i, machine.start());
  });
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 200_000, 'the reshare settles');
      const { from, output } = queue.shift()!;
      machines.forEach((machine, i) => {
        if (i === from || faultOf(i) !== undefined) return;
        if (output.to === 'recipient' && roles[i]!.recipient !== output.recipient) return;
        emit(i, machine.receive(output.bytes));
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((machine, i) => {
      if (faultOf(i) === undefined) emit(i, machine.advance(deadline));
    });
    deliver();
  }
  const honest = machines.filter((_, i) => faultOf(i) === undefined);
  return {
    results: () => honest.map((machine) => machine.result()!) as KeygenResult[],
    machines: honest,
  };
}

function newKeys(results: readonly KeygenResult[]): FrostKeyPackage[] {
  return results
    .filter((r) => r.key !== undefined)
    .map((r) => r.key!)
    .sort((a, b) => a.index - b.index);
}

function signs(keys: readonly FrostKeyPackage[], publicPackage = keys[0]!.public): boolean {
  const round1 = keys.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map<number, Uint8Array>();
  keys.forEach((key, i) => {
    shares.set(key.index, frostSignShare(key, round1[i]!.nonces, commitments, message));
  });
  try {
    return frostVerify(
      frostAggregate(publicPackage, commitments, message, shares),
      message,
      publicPackage.commitments[0]!,
    );
  } catch {
    return false;
  }
}

/** The secret at 0 interpolated from these shares, as its public image. */
function interpolated(keys: readonly FrostKeyPackage[]): string {
  const xs = keys.map((k) => identifierOf(k.index));
  let secret = 0n;
  keys.forEach((key, i) => {
    secret = Fn.add(secret, Fn.mul(lagrangeCoefficient(xs, xs[i]!), Fn.fromBytes(key.secret.signingShare)));
  });
  return toHex(Point.BASE.multiply(secret).toBytes(true));
}

// Old set: people 0..6 (n = 7, t = 5, f = 2). New set: 1..6 stay, 7 joins; 0 is removed.
const oldSet = people.slice(0, 7);
const newSet = people.slice(1, 8);
const old = dkg(oldSet, 5);
const groupKey = toHex(old[0]!.groupPublicKey);

test('one old dealer sends bad reshares: accused with its own signed share, excluded, the reshare completes', () => {
  const { results } = reshare(old, oldSet, newSet, 5, new Map([[3, 'bad-shares']]));
  const all = results();
  for (const result of all) {
    assert.deepEqual(
      result.disqualified.map((d) => [d.dealer, d.reason]),
      [[3, 'BAD_SHARE']],
    );
    assert.ok(result.disqualified[0]!.evidence.length >= 1, 'the signed bad share is the evidence');
    assert.equal(result.qualified.length, 6);
    assert.equal(toHex(result.groupPublicKey), groupKey);
  }
  assert.equal(new Set(all.map((r) => toHex(r.transcriptDigest))).size, 1, 'every honest party agrees');
  const fresh = newKeys(all);
  // Recipient 2 is old dealer 3 (person 3): faulty, so it has no machine here; six new shares remain.
  assert.equal(fresh.length, 6);
  assert.equal(signs(fresh.slice(0, 5)), true, 'five of the new set sign under the same group key');
});

test('f = 2 old dealers send bad reshares: both named BAD_SHARE, the reshare completes with 5 ≥ t', () => {
  const faults = new Map<number, DealerFault>([
    [0, 'bad-shares'],
    [4, 'bad-shares'],
  ]);
  const all = reshare(old, oldSet, newSet, 5, faults).results();
  for (const result of all) {
    assert.deepEqual(
      result.disqualified.map((d) => [d.dealer, d.reason]),
      [
        [0, 'BAD_SHARE'],
        [4, 'BAD_SHARE'],
      ],
    );
    assert.deepEqual(result.qualified, [1, 2, 3, 5, 6]);
  }
  assert.equal(signs(newKeys(all).slice(0, 5)), true);
});

test('f = 2 old validators silent during the reshare: named SILENT, the reshare completes among the rest', () => {
  const faults = new Map<number, DealerFault>([
    [2, 'silent'],
    [5, 'silent'],
  ]);
  const all = reshare(old, oldSet, newSet, 5, faults).results();
  for (const result of all) {
    assert.deepEqual(
      result.disqualified.map((d) => [d.dealer, d.reason]),
      [
        [2, 'SILENT'],
        [5, 'SILENT'],
      ],
    );
    assert.equal(toHex(result.groupPublicKey), groupKey);
  }
  const fresh = newKeys(all);
  assert.equal(fresh.length, 5, 'the two silent ones are new members too: they got nothing');
  assert.equal(signs(fresh), true);
});

test('f + 1 = 3 faulty old dealers: fewer than 2f + 1 qualify, a typed error names them and no key forms', () => {
  const faults = new Map<number, DealerFault>([
    [1, 'silent'],
    [2, 'bad-shares'],
    [6, 'silent'],
  ]);
  const { machines } = reshare(old, oldSet, newSet, 5, faults);
  for (const machine of machines)
    assert.throws(() => machine.result(), { name: 'KeygenError', code: 'NOT_ENOUGH_QUALIFIED' });
});

test('a removed validator keeps its old share: it fits no new share, signs nothing, and cannot deal into the new set', () => {
  const fresh = newKeys(reshare(old, oldSet, newSet, 5).results());
  assert.equal(fresh.length, 7);
  const removed = old[0]!;
  // Its old share in any new seat fails RFC 9591 §5.4 share verification against the new keyset.
  for (const seat of [0, 3, 6]) {
    const impostor: FrostKeyPackage = {
      ...fresh[seat]!,
      secret: { ...fresh[seat]!.secret, signingShare: removed.secret.signingShare },
    };
    const keys = [impostor, ...fresh.filter((k) => k.index !== seat).slice(0, 4)];
    const round1 = keys.map((key) => frostCommit(key));
    const commitments = round1.map((r) => r.commitment);
    const share = frostSignShare(impostor, round1[0]!.nonces, commitments, message);
    assert.equal(frostVerifyShare(fresh[0]!.public, commitments, message, seat, share), false);
    assert.equal(signs(keys, fresh[0]!.public), false);
  }
  // With t − 1 new shares, interpolation at 0 (the old identifier 1 among new ones) is not the secret.
  const mixed = [{ ...removed, index: 0 }, ...fresh.slice(1, 5)];
  assert.notEqual(interpolated(mixed), groupKey);
  assert.equal(interpolated(fresh.slice(0, 5)), groupKey, 'while t new shares interpolate to it');
  // The old keyset with t − 1 other old shares is what proactive security assumes erased; the old
  // keyset's own shares still interpolate (so old key files must go: see price-membership.ts).
  assert.equal(interpolated(old.slice(0, 5)), groupKey);
  // In the next session of the new set (its refresh) the removed validator is no one.
  const newKeysList = newSet.map((s) => s.publicKey);
  const refresh: KeygenSession = {
    chainId: 7,
    epoch: 3,
    kind: 'refresh',
    dealerKeys: newKeysList,
    recipientKeys: newKeysList,
    threshold: 5,
    previous: fresh[0]!.public,
  };
  const machine = createKeygenMachine(refresh, {
    dealer: 0,
    recipient: 0,
    signer: newSet[0]!,
    previousKey: fresh[0]!,
  });
  machine.start();
  // It signs a share as if it were dealer 0 of the new set: the signature is not dealer 0's.
  const forged = sealKeygenMessage(
    people[0]!,
    7,
    KeygenShareCodec.encode({
      session: keygenSessionDigest(refresh),
      dealer: 0,
      recipient: 0,
      share: removed.secret.signingShare,
    }),
  );
  assert.throws(() => machine.receive(forged), { name: 'KeygenError', code: 'BAD_AUTHENTICATION' });
});
