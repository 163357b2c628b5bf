// The "Integrations" section of the page: the signed-in user's API keys
// (made, listed, revoked) and webhook endpoints (added, switched on and off,
// removed, their deliveries listed and redelivered). A new key or secret is
// shown once, as the server hands it out. Everything is written with
// textContent: nothing the server sends becomes markup.
import { api } from './api.js';

const $ = (id) => document.getElementById(id);

function when(v) {
  return v ? new Date(v).toLocaleString() : '–';
}

function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text;
  tr.appendChild(td);
  return td;
}

function button(td, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'btn btn-quiet';
  b.textContent = label;
  b.addEventListener('click', onClick);
  td.appendChild(b);
  return b;
}

function showError(e) {
  const p = $('integrations-error');
  p.textContent = e ? e.message : '';
  p.hidden = !e;
}

function showOnce(id, value) {
  $(`${id}-value`).textContent = value;
  $(id).hidden = false;
}

async function loadKeys() {
  const { data } = await api('GET', '/auth/keys');
  const body = $('keys-body');
  body.replaceChildren();
  for (const k of data.keys) {
    const tr = document.createElement('tr');
    tr.dataset.id = k.id;
    cell(tr, k.name);
    cell(tr, k.scope);
    cell(tr, `${k.prefix}…`);
    cell(tr, when(k.created_at));
    cell(tr, when(k.last_used_at));
    cell(tr, k.expires_at ? when(k.expires_at) : 'never');
    const td = cell(tr, k.revoked_at ? `revoked ${when(k.revoked_at)}` : '');
    if (!k.revoked_at)
      button(td, 'Revoke', () => run(async () => {
        await api('DELETE', `/auth/keys/${encodeURIComponent(k.id)}`);
        await loadKeys();
      }));
    body.appendChild(tr);
  }
  $('keys-empty').hidden = data.keys.length > 0;
}

async function loadHooks() {
  const [{ data: hooks }, { data: dels }] = await Promise.all([
    api('GET', '/ebay/webhooks'), api('GET', '/ebay/webhooks/deliveries?limit=20')]);
  const body = $('hooks-body');
  body.replaceChildren();
  for (const h of hooks.webhooks) {
    const tr = document.createElement('tr');
    tr.dataset.id = h.id;
    cell(tr, h.url);
    cell(tr, h.events.join(', '));
    const td = cell(tr, h.enabled ? 'on ' : 'off ');
    button(td, h.enabled ? 'Pause' : 'Resume', () => run(async () => {
      await api('PATCH', `/ebay/webhooks/${encodeURIComponent(h.id)}`, { enabled: !h.enabled });
      await loadHooks();
    }));
    button(td, 'Remove', () => run(async () => {
      await api('DELETE', `/ebay/webhooks/${encodeURIComponent(h.id)}`);
      await loadHooks();
    }));
    body.appendChild(tr);
  }
  $('hooks-empty').hidden = hooks.webhooks.length > 0;
  const dbody = $('deliveries-body');
  dbody.replaceChildren();
  for (const d of dels.deliveries) {
    const tr = document.createElement('tr');
    cell(tr, when(d.created_at));
    cell(tr, d.event);
    cell(tr, d.status);
    cell(tr, String(d.attempts));
    cell(tr, d.last_http_status ? String(d.last_http_status) : '–');
    const td = cell(tr, d.last_error || '');
    button(td, 'Redeliver', () => run(async () => {
      await api('POST', `/ebay/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`);
      await loadHooks();
    }));
    dbody.appendChild(tr);
  }
}

async function run(fn) {
  try {
    showError(null);
    await fn();
  } catch (e) {
    showError(e);
  }
}

function init() {
  if (!$('integrations')) return;
  $('keys-panel').addEventListener('toggle', () => { if ($('keys-panel').open) run(loadKeys); });
  $('hooks-panel').addEventListener('toggle', () => { if ($('hooks-panel').open) run(loadHooks); });
  $('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const body = { name: $('key-name').value.trim(), scope: $('key-scope').value };
      const days = Number($('key-expires').value);
      if (days > 0) body.expires_days = days;
      const { data } = await api('POST', '/auth/keys', body);
      showOnce('key-new', data.key);
      $('key-form').reset();
      await loadKeys();
    });
  });
  $('hook-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const { data } = await api('POST', '/ebay/webhooks', { url: $('hook-url').value.trim(), events: ['run.finished'] });
      showOnce('hook-new', data.secret);
      $('hook-form').reset();
      await loadHooks();
    });
  });
}

init();
