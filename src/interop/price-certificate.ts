/**
 * Price certificates: one FROST(secp256k1, SHA-256) threshold signature (RFC 9591) by the
 * validators' DKG keyset over an EIP-712 typed-data digest of an aggregated price. One 65-byte
 * signature whatever the number of validators; any chain that holds the keyset's group public key
 * can check it. This module is the standalone verifier; it imports only codec and crypto.
 *
 * ## What is signed (EIP-712)
 *
 *   domain      = EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
 *                 with name = "Palisade Price Oracle", version = "1", the consumer chain's id and
 *                 the verifier contract's address
 *   struct      = PriceReport(bytes32 feedId,int64 price,uint64 confidence,int32 exponent,
 *                            uint64 publishTime,uint64 epoch)
 *   digest      = keccak256(0x19 ‖ 0x01 ‖ hashStruct(domain) ‖ hashStruct(report))   (EIP-712)
 *
 * `price`/`confidence` are integers scaled by 10^exponent (Pyth's convention, exponent < 0),
 * `publishTime` is in seconds, `epoch` names the keyset. The FROST message is exactly the 32
 * digest bytes.
 *
 * ## The signature and how a verifier recomputes the challenge (RFC 9591 §6.5, unmodified)
 *
 *   signature   = R ‖ z: R is the group commitment, SEC1 compressed (33 bytes: 0x02/0x03 ‖ x);
 *                 z is a big-endian scalar (32 bytes), z < n
 *   c           = H2(R ‖ PK ‖ digest), with PK the group key compressed (33 bytes), and
 *                 H2(m) = hash_to_field(m, count 1) of RFC 9380 §5.2 over the secp256k1 order n:
 *                 expand_message_xmd(SHA-256, m, DST = "FROST-secp256k1-SHA256-v1chal",
 *                 48 bytes) read big-endian, mod n
 *   valid iff   z·G = R + c·PK
 *
 * An EVM contract evaluates expand_message_xmd with the SHA-256 precompile (three calls for 48
 * bytes) and checks the equation with one `ecrecover` (the trick Chronicle and safe-frost use):
 * with r = PK.x, v = 27 + (PK.y odd), s = −c·PK.x mod n and h = −z·PK.x mod n,
 * ecrecover(h, v, r, s) returns the address of r⁻¹(s·PK − h·G) = z·G − c·PK, which must equal
 * the address of R. The test suite checks exactly this computation with independent code.
 *
 * ## Epochs
 * A `KeysetRegistry` holds the active keyset; a certificate naming any other epoch — older, once
 * a new DKG's key is activated, or unknown — is refused.
 */

import type { FrostPublic } from '@noble/curves/abstract/frost.js';
import { secp256k1_hasher } from '@noble/curves/secp256k1.js';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { PriceCertificateCodec, type PriceCertificateValue } from '../codec/oracle.ts';
import { concatBytes } from '../crypto/bytes.ts';
import type { FrostCommitment } from '../crypto/frost.ts';
import { FROST_SUITE, frostAggregate, frostVerify } from '../crypto/frost.ts';
import { keccak256 } from '../crypto/hash.ts';

export const PRICE_DOMAIN_NAME = 'Palisade Price Oracle';
export const PRICE_DOMAIN_VERSION = '1';
export const EIP712_DOMAIN_TYPE =
  'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)';
export const PRICE_REPORT_TYPE =
  'PriceReport(bytes32 feedId,int64 price,uint64 confidence,int32 exponent,uint64 publishTime,uint64 epoch)';
/** RFC 9591 §6.5: the H2 domain-separation tag is the context string followed by "chal". */
export const FROST_CHALLENGE_DST = `${FROST_SUITE}chal`;

const encoder = new TextEncoder();
const DOMAIN_TYPEHASH = keccak256(encoder.encode(EIP712_DOMAIN_TYPE));
const REPORT_TYPEHASH = keccak256(encoder.encode(PRICE_REPORT_TYPE));

export interface PriceReport {
  /** keccak256 of the feed's symbol (see {@link feedIdOf}). */
  readonly feedId: Uint8Array;
  /** A positive int64. */
  readonly price: bigint;
  /** A uint64, below 2^63 here (the certificate codec's bound). */
  readonly confidence: bigint;
  /** An int32; −decimals of the asset. */
  readonly exponent: number;
  /** Seconds since the Unix epoch. */
  readonly publishTime: number;
  readonly epoch: number;
}

export interface CertificateDomain {
  readonly chainId: number;
  /** The 20-byte address of the verifying contract. */
  readonly verifyingContract: Uint8Array;
}

export interface PriceCertificate {
  readonly report: PriceReport;
  readonly domain: CertificateDomain;
  /** 65 bytes: R (SEC1 compressed) ‖ z. */
  readonly signature: Uint8Array;
}

/** The feed id of a symbol: keccak256 of its UTF-8 bytes. */
export function feedIdOf(symbol: string): Uint8Array {
  return keccak256(encoder.encode(symbol));
}

const TWO_256 = 1n << 256n;

/** A 32-byte big-endian EVM word of a signed or unsigned integer (two's complement). */
function word(value: bigint): Uint8Array {
  const unsigned = value < 0n ? TWO_256 + value : value;
  invariant(unsigned >= 0n && unsigned < TWO_256, 'value does not fit a 256-bit word');
  const out = new Uint8Array(32);
  let rest = unsigned;
  for (let i = 31; i >= 0 && rest > 0n; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

function checkReport(report: PriceReport): void {
  invariant(report.feedId instanceof Uint8Array && report.feedId.length === 32, 'feedId must be 32 bytes');
  invariant(report.price > 0n && report.price < 1n << 63n, 'price must be a positive int64');
  invariant(report.confidence >= 0n && report.confidence < 1n << 63n, 'confidence out of range');
  invariant(
    Number.isInteger(report.exponent) && report.exponent >= -(2 ** 31) && report.exponent < 2 ** 31,
    'exponent must be an int32',
  );
  invariant(Number.isSafeInteger(report.publishTime) && report.publishTime >= 0, 'publishTime must be a u64');
  invariant(Number.isSafeInteger(report.epoch) && report.epoch >= 0, 'epoch must be a u64');
}

function checkDomain(domain: CertificateDomain): void {
  invariant(Number.isSafeInteger(domain.chainId) && domain.chainId >= 0, 'chainId must be a safe integer');
  invariant(
    domain.verifyingContract instanceof Uint8Array && domain.verifyingContract.length === 20,
    'verifyingContract must be 20 bytes',
  );
}

/** EIP-712 `hashStruct(EIP712Domain)`: the domain separator. */
export function domainSeparator(domain: CertificateDomain): Uint8Array {
  checkDomain(domain);
  return keccak256(
    DOMAIN_TYPEHASH,
    keccak256(encoder.encode(PRICE_DOMAIN_NAME)),
    keccak256(encoder.encode(PRICE_DOMAIN_VERSION)),
    word(BigInt(domain.chainId)),
    word(BigInt(`0x${Buffer.from(domain.verifyingContract).toString('hex')}`)),
  );
}

/** EIP-712 `hashStruct(PriceReport)`. */
export function hashPriceReport(report: PriceReport): Uint8Array {
  checkReport(report);
  return keccak256(
    REPORT_TYPEHASH,
    report.feedId,
    word(report.price),
    word(report.confidence),
    word(BigInt(report.exponent)),
    word(BigInt(report.publishTime)),
    word(BigInt(report.epoch)),
  );
}

/**
 * The 32 bytes the validators' FROST signature covers.
 * @throws InvariantError when a field is out of its EIP-712 type's range
 */
export function priceReportDigest(report: PriceReport, domain: CertificateDomain): Uint8Array {
  return keccak256(new Uint8Array([0x19, 0x01]), domainSeparator(domain), hashPriceReport(report));
}

/** The RFC 9591 challenge c = H2(R ‖ PK ‖ digest), for verifiers that check z·G = R + c·PK. */
export function frostChallenge(
  commitmentR: Uint8Array,
  groupPublicKey: Uint8Array,
  digest: Uint8Array,
): bigint {
  return secp256k1_hasher.hashToScalar(concatBytes(commitmentR, groupPublicKey, digest), {
    DST: encoder.encode(FROST_CHALLENGE_DST),
  });
}

/**
 * Aggregates the validators' signature shares into a certificate; every share is verified first.
 * @throws FrostError naming the validators whose shares are bad or missing
 */
export function assemblePriceCertificate(parameters: {
  report: PriceReport;
  domain: CertificateDomain;
  publicPackage: FrostPublic;
  commitments: readonly FrostCommitment[];
  shares: ReadonlyMap<number, Uint8Array>;
}): PriceCertificate {
  const digest = priceReportDigest(parameters.report, parameters.domain);
  const signature = frostAggregate(
    parameters.publicPackage,
    parameters.commitments,
    digest,
    parameters.shares,
  );
  return { report: parameters.report, domain: parameters.domain, signature };
}

/**
 * Checks a certificate's signature against one keyset's group key and its epoch; `false`, never a
 * throw, for anything malformed.
 */
export function verifyPriceCertificate(
  certificate: PriceCertificate,
  keyset: { epoch: number; groupPublicKey: Uint8Array },
): boolean {
  try {
    if (certificate.report.epoch !== keyset.epoch) return false;
    return frostVerify(
      certificate.signature,
      priceReportDigest(certificate.report, certificate.domain),
      keyset.groupPublicKey,
    );
  } catch {
    return false;
  }
}

export function encodePriceCertificate(certificate: PriceCertificate): Uint8Array {
  const { report, domain } = certificate;
  checkReport(report);
  checkDomain(domain);
  const value: PriceCertificateValue = {
    feedId: report.feedId,
    price: report.price,
    confidence: report.confidence,
    exponent: report.exponent >>> 0,
    publishTime: report.publishTime,
    epoch: report.epoch,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
    signature: certificate.signature,
  };
  return PriceCertificateCodec.encode(value);
}

/** @throws CodecError naming the failing field */
export function decodePriceCertificate(bytes: Uint8Array): PriceCertificate {
  const value = PriceCertificateCodec.decode(bytes);
  return {
    report: {
      feedId: value.feedId,
      price: value.price,
      confidence: value.confidence,
      exponent: value.exponent | 0,
      publishTime: value.publishTime,
      epoch: value.epoch,
    },
    domain: { chainId: value.chainId, verifyingContract: value.verifyingContract },
    signature: value.signature,
  };
}

export type CertificateVerdict =
  | { ok: true; certificate: PriceCertificate }
  | {
      ok: false;
      reason:
        | 'MALFORMED'
        | 'NO_ACTIVE_KEYSET'
        | 'EPOCH_RETIRED'
        | 'EPOCH_UNKNOWN'
        | 'WRONG_DOMAIN'
        | 'BAD_SIGNATURE';
      detail: string;
    };

export interface KeysetRegistry {
  /** Activates a new DKG's keyset; epochs only increase, and every older epoch is retired. */
  activate(epoch: number, groupPublicKey: Uint8Array): void;
  readonly activeEpoch: number | undefined;
  /** The active keyset (epoch and group key), for following handovers (handover-certificate.ts). */
  readonly activeKeyset: { epoch: number; groupPublicKey: Uint8Array } | undefined;
  /** Decodes and checks a certificate for this consumer's domain; never throws. */
  verify(bytes: Uint8Array): CertificateVerdict;
}

/**
 * A consumer's view of the validators' keysets: what a light client or the EVM verifier keeps.
 * @example const registry = createKeysetRegistry({ chainId: 1, verifyingContract }); registry.activate(1, groupKey); registry.verify(bytes).ok
 */
export function createKeysetRegistry(domain: CertificateDomain): KeysetRegistry {
  checkDomain(domain);
  let active: { epoch: number; groupPublicKey: Uint8Array } | undefined;
  return {
    activate(epoch, groupPublicKey) {
      invariant(Number.isSafeInteger(epoch) && epoch >= 0, 'epoch must be a safe integer');
      invariant(active === undefined || epoch > active.epoch, 'keyset epochs must increase');
      invariant(
        groupPublicKey instanceof Uint8Array && groupPublicKey.length === 33,
        'group key must be 33 bytes',
      );
      active = { epoch, groupPublicKey: Uint8Array.from(groupPublicKey) };
    },
    get activeEpoch() {
      return active?.epoch;
    },
    get activeKeyset() {
      return active === undefined
        ? undefined
        : { epoch: active.epoch, groupPublicKey: Uint8Array.from(active.groupPublicKey) };
    },
    verify(bytes) {
      let certificate: PriceCertificate;
      try {
        certificate = decodePriceCertificate(bytes);
      } catch (error) {
        return {
          ok: false,
          reason: 'MALFORMED',
          detail: error instanceof CodecError ? error.message : 'undecodable',
        };
      }
      if (active === undefined)
        return { ok: false, reason: 'NO_ACTIVE_KEYSET', detail: 'no keyset activated' };
      const epoch = certificate.report.epoch;
      if (epoch < active.epoch)
        return { ok: false, reason: 'EPOCH_RETIRED', detail: `epoch ${epoch} retired by ${active.epoch}` };
      if (epoch > active.epoch)
        return { ok: false, reason: 'EPOCH_UNKNOWN', detail: `epoch ${epoch} not active` };
      if (
        certificate.domain.chainId !== domain.chainId ||
        Buffer.compare(certificate.domain.verifyingContract, domain.verifyingContract) !== 0
      ) {
        return { ok: false, reason: 'WRONG_DOMAIN', detail: 'certificate is for another chain or contract' };
      }
      if (!verifyPriceCertificate(certificate, active))
        return {
          ok: false,
          reason: 'BAD_SIGNATURE',
          detail: 'signature does not verify under the group key',
        };
      return { ok: true, certificate };
    },
  };
}
