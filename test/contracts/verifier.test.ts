/**
 * PalisadeVerifier in a real EVM (@ethereumjs/vm): FROST(secp256k1, SHA-256) certificates made by
 * src/crypto/frost.ts and by @noble/curves' own FROST API verify; every forgery, replay across
 * chains or contracts, and use of a retired keyset after a handover is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { secp256k1, secp256k1_FROST } from '@noble/curves/secp256k1.js';
import * as tiny from 'tiny-secp256k1';
import { frostCommit, frostSignShare, frostVerify } from '../../src/crypto/frost.ts';
import {
  checkpointDigest,
  evmFrostSignature,
  evmKeyset,
  evmPriceCertificateArguments,
  handoverDigest,
} from '../../src/interop/evm/certificates.ts';
import { artifactsDocument, compileContracts } from '../../src/interop/evm/compile.ts';
import { createEvmHarness } from '../../src/interop/evm/harness.ts';
import {
  assemblePriceCertificate,
  decodePriceCertificate,
  encodePriceCertificate,
  frostChallenge,
  priceReportDigest,
} from '../../src/interop/price-certificate.ts';
import { domainOf, frostSign, keysetOf, keysetOne, keysetTwo, sampleReport } from './fixtures.ts';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

async function setup(chainId = 31337n) {
  const evm = await createEvmHarness({ chainId });
  const deployer = await evm.account('deployer');
  const verifier = await evm.deploy(deployer, 'PalisadeVerifier', [1n, keysetOne[0]!.groupPublicKey]);
  return { evm, deployer, verifier, domain: domainOf(evm, verifier) };
}

async function verifies(
  verifier: Awaited<ReturnType<typeof setup>>['verifier'],
  keyset: ReturnType<typeof keysetOf>,
  report: ReturnType<typeof sampleReport>,
  signature: ReturnType<typeof evmFrostSignature>,
): Promise<boolean> {
  const result = await verifier.call('verifyPriceReport', [keyset, report, signature]);
  assert.equal(result.ok, true, `verifyPriceReport reverted: ${result.revert?.name}`);
  return result.value![0] as boolean;
}

test('two builds of contracts/ give identical bytecode, and contracts/artifacts.json is that build', () => {
  const first = compileContracts();
  const second = compileContracts();
  const committed = readFileSync(new URL('../../contracts/artifacts.json', import.meta.url), 'utf8');
  assert.equal(
    committed,
    artifactsDocument(first),
    'contracts/artifacts.json is stale: run node src/interop/evm/compile.ts --write',
  );
  assert.equal(first.sourceDigest, second.sourceDigest);
  assert.ok(first.solcVersion.startsWith('0.8.37+'));
  for (const [name, artifact] of first.contracts) {
    assert.deepEqual(second.contracts.get(name)!.bytecode, artifact.bytecode, name);
  }
});

test('a price certificate from src/crypto/frost.ts verifies on chain, within the gas figure printed', async (t) => {
  const { verifier, domain } = await setup();
  const report = sampleReport(1);
  const digest = priceReportDigest(report, domain);
  const onChainDigest = await verifier.call('priceReportDigest', [report]);
  assert.equal(onChainDigest.value![0], `0x${Buffer.from(digest).toString('hex')}`);
  const signature = frostSign(keysetOne, digest);
  // The same 65 bytes satisfy an unmodified RFC 9591 verifier (noble's) and the contract.
  assert.equal(secp256k1_FROST.verify(signature, digest, keysetOne[0]!.groupPublicKey), true);
  const result = await verifier.call('verifyPriceReport', [
    keysetOf(keysetOne),
    report,
    evmFrostSignature(signature),
  ]);
  assert.equal(result.value![0], true);
  t.diagnostic(`verifyPriceReport (digest included): ${result.executionGas} execution gas`);
});

test('a certificate as the oracle encodes it (assemblePriceCertificate, codec round trip) verifies on chain', async () => {
  const { verifier, domain } = await setup();
  const report = sampleReport(1, { price: 123_456_789n });
  const digest = priceReportDigest(report, domain);
  const signers = keysetOne.slice(1, 4);
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((x) => x.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  const certificate = assemblePriceCertificate({
    report,
    domain,
    publicPackage: keysetOne[0]!.public,
    commitments,
    shares,
  });
  const decoded = decodePriceCertificate(encodePriceCertificate(certificate));
  const args = evmPriceCertificateArguments(decoded, keysetOne[0]!.groupPublicKey);
  assert.equal((await verifier.call('verifyPriceReport', args)).value![0], true);
});

test('RFC 9591 Appendix E.5 (FROST(secp256k1, SHA-256)): the published signature verifies in the contract', async () => {
  const vector = JSON.parse(
    readFileSync(new URL('../vectors/rfc9591-frost-secp256k1.json', import.meta.url), 'utf8'),
  ) as { group_public_key: string; message: string; sig: string };
  const groupKey = Uint8Array.from(Buffer.from(vector.group_public_key, 'hex'));
  const message = Uint8Array.from(Buffer.from(vector.message, 'hex'));
  const signature = Uint8Array.from(Buffer.from(vector.sig, 'hex'));
  assert.equal(secp256k1_FROST.verify(signature, message, groupKey), true);
  const evm = await createEvmHarness();
  const vectors = await evm.deploy(await evm.account('deployer'), 'FrostVectors');
  const check = async (m: Uint8Array, s: ReturnType<typeof evmFrostSignature>) =>
    (await vectors.call('verifyBytes', [m, groupKey, s])).value![0] as boolean;
  assert.equal(await check(message, evmFrostSignature(signature)), true);
  assert.equal(
    await check(Uint8Array.from(Buffer.from('74657375', 'hex')), evmFrostSignature(signature)),
    false,
  );
  const parsed = evmFrostSignature(signature);
  assert.equal(await check(message, { ...parsed, z: (parsed.z + 1n) % N }), false);
});

test('a signature made with @noble/curves FROST directly (single-key RFC 9591 signing) verifies', async () => {
  const secretKey = secp256k1.utils.randomSecretKey();
  const groupKey = secp256k1.getPublicKey(secretKey, true);
  const evm = await createEvmHarness();
  const verifier = await evm.deploy(await evm.account('deployer'), 'PalisadeVerifier', [5n, groupKey]);
  const report = sampleReport(5, { price: 1n, exponent: -2 });
  const digest = priceReportDigest(report, domainOf(evm, verifier));
  const signature = secp256k1_FROST.sign(digest, secretKey);
  assert.equal(await verifies(verifier, evmKeyset(5n, groupKey), report, evmFrostSignature(signature)), true);
});

test('the contract computes z·G = R + c·PK: an independent curve library agrees on accepted signatures', async () => {
  const { verifier, domain } = await setup();
  for (const price of [1n, 42n, 9_999_999n]) {
    const report = sampleReport(1, { price });
    const digest = priceReportDigest(report, domain);
    const signature = frostSign(keysetOne, digest);
    const R = signature.subarray(0, 33);
    const z = signature.subarray(33);
    const c = frostChallenge(R, keysetOne[0]!.groupPublicKey, digest);
    const cBytes = Uint8Array.from(Buffer.from(c.toString(16).padStart(64, '0'), 'hex'));
    // tiny-secp256k1 (libsecp256k1 in WebAssembly): R + c·PK, compared with z·G.
    const right = tiny.pointAdd(R, tiny.pointMultiply(keysetOne[0]!.groupPublicKey, cBytes)!, true)!;
    assert.deepEqual(Buffer.from(tiny.pointFromScalar(z, true)!), Buffer.from(right));
    assert.equal(await verifies(verifier, keysetOf(keysetOne), report, evmFrostSignature(signature)), true);
  }
});

test('attack: forged signatures are refused (wrong z, R moved, z ≥ n, R off the curve, another key)', async () => {
  const { verifier, domain } = await setup();
  const keyset = keysetOf(keysetOne);
  const report = sampleReport(1);
  const digest = priceReportDigest(report, domain);
  const good = evmFrostSignature(frostSign(keysetOne, digest));
  assert.equal(await verifies(verifier, keyset, report, good), true);
  const moved = secp256k1.Point.fromAffine({ x: good.rx, y: good.ry }).add(secp256k1.Point.BASE).toAffine();
  const forgeries = {
    'z + 1': { ...good, z: (good.z + 1n) % N },
    'R + G': { rx: moved.x, ry: moved.y, z: good.z },
    'z = n (non-canonical scalar)': { ...good, z: N },
    'z = 2^256 − 1': { ...good, z: (1n << 256n) - 1n },
    'R with the other y': { ...good, ry: P - good.ry },
    'R off the curve': { ...good, ry: (good.ry + 1n) % P },
    'zero signature': { rx: 0n, ry: 0n, z: 0n },
    'another keyset signs': evmFrostSignature(frostSign(keysetTwo, digest)),
  };
  for (const [name, forged] of Object.entries(forgeries)) {
    assert.equal(await verifies(verifier, keyset, report, forged), false, name);
  }
  // Every field of the report is covered: a valid signature does not carry over to a change.
  for (const change of [
    { price: report.price + 1n },
    { publishTime: report.publishTime + 1 },
    { exponent: -7 },
  ]) {
    assert.equal(
      await verifies(verifier, keyset, { ...report, ...change }, good),
      false,
      JSON.stringify(change, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
    );
  }
});

test('attack: an attacker who passes their own keyset as the active one is refused', async () => {
  const { verifier, domain } = await setup();
  const report = sampleReport(1);
  const signature = evmFrostSignature(frostSign(keysetTwo, priceReportDigest(report, domain)));
  // keysetTwo's key labelled as epoch 1: not the committed keyset.
  const impostor = { ...keysetOf(keysetTwo), epoch: 1n };
  assert.equal(await verifies(verifier, impostor, report, signature), false);
  const wrongParity = { ...keysetOf(keysetOne), parity: 1 - keysetOf(keysetOne).parity };
  const real = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  assert.equal(await verifies(verifier, wrongParity, report, real), false);
  assert.equal(await verifies(verifier, keysetOf(keysetOne), { ...report, epoch: 2 }, real), false);
});

test('attack: a certificate for another chain id or another contract is refused', async () => {
  const { verifier, domain } = await setup();
  const other = await setup(1n); // the same deployer and nonce on another chain: the same address
  assert.equal(other.verifier.hex, verifier.hex);
  const report = sampleReport(1);
  const domains = {
    'the devnet domain (chain 7, zero address)': { chainId: 7, verifyingContract: new Uint8Array(20) },
    'another chain id, same address': other.domain,
    'another verifier on this chain': {
      chainId: domain.chainId,
      verifyingContract: new Uint8Array(20).fill(0x11),
    },
  };
  for (const [name, foreign] of Object.entries(domains)) {
    const signature = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, foreign)));
    assert.equal(await verifies(verifier, keysetOf(keysetOne), report, signature), false, name);
  }
  // The certificate made for chain 1 verifies there, so the refusal above is the domain's doing.
  const forOther = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, other.domain)));
  assert.equal(await verifies(other.verifier, keysetOf(keysetOne), report, forOther), true);
});

test('checkpoint and handover digests: TypeScript and the contract agree', async () => {
  const { verifier, domain } = await setup();
  const checkpoint = {
    height: 77n,
    blockHash: new Uint8Array(32).fill(1),
    stateRoot: new Uint8Array(32).fill(2),
    withdrawalsRoot: new Uint8Array(32).fill(3),
    epoch: 1n,
  };
  const onChain = await verifier.call('checkpointDigest', [checkpoint]);
  assert.equal(onChain.value![0], `0x${Buffer.from(checkpointDigest(checkpoint, domain)).toString('hex')}`);
  const handover = { fromEpoch: 1n, toEpoch: 2n, groupPublicKey: keysetTwo[0]!.groupPublicKey };
  const onChainHandover = await verifier.call('handoverDigest', [1n, 2n, handover.groupPublicKey]);
  assert.equal(
    onChainHandover.value![0],
    `0x${Buffer.from(handoverDigest(handover, domain)).toString('hex')}`,
  );
  const signature = evmFrostSignature(frostSign(keysetOne, checkpointDigest(checkpoint, domain)));
  const result = await verifier.call('verifyCheckpoint', [keysetOf(keysetOne), checkpoint, signature]);
  assert.equal(result.value![0], true);
});

test('attack: after a handover the old keyset is refused, and the handover cannot be replayed or self-signed', async (t) => {
  const { evm, deployer, verifier, domain } = await setup();
  const report = sampleReport(1);
  const oldSignature = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  assert.equal(await verifies(verifier, keysetOf(keysetOne), report, oldSignature), true);

  const next = keysetTwo[0]!.groupPublicKey;
  // The new keyset cannot certify itself into office.
  const selfSigned = evmFrostSignature(
    frostSign(keysetTwo, handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next }, domain)),
  );
  const refusedSelf = await verifier.send(deployer, 'handover', [keysetOf(keysetOne), 2n, next, selfSigned]);
  assert.equal(refusedSelf.revert?.name, 'BadSignature');

  const digest = handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next }, domain);
  const handoverSignature = evmFrostSignature(frostSign(keysetOne, digest));
  const moved = await verifier.send(deployer, 'handover', [keysetOf(keysetOne), 2n, next, handoverSignature]);
  assert.equal(moved.ok, true, moved.revert?.name);
  assert.equal(moved.logs[0]?.name, 'KeysetHandedOver');
  t.diagnostic(`handover: ${moved.transactionGas} transaction gas`);
  const active = await verifier.call('activeKeyset');
  assert.equal(active.value![0].epoch, 2n);

  // The retired keyset's certificate, old or new, no longer verifies.
  assert.equal(await verifies(verifier, keysetOf(keysetOne), report, oldSignature), false);
  const lateOld = evmFrostSignature(frostSign(keysetOne, priceReportDigest({ ...report, epoch: 2 }, domain)));
  assert.equal(await verifies(verifier, keysetOf(keysetOne), { ...report, epoch: 2 }, lateOld), false);
  assert.equal(await verifies(verifier, keysetOf(keysetTwo), { ...report, epoch: 2 }, lateOld), false);
  // The new one's does.
  const fresh = evmFrostSignature(frostSign(keysetTwo, priceReportDigest({ ...report, epoch: 2 }, domain)));
  assert.equal(await verifies(verifier, keysetOf(keysetTwo), { ...report, epoch: 2 }, fresh), true);

  // Replaying the handover, or the retired keyset handing over to an attacker's key, is refused.
  const replay = await verifier.send(deployer, 'handover', [
    keysetOf(keysetOne),
    2n,
    next,
    handoverSignature,
  ]);
  assert.equal(replay.revert?.name, 'NotActiveKeyset');
  const attackerKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
  const hijack = evmFrostSignature(
    frostSign(keysetOne, handoverDigest({ fromEpoch: 1n, toEpoch: 3n, groupPublicKey: attackerKey }, domain)),
  );
  const refusedHijack = await verifier.send(deployer, 'handover', [
    keysetOf(keysetOne),
    3n,
    attackerKey,
    hijack,
  ]);
  assert.equal(refusedHijack.revert?.name, 'NotActiveKeyset');
  assert.equal((await verifier.call('activeKeyset')).value![0].epoch, 2n);
  void evm;
});

test('a handover to a malformed key, or to an earlier epoch, is refused and changes nothing', async () => {
  const { deployer, verifier, domain } = await setup();
  const notOnCurve = new Uint8Array(33);
  notOnCurve[0] = 2;
  notOnCurve[32] = 5; // x = 5: 5³ + 7 = 132 is not a square mod p
  assert.equal(frostVerify(new Uint8Array(65), new Uint8Array(32), notOnCurve), false);
  const cases: [bigint, Uint8Array, string][] = [
    [2n, notOnCurve, 'InvalidGroupKey'],
    [2n, keysetTwo[0]!.groupPublicKey.subarray(0, 32), 'InvalidGroupKey'],
    [1n, keysetTwo[0]!.groupPublicKey, 'EpochNotIncreasing'],
  ];
  for (const [toEpoch, key, expected] of cases) {
    // Signed properly by the active keyset, so only the content is at fault.
    const fromTs = key.length === 33 && toEpoch > 1n;
    const digest = fromTs
      ? handoverDigest({ fromEpoch: 1n, toEpoch, groupPublicKey: key }, domain)
      : new Uint8Array(32);
    const signature = evmFrostSignature(frostSign(keysetOne, digest));
    const result = await verifier.send(deployer, 'handover', [keysetOf(keysetOne), toEpoch, key, signature]);
    assert.equal(result.revert?.name, expected);
  }
  assert.equal((await verifier.call('activeKeyset')).value![0].epoch, 1n);
});
