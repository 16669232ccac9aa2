/**
 * Claims from one relayer wallet at once (the devnet's bots claim in the background, so a bot's
 * next claim can start before its last one is mined): each `claimOnVault` reads the wallet's
 * nonce, and two that read it together sent the same nonce, the EVM node refused the second
 * ("Nonce too low", JSON-RPC -32000), and viem reported it as "Missing or invalid parameters".
 * Sends from one wallet are now queued, so every concurrent claim is paid.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Abi, createPublicClient, type Hex, http } from 'viem';
import { fromHex } from '../../src/crypto/bytes.ts';
import { withdrawalsRootOf } from '../../src/execution/withdrawals.ts';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import { withdrawalProofJson } from '../../src/node/api/bridge.ts';
import { createCheckpointSigner } from '../../src/node/checkpoint-signing.ts';
import { claimOnVault } from '../../src/node/withdraw-evm.ts';
import { type EdrNode, startEdrNode } from './edr-node.ts';
import { deployOnEdr } from './edr-vault.ts';
import { keysetOne, keysetSigner } from './fixtures.ts';

let node: EdrNode | undefined;
after(() => node?.close());

/** The test keyset standing in for the validators' price signer (threshold 3 of 4). */
const prices = keysetSigner(keysetOne, 1);

test('concurrent claims from one wallet are all paid', async () => {
  node = await startEdrNode();
  const chain = await deployOnEdr(node);
  await chain.deposit(50_000_000n, new Uint8Array(32).fill(0xac));
  const publicClient = createPublicClient({ transport: http(node.url, { retryCount: 0 }) });
  const contracts = compiledContracts().contracts;
  const verifier = (await publicClient.readContract({
    abi: contracts.get('PalisadeVault')!.abi as Abi,
    address: chain.vault,
    functionName: 'verifier',
  })) as Hex;
  const domain = { chainId: Number(node.chainId), verifyingContract: fromHex(verifier)! };
  const bridge = {
    evmChainId: Number(node.chainId),
    vault: fromHex(chain.vault)!,
    token: fromHex(chain.token)!,
    checkpointEveryBlocks: 5,
  };
  const recipient = new Uint8Array(20).fill(0x5f);
  const entries = [1, 2, 3, 4].map((id) => ({ id, recipient, token: bridge.token, amount: 1_000_000n }));
  const signer = createCheckpointSigner({
    domain,
    everyBlocks: 5,
    validators: 4,
    prices,
    broadcast: () => {},
  });
  signer.onBlock({
    height: 5,
    blockHash: new Uint8Array(32).fill(0x01),
    stateRoot: new Uint8Array(32).fill(0x02),
    withdrawals: {
      bridge,
      nextId: 5,
      checkpointHeight: 5,
      entries,
      root: withdrawalsRootOf(bridge, entries),
    },
    sign: true,
  });
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
  const balance = (await publicClient.readContract({
    abi: contracts.get('TestToken')!.abi as Abi,
    address: chain.token,
    functionName: 'balanceOf',
    args: [`0x${'5f'.repeat(20)}`],
  })) as bigint;
  assert.equal(balance, 4_000_000n);
});
