/*
 * The store tests' fixture and row helpers (see store_fixture.h).
 */
#include "store_fixture.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"
#include "xalloc.h"

/* ---- groups and tests ------------------------------------------------------ */

static struct store_group current;

static int group_setup(void **state)
{
	*state = &current;
	return 0;
}

int store_fixture_run(const struct CMUnitTest *tests, size_t n)
{
	char *urls[2];
	const char *names[2];
	int count = testutil_backends(urls, names), i, failed = 0;

	for (i = 0; i < count; i++) {
		current.backend = names[i];
		print_message("backend %s\n", names[i]);
		failed += _cmocka_run_group_tests(names[i], tests, n, group_setup, NULL);
	}
	testutil_backends_release(urls, count);
	return failed;
}

char *store_fixture_fresh_url(const char *backend, char **dir)
{
	*dir = NULL;
	if (!strcmp(backend, "sqlite")) {
		*dir = testutil_tmpdir();
		return xasprintf("%s/test.db", *dir);
	}
	return testutil_pg_fresh_db();
}

int store_fixture_setup(void **state)
{
	const struct store_group *g = *state;
	struct store_fixture *f = xcalloc(1, sizeof(*f));
	struct buf err = BUF_INIT;

	f->backend = g->backend;
	f->url = store_fixture_fresh_url(f->backend, &f->dir);
	*state = f;
	if (!f->url || store_open(f->url, &f->s, &err) != ERR_OK) {
		print_error("cannot open a fresh %s store: %s\n", f->backend, buf_str(&err));
		buf_release(&err);
		return -1;
	}
	buf_release(&err);
	if (strcmp(store_backend(f->s), f->backend)) {
		print_error("a fresh %s store says it is %s\n", f->backend, store_backend(f->s));
		return -1;
	}
	return 0;
}

int store_fixture_teardown(void **state)
{
	struct store_fixture *f = *state;

	if (!f)
		return 0;
	store_close(f->s);
	if (f->dir)
		testutil_rmrf(f->dir);
	free(f->dir);
	free(f->url);
	free(f);
	*state = NULL;
	return 0;
}

void store_fixture_exec(const struct store_fixture *f, const char *sqlite_sql, const char *pg_sql)
{
	if (!strcmp(f->backend, "sqlite")) {
		sqlite3 *db;
		char *msg = NULL;

		assert_int_equal(sqlite3_open(f->url, &db), SQLITE_OK);
		if (sqlite3_exec(db, sqlite_sql, NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("cannot run test SQL: %s", msg);
		sqlite3_close(db);
	} else {
		PGconn *c = PQconnectdb(f->url);
		PGresult *r = PQexec(c, pg_sql);

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_msg("cannot run test SQL: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
	}
}

/* ---- rows ------------------------------------------------------------------ */

const char sf_full_item[] =
    "{\"sku\":\"GP-HERO12\",\"locale\":\"en_US\",\"condition\":\"USED_EXCELLENT\","
    "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":7}},"
    "\"product\":{\"title\":\"GoPro HERO12 \\u00e9\\u5546\",\"mpn\":\"CHDHX\","
    "\"aspects\":{\"Part Number\":[\"PN-1\"],\"Model\":[\"HERO12\"]},"
    "\"imageUrls\":[\"a\",\"b\",\"c\"]}}";

const char sf_full_offer[] =
    "{\"offerId\":\"5005317010\",\"sku\":\"GP-HERO12\",\"marketplaceId\":\"EBAY_US\","
    "\"format\":\"FIXED_PRICE\",\"availableQuantity\":4,\"categoryId\":\"31388\","
    "\"pricingSummary\":{\"price\":{\"value\":\"329.99\",\"currency\":\"USD\"}},"
    "\"listing\":{\"listingId\":\"110551234567\",\"listingStatus\":\"ACTIVE\","
    "\"soldQuantity\":2},\"status\":\"PUBLISHED\","
    "\"listingStartDate\":\"2024-05-01T10:00:00.000Z\"}";

json_t *sf_parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("test JSON does not parse: %s: %s", e.text, text);
	return j;
}

/* The JSON of printf-formatted text, parsed (the caller decrefs). */
static json_t *parse_v(const char *fmt, va_list ap)
{
	char *text;
	json_t *j;

	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	j = sf_parse(text);
	free(text);
	return j;
}

/* Fails the test unless the mapping of j succeeded (failed 0); releases
 * j and why. */
static void mapped(int failed, json_t *j, struct buf *why, const char *what)
{
	if (failed)
		fail_msg("cannot map test %s: %s", what, buf_str(why));
	buf_release(why);
	json_decref(j);
}

struct item_row sf_item(const char *fmt, ...)
{
	struct item_row row;
	struct buf why = BUF_INIT;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = parse_v(fmt, ap);
	va_end(ap);
	mapped(mapping_item_from_json(j, &row, NULL, &why) != ERR_OK, j, &why, "item");
	return row;
}

struct offer_row sf_offer(const char *fmt, ...)
{
	struct offer_row row;
	struct buf why = BUF_INIT;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = parse_v(fmt, ap);
	va_end(ap);
	mapped(mapping_offer_from_json(j, &row, NULL, &why) != ERR_OK, j, &why, "offer");
	return row;
}

struct item_row sf_bare_item(const char *sku)
{
	struct item_row it;

	memset(&it, 0, sizeof(it));
	it.sku = xstrdup(sku);
	it.quantity = -1;
	return it;
}

void sf_release_items(struct item_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		item_row_release(&rows[i]);
}

void sf_release_offers(struct offer_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		offer_row_release(&rows[i]);
}

void sf_put_item(struct store *s, const char *user, const char *run, struct item_row row)
{
	CHECK(s, store_write_batch(s, user, run, &row, 1, NULL, 0));
	item_row_release(&row);
}

json_t *sf_get_item(struct store *s, const char *user, const char *sku)
{
	struct store_query q = {.user_id = user, .sku = sku};
	json_t *rows, *row;
	long long total;

	CHECK(s, store_list_items(s, &q, &rows, &total));
	assert_int_equal(json_array_size(rows), total);
	assert_true(total <= 1);
	row = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return row;
}

json_t *sf_get_offer(struct store *s, const char *user, const char *offer_id)
{
	struct store_query q = {.user_id = user};
	json_t *rows, *row = NULL, *v;
	long long total;
	size_t i;

	CHECK(s, store_list_offers(s, &q, &rows, &total));
	json_array_foreach(rows, i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "offer_id")), offer_id))
			row = json_incref(v);
	}
	json_decref(rows);
	return row;
}

const char *sf_str(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (!v)
		fail_msg("row has no column '%s'", key);
	return json_is_null(v) ? NULL : json_string_value(v);
}

long long sf_num(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (!json_is_integer(v))
		fail_msg("column '%s' is not a JSON integer", key);
	return json_integer_value(v);
}

void sf_assert_null_col(const json_t *row, const char *key)
{
	if (!json_is_null(json_object_get(row, key)))
		fail_msg("column '%s' is not null", key);
}

void sf_assert_iso_time(const char *t)
{
	assert_non_null(t);
	if (strlen(t) != 24 || t[4] != '-' || t[10] != 'T' || t[23] != 'Z')
		fail_msg("'%s' is not YYYY-MM-DDTHH:MM:SS.mmmZ", t);
}

/* The column of each row of a list result, joined with ',' (malloc'd). */
static char *column_of(json_t *rows, const char *key)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *v;

	json_array_foreach(rows, i, v)
	{
		const json_t *c = json_object_get(v, key);
		if (i)
			buf_addch(&b, ',');
		if (json_is_string(c))
			buf_adds(&b, json_string_value(c));
		else if (json_is_integer(c))
			buf_addf(&b, "%lld", (long long)json_integer_value(c));
		else
			buf_adds(&b, "null");
	}
	return buf_detach(&b, NULL);
}

void sf_expect_items(struct store *s, const struct store_query *q, const char *skus,
		     long long total_want)
{
	json_t *rows;
	long long total = -1;
	char *got;

	CHECK(s, store_list_items(s, q, &rows, &total));
	got = column_of(rows, "sku_code");
	if (strcmp(got, skus) != 0 || total != total_want)
		fail_msg("items: got [%s] total %lld, want [%s] total %lld (search '%s' sort '%s')",
			 got, total, skus, total_want, q->search ? q->search : "",
			 q->sort ? q->sort : "");
	free(got);
	json_decref(rows);
}

void sf_expect_offers(struct store *s, const struct store_query *q, const char *ids,
		      long long total_want)
{
	json_t *rows;
	long long total = -1;
	char *got;

	CHECK(s, store_list_offers(s, q, &rows, &total));
	got = column_of(rows, "offer_id");
	if (strcmp(got, ids) != 0 || total != total_want)
		fail_msg("offers: got [%s] total %lld, want [%s] total %lld", got, total, ids,
			 total_want);
	free(got);
	json_decref(rows);
}

struct run_row sf_run(const char *id, const char *user, long long started, long long heartbeat,
		      const char *owner)
{
	struct run_row r;

	memset(&r, 0, sizeof(r));
	r.id = (char *)id;
	r.user_id = (char *)user;
	r.kind = (char *)"offers";
	r.status = (char *)STORE_RUN_RUNNING;
	r.started_ms = started;
	r.heartbeat_ms = heartbeat;
	r.owner = (char *)owner;
	return r;
}

void sf_expect_status(struct store *s, const char *id, const char *status)
{
	struct run_row got;

	CHECK(s, store_run_get(s, NULL, id, &got));
	if (strcmp(got.status, status))
		fail_msg("run '%s' is %s, want %s", id, got.status, status);
	run_row_release(&got);
}
