// The page's Integrations section: an API key made on the page is shown once,
// listed, works as a Bearer key and is refused after Revoke; a webhook added
// on the page shows its secret once and is listed, and a private target is
// refused with the server's message. No page errors.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn } from './lib/browser.mjs';
import { startStack } from './lib/stack.mjs';

describe('integrations', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack({ skus: 20 });
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
  });

  test('API keys and webhooks on the page', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await page.click('#keys-panel > summary');
    await page.waitForSelector('#keys-empty:not([hidden])');
    await page.fill('#key-name', 'page key');
    await page.selectOption('#key-scope', 'read');
    await page.click('#key-create');
    await page.waitForSelector('#key-new:not([hidden])');
    const key = await page.textContent('#key-new-value');
    assert.match(key, /^esk_/);
    await page.waitForSelector('#keys-body tr');
    assert.match(await page.textContent('#keys-body tr'), /page key.*read/);
    const me = await fetch(`${stack.server.url}/ebay/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200);
    await page.click('#keys-body tr button');
    await page.waitForFunction(() => /revoked/.test(document.querySelector('#keys-body tr').textContent));
    const gone = await fetch(`${stack.server.url}/ebay/me`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(gone.status, 401);

    await page.click('#hooks-panel > summary');
    await page.fill('#hook-url', 'http://127.0.0.1:9/hook');
    await page.click('#hook-add');
    await page.waitForSelector('#integrations-error:not([hidden])');
    assert.match(await page.textContent('#integrations-error'), /allow-private-webhooks/);
    await page.fill('#hook-url', 'https://hooks.example.com/ebaysync');
    await page.click('#hook-add');
    await page.waitForSelector('#hook-new:not([hidden])');
    assert.match(await page.textContent('#hook-new-value'), /^whsec_/);
    await page.waitForSelector('#hooks-body tr');
    assert.match(await page.textContent('#hooks-body tr'), /hooks\.example\.com.*run\.finished.*on/);
    assert.deepEqual(page.errors.filter((e) => !/status of 400/.test(e)), []);
  });
});
