/**
 * Self-contained HTML pages for the risk report and the conformance report: inline CSS and
 * inline SVG charts only, no script and no outside request (a report is opened from disk or
 * mailed). Every string that came from the network is escaped.
 */
import type { RiskReport } from './assess.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function format(value: number | null, digits = 1): string {
  return value === null ? '—' : Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export interface RosettePetal {
  label: string;
  /** 0 (worst) to 1 (best); null: not applicable. */
  score: number | null;
  text: string;
}

/** L2BEAT-style rosette: one slice per dimension, its length and colour the score. */
export function rosetteSvg(petals: readonly RosettePetal[], size = 260): string {
  const centre = size / 2;
  const radius = size / 2 - 40;
  const slice = (2 * Math.PI) / petals.length;
  const parts: string[] = [];
  for (const [i, petal] of petals.entries()) {
    const start = i * slice - Math.PI / 2;
    const end = start + slice;
    const r = petal.score === null ? radius : radius * (0.25 + 0.75 * petal.score);
    const colour =
      petal.score === null
        ? '#bbb'
        : petal.score >= 0.75
          ? '#2e9e55'
          : petal.score >= 0.4
            ? '#e0a21b'
            : '#d23c3c';
    const x1 = centre + r * Math.cos(start);
    const y1 = centre + r * Math.sin(start);
    const x2 = centre + r * Math.cos(end);
    const y2 = centre + r * Math.sin(end);
    parts.push(
      `<path d="M${centre},${centre} L${x1.toFixed(1)},${y1.toFixed(1)} A${r.toFixed(1)},${r.toFixed(1)} 0 0 1 ${x2.toFixed(1)},${y2.toFixed(1)} Z" fill="${colour}" stroke="#fff" stroke-width="2"><title>${escapeHtml(`${petal.label}: ${petal.text}`)}</title></path>`,
    );
    const mid = start + slice / 2;
    const lx = centre + (radius + 22) * Math.cos(mid);
    const ly = centre + (radius + 22) * Math.sin(mid);
    parts.push(
      `<text x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" font-size="11" text-anchor="middle">${escapeHtml(petal.label)}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="risk rosette" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">${parts.join('')}</svg>`;
}

/** A line chart of `points` (x ascending). */
export function seriesSvg(
  points: ReadonlyArray<{ x: number; y: number }>,
  options: { label: string; unit: string; width?: number; height?: number },
): string {
  const width = options.width ?? 520;
  const height = options.height ?? 160;
  const pad = 36;
  if (points.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="40"><text x="4" y="24" font-size="12">${escapeHtml(options.label)}: no data in the window</text></svg>`;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yMax = Math.max(1, ...ys);
  const sx = (x: number) => pad + ((x - xMin) / Math.max(1, xMax - xMin)) * (width - 2 * pad);
  const sy = (y: number) => height - pad + 10 - (y / yMax) * (height - 2 * pad);
  const path = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
    .join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(options.label)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<line x1="${pad}" y1="${sy(0)}" x2="${width - pad}" y2="${sy(0)}" stroke="#999"/>
<line x1="${pad}" y1="${sy(yMax)}" x2="${pad}" y2="${sy(0)}" stroke="#999"/>
<text x="2" y="${sy(yMax) + 4}" font-size="10">${escapeHtml(format(yMax))}</text>
<text x="${pad}" y="${height - 4}" font-size="10">${xMin}</text>
<text x="${width - pad}" y="${height - 4}" font-size="10" text-anchor="end">${xMax}</text>
<text x="${width / 2}" y="12" font-size="12" text-anchor="middle">${escapeHtml(`${options.label} (${options.unit})`)}</text>
<path d="${path}" fill="none" stroke="#2b6cb0" stroke-width="1.5"/></svg>`;
}

/** Scores of the rosette, from the report (documented in docs/risk.md). */
export function rosetteOf(report: RiskReport): RosettePetal[] {
  const { dispersion, finality, oracle } = report;
  const n = dispersion.validators.length;
  const safetyBest = Math.max(1, Math.floor(n / 3) + 1);
  const p99 = finality.blockIntervalMs.value.p99;
  const uptimes = oracle.perValidator.value.map((v) => v.uptime);
  const oracleScore =
    uptimes.length === 0 ? 0 : Math.min(...uptimes) * (oracle.assets.some((a) => a.stale) ? 0.5 : 1);
  return [
    {
      label: 'Collusion',
      score: Math.min(1, dispersion.nakamotoSafety.value / safetyBest),
      text: `Nakamoto coefficient for safety ${dispersion.nakamotoSafety.value} of at most ${safetyBest}`,
    },
    {
      label: 'Liveness',
      score: dispersion.livenessMargin.value.finalityStopped
        ? 0
        : Math.min(1, dispersion.livenessMargin.value.validators / Math.max(1, Math.floor((n - 1) / 3))),
      text: `${dispersion.livenessMargin.value.validators} more validators may fail`,
    },
    {
      label: 'Settlement',
      score: p99 === null ? 0 : Math.max(0, Math.min(1, 1 - Math.log10(Math.max(1, p99 / 500)) / 2)),
      text: `block interval p99 ${format(p99)} ms`,
    },
    {
      label: 'Oracle',
      score: oracleScore,
      text: `least validator oracle uptime ${format(oracleScore * 100)}%`,
    },
    { label: 'Bridge', score: null, text: 'not applicable' },
  ];
}

const STYLE =
  'body{font:14px system-ui,sans-serif;margin:2em;max-width:60em;color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.method{color:#666;font-size:12px}.pass{color:#2e9e55}.fail{color:#d23c3c}';

function row(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
}

function figure(label: string, value: string, method: string): string {
  return `<p><b>${escapeHtml(label)}</b>: ${escapeHtml(value)}<br><span class="method">${escapeHtml(method)}</span></p>`;
}

/** The risk report as one HTML page. */
export function riskReportHtml(report: RiskReport): string {
  const { dispersion: d, finality: f, oracle: o, premium } = report;
  const body = [
    `<h1>Palisade risk report</h1><p>${escapeHtml(report.url)} at height ${report.height}, ${escapeHtml(new Date(report.takenAtMs).toISOString())}; window ${report.window.blocks} blocks (${report.window.fromHeight ?? '—'} to ${report.window.toHeight ?? '—'}).</p>`,
    rosetteSvg(rosetteOf(report)),
    `<h2>Expected loss: ${premium.expectedLossBpsPerYear.toFixed(2)} bps/year</h2>`,
    `<table>${row(['component', 'loss (bps/yr)', 'method'], true)}${(['safety', 'liveness', 'pricing', 'bridge'] as const).map((k) => row([k, premium.components[k].lossBps.toFixed(3), premium.components[k].method])).join('')}</table>`,
    `<table>${row(['assumption', 'value', 'meaning'], true)}${premium.assumptions.map((a) => row([a.name, String(a.value), a.meaning])).join('')}</table>`,
    '<h2>Validator dispersion</h2>',
    figure('Nakamoto coefficient (safety)', String(d.nakamotoSafety.value), d.nakamotoSafety.method),
    figure('Nakamoto coefficient (liveness)', String(d.nakamotoLiveness.value), d.nakamotoLiveness.method),
    figure('Connected', `${d.connected.value.validators} of ${d.validators.length}`, d.connected.method),
    figure(
      'More may fail before finality stops',
      d.livenessMargin.value.finalityStopped
        ? 'none: finality has stopped'
        : String(d.livenessMargin.value.validators),
      d.livenessMargin.method,
    ),
    `<table>${row(['validator', 'power', 'share', 'connected', 'operator', 'jurisdiction', 'hosting', 'key custody'], true)}${d.validators.map((v) => row([String(v.index), String(v.votingPower), `${(v.share * 100).toFixed(1)}%`, v.connected ? 'yes' : 'no', v.operator, v.jurisdiction, v.hosting, v.keyCustody])).join('')}</table>`,
    `<table>${row(['grouping', 'groups (share)', 'Nakamoto safety', 'Nakamoto liveness'], true)}${d.byDimension.map((x) => row([x.dimension, x.groups.map((g) => `${g.group} ${(g.share * 100).toFixed(0)}%`).join(', '), String(x.nakamotoSafety), String(x.nakamotoLiveness)])).join('')}</table>`,
    '<h2>Finality</h2>',
    figure(
      'Block interval',
      `p50 ${format(f.blockIntervalMs.value.p50)} ms, p99 ${format(f.blockIntervalMs.value.p99)} ms, max ${format(f.blockIntervalMs.value.max)} ms`,
      f.blockIntervalMs.method,
    ),
    figure(
      'Finality latency (node histogram)',
      `p50 ≤ ${format(f.finalityLatencyMs.value.p50)} ms, p99 ≤ ${format(f.finalityLatencyMs.value.p99)} ms over ${f.finalityLatencyMs.value.observations}`,
      f.finalityLatencyMs.method,
    ),
    figure(
      'Views nullified',
      f.nullifiedViewShare.value === null ? '—' : `${(f.nullifiedViewShare.value * 100).toFixed(2)}%`,
      f.nullifiedViewShare.method,
    ),
    figure(
      'Certificates with quorum',
      `${f.certificatesWithQuorum.value.withQuorum} of ${f.certificatesWithQuorum.value.checked}`,
      f.certificatesWithQuorum.method,
    ),
    seriesSvg(
      f.series.map((s) => ({ x: s.height, y: s.intervalMs })),
      { label: 'block interval', unit: 'ms' },
    ),
    '<h2>Oracle</h2>',
    `<table>${row(['asset', 'stale', 'staleness (ms)', 'confidence width (bps)', 'certificate height', 'lag (blocks)'], true)}${o.assets.map((a) => row([a.symbol, a.stale ? 'yes' : 'no', String(a.stalenessMs), format(a.confidenceWidthBps, 2), format(a.certificateHeight), format(a.certificateLagBlocks)])).join('')}</table>`,
    `<table>${row(['validator', 'uptime', 'staleness p50 (ms)', 'max', 'deviation mean (bps)', 'max', 'confidence width (bps)', 'finalizations signed'], true)}${o.perValidator.value.map((v) => row([String(v.validator), `${(v.uptime * 100).toFixed(1)}%`, format(v.stalenessMsP50), format(v.stalenessMsMax), format(v.deviationBpsMean, 2), format(v.deviationBpsMax, 2), format(v.confidenceWidthBpsMean, 2), String(v.finalizationsSigned)])).join('')}</table>`,
    `<p class="method">${escapeHtml(o.perValidator.method)}</p>`,
    o.perSource.value === null
      ? '<p>Per source: the node serves neither sources nor findings.</p>'
      : `<table>${row(['source', 'status', 'uptime', 'stuck findings', 'diverging findings'], true)}${o.perSource.value.map((s) => row([s.source, s.status, `${(s.uptime * 100).toFixed(1)}%`, String(s.stuckFindings), String(s.divergingFindings)])).join('')}</table><p class="method">${escapeHtml(o.perSource.method)}</p>`,
    figure(
      'Certificates issued as expected',
      `${o.certificates.value.issuedWithinExpected} of ${o.certificates.value.assets} assets`,
      o.certificates.method,
    ),
    seriesSvg(
      o.series.map((s) => ({ x: s.height, y: s.deviationBpsMax })),
      { label: 'largest observation deviation from the block median', unit: 'bps' },
    ),
    '<h2>Bridge</h2>',
    `<p>Not applicable: ${escapeHtml(report.bridge.reason)}</p>`,
  ];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Palisade risk report</title><style>${STYLE}</style></head><body>${body.join('\n')}</body></html>\n`;
}
