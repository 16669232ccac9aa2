/**
 * The per-window eon DKG driver (./eon-epochs.ts) without a network: keypers on an in-memory bus
 * with a manual clock, fed the committed set the chain would give them.
 *
 *   joiner       a validator added by governance (pending for boundary 20) is a keyper of W_1 as
 *                soon as W_1's set is settled: it deals, receives, attests, and its share of eon 2
 *                combines with two others into a W_1 block's key, which opens an envelope; the
 *                activation the keypers agreed on passes the block rule against the new set;
 *   removed      a validator the change removes starts nothing for W_1;
 *   f silent     one keyper of five never deals or attests: the other four agree after the deadlines;
 *   restart      a keyper recreated on its key files agrees at once on the same eon, share and
 *                record, without a DKG; past windows' files are deleted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { type CommittedSet, judgeEonActivation } from '../chain/eon-schedule.ts';
import { toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { identityOfEnvelope, sealOrder } from '../crypto/shutter/envelope.ts';
import { shutterDecryptBytes } from '../crypto/shutter/ibe.ts';
import { combineBatchKeyShares, releaseBatchKeyShares } from '../crypto/shutter/key-shares.ts';
import { nobleBackend } from '../crypto/shutter/pairing-backend.ts';
import { actionTransaction, testSigner } from '../execution/fixtures.ts';
import { createEonEpochs, type EonEpochs } from './eon-epochs.ts';
import { manualClock } from './manual-clock.ts';

const CHAIN_ID = 7;
const E = 20;
const people = Array.from({ length: 6 }, (_, i) => testSigner(`eon-epochs-driver/${i}`));
const GENESIS = [0, 1, 2, 3, 4];
const hex = (key: Uint8Array) => `0x${toHex(key)}`;

interface Keyper {
  epochs: EonEpochs;
  agreed: Map<number, { activation: Uint8Array; share: bigint }>;
}

function bus(options: { silent?: number[] } = {}) {
  const { clock, advance } = manualClock();
  const files = new Map<string, string>();
  const queue: { to: number; from: number; bytes: Uint8Array }[] = [];
  const keypers = new Map<number, Keyper>();
  const make = (i: number): Keyper => {
    const agreed = new Map<number, { activation: Uint8Array; share: bigint }>();
    const signer: Ed25519Signer = people[i]!;
    const epochs = createEonEpochs({
      chainId: CHAIN_ID,
      genesisEon: 1,
      epochBlocks: E,
      publicKey: signer.publicKey,
      signer,
      secretKey: new Uint8Array(32).fill(i + 1),
      clock,
      store: (eon) => ({
        read: () => files.get(`${i}/${eon}`),
        write: (text) => files.set(`${i}/${eon}`, text),
      }),
      forget: (eon) => files.delete(`${i}/${eon}`),
      peerOf: (key) => {
        const index = people.findIndex((p) => toHex(p.publicKey) === toHex(key));
        return index < 0 ? undefined : index;
      },
      send: (to, bytes) => {
        if (!options.silent?.includes(i)) queue.push({ to, from: i, bytes });
      },
      onAgreed: (eon, activation, share) => agreed.set(eon, { activation, share }),
      retryMs: 500,
      dealMs: 5000,
      complaintMs: 2000,
    });
    const keyper = { epochs, agreed };
    keypers.set(i, keyper);
    return keyper;
  };
  const deliver = () => {
    for (let steps = 0; queue.length > 0 && steps < 100_000; steps++) {
      const { to, from, bytes } = queue.shift()!;
      if (options.silent?.includes(to)) continue;
      keypers.get(to)?.epochs.receive(from, bytes);
    }
  };
  return { make, deliver, advance: (ms: number) => advance(ms, deliver), files, keypers };
}

/** The committed set after block 5: the genesis five, and `pending` for boundary 20. */
function committed(pending?: { op: 'add' | 'remove'; who: number }): CommittedSet {
  return {
    members: GENESIS.map((i) => ({ publicKey: hex(people[i]!.publicKey) })),
    pending:
      pending === undefined
        ? undefined
        : { effectiveHeight: 20, op: pending.op, publicKey: hex(people[pending.who]!.publicKey) },
  };
}

describe('the per-window eon DKG driver', () => {
  it('a joiner is a keyper of its first window: it deals, attests and its share opens W_1 blocks', () => {
    const net = bus();
    const keypers = [0, 1, 2, 3, 4, 5].map((i) => net.make(i));
    const set = committed({ op: 'add', who: 5 });
    for (const k of keypers) k.epochs.executed(5, set, []);
    net.deliver();
    net.advance(10_000);
    for (const [i, k] of keypers.entries()) assert.ok(k.agreed.has(2), `keyper ${i} agreed on eon 2`);
    const { activation } = keypers[5]!.agreed.get(2)!;
    // Every keyper's record is the same keyset, and the block rule takes it against the new set.
    const verdict = judgeEonActivation(
      {
        chainId: CHAIN_ID,
        rules: { genesisEon: 1, genesisValidators: [], epochBlocks: E },
        recorded: [],
        committed: set,
      },
      6,
      activation,
    );
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.problem);
    assert.equal(verdict.scheduled.validators.length, 6);
    assert.equal(verdict.scheduled.fromHeight, 20);
    // The joiner (keyper 5) with keypers 0 and 1 (t = 2f + 1 = 3 of 6) opens block 25's envelope.
    const height = 25;
    const eonPublicKey = verdict.scheduled.keyset.eonPublicKey;
    const envelope = sealOrder(people[0]!, {
      chainId: CHAIN_ID,
      eon: 2,
      eonPublicKey,
      identityPrefix: new Uint8Array(randomBytes(32)),
      expiryHeight: height,
      fee: 1,
      transaction: actionTransaction(people[0]!, 0, { kind: 'cancelAll', value: { seriesId: 1 } }),
      sigma: new Uint8Array(randomBytes(32)),
    });
    const identities = [identityOfEnvelope(envelope.body)];
    const shares = [0, 1, 5].map((i) => {
      const released = releaseBatchKeyShares(
        {
          chainId: CHAIN_ID,
          eon: 2,
          validatorIndex: i,
          secretShare: keypers[i]!.agreed.get(2)!.share,
          signer: people[i]!,
        },
        { batch: height, finalizedHeight: height, identities },
      );
      assert.ok(released.ok);
      return released.share;
    });
    const key = combineBatchKeyShares(shares, verdict.scheduled.keyset.threshold);
    assert.ok(key !== undefined);
    assert.equal(shutterDecryptBytes(envelope.ciphertext, key, nobleBackend).ok, true);
  });

  it('a removed validator starts nothing for the window it leaves; the four others agree', () => {
    const net = bus();
    const keypers = GENESIS.map((i) => net.make(i));
    const set = committed({ op: 'remove', who: 4 });
    for (const k of keypers) k.epochs.executed(5, set, []);
    net.deliver();
    net.advance(10_000);
    assert.deepEqual(
      keypers[4]!.epochs.status().map((s) => s.window),
      [0],
      'no DKG of W_1 for the removed validator (W_0 is still its window)',
    );
    for (const i of [0, 1, 2, 3]) assert.ok(keypers[i]!.agreed.has(2));
  });

  it('f silent keypers do not stop the DKG; a restart agrees at once from the files; past files go', () => {
    const net = bus({ silent: [4] });
    const keypers = GENESIS.map((i) => net.make(i));
    const set = committed();
    // Settled: no change can still be scheduled for boundary 20 after block 5.
    for (const k of keypers) k.epochs.executed(5, set, []);
    net.deliver();
    net.advance(2000);
    assert.equal(keypers[0]!.agreed.has(2), false, 'waits for the silent dealer until its deadline');
    net.advance(10_000);
    for (const i of [0, 1, 2, 3]) assert.ok(keypers[i]!.agreed.has(2), `keyper ${i} agreed without keyper 4`);
    const before = keypers[1]!.agreed.get(2)!;
    keypers[1]!.epochs.stop();
    const again = net.make(1);
    again.epochs.executed(6, set, []);
    assert.deepEqual(again.agreed.get(2)?.share, before.share, 'the same share, from the file');
    assert.deepEqual(again.agreed.get(2)?.activation, before.activation, 'the same record');
    assert.ok(net.files.has('1/2'));
    // Two windows on, eon 2's driver stops and its file is deleted.
    again.epochs.executed(60, set, []);
    assert.equal(net.files.has('1/2'), false);
  });

  it('a keyper killed in the middle of the DKG comes back without a file and adopts the agreed eon', () => {
    const net = bus();
    const keypers = [0, 1, 2, 3].map((i) => net.make(i));
    const set: CommittedSet = {
      members: [0, 1, 2, 3].map((i) => ({ publicKey: hex(people[i]!.publicKey) })),
      pending: undefined,
    };
    for (const k of keypers) k.epochs.executed(5, set, []);
    // Keyper 3's deals and shares are out, then it dies before anything comes back to it.
    keypers[3]!.epochs.stop();
    net.keypers.delete(3);
    net.deliver();
    net.advance(10_000);
    for (const i of [0, 1, 2]) assert.ok(keypers[i]!.agreed.has(2), `keyper ${i} agreed`);
    assert.equal(net.files.has('3/2'), false, 'it sealed nothing');
    const back = net.make(3);
    back.epochs.executed(7, set, []);
    net.deliver();
    net.advance(5000);
    assert.ok(back.agreed.has(2), 'it adopted the agreed keyset');
    assert.deepEqual(back.agreed.get(2)!.activation, keypers[0]!.agreed.get(2)!.activation);
    assert.ok(net.files.has('3/2'), 'and sealed its share');
  });
});
