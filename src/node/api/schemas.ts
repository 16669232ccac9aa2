/**
 * JSON Schemas (draft-07) of every API request and response, in the shapes `view.ts` defines.
 * Fastify compiles them twice: with Ajv to validate requests (unknown fields refused, see
 * `server.ts`) and with fast-json-stringify to serialize responses, so a response can never carry
 * a field its schema does not declare. Where a type has an SSZ definition the schema comes from
 * `codec/json.ts`, so the binary and JSON forms cannot drift apart.
 */
import { CertificateType, EvidenceType } from '../../codec/consensus.ts';
import { type JsonSchema, type JsonValue, jsonSchema } from '../../codec/json.ts';
import { PriceCertificateType } from '../../codec/oracle.ts';
import { StateProofType } from '../../codec/state-proof.ts';
import { SignedTransactionCodec } from '../../codec/transaction.ts';

/** Ed25519 public keys, digests, state roots: exactly 32 bytes. */
export const BYTES32_PATTERN = '^0x[0-9a-fA-F]{64}$';

const hexString: JsonSchema = { type: 'string', pattern: '^0x([0-9a-f]{2})*$' };
const bytes32: JsonSchema = { type: 'string', pattern: BYTES32_PATTERN };
const decimal: JsonSchema = { type: 'string', pattern: '^(0|[1-9][0-9]*)$' };
const signedDecimal: JsonSchema = { type: 'string', pattern: '^(0|-?[1-9][0-9]*)$' };
const count: JsonSchema = { type: 'integer', minimum: 0 };
const integer: JsonSchema = { type: 'integer' };
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
  error: object({ code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, [
    'field',
  ]),
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
    filledLots: count,
    restingLots: count,
  },
  ['field', 'orderId', 'filledLots', 'restingLots'],
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

export const certificateSchema = jsonSchema(CertificateType);

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

export const submitAcceptedSchema = object({ id: bytes32, status: { type: 'string', enum: ['accepted'] } });

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
  seriesId: count,
  side: { type: 'string', enum: ['buy', 'sell'] },
  priceTicks: count,
  remainingLots: count,
  clientOrderId: count,
});

export const accountSchema = object({
  publicKey: bytes32,
  nonce: count,
  balance: signedDecimal,
  marginMode: { type: 'string', enum: ['standard', 'portfolio'] },
  positions: array(object({ seriesId: count, lots: integer })),
  openOrders: array(openOrderSchema),
  margin: nullable(object({ equity: signedDecimal, initial: decimal, maintenance: decimal })),
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
  seriesId: count,
  underlyingId: count,
  underlying: { type: 'string' },
  isCall: { type: 'boolean' },
  strike: decimal,
  expiryMs: count,
  tickSize: count,
  lotSizeE6: count,
  multiplierE6: count,
  markVolBps: count,
  status: { type: 'string', enum: ['active', 'expired', 'settled'] },
  settlementPrice: decimal,
  openInterestLots: count,
  markPrice: nullable(decimal),
});

const bookLevelSchema = object({ priceTicks: count, lots: count, orders: count });
export const bookSchema = object({
  seriesId: count,
  height: count,
  bids: array(bookLevelSchema),
  asks: array(bookLevelSchema),
});

export const priceSchema = object({
  assetId: count,
  symbol: { type: 'string' },
  price: decimal,
  confidence: decimal,
  exponent: integer,
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
  const schema = jsonSchema(PriceCertificateType) as { properties: Record<string, JsonSchema> };
  return {
    ...schema,
    properties: {
      ...schema.properties,
      exponent: { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 },
    },
  };
}

export const priceCertificateEntrySchema = object({
  assetId: count,
  symbol: { type: 'string' },
  height: count,
  certificate: priceCertificateJsonSchema(),
  encoded: hexString,
});

export const evidenceEntrySchema = object({
  validator: count,
  kind: { type: 'string', enum: ['notarize-conflict', 'finalize-conflict', 'nullify-and-finalize'] },
  view: count,
  evidence: jsonSchema(EvidenceType),
});

export const fillSchema = object({
  height: count,
  timeMs: count,
  seriesId: count,
  makerOrderId: count,
  takerOrderId: count,
  maker: bytes32,
  taker: bytes32,
  takerSide: { type: 'string', enum: ['buy', 'sell'] },
  priceTicks: count,
  lots: count,
  makerFee: decimal,
  takerFee: decimal,
});
