/**
 * What a validator has seen of its peers' behaviour in threshold signing, shared by every
 * session and every epoch's engine (src/interop/threshold-signing.ts), so that what one session
 * learned spares the next one the same deadline.
 *
 * - As signers: a validator chosen for an attempt that did not deliver its share by the deadline,
 *   or delivered one that fails RFC 9591 §5.4, is suspect: coordinators choose t others when they
 *   have them. The way back: a verified share clears it at once (it is chosen when there are too
 *   few others), and otherwise suspicion expires after `suspectMs`, doubled for each repeat
 *   fault in a row (at most 64×), after which it is tried again.
 * - As coordinators: a validator whose coordinator turn passed with no request or invite from it
 *   (it is down) is skipped at once in later sessions: the next validator takes over without
 *   waiting out its turn. The way back: any request or invite from it clears it.
 *
 * Nothing here is consensus-critical: it orders whom to ask, never whose signature counts.
 */
export interface SignerHealth {
  signerFault(validator: number, nowMs: number): void;
  signerDelivered(validator: number): void;
  /** Not recently at fault as a signer. */
  signerTrusted(validator: number, nowMs: number): boolean;
  coordinatorSilent(validator: number): void;
  coordinatorHeard(validator: number): void;
  coordinatorSuspected(validator: number): boolean;
  /** Validators suspect now as signers, ascending (for status pages; never consensus). */
  suspectedSigners(nowMs: number): number[];
}

const MAX_BACKOFF = 64;

/** @example const health = createSignerHealth(); createThresholdSigner({ ...options, health }); */
export function createSignerHealth(suspectMs = 60_000): SignerHealth {
  const suspectUntil = new Map<number, number>();
  const strikes = new Map<number, number>();
  const silentCoordinators = new Set<number>();
  return {
    signerFault(validator, nowMs) {
      const count = Math.min((strikes.get(validator) ?? 0) + 1, 1 + Math.log2(MAX_BACKOFF));
      strikes.set(validator, count);
      suspectUntil.set(validator, nowMs + suspectMs * 2 ** (count - 1));
    },
    signerDelivered(validator) {
      suspectUntil.delete(validator);
      strikes.delete(validator);
    },
    signerTrusted: (validator, nowMs) => (suspectUntil.get(validator) ?? 0) <= nowMs,
    coordinatorSilent(validator) {
      silentCoordinators.add(validator);
    },
    coordinatorHeard(validator) {
      silentCoordinators.delete(validator);
    },
    coordinatorSuspected: (validator) => silentCoordinators.has(validator),
    suspectedSigners: (nowMs) =>
      [...suspectUntil]
        .filter(([, until]) => until > nowMs)
        .map(([validator]) => validator)
        .sort((a, b) => a - b),
  };
}
