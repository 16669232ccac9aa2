/**
 * The consensus validator set as committed state (issue 11, "validator-set change"). Genesis names
 * the validators and the epoch length B (`dkg.epochBlocks`); governance changes the set with a
 * timelocked `ChangeValidators` (add or remove one validator) that takes effect at an epoch
 * boundary: the first height H that is a multiple of B with H ≥ h + `VALIDATOR_CHANGE_LEAD_BLOCKS`,
 * h the height the change executes at. The lead is the state-root lag (src/chain/block-rule.ts
 * `STATE_ROOT_LAG_BLOCKS`): block H commits the state root after H − 16, so the pending change is
 * in a root the old set itself finalized, and a light client learns the next set from a proof of
 * this record under that root without trusting anyone the old set did not certify
 * (src/node/light-client.ts). A boundary closer than the lead would apply a change no old-set block
 * commits. Block H is the last block of the old epoch (the old set finalizes it); the new set holds for
 * every view after the view of block H. Every validator derives the same H from the finalized
 * chain, and the record (under `VALIDATOR_SET_STATE_KEY`, in the state root) names the change
 * before it happens and the set after, so all agree on which set a view belongs to.
 *
 * Refused (at acceptance and again when a timelocked change executes):
 *   - a second change while one is pending: exactly one validator enters or leaves per boundary.
 *     This is what keeps Simplex's quorum intersection across the boundary for a validator that
 *     learns of the new epoch late: with n and n ± 1 validators, a quorum of each (n − f) shares
 *     at least f + 1 members, so one honest validator, who never signs two conflicting votes in a
 *     view whichever set it thinks counts (the single-server membership change argument of Raft,
 *     Ongaro §4.1, applied to BFT quorums);
 *   - leaving fewer than 4 validators (n ≥ 3f + 1 with f ≥ 1: one fault tolerated), which also
 *     refuses removing all of them;
 *   - more validators than a vote's signer index addresses (MAX_VALIDATORS);
 *   - adding a key that is already a member, or one that is not an Ed25519 point of large order;
 *     removing one that is not a member; an add without a transport address.
 * Threshold and replay are the governance proposal's (src/execution/actions/governance.ts).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { MAX_VALIDATORS } from '../codec/consensus.ts';
import {
  type ChangeValidators,
  VALIDATOR_CHANGE,
  VALIDATOR_EPOCHS_KEPT,
  type ValidatorSetRecord,
} from '../codec/execution.ts';
import { invariant } from '../codec/invariant.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';

/** The fewest validators a set may have: 3f + 1 with f = 1. */
export const MIN_VALIDATORS = 4;

/**
 * How many blocks before its boundary a change must execute (module header): equal to the
 * state-root lag, which src/chain/block-rule.ts asserts against it.
 */
export const VALIDATOR_CHANGE_LEAD_BLOCKS = 16;

export interface ValidatorMember {
  publicKey: Uint8Array;
  /** "host:port" its transport listens on. */
  p2p: string;
  api: string;
}

export interface PendingValidatorChange {
  proposalId: number;
  /** The boundary block at whose start the change applies. */
  effectiveHeight: number;
  change: ChangeValidators;
}

export interface ValidatorEpochEntry {
  epoch: number;
  /** The boundary block this epoch's set begins after (0: genesis, from view 1). */
  sinceHeight: number;
  keys: Uint8Array[];
}

export interface ValidatorSetState {
  readonly epochBlocks: number;
  epoch: number;
  members: ValidatorMember[];
  pending: PendingValidatorChange | undefined;
  /** The last VALIDATOR_EPOCHS_KEPT epochs, oldest first; the last is the current one. */
  epochs: ValidatorEpochEntry[];
  dirty: boolean;
}

/** The genesis part: the members in index order and the epoch length in blocks. */
export interface ValidatorSetGenesis {
  members: readonly ValidatorMember[];
  epochBlocks: number;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** A fresh validator-set state at genesis (epoch 1). @throws InvariantError on a bad genesis set */
export function initialValidatorSet(genesis: ValidatorSetGenesis): ValidatorSetState {
  invariant(
    Number.isSafeInteger(genesis.epochBlocks) && genesis.epochBlocks >= 1,
    'epochBlocks is a positive integer',
  );
  invariant(
    genesis.members.length >= 1 && genesis.members.length <= MAX_VALIDATORS,
    `1..${MAX_VALIDATORS} validators`,
  );
  const keys = new Set(genesis.members.map((member) => toHex(member.publicKey)));
  invariant(keys.size === genesis.members.length, 'validator keys are distinct');
  const members = genesis.members.map((member) => ({
    ...member,
    publicKey: Uint8Array.from(member.publicKey),
  }));
  return {
    epochBlocks: genesis.epochBlocks,
    epoch: 1,
    members,
    pending: undefined,
    epochs: [{ epoch: 1, sinceHeight: 0, keys: members.map((member) => Uint8Array.from(member.publicKey)) }],
    dirty: true,
  };
}

/** The first boundary height strictly above `height`. */
export function nextBoundary(epochBlocks: number, height: number): number {
  return (Math.floor(height / epochBlocks) + 1) * epochBlocks;
}

/** The boundary a change executed at `height` takes effect at: the first one at least the lead above. */
export function changeBoundary(epochBlocks: number, height: number): number {
  return nextBoundary(epochBlocks, height + VALIDATOR_CHANGE_LEAD_BLOCKS - 1);
}

function isLargeOrderPoint(key: Uint8Array): boolean {
  try {
    const point = ed25519.Point.fromBytes(key);
    return !point.isSmallOrder();
  } catch {
    return false;
  }
}

function validAddress(bytes: Uint8Array): boolean {
  const text = textDecoder.decode(bytes);
  const colon = text.lastIndexOf(':');
  if (colon < 1) return false;
  const port = Number(text.slice(colon + 1));
  return Number.isInteger(port) && port >= 1 && port <= 65_535 && /^[\x21-\x7e]+$/.test(text);
}

/** Why `change` cannot be scheduled now (a field), or undefined. */
export function validatorChangeProblem(
  set: ValidatorSetState | undefined,
  change: ChangeValidators,
): string | undefined {
  if (set === undefined) return 'action.changeValidators';
  if (set.pending !== undefined) return 'action.pending';
  const member = set.members.some((entry) => bytesEqual(entry.publicKey, change.publicKey));
  if (change.op === VALIDATOR_CHANGE.add) {
    if (member) return 'action.publicKey';
    if (!isLargeOrderPoint(change.publicKey)) return 'action.publicKey';
    if (set.members.length + 1 > MAX_VALIDATORS) return 'action.op';
    if (!validAddress(change.p2p)) return 'action.p2p';
    return undefined;
  }
  if (!member) return 'action.publicKey';
  if (set.members.length - 1 < MIN_VALIDATORS) return 'action.op';
  return undefined;
}

/** Schedules a checked change for its boundary ({@link changeBoundary}); returns that boundary. */
export function scheduleValidatorChange(
  set: ValidatorSetState,
  proposalId: number,
  change: ChangeValidators,
  height: number,
): number {
  invariant(validatorChangeProblem(set, change) === undefined, 'a validator change is checked first');
  const effectiveHeight = changeBoundary(set.epochBlocks, height);
  set.pending = {
    proposalId,
    effectiveHeight,
    change: { ...change, publicKey: Uint8Array.from(change.publicKey) },
  };
  set.dirty = true;
  return effectiveHeight;
}

/**
 * Block step at height `height`: at the pending change's boundary, the set changes (the epoch
 * number moves on) and the change is returned; otherwise nothing happens.
 */
export function applyValidatorBoundary(
  set: ValidatorSetState,
  height: number,
): PendingValidatorChange | undefined {
  const pending = set.pending;
  if (pending === undefined || pending.effectiveHeight !== height) return undefined;
  const { change } = pending;
  set.members =
    change.op === VALIDATOR_CHANGE.add
      ? [
          ...set.members,
          {
            publicKey: Uint8Array.from(change.publicKey),
            p2p: textDecoder.decode(change.p2p),
            api: textDecoder.decode(change.api),
          },
        ]
      : set.members.filter((member) => !bytesEqual(member.publicKey, change.publicKey));
  set.epoch += 1;
  set.pending = undefined;
  set.epochs.push({
    epoch: set.epoch,
    sinceHeight: height,
    keys: set.members.map((member) => Uint8Array.from(member.publicKey)),
  });
  if (set.epochs.length > VALIDATOR_EPOCHS_KEPT) set.epochs.shift();
  set.dirty = true;
  return pending;
}

export function validatorSetRecord(set: ValidatorSetState): ValidatorSetRecord {
  return {
    epochBlocks: set.epochBlocks,
    epoch: set.epoch,
    members: set.members.map((member) => ({
      publicKey: Uint8Array.from(member.publicKey),
      p2p: textEncoder.encode(member.p2p),
      api: textEncoder.encode(member.api),
    })),
    pending:
      set.pending === undefined
        ? []
        : [
            {
              proposalId: set.pending.proposalId,
              effectiveHeight: set.pending.effectiveHeight,
              change: { ...set.pending.change },
            },
          ],
    epochs: set.epochs.map((entry) => ({ ...entry, keys: entry.keys.map((key) => Uint8Array.from(key)) })),
  };
}

export function validatorSetFromRecord(record: ValidatorSetRecord): ValidatorSetState {
  const pending = record.pending[0];
  return {
    epochBlocks: record.epochBlocks,
    epoch: record.epoch,
    members: record.members.map((member) => ({
      publicKey: Uint8Array.from(member.publicKey),
      p2p: textDecoder.decode(member.p2p),
      api: textDecoder.decode(member.api),
    })),
    pending: pending === undefined ? undefined : { ...pending, change: { ...pending.change } },
    epochs: record.epochs.map((entry) => ({ ...entry, keys: entry.keys.map((key) => Uint8Array.from(key)) })),
    dirty: true,
  };
}

/** What the API and the node see of the set. */
export interface ValidatorSetView {
  epoch: number;
  epochBlocks: number;
  members: Array<{ publicKey: string; p2p: string; api: string }>;
  pending:
    | { proposalId: number; effectiveHeight: number; op: 'add' | 'remove'; publicKey: string }
    | undefined;
  epochs: Array<{ epoch: number; sinceHeight: number; keys: string[] }>;
}

export function validatorSetView(set: ValidatorSetState): ValidatorSetView {
  return {
    epoch: set.epoch,
    epochBlocks: set.epochBlocks,
    members: set.members.map((member) => ({ ...member, publicKey: `0x${toHex(member.publicKey)}` })),
    pending:
      set.pending === undefined
        ? undefined
        : {
            proposalId: set.pending.proposalId,
            effectiveHeight: set.pending.effectiveHeight,
            op: set.pending.change.op === VALIDATOR_CHANGE.add ? 'add' : 'remove',
            publicKey: `0x${toHex(set.pending.change.publicKey)}`,
          },
    epochs: set.epochs.map((entry) => ({
      epoch: entry.epoch,
      sinceHeight: entry.sinceHeight,
      keys: entry.keys.map((key) => `0x${toHex(key)}`),
    })),
  };
}
