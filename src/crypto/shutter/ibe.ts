/**
 * Shutter's identity-based encryption on BLS12-381, byte-compatible with the scheme Shutter
 * runs since its April–June 2024 move to BLS12-381 and blst (shlib/shcrypto ≥ v0.1.18, version
 * byte 0x03). It is the Boneh–Franklin "FullIdent" construction (Boneh & Franklin 2001, §4.2,
 * the Fujisaki–Okamoto transform of BasicIdent) with the eon key in G2:
 *
 *   eon key           P = s·g2                       (G2, 96-byte compressed)
 *   identity          Q = H1(id) = hash_to_G1(0x01 ‖ id)   (RFC 9380, SSWU, XMD:SHA-256,
 *                                                            DST SHUTTER_V01_BLS12381G1_XMD:SHA-256_SSWU_RO_)
 *   decryption key    K = s·Q                        (G1, 48-byte compressed)
 *   encryption        σ random 32 bytes, r = H3(σ ‖ m) = keccak(0x03 ‖ σ ‖ m) mod q
 *                     C1 = r·g2
 *                     C2 = σ ⊕ H2(e(Q, P)^r),   H2(x) = keccak(0x02 ‖ x as 576 big-endian bytes)
 *                     C3_i = block_i ⊕ H4(σ ‖ i), H4(y) = keccak(0x04 ‖ y), i as its minimal
 *                            big-endian bytes (0 is one zero byte)
 *                     blocks = m with PKCS#7 padding to 32-byte blocks (always 1..32 bytes added)
 *   wire              0x03 ‖ C1 ‖ C2 ‖ C3_0 ‖ … ‖ C3_{n−1}
 *   decryption        σ = C2 ⊕ H2(e(K, C1)), blocks, unpad, then require C1 = H3(σ ‖ m)·g2.
 *
 * The last step is what makes a tampered ciphertext fail instead of decrypting to garbage: a
 * change to C1, C2 or any C3 block changes σ or m, so the recomputed C1 no longer matches (the
 * FO transform's re-encryption check). Unpadding follows shcrypto exactly: only the last byte is
 * read (1..32), the padding bytes before it are not compared; the C1 check covers them.
 *
 * A decryption key is checked against the eon key by the pairing equation e(K, g2) = e(Q, P),
 * evaluated as one product e(K, −g2)·e(Q, P) = 1. shcrypto's `VerifyEpochSecretKey` instead
 * encrypts a random message and decrypts it with K; both accept exactly the keys s·Q.
 *
 * All curve, field and pairing arithmetic is `@noble/curves`' (bls12-381, RFC 9380 hashing);
 * keccak is `@noble/hashes`'. This module only arranges it.
 */
import { bls12_381, bls12_381_Fr } from '@noble/curves/bls12-381.js';
import { CodecError } from '../../codec/errors.ts';
import { invariant } from '../../codec/invariant.ts';
import { keccak256 } from '../hash.ts';
import { nobleBackend, nobleGtBytes, type PairingBackend } from './pairing-backend.ts';

export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export type G1Point = InstanceType<typeof G1>;
export type G2Point = InstanceType<typeof G2>;
/** The BLS12-381 scalar field (mod q = 0x73ed…0001). */
export const Fr = bls12_381_Fr;
const Fp12 = bls12_381.fields.Fp12;
type Gt = ReturnType<typeof bls12_381.pairing>;

/** Shutter's hash-to-G1 domain separation tag (shcrypto `HashToG1DST`). */
export const SHUTTER_HASH_TO_G1_DST = 'SHUTTER_V01_BLS12381G1_XMD:SHA-256_SSWU_RO_';
/** The version byte that starts every BLS12-381 ciphertext (shcrypto `VersionIdentifier`). */
export const SHUTTER_CIPHERTEXT_VERSION = 0x03;
export const SHUTTER_BLOCK_BYTES = 32;
export const G1_COMPRESSED_BYTES = 48;
export const G2_COMPRESSED_BYTES = 96;
const HEADER_BYTES = 1 + G2_COMPRESSED_BYTES + SHUTTER_BLOCK_BYTES;
/** The default bound on a decoded ciphertext's blocks (64 KiB of plaintext). */
export const CIPHERTEXT_BLOCKS_MAX_DEFAULT = 2048;

export interface ShutterCiphertext {
  readonly c1: G2Point;
  readonly c2: Uint8Array;
  readonly c3: readonly Uint8Array[];
}

/** Why a ciphertext did not decrypt: an expected outcome (the sender's fault), not a bug. */
export type DecryptFailure = 'INVALID_PADDING' | 'C1_MISMATCH' | 'MALFORMED';
export type DecryptResult =
  | { readonly ok: true; readonly message: Uint8Array }
  | { readonly ok: false; readonly reason: DecryptFailure };

/** H1: the identity point Q for the identity preimage `id` (shcrypto `Hash1`). */
export function shutterIdentityPoint(id: Uint8Array): G1Point {
  const prefixed = new Uint8Array(id.length + 1);
  prefixed[0] = 0x01;
  prefixed.set(id, 1);
  return bls12_381.G1.hashToCurve(prefixed, { DST: SHUTTER_HASH_TO_G1_DST }) as G1Point;
}

/** H2: keccak(0x02 ‖ the GT element in shcrypto's 576-byte order). */
function hashGtBytes(gtBytes: Uint8Array): Uint8Array {
  return keccak256(Uint8Array.of(0x02), gtBytes);
}

function hashGt(value: Gt): Uint8Array {
  return hashGtBytes(nobleGtBytes(value));
}

function hashToScalar(sigma: Uint8Array, message: Uint8Array): bigint {
  const digest = keccak256(Uint8Array.of(0x03), sigma, message);
  let value = 0n;
  for (const byte of digest) value = (value << 8n) | BigInt(byte);
  return Fr.create(value);
}

function minimalBigEndian(index: number): Uint8Array {
  if (index === 0) return Uint8Array.of(0);
  const bytes: number[] = [];
  for (let rest = index; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.from(bytes);
}

function blockKey(sigma: Uint8Array, index: number): Uint8Array {
  return keccak256(Uint8Array.of(0x04), sigma, minimalBigEndian(index));
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  invariant(a.length === b.length, 'xor of unequal lengths');
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function pad(message: Uint8Array): Uint8Array[] {
  const padding = SHUTTER_BLOCK_BYTES - (message.length % SHUTTER_BLOCK_BYTES);
  const padded = new Uint8Array(message.length + padding).fill(padding);
  padded.set(message);
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < padded.length; i += SHUTTER_BLOCK_BYTES)
    blocks.push(padded.subarray(i, i + SHUTTER_BLOCK_BYTES));
  return blocks;
}

/** shcrypto's `UnpadMessage`: zero blocks is the empty message; else the last byte is 1..32. */
function unpad(blocks: readonly Uint8Array[]): Uint8Array | undefined {
  if (blocks.length === 0) return new Uint8Array(0);
  const padding = blocks[blocks.length - 1]![SHUTTER_BLOCK_BYTES - 1]!;
  if (padding === 0 || padding > SHUTTER_BLOCK_BYTES) return undefined;
  const joined = new Uint8Array(blocks.length * SHUTTER_BLOCK_BYTES);
  for (let i = 0; i < blocks.length; i++) joined.set(blocks[i]!, i * SHUTTER_BLOCK_BYTES);
  return joined.slice(0, joined.length - padding);
}

/** e(Q, P)^r computed as e(r·Q, P): the same GT element, one G1 multiplication instead of a GT power. */
function maskFor(r: bigint, identity: G1Point, eonPublicKey: G2Point): Uint8Array {
  return hashGt(bls12_381.pairing(identity.multiply(r), eonPublicKey));
}

/**
 * Encrypts `message` to `identity` under `eonPublicKey` with the 32 random bytes `sigma`.
 * `sigma` must be fresh and secret per message: it determines r.
 * @example
 * const ciphertext = shutterEncrypt(order, eonKey, shutterIdentityPoint(id), randomBytes(32));
 */
export function shutterEncrypt(
  message: Uint8Array,
  eonPublicKey: G2Point,
  identity: G1Point,
  sigma: Uint8Array,
): ShutterCiphertext {
  invariant(sigma.length === SHUTTER_BLOCK_BYTES, 'sigma must be 32 bytes');
  invariant(!eonPublicKey.is0() && !identity.is0(), 'eon key and identity must not be the identity point');
  const r = hashToScalar(sigma, message);
  invariant(r !== 0n, 'r = 0 (probability 2^-255)');
  const c2 = xor(sigma, maskFor(r, identity, eonPublicKey));
  const c3 = pad(message).map((block, i) => xor(block, blockKey(sigma, i)));
  return Object.freeze({ c1: G2.BASE.multiply(r), c2, c3: Object.freeze(c3) });
}

/** Encrypts to one identity under one eon key; see `createShutterEncryptor`. */
export interface ShutterEncryptor {
  /** The wire form (`encodeShutterCiphertext`) of `message` encrypted with the 32 bytes `sigma`. */
  encrypt(message: Uint8Array, sigma: Uint8Array): Uint8Array;
}

/**
 * Encryption to `identity` under `eonPublicKey` on `backend`, with the work that depends on them
 * alone done once: e(Q, P). Each message then costs a power of it in GT, r·g2 and hashes, instead
 * of a pairing (e(Q, P)^r = e(r·Q, P), the same GT element, so the same bytes as `shutterEncrypt`
 * for the same σ: ./pairing-backend.test.ts). A client prepares the encryptor of an order's
 * identity before the order exists (src/crypto/shutter/envelope.ts `prepareOrderSealing`).
 * @example const encryptor = createShutterEncryptor(eonKey, shutterIdentityPoint(id), await createMclBackend());
 */
export function createShutterEncryptor(
  eonPublicKey: G2Point,
  identity: G1Point,
  backend: PairingBackend = nobleBackend,
): ShutterEncryptor {
  invariant(!eonPublicKey.is0() && !identity.is0(), 'eon key and identity must not be the identity point');
  const power = backend.preparePairing(identity.toBytes(true), eonPublicKey.toBytes(true));
  invariant(power !== undefined, 'the eon key and the identity are points of their groups');
  return Object.freeze({
    encrypt(message: Uint8Array, sigma: Uint8Array): Uint8Array {
      invariant(sigma.length === SHUTTER_BLOCK_BYTES, 'sigma must be 32 bytes');
      const r = hashToScalar(sigma, message);
      invariant(r !== 0n, 'r = 0 (probability 2^-255)');
      const blocks = pad(message);
      const out = new Uint8Array(HEADER_BYTES + blocks.length * SHUTTER_BLOCK_BYTES);
      out[0] = SHUTTER_CIPHERTEXT_VERSION;
      out.set(backend.g2BaseMultiply(r), 1);
      out.set(xor(sigma, hashGtBytes(power(r))), 1 + G2_COMPRESSED_BYTES);
      blocks.forEach((block, i) => {
        out.set(xor(block, blockKey(sigma, i)), HEADER_BYTES + i * SHUTTER_BLOCK_BYTES);
      });
      return out;
    },
  });
}

/**
 * Decrypts with the identity's decryption key. A ciphertext that does not decrypt under it
 * (tampered, or made for another identity or key) returns `{ ok: false }`; it never throws.
 */
export function shutterDecrypt(ciphertext: ShutterCiphertext, decryptionKey: G1Point): DecryptResult {
  if (decryptionKey.is0() || ciphertext.c1.is0()) return { ok: false, reason: 'C1_MISMATCH' };
  const sigma = xor(ciphertext.c2, hashGt(bls12_381.pairing(decryptionKey, ciphertext.c1)));
  const message = unpad(ciphertext.c3.map((block, i) => xor(block, blockKey(sigma, i))));
  if (message === undefined) return { ok: false, reason: 'INVALID_PADDING' };
  const r = hashToScalar(sigma, message);
  if (r === 0n || !G2.BASE.multiply(r).equals(ciphertext.c1)) return { ok: false, reason: 'C1_MISMATCH' };
  return { ok: true, message };
}

/** e(K, g2) = e(Q, P): the decryption key is s·Q for the eon key P = s·g2. Never throws. */
export function verifyShutterDecryptionKey(
  decryptionKey: G1Point,
  eonPublicKey: G2Point,
  identity: G1Point,
): boolean {
  if (decryptionKey.is0() || eonPublicKey.is0() || identity.is0()) return false;
  const product = bls12_381.pairingBatch([
    { g1: decryptionKey, g2: G2.BASE.negate() },
    { g1: identity, g2: eonPublicKey },
  ]);
  return Fp12.eql(product, Fp12.ONE);
}

/** The wire form 0x03 ‖ C1 ‖ C2 ‖ C3 (shcrypto `EncryptedMessage.Marshal`). */
export function encodeShutterCiphertext(ciphertext: ShutterCiphertext): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + ciphertext.c3.length * SHUTTER_BLOCK_BYTES);
  out[0] = SHUTTER_CIPHERTEXT_VERSION;
  out.set(ciphertext.c1.toBytes(true), 1);
  out.set(ciphertext.c2, 1 + G2_COMPRESSED_BYTES);
  for (let i = 0; i < ciphertext.c3.length; i++)
    out.set(ciphertext.c3[i]!, HEADER_BYTES + i * SHUTTER_BLOCK_BYTES);
  return out;
}

/**
 * Decodes a ciphertext from untrusted bytes: the version, whole blocks, at most `blocksMax` of
 * them, and C1 a canonical point of G2's prime-order subgroup.
 * @throws {CodecError} on any malformed input.
 */
export function decodeShutterCiphertext(
  bytes: Uint8Array,
  blocksMax: number = CIPHERTEXT_BLOCKS_MAX_DEFAULT,
): ShutterCiphertext {
  const field = 'shutterCiphertext';
  if (bytes.length < HEADER_BYTES) throw new CodecError('MESSAGE_TOO_SHORT', field, `${bytes.length} bytes`);
  if (bytes[0] !== SHUTTER_CIPHERTEXT_VERSION)
    throw new CodecError('UNKNOWN_VERSION', `${field}.version`, `version ${bytes[0]}`);
  const bodyBytes = bytes.length - HEADER_BYTES;
  if (bodyBytes % SHUTTER_BLOCK_BYTES !== 0)
    throw new CodecError('MALFORMED_FIELD', `${field}.c3`, 'not a whole number of 32-byte blocks');
  if (bodyBytes / SHUTTER_BLOCK_BYTES > blocksMax)
    throw new CodecError('MESSAGE_TOO_LARGE', `${field}.c3`, `more than ${blocksMax} blocks`);
  const c1 = decodeG2(bytes.subarray(1, 1 + G2_COMPRESSED_BYTES), `${field}.c1`);
  const c2 = bytes.slice(1 + G2_COMPRESSED_BYTES, HEADER_BYTES);
  const c3: Uint8Array[] = [];
  for (let offset = HEADER_BYTES; offset < bytes.length; offset += SHUTTER_BLOCK_BYTES)
    c3.push(bytes.slice(offset, offset + SHUTTER_BLOCK_BYTES));
  return Object.freeze({ c1, c2, c3: Object.freeze(c3) });
}

/**
 * A compressed G2 point (96 bytes) in the prime-order subgroup.
 * @throws {CodecError}
 */
export function decodeG2(bytes: Uint8Array, field: string): G2Point {
  if (bytes.length !== G2_COMPRESSED_BYTES) throw new CodecError('MALFORMED_FIELD', field, 'need 96 bytes');
  try {
    const point = G2.fromBytes(bytes);
    point.assertValidity();
    return point;
  } catch (cause) {
    throw new CodecError('INVALID_VALUE', field, 'not a point of G2', { cause });
  }
}

/**
 * A compressed G1 point (48 bytes) in the prime-order subgroup.
 * @throws {CodecError}
 */
export function decodeG1(bytes: Uint8Array, field: string): G1Point {
  if (bytes.length !== G1_COMPRESSED_BYTES) throw new CodecError('MALFORMED_FIELD', field, 'need 48 bytes');
  try {
    const point = G1.fromBytes(bytes);
    point.assertValidity();
    return point;
  } catch (cause) {
    throw new CodecError('INVALID_VALUE', field, 'not a point of G1', { cause });
  }
}

/**
 * Decrypts wire bytes with a compressed key on `backend` (./pairing-backend.ts), the block rule's
 * fast path. C1 is never decompressed by itself: it is paired (the backend checks it is in G2) and
 * then compared byte for byte with the canonical encoding of H3(σ ‖ m)·g2, which any other
 * encoding of any point fails. Malformed bytes are a `MALFORMED` outcome, not a throw.
 */
export function shutterDecryptBytes(
  wire: Uint8Array,
  decryptionKey: Uint8Array,
  backend: PairingBackend = nobleBackend,
  blocksMax: number = CIPHERTEXT_BLOCKS_MAX_DEFAULT,
): DecryptResult {
  const malformed = { ok: false, reason: 'MALFORMED' } as const;
  if (wire.length < HEADER_BYTES || wire[0] !== SHUTTER_CIPHERTEXT_VERSION) return malformed;
  const bodyBytes = wire.length - HEADER_BYTES;
  if (bodyBytes % SHUTTER_BLOCK_BYTES !== 0 || bodyBytes / SHUTTER_BLOCK_BYTES > blocksMax) return malformed;
  const c1 = wire.subarray(1, 1 + G2_COMPRESSED_BYTES);
  const gt = backend.pairingBytes(decryptionKey, c1);
  if (gt === undefined) return malformed;
  const sigma = xor(wire.subarray(1 + G2_COMPRESSED_BYTES, HEADER_BYTES), hashGtBytes(gt));
  const blocks: Uint8Array[] = [];
  for (let offset = HEADER_BYTES, i = 0; offset < wire.length; offset += SHUTTER_BLOCK_BYTES, i++)
    blocks.push(xor(wire.subarray(offset, offset + SHUTTER_BLOCK_BYTES), blockKey(sigma, i)));
  const message = unpad(blocks);
  if (message === undefined) return { ok: false, reason: 'INVALID_PADDING' };
  const r = hashToScalar(sigma, message);
  if (r === 0n) return { ok: false, reason: 'C1_MISMATCH' };
  const expected = backend.g2BaseMultiply(r);
  for (let i = 0; i < G2_COMPRESSED_BYTES; i++)
    if (expected[i] !== c1[i]) return { ok: false, reason: 'C1_MISMATCH' };
  return { ok: true, message };
}
