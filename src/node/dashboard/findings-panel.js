// The findings panel (server side: findings.ts): newest first, one row per finding and validator.
// It reads the same snapshot stream as app.js, and every value goes in through textContent, so
// a description or metadata value a detector copied from the outside can never become markup.
const SEVERITY_CLASS = { Critical: 'down', High: 'down', Medium: 'warn', Low: 'dim', Info: 'dim' };

function cell(row, text, className) {
  const node = document.createElement('td');
  node.textContent = text;
  if (className !== undefined) node.className = className;
  row.append(node);
}

function renderFindings(snapshot) {
  const table = document.querySelector('[data-testid="findings"]');
  if (table === null) return;
  const body = table.querySelector('tbody');
  const findings = Array.isArray(snapshot.findings) ? snapshot.findings : [];
  const rows = findings.map((finding) => {
    const row = document.createElement('tr');
    row.dataset.severity = finding.severity;
    row.dataset.alertId = finding.alertId;
    cell(row, new Date(finding.timeMs).toLocaleTimeString());
    cell(row, String(finding.height));
    cell(row, String(finding.validator));
    cell(row, finding.severity, SEVERITY_CLASS[finding.severity]);
    cell(row, finding.type);
    cell(row, finding.alertId);
    cell(row, finding.description, 'description');
    return row;
  });
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const empty = document.createElement('td');
    empty.colSpan = 7;
    empty.className = 'empty';
    empty.textContent = 'no findings';
    row.append(empty);
    rows.push(row);
  }
  body.replaceChildren(...rows);
}

const stream = new EventSource('/api/events');
stream.addEventListener('message', (event) => renderFindings(JSON.parse(event.data)));
