// The Inventory and Offers tables after a "Sync all": they show the synced
// rows, search finds a hostile SKU (and shows it as text, never as markup),
// the SKU detail shows its offers and raw payload, paging and sorting work,
// the condition filter offers exactly what the server can store (GET
// /ebay/conditions) and each of its values finds the rows stored with it,
// and the page reads on a phone.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, screenshot, signIn, startRun, waitForEnd } from './lib/browser.mjs';
import { getJson, login, simCatalog } from './lib/api.mjs';
import { MARKUP_SKUS, MARKUP_TITLE, writeHostileCatalog } from './lib/catalog.mjs';
import { startStack, tmpDir } from './lib/stack.mjs';

const SKUS = 300;
const norm = (s) => s.replace(/[\u202f\u00a0]/g, ' ').trim();
const count = (n) => n.toLocaleString('en-US').replace(/,/g, ' ');

// Waits until the inventory table shows the answer to searching q.
function searched(page, q) {
  return page.waitForFunction(
    (want) => (new URLSearchParams(document.getElementById('inv-table').dataset.query || '').get('q') ?? '') === want,
    q,
  );
}

// The simulator's own hostile SKUs (spaces, / # % + ? & quotes, non-ASCII,
// 50 bytes long) and the markup ones we put into its catalog.
function hostileSkus(skus) {
  return skus.filter((s) => /[^A-Za-z0-9._-]/.test(s));
}

describe('tables', () => {
  let stack;
  let browser;
  let token;
  let catalog;
  let page;

  before(async () => {
    const dir = tmpDir();
    const file = await writeHostileCatalog(dir, { skus: SKUS, seed: 42 });
    stack = await startStack({ dir, skus: SKUS, simArgs: ['--catalog', file] });
    browser = await launch();
    token = await login(stack.server.url, stack.user, stack.password);
    catalog = await simCatalog(stack.sim.url);
    page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await startRun(page, 'Sync all');
    assert.equal(await waitForEnd(page), 'done');
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) {
      // Both exit cleanly on SIGTERM (under ASan: without leaks).
      assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
    }
  });

  test('the inventory table shows the synced rows, paged', async () => {
    // The tables reload when the run ends.
    await page.waitForFunction((n) => document.getElementById('inv-page').textContent.replace(/\s/g, '').endsWith(`of${n}`), String(SKUS));
    const api = await getJson(`${stack.server.url}/ebay/inventory?sort=sku_code&order=asc&limit=50&offset=0`, token);
    assert.equal(api.total, catalog.items);
    assert.equal(norm(await page.textContent('#inv-page')), `1–50 of ${count(SKUS)}`);
    const skus = await page.$$eval('#inv-body tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(skus, api.items.map((r) => r.sku_code));
    // A row carries the item's fields, the price with its currency, a status badge.
    const first = api.items[0];
    const cells = await page.$$eval('#inv-body tr:first-child td', (tds) => tds.map((t) => t.textContent));
    assert.equal(cells[1], first.title ?? '');
    assert.equal(cells[6], String(first.quantity ?? ''));
    assert.equal(cells[7], String(first.photo_count ?? ''));
    assert.equal(cells[8], first.ebay_status);
    if (first.price_value) assert.ok(cells[5].length > 0 && /\d/.test(cells[5]), `price shown: ${cells[5]}`);
    assert.equal(await page.$eval('#inv-body tr:first-child .badge', (b) => b.dataset.state), first.ebay_status);

    // Paging.
    await page.getByRole('button', { name: 'Next inventory page' }).click();
    await page.waitForFunction(() => document.getElementById('inv-page').textContent.startsWith('51'));
    const api2 = await getJson(`${stack.server.url}/ebay/inventory?sort=sku_code&order=asc&limit=50&offset=50`, token);
    const skus2 = await page.$$eval('#inv-body tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(skus2, api2.items.map((r) => r.sku_code));
    assert.equal(skus2.filter((s) => skus.includes(s)).length, 0, 'page 2 holds other rows');
    assert.equal(await page.isEnabled('#inv-prev'), true);
    await page.click('#inv-prev');
    await page.waitForFunction(() => document.getElementById('inv-page').textContent.startsWith('1–'));
    assert.equal(await page.isDisabled('#inv-prev'), true);
  });

  test('sorting by a column header sets aria-sort and orders the rows', async () => {
    const th = page.locator('#inv-table th[data-sort="quantity"]');
    await th.locator('button').click();
    await page.waitForFunction(() => document.querySelector('#inv-table th[data-sort="quantity"]').getAttribute('aria-sort') === 'ascending');
    await th.locator('button').click();
    await page.waitForFunction(() => document.querySelector('#inv-table th[data-sort="quantity"]').getAttribute('aria-sort') === 'descending');
    assert.equal(await page.getAttribute('#inv-table th[data-sort="sku_code"]', 'aria-sort'), null);
    const api = await getJson(`${stack.server.url}/ebay/inventory?sort=quantity&order=desc&limit=50&offset=0`, token);
    await page.waitForFunction((want) => {
      const got = Array.from(document.querySelectorAll('#inv-body tr td:nth-child(7)'), (t) => t.textContent);
      return got.length === want.length && got.every((q, i) => q === want[i]);
    }, api.items.map((r) => String(r.quantity ?? '')));
    const qs = await page.$$eval('#inv-body tr td:nth-child(7)', (tds) => tds.map((t) => Number(t.textContent)));
    for (let i = 1; i < qs.length; i++) assert.ok(qs[i] <= qs[i - 1], 'descending quantities');
    // Back to SKU order for the tests after this one.
    await page.click('#inv-table th[data-sort="sku_code"] button');
    await page.waitForFunction(() => document.querySelector('#inv-table th[data-sort="sku_code"]').getAttribute('aria-sort') === 'ascending');
  });

  test('search finds every hostile SKU and shows it as text', async () => {
    const hostile = hostileSkus(catalog.skus);
    for (const sku of MARKUP_SKUS) assert.ok(hostile.includes(sku), `the catalog holds ${sku}`);
    assert.ok(hostile.length > MARKUP_SKUS.length, `the simulator made hostile SKUs too (${hostile.join(' | ')})`);
    const search = page.getByLabel('Search').first();
    for (const sku of hostile) {
      await search.fill(sku);
      await searched(page, sku);
      // Every row found holds the text searched for (nothing like % or _ acts as a wildcard).
      const rows = await page.$$eval('#inv-body tr', (trs) => trs.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
      assert.ok(rows.some(([s]) => s === sku), `searching "${sku}" finds it`);
      const low = sku.toLowerCase();
      for (const [s, t] of rows) assert.ok(s.toLowerCase().includes(low) || t.toLowerCase().includes(low), `"${s}" / "${t}" matches "${sku}"`);
    }
    // The markup title is text too.
    await search.fill(MARKUP_SKUS[0]);
    await searched(page, MARKUP_SKUS[0]);
    assert.equal(await page.textContent('#inv-body tr td'), MARKUP_SKUS[0]);
    assert.equal(await page.textContent('#inv-body tr td:nth-child(2)'), MARKUP_TITLE);
    // Nothing of the SKUs or titles became markup, and no handler ran.
    assert.equal(await page.$$eval('#inv-body *:not(tr):not(td):not(span):not(button)', (e) => e.length), 0);
    assert.equal(await page.$$eval('script:not([src])', (e) => e.length), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await search.fill('');
    await searched(page, '');
  });

  test("a SKU's detail shows its offers and raw payload", async () => {
    const sku = MARKUP_SKUS[1];
    const search = page.getByLabel('Search').first();
    await search.fill(sku);
    await searched(page, sku);
    await page.getByRole('button', { name: sku, exact: true }).click();
    await page.waitForSelector('#detail[open] #detail-fields div');
    assert.equal(await page.textContent('#detail-sku'), sku);
    const detail = await getJson(`${stack.server.url}/ebay/inventory/${encodeURIComponent(sku)}`, token);
    const raw = JSON.parse(await page.textContent('#detail-raw'));
    assert.equal(raw.sku, sku);
    assert.deepEqual(raw, typeof detail.item.raw_payload === 'string' ? JSON.parse(detail.item.raw_payload) : detail.item.raw_payload);
    const offerIds = await page.$$eval('#detail-offers-body tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(offerIds.sort(), detail.offers.map((o) => o.offer_id).sort());
    assert.ok(detail.offers.length > 0 || (await page.isVisible('#detail-offers-empty')));
    await screenshot(page, 'detail.png');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('detail').open);
    await search.fill('');
    await searched(page, '');
  });

  test('the offers table shows the synced offers and filters by status', async () => {
    await page.getByRole('tab', { name: /Offers/ }).click();
    const all = await getJson(`${stack.server.url}/ebay/offers?limit=1`, token);
    assert.equal(all.total, catalog.offers);
    await page.waitForFunction((n) => document.getElementById('off-page').textContent.replace(/\s/g, '').endsWith(`of${n}`), String(catalog.offers));
    await page.selectOption('#off-status', 'PUBLISHED');
    const pub = await getJson(`${stack.server.url}/ebay/offers?status=PUBLISHED&limit=1`, token);
    await page.waitForFunction((n) => document.getElementById('off-page').textContent.replace(/\s/g, '').endsWith(`of${n}`), String(pub.total));
    assert.ok(pub.total > 0 && pub.total < all.total, 'both published and unpublished offers exist');
    const states = await page.$$eval('#off-body tr td:nth-child(5)', (tds) => tds.map((t) => t.textContent));
    assert.ok(states.length > 0 && states.every((s) => s === 'PUBLISHED'), states.join(','));
    await page.selectOption('#off-status', '');
    await page.getByRole('tab', { name: /Inventory/ }).click();
    assert.deepEqual(page.errors, []);
  });

  test('the condition filter offers what the server stores, and each value finds its rows', async () => {
    const served = (await getJson(`${stack.server.url}/ebay/conditions`, token)).conditions;
    assert.ok(Array.isArray(served) && served.length > 0, 'the server lists its condition values');
    // Loaded once after sign-in: "Any" and then the values.
    await page.waitForFunction(() => document.querySelectorAll('#inv-condition option').length > 1);
    const options = await page.$$eval('#inv-condition option', (os) => os.map((o) => o.value));
    assert.equal(options[0], '', '"Any" first');
    const offered = options.slice(1);
    assert.deepEqual(offered, served, 'the page offers the list the server serves, in its order');

    // What the synced catalog stored, condition by condition.
    const all = await getJson(`${stack.server.url}/ebay/inventory?limit=500`, token);
    assert.equal(all.items.length, catalog.items);
    const stored = new Map();
    for (const it of all.items) if (it.condition) stored.set(it.condition, (stored.get(it.condition) || 0) + 1);
    for (const c of stored.keys()) assert.ok(offered.includes(c), `the stored condition ${c} is offered`);
    // eBay still sends the deprecated MANUFACTURER_REFURBISHED: stored as
    // CERTIFIED_REFURBISHED, so a filter on the old name could never match.
    const deprecated = [...catalog.conditions].filter(([, c]) => c === 'MANUFACTURER_REFURBISHED').map(([sku]) => sku);
    assert.ok(deprecated.length > 0, 'the catalog sends the deprecated condition name');
    for (const sku of deprecated) assert.equal(all.items.find((it) => it.sku_code === sku)?.condition, 'CERTIFIED_REFURBISHED', sku);
    assert.ok(!offered.includes('MANUFACTURER_REFURBISHED'), 'the deprecated name is not offered');

    // Every value offered filters to the rows stored with it, and to some:
    // a value the server never stores would show an empty table.
    for (const c of offered) {
      await page.selectOption('#inv-condition', c);
      await page.waitForFunction(
        (want) => new URLSearchParams(document.getElementById('inv-table').dataset.query || '').get('condition') === want,
        c,
      );
      const want = stored.get(c) || 0;
      assert.ok(want > 0, `the filter value ${c} matches rows stored on a synced catalog`);
      assert.equal(norm(await page.textContent('#inv-page')).replace(/\s/g, '').split('of')[1], String(want), `${c}: the total`);
      const shown = await page.$$eval('#inv-body tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent));
      assert.ok(shown.length > 0 && shown.every((s) => s === c), `${c}: ${shown.join(',')}`);
    }
    await page.selectOption('#inv-condition', '');
    await page.waitForFunction(() => !new URLSearchParams(document.getElementById('inv-table').dataset.query || '').has('condition'));
    assert.deepEqual(page.errors, []);
  });

  test('on a phone the page fits the screen', async () => {
    const phone = await newPage(browser, { width: 390, height: 844 });
    await signIn(phone, stack.server.url, stack.user, stack.password);
    await phone.waitForSelector('#inv-body tr');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling of the page (${overflow}px too wide)`);
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all', '#stop']) {
      const box = await phone.locator(id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.height >= 32, `${id} is on screen and tappable`);
    }
    await screenshot(phone, 'phone.png');
    assert.deepEqual(phone.errors, []);
    await phone.context().close();
  });
});
