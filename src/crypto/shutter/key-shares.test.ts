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
  combineBatchKeyShares,
  combineKeyShares,
  computeKeyShare,
  decodeKeyShare,
  envelopeIdentity,
  findBadKeyShares,
  identitiesRoot,
  identityPointsOf,
  type KeyShareStatement,
  keyShareSigningBytes,
  releaseBatchKeyShares,
  type ShareVerificationContext,
  type SignedKeyShare,
  verifyBlockKeysWith,
  verifyDecryptionKeysBatch,
  verifyEarlyShareEvidence,
} from './key-shares.ts';
import { nobleBackend } from './pairing-backend.ts';

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
const prefixA = new Uint8Array(32).fill(0x0a);
const prefixB = new Uint8Array(32).fill(0x0b);
const prefix = (j: number) => new Uint8Array(32).fill(j);
/** A batch of `count` envelopes' identities, alternating senders, each with its own prefix. */
const batchOf = (count: number, salt = 0) =>
  Array.from({ length: count }, (_, j) => envelopeIdentity(CHAIN_ID, j % 2 ? bob : alice, prefix(salt + j)));
const IDS = batchOf(3);
const eonKey = keyset.eonPublicKey.toBytes(true);

function release(
  validatorIndex: number,
  batch: number,
  identities: readonly Uint8Array[],
  finalizedHeight: number,
) {
  return releaseBatchKeyShares(
    {
      chainId: CHAIN_ID,
      eon: EON,
      validatorIndex,
      secretShare: secretShares[validatorIndex]!,
      signer: signers[validatorIndex]!,
    },
    { batch, finalizedHeight, identities },
  );
}

function releasedShare(validatorIndex: number, batch = 10, identities = IDS): SignedKeyShare {
  const result = release(validatorIndex, batch, identities, batch);
  assert.ok(result.ok);
  return result.share;
}

/** A statement signed by the validator it names, whatever it holds (how a Byzantine member lies). */
function signedBy(validatorIndex: number, statement: KeyShareStatement): SignedKeyShare {
  return { ...statement, signature: signers[validatorIndex]!.sign(keyShareSigningBytes(statement)) };
}

/** A Byzantine validator that signs its real shares without waiting for finality. */
function leakedShare(validatorIndex: number, batch: number, identities = IDS): SignedKeyShare {
  return signedBy(validatorIndex, {
    chainId: CHAIN_ID,
    eon: EON,
    batch,
    validatorIndex,
    identitiesRoot: identitiesRoot(identities),
    shares: identities.map((id) =>
      computeKeyShare(secretShares[validatorIndex]!, shutterIdentityPoint(id)).toBytes(true),
    ),
  });
}

const isKeyOf = (identities: readonly Uint8Array[], key: Uint8Array | undefined) =>
  key !== undefined &&
  key.length === 48 * identities.length &&
  verifyBlockKeysWith(
    nobleBackend,
    identities.map((_, j) => key.subarray(48 * j, 48 * (j + 1))),
    identityPointsOf(identities),
    eonKey,
  );

describe('eon DKG over G2 (joint Feldman)', () => {
  it('gives shares that verify and a key that t of them reconstruct', () => {
    for (const dealing of honest)
      for (let i = 0; i < COUNT; i++)
        assert.equal(verifyEonShare(dealing.commitment, i, dealing.shares[i]!), true);
    const identity = shutterIdentityPoint(envelopeIdentity(CHAIN_ID, alice, prefixA));
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
    const identity = shutterIdentityPoint(envelopeIdentity(CHAIN_ID, bob, prefixB));
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
  const identityPreimage = IDS[0]!;
  const identity = shutterIdentityPoint(identityPreimage);
  const good = [0, 1, 2, 3].map((i) => ({
    validatorIndex: i,
    share: computeKeyShare(secretShares[i]!, identity),
  }));

  it('names a share from a non-member', () => {
    const outsider = { validatorIndex: 9, share: computeKeyShare(randomEonScalar(), identity) };
    assert.deepEqual(findBadKeyShares([good[0]!, outsider, good[2]!], keyset.publicShares, identity), [9]);
    const signed = { ...releasedShare(1), validatorIndex: 9 };
    assert.deepEqual(checkSignedKeyShare(signed, context, IDS), { ok: false, code: 'UNKNOWN_VALIDATOR' });
  });

  it('names a share computed for another identity', () => {
    const otherIdentity = shutterIdentityPoint(envelopeIdentity(CHAIN_ID, bob, prefix(0)));
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
    const released = releasedShare(1);
    const resigned = signedBy(1, {
      ...released,
      shares: [forged.share.toBytes(true), ...released.shares.slice(1)],
    });
    assert.deepEqual(checkSignedKeyShare(resigned, context, IDS), { ok: false, code: 'BAD_SHARE' });
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
    assert.deepEqual(checkSignedKeyShare(share, context, IDS), { ok: true });
    const flipped = share.signature.slice();
    flipped[0]! ^= 1;
    assert.deepEqual(checkSignedKeyShare({ ...share, signature: flipped }, context, IDS), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
    const impersonated = { ...share, signature: signers[3]!.sign(keyShareSigningBytes(share)) };
    assert.deepEqual(checkSignedKeyShare(impersonated, context, IDS), { ok: false, code: 'BAD_SIGNATURE' });
    assert.deepEqual(checkSignedKeyShare(share, { ...context, chainId: 8 }, IDS), {
      ok: false,
      code: 'WRONG_CHAIN',
    });
    assert.deepEqual(checkSignedKeyShare(share, { ...context, eon: 2 }, IDS), {
      ok: false,
      code: 'WRONG_EON',
    });
    // The batch is signed: a share moved to another batch fails the signature.
    assert.deepEqual(checkSignedKeyShare({ ...share, batch: 11 }, context, IDS), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
  });

  it("batch-verifies a block's combined keys and fails when one of them is wrong", () => {
    const identities = Array.from({ length: 6 }, (_, j) =>
      shutterIdentityPoint(envelopeIdentity(CHAIN_ID, new Uint8Array(32).fill(j), prefixA)),
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

  it('separates identities by chain, sender and prefix', () => {
    const base = Buffer.from(envelopeIdentity(CHAIN_ID, alice, prefixA)).toString('hex');
    for (const other of [
      envelopeIdentity(8, alice, prefixA),
      envelopeIdentity(CHAIN_ID, alice, prefixB),
      envelopeIdentity(CHAIN_ID, bob, prefixA),
    ])
      assert.notEqual(Buffer.from(other).toString('hex'), base);
  });
});

describe('never early', () => {
  it('an honest validator refuses to release a share for a batch above the finalized height', () => {
    assert.deepEqual(release(0, 12, IDS, 11), {
      ok: false,
      code: 'BATCH_NOT_FINALIZED',
      batch: 12,
      finalizedHeight: 11,
    });
    assert.equal(release(0, 12, IDS, 12).ok, true);
    assert.deepEqual(release(0, 12, [], 12), {
      ok: false,
      code: 'EMPTY_BATCH',
      batch: 12,
      finalizedHeight: 12,
    });
  });

  it('f colluders hold fewer than t shares before finality: their combination is not the key', () => {
    // f = 1 Byzantine validator leaks; with the one share it has, plus any share it could forge, no key verifies.
    const leaked = leakedShare(3, 20);
    const identity = shutterIdentityPoint(IDS[0]!);
    const leakedPoint = decodeKeyShare(leaked.shares[0]!);
    assert.equal(combineKeyShares([{ validatorIndex: 3, share: leakedPoint }], THRESHOLD).ok, false);
    const guess = combineKeyShares(
      [
        { validatorIndex: 3, share: leakedPoint },
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

describe('batch statements: a share statement names exactly the batch it is for', () => {
  const SIXTEEN = batchOf(16, 40);

  it('an honest statement for a full batch of 16 passes; one lying share among them is BAD_SHARE', () => {
    const share = releasedShare(2, 10, SIXTEEN);
    assert.equal(share.shares.length, 16);
    assert.deepEqual(checkSignedKeyShare(share, context, SIXTEEN), { ok: true });
    const lying = [...share.shares];
    lying[11] = computeKeyShare(secretShares[2]!, shutterIdentityPoint(SIXTEEN[12]!)).toBytes(true);
    assert.deepEqual(checkSignedKeyShare(signedBy(2, { ...share, shares: lying }), context, SIXTEEN), {
      ok: false,
      code: 'BAD_SHARE',
    });
    const random = [...share.shares];
    random[0] = G1.BASE.multiply(randomEonScalar()).toBytes(true);
    assert.deepEqual(checkSignedKeyShare(signedBy(2, { ...share, shares: random }), context, SIXTEEN), {
      ok: false,
      code: 'BAD_SHARE',
    });
  });

  it("swapping two shares' order is caught: each share is checked against its own identity", () => {
    const share = releasedShare(1, 10, SIXTEEN);
    const swapped = [...share.shares];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    assert.deepEqual(checkSignedKeyShare(signedBy(1, { ...share, shares: swapped }), context, SIXTEEN), {
      ok: false,
      code: 'BAD_SHARE',
    });
    // Unsigned, the same swap is a broken signature.
    assert.deepEqual(checkSignedKeyShare({ ...share, shares: swapped }, context, SIXTEEN), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
  });

  it('a statement whose identitiesRoot names other identities than the batch is WRONG_IDENTITIES', () => {
    // Valid shares for another batch, checked against this one.
    const other = releasedShare(0, 10, batchOf(3, 100));
    assert.deepEqual(checkSignedKeyShare(other, context, IDS), { ok: false, code: 'WRONG_IDENTITIES' });
    // This batch's shares, but a root naming other identities (re-signed by its validator).
    const share = releasedShare(0);
    const relabelled = signedBy(0, { ...share, identitiesRoot: identitiesRoot(batchOf(3, 100)) });
    assert.deepEqual(checkSignedKeyShare(relabelled, context, IDS), { ok: false, code: 'WRONG_IDENTITIES' });
    // The same identities in another order name another root.
    const reordered = [IDS[1]!, IDS[0]!, IDS[2]!];
    assert.deepEqual(checkSignedKeyShare(share, context, reordered), { ok: false, code: 'WRONG_IDENTITIES' });
  });

  it('a statement with one share too few or too many is WRONG_IDENTITIES', () => {
    const share = releasedShare(3);
    const tooFew = signedBy(3, { ...share, shares: share.shares.slice(0, 2) });
    assert.deepEqual(checkSignedKeyShare(tooFew, context, IDS), { ok: false, code: 'WRONG_IDENTITIES' });
    const extra = computeKeyShare(secretShares[3]!, shutterIdentityPoint(batchOf(1, 77)[0]!)).toBytes(true);
    const tooMany = signedBy(3, { ...share, shares: [...share.shares, extra] });
    assert.deepEqual(checkSignedKeyShare(tooMany, context, IDS), { ok: false, code: 'WRONG_IDENTITIES' });
    // A statement honestly made for the batch less its last envelope: its root differs too.
    assert.deepEqual(checkSignedKeyShare(releasedShare(3, 10, IDS.slice(0, 2)), context, IDS), {
      ok: false,
      code: 'WRONG_IDENTITIES',
    });
  });

  it("t statements combine to every envelope's key, in batch order", () => {
    const statements = [2, 0, 3].map((i) => releasedShare(i, 10, SIXTEEN));
    const key = combineBatchKeyShares(statements, THRESHOLD);
    assert.ok(key !== undefined && isKeyOf(SIXTEEN, key));
    for (let j = 0; j < SIXTEEN.length; j++)
      assert.equal(
        verifyShutterDecryptionKey(
          decodeKeyShare(key.subarray(48 * j, 48 * (j + 1))),
          keyset.eonPublicKey,
          shutterIdentityPoint(SIXTEEN[j]!),
        ),
        true,
      );
    // Statements of different batch sizes do not combine.
    assert.equal(
      combineBatchKeyShares([statements[0]!, statements[1]!, releasedShare(3, 10, IDS)], THRESHOLD),
      undefined,
    );
  });

  it("f colluding validators (f < t) combine to no envelope's key", () => {
    const f = COUNT - THRESHOLD; // n = 3f + 1
    const colluders = Array.from({ length: f }, (_, i) => leakedShare(3 - i, 20, SIXTEEN));
    assert.equal(combineBatchKeyShares(colluders, THRESHOLD), undefined);
    // Forcing the interpolation with threshold f gives points, but no key of any envelope.
    const forced = combineBatchKeyShares(colluders, f);
    assert.ok(forced !== undefined && forced.length === 48 * SIXTEEN.length);
    assert.equal(isKeyOf(SIXTEEN, forced), false);
    for (let j = 0; j < SIXTEEN.length; j++)
      assert.equal(isKeyOf([SIXTEEN[j]!], forced.subarray(48 * j, 48 * (j + 1))), false);
  });
});

describe('early-share evidence for batch statements', () => {
  it('convicts a signer for batch b recorded at finalized height < b, not at b or above', () => {
    const leaked = leakedShare(1, 30);
    for (const finalized of [0, 20, 29])
      assert.deepEqual(
        verifyEarlyShareEvidence({ share: leaked, finalizedHeightAtRecord: finalized }, context),
        {
          ok: true,
          offender: 1,
          batch: 30,
        },
      );
    for (const finalized of [30, 31])
      assert.deepEqual(
        verifyEarlyShareEvidence({ share: leaked, finalizedHeightAtRecord: finalized }, context),
        {
          ok: false,
          code: 'NOT_EARLY',
        },
      );
  });

  it('a forged signature does not convict, nor a statement relabelled to another batch', () => {
    const leaked = leakedShare(1, 30);
    const forged = signers[0]!.sign(keyShareSigningBytes(leaked));
    assert.deepEqual(
      verifyEarlyShareEvidence(
        { share: { ...leaked, signature: forged }, finalizedHeightAtRecord: 10 },
        context,
      ),
      { ok: false, code: 'BAD_SIGNATURE' },
    );
    // An honest statement for final batch 10, relabelled as for batch 31 to frame its signer.
    const relabelled = { ...releasedShare(2, 10), batch: 31 };
    assert.deepEqual(verifyEarlyShareEvidence({ share: relabelled, finalizedHeightAtRecord: 10 }, context), {
      ok: false,
      code: 'BAD_SIGNATURE',
    });
  });
});
