/**
 * `GET /v1/findings` and the `palisade_findings_total` counter: the node's monitor findings
 * (src/monitor), newest first.
 *
 *   GET /v1/findings?severity=High,Critical&type=Exploit&since=<ms>&limit=<n>
 *
 * `severity` and `type` are comma-separated lists (any of them matches; all when absent), `since`
 * keeps findings with `timeMs >= since` (ms since the Unix epoch), `limit` is 1 to 500 (default
 * 100). A node without a monitor answers an empty list. The stream's `findings` topic pushes the
 * same objects as they are made (stream.ts).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { FINDING_TYPES, type FindingType, SEVERITIES, type Severity } from '../../monitor/finding.ts';
import { FINDINGS_PAGE_MAX } from '../../monitor/monitor.ts';
import type { NodeView } from '../view.ts';
import { errorSchema, object } from './schemas.ts';

const DEFAULT_FINDINGS_PER_PAGE = 100;

function listPattern(values: readonly string[]): string {
  const one = `(${values.join('|')})`;
  return `^${one}(,${one}){0,${values.length - 1}}$`;
}

export const findingSchema = object({
  id: { type: 'string', pattern: '^0x[0-9a-f]{64}$' },
  alertId: { type: 'string' },
  name: { type: 'string' },
  description: { type: 'string' },
  severity: { type: 'string', enum: [...SEVERITIES] },
  type: { type: 'string', enum: [...FINDING_TYPES] },
  metadata: { type: 'object', additionalProperties: { type: 'string' } },
  addresses: { type: 'array', items: { type: 'string' } },
  height: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  timeMs: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
});

/**
 * Registers the route on `api` and the counter on `registry`.
 * @example registerFindings(api, view, metrics.registry);
 */
export function registerFindings(api: FastifyInstance, view: NodeView, registry: Registry): void {
  // The monitor keeps running totals; they are copied in at scrape time (as metrics.ts does).
  new Counter({
    name: 'palisade_findings_total',
    help: 'Monitor findings made since start, by alert id and severity',
    labelNames: ['alert_id', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const count of view.findingCounts?.() ?? [])
        this.inc({ alert_id: count.alertId, severity: count.severity }, count.total);
    },
  });

  api.get<{ Querystring: { severity?: string; type?: string; since?: number; limit?: number } }>(
    '/v1/findings',
    {
      schema: {
        description: "The node's monitor findings (Forta-shaped), newest first",
        querystring: object(
          {
            severity: { type: 'string', pattern: listPattern(SEVERITIES) },
            type: { type: 'string', pattern: listPattern(FINDING_TYPES) },
            since: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            limit: { type: 'integer', minimum: 1, maximum: FINDINGS_PAGE_MAX },
          },
          ['severity', 'type', 'since', 'limit'],
        ),
        response: {
          200: object({ findings: { type: 'array', items: findingSchema } }),
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request) => {
      if (view.findings === undefined) return { findings: [] };
      const { severity, type, since, limit } = request.query;
      return {
        findings: await view.findings({
          ...(severity === undefined ? {} : { severities: severity.split(',') as Severity[] }),
          ...(type === undefined ? {} : { types: type.split(',') as FindingType[] }),
          ...(since === undefined ? {} : { sinceMs: since }),
          limit: limit ?? DEFAULT_FINDINGS_PER_PAGE,
        }),
      };
    },
  );
}
