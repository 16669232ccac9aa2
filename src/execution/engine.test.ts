/**
 * Engine scenarios. Money is in USDC base units (6 decimals); each expected figure is worked out
 * in the comment next to it from the published rules (Deribit standard margin and fee cap,
 * Derive's settlement TWAP divided by the time covered).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccountRecordCodec, type PlaceOrder, PlaceOrderCodec } from '../codec/execution.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { verifyStateProof } from '../crypto/state-commitment.ts';
import { signTransaction } from '../crypto/transaction.ts';
import { accountStateKey, createEngine, type Engine } from './engine.ts';
import {
  actionTransaction,
  btcSeries,
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  limitOrder,
  OPERATOR,
  testGenesis,
  testSigner,
  USDC,
} from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { Block, OracleUpdate } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const alice = testSigner('alice');
const bob = testSigner('bob');
const carol = testSigner('carol');

function oracle(priceUsdc: number, extra: Partial<OracleUpdate> = {}): OracleUpdate[] {
  return [
    { underlyingId: 1, price: priceUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false, ...extra },
  ];
}

function block(
  engine: Engine,
  transactions: Block['transactions'],
  oracleUpdates: OracleUpdate[] = oracle(60_000),
  advanceMs = 1000,
): Block {
  return {
    height: engine.height + 1,
    timeMs: engine.timeMs + advanceMs,
    transactions,
    oracle: oracleUpdates,
  };
}

/** One series: a call struck at 50,000 on 1 BTC per contract, 1-contract lots, 1 USDC tick, a day out. */
function deepCallGenesis(options: { insuranceFundUsdc?: number; balances?: Record<string, number> } = {}) {
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
    insuranceFundUsdc: options.insuranceFundUsdc ?? 0,
    // A 0.01% mark volatility makes the deep in-the-money mark exactly its intrinsic value (r = 0).
    underlying: { defaultVolBps: 1 },
  });
  const balances = options.balances ?? { alice: 21_000, bob: 1_000_000, carol: 1_000_000 };
  genesis.accounts = [alice, bob, carol].map((signer, i) => ({
    publicKey: signer.publicKey,
    balance: BigInt(Object.values(balances)[i] ?? 0) * U,
  }));
  return genesis;
}

test('bad transactions get typed statuses and change nothing', () => {
  const genesis = testGenesis({ traders: [alice], startTimeMs: START });
  const engine = createEngine(genesis);
  const twin = createEngine(genesis);
  const good = limitOrder(1, 'buy', 100, 1);
  const offTick = limitOrder(1, 'buy', 102, 1); // tick is 5 USDC
  const zero = limitOrder(1, 'buy', 100, 0);
  const offLot = limitOrder(1, 'buy', 100, 0.05); // lot is 0.1 contract
  const negative = PlaceOrderCodec.encode({ ...(good.value as PlaceOrder), sizeE6: 0 });
  negative.fill(0xff, 20, 28); // sizeE6 = 2^64 − 1, what a client encoding −1 would send
  const unknownField = new Uint8Array([...actionTransaction(alice, 0, good).body.payload, 1, 2, 3, 4]);
  const forged = actionTransaction(alice, 0, good);
  forged.signature[0]! ^= 1;
  const withPayload = (payload: Uint8Array) => {
    const tx = actionTransaction(alice, 0, good);
    return { body: { ...tx.body, payload }, signature: tx.signature };
  };
  const cases: Array<[string, Block['transactions'][number], string]> = [
    ['unknown series', actionTransaction(alice, 0, limitOrder(999, 'buy', 100, 1)), 'UNKNOWN_SERIES'],
    ['wrong nonce', actionTransaction(alice, 5, good), 'BAD_NONCE'],
    ['expired', actionTransaction(alice, 0, good, { expiryHeight: 0 }), 'EXPIRED'],
    ['wrong chain', actionTransaction(alice, 0, good, { chainId: 8 }), 'WRONG_CHAIN'],
    ['bad signature', forged, 'BAD_SIGNATURE'],
    ['oversize', withPayload(new Uint8Array(5000)), 'OVERSIZE'],
    ['zero size', actionTransaction(alice, 0, zero), 'INVALID_SIZE'],
    ['negative size', withPayload(negative), 'BAD_SIGNATURE'],
    ['size off lot', actionTransaction(alice, 0, offLot), 'SIZE_OFF_LOT'],
    ['price off tick', actionTransaction(alice, 0, offTick), 'PRICE_OFF_TICK'],
    ['unknown fields', withPayload(unknownField), 'BAD_SIGNATURE'],
    [
      'deposit not from the operator',
      actionTransaction(alice, 0, { kind: 'deposit', value: { account: alice.publicKey, amount: 5 } }),
      'UNAUTHORIZED',
    ],
    [
      'listing not from governance',
      actionTransaction(alice, 0, { kind: 'setMarkVol', value: { seriesId: 1, volBps: 5000 } }),
      'UNAUTHORIZED',
    ],
    [
      'cancel of an unknown order',
      actionTransaction(alice, 0, { kind: 'cancelOrder', value: { orderId: 77 } }),
      'UNKNOWN_ORDER',
    ],
  ];
  for (const [name, tx, status] of cases) {
    const result = engine.applyBlock(block(engine, [tx]));
    const reference = twin.applyBlock(block(twin, []));
    assert.equal(result.results[0]?.status, status, name);
    assert.ok(bytesEqual(result.stateRoot, reference.stateRoot), `${name} changed the state`);
    assert.deepEqual(result.events, [], `${name} emitted events`);
  }
  // Correctly signed bodies with a negative size and with trailing fields reach the decoder.
  const signedNegative = actionTransactionWithPayload(negative);
  const signedTrailing = actionTransactionWithPayload(unknownField);
  const result = engine.applyBlock(block(engine, [signedNegative, signedTrailing]));
  twin.applyBlock(block(twin, []));
  assert.deepEqual(
    result.results.map((r) => r.status),
    ['INVALID_SIZE', 'MALFORMED_PAYLOAD'],
  );
  assert.equal(result.results[1]?.field, 'PlaceOrder');
  assert.ok(bytesEqual(result.stateRoot, twin.stateRoot()));
  assert.equal(engine.account(alice.publicKey)?.nonce, 0);
});

function actionTransactionWithPayload(payload: Uint8Array) {
  // Signs an arbitrary payload, as a buggy or hostile client could.
  const tx = actionTransaction(alice, 0, limitOrder(1, 'buy', 100, 1));
  return signTransaction(alice, {
    chainId: tx.body.chainId,
    nonce: 0,
    expiryHeight: tx.body.expiryHeight,
    payload,
  });
}

test('a crossing order fills at the maker price with Deribit fees, and the account is provable against the root', () => {
  const engine = createEngine(deepCallGenesis({ balances: { alice: 21_000, bob: 1_000_000 } }));
  const txs = createTransactionBuilder();
  const r1 = engine.applyBlock(
    block(engine, [txs.next(bob, limitOrder(1, 'buy', 10_000, 1, { clientOrderId: 9 }))]),
  );
  assert.equal(r1.results[0]?.status, 'OK');
  assert.equal(r1.results[0]?.restingLots, 1);
  const r2 = engine.applyBlock(
    // What-if margin counts the premium at the limit (9,900 here), the fill is at the maker's 10,000.
    block(engine, [txs.next(alice, limitOrder(1, 'sell', 9_900, 1, { timeInForce: 1 }))]),
  );
  assert.equal(r2.results[0]?.status, 'OK');
  assert.equal(r2.results[0]?.filledLots, 1);
  const fill = r2.events.find((e) => e.type === 'fill');
  // Fee = min(3 bps × 60,000, 12.5% × 10,000) = min(18, 1,250) = 18 USDC a side.
  assert.deepEqual(
    fill && { price: fill.priceTicks, lots: fill.lots, maker: fill.makerFee, taker: fill.takerFee },
    {
      price: 10_000,
      lots: 1,
      maker: 18n * U,
      taker: 18n * U,
    },
  );
  const aliceView = engine.account(alice.publicKey)!;
  assert.equal(aliceView.balance, 30_982n * U); // 21,000 + 10,000 − 18
  assert.deepEqual(aliceView.positions, [{ seriesId: 1, lots: -1 }]);
  // Short call K=50,000 at S=60,000, mark 10,000: IM = max(0.15·60,000 − 0, 6,000) + 10,000 = 19,000;
  // MM = 0.075·60,000 + 10,000 = 14,500; equity = 30,982 − 10,000 = 20,982.
  assert.deepEqual(aliceView.margin, { equity: 20_982n * U, initial: 19_000n * U, maintenance: 14_500n * U });
  assert.equal(engine.ledger().feePool, 36n * U);
  const key = accountStateKey(alice.publicKey);
  const value = engine.stateValue(key)!;
  assert.ok(verifyStateProof(engine.stateRoot(), key, value, engine.prove(key)));
  assert.equal(AccountRecordCodec.decode(value).balance.magnitude, 30_982n * U);
  // A resubmitted client order id is answered with the original order, not a second order.
  const again = engine.applyBlock(
    block(engine, [txs.next(bob, limitOrder(1, 'buy', 10_000, 1, { clientOrderId: 9 }))]),
  );
  assert.deepEqual(again.results[0], { status: 'DUPLICATE_CLIENT_ORDER_ID', orderId: 1 });
  assert.deepEqual(engine.account(bob.publicKey)!.positions, [{ seriesId: 1, lots: 1 }]);
});

test('order outcomes: insufficient margin, post-only, FOK, self-trade prevention, cancel', () => {
  const engine = createEngine(deepCallGenesis({ balances: { alice: 20_000, bob: 1_000_000 } }));
  const txs = createTransactionBuilder();
  const r = engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 1)),
      // Alice: 20,000 < IM 19,000 + fee bound 12.5% × 10,000 = 20,250.
      txs.next(alice, limitOrder(1, 'sell', 10_000, 1)),
      txs.next(carol, limitOrder(1, 'sell', 9_000, 1, { postOnly: true })),
      txs.next(carol, limitOrder(1, 'sell', 10_000, 2, { timeInForce: 2 })),
      txs.next(bob, limitOrder(1, 'sell', 10_000, 1)),
      txs.next(bob, { kind: 'cancelOrder', value: { orderId: 6 } }),
    ]),
  );
  assert.deepEqual(
    r.results.map((x) => x.status),
    ['OK', 'INSUFFICIENT_MARGIN', 'POST_ONLY_WOULD_CROSS', 'FOK_UNFILLABLE', 'OK', 'UNKNOWN_ORDER'],
  );
  // Bob's sell met his own bid: the bid left the book (cancelled, reason selfTrade) and the sell rests.
  assert.ok(r.events.some((e) => e.type === 'cancel' && e.reason === 'selfTrade' && e.orderId === 1));
  assert.deepEqual(engine.book(1), { bids: [], asks: [[10_000, 1, 1]] });
  assert.equal(engine.account(alice.publicKey)!.nonce, 1); // the refused-for-margin order consumed its nonce
  txs.rewind(bob); // the refused cancel did not consume its nonce
  const c = engine.applyBlock(block(engine, [txs.next(bob, { kind: 'cancelAll', value: { seriesId: 0 } })]));
  assert.equal(c.results[0]?.status, 'OK');
  assert.deepEqual(engine.book(1), { bids: [], asks: [] });
});

test('liquidation: a short call below maintenance is bought back in the book and pays a 0.5% penalty', () => {
  const engine = createEngine(deepCallGenesis());
  const txs = createTransactionBuilder();
  engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 1)),
      txs.next(alice, limitOrder(1, 'sell', 10_000, 1)),
    ]),
  );
  assert.equal(engine.account(alice.publicKey)!.balance, 30_982n * U);
  // Spot 66,000: mark 16,000; Alice's equity 30,982 − 16,000 = 14,982 < MM 0.075·66,000 + 16,000 = 20,950.
  const r = engine.applyBlock(
    block(engine, [txs.next(carol, limitOrder(1, 'sell', 16_500, 1))], oracle(66_000)),
  );
  const step = r.events.find((e) => e.type === 'liquidationStep');
  // Penalty = 0.5% × 66,000 × 1 BTC = 330 USDC, to the insurance fund.
  assert.deepEqual(step, {
    type: 'liquidationStep',
    account: engine.account(alice.publicKey)!.publicKey,
    seriesId: 1,
    lots: 1,
    penalty: 330n * U,
    equityBefore: 14_982n * U,
    maintenanceBefore: 20_950n * U,
  });
  const aliceView = engine.account(alice.publicKey)!;
  assert.deepEqual(aliceView.positions, []);
  assert.equal(aliceView.balance, 14_152n * U); // 30,982 − 16,500 bought back − 330
  assert.equal(engine.ledger().insuranceFund, 330n * U);
  // Carol, the maker, paid min(3 bps × 66,000, 12.5% × 16,500) = 19.8 USDC.
  const fill = r.events.find((e) => e.type === 'fill');
  assert.equal(fill?.type === 'fill' ? fill.makerFee : undefined, 19_800_000n);
});

test('bankruptcy: the insurance fund pays first, then the opposite position is deleveraged at the bankruptcy price', () => {
  const engine = createEngine(deepCallGenesis({ insuranceFundUsdc: 1_000 }));
  const txs = createTransactionBuilder();
  engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 1)),
      txs.next(alice, limitOrder(1, 'sell', 10_000, 1)),
    ]),
  );
  // Spot 90,000: mark 40,000; Alice's equity is 30,982 − 40,000 = −9,018 at the mark, so no book
  // fill can help (Carol's offer at 40,000 stays): the fund covers 1,000 and Bob's long, the
  // opposite position, is closed against her short for all she has, 31,982, bearing the 8,018 left.
  const r = engine.applyBlock(
    block(engine, [txs.next(carol, limitOrder(1, 'sell', 40_000, 1))], oracle(90_000)),
  );
  const cover = r.events.find((e) => e.type === 'insuranceCover');
  assert.equal(cover?.type === 'insuranceCover' ? cover.amount : undefined, 1_000n * U);
  const adl = r.events.find((e) => e.type === 'autoDeleverage');
  assert.deepEqual(adl, {
    type: 'autoDeleverage',
    account: engine.account(alice.publicKey)!.publicKey,
    counterparty: engine.account(bob.publicKey)!.publicKey,
    seriesId: 1,
    side: 'buy',
    lots: 1,
    price: 31_982n * U,
    cash: -31_982n * U,
    lossShare: 8_018n * U,
  });
  assert.equal(engine.account(alice.publicKey)!.balance, 0n);
  assert.equal(engine.account(bob.publicKey)!.balance, 989_982n * U + 31_982n * U);
  assert.equal(
    engine.account(carol.publicKey)!.balance,
    1_000_000n * U,
    'Carol holds no position and pays nothing',
  );
  const ledger = engine.ledger();
  assert.equal(ledger.insuranceFund, 0n);
  assert.equal(ledger.socializedLossTotal, 8_018n * U);
  assert.equal(ledger.unrecoveredLoss, 0n);
  assert.equal(
    ledger.totalDeposits - ledger.totalWithdrawals,
    ledger.totalBalances + ledger.feePool + ledger.insuranceFund - ledger.unrecoveredLoss,
  );
});

test('settlement: 30-minute TWAP over the time actually covered; without a valid price it waits', () => {
  const expiryMs = START + 2 * 60 * 60_000;
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [alice, bob],
    series: [btcSeries(true, 60_000, expiryMs), btcSeries(true, 60_000, expiryMs + 3 * 60 * 60_000)],
  });
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  engine.applyBlock(
    block(engine, [
      // At the marks (217 and 343 USDC), inside the price band.
      txs.next(bob, limitOrder(1, 'buy', 215, 2)),
      txs.next(alice, limitOrder(1, 'sell', 215, 2)),
    ]),
  );
  engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(2, 'buy', 345, 1)),
      txs.next(alice, limitOrder(2, 'sell', 345, 1)),
    ]),
  );
  assert.deepEqual(engine.account(alice.publicKey)!.positions, [
    { seriesId: 1, lots: -20 },
    { seriesId: 2, lots: -10 },
  ]);
  const balancesBefore = [engine.account(alice.publicKey)!.balance, engine.account(bob.publicKey)!.balance];
  // Blocks every minute from expiry − 30 min: 10 minutes at 60,000, 5 minutes stale, 15 minutes at 62,000.
  const windowStart = expiryMs - 30 * 60_000;
  engine.applyBlock({
    height: engine.height + 1,
    timeMs: windowStart - 60_000,
    transactions: [],
    oracle: oracle(59_000),
  });
  for (let k = 0; k < 30; k++) {
    const update = k < 10 ? oracle(60_000) : k < 15 ? oracle(70_000, { stale: true }) : oracle(62_000);
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: windowStart + k * 60_000,
      transactions: [],
      oracle: update,
    });
  }
  const r = engine.applyBlock({
    height: engine.height + 1,
    timeMs: expiryMs,
    transactions: [],
    oracle: oracle(65_000),
  });
  const settlement = r.events.find((e) => e.type === 'settlement');
  // The 59,000 sample before the window stands until the first in-window sample, so it covers
  // nothing inside it. Covered: 25 minutes; TWAP = (10·60,000 + 15·62,000) / 25 = 61,200.
  // Payoff per 0.1-contract lot: 0.1 × (61,200 − 60,000) = 120 USDC.
  assert.deepEqual(settlement, {
    type: 'settlement',
    seriesId: 1,
    settlementPrice: 61_200n * U,
    coveredMs: 25 * 60_000,
    payoffPerLot: 120n * U,
  });
  assert.deepEqual(engine.account(alice.publicKey)!.positions, [{ seriesId: 2, lots: -10 }]);
  assert.equal(engine.account(alice.publicKey)!.balance, balancesBefore[0]! - 2_400n * U); // 20 lots × 120
  assert.equal(engine.account(bob.publicKey)!.balance, balancesBefore[1]! + 2_400n * U);
  assert.equal(engine.series()[0]?.status, 'settled');

  // Series 2: the oracle is stale for its whole window, so it expires and waits.
  const expiry2 = expiryMs + 3 * 60 * 60_000;
  engine.applyBlock({
    height: engine.height + 1,
    timeMs: expiry2 - 31 * 60_000,
    transactions: [],
    oracle: oracle(60_000, { stale: true }),
  });
  for (let k = 0; k < 30; k++) {
    const update = oracle(64_000, { confidence: 10_000 * USDC }); // ±10,000 is wider than the 1% allowed
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: expiry2 - 30 * 60_000 + k * 60_000,
      transactions: [],
      oracle: update,
    });
  }
  const waiting = engine.applyBlock({
    height: engine.height + 1,
    timeMs: expiry2,
    transactions: [],
    oracle: oracle(64_000),
  });
  assert.ok(waiting.events.some((e) => e.type === 'settlementWaiting' && e.seriesId === 2));
  assert.equal(engine.series()[1]?.status, 'expired');
  assert.deepEqual(engine.account(alice.publicKey)!.positions, [{ seriesId: 2, lots: -10 }]);
  const tradeAfter = engine.applyBlock(block(engine, [txs.next(bob, limitOrder(2, 'buy', 1_000, 1))]));
  assert.equal(tradeAfter.results[0]?.status, 'SERIES_NOT_TRADING');
});

test('governance lists a series and sets its mark volatility within the band; the operator credits deposits', () => {
  const engine = createEngine(testGenesis({ startTimeMs: START, series: [] }));
  const txs = createTransactionBuilder();
  const r = engine.applyBlock(
    block(engine, [
      txs.next(
        GOVERNANCE,
        governed({ kind: 'listSeries', value: { ...btcSeries(false, 58_000, START + 3 * MS_PER_DAY) } }),
      ),
      txs.next(GOVERNANCE, governed({ kind: 'setMarkVol', value: { seriesId: 1, volBps: 900_000 } })),
      txs.next(OPERATOR, { kind: 'deposit', value: { account: carol.publicKey, amount: 5_000 * USDC } }),
      txs.next(carol, {
        kind: 'withdraw',
        value: { amount: 6_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
      }),
      txs.next(carol, {
        kind: 'withdraw',
        value: { amount: 1_000 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
      }),
    ]),
  );
  assert.deepEqual(
    r.results.map((x) => x.status),
    ['OK', 'OK', 'OK', 'INSUFFICIENT_BALANCE', 'OK'],
  );
  // 900,000 is clamped to the 500% maximum, then to the hourly bound: 6,000 + 1,000.
  assert.equal(engine.series()[0]?.markVolBps, 7_000);
  assert.equal(engine.account(carol.publicKey)!.balance, 4_000n * U);
  assert.deepEqual(
    [engine.ledger().totalDeposits, engine.ledger().totalWithdrawals],
    [5_000n * U, 1_000n * U],
  );
});

test('nonceOf and hasAccount answer what account() and the state commitment say, block after block', () => {
  const engine = createEngine(deepCallGenesis({ balances: { alice: 21_000, bob: 1_000_000 } }));
  const txs = createTransactionBuilder();
  const stranger = testSigner('stranger');
  const dave = testSigner('dave');
  const keys = [alice, bob, carol, dave, OPERATOR, GOVERNANCE, stranger].map((signer) => signer.publicKey);
  const agree = () => {
    for (const key of keys) {
      assert.equal(engine.nonceOf(key), engine.account(key)?.nonce);
      assert.equal(engine.hasAccount(key), engine.stateValue(accountStateKey(key)) !== undefined);
    }
  };
  agree();
  assert.equal(engine.hasAccount(dave.publicKey), false);
  engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 1)),
      txs.next(OPERATOR, { kind: 'deposit', value: { account: dave.publicKey, amount: 5_000 * USDC } }),
      // Refused (no such series): a refusal changes nothing, the nonce included.
      txs.next(alice, limitOrder(99, 'buy', 10_000, 1)),
    ]),
  );
  agree();
  assert.equal(engine.hasAccount(dave.publicKey), true);
  assert.equal(engine.nonceOf(bob.publicKey), 1);
  assert.equal(engine.nonceOf(stranger.publicKey), undefined);
  engine.applyBlock(block(engine, [txs.next(dave, limitOrder(1, 'sell', 10_000, 1, { timeInForce: 1 }))]));
  agree();
  assert.equal(engine.nonceOf(dave.publicKey), 1);
});

test('reduce-only is checked again when a resting reduce-only order fills as maker: it never flips the position', () => {
  const engine = createEngine(
    deepCallGenesis({ balances: { alice: 100_000, bob: 1_000_000, carol: 1_000_000 } }),
  );
  const txs = createTransactionBuilder();
  // Bob buys 3 calls from Carol at 10,000: Bob +3, Carol −3.
  engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 3)),
      txs.next(carol, limitOrder(1, 'sell', 10_000, 3)),
    ]),
  );
  // Bob rests a reduce-only ask for his whole position (order 3), then sells 2 of the 3 as a taker
  // into Carol's bid (orders 4 and 5): his position is now +1 while the reduce-only ask still says 3.
  const r2 = engine.applyBlock(
    block(engine, [
      txs.next(bob, limitOrder(1, 'sell', 10_500, 3, { reduceOnly: true })),
      txs.next(carol, limitOrder(1, 'buy', 10_000, 2)),
      txs.next(bob, limitOrder(1, 'sell', 10_000, 2, { timeInForce: 1 })),
    ]),
  );
  assert.deepEqual(
    r2.results.map((x) => [x.status, x.restingLots ?? 0, x.filledLots ?? 0]),
    [
      ['OK', 3, 0],
      ['OK', 2, 0],
      ['OK', 0, 2],
    ],
  );
  assert.deepEqual(engine.account(bob.publicKey)!.positions, [{ seriesId: 1, lots: 1 }]);
  // Alice buys 3 at 10,500: Bob's reduce-only ask may fill only 1 (what is left of his long); the
  // other 2 are cancelled with reason reduceOnly instead of making Bob short 2, and Alice's
  // remaining 2 rest as a bid.
  const r3 = engine.applyBlock(block(engine, [txs.next(alice, limitOrder(1, 'buy', 10_500, 3))]));
  assert.deepEqual(r3.results[0], { status: 'OK', orderId: 6, filledLots: 1, restingLots: 2 });
  const fills = r3.events.filter((e) => e.type === 'fill');
  assert.deepEqual(
    fills.map((e) => e.type === 'fill' && [e.makerOrderId, e.priceTicks, e.lots, e.makerFee]),
    [[3, 10_500, 1, 18n * U]], // maker fee min(3 bps × 60,000, 12.5% × 10,500) = 18 USDC
  );
  const cancel = r3.events.find((e) => e.type === 'cancel');
  assert.deepEqual(cancel, {
    type: 'cancel',
    orderId: 3,
    account: engine.account(bob.publicKey)!.publicKey,
    seriesId: 1,
    lots: 2,
    reason: 'reduceOnly',
  });
  assert.deepEqual(engine.account(bob.publicKey)!.positions, []);
  assert.deepEqual(engine.account(bob.publicKey)!.openOrders, []);
  assert.deepEqual(engine.account(alice.publicKey)!.positions, [{ seriesId: 1, lots: 1 }]);
  assert.deepEqual(engine.book(1), { bids: [[10_500, 2, 1]], asks: [] });
  // A FOK for 2 against a reduce-only ask that may fill only 1 is unfillable, not half-filled.
  const r4 = engine.applyBlock(
    block(engine, [
      txs.next(alice, { kind: 'cancelAll', value: { seriesId: 0 } }),
      txs.next(alice, limitOrder(1, 'sell', 11_000, 3, { reduceOnly: true })),
      txs.next(bob, limitOrder(1, 'buy', 11_000, 2, { timeInForce: 2 })),
    ]),
  );
  assert.deepEqual(
    r4.results.map((x) => [x.status, x.restingLots ?? 0]),
    [
      ['OK', 0],
      ['OK', 1], // clamped at placement to Alice's long of 1
      ['FOK_UNFILLABLE', 0],
    ],
  );
});
