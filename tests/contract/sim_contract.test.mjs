// Every response shape ebaysync-sim produces, validated against eBay's Sell
// Inventory OpenAPI contract (see contract.mjs for how it is made strict).
// Run: ES_BIN_DIR=build node --test tests/contract/*.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkResponse, checkSchema, responseSchemaRef } from './contract.mjs';
import { startSim, call, catalogLines, configure, TOKEN } from './sim.mjs';

const SKUS = 3000;
let sim;
let lines;

before(async () => {
  sim = await startSim(['--skus', String(SKUS), '--seed', '11', '--refresh-token', 'R-seed',
    '--redirect-uri', 'http://127.0.0.1:9/cb']);
  lines = await catalogLines(sim);
});

after(async () => {
  const { code, signal } = await sim.stop();
  assert.equal(signal, null, `ebaysync-sim died of ${signal}: ${sim.stderr()}`);
  assert.equal(code, 0);
});

const enc = encodeURIComponent;
const hostile = (sku) => /[ /#%+?&"'\\;,]|[^\x00-\x7f]/.test(sku) || Buffer.byteLength(sku) === 50;

test('the response schemas come from the contract', () => {
  assert.equal(responseSchemaRef('/inventory_item', 'get', 200), 'ebay#/components/schemas/InventoryItems');
  assert.equal(responseSchemaRef('/inventory_item/{sku}', 'get', 200),
    'ebay#/components/schemas/InventoryItemWithSkuLocaleGroupid');
  assert.equal(responseSchemaRef('/offer', 'get', 200), 'ebay#/components/schemas/Offers');
  assert.equal(responseSchemaRef('/offer/{offerId}', 'get', 200),
    'ebay#/components/schemas/EbayOfferDetailsWithAll');
  assert.equal(responseSchemaRef('/bulk_get_inventory_item', 'post', 207),
    'ebay#/components/schemas/BulkGetInventoryItemResponse');
});

test('every page of getInventoryItems, in both offset modes', async () => {
  for (const mode of ['record', 'page']) {
    await configure(sim, { offset_mode: mode });
    let url = '/sell/inventory/v1/inventory_item?limit=200&offset=0';
    let seen = 0;
    let pages = 0;
    while (url) {
      const r = await call(sim, 'GET', url);
      assert.equal(r.status, 200);
      checkResponse('/inventory_item', 'get', 200, r.body);
      seen += r.body.inventoryItems.length;
      url = r.body.next;
      assert.ok(++pages <= 20);
    }
    assert.equal(seen, SKUS);
  }
  // A page past the end, and the default limit.
  const r = await call(sim, 'GET', '/sell/inventory/v1/inventory_item?offset=9999');
  checkResponse('/inventory_item', 'get', 200, r.body);
  assert.equal(r.body.inventoryItems.length, 0);
  await configure(sim, { offset_mode: 'record' });
});

test('every SKU of /sim/catalog: its item and offers', () => {
  assert.equal(lines.length, SKUS);
  let offers = 0;
  for (const line of lines) {
    assert.deepEqual(Object.keys(line).sort(), ['item', 'offers', 'sku']);
    checkSchema('item', line.item);
    for (const o of line.offers) { checkSchema('offer', o); offers++; }
  }
  assert.ok(offers > SKUS / 2);
});

test('getInventoryItem, getOffers and getOffer: a sample and every hostile SKU', async () => {
  const sample = lines.filter((l, i) => i % 15 === 0 || hostile(l.sku));
  assert.ok(sample.filter((l) => hostile(l.sku)).length >= 30);
  for (const line of sample) {
    const item = await call(sim, 'GET', `/sell/inventory/v1/inventory_item/${enc(line.sku)}`);
    assert.equal(item.status, 200, line.sku);
    checkResponse('/inventory_item/{sku}', 'get', 200, item.body);
    assert.deepEqual(item.body, line.item);
    const offers = await call(sim, 'GET', `/sell/inventory/v1/offer?sku=${enc(line.sku)}`);
    assert.equal(offers.status, 200, line.sku);
    checkResponse('/offer', 'get', 200, offers.body);
    assert.deepEqual(offers.body.offers, line.offers);
    for (const o of line.offers) {
      const one = await call(sim, 'GET', `/sell/inventory/v1/offer/${enc(o.offerId)}`);
      checkResponse('/offer/{offerId}', 'get', 200, one.body);
    }
  }
  // Paged offers (limit 1) keep the shape, next and prev included.
  const two = lines.find((l) => l.offers.length === 2);
  const p1 = await call(sim, 'GET', `/sell/inventory/v1/offer?sku=${enc(two.sku)}&limit=1`);
  checkResponse('/offer', 'get', 200, p1.body);
  const p2 = await call(sim, 'GET', p1.body.next);
  checkResponse('/offer', 'get', 200, p2.body);
  assert.ok(p2.body.prev);
});

test('bulkGetInventoryItem: 200 and 207', async () => {
  const skus = lines.slice(0, 25).map((l) => ({ sku: l.sku }));
  const ok = await call(sim, 'POST', '/sell/inventory/v1/bulk_get_inventory_item',
    { body: JSON.stringify({ requests: skus }) });
  assert.equal(ok.status, 200);
  checkResponse('/bulk_get_inventory_item', 'post', 200, ok.body);
  const some = await call(sim, 'POST', '/sell/inventory/v1/bulk_get_inventory_item',
    { body: JSON.stringify({ requests: [{ sku: lines[1].sku }, { sku: 'NOT-THERE' }] }) });
  assert.equal(some.status, 207);
  checkResponse('/bulk_get_inventory_item', 'post', 207, some.body);
  assert.equal(some.body.responses[1].errors[0].errorId, 25702);
});

test('error bodies: validation, auth, not found, rate limit, faults', async () => {
  const cases = [
    ['GET', '/sell/inventory/v1/inventory_item?limit=0', {}, 400, 25706],
    ['GET', '/sell/inventory/v1/inventory_item/NOPE', {}, 404, 25702],
    ['GET', '/sell/inventory/v1/offer', {}, 400, 25709],
    ['GET', '/sell/inventory/v1/offer?sku=NOPE', {}, 404, 25702],
    ['GET', '/sell/inventory/v1/offer/1', {}, 400, 25713],
    ['GET', '/sell/inventory/v1/inventory_item', { token: null }, 400, 1002],
    ['GET', '/sell/inventory/v1/inventory_item', { token: 'nope' }, 401, 1001],
    ['POST', '/sell/inventory/v1/bulk_get_inventory_item',
      { body: JSON.stringify({ requests: Array.from({ length: 26 }, (_, i) => ({ sku: `s${i}` })) }) }, 400, 25727],
  ];
  for (const [method, path, opts, status, id] of cases) {
    const r = await call(sim, method, path, opts);
    assert.equal(r.status, status, path);
    checkSchema('error', r.body);
    assert.equal(r.body.errors[0].errorId, id, path);
  }
  const none = lines.find((l) => l.offers.length === 0);
  await configure(sim, { no_offers_404: true });
  let r = await call(sim, 'GET', `/sell/inventory/v1/offer?sku=${enc(none.sku)}`);
  assert.equal(r.status, 404);
  checkSchema('error', r.body);
  assert.equal(r.body.errors[0].errorId, 25713);
  await configure(sim, { no_offers_404: false, fault_rate: 1, fail_500: 1 });
  r = await call(sim, 'GET', `/sell/inventory/v1/offer?sku=${enc(none.sku)}`);
  assert.equal(r.status, 500);
  checkSchema('error', r.body);
  await configure(sim, { fail_500: 0, fail_25025: 1 });
  r = await call(sim, 'GET', `/sell/inventory/v1/offer?sku=${enc(none.sku)}`);
  assert.equal(r.body.errors[0].errorId, 25025);
  checkSchema('error', r.body);
  await configure(sim, { fault_rate: 0, fail_25025: 0, rps: 1, burst: 1 });
  await call(sim, 'GET', '/sell/inventory/v1/inventory_item?limit=1');
  r = await call(sim, 'GET', '/sell/inventory/v1/inventory_item?limit=1');
  assert.equal(r.status, 429);
  checkSchema('error', r.body);
  assert.equal(r.body.errors[0].errorId, 2001);
  await configure(sim, { rps: 0 });
});

test('token endpoint answers and errors', async () => {
  const basic = `Basic ${Buffer.from('ebaysync-sim-client:ebaysync-sim-secret').toString('base64')}`;
  const form = { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic };
  const post = (body, headers = form) => fetch(`${sim.base}/identity/v1/oauth2/token`,
    { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, body: await res.json() }));

  let r = await post('grant_type=refresh_token&refresh_token=R-seed');
  assert.equal(r.status, 200);
  checkSchema('token', r.body);
  assert.equal(r.body.refresh_token, undefined);
  const api = await call(sim, 'GET', '/sell/inventory/v1/inventory_item?limit=1', { token: r.body.access_token });
  assert.equal(api.status, 200);

  const agree = await fetch(`${sim.base}/oauth2/authorize`, {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `client_id=ebaysync-sim-client&redirect_uri=${enc('http://127.0.0.1:9/cb')}&state=s&decision=agree`,
  });
  assert.equal(agree.status, 302);
  const code = new URL(agree.headers.get('location')).searchParams.get('code');
  r = await post(`grant_type=authorization_code&code=${enc(code)}&redirect_uri=${enc('http://127.0.0.1:9/cb')}`);
  assert.equal(r.status, 200);
  checkSchema('token', r.body);
  assert.ok(r.body.refresh_token && r.body.refresh_token_expires_in);

  for (const [body, headers, status] of [
    ['grant_type=refresh_token&refresh_token=nope', form, 400],
    [`grant_type=authorization_code&code=${enc(code)}&redirect_uri=x`, form, 400],
    ['grant_type=refresh_token&refresh_token=R-seed', { ...form, Authorization: 'Basic eDp5' }, 401],
    ['grant_type=client_credentials', form, 400],
    [`grant_type=client_credentials&scope=${enc('https://api.ebay.com/oauth/api_scope/sell.inventory')}`, form, 400],
  ]) {
    r = await post(body, headers);
    assert.equal(r.status, status, body);
    checkSchema('tokenError', r.body);
  }
});

test('the check fails when a field is renamed, retyped or invented', async () => {
  const offers = (await call(sim, 'GET', `/sell/inventory/v1/offer?sku=${enc(lines.find((l) => l.offers.length).sku)}`)).body;
  const page = (await call(sim, 'GET', '/sell/inventory/v1/inventory_item?limit=3')).body;
  const mutants = [
    ['/offer', (b) => { b.offers[0].offerID = b.offers[0].offerId; delete b.offers[0].offerId; }],
    ['/offer', (b) => { b.offers[0].pricingSummary.price = { value: 9.99, currency: 'USD' }; }],
    ['/offer', (b) => { b.offers[0].listingStatus = 'ACTIVE'; }],
    ['/offer', (b) => { b.offers[0].format = 'BUY_IT_NOW'; }],
    ['/offer', (b) => { b.totalCount = b.total; delete b.total; }],
    ['/inventory_item', (b) => { b.items = b.inventoryItems; delete b.inventoryItems; }],
    ['/inventory_item', (b) => { b.inventoryItems[0].pricingSummary = { price: { value: '1', currency: 'USD' } }; }],
    ['/inventory_item', (b) => { b.inventoryItems[0].product.aspects.Brand = 'Sony'; }],
    ['/inventory_item', (b) => { b.inventoryItems[0].condition = 'BRAND_NEW'; }],
    ['/inventory_item', (b) => { b.size = '3'; }],
  ];
  // The originals pass ...
  checkResponse('/offer', 'get', 200, offers);
  checkResponse('/inventory_item', 'get', 200, page);
  // ... and each mutant fails.
  for (const [path, mutate] of mutants) {
    const copy = structuredClone(path === '/offer' ? offers : page);
    mutate(copy);
    assert.throws(() => checkResponse(path, 'get', 200, copy), /breaks the contract/, mutate.toString());
  }
  assert.throws(() => checkSchema('error', { errors: [{ errorId: 1, domain: 'x', category: 'y', msg: 'z' }] }));
  assert.throws(() => checkSchema('token', { access_token: 'a', expires_in: 7200, tokenType: 'User Access Token' }));
  assert.ok(TOKEN);
});
