/**
 * How a validator that joins the set at a reshare learns the outgoing keyset's public package
 * (issue 11, "validator-set change"; src/node/price-signing.ts is the driver). A joiner holds no
 * share of the outgoing keyset, so it is a recipient only (src/crypto/keygen.ts kind `reshare`,
 * Wong–Wang–Wing §4), but a recipient must know the outgoing package: the session digest binds its
 * commitments, and each deal is checked against the dealer's verifying share (C_i0 = Y_i).
 *
 * ## What the joiner trusts, and how a package earns it
 * The joiner trusts one keyset (epoch, group key) given by its operator: the genesis keyset, or any
 * later one it has verified (as the EVM verifier is deployed with one). The outgoing members send
 * it the package (src/interop/keyset-package-codec.ts). An announcement counts only when
 *   1. it comes from a member of the outgoing set (the set before the change, from the chain) and
 *      names our chain and the boundary block of the change we execute;
 *   2. its handover chain (src/interop/handover-certificate.ts) verifies from the trusted keyset
 *      to exactly the package's epoch, so the outgoing keyset itself certified that epoch and key,
 *      and the package's C_0 is that key (`WRONG_GROUP_KEY` otherwise: a forged package);
 *   3. it is consistent: its verifying shares are its commitment evaluated at each identifier
 *      (src/crypto/keygen.ts `publicPackageConsistent`), one per outgoing member.
 * The joiner uses a package once f + 1 distinct outgoing members (f = ⌊(n − 1)/3⌋ of the outgoing
 * set) sent the same one: at most f are Byzantine, so at least one honest member vouches for it. A
 * Byzantine member can make a consistent package with the right group key and other commitments;
 * alone (or with f − 1 others) it never reaches f + 1, and the honest 2f + 1 always do. A package
 * that reached f + 1 is also what honest dealers put in their session digest, so the joiner's
 * session is theirs; a wrong one would only make the joiner hear no one, never adopt a wrong key
 * (the reshare's combined C_0 comes from the honest dealers' verifying shares).
 */
import type { FrostPublic } from '@noble/curves/abstract/frost.js';
import { invariant } from '../codec/invariant.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { participantIdentifier } from '../crypto/frost.ts';
import { sha256 } from '../crypto/hash.ts';
import { publicPackageConsistent } from '../crypto/keygen.ts';
import {
  decodeHandoverCertificate,
  followKeysetChain,
  type Keyset,
} from '../interop/handover-certificate.ts';
import { type KeysetPackage, KeysetPackageCodec } from '../interop/keyset-package-codec.ts';
import type { CertificateDomain } from '../interop/price-certificate.ts';
import type { PeerId } from '../runtime/types.ts';
import { memberIndexOf, type PeerDirectory } from './price-membership.ts';

export type KeysetJoinErrorCode =
  /** The sender is not a member of the outgoing set. */
  | 'NOT_OUTGOING_MEMBER'
  /** The package is for another chain, or another boundary block than the change we execute. */
  | 'WRONG_CHANGE'
  /** Its participants are not the outgoing set's size. */
  | 'WRONG_SET_SIZE'
  /** Its handover chain does not lead from the trusted keyset to its epoch. */
  | 'CHAIN_REFUSED'
  /** Its commitment's constant term is not the group key the handover chain certifies. */
  | 'WRONG_GROUP_KEY'
  /** Its verifying shares are not its commitment's evaluations. */
  | 'INCONSISTENT_PACKAGE';

export class KeysetJoinError extends Error {
  override readonly name = 'KeysetJoinError';
  readonly code: KeysetJoinErrorCode;
  readonly field: string;
  constructor(code: KeysetJoinErrorCode, field: string, detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.field = field;
  }
}

/** The outgoing keyset as a joiner uses it: its epoch, package and the handovers up to it. */
export interface AcceptedPackage {
  readonly epoch: number;
  readonly public: FrostPublic;
  /** Encoded handover certificates from the trusted epoch to `epoch`, oldest first. */
  readonly handovers: readonly Uint8Array[];
}

export interface KeysetJoinOptions {
  chainId: number;
  domain: CertificateDomain;
  /** The keyset the joiner's operator trusts (the genesis keyset, or a later verified one). */
  trusted: Keyset;
  /** The boundary block that applies the change. */
  height: number;
  /** The set before the change, in index order: the outgoing keyset's members. */
  outgoing: readonly Uint8Array[];
  directory: PeerDirectory;
}

export type OfferOutcome =
  | { status: 'counted'; votes: number; needed: number }
  | { status: 'accepted'; package: AcceptedPackage };

export interface KeysetJoin {
  /**
   * One announcement from an authenticated peer.
   * @throws KeysetJoinError naming why it does not count (it changes nothing then)
   * @throws CodecError when it does not decode
   */
  offer(from: PeerId, bytes: Uint8Array): OfferOutcome;
  accepted(): AcceptedPackage | undefined;
}

/** f + 1 of the outgoing set: the votes a package needs. */
export function packageQuorum(outgoing: number): number {
  return Math.floor((outgoing - 1) / 3) + 1;
}

function packageDigest(value: KeysetPackage): string {
  const header = new Uint8Array(28);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(value.chainId));
  view.setBigUint64(8, BigInt(value.epoch));
  view.setBigUint64(16, BigInt(value.height));
  view.setUint16(24, value.threshold);
  view.setUint16(26, value.participants);
  return toHex(sha256(header, ...value.commitments, ...value.verifyingShares));
}

function toFrostPublic(value: KeysetPackage): FrostPublic {
  return {
    signers: { min: value.threshold, max: value.participants },
    commitments: value.commitments.map((point) => Uint8Array.from(point)),
    verifyingShares: Object.fromEntries(
      value.verifyingShares.map((point, index) => [participantIdentifier(index), Uint8Array.from(point)]),
    ),
  };
}

/**
 * @example const join = createKeysetJoin({ chainId, domain, trusted, height, outgoing, directory }); const outcome = join.offer(from, bytes);
 */
export function createKeysetJoin(options: KeysetJoinOptions): KeysetJoin {
  invariant(options.outgoing.length >= 2, 'an outgoing keyset has members');
  const needed = packageQuorum(options.outgoing.length);
  /** The latest counted package digest of each outgoing member (one vote per member). */
  const votes = new Map<number, { digest: string; package: AcceptedPackage }>();
  let accepted: AcceptedPackage | undefined;

  const check = (
    from: PeerId,
    bytes: Uint8Array,
  ): { digest: string; package: AcceptedPackage; member: number } => {
    const key = options.directory.keyOf(from);
    const member = key === undefined ? undefined : memberIndexOf(options.outgoing, key);
    if (member === undefined)
      throw new KeysetJoinError('NOT_OUTGOING_MEMBER', 'from', `peer ${from} is not in the outgoing set`);
    const value = KeysetPackageCodec.decode(bytes);
    if (value.chainId !== options.chainId)
      throw new KeysetJoinError('WRONG_CHANGE', 'chainId', 'another chain');
    if (value.height !== options.height)
      throw new KeysetJoinError(
        'WRONG_CHANGE',
        'height',
        `boundary ${value.height}, ours is ${options.height}`,
      );
    if (value.participants !== options.outgoing.length)
      throw new KeysetJoinError(
        'WRONG_SET_SIZE',
        'participants',
        `${value.participants} participants, the outgoing set has ${options.outgoing.length}`,
      );
    // The handovers from the trusted epoch on: each must hand over from the one before.
    const chain: Uint8Array[] = [];
    for (const encoded of value.handovers) {
      const fromEpoch = decodeHandoverCertificate(encoded).fromEpoch;
      if (fromEpoch >= options.trusted.epoch && fromEpoch < value.epoch) chain.push(Uint8Array.from(encoded));
    }
    const verdict = followKeysetChain(options.trusted, chain, options.domain);
    if (!verdict.ok)
      throw new KeysetJoinError(
        'CHAIN_REFUSED',
        `handovers.${verdict.index}`,
        `${verdict.reason}: ${verdict.detail}`,
      );
    if (verdict.keyset.epoch !== value.epoch)
      throw new KeysetJoinError(
        'CHAIN_REFUSED',
        'epoch',
        `the handovers reach epoch ${verdict.keyset.epoch}, the package is of epoch ${value.epoch}`,
      );
    if (!bytesEqual(value.commitments[0]!, verdict.keyset.groupPublicKey))
      throw new KeysetJoinError(
        'WRONG_GROUP_KEY',
        'commitments.0',
        'not the group key the handovers certify',
      );
    const publicPackage = toFrostPublic(value);
    if (!publicPackageConsistent(publicPackage))
      throw new KeysetJoinError(
        'INCONSISTENT_PACKAGE',
        'verifyingShares',
        'not the commitment’s evaluations',
      );
    return {
      digest: packageDigest(value),
      package: { epoch: value.epoch, public: publicPackage, handovers: chain },
      member,
    };
  };

  return {
    offer(from, bytes) {
      if (accepted !== undefined) return { status: 'accepted', package: accepted };
      const counted = check(from, bytes);
      votes.set(counted.member, { digest: counted.digest, package: counted.package });
      const agreeing = [...votes.values()].filter((vote) => vote.digest === counted.digest).length;
      if (agreeing < needed) return { status: 'counted', votes: agreeing, needed };
      accepted = counted.package;
      return { status: 'accepted', package: accepted };
    },
    accepted: () => accepted,
  };
}
