/**
 * Automatic responses other than the breaker (issue 15): withdrawals slow down while the insurance
 * fund draws down fast, and liquidation resumes after an oracle-guard pause only after a grace
 * period. The attacks: a run on the venue draining balances at full speed while losses eat the
 * fund; liquidating accounts in the very block a flagged price is finally taken, before their
 * owners could react.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesEqual } from '../crypto/bytes.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import { createTransactionBuilder, limitOrder, testGenesis, testSigner, USDC } from './fixtures.ts';
import { MS_PER_DAY } from './margin.ts';
import type { Block, EngineEvent, EngineParameters, OracleUpdate } from './types.ts';

const U = BigInt(USDC);
const START = Date.UTC(2026, 0, 1);
const alice = testSigner('responses-alice');
const bob = testSigner('responses-bob');
const MAX_MOVE = 2;

function genesis(params: Partial<EngineParameters>) {
  const g = testGenesis({
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
    insuranceFundUsdc: 50_000,
    underlying: { defaultVolBps: 1 },
    params,
  });
  g.accounts = [alice, bob].map((signer, i) => ({
    publicKey: signer.publicKey,
    balance: BigInt(i === 0 ? 21_000 : 1_000_000) * U,
  }));
  return g;
}

function update(spotUsdc: number, flags = 0): OracleUpdate[] {
  return [{ underlyingId: 1, price: spotUsdc * USDC, confidence: 0, publishTimeMs: 0, stale: false, flags }];
}

function next(
  engine: Engine,
  oracle: OracleUpdate[],
  advanceMs: number,
  txs: Block['transactions'] = [],
): Block {
  return { height: engine.height + 1, timeMs: engine.timeMs + advanceMs, transactions: txs, oracle };
}

/** Alice short one 50,000 call sold to Bob at 10,000, spot 60,000. */
function withShort(params: Partial<EngineParameters>) {
  const g = genesis(params);
  const engine = createEngine(g);
  const txs = createTransactionBuilder();
  engine.applyBlock(
    next(engine, update(60_000), 1000, [
      txs.next(bob, limitOrder(1, 'buy', 10_000, 1)),
      txs.next(alice, limitOrder(1, 'sell', 10_000, 1, { timeInForce: 1 })),
    ]),
  );
  assert.deepEqual(engine.account(alice.publicKey)?.positions, [{ seriesId: 1, lots: -1 }]);
  return { engine, txs, g };
}

const withdrawal = (amountUsdc: number) =>
  ({
    kind: 'withdraw',
    value: { amount: amountUsdc * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
  }) as const;

const slowdown: Partial<EngineParameters> = {
  withdrawDrawdownBps: 1000,
  withdrawDrawdownWindowMs: 3_600_000,
  withdrawCapPerBlock: 1_000 * USDC,
};

/** Spot to 90,000: Alice's short is worth 40,000, her equity −9,000; the fund covers her. */
function drain(engine: Engine) {
  const result = engine.applyBlock(next(engine, update(90_000), 1000));
  assert.ok(result.events.some((e) => e.type === 'insuranceCover' || e.type === 'backstopTaken'));
  return result;
}

test('attack: without the slowdown a run withdraws at full speed while the fund is drained', () => {
  const { engine, txs } = withShort({});
  drain(engine);
  assert.ok(engine.ledger().insuranceFund < 45_000n * U, `fund ${engine.ledger().insuranceFund}`);
  const run = engine.applyBlock(
    next(engine, update(90_000), 1000, [txs.next(bob, withdrawal(600)), txs.next(bob, withdrawal(600))]),
  );
  assert.deepEqual(
    run.results.map((r) => r.status),
    ['OK', 'OK'],
  );
});

test('a fund down more than 10% in the window caps withdrawals per block; the cap resets each block', () => {
  const { engine, txs, g } = withShort(slowdown);
  drain(engine);
  const run = engine.applyBlock(
    next(engine, update(90_000), 1000, [txs.next(bob, withdrawal(600)), txs.next(bob, withdrawal(600))]),
  );
  const throttled = run.events.filter((e) => e.type === 'withdrawalsThrottled');
  assert.equal(throttled.length, 1, 'no withdrawalsThrottled event');
  assert.deepEqual(
    run.results.map((r) => r.status),
    ['OK', 'WITHDRAWAL_THROTTLED'],
  );
  const snapshot = engine.snapshot();
  const nextBlock = next(engine, update(90_000), 1000, [txs.next(bob, withdrawal(600))]);
  assert.equal(engine.applyBlock(nextBlock).results[0]!.status, 'OK', 'the cap is per block');
  // The throttle is state: a restored node refuses and accepts the same withdrawals.
  const restored = restoreEngine(snapshot, g);
  restored.applyBlock(nextBlock);
  assert.ok(bytesEqual(restored.stateRoot(), engine.stateRoot()));
  // A new window starts from the fund as it is then: the slowdown ends.
  const later = engine.applyBlock(next(engine, update(90_000), 3_600_000));
  assert.ok(later.events.some((e) => e.type === 'withdrawalsRestored'));
});

const liquidating = (events: readonly EngineEvent[]) =>
  events.filter((e) => ['liquidationStep', 'backstopTaken', 'autoDeleverage'].includes(e.type));

test('attack: liquidation in the very block a guard pause ends; with a grace period, only after it', () => {
  for (const graceMs of [0, 10_000]) {
    const { engine } = withShort({ liquidationGraceMs: graceMs });
    engine.applyBlock(next(engine, update(66_000, MAX_MOVE), 1000));
    let resumedAt = -1;
    let liquidatedAt = -1;
    for (let k = 0; k < 60 && liquidatedAt < 0; k++) {
      const result = engine.applyBlock(next(engine, update(66_000), 1000));
      if (result.events.some((e) => e.type === 'oracleGuardResume')) resumedAt = engine.timeMs;
      if (liquidating(result.events).length > 0) liquidatedAt = engine.timeMs;
      if (graceMs > 0 && resumedAt > 0 && liquidatedAt < 0)
        assert.ok(engine.timeMs < resumedAt + graceMs || liquidating(result.events).length > 0);
    }
    assert.ok(resumedAt > 0 && liquidatedAt > 0);
    assert.equal(
      liquidatedAt - resumedAt,
      graceMs,
      `grace ${graceMs}: liquidated ${liquidatedAt - resumedAt} ms after the pause`,
    );
  }
});
