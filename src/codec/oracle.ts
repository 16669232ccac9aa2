/**
 * Oracle messages (tags 0x04xx): a validator's signed price observation (carried in its consensus
 * vote as a vote extension), the aggregated price every validator derives from a block, the
 * threshold-signed price certificate other chains verify, and the DKG and FROST signing packages
 * validators exchange over their authenticated channels.
 *
 * Prices are integer ticks (`bigint`, u64 on the wire, below 2^63 so they fit the EVM's `int64`);
 * times are milliseconds since the Unix epoch (u64 read as safe integers).
 */
import {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListCompositeType,
  UintBigintType,
  type ValueOf,
} from '@chainsafe/ssz';
import { defineMessage } from './message.ts';
import { Bytes32, Bytes64, Uint8, Uint16, Uint32, Uint64 } from './primitives.ts';

/** The most assets one observation may price; the venue lists far fewer. */
export const MAX_OBSERVED_ASSETS = 64;
/** The most validators a DKG or signing session may include (DESIGN.md: 4 to about 50). */
export const MAX_VALIDATORS = 128;
/** Prices must fit the EVM `int64` of the certificate (and Pyth's `price` field). */
/** Large enough for a round-1 DKG package of the largest validator set. */
export const MAX_PACKAGE_BYTES = 3 + 8 + 8 + 6 + 4 + 33 * 128 + 65;
export const MAX_PRICE_TICKS = (1n << 63n) - 1n;

export const PriceTicks = new UintBigintType(8);
/** A compressed secp256k1 point (SEC1, 33 bytes). */
export const Secp256k1Point = new ByteVectorType(33);
/** An RFC 9591 Schnorr signature over secp256k1: compressed R (33 bytes) ‖ scalar z (32 bytes). */
export const FrostSignatureBytes = new ByteVectorType(65);
export const Address20 = new ByteVectorType(20);

type Problem = { field: string; reason: string } | undefined;

function priceProblem(value: bigint, field: string, allowZero: boolean): Problem {
  if (value > MAX_PRICE_TICKS) return { field, reason: 'must fit an int64' };
  if (!allowZero && value === 0n) return { field, reason: 'must be positive' };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Observations

export const ObservationEntryType = new ContainerType(
  {
    assetId: Uint32,
    priceTicks: PriceTicks,
    /** Half-width of the validator's own confidence interval, in ticks. */
    confidenceTicks: PriceTicks,
    /** How many fresh, in-band sources the median was taken over. */
    sourceCount: Uint8,
    /** Median timestamp of the sources used. */
    sourceTimeMs: Uint64,
  },
  { typeName: 'ObservationEntry' },
);
export type ObservationEntry = ValueOf<typeof ObservationEntryType>;

export const ObservationBodyType = new ContainerType(
  {
    chainId: Uint64,
    /** The height whose votes carry this observation; any other height's block drops it. */
    height: Uint64,
    /** The validator's Ed25519 identity key. */
    validator: Bytes32,
    timestampMs: Uint64,
    /** Strictly ascending by `assetId`, so one asset has one entry and the encoding is canonical. */
    entries: new ListCompositeType(ObservationEntryType, MAX_OBSERVED_ASSETS),
  },
  { typeName: 'ObservationBody' },
);
export type ObservationBody = ValueOf<typeof ObservationBodyType>;

export const SignedObservationType = new ContainerType(
  { body: ObservationBodyType, signature: Bytes64 },
  { typeName: 'SignedObservation' },
);
export type SignedObservation = ValueOf<typeof SignedObservationType>;

function validateObservationBody(body: ObservationBody, prefix = ''): Problem {
  let previousAsset = -1;
  for (const [index, entry] of body.entries.entries()) {
    const at = `${prefix}entries[${index}].`;
    if (entry.assetId <= previousAsset)
      return { field: `${at}assetId`, reason: 'entries must ascend strictly' };
    previousAsset = entry.assetId;
    const bad =
      priceProblem(entry.priceTicks, `${at}priceTicks`, false) ??
      priceProblem(entry.confidenceTicks, `${at}confidenceTicks`, true);
    if (bad !== undefined) return bad;
    if (entry.sourceCount === 0) return { field: `${at}sourceCount`, reason: 'must be at least one' };
  }
  return undefined;
}

export const ObservationBodyCodec = defineMessage({
  name: 'ObservationBody',
  tag: 0x0401,
  type: ObservationBodyType,
  validate: (body) => validateObservationBody(body),
});

/** The vote extension a validator attaches to its vote at `body.height`. */
export const SignedObservationCodec = defineMessage({
  name: 'SignedObservation',
  tag: 0x0402,
  type: SignedObservationType,
  validate: (value) => validateObservationBody(value.body, 'body.'),
});

// ---------------------------------------------------------------------------------------------
// Aggregated price (what the execution layer stores per asset per block)

export const AggregatePriceType = new ContainerType(
  {
    assetId: Uint32,
    height: Uint64,
    priceTicks: PriceTicks,
    confidenceTicks: PriceTicks,
    publishTimeMs: Uint64,
    emaTicks: PriceTicks,
    observationCount: Uint16,
    /** Bit set of `AggregateFlag` (src/oracle/aggregate.ts). */
    flags: Uint16,
  },
  { typeName: 'AggregatePrice' },
);
export type AggregatePriceValue = ValueOf<typeof AggregatePriceType>;

export const AggregatePriceCodec = defineMessage({
  name: 'AggregatePrice',
  tag: 0x0403,
  type: AggregatePriceType,
  validate: (value) =>
    priceProblem(value.priceTicks, 'priceTicks', true) ??
    priceProblem(value.confidenceTicks, 'confidenceTicks', true) ??
    priceProblem(value.emaTicks, 'emaTicks', true),
});

// ---------------------------------------------------------------------------------------------
// Price certificate (src/interop/price-certificate.ts defines the EIP-712 struct it signs)

export const PriceCertificateType = new ContainerType(
  {
    feedId: Bytes32,
    price: PriceTicks,
    confidence: PriceTicks,
    /** EIP-712 `int32`, carried as its two's-complement u32. */
    exponent: Uint32,
    /** Seconds since the Unix epoch, as EVM contracts and Pyth count time. */
    publishTime: Uint64,
    epoch: Uint64,
    chainId: Uint64,
    verifyingContract: Address20,
    signature: FrostSignatureBytes,
  },
  { typeName: 'PriceCertificate' },
);
export type PriceCertificateValue = ValueOf<typeof PriceCertificateType>;

export const PriceCertificateCodec = defineMessage({
  name: 'PriceCertificate',
  tag: 0x0404,
  type: PriceCertificateType,
  validate: (value) =>
    priceProblem(value.price, 'price', false) ?? priceProblem(value.confidence, 'confidence', true),
});

// ---------------------------------------------------------------------------------------------
// DKG (src/crypto/dkg.ts) and FROST signing sessions (src/crypto/frost.ts). Each body is signed
// with the sender's Ed25519 key in the `dkg` domain, so a package is attributable to its sender.

export const DkgRound1BodyType = new ContainerType(
  {
    chainId: Uint64,
    epoch: Uint64,
    sender: Uint16,
    threshold: Uint16,
    participants: Uint16,
    /** VSS commitment to the sender's secret polynomial (one point per coefficient). */
    commitment: new ListCompositeType(Secp256k1Point, MAX_VALIDATORS),
    proofOfKnowledge: FrostSignatureBytes,
  },
  { typeName: 'DkgRound1Body' },
);
export type DkgRound1Body = ValueOf<typeof DkgRound1BodyType>;

/** A secret share for one recipient: it must travel only over the encrypted validator channel. */
export const DkgRound2BodyType = new ContainerType(
  { chainId: Uint64, epoch: Uint64, sender: Uint16, recipient: Uint16, signingShare: Bytes32 },
  { typeName: 'DkgRound2Body' },
);
export type DkgRound2Body = ValueOf<typeof DkgRound2BodyType>;

export const FrostCommitmentBodyType = new ContainerType(
  {
    chainId: Uint64,
    epoch: Uint64,
    /** The 32-byte message being signed (an EIP-712 digest) names the session. */
    message: Bytes32,
    signer: Uint16,
    hiding: Secp256k1Point,
    binding: Secp256k1Point,
  },
  { typeName: 'FrostCommitmentBody' },
);
export type FrostCommitmentBody = ValueOf<typeof FrostCommitmentBodyType>;

export const FrostShareBodyType = new ContainerType(
  { chainId: Uint64, epoch: Uint64, message: Bytes32, signer: Uint16, share: Bytes32 },
  { typeName: 'FrostShareBody' },
);
export type FrostShareBody = ValueOf<typeof FrostShareBodyType>;

/**
 * A DKG or FROST package as sent: the encoded body (its own envelope, so the tag says which) and
 * the sender's Ed25519 signature over it in the `dkg` domain.
 */
export const SignedOraclePackageType = new ContainerType(
  { payload: new ByteListType(MAX_PACKAGE_BYTES), signature: Bytes64 },
  { typeName: 'SignedOraclePackage' },
);
export type SignedOraclePackage = ValueOf<typeof SignedOraclePackageType>;

export const SignedOraclePackageCodec = defineMessage({
  name: 'SignedOraclePackage',
  tag: 0x0414,
  type: SignedOraclePackageType,
});

export const DkgRound1BodyCodec = defineMessage({
  name: 'DkgRound1Body',
  tag: 0x0410,
  type: DkgRound1BodyType,
  validate: (value) => {
    if (value.threshold < 1 || value.threshold > value.participants)
      return { field: 'threshold', reason: 'must be between 1 and participants' };
    if (value.participants > MAX_VALIDATORS) return { field: 'participants', reason: 'too many' };
    if (value.commitment.length !== value.threshold)
      return { field: 'commitment', reason: 'must hold one point per polynomial coefficient' };
    return undefined;
  },
});

export const DkgRound2BodyCodec = defineMessage({
  name: 'DkgRound2Body',
  tag: 0x0411,
  type: DkgRound2BodyType,
});

export const FrostCommitmentBodyCodec = defineMessage({
  name: 'FrostCommitmentBody',
  tag: 0x0412,
  type: FrostCommitmentBodyType,
});

export const FrostShareBodyCodec = defineMessage({
  name: 'FrostShareBody',
  tag: 0x0413,
  type: FrostShareBodyType,
});
