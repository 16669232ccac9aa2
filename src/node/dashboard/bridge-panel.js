// The bridge panel (server side: bridge.ts): the vault's deposits, balance, rate-limit buckets,
// delay threshold and pause as the EVM node holds them, and the latest checkpoint's withdrawals.
// It reads the same snapshot stream as app.js; every value goes in through textContent.

function setText(testId, text) {
  const node = document.querySelector(`[data-testid="${testId}"]`);
  if (node !== null) node.textContent = text;
}

function pusd(units) {
  if (units === null || units === undefined) return '–';
  const value = BigInt(units);
  const whole = value / 1000000n;
  return `${whole.toLocaleString('en-US')} pUSD`;
}

function bucket(b) {
  if (b === null) return '–';
  return `${pusd(b.available)} of ${pusd(b.capacity)}, +${pusd(b.ratePerSecond)}/s`;
}

function renderBridge(snapshot) {
  const bridge = snapshot.bridge ?? null;
  const section = document.querySelector('[data-testid="bridge"]');
  if (section === null) return;
  section.hidden = bridge === null;
  if (bridge === null) return;
  setText('bridge-vault', bridge.vault);
  setText('bridge-block', bridge.blockNumber === null ? '–' : String(bridge.blockNumber));
  setText('bridge-deposits', bridge.depositsMade === null ? '–' : String(bridge.depositsMade));
  setText('bridge-balance', pusd(bridge.vaultBalance));
  setText(
    'bridge-withdrawals',
    bridge.checkpoint === null
      ? 'no checkpoint yet'
      : `${bridge.checkpoint.withdrawals} (checkpoint at height ${bridge.checkpoint.height})`,
  );
  setText(
    'bridge-paused',
    bridge.paused === null
      ? '–'
      : bridge.paused.global
        ? 'PAUSED (global curse)'
        : bridge.paused.token
          ? 'PAUSED (token curse)'
          : 'not paused',
  );
  setText('bridge-token-bucket', bucket(bridge.tokenBucket));
  setText('bridge-global-bucket', bucket(bridge.globalBucket));
  setText(
    'bridge-delay',
    bridge.tokenBucket === null
      ? '–'
      : `${pusd(bridge.tokenBucket.delayThreshold)} (wait ${bridge.delaySeconds} s; a guardian can stop it)`,
  );
  setText('bridge-error', bridge.error ?? 'answering');
}

const events = new EventSource('/api/events');
events.onmessage = (message) => renderBridge(JSON.parse(message.data));
fetch('/api/snapshot')
  .then((response) => response.json())
  .then(renderBridge)
  .catch(() => {});
