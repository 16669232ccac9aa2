/**
 * The transaction envelope: who signs, their per-account nonce, the last height at which the
 * transaction may be included, and an opaque payload that the execution layer decodes (its
 * actions are messages of their own, tags 0x03xx). The signature covers
 * `PALISADE/TX/v1 ‖ chain id ‖ encode(TransactionBody)`.
 */
import { ByteListType, ContainerType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
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
