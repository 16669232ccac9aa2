/**
 * The node's wire formats (tags 0x05xx): the payload a proposer puts in a consensus block,
 * transaction gossip between validators, and the coordinator's messages of a FROST signing round.
 * They live in src/codec like every object that is signed, hashed or sent between validators, so
 * the conformance fixtures and the decoder fuzzer cover them. Like every message they are SSZ with
 * declared maxima, so decoding hostile bytes is bounded.
 *
 * `BlockPayload` — what consensus orders (its digest is signed through the block's digest):
 *   timeMs        the proposer's wall clock (ms since the Unix epoch); the only clock execution uses
 *   transactions  canonical `SignedTransactionCodec` encodings, in execution order
 *   observations  `SignedObservation` encodings (vote extensions the proposer collected for this
 *                 height), aggregated by every validator on finalization
 *   deposits      `SignedDepositReport` encodings (src/codec/bridge.ts) the proposer collected from
 *                 the same vote extensions; a deposit is credited when 2f + 1 of them report it
 *   envelopes     `SignedOrderEnvelope` encodings (src/codec/envelope.ts) for this height, in the order
 *                 the proposer fixed: encrypted orders whose contents nobody can read until this
 *                 block is final (fair ordering, src/chain/fair-batches.ts)
 *   batchKeys     decryption keys (height, compressed G1) of earlier blocks' encrypted orders, each
 *                 combined from 2f + 1 validators' shares after its block was final: records for
 *                 validators that missed the votes; they open nothing (block h + 1 opens h's
 *                 orders with the key its executor holds, src/chain/fair-batches.ts)
 *   earlyShares   `EarlyKeyShare` evidence: a validator's signed share for a block that was not yet
 *                 final when it reached the proposer
 *   eonActivations the next window's eon keyset as its set agreed on it (src/chain/eon-schedule.ts),
 *                 at most one: from a finalized record on, that window's envelopes are taken
 *   stateRootHeight, stateRoot
 *                 the node state root (engine state root and oracle aggregation state, see
 *                 src/node/app.ts) after height `stateRootHeight`, a fixed lag below the block, so
 *                 that a finality certificate covers every state root a lag behind it
 * The payload's encoding (envelope included) must fit consensus's `MAX_PAYLOAD_BYTES`.
 *
 * State sync (src/node/state-sync.ts), between validators:
 *   `SnapshotOfferRequest`  asks a peer for a snapshot above `minHeight`
 *   `SnapshotOffer`         a stored `NodeSnapshot`'s height, size and hash, and the finalized
 *                           blocks from its height up to one its finality certificate covers,
 *                           among them the block that commits to the snapshot's state root; and
 *                           every epoch boundary between the asker's height and that block, each
 *                           with its own finalization and the validator-set record its committed
 *                           root holds (`BoundaryProof`), so the asker follows the validator set
 *                           from the one it knows to the one that signed the offer's certificate
 *   `SnapshotChunkRequest`  asks for one `SNAPSHOT_CHUNK_BYTES` slice of that snapshot
 *   `SnapshotChunk`         the slice (the last one may be shorter)
 */
import { ByteListType, ContainerType, ListCompositeType, type ValueOf } from '@chainsafe/ssz';
import { SignedDepositReportCodec } from './bridge.ts';
import { MAX_EXTENSION_BYTES, MAX_PAYLOAD_BYTES } from './consensus.ts';
import {
  EarlyKeyShareCodec,
  EonActivationCodec,
  MAX_BATCH_ENVELOPES,
  SignedOrderEnvelopeCodec,
} from './envelope.ts';
import { defineMessage } from './message.ts';
import { PriceCertificateCodec, Secp256k1Point } from './oracle.ts';
import { Bytes32, Uint16, Uint32, Uint64 } from './primitives.ts';
import { SNAPSHOT_MAX_BYTES } from './snapshot.ts';
import { SignedTransactionCodec } from './transaction.ts';

/** Most transactions one block carries; the byte bound usually binds first. */
export const MAX_BLOCK_TRANSACTIONS = 8192;
/** Observations one block carries: one per validator of the largest set the oracle admits. */
export const MAX_BLOCK_OBSERVATIONS = 128;
/** Encrypted-order envelopes one block carries; the payload's byte bound usually binds first. */
export const MAX_BLOCK_ENVELOPES = 2048;
/** Earlier blocks' decryption keys one block carries (a backlog drains this many per block). */
export const MAX_BLOCK_BATCH_KEYS = 8;
/** Early-share evidence one block carries. */
export const MAX_BLOCK_EARLY_SHARES = 16;
/** Transactions in one gossip message. */
export const MAX_GOSSIP_TRANSACTIONS = 512;
/** Signers named in one FROST signing request. */
export const MAX_SIGNING_PARTICIPANTS = 128;

const TransactionBytes = new ByteListType(SignedTransactionCodec.maxBytes);

/**
 * A batch's decryption keys: K_j = s·H1(id_j) for each envelope the block at `height` admitted, in
 * batch order, compressed G1 concatenated (48 bytes each).
 */
export const BatchKeyType = new ContainerType(
  { height: Uint64, key: new ByteListType(48 * MAX_BATCH_ENVELOPES) },
  { typeName: 'BatchKey' },
);
export type BatchKey = ValueOf<typeof BatchKeyType>;

export const BlockPayloadType = new ContainerType(
  {
    timeMs: Uint64,
    transactions: new ListCompositeType(TransactionBytes, MAX_BLOCK_TRANSACTIONS),
    observations: new ListCompositeType(new ByteListType(MAX_EXTENSION_BYTES), MAX_BLOCK_OBSERVATIONS),
    /** `SignedDepositReport` encodings (src/codec/bridge.ts): the bridge's 2f + 1 deposit reports. */
    deposits: new ListCompositeType(
      new ByteListType(SignedDepositReportCodec.maxBytes),
      MAX_BLOCK_OBSERVATIONS,
    ),
    stateRootHeight: Uint64,
    stateRoot: Bytes32,
    envelopes: new ListCompositeType(
      new ByteListType(SignedOrderEnvelopeCodec.maxBytes),
      MAX_BLOCK_ENVELOPES,
    ),
    batchKeys: new ListCompositeType(BatchKeyType, MAX_BLOCK_BATCH_KEYS),
    earlyShares: new ListCompositeType(new ByteListType(EarlyKeyShareCodec.maxBytes), MAX_BLOCK_EARLY_SHARES),
    /** `EonActivation` encodings (src/chain/eon-schedule.ts): the next eon keyset, at most one. */
    eonActivations: new ListCompositeType(new ByteListType(EonActivationCodec.maxBytes), 1),
  },
  { typeName: 'BlockPayload' },
);
export type BlockPayload = ValueOf<typeof BlockPayloadType>;
/** The fair-ordering fields of a payload that carries none (fresh arrays each call). */
export function noFairOrdering(): Pick<
  BlockPayload,
  'envelopes' | 'batchKeys' | 'earlyShares' | 'eonActivations'
> {
  return { envelopes: [], batchKeys: [], earlyShares: [], eonActivations: [] };
}

export const BlockPayloadCodec = defineMessage({
  name: 'BlockPayload',
  tag: 0x0501,
  type: BlockPayloadType,
  maxBytes: MAX_PAYLOAD_BYTES,
});

export const TransactionGossipType = new ContainerType(
  { transactions: new ListCompositeType(TransactionBytes, MAX_GOSSIP_TRANSACTIONS) },
  { typeName: 'TransactionGossip' },
);
export type TransactionGossip = ValueOf<typeof TransactionGossipType>;

export const TransactionGossipCodec = defineMessage({
  name: 'TransactionGossip',
  tag: 0x0502,
  type: TransactionGossipType,
  maxBytes: 4 * 1024 * 1024,
});

/** Envelopes in one gossip message. */
export const MAX_GOSSIP_ENVELOPES = 32;

/**
 * Encrypted-order envelopes a validator admitted from a client, sent on to the other validators so
 * that whoever leads a height the envelope may go in holds it.
 */
export const EnvelopeGossipType = new ContainerType(
  {
    envelopes: new ListCompositeType(
      new ByteListType(SignedOrderEnvelopeCodec.maxBytes),
      MAX_GOSSIP_ENVELOPES,
    ),
  },
  { typeName: 'EnvelopeGossip' },
);
export type EnvelopeGossip = ValueOf<typeof EnvelopeGossipType>;

export const EnvelopeGossipCodec = defineMessage({
  name: 'EnvelopeGossip',
  tag: 0x0509,
  type: EnvelopeGossipType,
  maxBytes: 4 * 1024 * 1024,
});

export const SigningCommitmentType = new ContainerType(
  { signer: Uint16, hiding: Secp256k1Point, binding: Secp256k1Point },
  { typeName: 'SigningCommitment' },
);

/**
 * The coordinator's round-two request (RFC 9591 §5.2): the commitments it chose, which every
 * named signer must use to compute its share. The session is named by (epoch, message).
 */
export const SigningRequestType = new ContainerType(
  {
    chainId: Uint64,
    epoch: Uint64,
    message: Bytes32,
    commitments: new ListCompositeType(SigningCommitmentType, MAX_SIGNING_PARTICIPANTS),
  },
  { typeName: 'SigningRequest' },
);
export type SigningRequest = ValueOf<typeof SigningRequestType>;

export const SigningRequestCodec = defineMessage({
  name: 'SigningRequest',
  tag: 0x0503,
  type: SigningRequestType,
  validate: (value) => {
    for (let i = 1; i < value.commitments.length; i++) {
      if (value.commitments[i]!.signer <= value.commitments[i - 1]!.signer)
        return { field: `commitments[${i}].signer`, reason: 'signers must ascend strictly' };
    }
    return undefined;
  },
});

/**
 * A finished price certificate (its `PriceCertificateCodec` encoding), announced by the session's
 * coordinator so that every node can serve it; receivers verify it against the group key.
 */
export const CertificateAnnouncementType = new ContainerType(
  { assetId: Uint32, height: Uint64, certificate: new ByteListType(PriceCertificateCodec.maxBytes) },
  { typeName: 'CertificateAnnouncement' },
);
export type CertificateAnnouncement = ValueOf<typeof CertificateAnnouncementType>;

export const CertificateAnnouncementCodec = defineMessage({
  name: 'CertificateAnnouncement',
  tag: 0x0504,
  type: CertificateAnnouncementType,
});

/** One slice of a snapshot in state sync; the transport's frames hold it with room to spare. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;
/** Finalized blocks one offer carries: the snapshot's block, the lag, and the way to a certificate. */
export const MAX_OFFER_BLOCKS = 128;
/** Byte budget of one offer's blocks. */
export const MAX_OFFER_BLOCK_BYTES = 4 << 20;

export const SnapshotOfferRequestType = new ContainerType(
  { minHeight: Uint64 },
  { typeName: 'SnapshotOfferRequest' },
);
export type SnapshotOfferRequest = ValueOf<typeof SnapshotOfferRequestType>;

export const SnapshotOfferRequestCodec = defineMessage({
  name: 'SnapshotOfferRequest',
  tag: 0x0505,
  type: SnapshotOfferRequestType,
});

/** Epoch boundaries one offer carries: beyond them the asker catches up block by block first. */
export const MAX_OFFER_BOUNDARIES = 64;
/** Byte budget of one offer's boundary proofs. */
export const MAX_OFFER_BOUNDARY_BYTES = 8 << 20;

/**
 * An epoch boundary H as state sync proves it (src/node/state-sync.ts): block H with its own
 * finalize certificate (signed by the outgoing set), and the opening of the node state root H
 * commits — the engine state root, the oracle aggregates — with the validator-set record under it
 * and its state proof (src/node/validator-set-proofs.ts, the light client's `acceptValidatorSet`).
 */
export const BoundaryProofType = new ContainerType(
  {
    /** `BlockCodec` encoding of boundary block H. */
    block: new ByteListType(MAX_PAYLOAD_BYTES + 1024),
    /** `CertificateCodec` encoding of H's own finalization. */
    finalization: new ByteListType(64 * 1024),
    engineStateRoot: Bytes32,
    /** `AggregatePriceType` encodings, ascending asset id. */
    prices: new ListCompositeType(new ByteListType(1024), 256),
    /** `ValidatorSetRecordCodec` bytes under `VALIDATOR_SET_STATE_KEY`. */
    record: new ByteListType(1 << 20),
    /** `StateProofCodec` bytes of that key under `engineStateRoot`. */
    proof: new ByteListType(64 * 1024),
    /**
     * The fair-ordering digests the committed root hashes after the price root (pending batches,
     * recorded eons; src/chain/block-rule.ts `nodeStateRootFairParts`).
     */
    fairParts: new ListCompositeType(Bytes32, 2),
  },
  { typeName: 'BoundaryProof' },
);
export type BoundaryProof = ValueOf<typeof BoundaryProofType>;

export const SnapshotOfferType = new ContainerType(
  {
    height: Uint64,
    snapshotBytes: Uint64,
    /** SHA-256 of the snapshot's `NodeSnapshotCodec` encoding. */
    snapshotHash: Bytes32,
    /** `BlockCodec` encodings of the finalized blocks `height`, `height + 1`, … in order. */
    blocks: new ListCompositeType(new ByteListType(MAX_OFFER_BLOCK_BYTES), MAX_OFFER_BLOCKS),
    /** `CertificateCodec` encoding of the finalization of the last of `blocks`. */
    finalization: new ByteListType(64 * 1024),
    /** Every epoch boundary above the asker's height and below the certified block, ascending. */
    boundaries: new ListCompositeType(BoundaryProofType, MAX_OFFER_BOUNDARIES),
  },
  { typeName: 'SnapshotOffer' },
);
export type SnapshotOffer = ValueOf<typeof SnapshotOfferType>;

export const SnapshotOfferCodec = defineMessage({
  name: 'SnapshotOffer',
  tag: 0x0506,
  type: SnapshotOfferType,
  maxBytes: MAX_OFFER_BLOCK_BYTES + 4 * MAX_OFFER_BLOCKS + 64 * 1024 + MAX_OFFER_BOUNDARY_BYTES + 1024,
  validate: (offer) => {
    if (offer.height === 0) return { field: 'height', reason: 'genesis needs no snapshot' };
    if (offer.snapshotBytes === 0 || offer.snapshotBytes > SNAPSHOT_MAX_BYTES)
      return { field: 'snapshotBytes', reason: `must be 1..${SNAPSHOT_MAX_BYTES}` };
    if (offer.blocks.length === 0) return { field: 'blocks', reason: 'must not be empty' };
    return undefined;
  },
});

export const SnapshotChunkRequestType = new ContainerType(
  { height: Uint64, index: Uint32 },
  { typeName: 'SnapshotChunkRequest' },
);
export type SnapshotChunkRequest = ValueOf<typeof SnapshotChunkRequestType>;

export const SnapshotChunkRequestCodec = defineMessage({
  name: 'SnapshotChunkRequest',
  tag: 0x0507,
  type: SnapshotChunkRequestType,
});

export const SnapshotChunkType = new ContainerType(
  { height: Uint64, index: Uint32, data: new ByteListType(SNAPSHOT_CHUNK_BYTES) },
  { typeName: 'SnapshotChunk' },
);
export type SnapshotChunk = ValueOf<typeof SnapshotChunkType>;

export const SnapshotChunkCodec = defineMessage({
  name: 'SnapshotChunk',
  tag: 0x0508,
  type: SnapshotChunkType,
  validate: (chunk) => (chunk.data.length === 0 ? { field: 'data', reason: 'must not be empty' } : undefined),
});
