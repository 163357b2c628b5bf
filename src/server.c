/*
 * The HTTP server (see server.h). libmicrohttpd calls on_request() several
 * times per request: once when the headers are in (where we reject what we
 * can without reading the body: a bad target, an unknown route, a wrong
 * method, a declared body over the cap), once per piece of body (kept up to
 * the cap), and once at the end, where the request is authenticated and
 * handed to its handler. The raw target comes from the URI log callback,
 * before libmicrohttpd decodes it, so request.c splits it before decoding.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "apikey.h"
#include "auth.h"
#include "embed.h"
#include "metrics.h"
#include "openapi.h"
#include "netaddr.h"
#include "request.h"
#include "sse.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define DISCARD_MAX (16u << 20) /* body bytes read and dropped before we hang up */
#define WEB_PREFIX  "src/web/"

struct conn_req;

struct server {
	struct MHD_Daemon *daemon;
	struct api *api;
	size_t max_body;
	int port;
	char *url;
	int quiesced;

	/* Logins (ROUTE_LOGIN) wait here for a slow thread. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct conn_req *q_head, *q_tail;
	size_t q_len;
	int q_stop;
	pthread_t *slow;
	unsigned n_slow;
};

/* ---- the routing table --------------------------------------------------- */

enum route_auth {
	ROUTE_PUBLIC,
	ROUTE_USER,  /* Bearer token; on GET also the login cookie */
	ROUTE_LOGIN, /* public; needs a JSON body, and runs on a slow thread
		      * (it hashes a password) */
};

struct route {
	const char *method;
	const char *pattern; /* "{}" matches one segment, passed as req->param */
	api_handler_fn fn;
	enum route_auth auth;
};

static const struct route routes[] = {
    {"POST", "/auth/login", api_login, ROUTE_LOGIN},
    {"POST", "/auth/logout", api_logout, ROUTE_PUBLIC},
    {"GET", "/ebay/me", api_me, ROUTE_USER},
    {"POST", "/ebay/sync/inventory", api_sync_inventory, ROUTE_USER},
    {"POST", "/ebay/sync/offers", api_sync_offers, ROUTE_USER},
    {"POST", "/ebay/sync/all", api_sync_all, ROUTE_USER},
    {"POST", "/ebay/sync/skus", api_sync_skus, ROUTE_USER},
    {"POST", "/ebay/sync/refresh", api_sync_refresh, ROUTE_USER},
    {"GET", "/ebay/sync/events/{}", api_events, ROUTE_USER},
    {"GET", "/ebay/sync/runs", api_runs_list, ROUTE_USER},
    {"GET", "/ebay/sync/runs/{}", api_run_get, ROUTE_USER},
    {"POST", "/ebay/sync/runs/{}/stop", api_run_stop, ROUTE_USER},
    {"GET", "/ebay/inventory", api_inventory_list, ROUTE_USER},
    {"GET", "/ebay/inventory/{}", api_inventory_get, ROUTE_USER},
    {"GET", "/ebay/offers", api_offers_list, ROUTE_USER},
    {"GET", "/ebay/changes", api_changes_list, ROUTE_USER},
    {"GET", "/ebay/conditions", api_conditions, ROUTE_USER},
    {"GET", "/ebay/oauth/start", api_oauth_start, ROUTE_USER},
    {"GET", "/ebay/oauth/callback", api_oauth_callback, ROUTE_PUBLIC},
    {"GET", "/ebay/oauth/status", api_oauth_status, ROUTE_USER},
    {"GET", "/healthz", api_healthz, ROUTE_PUBLIC},
    {"GET", "/metrics", api_metrics, ROUTE_PUBLIC},
    {"GET", "/openapi.json", api_openapi, ROUTE_PUBLIC},
    {"POST", "/auth/keys", api_keys_create, ROUTE_USER},
    {"GET", "/auth/keys", api_keys_list, ROUTE_USER},
    {"DELETE", "/auth/keys/{}", api_keys_revoke, ROUTE_USER},
    {"POST", "/ebay/webhooks", api_webhooks_create, ROUTE_USER},
    {"GET", "/ebay/webhooks", api_webhooks_list, ROUTE_USER},
    {"PATCH", "/ebay/webhooks/{}", api_webhooks_update, ROUTE_USER},
    {"DELETE", "/ebay/webhooks/{}", api_webhooks_delete, ROUTE_USER},
    {"GET", "/ebay/webhooks/deliveries", api_webhooks_deliveries, ROUTE_USER},
    {"POST", "/ebay/webhooks/deliveries/{}/redeliver", api_webhooks_redeliver, ROUTE_USER},
    /* schedules (issue 12) */
    {"POST", "/ebay/schedules", api_schedules_create, ROUTE_USER},
    {"GET", "/ebay/schedules", api_schedules_list, ROUTE_USER},
    {"GET", "/ebay/schedules/{}", api_schedules_get, ROUTE_USER},
    {"PATCH", "/ebay/schedules/{}", api_schedules_update, ROUTE_USER},
    {"DELETE", "/ebay/schedules/{}", api_schedules_delete, ROUTE_USER},
    /* quota */
    {"GET", "/ebay/quota", api_quota_get, ROUTE_USER},
};

int server_route(size_t i, const char **method, const char **pattern, int *needs_user)
{
	if (i >= sizeof(routes) / sizeof(routes[0]))
		return 0;
	*method = routes[i].method;
	*pattern = routes[i].pattern;
	*needs_user = routes[i].auth == ROUTE_USER;
	return 1;
}

/* Does pattern match the segments? *param receives the "{}" segment. */
static int match(const char *pattern, const struct request_target *t, const char **param)
{
	const char *p = pattern + 1;
	size_t i = 0, len;

	*param = NULL;
	if (t->trailing_slash)
		return 0;
	while (*p) {
		len = strcspn(p, "/");
		if (i == t->n_segments)
			return 0;
		if (len == 2 && !strncmp(p, "{}", 2))
			*param = t->segments[i];
		else if (strlen(t->segments[i]) != len || strncmp(p, t->segments[i], len))
			return 0;
		i++;
		p += len;
		if (*p == '/')
			p++;
	}
	return i == t->n_segments;
}

/* ---- per request --------------------------------------------------------- */

struct conn_req {
	char *target; /* raw, as sent; NULL when longer than the cap */
	int started;  /* the first call (headers) has been handled */
	struct request_target t;
	const struct route *route; /* NULL: a static file */
	const struct embed_file *file;
	const char *param;
	struct buf body;
	size_t seen; /* body bytes received */
	int too_big;
	char client[INET6_ADDRSTRLEN]; /* the client's address, or "" */

	/* The handler's request and answer, kept while a slow thread works. */
	struct MHD_Connection *conn;
	struct api_req req;
	struct api_res res;
	int res_ready; /* res was initialised */
	int done;      /* a slow thread has filled res */
	char *user, *token;
	struct conn_req *q_next;
};

static void client_address(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, size);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_req *r = xcalloc(1, sizeof(*r));

	if (strlen(uri) <= REQUEST_TARGET_MAX)
		r->target = xstrdup(uri);
	client_address(c, r->client, sizeof(r->client));
	buf_init(&r->body, ((struct server *)cls)->max_body);
	metrics_add(METRIC_HTTP_REQUESTS, 1);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_req *r = *con_cls;

	if (!r)
		return;
	/* The next request on this connection must bring its headers as
	 * promptly as the first. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)SERVER_HEADER_TIMEOUT);
	if (r->res_ready)
		api_res_release(&r->res);
	if (r->token)
		memset(r->token, 0, strlen(r->token));
	free(r->token);
	free(r->user);
	request_target_release(&r->t);
	buf_release(&r->body);
	free(r->target);
	free(r);
	*con_cls = NULL;
}

static void add_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

/* The reader of a body made as it is sent: the handler's, on a copy of
 * its function and context that lives as long as the response. */
struct body_src {
	long (*read)(void *ctx, char *out, size_t max);
	void (*free)(void *ctx);
	void *ctx;
};

static ssize_t body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body_src *b = cls;
	long n;

	(void)pos;
	n = b->read(b->ctx, buf, max);
	return n == -1 ? MHD_CONTENT_READER_END_OF_STREAM
	       : n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR
		       : (ssize_t)n;
}

static void body_done(void *cls)
{
	struct body_src *b = cls;

	b->free(b->ctx);
	free(b);
}

static enum MHD_Result send_res(struct MHD_Connection *c, struct api_res *res)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;
	size_t len, i;
	char *body;

	if (res->stream) {
		resp = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, 16 * 1024, sse_stream_read, res->stream, sse_stream_free);
		if (!resp) {
			sse_stream_free(res->stream);
			res->stream = NULL;
			return MHD_NO;
		}
		sse_stream_attach(res->stream, c);
		res->stream = NULL;
		MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
		MHD_add_response_header(resp, "Cache-Control", "no-cache");
		MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	} else if (res->body_read) {
		/* A body made as it is sent (api.h); its reader's -1 and -2 are
		 * libmicrohttpd's end and error. */
		struct body_src *b = xmalloc(sizeof(*b));

		b->read = res->body_read;
		b->free = res->body_free;
		b->ctx = res->body_ctx;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, body_reader,
							 b, body_done);
		if (!resp) {
			free(b); /* res still owns the context */
			return MHD_NO;
		}
		res->body_ctx = NULL; /* body_done frees it from now on */
		MHD_add_response_header(resp, "Content-Type", res->content_type);
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	} else {
		body = buf_detach(&res->body, &len);
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(body);
			return MHD_NO;
		}
		if (res->status != 204 && res->status != 304)
			MHD_add_response_header(resp, "Content-Type",
						res->content_type ? res->content_type
								  : "application/json");
		if (!res->content_type || strncmp(res->content_type, "text/html", 9))
			MHD_add_response_header(resp, "Cache-Control", "no-store");
	}
	add_common_headers(resp);
	for (i = 0; i < res->n_headers; i++)
		MHD_add_response_header(resp, res->headers[i][0], res->headers[i][1]);
	rc = MHD_queue_response(c, res->status, resp);
	MHD_destroy_response(resp);
	if (res->status >= 500)
		fprintf(stderr, "ebaysync serve: answered %u\n", res->status);
	return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
				  const char *message, const char *hname, const char *hvalue)
{
	struct api_res res;
	enum MHD_Result rc;

	api_res_init(&res);
	api_res_error(&res, status, code, "%s", message);
	if (hname)
		api_res_header(&res, hname, hvalue);
	rc = send_res(c, &res);
	api_res_release(&res);
	return rc;
}

/* ---- static files -------------------------------------------------------- */

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".json", "application/json"},
	    {".webmanifest", "application/manifest+json"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".woff2", "font/woff2"},
	};
	size_t i, n = strlen(name);

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && !strcasecmp(name + n - e, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}

/* The embedded file for a page path ("/" or "/name.ext"), or NULL. */
static const struct embed_file *find_page_file(const struct request_target *t)
{
	char name[128];
	const char *seg;
	size_t i;

	if (t->trailing_slash || t->n_segments > 1)
		return NULL;
	seg = t->n_segments ? t->segments[0] : "index.html";
	if (seg[0] == '.' || strlen(seg) > 100)
		return NULL;
	for (i = 0; seg[i]; i++)
		if (!((seg[i] >= 'a' && seg[i] <= 'z') || (seg[i] >= 'A' && seg[i] <= 'Z') ||
		      (seg[i] >= '0' && seg[i] <= '9') || seg[i] == '.' || seg[i] == '_' ||
		      seg[i] == '-'))
			return NULL;
	snprintf(name, sizeof(name), WEB_PREFIX "%s", seg);
	return embed_find(name);
}

static enum MHD_Result send_file(struct MHD_Connection *c, const struct embed_file *f)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
	const char *type = content_type(f->name);
	struct MHD_Response *resp;
	enum MHD_Result rc;
	uint64_t h = 1469598103934665603ULL;
	unsigned status = 200;
	char etag[24];
	size_t i;

	for (i = 0; i < f->len; i++)
		h = (h ^ f->data[i]) * 1099511628211ULL;
	snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)h);
	if (inm && strstr(inm, etag)) {
		status = 304;
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(f->len, (void *)f->data,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	if (status == 200)
		MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "ETag", etag);
	/* No fingerprints in the names: revalidate every time (cheap, 304). */
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	add_common_headers(resp);
	if (!strncmp(type, "text/html", 9)) {
		MHD_add_response_header(
		    resp, "Content-Security-Policy",
		    "default-src 'self'; script-src 'self'; style-src 'self' "
		    "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
		    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	}
	rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

static int is_get(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* Finds the route (or page file) of r for method; answers 400/404/405/414
 * itself and returns 0 when there is none. */
static int resolve(struct MHD_Connection *c, struct conn_req *r, const char *method,
		   enum MHD_Result *rc)
{
	struct buf why = BUF_INIT, allow = BUF_INIT, msg = BUF_INIT;
	const char *param;
	enum error err;
	size_t i;

	if (!r->target) {
		*rc = send_error(c, 414, "uri_too_long", "request target is too long", NULL, NULL);
		return 0;
	}
	err = request_parse_target(r->target, &r->t, &why);
	if (err) {
		*rc = err == ERR_TOOBIG
			  ? send_error(c, 414, "uri_too_long", buf_str(&why), NULL, NULL)
			  : send_error(c, 400, "bad_request", buf_str(&why), NULL, NULL);
		goto out;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, &r->t, &param))
			continue;
		if (!strcmp(method, routes[i].method) ||
		    (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
			r->route = &routes[i];
			r->param = param;
			goto out;
		}
		buf_addf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
		if (!strcmp(routes[i].method, "GET"))
			buf_adds(&allow, ", HEAD");
	}
	if (!allow.len) {
		r->file = find_page_file(&r->t);
		if (r->file && is_get(method))
			goto out;
		if (r->file)
			buf_adds(&allow, "GET, HEAD");
	}
	if (allow.len) {
		buf_addf(&msg, "%s is not allowed here; use %s", method, buf_str(&allow));
		*rc = send_error(c, 405, "method_not_allowed", buf_str(&msg), "Allow",
				 buf_str(&allow));
	} else if (r->t.n_segments == 0) {
		*rc = send_error(c, 404, "not_found",
				 "the web page is not built into this binary; the API is under "
				 "/ebay/ and /auth/",
				 NULL, NULL);
	} else {
		buf_addf(&msg, "no route for %s %.200s", method, r->target);
		*rc = send_error(c, 404, "not_found", buf_str(&msg), NULL, NULL);
	}
out:
	buf_release(&why);
	buf_release(&allow);
	buf_release(&msg);
	return r->route || r->file;
}

/*
 * The token the request presents: the Bearer header or, where a cookie
 * may stand for it (GET, which a browser's EventSource makes, and logout),
 * the login cookie. NULL with the reason in why when there is none or the
 * header is malformed (*bad set then). Returns a malloc'd string.
 */
static char *presented_token(struct MHD_Connection *c, int cookie_ok, int *bad, struct buf *why)
{
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char *token = NULL;
	enum error err;

	err = request_bearer(hdr, &token, why);
	*bad = err == ERR_INVALID;
	if (err == ERR_NOTFOUND && cookie_ok)
		token = request_cookie(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie"),
				       AUTH_COOKIE);
	return token;
}

/* 1 when the store lists jti as revoked (logged out); 0 when it does not;
 * -1 (reason in why) when it cannot tell. */
static int revoked(struct server *srv, const char *jti, struct buf *why)
{
	struct store *st = storepool_get(srv->api->pool, why);
	enum error err;

	if (!st)
		return -1;
	err = store_token_revoked(st, jti);
	if (err && err != ERR_NOTFOUND)
		buf_addf(why, "%s", store_errmsg(st));
	storepool_put(srv->api->pool, st, err == ERR_DB);
	return err == ERR_OK ? 1 : err == ERR_NOTFOUND ? 0 : -1;
}

/*
 * Authenticates an API key (apikey.h) for r's route and method: the key's
 * user; else answers 401 (unknown, revoked or expired key), 403 (a key
 * whose scope does not allow the call, or a key managing keys) or 503
 * itself.
 */
static char *authenticate_key(struct server *srv, struct MHD_Connection *c, struct conn_req *r,
			      const char *method, struct buf *why, enum MHD_Result *rc)
{
	struct store *s = storepool_get(srv->api->pool, why);
	char *user = NULL, *scope = NULL;
	enum error err = ERR_DB;
	int forbidden = 0;

	if (s) {
		err = apikey_verify(s, r->token, timeutil_wall_ms(), &user, &scope, why);
		storepool_put(srv->api->pool, s, err == ERR_DB);
	}
	if (!err && !strncmp(r->route->pattern, "/auth/keys", 10)) {
		buf_adds(why, "API keys cannot manage API keys: log in (POST /auth/login) or use "
			      "`ebaysync apikey`");
		forbidden = 1;
	} else if (!err && !apikey_scope_allows(scope, method)) {
		buf_addf(why,
			 "this API key has scope '%s': it can read the mirror, runs and "
			 "events, but not %s %s; make a key with scope 'sync' for that",
			 scope, method, r->route->pattern);
		forbidden = 1;
	}
	if (forbidden)
		*rc = send_error(c, 403, "forbidden", buf_str(why), NULL, NULL);
	else if (err == ERR_AUTH)
		*rc = send_error(c, 401, "unauthorized", buf_str(why), "WWW-Authenticate",
				 "Bearer realm=\"ebaysync\", error=\"invalid_token\"");
	else if (err)
		*rc = send_error(c, 503, "unavailable", buf_str(why), NULL, NULL);
	if (err || forbidden) {
		free(user);
		user = NULL;
	}
	free(scope);
	return user;
}

/* Authenticates the caller of a ROUTE_USER route with r->token: a valid
 * token that logout has not revoked, or an API key. Answers 401 (503 when
 * the database cannot tell) itself. */
static char *authenticate(struct server *srv, struct MHD_Connection *c, struct conn_req *r,
			  const char *method, int bad, struct buf *why, enum MHD_Result *rc)
{
	struct auth_claims claims;
	char *user = NULL;
	int gone = 0;

	memset(&claims, 0, sizeof(claims));
	if (!r->token && !bad)
		buf_adds(why, "missing credentials: send 'Authorization: Bearer <token>' with a "
			      "token from POST /auth/login or `ebaysync token`");
	if (r->token && apikey_is_key(r->token))
		return authenticate_key(srv, c, r, method, why, rc);
	if (r->token &&
	    !auth_verify_claims(srv->api->auth, r->token, timeutil_wall_ms() / 1000, &claims, why))
		gone = revoked(srv, claims.jti, why);
	if (claims.user && gone == 0) {
		user = claims.user;
		claims.user = NULL;
	} else if (gone < 0) {
		*rc = send_error(c, 503, "unavailable", buf_str(why), NULL, NULL);
	} else {
		if (gone)
			buf_adds(why, "token was revoked by logging out: log in again");
		*rc = send_error(c, 401, "unauthorized", buf_str(why), "WWW-Authenticate",
				 "Bearer realm=\"ebaysync\", error=\"invalid_token\"");
	}
	auth_claims_release(&claims);
	return user;
}

/* ---- logins -------------------------------------------------------------- */

/*
 * Parks r's connection (a login) and queues it for a slow thread, which runs the
 * handler and resumes the connection; libmicrohttpd then calls on_request
 * again and dispatch() sends r->res. A full queue answers 503 at once.
 */
static enum MHD_Result enqueue(struct server *srv, struct MHD_Connection *c, struct conn_req *r)
{
	pthread_mutex_lock(&srv->mu);
	if (srv->q_stop || srv->q_len >= SERVER_SLOW_QUEUE) {
		pthread_mutex_unlock(&srv->mu);
		api_res_error(&r->res, 503, "unavailable",
			      "too many logins at once: try again in a second");
		api_res_header(&r->res, "Retry-After", "1");
		return send_res(c, &r->res);
	}
	r->conn = c;
	MHD_suspend_connection(c);
	if (srv->q_tail)
		srv->q_tail->q_next = r;
	else
		srv->q_head = r;
	srv->q_tail = r;
	srv->q_len++;
	pthread_cond_signal(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	return MHD_YES;
}

static void *slow_main(void *arg)
{
	struct server *srv = arg;
	struct conn_req *r;

	for (;;) {
		pthread_mutex_lock(&srv->mu);
		while (!srv->q_head && !srv->q_stop)
			pthread_cond_wait(&srv->cv, &srv->mu);
		r = srv->q_head;
		if (r) {
			srv->q_head = r->q_next;
			if (!srv->q_head)
				srv->q_tail = NULL;
			srv->q_len--;
		}
		pthread_mutex_unlock(&srv->mu);
		if (!r)
			break;
		/* A suspended connection cannot go away: r stays valid. */
		r->route->fn(srv->api, &r->req, &r->res);
		r->done = 1;
		MHD_resume_connection(r->conn);
	}
	return NULL;
}

/* ---- dispatch (continued) ------------------------------------------------ */

static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *c, struct conn_req *r,
				const char *method)
{
	struct buf why = BUF_INIT;
	enum MHD_Result rc = MHD_NO;
	int bad = 0;

	if (r->file)
		return send_file(c, r->file);
	if (r->done)
		return send_res(c, &r->res);
	r->token = presented_token(c, is_get(method) || r->route->fn == api_logout, &bad, &why);
	if (r->route->auth == ROUTE_USER) {
		r->user = authenticate(srv, c, r, method, bad, &why, &rc);
		if (!r->user)
			goto out;
	}
	r->req.method = method;
	r->req.target = &r->t;
	r->req.param = r->param;
	r->req.user = r->user;
	r->req.body = buf_str(&r->body);
	r->req.body_len = r->body.len;
	r->req.last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	r->req.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	r->req.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
	r->req.client = r->client[0] ? r->client : NULL;
	r->req.token = r->token;
	api_res_init(&r->res);
	r->res_ready = 1;
	if (r->route->auth == ROUTE_LOGIN) {
		rc = enqueue(srv, c, r);
		goto out;
	}
	r->route->fn(srv->api, &r->req, &r->res);
	rc = send_res(c, &r->res);
out:
	buf_release(&why);
	return rc;
}

/*
 * 1 when a POST of route must be refused for its Content-Type: a body
 * (and login's, always) must be declared application/json, which an HTML
 * form cannot send, so no other site can post one with the user's cookie
 * (login CSRF).
 */
static int not_json(struct MHD_Connection *c, const struct route *rt, const char *cl)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
	size_t n = strlen("application/json");

	if (strcmp(rt->method, "POST"))
		return 0;
	if (rt->auth != ROUTE_LOGIN && !te && (!cl || strtoull(cl, NULL, 10) == 0))
		return 0;
	return !ct || strncasecmp(ct, "application/json", n) ||
	       (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t');
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct server *srv = cls;
	struct conn_req *r = *con_cls;
	enum MHD_Result rc = MHD_NO;
	const char *cl;

	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = 1;
		/* The headers are in: from now on the connection may idle as
		 * long as any request (until here it had SERVER_HEADER_TIMEOUT). */
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)SERVER_IDLE_TIMEOUT);
		if (!resolve(c, r, method, &rc))
			return rc;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > srv->max_body) {
			char msg[96];
			snprintf(msg, sizeof(msg), "request body is larger than %zu bytes",
				 srv->max_body);
			return send_error(c, 413, "payload_too_large", msg, NULL, NULL);
		}
		if (r->route && not_json(c, r->route, cl))
			return send_error(c, 415, "unsupported_media_type",
					  "send the body as JSON with 'Content-Type: "
					  "application/json'",
					  NULL, NULL);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && buf_add(&r->body, upload, *upload_size) == ERR_TOOBIG) {
			r->too_big = 1;
			buf_release(&r->body);
		}
		r->seen += *upload_size;
		*upload_size = 0;
		return r->seen > DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (r->too_big) {
		char msg[96];
		snprintf(msg, sizeof(msg), "request body is larger than %zu bytes", srv->max_body);
		return send_error(c, 413, "payload_too_large", msg, NULL, NULL);
	}
	return dispatch(srv, c, r, method);
}

/* ---- lifecycle ----------------------------------------------------------- */

/* Lets the slow threads finish what is queued and joins them. */
static void stop_slow(struct server *s)
{
	unsigned i;

	pthread_mutex_lock(&s->mu);
	s->q_stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->n_slow; i++)
		pthread_join(s->slow[i], NULL);
	free(s->slow);
	s->slow = NULL;
	s->n_slow = 0;
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

enum error server_start(const struct server_config *cfg, struct api *api, struct server **out,
			struct buf *why)
{
	struct server *s;
	struct sockaddr_storage addr;
	socklen_t alen;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN];
	unsigned i;
	unsigned flags =
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	enum error err;

	*out = NULL;
	err = netaddr_parse(cfg->listen ? cfg->listen : "127.0.0.1:8080", &addr, &alen, why);
	if (err)
		return err;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = xcalloc(1, sizeof(*s));
	s->api = api;
	s->max_body = cfg->max_body ? cfg->max_body : SERVER_BODY_MAX;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->n_slow = cfg->slow_threads ? cfg->slow_threads : SERVER_SLOW_THREADS;
	s->slow = xcalloc(s->n_slow, sizeof(*s->slow));
	for (i = 0; i < s->n_slow; i++)
		if (pthread_create(&s->slow[i], NULL, slow_main, s))
			abort();
	/* The connection timeout is the header deadline; on_request gives a
	 * connection SERVER_IDLE_TIMEOUT once its headers are in. */
	s->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : SERVER_THREADS),
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(cfg->max_connections ? cfg->max_connections : SERVER_CONN_MAX),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)(cfg->per_addr ? cfg->per_addr : SERVER_CONN_PER_ADDR),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVER_HEADER_TIMEOUT,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->daemon) {
		buf_addf(why, "cannot listen on %s: %s",
			 cfg->listen ? cfg->listen : "127.0.0.1:8080",
			 errno ? strerror(errno) : "libmicrohttpd refused to start");
		stop_slow(s);
		free(s);
		return ERR_IO;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	if (addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
		s->url = xasprintf("http://[%s]:%d", host, s->port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
		s->url = xasprintf("http://%s:%d", host, s->port);
	}
	*out = s;
	return ERR_OK;
}

const char *server_url(const struct server *s)
{
	return s->url;
}

void server_quiesce(struct server *s)
{
	MHD_socket fd;

	if (s->quiesced)
		return;
	s->quiesced = 1;
	fd = MHD_quiesce_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	/* No connection may be suspended when libmicrohttpd stops. */
	stop_slow(s);
	MHD_stop_daemon(s->daemon);
	free(s->url);
	free(s);
}
