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
 * SHA-256 of one input as a plain `Uint8Array` over its own 32-byte buffer. The one-shot
 * `crypto.hash` is used rather than `createHash().update().digest()` (no Hash object per call), and
 * its digest is taken as a 'binary' (latin1) string, one char per byte, copied into a fresh array: a `'buffer'`
 * digest allocates an ArrayBuffer outside V8's heap each time, which cost three times the hash of a
 * 100–300-byte input (1.4 µs against 0.47 µs per digest on the project's machine; `palisade bench
 * primitives`, Merkle root and state commitment rows, measure the effect).
 */
export function sha256Digest(bytes: Uint8Array): Uint8Array {
  const binary = oneShot('sha256', bytes, 'binary');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** SHA-256 of the concatenation of `parts` (see `sha256Digest`). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  return sha256Digest(joined(parts));
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
