// The simulator's Feed API (the Active Inventory Report) against eBay's Sell
// Feed OpenAPI contract (openapi/sell_feed_v1_oas3.json, an unmodified copy;
// see openapi/SOURCES.md): createInventoryTask, getInventoryTask and
// getResultFile, their success answers and their errors. Schemas are taken
// from the contract's paths and made strict (additionalProperties: false),
// and every errorId must be one the contract lists for that operation and
// status. The downloaded file is opened (a zip, inflated with node's zlib)
// and its XML checked against the catalog's active listings.
// Run: ES_BIN_DIR=build node --test tests/contract/feed_contract.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { startSim, call, catalogLines, configure } from './sim.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(readFileSync(join(here, 'openapi', 'sell_feed_v1_oas3.json'), 'utf8'));
const STATUSES = ['CREATED', 'QUEUED', 'IN_PROCESS', 'COMPLETED', 'COMPLETED_WITH_ERROR', 'FAILED'];

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
ajv.addSchema({ $id: 'feed', components: { schemas: strictSchemas() } });
// What the contract leaves to prose: the task's required fields and its
// status values (FeedStatusEnum).
const task = ajv.compile({
  allOf: [{ $ref: 'feed#/components/schemas/InventoryTask' },
    { required: ['taskId', 'status', 'feedType', 'creationDate', 'schemaVersion', 'detailHref'],
      properties: { status: { enum: STATUSES }, feedType: { const: 'LMS_ACTIVE_INVENTORY_REPORT' },
        schemaVersion: { const: '1.0' } } }],
});
const errorBody = ajv.compile({
  type: 'object', required: ['errors'], additionalProperties: false,
  properties: { errors: { type: 'array', minItems: 1, items: { allOf: [
    { $ref: 'feed#/components/schemas/Error' },
    { required: ['errorId', 'domain', 'category', 'message'] }] } } },
});

function op(path, method) {
  const o = spec.paths[path]?.[method];
  assert.ok(o, `the contract has no ${method} ${path}`);
  return o;
}

function check(validate, body, what) {
  if (!validate(body)) {
    assert.fail(`${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
  }
}

// An error answer: the shape, and an errorId the contract lists here.
function checkError(path, method, r) {
  check(errorBody, r.body, `${method} ${path} ${r.status}`);
  const listed = op(path, method).responses[String(r.status)];
  assert.ok(listed, `${method} ${path}: ${r.status} is not a response of the contract`);
  const codes = listed['x-response-codes']?.errors ?? {};
  const e = r.body.errors[0];
  assert.ok(String(e.errorId) in codes,
    `${method} ${path} ${r.status}: errorId ${e.errorId} is not in the contract (${Object.keys(codes)})`);
  assert.equal(e.domain, codes[e.errorId].domain);
  assert.equal(e.category, codes[e.errorId].category);
}

const CREATE = { feedType: 'LMS_ACTIVE_INVENTORY_REPORT', schemaVersion: '1.0' };
let sim;
let lines;

before(async () => {
  sim = await startSim(['--skus', '1500', '--seed', '5', '--feed-delay-ms', '200']);
  lines = await catalogLines(sim);
});

after(async () => {
  const { code, signal } = await sim.stop();
  assert.equal(signal, null, `ebaysync-sim died of ${signal}: ${sim.stderr()}`);
  assert.equal(code, 0);
});

async function create(body = CREATE) {
  return call(sim, 'POST', '/sell/feed/v1/inventory_task', { body: JSON.stringify(body) });
}

const taskId = (r) => new URL(r.headers.get('location')).pathname.split('/').pop();

// The first file of a zip archive, by its local header (stored or deflated).
function unzipFirst(buf) {
  assert.equal(buf.readUInt32LE(0), 0x04034b50, 'not a zip archive');
  const method = buf.readUInt16LE(8);
  const size = buf.readUInt32LE(18);
  const start = 30 + buf.readUInt16LE(26) + buf.readUInt16LE(28);
  const data = buf.subarray(start, start + size);
  return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
}

test('createInventoryTask: 202, no body, the task URL in Location', async () => {
  assert.equal(op('/inventory_task', 'post').responses['202'].description, 'Accepted');
  const r = await create();
  assert.equal(r.status, 202);
  assert.equal(r.text, '');
  const loc = new URL(r.headers.get('location'));
  assert.match(loc.pathname, /^\/sell\/feed\/v1\/inventory_task\/[A-Za-z0-9-]+$/);
});

test('getInventoryTask: every status on the way is an InventoryTask', async () => {
  const id = taskId(await create());
  const seen = new Set();
  for (let i = 0; i < 100 && !seen.has('COMPLETED'); i++) {
    const r = await call(sim, 'GET', `/sell/feed/v1/inventory_task/${id}`);
    assert.equal(r.status, 200);
    check(task, r.body, 'InventoryTask');
    assert.equal(r.body.taskId, id);
    assert.equal(r.body.detailHref, `/sell/feed/v1/inventory_task/${id}`);
    assert.equal('completionDate' in r.body, r.body.status === 'COMPLETED');
    seen.add(r.body.status);
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(seen.has('COMPLETED'));
  assert.ok(seen.has('CREATED') || seen.has('QUEUED') || seen.has('IN_PROCESS'));
});

test('getResultFile: a zip of the ActiveInventoryReport, one SKUDetails per active listing', async () => {
  await configure(sim, { feed_delay_ms: 0 });
  const id = taskId(await create());
  const t = await call(sim, 'GET', `/sell/feed/v1/inventory_task/${id}`);
  assert.equal(t.body.status, 'COMPLETED');
  const res = await fetch(`${sim.base}/sell/feed/v1/task/${id}/download_result_file`,
    { headers: { Authorization: 'Bearer contract-token' } });
  assert.equal(res.status, 200);
  assert.ok('application/octet-stream' in op('/task/{task_id}/download_result_file', 'get').responses['200'].content);
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  assert.match(res.headers.get('content-disposition'), /^attachment; filename="[^"]+\.zip"$/);
  const xml = unzipFirst(Buffer.from(await res.arrayBuffer()));
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\s*<BulkDataExchangeResponses xmlns="urn:ebay:apis:eBLBaseComponents"><ActiveInventoryReport>/);
  assert.match(xml, /<Ack>Success<\/Ack>/);
  const active = lines.flatMap((l) => l.offers)
    .filter((o) => o.status === 'PUBLISHED' && o.listing?.listingStatus === 'ACTIVE');
  const details = xml.match(/<SKUDetails>/g) ?? [];
  assert.equal(details.length, active.length);
  for (const o of active.slice(0, 50)) {
    assert.ok(xml.includes(`<ItemID>${o.listing.listingId}</ItemID>`), o.listing.listingId);
  }
  await configure(sim, { feed_delay_ms: 200 });
});

test('the errors: bad requests, unknown tasks, no file yet, the daily cap', async () => {
  let r = await create({ feedType: 'NOPE', schemaVersion: '1.0' });
  assert.equal(r.status, 400);
  checkError('/inventory_task', 'post', r);
  assert.equal(r.body.errors[0].errorId, 160017);
  r = await create({ feedType: 'LMS_ORDER_REPORT', schemaVersion: '1.0' });
  assert.equal(r.body.errors[0].errorId, 160030);
  checkError('/inventory_task', 'post', r);
  r = await create({ feedType: 'LMS_ACTIVE_INVENTORY_REPORT', schemaVersion: '2.0' });
  assert.equal(r.body.errors[0].errorId, 160018);
  checkError('/inventory_task', 'post', r);
  r = await create({ ...CREATE, filterCriteria: { listingFormat: 'BARTER' } });
  assert.equal(r.body.errors[0].errorId, 160019);
  checkError('/inventory_task', 'post', r);

  r = await call(sim, 'GET', '/sell/feed/v1/inventory_task/task-0-0');
  assert.equal(r.status, 404);
  checkError('/inventory_task/{task_id}', 'get', r);
  r = await call(sim, 'GET', '/sell/feed/v1/task/task-0-0/download_result_file');
  assert.equal(r.status, 404);
  checkError('/task/{task_id}/download_result_file', 'get', r);
  await configure(sim, { feed_delay_ms: 60000 });
  const id = taskId(await create());
  r = await call(sim, 'GET', `/sell/feed/v1/task/${id}/download_result_file`);
  assert.equal(r.status, 404);
  assert.equal(r.body.errors[0].errorId, 160014);
  checkError('/task/{task_id}/download_result_file', 'get', r);

  await call(sim, 'POST', '/sim/reset', { token: null, body: '{}' });
  await configure(sim, { feed_daily_cap: 3, feed_delay_ms: 200 });
  for (let i = 0; i < 3; i++) assert.equal((await create()).status, 202);
  r = await create();
  assert.equal(r.status, 409);
  assert.equal(r.body.errors[0].errorId, 160025);
  checkError('/inventory_task', 'post', r);
  await configure(sim, { feed_daily_cap: 25 });
});

test('a filtered report: listingFormat keeps one format', async () => {
  await call(sim, 'POST', '/sim/reset', { token: null, body: '{}' });
  await configure(sim, { feed_delay_ms: 0 });
  const id = taskId(await create({ ...CREATE, filterCriteria: { listingFormat: 'AUCTION' } }));
  const t = await call(sim, 'GET', `/sell/feed/v1/inventory_task/${id}`);
  check(task, t.body, 'InventoryTask');
  assert.deepEqual(t.body.filterCriteria, { listingFormat: 'AUCTION' });
  const res = await fetch(`${sim.base}/sell/feed/v1/task/${id}/download_result_file`,
    { headers: { Authorization: 'Bearer contract-token' } });
  const xml = unzipFirst(Buffer.from(await res.arrayBuffer()));
  const auctions = lines.flatMap((l) => l.offers).filter((o) => o.format === 'AUCTION' &&
    o.status === 'PUBLISHED' && o.listing?.listingStatus === 'ACTIVE');
  assert.equal((xml.match(/<SKUDetails>/g) ?? []).length, auctions.length);
  await configure(sim, { feed_delay_ms: 200 });
});
