/**
 * Red team: steering auto-deleveraging (issue 9, "auto-deleveraging against the most profitable
 * opposite positions"). A thief and its partner open the same position on both sides; when the
 * thief's side goes bankrupt with no insurance fund and no book, ADL must close the opposite
 * position that profits most for its equity (src/execution/liquidation.ts), which is the
 * partner's small, leveraged one, not an honest holder's large, well-collateralized one.
 *
 * Setup as in redteam-value.test.ts: 1 BTC contracts, 1-contract lots, a 1 USDC tick and a 0.01%
 * volatility, so marks are intrinsic values and the figures can be worked out by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccountRecordCodec } from '../codec/execution.ts';
import { toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { accountStateKey, createEngine, restoreEngine } from './engine.ts';
import { createTransactionBuilder, limitOrder, testGenesis, testSigner, USDC } from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { EngineEvent, OracleUpdate } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const maker = testSigner('redteam-adl-maker');
const honest = testSigner('redteam-adl-honest');
const thief = testSigner('redteam-adl-thief');
const partner = testSigner('redteam-adl-partner');
const idle = testSigner('redteam-adl-idle');
const key = (signer: Ed25519Signer) => toHex(signer.publicKey);

function oracle(spotUsdc: number): OracleUpdate {
  return { underlyingId: 1, price: spotUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false };
}

test('attack: a colluding pair steers ADL onto an honest long: refused (ADL ranks by profit for equity and closes the partner first)', () => {
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
    insuranceFundUsdc: 0,
    underlying: { defaultVolBps: 1 },
  });
  const funded: Array<[Ed25519Signer, number]> = [
    [maker, 1_000_000],
    [honest, 1_000_000],
    [thief, 21_000],
    [partner, 25_000],
    [idle, 500_000],
  ];
  genesis.accounts = funded.map(([signer, usdc]) => ({
    publicKey: signer.publicKey,
    balance: BigInt(usdc) * U,
  }));
  const engine = createEngine(genesis);
  const builder = createTransactionBuilder();
  const tx = (signer: Ed25519Signer, ...args: Parameters<typeof limitOrder>) =>
    builder.next(signer, limitOrder(...args));
  const next = (transactions: ReturnType<typeof tx>[], spotUsdc: number): EngineEvent[] =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions,
      oracle: [oracle(spotUsdc)],
    }).events;
  const balance = (signer: Ed25519Signer) => engine.account(signer.publicKey)?.balance ?? 0n;
  const equity = (signer: Ed25519Signer) => engine.account(signer.publicKey)?.margin?.equity ?? 0n;
  const lots = (signer: Ed25519Signer) => engine.account(signer.publicKey)?.positions[0]?.lots ?? 0;
  const ioc = { timeInForce: 1 };

  // Spot 60,000, the call's mark 10,000. The maker sells it to Honest; the thief sells it to its
  // partner. Nobody rests an order afterwards: the book is empty, and there is no fund.
  next([tx(maker, 1, 'sell', 10_000, 1), tx(honest, 1, 'buy', 10_000, 1, ioc)], 60_000);
  next([tx(partner, 1, 'buy', 10_000, 1), tx(thief, 1, 'sell', 10_000, 1, ioc)], 60_000);
  assert.deepEqual([lots(honest), lots(partner), lots(thief)], [1, 1, -1]);
  const pairBefore = equity(thief) + equity(partner);
  const honestBefore = balance(honest);

  // One unflagged block gaps spot to 90,000: mark 40,000. The thief holds 30,982 (premium less
  // the taker fee) against a 40,000 liability: 9,018 under water, taken by ADL.
  const events = next([], 90_000);
  const adl = events.filter((e) => e.type === 'autoDeleverage');
  assert.equal(adl.length, 1, 'one ADL trade closes the thief');
  const trade = adl[0]!;
  assert.ok(trade.type === 'autoDeleverage');
  assert.equal(trade.account, key(thief));
  assert.equal(
    trade.counterparty,
    key(partner),
    'ADL closed the honest long instead of the partner that profits most for its equity',
  );
  assert.equal(trade.lossShare, 9_018n * U);
  // What a dashboard shows of the trade: the liquidated side buys back 1 lot at 30,982.
  assert.equal(trade.side, 'buy');
  assert.equal(trade.lots, 1);
  assert.equal(trade.price, 30_982n * U);
  assert.equal(lots(honest), 1, "the honest holder's long was closed");
  assert.equal(balance(honest), honestBefore);
  assert.equal(lots(thief), 0);
  assert.equal(lots(partner), 0);
  // The pair gets nothing out of the honest account: together they end no richer at the mark.
  const pairGain = equity(thief) + equity(partner) - pairBefore;
  assert.ok(pairGain <= 0n, `the pair gained ${pairGain} base units`);
  const ledger = engine.ledger();
  assert.equal(
    ledger.totalDeposits - ledger.totalWithdrawals,
    ledger.totalBalances + ledger.feePool + ledger.insuranceFund - ledger.unrecoveredLoss,
    'conservation',
  );
  assert.equal(balance(idle), 500_000n * U);
});

test('the entry cost ADL ranks by follows every fill: grows with the position, shrinks pro rata, restarts at a flip, and is committed', () => {
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
    underlying: { defaultVolBps: 1 },
    traders: [maker, honest],
  });
  const engine = createEngine(genesis);
  const builder = createTransactionBuilder();
  const tx = (signer: Ed25519Signer, ...args: Parameters<typeof limitOrder>) =>
    builder.next(signer, limitOrder(...args));
  const block = (transactions: ReturnType<typeof tx>[]) =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions,
      oracle: [oracle(60_000)],
    });
  const entry = () => {
    const value = engine.stateValue(accountStateKey(honest.publicKey));
    assert.ok(value !== undefined);
    const [position] = AccountRecordCodec.decode(value).positions;
    if (position === undefined) return undefined;
    const cost = position.entryCost.negative ? -position.entryCost.magnitude : position.entryCost.magnitude;
    return { lots: position.short ? -position.lots : position.lots, cost: cost / U };
  };
  const ioc = { timeInForce: 1 };
  block([tx(maker, 1, 'sell', 10_000, 3), tx(honest, 1, 'buy', 10_000, 3, ioc)]);
  block([tx(maker, 1, 'sell', 10_300, 1), tx(honest, 1, 'buy', 10_300, 1, ioc)]);
  assert.deepEqual(entry(), { lots: 4, cost: 40_300n });
  block([tx(maker, 1, 'buy', 9_900, 2), tx(honest, 1, 'sell', 9_900, 2, ioc)]);
  assert.deepEqual(entry(), { lots: 2, cost: 20_150n }, 'half the position keeps half the cost');
  // Selling 5 against a long of 2 closes it and opens a short of 3, whose cost is what the three
  // new short lots received: 3 × 9,800, negative.
  block([tx(maker, 1, 'buy', 9_800, 5), tx(honest, 1, 'sell', 9_800, 5, ioc)]);
  assert.deepEqual(entry(), { lots: -3, cost: -29_400n });
  const copy = restoreEngine(engine.snapshot(), genesis);
  assert.deepEqual(copy.stateRoot(), engine.stateRoot());
});
