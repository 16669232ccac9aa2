/**
 * The devnet's side of the bridge on its local EVM node (evm.ts): deploying the test stablecoin,
 * the vault and the verifier, depositing for a Palisade account, and reading the vault's state.
 * Every EVM account used here is one of the node's funded test accounts (edr-server.ts), by role:
 *
 *   0        deployer of the token, the vault and then the verifier (its nonces 0, 1, 2)
 *   1–3      the vault's governors (all three lift a curse or change a limit)
 *   4–6      its guardians (any one stops a delayed withdrawal, two curse)
 *   7        left for an operator's own deposits (README)
 *   8…15     the bots' EVM wallets, bot i at 8 + i
 *
 * Ordering: genesis must name the vault (and its deployment block) and the verifier, but the
 * verifier is made with the price group key, which exists only once the validators ran their
 * DKG. So the token and the vault are deployed first, the vault pointing at the address the
 * deployer's next contract will have (CREATE: keccak(rlp(deployer, nonce))), the genesis is
 * written, the validators start, and the verifier is deployed at that address with the group key
 * `GET /v1/keys` serves. `deployVerifier` checks it landed there.
 */
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  getContractAddress,
  type Hex,
  http,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { compiledContracts } from './compile.ts';
import { EDR_ACCOUNT_KEYS } from './edr-server.ts';

/** A deployment or deposit on the local EVM node that did not happen (code EVM_DEPLOY_FAILED or EVM_DEPOSIT_FAILED). */
export class VaultSetupError extends Error {
  override readonly name = 'VaultSetupError';
  readonly code: 'EVM_DEPLOY_FAILED' | 'EVM_DEPOSIT_FAILED';
  constructor(
    code: 'EVM_DEPLOY_FAILED' | 'EVM_DEPOSIT_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Depth at which the devnet's validators report a deposit. */
export const DEVNET_CONFIRMATIONS = 2;
/** The EVM node mines a block this often, so deposits get their confirmations. */
export const DEVNET_EVM_BLOCK_MS = 1000;
/** The test stablecoin has the engine quote's 6 decimals: one base unit credits one. */
export const TOKEN_DECIMALS = 6;
const UNIT = 10n ** BigInt(TOKEN_DECIMALS);

/** The vault's limits on the devnet (README "The bridge"). */
export const DEVNET_LIMITS = Object.freeze({
  /** Per token: bucket capacity, refill per second, the size from which a withdrawal waits. */
  tokenCapacity: 1_000_000n * UNIT,
  tokenRatePerSecond: 100n * UNIT,
  delayThreshold: 250_000n * UNIT,
  /** Value units per 1e18 base units: one unit per base unit. */
  valueWeight: 10n ** 18n,
  /** Over all tokens, in value units. */
  globalCapacity: 2_000_000n * UNIT,
  globalRatePerSecond: 200n * UNIT,
  delaySeconds: 300n,
  guardianThreshold: 2n,
});

export const DEPLOYER_INDEX = 0;
export const GOVERNOR_INDEXES = [1, 2, 3] as const;
export const GUARDIAN_INDEXES = [4, 5, 6] as const;
export const BOT_WALLET_BASE = 8;

export const addressOf = (index: number): Hex => privateKeyToAccount(EDR_ACCOUNT_KEYS[index]!).address;

/** What the devnet deployed; written into genesis and `<data>/evm/deployment.json`. */
export interface BridgeDeployment {
  evmChainId: number;
  rpc: string;
  token: Hex;
  vault: Hex;
  verifier: Hex;
  /** The vault's deployment block (genesis bridge.fromBlock). */
  fromBlock: number;
}

const hexBytes = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString('hex')}`;

function clients(rpc: string) {
  const transport = http(rpc, { retryCount: 0, timeout: 10_000 });
  return { publicClient: createPublicClient({ transport }), wallet: createWalletClient({ transport }) };
}

async function chainOf(publicClient: PublicClient, rpc: string) {
  const id = await publicClient.getChainId();
  return {
    id,
    name: 'palisade-devnet-evm',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpc] } },
  } as const;
}

/** Sends through the node's owned account `from` and waits for a successful receipt. */
async function sender(rpc: string, deployerIndex = DEPLOYER_INDEX) {
  const { publicClient, wallet } = clients(rpc);
  const chain = await chainOf(publicClient, rpc);
  const contracts = compiledContracts().contracts;
  const mined = async (hash: Hex, what: string) => {
    const receipt = await publicClient.waitForTransactionReceipt({
      hash,
      pollingInterval: 100,
      timeout: 30_000,
    });
    if (receipt.status !== 'success') throw new VaultSetupError('EVM_DEPLOY_FAILED', `${what} reverted`);
    return receipt;
  };
  return {
    publicClient,
    chain,
    async deploy(name: string, args: readonly unknown[]) {
      const artifact = contracts.get(name);
      if (artifact === undefined) throw new VaultSetupError('EVM_DEPLOY_FAILED', `no compiled ${name}`);
      const hash = await wallet.deployContract({
        abi: artifact.abi as Abi,
        bytecode: hexBytes(artifact.bytecode),
        args: args as never,
        account: addressOf(deployerIndex),
        chain,
      });
      return mined(hash, `deploying ${name}`);
    },
    async send(name: string, address: Hex, from: number, functionName: string, args: readonly unknown[]) {
      const hash = await wallet.writeContract({
        abi: contracts.get(name)!.abi as Abi,
        address,
        functionName,
        args: args as never,
        account: addressOf(from),
        chain,
      });
      return mined(hash, `${name}.${functionName}`);
    },
  };
}

/**
 * Deploys the token and the vault, lists the token with the devnet's limits (every governor
 * approves), and names the verifier's future address (the deployer's third contract; `deployer`
 * another funded account than 0, for a second deployment on one chain).
 * @throws VaultSetupError EVM_DEPLOY_FAILED
 */
export async function deployTokenAndVault(
  rpc: string,
  options: { deployer?: number } = {},
): Promise<BridgeDeployment> {
  const evm = await sender(rpc, options.deployer);
  const deployer = addressOf(options.deployer ?? DEPLOYER_INDEX);
  const nonce = await evm.publicClient.getTransactionCount({ address: deployer });
  if (nonce !== 0)
    throw new VaultSetupError(
      'EVM_DEPLOY_FAILED',
      `the deployer has sent ${nonce} transactions on a new chain`,
    );
  const verifier = getContractAddress({ from: deployer, nonce: 2n });
  const token = (await evm.deploy('TestToken', ['Palisade Test USD', 'pUSD', TOKEN_DECIMALS]))
    .contractAddress!;
  const vaultReceipt = await evm.deploy('PalisadeVault', [
    verifier,
    GOVERNOR_INDEXES.map(addressOf),
    GUARDIAN_INDEXES.map(addressOf),
    DEVNET_LIMITS.guardianThreshold,
    DEVNET_LIMITS.delaySeconds,
    DEVNET_LIMITS.globalCapacity,
    DEVNET_LIMITS.globalRatePerSecond,
  ]);
  const vault = vaultReceipt.contractAddress!;
  for (const governor of GOVERNOR_INDEXES) {
    await evm.send('PalisadeVault', vault, governor, 'configureToken', [
      token,
      DEVNET_LIMITS.tokenCapacity,
      DEVNET_LIMITS.tokenRatePerSecond,
      DEVNET_LIMITS.delayThreshold,
      DEVNET_LIMITS.valueWeight,
    ]);
  }
  return {
    evmChainId: evm.chain.id,
    rpc,
    token,
    vault,
    verifier,
    fromBlock: Number(vaultReceipt.blockNumber),
  };
}

/**
 * Deploys the verifier with the price keyset the validators made, at the address the vault names.
 * @throws VaultSetupError EVM_DEPLOY_FAILED (also when it lands elsewhere: the deployer sent something else)
 */
export async function deployVerifier(
  deployment: BridgeDeployment,
  keyset: { epoch: number; groupPublicKey: Uint8Array },
): Promise<void> {
  const evm = await sender(deployment.rpc);
  const receipt = await evm.deploy('PalisadeVerifier', [
    BigInt(keyset.epoch),
    hexBytes(keyset.groupPublicKey),
  ]);
  if (receipt.contractAddress?.toLowerCase() !== deployment.verifier.toLowerCase()) {
    throw new VaultSetupError(
      'EVM_DEPLOY_FAILED',
      `the verifier landed at ${receipt.contractAddress}, not ${deployment.verifier} as the vault expects`,
    );
  }
}

/** Whether a contract is at `address` (the verifier after a resumed start). */
export async function hasCode(rpc: string, address: Hex): Promise<boolean> {
  const code = await clients(rpc).publicClient.getCode({ address });
  return code !== undefined && code !== '0x';
}

/**
 * Mints `amount` of the test token to EVM wallet `wallet` and approves the vault for it (two
 * transactions, two blocks): what `depositPrepared` then spends.
 * @throws VaultSetupError EVM_DEPOSIT_FAILED
 */
export async function prepareDeposit(
  deployment: BridgeDeployment,
  wallet: number,
  amount: bigint,
): Promise<void> {
  const evm = await sender(deployment.rpc);
  try {
    await evm.send('TestToken', deployment.token, wallet, 'mint', [addressOf(wallet), amount]);
    await evm.send('TestToken', deployment.token, wallet, 'approve', [deployment.vault, amount]);
  } catch (cause) {
    throw new VaultSetupError(
      'EVM_DEPOSIT_FAILED',
      `approving from wallet ${wallet}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/**
 * The vault's `deposit` of `amount` for the Palisade account `account` (one transaction, one
 * block), after `prepareDeposit`.
 * @throws VaultSetupError EVM_DEPOSIT_FAILED
 */
export async function depositPrepared(
  deployment: BridgeDeployment,
  wallet: number,
  account: Uint8Array,
  amount: bigint,
): Promise<void> {
  const evm = await sender(deployment.rpc);
  try {
    await evm.send('PalisadeVault', deployment.vault, wallet, 'deposit', [
      deployment.token,
      amount,
      hexBytes(account),
    ]);
  } catch (cause) {
    throw new VaultSetupError(
      'EVM_DEPOSIT_FAILED',
      `deposit from wallet ${wallet}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/**
 * Mints, approves and deposits `amount` for the Palisade account `account` from EVM wallet
 * `wallet` (three transactions). Returns the vault's deposit count after it.
 * @throws VaultSetupError EVM_DEPOSIT_FAILED
 */
export async function depositFor(
  deployment: BridgeDeployment,
  wallet: number,
  account: Uint8Array,
  amount: bigint,
): Promise<bigint> {
  await prepareDeposit(deployment, wallet, amount);
  await depositPrepared(deployment, wallet, account, amount);
  return readVault(deployment).then((state) => state.depositNonce);
}

export interface VaultBucket {
  /** What a withdrawal may take now (refilled to the latest block's time). */
  available: bigint;
  capacity: bigint;
  ratePerSecond: bigint;
}

/** The vault as the EVM node holds it. */
export interface VaultState {
  blockNumber: bigint;
  depositNonce: bigint;
  /** The token's balance held by the vault. */
  balance: bigint;
  token: VaultBucket & { delayThreshold: bigint };
  global: VaultBucket;
  delaySeconds: bigint;
  paused: { global: boolean; token: boolean };
}

/** Reads the vault's deposit count, balance, rate-limit buckets and curses in one block. */
export async function readVault(
  deployment: Pick<BridgeDeployment, 'rpc' | 'token' | 'vault'>,
): Promise<VaultState> {
  const { publicClient } = clients(deployment.rpc);
  const contracts = compiledContracts().contracts;
  const vaultAbi = contracts.get('PalisadeVault')!.abi as Abi;
  const tokenAbi = contracts.get('TestToken')!.abi as Abi;
  const blockNumber = await publicClient.getBlockNumber();
  const read = (address: Hex, abi: Abi, functionName: string, args: readonly unknown[] = []) =>
    publicClient.readContract({ address, abi, functionName, args: args as never, blockNumber });
  const vault = deployment.vault;
  const [
    depositNonce,
    balance,
    available,
    tokenBucket,
    globalBucket,
    config,
    delay,
    globalSubject,
    tokenSubject,
  ] = (await Promise.all([
    read(vault, vaultAbi, 'depositNonce'),
    read(deployment.token, tokenAbi, 'balanceOf', [vault]),
    read(vault, vaultAbi, 'available', [deployment.token]),
    read(vault, vaultAbi, 'tokenBucket', [deployment.token]),
    read(vault, vaultAbi, 'globalBucket'),
    read(vault, vaultAbi, 'tokenConfig', [deployment.token]),
    read(vault, vaultAbi, 'delaySeconds'),
    read(vault, vaultAbi, 'GLOBAL_SUBJECT'),
    read(vault, vaultAbi, 'tokenSubject', [deployment.token]),
  ])) as [
    bigint,
    bigint,
    readonly [bigint, bigint],
    readonly [bigint, bigint, bigint, bigint],
    readonly [bigint, bigint, bigint, bigint],
    readonly [boolean, bigint, bigint],
    bigint,
    Hex,
    Hex,
  ];
  const [globalCursed, tokenCursed] = (await Promise.all([
    read(vault, vaultAbi, 'cursed', [globalSubject]),
    read(vault, vaultAbi, 'cursed', [tokenSubject]),
  ])) as [boolean, boolean];
  return {
    blockNumber,
    depositNonce,
    balance,
    token: {
      available: available[0],
      capacity: tokenBucket[1],
      ratePerSecond: tokenBucket[2],
      delayThreshold: config[1],
    },
    global: { available: available[1], capacity: globalBucket[1], ratePerSecond: globalBucket[2] },
    delaySeconds: delay,
    paused: { global: globalCursed, token: tokenCursed },
  };
}
