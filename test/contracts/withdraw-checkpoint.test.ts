/**
 * Withdrawals end to end through the node's own code: the engine debits and commits the
 * withdrawals root, four validators' price signers certify the checkpoint (the real DKG and
 * signing sessions, src/node/checkpoint-signing.ts), and the real PalisadeVault pays the claim.
 * Then the attacks, each against checkpoints the node produced: a claim twice, a proof for another
 * root, the empty period's root (never zero, proves nothing), another vault or chain, f validators
 * agreeing on a fake checkpoint, a forged certificate gossiped to honest validators, and a drain
 * held by the rate limit then stopped by the curse.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '../../src/crypto/hash.ts';
import { createEngine, type Engine } from '../../src/execution/engine.ts';
import { createTransactionBuilder, testGenesis, testSigner, USDC } from '../../src/execution/fixtures.ts';
import { EMPTY_WITHDRAWALS_ROOT } from '../../src/execution/withdrawals.ts';
import { type Checkpoint, checkpointDigest } from '../../src/interop/evm/certificates.ts';
import {
  decodeCheckpointCertificate,
  encodeCheckpointCertificate,
  evmCheckpointArguments,
} from '../../src/interop/evm/checkpoint.ts';
import type { CheckpointRecord } from '../../src/node/checkpoint-signing.ts';
import { type CheckpointNetwork, startCheckpointNetwork } from './checkpoint-network.ts';
import {
  checkpointArgs,
  type Deployment,
  deploy,
  domainOf,
  frostSign,
  fund,
  keysetOne,
  proofArgs,
  TOKEN_CAPACITY,
  withdrawalArgs,
} from './fixtures.ts';

const EVERY = 4;
const alice = testSigner('alice');

async function setUp(name: string) {
  // The DKG runs first: the verifier is deployed with the group key the validators hold.
  const network = await startCheckpointNetwork({ everyBlocks: EVERY, name });
  const groupPublicKey = network.prices[0]!.keyset()!.groupPublicKey;
  const deployment = await deploy({ groupPublicKey });
  network.attach(domainOf(deployment.evm, deployment.verifier));
  const depositor = await deployment.evm.account('depositor');
  await fund(deployment, depositor, 100_000_000_000n, new Uint8Array(32).fill(0xac));
  const engine = createEngine({
    ...testGenesis({ traders: [alice], balanceUsdc: 100_000 }),
    bridge: {
      evmChainId: Number(deployment.evm.chainId),
      vault: deployment.vault.address,
      token: deployment.token.address,
      checkpointEveryBlocks: EVERY,
      // The vault's limits are under test here and one account makes all twelve withdrawals of
      // the drain: the engine's per-account share (default 8 a period, tested in
      // src/execution/withdrawals.test.ts) is raised out of the way.
      maxWithdrawalsPerAccount: 12,
    },
  });
  const recipient = await deployment.evm.account('recipient');
  return { deployment, network, engine, recipient, txs: createTransactionBuilder() };
}

/** Applies blocks (the first carrying `transactions`) up to the next checkpoint and certifies it. */
function certifyNext(
  network: CheckpointNetwork,
  engine: Engine,
  transactions: Parameters<Engine['applyBlock']>[0]['transactions'] = [],
): CheckpointRecord {
  let first = true;
  do {
    const block = {
      height: engine.height + 1,
      timeMs: engine.timeMs + 1000,
      transactions: first ? transactions : [],
      oracle: [],
    };
    first = false;
    const result = engine.applyBlock(block);
    for (const r of result.results) assert.equal(r.status, 'OK');
    network.apply({
      height: block.height,
      blockHash: sha256(new TextEncoder().encode(`block ${block.height}`)),
      stateRoot: result.stateRoot,
      withdrawals: engine.withdrawals()!,
    });
  } while (engine.height % EVERY !== 0);
  network.run(20_000);
  const record = network.checkpoints[1]!.byHeight(engine.height)!;
  assert.ok(record.certificate !== undefined, `checkpoint ${engine.height} certified`);
  return record;
}

async function submit(deployment: Deployment, groupPublicKey: Uint8Array, certificate: Uint8Array) {
  const [keyset, checkpoint, signature] = evmCheckpointArguments(
    decodeCheckpointCertificate(certificate),
    groupPublicKey,
  );
  return deployment.vault.send(deployment.deployer, 'submitCheckpoint', [
    keyset,
    checkpointArgs(checkpoint),
    signature,
  ]);
}

function claimArgs(network: CheckpointNetwork, id: number) {
  const proof = network.checkpoints[2]!.proof(id)!;
  return [
    withdrawalArgs({ ...proof.entry, id: BigInt(proof.entry.id) }),
    proof.record.checkpoint.height,
    proofArgs(proof.proof),
  ];
}

async function balanceOf(deployment: Deployment, who: Uint8Array): Promise<bigint> {
  const result = await deployment.token.call('balanceOf', [`0x${Buffer.from(who).toString('hex')}`]);
  return result.value![0] as bigint;
}

const withdraw = (amountUsdc: number, recipient: Uint8Array, token: Uint8Array) =>
  ({ kind: 'withdraw', value: { amount: amountUsdc * USDC, recipient, token } }) as const;

test('a withdrawal certified by the validators is paid by the vault once; another root proves nothing', async (t) => {
  const { deployment, network, engine, recipient, txs } = await setUp('withdraw-honest');
  const groupPublicKey = network.prices[0]!.keyset()!.groupPublicKey;
  const record = certifyNext(network, engine, [
    txs.next(alice, withdraw(1_500, recipient.address, deployment.token.address)),
    txs.next(alice, withdraw(250, recipient.address, deployment.token.address)),
  ]);
  assert.equal(engine.account(alice.publicKey)!.balance, 98_250n * BigInt(USDC));
  // Every validator holds the same certificate, whoever coordinated.
  for (const checkpoint of network.checkpoints)
    assert.deepEqual(checkpoint.byHeight(EVERY)?.certificate, record.certificate);
  const accepted = await submit(deployment, groupPublicKey, record.certificate!);
  assert.equal(accepted.ok, true, accepted.revert?.name);
  t.diagnostic(`submitCheckpoint (node-certified): ${accepted.transactionGas} transaction gas`);
  const paid = await deployment.vault.send(recipient, 'claim', claimArgs(network, 1));
  assert.equal(paid.ok, true, paid.revert?.name);
  t.diagnostic(`claim: ${paid.transactionGas} transaction gas`);
  assert.equal(await balanceOf(deployment, recipient.address), 1_500n * BigInt(USDC));

  // Attack: the same withdrawal claimed twice.
  const again = await deployment.vault.send(recipient, 'claim', claimArgs(network, 1));
  assert.equal(again.revert?.name, 'AlreadyClaimed');

  // Attack: withdrawal 2's proof against the next checkpoint's root (an empty period).
  const empty = certifyNext(network, engine);
  assert.deepEqual(empty.checkpoint.withdrawalsRoot, EMPTY_WITHDRAWALS_ROOT);
  assert.equal((await submit(deployment, groupPublicKey, empty.certificate!)).ok, true);
  const [args, , proof] = claimArgs(network, 2);
  const wrongRoot = await deployment.vault.send(recipient, 'claim', [args, BigInt(2 * EVERY), proof]);
  assert.equal(wrongRoot.revert?.name, 'InvalidProof');
  // Nomad: the empty root is not zero, and an empty proof of any leaf against it fails.
  const emptyProof = await deployment.vault.send(recipient, 'claim', [args, BigInt(2 * EVERY), []]);
  assert.equal(emptyProof.revert?.name, 'InvalidProof');
  // An inflated amount with the real proof.
  const inflated = { ...(args as { amount: bigint }), amount: 10n ** 12n };
  const more = await deployment.vault.send(recipient, 'claim', [inflated, BigInt(EVERY), proof]);
  assert.equal(more.revert?.name, 'InvalidProof');
  // The honest claim still goes through.
  assert.equal((await deployment.vault.send(recipient, 'claim', claimArgs(network, 2))).ok, true);
  assert.equal(await balanceOf(deployment, recipient.address), 1_750n * BigInt(USDC));
});

test('attack: a node-certified checkpoint is refused by another vault and verifier; its proofs pay nothing there', async () => {
  const { deployment, network, engine, recipient, txs } = await setUp('withdraw-domain');
  const groupPublicKey = network.prices[0]!.keyset()!.groupPublicKey;
  const record = certifyNext(network, engine, [
    txs.next(alice, withdraw(100, recipient.address, deployment.token.address)),
  ]);
  // A second deployment with the same keyset on the same chain: another verifier (EIP-712 domain).
  const other = await deploy({ evm: deployment.evm, groupPublicKey });
  const refused = await submit(other, groupPublicKey, record.certificate!);
  assert.equal(refused.revert?.name, 'BadCertificate');
  // A keyset-old-epoch forgery: keysetOne (not the validators' key) signs the same checkpoint.
  const forged = encodeCheckpointCertificate({
    ...decodeCheckpointCertificate(record.certificate!),
    signature: frostSign(
      keysetOne,
      checkpointDigest(record.checkpoint, domainOf(deployment.evm, deployment.verifier)),
    ),
  });
  assert.equal((await submit(deployment, groupPublicKey, forged)).revert?.name, 'BadCertificate');
  // The validators drop the forged certificate when it is gossiped to them.
  const before = network.checkpoints[3]!.stats().dropped;
  network.checkpoints[3]!.receive(0, forged);
  assert.equal(network.checkpoints[3]!.stats().dropped, before + 1);
});

test('attack: f validators agreeing on a fake checkpoint never reach the threshold', async () => {
  const { deployment, network, engine, recipient, txs } = await setUp('withdraw-colluders');
  // Validator 0 (f = 1 of 4) sees a block whose withdrawals pay the thief 90,000 units.
  for (let height = 1; height <= EVERY; height++)
    engine.applyBlock({ height, timeMs: engine.timeMs + 1000, transactions: [], oracle: [] });
  const fake: Checkpoint = {
    height: BigInt(EVERY),
    blockHash: new Uint8Array(32).fill(0x66),
    stateRoot: engine.stateRoot(),
    withdrawalsRoot: new Uint8Array(32).fill(0x77),
    epoch: 1n,
  };
  const domain = domainOf(deployment.evm, deployment.verifier);
  let signed = false;
  network.prices[0]!.signDigest(checkpointDigest(fake, domain), 1, 0, () => {
    signed = true;
  });
  network.run(60_000);
  assert.equal(signed, false, 'one validator alone gathered no signature');
  // The honest three certify the real checkpoint meanwhile, and the fake root is unknown on chain.
  const record = certifyNext(network, engine, [
    txs.next(alice, withdraw(10, recipient.address, deployment.token.address)),
  ]);
  assert.notDeepEqual(record.checkpoint.withdrawalsRoot, fake.withdrawalsRoot);
});

test('attack: a drain through node-certified withdrawals is held by the rate limit, then stopped by the curse', async (t) => {
  const { deployment, network, engine, recipient, txs } = await setUp('withdraw-drain');
  const groupPublicKey = network.prices[0]!.keyset()!.groupPublicKey;
  // Twelve withdrawals of 1,000 units (below the delay threshold) against a 10,000-unit bucket.
  const record = certifyNext(
    network,
    engine,
    Array.from({ length: 12 }, () =>
      txs.next(alice, withdraw(1_000, recipient.address, deployment.token.address)),
    ),
  );
  assert.equal((await submit(deployment, groupPublicKey, record.certificate!)).ok, true);
  let paid = 0;
  let refusal: string | undefined;
  for (let id = 1; id <= 12; id++) {
    const result = await deployment.vault.send(recipient, 'claim', claimArgs(network, id));
    if (!result.ok) {
      refusal = result.revert?.name;
      break;
    }
    paid++;
  }
  assert.equal(refusal, 'RateLimited');
  assert.ok((await balanceOf(deployment, recipient.address)) <= TOKEN_CAPACITY + 12n * 1_000_000n);
  t.diagnostic(`rate limit: ${paid} of 12 node-certified withdrawals paid before RateLimited`);
  const subject = (await deployment.vault.call('tokenSubject', [deployment.token.hex])).value![0];
  for (const guardian of deployment.guardians.slice(0, 2))
    assert.equal((await deployment.vault.send(guardian, 'voteToCurse', [subject])).ok, true);
  deployment.evm.advance(100_000n);
  const cursed = await deployment.vault.send(recipient, 'claim', claimArgs(network, paid + 1));
  assert.equal(cursed.revert?.name, 'SubjectCursed');
});
