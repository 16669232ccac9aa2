/**
 * Fair ordering in the block rule (issue 14): what a block's encrypted orders do, and when. Pure,
 * a function of the chain state and the block, like the rest of src/chain.
 *
 * A block at height h carries `envelopes` (src/codec/envelope.ts) in the order its proposer fixed,
 * each a `SignedTransaction` encrypted to the envelope's own identity (its sender and a prefix the
 * sender chose). On h's execution, `admitEnvelopes` keeps, in block order, the envelopes that
 * belong there, and each pays its fee and reserves its nonce in the engine at once
 * (src/execution/steps/encrypted-orders.ts):
 *
 *   dropped, charged nothing   not a `SignedOrderEnvelope`, another chain or eon, an expiry below
 *                              h, a malformed ciphertext, a bad signature or swapped ciphertext, a
 *                              sender without an account, a nonce other than the sender's next
 *                              (counting the block's earlier envelopes), or no room left in the
 *                              batch (`MAX_BATCH_ENVELOPES`) or the pending batches
 *                              (`MAX_PENDING_BATCHES`, `MAX_PENDING_BATCH_BYTES`)
 *   admitted                   fee paid, nonce reserved, kept as block h's pending batch
 *
 * After h is executed (so final) the validators release their shares of the keys of h's admitted
 * envelopes, and of those only, on their votes (the votes on h + 1 carry them: a validator votes
 * to finalize h + 1 after it saw h final), 2f + 1 combine into the keys, and **block h + 1 opens
 * batch h**: `openBatches` takes the keys of the one pending batch, h, as an input of h + 1's
 * execution, not from h + 1's payload (h + 1 was proposed before h was final, so no one could put
 * the keys in it). The keys are checked by the pairing equation against the eon key, and only one
 * key per identity passes it (K = s·H1(id) is unique), so where the executor got them (its votes,
 * a later block's record, its storage) cannot change the outcome: every validator opens h at h + 1
 * with the same keys. A validator without them waits for them before it executes h + 1
 * (src/node/app.ts); it never executes h + 1 without them. The transactions that decrypt,
 * decode, are the sender's, match the envelope and verify run at the start of h + 1, before
 * h + 1's own transactions, in h's order; the rest stay charged.
 *
 * Why first: everyone can read h's orders once the keys are out. h + 1's proposer could not: it
 * proposed before h was final, when no share of h's keys had been released. Its plain transactions
 * run after h's orders, so nobody gets ahead of an order they read; reacting after it is allowed
 * (it is not front-running). No later leader decides when h opens, so none can withhold the keys.
 * An envelope no finalized block admitted has no key released at all: it stays unreadable for good.
 *
 * Which eon. Without eon epochs the genesis keyset applies at every height. With them
 * (`EonEpochRules`, ./eon-schedule.ts) each window of the validator epochs has its own eon, made
 * by its own set: an envelope must name the eon of its including height's window (a verifier refuses
 * another, `envelope-wrong-eon`; execution drops it uncharged), a height whose eon no finalized
 * block recorded yet takes no envelope (`eon-key-pending`), and a batch opens under the eon of its
 * own height, whatever eon applies at the block that opens it. Early-share evidence is checked
 * against the keyset of the eon it names.
 *
 * Records: a block may carry keys of earlier batches in `batchKeys` (each batch's checked by the
 * pairing equation where the verifier knows the batch, ascending, below the block). They open nothing; they are there for a validator that
 * missed the votes (it was down, or syncs): it finds the key it waits for in a later finalized
 * block (consensus hands the application each finalized block before it is executed).
 *
 * Markets for encrypted orders only (`encryptedOnlySeries`, from genesis): a plain `placeOrder` on
 * one is refused by the mempool (ENCRYPTION_REQUIRED) and by verifiers, and skipped on execution, so
 * no order on such a market can be read by the leader before its place is fixed.
 *
 * Early-share evidence (`earlyShares`): an `EarlyKeyShare` in block H proves its signer Byzantine
 * when the share is for a batch at or above H (no such block can be final before H is) and its
 * `finalizedHeightAtRecord` is H − 1, the chain's own finalized height when it is recorded.
 */
import {
  type EarlyKeyShare,
  EarlyKeyShareCodec,
  MAX_BATCH_ENVELOPES,
  SignedOrderEnvelopeCodec,
} from '../codec/envelope.ts';
import { decodeAction } from '../codec/execution.ts';
import { invariant } from '../codec/invariant.ts';
import type { BatchKey } from '../codec/node.ts';
import {
  MAX_PENDING_BATCH_BYTES,
  MAX_PENDING_BATCHES,
  type PendingBatch,
  PendingBatchListType,
} from '../codec/snapshot.ts';
import type { SignedTransaction } from '../codec/transaction.ts';
import { verifyEarlyKeyShare } from '../consensus/evidence.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { verifyEnvelope, wellFormedCiphertext } from '../crypto/shutter/envelope.ts';
import type { G2Point } from '../crypto/shutter/ibe.ts';
import type { PairingBackend } from '../crypto/shutter/pairing-backend.ts';
import type { EnvelopeReservation } from '../execution/types.ts';
import { type EncryptedOrderOutcome, isBatchKey, openEncryptedBatch } from './encrypted-batch.ts';
import {
  type CommittedSet,
  type EonActivationProblem,
  type EonAtHeight,
  type EonScheduleRules,
  eonAt,
  eonByNumber,
  eonOfWindow,
  eonWindowOf,
  judgeEonActivation,
  type ScheduledEon,
} from './eon-schedule.ts';

/**
 * The window, in blocks, of an encrypted order's batch: the inner transaction expires this far above
 * its envelope's expiry (src/node/client.ts `encrypt`), and validators keep key shares no further
 * below their executed height.
 */
export const KEY_WAIT_BLOCKS_MAX = 64;
const PENDING_ROOT_LABEL = new TextEncoder().encode('PALISADE/NODE/PENDING-BATCHES/v1');

/** The eon keyset the chain encrypts to (genesis); equal on every validator. */
export interface FairOrderingRules {
  readonly eon: number;
  readonly eonPublicKey: G2Point;
  /** Eon public shares P_i by validator index (early-share evidence is checked against them). */
  readonly publicShares: readonly G2Point[];
  /**
   * Series (markets) that take encrypted orders only: a plain `placeOrder` on one is refused by
   * the mempool and by verifiers, and skipped on execution (`encryptionRequired`).
   */
  readonly encryptedOnlySeries?: readonly number[];
  readonly eonEpochBlocks?: undefined;
}

/**
 * Fair ordering whose eon follows the validator epochs (./eon-schedule.ts): every window's eon,
 * the first included, is made by its validators' DKG and applies once a finalized block records
 * it, so the rules name no key.
 */
export interface EonEpochRules {
  /** The eon of window 0; window k's is `eon + k`. */
  readonly eon: number;
  /** The validator-set epoch length E (the windows' length). */
  readonly eonEpochBlocks: number;
  readonly encryptedOnlySeries?: readonly number[];
}

/** What the block rule knows of fair ordering: a fixed genesis keyset, or eons per window. */
export type ChainFairOrdering = FairOrderingRules | EonEpochRules;

/** The eon schedule's genesis part of a chain's fair-ordering rules. */
export function eonScheduleRules(
  rules: ChainFairOrdering,
  genesisValidators: readonly Uint8Array[],
): EonScheduleRules {
  return rules.eonEpochBlocks === undefined
    ? {
        genesisEon: rules.eon,
        genesisEonPublicKey: rules.eonPublicKey,
        genesisPublicShares: rules.publicShares,
        genesisValidators,
      }
    : { genesisEon: rules.eon, genesisValidators, epochBlocks: rules.eonEpochBlocks };
}

/** The eon number envelopes for `height` must name: fixed by the height alone (./eon-schedule.ts). */
export function envelopeEonFor(rules: ChainFairOrdering, height: number): number {
  return rules.eonEpochBlocks === undefined
    ? rules.eon
    : eonOfWindow(rules.eon, eonWindowOf(rules.eonEpochBlocks, height));
}

/** The eon that applies at `height` on a chain context, or undefined while it is not recorded. */
export function eonAtHeight(context: FairChainContext, height: number): EonAtHeight | undefined {
  return eonAt(eonScheduleRules(context.fairOrdering, context.genesisValidators), context.eons ?? [], height);
}

/**
 * Whether `transaction`, sent plain, is an order on a market that takes encrypted orders only.
 * A payload that does not decode is the engine's to refuse (MALFORMED_PAYLOAD), not this rule's.
 */
export function encryptionRequired(
  rules: Pick<ChainFairOrdering, 'encryptedOnlySeries'> | undefined,
  transaction: SignedTransaction,
): boolean {
  const series = rules?.encryptedOnlySeries;
  if (series === undefined || series.length === 0) return false;
  let action: ReturnType<typeof decodeAction>;
  try {
    action = decodeAction(transaction.body.payload);
  } catch {
    return false;
  }
  return action.kind === 'placeOrder' && series.includes(action.value.seriesId);
}

export interface FairChainContext {
  readonly chainId: number;
  /** The genesis validators: the genesis eon's keypers. */
  readonly genesisValidators: readonly Uint8Array[];
  readonly fairOrdering: ChainFairOrdering;
  /** The eons recorded on chain (./eon-schedule.ts); absent: none. */
  readonly eons?: readonly ScheduledEon[];
}

/** The engine's view the admission reads: a sender's account nonce, or undefined without one. */
export type AccountNonce = (sender: Uint8Array) => number | undefined;

export interface AdmittedEnvelopes {
  readonly reservations: EnvelopeReservation[];
  /** The admitted envelopes' encodings, in block order (empty: nothing pending for this block). */
  readonly admitted: Uint8Array[];
}

/** Block `height`'s envelopes that pay and wait for its key, in block order (see the header). */
export function admitEnvelopes(
  context: FairChainContext,
  pending: readonly PendingBatch[],
  height: number,
  envelopes: readonly Uint8Array[],
  accountNonce: AccountNonce,
): AdmittedEnvelopes {
  const reservations: EnvelopeReservation[] = [];
  const admitted: Uint8Array[] = [];
  if (envelopes.length === 0 || pending.length >= MAX_PENDING_BATCHES) return { reservations, admitted };
  // A height whose eon is not recorded takes no envelope: nobody could release its key.
  const eon = eonAtHeight(context, height);
  if (eon === undefined) return { reservations, admitted };
  const nonces = new Map<string, number>();
  let bytes = 0;
  for (const encoded of envelopes) {
    if (admitted.length >= MAX_BATCH_ENVELOPES || bytes + encoded.length > MAX_PENDING_BATCH_BYTES) break;
    let envelope: ReturnType<typeof SignedOrderEnvelopeCodec.decode>;
    try {
      envelope = SignedOrderEnvelopeCodec.decode(encoded);
    } catch {
      continue;
    }
    const { body } = envelope;
    if (body.chainId !== context.chainId || body.eon !== eon.eon) continue;
    if (body.expiryHeight < height || !wellFormedCiphertext(envelope.ciphertext)) continue;
    const sender = toHex(body.sender);
    const expected = nonces.get(sender) ?? accountNonce(body.sender);
    if (expected === undefined || body.nonce !== expected) continue;
    if (verifyEnvelope(envelope) !== 'ok') continue;
    nonces.set(sender, expected + 1);
    reservations.push({ sender: body.sender, nonce: body.nonce, fee: body.fee });
    admitted.push(encoded);
    bytes += encoded.length;
  }
  return { reservations, admitted };
}

export interface OpenedBatch {
  readonly height: number;
  readonly outcomes: readonly EncryptedOrderOutcome[];
}

export interface OpenedBatches {
  /** The transactions to run first, in batch then block order. */
  readonly transactions: SignedTransaction[];
  readonly opened: OpenedBatch[];
  /** The pending batches after the opening (none: the one there was is open). */
  readonly pending: PendingBatch[];
}

/**
 * Opens the pending batch of block `height − 1` at the start of block `height` with `key`, its
 * keys concatenated (see the header). Pending batches are only ever of the block below: each opens at the next.
 * `verifySignature` answers the inner transactions' Ed25519 checks (a node's cache); `backend`
 * runs the pairings (noble or mcl-wasm: the same bytes, ../crypto/shutter/pairing-backend.ts).
 * @throws InvariantError when a batch is pending and `key` is missing or not its key: the caller
 * must wait for the keys and check them (`isBatchKey`) before it executes the block.
 */
export function openBatches(
  context: FairChainContext,
  pending: readonly PendingBatch[],
  height: number,
  key: Uint8Array | undefined,
  options: {
    readonly verifySignature?: (transaction: SignedTransaction) => boolean;
    readonly backend?: PairingBackend;
  } = {},
): OpenedBatches {
  const transactions: SignedTransaction[] = [];
  const opened: OpenedBatch[] = [];
  for (const batch of pending) {
    invariant(batch.height === height - 1, `batch ${batch.height} still pending at block ${height}`);
    invariant(key !== undefined, `block ${height} executes only with the key of batch ${batch.height}`);
    const at = eonAtHeight(context, batch.height);
    invariant(at !== undefined, `batch ${batch.height} is pending without its eon`);
    const { eon, eonPublicKey } = at;
    const result = openEncryptedBatch({
      chainId: context.chainId,
      eon,
      eonPublicKey,
      height: batch.height,
      envelopes: batch.envelopes,
      key,
      nextNonce: reservedNonces(batch),
      ...(options.verifySignature === undefined ? {} : { verifySignature: options.verifySignature }),
      ...(options.backend === undefined ? {} : { backend: options.backend }),
    });
    invariant(result.ok, `the key given for batch ${batch.height} is not its key`);
    transactions.push(...result.transactions);
    opened.push({ height: batch.height, outcomes: result.outcomes });
  }
  return { transactions, opened, pending: [] };
}

/** Whether executing block `height` needs a batch key: the batch of `height − 1` is pending. */
export function batchKeyNeeded(pending: readonly PendingBatch[], height: number): number | undefined {
  return pending.find((batch) => batch.height === height - 1)?.height;
}

/** Each sender's first reserved nonce in the batch: what `openEncryptedBatch` expects first. */
function reservedNonces(batch: PendingBatch): (sender: Uint8Array) => number {
  const first = new Map<string, number>();
  for (const encoded of batch.envelopes) {
    const { body } = SignedOrderEnvelopeCodec.decode(encoded);
    const sender = toHex(body.sender);
    if (!first.has(sender)) first.set(sender, body.nonce);
  }
  return (sender) => first.get(toHex(sender)) ?? 0;
}

/** SHA-256 of the pending batches (part of the node state root when there are any). */
export function pendingBatchesRoot(pending: readonly PendingBatch[]): Uint8Array {
  return sha256(PENDING_ROOT_LABEL, PendingBatchListType.hashTreeRoot([...pending]));
}

/** Why a verifier refuses a block's fair-ordering fields, or undefined when they are acceptable. */
export type FairPayloadProblem =
  | 'fair-ordering-disabled'
  | 'bad-envelope'
  | 'envelope-wrong-eon'
  | 'eon-key-pending'
  | EonActivationProblem
  | 'envelope-nonce-order'
  | 'batch-keys-not-ascending'
  | 'batch-key-not-below-block'
  | 'bad-batch-key'
  | 'bad-early-share';

/**
 * The stateless checks of a proposal's fair-ordering fields at `height`: envelopes decode, are
 * not expired, are for this chain and eon, are signed by their senders over their ciphertexts, and
 * each sender's run ascends by one; keys ascend, are for lower heights and pass the pairing check
 * where the verifier knows their batch (`batchIdentities`); early-share evidence proves what it
 * claims (see the header).
 */
export function fairPayloadProblem(
  context: {
    readonly chainId: number;
    readonly validators: readonly Uint8Array[];
    readonly fairOrdering?: ChainFairOrdering;
    /** The eons recorded as of `executedHeight` (./eon-schedule.ts). */
    readonly eons?: readonly ScheduledEon[];
    /** The verifier's executed height; with it and `committed`, eon activations are judged. */
    readonly executedHeight?: number;
    readonly committed?: CommittedSet;
  },
  height: number,
  payload: {
    envelopes: readonly Uint8Array[];
    batchKeys: readonly BatchKey[];
    earlyShares: readonly Uint8Array[];
    eonActivations?: readonly Uint8Array[];
  },
  options: {
    /** Runs the key records' pairing checks (default noble). */
    readonly backend?: PairingBackend;
    /** A key the caller already holds for a height (checked before): a record equal to it passes. */
    readonly knownKey?: (height: number) => Uint8Array | undefined;
    /**
     * The identities of the pending batch of a height, when the caller knows it: a record for a
     * batch it does not know is left to the executors' own checks (they check before they use it).
     */
    readonly batchIdentities?: (height: number) => readonly Uint8Array[] | undefined;
  } = {},
): FairPayloadProblem | undefined {
  const rules = context.fairOrdering;
  const activations = payload.eonActivations ?? [];
  if (rules === undefined)
    return payload.envelopes.length +
      payload.batchKeys.length +
      payload.earlyShares.length +
      activations.length ===
      0
      ? undefined
      : 'fair-ordering-disabled';
  const chain: FairChainContext = {
    chainId: context.chainId,
    genesisValidators: context.validators,
    fairOrdering: rules,
    eons: context.eons ?? [],
  };
  // The eon an envelope names is fixed by its height; whether it applies is known once the
  // verifier executed the block below (a lagging verifier leaves that to execution, which drops it).
  const envelopeEon = envelopeEonFor(rules, height);
  const applies = eonAtHeight(chain, height);
  const settled = context.executedHeight !== undefined && context.executedHeight >= height - 1;
  if (payload.envelopes.length > 0 && applies === undefined && settled) return 'eon-key-pending';
  // A sender's envelopes in one block carry consecutive nonces, ascending: a second envelope for a
  // nonce, or one before its predecessor, could only be dropped on execution.
  const lastNonce = new Map<string, number>();
  for (const encoded of payload.envelopes) {
    let envelope: ReturnType<typeof SignedOrderEnvelopeCodec.decode>;
    try {
      envelope = SignedOrderEnvelopeCodec.decode(encoded);
    } catch {
      return 'bad-envelope';
    }
    const { body, ciphertext } = envelope;
    if (body.chainId !== context.chainId || body.expiryHeight < height) return 'bad-envelope';
    if (body.eon !== envelopeEon) return 'envelope-wrong-eon';
    if (!wellFormedCiphertext(ciphertext) || verifyEnvelope(envelope) !== 'ok') return 'bad-envelope';
    const sender = toHex(body.sender);
    const previous = lastNonce.get(sender);
    if (previous !== undefined && body.nonce !== previous + 1) return 'envelope-nonce-order';
    lastNonce.set(sender, body.nonce);
  }
  for (let i = 0; i < payload.batchKeys.length; i++) {
    const key = payload.batchKeys[i]!;
    if (i > 0 && key.height <= payload.batchKeys[i - 1]!.height) return 'batch-keys-not-ascending';
    if (key.height >= height) return 'batch-key-not-below-block';
    const held = options.knownKey?.(key.height);
    const eon = eonAtHeight(chain, key.height);
    const identities = options.batchIdentities?.(key.height);
    // Only one key per identity passes the pairing check: a record other than the one held is
    // wrong. A batch this verifier does not know, or whose eon it has not seen recorded, is left
    // to the executors' own checks.
    if (
      held !== undefined
        ? !bytesEqual(held, key.key)
        : eon !== undefined &&
          identities !== undefined &&
          !isBatchKey(identities, key.key, eon.eonPublicKey, options.backend)
    )
      return 'bad-batch-key';
  }
  for (const encoded of payload.earlyShares)
    if (earlyShareOffender(chain, height, encoded) === undefined) return 'bad-early-share';
  if (activations.length > 0 && settled && context.committed !== undefined) {
    const verdict = judgeEonActivation(
      {
        chainId: context.chainId,
        rules: eonScheduleRules(rules, context.validators),
        recorded: chain.eons!,
        committed: context.committed,
      },
      height,
      activations[0]!,
    );
    if (!verdict.ok) return verdict.problem;
  }
  return undefined;
}

/** The validator an `EarlyKeyShare` recorded in block `height` proves Byzantine, or undefined. */
export function earlyShareOffender(
  context: FairChainContext,
  height: number,
  encoded: Uint8Array,
): number | undefined {
  let evidence: EarlyKeyShare;
  try {
    evidence = EarlyKeyShareCodec.decode(encoded);
  } catch {
    return undefined;
  }
  if (evidence.share.batch < height || evidence.finalizedHeightAtRecord !== height - 1) return undefined;
  // Checked against the keyset of the eon the share names, whose keypers' indices it carries.
  const eon = eonByNumber(
    eonScheduleRules(context.fairOrdering, context.genesisValidators),
    context.eons ?? [],
    evidence.share.eon,
  );
  if (eon === undefined) return undefined;
  return verifyEarlyKeyShare(evidence, {
    chainId: context.chainId,
    eon: eon.eon,
    validatorKeys: eon.validators,
    publicShares: eon.publicShares,
  });
}
