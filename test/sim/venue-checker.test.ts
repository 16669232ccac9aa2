/**
 * Each venue invariant of the whole-node profile fails on the state that breaks it: a ledger that
 * does not balance, an idle account that moved, a flat account that lost, an account nobody
 * funded, an aggregate outside the honest observations or wider than their spread, a market with
 * no honest order or stale marks after the heal. The whole-node runs (whole-node.test.ts) show the
 * real node never trips them; this shows they are not vacuous.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../../src/crypto/bytes.ts';
import type { AccountView, Engine, LedgerView } from '../../src/execution/engine.ts';
import { createSimRng } from '../../src/runtime/sim/rng.ts';
import { createSimMarket, SIM_ASSET, type SimApplied, VenueChecker } from '../../src/sim/whole-node.ts';

const market = createSimMarket({ chainId: 0x5a11, rng: createSimRng(1) });
const genesisAccounts = market.engineGenesis.accounts;
const balanced: LedgerView = {
  height: 1,
  timeMs: 0,
  totalDeposits: 100n,
  totalWithdrawals: 0n,
  feePool: 10n,
  insuranceFund: 0n,
  socializedLossTotal: 0n,
  unrecoveredLoss: 0n,
  totalBalances: 90n,
};

function account(publicKey: Uint8Array, balance: bigint, extra: Partial<AccountView> = {}): AccountView {
  return {
    publicKey: toHex(publicKey),
    nonce: 0,
    balance,
    marginMode: 'standard',
    positions: [],
    openOrders: [],
    ...extra,
  };
}

function engineWith(accounts: AccountView[], ledger: LedgerView = balanced): Engine {
  return { ledger: () => ledger, accounts: () => accounts } as unknown as Engine;
}

function block(
  height: number,
  options: { price?: bigint; confidence?: bigint; stale?: boolean; signers?: string[] } = {},
): SimApplied {
  return {
    height,
    result: {
      height,
      results: [],
      encryptedResults: [],
      reservationResults: [],
      events: [],
      stateRoot: new Uint8Array(32),
      eventsHash: new Uint8Array(32),
    },
    aggregate: {
      height,
      prices: [
        {
          assetId: SIM_ASSET.assetId,
          height,
          priceTicks: options.price ?? 60_000_000_000n,
          confidenceTicks: options.confidence ?? 60_000_000n,
          publishTimeMs: 0,
          emaTicks: 0n,
          observationCount: 3,
          flags: options.stale === true ? 1 : 0,
        },
      ],
      accepted: 3,
      dropped: [],
      equivocations: [],
    },
    signers: options.signers ?? [],
    replay: false,
  };
}

function checker() {
  const failed: string[] = [];
  const venue = new VenueChecker((invariant) => failed.push(invariant), market);
  return { venue, failed };
}

const genesisViews = () => genesisAccounts.map((entry) => account(entry.publicKey, entry.balance));

test('the real genesis state passes every venue check', () => {
  const { venue, failed } = checker();
  venue.applied(engineWith(genesisViews()), block(1));
  venue.applied(engineWith(genesisViews()), block(2));
  assert.deepEqual(failed, []);
});

test('a ledger that does not balance fails conservation', () => {
  const { venue, failed } = checker();
  venue.applied(engineWith(genesisViews(), { ...balanced, feePool: 11n }), block(1));
  assert.deepEqual(failed, ['conservation']);
});

test('an idle account that moved fails idle-accounts; a flat account that lost without signing fails no-loss', () => {
  const { venue, failed } = checker();
  venue.applied(engineWith(genesisViews()), block(1));
  const idleKey = toHex(market.idle[0]!.publicKey);
  const after = genesisViews().map((view) =>
    view.publicKey === idleKey ? { ...view, balance: view.balance - 1n } : view,
  );
  venue.applied(engineWith(after), block(2));
  assert.deepEqual(failed.sort(), ['idle-accounts', 'no-loss-without-position']);
  // The same loss is allowed when the account signed something in that block (it paid a fee).
  const second = checker();
  second.venue.applied(engineWith(genesisViews()), block(1));
  second.venue.applied(engineWith(after), block(2, { signers: [idleKey.replace(/^0x/, '')] }));
  assert.deepEqual(second.failed, ['idle-accounts']);
});

test('an account nobody funded fails no-account-without-deposit', () => {
  const { venue, failed } = checker();
  const strangers = [1, 2, 3].map((i) => account(new Uint8Array(32).fill(i), 0n));
  venue.applied(engineWith([...genesisViews(), ...strangers]), block(1));
  assert.deepEqual(failed, ['no-account-without-deposit']);
});

test('a fresh aggregate outside the honest observations, or wider than their spread, fails oracle-honest-range', () => {
  const honest = {
    priceMin: 59_990_000_000n,
    priceMax: 60_010_000_000n,
    lowMin: 59_930_000_000n,
    highMax: 60_070_000_000n,
  };
  const inside = checker();
  inside.venue.applied(engineWith(genesisViews()), block(1), honest);
  assert.deepEqual(inside.failed, []);
  const outside = checker();
  outside.venue.applied(engineWith(genesisViews()), block(1, { price: 180_000_000_000n }), honest);
  assert.deepEqual(outside.failed, ['oracle-honest-range']);
  const wide = checker();
  wide.venue.applied(engineWith(genesisViews()), block(1, { confidence: 60_000_000_000n }), honest);
  assert.deepEqual(wide.failed, ['oracle-honest-range']);
  // A stale aggregate is not a mark: the engine ignores it, so it is not judged.
  const stale = checker();
  stale.venue.applied(engineWith(genesisViews()), block(1, { price: 180_000_000_000n, stale: true }), honest);
  assert.deepEqual(stale.failed, []);
});

test('after the heal, no honest order or mostly stale marks fail market-liveness', () => {
  const { venue, failed } = checker();
  venue.healed = true;
  for (let height = 1; height <= 10; height++)
    venue.applied(engineWith(genesisViews()), block(height, { stale: height > 3 }));
  venue.finish();
  assert.deepEqual(failed, ['market-liveness', 'market-liveness']);
});

test('after the heal, an honest trader with nothing executed fails no-censorship (when judged)', () => {
  const failed: string[] = [];
  const venue = new VenueChecker((invariant) => failed.push(invariant), market, { censorship: true });
  venue.healed = true;
  const [first, ...others] = [...market.honestTraders];
  for (let height = 1; height <= 4; height++)
    venue.applied(engineWith(genesisViews()), block(height, { signers: others }));
  venue.finish();
  assert.ok(first !== undefined && others.length > 0);
  assert.deepEqual(
    failed.filter((invariant) => invariant === 'no-censorship'),
    ['no-censorship'],
  );
  const judged: string[] = [];
  const fair = new VenueChecker((invariant) => judged.push(invariant), market, { censorship: true });
  fair.healed = true;
  fair.applied(engineWith(genesisViews()), block(1, { signers: [first, ...others] }));
  fair.finish();
  assert.deepEqual(
    judged.filter((invariant) => invariant === 'no-censorship'),
    [],
  );
});
