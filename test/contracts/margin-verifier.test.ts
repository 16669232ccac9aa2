/**
 * The 1-slot margin circuit's Groth16 verifier on chain (contracts/generated/MarginVerifier1.sol,
 * exported by snarkjs from the committed key) in a real EVM (@ethereumjs/vm): a proof made by
 * src/privacy verifies with its public signals; another root, challenge, k or tag, a signal
 * outside the field, and a moved proof point are each refused. The gas of verifyProof is printed.
 *
 * The runtime code is 28,328 bytes, over EIP-170's 24,576: the contract cannot be deployed by a
 * transaction (a test holds that), so the tests place its runtime code at an address. It has no
 * constructor and no storage (the key is in constants), so this is the code a deployment would
 * leave, and its gas is the gas it would use. 160 of its 165 public signals are the mark table;
 * hashing the table into one signal would bring the code far under the limit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Address } from '@ethereumjs/util';
import { accountLeaf, loadPoseidon, ownerCommitment, PoseidonTree } from '../../src/crypto/poseidon-tree.ts';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import { createEvmHarness, EvmHarnessError } from '../../src/interop/evm/harness.ts';
import { artifactsBuilt, loadProverArtifacts, loadVerificationKey } from '../../src/privacy/keys.ts';
import {
  type AccountWitness,
  type MarginProof,
  type MarginStatement,
  publicSignalsOf,
  TAG_SIGNAL,
  TagRegistry,
} from '../../src/privacy/margin-proof.ts';
import { proveMargin, shutdownProver, verifyMargin } from '../../src/privacy/prover.ts';

const EIP170_CODE_BYTES_MAX = 24_576;
/** BN254's base field: a point's coordinates are below it. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** BN254's scalar field: public signals are below it. */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const hasher = await loadPoseidon();
const USDC = 1_000_000n;
const E18 = 10n ** 18n;
const secret = 0x5ec7e7n;
const commitment = ownerCommitment(hasher, secret);
const trader = { index: 41, balance: 1000n * USDC, positions: [{ seriesId: 7, lots: -10 }] };
const tree = new PoseidonTree(hasher, 20);
tree.set(trader.index, accountLeaf(hasher, { ...trader, ownerCommitment: commitment }));
tree.set(2, accountLeaf(hasher, { balance: 5n * USDC, positions: [], ownerCommitment: 11n }));
const statement: MarginStatement = {
  height: 120,
  root: tree.root(),
  mmBps: 750,
  kBps: 30_000,
  challenge: 0xc0ffeen,
  series: [
    {
      seriesId: 7,
      isCall: false,
      spot: 3000n * USDC,
      markPerUnit: 50n * USDC * E18,
      lotUnderlyingE12: 10n ** 11n,
    },
  ],
};
const witness: AccountWitness = { ...trader, secret, path: tree.path(trader.index) };

type Point = [bigint, bigint];
interface Calldata {
  a: Point;
  b: [Point, Point];
  c: Point;
  signals: bigint[];
}

/** snarkjs's proof in the verifier's argument order (G2 coordinates as (c1, c0), as EIP-197 takes). */
function calldataOf(proof: MarginProof): Calldata {
  const p = proof.proof;
  const g1 = (xy: string[]): Point => [BigInt(xy[0]!), BigInt(xy[1]!)];
  const g2 = (pair: string[]): Point => [BigInt(pair[1]!), BigInt(pair[0]!)];
  return {
    a: g1(p.pi_a),
    b: [g2(p.pi_b[0]!), g2(p.pi_b[1]!)],
    c: g1(p.pi_c),
    signals: proof.publicSignals.map(BigInt),
  };
}

async function setup() {
  const evm = await createEvmHarness();
  const artifact = compiledContracts().contracts.get('MarginVerifier1')!;
  const address = new Address(
    Uint8Array.from(Buffer.from('00000000000000000000000000000000000a11ce', 'hex')),
  );
  await evm.vm.stateManager.putCode(address, artifact.deployedBytecode);
  return { evm, verifier: evm.at('MarginVerifier1', address.bytes) };
}

let proof: MarginProof;
let verifier: Awaited<ReturnType<typeof setup>>['verifier'];

before(async () => {
  assert.ok(artifactsBuilt(1), 'circuits/keys/margin_1.* are committed');
  proof = await proveMargin(hasher, loadProverArtifacts(1), statement, witness, commitment);
  ({ verifier } = await setup());
});

after(shutdownProver);

async function accepts(data: Calldata): Promise<boolean> {
  const result = await verifier.call('verifyProof', [data.a, data.b, data.c, data.signals]);
  assert.equal(result.ok, true, `verifyProof reverted: ${result.revert?.name}`);
  return result.value![0] as boolean;
}

function withSignal(data: Calldata, index: number, value: bigint): Calldata {
  const signals = [...data.signals];
  signals[index] = value;
  return { ...data, signals };
}

test("every key constant in MarginVerifier1.sol is the committed margin_1.vkey.json's", () => {
  const source = readFileSync(
    new URL('../../contracts/generated/MarginVerifier1.sol', import.meta.url),
    'utf8',
  );
  const constant = (name: string): string => {
    const match = new RegExp(`uint256 constant ${name}\\s*=\\s*(\\d+);`).exec(source);
    assert.ok(match, `constant ${name} in the verifier`);
    return match[1]!;
  };
  const vkey = loadVerificationKey(1) as {
    nPublic: number;
    vk_alpha_1: string[];
    vk_beta_2: string[][];
    vk_gamma_2: string[][];
    vk_delta_2: string[][];
    IC: string[][];
  };
  assert.equal(vkey.nPublic, 165);
  assert.match(source, /uint\[165\] calldata _pubSignals/);
  assert.deepEqual([constant('alphax'), constant('alphay')], vkey.vk_alpha_1.slice(0, 2));
  for (const [name, g2] of [
    ['beta', vkey.vk_beta_2],
    ['gamma', vkey.vk_gamma_2],
    ['delta', vkey.vk_delta_2],
  ] as const) {
    // The template writes x = (x1, x2) as (c1, c0), EIP-197's order.
    assert.deepEqual(
      [constant(`${name}x1`), constant(`${name}x2`), constant(`${name}y1`), constant(`${name}y2`)],
      [g2[0]![1], g2[0]![0], g2[1]![1], g2[1]![0]],
      name,
    );
  }
  assert.equal(vkey.IC.length, 166);
  vkey.IC.forEach((point, i) => {
    assert.deepEqual([constant(`IC${i}x`), constant(`IC${i}y`)], point.slice(0, 2), `IC${i}`);
  });
});

test('the verifier is over EIP-170: a transaction cannot deploy it', async () => {
  const artifact = compiledContracts().contracts.get('MarginVerifier1')!;
  assert.equal(artifact.source, 'contracts/generated/MarginVerifier1.sol');
  assert.ok(
    artifact.deployedBytecode.length > EIP170_CODE_BYTES_MAX,
    `${artifact.deployedBytecode.length} bytes`,
  );
  const evm = await createEvmHarness();
  const deployer = await evm.account('deployer');
  await assert.rejects(
    evm.deploy(deployer, 'MarginVerifier1'),
    (e: unknown) => e instanceof EvmHarnessError && e.code === 'DEPLOY_FAILED',
  );
});

test('a proof from src/privacy verifies on chain with its public signals, within the gas printed', async () => {
  // The same proof passes the off-chain verifier, against the same statement.
  const signals = publicSignalsOf(statement, BigInt(proof.publicSignals[TAG_SIGNAL]!));
  assert.deepEqual(proof.publicSignals, signals);
  const data = calldataOf(proof);
  const result = await verifier.call('verifyProof', [data.a, data.b, data.c, data.signals]);
  assert.equal(result.ok, true);
  assert.equal(result.value![0], true);
  const { evm } = await setup();
  const sender = await evm.account('sender');
  const onChain = evm.at('MarginVerifier1', verifier.address);
  const sent = await onChain.send(sender, 'verifyProof', [data.a, data.b, data.c, data.signals]);
  assert.equal(sent.ok, true);
  console.log(
    `MarginVerifier1.verifyProof (1-slot margin proof, 165 public signals): execution ${result.executionGas} gas, transaction ${sent.transactionGas} gas`,
  );
  // 4 pairings (≈ 181,000) and 165 scalar multiplications (6,150 each): at least 1.1 M.
  assert.ok(
    result.executionGas > 1_100_000n && result.executionGas < 2_000_000n,
    String(result.executionGas),
  );
});

test('another root, challenge, k, margin rate or tag: refused on chain', async () => {
  const data = calldataOf(proof);
  const otherRoot = tree.root() === 1n ? 2n : 1n;
  for (const [label, index, value] of [
    ['root', 0, otherRoot],
    ['mmBps', 1, 500n],
    ['kBps', 2, 10_000n],
    ['challenge', 3, 0xc0ffeen + 1n],
    ['tag', TAG_SIGNAL, data.signals[TAG_SIGNAL]! + 1n],
    ['a mark', 5 + 32 * 3, data.signals[5 + 32 * 3]! + 1n],
  ] as const) {
    assert.equal(await accepts(withSignal(data, index, value)), false, label);
  }
  // A signal at or above the scalar field (the root + r aliases the root) is refused, not reduced.
  assert.equal(await accepts(withSignal(data, 0, data.signals[0]! + R)), false, 'root + r');
  assert.equal(await accepts(data), true, 'the untouched proof');
});

test('a moved proof point is refused: A negated, C off the curve, B swapped, A and C exchanged', async () => {
  const data = calldataOf(proof);
  assert.equal(await accepts({ ...data, a: [data.a[0], Q - data.a[1]] }), false, 'A negated');
  assert.equal(await accepts({ ...data, c: [data.c[0], (data.c[1] + 1n) % Q] }), false, 'C off the curve');
  assert.equal(await accepts({ ...data, b: [data.b[1], data.b[0]] }), false, 'B coordinates swapped');
  assert.equal(await accepts({ ...data, a: data.c, c: data.a }), false, 'A and C exchanged');
});

test('the off-chain verifier agrees with the contract on the honest proof', async () => {
  const verified = await verifyMargin(statement, proof, {
    checkpoint: { height: statement.height, accountRoot: tree.root() },
    currentHeight: statement.height + 1,
    maxAgeBlocks: 10,
    verificationKeys: { 1: loadVerificationKey(1) },
    tags: new TagRegistry(),
  });
  assert.equal(verified.tag, proof.publicSignals[TAG_SIGNAL]);
});
