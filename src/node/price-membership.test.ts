/**
 * Who a node's transport admits across a validator-set change (price-membership.ts
 * `networkMembership`, read from the committed record as the node reads it). Attacks first: a
 * joiner whose addition is only proposed (queued behind the governance timelock) is not admitted;
 * a removed validator is admitted only while the reshare it deals in runs, within its epoch, and
 * never after. The addition itself: admitted from the block that schedules it, in the directory
 * after the genesis keys with the address governance gave it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VALIDATOR_CHANGE, ValidatorSetRecordCodec } from '../codec/execution.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEngine } from '../execution/engine.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  testGenesis,
  testGovernance,
  testSigner,
} from '../execution/fixtures.ts';
import { VALIDATOR_SET_STATE_KEY } from '../execution/records.ts';
import { validatorSetGenesis } from './epochs.ts';
import type { GenesisValidator } from './genesis.ts';
import { networkMembership } from './price-membership.ts';

const EPOCH_BLOCKS = 10;
const signers = Array.from({ length: 5 }, (_, i) => testSigner(`membership-${i}`));
const validatorsOf = (count: number): GenesisValidator[] =>
  signers.slice(0, count).map((s, i) => ({
    publicKey: s.publicKey,
    p2p: { host: '127.0.0.1', port: 9200 + i },
    api: `http://127.0.0.1:${8200 + i}`,
  }));
const joiner = signers[4]!.publicKey;
const hexes = (keys: readonly Uint8Array[]) => keys.map((key) => toHex(key)).sort();

function chain(timelockMs: number, validators: number) {
  const execution = createEngine({
    ...testGenesis({ governance: testGovernance({ timelockMs }) }),
    validatorSet: validatorSetGenesis(validatorsOf(validators), EPOCH_BLOCKS)!,
  });
  const txs = createTransactionBuilder();
  const block = (transactions: ReturnType<typeof txs.next>[] = [], advanceMs = 1000) =>
    execution.applyBlock({
      height: execution.height + 1,
      timeMs: execution.timeMs + advanceMs,
      transactions,
      oracle: [],
    });
  const membership = (resharing: boolean) => {
    const bytes = execution.stateValue(VALIDATOR_SET_STATE_KEY);
    assert.ok(bytes !== undefined, 'the record is committed');
    return networkMembership(ValidatorSetRecordCodec.decode(bytes), execution.height, resharing);
  };
  return { execution, txs, block, membership };
}

const change = (op: number, publicKey: Uint8Array, p2p = '', api = '') =>
  governed({
    kind: 'changeValidators',
    value: {
      op,
      publicKey,
      p2p: new TextEncoder().encode(p2p),
      api: new TextEncoder().encode(api),
    },
  });

test('attack: a joiner whose addition is only proposed (in its timelock) is not admitted; once scheduled it is, then a member', () => {
  const { execution, txs, block, membership } = chain(60_000, 4);
  const result = block([
    txs.next(GOVERNANCE, change(VALIDATOR_CHANGE.add, joiner, '127.0.0.1:9204', 'http://x')),
  ]);
  assert.equal(result.results[0]!.status, 'OK');
  assert.ok(result.events.some((event) => event.type === 'governanceQueued'));
  assert.equal(execution.validatorSet()?.pending, undefined);
  // Proposed, signed by the governors, queued: not in the current or next set.
  for (const resharing of [false, true]) {
    const now = membership(resharing);
    assert.deepEqual(hexes(now.admitted), hexes(signers.slice(0, 4).map((s) => s.publicKey)));
    assert.ok(now.peers.every((peer) => toHex(peer.publicKey) !== toHex(joiner)));
  }
  // The timelock runs out: the change executes and is scheduled for its boundary.
  block([], 61_000);
  assert.equal(execution.validatorSet()?.pending?.op, 'add');
  const scheduled = membership(false);
  assert.ok(hexes(scheduled.admitted).includes(toHex(joiner)), 'admitted as the next set’s member');
  assert.deepEqual(scheduled.peers.at(-1), { publicKey: joiner, p2p: '127.0.0.1:9204' });
  assert.deepEqual(
    scheduled.peers.slice(0, 4).map((peer) => toHex(peer.publicKey)),
    signers.slice(0, 4).map((s) => toHex(s.publicKey)),
    'genesis keys first, in index order',
  );
  for (let guard = 0; execution.validatorSet()!.epoch === 1; guard++) {
    assert.ok(
      guard < 100,
      `the change applies (pending: ${JSON.stringify(execution.validatorSet()?.pending)})`,
    );
    block();
  }
  assert.deepEqual(hexes(membership(false).admitted), hexes(signers.map((s) => s.publicKey)));
});

test('attack: a removed validator is admitted only while the reshare it deals in runs, within its epoch', () => {
  const { execution, txs, block, membership } = chain(0, 5);
  const removed = signers[1]!.publicKey;
  const result = block([txs.next(GOVERNANCE, change(VALIDATOR_CHANGE.remove, removed))]);
  assert.equal(result.results[0]!.status, 'OK');
  // Still a member until the boundary.
  assert.ok(hexes(membership(false).admitted).includes(toHex(removed)));
  for (let guard = 0; execution.validatorSet()!.epoch === 1; guard++) {
    assert.ok(
      guard < 100,
      `the change applies (pending: ${JSON.stringify(execution.validatorSet()?.pending)})`,
    );
    block();
  }
  const boundary = execution.height;
  // At the boundary: for the reshare (it deals), and only then.
  assert.ok(hexes(membership(true).admitted).includes(toHex(removed)), 'while the reshare runs');
  assert.ok(!hexes(membership(false).admitted).includes(toHex(removed)), 'refused once it ended here');
  // A reshare still "running" an epoch later (stuck) does not keep it in.
  while (execution.height < boundary + EPOCH_BLOCKS) block();
  assert.ok(!hexes(membership(true).admitted).includes(toHex(removed)), 'not past its removal epoch');
  // It stays in the directory (ids never move), just not admitted.
  assert.ok(membership(false).peers.some((peer) => toHex(peer.publicKey) === toHex(removed)));
});
