// eBay's daily quota on the page: a line under the run status, from
// GET /ebay/quota (docs/quota.md): the install's calls today against the
// Inventory API's limit, what is left and when it resets, and the signed-in
// seller's own calls. A server without the quota (404) hides the line.
import { api, ApiError, parseTime } from './api.js';
import { formatCount } from './status.js';

function resetText(iso) {
  const t = parseTime(iso);
  if (!Number.isFinite(t)) return '';
  const d = new Date(t);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return t - Date.now() > 20 * 3600 * 1000 ? `${d.toLocaleDateString()} ${hm}` : hm;
}

export async function refreshQuota(el) {
  let q;
  try {
    ({ data: q } = await api('GET', '/ebay/quota'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    el.hidden = true;
    return;
  }
  if (!q || typeof q !== 'object' || !Number.isFinite(Number(q.limit))) {
    el.hidden = true;
    return;
  }
  const limit = Number(q.limit);
  const used = Number(q.used) || 0;
  const left = Number(q.remaining) || 0;
  const mine = Number(q.user?.used) || 0;
  const pct = limit > 0 ? Math.min(100, Math.round((used * 100) / limit)) : 100;
  el.dataset.low = String(limit > 0 && left < limit / 10);
  el.querySelector('[data-q="text"]').textContent =
    `eBay calls today: ${formatCount(used)} of ${formatCount(limit)} (${formatCount(left)} left` +
    `${q.reset ? `, resets ${resetText(q.reset)}` : ''}) · yours: ${formatCount(mine)}`;
  el.querySelector('[data-q="fill"]').style.width = `${pct}%`;
  el.title = q.source === 'ebay'
    ? "From eBay's Developer Analytics"
    : `Counted by ebaysync${q.source_note ? ` (${q.source_note})` : ''}`;
  el.hidden = false;
}
