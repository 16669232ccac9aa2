/**
 * A client's check of the served eon keyset (src/node/eon-client.ts). A node that lies about the
 * eon key would read every order encrypted to it; what it could try, each refused with a code:
 * another key under real attestations, public shares that are not the commitment's, too few
 * attestations, attestations of another chain or validator set, a keyset still pending, and its
 * own "validators" listed beside a key they attested (checked against the set the caller trusts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { runLocalEonKeygen } from '../crypto/shutter/eon-keygen.ts';
import type { EonKeysetJson } from './api/eon.ts';
import { EonKeysetCheckError, verifyEonKeysetJson } from './eon-client.ts';
import { eonKeygenSessionOf } from './eon-keyset.ts';

const signers = Array.from({ length: 4 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`eon client ${i}`))),
);
const keys = signers.map((s) => s.publicKey);
const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;

function served(chainId: number, eon: number, by: typeof signers = signers): EonKeysetJson {
  const [agreement] = runLocalEonKeygen(
    eonKeygenSessionOf(
      chainId,
      eon,
      by.map((s) => s.publicKey),
    ),
    by.map((signer, index) => ({ index, signer })),
  );
  const { keyset } = agreement!;
  return {
    state: 'ready',
    source: 'dkg',
    eon,
    eonPublicKey: hex(keyset.eonPublicKey.toBytes(true)),
    threshold: keyset.threshold,
    publicShares: keyset.publicShares.map((p) => hex(p.toBytes(true))),
    encryptedOnlySeries: [3],
    qualified: [...keyset.qualified],
    commitment: agreement!.commitment.map((p) => hex(p.toBytes(true))),
    attestations: agreement!.attestations.map(hex),
    disqualified: [],
  };
}

const honest = served(7, 1);
const refused = (
  json: EonKeysetJson,
  code: EonKeysetCheckError['code'],
  genesis = { chainId: 7, validators: keys },
) =>
  assert.throws(
    () => verifyEonKeysetJson(json, genesis),
    (error: unknown) => error instanceof EonKeysetCheckError && error.code === code,
    code,
  );

test('the attested keyset verifies, and the key is derived from its commitment', () => {
  const verified = verifyEonKeysetJson(honest, { chainId: 7, validators: keys });
  assert.equal(hex(verified.eonPublicKeyBytes), honest.eonPublicKey);
  assert.deepEqual(verified.encryptedOnlySeries, [3]);
  assert.equal(verified.threshold, 3);
});

test('a lying node is caught: another key, other public shares, too few or foreign attestations, not ready', () => {
  const other = served(7, 2);
  refused({ ...honest, eonPublicKey: other.eonPublicKey }, 'EON_MISMATCH');
  refused({ ...honest, publicShares: [...honest.publicShares].reverse() }, 'EON_MISMATCH');
  // Another keyset's commitment under these attestations: not the transcript they sign.
  refused({ ...honest, commitment: other.commitment, eonPublicKey: other.eonPublicKey }, 'EON_UNATTESTED');
  refused({ ...honest, attestations: honest.attestations.slice(0, 2) }, 'EON_UNATTESTED');
  refused(
    { ...honest, attestations: [honest.attestations[0]!, honest.attestations[0]!, honest.attestations[1]!] },
    'EON_UNATTESTED',
  );
  refused(honest, 'EON_UNATTESTED', { chainId: 8, validators: keys });
  refused(honest, 'EON_UNATTESTED', { chainId: 7, validators: [...keys].reverse() });
  refused({ ...honest, qualified: [0, 1, 2] }, 'EON_UNATTESTED');
  refused({ ...honest, state: 'pending', eonPublicKey: null }, 'EON_NOT_READY');
  refused({ ...honest, commitment: ['0x00'] }, 'EON_MALFORMED');
});

test('a lying node that lists its own validators beside a key they attested is refused', () => {
  // Four keys the node holds: their DKG of eon 2 attests a key whose shares the node has.
  const fakes = Array.from({ length: 4 }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`eon client fake ${i}`))),
  );
  const lie: EonKeysetJson = {
    ...served(7, 2, fakes),
    validators: fakes.map((s) => hex(s.publicKey)),
    fromHeight: 20,
    untilHeight: 39,
  };
  // What a check against the served list (the bots' resolver before) took: the node's own word.
  const fooled = verifyEonKeysetJson(lie, { chainId: 7, validators: fakes.map((s) => s.publicKey) });
  assert.equal(hex(fooled.eonPublicKeyBytes), lie.eonPublicKey);
  // Against the set the client trusts: the listed set is not it, and without the list the
  // attestations are not the trusted validators'.
  refused(lie, 'EON_WRONG_SET');
  const { validators: _listed, ...unlisted } = lie;
  refused(unlisted, 'EON_UNATTESTED');
  refused({ ...lie, validators: keys.map(hex) }, 'EON_UNATTESTED');
  // The honest keyset with its set listed passes; listed in another order it does not.
  assert.equal(
    verifyEonKeysetJson({ ...honest, validators: keys.map(hex) }, { chainId: 7, validators: keys }).eon,
    1,
  );
  refused({ ...honest, validators: [...keys].reverse().map(hex) }, 'EON_WRONG_SET');
});
