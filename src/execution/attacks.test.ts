/**
 * Attacks on pre-trade risk, written as a thief would try them (issue 9). Each test names the
 * attack and what must refuse it: the what-if margin rule and price bands (src/execution/risk.ts),
 * caps that are refusals, accounts that cost a deposit, portfolio margin per underlying, and the
 * bound on how fast governance may move a series' volatility.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionAction } from '../codec/execution.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import {
  actionTransaction,
  BTC,
  btcSeries,
  createSeededRandom,
  GOVERNANCE,
  governed,
  limitOrder,
  OPERATOR,
  testGenesis,
  testSigner,
  USDC,
} from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { BlockResult, EngineEvent, EngineGenesis, OracleUpdate, UnderlyingConfig } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const TICK = 5 * USDC;

/** Drives one engine: nonces come from the engine's state plus what this block already used. */
function driver(engine: Engine, spotUsdc: Record<number, number> = { 1: 60_000 }) {
  const used = new Map<Ed25519Signer, number>();
  const prices = { ...spotUsdc };
  let pending: ReturnType<typeof actionTransaction>[] = [];
  return {
    prices,
    tx(signer: Ed25519Signer, action: ExecutionAction) {
      const nonce = (engine.account(signer.publicKey)?.nonce ?? 0) + (used.get(signer) ?? 0);
      used.set(signer, (used.get(signer) ?? 0) + 1);
      pending.push(actionTransaction(signer, nonce, action));
      return this;
    },
    block(advanceMs = 1000): BlockResult {
      const timeMs = engine.timeMs + advanceMs;
      const oracle: OracleUpdate[] = Object.entries(prices).map(([id, usdc]) => ({
        underlyingId: Number(id),
        price: Math.round(usdc * USDC),
        confidence: 0,
        publishTimeMs: timeMs,
        stale: false,
      }));
      const result = engine.applyBlock({ height: engine.height + 1, timeMs, transactions: pending, oracle });
      pending = [];
      used.clear();
      return result;
    },
  };
}

/** The series' mark per contract in USDC, rounded to the 5 USDC tick. */
function markUsdc(engine: Engine, seriesId: number): number {
  const mark = engine.series().find((s) => s.seriesId === seriesId)?.markPrice;
  assert.ok(mark !== undefined, `series ${seriesId} has a mark`);
  return Math.max(5, Math.round(Number(mark) / TICK) * 5);
}

const liquidated = (events: EngineEvent[], signer: Ed25519Signer) =>
  events.some((e) => e.type === 'liquidationStep' && e.account === toHex(signer.publicKey));

test('Mango-style theft: a short buys its lot back from its partner at an absurd price and the fund pays', () => {
  const thief = testSigner('attack-thief');
  const partner = testSigner('attack-partner');
  const honest = [testSigner('attack-honest-1'), testSigner('attack-honest-2')];
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [thief, partner, ...honest],
    insuranceFundUsdc: 100_000,
    series: [btcSeries(true, 60_000, START + 7 * MS_PER_DAY)],
  });
  genesis.accounts[0]!.balance = 10_000n * U;
  genesis.accounts[1]!.balance = 10_000n * U;
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  const mark = markUsdc(engine, 1);
  // The partner buys one lot (0.1 contract) from the thief at the mark: the thief is short one lot.
  d.tx(partner, limitOrder(1, 'buy', mark, 0.1))
    .tx(thief, limitOrder(1, 'sell', mark, 0.1))
    .block();
  assert.deepEqual(engine.account(thief.publicKey)!.positions, [{ seriesId: 1, lots: -1 }]);

  // The partner offers its long back at 10,000,000 USDC a contract (1,000,000 a lot); the thief
  // "reduces" by lifting it; the partner withdraws its winnings in the same block.
  const absurd = 10_000_000;
  const r = d
    .tx(partner, limitOrder(1, 'sell', absurd, 0.1))
    .tx(thief, limitOrder(1, 'buy', absurd, 0.1, { reduceOnly: true }))
    .tx(partner, {
      kind: 'withdraw',
      value: { amount: 990_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
    })
    .block();
  for (const status of [r.results[0]!.status, r.results[1]!.status])
    assert.ok(
      ['PRICE_OUT_OF_BAND', 'INSUFFICIENT_MARGIN'].includes(status),
      `the theft was accepted: ${status}`,
    );
  for (const h of honest)
    assert.equal(engine.account(h.publicKey)!.balance, 1_000_000n * U, 'honest balance charged');
  assert.equal(engine.ledger().insuranceFund, 100_000n * U, 'insurance fund drained');
  assert.equal(engine.ledger().socializedLossTotal, 0n);

  // The same move at the most the band allows cannot make the thief bankrupt either: the buy is
  // either refused for margin or leaves the thief solvent.
  const top = markUsdc(engine, 1) * 100;
  for (let price = markUsdc(engine, 1); price <= top; price *= 2) {
    const attempt = d
      .tx(partner, limitOrder(1, 'sell', price, 0.1))
      .tx(thief, limitOrder(1, 'buy', price, 0.1))
      .tx(partner, { kind: 'cancelAll', value: { seriesId: 0 } })
      .block();
    assert.ok(!attempt.events.some((e) => e.type === 'insuranceCover'), `the fund paid at ${price}`);
    for (const h of honest) assert.equal(engine.account(h.publicKey)!.balance, 1_000_000n * U);
  }
  for (const h of honest) assert.equal(engine.account(h.publicKey)!.balance, 1_000_000n * U);
  assert.ok(engine.ledger().insuranceFund >= 100_000n * U);
  assert.ok(engine.account(thief.publicKey)!.balance >= 0n);
});

test('what-if margin: selling the long leg of a portfolio spread is checked, and an order never liquidates its own account', () => {
  const spreader = testSigner('attack-spreader');
  const maker = testSigner('attack-maker');
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [spreader, maker],
    series: [
      btcSeries(true, 60_000, START + 7 * MS_PER_DAY),
      btcSeries(true, 62_000, START + 7 * MS_PER_DAY),
    ],
  });
  genesis.accounts[0]!.marginMode = 'portfolio';
  genesis.accounts[0]!.balance = 20_000n * U;
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  const m1 = markUsdc(engine, 1);
  const m2 = markUsdc(engine, 2);
  // A call spread: long 1 lot of the 60k call, short 1 lot of the 62k call.
  d.tx(maker, limitOrder(1, 'sell', m1, 0.1))
    .tx(spreader, limitOrder(1, 'buy', m1, 0.1))
    .tx(maker, limitOrder(2, 'buy', m2, 0.1))
    .tx(spreader, limitOrder(2, 'sell', m2, 0.1))
    .block();
  assert.deepEqual(engine.account(spreader.publicKey)!.positions, [
    { seriesId: 1, lots: 1 },
    { seriesId: 2, lots: -1 },
  ]);
  // Withdraw down to just above the spread's initial margin.
  const margin = engine.account(spreader.publicKey)!.margin!;
  const spare = margin.equity - margin.initial - 5n * U;
  d.tx(spreader, {
    kind: 'withdraw',
    value: { amount: Number(spare), recipient: new Uint8Array(20), token: new Uint8Array(20) },
  }).block();
  // Selling the long leg "reduces" a position but leaves a naked short the account cannot carry.
  const r = d
    .tx(maker, limitOrder(1, 'buy', markUsdc(engine, 1), 0.1))
    .tx(spreader, limitOrder(1, 'sell', markUsdc(engine, 1), 0.1, { timeInForce: 1 }))
    .block();
  assert.ok(
    !liquidated(r.events, spreader),
    'the order passed and its own account was liquidated in the block',
  );
  const after = engine.account(spreader.publicKey)!.margin!;
  assert.ok(after.equity >= after.maintenance, 'the account is below maintenance after its own order');
  assert.equal(r.results[1]!.status, 'INSUFFICIENT_MARGIN');
});

test('what-if margin: an account under initial margin can still buy back its short at a sane price', () => {
  const short = testSigner('attack-short');
  const maker = testSigner('attack-maker-2');
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [short, maker],
    series: [btcSeries(true, 60_000, START + 7 * MS_PER_DAY)],
  });
  genesis.accounts[0]!.balance = 6_000n * U;
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  const mark = markUsdc(engine, 1);
  d.tx(maker, limitOrder(1, 'buy', mark, 0.4))
    .tx(short, limitOrder(1, 'sell', mark, 0.4))
    .block();
  // The index rises until the short is under initial margin but above maintenance.
  for (const spot of [61_000, 62_000, 63_000, 64_000, 65_000, 66_000, 67_000, 68_000]) {
    d.prices[1] = spot;
    d.block();
    const m = engine.account(short.publicKey)!.margin!;
    if (m.equity < m.initial) break;
  }
  const m = engine.account(short.publicKey)!.margin!;
  assert.ok(m.equity < m.initial && m.equity >= m.maintenance, 'set-up: between maintenance and initial');
  const r = d
    .tx(maker, limitOrder(1, 'sell', markUsdc(engine, 1), 0.1))
    .tx(short, limitOrder(1, 'buy', markUsdc(engine, 1), 0.1))
    .block();
  assert.equal(r.results[1]!.status, 'OK');
  assert.equal(r.results[1]!.filledLots, 1);
  // A buy-back far above the mark is no de-risking: it is refused.
  const far = d.tx(short, limitOrder(1, 'buy', markUsdc(engine, 1) * 10, 0.1)).block();
  assert.ok(['PRICE_OUT_OF_BAND', 'INSUFFICIENT_MARGIN'].includes(far.results[0]!.status));
});

test('price bands: a limit far from the mark is refused, and a stale resting order outside the band does not fill', () => {
  const maker = testSigner('band-maker');
  const taker = testSigner('band-taker');
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [maker, taker],
    series: [btcSeries(true, 60_000, START + 7 * MS_PER_DAY)],
  });
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  const mark = markUsdc(engine, 1);
  const refused = d.tx(taker, limitOrder(1, 'buy', mark * 10, 0.1)).block();
  assert.equal(refused.results[0]!.status, 'PRICE_OUT_OF_BAND');
  assert.equal(engine.account(taker.publicKey)!.nonce, 1, 'an out-of-band order consumes its nonce');
  // The maker offers at the mark; the index then jumps 20% and the offer is far below the new band.
  d.tx(maker, limitOrder(1, 'sell', mark, 0.1)).block();
  d.prices[1] = 72_000;
  d.block();
  const newMark = markUsdc(engine, 1);
  assert.ok(newMark > mark * 2, 'set-up: the mark more than doubled');
  const r = d.tx(taker, limitOrder(1, 'buy', newMark, 0.1, { timeInForce: 1 })).block();
  assert.ok(!r.events.some((e) => e.type === 'fill'), 'the stale offer filled outside the band');
  assert.ok(r.events.some((e) => e.type === 'cancel' && e.reason === 'outOfBand'));
  assert.deepEqual(engine.account(maker.publicKey)!.positions, []);
});

test('a resting reducing order that would open a short when it fills is margin-checked then', () => {
  const thin = testSigner('reduce-thin');
  const maker = testSigner('reduce-maker');
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [thin, maker],
    series: [btcSeries(true, 60_000, START + 7 * MS_PER_DAY)],
  });
  genesis.accounts[0]!.balance = 2_000n * U;
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  const mark = markUsdc(engine, 1);
  d.tx(maker, limitOrder(1, 'sell', mark, 0.1))
    .tx(thin, limitOrder(1, 'buy', mark, 0.1))
    .block();
  assert.deepEqual(engine.account(thin.publicKey)!.positions, [{ seriesId: 1, lots: 1 }]);
  // A resting sell of the long (reducing when placed), then the long is sold elsewhere.
  const rest = d.tx(thin, limitOrder(1, 'sell', mark + 20, 0.1)).block();
  assert.equal(rest.results[0]!.status, 'OK');
  const sold = d
    .tx(maker, limitOrder(1, 'buy', mark, 0.1))
    .tx(thin, limitOrder(1, 'sell', mark, 0.1, { timeInForce: 1 }))
    .block();
  assert.equal(sold.results[1]!.filledLots, 1);
  assert.deepEqual(engine.account(thin.publicKey)!.positions, []);
  // The resting sell would now open a short: the account withdraws all it can, and the index rises 3%.
  const margin = engine.account(thin.publicKey)!.margin!;
  const withdrawn = d
    .tx(thin, {
      kind: 'withdraw',
      value: {
        amount: Number(margin.equity - margin.initial) - USDC,
        recipient: new Uint8Array(20),
        token: new Uint8Array(20),
      },
    })
    .block();
  assert.equal(withdrawn.results[0]!.status, 'OK');
  d.prices[1] = 61_800;
  d.block();
  const r = d.tx(maker, limitOrder(1, 'buy', mark + 20, 0.1, { timeInForce: 1 })).block();
  assert.deepEqual(engine.account(thin.publicKey)!.positions, [], 'the resting sell opened a short');
  assert.ok(r.events.some((e) => e.type === 'cancel' && e.reason === 'insufficientMargin'));
  assert.ok(!liquidated(r.events, thin));
});

test('caps are refusals: positions per account for takers and makers, open orders, accounts', () => {
  const maker = testSigner('cap-maker');
  const taker = testSigner('cap-taker');
  const other = testSigner('cap-other');
  const expiry = START + 7 * MS_PER_DAY;
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [maker, taker, other],
    series: [55_000, 60_000, 65_000, 70_000].map((k) => btcSeries(true, k, expiry)),
    params: { maxPositionsPerAccount: 2, maxOpenOrdersPerAccount: 3, maxAccounts: 4 },
  });
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  // The maker rests offers in three series while flat; a taker lifts all three.
  for (const id of [1, 2, 3]) d.tx(maker, limitOrder(id, 'sell', markUsdc(engine, id), 0.1));
  const fourth = d.tx(maker, limitOrder(4, 'sell', markUsdc(engine, 4), 0.1)).block();
  assert.equal(fourth.results[3]!.status, 'TOO_MANY_OPEN_ORDERS');
  for (const id of [1, 2, 3])
    d.tx(taker, limitOrder(id, 'buy', markUsdc(engine, id), 0.1, { timeInForce: 1 }));
  const r = d.block();
  assert.deepEqual(
    r.results.map((x) => x.status),
    ['OK', 'OK', 'TOO_MANY_POSITIONS'],
  );
  assert.equal(engine.account(maker.publicKey)!.positions.length, 2);
  assert.equal(engine.account(taker.publicKey)!.positions.length, 2);
  // Another taker lifts the maker's third offer, which could only fill by opening a third
  // position: it leaves the book instead (today's code threw inside applyBlock at the 1,025th).
  const lifted = d.tx(other, limitOrder(3, 'buy', markUsdc(engine, 3), 0.1, { timeInForce: 1 })).block();
  assert.equal(lifted.results[0]!.filledLots, 0);
  assert.ok(lifted.events.some((e) => e.type === 'cancel' && e.reason === 'tooManyPositions'));
  assert.equal(engine.account(maker.publicKey)!.positions.length, 2);
  assert.deepEqual(engine.account(maker.publicKey)!.openOrders, []);
  // Accounts: three exist; a deposit opens the fourth; a fifth is refused.
  const a = testSigner('cap-new-a');
  const b = testSigner('cap-new-b');
  const dep = d
    .tx(OPERATOR, { kind: 'deposit', value: { account: a.publicKey, amount: 100 * USDC } })
    .tx(OPERATOR, { kind: 'deposit', value: { account: b.publicKey, amount: 100 * USDC } })
    .block();
  assert.deepEqual(
    dep.results.map((x) => x.status),
    ['OK', 'TOO_MANY_ACCOUNTS'],
  );
  assert.equal(engine.account(b.publicKey), undefined);
});

test('accounts cost a deposit: 100 fresh keys cannot create state, not even a changed root', () => {
  const genesis = testGenesis({ startTimeMs: START, traders: [testSigner('cost-known')] });
  const engine = createEngine(genesis);
  const twin = createEngine(genesis);
  const random = createSeededRandom(9);
  const actions: ExecutionAction[] = [
    { kind: 'withdraw', value: { amount: 1, recipient: new Uint8Array(20), token: new Uint8Array(20) } },
    { kind: 'cancelAll', value: { seriesId: 0 } },
    { kind: 'setMarginMode', value: { mode: 1 } },
    { kind: 'cancelOrder', value: { orderId: 1 } },
    limitOrder(1, 'buy', 100, 0.1),
  ];
  const transactions = Array.from({ length: 100 }, (_, i) =>
    actionTransaction(testSigner(`cost-fresh-${i}`), 0, actions[random.below(actions.length)]!),
  );
  const oracle = [{ underlyingId: 1, price: 60_000 * USDC, confidence: 0, publishTimeMs: 0, stale: false }];
  const r = engine.applyBlock({ height: 1, timeMs: START + 1000, transactions, oracle });
  const reference = twin.applyBlock({ height: 1, timeMs: START + 1000, transactions: [], oracle });
  assert.ok(
    r.results.every((x) => x.status === 'UNKNOWN_ACCOUNT'),
    r.results.map((x) => x.status).join(),
  );
  assert.ok(bytesEqual(r.stateRoot, reference.stateRoot), 'fresh keys changed the state root');
  assert.equal(engine.accounts().length, twin.accounts().length);
  // A deposit under the minimum opens nothing; one at the minimum opens the account.
  const fresh = testSigner('cost-depositor');
  const min = Number(genesis.params.minDepositForAccount);
  const dep = engine.applyBlock({
    height: 2,
    timeMs: START + 2000,
    transactions: [
      actionTransaction(OPERATOR, 0, {
        kind: 'deposit',
        value: { account: fresh.publicKey, amount: min - 1 },
      }),
      actionTransaction(OPERATOR, 1, { kind: 'deposit', value: { account: fresh.publicKey, amount: min } }),
    ],
    oracle,
  });
  assert.deepEqual(
    dep.results.map((x) => x.status),
    ['DEPOSIT_BELOW_MINIMUM', 'OK'],
  );
  assert.equal(engine.account(fresh.publicKey)!.balance, BigInt(min));
});

const ETH: UnderlyingConfig = {
  ...BTC,
  underlyingId: 2,
  symbol: 'ETH',
  pmSpotMovesBps: [-3000, -2000, -1000, 0, 1000, 2000, 3000],
  pmContingencyBps: 300,
  pmInitialMultiplierBps: 13000,
};

function ethSeries(isCall: boolean, strikeUsdc: number, expiryMs: number) {
  return { ...btcSeries(isCall, strikeUsdc, expiryMs), underlyingId: 2, tickSize: USDC / 10 };
}

function twoUnderlyingGenesis(traders: Ed25519Signer[]): EngineGenesis {
  const expiry = START + 7 * MS_PER_DAY;
  const genesis = testGenesis({
    startTimeMs: START,
    traders,
    series: [
      btcSeries(true, 62_000, expiry),
      btcSeries(false, 58_000, expiry),
      ethSeries(true, 3_200, expiry),
      ethSeries(false, 2_800, expiry),
    ],
  });
  genesis.underlyings.push(ETH);
  for (const a of genesis.accounts) a.marginMode = 'portfolio';
  return genesis;
}

test('portfolio margin stresses each underlying on its own grid, adds across, whatever the opening order', () => {
  const [btcFirst, ethFirst, btcOnly, ethOnly, maker] = ['x', 'y', 'b', 'e', 'm'].map((s) =>
    testSigner(`pm-${s}`),
  ) as [Ed25519Signer, Ed25519Signer, Ed25519Signer, Ed25519Signer, Ed25519Signer];
  const engine = createEngine(twoUnderlyingGenesis([btcFirst, ethFirst, btcOnly, ethOnly, maker]));
  const d = driver(engine, { 1: 60_000, 2: 3_000 });
  d.block();
  const m1 = markUsdc(engine, 1);
  const m3 = Math.round(Number(engine.series().find((s) => s.seriesId === 3)!.markPrice!) / 100_000) / 10;
  const shortBtc = (s: Ed25519Signer) =>
    d.tx(maker, limitOrder(1, 'buy', m1, 0.2)).tx(s, limitOrder(1, 'sell', m1, 0.2, { timeInForce: 1 }));
  const shortEth = (s: Ed25519Signer) =>
    d.tx(maker, limitOrder(3, 'buy', m3, 3)).tx(s, limitOrder(3, 'sell', m3, 3, { timeInForce: 1 }));
  shortBtc(btcFirst);
  shortEth(ethFirst);
  shortBtc(btcOnly);
  shortEth(ethOnly);
  d.block();
  shortEth(btcFirst);
  shortBtc(ethFirst);
  d.block();
  const req = (s: Ed25519Signer) => engine.account(s.publicKey)!.margin!;
  assert.deepEqual(
    engine.account(btcFirst.publicKey)!.positions,
    engine.account(ethFirst.publicKey)!.positions,
  );
  assert.equal(
    req(btcFirst).maintenance,
    req(ethFirst).maintenance,
    'the opening order changed the requirement',
  );
  assert.equal(req(btcFirst).initial, req(ethFirst).initial);
  assert.equal(req(btcFirst).maintenance, req(btcOnly).maintenance + req(ethOnly).maintenance);
  assert.equal(req(btcFirst).initial, req(btcOnly).initial + req(ethOnly).initial);
});

test('snapshot and restore at every block of a random multi-underlying run: same roots, same requirements', () => {
  const traders = Array.from({ length: 5 }, (_, i) => testSigner(`pm-run-${i}`));
  const genesis = twoUnderlyingGenesis(traders);
  const original = createEngine(genesis);
  const random = createSeededRandom(77);
  const spot: Record<number, number> = { 1: 60_000, 2: 3_000 };
  let copy: Engine = restoreEngine(original.snapshot(), genesis);
  for (let height = 1; height <= 60; height++) {
    const used = new Map<Ed25519Signer, number>();
    const transactions = [];
    for (let i = 0; i < 6; i++) {
      const signer = traders[random.below(traders.length)]!;
      const nonce = (original.account(signer.publicKey)?.nonce ?? 0) + (used.get(signer) ?? 0);
      used.set(signer, (used.get(signer) ?? 0) + 1);
      const seriesId = 1 + random.below(4);
      const view = original.series().find((s) => s.seriesId === seriesId)!;
      const tick = seriesId <= 2 ? TICK : USDC / 10;
      const mark = Math.max(1, Math.round(Number(view.markPrice ?? 0n) / tick)) * tick;
      const price = Math.max(tick, mark + (random.below(11) - 5) * tick);
      const size = seriesId <= 2 ? (1 + random.below(3)) / 10 : 1 + random.below(3);
      const action =
        random.below(10) === 0
          ? ({ kind: 'cancelAll', value: { seriesId: 0 } } as const)
          : limitOrder(seriesId, random.below(2) === 0 ? 'buy' : 'sell', price / USDC, size);
      transactions.push(actionTransaction(signer, nonce, action));
    }
    for (const id of [1, 2]) spot[id] = Math.round(spot[id]! * (1 + (random.below(201) - 100) / 10_000));
    const timeMs = original.timeMs + 1000;
    const block = {
      height,
      timeMs,
      transactions,
      oracle: [1, 2].map((id) => ({
        underlyingId: id,
        price: spot[id]! * USDC,
        confidence: 0,
        publishTimeMs: timeMs,
        stale: false,
      })),
    };
    const a = original.applyBlock(block);
    const b = copy.applyBlock(block);
    assert.equal(toHex(b.stateRoot), toHex(a.stateRoot), `root differs at height ${height}`);
    assert.deepEqual(copy.accounts(), original.accounts(), `requirements differ at height ${height}`);
    copy = restoreEngine(original.snapshot(), genesis);
  }
  assert.ok(
    original.accounts().some((a) => a.positions.length >= 2),
    'the run opened multi-series positions',
  );
});

test('governance cannot jump volatility: one SetMarkVol moves a series by at most the hourly bound', () => {
  const shorts = [testSigner('vol-short-1'), testSigner('vol-short-2')];
  const maker = testSigner('vol-maker');
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [...shorts, maker],
    series: [btcSeries(true, 60_000, START + 7 * MS_PER_DAY)],
  });
  for (const a of genesis.accounts.slice(0, 2)) a.balance = 3_000n * U;
  const engine = createEngine(genesis);
  const d = driver(engine);
  d.block();
  const mark = markUsdc(engine, 1);
  for (const s of shorts)
    d.tx(maker, limitOrder(1, 'buy', mark, 0.1)).tx(s, limitOrder(1, 'sell', mark, 0.1));
  d.block();
  for (const s of shorts)
    assert.deepEqual(engine.account(s.publicKey)!.positions, [{ seriesId: 1, lots: -1 }]);
  // Governance sets 500% volatility in one action.
  const r = d
    .tx(GOVERNANCE, governed({ kind: 'setMarkVol', value: { seriesId: 1, volBps: 50_000 } }))
    .block();
  const set = r.events.find((e) => e.type === 'markVolSet');
  const bound = Number(genesis.params.maxVolChangeBpsPerHour);
  assert.ok(
    set?.type === 'markVolSet' && set.volBps <= 6000 + bound,
    `volatility jumped to ${JSON.stringify(set)}`,
  );
  for (const s of shorts) assert.ok(!liquidated(r.events, s), 'one governance action liquidated a short');
  // Right after, there is no allowance left: a second action moves nothing.
  const again = d
    .tx(GOVERNANCE, governed({ kind: 'setMarkVol', value: { seriesId: 1, volBps: 50_000 } }))
    .block();
  const second = again.events.find((e) => e.type === 'markVolSet');
  assert.ok(second?.type === 'markVolSet' && set?.type === 'markVolSet' && second.volBps - set.volBps <= 1);
});

test('property: an order that passes never gets its own account liquidated in the same block', () => {
  // Seeded runs: a deep maker quotes every series; thin traders in both margin modes trade, the
  // index moves so that some end up under initial margin; then, in a block at the same index and
  // time (the same marks), they place random orders — buys, sells, reduce-only, IOC and resting,
  // at random prices anywhere inside the band. An account not liquidatable before that block and with an
  // accepted order in it must not be liquidated in it, and ends at or above maintenance.
  const expiry = START + 7 * MS_PER_DAY;
  const series = [55_000, 60_000, 65_000].flatMap((k) => [
    btcSeries(true, k, expiry),
    btcSeries(false, k, expiry),
  ]);
  let checked = 0;
  let acceptedOrders = 0;
  for (let run = 0; run < 60; run++) {
    const random = createSeededRandom(1000 + run);
    const maker = testSigner(`prop-maker-${run}`);
    const thin = Array.from({ length: 4 }, (_, i) => testSigner(`prop-thin-${run}-${i}`));
    const genesis = testGenesis({ startTimeMs: START, traders: [maker, ...thin], series });
    genesis.accounts[0]!.balance = 50_000_000n * U;
    genesis.accounts.slice(1).forEach((a, i) => {
      a.balance = BigInt(800 + random.below(4_000)) * U;
      a.marginMode = i % 2 === 0 ? 'portfolio' : 'standard';
    });
    const engine = createEngine(genesis);
    const d = driver(engine);
    d.block();
    const randomOrder = (signer: Ed25519Signer) => {
      const id = 1 + random.below(series.length);
      // Anywhere from half to one and a half times the mark: inside the band, far from fair.
      const ticks = Math.max(1, Math.round((markUsdc(engine, id) / 5) * (0.5 + random.below(101) / 100)));
      const position = engine.account(signer.publicKey)!.positions.find((p) => p.seriesId === id)?.lots ?? 0;
      const reduceOnly = position !== 0 && random.below(3) === 0;
      const side = reduceOnly ? (position > 0 ? 'sell' : 'buy') : random.below(2) === 0 ? 'buy' : 'sell';
      d.tx(
        signer,
        limitOrder(id, side, ticks * 5, (1 + random.below(4)) / 10, {
          reduceOnly,
          timeInForce: random.below(2),
        }),
      );
    };
    const quote = () => {
      d.tx(maker, { kind: 'cancelAll', value: { seriesId: 0 } });
      for (let id = 1; id <= series.length; id++) {
        const m = markUsdc(engine, id);
        d.tx(maker, limitOrder(id, 'buy', Math.max(5, m - 5 * (1 + random.below(3))), 2));
        d.tx(maker, limitOrder(id, 'sell', m + 5 * (1 + random.below(3)), 2));
      }
    };
    for (let round = 0; round < 3; round++) {
      quote();
      for (let i = 0; i < 8; i++) randomOrder(thin[random.below(thin.length)]!);
      d.prices[1] = 60_000 + (random.below(11) - 5) * 600;
      d.block();
    }
    quote();
    d.block(0);
    const before = new Map(thin.map((s) => [s, engine.account(s.publicKey)!.margin!]));
    const signers: Ed25519Signer[] = [];
    for (let i = 0; i < 10; i++) {
      const signer = thin[random.below(thin.length)]!;
      signers.push(signer);
      randomOrder(signer);
    }
    const r = d.block(0);
    for (const s of thin) {
      const accepted = r.results.some((x, i) => signers[i] === s && x.status === 'OK');
      const m = before.get(s)!;
      if (!accepted || m.equity < m.maintenance) continue;
      acceptedOrders++;
      checked++;
      assert.ok(!liquidated(r.events, s), `run ${run}: an accepted order got its own account liquidated`);
      const after = engine.account(s.publicKey)!.margin!;
      assert.ok(after.equity >= after.maintenance, `run ${run}: below maintenance after its own orders`);
    }
  }
  assert.ok(checked >= 40 && acceptedOrders >= 40, `too few accounts checked (${checked})`);
});
