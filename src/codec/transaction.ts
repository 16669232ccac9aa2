/**
 * The transaction envelope: who signs, their per-account nonce, the last height at which the
 * transaction may be included, and an opaque payload that the execution layer decodes (its
 * actions are messages of their own, tags 0x03xx). The signature covers
 * `PALISADE/TX/v1 ‖ chain id ‖ encode(TransactionBody)`.
 */
import { ByteListType, ContainerType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage, ENVELOPE_HEADER_BYTES, ENVELOPE_VERSION } from './message.ts';
import { Bytes32, Bytes64, Uint64 } from './primitives.ts';

/** The largest payload a transaction may carry: orders are ~200 bytes; governance listings more. */
export const MAX_TRANSACTION_PAYLOAD_BYTES = 4096;

export const TransactionBodyType = new ContainerType(
  {
    chainId: Uint64,
    signer: Bytes32,
    nonce: Uint64,
    expiryHeight: Uint64,
    payload: new ByteListType(MAX_TRANSACTION_PAYLOAD_BYTES),
  },
  { typeName: 'TransactionBody' },
);
export type TransactionBody = ValueOf<typeof TransactionBodyType>;

export const SignedTransactionType = new ContainerType(
  { body: TransactionBodyType, signature: Bytes64 },
  { typeName: 'SignedTransaction' },
);
export type SignedTransaction = ValueOf<typeof SignedTransactionType>;

export const TransactionBodyCodec = defineMessage({
  name: 'TransactionBody',
  tag: 0x0101,
  type: TransactionBodyType,
});

export const SignedTransactionCodec = defineMessage({
  name: 'SignedTransaction',
  tag: 0x0102,
  type: SignedTransactionType,
});

// ---------------------------------------------------------------- the direct decoder
//
// Every transaction a validator sees is decoded on its event loop at admission and again on a
// signature thread, and the generic SSZ path (a value tree, a walk for unsafe integers, the body
// serialized again for the id and the signed message) cost ≈ 50 µs of a busy loop per decode. The
// layout of a SignedTransaction is fixed by the two containers above:
//
//   header (3) ‖ offset of body (u32 LE, = 68) ‖ signature (64) ‖
//   body: chainId (u64 LE) ‖ signer (32) ‖ nonce (u64 LE) ‖ expiryHeight (u64 LE) ‖
//         offset of payload (u32 LE, = 60) ‖ payload (0..4096)
//
// and SSZ is canonical: for these containers an encoding is valid exactly when both offsets are
// those constants, the payload fits its bound and (our rule, message.ts) every u64 is a safe
// integer. Bytes that meet all of it are read directly; anything else goes to the codec, which
// says what is wrong with it. So the direct path never accepts what the codec refuses, and what it
// returns is the codec's value (src/codec/transaction.test.ts checks both on valid, mutated and
// hostile encodings).

/** Where the body starts in a SignedTransaction encoding: header, body offset, signature. */
const BODY_START = ENVELOPE_HEADER_BYTES + 4 + 64;
/** The body's fixed part: chainId, signer, nonce, expiryHeight, payload offset. */
const BODY_FIXED_BYTES = 8 + 32 + 8 + 8 + 4;
/** TransactionBody's envelope header: the id and the signed message are over header ‖ body. */
const BODY_HEADER = Uint8Array.of(
  ENVELOPE_VERSION,
  TransactionBodyCodec.tag >> 8,
  TransactionBodyCodec.tag & 0xff,
);

/** A decoded transaction with its body's canonical encoding (`TransactionBodyCodec.encode(body)`). */
export interface DecodedSignedTransaction {
  transaction: SignedTransaction;
  /** Exactly `TransactionBodyCodec.encode(transaction.body)`: what the id hashes and the signer signed. */
  encodedBody: Uint8Array;
}

/** A little-endian u64 at `at`, or undefined above 2^53 − 1 (the codec refuses those). */
function safeU64(view: DataView, at: number): number | undefined {
  const high = view.getUint32(at + 4, true);
  if (high > 0x1f_ffff) return undefined;
  return high * 0x1_0000_0000 + view.getUint32(at, true);
}

/** A copy of `bytes[start, end)` as a plain Uint8Array (never a Buffer view), as the codec gives. */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

/**
 * The direct reader alone: the decoded transaction when `bytes` have the canonical layout, else
 * undefined (the codec then decides, and names the fault).
 */
export function readSignedTransaction(bytes: Uint8Array): DecodedSignedTransaction | undefined {
  if (
    bytes instanceof Uint8Array &&
    bytes.length >= BODY_START + BODY_FIXED_BYTES &&
    bytes.length <= BODY_START + BODY_FIXED_BYTES + MAX_TRANSACTION_PAYLOAD_BYTES &&
    bytes[0] === ENVELOPE_VERSION &&
    bytes[1] === SignedTransactionCodec.tag >> 8 &&
    bytes[2] === (SignedTransactionCodec.tag & 0xff)
  ) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const chainId = safeU64(view, BODY_START);
    const nonce = safeU64(view, BODY_START + 40);
    const expiryHeight = safeU64(view, BODY_START + 48);
    if (
      view.getUint32(ENVELOPE_HEADER_BYTES, true) === BODY_START - ENVELOPE_HEADER_BYTES &&
      view.getUint32(BODY_START + 56, true) === BODY_FIXED_BYTES &&
      chainId !== undefined &&
      nonce !== undefined &&
      expiryHeight !== undefined
    ) {
      const encodedBody = new Uint8Array(BODY_HEADER.length + bytes.length - BODY_START);
      encodedBody.set(BODY_HEADER, 0);
      encodedBody.set(bytes.subarray(BODY_START), BODY_HEADER.length);
      return {
        transaction: {
          body: {
            chainId,
            signer: copyOf(bytes, BODY_START + 8, BODY_START + 40),
            nonce,
            expiryHeight,
            payload: copyOf(bytes, BODY_START + BODY_FIXED_BYTES, bytes.length),
          },
          signature: copyOf(bytes, ENVELOPE_HEADER_BYTES + 4, BODY_START),
        },
        encodedBody,
      };
    }
  }
  return undefined;
}

/**
 * `SignedTransactionCodec.decode(bytes)` and the body's encoding, read directly when the bytes have
 * the canonical layout, else through the codec.
 * @example const { transaction, encodedBody } = decodeSignedTransaction(bytes);
 * @throws CodecError exactly when `SignedTransactionCodec.decode` does, with its code and field
 */
export function decodeSignedTransaction(bytes: Uint8Array): DecodedSignedTransaction {
  const direct = readSignedTransaction(bytes);
  if (direct !== undefined) return direct;
  const transaction = SignedTransactionCodec.decode(bytes);
  return { transaction, encodedBody: TransactionBodyCodec.encode(transaction.body) };
}
