/**
 * `GET /v1/eon`: the fair-ordering eon keyset clients encrypt orders to (issue 14), as this
 * validator holds it.
 *
 *   state        'disabled' (the network takes no encrypted orders), 'pending' (the validators'
 *                eon DKG is still running: envelopes are refused with EON_KEY_PENDING, no block
 *                runs yet) or 'ready'
 *   source       'genesis' (the genesis lists the keyset) or 'dkg' (the validators made it)
 *   eonPublicKey, threshold, publicShares   the keyset (96-byte compressed G2, 0x-hex)
 *   qualified, commitment, attestations      for 'dkg': the dealers combined, Σ Γ_j (t points) and
 *                n − f validators' sealed attestations of that transcript — what a client checks
 *                against the keys of a set it trusts (the genesis validators for the genesis eon)
 *                with `verifyEonKeysetJson` (src/node/eon-client.ts), or through a light client
 *                (src/node/light-client.ts `verifyEonKeyset`), instead of trusting this node
 *   disqualified dealers this validator's DKG left out, with why
 *   fromHeight, untilHeight, validators, next   with eon epochs (a fresh eon per validator
 *                epoch, src/chain/eon-schedule.ts): the eon served is the one that applies at the
 *                next height, as a finalized block recorded it; `validators` is its window's set
 *                as this node says (a client checks the attestations against the set it follows
 *                itself, never against this list); `next` is the next window's once
 *                recorded, so a client encrypting for a height past `untilHeight` uses it. While no
 *                eon applies at the next height the state is 'pending'
 */
import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../../codec/json.ts';
import { MAX_VALIDATORS } from '../../codec/oracle.ts';
import type { NodeView } from '../view.ts';
import { ApiError } from './errors.ts';
import { errorSchema, object } from './schemas.ts';

export interface EonKeysetJson {
  state: 'disabled' | 'pending' | 'ready';
  source: 'genesis' | 'dkg' | null;
  eon: number | null;
  /** 96-byte compressed G2, 0x-hex; null until ready. */
  eonPublicKey: string | null;
  threshold: number | null;
  /** P_i by validator index. */
  publicShares: string[];
  encryptedOnlySeries: number[];
  qualified: number[];
  commitment: string[];
  /** `SealedEonKeygen` encodings, 0x-hex. */
  attestations: string[];
  disqualified: { dealer: number; reason: string }[];
  /**
   * With eon epochs (src/chain/eon-schedule.ts): the heights this eon applies at (from a recorded
   * block, up to its window's end), the keys of its keypers (its window's validators: what its
   * attestations are checked against), and the next window's eon once recorded (null before).
   */
  fromHeight?: number;
  untilHeight?: number;
  validators?: string[];
  next?: EonKeysetJson | null;
}

const count: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const nullableCount: JsonSchema = { anyOf: [{ type: 'null' }, count] };
const g2: JsonSchema = { type: 'string', pattern: '^0x[0-9a-f]{192}$' };
const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items, maxItems: MAX_VALIDATORS });

const ed25519Key: JsonSchema = { type: 'string', pattern: '^0x[0-9a-f]{64}$' };

const eonKeysetProperties: { [key: string]: JsonSchema } = {
  state: { type: 'string', enum: ['disabled', 'pending', 'ready'] },
  source: { anyOf: [{ type: 'null' }, { type: 'string', enum: ['genesis', 'dkg'] }] },
  eon: nullableCount,
  eonPublicKey: { anyOf: [{ type: 'null' }, g2] },
  threshold: nullableCount,
  publicShares: list(g2),
  encryptedOnlySeries: { type: 'array', items: count, maxItems: 10_000 },
  qualified: list(count),
  commitment: list(g2),
  attestations: list({ type: 'string', pattern: '^0x([0-9a-f]{2})*$' }),
  disqualified: list(object({ dealer: count, reason: { type: 'string' } })),
  fromHeight: count,
  untilHeight: count,
  validators: list(ed25519Key),
};
const epochFields = ['fromHeight', 'untilHeight', 'validators'];

export const eonKeysetSchema = object(
  { ...eonKeysetProperties, next: { anyOf: [{ type: 'null' }, object(eonKeysetProperties, epochFields)] } },
  [...epochFields, 'next'],
);

/**
 * Registers `GET /v1/eon` on `api`. A view without it (a fixture) answers 404.
 * @example registerEon(api, view);
 */
export function registerEon(api: FastifyInstance, view: NodeView): void {
  api.get(
    '/v1/eon',
    {
      schema: {
        description: 'The fair-ordering eon keyset orders are encrypted to, and how the validators made it',
        response: { 200: eonKeysetSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async () => {
      const eon = await view.eonKeyset?.();
      if (eon === undefined) throw new ApiError('NOT_FOUND', 'this node serves no eon keyset');
      return eon;
    },
  );
}
