/**
 * Attacks on liquidation and loss allocation (issue 9, "Margin and liquidation"):
 * - an account short a call and long the call that hedges it, the long in the lower series id:
 *   liquidation must buy back the short first and keep the long while the short remains;
 * - a short whose mark is a few base units must not pay a penalty counted on the underlying's
 *   notional: the penalty is capped by the value closed;
 * - an empty book must not freeze a liquidation forever: the insurance fund's backstop account
 *   takes the position at a bounded price, and when the fund cannot, the position is
 *   auto-deleveraged against the opposite position at the bankruptcy price;
 * - an account that holds no position (an idle depositor) never pays for someone else's loss.
 *
 * The series are deep in or far out of the money with a 0.01% mark volatility, so marks are the
 * intrinsic values and every figure below can be worked out by hand (1 BTC contracts, 1-contract
 * lots, a 1 USDC tick, Deribit's standard margin: MM = 7.5% of spot + mark for a short call).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { BACKSTOP_PUBLIC_KEY } from './backstop.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import { createTransactionBuilder, limitOrder, testGenesis, testSigner, USDC } from './fixtures.ts';
import {
  cappedPenalty,
  closureOrder,
  deficitShare,
  deleverageOrder,
  type RequirementInput,
  stepReductions,
} from './liquidation.ts';
import { MS_PER_DAY } from './margin.ts';
import type { EngineEvent, OracleUpdate, SeriesConfig } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const alice = testSigner('liquidation-alice');
const bob = testSigner('liquidation-bob');
const carol = testSigner('liquidation-carol');
const dave = testSigner('liquidation-dave');

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

function setup(options: {
  series: SeriesConfig[];
  balances: Array<[Ed25519Signer, number]>;
  insuranceFundUsdc?: number;
}): { engine: Engine; next: (txs: ReturnType<typeof tx>[], spotUsdc: number) => EngineEvent[] } {
  const genesis = testGenesis({
    startTimeMs: START,
    series: options.series,
    insuranceFundUsdc: options.insuranceFundUsdc ?? 0,
    underlying: { defaultVolBps: 1 },
  });
  genesis.accounts = options.balances.map(([signer, usdc]) => ({
    publicKey: signer.publicKey,
    balance: BigInt(usdc) * U,
  }));
  const engine = createEngine(genesis);
  builder = createTransactionBuilder();
  const next = (transactions: ReturnType<typeof tx>[], spotUsdc: number) =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions,
      oracle: [oracle(spotUsdc)],
    }).events;
  return { engine, next };
}

let builder = createTransactionBuilder();
function tx(signer: Ed25519Signer, ...args: Parameters<typeof limitOrder>) {
  return builder.next(signer, limitOrder(...args));
}

function oracle(spotUsdc: number): OracleUpdate {
  return { underlyingId: 1, price: spotUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false };
}

const key = (signer: Ed25519Signer) => toHex(signer.publicKey);
const balance = (engine: Engine, signer: Ed25519Signer) => engine.account(signer.publicKey)?.balance;

test('liquidation buys back the short before it sells the long that hedges it', () => {
  // Series 1 is the long 50,000 call, series 2 the short 55,000 call: a bull spread, the long in
  // the lower id, which a walk in series order would sell first.
  const { engine, next } = setup({
    series: [contract(true, 50_000), contract(true, 55_000)],
    balances: [
      [alice, 20_000],
      [bob, 1_000_000],
      [carol, 1_000_000],
    ],
  });
  next([tx(bob, 1, 'sell', 10_000, 1), tx(alice, 1, 'buy', 10_000, 1, { timeInForce: 1 })], 60_000);
  next([tx(bob, 2, 'buy', 5_000, 1), tx(alice, 2, 'sell', 5_000, 1, { timeInForce: 1 })], 60_000);
  assert.deepEqual(engine.account(alice.publicKey)?.positions, [
    { seriesId: 1, lots: 1 },
    { seriesId: 2, lots: -1 },
  ]);
  // Spot 72,000: marks 22,000 and 17,000; Alice's equity stays near 20,000 (the spread is worth
  // 5,000 above 55,000) while MM = 0.075·72,000 + 17,000 = 22,400. Carol makes both markets.
  const events = next([tx(carol, 1, 'buy', 22_000, 1), tx(carol, 2, 'sell', 17_000, 1)], 72_000);
  const steps = events.filter((e) => e.type === 'liquidationStep');
  assert.ok(steps.length > 0, 'Alice is liquidated');
  assert.equal(steps[0]?.type === 'liquidationStep' && steps[0].seriesId, 2, 'the short is closed first');
  // With the short gone nothing is required: the long, which carries no requirement, is kept.
  assert.deepEqual(engine.account(alice.publicKey)?.positions, [{ seriesId: 1, lots: 1 }]);
  assert.ok(!steps.some((e) => e.type === 'liquidationStep' && e.seriesId === 1), 'the long was sold');
});

test('the liquidation penalty is capped by the value closed, not charged on the spot notional', () => {
  // A far out-of-the-money short put (strike 40,000) is worth next to nothing; at spot 90,000 its
  // MM is 0.075·90,000 = 6,750 > Alice's 6,100, so it is bought back, at 1 USDC.
  const { engine, next } = setup({
    series: [contract(false, 40_000)],
    balances: [
      [alice, 6_100],
      [bob, 1_000_000],
      [carol, 1_000_000],
    ],
  });
  next([tx(bob, 1, 'buy', 1, 1), tx(alice, 1, 'sell', 1, 1, { timeInForce: 1 })], 60_000);
  assert.deepEqual(engine.account(alice.publicKey)?.positions, [{ seriesId: 1, lots: -1 }]);
  const events = next([tx(carol, 1, 'sell', 1, 1)], 90_000);
  const step = events.find((e) => e.type === 'liquidationStep');
  assert.ok(step?.type === 'liquidationStep', 'Alice is liquidated');
  const fill = events.find((e) => e.type === 'fill' && e.taker === key(alice));
  assert.ok(fill?.type === 'fill');
  const valueClosed = BigInt(fill.lots) * BigInt(fill.priceTicks) * U;
  // The old rule charged 0.5% × 90,000 = 450 USDC for closing a 1 USDC position.
  assert.ok(step.penalty <= valueClosed, `penalty ${step.penalty} exceeds the value closed ${valueClosed}`);
});

test('an empty book does not stall a liquidation: the backstop account takes it at the mark plus the band', () => {
  const { engine, next } = setup({
    series: [contract(true, 50_000)],
    balances: [
      [alice, 21_000],
      [bob, 1_000_000],
    ],
    insuranceFundUsdc: 100_000,
  });
  next([tx(bob, 1, 'buy', 10_000, 1), tx(alice, 1, 'sell', 10_000, 1, { timeInForce: 1 })], 60_000);
  // Spot 66,000: mark 16,000; Alice's equity 14,982 < MM 20,950, and nobody offers the call.
  const events = next([], 66_000);
  assert.ok(!events.some((e) => e.type === 'liquidationStalled'), 'the liquidation stalled');
  const taken = events.find((e) => e.type === 'backstopTaken');
  // The fund sells her the call at 16,000 + 30% = 20,800: a bounded price, below her equity's end.
  assert.deepEqual(taken, {
    type: 'backstopTaken',
    account: key(alice),
    seriesId: 1,
    lots: 1,
    priceTicks: 20_800,
    cash: -20_800n * U,
  });
  assert.deepEqual(engine.account(alice.publicKey)?.positions, []);
  assert.equal(balance(engine, alice), 30_982n * U - 20_800n * U);
  assert.deepEqual(engine.account(BACKSTOP_PUBLIC_KEY)?.positions, [{ seriesId: 1, lots: -1 }]);
});

test('with no fund and no book the short is deleveraged against the long at the bankruptcy price; idle balances are untouched', () => {
  const { engine, next } = setup({
    series: [contract(true, 50_000)],
    balances: [
      [alice, 21_000],
      [bob, 1_000_000],
      [dave, 1_000_000],
    ],
  });
  next([tx(bob, 1, 'buy', 10_000, 1), tx(alice, 1, 'sell', 10_000, 1, { timeInForce: 1 })], 60_000);
  const bobBefore = balance(engine, bob)!;
  // Spot 90,000: mark 40,000; Alice's equity 30,982 − 40,000 = −9,018 and the fund is empty.
  const events = next([], 90_000);
  const adl = events.find((e) => e.type === 'autoDeleverage');
  // Bob's long is closed for all Alice has, 30,982: he bears her 9,018 deficit, nobody else does.
  assert.deepEqual(adl, {
    type: 'autoDeleverage',
    account: key(alice),
    counterparty: key(bob),
    seriesId: 1,
    side: 'buy',
    lots: 1,
    price: 30_982n * U,
    cash: -30_982n * U,
    lossShare: 9_018n * U,
  });
  assert.deepEqual(engine.account(alice.publicKey)?.positions, []);
  assert.deepEqual(engine.account(bob.publicKey)?.positions, []);
  assert.equal(balance(engine, alice), 0n);
  assert.equal(balance(engine, bob), bobBefore + 30_982n * U);
  assert.equal(balance(engine, dave), 1_000_000n * U, 'an idle depositor paid');
  assert.equal(engine.ledger().unrecoveredLoss, 0n);
});

test('a bankrupt account is covered by the fund, then by its counterparty, never by an idle depositor', () => {
  const { engine, next } = setup({
    series: [contract(true, 50_000)],
    balances: [
      [alice, 21_000],
      [bob, 1_000_000],
      [carol, 1_000_000],
      [dave, 1_000_000],
    ],
    insuranceFundUsdc: 1_000,
  });
  next([tx(bob, 1, 'buy', 10_000, 1), tx(alice, 1, 'sell', 10_000, 1, { timeInForce: 1 })], 60_000);
  // Spot 90,000 with Carol offering at the mark: the old engine bought Alice's short back from
  // Carol at 40,000, leaving −9,018, took 1,000 from the fund and charged the remaining 8,018 to
  // every positive balance, Dave's included.
  const events = next([tx(carol, 1, 'sell', 40_000, 1)], 90_000);
  assert.equal(balance(engine, dave), 1_000_000n * U, 'an idle depositor paid for a stranger');
  assert.ok(events.some((e) => e.type === 'insuranceCover' && e.amount === 1_000n * U));
  const adl = events.find((e) => e.type === 'autoDeleverage');
  assert.ok(adl?.type === 'autoDeleverage' && adl.counterparty === key(bob) && adl.lossShare === 8_018n * U);
  assert.equal(balance(engine, alice), 0n);
  const ledger = engine.ledger();
  assert.equal(ledger.insuranceFund, 0n);
  assert.equal(ledger.unrecoveredLoss, 0n);
  assert.equal(
    ledger.totalDeposits - ledger.totalWithdrawals,
    ledger.totalBalances + ledger.feePool + ledger.insuranceFund - ledger.unrecoveredLoss,
  );
});

test('portfolio margin: closing the long that hedges a short raises the requirement, so it ranks after the short', () => {
  // Two scenarios (spot down, spot up) per lot, in fixed point: the long call gains when spot is up,
  // the short call loses then. Short 1 lot of series 2 hedged by long 1 lot of series 1 (lower id).
  const up = 1000n;
  const positions: RequirementInput[] = [
    {
      seriesId: 1,
      underlyingId: 1,
      lots: 1,
      stepLots: 1,
      standardMaintenance: 0n,
      scenarioPnl: [-100n, up],
      contingency: 0n,
    },
    {
      seriesId: 2,
      underlyingId: 1,
      lots: -1,
      stepLots: 1,
      standardMaintenance: 0n,
      scenarioPnl: [-80n, 900n],
      contingency: 5n,
    },
  ];
  // Worst now: min(−100 + 80, 1000 − 900) = −20 → requirement 20 + contingency 5.
  // Close the long: the short alone loses 900 when up → requirement 900 + 5: reduction −880.
  // Close the short: the long alone loses 100 when down → requirement 100: reduction −75.
  const reductions = stepReductions(true, positions);
  assert.deepEqual(reductions, [-880n, -75n]);
  const order = closureOrder(
    positions.map((p, i) => ({
      seriesId: p.seriesId,
      lots: p.lots,
      stepLots: 1,
      reduction: reductions[i]!,
      value: 10n,
    })),
  );
  assert.deepEqual(
    order.map((c) => c.seriesId),
    [2, 1],
  );
  // Standard margin: the long removes nothing, the short its maintenance; the short comes first.
  const standard = stepReductions(false, [
    { ...positions[0]!, standardMaintenance: 7n },
    { ...positions[1]!, standardMaintenance: 7n },
  ]);
  assert.deepEqual(standard, [0n, 7n]);
});

test('ADL ranks counterparties by profit for equity and never passes more of a deficit than one can bear', () => {
  const ranked = deleverageOrder([
    { index: 3, lots: 1, profit: 30n, equity: 60n }, // 0.5
    { index: 1, lots: 1, profit: 500n, equity: undefined }, // cannot be assessed: last
    { index: 2, lots: 1, profit: 35n, equity: 70n }, // 0.5: the tie goes to the lower index
    { index: 4, lots: 1, profit: 900n, equity: 9_000n }, // 0.1: the largest profit, yet less for its equity
    { index: 5, lots: 1, profit: -10n, equity: 100n }, // a loss ranks below every profit
    { index: 6, lots: 1, profit: 10n, equity: 0n }, // nothing to bear with: last
  ]);
  assert.deepEqual(
    ranked.map((c) => c.index),
    [2, 3, 4, 5, 1, 6],
  );
  assert.equal(deficitShare(100n, 1, 4, 1000n), 25n); // pro rata
  assert.equal(deficitShare(100n, 1, 3, 1000n), 34n); // rounded up
  assert.equal(deficitShare(100n, 4, 4, 1000n), 100n); // the last lots take the rest
  assert.equal(deficitShare(100n, 4, 4, 30n), 30n); // never more than the counterparty's equity
  assert.equal(deficitShare(100n, 4, 4, -5n), 0n);
  assert.equal(cappedPenalty(450n, 1n, 1000n), 1n);
  assert.equal(cappedPenalty(450n, 1000n, 200n), 200n);
  assert.equal(cappedPenalty(450n, 1000n, -1n), 0n);
});

test('the backstop account restores from a snapshot, settles at expiry, and its gain returns to the fund', () => {
  const genesis = testGenesis({
    startTimeMs: START,
    series: [contract(true, 50_000)],
    insuranceFundUsdc: 100_000,
    underlying: { defaultVolBps: 1 },
  });
  genesis.accounts = [alice, bob].map((signer, i) => ({
    publicKey: signer.publicKey,
    balance: BigInt(i === 0 ? 21_000 : 1_000_000) * U,
  }));
  const engine = createEngine(genesis);
  builder = createTransactionBuilder();
  const at = (timeMs: number, spotUsdc: number, transactions: ReturnType<typeof tx>[] = []) =>
    engine.applyBlock({ height: engine.height + 1, timeMs, transactions, oracle: [oracle(spotUsdc)] });
  at(START + 1000, 60_000, [
    tx(bob, 1, 'buy', 10_000, 1),
    tx(alice, 1, 'sell', 10_000, 1, { timeInForce: 1 }),
  ]);
  assert.ok(at(START + 2000, 66_000).events.some((e) => e.type === 'backstopTaken'));
  // The fund's account is short the call it sold Alice at 20,800.
  const restored = restoreEngine(engine.snapshot(), genesis);
  assert.ok(bytesEqual(restored.stateRoot(), engine.stateRoot()));
  const expiryMs = START + MS_PER_DAY;
  let returned: EngineEvent | undefined;
  for (let t = expiryMs - 10 * 60_000; t <= expiryMs; t += 60_000) {
    const result = at(t, 60_000);
    const twin = restored.applyBlock({
      height: result.height,
      timeMs: t,
      transactions: [],
      oracle: [oracle(60_000)],
    });
    assert.ok(bytesEqual(twin.stateRoot, result.stateRoot), `the restored engine diverged at ${t}`);
    returned ??= result.events.find((e) => e.type === 'backstopReturned');
  }
  // Settled at 60,000: the short pays 10,000; 20,800 − 10,000 = 10,800 returns to the fund.
  assert.deepEqual(returned, { type: 'backstopReturned', amount: 10_800n * U });
  const ledger = engine.ledger();
  assert.equal(ledger.insuranceFund, 110_800n * U);
  assert.equal(engine.account(BACKSTOP_PUBLIC_KEY)?.balance, 0n);
  assert.equal(
    ledger.totalDeposits - ledger.totalWithdrawals,
    ledger.totalBalances + ledger.feePool + ledger.insuranceFund - ledger.unrecoveredLoss,
  );
});
