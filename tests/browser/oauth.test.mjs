// Linking an eBay account from the page, end to end through the real server
// and the simulator's consent page (issue 7): a user without an account
// sees "Connect eBay"; a forged callback is refused with nothing stored;
// consent links the account and an offers sync stores every offer; once
// eBay revokes the refresh token (and the access token in hand has
// expired) the next run fails asking to link again, the page offers
// "Reconnect eBay", and going through consent again makes syncs work.
//
// The page offers "Reconnect eBay" on the run's machine-readable
// error_code ("ebay_relink", in the run and in its final "error" event),
// never on the English of its message: a replay whose text is reworded
// still shows it, one whose code is taken away does not.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { counters, launch, newPage, screenshot, signIn, startRun, terminalLines, terminalNotes, waitForEnd } from './lib/browser.mjs';
import { getJson, login, runEvents, simCatalog } from './lib/api.mjs';
import { addUsers, ebaysync, freePort, startServer, startSim, stopChild, tmpDir } from './lib/stack.mjs';

const SKUS = 300;
const CLIENT_ID = 'ebaysync-browser-app';
const CLIENT_SECRET = 'browser-s3cret.not-the-default';
// Short enough that a run started after the revocation must refresh.
const TOKEN_TTL_S = 4;
const PASSWORD = 'correct horse battery staple';

// The page's errors (lib/browser.mjs collects them in page.errors), but
// console errors only from the server's origin, and without the 400 that a
// sync started before linking causes on purpose: the browser also logs the
// simulator's consent page, whose favicon is a 404.
function trackErrors(page, base) {
  page.ownErrors = [];
  page.expect400 = false;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const at = m.location().url || page.url();
    if (!at.startsWith(base)) return;
    if (page.expect400 && /status of 400/.test(m.text())) return;
    if (/status of (401|409)/.test(m.text())) return;
    page.ownErrors.push(`console: ${m.text()} (${at})`);
  });
}

// Replays runId in page with every answer about it (its event stream, its
// run) rewritten by edit(text), and resolves the state the replay ends in.
async function replayRewritten(page, runId, edit) {
  const id = encodeURIComponent(runId);
  const handler = async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, body: edit(await res.text()) });
  };
  const urls = [`**/ebay/sync/events/${id}*`, `**/ebay/sync/runs/${id}`];
  for (const u of urls) await page.route(u, handler);
  try {
    await page.click(`#history-body tr[data-run="${runId}"] button`);
    return await waitForEnd(page);
  } finally {
    for (const u of urls) await page.unroute(u, handler);
  }
}

function pageErrors(page) {
  return [...page.errors.filter((e) => e.startsWith('pageerror')), ...page.ownErrors];
}

async function simStats(simUrl) {
  return getJson(`${simUrl}/sim/stats`);
}

function tokenCalls(stats, status) {
  return Number(stats.calls?.token?.[status] ?? 0);
}

describe('linking an eBay account from the page', () => {
  let dir;
  let sim;
  let server;
  let base;
  let browser;
  let page;
  let token;
  let catalog;
  let oauthEnv;

  before(async () => {
    dir = tmpDir();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const callback = `${base}/ebay/oauth/callback`;
    const db = path.join(dir, 'ebaysync.db');
    // The fixed --token is one the server never holds: every token it
    // uses comes out of the consent.
    sim = await startSim({
      skus: SKUS,
      latencyMs: 5,
      token: 'fixed-token-nobody-uses',
      dir,
      extra: ['--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--redirect-uri', callback, '--token-ttl', String(TOKEN_TTL_S)],
    });
    // linda has no eBay token at all; old has a refresh token that expires
    // a second from now;
    // hand syncs with a token set by hand that the simulator never issued.
    addUsers(db, [
      { name: 'linda', password: PASSWORD },
      { name: 'old', password: PASSWORD },
      { name: 'hand', password: PASSWORD, token: 'a-token-the-simulator-never-issued' },
    ]);
    oauthEnv = { EBAY_CLIENT_ID: CLIENT_ID, EBAY_CLIENT_SECRET: CLIENT_SECRET, EBAY_RU_NAME: callback, EBAY_ENV: 'simulator', EBAY_API_BASE: sim.url };
    ebaysync(['account', 'set-refresh-token', '--user', 'old', '--token', 'a-refresh-token-about-to-expire', '--expires-in', '1', '--no-verify', '--db', db], {
      env: oauthEnv,
    });
    // --no-ebay-quota: the page's quota line would have serve mint an
    // application token (client_credentials) for eBay's Developer Analytics,
    // and this suite counts the user-consent token calls alone.
    server = await startServer({ dir, db, simUrl: sim.url, port, env: oauthEnv, extra: ['--max-rps', '500', '--no-ebay-quota'] });
    assert.equal(server.url, base, 'the server listens where the simulator sends the browser back');
    browser = await launch();
    token = await login(base, 'linda', PASSWORD);
    catalog = await simCatalog(sim.url);
    assert.equal(catalog.items, SKUS);
  });

  after(async () => {
    if (browser) await browser.close();
    const codes = { server: server ? await server.stop() : 'not started', sim: sim ? await stopChild(sim.child) : 'not started' };
    // Both exit cleanly on SIGTERM (under ASan: without leaks).
    if (codes.server !== 0 || codes.sim !== 0) console.error(`# unclean exit ${JSON.stringify(codes)}: logs kept in ${dir}`);
    else if (!process.env.ES_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(codes, { server: 0, sim: 0 });
  });

  const status = () => getJson(`${base}/ebay/oauth/status`, token);

  test('without an account: "Connect eBay", and a sync says what is missing', async () => {
    page = await newPage(browser);
    trackErrors(page, base);
    await signIn(page, base, 'linda', PASSWORD);
    await page.waitForSelector('#connect:not([hidden])');
    const link = page.getByRole('link', { name: 'Connect eBay' });
    assert.equal(await link.getAttribute('href'), '/ebay/oauth/start');
    assert.equal(await page.isVisible('#relink'), false);
    assert.equal(await page.isVisible('#linked'), false);
    const st = await status();
    assert.equal(st.configured, true);
    assert.equal(st.linked, false);
    await screenshot(page, 'connect.png');

    // The sync buttons stay usable; the server's 400 ebay_not_linked is shown.
    page.expect400 = true;
    await page.getByRole('button', { name: 'Sync offers' }).click();
    await page.waitForSelector('#app-error:not([hidden])');
    const msg = await page.textContent('#app-error');
    assert.match(msg, /^cannot start the offers sync: no eBay account is linked for 'linda'/);
    assert.match(msg, /Connect eBay/);
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    assert.equal(await page.isDisabled('#stop'), true);
    const runs = await getJson(`${base}/ebay/sync/runs`, token);
    assert.equal(runs.total, 0, 'no run was started');
    assert.deepEqual(pageErrors(page), []);
    page.expect400 = false;
  });

  test('a forged state on the callback is refused and nothing is stored', async () => {
    const p = await newPage(browser);
    await signIn(p, base, 'linda', PASSWORD);
    const r = await p.goto(`${base}/ebay/oauth/callback?code=x&state=forged`);
    assert.equal(r.status(), 400);
    assert.equal(await p.getAttribute('#error', 'data-code'), 'state_mismatch');
    assert.match(await p.textContent('#error'), /^state mismatch: /);
    assert.match(await p.textContent('body'), /Nothing was stored/);
    // Nothing was: still not linked, and eBay was never asked.
    assert.equal((await status()).linked, false);
    assert.equal(tokenCalls(await simStats(sim.url), '200'), 0);
    await p.context().close();
  });

  test('Connect eBay, the consent page, Agree: back on the page, linked', async () => {
    // By keyboard: the call to action is a real link.
    await page.focus('#connect-link');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.href.startsWith(`${sim.url}/oauth2/authorize?`));
    const consent = new URL(page.url());
    assert.equal(consent.searchParams.get('client_id'), CLIENT_ID);
    assert.equal(consent.searchParams.get('redirect_uri'), `${base}/ebay/oauth/callback`);
    assert.equal(consent.searchParams.get('response_type'), 'code');
    assert.ok(consent.searchParams.get('state'), 'the consent carries a state');
    assert.equal(await page.textContent('#client'), CLIENT_ID);
    await page.click('#agree');

    await page.waitForSelector('#linked:not([hidden])');
    // The address is clean again: a reload does not say it twice.
    assert.equal(page.url(), `${base}/`);
    assert.match(await page.textContent('#linked'), /eBay account linked/);
    // The terminal says it too, as a line of the page's own.
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#terminal .ln.t-note')).some((e) => e.textContent.endsWith('eBay account linked')));
    assert.equal((await terminalNotes(page)).filter((t) => /^\[\d\d:\d\d:\d\d\] eBay account linked$/.test(t)).length, 1);
    assert.equal(await page.isVisible('#app-view'), true, 'still signed in after the round trip');
    await page.waitForSelector('#connect[hidden]', { state: 'attached' });
    assert.equal(await page.isVisible('#relink'), false);
    const st = await status();
    assert.equal(st.linked, true);
    assert.ok(Date.parse(st.refresh_token_expires_at) > Date.now() + 365 * 86400e3, st.refresh_token_expires_at);
    assert.equal(tokenCalls(await simStats(sim.url), '200'), 1, 'one code exchange');
    assert.deepEqual(pageErrors(page), []);
  });

  // Starts an offers sync and resolves the state it ends in. It waits for
  // the status strip to show the new run rather than for STOP to be armed:
  // a run refused at once may end before a check of STOP sees it enabled.
  async function syncOffers() {
    await startRun(page, 'Sync offers');
    return waitForEnd(page);
  }

  async function assertAllStored() {
    const c = await counters(page);
    const offers = await getJson(`${base}/ebay/offers?limit=1`, token);
    assert.equal(offers.total, catalog.offers, 'every offer of the simulator is stored');
    assert.equal(c.fetched, offers.total, 'Fetched equals the offers total');
    assert.equal(c.stored, offers.total, 'Stored equals the offers total');
    assert.equal((await page.textContent('#st-failed')).replace(/\s/g, ' '), 'Failed: 0');
  }

  test('an offers sync with the linked account stores every offer', async () => {
    assert.equal(await syncOffers(), 'done');
    await assertAllStored();
    // The linked notice goes when a run starts.
    assert.equal(await page.isVisible('#linked'), false);
    assert.equal(await page.isVisible('#relink'), false);
    assert.deepEqual(pageErrors(page), []);
  });

  test('revoked at eBay: the next run asks to reconnect; consent again makes syncs work', async () => {
    const refusedBefore = tokenCalls(await simStats(sim.url), '400');
    const r = await fetch(`${sim.url}/sim/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ all: true }),
    });
    assert.equal(r.status, 200);
    const revoked = await r.json();
    assert.equal(revoked.count, 1, 'the one refresh token of the consent was revoked');
    // The simulator leaves access tokens alone: wait until the one the
    // server holds has expired, so the next run must use the refresh token.
    const exp = Date.parse((await status()).access_token_expires_at);
    assert.ok(Number.isFinite(exp), 'the server knows when its access token expires');
    assert.ok(exp - Date.now() <= TOKEN_TTL_S * 1000 + 1000, 'the access token is a short-lived one');
    while (Date.now() < exp + 500) await page.waitForTimeout(200);

    assert.equal(await syncOffers(), 'failed');
    const lines = await terminalLines(page);
    const last = lines[lines.length - 1];
    assert.equal(last.type, 'error');
    assert.match(last.text, /eBay authorization for linda expired or was revoked: link the account again/);
    assert.match(last.text, /invalid_grant/);
    // The contract the page acts on: the code, in the run and in its final event.
    const failedId = (await page.textContent('#st-run')).trim();
    const run = await getJson(`${base}/ebay/sync/runs/${encodeURIComponent(failedId)}`, token);
    const runRow = run.run ?? run;
    assert.equal(runRow.status, 'failed');
    assert.equal(runRow.error_code, 'ebay_relink');
    assert.match(runRow.error, /link the account again/, 'the English stays, for people');
    const events = await runEvents(base, token, failedId);
    const final = events[events.length - 1];
    assert.equal(final.type, 'error');
    assert.equal(final.error_code, 'ebay_relink');
    assert.deepEqual(events.filter((e) => e.error_code !== undefined).map((e) => e.seq), [final.seq], 'only the final event carries a code');
    const listed = (await getJson(`${base}/ebay/sync/runs`, token)).runs.find((r) => r.id === failedId);
    assert.equal(listed.error_code, 'ebay_relink');
    await page.waitForSelector('#relink:not([hidden])');
    assert.equal(await page.isVisible('#connect'), false, 'linked (if revoked): Reconnect, not Connect');
    assert.ok(tokenCalls(await simStats(sim.url), '400') > refusedBefore, 'eBay refused the refresh token');
    for (const id of ['#sync-inventory', '#sync-offers', '#sync-all']) assert.equal(await page.isEnabled(id), true);
    await screenshot(page, 'reconnect.png');

    // Dismissable; replaying the failed run from the history brings it back.
    await page.getByRole('button', { name: 'Dismiss', exact: true }).click();
    assert.equal(await page.isVisible('#relink'), false);
    const failedRun = (await page.textContent('#st-run')).trim();
    await page.click(`#history-body tr[data-run="${failedRun}"] button`);
    assert.equal(await waitForEnd(page), 'failed');
    await page.waitForSelector('#relink:not([hidden])');

    // The code decides, not the words: reworded, the banner still comes ...
    await page.getByRole('button', { name: 'Dismiss', exact: true }).click();
    const reworded = await replayRewritten(page, failedRun, (t) => t.replace(/link the account again/gi, 'see your eBay settings'));
    assert.equal(reworded, 'failed');
    assert.ok(!(await terminalLines(page)).some((l) => /link the account again/i.test(l.text)), 'the phrase is gone from the replay');
    await page.waitForSelector('#relink:not([hidden])');
    // ... and without the code the same words bring nothing.
    const uncoded = await replayRewritten(page, failedRun, (t) => t.replace(/"error_code"\s*:\s*"ebay_relink"/g, '"error_code":null'));
    assert.equal(uncoded, 'failed');
    assert.ok((await terminalLines(page)).some((l) => /link the account again/.test(l.text)), 'the phrase is in the replay');
    assert.equal(await page.isVisible('#relink'), false, 'no code, no banner');
    await page.click(`#history-body tr[data-run="${failedRun}"] button`);
    assert.equal(await waitForEnd(page), 'failed');
    await page.waitForSelector('#relink:not([hidden])');

    await page.getByRole('link', { name: 'Reconnect eBay' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${sim.url}/oauth2/authorize?`));
    await page.click('#agree');
    await page.waitForSelector('#linked:not([hidden])');
    assert.equal(page.url(), `${base}/`);
    assert.equal(await page.isVisible('#relink'), false);
    assert.equal((await status()).linked, true);

    assert.equal(await syncOffers(), 'done');
    await assertAllStored();
    assert.equal(await page.isVisible('#relink'), false);
    assert.deepEqual(pageErrors(page), []);
    await page.context().close();
  });

  test('an expired refresh token shows "Reconnect eBay" on sign-in', async () => {
    // old's refresh token expired a second after the stack started.
    const p = await newPage(browser);
    await signIn(p, base, 'old', PASSWORD);
    await p.waitForSelector('#relink:not([hidden])');
    assert.equal(await p.getByRole('link', { name: 'Reconnect eBay' }).getAttribute('href'), '/ebay/oauth/start');
    assert.equal(await p.isVisible('#connect'), false);
    const oldToken = await login(base, 'old', PASSWORD);
    const st = await getJson(`${base}/ebay/oauth/status`, oldToken);
    assert.equal(st.linked, true);
    assert.ok(Date.parse(st.refresh_token_expires_at) < Date.now());
    await screenshot(p, 'reconnect-expired.png');
    assert.deepEqual(p.errors, []);
    await p.context().close();
  });

  test('an unlinked user whose hand-set token is refused is offered "Connect eBay" alone', async () => {
    const p = await newPage(browser);
    await signIn(p, base, 'hand', PASSWORD);
    await p.waitForSelector('#connect:not([hidden])');
    await startRun(p, 'Sync inventory');
    assert.equal(await waitForEnd(p), 'failed');
    const lines = await terminalLines(p);
    // The server words it for a token set by hand; the page offers the
    // consent instead, once.
    assert.match(lines[lines.length - 1].text, /set a fresh one with `ebaysync user set-token hand`/);
    assert.equal(await p.isVisible('#connect'), true);
    assert.equal(await p.isVisible('#relink'), false, 'one call to action, not two');
    assert.deepEqual(p.errors, []);
    await p.context().close();
  });
});
