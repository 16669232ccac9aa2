/**
 * Consensus epochs on a node (issue 11): the validator set the execution state commits
 * (src/execution/validator-set.ts) becomes the consensus engine's schedule (src/consensus/epochs.ts).
 *
 *   - Genesis: the engine genesis gets `validatorSet` from the node genesis (its validators, in index
 *     order, and `dkg.epochBlocks`), so governance can change the set; without epochs it gets none.
 *   - Boundary: a change applies at the start of boundary block H (a multiple of epochBlocks); the
 *     new set holds from the view after H's view. When a node executes block H and sees
 *     `validatorSetChanged`, it schedules that epoch on its engine: every node derives the same
 *     first view from the same finalized block.
 *   - Gate: no validator proposes or votes for a block above a boundary H before it has executed H
 *     (`epochGateHeight`; the application waits for it as it waits for a state root), so everyone
 *     who signs in epoch e + 1 knows its set. A nullify signed before is signed again under the new
 *     index by the engine (SimplexEngine.scheduleEpoch).
 *   - Restart: replayed blocks schedule their epochs as live ones do, and the epochs committed
 *     before the restored snapshot are scheduled from the record and the stored boundary blocks.
 *   - Eons: with genesis `eonKeygen` the fair-ordering eon follows these epochs, one per window of
 *     `epochBlocks` (src/chain/eon-schedule.ts, src/node/eon-epochs.ts).
 * The peers of a set are the genesis validators' transport indices; a validator added by
 * governance joins the engine's peer directory after them, and the TLS transport's in the same
 * order (src/node/price-membership.ts `networkMembership`), which admits and dials it from the
 * block that schedules its change.
 */
import { BlockCodec } from '../codec/consensus.ts';
import { createValidatorSet, type ValidatorSet } from '../consensus/validators.ts';
import { fromHex } from '../crypto/bytes.ts';
import type { ValidatorSetGenesis, ValidatorSetView } from '../execution/validator-set.ts';
import type { GenesisValidator } from './genesis.ts';

/** The engine genesis part for a node genesis' validators; undefined without epochs. */
export function validatorSetGenesis(
  validators: readonly GenesisValidator[],
  epochBlocks: number | undefined,
): ValidatorSetGenesis | undefined {
  if (epochBlocks === undefined || epochBlocks <= 0) return undefined;
  return {
    epochBlocks,
    members: validators.map((v) => ({
      publicKey: v.publicKey,
      p2p: `${v.p2p.host}:${v.p2p.port}`,
      api: v.api,
    })),
  };
}

/**
 * The height a node must have executed before it proposes or votes for a block at `height`: the
 * last epoch boundary below it (0 without epochs).
 */
export function epochGateHeight(epochBlocks: number | undefined, height: number): number {
  if (epochBlocks === undefined || epochBlocks <= 0 || height <= 1) return 0;
  return Math.floor((height - 1) / epochBlocks) * epochBlocks;
}

function setOf(keys: readonly string[]): ValidatorSet {
  return createValidatorSet(keys.map((key) => fromHex(key)!));
}

/**
 * At start, after the application restored its state: schedules on the engine every committed
 * epoch it lacks, in order, each from the view after its boundary block (read with
 * `viewOfHeight` from the stored finalized blocks). Stops at the first epoch whose boundary block
 * is not stored here (below a state-sync snapshot): returns the epochs scheduled.
 */
export function catchUpEpochs(
  engine: EpochFollower,
  committed: ValidatorSetView | undefined,
  viewOfHeight: (height: number) => number | undefined,
): number[] {
  const scheduled: number[] = [];
  for (const entry of committed?.epochs ?? []) {
    const latest = engine.epochAt(Number.MAX_SAFE_INTEGER)?.epoch ?? 0;
    if (entry.epoch <= latest) continue;
    const view = viewOfHeight(entry.sinceHeight);
    if (entry.epoch !== latest + 1 || view === undefined) break;
    engine.scheduleEpoch({ epoch: entry.epoch, firstView: view + 1, validators: setOf(entry.keys) });
    scheduled.push(entry.epoch);
  }
  return scheduled;
}

/** The view of the finalized block stored at `height`, from a block store's record. */
export function storedBlockView(record: { block: Uint8Array } | undefined): number | undefined {
  if (record === undefined) return undefined;
  try {
    return BlockCodec.decode(record.block).view;
  } catch {
    return undefined;
  }
}

/** What of the consensus engine following the epochs needs. */
export interface EpochFollower {
  epochAt(view: number): { epoch: number } | undefined;
  scheduleEpoch(next: { epoch: number; firstView: number; validators: ValidatorSet }): void;
}

/**
 * After block `view` was executed: when it applied a set change (the committed epoch is the one
 * after the engine's latest), schedules that epoch from the next view. Idempotent (a replayed block
 * schedules nothing twice); an epoch that is not the next one (earlier ones missing: call
 * {@link catchUpEpochs} first) is not scheduled. Returns the epoch scheduled, or undefined.
 */
export function followValidatorEpoch(
  engine: EpochFollower,
  view: number,
  committed: ValidatorSetView | undefined,
): number | undefined {
  if (committed === undefined) return undefined;
  const latest = engine.epochAt(Number.MAX_SAFE_INTEGER)?.epoch ?? 0;
  if (committed.epoch !== latest + 1) return undefined;
  const entry = committed.epochs[committed.epochs.length - 1]!;
  engine.scheduleEpoch({ epoch: entry.epoch, firstView: view + 1, validators: setOf(entry.keys) });
  return entry.epoch;
}

/** One validator as `status().validators` lists it. */
export interface ValidatorStatus {
  /** Its transport peer index (genesis validators: their genesis index; added ones after them). */
  index: number;
  publicKey: Uint8Array;
  self: boolean;
  connected: boolean;
  score?: number;
}

/**
 * The validators of the current epoch as a node reports them: the committed set's members (the
 * genesis list without epochs), each under its transport index. A removed validator is not listed;
 * an added one is, once the transport knows its key (a member it does not know yet is left out).
 */
export function currentValidatorStatus(options: {
  genesisKeys: readonly Uint8Array[];
  committed: ValidatorSetView | undefined;
  self: number;
  peerOf(publicKey: Uint8Array): number | undefined;
  peers: readonly { peer: number; connected: boolean; score: number }[];
}): ValidatorStatus[] {
  const keys =
    options.committed === undefined
      ? options.genesisKeys.map((key, index) => ({ key, index }))
      : options.committed.members.map((member) => {
          const key = fromHex(member.publicKey)!;
          return { key, index: options.peerOf(key) };
        });
  return keys.flatMap(({ key, index }) => {
    if (index === undefined) return [];
    const self = index === options.self;
    const peer = options.peers.find((p) => p.peer === index);
    return [
      {
        index,
        publicKey: key,
        self,
        connected: self || (peer?.connected ?? false),
        ...(self || peer === undefined ? {} : { score: peer.score }),
      },
    ];
  });
}
