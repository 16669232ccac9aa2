/**
 * `GET /v1/validators/boundaries/:height`: at a validator-set boundary H (a multiple of genesis
 * `dkg.epochBlocks`), the validator-set record under the state root block H commits (the root
 * after H − 16), its state proof and the opening of that node state root — engine root, prices and,
 * with fair ordering, `fairParts` (src/node/validator-set-proofs.ts). A light client that followed finality to block H — signed by
 * the outgoing set — derives the next set from it (src/node/light-client.ts `acceptValidatorSet`);
 * it trusts none of it before checking it against the root block H commits.
 *
 * Answers `BOUNDARY_NOT_FOUND` for a height that is not a boundary of this chain (or a chain
 * without epochs) and for one whose proof this node does not keep (not reached yet, joined by state
 * sync above it, or pruned): ask another node.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../../codec/json.ts';
import { VALIDATOR_SET_PROOFS_KEPT } from '../validator-set-proofs.ts';
import type { NodeView } from '../view.ts';
import { ApiError } from './errors.ts';
import { errorSchema, object } from './schemas.ts';

export { VALIDATOR_SET_PROOFS_KEPT };

const count: JsonSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const hexBytes: JsonSchema = { type: 'string', pattern: '^0x([0-9a-f]{2})*$' };

const digest: JsonSchema = { type: 'string', pattern: '^0x[0-9a-f]{64}$' };

export const validatorSetProofSchema = object(
  {
    boundaryHeight: count,
    height: count,
    engineStateRoot: digest,
    prices: { type: 'array', items: hexBytes, maxItems: 256 },
    record: hexBytes,
    proof: hexBytes,
    // With fair ordering: the pending batches' and recorded eons' digests the root also hashes.
    fairParts: { type: 'array', items: digest, maxItems: 2 },
  },
  ['fairParts'],
);

/**
 * Registers the route on `api`; a view without it answers BOUNDARY_NOT_FOUND.
 * @example registerValidators(api, view);
 */
export function registerValidators(api: FastifyInstance, view: NodeView): void {
  api.get<{ Params: { height: number } }>(
    '/v1/validators/boundaries/:height',
    {
      schema: {
        description:
          'At a validator-set boundary, the set record under the root the boundary block commits, its state proof and the opening',
        params: object({ height: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }),
        response: { 200: validatorSetProofSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (request) => {
      const { height } = request.params;
      const proof = await view.validatorSetProof?.(height);
      if (proof === undefined)
        throw new ApiError(
          'BOUNDARY_NOT_FOUND',
          `no validator-set proof kept for boundary ${height} (not a boundary, not reached or not kept)`,
          'params/height',
        );
      return proof;
    },
  );
}
