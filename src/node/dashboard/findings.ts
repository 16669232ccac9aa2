/**
 * The dashboard's findings panel, server side: every poll asks each validator that answered for its
 * latest findings (`GET /v1/findings`) and merges them, newest first, one row per finding and
 * validator (the same occurrence seen by several validators shows once per validator: an own-
 * observation deviation on one of them is a different story from one on all). Validators without
 * a monitor, or that fail to answer, simply contribute nothing. The page renders the rows with
 * `findings-panel.js`.
 */
import type { Finding } from '../../monitor/finding.ts';

/** Rows kept in a snapshot, and asked of each validator. */
export const FINDINGS_SHOWN = 50;

export interface DashboardFinding extends Finding {
  /** The validator that reported it. */
  validator: number;
}

/**
 * Reads `/v1/findings` from one validator; the body is always read to the end, so a refusal (a
 * node without the route answers 404) hands its connection back to the pool instead of holding it.
 */
export async function fetchFindings(apiUrl: string, timeoutMs: number): Promise<{ findings: Finding[] }> {
  const response = await fetch(new URL(`/v1/findings?limit=${FINDINGS_SHOWN}`, apiUrl), {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`/v1/findings: HTTP ${response.status}`);
  const body = JSON.parse(text) as { findings?: unknown };
  if (!Array.isArray(body.findings)) throw new Error('/v1/findings: no findings list');
  return { findings: body.findings as Finding[] };
}

/**
 * Merges the validators' latest findings, newest first (by time, then height, then validator).
 * @example const rows = await pollFindings(validators, (apiUrl) => fetchFindings(apiUrl, 800));
 */
export async function pollFindings(
  validators: ReadonlyArray<{ index: number; apiUrl: string }>,
  get: (apiUrl: string) => Promise<{ findings: Finding[] }>,
): Promise<DashboardFinding[]> {
  const answers = await Promise.all(
    validators.map(async (validator) => {
      try {
        const { findings } = await get(validator.apiUrl);
        return findings
          .slice(0, FINDINGS_SHOWN)
          .map((finding) => ({ ...finding, validator: validator.index }));
      } catch {
        return [];
      }
    }),
  );
  return answers
    .flat()
    .sort((a, b) => b.timeMs - a.timeMs || b.height - a.height || a.validator - b.validator)
    .slice(0, FINDINGS_SHOWN);
}
