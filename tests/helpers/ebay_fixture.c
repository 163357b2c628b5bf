/*
 * The scripted eBay server and the per-test client of the eBay client's
 * tests (see ebay_fixture.h). The server runs a thread per connection so
 * that a slow answer holds back nothing else, and counts a request out of
 * flight before its answer leaves, so a client that sees the answer and
 * starts another request never overlaps with it in the count.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ebay_fixture.h"
#include "metrics.h"
#include "pacer.h"
#include "timeutil.h"
#include "xalloc.h"

static struct server {
	struct MHD_Daemon *d;
	char base[64];
	pthread_mutex_t lock;
	ebay_fixture_script script;
	const struct ebay_fixture_answer *answer;
	int hits;
	int inflight, max_inflight;
	struct ebay_fixture_hit log[EBAY_FIXTURE_HITS_MAX];
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int first_call_marker;

/* ---- the scripted server ---- */

static void copy_value(struct MHD_Connection *conn, const char *name, char *out, size_t size,
		       enum MHD_ValueKind kind)
{
	const char *v = MHD_lookup_connection_value(conn, kind, name);

	snprintf(out, size, "%s", v ? v : "");
}

struct stream {
	size_t len;
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

static void record(struct MHD_Connection *conn, const char *url, struct ebay_fixture_hit *h)
{
	memset(h, 0, sizeof(*h));
	h->at_ms = timeutil_mono_ms();
	snprintf(h->path, sizeof(h->path), "%s", url);
	copy_value(conn, "Authorization", h->auth, sizeof(h->auth), MHD_HEADER_KIND);
	copy_value(conn, "X-EBAY-C-MARKETPLACE-ID", h->market, sizeof(h->market), MHD_HEADER_KIND);
	copy_value(conn, "Accept", h->accept, sizeof(h->accept), MHD_HEADER_KIND);
	copy_value(conn, "Content-Type", h->ctype, sizeof(h->ctype), MHD_HEADER_KIND);
	copy_value(conn, "Accept-Encoding", h->accept_enc, sizeof(h->accept_enc), MHD_HEADER_KIND);
	copy_value(conn, "offset", h->offset, sizeof(h->offset), MHD_GET_ARGUMENT_KIND);
	h->has_sku = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sku") != NULL;
	copy_value(conn, "sku", h->sku, sizeof(h->sku), MHD_GET_ARGUMENT_KIND);
}

static void apply(const struct ebay_fixture_answer *a, struct ebay_fixture_reply *rep)
{
	if (a->status)
		rep->status = a->status;
	if (a->body)
		snprintf(rep->body, sizeof(rep->body), "%s", a->body);
	rep->retry_after = a->retry_after;
	rep->mode = a->mode;
	rep->delay_ms = a->delay_ms;
	rep->stream_len = a->stream_len;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	static struct stream stream;
	struct ebay_fixture_reply rep;
	struct ebay_fixture_hit h;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const struct ebay_fixture_answer *answer;
	ebay_fixture_script script;

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
	record(conn, url, &h);
	pthread_mutex_lock(&srv.lock);
	h.n = ++srv.hits;
	if (h.n <= EBAY_FIXTURE_HITS_MAX)
		srv.log[h.n - 1] = h;
	script = srv.script;
	answer = srv.answer;
	pthread_mutex_unlock(&srv.lock);

	memset(&rep, 0, sizeof(rep));
	rep.status = 200;
	snprintf(rep.body, sizeof(rep.body), "{\"offers\":[],\"total\":0}");
	if (answer && (answer->times == 0 || h.n <= answer->times))
		apply(answer, &rep);
	else if (script)
		script(&h, &rep);
	if (rep.delay_ms)
		timeutil_sleep_ms(rep.delay_ms);

	pthread_mutex_lock(&srv.lock);
	srv.inflight--;
	pthread_mutex_unlock(&srv.lock);

	switch (rep.mode) {
	case EBAY_FIXTURE_DROP:
		return MHD_NO;
	case EBAY_FIXTURE_TRUNCATE:
		resp = MHD_create_response_from_callback(100, 64, truncated_reader, NULL, NULL);
		break;
	case EBAY_FIXTURE_STREAM:
		stream.len = rep.stream_len;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader,
							 &stream, NULL);
		break;
	case EBAY_FIXTURE_NORMAL:
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

int ebay_fixture_group_setup(void **state)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!srv.d)
		return -1;
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(srv.base, sizeof(srv.base), "http://127.0.0.1:%d", info->port);
	return 0;
}

int ebay_fixture_group_teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.d);
	srv.d = NULL;
	return 0;
}

void ebay_fixture_serve(ebay_fixture_script script)
{
	pthread_mutex_lock(&srv.lock);
	srv.script = script;
	srv.answer = NULL;
	srv.hits = 0;
	srv.inflight = 0;
	srv.max_inflight = 0;
	memset(srv.log, 0, sizeof(srv.log));
	pthread_mutex_unlock(&srv.lock);
}

void ebay_fixture_serve_answer(const struct ebay_fixture_answer *a)
{
	pthread_mutex_lock(&srv.lock);
	srv.answer = a;
	pthread_mutex_unlock(&srv.lock);
}

/* A counter of srv, read under its lock. */
static int read_locked(const int *counter)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = *counter;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

int ebay_fixture_hits(void)
{
	return read_locked(&srv.hits);
}

int ebay_fixture_max_inflight(void)
{
	return read_locked(&srv.max_inflight);
}

const struct ebay_fixture_hit *ebay_fixture_hit(int i)
{
	int n = ebay_fixture_hits();

	if (i < 0 || i >= n || i >= EBAY_FIXTURE_HITS_MAX)
		fail_msg("no request %d: the server saw %d", i, n);
	return &srv.log[i];
}

const char *ebay_fixture_base(void)
{
	return srv.base;
}

/* ---- the client side: token source, log, outcomes ---- */

static enum error token_fn(void *ctx, int refresh, char **token, struct buf *why)
{
	struct ebay_fixture_token *t = ctx;

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

static void log_fn(void *ctx, const struct ebay_log_entry *e)
{
	struct ebay_fixture *fx = ctx;
	struct ebay_fixture_log *l;

	if (fx->n_logs >= EBAY_FIXTURE_LOGS_MAX)
		return;
	l = &fx->logs[fx->n_logs++];
	snprintf(l->event, sizeof(l->event), "%s", e->event);
	snprintf(l->path, sizeof(l->path), "%s", e->path);
	snprintf(l->label, sizeof(l->label), "%s", e->label ? e->label : "");
	snprintf(l->message, sizeof(l->message), "%s", e->message ? e->message : "");
	l->status = e->status;
	l->error_id = e->error_id;
	l->attempt = e->attempt;
	l->retry_in_ms = e->retry_in_ms;
}

int ebay_fixture_count_logs(const struct ebay_fixture *fx, const char *event)
{
	int i, n = 0;

	for (i = 0; i < fx->n_logs; i++)
		n += !strcmp(fx->logs[i].event, event);
	return n;
}

const struct ebay_fixture_log *ebay_fixture_find_log(const struct ebay_fixture *fx,
						     const char *event, int nth)
{
	int i;

	for (i = 0; i < fx->n_logs; i++)
		if (!strcmp(fx->logs[i].event, event) && nth-- == 0)
			return &fx->logs[i];
	return NULL;
}

void ebay_fixture_done(void *ctx, const struct ebay_response *r)
{
	struct ebay_fixture_outcome *o = ctx;

	o->called++;
	o->err = r->err;
	o->status = r->status;
	o->error_id = r->error_id;
	o->attempts = r->attempts;
	snprintf(o->message, sizeof(o->message), "%s", r->message);
	if (r->json)
		o->json = json_incref(r->json);
}

void ebay_fixture_outcomes_release(struct ebay_fixture_outcome *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_decref(o[i].json);
		o[i].json = NULL;
	}
}

int ebay_fixture_setup(void **state)
{
	struct ebay_fixture *fx = xcalloc(1, sizeof(*fx));

	fx->param = *state;
	fx->cfg.api_base = srv.base;
	fx->cfg.marketplace_id = "EBAY_DE";
	fx->cfg.connect_timeout_ms = 2000;
	fx->cfg.request_timeout_ms = 3000;
	fx->cfg.max_attempts = 4;
	fx->cfg.backoff_base_ms = 10;
	fx->cfg.backoff_max_ms = 40;
	fx->cfg.concurrency = 4;
	fx->cfg.max_rps = 1000;
	fx->token.initial = "tok-secret-1";
	fx->token.refreshed = "tok-secret-2";
	fx->url = ebay_offers_url(&fx->cfg, "A", 100);
	ebay_fixture_serve(NULL);
	*state = fx;
	return 0;
}

int ebay_fixture_teardown(void **state)
{
	struct ebay_fixture *fx = *state;

	ebay_client_free(fx->client);
	pacer_free(fx->pacer);
	ebay_fixture_outcomes_release(&fx->out, 1);
	free(fx->url);
	free(fx);
	*state = NULL;
	return 0;
}

struct ebay_client *ebay_fixture_client(struct ebay_fixture *fx)
{
	ebay_client_free(fx->client);
	fx->n_logs = 0;
	fx->client = ebay_client_new(&fx->cfg, fx->pacer, token_fn, &fx->token, log_fn, fx);
	assert_non_null(fx->client);
	return fx->client;
}

const char *ebay_fixture_url(struct ebay_fixture *fx, const char *sku)
{
	free(fx->url);
	fx->url = ebay_offers_url(&fx->cfg, sku, 100);
	return fx->url;
}

void ebay_fixture_drain(struct ebay_client *c, long long max_ms)
{
	long long end = timeutil_mono_ms() + max_ms;

	while (ebay_pending(c) && timeutil_mono_ms() < end)
		assert_int_equal(ebay_poll(c, 100), ERR_OK);
	assert_int_equal(ebay_pending(c), 0);
}

const struct ebay_fixture_outcome *ebay_fixture_get(struct ebay_fixture *fx, const char *url)
{
	ebay_fixture_outcomes_release(&fx->out, 1);
	memset(&fx->out, 0, sizeof(fx->out));
	assert_int_equal(
	    ebay_submit(fx->client, EBAY_REQ_OFFERS, url, "SKU-1", ebay_fixture_done, &fx->out),
	    ERR_OK);
	ebay_fixture_drain(fx->client, 10000);
	assert_int_equal(fx->out.called, 1);
	return &fx->out;
}

/* ---- scripted reply -> expected outcome ---- */

/* The request log of one request that made `attempts` attempts. */
static void check_log(const struct ebay_fixture *fx, const struct ebay_fixture_case *k)
{
	const struct ebay_fixture_log *l;
	int i;

	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_request"), k->attempts);
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_retry"),
			 k->attempts > 0 ? k->attempts - 1 : 0);
	for (i = 0; i + 1 < k->attempts; i++) {
		l = ebay_fixture_find_log(fx, "fetch_offers_retry", i);
		assert_int_equal(l->attempt, i + 1);
		if (l->message[0] == '\0')
			fail_msg("retry %d gives no reason", i + 1);
	}
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_success"), k->err == ERR_OK);
	assert_int_equal(ebay_fixture_count_logs(fx, "fetch_offers_failed"),
			 k->err != ERR_OK && k->attempts > 0);
	if (k->attempts == 0)
		return;
	l = ebay_fixture_find_log(
	    fx, k->err == ERR_OK ? "fetch_offers_success" : "fetch_offers_failed", 0);
	assert_int_equal(l->attempt, k->attempts);
	assert_int_equal(l->status, k->status);
	assert_int_equal(l->error_id, k->error_id);
}

void ebay_fixture_run_case(void **state)
{
	struct ebay_fixture *fx = *state;
	const struct ebay_fixture_case *k = fx->param;
	const struct ebay_fixture_outcome *o;
	const struct ebay_fixture_log *retry;

	if (k->sku)
		ebay_fixture_url(fx, k->sku);
	if (k->configure)
		k->configure(fx);
	ebay_fixture_serve(k->script);
	if (k->answer.status || k->answer.body || k->answer.mode || k->answer.delay_ms)
		ebay_fixture_serve_answer(&k->answer);
	ebay_fixture_client(fx);
	fx->retries_before = metrics_get(METRIC_EBAY_RETRIES);
	fx->throttled_before = metrics_get(METRIC_EBAY_THROTTLED);
	fx->started_ms = timeutil_mono_ms();
	o = ebay_fixture_get(fx, fx->url);

	assert_int_equal(o->err, k->err);
	assert_int_equal(o->status, k->status);
	assert_int_equal(o->error_id, k->error_id);
	assert_int_equal(o->attempts, k->attempts);
	if (k->message)
		assert_string_equal(o->message, k->message);
	if (k->err == ERR_OK)
		assert_non_null(o->json);
	else
		assert_null(o->json);
	assert_int_equal(ebay_fixture_hits(), k->attempts);
	assert_int_equal(fx->token.refreshes, k->refreshes);
	check_log(fx, k);
	if (k->attempts > 1) {
		retry = ebay_fixture_find_log(fx, "fetch_offers_retry", 0);
		assert_int_equal(retry->status, k->retry_status);
		assert_int_equal(retry->error_id, k->retry_error_id);
		if (k->retry_message)
			assert_string_equal(retry->message, k->retry_message);
		if (k->retry_message_has && !strstr(retry->message, k->retry_message_has))
			fail_msg("retry reason '%s' lacks '%s'", retry->message,
				 k->retry_message_has);
	}
	if (k->more)
		k->more(fx);
}
