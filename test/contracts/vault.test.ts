/**
 * PalisadeVault in a real EVM: deposits, certified checkpoints, withdrawals by Merkle proof, and
 * the attacks the field has lost money to — replayed or double claims, a proof for another root
 * or another deployment, a zero root (Nomad), a forged or retired-keyset checkpoint, a drain by a
 * compromised keyset held by the rate limit and stopped by the curse, a non-guardian curse, and a
 * lift with fewer than every governor.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkpointDigest,
  evmFrostSignature,
  handoverDigest,
  type Withdrawal,
} from '../../src/interop/evm/certificates.ts';
import {
  byAllGovernors,
  certifiedCheckpoint,
  checkpointArgs,
  DELAY_SECONDS,
  DELAY_THRESHOLD,
  type Deployment,
  deploy,
  domainOf,
  frostSign,
  fund,
  keysetOf,
  keysetOne,
  keysetTwo,
  proofArgs,
  TOKEN_CAPACITY,
  TOKEN_RATE,
  withdrawalArgs,
} from './fixtures.ts';

const account = new Uint8Array(32).fill(0xac);

async function balanceOf(deployment: Deployment, who: Uint8Array): Promise<bigint> {
  const result = await deployment.token.call('balanceOf', [`0x${Buffer.from(who).toString('hex')}`]);
  return result.value![0] as bigint;
}

async function withFunds(amount = 50_000_000_000n) {
  const deployment = await deploy();
  const depositor = await deployment.evm.account('depositor');
  await fund(deployment, depositor, amount, account);
  return deployment;
}

async function submit(deployment: Deployment, certified: ReturnType<typeof certifiedCheckpoint>) {
  return deployment.vault.send(deployment.deployer, 'submitCheckpoint', [
    certified.keyset,
    checkpointArgs(certified.checkpoint),
    certified.signature,
  ]);
}

function withdrawal(deployment: Deployment, id: bigint, recipient: Uint8Array, amount: bigint): Withdrawal {
  return { id, token: deployment.token.address, recipient, amount };
}

test('a deposit emits the Palisade account, token, amount and a nonce', async (t) => {
  const deployment = await deploy();
  const depositor = await deployment.evm.account('depositor');
  const first = await fund(deployment, depositor, 1_000_000n, account);
  assert.equal(first.ok, true, first.revert?.name);
  const event = first.logs.find((log) => log.name === 'Deposited')!;
  assert.equal(event.args.account, `0x${Buffer.from(account).toString('hex')}`);
  assert.equal(event.args.token.toLowerCase(), deployment.token.hex);
  assert.equal(event.args.amount, 1_000_000n);
  assert.equal(event.args.nonce, 1n);
  const second = await fund(deployment, depositor, 5n, account);
  assert.equal(second.logs.find((log) => log.name === 'Deposited')!.args.nonce, 2n);
  t.diagnostic(`deposit: ${first.transactionGas} transaction gas`);
  const zero = await deployment.vault.send(depositor, 'deposit', [
    deployment.token.hex,
    5n,
    new Uint8Array(32),
  ]);
  assert.equal(zero.revert?.name, 'ZeroAccount');
  const unlisted = await deployment.vault.send(depositor, 'deposit', [deployment.verifier.hex, 5n, account]);
  assert.equal(unlisted.revert?.name, 'TokenNotListed');
});

test('a certified withdrawal is paid once; the second claim is refused', async (t) => {
  const deployment = await withFunds();
  const recipient = await deployment.evm.account('recipient');
  const items = [
    withdrawal(deployment, 1n, recipient.address, 1_000_000n),
    withdrawal(deployment, 2n, recipient.address, 2_000_000n),
    withdrawal(deployment, 3n, recipient.address, 3_000_000n),
  ];
  const certified = certifiedCheckpoint(deployment, items);
  const accepted = await submit(deployment, certified);
  assert.equal(accepted.ok, true, accepted.revert?.name);
  t.diagnostic(`submitCheckpoint: ${accepted.transactionGas} transaction gas`);
  const claim = await deployment.vault.send(recipient, 'claim', [
    withdrawalArgs(items[1]!),
    100n,
    proofArgs(certified.tree.proof(1)),
  ]);
  assert.equal(claim.ok, true, claim.revert?.name);
  t.diagnostic(`claim (paid at once): ${claim.transactionGas} transaction gas`);
  assert.equal(await balanceOf(deployment, recipient.address), 2_000_000n);
  const again = await deployment.vault.send(recipient, 'claim', [
    withdrawalArgs(items[1]!),
    100n,
    proofArgs(certified.tree.proof(1)),
  ]);
  assert.equal(again.revert?.name, 'AlreadyClaimed');
  // The same id in a later checkpoint (a relayer or a buggy node including it twice) is not paid again.
  const later = certifiedCheckpoint(deployment, [items[1]!], { height: 101n });
  assert.equal((await submit(deployment, later)).ok, true);
  const twice = await deployment.vault.send(recipient, 'claim', [withdrawalArgs(items[1]!), 101n, []]);
  assert.equal(twice.revert?.name, 'AlreadyClaimed');
  assert.equal(await balanceOf(deployment, recipient.address), 2_000_000n);
});

test('attack: a proof for another root, an altered amount, or an unknown height is refused', async () => {
  const deployment = await withFunds();
  const thief = await deployment.evm.account('thief');
  const mine = withdrawal(deployment, 1n, thief.address, 1_000_000n);
  const other = certifiedCheckpoint(deployment, [mine, withdrawal(deployment, 2n, thief.address, 7n)], {
    height: 5n,
  });
  const real = certifiedCheckpoint(deployment, [withdrawal(deployment, 9n, thief.address, 3n)], {
    height: 6n,
  });
  assert.equal((await submit(deployment, real)).ok, true);
  // `other` was never certified on chain; its proof checked against height 6's root fails.
  const wrongRoot = await deployment.vault.send(thief, 'claim', [
    withdrawalArgs(mine),
    6n,
    proofArgs(other.tree.proof(0)),
  ]);
  assert.equal(wrongRoot.revert?.name, 'InvalidProof');
  const unknown = await deployment.vault.send(thief, 'claim', [
    withdrawalArgs(mine),
    5n,
    proofArgs(other.tree.proof(0)),
  ]);
  assert.equal(unknown.revert?.name, 'UnknownCheckpoint');
  const bigger = { ...withdrawal(deployment, 9n, thief.address, 3_000_000n) };
  const inflated = await deployment.vault.send(thief, 'claim', [withdrawalArgs(bigger), 6n, []]);
  assert.equal(inflated.revert?.name, 'InvalidProof');
  assert.equal(await balanceOf(deployment, thief.address), 0n);
});

test('attack (Nomad): a zero root is never accepted and never proves anything', async () => {
  const deployment = await withFunds();
  const thief = await deployment.evm.account('thief');
  const certified = certifiedCheckpoint(deployment, [withdrawal(deployment, 1n, thief.address, 1n)]);
  const zeroRoot = { ...certified.checkpoint, withdrawalsRoot: new Uint8Array(32) };
  // Even a genuine certificate over a zero root is refused before the signature is looked at.
  const signature = evmFrostSignature(
    frostSign(keysetOne, checkpointDigest(zeroRoot, domainOf(deployment.evm, deployment.verifier))),
  );
  const refused = await deployment.vault.send(deployment.deployer, 'submitCheckpoint', [
    certified.keyset,
    checkpointArgs(zeroRoot),
    signature,
  ]);
  assert.equal(refused.revert?.name, 'ZeroRoot');
  // A claim against a height that has no root (the default zero) with an empty proof: the leaf
  // would have to equal the zero root, which Nomad's contract accepted.
  const theft = withdrawal(deployment, 1n, thief.address, 1_000_000_000n);
  const claim = await deployment.vault.send(thief, 'claim', [withdrawalArgs(theft), 0n, []]);
  assert.equal(claim.revert?.name, 'UnknownCheckpoint');
  assert.equal(await balanceOf(deployment, thief.address), 0n);
});

test('attack: forged, replayed, foreign-domain and retired-keyset checkpoints are refused', async () => {
  const deployment = await withFunds();
  const thief = await deployment.evm.account('thief');
  const items = [withdrawal(deployment, 1n, thief.address, 1_000_000n)];
  // Signed by a keyset that is not the verifier's (f validators running their own DKG).
  const forged = certifiedCheckpoint(deployment, items, { keys: keysetTwo });
  assert.equal(
    (await submit(deployment, { ...forged, keyset: keysetOf(keysetOne) })).revert?.name,
    'BadCertificate',
  );
  assert.equal((await submit(deployment, forged)).revert?.name, 'BadCertificate');
  // Certified for another chain's verifier, or for the devnet's chain 7 and zero address.
  for (const domain of [
    { chainId: 1, verifyingContract: deployment.verifier.address },
    { chainId: 7, verifyingContract: new Uint8Array(20) },
  ]) {
    assert.equal(
      (await submit(deployment, certifiedCheckpoint(deployment, items, { domain }))).revert?.name,
      'BadCertificate',
    );
  }
  // A leaf built for another vault or chain: the checkpoint is genuine, the proof matches nothing here.
  const foreignLeaves = certifiedCheckpoint(deployment, items, { leafChainId: 1n, height: 200n });
  assert.equal((await submit(deployment, foreignLeaves)).ok, true);
  const foreignClaim = await deployment.vault.send(thief, 'claim', [
    withdrawalArgs(items[0]!),
    200n,
    proofArgs(foreignLeaves.tree.proof(0)),
  ]);
  assert.equal(foreignClaim.revert?.name, 'InvalidProof');
  const otherVault = certifiedCheckpoint(deployment, items, {
    leafVault: new Uint8Array(20).fill(0x99),
    height: 201n,
  });
  assert.equal((await submit(deployment, otherVault)).ok, true);
  const otherVaultClaim = await deployment.vault.send(thief, 'claim', [
    withdrawalArgs(items[0]!),
    201n,
    proofArgs(otherVault.tree.proof(0)),
  ]);
  assert.equal(otherVaultClaim.revert?.name, 'InvalidProof');
  // Replayed: the same checkpoint a second time.
  const genuine = certifiedCheckpoint(deployment, items, { height: 300n });
  assert.equal((await submit(deployment, genuine)).ok, true);
  assert.equal((await submit(deployment, genuine)).revert?.name, 'CheckpointKnown');

  // After the handover to epoch 2, a checkpoint from the retired keyset is refused.
  const domain = domainOf(deployment.evm, deployment.verifier);
  const next = keysetTwo[0]!.groupPublicKey;
  const handoverSignature = evmFrostSignature(
    frostSign(keysetOne, handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next }, domain)),
  );
  assert.equal(
    (
      await deployment.verifier.send(deployment.deployer, 'handover', [
        keysetOf(keysetOne),
        2n,
        next,
        handoverSignature,
      ])
    ).ok,
    true,
  );
  const retired = certifiedCheckpoint(deployment, items, { height: 400n, keys: keysetOne });
  assert.equal((await submit(deployment, retired)).revert?.name, 'BadCertificate');
  const current = certifiedCheckpoint(deployment, items, { height: 400n, keys: keysetTwo });
  assert.equal((await submit(deployment, current)).ok, true);
});

test('attack: a drain by a compromised keyset is held by the rate limit, delayed, stopped by a guardian and the curse', async (t) => {
  const deployment = await withFunds(100_000_000_000n);
  const thief = await deployment.evm.account('thief');
  // The keyset is compromised: it certifies twenty withdrawals of 1,000 units and one of 50,000.
  const small = Array.from({ length: 20 }, (_, i) =>
    withdrawal(deployment, BigInt(i + 1), thief.address, 1_000_000_000n),
  );
  const large = withdrawal(deployment, 99n, thief.address, 50_000_000_000n);
  const certified = certifiedCheckpoint(deployment, [...small, large]);
  assert.equal((await submit(deployment, certified)).ok, true);

  // The token bucket (10,000 units) lets ten through, then refuses.
  let paid = 0;
  let refusal: string | undefined;
  for (let i = 0; i < small.length; i++) {
    const result = await deployment.vault.send(thief, 'claim', [
      withdrawalArgs(small[i]!),
      100n,
      proofArgs(certified.tree.proof(i)),
    ]);
    if (!result.ok) {
      refusal = result.revert?.name;
      break;
    }
    paid += 1;
  }
  assert.equal(refusal, 'RateLimited');
  const heldAfter = await balanceOf(deployment, thief.address);
  assert.ok(heldAfter <= TOKEN_CAPACITY + TOKEN_RATE * 12n * BigInt(paid + 1), `drained ${heldAfter}`);
  t.diagnostic(
    `rate limit: ${paid} of ${small.length} withdrawals paid (${heldAfter} base units) before RateLimited`,
  );

  // Above the capacity: never payable in one go, so an above-threshold claim queues and waits.
  const above = await deployment.vault.send(thief, 'claim', [
    withdrawalArgs(large),
    100n,
    proofArgs(certified.tree.proof(20)),
  ]);
  assert.equal(above.ok, true, above.revert?.name);
  assert.equal(above.logs.find((l) => l.name === 'WithdrawalQueued') !== undefined, true);
  const early = await deployment.vault.send(thief, 'execute', [99n]);
  assert.equal(early.revert?.name, 'StillDelayed');
  // During the delay a single guardian stops it.
  assert.equal((await deployment.vault.send(deployment.guardians[0]!, 'stop', [99n])).ok, true);
  deployment.evm.advance(DELAY_SECONDS + 1n);
  assert.equal((await deployment.vault.send(thief, 'execute', [99n])).revert?.name, 'NotQueued');

  // Two guardians curse the token; after the bucket refills, the rest of the drain is still refused.
  const subject = (await deployment.vault.call('tokenSubject', [deployment.token.hex])).value![0];
  assert.equal((await deployment.vault.send(deployment.guardians[0]!, 'voteToCurse', [subject])).ok, true);
  const cursing = await deployment.vault.send(deployment.guardians[1]!, 'voteToCurse', [subject]);
  assert.equal(
    cursing.logs.some((l) => l.name === 'Cursed'),
    true,
  );
  deployment.evm.advance(100_000n);
  const afterCurse = await deployment.vault.send(thief, 'claim', [
    withdrawalArgs(small[paid]!),
    100n,
    proofArgs(certified.tree.proof(paid)),
  ]);
  assert.equal(afterCurse.revert?.name, 'SubjectCursed');
  const depositor = await deployment.evm.account('depositor');
  assert.equal((await fund(deployment, depositor, 1n, account)).revert?.name, 'SubjectCursed');
  assert.equal(await balanceOf(deployment, thief.address), heldAfter);
});

test('a withdrawal at the threshold waits the delay and is then paid', async (t) => {
  const deployment = await withFunds();
  const recipient = await deployment.evm.account('recipient');
  const item = withdrawal(deployment, 1n, recipient.address, DELAY_THRESHOLD);
  const certified = certifiedCheckpoint(deployment, [item]);
  await submit(deployment, certified);
  const queued = await deployment.vault.send(recipient, 'claim', [withdrawalArgs(item), 100n, []]);
  assert.equal(queued.returned![0], false);
  assert.equal(await balanceOf(deployment, recipient.address), 0n);
  deployment.evm.advance(DELAY_SECONDS);
  const executed = await deployment.vault.send(recipient, 'execute', [1n]);
  assert.equal(executed.ok, true, executed.revert?.name);
  t.diagnostic(`execute (delayed withdrawal): ${executed.transactionGas} transaction gas`);
  assert.equal(await balanceOf(deployment, recipient.address), DELAY_THRESHOLD);
});

test('attack: a non-guardian can neither curse nor stop; one guardian alone cannot curse', async () => {
  const deployment = await withFunds();
  const stranger = await deployment.evm.account('stranger');
  const global = (await deployment.vault.call('GLOBAL_SUBJECT')).value![0];
  assert.equal((await deployment.vault.send(stranger, 'voteToCurse', [global])).revert?.name, 'NotGuardian');
  assert.equal(
    (await deployment.vault.send(deployment.governors[0]!, 'voteToCurse', [global])).revert?.name,
    'NotGuardian',
  );
  assert.equal((await deployment.vault.send(stranger, 'stop', [1n])).revert?.name, 'NotGuardian');
  assert.equal((await deployment.vault.send(deployment.guardians[0]!, 'voteToCurse', [global])).ok, true);
  assert.equal(
    (await deployment.vault.send(deployment.guardians[0]!, 'voteToCurse', [global])).revert?.name,
    'AlreadyVoted',
  );
  assert.equal((await deployment.vault.call('cursed', [global])).value![0], false);
});

test('attack: a curse is lifted only by every governor, and guardians cannot lift it', async () => {
  const deployment = await withFunds();
  const recipient = await deployment.evm.account('recipient');
  const item = withdrawal(deployment, 1n, recipient.address, 1_000n);
  const certified = certifiedCheckpoint(deployment, [item]);
  await submit(deployment, certified);
  const global = (await deployment.vault.call('GLOBAL_SUBJECT')).value![0];
  await deployment.vault.send(deployment.guardians[1]!, 'voteToCurse', [global]);
  await deployment.vault.send(deployment.guardians[2]!, 'voteToCurse', [global]);
  assert.equal((await deployment.vault.call('cursed', [global])).value![0], true);
  assert.equal(
    (await deployment.vault.send(recipient, 'claim', [withdrawalArgs(item), 100n, []])).revert?.name,
    'SubjectCursed',
  );

  assert.equal(
    (await deployment.vault.send(deployment.guardians[0]!, 'liftCurse', [global])).revert?.name,
    'NotGovernor',
  );
  // All but one governor: still cursed.
  for (const governor of deployment.governors.slice(0, -1)) {
    assert.equal((await deployment.vault.send(governor, 'liftCurse', [global])).ok, true);
    // A governor approving twice does not count twice.
    assert.equal((await deployment.vault.send(governor, 'liftCurse', [global])).ok, true);
  }
  assert.equal((await deployment.vault.call('cursed', [global])).value![0], true);
  assert.equal(
    (await deployment.vault.send(recipient, 'claim', [withdrawalArgs(item), 100n, []])).revert?.name,
    'SubjectCursed',
  );
  // The last governor's approval lifts it.
  const lifted = await deployment.vault.send(deployment.governors.at(-1)!, 'liftCurse', [global]);
  assert.equal(
    lifted.logs.some((l) => l.name === 'CurseLifted'),
    true,
  );
  assert.equal((await deployment.vault.send(recipient, 'claim', [withdrawalArgs(item), 100n, []])).ok, true);
  // The lift cleared the votes: one guardian's new vote does not re-curse.
  await deployment.vault.send(deployment.guardians[1]!, 'voteToCurse', [global]);
  assert.equal((await deployment.vault.call('cursed', [global])).value![0], false);
});

test('governance changes to a token need every governor; a stopped withdrawal is released only by all', async () => {
  const deployment = await withFunds();
  const recipient = await deployment.evm.account('recipient');
  const item = withdrawal(deployment, 1n, recipient.address, DELAY_THRESHOLD);
  await submit(deployment, certifiedCheckpoint(deployment, [item]));
  await deployment.vault.send(recipient, 'claim', [withdrawalArgs(item), 100n, []]);
  await deployment.vault.send(deployment.guardians[2]!, 'stop', [1n]);
  await deployment.vault.send(deployment.governors[0]!, 'releaseStopped', [1n]);
  deployment.evm.advance(DELAY_SECONDS);
  assert.equal((await deployment.vault.send(recipient, 'execute', [1n])).revert?.name, 'NotQueued');
  await byAllGovernors({ ...deployment, governors: deployment.governors.slice(1) }, 'releaseStopped', [1n]);
  assert.equal((await deployment.vault.send(recipient, 'execute', [1n])).ok, true);
  assert.equal(await balanceOf(deployment, recipient.address), DELAY_THRESHOLD);
  // One governor cannot raise the rate limit.
  const before = (await deployment.vault.call('tokenBucket', [deployment.token.hex])).value!;
  await deployment.vault.send(deployment.governors[0]!, 'configureToken', [
    deployment.token.hex,
    TOKEN_CAPACITY * 100n,
    TOKEN_RATE * 100n,
    DELAY_THRESHOLD,
    10n ** 18n,
  ]);
  const after = (await deployment.vault.call('tokenBucket', [deployment.token.hex])).value!;
  assert.equal(after.capacity, before.capacity);
});

test('the global bucket caps the sum over tokens, in value units, even when each token has room', async () => {
  const deployment = await withFunds();
  const second = await deployment.evm.deploy(deployment.deployer, 'TestToken', [
    'Wrapped Test ETH',
    'pETH',
    6n,
  ]);
  // Each unit of the second token is worth three value units.
  await byAllGovernors(deployment, 'configureToken', [
    second.hex,
    TOKEN_CAPACITY,
    TOKEN_RATE,
    DELAY_THRESHOLD,
    3n * 10n ** 18n,
  ]);
  const depositor = await deployment.evm.account('depositor');
  await second.send(depositor, 'mint', [depositor.hex, 10_000_000_000n]);
  await second.send(depositor, 'approve', [deployment.vault.hex, 10_000_000_000n]);
  assert.equal(
    (await deployment.vault.send(depositor, 'deposit', [second.hex, 10_000_000_000n, account])).ok,
    true,
  );
  const recipient = await deployment.evm.account('recipient');
  const items = [
    { id: 1n, token: second.address, recipient: recipient.address, amount: 4_900_000_000n },
    withdrawal(deployment, 2n, recipient.address, 4_900_000_000n),
    withdrawal(deployment, 3n, recipient.address, 4_900_000_000n),
  ];
  const certified = certifiedCheckpoint(deployment, items);
  await submit(deployment, certified);
  const claims = [];
  for (let i = 0; i < items.length; i++) {
    claims.push(
      await deployment.vault.send(recipient, 'claim', [
        withdrawalArgs(items[i]!),
        100n,
        proofArgs(certified.tree.proof(i)),
      ]),
    );
  }
  // 14.7k + 4.9k value units fit in 20k; the third withdrawal would take the sum to 24.5k.
  assert.deepEqual(
    claims.map((c) => c.ok),
    [true, true, false],
  );
  assert.equal(claims[2]!.revert?.name, 'RateLimited');
  const [tokenAvailable, globalAvailable] = (await deployment.vault.call('available', [deployment.token.hex]))
    .value!;
  assert.ok(tokenAvailable >= 4_900_000_000n, 'the token bucket alone had room');
  assert.ok(globalAvailable < 4_900_000_000n);
});

test('a token curse stops only that token; a global curse stops checkpoints and every token', async () => {
  const deployment = await withFunds();
  const second = await deployment.evm.deploy(deployment.deployer, 'TestToken', [
    'Wrapped Test ETH',
    'pETH',
    6n,
  ]);
  await byAllGovernors(deployment, 'configureToken', [
    second.hex,
    TOKEN_CAPACITY,
    TOKEN_RATE,
    DELAY_THRESHOLD,
    10n ** 18n,
  ]);
  const depositor = await deployment.evm.account('depositor');
  await second.send(depositor, 'mint', [depositor.hex, 1_000_000n]);
  await second.send(depositor, 'approve', [deployment.vault.hex, 1_000_000n]);
  await deployment.vault.send(depositor, 'deposit', [second.hex, 1_000_000n, account]);
  const recipient = await deployment.evm.account('recipient');
  const items = [
    withdrawal(deployment, 1n, recipient.address, 1_000n),
    { id: 2n, token: second.address, recipient: recipient.address, amount: 1_000n },
  ];
  const certified = certifiedCheckpoint(deployment, items);
  await submit(deployment, certified);
  const subject = (await deployment.vault.call('tokenSubject', [deployment.token.hex])).value![0];
  for (const guardian of deployment.guardians.slice(0, 2))
    await deployment.vault.send(guardian, 'voteToCurse', [subject]);
  const cursedToken = await deployment.vault.send(recipient, 'claim', [
    withdrawalArgs(items[0]!),
    100n,
    proofArgs(certified.tree.proof(0)),
  ]);
  assert.equal(cursedToken.revert?.name, 'SubjectCursed');
  const otherToken = await deployment.vault.send(recipient, 'claim', [
    withdrawalArgs(items[1]!),
    100n,
    proofArgs(certified.tree.proof(1)),
  ]);
  assert.equal(otherToken.ok, true, otherToken.revert?.name);

  const global = (await deployment.vault.call('GLOBAL_SUBJECT')).value![0];
  for (const guardian of deployment.guardians.slice(1))
    await deployment.vault.send(guardian, 'voteToCurse', [global]);
  const next = certifiedCheckpoint(deployment, [withdrawal(deployment, 3n, recipient.address, 5n)], {
    height: 101n,
  });
  assert.equal((await submit(deployment, next)).revert?.name, 'SubjectCursed');
  const deposit = await deployment.vault.send(depositor, 'deposit', [second.hex, 1n, account]);
  assert.equal(deposit.revert?.name, 'SubjectCursed');
});
