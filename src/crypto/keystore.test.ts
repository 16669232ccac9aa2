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
  openThresholdKeyFile,
  parseKeystore,
  sealThresholdKeyFile,
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

test('threshold key files: versioned, header authenticated, every alteration a typed error', () => {
  const key = new Uint8Array(32).fill(3);
  const header = { chainId: 7, epoch: 4, index: 2 };
  const secret = JSON.stringify({ signingShare: 'ab'.repeat(32) });
  const text = sealThresholdKeyFile(secret, key, header);
  assert.deepEqual(openThresholdKeyFile(text, key, header), { plaintext: secret, version: 2 });
  assert.ok(!text.includes('ab'.repeat(32)), 'the share is not stored in the clear');
  const expectCode = (mutated: string, code: KeystoreErrorCode, expected = header) =>
    assert.throws(
      () => openThresholdKeyFile(mutated, key, expected),
      (error: unknown) => error instanceof KeystoreError && error.code === code,
    );
  const record = JSON.parse(text) as Record<string, unknown>;
  expectCode(JSON.stringify({ ...record, version: 3 }), 'KEYSTORE_UNSUPPORTED');
  expectCode(JSON.stringify({ ...record, format: 'other' }), 'KEYSTORE_UNSUPPORTED');
  expectCode(JSON.stringify({ ...record, extra: 1 }), 'KEYSTORE_UNKNOWN_FIELD');
  expectCode(text.slice(0, text.length - 10), 'KEYSTORE_TRUNCATED');
  const data = String(record.data);
  const flipped = (data[0] === '0' ? '1' : '0') + data.slice(1);
  expectCode(JSON.stringify({ ...record, data: flipped }), 'KEYSTORE_TAMPERED');
  // The header is authenticated: editing it to match another epoch does not make the file that epoch's.
  expectCode(JSON.stringify({ ...record, epoch: 5 }), 'KEYSTORE_TAMPERED', { ...header, epoch: 5 });
  expectCode(text, 'KEYSTORE_TAMPERED', { ...header, index: 1 });
  assert.throws(() => openThresholdKeyFile(text, new Uint8Array(32).fill(4), header), {
    code: 'KEYSTORE_TAMPERED',
  });
});

test('threshold key files written before versioning (v1) are still read', async () => {
  const { createCipheriv } = await import('node:crypto');
  const key = new Uint8Array(32).fill(9);
  const iv = new Uint8Array(12).fill(1);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update('{"version":1}', 'utf8'), cipher.final()]);
  const legacy = JSON.stringify({
    cipher: 'aes-256-gcm',
    kdf: 'hkdf-sha256(identity seed)',
    iv: toHex(iv),
    tag: cipher.getAuthTag().toString('hex'),
    data: data.toString('hex'),
  });
  assert.deepEqual(openThresholdKeyFile(legacy, key, { chainId: 1, epoch: 1, index: 0 }), {
    plaintext: '{"version":1}',
    version: 1,
  });
});
