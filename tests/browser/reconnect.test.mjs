// The event stream's connection is killed (twice) during a run, by a proxy
// between the browser and the server: the page says so, reconnects with
// ?last_event_id, and ends with every line of the run exactly once.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn, startRun, terminalLines, terminalNotes, waitForEnd } from './lib/browser.mjs';
import { login, runEvents } from './lib/api.mjs';
import { startProxy } from './lib/proxy.mjs';
import { startStack } from './lib/stack.mjs';

describe('reconnect', () => {
  let stack;
  let proxy;
  let browser;

  before(async () => {
    // A short job lease: a run of a crashed server is resumed soon after.
    stack = await startStack({ skus: 1000, latencyMs: 20, jitterMs: 5, serverArgs: ['--max-rps', '500', '--lease-ms', '2000'] });
    proxy = await startProxy(stack.server.url);
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (proxy) await proxy.close();
    if (stack) {
      // Both exit cleanly on SIGTERM (under ASan: without leaks).
      assert.deepEqual(await stack.stop(), { server: 0, sim: 0 });
    }
  });

  test('a killed stream resumes after the last event with no line missing or doubled', async () => {
    const page = await newPage(browser);
    await signIn(page, proxy.url, stack.user, stack.password);
    await startRun(page, 'Sync offers');

    const cutAfter = [];
    for (const atLeast of [300, 1200]) {
      await page.waitForFunction((n) => document.querySelectorAll('#terminal .ln[data-seq]').length >= n, atLeast);
      await page.waitForFunction(() => document.getElementById('st-state').dataset.state === 'running');
      assert.equal(proxy.cutEvents(), 1, 'one event stream was open and is cut');
      // Resumed once a note says so.
      await page.waitForFunction(
        (k) => Array.from(document.querySelectorAll('#terminal .t-note')).filter((n) => n.textContent.includes('reconnected, resuming after event')).length >= k,
        cutAfter.length + 1,
      );
      const notes = await terminalNotes(page);
      cutAfter.push(Number(notes[notes.length - 1].match(/after event (\d+)/)[1]));
    }
    assert.equal(await waitForEnd(page), 'done');

    const token = await login(stack.server.url, stack.user, stack.password);
    const runId = (await page.textContent('#st-run')).trim();
    const events = await runEvents(stack.server.url, token, runId);
    const lines = await terminalLines(page);
    // Every event once, in order: no gap, no repeat.
    assert.deepEqual(lines.map((l) => l.seq), events.map((e) => e.seq));
    assert.deepEqual(lines.map((l) => l.seq), events.map((_, i) => i + 1));
    assert.deepEqual(lines.map((l) => l.text), events.map((e) => `[${e.time}] ${e.line}`));

    // It said what happened, in the terminal, around each cut.
    const notes = await terminalNotes(page);
    const lost = notes.filter((n) => n.includes('connection lost — reconnecting…'));
    assert.equal(lost.length, 2, notes.join('\n'));
    assert.equal(notes.filter((n) => n.includes('reconnected, resuming after event')).length, 2);
    // It asked the server for what came after the last event it had shown.
    const resumed = proxy.eventRequests.filter((u) => u.includes('last_event_id='));
    assert.ok(resumed.length >= 2, proxy.eventRequests.join('\n'));
    for (const n of cutAfter) assert.ok(resumed.some((u) => u.endsWith(`last_event_id=${n}`)), `resumed after ${n}: ${resumed.join(', ')}`);
    // Each note sits right after the line it names.
    const order = await page.$$eval('#terminal .ln', (els) => els.map((e) => (e.dataset.seq ? Number(e.dataset.seq) : e.textContent)));
    for (const n of cutAfter) {
      const i = order.findIndex((x) => typeof x === 'string' && x.endsWith(`resuming after event ${n}`));
      const before = order.slice(0, i).filter((x) => typeof x === 'number');
      assert.equal(before[before.length - 1], n);
    }
    assert.deepEqual(page.errors.filter((e) => !/ERR_EMPTY_RESPONSE|ERR_CONNECTION|ERR_INCOMPLETE|network/i.test(e)), []);
    await page.context().close();
  });

  test('a reload mid-run attaches to the running run and replays it whole', async () => {
    const page = await newPage(browser);
    await signIn(page, proxy.url, stack.user, stack.password);
    await startRun(page, 'Sync offers');
    await page.waitForFunction(() => document.querySelectorAll('#terminal .ln[data-seq]').length >= 200);
    const runId = (await page.textContent('#st-run')).trim();
    await page.reload();
    await page.waitForFunction((id) => document.getElementById('st-run').textContent === id, runId);
    assert.equal(await page.isEnabled('#stop'), true, 'STOP is armed for the running run');
    assert.equal(await waitForEnd(page), 'done');
    const token = await login(stack.server.url, stack.user, stack.password);
    const events = await runEvents(stack.server.url, token, runId);
    const lines = await terminalLines(page);
    assert.deepEqual(lines.map((l) => l.seq), events.map((e) => e.seq));
    await page.context().close();
  });

  test('the server dies mid-run: the page keeps trying, and the run, resumed, ends done', async () => {
    const page = await newPage(browser);
    await signIn(page, proxy.url, stack.user, stack.password);
    await startRun(page, 'Sync offers');
    await page.waitForFunction(() => {
      const m = document.getElementById('st-step').textContent.replace(/\s/g, '').match(/^SKU(\d+)\/(\d+)$/);
      return m && Number(m[1]) >= 100;
    });
    const runId = (await page.textContent('#st-run')).trim();
    const seen = (await terminalLines(page)).length;
    const server = await stack.crashAndRestartServer();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#terminal .t-note')).some((n) => n.textContent.includes('connection lost')));
    assert.equal(await page.getAttribute('#st-state', 'data-state'), 'running', 'no verdict while the server is away');
    assert.equal(await page.isEnabled('#stop'), true);
    proxy.setUpstream(server.url);
    // Its job's lease runs out and the new server's worker slot resumes it.
    assert.equal(await waitForEnd(page, undefined, 60000), 'done');
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    assert.equal(await page.isDisabled('#stop'), true);
    // Nothing shown twice, nothing out of order, nothing lost that it had shown.
    const lines = await terminalLines(page);
    assert.ok(lines.length >= seen);
    assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i + 1));
    const token = await login(server.url, stack.user, stack.password);
    const run = await (await fetch(`${server.url}/ebay/sync/runs/${encodeURIComponent(runId)}`, { headers: { Authorization: `Bearer ${token}` } })).json();
    assert.equal((run.run ?? run).status, 'done');
    assert.equal((run.run ?? run).attempts, 2);
    await page.waitForSelector(`#history-body tr[data-run="${runId}"] .badge[data-state="done"]`);
    await page.context().close();
  });
});
