/**
 * Fault profiles. Each names the network, the faults before `healAtMs` and the default number of
 * Byzantine validators with their behaviour. After the heal the network is calm and whole, and
 * liveness is checked: every honest validator must finalize `livenessBlocks` more blocks than the
 * best honest height at the heal, within `livenessWindowMs` (spec §6 promises progress once the
 * network is synchronous and at most f validators are Byzantine).
 */
import type { LinkModel } from '../runtime/sim/network.ts';
import { ADVERSARY_NAMES, type AdversaryName, MIX_ADVERSARY_NAMES } from './adversaries/index.ts';

export interface Profile {
  readonly name: string;
  readonly description: string;
  /** Links until the heal. */
  readonly faultyLink: LinkModel;
  readonly partitions: boolean;
  readonly crashes: boolean;
  /** Behaviour of the Byzantine validators; 'mix' picks one per validator from the seed. */
  readonly adversary: AdversaryName | 'mix' | undefined;
  /** Byzantine validators when `--byzantine` is not given: f for adversary profiles, else 0. */
  readonly byzantineByDefault: boolean;
  /** No proposal crosses the network until the heal: every view's leader is cut off from the rest. */
  readonly proposalsCut: boolean;
  /** One honest validator crashes (torn storage) halfway to the heal and restarts shortly after. */
  readonly midwayCrash: boolean;
  /** When faults end; {@link HEAL_AT_MS} unless the profile needs longer. */
  readonly healAtMs: number;
  /**
   * An adversary against the venue rather than consensus (whole-node mode only): 'oracle-liar'
   * makes the Byzantine validators' observations lie; 'griefer' adds a hostile trader;
   * 'front-runner' makes the Byzantine leaders rewrite their proposals (adversaries/front-runner.ts);
   * 'withholder-signer' makes them commit to price signing and never send a share; 'colluders'
   * adds three colluding traders that search for value extraction (src/sim/colluders.ts).
   */
  readonly nodeAdversary?: NodeAdversaryName;
  /**
   * Fair ordering (issue 14, whole-node mode only): the validators hold an eon keyset
   * (src/sim/eon-keyset.ts), the takers seal every order to it, and the node decrypts and executes
   * them once their block is final.
   */
  readonly encryptedOrders?: boolean;
}

/** Adversaries that need the whole node (src/sim/whole-node.ts). */
export const NODE_ADVERSARY_NAMES = [
  'oracle-liar',
  'griefer',
  'front-runner',
  'withholder-signer',
  'colluders',
] as const;
export type NodeAdversaryName = (typeof NODE_ADVERSARY_NAMES)[number];

/** The calm link: one-way delay of 10 ms with up to 2 ms of jitter. */
export const CALM_LINK: LinkModel = Object.freeze({ latencyMs: 10, jitterMs: 2, lossPerMille: 0 });
const LOSSY_LINK: LinkModel = Object.freeze({ latencyMs: 10, jitterMs: 30, lossPerMille: 200 });

export const HEAL_AT_MS = 800;
/**
 * The long partition lasts 20 virtual minutes: with timeouts backed off to 8× (480 ms a view in
 * the simulator) that is about 2,400 consecutive nullified views, more than the 2,048 views an
 * engine once held and needed all of to build on the last certified one.
 */
export const LONG_PARTITION_MS = 20 * 60 * 1000;
export const LIVENESS_BLOCKS = 5;
export const LIVENESS_WINDOW_MS = 4000;

const base = {
  faultyLink: CALM_LINK,
  partitions: false,
  crashes: false,
  adversary: undefined,
  byzantineByDefault: false,
  proposalsCut: false,
  midwayCrash: false,
  healAtMs: HEAL_AT_MS,
};

function adversaryProfile(adversary: AdversaryName): Profile {
  return {
    ...base,
    name: adversary,
    description: `f Byzantine validators acting as ${adversary}`,
    adversary,
    byzantineByDefault: true,
  };
}

export const PROFILES: readonly Profile[] = Object.freeze([
  { ...base, name: 'calm', description: 'a calm, whole network; no faults' },
  { ...base, name: 'lossy', description: '20% loss and 30 ms jitter until the heal', faultyLink: LOSSY_LINK },
  { ...base, name: 'partition', description: 'partitions that come and go until the heal', partitions: true },
  {
    ...base,
    name: 'crash',
    description: 'crashes and restarts with torn storage until the heal',
    crashes: true,
  },
  ...MIX_ADVERSARY_NAMES.map(adversaryProfile),
  {
    ...base,
    name: 'mix',
    description: 'loss, partitions, crashes and f Byzantine validators of mixed behaviours',
    faultyLink: LOSSY_LINK,
    partitions: true,
    crashes: true,
    adversary: 'mix' as const,
    byzantineByDefault: true,
  },
  // Issue 10's liveness attacks, after the older profiles so that their CI seeds stay the same.
  ...ADVERSARY_NAMES.filter((adversary) => !MIX_ADVERSARY_NAMES.includes(adversary)).map(adversaryProfile),
  {
    ...base,
    name: 'long-partition',
    description:
      'for 20 virtual minutes no proposal gets through (each leader cut off), with a crash and restart halfway: thousands of nullified views, then the heal',
    proposalsCut: true,
    midwayCrash: true,
    healAtMs: LONG_PARTITION_MS,
  },
]);

/**
 * Profiles that only the whole-node mode runs: kept apart from {@link PROFILES} so that the
 * consensus-only seeds and their CI budget stay as they were.
 */
export const NODE_PROFILES: readonly Profile[] = Object.freeze([
  {
    ...base,
    name: 'oracle-liar',
    description:
      'f Byzantine validators report prices and confidences chosen to move marks (far off, confidence zero or huge, stale source times), all in one direction',
    byzantineByDefault: true,
    nodeAdversary: 'oracle-liar' as const,
  },
  {
    ...base,
    name: 'griefer',
    description:
      'a hostile trader floods orders and cancel storms from a funded account, spams undecodable bytes and signs from many fresh keys',
    nodeAdversary: 'griefer' as const,
  },
  {
    ...base,
    name: 'front-runner',
    description:
      "f Byzantine leaders rewrite their proposals: their own trader's orders ahead of large ones (sandwich), one taker censored, or the order reversed",
    byzantineByDefault: true,
    nodeAdversary: 'front-runner' as const,
  },
  {
    ...base,
    name: 'front-runner-encrypted',
    description:
      "front-runner with fair ordering: the takers seal their orders to the validators' eon key, so the Byzantine leaders see envelopes (sender, nonce, fee, size, target) and guess",
    byzantineByDefault: true,
    nodeAdversary: 'front-runner' as const,
    encryptedOrders: true,
  },
  {
    ...base,
    name: 'withholder-signer',
    description:
      'f Byzantine validators take part in the DKG and in every signing session (nonce commitments) and never send a signature share',
    byzantineByDefault: true,
    nodeAdversary: 'withholder-signer' as const,
  },
  {
    ...base,
    name: 'colluders',
    description:
      'three colluding traders search (random, or greedy on copies of the state) over self-trades at extreme prices, reduce-only games, sweeps of the honest book, withdrawals and pumps of the spot venues, rewarded by what they can withdraw',
    nodeAdversary: 'colluders' as const,
  },
]);

export function profileByName(name: string): Profile | undefined {
  return (
    PROFILES.find((profile) => profile.name === name) ??
    NODE_PROFILES.find((profile) => profile.name === name)
  );
}
