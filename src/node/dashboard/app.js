// The dashboard page: renders the snapshots the dashboard server pushes over Server-Sent Events.
// Plain DOM and SVG, no framework and no build step; every value goes in through textContent, so
// nothing a node says can inject markup into the operator's page.

const QUOTE_DECIMALS = 6;
const svgNamespace = 'http://www.w3.org/2000/svg';

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function row(cells, attributes = {}) {
  const tr = element('tr', attributes);
  for (const cell of cells) {
    const td =
      typeof cell === 'object' && cell !== null
        ? element('td', cell.attributes ?? {}, cell.text)
        : element('td', {}, String(cell));
    tr.append(td);
  }
  return tr;
}

function byTestId(id) {
  return document.querySelector(`[data-testid="${id}"]`);
}

/** A decimal string scaled by 10^exponent, with thousands separators. */
function scaled(decimal, exponent, digits = 2) {
  const value = Number(decimal) * 10 ** exponent;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function usd(baseUnits, digits = 2) {
  return scaled(String(baseUnits), -QUOTE_DECIMALS, digits);
}

function shortKey(hex) {
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

/** The mark's greeks per contract in the venue convention (vega per vol point, theta per day). */
function greeksLine(greeks) {
  const round = (value, places) => Number(value).toFixed(places);
  return `Δ ${round(greeks.delta, 4)}  ·  Γ ${round(greeks.gamma, 6)}  ·  vega/1% ${round(greeks.vegaPerVolPoint, 2)}  ·  θ/day ${round(greeks.thetaPerDay, 2)}  ·  ρ/1% ${round(greeks.rhoPerRatePoint, 2)}`;
}

function marketLabel(market) {
  const days = Math.max(0, Math.round((market.expiryMs - Date.now()) / 86_400_000));
  return `${market.underlying} ${usd(market.strike, 0)} ${market.isCall ? 'C' : 'P'} ${days}d`;
}

function milliseconds(value) {
  return value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`;
}

/** Draws `points` ({x, y}) as a polyline in an SVG with a min/max label. */
function chart(svg, points, className, format) {
  svg.replaceChildren();
  const width = 600;
  const height = 140;
  const pad = { left: 44, right: 6, top: 8, bottom: 14 };
  const axis = document.createElementNS(svgNamespace, 'path');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('d', `M${pad.left},${pad.top} V${height - pad.bottom} H${width - pad.right}`);
  svg.append(axis);
  const defined = points.filter((point) => point.y !== null && Number.isFinite(point.y));
  svg.dataset.points = String(defined.length);
  if (defined.length === 0) return;
  const xs = defined.map((point) => point.x);
  const ys = defined.map((point) => point.y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (yMax === yMin) [yMin, yMax] = [yMin - 1, yMax + 1];
  const x = (value) =>
    pad.left + ((value - xMin) / Math.max(1, xMax - xMin)) * (width - pad.left - pad.right);
  const y = (value) =>
    height - pad.bottom - ((value - yMin) / (yMax - yMin)) * (height - pad.top - pad.bottom);
  const line = document.createElementNS(svgNamespace, 'polyline');
  line.setAttribute('class', `series ${className}`);
  line.setAttribute(
    'points',
    defined.map((point) => `${x(point.x).toFixed(1)},${y(point.y).toFixed(1)}`).join(' '),
  );
  svg.append(line);
  for (const [value, at] of [
    [yMax, pad.top + 8],
    [yMin, height - pad.bottom],
  ]) {
    const label = document.createElementNS(svgNamespace, 'text');
    label.setAttribute('x', '2');
    label.setAttribute('y', String(at));
    label.textContent = format(value);
    svg.append(label);
  }
}

function renderValidators(snapshot) {
  const body = byTestId('validators').querySelector('tbody');
  body.replaceChildren(
    ...snapshot.validators.map((validator) =>
      row(
        [
          validator.index,
          {
            text: validator.up ? 'up' : 'down',
            attributes: {
              class: validator.up ? 'up' : 'down',
              'data-testid': `validator-state-${validator.index}`,
            },
          },
          validator.height ?? '–',
          validator.view ?? '–',
          validator.peersConnected ?? '–',
          milliseconds(validator.finalityLatencyMs),
          validator.mempoolTransactions ?? '–',
          {
            text: validator.up ? shortKey(validator.finalizedHash) : (validator.error ?? ''),
            attributes: { class: validator.up ? 'hash' : 'down' },
          },
        ],
        { 'data-testid': `validator-${validator.index}`, 'data-state': validator.up ? 'up' : 'down' },
      ),
    ),
  );
}

function renderPrices(snapshot) {
  const body = byTestId('prices').querySelector('tbody');
  if (snapshot.prices.length === 0) {
    body.replaceChildren(row([{ text: 'no prices yet', attributes: { class: 'empty', colspan: '5' } }]));
    return;
  }
  body.replaceChildren(
    ...snapshot.prices.map((price) =>
      row(
        [
          price.symbol,
          {
            text: scaled(price.price, price.exponent),
            attributes: { 'data-testid': `price-${price.symbol}` },
          },
          {
            text: scaled(price.confidence, price.exponent),
            attributes: { 'data-testid': `price-confidence-${price.symbol}` },
          },
          `${Math.max(0, (snapshot.timeMs - price.publishTimeMs) / 1000).toFixed(1)} s`,
          { text: price.stale ? 'stale' : 'fresh', attributes: { class: price.stale ? 'warn' : 'up' } },
        ],
        { 'data-testid': 'price-row' },
      ),
    ),
  );
}

function renderBooks(snapshot) {
  const container = byTestId('books');
  if (snapshot.books.length === 0) {
    container.replaceChildren(element('div', { class: 'empty' }, 'no active series'));
    return;
  }
  container.replaceChildren(
    ...snapshot.books.map(({ market, book }) => {
      const box = element('div', { class: 'book', 'data-testid': `book-${market.seriesId}` });
      box.append(
        element(
          'h3',
          {},
          `${marketLabel(market)}  ·  mark ${market.markPrice === null ? '–' : usd(market.markPrice)}  ·  OI ${market.openInterestLots}`,
        ),
      );
      if (market.greeks)
        box.append(element('p', { class: 'greeks', 'data-testid': 'greeks' }, greeksLine(market.greeks)));
      const table = element('table');
      const header = element('tr');
      header.append(...['side', 'price', 'lots', 'orders'].map((name) => element('th', {}, name)));
      table.append(header);
      const asks = [...book.asks].reverse();
      for (const level of asks) {
        table.append(
          row(
            [
              { text: 'ask', attributes: { class: 'sell' } },
              usd(level.priceTicks * market.tickSize),
              level.lots,
              level.orders,
            ],
            { 'data-testid': 'book-ask' },
          ),
        );
      }
      for (const level of book.bids) {
        table.append(
          row(
            [
              { text: 'bid', attributes: { class: 'buy' } },
              usd(level.priceTicks * market.tickSize),
              level.lots,
              level.orders,
            ],
            { 'data-testid': 'book-bid' },
          ),
        );
      }
      if (asks.length + book.bids.length === 0)
        table.append(row([{ text: 'empty book', attributes: { class: 'empty', colspan: '4' } }]));
      box.append(table);
      return box;
    }),
  );
}

/**
 * One row per entry of `/v1/fills` (FillJson in view.ts): a trade, or a step of a liquidation —
 * into the book (`liquidation`, after the trades it made, which are marked), taken by the
 * insurance fund's backstop account (`backstop`), or closed against an opposite position by
 * auto-deleveraging (`deleverage`). The side of a liquidation entry is the liquidated account's.
 */
function fillCells(fill, market) {
  const perContract = (ticks) =>
    market === undefined ? `${ticks} ticks` : usd(BigInt(ticks) * BigInt(market.tickSize));
  const side = (value) => ({ text: value ?? '–', attributes: { class: value ?? '' } });
  switch (fill.kind) {
    case 'liquidation':
      return {
        kind: 'liquidation',
        cells: [
          side(fill.side),
          '–',
          shortKey(fill.account),
          'book',
          `penalty ${usd(fill.penalty)}; equity ${usd(fill.equityBefore)} < maintenance ${usd(fill.maintenanceBefore)}`,
        ],
      };
    case 'backstop':
      return {
        kind: 'backstop',
        cells: [
          side(fill.side),
          perContract(fill.priceTicks),
          shortKey(fill.account),
          'backstop fund',
          `cash ${usd(fill.cash)}`,
        ],
      };
    case 'deleverage':
      return {
        kind: 'deleverage',
        cells: [
          side(fill.side),
          `${usd(fill.price)} / lot`,
          shortKey(fill.account),
          shortKey(fill.counterparty),
          `cash ${usd(fill.cash)}; loss share ${usd(fill.lossShare)}`,
        ],
      };
    default:
      return {
        kind: fill.liquidation ? 'liquidation fill' : 'trade',
        cells: [
          side(fill.takerSide),
          perContract(fill.priceTicks),
          shortKey(fill.maker),
          shortKey(fill.taker),
          `fees ${usd(fill.makerFee)} / ${usd(fill.takerFee)}`,
        ],
      };
  }
}

function renderFills(snapshot) {
  const body = byTestId('fills').querySelector('tbody');
  if (snapshot.fills.length === 0) {
    body.replaceChildren(row([{ text: 'no fills yet', attributes: { class: 'empty', colspan: '9' } }]));
    return;
  }
  const markets = new Map(snapshot.books.map(({ market }) => [market.seriesId, market]));
  body.replaceChildren(
    ...snapshot.fills.map((fill) => {
      const market = markets.get(fill.seriesId);
      const { kind, cells } = fillCells(fill, market);
      return row(
        [
          fill.height,
          { text: kind, attributes: { class: kind === 'trade' ? '' : 'warn', 'data-testid': 'fill-kind' } },
          market === undefined ? `#${fill.seriesId}` : marketLabel(market),
          cells[0],
          cells[1],
          fill.lots,
          cells[2],
          cells[3],
          cells[4],
        ],
        { 'data-testid': 'fill-row' },
      );
    }),
  );
}

function render(snapshot) {
  const up = snapshot.validators.filter((validator) => validator.up).length;
  byTestId('chain-id').textContent = snapshot.chainId ?? '–';
  byTestId('height').textContent = String(snapshot.height);
  byTestId('validators-up').textContent = `${up}/${snapshot.validators.length} up`;
  byTestId('validators-up').className = up === snapshot.validators.length ? 'up' : 'warn';
  const last = snapshot.history.at(-1);
  byTestId('finality-latency').textContent = milliseconds(last?.finalityLatencyMs);
  byTestId('updated-at').textContent = new Date(snapshot.timeMs).toLocaleTimeString();
  const t0 = snapshot.history[0]?.timeMs ?? 0;
  chart(
    byTestId('chart-height'),
    snapshot.history.map((sample) => ({ x: sample.timeMs - t0, y: sample.height })),
    'height',
    (value) => String(Math.round(value)),
  );
  chart(
    byTestId('chart-latency'),
    snapshot.history.map((sample) => ({ x: sample.timeMs - t0, y: sample.finalityLatencyMs })),
    'latency',
    (value) => value.toFixed(0),
  );
  renderValidators(snapshot);
  renderPrices(snapshot);
  renderBooks(snapshot);
  renderFills(snapshot);
}

const connection = byTestId('connection');
const events = new EventSource('/api/events');
events.addEventListener('open', () => {
  connection.textContent = 'live';
  connection.dataset.state = 'live';
});
events.addEventListener('error', () => {
  connection.textContent = 'reconnecting';
  connection.dataset.state = 'lost';
});
events.addEventListener('message', (message) => render(JSON.parse(message.data)));
