// Starts ebaysync-sim from $ES_BIN_DIR on a free loopback port and talks to it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const TOKEN = 'contract-token';

export async function startSim(args = []) {
  const dir = process.env.ES_BIN_DIR;
  if (!dir) throw new Error('set ES_BIN_DIR to the build folder holding ebaysync-sim');
  const proc = spawn(join(dir, 'ebaysync-sim'),
    ['--listen', '127.0.0.1:0', '--token', TOKEN, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ebaysync-sim did not listen in 10 s: ${err}`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`ebaysync-sim exited (${code}): ${err}`)); });
  });
  proc.removeAllListeners('exit');
  return {
    base,
    async stop() {
      const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      proc.kill('SIGTERM');
      return exited;
    },
    stderr: () => err,
  };
}

// One call; returns {status, headers, body (parsed JSON or null), text}.
export async function call(sim, method, path, { token = TOKEN, body, headers = {} } = {}) {
  const url = path.startsWith('http') ? path : sim.base + path;
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text };
}

export async function catalogLines(sim) {
  const res = await fetch(`${sim.base}/sim/catalog`);
  const text = await res.text();
  return text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

export async function configure(sim, settings) {
  const r = await call(sim, 'POST', '/sim/config', { token: null, body: JSON.stringify(settings) });
  if (r.status !== 200) throw new Error(`config ${JSON.stringify(settings)} refused: ${r.text}`);
}
