import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type AggregatePriceValue, type ObservationEntry, SignedObservationCodec } from '../codec/oracle.ts';
import { createEd25519Signer, type Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { createVerifiedRecord } from '../crypto/verified-record.ts';
import { AggregateFlag, aggregateBlock, DEFAULT_AGGREGATION_PARAMS, flagNames } from './aggregate.ts';
import { encodeVoteExtension, signObservation, verifyObservationSignature } from './observation.ts';
import { createPriceBook } from './price-book.ts';
import { maxBigint, minBigint } from './stats.ts';

const CHAIN = 7;
const HEIGHT = 100;
const NOW = 1_700_000_000_000;
const ASSET = 1;

function signers(count: number, label = 'validator'): Ed25519Signer[] {
  return Array.from({ length: count }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`${label}-${i}`))),
  );
}
const pool = signers(16);
const strangers = signers(2, 'stranger');

function members(set: Ed25519Signer[]) {
  return set.map((s) => ({ publicKey: s.publicKey, weight: 1n }));
}

function entry(priceTicks: bigint, confidenceTicks = 10n, sourceTimeMs = NOW - 500): ObservationEntry {
  return { assetId: ASSET, priceTicks, confidenceTicks, sourceCount: 3, sourceTimeMs };
}

function extension(
  signer: Ed25519Signer,
  entries: ObservationEntry[],
  overrides: { height?: number; timestampMs?: number; chainId?: number } = {},
) {
  return encodeVoteExtension(
    signObservation(signer, {
      chainId: overrides.chainId ?? CHAIN,
      height: overrides.height ?? HEIGHT,
      validator: signer.publicKey,
      timestampMs: overrides.timestampMs ?? NOW - 200,
      entries,
    }),
  );
}

function aggregate(
  validators: Ed25519Signer[],
  extensions: Uint8Array[],
  previous = new Map<number, AggregatePriceValue>(),
) {
  return aggregateBlock({
    chainId: CHAIN,
    height: HEIGHT,
    blockTimeMs: NOW,
    validators: members(validators),
    assets: [ASSET],
    extensions,
    previous,
  });
}

test('the price is the median of the observations, the confidence reaches the (f+1)-th lowest low and highest high', () => {
  const set = pool.slice(0, 4);
  const prices = [1000n, 1010n, 990n, 1005n];
  const result = aggregate(
    set,
    set.map((s, i) => extension(s, [entry(prices[i]!, 2n)])),
  );
  const price = result.prices[0]!;
  assert.equal(price.priceTicks, 1000n); // lower median of 990, 1000, 1005, 1010
  assert.equal(price.flags, 0);
  assert.equal(price.observationCount, 4);
  // n = 4, f = 1: lows 988 998 1003 1008 → the second lowest is 998; highs 1012 1007 1002 992 →
  // the second highest is 1007; max(1000 − 998, 1007 − 1000) = 7.
  assert.equal(price.confidenceTicks, 7n);
  assert.equal(price.publishTimeMs, NOW - 500);
});

test('fewer than 2f + 1 fresh observations flag the price stale and carry the previous one', () => {
  const set = pool.slice(0, 4);
  const previous = new Map([
    [
      ASSET,
      {
        ...aggregate(
          set,
          set.map((s) => extension(s, [entry(1000n)])),
        ).prices[0]!,
      },
    ],
  ]);
  const result = aggregate(
    set,
    [
      extension(set[0]!, [entry(2000n)]),
      extension(set[1]!, [entry(2000n)]),
      extension(set[2]!, [entry(2000n, 1n, NOW - 60_000)]),
    ],
    previous,
  );
  const price = result.prices[0]!;
  assert.deepEqual(flagNames(price.flags), ['STALE']);
  assert.equal(price.priceTicks, 1000n);
  assert.equal(price.observationCount, 2);

  const book = createPriceBook();
  book.apply(result);
  assert.equal(book.price(ASSET)?.stale, true);
});

test('replayed, previous-height, stranger-signed, future-timestamped and tampered observations are dropped', () => {
  const set = pool.slice(0, 4);
  const honest = set.map((s) => extension(s, [entry(1000n)]));
  const baseline = aggregate(set, honest);
  const tampered = extension(set[0]!, [entry(1000n)]);
  tampered[3 + 4 + 10]! ^= 1; // a signature bit: SSZ puts the fixed-size signature after the body offset
  const hostile = [
    honest[0]!, // the same bytes again
    extension(set[1]!, [entry(5n)], { height: HEIGHT - 1 }),
    extension(set[1]!, [entry(5n)], { height: HEIGHT + 1 }),
    extension(strangers[0]!, [entry(5n)]),
    extension(set[2]!, [entry(5n)], { chainId: CHAIN + 1 }),
    tampered,
    new Uint8Array([1, 4, 2, 0, 0]),
  ];
  const result = aggregate(set, [...honest, ...hostile]);
  assert.deepEqual(
    result.dropped.map((d) => d.reason),
    ['REPLAYED', 'PREVIOUS_HEIGHT', 'FUTURE_HEIGHT', 'UNKNOWN_SIGNER', 'TOO_MANY', 'TOO_MANY', 'TOO_MANY'],
  );
  // Beyond 2n extensions nothing is even decoded: the proposer cannot make us do unbounded work.
  assert.equal(result.prices[0]!.priceTicks, baseline.prices[0]!.priceTicks);

  const result2 = aggregate(set, [
    ...honest.slice(0, 3),
    extension(strangers[0]!, [entry(5n)]),
    extension(set[3]!, [entry(5n)], { timestampMs: NOW + 5_000 }),
    extension(set[2]!, [entry(5n)], { chainId: CHAIN + 1 }),
    tampered,
    new Uint8Array([1, 4, 2, 0, 0]),
  ]);
  assert.deepEqual(
    result2.dropped.map((d) => d.reason),
    ['UNKNOWN_SIGNER', 'FUTURE_TIMESTAMP', 'WRONG_CHAIN', 'BAD_SIGNATURE', 'MALFORMED'],
  );
  assert.equal(result2.accepted, 3);
  assert.deepEqual(result2.prices, aggregate(set, honest.slice(0, 3)).prices);
});

test('an equivocating validator is dropped entirely and the evidence returned', () => {
  const set = pool.slice(0, 4);
  const extensions = set.map((s) => extension(s, [entry(1000n)]));
  extensions.push(extension(set[3]!, [entry(999_999n)]));
  const result = aggregate(set, extensions);
  assert.equal(result.equivocations.length, 1);
  assert.equal(result.equivocations[0]!.observations.length, 2);
  assert.equal(result.accepted, 3);
  assert.equal(result.prices[0]!.priceTicks, 1000n);
  assert.equal(result.prices[0]!.flags, 0);
});

test('the result does not depend on the order of the vote extensions', () => {
  const set = pool.slice(0, 7);
  const extensions = set.map((s, i) => extension(s, [entry(1000n + BigInt(i * 7) - 20n, BigInt(i))]));
  const forward = aggregate(set, extensions);
  const backward = aggregate(set, [...extensions].reverse());
  assert.deepEqual(forward.prices, backward.prices);
});

test('guards flag a jump beyond the maximum move and outside the EMA band, without changing the price', () => {
  const set = pool.slice(0, 4);
  let previous = new Map<number, AggregatePriceValue>();
  for (let i = 0; i < 3; i++) {
    const block = aggregate(
      set,
      set.map((s) => extension(s, [entry(1000n)])),
      previous,
    );
    previous = new Map([[ASSET, block.prices[0]!]]);
  }
  const jump = aggregate(
    set,
    set.map((s) => extension(s, [entry(1300n)])),
    previous,
  );
  assert.equal(jump.prices[0]!.priceTicks, 1300n);
  assert.deepEqual(flagNames(jump.prices[0]!.flags), ['MAX_MOVE', 'EMA_BAND']);
  assert.ok(jump.prices[0]!.emaTicks > 1000n && jump.prices[0]!.emaTicks < 1300n);

  const disagreement = aggregate(
    set,
    [
      extension(set[0]!, [entry(900n)]),
      extension(set[1]!, [entry(1000n)]),
      extension(set[2]!, [entry(1100n)]),
      extension(set[3]!, [entry(1200n)]),
    ],
    previous,
  );
  assert.ok((disagreement.prices[0]!.flags & AggregateFlag.CONFIDENCE_WIDE) !== 0);
});

test('property: with at most f Byzantine validators the price stays within the honest observations', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: 16, maxLength: 16 }),
      fc.array(fc.bigInt({ min: 1n, max: 1n << 62n }), { minLength: 16, maxLength: 16 }),
      fc.array(fc.bigInt({ min: 0n, max: 10n ** 6n }), { minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 4 }),
      (f, honestPrices, byzantinePrices, confidences, byzantineWanted) => {
        const n = 3 * f + 1;
        const set = pool.slice(0, n);
        const byzantineCount = Math.min(byzantineWanted, f);
        const honestSigners = set.slice(byzantineCount);
        const extensions = [
          ...set
            .slice(0, byzantineCount)
            .map((s, i) => extension(s, [entry(byzantinePrices[i]!, confidences[i]!)])),
          ...honestSigners.map((s, i) => extension(s, [entry(honestPrices[i]!, confidences[i + f]!)])),
        ];
        const price = aggregate(set, extensions).prices[0]!;
        const honest = honestPrices.slice(0, honestSigners.length);
        const low = minBigint(...honest);
        const high = maxBigint(...honest);
        assert.ok((price.flags & AggregateFlag.STALE) === 0);
        assert.ok(
          price.priceTicks >= low && price.priceTicks <= high,
          `${price.priceTicks} outside [${low}, ${high}]`,
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('default parameters are frozen', () => {
  assert.ok(Object.isFrozen(DEFAULT_AGGREGATION_PARAMS));
});

/** The honest spread bound of the module header: how far the honest intervals reach from the honest prices. */
function honestSpreadBound(honest: readonly ObservationEntry[]): bigint {
  const prices = honest.map((e) => e.priceTicks);
  const lows = honest.map((e) => (e.priceTicks > e.confidenceTicks ? e.priceTicks - e.confidenceTicks : 0n));
  const highs = honest.map((e) => e.priceTicks + e.confidenceTicks);
  return maxBigint(maxBigint(...highs) - minBigint(...prices), maxBigint(...prices) - minBigint(...lows));
}

test('attack: f validators at price 1 with confidence 0 cannot widen the confidence past the honest spread', () => {
  for (const n of [4, 7, 10, 31]) {
    const f = Math.floor((n - 1) / 3);
    const set = pool.length >= n ? pool.slice(0, n) : signers(n, 'wide');
    const honest = Array.from({ length: n - f }, (_, i) => entry(6_500_000n + BigInt(i * 10), 500n));
    const extensions = [
      ...set.slice(0, f).map((s) => extension(s, [entry(1n, 0n)])),
      ...set.slice(f).map((s, i) => extension(s, [honest[i]!])),
    ];
    const price = aggregate(set, extensions).prices[0]!;
    const bound = honestSpreadBound(honest);
    assert.ok(
      price.confidenceTicks <= bound,
      `n = ${n}: confidence ${price.confidenceTicks} ticks at price ${price.priceTicks} exceeds the honest bound ${bound}`,
    );
    assert.equal(price.flags & AggregateFlag.CONFIDENCE_WIDE, 0, `n = ${n}: flagged wide`);
  }
});

const wideSet = signers(31, 'wide');

test('property: f arbitrary observations move neither the price outside the honest range nor the confidence past the honest spread (n = 4, 7, 10, 31)', () => {
  const priceTicks = fc.bigInt({ min: 1n, max: 10n ** 12n });
  const anyPrice = fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }), priceTicks);
  const anyConfidence = fc.oneof(
    fc.constant(0n),
    fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
    fc.bigInt({ min: 0n, max: 10n ** 9n }),
  );
  // Any timestamp aggregation admits: from the oldest allowed age to the furthest allowed skew,
  // and source times outside it too (such an entry is simply not fresh).
  const observedAt = fc.integer({
    min: NOW - DEFAULT_AGGREGATION_PARAMS.maxObservationAgeMs,
    max: NOW + DEFAULT_AGGREGATION_PARAMS.maxFutureSkewMs,
  });
  const sourceAt = fc.integer({ min: NOW - 30_000, max: NOW + 5_000 });
  fc.assert(
    fc.property(
      fc.constantFrom(4, 7, 10, 31),
      fc.array(fc.record({ price: priceTicks, confidence: fc.bigInt({ min: 0n, max: 10n ** 10n }) }), {
        minLength: 31,
        maxLength: 31,
      }),
      fc.array(fc.record({ price: anyPrice, confidence: anyConfidence, at: observedAt, sourceAt }), {
        minLength: 10,
        maxLength: 10,
      }),
      fc.integer({ min: 0, max: 10 }),
      (n, honestDraws, byzantineDraws, byzantineWanted) => {
        const f = Math.floor((n - 1) / 3);
        const set = wideSet.slice(0, n);
        const byzantineCount = Math.min(byzantineWanted, f);
        const honest = honestDraws
          .slice(0, n - byzantineCount)
          .map((draw) => entry(draw.price, draw.confidence));
        const extensions = [
          ...set.slice(0, byzantineCount).map((s, i) => {
            const draw = byzantineDraws[i]!;
            return extension(s, [entry(draw.price, draw.confidence, draw.sourceAt)], {
              timestampMs: draw.at,
            });
          }),
          ...set.slice(byzantineCount).map((s, i) => extension(s, [honest[i]!])),
        ];
        const price = aggregate(set, extensions).prices[0]!;
        const low = minBigint(...honest.map((e) => e.priceTicks));
        const high = maxBigint(...honest.map((e) => e.priceTicks));
        assert.equal(price.flags & AggregateFlag.STALE, 0);
        assert.ok(
          price.priceTicks >= low && price.priceTicks <= high,
          `${price.priceTicks} outside [${low}, ${high}]`,
        );
        const bound = honestSpreadBound(honest);
        assert.ok(
          price.confidenceTicks <= bound,
          `confidence ${price.confidenceTicks} > honest bound ${bound}`,
        );
      },
    ),
    { numRuns: 80 },
  );
});

test('property: with stake weights, liars holding under a third of the weight cannot widen the confidence either', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4, 7, 10, 31),
      fc.array(fc.bigInt({ min: 1n, max: 1_000n }), { minLength: 31, maxLength: 31 }),
      fc.array(
        fc.record({
          price: fc.bigInt({ min: 1n, max: 10n ** 12n }),
          confidence: fc.bigInt({ min: 0n, max: 10n ** 9n }),
        }),
        {
          minLength: 31,
          maxLength: 31,
        },
      ),
      fc.array(
        fc.record({
          price: fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }),
          confidence: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
        }),
        {
          minLength: 31,
          maxLength: 31,
        },
      ),
      (n, weights, honestDraws, liarDraws) => {
        const set = wideSet.slice(0, n);
        const weightOf = weights.slice(0, n);
        const total = weightOf.reduce((a, b) => a + b, 0n);
        // The liars: the heaviest validators that together still weigh less than a third.
        const order = [...weightOf.keys()].sort((a, b) => Number(weightOf[b]! - weightOf[a]!));
        const liars = new Set<number>();
        let liarWeight = 0n;
        for (const index of order) {
          if ((liarWeight + weightOf[index]!) * 3n < total) {
            liars.add(index);
            liarWeight += weightOf[index]!;
          }
        }
        const honest: ObservationEntry[] = [];
        const extensions = set.map((signer, i) => {
          if (liars.has(i)) return extension(signer, [entry(liarDraws[i]!.price, liarDraws[i]!.confidence)]);
          const honestEntry = entry(honestDraws[i]!.price, honestDraws[i]!.confidence);
          honest.push(honestEntry);
          return extension(signer, [honestEntry]);
        });
        const price = aggregateBlock({
          chainId: CHAIN,
          height: HEIGHT,
          blockTimeMs: NOW,
          validators: set.map((s, i) => ({ publicKey: s.publicKey, weight: weightOf[i]! })),
          assets: [ASSET],
          extensions,
          previous: new Map(),
        }).prices[0]!;
        assert.equal(price.flags & AggregateFlag.STALE, 0);
        const low = minBigint(...honest.map((e) => e.priceTicks));
        const high = maxBigint(...honest.map((e) => e.priceTicks));
        assert.ok(price.priceTicks >= low && price.priceTicks <= high);
        assert.ok(
          price.confidenceTicks <= honestSpreadBound(honest),
          `${price.confidenceTicks} past the honest spread`,
        );
      },
    ),
    { numRuns: 40 },
  );
});

test("observations checked from a validator's record of verified ones: a forged copy is still dropped, and each honest one verifies once", () => {
  const set = pool.slice(0, 4);
  const honest = set.map((s, i) => extension(s, [entry(1000n + BigInt(i), 2n)]));
  let verifications = 0;
  const record = createVerifiedRecord(
    (observation: Parameters<typeof verifyObservationSignature>[0]) => {
      verifications++;
      return verifyObservationSignature(observation);
    },
    { maxEntries: 64 },
  );
  const verifySignature = (
    observation: Parameters<typeof verifyObservationSignature>[0],
    bytes: Uint8Array,
  ) => record.verify(observation, bytes);
  // On their votes: each verified once and remembered.
  for (const bytes of honest) assert.equal(record.verify(SignedObservationCodec.decode(bytes), bytes), true);
  assert.equal(verifications, 4);
  // The forgery: validator 0's body (remembered as verified) with another signature, and a lie
  // about the price under validator 1's name. The record keys whole encodings, so neither is
  // answered from it: both are verified, fail, and are dropped; nothing false is remembered.
  const original = SignedObservationCodec.decode(honest[0]!);
  const forgedSignature = SignedObservationCodec.encode({
    ...original,
    signature: new Uint8Array(64).fill(7),
  });
  const lie = SignedObservationCodec.decode(extension(set[1]!, [entry(9_000n, 2n)]));
  const forgedBody = SignedObservationCodec.encode({
    ...lie,
    signature: SignedObservationCodec.decode(honest[1]!).signature,
  });
  const input = (extensions: Uint8Array[]) => ({
    chainId: CHAIN,
    height: HEIGHT,
    blockTimeMs: NOW,
    validators: members(set),
    assets: [ASSET],
    extensions,
    previous: new Map<number, AggregatePriceValue>(),
  });
  const attacked = [forgedSignature, forgedBody, honest[2]!, honest[3]!];
  const withRecord = aggregateBlock({ ...input(attacked), verifySignature });
  const without = aggregateBlock(input(attacked));
  assert.deepEqual(withRecord, without, 'the record gives the verdicts the signature check gives');
  assert.deepEqual(
    withRecord.dropped.map((drop) => drop.reason),
    ['BAD_SIGNATURE', 'BAD_SIGNATURE'],
  );
  assert.equal(
    verifications,
    6,
    'the two forgeries were verified, the two honest ones answered from the record',
  );
  assert.equal(record.has(forgedSignature) || record.has(forgedBody), false);
  // The honest block aggregates (proposal check, then execution) without a single verification.
  const before = verifications;
  assert.deepEqual(aggregateBlock({ ...input(honest), verifySignature }), aggregateBlock(input(honest)));
  aggregateBlock({ ...input(honest), verifySignature });
  assert.equal(verifications, before);
});
