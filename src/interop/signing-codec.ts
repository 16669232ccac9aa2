/**
 * Messages of the retrying FROST signing protocol (src/interop/threshold-signing.ts), tags
 * 0x0440–0x0443 in the oracle range (the node routes 0x04xx to the price signer). Each names its
 * session by (chain, epoch, 32-byte message) and its attempt, so a commitment, request or share
 * of one attempt never counts for another. Senders are the transport's authenticated validator
 * indices; a body whose `signer` is not its sender is dropped.
 */
import { ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from '../codec/message.ts';
import { MAX_VALIDATORS, Secp256k1Point } from '../codec/oracle.ts';
import { Bytes32, Uint16, Uint64 } from '../codec/primitives.ts';

/**
 * Attempt numbers: attempt = coordinator turn × ATTEMPTS_PER_TURN + retry within the turn, so the
 * number says which coordinator runs it. At most MAX_COORDINATOR_TURNS turns per session.
 */
export const ATTEMPTS_PER_TURN = 32;
export const MAX_COORDINATOR_TURNS = 8;
/** Attempts per session, at most (each uses fresh nonces from every signer it asks). */
export const MAX_SIGNING_ATTEMPTS = ATTEMPTS_PER_TURN * MAX_COORDINATOR_TURNS;

const SessionFields = { chainId: Uint64, epoch: Uint64, message: Bytes32, attempt: Uint16 };

export const SigningCommitType = new ContainerType(
  { ...SessionFields, signer: Uint16, hiding: Secp256k1Point, binding: Secp256k1Point },
  { typeName: 'SigningCommit' },
);
export type SigningCommit = ValueOf<typeof SigningCommitType>;

export const SigningCommitmentEntryType = new ContainerType(
  { signer: Uint16, hiding: Secp256k1Point, binding: Secp256k1Point },
  { typeName: 'SigningCommitmentEntry' },
);

export const SigningRequestType = new ContainerType(
  { ...SessionFields, commitments: new ListCompositeType(SigningCommitmentEntryType, MAX_VALIDATORS) },
  { typeName: 'SigningAttemptRequest' },
);
export type SigningAttemptRequest = ValueOf<typeof SigningRequestType>;

export const SigningShareType = new ContainerType(
  { ...SessionFields, signer: Uint16, share: Bytes32 },
  { typeName: 'SigningAttemptShare' },
);
export type SigningAttemptShare = ValueOf<typeof SigningShareType>;

/** The coordinator opens attempt `attempt` and asks the validator for fresh commitments. */
export const SigningInviteType = new ContainerType(SessionFields, { typeName: 'SigningInvite' });
export type SigningInvite = ValueOf<typeof SigningInviteType>;

const attemptInRange = (value: { attempt: number }) =>
  value.attempt < MAX_SIGNING_ATTEMPTS
    ? undefined
    : { field: 'attempt', reason: `must be below ${MAX_SIGNING_ATTEMPTS}` };

export const SigningCommitCodec = defineMessage({
  name: 'SigningCommit',
  tag: 0x0440,
  type: SigningCommitType,
  validate: attemptInRange,
});
export const SigningAttemptRequestCodec = defineMessage({
  name: 'SigningAttemptRequest',
  tag: 0x0441,
  type: SigningRequestType,
  validate: attemptInRange,
});
export const SigningAttemptShareCodec = defineMessage({
  name: 'SigningAttemptShare',
  tag: 0x0442,
  type: SigningShareType,
  validate: attemptInRange,
});
export const SigningInviteCodec = defineMessage({
  name: 'SigningInvite',
  tag: 0x0443,
  type: SigningInviteType,
  validate: attemptInRange,
});
