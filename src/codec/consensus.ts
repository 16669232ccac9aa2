/**
 * Wire and storage formats of the Simplex consensus engine (tags 0x02xx). Every type is SSZ with a
 * declared maximum, so a decoder never allocates more than `maxBytes` for hostile input.
 *
 * - `Block`: what a leader proposes. Its digest (SHA-256 of the encoding) is what votes sign.
 * - `Vote`: notarize / nullify / finalize by one validator for one view. The signature covers
 *   `domain(kind) ‖ chainId ‖ SSZ(VoteSignedBody{view, digest, extensionHash})`, so the opaque
 *   application extension is attributable to its signer without making certificates carry it.
 * - `Certificate`: a quorum of votes of one kind for one (view, digest), signers strictly ascending.
 * - `Proposal`: a block plus the leader's own notarize vote for it (the vote is the proposal's
 *   signature, as in Simplex where the leader's proposal counts as its vote).
 * - `SyncRequest` / `SyncResponse`: the resolver asks a peer for a block by digest and up to
 *   `count - 1` of its ancestors; answers are checked by hash linkage, so peers are not trusted.
 * - `CertificateRequest`: asks a peer for the certificates it holds for one view (answered with
 *   `Certificate` messages, which verify themselves), so a validator that missed them, or was down
 *   while they formed, can check proposals built over those views.
 * - `Evidence`: two conflicting signed votes by one validator in one view.
 */
import { ByteListType, ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
import { Bytes32, Bytes64, Uint8, Uint16, Uint64 } from './primitives.ts';

/** Largest validator set the formats admit; certificates are bounded by it. */
export const MAX_VALIDATORS = 256;
/** Largest application payload in a block (1 MiB): blocks of orders are far smaller. */
export const MAX_PAYLOAD_BYTES = 1 << 20;
/**
 * Largest vote extension: the largest observation (`MAX_OBSERVED_ASSETS` prices) beside a full
 * batch's decryption-key shares (src/codec/envelope.ts `MAX_BATCH_ENVELOPES`) must fit, or the
 * shares could never ride and the batch would never open.
 */
export const MAX_EXTENSION_BYTES = 4096;
/** Most blocks one sync response carries, and the largest `count` a request may ask for. */
export const MAX_SYNC_BLOCKS = 32;
/** Byte budget of one sync response: responders stop adding ancestors before exceeding it. */
export const MAX_SYNC_RESPONSE_BYTES = 4 << 20;

export const VoteKind = Object.freeze({ notarize: 0, nullify: 1, finalize: 2 } as const);
export type VoteKindValue = (typeof VoteKind)[keyof typeof VoteKind];

export function isVoteKind(value: number): value is VoteKindValue {
  return value === 0 || value === 1 || value === 2;
}

type Problem = { field: string; reason: string } | undefined;

export const BlockType = new ContainerType(
  {
    view: Uint64,
    height: Uint64,
    parentView: Uint64,
    parent: Bytes32,
    proposer: Uint16,
    payload: new ByteListType(MAX_PAYLOAD_BYTES),
  },
  { typeName: 'Block' },
);
export type Block = ValueOf<typeof BlockType>;

function validateBlock(block: Block, prefix = ''): Problem {
  if (block.parentView >= block.view) return { field: `${prefix}parentView`, reason: 'must be below view' };
  if (block.height === 0) return { field: `${prefix}height`, reason: 'only genesis has height 0' };
  if (block.proposer >= MAX_VALIDATORS) return { field: `${prefix}proposer`, reason: 'out of range' };
  return undefined;
}

export const BlockCodec = defineMessage({
  name: 'Block',
  tag: 0x0201,
  type: BlockType,
  validate: (block) => validateBlock(block),
});

export const VoteType = new ContainerType(
  {
    kind: Uint8,
    view: Uint64,
    digest: Bytes32,
    signer: Uint16,
    extension: new ByteListType(MAX_EXTENSION_BYTES),
    signature: Bytes64,
  },
  { typeName: 'Vote' },
);
export type Vote = ValueOf<typeof VoteType>;

function validateVote(vote: Vote, prefix = ''): Problem {
  if (!isVoteKind(vote.kind)) return { field: `${prefix}kind`, reason: 'not a vote kind' };
  if (vote.view === 0) return { field: `${prefix}view`, reason: 'view 0 is genesis and takes no votes' };
  if (vote.signer >= MAX_VALIDATORS) return { field: `${prefix}signer`, reason: 'out of range' };
  if (vote.kind === VoteKind.nullify && vote.digest.some((byte) => byte !== 0)) {
    return { field: `${prefix}digest`, reason: 'a nullify vote carries the zero digest' };
  }
  return undefined;
}

export const VoteCodec = defineMessage({
  name: 'Vote',
  tag: 0x0202,
  type: VoteType,
  validate: (vote) => validateVote(vote),
});

/** The body a vote signature covers (inside the kind's domain tag and the chain id). */
export const VoteSignedBodyType = new ContainerType(
  { view: Uint64, digest: Bytes32, extensionHash: Bytes32 },
  { typeName: 'VoteSignedBody' },
);

export const CertificateEntryType = new ContainerType(
  { signer: Uint16, extensionHash: Bytes32, signature: Bytes64 },
  { typeName: 'CertificateEntry' },
);
export type CertificateEntry = ValueOf<typeof CertificateEntryType>;

export const CertificateType = new ContainerType(
  {
    kind: Uint8,
    view: Uint64,
    digest: Bytes32,
    votes: new ListCompositeType(CertificateEntryType, MAX_VALIDATORS),
  },
  { typeName: 'Certificate' },
);
export type Certificate = ValueOf<typeof CertificateType>;

function validateCertificate(certificate: Certificate, prefix = ''): Problem {
  if (!isVoteKind(certificate.kind)) return { field: `${prefix}kind`, reason: 'not a vote kind' };
  if (certificate.view === 0) return { field: `${prefix}view`, reason: 'view 0 has no certificate' };
  let previous = -1;
  for (const [index, entry] of certificate.votes.entries()) {
    if (entry.signer <= previous) {
      return { field: `${prefix}votes.${index}.signer`, reason: 'signers must be strictly ascending' };
    }
    previous = entry.signer;
  }
  return undefined;
}

export const CertificateCodec = defineMessage({
  name: 'Certificate',
  tag: 0x0204,
  type: CertificateType,
  validate: (certificate) => validateCertificate(certificate),
});

export const ProposalType = new ContainerType({ block: BlockType, vote: VoteType }, { typeName: 'Proposal' });
export type Proposal = ValueOf<typeof ProposalType>;

export const ProposalCodec = defineMessage({
  name: 'Proposal',
  tag: 0x0203,
  type: ProposalType,
  validate: (proposal) => {
    const problem = validateBlock(proposal.block, 'block.') ?? validateVote(proposal.vote, 'vote.');
    if (problem !== undefined) return problem;
    if (proposal.vote.kind !== VoteKind.notarize) return { field: 'vote.kind', reason: 'must be notarize' };
    if (proposal.vote.view !== proposal.block.view)
      return { field: 'vote.view', reason: 'must equal block.view' };
    if (proposal.vote.signer !== proposal.block.proposer) {
      return { field: 'vote.signer', reason: 'must be the block proposer' };
    }
    return undefined;
  },
});

export const SyncRequestType = new ContainerType(
  { digest: Bytes32, count: Uint8 },
  { typeName: 'SyncRequest' },
);
export type SyncRequest = ValueOf<typeof SyncRequestType>;

export const SyncRequestCodec = defineMessage({
  name: 'SyncRequest',
  tag: 0x0205,
  type: SyncRequestType,
  validate: (request) =>
    request.count >= 1 && request.count <= MAX_SYNC_BLOCKS
      ? undefined
      : { field: 'count', reason: `must be 1..${MAX_SYNC_BLOCKS}` },
});

export const SyncResponseType = new ContainerType(
  { blocks: new ListCompositeType(BlockType, MAX_SYNC_BLOCKS) },
  { typeName: 'SyncResponse' },
);
export type SyncResponse = ValueOf<typeof SyncResponseType>;

export const SyncResponseCodec = defineMessage({
  name: 'SyncResponse',
  tag: 0x0206,
  type: SyncResponseType,
  maxBytes: MAX_SYNC_RESPONSE_BYTES + 3 + BlockType.maxSize,
  validate: (response) => {
    for (const [index, block] of response.blocks.entries()) {
      const problem = validateBlock(block, `blocks.${index}.`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  },
});

export const EvidenceType = new ContainerType(
  { first: VoteType, second: VoteType },
  { typeName: 'Evidence' },
);
export type Evidence = ValueOf<typeof EvidenceType>;

export const EvidenceCodec = defineMessage({
  name: 'Evidence',
  tag: 0x0207,
  type: EvidenceType,
  validate: (evidence) => validateVote(evidence.first, 'first.') ?? validateVote(evidence.second, 'second.'),
});

export const CertificateRequestType = new ContainerType({ view: Uint64 }, { typeName: 'CertificateRequest' });
export type CertificateRequest = ValueOf<typeof CertificateRequestType>;

export const CertificateRequestCodec = defineMessage({
  name: 'CertificateRequest',
  tag: 0x0208,
  type: CertificateRequestType,
});

/** Most finalized blocks one range response carries, and the largest `count` a request may ask. */
export const MAX_RANGE_BLOCKS = 1024;

/**
 * Block sync by height (the resolver's forward path, spec §7): asks a peer for its finalized blocks
 * `fromHeight .. fromHeight + count - 1`, served from its storage.
 */
export const RangeRequestType = new ContainerType(
  { fromHeight: Uint64, count: Uint16 },
  { typeName: 'RangeRequest' },
);
export type RangeRequest = ValueOf<typeof RangeRequestType>;

export const RangeRequestCodec = defineMessage({
  name: 'RangeRequest',
  tag: 0x0210,
  type: RangeRequestType,
  validate: (request) => {
    if (request.fromHeight === 0) return { field: 'fromHeight', reason: 'genesis is not served' };
    return request.count >= 1 && request.count <= MAX_RANGE_BLOCKS
      ? undefined
      : { field: 'count', reason: `must be 1..${MAX_RANGE_BLOCKS}` };
  },
});

/**
 * Consecutive finalized blocks in ascending height and the finality certificate the responder
 * stored with the last of them: the finalization of that block or of a descendant (a block
 * finalized through a later block's certificate is stored with that certificate). The asker checks
 * the hash links from its own tip and finalizes once the certified block is among those it holds;
 * stopping before `MAX_SYNC_RESPONSE_BYTES` is exceeded bounds the response.
 */
export const RangeResponseType = new ContainerType(
  {
    blocks: new ListCompositeType(BlockType, MAX_RANGE_BLOCKS),
    finalization: CertificateType,
  },
  { typeName: 'RangeResponse' },
);
export type RangeResponse = ValueOf<typeof RangeResponseType>;

export const RangeResponseCodec = defineMessage({
  name: 'RangeResponse',
  tag: 0x0211,
  type: RangeResponseType,
  maxBytes: MAX_SYNC_RESPONSE_BYTES + 4 * MAX_RANGE_BLOCKS + BlockType.maxSize + CertificateType.maxSize,
  validate: (response) => {
    if (response.blocks.length === 0) return { field: 'blocks', reason: 'must not be empty' };
    for (const [index, block] of response.blocks.entries()) {
      const problem = validateBlock(block, `blocks.${index}.`);
      if (problem !== undefined) return problem;
      if (index > 0 && block.height !== response.blocks[index - 1]!.height + 1)
        return { field: `blocks.${index}.height`, reason: 'heights must be consecutive' };
    }
    return validateCertificate(response.finalization, 'finalization.');
  },
});
