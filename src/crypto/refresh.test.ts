/**
 * Proactive refresh and resharing (src/crypto/keygen.ts kinds `refresh` and `reshare`): the group
 * key stays, the shares change, and shares of two epochs never combine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from './bytes.ts';
import { createEd25519Signer } from './ed25519.ts';
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
  type KeygenRole,
  type KeygenSession,
  keygenSessionDigest,
  runLocalKeygen,
  sealKeygenMessage,
} from './keygen.ts';
import { KeygenDealCodec, KeygenShareCodec } from './keygen-codec.ts';
import {
  commitPolynomial,
  evaluatePolynomial,
  Fn,
  identifierOf,
  lagrangeCoefficient,
  Point,
  pointBytes,
  randomPolynomial,
  scalarBytes,
} from './vss.ts';

const signers = Array.from({ length: 12 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`refresh ${i}`))),
);
const message = sha256(new TextEncoder().encode('a price report'));

function dkg(n: number, t: number, offset = 0): FrostKeyPackage[] {
  const set = signers.slice(offset, offset + n);
  const keys = set.map((s) => s.publicKey);
  const session: KeygenSession = {
    chainId: 7,
    epoch: 1,
    kind: 'dkg',
    dealerKeys: keys,
    recipientKeys: keys,
    threshold: t,
  };
  return runLocalKeygen(
    session,
    set.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  ).map((r) => r.key!);
}

function refreshSession(old: FrostKeyPackage[], epoch: number): KeygenSession {
  const keys = signers.slice(0, old.length).map((s) => s.publicKey);
  return {
    chainId: 7,
    epoch,
    kind: 'refresh',
    dealerKeys: keys,
    recipientKeys: keys,
    threshold: old[0]!.threshold,
    previous: old[0]!.public,
  };
}

function refresh(old: FrostKeyPackage[], epoch: number): FrostKeyPackage[] {
  const roles: KeygenRole[] = old.map((key, i) => ({
    dealer: i,
    recipient: i,
    signer: signers[i]!,
    previousKey: key,
  }));
  return runLocalKeygen(refreshSession(old, epoch), roles).map((r) => r.key!);
}

/** Signs with these key packages (each its own), aggregating under `publicPackage`. */
function signWith(keys: readonly FrostKeyPackage[], publicPackage = keys[0]!.public) {
  const round1 = keys.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map<number, Uint8Array>();
  keys.forEach((key, i) => {
    shares.set(key.index, frostSignShare(key, round1[i]!.nonces, commitments, message));
  });
  const verified = keys.map((key) =>
    frostVerifyShare(publicPackage, commitments, message, key.index, shares.get(key.index)!),
  );
  let valid = false;
  try {
    valid = frostVerify(
      frostAggregate(publicPackage, commitments, message, shares),
      message,
      keys[0]!.groupPublicKey,
    );
  } catch {
    valid = false;
  }
  return { valid, verified };
}

/** The secret interpolated at 0 from these shares (what an adversary holding them can compute). */
function interpolate(keys: readonly FrostKeyPackage[]): Point {
  const xs = keys.map((k) => identifierOf(k.index));
  let secret = 0n;
  keys.forEach((key, i) => {
    secret = Fn.add(secret, Fn.mul(lagrangeCoefficient(xs, xs[i]!), Fn.fromBytes(key.secret.signingShare)));
  });
  return Point.BASE.multiply(secret);
}

test('a refresh keeps the group key, changes every share, and the new shares sign', () => {
  const old = dkg(4, 3);
  const fresh = refresh(old, 2);
  for (let i = 0; i < 4; i++) {
    assert.equal(toHex(fresh[i]!.groupPublicKey), toHex(old[i]!.groupPublicKey));
    assert.notEqual(toHex(fresh[i]!.secret.signingShare), toHex(old[i]!.secret.signingShare));
    assert.equal(fresh[i]!.epoch, 2);
  }
  assert.equal(signWith(fresh.slice(1)).valid, true);
  assert.equal(toHex(pointBytes(interpolate(fresh.slice(0, 3)))), toHex(old[0]!.groupPublicKey));
});

test('shares from two epochs cannot be combined: t shares across a refresh neither sign nor reconstruct', () => {
  const old = dkg(4, 3);
  const fresh = refresh(old, 2);
  // An adversary stole validators 0 and 1's shares before the refresh and validator 2's after.
  const mixed = [old[0]!, old[1]!, fresh[2]!];
  assert.notEqual(
    toHex(pointBytes(interpolate(mixed))),
    toHex(old[0]!.groupPublicKey),
    'no secret from mixed epochs',
  );
  assert.equal(toHex(pointBytes(interpolate([old[0]!, old[1]!, old[2]!]))), toHex(old[0]!.groupPublicKey));
  const underNew = signWith(mixed, fresh[0]!.public);
  assert.equal(underNew.valid, false, 'a mixed-epoch signature does not verify');
  assert.deepEqual(underNew.verified, [false, false, true], 'RFC 9591 §5.4 names the stale shares');
});

test('a share stolen before a refresh is useless after it, even after a second refresh', () => {
  const epoch1 = dkg(4, 3);
  const epoch2 = refresh(epoch1, 2);
  const epoch3 = refresh(epoch2, 3);
  const stolen = epoch1[3]!;
  const session = [epoch3[0]!, epoch3[1]!, stolen];
  assert.equal(signWith(session, epoch3[0]!.public).valid, false);
  assert.equal(signWith([epoch3[0]!, epoch3[1]!, epoch3[3]!]).valid, true);
});

test('a refresh dealer that deals a non-zero constant (to move the group key) is caught: BAD_SHARE', () => {
  const old = dkg(4, 3);
  const session = refreshSession(old, 2);
  const digest = keygenSessionDigest(session);
  // Dealer 1 commits to a zero-constant polynomial's higher coefficients but shares g = f + 5.
  const coefficients = randomPolynomial(3, 0n);
  const commitment = commitPolynomial(coefficients).slice(1).map(pointBytes);
  const cheat = (x: bigint) => Fn.add(evaluatePolynomial(coefficients, x), 5n);
  const machines = old.map((key, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]!, previousKey: key }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  machines.forEach((m, i) => {
    const outputs = m.start();
    if (i !== 1) for (const output of outputs) queue.push({ from: i, output });
  });
  queue.push({
    from: 1,
    output: {
      to: 'all',
      bytes: sealKeygenMessage(
        signers[1]!,
        7,
        KeygenDealCodec.encode({
          session: digest,
          dealer: 1,
          commitment,
          proofOfKnowledge: new Uint8Array(65),
        }),
      ),
    },
  });
  for (let r = 0; r < 4; r++)
    if (r !== 1)
      queue.push({
        from: 1,
        output: {
          to: 'recipient',
          recipient: r,
          bytes: sealKeygenMessage(
            signers[1]!,
            7,
            KeygenShareCodec.encode({
              session: digest,
              dealer: 1,
              recipient: r,
              share: scalarBytes(cheat(identifierOf(r))),
            }),
          ),
        },
      });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || r === 1 || (output.to === 'recipient' && output.recipient !== r)) return;
        for (const out of m.receive(output.bytes)) queue.push({ from: r, output: out });
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((m, i) => {
      if (i !== 1) for (const output of m.advance(deadline)) queue.push({ from: i, output });
    });
    deliver();
  }
  for (const i of [0, 2, 3]) {
    const result = machines[i]!.result()!;
    assert.deepEqual(
      result.disqualified.map((d) => [d.dealer, d.reason]),
      [[1, 'BAD_SHARE']],
    );
    assert.equal(toHex(result.groupPublicKey), toHex(old[0]!.groupPublicKey), 'the group key did not move');
  }
  const refreshed = [0, 2, 3].map((i) => machines[i]!.result()!.key!);
  assert.equal(signWith(refreshed).valid, true);
});

test('a refresh with a silent validator (f = 1 of 4) finishes among the others; its old share no longer fits', () => {
  const old = dkg(4, 3);
  const session = refreshSession(old, 2);
  const machines = [0, 1, 2].map((i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]!, previousKey: old[i]! }),
  );
  const queue: KeygenOutput[] = machines.flatMap((m) => m.start());
  const deliver = () => {
    while (queue.length > 0) {
      const output = queue.shift()!;
      machines.forEach((m, r) => {
        if (output.to === 'recipient' && output.recipient !== r) return;
        queue.push(...m.receive(output.bytes));
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    for (const m of machines) queue.push(...m.advance(deadline));
    deliver();
  }
  const fresh = machines.map((m) => m.result()!.key!);
  assert.deepEqual(
    machines[0]!.result()!.disqualified.map((d) => d.reason),
    ['SILENT'],
  );
  assert.equal(signWith(fresh).valid, true);
  assert.equal(signWith([fresh[0]!, fresh[1]!, old[3]!], fresh[0]!.public).valid, false);
});

function reshareSession(
  old: FrostKeyPackage[],
  newOffset: number,
  newCount: number,
  threshold: number,
): KeygenSession {
  return {
    chainId: 7,
    epoch: 5,
    kind: 'reshare',
    dealerKeys: signers.slice(0, old.length).map((s) => s.publicKey),
    recipientKeys: signers.slice(newOffset, newOffset + newCount).map((s) => s.publicKey),
    threshold,
    previous: old[0]!.public,
  };
}

test('resharing to a new set (4 of threshold 3 → 7 of threshold 5, two leave, five join) keeps the group key', () => {
  const old = dkg(4, 3);
  // New set: old validators 2 and 3 stay (new indices 0 and 1), five join (signers 4..8).
  const session = reshareSession(old, 2, 7, 5);
  const roles: KeygenRole[] = [];
  for (let i = 0; i < 4; i++)
    roles.push({
      dealer: i,
      ...(i >= 2 ? { recipient: i - 2 } : {}),
      signer: signers[i]!,
      previousKey: old[i]!,
    });
  for (let j = 2; j < 7; j++) roles.push({ recipient: j, signer: signers[j + 2]! });
  const results = runLocalKeygen(session, roles);
  const fresh = results
    .filter((r) => r.key !== undefined)
    .map((r) => r.key!)
    .sort((a, b) => a.index - b.index);
  assert.equal(fresh.length, 7);
  for (const key of fresh) {
    assert.equal(toHex(key.groupPublicKey), toHex(old[0]!.groupPublicKey));
    assert.equal(key.threshold, 5);
    assert.equal(key.participants, 7);
  }
  assert.equal(signWith(fresh.slice(2)).valid, true, 'five of the new set sign');
  assert.throws(() => signWith(fresh.slice(0, 4)), 'four are below the new threshold');
  // Old shares are useless to the new keyset: a departed validator's share, presented in a new seat, fails.
  const impostor = {
    ...fresh[0]!,
    secret: { ...fresh[0]!.secret, signingShare: old[0]!.secret.signingShare },
  };
  const attempt = signWith([impostor, ...fresh.slice(1, 5)], fresh[0]!.public);
  assert.equal(attempt.valid, false);
  assert.deepEqual(attempt.verified, [false, true, true, true, true]);
});

test('a resharing dealer that deals a constant other than its share is refused (C_0 ≠ Y_i): BAD_DEAL', () => {
  const old = dkg(4, 3);
  const session = reshareSession(old, 0, 4, 3);
  const digest = keygenSessionDigest(session);
  const machines = old.map((key, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]!, previousKey: key }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  machines.forEach((m, i) => {
    if (i !== 0) for (const output of m.start()) queue.push({ from: i, output });
  });
  // Dealer 0 reshares a secret of its choosing instead of its share.
  const coefficients = randomPolynomial(3, 12345n);
  queue.push({
    from: 0,
    output: {
      to: 'all',
      bytes: sealKeygenMessage(
        signers[0]!,
        7,
        KeygenDealCodec.encode({
          session: digest,
          dealer: 0,
          commitment: commitPolynomial(coefficients).map(pointBytes),
          proofOfKnowledge: new Uint8Array(65),
        }),
      ),
    },
  });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || r === 0 || (output.to === 'recipient' && output.recipient !== r)) return;
        for (const out of m.receive(output.bytes)) queue.push({ from: r, output: out });
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((m, i) => {
      if (i !== 0) for (const output of m.advance(deadline)) queue.push({ from: i, output });
    });
    deliver();
  }
  for (const i of [1, 2, 3]) {
    const result = machines[i]!.result()!;
    assert.deepEqual(
      result.disqualified.map((d) => [d.dealer, d.reason]),
      [[0, 'BAD_DEAL']],
    );
    assert.equal(toHex(result.groupPublicKey), toHex(old[0]!.groupPublicKey));
  }
  assert.equal(signWith([1, 2, 3].map((i) => machines[i]!.result()!.key!)).valid, true);
});
