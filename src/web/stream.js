// A run's event stream (GET /ebay/sync/events/{run_id}, Server-Sent Events),
// read to its end with no line lost or doubled.
//
// Every event carries its sequence number (the SSE id). The stream keeps the
// last seq it handed on and drops anything at or below it. When the
// connection breaks or the server ends it, the stream closes the EventSource
// (so the browser's own retry does not race ours) and asks the server how the
// run stands:
// - still running: it says "connection lost — reconnecting…" and reopens
//   with ?last_event_id=<last seq>, so the server replays only what was
//   missed, and says "reconnected, resuming after event N" once it is back;
// - over: it reads what it has not seen yet with one plain fetch of the same
//   URL (the server answers 204 when there is nothing, which EventSource
//   cannot tell apart from a failure) and reports the run's final status.
//   This is how a run that ended "failed" (its last event is an "error", a
//   type that is not final by itself) or "interrupted" (no final event at
//   all) is recognised.
//
// Note: "error" is both a run event type (a log line) and EventSource's own
// connection-error event; a MessageEvent is the former, a plain Event the
// latter.

import { ApiError, getSession } from './api.js';

export const EVENT_TYPES = ['start', 'info', 'request', 'response', 'progress', 'warning', 'error', 'done', 'cancelled'];
const FINAL_TYPES = new Set(['done', 'cancelled']);
const RETRY_MS = [250, 500, 1000, 2000, 4000];
const DRAIN_ATTEMPTS = 5;
const SSE_BLOCK_MAX = 1 << 20; // one event's text; the server's lines are far shorter

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
    this.checking = false;
    this.abort = null;
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
    for (const type of EVENT_TYPES) {
      if (type === 'error') continue;
      es.addEventListener(type, (e) => {
        if (es === this.es) this.deliver(type, e.data, e.lastEventId);
      });
    }
    es.addEventListener('message', (e) => {
      if (es === this.es) this.deliver('info', e.data, e.lastEventId);
    });
    es.addEventListener('error', (e) => {
      if (es !== this.es) return;
      if (e instanceof MessageEvent) this.deliver('error', e.data, e.lastEventId);
      else this.onBroken(es);
    });
    es.addEventListener('open', () => {
      if (es !== this.es || !this.lost) return;
      this.lost = false;
      this.attempt = 0;
      this.h.note(`reconnected, resuming after event ${this.lastSeq}`);
    });
  }

  // One event off the wire: (type, data text, id).
  deliver(type, text, lastEventId) {
    if (this.ended) return;
    let d;
    try {
      d = JSON.parse(text);
    } catch {
      this.h.note(`ignored an event that is not JSON (id ${lastEventId || '?'})`);
      return;
    }
    if (!d || typeof d !== 'object') return;
    const seq = Number(d.seq ?? lastEventId);
    if (!Number.isFinite(seq) || seq <= this.lastSeq) return;
    if (seq > this.lastSeq + 1) this.h.note(`events ${this.lastSeq + 1}–${seq - 1} of this run were not received`);
    this.lastSeq = seq;
    const ev = { ...d, seq, type: typeof d.type === 'string' && d.type ? d.type : type, wire: type };
    this.h.event(ev);
    if (FINAL_TYPES.has(type)) this.finish(type);
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
      if (err instanceof ApiError && [401, 403, 404].includes(err.status)) {
        this.checking = false;
        if (err.status === 404) this.h.note(`run ${this.runId} is not known to the server`);
        this.finish(err.status === 404 ? 'unknown' : 'signed-out');
        return;
      }
      run = null; // the server is unreachable: keep trying
    }
    if (this.ended) return;
    const status = run && typeof run.status === 'string' ? run.status : null;
    if (status && status !== 'running' && status !== 'queued') {
      await this.drain();
      this.checking = false;
      this.finish(status, run);
      return;
    }
    this.checking = false;
    if (!this.lost) {
      this.lost = true;
      this.h.note('connection lost — reconnecting…');
    }
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt++;
    this.timer = setTimeout(() => this.open(), delay);
  }

  // Reads the rest of an ended run's events with fetch: 204 means there is
  // nothing after the last seq; 200 is a stream that replays and ends.
  async drain() {
    for (let attempt = 0; attempt < DRAIN_ATTEMPTS && !this.ended; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
      this.abort = new AbortController();
      try {
        const s = getSession();
        const res = await fetch(this.url(), {
          headers: { Accept: 'text/event-stream', ...(s ? { Authorization: `Bearer ${s.token}` } : {}) },
          credentials: 'same-origin',
          cache: 'no-store',
          signal: this.abort.signal,
        });
        if (res.status === 204) return;
        if (!res.ok) {
          if (res.status >= 500) continue;
          return;
        }
        await this.readSse(res.body);
        return;
      } catch {
        // cut off mid-way: what arrived was delivered; ask again for the rest
      } finally {
        this.abort = null;
      }
    }
  }

  async readSse(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let pending = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      let m;
      while ((m = /\r?\n\r?\n/.exec(pending))) {
        const block = pending.slice(0, m.index);
        pending = pending.slice(m.index + m[0].length);
        this.parseBlock(block);
        if (this.ended) {
          reader.cancel().catch(() => {});
          return;
        }
      }
      if (pending.length > SSE_BLOCK_MAX) throw new Error('event stream block too large');
    }
  }

  parseBlock(block) {
    let type = 'message';
    let id = '';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) this.deliver(type === 'message' ? 'info' : type, data.join('\n'), id);
  }

  finish(state, run = null) {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.es) this.es.close();
    if (this.abort) this.abort.abort();
    this.h.end(state, run);
  }

  // Stops listening (another run is shown, or the user signed out).
  close() {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.es) this.es.close();
    if (this.abort) this.abort.abort();
  }
}
