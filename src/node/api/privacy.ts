/**
 * What margin proofs (src/privacy) need from a node, as the engine committed it (src/node/privacy.ts
 * keeps the last heights):
 *
 *   GET /v1/privacy/checkpoints/:height        the verifier's side: the opening of the node state
 *                                              root after `height` (engine root and oracle
 *                                              aggregates, what `nodeStateRoot` hashes, committed by
 *                                              the block at height + 16), the account tree's record
 *                                              with its state proof under that engine root, and the
 *                                              mark table the record's hash covers
 *   GET /v1/privacy/accounts/:publicKey/witness  the prover's side: its leaf's inputs, its index and
 *                                              Merkle path at the node's height
 *
 * Nothing here is trusted by its reader: a verifier checks the checkpoint against a finality
 * certificate (src/node/privacy.ts `verifyAccountTreeCheckpoint`), and a prover's witness either
 * opens the certified root or yields no proof. Asking for a witness names the account to the node
 * (a trader who minds runs its own node or reads a snapshot): the proof itself never does.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../../codec/json.ts';
import { fromHex } from '../../crypto/bytes.ts';
import type { NodeView } from '../view.ts';
import { ApiError } from './errors.ts';
import {
  BASE_UNITS_PATTERN,
  BYTES32_PATTERN,
  errorSchema,
  FIELD_ELEMENT_PATTERN,
  object,
  UNIT_DECIMAL_PATTERN,
} from './schemas.ts';

export interface PrivacyCheckpointJson {
  height: number;
  /** Engine state root after `height`, 0x-hex. */
  engineStateRoot: string;
  /** Each oracle aggregate after `height` (`AggregatePriceType` SSZ), 0x-hex, ascending asset id. */
  prices: string[];
  /** With fair ordering: the pending batches' and recorded eons' digests the root also hashes. */
  fairParts?: string[];
  /** `AccountTreeRecordCodec` bytes: the value under `ACCOUNT_TREE_STATE_KEY`. */
  record: string;
  /** `StateProofCodec` bytes of that key under `engineStateRoot`. */
  proof: string;
  /** `MarkTableCodec` bytes. */
  markTable: string;
}

export interface PrivacyWitnessJson {
  height: number;
  index: number;
  /**
   * The leaf's balance input (quote base units, as the circuit takes it); null when the account's
   * state does not fit the circuit (its leaf is empty).
   */
  leafBalance: string | null;
  /** `leafBalance` in whole quote units (docs/api.md, "Numbers"); null with it. */
  leafBalanceDecimal: string | null;
  positions: Array<{ seriesId: number; lots: number }>;
  /** The registered commitment, decimal. */
  commitment: string;
  /** Leaf level first, decimal field elements. */
  siblings: string[];
  pathBits: number[];
}

const count: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const hexBytes: JsonSchema = { type: 'string', pattern: '^0x([0-9a-f]{2})*$' };
const fieldElement: JsonSchema = { type: 'string', pattern: FIELD_ELEMENT_PATTERN };

export const privacyCheckpointSchema = object(
  {
    height: count,
    engineStateRoot: hexBytes,
    prices: { type: 'array', items: hexBytes, maxItems: 256 },
    fairParts: { type: 'array', items: { type: 'string', pattern: '^0x[0-9a-f]{64}$' }, maxItems: 2 },
    record: hexBytes,
    proof: hexBytes,
    markTable: hexBytes,
  },
  ['fairParts'],
);

export const privacyWitnessSchema = object({
  height: count,
  index: count,
  leafBalance: { anyOf: [{ type: 'null' }, { type: 'string', pattern: BASE_UNITS_PATTERN }] },
  leafBalanceDecimal: { anyOf: [{ type: 'null' }, { type: 'string', pattern: UNIT_DECIMAL_PATTERN }] },
  positions: {
    type: 'array',
    maxItems: 1024,
    items: object({
      seriesId: count,
      lots: { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    }),
  },
  commitment: fieldElement,
  siblings: { type: 'array', items: fieldElement, maxItems: 32 },
  pathBits: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 1 }, maxItems: 32 },
});

/**
 * Registers the two routes on `api`; a view without them (a fixture) answers 404.
 * @example registerPrivacy(api, view);
 */
export function registerPrivacy(api: FastifyInstance, view: NodeView): void {
  api.get<{ Params: { height: number } }>(
    '/v1/privacy/checkpoints/:height',
    {
      schema: {
        description:
          "The account tree's record at a height, its state proof and the opening of the committed root",
        params: object({ height: count }),
        response: { 200: privacyCheckpointSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request) => {
      const checkpoint = await view.privacyCheckpoint?.(request.params.height);
      if (checkpoint === undefined)
        throw new ApiError('NOT_FOUND', `no account tree checkpoint kept at height ${request.params.height}`);
      return checkpoint;
    },
  );
  api.get<{ Params: { publicKey: string } }>(
    '/v1/privacy/accounts/:publicKey/witness',
    {
      schema: {
        description: "A registered account's leaf inputs and Merkle path at the node's height",
        params: object({ publicKey: { type: 'string', pattern: BYTES32_PATTERN } }),
        response: { 200: privacyWitnessSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request) => {
      const publicKey = fromHex(request.params.publicKey);
      const witness = publicKey === undefined ? undefined : await view.privacyWitness?.(publicKey);
      if (witness === undefined) throw new ApiError('NOT_FOUND', 'no registered commitment for this account');
      return witness;
    },
  );
}
