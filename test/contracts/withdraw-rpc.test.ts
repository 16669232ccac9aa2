/**
 * `claimOnVault` (src/node/withdraw-evm.ts) over JSON-RPC against an EDR node running the
 * committed vault: it submits the node-signed checkpoint once, claims with the served proof, and
 * a second claim reverts with the vault's AlreadyClaimed; a proof read for another vault is
 * refused on chain.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Abi } from 'viem';
import { handoverDigest } from '../../src/interop/evm/certificates.ts';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import { encodeHandoverCertificate } from '../../src/interop/handover-certificate.ts';
import { withdrawalProofJson } from '../../src/node/api/bridge.ts';
import { claimOnVault, WithdrawError } from '../../src/node/withdraw-evm.ts';
import { type EdrNode, startEdrNode } from './edr-node.ts';
import { claimSetup, deployOnEdr, signedCheckpoint } from './edr-vault.ts';
import { frostSign, keysetOne, keysetSigner, keysetTwo } from './fixtures.ts';

let node: EdrNode | undefined;
after(() => node?.close());

/** The test keyset standing in for the validators' price signer (threshold 3 of 4). */
const prices = keysetSigner(keysetOne, 1);

test('claimOnVault submits the checkpoint once and claims over JSON-RPC; a replay reverts', async () => {
  node = await startEdrNode();
  const chain = await deployOnEdr(node);
  await chain.deposit(50_000_000n, new Uint8Array(32).fill(0xac));
  const setup = await claimSetup(chain);
  const { domain, bridge } = setup;
  const recipient = new Uint8Array(20).fill(0x5e);
  const entries = [
    { id: 1, recipient, token: bridge.token, amount: 3_000_000n },
    { id: 2, recipient, token: bridge.token, amount: 4_000_000n },
  ];
  const signer = signedCheckpoint(setup, prices, bridge, entries);
  const relayer = { rpcUrl: node.url, privateKey: node.accounts[6]!, vault: chain.vault };
  const groupKey = keysetOne[0]!.groupPublicKey;
  const first = await claimOnVault(withdrawalProofJson(signer.proof(1)!, domain), relayer, groupKey);
  assert.ok(first.checkpointTransaction !== undefined, 'the first claim brings the checkpoint');
  assert.equal(first.paid, true);
  const second = await claimOnVault(withdrawalProofJson(signer.proof(2)!, domain), relayer, groupKey);
  assert.equal(second.checkpointTransaction, undefined, 'the checkpoint is submitted once');
  const balance = await setup.tokenBalance(recipient);
  assert.equal(balance, 7_000_000n);
  await assert.rejects(
    claimOnVault(withdrawalProofJson(signer.proof(1)!, domain), relayer, groupKey),
    (error: unknown) =>
      error instanceof WithdrawError &&
      error.code === 'VAULT_REVERTED' &&
      /AlreadyClaimed/.test(error.message),
  );
  // A proof served for another vault's leaves (same keyset, same chain) proves nothing here.
  const elsewhere = { ...bridge, vault: new Uint8Array(20).fill(0x99) };
  const stolen = [{ id: 7, recipient, token: bridge.token, amount: 9_000_000n }];
  const foreign = signedCheckpoint(setup, prices, elsewhere, stolen, 10);
  await assert.rejects(
    claimOnVault(withdrawalProofJson(foreign.proof(7)!, domain), relayer, groupKey),
    (error: unknown) => error instanceof WithdrawError && /InvalidProof/.test(error.message),
  );
});

test('after the keyset moves on, a claim brings the verifier along the handover chain; no chain, a forged or a foreign handover moves nothing', async () => {
  node ??= await startEdrNode();
  const chain = await deployOnEdr(node);
  await chain.deposit(50_000_000n, new Uint8Array(32).fill(0xad));
  const setup = await claimSetup(chain);
  const { domain, bridge, publicClient, verifier } = setup;
  const contracts = compiledContracts().contracts;
  const activeEpoch = async () =>
    (
      (await publicClient.readContract({
        abi: contracts.get('PalisadeVerifier')!.abi as Abi,
        address: verifier,
        functionName: 'activeKeyset',
      })) as { epoch: bigint }
    ).epoch;
  // The validators are in epoch 2 (a refresh or a set change): their checkpoints are signed by it.
  const epochTwo = keysetSigner(keysetTwo, 2);

  const recipient = new Uint8Array(20).fill(0x6e);
  const entries = [{ id: 1, recipient, token: bridge.token, amount: 2_000_000n }];
  const signer = signedCheckpoint(setup, epochTwo, bridge, entries);
  const read = withdrawalProofJson(signer.proof(1)!, domain);
  const relayer = { rpcUrl: node.url, privateKey: node.accounts[7]!, vault: chain.vault };
  const next = keysetTwo[0]!.groupPublicKey;
  const handover = (signedBy: typeof keysetOne, where = domain) =>
    encodeHandoverCertificate({
      domain: where,
      fromEpoch: 1,
      toEpoch: 2,
      groupPublicKey: next,
      signature: frostSign(
        signedBy,
        handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next }, where),
      ),
    });

  // Without the chain the claim cannot go on (before: the vault refused every claim after a refresh).
  await assert.rejects(
    claimOnVault(read, relayer, next),
    (error: unknown) => error instanceof WithdrawError && error.code === 'KEYSET_BEHIND',
  );
  // A handover the new keyset signed itself, or one for another verifier, is not offered to it
  // (the verifier would refuse them: test/contracts/verifier.test.ts).
  await assert.rejects(
    claimOnVault(read, relayer, next, [handover(keysetTwo)]),
    (error: unknown) => error instanceof WithdrawError && error.code === 'KEYSET_BEHIND',
  );
  const elsewhere = { ...domain, verifyingContract: new Uint8Array(20).fill(0x77) };
  await assert.rejects(
    claimOnVault(read, relayer, next, [handover(keysetOne, elsewhere)]),
    (error: unknown) => error instanceof WithdrawError && error.code === 'KEYSET_BEHIND',
  );
  assert.equal(await activeEpoch(), 1n, 'nothing moved the verifier');

  // The chain, behind a forged step a node put first: epoch 1 signed the move to epoch 2; paid.
  const paid = await claimOnVault(read, relayer, next, [handover(keysetTwo), handover(keysetOne)]);
  assert.equal(paid.paid, true);
  assert.equal(await activeEpoch(), 2n);
});
