/**
 * The JSON form of every public type, with a JSON Schema (draft-07, which Fastify compiles for
 * request validation and response serialization), both derived from the SSZ type so the binary and
 * JSON forms can never drift apart:
 *
 *   bytes (vectors, lists)      "0x" + lower-case hex (either case accepted on input)
 *   uint8, uint16, uint32       JSON number
 *   uint64 and wider, bigints   decimal string: JSON numbers lose precision above 2^53
 *   boolean                     true / false
 *   container                   object with exactly its fields, in declaration order
 *   list, vector                array, bounded by the SSZ limit
 *   optional                    null or the value
 *
 * Reading is strict: an unknown or missing field, a wrong type, a list over its limit or a number
 * out of range is a {@link CodecError} naming the dotted path of the field, and nothing is returned.
 */
import {
  BooleanType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  OptionalType,
  type Type,
  UintBigintType,
  UintNumberType,
  VectorBasicType,
  VectorCompositeType,
} from '@chainsafe/ssz';
import { CodecError } from './errors.ts';
import { invariant } from './invariant.ts';
import { ENVELOPE_HEADER_BYTES, ENVELOPE_VERSION, type MessageCodec } from './message.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonSchema = { [key: string]: JsonValue };

/** Type nesting is fixed by our own declarations; this bound only catches a cycle we never meant. */
const MAX_TYPE_DEPTH = 32;
const DECIMAL_PATTERN = /^(0|[1-9][0-9]*)$/;
const HEX_PATTERN = /^0x([0-9a-fA-F]{2})*$/;

type AnyContainer = ContainerType<Record<string, Type<unknown>>>;
type AnyArray = { elementType: Type<unknown> };

function bigintIsWide(type: UintNumberType): boolean {
  return type.byteLength > 4;
}

function bytesToHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

function unsupported(type: Type<unknown>): never {
  invariant(false, `the JSON form does not cover SSZ type ${type.typeName}`);
}

/**
 * The JSON form of `value`.
 * @example toJson(TransactionBodyType, body); // { chainId: "1", signer: "0x…", … }
 */
export function toJson<T>(type: Type<T>, value: T): JsonValue {
  return valueToJson(type as Type<unknown>, value, 0);
}

function valueToJson(type: Type<unknown>, value: unknown, depth: number): JsonValue {
  invariant(depth < MAX_TYPE_DEPTH, 'SSZ type nested too deeply');
  if (type instanceof ByteVectorType || type instanceof ByteListType) return bytesToHex(value as Uint8Array);
  if (type instanceof BooleanType) return value as boolean;
  if (type instanceof UintNumberType) {
    return bigintIsWide(type) ? String(value as number) : (value as number);
  }
  if (type instanceof UintBigintType) return (value as bigint).toString();
  if (type instanceof ContainerType) {
    const out: { [key: string]: JsonValue } = {};
    for (const { fieldName, fieldType } of (type as AnyContainer).fieldsEntries) {
      out[fieldName] = valueToJson(fieldType, (value as Record<string, unknown>)[fieldName], depth + 1);
    }
    return out;
  }
  if (type instanceof OptionalType) {
    return value === null ? null : valueToJson(type.elementType as Type<unknown>, value, depth + 1);
  }
  if (isArrayType(type)) {
    const elementType = (type as unknown as AnyArray).elementType;
    return (value as unknown[]).map((element) => valueToJson(elementType, element, depth + 1));
  }
  return unsupported(type);
}

function isArrayType(type: Type<unknown>): boolean {
  return (
    type instanceof ListCompositeType ||
    type instanceof ListBasicType ||
    type instanceof VectorCompositeType ||
    type instanceof VectorBasicType
  );
}

/** Element count bounds of a list or vector type. */
function arrayBounds(type: Type<unknown>): { min: number; max: number } {
  if (type instanceof ListCompositeType || type instanceof ListBasicType) return { min: 0, max: type.limit };
  const length = (type as unknown as { length: number }).length;
  return { min: length, max: length };
}

function invalid(path: string, detail: string): never {
  throw new CodecError('INVALID_JSON', path, detail);
}

/**
 * Reads the JSON form of a `type` value from untrusted input.
 * @example const body = fromJson(TransactionBodyType, request.body, 'body');
 * @throws CodecError (INVALID_JSON, UNKNOWN_FIELD) naming the dotted path of the offending field
 */
export function fromJson<T>(type: Type<T>, json: unknown, path = 'value'): T {
  return jsonToValue(type as Type<unknown>, json, path, 0) as T;
}

function jsonToValue(type: Type<unknown>, json: unknown, path: string, depth: number): unknown {
  invariant(depth < MAX_TYPE_DEPTH, 'SSZ type nested too deeply');
  if (type instanceof ByteVectorType || type instanceof ByteListType) {
    const maxBytes = type instanceof ByteVectorType ? type.lengthBytes : type.limitBytes;
    // Check the length before the pattern so a huge string costs nothing to refuse.
    if (typeof json !== 'string' || json.length > 2 + 2 * maxBytes) {
      invalid(path, `expected 0x-prefixed hex of at most ${maxBytes} bytes`);
    }
    if (!HEX_PATTERN.test(json)) invalid(path, 'expected 0x-prefixed hex with an even number of digits');
    const bytes = new Uint8Array(Buffer.from(json.slice(2), 'hex'));
    if (type instanceof ByteVectorType && bytes.length !== maxBytes)
      invalid(path, `expected exactly ${maxBytes} bytes`);
    return bytes;
  }
  if (type instanceof BooleanType) {
    if (typeof json !== 'boolean') invalid(path, 'expected true or false');
    return json;
  }
  if (type instanceof UintNumberType) {
    const max = bigintIsWide(type) ? Number.MAX_SAFE_INTEGER : 2 ** (8 * type.byteLength) - 1;
    let number: number;
    if (bigintIsWide(type)) {
      if (typeof json !== 'string' || json.length > 20 || !DECIMAL_PATTERN.test(json)) {
        invalid(path, 'expected a decimal string');
      }
      number = Number(json);
    } else {
      if (typeof json !== 'number' || !Number.isInteger(json)) invalid(path, 'expected an integer');
      number = json;
    }
    if (number < 0 || number > max) invalid(path, `out of range 0 to ${max}`);
    return number;
  }
  if (type instanceof UintBigintType) {
    if (typeof json !== 'string' || json.length > 80 || !DECIMAL_PATTERN.test(json)) {
      invalid(path, 'expected a decimal string');
    }
    const value = BigInt(json);
    if (value >= 1n << BigInt(8 * type.byteLength)) invalid(path, `above ${8 * type.byteLength} bits`);
    return value;
  }
  if (type instanceof ContainerType) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) invalid(path, 'expected an object');
    const entries = (type as AnyContainer).fieldsEntries;
    const known = new Set(entries.map((entry) => entry.fieldName));
    for (const key of Object.keys(json)) {
      if (!known.has(key))
        throw new CodecError('UNKNOWN_FIELD', `${path}.${key}`, `not a field of ${type.typeName}`);
    }
    const out: Record<string, unknown> = {};
    for (const { fieldName, fieldType } of entries) {
      if (!Object.hasOwn(json, fieldName)) invalid(`${path}.${fieldName}`, 'missing');
      out[fieldName] = jsonToValue(
        fieldType,
        (json as Record<string, unknown>)[fieldName],
        `${path}.${fieldName}`,
        depth + 1,
      );
    }
    return out;
  }
  if (type instanceof OptionalType) {
    return json === null ? null : jsonToValue(type.elementType as Type<unknown>, json, path, depth + 1);
  }
  if (isArrayType(type)) {
    const { min, max } = arrayBounds(type);
    if (!Array.isArray(json)) invalid(path, 'expected an array');
    if (json.length < min || json.length > max)
      invalid(path, `expected ${min} to ${max} elements, got ${json.length}`);
    const elementType = (type as unknown as AnyArray).elementType;
    return json.map((element, index) => jsonToValue(elementType, element, `${path}[${index}]`, depth + 1));
  }
  return unsupported(type);
}

/**
 * The JSON Schema (draft-07) of `type`'s JSON form, for Fastify routes and API documentation.
 * @example fastify.post('/v1/transactions', { schema: { body: jsonSchema(SignedTransactionType) } }, handler);
 */
export function jsonSchema(type: Type<unknown>): JsonSchema {
  return schemaOf(type, 0);
}

function schemaOf(type: Type<unknown>, depth: number): JsonSchema {
  invariant(depth < MAX_TYPE_DEPTH, 'SSZ type nested too deeply');
  if (type instanceof ByteVectorType) {
    return { type: 'string', pattern: `^0x[0-9a-fA-F]{${2 * type.lengthBytes}}$` };
  }
  if (type instanceof ByteListType) {
    return { type: 'string', pattern: HEX_PATTERN.source, maxLength: 2 + 2 * type.limitBytes };
  }
  if (type instanceof BooleanType) return { type: 'boolean' };
  if (type instanceof UintNumberType) {
    return bigintIsWide(type)
      ? { type: 'string', pattern: DECIMAL_PATTERN.source, maxLength: 16 }
      : { type: 'integer', minimum: 0, maximum: 2 ** (8 * type.byteLength) - 1 };
  }
  if (type instanceof UintBigintType) {
    const maxDigits = ((1n << BigInt(8 * type.byteLength)) - 1n).toString().length;
    return { type: 'string', pattern: DECIMAL_PATTERN.source, maxLength: maxDigits };
  }
  if (type instanceof ContainerType) {
    const entries = (type as AnyContainer).fieldsEntries;
    const properties: { [key: string]: JsonValue } = {};
    for (const { fieldName, fieldType } of entries) properties[fieldName] = schemaOf(fieldType, depth + 1);
    return {
      title: type.typeName,
      type: 'object',
      properties,
      required: entries.map((entry) => entry.fieldName),
      additionalProperties: false,
    };
  }
  if (type instanceof OptionalType) {
    return { anyOf: [{ type: 'null' }, schemaOf(type.elementType as Type<unknown>, depth + 1)] };
  }
  if (isArrayType(type)) {
    const { min, max } = arrayBounds(type);
    return {
      type: 'array',
      items: schemaOf((type as unknown as AnyArray).elementType, depth + 1),
      minItems: min,
      maxItems: max,
    };
  }
  return unsupported(type);
}

/**
 * A registered message's JSON form.
 * @example messageToJson(SignedTransactionCodec, tx);
 */
export function messageToJson<T>(codec: MessageCodec<T>, value: T): JsonValue {
  return toJson(codec.type, value);
}

/**
 * Reads a registered message from its JSON form and puts it through the same bounds and semantic
 * checks as its binary decoder, so both doors accept exactly the same values.
 * @example const tx = messageFromJson(SignedTransactionCodec, request.body);
 * @throws CodecError naming the offending field
 */
export function messageFromJson<T>(codec: MessageCodec<T>, json: unknown): T {
  const value = fromJson(codec.type, json, codec.name);
  const body = codec.type.serialize(value);
  if (ENVELOPE_HEADER_BYTES + body.length > codec.maxBytes) {
    throw new CodecError(
      'MESSAGE_TOO_LARGE',
      codec.name,
      `${ENVELOPE_HEADER_BYTES + body.length} bytes, maximum ${codec.maxBytes}`,
    );
  }
  const envelope = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
  envelope[0] = ENVELOPE_VERSION;
  envelope[1] = codec.tag >> 8;
  envelope[2] = codec.tag & 0xff;
  envelope.set(body, ENVELOPE_HEADER_BYTES);
  return codec.decode(envelope);
}

/**
 * A registered message's JSON Schema, with `$id` set to the message name for `fastify.addSchema`.
 * @example fastify.addSchema(messageJsonSchema(SignedTransactionCodec));
 */
export function messageJsonSchema(codec: MessageCodec<unknown>): JsonSchema {
  return { $id: codec.name, ...jsonSchema(codec.type) };
}
