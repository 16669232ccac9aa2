/**
 * The API's forms of the engine's events and amounts: every step of a liquidation becomes an
 * entry of `/v1/fills` (issue 9: "every step is an event, and the dashboard shows it"), and the
 * whole-unit decimals beside base units are exact.
 *
 * The liquidation runs on the real engine, in the backstop case of src/execution/liquidation.test.ts
 * (a deep in-the-money short call, an empty book and a funded insurance fund), which the API's
 * fixture node cannot reach (its genesis has no insurance fund); the book and deleveraging cases
 * run through the API in src/node/dashboard/server.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import { BACKSTOP_PUBLIC_KEY } from '../execution/backstop.ts';
import { createEngine } from '../execution/engine.ts';
import {
  createTransactionBuilder,
  limitOrder,
  testGenesis,
  testSigner,
  USDC,
} from '../execution/fixtures.ts';
import { MS_PER_DAY } from '../execution/margin.ts';
import type { EngineEvent } from '../execution/types.ts';
import { BACKSTOP_ACCOUNT, fillsOf, marketToJson, quoteDecimal, unitDecimal } from './view.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);

test('a backstop take is a fill entry: the account, the fund as counterparty, its side from the cash', () => {
  const alice = testSigner('view-alice');
  const bob = testSigner('view-bob');
  const genesis = testGenesis({
    startTimeMs: START,
    series: [
      {
        underlyingId: 1,
        isCall: true,
        strike: 50_000 * USDC,
        expiryMs: START + MS_PER_DAY,
        tickSize: USDC,
        lotSizeE6: 1_000_000,
        multiplierE6: 1_000_000,
      },
    ],
    insuranceFundUsdc: 100_000,
    underlying: { defaultVolBps: 1 },
  });
  genesis.accounts = [
    { publicKey: alice.publicKey, balance: 21_000n * U },
    { publicKey: bob.publicKey, balance: 1_000_000n * U },
  ];
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  const apply = (transactions: ReturnType<typeof txs.next>[], spotUsdc: number): EngineEvent[] =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions,
      oracle: [{ underlyingId: 1, price: spotUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false }],
    }).events;
  apply(
    [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 1)),
      txs.next(alice, limitOrder(1, 'sell', 10_000, 1, { timeInForce: 1 })),
    ],
    60_000,
  );
  // Spot 66,000: Alice's short is below maintenance and nobody offers the call; the fund sells it
  // to her at the mark plus the backstop band, 20,800 USDC.
  const events = apply([], 66_000);
  const fills = fillsOf(events, engine.height, engine.timeMs);
  assert.deepEqual(fills, [
    {
      kind: 'backstop',
      height: engine.height,
      timeMs: engine.timeMs,
      seriesId: 1,
      lots: 1,
      account: `0x${toHex(alice.publicKey)}`,
      counterparty: `0x${toHex(BACKSTOP_PUBLIC_KEY)}`,
      side: 'buy',
      priceTicks: 20_800,
      cash: (-20_800n * U).toString(),
      cashDecimal: '-20800',
    },
  ]);
  assert.equal(BACKSTOP_ACCOUNT, `0x${toHex(BACKSTOP_PUBLIC_KEY)}`);
});

test('liquidation steps mark their own trades only, and a step without trades in view has no side', () => {
  const account = 'aa'.repeat(32);
  const other = 'bb'.repeat(32);
  const trade = (taker: string, seriesId: number): EngineEvent => ({
    type: 'fill',
    seriesId,
    makerOrderId: 7,
    takerOrderId: 0,
    maker: other,
    taker,
    takerSide: 'sell',
    priceTicks: 100,
    lots: 2,
    makerFee: 1n,
    takerFee: 0n,
  });
  const step: EngineEvent = {
    type: 'liquidationStep',
    account,
    seriesId: 1,
    lots: 4,
    penalty: 5n,
    equityBefore: -3n,
    maintenanceBefore: 9n,
  };
  const fills = fillsOf(
    [trade(other, 1), trade(account, 2), trade(account, 1), trade(account, 1), step, step],
    5,
    6,
  );
  assert.deepEqual(
    fills.map((fill) => (fill.kind === 'trade' ? `trade:${fill.liquidation}` : `${fill.kind}:${fill.side}`)),
    ['trade:false', 'trade:false', 'trade:true', 'trade:true', 'liquidation:sell', 'liquidation:null'],
  );
  const first = fills[4];
  assert.ok(first?.kind === 'liquidation');
  assert.equal(first.equityBeforeDecimal, '-0.000003');
});

test('whole-unit decimals are exact: no float, no exponent, no trailing zeros', () => {
  assert.equal(quoteDecimal(10_030_250_000n), '10030.25');
  assert.equal(quoteDecimal(-1n), '-0.000001');
  assert.equal(quoteDecimal(0n), '0');
  assert.equal(quoteDecimal(50_000n * U), '50000');
  // Above 2^53 a float would lose the last digits.
  assert.equal(quoteDecimal(9_007_199_254_740_993n), '9007199254.740993');
  assert.equal(unitDecimal(123n, 0), '123');
  assert.equal(unitDecimal(5n, 18), '0.000000000000000005');
});

/**
 * A market's greeks are the engine's Black-Scholes at the mark, per contract, in the venue
 * convention: Hull's 20-week call (S = 49, K = 50, r = 5%, σ = 20%, T = 0.3846; delta 0.522,
 * gamma 0.066, vega 0.121 per point, theta −4.31 per year, rho 0.0891 per point), on a contract of
 * 2 units so the multiplier shows.
 */
test('a market carries the greeks its mark implies, per contract, venue convention by default', () => {
  const whole = 10n ** 6n;
  const fixed = (value: number) => BigInt(Math.round(value * 1e6)) * 10n ** 12n;
  const series = {
    seriesId: 1,
    underlyingId: 1,
    isCall: true,
    strike: 50n * whole,
    expiryMs: 0,
    tickSize: 1,
    lotSizeE6: 1_000_000,
    multiplierE6: 2_000_000,
    markVolBps: 2_000,
    status: 'active' as const,
    settlementPrice: 0n,
    openInterestLots: 0,
    markPrice: 0n,
    pricing: { spot: 49n * whole, rate: fixed(0.05), volatility: fixed(0.2), years: fixed(0.3846) },
  };
  const market = marketToJson(series, 'BTC');
  assert.ok(market.greeks !== null && market.greeksPerUnit !== null);
  const near = (actual: string, expected: number, tolerance: number, what: string) =>
    assert.ok(Math.abs(Number(actual) - expected) <= tolerance, `${what} ${actual}, expected ${expected}`);
  near(market.greeks.delta, 2 * 0.522, 0.001, 'delta');
  near(market.greeks.gamma, 2 * 0.066, 0.001, 'gamma');
  near(market.greeks.vegaPerVolPoint, 2 * 0.121, 0.001, 'vega per point');
  near(market.greeks.thetaPerDay, (2 * -4.31) / 365, 0.0001, 'theta per day');
  near(market.greeks.rhoPerRatePoint, 2 * 0.0891, 0.0002, 'rho per point');
  near(market.greeksPerUnit.vegaPerUnitVol, 2 * 12.1, 0.05, 'vega per 1.00');
  near(market.greeksPerUnit.thetaPerYear, 2 * -4.31, 0.01, 'theta per year');
  const { pricing: _pricing, ...unpriced } = series;
  assert.equal(marketToJson(unpriced, 'BTC').greeks, null);
});

test('the engine’s series views carry what the mark was priced from, so the API serves greeks', () => {
  const genesis = testGenesis({
    startTimeMs: START,
    series: [
      {
        underlyingId: 1,
        isCall: false,
        strike: 50_000 * USDC,
        expiryMs: START + 30 * MS_PER_DAY,
        tickSize: USDC,
        lotSizeE6: 1_000_000,
        multiplierE6: 1_000_000,
      },
    ],
  });
  const engine = createEngine(genesis);
  assert.equal(marketToJson(engine.series()[0]!, 'BTC').greeks, null, 'no greeks before an index');
  engine.applyBlock({
    height: 1,
    timeMs: START + 1_000,
    transactions: [],
    oracle: [{ underlyingId: 1, price: 50_000 * USDC, confidence: 0, publishTimeMs: 0, stale: false }],
  });
  const [market] = engine.series().map((series) => marketToJson(series, 'BTC'));
  assert.ok(market?.greeks, 'greeks once the index is live');
  const delta = Number(market.greeks.delta);
  assert.ok(delta < 0 && delta > -1, `an at-the-money put's delta ${delta} lies in (-1, 0)`);
  assert.ok(Number(market.greeks.thetaPerDay) < 0, 'a long option decays');
  assert.ok(Number(market.greeks.vegaPerVolPoint) > 0, 'and gains with volatility');
});
