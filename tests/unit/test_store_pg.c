/*
 * What only the PostgreSQL backend does (src/store/pg*.c); the shared
 * behaviour runs on both backends in tests/unit/test_store_{open,rows,list,
 * runs,users}.c. These run when ES_TEST_PG_URL says PostgreSQL is
 * available, on a throwaway cluster of their own (scripts/pg-temp.sh), since
 * some kill and restart their server; without it main() puts a stand-in in
 * place of each test, which is skipped, or fails under ES_TEST_REQUIRE_PG=1.
 *
 * Covered: migrations from several connections at once under the advisory
 * lock; reconnection after the server is killed and restarted, after the
 * backend is terminated, and the clear failure when it does not come back;
 * the statement timeout; error messages that name the table and the SKU or
 * offer; raw_payload as JSONB; NUMERIC prices returned exactly; repeated
 * keys in one batch; batches larger than one statement; and both write
 * modes (multi-row VALUES and COPY + merge) giving the same rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store/pg.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

/* ---- helpers ----------------------------------------------------------------- */

#define assert_prefix(msg, prefix)                                                                 \
	do {                                                                                       \
		if (strncmp((msg), (prefix), strlen(prefix)))                                      \
			fail_msg("message '%s' does not start with '%s'", (msg), (prefix));        \
	} while (0)

/* Stands in for every test when ES_TEST_PG_URL is not set: nothing of the
 * test runs, so nothing is built that a skip would leave behind. */
static void skipped(void **state)
{
	(void)state;
	skip();
}

static void pg_required(void **state)
{
	(void)state;
	fail_msg("ES_TEST_REQUIRE_PG=1 but ES_TEST_PG_URL is not set");
}

/* A fresh database's URL (malloc'd). */
static char *fresh_db(void)
{
	char *url = testutil_pg_fresh_db();

	assert_non_null(url);
	return url;
}

static struct store *open_ok(const char *url)
{
	struct buf msg = BUF_INIT;
	struct store *s = NULL;
	enum error err = store_open(url, &s, &msg);

	if (err)
		fail_msg("store_open(%s): %s", url, buf_str(&msg));
	buf_release(&msg);
	assert_string_equal(store_backend(s), "postgres");
	return s;
}

/* A plain libpq connection for looking behind the store's back. */
static PGconn *raw(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", url, PQerrorMessage(c));
	return c;
}

/* The first value of sql's result ("" for none; malloc'd). */
static char *scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	v = xstrdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static long long scalar_ll(PGconn *c, const char *sql)
{
	char *v = scalar(c, sql);
	long long x = strtoll(v, NULL, 10);

	free(v);
	return x;
}

static struct item_row item(const char *sku, const char *price, int known)
{
	struct item_row it = {0};

	it.sku = xstrdup(sku);
	it.title = xasprintf("Title of %s", sku);
	it.condition = xstrdup("NEW");
	it.price_value = price ? xstrdup(price) : NULL;
	it.price_currency = xstrdup("USD");
	it.quantity = 3;
	it.ebay_listing_id = known ? xasprintf("L-%s", sku) : NULL;
	it.ebay_status = xstrdup(known ? "ACTIVE" : "UNKNOWN");
	it.category = known ? xstrdup("9355") : NULL;
	it.photo_count = 2;
	it.raw_payload = xasprintf("{\"sku\":\"%s\"}", sku);
	it.offer_fields_known = known;
	return it;
}

static struct offer_row offer(const char *id, const char *sku, const char *price)
{
	struct offer_row o = {0};

	o.offer_id = xstrdup(id);
	o.sku = xstrdup(sku);
	o.marketplace_id = xstrdup("EBAY_US");
	o.format = xstrdup("FIXED_PRICE");
	o.status = xstrdup("PUBLISHED");
	o.listing_id = xasprintf("L-%s", sku);
	o.listing_status = xstrdup("ACTIVE");
	o.price_value = price ? xstrdup(price) : NULL;
	o.price_currency = xstrdup("USD");
	o.available_quantity = 5;
	o.sold_quantity = -1;
	o.category_id = xstrdup("9355");
	o.listing_start_date = xstrdup("2024-01-02T03:04:05.000Z");
	o.raw_payload = xasprintf("{\"offerId\":\"%s\",\"sku\":\"%s\"}", id, sku);
	return o;
}

static void items_release(struct item_row *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		item_row_release(&it[i]);
}

static void offers_release(struct offer_row *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		offer_row_release(&o[i]);
}

/* n items "<prefix>-00001"... with prices "i.99". */
static struct item_row *make_items(const char *prefix, size_t n)
{
	struct item_row *it = xcalloc(n, sizeof(*it));

	for (size_t i = 0; i < n; i++) {
		char sku[64], price[32];

		snprintf(sku, sizeof(sku), "%s-%05zu", prefix, i);
		snprintf(price, sizeof(price), "%zu.99", i);
		it[i] = item(sku, price, 1);
	}
	return it;
}

static json_t *items_of(struct store *s, const char *user, const char *sku, long long *total)
{
	struct store_query q = {.user_id = user, .sku = sku};
	json_t *rows = NULL;

	assert_int_equal(store_list_items(s, &q, &rows, total), ERR_OK);
	return rows;
}

static long long count_items(struct store *s, const char *user)
{
	struct store_query q = {.user_id = user, .limit = 1};
	json_t *rows = NULL;
	long long total = -1;

	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_OK);
	json_decref(rows);
	return total;
}

/* ---- migrations ---------------------------------------------------------------- */

struct opener {
	const char *url;
	pthread_barrier_t *go;
	enum error err;
	char msg[512];
};

static void *open_at_once(void *arg)
{
	struct opener *o = arg;
	struct buf msg = BUF_INIT;
	struct store *s = NULL;

	pthread_barrier_wait(o->go);
	o->err = store_open(o->url, &s, &msg);
	snprintf(o->msg, sizeof(o->msg), "%s", buf_str(&msg));
	buf_release(&msg);
	store_close(s);
	return NULL;
}

/* Six connections open a fresh database at the same instant: each
 * migration is applied once and every open succeeds. */
static void test_migrate_concurrently(void **state)
{
	enum { N = 6 };
	struct opener o[N];
	pthread_t t[N];
	pthread_barrier_t go;
	char *url;
	PGconn *c;
	int i;

	(void)state;
	url = fresh_db();
	pthread_barrier_init(&go, NULL, N);
	for (i = 0; i < N; i++) {
		o[i] = (struct opener){.url = url, .go = &go};
		pthread_create(&t[i], NULL, open_at_once, &o[i]);
	}
	for (i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < N; i++)
		if (o[i].err)
			fail_msg("opener %d: %s", i, o[i].msg);
	c = raw(url);
	assert_int_equal(scalar_ll(c, "SELECT count(*) - max(version) + 1 FROM schema_migrations"),
			 1);
	assert_int_equal(scalar_ll(c, "SELECT min(version) FROM schema_migrations"), 1);
	assert_int_equal(
	    scalar_ll(c, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"), 1);
	assert_int_equal(scalar_ll(c, "SELECT count(*) FROM pg_indexes WHERE indexname IN "
				      "('inventory_sku_trgm', 'inventory_title_trgm')"),
			 2);
	/* A database from a newer program is refused, not damaged. */
	PQclear(PQexec(c, "INSERT INTO schema_migrations VALUES (9999, now())"));
	{
		struct buf msg = BUF_INIT;
		struct store *s = NULL;

		assert_int_equal(store_open(url, &s, &msg), ERR_DB);
		assert_null(s);
		assert_non_null(strstr(buf_str(&msg), "schema version 9999, newer than"));
		buf_release(&msg);
	}
	PQfinish(c);
	free(url);
}

/* ---- payloads and prices ----------------------------------------------------------- */

static void test_jsonb_payload(void **state)
{
	const char *payload =
	    "{\"sku\":\"J-1\",\"product\":{\"title\":\"Caf\\u00e9 \\\"quoted\\\" \\\\ tab\\t\","
	    "\"aspects\":{\"Brand\":[\"Acme\"]},\"imageUrls\":[\"a\",\"b\"]},"
	    "\"big\":1234567890123456789,\"ratio\":0.125,\"nul\":\"x\\u0000y\","
	    "\"esc\":\"\\\\u0000 stays\",\"empty\":{},\"list\":[1,[2,[3]]],\"t\":true,\"n\":null}";
	struct item_row it = item("J-1", "1.00", 1);
	json_t *rows, *want, *got;
	char *url, *v;
	struct store *s;
	PGconn *c;

	(void)state;
	url = fresh_db();
	s = open_ok(url);
	free(it.raw_payload);
	it.raw_payload = xstrdup(payload);
	assert_int_equal(store_write_batch(s, "u1", "run1", &it, 1, NULL, 0), ERR_OK);
	rows = items_of(s, "u1", "J-1", NULL);
	assert_int_equal(json_array_size(rows), 1);
	got = json_object_get(json_array_get(rows, 0), "raw_payload");
	assert_true(json_is_object(got));
	/* Everything as sent but the NUL, which jsonb cannot hold. */
	want = json_loads(payload, JSON_ALLOW_NUL, NULL);
	assert_non_null(want);
	json_object_set_new(want, "nul", json_string("x\xef\xbf\xbdy"));
	if (!json_equal(want, got)) {
		char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(got, JSON_SORT_KEYS);

		fail_msg("payload differs:\nwant %s\ngot  %s", a, b);
	}
	json_decref(want);
	json_decref(rows);
	/* It is real jsonb: the server can look inside. */
	c = raw(url);
	v = scalar(c, "SELECT raw_payload->'product'->'aspects'->'Brand'->>0 FROM inventory");
	assert_string_equal(v, "Acme");
	free(v);
	v = scalar(c, "SELECT pg_typeof(raw_payload)::text FROM inventory");
	assert_string_equal(v, "jsonb");
	free(v);
	PQfinish(c);
	item_row_release(&it);
	store_close(s);
	free(url);
}

static void test_numeric_prices_exact(void **state)
{
	const char *prices[] = {"10.00", "9.99", "0.10", "123456789012345678901234.5678",
				"1000",	 "0.001"};
	/* Numeric order, as SQLite's CAST(price_value AS REAL) sorts them. */
	const char *sorted[] = {"0.001", "0.10", "9.99",
				"10.00", "1000", "123456789012345678901234.5678"};
	struct item_row it[6];
	struct offer_row of[6];
	struct store_query q = {.user_id = "u1", .sort = "price_value"};
	json_t *rows = NULL;
	struct store *s;
	char *url;
	size_t i;

	(void)state;
	url = fresh_db();
	s = open_ok(url);
	for (i = 0; i < 6; i++) {
		char sku[16], id[16];

		snprintf(sku, sizeof(sku), "P-%zu", i);
		snprintf(id, sizeof(id), "O-%zu", i);
		it[i] = item(sku, prices[i], 1);
		of[i] = offer(id, sku, prices[i]);
	}
	assert_int_equal(store_write_batch(s, "u1", "r", it, 6, of, 6), ERR_OK);
	assert_int_equal(store_list_items(s, &q, &rows, NULL), ERR_OK);
	assert_int_equal(json_array_size(rows), 6);
	for (i = 0; i < 6; i++) {
		json_t *p = json_object_get(json_array_get(rows, i), "price_value");

		assert_true(json_is_string(p));
		assert_string_equal(json_string_value(p), sorted[i]);
	}
	json_decref(rows);
	assert_int_equal(store_list_offers(s, &q, &rows, NULL), ERR_OK);
	for (i = 0; i < 6; i++)
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(rows, i), "price_value")),
		    sorted[i]);
	/* Integers stay integers, absent counts are null. */
	assert_true(
	    json_is_integer(json_object_get(json_array_get(rows, 0), "available_quantity")));
	assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "sold_quantity")));
	json_decref(rows);
	items_release(it, 6);
	offers_release(of, 6);
	store_close(s);
	free(url);
}

/* ---- errors -------------------------------------------------------------------------- */

static void test_errors_name_table_and_sku(void **state)
{
	struct item_row it[3] = {item("E-1", "1.00", 1), item("E-2", "2.00", 1),
				 item("E-3", "3.00", 1)};
	struct offer_row of[2] = {offer("OF-1", "E-1", "1.00"), offer("OF-2", "E-1", "1.10")};
	struct store_query q = {.user_id = "u1", .sku = "E-3"};
	struct store *s;
	json_t *rows;
	char *url;
	const char *msg;

	(void)state;
	url = fresh_db();
	s = open_ok(url);
	/* A payload that is not JSON: jsonb refuses it, and the message says
	 * which SKU of the batch it was. */
	free(it[1].raw_payload);
	it[1].raw_payload = xstrdup("{not json");
	assert_int_equal(store_write_batch(s, "u1", "r", it, 3, NULL, 0), ERR_DB);
	msg = store_errmsg(s);
	assert_prefix(msg, "cannot upsert inventory row for sku 'E-2': ");
	assert_non_null(strstr(msg, "json"));
	assert_null(strstr(msg, "'E-1'"));
	/* Nothing of the failed batch stayed. */
	assert_int_equal(count_items(s, "u1"), 0);

	free(of[1].raw_payload);
	of[1].raw_payload = xstrdup("[1,");
	assert_int_equal(store_write_batch(s, "u1", "r", it, 1, of, 2), ERR_DB);
	msg = store_errmsg(s);
	assert_prefix(msg, "cannot upsert offer row for offer 'OF-2' (sku 'E-1'): ");
	assert_int_equal(count_items(s, "u1"), 0);

	/* A price that is not a decimal is stored as NULL (raw_payload keeps
	 * it) instead of failing the page. */
	free(it[1].raw_payload);
	it[1].raw_payload = xstrdup("{}");
	free(it[2].price_value);
	it[2].price_value = xstrdup("N/A");
	assert_int_equal(store_write_batch(s, "u1", "r", it, 3, of, 1), ERR_OK);
	assert_int_equal(count_items(s, "u1"), 3);
	rows = NULL;
	assert_int_equal(store_list_items(s, &q, &rows, NULL), ERR_OK);
	assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "price_value")));
	json_decref(rows);
	items_release(it, 3);
	offers_release(of, 2);
	store_close(s);
	free(url);
}

/* ---- statement timeout ------------------------------------------------------------------ */

static void test_statement_timeout(void **state)
{
	struct item_row it = item("T-1", "1.00", 1);
	struct store *s;
	char *url, *short_url, *v;
	PGconn *locker;
	long long t0, took;
	enum error err;

	(void)state;
	url = fresh_db();
	/* The default: 30 s on every connection of the store. */
	s = open_ok(url);
	v = scalar(store_pg_conn(s), "SHOW statement_timeout");
	assert_string_equal(v, "30s");
	free(v);
	store_close(s);

	/* A URL of its own (libpq's options) wins. */
	short_url = xasprintf("%s?options=-c%%20statement_timeout%%3D300", url);
	s = open_ok(short_url);
	v = scalar(store_pg_conn(s), "SHOW statement_timeout");
	assert_string_equal(v, "300ms");
	free(v);
	locker = raw(url);
	PQclear(PQexec(locker, "BEGIN"));
	PQclear(PQexec(locker, "LOCK TABLE inventory IN ACCESS EXCLUSIVE MODE"));
	t0 = timeutil_mono_ms();
	err = store_write_batch(s, "u1", "r", &it, 1, NULL, 0);
	took = timeutil_mono_ms() - t0;
	assert_int_equal(err, ERR_TIMEOUT);
	assert_non_null(strstr(store_errmsg(s), "statement timeout"));
	assert_non_null(strstr(store_errmsg(s), "'T-1'"));
	assert_non_null(strstr(store_errmsg(s), "inventory"));
	assert_true(took >= 250 && took < 5000);
	PQclear(PQexec(locker, "ROLLBACK"));
	/* The store goes on once the lock is gone. */
	assert_int_equal(store_write_batch(s, "u1", "r", &it, 1, NULL, 0), ERR_OK);
	assert_int_equal(count_items(s, "u1"), 1);
	PQfinish(locker);
	item_row_release(&it);
	store_close(s);
	free(short_url);
	free(url);
}

/* ---- reconnection ----------------------------------------------------------------------- */

/* The server ends the store's session (SQLSTATE 57P01, as at a fast
 * shutdown): the next batch reconnects and goes in once. */
static void test_reconnect_after_terminate(void **state)
{
	struct item_row *a = make_items("A", 50), *b = make_items("B", 50);
	struct store *s;
	char *url, sql[96];
	PGconn *admin;
	int pid, pid2;

	(void)state;
	url = fresh_db();
	s = open_ok(url);
	assert_int_equal(store_write_batch(s, "u1", "r1", a, 50, NULL, 0), ERR_OK);
	pid = PQbackendPID(store_pg_conn(s));
	admin = raw(url);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid);
	PQclear(PQexec(admin, sql));
	timeutil_sleep_ms(100);
	assert_int_equal(store_write_batch(s, "u1", "r1", b, 50, NULL, 0), ERR_OK);
	pid2 = PQbackendPID(store_pg_conn(s));
	assert_int_not_equal(pid, pid2);
	assert_int_equal(scalar_ll(admin, "SELECT count(*) FROM inventory"), 100);
	assert_int_equal(scalar_ll(admin, "SELECT count(DISTINCT sku_code) FROM inventory"), 100);
	/* Terminated while idle between reads too. */
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid2);
	PQclear(PQexec(admin, sql));
	timeutil_sleep_ms(100);
	assert_int_equal(count_items(s, "u1"), 100);
	PQfinish(admin);
	items_release(a, 50);
	items_release(b, 50);
	free(a);
	free(b);
	store_close(s);
	free(url);
}

struct restarter {
	long long delay_ms;
	int rc;
};

static void *restart_later(void *arg)
{
	struct restarter *r = arg;

	timeutil_sleep_ms(r->delay_ms);
	r->rc = testutil_pg_ctl("restart");
	return NULL;
}

/* The server is killed and comes back 1.5 s later: the batch written in
 * between waits for it, is stored once, and nothing committed is lost. */
static void test_reconnect_after_restart(void **state)
{
	struct item_row *a, *b;
	struct restarter rs = {.delay_ms = 1500};
	struct run_row run = {0}, got;
	struct store *s;
	pthread_t t;
	long long t0, took;
	char *url;
	PGconn *c;

	(void)state;
	if (!getenv("ES_TEST_PG_DIR") || !*getenv("ES_TEST_PG_DIR")) {
		skip();
		return;
	}
	a = make_items("A", 200);
	b = make_items("B", 200);
	url = fresh_db();
	s = open_ok(url);
	run.id = "run-restart";
	run.user_id = "u1";
	run.kind = "inventory";
	run.status = STORE_RUN_RUNNING;
	run.started_ms = timeutil_wall_ms();
	assert_int_equal(store_run_insert(s, &run), ERR_OK);
	assert_int_equal(store_write_batch(s, "u1", "run-restart", a, 200, NULL, 0), ERR_OK);

	assert_int_equal(testutil_pg_ctl("kill"), 0);
	pthread_create(&t, NULL, restart_later, &rs);
	t0 = timeutil_mono_ms();
	assert_int_equal(store_write_batch(s, "u1", "run-restart", b, 200, NULL, 0), ERR_OK);
	took = timeutil_mono_ms() - t0;
	pthread_join(t, NULL);
	assert_int_equal(rs.rc, 0);
	assert_true(took >= 1000);
	run.status = STORE_RUN_DONE;
	run.stored = 400;
	run.finished_ms = timeutil_wall_ms();
	assert_int_equal(store_run_update(s, &run), ERR_OK);
	assert_int_equal(store_run_get(s, "u1", "run-restart", &got), ERR_OK);
	assert_string_equal(got.status, "done");
	assert_int_equal(got.stored, 400);
	run_row_release(&got);

	c = raw(url);
	assert_int_equal(scalar_ll(c, "SELECT count(*) FROM inventory"), 400);
	assert_int_equal(scalar_ll(c, "SELECT count(*) FROM inventory WHERE sku_code LIKE 'B-%' "
				      "AND price_value = 199.99 AND sku_code = 'B-00199'"),
			 1);
	PQfinish(c);
	items_release(a, 200);
	items_release(b, 200);
	free(a);
	free(b);
	store_close(s);
	free(url);
}

/* The server stays down: the store gives up after its budget with a
 * message that names the server and never the password. */
static void test_reconnect_gives_up(void **state)
{
	struct item_row it;
	struct store *s;
	char *url, *with_pw, *at;
	long long t0, took;
	enum error err;

	(void)state;
	if (!getenv("ES_TEST_PG_DIR") || !*getenv("ES_TEST_PG_DIR")) {
		skip();
		return;
	}
	it = item("G-1", "1.00", 1);
	url = fresh_db();
	/* postgresql://postgres@host -> postgresql://postgres:s3cret@host (trust
	 * authentication ignores it). */
	at = strchr(url, '@');
	with_pw = xasprintf("%.*s:s3cret%s", (int)(at - url), url, at);
	s = open_ok(with_pw);
	store_pg_set_reconnect_ms(s, 1200);
	assert_int_equal(testutil_pg_ctl("kill"), 0);
	t0 = timeutil_mono_ms();
	err = store_write_batch(s, "u1", "r", &it, 1, NULL, 0);
	took = timeutil_mono_ms() - t0;
	assert_int_equal(testutil_pg_ctl("restart"), 0);
	assert_int_equal(err, ERR_DB);
	assert_true(took >= 1000 && took < 10000);
	assert_prefix(store_errmsg(s), "cannot reach PostgreSQL at 127.0.0.1:");
	assert_non_null(strstr(store_errmsg(s), " after 1 s: "));
	assert_null(strstr(store_errmsg(s), "s3cret"));
	/* Back up: the same store works again. */
	assert_int_equal(store_write_batch(s, "u1", "r", &it, 1, NULL, 0), ERR_OK);
	assert_int_equal(count_items(s, "u1"), 1);
	item_row_release(&it);
	store_close(s);
	free(with_pw);
	free(url);
}

/* ---- batches ------------------------------------------------------------------------------- */

/* A key twice in one batch is applied in order, as SQLite applies it: the
 * second copy, without offer fields, keeps the first one's price. */
static void batch_repeats(struct store *s)
{
	struct item_row it[4] = {item("R-1", "5.00", 1), item("R-2", "6.00", 1),
				 item("R-1", NULL, 0), item("R-1", NULL, 0)};
	struct offer_row of[3] = {offer("O-1", "R-1", "5.00"), offer("O-1", "R-1", "7.00"),
				  offer("O-2", "R-2", "6.00")};
	json_t *rows, *r1;

	free(it[3].title);
	it[3].title = xstrdup("last title");
	assert_int_equal(store_write_batch(s, "u1", "r", it, 4, of, 3), ERR_OK);
	rows = items_of(s, "u1", "R-1", NULL);
	assert_int_equal(json_array_size(rows), 1);
	r1 = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(r1, "title")), "last title");
	assert_string_equal(json_string_value(json_object_get(r1, "price_value")), "5.00");
	assert_string_equal(json_string_value(json_object_get(r1, "ebay_status")), "ACTIVE");
	assert_string_equal(json_string_value(json_object_get(r1, "ebay_listing_id")), "L-R-1");
	json_decref(rows);
	{
		struct store_query q = {.user_id = "u1", .sku = "R-1"};

		assert_int_equal(store_list_offers(s, &q, &rows, NULL), ERR_OK);
		assert_int_equal(json_array_size(rows), 1);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(rows, 0), "price_value")),
		    "7.00");
		json_decref(rows);
	}
	items_release(it, 4);
	offers_release(of, 3);
}

static void test_repeated_keys_in_batch(void **state)
{
	struct store *s;
	char *url;

	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		url = fresh_db();
		s = open_ok(url);
		store_pg_set_write_mode(s, mode ? STORE_PG_WRITE_COPY : STORE_PG_WRITE_VALUES);
		batch_repeats(s);
		store_close(s);
		free(url);
	}
}

/* Rows with everything a hostile catalog may hold, in both write modes:
 * the listings agree column for column (but the timestamps). */
static json_t *write_and_list(enum store_pg_write_mode mode, struct item_row *it, size_t n,
			      struct offer_row *of, size_t m)
{
	struct store_query q = {.user_id = "u1"};
	json_t *items = NULL, *offers = NULL, *all;
	struct store *s;
	char *url = fresh_db();
	size_t i;

	s = open_ok(url);
	store_pg_set_write_mode(s, mode);
	/* Twice: fresh inserts, then updates of the same rows. */
	assert_int_equal(store_write_batch(s, "u1", "r1", it, n, of, m), ERR_OK);
	assert_int_equal(store_write_batch(s, "u1", "r2", it, n, of, m), ERR_OK);
	assert_int_equal(store_list_items(s, &q, &items, NULL), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &offers, NULL), ERR_OK);
	for (i = 0; i < json_array_size(items); i++) {
		json_object_del(json_array_get(items, i), "rec_created");
		json_object_del(json_array_get(items, i), "rec_updated");
	}
	for (i = 0; i < json_array_size(offers); i++) {
		json_object_del(json_array_get(offers, i), "rec_created");
		json_object_del(json_array_get(offers, i), "rec_updated");
	}
	all = json_pack("{s:o, s:o}", "items", items, "offers", offers);
	store_close(s);
	free(url);
	return all;
}

static void test_copy_and_values_agree(void **state)
{
	const size_t n = 1200; /* over one statement's 1000 rows */
	struct item_row *it;
	struct offer_row *of;
	json_t *a, *b, *first;
	size_t i;

	(void)state;
	it = make_items("C", n);
	of = xcalloc(n, sizeof(*of));
	for (i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "OF-%zu", i);
		of[i] = offer(id, it[i].sku, it[i].price_value);
	}
	/* Text COPY must escape these; VALUES must pass them as they are. */
	free(it[1].title);
	it[1].title = xstrdup("tab\there, newline\nhere, back\\slash, \\N, quote ' \"");
	free(it[2].title);
	it[2].title = NULL;
	it[3].quantity = -1;
	it[4].offer_fields_known = 0;
	free(of[5].listing_start_date);
	of[5].listing_start_date = xstrdup("\r\n\\.");
	a = write_and_list(STORE_PG_WRITE_VALUES, it, n, of, n);
	b = write_and_list(STORE_PG_WRITE_COPY, it, n, of, n);
	assert_int_equal(json_array_size(json_object_get(a, "items")), n);
	assert_int_equal(json_array_size(json_object_get(a, "offers")), n);
	assert_true(json_equal(a, b));
	first = json_array_get(json_object_get(a, "items"), 1);
	assert_string_equal(json_string_value(json_object_get(first, "title")),
			    "tab\there, newline\nhere, back\\slash, \\N, quote ' \"");
	assert_string_equal(json_string_value(json_object_get(first, "last_seen_run")), "r2");
	assert_true(
	    json_is_null(json_object_get(json_array_get(json_object_get(a, "items"), 2), "title")));
	assert_true(json_is_null(
	    json_object_get(json_array_get(json_object_get(a, "items"), 3), "quantity")));
	json_decref(a);
	json_decref(b);
	items_release(it, n);
	offers_release(of, n);
	free(it);
	free(of);
}

/* The same rows listed by SQLite and by PostgreSQL: the same keys, the
 * same JSON types and the same values, timestamps (both ISO-8601 strings)
 * aside. */
static json_t *listed(const char *url, struct item_row *it, size_t n, struct offer_row *of,
		      size_t m)
{
	struct store_query q = {.user_id = "u1", .sort = "price_value", .desc = 1};
	json_t *items = NULL, *offers = NULL;
	struct buf msg = BUF_INIT;
	struct store *s = NULL;

	if (store_open(url, &s, &msg))
		fail_msg("store_open(%s): %s", url, buf_str(&msg));
	buf_release(&msg);
	assert_int_equal(store_write_batch(s, "u1", "r1", it, n, of, m), ERR_OK);
	assert_int_equal(store_write_batch(s, "u1", "r2", it, n, of, m), ERR_OK);
	assert_int_equal(store_list_items(s, &q, &items, NULL), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &offers, NULL), ERR_OK);
	store_close(s);
	return json_pack("{s:o, s:o}", "items", items, "offers", offers);
}

static void same_shape(json_t *a, json_t *b, const char *table)
{
	size_t i;

	assert_int_equal(json_array_size(a), json_array_size(b));
	for (i = 0; i < json_array_size(a); i++) {
		json_t *ra = json_array_get(a, i), *rb = json_array_get(b, i), *va;
		const char *key;

		assert_int_equal(json_object_size(ra), json_object_size(rb));
		json_object_foreach(ra, key, va)
		{
			json_t *vb = json_object_get(rb, key);

			if (!vb || json_typeof(va) != json_typeof(vb))
				fail_msg("%s row %zu, column %s: types differ", table, i, key);
			if (!strncmp(key, "rec_", 4)) {
				/* "YYYY-MM-DDTHH:MM:SS.mmmZ" on both */
				assert_int_equal(strlen(json_string_value(va)), 24);
				assert_int_equal(strlen(json_string_value(vb)), 24);
				assert_int_equal(json_string_value(vb)[23], 'Z');
				continue;
			}
			if (!json_equal(va, vb)) {
				char *x = json_dumps(va, JSON_ENCODE_ANY),
				     *y = json_dumps(vb, JSON_ENCODE_ANY);

				fail_msg("%s row %zu, column %s: sqlite %s, postgres %s", table, i,
					 key, x, y);
			}
		}
	}
}

static void test_rows_match_sqlite(void **state)
{
	struct item_row it[4] = {item("M-1", "12.50", 1), item("M-2", "7", 1), item("M-3", NULL, 0),
				 item("M-4", "0.99", 1)};
	struct offer_row of[3] = {offer("MO-1", "M-1", "12.50"), offer("MO-2", "M-2", "7"),
				  offer("MO-3", "M-4", "0.99")};
	char *dir = testutil_tmpdir(), *lite = xasprintf("%s/x.db", dir), *pg;
	json_t *a, *b;

	(void)state;
	pg = fresh_db();
	free(it[1].title);
	it[1].title = NULL;
	it[2].quantity = -1;
	free(it[3].raw_payload);
	it[3].raw_payload = xstrdup("{\"a\":[1,2.5,\"x\",null,true],\"b\":{\"c\":\"\u00e9\"}}");
	of[1].available_quantity = -1;
	of[2].sold_quantity = 0;
	a = listed(lite, it, 4, of, 3);
	b = listed(pg, it, 4, of, 3);
	same_shape(json_object_get(a, "items"), json_object_get(b, "items"), "inventory");
	same_shape(json_object_get(a, "offers"), json_object_get(b, "offers"), "offers");
	json_decref(a);
	json_decref(b);
	items_release(it, 4);
	offers_release(of, 3);
	testutil_rmrf(dir);
	free(dir);
	free(lite);
	free(pg);
}

/* Search text is escaped: % and _ match themselves. */
static void test_search_escapes(void **state)
{
	struct item_row it[3] = {item("S-100%", "1.00", 1), item("S-1000", "1.00", 1),
				 item("S_2", "1.00", 1)};
	struct store_query q = {.user_id = "u1"};
	json_t *rows;
	long long total;
	struct store *s;
	char *url;

	(void)state;
	url = fresh_db();
	s = open_ok(url);
	assert_int_equal(store_write_batch(s, "u1", "r", it, 3, NULL, 0), ERR_OK);
	q.search = "0%";
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_OK);
	assert_int_equal(total, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "sku_code")),
			    "S-100%");
	json_decref(rows);
	q.search = "s_";
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_OK);
	assert_int_equal(total, 1);
	json_decref(rows);
	q.search = "TITLE OF S-10";
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_OK);
	assert_int_equal(total, 2);
	json_decref(rows);
	items_release(it, 3);
	store_close(s);
	free(url);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrate_concurrently),
	    cmocka_unit_test(test_jsonb_payload),
	    cmocka_unit_test(test_numeric_prices_exact),
	    cmocka_unit_test(test_errors_name_table_and_sku),
	    cmocka_unit_test(test_statement_timeout),
	    cmocka_unit_test(test_repeated_keys_in_batch),
	    cmocka_unit_test(test_copy_and_values_agree),
	    cmocka_unit_test(test_search_escapes),
	    cmocka_unit_test(test_rows_match_sqlite),
	    cmocka_unit_test(test_reconnect_after_terminate),
	    cmocka_unit_test(test_reconnect_after_restart),
	    cmocka_unit_test(test_reconnect_gives_up),
	};

	const char *url = getenv("ES_TEST_PG_URL"), *req = getenv("ES_TEST_REQUIRE_PG");

	if (!url || !*url)
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			tests[i].test_func = req && !strcmp(req, "1") ? pg_required : skipped;
	return cmocka_run_group_tests(tests, testutil_pg_own_start, testutil_pg_own_stop);
}
