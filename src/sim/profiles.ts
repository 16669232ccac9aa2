/**
 * Fault profiles. Each names the network, the faults before `healAtMs` and the default number of
 * Byzantine validators with their behaviour. After the heal the network is calm and whole, and
 * liveness is checked: every honest validator must finalize `livenessBlocks` more blocks than the
 * best honest height at the heal, within `livenessWindowMs` (spec §6 promises progress once the
 * network is synchronous and at most f validators are Byzantine).
 */
import type { LinkModel } from '../runtime/sim/network.ts';
import { ADVERSARY_NAMES, type AdversaryName } from './adversaries/index.ts';

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
}

/** The calm link: one-way delay of 10 ms with up to 2 ms of jitter. */
export const CALM_LINK: LinkModel = Object.freeze({ latencyMs: 10, jitterMs: 2, lossPerMille: 0 });
const LOSSY_LINK: LinkModel = Object.freeze({ latencyMs: 10, jitterMs: 30, lossPerMille: 200 });

export const HEAL_AT_MS = 800;
export const LIVENESS_BLOCKS = 5;
export const LIVENESS_WINDOW_MS = 4000;

const base = {
  faultyLink: CALM_LINK,
  partitions: false,
  crashes: false,
  adversary: undefined,
  byzantineByDefault: false,
};

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
  ...ADVERSARY_NAMES.map((adversary) => ({
    ...base,
    name: adversary,
    description: `f Byzantine validators acting as ${adversary}`,
    adversary,
    byzantineByDefault: true,
  })),
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
]);

export function profileByName(name: string): Profile | undefined {
  return PROFILES.find((profile) => profile.name === name);
}
