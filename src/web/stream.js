// A run's event stream (GET /ebay/sync/events/{run_id}, Server-Sent Events),
// read to its end with no line lost or doubled.
//
// Every event carries its sequence number (the SSE id). The stream keeps the
// last seq it handed on and drops anything at or below it. When the
// connection breaks, it closes the EventSource (so the browser's own retry
// does not race ours), asks the server how the run stands, and reopens with
// ?last_event_id=<last seq> so the server replays only what was missed. A run
// that has ended is drained the same way: reopened until a connection brings
// nothing new, then reported ended with the server's final status.
//
// Note: "error" is both a run event type (a log line) and EventSource's own
// connection-error event; a MessageEvent is the former, a plain Event the
// latter.

import { ApiError } from './api.js';

export const EVENT_TYPES = ['start', 'info', 'request', 'response', 'progress', 'warning', 'error', 'done', 'cancelled'];
const FINAL_TYPES = new Set(['done', 'cancelled']);
const RETRY_MS = [250, 500, 1000, 2000, 4000];

export class RunStream {
  // handlers: event(ev), note(text), end(state, run), fetchRun(runId) -> run
  constructor(runId, handlers) {
    this.runId = runId;
    this.h = handlers;
    this.lastSeq = 0;
    this.es = null;
    this.ended = false;
    this.lost = false;
    this.attempt = 0;
    this.timer = 0;
    this.gotSinceOpen = 0;
    this.opened = false;
    this.checking = false;
  }

  start() {
    this.open();
    return this;
  }

  url() {
    const base = `/ebay/sync/events/${encodeURIComponent(this.runId)}`;
    return this.lastSeq > 0 ? `${base}?last_event_id=${this.lastSeq}` : base;
  }

  open() {
    this.timer = 0;
    if (this.ended) return;
    const es = new EventSource(this.url());
    this.es = es;
    this.gotSinceOpen = 0;
    this.opened = false;
    for (const type of EVENT_TYPES) {
      if (type === 'error') continue;
      es.addEventListener(type, (e) => this.onMessage(es, type, e));
    }
    es.addEventListener('message', (e) => this.onMessage(es, 'info', e));
    es.addEventListener('error', (e) => {
      if (e instanceof MessageEvent) this.onMessage(es, 'error', e);
      else this.onBroken(es);
    });
    es.addEventListener('open', () => {
      if (es !== this.es) return;
      this.opened = true;
      if (!this.lost) return;
      this.lost = false;
      this.attempt = 0;
      this.h.note(`reconnected, resuming after event ${this.lastSeq}`);
    });
  }

  onMessage(es, type, e) {
    if (es !== this.es || this.ended) return;
    let d;
    try {
      d = JSON.parse(e.data);
    } catch {
      this.h.note(`ignored an event that is not JSON (id ${e.lastEventId || '?'})`);
      return;
    }
    if (!d || typeof d !== 'object') return;
    const seq = Number(d.seq ?? e.lastEventId);
    if (!Number.isFinite(seq) || seq <= this.lastSeq) return;
    if (seq > this.lastSeq + 1)
      this.h.note(`events ${this.lastSeq + 1}–${seq - 1} of this run were not received`);
    this.lastSeq = seq;
    this.gotSinceOpen++;
    const ev = { ...d, seq, type: typeof d.type === 'string' && d.type ? d.type : type, wire: type };
    this.h.event(ev);
    if (FINAL_TYPES.has(type) || d.final === true) this.finish(typeof d.status === 'string' ? d.status : type);
  }

  // The connection broke or the server ended the stream.
  async onBroken(es) {
    if (es !== this.es || this.ended || this.checking) return;
    es.close();
    this.checking = true;
    let run = null;
    try {
      run = await this.h.fetchRun(this.runId);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 401 || err.status === 403)) {
        this.checking = false;
        if (err.status === 404) this.h.note(`run ${this.runId} is not known to the server`);
        this.finish(err.status === 404 ? 'unknown' : 'signed-out');
        return;
      }
      run = null; // server unreachable: keep trying
    }
    this.checking = false;
    if (this.ended) return;
    const status = run && typeof run.status === 'string' ? run.status : null;
    const over = status !== null && status !== 'running';
    if (over) {
      // The run is over: drain what we have not seen, then stop. Each
      // reopening either brings new events (seq only grows) or ends it.
      if (this.gotSinceOpen > 0) {
        this.open();
        return;
      }
      if (this.opened || this.attempt >= RETRY_MS.length) {
        this.finish(status, run);
        return;
      }
    } else if (!this.lost) {
      this.lost = true;
      this.h.note('connection lost — reconnecting…');
    }
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt++;
    this.timer = setTimeout(() => this.open(), delay);
  }

  finish(state, run = null) {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.h.end(state, run);
  }

  // Stops listening (another run is shown, or the user signed out).
  close() {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.es) this.es.close();
  }
}
