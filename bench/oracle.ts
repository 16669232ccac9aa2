/**
 * `palisade bench oracle [--json] [--quick]`: the oracle's costs, each beside the bound it must
 * meet, measured in the same run.
 *
 * - aggregation of one block with 50 validators × 20 assets (decoding and verifying 50 signed
 *   observations, then the per-asset medians), against the 1 s block interval;
 * - FROST signing latency (both rounds, share verification and aggregation, in one process) for
 *   n = 4, 7, 16 at threshold 2f + 1, against the 1 s latency goal of the oracle brief;
 *   and the coordinator's part once the shares are in (aggregating, which verifies the group
 *   signature) against checking every share first, what the coordinator did before;
 * - certificate verifications per second (EIP-712 digest + FROST verify), against the ECDSA
 *   verifications per second of the same curve and library (the per-signer baseline a FROST
 *   certificate replaces).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { ObservationEntry } from '../src/codec/oracle.ts';
import { runLocalDkg } from '../src/crypto/dkg.ts';
import { createEd25519Signer } from '../src/crypto/ed25519.ts';
import {
  type FrostKeyPackage,
  frostAggregate,
  frostAggregateOptimistic,
  frostCommit,
  frostSignShare,
  frostVerifyShare,
} from '../src/crypto/frost.ts';
import { sha256 } from '../src/crypto/hash.ts';
import {
  assemblePriceCertificate,
  feedIdOf,
  type PriceCertificate,
  priceReportDigest,
  verifyPriceCertificate,
} from '../src/interop/price-certificate.ts';
import { aggregateBlock } from '../src/oracle/aggregate.ts';
import { encodeVoteExtension, signObservation } from '../src/oracle/observation.ts';

const BLOCK_INTERVAL_MS = 1_000;
const LATENCY_GOAL_MS = 1_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timeRuns(runs: number, body: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    body();
    samples.push(performance.now() - start);
  }
  return samples;
}

function benchAggregation(validators: number, assets: number, runs: number) {
  const chainId = 1;
  const height = 10;
  const now = 1_750_000_000_000;
  const signers = Array.from({ length: validators }, (_, i) =>
    createEd25519Signer(sha256(new Uint8Array([7, i]))),
  );
  const assetIds = Array.from({ length: assets }, (_, i) => i + 1);
  const extensions = signers.map((signer, v) => {
    const entries: ObservationEntry[] = assetIds.map((assetId) => ({
      assetId,
      priceTicks: 1_000_000n * BigInt(assetId) + BigInt(v * 13),
      confidenceTicks: 50n,
      sourceCount: 5,
      sourceTimeMs: now - 300,
    }));
    return encodeVoteExtension(
      signObservation(signer, {
        chainId,
        height,
        validator: signer.publicKey,
        timestampMs: now - 200,
        entries,
      }),
    );
  });
  const members = signers.map((s) => ({ publicKey: s.publicKey, weight: 1n }));
  const run = () =>
    aggregateBlock({
      chainId,
      height,
      blockTimeMs: now,
      validators: members,
      assets: assetIds,
      extensions,
      previous: new Map(),
    });
  run();
  const samples = timeRuns(runs, run);
  const ms = median(samples);
  return {
    validators,
    assets,
    medianMs: round(ms),
    blockIntervalMs: BLOCK_INTERVAL_MS,
    shareOfBlockInterval: round(ms / BLOCK_INTERVAL_MS, 5),
  };
}

function signOnce(keys: FrostKeyPackage[], threshold: number, message: Uint8Array): Uint8Array {
  const signers = keys.slice(0, threshold);
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, message)]),
  );
  return frostAggregate(keys[0]!.public, commitments, message, shares);
}

function benchSigning(n: number, runs: number) {
  const f = Math.floor((n - 1) / 3);
  const threshold = 2 * f + 1;
  const dkgStart = performance.now();
  const keys = runLocalDkg({ chainId: 1, epoch: 1, participants: n, threshold });
  const dkgMs = performance.now() - dkgStart;
  const message = sha256(new Uint8Array([n]));
  signOnce(keys, threshold, message);
  const ms = median(timeRuns(runs, () => signOnce(keys, threshold, message)));
  // In a network every signer computes its share in parallel; the coordinator verifies them all.
  // The coordinator's own work once the shares are in: aggregating, which verifies the group
  // signature (what it does), against checking every share first and then aggregating (its peer,
  // what it did before; still what it does when the group signature fails).
  const signers = keys.slice(0, threshold);
  const round1 = signers.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    signers.map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, message)]),
  );
  const coordinatorMs = median(
    timeRuns(runs, () => frostAggregateOptimistic(keys[0]!.public, commitments, message, shares)),
  );
  const checkEachMs = median(
    timeRuns(runs, () => {
      for (const [signer, share] of shares)
        if (!frostVerifyShare(keys[0]!.public, commitments, message, signer, share))
          throw new Error('an honest share must verify');
      frostAggregateOptimistic(keys[0]!.public, commitments, message, shares);
    }),
  );
  return {
    n,
    threshold,
    signingMedianMs: round(ms),
    latencyGoalMs: LATENCY_GOAL_MS,
    shareOfGoal: round(ms / LATENCY_GOAL_MS, 4),
    localDkgMs: round(dkgMs),
    coordinatorMs: round(coordinatorMs),
    coordinatorCheckEachMs: round(checkEachMs),
  };
}

function benchVerification(seconds: number) {
  const keys = runLocalDkg({ chainId: 1, epoch: 1, participants: 4, threshold: 3 });
  const report = {
    feedId: feedIdOf('BTC-USD'),
    price: 6_412_345n,
    confidence: 120n,
    exponent: -2,
    publishTime: 1_750_000_000,
    epoch: 1,
  };
  const domain = { chainId: 1, verifyingContract: new Uint8Array(20).fill(0xaa) };
  const digest = priceReportDigest(report, domain);
  const round1 = keys.slice(0, 3).map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    keys
      .slice(0, 3)
      .map((key, i) => [key.index, frostSignShare(key, round1[i]!.nonces, commitments, digest)]),
  );
  const certificate: PriceCertificate = assemblePriceCertificate({
    report,
    domain,
    publicPackage: keys[0]!.public,
    commitments,
    shares,
  });
  const keyset = { epoch: 1, groupPublicKey: keys[0]!.groupPublicKey };
  const certificatePerSecond = rate(seconds, () => {
    if (!verifyPriceCertificate(certificate, keyset)) throw new Error('certificate must verify');
  });
  const ecdsaKey = secp256k1.utils.randomSecretKey();
  const ecdsaPublic = secp256k1.getPublicKey(ecdsaKey);
  const ecdsaSignature = secp256k1.sign(digest, ecdsaKey, { prehash: false });
  const ecdsaPerSecond = rate(seconds, () => {
    if (!secp256k1.verify(ecdsaSignature, digest, ecdsaPublic, { prehash: false }))
      throw new Error('ECDSA must verify');
  });
  return {
    certificateVerificationsPerSecond: Math.round(certificatePerSecond),
    peerEcdsaVerificationsPerSecond: Math.round(ecdsaPerSecond),
    ratioToOneEcdsa: round(certificatePerSecond / ecdsaPerSecond, 3),
    note: 'one certificate check replaces threshold-many ECDSA checks (e.g. 35 of 50 validators)',
  };
}

function rate(seconds: number, body: () => void): number {
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1_000;
  while (performance.now() < end) {
    body();
    count++;
  }
  return count / ((performance.now() - start) / 1_000);
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const progress = (text: string) => {
    if (!json) process.stderr.write(`${text}\n`);
  };
  progress('aggregation: 50 validators × 20 assets');
  const aggregation = benchAggregation(50, 20, quick ? 5 : 30);
  const signing = [];
  for (const n of [4, 7, 16]) {
    progress(`FROST signing, n = ${n}`);
    signing.push(benchSigning(n, quick ? 3 : 15));
  }
  progress('certificate verification');
  const verification = benchVerification(quick ? 0.3 : 2);
  const result = { benchmark: 'oracle', node: process.version, aggregation, signing, verification };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(
    `aggregation 50×20: ${aggregation.medianMs} ms per block = ${(aggregation.shareOfBlockInterval * 100).toFixed(2)}% of the ${BLOCK_INTERVAL_MS} ms block interval`,
  );
  for (const s of signing) {
    console.log(
      `FROST signing n=${s.n} t=${s.threshold}: ${s.signingMedianMs} ms = ${(s.shareOfGoal * 100).toFixed(2)}% of the ${LATENCY_GOAL_MS} ms goal (local DKG ${s.localDkgMs} ms)`,
    );
    console.log(
      `  coordinator, shares in → signature: ${s.coordinatorMs} ms aggregating (group signature verified) vs ${s.coordinatorCheckEachMs} ms checking each share first (ratio ${round(s.coordinatorCheckEachMs / s.coordinatorMs, 2)})`,
    );
  }
  console.log(
    `certificate verification: ${verification.certificateVerificationsPerSecond}/s vs one ECDSA verify ${verification.peerEcdsaVerificationsPerSecond}/s (ratio ${verification.ratioToOneEcdsa})`,
  );
  return 0;
}
