/**
 * The invariants checked on every simulated run, over what honest validators did and saw:
 *
 * 1. agreement: no two honest validators finalize different blocks at one height (so finalized
 *    chains, which are contiguous, are prefixes of each other);
 * 2. at most one notarization per view;
 * 3. no view both nullified and finalized;
 * 4. every finalization has a notarization of the same block;
 * 5. finalized ancestry skips only nullified views;
 * 6. no honest validator releases conflicting votes, before or after a restart;
 * 7. every certificate has a quorum of distinct valid signers;
 * 8. evidence names only Byzantine validators;
 * 9. honest application state hashes agree at every height (and delivery has no gap or repeat).
 *
 * Liveness (10) is judged by the harness, which knows when faults heal.
 */
import { type Block, type Certificate, type Evidence, type Vote, VoteKind } from '../codec/consensus.ts';
import { verifyCertificate } from '../consensus/certificate.ts';
import { verifyEvidence } from '../consensus/evidence.ts';
import type { ValidatorSet } from '../consensus/validators.ts';
import type { SignatureVerifier } from '../consensus/votes.ts';
import { toHex } from '../crypto/bytes.ts';

export interface Violation {
  readonly invariant: string;
  /** The first occurrence. */
  readonly detail: string;
  occurrences: number;
}

/** Distinct invariants reported per run (there are fewer than this). */
const MAX_VIOLATIONS = 20;

export class InvariantChecker {
  readonly #validators: ValidatorSet;
  readonly #chainId: number;
  readonly #verifier: SignatureVerifier;
  readonly #byzantine: ReadonlySet<number>;
  readonly violations: Violation[] = [];
  readonly #finalizedAt = new Map<number, string>();
  readonly #stateAt = new Map<number, string>();
  readonly #finalizedBlocks = new Map<string, Block>();
  readonly #notarized = new Map<number, Set<string>>();
  readonly #nullified = new Set<number>();
  readonly #finalizedViews = new Map<number, Set<string>>();
  readonly #checkedCertificates = new Set<string>();
  readonly #released = new Map<string, Vote>();

  constructor(
    validators: ValidatorSet,
    chainId: number,
    verifier: SignatureVerifier,
    byzantine: ReadonlySet<number>,
  ) {
    this.#validators = validators;
    this.#chainId = chainId;
    this.#verifier = verifier;
    this.#byzantine = byzantine;
  }

  /** Records the first violation of each invariant (with how often it recurred). */
  fail(invariant: string, detail: string): void {
    const earlier = this.violations.find((violation) => violation.invariant === invariant);
    if (earlier !== undefined) earlier.occurrences++;
    else if (this.violations.length < MAX_VIOLATIONS)
      this.violations.push({ invariant, detail, occurrences: 1 });
  }

  /** Views with a nullification seen by an honest validator. */
  viewsNullified(): number {
    return this.#nullified.size;
  }

  /** (6) An honest validator released `vote`: it must not contradict anything it released before. */
  released(vote: Vote): void {
    const kinds = [VoteKind.notarize, VoteKind.nullify, VoteKind.finalize];
    for (const kind of kinds) {
      const earlier = this.#released.get(`${vote.signer}/${vote.view}/${kind}`);
      if (earlier === undefined) continue;
      const sameKind = earlier.kind === vote.kind;
      const conflicting =
        (sameKind && toHex(earlier.digest) !== toHex(vote.digest)) ||
        (!sameKind &&
          new Set([earlier.kind, vote.kind]).has(VoteKind.nullify) &&
          new Set([earlier.kind, vote.kind]).has(VoteKind.finalize));
      if (conflicting) {
        this.fail(
          'no-conflicting-votes',
          `honest validator ${vote.signer} released kinds ${earlier.kind} and ${vote.kind} in view ${vote.view}`,
        );
      }
    }
    const key = `${vote.signer}/${vote.view}/${vote.kind}`;
    if (!this.#released.has(key)) this.#released.set(key, vote);
  }

  /** (2, 3, 4, 7) An honest validator assembled or accepted `certificate`. */
  certificate(certificate: Certificate): void {
    const digest = toHex(certificate.digest);
    const signers = certificate.votes.map((entry) => entry.signer).join(',');
    const key = `${certificate.kind}/${certificate.view}/${digest}/${signers}`;
    if (this.#checkedCertificates.has(key)) return;
    this.#checkedCertificates.add(key);
    if (!verifyCertificate(this.#validators, this.#chainId, certificate, this.#verifier)) {
      this.fail(
        'certificate-quorum',
        `certificate kind ${certificate.kind} view ${certificate.view} lacks a valid quorum`,
      );
    }
    if (certificate.kind === VoteKind.notarize) {
      const set = this.#notarized.get(certificate.view) ?? new Set<string>();
      set.add(digest);
      this.#notarized.set(certificate.view, set);
      if (set.size > 1)
        this.fail('one-notarization-per-view', `view ${certificate.view} has ${set.size} notarized blocks`);
    } else if (certificate.kind === VoteKind.nullify) {
      this.#nullified.add(certificate.view);
    } else {
      const set = this.#finalizedViews.get(certificate.view) ?? new Set<string>();
      set.add(digest);
      this.#finalizedViews.set(certificate.view, set);
    }
  }

  /** (8) An honest validator recorded `evidence`. */
  evidence(evidence: Evidence): void {
    const accused = verifyEvidence(this.#validators, this.#chainId, evidence, this.#verifier);
    if (accused === undefined)
      this.fail('evidence-valid', `evidence for view ${evidence.first.view} does not verify`);
    else if (!this.#byzantine.has(accused))
      this.fail('evidence-names-byzantine', `evidence accuses honest validator ${accused}`);
  }

  /** (1, 9) An honest validator applied finalized `block` at `height`, reaching `stateHash`. */
  applied(validator: number, block: Block, digest: Uint8Array, stateHash: Uint8Array): void {
    const digestHex = toHex(digest);
    const known = this.#finalizedAt.get(block.height);
    if (known === undefined) this.#finalizedAt.set(block.height, digestHex);
    else if (known !== digestHex) {
      this.fail('agreement', `validator ${validator} finalized a different block at height ${block.height}`);
    }
    const state = toHex(stateHash);
    const knownState = this.#stateAt.get(block.height);
    if (knownState === undefined) this.#stateAt.set(block.height, state);
    else if (knownState !== state)
      this.fail('state-agreement', `validator ${validator} has another state at height ${block.height}`);
    this.#finalizedBlocks.set(digestHex, block);
  }

  /** (3, 4, 5) Checks that need the whole run. */
  finish(): void {
    for (const [view, digests] of this.#finalizedViews) {
      if (this.#nullified.has(view))
        this.fail('nullified-xor-finalized', `view ${view} is both nullified and finalized`);
      for (const digest of digests) {
        if (!this.#notarized.get(view)?.has(digest)) {
          this.fail(
            'finalization-has-notarization',
            `view ${view} finalized a block no honest validator saw notarized`,
          );
        }
      }
    }
    for (const block of this.#finalizedBlocks.values()) {
      for (let view = block.parentView + 1; view < block.view; view++) {
        if (!this.#nullified.has(view)) {
          this.fail(
            'ancestry-skips-only-nullified',
            `height ${block.height} skips view ${view}, which was not nullified`,
          );
          break;
        }
      }
    }
  }
}
