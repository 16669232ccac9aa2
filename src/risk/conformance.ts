/**
 * The conformance checker for the derivatives security specification (docs/spec/): every control
 * whose check is automatic runs against one `NetworkSnapshot` and its `RiskReport`; every declared
 * control is reported as declared (with the evidence the operator pointed to) or undeclared.
 * Outcomes are returned statuses, never exceptions: a failing control is an answer, not an error.
 *
 * Output forms: the result object (JSON), SARIF 2.1.0 (OASIS) for code-scanning tools, and HTML.
 */
import type { RiskReport } from './assess.ts';
import { escapeHtml } from './html.ts';
import { type NetworkSnapshot, RiskError } from './snapshot.ts';

export const CONTROL_DOMAINS = [
  'consensus',
  'oracle',
  'keys',
  'bridge',
  'ordering',
  'monitoring',
  'parameters',
  'governance',
  'testing',
] as const;

export interface Control {
  id: string;
  title: string;
  domain: (typeof CONTROL_DOMAINS)[number];
  severity: 'critical' | 'high' | 'medium' | 'low';
  requirement: string;
  rationale: string;
  incidents: string[];
  evidence: string;
  check: { method: 'automatic'; checkId: string } | { method: 'declared' };
}

export interface Specification {
  specification: string;
  version: string;
  license: string;
  controls: Control[];
}

export type ControlStatus = 'pass' | 'fail' | 'not-applicable' | 'declared' | 'undeclared';

export interface ControlResult {
  id: string;
  title: string;
  severity: Control['severity'];
  method: Control['check']['method'];
  checkId: string | null;
  status: ControlStatus;
  evidence: string;
}

export interface ConformanceResult {
  format: 'palisade-conformance/1';
  specification: { name: string; version: string };
  url: string;
  takenAtMs: number;
  height: number;
  results: ControlResult[];
  summary: Record<ControlStatus, number> & { total: number; conforms: boolean };
}

type CheckOutcome = { status: 'pass' | 'fail' | 'not-applicable'; evidence: string };
type Check = (snapshot: NetworkSnapshot, report: RiskReport) => CheckOutcome;

const pass = (evidence: string): CheckOutcome => ({ status: 'pass', evidence });
const fail = (evidence: string): CheckOutcome => ({ status: 'fail', evidence });
const outcome = (ok: boolean, evidence: string): CheckOutcome => (ok ? pass(evidence) : fail(evidence));

/** Bounds the automatic checks apply (the specification's numbers, in one place). */
export const CHECK_BOUNDS = Object.freeze({
  finalityP99MsMax: 5000,
  nullifiedShareMax: 0.1,
  sourcesMin: 3,
  governanceKeysMin: 3,
  governanceThresholdMin: 2,
  nakamotoMin: 2,
});

function dispersionCheck(report: RiskReport, dimensions: readonly string[]): CheckOutcome {
  const rows = report.dispersion.byDimension.filter((d) => dimensions.includes(d.dimension));
  const undeclared = rows.filter((d) => d.groups.some((g) => g.group === 'unknown'));
  if (undeclared.length > 0)
    return fail(`not declared for every validator: ${undeclared.map((d) => d.dimension).join(', ')}`);
  const weakest = rows.reduce((w, d) => (d.nakamotoSafety < w.nakamotoSafety ? d : w));
  return outcome(
    weakest.nakamotoSafety >= CHECK_BOUNDS.nakamotoMin,
    rows.map((d) => `${d.dimension}: Nakamoto coefficient for safety ${d.nakamotoSafety}`).join('; '),
  );
}

/** Every automatic check the specification names, by check id. */
export const CHECKS: Readonly<Record<string, Check>> = Object.freeze({
  'consensus.quorum': (snapshot) => {
    const { quorumPower, totalPower, declared } = snapshot.network;
    // More than two thirds of the voting power: 3q > 2n.
    const ok = 3 * quorumPower > 2 * totalPower;
    return outcome(
      ok,
      `quorum ${quorumPower} of ${totalPower} voting power${declared ? '' : ' (derived from the validator count: no /v1/network)'}; needs more than 2/3`,
    );
  },
  'consensus.certificates': (_snapshot, report) => {
    const { checked, withQuorum, verified } = report.finality.certificatesWithQuorum.value;
    if (checked === 0) return fail('no finalized block could be read in the window');
    return outcome(
      withQuorum === checked && (verified === null || verified === checked),
      `${withQuorum} of ${checked} finality certificates carry quorum power; ${verified === null ? 'signatures not verified (no verifier)' : `${verified} of ${checked} verify`}`,
    );
  },
  'consensus.dispersion': (_snapshot, report) =>
    dispersionCheck(report, ['operator', 'jurisdiction', 'hosting', 'keyCustody']),
  'consensus.liveness-margin': (_snapshot, report) => {
    const margin = report.dispersion.livenessMargin.value;
    return outcome(
      !margin.finalityStopped && margin.validators >= 1,
      margin.finalityStopped
        ? 'finality has stopped: connected power is below the quorum'
        : `${report.dispersion.connected.value.validators} connected; ${margin.validators} more may fail`,
    );
  },
  'consensus.finality-latency': (_snapshot, report) => {
    const p99 = report.finality.blockIntervalMs.value.p99;
    const nullified = report.finality.nullifiedViewShare.value;
    if (p99 === null || nullified === null)
      return fail('fewer than two consecutive finalized blocks in the window');
    return outcome(
      p99 <= CHECK_BOUNDS.finalityP99MsMax && nullified < CHECK_BOUNDS.nullifiedShareMax,
      `block interval p99 ${p99} ms (at most ${CHECK_BOUNDS.finalityP99MsMax}); ${(nullified * 100).toFixed(2)}% of views nullified (below ${CHECK_BOUNDS.nullifiedShareMax * 100}%)`,
    );
  },
  'consensus.evidence-served': (snapshot) =>
    snapshot.evidenceCount === null
      ? fail('GET /v1/evidence does not answer')
      : pass(`GET /v1/evidence answers with ${snapshot.evidenceCount} pieces of evidence`),
  'oracle.observation-quorum': (snapshot) => {
    const quorum = snapshot.network.quorumPower;
    const power = new Map(snapshot.network.validators.map((v) => [v.index, v.votingPower]));
    if (snapshot.blocks.length === 0) return fail('no finalized block could be read in the window');
    const withQuorum = snapshot.blocks.filter((b) => {
      const observers = new Set(b.observations.map((o) => o.validator));
      return [...observers].reduce((s, i) => s + (power.get(i) ?? 0), 0) >= quorum;
    }).length;
    // A block with fewer observations leaves the price as it was (flagged stale by the aggregation
    // rule); a network where most blocks lack a quorum of observers prices from a minority or not at all.
    return outcome(
      2 * withQuorum >= snapshot.blocks.length,
      `${withQuorum} of ${snapshot.blocks.length} blocks carry observations of quorum power (at least half must)`,
    );
  },
  'oracle.certificate-threshold': (snapshot) => {
    // Both the keyset the node signs with now and the one genesis fixes must meet the bound.
    const keysets = [
      ...(snapshot.keyset === null ? [] : [{ source: 'active keyset', ...snapshot.keyset }]),
      ...(snapshot.network.priceKeyset === null
        ? []
        : [{ source: 'genesis', ...snapshot.network.priceKeyset }]),
    ];
    if (keysets.length === 0) return fail('no price keyset is served');
    const quorum = snapshot.network.faultTolerance * 2 + 1;
    return outcome(
      keysets.every((k) => k.threshold >= quorum && k.participants >= k.threshold),
      `${keysets.map((k) => `${k.source}: FROST threshold ${k.threshold} of ${k.participants}`).join('; ')}; 2f + 1 = ${quorum}`,
    );
  },
  'oracle.freshness': (_snapshot, report) => {
    const assets = report.oracle.assets;
    if (assets.length === 0) return fail('no aggregated price is served');
    const stale = assets.filter((a) => a.stale).map((a) => a.symbol);
    const { issuedWithinExpected } = report.oracle.certificates.value;
    return outcome(
      stale.length === 0 && issuedWithinExpected === assets.length,
      `${stale.length === 0 ? 'no asset stale' : `stale: ${stale.join(', ')}`}; certificates within 2 × interval for ${issuedWithinExpected} of ${assets.length} assets`,
    );
  },
  'oracle.sources': (snapshot) => {
    const declared = snapshot.network.oracleSources;
    const counts = snapshot.blocks.flatMap((b) => b.observations.map((o) => o.sourceCount));
    const least = counts.length === 0 ? null : Math.min(...counts);
    if (declared === null && least === null) return fail('neither a source list nor observations are served');
    const enough =
      (declared === null || declared.length >= CHECK_BOUNDS.sourcesMin) &&
      (least === null || least >= CHECK_BOUNDS.sourcesMin);
    return outcome(
      enough,
      `${declared === null ? 'source list not served' : `${declared.length} sources declared`}; least fresh sources in one observation: ${least ?? '—'} (at least ${CHECK_BOUNDS.sourcesMin})`,
    );
  },
  'oracle.confidence': (snapshot) =>
    snapshot.prices.length === 0
      ? fail('no aggregated price is served')
      : outcome(
          snapshot.prices.every((p) => p.price === 0n || p.confidence > 0n),
          `${snapshot.prices.length} prices served with confidence (${snapshot.prices.map((p) => `${p.symbol} ±${p.confidence}`).join(', ')})`,
        ),
  'keys.custody-dispersion': (_snapshot, report) => dispersionCheck(report, ['keyCustody']),
  'bridge.verification': (snapshot) =>
    snapshot.network.bridge === null
      ? { status: 'not-applicable', evidence: 'the network serves no bridge state' }
      : fail('bridge state served but not checked by this version'),
  'bridge.rate-limits': (snapshot) =>
    snapshot.network.bridge === null
      ? { status: 'not-applicable', evidence: 'the network serves no bridge state' }
      : fail('bridge state served but not checked by this version'),
  'bridge.pause': (snapshot) =>
    snapshot.network.bridge === null
      ? { status: 'not-applicable', evidence: 'the network serves no bridge state' }
      : fail('bridge state served but not checked by this version'),
  'monitoring.findings-served': (snapshot) =>
    snapshot.findings === null
      ? fail('GET /v1/findings does not answer: no monitor runs')
      : pass(`GET /v1/findings answers (${snapshot.findings.length} findings)`),
  'governance.threshold': (snapshot) => {
    const governance = snapshot.network.governance;
    if (governance === null) return fail('the network does not publish its governance keys (no /v1/network)');
    return outcome(
      governance.threshold >= CHECK_BOUNDS.governanceThresholdMin &&
        governance.keys >= CHECK_BOUNDS.governanceKeysMin,
      `governance needs ${governance.threshold} of ${governance.keys} keys (at least ${CHECK_BOUNDS.governanceThresholdMin} of ${CHECK_BOUNDS.governanceKeysMin})`,
    );
  },
});

const ID_PATTERN = /^PDS-[A-Z]{3}-[0-9]{2}$/;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

function text(value: unknown, field: string, min = 1): string {
  if (typeof value !== 'string' || value.length < min)
    throw new RiskError('INVALID_SPEC', `${field} must be a string of at least ${min} characters`, field);
  return value;
}

/**
 * Parses a specification (docs/spec/controls.json's shape, which controls.schema.json describes).
 * @throws RiskError `INVALID_SPEC` naming the field at fault, or an automatic check this version lacks
 */
export function parseSpecification(json: unknown): Specification {
  if (typeof json !== 'object' || json === null) throw new RiskError('INVALID_SPEC', 'not an object', '');
  const record = json as Record<string, unknown>;
  const controlsValue = record.controls;
  if (!Array.isArray(controlsValue) || controlsValue.length === 0 || controlsValue.length > 500)
    throw new RiskError('INVALID_SPEC', 'controls must be a list of 1 to 500', 'controls');
  const ids = new Set<string>();
  const controls = controlsValue.map((value, i): Control => {
    const at = `controls[${i}]`;
    if (typeof value !== 'object' || value === null) throw new RiskError('INVALID_SPEC', 'not an object', at);
    const c = value as Record<string, unknown>;
    const id = text(c.id, `${at}.id`);
    if (!ID_PATTERN.test(id)) throw new RiskError('INVALID_SPEC', `id ${id} is not PDS-XXX-NN`, `${at}.id`);
    if (ids.has(id)) throw new RiskError('INVALID_SPEC', `duplicate id ${id}`, `${at}.id`);
    ids.add(id);
    const domain = text(c.domain, `${at}.domain`) as Control['domain'];
    if (!CONTROL_DOMAINS.includes(domain))
      throw new RiskError('INVALID_SPEC', `unknown domain ${domain}`, `${at}.domain`);
    const severity = text(c.severity, `${at}.severity`) as Control['severity'];
    if (!SEVERITIES.includes(severity))
      throw new RiskError('INVALID_SPEC', `unknown severity ${severity}`, `${at}.severity`);
    const check = c.check as Record<string, unknown> | undefined;
    let parsedCheck: Control['check'];
    if (check?.method === 'automatic') {
      const checkId = text(check.checkId, `${at}.check.checkId`);
      if (!(checkId in CHECKS))
        throw new RiskError(
          'INVALID_SPEC',
          `no automatic check ${checkId} in this version`,
          `${at}.check.checkId`,
        );
      parsedCheck = { method: 'automatic', checkId };
    } else if (check?.method === 'declared') parsedCheck = { method: 'declared' };
    else throw new RiskError('INVALID_SPEC', 'check.method must be automatic or declared', `${at}.check`);
    if (!Array.isArray(c.incidents) || c.incidents.some((x) => typeof x !== 'string'))
      throw new RiskError('INVALID_SPEC', 'incidents must be a list of names', `${at}.incidents`);
    return {
      id,
      title: text(c.title, `${at}.title`),
      domain,
      severity,
      requirement: text(c.requirement, `${at}.requirement`, 20),
      rationale: text(c.rationale, `${at}.rationale`, 20),
      incidents: [...(c.incidents as string[])],
      evidence: text(c.evidence, `${at}.evidence`, 10),
      check: parsedCheck,
    };
  });
  return {
    specification: text(record.specification, 'specification'),
    version: text(record.version, 'version'),
    license: text(record.license, 'license'),
    controls,
  };
}

/** Declared evidence an operator points to, by control id (e.g. a document URL or a CI run). */
export type DeclaredEvidence = Readonly<Record<string, string>>;

/**
 * Runs `spec` against one snapshot and its report.
 * @example const result = checkConformance(spec, snapshot, assessRisk(snapshot));
 */
export function checkConformance(
  spec: Specification,
  snapshot: NetworkSnapshot,
  report: RiskReport,
  declared: DeclaredEvidence = {},
): ConformanceResult {
  const results = spec.controls.map((control): ControlResult => {
    const common = {
      id: control.id,
      title: control.title,
      severity: control.severity,
      method: control.check.method,
    };
    if (control.check.method === 'automatic') {
      const checked = CHECKS[control.check.checkId]!(snapshot, report);
      return { ...common, checkId: control.check.checkId, ...checked };
    }
    const pointer = declared[control.id];
    return pointer === undefined
      ? {
          ...common,
          checkId: null,
          status: 'undeclared',
          evidence: `no evidence declared; expected: ${control.evidence}`,
        }
      : { ...common, checkId: null, status: 'declared', evidence: pointer };
  });
  const count = (status: ControlStatus) => results.filter((r) => r.status === status).length;
  const summary = {
    pass: count('pass'),
    fail: count('fail'),
    'not-applicable': count('not-applicable'),
    declared: count('declared'),
    undeclared: count('undeclared'),
    total: results.length,
    conforms: count('fail') === 0,
  };
  return {
    format: 'palisade-conformance/1',
    specification: { name: spec.specification, version: spec.version },
    url: snapshot.url,
    takenAtMs: snapshot.takenAtMs,
    height: snapshot.height,
    results,
    summary,
  };
}

const SARIF_KIND: Record<ControlStatus, string> = {
  pass: 'pass',
  fail: 'fail',
  'not-applicable': 'notApplicable',
  declared: 'review',
  undeclared: 'open',
};
const SARIF_LEVEL: Record<Control['severity'], 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
};

/** The result as a SARIF 2.1.0 log: one rule per control, one result per control. */
export function conformanceSarif(
  spec: Specification,
  result: ConformanceResult,
  toolVersion: string,
): object {
  const index = new Map(spec.controls.map((c, i) => [c.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'palisade-conformance',
            version: toolVersion,
            semanticVersion: toolVersion,
            informationUri: 'https://github.com/palisade/palisade/tree/main/docs/spec',
            rules: spec.controls.map((c) => ({
              id: c.id,
              name: c.title
                .replace(/[^A-Za-z0-9]+/g, ' ')
                .trim()
                .replace(/ /g, ''),
              shortDescription: { text: c.title },
              fullDescription: { text: c.requirement },
              help: { text: `${c.rationale}\nEvidence: ${c.evidence}` },
              defaultConfiguration: { level: SARIF_LEVEL[c.severity] },
              properties: { domain: c.domain, incidents: c.incidents, check: c.check.method },
            })),
          },
        },
        automationDetails: { id: `palisade-conformance/${spec.version}/` },
        results: result.results.map((r) => ({
          ruleId: r.id,
          ruleIndex: index.get(r.id)!,
          kind: SARIF_KIND[r.status],
          // SARIF §3.27.10: a result whose kind is not "fail" has level "none".
          level: r.status === 'fail' ? SARIF_LEVEL[r.severity] : 'none',
          message: { text: `${r.status}: ${r.evidence}` },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: result.url } },
              logicalLocations: [{ name: r.checkId ?? r.id, kind: 'module' }],
            },
          ],
        })),
        properties: { height: result.height, summary: result.summary },
      },
    ],
  };
}

/** The result as one self-contained HTML page. */
export function conformanceHtml(result: ConformanceResult): string {
  const rows = result.results
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.id)}</td><td>${escapeHtml(r.title)}</td><td class="${r.status === 'fail' ? 'fail' : r.status === 'pass' ? 'pass' : ''}">${escapeHtml(r.status)}</td><td>${escapeHtml(r.method)}</td><td>${escapeHtml(r.evidence)}</td></tr>`,
    )
    .join('');
  const s = result.summary;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Conformance report</title><style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}.pass{color:#2e9e55}.fail{color:#d23c3c;font-weight:bold}</style></head><body><h1>${escapeHtml(result.specification.name)} ${escapeHtml(result.specification.version)}</h1><p>${escapeHtml(result.url)} at height ${result.height}: ${s.pass} pass, ${s.fail} fail, ${s['not-applicable']} not applicable, ${s.declared} declared, ${s.undeclared} undeclared of ${s.total}.</p><table><tr><th>id</th><th>control</th><th>status</th><th>check</th><th>evidence</th></tr>${rows}</table></body></html>\n`;
}
