/**
 * Share repair over the validators' channels (sans-IO: messages in, messages out, time passed
 * in): a validator whose share is gone (its disk lost, or it was down across two refreshes or
 * more, beyond what peers keep of keygen runs) gets its share of the current epoch back from t
 * others, and nobody learns it. The math is src/crypto/repair.ts (Laing–Stinson, "A survey and
 * refinement of repairable threshold schemes", J. Math. Cryptol. 2018, §4, with public
 * commitments); this file runs it between validators:
 *
 *   lost member r of keyset K (digest of its members and threshold), epoch e, helper set H
 *   (|H| = t, r ∉ H), attempt k
 *   0. r sends RepairRequest(e, K, k, H) to every helper (it chooses H among the members it has
 *      heard from in epoch e first, leaving out those named in earlier attempts);
 *   1. helper i (holding its share of epoch e) runs `repairSplit`: a private, signed RepairSplit
 *      (δ_{i,j}, D_{i,·}) to every other helper j (Laing–Stinson §4 step 1);
 *   2. helper j, with every split in, runs `repairSum` (checks Σ_j D_{i,j} = ζ_i·Y_i and
 *      δ_{i,j}·G = D_{i,j}) and sends r a RepairSum: σ_j, its own D_{j,·}, the keyset's public
 *      package, and an accusation — with the accused's signed split as evidence — against every
 *      helper whose split failed, or never came by the deadline (§4 step 2);
 *   3. r checks every accusation itself (a signed split that fails its own commitments convicts
 *      its helper; evidence that does not convicts the accuser), takes the public package that
 *      more than f helpers agree on (at most f lie), and runs `repairRecover`, which names any
 *      helper whose σ_j does not match the commitments and checks s_r·G = Y_r (§4 step 3;
 *      RFC 9591 App. C.2). A run that fails starts again at once with a helper set without
 *      those named; helpers that stayed silent past the deadline are left out of the next one.
 *
 * What each party sees: helper j one random summand δ_{i,j} of each ζ_i·s_i, r only sums σ_j,
 * everyone the points D_{i,j}; so no helper learns s_r or another helper's share, and r learns
 * only its own. A helper answers a request only from the lost validator itself (the transport's
 * authenticated sender), splits once per run (a re-sent request gets the same split, never a
 * second one), and runs at most one attempt per lost validator at a time.
 *
 * Keysets, not validators. Indices in these messages (r, H, i, j) are member indices of the
 * keyset of epoch e (RFC 9591 identifier = index + 1), which after a validator-set change differ
 * from anyone's transport numbering; peers are named by their identity keys here and the driver
 * maps keys to transport peers. Each message also names the keyset by the digest of its members
 * and threshold (`repairKeysetDigest`). r takes the members and t from what it knows of e (its
 * chain's validator set); helper i answers only when e is the epoch of the share it signs with
 * now, the digest is that of its own keyset of e, and the sender is member r of it. So a request
 * for an old epoch, from a validator that is not a member of e (one a change removed, or a
 * stranger), or read against another member list gets nothing; splits and sums count only from
 * members of the run's keyset, and n, f and t are those of e's keyset.
 */
import type { FrostPublic } from '@noble/curves/abstract/frost.js';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { DomainTag } from '../crypto/domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from '../crypto/ed25519.ts';
import { type FrostKeyPackage, participantIdentifier } from '../crypto/frost.ts';
import { sha256 } from '../crypto/hash.ts';
import { RepairError, repairRecover, repairSplit, repairSplitIsSound, repairSum } from '../crypto/repair.ts';
import { Fn, Point, parsePoint } from '../crypto/vss.ts';
import {
  type RepairRequest,
  RepairRequestCodec,
  type RepairSplitBody,
  RepairSplitBodyCodec,
  RepairSplitCodec,
  type RepairSum,
  RepairSumCodec,
} from './share-repair-codec.ts';

/** A keyset as the lost validator knows it: its members in member order, and its threshold. */
export interface RepairKeyset {
  readonly members: readonly Uint8Array[];
  readonly threshold: number;
}

export interface ShareRepairOptions {
  readonly chainId: number;
  readonly signer: Ed25519Signer;
  /** How long a run waits for splits (helpers) and sums (the lost validator). */
  readonly deadlineMs: number;
  /**
   * What we hold of `epoch` (the helper side): the key package we sign with and its keyset's
   * members in member order; undefined when we sign with no share of that epoch.
   */
  held(epoch: number): { key: FrostKeyPackage; members: readonly Uint8Array[] } | undefined;
}

export interface RepairOutput {
  /** The identity key of the member it goes to (the driver maps it to a transport peer). */
  readonly to: Uint8Array;
  readonly bytes: Uint8Array;
}

export type RepairFault =
  | 'SILENT'
  | 'BAD_SPLIT'
  | 'BAD_SUMMAND'
  | 'BAD_SUM'
  | 'FALSE_ACCUSATION'
  | 'WRONG_KEYSET';

export interface RepairFailure {
  readonly epoch: number;
  readonly code: 'TOO_FEW_HELPERS';
  /** The helpers convicted so far (member indices of that epoch's keyset), who can no longer take part. */
  readonly convicted: readonly number[];
}

export interface RepairCulprit {
  /** Member index in the keyset of `epoch`. */
  helper: number;
  /** Its identity key. */
  key: Uint8Array;
  epoch: number;
  fault: RepairFault;
  attempt: number;
}

export interface ShareRepairStats {
  attempts: number;
  repaired: number;
  /** Helpers at fault, with what they did, as seen by the lost validator (us); the latest 64. */
  culprits: RepairCulprit[];
  /** Runs we helped in. */
  helped: number;
}

/** A repaired share and the members of its keyset (member order). */
export interface RepairedShare {
  readonly key: FrostKeyPackage;
  readonly members: readonly Uint8Array[];
}

export interface ShareRepair {
  /**
   * Starts (or restarts) repairing our share of `epoch`'s keyset, preferring `candidates`
   * (identity keys) as helpers. We must be a member of `keyset`.
   */
  request(
    epoch: number,
    keyset: RepairKeyset,
    candidates: readonly Uint8Array[],
    nowMs: number,
  ): RepairOutput[];
  /** The epoch being repaired, if any. */
  repairing(): number | undefined;
  /** Drops our repair in progress, if any (our share came back another way). */
  cancel(): void;
  /** A message from the peer whose authenticated identity key is `from`. */
  receive(from: Uint8Array, bytes: Uint8Array, nowMs: number): RepairOutput[];
  tick(nowMs: number): RepairOutput[];
  /** Shares repaired since the last call. */
  takeRepaired(): RepairedShare[];
  /**
   * Why the latest request gave up, if it did: fewer than t members are left once the
   * convicted ones are taken out (silent ones are tried again, convicted ones never).
   */
  failure(): RepairFailure | undefined;
  stats(): ShareRepairStats;
}

const MAX_HELPER_RUNS = 64;
/** Culprits remembered in stats (the latest). */
const MAX_CULPRITS = 64;
const KEYSET_DIGEST_LABEL = new TextEncoder().encode('PALISADE/REPAIR/KEYSET/v1');

/**
 * The digest that names a keyset in repair messages: its threshold and members in member order.
 * @example const digest = repairKeysetDigest({ members, threshold: 3 });
 */
export function repairKeysetDigest(keyset: RepairKeyset): Uint8Array {
  const sizes = new Uint8Array(4);
  new DataView(sizes.buffer).setUint16(0, keyset.threshold, false);
  new DataView(sizes.buffer).setUint16(2, keyset.members.length, false);
  return sha256(KEYSET_DIGEST_LABEL, sizes, ...keyset.members);
}

interface RunKeyset extends RepairKeyset {
  readonly digest: Uint8Array;
  /** Our member index. */
  readonly self: number;
}

interface LostRun {
  readonly epoch: number;
  readonly keyset: RunKeyset;
  readonly attempt: number;
  readonly helpers: readonly number[];
  readonly startedMs: number;
  readonly sums: Map<number, RepairSum>;
  candidates: readonly Uint8Array[];
}

interface HelperRun {
  readonly request: Omit<RepairRequest, 'chainId'>;
  readonly startedMs: number;
  readonly received: Map<number, { summand: Uint8Array; commitments: Uint8Array[]; sealed: Uint8Array }>;
  readonly members: readonly Uint8Array[];
  key: FrostKeyPackage | undefined;
  own: RepairOutput[] | undefined;
  ownCommitments: Uint8Array[] | undefined;
  sent: boolean;
}

/** @example const repair = createShareRepair({ ...options }); send(repair.request(epoch, keyset, peers, now)); */
export function createShareRepair(options: ShareRepairOptions): ShareRepair {
  const { chainId } = options;
  const selfKey = options.signer.publicKey;
  const stats: ShareRepairStats = { attempts: 0, repaired: 0, culprits: [], helped: 0 };
  const repaired: RepairedShare[] = [];
  /** Helpers left out of our next attempt (by identity key): convicted ones for good, silent ones until we run out. */
  const convicted = new Set<string>();
  const silent = new Set<string>();
  let lost: LostRun | undefined;
  let failure: RepairFailure | undefined;
  let attemptCounter = 0;
  const helping = new Map<string, HelperRun>();

  const indexOf = (members: readonly Uint8Array[], key: Uint8Array) => {
    const index = members.findIndex((member) => bytesEqual(member, key));
    return index < 0 ? undefined : index;
  };
  const runKey = (value: { epoch: number; keyset: Uint8Array; lost: number; attempt: number }) =>
    `${toHex(value.keyset)}/${value.lost}/${value.epoch}/${value.attempt}`;
  const sameHelpers = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((h, i) => h === b[i]);
  const validHelpers = (helpers: readonly number[], lostIndex: number, keyset: RepairKeyset) =>
    helpers.length === keyset.threshold &&
    helpers.every(
      (h, i) =>
        Number.isInteger(h) &&
        h >= 0 &&
        h < keyset.members.length &&
        h !== lostIndex &&
        (i === 0 || h > helpers[i - 1]!),
    );

  const name = (run: LostRun, helper: number, fault: RepairFault) => {
    const key = run.keyset.members[helper]!;
    if (fault === 'SILENT') silent.add(toHex(key));
    else convicted.add(toHex(key));
    const known = stats.culprits.some(
      (c) => c.helper === helper && c.epoch === run.epoch && c.fault === fault && c.attempt === run.attempt,
    );
    if (known) return;
    stats.culprits.push({ helper, key: Uint8Array.from(key), epoch: run.epoch, fault, attempt: run.attempt });
    // A repair that keeps timing out (helpers refusing a keyset that is not theirs yet) names its
    // helpers SILENT at every attempt: the stats keep the latest ones only.
    while (stats.culprits.length > MAX_CULPRITS) stats.culprits.shift();
  };
  const quiet = (run: LostRun, helper: number) => silent.add(toHex(run.keyset.members[helper]!));

  // ------------------------------------------------------------------ lost side

  const startAttempt = (
    epoch: number,
    keyset: RunKeyset,
    candidates: readonly Uint8Array[],
    nowMs: number,
  ): RepairOutput[] => {
    const { members, threshold, self } = keyset;
    const usable = (skipSilent: boolean) =>
      [
        ...candidates.map((key) => indexOf(members, key)).filter((i): i is number => i !== undefined),
        ...members.map((_, i) => i),
      ].filter(
        (v, i, all) =>
          v !== self &&
          all.indexOf(v) === i &&
          !convicted.has(toHex(members[v]!)) &&
          !(skipSilent && silent.has(toHex(members[v]!))),
      );
    let pool = usable(true);
    if (pool.length < threshold) {
      silent.clear(); // silence is not proof: try them again rather than give up
      pool = usable(false);
    }
    if (pool.length < threshold) {
      lost = undefined;
      failure = {
        epoch,
        code: 'TOO_FEW_HELPERS',
        convicted: members.map((m, i) => (convicted.has(toHex(m)) ? i : -1)).filter((i) => i >= 0),
      };
      return [];
    }
    failure = undefined;
    const helpers = pool.slice(0, threshold).sort((a, b) => a - b);
    attemptCounter = (attemptCounter + 1) % 65_536;
    lost = { epoch, keyset, attempt: attemptCounter, helpers, startedMs: nowMs, sums: new Map(), candidates };
    stats.attempts++;
    const bytes = RepairRequestCodec.encode({
      chainId,
      epoch,
      keyset: keyset.digest,
      lost: self,
      attempt: attemptCounter,
      helpers,
    });
    return helpers.map((helper) => ({ to: members[helper]!, bytes }));
  };
  const restart = (run: LostRun, nowMs: number) => startAttempt(run.epoch, run.keyset, run.candidates, nowMs);

  /** Checks an accusation's evidence: true when the signed split convicts its helper. */
  const convicts = (
    run: LostRun,
    accuser: number,
    accused: number,
    evidence: Uint8Array,
    pkg: FrostPublic,
  ) => {
    try {
      const { body, signature } = RepairSplitCodec.decode(evidence);
      const key = run.keyset.members[accused];
      if (
        key === undefined ||
        body.helper !== accused ||
        body.recipient !== accuser ||
        body.epoch !== run.epoch ||
        !bytesEqual(body.keyset, run.keyset.digest) ||
        body.lost !== run.keyset.self ||
        body.attempt !== run.attempt ||
        !sameHelpers(body.helpers, run.helpers) ||
        !verifyInDomain(key, DomainTag.dkg, chainId, RepairSplitBodyCodec.encode(body), signature)
      )
        return false;
      if (!repairSplitIsSound(pkg, run.helpers, run.keyset.self, accused, body.commitments)) return true;
      const position = run.helpers.indexOf(accuser);
      const expected = parsePoint(body.commitments[position]!);
      const delta = body.summand.length === 32 ? Fn.fromBytes(body.summand) : undefined;
      if (expected === undefined || delta === undefined) return true;
      return !(delta === 0n ? Point.ZERO : Point.BASE.multiply(delta)).equals(expected);
    } catch {
      return false;
    }
  };

  const finish = (nowMs: number): RepairOutput[] => {
    const run = lost!;
    const n = run.keyset.members.length;
    const f = Math.floor((n - 1) / 3);
    // The public package more than f helpers agree on (at most f lie); the others are named.
    const votes = new Map<string, number[]>();
    for (const [helper, sum] of run.sums) {
      const fingerprint = [...sum.groupCommitments, ...sum.verifyingShares].map((p) => toHex(p)).join('');
      votes.set(fingerprint, [...(votes.get(fingerprint) ?? []), helper]);
    }
    const [, agreeing] = [...votes.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    if (agreeing.length <= f) return restart(run, nowMs);
    for (const helper of run.helpers) if (!agreeing.includes(helper)) name(run, helper, 'WRONG_KEYSET');
    const reference = run.sums.get(agreeing[0]!)!;
    const pkg: FrostPublic = {
      signers: { min: run.keyset.threshold, max: n },
      commitments: reference.groupCommitments.map((p) => Uint8Array.from(p)),
      verifyingShares: Object.fromEntries(
        reference.verifyingShares.map((p, i) => [participantIdentifier(i), Uint8Array.from(p)]),
      ),
    };
    let failed = agreeing.length < run.helpers.length;
    for (const [accuser, sum] of run.sums) {
      for (const accusation of sum.accusations) {
        if (!run.helpers.includes(accusation.helper) || accusation.helper === accuser) continue;
        failed = true;
        if (accusation.evidence.length === 0) {
          // "Never came" from a helper that did report to us: one of the two is lying or cut off
          // from the other; neither is provably at fault, both sit out the next attempt.
          quiet(run, accusation.helper);
          quiet(run, accuser);
        } else if (convicts(run, accuser, accusation.helper, accusation.evidence, pkg))
          name(run, accusation.helper, 'BAD_SUMMAND');
        else name(run, accuser, 'FALSE_ACCUSATION');
      }
    }
    if (failed) return restart(run, nowMs);
    try {
      const key = repairRecover(
        pkg,
        {
          epoch: run.epoch,
          threshold: run.keyset.threshold,
          participants: n,
          groupPublicKey: pkg.commitments[0]!,
        },
        run.helpers,
        run.keyset.self,
        new Map([...run.sums].map(([h, s]) => [h, Uint8Array.from(s.sum)])),
        new Map([...run.sums].map(([h, s]) => [h, s.commitments.map((p) => Uint8Array.from(p))])),
      );
      repaired.push({ key, members: run.keyset.members.map((m) => Uint8Array.from(m)) });
      stats.repaired++;
      lost = undefined;
      return [];
    } catch (error) {
      if (!(error instanceof RepairError)) throw error;
      for (const helper of error.culprits)
        name(run, helper, error.code === 'BAD_SPLIT' ? 'BAD_SPLIT' : 'BAD_SUM');
      return restart(run, nowMs);
    }
  };

  const onSum = (fromKey: Uint8Array, sum: RepairSum, nowMs: number): RepairOutput[] => {
    const run = lost;
    if (run === undefined) return [];
    const from = indexOf(run.keyset.members, fromKey);
    if (
      from === undefined ||
      sum.helper !== from ||
      sum.epoch !== run.epoch ||
      !bytesEqual(sum.keyset, run.keyset.digest) ||
      sum.lost !== run.keyset.self ||
      sum.attempt !== run.attempt ||
      !sameHelpers(sum.helpers, run.helpers) ||
      !run.helpers.includes(from) ||
      run.sums.has(from) ||
      sum.groupCommitments.length !== run.keyset.threshold ||
      sum.verifyingShares.length !== run.keyset.members.length
    )
      return [];
    run.sums.set(from, sum);
    return run.sums.size === run.helpers.length ? finish(nowMs) : [];
  };

  // ------------------------------------------------------------------ helper side

  const splitFor = (run: HelperRun): RepairOutput[] => {
    if (run.own !== undefined || run.key === undefined) return [];
    const { request, key } = run;
    const split = repairSplit(key, request.helpers, request.lost);
    run.ownCommitments = split.commitments.map((c) => Uint8Array.from(c));
    run.received.set(key.index, {
      summand: split.summands.get(key.index)!,
      commitments: run.ownCommitments,
      sealed: new Uint8Array(),
    });
    run.own = [];
    for (const helper of request.helpers) {
      if (helper === key.index) continue;
      const body: RepairSplitBody = {
        chainId,
        ...request,
        helper: key.index,
        recipient: helper,
        summand: split.summands.get(helper)!,
        commitments: run.ownCommitments,
      };
      const signature = signInDomain(
        options.signer,
        DomainTag.dkg,
        chainId,
        RepairSplitBodyCodec.encode(body),
      );
      run.own.push({ to: run.members[helper]!, bytes: RepairSplitCodec.encode({ body, signature }) });
    }
    stats.helped++;
    return [...run.own, ...maybeSum(run, false)];
  };

  /** Sends the lost validator our sum once every split is in (or, at the deadline, what we have). */
  const maybeSum = (run: HelperRun, deadline: boolean): RepairOutput[] => {
    const { request, key } = run;
    if (run.sent || key === undefined || run.ownCommitments === undefined) return [];
    if (!deadline && run.received.size < request.helpers.length) return [];
    run.sent = true;
    let sum: Uint8Array = new Uint8Array(32);
    const accusations: { helper: number; evidence: Uint8Array }[] = request.helpers
      .filter((h) => !run.received.has(h))
      .map((helper) => ({ helper, evidence: new Uint8Array() }));
    if (accusations.length === 0) {
      try {
        sum = repairSum(key.public, request.helpers, request.lost, key.index, run.received);
      } catch (error) {
        if (!(error instanceof RepairError)) throw error;
        for (const helper of error.culprits)
          accusations.push({ helper, evidence: run.received.get(helper)?.sealed ?? new Uint8Array() });
      }
    }
    const bytes = RepairSumCodec.encode({
      chainId,
      ...request,
      helper: key.index,
      sum,
      commitments: run.ownCommitments,
      groupCommitments: key.public.commitments,
      verifyingShares: Array.from(
        { length: run.members.length },
        (_, i) => key.public.verifyingShares[participantIdentifier(i)]!,
      ),
      accusations,
    });
    return [{ to: run.members[request.lost]!, bytes }];
  };

  /**
   * Our keyset of `fields.epoch` when the run is one we can help in: we sign with that epoch's
   * share, the run names that keyset (members and threshold), its helper set is valid there, and
   * we are in it.
   */
  const heldFor = (fields: Omit<RepairRequest, 'chainId'>) => {
    const held = options.held(fields.epoch);
    if (held === undefined) return undefined;
    const { key, members } = held;
    const keyset = { members, threshold: key.threshold };
    if (
      key.epoch !== fields.epoch ||
      key.participants !== members.length ||
      !bytesEqual(members[key.index] ?? new Uint8Array(), selfKey) ||
      !bytesEqual(repairKeysetDigest(keyset), fields.keyset) ||
      !validHelpers(fields.helpers, fields.lost, keyset) ||
      !fields.helpers.includes(key.index)
    )
      return undefined;
    return held;
  };

  const helperRun = (
    request: Omit<RepairRequest, 'chainId'>,
    members: readonly Uint8Array[],
    nowMs: number,
  ): HelperRun | undefined => {
    const key = runKey(request);
    const existing = helping.get(key);
    if (existing !== undefined)
      return sameHelpers(existing.request.helpers, request.helpers) ? existing : undefined;
    // One attempt per lost validator at a time: a newer one replaces the older.
    for (const [other, run] of helping)
      if (run.request.lost === request.lost && bytesEqual(run.request.keyset, request.keyset))
        helping.delete(other);
    const run: HelperRun = {
      request: { ...request, keyset: Uint8Array.from(request.keyset), helpers: [...request.helpers] },
      startedMs: nowMs,
      received: new Map(),
      members,
      key: undefined,
      own: undefined,
      ownCommitments: undefined,
      sent: false,
    };
    helping.set(key, run);
    while (helping.size > MAX_HELPER_RUNS) helping.delete(helping.keys().next().value as string);
    return run;
  };

  const onRequest = (fromKey: Uint8Array, request: RepairRequest, nowMs: number): RepairOutput[] => {
    const { chainId: _chain, ...fields } = request;
    const held = heldFor(fields);
    // Only the lost member itself asks: the authenticated sender is member `lost` of the keyset.
    if (held === undefined || !bytesEqual(held.members[fields.lost] ?? new Uint8Array(), fromKey)) return [];
    const existing = helping.get(runKey(fields));
    if (existing?.own !== undefined) return existing.own; // the same split again, never a second one
    const run = helperRun(fields, held.members, nowMs);
    if (run === undefined) return [];
    run.key = held.key;
    return splitFor(run);
  };

  const onSplit = (fromKey: Uint8Array, bytes: Uint8Array, nowMs: number): RepairOutput[] => {
    const { body, signature } = RepairSplitCodec.decode(bytes);
    const { chainId: _c, helper: _h, recipient: _r, summand, commitments, ...request } = body;
    const held = heldFor(request);
    if (held === undefined) return [];
    const from = indexOf(held.members, fromKey);
    if (
      from === undefined ||
      body.helper !== from ||
      body.recipient !== held.key.index ||
      !body.helpers.includes(from) ||
      body.commitments.length !== held.key.threshold
    )
      return [];
    if (!verifyInDomain(fromKey, DomainTag.dkg, chainId, RepairSplitBodyCodec.encode(body), signature))
      return [];
    // A split may come before the lost validator's request reaches us: hold it in the run.
    const run = helperRun(request, held.members, nowMs);
    if (run === undefined || run.received.has(from)) return [];
    run.received.set(from, {
      summand: Uint8Array.from(summand),
      commitments: commitments.map((c) => Uint8Array.from(c)),
      sealed: bytes.slice(),
    });
    return maybeSum(run, false);
  };

  return {
    request(epoch, keyset, candidates, nowMs) {
      invariant(Number.isSafeInteger(epoch) && epoch >= 0, 'repair names an epoch');
      const self = indexOf(keyset.members, selfKey);
      invariant(self !== undefined, 'only a member of the keyset repairs its share of it');
      invariant(
        Number.isInteger(keyset.threshold) &&
          keyset.threshold >= 1 &&
          keyset.threshold < keyset.members.length,
        'a repair needs t helpers besides us',
      );
      const runKeyset: RunKeyset = {
        members: keyset.members.map((m) => Uint8Array.from(m)),
        threshold: keyset.threshold,
        digest: repairKeysetDigest(keyset),
        self,
      };
      return startAttempt(epoch, runKeyset, candidates, nowMs);
    },

    repairing: () => lost?.epoch,

    cancel() {
      lost = undefined;
    },

    receive(from, bytes, nowMs) {
      if (bytesEqual(from, selfKey)) return [];
      try {
        const tag = peekTag(bytes);
        if (tag === RepairRequestCodec.tag) {
          const request = RepairRequestCodec.decode(bytes);
          return request.chainId === chainId ? onRequest(from, request, nowMs) : [];
        }
        if (tag === RepairSplitCodec.tag) return onSplit(from, bytes, nowMs);
        if (tag === RepairSumCodec.tag) {
          const sum = RepairSumCodec.decode(bytes);
          return sum.chainId === chainId ? onSum(from, sum, nowMs) : [];
        }
      } catch {
        // malformed input from a peer changes nothing
      }
      return [];
    },

    tick(nowMs) {
      const out: RepairOutput[] = [];
      for (const [key, run] of helping) {
        // Helpers report at half the deadline, so the lost validator has every report by its own.
        if (2 * (nowMs - run.startedMs) < options.deadlineMs) continue;
        out.push(...maybeSum(run, true));
        if (nowMs - run.startedMs >= 4 * options.deadlineMs) helping.delete(key);
      }
      const run = lost;
      if (run !== undefined && nowMs - run.startedMs >= options.deadlineMs) {
        // Helpers that sent us nothing are silent; the others' reports of them say no more.
        for (const helper of run.helpers) if (!run.sums.has(helper)) name(run, helper, 'SILENT');
        for (const [accuser, sum] of run.sums)
          for (const accusation of sum.accusations)
            if (accusation.evidence.length === 0 && run.sums.has(accusation.helper)) {
              quiet(run, accuser);
              quiet(run, accusation.helper);
            }
        out.push(...restart(run, nowMs));
      }
      return out;
    },

    takeRepaired: () => repaired.splice(0, repaired.length),

    failure: () => (failure === undefined ? undefined : { ...failure, convicted: [...failure.convicted] }),

    stats: () => ({ ...stats, culprits: stats.culprits.map((c) => ({ ...c, key: Uint8Array.from(c.key) })) }),
  };
}

/** Whether `bytes` is a share-repair message (for routing). */
export function isRepairMessage(bytes: Uint8Array): boolean {
  try {
    const tag = peekTag(bytes);
    return tag === RepairRequestCodec.tag || tag === RepairSplitCodec.tag || tag === RepairSumCodec.tag;
  } catch {
    return false;
  }
}
