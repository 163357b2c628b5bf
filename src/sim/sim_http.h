/*
 * The simulator over HTTP: a libmicrohttpd daemon (epoll, a thread pool of
 * cfg.threads) that routes each request to the API, OAuth or control
 * handlers, delays answers by suspending the connection (so latency and
 * stalls never hold a worker thread), and carries out the faults that need
 * the socket: resets, cut bodies, malformed JSON.
 */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include "buf.h"
#include "sim.h"

struct sim_http;

/* Binds s->cfg.listen (netaddr.h; port 0 for any free one) and starts
 * serving s, which must outlive the server. NULL with a reason in why. */
struct sim_http *sim_http_start(struct sim *s, struct buf *why);
/* "http://HOST:PORT" (or "http://[V6]:PORT") with the port actually bound. */
const char *sim_http_url(const struct sim_http *h);
/* Ends delays and stalls, stops serving and frees h (NULL is fine). */
void sim_http_stop(struct sim_http *h);

#endif
