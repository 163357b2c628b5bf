/*
 * The sync engine against hostile or broken eBay answers: the engine runs
 * in this process (so that LeakSanitizer and UBSan see it) against an
 * in-test libmicrohttpd server whose every answer the test scripts, into a
 * fresh SQLite database, and what landed is read back through the store.
 * Each case is one of issue 13's client findings: a refused next link
 * (leak), totals that overflow or never end, offers of another SKU, and
 * nonsense size and limit fields.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "store.h"
#include "sync.h"
#include "testutil.h"
#include "xalloc.h"

/* ---- the scripted server ---- */

/* Past this many requests the server ends every walk (no next link), so a
 * client that would page forever lets the test end and fail. */
#define ENOUGH_HITS 50

struct hit {
	char path[256];
	char sku[128];
	long offset;
};

typedef void (*script_fn)(const struct hit *h, int n, char *body, size_t size, int *status);

static struct server {
	struct MHD_Daemon *d;
	char base[64];
	pthread_mutex_t lock;
	script_fn script;
	int hits;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int first_call_marker;

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	static char body[16384];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct hit h;
	const char *v;
	int status = 200, n;

	(void)cls;
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (!*con_cls) {
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	memset(&h, 0, sizeof(h));
	snprintf(h.path, sizeof(h.path), "%s", url);
	v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sku");
	snprintf(h.sku, sizeof(h.sku), "%s", v ? v : "");
	v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "offset");
	h.offset = v ? strtol(v, NULL, 10) : 0;

	pthread_mutex_lock(&srv.lock);
	n = ++srv.hits;
	snprintf(body, sizeof(body), "{\"offers\":[],\"total\":0}");
	srv.script(&h, n, body, sizeof(body), &status);
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&srv.lock);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int group_setup(void **state)
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

static int group_teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.d);
	return 0;
}

static int hits(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.hits;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* ---- running the engine ---- */

static enum error token(void *ctx, int refresh, char **out, struct buf *why)
{
	(void)ctx;
	(void)refresh;
	(void)why;
	*out = xstrdup("t");
	return ERR_OK;
}

struct outcome {
	enum error err;
	char *error; /* the run's failure reason, or NULL */
	char *log;   /* every log line, one a line */
	char *dir, *db;
};

/* Runs a sync of kind against the server scripted by script. */
static void run(enum sync_kind kind, script_fn script, struct outcome *o)
{
	struct sync_opts opts;
	struct sync_run *r;
	struct store *s = NULL;
	struct event_row *ev = NULL;
	struct buf log = BUF_INIT;
	size_t n = 0;

	pthread_mutex_lock(&srv.lock);
	srv.script = script;
	srv.hits = 0;
	pthread_mutex_unlock(&srv.lock);

	memset(o, 0, sizeof(*o));
	o->dir = testutil_tmpdir();
	o->db = xasprintf("%s/t.db", o->dir);
	memset(&opts, 0, sizeof(opts));
	opts.kind = kind;
	opts.user_id = "u1";
	opts.db_url = o->db;
	opts.env_name = "simulator";
	opts.ebay.api_base = srv.base;
	opts.ebay.concurrency = 2;
	opts.ebay.max_rps = 1000;
	opts.ebay.max_attempts = 1;
	opts.token = token;
	r = sync_run_new(&opts, NULL);
	o->err = sync_run_execute(r);
	if (sync_run_error(r))
		o->error = xstrdup(sync_run_error(r));

	assert_int_equal(store_open(o->db, &s, NULL), ERR_OK);
	assert_int_equal(store_events_list(s, sync_run_id(r), 0, 100000, &ev, &n), ERR_OK);
	for (size_t i = 0; i < n; i++) {
		buf_addf(&log, "%s\n", ev[i].line);
		event_row_release(&ev[i]);
	}
	free(ev);
	store_close(s);
	o->log = buf_detach(&log, NULL);
	sync_run_free(r);
}

static void outcome_release(struct outcome *o)
{
	testutil_rmrf(o->dir);
	free(o->dir);
	free(o->db);
	free(o->error);
	free(o->log);
}

static void assert_contains(const char *what, const char *text, const char *part)
{
	if (!text || !strstr(text, part))
		fail_msg("%s lacks '%s':\n%s", what, part, text ? text : "(null)");
}

/* The rows of table for u1, as a JSON array of objects. */
static json_t *rows(const char *db, const char *table)
{
	struct store_query q = {.user_id = "u1"};
	struct store *s = NULL;
	json_t *out = NULL;
	long long total = 0;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	if (!strcmp(table, "inventory"))
		assert_int_equal(store_list_items(s, &q, &out, &total), ERR_OK);
	else
		assert_int_equal(store_list_offers(s, &q, &out, &total), ERR_OK);
	store_close(s);
	return out;
}

static const char *field(json_t *rows, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(rows, i), key));
}

/* ---- 8: a refused next link ---- */

static void leaving_next(const struct hit *h, int n, char *body, size_t size, int *status)
{
	(void)h;
	(void)n;
	(void)status;
	snprintf(
	    body, size,
	    "{\"inventoryItems\":[{\"sku\":\"a1\",\"product\":{\"title\":\"A one\"}},"
	    "{\"sku\":\"a2\",\"product\":{\"title\":\"A two\"}},"
	    "{\"sku\":\"a3\",\"product\":{\"title\":\"A three\"}}],"
	    "\"total\":6,\"limit\":3,"
	    "\"next\":\"https://evil.example.com/sell/inventory/v1/inventory_item?offset=3\"}");
}

/* The run fails naming the link; the mapped rows of the page are freed
 * (LeakSanitizer fails this test at exit otherwise) and not stored. */
static void test_refused_next_frees_the_page(void **state)
{
	struct outcome o;
	json_t *items;

	(void)state;
	run(SYNC_INVENTORY, leaving_next, &o);
	assert_int_equal(o.err, ERR_PARSE);
	assert_contains("the run's error", o.error, "next link leaves");
	assert_contains("the run's error", o.error, "evil.example.com");
	items = rows(o.db, "inventory");
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	outcome_release(&o);
}

/* ---- 9: totals that overflow or never end ---- */

static void huge_total(const struct hit *h, int n, char *body, size_t size, int *status)
{
	(void)status;
	snprintf(body, size,
		 "{\"inventoryItems\":[{\"sku\":\"t%ld\"}],\"total\":9223372036854775807,"
		 "\"limit\":1%s%ld\"}",
		 h->offset,
		 n > ENOUGH_HITS ? ",\"x\":\""
				 : ",\"next\":\"/sell/inventory/v1/inventory_item?limit=1&offset=",
		 h->offset + 1);
}

/* INT64_MAX overflowed the page count (UBSan aborts here otherwise): a
 * total beyond eBay's int32 is refused with the field named. */
static void test_total_beyond_int32_is_refused(void **state)
{
	struct outcome o;

	(void)state;
	run(SYNC_INVENTORY, huge_total, &o);
	assert_int_equal(o.err, ERR_PARSE);
	assert_contains("the run's error", o.error, "page field 'total'");
	assert_contains("the run's error", o.error, "9223372036854775807");
	assert_int_equal(hits(), 1);
	outcome_release(&o);
}

/* Every page the same two SKUs, a plausible total, and a fresh next link:
 * 10^15 in the issue, which no bound from the total could stop. */
static void same_page_forever(const struct hit *h, int n, char *body, size_t size, int *status)
{
	(void)status;
	if (n > ENOUGH_HITS)
		snprintf(body, size, "{\"inventoryItems\":[],\"total\":1000000000,\"limit\":2}");
	else
		snprintf(body, size,
			 "{\"inventoryItems\":[{\"sku\":\"s1\"},{\"sku\":\"s2\"}],"
			 "\"total\":1000000000,\"limit\":2,"
			 "\"next\":\"/sell/inventory/v1/inventory_item?limit=2&offset=%ld\"}",
			 h->offset + 2);
}

static void test_pages_without_new_skus_end_the_walk(void **state)
{
	struct outcome o;
	json_t *items;

	(void)state;
	run(SYNC_INVENTORY, same_page_forever, &o);
	assert_int_equal(o.err, ERR_PARSE);
	assert_contains("the run's error", o.error, "brought no new SKU");
	/* page 1 brings s1 and s2; pages 2, 3 and 4 bring nothing new */
	assert_int_equal(hits(), 4);
	/* what page 1 brought is stored */
	items = rows(o.db, "inventory");
	assert_int_equal(json_array_size(items), 2);
	json_decref(items);
	outcome_release(&o);
}

/* getOffers for one SKU: empty pages, each linking to a fresh one. */
static void empty_offer_pages(const struct hit *h, int n, char *body, size_t size, int *status)
{
	(void)status;
	if (!strstr(h->path, "/offer"))
		snprintf(body, size, "{\"inventoryItems\":[{\"sku\":\"e1\"}],\"total\":1}");
	else if (n > ENOUGH_HITS)
		snprintf(body, size, "{\"offers\":[],\"total\":1}");
	else
		snprintf(body, size,
			 "{\"offers\":[],\"total\":1,"
			 "\"next\":\"/sell/inventory/v1/offer?sku=e1&limit=100&offset=%d\"}",
			 n);
}

static void test_offer_pages_without_offers_end(void **state)
{
	struct outcome o;

	(void)state;
	run(SYNC_OFFERS, empty_offer_pages, &o);
	assert_int_equal(o.err, ERR_OK);
	/* the SKU fails (recorded), the run goes on to its end */
	assert_contains("the log", o.log, "SKU e1 failed");
	assert_contains("the log", o.log, "brought no offer");
	/* 1 inventory page, then 3 offers pages without offers */
	assert_int_equal(hits(), 4);
	outcome_release(&o);
}

/* ---- 10: an offer of another SKU ---- */

static void foreign_offer(const struct hit *h, int n, char *body, size_t size, int *status)
{
	(void)n;
	if (!strstr(h->path, "/offer"))
		snprintf(body, size,
			 "{\"inventoryItems\":[{\"sku\":\"A\"},{\"sku\":\"B\"}],\"total\":2}");
	else if (!strcmp(h->sku, "A"))
		snprintf(body, size,
			 "{\"offers\":[{\"offerId\":\"oA\",\"sku\":\"A\",\"status\":\"PUBLISHED\","
			 "\"marketplaceId\":\"EBAY_US\",\"format\":\"FIXED_PRICE\"},"
			 "{\"offerId\":\"oB\",\"sku\":\"B\",\"status\":\"PUBLISHED\","
			 "\"marketplaceId\":\"EBAY_US\",\"format\":\"FIXED_PRICE\"}],\"total\":2}");
	else {
		*status = 404;
		snprintf(body, size,
			 "{\"errors\":[{\"errorId\":25713,\"message\":\"This Offer is not "
			 "available.\"}]}");
	}
}

/* The answer for A carries an offer of B: it is refused with a warning,
 * not stored under B, and B keeps the status of its own answer. */
static void test_offer_of_another_sku_is_refused(void **state)
{
	struct outcome o;
	json_t *offers, *items;
	size_t i;

	(void)state;
	run(SYNC_ALL, foreign_offer, &o);
	assert_int_equal(o.err, ERR_OK);
	offers = rows(o.db, "offers");
	assert_int_equal(json_array_size(offers), 1);
	assert_string_equal(field(offers, 0, "offer_id"), "oA");
	assert_string_equal(field(offers, 0, "sku_code"), "A");
	items = rows(o.db, "inventory");
	assert_int_equal(json_array_size(items), 2);
	for (i = 0; i < 2; i++) {
		const char *sku = field(items, i, "sku_code");

		assert_string_equal(field(items, i, "ebay_status"),
				    !strcmp(sku, "A") ? "ACTIVE" : "UNKNOWN");
	}
	assert_contains("the log", o.log, "offer oB is for SKU B");
	json_decref(offers);
	json_decref(items);
	outcome_release(&o);
}

/* ---- 11: nonsense size and limit ---- */

static void nonsense_counts(const struct hit *h, int n, char *body, size_t size, int *status)
{
	(void)n;
	(void)status;
	/* 7 pages of 2 (13 items); limit claims a page holds 10^12, size is
	 * negative, then a string, then huge */
	if (h->offset < 12)
		snprintf(body, size,
			 "{\"inventoryItems\":[{\"sku\":\"n%ld\"},{\"sku\":\"n%ld\"}],"
			 "\"total\":13,\"limit\":%s,\"size\":%s,"
			 "\"next\":\"/sell/inventory/v1/inventory_item?limit=2&offset=%ld\"}",
			 h->offset, h->offset + 1, h->offset == 0 ? "1000000000000" : "\"-3\"",
			 h->offset == 0	  ? "-5"
			 : h->offset == 2 ? "\"lots\""
					  : "1e300",
			 h->offset + 2);
	else
		snprintf(body, size,
			 "{\"inventoryItems\":[{\"sku\":\"n12\"}],\"total\":13,\"limit\":-1,"
			 "\"size\":99999999999999999}");
}

static void test_nonsense_size_and_limit_only_warn(void **state)
{
	struct outcome o;
	json_t *items;

	(void)state;
	run(SYNC_INVENTORY, nonsense_counts, &o);
	if (o.err)
		fail_msg("the sync failed: %s", o.error);
	items = rows(o.db, "inventory");
	assert_int_equal(json_array_size(items), 13);
	json_decref(items);
	assert_int_equal(hits(), 7);
	assert_contains("the log", o.log, "page field 'limit' is ignored");
	assert_contains("the log", o.log, "page field 'size' is ignored");
	outcome_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused_next_frees_the_page),
	    cmocka_unit_test(test_total_beyond_int32_is_refused),
	    cmocka_unit_test(test_pages_without_new_skus_end_the_walk),
	    cmocka_unit_test(test_offer_pages_without_offers_end),
	    cmocka_unit_test(test_offer_of_another_sku_is_refused),
	    cmocka_unit_test(test_nonsense_size_and_limit_only_warn),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
