/**
 * The eon keyset of a simulated network with fair ordering (issue 14): every validator deals once
 * with the eon DKG's own dealing (src/crypto/shutter/eon-dkg.ts `dealEon`), every dealing is
 * qualified (the simulator's dealers are honest dealers: a Byzantine validator's misbehaviour is in
 * its proposals, not in its dealing), and each validator's secret share is the sum of what it was
 * dealt (`combineEonSecretShare`). The dealing runs in process before the network starts, in place
 * of the DKG rounds over the network a real eon takes; the keyset that comes out is the same kind
 * of object the node is given from genesis.
 *
 * The coefficients come from the run seed (SHA-512 of the seed, dealer and coefficient index,
 * reduced mod q: 512 bits for a 255-bit order leaves a bias below 2^-256), not from OS randomness,
 * so that a run replays bit for bit: the key shares on the votes are part of the trace.
 */
import { createHash } from 'node:crypto';
import type { FairOrderingRules } from '../chain/fair-batches.ts';
import { combineEonKeyset, combineEonSecretShare, dealEon } from '../crypto/shutter/eon-dkg.ts';
import { Fr } from '../crypto/shutter/ibe.ts';

/** The simulated chain's one eon. */
export const SIM_EON = 1;

export interface SimEonKeyset {
  readonly rules: FairOrderingRules;
  /** s_i by validator index. */
  readonly secretShares: readonly bigint[];
  readonly threshold: number;
}

/** A non-zero scalar drawn from `label` (seeded, for replays; never for a real key). */
function seededScalar(label: string): bigint {
  for (let attempt = 0; ; attempt++) {
    const digest = createHash('sha512').update(`${label}/${attempt}`).digest();
    const value = Fr.create(BigInt(`0x${digest.toString('hex')}`));
    if (value !== 0n) return value;
  }
}

/**
 * The eon keyset for `count` validators at t = 2f + 1, dealt from `seed`.
 * @example const eon = simEonKeyset(7, 4); eon.rules.eonPublicKey; eon.secretShares[0];
 */
export function simEonKeyset(seed: number, count: number): SimEonKeyset {
  const threshold = 2 * Math.floor((count - 1) / 3) + 1;
  const dealings = Array.from({ length: count }, (_, dealer) => {
    let k = 0;
    const scalar = () => seededScalar(`palisade-sim-eon/${seed}/${dealer}/${k++}`);
    return dealEon(dealer, threshold, count, scalar(), scalar);
  });
  const keyset = combineEonKeyset(dealings, threshold, count);
  return Object.freeze({
    rules: Object.freeze({
      eon: SIM_EON,
      eonPublicKey: keyset.eonPublicKey,
      publicShares: keyset.publicShares,
    }),
    secretShares: Object.freeze(
      Array.from({ length: count }, (_, index) => combineEonSecretShare(dealings, index)),
    ),
    threshold,
  });
}
