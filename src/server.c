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
#include "request.h"
#include "sse.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define DISCARD_MAX (16u << 20) /* body bytes read and dropped before we hang up */
#define WEB_PREFIX  "src/web/"

struct server {
	struct MHD_Daemon *daemon;
	struct api *api;
	size_t max_body;
	int port;
	char *url;
	int quiesced;
};

/* ---- the routing table --------------------------------------------------- */

enum route_auth {
	ROUTE_PUBLIC,
	ROUTE_USER, /* Bearer token; on GET also the login cookie */
};

struct route {
	const char *method;
	const char *pattern; /* "{}" matches one segment, passed as req->param */
	api_handler_fn fn;
	enum route_auth auth;
};

static const struct route routes[] = {
    {"POST", "/auth/login", api_login, ROUTE_PUBLIC},
    {"POST", "/auth/logout", api_logout, ROUTE_PUBLIC},
    {"GET", "/ebay/me", api_me, ROUTE_USER},
    {"POST", "/ebay/sync/inventory", api_sync_inventory, ROUTE_USER},
    {"POST", "/ebay/sync/offers", api_sync_offers, ROUTE_USER},
    {"POST", "/ebay/sync/all", api_sync_all, ROUTE_USER},
    {"POST", "/ebay/sync/skus", api_sync_skus, ROUTE_USER},
    {"GET", "/ebay/sync/events/{}", api_events, ROUTE_USER},
    {"GET", "/ebay/sync/runs", api_runs_list, ROUTE_USER},
    {"GET", "/ebay/sync/runs/{}", api_run_get, ROUTE_USER},
    {"POST", "/ebay/sync/runs/{}/stop", api_run_stop, ROUTE_USER},
    {"GET", "/ebay/inventory", api_inventory_list, ROUTE_USER},
    {"GET", "/ebay/inventory/{}", api_inventory_get, ROUTE_USER},
    {"GET", "/ebay/offers", api_offers_list, ROUTE_USER},
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
};

int server_route(size_t i, const char **method, const char **pattern, int *needs_user)
{
	if (i >= sizeof(routes) / sizeof(routes[0]))
		return 0;
	*method = routes[i].method;
	*pattern = routes[i].pattern;
	*needs_user = routes[i].auth != ROUTE_PUBLIC;
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
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_req *r = xcalloc(1, sizeof(*r));

	if (strlen(uri) <= REQUEST_TARGET_MAX)
		r->target = xstrdup(uri);
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
 * Checks an API key (apikey.h) for route and method: *user on success; else
 * ERR_AUTH (401, why) for a bad key; *forbidden set (403, why) for a key
 * whose scope does not allow the call.
 */
static enum error check_key(struct server *srv, const char *key, const struct route *route,
			    const char *method, char **user, int *forbidden, struct buf *why)
{
	struct store *s = storepool_get(srv->api->pool, why);
	char *scope = NULL;
	enum error err;

	if (!s)
		return ERR_DB;
	err = apikey_verify(s, key, timeutil_wall_ms(), user, &scope, why);
	storepool_put(srv->api->pool, s, err == ERR_DB);
	if (!err && !strncmp(route->pattern, "/auth/keys", 10)) {
		buf_adds(why, "API keys cannot manage API keys: log in (POST /auth/login) or use "
			      "`ebaysync apikey`");
		*forbidden = 1;
	} else if (!err && !apikey_scope_allows(scope, method)) {
		buf_addf(why,
			 "this API key has scope '%s': it can read the mirror, runs and "
			 "events, but not %s %s; make a key with scope 'sync' for that",
			 scope, method, route->pattern);
		*forbidden = 1;
	}
	if (*forbidden) {
		free(*user);
		*user = NULL;
	}
	free(scope);
	return err;
}

/* Authenticates the caller of a ROUTE_USER route; answers 401 itself. */
static char *authenticate(struct server *srv, struct MHD_Connection *c, const char *method,
			  const struct route *route, enum MHD_Result *rc)
{
	int forbidden = 0;
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	struct buf why = BUF_INIT;
	char *token = NULL, *user = NULL;
	enum error err;

	err = request_bearer(hdr, &token, &why);
	if (err == ERR_NOTFOUND && is_get(method))
		token = request_cookie(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie"),
				       AUTH_COOKIE);
	if (!token && err != ERR_INVALID)
		buf_adds(&why, "missing credentials: send 'Authorization: Bearer <token>' with a "
			       "token from POST /auth/login or `ebaysync token`");
	if (token && apikey_is_key(token))
		err = check_key(srv, token, route, method, &user, &forbidden, &why);
	else if (token)
		err = auth_verify(srv->api->auth, token, timeutil_wall_ms() / 1000, &user, &why);
	if (forbidden)
		*rc = send_error(c, 403, "forbidden", buf_str(&why), NULL, NULL);
	else if (!user && err == ERR_DB)
		*rc = send_error(c, 503, "unavailable", buf_str(&why), NULL, NULL);
	else if (!user)
		*rc = send_error(c, 401, "unauthorized", buf_str(&why), "WWW-Authenticate",
				 "Bearer realm=\"ebaysync\", error=\"invalid_token\"");
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	buf_release(&why);
	return user;
}

static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *c, struct conn_req *r,
				const char *method)
{
	struct api_req req;
	struct api_res res;
	enum MHD_Result rc = MHD_NO;
	char *user = NULL;

	if (r->file)
		return send_file(c, r->file);
	if (r->route->auth == ROUTE_USER) {
		user = authenticate(srv, c, method, r->route, &rc);
		if (!user)
			return rc;
	}
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.target = &r->t;
	req.param = r->param;
	req.user = user;
	req.body = buf_str(&r->body);
	req.body_len = r->body.len;
	req.last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	req.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
	api_res_init(&res);
	r->route->fn(srv->api, &req, &res);
	rc = send_res(c, &res);
	api_res_release(&res);
	free(user);
	return rc;
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
		if (!resolve(c, r, method, &rc))
			return rc;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > srv->max_body) {
			char msg[96];
			snprintf(msg, sizeof(msg), "request body is larger than %zu bytes",
				 srv->max_body);
			return send_error(c, 413, "payload_too_large", msg, NULL, NULL);
		}
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

enum error server_parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			       struct buf *why)
{
	char host[128];
	const char *colon, *port_s;
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
	char *end;
	long port;

	memset(addr, 0, sizeof(*addr));
	if (text[0] == '[') {
		colon = strstr(text, "]:");
		if (!colon || (size_t)(colon - text - 1) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - text - 1), text + 1);
		port_s = colon + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
		port_s = colon + 1;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || *end || end == port_s || port < 0 || port > 65535)
		goto bad;
	if (!*host)
		snprintf(host, sizeof(host), "0.0.0.0");
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return ERR_OK;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return ERR_OK;
	}
bad:
	buf_addf(why, "listen address '%s' must be IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
		 text);
	return ERR_INVALID;
}

enum error server_start(const struct server_config *cfg, struct api *api, struct server **out,
			struct buf *why)
{
	struct server *s;
	struct sockaddr_storage addr;
	socklen_t alen;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN];
	unsigned flags =
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	enum error err;

	*out = NULL;
	err = server_parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080", &addr, &alen, why);
	if (err)
		return err;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = xcalloc(1, sizeof(*s));
	s->api = api;
	s->max_body = cfg->max_body ? cfg->max_body : SERVER_BODY_MAX;
	s->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : SERVER_THREADS),
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(cfg->max_connections ? cfg->max_connections : 4096),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_LISTEN_BACKLOG_SIZE,
	    (unsigned)1024, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_END);
	if (!s->daemon) {
		buf_addf(why, "cannot listen on %s: %s",
			 cfg->listen ? cfg->listen : "127.0.0.1:8080",
			 errno ? strerror(errno) : "libmicrohttpd refused to start");
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
	MHD_stop_daemon(s->daemon);
	free(s->url);
	free(s);
}
