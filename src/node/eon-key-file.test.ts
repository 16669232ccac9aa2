/**
 * A validator's eon share at rest. What an attacker with the disk (or a careless operator) could
 * try: swap in another validator's file, another eon's, a price key file, an edited file, a
 * share that is not the genesis', or (for the validators' own keyset) a keyset its attestations
 * do not attest or a share that is not this validator's of it. Each is refused, and a node never starts with a wrong share or
 * without one (it would lie in every key share, or run another block rule and fork).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { KeystoreError } from '../crypto/keystore.ts';
import { combineEonKeyset, combineEonSecretShare, dealEon } from '../crypto/shutter/eon-dkg.ts';
import { runLocalEonKeygen } from '../crypto/shutter/eon-keygen.ts';
import {
  EonShareError,
  eonShareFileOf,
  loadEonShare,
  openEonKeyset,
  openEonShare,
  sealEonKeyset,
  sealEonShare,
  writeEonShare,
} from './eon-key-file.ts';
import { eonKeygenSessionOf } from './eon-keyset.ts';

const N = 4;
const T = 3;
const dealings = Array.from({ length: N }, (_, j) => dealEon(j, T, N));
const keyset = combineEonKeyset(dealings, T, N);
const rules = { eon: 1, eonPublicKey: keyset.eonPublicKey, publicShares: keyset.publicShares };
const seeds = Array.from({ length: N }, (_, i) => new Uint8Array(32).fill(i + 1));
const share = (i: number) => combineEonSecretShare(dealings, i);
const directory = mkdtempSync(join(tmpdir(), 'palisade-eon-share-'));
after(() => rmSync(directory, { recursive: true, force: true }));

test('a sealed share opens for its validator, chain and eon, and matches the genesis', () => {
  const text = sealEonShare(share(2), seeds[2]!, { chainId: 7, eon: 1, index: 2 });
  assert.equal(openEonShare(text, seeds[2]!, { chainId: 7, eon: 1, index: 2 }, rules), share(2));
  assert.ok(!text.includes(share(2).toString(16)), 'the share is not in the clear');
});

test("another validator's file, another eon's or another chain's is refused", () => {
  const text = sealEonShare(share(1), seeds[1]!, { chainId: 7, eon: 1, index: 1 });
  for (const [seed, header] of [
    [seeds[2]!, { chainId: 7, eon: 1, index: 2 }],
    [seeds[1]!, { chainId: 7, eon: 2, index: 1 }],
    [seeds[1]!, { chainId: 8, eon: 1, index: 1 }],
  ] as const)
    assert.throws(() => openEonShare(text, seed, header, rules), KeystoreError);
  const edited = JSON.parse(text) as { data: string };
  edited.data = `${edited.data.slice(0, -2)}${edited.data.endsWith('00') ? '01' : '00'}`;
  assert.throws(
    () => openEonShare(JSON.stringify(edited), seeds[1]!, { chainId: 7, eon: 1, index: 1 }, rules),
    (error: unknown) => error instanceof KeystoreError && error.code === 'KEYSTORE_TAMPERED',
  );
});

test("a well-sealed share that is not the genesis' share of this validator is refused", () => {
  // Validator 0's own key seals validator 3's share under index 0: it opens but does not match P_0.
  const text = sealEonShare(share(3), seeds[0]!, { chainId: 7, eon: 1, index: 0 });
  assert.throws(
    () => openEonShare(text, seeds[0]!, { chainId: 7, eon: 1, index: 0 }, rules),
    (error: unknown) => error instanceof EonShareError && error.code === 'EON_SHARE_MISMATCH',
  );
});

test('loadEonShare: a missing file stops the node; the written file loads', () => {
  assert.throws(
    () => loadEonShare(directory, seeds[0]!, 7, 0, rules),
    (error: unknown) => error instanceof EonShareError && error.code === 'EON_SHARE_MISSING',
  );
  writeEonShare(directory, sealEonShare(share(0), seeds[0]!, { chainId: 7, eon: 1, index: 0 }), 1);
  assert.equal(loadEonShare(directory, seeds[0]!, 7, 0, rules), share(0));
  writeFileSync(eonShareFileOf(directory, 1), '{"format":"palisade-threshold-key"');
  assert.throws(() => loadEonShare(directory, seeds[0]!, 7, 0, rules), KeystoreError);
});

test("a share of the validators' own keyset: opens with its attestations; another keyset's commitment under them, or a share not its own, is refused", () => {
  const signers = seeds.map((seed) => createEd25519Signer(seed));
  const session = eonKeygenSessionOf(
    7,
    1,
    signers.map((s) => s.publicKey),
  );
  const roles = signers.map((signer, index) => ({ index, signer }));
  const agreements = runLocalEonKeygen(session, roles);
  const other = runLocalEonKeygen(
    eonKeygenSessionOf(
      7,
      1,
      signers.map((s) => s.publicKey),
    ),
    roles,
  )[1]!;
  const fileOf = (index: number, agreement = agreements[index]!) => ({
    secretShare: agreement.secretShare,
    qualified: agreement.keyset.qualified,
    commitment: agreement.commitment,
    attestations: agreement.attestations,
    sent: [],
  });
  const header = (index: number) => ({ chainId: 7, eon: 1, index });
  const opened = openEonKeyset(sealEonKeyset(fileOf(1), seeds[1]!, header(1)), seeds[1]!, header(1), session);
  assert.equal(opened.file.secretShare, agreements[1]!.secretShare);
  assert.ok(opened.keyset.eonPublicKey.equals(agreements[0]!.keyset.eonPublicKey));
  // Another DKG's commitment (another eon key) under this DKG's attestations.
  const forged = { ...fileOf(1), commitment: other.commitment, secretShare: other.secretShare };
  assert.throws(
    () => openEonKeyset(sealEonKeyset(forged, seeds[1]!, header(1)), seeds[1]!, header(1), session),
    (error: unknown) => error instanceof EonShareError && error.code === 'EON_KEYSET_UNATTESTED',
  );
  // Validator 2's share under validator 1's file.
  const swapped = { ...fileOf(1), secretShare: agreements[2]!.secretShare };
  assert.throws(
    () => openEonKeyset(sealEonKeyset(swapped, seeds[1]!, header(1)), seeds[1]!, header(1), session),
    (error: unknown) => error instanceof EonShareError && error.code === 'EON_SHARE_MISMATCH',
  );
  // Attestations checked against another validator set: refused.
  const strangers = eonKeygenSessionOf(7, 1, signers.map((s) => s.publicKey).reverse());
  assert.throws(
    () => openEonKeyset(sealEonKeyset(fileOf(1), seeds[1]!, header(1)), seeds[1]!, header(1), strangers),
    (error: unknown) => error instanceof EonShareError && error.code === 'EON_KEYSET_UNATTESTED',
  );
});
