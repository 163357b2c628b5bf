// The page's Schedules section: the signed-in user's sync schedules, each
// with its cadence, next run, last result (and why it failed or paused), an
// on/off switch and Remove; a form adds one (every N seconds, minutes or
// hours, or at times of day in a time zone). While the section is open the
// list is read again every few seconds, so a run that a schedule started
// shows up with its result. Everything is written with textContent.
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
let timer = null;
// Bumped by every change the user makes: a poll that began before one
// does not draw its (older) list over the newer one.
let generation = 0;

function when(v) {
  return v ? new Date(v).toLocaleString() : '–';
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function cadence(s) {
  if (s.interval_s) {
    const n = s.interval_s;
    if (n % 3600 === 0) return `every ${n / 3600} h`;
    if (n % 60 === 0) return `every ${n / 60} min`;
    return `every ${n} s`;
  }
  return `at ${(s.times || []).join(', ')} (${s.tz})`;
}

function result(s) {
  if (s.paused_reason === 'ebay_relink')
    return 'paused: the eBay account must be linked again (link it, or switch the schedule on again)';
  if (s.paused_reason) return `paused: ${s.paused_reason}`;
  if (!s.last_result) return 'no run yet';
  const at = s.last_run_at ? ` (${when(s.last_run_at)})` : '';
  const why = s.last_error && s.last_result !== 'done' ? `: ${s.last_error}` : '';
  const retry = s.failures > 0 ? `; retry ${s.failures}` : '';
  return `${s.last_result}${at}${why}${retry}`;
}

function showError(e) {
  const p = $('schedules-error');
  p.textContent = e ? e.message : '';
  p.hidden = !e;
}

async function run(fn, change = true) {
  if (change) generation++;
  try {
    showError(null);
    await fn();
  } catch (e) {
    showError(e);
  }
}

async function load() {
  const mine = generation;
  const { data } = await api('GET', '/ebay/schedules');
  if (mine !== generation) return;
  const body = $('schedules-body');
  body.replaceChildren();
  for (const s of data.schedules) {
    const tr = document.createElement('tr');
    tr.dataset.id = s.id;
    tr.dataset.result = s.last_result || '';
    tr.dataset.paused = s.paused_reason || '';
    cell(tr, s.kind);
    cell(tr, cadence(s));
    cell(tr, s.next_due_at ? when(s.next_due_at) : '–', 'sched-next');
    cell(tr, result(s), 'sched-result');
    const td = cell(tr, '');
    const label = document.createElement('label');
    const sw = document.createElement('input');
    sw.type = 'checkbox';
    sw.setAttribute('role', 'switch');
    sw.className = 'sched-switch';
    sw.checked = s.enabled && !s.paused_reason;
    sw.addEventListener('change', () => run(async () => {
      await api('PATCH', `/ebay/schedules/${encodeURIComponent(s.id)}`, { enabled: sw.checked });
      await load();
    }));
    label.append(sw, document.createTextNode(sw.checked ? ' on ' : ' off '));
    td.appendChild(label);
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.className = 'btn btn-quiet sched-remove';
    rm.textContent = 'Remove';
    rm.addEventListener('click', () => run(async () => {
      await api('DELETE', `/ebay/schedules/${encodeURIComponent(s.id)}`);
      await load();
    }));
    td.appendChild(rm);
    body.appendChild(tr);
  }
  $('schedules-empty').hidden = data.schedules.length > 0;
}

function poll() {
  clearTimeout(timer);
  timer = null;
  if (!$('schedules-panel').open) return;
  run(load, false).finally(() => {
    if ($('schedules-panel').open && !document.hidden) timer = setTimeout(poll, POLL_MS);
  });
}

function syncMode() {
  const times = $('sched-mode').value === 'times';
  $('sched-every-fields').hidden = times;
  $('sched-times-fields').hidden = !times;
}

function init() {
  if (!$('schedules-panel')) return;
  try {
    $('sched-tz').value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    $('sched-tz').value = 'UTC';
  }
  $('schedules-panel').addEventListener('toggle', poll);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
  $('sched-mode').addEventListener('change', syncMode);
  syncMode();
  $('sched-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const body = { kind: $('sched-kind').value };
      if ($('sched-mode').value === 'times') {
        body.times = $('sched-times').value.split(',').map((t) => t.trim()).filter(Boolean);
        body.tz = $('sched-tz').value.trim() || 'UTC';
      } else {
        body.interval_s = Math.round(Number($('sched-every').value) * Number($('sched-unit').value));
      }
      await api('POST', '/ebay/schedules', body);
      await load();
    });
  });
}

init();
