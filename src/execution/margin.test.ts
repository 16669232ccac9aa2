/**
 * Margin against published vectors: Deribit's standard margin for short options (in BTC per
 * contract, multiplied here by spot to get USD), and Derive's PMRM worked example (short 1 call,
 * F = K = 2000, σ = 60%, 7 days: MtM −66.277937, worst scenario −356.016678, maintenance
 * −462.294615, initial −561.298784 as account values, i.e. requirements beyond the MtM of
 * 396.016678 and 495.020847).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abs, divCeil, type Fixed, fromBps, max, min, ONE, parseFixed } from '../std/fixed.ts';
import { BTC } from './fixtures.ts';
import {
  contingencyPerShortLot,
  MS_PER_DAY,
  portfolioRequirement,
  type SeriesMarket,
  scenarioPnlPerLot,
  standardShortMargin,
  unitValue,
} from './margin.ts';

const USD = 1_000_000n; // base units of the quote asset

function market(
  isCall: boolean,
  spotUsd: number,
  strikeUsd: number,
  extra: Partial<SeriesMarket> = {},
): SeriesMarket {
  return {
    isCall,
    strike: BigInt(strikeUsd) * USD,
    expiryMs: 30 * MS_PER_DAY,
    lotUnderlyingE12: 1_000_000_000_000n,
    spot: BigInt(spotUsd) * USD,
    rate: 0n,
    volatility: fromBps(6000),
    nowMs: 0,
    ...extra,
  };
}

/** Quote base units (rounded up) from a fixed-point requirement. */
const units = (x: Fixed) => divCeil(x, ONE);

test('Deribit standard margin for short calls and puts at S = 60,000', () => {
  const vectors: Array<[boolean, number, string, string, string]> = [
    // call/put, strike, mark (BTC), IM (BTC), MM (BTC)
    [true, 70_000, '0.01', '0.11', '0.085'],
    [true, 60_000, '0.05', '0.20', '0.125'],
    [true, 63_000, '0.03', '0.13', '0.105'],
    [false, 50_000, '0.005', '0.105', '0.08'],
    [false, 57_000, '0.02', '0.12', '0.095'],
  ];
  for (const [isCall, strike, markBtc, imBtc, mmBtc] of vectors) {
    const m = market(isCall, 60_000, strike);
    const markPerUnit = parseFixed(markBtc) * 60_000n * USD; // BTC fraction × spot, in base units
    const margin = standardShortMargin(BTC, m, markPerUnit);
    assert.equal(
      units(margin.initial),
      (parseFixed(imBtc) * 60_000n * USD) / ONE,
      `IM ${isCall ? 'call' : 'put'} ${strike}`,
    );
    assert.equal(
      units(margin.maintenance),
      (parseFixed(mmBtc) * 60_000n * USD) / ONE,
      `MM ${isCall ? 'call' : 'put'} ${strike}`,
    );
  }
});

test('Derive PMRM example: short 1 call F = K = 2000, σ = 60%, 7 days', () => {
  const m = market(true, 2000, 2000, { expiryMs: 7 * MS_PER_DAY });
  const mark = unitValue(m, m.spot, m.volatility);
  const tolerance = 100n; // 0.0001 USD in base units
  assert.ok(abs(units(mark) - 66_277_937n) <= tolerance, `MtM ${mark}`);
  const scenarios = scenarioPnlPerLot(BTC, m, mark);
  const worst = scenarios.reduce(min);
  // Short: the worst loss is the long lot's best gain, spot +20% with volatility up.
  const best = scenarios.reduce(max);
  assert.ok(abs(units(best) - 356_016_678n) <= tolerance, `worst scenario ${best}`);
  assert.ok(worst < 0n);
  const requirement = portfolioRequirement(BTC, [
    { lots: -1, scenarioPnl: scenarios, contingencyPerShortLot: contingencyPerShortLot(BTC, m) },
  ]);
  // Maintenance 356.016678 + contingency 2% × 2000 = 396.016678; initial 1.25× = 495.020848.
  assert.ok(abs(requirement.maintenance - 396_016_678n) <= tolerance, `MM ${requirement.maintenance}`);
  assert.ok(abs(requirement.initial - 495_020_848n) <= tolerance, `IM ${requirement.initial}`);
});

test('portfolio margin nets offsetting positions: a call spread needs less than its short leg alone', () => {
  const short = market(true, 60_000, 60_000);
  const long = market(true, 60_000, 65_000);
  const markShort = unitValue(short, short.spot, short.volatility);
  const markLong = unitValue(long, long.spot, long.volatility);
  const shortLeg = {
    lots: -1,
    scenarioPnl: scenarioPnlPerLot(BTC, short, markShort),
    contingencyPerShortLot: contingencyPerShortLot(BTC, short),
  };
  const longLeg = {
    lots: 1,
    scenarioPnl: scenarioPnlPerLot(BTC, long, markLong),
    contingencyPerShortLot: 0n,
  };
  const naked = portfolioRequirement(BTC, [shortLeg]);
  const spread = portfolioRequirement(BTC, [shortLeg, longLeg]);
  assert.ok(spread.maintenance < naked.maintenance);
  // A 60/65 call spread can never lose more than the 5,000 width plus the contingency.
  assert.ok(spread.maintenance <= 5_000n * USD + 1_200n * USD);
});
