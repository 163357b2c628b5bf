// The real things the page talks to, started for one test file: ebaysync-sim
// (the eBay simulator) and `ebaysync serve` on a fresh SQLite database, both
// on free loopback ports, from the binaries in $ES_BIN_DIR. Every process
// started here is stopped by stop() (and, as a last resort, when node exits).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const LISTEN_RE = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 10000;

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function binDir() {
  const dir = process.env.ES_BIN_DIR;
  if (!dir) throw new Error('ES_BIN_DIR is not set: point it at the build folder holding ebaysync and ebaysync-sim');
  for (const b of ['ebaysync', 'ebaysync-sim']) {
    const p = path.join(dir, b);
    if (!fs.existsSync(p)) throw new Error(`${p} does not exist: build first (scripts/build.sh build)`);
  }
  return dir;
}

// A loopback port that was free a moment ago: for a server that must know
// its own URL before it starts (eBay's redirect back to the OAuth callback).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ebaysync-browser-'));
}

// Starts bin with args, its output appended to logPath, and resolves once it
// prints "listening on http://127.0.0.1:PORT".
export function spawnListening(bin, args, { env = {}, logPath }) {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logPath, 'a');
    const child = spawn(bin, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let seen = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(bin)} did not print "listening on" within ${START_TIMEOUT_MS} ms; log: ${logPath}\n${seen.slice(-2000)}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk) => {
      fs.writeSync(log, chunk);
      if (done) return;
      seen += chunk.toString('utf8');
      if (seen.length > 65536) seen = seen.slice(-65536);
      const m = seen.match(LISTEN_RE);
      if (m) {
        done = true;
        clearTimeout(timer);
        resolve({ child, url: m[1], logPath, stop: () => stopChild(child) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, sig) => {
      live.delete(child);
      fs.closeSync(log);
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`${path.basename(bin)} exited (${code ?? sig}) before listening; log: ${logPath}\n${seen.slice(-2000)}`));
      }
    });
  });
}

// SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves with the exit code
// (or the signal's name).
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      resolve(code ?? sig);
    });
    child.kill('SIGTERM');
  });
}

// Runs the ebaysync command line to completion; throws with its output on failure.
export function ebaysync(args, { input, env = {} } = {}) {
  const bin = path.join(binDir(), 'ebaysync');
  const r = spawnSync(bin, args, { input, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0)
    throw new Error(`ebaysync ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export async function startSim({ skus = 1000, seed = 42, latencyMs = 0, jitterMs = 0, token, dir, extra = [] }) {
  const args = ['--listen', '127.0.0.1:0', '--skus', String(skus), '--seed', String(seed), '--token', token];
  if (latencyMs) args.push('--latency-ms', String(latencyMs));
  if (jitterMs) args.push('--jitter-ms', String(jitterMs));
  args.push(...extra);
  return spawnListening(path.join(binDir(), 'ebaysync-sim'), args, { logPath: path.join(dir, 'sim.log') });
}

const JWT_ENV = { EBAYSYNC_JWT_SECRET: 'browser-tests-secret-0123456789abcdef0123456789' };

// Users in the SQLite database db: [{name, password, token}], with the eBay
// token each one syncs with (none when token is not given: a user who has
// to link an account first).
export function addUsers(db, users) {
  for (const u of users) {
    ebaysync(['user', 'add', u.name, '--db', db], { input: `${u.password}\n`, env: JWT_ENV });
    if (u.token) ebaysync(['user', 'set-token', u.name, '--db', db, '--token', u.token], { env: JWT_ENV });
  }
}

// `ebaysync serve` on the database db against the simulator at simUrl, on
// port (default: any free one), with env added to its environment.
export async function startServer({ dir, db, simUrl, extra = [], port = 0, env = {} }) {
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--env', 'simulator', '--api-base', simUrl, ...extra];
  const srv = await spawnListening(path.join(binDir(), 'ebaysync'), args, {
    env: { ...JWT_ENV, ...env },
    logPath: path.join(dir, 'serve.log'),
  });
  return { ...srv, db };
}

// Simulator and server together, with the user "demo" (whose eBay token the
// simulator accepts) and the user "stale" (whose token it refuses).
// opts: dir (default: a new one), skus, latencyMs, jitterMs, seed, simArgs, serverArgs.
export async function startStack(opts = {}) {
  const dir = opts.dir || tmpDir();
  const token = 'sim-token-browser';
  const user = 'demo';
  const password = 'correct horse battery staple';
  const db = path.join(dir, 'ebaysync.db');
  // The server's default ceiling (25 requests/s a run) would make a
  // 1,000-SKU run take 40 s; the simulator's latency paces it instead.
  const serverArgs = opts.serverArgs || ['--max-rps', '500'];
  let sim = null;
  let server = null;
  try {
    sim = await startSim({ ...opts, token, dir, extra: opts.simArgs || [] });
    addUsers(db, [
      { name: user, password, token },
      { name: 'stale', password, token: 'a-token-the-simulator-never-issued' },
    ]);
    server = await startServer({ dir, db, simUrl: sim.url, extra: serverArgs });
  } catch (e) {
    if (server) await server.stop();
    if (sim) await sim.stop();
    throw e;
  }
  return {
    dir,
    sim,
    server,
    simToken: token,
    user,
    password,
    // Kills the server (SIGKILL: a crash, runs left "running") and starts a
    // new one on the same database and secrets; it has a new port.
    async crashAndRestartServer() {
      this.server.child.kill('SIGKILL');
      await this.server.stop();
      this.server = await startServer({ dir, db, simUrl: sim.url, extra: serverArgs });
      return this.server;
    },
    async stop() {
      const codes = {};
      codes.server = await this.server.stop();
      codes.sim = await sim.stop();
      // Keep the logs of a process that did not exit cleanly.
      if (codes.server !== 0 || codes.sim !== 0) console.error(`# unclean exit ${JSON.stringify(codes)}: logs kept in ${dir}`);
      else if (!process.env.ES_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
      return codes;
    },
  };
}
