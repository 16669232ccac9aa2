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
import type { Block, EngineGenesis } from './types.ts';
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
  engine.applyBlock(next(engine, [txs.next(alice, withdraw(1))]));
  engine.applyBlock(next(engine, [txs.next(bob, withdraw(2))]));
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
  engine.applyBlock(next(engine, [txs.next(alice, withdraw(3))]));
  const after = engine.withdrawals()!;
  assert.equal(after.checkpointHeight, 8);
  assert.deepEqual(
    after.entries.map((w) => w.id),
    [3],
  );
  assert.ok(!bytesEqual(after.root, atCheckpoint.root));
});

test('attack: a period holds at most its bound; the one beyond is an outcome that debits nothing', () => {
  const traders = Array.from({ length: 8 }, (_, i) => testSigner(`many-${i}`));
  const engine = createEngine({
    ...testGenesis({ traders, balanceUsdc: 10_000 }),
    bridge: BRIDGE,
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
    const block = [
      ...burst(txs, griefer, MAX_WITHDRAWALS_PER_CHECKPOINT, 1),
      txs.next(honest, withdraw(10)),
    ];
    const r = engine.applyBlock(next(engine, block));
    assert.equal(r.results.at(-1)?.status, 'OK', `the honest withdrawal enters period ${period}`);
    assert.equal(r.results.filter((x) => x.status === 'OK').length, 1, 'no dust entered');
    for (let i = 0; i < BRIDGE.checkpointEveryBlocks - 1; i++) engine.applyBlock(next(engine, []));
  }
  assert.equal(engine.account(honest.publicKey)!.balance, 70n * BigInt(USDC));
  assert.equal(engine.account(griefer.publicKey)!.balance, 100n * BigInt(USDC));
});

test('attack: withdrawals at the minimum from one account take at most its share of a period', () => {
  const griefer = testSigner('min-griefer');
  const honest = testSigner('honest-trader');
  const engine = createEngine({
    ...testGenesis({ traders: [griefer, honest], balanceUsdc: 20_000 }),
    bridge: BRIDGE,
  });
  const txs = createTransactionBuilder();
  const block = [
    ...burst(txs, griefer, MAX_WITHDRAWALS_PER_CHECKPOINT, 10 * USDC),
    txs.next(honest, withdraw(10)),
  ];
  const r = engine.applyBlock(next(engine, block));
  assert.equal(r.results.at(-1)?.status, 'OK');
  assert.equal(engine.withdrawals()!.entries.length, 9);
});
