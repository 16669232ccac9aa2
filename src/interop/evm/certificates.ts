/**
 * What `contracts/PalisadeVerifier.sol` and `contracts/PalisadeVault.sol` check, computed in
 * TypeScript: the EIP-712 digests the validators' FROST keyset signs for checkpoints and keyset
 * handovers, the withdrawal leaves of a checkpoint's withdrawals root, and the calldata forms of
 * a keyset and of a signature. Pure functions over `src/crypto`; no EVM needed.
 *
 * ## EIP-712 (domain "Palisade Verifier", version "1", the EVM chain's id, the verifier's address)
 *
 *   Checkpoint(uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)
 *   KeysetHandover(uint64 fromEpoch,uint64 toEpoch,bytes groupPublicKey)
 *
 * `groupPublicKey` is the next keyset's group key, SEC1 compressed (33 bytes); as a `bytes`
 * member EIP-712 encodes it as its keccak256. Price reports keep their own domain ("Palisade
 * Price Oracle", src/interop/price-certificate.ts) so certificates already issued stay valid.
 *
 * ## Who signs a handover
 * The keyset of `fromEpoch` — the active one on the verifier — signs the handover to the
 * keyset of `toEpoch` with an ordinary FROST signature over {@link handoverDigest}; the verifier
 * refuses any later certificate from `fromEpoch`.
 *
 * ## Withdrawal leaves (OpenZeppelin StandardMerkleTree, src/crypto/merkle-evm.ts)
 *
 *   types  = [uint256 chainId, address vault, uint64 id, address token, address recipient, uint256 amount]
 *
 * The chain id and vault address in every leaf make a proof for one deployment worthless on
 * any other.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { invariant } from '../../codec/invariant.ts';
import { concatBytes } from '../../crypto/bytes.ts';
import { FROST_POINT_BYTES, FROST_SIGNATURE_BYTES } from '../../crypto/frost.ts';
import { keccak256 } from '../../crypto/hash.ts';
import { createEvmMerkleTree, type EvmMerkleTree, type EvmStaticType } from '../../crypto/merkle-evm.ts';
import {
  type CertificateDomain,
  EIP712_DOMAIN_TYPE,
  type PriceCertificate,
  type PriceReport,
} from '../price-certificate.ts';

export const BRIDGE_DOMAIN_NAME = 'Palisade Verifier';
export const BRIDGE_DOMAIN_VERSION = '1';
export const CHECKPOINT_TYPE =
  'Checkpoint(uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,uint64 epoch)';
export const HANDOVER_TYPE = 'KeysetHandover(uint64 fromEpoch,uint64 toEpoch,bytes groupPublicKey)';
export const WITHDRAWAL_LEAF_TYPES: readonly EvmStaticType[] = [
  'uint256',
  'address',
  'uint64',
  'address',
  'address',
  'uint256',
];

const encoder = new TextEncoder();
const DOMAIN_TYPEHASH = keccak256(encoder.encode(EIP712_DOMAIN_TYPE));
const CHECKPOINT_TYPEHASH = keccak256(encoder.encode(CHECKPOINT_TYPE));
const HANDOVER_TYPEHASH = keccak256(encoder.encode(HANDOVER_TYPE));
const U64_MAX = (1n << 64n) - 1n;

export interface Checkpoint {
  readonly height: bigint;
  readonly blockHash: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly withdrawalsRoot: Uint8Array;
  readonly epoch: bigint;
}

export interface KeysetHandover {
  /** The epoch of the keyset that signs: the verifier's active one. */
  readonly fromEpoch: bigint;
  /** The next keyset's epoch; must be greater. */
  readonly toEpoch: bigint;
  /** The next keyset's group key, SEC1 compressed (33 bytes). */
  readonly groupPublicKey: Uint8Array;
}

export interface Withdrawal {
  readonly id: bigint;
  /** 20-byte ERC-20 address. */
  readonly token: Uint8Array;
  /** 20-byte recipient address. */
  readonly recipient: Uint8Array;
  readonly amount: bigint;
}

/** A keyset as the verifier's `Keyset` struct takes it. */
export interface EvmKeyset {
  readonly epoch: bigint;
  readonly x: bigint;
  readonly parity: number;
}

/** A FROST signature as `FrostSecp256k1.Signature` takes it: R affine, then z. */
export interface EvmFrostSignature {
  readonly rx: bigint;
  readonly ry: bigint;
  readonly z: bigint;
}

function word(value: bigint): Uint8Array {
  invariant(value >= 0n && value < 1n << 256n, 'value does not fit an unsigned 256-bit word');
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(64, '0'), 'hex'));
}

function u64Word(value: bigint, field: string): Uint8Array {
  invariant(typeof value === 'bigint' && value >= 0n && value <= U64_MAX, `${field} must be a u64`);
  return word(value);
}

function bytes32(value: Uint8Array, field: string): Uint8Array {
  invariant(value instanceof Uint8Array && value.length === 32, `${field} must be 32 bytes`);
  return value;
}

function bigintOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
}

/** EIP-712 `hashStruct(EIP712Domain)` for the checkpoint and handover domain. */
export function bridgeDomainSeparator(domain: CertificateDomain): Uint8Array {
  invariant(Number.isSafeInteger(domain.chainId) && domain.chainId >= 0, 'chainId must be a safe integer');
  invariant(
    domain.verifyingContract instanceof Uint8Array && domain.verifyingContract.length === 20,
    'verifyingContract must be 20 bytes',
  );
  return keccak256(
    DOMAIN_TYPEHASH,
    keccak256(encoder.encode(BRIDGE_DOMAIN_NAME)),
    keccak256(encoder.encode(BRIDGE_DOMAIN_VERSION)),
    word(BigInt(domain.chainId)),
    word(bigintOf(domain.verifyingContract)),
  );
}

function typedDigest(domain: CertificateDomain, structHash: Uint8Array): Uint8Array {
  return keccak256(new Uint8Array([0x19, 0x01]), bridgeDomainSeparator(domain), structHash);
}

/**
 * The 32 bytes the keyset signs to certify a checkpoint.
 * @example const digest = checkpointDigest(checkpoint, { chainId: 1, verifyingContract });
 * @throws InvariantError when a field is out of its type's range
 */
export function checkpointDigest(checkpoint: Checkpoint, domain: CertificateDomain): Uint8Array {
  return typedDigest(
    domain,
    keccak256(
      CHECKPOINT_TYPEHASH,
      u64Word(checkpoint.height, 'height'),
      bytes32(checkpoint.blockHash, 'blockHash'),
      bytes32(checkpoint.stateRoot, 'stateRoot'),
      bytes32(checkpoint.withdrawalsRoot, 'withdrawalsRoot'),
      u64Word(checkpoint.epoch, 'epoch'),
    ),
  );
}

/**
 * The 32 bytes the keyset of `fromEpoch` signs (FROST, like a price report) to hand the
 * verifier over to the keyset of `toEpoch`. What `PalisadeVerifier.handover` checks.
 * @example
 * const digest = handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next.groupPublicKey }, domain);
 * const signature = frostAggregate(current.public, commitments, digest, shares);
 * @throws InvariantError when an epoch is not a u64, `toEpoch` is not later, or the key is not 33 bytes
 */
export function handoverDigest(handover: KeysetHandover, domain: CertificateDomain): Uint8Array {
  invariant(handover.toEpoch > handover.fromEpoch, 'toEpoch must be after fromEpoch');
  invariant(
    handover.groupPublicKey instanceof Uint8Array && handover.groupPublicKey.length === FROST_POINT_BYTES,
    'groupPublicKey must be 33 bytes (SEC1 compressed)',
  );
  return typedDigest(
    domain,
    keccak256(
      HANDOVER_TYPEHASH,
      u64Word(handover.fromEpoch, 'fromEpoch'),
      u64Word(handover.toEpoch, 'toEpoch'),
      keccak256(handover.groupPublicKey),
    ),
  );
}

/**
 * A keyset in the verifier's calldata form.
 * @throws Error when `groupPublicKey` is not a compressed curve point
 */
export function evmKeyset(epoch: bigint, groupPublicKey: Uint8Array): EvmKeyset {
  invariant(groupPublicKey.length === FROST_POINT_BYTES, 'group key must be 33 bytes');
  const point = secp256k1.Point.fromBytes(groupPublicKey).toAffine();
  return { epoch, x: point.x, parity: Number(point.y & 1n) };
}

/**
 * A 65-byte FROST signature (R compressed ‖ z) with R decompressed, as the verifier takes it.
 * Decompressing here spares the contract a modular square root (about 1,400 gas); the contract
 * checks that (rx, ry) is on the curve and hashes R compressed, exactly as RFC 9591 does.
 * @throws Error when R is not a curve point or the signature is not 65 bytes
 */
export function evmFrostSignature(signature: Uint8Array): EvmFrostSignature {
  invariant(signature.length === FROST_SIGNATURE_BYTES, 'a FROST signature is 65 bytes');
  const point = secp256k1.Point.fromBytes(signature.subarray(0, FROST_POINT_BYTES)).toAffine();
  return { rx: point.x, ry: point.y, z: bigintOf(signature.subarray(FROST_POINT_BYTES)) };
}

/** The leaf values of one withdrawal for `StandardMerkleTree` (see the header). */
export function withdrawalLeafValues(
  withdrawal: Withdrawal,
  chainId: bigint,
  vault: Uint8Array,
): [bigint, Uint8Array, bigint, Uint8Array, Uint8Array, bigint] {
  return [chainId, vault, withdrawal.id, withdrawal.token, withdrawal.recipient, withdrawal.amount];
}

/**
 * The withdrawals tree of a checkpoint, as the vault checks its proofs.
 * @example const tree = withdrawalsTree(withdrawals, 1n, vault); tree.root; tree.proof(0);
 * @throws EvmEncodingError for a field that does not fit; RangeError for an empty list
 */
export function withdrawalsTree(
  withdrawals: readonly Withdrawal[],
  chainId: bigint,
  vault: Uint8Array,
): EvmMerkleTree {
  return createEvmMerkleTree(
    WITHDRAWAL_LEAF_TYPES,
    withdrawals.map((w) => withdrawalLeafValues(w, chainId, vault)),
  );
}

/** Re-exported for callers that assemble checkpoints: the compressed form of a point. */
export function compressedPoint(x: bigint, parity: number): Uint8Array {
  return concatBytes(new Uint8Array([2 + parity]), word(x));
}

/** A price report as `PalisadeVerifier.PriceReport` takes it (ABI integers as bigints). */
export interface EvmPriceReport {
  readonly feedId: Uint8Array;
  readonly price: bigint;
  readonly confidence: bigint;
  readonly exponent: bigint;
  readonly publishTime: bigint;
  readonly epoch: bigint;
}

/**
 * The arguments of `verifyPriceReport(keyset, report, signature)` for a certificate made by
 * src/interop/price-certificate.ts, against the keyset's group key.
 * @example const [keyset, report, signature] = evmPriceCertificateArguments(certificate, groupKey);
 * @throws Error when the signature's R or the group key is not a curve point
 */
export function evmPriceCertificateArguments(
  certificate: PriceCertificate,
  groupPublicKey: Uint8Array,
): [EvmKeyset, EvmPriceReport, EvmFrostSignature] {
  const { report } = certificate;
  return [
    evmKeyset(BigInt(report.epoch), groupPublicKey),
    {
      feedId: report.feedId,
      price: report.price,
      confidence: report.confidence,
      exponent: BigInt(report.exponent),
      publishTime: BigInt(report.publishTime),
      epoch: BigInt(report.epoch),
    },
    evmFrostSignature(certificate.signature),
  ];
}

/**
 * The cheaper entry point's selector: `verifyPriceReportPacked_8ivd()` hashes to 0x00000dc0, below
 * every other selector of the verifier, so solc's dispatcher tests it first. The suffix was
 * searched for that property only; the function takes no ABI arguments and reads the layout below.
 */
export const PACKED_PRICE_REPORT_FUNCTION = 'verifyPriceReportPacked_8ivd';
export const PACKED_PRICE_REPORT_SELECTOR = Uint8Array.of(0x00, 0x00, 0x0d, 0xc0);
/** selector 4 ‖ feedId 32 ‖ price 8 ‖ confidence 8 ‖ exponent 4 ‖ publishTime 8 ‖ epoch 8 ‖ x 32 ‖ parity 1 ‖ rx 32 ‖ ry 32 ‖ z 32. */
export const PACKED_PRICE_REPORT_BYTES = 201;

function fixedBytes(value: bigint, size: number, signed: boolean, field: string): Uint8Array {
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  invariant(typeof value === 'bigint' && value >= min && value <= max, `${field} does not fit ${size} bytes`);
  const unsigned = value < 0n ? value + (1n << bits) : value;
  return Uint8Array.from(Buffer.from(unsigned.toString(16).padStart(size * 2, '0'), 'hex'));
}

/**
 * The calldata of the packed entry point for one certificate: the same report, keyset and
 * signature as `verifyPriceReport` takes, each field at its type's width (big-endian, signed
 * fields two's complement), the epoch once (the report's must be the keyset's). The contract
 * widens every field to the EIP-712 word itself, so any 201 bytes name exactly one report, and
 * it refuses calldata of any other length.
 * @example const data = evmPackedPriceReport(keyset, report, evmFrostSignature(signature));
 * @throws InvariantError when a field does not fit its type or the two epochs differ
 */
export function evmPackedPriceReport(
  keyset: EvmKeyset,
  report: EvmPriceReport | PriceReport,
  signature: EvmFrostSignature,
): Uint8Array {
  const epoch = BigInt(report.epoch);
  invariant(epoch === keyset.epoch, 'the report names another epoch than the keyset');
  invariant(keyset.parity === 0 || keyset.parity === 1, 'parity must be 0 or 1');
  const out = concatBytes(
    PACKED_PRICE_REPORT_SELECTOR,
    bytes32(report.feedId, 'feedId'),
    fixedBytes(report.price, 8, true, 'price'),
    fixedBytes(report.confidence, 8, false, 'confidence'),
    fixedBytes(BigInt(report.exponent), 4, true, 'exponent'),
    fixedBytes(BigInt(report.publishTime), 8, false, 'publishTime'),
    fixedBytes(epoch, 8, false, 'epoch'),
    word(keyset.x),
    Uint8Array.of(keyset.parity),
    word(signature.rx),
    word(signature.ry),
    word(signature.z),
  );
  invariant(out.length === PACKED_PRICE_REPORT_BYTES, 'packed price report has the wrong length');
  return out;
}

/**
 * The packed entry point's calldata for a certificate made by src/interop/price-certificate.ts.
 * @throws Error when the signature's R or the group key is not a curve point
 */
export function evmPackedPriceCertificate(
  certificate: PriceCertificate,
  groupPublicKey: Uint8Array,
): Uint8Array {
  const [keyset, report, signature] = evmPriceCertificateArguments(certificate, groupPublicKey);
  return evmPackedPriceReport(keyset, report, signature);
}
