// The fair-ordering panel (server side: order-flow.ts): encrypted beside plain orders executed,
// their rates, what the envelopes' keys opened, and plain orders refused on an encrypted-only
// market. It reads the same snapshot stream as app.js; every value goes in through textContent.

function setFlow(testId, text, className) {
  const node = document.querySelector(`[data-testid="${testId}"]`);
  if (node === null) return;
  node.textContent = text;
  if (className !== undefined) node.className = className;
}

function perSecond(value) {
  return `${value.toFixed(2)}/s`;
}

function renderOrderFlow(snapshot) {
  const flow = snapshot.orderFlow ?? null;
  if (flow === null) return;
  setFlow('flow-encrypted', String(flow.encryptedExecuted));
  setFlow('flow-plain', String(flow.plainExecuted));
  setFlow('flow-encrypted-rate', flow.rates === null ? '–' : perSecond(flow.rates.encryptedPerSecond));
  setFlow('flow-plain-rate', flow.rates === null ? '–' : perSecond(flow.rates.plainPerSecond));
  setFlow('flow-share', flow.encryptedShare === null ? '–' : `${(flow.encryptedShare * 100).toFixed(1)} %`);
  setFlow(
    'flow-admitted',
    `${flow.envelopesAdmitted}${flow.rates === null ? '' : ` (${perSecond(flow.rates.envelopesPerSecond)})`}`,
  );
  setFlow(
    'flow-opened',
    `${flow.envelopesDecrypted} / ${flow.envelopesUndecryptable}`,
    flow.envelopesUndecryptable > 0 ? 'warn' : 'up',
  );
  setFlow('flow-pooled', String(flow.envelopesPooled));
  setFlow(
    'flow-refused',
    String(flow.encryptionRequiredRefusals),
    flow.encryptionRequiredRefusals > 0 ? 'warn' : 'up',
  );
}

const flowStream = new EventSource('/api/events');
flowStream.addEventListener('message', (event) => renderOrderFlow(JSON.parse(event.data)));
