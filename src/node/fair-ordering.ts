/**
 * A validator's side of fair ordering (issue 14), sans IO: collecting the other validators'
 * decryption-key shares for a finalized batch, naming the ones that lie, combining 2f + 1 into the
 * batch's keys, and turning shares released before their batch was final into evidence.
 *
 * For batch h (the envelopes block h admitted) every validator i releases, once h is final, one
 * signed statement holding D_ij = s_i·H1(id_j) for each envelope j, in batch order
 * (`releaseBatchKeyShares`, src/crypto/shutter/key-shares.ts). A collector for h knows h's
 * identities and takes statements in any order:
 *
 *   refused at once   another chain, eon or batch, other identities than h's (their root), another
 *                     number of shares, an unknown validator, a second statement of one validator,
 *                     a bad Ed25519 signature
 *   held              everything else, until `combine`
 *   combine           first the optimistic path: the first t = 2f + 1 held statements (by index)
 *                     interpolated at 0 into K_j for every envelope and all the K_j checked against
 *                     the eon key at once (one weighted pairing check); keys that pass are s·Q_j
 *                     whatever the other shares are. Otherwise each held statement's shares are
 *                     checked against its validator's eon public share P_i (one weighted check per
 *                     validator), so the liars are named. A liar's statement is signed by it, so
 *                     its own bytes are proof that it sent wrong shares. Then t good statements are
 *                     interpolated into the keys, checked against the eon key before they are
 *                     handed out. The checks run on `context.backend` (noble by default).
 *
 * The collector never reads a clock; when to give up waiting for shares is the caller's.
 */
import { isBatchKey } from '../chain/encrypted-batch.ts';
import { type EarlyKeyShare, SignedKeyShareCodec, type SignedKeyShareMessage } from '../codec/envelope.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { ed25519Verify } from '../crypto/ed25519.ts';
import { keyShareMessageOf, keyShareOfMessage } from '../crypto/shutter/envelope.ts';
import type { G2Point } from '../crypto/shutter/ibe.ts';
import {
  checkKeyShareSignature,
  combineBatchKeyShares,
  identitiesRoot,
  identityPointsOf,
  keyShareSigningBytes,
  releaseBatchKeyShares,
  type ShareSigner,
  type SignedKeyShare,
  verifyBlockKeysWith,
} from '../crypto/shutter/key-shares.ts';
import { nobleBackend, type PairingBackend } from '../crypto/shutter/pairing-backend.ts';

export interface BatchKeyContext {
  readonly chainId: number;
  readonly eon: number;
  /** t = 2f + 1. */
  readonly threshold: number;
  readonly eonPublicKey: G2Point;
  /** Ed25519 identity keys by validator index. */
  readonly validatorKeys: readonly Uint8Array[];
  /** Eon public shares P_i = s_i·g2 by validator index. */
  readonly publicShares: readonly G2Point[];
  /** Runs the key checks (mcl-wasm gives noble's verdicts, faster); default noble. */
  readonly backend?: PairingBackend;
}

export type ShareRefusal =
  | 'MALFORMED'
  | 'WRONG_CHAIN'
  | 'WRONG_EON'
  | 'WRONG_BATCH'
  | 'WRONG_IDENTITY'
  | 'UNKNOWN_VALIDATOR'
  | 'DUPLICATE'
  | 'BAD_SIGNATURE';

export type OfferVerdict =
  | { readonly ok: true; readonly held: number }
  | { readonly ok: false; readonly code: ShareRefusal };

export type CombineOutcome =
  | {
      readonly ok: true;
      /** K_j = s·Q_j for every envelope, 48-byte compressed G1 each, concatenated in batch order. */
      readonly key: Uint8Array;
      /** The validators whose shares were interpolated. */
      readonly used: readonly number[];
      /** Validators whose signed shares failed the pairing check, with the statement as proof. */
      readonly liars: readonly SignedKeyShare[];
    }
  | {
      readonly ok: false;
      readonly code: 'TOO_FEW_SHARES';
      readonly good: number;
      readonly liars: readonly SignedKeyShare[];
    };

export interface BatchKeyCollector {
  readonly batch: number;
  /** Statements held: signed, not yet found lying. */
  readonly held: number;
  /** A statement from a peer, decoded or as its `SignedKeyShareMessage` encoding. Never throws. */
  offer(share: SignedKeyShare | Uint8Array): OfferVerdict;
  /** Checks the held statements and combines the keys when t of them are good. */
  combine(): CombineOutcome;
}

/** Collects the shares of batch `batch`'s keys; `identities` are its envelopes', in batch order. */
export function createBatchKeyCollector(
  context: BatchKeyContext,
  batch: number,
  identities: readonly Uint8Array[],
): BatchKeyCollector {
  const root = identitiesRoot(identities);
  const points = identityPointsOf(identities);
  const backend = context.backend ?? nobleBackend;
  const held = new Map<number, SignedKeyShare>();
  const liars = new Map<number, SignedKeyShare>();
  /** Interpolates the keys of every envelope from the first t statements of `from`. */
  const interpolate = (from: readonly SignedKeyShare[]) =>
    combineBatchKeyShares(from, context.threshold, backend);
  const keysCheck = (key: Uint8Array) => isBatchKey(identities, key, context.eonPublicKey, backend);
  const byIndex = (a: SignedKeyShare, b: SignedKeyShare) => a.validatorIndex - b.validatorIndex;
  return {
    batch,
    get held() {
      return held.size;
    },
    offer(input) {
      let share: SignedKeyShare;
      try {
        share = input instanceof Uint8Array ? keyShareOfMessage(SignedKeyShareCodec.decode(input)) : input;
      } catch {
        return { ok: false, code: 'MALFORMED' };
      }
      if (share.chainId !== context.chainId) return { ok: false, code: 'WRONG_CHAIN' };
      if (share.eon !== context.eon) return { ok: false, code: 'WRONG_EON' };
      if (share.batch !== batch) return { ok: false, code: 'WRONG_BATCH' };
      if (!bytesEqual(share.identitiesRoot, root) || share.shares.length !== identities.length)
        return { ok: false, code: 'WRONG_IDENTITY' };
      const key = context.validatorKeys[share.validatorIndex];
      if (key === undefined || context.publicShares[share.validatorIndex] === undefined)
        return { ok: false, code: 'UNKNOWN_VALIDATOR' };
      if (held.has(share.validatorIndex) || liars.has(share.validatorIndex))
        return { ok: false, code: 'DUPLICATE' };
      let signed: boolean;
      try {
        signed = ed25519Verify(key, keyShareSigningBytes(share), share.signature);
      } catch {
        signed = false;
      }
      if (!signed) return { ok: false, code: 'BAD_SIGNATURE' };
      held.set(share.validatorIndex, share);
      return { ok: true, held: held.size };
    },
    combine() {
      const ordered = [...held.values()].sort(byIndex);
      const optimistic = interpolate(ordered);
      if (optimistic !== undefined && keysCheck(optimistic)) {
        const used = ordered.slice(0, context.threshold).map((s) => s.validatorIndex);
        return { ok: true, key: optimistic, used, liars: [...liars.values()].sort(byIndex) };
      }
      for (const share of ordered) {
        const publicShare = context.publicShares[share.validatorIndex]!.toBytes(true);
        if (verifyBlockKeysWith(backend, share.shares, points, publicShare)) continue;
        liars.set(share.validatorIndex, share);
        held.delete(share.validatorIndex);
      }
      const good = [...held.values()].sort(byIndex);
      const named = [...liars.values()].sort(byIndex);
      const key = interpolate(good);
      if (key === undefined) return { ok: false, code: 'TOO_FEW_SHARES', good: good.length, liars: named };
      // Every used share passed its pairing check, so this holds unless the keyset is inconsistent.
      if (!keysCheck(key))
        throw new Error('batch keys failed their check although every share passed: keyset inconsistent');
      return {
        ok: true,
        key,
        used: good.slice(0, context.threshold).map((s) => s.validatorIndex),
        liars: named,
      };
    },
  };
}

/**
 * The evidence to record when a validator's statement for `share.batch` reaches us while our
 * finalized height is `finalizedHeight` < `share.batch`: undefined when it is not early or its
 * signature does not check (a forged statement proves nothing about its claimed signer).
 */
export function earlyShareEvidence(
  share: SignedKeyShare,
  finalizedHeight: number,
  context: BatchKeyContext,
): EarlyKeyShare | undefined {
  if (share.batch <= finalizedHeight) return undefined;
  if (!checkKeyShareSignature(share, context).ok) return undefined;
  return { share: keyShareMessageOf(share), finalizedHeightAtRecord: finalizedHeight };
}

export type { SignedKeyShareMessage };

/**
 * What a validator's application does with key shares on its votes, sans IO: after batch h is
 * final and its identities known (`open`), its votes that show the block after h notarized
 * (src/node/app.ts `shareableBatchMax`) carry its signed statement for h (`attach`, encoded, at
 * most MAX_KEY_SHARE_ATTACHMENT_BYTES so it fits a vote extension beside an observation);
 * statements on peers' votes go to `receive`; `key(h)` combines once 2f + 1 good ones are held and
 * h is final.
 *
 *   never early  `attach` gives nothing for a height above the finalized one (a vote for a block
 *                is not its finality), and `key` combines nothing above it either;
 *   caught early a peer's signed statement for a height above our finalized one is recorded as
 *                `EarlyKeyShare` evidence against its signer (and held: it is real key material);
 *   out of order a statement for a batch whose identities we do not know yet (we have not executed
 *                it) waits, one per validator and batch, until `open`.
 *
 * src/node/app.ts attaches the statements to its votes (a `KeyShareVoteExtension`,
 * src/codec/envelope.ts) and puts the keys and the evidence in its proposals.
 */
export interface KeyShareRelay {
  /** Batch `height`'s identities, in batch order: its statements can be checked and made. */
  open(height: number, identities: readonly Uint8Array[]): void;
  /** Whether `open` was called for `height` (and not pruned since). */
  opened(height: number): boolean;
  /** Our encoded statement for batch `height`, or undefined when it is not final or not open. */
  attach(height: number, finalizedHeight: number): Uint8Array | undefined;
  /** A peer's encoded statement from its vote. */
  receive(bytes: Uint8Array, finalizedHeight: number): OfferVerdict & { readonly early?: true };
  /** Batch `height`'s keys, once final and 2f + 1 good statements are held. */
  key(height: number, finalizedHeight: number): CombineOutcome | undefined;
  /** Statements held for batch `height` (signed, not found lying), ours included. */
  held(height: number): number;
  /** Evidence of early releases seen, the latest `MAX_EARLY_EVIDENCE_KEPT`. */
  readonly evidence: readonly EarlyKeyShare[];
  /** Forgets collectors and shares of heights below `height`. */
  prune(height: number): void;
}

/** Early-share evidence a relay keeps, at most (the oldest goes first). */
export const MAX_EARLY_EVIDENCE_KEPT = 256;

/** The largest `SignedKeyShareMessage` encoding: a full batch's shares. */
export const MAX_KEY_SHARE_ATTACHMENT_BYTES = SignedKeyShareCodec.maxBytes;

export function createKeyShareRelay(options: {
  readonly context: BatchKeyContext;
  readonly self: number;
  /** Our share of this eon's key; absent when we are no keyper of it (we collect and combine only). */
  readonly secretShare?: bigint;
  readonly signer: ShareSigner;
}): KeyShareRelay {
  const { context } = options;
  const collectors = new Map<number, BatchKeyCollector>();
  const identitiesOf = new Map<number, readonly Uint8Array[]>();
  /** Statements for batches not open here yet, by height then validator (the first wins). */
  const waiting = new Map<number, Map<number, SignedKeyShare>>();
  const own = new Map<number, Uint8Array>();
  const keys = new Map<number, CombineOutcome>();
  const evidence: EarlyKeyShare[] = [];
  return {
    evidence,
    held: (height) => collectors.get(height)?.held ?? 0,
    opened: (height) => collectors.has(height),
    open(height, identities) {
      if (collectors.has(height) || identities.length === 0) return;
      const collector = createBatchKeyCollector(context, height, identities);
      collectors.set(height, collector);
      identitiesOf.set(height, identities);
      for (const share of waiting.get(height)?.values() ?? []) collector.offer(share);
      waiting.delete(height);
    },
    attach(height, finalizedHeight) {
      const cached = own.get(height);
      if (cached !== undefined) return cached;
      const identities = identitiesOf.get(height);
      if (options.secretShare === undefined || identities === undefined) return undefined;
      const released = releaseBatchKeyShares(
        {
          chainId: context.chainId,
          eon: context.eon,
          validatorIndex: options.self,
          secretShare: options.secretShare,
          signer: options.signer,
          ...(context.backend === undefined ? {} : { backend: context.backend }),
        },
        { batch: height, finalizedHeight, identities },
      );
      if (!released.ok) return undefined;
      const bytes = SignedKeyShareCodec.encode(keyShareMessageOf(released.share));
      own.set(height, bytes);
      collectors.get(height)!.offer(released.share);
      return bytes;
    },
    receive(bytes, finalizedHeight) {
      let share: SignedKeyShare;
      try {
        share = keyShareOfMessage(SignedKeyShareCodec.decode(bytes));
      } catch {
        return { ok: false, code: 'MALFORMED' };
      }
      if (share.batch > finalizedHeight) {
        const caught = earlyShareEvidence(share, finalizedHeight, context);
        if (caught === undefined) return { ok: false, code: 'BAD_SIGNATURE' };
        evidence.push(caught);
        if (evidence.length > MAX_EARLY_EVIDENCE_KEPT) evidence.shift();
      }
      const early = share.batch > finalizedHeight ? { early: true as const } : {};
      const collector = collectors.get(share.batch);
      if (collector !== undefined) return { ...collector.offer(share), ...early };
      // Not open here yet: checked for what can be checked without the identities, and kept.
      const signed = checkKeyShareSignature(share, context);
      if (!signed.ok)
        return { ok: false, code: signed.code === 'MALFORMED' ? 'MALFORMED' : (signed.code as ShareRefusal) };
      const slots = waiting.get(share.batch) ?? new Map<number, SignedKeyShare>();
      if (slots.has(share.validatorIndex)) return { ok: false, code: 'DUPLICATE' };
      slots.set(share.validatorIndex, share);
      waiting.set(share.batch, slots);
      return { ok: true, held: 0, ...early };
    },
    key(height, finalizedHeight) {
      if (height > finalizedHeight) return undefined;
      const done = keys.get(height);
      if (done?.ok) return done;
      const collector = collectors.get(height);
      if (collector === undefined) return undefined;
      const outcome = collector.combine();
      keys.set(height, outcome);
      return outcome;
    },
    prune(height) {
      for (const map of [collectors, identitiesOf, waiting, own, keys] as Map<number, unknown>[])
        for (const key of [...map.keys()]) if (key < height) map.delete(key);
    },
  };
}
