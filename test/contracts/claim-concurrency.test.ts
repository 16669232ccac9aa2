/**
 * Claims from one relayer wallet at once (the devnet's bots claim in the background, so a bot's
 * next claim can start before its last one is mined): each `claimOnVault` reads the wallet's
 * nonce, and two that read it together sent the same nonce, the EVM node refused the second
 * ("Nonce too low", JSON-RPC -32000), and viem reported it as "Missing or invalid parameters".
 * Sends from one wallet are now queued, so every concurrent claim is paid.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { withdrawalProofJson } from '../../src/node/api/bridge.ts';
import { claimOnVault } from '../../src/node/withdraw-evm.ts';
import { type EdrNode, startEdrNode } from './edr-node.ts';
import { claimSetup, deployOnEdr, signedCheckpoint } from './edr-vault.ts';
import { keysetOne, keysetSigner } from './fixtures.ts';

let node: EdrNode | undefined;
after(() => node?.close());

/** The test keyset standing in for the validators' price signer (threshold 3 of 4). */
const prices = keysetSigner(keysetOne, 1);

test('concurrent claims from one wallet are all paid', async () => {
  node = await startEdrNode();
  const chain = await deployOnEdr(node);
  await chain.deposit(50_000_000n, new Uint8Array(32).fill(0xac));
  const setup = await claimSetup(chain);
  const { domain, bridge } = setup;
  const recipient = new Uint8Array(20).fill(0x5f);
  const entries = [1, 2, 3, 4].map((id) => ({ id, recipient, token: bridge.token, amount: 1_000_000n }));
  const signer = signedCheckpoint(setup, prices, bridge, entries);
  const relayer = { rpcUrl: node.url, privateKey: node.accounts[7]!, vault: chain.vault };
  const groupKey = keysetOne[0]!.groupPublicKey;
  // The checkpoint first, so the concurrent claims below each send one transaction.
  await claimOnVault(withdrawalProofJson(signer.proof(1)!, domain), relayer, groupKey);
  const results = await Promise.allSettled(
    [2, 3, 4].map((id) => claimOnVault(withdrawalProofJson(signer.proof(id)!, domain), relayer, groupKey)),
  );
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value.paid : (r.reason as Error).message.slice(0, 200))),
    [true, true, true],
  );
  const balance = await setup.tokenBalance(recipient);
  assert.equal(balance, 4_000_000n);
});
