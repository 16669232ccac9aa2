/**
 * Governance without a single key (issue 15), tried as a thief would: a stolen governor key, m − 1
 * keys, one signature counted twice, a stranger's signature, a replayed or expired proposal, one
 * signed for another chain, a timelocked change run early, guardians lifting their own halt, a
 * rotation with m − 1. The genesis: 3-of-5 governors, 2-of-3 guardians, a one-minute timelock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GovernanceAction, GovernanceRecordCodec } from '../codec/execution.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { createEngine, type Engine, restoreEngine } from './engine.ts';
import {
  btcSeries,
  createTransactionBuilder,
  GOVERNANCE,
  GOVERNORS,
  GUARDIANS,
  governed,
  limitOrder,
  testGenesis,
  testGovernance,
  testSigner,
} from './fixtures.ts';
import { countedSigners, signProposal } from './governance.ts';
import { MS_PER_DAY } from './margin.ts';
import { GOVERNANCE_STATE_KEY } from './records.ts';
import type { Block, BlockResult, EngineGenesis, OracleUpdate } from './types.ts';

const START = Date.UTC(2026, 0, 1);
const TIMELOCK_MS = 60_000;
const trader = testSigner('governance-test-trader');
const stranger = testSigner('governance-test-stranger');

function setup(): {
  engine: Engine;
  genesis: EngineGenesis;
  submit: (action: ReturnType<typeof governed>, advanceMs?: number) => BlockResult;
  block: (advanceMs: number, txs?: Block['transactions']) => BlockResult;
  txs: ReturnType<typeof createTransactionBuilder>;
} {
  const genesis = testGenesis({
    startTimeMs: START,
    traders: [trader],
    governance: testGovernance({ timelockMs: TIMELOCK_MS }),
  });
  const engine = createEngine(genesis);
  const txs = createTransactionBuilder();
  const oracle: OracleUpdate[] = [
    { underlyingId: 1, price: 60_000_000_000, confidence: 0, publishTimeMs: 0, stale: false },
  ];
  const block = (advanceMs: number, transactions: Block['transactions'] = []) =>
    engine.applyBlock({ height: engine.height + 1, timeMs: engine.timeMs + advanceMs, transactions, oracle });
  const submit = (action: ReturnType<typeof governed>, advanceMs = 1000) => {
    const result = block(advanceMs, [txs.next(GOVERNANCE, action)]);
    if (result.results[0]!.status !== 'OK') txs.rewind(GOVERNANCE);
    return result;
  };
  return { engine, genesis, submit, block, txs };
}

const listing = (): GovernanceAction => ({
  kind: 'listSeries',
  value: btcSeries(true, 80_000, START + 10 * MS_PER_DAY),
});
const first = (result: BlockResult) => result.results[0]!.status;
const m = GOVERNORS.slice(0, 3);

test('attack: one stolen governor key alone lists no series, lifts no halt, changes no bound', () => {
  const { engine, submit, txs, block } = setup();
  const before = engine.series().length;
  const thief = GOVERNORS[4]!;
  // Unwrapped, straight from the key.
  const bare = block(1000, [
    txs.next(thief, { kind: 'listSeries', value: btcSeries(true, 80_000, START + MS_PER_DAY) }),
  ]);
  assert.equal(first(bare), 'UNAUTHORIZED');
  txs.rewind(thief);
  assert.equal(first(submit(governed(listing(), { signers: [thief] }))), 'INSUFFICIENT_SIGNATURES');
  const bound: GovernanceAction = {
    kind: 'setParameter',
    value: { name: new TextEncoder().encode('autoMaxStepBps'), value: 5000 },
  };
  assert.equal(first(submit(governed(bound, { signers: [thief] }))), 'INSUFFICIENT_SIGNATURES');
  assert.equal(
    first(
      submit(
        governed({ kind: 'haltMarkets', value: { underlyingId: 0 } }, { signers: GUARDIANS.slice(0, 2) }),
      ),
    ),
    'OK',
  );
  const lift: GovernanceAction = { kind: 'resumeMarkets', value: { underlyingId: 0 } };
  assert.equal(first(submit(governed(lift, { signers: [thief] }))), 'INSUFFICIENT_SIGNATURES');
  block(TIMELOCK_MS * 2);
  assert.equal(engine.series().length, before);
  assert.deepEqual(engine.governance().halted, [0]);
});

test('attack: m − 1 governors are refused; m are queued and run only when the timelock ends', () => {
  const { engine, submit, block } = setup();
  const before = engine.series().length;
  assert.equal(
    first(submit(governed(listing(), { signers: GOVERNORS.slice(0, 2) }))),
    'INSUFFICIENT_SIGNATURES',
  );
  const queued = submit(governed(listing(), { signers: m }));
  assert.equal(first(queued), 'OK');
  assert.ok(queued.events.some((e) => e.type === 'governanceQueued'));
  assert.equal(engine.series().length, before, 'queued, not listed');
  const early = block(TIMELOCK_MS - 1);
  assert.equal(engine.series().length, before, 'one millisecond before the timelock ends: not yet');
  assert.ok(!early.events.some((e) => e.type === 'seriesListed'));
  const due = block(1);
  assert.equal(engine.series().length, before + 1);
  assert.ok(due.events.some((e) => e.type === 'governanceExecuted'));
  assert.ok(due.events.some((e) => e.type === 'seriesListed'));
});

test('attack: one signature given twice counts once; a stranger or a guardian does not count for a listing', () => {
  const { engine, submit, block } = setup();
  const before = engine.series().length;
  const proposal = governed(listing(), { signers: GOVERNORS.slice(0, 2) });
  assert.equal(proposal.kind, 'governanceProposal');
  if (proposal.kind !== 'governanceProposal') return;
  const twice: typeof proposal = {
    ...proposal,
    value: { ...proposal.value, signatures: [...proposal.value.signatures, proposal.value.signatures[0]!] },
  };
  assert.equal(countedSigners(7, twice.value, testGovernance().governors).length, 2);
  assert.equal(first(submit(twice)), 'INSUFFICIENT_SIGNATURES');
  const { proposalId, expiryMs, action } = proposal.value;
  for (const outsider of [stranger, GUARDIANS[0]!, trader]) {
    const padded: typeof proposal = {
      ...proposal,
      value: {
        ...proposal.value,
        signatures: [
          ...proposal.value.signatures,
          signProposal(outsider, 7, { proposalId, expiryMs, action }),
        ],
      },
    };
    assert.equal(first(submit(padded)), 'INSUFFICIENT_SIGNATURES');
  }
  // A governor's key paired with another's signature counts nothing.
  const forged: typeof proposal = {
    ...proposal,
    value: {
      ...proposal.value,
      signatures: [
        ...proposal.value.signatures,
        { publicKey: GOVERNORS[2]!.publicKey, signature: proposal.value.signatures[0]!.signature },
      ],
    },
  };
  assert.equal(first(submit(forged)), 'INSUFFICIENT_SIGNATURES');
  block(TIMELOCK_MS * 2);
  assert.equal(engine.series().length, before);
});

test('attack: a replayed proposal, an expired one and one signed for another chain are refused', () => {
  const { engine, submit, block } = setup();
  const halt = governed(
    { kind: 'haltMarkets', value: { underlyingId: 1 } },
    { signers: GUARDIANS.slice(0, 2) },
  );
  assert.equal(first(submit(halt)), 'OK');
  const lift = governed({ kind: 'resumeMarkets', value: { underlyingId: 1 } }, { signers: m });
  assert.equal(first(submit(lift)), 'OK');
  assert.deepEqual(engine.governance().halted, []);
  assert.equal(first(submit(halt)), 'PROPOSAL_REPLAYED', 'the halt again, as it was signed');
  assert.deepEqual(engine.governance().halted, []);
  const queued = governed(listing(), { signers: m });
  assert.equal(first(submit(queued)), 'OK');
  block(TIMELOCK_MS);
  const listed = engine.series().length;
  assert.equal(first(submit(queued)), 'PROPOSAL_REPLAYED', 'an executed listing again');
  block(TIMELOCK_MS);
  assert.equal(engine.series().length, listed);
  const stale = governed(listing(), { signers: m, expiryMs: engine.timeMs + 500 });
  assert.equal(first(submit(stale, 1000)), 'PROPOSAL_EXPIRED');
  const otherChain = governed(listing(), { signers: GOVERNORS, chainId: 8 });
  assert.equal(first(submit(otherChain)), 'INSUFFICIENT_SIGNATURES');
  const farAhead = governed(listing(), { signers: m, expiryMs: engine.timeMs + 31 * MS_PER_DAY });
  assert.equal(first(submit(farAhead)), 'INVALID_PROPOSAL');
});

test('attack: guardians halt at once but cannot lift it; m governors lift it; orders are refused meanwhile', () => {
  const { engine, submit, block, txs } = setup();
  assert.equal(
    first(
      submit(governed({ kind: 'haltMarkets', value: { underlyingId: 0 } }, { signers: [GUARDIANS[0]!] })),
    ),
    'INSUFFICIENT_SIGNATURES',
  );
  const halted = submit(
    governed({ kind: 'haltMarkets', value: { underlyingId: 0 } }, { signers: GUARDIANS.slice(1) }),
  );
  assert.equal(first(halted), 'OK');
  assert.ok(halted.events.some((e) => e.type === 'governanceHalt' && e.underlyingId === 0));
  const order = block(1000, [txs.next(trader, limitOrder(1, 'buy', 100, 1))]);
  assert.equal(first(order), 'MARKET_HALTED');
  const lift: GovernanceAction = { kind: 'resumeMarkets', value: { underlyingId: 0 } };
  assert.equal(
    first(submit(governed(lift, { signers: GUARDIANS }))),
    'INSUFFICIENT_SIGNATURES',
    'every guardian',
  );
  assert.equal(first(submit(governed(lift, { signers: GOVERNORS.slice(0, 2) }))), 'INSUFFICIENT_SIGNATURES');
  assert.deepEqual(engine.governance().halted, [0]);
  const lifted = submit(governed(lift, { signers: m }));
  assert.equal(first(lifted), 'OK');
  assert.ok(lifted.events.some((e) => e.type === 'governanceResume'));
  const after = block(1000, [txs.next(trader, limitOrder(1, 'buy', 100, 1))]);
  assert.notEqual(first(after), 'MARKET_HALTED');
});

test('attack: rotating governors with m − 1 is refused; with m it waits the timelock, then the old set is powerless', () => {
  const { engine, submit, block } = setup();
  const newcomers = [1, 2, 3].map((i) => testSigner(`governance-test-new-${i}`));
  const rotation: GovernanceAction = {
    kind: 'setGovernance',
    value: {
      governors: newcomers.map((s) => s.publicKey),
      threshold: 2,
      guardians: [newcomers[0]!.publicKey],
      guardianThreshold: 1,
      timelockMs: TIMELOCK_MS,
    },
  };
  assert.equal(
    first(submit(governed(rotation, { signers: GOVERNORS.slice(0, 2) }))),
    'INSUFFICIENT_SIGNATURES',
  );
  assert.equal(first(submit(governed(rotation, { signers: m }))), 'OK');
  assert.equal(engine.governance().threshold, 3, 'not before the timelock');
  const cancelled = governed(listing(), { signers: m });
  assert.equal(first(submit(cancelled)), 'OK');
  block(TIMELOCK_MS);
  assert.equal(engine.governance().threshold, 2);
  assert.equal(engine.governance().governors.length, 3);
  assert.equal(first(submit(governed(listing(), { signers: GOVERNORS }))), 'INSUFFICIENT_SIGNATURES');
  assert.equal(first(submit(governed(listing(), { signers: newcomers.slice(0, 2) }))), 'OK');
});

test('m governors cancel a queued proposal before its timelock; an unknown id is refused', () => {
  const { engine, submit, block } = setup();
  const before = engine.series().length;
  const proposal = governed(listing(), { signers: m, proposalId: 4242 });
  assert.equal(first(submit(proposal)), 'OK');
  const cancel: GovernanceAction = { kind: 'cancelProposal', value: { proposalId: 4242 } };
  assert.equal(first(submit(governed(cancel, { signers: GOVERNORS.slice(3) }))), 'INSUFFICIENT_SIGNATURES');
  const done = submit(governed(cancel, { signers: m }));
  assert.equal(first(done), 'OK');
  assert.ok(done.events.some((e) => e.type === 'proposalCancelled' && e.cancelled === 4242));
  block(TIMELOCK_MS * 2);
  assert.equal(engine.series().length, before);
  assert.equal(first(submit(governed(cancel, { signers: m }))), 'INVALID_PROPOSAL');
});

test('parameters: m governors set a steward bound after the timelock; out-of-bounds values and unknown names are refused', () => {
  const { engine, submit, block, genesis } = setup();
  const encoder = new TextEncoder();
  const set = (name: string, value: number): GovernanceAction => ({
    kind: 'setParameter',
    value: { name: encoder.encode(name), value },
  });
  assert.equal(first(submit(governed(set('maxAccounts', 1), { signers: m }))), 'INVALID_PROPOSAL');
  assert.equal(first(submit(governed(set('autoMaxStepBps', 9_999), { signers: m }))), 'INVALID_PROPOSAL');
  assert.equal(first(submit(governed(set('autoMaxStepBps', 2_000), { signers: m }))), 'OK');
  const done = block(TIMELOCK_MS);
  assert.ok(
    done.events.some((e) => e.type === 'parameterSet' && e.name === 'autoMaxStepBps' && e.value === 2_000),
  );
  // The snapshot restores with the parameter applied, against the genesis it changed.
  const copy = restoreEngine(engine.snapshot(), genesis);
  assert.ok(bytesEqual(copy.stateRoot(), engine.stateRoot()));
});

test('governance state is in the root and the snapshot; every governance action is in the audit log', () => {
  const { engine, submit, genesis } = setup();
  const head = engine.auditHead().sequence;
  submit(governed({ kind: 'haltMarkets', value: { underlyingId: 1 } }, { signers: GUARDIANS.slice(0, 2) }));
  submit(governed(listing(), { signers: m }));
  // halt: governanceExecuted + governanceHalt; listing: governanceQueued.
  assert.equal(engine.auditHead().sequence, head + 3);
  const record = GovernanceRecordCodec.decode(engine.stateValue(GOVERNANCE_STATE_KEY)!);
  assert.deepEqual(record.halted, [1]);
  assert.equal(record.queue.length, 1);
  const copy = restoreEngine(engine.snapshot(), genesis);
  assert.ok(bytesEqual(copy.stateRoot(), engine.stateRoot()));
  assert.deepEqual(copy.governance(), engine.governance());
});
