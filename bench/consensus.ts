/**
 * `palisade bench consensus [--json] [--quick]`: what Simplex costs here, each figure beside its
 * bound from the same run.
 *
 * - Finalization latency on a calm simulated network (10 ms one-way, no jitter, four validators),
 *   in one-way network delays from the leader sending its proposal to each validator's
 *   finalization: Simplex needs three (proposal, notarize, finalize); the block interval needs two.
 * - CPU cost of one finalized block per validator in the real engine (Ed25519 through node:crypto,
 *   every signature verified, no memo; the network is simulated in-process, so the figure also
 *   pays for the simulator's scheduling) for n = 4, 7, 16, 31, beside the floor that signature
 *   verification alone sets: the Ed25519 verify time measured in the same run times the number of
 *   verifications a validator performs per block.
 */
import { createEngine, type SimplexEngine } from '../src/consensus/engine.ts';
import { createValidatorSet } from '../src/consensus/validators.ts';
import { defaultVerifier, type SignatureVerifier } from '../src/consensus/votes.ts';
import { DomainTag } from '../src/crypto/domain.ts';
import { createEd25519Signer, signInDomain } from '../src/crypto/ed25519.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { SimNetwork } from '../src/runtime/sim/network.ts';
import { createSimRng } from '../src/runtime/sim/rng.ts';
import { Scheduler } from '../src/runtime/sim/scheduler.ts';
import { SimStorage } from '../src/runtime/sim/storage.ts';
import { SimApplication } from '../src/sim/app.ts';

const CHAIN_ID = 0xbe9c;
const ONE_WAY_DELAY_MS = 10;
const EXPECTED_DELAYS = 3;

interface Cluster {
  scheduler: Scheduler;
  engines: SimplexEngine[];
  apps: SimApplication[];
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function buildCluster(
  n: number,
  latencyMs: number,
  verifier: SignatureVerifier,
  onProposal: (view: number, timeMs: number) => void,
  onFinalized: (validator: number, view: number, timeMs: number) => void,
): Cluster {
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, createSimRng(n), { latencyMs, jitterMs: 0, lossPerMille: 0 });
  const signers = Array.from({ length: n }, (_, i) => createEd25519Signer(sha256(Uint8Array.of(0xbe, n, i))));
  const validators = createValidatorSet(signers.map((signer) => signer.publicKey));
  const engines: SimplexEngine[] = [];
  const apps: SimApplication[] = [];
  for (let i = 0; i < n; i++) {
    const storage = new SimStorage();
    const app = new SimApplication(storage, i, {
      applied: (block) => onFinalized(i, block.view, scheduler.now()),
      deliveryError: (detail) => {
        throw new Error(detail);
      },
    });
    const engine = createEngine({
      chainId: CHAIN_ID,
      validators,
      self: i,
      signer: signers[i]!,
      clock: scheduler.clockFor(),
      network: network.addEndpoint(i),
      storage,
      application: app,
      timeouts: {
        leaderMs: 40 * latencyMs,
        notarizationMs: 60 * latencyMs,
        nullifyRetryMs: 60 * latencyMs,
        syncRetryMs: 20 * latencyMs,
      },
      verifier,
      observer: {
        released: (vote) => {
          if (vote.kind === 0 && vote.signer === vote.view % n) onProposal(vote.view, scheduler.now());
        },
      },
    });
    engines.push(engine);
    apps.push(app);
  }
  return { scheduler, engines, apps };
}

async function driveUntil(cluster: Cluster, blocks: number, deadlineMs: number): Promise<void> {
  for (const engine of cluster.engines) await engine.start();
  await settle();
  while (cluster.scheduler.step(deadlineMs)) {
    await settle();
    if (cluster.apps.every((app) => app.processedHeight() >= blocks)) break;
  }
  for (const engine of cluster.engines) engine.stop();
}

async function measureLatency(blocks: number) {
  const proposedAt = new Map<number, number>();
  const latencies: number[] = [];
  const blockTimes: number[] = [];
  let lastFinalizedAt: number | undefined;
  const cluster = buildCluster(
    4,
    ONE_WAY_DELAY_MS,
    defaultVerifier,
    (view, time) => proposedAt.set(view, time),
    (validator, view, time) => {
      const proposed = proposedAt.get(view);
      if (proposed !== undefined) latencies.push((time - proposed) / ONE_WAY_DELAY_MS);
      if (validator === 0) {
        if (lastFinalizedAt !== undefined) blockTimes.push((time - lastFinalizedAt) / ONE_WAY_DELAY_MS);
        lastFinalizedAt = time;
      }
    },
  );
  await driveUntil(cluster, blocks, 1_000_000);
  const sorted = [...latencies].sort((a, b) => a - b);
  const sortedBlockTimes = [...blockTimes].sort((a, b) => a - b);
  return {
    blocks,
    medianDelays: sorted[Math.floor(sorted.length / 2)]!,
    maxDelays: sorted.at(-1)!,
    blockIntervalDelays: sortedBlockTimes[Math.floor(sortedBlockTimes.length / 2)]!,
    expectedDelays: EXPECTED_DELAYS,
  };
}

function measureVerifyMicros(): number {
  const signer = createEd25519Signer(sha256(Uint8Array.of(1)));
  const message = sha256(Uint8Array.of(2));
  const signature = signInDomain(signer, DomainTag.notarize, 1, message);
  // Warm the key cache and OpenSSL's code paths before timing.
  for (let i = 0; i < 200; i++) defaultVerifier(signer.publicKey, DomainTag.notarize, 1, message, signature);
  const runs = 3000;
  const start = process.cpuUsage();
  let valid = 0;
  for (let i = 0; i < runs; i++) {
    if (defaultVerifier(signer.publicKey, DomainTag.notarize, 1, message, signature)) valid++;
  }
  const used = process.cpuUsage(start);
  if (valid !== runs) throw new Error('a valid signature failed to verify: the measurement is wrong');
  return (used.user + used.system) / runs;
}

async function measureCpu(n: number, blocks: number) {
  let verifications = 0;
  const counting: SignatureVerifier = (...args) => {
    verifications++;
    return defaultVerifier(...args);
  };
  const cluster = buildCluster(
    n,
    1,
    counting,
    () => {},
    () => {},
  );
  const start = process.cpuUsage();
  await driveUntil(cluster, blocks, 10_000_000);
  const used = process.cpuUsage(start);
  const finalized = Math.min(...cluster.apps.map((app) => app.processedHeight()));
  const perBlockPerValidatorMicros = (used.user + used.system) / (finalized * n);
  return {
    n,
    blocks: finalized,
    perBlockPerValidatorMicros,
    verificationsPerBlockPerValidator: verifications / (finalized * n),
  };
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const latency = await measureLatency(quick ? 20 : 100);
  const verifyMicros = measureVerifyMicros();
  const rows = [];
  for (const n of [4, 7, 16, 31]) {
    const blocks = quick ? 5 : n <= 7 ? 60 : n <= 16 ? 25 : 12;
    const result = await measureCpu(n, blocks);
    const floorMicros = result.verificationsPerBlockPerValidator * verifyMicros;
    rows.push({
      ...result,
      verifyFloorMicros: floorMicros,
      ratioToFloor: result.perBlockPerValidatorMicros / floorMicros,
    });
  }
  const report = {
    latency: {
      ...latency,
      ratioToExpected: latency.medianDelays / EXPECTED_DELAYS,
      oneWayDelayMs: ONE_WAY_DELAY_MS,
    },
    ed25519: { verifyMicros, verifiesPerSecond: 1e6 / verifyMicros },
    cpuPerFinalizedBlock: rows,
  };
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  console.log('consensus: finalization latency on a calm simulated network (4 validators, 10 ms one-way)');
  console.log(
    `  median ${latency.medianDelays} one-way delays (max ${latency.maxDelays}) vs ${EXPECTED_DELAYS} expected: ratio ${report.latency.ratioToExpected.toFixed(2)}; block interval ${latency.blockIntervalDelays} delays`,
  );
  console.log(
    `consensus: Ed25519 verify ${verifyMicros.toFixed(1)} µs (${Math.round(1e6 / verifyMicros)}/s) in this run`,
  );
  console.log(
    'consensus: CPU per finalized block per validator (real engine and signatures, simulated links)',
  );
  console.log('     n   blocks   µs/block/validator   verifies/block   verify floor µs   ratio to floor');
  for (const row of rows) {
    console.log(
      `  ${String(row.n).padStart(4)}   ${String(row.blocks).padStart(6)}   ${row.perBlockPerValidatorMicros.toFixed(0).padStart(18)}   ${row.verificationsPerBlockPerValidator.toFixed(1).padStart(14)}   ${row.verifyFloorMicros.toFixed(0).padStart(15)}   ${row.ratioToFloor.toFixed(2).padStart(14)}`,
    );
  }
  return 0;
}
