import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { keccak256 as ethersKeccak, getAddress, recoverAddress, Signature, TypedDataEncoder } from 'ethers';
import * as tiny from 'tiny-secp256k1';
import { runLocalDkg } from '../crypto/dkg.ts';
import { type FrostCommitment, type FrostKeyPackage, frostCommit, frostSignShare } from '../crypto/frost.ts';
import {
  assemblePriceCertificate,
  type CertificateDomain,
  type CertificateVerdict,
  createKeysetRegistry,
  decodePriceCertificate,
  encodePriceCertificate,
  FROST_CHALLENGE_DST,
  feedIdOf,
  frostChallenge,
  type PriceCertificate,
  type PriceReport,
  priceReportDigest,
  verifyPriceCertificate,
} from './price-certificate.ts';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const domain: CertificateDomain = {
  chainId: 42161,
  verifyingContract: Uint8Array.from(Buffer.from('5FbDB2315678afecb367f032d93F642f64180aa3', 'hex')),
};
const report: PriceReport = {
  feedId: feedIdOf('BTC-USD'),
  price: 6_412_345_678_900n,
  confidence: 1_234_500n,
  exponent: -8,
  publishTime: 1_717_000_000,
  epoch: 3,
};
const keys = runLocalDkg({ chainId: 7, epoch: 3, participants: 4, threshold: 3 });

function certify(
  r: PriceReport,
  d: CertificateDomain,
  signers: FrostKeyPackage[] = keys.slice(0, 3),
): PriceCertificate {
  const digest = priceReportDigest(r, d);
  const round1 = signers.map((key) => frostCommit(key));
  const commitments: FrostCommitment[] = round1.map((x) => x.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  return assemblePriceCertificate({
    report: r,
    domain: d,
    publicPackage: keys[0]!.public,
    commitments,
    shares,
  });
}

const certificate = certify(report, domain);
const groupKey = keys[0]!.groupPublicKey;

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;
const bigOf = (bytes: Uint8Array) => BigInt(hex(bytes));
const bytesOf = (value: bigint, length = 32) =>
  Uint8Array.from(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'));
const reason = (verdict: CertificateVerdict) => (verdict.ok ? 'OK' : verdict.reason);
const mod = (a: bigint) => ((a % N) + N) % N;

test('the digest equals ethers’ independent EIP-712 implementation', () => {
  const ethersDigest = TypedDataEncoder.hash(
    {
      name: 'Palisade Price Oracle',
      version: '1',
      chainId: domain.chainId,
      verifyingContract: getAddress(hex(domain.verifyingContract)),
    },
    {
      PriceReport: [
        { name: 'feedId', type: 'bytes32' },
        { name: 'price', type: 'int64' },
        { name: 'confidence', type: 'uint64' },
        { name: 'exponent', type: 'int32' },
        { name: 'publishTime', type: 'uint64' },
        { name: 'epoch', type: 'uint64' },
      ],
    },
    { ...report, feedId: hex(report.feedId) },
  );
  assert.equal(hex(priceReportDigest(report, domain)), ethersDigest);
  assert.equal(hex(report.feedId), ethersKeccak(new TextEncoder().encode('BTC-USD')));
});

/** RFC 9380 §5.3.1 expand_message_xmd with SHA-256, written from the RFC, to cross-check H2. */
function expandMessageXmd(message: Uint8Array, dst: string, length: number): Uint8Array {
  const sha = (...parts: Uint8Array[]) => {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  };
  const dstPrime = Buffer.concat([Buffer.from(dst), Buffer.from([dst.length])]);
  const b0 = sha(new Uint8Array(64), message, Uint8Array.from([length >> 8, length & 0xff, 0]), dstPrime);
  const blocks = [sha(b0, Uint8Array.from([1]), dstPrime)];
  while (blocks.length * 32 < length) {
    const previous = blocks[blocks.length - 1]!;
    const mixed = b0.map((byte, i) => byte ^ previous[i]!);
    blocks.push(sha(mixed, Uint8Array.from([blocks.length + 1]), dstPrime));
  }
  return Uint8Array.from(Buffer.concat(blocks)).subarray(0, length);
}

test('the signature satisfies z·G = R + c·PK with the challenge recomputed independently', () => {
  const digest = priceReportDigest(report, domain);
  const R = certificate.signature.subarray(0, 33);
  const z = certificate.signature.subarray(33);
  const c = mod(bigOf(expandMessageXmd(Buffer.concat([R, groupKey, digest]), FROST_CHALLENGE_DST, 48)));
  assert.equal(c, frostChallenge(R, groupKey, digest));
  const left = tiny.pointFromScalar(z, true)!;
  const right = tiny.pointAdd(R, tiny.pointMultiply(groupKey, bytesOf(c), true)!, true)!;
  assert.deepEqual(left, right);
});

test('the EVM ecrecover trick recovers the address of R (what the Solidity verifier will do)', () => {
  const digest = priceReportDigest(report, domain);
  const R = certificate.signature.subarray(0, 33);
  const z = bigOf(certificate.signature.subarray(33));
  const c = frostChallenge(R, groupKey, digest);
  const px = bigOf(groupKey.subarray(1));
  const v = groupKey[0] === 0x03 ? 28 : 27;
  const h = mod(-z * px);
  const s = mod(-c * px);
  const recovered = tiny.recover(
    bytesOf(h),
    Buffer.concat([bytesOf(px), bytesOf(s)]),
    (v - 27) as 0 | 1,
    false,
  )!;
  const expected = getAddress(`0x${ethersKeccak(tiny.pointCompress(R, false).subarray(1)).slice(-40)}`);
  assert.equal(getAddress(`0x${ethersKeccak(recovered.subarray(1)).slice(-40)}`), expected);
  // ethers refuses high-s signatures, which the ecrecover precompile itself accepts; use it when s is low.
  if (s <= N / 2n) {
    assert.equal(
      recoverAddress(hex(bytesOf(h)), Signature.from({ r: hex(bytesOf(px)), s: hex(bytesOf(s)), v })),
      expected,
    );
  }
});

test('a certificate verifies under the group key and fails with any field changed', () => {
  assert.ok(verifyPriceCertificate(certificate, { epoch: 3, groupPublicKey: groupKey }));
  const variants: PriceCertificate[] = [
    { ...certificate, report: { ...report, feedId: feedIdOf('ETH-USD') } },
    { ...certificate, report: { ...report, price: report.price + 1n } },
    { ...certificate, report: { ...report, confidence: report.confidence + 1n } },
    { ...certificate, report: { ...report, exponent: -7 } },
    { ...certificate, report: { ...report, publishTime: report.publishTime + 1 } },
    { ...certificate, domain: { ...domain, chainId: 1 } },
    { ...certificate, domain: { ...domain, verifyingContract: new Uint8Array(20) } },
  ];
  for (const variant of variants)
    assert.equal(verifyPriceCertificate(variant, { epoch: 3, groupPublicKey: groupKey }), false);
  assert.equal(
    verifyPriceCertificate(
      { ...certificate, report: { ...report, epoch: 4 } },
      { epoch: 4, groupPublicKey: groupKey },
    ),
    false,
  );
  for (let i = 0; i < 65; i += 8) {
    const signature = new Uint8Array(certificate.signature);
    signature[i]! ^= 1;
    assert.equal(
      verifyPriceCertificate({ ...certificate, signature }, { epoch: 3, groupPublicKey: groupKey }),
      false,
    );
  }
  // Malformed values make verify return false, never throw.
  assert.equal(
    verifyPriceCertificate(
      { ...certificate, report: { ...report, price: -1n } },
      { epoch: 3, groupPublicKey: groupKey },
    ),
    false,
  );
  assert.equal(
    verifyPriceCertificate(
      { ...certificate, signature: new Uint8Array(3) },
      { epoch: 3, groupPublicKey: groupKey },
    ),
    false,
  );
});

test('encoding round-trips, and the registry refuses malformed, foreign and retired-epoch certificates', () => {
  const bytes = encodePriceCertificate(certificate);
  assert.deepEqual(decodePriceCertificate(bytes), certificate);
  const registry = createKeysetRegistry(domain);
  assert.equal(registry.verify(bytes).ok, false);
  registry.activate(3, groupKey);
  assert.equal(registry.verify(bytes).ok, true);
  assert.equal(reason(registry.verify(bytes.subarray(0, 50))), 'MALFORMED');
  const foreign = encodePriceCertificate(certify(report, { ...domain, chainId: 1 }));
  assert.equal(reason(registry.verify(foreign)), 'WRONG_DOMAIN');

  // Key rotation: a new DKG for epoch 4; the epoch-3 certificate is refused from then on.
  const next = runLocalDkg({ chainId: 7, epoch: 4, participants: 4, threshold: 3 });
  const nextReport = { ...report, epoch: 4 };
  const digest = priceReportDigest(nextReport, domain);
  const round1 = next.slice(1).map((key) => frostCommit(key));
  const commitments = round1.map((x) => x.commitment);
  const shares = new Map(
    next.slice(1).map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  const rotated = assemblePriceCertificate({
    report: nextReport,
    domain,
    publicPackage: next[0]!.public,
    commitments,
    shares,
  });
  assert.equal(reason(registry.verify(encodePriceCertificate(rotated))), 'EPOCH_UNKNOWN');
  registry.activate(4, next[0]!.groupPublicKey);
  assert.equal(registry.verify(encodePriceCertificate(rotated)).ok, true);
  assert.equal(reason(registry.verify(bytes)), 'EPOCH_RETIRED');
  assert.throws(() => registry.activate(4, groupKey));
  // The old keyset signing a report that claims the new epoch does not verify either.
  const forged = certify({ ...report, epoch: 4 }, domain);
  assert.equal(reason(registry.verify(encodePriceCertificate(forged))), 'BAD_SIGNATURE');
});
