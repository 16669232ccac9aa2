/**
 * Validator-set epochs. Each epoch e has a validator set S_e that holds from its first view v_e
 * until the next epoch's first view: a vote or certificate of view v is checked against the set
 * of the epoch v belongs to, and against no other (a signer index means "the i-th key of S_e").
 * This is how a set change keeps Simplex's quorum intersection (Simplex, §2): within one epoch,
 * any two quorums of S_e share an honest validator; across the boundary, nothing of epoch e
 * counts in epoch e + 1, so a validator removed at the boundary has no voice after it, and a
 * certificate made by epoch e's set cannot pass for one of epoch e + 1.
 *
 * The schedule only grows forward: epoch e + 1 is scheduled once, after epoch e, with a first
 * view after v_e. The application schedules it from the finalized chain (a governance change
 * executed at an epoch boundary), at a view every validator derives the same way, so all agree.
 */
import type { Certificate, Vote } from '../codec/consensus.ts';
import { verifyCertificate } from './certificate.ts';
import type { ValidatorSet } from './validators.ts';
import { defaultVerifier, type SignatureVerifier, verifyVote } from './votes.ts';

/** The most epochs a schedule keeps; older ones are dropped (their certificates are history). */
export const MAX_SCHEDULED_EPOCHS = 64;

export type EpochScheduleErrorCode = 'EPOCH_NOT_NEXT' | 'VIEW_NOT_AFTER';

export class EpochScheduleError extends Error {
  override readonly name = 'EpochScheduleError';
  readonly code: EpochScheduleErrorCode;
  readonly field: 'epoch' | 'firstView';
  constructor(code: EpochScheduleErrorCode, field: 'epoch' | 'firstView', detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.field = field;
  }
}

export interface ValidatorEpoch {
  readonly epoch: number;
  /** The first view of the epoch (at least 1: view 0 is genesis). */
  readonly firstView: number;
  readonly validators: ValidatorSet;
}

export interface ValidatorSchedule {
  /** The epoch `view` belongs to; undefined for view 0 and views before the oldest kept epoch. */
  at(view: number): ValidatorEpoch | undefined;
  /** The latest scheduled epoch. */
  latest(): ValidatorEpoch;
  /**
   * Schedules the next epoch. @throws EpochScheduleError when it is not the next epoch number or
   * does not start after the latest epoch's first view; nothing changes then.
   */
  schedule(next: ValidatorEpoch): void;
}

/**
 * @example const epochs = createValidatorSchedule({ epoch: 1, firstView: 1, validators }); epochs.at(view)?.validators;
 */
export function createValidatorSchedule(first: ValidatorEpoch): ValidatorSchedule {
  if (!Number.isSafeInteger(first.firstView) || first.firstView < 1)
    throw new EpochScheduleError('VIEW_NOT_AFTER', 'firstView', 'an epoch starts at view 1 or later');
  const epochs: ValidatorEpoch[] = [Object.freeze({ ...first })];
  return {
    at(view) {
      if (!Number.isSafeInteger(view) || view < 1) return undefined;
      // Few epochs, newest last: scan from the newest (the common case is the current one).
      for (let i = epochs.length - 1; i >= 0; i--) if (view >= epochs[i]!.firstView) return epochs[i];
      return undefined;
    },
    latest: () => epochs[epochs.length - 1]!,
    schedule(next) {
      const last = epochs[epochs.length - 1]!;
      if (next.epoch !== last.epoch + 1)
        throw new EpochScheduleError(
          'EPOCH_NOT_NEXT',
          'epoch',
          `expected epoch ${last.epoch + 1}, got ${next.epoch}`,
        );
      if (!Number.isSafeInteger(next.firstView) || next.firstView <= last.firstView)
        throw new EpochScheduleError(
          'VIEW_NOT_AFTER',
          'firstView',
          `epoch ${next.epoch} must start after view ${last.firstView}`,
        );
      epochs.push(Object.freeze({ ...next }));
      if (epochs.length > MAX_SCHEDULED_EPOCHS) epochs.shift();
    },
  };
}

/**
 * True when `vote` is signed by the key its signer index names in the set of its view's epoch.
 * @example verifyVoteInEpoch(epochs, chainId, vote) // false for a validator removed before vote.view
 */
export function verifyVoteInEpoch(
  schedule: ValidatorSchedule,
  chainId: number,
  vote: Vote,
  verifier: SignatureVerifier = defaultVerifier,
): boolean {
  const epoch = schedule.at(vote.view);
  if (epoch === undefined || !Number.isInteger(vote.signer) || vote.signer < 0) return false;
  const publicKey = epoch.validators.publicKeys[vote.signer];
  return publicKey !== undefined && verifyVote(publicKey, chainId, vote, verifier);
}

/**
 * True when `certificate` carries a quorum of the set of its view's epoch (verifyCertificate).
 * @example verifyCertificateInEpoch(epochs, chainId, certificate)
 */
export function verifyCertificateInEpoch(
  schedule: ValidatorSchedule,
  chainId: number,
  certificate: Certificate,
  verifier: SignatureVerifier = defaultVerifier,
): boolean {
  const epoch = schedule.at(certificate.view);
  return epoch !== undefined && verifyCertificate(epoch.validators, chainId, certificate, verifier);
}
