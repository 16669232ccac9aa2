/**
 * The margin circuit's formula (src/privacy/margin-proof.ts standardRequirement, which the circuit
 * mirrors constraint for constraint) against the engine's own standard margin
 * (src/execution/margin.ts standardShortMargin and perLot, summed as src/execution/assess.ts
 * does): equal to the base unit on random books.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type MarginParameters,
  perLot,
  type SeriesMarket,
  standardShortMargin,
} from '../src/execution/margin.ts';
import { type SeriesMark, standardRequirement } from '../src/privacy/margin-proof.ts';
import { divCeil, divFloor, ONE } from '../src/std/fixed.ts';

const params = (mmBps: number): MarginParameters => ({
  imBaseBps: 1500,
  imMinBps: 1000,
  mmBps,
  pmSpotMovesBps: [],
  pmInitialMultiplierBps: 12_500,
  pmContingencyBps: 200,
});

test('standard maintenance and equity: the circuit formula equals the engine to the base unit', () => {
  const seriesArb = fc.record({
    isCall: fc.boolean(),
    spot: fc.bigInt({ min: 1n, max: 2n ** 40n }),
    markPerUnit: fc.bigInt({ min: 0n, max: 2n ** 90n }),
    lotUnderlyingE12: fc.bigInt({ min: 1n, max: 2n ** 44n }),
    lots: fc.integer({ min: -100_000, max: 100_000 }).filter((n) => n !== 0),
  });
  fc.assert(
    fc.property(
      fc.array(seriesArb, { minLength: 1, maxLength: 16 }),
      fc.integer({ min: 0, max: 5000 }),
      fc.bigInt({ min: 0n, max: 2n ** 60n }),
      (book, mmBps, balance) => {
        const marks: SeriesMark[] = book.map((s, i) => ({ seriesId: i, ...s }));
        let equityFixed = 0n;
        let maintenanceFixed = 0n;
        for (const s of book) {
          const market: SeriesMarket = {
            isCall: s.isCall,
            strike: s.spot,
            expiryMs: 0,
            lotUnderlyingE12: s.lotUnderlyingE12,
            spot: s.spot,
            rate: 0n,
            volatility: 0n,
            nowMs: 0,
          };
          equityFixed += BigInt(s.lots) * perLot(market, s.markPerUnit);
          if (s.lots < 0) {
            maintenanceFixed +=
              BigInt(-s.lots) * standardShortMargin(params(mmBps), market, s.markPerUnit).maintenance;
          }
        }
        const engine = {
          equity: balance + divFloor(equityFixed, ONE),
          maintenance: divCeil(maintenanceFixed, ONE),
        };
        const positions = book.map((s, i) => ({ seriesId: i, lots: s.lots }));
        assert.deepEqual(standardRequirement(mmBps, marks, balance, positions), engine);
      },
    ),
    { numRuns: 300 },
  );
});
