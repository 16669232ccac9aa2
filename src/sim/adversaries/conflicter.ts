/**
 * Conflicter: votes for two payloads at once. Beside every notarize or finalize its engine sends,
 * it sends everyone a second one for a different digest; beside every notarize it also signs a
 * finalize for the view it is about to be asked to nullify. Honest validators must keep the first
 * and record the pair as evidence.
 */
import { VoteCodec, VoteKind } from '../../codec/consensus.ts';
import { type Adversary, classify, forge } from './common.ts';

export const conflicter: Adversary = (inner, context) => ({
  send: (to, message) => inner.send(to, message),
  onMessage: (handler) => inner.onMessage(handler),
  broadcast(message) {
    inner.broadcast(message);
    const outgoing = classify(message);
    const vote =
      outgoing.type === 'vote'
        ? outgoing.vote
        : outgoing.type === 'proposal'
          ? outgoing.proposal.vote
          : undefined;
    if (vote === undefined) return;
    if (vote.kind === VoteKind.nullify) {
      inner.broadcast(
        VoteCodec.encode(forge(context, VoteKind.finalize, vote.view, context.rng.bytes(32), vote.extension)),
      );
      return;
    }
    inner.broadcast(
      VoteCodec.encode(forge(context, vote.kind as 0 | 2, vote.view, context.rng.bytes(32), vote.extension)),
    );
  },
});
