import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from './bytes.ts';
import { createEd25519Signer } from './ed25519.ts';
import { type FrostKeyPackage, frostAggregate, frostCommit, frostSignShare, frostVerify } from './frost.ts';
import { sha256 } from './hash.ts';
import { runLocalKeygen } from './keygen.ts';
import { RepairError, type RepairSplit, repairRecover, repairSplit, repairSum } from './repair.ts';
import { Fn, scalarBytes } from './vss.ts';

const signers = Array.from({ length: 5 }, (_, i) =>
  createEd25519Signer(sha256(new TextEncoder().encode(`repair ${i}`))),
);
const keyset: FrostKeyPackage[] = runLocalKeygen(
  {
    chainId: 7,
    epoch: 3,
    kind: 'dkg',
    dealerKeys: signers.map((s) => s.publicKey),
    recipientKeys: signers.map((s) => s.publicKey),
    threshold: 3,
  },
  signers.map((signer, i) => ({ dealer: i, recipient: i, signer })),
).map((r) => r.key!);
const helpers = [0, 2, 3];
const lost = 4;

/** Runs the three steps; `tamper` lets a test corrupt one helper's step-1 or step-2 output. */
function repair(
  tamper: {
    split?: (split: RepairSplit) => RepairSplit;
    sum?: (helper: number, sigma: Uint8Array) => Uint8Array;
  } = {},
) {
  const splits = helpers.map((h) => {
    const split = repairSplit(keyset[h]!, helpers, lost);
    return tamper.split ? tamper.split(split) : split;
  });
  const sums = new Map<number, Uint8Array>();
  for (const self of helpers) {
    const received = new Map(
      splits.map((s) => [s.helper, { summand: s.summands.get(self)!, commitments: s.commitments }]),
    );
    const sigma = repairSum(keyset[self]!.public, helpers, lost, self, received);
    sums.set(self, tamper.sum ? tamper.sum(self, sigma) : sigma);
  }
  const template = { epoch: 3, threshold: 3, participants: 5, groupPublicKey: keyset[0]!.groupPublicKey };
  return repairRecover(
    keyset[0]!.public,
    template,
    helpers,
    lost,
    sums,
    new Map(splits.map((s) => [s.helper, s.commitments])),
  );
}

function signs(keys: FrostKeyPackage[]): boolean {
  const message = sha256(new Uint8Array([1]));
  const round1 = keys.map((k) => frostCommit(k));
  const commitments = round1.map((r) => r.commitment);
  const shares = new Map(
    keys.map((k, i) => [k.index, frostSignShare(k, round1[i]!.nonces, commitments, message)]),
  );
  return frostVerify(
    frostAggregate(keys[0]!.public, commitments, message, shares),
    message,
    keys[0]!.groupPublicKey,
  );
}

test('a lost share is repaired from t helpers: the same share, and it signs', () => {
  const repaired = repair();
  assert.equal(toHex(repaired.secret.signingShare), toHex(keyset[lost]!.secret.signingShare));
  assert.ok(signs([repaired, keyset[1]!, keyset[0]!]));
});

test('no helper sees the share: each receives random summands, different on every run, none equal to it', () => {
  const lostShare = Fn.fromBytes(keyset[lost]!.secret.signingShare);
  const views = [0, 1].map(() => helpers.map((h) => repairSplit(keyset[h]!, helpers, lost)));
  for (const self of helpers) {
    const first = views[0]!.map((s) => toHex(s.summands.get(self)!));
    const second = views[1]!.map((s) => toHex(s.summands.get(self)!));
    assert.notDeepEqual(first, second, 'fresh randomness every repair');
    for (const split of views[0]!) assert.notEqual(Fn.fromBytes(split.summands.get(self)!), lostShare);
  }
});

test('a helper that splits something other than its share is named: BAD_SPLIT', () => {
  assert.throws(
    () =>
      repair({
        split: (split) =>
          split.helper === 2
            ? repairSplit(
                { ...keyset[2]!, secret: { ...keyset[2]!.secret, signingShare: scalarBytes(99n) } },
                helpers,
                lost,
              )
            : split,
      }),
    (error: unknown) =>
      error instanceof RepairError && error.code === 'BAD_SPLIT' && error.culprits.join() === '2',
  );
});

test('a helper whose private summand differs from its commitment is named: BAD_SUMMAND', () => {
  assert.throws(
    () =>
      repair({
        split: (split) =>
          split.helper === 3
            ? {
                ...split,
                summands: new Map(
                  [...split.summands].map(([h, d]) => [
                    h,
                    h === 0 ? scalarBytes(Fn.add(Fn.fromBytes(d), 1n)) : d,
                  ]),
                ),
              }
            : split,
      }),
    (error: unknown) =>
      error instanceof RepairError && error.code === 'BAD_SUMMAND' && error.culprits.join() === '3',
  );
});

test('a helper that sends the lost validator a wrong sum is named: BAD_SUM', () => {
  assert.throws(
    () =>
      repair({
        sum: (helper, sigma) => (helper === 0 ? scalarBytes(Fn.add(Fn.fromBytes(sigma), 7n)) : sigma),
      }),
    (error: unknown) =>
      error instanceof RepairError && error.code === 'BAD_SUM' && error.culprits.join() === '0',
  );
});

test('fewer than t helpers, or the lost validator among them, is refused', () => {
  assert.throws(() => repairSplit(keyset[0]!, [0, 2], lost), { code: 'BAD_HELPER_SET' });
  assert.throws(() => repairSplit(keyset[0]!, [0, 2, 4], lost), { code: 'BAD_HELPER_SET' });
});
