/**
 * Withdrawals leave through the vault: the engine debits at once and appends the withdrawal to the
 * current checkpoint period's list, whose root (the vault's leaf layout, computed here
 * independently with viem) is committed in the state root. Attacks first: another token, no
 * recipient, a full period, and a list nobody can rewrite once committed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAbiParameters, toHex as viemHex, keccak256 as viemKeccak } from 'viem';
import { WithdrawalsRecordCodec } from '../codec/bridge.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { verifyEvmMerkleProof } from '../crypto/merkle-evm.ts';
import { verifyStateProof } from '../crypto/state-commitment.ts';
import { createEngine, restoreEngine, WITHDRAWALS_STATE_KEY } from './engine.ts';
import { createTransactionBuilder, testGenesis, testSigner, USDC } from './fixtures.ts';
import {
  type Block,
  DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT,
  DEFAULT_MIN_WITHDRAWAL,
  type EngineGenesis,
} from './types.ts';
import {
  EMPTY_WITHDRAWALS_ROOT,
  MAX_WITHDRAWALS_PER_CHECKPOINT,
  withdrawalLeafHash,
  withdrawalsTree,
} from './withdrawals.ts';

const alice = testSigner('alice');
const bob = testSigner('bob');
const VAULT = Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i);
const TOKEN = Uint8Array.from({ length: 20 }, (_, i) => 0x10 + i);
const OTHER_TOKEN = Uint8Array.from({ length: 20 }, (_, i) => 0x30 + i);
const RECIPIENT = Uint8Array.from({ length: 20 }, (_, i) => 0x50 + i);
const BRIDGE = { evmChainId: 31_337, vault: VAULT, token: TOKEN, checkpointEveryBlocks: 4 };

function bridged(extra: Partial<EngineGenesis> = {}): EngineGenesis {
  return { ...testGenesis({ traders: [alice, bob], balanceUsdc: 10_000 }), bridge: BRIDGE, ...extra };
}

const withdraw = (amountUsdc: number, token = TOKEN, recipient = RECIPIENT) =>
  ({ kind: 'withdraw', value: { amount: amountUsdc * USDC, recipient, token } }) as const;

function next(engine: { height: number; timeMs: number }, transactions: Block['transactions']): Block {
  return { height: engine.height + 1, timeMs: engine.timeMs + 1000, transactions, oracle: [] };
}

/** The vault's leaf (contracts/PalisadeVault.sol `withdrawalLeaf`), encoded by viem, not by us. */
function vaultLeaf(id: number, token: Uint8Array, recipient: Uint8Array, amount: bigint): string {
  const encoded = encodeAbiParameters(
    [
      { type: 'uint256' },
      { type: 'address' },
      { type: 'uint64' },
      { type: 'address' },
      { type: 'address' },
      { type: 'uint256' },
    ],
    [BigInt(BRIDGE.evmChainId), viemHex(VAULT), BigInt(id), viemHex(token), viemHex(recipient), amount],
  );
  return viemKeccak(viemKeccak(encoded));
}

test('a withdrawal debits at once and enters the withdrawals root committed in the state root', () => {
  const engine = createEngine(bridged());
  const txs = createTransactionBuilder();
  const r = engine.applyBlock(next(engine, [txs.next(alice, withdraw(1_000))]));
  assert.deepEqual(r.results[0], { status: 'OK', withdrawalId: 1 });
  assert.equal(engine.account(alice.publicKey)!.balance, 9_000n * BigInt(USDC));
  const view = engine.withdrawals();
  assert.ok(view !== undefined);
  assert.equal(view.checkpointHeight, 4);
  assert.deepEqual(
    view.entries.map((w) => ({ id: w.id, amount: w.amount })),
    [{ id: 1, amount: 1_000n * BigInt(USDC) }],
  );
  assert.equal(
    `0x${toHex(withdrawalLeafHash(BRIDGE, view.entries[0]!))}`,
    vaultLeaf(1, TOKEN, RECIPIENT, 1_000n * BigInt(USDC)),
  );
  // The committed record holds the root, and a state proof of it verifies against the state root.
  const record = WithdrawalsRecordCodec.decode(engine.stateValue(WITHDRAWALS_STATE_KEY)!);
  assert.ok(bytesEqual(record.root, view.root));
  assert.ok(
    verifyStateProof(
      r.stateRoot,
      WITHDRAWALS_STATE_KEY,
      engine.stateValue(WITHDRAWALS_STATE_KEY),
      engine.prove(WITHDRAWALS_STATE_KEY),
    ),
  );
  const tree = withdrawalsTree(BRIDGE, view.entries)!;
  assert.ok(verifyEvmMerkleProof(view.root, tree.leafHash(0), tree.proof(0)));
});

test('attack: a withdrawal of another token or to no recipient is refused and debits nothing', () => {
  const engine = createEngine(bridged());
  const txs = createTransactionBuilder();
  // Refusals leave the nonce: both carry nonce 0.
  const otherToken = txs.next(alice, withdraw(1_000, OTHER_TOKEN));
  txs.rewind(alice);
  const noRecipient = txs.next(alice, withdraw(1_000, TOKEN, new Uint8Array(20)));
  const r = engine.applyBlock(next(engine, [otherToken, noRecipient]));
  assert.deepEqual(
    r.results.map((x) => x.status),
    ['UNLISTED_TOKEN', 'INVALID_RECIPIENT'],
  );
  assert.equal(engine.account(alice.publicKey)!.balance, 10_000n * BigInt(USDC));
  assert.equal(engine.withdrawals()!.entries.length, 0);
  assert.ok(bytesEqual(engine.withdrawals()!.root, EMPTY_WITHDRAWALS_ROOT));
});

test('attack: spending one balance twice in one block pays it once', () => {
  const engine = createEngine(bridged());
  const txs = createTransactionBuilder();
  const r = engine.applyBlock(
    next(engine, [txs.next(alice, withdraw(10_000)), txs.next(alice, withdraw(10_000))]),
  );
  assert.deepEqual(
    r.results.map((x) => x.status),
    ['OK', 'INSUFFICIENT_BALANCE'],
  );
  assert.equal(engine.withdrawals()!.entries.length, 1);
});

test('each checkpoint period starts a new list; ids keep counting; a snapshot restores the list', () => {
  const genesis = bridged();
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  engine.applyBlock(next(engine, [txs.next(alice, withdraw(10))]));
  engine.applyBlock(next(engine, [txs.next(bob, withdraw(20))]));
  engine.applyBlock(next(engine, []));
  engine.applyBlock(next(engine, [])); // height 4: the checkpoint's list is complete
  const atCheckpoint = engine.withdrawals()!;
  assert.deepEqual(
    atCheckpoint.entries.map((w) => w.id),
    [1, 2],
  );
  assert.equal(atCheckpoint.checkpointHeight, 4);
  const copy = restoreEngine(engine.snapshot(), genesis);
  assert.ok(bytesEqual(copy.stateRoot(), engine.stateRoot()));
  assert.ok(bytesEqual(copy.withdrawals()!.root, atCheckpoint.root));
  engine.applyBlock(next(engine, [txs.next(alice, withdraw(30))]));
  const after = engine.withdrawals()!;
  assert.equal(after.checkpointHeight, 8);
  assert.deepEqual(
    after.entries.map((w) => w.id),
    [3],
  );
  assert.ok(!bytesEqual(after.root, atCheckpoint.root));
});

test('attack: a period holds at most its bound; the one beyond is an outcome that debits nothing', () => {
  // A per-account cap of 1,024 and a minimum of one unit: the period's own bound is what refuses.
  const traders = Array.from({ length: 8 }, (_, i) => testSigner(`many-${i}`));
  const engine = createEngine({
    ...testGenesis({ traders, balanceUsdc: 10_000 }),
    bridge: { ...BRIDGE, minWithdrawal: 1n, maxWithdrawalsPerAccount: MAX_WITHDRAWALS_PER_CHECKPOINT },
  });
  const txs = createTransactionBuilder();
  const transactions = Array.from({ length: MAX_WITHDRAWALS_PER_CHECKPOINT + 1 }, (_, i) =>
    txs.next(traders[i % traders.length]!, withdraw(1)),
  );
  const r = engine.applyBlock(next(engine, transactions));
  assert.equal(r.results.filter((x) => x.status === 'OK').length, MAX_WITHDRAWALS_PER_CHECKPOINT);
  assert.equal(r.results.at(-1)?.status, 'WITHDRAWALS_FULL');
  assert.equal(engine.ledger().totalWithdrawals, BigInt(MAX_WITHDRAWALS_PER_CHECKPOINT * USDC));
});

test('without a bridge a withdrawal debits as before and commits no list', () => {
  const engine = createEngine(testGenesis({ traders: [alice] }));
  const txs = createTransactionBuilder();
  const r = engine.applyBlock(next(engine, [txs.next(alice, withdraw(5))]));
  assert.equal(r.results[0]?.status, 'OK');
  assert.equal(engine.withdrawals(), undefined);
  assert.equal(engine.stateValue(WITHDRAWALS_STATE_KEY), undefined);
});

/** One account's `count` withdrawals of `amount` base units each, nonces in order. */
function burst(
  txs: ReturnType<typeof createTransactionBuilder>,
  signer: ReturnType<typeof testSigner>,
  count: number,
  amount: number,
) {
  return Array.from({ length: count }, () =>
    txs.next(signer, { kind: 'withdraw', value: { amount, recipient: RECIPIENT, token: TOKEN } }),
  );
}

const MIN = Number(DEFAULT_MIN_WITHDRAWAL);
const CAP = DEFAULT_MAX_WITHDRAWALS_PER_ACCOUNT;

test('attack: one account cannot fill checkpoint periods with dust and keep an honest withdrawal out', () => {
  // The griefer holds 100 USDC; 1,024 withdrawals of one base unit (0.001 USDC in all) per period
  // used to fill every period, so the honest trader's withdrawal was refused period after period.
  const griefer = testSigner('dust-griefer');
  const honest = testSigner('honest-trader');
  const engine = createEngine({
    ...testGenesis({ traders: [griefer, honest], balanceUsdc: 100 }),
    bridge: BRIDGE,
  });
  const txs = createTransactionBuilder();
  for (let period = 0; period < 3; period++) {
    // A refusal like INVALID_AMOUNT leaves the nonce, so each dust withdrawal (1, 2, … units)
    // carries the same one: all of them are judged on their amount.
    const dust = Array.from({ length: MAX_WITHDRAWALS_PER_CHECKPOINT }, (_, i) => {
      const [tx] = burst(txs, griefer, 1, i + 1);
      txs.rewind(griefer);
      return tx!;
    });
    const r = engine.applyBlock(next(engine, [...dust, txs.next(honest, withdraw(10))]));
    assert.equal(r.results.at(-1)?.status, 'OK', `the honest withdrawal enters period ${period}`);
    assert.ok(r.results.slice(0, -1).every((x) => x.status === 'WITHDRAWAL_TOO_SMALL'));
    for (let i = 0; i < BRIDGE.checkpointEveryBlocks - 1; i++) engine.applyBlock(next(engine, []));
  }
  assert.equal(engine.account(honest.publicKey)!.balance, 70n * BigInt(USDC));
  assert.equal(engine.account(griefer.publicKey)!.balance, 100n * BigInt(USDC));
  assert.equal(engine.account(griefer.publicKey)!.nonce, 0);
});

test('attack: one account at the minimum takes at most its share of a period; the rest debit nothing', () => {
  const griefer = testSigner('min-griefer');
  const honest = testSigner('honest-trader');
  const genesis = { ...testGenesis({ traders: [griefer, honest], balanceUsdc: 20_000 }), bridge: BRIDGE };
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  const grief = burst(txs, griefer, MAX_WITHDRAWALS_PER_CHECKPOINT, MIN);
  const r = engine.applyBlock(next(engine, [...grief, txs.next(honest, withdraw(10))]));
  assert.deepEqual(
    r.results.map((x) => x.status),
    [
      ...Array.from({ length: CAP }, () => 'OK'),
      ...Array.from({ length: MAX_WITHDRAWALS_PER_CHECKPOINT - CAP }, () => 'WITHDRAWAL_PERIOD_LIMIT'),
      'OK',
    ],
  );
  assert.equal(engine.withdrawals()!.entries.length, CAP + 1);
  const after = engine.account(griefer.publicKey)!;
  assert.equal(after.balance, 20_000n * BigInt(USDC) - BigInt(CAP * MIN));
  // An outcome, like WITHDRAWALS_FULL: each refused one consumed its nonce and nothing else.
  assert.equal(after.nonce, MAX_WITHDRAWALS_PER_CHECKPOINT);
  // A node restored mid-period counts the same: the account's share stays used.
  const copy = restoreEngine(engine.snapshot(), genesis);
  const more = txs.next(griefer, withdraw(10));
  assert.equal(copy.applyBlock(next(copy, [more])).results[0]?.status, 'WITHDRAWAL_PERIOD_LIMIT');
  assert.equal(engine.applyBlock(next(engine, [more])).results[0]?.status, 'WITHDRAWAL_PERIOD_LIMIT');
  // The next period gives the share back.
  engine.applyBlock(next(engine, []));
  engine.applyBlock(next(engine, []));
  assert.equal(engine.applyBlock(next(engine, [txs.next(griefer, withdraw(10))])).results[0]?.status, 'OK');
});

test(`attack cost: blocking an honest withdrawal takes ${MAX_WITHDRAWALS_PER_CHECKPOINT / CAP} funded accounts (${(MAX_WITHDRAWALS_PER_CHECKPOINT * MIN) / USDC} USDC withdrawn) per period`, () => {
  // 1,024 slots / 8 per account = 128 accounts, each withdrawing 8 × 10 USDC: one account fewer
  // leaves a slot the honest withdrawal takes; exactly 128 fill the period.
  const needed = MAX_WITHDRAWALS_PER_CHECKPOINT / CAP;
  const sybils = Array.from({ length: needed }, (_, i) => testSigner(`sybil-${i}`));
  const honest = testSigner('honest-trader');
  for (const accounts of [needed - 1, needed]) {
    const engine = createEngine({
      ...testGenesis({ traders: [...sybils, honest], balanceUsdc: (CAP * MIN) / USDC }),
      bridge: BRIDGE,
    });
    const txs = createTransactionBuilder();
    const grief = sybils.slice(0, accounts).flatMap((sybil) => burst(txs, sybil, CAP, MIN));
    const r = engine.applyBlock(next(engine, [...grief, txs.next(honest, withdraw(10))]));
    assert.ok(r.results.slice(0, -1).every((x) => x.status === 'OK'));
    assert.equal(r.results.at(-1)?.status, accounts < needed ? 'OK' : 'WITHDRAWALS_FULL');
  }
});

test('a withdrawal of exactly the minimum enters; one unit less is refused and changes nothing', () => {
  const engine = createEngine(bridged());
  const txs = createTransactionBuilder();
  const below = burst(txs, alice, 1, MIN - 1);
  txs.rewind(alice);
  const at = burst(txs, alice, 1, MIN);
  const r = engine.applyBlock(next(engine, [...below, ...at]));
  assert.deepEqual(
    r.results.map((x) => x.status),
    ['WITHDRAWAL_TOO_SMALL', 'OK'],
  );
  assert.equal(engine.account(alice.publicKey)!.balance, 10_000n * BigInt(USDC) - BigInt(MIN));
});
