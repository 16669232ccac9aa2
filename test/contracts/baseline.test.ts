/**
 * The ECDSA m-of-n baseline is a real verifier (so the gas table compares like with like): it
 * accepts 2f + 1 distinct signers and refuses fewer, a repeated signer, or an outsider.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bftThreshold, createEcdsaSet, signEcdsaSet } from '../../src/interop/evm/baseline.ts';
import { createEvmHarness } from '../../src/interop/evm/harness.ts';
import { priceReportDigest } from '../../src/interop/price-certificate.ts';
import { domainOf, sampleReport } from './fixtures.ts';

test('2f + 1 for n = 4, 7, 19 is 3, 5, 13 (Wormhole: 13 of 19)', () => {
  assert.deepEqual([4, 7, 19].map(bftThreshold), [3, 5, 13]);
});

test('attack: the ECDSA set refuses too few signers, a signer counted twice, and an outsider', async () => {
  const evm = await createEvmHarness();
  const set = createEcdsaSet(7, 'test');
  const outsider = createEcdsaSet(7, 'outsider');
  const baseline = await evm.deploy(await evm.account('deployer'), 'EcdsaSetVerifier', [
    set.addresses,
    BigInt(set.threshold),
  ]);
  const report = sampleReport(1);
  const digest = priceReportDigest(report, domainOf(evm, baseline));
  const verify = async (signatures: ReturnType<typeof signEcdsaSet>, signers = set.addresses) =>
    (await baseline.call('verifyPriceReport', [signers, report, signatures])).value![0] as boolean;
  assert.equal(await verify(signEcdsaSet(set, digest)), true);
  assert.equal(await verify(signEcdsaSet(set, digest, [0, 1, 2, 3])), false);
  const repeated = signEcdsaSet(set, digest, [0, 1, 2, 3, 3]);
  assert.equal(await verify(repeated), false);
  const foreign = [
    ...signEcdsaSet(set, digest, [0, 1, 2, 3]),
    { ...signEcdsaSet(outsider, digest, [4])[0]! },
  ];
  assert.equal(await verify(foreign), false);
  // An attacker's own signer list does not match the committed set.
  assert.equal(await verify(signEcdsaSet(outsider, digest), outsider.addresses), false);
});

test('gas table: one FROST certificate costs less than each ECDSA set, and the gap grows with n', async (t) => {
  const { measureGas, PRICE_VERIFY_GAS_GOAL } = await import('../../bench/gas.ts');
  const rows = await measureGas();
  const frost = rows[0]!;
  assert.match(frost.name, /packed/);
  assert.ok(frost.executionGas <= Number(PRICE_VERIFY_GAS_GOAL), `${frost.name}: ${frost.executionGas}`);
  assert.ok(frost.executionGas < rows[1]!.executionGas, 'the packed entry point costs less than the ABI one');
  const sets = rows.filter((row) => row.name.startsWith('ECDSA'));
  assert.equal(sets.length, 3);
  for (const row of sets)
    assert.ok(row.executionGas > frost.executionGas, `${row.name}: ${row.executionGas}`);
  assert.ok(sets[0]!.executionGas < sets[1]!.executionGas && sets[1]!.executionGas < sets[2]!.executionGas);
  for (const row of rows)
    t.diagnostic(`${row.name}: ${row.executionGas} execution, ${row.transactionGas} transaction`);
});
