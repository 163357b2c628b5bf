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
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "error.h"

#define SERVER_BODY_MAX 65536 /* bytes of request body accepted */
#define SERVER_THREADS	4

struct api;
struct server;

struct server_config {
	const char *listen;	  /* "ADDR:PORT", "[v6]:PORT" or ":PORT"; port 0 picks one */
	size_t max_body;	  /* 0: SERVER_BODY_MAX */
	unsigned threads;	  /* 0: SERVER_THREADS */
	unsigned max_connections; /* 0: 4096 */
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

/*
 * The routing table, for the check that docs/openapi.json describes every
 * route: the i-th route's method and pattern ("{}" stands for one path
 * segment) and whether it needs an authenticated caller. Returns 0 past
 * the end.
 */
int server_route(size_t i, const char **method, const char **pattern, int *needs_user);

/* Parses a listen address into addr. ERR_INVALID (why) when malformed. */
enum error server_parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			       struct buf *why);

#endif
