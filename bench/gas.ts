/**
 * `palisade bench gas [--json]`: gas of Palisade's contracts in a real EVM (@ethereumjs/vm, Cancun
 * rules), each figure beside its bound or its peer measured in the same run.
 *
 * - one price report verified, EIP-712 digest included: PalisadeVerifier (one FROST signature)
 *   through its packed entry point against the 7,000-gas goal (its ABI `verifyPriceReport`
 *   beside it), and against an m-of-n ECDSA signature set (Wormhole/Ronin's shape, m = 2f + 1)
 *   verifying the same report for n = 4, 7, 19, as ratios to the packed figure (the baseline
 *   decodes ABI arrays, which the packed entry point does not: the ratios favour FROST by that);
 * - the vault's calls: deposit, checkpoint submission, an immediate claim, a delayed execution,
 *   and a keyset handover;
 * - one 1-slot margin proof (src/privacy, proved in this run) verified by MarginVerifier1, the
 *   Groth16 verifier snarkjs exports from the committed key (its runtime code is placed at an
 *   address: at 28,328 bytes it is over EIP-170's limit for a deployment).
 *
 * "execution" is the gas the code used (what a contract calling the verifier pays, less the 2,600
 * of a first call to a cold contract); "transaction" adds the 21,000 base and the calldata, as a
 * receipt shows. The ECDSA set is passed in calldata against a stored hash, cheaper than
 * Wormhole's storage array, so the ratios favour the baseline.
 */

import { Address } from '@ethereumjs/util';
import { runLocalDkg } from '../src/crypto/dkg.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare } from '../src/crypto/frost.ts';
import { accountLeaf, loadPoseidon, ownerCommitment, PoseidonTree } from '../src/crypto/poseidon-tree.ts';
import { createEcdsaSet, signEcdsaSet } from '../src/interop/evm/baseline.ts';
import {
  checkpointDigest,
  evmFrostSignature,
  evmKeyset,
  evmPackedPriceReport,
  handoverDigest,
  PACKED_PRICE_REPORT_FUNCTION,
  withdrawalsTree,
} from '../src/interop/evm/certificates.ts';
import { compiledContracts } from '../src/interop/evm/compile.ts';
import { createEvmHarness, type DeployedContract, type EvmHarness } from '../src/interop/evm/harness.ts';
import { feedIdOf, type PriceReport, priceReportDigest } from '../src/interop/price-certificate.ts';
import { loadProverArtifacts } from '../src/privacy/keys.ts';
import { proveMargin, shutdownProver } from '../src/privacy/prover.ts';

export const PRICE_VERIFY_GAS_GOAL = 7_000n;
const SET_SIZES = [4, 7, 19] as const;

function sign(keys: readonly FrostKeyPackage[], digest: Uint8Array): Uint8Array {
  const signers = keys.slice(0, keys[0]!.threshold);
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((x) => x.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  return frostAggregate(keys[0]!.public, commitments, digest, shares);
}

function domain(evm: EvmHarness, contract: DeployedContract) {
  return { chainId: Number(evm.chainId), verifyingContract: contract.address };
}

function expectOk(label: string, result: { ok: boolean; revert?: { name: string } | undefined }): void {
  if (!result.ok) throw new Error(`bench gas: ${label} failed (${result.revert?.name})`);
}

export interface GasRow {
  readonly name: string;
  readonly executionGas: number;
  readonly transactionGas: number | undefined;
  /** Against the FROST figure (baseline rows) or the goal (the FROST row). */
  readonly ratio: number | undefined;
  readonly against: string | undefined;
}

/** Measures every row; deterministic up to the FROST nonces (which do not change gas). */
export async function measureGas(): Promise<GasRow[]> {
  const evm = await createEvmHarness();
  const deployer = await evm.account('deployer');
  const keys = runLocalDkg({ chainId: 7, epoch: 1, participants: 4, threshold: 3 });
  const nextKeys = runLocalDkg({ chainId: 7, epoch: 2, participants: 4, threshold: 3 });
  const verifier = await evm.deploy(deployer, 'PalisadeVerifier', [1n, keys[0]!.groupPublicKey]);
  const keyset = evmKeyset(1n, keys[0]!.groupPublicKey);
  const report: PriceReport = {
    feedId: feedIdOf('BTC-USD'),
    price: 6_412_345_678_900n,
    confidence: 1_234_500n,
    exponent: -8,
    publishTime: 1_750_000_000,
    epoch: 1,
  };
  const rows: GasRow[] = [];

  const frostSignature = evmFrostSignature(sign(keys, priceReportDigest(report, domain(evm, verifier))));
  // The packed entry point (raw calldata, no ABI decoding) is the figure against the goal; the
  // ABI entry point (what a Solidity caller gets from the interface) is measured beside it.
  const packed = evmPackedPriceReport(keyset, report, frostSignature);
  const frostCall = await verifier.callData(packed, PACKED_PRICE_REPORT_FUNCTION);
  if (frostCall.value?.[0] !== true)
    throw new Error('bench gas: the packed FROST certificate did not verify');
  const frostTransaction = await verifier.sendData(deployer, packed, PACKED_PRICE_REPORT_FUNCTION);
  const frostGas = frostCall.executionGas;
  rows.push({
    name: 'FROST price report, packed entry (PalisadeVerifier)',
    executionGas: Number(frostGas),
    transactionGas: Number(frostTransaction.transactionGas),
    ratio: Number(frostGas) / Number(PRICE_VERIFY_GAS_GOAL),
    against: `goal ${PRICE_VERIFY_GAS_GOAL}`,
  });
  const abiArgs = [keyset, report, frostSignature];
  const abiCall = await verifier.call('verifyPriceReport', abiArgs);
  if (abiCall.value?.[0] !== true) throw new Error('bench gas: the FROST certificate did not verify');
  const abiTransaction = await verifier.send(deployer, 'verifyPriceReport', abiArgs);
  rows.push({
    name: 'FROST price report, ABI verifyPriceReport',
    executionGas: Number(abiCall.executionGas),
    transactionGas: Number(abiTransaction.transactionGas),
    ratio: Number(abiCall.executionGas) / Number(PRICE_VERIFY_GAS_GOAL),
    against: `goal ${PRICE_VERIFY_GAS_GOAL}`,
  });

  for (const n of SET_SIZES) {
    const set = createEcdsaSet(n, 'bench');
    const baseline = await evm.deploy(deployer, 'EcdsaSetVerifier', [set.addresses, BigInt(set.threshold)]);
    const signatures = signEcdsaSet(set, priceReportDigest(report, domain(evm, baseline)));
    const args = [set.addresses, report, signatures];
    const call = await baseline.call('verifyPriceReport', args);
    if (call.value?.[0] !== true) throw new Error(`bench gas: the ECDSA set n=${n} did not verify`);
    const transaction = await baseline.send(deployer, 'verifyPriceReport', args);
    rows.push({
      name: `ECDSA ${set.threshold}-of-${n} price report`,
      executionGas: Number(call.executionGas),
      transactionGas: Number(transaction.transactionGas),
      ratio: Number(call.executionGas) / Number(frostGas),
      against: 'FROST',
    });
  }

  // The vault's calls, one of each.
  const governor = await evm.account('governor');
  const guardian = await evm.account('guardian');
  const vault = await evm.deploy(deployer, 'PalisadeVault', [
    verifier.hex,
    [governor.hex],
    [guardian.hex],
    1n,
    3_600n,
    10n ** 15n,
    10n ** 9n,
  ]);
  const token = await evm.deploy(deployer, 'TestToken', ['Palisade Test USD', 'pUSD', 6n]);
  expectOk(
    'configureToken',
    await vault.send(governor, 'configureToken', [token.hex, 10n ** 13n, 10n ** 7n, 10n ** 10n, 10n ** 18n]),
  );
  expectOk('mint', await token.send(deployer, 'mint', [deployer.hex, 10n ** 12n]));
  expectOk('approve', await token.send(deployer, 'approve', [vault.hex, 10n ** 12n]));
  const depositResult = await vault.send(deployer, 'deposit', [
    token.hex,
    10n ** 11n,
    new Uint8Array(32).fill(7),
  ]);
  expectOk('deposit', depositResult);
  const recipient = await evm.account('recipient');
  const withdrawals = Array.from({ length: 64 }, (_, i) => ({
    id: BigInt(i + 1),
    token: token.address,
    recipient: recipient.address,
    amount: i === 0 ? 10n ** 10n : 1_000_000n,
  }));
  const tree = withdrawalsTree(withdrawals, evm.chainId, vault.address);
  const checkpoint = {
    height: 10n,
    blockHash: new Uint8Array(32).fill(1),
    stateRoot: new Uint8Array(32).fill(2),
    withdrawalsRoot: tree.root,
    epoch: 1n,
  };
  const checkpointSignature = evmFrostSignature(
    sign(keys, checkpointDigest(checkpoint, domain(evm, verifier))),
  );
  const submitResult = await vault.send(deployer, 'submitCheckpoint', [
    keyset,
    checkpoint,
    checkpointSignature,
  ]);
  expectOk('submitCheckpoint', submitResult);
  const proof = (i: number) => tree.proof(i).map((p) => `0x${Buffer.from(p).toString('hex')}`);
  const claimArgs = (i: number) => {
    const w = withdrawals[i]!;
    return [{ id: w.id, token: token.hex, recipient: recipient.hex, amount: w.amount }, 10n, proof(i)];
  };
  const claimResult = await vault.send(recipient, 'claim', claimArgs(1));
  expectOk('claim', claimResult);
  const queueResult = await vault.send(recipient, 'claim', claimArgs(0));
  expectOk('claim (queued)', queueResult);
  evm.advance(3_600n);
  const executeResult = await vault.send(recipient, 'execute', [1n]);
  expectOk('execute', executeResult);
  const next = nextKeys[0]!.groupPublicKey;
  const handoverSignature = evmFrostSignature(
    sign(keys, handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next }, domain(evm, verifier))),
  );
  const handoverResult = await verifier.send(deployer, 'handover', [keyset, 2n, next, handoverSignature]);
  expectOk('handover', handoverResult);
  for (const [name, result] of [
    ['vault deposit', depositResult],
    ['vault submitCheckpoint (FROST checkpoint)', submitResult],
    ['vault claim, paid (64-leaf tree)', claimResult],
    ['vault claim, queued for the delay', queueResult],
    ['vault execute after the delay', executeResult],
    ['verifier handover', handoverResult],
  ] as const) {
    rows.push({
      name,
      executionGas: Number(result.executionGas),
      transactionGas: Number(result.transactionGas),
      ratio: undefined,
      against: undefined,
    });
  }
  return rows;
}

/**
 * Proves one 1-slot margin statement (one short put, one other account in the tree) and measures
 * MarginVerifier1.verifyProof on it; starts and stops snarkjs's prover threads.
 */
export async function measureMarginVerifierGas(): Promise<GasRow> {
  const hasher = await loadPoseidon();
  const secret = 0x5ec7e7n;
  const commitment = ownerCommitment(hasher, secret);
  const trader = { index: 41, balance: 1_000_000_000n, positions: [{ seriesId: 7, lots: -10 }] };
  const tree = new PoseidonTree(hasher, 20);
  tree.set(trader.index, accountLeaf(hasher, { ...trader, ownerCommitment: commitment }));
  tree.set(2, accountLeaf(hasher, { balance: 5_000_000n, positions: [], ownerCommitment: 11n }));
  const statement = {
    height: 120,
    root: tree.root(),
    mmBps: 750,
    kBps: 30_000,
    challenge: 0xc0ffeen,
    series: [
      {
        seriesId: 7,
        isCall: false,
        spot: 3_000_000_000n,
        markPerUnit: 50_000_000n * 10n ** 18n,
        lotUnderlyingE12: 10n ** 11n,
      },
    ],
  };
  const witness = { ...trader, secret, path: tree.path(trader.index) };
  let proof: Awaited<ReturnType<typeof proveMargin>>;
  try {
    proof = await proveMargin(hasher, loadProverArtifacts(1), statement, witness, commitment);
  } finally {
    await shutdownProver();
  }
  const evm = await createEvmHarness();
  const address = new Address(
    Uint8Array.from(Buffer.from('00000000000000000000000000000000000a11ce', 'hex')),
  );
  await evm.vm.stateManager.putCode(
    address,
    compiledContracts().contracts.get('MarginVerifier1')!.deployedBytecode,
  );
  const verifier = evm.at('MarginVerifier1', address.bytes);
  const p = proof.proof;
  // G2 coordinates as (c1, c0), the order EIP-197 takes.
  const args = [
    [p.pi_a[0], p.pi_a[1]],
    [
      [p.pi_b[0]![1], p.pi_b[0]![0]],
      [p.pi_b[1]![1], p.pi_b[1]![0]],
    ],
    [p.pi_c[0], p.pi_c[1]],
    proof.publicSignals,
  ];
  const call = await verifier.call('verifyProof', args);
  if (call.value?.[0] !== true) throw new Error('bench gas: the margin proof did not verify on chain');
  const sent = await verifier.send(await evm.account('sender'), 'verifyProof', args);
  expectOk('margin verifyProof', sent);
  return {
    name: 'MarginVerifier1 verifyProof (1-slot, 165 signals)',
    executionGas: Number(call.executionGas),
    transactionGas: Number(sent.transactionGas),
    ratio: undefined,
    against: undefined,
  };
}

/**
 * Runs the benchmark.
 * @example process.exitCode = await run(['--json']);
 */
export async function run(args: string[]): Promise<number> {
  const rows = [...(await measureGas()), await measureMarginVerifierGas()];
  if (args.includes('--json')) {
    console.log(JSON.stringify({ goal: Number(PRICE_VERIFY_GAS_GOAL), rows }, null, 2));
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'call'.padEnd(width)}  execution  transaction  ratio`);
  for (const row of rows) {
    const digits = row.against?.startsWith('goal') ? 3 : 2;
    const ratio = row.ratio === undefined ? '' : `${row.ratio.toFixed(digits)}× ${row.against}`;
    console.log(
      `${row.name.padEnd(width)}  ${String(row.executionGas).padStart(9)}  ${String(row.transactionGas ?? '').padStart(11)}  ${ratio}`,
    );
  }
  return 0;
}
