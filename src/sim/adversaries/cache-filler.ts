/**
 * Cache filler: in every view it leads it proposes, instead of its engine's block, validly signed
 * blocks that can never be finalized: one at height 2^50 and, for every later view it leads in the
 * window honest validators accept (64 views ahead), one on an unknown parent with a large payload.
 * Against an engine that stored every correctly signed proposal, these filled the block cache
 * (issue 10, attack 1). Honest validators must refuse the implausible ones, hold the others only
 * with their view, and keep finalizing; the harness checks that their caches stay bounded.
 */
import { type Block, ProposalCodec, VoteKind } from '../../codec/consensus.ts';
import { MAX_VIEWS_AHEAD } from '../../consensus/engine.ts';
import { leaderOf } from '../../consensus/validators.ts';
import { blockDigest } from '../../consensus/votes.ts';
import { simExtension } from '../app.ts';
import { type Adversary, type AdversaryContext, classify, forge } from './common.ts';

/** Payload of the unknown-parent proposals: large, so a cache holding them shows in bytes too. */
const FILLER_PAYLOAD_BYTES = 64 * 1024;

function propose(context: AdversaryContext, block: Block): Uint8Array {
  // The extension the simulated application expects of us, so only the block itself is wrong.
  const extension = simExtension(context.self, block.view);
  const vote = forge(context, VoteKind.notarize, block.view, blockDigest(block), extension);
  return ProposalCodec.encode({ block, vote });
}

export const cacheFiller: Adversary = (inner, context) => {
  let sentAhead = 0;
  return {
    send: (to, message) => inner.send(to, message),
    onMessage: (handler) => inner.onMessage(handler),
    broadcast(message) {
      const outgoing = classify(message);
      if (outgoing.type !== 'proposal') {
        inner.broadcast(message);
        return;
      }
      const { view, height } = outgoing.proposal.block;
      inner.broadcast(
        propose(context, {
          view,
          height: 2 ** 50,
          parentView: view - 1,
          parent: context.rng.bytes(32),
          proposer: context.self,
          payload: context.rng.bytes(32),
        }),
      );
      for (let ahead = Math.max(view + 1, sentAhead + 1); ahead < view + MAX_VIEWS_AHEAD; ahead++) {
        if (leaderOf(context.validators, ahead) !== context.self) continue;
        inner.broadcast(
          propose(context, {
            view: ahead,
            height: height + 1,
            parentView: ahead - 1,
            parent: context.rng.bytes(32),
            proposer: context.self,
            payload: new Uint8Array(FILLER_PAYLOAD_BYTES).fill(ahead & 0xff),
          }),
        );
        sentAhead = ahead;
      }
    },
  };
};
