/**
 * The committed vault, verifier and test token deployed on an EDR node (test/contracts/edr-node.ts),
 * with the depositor's helpers the bridge tests share.
 */
import assert from 'node:assert/strict';
import { type Abi, createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { fromHex } from '../../src/crypto/bytes.ts';
import type { WithdrawalEntry } from '../../src/execution/state.ts';
import type { EngineBridge } from '../../src/execution/types.ts';
import { withdrawalsRootOf } from '../../src/execution/withdrawals.ts';
import { compiledContracts } from '../../src/interop/evm/compile.ts';
import type { CertificateDomain } from '../../src/interop/price-certificate.ts';
import { createCheckpointSigner } from '../../src/node/checkpoint-signing.ts';
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

/** What a claim test reads off a deployed chain: the verifier's domain and the engine's bridge. */
export interface ClaimSetup {
  publicClient: ReturnType<typeof createPublicClient>;
  verifier: Hex;
  domain: CertificateDomain;
  bridge: EngineBridge;
  /** The test token's balance of a 20-byte EVM address. */
  tokenBalance(recipient: Uint8Array): Promise<bigint>;
}

/** Reads the vault's verifier and names the checkpoint domain and engine bridge (every 5 blocks). */
export async function claimSetup(chain: Chain): Promise<ClaimSetup> {
  const contracts = compiledContracts().contracts;
  const publicClient = createPublicClient({ transport: http(chain.node.url, { retryCount: 0 }) });
  const verifier = (await publicClient.readContract({
    abi: contracts.get('PalisadeVault')!.abi as Abi,
    address: chain.vault,
    functionName: 'verifier',
  })) as Hex;
  return {
    publicClient,
    verifier,
    domain: { chainId: Number(chain.node.chainId), verifyingContract: fromHex(verifier)! },
    bridge: {
      evmChainId: Number(chain.node.chainId),
      vault: fromHex(chain.vault)!,
      token: fromHex(chain.token)!,
      checkpointEveryBlocks: 5,
    },
    async tokenBalance(recipient) {
      return (await publicClient.readContract({
        abi: contracts.get('TestToken')!.abi as Abi,
        address: chain.token,
        functionName: 'balanceOf',
        args: [`0x${Buffer.from(recipient).toString('hex')}`],
      })) as bigint;
    },
  };
}

/**
 * The validators' checkpoint signer (src/node/checkpoint-signing.ts) over `prices`, fed one
 * checkpoint block at `height` holding `entries` for `bridge`'s vault; its proofs are what
 * GET /v1/bridge/withdrawals/:id serves.
 */
export function signedCheckpoint(
  setup: Pick<ClaimSetup, 'domain'>,
  prices: Parameters<typeof createCheckpointSigner>[0]['prices'],
  bridge: EngineBridge,
  entries: WithdrawalEntry[],
  height = 5,
) {
  const signer = createCheckpointSigner({
    domain: setup.domain,
    everyBlocks: 5,
    prices,
    broadcast: () => {},
  });
  signer.onBlock({
    height,
    blockHash: new Uint8Array(32).fill(height),
    stateRoot: new Uint8Array(32).fill(height + 1),
    withdrawals: {
      bridge,
      nextId: Math.max(...entries.map((entry) => entry.id)) + 1,
      checkpointHeight: height,
      entries,
      root: withdrawalsRootOf(bridge, entries),
    },
    sign: true,
  });
  return signer;
}
