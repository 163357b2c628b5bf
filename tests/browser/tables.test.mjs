// The Inventory and Offers tables after a "Sync all": they show the synced
// rows, search finds a hostile SKU (and shows it as text, never as markup),
// the SKU detail shows its offers and raw payload, paging and sorting work,
// and the page reads on a phone.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, screenshot, signIn, waitForEnd } from './lib/browser.mjs';
import { getJson, login, simCatalog } from './lib/api.mjs';
import { startStack } from './lib/stack.mjs';

const SKUS = 300;
const norm = (s) => s.replace(/[\u202f\u00a0]/g, ' ').trim();
const count = (n) => n.toLocaleString('en-US').replace(/,/g, ' ');

// The nastiest SKU the simulator made: markup characters first, then quotes,
// then anything non-ASCII or with URL-special characters.
function hostile(skus) {
  const score = (s) => (/[<>&]/.test(s) ? 4 : 0) + (/["']/.test(s) ? 2 : 0) + (/[^\x20-\x7e]|[\/#%+ ]/.test(s) ? 1 : 0);
  return [...skus].sort((a, b) => score(b) - score(a))[0];
}

describe('tables', () => {
  let stack;
  let browser;
  let token;
  let catalog;
  let page;

  before(async () => {
    stack = await startStack({ skus: SKUS });
    browser = await launch();
    token = await login(stack.server.url, stack.user, stack.password);
    catalog = await simCatalog(stack.sim.url);
    page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await page.getByRole('button', { name: 'Sync all' }).click();
    assert.equal(await waitForEnd(page), 'done');
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
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
    await page.getByRole('button', { name: 'Next' }).first().click();
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

  test('search finds a hostile SKU and shows it as text; its detail shows offers and raw payload', async () => {
    const sku = hostile(catalog.skus);
    assert.ok(/[<>&"'#%+\/ ]|[^\x00-\x7f]/.test(sku), `the simulator made a hostile SKU (${sku})`);
    await page.getByLabel('Search').first().fill(sku);
    await page.waitForFunction((s) => {
      const rows = document.querySelectorAll('#inv-body tr');
      return rows.length >= 1 && Array.from(rows).some((r) => r.cells[0].textContent === s);
    }, sku);
    const found = await page.$$eval('#inv-body tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.ok(found.includes(sku));
    // Nothing of the SKU or titles became markup.
    assert.equal(await page.$$eval('#inv-body *:not(tr):not(td):not(span):not(button)', (e) => e.length), 0);

    await page.getByRole('button', { name: sku, exact: true }).click();
    await page.waitForSelector('#detail[open] #detail-fields div');
    assert.equal(await page.textContent('#detail-sku'), sku);
    const detail = await getJson(`${stack.server.url}/ebay/inventory/${encodeURIComponent(sku)}`, token);
    const raw = JSON.parse(await page.textContent('#detail-raw'));
    assert.equal(raw.sku ?? detail.item.sku_code, sku);
    const offerIds = await page.$$eval('#detail-offers-body tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(offerIds.sort(), detail.offers.map((o) => o.offer_id).sort());
    assert.equal(await page.isVisible('#detail-offers-empty'), detail.offers.length === 0);
    await screenshot(page, 'detail.png');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#detail:not([open])');
    await page.getByLabel('Search').first().fill('');
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
