import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak256 } from '../../crypto/hash.ts';
import {
  createDepositAggregator,
  createDepositFollower,
  DepositError,
  type DepositEvent,
  type ObservedBlock,
} from './deposits.ts';

const encoder = new TextEncoder();
const hash = (label: string) => keccak256(encoder.encode(label));

function depositIn(
  block: { number: bigint; hash: Uint8Array },
  nonce: bigint,
  amount = 1_000n,
): DepositEvent {
  return {
    nonce,
    account: new Uint8Array(32).fill(0xac),
    token: new Uint8Array(20).fill(0x70),
    amount,
    blockNumber: block.number,
    blockHash: block.hash,
    transactionHash: hash(`tx ${nonce} in ${Buffer.from(block.hash).toString('hex')}`),
    logIndex: 0,
  };
}

/** A chain of blocks on branch `branch` from `from` to `to`, parented on `parent`. */
function blocks(
  branch: string,
  from: bigint,
  to: bigint,
  parent: Uint8Array,
  depositsAt: Map<bigint, bigint> = new Map(),
) {
  const out: ObservedBlock[] = [];
  let parentHash = parent;
  for (let number = from; number <= to; number++) {
    const blockHash = hash(`${branch} ${number}`);
    const nonce = depositsAt.get(number);
    const header = { number, hash: blockHash };
    out.push({
      number,
      hash: blockHash,
      parentHash,
      deposits: nonce === undefined ? [] : [depositIn(header, nonce)],
    });
    parentHash = blockHash;
  }
  return out;
}

const genesis = hash('genesis');

test('a deposit is credited at the 2f + 1-th identical report, not before, and never twice', () => {
  const aggregator = createDepositAggregator({ validators: 4 });
  assert.equal(aggregator.quorum, 3);
  const deposit = depositIn({ number: 10n, hash: hash('a 10') }, 1n);
  assert.deepEqual(aggregator.report(0, deposit), { status: 'PENDING', votes: 1, quorum: 3 });
  assert.deepEqual(aggregator.report(0, deposit), { status: 'DUPLICATE' });
  assert.deepEqual(aggregator.report(1, deposit), { status: 'PENDING', votes: 2, quorum: 3 });
  const credited = aggregator.report(3, deposit);
  assert.equal(credited.status, 'CREDITED');
  assert.deepEqual(credited.status === 'CREDITED' && credited.validators, [0, 1, 3]);
  assert.deepEqual(aggregator.report(2, deposit), { status: 'ALREADY_CREDITED' });
  assert.equal(aggregator.isCredited(1n), true);
  assert.deepEqual(aggregator.report(9, deposit), { status: 'UNKNOWN_VALIDATOR' });
});

test('attack (Ronin, Harmony): f validators reporting a fake deposit never get it credited', () => {
  for (const n of [4, 7, 19]) {
    const aggregator = createDepositAggregator({ validators: n });
    const f = Math.floor((n - 1) / 3);
    const real = depositIn({ number: 10n, hash: hash('a 10') }, 1n, 5n);
    const fake = { ...real, amount: 5_000_000_000n, account: new Uint8Array(32).fill(0x66) };
    for (let v = 0; v < f; v++) assert.equal(aggregator.report(v, fake).status, 'PENDING');
    // The honest 2f + 1 credit the real deposit; the fake reports never count towards it.
    let outcome: ReturnType<typeof aggregator.report> | undefined;
    for (let v = f; v < n; v++) {
      outcome = aggregator.report(v, real);
      if (outcome.status === 'CREDITED') break;
    }
    assert.equal(outcome?.status, 'CREDITED', `n = ${n}`);
    assert.equal(outcome?.status === 'CREDITED' && outcome.deposit.amount, 5n);
    assert.equal(aggregator.report(0, fake).status, 'ALREADY_CREDITED');
  }
});

test('a validator that re-reports a nonce after a reorg is counted once, for its latest report', () => {
  const aggregator = createDepositAggregator({ validators: 4 });
  const onOldBlock = depositIn({ number: 10n, hash: hash('a 10') }, 1n);
  const onNewBlock = depositIn({ number: 11n, hash: hash('b 11') }, 1n);
  aggregator.report(0, onOldBlock);
  aggregator.report(1, onOldBlock);
  // Validator 1 saw the reorg and now reports the deposit in its new block.
  assert.deepEqual(aggregator.report(1, onNewBlock), { status: 'PENDING', votes: 1, quorum: 3 });
  // Two reports for the old block: not a quorum, although three validators reported nonce 1.
  assert.deepEqual(aggregator.report(2, onNewBlock), { status: 'PENDING', votes: 2, quorum: 3 });
  assert.equal(aggregator.report(0, onNewBlock).status, 'CREDITED');
});

test('the follower releases a deposit only once it is `confirmations` deep', () => {
  const follower = createDepositFollower({ confirmations: 3 });
  const chain = blocks('a', 1n, 6n, genesis, new Map([[2n, 1n]]));
  const released = chain.map((block) => follower.addBlock(block).map((d) => d.nonce));
  // Block 2 is three deep once block 4 is on it.
  assert.deepEqual(released, [[], [], [], [1n], [], []]);
  assert.equal(follower.confirmedNumber, 4n);
});

test('attack: a deposit in a block reorged away before confirmation is never released', () => {
  const follower = createDepositFollower({ confirmations: 3 });
  const main = blocks('a', 1n, 3n, genesis, new Map([[3n, 1n]]));
  for (const block of main) assert.deepEqual(follower.addBlock(block), []);
  // A fork from height 3 replaces the block with the deposit; its deposit (nonce 1 again, other tx) is released instead.
  const fork = blocks('b', 3n, 6n, main[1]!.hash, new Map([[4n, 1n]]));
  const released = fork.flatMap((block) => follower.addBlock(block));
  assert.equal(released.length, 1);
  assert.deepEqual(released[0]!.blockHash, fork[1]!.hash);
  assert.equal(
    released.some((d) => Buffer.from(d.blockHash).equals(Buffer.from(main[2]!.hash))),
    false,
  );
});

test('a reorg deeper than the confirmations halts the follower rather than un-releasing a deposit', () => {
  const follower = createDepositFollower({ confirmations: 2 });
  const main = blocks('a', 1n, 5n, genesis, new Map([[2n, 1n]]));
  for (const block of main) follower.addBlock(block);
  assert.equal(follower.confirmedNumber, 4n);
  const deepFork = blocks('b', 4n, 6n, main[2]!.hash);
  assert.throws(
    () => follower.addBlock(deepFork[0]!),
    (error: unknown) => error instanceof DepositError && error.code === 'REORG_BEYOND_CONFIRMATIONS',
  );
  assert.throws(
    () => follower.addBlock(blocks('a', 6n, 6n, main[4]!.hash)[0]!),
    (error: unknown) => error instanceof DepositError && error.code === 'HALTED',
  );
});

test('a block whose parent is unknown, or an event naming another block, is refused', () => {
  const follower = createDepositFollower({ confirmations: 2 });
  const main = blocks('a', 1n, 4n, genesis);
  follower.addBlock(main[0]!);
  assert.throws(
    () => follower.addBlock(main[2]!),
    (error: unknown) => error instanceof DepositError && error.code === 'BLOCK_GAP',
  );
  const stray = { ...main[1]!, deposits: [depositIn({ number: 99n, hash: hash('z') }, 1n)] };
  assert.throws(
    () => follower.addBlock(stray),
    (error: unknown) => error instanceof DepositError && error.code === 'DEPOSIT_NOT_IN_BLOCK',
  );
  // The refusals changed nothing: the right block 2 is still accepted.
  assert.deepEqual(follower.addBlock(main[1]!), []);
});
