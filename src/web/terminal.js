// The terminal pane: one line per run event, "[HH:MM:SS] line", coloured by
// type. Lines are added in batches once per animation frame (a fast run
// sends hundreds of events a second), the oldest are dropped past `max`, and
// the pane follows the newest line unless the user has scrolled up.

const FOLLOW_SLACK_PX = 24;

export class Terminal {
  constructor(el, { max = 5000, followButton = null, noteEl = null } = {}) {
    this.el = el;
    this.max = max;
    this.followButton = followButton;
    this.noteEl = noteEl;
    this.queue = [];
    this.frame = 0;
    this.follow = true;
    this.trimmed = 0;
    this.count = 0;
    el.addEventListener('scroll', () => this.onScroll(), { passive: true });
    if (followButton) followButton.addEventListener('click', () => this.scrollToEnd());
  }

  onScroll() {
    const el = this.el;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= FOLLOW_SLACK_PX;
    if (atEnd !== this.follow) {
      this.follow = atEnd;
      if (this.followButton) this.followButton.hidden = atEnd;
    }
  }

  scrollToEnd() {
    this.follow = true;
    if (this.followButton) this.followButton.hidden = true;
    this.el.scrollTop = this.el.scrollHeight;
  }

  // A run event: {seq, type, time, line}.
  event(ev) {
    this.push({ seq: ev.seq, type: ev.type, time: ev.time, text: ev.line });
  }

  // A line of the page's own (connection lost, reconnected ...), not the run's.
  note(text) {
    this.push({ seq: null, type: 'note', time: clock(new Date()), text });
  }

  push(item) {
    this.queue.push(item);
    if (this.queue.length > this.max) {
      const drop = this.queue.length - this.max;
      this.queue.splice(0, drop);
      this.trimmed += drop;
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  // Writes what is queued (once per frame, and at once before copying).
  flush() {
    this.frame = 0;
    if (!this.queue.length) return;
    const frag = document.createDocumentFragment();
    for (const item of this.queue) frag.appendChild(renderLine(item));
    this.count += this.queue.length;
    this.queue = [];
    this.el.appendChild(frag);
    this.trim();
    if (this.follow) this.el.scrollTop = this.el.scrollHeight;
    this.showNote();
  }

  trim() {
    const excess = this.count - this.max;
    if (excess <= 0) return;
    const before = this.el.scrollHeight;
    for (let i = 0; i < excess && this.el.firstChild; i++) this.el.firstChild.remove();
    this.count -= excess;
    this.trimmed += excess;
    // Keep what the user is reading in place when lines vanish above it.
    if (!this.follow) this.el.scrollTop -= before - this.el.scrollHeight;
  }

  showNote() {
    if (!this.noteEl) return;
    this.noteEl.textContent = this.trimmed
      ? `${this.trimmed.toLocaleString('en-US')} older lines trimmed; the newest ${this.max.toLocaleString('en-US')} are shown`
      : '';
  }

  clear() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.queue = [];
    this.count = 0;
    this.trimmed = 0;
    this.el.replaceChildren();
    this.showNote();
    this.scrollToEnd();
  }

  text() {
    this.flush();
    return Array.from(this.el.children, (n) => n.textContent).join('\n');
  }
}

function renderLine({ seq, type, time, text }) {
  const div = document.createElement('div');
  div.className = `ln t-${/^[a-z]+$/.test(type) ? type : 'info'}`;
  if (seq !== null && seq !== undefined) div.dataset.seq = String(seq);
  const ts = document.createElement('span');
  ts.className = 'ts';
  ts.textContent = `[${time || '--:--:--'}] `;
  div.append(ts, document.createTextNode(text ?? ''));
  return div;
}

export function clock(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
