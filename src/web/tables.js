// The Inventory and Offers tables (GET /ebay/inventory, GET /ebay/offers):
// debounced search, filters, sortable headers (aria-sort), paging; and the
// SKU detail dialog (GET /ebay/inventory/{sku}) with the SKU's offers and its
// raw eBay payload. Every value goes into the page with textContent: SKUs and
// titles come from eBay and may hold quotes, <, & and anything else.

import { api, ApiError } from './api.js';
import { formatCount } from './status.js';

const SEARCH_DEBOUNCE_MS = 250;

export function text(v) {
  return v === null || v === undefined ? '' : String(v);
}

export function formatPrice(value, currency) {
  if (value === null || value === undefined || value === '') return '';
  const n = Number(value);
  if (Number.isFinite(n) && /^[A-Z]{3}$/.test(currency || '')) {
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(n);
    } catch {
      // an unknown currency code: fall through to "value CUR"
    }
  }
  return currency ? `${value} ${currency}` : String(value);
}

export function formatWhen(v) {
  if (!v) return '';
  const t = Date.parse(v);
  if (Number.isNaN(t)) return String(v);
  const d = new Date(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function badge(value) {
  const b = document.createElement('span');
  b.className = 'badge';
  b.dataset.state = text(value);
  b.textContent = text(value) || '—';
  return b;
}

function cell(tr, content, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  if (content instanceof Node) td.append(content);
  else td.textContent = text(content);
  tr.append(td);
  return td;
}

function skuButton(sku, onOpen) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'linkish';
  b.textContent = text(sku);
  b.title = 'Show this SKU, its offers and its raw payload';
  b.addEventListener('click', () => onOpen(sku));
  return b;
}

export class DataTable {
  // opts: {endpoint, listKey, table, body, empty, prev, next, page, totalEl,
  //        q, filters: {name: select}, limit, sort, order, columns(row, tr, openSku),
  //        onSku(sku), onError(message)}
  constructor(opts) {
    this.o = opts;
    this.state = { q: '', offset: 0, sort: opts.sort, order: opts.order || 'asc' };
    this.seq = 0;
    this.timer = 0;
    this.total = 0;
    this.headers = Array.from(opts.table.querySelectorAll('th[data-sort]'));
    for (const th of this.headers) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = th.textContent;
      th.textContent = '';
      th.append(b);
      b.addEventListener('click', () => this.sortBy(th.dataset.sort));
    }
    opts.q.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(), SEARCH_DEBOUNCE_MS);
    });
    opts.q.form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearTimeout(this.timer);
      this.search();
    });
    for (const sel of [...Object.values(opts.filters), opts.limit]) sel.addEventListener('change', () => this.search());
    opts.prev.addEventListener('click', () => this.go(-1));
    opts.next.addEventListener('click', () => this.go(1));
    this.renderSort();
  }

  limit() {
    return Number(this.o.limit.value) || 50;
  }

  search() {
    this.state.q = this.o.q.value.trim();
    this.state.offset = 0;
    return this.load();
  }

  go(dir) {
    const next = this.state.offset + dir * this.limit();
    if (next < 0 || (dir > 0 && next >= this.total)) return;
    this.state.offset = next;
    this.load();
  }

  sortBy(key) {
    if (this.state.sort === key) this.state.order = this.state.order === 'asc' ? 'desc' : 'asc';
    else {
      this.state.sort = key;
      this.state.order = 'asc';
    }
    this.state.offset = 0;
    this.renderSort();
    this.load();
  }

  renderSort() {
    for (const th of this.headers) {
      if (th.dataset.sort === this.state.sort)
        th.setAttribute('aria-sort', this.state.order === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  query() {
    const p = new URLSearchParams();
    if (this.state.q) p.set('q', this.state.q);
    for (const [name, sel] of Object.entries(this.o.filters)) if (sel.value) p.set(name, sel.value);
    if (this.state.sort) {
      p.set('sort', this.state.sort);
      p.set('order', this.state.order);
    }
    p.set('limit', String(this.limit()));
    p.set('offset', String(this.state.offset));
    return p;
  }

  // Fetches and shows the current page; a slower earlier answer never
  // overwrites a newer one.
  async load() {
    const mine = ++this.seq;
    this.o.table.setAttribute('aria-busy', 'true');
    let data;
    try {
      ({ data } = await api('GET', `${this.o.endpoint}?${this.query()}`));
    } catch (err) {
      if (mine !== this.seq) return;
      this.o.table.removeAttribute('aria-busy');
      if (!(err instanceof ApiError && err.status === 401)) this.o.onError(`${this.o.name}: ${err.message}`);
      return;
    }
    if (mine !== this.seq) return;
    this.o.table.removeAttribute('aria-busy');
    const rows = Array.isArray(data?.[this.o.listKey]) ? data[this.o.listKey] : [];
    this.total = Number(data?.total) || 0;
    if (this.state.offset > 0 && this.state.offset >= this.total && this.total > 0) {
      this.state.offset = Math.floor((this.total - 1) / this.limit()) * this.limit();
      this.load();
      return;
    }
    this.render(rows);
  }

  render(rows) {
    const { o } = this;
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement('tr');
      o.columns(row, tr, (sku) => skuButton(sku, o.onSku));
      frag.append(tr);
    }
    o.body.replaceChildren(frag);
    // What the rows shown answer (read by the browser tests).
    o.table.dataset.query = this.query().toString();
    o.empty.hidden = rows.length > 0;
    const from = rows.length ? this.state.offset + 1 : 0;
    const to = this.state.offset + rows.length;
    o.page.textContent = `${formatCount(from)}–${formatCount(to)} of ${formatCount(this.total)}`;
    o.prev.disabled = this.state.offset <= 0;
    o.next.disabled = to >= this.total;
    if (o.totalEl) o.totalEl.textContent = `(${formatCount(this.total)})`;
  }

  clear() {
    this.seq++;
    this.total = 0;
    this.o.body.replaceChildren();
    this.o.page.textContent = '';
    if (this.o.totalEl) this.o.totalEl.textContent = '';
  }
}

export function inventoryColumns(row, tr, skuButton) {
  cell(tr, skuButton(row.sku_code), 'sku');
  cell(tr, row.title, 'title');
  cell(tr, row.condition);
  cell(tr, row.part_number, 'wide');
  cell(tr, row.model, 'wide');
  cell(tr, formatPrice(row.price_value, row.price_currency), 'num');
  cell(tr, row.quantity, 'num');
  cell(tr, row.photo_count, 'num');
  cell(tr, badge(row.ebay_status));
  cell(tr, formatWhen(row.rec_updated), 'wide when');
}

export function offerColumns(row, tr, skuButton) {
  cell(tr, row.offer_id, 'sku');
  cell(tr, skuButton(row.sku_code), 'sku');
  cell(tr, row.marketplace_id, 'wide');
  cell(tr, row.format);
  cell(tr, badge(row.status));
  cell(tr, row.listing_status ? badge(row.listing_status) : '', 'wide');
  cell(tr, formatPrice(row.price_value, row.price_currency), 'num');
  cell(tr, row.available_quantity, 'num');
  cell(tr, row.sold_quantity, 'num');
  cell(tr, row.category_id, 'wide');
}

function pretty(raw) {
  if (raw === null || raw === undefined) return '';
  if (typeof raw === 'string') {
    try {
      return JSON.stringify(JSON.parse(raw), null, 2);
    } catch {
      return raw;
    }
  }
  return JSON.stringify(raw, null, 2);
}

const DETAIL_FIELDS = [
  ['Title', (i) => i.title],
  ['Condition', (i) => i.condition],
  ['Part number', (i) => i.part_number],
  ['Model', (i) => i.model],
  ['Category', (i) => i.category],
  ['Price', (i) => formatPrice(i.price_value, i.price_currency)],
  ['Quantity', (i) => i.quantity],
  ['Photos', (i) => i.photo_count],
  ['eBay status', (i) => i.ebay_status],
  ['Listing id', (i) => i.ebay_listing_id],
  ['Created', (i) => formatWhen(i.rec_created)],
  ['Updated', (i) => formatWhen(i.rec_updated)],
];

// The SKU dialog. els: dialog, sku, fields, offersBody, offersEmpty, raw, offersRaw, error, close
export class SkuDetail {
  constructor(els) {
    this.els = els;
    this.seq = 0;
    els.close.addEventListener('click', () => els.dialog.close());
    // A click on the backdrop (outside the dialog's box) closes it too.
    els.dialog.addEventListener('click', (e) => {
      if (e.target === els.dialog) {
        const r = els.dialog.getBoundingClientRect();
        const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
        if (!inside) els.dialog.close();
      }
    });
  }

  async open(sku) {
    const { els } = this;
    const mine = ++this.seq;
    els.sku.textContent = text(sku);
    els.fields.replaceChildren();
    els.offersBody.replaceChildren();
    els.offersEmpty.hidden = true;
    els.raw.textContent = 'Loading…';
    els.offersRaw.textContent = '';
    els.offersRaw.parentElement.hidden = true;
    els.error.hidden = true;
    if (!els.dialog.open) els.dialog.showModal();
    let data;
    try {
      ({ data } = await api('GET', `/ebay/inventory/${encodeURIComponent(sku)}`));
    } catch (err) {
      if (mine !== this.seq) return;
      els.raw.textContent = '';
      els.error.textContent = err.status === 404 ? `SKU ${sku} is not in your inventory` : err.message;
      els.error.hidden = false;
      return;
    }
    if (mine !== this.seq) return;
    this.render(data?.item ?? {}, Array.isArray(data?.offers) ? data.offers : []);
    this.onRender?.(data?.item ?? {});
  }

  render(item, offers) {
    const { els } = this;
    for (const [label, get] of DETAIL_FIELDS) {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = label;
      dd.textContent = text(get(item)) || '—';
      div.append(dt, dd);
      els.fields.append(div);
    }
    for (const o of offers) {
      const tr = document.createElement('tr');
      cell(tr, o.offer_id, 'sku');
      cell(tr, o.marketplace_id);
      cell(tr, o.format);
      cell(tr, badge(o.status));
      cell(tr, o.listing_status ? `${o.listing_status}${o.listing_id ? ` (${o.listing_id})` : ''}` : '');
      cell(tr, formatPrice(o.price_value, o.price_currency), 'num');
      cell(tr, o.available_quantity, 'num');
      cell(tr, o.sold_quantity, 'num');
      els.offersBody.append(tr);
    }
    els.offersEmpty.hidden = offers.length > 0;
    els.raw.textContent = pretty(item.raw_payload);
    els.offersRaw.textContent = offers.length
      ? offers.map((o) => `// offer ${text(o.offer_id)}\n${pretty(o.raw_payload)}`).join('\n\n')
      : '';
    els.offersRaw.parentElement.hidden = offers.length === 0;
  }

  close() {
    this.seq++;
    if (this.els.dialog.open) this.els.dialog.close();
  }
}
