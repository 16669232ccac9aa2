/**
 * From governance to the consensus schedule (src/node/epochs.ts): a `ChangeValidators` executed by
 * the real execution engine lands at its boundary (the first one at least the state-root lag ahead), and the node's glue schedules epoch 2 on
 * the consensus side from the view after the boundary block. Attacks: a replayed boundary block
 * (restart) scheduling the epoch twice or at another view; a catch-up across a boundary block this
 * node does not hold; a vote of the removed validator after the boundary; a genesis whose parsed
 * and built forms disagree on the committed set (their roots would differ).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VoteKind } from '../codec/consensus.ts';
import { VALIDATOR_CHANGE } from '../codec/execution.ts';
import { createValidatorSchedule, verifyVoteInEpoch } from '../consensus/epochs.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { signVote } from '../consensus/votes.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { createEngine } from '../execution/engine.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  governed,
  testGenesis,
  testGovernance,
  testSigner,
} from '../execution/fixtures.ts';
import {
  catchUpEpochs,
  currentValidatorStatus,
  epochGateHeight,
  followValidatorEpoch,
  validatorSetGenesis,
} from './epochs.ts';
import { buildGenesis, type GenesisValidator, genesisToJson, parseGenesis } from './genesis.ts';

const EPOCH_BLOCKS = 10;
/** The change executes at height 3; boundary 10 is closer than the 16-block lead, so 20. */
const BOUNDARY = 2 * EPOCH_BLOCKS;
const signers = Array.from({ length: 5 }, (_, i) => testSigner(`node-epochs-${i}`));
const validators: GenesisValidator[] = signers.map((s, i) => ({
  publicKey: s.publicKey,
  p2p: { host: '127.0.0.1', port: 9100 + i },
  api: `http://127.0.0.1:${8100 + i}`,
}));
const genesisSet = createValidatorSet(signers.map((s) => s.publicKey));

function follower() {
  const schedule = createValidatorSchedule({ epoch: 1, firstView: 1, validators: genesisSet });
  const calls: number[] = [];
  return {
    schedule,
    calls,
    engine: {
      epochAt: (view: number) => schedule.at(view),
      scheduleEpoch: (next: Parameters<typeof schedule.schedule>[0]) => {
        calls.push(next.firstView);
        schedule.schedule(next);
      },
    },
  };
}

test('the gate: above a boundary only once it is executed; none without epochs', () => {
  assert.deepEqual(
    [1, 10, 11, 20, 21, 35].map((h) => epochGateHeight(EPOCH_BLOCKS, h)),
    [0, 0, 10, 10, 20, 30],
  );
  assert.equal(epochGateHeight(0, 1000), 0);
  assert.equal(epochGateHeight(undefined, 1000), 0);
});

test('governance removes a validator: epoch 2 is scheduled once, from the view after the boundary block', () => {
  const execution = createEngine({
    ...testGenesis({ governance: testGovernance({ timelockMs: 0 }) }),
    validatorSet: validatorSetGenesis(validators, EPOCH_BLOCKS)!,
  });
  const txs = createTransactionBuilder();
  const { engine, schedule, calls } = follower();
  const removal = governed({
    kind: 'changeValidators',
    value: {
      op: VALIDATOR_CHANGE.remove,
      publicKey: signers[1]!.publicKey,
      p2p: new Uint8Array(0),
      api: new Uint8Array(0),
    },
  });
  const viewOf = (height: number) => height * 2 + 1; // some views were nullified on the way
  for (let height = 1; height <= 3 * EPOCH_BLOCKS; height++) {
    const result = execution.applyBlock({
      height,
      timeMs: execution.timeMs + 1000,
      transactions: height === 3 ? [txs.next(GOVERNANCE, removal)] : [],
      oracle: [],
    });
    if (height === 3) assert.equal(result.results[0]!.status, 'OK');
    followValidatorEpoch(engine, viewOf(height), execution.validatorSet());
  }
  const firstView = viewOf(BOUNDARY) + 1;
  assert.deepEqual(calls, [firstView], 'scheduled exactly once');
  assert.equal(schedule.at(firstView - 1)!.epoch, 1);
  const next = schedule.at(firstView)!.validators;
  assert.equal(next.size, 4);
  assert.ok(next.publicKeys.every((key) => !bytesEqual(key, signers[1]!.publicKey)));
  // A replayed boundary block (a restart replaying from a snapshot) schedules nothing again.
  followValidatorEpoch(engine, viewOf(BOUNDARY), execution.validatorSet());
  assert.deepEqual(calls, [firstView]);
  // The removed validator's vote after the boundary, under its old index, is refused; before, it counted.
  const vote = (view: number) =>
    signVote(signers[1]!, 7, { kind: VoteKind.nullify, view, digest: new Uint8Array(32), signerIndex: 1 });
  assert.equal(verifyVoteInEpoch(schedule, 7, vote(firstView - 1)), true);
  assert.equal(verifyVoteInEpoch(schedule, 7, vote(firstView)), false);

  // A node restarting from a snapshot taken after the boundary catches up from the record.
  const restarted = follower();
  assert.deepEqual(catchUpEpochs(restarted.engine, execution.validatorSet(), viewOf), [2]);
  assert.deepEqual(restarted.calls, [firstView]);
  assert.deepEqual(catchUpEpochs(restarted.engine, execution.validatorSet(), viewOf), [], 'idempotent');
  // Without the boundary block stored here, it schedules nothing rather than guess a view.
  const blind = follower();
  assert.deepEqual(
    catchUpEpochs(blind.engine, execution.validatorSet(), () => undefined),
    [],
  );
  assert.equal(blind.schedule.latest().epoch, 1);
});

test('built and parsed genesis commit the same validator set, and none without epochs', () => {
  const options = {
    chainId: 7,
    validators,
    operator: signers[0]!.publicKey,
    governance: testGovernance(),
    startTimeMs: Date.UTC(2026, 0, 1),
  };
  const built = buildGenesis({ ...options, epochBlocks: EPOCH_BLOCKS });
  const parsed = parseGenesis(JSON.parse(JSON.stringify(genesisToJson(built))));
  assert.deepEqual(parsed.engine.validatorSet, built.engine.validatorSet);
  assert.equal(built.engine.validatorSet!.members.length, 5);
  assert.ok(
    bytesEqual(createEngine(parsed.engine).stateRoot(), createEngine(built.engine).stateRoot()),
    'same root',
  );
  assert.equal(buildGenesis(options).engine.validatorSet, undefined);
});

test('attack: a replay that crosses a later boundary before the earlier epochs are scheduled neither throws nor skips one', () => {
  const hex = (i: number) => `0x${Buffer.from(signers[i]!.publicKey).toString('hex')}`;
  const committed = {
    epoch: 3,
    epochBlocks: EPOCH_BLOCKS,
    members: [],
    pending: undefined,
    epochs: [
      { epoch: 1, sinceHeight: 0, keys: [0, 1, 2, 3, 4].map(hex) },
      { epoch: 2, sinceHeight: 10, keys: [0, 2, 3, 4].map(hex) },
      { epoch: 3, sinceHeight: 20, keys: [0, 2, 3, 4, 1].map(hex) },
    ],
  };
  const { engine, schedule, calls } = follower();
  // Block 20 replayed while epoch 2 is not scheduled yet: nothing, rather than epoch 3 after 1.
  assert.equal(followValidatorEpoch(engine, 41, committed), undefined);
  assert.deepEqual(calls, []);
  assert.deepEqual(
    catchUpEpochs(engine, committed, (height) => height * 2),
    [2, 3],
  );
  assert.deepEqual(calls, [21, 41]);
  assert.equal(schedule.at(40)!.epoch, 2);
  assert.equal(schedule.at(41)!.validators.size, 5);
  assert.equal(followValidatorEpoch(engine, 41, committed), undefined, 'already scheduled');
});

test('status lists the current epoch: a removed validator drops out, the others keep their transport index', () => {
  const execution = createEngine({
    ...testGenesis({ governance: testGovernance({ timelockMs: 0 }) }),
    validatorSet: validatorSetGenesis(validators, EPOCH_BLOCKS)!,
  });
  const txs = createTransactionBuilder();
  const removal = governed({
    kind: 'changeValidators',
    value: {
      op: VALIDATOR_CHANGE.remove,
      publicKey: signers[1]!.publicKey,
      p2p: new Uint8Array(0),
      api: new Uint8Array(0),
    },
  });
  const directory = signers.map((s) => s.publicKey);
  const status = () =>
    currentValidatorStatus({
      genesisKeys: directory,
      committed: execution.validatorSet(),
      self: 0,
      peerOf: (key) => {
        const i = directory.findIndex((k) => bytesEqual(k, key));
        return i < 0 ? undefined : i;
      },
      peers: [2, 3, 4].map((peer) => ({ peer, connected: peer !== 4, score: 10 * peer })),
    });
  for (let height = 1; height <= BOUNDARY; height++) {
    if (height === BOUNDARY)
      assert.deepEqual(
        status().map((v) => v.index),
        [0, 1, 2, 3, 4],
        'before',
      );
    execution.applyBlock({
      height,
      timeMs: execution.timeMs + 1000,
      transactions: height === 3 ? [txs.next(GOVERNANCE, removal)] : [],
      oracle: [],
    });
  }
  const after = status();
  assert.deepEqual(
    after.map((v) => v.index),
    [0, 2, 3, 4],
  );
  assert.ok(after.every((v) => !bytesEqual(v.publicKey, signers[1]!.publicKey)));
  assert.deepEqual(
    after.map((v) => [v.self, v.connected, v.score]),
    [
      [true, true, undefined],
      [false, true, 20],
      [false, true, 30],
      [false, false, 40],
    ],
  );
  // Without epochs, the genesis list.
  assert.equal(
    currentValidatorStatus({
      genesisKeys: directory,
      committed: undefined,
      self: 0,
      peerOf: () => undefined,
      peers: [],
    }).length,
    5,
  );
});
