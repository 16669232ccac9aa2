/**
 * The adversaries by behaviour. `twins` is not a network wrapper: the harness runs two honest
 * engines with one key, each seeing part of the network (Bano et al., "Twins", 2021).
 */
import { cacheFiller } from './cache-filler.ts';
import type { Adversary } from './common.ts';
import { conflicter } from './conflicter.ts';
import { equivocator } from './equivocator.ts';
import { garbage } from './garbage.ts';
import { nuller } from './nuller.ts';
import { replayer } from './replayer.ts';
import { syncFlooder } from './sync-flooder.ts';
import { withholder } from './withholder.ts';

export type { Adversary, AdversaryContext } from './common.ts';

export const ADVERSARY_NAMES = [
  'equivocator',
  'nuller',
  'conflicter',
  'withholder',
  'twins',
  'garbage',
  'replayer',
  'cache-filler',
  'sync-flooder',
] as const;
export type AdversaryName = (typeof ADVERSARY_NAMES)[number];

/**
 * What the 'mix' profile picks from, per Byzantine validator. Kept to the behaviours it had when
 * its regression seeds were recorded (test/sim/seeds.test.ts), so those seeds still replay the
 * runs that once failed; the newer adversaries have profiles of their own.
 */
export const MIX_ADVERSARY_NAMES: readonly AdversaryName[] = Object.freeze([
  'equivocator',
  'nuller',
  'conflicter',
  'withholder',
  'twins',
  'garbage',
  'replayer',
]);

/** The network wrapper for each behaviour (twins has none: see the harness). */
export const ADVERSARIES: Readonly<Record<Exclude<AdversaryName, 'twins'>, Adversary>> = Object.freeze({
  equivocator,
  nuller,
  conflicter,
  withholder,
  garbage,
  replayer,
  'cache-filler': cacheFiller,
  'sync-flooder': syncFlooder,
});
