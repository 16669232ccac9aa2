/**
 * SSZ building blocks shared by every message, with the bounds that untrusted input needs.
 * Counters and heights are u64 on the wire but must be safe integers in JavaScript: the message
 * envelope (`defineMessage` in message.ts) refuses any decoded value above 2^53 − 1 rather than
 * letting it round silently.
 */
import { BooleanType, ByteVectorType, UintNumberType } from '@chainsafe/ssz';

export const Bytes32 = new ByteVectorType(32);
export const Bytes64 = new ByteVectorType(64);
export const PublicKeyEd25519 = Bytes32;
export const SignatureEd25519 = Bytes64;
export const Uint8 = new UintNumberType(1);
export const Uint16 = new UintNumberType(2);
export const Uint32 = new UintNumberType(4);
/**
 * A u64 read as a JavaScript number. Every registered message's `decode` refuses a value above
 * 2^53 − 1 (INVALID_VALUE, naming the field), so codecs need no check of their own; a quantity that
 * may need the full 64 bits takes a bigint type (`UintBigintType`) instead.
 */
export const Uint64 = new UintNumberType(8);
export const Bool = new BooleanType();
