/*
 * Tests for the eBay client (ebay.c, ebay_page.c) against an in-test
 * libmicrohttpd server on 127.0.0.1 whose every answer the test scripts:
 * status sequences, 429 with and without Retry-After, eBay's retryable
 * errorIds, refused tokens, truncated and malformed bodies, stalls, dropped
 * connections, oversize bodies. A raw socket server sends real TCP resets.
 * The server counts requests in flight and stamps each one, so the tests
 * check concurrency and pacing from the outside. The pure parts (URLs,
 * pages, the pager's guards, error bodies) are tested without a server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ebay.h"
#include "metrics.h"
#include "pacer.h"
#include "timeutil.h"
#include "xalloc.h"

/* ---- the scripted server ---- */

#define MAX_HITS 512

struct hit {
	int n; /* 1-based, in arrival order */
	long long at_ms;
	char path[256];
	char auth[128];
	char market[64];
	char accept[64];
	char ctype[64];
	char accept_enc[64];
	char sku[256];
	int has_sku;
	char offset[32];
};

enum reply_mode {
	REPLY_NORMAL,
	REPLY_TRUNCATE, /* Content-Length 100, 10 bytes, then close */
	REPLY_DROP,	/* close without an answer */
	REPLY_STREAM,	/* stream_len bytes of unknown length */
};

struct reply {
	int status;
	char body[8192];
	const char *retry_after;
	enum reply_mode mode;
	int delay_ms;
	size_t stream_len;
};

typedef void (*script_fn)(const struct hit *h, struct reply *out);

static struct server {
	struct MHD_Daemon *d;
	int port;
	char base[64];
	pthread_mutex_t lock;
	script_fn script;
	int hits;
	int inflight, max_inflight;
	struct hit log[MAX_HITS];
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int first_call_marker;

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t size,
			enum MHD_ValueKind kind)
{
	const char *v = MHD_lookup_connection_value(conn, kind, name);

	snprintf(out, size, "%s", v ? v : "");
}

struct stream {
	size_t len;
	const char *data;
};

static ssize_t truncated_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	if (pos >= 10)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	memcpy(buf, "{\"offers\":", max < 10 ? max : 10);
	return max < 10 ? (ssize_t)max : 10;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n = s->len - (size_t)pos;

	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > max)
		n = max;
	memset(buf, 'x', n);
	return (ssize_t)n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct reply rep;
	struct hit h;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	script_fn script;

	(void)cls;
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (!*con_cls) {
		*con_cls = &first_call_marker;
		pthread_mutex_lock(&srv.lock);
		srv.inflight++;
		if (srv.inflight > srv.max_inflight)
			srv.max_inflight = srv.inflight;
		pthread_mutex_unlock(&srv.lock);
		return MHD_YES;
	}
	memset(&h, 0, sizeof(h));
	h.at_ms = timeutil_mono_ms();
	snprintf(h.path, sizeof(h.path), "%s", url);
	copy_header(conn, "Authorization", h.auth, sizeof(h.auth), MHD_HEADER_KIND);
	copy_header(conn, "X-EBAY-C-MARKETPLACE-ID", h.market, sizeof(h.market), MHD_HEADER_KIND);
	copy_header(conn, "Accept", h.accept, sizeof(h.accept), MHD_HEADER_KIND);
	copy_header(conn, "Content-Type", h.ctype, sizeof(h.ctype), MHD_HEADER_KIND);
	copy_header(conn, "Accept-Encoding", h.accept_enc, sizeof(h.accept_enc), MHD_HEADER_KIND);
	copy_header(conn, "offset", h.offset, sizeof(h.offset), MHD_GET_ARGUMENT_KIND);
	h.has_sku = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sku") != NULL;
	copy_header(conn, "sku", h.sku, sizeof(h.sku), MHD_GET_ARGUMENT_KIND);

	pthread_mutex_lock(&srv.lock);
	h.n = ++srv.hits;
	if (h.n <= MAX_HITS)
		srv.log[h.n - 1] = h;
	script = srv.script;
	pthread_mutex_unlock(&srv.lock);

	memset(&rep, 0, sizeof(rep));
	rep.status = 200;
	snprintf(rep.body, sizeof(rep.body), "{\"offers\":[],\"total\":0}");
	if (script)
		script(&h, &rep);
	if (rep.delay_ms)
		timeutil_sleep_ms(rep.delay_ms);

	/* Counted out before the answer leaves, so that a client which sees
	 * the answer and starts another request never overlaps in here. */
	pthread_mutex_lock(&srv.lock);
	srv.inflight--;
	pthread_mutex_unlock(&srv.lock);

	switch (rep.mode) {
	case REPLY_DROP:
		return MHD_NO;
	case REPLY_TRUNCATE:
		resp = MHD_create_response_from_callback(100, 64, truncated_reader, NULL, NULL);
		break;
	case REPLY_STREAM: {
		static struct stream s;

		s.len = rep.stream_len;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, &s,
							 NULL);
		break;
	}
	case REPLY_NORMAL:
	default:
		resp = MHD_create_response_from_buffer(strlen(rep.body), rep.body,
						       MHD_RESPMEM_MUST_COPY);
		break;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (rep.retry_after)
		MHD_add_response_header(resp, "Retry-After", rep.retry_after);
	ret = MHD_queue_response(conn, (unsigned)rep.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void server_start(void)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	assert_non_null(srv.d);
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = info->port;
	snprintf(srv.base, sizeof(srv.base), "http://127.0.0.1:%d", srv.port);
}

static void server_reset(script_fn script)
{
	pthread_mutex_lock(&srv.lock);
	srv.script = script;
	srv.hits = 0;
	srv.inflight = 0;
	srv.max_inflight = 0;
	memset(srv.log, 0, sizeof(srv.log));
	pthread_mutex_unlock(&srv.lock);
}

static int server_hits(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.hits;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static int group_setup(void **state)
{
	(void)state;
	server_start();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.d);
	return 0;
}

/* ---- a raw server that resets connections ---- */

struct rawsrv {
	int fd;
	int port;
	int resets;	      /* connections to reset before answering */
	_Atomic int accepted; /* connections seen */
	_Atomic int stop;
	pthread_t th;
};

static void *raw_thread(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}";
	struct rawsrv *r = arg;

	while (!r->stop) {
		struct pollfd pfd = {r->fd, POLLIN, 0};
		char req[4096];
		size_t got = 0;
		ssize_t n;
		int cfd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		cfd = accept(r->fd, NULL, NULL);
		if (cfd < 0)
			continue;
		/* Read the request head so the reset comes after it. */
		while (got < sizeof(req) - 1 &&
		       (n = recv(cfd, req + got, sizeof(req) - 1 - got, 0)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (r->accepted++ < r->resets) {
			struct linger lg = {1, 0};

			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		} else {
			n = send(cfd, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
			(void)n;
		}
		close(cfd);
	}
	return NULL;
}

static void raw_start(struct rawsrv *r, int resets)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(r, 0, sizeof(*r));
	r->resets = resets;
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(r->fd, 16), 0);
	getsockname(r->fd, (struct sockaddr *)&sa, &len);
	r->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&r->th, NULL, raw_thread, r), 0);
}

static void raw_stop(struct rawsrv *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
}

/* A loopback port that refuses connections: bound (so that no other
 * process of a parallel test run can take it) but not listening. The
 * caller closes *fd. */
static int dead_port(int *fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(*fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

/* ---- the client side: token source, log and outcomes ---- */

struct tok {
	const char *initial;
	const char *refreshed;
	int fail_initial;
	int fail_refresh;
	int calls;
	int refreshes;
};

static enum error tok_fn(void *ctx, int refresh, char **token, struct buf *why)
{
	struct tok *t = ctx;

	t->calls++;
	if (refresh) {
		t->refreshes++;
		if (t->fail_refresh) {
			buf_adds(why, "refresh token revoked (invalid_grant)");
			return ERR_AUTH;
		}
		*token = xstrdup(t->refreshed);
		return ERR_OK;
	}
	if (t->fail_initial) {
		buf_adds(why, "no token file");
		return ERR_AUTH;
	}
	*token = xstrdup(t->initial);
	return ERR_OK;
}

#define MAX_LOG 1024

struct logrec {
	char event[48];
	char path[300];
	char label[64];
	char message[512];
	long status;
	long error_id;
	int attempt;
	long long retry_in_ms;
};

static struct logrec logs[MAX_LOG];
static int n_logs;

static void log_fn(void *ctx, const struct ebay_log_entry *e)
{
	struct logrec *l;

	(void)ctx;
	if (n_logs >= MAX_LOG)
		return;
	l = &logs[n_logs++];
	snprintf(l->event, sizeof(l->event), "%s", e->event);
	snprintf(l->path, sizeof(l->path), "%s", e->path);
	snprintf(l->label, sizeof(l->label), "%s", e->label ? e->label : "");
	snprintf(l->message, sizeof(l->message), "%s", e->message ? e->message : "");
	l->status = e->status;
	l->error_id = e->error_id;
	l->attempt = e->attempt;
	l->retry_in_ms = e->retry_in_ms;
}

static int count_logs(const char *event)
{
	int i, n = 0;

	for (i = 0; i < n_logs; i++)
		n += !strcmp(logs[i].event, event);
	return n;
}

static const struct logrec *find_log(const char *event, int nth)
{
	int i;

	for (i = 0; i < n_logs; i++)
		if (!strcmp(logs[i].event, event) && nth-- == 0)
			return &logs[i];
	return NULL;
}

struct outcome {
	int called;
	enum error err;
	long status;
	long error_id;
	int attempts;
	char message[512];
	json_t *json;
};

static void outcome_done(void *ctx, const struct ebay_response *r)
{
	struct outcome *o = ctx;

	o->called++;
	o->err = r->err;
	o->status = r->status;
	o->error_id = r->error_id;
	o->attempts = r->attempts;
	snprintf(o->message, sizeof(o->message), "%s", r->message);
	if (r->json)
		o->json = json_incref(r->json);
}

static void outcome_release(struct outcome *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(o[i].json);
}

static struct ebay_config test_config(void)
{
	struct ebay_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.api_base = srv.base;
	cfg.marketplace_id = "EBAY_DE";
	cfg.connect_timeout_ms = 2000;
	cfg.request_timeout_ms = 3000;
	cfg.max_attempts = 4;
	cfg.backoff_base_ms = 10;
	cfg.backoff_max_ms = 40;
	cfg.concurrency = 4;
	cfg.max_rps = 1000;
	return cfg;
}

static struct tok plain_token = {"tok-secret-1", "tok-secret-2", 0, 0, 0, 0};

static struct ebay_client *client_new(const struct ebay_config *cfg, struct pacer *p, struct tok *t)
{
	n_logs = 0;
	return ebay_client_new(cfg, p, tok_fn, t ? t : &plain_token, log_fn, NULL);
}

/* Polls until nothing is pending, failing the test after max_ms. */
static void drain(struct ebay_client *c, long long max_ms)
{
	long long end = timeutil_mono_ms() + max_ms;

	while (ebay_pending(c) && timeutil_mono_ms() < end)
		assert_int_equal(ebay_poll(c, 100), ERR_OK);
	assert_int_equal(ebay_pending(c), 0);
}

/* GET one URL through the queue; returns the outcome. */
static struct outcome get_one(struct ebay_client *c, const char *url)
{
	struct outcome o;

	memset(&o, 0, sizeof(o));
	assert_int_equal(ebay_submit(c, EBAY_REQ_OFFERS, url, "SKU-1", outcome_done, &o), ERR_OK);
	drain(c, 10000);
	assert_int_equal(o.called, 1);
	return o;
}

static char *offers_url(const char *sku)
{
	struct ebay_config cfg = test_config();

	return ebay_offers_url(&cfg, sku, 100);
}

/* ---- URLs ---- */

static void test_urls(void **state)
{
	struct ebay_config cfg;
	char *u;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	u = ebay_inventory_url(&cfg, 200, 0);
	assert_string_equal(
	    u, "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=200&offset=0");
	free(u);
	u = ebay_inventory_url(NULL, 25, 400);
	assert_string_equal(
	    u, "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=25&offset=400");
	free(u);
	cfg.api_base = "https://api.sandbox.ebay.com//";
	u = ebay_offers_url(&cfg, "ABC-123", 100);
	assert_string_equal(
	    u, "https://api.sandbox.ebay.com/sell/inventory/v1/offer?sku=ABC-123&limit=100");
	free(u);
	u = ebay_offers_url(&cfg, "a b/c#d%e+f?g&h=i\"j'k", 50);
	assert_string_equal(u, "https://api.sandbox.ebay.com/sell/inventory/v1/offer?sku="
			       "a%20b%2Fc%23d%25e%2Bf%3Fg%26h%3Di%22j%27k&limit=50");
	free(u);
	u = ebay_offers_url(&cfg, "Größe", 1);
	assert_string_equal(u, "https://api.sandbox.ebay.com/sell/inventory/v1/offer?sku="
			       "Gr%C3%B6%C3%9Fe&limit=1");
	free(u);
}

/* ---- one request, headers and log ---- */

static void script_ok(const struct hit *h, struct reply *r)
{
	(void)h;
	snprintf(r->body, sizeof(r->body), "{\"offers\":[{\"offerId\":\"1\"}],\"total\":1}");
}

/* The token source is asked again after token_recheck_ms: a source that
 * mints tokens replaces one before eBay refuses it, with no refresh. */
static void test_token_source_asked_again(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {.initial = "tok-first", .refreshed = "tok-never"};
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("SKU-1");

	(void)state;
	cfg.token_recheck_ms = 100;
	server_reset(script_ok);
	c = client_new(&cfg, NULL, &t);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	outcome_release(&o, 1);
	t.initial = "tok-rotated";
	o = get_one(c, url); /* within 100 ms: the cached token */
	outcome_release(&o, 1);
	timeutil_sleep_ms(150);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	outcome_release(&o, 1);
	assert_int_equal(server_hits(), 3);
	assert_string_equal(srv.log[0].auth, "Bearer tok-first");
	assert_string_equal(srv.log[1].auth, "Bearer tok-first");
	assert_string_equal(srv.log[2].auth, "Bearer tok-rotated");
	assert_int_equal(t.refreshes, 0);
	ebay_client_free(c);
	free(url);
}

static void test_success_sends_headers_and_logs(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("SKU-1");
	int i;

	(void)state;
	server_reset(script_ok);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.attempts, 1);
	assert_string_equal(o.message, "");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(o.json, "offers"), 0), "offerId")),
			    "1");
	assert_int_equal(server_hits(), 1);
	assert_string_equal(srv.log[0].auth, "Bearer tok-secret-1");
	assert_string_equal(srv.log[0].market, "EBAY_DE");
	assert_string_equal(srv.log[0].accept, "application/json");
	assert_string_equal(srv.log[0].ctype, "application/json");
	assert_non_null(strstr(srv.log[0].accept_enc, "gzip"));
	assert_string_equal(srv.log[0].sku, "SKU-1");

	assert_int_equal(n_logs, 2);
	assert_string_equal(logs[0].event, "fetch_offers_request");
	assert_string_equal(logs[0].path, "/sell/inventory/v1/offer?sku=SKU-1&limit=100");
	assert_string_equal(logs[0].label, "SKU-1");
	assert_int_equal(logs[0].attempt, 1);
	assert_int_equal(logs[0].status, 0);
	assert_string_equal(logs[1].event, "fetch_offers_success");
	assert_int_equal(logs[1].status, 200);
	assert_int_equal(logs[1].retry_in_ms, -1);
	assert_string_equal(logs[1].message, "");
	for (i = 0; i < n_logs; i++) {
		assert_null(strstr(logs[i].path, "tok-secret"));
		assert_null(strstr(logs[i].message, "tok-secret"));
		assert_null(strstr(logs[i].path, "127.0.0.1"));
	}
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void test_inventory_kind_logs_its_events(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct ebay_response r;
	char *url;

	(void)state;
	server_reset(NULL);
	c = client_new(&cfg, NULL, NULL);
	url = ebay_inventory_url(&cfg, 200, 0);
	assert_int_equal(ebay_get(c, EBAY_REQ_INVENTORY, url, "page 1", &r), ERR_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_int_equal(count_logs("fetch_inventory_items_request"), 1);
	assert_int_equal(count_logs("fetch_inventory_items_success"), 1);
	assert_string_equal(logs[0].path, "/sell/inventory/v1/inventory_item?limit=200&offset=0");
	ebay_response_release(&r);
	assert_null(r.json);
	ebay_client_free(c);
	free(url);
}

/* ---- retries ---- */

static void script_25001_twice(const struct hit *h, struct reply *r)
{
	if (h->n <= 2) {
		r->status = 500;
		snprintf(r->body, sizeof(r->body),
			 "{\"errors\":[{\"errorId\":25001,\"domain\":\"API_INVENTORY\","
			 "\"category\":\"APPLICATION\",\"message\":\"A system error has "
			 "occurred.\"}]}");
	}
}

static void test_retries_500_25001(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	long long retries = metrics_get(METRIC_EBAY_RETRIES);
	char *url = offers_url("A");
	const struct logrec *l;

	(void)state;
	server_reset(script_25001_twice);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 3);
	assert_int_equal(server_hits(), 3);
	assert_int_equal(metrics_get(METRIC_EBAY_RETRIES) - retries, 2);
	assert_int_equal(count_logs("fetch_offers_request"), 3);
	assert_int_equal(count_logs("fetch_offers_retry"), 2);
	assert_int_equal(count_logs("fetch_offers_success"), 1);
	assert_int_equal(count_logs("fetch_offers_failed"), 0);
	l = find_log("fetch_offers_retry", 0);
	assert_int_equal(l->status, 500);
	assert_int_equal(l->error_id, 25001);
	assert_int_equal(l->attempt, 1);
	assert_string_equal(l->message, "A system error has occurred.");
	/* Full jitter: between 0 and the ceiling of each retry. */
	assert_true(l->retry_in_ms >= 0 && l->retry_in_ms <= 10);
	l = find_log("fetch_offers_retry", 1);
	assert_int_equal(l->attempt, 2);
	assert_true(l->retry_in_ms >= 0 && l->retry_in_ms <= 20);
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_25025_on_400(const struct hit *h, struct reply *r)
{
	if (h->n == 1) {
		r->status = 400;
		snprintf(r->body, sizeof(r->body),
			 "{\"errors\":[{\"errorId\":\"25025\",\"message\":\"Concurrent access of "
			 "the same resource. Please try again later.\"}]}");
	}
}

static void test_retries_25025_whatever_the_status(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_25025_on_400);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(find_log("fetch_offers_retry", 0)->status, 400);
	assert_int_equal(find_log("fetch_offers_retry", 0)->error_id, 25025);
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_503(const struct hit *h, struct reply *r)
{
	(void)h;
	r->status = 503;
	snprintf(r->body, sizeof(r->body), "<html>Service Unavailable</html>");
}

static void test_gives_up_after_max_attempts(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");
	const struct logrec *l;

	(void)state;
	server_reset(script_503);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_EBAY);
	assert_int_equal(o.status, 503);
	assert_int_equal(o.attempts, 4);
	assert_int_equal(server_hits(), 4);
	assert_string_equal(o.message, "<html>Service Unavailable</html>");
	assert_int_equal(count_logs("fetch_offers_retry"), 3);
	assert_int_equal(count_logs("fetch_offers_failed"), 1);
	l = find_log("fetch_offers_failed", 0);
	assert_int_equal(l->attempt, 4);
	assert_int_equal(l->status, 503);
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_429_retry_after_1(const struct hit *h, struct reply *r)
{
	if (h->n == 1) {
		r->status = 429;
		r->retry_after = "1";
		snprintf(r->body, sizeof(r->body),
			 "{\"errors\":[{\"errorId\":2001,\"message\":\"Too many requests\"}]}");
	}
}

static void test_429_honours_retry_after_and_throttles(void **state)
{
	struct ebay_config cfg = test_config();
	struct pacer *p = pacer_new(1000, 1);
	struct ebay_client *c;
	struct outcome o;
	long long throttled = metrics_get(METRIC_EBAY_THROTTLED);
	char *url = offers_url("A");

	(void)state;
	cfg.backoff_max_ms = 5000;
	server_reset(script_429_retry_after_1);
	c = client_new(&cfg, p, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(find_log("fetch_offers_retry", 0)->retry_in_ms, 1000);
	assert_int_equal(find_log("fetch_offers_retry", 0)->status, 429);
	assert_int_equal(find_log("fetch_offers_retry", 0)->error_id, 2001);
	/* The server saw the second attempt a second after the first. */
	assert_true(srv.log[1].at_ms - srv.log[0].at_ms >= 990);
	assert_true(srv.log[1].at_ms - srv.log[0].at_ms < 2000);
	assert_int_equal(metrics_get(METRIC_EBAY_THROTTLED) - throttled, 1);
	assert_true(pacer_rate(p) > 499 && pacer_rate(p) < 501);
	outcome_release(&o, 1);
	ebay_client_free(c);
	pacer_free(p);
	free(url);
}

static void script_429_huge_retry_after(const struct hit *h, struct reply *r)
{
	if (h->n == 1) {
		r->status = 429;
		r->retry_after = "120";
	}
}

static void test_retry_after_is_capped(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");
	long long t0 = timeutil_mono_ms();

	(void)state;
	server_reset(script_429_huge_retry_after);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(find_log("fetch_offers_retry", 0)->retry_in_ms, 40);
	assert_true(timeutil_mono_ms() - t0 < 1000);
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_429_twice_bare(const struct hit *h, struct reply *r)
{
	if (h->n <= 2) {
		r->status = 429;
		r->body[0] = '\0';
	}
}

static void test_429_without_retry_after_backs_off(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_429_twice_bare);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 3);
	assert_true(find_log("fetch_offers_retry", 0)->retry_in_ms <= 10);
	assert_true(find_log("fetch_offers_retry", 1)->retry_in_ms <= 20);
	assert_string_equal(find_log("fetch_offers_retry", 0)->message,
			    "HTTP 429 with no error message");
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_404(const struct hit *h, struct reply *r)
{
	r->status = 404;
	snprintf(r->body, sizeof(r->body),
		 "{\"errors\":[{\"errorId\":25702,\"domain\":\"API_INVENTORY\",\"message\":\"SKU "
		 "%s is not available in the system\"}]}",
		 h->sku);
}

static void test_404_is_final_with_ebay_error(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("GONE-1");

	(void)state;
	server_reset(script_404);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_EBAY);
	assert_int_equal(o.status, 404);
	assert_int_equal(o.error_id, 25702);
	assert_int_equal(o.attempts, 1);
	assert_null(o.json);
	assert_string_equal(o.message, "SKU GONE-1 is not available in the system");
	assert_int_equal(server_hits(), 1);
	assert_int_equal(count_logs("fetch_offers_failed"), 1);
	assert_int_equal(find_log("fetch_offers_failed", 0)->error_id, 25702);
	assert_int_equal(find_log("fetch_offers_failed", 0)->status, 404);
	ebay_client_free(c);
	free(url);
}

/* ---- tokens ---- */

/* Accepts only "Bearer tok-new"; refuses others with status/errorId. */
static void refuse_old_token(const struct hit *h, struct reply *r, int status, int error_id)
{
	if (strcmp(h->auth, "Bearer tok-new")) {
		r->status = status;
		snprintf(r->body, sizeof(r->body),
			 "{\"errors\":[{\"errorId\":%d,\"message\":\"Invalid access token\"}]}",
			 error_id);
	}
	r->delay_ms = 20;
}

static void script_401_1001(const struct hit *h, struct reply *r)
{
	refuse_old_token(h, r, 401, 1001);
}

static void script_403_1100(const struct hit *h, struct reply *r)
{
	refuse_old_token(h, r, 403, 1100);
}

static void test_401_refreshes_once_under_concurrency(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {"tok-old", "tok-new", 0, 0, 0, 0};
	struct outcome o[20];
	struct ebay_client *c;
	char *url = offers_url("A");
	int i, refused = 0;

	(void)state;
	cfg.concurrency = 8;
	memset(o, 0, sizeof(o));
	server_reset(script_401_1001);
	c = client_new(&cfg, NULL, &t);
	for (i = 0; i < 20; i++)
		assert_int_equal(ebay_submit(c, EBAY_REQ_OFFERS, url, "A", outcome_done, &o[i]),
				 ERR_OK);
	drain(c, 10000);
	for (i = 0; i < 20; i++) {
		assert_int_equal(o[i].called, 1);
		assert_int_equal(o[i].err, ERR_OK);
		assert_true(o[i].attempts == 1 || o[i].attempts == 2);
	}
	assert_int_equal(t.refreshes, 1);
	for (i = 0; i < server_hits(); i++)
		refused += strcmp(srv.log[i].auth, "Bearer tok-new") != 0;
	/* Every request that met the old token was in flight with it. */
	assert_true(refused >= 1 && refused <= 8);
	assert_int_equal(server_hits(), 20 + refused);
	assert_int_equal(count_logs("fetch_offers_retry"), refused);
	assert_int_equal(find_log("fetch_offers_retry", 0)->retry_in_ms, 0);
	assert_int_equal(find_log("fetch_offers_retry", 0)->status, 401);
	outcome_release(o, 20);
	ebay_client_free(c);
	free(url);
}

static void test_403_1100_refreshes(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {"tok-old", "tok-new", 0, 0, 0, 0};
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_403_1100);
	c = client_new(&cfg, NULL, &t);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(t.refreshes, 1);
	assert_string_equal(srv.log[1].auth, "Bearer tok-new");
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_403_other(const struct hit *h, struct reply *r)
{
	(void)h;
	r->status = 403;
	snprintf(r->body, sizeof(r->body),
		 "{\"errors\":[{\"errorId\":25001000,\"message\":\"Access denied\"}]}");
}

static void test_403_other_error_is_final(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {"tok-old", "tok-new", 0, 0, 0, 0};
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_403_other);
	c = client_new(&cfg, NULL, &t);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_EBAY);
	assert_int_equal(o.status, 403);
	assert_int_equal(o.error_id, 25001000);
	assert_int_equal(o.attempts, 1);
	assert_int_equal(t.refreshes, 0);
	ebay_client_free(c);
	free(url);
}

static void test_second_refusal_after_refresh_is_auth_error(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {"tok-old", "tok-also-bad", 0, 0, 0, 0};
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_401_1001);
	c = client_new(&cfg, NULL, &t);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_AUTH);
	assert_int_equal(o.status, 401);
	assert_int_equal(o.error_id, 1001);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(t.refreshes, 1);
	assert_string_equal(o.message, "eBay refused the access token again after a refresh: "
				       "Invalid access token");
	assert_int_equal(count_logs("fetch_offers_failed"), 1);
	ebay_client_free(c);
	free(url);
}

static void test_failed_refresh_is_not_retried(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {"tok-old", NULL, 0, 1, 0, 0};
	struct outcome o[6];
	struct ebay_client *c;
	char *url = offers_url("A");
	int i;

	(void)state;
	memset(o, 0, sizeof(o));
	server_reset(script_401_1001);
	c = client_new(&cfg, NULL, &t);
	for (i = 0; i < 6; i++)
		ebay_submit(c, EBAY_REQ_OFFERS, url, "A", outcome_done, &o[i]);
	drain(c, 10000);
	for (i = 0; i < 6; i++) {
		assert_int_equal(o[i].err, ERR_AUTH);
		assert_string_equal(o[i].message, "cannot refresh the eBay access token: refresh "
						  "token revoked (invalid_grant)");
	}
	assert_int_equal(t.refreshes, 1);
	ebay_client_free(c);
	free(url);
}

static void test_no_token_fails_without_a_call(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {NULL, NULL, 1, 0, 0, 0};
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(NULL);
	c = client_new(&cfg, NULL, &t);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_AUTH);
	assert_int_equal(o.attempts, 0);
	assert_string_equal(o.message, "no eBay access token: no token file");
	assert_int_equal(server_hits(), 0);
	ebay_client_free(c);
	free(url);
}

static void test_token_with_newline_is_refused(void **state)
{
	struct ebay_config cfg = test_config();
	struct tok t = {"tok\r\nX-Injected: 1", NULL, 0, 0, 0, 0};
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(NULL);
	c = client_new(&cfg, NULL, &t);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_AUTH);
	assert_string_equal(o.message,
			    "no eBay access token: the token has a space or control character");
	assert_int_equal(server_hits(), 0);
	ebay_client_free(c);
	free(url);
}

/* ---- broken answers and transports ---- */

static void script_malformed_once(const struct hit *h, struct reply *r)
{
	if (h->n == 1)
		snprintf(r->body, sizeof(r->body), "{\"offers\": [{\"offerId\": \"1\"");
}

static void test_malformed_json_is_retried(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_malformed_once);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 2);
	assert_non_null(
	    strstr(find_log("fetch_offers_retry", 0)->message, "malformed JSON in a 200 response"));
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_always_malformed(const struct hit *h, struct reply *r)
{
	(void)h;
	snprintf(r->body, sizeof(r->body), "not json");
}

static void test_malformed_json_gives_parse_error(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	cfg.max_attempts = 2;
	server_reset(script_always_malformed);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_PARSE);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.attempts, 2);
	assert_null(o.json);
	ebay_client_free(c);
	free(url);
}

static void script_truncated_once(const struct hit *h, struct reply *r)
{
	if (h->n == 1)
		r->mode = REPLY_TRUNCATE;
}

static void test_truncated_body_is_retried(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_truncated_once);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(find_log("fetch_offers_retry", 0)->status, 0);
	assert_true(find_log("fetch_offers_retry", 0)->message[0] != '\0');
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_drop_twice(const struct hit *h, struct reply *r)
{
	if (h->n <= 2)
		r->mode = REPLY_DROP;
}

static void test_dropped_connection_is_retried(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	(void)state;
	server_reset(script_drop_twice);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 3);
	assert_int_equal(count_logs("fetch_offers_retry"), 2);
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void test_tcp_reset_is_retried(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct rawsrv raw;
	struct outcome o;
	char base[64];
	char *url;

	(void)state;
	raw_start(&raw, 2);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", raw.port);
	cfg.api_base = base;
	c = client_new(&cfg, NULL, NULL);
	url = ebay_offers_url(&cfg, "A", 10);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 3);
	assert_int_equal(raw.accepted, 3);
	assert_true(json_is_true(json_object_get(o.json, "ok")));
	assert_int_equal(find_log("fetch_offers_retry", 0)->status, 0);
	outcome_release(&o, 1);
	ebay_client_free(c);
	raw_stop(&raw);
	free(url);
}

static void test_connection_refused_exhausts_attempts(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char base[64];
	char *url;
	int fd;

	(void)state;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", dead_port(&fd));
	cfg.api_base = base;
	cfg.max_attempts = 3;
	c = client_new(&cfg, NULL, NULL);
	url = ebay_offers_url(&cfg, "A", 10);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_HTTP);
	assert_int_equal(o.status, 0);
	assert_int_equal(o.attempts, 3);
	assert_true(o.message[0] != '\0');
	assert_int_equal(count_logs("fetch_offers_retry"), 2);
	assert_int_equal(count_logs("fetch_offers_failed"), 1);
	ebay_client_free(c);
	close(fd);
	free(url);
}

static void script_stall_once(const struct hit *h, struct reply *r)
{
	if (h->n == 1)
		r->delay_ms = 700;
}

static void test_stall_times_out_and_retries(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");
	const struct logrec *l;

	(void)state;
	cfg.request_timeout_ms = 250;
	server_reset(script_stall_once);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_OK);
	assert_int_equal(o.attempts, 2);
	l = find_log("fetch_offers_retry", 0);
	assert_non_null(strstr(l->message, "timed out"));
	outcome_release(&o, 1);
	ebay_client_free(c);
	free(url);
}

static void script_big_body(const struct hit *h, struct reply *r)
{
	(void)h;
	memset(r->body, ' ', 4096);
	r->body[0] = '{';
	r->body[4094] = '}';
	r->body[4095] = '\0';
}

static void script_big_stream(const struct hit *h, struct reply *r)
{
	(void)h;
	r->mode = REPLY_STREAM;
	r->stream_len = 1 << 20;
}

static void oversize(script_fn script)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o;
	char *url = offers_url("A");

	cfg.max_body = 1024;
	server_reset(script);
	c = client_new(&cfg, NULL, NULL);
	o = get_one(c, url);
	assert_int_equal(o.err, ERR_TOOBIG);
	assert_int_equal(o.attempts, 1);
	assert_int_equal(server_hits(), 1);
	assert_string_equal(o.message, "response body larger than the cap of 1024 bytes");
	ebay_client_free(c);
	free(url);
}

static void test_oversize_body_is_not_retried(void **state)
{
	(void)state;
	oversize(script_big_body);   /* Content-Length says so up front */
	oversize(script_big_stream); /* only the running count can tell */
}

/* ---- concurrency and pacing ---- */

static void script_slow(const struct hit *h, struct reply *r)
{
	(void)h;
	r->delay_ms = 40;
}

/* The most transfers the client's own log shows at once. */
static int max_in_flight_logged(void)
{
	int i, now = 0, most = 0;

	for (i = 0; i < n_logs; i++) {
		if (strstr(logs[i].event, "_request"))
			now++;
		else
			now--;
		most = now > most ? now : most;
	}
	return most;
}

static void test_concurrency_never_exceeds_limit(void **state)
{
	struct ebay_config cfg = test_config();
	struct outcome o[40];
	struct ebay_client *c;
	char *url = offers_url("A");
	int i;

	(void)state;
	memset(o, 0, sizeof(o));
	server_reset(script_slow);
	c = client_new(&cfg, NULL, NULL);
	for (i = 0; i < 40; i++)
		ebay_submit(c, EBAY_REQ_OFFERS, url, "A", outcome_done, &o[i]);
	assert_int_equal(ebay_pending(c), 40);
	drain(c, 10000);
	for (i = 0; i < 40; i++)
		assert_int_equal(o[i].err, ERR_OK);
	assert_int_equal(server_hits(), 40);
	assert_true(srv.max_inflight <= 4);
	/* And it did use the slots it has. */
	assert_int_equal(srv.max_inflight, 4);
	assert_int_equal(max_in_flight_logged(), 4);
	outcome_release(o, 40);
	ebay_client_free(c);
	free(url);
}

static void test_pacing_holds_max_rps(void **state)
{
	struct ebay_config cfg = test_config();
	struct outcome o[25];
	struct ebay_client *c;
	char *url = offers_url("A");
	long long span;
	int i, j, most = 0;

	(void)state;
	cfg.max_rps = 20;
	cfg.concurrency = 8;
	memset(o, 0, sizeof(o));
	server_reset(NULL);
	c = client_new(&cfg, NULL, NULL);
	for (i = 0; i < 25; i++)
		ebay_submit(c, EBAY_REQ_OFFERS, url, "A", outcome_done, &o[i]);
	drain(c, 10000);
	assert_int_equal(server_hits(), 25);
	/* 25 requests at 20/s with a burst of two: 23 gaps of 50 ms. */
	span = srv.log[24].at_ms - srv.log[0].at_ms;
	if (span < 1050 || span > 1800)
		fail_msg("25 requests at 20/s took %lld ms", span);
	/* No 500 ms window holds more than the burst and 10 more. */
	for (i = 0; i < 25; i++) {
		int n = 0;

		for (j = i; j < 25 && srv.log[j].at_ms - srv.log[i].at_ms < 500; j++)
			n++;
		most = n > most ? n : most;
	}
	assert_true(most <= 12);
	outcome_release(o, 25);
	ebay_client_free(c);
	free(url);
}

static void test_high_max_rps_is_not_capped_by_the_clock(void **state)
{
	static struct outcome o[1500];
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	char *url = offers_url("A");
	long long t0, took;
	int i;

	(void)state;
	cfg.max_rps = 20000;
	cfg.concurrency = 8;
	memset(o, 0, sizeof(o));
	server_reset(NULL);
	c = client_new(&cfg, NULL, NULL);
	for (i = 0; i < 1500; i++)
		ebay_submit(c, EBAY_REQ_OFFERS, url, "A", outcome_done, &o[i]);
	t0 = timeutil_mono_ms();
	drain(c, 10000);
	took = timeutil_mono_ms() - t0;
	for (i = 0; i < 1500; i++)
		assert_int_equal(o[i].err, ERR_OK);
	assert_int_equal(server_hits(), 1500);
	/* One request per millisecond would take 1500 ms. */
	if (took >= 1200)
		fail_msg("1500 requests at max_rps 20000 took %lld ms", took);
	outcome_release(o, 1500);
	ebay_client_free(c);
	free(url);
}

/* ---- hostile SKUs ---- */

static void script_echo_sku(const struct hit *h, struct reply *r)
{
	json_t *o = json_pack("{s:s, s:b}", "sku", h->sku, "has", h->has_sku);
	char *s = json_dumps(o, 0);

	snprintf(r->body, sizeof(r->body), "%s", s ? s : "{}");
	free(s);
	json_decref(o);
}

static void test_hostile_skus_round_trip(void **state)
{
	static const char *const skus[] = {
	    "plain",	  "with space",	 "a/b/c",	"hash#tag",  "100%",
	    "%41%42",	  "a+b",	 "what?",	"a&b=c",     "\"quoted\"",
	    "'single'",	  "Größe-ü",	 "日本-SKU",	"..",	     "../../etc",
	    "semi;colon", "back\\slash", "tab\tinside", "  edges  ", "~tilde_-.",
	};
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	size_t i;

	(void)state;
	server_reset(script_echo_sku);
	c = client_new(&cfg, NULL, NULL);
	for (i = 0; i < sizeof(skus) / sizeof(skus[0]); i++) {
		char *url = ebay_offers_url(&cfg, skus[i], 100);
		struct ebay_response r;

		assert_int_equal(ebay_get(c, EBAY_REQ_OFFERS, url, skus[i], &r), ERR_OK);
		assert_true(json_is_true(json_object_get(r.json, "has")));
		if (strcmp(json_string_value(json_object_get(r.json, "sku")), skus[i]))
			fail_msg("sku '%s' arrived as '%s' (url %s)", skus[i],
				 json_string_value(json_object_get(r.json, "sku")), url);
		ebay_response_release(&r);
		free(url);
	}
	assert_int_equal(server_hits(), (int)(sizeof(skus) / sizeof(skus[0])));
	ebay_client_free(c);
}

/* ---- re-entrancy, cancellation, free with pending work ---- */

struct chain {
	struct ebay_client *c;
	char *url;
	int done;
	int left;
	enum error last;
};

static void chain_done(void *ctx, const struct ebay_response *r)
{
	struct chain *ch = ctx;

	ch->done++;
	ch->last = r->err;
	if (r->err == ERR_OK && ch->left > 0) {
		ch->left--;
		assert_int_equal(
		    ebay_submit(ch->c, EBAY_REQ_OFFERS, ch->url, "next", chain_done, ch), ERR_OK);
	}
}

static void test_callback_submits_next(void **state)
{
	struct ebay_config cfg = test_config();
	struct chain ch;

	(void)state;
	server_reset(NULL);
	memset(&ch, 0, sizeof(ch));
	ch.c = client_new(&cfg, NULL, NULL);
	ch.url = offers_url("A");
	ch.left = 9;
	ebay_submit(ch.c, EBAY_REQ_OFFERS, ch.url, "first", chain_done, &ch);
	drain(ch.c, 10000);
	assert_int_equal(ch.done, 10);
	assert_int_equal(ch.last, ERR_OK);
	assert_int_equal(server_hits(), 10);
	ebay_client_free(ch.c);
	free(ch.url);
}

static void test_poll_returns_by_its_deadline_under_load(void **state)
{
	struct ebay_config cfg = test_config();
	struct chain ch[4];
	long long t0, took;
	int i, done = 0;

	(void)state;
	server_reset(NULL);
	memset(ch, 0, sizeof(ch));
	ch[0].c = client_new(&cfg, NULL, NULL);
	ch[0].url = offers_url("A");
	/* Four endless chains: there is always a completion to handle. */
	for (i = 0; i < 4; i++) {
		ch[i].c = ch[0].c;
		ch[i].url = ch[0].url;
		ch[i].left = 1000000;
		ebay_submit(ch[0].c, EBAY_REQ_OFFERS, ch[0].url, "chain", chain_done, &ch[i]);
	}
	t0 = timeutil_mono_ms();
	assert_int_equal(ebay_poll(ch[0].c, 150), ERR_OK);
	took = timeutil_mono_ms() - t0;
	for (i = 0; i < 4; i++)
		done += ch[i].done;
	assert_true(done > 4);
	if (took < 150 || took >= 600)
		fail_msg("ebay_poll(150) returned after %lld ms", took);
	assert_int_equal(ebay_pending(ch[0].c), 4);
	ebay_client_free(ch[0].c);
	free(ch[0].url);
}

struct canceller {
	struct ebay_client *c;
	int seen;
	int cancelled;
	int ok;
};

static void cancel_on_first(void *ctx, const struct ebay_response *r)
{
	struct canceller *k = ctx;

	k->seen++;
	if (r->err == ERR_CANCELLED)
		k->cancelled++;
	if (r->err == ERR_OK) {
		k->ok++;
		if (k->ok == 1)
			ebay_cancel_all(k->c);
	}
}

static void test_cancel_all_from_a_callback(void **state)
{
	struct ebay_config cfg = test_config();
	struct canceller k;
	char *url = offers_url("A");
	int i;

	(void)state;
	cfg.concurrency = 2;
	server_reset(script_slow);
	memset(&k, 0, sizeof(k));
	k.c = client_new(&cfg, NULL, NULL);
	for (i = 0; i < 12; i++)
		ebay_submit(k.c, EBAY_REQ_OFFERS, url, "A", cancel_on_first, &k);
	drain(k.c, 10000);
	assert_int_equal(k.seen, 12);
	assert_true(k.ok >= 1 && k.ok <= 2);
	assert_int_equal(k.cancelled, 12 - k.ok);
	assert_true(server_hits() <= 3);
	ebay_client_free(k.c);
	free(url);
}

struct resubmitter {
	struct ebay_client *c;
	char *url;
	int cancelled;
	int refused;
};

static void resubmit_on_cancel(void *ctx, const struct ebay_response *r)
{
	struct resubmitter *s = ctx;

	if (r->err == ERR_CANCELLED) {
		s->cancelled++;
		/* What the engine does with a request it still wants. */
		if (ebay_submit(s->c, EBAY_REQ_OFFERS, s->url, "again", resubmit_on_cancel, s) ==
		    ERR_CANCELLED)
			s->refused++;
	}
}

static void test_free_with_pending_work(void **state)
{
	struct ebay_config cfg = test_config();
	struct resubmitter s;
	int i;

	(void)state;
	server_reset(script_slow);
	memset(&s, 0, sizeof(s));
	s.c = client_new(&cfg, NULL, NULL);
	s.url = offers_url("A");
	for (i = 0; i < 10; i++)
		ebay_submit(s.c, EBAY_REQ_OFFERS, s.url, "A", resubmit_on_cancel, &s);
	/* Some in flight, some queued. */
	ebay_poll(s.c, 10);
	assert_true(ebay_pending(s.c) == 10);
	ebay_client_free(s.c);
	assert_int_equal(s.cancelled, 10);
	assert_int_equal(s.refused, 10);
	free(s.url);
}

static void test_cancel_all_then_reuse(void **state)
{
	struct ebay_config cfg = test_config();
	struct ebay_client *c;
	struct outcome o[5], again;
	char *url = offers_url("A");
	int i;

	(void)state;
	server_reset(script_slow);
	memset(o, 0, sizeof(o));
	c = client_new(&cfg, NULL, NULL);
	for (i = 0; i < 5; i++)
		ebay_submit(c, EBAY_REQ_OFFERS, url, "A", outcome_done, &o[i]);
	ebay_poll(c, 5);
	ebay_cancel_all(c);
	assert_int_equal(ebay_pending(c), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(o[i].called, 1);
		assert_int_equal(o[i].err, ERR_CANCELLED);
		assert_string_equal(o[i].message, "cancelled");
	}
	/* The client still works afterwards. */
	again = get_one(c, url);
	assert_int_equal(again.err, ERR_OK);
	outcome_release(&again, 1);
	ebay_client_free(c);
	free(url);
}

static void get_inside(void *ctx, const struct ebay_response *r)
{
	struct chain *ch = ctx;
	struct ebay_response inner;

	(void)r;
	ch->last = ebay_get(ch->c, EBAY_REQ_OTHER, ch->url, "inner", &inner);
	ebay_response_release(&inner);
	ch->done++;
}

static void test_poll_edges(void **state)
{
	struct ebay_config cfg = test_config();
	struct chain ch;
	long long t0;

	(void)state;
	server_reset(NULL);
	memset(&ch, 0, sizeof(ch));
	ch.c = client_new(&cfg, NULL, NULL);
	ch.url = offers_url("A");
	/* Nothing pending: returns at once, whatever the timeout. */
	t0 = timeutil_mono_ms();
	assert_int_equal(ebay_poll(ch.c, 5000), ERR_OK);
	assert_true(timeutil_mono_ms() - t0 < 100);
	/* A blocking get from inside a callback is refused, not deadlocked. */
	ebay_submit(ch.c, EBAY_REQ_OFFERS, ch.url, "outer", get_inside, &ch);
	drain(ch.c, 5000);
	assert_int_equal(ch.done, 1);
	assert_int_equal(ch.last, ERR_INTERNAL);
	assert_int_equal(ebay_submit(ch.c, EBAY_REQ_OFFERS, "", "x", NULL, NULL), ERR_INVALID);
	ebay_client_free(ch.c);
	free(ch.url);
}

/* ---- pages, pager and error bodies ---- */

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_parse_page_accepts_both_number_forms(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_page pg;
	json_t *j;

	(void)state;
	j = parse("{\"inventoryItems\":[{\"sku\":\"a\"},{\"sku\":\"b\"}],\"total\":\"5\","
		  "\"limit\":2,\"size\":\"3\",\"next\":\"/x?offset=2\"}");
	assert_int_equal(ebay_parse_page(j, "inventoryItems", &pg, &why), ERR_OK);
	assert_int_equal(json_array_size(pg.records), 2);
	assert_int_equal(pg.total, 5);
	assert_int_equal(pg.limit, 2);
	assert_string_equal(pg.next, "/x?offset=2");
	json_decref(j);

	j = parse("{\"offers\":[],\"total\":7.0,\"limit\":\"100\",\"next\":null}");
	assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_OK);
	assert_int_equal(pg.total, 7);
	assert_int_equal(pg.limit, 100);
	assert_null(pg.next);
	json_decref(j);

	/* Missing array and counts: an empty page of unknown size. */
	j = parse("{\"href\":\"/x\",\"next\":\"\"}");
	assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_OK);
	assert_true(json_is_array(pg.records));
	assert_int_equal(json_array_size(pg.records), 0);
	assert_int_equal(pg.total, -1);
	assert_int_equal(pg.limit, -1);
	assert_null(pg.next);
	json_decref(j);
	buf_release(&why);
}

static void test_parse_page_rejects_wrong_shapes(void **state)
{
	static const struct {
		const char *json, *reason;
	} bad[] = {
	    {"[1,2]", "page is an array, not a JSON object"},
	    {"\"page\"", "page is a string, not a JSON object"},
	    {"{\"offers\":{}}", "page field 'offers' is an object, not an array"},
	    {"{\"offers\":\"none\"}", "page field 'offers' is a string, not an array"},
	    {"{\"offers\":[],\"total\":\"12abc\"}",
	     "page field 'total' is not a whole number: \"12abc\""},
	    {"{\"offers\":[],\"total\":-1}", "page field 'total' is a number, not a whole number"},
	    {"{\"offers\":[],\"total\":\"\"}", "page field 'total' is not a whole number: \"\""},
	    {"{\"offers\":[],\"total\":\"99999999999999999999\"}",
	     "page field 'total' is not a whole number: \"99999999999999999999\""},
	    {"{\"offers\":[],\"next\":5}", "page field 'next' is a number, not a string"},
	};
	struct buf why = BUF_INIT;
	struct ebay_page pg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);

		assert_non_null(j);
		assert_int_equal(ebay_parse_page(j, "offers", &pg, &why), ERR_PARSE);
		if (strcmp(buf_str(&why), bad[i].reason))
			fail_msg("%s: got reason '%s'", bad[i].json, buf_str(&why));
		json_decref(j);
	}
	assert_int_equal(ebay_parse_page(NULL, "offers", &pg, NULL), ERR_PARSE);
	buf_release(&why);
}

#define FIRST "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=2&offset=0"

static struct ebay_page page_of(const char *next, long long total, long long limit)
{
	struct ebay_page pg = {.next = next, .total = total, .limit = limit};

	return pg;
}

static void test_pager_follows_relative_and_absolute(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg;
	char *url;

	(void)state;
	ebay_pager_init(&p, FIRST);
	pg = page_of("/sell/inventory/v1/inventory_item?limit=2&offset=2", 5, 2);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	assert_string_equal(
	    url, "https://api.ebay.com/sell/inventory/v1/inventory_item?limit=2&offset=2");
	free(url);
	pg = page_of("https://API.ebay.com:443/sell/inventory/v1/inventory_item?limit=2&offset=4",
		     5, 2);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	assert_non_null(strstr(url, "offset=4"));
	free(url);
	pg = page_of(NULL, 5, 2);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	assert_null(url);
	assert_int_equal(p.n_seen, 3);
	assert_int_equal(p.max_pages, 5);
	ebay_pager_release(&p);
	buf_release(&why);
}

static void expect_refused(const char *next, const char *reason_part)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg = page_of(next, 100, 2);
	char *url = (char *)"untouched";

	ebay_pager_init(&p, FIRST);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_null(url);
	if (!strstr(buf_str(&why), reason_part))
		fail_msg("next '%s': reason '%s' lacks '%s'", next, buf_str(&why), reason_part);
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_guards(void **state)
{
	(void)state;
	expect_refused(FIRST, "repeats page 1");
	expect_refused("/sell/inventory/v1/inventory_item?limit=2&offset=0", "repeats page 1");
	expect_refused("https://evil.example.com/sell/inventory/v1/inventory_item?offset=2",
		       "leaves https://api.ebay.com:443 for https://evil.example.com:443");
	expect_refused("//evil.example.com/x", "leaves https://api.ebay.com:443");
	expect_refused("https://api.ebay.com:8443/sell/inventory/v1/inventory_item?offset=2",
		       "for https://api.ebay.com:8443");
	expect_refused("http://api.ebay.com/sell/inventory/v1/inventory_item?offset=2",
		       "for http://api.ebay.com:80");
	expect_refused("ftp://api.ebay.com/x", "not a url");
	expect_refused("javascript:alert(1)", "not a url");
	expect_refused("not a url", "not a url");
	expect_refused("sell/inventory/v1/inventory_item?offset=2", "not a url");
	expect_refused("/sell/inventory\r\nX-Injected: 1", "not a url");
	expect_refused("https://", "not an http(s) url");
}

static void test_pager_repeat_of_any_earlier_page(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg;
	char *url;

	(void)state;
	ebay_pager_init(&p, FIRST);
	pg = page_of("/sell/inventory/v1/inventory_item?limit=2&offset=2", -1, -1);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	free(url);
	pg = page_of("/sell/inventory/v1/inventory_item?limit=2&offset=4", -1, -1);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	free(url);
	/* A loop back to page 2, not just to the previous page. */
	pg = page_of("/sell/inventory/v1/inventory_item?limit=2&offset=2", -1, -1);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_null(url);
	assert_non_null(strstr(buf_str(&why), "repeats page 2"));
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_caps_pages_from_total(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg;
	char next[128];
	char *url;
	int i;

	(void)state;
	ebay_pager_init(&p, FIRST);
	/* total 4, limit 2: 2 pages, plus a margin of 2. */
	for (i = 1; i <= 3; i++) {
		snprintf(next, sizeof(next), "/sell/inventory/v1/inventory_item?limit=2&offset=%d",
			 i * 2);
		pg = page_of(next, 4, 2);
		assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
		free(url);
	}
	pg = page_of("/sell/inventory/v1/inventory_item?limit=2&offset=8", 4, 2);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_null(url);
	assert_string_equal(buf_str(&why), "next link would be page 5, past the 4 pages that total "
					   "4 and limit 2 allow");
	ebay_pager_release(&p);

	/* total 0: an empty catalog may still link once or twice, not more. */
	ebay_pager_init(&p, FIRST);
	pg = page_of("/a", 0, 200);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	free(url);
	pg = page_of("/b", 0, 200);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_hard_cap_without_total(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg = page_of("/sell/inventory/v1/inventory_item?offset=last", -1, -1);
	char *url;
	size_t i;

	(void)state;
	ebay_pager_init(&p, FIRST);
	/* Pretend 99,999 more pages were walked. */
	p.seen = xrealloc(p.seen, 100000 * sizeof(*p.seen));
	for (i = 1; i < 100000; i++)
		p.seen[i] = xasprintf("https://api.ebay.com/p%zu", i);
	p.n_seen = 100000;
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_null(url);
	assert_string_equal(buf_str(&why),
			    "next link would be page 100001, past the cap of 100000 pages");
	/* One page fewer, and it goes. */
	free(p.seen[99999]);
	p.n_seen = 99999;
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	free(url);
	ebay_pager_release(&p);
	buf_release(&why);
}

static void test_pager_bad_first_url(void **state)
{
	struct buf why = BUF_INIT;
	struct ebay_pager p;
	struct ebay_page pg = page_of("/x", -1, -1);
	char *url;

	(void)state;
	ebay_pager_init(&p, "nonsense");
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_PARSE);
	assert_non_null(strstr(buf_str(&why), "first page url is not an http(s) url"));
	/* The end of a walk is fine whatever the first URL. */
	pg = page_of(NULL, -1, -1);
	assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
	ebay_pager_release(&p);
	buf_release(&why);
}

/* Pages of 2 from 5 items: relative next, then absolute, then none. */
static void script_pages(const struct hit *h, struct reply *r)
{
	long off = strtol(h->offset, NULL, 10);

	if (off == 0)
		snprintf(r->body, sizeof(r->body),
			 "{\"inventoryItems\":[{\"sku\":\"s1\"},{\"sku\":\"s2\"}],\"total\":\"5\","
			 "\"limit\":\"2\",\"next\":\"/sell/inventory/v1/"
			 "inventory_item?limit=2&offset=2\"}");
	else if (off == 2)
		snprintf(r->body, sizeof(r->body),
			 "{\"inventoryItems\":[{\"sku\":\"s3\"},{\"sku\":\"s4\"}],\"total\":5,"
			 "\"limit\":2,\"next\":\"%s/sell/inventory/v1/"
			 "inventory_item?limit=2&offset=4\"}",
			 srv.base);
	else
		snprintf(r->body, sizeof(r->body),
			 "{\"inventoryItems\":[{\"sku\":\"s5\"}],\"total\":5,\"limit\":2}");
}

static void test_next_links_are_followed(void **state)
{
	struct ebay_config cfg = test_config();
	struct buf why = BUF_INIT, skus = BUF_INIT;
	struct ebay_client *c;
	struct ebay_pager p;
	char *url = ebay_inventory_url(&cfg, 2, 0);
	int pages = 0;

	(void)state;
	server_reset(script_pages);
	c = client_new(&cfg, NULL, NULL);
	ebay_pager_init(&p, url);
	while (url) {
		struct ebay_response r;
		struct ebay_page pg;
		size_t i;
		json_t *item;

		assert_int_equal(ebay_get(c, EBAY_REQ_INVENTORY, url, "page", &r), ERR_OK);
		assert_int_equal(ebay_parse_page(r.json, "inventoryItems", &pg, &why), ERR_OK);
		json_array_foreach(pg.records, i, item)
		    buf_addf(&skus, "%s,", json_string_value(json_object_get(item, "sku")));
		free(url);
		assert_int_equal(ebay_pager_next(&p, &pg, &url, &why), ERR_OK);
		ebay_response_release(&r);
		pages++;
	}
	assert_int_equal(pages, 3);
	assert_string_equal(buf_str(&skus), "s1,s2,s3,s4,s5,");
	assert_string_equal(srv.log[1].offset, "2");
	assert_string_equal(srv.log[2].offset, "4");
	ebay_pager_release(&p);
	buf_release(&why);
	buf_release(&skus);
	ebay_client_free(c);
}

static void test_parse_error_bodies(void **state)
{
	char msg[64];
	const char *b;

	(void)state;
	b = "{\"errors\":[{\"errorId\":25702,\"message\":\"SKU x not found\"},{\"errorId\":1}]}";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 25702);
	assert_string_equal(msg, "SKU x not found");
	b = "{\"errors\":[{\"errorId\":\"1001\",\"longMessage\":\"Invalid access token. "
	    "Check the value of the Authorization HTTP request header.\"}]}";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 1001);
	/* Cut to the buffer, NUL-terminated. */
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	assert_memory_equal(msg, "Invalid access token. Check", 27);
	b = "{\"error\":\"invalid_grant\",\"error_description\":\"the refresh token is revoked\"}";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "the refresh token is revoked");
	b = "<html>\n<body>Bad Gateway</body>\n</html>\n";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "<html> <body>Bad Gateway</body> </html>");
	assert_int_equal(ebay_parse_error("", 0, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	b = "{\"errors\":[]}";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	b = "{\"errors\":[{\"errorId\":-5,\"message\":\"\\u0007bell\"}]}";
	assert_int_equal(ebay_parse_error(b, strlen(b), msg, sizeof(msg)), 0);
	assert_string_equal(msg, " bell");
	assert_int_equal(ebay_parse_error(b, strlen(b), NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_success_sends_headers_and_logs),
	    cmocka_unit_test(test_inventory_kind_logs_its_events),
	    cmocka_unit_test(test_retries_500_25001),
	    cmocka_unit_test(test_retries_25025_whatever_the_status),
	    cmocka_unit_test(test_gives_up_after_max_attempts),
	    cmocka_unit_test(test_429_honours_retry_after_and_throttles),
	    cmocka_unit_test(test_retry_after_is_capped),
	    cmocka_unit_test(test_429_without_retry_after_backs_off),
	    cmocka_unit_test(test_404_is_final_with_ebay_error),
	    cmocka_unit_test(test_401_refreshes_once_under_concurrency),
	    cmocka_unit_test(test_403_1100_refreshes),
	    cmocka_unit_test(test_403_other_error_is_final),
	    cmocka_unit_test(test_second_refusal_after_refresh_is_auth_error),
	    cmocka_unit_test(test_failed_refresh_is_not_retried),
	    cmocka_unit_test(test_no_token_fails_without_a_call),
	    cmocka_unit_test(test_token_with_newline_is_refused),
	    cmocka_unit_test(test_malformed_json_is_retried),
	    cmocka_unit_test(test_malformed_json_gives_parse_error),
	    cmocka_unit_test(test_truncated_body_is_retried),
	    cmocka_unit_test(test_dropped_connection_is_retried),
	    cmocka_unit_test(test_tcp_reset_is_retried),
	    cmocka_unit_test(test_connection_refused_exhausts_attempts),
	    cmocka_unit_test(test_stall_times_out_and_retries),
	    cmocka_unit_test(test_oversize_body_is_not_retried),
	    cmocka_unit_test(test_concurrency_never_exceeds_limit),
	    cmocka_unit_test(test_pacing_holds_max_rps),
	    cmocka_unit_test(test_token_source_asked_again),
	    cmocka_unit_test(test_high_max_rps_is_not_capped_by_the_clock),
	    cmocka_unit_test(test_hostile_skus_round_trip),
	    cmocka_unit_test(test_callback_submits_next),
	    cmocka_unit_test(test_poll_returns_by_its_deadline_under_load),
	    cmocka_unit_test(test_cancel_all_from_a_callback),
	    cmocka_unit_test(test_free_with_pending_work),
	    cmocka_unit_test(test_cancel_all_then_reuse),
	    cmocka_unit_test(test_poll_edges),
	    cmocka_unit_test(test_parse_page_accepts_both_number_forms),
	    cmocka_unit_test(test_parse_page_rejects_wrong_shapes),
	    cmocka_unit_test(test_pager_follows_relative_and_absolute),
	    cmocka_unit_test(test_pager_guards),
	    cmocka_unit_test(test_pager_repeat_of_any_earlier_page),
	    cmocka_unit_test(test_pager_caps_pages_from_total),
	    cmocka_unit_test(test_pager_hard_cap_without_total),
	    cmocka_unit_test(test_pager_bad_first_url),
	    cmocka_unit_test(test_next_links_are_followed),
	    cmocka_unit_test(test_parse_error_bodies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
