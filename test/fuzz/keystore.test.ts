/**
 * Fuzzes the keystore parser with mutated files: text-level damage (cuts, insertions, flipped
 * characters) and JSON-level damage (values replaced, keys added or removed). The parser returns a
 * keystore or throws a KeystoreError, and whatever it accepts it reads back identically.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEd25519Keystore, KeystoreError, parseKeystore } from '../../src/crypto/keystore.ts';
import { createRandom, type Random } from './mutate.ts';

const INPUTS = 10_000;
const keystore = await createEd25519Keystore(new Uint8Array(32).fill(9), 'fuzzing password', {
  kdf: 'scrypt',
  scrypt: { n: 1024, r: 8, p: 1 },
});
const text = JSON.stringify(keystore, null, 2);

const jsonValues: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 60,
  '',
  'scrypt',
  'pbkdf2',
  '00',
  'zz',
  [],
  {},
  { n: 2 },
  4,
];

function mutateText(input: string, random: Random): string {
  const position = random.below(input.length + 1);
  switch (random.below(5)) {
    case 0:
      return input.slice(0, position);
    case 1:
      return input.slice(0, position) + input.slice(position + 1 + random.below(10));
    case 2:
      return input.slice(0, position) + String.fromCharCode(random.below(128)) + input.slice(position);
    case 3:
      return input.slice(0, position) + '{}[]",:0x'.charAt(random.below(9)) + input.slice(position + 1);
    default:
      return input + input.slice(0, random.below(20));
  }
}

/** Replaces, adds or deletes one property somewhere in the keystore's JSON tree. */
function mutateJson(value: unknown, random: Random, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return jsonValues[random.below(jsonValues.length)];
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const action = random.below(6);
  if (action === 0 || keys.length === 0)
    copy[`extra${random.below(3)}`] = jsonValues[random.below(jsonValues.length)];
  else if (action === 1) delete copy[keys[random.below(keys.length)]!];
  else {
    const key = keys[random.below(keys.length)]!;
    copy[key] =
      depth < 4 && random.below(4) !== 0
        ? mutateJson(copy[key], random, depth + 1)
        : jsonValues[random.below(jsonValues.length)];
  }
  return copy;
}

test(`keystore parser: ${INPUTS} mutated files give a keystore or a KeystoreError`, () => {
  const random = createRandom(4);
  let accepted = 0;
  for (let i = 0; i < INPUTS; i++) {
    const input = i % 2 === 0 ? mutateText(text, random) : JSON.stringify(mutateJson(keystore, random));
    let parsed: ReturnType<typeof parseKeystore>;
    try {
      parsed = parseKeystore(input);
    } catch (error) {
      if (error instanceof KeystoreError) continue;
      assert.fail(`parseKeystore threw ${String(error)} for ${input}`);
    }
    accepted++;
    assert.deepEqual(parseKeystore(JSON.stringify(parsed)), parsed);
  }
  assert.ok(accepted < INPUTS, 'every mutation was accepted: the fuzzer is not reaching the checks');
});
