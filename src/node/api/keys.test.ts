/**
 * `GET /v1/keys`: the keyset lifecycle a node holds, through its schema. A client that trusts only
 * the genesis keyset follows the served handover chain to the served current keyset; a tampered
 * chain stops where it was tampered with; a node without a keyset answers NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex } from '../../crypto/bytes.ts';
import { createEd25519Signer } from '../../crypto/ed25519.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare } from '../../crypto/frost.ts';
import { sha256 } from '../../crypto/hash.ts';
import { runLocalKeygen } from '../../crypto/keygen.ts';
import {
  encodeHandoverCertificate,
  followKeysetChain,
  handoverMessage,
} from '../../interop/handover-certificate.ts';
import type { CertificateDomain } from '../../interop/price-certificate.ts';
import { hex } from '../view.ts';
import { createFixtureNode } from './fixture-node.ts';
import { type KeyLifecycleJson, nextRefreshHeight } from './keys.ts';
import { createApiServer } from './server.ts';

const domain: CertificateDomain = { chainId: 7, verifyingContract: new Uint8Array(20) };
const signers = Array.from({ length: 4 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`keys route ${i}`))),
);
const keys = runLocalKeygen(
  {
    chainId: 7,
    epoch: 1,
    kind: 'dkg',
    dealerKeys: signers.map((s) => s.publicKey),
    recipientKeys: signers.map((s) => s.publicKey),
    threshold: 3,
  },
  signers.map((signer, i) => ({ dealer: i, recipient: i, signer })),
).map((result) => result.key!);

function sign(signing: readonly FrostKeyPackage[], digest: Uint8Array): Uint8Array {
  const chosen = signing.slice(0, 3);
  const round1 = chosen.map((k) => frostCommit(k));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    chosen.map((k, i) => [k.index, frostSignShare(k, round1[i]!.nonces, commitments, digest)]),
  );
  return frostAggregate(chosen[0]!.public, commitments, digest, shares);
}

/** Refresh keeps the group key: epochs 1 → 2 → 3 under one key, each handover signed by it. */
function lifecycle(): KeyLifecycleJson {
  const groupPublicKey = keys[0]!.groupPublicKey;
  const handovers = [1, 2].map((fromEpoch) => {
    const next = { epoch: fromEpoch + 1, groupPublicKey };
    const signature = sign(keys, handoverMessage(domain, fromEpoch, next));
    const encoded = encodeHandoverCertificate({
      domain,
      fromEpoch,
      toEpoch: fromEpoch + 1,
      groupPublicKey,
      signature,
    });
    return {
      fromEpoch,
      toEpoch: fromEpoch + 1,
      groupPublicKey: hex(groupPublicKey),
      signature: hex(signature),
      encoded: hex(encoded),
    };
  });
  return {
    height: 1234,
    epochBlocks: 600,
    epoch: 3,
    nextRefreshHeight: nextRefreshHeight(1234, 600),
    keyset: { epoch: 3, groupPublicKey: hex(groupPublicKey), threshold: 3, participants: 4 },
    signers: signers.map((s, index) => ({ index, publicKey: hex(s.publicKey) })),
    keygen: 'done',
    disqualified: [],
    refreshDisqualified: [{ epoch: 3, dealer: 1, reason: 'SILENT' }],
    refreshes: 2,
    refreshing: null,
    repair: { state: 'idle', epoch: null, repaired: 0, code: null, culprits: [] },
    certificates: 17,
    lastAssembled: { height: 1190, epoch: 3, signers: [0, 2, 3] },
    suspectedSigners: [1],
    handovers,
  };
}

function bytes(text: string): Uint8Array {
  const out = fromHex(text);
  assert.ok(out !== undefined);
  return out;
}

test('GET /v1/keys serves epoch, keyset, signers and a handover chain that leads from genesis to the current keyset', async () => {
  const node = createFixtureNode();
  const served = lifecycle();
  const app = createApiServer({ view: { ...node.view, keyLifecycle: () => served } });
  try {
    const response = await app.inject('/v1/keys');
    assert.equal(response.statusCode, 200);
    const body = response.json() as KeyLifecycleJson;
    assert.deepEqual(body, served);
    assert.equal(body.nextRefreshHeight, 1800);
    const genesis = { epoch: 1, groupPublicKey: keys[0]!.groupPublicKey };
    const verdict = followKeysetChain(
      genesis,
      body.handovers.map((h) => bytes(h.encoded)),
      domain,
    );
    assert.ok(verdict.ok);
    assert.equal(verdict.keyset.epoch, body.epoch);
    assert.equal(hex(verdict.keyset.groupPublicKey), body.keyset?.groupPublicKey);

    // A chain with its first link replaced by a replay of the second stops at that link.
    const replayed = [bytes(body.handovers[1]!.encoded), bytes(body.handovers[1]!.encoded)];
    const refused = followKeysetChain(genesis, replayed, domain);
    assert.equal(refused.ok, false);
    assert.equal(refused.ok ? -1 : refused.index, 0);
  } finally {
    await app.close();
  }
});

test('GET /v1/keys: a field outside the schema never leaves the node, and a node without a keyset answers NOT_FOUND', async () => {
  const node = createFixtureNode();
  const leaky = { ...lifecycle(), signingShare: '0x01' } as KeyLifecycleJson;
  const app = createApiServer({ view: { ...node.view, keyLifecycle: () => leaky } });
  const bare = createApiServer({ view: node.view });
  try {
    const body = (await app.inject('/v1/keys')).json();
    assert.equal('signingShare' in body, false);
    const missing = await bare.inject('/v1/keys');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'NOT_FOUND');
  } finally {
    await app.close();
    await bare.close();
  }
});

test('nextRefreshHeight: the next multiple of the period after the height; none without refresh', () => {
  assert.equal(nextRefreshHeight(0, 600), 600);
  assert.equal(nextRefreshHeight(599, 600), 600);
  assert.equal(nextRefreshHeight(600, 600), 1200);
  assert.equal(nextRefreshHeight(600, 0), null);
});
