// The page's Schedules section: a schedule added on the page (every 3 s,
// with serve --schedule-min-interval 1) starts runs by itself and the list
// shows the last result "done" and a next run time; the mirror then holds
// the simulator's SKUs; bad input shows the server's message; the switch
// turns it off (no next run, no more runs) and Remove drops it. For the
// user whose token eBay refuses, the failure and the retry count show.
// No page errors but the expected 400.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn } from './lib/browser.mjs';
import { startStack } from './lib/stack.mjs';
import { getJson, login } from './lib/api.mjs';

describe('schedules', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack({ skus: 20, serverArgs: ['--max-rps', '500', '--schedule-min-interval', '1'] });
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
  });

  async function addEvery(page, kind, seconds) {
    await page.selectOption('#sched-kind', kind);
    await page.selectOption('#sched-mode', 'every');
    await page.fill('#sched-every', String(seconds));
    await page.selectOption('#sched-unit', '1');
    await page.click('#sched-add');
  }

  test('a schedule made on the page runs and shows its result', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await page.click('#schedules-panel > summary');
    await page.waitForSelector('#schedules-empty:not([hidden])');

    // Bad input: the server's message, nothing added.
    await page.selectOption('#sched-mode', 'times');
    await page.fill('#sched-times', '25:00');
    await page.click('#sched-add');
    await page.waitForSelector('#schedules-error:not([hidden])');
    assert.match(await page.textContent('#schedules-error'), /HH:MM/);

    await addEvery(page, 'inventory', 3);
    await page.waitForSelector('#schedules-body tr[data-result="done"]', { timeout: 20000 });
    const row = await page.textContent('#schedules-body tr');
    assert.match(row, /inventory.*every 3 s/);
    assert.match(row, /done/);
    assert.notEqual((await page.textContent('#schedules-body tr .sched-next')).trim(), '–');

    const token = await login(stack.server.url, stack.user, stack.password);
    const runs = await getJson(`${stack.server.url}/ebay/sync/runs`, token);
    const inv = runs.runs.filter((r) => r.kind === 'inventory');
    assert.ok(inv.length >= 1);
    assert.ok(inv.every((r) => r.status === 'done' || r.status === 'running'));
    const items = await getJson(`${stack.server.url}/ebay/inventory?limit=100`, token);
    assert.equal(items.total, 20);

    // Off: no next run, and no run starts any more.
    await page.click('#schedules-body tr .sched-switch');
    try {
      await page.waitForFunction(() => /off/.test(document.querySelector('#schedules-body tr').textContent), null, { timeout: 10000 });
    } catch (e) {
      throw new Error(`row: ${await page.textContent('#schedules-body tr')} error: ${await page.textContent('#schedules-error')} ${page.errors}`);
    }
    assert.equal((await page.textContent('#schedules-body tr .sched-next')).trim(), '–');
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await getJson(`${stack.server.url}/ebay/sync/runs`, token)).runs.length;
    await new Promise((r) => setTimeout(r, 3000));
    const later = (await getJson(`${stack.server.url}/ebay/sync/runs`, token)).runs.length;
    assert.equal(later, before);

    await page.click('#schedules-body tr .sched-remove');
    await page.waitForSelector('#schedules-empty:not([hidden])');
    assert.deepEqual(page.errors.filter((e) => !/status of 400/.test(e)), []);
  });

  test('a failing schedule shows the failure and its retries', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, 'stale', stack.password);
    await page.click('#schedules-panel > summary');
    await addEvery(page, 'offers', 60);
    await page.waitForFunction(() => {
      const tr = document.querySelector('#schedules-body tr');
      return tr && tr.dataset.result === 'failed' && /retry [2-9]/.test(tr.textContent);
    }, null, { timeout: 20000 });
    assert.match(await page.textContent('#schedules-body tr .sched-result'), /failed.*retry/);
    assert.deepEqual(page.errors, []);
  });
});
