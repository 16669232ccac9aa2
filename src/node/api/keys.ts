/**
 * `GET /v1/keys`: the price keyset's lifecycle as this validator holds it — the current epoch
 * and its keyset (FROST group key, threshold), the validators that hold its shares, when the
 * next refresh starts, how the last keygen went, and the handover chain: each certificate by
 * which the outgoing epoch's keyset signed the next epoch's group key
 * (src/interop/handover-certificate.ts). A verifier that trusts only the genesis keyset follows
 * `handovers` in order (`followKeysetChain`) to the current one.
 *
 * Numbers follow the API's number rule (schemas.ts): every integer here is a count below 2^53;
 * there is no money. A node that has no keyset yet (its DKG is running) answers `epoch: null`,
 * `keyset: null` and no signers.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../../codec/json.ts';
import { MAX_VALIDATORS } from '../../codec/oracle.ts';
import type { NodeView } from '../view.ts';
import { ApiError } from './errors.ts';
import { errorSchema, keysetSchema, object } from './schemas.ts';

/** The handover certificates kept and served (the price signer keeps as many). */
export const HANDOVERS_SERVED_MAX = 64;

export interface KeySignerJson {
  /** The validator's index in genesis (its FROST identifier is index + 1). */
  index: number;
  /** Its Ed25519 identity key, 0x-hex. */
  publicKey: string;
}

export interface HandoverJson {
  fromEpoch: number;
  toEpoch: number;
  /** The next keyset's group key, SEC1 compressed, 0x-hex. */
  groupPublicKey: string;
  /** The outgoing keyset's FROST signature (R ‖ z), 0x-hex. */
  signature: string;
  /** `HandoverCertificateCodec` bytes, what `followHandover` and the EVM verifier take. */
  encoded: string;
}

export interface KeyLifecycleJson {
  /** This node's finalized height. */
  height: number;
  /** Refresh period in finalized blocks (genesis `dkg.epochBlocks`); 0: never. */
  epochBlocks: number;
  /** The epoch of the keyset signing now; null before the DKG produced one. */
  epoch: number | null;
  /** The next height at which a refresh starts; null without refresh. */
  nextRefreshHeight: number | null;
  keyset: { epoch: number; groupPublicKey: string; threshold: number; participants: number } | null;
  /** The validators holding a share of the current keyset, by index. */
  signers: KeySignerJson[];
  /** State of the latest keygen (the genesis DKG or a refresh). */
  keygen: 'running' | 'done' | 'failed';
  /** Dealers the genesis DKG left out, with why. */
  disqualified: { dealer: number; reason: string }[];
  /** Dealers the latest refresh left out, with why (SILENT, EQUIVOCATION, BAD_SHARE, …). */
  refreshDisqualified: { epoch: number; dealer: number; reason: string }[];
  /** Refreshes this node completed since it started. */
  refreshes: number;
  /** The epoch a refresh (or reshare) this node takes part in is producing now; null when none runs. */
  refreshing: number | null;
  /**
   * Repair of this node's own share when its key file was lost or unreadable: `done` once the
   * share of `epoch` came back from t helpers, `failed` (code TOO_FEW_HELPERS) when too few
   * honest helpers were left; `culprits` are helpers caught cheating or silent.
   */
  repair: {
    state: 'idle' | 'running' | 'done' | 'failed';
    epoch: number | null;
    repaired: number;
    code: 'TOO_FEW_HELPERS' | null;
    culprits: { validator: number; fault: string; attempt: number }[];
  };
  /** Price certificates this node assembled or accepted since it started. */
  certificates: number;
  /** The latest price certificate this node assembled as coordinator, and whose shares it holds. */
  lastAssembled: { height: number; epoch: number; signers: number[] } | null;
  /** Validators this node passes over as signers now (late or bad shares; not consensus). */
  suspectedSigners: number[];
  /** Oldest first, at most {@link HANDOVERS_SERVED_MAX}. */
  handovers: HandoverJson[];
}

const count: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const nullableCount: JsonSchema = { anyOf: [{ type: 'null' }, count] };
const hexBytes = (length: number): JsonSchema => ({
  type: 'string',
  pattern: `^0x[0-9a-f]{${2 * length}}$`,
});

export const handoverSchema = object({
  fromEpoch: count,
  toEpoch: count,
  groupPublicKey: hexBytes(33),
  signature: hexBytes(65),
  encoded: { type: 'string', pattern: '^0x([0-9a-f]{2})*$' },
});

export const keyLifecycleSchema = object({
  height: count,
  epochBlocks: count,
  epoch: nullableCount,
  nextRefreshHeight: nullableCount,
  keyset: { anyOf: [{ type: 'null' }, keysetSchema] },
  signers: {
    type: 'array',
    items: object({ index: count, publicKey: hexBytes(32) }),
  },
  keygen: { type: 'string', enum: ['running', 'done', 'failed'] },
  disqualified: {
    type: 'array',
    items: object({ dealer: count, reason: { type: 'string' } }),
  },
  refreshDisqualified: {
    type: 'array',
    items: object({ epoch: count, dealer: count, reason: { type: 'string' } }),
  },
  refreshes: count,
  refreshing: nullableCount,
  repair: object({
    state: { type: 'string', enum: ['idle', 'running', 'done', 'failed'] },
    epoch: nullableCount,
    repaired: count,
    code: { anyOf: [{ type: 'null' }, { type: 'string', enum: ['TOO_FEW_HELPERS'] }] },
    culprits: {
      type: 'array',
      items: object({ validator: count, fault: { type: 'string' }, attempt: count }),
    },
  }),
  certificates: count,
  lastAssembled: {
    anyOf: [
      { type: 'null' },
      object({
        height: count,
        epoch: count,
        signers: { type: 'array', items: count, maxItems: MAX_VALIDATORS },
      }),
    ],
  },
  suspectedSigners: { type: 'array', items: count, maxItems: MAX_VALIDATORS },
  handovers: { type: 'array', items: handoverSchema, maxItems: HANDOVERS_SERVED_MAX },
});

/**
 * The next height ≥ `height + 1` that is a multiple of `epochBlocks`; null when there is no refresh.
 * @example nextRefreshHeight(1234, 600); // 1800
 */
export function nextRefreshHeight(height: number, epochBlocks: number): number | null {
  if (epochBlocks <= 0) return null;
  return (Math.floor(height / epochBlocks) + 1) * epochBlocks;
}

/**
 * Registers `GET /v1/keys` on `api`. A view without key lifecycle (a fixture) answers 404.
 * @example registerKeys(api, view);
 */
export function registerKeys(api: FastifyInstance, view: NodeView): void {
  api.get(
    '/v1/keys',
    {
      schema: {
        description:
          'The price keyset: current epoch, group key, signers, next refresh and the handover chain',
        response: { 200: keyLifecycleSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async () => {
      const lifecycle = await view.keyLifecycle?.();
      if (lifecycle === undefined) throw new ApiError('NOT_FOUND', 'this node does not run the price keyset');
      return lifecycle;
    },
  );
}
