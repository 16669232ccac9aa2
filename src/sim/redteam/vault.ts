/**
 * Withdrawal attacks on the bridge, against the committed verifier and vault on the in-process
 * EVM (src/interop/evm/harness-vault.ts). The validators' price keyset is a FROST keyset from the
 * DKG (n = 4 or 7, threshold 2f + 1, src/crypto/dkg.ts); honest validators sign only the checkpoint
 * they computed, so an attacker holds only the shares it stole. Other people's money sits in the
 * vault (the depositors' 200,000 pUSD); the genuine checkpoint pays the thief its own 1,000 and
 * alice hers.
 *
 * Verdict: `refused` when the thief holds no more than the genuine checkpoint paid it, alice's
 * genuine withdrawal (the control: a vault that pays nothing proves nothing) is paid exactly once,
 * and every entry's own condition holds; else `succeeded` with the excess as the loss. The drain
 * entry, whose keyset is wholly stolen, is judged by the vault's promise for that case: paid out no
 * more than the token bucket allows in the time the attack took, the delayed withdrawal stopped,
 * and nothing paid once cursed.
 */
import { runLocalDkg } from '../../crypto/dkg.ts';
import type { FrostKeyPackage } from '../../crypto/frost.ts';
import {
  type Checkpoint,
  checkpointDigest,
  evmFrostSignature,
  handoverDigest,
  type Withdrawal,
} from '../../interop/evm/certificates.ts';
import type { EvmAccount, SendResult } from '../../interop/evm/harness.ts';
import {
  byAllGovernors,
  type CertifiedCheckpoint,
  certifyHarnessCheckpoint,
  checkpointArgs,
  claimOnHarness,
  deployHarnessVault,
  frostSignDigest,
  fundHarnessVault,
  type HarnessVault,
  type HarnessVaultLimits,
  harnessDomain,
  keysetOfPackages,
  submitHarnessCheckpoint,
  tokenBalance,
} from '../../interop/evm/harness-vault.ts';
import type { Evidence, Outcome } from './scenario.ts';

const UNIT = 1_000_000n;
const pusd = (amount: bigint) => `${amount / UNIT}.${(amount % UNIT).toString().padStart(6, '0')} pUSD`;

/** The vault's limits in these entries: a 10,000 pUSD bucket refilled at 1 pUSD/s; 5,000 waits an hour. */
export const VAULT_LIMITS: HarnessVaultLimits = Object.freeze({
  governors: 3,
  guardians: 3,
  guardianThreshold: 2,
  delaySeconds: 3_600n,
  tokenCapacity: 10_000n * UNIT,
  tokenRatePerSecond: 1n * UNIT,
  delayThreshold: 5_000n * UNIT,
  valueWeight: 10n ** 18n,
  globalCapacity: 20_000n * UNIT,
  globalRatePerSecond: 2n * UNIT,
});

/** An injected bug for the drain entry: a vault with no effective rate limit or delay. */
export const NO_RATE_LIMIT: HarnessVaultLimits = Object.freeze({
  ...VAULT_LIMITS,
  tokenCapacity: 10n ** 30n,
  tokenRatePerSecond: 10n ** 24n,
  delayThreshold: 10n ** 30n,
  globalCapacity: 10n ** 30n,
  globalRatePerSecond: 10n ** 24n,
});

const DEPOSITED = 200_000n * UNIT;
const THIEF_DUE = 1_000n * UNIT;
const ALICE_DUE = 2_500n * UNIT;
const STEAL = 150_000n * UNIT;
const GENUINE_HEIGHT = 100n;

interface VaultWorld {
  n: number;
  f: number;
  keys: FrostKeyPackage[];
  deployment: HarnessVault;
  thief: EvmAccount;
  alice: EvmAccount;
  statuses: string[];
  facts: string[];
  /** Whether each entry's own condition held (beyond the balances). */
  conditions: string[];
  genuine: CertifiedCheckpoint;
  withdrawal(id: bigint, recipient: Uint8Array, amount: bigint): Withdrawal;
  /** Sends, and records `label → ok` or the revert's name. */
  attempt(label: string, send: () => Promise<SendResult>): Promise<SendResult>;
  /** Records an attempt refused before any transaction (the aggregator or the relayer threw). */
  refusedOffChain(label: string, error: unknown): void;
  /** Submits `genuine` (once). */
  submitGenuine(): Promise<void>;
  /** Submits `genuine` if not yet, and pays the thief's and alice's genuine withdrawals under it. */
  payGenuine(): Promise<void>;
}

async function startWorld(n: number, label: string, limits: HarnessVaultLimits): Promise<VaultWorld> {
  const f = Math.floor((n - 1) / 3);
  const keys = runLocalDkg({ chainId: 7, epoch: 1, participants: n, threshold: 2 * f + 1 });
  const deployment = await deployHarnessVault({ groupPublicKey: keys[0]!.groupPublicKey, limits });
  const depositor = await deployment.evm.account(`${label} depositor`);
  await fundHarnessVault(deployment, depositor, DEPOSITED, new Uint8Array(32).fill(0xde));
  const thief = await deployment.evm.account(`${label} thief`);
  const alice = await deployment.evm.account(`${label} alice`);
  const withdrawal = (id: bigint, recipient: Uint8Array, amount: bigint): Withdrawal => ({
    id,
    token: deployment.token.address,
    recipient,
    amount,
  });
  const statuses: string[] = [];
  const genuine = certifyHarnessCheckpoint(
    deployment,
    [withdrawal(1n, thief.address, THIEF_DUE), withdrawal(2n, alice.address, ALICE_DUE)],
    { keys, height: GENUINE_HEIGHT },
  );
  const attempt = async (what: string, send: () => Promise<SendResult>) => {
    const result = await send();
    statuses.push(`${what} → ${result.ok ? 'ok' : (result.revert?.name ?? 'reverted')}`);
    return result;
  };
  let submitted = false;
  const world: VaultWorld = {
    n,
    f,
    keys,
    deployment,
    thief,
    alice,
    statuses,
    facts: [`n = ${n}, threshold ${2 * f + 1}; the vault holds ${pusd(DEPOSITED)} of depositors' money`],
    conditions: [],
    genuine,
    withdrawal,
    attempt,
    refusedOffChain(what, error) {
      statuses.push(`${what} → refused before the chain (${(error as Error).message.slice(0, 120)})`);
    },
    async submitGenuine() {
      if (submitted) return;
      submitted = true;
      await attempt('the genuine checkpoint (2f + 1 honest signers)', () =>
        submitHarnessCheckpoint(deployment, world.genuine),
      );
    },
    async payGenuine() {
      await world.submitGenuine();
      const certified = world.genuine;
      await attempt('thief claims its genuine 1,000 pUSD', () =>
        claimOnHarness(
          deployment,
          thief,
          withdrawal(1n, thief.address, THIEF_DUE),
          GENUINE_HEIGHT,
          certified.tree.proof(0),
        ),
      );
      await attempt('alice claims her genuine 2,500 pUSD (control)', () =>
        claimOnHarness(
          deployment,
          alice,
          withdrawal(2n, alice.address, ALICE_DUE),
          GENUINE_HEIGHT,
          certified.tree.proof(1),
        ),
      );
    },
  };
  return world;
}

async function outcomeOf(world: VaultWorld, what: string, thiefAllowed = THIEF_DUE): Promise<Outcome> {
  const thief = await tokenBalance(world.deployment, world.thief.address);
  const alice = await tokenBalance(world.deployment, world.alice.address);
  const vault = await tokenBalance(world.deployment, world.deployment.vault.address);
  const loss =
    (thief > thiefAllowed ? thief - thiefAllowed : 0n) + (alice > ALICE_DUE ? alice - ALICE_DUE : 0n);
  const controlPaid = alice === ALICE_DUE;
  const evidence: Evidence = {
    statuses: world.statuses,
    events: {},
    notable: world.conditions,
    balancesBefore: { thief: pusd(0n), alice: pusd(0n), vault: pusd(DEPOSITED) },
    balancesAfter: { thief: pusd(thief), alice: pusd(alice), vault: pusd(vault) },
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts: [...world.facts, `control: alice's genuine withdrawal paid exactly once: ${controlPaid}`],
  };
  const failed = world.conditions.filter((condition) => condition.startsWith('FAILED'));
  const refused = loss === 0n && controlPaid && failed.length === 0;
  return {
    verdict: refused ? 'refused' : 'succeeded',
    // The harness token has the engine quote's 6 decimals: one base unit is one USDC unit.
    loss,
    summary: refused
      ? what
      : loss > 0n
        ? `the thief took ${pusd(loss)} beyond what it was owed`
        : failed.length > 0
          ? failed.join('; ')
          : "alice's genuine withdrawal was not paid exactly once",
    evidence,
  };
}

async function withWorld(
  n: number,
  label: string,
  attack: (world: VaultWorld) => Promise<string>,
  limits: HarnessVaultLimits = VAULT_LIMITS,
): Promise<Outcome> {
  const world = await startWorld(n, label, limits);
  const what = await attack(world);
  return outcomeOf(world, what);
}

/**
 * Replayed withdrawals: the thief's genuine withdrawal claimed again, the genuine checkpoint
 * submitted again, a later checkpoint that lists the same id again (a node's bug), and the same
 * certificate and proof taken to a second vault that trusts the same verifier, to a vault with its
 * own verifier, and to a deployment on another chain with the same keyset.
 */
export async function claimReplayed(): Promise<Outcome> {
  return withWorld(4, 'replay', async (world) => {
    const { deployment, genuine, thief, keys } = world;
    await world.payGenuine();
    const mine = world.withdrawal(1n, thief.address, THIEF_DUE);
    await world.attempt('the same claim again', () =>
      claimOnHarness(deployment, thief, mine, GENUINE_HEIGHT, genuine.tree.proof(0)),
    );
    await world.attempt('the genuine checkpoint submitted again', () =>
      submitHarnessCheckpoint(deployment, genuine),
    );
    const later = certifyHarnessCheckpoint(deployment, [mine], { keys, height: GENUINE_HEIGHT + 1n });
    await world.attempt('a later checkpoint listing id 1 again, submitted', () =>
      submitHarnessCheckpoint(deployment, later),
    );
    await world.attempt('id 1 claimed under the later checkpoint', () =>
      claimOnHarness(deployment, thief, mine, GENUINE_HEIGHT + 1n, later.tree.proof(0)),
    );
    // A second vault behind the same verifier (a v2 deployment), funded by its own depositors.
    const second = await deployment.evm.deploy(deployment.deployer, 'PalisadeVault', [
      deployment.verifier.hex,
      deployment.governors.map((g) => g.hex),
      deployment.guardians.map((g) => g.hex),
      BigInt(VAULT_LIMITS.guardianThreshold),
      VAULT_LIMITS.delaySeconds,
      VAULT_LIMITS.globalCapacity,
      VAULT_LIMITS.globalRatePerSecond,
    ]);
    const v2 = { ...deployment, vault: second };
    await byAllGovernors(v2, 'configureToken', [
      deployment.token.hex,
      VAULT_LIMITS.tokenCapacity,
      VAULT_LIMITS.tokenRatePerSecond,
      VAULT_LIMITS.delayThreshold,
      VAULT_LIMITS.valueWeight,
    ]);
    const depositor = await deployment.evm.account('replay v2 depositor');
    await fundHarnessVault(v2, depositor, DEPOSITED, new Uint8Array(32).fill(0xd2));
    await world.attempt('the checkpoint on a second vault behind the same verifier', () =>
      submitHarnessCheckpoint(v2, genuine),
    );
    await world.attempt('id 1 claimed from the second vault with the same proof', () =>
      claimOnHarness(v2, thief, mine, GENUINE_HEIGHT, genuine.tree.proof(0)),
    );
    // Another verifier on this chain, and another chain, both holding the same keyset.
    const otherVerifier = await deployHarnessVault({
      groupPublicKey: keys[0]!.groupPublicKey,
      limits: VAULT_LIMITS,
      evm: deployment.evm,
    });
    const otherChain = await deployHarnessVault({
      groupPublicKey: keys[0]!.groupPublicKey,
      limits: VAULT_LIMITS,
      chainId: 1n,
    });
    for (const [name, target] of [
      ['a vault with its own verifier on this chain', otherVerifier],
      ['the same contracts on chain 1', otherChain],
    ] as const) {
      const funder = await target.evm.account(`replay ${name}`);
      await fundHarnessVault(target, funder, DEPOSITED, new Uint8Array(32).fill(0xd3));
      const thiefThere = await target.evm.account('replay thief');
      await world.attempt(`the certificate taken to ${name}`, () => submitHarnessCheckpoint(target, genuine));
      await world.attempt('id 1 claimed there', () =>
        claimOnHarness(target, thiefThere, mine, GENUINE_HEIGHT, genuine.tree.proof(0)),
      );
      const stolen = await tokenBalance(target, thief.address);
      if (stolen > 0n) world.conditions.push(`FAILED: ${name} paid the replay ${pusd(stolen)}`);
    }
    const fromSecond = (await tokenBalance(v2, thief.address)) - THIEF_DUE;
    // The second vault pays in the same token: anything above the genuine 1,000 is the replay.
    if (fromSecond > 0n)
      world.conditions.push(`FAILED: the second vault paid the replay ${pusd(fromSecond)}`);
    world.facts.push(
      'each id is paid once (claimed[id]); a checkpoint is known once per height; the certificate names the verifier and chain in its EIP-712 domain; the leaf names the vault and chain',
    );
    return 'each withdrawal paid once, in the one vault and chain its leaf and certificate name';
  });
}

/**
 * Proofs that do not belong: the thief's own list (1 withdrawal of 150,000 pUSD) proven against the
 * genuine root, a height that has no checkpoint, its genuine leaf with the amount raised, alice's
 * withdrawal with the recipient changed to the thief, and a leaf never listed with an over-long proof.
 */
export async function proofForAnotherRoot(): Promise<Outcome> {
  return withWorld(4, 'proof', async (world) => {
    const { deployment, thief, keys } = world;
    await world.submitGenuine();
    const own = world.withdrawal(3n, thief.address, STEAL);
    const uncertified = certifyHarnessCheckpoint(deployment, [own, world.withdrawal(4n, thief.address, 1n)], {
      keys,
      height: 101n,
    });
    const genuineProof = world.genuine.tree.proof;
    const attempts: [string, Withdrawal, bigint, Uint8Array[]][] = [
      [
        "the thief's own tree's proof against the genuine root",
        own,
        GENUINE_HEIGHT,
        uncertified.tree.proof(0),
      ],
      ['the same at a height with no checkpoint', own, 101n, uncertified.tree.proof(0)],
      [
        'its genuine leaf with the amount raised',
        world.withdrawal(1n, thief.address, STEAL),
        GENUINE_HEIGHT,
        genuineProof(0),
      ],
      [
        "alice's leaf with the recipient changed to the thief",
        world.withdrawal(2n, thief.address, ALICE_DUE),
        GENUINE_HEIGHT,
        genuineProof(1),
      ],
      [
        'a leaf never listed (id 5) with both genuine proofs concatenated',
        world.withdrawal(5n, thief.address, THIEF_DUE),
        GENUINE_HEIGHT,
        [...genuineProof(0), ...genuineProof(1)],
      ],
    ];
    for (const [what, withdrawal, height, proof] of attempts)
      await world.attempt(what, () => claimOnHarness(deployment, thief, withdrawal, height, proof));
    await world.payGenuine();
    return 'a proof pays only the leaf the certified root holds, at its height';
  });
}

/**
 * Nomad: a zero withdrawals root — even one the genuine keyset signed (a validator bug) — is never
 * stored, and a height with no root (the storage default) proves nothing with an empty proof.
 */
export async function nomadOnVault(): Promise<Outcome> {
  return withWorld(4, 'nomad-vault', async (world) => {
    const { deployment, thief, keys } = world;
    const zero: Checkpoint = {
      ...world.genuine.checkpoint,
      height: 50n,
      withdrawalsRoot: new Uint8Array(32),
    };
    const signature = evmFrostSignature(
      frostSignDigest(keys, checkpointDigest(zero, harnessDomain(deployment.evm, deployment.verifier))),
    );
    await world.attempt('a zero root signed by the genuine keyset', () =>
      submitHarnessCheckpoint(deployment, { checkpoint: zero, signature, keyset: keysetOfPackages(keys) }),
    );
    const theft = world.withdrawal(9n, thief.address, STEAL);
    for (const height of [0n, 50n, 7n])
      await world.attempt(`a claim at height ${height} (no root) with an empty proof`, () =>
        claimOnHarness(deployment, thief, theft, height, []),
      );
    await world.payGenuine();
    await world.attempt('after the genuine checkpoint, a claim at its height with an empty proof', () =>
      claimOnHarness(deployment, thief, theft, GENUINE_HEIGHT, []),
    );
    return 'a zero root is never stored; a height without a root proves nothing';
  });
}

/**
 * Ronin / Harmony: f validators (n = 4 and 7) agree on a fake checkpoint paying the thief
 * 150,000 pUSD. Honest validators sign only their own checkpoint, so the f can offer: their shares
 * alone (the aggregator needs 2f + 1), a genuine signature taken from the real checkpoint, and a
 * keyset of their own (an attacker-run DKG) named as the verifier's or as its successor.
 */
export async function fakeCheckpointByF(): Promise<Outcome> {
  const outcomes: Outcome[] = [];
  for (const n of [4, 7]) {
    outcomes.push(
      await withWorld(n, `ronin-checkpoint-${n}`, async (world) => {
        const { deployment, thief, keys, f } = world;
        const fake = certifyHarnessCheckpoint(deployment, [world.withdrawal(7n, thief.address, STEAL)], {
          keys,
          height: 200n,
          signers: keys.slice(0, 2 * f + 1),
        });
        const digest = checkpointDigest(fake.checkpoint, harnessDomain(deployment.evm, deployment.verifier));
        try {
          frostSignDigest(keys, digest, keys.slice(0, f));
          world.conditions.push(`FAILED: ${f} shares aggregated into a signature`);
        } catch (error) {
          world.refusedOffChain(`n = ${n}: the fake checkpoint signed by the ${f} stolen share(s)`, error);
        }
        await world.attempt(`n = ${n}: the fake checkpoint under the genuine checkpoint's signature`, () =>
          submitHarnessCheckpoint(deployment, { ...fake, signature: world.genuine.signature }),
        );
        const own = runLocalDkg({ chainId: 7, epoch: 1, participants: n, threshold: f + 1 });
        const ownSigned = certifyHarnessCheckpoint(deployment, [world.withdrawal(7n, thief.address, STEAL)], {
          keys: own,
          height: 200n,
        });
        await world.attempt(`n = ${n}: signed by the attackers' own keyset, named as theirs`, () =>
          submitHarnessCheckpoint(deployment, ownSigned),
        );
        await world.attempt(`n = ${n}: signed by their own keyset, named as the verifier's`, () =>
          submitHarnessCheckpoint(deployment, { ...ownSigned, keyset: keysetOfPackages(keys) }),
        );
        const domain = harnessDomain(deployment.evm, deployment.verifier);
        const takeover = evmFrostSignature(
          frostSignDigest(
            own,
            handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: own[0]!.groupPublicKey }, domain),
          ),
        );
        await world.attempt(`n = ${n}: a handover to their keyset, signed by it`, () =>
          deployment.verifier.send(thief, 'handover', [
            keysetOfPackages(keys),
            2n,
            own[0]!.groupPublicKey,
            takeover,
          ]),
        );
        await world.attempt(`n = ${n}: the fake claimed`, () =>
          claimOnHarness(
            deployment,
            thief,
            world.withdrawal(7n, thief.address, STEAL),
            200n,
            fake.tree.proof(0),
          ),
        );
        await world.payGenuine();
        return `f of ${n}`;
      }),
    );
  }
  return combine(
    outcomes,
    'f validators cannot certify a checkpoint at n = 4 or 7: the vault pays only what 2f + 1 signed',
  );
}

/**
 * Wormhole: a forged verification. Random signature words, z negated (the malleability trick),
 * R moved off the curve, the checkpoint's epoch edited, and genuine signatures made for another
 * chain's or another contract's domain.
 */
export async function wormholeOnVault(): Promise<Outcome> {
  return withWorld(4, 'wormhole-vault', async (world) => {
    const { deployment, thief, keys } = world;
    const theft = [world.withdrawal(8n, thief.address, STEAL)];
    const fake = certifyHarnessCheckpoint(deployment, theft, { keys, height: 300n });
    // Built from the genuine keyset but never the verifier's to see; each variant is then tampered.
    const order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const variants: [string, typeof fake][] = [
      ['random signature words', { ...fake, signature: { rx: 1n, ry: 2n, z: 3n } }],
      [
        'z negated (n − z, the malleability trick)',
        { ...fake, signature: { ...fake.signature, z: order - fake.signature.z } },
      ],
      ['R moved off the curve', { ...fake, signature: { ...fake.signature, ry: fake.signature.ry ^ 1n } }],
      ['the epoch edited to 2', { ...fake, checkpoint: { ...fake.checkpoint, epoch: 2n } }],
      [
        'signed for chain 1',
        certifyHarnessCheckpoint(deployment, theft, {
          keys,
          height: 300n,
          domain: { chainId: 1, verifyingContract: deployment.verifier.address },
        }),
      ],
      [
        'signed for the devnet placeholder (chain 7, zero address)',
        certifyHarnessCheckpoint(deployment, theft, {
          keys,
          height: 300n,
          domain: { chainId: 7, verifyingContract: new Uint8Array(20) },
        }),
      ],
    ];
    for (const [label, certified] of variants)
      await world.attempt(`the theft checkpoint, ${label}`, () =>
        submitHarnessCheckpoint(deployment, certified),
      );
    await world.attempt('the theft claimed', () =>
      claimOnHarness(deployment, thief, theft[0]!, 300n, fake.tree.proof(0)),
    );
    await world.payGenuine();
    return 'only the active keyset’s signature for this verifier, chain and epoch is accepted';
  });
}

/**
 * A drain with the whole keyset stolen (beyond the f the protocol tolerates): the keyset certifies
 * twenty withdrawals of 1,000 pUSD and one of 50,000 to the thief. The token bucket pays what it
 * holds, the large one waits the delay and a guardian stops it, two guardians curse the token, and
 * after the bucket has refilled nothing more is paid.
 */
export async function drainHeldByRateLimit(limits: HarnessVaultLimits = VAULT_LIMITS): Promise<Outcome> {
  const world = await startWorld(4, 'drain', limits);
  const { deployment, thief, keys } = world;
  await world.payGenuine();
  const small = Array.from({ length: 20 }, (_, i) =>
    world.withdrawal(BigInt(10 + i), thief.address, 1_000n * UNIT),
  );
  const large = world.withdrawal(99n, thief.address, 50_000n * UNIT);
  const drain = certifyHarnessCheckpoint(deployment, [...small, large], { keys, height: 400n });
  await world.attempt('the drain checkpoint (all shares stolen)', () =>
    submitHarnessCheckpoint(deployment, drain),
  );
  const startedAt = deployment.evm.timestamp;
  let paid = 0;
  for (let i = 0; i < small.length; i++) {
    const result = await claimOnHarness(deployment, thief, small[i]!, 400n, drain.tree.proof(i));
    if (!result.ok) {
      world.statuses.push(
        `${paid} of ${small.length} claims of 1,000 pUSD paid, then ${result.revert?.name}`,
      );
      break;
    }
    paid += 1;
  }
  if (paid === small.length) world.statuses.push(`all ${paid} claims of 1,000 pUSD paid`);
  const claimedLarge = await world.attempt('the 50,000 pUSD withdrawal claimed', () =>
    claimOnHarness(deployment, thief, large, 400n, drain.tree.proof(20)),
  );
  const queued = claimedLarge.logs.some((log) => log.name === 'WithdrawalQueued');
  if (queued) {
    await world.attempt('executed before the delay', () => deployment.vault.send(thief, 'execute', [99n]));
    await world.attempt('a guardian stops it', () =>
      deployment.vault.send(deployment.guardians[0]!, 'stop', [99n]),
    );
  }
  const subject = (await deployment.vault.call('tokenSubject', [deployment.token.hex])).value![0];
  await world.attempt('guardian 1 votes to curse the token', () =>
    deployment.vault.send(deployment.guardians[0]!, 'voteToCurse', [subject]),
  );
  await world.attempt('guardian 2 votes to curse the token', () =>
    deployment.vault.send(deployment.guardians[1]!, 'voteToCurse', [subject]),
  );
  const cursedAt = await tokenBalance(deployment, thief.address);
  const elapsed = deployment.evm.timestamp - startedAt;
  deployment.evm.advance(limits.delaySeconds + 100_000n);
  if (queued)
    await world.attempt('the stopped withdrawal executed after the delay', () =>
      deployment.vault.send(thief, 'execute', [99n]),
    );
  for (let i = paid; i < Math.min(paid + 3, small.length); i++)
    await world.attempt(`claim ${i + 1} after the curse and a full refill`, () =>
      claimOnHarness(deployment, thief, small[i]!, 400n, drain.tree.proof(i)),
    );
  const drained = (await tokenBalance(deployment, thief.address)) - THIEF_DUE;
  // The promise is the product's limits, not the deployment's: a vault deployed without them
  // (NO_RATE_LIMIT, the injected bug) is judged against what it should have held.
  const bound = VAULT_LIMITS.tokenCapacity + VAULT_LIMITS.tokenRatePerSecond * elapsed;
  world.facts.push(
    `drained ${pusd(drained)} of the vault's ${pusd(DEPOSITED)} in ${elapsed} s of chain time; the bound is the bucket (${pusd(VAULT_LIMITS.tokenCapacity)}) plus its refill (${pusd(VAULT_LIMITS.tokenRatePerSecond)}/s), ${pusd(bound)}`,
    `after the curse the thief's balance stayed at ${pusd(cursedAt)}`,
  );
  if (drained > bound)
    world.conditions.push(`FAILED: drained ${pusd(drained)}, above the rate limit's ${pusd(bound)}`);
  if ((await tokenBalance(deployment, thief.address)) !== cursedAt)
    world.conditions.push('FAILED: paid after the curse');
  return outcomeOf(
    world,
    `held at ${pusd(drained)} by the token bucket (bound ${pusd(bound)}); the delayed 50,000 stopped; nothing paid once cursed`,
    THIEF_DUE + (drained <= bound ? drained : bound),
  );
}

/**
 * Keys that outlive their rotation (Multichain, Jul 2023; Harmony's keys): after the handover from
 * epoch 1 to epoch 2, epoch 1's shares — stolen from old disks — sign a checkpoint, a second
 * handover to the attacker, and a price report; none is accepted, and epoch 2 works.
 */
export async function oldKeysetAfterHandover(): Promise<Outcome> {
  return withWorld(4, 'old-keyset', async (world) => {
    const { deployment, thief, keys } = world;
    const next = runLocalDkg({ chainId: 7, epoch: 2, participants: 4, threshold: 3 });
    const domain = harnessDomain(deployment.evm, deployment.verifier);
    const handoverSignature = evmFrostSignature(
      frostSignDigest(
        keys,
        handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next[0]!.groupPublicKey }, domain),
      ),
    );
    await world.attempt('the genuine handover from epoch 1 to 2', () =>
      deployment.verifier.send(deployment.deployer, 'handover', [
        keysetOfPackages(keys),
        2n,
        next[0]!.groupPublicKey,
        handoverSignature,
      ]),
    );
    const theft = [world.withdrawal(6n, thief.address, STEAL)];
    const retired = certifyHarnessCheckpoint(deployment, theft, { keys, height: 500n });
    await world.attempt("epoch 1's keyset signs a checkpoint after the handover", () =>
      submitHarnessCheckpoint(deployment, retired),
    );
    const own = runLocalDkg({ chainId: 7, epoch: 3, participants: 4, threshold: 2 });
    const hijack = evmFrostSignature(
      frostSignDigest(
        keys,
        handoverDigest({ fromEpoch: 1n, toEpoch: 3n, groupPublicKey: own[0]!.groupPublicKey }, domain),
      ),
    );
    await world.attempt("epoch 1's keyset hands over to the attacker's key", () =>
      deployment.verifier.send(thief, 'handover', [
        keysetOfPackages(keys),
        3n,
        own[0]!.groupPublicKey,
        hijack,
      ]),
    );
    await world.attempt('the retired checkpoint claimed', () =>
      claimOnHarness(deployment, thief, theft[0]!, 500n, retired.tree.proof(0)),
    );
    const verifies = await deployment.verifier.call('verifyCheckpoint', [
      keysetOfPackages(keys),
      checkpointArgs(retired.checkpoint),
      retired.signature,
    ]);
    world.statuses.push(
      `verifyCheckpoint with the retired keyset → ${verifies.value?.[0] === true ? 'true' : 'false'}`,
    );
    if (verifies.value?.[0] === true) world.conditions.push('FAILED: the retired keyset still verifies');
    // The control runs on epoch 2: the genuine checkpoint is signed by the new keyset.
    world.genuine = certifyHarnessCheckpoint(
      deployment,
      [world.withdrawal(1n, thief.address, THIEF_DUE), world.withdrawal(2n, world.alice.address, ALICE_DUE)],
      { keys: next, height: GENUINE_HEIGHT },
    );
    await world.payGenuine();
    return 'after a handover only the new keyset certifies; the old one can neither sign nor hand over';
  });
}

/** Several worlds' outcomes as one: refused only when each was. */
function combine(outcomes: readonly Outcome[], what: string): Outcome {
  const failed = outcomes.find((outcome) => outcome.verdict === 'succeeded');
  const merged: Evidence = {
    statuses: outcomes.flatMap((o) => o.evidence.statuses),
    events: {},
    notable: outcomes.flatMap((o) => o.evidence.notable),
    balancesBefore: Object.assign({}, ...outcomes.map((o, i) => prefix(o.evidence.balancesBefore, i))),
    balancesAfter: Object.assign({}, ...outcomes.map((o, i) => prefix(o.evidence.balancesAfter, i))),
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts: outcomes.flatMap((o) => o.evidence.facts),
  };
  return {
    verdict: failed === undefined ? 'refused' : 'succeeded',
    loss: outcomes.reduce((sum, o) => sum + o.loss, 0n),
    summary: failed === undefined ? what : failed.summary,
    evidence: merged,
  };
}

function prefix(record: Record<string, string>, world: number): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [`world ${world + 1} ${key}`, value]),
  );
}
