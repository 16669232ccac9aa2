import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getAddress, TypedDataEncoder } from 'ethers';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare } from '../crypto/frost.ts';
import { sha256 } from '../crypto/hash.ts';
import { type KeygenRole, runLocalKeygen } from '../crypto/keygen.ts';
import {
  decodeHandoverCertificate,
  encodeHandoverCertificate,
  followHandover,
  followKeysetChain,
  handoverMessage,
  type Keyset,
} from './handover-certificate.ts';
import {
  type CertificateDomain,
  createKeysetRegistry,
  encodePriceCertificate,
  feedIdOf,
  type PriceReport,
  priceReportDigest,
} from './price-certificate.ts';

const domain: CertificateDomain = {
  chainId: 42161,
  verifyingContract: Uint8Array.from(Buffer.from('5FbDB2315678afecb367f032d93F642f64180aa3', 'hex')),
};
const signers = Array.from({ length: 8 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`handover ${i}`))),
);

function dkg(epoch: number, offset: number): FrostKeyPackage[] {
  const set = signers.slice(offset, offset + 4);
  const keys = set.map((s) => s.publicKey);
  return runLocalKeygen(
    { chainId: 7, epoch, kind: 'dkg', dealerKeys: keys, recipientKeys: keys, threshold: 3 },
    set.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  ).map((r) => r.key!);
}

function sign(keys: FrostKeyPackage[], digest: Uint8Array): Uint8Array {
  const chosen = keys.slice(0, 3);
  const round1 = chosen.map((k) => frostCommit(k));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    chosen.map((k, i) => [k.index, frostSignShare(k, round1[i]!.nonces, commitments, digest)]),
  );
  return frostAggregate(chosen[0]!.public, commitments, digest, shares);
}

function handover(signing: FrostKeyPackage[], fromEpoch: number, next: Keyset, on = domain): Uint8Array {
  return encodeHandoverCertificate({
    domain: on,
    fromEpoch,
    toEpoch: next.epoch,
    groupPublicKey: next.groupPublicKey,
    signature: sign(signing, handoverMessage(on, fromEpoch, next)),
  });
}

const keyset = (keys: FrostKeyPackage[]): Keyset => ({
  epoch: keys[0]!.epoch,
  groupPublicKey: keys[0]!.groupPublicKey,
});
const epoch1 = dkg(1, 0);
// Epoch 2: a new DKG among validators 2..5 (a new group key).
const epoch2 = dkg(2, 2);
// Epoch 3: epoch 2's keyset reshared to validators 4..7 keeps epoch 2's group key.
const roles: KeygenRole[] = [];
for (let i = 0; i < 4; i++)
  roles.push({
    dealer: i,
    ...(i >= 2 ? { recipient: i - 2 } : {}),
    signer: signers[i + 2]!,
    previousKey: epoch2[i]!,
  });
for (let j = 2; j < 4; j++) roles.push({ recipient: j, signer: signers[j + 4]! });
const epoch3 = runLocalKeygen(
  {
    chainId: 7,
    epoch: 3,
    kind: 'reshare',
    dealerKeys: signers.slice(2, 6).map((s) => s.publicKey),
    recipientKeys: signers.slice(4, 8).map((s) => s.publicKey),
    threshold: 3,
    previous: epoch2[0]!.public,
  },
  roles,
)
  .filter((r) => r.key !== undefined)
  .map((r) => r.key!)
  .sort((a, b) => a.index - b.index);
const h12 = handover(epoch1, 1, keyset(epoch2));
const h23 = handover(epoch2, 2, keyset(epoch3));

test('the handover digest is EIP-712 KeysetHandover in the Palisade Verifier domain (checked with ethers)', () => {
  const next = keyset(epoch2);
  const expected = TypedDataEncoder.hash(
    {
      name: 'Palisade Verifier',
      version: '1',
      chainId: domain.chainId,
      verifyingContract: getAddress(`0x${toHex(domain.verifyingContract)}`),
    },
    {
      KeysetHandover: [
        { name: 'fromEpoch', type: 'uint64' },
        { name: 'toEpoch', type: 'uint64' },
        { name: 'groupPublicKey', type: 'bytes' },
      ],
    },
    { fromEpoch: 1, toEpoch: 2, groupPublicKey: next.groupPublicKey },
  );
  assert.equal(`0x${toHex(handoverMessage(domain, 1, next))}`, expected);
  const decoded = decodeHandoverCertificate(h12);
  assert.equal(decoded.toEpoch, 2);
  assert.equal(toHex(encodeHandoverCertificate(decoded)), toHex(h12), 'the codec round-trips');
});

test('a verifier holding only the genesis key follows the chain 1 → 2 → 3 (a new DKG, then a resharing)', () => {
  const verdict = followKeysetChain(keyset(epoch1), [h12, h23], domain);
  assert.ok(verdict.ok);
  assert.equal(verdict.keyset.epoch, 3);
  assert.equal(toHex(verdict.keyset.groupPublicKey), toHex(epoch3[0]!.groupPublicKey));
});

test('forged handovers are refused: another key, a changed group key, another domain', () => {
  const impostor = dkg(1, 4);
  const forged = handover(impostor, 1, { epoch: 2, groupPublicKey: impostor[0]!.groupPublicKey });
  assert.deepEqual(pick(followKeysetChain(keyset(epoch1), [forged], domain)), {
    ok: false,
    index: 0,
    reason: 'BAD_SIGNATURE',
  });
  const changed = decodeHandoverCertificate(h12);
  const swapped = encodeHandoverCertificate({ ...changed, groupPublicKey: impostor[0]!.groupPublicKey });
  assert.equal(pick(followKeysetChain(keyset(epoch1), [swapped], domain)).reason, 'BAD_SIGNATURE');
  const elsewhere = handover(epoch1, 1, keyset(epoch2), {
    chainId: 1,
    verifyingContract: domain.verifyingContract,
  });
  assert.equal(pick(followKeysetChain(keyset(epoch1), [elsewhere], domain)).reason, 'WRONG_DOMAIN');
  assert.equal(
    pick(followKeysetChain(keyset(epoch1), [new Uint8Array([1, 0x04, 0x50, 0])], domain)).reason,
    'MALFORMED',
  );
});

test('a validator-set change: the handover to the new set signed by the new keyset alone is refused', () => {
  // Epoch 2's set (a new DKG among validators 2..5) certifies its own group key: no verifier
  // holding epoch 1 may follow it, only the outgoing keyset's signature counts.
  const selfSigned = handover(epoch2, 1, keyset(epoch2));
  assert.deepEqual(pick(followKeysetChain(keyset(epoch1), [selfSigned], domain)), {
    ok: false,
    index: 0,
    reason: 'BAD_SIGNATURE',
  });
  // (A resharing keeps the group key, so the reshared set signs under the key verifiers already
  // hold: there the outgoing and incoming keys are one, and the old set's shares are dead.)
  assert.ok(followKeysetChain(keyset(epoch1), [h12, h23], domain).ok);
});

test('replayed and skipping handovers are refused, and the chain stops at the last good keyset', () => {
  const replay = followKeysetChain(keyset(epoch1), [h12, h23, h12], domain);
  assert.deepEqual(pick(replay), { ok: false, index: 2, reason: 'NOT_FROM_CURRENT' });
  assert.equal(replay.ok ? -1 : replay.keyset.epoch, 3);
  // Epoch 1's keyset signs a jump straight to an epoch-4 key: refused once epoch 2 is current.
  const skip = handover(epoch1, 1, { epoch: 4, groupPublicKey: dkg(4, 4)[0]!.groupPublicKey });
  assert.equal(pick(followKeysetChain(keyset(epoch1), [h12, skip], domain)).reason, 'NOT_FROM_CURRENT');
  assert.equal(pick(followKeysetChain(keyset(epoch1), [h23], domain)).reason, 'NOT_FROM_CURRENT');
});

test('a consumer registry follows a handover, then refuses the retired epoch’s price certificates', () => {
  const registry = createKeysetRegistry(domain);
  registry.activate(1, epoch1[0]!.groupPublicKey);
  const report: PriceReport = {
    feedId: feedIdOf('BTC-USD'),
    price: 100n,
    confidence: 1n,
    exponent: -2,
    publishTime: 1,
    epoch: 1,
  };
  const old = encodePriceCertificate({
    report,
    domain,
    signature: sign(epoch1, priceReportDigest(report, domain)),
  });
  assert.equal(registry.verify(old).ok, true);
  assert.equal(followHandover(registry, handover(dkg(1, 4), 1, keyset(epoch2)), domain).ok, false);
  assert.equal(registry.activeEpoch, 1, 'a refused handover changes nothing');
  assert.equal(followHandover(registry, h12, domain).ok, true);
  assert.equal(registry.activeEpoch, 2);
  assert.equal(registry.verify(old).ok, false);
  const fresh = { ...report, epoch: 2 };
  const current = encodePriceCertificate({
    report: fresh,
    domain,
    signature: sign(epoch2, priceReportDigest(fresh, domain)),
  });
  assert.equal(registry.verify(current).ok, true);
  assert.equal(followHandover(registry, h12, domain).ok, false, 'the same handover twice is refused');
});

function pick(verdict: ReturnType<typeof followKeysetChain>) {
  return verdict.ok ? { ok: true } : { ok: false, index: verdict.index, reason: verdict.reason };
}
