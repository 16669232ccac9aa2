import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../crypto/bytes.ts';
import { createEd25519Signer } from '../crypto/ed25519.ts';
import type { FrostKeyPackage } from '../crypto/frost.ts';
import { sha256 } from '../crypto/hash.ts';
import { runLocalKeygen } from '../crypto/keygen.ts';
import { Fn } from '../crypto/vss.ts';
import { createShareRepair, type RepairOutput, type ShareRepair } from './share-repair.ts';
import { RepairSplitCodec, RepairSumCodec } from './share-repair-codec.ts';

const DEADLINE_MS = 1000;

function setup(n: number) {
  const signers = Array.from({ length: n }, (_, i) =>
    createEd25519Signer(sha256(new TextEncoder().encode(`r${i}`))),
  );
  const publicKeys = signers.map((s) => s.publicKey);
  const threshold = n - Math.floor((n - 1) / 3);
  const keys = runLocalKeygen(
    { chainId: 7, epoch: 3, kind: 'dkg', dealerKeys: publicKeys, recipientKeys: publicKeys, threshold },
    signers.map((signer, i) => ({ dealer: i, recipient: i, signer })),
  ).map((r) => r.key!);
  return { signers, publicKeys, threshold, keys };
}

/** An output as sent; `sender` delivers it as from another identity key than its emitter's. */
type Sent = RepairOutput & { sender?: Uint8Array };
type Tamper = (from: number, output: RepairOutput) => Sent | undefined;

/** Validator `lost` has no key; the others help. Returns the repaired key and everything each saw. */
function run(n: number, lost: number, tamper: Tamper = (_, o) => o) {
  const { signers, publicKeys, threshold, keys } = setup(n);
  const engines: ShareRepair[] = signers.map((signer, i) =>
    createShareRepair({
      chainId: 7,
      signer,
      deadlineMs: DEADLINE_MS,
      held: (epoch) => (i !== lost && epoch === 3 ? { key: keys[i]!, members: publicKeys } : undefined),
    }),
  );
  const indexOf = (key: Uint8Array) => publicKeys.findIndex((k) => toHex(k) === toHex(key));
  const seen: { from: number; to: number; bytes: Uint8Array }[] = [];
  const queue: { from: number; output: Sent }[] = [];
  const emit = (from: number, outputs: RepairOutput[]) => {
    for (const output of outputs) {
      const sent = tamper(from, output);
      if (sent !== undefined) queue.push({ from, output: sent });
    }
  };
  let now = 0;
  emit(lost, engines[lost]!.request(3, { members: publicKeys, threshold }, [], now));
  let repaired: FrostKeyPackage | undefined;
  for (; now < 20 * DEADLINE_MS && repaired === undefined; now += 100) {
    while (queue.length > 0) {
      const { from, output } = queue.shift()!;
      const to = indexOf(output.to);
      seen.push({ from, to, bytes: output.bytes });
      emit(to, engines[to]!.receive(output.sender ?? publicKeys[from]!, output.bytes, now));
    }
    repaired = engines[lost]!.takeRepaired()[0]?.key;
    engines.forEach((engine, v) => {
      emit(v, engine.tick(now));
    });
  }
  return {
    repaired,
    keys,
    seen,
    stats: engines[lost]!.stats(),
    failure: engines[lost]!.failure(),
    threshold,
  };
}

const corruptScalar = (bytes: Uint8Array) => {
  const copy = Uint8Array.from(bytes);
  copy[31]! ^= 1;
  return copy;
};

test('a validator that lost its share gets the same share back from t helpers over the channels', () => {
  const { repaired, keys, stats } = run(4, 2);
  assert.ok(repaired, 'repaired');
  assert.equal(toHex(repaired.secret.signingShare), toHex(keys[2]!.secret.signingShare));
  assert.equal(toHex(repaired.groupPublicKey), toHex(keys[2]!.groupPublicKey));
  assert.equal(repaired.epoch, 3);
  assert.deepEqual(stats.culprits, []);
});

test('no helper learns the share: nothing a helper receives is the share, and sums go only to the lost validator', () => {
  const { repaired, keys, seen } = run(7, 4);
  assert.ok(repaired);
  const share = Fn.fromBytes(keys[4]!.secret.signingShare);
  for (const message of seen) {
    if (message.bytes[2] === (RepairSumCodec.tag & 0xff))
      assert.equal(message.to, 4, 'σ only to the lost validator');
    if (message.bytes[2] === (RepairSplitCodec.tag & 0xff)) {
      const { body } = RepairSplitCodec.decode(message.bytes);
      assert.notEqual(Fn.fromBytes(body.summand), share);
      assert.notEqual(message.to, 4, 'summands never reach the lost validator');
    }
  }
});

test('a helper that sends another helper a summand off its commitment is named BAD_SUMMAND (by its own signed split); repair still completes', () => {
  const { repaired, keys, stats } = run(7, 0, (from, output) => {
    if (from !== 1 || output.bytes[2] !== (RepairSplitCodec.tag & 0xff)) return output;
    // Validator 1 re-signs a corrupted summand (it is Byzantine: it has its own key).
    const { signers } = setup(7);
    const { body } = RepairSplitCodec.decode(output.bytes);
    const bad = { ...body, summand: corruptScalar(body.summand) };
    return {
      to: output.to,
      bytes: RepairSplitCodec.encode({ body: bad, signature: signOf(signers[1]!, bad) }),
    };
  });
  assert.ok(repaired, 'repaired without the cheat');
  assert.equal(toHex(repaired.secret.signingShare), toHex(keys[0]!.secret.signingShare));
  assert.ok(
    stats.culprits.some((c) => c.helper === 1 && c.fault === 'BAD_SUMMAND'),
    JSON.stringify(stats.culprits),
  );
  assert.ok(
    stats.culprits.every((c) => c.helper === 1),
    'no honest helper is named',
  );
});

test('a helper that sends the lost validator a wrong sum is named BAD_SUM; repair still completes', () => {
  const { repaired, stats } = run(7, 3, (from, output) => {
    if (from !== 0 || output.bytes[2] !== (RepairSumCodec.tag & 0xff)) return output;
    const sum = RepairSumCodec.decode(output.bytes);
    return { to: output.to, bytes: RepairSumCodec.encode({ ...sum, sum: corruptScalar(sum.sum) }) };
  });
  assert.ok(repaired);
  assert.deepEqual(
    stats.culprits.map((c) => [c.helper, c.fault]),
    [[0, 'BAD_SUM']],
  );
});

test('too few honest helpers (n = 4, t = 3, one cheater): no share, a typed TOO_FEW_HELPERS naming the convicted one', () => {
  const { repaired, stats, failure } = run(4, 3, (from, output) => {
    if (from !== 0 || output.bytes[2] !== (RepairSumCodec.tag & 0xff)) return output;
    const sum = RepairSumCodec.decode(output.bytes);
    return { to: output.to, bytes: RepairSumCodec.encode({ ...sum, sum: corruptScalar(sum.sum) }) };
  });
  assert.equal(repaired, undefined, 'never repaired from a set holding the cheater');
  assert.deepEqual(
    stats.culprits.map((c) => [c.helper, c.fault]),
    [[0, 'BAD_SUM']],
  );
  assert.deepEqual(failure, { epoch: 3, code: 'TOO_FEW_HELPERS', convicted: [0] });
  assert.equal(stats.attempts, 1, 'gave up rather than retry with the cheater');
});

test('a helper that accuses an honest one with evidence that does not convict is named FALSE_ACCUSATION', () => {
  let forged = false;
  const { repaired, stats } = run(7, 6, (from, output) => {
    if (from !== 2 || output.bytes[2] !== (RepairSumCodec.tag & 0xff) || forged) return output;
    forged = true;
    const sum = RepairSumCodec.decode(output.bytes);
    return {
      to: output.to,
      bytes: RepairSumCodec.encode({ ...sum, accusations: [{ helper: 0, evidence: new Uint8Array(5) }] }),
    };
  });
  assert.ok(repaired);
  assert.ok(stats.culprits.some((c) => c.helper === 2 && c.fault === 'FALSE_ACCUSATION'));
  assert.ok(!stats.culprits.some((c) => c.helper === 0));
});

test('a silent helper is named SILENT at the deadline and passed over', () => {
  const { repaired, keys, stats } = run(7, 5, (from, output) => (from === 3 ? undefined : output));
  assert.ok(repaired);
  assert.equal(toHex(repaired.secret.signingShare), toHex(keys[5]!.secret.signingShare));
  assert.deepEqual(
    stats.culprits.map((c) => [c.helper, c.fault]),
    [[3, 'SILENT']],
  );
});

test('a helper that lies about the keyset is outvoted and named WRONG_KEYSET', () => {
  const { repaired, keys, stats } = run(7, 5, (from, output) => {
    if (from !== 1 || output.bytes[2] !== (RepairSumCodec.tag & 0xff)) return output;
    const sum = RepairSumCodec.decode(output.bytes);
    const shares = sum.verifyingShares.map((p) => Uint8Array.from(p));
    shares[5] = Uint8Array.from(shares[0]!);
    return { to: output.to, bytes: RepairSumCodec.encode({ ...sum, verifyingShares: shares }) };
  });
  assert.ok(repaired);
  assert.equal(toHex(repaired.secret.signingShare), toHex(keys[5]!.secret.signingShare));
  assert.ok(
    stats.culprits.some((c) => c.helper === 1 && c.fault === 'WRONG_KEYSET'),
    JSON.stringify(stats.culprits),
  );
});

test('a repair request from anyone but the lost validator itself is ignored', () => {
  const { signers, publicKeys, threshold, keys } = setup(4);
  const helper = createShareRepair({
    chainId: 7,
    signer: signers[0]!,
    deadlineMs: DEADLINE_MS,
    held: () => ({ key: keys[0]!, members: publicKeys }),
  });
  const asker = createShareRepair({
    chainId: 7,
    signer: signers[3]!,
    deadlineMs: DEADLINE_MS,
    held: () => undefined,
  });
  const request = asker
    .request(3, { members: publicKeys, threshold }, [], 0)
    .find((o) => toHex(o.to) === toHex(publicKeys[0]!))!;
  assert.deepEqual(helper.receive(publicKeys[1]!, request.bytes, 0), [], 'relayed by validator 1: no split');
  assert.ok(helper.receive(publicKeys[3]!, request.bytes, 0).length > 0, 'from validator 3 itself: splits');
});

test('keysets, not validators: a request naming another member list or threshold, an epoch the helper does not sign in, or sent by a non-member gets nothing', () => {
  const { signers, publicKeys, threshold, keys } = setup(4);
  const stranger = createEd25519Signer(sha256(new TextEncoder().encode('stranger')));
  const helper = createShareRepair({
    chainId: 7,
    signer: signers[0]!,
    deadlineMs: DEADLINE_MS,
    held: (epoch) => (epoch === 3 ? { key: keys[0]!, members: publicKeys } : undefined),
  });
  const splitsFor = (
    from: Uint8Array,
    asker: ShareRepair,
    epoch: number,
    members: Uint8Array[],
    t: number,
  ) => {
    const request = asker
      .request(epoch, { members, threshold: t }, [publicKeys[0]!], 0)
      .find((o) => toHex(o.to) === toHex(publicKeys[0]!));
    return request === undefined ? 0 : helper.receive(from, request.bytes, 0).length;
  };
  const askerOf = (signer: typeof stranger) =>
    createShareRepair({ chainId: 7, signer, deadlineMs: DEADLINE_MS, held: () => undefined });
  // The same four keys in another order: member indices mean other validators.
  const reordered = [publicKeys[0]!, publicKeys[2]!, publicKeys[1]!, publicKeys[3]!];
  assert.equal(
    splitsFor(publicKeys[3]!, askerOf(signers[3]!), 3, reordered, threshold),
    0,
    'another member order',
  );
  assert.equal(
    splitsFor(publicKeys[3]!, askerOf(signers[3]!), 3, publicKeys, threshold - 1),
    0,
    'another threshold',
  );
  assert.equal(splitsFor(publicKeys[3]!, askerOf(signers[3]!), 2, publicKeys, threshold), 0, 'an old epoch');
  // A stranger that puts itself in the list in place of validator 3.
  const withStranger = [...publicKeys.slice(0, 3), stranger.publicKey];
  assert.equal(splitsFor(stranger.publicKey, askerOf(stranger), 3, withStranger, threshold), 0, 'a stranger');
  assert.ok(splitsFor(publicKeys[3]!, askerOf(signers[3]!), 3, publicKeys, threshold) > 0, 'control: splits');
});

test('a sum sent by a validator outside the run’s keyset counts for nothing, whatever helper it names', () => {
  const outsider = createEd25519Signer(sha256(new TextEncoder().encode('outsider')));
  let replaced = 0;
  // Helper 0's sum to the lost validator is taken over by an outsider: same fields, a wrong σ.
  const { repaired, keys, stats } = run(7, 1, (from, output) => {
    if (from !== 0 || output.bytes[2] !== (RepairSumCodec.tag & 0xff)) return output;
    replaced++;
    const sum = RepairSumCodec.decode(output.bytes);
    return {
      to: output.to,
      bytes: RepairSumCodec.encode({ ...sum, sum: corruptScalar(sum.sum) }),
      sender: outsider.publicKey,
    };
  });
  assert.ok(replaced > 0);
  assert.ok(repaired, 'repaired without helper 0');
  assert.equal(toHex(repaired.secret.signingShare), toHex(keys[1]!.secret.signingShare));
  assert.deepEqual(
    stats.culprits.map((c) => [c.helper, c.fault]),
    [[0, 'SILENT']],
    'helper 0 sent nothing (the outsider’s sum is not its), and no BAD_SUM is charged to it',
  );
});

import { DomainTag } from '../crypto/domain.ts';
import { type Ed25519Signer, signInDomain } from '../crypto/ed25519.ts';
import { type RepairSplitBody, RepairSplitBodyCodec } from './share-repair-codec.ts';

function signOf(signer: Ed25519Signer, body: RepairSplitBody) {
  return signInDomain(signer, DomainTag.dkg, 7, RepairSplitBodyCodec.encode(body));
}
