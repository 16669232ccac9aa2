/**
 * Hash functions. SHA-256 comes from OpenSSL through `node:crypto`; keccak-256 (what the EVM
 * uses) from `@noble/hashes`, which is audited and has no native dependency.
 */
import { createHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest().buffer.slice(0) as ArrayBuffer);
}

/** Keccak-256 (the EVM's `keccak256`, not NIST SHA3-256) of the concatenation of `parts`. */
export function keccak256(...parts: Uint8Array[]): Uint8Array {
  const hash = keccak_256.create();
  for (const part of parts) hash.update(part);
  return hash.digest();
}
