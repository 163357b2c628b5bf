// Headless Chromium (Debian's /usr/bin/chromium through playwright-core; no
// browser download) with a fresh profile per launch, and the page actions
// the tests share.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const OUT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'out');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

// playwright-core's launch() gives every browser its own temporary profile.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.ES_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

// A page in a new context, with the page's errors collected in page.errors
// (a test asserts that none happened).
export async function newPage(browser, viewport = { width: 1366, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|409)/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(30000);
  return page;
}

export async function signIn(page, base, user, password) {
  await page.goto(base);
  await page.fill('#login-user', user);
  await page.fill('#login-pass', password);
  await page.press('#login-pass', 'Enter');
  await page.waitForSelector('#app-view:not([hidden])');
}

// Clicks the sync button named name and waits until the page shows a run
// other than the one it showed before (the previous run's final state must
// not pass for the new one's); returns the new run's id.
export async function startRun(page, name) {
  const before = (await page.textContent('#st-run')) || '';
  await page.getByRole('button', { name }).click();
  await page.waitForFunction((b) => {
    const t = document.getElementById('st-run').textContent;
    return t !== '' && t !== b;
  }, before);
  return page.textContent('#st-run');
}

// Waits until the run shown has ended in one of states; returns the state.
export async function waitForEnd(page, states = ['done', 'failed', 'cancelled', 'interrupted'], timeout = 120000) {
  const sel = states.map((s) => `#st-state[data-state="${s}"]`).join(', ');
  await page.waitForSelector(sel, { timeout });
  // The terminal writes once per animation frame: let the last batch land.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return page.getAttribute('#st-state', 'data-state');
}

// The run lines in the terminal: [{seq, type, text}] (page notes excluded).
export async function terminalLines(page) {
  return page.$$eval('#terminal .ln[data-seq]', (els) =>
    els.map((e) => ({ seq: Number(e.dataset.seq), type: e.className.replace(/^ln t-/, ''), text: e.textContent })));
}

export async function terminalNotes(page) {
  return page.$$eval('#terminal .ln.t-note', (els) => els.map((e) => e.textContent));
}

// "Fetched: 1 000, Stored: 1 000" -> {fetched: 1000, stored: 1000}
export async function counters(page) {
  const t = await page.textContent('#st-counts');
  const m = t.match(/Fetched: ([\d\u202f]+), Stored: ([\d\u202f]+)/);
  if (!m) throw new Error(`the counters read "${t}"`);
  const n = (s) => Number(s.replace(/\D/g, ''));
  return { fetched: n(m[1]), stored: n(m[2]), text: t };
}

export async function screenshot(page, name, opts = {}) {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file, ...opts });
  return file;
}
