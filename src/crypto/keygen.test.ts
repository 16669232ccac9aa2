import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secp256k1_FROST } from '@noble/curves/secp256k1.js';
import { peekTag } from '../codec/message.ts';
import { toHex } from './bytes.ts';
import { createEd25519Signer, type Ed25519Signer } from './ed25519.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare, frostVerify } from './frost.ts';
import { sha256 } from './hash.ts';
import {
  createKeygenMachine,
  type KeygenMachine,
  type KeygenOutput,
  type KeygenResult,
  type KeygenSession,
  keygenSessionDigest,
  runLocalKeygen,
  sealKeygenMessage,
} from './keygen.ts';
import {
  KeygenAttestationCodec,
  KeygenComplaintCodec,
  KeygenJustificationCodec,
  KeygenShareCodec,
  SealedKeygenCodec,
} from './keygen-codec.ts';
import { identifierOf, parsePoint, verifyProofOfKnowledge } from './vss.ts';

const signers = Array.from({ length: 40 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`validator ${i}`))),
);
const keysOf = (list: readonly Ed25519Signer[]) => list.map((s) => s.publicKey);
const message = sha256(new TextEncoder().encode('a price report'));

function dkgSession(n: number, epoch = 1): KeygenSession {
  const keys = keysOf(signers.slice(0, n));
  return {
    chainId: 7,
    epoch,
    kind: 'dkg',
    dealerKeys: keys,
    recipientKeys: keys,
    threshold: n - Math.floor((n - 1) / 3),
  };
}

/** Signs `message` with the first `threshold` of `keys` and checks the signature. */
function signs(keys: readonly FrostKeyPackage[], groupPublicKey: Uint8Array): boolean {
  const chosen = keys.slice(0, keys[0]!.threshold);
  const round1 = chosen.map((key) => frostCommit(key));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map<number, Uint8Array>();
  chosen.forEach((key, i) => {
    shares.set(key.index, frostSignShare(key, round1[i]!.nonces, commitments, message));
  });
  return frostVerify(
    frostAggregate(chosen[0]!.public, commitments, message, shares),
    message,
    groupPublicKey,
  );
}

/** What a Byzantine dealer does with its honest machine's outputs (replace, drop, add). */
type Behaviour = (outputs: KeygenOutput[], session: KeygenSession, dealer: number) => KeygenOutput[];

const silent: Behaviour = () => [];

/** Sends recipient `victim` a signed share that is not on its committed polynomial. */
const badShareTo =
  (...victims: number[]): Behaviour =>
  (outputs, session, dealer) =>
    outputs.map((output) =>
      output.to === 'recipient' && victims.includes(output.recipient)
        ? {
            ...output,
            bytes: sealKeygenMessage(
              signers[dealer]!,
              session.chainId,
              KeygenShareCodec.encode({
                session: keygenSessionDigest(session),
                dealer,
                recipient: output.recipient,
                share: sha256(output.bytes),
              }),
            ),
          }
        : output,
    );

interface Network {
  machines: KeygenMachine[];
  results: (KeygenResult | undefined)[];
}

/**
 * Delivers every message to every honest machine (broadcasts) or its recipient, lets Byzantine
 * dealers rewrite what they send, then fires the phase deadlines until all honest machines finish.
 * `equivocators` run a second machine whose deal and shares go to the odd-numbered recipients.
 */
function run(
  session: KeygenSession,
  byzantine: ReadonlyMap<number, Behaviour> = new Map(),
  equivocators: readonly number[] = [],
): Network {
  const n = session.dealerKeys.length;
  const machines = Array.from({ length: n }, (_, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]! }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  const emit = (from: number, outputs: KeygenOutput[]) => {
    const behaviour = byzantine.get(from);
    for (const output of behaviour === undefined ? outputs : behaviour(outputs, session, from))
      queue.push({ from, output });
  };
  const twins = new Map<number, KeygenMachine>();
  machines.forEach((machine, i) => {
    const outputs = machine.start();
    if (!equivocators.includes(i)) {
      emit(i, outputs);
      return;
    }
    // The equivocator shows deal A (and A's shares) to even recipients, deal B to odd ones.
    const twin = createKeygenMachine(session, { dealer: i, signer: signers[i]! });
    twins.set(i, twin);
    const other = twin.start();
    for (const [outputs_, parity] of [
      [outputs, 0],
      [other, 1],
    ] as const) {
      for (const output of outputs_) {
        if (output.to === 'all') {
          for (let r = 0; r < n; r++)
            if (r % 2 === parity && r !== i)
              queue.push({ from: i, output: { to: 'recipient', recipient: r, bytes: output.bytes } });
        } else if (output.recipient % 2 === parity) queue.push({ from: i, output });
      }
    }
  });
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 200_000, 'the network settles');
      const { from, output } = queue.shift()!;
      machines.forEach((machine, r) => {
        if (r === from || byzantine.has(r) || equivocators.includes(r)) return;
        if (output.to === 'recipient' && output.recipient !== r) return;
        emit(r, machine.receive(output.bytes));
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((machine, i) => {
      if (!byzantine.has(i) && !equivocators.includes(i)) emit(i, machine.advance(deadline));
    });
    deliver();
  }
  const honest = (i: number) => !byzantine.has(i) && !equivocators.includes(i);
  return {
    machines,
    get results() {
      return machines.map((m, i) => (honest(i) ? m.result() : undefined));
    },
  };
}

function checkKeyForms(network: Network, expectDisqualified: Record<number, string>) {
  const results = network.results.filter((r): r is KeygenResult => r !== undefined);
  assert.ok(results.length > 0);
  const keys = new Set(results.map((r) => toHex(r.groupPublicKey)));
  assert.equal(keys.size, 1, 'every honest validator holds the same group key');
  assert.equal(new Set(results.map((r) => toHex(r.transcriptDigest))).size, 1, 'and the same QUAL');
  for (const result of results) {
    const named = Object.fromEntries(result.disqualified.map((d) => [d.dealer, d.reason]));
    assert.deepEqual(named, expectDisqualified);
  }
  const packages = results.map((r) => r.key!);
  assert.ok(signs(packages, results[0]!.groupPublicKey), 'honest shares sign under the group key');
  return results[0]!;
}

test('noble DKG round-one proofs of knowledge verify with the VSS verifier, and a changed one does not', () => {
  const round1 = secp256k1_FROST.DKG.round1(secp256k1_FROST.Identifier.fromNumber(3), { min: 2, max: 3 });
  const c0 = parsePoint(round1.public.commitment[0]!)!;
  assert.equal(verifyProofOfKnowledge(identifierOf(2), c0, round1.public.proofOfKnowledge), true);
  assert.equal(verifyProofOfKnowledge(identifierOf(1), c0, round1.public.proofOfKnowledge), false);
  const forged = Uint8Array.from(round1.public.proofOfKnowledge);
  forged[64]! ^= 1;
  assert.equal(verifyProofOfKnowledge(identifierOf(2), c0, forged), false);
});

test('all honest: one key, every dealer qualified, shares sign', () => {
  const result = checkKeyForms(run(dkgSession(4)), {});
  assert.deepEqual(result.qualified, [0, 1, 2, 3]);
  const local = runLocalKeygen(
    dkgSession(4),
    signers.slice(0, 4).map((signer, i) => ({ dealer: i, recipient: i, signer })),
  );
  assert.equal(new Set(local.map((r) => toHex(r.groupPublicKey))).size, 1);
});

test('one dealer sends a bad share: accused with its own signed share as evidence, disqualified, the key forms', () => {
  const result = checkKeyForms(run(dkgSession(4), new Map([[2, badShareTo(0)]])), { 2: 'BAD_SHARE' });
  const verdict = result.disqualified[0]!;
  assert.equal(verdict.evidence.length, 1, 'the evidence is the dealer-signed share');
  assert.deepEqual(result.qualified, [0, 1, 3]);
});

test('f dealers send bad shares (n = 7, f = 2): both named, the key forms from the other 5', () => {
  checkKeyForms(
    run(
      dkgSession(7),
      new Map([
        [1, badShareTo(0, 3)],
        [5, badShareTo(6)],
      ]),
    ),
    { 1: 'BAD_SHARE', 5: 'BAD_SHARE' },
  );
});

test('one dealer silent: named SILENT after the deadline, the key forms', () => {
  checkKeyForms(run(dkgSession(4), new Map([[3, silent]])), { 3: 'SILENT' });
});

test('f dealers silent (n = 7): both named, the key forms', () => {
  checkKeyForms(
    run(
      dkgSession(7),
      new Map([
        [0, silent],
        [4, silent],
      ]),
    ),
    { 0: 'SILENT', 4: 'SILENT' },
  );
});

test('a dealer that deals but withholds one share and never answers: UNANSWERED_COMPLAINT', () => {
  const withhold: Behaviour = (outputs) =>
    outputs.filter((o) => !(o.to === 'recipient' && o.recipient === 1));
  // The dealer's honest machine would answer; this one stays quiet after dealing.
  let dealt = false;
  const dealOnce: Behaviour = (outputs, session, dealer) => {
    if (dealt) return [];
    dealt = true;
    return withhold(outputs, session, dealer);
  };
  checkKeyForms(run(dkgSession(4), new Map([[0, dealOnce]])), { 0: 'UNANSWERED_COMPLAINT' });
});

test('an honest dealer whose share got lost answers in public and stays qualified', () => {
  // The Byzantine party is the network here: dealer 2's share to recipient 0 is dropped once.
  const session = dkgSession(4);
  let dropped = false;
  const lossy: Behaviour = (outputs) =>
    outputs.filter((o) => {
      if (!dropped && o.to === 'recipient' && o.recipient === 0) {
        dropped = true;
        return false;
      }
      return true;
    });
  // Dealer 2 is honest (its machine still runs); only its first share to 0 is lost.
  const n = 4;
  const machines = Array.from({ length: n }, (_, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]! }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  machines.forEach((m, i) => {
    for (const output of i === 2 ? lossy(m.start(), session, i) : m.start()) queue.push({ from: i, output });
  });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || (output.to === 'recipient' && output.recipient !== r)) return;
        for (const out of m.receive(output.bytes)) queue.push({ from: r, output: out });
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((m, i) => {
      for (const output of m.advance(deadline)) queue.push({ from: i, output });
    });
    deliver();
  }
  checkKeyForms({ machines, results: machines.map((m) => m.result()) }, {});
});

test('a dealer that withholds a share and answers the complaint to one validator only cannot split QUAL', () => {
  // Dealer 3 runs its machine but drops its share to 0 and sends its public answer to 1 alone.
  const session = dkgSession(4);
  const isAnswer = (bytes: Uint8Array) =>
    peekTag(SealedKeygenCodec.decode(bytes).payload) === KeygenJustificationCodec.tag;
  const splitter = (outputs: KeygenOutput[]): KeygenOutput[] =>
    outputs.flatMap((output): KeygenOutput[] => {
      if (output.to === 'recipient' && output.recipient === 0) return [];
      if (output.to === 'all' && isAnswer(output.bytes))
        return [{ to: 'recipient', recipient: 1, bytes: output.bytes }];
      return [output];
    });
  const machines = Array.from({ length: 4 }, (_, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]! }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  const emit = (from: number, outputs: KeygenOutput[]) => {
    for (const output of from === 3 ? splitter(outputs) : outputs) queue.push({ from, output });
  };
  machines.forEach((m, i) => {
    emit(i, m.start());
  });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || (output.to === 'recipient' && output.recipient !== r)) return;
        emit(r, m.receive(output.bytes));
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((m, i) => {
      emit(i, m.advance(deadline));
    });
    deliver();
  }
  // Validator 1 relays the answer, so 0 and 2 see it too: one QUAL, one key.
  const honest = [0, 1, 2].map((i) => machines[i]!.result()!);
  assert.equal(
    new Set(honest.map((r) => toHex(r.transcriptDigest))).size,
    1,
    'the honest validators agree on QUAL',
  );
  for (const result of honest) assert.deepEqual(result.qualified, [0, 1, 2, 3]);
});

/**
 * Dealer 3 withholds its share to 0 and times its public answer to 0's complaint at the
 * complaint deadline: validator 1 holds it before its deadline (and finishes with 3 in QUAL),
 * 0 and 2 only after theirs (3 unanswered, out of QUAL). `attest3` is what 3 attests.
 */
function deadlineSplit(attest3: 'with-3' | 'without-3' | 'nothing') {
  const session = dkgSession(4);
  const tagOf = (bytes: Uint8Array) => peekTag(SealedKeygenCodec.decode(bytes).payload);
  const machines = Array.from({ length: 4 }, (_, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]! }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  const held: { from: number; output: KeygenOutput }[] = [];
  let answerOut = false;
  const emit = (from: number, outputs: KeygenOutput[]) => {
    for (const output of outputs) {
      if (from === 3) {
        if (output.to === 'recipient' && output.recipient === 0) continue;
        const tag = tagOf(output.bytes);
        if (tag === KeygenJustificationCodec.tag) {
          held.push({ from, output: { to: 'recipient', recipient: 1, bytes: output.bytes } });
          continue;
        }
        if (tag === KeygenAttestationCodec.tag) continue; // 3 attests by hand, below
      }
      // Whatever 1 relays once it holds the answer reaches the others after their deadline.
      if (answerOut && from === 1) {
        held.push({ from, output });
        continue;
      }
      queue.push({ from, output });
    }
  };
  machines.forEach((m, i) => {
    emit(i, m.start());
  });
  const deliver = (only?: number) => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || (output.to === 'recipient' && output.recipient !== r)) return;
        if (only !== undefined && r !== only) return;
        emit(r, m.receive(output.bytes));
      });
    }
  };
  deliver();
  machines.forEach((m, i) => {
    emit(i, m.advance('deals'));
  });
  deliver();
  // The complaint deadline: 1 gets 3's answer just before its own, 0 and 2 just after theirs.
  answerOut = true;
  queue.push(...held.splice(0, held.length));
  deliver(1);
  emit(1, machines[1]!.advance('complaints'));
  for (const i of [0, 2]) emit(i, machines[i]!.advance('complaints'));
  answerOut = false;
  queue.push(...held.splice(0, held.length));
  if (attest3 !== 'nothing') {
    const view = attest3 === 'with-3' ? machines[1]! : machines[0]!;
    const agreed = (view.phase === 'attesting' || view.phase === 'done') && view;
    assert.ok(agreed, 'the view 3 copies has attested');
    // 3 signs the transcript of the view it sides with (it knows both).
    const theirs = queue.find(
      (q) =>
        q.from === (attest3 === 'with-3' ? 1 : 0) && tagOf(q.output.bytes) === KeygenAttestationCodec.tag,
    );
    assert.ok(theirs !== undefined);
    const body = KeygenAttestationCodec.decode(SealedKeygenCodec.decode(theirs.output.bytes).payload);
    const sealed = sealKeygenMessage(
      signers[3]!,
      session.chainId,
      KeygenAttestationCodec.encode({ ...body, recipient: 3 }),
    );
    queue.push({ from: 3, output: { to: 'all', bytes: sealed } });
  }
  deliver();
  return [0, 1, 2].map((i) => machines[i]!);
}

test('a dealer that times its answer at the complaint deadline cannot leave honest validators with two keys', () => {
  for (const attest3 of ['with-3', 'without-3', 'nothing'] as const) {
    const honest = deadlineSplit(attest3);
    const results = honest.map((m) => (m.phase === 'done' ? m.result() : undefined));
    const finished = results.filter((r): r is KeygenResult => r !== undefined);
    assert.ok(
      new Set(finished.map((r) => toHex(r.transcriptDigest))).size <= 1,
      `${attest3}: every honest validator that finished holds one transcript`,
    );
    for (const result of finished) assert.ok(result.attestations.length >= 3, 'a quorum attested it');
    if (attest3 !== 'without-3') {
      // 0 and 2 attest one transcript, 1 (and 3) the other: no quorum, nobody finishes, nobody
      // holds a key the others do not. The old keyset stays in use (refresh) or none forms (DKG).
      assert.equal(finished.length, 0, `${attest3}: no quorum`);
      for (const m of honest) {
        assert.equal(m.phase, 'attesting');
        assert.deepEqual(m.waitingFor().attestations, attest3 === 'nothing' ? [3] : []);
      }
      continue;
    }
    // 3 sides with 0 and 2: that quorum forms and all three honest validators adopt it, 1 too.
    assert.equal(finished.length, 3, `${attest3}: all honest finish`);
    assert.deepEqual(finished[0]!.qualified, [0, 1, 2]);
    assert.equal(finished[1]!.disqualified[0]?.reason, 'LEFT_OUT_BY_QUORUM');
    assert.ok(
      signs(
        finished.map((r) => r.key!),
        finished[0]!.groupPublicKey,
      ),
    );
  }
});

test('attestations: one counts per recipient, a forged or malformed one changes nothing, f of them form no keyset', () => {
  const session = dkgSession(4);
  const digest = keygenSessionDigest(session);
  const machine = createKeygenMachine(session, { dealer: 0, recipient: 0, signer: signers[0]! });
  machine.start();
  const attest = (signer: number, recipient: number, qualified: number[], transcript: Uint8Array) =>
    sealKeygenMessage(
      signers[signer]!,
      session.chainId,
      KeygenAttestationCodec.encode({ session: digest, recipient, qualified, transcript }),
    );
  const fake = sha256(new TextEncoder().encode('a transcript nobody computed'));
  // Signed by 1 but claiming to be 2: refused by signature.
  assert.throws(
    () => machine.receive(attest(1, 2, [0, 1, 2], fake)),
    (e: unknown) => (e as { code?: string }).code === 'BAD_AUTHENTICATION',
  );
  // QUAL not ascending, or below the minimum: ignored.
  assert.deepEqual(machine.receive(attest(1, 1, [2, 1, 0], fake)), []);
  assert.deepEqual(machine.receive(attest(2, 2, [0, 1], fake)), []);
  assert.deepEqual(machine.waitingFor().attestations, [0, 1, 2, 3]);
  // A quorum's worth of attestations of a transcript this machine cannot compute: nothing forms.
  for (const r of [1, 2, 3]) machine.receive(attest(r, r, [0, 1, 2], fake));
  // A second, different attestation from 1 is not counted again.
  machine.receive(attest(1, 1, [0, 1, 2, 3], fake));
  assert.notEqual(machine.phase, 'done');
  assert.equal(machine.result(), undefined);
  assert.deepEqual(machine.waitingFor().attestations, [0]);
});

test('one dealer equivocates its commitment: both signed deals are the evidence, the key forms', () => {
  const result = checkKeyForms(run(dkgSession(4), new Map(), [1]), { 1: 'EQUIVOCATION' });
  assert.equal(result.disqualified[0]!.evidence.length, 2);
});

test('f dealers equivocate (n = 7): both named, the key forms', () => {
  checkKeyForms(run(dkgSession(7), new Map(), [2, 6]), { 2: 'EQUIVOCATION', 6: 'EQUIVOCATION' });
});

test('mixed f faults (n = 10, f = 3): a bad share, a silent dealer and an equivocator, each named', () => {
  checkKeyForms(
    run(
      dkgSession(10),
      new Map([
        [0, badShareTo(4)],
        [9, silent],
      ]),
      [5],
    ),
    {
      0: 'BAD_SHARE',
      5: 'EQUIVOCATION',
      9: 'SILENT',
    },
  );
});

test('f + 1 faulty dealers (n = 4): too few qualified, a typed error naming them', () => {
  const network = run(
    dkgSession(4),
    new Map([
      [0, silent],
      [1, silent],
    ]),
  );
  assert.throws(
    () => network.machines[2]!.result(),
    (error: Error & { code?: string; culprits?: number[] }) =>
      error.code === 'NOT_ENOUGH_QUALIFIED' && error.culprits?.join() === '0,1',
  );
});

test('a false accusation (a valid share presented as bad) does not disqualify the dealer; the liar is named', () => {
  // Recipient 3 deals honestly, then broadcasts a complaint accusing dealer 0 with dealer 0's genuine share.
  const session = dkgSession(4);
  const machines = Array.from({ length: 4 }, (_, i) =>
    createKeygenMachine(session, { dealer: i, recipient: i, signer: signers[i]! }),
  );
  const queue: { from: number; output: KeygenOutput }[] = [];
  const deals: Uint8Array[] = [];
  let genuineShareTo3: Uint8Array | undefined;
  machines.forEach((m, i) => {
    for (const output of m.start()) {
      if (output.to === 'all') deals[i] = output.bytes;
      if (i === 0 && output.to === 'recipient' && output.recipient === 3) genuineShareTo3 = output.bytes;
      queue.push({ from: i, output });
    }
  });
  const lie = sealKeygenMessage(
    signers[3]!,
    session.chainId,
    KeygenComplaintCodec.encode({
      session: keygenSessionDigest(session),
      recipient: 3,
      dealDigests: deals.map((deal) => sha256(deal)),
      accusations: [{ dealer: 0, evidence: genuineShareTo3! }],
    }),
  );
  queue.push({ from: 3, output: { to: 'all', bytes: lie } });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || r === 3 || (output.to === 'recipient' && output.recipient !== r)) return;
        for (const out of m.receive(output.bytes)) queue.push({ from: r, output: out });
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((m, i) => {
      if (i === 3) return;
      for (const output of m.advance(deadline)) queue.push({ from: i, output });
    });
    deliver();
  }
  const results = machines.slice(0, 3).map((m) => m.result()!);
  for (const result of results) {
    assert.deepEqual(result.qualified, [0, 1, 2, 3]);
    assert.deepEqual(result.falseAccusers, [3]);
  }
  assert.equal(new Set(results.map((r) => toHex(r.groupPublicKey))).size, 1);
  assert.ok(
    signs(
      results.map((r) => r.key!),
      results[0]!.groupPublicKey,
    ),
  );
});

test('a message for another session, or not signed by its author, is refused and changes nothing', () => {
  const session = dkgSession(4);
  const other = dkgSession(4, 2);
  const a = createKeygenMachine(session, { dealer: 0, recipient: 0, signer: signers[0]! });
  const b = createKeygenMachine(other, { dealer: 1, recipient: 1, signer: signers[1]! });
  a.start();
  const foreign = b.start()[0]!.bytes;
  assert.throws(() => a.receive(foreign), { code: 'WRONG_SESSION' });
  const forged = sealKeygenMessage(
    signers[2]!,
    session.chainId,
    KeygenShareCodec.encode({
      session: keygenSessionDigest(session),
      dealer: 1,
      recipient: 0,
      share: new Uint8Array(32).fill(1),
    }),
  );
  assert.throws(() => a.receive(forged), { code: 'BAD_AUTHENTICATION' });
  assert.throws(() => a.receive(new Uint8Array([1, 2, 3])), { code: 'MALFORMED' });
  assert.deepEqual(a.waitingFor().deals, [1, 2, 3]);
});

test('a dealing seed makes a restarted dealer deal the same bytes again; another session or seed deals otherwise', () => {
  const keys = keysOf(signers.slice(0, 4));
  const dkg = {
    chainId: 7,
    epoch: 1,
    kind: 'dkg' as const,
    dealerKeys: keys,
    recipientKeys: keys,
    threshold: 3,
  };
  const seed = sha256(new TextEncoder().encode('validator 2 identity'));
  const start = (session: typeof dkg, dealingSeed?: Uint8Array) =>
    createKeygenMachine(session, {
      dealer: 2,
      recipient: 2,
      signer: signers[2]!,
      ...(dealingSeed === undefined ? {} : { dealingSeed }),
    })
      .start()
      .map((output) => toHex(output.bytes));
  const first = start(dkg, seed);
  assert.deepEqual(start(dkg, seed), first, 'the crash-restarted dealer repeats itself');
  assert.notDeepEqual(start({ ...dkg, epoch: 2 }, seed), first, 'another session');
  assert.notDeepEqual(start(dkg, sha256(seed)), first, 'another seed');
  assert.notDeepEqual(start(dkg), start(dkg), 'without a seed each start samples afresh');
  // The seeded dealing is a valid one: every recipient finishes with the same group key.
  const results = runLocalKeygen(
    dkg,
    [0, 1, 2, 3].map((i) => ({
      dealer: i,
      recipient: i,
      signer: signers[i]!,
      dealingSeed: sha256(Uint8Array.of(i, ...seed)),
    })),
  );
  assert.equal(new Set(results.map((r) => toHex(r.key!.groupPublicKey))).size, 1);
});
