/**
 * Fair ordering in the block rule (issue 14): what a block's encrypted orders do, and when. Pure,
 * a function of the chain state and the block, like the rest of src/chain.
 *
 * A block at height h carries `envelopes` (src/codec/envelope.ts) in the order its proposer fixed,
 * each a `SignedTransaction` encrypted to h's batch identity. On h's execution, `admitEnvelopes`
 * keeps, in block order, the envelopes that belong there, and each pays its fee and reserves its
 * nonce in the engine at once (src/execution/steps/encrypted-orders.ts):
 *
 *   dropped, charged nothing   not a `SignedOrderEnvelope`, another chain or eon, a target other than
 *                              h, a malformed ciphertext, a bad signature or swapped ciphertext, a
 *                              sender without an account, a nonce other than the sender's next
 *                              (counting the block's earlier envelopes), or no room left in the
 *                              pending batches (`MAX_PENDING_BATCHES`, `MAX_PENDING_BATCH_BYTES`)
 *   admitted                   fee paid, nonce reserved, kept as block h's pending batch
 *
 * After h is final the validators release their shares of h's key on their votes, and a later
 * block at height H > h carries the combined key in `batchKeys`. On H's execution `openBatches`
 * takes each carried key that is the key of a pending batch (the pairing check against the eon
 * key; a wrong key opens nothing and the batch keeps waiting) and opens that batch with
 * `openEncryptedBatch` (./encrypted-batch.ts): the transactions that decrypt, decode, are the
 * sender's, match the envelope and verify run at the start of H, before H's own transactions, in
 * h's order; the rest stay charged. A batch whose key has not come within `KEY_WAIT_BLOCKS_MAX`
 * blocks is dropped (its fees stay paid: they paid for the inclusion).
 *
 * Why first: everyone can read h's orders once the key is out, and H's proposer holds it. Running
 * them before H's plain transactions means nobody who read them can get ahead of them in H. What
 * the rule cannot see deterministically is a proposer who holds the key and leaves it out, so that
 * its own plain transactions run ahead of orders it has read; verifiers refuse that block
 * (`withheldBatch`, used by src/node/app.ts): a block with plain transactions must carry the key
 * of every pending batch whose 2f + 1 shares the verifier itself holds.
 *
 * Markets for encrypted orders only (`encryptedOnlySeries`, from genesis): a plain `placeOrder` on
 * one is refused by the mempool (ENCRYPTION_REQUIRED) and by verifiers, and skipped on execution, so
 * no order on such a market can be read by the leader before its place is fixed.
 *
 * Early-share evidence (`earlyShares`): an `EarlyKeyShare` in block H proves its signer Byzantine
 * when the share is for a batch at or above H (no such block can be final before H is) and its
 * `finalizedHeightAtRecord` is H − 1, the chain's own finalized height when it is recorded.
 */
import { type EarlyKeyShare, EarlyKeyShareCodec, SignedOrderEnvelopeCodec } from '../codec/envelope.ts';
import { decodeAction } from '../codec/execution.ts';
import type { BatchKey } from '../codec/node.ts';
import {
  MAX_PENDING_BATCH_BYTES,
  MAX_PENDING_BATCHES,
  type PendingBatch,
  PendingBatchListType,
} from '../codec/snapshot.ts';
import type { SignedTransaction } from '../codec/transaction.ts';
import { verifyEarlyKeyShare } from '../consensus/evidence.ts';
import { toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { verifyEnvelope, wellFormedCiphertext } from '../crypto/shutter/envelope.ts';
import type { G2Point } from '../crypto/shutter/ibe.ts';
import type { EnvelopeReservation } from '../execution/types.ts';
import { type EncryptedOrderOutcome, isBatchKey, openEncryptedBatch } from './encrypted-batch.ts';

/** Blocks a pending batch waits for its key before it is dropped. */
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
}

/**
 * Whether `transaction`, sent plain, is an order on a market that takes encrypted orders only.
 * A payload that does not decode is the engine's to refuse (MALFORMED_PAYLOAD), not this rule's.
 */
export function encryptionRequired(
  rules: Pick<FairOrderingRules, 'encryptedOnlySeries'> | undefined,
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
  readonly validators: readonly Uint8Array[];
  readonly fairOrdering: FairOrderingRules;
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
  const nonces = new Map<string, number>();
  let bytes = 0;
  for (const encoded of envelopes) {
    if (bytes + encoded.length > MAX_PENDING_BATCH_BYTES) break;
    let envelope: ReturnType<typeof SignedOrderEnvelopeCodec.decode>;
    try {
      envelope = SignedOrderEnvelopeCodec.decode(encoded);
    } catch {
      continue;
    }
    const { body } = envelope;
    if (body.chainId !== context.chainId || body.eon !== context.fairOrdering.eon) continue;
    if (body.targetHeight !== height || !wellFormedCiphertext(envelope.ciphertext)) continue;
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
  /** The pending batches after this block: opened and expired ones removed. */
  readonly pending: PendingBatch[];
}

/**
 * Opens the pending batches whose keys block `height` carries, and drops those that waited too
 * long. `verifySignature` answers the inner transactions' Ed25519 checks (a node's cache).
 */
export function openBatches(
  context: FairChainContext,
  pending: readonly PendingBatch[],
  height: number,
  keys: readonly BatchKey[],
  verifySignature?: (transaction: SignedTransaction) => boolean,
): OpenedBatches {
  const transactions: SignedTransaction[] = [];
  const opened: OpenedBatch[] = [];
  const remaining: PendingBatch[] = [];
  const { eon, eonPublicKey } = context.fairOrdering;
  for (const batch of pending) {
    const key = keys.find((candidate) => candidate.height === batch.height);
    const result =
      key === undefined
        ? undefined
        : openEncryptedBatch({
            chainId: context.chainId,
            eon,
            eonPublicKey,
            height: batch.height,
            envelopes: batch.envelopes,
            key: key.key,
            nextNonce: reservedNonces(batch),
            ...(verifySignature === undefined ? {} : { verifySignature }),
          });
    if (result?.ok === true) {
      transactions.push(...result.transactions);
      opened.push({ height: batch.height, outcomes: result.outcomes });
    } else if (batch.height + KEY_WAIT_BLOCKS_MAX >= height) remaining.push(batch);
  }
  return { transactions, opened, pending: remaining };
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
  | 'batch-keys-not-ascending'
  | 'batch-key-not-below-block'
  | 'bad-batch-key'
  | 'bad-early-share';

/**
 * The stateless checks of a proposal's fair-ordering fields at `height`: envelopes decode and are
 * for this height, chain and eon; keys ascend, are for lower heights and pass the pairing check;
 * early-share evidence proves what it claims (see the header).
 */
export function fairPayloadProblem(
  context: {
    readonly chainId: number;
    readonly validators: readonly Uint8Array[];
    readonly fairOrdering?: FairOrderingRules;
  },
  height: number,
  payload: {
    envelopes: readonly Uint8Array[];
    batchKeys: readonly BatchKey[];
    earlyShares: readonly Uint8Array[];
  },
): FairPayloadProblem | undefined {
  const rules = context.fairOrdering;
  if (rules === undefined)
    return payload.envelopes.length + payload.batchKeys.length + payload.earlyShares.length === 0
      ? undefined
      : 'fair-ordering-disabled';
  for (const encoded of payload.envelopes) {
    try {
      const { body, ciphertext } = SignedOrderEnvelopeCodec.decode(encoded);
      if (body.chainId !== context.chainId || body.eon !== rules.eon || body.targetHeight !== height)
        return 'bad-envelope';
      if (!wellFormedCiphertext(ciphertext)) return 'bad-envelope';
    } catch {
      return 'bad-envelope';
    }
  }
  for (let i = 0; i < payload.batchKeys.length; i++) {
    const key = payload.batchKeys[i]!;
    if (i > 0 && key.height <= payload.batchKeys[i - 1]!.height) return 'batch-keys-not-ascending';
    if (key.height >= height) return 'batch-key-not-below-block';
    if (!isBatchKey(context.chainId, key.height, key.key, rules.eonPublicKey)) return 'bad-batch-key';
  }
  for (const encoded of payload.earlyShares)
    if (earlyShareOffender({ ...context, fairOrdering: rules }, height, encoded) === undefined)
      return 'bad-early-share';
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
  return verifyEarlyKeyShare(evidence, {
    chainId: context.chainId,
    eon: context.fairOrdering.eon,
    validatorKeys: context.validators,
    publicShares: context.fairOrdering.publicShares,
  });
}

/**
 * The verifier's rule against a proposer who withholds a key (see the header): the height of the
 * first batch still waiting for its key (`waiting`, ascending) whose key this verifier holds
 * (`held`) and the block leaves out although it carries plain transactions; undefined when none.
 */
export function withheldBatch(
  waiting: readonly number[],
  held: (height: number) => boolean,
  payload: { transactions: readonly Uint8Array[]; batchKeys: readonly BatchKey[] },
): number | undefined {
  if (payload.transactions.length === 0) return undefined;
  const carried = new Set(payload.batchKeys.map((key) => key.height));
  return waiting.find((height) => !carried.has(height) && held(height));
}
