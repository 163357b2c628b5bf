// The status strip above the terminal: "Fetched: X, Stored: Y", the failed
// count, a progress bar with "page i/n" or "SKU i/N", the rate, elapsed time,
// ETA, and the run's state as a badge. Times come from the events' own
// timestamps (the server's clock), so a skewed browser clock does not matter.

import { parseTime } from './api.js';

const RATE_WINDOW_MS = 5000;
const FINAL_STATES = new Set(['done', 'failed', 'cancelled', 'interrupted', 'unknown']);

export function formatCount(n) {
  // Narrow no-break spaces group digits, so "Fetched: 1 000, Stored: 1 000"
  // never reads as a list.
  return Math.max(0, Math.trunc(Number(n) || 0)).toLocaleString('en-US').replace(/,/g, '\u202f');
}

export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h) return `${h} h ${String(m).padStart(2, '0')} m`;
  return `${m} m ${String(sec).padStart(2, '0')} s`;
}

function formatRate(r) {
  if (!Number.isFinite(r) || r <= 0) return '0';
  return r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(1);
}

export class StatusStrip {
  constructor(els) {
    this.els = els; // state, run, counts, failed, bar, fill, step, rate, elapsed, eta, live
    this.timer = 0;
    this.frame = 0;
    this.reset(null);
  }

  reset(runId, { live = false } = {}) {
    this.runId = runId;
    this.live = live;
    this.counts = { fetched: 0, stored: 0, failed: 0, current: 0, total: 0, unit: '' };
    this.firstTs = NaN;
    this.lastTs = NaN;
    this.lastAt = 0;
    this.samples = [];
    this.state = runId ? 'connecting' : 'idle';
    this.stopTimer();
    if (live) this.timer = setInterval(() => this.renderTimes(), 1000);
    this.els.run.textContent = runId || '';
    this.render();
  }

  stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = 0;
  }

  // One run event: {ts, type, counts}.
  update(ev) {
    const ts = parseTime(ev.ts);
    if (Number.isFinite(ts)) {
      if (!Number.isFinite(this.firstTs)) this.firstTs = ts;
      this.lastTs = ts;
      this.lastAt = Date.now();
    }
    const c = ev.counts;
    if (c && typeof c === 'object') {
      for (const k of ['fetched', 'stored', 'failed', 'current', 'total']) {
        if (c[k] !== undefined && c[k] !== null && Number.isFinite(Number(c[k]))) this.counts[k] = Number(c[k]);
      }
      if (typeof c.unit === 'string' && c.unit) {
        if (c.unit !== this.counts.unit) this.samples = [];
        this.counts.unit = c.unit;
      }
    }
    // "all" starts counting afresh for its offers part: restart the window.
    const prev = this.samples[this.samples.length - 1];
    if (prev && (this.counts.fetched < prev.fetched || this.counts.current < prev.current)) this.samples = [];
    if (Number.isFinite(ts)) {
      this.samples.push({ t: ts, fetched: this.counts.fetched, current: this.counts.current });
      while (this.samples.length > 2 && ts - this.samples[0].t > RATE_WINDOW_MS) this.samples.shift();
    }
    // A queued run shows 'queued' until its worker's first event.
    if (this.state === 'connecting' || this.state === 'idle' || this.state === 'queued') this.state = 'running';
    // Many events a second: draw at most once per frame.
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  // Counts of a run from the history list, for a run whose log is replayed.
  seed(run) {
    for (const k of ['fetched', 'stored', 'failed', 'total']) {
      if (Number.isFinite(Number(run[k]))) this.counts[k] = Number(run[k]);
    }
    // Waiting in the job queue for a worker: not running yet.
    if (run.status === 'queued' && (this.state === 'connecting' || this.state === 'idle')) this.state = 'queued';
    this.render();
  }

  finish(state) {
    this.state = FINAL_STATES.has(state) ? state : String(state || 'done');
    this.stopTimer();
    this.render();
    this.els.live.textContent = `Run ${this.state}. Fetched ${this.counts.fetched}, stored ${this.counts.stored}, failed ${this.counts.failed}.`;
  }

  elapsedMs() {
    if (!Number.isFinite(this.firstTs)) return NaN;
    let ms = this.lastTs - this.firstTs;
    if (this.live && !FINAL_STATES.has(this.state) && this.lastAt) ms += Date.now() - this.lastAt;
    return ms;
  }

  rates() {
    const s = this.samples;
    if (s.length < 2) return { fetched: NaN, current: NaN };
    const dt = (s[s.length - 1].t - s[0].t) / 1000;
    if (dt <= 0) return { fetched: NaN, current: NaN };
    return {
      fetched: (s[s.length - 1].fetched - s[0].fetched) / dt,
      current: (s[s.length - 1].current - s[0].current) / dt,
    };
  }

  render() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    const { els, counts } = this;
    els.state.textContent = this.state;
    els.state.dataset.state = this.state;
    els.counts.textContent = `Fetched: ${formatCount(counts.fetched)}, Stored: ${formatCount(counts.stored)}`;
    els.failed.textContent = `Failed: ${formatCount(counts.failed)}`;
    els.failed.dataset.zero = counts.failed > 0 ? '0' : '1';

    let pct = 0;
    const unitName = counts.unit === 'sku' ? 'SKU' : counts.unit === 'page' ? 'page' : '';
    if (counts.total > 0) pct = Math.min(100, (100 * counts.current) / counts.total);
    if (this.state === 'done') pct = 100;
    els.fill.style.width = `${pct.toFixed(1)}%`;
    els.bar.setAttribute('aria-valuenow', pct.toFixed(0));
    els.bar.dataset.state = this.state;
    if (unitName && (counts.current > 0 || counts.total > 0)) {
      const step = `${unitName} ${formatCount(counts.current)}/${counts.total > 0 ? formatCount(counts.total) : '?'}`;
      els.step.textContent = step;
      els.bar.setAttribute('aria-valuetext', step);
    } else {
      els.step.textContent = '';
      els.bar.removeAttribute('aria-valuetext');
    }
    this.renderTimes();
  }

  renderTimes() {
    const { els, counts } = this;
    els.elapsed.textContent = formatDuration(this.elapsedMs());
    const running = this.state === 'running';
    const r = running ? this.rates() : { fetched: NaN, current: NaN };
    const parts = [];
    if (running) {
      if (Number.isFinite(r.fetched)) parts.push(`${formatRate(r.fetched)} fetched/s`);
      if (counts.unit === 'sku' && Number.isFinite(r.current)) parts.push(`${formatRate(r.current)} SKU/s`);
    } else {
      const ms = this.elapsedMs();
      if (ms > 0 && counts.fetched > 0) parts.push(`${formatRate((1000 * counts.fetched) / ms)} fetched/s on average`);
    }
    els.rate.textContent = parts.length ? parts.join(' · ') : '–';
    let eta = '–';
    if (running && counts.total > 0 && r.current > 0) eta = formatDuration((1000 * (counts.total - counts.current)) / r.current);
    else if (this.state === 'done') eta = '0 s';
    els.eta.textContent = eta;
  }
}
