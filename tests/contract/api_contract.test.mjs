// ebaysync's own API against its OpenAPI document (docs/openapi.json): the
// document is a valid OpenAPI 3.1 description (the parser of
// @apidevtools/swagger-parser, as Swagger UI and Redocly load it), serve
// hands it out unchanged at /openapi.json, and every answer of a real
// `ebaysync serve` (on the simulator) to every operation, successes and
// errors alike, matches it: status, content type and body, and each event of
// a run's stream. The last test demands that each operation was exercised.
// Run: ES_BIN_DIR=build node --test tests/contract/api_contract.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startStack, addUsers } from '../browser/lib/stack.mjs';
import { parseSse } from '../browser/lib/api.mjs';
import { doc, checkAnswer, checkEventData, operations, seen, templateOf } from './ebaysync_api.mjs';

let stack;
let base;
let token;

before(async () => {
  // 100 SKUs at 40 eBay requests a second: an offers run lasts ~2.5 s, long
  // enough to be running when a second start or a stop comes.
  stack = await startStack({ skus: 100, seed: 5, serverArgs: ['--max-rps', '40'] });
  base = stack.server.url;
  addUsers(stack.server.db, [{ name: 'nolink', password: 'correct horse battery staple' }]);
});

after(async () => {
  const codes = await stack.stop();
  assert.equal(codes.server, 0);
});

// One call, checked against the document; returns {status, headers, body, text}.
async function call(method, path, { auth = token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (auth) h.Authorization = `Bearer ${auth}`;
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers: h, body, redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  const out = { status: res.status, headers: res.headers, body: json, text };
  checkAnswer(method, path, out);
  return out;
}

async function waitEnded(id) {
  for (let i = 0; i < 600; i++) {
    const r = await call('GET', `/ebay/sync/runs/${id}`);
    if (r.body.status !== 'running' && r.body.status !== 'queued') return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`run ${id} did not end`);
}

// The whole stream of an ended run, each event checked; returns the events.
async function streamOf(id) {
  const r = await call('GET', `/ebay/sync/events/${id}`, { headers: { Accept: 'text/event-stream' } });
  assert.equal(r.status, 200);
  const events = parseSse(r.text);
  assert.ok(events.length >= 2);
  for (const e of events) checkEventData(e.event, e.data);
  return events;
}

test('the document is valid OpenAPI 3.1, and serve hands it out unchanged', async () => {
  const api = await SwaggerParser.validate(structuredClone(doc));
  assert.equal(api.openapi, '3.1.0');
  const r = await call('GET', '/openapi.json', { auth: null });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, doc);
});

test('a broken document is refused by the validator, and a wrong answer by the checks', async () => {
  const bad = structuredClone(doc);
  bad.paths['/ebay/me'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nope' };
  await assert.rejects(SwaggerParser.validate(bad));
  const headers = new Headers({ 'content-type': 'application/json' });
  assert.throws(() => checkAnswer('GET', '/ebay/me', { status: 200, headers, body: { user: 1 }, text: '{"user":1}' }), /does not match/);
  assert.throws(() => checkAnswer('GET', '/ebay/me', { status: 418, headers, body: {}, text: '{}' }), /does not list/);
  assert.equal(templateOf('/ebay/sync/runs/x/stop'), '/ebay/sync/runs/{run_id}/stop');
});

test('logging in and out, and who the caller is', async () => {
  assert.equal((await call('POST', '/auth/login', { auth: null, body: '{"username":' })).status, 400);
  assert.equal((await call('POST', '/auth/login', { auth: null, body: '{"username":"demo"}' })).status, 400);
  const wrong = await call('POST', '/auth/login', { auth: null, body: JSON.stringify({ username: 'demo', password: 'nope' }) });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'unauthorized');
  const big = await call('POST', '/auth/login', { auth: null, body: 'x'.repeat(70000) });
  assert.equal(big.status, 413);
  const ok = await call('POST', '/auth/login', { auth: null, body: JSON.stringify({ username: stack.user, password: stack.password }) });
  assert.equal(ok.status, 200);
  token = ok.body.token;
  assert.equal((await call('POST', '/auth/logout', { auth: null })).status, 200);
  assert.equal((await call('GET', '/ebay/me', { auth: null })).status, 401);
  assert.equal((await call('GET', '/ebay/me', { auth: 'not.a.jwt' })).status, 401);
  const me = await call('GET', '/ebay/me');
  assert.equal(me.status, 200);
  assert.deepEqual(me.body, { user: 'demo', ebay_linked: true });
  const wrongMethod = await call('DELETE', '/ebay/me');
  assert.equal(wrongMethod.status, 405);
});

test('starting, refusing, stopping and following runs', async () => {
  const all = await call('POST', '/ebay/sync/all');
  assert.equal(all.status, 202);
  const again = await call('POST', '/ebay/sync/all');
  assert.equal(again.status, 409);
  assert.equal(again.body.run_id, all.body.run_id);
  const stop = await call('POST', `/ebay/sync/runs/${all.body.run_id}/stop`);
  assert.equal(stop.status, 202);
  assert.equal((await waitEnded(all.body.run_id)).status, 'cancelled');
  const stopped = await streamOf(all.body.run_id);
  assert.equal(stopped.at(-1).event, 'cancelled');
  assert.equal((await call('POST', `/ebay/sync/runs/${all.body.run_id}/stop`)).status, 409);

  const inv = await call('POST', '/ebay/sync/inventory', { body: '{}' });
  assert.equal(inv.status, 202);
  assert.equal((await waitEnded(inv.body.run_id)).status, 'done');
  const events = await streamOf(inv.body.run_id);
  assert.equal(events.at(-1).event, 'done');
  const last = events.at(-1).id;
  const none = await call('GET', `/ebay/sync/events/${inv.body.run_id}`, { headers: { 'Last-Event-ID': last } });
  assert.equal(none.status, 204);
  assert.equal((await call('GET', `/ebay/sync/events/${inv.body.run_id}?last_event_id=x`)).status, 400);
  assert.equal((await call('GET', '/ebay/sync/events/no_such_run')).status, 404);

  const off = await call('POST', '/ebay/sync/offers', { body: '{"resume": false}' });
  assert.equal(off.status, 202);
  assert.equal((await waitEnded(off.body.run_id)).status, 'done');
  const refresh = await call('POST', '/ebay/sync/refresh', { body: '{"report_only": false}' });
  assert.equal(refresh.status, 202);
  await waitEnded(refresh.body.run_id);
  assert.equal((await call('POST', '/ebay/sync/refresh', { body: '{"report_only": 1}' })).status, 400);
  const skus = await call('POST', '/ebay/sync/skus', { body: JSON.stringify({ skus: ['SKU-NOT-THERE'] }) });
  assert.equal(skus.status, 202);
  await waitEnded(skus.body.run_id);

  assert.equal((await call('POST', '/ebay/sync/offers', { body: '{"resume": 1}' })).status, 400);
  assert.equal((await call('POST', '/ebay/sync/skus', { body: '{"skus": []}' })).status, 400);
  const nolink = await call('POST', '/auth/login', { auth: null, body: JSON.stringify({ username: 'nolink', password: 'correct horse battery staple' }) });
  const unlinked = await call('POST', '/ebay/sync/inventory', { auth: nolink.body.token });
  assert.equal(unlinked.status, 400);
  assert.equal(unlinked.body.error.code, 'ebay_not_linked');
  assert.equal((await call('POST', '/ebay/sync/inventory', { auth: null })).status, 401);

  const runs = await call('GET', '/ebay/sync/runs?limit=10');
  assert.equal(runs.status, 200);
  assert.equal(runs.body.total, 5);
  assert.equal((await call('GET', '/ebay/sync/runs?limit=0')).status, 400);
  const one = await call('GET', `/ebay/sync/runs/${inv.body.run_id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.kind, 'inventory');
  assert.equal((await call('GET', '/ebay/sync/runs/no_such_run')).status, 404);
  assert.equal((await call('POST', '/ebay/sync/runs/no_such_run/stop')).status, 404);
});

test('the rows', async () => {
  const items = await call('GET', '/ebay/inventory?limit=5&sort=title&order=desc');
  assert.equal(items.status, 200);
  assert.equal(items.body.total, 100);
  assert.equal(items.body.items.length, 5);
  const sku = items.body.items[0].sku_code;
  const one = await call('GET', `/ebay/inventory/${encodeURIComponent(sku)}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.item.sku_code, sku);
  assert.equal((await call('GET', '/ebay/inventory/NO-SUCH-SKU')).status, 404);
  assert.equal((await call('GET', '/ebay/inventory?sort=nope')).status, 400);
  assert.equal((await call('GET', '/ebay/inventory?order=up')).status, 400);
  const offers = await call('GET', '/ebay/offers?limit=3');
  assert.equal(offers.status, 200);
  assert.ok(offers.body.total > 0);
  assert.equal((await call('GET', '/ebay/offers?limit=501')).status, 400);
  const changes = await call('GET', '/ebay/changes?limit=5');
  assert.equal(changes.status, 200);
  assert.ok(changes.body.total > 0);
  assert.ok(changes.body.fields.includes('created'));
  assert.equal((await call('GET', '/ebay/changes?field=nope')).status, 400);
  const conds = await call('GET', '/ebay/conditions');
  assert.equal(conds.status, 200);
  assert.ok(conds.body.conditions.includes('NEW'));
});

test('eBay account linking, health and metrics', async () => {
  const st = await call('GET', '/ebay/oauth/status');
  assert.equal(st.status, 200);
  assert.equal(st.body.configured, false);
  assert.equal((await call('GET', '/ebay/oauth/start')).status, 503);
  assert.equal((await call('GET', '/ebay/oauth/callback?code=x&state=y', { auth: null })).status, 503);
  assert.equal((await call('GET', '/healthz', { auth: null })).status, 200);
  const m = await call('GET', '/metrics', { auth: null });
  assert.equal(m.status, 200);
  assert.match(m.text, /ebaysync_runs\{status="done"\} 4/);
  assert.match(m.text, /ebaysync_ebay_quota_remaining \d+/);
  assert.match(m.text, /ebaysync_ebay_calls_today\{api="sell.inventory"\} [1-9]/);
});

test('the eBay quota of today: the ledger of the runs above', async () => {
  const q = await call('GET', '/ebay/quota');
  assert.equal(q.status, 200);
  assert.equal(q.body.source, 'ledger');
  assert.equal(q.body.limit, 2000000);
  assert.ok(q.body.used > 0);
  assert.equal(q.body.remaining, q.body.limit - q.body.used);
  assert.equal(q.body.calls_by_api['sell.inventory'], q.body.used);
  assert.ok(q.body.user.used > 0 && q.body.user.used <= q.body.used);
  assert.equal(q.body.user.weight, 1);
  assert.equal((await call('GET', '/ebay/quota', { auth: null })).status, 401);
  assert.equal((await call('POST', '/ebay/quota', { body: '{}' })).status, 405);
});

test('API keys: made, listed, scoped and revoked', async () => {
  assert.equal((await call('POST', '/auth/keys', { body: '{"scope": "read"}' })).status, 400);
  const made = await call('POST', '/auth/keys', { body: JSON.stringify({ name: 'contract reader', scope: 'read', expires_days: 1 }) });
  assert.equal(made.status, 201);
  const key = made.body.key;
  assert.equal((await call('GET', '/ebay/sync/runs', { auth: key })).status, 200);
  const refused = await call('POST', '/ebay/sync/inventory', { auth: key });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, 'forbidden');
  assert.equal((await call('GET', '/auth/keys', { auth: key })).status, 403);
  const list = await call('GET', '/auth/keys');
  assert.equal(list.status, 200);
  assert.equal(list.body.keys[0].id, made.body.id);
  assert.ok(list.body.keys[0].last_used_at);
  assert.equal((await call('DELETE', `/auth/keys/${made.body.id}`)).status, 200);
  assert.equal((await call('DELETE', '/auth/keys/key_nope')).status, 404);
  const gone = await call('GET', '/ebay/me', { auth: key });
  assert.equal(gone.status, 401);
  assert.match(gone.body.error.message, /revoked/);
});

test('webhooks: made, listed, switched, deliveries, removed', async () => {
  const local = await call('POST', '/ebay/webhooks', { body: JSON.stringify({ url: 'http://127.0.0.1:9/hook' }) });
  assert.equal(local.status, 400);
  assert.match(local.body.error.message, /allow-private-webhooks/);
  const made = await call('POST', '/ebay/webhooks', { body: JSON.stringify({ url: 'https://hooks.example.com/ebaysync', events: ['run.finished'] }) });
  assert.equal(made.status, 201);
  assert.match(made.body.secret, /^whsec_/);
  const list = await call('GET', '/ebay/webhooks');
  assert.equal(list.status, 200);
  assert.equal(list.body.webhooks.length, 1);
  assert.equal(list.body.webhooks[0].secret, undefined);
  const off = await call('PATCH', `/ebay/webhooks/${made.body.id}`, { body: '{"enabled": false}' });
  assert.equal(off.status, 200);
  assert.equal(off.body.enabled, false);
  assert.equal((await call('PATCH', `/ebay/webhooks/${made.body.id}`, { body: '{}' })).status, 400);
  assert.equal((await call('GET', `/ebay/webhooks/deliveries?webhook_id=${made.body.id}`)).status, 200);
  assert.equal((await call('GET', '/ebay/webhooks/deliveries?limit=0')).status, 400);
  assert.equal((await call('POST', '/ebay/webhooks/deliveries/whd_nope/redeliver')).status, 404);
  assert.equal((await call('DELETE', `/ebay/webhooks/${made.body.id}`)).status, 200);
  assert.equal((await call('DELETE', `/ebay/webhooks/${made.body.id}`)).status, 404);
});

test('schedules: made, listed, read, changed, refused, removed', async () => {
  // Off, or at a time of day: no run starts during the other tests.
  const made = await call('POST', '/ebay/schedules', { body: JSON.stringify({ kind: 'refresh', interval_s: 900, enabled: false }) });
  assert.equal(made.status, 201);
  assert.match(made.body.id, /^sch_/);
  assert.equal(made.body.next_due_at, null);
  const timed = await call('POST', '/ebay/schedules', { body: JSON.stringify({ kind: 'offers', times: ['18:30', '06:00'], tz: 'Europe/Berlin', enabled: false }) });
  assert.equal(timed.status, 201);
  assert.deepEqual(timed.body.times, ['06:00', '18:30']);
  const list = await call('GET', '/ebay/schedules');
  assert.equal(list.status, 200);
  assert.equal(list.body.schedules.length, 2);
  const one = await call('GET', `/ebay/schedules/${made.body.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.interval_s, 900);
  const changed = await call('PATCH', `/ebay/schedules/${timed.body.id}`, { body: JSON.stringify({ times: '07:15', tz: 'America/New_York' }) });
  assert.equal(changed.status, 200);
  assert.deepEqual(changed.body.times, ['07:15']);
  assert.equal(changed.body.enabled, false);
  for (const bad of [{ kind: 'skus', interval_s: 900 }, { kind: 'all', interval_s: 5 }, { kind: 'all', times: ['7am'] },
    { kind: 'all', times: ['07:00'], tz: 'Nowhere/Land' }, { kind: 'all', interval_s: 900, times: ['07:00'] }]) {
    const r = await call('POST', '/ebay/schedules', { body: JSON.stringify(bad) });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'invalid_schedule');
  }
  assert.equal((await call('POST', '/ebay/schedules', { body: '[' })).status, 400);
  assert.equal((await call('PATCH', `/ebay/schedules/${made.body.id}`, { body: '{"enabled": 1}' })).status, 400);
  assert.equal((await call('GET', '/ebay/schedules/sch_nope')).status, 404);
  assert.equal((await call('PATCH', '/ebay/schedules/sch_nope', { body: '{"enabled": false}' })).status, 404);
  assert.equal((await call('DELETE', `/ebay/schedules/${made.body.id}`)).status, 200);
  assert.equal((await call('DELETE', `/ebay/schedules/${made.body.id}`)).status, 404);
  assert.equal((await call('DELETE', `/ebay/schedules/${timed.body.id}`)).status, 200);
});

test('every operation of the document was exercised', () => {
  const missed = operations().filter((op) => ![...seen].some((s) => s.startsWith(`${op} `)));
  assert.deepEqual(missed, []);
});
