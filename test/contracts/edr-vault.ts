/**
 * The committed vault, verifier and test token deployed on an EDR node (test/contracts/edr-node.ts),
 * with the depositor's helpers the bridge tests share.
 */
import assert from 'node:assert/strict';
import { type Abi, createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import type { EdrNode } from './edr-node.ts';
import { keysetOne } from './fixtures.ts';

export interface Chain {
  node: EdrNode;
  vault: Hex;
  token: Hex;
  depositor: Hex;
  deployBlock: bigint;
  /** Mints and approves (two blocks), then deposits (one block). */
  deposit(amount: bigint, account: Uint8Array): Promise<void>;
  /** Mints and approves only (two blocks). */
  prepare(amount: bigint): Promise<void>;
  /** The deposit transaction alone (one block), after `prepare`. */
  depositPrepared(amount: bigint, account: Uint8Array): Promise<void>;
  mine(blocks: number): Promise<void>;
  snapshot(): Promise<string>;
  revert(id: string): Promise<void>;
}

export async function deployOnEdr(node: EdrNode): Promise<Chain> {
  const contracts = compiledContracts().contracts;
  const transport = http(node.url, { retryCount: 0 });
  const publicClient = createPublicClient({ transport });
  const [deployer, g0, g1, g2, u0, u1, u2, depositor] = node.accounts.map(
    (key) => privateKeyToAccount(key).address,
  );
  const wallet = createWalletClient({ transport });
  const chain = {
    id: Number(node.chainId),
    name: 'edr',
    nativeCurrency: { name: 'E', symbol: 'E', decimals: 18 },
    rpcUrls: { default: { http: [node.url] } },
  } as const;
  const receipt = async (hash: Hex) => {
    const mined = await publicClient.getTransactionReceipt({ hash });
    assert.equal(mined.status, 'success');
    return mined;
  };
  const deploy = async (name: string, args: readonly unknown[]) => {
    const artifact = contracts.get(name)!;
    const hash = await wallet.deployContract({
      abi: artifact.abi as Abi,
      bytecode: `0x${Buffer.from(artifact.bytecode).toString('hex')}`,
      args: args as never,
      account: deployer!,
      chain,
    });
    return (await receipt(hash)).contractAddress!;
  };
  const send = async (
    name: string,
    address: Hex,
    from: Hex,
    functionName: string,
    args: readonly unknown[],
  ) => {
    const hash = await wallet.writeContract({
      abi: contracts.get(name)!.abi as Abi,
      address,
      functionName,
      args: args as never,
      account: from,
      chain,
    });
    await receipt(hash);
  };
  const verifier = await deploy('PalisadeVerifier', [
    1n,
    `0x${Buffer.from(keysetOne[0]!.groupPublicKey).toString('hex')}`,
  ]);
  const vault = await deploy('PalisadeVault', [
    verifier,
    [g0, g1, g2],
    [u0, u1, u2],
    2n,
    3600n,
    10n ** 15n,
    10n ** 9n,
  ]);
  const token = await deploy('TestToken', ['Palisade Test USD', 'pUSD', 6n]);
  for (const governor of [g0!, g1!, g2!])
    await send('PalisadeVault', vault, governor, 'configureToken', [
      token,
      10n ** 14n,
      10n ** 8n,
      10n ** 13n,
      10n ** 18n,
    ]);
  const deployBlock = await publicClient.getBlockNumber();
  const prepare = async (amount: bigint) => {
    await send('TestToken', token, depositor!, 'mint', [depositor, amount]);
    await send('TestToken', token, depositor!, 'approve', [vault, amount]);
  };
  const depositPrepared = async (amount: bigint, account: Uint8Array) => {
    await send('PalisadeVault', vault, depositor!, 'deposit', [
      token,
      amount,
      `0x${Buffer.from(account).toString('hex')}`,
    ]);
  };
  return {
    node,
    vault,
    token,
    depositor: depositor!,
    deployBlock,
    async deposit(amount, account) {
      await prepare(amount);
      await depositPrepared(amount, account);
    },
    prepare,
    depositPrepared,
    async mine(blocks) {
      for (let i = 0; i < blocks; i++) await node.request('evm_mine');
    },
    snapshot: async () => (await node.request('evm_snapshot')) as string,
    async revert(id) {
      assert.equal(await node.request('evm_revert', [id]), true);
    },
  };
}
