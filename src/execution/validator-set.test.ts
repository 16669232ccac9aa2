/**
 * Validator-set change by governance (issue 11), tried as an attacker would: a change without the
 * governors' threshold, a replayed one, one run before its timelock, one leaving three validators
 * (and so removing all of them one by one), adding a key that is already a member or is no curve
 * point, removing a stranger, two changes for one boundary (which would break quorum
 * intersection across it), and a change that lands anywhere but the first epoch boundary at least
 * the state-root lag ahead (closer, no root the old set finalizes would show it to a light client). The
 * genesis: five validators, epochs of 10 blocks, 3-of-5 governors, a one-minute timelock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GovernanceAction, VALIDATOR_CHANGE, ValidatorSetRecordCodec } from '../codec/execution.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import {
  createTransactionBuilder,
  GOVERNANCE,
  GOVERNORS,
  governed,
  testGenesis,
  testGovernance,
  testSigner,
} from './fixtures.ts';
import { VALIDATOR_SET_STATE_KEY } from './records.ts';
import type { Block, BlockResult, EngineGenesis } from './types.ts';
import { changeBoundary, VALIDATOR_CHANGE_LEAD_BLOCKS } from './validator-set.ts';

const START = Date.UTC(2026, 0, 1);
const TIMELOCK_MS = 60_000;
const EPOCH_BLOCKS = 10;
const validators = Array.from({ length: 6 }, (_, i) => testSigner(`validator-set-${i}`));
const encoder = new TextEncoder();

function setup(count = 5): {
  engine: Engine;
  genesis: EngineGenesis;
  submit: (action: ReturnType<typeof governed>) => BlockResult;
  block: (advanceMs?: number) => BlockResult;
} {
  const genesis: EngineGenesis = {
    ...testGenesis({ startTimeMs: START, governance: testGovernance({ timelockMs: TIMELOCK_MS }) }),
    validatorSet: {
      epochBlocks: EPOCH_BLOCKS,
      members: validators.slice(0, count).map((signer, i) => ({
        publicKey: signer.publicKey,
        p2p: `127.0.0.1:${9000 + i}`,
        api: `http://127.0.0.1:${8000 + i}`,
      })),
    },
  };
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  const apply = (advanceMs: number, transactions: Block['transactions']) =>
    engine.applyBlock({
      height: engine.height + 1,
      timeMs: engine.timeMs + advanceMs,
      transactions,
      oracle: [],
    });
  const submit = (action: ReturnType<typeof governed>) => {
    const result = apply(1000, [txs.next(GOVERNANCE, action)]);
    if (result.results[0]!.status !== 'OK') txs.rewind(GOVERNANCE);
    return result;
  };
  return { engine, genesis, submit, block: (advanceMs = 1000) => apply(advanceMs, []) };
}

function change(op: 'add' | 'remove', index: number, p2p = `127.0.0.1:${9000 + index}`): GovernanceAction {
  return {
    kind: 'changeValidators',
    value: {
      op: VALIDATOR_CHANGE[op],
      publicKey: validators[index]!.publicKey,
      p2p: op === 'add' ? encoder.encode(p2p) : new Uint8Array(0),
      api: op === 'add' ? encoder.encode(`http://127.0.0.1:${8000 + index}`) : new Uint8Array(0),
    },
  };
}

const keysOf = (engine: Engine) => engine.validatorSet()!.members.map((member) => member.publicKey);
const hex = (index: number) => `0x${toHex(validators[index]!.publicKey)}`;
const status = (result: BlockResult) => result.results[0]!;

/** Runs blocks until the engine is at `height`. */
function runTo(engine: Engine, block: (advanceMs?: number) => BlockResult, height: number): BlockResult[] {
  const results: BlockResult[] = [];
  while (engine.height < height) results.push(block(TIMELOCK_MS));
  return results;
}

test('attack: without the governors threshold, or replayed, a validator change is refused and changes nothing', () => {
  const { engine, submit, block } = setup();
  const before = keysOf(engine);
  assert.equal(
    status(submit(governed(change('remove', 4), { signers: GOVERNORS.slice(0, 2) }))).status,
    'INSUFFICIENT_SIGNATURES',
  );
  const stranger = testSigner('validator-set-stranger');
  assert.equal(
    status(submit(governed(change('add', 5), { signers: [GOVERNORS[0]!, GOVERNORS[0]!, stranger] }))).status,
    'INSUFFICIENT_SIGNATURES',
  );
  const accepted = governed(change('remove', 4), { proposalId: 901 });
  assert.equal(status(submit(accepted)).status, 'OK');
  assert.equal(status(submit(accepted)).status, 'PROPOSAL_REPLAYED');
  // Queued, not scheduled, until the timelock ends: nothing pending, nothing changed.
  assert.equal(engine.validatorSet()!.pending, undefined);
  runTo(engine, block, 3 * EPOCH_BLOCKS + 1);
  // One removal went through; the replay did not remove a second validator.
  assert.deepEqual(keysOf(engine), before.slice(0, 4));
});

test('attack: a change that leaves fewer than 4 validators is refused, so no sequence removes them all', () => {
  const { engine, submit, block } = setup(4);
  for (const index of [0, 1, 2, 3])
    assert.deepEqual(status(submit(governed(change('remove', index)))), {
      status: 'INVALID_PROPOSAL',
      field: 'action.op',
    });
  runTo(engine, block, 3 * EPOCH_BLOCKS);
  assert.equal(keysOf(engine).length, 4);
  assert.equal(engine.validatorSet()!.epoch, 1);
});

test('attack: adding a member again, adding a non-point, removing a stranger, an add without address: refused', () => {
  const { engine, submit, block } = setup();
  const add5 = change('add', 5).value as Extract<GovernanceAction, { kind: 'changeValidators' }>['value'];
  const bad: [GovernanceAction, string][] = [
    [change('add', 2), 'action.publicKey'],
    [
      { kind: 'changeValidators', value: { ...add5, publicKey: new Uint8Array(32).fill(0xff) } },
      'action.publicKey',
    ],
    // The identity point: small order, it would verify forged signatures.
    [
      { kind: 'changeValidators', value: { ...add5, publicKey: Uint8Array.of(1, ...new Uint8Array(31)) } },
      'action.publicKey',
    ],
    [change('remove', 5), 'action.publicKey'],
    [change('add', 5, 'no-port-here'), 'action.p2p'],
  ];
  for (const [action, field] of bad)
    assert.deepEqual(status(submit(governed(action))), { status: 'INVALID_PROPOSAL', field }, field);
  runTo(engine, block, 2 * EPOCH_BLOCKS);
  assert.deepEqual(
    keysOf(engine),
    validators.slice(0, 5).map((_, i) => hex(i)),
  );
  assert.equal(engine.validatorSet()!.epoch, 1);
});

test('attack: a second change for the same boundary is refused (one validator enters or leaves per epoch)', () => {
  const { engine, submit, block } = setup();
  submit(governed(change('remove', 4)));
  submit(governed(change('add', 5)));
  const ran = block(TIMELOCK_MS);
  const reasons = ran.events.flatMap((event) => (event.type === 'governanceFailed' ? [event.reason] : []));
  assert.deepEqual(reasons, ['action.pending']);
  assert.equal(engine.validatorSet()!.pending?.publicKey, hex(4));
});

test('a change takes effect at the first boundary at least the state-root lag ahead; the record in the root and a snapshot carry it', () => {
  const { engine, genesis, submit, block } = setup();
  runTo(engine, block, 2);
  submit(governed(change('add', 5)));
  const scheduled = block(TIMELOCK_MS);
  const executedAt = engine.height;
  assert.equal(executedAt, 4);
  const event = scheduled.events.find((e) => e.type === 'validatorChangeScheduled');
  assert.ok(event !== undefined && event.type === 'validatorChangeScheduled');
  // Boundary 10 is closer than the lead (a root committed by an old-set block would not show the
  // change): the change waits for boundary 20, whose block commits the root after 4 ≥ executedAt.
  const BOUNDARY = 2 * EPOCH_BLOCKS;
  assert.ok(EPOCH_BLOCKS - executedAt < VALIDATOR_CHANGE_LEAD_BLOCKS);
  assert.ok(BOUNDARY - executedAt >= VALIDATOR_CHANGE_LEAD_BLOCKS);
  assert.equal(event.effectiveHeight, BOUNDARY);
  assert.equal(engine.validatorSet()!.pending?.effectiveHeight, BOUNDARY);
  assert.equal(changeBoundary(EPOCH_BLOCKS, BOUNDARY - VALIDATOR_CHANGE_LEAD_BLOCKS), BOUNDARY);
  assert.equal(
    changeBoundary(EPOCH_BLOCKS, BOUNDARY - VALIDATOR_CHANGE_LEAD_BLOCKS + 1),
    BOUNDARY + EPOCH_BLOCKS,
  );
  // The pending change is in the root: a restored engine has it and the same root.
  const copy = restoreEngine(engine.snapshot(), genesis);
  assert.ok(bytesEqual(copy.stateRoot(), engine.stateRoot()));
  assert.equal(copy.validatorSet()!.pending?.publicKey, hex(5));
  const results = runTo(engine, block, BOUNDARY - 1);
  assert.ok(results.every((r) => !r.events.some((e) => e.type === 'validatorSetChanged')));
  assert.equal(keysOf(engine).length, 5, 'not before the boundary');
  const boundary = block();
  assert.equal(engine.height, BOUNDARY);
  assert.ok(boundary.events.some((e) => e.type === 'validatorSetChanged'));
  const view = engine.validatorSet()!;
  assert.equal(view.epoch, 2);
  assert.deepEqual(
    view.members.map((m) => m.publicKey),
    [0, 1, 2, 3, 4, 5].map(hex),
  );
  assert.equal(view.members[5]!.p2p, '127.0.0.1:9005');
  assert.deepEqual(
    view.epochs.map((e) => [e.epoch, e.sinceHeight, e.keys.length]),
    [
      [1, 0, 5],
      [2, 2 * EPOCH_BLOCKS, 6],
    ],
  );
  const record = ValidatorSetRecordCodec.decode(engine.stateValue(VALIDATOR_SET_STATE_KEY)!);
  assert.equal(record.epoch, 2);
  assert.equal(record.pending.length, 0);
  const restored = restoreEngine(engine.snapshot(), genesis);
  assert.ok(bytesEqual(restored.stateRoot(), engine.stateRoot()));
  assert.deepEqual(restored.validatorSet(), engine.validatorSet());
});

test('a chain whose genesis names no validator set refuses a change and commits no record', () => {
  const genesis = testGenesis({ startTimeMs: START, governance: testGovernance({ timelockMs: 0 }) });
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  const result = engine.applyBlock({
    height: 1,
    timeMs: START + 1000,
    transactions: [txs.next(GOVERNANCE, governed(change('remove', 0)))],
    oracle: [],
  });
  assert.deepEqual(status(result), { status: 'INVALID_PROPOSAL', field: 'action.changeValidators' });
  assert.equal(engine.stateValue(VALIDATOR_SET_STATE_KEY), undefined);
  assert.equal(engine.validatorSet(), undefined);
});
