/**
 * Seeded random inputs for the fuzz tests: a small deterministic generator (so any failure replays
 * from the seed printed with it) and byte-level mutations of valid encodings.
 */

/** xorshift128+: fast, seedable, and plenty for choosing mutations (not for anything secret). */
export function createRandom(seed: number): {
  next(): number;
  below(limit: number): number;
  bytes(length: number): Uint8Array;
} {
  let s0 = BigInt(seed) | 1n;
  let s1 = 0x9e3779b97f4a7c15n ^ BigInt(seed);
  const mask = (1n << 64n) - 1n;
  const next = (): number => {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & mask;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(((s1 + y) & mask) >> 11n) / 2 ** 53;
  };
  const below = (limit: number) => Math.floor(next() * limit);
  const bytes = (length: number) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = below(256);
    return out;
  };
  return { next, below, bytes };
}

export type Random = ReturnType<typeof createRandom>;

/** One to four byte-level mutations of `input`: flips, overwrites, truncation, insertion, deletion, extension. */
export function mutate(input: Uint8Array, random: Random): Uint8Array {
  let bytes = input.slice();
  const rounds = 1 + random.below(4);
  for (let round = 0; round < rounds; round++) {
    const position = bytes.length === 0 ? 0 : random.below(bytes.length);
    switch (random.below(8)) {
      case 0:
        if (bytes.length > 0) bytes[position]! ^= 1 << random.below(8);
        break;
      case 1:
        if (bytes.length > 0) bytes[position] = [0, 1, 0x7f, 0x80, 0xff][random.below(5)]!;
        break;
      case 2:
        bytes = bytes.slice(0, random.below(bytes.length + 1));
        break;
      case 3:
        bytes = new Uint8Array([
          ...bytes.subarray(0, position),
          ...random.bytes(1 + random.below(8)),
          ...bytes.subarray(position),
        ]);
        break;
      case 4:
        bytes = new Uint8Array([
          ...bytes.subarray(0, position),
          ...bytes.subarray(position + 1 + random.below(8)),
        ]);
        break;
      case 5:
        bytes = new Uint8Array([...bytes, ...random.bytes(1 + random.below(40))]);
        break;
      case 6:
        // A 4-byte little-endian word, where SSZ keeps its offsets, set to an edge value.
        if (bytes.length >= 4) {
          const at = random.below(bytes.length - 3);
          const value = [0, 1, 4, 0xffff, 0xffffffff, bytes.length, bytes.length + 1][random.below(7)]!;
          new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value >>> 0, true);
        }
        break;
      default:
        if (bytes.length > 0) bytes[position] = random.below(256);
    }
  }
  return bytes;
}
