/**
 * Deposit status as a node shows it: a deposit short of 2f + 1 is pending with who reported it,
 * and credited once the engine credits it. The attacks: f validators naming another amount or
 * account never lead the honest content and never turn it credited; a report signed by a key
 * outside the set, or for another vault, adds no reporter.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignedDepositReportCodec } from '../codec/bridge.ts';
import { testSigner } from '../execution/fixtures.ts';
import { signDepositReport } from '../interop/evm/deposit-quorum.ts';
import { createDepositStatus } from './deposit-status.ts';

const signers = ['v0', 'v1', 'v2', 'v3'].map(testSigner);
const outsider = testSigner('outsider');
const bridge = { evmChainId: 31_337, vault: new Uint8Array(20).fill(0x33) };
const rules = { chainId: 7, validators: signers.map((s) => s.publicKey), bridge };
const token = new Uint8Array(20).fill(0x44);
const honest = {
  transactionHash: new Uint8Array(32).fill(0xaa),
  logIndex: 2,
  account: new Uint8Array(32).fill(0x01),
  token,
  amount: 1_500_000n,
  nonce: 1,
};

function report(
  signer: ReturnType<typeof testSigner>,
  height: number,
  deposit = honest,
  vault = bridge.vault,
): Uint8Array {
  return SignedDepositReportCodec.encode(
    signDepositReport(signer, {
      chainId: 7,
      height,
      validator: signer.publicKey,
      evmChainId: 31_337,
      vault,
      deposits: [deposit],
    }),
  );
}

test('pending with its reporters below 2f + 1, credited once the engine credits it', () => {
  const credited = new Set<number>();
  const status = createDepositStatus({ rules, isCredited: (nonce) => credited.has(nonce) });
  assert.equal(status.get(1), undefined);
  status.onBlock(5, [report(signers[0]!, 5), report(signers[2]!, 5)]);
  const pending = status.get(1)!;
  assert.equal(pending.status, 'pending');
  assert.deepEqual(pending.reporters, [0, 2]);
  assert.equal(pending.reported, 2);
  assert.equal(pending.quorum, 3);
  assert.equal(pending.validators, 4);
  assert.equal(pending.amount, '1500000');
  assert.equal(pending.amountDecimal, '1.5');
  assert.equal(pending.height, 5);
  assert.equal(pending.creditedHeight, null);

  credited.add(1); // block 6 credited it: the node reads the block after the engine applied it
  status.onBlock(6, [report(signers[0]!, 6), report(signers[1]!, 6), report(signers[2]!, 6)]);
  const done = status.get(1)!;
  assert.equal(done.status, 'credited');
  assert.deepEqual(done.reporters, [0, 1, 2]);
  assert.equal(done.creditedHeight, 6);
  assert.deepEqual(
    status.list({ status: 'pending', limit: 10 }).map((d) => d.nonce),
    [],
  );
  assert.deepEqual(
    status.list({ status: 'credited', limit: 10 }).map((d) => d.nonce),
    [1],
  );
});

test('f validators naming another amount do not lead, and forged or foreign reports add no reporter', () => {
  const status = createDepositStatus({ rules, isCredited: () => false });
  status.onBlock(5, [
    report(signers[3]!, 5, { ...honest, amount: 10n ** 12n }), // the one Byzantine validator
    report(signers[0]!, 5),
    report(signers[1]!, 5),
    report(outsider, 5), // not a validator
    report(signers[2]!, 5, honest, new Uint8Array(20).fill(0x99)), // another vault
  ]);
  const entry = status.get(1)!;
  assert.equal(entry.status, 'pending');
  assert.equal(entry.amount, '1500000');
  assert.deepEqual(entry.reporters, [0, 1]);
  assert.equal(entry.contents, 2, 'a second content was reported for this nonce');
});

test('a nonce the engine credited before this node kept its reports reads as credited, without details', () => {
  const status = createDepositStatus({ rules, isCredited: (nonce) => nonce === 9 });
  const entry = status.get(9)!;
  assert.equal(entry.status, 'credited');
  assert.equal(entry.amount, null);
  assert.deepEqual(entry.reporters, []);
});

test('the kept entries are bounded, credited ones forgotten first', () => {
  const credited = new Set<number>([1]);
  const status = createDepositStatus({ rules, isCredited: (nonce) => credited.has(nonce), maxEntries: 2 });
  for (const nonce of [1, 2, 3]) status.onBlock(nonce, [report(signers[0]!, nonce, { ...honest, nonce })]);
  assert.deepEqual(
    status.list({ limit: 10 }).map((d) => d.nonce),
    [3, 2],
  );
  assert.equal(status.get(1)?.amount, null, 'nonce 1 forgotten, still credited');
  assert.throws(() => createDepositStatus({ rules, isCredited: () => false, maxEntries: 0 }), RangeError);
});

test('after a set change the reports count against the epoch’s set: a removed validator adds no reporter, an added one does', () => {
  const added = testSigner('v4');
  // Epoch 2: v1 removed, v4 added (index 3 of the new set).
  const epoch2 = [signers[0]!, signers[2]!, signers[3]!, added].map((s) => s.publicKey);
  const status = createDepositStatus({ rules, isCredited: () => false });
  status.onBlock(700, [report(signers[1]!, 700), report(added, 700), report(signers[0]!, 700)], epoch2);
  const pending = status.get(1)!;
  // The removed v1's report is outside epoch 2's set; v0 is index 0 and v4 index 3 there.
  assert.deepEqual(pending.reporters, [0, 3]);
  assert.equal(pending.reported, 2);
  assert.equal(pending.validators, 4);
  assert.equal(pending.quorum, 3);
  // Under the genesis list the same reports name v0 and v1, and not the joiner.
  const genesisView = createDepositStatus({ rules, isCredited: () => false });
  genesisView.onBlock(700, [report(signers[1]!, 700), report(added, 700), report(signers[0]!, 700)]);
  assert.deepEqual(genesisView.get(1)!.reporters, [0, 1]);
  // A set of 7 needs 5: a nonce not seen yet reads the latest set's quorum.
  const seven = [...epoch2, ...['v5', 'v6', 'v7'].map((n) => testSigner(n).publicKey)];
  status.onBlock(701, [], seven);
  status.onBlock(702, [report(signers[0]!, 702, { ...honest, nonce: 2 })], seven);
  assert.equal(status.get(2)!.quorum, 5);
  assert.equal(status.get(2)!.validators, 7);
});
