/**
 * The light client against a Byzantine node: each forged answer is refused with its code and
 * changes nothing, the honest answer after it is accepted. The honest chain is built with the
 * validators' own block rule (src/chain/block-rule.ts) from the test genesis, signed by the real
 * validator keys; the Byzantine node holds one validator's key (f = 1 of 4) and every public datum.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STATE_ROOT_LAG_BLOCKS } from '../chain/block-rule.ts';
import { type Block, BlockCodec } from '../codec/consensus.ts';
import { VALIDATOR_CHANGE, ValidatorSetRecordCodec } from '../codec/execution.ts';
import { createValidatorSet, type ValidatorSet } from '../consensus/validators.ts';
import { bytesEqual, fromHex } from '../crypto/bytes.ts';
import { runLocalDkg } from '../crypto/dkg.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare } from '../crypto/frost.ts';
import { testSigner } from '../execution/fixtures.ts';
import { checkpointDigest } from '../interop/evm/certificates.ts';
import { encodeCheckpointCertificate } from '../interop/evm/checkpoint.ts';
import {
  decodeHandoverCertificate,
  encodeHandoverCertificate,
  handoverMessage,
  type Keyset,
} from '../interop/handover-certificate.ts';
import {
  type CertificateDomain,
  encodePriceCertificate,
  feedIdOf,
  priceReportDigest,
} from '../interop/price-certificate.ts';
import type { CheckpointJson } from './api/bridge.ts';
import { createFixtureNode } from './api/fixture-node.ts';
import type { KeyLifecycleJson } from './api/keys.ts';
import { startApiServer } from './api/server.ts';
import { finalized, honestChain, trader, validators } from './epoch-chain-fixtures.ts';
import {
  createLightClient,
  createLightClientDriver,
  type LightClient,
  type LightClientErrorCode,
} from './light-client.ts';
import type { ValidatorSetProofJson } from './validator-set-proofs.ts';
import { type BlockDetail, hex, type NodeView } from './view.ts';

const otherValidators = Array.from({ length: 4 }, (_, i) => testSigner(`light-other-validator-${i}`));
const domain: CertificateDomain = { chainId: 0, verifyingContract: new Uint8Array(20).fill(0x22) };

function frostSign(keys: FrostKeyPackage[], digest: Uint8Array, signers = 3): Uint8Array {
  const chosen = keys.slice(0, signers);
  const round1 = chosen.map((key) => frostCommit(key));
  const commitments = round1.map((entry) => entry.commitment);
  const shares = new Map(
    chosen.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  return frostAggregate(chosen[0]!.public, commitments, digest, shares);
}

const epoch1Keys = runLocalDkg({ chainId: 0, epoch: 1, participants: 4, threshold: 3 });
const epoch2Keys = runLocalDkg({ chainId: 0, epoch: 2, participants: 4, threshold: 3 });
const keysetOf = (keys: FrostKeyPackage[]): Keyset => ({
  epoch: keys[0]!.epoch,
  groupPublicKey: keys[0]!.groupPublicKey,
});

function lightClientFor(chainId: number, epochBlocks?: number, genesisSet = validators): LightClient {
  return createLightClient({
    chainId,
    validators: createValidatorSet(genesisSet.map((signer) => signer.publicKey)),
    keyset: keysetOf(epoch1Keys),
    keysetDomain: domain,
    ...(epochBlocks === undefined ? {} : { epochBlocks }),
  });
}

function refuses(code: LightClientErrorCode, run: () => unknown): void {
  assert.throws(run, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  });
}

const world = honestChain(2 * STATE_ROOT_LAG_BLOCKS + 6);

function decoded(detail: BlockDetail): Block {
  return BlockCodec.decode(Uint8Array.from(Buffer.from(detail.encoded.slice(2), 'hex')));
}

describe('light client: finality from genesis against a Byzantine node', () => {
  test('forged, misplaced and minority-signed blocks are refused; the honest one is accepted', () => {
    const light = lightClientFor(world.chainId);
    const [first, second] = world.details as [BlockDetail, BlockDetail];
    // A forged certificate: the honest block with one signature replaced by the Byzantine one's
    // signature over another digest.
    const forged = structuredClone(first);
    forged.finalization.votes[1]!.signature = hex(new Uint8Array(64).fill(7));
    refuses('BAD_CERTIFICATE', () => light.acceptBlock(forged));
    // The certificate of another height carried with this block.
    refuses('NOT_FINALIZE', () => light.acceptBlock({ ...first, finalization: second.finalization }));
    // A block of height 2 offered as the next one.
    refuses('WRONG_HEIGHT', () => light.acceptBlock(second));
    // A fork at height 1 signed by f = 1 validator (the Byzantine one) and by no one else.
    const forkBlock: Block = {
      ...decoded(first),
      payload: decoded(first).payload.slice(),
      proposer: 3,
      view: 1,
    };
    forkBlock.payload[forkBlock.payload.length - 1]! ^= 1;
    const minority = finalized(world.chainId, forkBlock, [validators[3]!], [3]);
    refuses('BAD_CERTIFICATE', () => light.acceptBlock(minority));
    // The same fork with f signatures padded to a quorum by repeating the signer's entry.
    const padded = structuredClone(minority);
    padded.finalization.votes = [0, 1, 2].map(() => ({ ...minority.finalization.votes[0]! }));
    refuses('BAD_CERTIFICATE', () => light.acceptBlock(padded));
    // A hash that does not match the encoding.
    refuses('HASH_MISMATCH', () => light.acceptBlock({ ...first, hash: second.hash }));
    // A certificate signed by a quorum of keys that are not the genesis validators.
    refuses('BAD_CERTIFICATE', () =>
      light.acceptBlock(finalized(world.chainId, decoded(first), otherValidators.slice(0, 3), [0, 1, 2])),
    );
    assert.equal(light.tip.height, 0, 'nothing was accepted');
    assert.equal(light.acceptBlock(first).height, 1);
    // A height-2 block that builds on another height 1 than the one followed does not link.
    const stray: Block = { ...decoded(second), parent: new Uint8Array(32).fill(5) };
    refuses('NOT_LINKED', () => light.acceptBlock(finalized(world.chainId, stray, [validators[3]!], [3])));
    assert.equal(light.acceptBlock(second).height, 2);
  });

  test('a block finalized through a descendant certificate verifies through the hash chain', () => {
    const light = lightClientFor(world.chainId);
    const [first, second, third] = world.details as [BlockDetail, BlockDetail, BlockDetail];
    const viaDescendants = {
      ...first,
      finalization: third.finalization,
      descendants: [second.encoded, third.encoded],
    };
    refuses('BAD_DESCENDANTS', () => light.acceptBlock({ ...viaDescendants, descendants: [third.encoded] }));
    assert.equal(light.acceptBlock(viaDescendants).height, 1);
  });
});

describe('light client: account state against committed roots', () => {
  const light = lightClientFor(world.chainId);
  for (const detail of world.details) light.acceptBlock(detail);
  const newest = world.details.length - STATE_ROOT_LAG_BLOCKS;

  test('a proof under the committed root is accepted; another root, a stale root and an uncommitted one are not', () => {
    const read = world.reads.get(newest)!;
    const opening = world.openings.get(newest)!;
    assert.equal(light.verifyAccount(trader.publicKey, read, opening), read);
    // The opening of another height's root (a true root, not the one committed at this height).
    refuses('ROOT_MISMATCH', () =>
      light.verifyAccount(trader.publicKey, read, {
        ...opening,
        engineStateRoot: new Uint8Array(32).fill(3),
      }),
    );
    // A proof that names another root than the opening.
    const otherRoot = structuredClone(read);
    otherRoot.proof!.stateRoot = hex(new Uint8Array(32).fill(9));
    refuses('ROOT_MISMATCH', () => light.verifyAccount(trader.publicKey, otherRoot, opening));
    // A balance the proof does not prove.
    const lied = structuredClone(read);
    lied.account!.balance = (BigInt(lied.account!.balance) + 1n).toString();
    refuses('BAD_STATE_PROOF', () => light.verifyAccount(trader.publicKey, lied, opening));
    // The proof of another account presented as this one's.
    refuses('BAD_STATE_PROOF', () => light.verifyAccount(validators[0]!.publicKey, read, opening));
    // A true, certified but stale root (height 0), hiding everything since.
    refuses('STALE_ROOT', () =>
      light.verifyAccount(trader.publicKey, world.reads.get(0)!, world.openings.get(0)!),
    );
    // The tip's state, whose root no finalized block has committed yet.
    const tipHeight = world.details.length;
    refuses('ROOT_NOT_COMMITTED', () =>
      light.verifyAccount(trader.publicKey, world.reads.get(tipHeight)!, world.openings.get(tipHeight)!),
    );
  });
});

describe('light client: price certificates and keyset handovers', () => {
  const report = {
    feedId: feedIdOf('BTC-USD'),
    price: 60_000_000_000n,
    confidence: 1_000_000n,
    exponent: -6,
    publishTime: 1_767_225_600,
    epoch: 1,
  };
  const certify = (keys: FrostKeyPackage[], epoch: number, on = domain) =>
    encodePriceCertificate({
      report: { ...report, epoch },
      domain: on,
      signature: frostSign(keys, priceReportDigest({ ...report, epoch }, on)),
    });
  const handover = (keys: FrostKeyPackage[], fromEpoch: number, next: Keyset) =>
    encodeHandoverCertificate({
      domain,
      fromEpoch,
      toEpoch: next.epoch,
      groupPublicKey: next.groupPublicKey,
      signature: frostSign(keys, handoverMessage(domain, fromEpoch, next)),
    });

  test('forged, foreign and old-keyset certificates are refused; handovers move the keyset', () => {
    const light = lightClientFor(world.chainId);
    assert.equal(light.verifyPriceCertificate(certify(epoch1Keys, 1)).report.price, report.price);
    refuses('BAD_PRICE_SIGNATURE', () => light.verifyPriceCertificate(certify(epoch2Keys, 1)));
    refuses('WRONG_DOMAIN', () =>
      light.verifyPriceCertificate(
        certify(epoch1Keys, 1, { chainId: 1, verifyingContract: domain.verifyingContract }),
      ),
    );
    refuses('MALFORMED', () => light.verifyPriceCertificate(new Uint8Array(10)));
    // A handover signed by the incoming keyset itself (not the current one) is refused.
    refuses('HANDOVER_REFUSED', () => light.followHandovers([handover(epoch2Keys, 1, keysetOf(epoch2Keys))]));
    assert.equal(light.keyset.epoch, 1);
    assert.equal(light.followHandovers([handover(epoch1Keys, 1, keysetOf(epoch2Keys))]).epoch, 2);
    // After the handover, the old keyset's certificates are of a past epoch.
    refuses('WRONG_EPOCH', () => light.verifyPriceCertificate(certify(epoch1Keys, 1)));
    assert.equal(light.verifyPriceCertificate(certify(epoch2Keys, 2)).report.epoch, 2);
  });
});

describe('light client: checkpoints', () => {
  test('a checkpoint of a followed block is accepted; of a fork, an unfollowed height or another keyset, not', () => {
    const light = lightClientFor(world.chainId);
    for (const detail of world.details.slice(0, 4)) light.acceptBlock(detail);
    const evmDomain: CertificateDomain = { chainId: 31337, verifyingContract: new Uint8Array(20).fill(0x44) };
    const checkpointOf = (height: number, blockHash: Uint8Array, keys = epoch1Keys, epoch = 1n) => {
      const checkpoint = {
        height: BigInt(height),
        blockHash,
        stateRoot: new Uint8Array(32).fill(1),
        withdrawalsRoot: new Uint8Array(32).fill(2),
        epoch,
      };
      return encodeCheckpointCertificate({
        domain: evmDomain,
        checkpoint,
        signature: frostSign(keys, checkpointDigest(checkpoint, evmDomain)),
      });
    };
    const hashAt = (height: number) =>
      Uint8Array.from(Buffer.from(world.details[height - 1]!.hash.slice(2), 'hex'));
    assert.equal(light.verifyCheckpoint(checkpointOf(3, hashAt(3)), evmDomain).checkpoint.height, 3n);
    // The keyset certified a block that is not the finalized one at height 3.
    refuses('CHECKPOINT_FORK', () => light.verifyCheckpoint(checkpointOf(3, hashAt(2)), evmDomain));
    refuses('CHECKPOINT_NOT_FOLLOWED', () => light.verifyCheckpoint(checkpointOf(9, hashAt(9)), evmDomain));
    refuses('BAD_CHECKPOINT', () =>
      light.verifyCheckpoint(checkpointOf(3, hashAt(3), epoch2Keys), evmDomain),
    );
    refuses('BAD_CHECKPOINT', () =>
      light.verifyCheckpoint(checkpointOf(3, hashAt(3)), { ...evmDomain, chainId: 1 }),
    );
  });
});

describe('light client driver against the fixture node on 127.0.0.1', () => {
  test('follows the served chain from genesis and verifies its price certificates', async (t) => {
    const node = createFixtureNode({ traders: 1 });
    const api = await startApiServer({ view: node.view });
    t.after(() => api.close());
    for (let i = 0; i < 5; i++) node.finalizeBlock({ priceUsdc: 60_000 + i });
    const validatorSet: ValidatorSet = node.validatorSet;
    const light = createLightClient({
      chainId: node.chainId,
      validators: validatorSet,
      keyset: node.keyset,
      keysetDomain: { chainId: node.chainId, verifyingContract: new Uint8Array(20).fill(0x11) },
    });
    const driver = createLightClientDriver(light, { url: api.url });
    assert.equal(await driver.sync(), 5);
    assert.equal(light.tip.height, 5);
    const certificates = await driver.priceCertificates();
    assert.ok(certificates.length >= 1);
    // The certificate in force at an earlier height is a different one, and verifies the same way.
    const [past] = await driver.priceCertificates({ height: 2 });
    assert.ok(past !== undefined && past.report.price !== certificates[0]!.report.price);
    assert.ok(past.report.publishTime <= certificates[0]!.report.publishTime);
    // A light client holding another genesis refuses the same node's chain.
    const misled = createLightClient({
      chainId: node.chainId,
      validators: createValidatorSet(otherValidators.map((signer) => signer.publicKey)),
      keyset: node.keyset,
      keysetDomain: { chainId: node.chainId, verifyingContract: new Uint8Array(20).fill(0x11) },
    });
    await assert.rejects(createLightClientDriver(misled, { url: api.url }).sync(), {
      code: 'BAD_CERTIFICATE',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Validator-set changes: five genesis validators, epochs of 20 blocks, governance removes
// validator 0 at height 2, so boundary 20 (whose block commits the root after 4) changes the set;
// boundary 40 changes nothing.

const EPOCH = 20;
const setValidators = Array.from({ length: 5 }, (_, i) => testSigner(`light-set-validator-${i}`));
const changing = honestChain(45, {
  signers: setValidators,
  epochBlocks: EPOCH,
  change: { atHeight: 2, op: 'remove', signer: setValidators[0]! },
});
const proofAt = (boundary: number) => changing.proofs.proof(boundary)!;
const followTo = (light: LightClient, height: number) => {
  while (light.tip.height < height) {
    light.acceptBlock(changing.details[light.tip.height]!);
    const pending = light.pendingBoundary;
    if (pending !== undefined && light.tip.height < height) light.acceptValidatorSet(proofAt(pending));
  }
};

describe('light client: finality across validator-set changes', () => {
  test('the next set comes from the record the boundary block commits; the old set no longer signs', () => {
    const light = lightClientFor(changing.chainId, EPOCH, setValidators);
    followTo(light, EPOCH);
    assert.equal(light.pendingBoundary, EPOCH);
    const next = changing.details[EPOCH]!;
    // Withheld proof: nothing after the boundary is accepted, however well signed.
    refuses('VALIDATOR_SET_PENDING', () => light.acceptBlock(next));
    // The old set (4 of its 5: a quorum of it) signs block 21 after the change.
    const byOldSet = finalized(
      changing.chainId,
      changing.blockOf.get(EPOCH + 1)!,
      setValidators.slice(0, 4),
      [0, 1, 2, 3],
    );
    // A proof of another boundary, and a true proof under another (later, also certified) root.
    refuses('NO_BOUNDARY_PENDING', () => light.acceptValidatorSet(proofAt(2 * EPOCH)));
    refuses('ROOT_MISMATCH', () =>
      light.acceptValidatorSet({
        ...proofAt(2 * EPOCH),
        boundaryHeight: EPOCH,
        height: proofAt(EPOCH).height,
      }),
    );
    // A forged set change: the record rewritten (no pending removal; an attacker added) under the
    // true root and its true proof.
    const honest = proofAt(EPOCH);
    const record = ValidatorSetRecordCodec.decode(fromHex(honest.record)!);
    assert.equal(record.pending.length, 1, 'the root after 4 shows the change pending for 20');
    const noChange = hex(ValidatorSetRecordCodec.encode({ ...record, pending: [] }));
    refuses('BAD_STATE_PROOF', () => light.acceptValidatorSet({ ...honest, record: noChange }));
    const attacker = testSigner('light-set-attacker');
    const addsAttacker = hex(
      ValidatorSetRecordCodec.encode({
        ...record,
        pending: [
          {
            ...record.pending[0]!,
            change: {
              op: VALIDATOR_CHANGE.add,
              publicKey: attacker.publicKey,
              p2p: new TextEncoder().encode('1.2.3.4:1'),
              api: new Uint8Array(0),
            },
          },
        ],
      }),
    );
    refuses('BAD_STATE_PROOF', () => light.acceptValidatorSet({ ...honest, record: addsAttacker }));
    refuses('MALFORMED', () => light.acceptValidatorSet({ ...honest, proof: '0x00' }));
    assert.equal(light.validators.epoch, 1, 'nothing changed');
    assert.equal(light.pendingBoundary, EPOCH);

    const proven = light.acceptValidatorSet(honest);
    assert.equal(proven.changed, true);
    assert.equal(proven.epoch, 2);
    assert.deepEqual(
      proven.set.publicKeys.map(hex),
      setValidators.slice(1).map((signer) => hex(signer.publicKey)),
    );
    refuses('BAD_CERTIFICATE', () => light.acceptBlock(byOldSet));
    // The removed validator with f = 1 current member: no quorum of the new set.
    refuses('BAD_CERTIFICATE', () =>
      light.acceptBlock(
        finalized(
          changing.chainId,
          changing.blockOf.get(EPOCH + 1)!,
          [setValidators[0]!, setValidators[1]!, setValidators[2]!],
          [0, 1, 2],
        ),
      ),
    );
    assert.equal(light.acceptBlock(next).epoch, 2);
    // Boundary 40 changes nothing: the same set, proven again.
    followTo(light, 2 * EPOCH);
    const same = light.acceptValidatorSet(proofAt(2 * EPOCH));
    assert.equal(same.changed, false);
    assert.equal(same.epoch, 2);
    followTo(light, 45);
    assert.equal(light.tip.height, 45);
  });

  test('a boundary block certified only through a descendant of the next epoch cannot be checked yet', () => {
    const light = lightClientFor(changing.chainId, EPOCH, setValidators);
    followTo(light, EPOCH - 1);
    const boundaryBlock = changing.details[EPOCH - 1]!;
    const descendant = changing.details[EPOCH]!;
    refuses('UNKNOWN_EPOCH', () =>
      light.acceptBlock({
        ...boundaryBlock,
        finalization: descendant.finalization,
        descendants: [descendant.encoded],
      }),
    );
    assert.equal(light.acceptBlock(boundaryBlock).height, EPOCH);
  });

  test('a light client without epochs refuses the new set’s blocks rather than guess', () => {
    const light = lightClientFor(changing.chainId, undefined, setValidators);
    for (const detail of changing.details.slice(0, EPOCH)) light.acceptBlock(detail);
    // Three of the new set at its indices are not a quorum (4) of the genesis five.
    refuses('BAD_CERTIFICATE', () => light.acceptBlock(changing.details[EPOCH]!));
  });
});

// ---------------------------------------------------------------------------------------------
// The driver over several nodes on 127.0.0.1: each serves the fixture node's API with the blocks,
// boundary proofs, handovers and checkpoints of a world given to it, honest or not.

type Served = {
  height: number;
  block?: (height: number) => BlockDetail | undefined;
  proof?: (height: number) => ValidatorSetProofJson | undefined;
  keys?: () => KeyLifecycleJson;
  checkpoint?: (height: number | 'latest') => CheckpointJson | undefined;
};

async function serve(t: { after(fn: () => unknown): void }, served: Served): Promise<string> {
  const fixture = createFixtureNode({ traders: 1 });
  const view: NodeView = {
    ...fixture.view,
    status: async () => ({
      ...(await fixture.view.status()),
      chainId: changing.chainId,
      height: served.height,
    }),
    block: (height) => (served.block ?? ((h) => changing.details[h - 1]))(height),
    validatorSetProof: (height) => (served.proof ?? ((h) => changing.proofs.proof(h)))(height),
    ...(served.keys === undefined ? {} : { keyLifecycle: served.keys }),
    ...(served.checkpoint === undefined ? {} : { checkpoint: served.checkpoint }),
  };
  const api = await startApiServer({ view });
  t.after(() => api.close());
  return api.url;
}

const honestNode: Served = { height: changing.details.length };

describe('light client driver over several nodes, some lying', () => {
  test('one node forges the set change, one withholds the boundary proof: the driver proves it from the honest one', async (t) => {
    const forger = await serve(t, {
      ...honestNode,
      // A true proof under another root, offered for boundary 20.
      proof: (h) => ({
        ...changing.proofs.proof(2 * EPOCH)!,
        boundaryHeight: h,
        height: changing.proofs.proof(h)!.height,
      }),
    });
    const withholder = await serve(t, { ...honestNode, proof: () => undefined });
    const honest = await serve(t, honestNode);
    const light = lightClientFor(changing.chainId, EPOCH, setValidators);
    const driver = createLightClientDriver(light, {
      nodes: [{ url: forger }, { url: withholder }, { url: honest }],
    });
    assert.equal(await driver.sync(), 45);
    assert.equal(light.validators.epoch, 2);
    const faults = driver
      .faults()
      .map(
        (f) =>
          `${f.node === forger ? 'forger' : f.node === withholder ? 'withholder' : 'honest'} ${f.asked} ${f.code}`,
      );
    assert.deepEqual(faults, [
      'forger validator set after 20 ROOT_MISMATCH',
      'withholder validator set after 20 BOUNDARY_NOT_FOUND',
      'withholder validator set after 40 BOUNDARY_NOT_FOUND',
    ]);
  });

  test('a node serving the old set’s certificate after the change is set aside; alone, it is refused', async (t) => {
    const oldSetBlock = finalized(
      changing.chainId,
      changing.blockOf.get(EPOCH + 1)!,
      setValidators.slice(0, 4),
      [0, 1, 2, 3],
    );
    const stale = await serve(t, {
      ...honestNode,
      block: (h) => (h === EPOCH + 1 ? oldSetBlock : changing.details[h - 1]),
    });
    const honest = await serve(t, honestNode);
    const light = lightClientFor(changing.chainId, EPOCH, setValidators);
    const driver = createLightClientDriver(light, { nodes: [{ url: stale }, { url: honest }] });
    assert.equal(await driver.sync(), 45);
    assert.deepEqual(
      driver.faults().map((f) => [f.node === stale, f.asked, f.code]),
      [[true, 'block 21', 'BAD_CERTIFICATE']],
    );
    const alone = lightClientFor(changing.chainId, EPOCH, setValidators);
    await assert.rejects(createLightClientDriver(alone, { url: stale }).sync(), { code: 'BAD_CERTIFICATE' });
    assert.equal(alone.tip.height, EPOCH, 'it kept what verified, nothing after');
  });

  test('a node that claims a height it cannot serve: a typed error, never a block that does not verify', async (t) => {
    const boaster = await serve(t, { ...honestNode, height: 1_000 });
    const honest = await serve(t, honestNode);
    const light = lightClientFor(changing.chainId, EPOCH, setValidators);
    const driver = createLightClientDriver(light, { nodes: [{ url: boaster }, { url: honest }] });
    await assert.rejects(driver.sync(), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'UNAVAILABLE');
      return true;
    });
    assert.equal(light.tip.height, 45);
    // Every node unreachable: typed as well.
    const nowhere = createLightClientDriver(lightClientFor(changing.chainId, EPOCH, setValidators), {
      nodes: [{ url: 'http://127.0.0.1:9' }, { url: 'http://127.0.0.1:9' }],
    });
    await assert.rejects(nowhere.sync(), { code: 'UNAVAILABLE' });
  });
});

describe('light client driver: the keyset’s handover chain and checkpoints from several nodes', () => {
  const epoch3Keys = runLocalDkg({ chainId: 0, epoch: 3, participants: 4, threshold: 3 });
  const handover = (keys: FrostKeyPackage[], fromEpoch: number, next: Keyset, signers = 3) =>
    encodeHandoverCertificate({
      domain,
      fromEpoch,
      toEpoch: next.epoch,
      groupPublicKey: next.groupPublicKey,
      signature: frostSign(keys, handoverMessage(domain, fromEpoch, next), signers),
    });
  const lifecycle = (handovers: Uint8Array[]): KeyLifecycleJson => ({
    height: 45,
    epochBlocks: EPOCH,
    epoch: 3,
    nextRefreshHeight: 60,
    keyset: {
      epoch: 3,
      groupPublicKey: hex(keysetOf(epoch3Keys).groupPublicKey),
      threshold: 3,
      participants: 4,
    },
    signers: [],
    keygen: 'done',
    disqualified: [],
    refreshDisqualified: [],
    refreshes: 2,
    refreshing: null,
    repair: { state: 'idle', epoch: null, repaired: 0, code: null, culprits: [] },
    lastAssembled: null,
    suspectedSigners: [],
    certificates: 0,
    handovers: handovers.map((bytes) => {
      const decoded = decodeHandoverCertificate(bytes);
      return {
        fromEpoch: decoded.fromEpoch,
        toEpoch: decoded.toEpoch,
        groupPublicKey: hex(decoded.groupPublicKey),
        signature: hex(decoded.signature),
        encoded: hex(bytes),
      };
    }),
  });
  const oneToTwo = handover(epoch1Keys, 1, keysetOf(epoch2Keys));
  const twoToThree = handover(epoch2Keys, 2, keysetOf(epoch3Keys));

  test('a handover by the replaced keyset or below its threshold is refused; withholding holds nobody back', async (t) => {
    // The keyset of epoch 1 (handed over, its holders possibly removed) signs epoch 2 → 3.
    const byReplaced = handover(epoch1Keys, 2, keysetOf(epoch3Keys));
    const direct = lightClientFor(world.chainId);
    direct.followHandovers([oneToTwo]);
    refuses('HANDOVER_REFUSED', () => direct.followHandovers([byReplaced]));
    // Two shares of a 3-of-4 keyset cannot make its signature: the aggregator refuses (RFC 9591
    // §5.3), and anything else two holders produce is not the group's (the BAD_SIGNATURE above).
    assert.throws(() => handover(epoch2Keys, 2, keysetOf(epoch3Keys), 2), /NOT_ENOUGH_SIGNERS/);
    assert.equal(direct.keyset.epoch, 2, 'nothing changed');

    const liar = await serve(t, { ...honestNode, keys: () => lifecycle([oneToTwo, byReplaced]) });
    const withholder = await serve(t, { ...honestNode, keys: () => lifecycle([oneToTwo]) });
    const honest = await serve(t, { ...honestNode, keys: () => lifecycle([oneToTwo, twoToThree]) });
    const light = lightClientFor(world.chainId);
    const driver = createLightClientDriver(light, {
      nodes: [{ url: liar }, { url: withholder }, { url: honest }],
    });
    const keyset = await driver.followKeyset();
    assert.equal(keyset.epoch, 3);
    assert.ok(bytesEqual(keyset.groupPublicKey, keysetOf(epoch3Keys).groupPublicKey));
    assert.deepEqual(
      driver.faults().map((f) => [f.node === liar, f.code]),
      [[true, 'HANDOVER_REFUSED']],
    );
    // A single lying node: refused, typed, and the keyset stays where the verified chain left it.
    const alone = lightClientFor(world.chainId);
    await assert.rejects(createLightClientDriver(alone, { url: liar }).followKeyset(), {
      code: 'UNAVAILABLE',
    });
    assert.equal(alone.keyset.epoch, 1);
  });

  test('a checkpoint of a fork from one node is set aside; the followed block’s from another verifies', async (t) => {
    const evmDomain: CertificateDomain = { chainId: 31337, verifyingContract: new Uint8Array(20).fill(0x44) };
    const hashAt = (height: number) => fromHex(changing.details[height - 1]!.hash)!;
    const checkpointJson = (height: number, blockHash: Uint8Array): CheckpointJson => {
      const checkpoint = {
        height: BigInt(height),
        blockHash,
        stateRoot: changing.openings.get(height)!.engineStateRoot,
        withdrawalsRoot: new Uint8Array(32).fill(2),
        epoch: 1n,
      };
      const encoded = encodeCheckpointCertificate({
        domain: evmDomain,
        checkpoint,
        signature: frostSign(epoch1Keys, checkpointDigest(checkpoint, evmDomain)),
      });
      return {
        height,
        blockHash: hex(blockHash),
        stateRoot: hex(checkpoint.stateRoot),
        withdrawalsRoot: hex(checkpoint.withdrawalsRoot),
        epoch: 1,
        chainId: evmDomain.chainId,
        verifyingContract: hex(evmDomain.verifyingContract),
        withdrawals: 0,
        encoded: hex(encoded),
      };
    };
    // The keyset itself (f + 1 shares colluding would do) certified another block at height 10.
    const forked = await serve(t, { ...honestNode, checkpoint: () => checkpointJson(10, hashAt(9)) });
    const honest = await serve(t, { ...honestNode, checkpoint: () => checkpointJson(10, hashAt(10)) });
    const light = lightClientFor(changing.chainId, EPOCH, setValidators);
    const driver = createLightClientDriver(light, { nodes: [{ url: forked }, { url: honest }] });
    // Not followed yet: refused from both, typed.
    await assert.rejects(driver.checkpoint(10, evmDomain), { code: 'UNAVAILABLE' });
    await driver.sync();
    const certified = await driver.checkpoint(10, evmDomain);
    assert.equal(certified.checkpoint.height, 10n);
    assert.ok(driver.faults().some((f) => f.node === forked && f.code === 'CHECKPOINT_FORK'));
    // The certified state root is the one finality committed (the block at 26 commits the root after 10).
    const opening = changing.openings.get(10)!;
    const encoded = fromHex(checkpointJson(10, hashAt(10)).encoded)!;
    assert.equal(light.verifyCheckpoint(encoded, evmDomain, opening).checkpoint.height, 10n);
    refuses('ROOT_MISMATCH', () => light.verifyCheckpoint(encoded, evmDomain, changing.openings.get(11)!));
  });
});
