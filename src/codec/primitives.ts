/**
 * SSZ building blocks shared by every message, with the bounds that untrusted input needs.
 * Counters and heights are u64 on the wire but must be safe integers in JavaScript: a decoded
 * value above 2^53 − 1 is refused by `validateSafeIntegers` rather than silently rounded.
 */
import { BooleanType, ByteVectorType, UintNumberType } from '@chainsafe/ssz';

export const Bytes32 = new ByteVectorType(32);
export const Bytes64 = new ByteVectorType(64);
export const PublicKeyEd25519 = Bytes32;
export const SignatureEd25519 = Bytes64;
export const Uint8 = new UintNumberType(1);
export const Uint16 = new UintNumberType(2);
export const Uint32 = new UintNumberType(4);
/** A u64 read as a JavaScript number; pair it with {@link firstUnsafeInteger} in `validate`. */
export const Uint64 = new UintNumberType(8);
export const Bool = new BooleanType();

/** Returns the first of `fields` whose value is not a non-negative safe integer, or undefined. */
export function firstUnsafeInteger(
  value: Record<string, unknown>,
  fields: readonly string[],
): string | undefined {
  return fields.find((field) => {
    const x = value[field];
    return typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0;
  });
}
