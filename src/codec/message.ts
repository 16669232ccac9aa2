/**
 * The envelope of every object Palisade signs, hashes or sends between validators:
 *
 *   version (u8, = 1) ‖ type tag (u16, big-endian) ‖ SSZ body
 *
 * The body is Simple Serialize (SSZ, the Ethereum consensus encoding) through `@chainsafe/ssz`,
 * Lodestar's maintained implementation: it is canonical (one value has one encoding), bounded by
 * construction (every list has a declared maximum), and gives Merkle roots of objects for free.
 *
 * Tag ranges per layer keep numbering decisions local: 0x01xx codec/crypto (transactions),
 * 0x02xx consensus, 0x03xx execution, 0x04xx oracle, 0x05xx node/p2p, 0x06xx mempool, 0x07xx interop.
 */
import type { Type } from '@chainsafe/ssz';
import { CodecError } from './errors.ts';
import { invariant } from './invariant.ts';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_BYTES = 3;

export interface MessageCodec<T> {
  readonly name: string;
  readonly tag: number;
  /** Largest encoded message (header included) that `decode` accepts. */
  readonly maxBytes: number;
  readonly type: Type<T>;
  encode(value: T): Uint8Array;
  /** @throws CodecError naming the failing field; never returns a partial value */
  decode(bytes: Uint8Array): T;
  /** SSZ hash tree root of the value: a 32-byte commitment whose fields can be proven. */
  hashTreeRoot(value: T): Uint8Array;
}

export interface MessageDefinition<T> {
  name: string;
  tag: number;
  type: Type<T>;
  /**
   * Upper bound on the encoded size, header included. Defaults to the largest encoding the SSZ
   * type allows; set it lower where a message must be smaller than its type could be.
   */
  maxBytes?: number;
  /** Semantic checks beyond the SSZ shape; returns the failing field's path and why, or undefined. */
  validate?: (value: T) => { field: string; reason: string } | undefined;
}

const registry = new Map<number, MessageCodec<unknown>>();

/** Every registered message codec, by tag (for fixtures and fuzzing). */
export function registeredMessages(): readonly MessageCodec<unknown>[] {
  return [...registry.values()].sort((a, b) => a.tag - b.tag);
}

/** Reads the type tag of an envelope without decoding the body; throws CodecError if absent. */
export function peekTag(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array) || bytes.length < ENVELOPE_HEADER_BYTES) {
    throw new CodecError('MESSAGE_TOO_SHORT', 'envelope', `need ${ENVELOPE_HEADER_BYTES} header bytes`);
  }
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new CodecError(
      'UNKNOWN_VERSION',
      'envelope.version',
      `version ${bytes[0]} is not ${ENVELOPE_VERSION}`,
    );
  }
  return ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
}

/** Decodes any registered message, dispatching on its tag. */
export function decodeAny(bytes: Uint8Array): { codec: MessageCodec<unknown>; value: unknown } {
  const tag = peekTag(bytes);
  const codec = registry.get(tag);
  if (codec === undefined) {
    throw new CodecError(
      'UNKNOWN_TYPE',
      'envelope.type',
      `no message has tag 0x${tag.toString(16).padStart(4, '0')}`,
    );
  }
  return { codec, value: codec.decode(bytes) };
}

/**
 * Declares a message type and registers its tag.
 * @example const Ping = defineMessage({ name: 'Ping', tag: 0x0501, type: new ContainerType({ n: new UintNumberType(8) }), maxBytes: 16 });
 * @throws InvariantError when the tag is taken or out of range
 */
export function defineMessage<T>(definition: MessageDefinition<T>): MessageCodec<T> {
  const { name, tag, type, validate } = definition;
  const maxBytes = definition.maxBytes ?? ENVELOPE_HEADER_BYTES + type.maxSize;
  invariant(Number.isInteger(tag) && tag > 0 && tag <= 0xffff, `${name}: tag must be a u16`);
  invariant(!registry.has(tag), `${name}: tag 0x${tag.toString(16)} is already ${registry.get(tag)?.name}`);
  invariant(
    maxBytes >= ENVELOPE_HEADER_BYTES + type.minSize,
    `${name}: maxBytes below the smallest encoding`,
  );

  const codec: MessageCodec<T> = Object.freeze({
    name,
    tag,
    maxBytes,
    type,
    encode(value: T): Uint8Array {
      const body = type.serialize(value);
      const out = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
      out[0] = ENVELOPE_VERSION;
      out[1] = tag >> 8;
      out[2] = tag & 0xff;
      out.set(body, ENVELOPE_HEADER_BYTES);
      invariant(
        out.length <= maxBytes,
        `${name}: encoded ${out.length} bytes, above its maximum ${maxBytes}`,
      );
      return out;
    },
    decode(bytes: Uint8Array): T {
      if (bytes instanceof Uint8Array && bytes.length > maxBytes) {
        throw new CodecError('MESSAGE_TOO_LARGE', name, `${bytes.length} bytes, maximum ${maxBytes}`);
      }
      const actualTag = peekTag(bytes);
      if (actualTag !== tag) {
        throw new CodecError('WRONG_TYPE', `${name}.type`, `tag 0x${actualTag.toString(16)} is not ${name}`);
      }
      const body = bytes.subarray(ENVELOPE_HEADER_BYTES);
      const value = deserializeBody(type, body, name);
      const unsafe = firstUnsafeNumber(value, '');
      if (unsafe !== undefined) {
        throw new CodecError(
          'INVALID_VALUE',
          `${name}${unsafe}`,
          'integer above 2^53 − 1 cannot be represented exactly',
        );
      }
      const problem = validate?.(value);
      if (problem !== undefined)
        throw new CodecError('INVALID_VALUE', `${name}.${problem.field}`, problem.reason);
      return value;
    },
    hashTreeRoot(value: T): Uint8Array {
      return type.hashTreeRoot(value);
    },
  });
  registry.set(tag, codec as MessageCodec<unknown>);
  return codec;
}

/**
 * SSZ reads a u64 into a JavaScript number, which silently rounds above 2^53 − 1: two encodings
 * would decode to one value. Every decoded number must therefore be a safe integer; wider values
 * use bigint types. Returns the dotted path (with a leading dot) of the first offender.
 */
function firstUnsafeNumber(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? undefined : path;
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = firstUnsafeNumber(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, inner] of Object.entries(value)) {
    const found = firstUnsafeNumber(inner, `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function deserializeBody<T>(type: Type<T>, body: Uint8Array, name: string): T {
  if (body.length < type.minSize) {
    throw new CodecError('MESSAGE_TOO_SHORT', name, `body of ${body.length} bytes, minimum ${type.minSize}`);
  }
  if (body.length > type.maxSize) {
    throw new CodecError('TRAILING_BYTES', name, `body of ${body.length} bytes, maximum ${type.maxSize}`);
  }
  try {
    return type.deserialize(body);
  } catch (cause) {
    const failure = locateFailure(type, body, name, 0) ?? { field: name, reason: (cause as Error).message };
    throw new CodecError('MALFORMED_FIELD', failure.field, failure.reason, { cause });
  }
}

/** The parts of `@chainsafe/ssz` containers and arrays that `locateFailure` walks. */
interface ContainerLike {
  fieldsEntries: { fieldName: string; fieldType: Type<unknown> }[];
  getFieldRanges(data: DataView, start: number, end: number): { start: number; end: number }[];
}
interface ArrayLike {
  elementType: Type<unknown>;
}

/** Containers nest a handful of levels; the bound only guards against a type graph we did not expect. */
const MAX_LOCATE_DEPTH = 32;

/**
 * Finds the innermost field whose bytes fail to decode, by splitting containers into their fields
 * (and lists of fixed-size elements into their elements) and decoding each part on its own. Runs
 * only after a decode has failed, so the happy path pays nothing for it.
 */
function locateFailure(
  type: Type<unknown>,
  bytes: Uint8Array,
  path: string,
  depth: number,
): { field: string; reason: string } | undefined {
  try {
    type.deserialize(bytes);
    return undefined;
  } catch (error) {
    const here = { field: path, reason: (error as Error).message };
    if (depth >= MAX_LOCATE_DEPTH) return here;
    if ('fieldsEntries' in type && 'getFieldRanges' in type) {
      const container = type as unknown as ContainerLike;
      let ranges: { start: number; end: number }[];
      try {
        ranges = container.getFieldRanges(
          new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          0,
          bytes.length,
        );
      } catch (rangeError) {
        return { field: path, reason: `field offsets: ${(rangeError as Error).message}` };
      }
      for (const [index, { fieldName, fieldType }] of container.fieldsEntries.entries()) {
        const range = ranges[index];
        if (range === undefined) continue;
        const found = locateFailure(
          fieldType,
          bytes.subarray(range.start, range.end),
          `${path}.${fieldName}`,
          depth + 1,
        );
        if (found !== undefined) return found;
      }
      return here;
    }
    if ('elementType' in type) {
      const elementType = (type as unknown as ArrayLike).elementType;
      const size = elementType.fixedSize;
      if (size !== null && size > 0 && bytes.length % size === 0) {
        for (let index = 0; index * size < bytes.length; index++) {
          const element = bytes.subarray(index * size, (index + 1) * size);
          const found = locateFailure(elementType, element, `${path}[${index}]`, depth + 1);
          if (found !== undefined) return found;
        }
      }
    }
    return here;
  }
}
