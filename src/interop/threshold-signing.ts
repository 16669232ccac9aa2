/**
 * FROST signing that tolerates f faulty validators (sans-IO: messages in, messages out, time
 * passed in). RFC 9591 §5 gives two rounds and leaves it to the coordinator to pick signers; a
 * signer that commits and then withholds its share, or sends one that fails verification, would
 * stall a session that waits for it. Here a session runs in attempts:
 *
 *   turn b = ⌊(now − open) / T⌋, coordinator c_b = (base + b) mod n; its attempts are numbered
 *   k = b·32 + j, so every attempt number names its coordinator (T = `turnMs`)
 *   1. commit (RFC 9591 §5.1): attempt 0 — every validator sends fresh nonce commitments to c_0
 *      as soon as it opens the session; later attempts — c_k invites every validator it has not
 *      excluded, and each answers with fresh commitments for that attempt;
 *   2. c_k takes the first t commitments (preferring validators not recently at fault) and sends
 *      each chosen signer the list (RFC 9591 §5.2);
 *   3. c_k verifies every share as it arrives (RFC 9591 §5.4). A share that fails names its
 *      signer, who is excluded, and the next attempt starts at once; at the attempt's deadline,
 *      every chosen signer that has not delivered is excluded and the next attempt starts;
 *   4. with t verified shares, c_k aggregates (RFC 9591 §5.3).
 *   A coordinator retries as long as its turn lasts; then the next validator takes over (a silent
 *   or Byzantine coordinator costs one turn, never the session), for up to 8 turns. The list of
 *   step 2 goes to every validator not excluded, so the non-chosen know the coordinator is alive:
 *   one we have not heard from is taken over from after one attempt deadline, not its whole turn,
 *   and at once in later sessions once it has been silent (src/interop/signer-health.ts, shared
 *   by all sessions and epochs; a request or invite from it again restores it).
 *
 * With n ≥ t + f, at most f exclusions leave t honest signers, so a session completes within
 * f + 1 attempts of an honest coordinator; bad shares are retried at once, and validators at
 * fault are passed over in later sessions (`suspectMs`), so withholding costs deadlines only
 * until each withholder has been caught once.
 *
 * Nonces. Every attempt uses fresh nonces from each signer; a nonce pair signs at most once and
 * only the exact commitment list it was asked for with its own commitment in it. The ledger of
 * issued commitments asserts (`invariant`) that no commitment is ever issued twice — a broken
 * random source would otherwise leak the share (RFC 9591 §4.1, §7.1).
 */
import type { Nonces } from '@noble/curves/abstract/frost.js';
import { invariant } from '../codec/invariant.ts';
import { peekTag } from '../codec/message.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import {
  FROST_SCALAR_BYTES,
  type FrostCommitment,
  FrostError,
  type FrostKeyPackage,
  frostAggregateOptimistic,
  frostCommit,
  frostSignShare,
} from '../crypto/frost.ts';
import { createSignerHealth, type SignerHealth } from './signer-health.ts';
import {
  ATTEMPTS_PER_TURN,
  MAX_SIGNING_ATTEMPTS,
  SigningAttemptRequestCodec,
  SigningAttemptShareCodec,
  SigningCommitCodec,
  SigningInviteCodec,
} from './signing-codec.ts';

/** Sessions held at once; the oldest are dropped beyond it. */
export const MAX_SIGNING_SESSIONS = 256;
/** Commitments for sessions not opened yet (our block may come later), held at most. */
const MAX_EARLY_MESSAGES = 1024;

export interface ThresholdSigningOptions {
  readonly chainId: number;
  readonly self: number;
  readonly key: FrostKeyPackage;
  /** How long a coordinator waits for an attempt's commitments and shares. */
  readonly attemptMs: number;
  /** How long each coordinator's turn lasts before the next validator takes over. Default 3 attempts. */
  readonly turnMs?: number;
  /** How long a validator at fault is passed over when a coordinator picks signers. */
  readonly suspectMs?: number;
  /** Peers' behaviour seen so far, shared across sessions and epochs (default: this engine's own). */
  readonly health?: SignerHealth;
  /** Randomness for nonces (RFC 9591 §4.1 hashes it with the share); tests only. */
  readonly randomBytes?: (length?: number) => Uint8Array;
}

export interface SigningOutput {
  readonly to: number;
  readonly bytes: Uint8Array;
}

export interface SigningCompletion {
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly attempt: number;
  readonly signers: readonly number[];
}

export type SigningFault = 'SILENT' | 'BAD_SHARE';

export interface ThresholdSigningStats {
  sessionsOpened: number;
  completed: number;
  attemptsStarted: number;
  /** Faults seen as coordinator, by validator index. */
  faults: Record<number, { silent: number; badShares: number }>;
}

export interface ThresholdSigner {
  /** Opens the session for `message` (32 bytes) whose first coordinator is `base`. */
  open(message: Uint8Array, base: number, nowMs: number): SigningOutput[];
  /** A message from authenticated validator `from`; malformed input is dropped (returns []). */
  receive(from: number, bytes: Uint8Array, nowMs: number): SigningOutput[];
  /** Fires attempt deadlines. */
  tick(nowMs: number): SigningOutput[];
  /** Signatures finished since the last call (as coordinator). */
  takeCompleted(): SigningCompletion[];
  /** The session's certificate is known (from anyone): stop working on it. */
  close(message: Uint8Array): void;
  stats(): ThresholdSigningStats;
}

interface Attempt {
  readonly index: number;
  readonly startedMs: number;
  readonly commitments: Map<number, FrostCommitment>;
  chosen: FrostCommitment[] | undefined;
  readonly shares: Map<number, Uint8Array>;
}

interface Session {
  readonly message: Uint8Array;
  readonly key: string;
  readonly base: number;
  readonly openedMs: number;
  /** Signer side: our commitments and unused nonces by attempt. */
  readonly mine: Map<number, { commitment: FrostCommitment; nonces: Nonces | undefined }>;
  /** Coordinator side. */
  attempt: Attempt | undefined;
  readonly excluded: Set<number>;
  /** Coordinator turns whose coordinator we heard from (a request or an invite). */
  readonly heard: Set<number>;
  done: boolean;
}

type Body = { chainId: number; epoch: number; message: Uint8Array; attempt: number };

/**
 * @example const signer = createThresholdSigner({ chainId, self, key, attemptMs: 2000 }); send(signer.open(digest, base, now));
 */
export function createThresholdSigner(options: ThresholdSigningOptions): ThresholdSigner {
  const { key, self, chainId } = options;
  const n = key.participants;
  const t = key.threshold;
  const epoch = key.epoch;
  const turnMs = options.turnMs ?? 3 * options.attemptMs;
  const suspectMs = options.suspectMs ?? 60_000;
  invariant(turnMs >= options.attemptMs, 'a turn holds at least one attempt');
  invariant(options.attemptMs > 0, 'attempt deadline must be positive');
  invariant(self === key.index, 'the key package is ours');

  const sessions = new Map<string, Session>();
  const early = new Map<string, { from: number; bytes: Uint8Array }[]>();
  let earlyCount = 0;
  /** Every commitment we issued (hiding point hex → where), bounded with the sessions. */
  const issued = new Map<string, string>();
  const health = options.health ?? createSignerHealth(suspectMs);
  const completions: SigningCompletion[] = [];
  const stats: ThresholdSigningStats = { sessionsOpened: 0, completed: 0, attemptsStarted: 0, faults: {} };

  const coordinatorOf = (session: Session, attempt: number) =>
    (session.base + Math.floor(attempt / ATTEMPTS_PER_TURN)) % n;
  const turnAt = (session: Session, nowMs: number) => Math.floor((nowMs - session.openedMs) / turnMs);

  const fault = (validator: number, kind: SigningFault, nowMs: number) => {
    const record = stats.faults[validator] ?? { silent: 0, badShares: 0 };
    stats.faults[validator] = record;
    if (kind === 'SILENT') record.silent++;
    else record.badShares++;
    health.signerFault(validator, nowMs);
  };

  /** Fresh nonces for (session, attempt); asserts the commitment was never issued before. */
  const commit = (session: Session, attempt: number): FrostCommitment => {
    const { nonces, commitment } = frostCommit(key, options.randomBytes);
    const fingerprint = toHex(commitment.hiding) + toHex(commitment.binding);
    invariant(!issued.has(fingerprint), 'a FROST nonce commitment was issued twice (broken randomness)');
    issued.set(fingerprint, `${session.key}/${attempt}`);
    while (issued.size > MAX_SIGNING_SESSIONS * MAX_SIGNING_ATTEMPTS)
      issued.delete(issued.keys().next().value as string);
    session.mine.set(attempt, { commitment, nonces });
    return commitment;
  };

  const body = (session: Session, attempt: number): Body => ({
    chainId,
    epoch,
    message: session.message,
    attempt,
  });

  const sendCommit = (session: Session, attempt: number, nowMs: number): SigningOutput[] => {
    if (session.mine.has(attempt)) return [];
    const commitment = commit(session, attempt);
    const coordinator = coordinatorOf(session, attempt);
    if (coordinator === self) return addCommitment(session, attempt, commitment, nowMs);
    return [
      {
        to: coordinator,
        bytes: SigningCommitCodec.encode({
          ...body(session, attempt),
          signer: self,
          hiding: commitment.hiding,
          binding: commitment.binding,
        }),
      },
    ];
  };

  // ------------------------------------------------------------------ coordinator

  const startAttempt = (session: Session, index: number, nowMs: number): SigningOutput[] => {
    invariant(coordinatorOf(session, index) === self, 'only the attempt coordinator starts it');
    session.attempt = {
      index,
      startedMs: nowMs,
      commitments: new Map(),
      chosen: undefined,
      shares: new Map(),
    };
    stats.attemptsStarted++;
    const out: SigningOutput[] = [];
    if (index > 0) {
      const invite = SigningInviteCodec.encode(body(session, index));
      for (let validator = 0; validator < n; validator++)
        if (validator !== self && !session.excluded.has(validator))
          out.push({ to: validator, bytes: invite });
    }
    out.push(...sendCommit(session, index, nowMs));
    return out;
  };

  const nextAttempt = (session: Session, nowMs: number): SigningOutput[] => {
    const current = session.attempt;
    invariant(current !== undefined, 'a retry follows an attempt');
    const index = current.index + 1;
    session.attempt = undefined;
    // Retry within our turn only: its attempt numbers, and the clock still in it.
    if (index % ATTEMPTS_PER_TURN === 0 || index >= MAX_SIGNING_ATTEMPTS) return [];
    if (turnAt(session, nowMs) > Math.floor(current.index / ATTEMPTS_PER_TURN)) return [];
    if (n - session.excluded.size < t) return [];
    return startAttempt(session, index, nowMs);
  };

  const addCommitment = (
    session: Session,
    attempt: number,
    commitment: FrostCommitment,
    nowMs: number,
  ): SigningOutput[] => {
    const current = session.attempt;
    if (session.done || current === undefined || current.index !== attempt || current.chosen !== undefined)
      return [];
    if (session.excluded.has(commitment.signer) || current.commitments.has(commitment.signer)) return [];
    current.commitments.set(commitment.signer, commitment);
    return choose(session, nowMs);
  };

  /** Picks the attempt's t signers once enough commitments are in, and sends them the list. */
  const choose = (session: Session, nowMs: number): SigningOutput[] => {
    const current = session.attempt;
    if (session.done || current === undefined || current.chosen !== undefined) return [];
    const attempt = current.index;
    const all = [...current.commitments.values()];
    const trusted = all.filter((c) => health.signerTrusted(c.signer, nowMs));
    const waitedLong = nowMs - current.startedMs >= options.attemptMs / 2;
    // Prefer t validators not recently at fault; take anyone once half the deadline has passed.
    const pool = trusted.length >= t ? trusted : waitedLong ? all : [];
    if (pool.length < t) return [];
    current.chosen = pool.slice(0, t).sort((a, b) => a.signer - b.signer);
    const request = SigningAttemptRequestCodec.encode({
      ...body(session, attempt),
      commitments: current.chosen.map((c) => ({ signer: c.signer, hiding: c.hiding, binding: c.binding })),
    });
    const out: SigningOutput[] = [];
    // Everyone not excluded gets the list: the chosen sign it, the others learn we are alive (so
    // the next coordinator does not take over, see `takeOver`).
    for (let validator = 0; validator < n; validator++)
      if (validator !== self && !session.excluded.has(validator)) out.push({ to: validator, bytes: request });
    if (current.chosen.some((c) => c.signer === self))
      out.push(...signShare(session, attempt, current.chosen, nowMs));
    return out;
  };

  const addShare = (session: Session, attempt: number, signer: number, share: Uint8Array, nowMs: number) => {
    const current = session.attempt;
    if (session.done || current?.index !== attempt || current.chosen === undefined) return [];
    if (!current.chosen.some((c) => c.signer === signer) || current.shares.has(signer)) return [];
    if (!(share instanceof Uint8Array) || share.length !== FROST_SCALAR_BYTES) {
      // Not even a scalar's bytes: the share names its signer; retry at once without it.
      fault(signer, 'BAD_SHARE', nowMs);
      session.excluded.add(signer);
      return nextAttempt(session, nowMs);
    }
    current.shares.set(signer, share);
    if (current.shares.size < current.chosen.length) return [];
    // All t shares in: aggregate, which verifies the group signature. Checking each share on arrival
    // (RFC 9591 §5.4) cost one group commitment per share, ≈ 7 ms each with @noble/curves, on the
    // coordinator's event loop, every session; now the shares are checked one by one only when the
    // group signature fails, to name who sent a bad one (and that signer is retried without at once,
    // as before). Nothing that does not verify under the group key is ever returned.
    let signature: Uint8Array;
    try {
      signature = frostAggregateOptimistic(key.public, current.chosen, session.message, current.shares);
    } catch (error) {
      if (
        !(error instanceof FrostError) ||
        error.code !== 'BAD_SIGNATURE_SHARE' ||
        error.signers.length === 0
      )
        throw error;
      for (const c of current.chosen) {
        // The others' shares verified one by one: as on arrival before, that clears them.
        if (!error.signers.includes(c.signer)) health.signerDelivered(c.signer);
      }
      for (const bad of error.signers) {
        fault(bad, 'BAD_SHARE', nowMs);
        session.excluded.add(bad);
      }
      return nextAttempt(session, nowMs);
    }
    for (const c of current.chosen) health.signerDelivered(c.signer);
    session.done = true;
    stats.completed++;
    completions.push({
      message: session.message,
      signature,
      attempt,
      signers: current.chosen.map((c) => c.signer),
    });
    return [];
  };

  // ------------------------------------------------------------------ signer

  const signShare = (
    session: Session,
    attempt: number,
    list: readonly FrostCommitment[],
    nowMs: number,
  ): SigningOutput[] => {
    const mine = session.mine.get(attempt);
    if (mine === undefined || mine.nonces === undefined) return [];
    const listed = list.find((c) => c.signer === self);
    // Only ever over our own commitment, exactly as issued, in a list of t distinct signers.
    if (
      listed === undefined ||
      !bytesEqual(listed.hiding, mine.commitment.hiding) ||
      !bytesEqual(listed.binding, mine.commitment.binding) ||
      list.length !== t ||
      new Set(list.map((c) => c.signer)).size !== list.length
    )
      return [];
    const nonces = mine.nonces;
    mine.nonces = undefined;
    invariant(
      issued.get(toHex(mine.commitment.hiding) + toHex(mine.commitment.binding)) ===
        `${session.key}/${attempt}`,
      'nonces sign only the attempt they were issued for',
    );
    let share: Uint8Array;
    try {
      share = frostSignShare(key, nonces, list, session.message);
    } catch {
      return []; // a list naming strangers or duplicates: nothing signed, the nonces are spent
    }
    const coordinator = coordinatorOf(session, attempt);
    if (coordinator === self) return addShare(session, attempt, self, share, nowMs);
    return [
      {
        to: coordinator,
        bytes: SigningAttemptShareCodec.encode({ ...body(session, attempt), signer: self, share }),
      },
    ];
  };

  // ------------------------------------------------------------------ take-over

  const heardFrom = (session: Session, attempt: number, coordinator: number) => {
    session.heard.add(Math.floor(attempt / ATTEMPTS_PER_TURN));
    health.coordinatorHeard(coordinator);
  };

  /**
   * The turn we should coordinate now, if any. Turn b starts at open + b·turnMs, or earlier when
   * every coordinator before it was silent to us: one we have not heard from in this session is
   * judged silent one attempt deadline after its turn began, or at once if it was already silent
   * as coordinator before (`health`). Taking over early only costs work if the earlier coordinator
   * was alive after all (two signatures on the same message, either one valid).
   */
  const takeOver = (session: Session, nowMs: number): { turn: number; skipped: number[] } | undefined => {
    let start = session.openedMs;
    const skipped: number[] = [];
    for (let turn = 0; turn < MAX_SIGNING_ATTEMPTS / ATTEMPTS_PER_TURN; turn++) {
      if (start > nowMs) return undefined;
      const coordinator = coordinatorOf(session, turn * ATTEMPTS_PER_TURN);
      if (coordinator === self && turn > 0 && !session.mine.has(turn * ATTEMPTS_PER_TURN))
        return { turn, skipped };
      const scheduled = session.openedMs + (turn + 1) * turnMs;
      if (coordinator === self || session.heard.has(turn)) {
        start = scheduled;
        continue;
      }
      const silentAt = start + (health.coordinatorSuspected(coordinator) ? 0 : options.attemptMs);
      if (silentAt < scheduled) skipped.push(coordinator);
      start = Math.min(scheduled, silentAt);
    }
    return undefined;
  };

  // ------------------------------------------------------------------ dispatch

  const sameSession = (value: Body) =>
    value.chainId === chainId && value.epoch === epoch && value.attempt < MAX_SIGNING_ATTEMPTS;

  const handle = (session: Session, from: number, bytes: Uint8Array, nowMs: number): SigningOutput[] => {
    const tag = peekTag(bytes);
    if (tag === SigningCommitCodec.tag) {
      const value = SigningCommitCodec.decode(bytes);
      if (value.signer !== from || !sameSession(value)) return [];
      if (coordinatorOf(session, value.attempt) !== self) return [];
      return addCommitment(
        session,
        value.attempt,
        { signer: from, hiding: value.hiding, binding: value.binding },
        nowMs,
      );
    }
    if (tag === SigningInviteCodec.tag) {
      const value = SigningInviteCodec.decode(bytes);
      if (!sameSession(value) || coordinatorOf(session, value.attempt) !== from) return [];
      heardFrom(session, value.attempt, from);
      if (session.done) return [];
      return sendCommit(session, value.attempt, nowMs);
    }
    if (tag === SigningAttemptRequestCodec.tag) {
      const value = SigningAttemptRequestCodec.decode(bytes);
      if (!sameSession(value) || coordinatorOf(session, value.attempt) !== from) return [];
      heardFrom(session, value.attempt, from);
      return signShare(session, value.attempt, value.commitments, nowMs);
    }
    if (tag === SigningAttemptShareCodec.tag) {
      const value = SigningAttemptShareCodec.decode(bytes);
      if (value.signer !== from || !sameSession(value)) return [];
      return addShare(session, value.attempt, from, value.share, nowMs);
    }
    return [];
  };

  /** The session a message is for, if it is of this chain and epoch (others are not ours to hold). */
  const messageOf = (bytes: Uint8Array): Uint8Array | undefined => {
    const tag = peekTag(bytes);
    const value: Body | undefined =
      tag === SigningCommitCodec.tag
        ? SigningCommitCodec.decode(bytes)
        : tag === SigningInviteCodec.tag
          ? SigningInviteCodec.decode(bytes)
          : tag === SigningAttemptRequestCodec.tag
            ? SigningAttemptRequestCodec.decode(bytes)
            : tag === SigningAttemptShareCodec.tag
              ? SigningAttemptShareCodec.decode(bytes)
              : undefined;
    return value !== undefined && sameSession(value) ? value.message : undefined;
  };

  return {
    open(message, base, nowMs) {
      invariant(message instanceof Uint8Array && message.length === 32, 'sessions sign 32-byte digests');
      invariant(Number.isInteger(base) && base >= 0 && base < n, 'base coordinator is a validator');
      const sessionKey = toHex(message);
      if (sessions.has(sessionKey)) return [];
      const session: Session = {
        message: Uint8Array.from(message),
        key: sessionKey,
        base,
        openedMs: nowMs,
        mine: new Map(),
        attempt: undefined,
        excluded: new Set(),
        heard: new Set(),
        done: false,
      };
      sessions.set(sessionKey, session);
      stats.sessionsOpened++;
      while (sessions.size > MAX_SIGNING_SESSIONS) sessions.delete(sessions.keys().next().value as string);
      const out =
        coordinatorOf(session, 0) === self ? startAttempt(session, 0, nowMs) : sendCommit(session, 0, nowMs);
      const held = early.get(sessionKey) ?? [];
      early.delete(sessionKey);
      earlyCount -= held.length;
      for (const { from, bytes } of held) out.push(...this.receive(from, bytes, nowMs));
      return out;
    },

    receive(from, bytes, nowMs) {
      if (from === self || !Number.isInteger(from) || from < 0 || from >= n) return [];
      try {
        const message = messageOf(bytes);
        if (message === undefined) return [];
        const session = sessions.get(toHex(message));
        if (session === undefined) {
          // Our copy of the block may not be final yet: hold a bounded number of messages.
          if (earlyCount >= MAX_EARLY_MESSAGES) return [];
          const list = early.get(toHex(message)) ?? [];
          if (list.length >= 2 * n) return [];
          list.push({ from, bytes: bytes.slice() });
          early.set(toHex(message), list);
          earlyCount++;
          return [];
        }
        return handle(session, from, bytes, nowMs);
      } catch {
        return []; // malformed input from a peer changes nothing
      }
    },

    tick(nowMs) {
      const out: SigningOutput[] = [];
      for (const session of sessions.values()) {
        if (session.done) continue;
        const current = session.attempt;
        if (current !== undefined) {
          if (nowMs - current.startedMs < options.attemptMs) {
            out.push(...choose(session, nowMs));
            continue;
          }
          // The deadline: whoever was chosen and did not deliver is excluded (none chosen: nobody).
          for (const chosen of current.chosen ?? [])
            if (!current.shares.has(chosen.signer) && chosen.signer !== self) {
              fault(chosen.signer, 'SILENT', nowMs);
              session.excluded.add(chosen.signer);
            }
          out.push(...nextAttempt(session, nowMs));
          continue;
        }
        // Take over when the previous coordinators failed or were silent (see `takeOver`).
        const takeover = takeOver(session, nowMs);
        if (takeover !== undefined) {
          for (const coordinator of takeover.skipped) health.coordinatorSilent(coordinator);
          out.push(...startAttempt(session, takeover.turn * ATTEMPTS_PER_TURN, nowMs));
        }
      }
      if (earlyCount > MAX_EARLY_MESSAGES / 2) {
        early.clear();
        earlyCount = 0;
      }
      return out;
    },

    takeCompleted() {
      return completions.splice(0, completions.length);
    },

    close(message) {
      const session = sessions.get(toHex(message));
      if (session !== undefined) session.done = true;
    },

    stats: () => ({ ...stats, faults: structuredClone(stats.faults) }),
  };
}
