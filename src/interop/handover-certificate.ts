/**
 * Handover certificates: the keyset of epoch e signs, with one FROST signature (RFC 9591), the
 * group key of the keyset that follows it, so a verifier that holds only the genesis key — the
 * EVM verifier (contracts/PalisadeVerifier.sol), a TS light client — follows the chain of
 * keysets through every refresh, resharing or new DKG.
 *
 * ## What is signed
 * The EIP-712 digest of `KeysetHandover(uint64 fromEpoch,uint64 toEpoch,bytes groupPublicKey)`
 * in the "Palisade Verifier" domain (src/interop/evm/certificates.ts `handoverDigest`, the digest
 * `PalisadeVerifier.handover` recomputes). The EIP-712 type hash separates it from price reports
 * and checkpoints; the domain's chain id and contract address bind it to one deployment.
 *
 * ## Wire format (tag 0x0450, SSZ in the common envelope)
 *   chainId u64 ‖ verifyingContract bytes20 ‖ fromEpoch u64 ‖ toEpoch u64 ‖ groupPublicKey bytes33
 *   ‖ signature bytes65 (R compressed ‖ z)
 * Every field is covered by the signature; nothing unsigned travels with it.
 *
 * ## Following the chain
 * From a trusted (epoch, key), each certificate must be for the verifier's domain, hand over
 * from exactly the current epoch to a later one, and verify under the current key; then its key
 * becomes current. A replayed (older) handover, one that skips the current keyset, or one signed
 * by any other key is refused with a reason and changes nothing.
 */
import { ByteVectorType, ContainerType, type ValueOf } from '@chainsafe/ssz';
import { CodecError } from '../codec/errors.ts';
import { invariant } from '../codec/invariant.ts';
import { defineMessage } from '../codec/message.ts';
import { FrostSignatureBytes, Secp256k1Point } from '../codec/oracle.ts';
import { Uint64 } from '../codec/primitives.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { frostVerify } from '../crypto/frost.ts';
import { handoverDigest } from './evm/certificates.ts';
import type { CertificateDomain, KeysetRegistry } from './price-certificate.ts';

export const HandoverCertificateType = new ContainerType(
  {
    chainId: Uint64,
    verifyingContract: new ByteVectorType(20),
    fromEpoch: Uint64,
    toEpoch: Uint64,
    groupPublicKey: Secp256k1Point,
    signature: FrostSignatureBytes,
  },
  { typeName: 'HandoverCertificate' },
);
export type HandoverCertificateValue = ValueOf<typeof HandoverCertificateType>;

export const HandoverCertificateCodec = defineMessage({
  name: 'HandoverCertificate',
  tag: 0x0450,
  type: HandoverCertificateType,
  validate: (value) =>
    value.toEpoch > value.fromEpoch ? undefined : { field: 'toEpoch', reason: 'must be after fromEpoch' },
});

export interface HandoverCertificate {
  readonly domain: CertificateDomain;
  readonly fromEpoch: number;
  readonly toEpoch: number;
  /** The next keyset's group key, SEC1 compressed. */
  readonly groupPublicKey: Uint8Array;
  /** 65 bytes: FROST signature of the `fromEpoch` keyset over {@link handoverMessage}. */
  readonly signature: Uint8Array;
}

export interface Keyset {
  readonly epoch: number;
  readonly groupPublicKey: Uint8Array;
}

/**
 * The 32 bytes the outgoing keyset signs.
 * @example const digest = handoverMessage(domain, 1, { epoch: 2, groupPublicKey });
 */
export function handoverMessage(domain: CertificateDomain, fromEpoch: number, next: Keyset): Uint8Array {
  invariant(Number.isSafeInteger(fromEpoch) && fromEpoch >= 0, 'fromEpoch must be a safe integer');
  invariant(Number.isSafeInteger(next.epoch) && next.epoch > fromEpoch, 'the next epoch must be later');
  return handoverDigest(
    { fromEpoch: BigInt(fromEpoch), toEpoch: BigInt(next.epoch), groupPublicKey: next.groupPublicKey },
    domain,
  );
}

export function encodeHandoverCertificate(certificate: HandoverCertificate): Uint8Array {
  return HandoverCertificateCodec.encode({
    chainId: certificate.domain.chainId,
    verifyingContract: certificate.domain.verifyingContract,
    fromEpoch: certificate.fromEpoch,
    toEpoch: certificate.toEpoch,
    groupPublicKey: certificate.groupPublicKey,
    signature: certificate.signature,
  });
}

/** @throws CodecError naming the failing field */
export function decodeHandoverCertificate(bytes: Uint8Array): HandoverCertificate {
  const value = HandoverCertificateCodec.decode(bytes);
  return {
    domain: { chainId: value.chainId, verifyingContract: value.verifyingContract },
    fromEpoch: value.fromEpoch,
    toEpoch: value.toEpoch,
    groupPublicKey: value.groupPublicKey,
    signature: value.signature,
  };
}

export type HandoverRefusal =
  | 'MALFORMED'
  | 'WRONG_DOMAIN'
  /** Hands over from an epoch other than the current one (a replay, or skipping a keyset). */
  | 'NOT_FROM_CURRENT'
  | 'BAD_SIGNATURE';

export type HandoverVerdict =
  | { ok: true; next: Keyset }
  | { ok: false; reason: HandoverRefusal; detail: string };

/** Checks one handover against the current keyset; never throws. */
export function verifyHandover(
  bytes: Uint8Array,
  current: Keyset,
  domain: CertificateDomain,
): HandoverVerdict {
  let certificate: HandoverCertificate;
  try {
    certificate = decodeHandoverCertificate(bytes);
  } catch (error) {
    return {
      ok: false,
      reason: 'MALFORMED',
      detail: error instanceof CodecError ? error.message : 'undecodable',
    };
  }
  if (
    certificate.domain.chainId !== domain.chainId ||
    !bytesEqual(certificate.domain.verifyingContract, domain.verifyingContract)
  )
    return { ok: false, reason: 'WRONG_DOMAIN', detail: 'handover for another chain or contract' };
  if (certificate.fromEpoch !== current.epoch)
    return {
      ok: false,
      reason: 'NOT_FROM_CURRENT',
      detail: `hands over from epoch ${certificate.fromEpoch}, the current keyset is epoch ${current.epoch}`,
    };
  const next = { epoch: certificate.toEpoch, groupPublicKey: Uint8Array.from(certificate.groupPublicKey) };
  if (
    !frostVerify(certificate.signature, handoverMessage(domain, current.epoch, next), current.groupPublicKey)
  )
    return { ok: false, reason: 'BAD_SIGNATURE', detail: 'not signed by the current keyset' };
  return { ok: true, next };
}

export type KeysetChainVerdict =
  | { ok: true; keyset: Keyset }
  | { ok: false; index: number; reason: HandoverRefusal; detail: string; keyset: Keyset };

/**
 * Follows a chain of handovers from the genesis keyset; stops at the first refused one and says
 * which, with the last keyset reached.
 * @example const verdict = followKeysetChain(genesis, [h1, h2], domain); if (verdict.ok) use(verdict.keyset);
 */
export function followKeysetChain(
  genesis: Keyset,
  handovers: readonly Uint8Array[],
  domain: CertificateDomain,
): KeysetChainVerdict {
  let current: Keyset = { epoch: genesis.epoch, groupPublicKey: Uint8Array.from(genesis.groupPublicKey) };
  for (let index = 0; index < handovers.length; index++) {
    const verdict = verifyHandover(handovers[index]!, current, domain);
    if (!verdict.ok)
      return { ok: false, index, reason: verdict.reason, detail: verdict.detail, keyset: current };
    current = verdict.next;
  }
  return { ok: true, keyset: current };
}

/**
 * Moves a consumer's registry to the next keyset if `bytes` is a valid handover from its active
 * one; the old epoch's price certificates are refused from then on. Changes nothing otherwise.
 * @example const verdict = followHandover(registry, bytes, domain);
 */
export function followHandover(
  registry: KeysetRegistry,
  bytes: Uint8Array,
  domain: CertificateDomain,
): HandoverVerdict {
  const current = registry.activeKeyset;
  if (current === undefined) return { ok: false, reason: 'NOT_FROM_CURRENT', detail: 'no keyset activated' };
  const verdict = verifyHandover(bytes, current, domain);
  if (verdict.ok) registry.activate(verdict.next.epoch, verdict.next.groupPublicKey);
  return verdict;
}
