/**
 * Attacks on the eon DKG and on decryption-key shares (./eon-dkg.ts, ./key-shares.ts), n = 4,
 * f = 1, t = 2f + 1 = 3.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createEd25519Signer } from '../ed25519.ts';
import {
  combineEonKeyset,
  combineEonSecretShare,
  dealEon,
  type EonDealing,
  judgeComplaint,
  randomEonScalar,
  verifyEonShare,
} from './eon-dkg.ts';
import { Fr, G1, shutterIdentityPoint, verifyShutterDecryptionKey } from './ibe.ts';
import {
  checkSignedKeyShare,
  combineKeyShares,
  computeKeyShare,
  findBadKeyShares,
  keyShareSigningBytes,
  orderIdentity,
  releaseKeyShare,
  type ShareVerificationContext,
  type SignedKeyShare,
  verifyDecryptionKeysBatch,
  verifyEarlyShareEvidence,
} from './key-shares.ts';

const COUNT = 4;
const THRESHOLD = 3;
const CHAIN_ID = 7;
const EON = 1;

const honest = Array.from({ length: COUNT }, (_, j) => dealEon(j, THRESHOLD, COUNT));
const keyset = combineEonKeyset(honest, THRESHOLD, COUNT);
const secretShares = Array.from({ length: COUNT }, (_, i) => combineEonSecretShare(honest, i));
const seeds = Array.from({ length: COUNT }, () => new Uint8Array(randomBytes(32)));
const signers = seeds.map((seed) => createEd25519Signer(seed));
const context: ShareVerificationContext = {
  chainId: CHAIN_ID,
  eon: EON,
  validatorKeys: signers.map((signer) => signer.publicKey),
  publicShares: keyset.publicShares,
};
const alice = new Uint8Array(32).fill(0xa1);
const bob = new Uint8Array(32).fill(0xb0);

function release(validatorIndex: number, batch: number, sender: Uint8Array, finalizedHeight: number) {
  return releaseKeyShare(
    {
      chainId: CHAIN_ID,
      eon: EON,
      validatorIndex,
      secretShare: secretShares[validatorIndex]!,
      signer: signers[validatorIndex]!,
    },
    { batch, sender, finalizedHeight },
  );
}

function releasedShare(validatorIndex: number, batch = 10, sender = alice): SignedKeyShare {
  const result = release(validatorIndex, batch, sender, batch);
  assert.ok(result.ok);
  return result.share;
}

/** A Byzantine validator that signs its real share without waiting for finality. */
function leakedShare(validatorIndex: number, batch: number): SignedKeyShare {
  const identity = orderIdentity(CHAIN_ID, batch, alice);
  const statement = {
    chainId: CHAIN_ID,
    eon: EON,
    batch,
    validatorIndex,
    identity,
    share: computeKeyShare(secretShares[validatorIndex]!, shutterIdentityPoint(identity)),
  };
  return { ...statement, signature: signers[validatorIndex]!.sign(keyShareSigningBytes(statement)) };
}

describe('eon DKG over G2 (joint Feldman)', () => {
  it('gives shares that verify and a key that t of them reconstruct', () => {
    for (const dealing of honest)
      for (let i = 0; i < COUNT; i++)
        assert.equal(verifyEonShare(dealing.commitment, i, dealing.shares[i]!), true);
    const identity = shutterIdentityPoint(orderIdentity(CHAIN_ID, 3, alice));
    const shares = [0, 2, 3].map((i) => ({
      validatorIndex: i,
      share: computeKeyShare(secretShares[i]!, identity),
    }));
    const combined = combineKeyShares(shares, THRESHOLD);
    assert.ok(combined.ok);
    assert.equal(verifyShutterDecryptionKey(combined.key, keyset.eonPublicKey, identity), true);
  });

  it('disqualifies a dealer that sent a bad share and reveals it again; rejects a false complaint', () => {
    const cheat = dealEon(1, THRESHOLD, COUNT);
    const badShares = [...cheat.shares];
    badShares[2] = Fr.add(badShares[2]!, 1n);
    const bad: EonDealing = { ...cheat, shares: badShares };
    assert.equal(verifyEonShare(bad.commitment, 2, bad.shares[2]!), false);
    assert.equal(judgeComplaint(bad.commitment, 2, bad.shares[2]), 'DEALER_DISQUALIFIED');
    assert.equal(judgeComplaint(bad.commitment, 2, undefined), 'DEALER_DISQUALIFIED');
    assert.equal(judgeComplaint(honest[0]!.commitment, 3, honest[0]!.shares[3]), 'COMPLAINT_REJECTED');
    // The three qualified dealers still make a working eon.
    const qualified = honest.filter((d) => d.dealerIndex !== 1);
    const eon = combineEonKeyset(qualified, THRESHOLD, COUNT);
    assert.deepEqual(eon.qualified, [0, 2, 3]);
    const identity = shutterIdentityPoint(orderIdentity(CHAIN_ID, 5, bob));
    const shares = [3, 1, 2].map((i) => ({
      validatorIndex: i,
      share: computeKeyShare(combineEonSecretShare(qualified, i), identity),
    }));
    assert.deepEqual(findBadKeyShares(shares, eon.publicShares, identity), []);
    const combined = combineKeyShares(shares, THRESHOLD);
    assert.ok(combined.ok && verifyShutterDecryptionKey(combined.key, eon.eonPublicKey, identity));
  });
});

describe('decryption-key shares: attacks', () => {
  const identityPreimage = orderIdentity(CHAIN_ID, 10, alice);
  const identity = shutterIdentityPoint(identityPreimage);
  const good = [0, 1, 2, 3].map((i) => ({
    validatorIndex: i,
    share: computeKeyShare(secretShares[i]!, identity),
  }));

  it('names a share from a non-member', () => {
    const outsider = { validatorIndex: 9, share: computeKeyShare(randomEonScalar(), identity) };
    assert.deepEqual(findBadKeyShares([good[0]!, outsider, good[2]!], keyset.publicShares, identity), [9]);
    const signed = { ...releasedShare(1), validatorIndex: 9 };
    assert.deepEqual(checkSignedKeyShare(signed, context), { ok: false, code: 'UNKNOWN_VALIDATOR' });
  });

  it('names a share computed for another identity', () => {
    const otherIdentity = shutterIdentityPoint(orderIdentity(CHAIN_ID, 10, bob));
    const wrong = { validatorIndex: 2, share: computeKeyShare(secretShares[2]!, otherIdentity) };
    assert.deepEqual(
      findBadKeyShares([good[0]!, good[1]!, wrong, good[3]!], keyset.publicShares, identity),
      [2],
    );
  });

  it('names a forged share and keeps combining from the honest ones', () => {
    const forged = { validatorIndex: 1, share: G1.BASE.multiply(randomEonScalar()) };
    const received = [good[0]!, forged, good[2]!, good[3]!];
    const bad = findBadKeyShares(received, keyset.publicShares, identity);
    assert.deepEqual(bad, [1]);
    // Combining with the forged share in gives a key that fails the eon-key check.
    const poisoned = combineKeyShares(received, THRESHOLD);
    assert.ok(poisoned.ok);
    assert.equal(verifyShutterDecryptionKey(poisoned.key, keyset.eonPublicKey, identity), false);
    const clean = combineKeyShares(
      received.filter((s) => !bad.includes(s.validatorIndex)),
      THRESHOLD,
    );
    assert.ok(clean.ok && verifyShutterDecryptionKey(clean.key, keyset.eonPublicKey, identity));
    // Signed: a member signing a forged point is caught by the pairing check, not the signature.
    const signedForgery = { ...releasedShare(1), share: forged.share };
    const resigned = { ...signedForgery, signature: signers[1]!.sign(keyShareSigningBytes(signedForgery)) };
    assert.deepEqual(checkSignedKeyShare(resigned, context), { ok: false, code: 'BAD_SHARE' });
  });

  it('refuses fewer than t shares, and t − 1 shares interpolate to no valid key', () => {
    assert.deepEqual(combineKeyShares(good.slice(0, 2), THRESHOLD), {
      ok: false,
      code: 'TOO_FEW_SHARES',
      have: 2,
    });
    const underThreshold = combineKeyShares(good.slice(0, 2), 2);
    assert.ok(underThreshold.ok);
    assert.equal(verifyShutterDecryptionKey(underThreshold.key, keyset.eonPublicKey, identity), false);
    assert.deepEqual(combineKeyShares([good[0]!, good[0]!, good[1]!], THRESHOLD), {
      ok: false,
      code: 'DUPLICATE_VALIDATOR',
      have: 3,
    });
  });

  it('refuses a share whose signature is altered, made by another member, or for another chain or eon', () => {
    const share = releasedShare(2);
    assert.deepEqual(checkSignedKeyShare(share, context), { ok: true });
    const flipped = share.signature.slice();
    flipped[0]! ^= 1;
    assert.deepEqual(checkSignedKeyShare({ ...share, signature: flipped }, context), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
    const impersonated = { ...share, signature: signers[3]!.sign(keyShareSigningBytes(share)) };
    assert.deepEqual(checkSignedKeyShare(impersonated, context), { ok: false, code: 'BAD_SIGNATURE' });
    assert.deepEqual(checkSignedKeyShare(share, { ...context, chainId: 8 }), {
      ok: false,
      code: 'WRONG_CHAIN',
    });
    assert.deepEqual(checkSignedKeyShare(share, { ...context, eon: 2 }), { ok: false, code: 'WRONG_EON' });
    // The batch is signed: a share moved to another batch fails the signature.
    assert.deepEqual(checkSignedKeyShare({ ...share, batch: 11 }, context), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
  });

  it("batch-verifies a block's combined keys and fails when one of them is wrong", () => {
    const identities = Array.from({ length: 6 }, (_, j) =>
      shutterIdentityPoint(orderIdentity(CHAIN_ID, 30, new Uint8Array(32).fill(j))),
    );
    const keys = identities.map((q) => {
      const combined = combineKeyShares(
        [0, 1, 2].map((i) => ({ validatorIndex: i, share: computeKeyShare(secretShares[i]!, q) })),
        THRESHOLD,
      );
      assert.ok(combined.ok);
      return combined.key;
    });
    assert.equal(verifyDecryptionKeysBatch(keys, identities, keyset.eonPublicKey), true);
    // One key swapped for another identity's, and two keys that err in opposite directions.
    const swapped = [...keys];
    swapped[4] = keys[5]!;
    assert.equal(verifyDecryptionKeysBatch(swapped, identities, keyset.eonPublicKey), false);
    const offset = G1.BASE.multiply(randomEonScalar());
    const cancelling = [...keys];
    cancelling[0] = keys[0]!.add(offset);
    cancelling[1] = keys[1]!.subtract(offset);
    assert.equal(verifyDecryptionKeysBatch(cancelling, identities, keyset.eonPublicKey), false);
    assert.equal(verifyDecryptionKeysBatch(keys.slice(1), identities, keyset.eonPublicKey), false);
  });

  it('separates identities by chain, batch and sender', () => {
    const base = Buffer.from(orderIdentity(CHAIN_ID, 10, alice)).toString('hex');
    for (const other of [
      orderIdentity(8, 10, alice),
      orderIdentity(CHAIN_ID, 11, alice),
      orderIdentity(CHAIN_ID, 10, bob),
    ])
      assert.notEqual(Buffer.from(other).toString('hex'), base);
  });
});

describe('never early', () => {
  it('an honest validator refuses to release a share for a batch above the finalized height', () => {
    assert.deepEqual(release(0, 12, alice, 11), {
      ok: false,
      code: 'BATCH_NOT_FINALIZED',
      batch: 12,
      finalizedHeight: 11,
    });
    assert.equal(release(0, 12, alice, 12).ok, true);
  });

  it('f colluders hold fewer than t shares before finality: their combination is not the key', () => {
    // f = 1 Byzantine validator leaks; with the one share it has, plus any share it could forge, no key verifies.
    const leaked = leakedShare(3, 20);
    const identity = shutterIdentityPoint(leaked.identity);
    assert.equal(combineKeyShares([{ validatorIndex: 3, share: leaked.share }], THRESHOLD).ok, false);
    const guess = combineKeyShares(
      [
        { validatorIndex: 3, share: leaked.share },
        { validatorIndex: 0, share: G1.BASE.multiply(randomEonScalar()) },
        { validatorIndex: 1, share: G1.BASE.multiply(randomEonScalar()) },
      ],
      THRESHOLD,
    );
    assert.ok(guess.ok);
    assert.equal(verifyShutterDecryptionKey(guess.key, keyset.eonPublicKey, identity), false);
  });

  it('a share released before its batch is final is evidence against its signer', () => {
    const leaked = leakedShare(3, 20);
    assert.deepEqual(verifyEarlyShareEvidence({ share: leaked, finalizedHeightAtRecord: 19 }, context), {
      ok: true,
      offender: 3,
      batch: 20,
    });
    // Not evidence: the batch was final when recorded; a share with a broken signature; a share for another chain.
    assert.deepEqual(verifyEarlyShareEvidence({ share: leaked, finalizedHeightAtRecord: 20 }, context), {
      ok: false,
      code: 'NOT_EARLY',
    });
    const framed = { ...leaked, validatorIndex: 2 };
    assert.deepEqual(verifyEarlyShareEvidence({ share: framed, finalizedHeightAtRecord: 19 }, context), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
    assert.deepEqual(
      verifyEarlyShareEvidence({ share: leaked, finalizedHeightAtRecord: 19 }, { ...context, chainId: 9 }),
      {
        ok: false,
        code: 'WRONG_CHAIN',
      },
    );
  });
});
