/**
 * Finalized blocks are stored once (issue 18): the consensus engine writes each finalized block
 * into the node's `finalized_blocks` table (`EngineConfig.blocks`), and the application's write of
 * the same block is a no-op. So a block can now be on disk before it is executed: final, synced
 * with a vote, and then the node stops (a SIGKILL, or a fair-ordering block waiting for its key).
 * These tests restart a node in that state and check that nothing is lost, run twice or stuck.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BlockCodec, CertificateCodec } from '../codec/consensus.ts';
import { createEngine, putFinalizedBlock } from '../consensus/engine.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { testGenesis } from '../execution/fixtures.ts';
import { openSqliteStorage, type SqliteStorage } from '../runtime/real/storage.ts';
import { Scheduler } from '../runtime/sim/scheduler.ts';
import { SimStorage } from '../runtime/sim/storage.ts';
import type { Network, Storage } from '../runtime/types.ts';
import { createNodeApplication, type NodeApplication } from './app.ts';
import { buildFinalizedChain } from './catchup-fixtures.ts';

const CHAIN_ID = 11;
const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x60 + i)));
const keys = signers.map((signer) => signer.publicKey);
const validators = createValidatorSet(keys);
const engineGenesis = testGenesis({ chainId: CHAIN_ID });
const root = mkdtempSync(join(tmpdir(), 'palisade-blocks-once-'));
after(() => rmSync(root, { recursive: true, force: true }));

function openApp(name: string): { app: NodeApplication; storage: SqliteStorage } {
  const storage = openSqliteStorage({ dataDirectory: join(root, name), durability: 'off' });
  const app = createNodeApplication({
    chainId: CHAIN_ID,
    validators: keys,
    self: 0,
    engineGenesis,
    assets: [],
    storage,
    wallClock: () => engineGenesis.startTimeMs,
    monotonicClock: () => 0,
    observe: () => undefined,
  });
  app.open();
  return { app, storage };
}

const chainOf = (app: NodeApplication, storage: SqliteStorage, length: number) =>
  buildFinalizedChain({
    chainId: CHAIN_ID,
    validators,
    signers,
    app,
    storage,
    length,
    certifyEvery: 1,
    startTimeMs: engineGenesis.startTimeMs,
  });

test('a block final on disk but not executed when the node stopped is executed once after the restart, with its summary and root', async () => {
  // The reference: six blocks executed in one run.
  const reference = openApp('reference');
  await chainOf(reference.app, reference.storage, 6);
  const sixth = reference.storage.finalizedBlock(6)!;

  // The victim executed five; block 6 is final and synced (the engine wrote it), not executed.
  const victim = openApp('victim');
  await chainOf(victim.app, victim.storage, 5);
  victim.storage.putFinalizedBlock(sixth);
  await victim.storage.sync();
  victim.storage.close();

  // Restarted, the application stops at what it executed; the block above waits for consensus.
  const restarted = openApp('victim');
  assert.equal(
    restarted.app.processedHeight(),
    5,
    'block 6 was never executed: it is not replayed as if it were',
  );
  assert.equal(
    restarted.storage.latestFinalizedHeight(),
    6,
    'block 6 stays stored: consensus delivers it from there',
  );
  assert.equal(restarted.app.summary(6), undefined);

  // Consensus delivers it again (from processedHeight + 1): executed once, as in the reference.
  await restarted.app.finalized({
    block: BlockCodec.decode(sixth.block),
    digest: sixth.hash,
    finalization: CertificateCodec.decode(sixth.certificate),
  });
  assert.equal(restarted.app.processedHeight(), 6);
  assert.deepEqual(restarted.app.summary(6), reference.app.summary(6));
  assert.equal(toHex(restarted.app.stateRootAt(6)!), toHex(reference.app.stateRootAt(6)!));
  restarted.storage.close();
  reference.storage.close();
});

test('an engine given the node store keeps finalized blocks only there, and recovers its tip from it', async () => {
  const { app, storage } = openApp('engine-store');
  await chainOf(app, storage, 4);
  for (let height = 1; height <= 4; height++) {
    const record = storage.finalizedBlock(height)!;
    // What the engine writes for a finalized block when it is given the store.
    putFinalizedBlock(
      storage,
      BlockCodec.decode(record.block),
      CertificateCodec.decode(record.certificate),
      storage,
    );
  }
  await storage.sync();
  assert.deepEqual(storage.keys('consensus/block/'), [], 'no second copy under the engine’s keys');
  assert.deepEqual(storage.keys('consensus/proof/'), []);

  const scheduler = new Scheduler();
  const network: Network = { send: () => {}, broadcast: () => {}, onMessage: () => {} };
  /** A validator-0 engine over `engineStorage` that proposes nothing and executes through `app`. */
  const engineOver = (engineStorage: Storage) =>
    createEngine({
      chainId: CHAIN_ID,
      validators,
      self: 0,
      signer: signers[0]!,
      clock: scheduler.clockFor(),
      network,
      storage: engineStorage,
      blocks: storage,
      application: {
        propose: () => undefined,
        verify: () => true,
        finalized: (block) => app.finalized(block),
        processedHeight: () => app.processedHeight(),
      },
      applicationSyncsStorage: true,
    });
  const engine = engineOver(storage);
  await engine.start();
  assert.equal(engine.status().finalizedHeight, 4, 'the tip comes from the node store');
  engine.stop();

  // The store must be the engine's storage: a separate one could sync a pruned journal without
  // the block whose finality pruned it.
  assert.throws(() => engineOver(new SimStorage()), /must be the engine storage itself/);
  storage.close();
});
