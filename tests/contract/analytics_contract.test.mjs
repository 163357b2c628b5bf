// The simulator's Developer Analytics API against eBay's contract
// (openapi/developer_analytics_v1_beta_oas3.json, an unmodified copy; see
// openapi/SOURCES.md): getRateLimits and getUserRateLimits, their answers
// validated with the RateLimitsResponse schema taken from the contract's
// paths and made strict (additionalProperties: false), the token each
// needs as the contract's security says (getRateLimits: the client
// credentials scope api_scope, an application token; getUserRateLimits: a
// user token), the api_context/api_name filters and the 204 the contract
// lists, and counts that follow the simulator's --daily-quota.
// Run: ES_BIN_DIR=build node --test tests/contract/analytics_contract.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSim, call, configure } from './sim.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(readFileSync(join(here, 'openapi', 'developer_analytics_v1_beta_oas3.json'), 'utf8'));
const BASE = '/developer/analytics/v1_beta';
const APP_SCOPE = 'https://api.ebay.com/oauth/api_scope';
const QUOTA = 60;

function strictSchemas() {
  const schemas = structuredClone(spec.components.schemas);
  const walk = (s) => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) { s.forEach(walk); return; }
    if (s.properties && s.additionalProperties === undefined) s.additionalProperties = false;
    if (typeof s.format === 'string') delete s.format;
    for (const v of Object.values(s)) walk(v);
  };
  walk(schemas);
  return schemas;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ $id: 'analytics', components: { schemas: strictSchemas() } });

function op(path, method) {
  const o = spec.paths[path]?.[method];
  assert.ok(o, `the contract has no ${method} ${path}`);
  return o;
}

// The 200 schema of an operation, from the contract's paths; and what the
// contract leaves to prose: every field of a rate present, the reset in
// its documented format.
function responseValidator(path) {
  const ref = op(path, 'get').responses['200'].content['application/json'].schema.$ref;
  assert.equal(ref, '#/components/schemas/RateLimitsResponse');
  const rate = {
    required: ['limit', 'remaining', 'reset', 'timeWindow'],
    properties: {
      limit: { type: 'integer', minimum: 0, maximum: 2147483647 },
      remaining: { type: 'integer', minimum: 0, maximum: 2147483647 },
      timeWindow: { type: 'integer', minimum: 1 },
      reset: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$' },
    },
  };
  const resource = { required: ['name', 'rates'], properties: { rates: { type: 'array', minItems: 1, items: rate } } };
  const api = {
    required: ['apiContext', 'apiName', 'apiVersion', 'resources'],
    properties: { resources: { type: 'array', minItems: 1, items: resource } },
  };
  return ajv.compile({
    allOf: [{ $ref: `analytics${ref}` },
      { required: ['rateLimits'], properties: { rateLimits: { type: 'array', items: api } } }],
  });
}

const errorBody = ajv.compile({
  type: 'object', required: ['errors'], additionalProperties: false,
  properties: { errors: { type: 'array', minItems: 1, items: { allOf: [
    { $ref: 'analytics#/components/schemas/Error' },
    { required: ['errorId', 'domain', 'category', 'message'] }] } } },
});

function check(validate, body, what) {
  if (!validate(body)) {
    assert.fail(`${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
  }
}

let sim;
let appToken;

async function mintAppToken() {
  const basic = Buffer.from('ebaysync-sim-client:ebaysync-sim-secret').toString('base64');
  const r = await call(sim, 'POST', '/identity/v1/oauth2/token', {
    token: null,
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(APP_SCOPE)}`,
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.token_type, 'Application Access Token');
  return r.body.access_token;
}

before(async () => {
  sim = await startSim(['--skus', '40', '--daily-quota', String(QUOTA)]);
  appToken = await mintAppToken();
});

after(async () => {
  const { code, signal } = await sim.stop();
  assert.equal(signal, null, `ebaysync-sim died of ${signal}: ${sim.stderr()}`);
  assert.equal(code, 0);
});

test('the security the contract asks: an application token, a user token', () => {
  assert.deepEqual(op('/rate_limit/', 'get').security, [{ api_auth: [APP_SCOPE] }]);
  assert.ok(op('/user_rate_limit/', 'get').security[0].api_auth
    .includes('https://api.ebay.com/oauth/api_scope/sell.inventory.readonly'));
});

test('getRateLimits and getUserRateLimits: RateLimitsResponse, counts from the quota', async () => {
  await call(sim, 'POST', '/sim/reset', { token: null, body: '' });
  const app = responseValidator('/rate_limit/');
  const user = responseValidator('/user_rate_limit/');
  let r = await call(sim, 'GET', `${BASE}/rate_limit/`, { token: appToken });
  assert.equal(r.status, 200);
  check(app, r.body, 'getRateLimits');
  let rate = r.body.rateLimits[0].resources[0].rates[0];
  assert.equal(rate.limit, QUOTA);
  assert.equal(rate.remaining, QUOTA);
  for (let i = 0; i < 3; i++) {
    assert.equal((await call(sim, 'GET', '/sell/inventory/v1/inventory_item?limit=10')).status, 200);
  }
  r = await call(sim, 'GET', `${BASE}/user_rate_limit/?api_context=sell&api_name=inventory`);
  assert.equal(r.status, 200);
  check(user, r.body, 'getUserRateLimits');
  rate = r.body.rateLimits[0].resources[0].rates[0];
  assert.equal(rate.remaining, QUOTA - 3);
  assert.equal(rate.timeWindow, 86400);
});

test('204 when the filters match no API (a status the contract lists)', async () => {
  assert.ok(op('/rate_limit/', 'get').responses['204']);
  const r = await call(sim, 'GET', `${BASE}/rate_limit/?api_context=buy&api_name=browse`, { token: appToken });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
});

test('the wrong token kind: 403 with an eBay error body', async () => {
  let r = await call(sim, 'GET', `${BASE}/rate_limit/`);
  assert.equal(r.status, 403);
  check(errorBody, r.body, 'getRateLimits with a user token');
  assert.equal(r.body.errors[0].errorId, 1100);
  r = await call(sim, 'GET', `${BASE}/user_rate_limit/`, { token: appToken });
  assert.equal(r.status, 403);
  check(errorBody, r.body, 'getUserRateLimits with an application token');
  r = await call(sim, 'GET', `${BASE}/rate_limit/`, { token: 'nope' });
  assert.equal(r.status, 401);
  check(errorBody, r.body, 'an unknown token');
});

test('the limit follows --daily-quota set through /sim/config', async () => {
  await configure(sim, { daily_quota: 7 });
  const r = await call(sim, 'GET', `${BASE}/rate_limit/`, { token: appToken });
  check(responseValidator('/rate_limit/'), r.body, 'getRateLimits');
  assert.equal(r.body.rateLimits[0].resources[0].rates[0].limit, 7);
  await configure(sim, { daily_quota: QUOTA });
});

test('the check fails on an invented or retyped field', () => {
  const v = responseValidator('/rate_limit/');
  const good = { rateLimits: [{ apiContext: 'sell', apiName: 'inventory', apiVersion: 'v1',
    resources: [{ name: 'sell.inventory', rates: [{ limit: 5, remaining: 5, reset: '2026-01-01T00:00:00.000Z', timeWindow: 86400 }] }] }] };
  assert.ok(v(good));
  const invented = structuredClone(good);
  invented.rateLimits[0].resources[0].rates[0].count = 3;
  assert.ok(!v(invented));
  const retyped = structuredClone(good);
  retyped.rateLimits[0].resources[0].rates[0].remaining = '5';
  assert.ok(!v(retyped));
});
