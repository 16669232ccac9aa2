/**
 * Encrypted key files in the EIP-2335 keystore format (version 4), so standard tooling reads them:
 *
 *   decryption key = scrypt or PBKDF2-HMAC-SHA256 (password, salt)          32 bytes
 *   checksum       = SHA-256(decryption key[16:32] ‖ cipher.message)
 *   secret         = AES-128-CTR(decryption key[0:16], iv) over cipher.message
 *
 * Every primitive is OpenSSL's, through `node:crypto`. Passwords are normalised as the EIP says:
 * NFKD, then the C0, C1 and Delete control codes removed, then UTF-8.
 *
 * Palisade stores Ed25519 seeds (32 bytes) as the secret. The key type is recorded in
 * `description`, which starts with `Palisade Ed25519` (EIP-2335 leaves it free-form), `pubkey` is
 * the 32-byte Ed25519 public key in hex, and `path` is empty because the key does not come from an
 * EIP-2334 tree. Loading checks the decrypted seed against `pubkey`.
 *
 * Parsing is strict and bounded: unknown fields, versions and functions are refused, KDF costs are
 * capped (a hostile file must not make us allocate gigabytes), and every failure is a
 * {@link KeystoreError} with its own code. Nothing is returned until the checksum has verified.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes, randomUUID, scrypt } from 'node:crypto';
import { bytesEqual, fromHex, toHex } from './bytes.ts';
import { ED25519_SEED_BYTES, type Ed25519KeyPair, ed25519PublicKey } from './ed25519.ts';
import { sha256 } from './hash.ts';

export type KeystoreErrorCode =
  /** The text is not a JSON object, or a field has the wrong shape. */
  | 'KEYSTORE_MALFORMED'
  /** The text ends early: the file was cut off. */
  | 'KEYSTORE_TRUNCATED'
  /** A field this version of the format does not define. */
  | 'KEYSTORE_UNKNOWN_FIELD'
  /** A version, KDF, cipher or checksum function we do not implement, or costs above our caps. */
  | 'KEYSTORE_UNSUPPORTED'
  /** The checksum does not match and the decrypted secret does not match the public key either. */
  | 'KEYSTORE_WRONG_PASSWORD'
  /** The password is right (the secret matches `pubkey`) but the stored checksum was altered. */
  | 'KEYSTORE_CHECKSUM_TAMPERED'
  /** The checksum verified but the secret does not give the recorded public key. */
  | 'KEYSTORE_PUBKEY_MISMATCH'
  /** Not a Palisade Ed25519 keystore (another key type, e.g. a BLS validator key). */
  | 'KEYSTORE_WRONG_KEY_TYPE'
  /** The password is unusable: too short after normalisation. */
  | 'KEYSTORE_WEAK_PASSWORD'
  /** A threshold key file whose ciphertext, tag or header was altered, or that is not ours. */
  | 'KEYSTORE_TAMPERED';

export class KeystoreError extends Error {
  override readonly name = 'KeystoreError';
  readonly code: KeystoreErrorCode;
  /** Dotted path of the offending field, or `keystore` for the file as a whole. */
  readonly field: string;
  constructor(code: KeystoreErrorCode, field: string, detail: string) {
    super(`${code} at ${field}: ${detail}`);
    this.code = code;
    this.field = field;
  }
}

export interface ScryptParams {
  dklen: number;
  n: number;
  r: number;
  p: number;
  salt: string;
}
export interface Pbkdf2Params {
  dklen: number;
  c: number;
  prf: 'hmac-sha256';
  salt: string;
}
export type KdfModule =
  | { function: 'scrypt'; params: ScryptParams; message: '' }
  | { function: 'pbkdf2'; params: Pbkdf2Params; message: '' };

/** An EIP-2335 keystore, as written to disk. */
export interface Keystore {
  crypto: {
    kdf: KdfModule;
    checksum: { function: 'sha256'; params: Record<string, never>; message: string };
    cipher: { function: 'aes-128-ctr'; params: { iv: string }; message: string };
  };
  description?: string;
  pubkey?: string;
  path: string;
  uuid: string;
  version: 4;
}

export const KEYSTORE_ED25519_DESCRIPTION = 'Palisade Ed25519 seed (RFC 8032)';
/** The EIP's recommended scrypt cost: about a second and 256 MiB per derivation. */
export const KEYSTORE_DEFAULT_SCRYPT = Object.freeze({ n: 262_144, r: 8, p: 1 });
export const KEYSTORE_DEFAULT_PBKDF2_ROUNDS = 262_144;
export const KEYSTORE_MIN_PASSWORD_LENGTH = 8;

/** Caps that keep a hostile file from costing more than a few seconds or 1 GiB. */
const MAX_FILE_CHARS = 64 * 1024;
const MAX_SCRYPT_N = 1 << 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;
const MAX_SCRYPT_MEMORY_BYTES = 1 << 30;
const MAX_PBKDF2_ROUNDS = 1 << 24;
const MAX_SALT_BYTES = 256;
const MAX_SECRET_BYTES = 1024;
const MAX_TEXT_FIELD_CHARS = 1024;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * EIP-2335 password normalisation: NFKD, drop C0 (U+0000–U+001F), Delete (U+007F) and
 * C1 (U+0080–U+009F) control codes, encode as UTF-8.
 * @example normalizeKeystorePassword('𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑'); // bytes of 'testpassword🔑'
 */
export function normalizeKeystorePassword(password: string): Uint8Array {
  let stripped = '';
  for (const character of password.normalize('NFKD')) {
    const codePoint = character.codePointAt(0) ?? 0;
    if (codePoint <= 0x1f || (codePoint >= 0x7f && codePoint <= 0x9f)) continue;
    stripped += character;
  }
  return new TextEncoder().encode(stripped);
}

// --- strict parsing -------------------------------------------------------------------------

type Json = Record<string, unknown>;

function fail(code: KeystoreErrorCode, field: string, detail: string): never {
  throw new KeystoreError(code, field, detail);
}

function objectAt(value: unknown, field: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('KEYSTORE_MALFORMED', field, 'expected an object');
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail('KEYSTORE_UNKNOWN_FIELD', `${field}.${key}`, 'not defined by EIP-2335');
  }
  return value as Json;
}

function stringAt(object: Json, key: string, field: string, maxChars = MAX_TEXT_FIELD_CHARS): string {
  const value = object[key];
  if (typeof value !== 'string') fail('KEYSTORE_MALFORMED', `${field}.${key}`, 'expected a string');
  if (value.length > maxChars)
    fail('KEYSTORE_MALFORMED', `${field}.${key}`, `longer than ${maxChars} characters`);
  return value;
}

function hexAt(object: Json, key: string, field: string, minBytes: number, maxBytes: number): string {
  const text = stringAt(object, key, field, 2 * maxBytes + 2);
  const bytes = fromHex(text);
  if (bytes === undefined || text.startsWith('0x') || text.startsWith('0X')) {
    fail('KEYSTORE_MALFORMED', `${field}.${key}`, 'expected hex without 0x');
  }
  if (bytes.length < minBytes || bytes.length > maxBytes) {
    fail('KEYSTORE_MALFORMED', `${field}.${key}`, `expected ${minBytes} to ${maxBytes} bytes`);
  }
  return text.toLowerCase();
}

function integerAt(object: Json, key: string, field: string, min: number, max: number): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail('KEYSTORE_MALFORMED', `${field}.${key}`, 'expected an integer');
  }
  if (value < min || value > max) fail('KEYSTORE_UNSUPPORTED', `${field}.${key}`, `must be ${min} to ${max}`);
  return value;
}

function emptyMessage(module: Json, field: string): '' {
  if (stringAt(module, 'message', field) !== '')
    fail('KEYSTORE_MALFORMED', `${field}.message`, 'must be empty');
  return '';
}

function parseKdf(value: unknown): KdfModule {
  const field = 'crypto.kdf';
  const module = objectAt(value, field, ['function', 'params', 'message']);
  const name = stringAt(module, 'function', field);
  if (name === 'scrypt') {
    const params = objectAt(module.params, `${field}.params`, ['dklen', 'n', 'r', 'p', 'salt']);
    const at = `${field}.params`;
    const n = integerAt(params, 'n', at, 2, MAX_SCRYPT_N);
    if ((n & (n - 1)) !== 0) fail('KEYSTORE_MALFORMED', `${at}.n`, 'must be a power of two');
    const r = integerAt(params, 'r', at, 1, MAX_SCRYPT_R);
    const p = integerAt(params, 'p', at, 1, MAX_SCRYPT_P);
    if (128 * n * r > MAX_SCRYPT_MEMORY_BYTES)
      fail('KEYSTORE_UNSUPPORTED', at, 'scrypt would need over 1 GiB');
    return {
      function: 'scrypt',
      params: {
        dklen: integerAt(params, 'dklen', at, 32, 32),
        n,
        r,
        p,
        salt: hexAt(params, 'salt', at, 1, MAX_SALT_BYTES),
      },
      message: emptyMessage(module, field),
    };
  }
  if (name === 'pbkdf2') {
    const params = objectAt(module.params, `${field}.params`, ['dklen', 'c', 'prf', 'salt']);
    const at = `${field}.params`;
    if (stringAt(params, 'prf', at) !== 'hmac-sha256')
      fail('KEYSTORE_UNSUPPORTED', `${at}.prf`, 'only hmac-sha256');
    return {
      function: 'pbkdf2',
      params: {
        dklen: integerAt(params, 'dklen', at, 32, 32),
        c: integerAt(params, 'c', at, 1, MAX_PBKDF2_ROUNDS),
        prf: 'hmac-sha256',
        salt: hexAt(params, 'salt', at, 1, MAX_SALT_BYTES),
      },
      message: emptyMessage(module, field),
    };
  }
  return fail('KEYSTORE_UNSUPPORTED', `${field}.function`, `'${name}' is not scrypt or pbkdf2`);
}

/**
 * Parses and validates a keystore's text without decrypting it (no KDF is run).
 * @example const keystore = parseKeystore(readFileSync(path, 'utf8')); console.log(keystore.pubkey);
 * @throws KeystoreError naming the offending field
 */
export function parseKeystore(text: string): Keystore {
  if (typeof text !== 'string') fail('KEYSTORE_MALFORMED', 'keystore', 'expected text');
  if (text.length > MAX_FILE_CHARS)
    fail('KEYSTORE_MALFORMED', 'keystore', `longer than ${MAX_FILE_CHARS} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // A file cut short is the common accident (a full disk, an interrupted copy): say so.
    const truncated =
      /end of (JSON|data)|Unterminated/i.test((error as Error).message) || !text.trimEnd().endsWith('}');
    fail(truncated ? 'KEYSTORE_TRUNCATED' : 'KEYSTORE_MALFORMED', 'keystore', (error as Error).message);
  }
  const top = objectAt(parsed, 'keystore', ['crypto', 'description', 'pubkey', 'path', 'uuid', 'version']);
  if (top.version !== 4) fail('KEYSTORE_UNSUPPORTED', 'version', `version ${String(top.version)} is not 4`);
  const crypto = objectAt(top.crypto, 'crypto', ['kdf', 'checksum', 'cipher']);
  const kdf = parseKdf(crypto.kdf);

  const checksum = objectAt(crypto.checksum, 'crypto.checksum', ['function', 'params', 'message']);
  if (stringAt(checksum, 'function', 'crypto.checksum') !== 'sha256') {
    fail('KEYSTORE_UNSUPPORTED', 'crypto.checksum.function', 'only sha256');
  }
  objectAt(checksum.params, 'crypto.checksum.params', []);
  const checksumMessage = hexAt(checksum, 'message', 'crypto.checksum', 32, 32);

  const cipher = objectAt(crypto.cipher, 'crypto.cipher', ['function', 'params', 'message']);
  if (stringAt(cipher, 'function', 'crypto.cipher') !== 'aes-128-ctr') {
    fail('KEYSTORE_UNSUPPORTED', 'crypto.cipher.function', 'only aes-128-ctr');
  }
  const cipherParams = objectAt(cipher.params, 'crypto.cipher.params', ['iv']);
  const iv = hexAt(cipherParams, 'iv', 'crypto.cipher.params', 16, 16);
  const cipherMessage = hexAt(cipher, 'message', 'crypto.cipher', 1, MAX_SECRET_BYTES);

  const uuid = stringAt(top, 'uuid', 'keystore');
  if (!UUID_PATTERN.test(uuid)) fail('KEYSTORE_MALFORMED', 'uuid', 'not an RFC 4122 UUID');
  const keystore: Keystore = {
    crypto: {
      kdf,
      checksum: { function: 'sha256', params: {}, message: checksumMessage },
      cipher: { function: 'aes-128-ctr', params: { iv }, message: cipherMessage },
    },
    path: stringAt(top, 'path', 'keystore'),
    uuid,
    version: 4,
  };
  if (top.description !== undefined) keystore.description = stringAt(top, 'description', 'keystore');
  if (top.pubkey !== undefined) keystore.pubkey = hexAt(top, 'pubkey', 'keystore', 0, 128);
  return keystore;
}

// --- encryption and decryption --------------------------------------------------------------

function hexBytes(hex: string): Uint8Array {
  return fromHex(hex) ?? new Uint8Array(0);
}

async function deriveKey(kdf: KdfModule, password: Uint8Array): Promise<Uint8Array> {
  const salt = hexBytes(kdf.params.salt);
  if (kdf.function === 'scrypt') {
    const { n, r, p, dklen } = kdf.params;
    return new Promise((resolve, reject) => {
      // OpenSSL refuses when 128·n·r exceeds maxmem; the parser already capped that at 1 GiB.
      scrypt(password, salt, dklen, { N: n, r, p, maxmem: 2 * 128 * n * r + (1 << 20) }, (error, key) =>
        error ? reject(error) : resolve(new Uint8Array(key)),
      );
    });
  }
  const { c, dklen } = kdf.params;
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, c, dklen, 'sha256', (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

function aes128Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createDecipheriv('aes-128-ctr', key, iv);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

export interface EncryptKeystoreOptions {
  kdf?: 'scrypt' | 'pbkdf2';
  /** scrypt cost; defaults to the EIP's n = 2^18, r = 8, p = 1. Tests use smaller values. */
  scrypt?: { n: number; r: number; p: number };
  /** PBKDF2 rounds; defaults to 2^18. */
  pbkdf2Rounds?: number;
  description?: string;
  pubkey?: Uint8Array;
  path?: string;
}

/**
 * Encrypts `secret` under `password` into an EIP-2335 keystore.
 * @example const keystore = await encryptKeystore(seed, password, { pubkey, description: 'my key' });
 * @throws KeystoreError KEYSTORE_WEAK_PASSWORD for a password under 8 characters after normalisation
 */
export async function encryptKeystore(
  secret: Uint8Array,
  password: string,
  options: EncryptKeystoreOptions = {},
): Promise<Keystore> {
  if (!(secret instanceof Uint8Array) || secret.length === 0 || secret.length > MAX_SECRET_BYTES) {
    throw new RangeError(`a keystore secret is 1 to ${MAX_SECRET_BYTES} bytes`);
  }
  const normalized = normalizeKeystorePassword(password);
  if ([...new TextDecoder().decode(normalized)].length < KEYSTORE_MIN_PASSWORD_LENGTH) {
    fail('KEYSTORE_WEAK_PASSWORD', 'password', `needs at least ${KEYSTORE_MIN_PASSWORD_LENGTH} characters`);
  }
  const salt = toHex(randomBytes(32));
  const kdf: KdfModule =
    options.kdf === 'pbkdf2'
      ? {
          function: 'pbkdf2',
          params: {
            dklen: 32,
            c: options.pbkdf2Rounds ?? KEYSTORE_DEFAULT_PBKDF2_ROUNDS,
            prf: 'hmac-sha256',
            salt,
          },
          message: '',
        }
      : {
          function: 'scrypt',
          params: { dklen: 32, ...(options.scrypt ?? KEYSTORE_DEFAULT_SCRYPT), salt },
          message: '',
        };
  const decryptionKey = await deriveKey(kdf, normalized);
  const iv = new Uint8Array(randomBytes(16));
  const cipherMessage = aes128Ctr(decryptionKey.subarray(0, 16), iv, secret);
  const keystore: Keystore = {
    crypto: {
      kdf,
      checksum: {
        function: 'sha256',
        params: {},
        message: toHex(sha256(decryptionKey.subarray(16, 32), cipherMessage)),
      },
      cipher: { function: 'aes-128-ctr', params: { iv: toHex(iv) }, message: toHex(cipherMessage) },
    },
    path: options.path ?? '',
    uuid: randomUUID(),
    version: 4,
  };
  if (options.description !== undefined) keystore.description = options.description;
  if (options.pubkey !== undefined) keystore.pubkey = toHex(options.pubkey);
  // Round-trip through the strict parser so we never write a file we would refuse to read.
  return parseKeystore(JSON.stringify(keystore));
}

/**
 * Decrypts any EIP-2335 keystore's secret. With `publicKeyOf`, a checksum failure is told apart:
 * if the decrypted secret still gives the recorded `pubkey`, the password was right and the
 * checksum was altered; otherwise the password is wrong.
 * @example const secret = await decryptKeystore(parseKeystore(text), password);
 * @throws KeystoreError KEYSTORE_WRONG_PASSWORD, KEYSTORE_CHECKSUM_TAMPERED
 */
export async function decryptKeystore(
  keystore: Keystore,
  password: string,
  publicKeyOf?: (secret: Uint8Array) => Uint8Array | undefined,
): Promise<Uint8Array> {
  const decryptionKey = await deriveKey(keystore.crypto.kdf, normalizeKeystorePassword(password));
  const cipherMessage = hexBytes(keystore.crypto.cipher.message);
  const checksum = sha256(decryptionKey.subarray(16, 32), cipherMessage);
  const decrypt = () =>
    aes128Ctr(decryptionKey.subarray(0, 16), hexBytes(keystore.crypto.cipher.params.iv), cipherMessage);
  if (!bytesEqual(checksum, hexBytes(keystore.crypto.checksum.message))) {
    if (publicKeyOf !== undefined && keystore.pubkey !== undefined) {
      const candidate = decrypt();
      const derived = publicKeyOf(candidate);
      candidate.fill(0);
      if (derived !== undefined && bytesEqual(derived, hexBytes(keystore.pubkey))) {
        fail(
          'KEYSTORE_CHECKSUM_TAMPERED',
          'crypto.checksum.message',
          'the password is right but the checksum was altered',
        );
      }
    }
    fail(
      'KEYSTORE_WRONG_PASSWORD',
      'password',
      'the checksum does not match: wrong password or altered ciphertext',
    );
  }
  return decrypt();
}

function ed25519PublicKeyOrUndefined(seed: Uint8Array): Uint8Array | undefined {
  return seed.length === ED25519_SEED_BYTES ? ed25519PublicKey(seed) : undefined;
}

/**
 * Encrypts an Ed25519 seed as a Palisade keystore (key type in `description`, public key in `pubkey`).
 * @example const keystore = await createEd25519Keystore(seed, password);
 * @throws KeystoreError KEYSTORE_WEAK_PASSWORD
 */
export async function createEd25519Keystore(
  seed: Uint8Array,
  password: string,
  options: Omit<EncryptKeystoreOptions, 'pubkey' | 'description' | 'path'> & { label?: string } = {},
): Promise<Keystore> {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new RangeError('an Ed25519 secret key is a 32-byte seed');
  }
  const { label, ...rest } = options;
  return encryptKeystore(seed, password, {
    ...rest,
    pubkey: ed25519PublicKey(seed),
    description:
      label === undefined ? KEYSTORE_ED25519_DESCRIPTION : `${KEYSTORE_ED25519_DESCRIPTION}: ${label}`,
    path: '',
  });
}

/**
 * Reads a Palisade Ed25519 keystore: parses strictly, decrypts, and checks the seed against `pubkey`.
 * Returns the key pair only when every check passed.
 * @example const { secretKey, publicKey } = await loadEd25519Keystore(readFileSync(file, 'utf8'), password);
 * @throws KeystoreError with a code for each failure (truncated, unknown field, wrong password, ...)
 */
export async function loadEd25519Keystore(text: string, password: string): Promise<Ed25519KeyPair> {
  const keystore = parseKeystore(text);
  if (!keystore.description?.startsWith(KEYSTORE_ED25519_DESCRIPTION)) {
    fail('KEYSTORE_WRONG_KEY_TYPE', 'description', `does not start with '${KEYSTORE_ED25519_DESCRIPTION}'`);
  }
  if (keystore.pubkey === undefined || keystore.pubkey.length !== 64) {
    fail('KEYSTORE_MALFORMED', 'pubkey', 'an Ed25519 keystore records its 32-byte public key');
  }
  const seed = await decryptKeystore(keystore, password, ed25519PublicKeyOrUndefined);
  const publicKey = ed25519PublicKeyOrUndefined(seed);
  if (publicKey === undefined || !bytesEqual(publicKey, hexBytes(keystore.pubkey))) {
    seed.fill(0);
    fail('KEYSTORE_PUBKEY_MISMATCH', 'pubkey', 'the decrypted seed gives another public key');
  }
  return { secretKey: seed, publicKey };
}

// --- threshold key files ----------------------------------------------------------------------

/**
 * The at-rest format of a validator's threshold key package (the FROST share of the price keyset,
 * one file per epoch). Version 2:
 *
 *   { "format": "palisade-threshold-key", "version": 2, "chainId", "epoch", "index",
 *     "cipher": "aes-256-gcm", "iv": 12 bytes hex, "tag": 16 bytes hex, "data": hex }
 *
 * The key is 32 bytes the caller derives (HKDF-SHA-256 of the identity seed, per chain and epoch);
 * the header fields are the AES-GCM additional data, so a header edited, or a file copied under
 * another epoch's or validator's name, fails authentication like an altered ciphertext. Version 1
 * (the envelope without format or version, header not authenticated) is still read.
 */
export const THRESHOLD_KEY_FILE_FORMAT = 'palisade-threshold-key';
export const THRESHOLD_KEY_FILE_VERSION = 2;
const MAX_THRESHOLD_KEY_FILE_CHARS = 1 << 20;

export interface ThresholdKeyFileHeader {
  readonly chainId: number;
  readonly epoch: number;
  readonly index: number;
}

function thresholdAdditionalData(header: ThresholdKeyFileHeader): Buffer {
  return Buffer.from(
    `${THRESHOLD_KEY_FILE_FORMAT}/v${THRESHOLD_KEY_FILE_VERSION}/chain ${header.chainId}/epoch ${header.epoch}/index ${header.index}`,
  );
}

/**
 * Encrypts a threshold key package's JSON text into a version-2 key file's text.
 * @example const text = sealThresholdKeyFile(JSON.stringify(contents), key, { chainId, epoch, index });
 */
export function sealThresholdKeyFile(
  plaintext: string,
  key: Uint8Array,
  header: ThresholdKeyFileHeader,
): string {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new RangeError('a key file key is 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(thresholdAdditionalData(header));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return JSON.stringify({
    format: THRESHOLD_KEY_FILE_FORMAT,
    version: THRESHOLD_KEY_FILE_VERSION,
    chainId: header.chainId,
    epoch: header.epoch,
    index: header.index,
    cipher: 'aes-256-gcm',
    iv: iv.toString('hex'),
    tag: cipher.getAuthTag().toString('hex'),
    data: data.toString('hex'),
  });
}

/**
 * Checks and decrypts a threshold key file: the version is checked before anything else, then the
 * header against `expected`, then the authentication tag. Returns the plaintext and the version
 * it was stored in (1 for files written before the format was versioned).
 * @throws KeystoreError KEYSTORE_TRUNCATED, KEYSTORE_MALFORMED, KEYSTORE_UNKNOWN_FIELD,
 *   KEYSTORE_UNSUPPORTED (unknown version or cipher), KEYSTORE_TAMPERED
 */
export function openThresholdKeyFile(
  text: string,
  key: Uint8Array,
  expected: ThresholdKeyFileHeader,
): { plaintext: string; version: 1 | 2 } {
  if (typeof text !== 'string' || text.length > MAX_THRESHOLD_KEY_FILE_CHARS)
    fail('KEYSTORE_MALFORMED', 'keyfile', 'not a key file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const truncated = !text.trimEnd().endsWith('}');
    fail(truncated ? 'KEYSTORE_TRUNCATED' : 'KEYSTORE_MALFORMED', 'keyfile', (error as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    fail('KEYSTORE_MALFORMED', 'keyfile', 'expected an object');
  const record = parsed as Json;
  const legacy = record.format === undefined && record.version === undefined;
  const version = legacy ? 1 : record.version;
  if (!legacy && record.format !== THRESHOLD_KEY_FILE_FORMAT)
    fail('KEYSTORE_UNSUPPORTED', 'format', `'${String(record.format)}' is not ${THRESHOLD_KEY_FILE_FORMAT}`);
  if (version !== 1 && version !== THRESHOLD_KEY_FILE_VERSION)
    fail('KEYSTORE_UNSUPPORTED', 'version', `threshold key file version ${String(version)} is not 1 or 2`);
  const allowed =
    version === 1
      ? ['cipher', 'kdf', 'iv', 'tag', 'data']
      : ['format', 'version', 'chainId', 'epoch', 'index', 'cipher', 'iv', 'tag', 'data'];
  const envelope = objectAt(record, 'keyfile', allowed);
  if (stringAt(envelope, 'cipher', 'keyfile') !== 'aes-256-gcm')
    fail('KEYSTORE_UNSUPPORTED', 'keyfile.cipher', 'only aes-256-gcm');
  const iv = hexBytes(hexAt(envelope, 'iv', 'keyfile', 12, 12));
  const tag = hexBytes(hexAt(envelope, 'tag', 'keyfile', 16, 16));
  const data = hexBytes(hexAt(envelope, 'data', 'keyfile', 1, MAX_THRESHOLD_KEY_FILE_CHARS / 2));
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  if (version === THRESHOLD_KEY_FILE_VERSION) {
    for (const field of ['chainId', 'epoch', 'index'] as const) {
      const value = integerAt(envelope, field, 'keyfile', 0, Number.MAX_SAFE_INTEGER);
      if (value !== expected[field])
        fail(
          'KEYSTORE_TAMPERED',
          `keyfile.${field}`,
          `the file is for ${field} ${value}, not ${expected[field]}`,
        );
    }
    decipher.setAAD(thresholdAdditionalData(expected));
  }
  decipher.setAuthTag(tag);
  try {
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);
    return { plaintext: plain.toString('utf8'), version: version as 1 | 2 };
  } catch {
    return fail(
      'KEYSTORE_TAMPERED',
      'keyfile.tag',
      'authentication failed: altered, or encrypted for another validator',
    );
  }
}
