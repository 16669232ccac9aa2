import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decrypt as chainsafeDecrypt } from '@chainsafe/bls-keystore';
import { toHex } from './bytes.ts';
import { ed25519PublicKey, generateEd25519KeyPair } from './ed25519.ts';
import {
  createEd25519Keystore,
  decryptKeystore,
  KeystoreError,
  type KeystoreErrorCode,
  loadEd25519Keystore,
  normalizeKeystorePassword,
  parseKeystore,
} from './keystore.ts';

const vectors = JSON.parse(
  readFileSync(new URL('../../test/vectors/eip2335-keystores.json', import.meta.url), 'utf8'),
) as { password: string; encodedPassword: string; secret: string; keystores: Record<string, unknown> };

/** Cheap scrypt for the tests' own keystores; the EIP vectors below use the full cost. */
const fastScrypt = { kdf: 'scrypt' as const, scrypt: { n: 1024, r: 8, p: 1 } };
const password = 'correct horse battery staple';

async function rejectsWith(
  promise: Promise<unknown>,
  code: KeystoreErrorCode,
  field?: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KeystoreError, `expected a KeystoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (field !== undefined) assert.equal(error.field, field);
    return true;
  });
}

test('password normalisation follows EIP-2335: NFKD, control codes removed', () => {
  assert.equal(toHex(normalizeKeystorePassword(vectors.password)), vectors.encodedPassword);
  assert.equal(
    toHex(normalizeKeystorePassword('a\u0000b\u007fc\u0085d\u001f')),
    toHex(new TextEncoder().encode('abcd')),
  );
});

for (const kind of ['scrypt', 'pbkdf2']) {
  test(`the EIP-2335 ${kind} test vector decrypts to the published secret`, async () => {
    const keystore = parseKeystore(JSON.stringify(vectors.keystores[kind]));
    assert.equal(toHex(await decryptKeystore(keystore, vectors.password)), vectors.secret);
    await rejectsWith(decryptKeystore(keystore, 'testpassword'), 'KEYSTORE_WRONG_PASSWORD');
  });
}

test('our Ed25519 keystores round-trip, and @chainsafe/bls-keystore reads them', async () => {
  const { secretKey, publicKey } = generateEd25519KeyPair();
  for (const options of [fastScrypt, { kdf: 'pbkdf2' as const, pbkdf2Rounds: 1000 }]) {
    const keystore = await createEd25519Keystore(secretKey, password, options);
    const text = JSON.stringify(keystore);
    const loaded = await loadEd25519Keystore(text, password);
    assert.deepEqual(loaded.secretKey, secretKey);
    assert.deepEqual(loaded.publicKey, publicKey);
    assert.equal(keystore.pubkey, toHex(publicKey));
    const theirs = await chainsafeDecrypt(JSON.parse(text), password);
    assert.equal(toHex(theirs), toHex(secretKey));
  }
});

test('each failure has its own code and never yields a key', async () => {
  const { secretKey } = generateEd25519KeyPair();
  const keystore = await createEd25519Keystore(secretKey, password, fastScrypt);
  const text = JSON.stringify(keystore, null, 2);

  await rejectsWith(loadEd25519Keystore(text, 'wrong password!'), 'KEYSTORE_WRONG_PASSWORD', 'password');
  await rejectsWith(loadEd25519Keystore(text.slice(0, text.length - 40), password), 'KEYSTORE_TRUNCATED');
  await rejectsWith(loadEd25519Keystore(text.slice(0, 10), password), 'KEYSTORE_TRUNCATED');

  const tamperedChecksum = structuredClone(keystore);
  const first = tamperedChecksum.crypto.checksum.message[0] === '0' ? '1' : '0';
  tamperedChecksum.crypto.checksum.message = first + tamperedChecksum.crypto.checksum.message.slice(1);
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify(tamperedChecksum), password),
    'KEYSTORE_CHECKSUM_TAMPERED',
    'crypto.checksum.message',
  );

  const unknownField = { ...keystore, extra: 1 };
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify(unknownField), password),
    'KEYSTORE_UNKNOWN_FIELD',
    'keystore.extra',
  );
  const unknownParam = structuredClone(keystore) as unknown as {
    crypto: { cipher: { params: Record<string, unknown> } };
  };
  unknownParam.crypto.cipher.params.mode = 'x';
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify(unknownParam), password),
    'KEYSTORE_UNKNOWN_FIELD',
    'crypto.cipher.params.mode',
  );
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify({ ...keystore, version: 3 }), password),
    'KEYSTORE_UNSUPPORTED',
    'version',
  );
  const hostile = structuredClone(keystore) as unknown as { crypto: { kdf: { params: { n: number } } } };
  hostile.crypto.kdf.params.n = 1 << 30;
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify(hostile), password),
    'KEYSTORE_UNSUPPORTED',
    'crypto.kdf.params.n',
  );
  await rejectsWith(loadEd25519Keystore('[1, 2]', password), 'KEYSTORE_MALFORMED', 'keystore');

  // A BLS keystore (the EIP's vector) is a valid keystore but not a Palisade Ed25519 key.
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify(vectors.keystores.scrypt), vectors.password),
    'KEYSTORE_WRONG_KEY_TYPE',
  );
  // A pubkey swapped for another key's: the checksum passes, the seed does not match.
  const swapped = { ...keystore, pubkey: toHex(ed25519PublicKey(generateEd25519KeyPair().secretKey)) };
  await rejectsWith(
    loadEd25519Keystore(JSON.stringify(swapped), password),
    'KEYSTORE_PUBKEY_MISMATCH',
    'pubkey',
  );
});

test('short passwords are refused when writing', async () => {
  await rejectsWith(
    createEd25519Keystore(new Uint8Array(32), 'short\u0000\u0001', fastScrypt),
    'KEYSTORE_WEAK_PASSWORD',
  );
});
