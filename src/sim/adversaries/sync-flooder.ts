/**
 * Sync flooder: beside everything its engine sends, it asks every peer again and again for the
 * blocks (32 at a time) and certificates it has seen, far more often than any honest validator
 * would. Against an engine that answered every request, each 40-byte request made a peer read and
 * send up to 32 blocks (issue 10, attack 5). Honest validators must answer only within the
 * per-peer budget, count the rest against this peer and carry on; the harness checks the budget.
 */
import {
  CertificateRequestCodec,
  MAX_SYNC_BLOCKS,
  SyncRequestCodec,
  VoteCodec,
  VoteKind,
} from '../../codec/consensus.ts';
import { peekTag } from '../../codec/message.ts';
import type { PeerId } from '../../runtime/types.ts';
import { type Adversary, otherPeers } from './common.ts';

/** Requests of each kind sent to each peer whenever the engine broadcasts. */
export const FLOOD_REQUESTS_PER_BROADCAST = 10;

export const syncFlooder: Adversary = (inner, context) => {
  const peers = otherPeers(context);
  let digest: Uint8Array | undefined;
  let view = 1;
  return {
    send: (to, message) => inner.send(to, message),
    broadcast(message) {
      inner.broadcast(message);
      for (const peer of peers) {
        for (let i = 0; i < FLOOD_REQUESTS_PER_BROADCAST; i++) {
          if (digest !== undefined)
            inner.send(peer, SyncRequestCodec.encode({ digest, count: MAX_SYNC_BLOCKS }));
          inner.send(peer, CertificateRequestCodec.encode({ view: Math.max(1, view - (i % 4)) }));
        }
      }
    },
    onMessage(handler) {
      inner.onMessage((from: PeerId, message: Uint8Array) => {
        // Learns digests of real blocks from the notarize votes it receives.
        try {
          if (peekTag(message) === VoteCodec.tag) {
            const vote = VoteCodec.decode(message);
            if (vote.kind === VoteKind.notarize) digest = vote.digest;
            view = Math.max(view, vote.view);
          }
        } catch {
          // Not ours to judge: the engine drops it and counts it.
        }
        handler(from, message);
      });
    },
  };
};
