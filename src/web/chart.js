// Charts drawn by the page itself as inline SVG (nothing is loaded from the
// network): a SKU's price and quantity over time from its change log, and
// a small live chart of eBay calls a second, 429s and latency during a run,
// from the "net" numbers every event of the run's stream carries.

const SVG = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// One SVG with a polyline and a circle per point for each series
// {name, points: [[x, y], ...]}; each series is scaled to its own range.
export function lineChart(series, { width = 360, height = 110, title = '' } = {}) {
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'chart' });
  if (title) svg.append(Object.assign(el('title'), { textContent: title }));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const pad = 8;
  const sx = (x) => (x1 > x0 ? pad + ((x - x0) / (x1 - x0)) * (width - 2 * pad) : width / 2);
  series.forEach((s, i) => {
    const ys = s.points.map((p) => p[1]);
    const y0 = Math.min(...ys);
    const y1 = Math.max(...ys);
    const sy = (y) => (y1 > y0 ? height - pad - ((y - y0) / (y1 - y0)) * (height - 2 * pad) : height / 2);
    const g = el('g', { 'data-series': s.name, class: `series series-${i}` });
    if (s.points.length > 1)
      g.append(el('polyline', { points: s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' '), fill: 'none' }));
    for (const p of s.points) {
      const c = el('circle', { cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: 2.5 });
      c.append(Object.assign(el('title'), { textContent: `${s.name} ${p[1]} at ${new Date(p[0]).toLocaleString()}` }));
      g.append(c);
    }
    svg.append(g);
  });
  return svg;
}

// The values a field took, oldest first, from a SKU's changes (any order):
// the value before its first change (at the SKU's creation, or at that
// change), then each change's new value; with no change, the current value.
// Values that are not numbers are left out.
export function fieldHistory(changes, field, current) {
  const sorted = [...changes].sort((a, b) => a.id - b.id);
  const created = sorted.find((c) => c.field === 'created');
  const mine = sorted.filter((c) => c.field === field);
  const pts = [];
  if (mine.length === 0) {
    const v = Number.parseFloat(current);
    if (Number.isFinite(v)) pts.push([created ? created.changed_ms : Date.now(), v]);
    return pts;
  }
  const first = Number.parseFloat(mine[0].old);
  if (Number.isFinite(first)) pts.push([created ? created.changed_ms : mine[0].changed_ms - 1, first]);
  for (const c of mine) {
    const v = Number.parseFloat(c.new);
    if (Number.isFinite(v)) pts.push([c.changed_ms, v]);
  }
  return pts;
}

// The live chart of a run: samples of the "net" numbers of its events.
export class LiveChart {
  constructor(container, { keep = 60, everyMs = 500 } = {}) {
    this.container = container;
    this.keep = keep;
    this.everyMs = everyMs;
    this.reset();
  }

  reset() {
    this.last = null;
    this.samples = [];
    this.container.replaceChildren();
    this.container.hidden = true;
  }

  // ev: a stream event; its data.net = {calls, throttled, latency_ms}.
  event(ev) {
    const net = ev?.net ?? ev?.data?.net;
    const t = Date.parse(ev?.ts ?? '') || Date.now();
    if (!net || typeof net.calls !== 'number') return;
    if (!this.last) {
      this.last = { t, ...net };
      return;
    }
    if (t - this.last.t < this.everyMs) return;
    const dt = (t - this.last.t) / 1000;
    const calls = net.calls - this.last.calls;
    this.samples.push({
      t,
      rate: calls / dt,
      throttled: net.throttled - this.last.throttled,
      latency: calls > 0 ? (net.latency_ms - this.last.latency_ms) / calls : 0,
    });
    if (this.samples.length > this.keep) this.samples.shift();
    this.last = { t, ...net };
    this.draw();
  }

  draw() {
    const s = this.samples;
    const last = s[s.length - 1];
    const svg = lineChart(
      [
        { name: 'calls/s', points: s.map((x) => [x.t, x.rate]) },
        { name: '429s', points: s.map((x) => [x.t, x.throttled]) },
        { name: 'latency ms', points: s.map((x) => [x.t, x.latency]) },
      ],
      { width: 240, height: 60, title: 'eBay calls a second, 429s and latency' },
    );
    const legend = document.createElement('p');
    legend.className = 'chart-legend';
    legend.textContent = `${last.rate.toFixed(1)} calls/s · ${last.throttled} × 429 · ${Math.round(last.latency)} ms`;
    this.container.replaceChildren(svg, legend);
    this.container.hidden = false;
  }
}
