/**
 * Share repair over the validators' channels (sans-IO: messages in, messages out, time passed
 * in): a validator whose share is gone (its disk lost, or it was down across two refreshes or
 * more, beyond what peers keep of keygen runs) gets its share of the current epoch back from t
 * others, and nobody learns it. The math is src/crypto/repair.ts (Laing–Stinson, "A survey and
 * refinement of repairable threshold schemes", J. Math. Cryptol. 2018, §4, with public
 * commitments); this file runs it between validators:
 *
 *   lost validator r, epoch e, helper set H (|H| = t, r ∉ H), attempt k
 *   0. r sends RepairRequest(e, k, H) to every helper (it chooses H among the validators it
 *      has heard from in epoch e, leaving out those named in earlier attempts);
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
 */
import type { FrostPublic } from '@noble/curves/abstract/frost.js';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import { toHex } from '../crypto/bytes.ts';
import { DomainTag } from '../crypto/domain.ts';
import { type Ed25519Signer, signInDomain, verifyInDomain } from '../crypto/ed25519.ts';
import { type FrostKeyPackage, participantIdentifier } from '../crypto/frost.ts';
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

export interface ShareRepairOptions {
  readonly chainId: number;
  readonly self: number;
  readonly signer: Ed25519Signer;
  /** Every validator's Ed25519 identity key, by index (splits are signed with them). */
  readonly validatorKeys: readonly Uint8Array[];
  readonly threshold: number;
  /** How long a run waits for splits (helpers) and sums (the lost validator). */
  readonly deadlineMs: number;
  /** Our key package of `epoch`, if we hold it (the helper side). */
  keyOf(epoch: number): FrostKeyPackage | undefined;
}

export interface RepairOutput {
  readonly to: number;
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
  /** The helpers convicted so far, who can no longer take part. */
  readonly convicted: readonly number[];
}

export interface ShareRepairStats {
  attempts: number;
  repaired: number;
  /** Helpers at fault, with what they did, as seen by the lost validator (us). */
  culprits: { helper: number; fault: RepairFault; attempt: number }[];
  /** Runs we helped in. */
  helped: number;
}

export interface ShareRepair {
  /** Starts (or restarts) repairing our share of `epoch`, preferring `candidates` as helpers. */
  request(epoch: number, candidates: readonly number[], nowMs: number): RepairOutput[];
  /** The epoch being repaired, if any. */
  repairing(): number | undefined;
  receive(from: number, bytes: Uint8Array, nowMs: number): RepairOutput[];
  tick(nowMs: number): RepairOutput[];
  /** Key packages repaired since the last call. */
  takeRepaired(): FrostKeyPackage[];
  /**
   * Why the latest request gave up, if it did: fewer than t validators are left once the
   * convicted ones are taken out (silent ones are tried again, convicted ones never).
   */
  failure(): RepairFailure | undefined;
  stats(): ShareRepairStats;
}

const MAX_HELPER_RUNS = 64;

interface LostRun {
  readonly epoch: number;
  readonly attempt: number;
  readonly helpers: readonly number[];
  readonly startedMs: number;
  readonly sums: Map<number, RepairSum>;
  candidates: readonly number[];
}

interface HelperRun {
  readonly request: Omit<RepairRequest, 'chainId'>;
  readonly startedMs: number;
  readonly received: Map<number, { summand: Uint8Array; commitments: Uint8Array[]; sealed: Uint8Array }>;
  key: FrostKeyPackage | undefined;
  own: RepairOutput[] | undefined;
  ownCommitments: Uint8Array[] | undefined;
  sent: boolean;
}

/** @example const repair = createShareRepair({ ...options }); send(repair.request(epoch, peers, now)); */
export function createShareRepair(options: ShareRepairOptions): ShareRepair {
  const { chainId, self, threshold } = options;
  const n = options.validatorKeys.length;
  const f = Math.floor((n - 1) / 3);
  const stats: ShareRepairStats = { attempts: 0, repaired: 0, culprits: [], helped: 0 };
  const repaired: FrostKeyPackage[] = [];
  /** Helpers left out of our next attempt: convicted ones for good, silent ones until we run out. */
  const convicted = new Set<number>();
  const silent = new Set<number>();
  let lost: LostRun | undefined;
  let failure: RepairFailure | undefined;
  let attemptCounter = 0;
  const helping = new Map<string, HelperRun>();

  const runKey = (value: { epoch: number; lost: number; attempt: number }) =>
    `${value.lost}/${value.epoch}/${value.attempt}`;
  const sameHelpers = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((h, i) => h === b[i]);
  const validHelpers = (helpers: readonly number[], lostIndex: number) =>
    helpers.length === threshold &&
    helpers.every(
      (h, i) => Number.isInteger(h) && h >= 0 && h < n && h !== lostIndex && (i === 0 || h > helpers[i - 1]!),
    );

  const name = (helper: number, fault: RepairFault, attempt: number) => {
    if (fault === 'SILENT') silent.add(helper);
    else convicted.add(helper);
    if (!stats.culprits.some((c) => c.helper === helper && c.fault === fault && c.attempt === attempt))
      stats.culprits.push({ helper, fault, attempt });
  };

  // ------------------------------------------------------------------ lost side

  const startAttempt = (epoch: number, candidates: readonly number[], nowMs: number): RepairOutput[] => {
    const usable = (skipSilent: boolean) =>
      [...candidates, ...Array.from({ length: n }, (_, i) => i)].filter(
        (v, i, all) =>
          v !== self && all.indexOf(v) === i && !convicted.has(v) && !(skipSilent && silent.has(v)),
      );
    let pool = usable(true);
    if (pool.length < threshold) {
      silent.clear(); // silence is not proof: try them again rather than give up
      pool = usable(false);
    }
    if (pool.length < threshold) {
      lost = undefined;
      failure = { epoch, code: 'TOO_FEW_HELPERS', convicted: [...convicted].sort((a, b) => a - b) };
      return [];
    }
    failure = undefined;
    const helpers = pool.slice(0, threshold).sort((a, b) => a - b);
    attemptCounter = (attemptCounter + 1) % 65_536;
    lost = { epoch, attempt: attemptCounter, helpers, startedMs: nowMs, sums: new Map(), candidates };
    stats.attempts++;
    const bytes = RepairRequestCodec.encode({ chainId, epoch, lost: self, attempt: attemptCounter, helpers });
    return helpers.map((to) => ({ to, bytes }));
  };

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
      const key = options.validatorKeys[accused];
      if (
        key === undefined ||
        body.helper !== accused ||
        body.recipient !== accuser ||
        body.epoch !== run.epoch ||
        body.lost !== self ||
        body.attempt !== run.attempt ||
        !sameHelpers(body.helpers, run.helpers) ||
        !verifyInDomain(key, DomainTag.dkg, chainId, RepairSplitBodyCodec.encode(body), signature)
      )
        return false;
      if (!repairSplitIsSound(pkg, run.helpers, self, accused, body.commitments)) return true;
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
    // The public package more than f helpers agree on (at most f lie); the others are named.
    const votes = new Map<string, number[]>();
    for (const [helper, sum] of run.sums) {
      const fingerprint = [...sum.groupCommitments, ...sum.verifyingShares].map((p) => toHex(p)).join('');
      votes.set(fingerprint, [...(votes.get(fingerprint) ?? []), helper]);
    }
    const [, agreeing] = [...votes.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    if (agreeing.length <= f) return startAttempt(run.epoch, run.candidates, nowMs);
    for (const helper of run.helpers)
      if (!agreeing.includes(helper)) name(helper, 'WRONG_KEYSET', run.attempt);
    const reference = run.sums.get(agreeing[0]!)!;
    const pkg: FrostPublic = {
      signers: { min: threshold, max: n },
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
          silent.add(accusation.helper);
          silent.add(accuser);
        } else if (convicts(run, accuser, accusation.helper, accusation.evidence, pkg))
          name(accusation.helper, 'BAD_SUMMAND', run.attempt);
        else name(accuser, 'FALSE_ACCUSATION', run.attempt);
      }
    }
    if (failed) return startAttempt(run.epoch, run.candidates, nowMs);
    try {
      const key = repairRecover(
        pkg,
        { epoch: run.epoch, threshold, participants: n, groupPublicKey: pkg.commitments[0]! },
        run.helpers,
        self,
        new Map([...run.sums].map(([h, s]) => [h, Uint8Array.from(s.sum)])),
        new Map([...run.sums].map(([h, s]) => [h, s.commitments.map((p) => Uint8Array.from(p))])),
      );
      repaired.push(key);
      stats.repaired++;
      lost = undefined;
      return [];
    } catch (error) {
      if (!(error instanceof RepairError)) throw error;
      for (const helper of error.culprits)
        name(helper, error.code === 'BAD_SPLIT' ? 'BAD_SPLIT' : 'BAD_SUM', run.attempt);
      return startAttempt(run.epoch, run.candidates, nowMs);
    }
  };

  const onSum = (from: number, sum: RepairSum, nowMs: number): RepairOutput[] => {
    const run = lost;
    if (
      run === undefined ||
      sum.helper !== from ||
      sum.epoch !== run.epoch ||
      sum.attempt !== run.attempt ||
      !sameHelpers(sum.helpers, run.helpers) ||
      !run.helpers.includes(from) ||
      run.sums.has(from) ||
      sum.groupCommitments.length !== threshold ||
      sum.verifyingShares.length !== n
    )
      return [];
    run.sums.set(from, sum);
    return run.sums.size === run.helpers.length ? finish(nowMs) : [];
  };

  // ------------------------------------------------------------------ helper side

  const splitFor = (run: HelperRun): RepairOutput[] => {
    if (run.own !== undefined || run.key === undefined) return [];
    const { request } = run;
    const split = repairSplit(run.key, request.helpers, request.lost);
    run.ownCommitments = split.commitments.map((c) => Uint8Array.from(c));
    run.received.set(self, {
      summand: split.summands.get(self)!,
      commitments: run.ownCommitments,
      sealed: new Uint8Array(),
    });
    run.own = [];
    for (const helper of request.helpers) {
      if (helper === self) continue;
      const body: RepairSplitBody = {
        chainId,
        ...request,
        helper: self,
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
      run.own.push({ to: helper, bytes: RepairSplitCodec.encode({ body, signature }) });
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
        sum = repairSum(key.public, request.helpers, request.lost, self, run.received);
      } catch (error) {
        if (!(error instanceof RepairError)) throw error;
        for (const helper of error.culprits)
          accusations.push({ helper, evidence: run.received.get(helper)?.sealed ?? new Uint8Array() });
      }
    }
    const bytes = RepairSumCodec.encode({
      chainId,
      ...request,
      helper: self,
      sum,
      commitments: run.ownCommitments,
      groupCommitments: key.public.commitments,
      verifyingShares: Array.from(
        { length: n },
        (_, i) => key.public.verifyingShares[participantIdentifier(i)]!,
      ),
      accusations,
    });
    return [{ to: request.lost, bytes }];
  };

  const helperRun = (request: Omit<RepairRequest, 'chainId'>, nowMs: number): HelperRun | undefined => {
    const key = runKey(request);
    const existing = helping.get(key);
    if (existing !== undefined)
      return sameHelpers(existing.request.helpers, request.helpers) ? existing : undefined;
    // One attempt per lost validator at a time: a newer one replaces the older.
    for (const [other, run] of helping) if (run.request.lost === request.lost) helping.delete(other);
    const run: HelperRun = {
      request: { ...request, helpers: [...request.helpers] },
      startedMs: nowMs,
      received: new Map(),
      key: undefined,
      own: undefined,
      ownCommitments: undefined,
      sent: false,
    };
    helping.set(key, run);
    while (helping.size > MAX_HELPER_RUNS) helping.delete(helping.keys().next().value as string);
    return run;
  };

  const onRequest = (from: number, request: RepairRequest, nowMs: number): RepairOutput[] => {
    if (request.lost !== from || !validHelpers(request.helpers, from) || !request.helpers.includes(self))
      return [];
    const key = options.keyOf(request.epoch);
    if (key === undefined || key.threshold !== threshold || key.participants !== n) return [];
    const { chainId: _chain, ...fields } = request;
    const existing = helping.get(runKey(fields));
    if (existing?.own !== undefined) return existing.own; // the same split again, never a second one
    const run = helperRun(fields, nowMs);
    if (run === undefined) return [];
    run.key = key;
    return splitFor(run);
  };

  const onSplit = (from: number, bytes: Uint8Array, nowMs: number): RepairOutput[] => {
    const { body, signature } = RepairSplitCodec.decode(bytes);
    if (
      body.helper !== from ||
      body.recipient !== self ||
      !validHelpers(body.helpers, body.lost) ||
      !body.helpers.includes(from) ||
      !body.helpers.includes(self) ||
      body.commitments.length !== threshold
    )
      return [];
    if (
      !verifyInDomain(
        options.validatorKeys[from]!,
        DomainTag.dkg,
        chainId,
        RepairSplitBodyCodec.encode(body),
        signature,
      )
    )
      return [];
    const { chainId: _c, helper: _h, recipient: _r, summand, commitments, ...request } = body;
    // A split may come before the lost validator's request reaches us: hold it in the run.
    const run = helperRun(request, nowMs);
    if (run === undefined || run.received.has(from)) return [];
    run.received.set(from, {
      summand: Uint8Array.from(summand),
      commitments: commitments.map((c) => Uint8Array.from(c)),
      sealed: bytes.slice(),
    });
    return maybeSum(run, false);
  };

  return {
    request(epoch, candidates, nowMs) {
      invariant(Number.isSafeInteger(epoch) && epoch >= 0, 'repair names an epoch');
      return startAttempt(epoch, candidates, nowMs);
    },

    repairing: () => lost?.epoch,

    receive(from, bytes, nowMs) {
      if (from === self || !Number.isInteger(from) || from < 0 || from >= n) return [];
      try {
        const tag = peekTag(bytes);
        if (tag === RepairRequestCodec.tag) {
          const request = RepairRequestCodec.decode(bytes);
          return request.chainId === chainId ? onRequest(from, request, nowMs) : [];
        }
        if (tag === RepairSplitCodec.tag) return onSplit(from, bytes, nowMs);
        if (tag === RepairSumCodec.tag) {
          const sum = RepairSumCodec.decode(bytes);
          return sum.chainId === chainId && sum.lost === self ? onSum(from, sum, nowMs) : [];
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
        for (const helper of run.helpers) if (!run.sums.has(helper)) name(helper, 'SILENT', run.attempt);
        for (const [accuser, sum] of run.sums)
          for (const accusation of sum.accusations)
            if (accusation.evidence.length === 0 && run.sums.has(accusation.helper)) {
              silent.add(accuser);
              silent.add(accusation.helper);
            }
        out.push(...startAttempt(run.epoch, run.candidates, nowMs));
      }
      return out;
    },

    takeRepaired: () => repaired.splice(0, repaired.length),

    failure: () => (failure === undefined ? undefined : { ...failure, convicted: [...failure.convicted] }),

    stats: () => ({ ...stats, culprits: stats.culprits.map((c) => ({ ...c })) }),
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
