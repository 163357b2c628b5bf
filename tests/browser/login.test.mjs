// Signing in and out: a wrong password shows an error and no data; the right
// one shows the page; signing out leaves nothing behind. Keyboard only.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage } from './lib/browser.mjs';
import { startStack } from './lib/stack.mjs';

describe('login', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack({ skus: 50 });
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) {
      // Both exit cleanly on SIGTERM (under ASan: without leaks).
      assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
    }
  });

  test('a wrong password shows an error and no data', async () => {
    const page = await newPage(browser);
    const dataAnswers = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/ebay/')) dataAnswers.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(stack.server.url);
    await page.waitForSelector('#login-view:not([hidden])');
    // Labels name the fields; focus starts in the username.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'login-user');
    await page.getByLabel('Username').fill(stack.user);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#login-error:not([hidden])');
    const error = (await page.textContent('#login-error')).trim();
    assert.ok(error.length > 0, 'an error message is shown');
    assert.match(error, /password|credentials|invalid/i);
    assert.equal(await page.isVisible('#app-view'), false, 'the app stays hidden');
    assert.equal(await page.$$eval('#inv-body tr, #off-body tr, #history-body tr, #terminal .ln', (e) => e.length), 0);
    assert.equal(await page.inputValue('#login-pass'), 'not the password', 'the password stays to be corrected');
    // The page asked for no data, and nothing it may have asked was answered with data.
    assert.deepEqual(dataAnswers.filter((a) => !a.startsWith('401')), []);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'no token is kept');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('the right password signs in; sign-out clears the page', async () => {
    const page = await newPage(browser);
    await page.goto(stack.server.url);
    await page.getByLabel('Username').fill(stack.user);
    await page.getByLabel('Password').fill(stack.password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#app-view:not([hidden])');
    assert.equal(await page.isVisible('#login-view'), false);
    assert.equal((await page.textContent('#who-name')).trim(), stack.user);
    // The three sync buttons are real buttons, enabled; STOP waits for a run.
    for (const name of ['Sync inventory', 'Sync offers', 'Sync all'])
      assert.equal(await page.getByRole('button', { name, exact: true }).isEnabled(), true, name);
    assert.equal(await page.getByRole('button', { name: 'STOP' }).isDisabled(), true);
    // The session survives a reload of the tab.
    await page.reload();
    await page.waitForSelector('#app-view:not([hidden])');
    // The server set its HttpOnly cookie for the event stream.
    const cookies = await page.context().cookies();
    const c = cookies.find((k) => k.name === 'ebaysync_token');
    assert.ok(c, 'cookie ebaysync_token is set');
    assert.equal(c.httpOnly, true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('#login-view:not([hidden])');
    assert.equal(await page.isVisible('#app-view'), false);
    assert.equal(await page.$$eval('#inv-body tr, #off-body tr, #history-body tr, #terminal .ln', (e) => e.length), 0);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.reload();
    await page.waitForSelector('#login-view:not([hidden])');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
