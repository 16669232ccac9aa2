/**
 * `GET /v1/audit-log?from=<sequence>&limit=<n>`: the engine's hash-chained audit log
 * (src/execution/audit.ts) as the node keeps it (src/node/audit-trail.ts), with the head the state
 * root commits, its state proof and the opening of the node state root at the proof's height, so
 * `palisade audit-log --verify` checks the chain link by link, its end against the committed head
 * and (with `--genesis`) that engine root against the one finality commits at height + 16. `limit` is 1 to 1,000 (default 1,000). A node that keeps
 * no log answers 404 `NOT_FOUND`.
 */
import type { FastifyInstance } from 'fastify';
import { jsonSchema } from '../../codec/json.ts';
import { StateProofType } from '../../codec/state-proof.ts';
import type { NodeView } from '../view.ts';
import { ApiError } from './errors.ts';
import { errorSchema, object } from './schemas.ts';

export const AUDIT_LOG_PAGE_MAX = 1000;

const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const hash = { type: 'string', pattern: '^0x[0-9a-f]{64}$' };
const nullableHex = { anyOf: [{ type: 'string', pattern: '^0x([0-9a-f]{2})*$' }, { type: 'null' }] };

const entrySchema = object({
  sequence: count,
  height: count,
  timeMs: count,
  kind: { type: 'string', enum: ['governance', 'parameter', 'response'] },
  action: { type: 'string' },
  details: { type: 'object', additionalProperties: { type: 'string' } },
  previousHash: hash,
  hash,
});

export function registerAuditLog(api: FastifyInstance, view: NodeView): void {
  api.get<{ Querystring: { from?: number; limit?: number } }>(
    '/v1/audit-log',
    {
      schema: {
        description: "The engine's audit log from a sequence, with the committed head and its state proof",
        querystring: object(
          { from: count, limit: { type: 'integer', minimum: 1, maximum: AUDIT_LOG_PAGE_MAX } },
          ['from', 'limit'],
        ),
        response: {
          200: object({
            chainId: count,
            entries: { type: 'array', items: entrySchema },
            head: object({ sequence: count, hash }),
            proof: object({
              height: count,
              stateRoot: hash,
              key: hash,
              value: nullableHex,
              proof: jsonSchema(StateProofType),
            }),
            opening: object(
              {
                engineStateRoot: hash,
                prices: { type: 'array', items: { type: 'string', pattern: '^0x([0-9a-f]{2})*$' } },
                fairParts: { type: 'array', items: hash, maxItems: 2 },
              },
              ['fairParts'],
            ),
          }),
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request) => {
      if (view.auditLog === undefined) throw new ApiError('NOT_FOUND', 'this node keeps no audit log');
      return view.auditLog({
        from: request.query.from ?? 0,
        limit: request.query.limit ?? AUDIT_LOG_PAGE_MAX,
      });
    },
  );
}
