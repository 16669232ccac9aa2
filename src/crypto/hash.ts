/**
 * Hash functions. SHA-256 comes from OpenSSL through `node:crypto`; keccak-256 (what the EVM
 * uses) from `@noble/hashes`, which is audited and has no native dependency.
 */
import { hash as oneShot } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';

/** One input from the parts, copied only when there are several. */
function joined(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * SHA-256 of the concatenation of `parts`, as a plain `Uint8Array` over its own 32-byte buffer.
 * The one-shot `crypto.hash` is used rather than `createHash().update().digest()`: no Hash object
 * per call, 2.5× faster on the 100–300-byte inputs that dominate (transactions, state records;
 * measured 5 µs against 13 µs per hash on the project's machine).
 */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const digest = oneShot('sha256', joined(parts), 'buffer');
  // The digest owns its buffer (offset 0, 32 bytes); a plain view of it, not a Buffer, is what
  // callers compare and store. Should a Node version hand out a pooled slice, copy instead.
  if (digest.byteOffset === 0 && digest.buffer.byteLength === 32) return new Uint8Array(digest.buffer);
  return new Uint8Array(digest);
}

/** SHA-256 of `bytes` as 64 lowercase hex digits (a map key: no bytes object, no second pass). */
export function sha256Hex(bytes: Uint8Array): string {
  return oneShot('sha256', bytes, 'hex');
}

/** Keccak-256 (the EVM's `keccak256`, not NIST SHA3-256) of the concatenation of `parts`. */
export function keccak256(...parts: Uint8Array[]): Uint8Array {
  const hash = keccak_256.create();
  for (const part of parts) hash.update(part);
  return hash.digest();
}
