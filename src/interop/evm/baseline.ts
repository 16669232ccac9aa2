/**
 * The m-of-n ECDSA signature set that FROST certificates are measured against (the shape of
 * Wormhole's guardian set and Ronin's validators): n secp256k1 keys, m = 2f + 1 of them each
 * signing the same EIP-712 price report, checked by `contracts/test/EcdsaSetVerifier.sol`.
 */

import { keccak256 } from '../../crypto/hash.ts';
import { evmAddress, secp256k1PublicKey, signDigestEvm } from '../../crypto/secp256k1.ts';

export interface EcdsaSignatureArgument {
  readonly index: number;
  readonly v: number;
  readonly r: Uint8Array;
  readonly s: Uint8Array;
}

export interface EcdsaSet {
  readonly secretKeys: readonly Uint8Array[];
  /** 0x-prefixed addresses, in set order. */
  readonly addresses: readonly string[];
  readonly threshold: number;
}

/** The BFT threshold 2f + 1 for n = 3f + 1 (rounded as Wormhole's ⌊2n/3⌋ + 1 is for n = 19). */
export function bftThreshold(n: number): number {
  return 2 * Math.floor((n - 1) / 3) + 1;
}

/**
 * `n` deterministic keys (test and benchmark use only) and their 2f + 1 threshold.
 * @example const set = createEcdsaSet(7, 'bench'); set.threshold; // 5
 */
export function createEcdsaSet(n: number, label: string): EcdsaSet {
  const secretKeys = Array.from({ length: n }, (_, i) =>
    keccak256(new TextEncoder().encode(`palisade ecdsa baseline ${label} ${i}`)),
  );
  const addresses = secretKeys.map(
    (key) => `0x${Buffer.from(evmAddress(secp256k1PublicKey(key))).toString('hex')}`,
  );
  return { secretKeys, addresses, threshold: bftThreshold(n) };
}

/** Signatures by the members at `indices` (ascending), as `EcdsaSetVerifier` takes them. */
export function signEcdsaSet(
  set: EcdsaSet,
  digest: Uint8Array,
  indices: readonly number[] = Array.from({ length: set.threshold }, (_, i) => i),
): EcdsaSignatureArgument[] {
  return indices.map((index) => {
    const signature = signDigestEvm(set.secretKeys[index]!, digest);
    return { index, v: signature[64]!, r: signature.slice(0, 32), s: signature.slice(32, 64) };
  });
}
