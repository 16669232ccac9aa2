/**
 * Attacks on the decrypt-and-execute rule (./encrypted-batch.ts): a copied ciphertext re-wrapped
 * under another sender's envelope, garbage and non-transaction plaintexts (charged, so no free
 * cancel), a replay of a consumed nonce, an expired envelope, wrong, missing, extra or reordered
 * keys, and keys of one envelope tried on another.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SignedOrderEnvelope, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { SignedTransactionCodec } from '../codec/transaction.ts';
import { concatBytes } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { envelopeSigningBytes, sealOrder } from '../crypto/shutter/envelope.ts';
import {
  combineEonKeyset,
  combineEonSecretShare,
  dealEon,
  randomEonScalar,
} from '../crypto/shutter/eon-dkg.ts';
import {
  encodeShutterCiphertext,
  G2,
  shutterDecryptBytes,
  shutterEncrypt,
  shutterIdentityPoint,
} from '../crypto/shutter/ibe.ts';
import { combineBatchKeyShares, envelopeIdentity } from '../crypto/shutter/key-shares.ts';
import { nobleBackend } from '../crypto/shutter/pairing-backend.ts';
import { actionTransaction, limitOrder, testSigner } from '../execution/fixtures.ts';
import {
  batchIdentities,
  type EncryptedBatchInput,
  isBatchKey,
  openEncryptedBatch,
} from './encrypted-batch.ts';

const CHAIN_ID = 7;
const EON = 1;
const HEIGHT = 20;
const secret = randomEonScalar();
const eonPublicKey = G2.BASE.multiply(secret);
/** The key of one identity: what the validators release for an envelope naming it. */
const keyOfIdentity = (identity: Uint8Array) => shutterIdentityPoint(identity).multiply(secret).toBytes(true);
const encodeAll = (envelopes: readonly (SignedOrderEnvelope | Uint8Array)[]) =>
  envelopes.map((e) => (e instanceof Uint8Array ? e : SignedOrderEnvelopeCodec.encode(e)));
/** The batch's keys, one per envelope, in order. */
function keysFor(envelopes: readonly (SignedOrderEnvelope | Uint8Array)[]): Uint8Array {
  const identities = batchIdentities(encodeAll(envelopes));
  assert.ok(identities !== undefined);
  return concat(identities.map(keyOfIdentity));
}
const concat = (parts: readonly Uint8Array[]): Uint8Array => concatBytes(...parts);
const randomPrefix = () => new Uint8Array(randomBytes(32));
const alice = testSigner('batch/alice');
const bob = testSigner('batch/bob');
const mallory = testSigner('batch/mallory');

function order(
  signer: Ed25519Signer,
  nonce: number,
  side: 'buy' | 'sell',
  expiryHeight = HEIGHT,
  identityPrefix = randomPrefix(),
): SignedOrderEnvelope {
  return sealOrder(signer, {
    chainId: CHAIN_ID,
    eon: EON,
    eonPublicKey,
    identityPrefix,
    expiryHeight,
    fee: 500,
    transaction: actionTransaction(signer, nonce, limitOrder(1, side, 100, 1)),
    sigma: new Uint8Array(randomBytes(32)),
  });
}

/** An envelope signed by `signer` around any ciphertext bytes. */
function wrap(
  signer: Ed25519Signer,
  nonce: number,
  ciphertext: Uint8Array,
  identityPrefix = randomPrefix(),
): SignedOrderEnvelope {
  const body = {
    chainId: CHAIN_ID,
    sender: signer.publicKey,
    nonce,
    fee: 500,
    eon: EON,
    identityPrefix,
    expiryHeight: HEIGHT,
    ciphertextBytes: ciphertext.length,
    ciphertextHash: sha256(ciphertext),
  };
  return { body, signature: signer.sign(envelopeSigningBytes(body)), ciphertext };
}

/** `plaintext` encrypted to `signer`'s identity for `prefix`: wrap it with the same prefix. */
function encryptBytes(plaintext: Uint8Array, signer: Ed25519Signer, prefix: Uint8Array): Uint8Array {
  const identity = shutterIdentityPoint(envelopeIdentity(CHAIN_ID, signer.publicKey, prefix));
  return encodeShutterCiphertext(
    shutterEncrypt(plaintext, eonPublicKey, identity, new Uint8Array(randomBytes(32))),
  );
}
/** An envelope of `signer` whose ciphertext is `plaintext` encrypted to the envelope's own identity. */
function wrapPlain(signer: Ed25519Signer, nonce: number, plaintext: Uint8Array): SignedOrderEnvelope {
  const prefix = randomPrefix();
  return wrap(signer, nonce, encryptBytes(plaintext, signer, prefix), prefix);
}

function open(
  envelopes: readonly (SignedOrderEnvelope | Uint8Array)[],
  overrides: Partial<EncryptedBatchInput> = {},
) {
  const result = openEncryptedBatch({
    chainId: CHAIN_ID,
    eon: EON,
    eonPublicKey,
    height: HEIGHT,
    envelopes: encodeAll(envelopes),
    key: keysFor(envelopes),
    nextNonce: () => 0,
    ...overrides,
  });
  assert.ok(result.ok, 'the batch key is right');
  return result;
}

const reasons = (result: ReturnType<typeof open>) =>
  result.outcomes.map((o) => (o.kind === 'execute' ? 'execute' : `${o.kind}:${o.reason}`));

describe('encrypted batch: decrypt and execute in block order', () => {
  it('opens every order in its fixed position and charges each fee', () => {
    const result = open([order(bob, 0, 'sell'), order(alice, 0, 'buy'), order(alice, 1, 'buy')]);
    assert.deepEqual(reasons(result), ['execute', 'execute', 'execute']);
    assert.deepEqual(
      result.transactions.map((t) => [t.body.signer, t.body.nonce]),
      [
        [bob.publicKey, 0],
        [alice.publicKey, 0],
        [alice.publicKey, 1],
      ],
    );
    assert.deepEqual(
      result.charges.map((c) => c.fee),
      [500, 500, 500],
    );
  });

  it("re-wrap: Mallory's envelope around Alice's ciphertext is dropped and Mallory pays; Alice's order executes once", () => {
    const victim = order(alice, 0, 'buy');
    const copy = wrap(mallory, 0, victim.ciphertext);
    const result = open([copy, victim]);
    // The copy names Mallory's identity, so Mallory's key does not open Alice's ciphertext.
    assert.deepEqual(reasons(result), ['charged:UNDECRYPTABLE', 'execute']);
    assert.equal(result.transactions.length, 1);
    assert.deepEqual(result.transactions[0]!.body.signer, alice.publicKey);
    assert.deepEqual(
      result.charges.map((c) => [c.sender, c.executed]),
      [
        [mallory.publicKey, false],
        [alice.publicKey, true],
      ],
    );
  });

  it('garbage ciphertext and a non-transaction plaintext are charged and consume the nonce (no free cancel)', () => {
    const garbage = new Uint8Array(randomBytes(129 + 64));
    garbage[0] = 0x03;
    const result = open([
      wrap(alice, 0, garbage),
      wrapPlain(bob, 0, new TextEncoder().encode('not a transaction')),
      // The trader tries again with the nonce the garbage consumed: a replay.
      order(alice, 0, 'buy'),
      order(bob, 1, 'sell'),
    ]);
    assert.deepEqual(reasons(result), [
      'charged:UNDECRYPTABLE',
      'charged:INVALID_TRANSACTION',
      'uncharged:REPLAYED_NONCE',
      'execute',
    ]);
    assert.deepEqual(
      result.charges.map((c) => [c.nonce, c.executed]),
      [
        [0, false],
        [0, false],
        [1, true],
      ],
    );
  });

  it('a plaintext whose nonce or signature differs from the envelope is charged and not executed', () => {
    const otherNonce = SignedTransactionCodec.encode(
      actionTransaction(alice, 5, limitOrder(1, 'buy', 100, 1)),
    );
    const forged = actionTransaction(alice, 1, limitOrder(1, 'buy', 100, 1));
    const flipped = new Uint8Array(forged.signature);
    flipped[0]! ^= 1;
    const result = open([
      wrapPlain(alice, 0, otherNonce),
      wrapPlain(alice, 1, SignedTransactionCodec.encode({ ...forged, signature: flipped })),
    ]);
    assert.deepEqual(reasons(result), ['charged:INNER_MISMATCH', 'charged:INNER_BAD_SIGNATURE']);
    assert.equal(result.transactions.length, 0);
  });

  it('envelopes that do not belong here are dropped uncharged: expired, a nonce gap, a replay of the state', () => {
    const result = open([order(alice, 3, 'buy', HEIGHT - 1), order(bob, 4, 'sell'), order(alice, 2, 'buy')], {
      nextNonce: () => 3,
    });
    assert.deepEqual(reasons(result), [
      'uncharged:EXPIRED',
      'uncharged:NONCE_GAP',
      'uncharged:REPLAYED_NONCE',
    ]);
    assert.equal(result.charges.length, 0);
    // Bytes that are no envelope have no identity, so no key is one for their batch (admission
    // never keeps such bytes in a pending batch).
    const good = order(alice, 0, 'buy');
    const withJunk = encodeAll([good, Uint8Array.of(1, 1, 0x21, 0)]);
    assert.equal(batchIdentities(withJunk), undefined);
    assert.deepEqual(
      openEncryptedBatch({
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey,
        height: HEIGHT,
        envelopes: withJunk,
        key: concat([keysFor([good]), new Uint8Array(48)]),
        nextNonce: () => 0,
      }),
      { ok: false, code: 'BAD_KEY' },
    );
  });

  it('an envelope opens in any block up to its expiry height', () => {
    for (const expiry of [HEIGHT, HEIGHT + 1, HEIGHT + 40])
      assert.deepEqual(reasons(open([order(alice, 0, 'buy', expiry)])), ['execute']);
  });

  it("Mallory's copy under any prefix of hers never opens, and Alice's envelope still opens with its own key", () => {
    const alicePrefix = randomPrefix();
    const victim = order(alice, 0, 'buy', HEIGHT, alicePrefix);
    // Mallory's own sender, with a fresh prefix and with Alice's very prefix.
    for (const prefix of [randomPrefix(), alicePrefix]) {
      const copy = wrap(mallory, 0, victim.ciphertext, prefix);
      const result = open([copy, victim]);
      assert.deepEqual(reasons(result), ['charged:UNDECRYPTABLE', 'execute']);
      assert.deepEqual(result.charges[0]!.sender, mallory.publicKey);
      assert.deepEqual(result.transactions[0]!.body.signer, alice.publicKey);
    }
  });

  it("a key released for one envelope opens no other: not another sender's with the same prefix, not the same sender's with another prefix", () => {
    const prefix = randomPrefix();
    const target = order(alice, 0, 'buy', HEIGHT, prefix);
    const sameSenderOtherPrefix = order(alice, 0, 'buy');
    const otherSenderSamePrefix = order(bob, 0, 'sell', HEIGHT, prefix);
    const released = keysFor([target]);
    for (const other of [sameSenderOtherPrefix, otherSenderSamePrefix]) {
      // The released key handed in as the other envelope's key: refused before anything opens.
      const base = { chainId: CHAIN_ID, eon: EON, eonPublicKey, height: HEIGHT, nextNonce: () => 0 };
      assert.deepEqual(openEncryptedBatch({ ...base, envelopes: encodeAll([other]), key: released }), {
        ok: false,
        code: 'BAD_KEY',
      });
      // And even if a decryption were attempted with it (as a precomputed one), it fails.
      const attempted = shutterDecryptBytes(other.ciphertext, released, nobleBackend);
      assert.equal(attempted.ok, false);
      const result = open([other], { opened: [attempted] });
      assert.deepEqual(reasons(result), ['charged:UNDECRYPTABLE']);
    }
  });

  it('isBatchKey: only every key, each for its own identity, in batch order', () => {
    const envelopes = [order(alice, 0, 'buy'), order(bob, 0, 'sell'), order(alice, 1, 'buy')];
    const identities = batchIdentities(encodeAll(envelopes))!;
    const parts = identities.map(keyOfIdentity);
    assert.equal(isBatchKey(identities, concat(parts), eonPublicKey), true);
    const stranger = keyOfIdentity(envelopeIdentity(CHAIN_ID, mallory.publicKey, randomPrefix()));
    const wrong = {
      reordered: concat([parts[1]!, parts[0]!, parts[2]!]),
      missing: concat(parts.slice(0, 2)),
      extra: concat([...parts, stranger]),
      otherIdentity: concat([parts[0]!, stranger, parts[2]!]),
      zero: concat([parts[0]!, new Uint8Array(48), parts[2]!]),
      empty: new Uint8Array(0),
    };
    for (const [name, key] of Object.entries(wrong)) {
      assert.equal(isBatchKey(identities, key, eonPublicKey), false, name);
      const result = openEncryptedBatch({
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey,
        height: HEIGHT,
        envelopes: encodeAll(envelopes),
        key,
        nextNonce: () => 0,
      });
      // Nothing opens and nothing is charged: no outcomes, no charges at all.
      assert.deepEqual(result, { ok: false, code: 'BAD_KEY' }, name);
    }
    assert.equal(isBatchKey([], new Uint8Array(0), eonPublicKey), false);
  });

  it("the validators' combined keys open the batch: f statements combine to nothing, and forced they are no key", () => {
    const dealings = Array.from({ length: 4 }, (_, j) => dealEon(j, 3, 4));
    const keyset = combineEonKeyset(dealings, 3, 4);
    const secrets = Array.from({ length: 4 }, (_, i) => combineEonSecretShare(dealings, i));
    const seal = (signer: Ed25519Signer, nonce: number) =>
      sealOrder(signer, {
        chainId: CHAIN_ID,
        eon: EON,
        eonPublicKey: keyset.eonPublicKey,
        identityPrefix: randomPrefix(),
        expiryHeight: HEIGHT,
        fee: 500,
        transaction: actionTransaction(signer, nonce, limitOrder(1, 'buy', 100, 1)),
        sigma: new Uint8Array(randomBytes(32)),
      });
    const envelopes = encodeAll([seal(alice, 0), seal(bob, 0)]);
    const identities = batchIdentities(envelopes)!;
    const statementOf = (i: number) => ({
      validatorIndex: i,
      shares: identities.map((id) => shutterIdentityPoint(id).multiply(secrets[i]!).toBytes(true)),
    });
    const key = combineBatchKeyShares([3, 1, 0].map(statementOf), 3)!;
    assert.equal(isBatchKey(identities, key, keyset.eonPublicKey), true);
    const input = {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey: keyset.eonPublicKey,
      height: HEIGHT,
      envelopes,
    };
    const opened = openEncryptedBatch({ ...input, key, nextNonce: () => 0 });
    assert.ok(opened.ok);
    assert.equal(opened.transactions.length, 2);
    // f = 1 colluder.
    assert.equal(combineBatchKeyShares([statementOf(2)], 3), undefined);
    const forced = combineBatchKeyShares([statementOf(2)], 1)!;
    assert.equal(isBatchKey(identities, forced, keyset.eonPublicKey), false);
    assert.deepEqual(openEncryptedBatch({ ...input, key: forced, nextNonce: () => 0 }), {
      ok: false,
      code: 'BAD_KEY',
    });
  });

  it("refuses another envelope's key: nothing opens, nothing is charged", () => {
    const input = {
      chainId: CHAIN_ID,
      eon: EON,
      eonPublicKey,
      height: HEIGHT,
      envelopes: [SignedOrderEnvelopeCodec.encode(order(alice, 0, 'buy'))],
      nextNonce: () => 0,
    };
    assert.deepEqual(openEncryptedBatch({ ...input, key: keysFor([order(alice, 0, 'buy')]) }), {
      ok: false,
      code: 'BAD_KEY',
    });
    assert.deepEqual(openEncryptedBatch({ ...input, key: new Uint8Array(48) }), {
      ok: false,
      code: 'BAD_KEY',
    });
    assert.equal(openEncryptedBatch({ ...input, key: keysFor(input.envelopes) }).ok, true);
  });
});
