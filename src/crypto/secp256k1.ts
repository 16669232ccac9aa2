/**
 * secp256k1 ECDSA for what EVM contracts verify (`ecrecover`), through `@noble/curves` (audited,
 * used by ethers and viem): deterministic RFC 6979 nonces, low-S signatures (EIP-2), public-key
 * recovery, and Ethereum addresses (the last 20 bytes of keccak-256 of the uncompressed point).
 *
 * Signatures travel in the EVM's 65-byte form `r ‖ s ‖ v` with v = 27 + recovery id, which is what
 * `ecrecover` and OpenZeppelin's `ECDSA.recover` take. Messages are 32-byte digests the caller
 * built (an EIP-712 hash, a keccak of a domain-separated encoding): this module never hashes for
 * the caller, so what is signed is always explicit. Verification never throws.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesEqual, toHex } from './bytes.ts';
import { keccak256 } from './hash.ts';

export const SECP256K1_SECRET_KEY_BYTES = 32;
export const EVM_SIGNATURE_BYTES = 65;
export const EVM_ADDRESS_BYTES = 20;
const DIGEST_BYTES = 32;

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) {
    throw new TypeError('secp256k1 signs a 32-byte digest');
  }
}

/** A fresh random secret key (a scalar in [1, n − 1]). */
export function generateSecp256k1SecretKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

/**
 * The public key of `secretKey`: 33-byte compressed by default, 65-byte uncompressed on request.
 * @example const publicKey = secp256k1PublicKey(secretKey);
 * @throws Error for a secret key outside [1, n − 1]
 */
export function secp256k1PublicKey(secretKey: Uint8Array, compressed = true): Uint8Array {
  return secp256k1.getPublicKey(secretKey, compressed);
}

/**
 * The Ethereum address of a public key (compressed or not): keccak-256 of the 64-byte point, last 20 bytes.
 * @example const address = evmAddress(secp256k1PublicKey(secretKey));
 * @throws Error when the bytes are not a point on the curve
 */
export function evmAddress(publicKey: Uint8Array): Uint8Array {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  return keccak256(uncompressed.subarray(1)).slice(12);
}

/**
 * An address in EIP-55 mixed-case checksum form, for display and configuration files.
 * @example evmAddressChecksummed(address); // '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'
 */
export function evmAddressChecksummed(address: Uint8Array): string {
  if (!(address instanceof Uint8Array) || address.length !== EVM_ADDRESS_BYTES) {
    throw new TypeError('an EVM address is 20 bytes');
  }
  const lower = toHex(address);
  const hash = toHex(keccak256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    const character = lower[i]!;
    out += Number.parseInt(hash[i]!, 16) >= 8 ? character.toUpperCase() : character;
  }
  return out;
}

/**
 * Signs a 32-byte digest; returns `r ‖ s ‖ v` (65 bytes, v ∈ {27, 28}, low s).
 * @example const signature = signDigestEvm(secretKey, eip712Digest);
 * @throws TypeError when the digest is not 32 bytes; Error for an invalid secret key
 */
export function signDigestEvm(secretKey: Uint8Array, digest: Uint8Array): Uint8Array {
  checkDigest(digest);
  const recovered = secp256k1.sign(digest, secretKey, { prehash: false, lowS: true, format: 'recovered' });
  // @noble/curves puts the recovery id first; the EVM wants it last, plus 27.
  const out = new Uint8Array(EVM_SIGNATURE_BYTES);
  out.set(recovered.subarray(1, 65), 0);
  out[64] = 27 + (recovered[0] ?? 0);
  return out;
}

/**
 * The address that signed `digest`, as `ecrecover` computes it; undefined for any malformed or
 * high-s signature (EIP-2 rejects high s, as OpenZeppelin's ECDSA does). Never throws.
 * @example const signer = recoverEvmAddress(digest, signature);
 */
export function recoverEvmAddress(digest: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  try {
    if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) return undefined;
    if (!(signature instanceof Uint8Array) || signature.length !== EVM_SIGNATURE_BYTES) return undefined;
    const v = signature[64]!;
    if (v !== 27 && v !== 28) return undefined;
    const parsed = secp256k1.Signature.fromBytes(signature.subarray(0, 64), 'compact');
    if (parsed.hasHighS()) return undefined;
    const point = parsed.addRecoveryBit(v - 27).recoverPublicKey(digest);
    return keccak256(point.toBytes(false).subarray(1)).slice(12);
  } catch {
    return undefined;
  }
}

/**
 * True when `signature` (65-byte EVM form) over `digest` recovers to `address`; never throws.
 * @example verifyDigestEvm(address, digest, signature); // true
 */
export function verifyDigestEvm(address: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if (!(address instanceof Uint8Array) || address.length !== EVM_ADDRESS_BYTES) return false;
  const recovered = recoverEvmAddress(digest, signature);
  return recovered !== undefined && bytesEqual(recovered, address);
}
