/**
 * Red team, second pass (issue 9): a thief with a partner account tries to extract value through
 * liquidation, the insurance fund's backstop account and auto-deleveraging. Each test is an
 * attack that the engine refuses; the title names what refuses it. Every test also checks the
 * engine's conservation identity and that an idle depositor's balance never moves.
 *
 * Setup as in liquidation.test.ts: 1 BTC contracts, 1-contract lots, a 1 USDC tick and a 0.01%
 * volatility, so marks are intrinsic values and the figures can be worked out by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { createEngine, type Engine } from './engine.ts';
import { createTransactionBuilder, limitOrder, testGenesis, testSigner, USDC } from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { EngineEvent, OracleUpdate, SeriesConfig } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const thief = testSigner('redteam-value-thief');
const partner = testSigner('redteam-value-partner');
const honest = testSigner('redteam-value-honest');
const idle = testSigner('redteam-value-idle');

function contract(isCall: boolean, strikeUsdc: number): SeriesConfig {
  return {
    underlyingId: 1,
    isCall,
    strike: strikeUsdc * USDC,
    expiryMs: START + MS_PER_DAY,
    tickSize: USDC,
    lotSizeE6: 1_000_000,
    multiplierE6: 1_000_000,
  };
}

let builder = createTransactionBuilder();
function tx(signer: Ed25519Signer, ...args: Parameters<typeof limitOrder>) {
  return builder.next(signer, limitOrder(...args));
}

function oracle(spotUsdc: number): OracleUpdate {
  return { underlyingId: 1, price: spotUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false };
}

function setup(
  balances: Array<[Ed25519Signer, number]>,
  insuranceFundUsdc: number,
  series: SeriesConfig[] = [contract(true, 50_000)],
) {
  const genesis = testGenesis({
    startTimeMs: START,
    series,
    insuranceFundUsdc,
    underlying: { defaultVolBps: 1 },
  });
  genesis.accounts = [...balances, [idle, 500_000] as [Ed25519Signer, number]].map(([signer, usdc]) => ({
    publicKey: signer.publicKey,
    balance: BigInt(usdc) * U,
  }));
  const engine = createEngine(genesis);
  builder = createTransactionBuilder();
  const next = (transactions: ReturnType<typeof tx>[], spotUsdc: number): EngineEvent[] =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions,
      oracle: [oracle(spotUsdc)],
    }).events;
  return { engine, next };
}

const key = (signer: Ed25519Signer) => toHex(signer.publicKey);
const balance = (engine: Engine, signer: Ed25519Signer) => engine.account(signer.publicKey)?.balance ?? 0n;

function assertConserved(engine: Engine): void {
  const l = engine.ledger();
  assert.equal(
    l.totalDeposits - l.totalWithdrawals,
    l.totalBalances + l.feePool + l.insuranceFund - l.unrecoveredLoss,
    'conservation',
  );
  assert.equal(balance(engine, idle), 500_000n * U, 'the idle depositor lost balance');
}

test('attack: a partner offers a bankrupt short back at the top of the liquidation band: refused (the backstop takes it at the bankruptcy-capped mark, the fund pays only the deficit)', () => {
  const { engine, next } = setup(
    [
      [thief, 21_000],
      [partner, 1_000_000],
      [honest, 1_000_000],
    ],
    100_000,
  );
  // The thief sells the call to the honest buyer at 10,000.
  next([tx(honest, 1, 'buy', 10_000, 1), tx(thief, 1, 'sell', 10_000, 1, { timeInForce: 1 })], 60_000);
  const fundBefore = engine.ledger().insuranceFund;
  const partnerBefore = balance(engine, partner);
  const honestBefore = balance(engine, honest);
  // Spot 90,000: mark 40,000; the thief's equity is 30,982 − 40,000 < 0. The partner offers the
  // call at the top of the liquidation band (mark + 30%), hoping the fund pays for the premium.
  const events = next([tx(partner, 1, 'sell', 52_000, 1)], 90_000);
  const fills = events.filter((e) => e.type === 'fill');
  const partnerGain = balance(engine, partner) - partnerBefore;
  const fundLoss = fundBefore - engine.ledger().insuranceFund;
  assert.equal(fills.length, 0, "the partner's offer above the bankruptcy price filled");
  assert.equal(partnerGain, 0n);
  // The deficit at the mark: 40,000 − 30,982 = 9,018; not a cent of the partner's 12,000 premium.
  assert.equal(fundLoss, 9_018n * U);
  const taken = events.find((e) => e.type === 'backstopTaken');
  assert.ok(taken?.type === 'backstopTaken' && taken.priceTicks === 40_000 && taken.account === key(thief));
  assert.equal(balance(engine, honest), honestBefore, 'the honest long was charged');
  assertConserved(engine);
});

test("attack: self-liquidation into a partner's offer while still solvent moves value only between the pair: the fund and honest accounts are untouched", () => {
  const { engine, next } = setup(
    [
      [thief, 21_000],
      [partner, 1_000_000],
      [honest, 1_000_000],
    ],
    100_000,
  );
  next([tx(honest, 1, 'buy', 10_000, 1), tx(thief, 1, 'sell', 10_000, 1, { timeInForce: 1 })], 60_000);
  const fundBefore = engine.ledger().insuranceFund;
  const honestBefore = balance(engine, honest);
  const pairBefore = balance(engine, thief) + balance(engine, partner);
  // Spot 66,000: mark 16,000, the thief is below maintenance but solvent. The partner offers at
  // the top of the band, 20,800, so the liquidation pays the partner the thief's remaining equity.
  next([tx(partner, 1, 'sell', 20_800, 1)], 66_000);
  assert.deepEqual(engine.account(thief.publicKey)?.positions, []);
  assert.ok(engine.ledger().insuranceFund >= fundBefore, 'the fund paid for a solvent liquidation');
  assert.equal(engine.ledger().unrecoveredLoss, 0n);
  assert.ok(balance(engine, thief) >= 0n);
  assert.equal(balance(engine, honest), honestBefore);
  // The pair only loses (fees and penalty) or breaks even: nothing comes from outside it.
  assert.ok(balance(engine, thief) + balance(engine, partner) <= pairBefore, 'the pair gained');
  assertConserved(engine);
});

test('attack: a guard flag raised every other block to keep an insolvent short alive: refused (the pause ends at oracleGuardPauseMs and the price is then taken)', () => {
  const { engine } = setup(
    [
      [thief, 21_000],
      [honest, 1_000_000],
    ],
    100_000,
  );
  const block = (transactions: ReturnType<typeof tx>[], spotUsdc: number, flags: number) =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions,
      oracle: [{ ...oracle(spotUsdc), flags }],
    }).events;
  block([tx(honest, 1, 'buy', 10_000, 1), tx(thief, 1, 'sell', 10_000, 1, { timeInForce: 1 })], 60_000, 0);
  // Spot is really 90,000 (the thief's equity is negative); every other price is flagged
  // MAX_MOVE | EMA_BAND, as a colluding leader carrying a lagging average could arrange.
  let liquidatedAtBlock = 0;
  for (let i = 1; i <= 60 && liquidatedAtBlock === 0; i++) {
    const events = block([], 90_000, i % 2 === 1 ? 2 | 4 : 0);
    if (events.some((e) => ['liquidationStep', 'backstopTaken', 'autoDeleverage'].includes(e.type))) {
      liquidatedAtBlock = i;
    }
  }
  // 30 s of pause at 1 s blocks: the price is taken at the first block at or after the pause's end.
  assert.ok(liquidatedAtBlock > 0 && liquidatedAtBlock <= 32, `liquidated at block ${liquidatedAtBlock}`);
  assert.deepEqual(engine.account(thief.publicKey)?.positions, []);
  assertConserved(engine);
});

test('attack: a flagged spike held into the last seconds before expiry to move the settlement: refused (flagged prices are no samples; one taken at the pause end weighs its seconds in a 30-minute TWAP)', () => {
  const expiryMs = START + MS_PER_DAY;
  const { engine } = setup(
    [
      [thief, 21_000],
      [honest, 1_000_000],
    ],
    100_000,
  );
  const at = (timeMs: number, spotUsdc: number, flags: number, transactions: ReturnType<typeof tx>[] = []) =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs,
      transactions,
      oracle: [{ ...oracle(spotUsdc), flags }],
    }).events;
  // The thief is long the 50,000 call bought at 10,000 from the honest seller.
  at(START + 1000, 60_000, 0, [
    tx(honest, 1, 'sell', 10_000, 1),
    tx(thief, 1, 'buy', 10_000, 1, { timeInForce: 1 }),
  ]);
  let settlementPrice = -1n;
  for (let t = expiryMs - 40 * 60_000; t <= expiryMs + 5 * 60_000 && settlementPrice < 0n; t += 1000) {
    // The last 40 s before expiry carry a flagged 90,000 spike; afterwards the feed is 60,000 again.
    const spike = t > expiryMs - 40_000 && t <= expiryMs;
    const events = at(t, spike ? 90_000 : 60_000, spike ? 2 | 4 : 0);
    for (const e of events) if (e.type === 'settlement') settlementPrice = e.settlementPrice;
  }
  // At most the 10 s after the 30 s pause count at 90,000: 60,000 + 30,000 × 10 / 1,800 < 60,200.
  assert.ok(settlementPrice >= 60_000n * U && settlementPrice < 60_200n * U, `settled at ${settlementPrice}`);
  assertConserved(engine);
});

test('attack: sell a deep out-of-the-money call for the 10-tick band premium with almost no collateral, then let the mark move: refused (INSUFFICIENT_MARGIN, the what-if margin counts 10% of spot)', () => {
  // Series 1: a 200,000 call at spot 60,000, marked at 0; the band still allows 10 ticks (10 USDC).
  const { engine, next } = setup(
    [
      [thief, 100],
      [honest, 1_000_000],
    ],
    100_000,
    [contract(true, 200_000)],
  );
  const fundBefore = engine.ledger().insuranceFund;
  const result = engine.applyBlock({
    height: engine.height + 1,
    timeMs: engine.timeMs + 1000,
    transactions: [tx(honest, 1, 'buy', 10, 1), tx(thief, 1, 'sell', 10, 1, { timeInForce: 1 })],
    oracle: [oracle(60_000)],
  });
  assert.equal(result.results[1]?.status, 'INSUFFICIENT_MARGIN');
  assert.deepEqual(engine.account(thief.publicKey)?.positions ?? [], [], 'the naked short opened');
  assert.ok(!result.events.some((e) => e.type === 'fill'), 'the deep OTM short filled');
  // The spot then triples: nothing to liquidate, the fund is whole.
  next([], 180_000);
  next([], 240_000);
  assert.equal(engine.ledger().insuranceFund, fundBefore);
  assert.equal(balance(engine, thief), 100n * U);
  assertConserved(engine);
});
