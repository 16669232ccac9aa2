/**
 * A validator's side of fair ordering (issue 14), sans IO: collecting the other validators'
 * decryption-key shares for a finalized block, naming the ones that lie, combining 2f + 1 into the
 * block's key, and turning a share released before its block was final into evidence.
 *
 * For block h every validator i releases D_i = s_i·H1(batchIdentity(chain, h)) once h is final
 * (`releaseBatchKeyShare`, src/crypto/shutter/key-shares.ts), signed with its Ed25519 key. A
 * collector for h takes shares in any order:
 *
 *   refused at once   another chain, eon or height, an identity that is not h's, an unknown
 *                     validator, a second share of one validator, a bad Ed25519 signature
 *   held              everything else, until `combine`
 *   combine           first the optimistic path: the first t = 2f + 1 held shares (by index)
 *                     interpolated at 0 into K and K checked against the eon key (two pairings);
 *                     a K that passes is s·Q whatever the other shares are. Otherwise one batched
 *                     pairing check of all held shares against the validators' eon public shares
 *                     P_i (two pairings, whatever their number); only when it fails, one check per
 *                     share, so the liars are named. A liar's share is signed by it, so its own
 *                     bytes are proof that it sent a wrong share. Then t good shares are
 *                     interpolated into K, which is checked against the eon key before it is
 *                     handed out. The checks run on `context.backend` (noble by default).
 *
 * The collector never reads a clock; when to give up waiting for shares is the caller's.
 */
import { type EarlyKeyShare, SignedKeyShareCodec, type SignedKeyShareMessage } from '../codec/envelope.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { ed25519Verify } from '../crypto/ed25519.ts';
import { keyShareMessageOf, keyShareOfMessage } from '../crypto/shutter/envelope.ts';
import {
  type G1Point,
  type G2Point,
  shutterIdentityPoint,
  verifyShutterDecryptionKey,
} from '../crypto/shutter/ibe.ts';
import {
  batchIdentity,
  checkSignedKeyShare,
  combineKeyShares,
  findBadKeyShares,
  keyShareSigningBytes,
  releaseBatchKeyShare,
  type ShareSigner,
  type SignedKeyShare,
} from '../crypto/shutter/key-shares.ts';
import type { PairingBackend } from '../crypto/shutter/pairing-backend.ts';

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
      /** K = s·Q, 48-byte compressed G1. */
      readonly key: Uint8Array;
      /** The validators whose shares were interpolated. */
      readonly used: readonly number[];
      /** Validators whose signed share failed the pairing check, with the share as proof. */
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
  /** Shares held: signed, not yet found lying. */
  readonly held: number;
  /** A share from a peer, decoded or as its `SignedKeyShareMessage` encoding. Never throws. */
  offer(share: SignedKeyShare | Uint8Array): OfferVerdict;
  /** Checks the held shares and combines the key when t of them are good. */
  combine(): CombineOutcome;
}

/** Collects the shares of block `batch`'s key. */
export function createBatchKeyCollector(context: BatchKeyContext, batch: number): BatchKeyCollector {
  const identity = batchIdentity(context.chainId, batch);
  const identityPoint = shutterIdentityPoint(identity);
  const held = new Map<number, SignedKeyShare>();
  const liars = new Map<number, SignedKeyShare>();
  const keyChecks = (key: G1Point) =>
    context.backend === undefined
      ? verifyShutterDecryptionKey(key, context.eonPublicKey, identityPoint)
      : context.backend.pairingEquals(
          key.toBytes(true),
          identityPoint.toBytes(true),
          context.eonPublicKey.toBytes(true),
        );
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
      if (!bytesEqual(share.identity, identity)) return { ok: false, code: 'WRONG_IDENTITY' };
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
      const ordered = [...held.values()].sort((a, b) => a.validatorIndex - b.validatorIndex);
      if (ordered.length >= context.threshold) {
        const optimistic = combineKeyShares(ordered, context.threshold);
        if (optimistic.ok && keyChecks(optimistic.key)) {
          const named = [...liars.values()].sort((a, b) => a.validatorIndex - b.validatorIndex);
          const used = ordered.slice(0, context.threshold).map((s) => s.validatorIndex);
          return { ok: true, key: optimistic.key.toBytes(true), used, liars: named };
        }
      }
      const candidates = [...held.values()];
      const bad = new Set(findBadKeyShares(candidates, context.publicShares, identityPoint));
      for (const share of candidates)
        if (bad.has(share.validatorIndex)) {
          liars.set(share.validatorIndex, share);
          held.delete(share.validatorIndex);
        }
      const good = [...held.values()].sort((a, b) => a.validatorIndex - b.validatorIndex);
      const named = [...liars.values()].sort((a, b) => a.validatorIndex - b.validatorIndex);
      const combined = combineKeyShares(good, context.threshold);
      if (!combined.ok) return { ok: false, code: 'TOO_FEW_SHARES', good: good.length, liars: named };
      const used = good.slice(0, context.threshold).map((s) => s.validatorIndex);
      // Every used share passed its pairing check, so this holds unless the keyset is inconsistent.
      if (!keyChecks(combined.key))
        throw new Error('batch key failed its check although every share passed: keyset inconsistent');
      return { ok: true, key: combined.key.toBytes(true), used, liars: named };
    },
  };
}

/**
 * The evidence to record when a validator's share for `share.batch` reaches us while our
 * finalized height is `finalizedHeight` < `share.batch`: undefined when the share is not early or
 * does not check (a forged share proves nothing about its claimed signer).
 */
export function earlyShareEvidence(
  share: SignedKeyShare,
  finalizedHeight: number,
  context: BatchKeyContext,
): EarlyKeyShare | undefined {
  if (share.batch <= finalizedHeight) return undefined;
  if (!bytesEqual(share.identity, batchIdentity(context.chainId, share.batch))) return undefined;
  const check = checkSignedKeyShare(share, context);
  if (!check.ok) return undefined;
  return { share: keyShareMessageOf(share), finalizedHeightAtRecord: finalizedHeight };
}

export type { SignedKeyShareMessage };

/**
 * What a validator's application does with key shares on its votes, sans IO: after block h is
 * final, its votes that show the block after h notarized (src/node/app.ts `shareableBatchMax`)
 * carry its signed share for h (`attach`, encoded, at most
 * MAX_KEY_SHARE_ATTACHMENT_BYTES so it fits a vote extension beside an observation); shares on
 * peers' votes go to `receive`; `key(h)` combines once 2f + 1 good ones are held and h is final.
 *
 *   never early  `attach` gives nothing for a height above the finalized one (a vote for a block
 *                is not its finality), and `key` combines nothing above it either;
 *   caught early a peer's valid share for a height above our finalized one is held (it is real
 *                key material), and the `EarlyKeyShare` evidence against its signer is recorded.
 *
 * src/node/app.ts attaches the shares to its votes (a `KeyShareVoteExtension`, src/codec/envelope.ts)
 * and puts the keys and the evidence in its proposals.
 */
export interface KeyShareRelay {
  /** Our encoded share for block `height`, or undefined when it is not final. */
  attach(height: number, finalizedHeight: number): Uint8Array | undefined;
  /** A peer's encoded share from its vote. */
  receive(bytes: Uint8Array, finalizedHeight: number): OfferVerdict & { readonly early?: true };
  /** Block `height`'s key, once final and 2f + 1 good shares are held. */
  key(height: number, finalizedHeight: number): CombineOutcome | undefined;
  /** Shares held for block `height` (signed, not found lying), ours included. */
  held(height: number): number;
  /** Evidence of early releases seen, the latest `MAX_EARLY_EVIDENCE_KEPT`. */
  readonly evidence: readonly EarlyKeyShare[];
  /** Forgets collectors and shares of heights below `height`. */
  prune(height: number): void;
}

/** Early-share evidence a relay keeps, at most (the oldest goes first). */
export const MAX_EARLY_EVIDENCE_KEPT = 256;

/** A `SignedKeyShareMessage` encoding: header, 8 + 8 + 8 + 2 + 32 + 48 + 64 bytes. */
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
  const own = new Map<number, Uint8Array>();
  const keys = new Map<number, CombineOutcome>();
  const evidence: EarlyKeyShare[] = [];
  const collectorFor = (height: number) => {
    let collector = collectors.get(height);
    if (collector === undefined) {
      collector = createBatchKeyCollector(context, height);
      collectors.set(height, collector);
    }
    return collector;
  };
  return {
    evidence,
    held: (height) => collectors.get(height)?.held ?? 0,
    attach(height, finalizedHeight) {
      const cached = own.get(height);
      if (cached !== undefined) return cached;
      if (options.secretShare === undefined) return undefined;
      const released = releaseBatchKeyShare(
        {
          chainId: context.chainId,
          eon: context.eon,
          validatorIndex: options.self,
          secretShare: options.secretShare,
          signer: options.signer,
        },
        { batch: height, finalizedHeight },
      );
      if (!released.ok) return undefined;
      const bytes = SignedKeyShareCodec.encode(keyShareMessageOf(released.share));
      own.set(height, bytes);
      collectorFor(height).offer(released.share);
      return bytes;
    },
    receive(bytes, finalizedHeight) {
      let share: SignedKeyShare;
      try {
        share = keyShareOfMessage(SignedKeyShareCodec.decode(bytes));
      } catch {
        return { ok: false, code: 'MALFORMED' };
      }
      const verdict = collectorFor(share.batch).offer(share);
      if (!verdict.ok || share.batch <= finalizedHeight) return verdict;
      const caught = earlyShareEvidence(share, finalizedHeight, context);
      if (caught === undefined) return verdict;
      evidence.push(caught);
      if (evidence.length > MAX_EARLY_EVIDENCE_KEPT) evidence.shift();
      return { ...verdict, early: true };
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
      for (const map of [collectors, own, keys] as Map<number, unknown>[])
        for (const key of [...map.keys()]) if (key < height) map.delete(key);
    },
  };
}
