/**
 * PalisadeVerifier's packed price-report entry point (`verifyPriceReportPacked_8ivd()`, raw
 * calldata read with calldataload) in a real EVM (@ethereumjs/vm): it accepts exactly what
 * `verifyPriceReport` accepts and refuses what it refuses — forged signatures, an impostor or
 * retired keyset, a wrong epoch, another chain id or contract — and, because it has no ABI
 * decoder to lean on, calldata that is one byte short, one byte or one word long, or empty. The
 * signatures it accepts also pass an unmodified RFC 9591 verifier (@noble/curves).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secp256k1, secp256k1_FROST } from '@noble/curves/secp256k1.js';
import * as fc from 'fast-check';
import { frostCommit, frostSignShare } from '../../src/crypto/frost.ts';
import {
  type EvmFrostSignature,
  type EvmKeyset,
  evmFrostSignature,
  evmKeyset,
  evmPackedPriceCertificate,
  evmPackedPriceReport,
  handoverDigest,
  PACKED_PRICE_REPORT_BYTES,
  PACKED_PRICE_REPORT_FUNCTION,
  PACKED_PRICE_REPORT_SELECTOR,
} from '../../src/interop/evm/certificates.ts';
import { createEvmHarness, type DeployedContract } from '../../src/interop/evm/harness.ts';
import {
  assemblePriceCertificate,
  decodePriceCertificate,
  encodePriceCertificate,
  type PriceReport,
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

/** The packed entry point on raw calldata: true / false, or the name of the error it reverted with. */
async function packedOn(verifier: DeployedContract, data: Uint8Array): Promise<boolean | string> {
  const result = await verifier.callData(data, PACKED_PRICE_REPORT_FUNCTION);
  if (!result.ok) return result.revert?.name ?? 'unknown';
  return result.value![0] as boolean;
}

async function both(
  verifier: DeployedContract,
  keyset: EvmKeyset,
  report: PriceReport,
  signature: EvmFrostSignature,
): Promise<{ abi: boolean; packed: boolean | string }> {
  const abi = await verifier.call('verifyPriceReport', [keyset, report, signature]);
  assert.equal(abi.ok, true, `verifyPriceReport reverted: ${abi.revert?.name}`);
  return {
    abi: abi.value![0] as boolean,
    packed: await packedOn(verifier, evmPackedPriceReport(keyset, report, signature)),
  };
}

test('the packed layout: selector first among the verifier’s, 201 bytes, every field at its width', async () => {
  const { verifier } = await setup();
  const fragment = verifier.interface.getFunction(PACKED_PRICE_REPORT_FUNCTION);
  assert.ok(fragment !== null, 'the verifier has the packed entry point');
  assert.equal(fragment.selector, `0x${Buffer.from(PACKED_PRICE_REPORT_SELECTOR).toString('hex')}`);
  const selectors: string[] = [];
  verifier.interface.forEachFunction((f) => selectors.push(f.selector));
  assert.equal([...selectors].sort()[0], fragment.selector);
  const report = sampleReport(1, { price: -2n, exponent: -8 });
  const data = evmPackedPriceReport(keysetOf(keysetOne), report, { rx: 1n, ry: 2n, z: 3n });
  assert.equal(data.length, PACKED_PRICE_REPORT_BYTES);
  assert.equal(Buffer.from(data.subarray(36, 44)).toString('hex'), 'fffffffffffffffe');
  assert.equal(Buffer.from(data.subarray(52, 56)).toString('hex'), 'fffffff8');
  assert.throws(() =>
    evmPackedPriceReport(keysetOf(keysetOne), { ...report, epoch: 2 }, { rx: 1n, ry: 2n, z: 3n }),
  );
  assert.throws(() =>
    evmPackedPriceReport(keysetOf(keysetOne), { ...report, price: 1n << 63n }, { rx: 1n, ry: 2n, z: 3n }),
  );
});

test('the packed entry point accepts the certificate verifyPriceReport accepts; an unmodified RFC 9591 verifier accepts the same signature', async (t) => {
  const { verifier, domain } = await setup();
  for (const overrides of [
    {},
    { price: 1n, exponent: 2 ** 31 - 1 },
    { price: (1n << 63n) - 1n, exponent: -(2 ** 31) },
  ]) {
    const report = sampleReport(1, overrides);
    const digest = priceReportDigest(report, domain);
    const signature = frostSign(keysetOne, digest);
    assert.equal(secp256k1_FROST.verify(signature, digest, keysetOne[0]!.groupPublicKey), true);
    assert.deepEqual(await both(verifier, keysetOf(keysetOne), report, evmFrostSignature(signature)), {
      abi: true,
      packed: true,
    });
  }
  // A negative price (which the oracle never signs, but int64 allows) takes the packed path's
  // sign extension: signed over the contract's own ABI digest, both entry points accept it.
  const negative = { ...sampleReport(1), price: -5n };
  const negativeDigest = (await verifier.call('priceReportDigest', [negative])).value![0] as string;
  const negativeSignature = frostSign(
    keysetOne,
    Uint8Array.from(Buffer.from(negativeDigest.slice(2), 'hex')),
  );
  assert.deepEqual(
    await both(verifier, keysetOf(keysetOne), negative, evmFrostSignature(negativeSignature)),
    {
      abi: true,
      packed: true,
    },
  );
  // A certificate as the oracle encodes it, through the codec, packed by the client helper.
  const report = sampleReport(1, { price: 123_456_789n });
  const digest = priceReportDigest(report, domain);
  const signers = keysetOne.slice(1, 4);
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((x) => x.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  const certificate = decodePriceCertificate(
    encodePriceCertificate(
      assemblePriceCertificate({ report, domain, publicPackage: keysetOne[0]!.public, commitments, shares }),
    ),
  );
  assert.equal(secp256k1_FROST.verify(certificate.signature, digest, keysetOne[0]!.groupPublicKey), true);
  const call = await verifier.callData(
    evmPackedPriceCertificate(certificate, keysetOne[0]!.groupPublicKey),
    PACKED_PRICE_REPORT_FUNCTION,
  );
  assert.equal(call.value![0], true);
  t.diagnostic(`packed price report (digest included): ${call.executionGas} execution gas`);
  // A signature made by noble's own single-key RFC 9591 signing verifies too.
  const secretKey = secp256k1.utils.randomSecretKey();
  const groupKey = secp256k1.getPublicKey(secretKey, true);
  const evm = await createEvmHarness();
  const single = await evm.deploy(await evm.account('deployer'), 'PalisadeVerifier', [5n, groupKey]);
  const report5 = sampleReport(5, { price: 1n, exponent: -2 });
  const nobleSignature = secp256k1_FROST.sign(priceReportDigest(report5, domainOf(evm, single)), secretKey);
  assert.deepEqual(await both(single, evmKeyset(5n, groupKey), report5, evmFrostSignature(nobleSignature)), {
    abi: true,
    packed: true,
  });
});

test('attack (packed): forged signatures are refused as verifyPriceReport refuses them', async () => {
  const { verifier, domain } = await setup();
  const keyset = keysetOf(keysetOne);
  const report = sampleReport(1);
  const digest = priceReportDigest(report, domain);
  const good = evmFrostSignature(frostSign(keysetOne, digest));
  const moved = secp256k1.Point.fromAffine({ x: good.rx, y: good.ry }).add(secp256k1.Point.BASE).toAffine();
  const forgeries = {
    'z + 1': { ...good, z: (good.z + 1n) % N },
    'R + G': { rx: moved.x, ry: moved.y, z: good.z },
    'z = n (non-canonical scalar)': { ...good, z: N },
    'z + n (the same scalar, not canonical)': { ...good, z: good.z + N < 1n << 256n ? good.z + N : N },
    'z = 2^256 − 1': { ...good, z: (1n << 256n) - 1n },
    'R with the other y': { ...good, ry: P - good.ry },
    'R off the curve': { ...good, ry: (good.ry + 1n) % P },
    'rx + p (not canonical)': { ...good, rx: good.rx + P < 1n << 256n ? good.rx + P : P },
    'zero signature': { rx: 0n, ry: 0n, z: 0n },
    'another keyset signs': evmFrostSignature(frostSign(keysetTwo, digest)),
  };
  for (const [name, forged] of Object.entries(forgeries)) {
    assert.deepEqual(await both(verifier, keyset, report, forged), { abi: false, packed: false }, name);
  }
  for (const change of [
    { price: report.price + 1n },
    { confidence: report.confidence + 1n },
    { publishTime: report.publishTime + 1 },
    { exponent: -7 },
    { feedId: new Uint8Array(32).fill(9) },
  ]) {
    assert.deepEqual(await both(verifier, keyset, { ...report, ...change }, good), {
      abi: false,
      packed: false,
    });
  }
});

test('attack (packed): an impostor keyset, the wrong parity, a wrong epoch and a parity byte above 1 are refused', async () => {
  const { verifier, domain } = await setup();
  const report = sampleReport(1);
  const real = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  const byTwo = evmFrostSignature(frostSign(keysetTwo, priceReportDigest(report, domain)));
  const impostor = { ...keysetOf(keysetTwo), epoch: 1n };
  assert.deepEqual(await both(verifier, impostor, report, byTwo), { abi: false, packed: false });
  const wrongParity = { ...keysetOf(keysetOne), parity: 1 - keysetOf(keysetOne).parity };
  assert.deepEqual(await both(verifier, wrongParity, report, real), { abi: false, packed: false });
  // The report names epoch 2, signed by the epoch-1 keyset: the packed form carries one epoch, so
  // either the keyset word or the digest is wrong.
  const epochTwo = { ...report, epoch: 2 };
  const signedTwo = evmFrostSignature(frostSign(keysetOne, priceReportDigest(epochTwo, domain)));
  assert.equal(
    await packedOn(
      verifier,
      evmPackedPriceReport({ ...keysetOf(keysetOne), epoch: 2n }, epochTwo, signedTwo),
    ),
    false,
  );
  const good = evmPackedPriceReport(keysetOf(keysetOne), report, real);
  assert.equal(await packedOn(verifier, good), true);
  // The real parity in the low bit, garbage above it: a contract that read only the low bit
  // would accept these.
  for (const high of [0x02, 0x80, 0xfe]) {
    const data = Uint8Array.from(good);
    data[104] = high | data[104]!;
    assert.equal(await packedOn(verifier, data), false, `parity byte ${data[104]}`);
  }
});

test('attack (packed): a certificate for another chain id or another contract is refused', async () => {
  const { verifier, domain } = await setup();
  const other = await setup(1n);
  assert.equal(other.verifier.hex, verifier.hex);
  const report = sampleReport(1);
  const domains = {
    'the devnet domain (chain 7, zero address)': { chainId: 7, verifyingContract: new Uint8Array(20) },
    'another chain id, same address': other.domain,
    'another verifier on this chain': {
      chainId: domain.chainId,
      verifyingContract: new Uint8Array(20).fill(0x11),
    },
    'the bridge domain (a checkpoint-domain signature)': domain,
  };
  for (const [name, foreign] of Object.entries(domains)) {
    const digest =
      name === 'the bridge domain (a checkpoint-domain signature)'
        ? handoverDigest(
            { fromEpoch: 1n, toEpoch: 2n, groupPublicKey: keysetTwo[0]!.groupPublicKey },
            foreign,
          )
        : priceReportDigest(report, foreign);
    const signature = evmFrostSignature(frostSign(keysetOne, digest));
    assert.deepEqual(
      await both(verifier, keysetOf(keysetOne), report, signature),
      { abi: false, packed: false },
      name,
    );
  }
  const forOther = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, other.domain)));
  assert.deepEqual(await both(other.verifier, keysetOf(keysetOne), report, forOther), {
    abi: true,
    packed: true,
  });
});

test('attack (packed): calldata one byte short, long by a byte or a word, empty, or ABI-encoded is refused with MalformedCalldata', async () => {
  // A single-key RFC 9591 signer (noble's), so the search below is quick.
  const secretKey = secp256k1.utils.randomSecretKey();
  const groupKey = secp256k1.getPublicKey(secretKey, true);
  const evm = await createEvmHarness();
  const verifier = await evm.deploy(await evm.account('deployer'), 'PalisadeVerifier', [1n, groupKey]);
  const domain = domainOf(evm, verifier);
  const keyset = evmKeyset(1n, groupKey);
  // A signature whose z ends in a zero byte: cut that byte and calldataload's zero padding would
  // restore it, so only the length check refuses the short form.
  let report = sampleReport(1);
  let signature = evmFrostSignature(secp256k1_FROST.sign(priceReportDigest(report, domain), secretKey));
  for (let price = 1n; (signature.z & 0xffn) !== 0n; price += 1n) {
    report = sampleReport(1, { price });
    signature = evmFrostSignature(secp256k1_FROST.sign(priceReportDigest(report, domain), secretKey));
  }
  const good = evmPackedPriceReport(keyset, report, signature);
  assert.equal(good[good.length - 1], 0);
  assert.equal(await packedOn(verifier, good), true);
  const malformed = {
    'one byte short (the zero byte dropped)': good.subarray(0, good.length - 1),
    'one zero byte appended': Uint8Array.from([...good, 0]),
    'one zero word appended': Uint8Array.from([...good, ...new Uint8Array(32)]),
    'the selector alone': good.subarray(0, 4),
    'everything but the signature': good.subarray(0, 105),
    'verifyPriceReport’s ABI arguments under the packed selector': Uint8Array.from([
      ...PACKED_PRICE_REPORT_SELECTOR,
      ...Buffer.from(
        verifier.interface.encodeFunctionData('verifyPriceReport', [keyset, report, signature]).slice(10),
        'hex',
      ),
    ]),
  };
  for (const [name, data] of Object.entries(malformed)) {
    assert.equal(await packedOn(verifier, data), 'MalformedCalldata', name);
  }
  // The same short calldata under the ABI entry point reverts too (its decoder refuses it).
  const abiData = Buffer.from(
    verifier.interface.encodeFunctionData('verifyPriceReport', [keyset, report, signature]).slice(2),
    'hex',
  );
  const shortAbi = await verifier.callData(abiData.subarray(0, abiData.length - 1), 'verifyPriceReport');
  assert.equal(shortAbi.ok, false);
});

test('attack (packed): after a handover the retired keyset is refused and the new one accepted', async () => {
  const { deployer, verifier, domain } = await setup();
  const report = sampleReport(1);
  const old = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  assert.deepEqual(await both(verifier, keysetOf(keysetOne), report, old), { abi: true, packed: true });
  const next = keysetTwo[0]!.groupPublicKey;
  const handoverSignature = evmFrostSignature(
    frostSign(keysetOne, handoverDigest({ fromEpoch: 1n, toEpoch: 2n, groupPublicKey: next }, domain)),
  );
  const moved = await verifier.send(deployer, 'handover', [keysetOf(keysetOne), 2n, next, handoverSignature]);
  assert.equal(moved.ok, true, moved.revert?.name);
  assert.deepEqual(await both(verifier, keysetOf(keysetOne), report, old), { abi: false, packed: false });
  const epochTwo = { ...report, epoch: 2 };
  const lateOld = evmFrostSignature(frostSign(keysetOne, priceReportDigest(epochTwo, domain)));
  assert.deepEqual(await both(verifier, { ...keysetOf(keysetOne), epoch: 2n }, epochTwo, lateOld), {
    abi: false,
    packed: false,
  });
  assert.deepEqual(await both(verifier, keysetOf(keysetTwo), epochTwo, lateOld), {
    abi: false,
    packed: false,
  });
  const fresh = evmFrostSignature(frostSign(keysetTwo, priceReportDigest(epochTwo, domain)));
  assert.deepEqual(await both(verifier, keysetOf(keysetTwo), epochTwo, fresh), { abi: true, packed: true });
});

test('attack (packed): any one byte changed in valid calldata is refused, and the ABI entry point agrees on the decoded fields', async () => {
  const { verifier, domain } = await setup();
  const keyset = keysetOf(keysetOne);
  const report = sampleReport(1);
  const signature = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  const good = evmPackedPriceReport(keyset, report, signature);
  const big = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  const signed = (bytes: Uint8Array) => {
    const value = big(bytes);
    const bits = BigInt(bytes.length * 8);
    return value >= 1n << (bits - 1n) ? value - (1n << bits) : value;
  };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 4, max: PACKED_PRICE_REPORT_BYTES - 1 }),
      fc.integer({ min: 1, max: 255 }),
      async (index, delta) => {
        const data = Uint8Array.from(good);
        data[index] = (data[index]! + delta) & 0xff;
        const packed = await packedOn(verifier, data);
        assert.equal(packed, false, `byte ${index} + ${delta}`);
        // The ABI entry point on the same fields (parity above 1 has no ABI form: uint8 parity
        // is hashed as given, so it is passed as is).
        const decodedKeyset = {
          epoch: big(data.subarray(64, 72)),
          x: big(data.subarray(72, 104)),
          parity: data[104]!,
        };
        const decodedReport = {
          feedId: data.subarray(4, 36),
          price: signed(data.subarray(36, 44)),
          confidence: big(data.subarray(44, 52)),
          exponent: signed(data.subarray(52, 56)),
          publishTime: big(data.subarray(56, 64)),
          epoch: big(data.subarray(64, 72)),
        };
        const decodedSignature = {
          rx: big(data.subarray(105, 137)),
          ry: big(data.subarray(137, 169)),
          z: big(data.subarray(169, 201)),
        };
        const abi = await verifier.call('verifyPriceReport', [
          decodedKeyset,
          decodedReport,
          decodedSignature,
        ]);
        assert.equal(abi.value![0], packed);
      },
    ),
    { numRuns: 48, seed: 13 },
  );
});

test('gas: the packed entry point verifies a price report, digest included, within the 7,000 goal', async (t) => {
  const { verifier, domain } = await setup();
  const report = sampleReport(1);
  const signature = evmFrostSignature(frostSign(keysetOne, priceReportDigest(report, domain)));
  const packed = await verifier.callData(
    evmPackedPriceReport(keysetOf(keysetOne), report, signature),
    PACKED_PRICE_REPORT_FUNCTION,
  );
  const abi = await verifier.call('verifyPriceReport', [keysetOf(keysetOne), report, signature]);
  assert.equal(packed.value![0], true);
  assert.equal(abi.value![0], true);
  t.diagnostic(`packed ${packed.executionGas}, ABI ${abi.executionGas} execution gas (goal 7000)`);
  assert.ok(packed.executionGas <= 7_000n, `packed: ${packed.executionGas}`);
  assert.ok(packed.executionGas < abi.executionGas);
});
