// The keyset panel (server side: keys.ts): the epoch, group key and threshold the validators sign
// with, when the next refresh starts, the handover chain, and each signer's epoch. It reads the
// same snapshot stream as app.js; every value goes in through textContent.

function cell(row, text, className) {
  const node = document.createElement('td');
  node.textContent = text;
  if (className !== undefined) node.className = className;
  row.append(node);
}

function shortHex(hex) {
  return typeof hex === 'string' && hex.length > 16 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : String(hex);
}

function setText(testId, text, className) {
  const node = document.querySelector(`[data-testid="${testId}"]`);
  if (node === null) return;
  node.textContent = text;
  if (className !== undefined) node.className = className;
}

function renderKeys(snapshot) {
  const keys = snapshot.keys ?? null;
  setText('epoch', keys === null ? '–' : String(keys.epoch));
  setText('keyset-epoch', keys === null ? 'no keyset yet' : String(keys.epoch));
  setText('keyset-group-key', keys === null ? '–' : shortHex(keys.groupPublicKey));
  setText('keyset-threshold', keys === null ? '–' : `${keys.threshold} of ${keys.signers.length}`);
  setText(
    'keyset-next-refresh',
    keys === null || keys.nextRefreshHeight === null
      ? 'never (epochBlocks 0)'
      : `height ${keys.nextRefreshHeight} (every ${keys.epochBlocks})`,
  );
  setText(
    'keyset-handovers',
    keys === null || keys.lastHandover === null
      ? 'none'
      : `${keys.handovers}, latest ${keys.lastHandover.fromEpoch} → ${keys.lastHandover.toEpoch}`,
  );
  const left = keys === null ? [] : keys.refreshDisqualified;
  setText(
    'keyset-left-out',
    left.length === 0 ? 'nobody' : left.map((entry) => `#${entry.dealer} ${entry.reason}`).join(', '),
    left.length === 0 ? 'up' : 'warn',
  );
  const lastCertificate = keys === null ? null : (keys.lastCertificate ?? null);
  setText(
    'keyset-last-signers',
    lastCertificate === null
      ? 'none yet'
      : `${lastCertificate.signers.map((index) => `#${index}`).join(', ')} (height ${lastCertificate.height}, epoch ${lastCertificate.epoch}, assembled by #${lastCertificate.assembledBy})`,
  );
  const table = document.querySelector('[data-testid="signers"]');
  if (table === null) return;
  const rows = (keys === null ? [] : keys.signers).map((signer) => {
    const row = document.createElement('tr');
    row.dataset.testid = 'signer-row';
    cell(row, String(signer.index));
    cell(row, shortHex(signer.publicKey), 'hash');
    const current = signer.epoch === keys.epoch;
    cell(
      row,
      signer.epoch === null ? '–' : String(signer.epoch),
      signer.epoch === null ? 'down' : current ? 'up' : 'warn',
    );
    cell(
      row,
      !signer.up ? 'down' : current ? 'signing' : 'catching up',
      !signer.up ? 'down' : current ? 'up' : 'warn',
    );
    const suspectedBy = signer.suspectedBy ?? [];
    cell(
      row,
      suspectedBy.length === 0 ? 'nobody' : suspectedBy.map((index) => `#${index}`).join(', '),
      suspectedBy.length === 0 ? 'up' : 'warn',
    );
    return row;
  });
  table.querySelector('tbody').replaceChildren(...rows);
}

const keyStream = new EventSource('/api/events');
keyStream.addEventListener('message', (event) => renderKeys(JSON.parse(event.data)));
