/**
 * Withholder: as leader it proposes late (up to one and a half leader timeouts) and only to a
 * random subset of the validators, so views it leads are often nullified and some validators must
 * fetch its block from others.
 */
import { type Adversary, classify, otherPeers, sendAll } from './common.ts';

export const withholder: Adversary = (inner, context) => ({
  send: (to, message) => inner.send(to, message),
  onMessage: (handler) => inner.onMessage(handler),
  broadcast(message) {
    if (classify(message).type !== 'proposal') {
      inner.broadcast(message);
      return;
    }
    const subset = otherPeers(context).filter(() => context.rng.nextInt(2) === 0);
    const delayMs = context.rng.nextInt(Math.floor((context.leaderMs * 3) / 2) + 1);
    context.clock.setTimer(delayMs, () => sendAll(inner, subset, message));
  },
});
