/**
 * A light client learns each window's eon key from the chain it follows (./light-eons.ts), attacks
 * first. The chain (./eon-chain-fixtures.ts): five validators, E = 20, V4 removed at boundary 20;
 * eons 1, 2, 3 recorded in blocks 1, 6, 30 (W_1 and W_2 are the four V0–V3).
 *
 *   follows        after every block, the eon the light client gives for the next heights is the
 *                  one the validators' block rule applies there, key and keypers included;
 *   removed        a W_1 keyset attested by a DKG that still counts the removed V4 (what a node
 *                  that lists the old five as W_1's validators would serve) is refused;
 *   too few        fewer than n − f of the window's attestations: refused;
 *   other window   W_1's keyset offered for a W_2 height, or relabelled as eon 3: refused;
 *   not recorded   a second, genuinely attested eon-3 keyset that no block recorded is refused;
 *                  the real one is not taken before the block that records it is followed;
 *   lies around    the recorded transcript with another key, other shares, other validators or
 *                  other heights beside it: refused;
 *   forged records a finalized block carrying a forged record (few attestations, the old set's,
 *                  two windows ahead, malformed, unsettled) teaches the light client nothing, as
 *                  the block rule records nothing;
 *   premature      the one record the light client cannot judge as the block rule does — W_1's
 *                  four attest eon 2 in block 2, before the change to them executed in block 3, so
 *                  the rule calls the set unsettled and records nothing (more than f of the new set
 *                  colluding: honest keypers start only once the set is settled) — is caught at
 *                  boundary 20: the eons it would hold disagree with the certified root's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createChainState, executeBlock } from '../chain/block-rule.ts';
import { judgeEonActivation, eonAt as ruleEonAt } from '../chain/eon-schedule.ts';
import { eonScheduleRules } from '../chain/fair-batches.ts';
import { createValidatorSet } from '../consensus/validators.ts';
import { toHex } from '../crypto/bytes.ts';
import { runLocalDkg } from '../crypto/dkg.ts';
import type { EonKeysetJson } from './api/eon.ts';
import {
  activationOf,
  EON_EPOCH_BLOCKS,
  eon1,
  eon2,
  eon3,
  eonChain,
  eonChainRules,
  eonDkg,
  eonValidators,
  laterValidators,
  removalOfV4,
} from './eon-chain-fixtures.ts';
import { createLightClient, type LightClient, type LightClientErrorCode } from './light-client.ts';
import { createLightEons } from './light-eons.ts';

const chain = eonChain(60, 42);
const chainId = chain.rules.chainId;
const hex = (bytes: Uint8Array) => `0x${toHex(bytes)}`;
const frost = runLocalDkg({ chainId: 0, epoch: 1, participants: 4, threshold: 3 });

function lightClient(): LightClient {
  return createLightClient({
    chainId,
    validators: createValidatorSet(eonValidators.map((s) => s.publicKey)),
    epochBlocks: EON_EPOCH_BLOCKS,
    keyset: { epoch: 1, groupPublicKey: frost[0]!.groupPublicKey },
    keysetDomain: { chainId: 1, verifyingContract: new Uint8Array(20) },
    eonEpochs: { genesisEon: 1 },
  });
}

/** Follows the chain to `height`, proving each boundary's next set as the driver does. */
function follow(light: LightClient, height: number): void {
  while (light.tip.height < height) {
    light.acceptBlock(chain.details[light.tip.height]!);
    const boundary = light.pendingBoundary;
    if (boundary !== undefined) light.acceptValidatorSet(chain.proofs.proof(boundary)!);
  }
}

function refuses(code: LightClientErrorCode, run: () => unknown): void {
  assert.throws(run, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  });
}

/** What `GET /v1/eon` serves for an agreement, with eon epochs. */
function servedOf(
  agreements: typeof eon2,
  eon: number,
  window: { validators: readonly Uint8Array[]; fromHeight: number; untilHeight: number },
  attestations = agreements[0]!.attestations,
): EonKeysetJson {
  const keyset = agreements[0]!.keyset;
  return {
    state: 'ready',
    source: 'dkg',
    eon,
    eonPublicKey: hex(keyset.eonPublicKey.toBytes(true)),
    threshold: keyset.threshold,
    publicShares: keyset.publicShares.map((p) => hex(p.toBytes(true))),
    encryptedOnlySeries: [1],
    qualified: [...keyset.qualified],
    commitment: agreements[0]!.commitment.map((p) => hex(p.toBytes(true))),
    attestations: attestations.map(hex),
    disqualified: [],
    fromHeight: window.fromHeight,
    untilHeight: window.untilHeight,
    validators: window.validators.map(hex),
    next: null,
  };
}

const four = laterValidators.map((s) => s.publicKey);
const five = eonValidators.map((s) => s.publicKey);
const w1 = { validators: four, fromHeight: 20, untilHeight: 39 };
const w2 = { validators: four, fromHeight: 40, untilHeight: 59 };

describe('a light client learns the eon keys from the chain (adversary first)', () => {
  it('the eon it gives for every height is the one the block rule applies there', () => {
    const light = lightClient();
    const state = createChainState(chain.rules);
    const rules = eonScheduleRules(chain.rules.fairOrdering!, chain.rules.validators);
    for (let height = 1; height <= 60; height++) {
      follow(light, height);
      const batchKey = chain.batchKeyOf.get(height);
      executeBlock(state, {
        height,
        payload: chain.blockOf.get(height)!.payload,
        ...(batchKey === undefined ? {} : { batchKey }),
      });
      // The next heights of this window and of the next one, as the executed state knows them. The
      // light client knows a window's set once it proved its boundary: from then on it gives the
      // rule's eon; before, it gives none (never another one).
      for (const ahead of [height + 1, height + EON_EPOCH_BLOCKS]) {
        const expected = ruleEonAt(rules, state.eons ?? [], ahead);
        const setProven = Math.floor(ahead / EON_EPOCH_BLOCKS) <= Math.floor(height / EON_EPOCH_BLOCKS);
        if (expected === undefined || !setProven) {
          refuses('EON_NOT_RECORDED', () => light.eonAt(ahead));
          continue;
        }
        const learned = light.eonAt(ahead);
        assert.equal(learned.eon, expected.eon, `eon at ${ahead} after ${height}`);
        assert.ok(learned.eonPublicKey.equals(expected.eonPublicKey));
        assert.deepEqual(learned.validators.map(hex), expected.validators.map(hex));
        assert.equal(learned.threshold, expected.threshold);
        assert.equal(learned.fromHeight, state.eons!.find((e) => e.eon === expected.eon)!.fromHeight);
      }
    }
    assert.equal(light.eonAt(45).recordedAt, 30);
    assert.deepEqual(light.eonAt(45).validators.map(hex), four.map(hex), 'W_2’s keypers are the four');
    assert.ok(light.eonAt(45).eonPublicKey.equals(eon3[0]!.keyset.eonPublicKey));
    assert.equal(light.eonAt(5).fromHeight, 2, 'W_0 applies from the block after its record');
    refuses('EON_NOT_RECORDED', () => light.eonAt(1));
  });

  it('a keyset signed by the removed validator, by too few, or for another window is refused', () => {
    const light = lightClient();
    follow(light, 45);
    assert.equal(light.verifyEonKeyset(servedOf(eon2, 2, w1)).eon, 2, 'the control');
    // A node lists the old five as W_1's set and serves their DKG of eon 2 (V4 among its keypers).
    const withRemoved = eonDkg(2, eonValidators);
    const lie = servedOf(withRemoved, 2, { ...w1, validators: five });
    refuses('EON_BAD_ATTESTATIONS', () => light.verifyEonKeyset(lie));
    refuses('EON_BAD_ATTESTATIONS', () => light.verifyEonActivation(activationOf(withRemoved, 2)));
    // Fewer than n − f = 3 of the four.
    const few = eon2[0]!.attestations.slice(0, 2);
    refuses('EON_BAD_ATTESTATIONS', () => light.verifyEonKeyset(servedOf(eon2, 2, w1, few)));
    refuses('EON_BAD_ATTESTATIONS', () => light.verifyEonActivation(activationOf(eon2, 2, few)));
    // W_1's genuine keyset offered for a W_2 height, or relabelled as W_2's eon.
    refuses('EON_WRONG_WINDOW', () => light.verifyEonKeyset(servedOf(eon2, 2, w1), 45));
    refuses('EON_WRONG_WINDOW', () => light.verifyEonActivation(activationOf(eon2, 2), 45));
    refuses('EON_BAD_ATTESTATIONS', () => light.verifyEonKeyset(servedOf(eon2, 3, w2)));
    refuses('EON_BAD_ATTESTATIONS', () => light.verifyEonActivation(activationOf(eon2, 3)));
    // W_0's keyset (the five's) is W_0's only.
    assert.equal(light.verifyEonActivation(activationOf(eon1, 1), 5).eon, 1);
    refuses('EON_WRONG_WINDOW', () => light.verifyEonActivation(activationOf(eon1, 1), 25));
    assert.equal(light.verifyEonKeyset(servedOf(eon3, 3, w2), 45).eon, 3, 'the control');
  });

  it('a key no block recorded is never taken, even when its window’s set attested it', () => {
    const light = lightClient();
    // Eon 1's genuine record, before the light client followed block 1 that records it.
    const genuine = servedOf(eon1, 1, { validators: five, fromHeight: 2, untilHeight: 19 });
    refuses('EON_NOT_RECORDED', () => light.verifyEonKeyset(genuine));
    refuses('EON_NOT_RECORDED', () => light.eonAt(5));
    follow(light, 1);
    assert.equal(light.verifyEonKeyset(genuine).recordedAt, 1);
    // A second DKG of eon 1 among the same five: attested, but not what the chain recorded.
    const rival = eonDkg(1, eonValidators);
    refuses('EON_MISMATCH', () =>
      light.verifyEonKeyset(servedOf(rival, 1, { validators: five, fromHeight: 2, untilHeight: 19 })),
    );
    refuses('EON_MISMATCH', () => light.verifyEonActivation(activationOf(rival, 1)));
    // W_2's set is not proven before boundary 40: eon 3, recorded at 30, is not judged yet.
    follow(light, 39);
    refuses('EON_UNKNOWN_WINDOW', () => light.verifyEonKeyset(servedOf(eon3, 3, w2)));
    refuses('EON_NOT_RECORDED', () => light.eonAt(45));
    follow(light, 40);
    assert.equal(light.verifyEonKeyset(servedOf(eon3, 3, w2)).recordedAt, 30);
    assert.equal(light.eonAt(45).eon, 3);
  });

  it('the recorded transcript with another key, shares, validators or heights beside it is refused', () => {
    const light = lightClient();
    follow(light, 45);
    const genuine = servedOf(eon3, 3, w2);
    const otherKey = hex(eon2[0]!.keyset.eonPublicKey.toBytes(true));
    refuses('EON_MISMATCH', () => light.verifyEonKeyset({ ...genuine, eonPublicKey: otherKey }));
    refuses('EON_MISMATCH', () =>
      light.verifyEonKeyset({ ...genuine, publicShares: [...genuine.publicShares].reverse() }),
    );
    refuses('EON_MISMATCH', () => light.verifyEonKeyset({ ...genuine, validators: five.map(hex) }));
    refuses('EON_MISMATCH', () => light.verifyEonKeyset({ ...genuine, fromHeight: 31 }));
    refuses('EON_MISMATCH', () => light.verifyEonKeyset({ ...genuine, untilHeight: 79 }));
    refuses('MALFORMED', () => light.verifyEonKeyset({ ...genuine, commitment: ['0x00'] }));
    refuses('EON_NOT_RECORDED', () => light.verifyEonKeyset({ ...genuine, state: 'pending' }));
    const plain = createLightClient({
      chainId,
      validators: createValidatorSet(five),
      keyset: { epoch: 1, groupPublicKey: frost[0]!.groupPublicKey },
      keysetDomain: { chainId: 1, verifyingContract: new Uint8Array(20) },
    });
    refuses('EON_EPOCHS_OFF', () => plain.eonAt(1));
  });

  it('forged records in finalized blocks record nothing, as the block rule records nothing', () => {
    const rules = eonScheduleRules(eonChainRules().fairOrdering!, five);
    const settledCommitted = {
      members: five.map((key) => ({ publicKey: hex(key) })),
      pending: { effectiveHeight: 20, op: 'remove' as const, publicKey: hex(five[4]!) },
    };
    const quietCommitted = { members: five.map((key) => ({ publicKey: hex(key) })), pending: undefined };
    const judged = (
      height: number,
      encoded: Uint8Array,
      committed: typeof quietCommitted | typeof settledCommitted,
    ) => judgeEonActivation({ chainId, rules, recorded: [], committed }, height, encoded).ok;
    const cases: { name: string; height: number; encoded: Uint8Array; w1: Uint8Array[]; quiet?: boolean }[] =
      [
        {
          name: 'too few',
          height: 6,
          encoded: activationOf(eon2, 2, eon2[0]!.attestations.slice(0, 2)),
          w1: four,
        },
        { name: 'the old set', height: 6, encoded: activationOf(eonDkg(2, eonValidators), 2), w1: four },
        { name: 'two windows ahead', height: 6, encoded: activationOf(eon3, 3), w1: four },
        { name: 'malformed', height: 6, encoded: new Uint8Array([1, 2, 3]), w1: four },
        // No change pending, so W_1's set may still change at height 2: the rule calls it unsettled.
        {
          name: 'unsettled',
          height: 2,
          encoded: activationOf(eonDkg(2, eonValidators), 2),
          w1: five,
          quiet: true,
        },
      ];
    for (const forged of cases) {
      assert.equal(
        judged(forged.height, forged.encoded, forged.quiet ? quietCommitted : settledCommitted),
        false,
        `the block rule refuses ${forged.name}`,
      );
      const eons = createLightEons({
        chainId,
        genesisEon: 1,
        epochBlocks: EON_EPOCH_BLOCKS,
        genesisSet: five,
      });
      eons.noteBlock(forged.height, [forged.encoded]);
      eons.learnWindowSet(1, forged.w1);
      assert.equal(eons.eonAt(25), undefined, `nothing learned from ${forged.name}`);
      assert.equal(eons.eonAt(45), undefined);
    }
    // The control: the genuine record in block 6 (a change pending), and a quiet chain's at block 5.
    assert.equal(judged(6, activationOf(eon2, 2), settledCommitted), true);
    const eons = createLightEons({ chainId, genesisEon: 1, epochBlocks: EON_EPOCH_BLOCKS, genesisSet: five });
    eons.noteBlock(6, [activationOf(eon2, 2)]);
    assert.equal(eons.eonAt(25), undefined, 'waits for W_1’s set');
    eons.learnWindowSet(1, four);
    assert.equal(eons.eonAt(25)?.eon, 2);
    const quietEon2 = eonDkg(2, eonValidators);
    assert.equal(judged(5, activationOf(quietEon2, 2), quietCommitted), true);
    const quiet = createLightEons({
      chainId,
      genesisEon: 1,
      epochBlocks: EON_EPOCH_BLOCKS,
      genesisSet: five,
    });
    quiet.noteBlock(5, [activationOf(quietEon2, 2)]);
    quiet.learnWindowSet(1, five);
    assert.equal(quiet.eonAt(20)?.eon, 2, 'settled once no change can come for 20');
  });

  it('a record the block rule refused but the light client would take is caught at the boundary', () => {
    const premature = eonChain(25, 10, (height) => {
      if (height === 1) return { fields: { eonActivations: [activationOf(eon1, 1)] } };
      if (height === 2) return { fields: { eonActivations: [activationOf(eon2, 2)] } };
      if (height === 3) return { fields: { transactions: [removalOfV4()] } };
      return { fields: {} };
    });
    assert.deepEqual(
      premature.state.eons!.map((e) => e.eon),
      [1],
      'the chain recorded eon 1 and no eon 2',
    );
    const light = lightClient();
    while (light.tip.height < 20) light.acceptBlock(premature.details[light.tip.height]!);
    assert.equal(light.pendingBoundary, 20);
    refuses('EON_SCHEDULE_MISMATCH', () => light.acceptValidatorSet(premature.proofs.proof(20)!));
    // Nothing changed: still at the boundary, eon 2 not taken.
    assert.equal(light.pendingBoundary, 20);
    assert.equal(light.validators.epoch, 1);
    refuses('EON_UNKNOWN_WINDOW', () => light.verifyEonActivation(activationOf(eon2, 2)));
  });
});
