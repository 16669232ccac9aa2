/**
 * Distributed key generation for the validators' FROST keyset: no dealer ever holds the group
 * secret. The cryptography is `@noble/curves`'s FROST DKG (Pedersen DKG with proofs of knowledge,
 * the split-round API of frost-rs; RFC 9591 leaves DKG out of scope). This module adds what the
 * library leaves to the application:
 *
 * - a session: (chain id, keyset epoch, n, threshold); a package for another session is refused;
 * - validator numbering: validator i is RFC 9591 identifier i + 1 (src/crypto/frost.ts);
 * - authentication: every package is an encoded body signed with the sender's Ed25519 identity key
 *   in the `PALISADE/ORACLE/DKG/v1` domain (`sealDkgPackage` / `openDkgPackage`). Round-two
 *   packages carry secret shares and must travel only over the encrypted validator-to-validator
 *   channel; round-one packages are broadcast;
 * - blame: a round-one package whose proof of knowledge fails, or a round-two share that does not
 *   match its sender's VSS commitment, raises a `DkgError` naming the sender, so the next epoch's
 *   DKG can run without it.
 *
 * Each epoch's DKG yields a new group key; certificates name their epoch (src/interop).
 *
 * The validators no longer run this module: src/crypto/keygen.ts is the DKG they run (with a
 * complaint round, so bad, silent and equivocating dealers are named and left out instead of
 * aborting it), and it also refreshes and reshares. This one stays as the plain noble DKG that
 * tests and `palisade bench keys` compare against.
 */

import type { DKG_Round1, DKG_Round2, DKG_Secret } from '@noble/curves/abstract/frost.js';
import { secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import {
  type DkgRound1Body,
  DkgRound1BodyCodec,
  type DkgRound2Body,
  DkgRound2BodyCodec,
  MAX_VALIDATORS,
  SignedOraclePackageCodec,
} from '../codec/oracle.ts';
import { DomainTag } from './domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from './ed25519.ts';
import { type FrostKeyPackage, participantIdentifier } from './frost.ts';

export type DkgErrorCode =
  | 'WRONG_SESSION'
  | 'UNKNOWN_SENDER'
  | 'NOT_FOR_US'
  | 'DUPLICATE_PACKAGE'
  | 'OUT_OF_ORDER'
  | 'BAD_PROOF_OF_KNOWLEDGE'
  | 'BAD_SHARE'
  | 'BAD_AUTHENTICATION'
  | 'MALFORMED_PACKAGE';

export class DkgError extends Error {
  override readonly name = 'DkgError';
  readonly code: DkgErrorCode;
  /** Validator indices at fault, when the failure is attributable. */
  readonly culprits: readonly number[];

  constructor(
    code: DkgErrorCode,
    culprits: readonly number[],
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}${culprits.length > 0 ? ` (validators ${culprits.join(', ')})` : ''}`, options);
    this.code = code;
    this.culprits = culprits;
  }
}

export interface DkgSession {
  readonly chainId: number;
  readonly epoch: number;
  readonly participants: number;
  readonly threshold: number;
}

export interface DkgParticipant {
  readonly index: number;
  /** The broadcast package: commitment to this validator's polynomial and a proof of knowledge. */
  round1(): DkgRound1Body;
  /** @throws DkgError for another session, an unknown or repeated sender, or our own index */
  receiveRound1(body: DkgRound1Body): void;
  /**
   * One secret share per other validator, once every round-one package has arrived.
   * @throws DkgError BAD_PROOF_OF_KNOWLEDGE naming the senders whose proofs fail
   */
  round2(): DkgRound2Body[];
  /** @throws DkgError BAD_SHARE naming a sender whose share does not match its commitment */
  receiveRound2(body: DkgRound2Body): void;
  /** This validator's key package for the epoch. */
  finish(): FrostKeyPackage;
}

function checkSession(session: DkgSession): void {
  invariant(
    Number.isSafeInteger(session.chainId) && Number.isSafeInteger(session.epoch) && session.epoch >= 0,
    'DKG session needs a chain id and an epoch',
  );
  invariant(
    Number.isInteger(session.participants) &&
      session.participants >= 2 &&
      session.participants <= MAX_VALIDATORS,
    'DKG needs 2 to MAX_VALIDATORS participants',
  );
  invariant(
    Number.isInteger(session.threshold) &&
      session.threshold >= 2 &&
      session.threshold <= session.participants,
    'threshold must be between 2 and the number of participants',
  );
}

function toNobleRound1(body: DkgRound1Body): DKG_Round1 {
  return {
    identifier: participantIdentifier(body.sender),
    commitment: body.commitment.map((point) => Uint8Array.from(point)),
    proofOfKnowledge: Uint8Array.from(body.proofOfKnowledge),
  };
}

/**
 * Which of `packages` carry a proof of knowledge that does not verify. The library checks all
 * packages at once and reports only that one failed, so each is replayed alone against a
 * throwaway participant and honest filler packages (identifiers above the real set). This runs
 * only after a failure.
 */
function findBadProofs(session: DkgSession, packages: readonly DkgRound1Body[]): number[] {
  const signers = { min: session.threshold, max: session.threshold };
  const probeId = participantIdentifier(MAX_VALIDATORS + 1);
  const fillers = Array.from(
    { length: session.threshold - 2 },
    (_, i) => secp256k1_FROST.DKG.round1(participantIdentifier(MAX_VALIDATORS + 2 + i), signers).public,
  );
  const bad: number[] = [];
  for (const body of packages) {
    const probe = secp256k1_FROST.DKG.round1(probeId, signers).secret;
    try {
      secp256k1_FROST.DKG.round2(probe, [toNobleRound1(body), ...fillers]);
    } catch {
      bad.push(body.sender);
    } finally {
      secp256k1_FROST.DKG.clean(probe);
    }
  }
  return bad;
}

/**
 * One validator's side of the DKG.
 * @example const me = createDkgParticipant({ chainId: 1, epoch: 1, participants: 4, threshold: 3 }, 0);
 */
export function createDkgParticipant(session: DkgSession, index: number): DkgParticipant {
  checkSession(session);
  invariant(Number.isInteger(index) && index >= 0 && index < session.participants, 'index outside the set');
  const signers = { min: session.threshold, max: session.participants };
  const round1State = secp256k1_FROST.DKG.round1(participantIdentifier(index), signers);
  const secret: DKG_Secret = round1State.secret;
  const ownRound1: DkgRound1Body = {
    chainId: session.chainId,
    epoch: session.epoch,
    sender: index,
    threshold: session.threshold,
    participants: session.participants,
    commitment: round1State.public.commitment,
    proofOfKnowledge: round1State.public.proofOfKnowledge,
  };
  const received1 = new Map<number, DkgRound1Body>();
  const received2 = new Map<number, DkgRound2Body>();
  let step: 'collecting1' | 'collecting2' | 'done' = 'collecting1';

  const checkSender = (sender: number, chainId: number, epoch: number) => {
    if (chainId !== session.chainId || epoch !== session.epoch)
      throw new DkgError('WRONG_SESSION', [], `package for chain ${chainId} epoch ${epoch}`);
    if (!Number.isInteger(sender) || sender < 0 || sender >= session.participants || sender === index)
      throw new DkgError('UNKNOWN_SENDER', [], `sender ${sender}`);
  };

  return {
    index,
    round1: () => ownRound1,
    receiveRound1(body) {
      checkSender(body.sender, body.chainId, body.epoch);
      if (body.threshold !== session.threshold || body.participants !== session.participants)
        throw new DkgError('WRONG_SESSION', [body.sender], 'different threshold or participant count');
      if (body.commitment.length !== session.threshold)
        throw new DkgError('MALFORMED_PACKAGE', [body.sender], 'commitment length is not the threshold');
      if (step !== 'collecting1') throw new DkgError('OUT_OF_ORDER', [body.sender], 'round one is closed');
      if (received1.has(body.sender))
        throw new DkgError('DUPLICATE_PACKAGE', [body.sender], 'second round-one package');
      received1.set(body.sender, body);
    },
    round2() {
      if (step !== 'collecting1' || received1.size !== session.participants - 1)
        throw new DkgError(
          'OUT_OF_ORDER',
          [],
          `have ${received1.size} of ${session.participants - 1} round-one packages`,
        );
      const others = [...received1.values()].sort((a, b) => a.sender - b.sender);
      let shares: Record<string, DKG_Round2>;
      try {
        shares = secp256k1_FROST.DKG.round2(secret, others.map(toNobleRound1));
      } catch (cause) {
        const culprits = findBadProofs(session, others);
        throw new DkgError('BAD_PROOF_OF_KNOWLEDGE', culprits, 'proof of knowledge or commitment invalid', {
          cause,
        });
      }
      step = 'collecting2';
      return others.map((other) => {
        const share = shares[participantIdentifier(other.sender)];
        invariant(share !== undefined, 'noble returned no share for a participant');
        return {
          chainId: session.chainId,
          epoch: session.epoch,
          sender: index,
          recipient: other.sender,
          signingShare: share.signingShare,
        };
      });
    },
    receiveRound2(body) {
      checkSender(body.sender, body.chainId, body.epoch);
      if (body.recipient !== index)
        throw new DkgError('NOT_FOR_US', [body.sender], `share for ${body.recipient}`);
      if (step !== 'collecting2')
        throw new DkgError('OUT_OF_ORDER', [body.sender], 'not collecting round-two shares');
      if (received2.has(body.sender)) throw new DkgError('DUPLICATE_PACKAGE', [body.sender], 'second share');
      const commitment = received1.get(body.sender);
      invariant(commitment !== undefined, 'round one had every sender');
      // RFC 9591 Appendix C.2 vss_verify: share·G = Σ commitment_k · id^k for the sender's polynomial.
      try {
        secp256k1_FROST.validateSecret(
          { identifier: participantIdentifier(index), signingShare: Uint8Array.from(body.signingShare) },
          { signers, commitments: commitment.commitment, verifyingShares: {} },
        );
      } catch (cause) {
        throw new DkgError('BAD_SHARE', [body.sender], 'share does not match the sender commitment', {
          cause,
        });
      }
      received2.set(body.sender, body);
    },
    finish() {
      if (step !== 'collecting2' || received2.size !== session.participants - 1)
        throw new DkgError(
          'OUT_OF_ORDER',
          [],
          `have ${received2.size} of ${session.participants - 1} shares`,
        );
      const others = [...received1.values()].sort((a, b) => a.sender - b.sender);
      const key = secp256k1_FROST.DKG.round3(
        secret,
        others.map(toNobleRound1),
        [...received2.values()]
          .sort((a, b) => a.sender - b.sender)
          .map((body) => ({
            identifier: participantIdentifier(body.sender),
            signingShare: body.signingShare,
          })),
      );
      step = 'done';
      const groupPublicKey = key.public.commitments[0];
      invariant(groupPublicKey !== undefined && groupPublicKey.length === 33, 'DKG produced no group key');
      return Object.freeze({
        epoch: session.epoch,
        index,
        threshold: session.threshold,
        participants: session.participants,
        groupPublicKey,
        public: key.public,
        secret: key.secret,
      });
    },
  };
}

/** Encodes a DKG body and signs it with the sender's identity key (the authenticated channel). */
export function sealDkgPackage(signer: Ed25519Signer, body: DkgRound1Body | DkgRound2Body): Uint8Array {
  const payload = 'recipient' in body ? DkgRound2BodyCodec.encode(body) : DkgRound1BodyCodec.encode(body);
  const signature = signInDomain(signer, DomainTag.dkg, body.chainId, payload);
  return SignedOraclePackageCodec.encode({ payload, signature });
}

export type OpenedDkgPackage =
  | { kind: 'round1'; body: DkgRound1Body }
  | { kind: 'round2'; body: DkgRound2Body };

/**
 * Decodes a sealed package and checks it was signed by validator `body.sender`'s identity key.
 * @throws DkgError MALFORMED_PACKAGE or BAD_AUTHENTICATION; nothing is returned unless both pass
 */
export function openDkgPackage(
  bytes: Uint8Array,
  chainId: number,
  validatorKeys: readonly Uint8Array[],
): OpenedDkgPackage {
  let opened: OpenedDkgPackage;
  let signature: Uint8Array;
  let payload: Uint8Array;
  try {
    ({ payload, signature } = SignedOraclePackageCodec.decode(bytes));
    const tag = peekTag(payload);
    opened =
      tag === DkgRound1BodyCodec.tag
        ? { kind: 'round1', body: DkgRound1BodyCodec.decode(payload) }
        : { kind: 'round2', body: DkgRound2BodyCodec.decode(payload) };
  } catch (cause) {
    const detail = cause instanceof CodecError ? cause.message : 'undecodable';
    throw new DkgError('MALFORMED_PACKAGE', [], detail, { cause });
  }
  const senderKey = validatorKeys[opened.body.sender];
  if (
    opened.body.chainId !== chainId ||
    senderKey === undefined ||
    !verifyInDomain(senderKey, DomainTag.dkg, chainId, payload, signature)
  ) {
    throw new DkgError(
      'BAD_AUTHENTICATION',
      [],
      `package claiming sender ${opened.body.sender} is not signed by it`,
    );
  }
  return opened;
}

/**
 * Runs a whole DKG among participants in one process (devnet, simulator, benchmarks): the same
 * rounds and checks as over the network, without the transport.
 */
export function runLocalDkg(session: DkgSession): FrostKeyPackage[] {
  const participants = Array.from({ length: session.participants }, (_, i) =>
    createDkgParticipant(session, i),
  );
  const round1 = participants.map((p) => p.round1());
  for (const p of participants) for (const body of round1) if (body.sender !== p.index) p.receiveRound1(body);
  const round2 = participants.flatMap((p) => p.round2());
  for (const body of round2) participants[body.recipient]!.receiveRound2(body);
  return participants.map((p) => p.finish());
}
