// The change log on the page: the "Changes" tab (GET /ebay/changes, by run
// and SKU, newest first, with a CSV download) and a SKU's history in its
// detail view (the list and a chart of its price and quantity). The server
// sends codes (field names and kinds); the words are made here.

import { api } from './api.js';
import { fieldHistory, lineChart } from './chart.js';
import { formatWhen, text } from './tables.js';

const LABELS = {
  price: 'price',
  currency: 'currency',
  quantity: 'quantity',
  status: 'status',
  listing_id: 'listing',
  title: 'title',
  condition: 'condition',
};

// "price 12.99 -> 10.99 USD", "quantity 5 -> 0", "ENDED", "CREATED".
export function formatChange(c, currency = '') {
  const old = c.old ?? '—';
  const now = c.new ?? '—';
  switch (c.field) {
    case 'created':
    case 'removed':
    case 'restored':
      return c.field.toUpperCase();
    case 'status':
      return text(c.new ?? 'UNKNOWN');
    case 'price':
      return `price ${old} -> ${now}${currency ? ` ${currency}` : ''}`;
    default:
      return `${LABELS[c.field] ?? c.field} ${old} -> ${now}`;
  }
}

function td(tr, v, cls) {
  const c = document.createElement('td');
  c.textContent = text(v);
  if (cls) c.className = cls;
  tr.append(c);
}

// The Changes tab. els: body, empty, run, sku, field, prev, next, page, csv, form
export class ChangesView {
  constructor(els, { onSku } = {}) {
    this.els = els;
    this.onSku = onSku;
    this.offset = 0;
    this.limit = 50;
    this.total = 0;
    this.seq = 0;
    els.form.addEventListener('input', () => {
      this.offset = 0;
      this.load();
    });
    els.form.addEventListener('submit', (e) => e.preventDefault());
    els.prev.addEventListener('click', () => {
      this.offset = Math.max(0, this.offset - this.limit);
      this.load();
    });
    els.next.addEventListener('click', () => {
      this.offset += this.limit;
      this.load();
    });
  }

  params() {
    const p = new URLSearchParams();
    for (const [k, input] of [['run', this.els.run], ['sku', this.els.sku], ['field', this.els.field]])
      if (input.value.trim()) p.set(k, input.value.trim());
    return p;
  }

  // Shows one run's changes (from the run history).
  showRun(runId) {
    this.els.run.value = runId;
    this.offset = 0;
    return this.load();
  }

  async load() {
    const mine = ++this.seq;
    const p = this.params();
    this.els.csv.href = `/ebay/changes?${p}${p.size ? '&' : ''}format=csv`;
    p.set('limit', this.limit);
    p.set('offset', this.offset);
    let data;
    try {
      ({ data } = await api('GET', `/ebay/changes?${p}`));
    } catch (err) {
      if (mine === this.seq) {
        this.els.body.replaceChildren();
        this.els.empty.textContent = err.message;
        this.els.empty.hidden = false;
      }
      return;
    }
    if (mine !== this.seq) return;
    const rows = Array.isArray(data?.changes) ? data.changes : [];
    this.total = Number(data?.total) || 0;
    const frag = document.createDocumentFragment();
    for (const c of rows) {
      const tr = document.createElement('tr');
      tr.dataset.field = text(c.field);
      td(tr, formatWhen(c.changed_at), 'wide');
      td(tr, c.run_id, 'run-id');
      const skuCell = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link sku';
      b.textContent = text(c.sku);
      b.addEventListener('click', () => this.onSku?.(c.sku));
      skuCell.append(b);
      tr.append(skuCell);
      td(tr, formatChange(c), 'change');
      frag.append(tr);
    }
    this.els.body.replaceChildren(frag);
    this.els.empty.textContent = 'No changes match.';
    this.els.empty.hidden = rows.length > 0;
    this.els.page.textContent = `${rows.length ? this.offset + 1 : 0}–${this.offset + rows.length} of ${this.total}`;
    this.els.prev.disabled = this.offset <= 0;
    this.els.next.disabled = this.offset + rows.length >= this.total;
  }
}

// A SKU's history in its detail view. els: list, chart
export async function showSkuHistory(els, sku, item) {
  els.list.replaceChildren();
  els.chart.replaceChildren();
  let changes = [];
  try {
    const { data } = await api('GET', `/ebay/changes?sku=${encodeURIComponent(sku)}&limit=500`);
    changes = Array.isArray(data?.changes) ? data.changes : [];
  } catch (err) {
    const li = document.createElement('li');
    li.textContent = `cannot load the changes: ${err.message}`;
    els.list.append(li);
    return;
  }
  for (const c of changes) {
    const li = document.createElement('li');
    li.dataset.field = text(c.field);
    li.textContent = `${formatWhen(c.changed_at)}: ${formatChange(c, c.field === 'price' ? item?.price_currency ?? '' : '')}`;
    els.list.append(li);
  }
  const series = [
    { name: 'price', points: fieldHistory(changes, 'price', item?.price_value) },
    { name: 'quantity', points: fieldHistory(changes, 'quantity', item?.quantity) },
  ].filter((s) => s.points.length > 0);
  if (series.length) els.chart.append(lineChart(series, { title: `Price and quantity of ${sku} over time` }));
}
