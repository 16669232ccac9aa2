/**
 * Simplex BFT consensus (Chan & Pass, "Simplex Consensus: A Simple and Fast Consensus Protocol",
 * TCC 2023), as Commonware's `simplex` implements it. This header is the protocol's specification;
 * the code cites its sections as "spec §n".
 *
 * §1 Setting. n validators with Ed25519 keys, indexed 0..n−1; at most f = ⌊(n−1)/3⌋ Byzantine.
 *    A quorum is n − f (2f + 1 when n = 3f + 1). Messages are authenticated point to point and
 *    may be delayed, lost or reordered; safety never depends on timing.
 *
 *    Validator epochs (epochs.ts): the set may change at an epoch boundary; every rule below is
 *    then about the set of the view's epoch (its n, f, quorum, signer indices and leader), the
 *    peers are a directory of every key seen (genesis first), and a validator outside a view's
 *    set signs nothing in it. The application schedules epoch e + 1 from the view after the
 *    finalized boundary block (SimplexEngine.scheduleEpoch); sets differ by one validator, so
 *    quorums of consecutive epochs intersect in an honest validator (src/execution/validator-set.ts).
 *
 * §2 Views and leaders. Views are numbered from 1 (view 0 is genesis, notarized and final).
 *    The leader of view v is v mod n. A validator is in one view at a time and only moves forward.
 *
 * §3 Votes. In view v a validator signs at most one of each:
 *    - notarize(v, d): for the first valid proposal d of v's leader (the leader's proposal is
 *      itself its notarize vote);
 *    - nullify(v): when its timer for v fires before it has seen a notarization of v;
 *    - finalize(v, d): when it sees a notarization of (v, d), unless it signed nullify(v).
 *    The one safety rule: never finalize a view you nullified (and so never nullify after
 *    finalizing, since finalizing happens on leaving the view). Every vote is journaled and synced
 *    to durable storage before it leaves the process, and a restarted validator reloads the
 *    journal, so it never signs anything contradicting what it released before a crash.
 *
 * §4 Certificates. A quorum of distinct, valid votes of one kind for one (v, d) is a
 *    notarization, nullification or finalization. Whoever assembles one broadcasts it. On seeing a
 *    notarization or nullification (or finalization) of any view w ≥ its current view, a
 *    validator enters view w + 1. A finalization of (v, d) finalizes d and all its ancestors.
 *    Votes are verified lazily, in a batch, once enough of them agree to form a quorum.
 *
 * §5 Proposals. The leader of v proposes a block whose parent is the block of the highest view
 *    p < v that has a notarization (or finalization, or is the finalized tip) such that every view
 *    strictly between p and v has a nullification. A validator notarizes a proposal only if it
 *    checks the same: parent notarized, every skipped view nullified, height = parent height + 1,
 *    parent not below the finalized tip, and the application accepts the payload. The application
 *    may answer that it cannot judge yet (its execution is behind): then the validator neither votes
 *    nor blames the leader, and judges again after its next finalization while the view lasts.
 *    Any number of skipped views is allowed. A validator holds the nullified views above its
 *    finalized tip as ranges (a run of thousands costs one), journals every nullification with its
 *    next vote (§7), and asks for the ones it lacks a bounded batch at a time; nothing needs the
 *    nullifications in memory as view state. Safety is unchanged: the check is the same predicate
 *    over the same verified certificates, only stored compactly, and a view's nullification is a
 *    quorum's signatures whichever way it arrives. Before anything of a proposal is held, its
 *    height must be plausible: above the tip's, at most one per view since the tip, and exactly
 *    the parent's + 1 when the parent is held; a proposal that passes is held with its view (at most
 *    one per view, in the window of views accepted) and joins the block cache only once it is
 *    checked as above or a quorum certifies it, so a Byzantine leader cannot fill the cache.
 *
 * §6 Timers. On entering view v: the leader timeout (no proposal yet → nullify) and the
 *    notarization timeout (no notarization yet → nullify). Both back off exponentially with the
 *    number k of consecutive nullified, uncertified views just below v (×2^min(k, 3)), so they
 *    outgrow an unknown network delay, and return to their base after any certified view; k is a
 *    function of the certificates held, so a restart resumes it. After nullifying, a validator
 *    rebroadcasts its nullify and the certificate that brought it into v every retry interval, so
 *    validators that missed messages rejoin the view (Simplex's "forward the certificate"). That
 *    certificate is journaled ahead of the votes of v (§7), so a restarted validator still forwards it.
 *
 * §7 Resolver. A validator missing a block it needs (a parent to check a proposal, a block on
 *    the path from a finalization down to its finalized tip) asks peers in turn by digest for it and
 *    some ancestors. Answers are accepted only by hash linkage from a digest it asked for. A
 *    validator missing a certificate asks peers in turn by view until the kind it needs arrives: a
 *    view may have both a notarization and a nullification, and holding one is not the other. Every
 *    certificate above its finalized tip that a validator saw or formed, and the block its notarize
 *    vote signs, are journaled ahead of its next vote (so synced with it), recovered on restart,
 *    served to block and certificate requests, and pruned with the vote journal as the tip moves.
 *
 * §8 Delivery. Finalized blocks are written and synced with their proof, then handed to the
 *    application in height order, exactly once: on restart the engine resumes from the height the
 *    application reports as processed.
 *
 * §9 Evidence and hygiene. Two conflicting votes of one validator in one view (two notarizes or
 *    two finalizes of different digests, or a nullify and a finalize) are kept as evidence anyone
 *    can verify; it is persisted (so it is served after a restart) and bounded: the first 16 per
 *    offender, and beyond them a count. Messages that are malformed, oversized, wrongly signed or
 *    out of range are dropped and counted per peer with a reason; so are block and certificate
 *    requests beyond the peer's answer budget (requests and bytes per second). Every buffer is
 *    bounded, and every cache is pruned by view as well as by height.
 */

export { certificateFromVotes, verifyCertificate } from './certificate.ts';
export type {
  Application,
  BlockContext,
  EngineConfig,
  EngineObserver,
  EngineStatus,
  EngineTimeouts,
  FinalizedBlock,
} from './engine.ts';
export { createEngine, DropReason, SimplexEngine } from './engine.ts';
export {
  createValidatorSchedule,
  type ValidatorEpoch,
  type ValidatorSchedule,
  verifyCertificateInEpoch,
  verifyVoteInEpoch,
} from './epochs.ts';
export { conflictOf, verifyEvidence } from './evidence.ts';
export { createValidatorSet, leaderOf, type ValidatorSet } from './validators.ts';
export {
  blockDigest,
  genesisDigest,
  type SignatureVerifier,
  signVote,
  verifyVote,
  ZERO_DIGEST,
} from './votes.ts';
