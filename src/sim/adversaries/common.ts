/**
 * What every adversary shares. A Byzantine validator runs the honest engine behind a network
 * wrapper that rewrites what it sends (and may watch what it receives): the engine supplies the
 * protocol's timing and the wrapper adds the misbehaviour, signed with the validator's real key.
 */
import {
  type Proposal,
  ProposalCodec,
  type Vote,
  VoteCodec,
  type VoteKindValue,
} from '../../codec/consensus.ts';
import { peekTag } from '../../codec/message.ts';
import type { ValidatorSet } from '../../consensus/validators.ts';
import { signVote } from '../../consensus/votes.ts';
import type { Ed25519Signer } from '../../crypto/ed25519.ts';
import type { SimRng } from '../../runtime/sim/rng.ts';
import type { Clock, Network, PeerId } from '../../runtime/types.ts';

export interface AdversaryContext {
  readonly self: number;
  readonly signer: Ed25519Signer;
  readonly chainId: number;
  readonly validators: ValidatorSet;
  readonly rng: SimRng;
  readonly clock: Clock;
  readonly leaderMs: number;
}

/** Wraps the network of one Byzantine validator's engine. */
export type Adversary = (inner: Network, context: AdversaryContext) => Network;

export type Outgoing =
  | { type: 'vote'; vote: Vote }
  | { type: 'proposal'; proposal: Proposal }
  | { type: 'other' };

/** Decodes a message our own engine produced (so it is well formed). */
export function classify(message: Uint8Array): Outgoing {
  const tag = peekTag(message);
  if (tag === VoteCodec.tag) return { type: 'vote', vote: VoteCodec.decode(message) };
  if (tag === ProposalCodec.tag) return { type: 'proposal', proposal: ProposalCodec.decode(message) };
  return { type: 'other' };
}

export function otherPeers(context: AdversaryContext): PeerId[] {
  const peers: PeerId[] = [];
  for (let i = 0; i < context.validators.size; i++) if (i !== context.self) peers.push(i);
  return peers;
}

/** Splits the other validators into two random halves. */
export function halves(context: AdversaryContext): [PeerId[], PeerId[]] {
  const first: PeerId[] = [];
  const second: PeerId[] = [];
  for (const peer of otherPeers(context)) (context.rng.nextInt(2) === 0 ? first : second).push(peer);
  return [first, second];
}

/** A vote of ours of `kind` for `view` and `digest`, signed with the real key. */
export function forge(
  context: AdversaryContext,
  kind: VoteKindValue,
  view: number,
  digest: Uint8Array,
  extension: Uint8Array,
): Vote {
  return signVote(context.signer, context.chainId, {
    kind,
    view,
    digest,
    signerIndex: context.self,
    extension,
  });
}

export function sendAll(inner: Network, peers: readonly PeerId[], message: Uint8Array): void {
  for (const peer of peers) inner.send(peer, message);
}
