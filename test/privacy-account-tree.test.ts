/**
 * The engine's Poseidon account tree (src/execution/account-tree.ts) under attack, then in use: a
 * trader registers `Poseidon(secret)`, the tree's root is committed under the state root with the
 * mark table, a state proof of that record checks against the engine root, and a margin proof built
 * from the engine's own witness verifies against the committed root — and not against another.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccountTreeRecordCodec, MarkTableCodec } from '../src/codec/account-tree.ts';
import { EngineSnapshotCodec } from '../src/codec/snapshot.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { accountLeaf, ownerCommitment, PoseidonTree, syncPoseidon } from '../src/crypto/poseidon-tree.ts';
import { verifyStateProof } from '../src/crypto/state-commitment.ts';
import { bytesToField, fieldToBytes } from '../src/execution/account-tree.ts';
import {
  ACCOUNT_TREE_STATE_KEY,
  createEngine,
  type Engine,
  ownerCommitmentStateKey,
  restoreEngine,
  SnapshotError,
} from '../src/execution/engine.ts';
import {
  createTransactionBuilder,
  limitOrder,
  OPERATOR,
  testGenesis,
  testSigner,
  USDC,
} from '../src/execution/fixtures.ts';
import type { Block, TransactionResult } from '../src/execution/types.ts';
import { artifactsBuilt, loadProverArtifacts, loadVerificationKey } from '../src/privacy/keys.ts';
import { MarginProofError, type MarginStatement, TagRegistry } from '../src/privacy/margin-proof.ts';
import { proveMargin, shutdownProver, verifyMargin } from '../src/privacy/prover.ts';

const START = Date.UTC(2026, 0, 1);
const alice = testSigner('tree-alice');
const eve = testSigner('tree-eve');
const bob = testSigner('tree-bob');
const stranger = testSigner('tree-stranger');
const genesis = testGenesis({ startTimeMs: START, traders: [alice, eve, bob], balanceUsdc: 100_000 });
const oracle = (timeMs: number) => [
  { underlyingId: 1, price: 60_000 * USDC, confidence: 10 * USDC, publishTimeMs: timeMs, stale: false },
];
const ALICE_SECRET = 0x5ec12e7n;
const aliceCommitment = ownerCommitment(syncPoseidon, ALICE_SECRET);

function runner(engine: Engine) {
  const txs = createTransactionBuilder();
  return {
    txs,
    block(transactions: Block['transactions']): TransactionResult[] {
      const height = engine.height + 1;
      const timeMs = START + height * 1000;
      return engine.applyBlock({ height, timeMs, transactions, oracle: oracle(timeMs) }).results;
    },
  };
}

const register = (commitment: bigint) =>
  ({ kind: 'registerCommitment', value: { commitment: fieldToBytes(commitment) } }) as const;

test('attacks: another account, a stolen or replaced commitment, an account that does not exist', () => {
  const engine = createEngine(genesis);
  const { txs, block } = runner(engine);
  assert.equal(engine.accountTree(), undefined, 'no tree before the first registration');
  const [ok] = block([txs.next(alice, register(aliceCommitment))]);
  assert.equal(ok?.status, 'OK');
  const before = engine.accountTree()!;
  // Eve copies Alice's commitment (seen in the public state): one secret may not open two accounts.
  const [stolen] = block([txs.next(eve, register(aliceCommitment))]);
  assert.equal(stolen?.status, 'COMMITMENT_TAKEN');
  assert.equal(engine.accountWitness(eve.publicKey), undefined);
  // Alice's account cannot be given another commitment, by anyone: the action names no account, so
  // Eve's signature can only ever register Eve's; Alice herself registers once.
  const [replaced] = block([txs.next(alice, register(ownerCommitment(syncPoseidon, 42n)))]);
  assert.equal(replaced?.status, 'COMMITMENT_ALREADY_SET');
  assert.equal(engine.accountWitness(alice.publicKey)?.commitment, aliceCommitment);
  // Zero and a value outside the field are refused and consume nothing.
  const [zero] = block([txs.next(bob, register(0n))]);
  assert.equal(zero?.status, 'INVALID_COMMITMENT');
  txs.rewind(bob);
  // A key with no account, and the operator key (no trader): no leaf appears.
  const [unknown] = block([txs.next(stranger, register(7n))]);
  assert.equal(unknown?.status, 'UNKNOWN_ACCOUNT');
  const [operator] = block([txs.next(OPERATOR, register(8n))]);
  assert.equal(operator?.status, 'UNAUTHORIZED');
  const after = engine.accountTree()!;
  assert.equal(after.leaves, 1);
  assert.equal(after.root, before.root, 'no refused registration moved the tree');
  // A snapshot naming a commitment for an account that does not exist does not restore.
  const snapshot = EngineSnapshotCodec.decode(engine.snapshot());
  const forged = EngineSnapshotCodec.encode({
    ...snapshot,
    commitments: [...snapshot.commitments, { index: 99, commitment: fieldToBytes(9n) }],
  });
  assert.throws(
    () => restoreEngine(forged, genesis),
    (error: unknown) => error instanceof SnapshotError && error.code === 'INCONSISTENT_SNAPSHOT',
  );
});

test('the tree follows the accounts incrementally, is in the state root, and restores from a snapshot', () => {
  const engine = createEngine(genesis);
  const { txs, block } = runner(engine);
  const rootWithout = engine.stateRoot();
  block([
    txs.next(alice, register(aliceCommitment)),
    txs.next(bob, register(ownerCommitment(syncPoseidon, 77n))),
  ]);
  assert.notDeepEqual(engine.stateRoot(), rootWithout);
  // Alice sells a call to Bob: both leaves move; Eve's account (unregistered) is in no leaf.
  block([txs.next(alice, limitOrder(1, 'sell', 6000, 1)), txs.next(bob, limitOrder(1, 'buy', 6000, 1))]);
  const view = engine.accountTree()!;
  assert.equal(view.leaves, 2);
  assert.equal(view.leavesUpdated, 2, 'the block rehashed the two registered accounts it touched');
  // Recomputed from the public accounts, from scratch: the same root.
  const scratch = new PoseidonTree(syncPoseidon, 20);
  for (const [signer, commitment] of [
    [alice, aliceCommitment],
    [bob, ownerCommitment(syncPoseidon, 77n)],
  ] as const) {
    const account = engine.account(signer.publicKey)!;
    const witness = engine.accountWitness(signer.publicKey)!;
    assert.ok(witness.leaf !== undefined);
    assert.equal(witness.leaf.balance, account.balance);
    scratch.set(witness.index, accountLeaf(syncPoseidon, { ...witness.leaf, ownerCommitment: commitment }));
  }
  assert.equal(scratch.root(), view.root);
  assert.ok(engine.accountWitness(alice.publicKey)!.leaf!.positions.some((p) => p.lots < 0));
  // The record is under the state root: a third party checks it with a state proof.
  const record = AccountTreeRecordCodec.decode(view.record);
  assert.equal(bytesToField(record.root), view.root);
  assert.deepEqual(record.markTableSha256, sha256(view.markTable));
  assert.equal(MarkTableCodec.decode(view.markTable).series.length, 20);
  const proof = engine.prove(ACCOUNT_TREE_STATE_KEY);
  assert.ok(verifyStateProof(engine.stateRoot(), ACCOUNT_TREE_STATE_KEY, view.record, proof));
  const lied = AccountTreeRecordCodec.encode({ ...record, root: fieldToBytes(view.root + 1n) });
  assert.ok(!verifyStateProof(engine.stateRoot(), ACCOUNT_TREE_STATE_KEY, lied, proof));
  assert.ok(engine.stateValue(ownerCommitmentStateKey(engine.accountWitness(alice.publicKey)!.index)));
  // Restored from a snapshot: same root, same tree, same future.
  const restored = restoreEngine(engine.snapshot(), genesis);
  assert.deepEqual(restored.stateRoot(), engine.stateRoot());
  assert.equal(restored.accountTree()!.root, view.root);
  const next = runner(restored);
  const t1 = txs.next(bob, {
    kind: 'withdraw',
    value: { amount: 5 * USDC, recipient: new Uint8Array(20), token: new Uint8Array(20) },
  });
  block([t1]);
  next.block([t1]);
  assert.deepEqual(restored.stateRoot(), engine.stateRoot());
  assert.equal(restored.accountTree()!.root, engine.accountTree()!.root);
  assert.equal(engine.accountTree()!.leavesUpdated, 1);
});

test('a proof from the engine witness verifies against the committed root, and not against another root', {
  skip: !artifactsBuilt(1) && 'circuit 1 not built',
}, async () => {
  const engine = createEngine(genesis);
  const { txs, block } = runner(engine);
  block([
    txs.next(alice, register(aliceCommitment)),
    txs.next(bob, register(ownerCommitment(syncPoseidon, 77n))),
  ]);
  block([txs.next(alice, limitOrder(1, 'sell', 6000, 1)), txs.next(bob, limitOrder(1, 'buy', 6000, 1))]);
  const view = engine.accountTree()!;
  const table = MarkTableCodec.decode(view.markTable);
  const statement: MarginStatement = {
    height: view.height,
    root: view.root,
    mmBps: table.mmBps,
    kBps: 15_000,
    challenge: 123_456_789n,
    series: table.series.map((s) => ({ ...s, spot: BigInt(s.spot) })),
  };
  const witness = engine.accountWitness(alice.publicKey)!;
  try {
    const proof = await proveMargin(
      syncPoseidon,
      loadProverArtifacts(1),
      statement,
      { ...witness.leaf!, secret: ALICE_SECRET, index: witness.index, path: witness.path },
      witness.commitment,
      { singleThread: true },
    );
    assert.ok(!('account' in proof) && !JSON.stringify(proof).includes(alice.publicKey.toString()));
    const context = (accountRoot: bigint) => ({
      checkpoint: { height: view.height, accountRoot },
      currentHeight: engine.height,
      maxAgeBlocks: 16,
      verificationKeys: { 1: loadVerificationKey(1) },
      tags: new TagRegistry(),
    });
    // A verifier holding a root that is not the certified one (the prover's own, made-up tree).
    await assert.rejects(
      verifyMargin({ ...statement, root: view.root + 1n }, proof, context(view.root + 1n)),
      (error: unknown) => error instanceof MarginProofError && error.code === 'WRONG_STATEMENT',
    );
    await assert.rejects(
      verifyMargin(statement, proof, context(view.root + 1n)),
      (error: unknown) => error instanceof MarginProofError && error.code === 'WRONG_ROOT',
    );
    const accepted = await verifyMargin(statement, proof, context(view.root));
    assert.equal(accepted.height, view.height);
  } finally {
    await shutdownProver();
  }
});
