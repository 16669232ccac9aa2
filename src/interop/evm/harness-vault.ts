/**
 * The committed verifier, vault and test token deployed on the in-process EVM (harness.ts), with
 * governors and guardians, and the calls a relayer makes: checkpoints certified by a FROST keyset
 * (src/crypto/frost.ts, signed by any subset of its members), claims with Merkle proofs, and the
 * governance a vault needs to list a token. The contract tests (test/contracts) and the bridge's
 * red-team entries (src/sim/redteam/vault.ts) both stand on it.
 */
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare } from '../../crypto/frost.ts';
import type { EvmMerkleTree } from '../../crypto/merkle-evm.ts';
import type { CertificateDomain } from '../price-certificate.ts';
import {
  type Checkpoint,
  checkpointDigest,
  type EvmFrostSignature,
  type EvmKeyset,
  evmFrostSignature,
  evmKeyset,
  type Withdrawal,
  withdrawalsTree,
} from './certificates.ts';
import {
  createEvmHarness,
  type DeployedContract,
  type EvmAccount,
  type EvmHarness,
  type SendResult,
} from './harness.ts';

/** The vault's limits and roles; amounts in the token's base units, value units per 1e18 base units. */
export interface HarnessVaultLimits {
  governors: number;
  guardians: number;
  /** Guardian votes that curse a subject. */
  guardianThreshold: number;
  delaySeconds: bigint;
  tokenCapacity: bigint;
  tokenRatePerSecond: bigint;
  /** A withdrawal of at least this waits `delaySeconds`. */
  delayThreshold: bigint;
  valueWeight: bigint;
  globalCapacity: bigint;
  globalRatePerSecond: bigint;
}

export interface HarnessVault {
  evm: EvmHarness;
  deployer: EvmAccount;
  governors: EvmAccount[];
  guardians: EvmAccount[];
  verifier: DeployedContract;
  vault: DeployedContract;
  token: DeployedContract;
}

/** A checkpoint over a list of withdrawals, its certificate's calldata and the tree its proofs come from. */
export interface CertifiedCheckpoint {
  checkpoint: Checkpoint;
  signature: EvmFrostSignature;
  tree: EvmMerkleTree;
  keyset: EvmKeyset;
}

/**
 * A FROST signature over `digest` by `signers` (default: the first `threshold` of `keys`), through
 * src/crypto/frost.ts; aggregation throws FrostError when the signers are fewer than the threshold.
 */
export function frostSignDigest(
  keys: readonly FrostKeyPackage[],
  digest: Uint8Array,
  signers: readonly FrostKeyPackage[] = keys.slice(0, keys[0]!.threshold),
): Uint8Array {
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((x) => x.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  return frostAggregate(keys[0]!.public, commitments, digest, shares);
}

export function keysetOfPackages(keys: readonly FrostKeyPackage[]): EvmKeyset {
  const key = keys[0]!;
  return evmKeyset(BigInt(key.epoch), key.groupPublicKey);
}

export function harnessDomain(evm: EvmHarness, contract: DeployedContract): CertificateDomain {
  return { chainId: Number(evm.chainId), verifyingContract: contract.address };
}

/** Sends `functionName(args)` from every governor in turn; returns the last result. */
export async function byAllGovernors(
  deployment: HarnessVault,
  functionName: string,
  args: readonly unknown[],
): Promise<SendResult> {
  let last: SendResult | undefined;
  for (const governor of deployment.governors) {
    last = await deployment.vault.send(governor, functionName, args);
    if (!last.ok) throw new Error(`${functionName} by governor failed: ${last.revert?.name}`);
  }
  return last!;
}

/**
 * Deploys the verifier (epoch 1 = `groupPublicKey`), the vault with `limits`, and a 6-decimal test
 * token listed with the token limits, on `evm` or a fresh chain of `chainId`.
 */
export async function deployHarnessVault(options: {
  groupPublicKey: Uint8Array;
  limits: HarnessVaultLimits;
  chainId?: bigint;
  evm?: EvmHarness;
}): Promise<HarnessVault> {
  const { limits } = options;
  const evm = options.evm ?? (await createEvmHarness({ chainId: options.chainId ?? 31337n }));
  const deployer = await evm.account('deployer');
  const governors = await Promise.all(
    Array.from({ length: limits.governors }, (_, i) => evm.account(`governor ${i}`)),
  );
  const guardians = await Promise.all(
    Array.from({ length: limits.guardians }, (_, i) => evm.account(`guardian ${i}`)),
  );
  const verifier = await evm.deploy(deployer, 'PalisadeVerifier', [1n, options.groupPublicKey]);
  const vault = await evm.deploy(deployer, 'PalisadeVault', [
    verifier.hex,
    governors.map((g) => g.hex),
    guardians.map((g) => g.hex),
    BigInt(limits.guardianThreshold),
    limits.delaySeconds,
    limits.globalCapacity,
    limits.globalRatePerSecond,
  ]);
  const token = await evm.deploy(deployer, 'TestToken', ['Palisade Test USD', 'pUSD', 6n]);
  const deployment = { evm, deployer, governors, guardians, verifier, vault, token };
  await byAllGovernors(deployment, 'configureToken', [
    token.hex,
    limits.tokenCapacity,
    limits.tokenRatePerSecond,
    limits.delayThreshold,
    limits.valueWeight,
  ]);
  return deployment;
}

/** Mints `amount` to `who` and deposits it into the vault for the Palisade `account`. */
export async function fundHarnessVault(
  deployment: HarnessVault,
  who: EvmAccount,
  amount: bigint,
  account: Uint8Array,
): Promise<SendResult> {
  await deployment.token.send(who, 'mint', [who.hex, amount]);
  await deployment.token.send(who, 'approve', [deployment.vault.hex, amount]);
  return deployment.vault.send(who, 'deposit', [deployment.token.hex, amount, account]);
}

/**
 * A checkpoint over `withdrawals` for this vault, certified by `keys` (signed by `signers`, default
 * the first threshold of them) for `domain` (default: the verifier's).
 */
export function certifyHarnessCheckpoint(
  deployment: HarnessVault,
  withdrawals: readonly Withdrawal[],
  options: {
    keys: readonly FrostKeyPackage[];
    signers?: readonly FrostKeyPackage[];
    height?: bigint;
    domain?: CertificateDomain;
    leafChainId?: bigint;
    leafVault?: Uint8Array;
  },
): CertifiedCheckpoint {
  const { keys } = options;
  const tree = withdrawalsTree(
    withdrawals,
    options.leafChainId ?? deployment.evm.chainId,
    options.leafVault ?? deployment.vault.address,
  );
  const checkpoint: Checkpoint = {
    height: options.height ?? 100n,
    blockHash: new Uint8Array(32).fill(0xbb),
    stateRoot: new Uint8Array(32).fill(0x55),
    withdrawalsRoot: tree.root,
    epoch: BigInt(keys[0]!.epoch),
  };
  const digest = checkpointDigest(
    checkpoint,
    options.domain ?? harnessDomain(deployment.evm, deployment.verifier),
  );
  const signature = evmFrostSignature(frostSignDigest(keys, digest, options.signers));
  return { checkpoint, signature, tree, keyset: keysetOfPackages(keys) };
}

export function withdrawalArgs(withdrawal: Withdrawal) {
  return {
    id: withdrawal.id,
    token: `0x${Buffer.from(withdrawal.token).toString('hex')}`,
    recipient: `0x${Buffer.from(withdrawal.recipient).toString('hex')}`,
    amount: withdrawal.amount,
  };
}

export function proofArgs(proof: readonly Uint8Array[]): string[] {
  return proof.map((p) => `0x${Buffer.from(p).toString('hex')}`);
}

export function checkpointArgs(checkpoint: Checkpoint) {
  return {
    height: checkpoint.height,
    blockHash: checkpoint.blockHash,
    stateRoot: checkpoint.stateRoot,
    withdrawalsRoot: checkpoint.withdrawalsRoot,
    epoch: checkpoint.epoch,
  };
}

/** `submitCheckpoint` of `certified`, sent by the deployer (anyone may relay). */
export function submitHarnessCheckpoint(
  deployment: HarnessVault,
  certified: Pick<CertifiedCheckpoint, 'checkpoint' | 'signature' | 'keyset'>,
  from: EvmAccount = deployment.deployer,
): Promise<SendResult> {
  return deployment.vault.send(from, 'submitCheckpoint', [
    certified.keyset,
    checkpointArgs(certified.checkpoint),
    certified.signature,
  ]);
}

/** `claim` of `withdrawal` under the checkpoint at `height` with `proof`, sent by `from`. */
export function claimOnHarness(
  deployment: HarnessVault,
  from: EvmAccount,
  withdrawal: Withdrawal,
  height: bigint,
  proof: readonly Uint8Array[],
): Promise<SendResult> {
  return deployment.vault.send(from, 'claim', [withdrawalArgs(withdrawal), height, proofArgs(proof)]);
}

/** The token balance of `who` (an EVM address). */
export async function tokenBalance(deployment: HarnessVault, who: Uint8Array): Promise<bigint> {
  const result = await deployment.token.call('balanceOf', [`0x${Buffer.from(who).toString('hex')}`]);
  return result.value![0] as bigint;
}
