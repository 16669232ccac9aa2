/**
 * Ed25519 (RFC 8032) through `node:crypto`, which calls OpenSSL: about an order of magnitude
 * faster than pure JavaScript here (`palisade bench primitives` measures the ratio).
 *
 * Keys travel as raw bytes: a 32-byte seed for the secret key, a 32-byte public key, 64-byte
 * signatures. `verify` never throws; anything malformed is simply not a valid signature.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { type DomainTagValue, domainMessage } from './domain.ts';

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// DER prefixes that wrap a raw Ed25519 key as PKCS#8 / SPKI (RFC 8410), so OpenSSL can load it.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Loading a public key into OpenSSL costs more than a verification; validators reuse theirs. */
const PUBLIC_KEY_CACHE_MAX = 4096;
const publicKeyCache = new Map<string, KeyObject | null>();

export interface Ed25519KeyPair {
  readonly secretKey: Uint8Array; // 32-byte seed
  readonly publicKey: Uint8Array;
}

/** A private key bound to its public key, loaded once for fast repeated signing. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const secretKey = new Uint8Array(randomBytes(ED25519_SEED_BYTES));
  return { secretKey, publicKey: ed25519PublicKey(secretKey) };
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_SEED_BYTES) throw new TypeError('Ed25519 secret key must be a 32-byte seed');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

/**
 * A signer that keeps the loaded private key.
 * @example const signer = createEd25519Signer(seed); const signature = signer.sign(bytes);
 * @throws TypeError when the seed is not 32 bytes
 */
export function createEd25519Signer(seed: Uint8Array): Ed25519Signer {
  const key = privateKeyObject(seed);
  const publicKey = ed25519PublicKey(seed);
  return Object.freeze({
    publicKey,
    sign: (message: Uint8Array) => new Uint8Array(sign(null, message, key)),
  });
}

/** Signs raw bytes. Prefer {@link signInDomain} for anything Palisade sends. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyObject(seed)));
}

function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const cacheKey = Buffer.from(publicKey).toString('base64');
  const cached = publicKeyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  } catch {
    key = null;
  }
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_MAX) {
    const oldest = publicKeyCache.keys().next().value;
    if (oldest !== undefined) publicKeyCache.delete(oldest);
  }
  publicKeyCache.set(cacheKey, key);
  return key;
}

/** Verifies a raw Ed25519 signature; `false` for any malformed key, signature or message. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (
      !(publicKey instanceof Uint8Array) ||
      !(message instanceof Uint8Array) ||
      !(signature instanceof Uint8Array)
    ) {
      return false;
    }
    if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES)
      return false;
    const key = publicKeyObject(publicKey);
    return key !== null && verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Signs `message` in `tag`'s domain on chain `chainId` (see `domain.ts`). */
export function signInDomain(
  signer: Ed25519Signer,
  tag: DomainTagValue,
  chainId: number,
  message: Uint8Array,
): Uint8Array {
  return signer.sign(domainMessage(tag, chainId, message));
}

/** Verifies a signature made by {@link signInDomain}; `false`, never a throw, on any bad input. */
export function verifyInDomain(
  publicKey: Uint8Array,
  tag: DomainTagValue,
  chainId: number,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return ed25519Verify(publicKey, domainMessage(tag, chainId, message), signature);
  } catch {
    return false;
  }
}
