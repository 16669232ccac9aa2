/**
 * Replayer: records what it receives and sends old messages again, to random validators at
 * random later times, as if they were its own. Honest validators must ignore stale and
 * duplicate messages and refuse votes relayed under the wrong sender.
 */
import type { PeerId } from '../../runtime/types.ts';
import { type Adversary, otherPeers } from './common.ts';

/** Messages remembered for replay; the oldest is forgotten first. */
const REPLAY_BUFFER = 256;

export const replayer: Adversary = (inner, context) => {
  const peers = otherPeers(context);
  const seen: Uint8Array[] = [];
  const replay = () => {
    if (seen.length === 0) return;
    const message = seen[context.rng.nextInt(seen.length)]!;
    const to = peers[context.rng.nextInt(peers.length)]!;
    context.clock.setTimer(context.rng.nextInt(200), () => inner.send(to, message));
  };
  return {
    send: (to, message) => inner.send(to, message),
    broadcast(message) {
      inner.broadcast(message);
      replay();
      replay();
    },
    onMessage(handler) {
      inner.onMessage((from: PeerId, message: Uint8Array) => {
        if (seen.length >= REPLAY_BUFFER) seen.splice(context.rng.nextInt(seen.length), 1);
        seen.push(message);
        handler(from, message);
      });
    },
  };
};
