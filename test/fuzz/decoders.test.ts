/**
 * Fuzzes every registered message decoder with random and mutated bytes: a decoder may only return
 * a value whose encoding is exactly the input (the encoding is canonical) or throw a CodecError.
 * Anything else (another exception, a non-canonical accept) fails with the seed to replay it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { CodecError } from '../../src/codec/errors.ts';
import { messageFromJson } from '../../src/codec/json.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { MESSAGES_FILE, type MessagesFile } from '../fixtures/codec/generate.ts';
import { acceptedBy, arbitraryOf, loadAllMessages } from '../fixtures/codec/support.ts';
import { createRandom, mutate } from './mutate.ts';

const INPUTS_PER_DECODER = 10_000;

const codecs = await loadAllMessages();
const fixtures = JSON.parse(readFileSync(MESSAGES_FILE, 'utf8')) as MessagesFile;

for (const codec of codecs) {
  test(`${codec.name}: ${INPUTS_PER_DECODER} random and mutated inputs give a canonical value or a CodecError`, () => {
    const seed = codec.tag;
    const random = createRandom(seed);
    // Valid encodings to mutate: the committed sample and a few generated values the codec accepts.
    const seeds: Uint8Array[] = [];
    const sample = fixtures.messages[codec.name]?.sample;
    if (sample !== undefined) seeds.push(codec.encode(messageFromJson(codec, sample)));
    for (const value of fc.sample(arbitraryOf(codec.type), { seed, numRuns: 40 })) {
      if (acceptedBy(codec, value)) seeds.push(codec.encode(value));
    }
    assert.ok(seeds.length > 0, `no valid encoding of ${codec.name} to start from`);
    let accepted = 0;
    for (let i = 0; i < INPUTS_PER_DECODER; i++) {
      let input: Uint8Array;
      if (i % 4 === 0) {
        // Fully random bytes, half of them behind a correct header so the body decoder is reached.
        input = random.bytes(random.below(Math.min(codec.maxBytes + 16, 512)));
        if (i % 8 === 0 && input.length >= 3) input.set([1, codec.tag >> 8, codec.tag & 0xff]);
      } else {
        input = mutate(seeds[random.below(seeds.length)]!, random);
      }
      try {
        const value = codec.decode(input);
        accepted++;
        const reencoded = toHex(codec.encode(value));
        assert.equal(reencoded, toHex(input), `non-canonical accept (seed ${seed}, input ${i})`);
      } catch (error) {
        if (!(error instanceof CodecError)) {
          assert.fail(`${codec.name} threw ${String(error)} (seed ${seed}, input ${i}: ${toHex(input)})`);
        }
      }
    }
    assert.ok(
      accepted < INPUTS_PER_DECODER,
      'every input was accepted: the fuzzer is not reaching the checks',
    );
  });
}

test('decode(encode(x)) = x for generated values of every registered message', () => {
  for (const codec of codecs) {
    // Sampling then filtering (rather than fc.pre) copes with codecs whose cross-field rules only
    // the small-pool generator satisfies, such as a proposal's vote matching its block.
    const candidates = [
      ...fc.sample(arbitraryOf(codec.type, 'full'), { seed: codec.tag, numRuns: 300 }),
      ...fc.sample(arbitraryOf(codec.type, 'simple'), { seed: codec.tag, numRuns: 300 }),
    ].filter((value) => acceptedBy(codec, value));
    assert.ok(candidates.length > 0, `no generated value of ${codec.name} is accepted`);
    for (const value of candidates.slice(0, 150))
      assert.deepEqual(codec.decode(codec.encode(value)), value, codec.name);
  }
});
