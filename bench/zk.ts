/**
 * `palisade bench zk [--json] [--sizes 1,4,16] [--runs 2]`: the margin-proof circuits on this
 * machine, each figure beside the goal as a ratio (below 1 meets it):
 *
 * - constraints per circuit (1, 4, 16 position slots; table of 16 series, tree depth 20);
 * - Groth16 proving time (snarkjs, witness included, one thread) and the process's peak RSS after
 *   it — goal: 16 positions under 5 s on one core;
 * - verification time in TS (snarkjs) — goal: under 20 ms;
 * - the Poseidon account tree: time per leaf update (depth 20: 20 Poseidon(2) plus the leaf's
 *   own hashes), and per block for 100 touched accounts.
 *
 * Circuits that are not built (`npm run build:circuits`) are listed as missing, not estimated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  accountLeaf,
  type CommittedPosition,
  loadPoseidon,
  ownerCommitment,
  PoseidonTree,
  syncPoseidon,
} from '../src/crypto/poseidon-tree.ts';
import { fieldToBytes } from '../src/execution/account-tree.ts';
import { createEngine } from '../src/execution/engine.ts';
import { createTransactionBuilder, testGenesis, testSigner } from '../src/execution/fixtures.ts';
import type { Block } from '../src/execution/types.ts';
import {
  artifactFiles,
  artifactsBuilt,
  CIRCUITS_DIR,
  loadProverArtifacts,
  loadVerificationKey,
} from '../src/privacy/keys.ts';
import {
  CIRCUIT_SIZES,
  type CircuitSize,
  type SeriesMark,
  TagRegistry,
} from '../src/privacy/margin-proof.ts';
import { proveMargin, shutdownProver, verifyMargin } from '../src/privacy/prover.ts';

const PROVE_GOAL_MS = 5000;
const VERIFY_GOAL_MS = 20;
const USDC = 1_000_000n;
const E18 = 10n ** 18n;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

/** Constraint count from the .r1cs header (iden3 binary format: section 1, field nConstraints). */
function constraintsOf(size: CircuitSize): number {
  const bytes = readFileSync(join(CIRCUITS_DIR, 'build', `margin_${size}.r1cs`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12;
  const sections = view.getUint32(8, true);
  for (let s = 0; s < sections; s++) {
    const type = view.getUint32(at, true);
    const length = Number(view.getBigUint64(at + 4, true));
    if (type === 1) {
      const fieldSize = view.getUint32(at + 12, true);
      // header: fieldSize, prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels(u64), nConstraints
      return view.getUint32(at + 12 + 4 + fieldSize + 4 * 4 + 8, true);
    }
    at += 12 + length;
  }
  throw new Error('r1cs without a header section');
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const sizesAt = args.indexOf('--sizes');
  const sizes = (sizesAt >= 0 ? (args[sizesAt + 1] ?? '') : '1,4,16')
    .split(',')
    .map(Number)
    .filter((n): n is CircuitSize => CIRCUIT_SIZES.includes(n as CircuitSize));
  const runsAt = args.indexOf('--runs');
  const runs = Math.max(1, runsAt >= 0 ? Number(args[runsAt + 1]) : 2);
  const hasher = await loadPoseidon();

  // A market of 16 series and one account per circuit size, holding that many positions.
  const series: SeriesMark[] = Array.from({ length: 16 }, (_, i) => ({
    seriesId: 100 + i,
    isCall: i % 2 === 0,
    spot: 3000n * USDC,
    markPerUnit: BigInt(20 + 7 * i) * USDC * E18,
    lotUnderlyingE12: 10n ** 11n,
  }));
  const tree = new PoseidonTree(hasher, 20);
  const secret = 987654321n;
  const commitment = ownerCommitment(hasher, secret);
  const accounts = new Map<CircuitSize, { index: number; balance: bigint; positions: CommittedPosition[] }>();
  for (const size of CIRCUIT_SIZES) {
    const positions = Array.from({ length: size }, (_, i) => ({
      seriesId: 100 + i,
      lots: i % 3 === 0 ? -5 : 3,
    }));
    const account = { index: 1000 + size, balance: 100_000n * USDC, positions };
    accounts.set(size, account);
    tree.set(account.index, accountLeaf(hasher, { ...account, ownerCommitment: commitment }));
  }

  const circuits: Array<Record<string, unknown>> = [];
  for (const size of sizes) {
    if (!artifactsBuilt(size)) {
      circuits.push({ positions: size, missing: `run npm run build:circuits (${artifactFiles(size).zkey})` });
      continue;
    }
    const artifacts = loadProverArtifacts(size);
    const vkey = loadVerificationKey(size);
    const account = accounts.get(size) as { index: number; balance: bigint; positions: CommittedPosition[] };
    const proveMs: number[] = [];
    const verifyMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const statement = {
        height: 1,
        root: tree.root(),
        mmBps: 750,
        kBps: 15_000,
        challenge: BigInt(r + 1),
        series,
      };
      const started = performance.now();
      const proof = await proveMargin(
        hasher,
        artifacts,
        statement,
        { ...account, secret, path: tree.path(account.index) },
        commitment,
        { singleThread: true },
      );
      proveMs.push(performance.now() - started);
      for (let v = 0; v < 5; v++) {
        const t = performance.now();
        await verifyMargin(statement, proof, {
          checkpoint: { height: 1, accountRoot: tree.root() },
          currentHeight: 1,
          maxAgeBlocks: 0,
          verificationKeys: { [size]: vkey },
          tags: new TagRegistry(),
        });
        verifyMs.push(performance.now() - t);
      }
    }
    const prove = median(proveMs);
    const verify = median(verifyMs);
    circuits.push({
      positions: size,
      constraints: constraintsOf(size),
      proveMs: Math.round(prove),
      proveVsGoal: size === 16 ? ratio(prove, PROVE_GOAL_MS) : undefined,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      verifyMs: Number(verify.toFixed(2)),
      verifyVsGoal: ratio(verify, VERIFY_GOAL_MS),
    });
  }
  await shutdownProver();

  const engineBlock = engineTreeCost();
  // Tree maintenance: 2,000 updates to a tree already holding 10,000 accounts.
  const big = new PoseidonTree(hasher, 20);
  for (let i = 0; i < 10_000; i++) big.set(i * 37, BigInt(i + 1));
  const updates = 2000;
  const t0 = performance.now();
  for (let i = 0; i < updates; i++) big.set((i * 7919) % 370_000, BigInt(i + 5));
  const perUpdateMs = (performance.now() - t0) / updates;
  const leafStarted = performance.now();
  for (let i = 0; i < 200; i++) {
    accountLeaf(hasher, {
      balance: BigInt(i),
      positions: [
        { seriesId: 1, lots: 2 },
        { seriesId: 2, lots: -1 },
        { seriesId: 3, lots: 4 },
      ],
      ownerCommitment: commitment,
    });
  }
  const leafMs = (performance.now() - leafStarted) / 200;
  const poseidonStarted = performance.now();
  for (let i = 0; i < 2000; i++) hasher.hash([BigInt(i), 1n]);
  const poseidonUs = ((performance.now() - poseidonStarted) / 2000) * 1000;
  const tree20 = {
    depth: 20,
    poseidon2Us: Number(poseidonUs.toFixed(1)),
    perUpdateMs: Number(perUpdateMs.toFixed(3)),
    leafWith3PositionsMs: Number(leafMs.toFixed(3)),
    per100AccountBlockMs: Number((100 * (perUpdateMs + leafMs)).toFixed(1)),
  };

  const report = {
    goals: { proveMs16: PROVE_GOAL_MS, verifyMs: VERIFY_GOAL_MS },
    circuits,
    tree: tree20,
    engineBlock,
  };
  if (json) console.log(JSON.stringify(report));
  else {
    for (const c of circuits) console.log(JSON.stringify(c));
    console.log(JSON.stringify(tree20));
    console.log(JSON.stringify(engineBlock));
  }
  return 0;
}

/**
 * What the account tree costs the engine per block (src/execution/account-tree.ts, poseidon-lite):
 * the same block of 100 withdrawals applied to an engine where the 100 accounts registered a
 * commitment and to one where none did; the difference is the tree's work (100 leaves rehashed).
 */
function engineTreeCost(): Record<string, number> {
  const traders = Array.from({ length: 100 }, (_, i) => testSigner(`zk-bench-${i}`));
  const genesis = testGenesis({ traders, balanceUsdc: 10_000 });
  const timeOf = (height: number) => genesis.startTimeMs + height * 1000;
  const measure = (register: boolean): number => {
    const engine = createEngine(genesis);
    const txs = createTransactionBuilder();
    const at = (height: number, transactions: Block['transactions']): Block => ({
      height,
      timeMs: timeOf(height),
      transactions,
      oracle: [],
    });
    engine.applyBlock(
      at(
        1,
        register
          ? traders.map((t, i) =>
              txs.next(t, {
                kind: 'registerCommitment',
                value: { commitment: fieldToBytes(ownerCommitment(syncPoseidon, BigInt(i + 1))) },
              }),
            )
          : [],
      ),
    );
    let totalMs = 0;
    for (let round = 0; round < 5; round++) {
      const block = at(
        engine.height + 1,
        traders.map((t) =>
          txs.next(t, {
            kind: 'withdraw',
            value: { amount: 1, recipient: new Uint8Array(20), token: new Uint8Array(20) },
          }),
        ),
      );
      const started = performance.now();
      engine.applyBlock(block);
      totalMs += performance.now() - started;
    }
    return totalMs / 5;
  };
  const without = measure(false);
  const withTree = measure(true);
  return {
    touchedRegisteredAccounts: 100,
    blockMsWithoutTree: Number(without.toFixed(1)),
    blockMsWithTree: Number(withTree.toFixed(1)),
    treeMsPerBlock: Number((withTree - without).toFixed(1)),
    treeMsPerAccount: Number(((withTree - without) / 100).toFixed(2)),
  };
}
