/**
 * The verifier's check of an account tree checkpoint (src/node/privacy.ts): accepted only when its
 * opening is the node state root the followed chain committed at that height, the record is under
 * the opened engine root and the mark table is the committed one. The light client here is the
 * committed-root half of src/node/light-client.ts (its finality following is tested there).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeStateRoot, nodeStateRootFairParts } from '../chain/block-rule.ts';
import { AccountTreeRecordCodec } from '../codec/account-tree.ts';
import type { PendingBatch } from '../codec/snapshot.ts';
import { fromHex, toHex } from '../crypto/bytes.ts';
import { ownerCommitment, syncPoseidon } from '../crypto/poseidon-tree.ts';
import { fieldToBytes } from '../execution/account-tree.ts';
import { createEngine } from '../execution/engine.ts';
import { createTransactionBuilder, testGenesis, testSigner, USDC } from '../execution/fixtures.ts';
import type { LightClient } from './light-client.ts';
import {
  AccountTreeCheckpointError,
  createPrivacyCheckpoints,
  verifyAccountTreeCheckpoint,
} from './privacy.ts';

const alice = testSigner('privacy-alice');
const genesis = testGenesis({ traders: [alice] });
const engine = createEngine(genesis);
const txs = createTransactionBuilder();
const checkpoints = createPrivacyCheckpoints(
  () => engine,
  () => [],
);
const roots = new Map<number, Uint8Array>();
for (let height = 1; height <= 3; height++) {
  const timeMs = genesis.startTimeMs + height * 1000;
  engine.applyBlock({
    height,
    timeMs,
    transactions:
      height === 1
        ? [
            txs.next(alice, {
              kind: 'registerCommitment',
              value: { commitment: fieldToBytes(ownerCommitment(syncPoseidon, 5n)) },
            }),
          ]
        : [],
    oracle: [
      { underlyingId: 1, price: 60_000 * USDC, confidence: USDC, publishTimeMs: timeMs, stale: false },
    ],
  });
  checkpoints.record();
  roots.set(height, nodeStateRoot(engine.stateRoot(), []));
}
const light = { committedRoot: (height: number) => roots.get(height) } as unknown as LightClient;

function refused(code: string, run: () => unknown): void {
  assert.throws(run, (error: unknown) => error instanceof AccountTreeCheckpointError && error.code === code);
}

test('a checkpoint whose opening is the committed root verifies; anything else is refused', () => {
  const at2 = checkpoints.checkpoint(2)!;
  const tree = verifyAccountTreeCheckpoint(light, 2, at2);
  assert.equal(tree.leaves, 1);
  assert.equal(tree.series.length, 20);
  // A node serving another height's (true) checkpoint for height 2.
  refused('OPENING_MISMATCH', () => verifyAccountTreeCheckpoint(light, 2, checkpoints.checkpoint(3)!));
  // A record with another account root, its proof unchanged.
  const record = AccountTreeRecordCodec.decode(fromHex(at2.record)!);
  const forged = AccountTreeRecordCodec.encode({ ...record, root: fieldToBytes(12345n) });
  refused('BAD_STATE_PROOF', () =>
    verifyAccountTreeCheckpoint(light, 2, { ...at2, record: `0x${toHex(forged)}` }),
  );
  // Another mark table (a mark moved) than the one the record commits.
  const table = fromHex(at2.markTable)!;
  table[table.length - 1]! ^= 1;
  refused('MARK_TABLE_MISMATCH', () =>
    verifyAccountTreeCheckpoint(light, 2, { ...at2, markTable: `0x${toHex(table)}` }),
  );
  // A height the followed chain has not committed yet, and bytes that do not decode.
  refused('ROOT_NOT_COMMITTED', () => verifyAccountTreeCheckpoint(light, 4, at2));
  refused('MALFORMED', () => verifyAccountTreeCheckpoint(light, 2, { ...at2, proof: '0x00' }));
});

test('on a chain with fair ordering the opening carries the pending batches digest: it verifies, and a node cannot drop, change or add parts', () => {
  // The node state root after each height also hashes the batches pending then (here one, waiting
  // for its key): before, the served opening left that digest out, so every checkpoint taken while
  // a batch was pending failed OPENING_MISMATCH on a fair-ordering chain (the devnet's).
  const pending: PendingBatch[] = [{ height: 3, envelopes: [new Uint8Array([1, 2, 3])] }];
  const fair = createPrivacyCheckpoints(
    () => engine,
    () => [],
    () => nodeStateRootFairParts(pending, []),
  );
  fair.record();
  const at3 = fair.checkpoint(3)!;
  assert.equal(at3.fairParts?.length, 1);
  const committed = nodeStateRoot(engine.stateRoot(), [], pending);
  const fairLight = {
    committedRoot: (height: number) => (height === 3 ? committed : undefined),
  } as unknown as LightClient;
  assert.equal(verifyAccountTreeCheckpoint(fairLight, 3, at3).leaves, 1);
  const { fairParts: _dropped, ...without } = at3;
  refused('OPENING_MISMATCH', () => verifyAccountTreeCheckpoint(fairLight, 3, without));
  const flipped = fromHex(at3.fairParts![0]!)!;
  flipped[0]! ^= 1;
  refused('OPENING_MISMATCH', () =>
    verifyAccountTreeCheckpoint(fairLight, 3, { ...at3, fairParts: [`0x${toHex(flipped)}`] }),
  );
  refused('OPENING_MISMATCH', () =>
    verifyAccountTreeCheckpoint(fairLight, 3, { ...at3, fairParts: [...at3.fairParts!, at3.fairParts![0]!] }),
  );
  refused('MALFORMED', () =>
    verifyAccountTreeCheckpoint(fairLight, 3, {
      ...at3,
      fairParts: [at3.fairParts![0]!, at3.fairParts![0]!, at3.fairParts![0]!],
    }),
  );
  refused('MALFORMED', () => verifyAccountTreeCheckpoint(fairLight, 3, { ...at3, fairParts: ['0x00'] }));
  // A chain without fair ordering serves no parts at all (the opening it always served).
  assert.equal(checkpoints.checkpoint(3)!.fairParts, undefined);
});
