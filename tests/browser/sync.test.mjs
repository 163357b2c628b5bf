// A sync watched in the page: an offers sync of 1,000 SKUs with simulator
// latency shows the document's Step 1 / Step 2 lines and rising counters,
// and ends with counters equal to the database and the simulator's catalog;
// STOP midway cancels; a finished run replays from the history; a second
// start attaches to the running run; a refused eBay token fails the run.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { counters, launch, newPage, screenshot, signIn, startRun, terminalLines, terminalNotes, waitForEnd } from './lib/browser.mjs';
import { getJson, login, runEvents, simCatalog } from './lib/api.mjs';
import { startStack } from './lib/stack.mjs';

const SKUS = 1000;

const norm = (s) => s.replace(/[\u202f\u00a0]/g, ' ');

describe('sync', () => {
  let stack;
  let browser;
  let token;
  let catalog;
  let firstRun;

  before(async () => {
    stack = await startStack({ skus: SKUS, latencyMs: 20, jitterMs: 5 });
    browser = await launch();
    token = await login(stack.server.url, stack.user, stack.password);
    catalog = await simCatalog(stack.sim.url);
    assert.equal(catalog.items, SKUS, 'the simulator holds the catalog asked for');
  });

  after(async () => {
    if (browser) await browser.close();
    if (stack) {
      // Both exit cleanly on SIGTERM (under ASan: without leaks).
      assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
    }
  });

  test('offers sync of 1,000 SKUs: Step 1, Step 2, rising counters, final counts equal the database', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);

    // Keyboard: focus the button and press Enter.
    await page.focus('#sync-offers');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#stop:not([disabled])');
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all'])
      assert.equal(await page.isDisabled(id), true, `${id} is disabled during the run`);
    // The keyboard focus left the disabled button for the terminal (not STOP).
    assert.equal(await page.evaluate(() => document.activeElement.id), 'terminal');

    // Watch the counters while the run goes.
    const seen = [];
    let shot = false;
    for (;;) {
      const state = await page.getAttribute('#st-state', 'data-state');
      const c = await counters(page);
      if (!seen.length || seen[seen.length - 1] !== c.fetched) seen.push(c.fetched);
      const step = norm(await page.textContent('#st-step'));
      const m = step.match(/^SKU (\d[\d ]*)\/(\d[\d ]*)$/);
      if (!shot && m && Number(m[1].replace(/ /g, '')) >= SKUS / 3) {
        await screenshot(page, 'mid-run.png');
        shot = true;
      }
      if (state !== 'running' && state !== 'connecting' && state !== 'queued') break;
      await page.waitForTimeout(100);
    }
    const state = await waitForEnd(page);
    assert.equal(state, 'done');
    assert.ok(shot, 'a mid-run screenshot was taken while Step 2 ran');
    // Rising: several distinct values, never going down.
    assert.ok(seen.length >= 4, `the counters rose in steps while the run went (saw ${seen.join(', ')})`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `counters never go down (${seen.join(', ')})`);

    // Final counters equal the database and the simulator's ground truth.
    const c = await counters(page);
    const offers = await getJson(`${stack.server.url}/ebay/offers?limit=1`, token);
    assert.equal(c.fetched, catalog.offers, `Fetched equals the simulator's ${catalog.offers} offers`);
    assert.equal(c.stored, offers.total, 'Stored equals the offers rows in the database');
    assert.equal(offers.total, catalog.offers);
    assert.equal(norm(await page.textContent('#st-failed')), 'Failed: 0');
    assert.equal(norm(await page.textContent('#st-step')), `SKU ${SKUS.toLocaleString('en-US').replace(/,/g, ' ')}/${SKUS.toLocaleString('en-US').replace(/,/g, ' ')}`);
    assert.equal(await page.getAttribute('#st-bar', 'aria-valuenow'), '100');

    // The terminal holds exactly the run's events, in order, once each.
    const runId = (await page.textContent('#st-run')).trim();
    firstRun = runId;
    const events = await runEvents(stack.server.url, token, runId);
    const lines = await terminalLines(page);
    assert.deepEqual(lines.map((l) => l.seq), events.map((e) => e.seq));
    assert.deepEqual(lines.map((l) => l.text), events.map((e) => `[${e.time}] ${e.line}`));
    const texts = events.map((e) => e.line);
    assert.ok(texts[0].startsWith('Starting Offers sync from eBay'), texts[0]);
    assert.ok(texts.includes('Step 1: Fetching all inventory items to get SKU list...'));
    assert.ok(texts.includes(`✓ Step 1 complete: Found ${SKUS} unique SKUs`));
    assert.ok(texts.includes(`Step 2: Fetching offers for ${SKUS} SKUs...`));
    assert.ok(texts.some((t) => t.startsWith(`→ [1/${SKUS}] Fetching offers for SKU: `)));
    assert.ok(texts.some((t) => /^← \[\d+\/1000\] SKU .+: \d+ offers \(\d+ms\)$/.test(t)));
    assert.ok(texts.includes(`✓ Step 2 complete: Processed ${SKUS} SKUs`));
    assert.match(texts[texts.length - 1], new RegExp(`^Offers sync completed: ${catalog.offers} offers fetched, ${catalog.offers} stored from ${SKUS} SKUs in \\d+ms$`));
    // Coloured by type: the final line green, requests dim.
    assert.equal(lines[lines.length - 1].type, 'done');
    const colours = await page.evaluate(() => {
      const col = (sel) => getComputedStyle(document.querySelector(sel)).color;
      return { done: col('#terminal .t-done'), request: col('#terminal .t-request'), info: col('#terminal .t-info') };
    });
    assert.notEqual(colours.done, colours.info);
    assert.notEqual(colours.request, colours.info);
    assert.deepEqual(await terminalNotes(page), [], 'no connection trouble was reported');

    // The buttons are back; STOP is off.
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    assert.equal(await page.isDisabled('#stop'), true);
    // History: the run on top, done, with its counts.
    await page.waitForSelector(`#history-body tr[data-run="${runId}"] .badge[data-state="done"]`);
    const row = await page.$$eval(`#history-body tr[data-run="${runId}"] td`, (tds) => tds.map((t) => t.textContent));
    assert.equal(norm(row[2]), catalog.offers.toLocaleString('en-US').replace(/,/g, ' '));
    // The eBay quota line: the calls the run made, counted in the ledger.
    await page.waitForFunction(() => {
      const m = document.getElementById('quota').textContent.replace(/\s/g, '').match(/today:(\d+)of2000000/);
      return m && Number(m[1]) > 0;
    });
    assert.match(norm(await page.textContent('#quota')), /yours: [1-9]/);
    await screenshot(page, 'after-run.png');
    await screenshot(page, 'after-run-full.png', { fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('STOP midway: the run ends cancelled and the buttons come back', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await startRun(page, 'Sync offers');
    // Midway: well into Step 2.
    await page.waitForFunction(() => {
      const m = document.getElementById('st-step').textContent.replace(/\s/g, '').match(/^SKU(\d+)\/(\d+)$/);
      return m && Number(m[1]) >= 100;
    });
    await page.getByRole('button', { name: 'STOP' }).click();
    const state = await waitForEnd(page);
    assert.equal(state, 'cancelled');
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    assert.equal(await page.isDisabled('#stop'), true);
    assert.equal((await page.textContent('#stop')).trim(), 'STOP');

    const runId = (await page.textContent('#st-run')).trim();
    const run = await getJson(`${stack.server.url}/ebay/sync/runs/${encodeURIComponent(runId)}`, token);
    assert.equal((run.run ?? run).status, 'cancelled');
    const lines = await terminalLines(page);
    assert.equal(lines[lines.length - 1].type, 'cancelled');
    assert.match(lines[lines.length - 1].text, /cancelled/i);
    const c = await counters(page);
    assert.ok(c.fetched < catalog.offers, `stopped midway (${c.fetched} of ${catalog.offers} offers fetched)`);
    const step = norm(await page.textContent('#st-step')).match(/^SKU ([\d ]+)\//);
    assert.ok(step && Number(step[1].replace(/ /g, '')) < SKUS, 'the SKU counter stopped short of the end');
    await page.waitForSelector(`#history-body tr[data-run="${runId}"] .badge[data-state="cancelled"]`);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a finished run replays from the history', async () => {
    assert.ok(firstRun, 'the first test ran');
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await page.click(`#history-body tr[data-run="${firstRun}"] button`);
    assert.equal(await waitForEnd(page), 'done');
    const events = await runEvents(stack.server.url, token, firstRun);
    const lines = await terminalLines(page);
    assert.deepEqual(lines.map((l) => l.seq), events.map((e) => e.seq));
    assert.deepEqual(lines.map((l) => l.text), events.map((e) => `[${e.time}] ${e.line}`));
    assert.match(await page.textContent('#term-title'), /replay/);
    assert.equal(await page.getAttribute(`#history-body tr[data-run="${firstRun}"]`, 'aria-current'), 'true');
    // Replaying does not lock the buttons.
    assert.equal(await page.isEnabled('#sync-offers'), true);
    assert.equal(await page.isDisabled('#stop'), true);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('starting a kind that is already running attaches to that run', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    const r = await fetch(`${stack.server.url}/ebay/sync/offers`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 202);
    const { run_id: runId } = await r.json();
    await page.getByRole('button', { name: 'Sync offers' }).click();
    await page.waitForFunction((id) => document.getElementById('st-run').textContent === id, runId);
    assert.equal(await page.isEnabled('#stop'), true);
    const notes = await terminalNotes(page);
    assert.ok(notes.some((n) => n.includes('already going')), notes.join('\n'));
    await page.getByRole('button', { name: 'STOP' }).click();
    assert.equal(await waitForEnd(page), 'cancelled');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a refused eBay token fails the run, shown red, with the buttons back', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, 'stale', stack.password);
    await startRun(page, 'Sync inventory');
    assert.equal(await waitForEnd(page), 'failed');
    const lines = await terminalLines(page);
    const errors = lines.filter((l) => l.type === 'error');
    assert.ok(errors.length >= 1, 'an error line is shown');
    const colour = await page.evaluate(() => getComputedStyle(document.querySelector('#terminal .t-error')).color);
    assert.equal(colour, 'rgb(255, 107, 97)');
    // The line says what fixes it: a fresh token set by hand, not a new
    // consent. This server does not link eBay accounts (no EBAY_CLIENT_ID)
    // either, so the page offers neither "Connect" nor "Reconnect eBay".
    const texts = errors.map((l) => l.text).join('\n');
    assert.ok(texts.includes("eBay refused the access token of 'stale': set a fresh one with `ebaysync user set-token stale`"), texts);
    assert.ok(!texts.includes('link the account again'), texts);
    assert.equal((await getJson(`${stack.server.url}/ebay/oauth/status`, token)).configured, false);
    assert.equal(await page.isVisible('#relink'), false);
    assert.equal(await page.isVisible('#connect'), false);
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('eBay refusing a set token mid-run fails the run and says how to fix it', async () => {
    const page = await newPage(browser);
    await signIn(page, stack.server.url, stack.user, stack.password);
    await startRun(page, 'Sync offers');
    await page.waitForFunction(() => {
      const m = document.getElementById('st-step').textContent.replace(/\s/g, '').match(/^SKU(\d+)\/(\d+)$/);
      return m && Number(m[1]) >= 50;
    });
    // The simulator stops accepting the token the server holds for demo.
    const simConfig = (token) =>
      fetch(`${stack.sim.url}/sim/config`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal((await simConfig('a-token-issued-after-a-revoke')).status, 200);
    try {
      assert.equal(await waitForEnd(page), 'failed');
      const lines = await terminalLines(page);
      const last = lines[lines.length - 1];
      assert.equal(last.type, 'error');
      // A token set by hand is replaced by hand: the message says how, and
      // the relink banner (for linked accounts: oauth.test.mjs) stays hidden.
      assert.match(last.text, /eBay refused the access token/);
      assert.match(last.text, /user set-token/);
      assert.equal(await page.isVisible('#relink'), false);
      // The run stopped at once rather than failing SKU after SKU.
      const c = await counters(page);
      assert.ok(c.fetched < catalog.offers, `${c.fetched} of ${catalog.offers} offers fetched`);
      for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    } finally {
      assert.equal((await simConfig(stack.simToken)).status, 200);
    }
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});
