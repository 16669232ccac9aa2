/**
 * `palisade bench keys [--json] [--quick] [--sizes=4,7,16,31]`: the threshold keyset's protocols on this machine, each
 * beside the all-honest run of the same protocol measured in the same process, as ratios.
 *
 * - DKG with complaints (src/crypto/keygen.ts) for n = 4, 7, 16, 31 at t = 2f + 1: all honest,
 *   and with f dealers sending bad shares (accused with evidence, disqualified); beside it the
 *   plain noble FROST DKG (src/crypto/dkg.ts, no complaint round) as the peer;
 * - proactive refresh and resharing (n → n, a new set of the same size), honest and with f bad
 *   dealers;
 * - certificate latency (signing request to aggregated signature, src/interop/threshold-signing.ts,
 *   every message delivered at once in one process): all honest, f signers sending bad shares
 *   (compute), and f signers withholding their share (the attempt deadline, 2 s, dominates:
 *   reported in simulated time with the attempts it took).
 *
 * Every validator's work is done in this one process, so a time is the sum over n validators; a
 * validator's own share of it is about 1/n.
 */
import { runLocalDkg } from '../src/crypto/dkg.ts';
import { createEd25519Signer, type Ed25519Signer } from '../src/crypto/ed25519.ts';
import type { FrostKeyPackage } from '../src/crypto/frost.ts';
import { sha256 } from '../src/crypto/hash.ts';
import {
  createKeygenMachine,
  type KeygenOutput,
  type KeygenRole,
  type KeygenSession,
  keygenSessionDigest,
  sealKeygenMessage,
} from '../src/crypto/keygen.ts';
import { KeygenShareCodec } from '../src/crypto/keygen-codec.ts';
import { SigningAttemptShareCodec } from '../src/interop/signing-codec.ts';
import { createThresholdSigner, type SigningOutput } from '../src/interop/threshold-signing.ts';

const ATTEMPT_MS = 2000;

const faultsOf = (n: number) => Math.floor((n - 1) / 3);
const thresholdOf = (n: number) => n - faultsOf(n);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timed<T>(runs: number, body: () => T): { ms: number; last: T } {
  const samples: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    last = body();
    samples.push(performance.now() - start);
  }
  return { ms: Number(median(samples).toFixed(1)), last: last as T };
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(2));

/**
 * Runs one keygen session; the first `bad` dealers send every recipient a signed share that is
 * off their commitment. Returns the honest recipients' key packages, by recipient index.
 */
function runSession(session: KeygenSession, roles: readonly KeygenRole[], bad: number): FrostKeyPackage[] {
  const machines = roles.map((role) => createKeygenMachine(session, role));
  const digest = keygenSessionDigest(session);
  const byzantine = (i: number) => roles[i]!.dealer !== undefined && roles[i]!.dealer! < bad;
  const queue: { from: number; output: KeygenOutput }[] = [];
  const emit = (from: number, outputs: KeygenOutput[]) => {
    for (const output of outputs) {
      if (byzantine(from) && output.to === 'recipient') {
        const dealer = roles[from]!.dealer!;
        const share = KeygenShareCodec.encode({
          session: digest,
          dealer,
          recipient: output.recipient,
          share: sha256(output.bytes),
        });
        queue.push({
          from,
          output: { ...output, bytes: sealKeygenMessage(roles[from]!.signer, session.chainId, share) },
        });
      } else queue.push({ from, output });
    }
  };
  machines.forEach((machine, i) => {
    emit(i, machine.start());
  });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((machine, i) => {
        if (i === from || byzantine(i)) return;
        if (output.to === 'recipient' && roles[i]!.recipient !== output.recipient) return;
        emit(i, machine.receive(output.bytes));
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((machine, i) => {
      if (!byzantine(i)) emit(i, machine.advance(deadline));
    });
    deliver();
  }
  const keys: FrostKeyPackage[] = [];
  machines.forEach((machine, i) => {
    const key = byzantine(i) ? undefined : machine.result()?.key;
    if (key !== undefined) keys[key.index] = key;
  });
  return keys;
}

function identities(n: number, offset = 0): Ed25519Signer[] {
  return Array.from({ length: n }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`bench keys ${i + offset}`))),
  );
}

function benchKeygen(n: number, runs: number) {
  const f = faultsOf(n);
  const t = thresholdOf(n);
  const set = identities(n);
  const keys = set.map((s) => s.publicKey);
  const dkgSession: KeygenSession = {
    chainId: 1,
    epoch: 1,
    kind: 'dkg',
    dealerKeys: keys,
    recipientKeys: keys,
    threshold: t,
  };
  const sameSet = set.map((signer, i) => ({ dealer: i, recipient: i, signer }));
  const honestDkg = timed(runs, () => runSession(dkgSession, sameSet, 0));
  const faultyDkg = timed(runs, () => runSession(dkgSession, sameSet, f));
  const noble = timed(runs, () => runLocalDkg({ chainId: 1, epoch: 1, participants: n, threshold: t }));
  const old = honestDkg.last;
  const refreshSession: KeygenSession = {
    ...dkgSession,
    epoch: 2,
    kind: 'refresh',
    previous: old[0]!.public,
  };
  const refreshRoles = set.map((signer, i) => ({ dealer: i, recipient: i, signer, previousKey: old[i]! }));
  const honestRefresh = timed(runs, () => runSession(refreshSession, refreshRoles, 0));
  const faultyRefresh = timed(runs, () => runSession(refreshSession, refreshRoles, f));
  const next = identities(n, 100);
  const reshareSession: KeygenSession = {
    chainId: 1,
    epoch: 3,
    kind: 'reshare',
    dealerKeys: keys,
    recipientKeys: next.map((s) => s.publicKey),
    threshold: t,
    previous: old[0]!.public,
  };
  const reshareRoles: KeygenRole[] = [
    ...set.map((signer, i) => ({ dealer: i, signer, previousKey: old[i]! })),
    ...next.map((signer, j) => ({ recipient: j, signer })),
  ];
  const honestReshare = timed(runs, () => runSession(reshareSession, reshareRoles, 0));
  const faultyReshare = timed(runs, () => runSession(reshareSession, reshareRoles, f));
  return {
    n,
    threshold: t,
    f,
    dkg: {
      honestMs: honestDkg.ms,
      faultyMs: faultyDkg.ms,
      ratioFaulty: ratio(faultyDkg.ms, honestDkg.ms),
      nobleDkgMs: noble.ms,
      ratioToNoble: ratio(honestDkg.ms, noble.ms),
    },
    refresh: {
      honestMs: honestRefresh.ms,
      faultyMs: faultyRefresh.ms,
      ratioFaulty: ratio(faultyRefresh.ms, honestRefresh.ms),
    },
    reshare: {
      honestMs: honestReshare.ms,
      faultyMs: faultyReshare.ms,
      ratioFaulty: ratio(faultyReshare.ms, honestReshare.ms),
    },
    keys: old,
  };
}

type SigningFault = 'bad-shares' | 'withholds';

/** One session from open to aggregate: compute time and simulated time (ticks of 100 ms). */
function signOnce(keys: FrostKeyPackage[], faulty: ReadonlySet<number>, fault: SigningFault, label: number) {
  const n = keys.length;
  const engines = keys.map((key) =>
    createThresholdSigner({ chainId: 1, self: key.index, key, attemptMs: ATTEMPT_MS }),
  );
  const queue: { from: number; output: SigningOutput }[] = [];
  let now = 0;
  const shareTag = SigningAttemptShareCodec.tag & 0xff;
  const emit = (from: number, outputs: SigningOutput[]) => {
    for (const output of outputs) {
      if (faulty.has(from) && output.bytes[2] === shareTag) {
        if (fault === 'withholds') continue;
        const body = SigningAttemptShareCodec.decode(output.bytes);
        const share = Uint8Array.from(body.share);
        share[0]! ^= 0x40;
        queue.push({
          from,
          output: { to: output.to, bytes: SigningAttemptShareCodec.encode({ ...body, share }) },
        });
      } else queue.push({ from, output });
    }
  };
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      emit(output.to, engines[output.to]!.receive(from, output.bytes, now));
    }
  };
  const digest = sha256(new TextEncoder().encode(`bench report ${label}`));
  // Faulty validators finalize first, so they are among the first t commitments (the worst case).
  const order = [...keys.keys()].sort((a, b) => Number(faulty.has(b)) - Number(faulty.has(a)));
  const start = performance.now();
  for (const v of order) emit(v, engines[v]!.open(digest, 0, now));
  deliver();
  const done = () => engines.flatMap((engine) => engine.takeCompleted());
  let completed = done();
  while (completed.length === 0 && now < 40 * ATTEMPT_MS) {
    now += 100;
    engines.forEach((engine, v) => {
      emit(v, engine.tick(now));
    });
    deliver();
    completed = done();
  }
  const computeMs = performance.now() - start;
  if (completed.length === 0) throw new Error(`signing n=${n} did not complete`);
  return { computeMs, simulatedMs: now, attempt: completed[0]!.attempt };
}

function benchSigning(keys: FrostKeyPackage[], runs: number) {
  const n = keys.length;
  const f = faultsOf(n);
  const faulty = new Set(Array.from({ length: f }, (_, i) => i + 1));
  const sample = (set: ReadonlySet<number>, fault: SigningFault) => {
    const results = Array.from({ length: runs }, (_, i) => signOnce(keys, set, fault, i));
    return {
      computeMs: Number(median(results.map((r) => r.computeMs)).toFixed(1)),
      simulatedMs: median(results.map((r) => r.simulatedMs)),
      attempts: median(results.map((r) => r.attempt)) + 1,
    };
  };
  const honest = sample(new Set(), 'bad-shares');
  const badShares = sample(faulty, 'bad-shares');
  const withholding = sample(faulty, 'withholds');
  return {
    n,
    f,
    honest,
    badShares: { ...badShares, ratioCompute: ratio(badShares.computeMs, honest.computeMs) },
    withholding: {
      ...withholding,
      latencyMs: withholding.simulatedMs + withholding.computeMs,
      ratioLatency: ratio(
        withholding.simulatedMs + withholding.computeMs,
        honest.simulatedMs + honest.computeMs,
      ),
    },
  };
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const sizesArgument = args.find((arg) => arg.startsWith('--sizes='));
  const sizes = sizesArgument
    ? sizesArgument
        .slice('--sizes='.length)
        .split(',')
        .map(Number)
        .filter((n) => Number.isInteger(n) && n >= 4 && n <= 128)
    : quick
      ? [4, 7]
      : [4, 7, 16, 31];
  const progress = (text: string) => {
    if (!json) process.stderr.write(`${text}\n`);
  };
  // Warm the JIT on the smallest size first, so the first measured figure is not compile time.
  progress('warm-up');
  benchSigning(benchKeygen(4, 1).keys, 2);
  const keygen = [];
  const signing = [];
  for (const n of sizes) {
    progress(`keygen n = ${n}`);
    const runs = n >= 16 ? 1 : quick ? 2 : 3;
    const measured = benchKeygen(n, runs);
    progress(`signing n = ${n}`);
    signing.push(benchSigning(measured.keys, n >= 16 ? 2 : 5));
    const { keys: _keys, ...figures } = measured;
    keygen.push(figures);
  }
  const result = { benchmark: 'keys', node: process.version, attemptMs: ATTEMPT_MS, keygen, signing };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(
    'times are all n validators\u2019 work in one process; "faulty" = f = \u230a(n\u22121)/3\u230b Byzantine',
  );
  for (const k of keygen) {
    console.log(
      `n=${k.n} t=${k.threshold} f=${k.f}  DKG ${k.dkg.honestMs} ms (×${k.dkg.ratioToNoble} the plain noble DKG ${k.dkg.nobleDkgMs} ms), f bad dealers ${k.dkg.faultyMs} ms (×${k.dkg.ratioFaulty})` +
        `  | refresh ${k.refresh.honestMs} ms, faulty ${k.refresh.faultyMs} ms (×${k.refresh.ratioFaulty})` +
        `  | reshare ${k.reshare.honestMs} ms, faulty ${k.reshare.faultyMs} ms (×${k.reshare.ratioFaulty})`,
    );
  }
  for (const s of signing) {
    console.log(
      `n=${s.n} f=${s.f}  certificate: honest ${s.honest.computeMs} ms compute` +
        `  | f bad shares ${s.badShares.computeMs} ms (×${s.badShares.ratioCompute}, ${s.badShares.attempts} attempts)` +
        `  | f withholding ${s.withholding.latencyMs.toFixed(0)} ms with the ${ATTEMPT_MS} ms attempt deadline (×${s.withholding.ratioLatency}, ${s.withholding.attempts} attempts)`,
    );
  }
  return 0;
}
