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
 * ## Validator sets by epoch
 * A {@link ValidatorSchedule} names the epoch of each height and yields the set of a new epoch once
 * the light client has finalized the block before the epoch's first height (so a set change
 * committed in epoch e − 1 decides epoch e's set, checked by epoch e − 1's signers). Votes of
 * epoch e are checked against epoch e's set only. Today's network has one set from genesis:
 * {@link fixedValidatorSchedule}.
 *
 * ## State
 * Every block payload (`BlockPayloadCodec`) commits the node state root after height
 * `stateRootHeight` (= height − 16, src/node/app.ts): SHA-256 over a label, the engine state root
 * and the oracle aggregation state (`nodeStateRoot`). So an account proof at height H verifies once
 * the block at H + 16 is final: the node opens the committed root (engine root and aggregates, a
 * hash preimage the node cannot forge) and the account's proof is checked against that engine root.
 * A proof older than `maxStaleBlocks` below the newest committed root is refused as stale: a node
 * could otherwise hide a recent change behind a true but old state.
 */

import { nodeStateRoot } from '../chain/block-rule.ts';
import { type Block, BlockCodec, type Certificate, VoteKind } from '../codec/consensus.ts';
import { BlockPayloadCodec } from '../codec/node.ts';
import type { AggregatePriceValue } from '../codec/oracle.ts';
import { verifyCertificate } from '../consensus/certificate.ts';
import type { ValidatorSet } from '../consensus/validators.ts';
import { blockDigest, genesisDigest } from '../consensus/votes.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.ts';
import { type CheckpointCertificate, verifyCheckpointCertificate } from '../interop/evm/checkpoint.ts';
import { followKeysetChain, type HandoverRefusal, type Keyset } from '../interop/handover-certificate.ts';
import {
  type CertificateDomain,
  decodePriceCertificate,
  type PriceCertificate,
  verifyPriceCertificate as verifyFrostPriceCertificate,
} from '../interop/price-certificate.ts';
import { type ClientOptions, createClient, verifyAccountProof } from './client.ts';
import { type AccountRead, type BlockDetail, certificateFromJson, hex } from './view.ts';

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
  UNKNOWN_EPOCH: 'no validator set is known for the epoch of the certified block',
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
} as const);

export type LightClientErrorCode = keyof typeof LIGHT_CLIENT_ERRORS;

/** A refused answer: nothing the light client holds changed. */
export class LightClientError extends Error {
  readonly code: LightClientErrorCode;
  /** Network-facing verdict (as Lodestar's): every refusal here is the answer's fault. */
  readonly verdict = 'reject' as const;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: LightClientErrorCode, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(`${code}: ${LIGHT_CLIENT_ERRORS[code]}`, options);
    this.name = 'LightClientError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

/** Which validator set signs each height (see the module header). */
export interface ValidatorSchedule {
  /** The epoch of `height` (≥ 1); non-decreasing in height. */
  epochOf(height: number): number;
  /**
   * The set of `epoch`, asked once, after the light client finalized `lastOfPrevious` (the block
   * just before the epoch's first height, with its decoded payload). Undefined: not derivable.
   */
  validatorsOf(epoch: number, lastOfPrevious: FinalizedBlock): ValidatorSet | undefined;
}

/** One validator set for every height: today's network. */
export function fixedValidatorSchedule(): ValidatorSchedule {
  return Object.freeze({ epochOf: () => 0, validatorsOf: () => undefined });
}

export interface LightClientGenesis {
  chainId: number;
  /** The validator set of epoch 0 (the genesis validators). */
  validators: ValidatorSet;
  schedule?: ValidatorSchedule;
  /** The genesis price keyset and the domain its certificates and handovers name. */
  keyset: Keyset;
  keysetDomain: CertificateDomain;
  /** Price certificates' domain (the oracle's EIP-712 domain); default `keysetDomain`. */
  priceDomain?: CertificateDomain;
  /** How far below the newest committed root an account proof may be; default 16 heights. */
  maxStaleBlocks?: number;
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
}

export interface LightClient {
  /** The last finalized block followed (height 0: genesis, nothing followed yet). */
  readonly tip: { height: number; hash: Uint8Array; epoch: number };
  readonly keyset: Keyset;
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
   * at `domain`: signed by the current keyset, and naming the finalized block at its height.
   * @throws LightClientError (BAD_CHECKPOINT with the reason, CHECKPOINT_NOT_FOLLOWED, CHECKPOINT_FORK)
   */
  verifyCheckpoint(encoded: Uint8Array, domain: CertificateDomain): CheckpointCertificate;
  /**
   * Follows encoded handover certificates from the current keyset; all or nothing.
   * @throws LightClientError HANDOVER_REFUSED with the index and reason
   */
  followHandovers(handovers: readonly Uint8Array[]): Keyset;
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
  const schedule = genesis.schedule ?? fixedValidatorSchedule();
  const priceDomain = genesis.priceDomain ?? genesis.keysetDomain;
  const maxStaleBlocks = genesis.maxStaleBlocks ?? 16;
  const sets = new Map<number, ValidatorSet>([[0, genesis.validators]]);
  const roots = new Map<number, Uint8Array>();
  const hashes = new Map<number, Uint8Array>();
  let newestRootHeight = -1;
  let last: FinalizedBlock | undefined;
  let tip = { height: 0, hash: genesisDigest(chainId), epoch: 0 };
  let keyset: Keyset = { epoch: genesis.keyset.epoch, groupPublicKey: genesis.keyset.groupPublicKey.slice() };

  function validatorsFor(epoch: number): ValidatorSet {
    const known = sets.get(epoch);
    if (known !== undefined) return known;
    // A new epoch starts right after the tip; its set comes from the finalized chain so far.
    const derived = last === undefined ? undefined : schedule.validatorsOf(epoch, last);
    if (derived === undefined) throw new LightClientError('UNKNOWN_EPOCH', { epoch });
    return derived;
  }

  function acceptBlock(detail: BlockDetail): FinalizedBlock {
    const height = tip.height + 1;
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
    // Votes are checked against the set of the certified block's epoch (module header).
    const certifiedEpoch = schedule.epochOf(certified.height);
    const epoch = schedule.epochOf(height);
    // A descendant's certificate of a later, not yet derived epoch cannot be checked yet.
    if (certifiedEpoch !== epoch && !sets.has(certifiedEpoch))
      throw new LightClientError('UNKNOWN_EPOCH', { epoch: certifiedEpoch });
    const validators = validatorsFor(certifiedEpoch);
    if (!verifyCertificate(validators, chainId, certificate))
      throw new LightClientError('BAD_CERTIFICATE', { height, epoch: certifiedEpoch });
    let payload: ReturnType<typeof BlockPayloadCodec.decode>;
    try {
      payload = BlockPayloadCodec.decode(block.payload);
    } catch (error) {
      throw new LightClientError('MALFORMED', { field: 'payload' }, { cause: error });
    }
    // Everything checked: only now does any state change.
    sets.set(certifiedEpoch, validators);
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
    last = finalized;
    tip = { height, hash: digest, epoch };
    return finalized;
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
    let opened: Uint8Array;
    try {
      opened = nodeStateRoot(opening.engineStateRoot, opening.prices);
    } catch (error) {
      throw new LightClientError('MALFORMED', { field: 'opening' }, { cause: error });
    }
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

  function verifyCheckpoint(encoded: Uint8Array, domain: CertificateDomain): CheckpointCertificate {
    const verdict = verifyCheckpointCertificate(encoded, keyset, domain);
    if (!verdict.ok)
      throw new LightClientError('BAD_CHECKPOINT', { reason: verdict.reason, detail: verdict.detail });
    const { height, blockHash } = verdict.certificate.checkpoint;
    const followed = height <= BigInt(Number.MAX_SAFE_INTEGER) ? hashes.get(Number(height)) : undefined;
    if (followed === undefined) throw new LightClientError('CHECKPOINT_NOT_FOLLOWED', { height });
    if (!bytesEqual(followed, blockHash))
      throw new LightClientError('CHECKPOINT_FORK', { height, blockHash: toHex(blockHash) });
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

  return {
    get tip() {
      return { height: tip.height, hash: tip.hash.slice(), epoch: tip.epoch };
    },
    get keyset() {
      return { epoch: keyset.epoch, groupPublicKey: keyset.groupPublicKey.slice() };
    },
    acceptBlock,
    committedRoot: (height) => roots.get(height)?.slice(),
    verifyAccount,
    verifyPriceCertificate,
    verifyCheckpoint,
    followHandovers,
  };
}

export interface LightClientDriver {
  readonly light: LightClient;
  /**
   * Follows the node's finalized chain up to its status height (at most `maxBlocks` at a time).
   * @throws LightClientError on the first refused block (the light client keeps what it accepted)
   * @throws ClientError when the node cannot be reached
   */
  sync(maxBlocks?: number): Promise<number>;
  /** The node's latest price certificates (or those in force at a height), each verified; refused ones throw. */
  priceCertificates(query?: { height: number }): Promise<PriceCertificate[]>;
  /** An account with its proof, verified against the committed root (the caller supplies the opening). */
  account(publicKey: Uint8Array, opening: StateRootOpening): Promise<AccountRead>;
}

/**
 * Drives a light client against one node's HTTP API with `fetch` (through `palisade/client`).
 * @example const driver = createLightClientDriver(light, { url }); await driver.sync();
 */
export function createLightClientDriver(light: LightClient, options: ClientOptions): LightClientDriver {
  const client = createClient(options);
  return {
    light,
    async sync(maxBlocks = 1024) {
      const status = await client.status();
      let accepted = 0;
      while (light.tip.height < status.height && accepted < maxBlocks) {
        light.acceptBlock(await client.block(light.tip.height + 1));
        accepted++;
      }
      return accepted;
    },
    async priceCertificates(query) {
      const { certificates } = await client.certificates(query);
      return certificates.map((entry) => light.verifyPriceCertificate(decodeHex(entry.encoded, 'encoded')));
    },
    async account(publicKey, opening) {
      const read = await client.account(publicKey, { proof: true });
      return light.verifyAccount(publicKey, read, opening);
    },
  };
}
