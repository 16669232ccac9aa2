/**
 * State sync across eon boundaries (issue 14: the eon keyset follows the validator epochs). The
 * chain (./eon-chain-fixtures.ts): five validators, E = 20, V4 removed at boundary 20; eons 1, 2
 * and 3 recorded in blocks 1, 6 and 30; an order encrypted to eon 2 pending after block 24 (the
 * root boundary 40 commits), one encrypted to eon 3 in block 50. A validator that executed up to
 * height 10 (W_0) state-syncs the snapshot after block 42 (W_2), certified by block 58.
 *
 *   bug found      the boundary proofs opened the committed root as engine root and prices only;
 *                  with recorded eons (and pending batches) the root hashes more, so every offer
 *                  across a boundary of such a chain was refused (`bad-boundary`) and a far-behind
 *                  validator could never state-sync. The proofs now carry those digests.
 *   attacks        a proof whose fair-ordering digests are dropped, swapped or rewritten (to hide
 *                  a recorded eon or a pending batch) does not open the certified root;
 *   the sync       the installed snapshot's recorded eons are the network's (`recordedEons()`),
 *                  and the blocks above it, the eon-3 order among them, execute to the same roots.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  adoptChainSnapshot,
  createChainState,
  executeBlock,
  restoreChainSnapshot,
} from '../chain/block-rule.ts';
import type { ScheduledEon } from '../chain/eon-schedule.ts';
import { BlockCodec, CertificateCodec } from '../codec/consensus.ts';
import type { BoundaryProof, SnapshotOffer } from '../codec/node.ts';
import { toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { openSqliteStorage } from '../runtime/real/storage.ts';
import { createNodeApplication, STATE_ROOT_LAG_BLOCKS } from './app.ts';
import { EON_EPOCH_BLOCKS, eonChain, eonTrader, eonValidators } from './eon-chain-fixtures.ts';
import { boundaryProofOf, type OfferTrust, verifyOffer } from './state-sync.ts';
import { certificateFromJson } from './view.ts';

const SNAPSHOT = 42;
const TIP = 70;
const chain = eonChain(TIP, SNAPSHOT);
const root = mkdtempSync(join(tmpdir(), 'palisade-state-sync-eons-'));
after(() => rmSync(root, { recursive: true, force: true }));

const certificateAt = (height: number) => certificateFromJson(chain.details[height - 1]!.finalization);
const served = (height: number): BoundaryProof =>
  boundaryProofOf(
    {
      finalityProof: (h) => ({
        height: h,
        hash: new Uint8Array(0),
        block: BlockCodec.encode(chain.blockOf.get(h)!),
        certificate: certificateAt(h),
        descendants: [],
      }),
    },
    chain.proofs,
    height,
  )!;
const offerOf = (boundaries: BoundaryProof[]): SnapshotOffer => ({
  height: SNAPSHOT,
  snapshotBytes: chain.snapshot.length,
  snapshotHash: sha256(chain.snapshot),
  blocks: Array.from({ length: STATE_ROOT_LAG_BLOCKS + 1 }, (_, i) =>
    BlockCodec.encode(chain.blockOf.get(SNAPSHOT + i)!),
  ),
  finalization: CertificateCodec.encode(certificateAt(SNAPSHOT + STATE_ROOT_LAG_BLOCKS)),
  boundaries,
});
/** The asker: executed up to 10, it knows the genesis five. */
const atTen: OfferTrust = {
  processedHeight: 10,
  epoch: 1,
  epochBlocks: EON_EPOCH_BLOCKS,
  keys: eonValidators.map((s) => s.publicKey),
};
const eonsOf = (eons: readonly ScheduledEon[]) =>
  eons.map((e) => ({
    eon: e.eon,
    fromHeight: e.fromHeight,
    recordedAt: e.recordedAt,
    activation: toHex(e.activation),
    validators: e.validators.map(toHex),
    key: toHex(e.keyset.eonPublicKey.toBytes(true)),
  }));

describe('state sync across eon boundaries', () => {
  it('the boundary proofs open roots that hash recorded eons and pending batches', () => {
    // Boundary 40 commits the root after 24: eons 1 and 2 recorded, the eon-2 order of block 24 pending.
    assert.equal(served(40).fairParts.length, 2);
    assert.equal(served(20).fairParts.length, 1, 'the root after 4: eon 1 recorded, nothing pending');
    const check = verifyOffer(offerOf([served(20), served(40)]), atTen, chain.rules.chainId);
    assert.equal(check.status, 'valid', JSON.stringify(check));
    if (check.status !== 'valid') return;
    assert.deepEqual(
      check.offer.epochs.map((e) => e.epoch),
      [2],
    );
    assert.equal(toHex(check.offer.committedRoot), toHex(chain.roots.get(SNAPSHOT)!));
  });

  it('a proof without, with swapped or with rewritten fair-ordering digests is refused', () => {
    const refused = { status: 'invalid', reason: 'bad-boundary' };
    const at20 = served(20);
    const at40 = served(40);
    const check = (b40: BoundaryProof) => verifyOffer(offerOf([at20, b40]), atTen, chain.rules.chainId);
    // What the proofs carried before: the root read as engine root and prices only.
    assert.deepEqual(check({ ...at40, fairParts: [] }), refused);
    assert.deepEqual(
      verifyOffer(offerOf([{ ...at20, fairParts: [] }, at40]), atTen, chain.rules.chainId),
      refused,
    );
    // Hiding the pending batch, or the recorded eons, or reordering them.
    assert.deepEqual(check({ ...at40, fairParts: [at40.fairParts[1]!] }), refused);
    assert.deepEqual(check({ ...at40, fairParts: [at40.fairParts[0]!] }), refused);
    assert.deepEqual(check({ ...at40, fairParts: [at40.fairParts[1]!, at40.fairParts[0]!] }), refused);
    // Another eon schedule (the one boundary 20 saw) under boundary 40's root.
    assert.deepEqual(check({ ...at40, fairParts: [at40.fairParts[0]!, at20.fairParts[0]!] }), refused);
    const flipped = Uint8Array.from(at40.fairParts[1]!);
    flipped[0]! ^= 1;
    assert.deepEqual(check({ ...at40, fairParts: [at40.fairParts[0]!, flipped] }), refused);
    assert.equal(check(at40).status, 'valid', 'the control');
  });

  it('a validator that state-syncs into W_2 holds the recorded eons and runs the eon-3 order to the same roots', () => {
    const check = verifyOffer(offerOf([served(20), served(40)]), atTen, chain.rules.chainId);
    assert.equal(check.status, 'valid');
    if (check.status !== 'valid') return;
    // The application installs it as state sync does: refused unless it opens the certified root.
    const storage = openSqliteStorage({ dataDirectory: join(root, 'synced'), durability: 'off' });
    const app = createNodeApplication({
      chainId: chain.rules.chainId,
      validators: eonValidators.map((s) => s.publicKey),
      self: 3,
      engineGenesis: chain.rules.engineGenesis,
      assets: [],
      storage,
      wallClock: () => chain.rules.engineGenesis.startTimeMs,
      monotonicClock: () => 0,
      observe: () => undefined,
      fairOrdering: { rules: chain.rules.fairOrdering!, signer: eonValidators[3]! },
      limits: { snapshotIntervalBlocks: 1000 },
    });
    app.open();
    const installed = app.installSnapshot(chain.snapshot, {
      block: check.offer.block,
      digest: check.offer.digest,
      certificate: check.offer.certificate,
      committedRoot: check.offer.committedRoot,
    });
    assert.deepEqual(installed, { status: 'installed', height: SNAPSHOT });
    // The network's eons after 42: eon 2 (W_1, recorded at 6) and eon 3 (W_2, recorded at 30).
    const network = createChainState(chain.rules);
    for (let height = 1; height <= SNAPSHOT; height++) replay(network, height);
    assert.deepEqual(
      eonsOf(app.recordedEons()).map((e) => [e.eon, e.fromHeight, e.recordedAt]),
      [
        [2, 20, 6],
        [3, 40, 30],
      ],
    );
    assert.deepEqual(eonsOf(app.recordedEons()), eonsOf(network.eons ?? []));
    assert.equal(app.eonAt(SNAPSHOT + 1)?.eon, 3, 'the eon of the next height is W_2’s');
    storage.close();
    // The same snapshot restored by the block rule, and the blocks above it executed on both.
    const synced = createChainState(chain.rules);
    for (let height = 1; height <= 10; height++) replay(synced, height);
    const restored = restoreChainSnapshot(synced, chain.snapshot);
    assert.equal(toHex(restored.root), toHex(check.offer.committedRoot));
    adoptChainSnapshot(synced, restored);
    const balanceBefore = synced.engine.account(eonTrader.publicKey)!.balance;
    for (let height = SNAPSHOT + 1; height <= TIP; height++) {
      const ours = replay(synced, height);
      const theirs = replay(network, height);
      assert.equal(toHex(ours.root), toHex(chain.roots.get(height)!), `the synced root after ${height}`);
      assert.equal(toHex(theirs.root), toHex(ours.root));
      if (height === 50) assert.equal(ours.fair.admitted, 1, 'the eon-3 envelope is admitted');
      if (height === 51) {
        assert.equal(ours.fair.transactions.length, 1, 'and its order runs under eon 3’s key');
        assert.deepEqual(ours.fair.ids.map(toHex), theirs.fair.ids.map(toHex));
      }
      assert.deepEqual(eonsOf(synced.eons ?? []), eonsOf(network.eons ?? []));
    }
    assert.ok(synced.engine.account(eonTrader.publicKey)!.balance < balanceBefore, 'the order paid its fee');
  });
});

/** Executes the chain's block `height` on `state` as it was finalized (with its batch key). */
function replay(state: ReturnType<typeof createChainState>, height: number) {
  const batchKey = chain.batchKeyOf.get(height);
  return executeBlock(state, {
    height,
    payload: chain.blockOf.get(height)!.payload,
    ...(batchKey === undefined ? {} : { batchKey }),
  });
}
