/**
 * A Palisade light client (`palisade/light-client`): follows finality from genesis and checks what
 * any one node serves — blocks, account state, price certificates, keyset handovers — against
 * 2f + 1 signatures, never against the node's word. It is sans-IO: the caller feeds it answers (from
 * one node or several) and it accepts or refuses each with a typed {@link LightClientError};
 * {@link createLightClientDriver} is a small fetch-based driver over one node's API.
 *
 * ## What it trusts
 * The genesis: the chain id, the validator set of epoch 0, the genesis digest (`genesisDigest`), the
 * genesis price keyset and its certificate domain. Everything else is derived.
 *
 * ## Checkpoints
 * A checkpoint certificate (src/interop/evm/checkpoint.ts) is accepted when the current keyset
 * signed it for the EVM verifier's domain and its block hash is the finalized block the light
 * client followed at that height: a keyset that certified a block outside the finalized chain is
 * caught here, whatever its signature.
 *
 * ## Following finality (Simplex §3, finalization)
 * Blocks are accepted strictly in height order. A block at height h is accepted when
 *   1. its encoding (`BlockCodec`) decodes, is at height h, and hashes to the hash the node names;
 *   2. its parent is the hash of the block accepted at h − 1 (the genesis digest for h = 1), so a
 *      fork — however well signed — never joins the followed chain;
 *   3. a finalize certificate of the validator set of the certified block's epoch covers it: over
 *      its own digest, or over the last of `descendants`, each at the next height and naming the
 *      previous one's digest as parent (a block finalized through a later block's certificate);
 *   4. the certificate carries a quorum of distinct in-range signers whose Ed25519 signatures all
 *      verify on this chain id (`verifyCertificate`, src/consensus/certificate.ts).
 * Under at most f faulty validators no two conflicting blocks are finalized, so a chain that passes
 * these checks is the chain.
 *
 * ## Validator sets by epoch (src/execution/validator-set.ts)
 * With `epochBlocks` (genesis `dkg.epochBlocks`), every height H that is a multiple of it is a
 * boundary: block H is the last one the outgoing set finalizes, and it commits the node state root
 * after H − 16. A set change takes effect at H only if it executed at or before H − 16, so the
 * validator-set record under that root names it as pending (or names none). After accepting block
 * H the light client refuses every further block (`VALIDATOR_SET_PENDING`) until
 * {@link LightClient.acceptValidatorSet} has checked that record: its opening hashes to the root
 * block H commits, its state proof holds under the opened engine root, it agrees with the set the
 * light client follows (epoch, epoch length, members), and the next set is what the execution rule
 * itself (`applyValidatorBoundary`) makes of it. So the next set is certified by the old set's
 * 2f + 1, never by one node's word. Votes of epoch e are checked against epoch e's set only: a
 * certificate of the old set after H, or one of a later set before H, is refused. A block whose
 * certificate is a descendant's across a boundary cannot be checked yet (`UNKNOWN_EPOCH`): ask for
 * the boundary block's own certificate (the node gate makes every boundary block finalized by its
 * own, src/node/epochs.ts). Without `epochBlocks` one set holds from genesis.
 *
 * ## State
 * Every block payload (`BlockPayloadCodec`) commits the node state root after height
 * `stateRootHeight` (= height − 16, src/node/app.ts): SHA-256 over a label, the engine state root
 * and the oracle aggregation state (`nodeStateRoot`). So an account proof at height H verifies once
 * the block at H + 16 is final: the node opens the committed root (engine root and aggregates, a
 * hash preimage the node cannot forge) and the account's proof is checked against that engine root.
 * A proof older than `maxStaleBlocks` below the newest committed root is refused as stale: a node
 * could otherwise hide a recent change behind a true but old state. With fair ordering the root
 * also hashes the pending batches' and the recorded eons' digests (`StateRootOpening.fairParts`).
 *
 * ## Eon keysets (fair ordering, src/chain/eon-schedule.ts)
 * With `eonEpochs` the light client learns the eon key of every window from the chain itself: the
 * `EonActivation` a finalized block carries is judged as the block rule judges it, its attestations
 * checked against that window's validator set as the light client proved it (the genesis set for
 * W_0, the set after boundary wE for W_w), never against a set a node lists (./light-eons.ts).
 * `eonAt(height)` answers only from such records; `verifyEonKeyset` and `verifyEonActivation`
 * accept a served or relayed keyset only when it is the recorded one: one signed by a removed
 * validator, by fewer than n − f of the window's set, or for another window, is refused.
 */

import { NODE_STATE_ROOT_FAIR_PARTS_MAX, nodeStateRootOfParts } from '../chain/block-rule.ts';
import { type Block, BlockCodec, type Certificate, VoteKind } from '../codec/consensus.ts';
import { EonActivationCodec } from '../codec/envelope.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { AggregatePriceType } from '../codec/oracle.ts';
import { verifyCertificate } from '../consensus/certificate.ts';
import { createValidatorSet, type ValidatorSet } from '../consensus/validators.ts';
import { blockDigest, genesisDigest } from '../consensus/votes.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import { decodeG2, type G2Point } from '../crypto/shutter/ibe.ts';
import { type CheckpointCertificate, verifyCheckpointCertificate } from '../interop/evm/checkpoint.ts';
import {
  decodeHandoverCertificate,
  followKeysetChain,
  type HandoverRefusal,
  type Keyset,
} from '../interop/handover-certificate.ts';
import {
  type CertificateDomain,
  decodePriceCertificate,
  type PriceCertificate,
  verifyPriceCertificate as verifyFrostPriceCertificate,
} from '../interop/price-certificate.ts';
import type { EonKeysetJson } from './api/eon.ts';
import { type ClientOptions, createClient, verifyAccountProof } from './client.ts';
import { createLightEons, type EonRecordFields, type LightEon, type LightEons } from './light-eons.ts';
import { type BoundaryOpening, followBoundary, type ValidatorSetProofJson } from './validator-set-proofs.ts';

import { type AccountRead, type BlockDetail, certificateFromJson, hex } from './view.ts';

export type { LightEon };

/** Longest chain of descendants one block may carry (the node's own bound, src/node/app.ts). */
export const LIGHT_CLIENT_MAX_DESCENDANTS = 8192;
/** Committed state roots remembered (one per height), oldest dropped first. */
export const LIGHT_CLIENT_MAX_ROOTS = 4096;

export const LIGHT_CLIENT_ERRORS = Object.freeze({
  MALFORMED: 'the answer does not decode as what it claims to be',
  HASH_MISMATCH: 'the block encoding does not hash to the hash named, or is at another height',
  WRONG_HEIGHT: 'the block is not the next height the light client follows',
  NOT_LINKED: 'the block does not extend the followed chain (a fork)',
  BAD_DESCENDANTS: 'the descendants do not link the block to the certified one',
  NOT_FINALIZE: 'the certificate is not a finalize certificate of the certified block',
  UNKNOWN_EPOCH: 'the certificate is of a validator set past a boundary the light client has not crossed',
  VALIDATOR_SET_PENDING: 'a boundary was accepted: the next validator set must be proven first',
  NO_BOUNDARY_PENDING: 'no boundary block awaits its validator-set proof, or the proof is for another one',
  VALIDATOR_SET_MISMATCH: 'the proven validator-set record disagrees with the set the light client follows',
  BAD_CERTIFICATE: 'the certificate is not a quorum of valid signatures of the epoch’s validators',
  ROOT_NOT_COMMITTED: 'no finalized block followed so far commits a state root at that height',
  STALE_ROOT: 'the state proof is at a height too far below the newest committed root',
  ROOT_MISMATCH: 'the state root opening does not match the committed root',
  BAD_STATE_PROOF: 'the state proof does not prove the account the node described under the root',
  WRONG_DOMAIN: 'the certificate names another chain or contract',
  WRONG_EPOCH: 'the price certificate is not of the current keyset’s epoch',
  BAD_PRICE_SIGNATURE: 'the price certificate is not signed by the current keyset',
  HANDOVER_REFUSED: 'a keyset handover in the chain was refused',
  BAD_CHECKPOINT: 'the checkpoint certificate is not the current keyset’s for the verifier’s domain',
  CHECKPOINT_NOT_FOLLOWED:
    'the checkpoint names a height the light client has not followed (or no longer remembers)',
  CHECKPOINT_FORK: 'the checkpoint names another block than the finalized one at its height',
  UNAVAILABLE: 'no node served the next answer in a form that verifies (each refusal is in `details`)',
  EON_EPOCHS_OFF: 'the light client follows no eon epochs (genesis `eonEpochs`)',
  EON_NOT_RECORDED: 'no finalized block followed so far records an eon that applies at that height',
  EON_UNKNOWN_WINDOW: 'the eon is of a window whose validator set the light client has not proven yet',
  EON_WRONG_WINDOW: 'the eon is not of the window of the height it is offered for',
  EON_BAD_ATTESTATIONS:
    'the eon keyset is not attested by n − f of its window’s validators as the light client knows them',
  EON_MISMATCH: 'the eon keyset is not the one a finalized block recorded for its window',
  EON_SCHEDULE_MISMATCH:
    'the eons the light client judged recorded disagree with those the certified state root commits',
} as const);

export type LightClientErrorCode = keyof typeof LIGHT_CLIENT_ERRORS;

/** Refusals that say where the light client is, not that the answer was false. */
const NOT_YET_CODES: ReadonlySet<LightClientErrorCode> = new Set<LightClientErrorCode>([
  'UNKNOWN_EPOCH',
  'VALIDATOR_SET_PENDING',
  'ROOT_NOT_COMMITTED',
  'STALE_ROOT',
  'CHECKPOINT_NOT_FOLLOWED',
  'UNAVAILABLE',
  'EON_EPOCHS_OFF',
  'EON_NOT_RECORDED',
  'EON_UNKNOWN_WINDOW',
]);

/** A refused answer: nothing the light client holds changed. */
export class LightClientError extends Error {
  readonly code: LightClientErrorCode;
  /**
   * Network-facing verdict (as Lodestar's): `reject` when the answer is false (its node is not to
   * be asked again), `ignore` when it is only not usable yet by this light client (a height not
   * followed, a root not committed, a boundary not proven) or nothing was answered.
   */
  readonly verdict: 'reject' | 'ignore';
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: LightClientErrorCode, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(`${code}: ${LIGHT_CLIENT_ERRORS[code]}`, options);
    this.name = 'LightClientError';
    this.code = code;
    this.verdict = NOT_YET_CODES.has(code) ? 'ignore' : 'reject';
    this.details = Object.freeze({ ...details });
  }
}

export interface LightClientGenesis {
  chainId: number;
  /** The genesis validators, in index order: the set of epoch 1. */
  validators: ValidatorSet;
  /** Validator-set epoch length (genesis `dkg.epochBlocks`); absent or 0: one set from genesis. */
  epochBlocks?: number;
  /** The genesis price keyset and the domain its certificates and handovers name. */
  keyset: Keyset;
  keysetDomain: CertificateDomain;
  /** Price certificates' domain (the oracle's EIP-712 domain); default `keysetDomain`. */
  priceDomain?: CertificateDomain;
  /** How far below the newest committed root an account proof may be; default 16 heights. */
  maxStaleBlocks?: number;
  /**
   * The eon keyset follows the validator epochs (genesis `eonKeygen` with `dkg.epochBlocks`,
   * src/chain/eon-schedule.ts): window 0's eon number. The light client then learns each window's
   * eon key from the `EonActivation`s of the blocks it follows (./light-eons.ts).
   */
  eonEpochs?: { genesisEon: number };
}

export interface FinalizedBlock {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly view: number;
  readonly epoch: number;
  readonly timeMs: number;
  /** The node state root this block commits to, and the height it is the root after. */
  readonly stateRootHeight: number;
  readonly stateRoot: Uint8Array;
}

/** The opening of a committed node state root: what `nodeStateRoot` hashes. */
export interface StateRootOpening {
  engineStateRoot: Uint8Array;
  prices: readonly AggregatePriceValue[];
  /**
   * With fair ordering: the pending batches' and recorded eons' digests the root hashes after the
   * price root (src/chain/block-rule.ts `nodeStateRootFairParts`); absent when neither exists.
   */
  fairParts?: readonly Uint8Array[];
}

/** The node state root an opening hashes to, or MALFORMED. */
function openedRoot(opening: StateRootOpening): Uint8Array {
  try {
    const fairParts = opening.fairParts ?? [];
    if (fairParts.length > NODE_STATE_ROOT_FAIR_PARTS_MAX || fairParts.some((part) => part.length !== 32))
      throw new LightClientError('MALFORMED', { field: 'opening.fairParts' });
    return nodeStateRootOfParts(opening.engineStateRoot, opening.prices, fairParts);
  } catch (error) {
    if (error instanceof LightClientError) throw error;
    throw new LightClientError('MALFORMED', { field: 'opening' }, { cause: error });
  }
}

export interface LightClient {
  /** The last finalized block followed (height 0: genesis, nothing followed yet). */
  readonly tip: { height: number; hash: Uint8Array; epoch: number };
  /** The validator set that signs the next block (its epoch; 1 is the genesis set). */
  readonly validators: { epoch: number; set: ValidatorSet };
  /** The boundary block accepted whose next set is not proven yet. */
  readonly pendingBoundary: number | undefined;
  readonly keyset: Keyset;
  /**
   * Proves the set after the pending boundary from the record under the root that block commits.
   * With eon epochs, the eons judged recorded as of the opened height must hash to the eon-schedule
   * root the opening carries.
   * @throws LightClientError (NO_BOUNDARY_PENDING, MALFORMED, ROOT_MISMATCH, BAD_STATE_PROOF,
   *   VALIDATOR_SET_MISMATCH, EON_SCHEDULE_MISMATCH); nothing changes then
   */
  acceptValidatorSet(proof: ValidatorSetProofJson): { epoch: number; set: ValidatorSet; changed: boolean };
  /**
   * Accepts the next block.
   * @throws LightClientError when it is not the next finalized block of the followed chain
   */
  acceptBlock(block: BlockDetail): FinalizedBlock;
  /** The committed node state root after `height`, if a followed block committed it. */
  committedRoot(height: number): Uint8Array | undefined;
  /**
   * Checks an account read (with `?proof`) against the committed root at its height.
   * @throws LightClientError (ROOT_NOT_COMMITTED, STALE_ROOT, ROOT_MISMATCH, BAD_STATE_PROOF)
   */
  verifyAccount(publicKey: Uint8Array, read: AccountRead, opening: StateRootOpening): AccountRead;
  /**
   * Checks an encoded price certificate (`PriceCertificateCodec`) against the current keyset.
   * @throws LightClientError (MALFORMED, WRONG_DOMAIN, WRONG_EPOCH, BAD_PRICE_SIGNATURE)
   */
  verifyPriceCertificate(encoded: Uint8Array): PriceCertificate;
  /**
   * Checks an encoded checkpoint certificate (src/interop/evm/checkpoint.ts) for the EVM verifier
   * at `domain`: signed by the current keyset, and naming the finalized block at its height; with
   * `opening` (of the node state root after that height), also certifying the engine root finality
   * committed, so the withdrawals root it carries is that state's.
   * @throws LightClientError (BAD_CHECKPOINT with the reason, CHECKPOINT_NOT_FOLLOWED, CHECKPOINT_FORK,
   *   ROOT_NOT_COMMITTED, ROOT_MISMATCH)
   */
  verifyCheckpoint(
    encoded: Uint8Array,
    domain: CertificateDomain,
    opening?: StateRootOpening,
  ): CheckpointCertificate;
  /**
   * Follows encoded handover certificates from the current keyset; all or nothing.
   * @throws LightClientError HANDOVER_REFUSED with the index and reason
   */
  followHandovers(handovers: readonly Uint8Array[]): Keyset;
  /**
   * The eon keyset orders for `height` are encrypted to, as a finalized block the light client
   * followed recorded it (attestations checked against that window's set as the light client knows it).
   * @throws LightClientError EON_EPOCHS_OFF, EON_NOT_RECORDED (not recorded as of the tip, or the
   *   height precedes a late record)
   */
  eonAt(height: number): LightEon;
  /**
   * Checks a keyset a node serves (`GET /v1/eon`, or its `next`), optionally for `height`: the
   * chain's record of its window, never the node's word (its `validators`, key and heights must be
   * the recorded ones). Returns the recorded eon.
   * @throws LightClientError EON_EPOCHS_OFF, EON_NOT_RECORDED, EON_UNKNOWN_WINDOW, MALFORMED,
   *   EON_WRONG_WINDOW, EON_BAD_ATTESTATIONS, EON_MISMATCH
   */
  verifyEonKeyset(served: EonKeysetJson, height?: number): LightEon;
  /**
   * Checks a relayed `EonActivation` encoding, optionally for `height`, as `verifyEonKeyset`.
   * @throws LightClientError as verifyEonKeyset
   */
  verifyEonActivation(encoded: Uint8Array, height?: number): LightEon;
}

function decodeHex(value: unknown, field: string): Uint8Array {
  const bytes = typeof value === 'string' ? fromHex(value) : undefined;
  if (bytes === undefined) throw new LightClientError('MALFORMED', { field });
  return bytes;
}

function decodeBlock(bytes: Uint8Array, field: string): Block {
  try {
    return BlockCodec.decode(bytes);
  } catch (error) {
    throw new LightClientError('MALFORMED', { field }, { cause: error });
  }
}

/**
 * A light client at genesis.
 * @example
 * const light = createLightClient({ chainId, validators: createValidatorSet(keys), keyset, keysetDomain });
 * light.acceptBlock(await client.block(light.tip.height + 1));
 */
export function createLightClient(genesis: LightClientGenesis): LightClient {
  const { chainId } = genesis;
  const epochBlocks = genesis.epochBlocks ?? 0;
  if (!Number.isSafeInteger(epochBlocks) || epochBlocks < 0)
    throw new LightClientError('MALFORMED', { field: 'epochBlocks' });
  const priceDomain = genesis.priceDomain ?? genesis.keysetDomain;
  const maxStaleBlocks = genesis.maxStaleBlocks ?? 16;
  let current = { epoch: 1, set: genesis.validators };
  /** The boundary block accepted last, and the root it commits, until its next set is proven. */
  let boundary: { height: number; rootHeight: number; root: Uint8Array } | undefined;
  const roots = new Map<number, Uint8Array>();
  const hashes = new Map<number, Uint8Array>();
  let newestRootHeight = -1;
  let tip = { height: 0, hash: genesisDigest(chainId), epoch: 1 };
  let keyset: Keyset = { epoch: genesis.keyset.epoch, groupPublicKey: genesis.keyset.groupPublicKey.slice() };
  if (
    genesis.eonEpochs !== undefined &&
    (epochBlocks === 0 ||
      !Number.isSafeInteger(genesis.eonEpochs.genesisEon) ||
      genesis.eonEpochs.genesisEon < 0)
  )
    throw new LightClientError('MALFORMED', { field: 'eonEpochs' });
  const eons: LightEons | undefined =
    genesis.eonEpochs === undefined
      ? undefined
      : createLightEons({
          chainId,
          genesisEon: genesis.eonEpochs.genesisEon,
          epochBlocks,
          genesisSet: genesis.validators.publicKeys,
        });

  /** The last height the current set signs: the next boundary at or above `height`. */
  const lastHeightOfEpoch = (height: number) =>
    epochBlocks === 0 ? Number.MAX_SAFE_INTEGER : Math.ceil(height / epochBlocks) * epochBlocks;

  function acceptBlock(detail: BlockDetail): FinalizedBlock {
    const height = tip.height + 1;
    if (boundary !== undefined)
      throw new LightClientError('VALIDATOR_SET_PENDING', { boundary: boundary.height });
    if (detail === null || typeof detail !== 'object')
      throw new LightClientError('MALFORMED', { field: 'block' });
    if (detail.height !== height)
      throw new LightClientError('WRONG_HEIGHT', { expected: height, got: detail.height });
    const block = decodeBlock(decodeHex(detail.encoded, 'encoded'), 'encoded');
    const digest = blockDigest(block);
    if (block.height !== height || !bytesEqual(digest, decodeHex(detail.hash, 'hash')))
      throw new LightClientError('HASH_MISMATCH', { height, hash: detail.hash });
    if (!bytesEqual(block.parent, tip.hash))
      throw new LightClientError('NOT_LINKED', {
        height,
        parent: toHex(block.parent),
        followed: toHex(tip.hash),
      });
    const descendants = detail.descendants ?? [];
    if (!Array.isArray(descendants) || descendants.length > LIGHT_CLIENT_MAX_DESCENDANTS)
      throw new LightClientError('BAD_DESCENDANTS', { height });
    let certified = block;
    let certifiedDigest = digest;
    for (const [index, encoded] of descendants.entries()) {
      const next = decodeBlock(decodeHex(encoded, `descendants.${index}`), `descendants.${index}`);
      if (next.height !== certified.height + 1 || !bytesEqual(next.parent, certifiedDigest))
        throw new LightClientError('BAD_DESCENDANTS', { height, index });
      certified = next;
      certifiedDigest = blockDigest(next);
    }
    let certificate: Certificate;
    try {
      certificate = certificateFromJson(detail.finalization);
    } catch (error) {
      throw new LightClientError('MALFORMED', { field: 'finalization' }, { cause: error });
    }
    if (
      certificate.kind !== VoteKind.finalize ||
      certificate.view !== certified.view ||
      !bytesEqual(certificate.digest, certifiedDigest)
    )
      throw new LightClientError('NOT_FINALIZE', { height, view: certificate.view });
    // Votes are checked against the set of the certified block's epoch (module header): a
    // descendant past the boundary is signed by a set not proven yet.
    if (certified.height > lastHeightOfEpoch(height))
      throw new LightClientError('UNKNOWN_EPOCH', { height, certifiedHeight: certified.height });
    const epoch = current.epoch;
    if (!verifyCertificate(current.set, chainId, certificate))
      throw new LightClientError('BAD_CERTIFICATE', { height, epoch });
    let payload: ReturnType<typeof BlockPayloadCodec.decode>;
    try {
      payload = BlockPayloadCodec.decode(block.payload);
    } catch (error) {
      throw new LightClientError('MALFORMED', { field: 'payload' }, { cause: error });
    }
    // Everything checked: only now does any state change.
    if (epochBlocks !== 0 && height % epochBlocks === 0)
      boundary = { height, rootHeight: payload.stateRootHeight, root: payload.stateRoot.slice() };
    const finalized: FinalizedBlock = Object.freeze({
      height,
      hash: digest,
      view: block.view,
      epoch,
      timeMs: payload.timeMs,
      stateRootHeight: payload.stateRootHeight,
      stateRoot: payload.stateRoot.slice(),
    });
    if (!roots.has(payload.stateRootHeight)) {
      roots.set(payload.stateRootHeight, finalized.stateRoot);
      if (roots.size > LIGHT_CLIENT_MAX_ROOTS) roots.delete(roots.keys().next().value!);
    }
    newestRootHeight = Math.max(newestRootHeight, payload.stateRootHeight);
    hashes.set(height, digest);
    if (hashes.size > LIGHT_CLIENT_MAX_ROOTS) hashes.delete(hashes.keys().next().value!);
    tip = { height, hash: digest, epoch };
    eons?.noteBlock(height, payload.eonActivations);
    return finalized;
  }

  function acceptValidatorSet(served: ValidatorSetProofJson) {
    const pending = boundary;
    if (
      pending === undefined ||
      served?.boundaryHeight !== pending.height ||
      served.height !== pending.rootHeight
    )
      throw new LightClientError('NO_BOUNDARY_PENDING', {
        boundary: pending?.height,
        served: served?.boundaryHeight,
        rootHeight: served?.height,
      });
    let opening: BoundaryOpening;
    try {
      if (!Array.isArray(served.prices)) throw new LightClientError('MALFORMED', { field: 'prices' });
      opening = {
        engineStateRoot: decodeHex(served.engineStateRoot, 'engineStateRoot'),
        prices: served.prices.map((price, i) =>
          AggregatePriceType.deserialize(decodeHex(price, `prices.${i}`)),
        ),
        record: decodeHex(served.record, 'record'),
        proof: decodeHex(served.proof, 'proof'),
        fairParts: (Array.isArray(served.fairParts) ? served.fairParts : []).map((part, i) =>
          decodeHex(part, `fairParts.${i}`),
        ),
      };
      if (served.fairParts !== undefined && !Array.isArray(served.fairParts))
        throw new LightClientError('MALFORMED', { field: 'fairParts' });
    } catch (error) {
      if (error instanceof LightClientError) throw error;
      throw new LightClientError('MALFORMED', { field: 'validatorSetProof' }, { cause: error });
    }
    // The checks are state sync's too (validator-set-proofs.ts `followBoundary`).
    const verdict = followBoundary(opening, pending.root, pending.height, {
      epoch: current.epoch,
      epochBlocks,
      keys: current.set.publicKeys,
    });
    if (!verdict.ok) {
      const details: Record<string, unknown> =
        verdict.code === 'ROOT_MISMATCH'
          ? { height: pending.rootHeight, field: 'opening' }
          : verdict.code === 'BAD_STATE_PROOF'
            ? { height: pending.rootHeight, field: 'record' }
            : verdict.code === 'VALIDATOR_SET_MISMATCH'
              ? { followed: current.epoch }
              : { field: 'validatorSetProof' };
      throw new LightClientError(verdict.code, details);
    }
    const changed = verdict.next !== undefined;
    const next =
      verdict.next === undefined
        ? current
        : { epoch: verdict.next.epoch, set: createValidatorSet(verdict.next.keys) };
    // The set after boundary wE holds window w's keypers: its eon records can be judged now. The
    // eons the light client then holds as of the opened height must be what that certified root
    // commits (its last fair-ordering part is the eon-schedule root whenever eons are kept).
    if (eons !== undefined) {
      const parts = opening.fairParts ?? [];
      const agrees = eons.learnWindowSet(pending.height / epochBlocks, next.set.publicKeys, (rootAfter) => {
        const expected = rootAfter(pending.rootHeight);
        if (expected === undefined) return parts.length < 2;
        return parts.length >= 1 && bytesEqual(parts[parts.length - 1]!, expected);
      });
      if (!agrees)
        throw new LightClientError('EON_SCHEDULE_MISMATCH', {
          boundary: pending.height,
          height: pending.rootHeight,
        });
    }
    current = next;
    boundary = undefined;
    return { epoch: next.epoch, set: next.set, changed };
  }

  function verifyAccount(publicKey: Uint8Array, read: AccountRead, opening: StateRootOpening): AccountRead {
    const proof = read?.proof;
    if (proof === undefined || !Number.isSafeInteger(proof.height))
      throw new LightClientError('MALFORMED', { field: 'proof' });
    if (proof.height > newestRootHeight)
      throw new LightClientError('ROOT_NOT_COMMITTED', { height: proof.height, newest: newestRootHeight });
    if (proof.height < newestRootHeight - maxStaleBlocks)
      throw new LightClientError('STALE_ROOT', { height: proof.height, newest: newestRootHeight });
    const committed = roots.get(proof.height);
    if (committed === undefined) throw new LightClientError('ROOT_NOT_COMMITTED', { height: proof.height });
    const opened = openedRoot(opening);
    if (!bytesEqual(opened, committed))
      throw new LightClientError('ROOT_MISMATCH', { height: proof.height, field: 'opening' });
    const engineRoot = hex(opening.engineStateRoot);
    if (typeof proof.stateRoot !== 'string' || proof.stateRoot.toLowerCase() !== engineRoot.toLowerCase())
      throw new LightClientError('ROOT_MISMATCH', { height: proof.height, field: 'proof.stateRoot' });
    if (!verifyAccountProof(publicKey, read, engineRoot))
      throw new LightClientError('BAD_STATE_PROOF', { height: proof.height });
    return read;
  }

  function verifyPriceCertificate(encoded: Uint8Array): PriceCertificate {
    let certificate: PriceCertificate;
    try {
      certificate = decodePriceCertificate(encoded);
    } catch (error) {
      throw new LightClientError('MALFORMED', { field: 'certificate' }, { cause: error });
    }
    if (
      certificate.domain.chainId !== priceDomain.chainId ||
      !bytesEqual(certificate.domain.verifyingContract, priceDomain.verifyingContract)
    )
      throw new LightClientError('WRONG_DOMAIN', { chainId: certificate.domain.chainId });
    if (certificate.report.epoch !== keyset.epoch)
      throw new LightClientError('WRONG_EPOCH', { epoch: certificate.report.epoch, current: keyset.epoch });
    if (!verifyFrostPriceCertificate(certificate, keyset))
      throw new LightClientError('BAD_PRICE_SIGNATURE', { epoch: keyset.epoch });
    return certificate;
  }

  function verifyCheckpoint(
    encoded: Uint8Array,
    domain: CertificateDomain,
    opening?: StateRootOpening,
  ): CheckpointCertificate {
    const verdict = verifyCheckpointCertificate(encoded, keyset, domain);
    if (!verdict.ok)
      throw new LightClientError('BAD_CHECKPOINT', { reason: verdict.reason, detail: verdict.detail });
    const { height, blockHash } = verdict.certificate.checkpoint;
    const followed = height <= BigInt(Number.MAX_SAFE_INTEGER) ? hashes.get(Number(height)) : undefined;
    if (followed === undefined) throw new LightClientError('CHECKPOINT_NOT_FOLLOWED', { height });
    if (!bytesEqual(followed, blockHash))
      throw new LightClientError('CHECKPOINT_FORK', { height, blockHash: toHex(blockHash) });
    if (opening !== undefined) {
      // The certified engine root must be the one finality committed for that height (block + 16).
      const committed = roots.get(Number(height));
      if (committed === undefined) throw new LightClientError('ROOT_NOT_COMMITTED', { height });
      const opened = openedRoot(opening);
      if (
        !bytesEqual(opened, committed) ||
        !bytesEqual(opening.engineStateRoot, verdict.certificate.checkpoint.stateRoot)
      )
        throw new LightClientError('ROOT_MISMATCH', { height, field: 'checkpoint.stateRoot' });
    }
    return verdict.certificate;
  }

  function followHandovers(handovers: readonly Uint8Array[]): Keyset {
    const verdict = followKeysetChain(keyset, handovers, genesis.keysetDomain);
    if (!verdict.ok) {
      const reason: HandoverRefusal = verdict.reason;
      throw new LightClientError('HANDOVER_REFUSED', {
        index: verdict.index,
        reason,
        detail: verdict.detail,
      });
    }
    keyset = verdict.keyset;
    return keyset;
  }

  function eonsOrThrow(): LightEons {
    if (eons === undefined) throw new LightClientError('EON_EPOCHS_OFF');
    return eons;
  }

  function eonAt(height: number): LightEon {
    const schedule = eonsOrThrow();
    if (!Number.isSafeInteger(height) || height < 0)
      throw new LightClientError('MALFORMED', { field: 'height' });
    const eon = schedule.eonAt(height);
    if (eon === undefined) throw new LightClientError('EON_NOT_RECORDED', { height, tip: tip.height });
    return eon;
  }

  function checkEonRecord(fields: EonRecordFields, height: number | undefined): LightEon {
    const verdict = eonsOrThrow().check(fields, height);
    if (!verdict.ok) throw new LightClientError(verdict.code, { ...verdict.details, tip: tip.height });
    return verdict.eon;
  }

  function verifyEonKeyset(served: EonKeysetJson, height?: number): LightEon {
    eonsOrThrow();
    if (served === null || typeof served !== 'object')
      throw new LightClientError('MALFORMED', { field: 'eon' });
    if (served.state !== 'ready' || served.eon === null || !Number.isSafeInteger(served.eon))
      throw new LightClientError('EON_NOT_RECORDED', { state: served.state, height });
    let fields: EonRecordFields;
    let servedKey: Uint8Array;
    let servedShares: Uint8Array[];
    try {
      fields = {
        eon: served.eon,
        qualified: [...served.qualified],
        commitment: served.commitment.map((text, k) =>
          decodeG2(decodeHex(text, `commitment.${k}`), `commitment.${k}`),
        ),
        attestations: served.attestations.map((text, i) => decodeHex(text, `attestations.${i}`)),
      };
      servedKey = decodeHex(served.eonPublicKey, 'eonPublicKey');
      servedShares = served.publicShares.map((text, i) => decodeHex(text, `publicShares.${i}`));
    } catch (error) {
      if (error instanceof LightClientError) throw error;
      throw new LightClientError('MALFORMED', { field: 'eon' }, { cause: error });
    }
    const eon = checkEonRecord(fields, height);
    // The rest of the answer must be the record's too: a client encrypts to the key it is shown.
    const mismatch = (field: string) => new LightClientError('EON_MISMATCH', { eon: eon.eon, field });
    if (!bytesEqual(servedKey, eon.eonPublicKeyBytes)) throw mismatch('eonPublicKey');
    if (
      servedShares.length !== eon.publicShares.length ||
      servedShares.some((share, i) => !bytesEqual(share, eon.publicShares[i]!.toBytes(true)))
    )
      throw mismatch('publicShares');
    if (served.validators !== undefined) {
      const listed = served.validators.map((text) => fromHex(text));
      if (
        listed.length !== eon.validators.length ||
        listed.some((key, i) => key === undefined || !bytesEqual(key, eon.validators[i]!))
      )
        throw mismatch('validators');
    }
    if (served.fromHeight !== undefined && served.fromHeight !== eon.fromHeight) throw mismatch('fromHeight');
    if (served.untilHeight !== undefined && served.untilHeight !== eon.untilHeight)
      throw mismatch('untilHeight');
    return eon;
  }

  function verifyEonActivation(encoded: Uint8Array, height?: number): LightEon {
    eonsOrThrow();
    let fields: EonRecordFields;
    try {
      const record = EonActivationCodec.decode(encoded);
      const commitment: G2Point[] = record.commitment.map((bytes) => decodeG2(bytes, 'commitment'));
      fields = {
        eon: record.eon,
        qualified: record.qualified,
        commitment,
        attestations: record.attestations,
      };
    } catch (error) {
      throw new LightClientError('MALFORMED', { field: 'activation' }, { cause: error });
    }
    return checkEonRecord(fields, height);
  }

  return {
    get tip() {
      return { height: tip.height, hash: tip.hash.slice(), epoch: tip.epoch };
    },
    get keyset() {
      return { epoch: keyset.epoch, groupPublicKey: keyset.groupPublicKey.slice() };
    },
    get validators() {
      return { epoch: current.epoch, set: current.set };
    },
    get pendingBoundary() {
      return boundary?.height;
    },
    acceptBlock,
    acceptValidatorSet,
    committedRoot: (height) => roots.get(height)?.slice(),
    verifyAccount,
    verifyPriceCertificate,
    verifyCheckpoint,
    followHandovers,
    eonAt,
    verifyEonKeyset,
    verifyEonActivation,
  };
}

/** One node's answer the driver did not use: the node, what was asked and why. */
export interface NodeFault {
  readonly node: string;
  readonly asked: string;
  /** A LightClientError code (the answer was false: the node is set aside) or a ClientError code. */
  readonly code: string;
}

export interface LightClientDriver {
  readonly light: LightClient;
  /**
   * Follows finality up to the highest height any node claims (at most `maxBlocks` at a time),
   * proving each boundary's next validator set on the way. Each height is asked of the nodes in
   * turn: an unreachable or not-found answer moves to the next node, a false one (refused by the
   * light client) also sets that node aside for the driver's lifetime.
   * @throws LightClientError UNAVAILABLE when no node serves the next block or proof verifiably
   *   (with one node: that node's own error); the light client keeps what it accepted
   */
  sync(maxBlocks?: number): Promise<number>;
  /** The latest price certificates (or those in force at a height) from the first node whose every one verifies. */
  priceCertificates(query?: { height: number }): Promise<PriceCertificate[]>;
  /** An account with its proof, verified against the committed root (the caller supplies the opening). */
  account(publicKey: Uint8Array, opening: StateRootOpening): Promise<AccountRead>;
  /**
   * Follows the handover chain each node serves (`GET /v1/keys`) from the light client's keyset:
   * every node is asked, so one that withholds the latest handover does not hold the keyset back.
   * @throws LightClientError UNAVAILABLE when no node answered a chain that verifies
   */
  followKeyset(): Promise<Keyset>;
  /** A certified withdrawals checkpoint, verified against the keyset and the followed block at its height. */
  checkpoint(height: number | 'latest', domain: CertificateDomain): Promise<CheckpointCertificate>;
  /**
   * The eon keyset of `height` from the chain: follows finality (as `sync`) and answers from the
   * blocks followed (`LightClient.eonAt`); no node's `GET /v1/eon` is taken on its word.
   * @throws LightClientError EON_NOT_RECORDED while no followed block records it, or as `sync`
   */
  eonAt(height: number, maxBlocks?: number): Promise<LightEon>;
  /** Answers set aside so far, oldest first (at most 256). */
  faults(): readonly NodeFault[];
}

/** The nodes a driver asks: one, or several in order of preference. */
export type LightClientNodes = ClientOptions | { nodes: readonly ClientOptions[] };

const FAULTS_KEPT = 256;

/**
 * Drives a light client over one or more nodes' HTTP APIs with `fetch` (through `palisade/client`).
 * No node is trusted: every answer is checked by the light client before it changes anything.
 * @example const driver = createLightClientDriver(light, { nodes: [{ url: a }, { url: b }] }); await driver.sync();
 */
export function createLightClientDriver(light: LightClient, options: LightClientNodes): LightClientDriver {
  const nodes = ('nodes' in options ? options.nodes : [options]).map((node) => ({
    url: node.url,
    client: createClient(node),
  }));
  if (nodes.length === 0) throw new LightClientError('UNAVAILABLE', { nodes: 0 });
  const setAside = new Set<number>();
  const faults: NodeFault[] = [];
  const fault = (index: number, asked: string, error: unknown) => {
    const code = (error as { code?: unknown })?.code;
    faults.push({ node: nodes[index]!.url, asked, code: typeof code === 'string' ? code : 'ERROR' });
    if (faults.length > FAULTS_KEPT) faults.shift();
    if (error instanceof LightClientError && error.verdict === 'reject') setAside.add(index);
  };

  /** Asks each node not set aside until one answer verifies; `check` must change nothing on refusal. */
  async function ask<T, R>(
    asked: string,
    read: (client: ReturnType<typeof createClient>) => Promise<T>,
    check: (answer: T) => R,
  ): Promise<R> {
    const errors: unknown[] = [];
    for (let index = 0; index < nodes.length; index++) {
      if (setAside.has(index)) continue;
      try {
        return check(await read(nodes[index]!.client));
      } catch (error) {
        fault(index, asked, error);
        errors.push(error);
      }
    }
    if (nodes.length === 1 && errors.length === 1) throw errors[0];
    throw new LightClientError('UNAVAILABLE', { asked, faults: faults.slice(-nodes.length) });
  }

  async function proveBoundary(): Promise<void> {
    const pending = light.pendingBoundary;
    if (pending === undefined) return;
    await ask(
      `validator set after ${pending}`,
      (client) => client.validatorSetProof(pending),
      (proof) => light.acceptValidatorSet(proof),
    );
  }

  async function sync(maxBlocks = 1024): Promise<number> {
    // With one node its error is the answer, as a plain client would see it; with several, a
    // node that does not answer claims nothing. A claim is only a target: blocks are verified.
    const claims =
      nodes.length === 1
        ? [(await nodes[0]!.client.status()).height]
        : await Promise.all(
            nodes.map(async (node, index) => {
              if (setAside.has(index)) return undefined;
              try {
                return (await node.client.status()).height;
              } catch (error) {
                fault(index, 'status', error);
                return undefined;
              }
            }),
          );
    const answered = claims.filter((claim): claim is number => Number.isSafeInteger(claim));
    if (answered.length === 0)
      throw new LightClientError('UNAVAILABLE', { asked: 'status', faults: faults.slice(-nodes.length) });
    const target = Math.max(...answered);
    await proveBoundary();
    let accepted = 0;
    while (light.tip.height < target && accepted < maxBlocks) {
      const height = light.tip.height + 1;
      await ask(
        `block ${height}`,
        (client) => client.block(height),
        (detail) => light.acceptBlock(detail),
      );
      accepted++;
      await proveBoundary();
    }
    return accepted;
  }

  return {
    light,
    sync,
    async eonAt(height, maxBlocks) {
      try {
        return light.eonAt(height);
      } catch (error) {
        if (!(error instanceof LightClientError) || error.code !== 'EON_NOT_RECORDED') throw error;
      }
      await sync(maxBlocks);
      return light.eonAt(height);
    },
    priceCertificates(query) {
      return ask(
        'price certificates',
        (client) => client.certificates(query),
        ({ certificates }) =>
          certificates.map((entry) => light.verifyPriceCertificate(decodeHex(entry.encoded, 'encoded'))),
      );
    },
    account(publicKey, opening) {
      return ask(
        'account',
        (client) => client.account(publicKey, { proof: true }),
        (read) => light.verifyAccount(publicKey, read, opening),
      );
    },
    async followKeyset() {
      let answered = false;
      for (let index = 0; index < nodes.length; index++) {
        if (setAside.has(index)) continue;
        try {
          const lifecycle = await nodes[index]!.client.keys();
          const handovers = (Array.isArray(lifecycle.handovers) ? lifecycle.handovers : []).map((entry, i) =>
            decodeHex(entry?.encoded, `handovers.${i}.encoded`),
          );
          // Those the light client is already past are history; the rest must chain from its keyset.
          const ahead = handovers.filter((bytes) => {
            try {
              return decodeHandoverCertificate(bytes).toEpoch > light.keyset.epoch;
            } catch {
              return true; // refused below with its reason
            }
          });
          light.followHandovers(ahead);
          answered = true;
        } catch (error) {
          fault(index, 'keys', error);
        }
      }
      if (!answered)
        throw new LightClientError('UNAVAILABLE', { asked: 'keys', faults: faults.slice(-nodes.length) });
      return light.keyset;
    },
    checkpoint(height, domain) {
      return ask(
        `checkpoint ${height}`,
        (client) => client.checkpoint(height),
        (checkpoint) => light.verifyCheckpoint(decodeHex(checkpoint?.encoded, 'encoded'), domain),
      );
    },
    faults: () => faults.slice(),
  };
}
