/**
 * Shared set-up for the contract tests: DKG keysets, FROST signing of a digest, and a deployed
 * verifier + vault + test token with governors and guardians, all in one in-process EVM.
 */
import { runLocalDkg } from '../../src/crypto/dkg.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare } from '../../src/crypto/frost.ts';
import {
  type Checkpoint,
  checkpointDigest,
  evmFrostSignature,
  evmKeyset,
  type Withdrawal,
  withdrawalsTree,
} from '../../src/interop/evm/certificates.ts';
import {
  createEvmHarness,
  type DeployedContract,
  type EvmAccount,
  type EvmHarness,
} from '../../src/interop/evm/harness.ts';
import { type CertificateDomain, feedIdOf, type PriceReport } from '../../src/interop/price-certificate.ts';

export const keysetOne = runLocalDkg({ chainId: 7, epoch: 1, participants: 4, threshold: 3 });
export const keysetTwo = runLocalDkg({ chainId: 7, epoch: 2, participants: 4, threshold: 3 });

/** A FROST signature by `threshold` members of `keys` over `digest`, through src/crypto/frost.ts. */
export function frostSign(
  keys: readonly FrostKeyPackage[],
  digest: Uint8Array,
  signers = keys.slice(0, 3),
): Uint8Array {
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((x) => x.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  return frostAggregate(keys[0]!.public, commitments, digest, shares);
}

/**
 * A stand-in for the validators' price signer (what src/node/checkpoint-signing.ts asks of it):
 * the keyset of `epoch` is `keys`, and every digest is signed at once by its first three members.
 */
export function keysetSigner(keys: readonly FrostKeyPackage[], epoch: number) {
  return {
    keyset: () => ({
      epoch,
      groupPublicKey: keys[0]!.groupPublicKey,
      threshold: 3,
      participants: keys.length,
    }),
    signDigest(digest: Uint8Array, _epoch: number, _base: number, onSigned: (signature: Uint8Array) => void) {
      onSigned(frostSign(keys, digest));
      return true;
    },
    closeDigest: () => {},
  };
}

export function keysetOf(keys: readonly FrostKeyPackage[]) {
  const key = keys[0]!;
  return evmKeyset(BigInt(key.epoch), key.groupPublicKey);
}

export function sampleReport(epoch: number, overrides: Partial<PriceReport> = {}): PriceReport {
  return {
    feedId: feedIdOf('BTC-USD'),
    price: 6_412_345_678_900n,
    confidence: 1_234_500n,
    exponent: -8,
    publishTime: 1_750_000_000,
    epoch,
    ...overrides,
  };
}

export function domainOf(evm: EvmHarness, contract: DeployedContract): CertificateDomain {
  return { chainId: Number(evm.chainId), verifyingContract: contract.address };
}

export const GOVERNOR_COUNT = 3;
export const GUARDIAN_COUNT = 3;
export const GUARDIAN_THRESHOLD = 2;
export const DELAY_SECONDS = 3_600n;
/** Token bucket of the test token: 10,000 units (6 decimals), refilled at 1 unit a second. */
export const TOKEN_CAPACITY = 10_000_000_000n;
export const TOKEN_RATE = 1_000_000n;
export const DELAY_THRESHOLD = 5_000_000_000n;
/** The global bucket, in value units (the token's weight is 1e18: one value unit per base unit). */
export const GLOBAL_CAPACITY = 20_000_000_000n;
export const GLOBAL_RATE = 2_000_000n;

export interface Deployment {
  evm: EvmHarness;
  deployer: EvmAccount;
  governors: EvmAccount[];
  guardians: EvmAccount[];
  verifier: DeployedContract;
  vault: DeployedContract;
  token: DeployedContract;
}

/** Sends `functionName(args)` from every governor in turn; returns the last result. */
export async function byAllGovernors(deployment: Deployment, functionName: string, args: readonly unknown[]) {
  let last: Awaited<ReturnType<DeployedContract['send']>> | undefined;
  for (const governor of deployment.governors) {
    last = await deployment.vault.send(governor, functionName, args);
    if (!last.ok) throw new Error(`${functionName} by governor failed: ${last.revert?.name}`);
  }
  return last!;
}

/** `groupPublicKey`: the verifier's epoch-1 keyset (default keysetOne's); `evm`: deploy beside another. */
export async function deploy(
  options: { chainId?: bigint; groupPublicKey?: Uint8Array; evm?: EvmHarness } = {},
): Promise<Deployment> {
  const evm = options.evm ?? (await createEvmHarness({ chainId: options.chainId ?? 31337n }));
  const deployer = await evm.account('deployer');
  const governors = await Promise.all(
    Array.from({ length: GOVERNOR_COUNT }, (_, i) => evm.account(`governor ${i}`)),
  );
  const guardians = await Promise.all(
    Array.from({ length: GUARDIAN_COUNT }, (_, i) => evm.account(`guardian ${i}`)),
  );
  const verifier = await evm.deploy(deployer, 'PalisadeVerifier', [
    1n,
    options.groupPublicKey ?? keysetOne[0]!.groupPublicKey,
  ]);
  const vault = await evm.deploy(deployer, 'PalisadeVault', [
    verifier.hex,
    governors.map((g) => g.hex),
    guardians.map((g) => g.hex),
    BigInt(GUARDIAN_THRESHOLD),
    DELAY_SECONDS,
    GLOBAL_CAPACITY,
    GLOBAL_RATE,
  ]);
  const token = await evm.deploy(deployer, 'TestToken', ['Palisade Test USD', 'pUSD', 6n]);
  const deployment = { evm, deployer, governors, guardians, verifier, vault, token };
  await byAllGovernors(deployment, 'configureToken', [
    token.hex,
    TOKEN_CAPACITY,
    TOKEN_RATE,
    DELAY_THRESHOLD,
    10n ** 18n,
  ]);
  return deployment;
}

/** Mints `amount` to `who` and deposits it into the vault for `account`. */
export async function fund(deployment: Deployment, who: EvmAccount, amount: bigint, account: Uint8Array) {
  await deployment.token.send(who, 'mint', [who.hex, amount]);
  await deployment.token.send(who, 'approve', [deployment.vault.hex, amount]);
  return deployment.vault.send(who, 'deposit', [deployment.token.hex, amount, account]);
}

/** A checkpoint over `withdrawals` for this vault, certified by `keys` for `domain` (default: the verifier's). */
export function certifiedCheckpoint(
  deployment: Deployment,
  withdrawals: readonly Withdrawal[],
  options: {
    keys?: readonly FrostKeyPackage[];
    height?: bigint;
    domain?: CertificateDomain;
    leafChainId?: bigint;
    leafVault?: Uint8Array;
  } = {},
) {
  const keys = options.keys ?? keysetOne;
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
    options.domain ?? domainOf(deployment.evm, deployment.verifier),
  );
  const signature = evmFrostSignature(frostSign(keys, digest));
  return { checkpoint, signature, tree, keyset: keysetOf(keys) };
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
