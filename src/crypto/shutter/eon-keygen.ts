/**
 * The validators' eon DKG: a sans-IO state machine that makes the fair-ordering eon keyset
 * (threshold BLS12-381, public key in G2, Shutter's scheme) among the validators, with the
 * complaint round of the price keyset's key generation (src/crypto/keygen.ts; Gennaro, Jarecki,
 * Krawczyk, Rabin, "Secure Distributed Key Generation for Discrete-Log Based Cryptosystems",
 * J. Cryptology 2007, "GJKR") over the G2 Feldman arithmetic of ./eon-dkg.ts, and an attestation
 * round by which the validators agree on one keyset before any block uses it.
 *
 * ## Protocol (one session: chain, eon, threshold t, validators 0…n − 1, each dealer and recipient)
 *
 * 1. Deal (GJKR Fig. 2 step 1a). Dealer j picks f_j of degree t − 1 over F_q, broadcasts its
 *    signed commitment Γ_j = (a_j0·g2, …, a_j,t−1·g2) and sends each recipient i its signed share
 *    f_j(x_i), x_i = i + 1, point to point (on a node, over the validators' mutual-TLS channel).
 * 2. Verify and complain (GJKR step 1b–1c). Recipient i checks every share against its commitment,
 *    f_j(x_i)·g2 = Σ_k x_i^k·Γ_j,k (Feldman), and broadcasts one signed complaint: the digest of the
 *    deal it holds from every dealer (a dealer that showed different commitments to different
 *    recipients is seen) and an accusation against every dealer whose share failed — with the
 *    dealer's own signed share as evidence — or never came.
 * 3. Answer. A dealer accused without conclusive evidence reveals that share publicly; everyone
 *    checks it against Γ_j and re-broadcasts the answer once, so a dealer that answers only some
 *    validators cannot make them disagree on QUAL. Whoever sees a complaint whose deal digests
 *    differ from its own re-broadcasts the deal it holds (two signed deals prove equivocation),
 *    and re-broadcasts an accusing complaint once so the accused hears it.
 * 4. Qualify (GJKR step 2). QUAL: every dealer with a valid deal (t points of G2, Γ_0 not the
 *    identity), no proven bad share, no equivocation, fewer than t accusers, every accusation
 *    answered by a valid reveal. Disqualified dealers are named with their reason and evidence.
 *    |QUAL| must reach n − f (2f + 1 for n = 3f + 1).
 * 5. Combine (GJKR step 3). s_i = Σ_{j∈QUAL} f_j(x_i), eon key P = Σ_{j∈QUAL} Γ_j,0, public share
 *    P_i = Σ_{j∈QUAL} Σ_k x_i^k·Γ_j,k; checked s_i·g2 = P_i.
 * 6. Attest. Each validator signs (QUAL, transcript) with transcript = SHA-256(label, session,
 *    QUAL, Σ Γ_j) and broadcasts it. The keyset is **agreed** once n − f validators attested the
 *    same transcript and this machine can compute its own share of it (it holds those deals, and a
 *    verified share or a valid public reveal from each of those dealers — possibly not its own
 *    QUAL, when it saw the round differently, e.g. after a restart). Two quorums of n − f overlap
 *    in f + 1 validators, one of them honest, and an honest validator attests one transcript: no
 *    two honest validators agree on different keysets. `agreed()` carries the n − f sealed
 *    attestations, so a node that restarts can show them (`verifyEonAttestations`).
 *
 * Timing is GJKR's synchronous broadcast, as in keygen.ts: the machine moves on when everything it
 * waits for has come, or when the driver calls `advance()` at a deadline. Dealing randomness may
 * come from `dealingSeed` (HKDF-SHA-256 over the session digest), so a dealer that restarts in the
 * middle deals byte for byte the same again and its peers see a copy, not an equivocation.
 *
 * There is no proof of knowledge of a_j0 (the secp256k1 keygen has FROST's): the shares a dealer
 * must hand n − f recipients already bind it to a polynomial it knows, and JF-DKG's possible bias
 * of the public key does not weaken threshold encryption (Gennaro et al., "Secure Applications of
 * Pedersen's Distributed Key Generation Protocol", CT-RSA 2003); Shutter's keypers run JF-DKG too.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as sha256Hash } from '@noble/hashes/sha2.js';
import { CodecError } from '../../codec/errors.ts';
import { invariant } from '../../codec/invariant.ts';
import { peekTag } from '../../codec/message.ts';
import { MAX_VALIDATORS } from '../../codec/oracle.ts';
import { bytesEqual, toHex } from '../bytes.ts';
import { DomainTag } from '../domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from '../ed25519.ts';
import { sha256 } from '../hash.ts';
import { dealEon, type EonKeyset, eonIdentifier, evaluateG2Commitment, verifyEonShare } from './eon-dkg.ts';
import {
  type EonAttestation,
  EonAttestationCodec,
  type EonComplaint,
  EonComplaintCodec,
  type EonDeal,
  EonDealCodec,
  type EonJustification,
  EonJustificationCodec,
  type EonShare,
  EonShareCodec,
  SealedEonKeygenCodec,
} from './eon-keygen-codec.ts';
import { Fr, G2, type G2Point } from './ibe.ts';

export type EonDisqualificationReason =
  | 'SILENT'
  | 'BAD_DEAL'
  | 'EQUIVOCATION'
  | 'BAD_SHARE'
  | 'UNANSWERED_COMPLAINT'
  | 'TOO_MANY_COMPLAINTS';

export interface EonDisqualification {
  readonly dealer: number;
  readonly reason: EonDisqualificationReason;
  /** Sealed, signed messages that prove it, where the reason is provable (empty otherwise). */
  readonly evidence: readonly Uint8Array[];
}

export type EonKeygenErrorCode =
  | 'MALFORMED'
  | 'BAD_AUTHENTICATION'
  | 'WRONG_SESSION'
  | 'UNKNOWN_SENDER'
  | 'NOT_FOR_US'
  | 'NOT_ENOUGH_QUALIFIED'
  | 'BAD_ATTESTATIONS';

export class EonKeygenError extends Error {
  override readonly name = 'EonKeygenError';
  readonly code: EonKeygenErrorCode;
  /** Validators at fault, where the failure is theirs. */
  readonly culprits: readonly number[];
  constructor(
    code: EonKeygenErrorCode,
    culprits: readonly number[],
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}${culprits.length > 0 ? ` (validators ${culprits.join(', ')})` : ''}`, options);
    this.code = code;
    this.culprits = culprits;
  }
}

export interface EonKeygenSession {
  readonly chainId: number;
  readonly eon: number;
  /** Identity keys of the validators (dealers and recipients), by index. */
  readonly validatorKeys: readonly Uint8Array[];
  readonly threshold: number;
}

export interface EonKeygenRole {
  readonly index: number;
  readonly signer: Ed25519Signer;
  /** At least 32 secret bytes the dealing is derived from (see the header); else the CSPRNG. */
  readonly dealingSeed?: Uint8Array;
}

export type EonKeygenOutput =
  | { readonly to: 'all'; readonly bytes: Uint8Array }
  | { readonly to: 'recipient'; readonly recipient: number; readonly bytes: Uint8Array };

export interface EonKeygenResult {
  readonly qualified: readonly number[];
  readonly disqualified: readonly EonDisqualification[];
  /** Recipients whose evidence did not hold up (a valid share presented as bad). */
  readonly falseAccusers: readonly number[];
  readonly keyset: EonKeyset;
  readonly secretShare: bigint;
  readonly transcriptDigest: Uint8Array;
}

/** The keyset n − f validators attested, with this validator's share of it. */
export interface EonAgreement {
  readonly keyset: EonKeyset;
  readonly secretShare: bigint;
  readonly transcriptDigest: Uint8Array;
  /** Σ_{j∈QUAL} Γ_j, t points: the keyset's public polynomial. */
  readonly commitment: readonly G2Point[];
  /** The sealed attestations of n − f validators, ascending by validator. */
  readonly attestations: readonly Uint8Array[];
}

export interface EonKeygenMachine {
  readonly phase: 'dealing' | 'complaining' | 'done';
  readonly sessionDigest: Uint8Array;
  /** Our deal, shares and (at once for our own) the checks. Call once. */
  start(): EonKeygenOutput[];
  /**
   * One sealed message from the network (authorship is checked by signature).
   * @throws EonKeygenError MALFORMED, BAD_AUTHENTICATION, WRONG_SESSION, UNKNOWN_SENDER or NOT_FOR_US;
   *   the machine is unchanged when it throws
   */
  receive(bytes: Uint8Array): EonKeygenOutput[];
  /** A deadline passed: 'deals' complains about what has not come; 'complaints' finishes. */
  advance(deadline: 'deals' | 'complaints'): EonKeygenOutput[];
  /** Our own outcome once `phase` is 'done'. @throws EonKeygenError NOT_ENOUGH_QUALIFIED */
  result(): EonKeygenResult | undefined;
  /** The keyset once n − f validators attested it and we hold our share of it. */
  agreed(): EonAgreement | undefined;
  waitingFor(): { deals: number[]; shares: number[]; complaints: number[]; attestations: number[] };
}

const ZERO_DIGEST = new Uint8Array(32);
const SESSION_LABEL = new TextEncoder().encode('PALISADE/SHUTTER/EON-KEYGEN-SESSION/v1');
const TRANSCRIPT_LABEL = new TextEncoder().encode('PALISADE/SHUTTER/EON-TRANSCRIPT/v1');
const DEALING_INFO = new TextEncoder().encode('PALISADE/SHUTTER/EON-DEALING/v1');

/** n − f, f = ⌊(n − 1)/3⌋: the qualified dealers and attestations a keyset needs. */
export function eonQuorum(n: number): number {
  return n - Math.floor((n - 1) / 3);
}

/** The threshold of an eon keyset among n validators: 2f + 1 shares combine an envelope's key. */
export function eonThreshold(n: number): number {
  return 2 * Math.floor((n - 1) / 3) + 1;
}

/** The 32 bytes that name a session in every one of its messages. */
export function eonKeygenSessionDigest(session: EonKeygenSession): Uint8Array {
  const header = new Uint8Array(8 + 8 + 2 + 2);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(session.chainId));
  view.setBigUint64(8, BigInt(session.eon));
  view.setUint16(16, session.threshold);
  view.setUint16(18, session.validatorKeys.length);
  return sha256(SESSION_LABEL, header, ...session.validatorKeys);
}

/** SHA-256 over the session, QUAL (u16 each) and the combined commitment (compressed G2). */
export function eonTranscriptDigest(
  sessionDigest: Uint8Array,
  qualified: readonly number[],
  commitment: readonly G2Point[],
): Uint8Array {
  return sha256(
    TRANSCRIPT_LABEL,
    sessionDigest,
    new Uint8Array(qualified.flatMap((dealer) => [dealer >> 8, dealer & 0xff])),
    ...commitment.map((point) => point.toBytes(true)),
  );
}

function checkSession(session: EonKeygenSession): void {
  invariant(Number.isSafeInteger(session.chainId) && session.chainId >= 0, 'eon keygen needs a chain id');
  invariant(Number.isSafeInteger(session.eon) && session.eon >= 0, 'eon keygen needs an eon');
  const n = session.validatorKeys.length;
  invariant(n >= 1 && n <= MAX_VALIDATORS, 'eon keygen needs 1 to MAX_VALIDATORS validators');
  invariant(
    Number.isInteger(session.threshold) && session.threshold >= 1 && session.threshold <= eonQuorum(n),
    'the eon threshold is between 1 and n − f',
  );
}

/** Scalars drawn from HKDF-SHA-256(seed, session digest): 48 bytes each, reduced mod q. */
function seededScalars(seed: Uint8Array, sessionDigest: Uint8Array): () => bigint {
  invariant(seed.length >= 32, 'a dealing seed has at least 32 bytes');
  const stream = hkdf(sha256Hash, seed, sessionDigest, DEALING_INFO, 255 * 32);
  let offset = 0;
  return () => {
    for (;;) {
      invariant(offset + 48 <= stream.length, 'dealing stream exhausted');
      let value = 0n;
      for (const byte of stream.subarray(offset, offset + 48)) value = (value << 8n) | BigInt(byte);
      offset += 48;
      value = Fr.create(value);
      if (value !== 0n) return value;
    }
  };
}

function scalarBytes(value: bigint): Uint8Array {
  return Fr.toBytes(value);
}

function parseScalar(bytes: Uint8Array): bigint | undefined {
  if (bytes.length !== 32) return undefined;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value < Fr.ORDER ? value : undefined;
}

type Opened =
  | { kind: 'deal'; body: EonDeal }
  | { kind: 'share'; body: EonShare }
  | { kind: 'complaint'; body: EonComplaint }
  | { kind: 'justification'; body: EonJustification }
  | { kind: 'attestation'; body: EonAttestation };

/** Signs an encoded body with the author's identity key. */
export function sealEonKeygenMessage(
  signer: Ed25519Signer,
  chainId: number,
  payload: Uint8Array,
): Uint8Array {
  return SealedEonKeygenCodec.encode({
    payload,
    signature: signInDomain(signer, DomainTag.eonDkg, chainId, payload),
  });
}

function authorOf(opened: Opened): number {
  switch (opened.kind) {
    case 'complaint':
      return opened.body.recipient;
    case 'attestation':
      return opened.body.validator;
    default:
      return opened.body.dealer;
  }
}

/**
 * Decodes a sealed message of `session` and checks its author's signature.
 * @throws EonKeygenError MALFORMED, WRONG_SESSION, UNKNOWN_SENDER or BAD_AUTHENTICATION
 */
export function openEonKeygenMessage(
  session: EonKeygenSession,
  sessionDigest: Uint8Array,
  bytes: Uint8Array,
): Opened {
  let payload: Uint8Array;
  let signature: Uint8Array;
  let opened: Opened;
  try {
    ({ payload, signature } = SealedEonKeygenCodec.decode(bytes));
    const tag = peekTag(payload);
    if (tag === EonDealCodec.tag) opened = { kind: 'deal', body: EonDealCodec.decode(payload) };
    else if (tag === EonShareCodec.tag) opened = { kind: 'share', body: EonShareCodec.decode(payload) };
    else if (tag === EonComplaintCodec.tag)
      opened = { kind: 'complaint', body: EonComplaintCodec.decode(payload) };
    else if (tag === EonJustificationCodec.tag)
      opened = { kind: 'justification', body: EonJustificationCodec.decode(payload) };
    else if (tag === EonAttestationCodec.tag)
      opened = { kind: 'attestation', body: EonAttestationCodec.decode(payload) };
    else
      throw new CodecError(
        'UNKNOWN_TYPE',
        'payload',
        `tag 0x${tag.toString(16)} is not an eon keygen message`,
      );
  } catch (cause) {
    throw new EonKeygenError('MALFORMED', [], cause instanceof CodecError ? cause.message : 'undecodable', {
      cause,
    });
  }
  if (!bytesEqual(opened.body.session, sessionDigest))
    throw new EonKeygenError('WRONG_SESSION', [], `${opened.kind} for another session`);
  const author = authorOf(opened);
  const key = session.validatorKeys[author];
  if (key === undefined) throw new EonKeygenError('UNKNOWN_SENDER', [], `${opened.kind} from ${author}`);
  if (!verifyInDomain(key, DomainTag.eonDkg, session.chainId, payload, signature))
    throw new EonKeygenError(
      'BAD_AUTHENTICATION',
      [],
      `${opened.kind} claiming ${author} is not signed by it`,
    );
  return opened;
}

/**
 * The session digest a sealed eon keygen message names, read without checking its signature (to
 * route it; the machine checks everything). @throws EonKeygenError MALFORMED
 */
export function eonKeygenMessageSession(bytes: Uint8Array): Uint8Array {
  try {
    const { payload } = SealedEonKeygenCodec.decode(bytes);
    const tag = peekTag(payload);
    for (const codec of [
      EonDealCodec,
      EonShareCodec,
      EonComplaintCodec,
      EonJustificationCodec,
      EonAttestationCodec,
    ])
      if (codec.tag === tag) return (codec.decode(payload) as { session: Uint8Array }).session;
  } catch (cause) {
    throw new EonKeygenError('MALFORMED', [], 'undecodable eon keygen message', { cause });
  }
  throw new EonKeygenError('MALFORMED', [], 'not an eon keygen message');
}

/** Combines the commitments of QUAL: Σ_j Γ_j coefficient-wise. */
function sumCommitments(commitments: readonly (readonly G2Point[])[], t: number): G2Point[] {
  const summed: G2Point[] = [];
  for (let k = 0; k < t; k++) summed.push(commitments.reduce((sum, c) => sum.add(c[k]!), G2.ZERO));
  return summed;
}

/** The public keyset of a combined commitment among n validators. */
export function eonKeysetOf(
  commitment: readonly G2Point[],
  qualified: readonly number[],
  n: number,
): EonKeyset {
  invariant(commitment.length >= 1 && !commitment[0]!.is0(), 'eon key is the identity point');
  const publicShares: G2Point[] = [];
  for (let i = 0; i < n; i++) publicShares.push(evaluateG2Commitment(commitment, eonIdentifier(i)));
  return Object.freeze({
    threshold: commitment.length,
    eonPublicKey: commitment[0]!,
    publicShares: Object.freeze(publicShares),
    qualified: Object.freeze([...qualified]),
  });
}

/**
 * Checks that `attestations` are n − f distinct validators' signed attestations of the transcript
 * of (`qualified`, `commitment`) in `session`; returns the keyset they attest.
 * @throws EonKeygenError BAD_ATTESTATIONS
 * @example const keyset = verifyEonAttestations(session, qualified, commitment, sealed);
 */
export function verifyEonAttestations(
  session: EonKeygenSession,
  qualified: readonly number[],
  commitment: readonly G2Point[],
  attestations: readonly Uint8Array[],
): EonKeyset {
  checkSession(session);
  const n = session.validatorKeys.length;
  const sessionDigest = eonKeygenSessionDigest(session);
  if (commitment.length !== session.threshold || commitment[0]!.is0())
    throw new EonKeygenError('BAD_ATTESTATIONS', [], 'commitment of the wrong degree');
  const transcript = eonTranscriptDigest(sessionDigest, qualified, commitment);
  const signers = new Set<number>();
  for (const sealed of attestations) {
    let opened: Opened;
    try {
      opened = openEonKeygenMessage(session, sessionDigest, sealed);
    } catch (cause) {
      throw new EonKeygenError('BAD_ATTESTATIONS', [], 'an attestation does not open', { cause });
    }
    if (opened.kind !== 'attestation' || !bytesEqual(opened.body.transcript, transcript))
      throw new EonKeygenError('BAD_ATTESTATIONS', [], 'an attestation of another transcript');
    signers.add(opened.body.validator);
  }
  if (signers.size < eonQuorum(n))
    throw new EonKeygenError('BAD_ATTESTATIONS', [], `${signers.size} attestations, ${eonQuorum(n)} needed`);
  return eonKeysetOf(commitment, qualified, n);
}

interface DealRecord {
  readonly sealed: Uint8Array;
  readonly digest: Uint8Array;
  /** Γ_0…Γ_{t−1}; undefined when the deal is invalid. */
  readonly commitment: G2Point[] | undefined;
}

/**
 * One validator's side of the eon DKG.
 * @example const machine = createEonKeygenMachine(session, { index: 0, signer }); broadcast(machine.start());
 */
export function createEonKeygenMachine(session: EonKeygenSession, role: EonKeygenRole): EonKeygenMachine {
  checkSession(session);
  const n = session.validatorKeys.length;
  const t = session.threshold;
  const quorum = eonQuorum(n);
  const sessionDigest = eonKeygenSessionDigest(session);
  const me = role.index;
  invariant(Number.isInteger(me) && me >= 0 && me < n, 'index outside the set');
  invariant(bytesEqual(role.signer.publicKey, session.validatorKeys[me]!), 'signer is not this validator');

  const deals = new Map<number, DealRecord>();
  const equivocations = new Map<number, Uint8Array[]>();
  const myShares = new Map<number, Uint8Array>();
  const myShareValues = new Map<number, bigint | undefined>();
  const complaints = new Map<number, EonComplaint[]>();
  const answers = new Map<number, Map<number, bigint | undefined>>();
  const attestations = new Map<number, { body: EonAttestation; sealed: Uint8Array }>();
  const relayedDeals = new Set<number>();
  const relayedComplaints = new Set<string>();
  const answered = new Set<number>();
  const accepted = new Set<string>();
  let shares: readonly bigint[] | undefined;
  let phase: EonKeygenMachine['phase'] = 'dealing';
  let started = false;
  let complained = false;
  let outcome: EonKeygenResult | EonKeygenError | undefined;
  let agreement: EonAgreement | undefined;
  /** Transcripts tried against our holdings and found unusable, by their key (retried on news). */
  let agreementTried = -1;

  const seal = (payload: Uint8Array) => sealEonKeygenMessage(role.signer, session.chainId, payload);

  // ---------------------------------------------------------------- deals and shares

  const validateDeal = (body: EonDeal): G2Point[] | undefined => {
    if (body.commitment.length !== t) return undefined;
    const points: G2Point[] = [];
    for (const bytes of body.commitment) {
      try {
        const point = G2.fromBytes(bytes);
        point.assertValidity();
        points.push(point);
      } catch {
        return undefined;
      }
    }
    return points[0]!.is0() ? undefined : points;
  };

  const takeDeal = (sealed: Uint8Array, body: EonDeal): EonKeygenOutput[] => {
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

  const heldShareValue = (sealed: Uint8Array): bigint | undefined => {
    const { payload } = SealedEonKeygenCodec.decode(sealed);
    return parseScalar(EonShareCodec.decode(payload).share);
  };

  /** Our share from `dealer` if it came and passes Feldman's check (cached). */
  const myShareValue = (dealer: number): bigint | undefined => {
    if (myShareValues.has(dealer)) return myShareValues.get(dealer);
    const sealed = myShares.get(dealer);
    const commitment = deals.get(dealer)?.commitment;
    if (sealed === undefined || commitment === undefined) return undefined;
    const value = heldShareValue(sealed);
    const valid = value !== undefined && verifyEonShare(commitment, me, value);
    myShareValues.set(dealer, valid ? value : undefined);
    return valid ? value : undefined;
  };

  // ---------------------------------------------------------------- complaints

  const accusationsOf = (recipient: number): Map<number, Uint8Array> => {
    const out = new Map<number, Uint8Array>();
    for (const complaint of complaints.get(recipient) ?? [])
      for (const accusation of complaint.accusations)
        if (accusation.dealer < n && !out.has(accusation.dealer))
          out.set(accusation.dealer, accusation.evidence);
    return out;
  };

  /** Does the evidence (the dealer's own signed share) fail the dealer's commitment? */
  const evidenceConvicts = (dealer: number, recipient: number, evidence: Uint8Array): boolean | undefined => {
    if (evidence.length === 0) return undefined;
    let opened: Opened;
    try {
      opened = openEonKeygenMessage(session, sessionDigest, evidence);
    } catch {
      return false;
    }
    if (opened.kind !== 'share' || opened.body.dealer !== dealer || opened.body.recipient !== recipient)
      return false;
    const commitment = deals.get(dealer)?.commitment;
    if (commitment === undefined) return undefined;
    const value = parseScalar(opened.body.share);
    return value === undefined || !verifyEonShare(commitment, recipient, value);
  };

  const complain = (): EonKeygenOutput[] => {
    if (complained) return [];
    complained = true;
    const dealDigests: Uint8Array[] = [];
    const accusations: { dealer: number; evidence: Uint8Array }[] = [];
    for (let dealer = 0; dealer < n; dealer++) {
      const deal = deals.get(dealer);
      dealDigests.push(deal?.digest ?? ZERO_DIGEST);
      if (deal !== undefined && deal.commitment === undefined) continue; // the deal convicts itself
      const sealed = myShares.get(dealer);
      if (sealed === undefined || deal === undefined)
        accusations.push({ dealer, evidence: new Uint8Array(0) });
      else if (myShareValue(dealer) === undefined) accusations.push({ dealer, evidence: sealed });
    }
    const sealed = seal(
      EonComplaintCodec.encode({ session: sessionDigest, recipient: me, dealDigests, accusations }),
    );
    return [{ to: 'all', bytes: sealed }, ...receiveInternal(sealed)];
  };

  const answer = (recipient: number): EonKeygenOutput[] => {
    if (shares === undefined || answered.has(recipient)) return [];
    answered.add(recipient);
    const sealed = seal(
      EonJustificationCodec.encode({
        session: sessionDigest,
        dealer: me,
        reveals: [{ recipient, share: scalarBytes(shares[recipient]!) }],
      }),
    );
    return [{ to: 'all', bytes: sealed }, ...receiveInternal(sealed)];
  };

  // ---------------------------------------------------------------- progress

  const allDealsAndShares = () => deals.size === n && myShares.size === n;

  const complaintRoundSettled = (): boolean => {
    if (complaints.size < n) return false;
    for (const [recipient, list] of complaints) {
      for (const complaint of list)
        for (let dealer = 0; dealer < n; dealer++) {
          const theirs = complaint.dealDigests[dealer] ?? ZERO_DIGEST;
          const ours = deals.get(dealer)?.digest ?? ZERO_DIGEST;
          if (bytesEqual(theirs, ZERO_DIGEST)) continue;
          if (!bytesEqual(theirs, ours) && !equivocations.has(dealer)) return false;
        }
      for (const [dealer, evidence] of accusationsOf(recipient)) {
        if (equivocations.has(dealer) || deals.get(dealer)?.commitment === undefined) continue;
        if (evidenceConvicts(dealer, recipient, evidence) === true) continue;
        if (!answers.get(dealer)?.has(recipient)) return false;
      }
    }
    return true;
  };

  const progress = (): EonKeygenOutput[] => {
    const out: EonKeygenOutput[] = [];
    if (phase === 'dealing' && allDealsAndShares()) {
      phase = 'complaining';
      out.push(...complain());
    }
    if (phase === 'complaining' && complained && complaintRoundSettled()) out.push(...finish());
    tryAgree();
    return out;
  };

  /** Disqualification of one dealer, or undefined when it qualifies. */
  const verdictOn = (dealer: number, falseAccusers: Set<number>): EonDisqualification | undefined => {
    const deal = deals.get(dealer);
    if (deal === undefined) return { dealer, reason: 'SILENT', evidence: [] };
    const pair = equivocations.get(dealer);
    if (pair !== undefined) return { dealer, reason: 'EQUIVOCATION', evidence: pair };
    if (deal.commitment === undefined) return { dealer, reason: 'BAD_DEAL', evidence: [deal.sealed] };
    let accusers = 0;
    for (let recipient = 0; recipient < n; recipient++) {
      const evidence = accusationsOf(recipient).get(dealer);
      if (evidence === undefined) continue;
      const convicts = evidenceConvicts(dealer, recipient, evidence);
      if (convicts === true) return { dealer, reason: 'BAD_SHARE', evidence: [evidence] };
      if (convicts === false) falseAccusers.add(recipient);
      accusers++;
      const byRecipient = answers.get(dealer);
      if (byRecipient?.has(recipient) !== true)
        return { dealer, reason: 'UNANSWERED_COMPLAINT', evidence: [] };
      if (byRecipient.get(recipient) === undefined) return { dealer, reason: 'BAD_SHARE', evidence: [] };
    }
    return accusers >= t ? { dealer, reason: 'TOO_MANY_COMPLAINTS', evidence: [] } : undefined;
  };

  /** The keyset of `qualified` from what we hold, with our share; undefined when we lack a piece. */
  const keysetFor = (qualified: readonly number[]) => {
    const commitments: G2Point[][] = [];
    let secretShare = 0n;
    for (const dealer of qualified) {
      const commitment = deals.get(dealer)?.commitment;
      if (commitment === undefined) return undefined;
      const value = myShareValue(dealer) ?? answers.get(dealer)?.get(me);
      if (value === undefined) return undefined;
      commitments.push(commitment);
      secretShare = Fr.add(secretShare, value);
    }
    const commitment = sumCommitments(commitments, t);
    if (commitment[0]!.is0() || secretShare === 0n) return undefined;
    const keyset = eonKeysetOf(commitment, qualified, n);
    // GJKR step 3 holds: our combined share is our public share.
    invariant(
      G2.BASE.multiply(secretShare).equals(keyset.publicShares[me]!),
      'combined share fails its public share',
    );
    return {
      keyset,
      secretShare,
      commitment,
      transcriptDigest: eonTranscriptDigest(sessionDigest, qualified, commitment),
    };
  };

  const finish = (): EonKeygenOutput[] => {
    phase = 'done';
    const disqualified: EonDisqualification[] = [];
    const falseAccusers = new Set<number>();
    const qualified: number[] = [];
    for (let dealer = 0; dealer < n; dealer++) {
      const verdict = verdictOn(dealer, falseAccusers);
      if (verdict === undefined) qualified.push(dealer);
      else disqualified.push(verdict);
    }
    const own = qualified.length >= quorum ? keysetFor(qualified) : undefined;
    if (own === undefined) {
      outcome = new EonKeygenError(
        'NOT_ENOUGH_QUALIFIED',
        disqualified.map((d) => d.dealer),
        `${qualified.length} qualified dealers, ${quorum} needed`,
      );
      return [];
    }
    outcome = Object.freeze({
      qualified,
      disqualified,
      falseAccusers: [...falseAccusers].sort((a, b) => a - b),
      keyset: own.keyset,
      secretShare: own.secretShare,
      transcriptDigest: own.transcriptDigest,
    });
    const sealed = seal(
      EonAttestationCodec.encode({
        session: sessionDigest,
        validator: me,
        qualified,
        transcript: own.transcriptDigest,
      }),
    );
    return [{ to: 'all', bytes: sealed }, ...receiveInternal(sealed)];
  };

  /** Agreement: n − f attestations of one transcript that we can compute our share of. */
  const tryAgree = () => {
    if (agreement !== undefined || attestations.size < quorum) return;
    // Retried only when something new came in (each try costs n G2 evaluations).
    const weight = deals.size + myShares.size + answers.size + attestations.size;
    if (weight === agreementTried) return;
    agreementTried = weight;
    const groups = new Map<string, { qualified: number[]; sealed: Uint8Array[] }>();
    for (const [, { body, sealed }] of [...attestations].sort((a, b) => a[0] - b[0])) {
      const key = `${body.qualified.join(',')}/${toHex(body.transcript)}`;
      const group = groups.get(key) ?? { qualified: [...body.qualified], sealed: [] };
      group.sealed.push(sealed);
      groups.set(key, group);
    }
    for (const [key, group] of groups) {
      if (group.sealed.length < quorum) continue;
      const computed = keysetFor(group.qualified);
      if (computed === undefined || !key.endsWith(toHex(computed.transcriptDigest))) continue;
      agreement = Object.freeze({ ...computed, attestations: Object.freeze(group.sealed) });
      return;
    }
  };

  // ---------------------------------------------------------------- receiving

  function receiveInternal(bytes: Uint8Array): EonKeygenOutput[] {
    const fingerprint = toHex(sha256(bytes));
    if (accepted.has(fingerprint)) return [];
    const opened = openEonKeygenMessage(session, sessionDigest, bytes);
    if (opened.kind === 'share' && opened.body.recipient !== me)
      throw new EonKeygenError('NOT_FOR_US', [opened.body.dealer], `share for ${opened.body.recipient}`);
    if (accepted.size < 16 * MAX_VALIDATORS * MAX_VALIDATORS) accepted.add(fingerprint);
    switch (opened.kind) {
      case 'deal':
        if (opened.body.dealer >= n) return [];
        return takeDeal(bytes, opened.body);
      case 'share': {
        const { dealer } = opened.body;
        if (dealer >= n || myShares.has(dealer)) return [];
        myShares.set(dealer, bytes.slice());
        return progress();
      }
      case 'complaint': {
        const { recipient } = opened.body;
        const list = complaints.get(recipient) ?? [];
        if (list.length >= 2) return []; // two versions already show it lies; more add nothing
        list.push(opened.body);
        complaints.set(recipient, list);
        const out: EonKeygenOutput[] = [];
        if (opened.body.accusations.length > 0 && recipient !== me && !relayedComplaints.has(fingerprint)) {
          relayedComplaints.add(fingerprint);
          out.push({ to: 'all', bytes: bytes.slice() });
        }
        for (let dealer = 0; dealer < n; dealer++) {
          const deal = deals.get(dealer);
          const theirs = opened.body.dealDigests[dealer] ?? ZERO_DIGEST;
          if (deal !== undefined && !bytesEqual(deal.digest, theirs) && !relayedDeals.has(dealer)) {
            relayedDeals.add(dealer);
            out.push({ to: 'all', bytes: deal.sealed });
          }
        }
        for (const accusation of opened.body.accusations)
          if (accusation.dealer === me) out.push(...answer(recipient));
        return [...out, ...progress()];
      }
      case 'justification': {
        const { dealer } = opened.body;
        const byRecipient = answers.get(dealer) ?? new Map<number, bigint | undefined>();
        for (const reveal of opened.body.reveals) {
          if (reveal.recipient >= n || byRecipient.has(reveal.recipient)) continue;
          const commitment = deals.get(dealer)?.commitment;
          const value = parseScalar(reveal.share);
          const valid =
            commitment !== undefined &&
            value !== undefined &&
            verifyEonShare(commitment, reveal.recipient, value);
          byRecipient.set(reveal.recipient, valid ? value : undefined);
        }
        answers.set(dealer, byRecipient);
        // Relayed once: a dealer that reveals to some validators only cannot split QUAL.
        const relay: EonKeygenOutput[] = dealer === me ? [] : [{ to: 'all', bytes: bytes.slice() }];
        return [...relay, ...progress()];
      }
      case 'attestation': {
        const { validator, qualified } = opened.body;
        const ascending = qualified.every(
          (dealer, i) => dealer < n && (i === 0 || qualified[i - 1]! < dealer),
        );
        if (attestations.has(validator) || !ascending) return [];
        attestations.set(validator, { body: opened.body, sealed: bytes.slice() });
        return progress();
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
      const dealing =
        role.dealingSeed === undefined
          ? dealEon(me, t, n)
          : (() => {
              const draw = seededScalars(role.dealingSeed, sessionDigest);
              return dealEon(me, t, n, draw(), draw);
            })();
      shares = dealing.shares;
      const deal = seal(
        EonDealCodec.encode({
          session: sessionDigest,
          dealer: me,
          commitment: dealing.commitment.map((point) => point.toBytes(true)),
        }),
      );
      const out: EonKeygenOutput[] = [{ to: 'all', bytes: deal }];
      const local: Uint8Array[] = [deal];
      for (let recipient = 0; recipient < n; recipient++) {
        const sealed = seal(
          EonShareCodec.encode({
            session: sessionDigest,
            dealer: me,
            recipient,
            share: scalarBytes(shares[recipient]!),
          }),
        );
        if (recipient === me) local.push(sealed);
        else out.push({ to: 'recipient', recipient, bytes: sealed });
      }
      for (const bytes of local) out.push(...receiveInternal(bytes));
      return out;
    },

    receive: (bytes) => receiveInternal(bytes),

    advance(deadline) {
      const out: EonKeygenOutput[] = [];
      if (phase === 'dealing') {
        phase = 'complaining';
        out.push(...complain());
      }
      if (deadline === 'complaints' && phase === 'complaining') out.push(...finish());
      out.push(...progress());
      return out;
    },

    result() {
      if (outcome instanceof EonKeygenError) throw outcome;
      return outcome;
    },

    agreed: () => agreement,

    waitingFor() {
      const all = Array.from({ length: n }, (_, i) => i);
      return {
        deals: all.filter((d) => !deals.has(d)),
        shares: all.filter((d) => !myShares.has(d)),
        complaints: all.filter((r) => !complaints.has(r)),
        attestations: all.filter((v) => !attestations.has(v)),
      };
    },
  };
}

/**
 * Runs one session among honest validators in one process (tests, benchmarks): the same messages
 * and checks as over the network, delivered at once; returns each validator's agreement.
 * @example const agreements = runLocalEonKeygen(session, signers.map((signer, index) => ({ index, signer })));
 */
export function runLocalEonKeygen(
  session: EonKeygenSession,
  roles: readonly EonKeygenRole[],
): EonAgreement[] {
  const machines = roles.map((role) => createEonKeygenMachine(session, role));
  const queue: EonKeygenOutput[] = machines.flatMap((machine) => machine.start());
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      invariant(steps < 64 * MAX_VALIDATORS * MAX_VALIDATORS, 'local eon keygen does not settle');
      const output = queue.shift()!;
      machines.forEach((machine, i) => {
        if (output.to === 'recipient' && roles[i]!.index !== output.recipient) return;
        try {
          queue.push(...machine.receive(output.bytes));
        } catch (error) {
          if (!(error instanceof EonKeygenError && error.code === 'NOT_FOR_US')) throw error;
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
    const agreement = machine.agreed();
    invariant(agreement !== undefined, 'every local validator agreed');
    return agreement;
  });
}
