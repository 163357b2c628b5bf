// ebaysync's page: sign in, start a sync, watch it in the terminal, STOP it,
// look back at past runs, and browse what was synced. Plain ES modules served
// by `ebaysync serve` from the binary; nothing is loaded from the network.

import { api, ApiError, clearSession, getSession, loadSession, login, logout, onUnauthorized, parseTime, userName } from './api.js';
import { Terminal } from './terminal.js';
import { RunStream } from './stream.js';
import { StatusStrip, formatCount, formatDuration } from './status.js';
import { DataTable, SkuDetail, badge, formatWhen, inventoryColumns, offerColumns } from './tables.js';
import { ChangesView, showSkuHistory } from './changes.js';
import { LiveChart } from './chart.js';
import { refreshQuota } from './quota.js';

const $ = (id) => document.getElementById(id);
const HISTORY_PAGE = 10;
// The error_code of a run (and of its final "error" event) that failed
// because the eBay account must be linked again: error_code_name(ERR_RELINK)
// in src/error.c. The page acts on this code, never on the English text.
const RELINK_CODE = 'ebay_relink';

const ui = {
  loginView: $('login-view'),
  appView: $('app-view'),
  loginForm: $('login-form'),
  loginUser: $('login-user'),
  loginPass: $('login-pass'),
  loginError: $('login-error'),
  loginSubmit: $('login-submit'),
  who: $('who'),
  whoName: $('who-name'),
  signout: $('signout'),
  relink: $('relink'),
  connect: $('connect'),
  linked: $('linked'),
  appError: $('app-error'),
  syncButtons: Array.from(document.querySelectorAll('button[data-kind]')),
  stop: $('stop'),
  termTitle: $('term-title'),
  historyBody: $('history-body'),
  historyEmpty: $('history-empty'),
  historyPrev: $('history-prev'),
  historyNext: $('history-next'),
  historyPage: $('history-page'),
};

const terminal = new Terminal($('terminal'), { max: 5000, followButton: $('term-follow'), noteEl: $('term-note') });
const status = new StatusStrip({
  state: $('st-state'), run: $('st-run'), counts: $('st-counts'), failed: $('st-failed'),
  bar: $('st-bar'), fill: $('st-fill'), step: $('st-step'), rate: $('st-rate'),
  elapsed: $('st-elapsed'), eta: $('st-eta'), live: $('st-live'),
});
const detail = new SkuDetail({
  dialog: $('detail'), sku: $('detail-sku'), fields: $('detail-fields'), offersBody: $('detail-offers-body'),
  offersEmpty: $('detail-offers-empty'), raw: $('detail-raw'), offersRaw: $('detail-offers-raw'),
  error: $('detail-error'), close: $('detail-close'),
});

// The condition filter offers what the server can store, as it says
// (GET /ebay/conditions), once per page load; "Any" until then.
let conditionsLoaded = false;
async function loadConditions() {
  if (conditionsLoaded) return;
  try {
    const { data } = await api('GET', '/ebay/conditions');
    const list = Array.isArray(data?.conditions) ? data.conditions.filter((c) => typeof c === 'string') : [];
    const sel = $('inv-condition');
    const keep = sel.value;
    sel.replaceChildren(sel.options[0]);
    for (const c of list) {
      const opt = document.createElement('option');
      opt.textContent = c;
      sel.append(opt);
    }
    sel.value = list.includes(keep) ? keep : '';
    conditionsLoaded = true;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(`cannot load the condition values: ${err.message}`);
  }
}

const inventory = new DataTable({
  name: 'inventory', endpoint: '/ebay/inventory', listKey: 'items', table: $('inv-table'), body: $('inv-body'),
  empty: $('inv-empty'), prev: $('inv-prev'), next: $('inv-next'), page: $('inv-page'), totalEl: $('inv-total-tab'),
  q: $('inv-q'), filters: { status: $('inv-status'), condition: $('inv-condition') }, limit: $('inv-limit'),
  sort: 'sku_code', order: 'asc', columns: inventoryColumns, onSku: (sku) => detail.open(sku), onError: showError,
});
const offers = new DataTable({
  name: 'offers', endpoint: '/ebay/offers', listKey: 'offers', table: $('off-table'), body: $('off-body'),
  empty: $('off-empty'), prev: $('off-prev'), next: $('off-next'), page: $('off-page'), totalEl: $('off-total-tab'),
  q: $('off-q'), filters: { status: $('off-status') }, limit: $('off-limit'),
  sort: 'sku_code', order: 'asc', columns: offerColumns, onSku: (sku) => detail.open(sku), onError: showError,
});

/* ---------- changes, CSV downloads and charts ---------- */

const changes = new ChangesView(
  {
    form: $('chg-filters'), run: $('chg-run'), sku: $('chg-sku'), field: $('chg-field'), body: $('chg-body'),
    empty: $('chg-empty'), prev: $('chg-prev'), next: $('chg-next'), page: $('chg-page'), csv: $('chg-csv'),
  },
  { onSku: (sku) => detail.open(sku) },
);
const liveChart = new LiveChart($('st-chart'));
detail.onRender = (item) => showSkuHistory({ list: $('detail-changes'), chart: $('detail-chart') }, item.sku_code, item);

// The download links carry the table's filters (the cookie signs them in).
function csvLink(a, endpoint, fields) {
  const update = () => {
    const p = new URLSearchParams();
    for (const [k, input] of Object.entries(fields)) if (input.value) p.set(k, input.value);
    p.set('format', 'csv');
    a.href = `${endpoint}?${p}`;
  };
  for (const input of Object.values(fields)) input.addEventListener('input', update);
  update();
}
csvLink($('inv-csv'), '/ebay/inventory', { q: $('inv-q'), status: $('inv-status'), condition: $('inv-condition') });
csvLink($('off-csv'), '/ebay/offers', { q: $('off-q'), status: $('off-status') });

// What the terminal shows: the run, whether this page started or attached
// to it live (buttons locked, STOP armed), and its stream.
const view = { runId: null, kind: '', live: false, stream: null, relink: false, stopping: false };
// The user's eBay account as GET /ebay/oauth/status last told it (null:
// not known), and whether the "Reconnect eBay" banner was dismissed.
const account = { status: null, relinkDismissed: false };
const history = { offset: 0, total: 0, runs: [] };
let expiryTimer = 0;

/* ---------- errors ---------- */

function showError(message) {
  ui.appError.textContent = message;
  ui.appError.hidden = false;
}

function clearError() {
  ui.appError.hidden = true;
  ui.appError.textContent = '';
}

/* ---------- signing in and out ---------- */

function showLogin(message = '') {
  closeStream();
  detail.close();
  clearTimeout(expiryTimer);
  ui.appView.hidden = true;
  ui.who.hidden = true;
  ui.whoName.textContent = '';
  // No data of the previous session stays in the page.
  terminal.clear();
  status.reset(null);
  inventory.clear();
  offers.clear();
  ui.historyBody.replaceChildren();
  ui.relink.hidden = true;
  ui.connect.hidden = true;
  ui.linked.hidden = true;
  account.status = null;
  account.relinkDismissed = false;
  clearError();
  ui.loginView.hidden = false;
  ui.loginPass.value = '';
  ui.loginError.textContent = message;
  ui.loginError.hidden = !message;
  (ui.loginUser.value ? ui.loginPass : ui.loginUser).focus();
}

function showApp() {
  const s = getSession();
  ui.loginView.hidden = true;
  ui.appView.hidden = false;
  ui.who.hidden = false;
  ui.whoName.textContent = userName(s);
  clearTimeout(expiryTimer);
  const exp = parseTime(s.expires_at);
  if (Number.isFinite(exp)) {
    // setTimeout overflows past ~24.8 days; a session is far shorter.
    expiryTimer = setTimeout(() => {
      clearSession();
      showLogin('your session has expired; sign in again');
    }, Math.min(Math.max(exp - Date.now(), 0), 2 ** 31 - 1));
  }
  setBusy(false);
  if (justLinked) {
    justLinked = false;
    ui.linked.hidden = false;
    terminal.note('eBay account linked');
  }
  loadConditions();
  refreshAll(true);
}

ui.loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const username = ui.loginUser.value.trim();
  const password = ui.loginPass.value;
  if (!username || !password) {
    ui.loginError.textContent = 'enter your username and password';
    ui.loginError.hidden = false;
    return;
  }
  ui.loginSubmit.disabled = true;
  ui.loginError.hidden = true;
  try {
    await login(username, password);
    ui.loginPass.value = '';
    showApp();
  } catch (err) {
    const msg = err instanceof ApiError && err.status === 401
      ? err.message || 'wrong username or password'
      : `cannot sign in: ${err.message}`;
    ui.loginError.textContent = msg;
    ui.loginError.hidden = false;
    ui.loginPass.select();
    ui.loginPass.focus();
  } finally {
    ui.loginSubmit.disabled = false;
  }
});

ui.signout.addEventListener('click', async () => {
  closeStream();
  await logout();
  showLogin();
});

onUnauthorized(() => showLogin('your session has ended; sign in again'));

/* ---------- runs ---------- */

function setBusy(busy) {
  const focused = document.activeElement;
  view.live = busy;
  for (const b of ui.syncButtons) b.disabled = busy;
  ui.stop.disabled = !busy || view.stopping;
  ui.stop.textContent = view.stopping ? 'Stopping…' : 'STOP';
  for (const b of ui.historyBody.querySelectorAll('button')) b.disabled = busy;
  // A disabled button drops the keyboard focus: keep it somewhere useful
  // (the terminal while the run goes, not STOP, where a second Enter would
  // stop it; the sync button again once it is over).
  if (focused && focused.disabled) {
    if (busy) $('terminal').focus();
    else (ui.syncButtons.find((b) => b.dataset.kind === view.kind) || ui.syncButtons[0]).focus();
  }
}

function closeStream() {
  if (view.stream) view.stream.close();
  view.stream = null;
  status.stopTimer();
}

async function fetchRun(runId) {
  const { data } = await api('GET', `/ebay/sync/runs/${encodeURIComponent(runId)}`);
  return data && typeof data.run === 'object' && data.run ? data.run : data;
}

// Shows runId in the terminal: a live run (buttons locked until it ends) or
// a finished one replayed from its stored log.
function showRun(runId, { live, kind = '', run = null }) {
  closeStream();
  terminal.clear();
  view.runId = runId;
  view.kind = kind;
  view.relink = false;
  view.stopping = false;
  renderAccount();
  ui.termTitle.textContent = live ? `Terminal — ${kind || 'sync'} run (live)` : `Terminal — replay of ${kind || 'run'}`;
  status.reset(runId, { live });
  liveChart.reset();
  if (run) status.seed(run);
  setBusy(live);
  markHistory();
  view.stream = new RunStream(runId, {
    event(ev) {
      terminal.event(ev);
      status.update(ev);
      if (live) liveChart.event(ev);
      if (ev.error_code === RELINK_CODE) view.relink = true;
    },
    note: (t) => terminal.note(t),
    fetchRun,
    end(state, finalRun) {
      if (view.runId !== runId) return;
      status.finish(state === 'signed-out' ? 'unknown' : state);
      ui.termTitle.textContent = `Terminal — ${live ? '' : 'replay of '}${kind || 'sync'} run, ${status.state}`;
      if (finalRun && state === 'failed' && finalRun.error_code === RELINK_CODE) view.relink = true;
      if (view.relink) account.relinkDismissed = false;
      renderAccount();
      view.stream = null;
      if (view.live) {
        view.stopping = false;
        setBusy(false);
        refreshAll(false);
      }
    },
  }).start();
}

async function startRun(kind) {
  clearError();
  ui.linked.hidden = true;
  setBusy(true);
  try {
    const { data } = await api('POST', `/ebay/sync/${kind}`);
    if (!data || !data.run_id) throw new ApiError(500, 'bad_response', 'the server started a run but sent no run_id', data);
    showRun(data.run_id, { live: true, kind });
    refreshHistory();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.body && err.body.run_id) {
      showRun(err.body.run_id, { live: true, kind });
      terminal.note(`a ${kind} run is already going; showing it (${err.body.run_id})`);
      return;
    }
    setBusy(false);
    if (err instanceof ApiError && err.code === 'ebay_not_linked') {
      // The server's own words, and the way out when linking is on.
      const hint = account.status && account.status.configured ? '; or link one with "Connect eBay" above' : '';
      showError(`cannot start the ${kind} sync: ${err.message}${hint}`);
      refreshAccount();
    } else if (!(err instanceof ApiError && err.status === 401)) {
      showError(`cannot start the ${kind} sync: ${err.message}`);
    }
  }
}

for (const b of ui.syncButtons) b.addEventListener('click', () => startRun(b.dataset.kind));

ui.stop.addEventListener('click', async () => {
  if (!view.live || !view.runId || view.stopping) return;
  view.stopping = true;
  setBusy(true);
  terminal.note('STOP pressed: the run stops at its next safe point and keeps what it stored');
  try {
    await api('POST', `/ebay/sync/runs/${encodeURIComponent(view.runId)}/stop`);
  } catch (err) {
    view.stopping = false;
    setBusy(view.live);
    // 409: the run ended meanwhile; its stream says how.
    if (!(err instanceof ApiError && (err.status === 409 || err.status === 401))) showError(`cannot stop the run: ${err.message}`);
  }
});

$('term-copy').addEventListener('click', async () => {
  const t = terminal.text();
  try {
    await navigator.clipboard.writeText(t);
    $('term-note').textContent = 'copied';
  } catch {
    // No clipboard permission: select the lines so Ctrl+C copies them.
    const sel = window.getSelection();
    sel.removeAllRanges();
    const r = document.createRange();
    r.selectNodeContents($('terminal'));
    sel.addRange(r);
    $('term-note').textContent = 'selected; press Ctrl+C to copy';
  }
});
$('term-clear').addEventListener('click', () => terminal.clear());
$('relink-dismiss').addEventListener('click', () => {
  account.relinkDismissed = true;
  ui.relink.hidden = true;
});
$('linked-dismiss').addEventListener('click', () => { ui.linked.hidden = true; });

/* ---------- the eBay account ---------- */

// "Connect eBay" while linking is configured and no account is linked;
// "Reconnect eBay" when the last run asked for it or the refresh token has
// expired (unless dismissed). Both are plain links to /ebay/oauth/start:
// the whole page goes to eBay's consent and comes back to /?ebay=linked.
// Neither is offered by a server known not to link accounts (its
// /ebay/oauth/start answers 503; the run's error line says what to do
// instead), and an unlinked user whose hand-set token was refused gets
// "Connect eBay" alone.
function renderAccount() {
  const st = account.status;
  const expires = st && st.linked ? parseTime(st.refresh_token_expires_at) : NaN;
  const expired = Number.isFinite(expires) && expires <= Date.now();
  const linkable = !(st && st.configured === false);
  ui.connect.hidden = !(st && st.configured && !st.linked);
  ui.relink.hidden = account.relinkDismissed || !linkable || !ui.connect.hidden || !(view.relink || expired);
  if (!ui.connect.hidden) ui.linked.hidden = true;
}

async function refreshAccount() {
  try {
    const { data } = await api('GET', '/ebay/oauth/status');
    account.status = data && typeof data === 'object' ? data : null;
  } catch (err) {
    // Signed out (401) or the server unreachable for now: keep what is
    // shown. Any other answer (a server without account linking): no
    // banner either way.
    if (err instanceof ApiError && (err.status === 401 || err.status === 0)) return;
    account.status = null;
  }
  if (getSession()) renderAccount();
}

/* ---------- history ---------- */

// Queued (waiting for a worker) or running: the run has not ended.
function isActive(r) {
  return r.status === 'running' || r.status === 'queued';
}

function runDuration(r) {
  if (Number.isFinite(Number(r.duration_ms)) && r.duration_ms !== null) return Number(r.duration_ms);
  const a = parseTime(r.started_at);
  const b = parseTime(r.finished_at);
  if (Number.isFinite(a) && Number.isFinite(b)) return b - a;
  if (Number.isFinite(a) && isActive(r)) return Date.now() - a;
  return NaN;
}

// The history row of the run shown live follows the status strip.
function updateLiveRow() {
  if (!view.live || !view.runId) return;
  const tr = Array.from(ui.historyBody.children).find((r) => r.dataset.run === view.runId);
  if (!tr) return;
  const c = status.counts;
  const cells = tr.cells;
  cells[2].textContent = formatCount(c.fetched);
  cells[3].textContent = formatCount(c.stored);
  cells[4].textContent = formatCount(c.failed);
  cells[5].textContent = formatDuration(status.elapsedMs());
}
setInterval(updateLiveRow, 1000);

function markHistory() {
  for (const tr of ui.historyBody.children) tr.setAttribute('aria-current', String(tr.dataset.run === view.runId));
}

function renderHistory() {
  const frag = document.createDocumentFragment();
  for (const r of history.runs) {
    const tr = document.createElement('tr');
    tr.dataset.run = r.id;
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'linkish';
    b.textContent = r.kind;
    b.title = `Replay the log of ${r.id}`;
    b.setAttribute('aria-label', `Replay ${r.kind} run started ${formatWhen(r.started_at)}, ${r.status}`);
    b.disabled = view.live;
    b.addEventListener('click', () => openHistoryRun(r));
    const when = document.createElement('span');
    when.className = 'run-when';
    when.textContent = formatWhen(r.started_at);
    td.append(b, when);
    tr.append(td);
    const st = document.createElement('td');
    st.append(badge(r.status));
    tr.append(st);
    for (const k of ['fetched', 'stored', 'failed']) {
      const c = document.createElement('td');
      c.className = 'num';
      c.textContent = formatCount(r[k]);
      tr.append(c);
    }
    const d = document.createElement('td');
    d.className = 'num';
    d.textContent = formatDuration(runDuration(r));
    tr.append(d);
    if (r.error) tr.title = String(r.error);
    tr.addEventListener('click', (e) => {
      if (e.target !== b && !view.live) openHistoryRun(r);
    });
    frag.append(tr);
  }
  ui.historyBody.replaceChildren(frag);
  ui.historyEmpty.hidden = history.runs.length > 0;
  const from = history.runs.length ? history.offset + 1 : 0;
  ui.historyPage.textContent = `${from}–${history.offset + history.runs.length} of ${history.total}`;
  ui.historyPrev.disabled = history.offset <= 0;
  ui.historyNext.disabled = history.offset + history.runs.length >= history.total;
  markHistory();
}

function openHistoryRun(r) {
  if (view.live) return;
  if (isActive(r)) showRun(r.id, { live: true, kind: r.kind, run: r });
  else showRun(r.id, { live: false, kind: r.kind, run: r });
}

async function refreshHistory() {
  refreshQuota($('quota'));
  try {
    const { data } = await api('GET', `/ebay/sync/runs?limit=${HISTORY_PAGE}&offset=${history.offset}`);
    history.runs = Array.isArray(data?.runs) ? data.runs : [];
    history.total = Number(data?.total) || history.runs.length;
    renderHistory();
    return history.runs;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError(`cannot load the run history: ${err.message}`);
    return null;
  }
}

ui.historyPrev.addEventListener('click', () => {
  history.offset = Math.max(0, history.offset - HISTORY_PAGE);
  refreshHistory();
});
ui.historyNext.addEventListener('click', () => {
  history.offset += HISTORY_PAGE;
  refreshHistory();
});
$('history-refresh').addEventListener('click', () => refreshHistory());

// History and both tables; on first load, show a run that is still going
// (the page was reloaded mid-run) live.
async function refreshAll(first) {
  refreshAccount();
  const runs = await refreshHistory();
  if (first && runs && !view.stream) {
    const running = runs.find(isActive);
    if (running) showRun(running.id, { live: true, kind: running.kind, run: running });
  }
  inventory.load();
  offers.load();
}

/* ---------- tabs ---------- */

const tabs = [$('tab-inventory'), $('tab-offers'), $('tab-changes')];
function selectTab(tab, focus) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (tab.id === 'tab-changes') changes.load();
  if (focus) tab.focus();
}
for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t, false));
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      selectTab(tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length], true);
    }
  });
}

/* ---------- start ---------- */

// Back from eBay's consent (the server's callback sends the browser to
// /?ebay=linked): say so once, and drop the parameter from the address so
// a reload does not say it again.
let justLinked = false;
{
  const params = new URLSearchParams(window.location.search);
  if (params.get('ebay') === 'linked') {
    justLinked = true;
    params.delete('ebay');
    const q = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${q ? `?${q}` : ''}${window.location.hash}`);
  }
}

if (loadSession()) showApp();
else showLogin();
