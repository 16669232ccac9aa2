/**
 * The validators' eon DKG (./eon-keygen.ts) under the dealers that would steal, freeze or split it:
 * a bad share (convicted by its own signed share), a silent dealer, a dealer that shows two
 * commitments (equivocation), a false accuser (the accused stays), forged and foreign messages
 * (refused, nothing changes), a restart in the middle (the same deal again, and the keyset still
 * agreed), and attestations that are too few or of another transcript. Each keyset that forms is
 * used: a message encrypted to it decrypts with 2f + 1 combined key shares.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peekTag } from '../../codec/message.ts';
import { toHex } from '../bytes.ts';
import { createEd25519Signer } from '../ed25519.ts';
import { sha256 } from '../hash.ts';
import {
  createEonKeygenMachine,
  type EonAgreement,
  EonKeygenError,
  type EonKeygenMachine,
  type EonKeygenOutput,
  type EonKeygenSession,
  eonKeygenSessionDigest,
  eonThreshold,
  sealEonKeygenMessage,
  verifyEonAttestations,
} from './eon-keygen.ts';
import { EonJustificationCodec, EonShareCodec, SealedEonKeygenCodec } from './eon-keygen-codec.ts';
import { shutterDecrypt, shutterEncrypt, shutterIdentityPoint } from './ibe.ts';
import { combineKeyShares, computeKeyShare } from './key-shares.ts';

const signers = Array.from({ length: 10 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`eon validator ${i}`))),
);

function session(n: number, eon = 1): EonKeygenSession {
  return {
    chainId: 7,
    eon,
    validatorKeys: signers.slice(0, n).map((s) => s.publicKey),
    threshold: eonThreshold(n),
  };
}

type Behaviour = (outputs: EonKeygenOutput[], session: EonKeygenSession, dealer: number) => EonKeygenOutput[];

const silent: Behaviour = () => [];

const badShareTo =
  (...victims: number[]): Behaviour =>
  (outputs, s, dealer) =>
    outputs.map((output) =>
      output.to === 'recipient' && victims.includes(output.recipient)
        ? {
            ...output,
            bytes: sealEonKeygenMessage(
              signers[dealer]!,
              s.chainId,
              EonShareCodec.encode({
                session: eonKeygenSessionDigest(s),
                dealer,
                recipient: output.recipient,
                share: sha256(output.bytes).map((b, i) => (i === 0 ? 0 : b)),
              }),
            ),
          }
        : output,
    );

interface Run {
  machines: EonKeygenMachine[];
  honest: number[];
}

/**
 * Delivers every broadcast to every honest machine and every share to its recipient, lets
 * Byzantine validators rewrite what they send, then fires both deadlines. An `equivocator` deals
 * deal A to even recipients and deal B (another polynomial) to odd ones.
 */
function run(
  s: EonKeygenSession,
  byzantine: ReadonlyMap<number, Behaviour> = new Map(),
  equivocators: readonly number[] = [],
  seeds?: readonly Uint8Array[],
  /** Byzantine validators that also receive (their machine runs; only their outputs are rewritten). */
  listening: readonly number[] = [],
): Run {
  const n = s.validatorKeys.length;
  const machines = Array.from({ length: n }, (_, i) =>
    createEonKeygenMachine(s, {
      index: i,
      signer: signers[i]!,
      ...(seeds ? { dealingSeed: seeds[i]! } : {}),
    }),
  );
  const isHonest = (i: number) => !byzantine.has(i) && !equivocators.includes(i);
  const queue: { from: number; output: EonKeygenOutput }[] = [];
  const emit = (from: number, outputs: EonKeygenOutput[]) => {
    const behaviour = byzantine.get(from);
    for (const output of behaviour === undefined ? outputs : behaviour(outputs, s, from))
      queue.push({ from, output });
  };
  machines.forEach((machine, i) => {
    const outputs = machine.start();
    if (!equivocators.includes(i)) {
      emit(i, outputs);
      return;
    }
    const twin = createEonKeygenMachine(s, { index: i, signer: signers[i]! }).start();
    for (const [list, parity] of [
      [outputs, 0],
      [twin, 1],
    ] as const)
      for (const output of list) {
        if (output.to === 'all') {
          for (let r = 0; r < n; r++)
            if (r % 2 === parity && r !== i)
              queue.push({ from: i, output: { to: 'recipient', recipient: r, bytes: output.bytes } });
        } else if (output.recipient % 2 === parity) queue.push({ from: i, output });
      }
  });
  const deliver = () => {
    for (let steps = 0; queue.length > 0; steps++) {
      assert.ok(steps < 100_000, 'the network settles');
      const { from, output } = queue.shift()!;
      machines.forEach((machine, r) => {
        if (r === from || (!isHonest(r) && !listening.includes(r))) return;
        if (output.to === 'recipient' && output.recipient !== r) return;
        emit(r, machine.receive(output.bytes));
      });
    }
  };
  deliver();
  for (const deadline of ['deals', 'complaints'] as const) {
    machines.forEach((machine, i) => {
      if (isHonest(i)) emit(i, machine.advance(deadline));
    });
    deliver();
  }
  return { machines, honest: machines.map((_, i) => i).filter(isHonest) };
}

/** A message encrypted to the agreed eon key opens with the key combined from 2f + 1 holders' shares. */
function decrypts(agreements: readonly { index: number; agreement: EonAgreement }[]): boolean {
  const { keyset } = agreements[0]!.agreement;
  const identity = shutterIdentityPoint(new TextEncoder().encode('block 12'));
  const plaintext = new TextEncoder().encode('buy 1 BTC-C-60000 at 1,200');
  const ciphertext = shutterEncrypt(plaintext, keyset.eonPublicKey, identity, new Uint8Array(32).fill(9));
  const shares = agreements.slice(0, keyset.threshold).map(({ index, agreement }) => ({
    validatorIndex: index,
    share: computeKeyShare(agreement.secretShare, identity),
  }));
  const combined = combineKeyShares(shares, keyset.threshold);
  if (!combined.ok) return false;
  const opened = shutterDecrypt(ciphertext, combined.key);
  return opened.ok && toHex(opened.message) === toHex(plaintext);
}

function checkAgreed(result: Run, disqualified: Record<number, string>) {
  const agreements = result.honest.map((index) => {
    const agreement = result.machines[index]!.agreed();
    assert.ok(agreement !== undefined, `validator ${index} agreed`);
    return { index, agreement };
  });
  assert.equal(new Set(agreements.map((a) => toHex(a.agreement.keyset.eonPublicKey.toBytes(true)))).size, 1);
  for (const index of result.honest) {
    const own = result.machines[index]!.result()!;
    assert.deepEqual(Object.fromEntries(own.disqualified.map((d) => [d.dealer, d.reason])), disqualified);
  }
  assert.ok(decrypts(agreements), 'the agreed key decrypts with 2f + 1 combined shares');
  return agreements[0]!.agreement;
}

test('all honest: every dealer qualified, one agreed eon key that decrypts', () => {
  const agreement = checkAgreed(run(session(4)), {});
  assert.deepEqual(agreement.keyset.qualified, [0, 1, 2, 3]);
  assert.equal(agreement.attestations.length, 3, 'n − f attestations settle it');
});

test('a dealer sends a bad share: convicted by its own signed share, the key forms without it', () => {
  const result = run(session(4), new Map([[2, badShareTo(0)]]));
  const agreement = checkAgreed(result, { 2: 'BAD_SHARE' });
  assert.deepEqual(agreement.keyset.qualified, [0, 1, 3]);
  const verdict = result.machines[1]!.result()!.disqualified[0]!;
  assert.equal(verdict.evidence.length, 1, 'the evidence is the dealer-signed share');
});

test('a silent dealer is named SILENT; the other 2f + 1 make the key', () => {
  const agreement = checkAgreed(run(session(4), new Map([[3, silent]])), { 3: 'SILENT' });
  assert.deepEqual(agreement.keyset.qualified, [0, 1, 2]);
});

test('a dealer that shows two commitments is caught as EQUIVOCATION with both signed deals', () => {
  const result = run(session(4), new Map(), [1]);
  checkAgreed(result, { 1: 'EQUIVOCATION' });
  const verdict = result.machines[0]!.result()!.disqualified[0]!;
  assert.equal(verdict.evidence.length, 2);
});

test('f = 2 of 7 misbehave (bad share and silent): both named, the key forms from 5', () => {
  const agreement = checkAgreed(
    run(
      session(7),
      new Map([
        [1, badShareTo(4, 5)],
        [6, silent],
      ]),
    ),
    {
      1: 'BAD_SHARE',
      6: 'SILENT',
    },
  );
  assert.deepEqual(agreement.keyset.qualified, [0, 2, 3, 4, 5]);
});

test('a lost share: the accused dealer reveals it, stays qualified, and the accuser uses the reveal', () => {
  const s = session(4);
  const machines = Array.from({ length: 4 }, (_, i) =>
    createEonKeygenMachine(s, { index: i, signer: signers[i]! }),
  );
  const queue: { from: number; output: EonKeygenOutput }[] = [];
  machines.forEach((m, i) => {
    for (const output of m.start()) queue.push({ from: i, output });
  });
  const deliver = () => {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      machines.forEach((m, r) => {
        if (r === from || (output.to === 'recipient' && output.recipient !== r)) return;
        // Dealer 0's share for 3 is lost: 3 accuses 0 (no evidence), 0 reveals it, 3 uses it.
        if (from === 0 && output.to === 'recipient' && r === 3 && m.phase === 'dealing') return;
        for (const next of m.receive(output.bytes)) queue.push({ from: r, output: next });
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
  const own = machines.map((m) => m.result()!);
  for (const r of own) assert.deepEqual(r.qualified, [0, 1, 2, 3], 'the accused dealer stays');
  const agreements = machines.map((m, index) => ({ index, agreement: m.agreed()! }));
  assert.ok(agreements.every((a) => a.agreement !== undefined));
  assert.ok(decrypts(agreements.slice(1)), 'validator 3 holds a working share from the revealed one');
});

test('a dealer that withholds a share and answers the complaint to one validator only cannot split QUAL', () => {
  const s = session(4);
  const isJustification = (bytes: Uint8Array) =>
    peekTag(SealedEonKeygenCodec.decode(bytes).payload) === EonJustificationCodec.tag;
  const splitter: Behaviour = (outputs) =>
    outputs.flatMap((output): EonKeygenOutput[] => {
      if (output.to === 'recipient' && output.recipient === 0) return [];
      if (output.to === 'all' && isJustification(output.bytes))
        return [{ to: 'recipient', recipient: 1, bytes: output.bytes }];
      return [output];
    });
  const result = run(s, new Map([[3, splitter]]), [], undefined, [3]);
  // Validator 1 relays the answer: everyone sees it, and everyone keeps dealer 3.
  const agreement = checkAgreed(result, {});
  assert.deepEqual(agreement.keyset.qualified, [0, 1, 2, 3]);
});

test('forged, foreign and misaddressed messages are refused with a typed error and change nothing', () => {
  const s = session(4);
  const machine = createEonKeygenMachine(s, { index: 0, signer: signers[0]! });
  machine.start();
  const peer = createEonKeygenMachine(s, { index: 1, signer: signers[1]! });
  const outputs = peer.start();
  const deal = outputs.find((o) => o.to === 'all')!.bytes;
  const forged = Uint8Array.from(deal);
  forged[forged.length - 1]! ^= 1;
  assert.throws(
    () => machine.receive(forged),
    (e: unknown) => e instanceof EonKeygenError && e.code === 'BAD_AUTHENTICATION',
  );
  const other = createEonKeygenMachine(session(4, 9), { index: 1, signer: signers[1]! }).start()[0]!.bytes;
  assert.throws(
    () => machine.receive(other),
    (e: unknown) => e instanceof EonKeygenError && e.code === 'WRONG_SESSION',
  );
  const notOurs = outputs.find((o) => o.to === 'recipient' && o.recipient === 2)!.bytes;
  assert.throws(
    () => machine.receive(notOurs),
    (e: unknown) => e instanceof EonKeygenError && e.code === 'NOT_FOR_US',
  );
  assert.throws(
    () => machine.receive(new Uint8Array([1, 2, 3])),
    (e: unknown) => e instanceof EonKeygenError && e.code === 'MALFORMED',
  );
  assert.deepEqual(machine.waitingFor().deals, [1, 2, 3], 'nothing was taken');
  machine.receive(deal);
  assert.deepEqual(machine.waitingFor().deals, [2, 3]);
});

test('a dealer that restarts mid-round deals the same bytes again, and the restarted validator still agrees', () => {
  const s = session(4);
  const seeds = signers.slice(0, 4).map((_, i) => sha256(new TextEncoder().encode(`seed ${i}`)));
  const first = createEonKeygenMachine(s, { index: 2, signer: signers[2]!, dealingSeed: seeds[2]! }).start();
  const again = createEonKeygenMachine(s, { index: 2, signer: signers[2]!, dealingSeed: seeds[2]! }).start();
  assert.deepEqual(
    first.map((o) => toHex(o.bytes)),
    again.map((o) => toHex(o.bytes)),
    'the restarted dealer sends copies, not an equivocation',
  );
  // The others finish among themselves (2 is down); 2 comes back and hears everything they sent.
  const network = run(s, new Map([[2, silent]]), [], seeds);
  const sent: Uint8Array[] = [];
  // What the others re-send to a straggler: their deals and shares to 2 (the same bytes every
  // start, seeded), then their attestations.
  const restarted = createEonKeygenMachine(s, { index: 2, signer: signers[2]!, dealingSeed: seeds[2]! });
  restarted.start();
  for (const i of [0, 1, 3]) {
    const m = createEonKeygenMachine(s, { index: i, signer: signers[i]!, dealingSeed: seeds[i]! });
    for (const output of m.start())
      if (output.to === 'all' || output.recipient === 2) sent.push(output.bytes);
  }
  // The finished peers' complaints, answers and attestations come from the first run's machines.
  assert.ok(network.machines[0]!.agreed() !== undefined);
  const honestTranscript = network.machines[0]!.agreed()!;
  for (const bytes of sent) restarted.receive(bytes);
  for (const bytes of honestTranscript.attestations) restarted.receive(bytes);
  const agreement = restarted.agreed();
  assert.ok(agreement !== undefined, 'the restarted validator adopts the attested keyset');
  assert.equal(
    toHex(agreement.keyset.eonPublicKey.toBytes(true)),
    toHex(honestTranscript.keyset.eonPublicKey.toBytes(true)),
  );
  assert.deepEqual(agreement.keyset.qualified, [0, 1, 3], 'it was left out as a dealer, but holds its share');
  assert.ok(
    decrypts([
      { index: 0, agreement: network.machines[0]!.agreed()! },
      { index: 2, agreement },
      { index: 3, agreement: network.machines[3]!.agreed()! },
    ]),
  );
});

test('attestations: n − f of the same transcript verify; too few, or one of another transcript, do not', () => {
  const s = session(4);
  const agreement = checkAgreed(run(s), {});
  const { qualified } = agreement.keyset;
  const keyset = verifyEonAttestations(
    s,
    qualified,
    agreement.commitment,
    agreement.attestations.slice(0, 3),
  );
  assert.equal(toHex(keyset.eonPublicKey.toBytes(true)), toHex(agreement.keyset.eonPublicKey.toBytes(true)));
  assert.throws(
    () => verifyEonAttestations(s, qualified, agreement.commitment, agreement.attestations.slice(0, 2)),
    (e: unknown) => e instanceof EonKeygenError && e.code === 'BAD_ATTESTATIONS',
  );
  const doubled = [agreement.attestations[0]!, agreement.attestations[0]!, agreement.attestations[1]!];
  assert.throws(() => verifyEonAttestations(s, qualified, agreement.commitment, doubled), EonKeygenError);
  assert.throws(
    () => verifyEonAttestations(s, [0, 1, 2], agreement.commitment, agreement.attestations),
    (e: unknown) => e instanceof EonKeygenError && e.code === 'BAD_ATTESTATIONS',
    'the attestations name QUAL: dropping a dealer is another transcript',
  );
  const other = checkAgreed(run(session(4, 2)), {});
  assert.throws(
    () => verifyEonAttestations(s, qualified, other.commitment, agreement.attestations),
    EonKeygenError,
  );
});

test('more than f dealers bad: no keyset (NOT_ENOUGH_QUALIFIED names them), nothing agreed', () => {
  const result = run(
    session(4),
    new Map([
      [1, silent],
      [2, silent],
    ]),
  );
  for (const index of result.honest) {
    assert.throws(
      () => result.machines[index]!.result(),
      (e: unknown) =>
        e instanceof EonKeygenError && e.code === 'NOT_ENOUGH_QUALIFIED' && e.culprits.join() === '1,2',
    );
    assert.equal(result.machines[index]!.agreed(), undefined);
  }
});
