// The tests' own view of the truth, fetched from node beside the browser: the
// server's API (rows, runs, a run's complete event list) and the
// simulator's catalog.

export async function login(base, username, password) {
  const r = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (r.status !== 200) throw new Error(`login as ${username} answered ${r.status}: ${await r.text()}`);
  const body = await r.json();
  return body.token;
}

export async function getJson(url, token) {
  const r = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  if (!r.ok) throw new Error(`GET ${url} answered ${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

// Parses Server-Sent Events text into [{id, event, data}] (complete events only).
export function parseSse(text) {
  const out = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let id = null;
    let event = 'message';
    const data = [];
    let any = false;
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') {
        data.push(value);
        any = true;
      }
    }
    if (any) out.push({ id, event, data: JSON.parse(data.join('\n')) });
  }
  return out;
}

// The whole event list of a finished run: its stream replays everything and
// ends. Resolves [{seq, event, type, line, time, error_code}] (error_code:
// what failed the run, on its final "error" event only).
export async function runEvents(base, token, runId, timeoutMs = 30000) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const r = await fetch(`${base}/ebay/sync/events/${encodeURIComponent(runId)}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
      signal: ac.signal,
    });
    if (r.status !== 200) throw new Error(`events of ${runId} answered ${r.status}`);
    const text = await r.text();
    return parseSse(text).map((e) => ({
      seq: Number(e.id),
      event: e.event,
      type: e.data.type,
      line: e.data.line,
      time: e.data.time,
      error_code: e.data.error_code,
    }));
  } finally {
    clearTimeout(t);
  }
}

// The simulator's catalog (GET /sim/catalog, JSON lines): how many items and
// offers it holds, every SKU, and each SKU's condition as eBay sends it
// (conditions: Map sku -> value, for the items that have one).
export async function simCatalog(simUrl) {
  const r = await fetch(`${simUrl}/sim/catalog`);
  if (!r.ok) throw new Error(`GET ${simUrl}/sim/catalog answered ${r.status}`);
  const text = await r.text();
  let items = 0;
  let offers = 0;
  const skus = [];
  const conditions = new Map();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    const item = o.inventoryItem ?? o.item ?? (o.sku !== undefined && o.offerId === undefined ? o : null);
    if (item) {
      items++;
      skus.push(item.sku ?? o.sku);
      if (typeof item.condition === 'string') conditions.set(item.sku ?? o.sku, item.condition);
    }
    if (Array.isArray(o.offers)) offers += o.offers.length;
    else if (o.offerId !== undefined) offers++;
  }
  return { items, offers, skus, conditions };
}
