// A loopback TCP proxy in front of `ebaysync serve` that can cut the page's
// event-stream connections on demand: the honest way to "kill the stream's
// connection" (the browser's offline emulation leaves an open stream alone).
// It sniffs each client connection's request lines and remembers which ones
// carry GET /ebay/sync/events/...; cutEvents() destroys those sockets.

import net from 'node:net';

const EVENTS_REQUEST = /^GET \/ebay\/sync\/events\/[^ ]* HTTP\/1\.[01]\r?$/m;

export async function startProxy(upstreamUrl) {
  let up = new URL(upstreamUrl);
  const conns = new Set();
  const log = [];
  const server = net.createServer((client) => {
    const conn = { client, upstream: null, events: false, requests: [] };
    conns.add(conn);
    const upstream = net.connect(Number(up.port), up.hostname);
    conn.upstream = upstream;
    client.on('data', (chunk) => {
      // Request lines only matter at the start of a request; a body never
      // starts with "GET /ebay/sync/events/".
      const head = chunk.toString('latin1', 0, Math.min(chunk.length, 2048));
      const m = head.match(/^(GET|POST|PUT|DELETE|HEAD|OPTIONS) ([^ ]+) HTTP\/1\.[01]/m);
      if (m) conn.requests.push(`${m[1]} ${m[2]}`);
      if (EVENTS_REQUEST.test(head)) {
        conn.events = true;
        log.push(m ? m[2] : '?');
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      conns.delete(conn);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    // The event-stream URLs the browser asked for, in order.
    eventRequests: log,
    // Destroys every open event-stream connection; returns how many.
    cutEvents() {
      let n = 0;
      for (const c of conns) {
        if (!c.events) continue;
        c.client.destroy();
        c.upstream.destroy();
        conns.delete(c);
        n++;
      }
      return n;
    },
    // New connections go to url from now on (a restarted server).
    setUpstream(url) {
      up = new URL(url);
    },
    openEventStreams() {
      return [...conns].filter((c) => c.events).length;
    },
    async close() {
      for (const c of conns) {
        c.client.destroy();
        c.upstream.destroy();
      }
      conns.clear();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
