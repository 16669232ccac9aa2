/**
 * The eon keyset's DKG among the validators, over their authenticated transport (fair ordering,
 * issue 14): the I/O around the sans-IO machine of src/crypto/shutter/eon-keygen.ts, run the way
 * src/node/price-signing.ts runs the price keyset's keygen.
 *
 * When it runs. A genesis with `eonKeygen` names the eon and the encrypted-only markets but no
 * key. Without validator epochs, at first start every genesis validator runs one DKG session for
 * that eon (threshold 2f + 1, all validators deal and receive), and the node starts consensus only
 * once the keyset is **agreed** (n − f validators attested the same transcript and this validator
 * holds its share of it), so every block, the first included, runs with the same eon key at every
 * validator and no envelope is taken before the key exists (the API answers EON_KEY_PENDING
 * meanwhile). With validator epochs, src/node/eon-epochs.ts runs one such driver per window, among
 * that window's validators (`validators` and `self` are then the window's set and our index in
 * it, and `send` a keyper index, which it maps to the transport), and the chain records each
 * agreed keyset (src/chain/eon-schedule.ts) instead of waiting for it.
 *
 * Messages. Shares go to their recipient only (`send`, the peer's mutual-TLS channel), the rest
 * to everyone. Everything sent is kept and re-sent every `retryMs` until agreement (peers that
 * connect late still get it; every message is idempotent), and afterwards sent again, at most once
 * per `retryMs` and 16 times in all, to a peer that still sends DKG messages: what it needs to finish (our deal, its
 * share, our complaint, answers and attestation, and the n − f attestations we agreed on).
 * Deadlines count from our start: `dealMs` for deals and shares, `dealMs + complaintMs` for
 * complaints and answers.
 *
 * At rest. On agreement the share, the keyset's QUAL and combined commitment, the attestations and
 * what we sent are sealed into `eon-share-<eon>.key` (src/node/eon-key-file.ts, written durably)
 * before `onAgreed` runs. A start that finds the file opens it (its attestations are checked
 * against the genesis validators, its share against the keyset: a file that fails either stops
 * the node) and is agreed at once, answering stragglers from the file's messages.
 *
 * Crash anywhere. A validator killed during the DKG starts it again: its dealing is derived from
 * its identity seed and the session (HKDF-SHA-256, eon-keygen.ts `dealingSeed`), so what it sends
 * is byte for byte what it may have sent before — copies, never an equivocation. Its peers re-send
 * or answer it with what they sent; with n − f attestations and the pieces of its share it adopts
 * the agreed keyset even when its own deadlines have not passed. If the others finished without
 * it (it was down past their deadlines), QUAL leaves it out as a dealer but it still holds a share.
 */
import { hkdfSync } from 'node:crypto';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import type { EonKeyset } from '../crypto/shutter/eon-dkg.ts';
import {
  createEonKeygenMachine,
  EonKeygenError,
  type EonKeygenMachine,
  type EonKeygenOutput,
  type EonKeygenSession,
  eonKeygenMessageSession,
  eonThreshold,
} from '../crypto/shutter/eon-keygen.ts';
import type { Clock, PeerId } from '../runtime/types.ts';
import { openEonKeyset, sealEonKeyset } from './eon-key-file.ts';

/** Sealed messages kept for re-sending: a deal, n shares, a complaint, answers and an attestation. */
const MAX_SENT = 4 * 256;
/**
 * Answers to one peer's DKG messages after we agreed, at most (one per `retryMs`): enough for a
 * straggler to finish, and an end to two agreed peers answering each other.
 */
const MAX_STRAGGLER_ANSWERS = 16;

/** Where the sealed keyset file lives (a file in the data directory on a node). */
export interface EonKeysetStore {
  read(): string | undefined;
  /** Returns once the text is durable and whole. */
  write(text: string): void;
}

export interface EonKeysetOptions {
  chainId: number;
  eon: number;
  /** Our index among `validators`. */
  self: number;
  /** The genesis validators' identity keys: the DKG's dealers and recipients, by index. */
  validators: readonly Uint8Array[];
  signer: Ed25519Signer;
  /** The identity seed: the file key and the dealing seed are derived from it. */
  secretKey: Uint8Array;
  store: EonKeysetStore;
  clock: Clock;
  /** Transport peer of validator i is i. */
  send(to: PeerId, message: Uint8Array): void;
  broadcast(message: Uint8Array): void;
  /** Called once, with the agreed keyset and our share (after the file is durable). */
  onAgreed(keyset: EonKeyset, secretShare: bigint): void;
  log?: (level: 'info' | 'warn', message: string, details?: Record<string, unknown>) => void;
  retryMs?: number;
  dealMs?: number;
  complaintMs?: number;
}

export interface EonKeysetStatus {
  state: 'running' | 'agreed';
  eon: number;
  keyset: EonKeyset | undefined;
  /** Dealers our own run of the DKG left out, with why (SILENT, BAD_SHARE, EQUIVOCATION, …). */
  disqualified: { dealer: number; reason: string }[];
  /** The sealed attestations of the agreed keyset. */
  attestations: readonly Uint8Array[];
  /** Σ_{j∈QUAL} Γ_j of the agreed keyset. */
  commitment: readonly Uint8Array[];
}

export interface EonKeysetDriver {
  /**
   * Opens the sealed keyset file, if there is one: then agreed at once (`onAgreed` runs before
   * this returns) — call it before replaying stored blocks. True when it found one.
   * @throws EonShareError or KeystoreError when a file is there but fails its checks
   */
  load(): boolean;
  /** `load`, else starts the DKG (call once the transport runs). @throws as `load` */
  start(): void;
  stop(): void;
  /** A sealed eon DKG message (tag 0x0135) from an authenticated peer. */
  receive(from: PeerId, message: Uint8Array): void;
  status(): EonKeysetStatus;
  /** The DKG while it runs (for the monitor); undefined once agreed or before it started. */
  session(): EonKeygenProgress | undefined;
}

/** A running eon DKG: when it started on our clock, its deadlines, whom it waits for (by index). */
export interface EonKeygenProgress {
  eon: number;
  startedMs: number;
  /** dealMs + complaintMs, from `startedMs`. */
  deadlinesMs: number;
  /** 'attesting' once our own run finished and we wait for n − f matching attestations. */
  phase: 'dealing' | 'complaining' | 'attesting';
  waitingFor: { deals: number[]; shares: number[]; complaints: number[]; attestations: number[] };
}

/** The session every validator of `genesis` runs for `eon`. */
export function eonKeygenSessionOf(
  chainId: number,
  eon: number,
  validators: readonly Uint8Array[],
): EonKeygenSession {
  return { chainId, eon, validatorKeys: validators, threshold: eonThreshold(validators.length) };
}

/**
 * @example const eon = createEonKeysetDriver({ ...options, onAgreed: (keyset, share) => startConsensus() }); eon.start();
 */
export function createEonKeysetDriver(options: EonKeysetOptions): EonKeysetDriver {
  const retryMs = options.retryMs ?? 1000;
  const dealMs = options.dealMs ?? 30_000;
  const complaintMs = options.complaintMs ?? 10_000;
  const log = options.log ?? (() => {});
  const session = eonKeygenSessionOf(options.chainId, options.eon, options.validators);
  const header = { chainId: options.chainId, eon: options.eon, index: options.self };
  const dealingSeed = Uint8Array.from(
    Buffer.from(
      hkdfSync(
        'sha256',
        options.secretKey,
        Buffer.from(`chain ${options.chainId}`),
        'palisade/eon-dealing/v1',
        32,
      ),
    ),
  );
  let machine: EonKeygenMachine | undefined;
  let startedMs: number | undefined;
  let digest: Uint8Array | undefined;
  let sent: EonKeygenOutput[] = [];
  let state: EonKeysetStatus['state'] = 'running';
  let keyset: EonKeyset | undefined;
  let attestations: readonly Uint8Array[] = [];
  let commitment: readonly Uint8Array[] = [];
  let disqualified: EonKeysetStatus['disqualified'] = [];
  let running = false;
  const timers: (() => void)[] = [];
  const lastAnswerMs = new Map<PeerId, number>();
  const answersTo = new Map<PeerId, number>();
  /** Whether a sealed keyset file was found (undefined: not looked yet). */
  let loaded: boolean | undefined;

  const later = (delayMs: number, callback: () => void) => {
    timers.push(options.clock.setTimer(delayMs, callback));
  };

  const transmit = (output: EonKeygenOutput, only?: PeerId) => {
    if (output.to === 'all') {
      if (only === undefined) options.broadcast(output.bytes);
      else options.send(only, output.bytes);
    } else if (output.recipient !== options.self && (only === undefined || only === output.recipient))
      options.send(output.recipient, output.bytes);
  };

  const agree = (agreedKeyset: EonKeyset, secretShare: bigint, sealedAttestations: readonly Uint8Array[]) => {
    state = 'agreed';
    keyset = agreedKeyset;
    attestations = sealedAttestations;
    log('info', 'eon keyset agreed', {
      eon: options.eon,
      eonPublicKey: toHex(agreedKeyset.eonPublicKey.toBytes(true)),
      qualified: agreedKeyset.qualified,
    });
    options.onAgreed(agreedKeyset, secretShare);
  };

  const checkAgreed = () => {
    if (machine === undefined || state !== 'running') return;
    if (machine.phase === 'done') {
      try {
        const own = machine.result();
        if (own !== undefined)
          disqualified = own.disqualified.map((d) => ({ dealer: d.dealer, reason: d.reason }));
      } catch (error) {
        if (!(error instanceof EonKeygenError)) throw error;
        disqualified = error.culprits.map((dealer) => ({ dealer, reason: error.code }));
      }
    }
    const agreement = machine.agreed();
    if (agreement === undefined) return;
    options.store.write(
      sealEonKeyset(
        {
          secretShare: agreement.secretShare,
          qualified: agreement.keyset.qualified,
          commitment: agreement.commitment,
          attestations: agreement.attestations,
          sent,
        },
        options.secretKey,
        header,
      ),
    );
    commitment = agreement.commitment.map((point) => point.toBytes(true));
    if (disqualified.length > 0) log('warn', 'eon DKG left out dealers', { eon: options.eon, disqualified });
    agree(agreement.keyset, agreement.secretShare, agreement.attestations);
  };

  const dispatch = (outputs: readonly EonKeygenOutput[]) => {
    for (const output of outputs) {
      if (sent.length < MAX_SENT) sent.push(output);
      transmit(output);
    }
    checkAgreed();
  };

  const retransmit = () => {
    if (!running || state !== 'running') return;
    for (const output of sent) transmit(output);
    later(retryMs, retransmit);
  };

  /** A peer still in the DKG we finished: what it needs from us, at most once per retry interval. */
  const answerStraggler = (from: PeerId) => {
    const now = options.clock.now();
    const answered = answersTo.get(from) ?? 0;
    // Two peers that both agreed would otherwise answer each other's answers for ever.
    if (answered >= MAX_STRAGGLER_ANSWERS) return;
    if (now - (lastAnswerMs.get(from) ?? Number.NEGATIVE_INFINITY) < retryMs) return;
    lastAnswerMs.set(from, now);
    answersTo.set(from, answered + 1);
    for (const output of sent) transmit(output, from);
    for (const bytes of attestations) options.send(from, bytes);
  };

  const startDkg = () => {
    machine = createEonKeygenMachine(session, { index: options.self, signer: options.signer, dealingSeed });
    startedMs = options.clock.now();
    digest = machine.sessionDigest;
    log('info', 'eon DKG started', { eon: options.eon, validators: options.validators.length });
    dispatch(machine.start());
    later(dealMs, () => {
      if (running && state === 'running') dispatch(machine!.advance('deals'));
    });
    later(dealMs + complaintMs, () => {
      if (!running || state !== 'running') return;
      dispatch(machine!.advance('complaints'));
      // Past both deadlines without agreement: more than f validators failed or disagree. Keep
      // re-sending (a peer that comes back can still complete it) and say so.
      if (state === 'running')
        log('warn', 'eon DKG past its deadlines without agreement: waiting for more validators', {
          eon: options.eon,
          waitingFor: machine!.waitingFor(),
          disqualified,
        });
    });
    later(retryMs, retransmit);
  };

  return {
    load() {
      if (loaded !== undefined) return loaded;
      const text = options.store.read();
      loaded = text !== undefined;
      if (text === undefined) return false;
      const { file, keyset: opened } = openEonKeyset(text, options.secretKey, header, session);
      sent = [...file.sent];
      digest = sent.length > 0 ? eonKeygenMessageSession(sent[0]!.bytes) : undefined;
      commitment = file.commitment.map((point) => point.toBytes(true));
      agree(opened, file.secretShare, file.attestations);
      return true;
    },

    start() {
      if (running) return;
      running = true;
      if (!this.load()) startDkg();
    },

    stop() {
      running = false;
      for (const cancel of timers.splice(0, timers.length)) cancel();
    },

    receive(from, message) {
      if (!running || from === options.self) return;
      try {
        const sessionOf = eonKeygenMessageSession(message);
        if (digest !== undefined && !bytesEqual(sessionOf, digest)) return;
        if (state === 'agreed' || machine === undefined) {
          answerStraggler(from);
          return;
        }
        dispatch(machine.receive(message));
      } catch (error) {
        // Malformed, forged or out-of-session input from a peer changes nothing here.
        log('warn', 'dropped eon DKG message', { peer: from, reason: (error as Error).message });
      }
    },

    status: () => ({
      state,
      eon: options.eon,
      keyset,
      disqualified: [...disqualified],
      attestations,
      commitment,
    }),

    session: () => {
      if (machine === undefined || startedMs === undefined || state !== 'running') return undefined;
      return {
        eon: options.eon,
        startedMs,
        deadlinesMs: dealMs + complaintMs,
        phase: machine.phase === 'done' ? 'attesting' : machine.phase,
        waitingFor: machine.waitingFor(),
      };
    },
  };
}
