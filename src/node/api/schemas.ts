/**
 * JSON Schemas (draft-07) of every API request and response, in the shapes `view.ts` defines.
 * Fastify compiles them twice: with Ajv to validate requests (unknown fields refused, see
 * `server.ts`) and with fast-json-stringify to serialize responses, so a response can never carry
 * a field its schema does not declare; `@fastify/swagger` turns them into the OpenAPI document.
 * Where a type has an SSZ definition the schema comes from `codec/json.ts`, so the binary and JSON
 * forms cannot drift apart, with the API's number rule applied (`withSafeIntegers`).
 *
 * The number rule (docs/api.md, "Numbers"): money — an amount or a price in base units — is a
 * decimal string of the integer (`baseUnits`, `signedBaseUnits`), and beside each one a person
 * reads, `<name>Decimal` is the same value in whole units (`unitDecimal`); every other integer is
 * a JSON number whose schema bounds it within ±(2^53 − 1). `MONEY_FIELDS` names the money fields;
 * `FIELD_ELEMENT_FIELDS` the proof field elements (decimal strings, above 2^53); a test walks every
 * schema of the OpenAPI document, and another every response of every GET route, against the rule.
 */
import { CertificateType, EvidenceType } from '../../codec/consensus.ts';
import { SignedOrderEnvelopeCodec } from '../../codec/envelope.ts';
import { type JsonSchema, type JsonValue, jsonSchema } from '../../codec/json.ts';
import { PriceCertificateType } from '../../codec/oracle.ts';
import { StateProofType } from '../../codec/state-proof.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';
import { invariant } from '../../std/invariant.ts';
import { API_ERRORS } from './errors.ts';

/** Ed25519 public keys, digests, state roots: exactly 32 bytes. */
export const BYTES32_PATTERN = '^0x[0-9a-fA-F]{64}$';

/** Base-unit integers (money) as decimal strings. */
export const BASE_UNITS_PATTERN = '^(0|[1-9][0-9]*)$';
export const SIGNED_BASE_UNITS_PATTERN = '^(0|-?[1-9][0-9]*)$';
/** Whole units: an exact decimal without an exponent or trailing zeros ("10030.25", "-0.5", "0"). */
export const UNIT_DECIMAL_PATTERN = '^-?(0|[1-9][0-9]*)(\\.[0-9]*[1-9])?$';

/**
 * The money fields of the API: decimal strings of base units. Every one a person reads has its
 * `<name>Decimal` beside it, except inside signed codec objects (a price certificate), whose
 * JSON a verifier parses back field for field.
 */
export const MONEY_FIELDS = Object.freeze([
  'balance',
  'equity',
  'initial',
  'maintenance',
  'strike',
  'settlementPrice',
  'markPrice',
  'price',
  'confidence',
  'makerFee',
  'takerFee',
  'penalty',
  'equityBefore',
  'maintenanceBefore',
  'cash',
  'lossShare',
  'amount',
  'leafBalance',
] as const);

/**
 * Field elements of the margin proofs (BN254 scalars, up to 2^254): decimal strings, as circom and
 * snarkjs take them. They are not amounts: no `<name>Decimal` goes beside them.
 */
export const FIELD_ELEMENT_FIELDS = Object.freeze(['commitment', 'siblings'] as const);
/** A BN254 scalar in decimal (at most 78 digits). */
export const FIELD_ELEMENT_PATTERN = '^(0|[1-9][0-9]{0,77})$';

/**
 * String maps whose values are kept as the strings they were recorded (and, for the audit log,
 * hashed) with, integers included: findings' `metadata` and audit entries' `details`.
 */
export const STRING_MAP_FIELDS = Object.freeze(['metadata', 'details'] as const);

/** The numbers that are not integers: a transport score (it decays) and a measured latency. */
export const NON_INTEGER_NUMBER_FIELDS = Object.freeze(['score', 'finalityLatencyMs'] as const);

const hexString: JsonSchema = { type: 'string', pattern: '^0x([0-9a-f]{2})*$' };
const bytes32: JsonSchema = { type: 'string', pattern: BYTES32_PATTERN };
const decimal: JsonSchema = { type: 'string', pattern: BASE_UNITS_PATTERN };
const signedDecimal: JsonSchema = { type: 'string', pattern: SIGNED_BASE_UNITS_PATTERN };
const unitDecimal: JsonSchema = { type: 'string', pattern: UNIT_DECIMAL_PATTERN };
/** A non-negative integer below 2^53: heights, views, times, counters, ids. */
const count: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
/** A u32 (series and asset ids, as the codec carries them). */
const u32: JsonSchema = { type: 'integer', minimum: 0, maximum: 0xffff_ffff };
const integer: JsonSchema = {
  type: 'integer',
  minimum: Number.MIN_SAFE_INTEGER,
  maximum: Number.MAX_SAFE_INTEGER,
};

/**
 * The codec's schema with the API's number rule: every 64-bit integer the codec holds as a JS
 * number (a view, an epoch, a time; the codec writes it as a decimal string) becomes a bounded JSON
 * number. `bigint` fields (money: oracle ticks) stay strings. Applied to the properties named in
 * `fields`, which must be such strings.
 */
function withSafeIntegers(schema: JsonSchema, fields: readonly string[]): JsonSchema {
  const properties = { ...(schema.properties as { [key: string]: JsonSchema }) };
  for (const field of fields) {
    const codecForm = properties[field];
    invariant(
      codecForm?.type === 'string' && codecForm.maxLength === 16,
      `${String(schema.title)}.${field} is not a number-valued 64-bit integer of the codec`,
    );
    properties[field] = count;
  }
  return { ...schema, properties };
}
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [{ type: 'null' }, schema] });
const array = (items: JsonSchema): JsonSchema => ({ type: 'array', items });

/** An object with exactly `properties`; every one is required unless listed in `optional`. */
export function object(
  properties: { [key: string]: JsonSchema },
  optional: readonly string[] = [],
): JsonSchema {
  return {
    type: 'object',
    properties: properties as { [key: string]: JsonValue },
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    additionalProperties: false,
  };
}

/** `{ error: { code, message, field? } }`: the one shape of every 4xx and 5xx answer. */
export const errorSchema = object({
  error: object(
    {
      code: { type: 'string', enum: Object.keys(API_ERRORS) },
      message: { type: 'string' },
      field: { type: 'string' },
    },
    ['field'],
  ),
});

const transactionStatus = { type: 'string', pattern: '^[A-Z_]+$' };

export const transactionOutcomeSchema = object(
  {
    id: bytes32,
    signer: bytes32,
    nonce: count,
    status: transactionStatus,
    field: { type: 'string' },
    orderId: count,
    withdrawalId: count,
    filledLots: count,
    restingLots: count,
  },
  ['field', 'orderId', 'withdrawalId', 'filledLots', 'restingLots'],
);

const blockSummaryProperties = {
  height: count,
  hash: bytes32,
  parentHash: bytes32,
  view: count,
  proposer: count,
  timeMs: count,
  stateRoot: bytes32,
  transactions: array(transactionOutcomeSchema),
};

export const blockSummarySchema = object(blockSummaryProperties);

export const certificateSchema = withSafeIntegers(jsonSchema(CertificateType), ['view']);

export const blockDetailSchema = object({
  ...blockSummaryProperties,
  finalization: certificateSchema,
  encoded: hexString,
  descendants: array(hexString),
});

export const validatorStatusSchema = object(
  {
    index: count,
    publicKey: bytes32,
    self: { type: 'boolean' },
    connected: { type: 'boolean' },
    score: { type: 'number' },
  },
  ['score'],
);

export const statusSchema = object({
  chainId: count,
  nodeIndex: count,
  version: { type: 'string' },
  height: count,
  finalizedHash: bytes32,
  finalizedView: count,
  view: count,
  proposalHeight: {
    ...count,
    description:
      "The height the next block proposal carries as this validator sees consensus (one above the current view's proposal once it has one, else one above the highest certified block); `height` (executed) runs a block or two below it. An encrypted order's envelope expires at this height or a later one.",
  },
  proposalLeader: {
    ...nullable(bytes32),
    description:
      'The public key of the validator expected to propose `proposalHeight` (were no view nullified): a client may send an encrypted order for that height to it directly as well. Null where unknown.',
  },
  timeMs: count,
  stateRoot: bytes32,
  validators: array(validatorStatusSchema),
  mempool: object({ transactions: count, bytes: count }),
  sync: object({
    targetHeight: count,
    blockSyncing: { type: 'boolean' },
    stateSyncs: count,
    stateSyncHeight: nullable(count),
  }),
});

export const submitRequestSchema = object({
  transaction: {
    type: 'string',
    pattern: '^0x([0-9a-fA-F]{2})*$',
    // The hex of the largest transaction the codec decodes: longer strings are refused by the
    // schema before anyone parses them.
    maxLength: 2 + 2 * SignedTransactionCodec.maxBytes,
  },
});

/** `POST /v1/envelopes` as JSON: one `SignedOrderEnvelope` encoding in hex. */
export const submitEnvelopeRequestSchema = object({
  envelope: {
    type: 'string',
    pattern: '^0x([0-9a-fA-F]{2})*$',
    maxLength: 2 + 2 * SignedOrderEnvelopeCodec.maxBytes,
  },
});

/** An admitted envelope: the slot it holds (sender, nonce) and the highest height that may include it. */
export const submitEnvelopeAcceptedSchema = object({
  status: { type: 'string', enum: ['accepted'] },
  sender: bytes32,
  nonce: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  expiryHeight: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
});

export const submitAcceptedSchema = object({ id: bytes32, status: { type: 'string', enum: ['accepted'] } });

/** `POST /v1/transactions/batch` as JSON: up to `maxTransactions` hex encodings. */
export function submitBatchRequestSchema(maxTransactions: number): JsonSchema {
  return object({
    transactions: {
      type: 'array',
      minItems: 1,
      maxItems: maxTransactions,
      items: (submitRequestSchema.properties as { transaction: JsonSchema }).transaction,
    },
  });
}

/** One answer per submitted transaction, in order: accepted with its id, or refused with a code. */
export const submitBatchResultSchema = object({
  results: array(
    object(
      {
        id: bytes32,
        status: { type: 'string', enum: ['accepted', 'refused'] },
        code: { type: 'string', enum: Object.keys(API_ERRORS) },
        reason: { type: 'string' },
      },
      ['id', 'code', 'reason'],
    ),
  ),
});

export const transactionLookupSchema = object(
  {
    id: bytes32,
    status: { type: 'string', enum: ['pending', 'finalized'] },
    height: count,
    outcome: transactionOutcomeSchema,
  },
  ['height', 'outcome'],
);

const openOrderSchema = object({
  orderId: count,
  seriesId: u32,
  side: { type: 'string', enum: ['buy', 'sell'] },
  priceTicks: count,
  remainingLots: count,
  clientOrderId: count,
});

export const accountSchema = object({
  publicKey: bytes32,
  nonce: count,
  balance: signedDecimal,
  balanceDecimal: unitDecimal,
  marginMode: { type: 'string', enum: ['standard', 'portfolio'] },
  positions: array(object({ seriesId: u32, lots: integer })),
  openOrders: array(openOrderSchema),
  margin: nullable(
    object({
      equity: signedDecimal,
      equityDecimal: unitDecimal,
      initial: decimal,
      initialDecimal: unitDecimal,
      maintenance: decimal,
      maintenanceDecimal: unitDecimal,
    }),
  ),
});

export const accountReadSchema = object(
  {
    account: nullable(accountSchema),
    proof: object({
      height: count,
      stateRoot: bytes32,
      key: bytes32,
      value: nullable(hexString),
      proof: jsonSchema(StateProofType),
    }),
  },
  ['proof'],
);

export const marketSchema = object({
  seriesId: u32,
  underlyingId: count,
  underlying: { type: 'string' },
  isCall: { type: 'boolean' },
  strike: decimal,
  strikeDecimal: unitDecimal,
  expiryMs: count,
  tickSize: count,
  lotSizeE6: count,
  multiplierE6: count,
  markVolBps: count,
  status: { type: 'string', enum: ['active', 'expired', 'settled'] },
  settlementPrice: decimal,
  settlementPriceDecimal: unitDecimal,
  openInterestLots: count,
  markPrice: nullable(decimal),
  markPriceDecimal: nullable(unitDecimal),
  greeks: nullable(
    object({
      delta: unitDecimal,
      gamma: unitDecimal,
      vegaPerVolPoint: unitDecimal,
      thetaPerDay: unitDecimal,
      rhoPerRatePoint: unitDecimal,
    }),
  ),
  greeksPerUnit: nullable(
    object({
      delta: unitDecimal,
      gamma: unitDecimal,
      vegaPerUnitVol: unitDecimal,
      thetaPerYear: unitDecimal,
      rhoPerUnitRate: unitDecimal,
    }),
  ),
});

const bookLevelSchema = object({ priceTicks: count, lots: count, orders: count });
export const bookSchema = object({
  seriesId: u32,
  height: count,
  bids: array(bookLevelSchema),
  asks: array(bookLevelSchema),
});

export const priceSchema = object({
  assetId: u32,
  symbol: { type: 'string' },
  price: decimal,
  confidence: decimal,
  exponent: { type: 'integer', minimum: -18, maximum: 18 },
  priceDecimal: unitDecimal,
  confidenceDecimal: unitDecimal,
  publishTimeMs: count,
  stale: { type: 'boolean' },
  height: count,
});

export const keysetSchema = object({
  epoch: count,
  groupPublicKey: { type: 'string', pattern: '^0x[0-9a-f]{66}$' },
  threshold: count,
  participants: count,
});

/** The codec's schema for a price certificate, with `exponent` as the signed int32 it really is. */
function priceCertificateJsonSchema(): JsonSchema {
  const schema = withSafeIntegers(jsonSchema(PriceCertificateType), ['publishTime', 'epoch', 'chainId']) as {
    properties: Record<string, JsonSchema>;
  };
  return {
    ...schema,
    properties: {
      ...schema.properties,
      exponent: { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 },
    },
  };
}

export const priceCertificateEntrySchema = object({
  assetId: u32,
  symbol: { type: 'string' },
  height: count,
  certificate: priceCertificateJsonSchema(),
  encoded: hexString,
});

export const evidenceEntrySchema = object({
  validator: count,
  kind: { type: 'string', enum: ['notarize-conflict', 'finalize-conflict', 'nullify-and-finalize'] },
  view: count,
  evidence: evidenceJsonSchema(),
});

/** The codec's evidence schema with each vote's `view` a number. */
function evidenceJsonSchema(): JsonSchema {
  const schema = jsonSchema(EvidenceType) as { properties: Record<string, JsonSchema> };
  return {
    ...schema,
    properties: {
      first: withSafeIntegers(schema.properties.first!, ['view']),
      second: withSafeIntegers(schema.properties.second!, ['view']),
    },
  };
}

const fillBase = { height: count, timeMs: count, seriesId: u32, lots: count };
const side = { type: 'string', enum: ['buy', 'sell'] };
const sideOrNull = nullable(side);

/** A trade, or a step of a liquidation (`kind`), as `FillJson` in view.ts. */
export const fillSchema: JsonSchema = {
  anyOf: [
    object({
      kind: { type: 'string', enum: ['trade'] },
      ...fillBase,
      makerOrderId: count,
      takerOrderId: count,
      maker: bytes32,
      taker: bytes32,
      takerSide: side,
      priceTicks: count,
      makerFee: decimal,
      makerFeeDecimal: unitDecimal,
      takerFee: decimal,
      takerFeeDecimal: unitDecimal,
      liquidation: { type: 'boolean' },
    }),
    object({
      kind: { type: 'string', enum: ['liquidation'] },
      ...fillBase,
      account: bytes32,
      side: sideOrNull,
      penalty: decimal,
      penaltyDecimal: unitDecimal,
      equityBefore: signedDecimal,
      equityBeforeDecimal: unitDecimal,
      maintenanceBefore: decimal,
      maintenanceBeforeDecimal: unitDecimal,
    }),
    object({
      kind: { type: 'string', enum: ['backstop'] },
      ...fillBase,
      account: bytes32,
      counterparty: bytes32,
      side: sideOrNull,
      priceTicks: count,
      cash: signedDecimal,
      cashDecimal: unitDecimal,
    }),
    object({
      kind: { type: 'string', enum: ['deleverage'] },
      ...fillBase,
      account: bytes32,
      counterparty: bytes32,
      side,
      price: decimal,
      priceDecimal: unitDecimal,
      cash: signedDecimal,
      cashDecimal: unitDecimal,
      lossShare: decimal,
      lossShareDecimal: unitDecimal,
    }),
  ],
};
