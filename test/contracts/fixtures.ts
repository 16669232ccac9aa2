/**
 * Shared set-up for the contract tests: DKG keysets, FROST signing of a digest, and a deployed
 * verifier + vault + test token with governors and guardians, all in one in-process EVM.
 */
import { runLocalDkg } from '../../src/crypto/dkg.ts';
import type { FrostKeyPackage } from '../../src/crypto/frost.ts';
import type { Withdrawal } from '../../src/interop/evm/certificates.ts';
import type { EvmHarness } from '../../src/interop/evm/harness.ts';
import {
  byAllGovernors,
  certifyHarnessCheckpoint,
  checkpointArgs,
  deployHarnessVault,
  frostSignDigest,
  fundHarnessVault,
  type HarnessVault,
  type HarnessVaultLimits,
  harnessDomain,
  keysetOfPackages,
  proofArgs,
  withdrawalArgs,
} from '../../src/interop/evm/harness-vault.ts';
import { type CertificateDomain, feedIdOf, type PriceReport } from '../../src/interop/price-certificate.ts';

export const keysetOne = runLocalDkg({ chainId: 7, epoch: 1, participants: 4, threshold: 3 });
export const keysetTwo = runLocalDkg({ chainId: 7, epoch: 2, participants: 4, threshold: 3 });

/** A FROST signature by `threshold` members of `keys` over `digest`, through src/crypto/frost.ts. */
export function frostSign(
  keys: readonly FrostKeyPackage[],
  digest: Uint8Array,
  signers = keys.slice(0, 3),
): Uint8Array {
  return frostSignDigest(keys, digest, signers);
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

export const keysetOf = keysetOfPackages;

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

export const domainOf = harnessDomain;

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

export type Deployment = HarnessVault;

export const LIMITS: HarnessVaultLimits = {
  governors: GOVERNOR_COUNT,
  guardians: GUARDIAN_COUNT,
  guardianThreshold: GUARDIAN_THRESHOLD,
  delaySeconds: DELAY_SECONDS,
  tokenCapacity: TOKEN_CAPACITY,
  tokenRatePerSecond: TOKEN_RATE,
  delayThreshold: DELAY_THRESHOLD,
  valueWeight: 10n ** 18n,
  globalCapacity: GLOBAL_CAPACITY,
  globalRatePerSecond: GLOBAL_RATE,
};

export { byAllGovernors, checkpointArgs, proofArgs, withdrawalArgs };

/** `groupPublicKey`: the verifier's epoch-1 keyset (default keysetOne's); `evm`: deploy beside another. */
export function deploy(
  options: { chainId?: bigint; groupPublicKey?: Uint8Array; evm?: EvmHarness } = {},
): Promise<Deployment> {
  return deployHarnessVault({
    groupPublicKey: options.groupPublicKey ?? keysetOne[0]!.groupPublicKey,
    limits: LIMITS,
    ...(options.chainId === undefined ? {} : { chainId: options.chainId }),
    ...(options.evm === undefined ? {} : { evm: options.evm }),
  });
}

/** Mints `amount` to `who` and deposits it into the vault for `account`. */
export const fund = fundHarnessVault;

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
  return certifyHarnessCheckpoint(deployment, withdrawals, { ...options, keys: options.keys ?? keysetOne });
}
