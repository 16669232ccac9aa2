import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createFrameReader } from './transport.ts';

function encode(frames: Uint8Array[]): Buffer {
  return Buffer.concat(
    frames.flatMap((frame) => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(frame.length, 0);
      return [header, Buffer.from(frame)];
    }),
  );
}

/** Cuts `bytes` at the given positions (taken modulo its length). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % bytes.length)))].sort(
    (a, b) => a - b,
  );
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

test('frames come out whole and in order however the stream is chunked', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (frames, cuts) => {
        const reader = createFrameReader(300);
        const out: Uint8Array[] = [];
        for (const chunk of split(encode(frames), cuts)) {
          const result = reader.push(chunk);
          assert.equal(result.oversizeLength, undefined);
          out.push(...result.frames.map((frame) => new Uint8Array(frame)));
        }
        assert.deepEqual(
          out,
          frames.map((frame) => new Uint8Array(frame)),
        );
      },
    ),
  );
});

test('a length above the maximum is reported at once, before its payload arrives, and ends the stream', () => {
  fc.assert(
    fc.property(fc.integer({ min: 101, max: 0xffffffff }), (length) => {
      const reader = createFrameReader(100);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(length, 0);
      const result = reader.push(Buffer.concat([encode([new Uint8Array([7])]), header]));
      assert.deepEqual(
        result.frames.map((frame) => [...frame]),
        [[7]],
      );
      assert.equal(result.oversizeLength, length);
      assert.deepEqual(reader.push(encode([new Uint8Array([1])])), { frames: [], oversizeLength: undefined });
    }),
  );
});

test('a frame of exactly the maximum size is accepted', () => {
  const reader = createFrameReader(100);
  const result = reader.push(encode([new Uint8Array(100).fill(9)]));
  assert.equal(result.frames[0]?.length, 100);
});
