/**
 * A withdrawal's last leg: from Palisade's certified checkpoint to tokens on the EVM chain, over
 * JSON-RPC (viem). `claimOnVault` submits the checkpoint certificate to the vault unless the vault
 * already holds that height's root (anyone may submit it, once), then claims the withdrawal with
 * its Merkle proof. `withdrawToEvm` is the whole path for a trader: the `Withdraw` transaction,
 * its finalization, the certified checkpoint that holds it, and the claim.
 *
 * Nothing the node serves is trusted here: the vault checks the certificate against the verifier's
 * active keyset and the proof against the root it certified, and reverts otherwise (its error
 * name is in the `WithdrawError`).
 */
import {
  type Abi,
  BaseError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  type Hex,
  http,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { decodeCheckpointCertificate, evmCheckpointArguments } from '../interop/evm/checkpoint.ts';
import { compiledContracts } from '../interop/evm/compile.ts';
import type { WithdrawalProofJson } from './api/bridge.ts';
import type { PalisadeClient, Trader } from './client.ts';

export interface EvmConnection {
  rpcUrl: string;
  /** The relayer's secret key (pays gas; the recipient is the withdrawal's, not this account). */
  privateKey: Hex;
  /** The vault; the verifier is named by the checkpoint's domain. */
  vault: Hex;
}

export class WithdrawError extends Error {
  override readonly name = 'WithdrawError';
  readonly code: 'ENGINE_REFUSED' | 'VAULT_REVERTED' | 'WRONG_VAULT';
  constructor(code: WithdrawError['code'], message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

export interface ClaimResult {
  /** The submitCheckpoint transaction, when this call submitted it. */
  checkpointTransaction: Hex | undefined;
  claimTransaction: Hex;
  /** False when the amount is at or above the token's delay threshold: queued, `execute` later. */
  paid: boolean;
}

const vaultAbi = () => compiledContracts().contracts.get('PalisadeVault')!.abi as Abi;

/**
 * Claims in flight per wallet (RPC URL and address), chained. viem reads the wallet's nonce for
 * each transaction; two claims from one wallet that read it together send the same nonce, and the
 * node refuses the second (EDR: "Nonce too low", JSON-RPC -32000, which viem may report as
 * "Missing or invalid parameters"). One claim at a time per wallet also keeps two of them from
 * both submitting the same checkpoint. An entry leaves the map when its chain is idle, so the map
 * holds at most the wallets with a claim in flight.
 */
const walletQueues = new Map<string, Promise<unknown>>();

function queuedPerWallet<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = walletQueues.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  walletQueues.set(key, settled);
  void settled.then(() => {
    if (walletQueues.get(key) === settled) walletQueues.delete(key);
  });
  return next;
}

/**
 * Submits the checkpoint (if the vault lacks it) and claims the withdrawal. Claims from one wallet
 * run one after another (see `walletQueues`); claims from different wallets run at once.
 * @example await claimOnVault(await client.waitForWithdrawal(id), { rpcUrl, privateKey, vault }, groupPublicKey);
 * @throws WithdrawError VAULT_REVERTED with the vault's error name
 */
export function claimOnVault(
  read: WithdrawalProofJson,
  evm: EvmConnection,
  groupPublicKey: Uint8Array,
): Promise<ClaimResult> {
  const key = `${evm.rpcUrl} ${privateKeyToAccount(evm.privateKey).address.toLowerCase()}`;
  return queuedPerWallet(key, () => claimNow(read, evm, groupPublicKey));
}

async function claimNow(
  read: WithdrawalProofJson,
  evm: EvmConnection,
  groupPublicKey: Uint8Array,
): Promise<ClaimResult> {
  const transport = http(evm.rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ transport });
  const account = privateKeyToAccount(evm.privateKey);
  const chainId = await publicClient.getChainId();
  const chain = {
    id: chainId,
    name: 'bridge',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [evm.rpcUrl] } },
  } as const;
  const wallet = createWalletClient({ transport, account, chain });
  const abi = vaultAbi();
  const address = evm.vault;
  /** The vault's custom error in revert data, if it is one. */
  const errorNameOf = (data: Hex | undefined) => {
    if (data === undefined || data.length < 10) return undefined;
    try {
      return decodeErrorResult({ abi, data }).errorName;
    } catch {
      return undefined;
    }
  };
  // A dry run first (eth_call): a node that reverts answers with an error carrying the data, and
  // some dev nodes answer the revert data as the result; both name the vault's error.
  const send = async (functionName: string, args: readonly unknown[]) => {
    const data = encodeFunctionData({ abi, functionName, args: args as never });
    let returned: Hex | undefined;
    try {
      returned = (await publicClient.call({ account, to: address, data })).data;
    } catch (error) {
      const found =
        error instanceof BaseError
          ? error.walk((e) => typeof (e as { data?: unknown }).data === 'string')
          : undefined;
      const name = errorNameOf((found as { data?: Hex } | undefined)?.data);
      throw new WithdrawError('VAULT_REVERTED', `${functionName}: ${name ?? (error as Error).message}`, {
        cause: error,
      });
    }
    const name = errorNameOf(returned);
    if (name !== undefined) throw new WithdrawError('VAULT_REVERTED', `${functionName}: ${name}`);
    const hash = await wallet.sendTransaction({ to: address, data, account, chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new WithdrawError('VAULT_REVERTED', `${functionName} reverted`);
    const result =
      returned === undefined || returned === '0x'
        ? undefined
        : decodeFunctionResult({ abi, functionName, data: returned });
    return { hash, result };
  };
  const certificate = decodeCheckpointCertificate(fromHex(read.checkpoint.encoded)!);
  if (certificate.domain.chainId !== chainId)
    throw new WithdrawError(
      'WRONG_VAULT',
      `the checkpoint names chain ${certificate.domain.chainId}, the RPC ${chainId}`,
    );
  const height = certificate.checkpoint.height;
  const known = (await publicClient.readContract({
    abi,
    address,
    functionName: 'withdrawalsRoot',
    args: [height],
  })) as Hex;
  let checkpointTransaction: Hex | undefined;
  if (/^0x0+$/.test(known)) {
    const [keyset, checkpoint, signature] = evmCheckpointArguments(certificate, groupPublicKey);
    // viem takes bytes32 as 0x hex.
    const asHex = (bytes: Uint8Array): Hex => `0x${toHex(bytes)}`;
    const calldata = {
      height: checkpoint.height,
      blockHash: asHex(checkpoint.blockHash),
      stateRoot: asHex(checkpoint.stateRoot),
      withdrawalsRoot: asHex(checkpoint.withdrawalsRoot),
      epoch: checkpoint.epoch,
    };
    checkpointTransaction = (await send('submitCheckpoint', [keyset, calldata, signature])).hash;
  }
  const withdrawal = {
    id: BigInt(read.withdrawal.id),
    token: read.withdrawal.token as Hex,
    recipient: read.withdrawal.recipient as Hex,
    amount: BigInt(read.withdrawal.amount),
  };
  const claimed = await send('claim', [withdrawal, height, read.proof as Hex[]]);
  return { checkpointTransaction, claimTransaction: claimed.hash, paid: claimed.result === true };
}

/**
 * The whole withdrawal: signs and submits `Withdraw`, waits for its block and for the certified
 * checkpoint that holds it, then claims it on the vault.
 * @example await withdrawToEvm({ client, trader, amount: 5_000_000n, recipient, token, evm });
 * @throws WithdrawError ENGINE_REFUSED with the engine's status; ClientError from the node
 */
export async function withdrawToEvm(options: {
  client: PalisadeClient;
  trader: Trader;
  amount: bigint;
  recipient: Hex;
  token: Hex;
  evm: EvmConnection;
  timeoutMs?: number;
}): Promise<ClaimResult & { withdrawalId: number; checkpointHeight: number }> {
  const { client, trader } = options;
  const { id } = await trader.withdraw(options.amount, {
    recipient: options.recipient,
    token: options.token,
  });
  const outcome = await client.waitForTransaction(id, { timeoutMs: options.timeoutMs ?? 60_000 });
  if (outcome.status !== 'OK' || outcome.withdrawalId === undefined)
    throw new WithdrawError('ENGINE_REFUSED', `the engine answered ${outcome.status}`);
  const read = await client.waitForWithdrawal(outcome.withdrawalId, {
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  const { keyset } = await client.certificates();
  if (keyset === null) throw new WithdrawError('ENGINE_REFUSED', 'the node serves no keyset yet');
  const claim = await claimOnVault(read, options.evm, fromHex(keyset.groupPublicKey)!);
  return { ...claim, withdrawalId: outcome.withdrawalId, checkpointHeight: read.checkpoint.height };
}
