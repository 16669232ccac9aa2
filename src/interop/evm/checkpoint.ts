/**
 * Checkpoint certificates: the validators' FROST keyset (RFC 9591, secp256k1 with SHA-256)
 * certifies one Palisade height for the vault — its block hash, its state root, the root of the
 * withdrawals it pays, and the keyset's epoch — as the EIP-712 `Checkpoint` struct of
 * `contracts/PalisadeVerifier.sol` (src/interop/evm/certificates.ts `checkpointDigest`).
 *
 * ## Wire format (tag 0x0451, SSZ in the common envelope)
 *   chainId u64 ‖ verifyingContract bytes20 ‖ height u64 ‖ blockHash bytes32 ‖ stateRoot bytes32
 *   ‖ withdrawalsRoot bytes32 ‖ epoch u64 ‖ signature bytes65 (R compressed ‖ z)
 * Every field is covered by the signature (the first two through the EIP-712 domain); nothing
 * unsigned travels with it. A zero block hash, state root or withdrawals root is refused at
 * decoding, as the vault refuses the zero root: Nomad's loss began with a zero root taken as proven.
 *
 * ## Checking
 * {@link verifyCheckpointCertificate} returns a verdict, never throws: the domain must be the
 * verifier's, the epoch the keyset's, and the signature the keyset's over the digest. The
 * calldata the contract takes comes from {@link evmCheckpointArguments}.
 */
import { ByteVectorType, ContainerType, type ValueOf } from '@chainsafe/ssz';
import { CodecError } from '../../codec/errors.ts';
import { invariant } from '../../codec/invariant.ts';
import { defineMessage } from '../../codec/message.ts';
import { FrostSignatureBytes } from '../../codec/oracle.ts';
import { Bytes32, Uint64 } from '../../codec/primitives.ts';
import { bytesEqual } from '../../crypto/bytes.ts';
import { frostVerify } from '../../crypto/frost.ts';
import type { Keyset } from '../handover-certificate.ts';
import type { CertificateDomain } from '../price-certificate.ts';
import {
  type Checkpoint,
  checkpointDigest,
  type EvmFrostSignature,
  type EvmKeyset,
  evmFrostSignature,
  evmKeyset,
} from './certificates.ts';

export const CheckpointCertificateType = new ContainerType(
  {
    chainId: Uint64,
    verifyingContract: new ByteVectorType(20),
    height: Uint64,
    blockHash: Bytes32,
    stateRoot: Bytes32,
    withdrawalsRoot: Bytes32,
    epoch: Uint64,
    signature: FrostSignatureBytes,
  },
  { typeName: 'CheckpointCertificate' },
);
export type CheckpointCertificateValue = ValueOf<typeof CheckpointCertificateType>;

const isZero = (bytes: Uint8Array) => bytes.every((byte) => byte === 0);

export const CheckpointCertificateCodec = defineMessage({
  name: 'CheckpointCertificate',
  tag: 0x0451,
  type: CheckpointCertificateType,
  validate: (value) => {
    for (const field of ['blockHash', 'stateRoot', 'withdrawalsRoot'] as const)
      if (isZero(value[field])) return { field, reason: 'the zero root is never certified' };
    return undefined;
  },
});

export interface CheckpointCertificate {
  readonly domain: CertificateDomain;
  readonly checkpoint: Checkpoint;
  /** 65 bytes: the keyset's FROST signature over `checkpointDigest(checkpoint, domain)`. */
  readonly signature: Uint8Array;
}

/**
 * @example const bytes = encodeCheckpointCertificate({ domain, checkpoint, signature });
 * @throws InvariantError for a zero root, or a height or epoch above 2^53 − 1
 */
export function encodeCheckpointCertificate(certificate: CheckpointCertificate): Uint8Array {
  const { checkpoint } = certificate;
  // The codec's u64 is a JS number: the heights and epochs Palisade reaches are far below 2^53.
  invariant(
    checkpoint.height <= BigInt(Number.MAX_SAFE_INTEGER) &&
      checkpoint.epoch <= BigInt(Number.MAX_SAFE_INTEGER),
    'height and epoch must be safe integers',
  );
  // Certifying a zero root is a bug of the caller, never an input to refuse later.
  invariant(
    !isZero(checkpoint.blockHash) && !isZero(checkpoint.stateRoot) && !isZero(checkpoint.withdrawalsRoot),
    'a checkpoint never certifies a zero root',
  );
  return CheckpointCertificateCodec.encode({
    chainId: certificate.domain.chainId,
    verifyingContract: certificate.domain.verifyingContract,
    height: Number(checkpoint.height),
    blockHash: checkpoint.blockHash,
    stateRoot: checkpoint.stateRoot,
    withdrawalsRoot: checkpoint.withdrawalsRoot,
    epoch: Number(checkpoint.epoch),
    signature: certificate.signature,
  });
}

/** @throws CodecError naming the failing field (a zero root included) */
export function decodeCheckpointCertificate(bytes: Uint8Array): CheckpointCertificate {
  const value = CheckpointCertificateCodec.decode(bytes);
  return {
    domain: { chainId: value.chainId, verifyingContract: Uint8Array.from(value.verifyingContract) },
    checkpoint: {
      height: BigInt(value.height),
      blockHash: Uint8Array.from(value.blockHash),
      stateRoot: Uint8Array.from(value.stateRoot),
      withdrawalsRoot: Uint8Array.from(value.withdrawalsRoot),
      epoch: BigInt(value.epoch),
    },
    signature: Uint8Array.from(value.signature),
  };
}

export type CheckpointVerdict =
  | { ok: true; certificate: CheckpointCertificate }
  | { ok: false; reason: 'MALFORMED' | 'WRONG_DOMAIN' | 'WRONG_EPOCH' | 'BAD_SIGNATURE'; detail: string };

/**
 * Checks an encoded checkpoint certificate against the verifier's domain and the active keyset.
 * Never throws.
 * @example const verdict = verifyCheckpointCertificate(bytes, keyset, domain); if (verdict.ok) use(verdict.certificate);
 */
export function verifyCheckpointCertificate(
  bytes: Uint8Array,
  keyset: Keyset,
  domain: CertificateDomain,
): CheckpointVerdict {
  let certificate: CheckpointCertificate;
  try {
    certificate = decodeCheckpointCertificate(bytes);
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
    return { ok: false, reason: 'WRONG_DOMAIN', detail: 'checkpoint for another chain or contract' };
  if (certificate.checkpoint.epoch !== BigInt(keyset.epoch))
    return {
      ok: false,
      reason: 'WRONG_EPOCH',
      detail: `epoch ${certificate.checkpoint.epoch}, keyset ${keyset.epoch}`,
    };
  try {
    if (
      !frostVerify(
        certificate.signature,
        checkpointDigest(certificate.checkpoint, domain),
        keyset.groupPublicKey,
      )
    )
      return { ok: false, reason: 'BAD_SIGNATURE', detail: 'not signed by the keyset' };
  } catch {
    return { ok: false, reason: 'BAD_SIGNATURE', detail: 'not a signature' };
  }
  return { ok: true, certificate };
}

/** `PalisadeVerifier.verifyCheckpoint(keyset, checkpoint, signature)`'s arguments. */
export function evmCheckpointArguments(
  certificate: CheckpointCertificate,
  groupPublicKey: Uint8Array,
): [EvmKeyset, Checkpoint, EvmFrostSignature] {
  return [
    evmKeyset(certificate.checkpoint.epoch, groupPublicKey),
    certificate.checkpoint,
    evmFrostSignature(certificate.signature),
  ];
}
