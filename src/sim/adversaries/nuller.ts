/**
 * Nuller: never helps a block through. Every proposal, notarize or finalize its engine would send
 * becomes a nullify of that view, so it votes to skip every view it takes part in.
 */
import { VoteCodec, VoteKind } from '../../codec/consensus.ts';
import { ZERO_DIGEST } from '../../consensus/votes.ts';
import { type Adversary, classify, forge } from './common.ts';

export const nuller: Adversary = (inner, context) => ({
  send: (to, message) => inner.send(to, message),
  onMessage: (handler) => inner.onMessage(handler),
  broadcast(message) {
    const outgoing = classify(message);
    const view =
      outgoing.type === 'proposal'
        ? outgoing.proposal.block.view
        : outgoing.type === 'vote'
          ? outgoing.vote.view
          : undefined;
    if (view === undefined) {
      inner.broadcast(message);
      return;
    }
    inner.broadcast(VoteCodec.encode(forge(context, VoteKind.nullify, view, ZERO_DIGEST, new Uint8Array(0))));
  },
});
