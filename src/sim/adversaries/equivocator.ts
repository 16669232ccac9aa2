/**
 * Equivocator: shows one half of the validators one thing and the other half another. As leader
 * it proposes two different blocks; as a voter it notarizes and finalizes the real block to one
 * half and a made-up digest to the other.
 */
import { ProposalCodec, VoteCodec, VoteKind } from '../../codec/consensus.ts';
import { blockDigest } from '../../consensus/votes.ts';
import { type Adversary, classify, forge, halves, sendAll } from './common.ts';

export const equivocator: Adversary = (inner, context) => ({
  send: (to, message) => inner.send(to, message),
  onMessage: (handler) => inner.onMessage(handler),
  broadcast(message) {
    const outgoing = classify(message);
    const [first, second] = halves(context);
    if (outgoing.type === 'proposal') {
      const { block, vote } = outgoing.proposal;
      const twin = { ...block, payload: context.rng.bytes(block.payload.length) };
      const twinVote = forge(context, VoteKind.notarize, block.view, blockDigest(twin), vote.extension);
      sendAll(inner, first, message);
      sendAll(inner, second, ProposalCodec.encode({ block: twin, vote: twinVote }));
      return;
    }
    if (outgoing.type === 'vote' && outgoing.vote.kind !== VoteKind.nullify) {
      const { vote } = outgoing;
      sendAll(inner, first, message);
      sendAll(
        inner,
        second,
        VoteCodec.encode(
          forge(context, vote.kind as 0 | 2, vote.view, context.rng.bytes(32), vote.extension),
        ),
      );
      return;
    }
    inner.broadcast(message);
  },
});
