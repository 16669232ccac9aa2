/**
 * Red team against the oracle aggregate (src/oracle/aggregate.ts) as f Byzantine validators,
 * one of them the block's leader, would attack it: the leader chooses which honest observations
 * its block carries (any set that, with the liars', weighs more than two thirds), and the liars
 * report whatever they like. What they want: a guard flag at will (a flag pauses liquidation and
 * marks for that underlying, src/execution/oracle-guard.ts), a price outside the honest range, or
 * an invariant thrown inside aggregation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AggregatePriceValue, ObservationEntry } from '../codec/oracle.ts';
import { createEd25519Signer, type Ed25519Signer } from '../crypto/ed25519.ts';
import { sha256 } from '../crypto/hash.ts';
import { AggregateFlag, aggregateBlock } from './aggregate.ts';
import { encodeVoteExtension, signObservation } from './observation.ts';

const CHAIN = 7;
const HEIGHT = 50;
const NOW = 1_800_000_000_000;
const ASSET = 1;
const CENTER = 6_000_000n;
const GUARDS = AggregateFlag.MAX_MOVE | AggregateFlag.EMA_BAND | AggregateFlag.CONFIDENCE_WIDE;

const pool: Ed25519Signer[] = Array.from({ length: 10 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`redteam-oracle-${i}`))),
);

function observation(signer: Ed25519Signer, entry: ObservationEntry): Uint8Array {
  return encodeVoteExtension(
    signObservation(signer, {
      chainId: CHAIN,
      height: HEIGHT,
      validator: signer.publicKey,
      timestampMs: NOW - 100,
      entries: [entry],
    }),
  );
}

const previous = new Map<number, AggregatePriceValue>([
  [
    ASSET,
    {
      assetId: ASSET,
      height: HEIGHT - 1,
      priceTicks: CENTER,
      confidenceTicks: 1000n,
      publishTimeMs: NOW - 1000,
      emaTicks: CENTER,
      observationCount: 4,
      flags: 0,
    },
  ],
]);

test('attack: f liars and a leader choosing which honest observations to carry cannot raise a guard flag while the honest sources agree within 1%', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4, 7, 10),
      fc.array(fc.integer({ min: -30_000, max: 30_000 }), { minLength: 10, maxLength: 10 }),
      fc.array(fc.integer({ min: 0, max: 6_000 }), { minLength: 10, maxLength: 10 }),
      fc.array(
        fc.record({
          price: fc.bigInt({ min: 1n, max: 10n ** 15n }),
          confidence: fc.bigInt({ min: 0n, max: 10n ** 15n }),
          ageMs: fc.integer({ min: -900, max: 14_000 }),
        }),
        { minLength: 3, maxLength: 3 },
      ),
      fc.integer({ min: 0, max: 1023 }),
      (n, offsets, confidences, lies, choice) => {
        const f = Math.floor((n - 1) / 3);
        const validators = pool.slice(0, n);
        const liars = validators.slice(0, f);
        const honest = validators.slice(f);
        // The leader carries every liar and any f + 1 or more honest observations (choice bits),
        // which with the liars is at least 2f + 1 of 3f + 1: more than two thirds.
        let carried = honest.filter((_, i) => ((choice >> i) & 1) === 1);
        if (carried.length < f + 1) carried = honest.slice(0, f + 1);
        const honestEntries = carried.map((signer, i) => ({
          signer,
          entry: {
            assetId: ASSET,
            priceTicks: CENTER + BigInt(offsets[i]!),
            confidenceTicks: BigInt(confidences[i]!),
            sourceCount: 3,
            sourceTimeMs: NOW - 300,
          },
        }));
        const extensions = [
          ...honestEntries.map(({ signer, entry }) => observation(signer, entry)),
          ...liars.map((signer, i) =>
            observation(signer, {
              assetId: ASSET,
              priceTicks: lies[i]!.price,
              confidenceTicks: lies[i]!.confidence,
              sourceCount: 3,
              sourceTimeMs: NOW - lies[i]!.ageMs,
            }),
          ),
        ];
        const result = aggregateBlock({
          chainId: CHAIN,
          height: HEIGHT,
          blockTimeMs: NOW,
          validators: validators.map((s) => ({ publicKey: s.publicKey, weight: 1n })),
          assets: [ASSET],
          extensions,
          previous,
        });
        const price = result.prices[0]!;
        const honestPrices = honestEntries.map(({ entry }) => entry.priceTicks);
        assert.equal(price.flags & AggregateFlag.STALE, 0);
        assert.equal(price.flags & GUARDS, 0, `a guard flag raised: ${price.flags}`);
        assert.ok(price.priceTicks >= honestPrices.reduce((a, b) => (a < b ? a : b)));
        assert.ok(price.priceTicks <= honestPrices.reduce((a, b) => (a > b ? a : b)));
      },
    ),
    { numRuns: 150, seed: 9 },
  );
});

test('attack: stake weights where the liar holds exactly the trim weight (the largest under a third) neither flag nor move the price', () => {
  // W = 10, t = ⌊9/3⌋ = 3: one liar with weight 3 (30%), honest weights 3, 2, 2.
  const weights = [3n, 3n, 2n, 2n];
  const validators = pool.slice(0, 4);
  const honest = [CENTER - 1000n, CENTER, CENTER + 1000n];
  for (const lie of [1n, 10n ** 15n]) {
    for (const liarConfidence of [0n, 10n ** 15n]) {
      const extensions = [
        observation(validators[0]!, {
          assetId: ASSET,
          priceTicks: lie,
          confidenceTicks: liarConfidence,
          sourceCount: 3,
          sourceTimeMs: NOW - 300,
        }),
        ...honest.map((priceTicks, i) =>
          observation(validators[i + 1]!, {
            assetId: ASSET,
            priceTicks,
            confidenceTicks: 500n,
            sourceCount: 3,
            sourceTimeMs: NOW - 300,
          }),
        ),
      ];
      const result = aggregateBlock({
        chainId: CHAIN,
        height: HEIGHT,
        blockTimeMs: NOW,
        validators: validators.map((s, i) => ({ publicKey: s.publicKey, weight: weights[i]! })),
        assets: [ASSET],
        extensions,
        previous,
      });
      const price = result.prices[0]!;
      assert.equal(price.flags, 0, `flags ${price.flags} with a lie at ${lie}`);
      assert.ok(price.priceTicks >= honest[0]! && price.priceTicks <= honest[2]!);
      // The honest spread: max honest high − min honest price = (C + 1500) − (C − 1000).
      assert.ok(price.confidenceTicks <= 2500n, `confidence ${price.confidenceTicks}`);
    }
  }
});
