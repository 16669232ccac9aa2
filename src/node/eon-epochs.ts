/**
 * The eon keyset follows the validator epochs (fair ordering, issue 14): one eon DKG per window of
 * src/chain/eon-schedule.ts, among that window's own validators, driven by the executed chain. The
 * I/O is src/node/eon-keyset.ts's driver (one per eon, its session named by the eon and the
 * window's keys); this file decides which eons run, routes their messages and hands the results
 * to the application.
 *
 * When. After every executed block at height X (window w), for the current and the next window:
 * once the block rule counts that window's set as settled (`windowSetKeys`: the change for its
 * boundary is pending, or none can be scheduled any more, at the latest 16 blocks before it), a
 * keyper of it starts that eon's DKG unless one runs. So the next eon's DKG starts as soon as its
 * set is known, and always before the boundary; a window whose eon was not recorded in time (more
 * than f keypers were down) keeps its DKG running into the window, and its record applies from the
 * block after it (src/chain/eon-schedule.ts). No height ever waits for it: the chain runs on.
 *
 * Agreement. The driver seals the share, QUAL, commitment and attestations into
 * `eon-share-<eon>.key` (durably, src/node/eon-key-file.ts) before `onAgreed`, which gives the
 * application our share and the `EonActivation` record its leaders put in a block until one is
 * finalized. A validator that is not a keyper of a window runs nothing for it (a removed one is
 * never asked again; an added one is a keyper from its first window on).
 *
 * Transport. A keyper's index is its index in the window's set; messages go to the keypers only,
 * each to the transport peer of its key (`peerOf`). A message from a peer whose key is no keyper
 * of the session it names is dropped.
 *
 * Restart. The driver of a window opens its key file, if there is one (agreed at once, the share
 * to the application again); a keyper without one runs the DKG again, and its peers, still running
 * drivers for the current and next windows, answer it from what they sent. Drivers of windows
 * before the previous one stop, and their key files (never the genesis eon's, which the node opens
 * at every start) are deleted: no block of theirs can still need opening.
 */

import {
  type CommittedSet,
  eonActivationOf,
  eonOfWindow,
  eonWindowOf,
  type ScheduledEon,
  windowSetKeys,
} from '../chain/eon-schedule.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import type { Ed25519Signer } from '../crypto/ed25519.ts';
import { eonKeygenMessageSession, eonKeygenSessionDigest } from '../crypto/shutter/eon-keygen.ts';
import { decodeG2 } from '../crypto/shutter/ibe.ts';
import type { Clock, PeerId } from '../runtime/types.ts';
import {
  createEonKeysetDriver,
  type EonKeygenProgress,
  type EonKeysetDriver,
  type EonKeysetStore,
  eonKeygenSessionOf,
} from './eon-keyset.ts';

export interface EonEpochsOptions {
  chainId: number;
  genesisEon: number;
  /** The validator-set epoch length E. */
  epochBlocks: number;
  /** Our identity key: we are a keyper of every window whose set holds it. */
  publicKey: Uint8Array;
  signer: Ed25519Signer;
  secretKey: Uint8Array;
  clock: Clock;
  /** The sealed key file of eon `eon`. */
  store(eon: number): EonKeysetStore;
  /** Deletes eon `eon`'s key file, if any. */
  forget(eon: number): void;
  peerOf(publicKey: Uint8Array): PeerId | undefined;
  send(to: PeerId, message: Uint8Array): void;
  /** An eon's keyset agreed (or opened from its file): its record, and our share of it. */
  onAgreed(eon: number, activation: Uint8Array, secretShare: bigint): void;
  log?: (level: 'info' | 'warn', message: string, details?: Record<string, unknown>) => void;
  retryMs?: number;
  dealMs?: number;
  complaintMs?: number;
}

export interface EonEpochStatus {
  eon: number;
  window: number;
  state: 'running' | 'agreed';
  keypers: number;
}

export interface EonEpochs {
  /** After block `height` executed, with the committed set and the recorded eons it leaves. */
  executed(height: number, committed: CommittedSet | undefined, recorded: readonly ScheduledEon[]): void;
  /** A sealed eon DKG message: true when it names one of our later eons' sessions (handled here). */
  receive(from: PeerId, message: Uint8Array): boolean;
  status(): EonEpochStatus[];
  /** The windows' DKGs still running (for the monitor), keypers translated to transport peers. */
  sessions(): EonKeygenProgress[];
  stop(): void;
}

interface Running {
  readonly eon: number;
  readonly window: number;
  readonly keys: readonly Uint8Array[];
  readonly digest: Uint8Array;
  readonly driver: EonKeysetDriver;
}

export function createEonEpochs(options: EonEpochsOptions): EonEpochs {
  const log = options.log ?? (() => {});
  const running = new Map<number, Running>();
  let stopped = false;

  const startWindow = (window: number, keys: readonly Uint8Array[]) => {
    const eon = eonOfWindow(options.genesisEon, window);
    const self = keys.findIndex((key) => bytesEqual(key, options.publicKey));
    if (self < 0) return;
    const session = eonKeygenSessionOf(options.chainId, eon, keys);
    const toKeyper = (to: PeerId, message: Uint8Array) => {
      const peer = options.peerOf(keys[to]!);
      if (peer !== undefined) options.send(peer, message);
    };
    let driver: EonKeysetDriver;
    driver = createEonKeysetDriver({
      chainId: options.chainId,
      eon,
      self,
      validators: keys,
      signer: options.signer,
      secretKey: options.secretKey,
      store: options.store(eon),
      clock: options.clock,
      send: toKeyper,
      broadcast: (message) => {
        for (let i = 0; i < keys.length; i++) if (i !== self) toKeyper(i, message);
      },
      onAgreed: (keyset, secretShare) => {
        const status = driver.status();
        const activation = eonActivationOf(
          eon,
          keyset.qualified,
          status.commitment.map((bytes) => decodeG2(bytes, 'commitment')),
          status.attestations,
        );
        options.onAgreed(eon, activation, secretShare);
      },
      log,
      ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
      ...(options.dealMs === undefined ? {} : { dealMs: options.dealMs }),
      ...(options.complaintMs === undefined ? {} : { complaintMs: options.complaintMs }),
    });
    running.set(window, { eon, window, keys, digest: eonKeygenSessionDigest(session), driver });
    log('info', 'eon of the next window: DKG among its validators', { eon, window, keypers: keys.length });
    try {
      driver.start();
    } catch (error) {
      // A key file that fails its checks: this eon runs without us (its other keypers suffice).
      log('warn', 'eon key file refused', { eon, reason: (error as Error).message });
      driver.stop();
    }
  };

  return {
    executed(height, committed, recorded) {
      if (stopped || committed === undefined) return;
      const current = eonWindowOf(options.epochBlocks, height);
      for (const window of [current, current + 1]) {
        if (window < 0 || running.has(window)) continue;
        // The last block of a window is opened by the next window's set: nothing left to make.
        if (window === current && height >= (window + 1) * options.epochBlocks - 1) continue;
        const keys = windowSetKeys(options.epochBlocks, committed, height, window);
        if (keys === undefined) continue;
        // A recorded eon we were no keyper of, or hold a file of, needs nothing from us but the file.
        const entry = recorded.find((e) => e.window === window);
        startWindow(window, entry?.validators ?? keys);
      }
      for (const [window, entry] of [...running])
        if (window < current - 1) {
          entry.driver.stop();
          running.delete(window);
          options.forget(entry.eon);
          log('info', 'eon of a past window pruned', { eon: entry.eon, window });
        }
    },

    receive(from, message) {
      let digest: Uint8Array;
      try {
        digest = eonKeygenMessageSession(message);
      } catch {
        return false;
      }
      for (const entry of running.values()) {
        if (!bytesEqual(entry.digest, digest)) continue;
        const index = entry.keys.findIndex((key) => options.peerOf(key) === from);
        if (index >= 0) entry.driver.receive(index, message);
        return true;
      }
      return false;
    },

    sessions: () =>
      [...running.values()].flatMap((entry) => {
        const progress = entry.driver.session();
        if (progress === undefined) return [];
        const peers = (keypers: readonly number[]) =>
          keypers.flatMap((keyper) => options.peerOf(entry.keys[keyper]!) ?? []);
        const waiting = progress.waitingFor;
        return [
          {
            ...progress,
            waitingFor: {
              deals: peers(waiting.deals),
              shares: peers(waiting.shares),
              complaints: peers(waiting.complaints),
              attestations: peers(waiting.attestations),
            },
          },
        ];
      }),
    status: () =>
      [...running.values()].map((entry) => ({
        eon: entry.eon,
        window: entry.window,
        state: entry.driver.status().state,
        keypers: entry.keys.length,
      })),

    stop() {
      stopped = true;
      for (const entry of running.values()) entry.driver.stop();
    },
  };
}
