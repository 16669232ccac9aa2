/**
 * `palisade bench catchup [--blocks N (10,000)] [--durability full|off] [--json]`: how fast a validator
 * that fell N blocks behind catches up, by block sync and by state sync, each through the real
 * application, SQLite storage and consensus engine (the network is simulated in-process with 2 ms
 * links, so the figures are what the validator's own work allows, not what a WAN allows).
 *
 * - Block sync: the laggard fetches every finalized block by height from a peer's storage and
 *   executes it; blocks/s beside its bound from the same run, the execution engine alone applying
 *   the same empty blocks (no storage, no consensus).
 * - State sync: the peer holds a snapshot 200 blocks below its tip; the laggard fetches it, checks
 *   it against the committed state root, installs it and block-syncs the 200 blocks above it;
 *   "blocks/s" is N over that time, beside the block-sync figure.
 *
 * The blocks are empty: the figures are the floor cost of catching up, per block, that
 * transactions add to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createValidatorSet } from '../src/consensus/validators.ts';
import { toHex } from '../src/crypto/bytes.ts';
import { createEd25519Signer } from '../src/crypto/ed25519.ts';
import { testGenesis } from '../src/execution/fixtures.ts';
import { createNodeApplication } from '../src/node/app.ts';
import {
  buildBareChain,
  buildFinalizedChain,
  runSimulationUntil,
  simulatedValidator,
} from '../src/node/catchup-fixtures.ts';
import { openSqliteStorage } from '../src/runtime/real/storage.ts';
import { SimNetwork } from '../src/runtime/sim/network.ts';
import { createSimRng } from '../src/runtime/sim/rng.ts';
import { Scheduler } from '../src/runtime/sim/scheduler.ts';

const CHAIN_ID = 0xca7c;
/** Blocks the state-synced peer executes above its snapshot (what the laggard then block-syncs). */
const TAIL_BLOCKS = 200;

const signers = Array.from({ length: 4 }, (_, i) => createEd25519Signer(new Uint8Array(32).fill(0x30 + i)));
const validators = createValidatorSet(signers.map((signer) => signer.publicKey));
const engineGenesis = testGenesis({ chainId: CHAIN_ID });
const wiring = { chainId: CHAIN_ID, validators, signers };

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      blocks: { type: 'string', default: '10000' },
      durability: { type: 'string', default: 'full' },
      json: { type: 'boolean', default: false },
    },
  });
  const length = Number(values.blocks);
  const durability = values.durability === 'off' ? 'off' : 'full';
  if (!Number.isSafeInteger(length) || length < TAIL_BLOCKS + 100) {
    console.error(`palisade bench catchup: --blocks must be an integer of at least ${TAIL_BLOCKS + 100}`);
    return 2;
  }
  const root = mkdtempSync(join(tmpdir(), 'palisade-bench-catchup-'));
  const progress = (message: string) => {
    if (!values.json) console.error(message);
  };
  try {
    const open = (name: string, durable: 'full' | 'off') => {
      const storage = openSqliteStorage({ dataDirectory: join(root, name), durability: durable });
      const app = createNodeApplication({
        chainId: CHAIN_ID,
        validators: signers.map((signer) => signer.publicKey),
        self: 0,
        engineGenesis,
        assets: [],
        storage,
        wallClock: () => engineGenesis.startTimeMs,
        monotonicClock: () => performance.now(),
        observe: () => undefined,
        limits: { snapshotIntervalBlocks: 1000 },
      });
      app.open();
      return { app, storage };
    };

    progress(`building a chain of ${length} blocks…`);
    const source = open('source', 'off');
    const buildStarted = performance.now();
    const bare = await buildBareChain({
      ...wiring,
      engineGenesis,
      storage: source.storage,
      length,
      certifyEvery: 100,
    });
    const buildMs = performance.now() - buildStarted;

    // Block sync: the laggard executes every block.
    progress('block sync…');
    const blockSync = await (async () => {
      const scheduler = new Scheduler();
      const network = new SimNetwork(scheduler, createSimRng(1), {
        latencyMs: 2,
        jitterMs: 0,
        lossPerMille: 0,
      });
      const peer = simulatedValidator({
        scheduler,
        endpoint: network.addEndpoint(0),
        self: 0,
        ...source,
        ...wiring,
        thresholdBlocks: 0,
      });
      const laggard = simulatedValidator({
        scheduler,
        endpoint: network.addEndpoint(1),
        self: 1,
        ...open('block-sync', durability),
        ...wiring,
        thresholdBlocks: 0,
      });
      await peer.consensus.start();
      await laggard.consensus.start();
      const started = performance.now();
      await runSimulationUntil(scheduler, () => laggard.app.processedHeight() >= length, 1_000_000);
      const ms = performance.now() - started;
      const agrees = toHex(laggard.app.tip().digest) === toHex(bare.digests[length - 1]!);
      peer.consensus.stop();
      laggard.consensus.stop();
      laggard.storage.close();
      return { ms, height: laggard.app.processedHeight(), agrees };
    })();

    // State sync: the peer continues the chain through its application above a snapshot.
    progress('state sync…');
    const stateSync = await (async () => {
      const peerState = open('state-source', 'off');
      const snapshotHeight = length - TAIL_BLOCKS;
      const head = await buildBareChain({
        ...wiring,
        engineGenesis,
        storage: peerState.storage,
        length: snapshotHeight,
        certifyEvery: 100,
      });
      const installed = peerState.app.installSnapshot(head.snapshot, {
        block: head.tip.block,
        digest: head.tip.digest,
        certificate: head.tip.finalization,
        committedRoot: head.roots.get(snapshotHeight)!,
      });
      if (installed.status !== 'installed') throw new Error(`source snapshot refused: ${installed.reason}`);
      await peerState.storage.sync();
      const tail = await buildFinalizedChain({
        ...wiring,
        app: peerState.app,
        storage: peerState.storage,
        length,
        certifyEvery: 10,
        startTimeMs: engineGenesis.startTimeMs,
        roots: head.roots,
      });
      const scheduler = new Scheduler();
      const network = new SimNetwork(scheduler, createSimRng(2), {
        latencyMs: 2,
        jitterMs: 0,
        lossPerMille: 0,
      });
      const peer = simulatedValidator({
        scheduler,
        endpoint: network.addEndpoint(0),
        self: 0,
        ...peerState,
        ...wiring,
        thresholdBlocks: 0,
      });
      const laggard = simulatedValidator({
        scheduler,
        endpoint: network.addEndpoint(1),
        self: 1,
        ...open('state-sync', durability),
        ...wiring,
        thresholdBlocks: 1000,
      });
      await peer.consensus.start();
      peer.stateSync.start();
      await laggard.consensus.start();
      laggard.stateSync.start();
      const started = performance.now();
      await runSimulationUntil(scheduler, () => laggard.app.processedHeight() >= length, 1_000_000);
      const ms = performance.now() - started;
      const agrees =
        toHex(laggard.app.tip().digest) === toHex(tail.at(-1)!) &&
        toHex(laggard.app.engine.stateRoot()) === toHex(peerState.app.engine.stateRoot());
      peer.stateSync.stop();
      peer.consensus.stop();
      laggard.stateSync.stop();
      laggard.consensus.stop();
      laggard.storage.close();
      peerState.storage.close();
      return {
        ms,
        height: laggard.app.processedHeight(),
        agrees,
        stateSyncs: laggard.stateSync.status().installed,
      };
    })();
    source.storage.close();

    const blockSyncPerSecond = Math.round((length / blockSync.ms) * 1000);
    const stateSyncPerSecond = Math.round((length / stateSync.ms) * 1000);
    const executionPerSecond = Math.round((length / buildMs) * 1000);
    const result = {
      blocks: length,
      durability,
      blockSync: {
        blocksPerSecond: blockSyncPerSecond,
        ms: Math.round(blockSync.ms),
        agrees: blockSync.agrees,
      },
      executionAloneBlocksPerSecond: executionPerSecond,
      stateSync: {
        blocksPerSecond: stateSyncPerSecond,
        ms: Math.round(stateSync.ms),
        agrees: stateSync.agrees,
        stateSyncs: stateSync.stateSyncs,
        blockSyncedAfterSnapshot: TAIL_BLOCKS,
      },
      stateOverBlockSync: Number((stateSyncPerSecond / blockSyncPerSecond).toFixed(1)),
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
    } else {
      console.log(`catch-up of ${length} empty blocks (storage durability ${durability})`);
      console.log(
        `  block sync   ${blockSyncPerSecond} blocks/s  (${result.blockSync.ms} ms; bound: execution alone ${executionPerSecond} blocks/s, chain build incl. signing)`,
      );
      console.log(
        `  state sync   ${stateSyncPerSecond} blocks/s  (${result.stateSync.ms} ms; snapshot + ${TAIL_BLOCKS} blocks; ${result.stateOverBlockSync}× block sync)`,
      );
      console.log(`  agree: block sync ${blockSync.agrees}, state sync ${stateSync.agrees}`);
    }
    return blockSync.agrees && stateSync.agrees && stateSync.stateSyncs === 1 ? 0 : 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
