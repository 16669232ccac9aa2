/**
 * A withdrawal's last leg: from Palisade's certified checkpoint to tokens on the EVM chain, over
 * JSON-RPC (viem). `claimOnVault` submits the checkpoint certificate to the vault unless the vault
 * already holds that height's root (anyone may submit it, once), then claims the withdrawal with
 * its Merkle proof. When the checkpoint is of a later keyset epoch than the verifier holds (a
 * refresh or a validator-set change since), it first relays the handovers that lead there, each
 * signed by the keyset it replaces, as the node serves them (`GET /v1/keys`). `withdrawToEvm` is the whole path for a trader: the `Withdraw` transaction,
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
import { compressedPoint, evmFrostSignature, evmKeyset } from '../interop/evm/certificates.ts';
import { decodeCheckpointCertificate, evmCheckpointArguments } from '../interop/evm/checkpoint.ts';
import { compiledContracts } from '../interop/evm/compile.ts';
import { decodeHandoverCertificate, verifyHandover } from '../interop/handover-certificate.ts';
import type { WithdrawalProofJson } from './api/bridge.ts';
import { ClientError, type PalisadeClient, type Trader } from './client.ts';

export interface EvmConnection {
  rpcUrl: string;
  /** The relayer's secret key (pays gas; the recipient is the withdrawal's, not this account). */
  privateKey: Hex;
  /** The vault; the verifier is named by the checkpoint's domain. */
  vault: Hex;
}

export class WithdrawError extends Error {
  override readonly name = 'WithdrawError';
  readonly code: 'ENGINE_REFUSED' | 'VAULT_REVERTED' | 'WRONG_VAULT' | 'KEYSET_BEHIND';
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
const verifierAbi = () => compiledContracts().contracts.get('PalisadeVerifier')!.abi as Abi;

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
  handovers: readonly Uint8Array[] = [],
): Promise<ClaimResult> {
  const key = `${evm.rpcUrl} ${privateKeyToAccount(evm.privateKey).address.toLowerCase()}`;
  return queuedPerWallet(key, () => claimNow(read, evm, groupPublicKey, handovers));
}

async function claimNow(
  read: WithdrawalProofJson,
  evm: EvmConnection,
  groupPublicKey: Uint8Array,
  handovers: readonly Uint8Array[],
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
      return decodeErrorResult({ abi: [...abi, ...verifierAbi()], data }).errorName;
    } catch {
      return undefined;
    }
  };
  // A dry run first (eth_call): a node that reverts answers with an error carrying the data, and
  // some dev nodes answer the revert data as the result; both name the vault's error.
  const send = async (
    functionName: string,
    args: readonly unknown[],
    target: { address: Hex; abi: Abi } = { address, abi },
  ) => {
    const data = encodeFunctionData({ abi: target.abi, functionName, args: args as never });
    let returned: Hex | undefined;
    try {
      returned = (await publicClient.call({ account, to: target.address, data })).data;
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
    const hash = await wallet.sendTransaction({ to: target.address, data, account, chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new WithdrawError('VAULT_REVERTED', `${functionName} reverted`);
    const result =
      returned === undefined || returned === '0x'
        ? undefined
        : decodeFunctionResult({ abi: target.abi, functionName, data: returned });
    return { hash, result };
  };
  const certificate = decodeCheckpointCertificate(fromHex(read.checkpoint.encoded)!);
  const verifier = { address: `0x${toHex(certificate.domain.verifyingContract)}` as Hex, abi: verifierAbi() };
  /**
   * The group key of `epoch`, after moving the verifier up to it along `chain` if it is behind.
   * Each step is checked here first (`verifyHandover`: this verifier's domain, from the keyset it
   * holds, signed by that keyset), so a node serving forged handovers first wastes no gas and
   * cannot block the true chain behind them; the verifier checks again.
   */
  const followHandovers = async (
    epoch: bigint,
    latestKey: Uint8Array,
    chain: readonly Uint8Array[],
  ): Promise<Uint8Array> => {
    const active = (await publicClient.readContract({ ...verifier, functionName: 'activeKeyset' })) as {
      epoch: bigint;
      x: bigint;
      parity: number;
    };
    let current = { epoch: active.epoch, groupPublicKey: compressedPoint(active.x, Number(active.parity)) };
    while (current.epoch < epoch) {
      const from = { epoch: Number(current.epoch), groupPublicKey: current.groupPublicKey };
      const next = chain
        .filter((bytes) => verifyHandover(bytes, from, certificate.domain).ok)
        .map((bytes) => decodeHandoverCertificate(bytes))
        .find((handover) => BigInt(handover.toEpoch) <= epoch);
      if (next === undefined)
        throw new WithdrawError(
          'KEYSET_BEHIND',
          `the verifier holds epoch ${current.epoch} and no valid handover from it toward epoch ${epoch} was given`,
        );
      await send(
        'handover',
        [
          evmKeyset(current.epoch, current.groupPublicKey),
          BigInt(next.toEpoch),
          `0x${toHex(next.groupPublicKey)}`,
          evmFrostSignature(next.signature),
        ],
        verifier,
      );
      current = { epoch: BigInt(next.toEpoch), groupPublicKey: next.groupPublicKey };
    }
    return current.epoch === epoch ? current.groupPublicKey : latestKey;
  };
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
    // A refresh or a set change since the verifier last moved: bring it to the checkpoint's
    // keyset first, along handovers each signed by the keyset it replaces (the verifier checks).
    const epochKey = await followHandovers(certificate.checkpoint.epoch, groupPublicKey, handovers);
    const [keyset, checkpoint, signature] = evmCheckpointArguments(certificate, epochKey);
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
  const claim = await claimOnVault(
    read,
    options.evm,
    fromHex(keyset.groupPublicKey)!,
    await servedHandovers(client),
  );
  return { ...claim, withdrawalId: outcome.withdrawalId, checkpointHeight: read.checkpoint.height };
}

/**
 * The handover chain a node serves (`GET /v1/keys`), oldest first, for `claimOnVault`. Nothing in
 * it is trusted: the verifier takes a handover only when the keyset it holds signed it. A node
 * that serves no key lifecycle gives an empty chain (a claim that needs one is KEYSET_BEHIND).
 * @example await claimOnVault(read, evm, groupPublicKey, await servedHandovers(client));
 */
export async function servedHandovers(client: Pick<PalisadeClient, 'keys'>): Promise<Uint8Array[]> {
  let served: Awaited<ReturnType<PalisadeClient['keys']>>;
  try {
    served = await client.keys();
  } catch (error) {
    if (error instanceof ClientError && error.status === 404) return [];
    throw error;
  }
  return served.handovers.flatMap((handover) => {
    const bytes = fromHex(handover.encoded);
    return bytes === undefined ? [] : [bytes];
  });
}
