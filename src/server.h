/*
 * The HTTP server of ebaysync serve, on libmicrohttpd: a pool of worker
 * threads, each running its own epoll loop, with suspend/resume so that
 * event streams wait without holding a thread (see sse.h) and hundreds of
 * them cost no more than their sockets. It parses each request (request.h),
 * caps its body (413), routes it through one table to the handlers of api.c
 * (404 for an unknown route, 405 with Allow for a known route and another
 * method), authenticates the /ebay/... routes (Bearer token, or on GET the
 * login cookie, which is all a browser's EventSource can send), and serves
 * the web page embedded from src/web/.
 *
 * Nobody can hold it for everyone (docs/server.md): a client address may
 * open SERVER_CONN_PER_ADDR connections, a request must bring its headers
 * without pausing more than SERVER_HEADER_TIMEOUT seconds, and login, whose
 * password hash costs a tenth of a second of CPU, runs on threads of its
 * own (SERVER_SLOW_THREADS) so the event loops never wait for a hash.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define SERVER_BODY_MAX	      65536 /* bytes of request body accepted */
#define SERVER_THREADS	      4
#define SERVER_CONN_MAX	      4096 /* connections open at once */
#define SERVER_CONN_PER_ADDR  256  /* of them from one client address */
#define SERVER_HEADER_TIMEOUT 10   /* s a connection may idle before its headers are in */
#define SERVER_IDLE_TIMEOUT   120  /* s a connection may idle once they are */
#define SERVER_SLOW_THREADS   1	   /* threads hashing passwords (login) */
#define SERVER_SLOW_QUEUE     64   /* logins waiting for one; 503 past that */

struct api;
struct server;

struct server_config {
	const char *listen;	  /* "ADDR:PORT", "[v6]:PORT" or ":PORT"; port 0 picks one */
	size_t max_body;	  /* 0: SERVER_BODY_MAX */
	unsigned threads;	  /* 0: SERVER_THREADS */
	unsigned max_connections; /* 0: SERVER_CONN_MAX */
	unsigned per_addr;	  /* 0: SERVER_CONN_PER_ADDR */
	unsigned slow_threads;	  /* 0: SERVER_SLOW_THREADS */
};

/*
 * Starts listening and serving (on threads of its own) with api's handlers;
 * api must outlive the server. On failure returns an error with a reason in
 * why. Stop with server_stop().
 */
enum error server_start(const struct server_config *cfg, struct api *api, struct server **out,
			struct buf *why);
/* "http://ADDR:PORT" as a client would write it. */
const char *server_url(const struct server *s);
/* Stops accepting connections; those open are served on. */
void server_quiesce(struct server *s);
/* Closes every connection, joins the threads and frees the server. Event
 * streams must have been ended first (sse_hub_shutdown). */
void server_stop(struct server *s);

#endif
