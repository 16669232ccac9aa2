/**
 * Key generation that survives faulty validators: one sans-IO state machine for a fresh DKG, a
 * proactive refresh and a resharing to another validator set. Each is a round of Feldman VSS
 * dealings (src/crypto/vss.ts) followed by a complaint round, as in Gennaro, Jarecki, Krawczyk
 * and Rabin, "Secure Distributed Key Generation for Discrete-Log Based Cryptosystems" (J.
 * Cryptology 2007; "GJKR" below), with Feldman commitments and the proof of knowledge of
 * Komlo–Goldberg's FROST DKG (FROST §5.1, the DKG of ZF `frost`), which together give the
 * security GJKR's Pedersen commitments give (FROST §5.1, Crites–Komlo–Maller "How to prove
 * Schnorr assuming Schnorr").
 *
 * ## Protocol (one session: chain, epoch, kind, threshold t, dealers D, recipients R)
 *
 * 1. Deal (GJKR Fig. 2 step 1a; FROST §5.1 round 1). Dealer i picks f_i of degree t − 1 and
 *    broadcasts its signed commitment C_i = (a_i0·G, …, a_i,t−1·G), then sends each recipient j
 *    its signed share f_i(j) over the encrypted channel. The constant term depends on the kind:
 *    - `dkg`: a_i0 random, with a Schnorr proof of knowledge of a_i0 (FROST §5.1 step 2; refuses
 *      rogue-key dealers);
 *    - `refresh`: a_i0 = 0, C_i0 not sent (Herzberg, Jarecki, Krawczyk, Yung, "Proactive secret
 *      sharing", CRYPTO '95, §3: zero-sum update polynomials);
 *    - `reshare`: a_i0 = s_i, the dealer's current share, and C_i0 must equal its public verifying
 *      share Y_i (Desmedt–Jajodia 1997; Wong–Wang–Wing "Verifiable secret redistribution" §4).
 * 2. Verify and complain (GJKR Fig. 2 step 1b–1c). Each recipient j checks every share against
 *    its commitment, f_i(j)·G = Σ_k j^k C_ik (Feldman; RFC 9591 App. C.2 `vss_verify`), and
 *    broadcasts one signed complaint message: the digest of the deal it holds from every dealer
 *    (so a dealer that showed different commitments to different recipients is seen), and an
 *    accusation against every dealer whose share failed — carrying the dealer's own signed share
 *    as evidence — or never came.
 * 3. Answer (GJKR Fig. 2 step 1c). A dealer accused without conclusive evidence answers by
 *    revealing the share f_i(j) publicly; everyone checks it against C_i, and the accuser uses it.
 *    Every validator re-broadcasts an answer once, so a dealer that answers only some of them
 *    cannot split QUAL (some counting the accusation answered, others not).
 *    A recipient that sees deal digests differing from its own re-broadcasts the deal it holds
 *    (it is signed by the dealer); two different signed deals are proof of equivocation. A
 *    recipient that sees an accusation re-broadcasts the complaint, so the accused hears it.
 * 4. Qualify (GJKR Fig. 2 step 2). QUAL is every dealer with a valid deal, no proven bad share,
 *    no equivocation, fewer than t accusers, and every accusation answered by a valid reveal.
 *    Disqualified dealers are named with their reason and evidence. The session needs
 *    |QUAL| ≥ minimum (by default n − f, i.e. 2f + 1 for n = 3f + 1, and at least the
 *    threshold that must interpolate).
 * 5. Combine (GJKR Fig. 2 step 3). Recipient j's share and the public commitment are
 *    - `dkg`:     s_j = Σ_{i∈QUAL} f_i(j),              C = Σ C_i            (group key C_0)
 *    - `refresh`: s_j = s_j(old) + Σ_{i∈QUAL} f_i(j),   C = C(old) + Σ C_i   (C_0 unchanged)
 *    - `reshare`: s_j = Σ_{i∈QUAL} λ_i f_i(j),          C = Σ λ_i C_i        (λ_i: Lagrange at 0
 *      over QUAL's old identifiers, RFC 9591 §4.2; C_0 = Σ λ_i Y_i = the old group key)
 *    and the verifying share of every recipient is C evaluated at its identifier. The output is a
 *    noble FROST key package (RFC 9591 signing works unchanged).
 * 6. Attest. Each recipient signs (QUAL, transcript), transcript = SHA-256(QUAL, C), and
 *    broadcasts it. The keyset is the machine's result only once n − f recipients attested one
 *    transcript and we can compute it (its deals, and our share from each of its dealers, verified
 *    or publicly answered) — possibly not our own QUAL. Two quorums of n − f share f + 1
 *    recipients, one of them honest, and an honest recipient attests once: no two honest
 *    validators ever hold keys of different transcripts.
 *
 * Timing (GJKR's synchronous broadcast). The machine moves on when everything it waits for has
 * come, or when the driver calls `advance()` at the phase's deadline. Deadlines are local, so a
 * dealer can time an answer to reach some validators before theirs and others after: their QUALs
 * differ. Without step 6 each would keep its own key (a split: no t shares of one key, certificates
 * stop for good). With it, the dealer can only choose between letting one view reach a quorum,
 * which everyone adopts, and leaving the session without one: it never finishes (a refresh keeps
 * the keyset it had; a genesis DKG stays pending, `waitingFor().attestations`). That stall is the
 * price of agreeing without a consensus round; the same holds for the eon keyset
 * (src/crypto/shutter/eon-keygen.ts).
 */
import type { FrostPublic } from '@noble/curves/abstract/frost.js';
import { secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as sha256Hash } from '@noble/hashes/sha2.js';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import { MAX_VALIDATORS } from '../codec/oracle.ts';
import { bytesEqual, toHex } from './bytes.ts';
import { DomainTag } from './domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from './ed25519.ts';
import { type FrostKeyPackage, participantIdentifier } from './frost.ts';
import { sha256 } from './hash.ts';
import {
  type KeygenAttestation,
  KeygenAttestationCodec,
  type KeygenComplaint,
  KeygenComplaintCodec,
  type KeygenDeal,
  KeygenDealCodec,
  type KeygenJustification,
  KeygenJustificationCodec,
  type KeygenShare,
  KeygenShareCodec,
  SealedKeygenCodec,
} from './keygen-codec.ts';
import {
  combineCommitments,
  commitmentEvaluator,
  commitPolynomial,
  evaluateCommitment,
  evaluatePolynomial,
  Fn,
  identifierOf,
  lagrangeCoefficient,
  Point,
  parsePoint,
  parseScalar,
  pointBytes,
  type RandomBytes,
  randomPolynomial,
  scalarBytes,
  verifyProofOfKnowledge,
  verifyPublicShare,
} from './vss.ts';

/**
 * The scalar of a share message this machine already accepted (its signature was checked on
 * receipt, so it is only decoded again); undefined when it is not a valid scalar.
 */
function heldShareValue(sealed: Uint8Array): bigint | undefined {
  const { payload } = SealedKeygenCodec.decode(sealed);
  return parseScalar(KeygenShareCodec.decode(payload).share);
}

export type KeygenKind = 'dkg' | 'refresh' | 'reshare';

/** Why a dealer is left out of QUAL. */
export type DisqualificationReason =
  /** No deal reached us or anyone who relayed it. */
  | 'SILENT'
  /** The signed deal itself is invalid (proof of knowledge, length, C_0 ≠ Y_i). */
  | 'BAD_DEAL'
  /** Two different signed deals. */
  | 'EQUIVOCATION'
  /** A signed share, or a public answer, that fails the dealer's own commitment. */
  | 'BAD_SHARE'
  /** An accusation without a valid public answer by the deadline. */
  | 'UNANSWERED_COMPLAINT'
  /** t or more recipients accuse it: answering would reveal its polynomial. */
  | 'TOO_MANY_COMPLAINTS'
  /** Left out of the QUAL a quorum attested, though our own view of the round kept it. */
  | 'LEFT_OUT_BY_QUORUM';

export interface Disqualification {
  readonly dealer: number;
  readonly reason: DisqualificationReason;
  /** Sealed, signed messages that prove it, where the reason is provable (empty otherwise). */
  readonly evidence: readonly Uint8Array[];
}

export type KeygenErrorCode =
  | 'MALFORMED'
  | 'BAD_AUTHENTICATION'
  | 'WRONG_SESSION'
  | 'UNKNOWN_SENDER'
  | 'NOT_FOR_US'
  | 'NOT_ENOUGH_QUALIFIED';

export class KeygenError extends Error {
  override readonly name = 'KeygenError';
  readonly code: KeygenErrorCode;
  /** Validators at fault, where the failure is theirs. */
  readonly culprits: readonly number[];
  constructor(
    code: KeygenErrorCode,
    culprits: readonly number[],
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}${culprits.length > 0 ? ` (validators ${culprits.join(', ')})` : ''}`, options);
    this.code = code;
    this.culprits = culprits;
  }
}

export interface KeygenSession {
  readonly chainId: number;
  /** The epoch of the keyset this session produces. */
  readonly epoch: number;
  readonly kind: KeygenKind;
  /** Identity keys of the dealers, by dealer index (the old set for a reshare). */
  readonly dealerKeys: readonly Uint8Array[];
  /** Identity keys of the recipients, by recipient index (equal to dealerKeys except in a reshare). */
  readonly recipientKeys: readonly Uint8Array[];
  /** The threshold of the keyset produced. */
  readonly threshold: number;
  /** The keyset being refreshed or reshared. */
  readonly previous?: FrostPublic;
  /** Smallest QUAL that may finish; defaults to n − ⌊(n − 1)/3⌋ of the dealers (2f + 1). */
  readonly minimumQualified?: number;
}

export interface KeygenRole {
  /** Our index among the dealers, if we deal. */
  readonly dealer?: number;
  /** Our index among the recipients, if we receive a share. */
  readonly recipient?: number;
  readonly signer: Ed25519Signer;
  /** Our key package of `previous` (refresh: to add to; reshare: to deal from). */
  readonly previousKey?: FrostKeyPackage;
  /**
   * A secret of at least 32 bytes from which the dealing (polynomial, proof of knowledge) is
   * derived with HKDF-SHA-256 (RFC 5869) over the session digest, instead of the CSPRNG. A dealer
   * that crashes and starts the same session again then deals byte for byte the same deal and
   * shares (Ed25519 signatures are deterministic too, RFC 8032 §5.1.6), so its peers see a copy,
   * not an equivocation. The dealing is as secret as the seed: derive it from the validator's
   * identity key, as RFC 8032 derives signing nonces from the key.
   */
  readonly dealingSeed?: Uint8Array;
}

/** HKDF-SHA-256 gives at most 255 blocks; a dealing takes one 48-byte draw per coefficient + 1. */
const DEALING_STREAM_BYTES = 255 * 32;
/** HKDF's info: a dealing stream is for nothing else. */
const DEALING_INFO = new TextEncoder().encode('PALISADE/KEYGEN/DEALING/v1');

/** The byte stream a dealer samples its dealing from, bound to the session (see `dealingSeed`). */
function dealingStream(seed: Uint8Array, sessionDigest: Uint8Array): RandomBytes {
  invariant(seed.length >= 32, 'a dealing seed has at least 32 bytes');
  const stream = hkdf(sha256Hash, seed, sessionDigest, DEALING_INFO, DEALING_STREAM_BYTES);
  let offset = 0;
  return (length = 32) => {
    invariant(offset + length <= stream.length, 'dealing stream exhausted');
    offset += length;
    return Uint8Array.from(stream.subarray(offset - length, offset));
  };
}

export type KeygenOutput =
  | { readonly to: 'all'; readonly bytes: Uint8Array }
  | { readonly to: 'recipient'; readonly recipient: number; readonly bytes: Uint8Array };

export type KeygenPhase = 'dealing' | 'complaining' | 'attesting' | 'done';

export interface KeygenResult {
  readonly qualified: readonly number[];
  readonly disqualified: readonly Disqualification[];
  /** Recipients whose evidence did not hold up (a valid share presented as bad). */
  readonly falseAccusers: readonly number[];
  readonly groupPublicKey: Uint8Array;
  readonly public: FrostPublic;
  /** Our key package, when we are a recipient. */
  readonly key?: FrostKeyPackage;
  /** SHA-256 over QUAL and the combined commitment: equal at every honest recipient. */
  readonly transcriptDigest: Uint8Array;
  /** The sealed attestations of a quorum of recipients to this transcript, ascending by recipient. */
  readonly attestations: readonly Uint8Array[];
}

export interface KeygenMachine {
  readonly phase: KeygenPhase;
  /** The digest every message of this session carries (see {@link keygenSessionDigest}). */
  readonly sessionDigest: Uint8Array;
  /** Our deal and shares (dealers); nothing for a pure recipient. Call once. */
  start(): KeygenOutput[];
  /**
   * One sealed message from the network (any sender: authorship is checked by signature).
   * @throws KeygenError MALFORMED, BAD_AUTHENTICATION, WRONG_SESSION, UNKNOWN_SENDER or NOT_FOR_US;
   *   the machine is unchanged when it throws
   */
  receive(bytes: Uint8Array): KeygenOutput[];
  /**
   * A deadline passed. 'deals': complain about whatever has not come. 'complaints' (set at least
   * two network delays later, so accusations and their answers arrive first): finish with what
   * we have. Drivers keep both deadlines relative to the session's start, the same everywhere.
   */
  advance(deadline: 'deals' | 'complaints'): KeygenOutput[];
  /**
   * The outcome once `phase` is 'done': the keyset a quorum of recipients attested.
   * @throws KeygenError NOT_ENOUGH_QUALIFIED
   */
  result(): KeygenResult | undefined;
  /** Who we are still waiting for, for logs and tests. */
  waitingFor(): {
    deals: number[];
    shares: number[];
    complaints: number[];
    answers: number[];
    attestations: number[];
  };
}

const KIND_BYTE: Record<KeygenKind, number> = { dkg: 1, refresh: 2, reshare: 3 };
const ZERO_DIGEST = new Uint8Array(32);
const ZERO_PROOF = new Uint8Array(65);

/** 2f + 1 of n, with f = ⌊(n − 1)/3⌋. */
export function defaultMinimumQualified(n: number): number {
  return n - Math.floor((n - 1) / 3);
}

/** The 32 bytes that name a session in every one of its messages. */
export function keygenSessionDigest(session: KeygenSession): Uint8Array {
  const header = new Uint8Array(8 + 8 + 1 + 2 + 2 + 2);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(session.chainId));
  view.setBigUint64(8, BigInt(session.epoch));
  header[16] = KIND_BYTE[session.kind];
  view.setUint16(17, session.threshold);
  view.setUint16(19, session.dealerKeys.length);
  view.setUint16(21, session.recipientKeys.length);
  const previous = session.previous?.commitments ?? [];
  return sha256(
    new TextEncoder().encode('palisade/keygen-session/v1'),
    header,
    ...session.dealerKeys,
    ...session.recipientKeys,
    ...previous,
  );
}

function checkSession(session: KeygenSession): void {
  invariant(Number.isSafeInteger(session.chainId) && session.chainId >= 0, 'keygen needs a chain id');
  invariant(Number.isSafeInteger(session.epoch) && session.epoch >= 0, 'keygen needs an epoch');
  const dealers = session.dealerKeys.length;
  const recipients = session.recipientKeys.length;
  invariant(dealers >= 2 && dealers <= MAX_VALIDATORS, 'keygen needs 2 to MAX_VALIDATORS dealers');
  invariant(recipients >= 2 && recipients <= MAX_VALIDATORS, 'keygen needs 2 to MAX_VALIDATORS recipients');
  invariant(
    Number.isInteger(session.threshold) && session.threshold >= 2 && session.threshold <= recipients,
    'threshold must be between 2 and the number of recipients',
  );
  if (session.kind !== 'reshare') {
    invariant(dealers === recipients, 'a DKG or refresh deals among one set');
    for (let i = 0; i < dealers; i++)
      invariant(bytesEqual(session.dealerKeys[i]!, session.recipientKeys[i]!), 'one set: same keys');
  }
  if (session.kind === 'dkg') invariant(session.previous === undefined, 'a DKG starts from nothing');
  else {
    invariant(session.previous !== undefined, 'refresh and reshare need the previous keyset');
    if (session.kind === 'refresh')
      invariant(session.previous.signers.min === session.threshold, 'a refresh keeps the threshold');
    invariant(session.previous.signers.max === dealers, 'the dealers are the previous keyset');
  }
}

function minimumQualified(session: KeygenSession): number {
  const dealers = session.dealerKeys.length;
  const floor = session.kind === 'reshare' ? session.previous!.signers.min : session.threshold;
  const minimum = session.minimumQualified ?? Math.max(defaultMinimumQualified(dealers), floor);
  invariant(minimum >= floor && minimum <= dealers, 'minimum QUAL must reach the threshold');
  return minimum;
}

/** The number of commitment points a deal of this kind carries. */
function commitmentLength(session: KeygenSession): number {
  return session.kind === 'refresh' ? session.threshold - 1 : session.threshold;
}

type Opened =
  | { kind: 'deal'; body: KeygenDeal }
  | { kind: 'share'; body: KeygenShare }
  | { kind: 'complaint'; body: KeygenComplaint }
  | { kind: 'justification'; body: KeygenJustification }
  | { kind: 'attestation'; body: KeygenAttestation };

/** Signs an encoded keygen body with the author's identity key (the authenticated channel). */
export function sealKeygenMessage(signer: Ed25519Signer, chainId: number, payload: Uint8Array): Uint8Array {
  return SealedKeygenCodec.encode({
    payload,
    signature: signInDomain(signer, DomainTag.dkg, chainId, payload),
  });
}

/**
 * Decodes a sealed keygen message and checks its author's signature.
 * @throws KeygenError MALFORMED, WRONG_SESSION, UNKNOWN_SENDER or BAD_AUTHENTICATION
 */
export function openKeygenMessage(
  session: KeygenSession,
  sessionDigest: Uint8Array,
  bytes: Uint8Array,
): Opened {
  let payload: Uint8Array;
  let signature: Uint8Array;
  let opened: Opened;
  try {
    ({ payload, signature } = SealedKeygenCodec.decode(bytes));
    const tag = peekTag(payload);
    if (tag === KeygenDealCodec.tag) opened = { kind: 'deal', body: KeygenDealCodec.decode(payload) };
    else if (tag === KeygenShareCodec.tag) opened = { kind: 'share', body: KeygenShareCodec.decode(payload) };
    else if (tag === KeygenComplaintCodec.tag)
      opened = { kind: 'complaint', body: KeygenComplaintCodec.decode(payload) };
    else if (tag === KeygenJustificationCodec.tag)
      opened = { kind: 'justification', body: KeygenJustificationCodec.decode(payload) };
    else if (tag === KeygenAttestationCodec.tag)
      opened = { kind: 'attestation', body: KeygenAttestationCodec.decode(payload) };
    else throw new CodecError('UNKNOWN_TYPE', 'payload', `tag 0x${tag.toString(16)} is not a keygen message`);
  } catch (cause) {
    throw new KeygenError('MALFORMED', [], cause instanceof CodecError ? cause.message : 'undecodable', {
      cause,
    });
  }
  if (!bytesEqual(opened.body.session, sessionDigest))
    throw new KeygenError('WRONG_SESSION', [], `${opened.kind} for another session`);
  const byRecipient = opened.kind === 'complaint' || opened.kind === 'attestation';
  const author =
    opened.kind === 'complaint' || opened.kind === 'attestation' ? opened.body.recipient : opened.body.dealer;
  const keys = byRecipient ? session.recipientKeys : session.dealerKeys;
  const key = keys[author];
  if (key === undefined) throw new KeygenError('UNKNOWN_SENDER', [], `${opened.kind} from ${author}`);
  if (!verifyInDomain(key, DomainTag.dkg, session.chainId, payload, signature))
    throw new KeygenError('BAD_AUTHENTICATION', [], `${opened.kind} claiming ${author} is not signed by it`);
  return opened;
}

/** GJKR step 2's outcome: who deals into the keyset, and who is left out and why. */
interface Qualification {
  readonly qualified: readonly number[];
  readonly disqualified: readonly Disqualification[];
  readonly falseAccusers: readonly number[];
}

interface DealRecord {
  readonly sealed: Uint8Array;
  readonly digest: Uint8Array;
  /** The full commitment C_0…C_{t−1} (C_0 = identity for a refresh); undefined when invalid. */
  readonly commitment: Point[] | undefined;
}

/**
 * One validator's side of a DKG, refresh or reshare.
 * @example const machine = createKeygenMachine(session, { dealer: 0, recipient: 0, signer }); const out = machine.start();
 */
export function createKeygenMachine(session: KeygenSession, role: KeygenRole): KeygenMachine {
  checkSession(session);
  const dealerCount = session.dealerKeys.length;
  const recipientCount = session.recipientKeys.length;
  const t = session.threshold;
  const minimum = minimumQualified(session);
  const sessionDigest = keygenSessionDigest(session);
  const { dealer: self, recipient: me } = role;
  invariant(self !== undefined || me !== undefined, 'a participant deals, receives, or both');
  const dealingRng =
    role.dealingSeed === undefined ? undefined : dealingStream(role.dealingSeed, sessionDigest);
  if (self !== undefined) {
    invariant(Number.isInteger(self) && self >= 0 && self < dealerCount, 'dealer index outside the set');
    invariant(bytesEqual(role.signer.publicKey, session.dealerKeys[self]!), 'signer is not this dealer');
  }
  if (me !== undefined) {
    invariant(Number.isInteger(me) && me >= 0 && me < recipientCount, 'recipient index outside the set');
    invariant(bytesEqual(role.signer.publicKey, session.recipientKeys[me]!), 'signer is not this recipient');
  }
  const needsPreviousKey =
    (session.kind === 'reshare' && self !== undefined) || (session.kind === 'refresh' && me !== undefined);
  if (needsPreviousKey) {
    invariant(role.previousKey !== undefined, 'refresh and reshare need our previous key package');
    invariant(
      bytesEqual(role.previousKey.groupPublicKey, session.previous!.commitments[0]!),
      'previous key package is of another keyset',
    );
  }

  const deals = new Map<number, DealRecord>();
  const equivocations = new Map<number, Uint8Array[]>();
  /** Sealed shares the dealers sent us, and their values once checked against the deal. */
  const myShares = new Map<number, Uint8Array>();
  const myShareValues = new Map<number, bigint | undefined>();
  const complaints = new Map<number, KeygenComplaint[]>();
  const complaintSeals = new Map<number, Uint8Array[]>();
  const answers = new Map<number, Map<number, bigint | undefined>>();
  const relayedDeals = new Set<number>();
  const relayedComplaints = new Set<string>();
  let coefficients: bigint[] | undefined;
  let phase: KeygenPhase = 'dealing';
  let started = false;
  let complained = false;
  const answered = new Set<number>();
  /** Verdicts on evidence, by the (immutable, held) evidence array of a stored complaint. */
  const verdicts = new WeakMap<Uint8Array, boolean>();
  /** Dealers some evidence has proven to have sent a bad signed share. */
  const convicted = new Set<number>();
  /** SHA-256 of every sealed message accepted, so a relayed copy costs a hash, not a signature check. */
  const accepted = new Set<string>();
  /** The first attestation of each recipient (a second, different one is ignored). */
  const attestations = new Map<number, { body: KeygenAttestation; sealed: Uint8Array }>();
  /** n − f of the recipients: two such quorums share an honest recipient, which attests once. */
  const quorum = recipientCount - Math.floor((recipientCount - 1) / 3);
  /** What our own view of the round qualified, once the complaint round is over. */
  let ownQualification: Qualification | undefined;
  let outcome: KeygenResult | KeygenError | undefined;

  // ---------------------------------------------------------------- deals

  const validateDeal = (body: KeygenDeal): Point[] | undefined => {
    if (body.commitment.length !== commitmentLength(session)) return undefined;
    const points: Point[] = [];
    for (const bytes of body.commitment) {
      const point = parsePoint(bytes);
      if (point === undefined) return undefined;
      points.push(point);
    }
    const x = identifierOf(body.dealer);
    if (session.kind === 'dkg') {
      if (!verifyProofOfKnowledge(x, points[0]!, body.proofOfKnowledge)) return undefined;
      return points;
    }
    if (!bytesEqual(body.proofOfKnowledge, ZERO_PROOF)) return undefined;
    if (session.kind === 'refresh') return [Point.ZERO, ...points];
    // Reshare (Wong–Wang–Wing §4): the dealer's constant term is its share, so C_0 = Y_i.
    const verifying = session.previous!.verifyingShares[participantIdentifier(body.dealer)];
    if (verifying === undefined || !bytesEqual(body.commitment[0]!, verifying)) return undefined;
    return points;
  };

  const takeDeal = (sealed: Uint8Array, body: KeygenDeal): KeygenOutput[] => {
    const digest = sha256(sealed);
    const known = deals.get(body.dealer);
    if (known !== undefined) {
      if (!bytesEqual(known.digest, digest) && !equivocations.has(body.dealer))
        equivocations.set(body.dealer, [known.sealed, sealed.slice()]);
      return [];
    }
    deals.set(body.dealer, { sealed: sealed.slice(), digest, commitment: validateDeal(body) });
    return progress();
  };

  // ---------------------------------------------------------------- shares

  /** Our share from `dealer` if it came and passes Feldman's check against its deal (cached). */
  const myShareValue = (dealer: number): bigint | undefined => {
    if (myShareValues.has(dealer)) return myShareValues.get(dealer);
    const sealed = myShares.get(dealer);
    const commitment = deals.get(dealer)?.commitment;
    if (sealed === undefined || commitment === undefined || me === undefined) return undefined;
    const value = heldShareValue(sealed);
    const valid =
      value !== undefined &&
      Point.BASE.multiply(value).equals(evaluateCommitment(commitment, identifierOf(me)));
    myShareValues.set(dealer, valid ? value : undefined);
    return valid ? value : undefined;
  };

  // ---------------------------------------------------------------- complaints

  const accusationsOf = (recipient: number): Map<number, Uint8Array> => {
    const out = new Map<number, Uint8Array>();
    for (const complaint of complaints.get(recipient) ?? [])
      for (const accusation of complaint.accusations)
        if (accusation.dealer < dealerCount && !out.has(accusation.dealer))
          out.set(accusation.dealer, accusation.evidence);
    return out;
  };

  /** Does this evidence prove the dealer's signed share for `recipient` fails its commitment? */
  const evidenceConvicts = (dealer: number, recipient: number, evidence: Uint8Array): boolean | undefined => {
    if (evidence.length === 0) return undefined;
    // Judged once per piece of evidence: it is re-read on every message after the complaints.
    if (verdicts.has(evidence)) return verdicts.get(evidence);
    const verdict = judgeEvidence(dealer, recipient, evidence);
    // Undefined (no deal yet to judge against) may change when a relayed deal arrives.
    if (verdict !== undefined) verdicts.set(evidence, verdict);
    if (verdict === true) convicted.add(dealer);
    return verdict;
  };

  const judgeEvidence = (dealer: number, recipient: number, evidence: Uint8Array): boolean | undefined => {
    let opened: Opened;
    try {
      opened = openKeygenMessage(session, sessionDigest, evidence);
    } catch {
      return false;
    }
    if (opened.kind !== 'share' || opened.body.dealer !== dealer || opened.body.recipient !== recipient)
      return false;
    const commitment = deals.get(dealer)?.commitment;
    if (commitment === undefined) return undefined;
    const value = parseScalar(opened.body.share);
    // The share is public now (it is the evidence): variable-time arithmetic is fine.
    return value === undefined || !verifyPublicShare(value, identifierOf(recipient), commitment);
  };

  const complain = (): KeygenOutput[] => {
    if (complained || me === undefined) return [];
    complained = true;
    const dealDigests: Uint8Array[] = [];
    const accusations: { dealer: number; evidence: Uint8Array }[] = [];
    for (let dealer = 0; dealer < dealerCount; dealer++) {
      const deal = deals.get(dealer);
      dealDigests.push(deal?.digest ?? ZERO_DIGEST);
      if (deal !== undefined && deal.commitment === undefined) continue; // the deal convicts itself
      const sealed = myShares.get(dealer);
      if (sealed === undefined || deal === undefined)
        accusations.push({ dealer, evidence: new Uint8Array(0) });
      else if (myShareValue(dealer) === undefined) accusations.push({ dealer, evidence: sealed });
    }
    const payload = KeygenComplaintCodec.encode({
      session: sessionDigest,
      recipient: me,
      dealDigests,
      accusations,
    });
    const sealed = sealKeygenMessage(role.signer, session.chainId, payload);
    return [{ to: 'all', bytes: sealed }, ...receiveInternal(sealed)];
  };

  /** Our public answers to accusations against us that are not already convicting evidence. */
  const answer = (recipient: number): KeygenOutput[] => {
    if (self === undefined || coefficients === undefined) return [];
    if (answered.has(recipient)) return [];
    answered.add(recipient);
    const share = evaluatePolynomial(coefficients, identifierOf(recipient));
    const payload = KeygenJustificationCodec.encode({
      session: sessionDigest,
      dealer: self,
      reveals: [{ recipient, share: scalarBytes(share) }],
    });
    const sealed = sealKeygenMessage(role.signer, session.chainId, payload);
    return [{ to: 'all', bytes: sealed }, ...receiveInternal(sealed)];
  };

  // ---------------------------------------------------------------- progress and finishing

  const allDealsAndShares = () =>
    deals.size === dealerCount && (me === undefined || myShares.size === dealerCount);

  /** Everything the complaint round can still bring has come. */
  const complaintRoundSettled = (): boolean => {
    if (complaints.size < recipientCount) return false;
    for (const [recipient, list] of complaints) {
      for (const complaint of list) {
        for (let dealer = 0; dealer < dealerCount; dealer++) {
          const theirs = complaint.dealDigests[dealer] ?? ZERO_DIGEST;
          const ours = deals.get(dealer)?.digest ?? ZERO_DIGEST;
          // They lack a deal we hold: our relay reaches them, and their accusation is answered.
          if (bytesEqual(theirs, ZERO_DIGEST)) continue;
          // Otherwise a mismatch may still bring a relayed deal (equivocation or a late one): wait.
          if (!bytesEqual(theirs, ours) && !equivocations.has(dealer)) return false;
        }
      }
      for (const [dealer, evidence] of accusationsOf(recipient)) {
        if (equivocations.has(dealer) || deals.get(dealer)?.commitment === undefined) continue;
        // One piece of convicting evidence disqualifies the dealer (and `combine` stops at the first
        // it meets), so the rest of its accusers' evidence need not be judged, nor answered.
        if (convicted.has(dealer)) continue;
        if (evidenceConvicts(dealer, recipient, evidence) === true) continue;
        if (!answers.get(dealer)?.has(recipient)) return false;
      }
    }
    return true;
  };

  const progress = (): KeygenOutput[] => {
    if (phase === 'dealing' && allDealsAndShares()) {
      phase = 'complaining';
      return [...complain(), ...progress()];
    }
    if (phase === 'complaining' && complained === (me !== undefined) && complaintRoundSettled())
      return finish();
    return checkAgreement();
  };

  /**
   * The complaint round is over: qualify by what we hold, attest the transcript (recipients), and
   * wait for a quorum's attestations. An honest recipient attests one transcript only.
   */
  const finish = (): KeygenOutput[] => {
    let computed: KeygenResult | undefined;
    try {
      ownQualification = qualify();
      computed = combineFor(ownQualification);
    } catch (error) {
      if (!(error instanceof KeygenError)) throw error;
      phase = 'done';
      outcome = error;
      return [];
    }
    invariant(computed !== undefined, 'our own QUAL gave us every share');
    phase = 'attesting';
    if (me === undefined) return checkAgreement();
    const sealed = sealKeygenMessage(
      role.signer,
      session.chainId,
      KeygenAttestationCodec.encode({
        session: sessionDigest,
        recipient: me,
        qualified: [...computed.qualified],
        transcript: computed.transcriptDigest,
      }),
    );
    return [{ to: 'all', bytes: sealed }, ...receiveInternal(sealed)];
  };

  /**
   * Agreement: a quorum of recipients attested one transcript, and we can compute it (its deals,
   * and a verified share or public answer from each of its dealers for us). It need not be our own
   * QUAL: a dealer's answer timed at the complaint deadline reaches some before it and others
   * after, and the quorum's transcript is the one every honest validator then holds.
   */
  const checkAgreement = (): KeygenOutput[] => {
    if (phase === 'done' || attestations.size < quorum) return [];
    const groups = new Map<string, { qualified: readonly number[]; sealed: Uint8Array[] }>();
    for (const [, { body, sealed }] of [...attestations].sort((a, b) => a[0] - b[0])) {
      const name = toHex(body.transcript);
      const group = groups.get(name) ?? { qualified: body.qualified, sealed: [] };
      group.sealed.push(sealed);
      groups.set(name, group);
    }
    for (const [name, group] of groups) {
      if (group.sealed.length < quorum) continue;
      const own = ownQualification;
      const leftOut = (dealer: number): Disqualification =>
        own?.disqualified.find((d) => d.dealer === dealer) ?? {
          dealer,
          reason: 'LEFT_OUT_BY_QUORUM',
          evidence: [],
        };
      const computed = combineFor({
        qualified: group.qualified,
        disqualified: Array.from({ length: dealerCount }, (_, dealer) => dealer)
          .filter((dealer) => !group.qualified.includes(dealer))
          .map(leftOut),
        falseAccusers: own?.falseAccusers ?? [],
      });
      if (computed === undefined || toHex(computed.transcriptDigest) !== name) continue;
      phase = 'done';
      outcome = Object.freeze({ ...computed, attestations: Object.freeze(group.sealed) });
      return [];
    }
    return [];
  };

  /** QUAL by GJKR step 2 over what we hold. @throws KeygenError NOT_ENOUGH_QUALIFIED */
  const qualify = (): Qualification => {
    const disqualified: Disqualification[] = [];
    const falseAccusers = new Set<number>();
    const qualified: number[] = [];
    for (let dealer = 0; dealer < dealerCount; dealer++) {
      const deal = deals.get(dealer);
      if (deal === undefined) {
        disqualified.push({ dealer, reason: 'SILENT', evidence: [] });
        continue;
      }
      const pair = equivocations.get(dealer);
      if (pair !== undefined) {
        disqualified.push({ dealer, reason: 'EQUIVOCATION', evidence: pair });
        continue;
      }
      if (deal.commitment === undefined) {
        disqualified.push({ dealer, reason: 'BAD_DEAL', evidence: [deal.sealed] });
        continue;
      }
      const accusers: number[] = [];
      let verdict: Disqualification | undefined;
      for (let recipient = 0; recipient < recipientCount && verdict === undefined; recipient++) {
        const evidence = accusationsOf(recipient).get(dealer);
        if (evidence === undefined) continue;
        const convicts = evidenceConvicts(dealer, recipient, evidence);
        if (convicts === true) {
          verdict = { dealer, reason: 'BAD_SHARE', evidence: [evidence] };
          break;
        }
        if (convicts === false) falseAccusers.add(recipient);
        accusers.push(recipient);
        const revealed = answers.get(dealer)?.get(recipient);
        if (answers.get(dealer)?.has(recipient) !== true)
          verdict = { dealer, reason: 'UNANSWERED_COMPLAINT', evidence: [] };
        else if (revealed === undefined) verdict = { dealer, reason: 'BAD_SHARE', evidence: [] };
      }
      if (verdict === undefined && accusers.length >= t)
        verdict = { dealer, reason: 'TOO_MANY_COMPLAINTS', evidence: [] };
      if (verdict !== undefined) disqualified.push(verdict);
      else qualified.push(dealer);
    }
    if (qualified.length < minimum)
      throw new KeygenError(
        'NOT_ENOUGH_QUALIFIED',
        disqualified.map((d) => d.dealer),
        `${qualified.length} qualified dealers, ${minimum} needed`,
      );
    return { qualified, disqualified, falseAccusers: [...falseAccusers].sort((a, b) => a - b) };
  };

  /**
   * GJKR step 3 for a QUAL: the combined commitment, every verifying share and ours. Undefined
   * while a piece is missing here (a deal, or our share from one of its dealers).
   */
  const combineFor = ({
    qualified,
    disqualified,
    falseAccusers,
  }: Qualification): KeygenResult | undefined => {
    if (qualified.length < minimum) return undefined;
    for (const dealer of qualified) {
      if (deals.get(dealer)?.commitment === undefined || equivocations.has(dealer)) return undefined;
      if (me !== undefined && (myShareValue(dealer) ?? answers.get(dealer)?.get(me)) === undefined)
        return undefined;
    }
    const commitments = qualified.map((dealer) => deals.get(dealer)!.commitment!);
    let weights: bigint[] | undefined;
    if (session.kind === 'reshare') {
      const xs = qualified.map(identifierOf);
      weights = xs.map((x) => lagrangeCoefficient(xs, x));
    }
    let combined = combineCommitments(commitments, weights);
    if (session.kind === 'refresh') {
      const previous = session.previous!.commitments.map((bytes) => parsePoint(bytes)!);
      combined = combineCommitments([previous, combined]);
    }
    if (session.kind !== 'dkg')
      invariant(
        bytesEqual(pointBytes(combined[0]!), session.previous!.commitments[0]!),
        'refresh and reshare keep the group key',
      );
    const commitmentBytes = combined.map(pointBytes);
    const verifyingShares: Record<string, Uint8Array<ArrayBuffer>> = {};
    const evaluate = commitmentEvaluator(combined);
    for (let recipient = 0; recipient < recipientCount; recipient++)
      verifyingShares[participantIdentifier(recipient)] = pointBytes(evaluate(identifierOf(recipient)));
    const publicPackage: FrostPublic = {
      signers: { min: t, max: recipientCount },
      commitments: commitmentBytes,
      verifyingShares,
    };
    const groupPublicKey = commitmentBytes[0]!;
    let key: FrostKeyPackage | undefined;
    if (me !== undefined) {
      let share = 0n;
      qualified.forEach((dealer, i) => {
        const value = myShareValue(dealer) ?? answers.get(dealer)?.get(me);
        invariant(value !== undefined, 'a qualified dealer gave us a verified share');
        share = Fn.add(share, weights === undefined ? value : Fn.mul(weights[i]!, value));
      });
      if (session.kind === 'refresh')
        share = Fn.add(share, Fn.fromBytes(role.previousKey!.secret.signingShare));
      invariant(share !== 0n, 'a zero share');
      const signingShare = scalarBytes(share);
      // Our combined share must match our public verifying share (GJKR step 3 holds).
      secp256k1_FROST.validateSecret({ identifier: participantIdentifier(me), signingShare }, publicPackage);
      key = Object.freeze({
        epoch: session.epoch,
        index: me,
        threshold: t,
        participants: recipientCount,
        groupPublicKey,
        public: publicPackage,
        secret: { identifier: participantIdentifier(me), signingShare },
      });
    }
    const transcriptDigest = sha256(
      new Uint8Array(qualified.flatMap((dealer) => [dealer >> 8, dealer & 0xff])),
      ...commitmentBytes,
    );
    return Object.freeze({
      qualified: [...qualified],
      disqualified,
      falseAccusers,
      groupPublicKey,
      public: publicPackage,
      ...(key === undefined ? {} : { key }),
      transcriptDigest,
      attestations: [],
    });
  };

  // ---------------------------------------------------------------- receiving

  function receiveInternal(bytes: Uint8Array): KeygenOutput[] {
    const fingerprint = toHex(sha256(bytes));
    if (accepted.has(fingerprint)) return [];
    const opened = openKeygenMessage(session, sessionDigest, bytes);
    if (accepted.size < 16 * MAX_VALIDATORS * MAX_VALIDATORS) accepted.add(fingerprint);
    if (phase === 'done') return [];
    switch (opened.kind) {
      case 'attestation': {
        const { recipient, qualified } = opened.body;
        if (attestations.has(recipient)) return [];
        const ascending = qualified.every(
          (dealer, i) => dealer < dealerCount && (i === 0 || qualified[i - 1]! < dealer),
        );
        if (!ascending || qualified.length < minimum) return [];
        attestations.set(recipient, { body: opened.body, sealed: bytes.slice() });
        return checkAgreement();
      }
      case 'deal':
        return takeDeal(bytes, opened.body);
      case 'share': {
        const { dealer, recipient } = opened.body;
        if (recipient !== me) throw new KeygenError('NOT_FOR_US', [dealer], `share for ${recipient}`);
        if (myShares.has(dealer)) return [];
        myShares.set(dealer, bytes.slice());
        return progress();
      }
      case 'complaint': {
        const { recipient } = opened.body;
        const list = complaints.get(recipient) ?? [];
        const seals = complaintSeals.get(recipient) ?? [];
        if (seals.some((s) => bytesEqual(s, bytes))) return [];
        if (list.length >= 2) return []; // two versions already prove it lies; more add nothing
        list.push(opened.body);
        seals.push(bytes.slice());
        complaints.set(recipient, list);
        complaintSeals.set(recipient, seals);
        const out: KeygenOutput[] = [];
        // Relay an accusing complaint once, so the accused hears it even if its author chose whom to tell.
        if (opened.body.accusations.length > 0 && !relayedComplaints.has(fingerprint) && recipient !== me) {
          relayedComplaints.add(fingerprint);
          out.push({ to: 'all', bytes: bytes.slice() });
        }
        // Relay the deal we hold wherever its digest differs from the complainer's.
        for (let dealer = 0; dealer < dealerCount; dealer++) {
          const deal = deals.get(dealer);
          const theirs = opened.body.dealDigests[dealer] ?? ZERO_DIGEST;
          if (deal !== undefined && !bytesEqual(deal.digest, theirs) && !relayedDeals.has(dealer)) {
            relayedDeals.add(dealer);
            out.push({ to: 'all', bytes: deal.sealed });
          }
        }
        for (const accusation of opened.body.accusations)
          if (accusation.dealer === self) out.push(...answer(recipient));
        return [...out, ...progress()];
      }
      case 'justification': {
        const { dealer } = opened.body;
        const byRecipient = answers.get(dealer) ?? new Map<number, bigint | undefined>();
        for (const reveal of opened.body.reveals) {
          if (reveal.recipient >= recipientCount || byRecipient.has(reveal.recipient)) continue;
          const commitment = deals.get(dealer)?.commitment;
          const value = parseScalar(reveal.share);
          const valid =
            commitment !== undefined &&
            value !== undefined &&
            verifyPublicShare(value, identifierOf(reveal.recipient), commitment);
          byRecipient.set(reveal.recipient, valid ? value : undefined);
        }
        answers.set(dealer, byRecipient);
        // Relayed once (`accepted` drops copies): a dealer that answers some validators only
        // cannot make them disagree on QUAL.
        const relay: KeygenOutput[] = dealer === self ? [] : [{ to: 'all', bytes: bytes.slice() }];
        return [...relay, ...progress()];
      }
    }
  }

  return {
    get phase() {
      return phase;
    },
    sessionDigest,

    start() {
      invariant(!started, 'start once');
      started = true;
      if (self === undefined) return progress();
      let commitmentBytes: Uint8Array[];
      let proofOfKnowledge = ZERO_PROOF;
      if (session.kind === 'dkg') {
        // noble's DKG round 1 samples the polynomial and proves knowledge of a_0 (FROST §5.1).
        const round1 = secp256k1_FROST.DKG.round1(
          participantIdentifier(self),
          { min: t, max: recipientCount },
          undefined,
          ...(dealingRng === undefined ? [] : [dealingRng]),
        );
        invariant(round1.secret.coefficients !== undefined, 'noble kept the coefficients');
        coefficients = [...round1.secret.coefficients];
        commitmentBytes = round1.public.commitment;
        proofOfKnowledge = round1.public.proofOfKnowledge;
        secp256k1_FROST.DKG.clean(round1.secret);
      } else {
        const constant =
          session.kind === 'refresh' ? 0n : Fn.fromBytes(role.previousKey!.secret.signingShare);
        coefficients = randomPolynomial(t, constant, dealingRng);
        const points = commitPolynomial(coefficients);
        commitmentBytes = (session.kind === 'refresh' ? points.slice(1) : points).map(pointBytes);
      }
      const deal = sealKeygenMessage(
        role.signer,
        session.chainId,
        KeygenDealCodec.encode({
          session: sessionDigest,
          dealer: self,
          commitment: commitmentBytes,
          proofOfKnowledge,
        }),
      );
      const out: KeygenOutput[] = [{ to: 'all', bytes: deal }];
      const local: Uint8Array[] = [deal];
      for (let recipient = 0; recipient < recipientCount; recipient++) {
        const share = evaluatePolynomial(coefficients, identifierOf(recipient));
        const sealed = sealKeygenMessage(
          role.signer,
          session.chainId,
          KeygenShareCodec.encode({
            session: sessionDigest,
            dealer: self,
            recipient,
            share: scalarBytes(share),
          }),
        );
        if (recipient === me) local.push(sealed);
        else out.push({ to: 'recipient', recipient, bytes: sealed });
      }
      for (const bytes of local) out.push(...receiveInternal(bytes));
      return out;
    },

    receive(bytes) {
      return receiveInternal(bytes);
    },

    advance(deadline) {
      const out: KeygenOutput[] = [];
      if (phase === 'dealing') {
        phase = 'complaining';
        out.push(...complain(), ...progress());
      }
      if (deadline === 'complaints' && phase === 'complaining') out.push(...finish());
      return out;
    },

    result() {
      if (outcome instanceof KeygenError) throw outcome;
      return outcome;
    },

    waitingFor() {
      const all = (count: number) => Array.from({ length: count }, (_, i) => i);
      return {
        deals: all(dealerCount).filter((d) => !deals.has(d)),
        shares: me === undefined ? [] : all(dealerCount).filter((d) => !myShares.has(d)),
        complaints: all(recipientCount).filter((r) => !complaints.has(r)),
        answers: [...answers.keys()],
        attestations: all(recipientCount).filter((r) => !attestations.has(r)),
      };
    },
  };
}

/**
 * Runs one session among honest participants in one process (devnet, benchmarks): the same
 * messages and checks as over the network, delivered at once.
 * @example const results = runLocalKeygen(session, roles);
 */
export function runLocalKeygen(session: KeygenSession, roles: readonly KeygenRole[]): KeygenResult[] {
  const machines = roles.map((role) => createKeygenMachine(session, role));
  const queue: KeygenOutput[] = machines.flatMap((machine) => machine.start());
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      invariant(steps < 64 * MAX_VALIDATORS * MAX_VALIDATORS, 'local keygen does not settle');
      const output = queue.shift()!;
      machines.forEach((machine, i) => {
        if (output.to === 'recipient' && roles[i]!.recipient !== output.recipient) return;
        try {
          queue.push(...machine.receive(output.bytes));
        } catch (error) {
          if (!(error instanceof KeygenError && error.code === 'NOT_FOR_US')) throw error;
        }
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    for (const machine of machines) queue.push(...machine.advance(deadline));
    deliver();
  }
  return machines.map((machine) => {
    const result = machine.result();
    invariant(result !== undefined, 'every local participant finished');
    return result;
  });
}

/**
 * The session digest a sealed keygen message carries, read without checking its signature (for
 * routing to the right session, which then checks everything).
 * @throws KeygenError MALFORMED
 */
export function keygenMessageSession(bytes: Uint8Array): Uint8Array {
  try {
    const { payload } = SealedKeygenCodec.decode(bytes);
    const tag = peekTag(payload);
    if (tag === KeygenDealCodec.tag) return KeygenDealCodec.decode(payload).session;
    if (tag === KeygenShareCodec.tag) return KeygenShareCodec.decode(payload).session;
    if (tag === KeygenComplaintCodec.tag) return KeygenComplaintCodec.decode(payload).session;
    if (tag === KeygenJustificationCodec.tag) return KeygenJustificationCodec.decode(payload).session;
    if (tag === KeygenAttestationCodec.tag) return KeygenAttestationCodec.decode(payload).session;
  } catch (cause) {
    throw new KeygenError('MALFORMED', [], 'undecodable keygen message', { cause });
  }
  throw new KeygenError('MALFORMED', [], 'not a keygen message');
}

/**
 * Whether a keyset's public package is whole and consistent: `signers.min` commitment points (the
 * Feldman commitment of the keyset's polynomial, C_0 the group key), one verifying share for each
 * identifier 1…`signers.max` and no other, each equal to the commitment evaluated at its
 * identifier (Y_j = Σ_k j^k C_k, RFC 9591 App. C.2 `derive_group_info`). A validator that joins at
 * a reshare checks a package it was sent with this before it deals with anyone under it; never throws.
 * @example if (!publicPackageConsistent(announced)) refuse();
 */
export function publicPackageConsistent(keyset: FrostPublic): boolean {
  const { min, max } = keyset.signers;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || min > max || max > MAX_VALIDATORS)
    return false;
  if (keyset.commitments.length !== min) return false;
  const points: Point[] = [];
  for (const bytes of keyset.commitments) {
    const point = parsePoint(bytes);
    if (point === undefined) return false;
    points.push(point);
  }
  const identifiers = Object.keys(keyset.verifyingShares);
  if (identifiers.length !== max) return false;
  const evaluate = commitmentEvaluator(points);
  for (let index = 0; index < max; index++) {
    const share = keyset.verifyingShares[participantIdentifier(index)];
    if (share === undefined || parsePoint(share) === undefined) return false;
    if (!bytesEqual(pointBytes(evaluate(identifierOf(index))), share)) return false;
  }
  return true;
}
