/**
 * `withholder-signer`: f validators take part in price signing — they open every session and
 * send their nonce commitments — and never send a signature share. Run over the simulated network
 * (src/runtime/sim: seeded delays and jitter, virtual time) with the validators' threshold-signing
 * protocol (src/interop/threshold-signing.ts, the sans-IO core that src/node/price-signing.ts
 * drives), at n = 4 and n = 7 with the genesis threshold 2f + 1. Every price report of a run must
 * end in a certificate that a consumer's keyset registry verifies, within a bound of virtual time;
 * `succeeded` (the withholders stopped certificates) otherwise.
 *
 * This entry attacks the protocol core alone (and shows at f + 1 that it can report `succeeded`);
 * `whole-node-withholder-signer` attacks src/node/price-signing.ts itself, run by every validator
 * of a whole-node simulation (profile 'withholder-signer', invariant certificate-liveness).
 */
import { runLocalDkg } from '../../crypto/dkg.ts';
import {
  createKeysetRegistry,
  encodePriceCertificate,
  feedIdOf,
  type PriceReport,
  priceReportDigest,
} from '../../interop/price-certificate.ts';
import { SigningAttemptShareCodec } from '../../interop/signing-codec.ts';
import { createThresholdSigner, type SigningOutput } from '../../interop/threshold-signing.ts';
import { SimNetwork } from '../../runtime/sim/network.ts';
import { createSimRng } from '../../runtime/sim/rng.ts';
import { Scheduler } from '../../runtime/sim/scheduler.ts';
import type { Evidence, Outcome } from './scenario.ts';

const DOMAIN = { chainId: 42161, verifyingContract: Uint8Array.from({ length: 20 }, (_, i) => 0xb0 + i) };
const EPOCH = 1;
const REPORTS = 3;
const ATTEMPT_MS = 200;
/** Virtual time every report must be certified within. */
const DEADLINE_MS = 20_000;
const SHARE_TAG = SigningAttemptShareCodec.tag & 0xff;

interface RunFacts {
  n: number;
  certified: number;
  verified: number;
  lastMs: number;
  withheld: number;
  namedSilent: number;
  withholders: number;
}

function runOne(n: number, seed: number, withholding?: number): RunFacts {
  const f = Math.floor((n - 1) / 3);
  const keys = runLocalDkg({ chainId: 7, epoch: EPOCH, participants: n, threshold: 2 * f + 1 });
  const registry = createKeysetRegistry(DOMAIN);
  registry.activate(EPOCH, keys[0]!.groupPublicKey);
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, createSimRng(seed).fork(), {
    latencyMs: 10,
    jitterMs: 8,
    lossPerMille: 0,
  });
  const withholders = new Set(Array.from({ length: withholding ?? f }, (_, i) => n - 1 - i));
  const signers = keys.map((key) =>
    createThresholdSigner({ chainId: 7, self: key.index, key, attemptMs: ATTEMPT_MS }),
  );
  const endpoints = keys.map((_, index) => network.addEndpoint(index));
  let withheld = 0;
  const send = (from: number, outputs: SigningOutput[]) => {
    for (const output of outputs) {
      if (withholders.has(from) && output.bytes[2] === SHARE_TAG) {
        withheld++;
        continue;
      }
      if (output.to === from)
        scheduler.schedule(0, () => send(from, signers[from]!.receive(from, output.bytes, scheduler.now())));
      else endpoints[from]!.send(output.to, output.bytes);
    }
  };
  for (const [index, endpoint] of endpoints.entries())
    endpoint.onMessage((peer, bytes) => send(index, signers[index]!.receive(peer, bytes, scheduler.now())));
  const reports: PriceReport[] = Array.from({ length: REPORTS }, (_, k) => ({
    feedId: feedIdOf('BTC-USD'),
    price: 6_000_000_000_000n + BigInt(k) * 100_000_000n,
    confidence: 1_000_000n,
    exponent: -8,
    publishTime: 1_767_225_600 + k,
    epoch: EPOCH,
  }));
  const digests = reports.map((report) => priceReportDigest(report, DOMAIN));
  const certifiedAt = new Map<number, number>();
  let verified = 0;
  for (const [k, digest] of digests.entries())
    scheduler.schedule(k * 100, () => {
      for (const [index, signer] of signers.entries())
        send(index, signer.open(digest, k % n, scheduler.now()));
    });
  const tick = () => {
    for (const [index, signer] of signers.entries()) {
      send(index, signer.tick(scheduler.now()));
      if (withholders.has(index)) continue;
      for (const completion of signer.takeCompleted()) {
        const k = digests.findIndex((digest) => Buffer.compare(digest, completion.message) === 0);
        if (k < 0 || certifiedAt.has(k)) continue;
        certifiedAt.set(k, scheduler.now());
        const verdict = registry.verify(
          encodePriceCertificate({ report: reports[k]!, domain: DOMAIN, signature: completion.signature }),
        );
        if (verdict.ok) verified++;
        for (const other of signers) other.close(completion.message);
      }
    }
    if (certifiedAt.size < REPORTS && scheduler.now() < DEADLINE_MS) scheduler.schedule(50, tick);
  };
  scheduler.schedule(0, tick);
  while (scheduler.step(DEADLINE_MS)) {
    // Runs every event due before the deadline.
  }
  let namedSilent = 0;
  for (const [index, signer] of signers.entries())
    if (!withholders.has(index))
      for (const w of withholders) namedSilent += signer.stats().faults[w]?.silent ?? 0;
  return {
    n,
    certified: certifiedAt.size,
    verified,
    lastMs: Math.max(0, ...certifiedAt.values()),
    withheld,
    namedSilent,
    withholders: withholders.size,
  };
}

/**
 * @param context.aboveF f + 1 withholders at n = 4 instead: more than the protocol tolerates, so
 *   the entry must report `succeeded` (the check that it can).
 */
export function withholderSigner(context: { seed: number; aboveF?: boolean }): Outcome {
  const runs =
    context.aboveF === true ? [runOne(4, context.seed, 2)] : [4, 7].map((n) => runOne(n, context.seed));
  const statuses = runs.map(
    (r) =>
      `n=${r.n}, ${r.withholders} withholder(s): ${r.certified} of ${REPORTS} reports certified, ${r.verified} verified by the registry, the last at ${r.lastMs} virtual ms; ${r.withheld} shares withheld, withholders named SILENT ${r.namedSilent} times`,
  );
  const refused = runs.every((r) => r.verified === REPORTS);
  const evidence: Evidence = {
    statuses,
    events: {},
    notable: [],
    balancesBefore: {},
    balancesAfter: {},
    insuranceFund: { before: '0', after: '0' },
    socializedLoss: '0',
    facts: [
      `attempt deadline ${ATTEMPT_MS} ms, bound ${DEADLINE_MS} ms, simulated links 10 ± 8 ms`,
      'the protocol core alone; whole-node-withholder-signer runs src/node/price-signing.ts on every simulated validator',
    ],
  };
  return {
    verdict: refused ? 'refused' : 'succeeded',
    loss: 0n,
    summary: refused
      ? 'withheld shares cost an attempt deadline each: coordinators retry without the withholders and every report is certified'
      : 'withholding signers kept reports uncertified',
    evidence,
  };
}
