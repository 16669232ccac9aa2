/**
 * The validator set: public keys by index, the fault bound f and the quorum. For n validators,
 * f = ⌊(n − 1) / 3⌋ and a quorum is n − f (= 2f + 1 when n = 3f + 1): any two quorums share at
 * least f + 1 validators, hence one honest one (Simplex, §2).
 */
import { MAX_VALIDATORS } from '../codec/consensus.ts';
import { invariant } from '../codec/invariant.ts';
import { ED25519_PUBLIC_KEY_BYTES } from '../crypto/ed25519.ts';

export interface ValidatorSet {
  readonly publicKeys: readonly Uint8Array[];
  readonly size: number;
  readonly maxFaulty: number;
  readonly quorum: number;
}

/**
 * @example const set = createValidatorSet(keys); set.quorum; // 3 for four validators
 * @throws InvariantError when the set is empty, too large or a key is not 32 bytes
 */
export function createValidatorSet(publicKeys: readonly Uint8Array[]): ValidatorSet {
  invariant(publicKeys.length >= 1 && publicKeys.length <= MAX_VALIDATORS, `1..${MAX_VALIDATORS} validators`);
  for (const key of publicKeys)
    invariant(key.length === ED25519_PUBLIC_KEY_BYTES, 'public keys are 32 bytes');
  const size = publicKeys.length;
  const maxFaulty = Math.floor((size - 1) / 3);
  return Object.freeze({
    publicKeys: Object.freeze(publicKeys.map((key) => key.slice())),
    size,
    maxFaulty,
    quorum: size - maxFaulty,
  });
}

/**
 * The leader of `view`: round robin over indices, known to all (Simplex, §3 "leader election";
 * deterministic rotation as Commonware's round-robin elector). View 0 is genesis and has none.
 */
export function leaderOf(set: ValidatorSet, view: number): number {
  return view % set.size;
}
