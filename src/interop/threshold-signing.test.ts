import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvariantError } from '../codec/invariant.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import { type FrostKeyPackage, frostVerify } from '../crypto/frost.ts';
import { sha256 } from '../crypto/hash.ts';
import { runLocalKeygen } from '../crypto/keygen.ts';
import { SigningAttemptRequestCodec, SigningAttemptShareCodec, SigningCommitCodec } from './signing-codec.ts';
import {
  createThresholdSigner,
  type SigningCompletion,
  type SigningOutput,
  type ThresholdSigner,
} from './threshold-signing.ts';

function keyset(n: number): FrostKeyPackage[] {
  const signers = Array.from({ length: n }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`v${i}`))),
  );
  const keys = signers.map((s) => s.publicKey);
  const session = {
    chainId: 7,
    epoch: 1,
    kind: 'dkg' as const,
    dealerKeys: keys,
    recipientKeys: keys,
    threshold: n - Math.floor((n - 1) / 3),
  };
  return runLocalKeygen(
    session,
    signers.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  ).map((r) => r.key!);
}

/** How a faulty validator treats what its honest engine would send. */
type Fault = 'crashed' | 'withholds-shares' | 'bad-shares' | 'unreduced-shares';

const ATTEMPT_MS = 1000;

/**
 * Runs `messages` sessions (coordinator base i mod n) in simulated time with zero network delay,
 * ticking every 100 ms, and returns each honest coordinator's completions and when they came.
 */
function simulate(keys: FrostKeyPackage[], faults: ReadonlyMap<number, Fault>, messages: number) {
  const n = keys.length;
  const engines: ThresholdSigner[] = keys.map((key) =>
    createThresholdSigner({ chainId: 7, self: key.index, key, attemptMs: ATTEMPT_MS }),
  );
  let now = 0;
  const queue: { from: number; output: SigningOutput }[] = [];
  const emit = (from: number, outputs: SigningOutput[]) => {
    const fault = faults.get(from);
    if (fault === 'crashed') return;
    for (const output of outputs) {
      if (fault === 'withholds-shares' && output.bytes[2] === (SigningAttemptShareCodec.tag & 0xff)) continue;
      if (fault === 'bad-shares' && output.bytes[2] === (SigningAttemptShareCodec.tag & 0xff)) {
        const share = SigningAttemptShareCodec.decode(output.bytes);
        const corrupted = Uint8Array.from(share.share);
        corrupted[31]! ^= 1;
        queue.push({
          from,
          output: { to: output.to, bytes: SigningAttemptShareCodec.encode({ ...share, share: corrupted }) },
        });
        continue;
      }
      if (fault === 'unreduced-shares' && output.bytes[2] === (SigningAttemptShareCodec.tag & 0xff)) {
        // 32 bytes, but no scalar: above the group order, which a parser may reject or reduce.
        const share = SigningAttemptShareCodec.decode(output.bytes);
        const corrupted = new Uint8Array(32).fill(0xff);
        queue.push({
          from,
          output: { to: output.to, bytes: SigningAttemptShareCodec.encode({ ...share, share: corrupted }) },
        });
        continue;
      }
      queue.push({ from, output });
    }
  };
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      if (faults.get(output.to) === 'crashed') continue;
      emit(output.to, engines[output.to]!.receive(from, output.bytes, now));
    }
  };
  const digests = Array.from({ length: messages }, (_, i) => sha256(new TextEncoder().encode(`report ${i}`)));
  digests.forEach((digest, i) => {
    engines.forEach((engine, v) => {
      if (faults.get(v) !== 'crashed') emit(v, engine.open(digest, i % n, now));
    });
  });
  deliver();
  const done: (SigningCompletion & { atMs: number })[] = [];
  const collect = () =>
    engines.forEach((engine, v) => {
      if (faults.has(v)) return;
      for (const completion of engine.takeCompleted()) {
        done.push({ ...completion, atMs: now });
        for (const other of engines) other.close(completion.message);
      }
    });
  collect();
  for (; now <= 20 * ATTEMPT_MS && done.length < messages; now += 100) {
    engines.forEach((engine, v) => {
      if (faults.get(v) !== 'crashed') emit(v, engine.tick(now));
    });
    deliver();
    collect();
  }
  return { done, digests, engines };
}

function expectAllSigned(keys: FrostKeyPackage[], faults: ReadonlyMap<number, Fault>, messages: number) {
  const { done, digests, engines } = simulate(keys, faults, messages);
  assert.equal(done.length, messages, `every session completes (${done.length} of ${messages})`);
  for (const completion of done) {
    assert.ok(digests.some((d) => Buffer.compare(d, completion.message) === 0));
    assert.ok(frostVerify(completion.signature, completion.message, keys[0]!.groupPublicKey));
  }
  return { done, engines };
}

test('all honest: every session signs in its first attempt', () => {
  const keys = keyset(4);
  const { done } = expectAllSigned(keys, new Map(), 8);
  assert.ok(done.every((d) => d.attempt === 0 && d.atMs === 0));
});

test('one validator (f = 1 of 4) commits then withholds its share: retried without it, every session signs', () => {
  const keys = keyset(4);
  const { done, engines } = expectAllSigned(keys, new Map([[1, 'withholds-shares']]), 8);
  for (const completion of done) assert.ok(!completion.signers.includes(1));
  const silent = engines
    .filter((_, v) => v !== 1)
    .reduce((sum, e) => sum + (e.stats().faults[1]?.silent ?? 0), 0);
  assert.ok(silent >= 1, 'the withholding validator is named');
});

test('f = 2 of 7 send shares that fail RFC 9591 §5.4: named, excluded at once, every session signs', () => {
  const keys = keyset(7);
  const faults = new Map<number, Fault>([
    [2, 'bad-shares'],
    [5, 'bad-shares'],
  ]);
  const { done, engines } = expectAllSigned(keys, faults, 7);
  for (const completion of done)
    assert.ok(!completion.signers.includes(2) && !completion.signers.includes(5));
  // A bad share is retried at once, within the coordinator's turn: where the first coordinator is
  // honest, no deadline is waited for (a faulty one's turn must run out first).
  for (const completion of done) {
    const base =
      [...Array(7).keys()].find(
        (i) => Buffer.compare(sha256(new TextEncoder().encode(`report ${i}`)), completion.message) === 0,
      )! % 7;
    if (!faults.has(base)) assert.equal(completion.atMs, 0, `session with coordinator ${base} waited`);
  }
  const bad = engines.reduce(
    (sum, e) => sum + (e.stats().faults[2]?.badShares ?? 0) + (e.stats().faults[5]?.badShares ?? 0),
    0,
  );
  assert.ok(bad >= 1);
});

test('f = 2 of 7 in one attempt, one flips a bit of its share and one sends no scalar: both named together, every session signs', () => {
  // The coordinator no longer checks shares as they arrive: it aggregates, and checks them one by
  // one only when the group signature fails. Both bad signers must still be named from that one
  // failure and left out of the retry, and no completion may carry a signature that does not verify.
  const keys = keyset(7);
  const faults = new Map<number, Fault>([
    [1, 'bad-shares'],
    [2, 'unreduced-shares'],
  ]);
  const { done, engines } = expectAllSigned(keys, faults, 7);
  for (const completion of done)
    assert.ok(!completion.signers.includes(1) && !completion.signers.includes(2));
  for (const faulty of [1, 2]) {
    const named = engines.reduce((sum, e) => sum + (e.stats().faults[faulty]?.badShares ?? 0), 0);
    assert.ok(named >= 1, `validator ${faulty} named for its share`);
  }
  // t = 5 of 7 and the first commitments in are the lowest indices: both are chosen together in
  // at least one first attempt, and that attempt names both at once (one retry, not two).
  const both = engines.filter(
    (e) => (e.stats().faults[1]?.badShares ?? 0) > 0 && (e.stats().faults[2]?.badShares ?? 0) > 0,
  );
  assert.ok(both.length >= 1, 'some coordinator named both from one failed aggregation');
  for (const completion of done) {
    const base =
      [...Array(7).keys()].find(
        (i) => Buffer.compare(sha256(new TextEncoder().encode(`report ${i}`)), completion.message) === 0,
      )! % 7;
    if (!faults.has(base))
      assert.ok(
        completion.attempt <= 1 && completion.atMs === 0,
        `coordinator ${base}: attempt ${completion.attempt}`,
      );
  }
});

test('f = 2 of 7 crashed, including coordinators: the next validator takes over, every session signs', () => {
  const keys = keyset(7);
  expectAllSigned(
    keys,
    new Map<number, Fault>([
      [0, 'crashed'],
      [3, 'crashed'],
    ]),
    7,
  );
});

test('f = 2 of 7 mixed (one withholds, one corrupts), with coordinators among them: every session signs', () => {
  const keys = keyset(7);
  expectAllSigned(
    keys,
    new Map<number, Fault>([
      [1, 'withholds-shares'],
      [4, 'bad-shares'],
    ]),
    14,
  );
});

test('a nonce commitment is never issued twice: a repeating random source trips the invariant', () => {
  const [key] = keyset(4);
  const stuck = () => new Uint8Array(32).fill(7);
  const engine = createThresholdSigner({
    chainId: 7,
    self: key!.index,
    key: key!,
    attemptMs: ATTEMPT_MS,
    randomBytes: stuck,
  });
  engine.open(sha256(new Uint8Array([1])), 1, 0);
  assert.throws(() => engine.open(sha256(new Uint8Array([2])), 1, 0), InvariantError);
});

test('a replayed request gets no second share, and a retry asks for fresh commitments, never the old ones', () => {
  const keys = keyset(4);
  const coordinator = createThresholdSigner({ chainId: 7, self: 0, key: keys[0]!, attemptMs: ATTEMPT_MS });
  const signer = createThresholdSigner({ chainId: 7, self: 1, key: keys[1]!, attemptMs: ATTEMPT_MS });
  const other = createThresholdSigner({ chainId: 7, self: 2, key: keys[2]!, attemptMs: ATTEMPT_MS });
  const digest = sha256(new Uint8Array([9]));
  coordinator.open(digest, 0, 0);
  const commit1 = signer.open(digest, 0, 0)[0]!;
  const commit2 = other.open(digest, 0, 0)[0]!;
  const requests = [...coordinator.receive(1, commit1.bytes, 0), ...coordinator.receive(2, commit2.bytes, 0)];
  const toSigner = requests.find((r) => r.to === 1)!;
  const share = signer.receive(0, toSigner.bytes, 0);
  assert.equal(share.length, 1, 'one share for the attempt');
  assert.deepEqual(signer.receive(0, toSigner.bytes, 0), [], 'the same request again: no second share');
  coordinator.receive(1, share[0]!.bytes, 0);
  // Validator 2 never delivers: at the deadline it is excluded and attempt 1 invites 1 and 3.
  const invites = coordinator.tick(ATTEMPT_MS);
  assert.deepEqual(invites.map((o) => o.to).sort(), [1, 3]);
  const fresh = signer.receive(0, invites.find((o) => o.to === 1)!.bytes, ATTEMPT_MS);
  assert.equal(fresh.length, 1);
  const before = SigningCommitCodec.decode(commit1.bytes);
  const after = SigningCommitCodec.decode(fresh[0]!.bytes);
  assert.equal(after.attempt, 1);
  assert.notEqual(Buffer.compare(before.hiding, after.hiding), 0, 'fresh nonces for the retry');
  assert.deepEqual(
    signer.receive(0, toSigner.bytes, ATTEMPT_MS),
    [],
    'the attempt-0 list still signs nothing',
  );
  assert.equal(coordinator.stats().faults[2]?.silent, 1);
});

test('commitments of another epoch do not count, arriving before the session opens or after', () => {
  const keys = keyset(4);
  const coordinator = createThresholdSigner({ chainId: 7, self: 0, key: keys[0]!, attemptMs: ATTEMPT_MS });
  const digest = sha256(new Uint8Array([5]));
  const commits = [1, 2].map((v) => {
    const signer = createThresholdSigner({ chainId: 7, self: v, key: keys[v]!, attemptMs: ATTEMPT_MS });
    return SigningCommitCodec.decode(signer.open(digest, 0, 0)[0]!.bytes);
  });
  // The same commitments relabelled for epoch 2 arrive before the session is open.
  for (const commit of commits)
    coordinator.receive(commit.signer, SigningCommitCodec.encode({ ...commit, epoch: 2 }), 0);
  assert.deepEqual(coordinator.open(digest, 0, 0), [], 'no signing request from foreign-epoch commitments');
  const requests = commits.flatMap((commit) =>
    coordinator.receive(commit.signer, SigningCommitCodec.encode(commit), 0),
  );
  assert.ok(requests.length > 0, 'a signing request once the epoch-1 commitments are in');
  const chosen = SigningAttemptRequestCodec.decode(requests[0]!.bytes).commitments.map((c) => c.signer);
  assert.deepEqual(chosen.sort(), [0, 1, 2], 'the epoch-1 commitments count');
});

/**
 * Sessions opened one every `everyMs` (coordinator base i mod n), validator `crashed` down
 * between `downMs` and `upMs` (it sends and receives nothing then, and keeps its state, as after a
 * restart with its key file). Returns when each session completed, relative to its opening, and by
 * whom.
 */
function timeline(
  keys: FrostKeyPackage[],
  options: { crashed: number; downMs: number; upMs: number; sessions: number; everyMs: number },
) {
  const n = keys.length;
  const engines = keys.map((key) =>
    createThresholdSigner({ chainId: 7, self: key.index, key, attemptMs: ATTEMPT_MS }),
  );
  let now = 0;
  const down = (v: number) => v === options.crashed && now >= options.downMs && now < options.upMs;
  const queue: { from: number; output: SigningOutput }[] = [];
  const emit = (from: number, outputs: SigningOutput[]) => {
    if (!down(from)) for (const output of outputs) queue.push({ from, output });
  };
  const digests = Array.from({ length: options.sessions }, (_, i) =>
    sha256(new TextEncoder().encode(`timeline ${i}`)),
  );
  const done = new Map<number, { afterMs: number; by: number; attempt: number }>();
  for (; now <= options.sessions * options.everyMs + 10 * ATTEMPT_MS; now += 50) {
    if (now % options.everyMs === 0 && now / options.everyMs < options.sessions) {
      const i = now / options.everyMs;
      engines.forEach((engine, v) => {
        if (!down(v)) emit(v, engine.open(digests[i]!, i % n, now));
      });
    }
    engines.forEach((engine, v) => {
      if (!down(v)) emit(v, engine.tick(now));
    });
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      if (!down(output.to)) emit(output.to, engines[output.to]!.receive(from, output.bytes, now));
    }
    engines.forEach((engine, v) => {
      for (const completion of engine.takeCompleted()) {
        const i = digests.findIndex((d) => Buffer.compare(d, completion.message) === 0);
        if (!done.has(i))
          done.set(i, { afterMs: now - i * options.everyMs, by: v, attempt: completion.attempt });
        assert.ok(frostVerify(completion.signature, completion.message, keys[0]!.groupPublicKey));
        for (const other of engines) other.close(completion.message);
      }
    });
  }
  return done;
}

test('one of 4 crashed: a session it would coordinate waits at most one attempt deadline, later ones none', () => {
  const keys = keyset(4);
  const sessions = 16;
  const done = timeline(keys, {
    crashed: 3,
    downMs: 0,
    upMs: Number.POSITIVE_INFINITY,
    sessions,
    everyMs: 500,
  });
  assert.equal(done.size, sessions, 'every session signs');
  const waits = [...done.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d.afterMs);
  for (const [i, wait] of waits.entries())
    assert.ok(wait <= ATTEMPT_MS + 100, `session ${i} (base ${i % 4}) took ${wait} ms, over one deadline`);
  // Once validator 3 has been seen silent as coordinator, its sessions are taken over at once.
  const later = waits.filter((_, i) => i % 4 === 3).slice(1);
  assert.ok(later.length >= 2 && later.every((wait) => wait <= 100), `later base-3 sessions: ${later}`);
});

test('a crashed coordinator that comes back coordinates its sessions again (the way back)', () => {
  const keys = keyset(4);
  const sessions = 24;
  const done = timeline(keys, { crashed: 3, downMs: 0, upMs: 6000, sessions, everyMs: 500 });
  assert.equal(done.size, sessions);
  // Sessions opened after it is back, with base 3: validator 3 aggregates them itself.
  const back = [...done.entries()].filter(([i]) => i % 4 === 3 && i * 500 >= 8000);
  assert.ok(back.length >= 2);
  assert.ok(
    back.some(([, d]) => d.by === 3 && d.attempt === 0),
    `after its return validator 3 coordinates again: ${JSON.stringify(back)}`,
  );
});
