// The change log on the page: after a "Sync all", the simulator changes
// SKUs (POST /sim/mutate) and a second "Sync all" runs; the Changes tab
// lists exactly what GET /ebay/changes holds, formatted by the page
// ("price 12.99 -> 10.99", "ENDED", "CREATED"); a SKU's detail view draws
// its price and quantity over time (an SVG with one point per value the
// change log knows); the live chart shows during the run; and the CSV
// download button fetches the inventory as CSV.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn, startRun, waitForEnd } from './lib/browser.mjs';
import { getJson, login } from './lib/api.mjs';
import { startStack, tmpDir } from './lib/stack.mjs';

const SKUS = 200;

describe('changes', () => {
  let stack;
  let browser;
  let token;
  let page;
  let record;

  before(async () => {
    stack = await startStack({ dir: tmpDir(), skus: SKUS, latencyMs: 5 });
    browser = await launch();
    token = await login(stack.server.url, stack.user, stack.password);
    page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await startRun(page, 'Sync all');
    assert.equal(await waitForEnd(page), 'done');
    const res = await fetch(`${stack.sim.url}/sim/mutate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ edit: 20, remove: 3, add: 2, seed: 11 }),
    });
    record = await res.json();
    assert.equal(record.changes.length, 25);
    await startRun(page, 'Sync all');
    assert.equal(await waitForEnd(page), 'done');
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
  });

  test('the live chart was drawn during the run', async () => {
    const points = await page.$$eval('#st-chart svg circle', (c) => c.length);
    assert.ok(points > 0, 'the live chart has points');
    assert.match(await page.textContent('#st-chart .chart-legend'), /calls\/s .* 429 .* ms/);
  });

  test('the Changes tab shows the newest changes as the API holds them', async () => {
    const runs = await getJson(`${stack.server.url}/ebay/sync/runs?limit=1`, token);
    const runId = runs.runs[0].id;
    const api = await getJson(`${stack.server.url}/ebay/changes?run=${encodeURIComponent(runId)}&limit=50`, token);
    assert.ok(api.total > 0);
    assert.ok(api.fields.includes('price') && api.fields.includes('created'));
    await page.getByRole('tab', { name: 'Changes' }).click();
    await page.fill('#chg-run', runId);
    await page
      .waitForFunction((n) => document.getElementById('chg-page').textContent.replace(/\s/g, '').endsWith(`of${n}`), String(api.total), { timeout: 10000 })
      .catch(async (e) => {
        throw new Error(`${e.message}: page says "${await page.textContent('#chg-page')}", empty "${await page.textContent('#chg-empty')}", want ${api.total}`);
      });
    const rows = await page.$$eval('#chg-body tr', (trs) => trs.map((tr) => [tr.children[2].textContent, tr.children[3].textContent, tr.dataset.field]));
    assert.equal(rows.length, api.changes.length);
    api.changes.forEach((c, i) => {
      assert.equal(rows[i][0], c.sku);
      assert.equal(rows[i][2], c.field);
      const want =
        c.field === 'status' ? c.new
        : ['created', 'removed', 'restored'].includes(c.field) ? c.field.toUpperCase()
        : `${c.field === 'listing_id' ? 'listing' : c.field} ${c.old ?? '—'} -> ${c.new ?? '—'}`;
      assert.equal(rows[i][1], want);
    });
    // The removed SKUs of the record are there as REMOVED.
    const removed = record.changes.filter((c) => c.op === 'remove').map((c) => c.sku);
    await page.selectOption('#chg-field', 'removed');
    await page.waitForFunction((n) => document.getElementById('chg-page').textContent.replace(/\s/g, '').endsWith(`of${n}`), String(removed.length));
    const shown = await page.$$eval('#chg-body tr', (trs) => trs.map((tr) => tr.children[2].textContent));
    assert.deepEqual([...shown].sort(), [...removed].sort());
  });

  test("a SKU's detail view charts its price and quantity", async () => {
    // A SKU whose price changed in the second run.
    const prices = await getJson(`${stack.server.url}/ebay/changes?field=price&limit=1`, token);
    assert.ok(prices.changes.length > 0, 'some price changed');
    const sku = prices.changes[0].sku;
    const all = await getJson(`${stack.server.url}/ebay/changes?sku=${encodeURIComponent(sku)}&limit=500`, token);
    const nPrice = all.changes.filter((c) => c.field === 'price').length;
    const nQty = all.changes.filter((c) => c.field === 'quantity').length;
    await page.selectOption('#chg-field', 'price');
    await page.fill('#chg-run', '');
    await page.fill('#chg-sku', sku);
    await page.waitForFunction((s) => document.querySelector('#chg-body tr td:nth-child(3)')?.textContent === s, sku);
    await page.click('#chg-body tr button.sku');
    await page.waitForSelector('#detail-chart svg');
    // One point for the value before the first change, one per change.
    assert.equal(await page.$$eval('#detail-chart g[data-series="price"] circle', (c) => c.length), nPrice + 1);
    const qtyPoints = await page.$$eval('#detail-chart g[data-series="quantity"] circle', (c) => c.length);
    assert.equal(qtyPoints, nQty + 1);
    const items = await page.$$eval('#detail-changes li', (lis) => lis.map((li) => li.textContent));
    assert.equal(items.length, all.changes.length);
    assert.ok(items.some((t) => / price \S+ -> \S+/.test(t)), `a price line: ${items.join(' | ')}`);
    await page.getByRole('button', { name: 'Close' }).click();
  });

  test('the CSV download button fetches the inventory as CSV', async () => {
    await page.getByRole('tab', { name: 'Inventory' }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#inv-csv')]);
    assert.equal(download.suggestedFilename(), 'inventory.csv');
    const stream = await download.createReadStream();
    let text = '';
    for await (const chunk of stream) text += chunk;
    const lines = text.trimEnd().split('\r\n');
    assert.match(lines[0], /^sku_code,title,condition,/);
    const api = await getJson(`${stack.server.url}/ebay/inventory?limit=1`, token);
    // One line a row; a title may hold a quoted newline only if the
    // catalog had one (the generated one does not).
    assert.equal(lines.length - 1, api.total);
  });
});
