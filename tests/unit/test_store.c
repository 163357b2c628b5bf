/*
 * Tests of the storage interface (store.h), run in full on every backend
 * that testutil_backends() offers: SQLite always, PostgreSQL when
 * ES_TEST_PG_URL names a server. Each backend is its own cmocka group and
 * each test gets a fresh, empty database, so a backend that fails any test
 * fails the file, and the output names which one.
 *
 * Rows are made by the real mapping from eBay-shaped JSON, so what is stored
 * is what a sync would store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

static const char *backend; /* "sqlite" or "postgres": the group running */

struct fixture {
	char *dir; /* SQLite's folder, or NULL */
	char *url;
	struct store *s;
};

/* A fresh empty database of the current backend (malloc'd URL). */
static char *fresh_url(char **dir)
{
	*dir = NULL;
	if (!strcmp(backend, "sqlite")) {
		*dir = testutil_tmpdir();
		return xasprintf("%s/test.db", *dir);
	}
	return testutil_pg_fresh_db();
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct buf err;

	buf_init(&err, 0);
	f->url = fresh_url(&f->dir);
	if (!f->url || store_open(f->url, &f->s, &err) != ERR_OK) {
		print_error("cannot open a fresh %s store: %s\n", backend, buf_str(&err));
		buf_release(&err);
		return -1;
	}
	assert_string_equal(store_backend(f->s), backend);
	buf_release(&err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	store_close(f->s);
	if (f->dir)
		testutil_rmrf(f->dir);
	free(f->dir);
	free(f->url);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* Fails the test with the store's message unless err is ERR_OK. */
#define CHECK(s, call)                                                                             \
	do {                                                                                       \
		enum error check_err_ = (call);                                                    \
		if (check_err_)                                                                    \
			fail_msg("%s failed: %s: %s", #call, error_strerror(check_err_),           \
				 store_errmsg(s));                                                 \
	} while (0)

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("test JSON does not parse: %s: %s", e.text, text);
	return j;
}

/* An item row mapped from printf-formatted eBay JSON. */
static struct item_row item(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct item_row item(const char *fmt, ...)
{
	struct item_row row;
	struct buf why;
	va_list ap;
	char *text;
	json_t *j;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	j = parse(text);
	buf_init(&why, 0);
	if (mapping_item_from_json(j, &row, NULL, &why))
		fail_msg("cannot map test item: %s", buf_str(&why));
	buf_release(&why);
	json_decref(j);
	free(text);
	return row;
}

static struct offer_row offer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct offer_row offer(const char *fmt, ...)
{
	struct offer_row row;
	struct buf why;
	va_list ap;
	char *text;
	json_t *j;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	j = parse(text);
	buf_init(&why, 0);
	if (mapping_offer_from_json(j, &row, NULL, &why))
		fail_msg("cannot map test offer: %s", buf_str(&why));
	buf_release(&why);
	json_decref(j);
	free(text);
	return row;
}

static void release_items(struct item_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		item_row_release(&rows[i]);
}

static void release_offers(struct offer_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		offer_row_release(&rows[i]);
}

/* Writes one item (and nothing else) for user in run. */
static void put_item(struct store *s, const char *user, const char *run, struct item_row row)
{
	CHECK(s, store_write_batch(s, user, run, &row, 1, NULL, 0));
	item_row_release(&row);
}

/* The stored inventory row of (user, sku) as JSON, or NULL; caller decrefs. */
static json_t *get_item(struct store *s, const char *user, const char *sku)
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

static json_t *get_offer(struct store *s, const char *user, const char *offer_id)
{
	struct store_query q = {.user_id = user};
	json_t *rows, *row = NULL, *v;
	long long total;
	size_t i;

	CHECK(s, store_list_offers(s, &q, &rows, &total));
	json_array_foreach(
	    rows, i, v) if (!strcmp(json_string_value(json_object_get(v, "offer_id")), offer_id))
	    row = json_incref(v);
	json_decref(rows);
	return row;
}

static const char *str(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (!v)
		fail_msg("row has no column '%s'", key);
	return json_is_null(v) ? NULL : json_string_value(v);
}

static long long num(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	if (!json_is_integer(v))
		fail_msg("column '%s' is not a JSON integer", key);
	return json_integer_value(v);
}

static void assert_null_col(const json_t *row, const char *key)
{
	if (!json_is_null(json_object_get(row, key)))
		fail_msg("column '%s' is not null", key);
}

/* The column of each row of a list result, joined with ',' (malloc'd). */
static char *column_of(json_t *rows, const char *key)
{
	struct buf b;
	size_t i;
	json_t *v;

	buf_init(&b, 0);
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

/* Lists items with q and checks the sku_code column and the total. */
static void expect_items(struct store *s, const struct store_query *q, const char *skus,
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

static void expect_offers(struct store *s, const struct store_query *q, const char *ids,
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

static void assert_iso_time(const char *t)
{
	assert_non_null(t);
	if (strlen(t) != 24 || t[4] != '-' || t[10] != 'T' || t[23] != 'Z')
		fail_msg("'%s' is not YYYY-MM-DDTHH:MM:SS.mmmZ", t);
}

/* ---- open and migrations ------------------------------------------------- */

static void test_open_concurrently(void **state)
{
	enum { N = 8 };
	char *dir, *url = fresh_url(&dir);
	pid_t pids[N];
	struct store *s;
	int i;

	assert_non_null(url);
	/* N processes open the same fresh database at once: all must succeed. */
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct store *c;
			struct buf msg = BUF_INIT;
			int ok = store_open(url, &c, &msg) == ERR_OK;

			if (ok)
				store_close(c);
			else
				fprintf(stderr, "opener %d: %s\n", i + 1, buf_str(&msg));
			_exit(ok ? 0 : 1);
		}
		assert_true(pids[i] > 0);
	}
	for (i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("opener %d of %d failed", i + 1, N);
	}
	if (store_open(url, &s, NULL) != ERR_OK)
		fail_msg("cannot open %s after the concurrent openers", url);
	put_item(s, "u", "r1", item("{\"sku\":\"AFTER\"}"));
	store_close(s);

	if (!strcmp(backend, "sqlite")) {
		sqlite3 *db;
		sqlite3_stmt *st;

		/* Each migration applied exactly once; the file is in WAL mode. */
		assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT count(*) - max(version) + 1, "
						    "min(version) FROM "
						    "schema_migrations",
						    -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		assert_int_equal(sqlite3_column_int(st, 1), 1);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	if (dir)
		testutil_rmrf(dir);
	free(dir);
	free(url);
}

static void test_open_errors(void **state)
{
	struct store *s = (struct store *)1;
	struct buf err;

	buf_init(&err, 0);
	assert_int_equal(store_open("", &s, &err), ERR_INVALID);
	assert_null(s);
	assert_non_null(strstr(buf_str(&err), "no database given"));
	if (!strcmp(backend, "sqlite")) {
		char *dir = testutil_tmpdir();
		char *bad = xasprintf("%s/missing/dir/x.db", dir);
		char *junk = xasprintf("%s/junk.db", dir);
		FILE *fp = fopen(junk, "w");

		buf_reset(&err);
		assert_int_equal(store_open(bad, &s, &err), ERR_DB);
		assert_null(s);
		assert_non_null(strstr(buf_str(&err), "cannot open database '"));
		assert_non_null(strstr(buf_str(&err), "missing/dir/x.db"));

		assert_non_null(fp);
		fputs("this is not a database, just text that is long enough to be a header.", fp);
		fclose(fp);
		buf_reset(&err);
		assert_int_equal(store_open(junk, &s, &err), ERR_DB);
		assert_non_null(strstr(buf_str(&err), "not a database"));
		testutil_rmrf(dir);
		free(dir);
		free(bad);
		free(junk);
	} else {
		buf_reset(&err);
		assert_int_not_equal(store_open("postgresql://127.0.0.1:1/nothing", &s, &err),
				     ERR_OK);
		assert_null(s);
		assert_true(err.len > 0);
	}
	buf_release(&err);
}

/* ---- inventory and offers ------------------------------------------------ */

static const char full_item[] =
    "{\"sku\":\"GP-HERO12\",\"locale\":\"en_US\",\"condition\":\"USED_EXCELLENT\","
    "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":7}},"
    "\"product\":{\"title\":\"GoPro HERO12 \\u00e9\\u5546\",\"mpn\":\"CHDHX\","
    "\"aspects\":{\"Part Number\":[\"PN-1\"],\"Model\":[\"HERO12\"]},"
    "\"imageUrls\":[\"a\",\"b\",\"c\"]}}";

static const char full_offer[] =
    "{\"offerId\":\"5005317010\",\"sku\":\"GP-HERO12\",\"marketplaceId\":\"EBAY_US\","
    "\"format\":\"FIXED_PRICE\",\"availableQuantity\":4,\"categoryId\":\"31388\","
    "\"pricingSummary\":{\"price\":{\"value\":\"329.99\",\"currency\":\"USD\"}},"
    "\"listing\":{\"listingId\":\"110551234567\",\"listingStatus\":\"ACTIVE\","
    "\"soldQuantity\":2},\"status\":\"PUBLISHED\","
    "\"listingStartDate\":\"2024-05-01T10:00:00.000Z\"}";

static void test_insert_read_back(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct item_row it = item("%s", full_item);
	struct offer_row of = offer("%s", full_offer);
	json_t *row, *want;

	mapping_item_apply_offers(&it, &of, 1);
	CHECK(s, store_write_batch(s, "alice", "run-1", &it, 1, &of, 1));

	row = get_item(s, "alice", "GP-HERO12");
	assert_non_null(row);
	assert_int_equal(json_object_size(row), 17); /* every column */
	assert_string_equal(str(row, "user_id"), "alice");
	assert_string_equal(str(row, "sku_code"), "GP-HERO12");
	assert_string_equal(str(row, "title"), "GoPro HERO12 \xc3\xa9\xe5\x95\x86");
	assert_string_equal(str(row, "condition"), "USED_EXCELLENT");
	assert_string_equal(str(row, "part_number"), "PN-1");
	assert_string_equal(str(row, "model"), "HERO12");
	assert_string_equal(str(row, "category"), "31388");
	assert_string_equal(str(row, "price_value"), "329.99");
	assert_string_equal(str(row, "price_currency"), "USD");
	assert_int_equal(num(row, "quantity"), 7);
	assert_string_equal(str(row, "ebay_listing_id"), "110551234567");
	assert_string_equal(str(row, "ebay_status"), "ACTIVE");
	assert_int_equal(num(row, "photo_count"), 3);
	assert_string_equal(str(row, "last_seen_run"), "run-1");
	assert_iso_time(str(row, "rec_created"));
	assert_string_equal(str(row, "rec_created"), str(row, "rec_updated"));
	want = parse(full_item);
	assert_true(json_is_object(json_object_get(row, "raw_payload")));
	assert_true(json_equal(json_object_get(row, "raw_payload"), want));
	json_decref(want);
	json_decref(row);

	row = get_offer(s, "alice", "5005317010");
	assert_non_null(row);
	assert_int_equal(json_object_size(row), 18);
	assert_string_equal(str(row, "user_id"), "alice");
	assert_string_equal(str(row, "sku_code"), "GP-HERO12");
	assert_string_equal(str(row, "marketplace_id"), "EBAY_US");
	assert_string_equal(str(row, "format"), "FIXED_PRICE");
	assert_string_equal(str(row, "status"), "PUBLISHED");
	assert_string_equal(str(row, "listing_id"), "110551234567");
	assert_string_equal(str(row, "listing_status"), "ACTIVE");
	assert_string_equal(str(row, "price_value"), "329.99");
	assert_string_equal(str(row, "price_currency"), "USD");
	assert_int_equal(num(row, "available_quantity"), 4);
	assert_int_equal(num(row, "sold_quantity"), 2);
	assert_string_equal(str(row, "category_id"), "31388");
	assert_string_equal(str(row, "listing_start_date"), "2024-05-01T10:00:00.000Z");
	assert_string_equal(str(row, "last_seen_run"), "run-1");
	assert_iso_time(str(row, "rec_created"));
	want = parse(full_offer);
	assert_true(json_equal(json_object_get(row, "raw_payload"), want));
	json_decref(want);
	json_decref(row);

	/* Absent values read back as null. */
	put_item(s, "alice", "run-1", item("{\"sku\":\"BARE\"}"));
	row = get_item(s, "alice", "BARE");
	assert_null_col(row, "title");
	assert_null_col(row, "condition");
	assert_null_col(row, "quantity");
	assert_null_col(row, "price_value");
	assert_null_col(row, "category");
	assert_string_equal(str(row, "ebay_status"), "UNKNOWN");
	assert_int_equal(num(row, "photo_count"), 0);
	json_decref(row);
	item_row_release(&it);
	offer_row_release(&of);
}

static void test_update_keeps_rec_created(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct offer_row of =
	    offer("{\"offerId\":\"O1\",\"sku\":\"U1\",\"status\":\"UNPUBLISHED\"}");
	json_t *before, *after;
	char *created;

	put_item(s, "u", "run-1",
		 item("{\"sku\":\"U1\",\"product\":{\"title\":\"old\"},\"availability\":"
		      "{\"shipToLocationAvailability\":{\"quantity\":1}}}"));
	CHECK(s, store_write_batch(s, "u", "run-1", NULL, 0, &of, 1));
	offer_row_release(&of);
	before = get_item(s, "u", "U1");
	created = xstrdup(str(before, "rec_created"));
	timeutil_sleep_ms(15);

	put_item(s, "u", "run-2", item("{\"sku\":\"U1\",\"product\":{\"title\":\"new\"}}"));
	after = get_item(s, "u", "U1");
	assert_string_equal(str(after, "title"), "new");
	assert_null_col(after, "quantity"); /* no longer sent: updated to absent */
	assert_string_equal(str(after, "rec_created"), created);
	assert_true(strcmp(str(after, "rec_updated"), created) > 0);
	assert_string_equal(str(after, "last_seen_run"), "run-2");
	json_decref(before);
	json_decref(after);
	free(created);

	of = offer("{\"offerId\":\"O1\",\"sku\":\"U1\",\"status\":\"PUBLISHED\"}");
	before = get_offer(s, "u", "O1");
	CHECK(s, store_write_batch(s, "u", "run-2", NULL, 0, &of, 1));
	offer_row_release(&of);
	after = get_offer(s, "u", "O1");
	assert_string_equal(str(after, "status"), "PUBLISHED");
	assert_string_equal(str(after, "rec_created"), str(before, "rec_created"));
	assert_true(strcmp(str(after, "rec_updated"), str(before, "rec_updated")) > 0);
	assert_string_equal(str(after, "last_seen_run"), "run-2");
	json_decref(before);
	json_decref(after);
}

static void test_unknown_offer_fields_keep_derived(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct offer_row of = offer("%s", full_offer);
	struct item_row it = item("{\"sku\":\"GP-HERO12\",\"product\":{\"title\":\"t1\"}}");
	json_t *row;

	mapping_item_apply_offers(&it, &of, 1);
	put_item(s, "u", "run-1", it);
	offer_row_release(&of);

	/* The inventory sync knows nothing of offers: the five columns stay. */
	put_item(s, "u", "run-2",
		 item("{\"sku\":\"GP-HERO12\",\"product\":{\"title\":\"t2\"},\"availability\":"
		      "{\"shipToLocationAvailability\":{\"quantity\":9}}}"));
	row = get_item(s, "u", "GP-HERO12");
	assert_string_equal(str(row, "title"), "t2");
	assert_int_equal(num(row, "quantity"), 9);
	assert_string_equal(str(row, "price_value"), "329.99");
	assert_string_equal(str(row, "price_currency"), "USD");
	assert_string_equal(str(row, "ebay_listing_id"), "110551234567");
	assert_string_equal(str(row, "ebay_status"), "ACTIVE");
	assert_string_equal(str(row, "category"), "31388");
	json_decref(row);

	/* Known again with no offers: the store takes UNKNOWN and nulls. */
	it = item("{\"sku\":\"GP-HERO12\"}");
	mapping_item_apply_offers(&it, NULL, 0);
	put_item(s, "u", "run-3", it);
	row = get_item(s, "u", "GP-HERO12");
	assert_string_equal(str(row, "ebay_status"), "UNKNOWN");
	assert_null_col(row, "price_value");
	assert_null_col(row, "ebay_listing_id");
	assert_null_col(row, "category");
	json_decref(row);

	/* A new row that knows nothing gets NULLs and UNKNOWN, even if the
	 * caller left values in the offer columns. */
	it = item("{\"sku\":\"FRESH\"}");
	it.price_value = xstrdup("1.00");
	it.ebay_status = xstrdup("ACTIVE");
	put_item(s, "u", "run-3", it);
	row = get_item(s, "u", "FRESH");
	assert_null_col(row, "price_value");
	assert_string_equal(str(row, "ebay_status"), "UNKNOWN");
	json_decref(row);
}

/* An item row as the offers sync makes it: the SKU, no payload. */
static struct item_row bare_item(const char *sku)
{
	struct item_row it;

	memset(&it, 0, sizeof(it));
	it.sku = xstrdup(sku);
	it.quantity = -1;
	return it;
}

static void test_item_without_payload_updates_offer_fields(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct store_query q = {.user_id = "u"};
	struct offer_row of = offer("%s", full_offer);
	struct item_row it;
	json_t *row, *want;
	char *created;

	put_item(s, "u", "run-1", item("%s", full_item));
	row = get_item(s, "u", "GP-HERO12");
	created = xstrdup(str(row, "rec_created"));
	json_decref(row);
	timeutil_sleep_ms(15);

	/* The offers sync: offer columns change, everything else stays. */
	it = bare_item("GP-HERO12");
	mapping_item_apply_offers(&it, &of, 1);
	CHECK(s, store_write_batch(s, "u", "run-2", &it, 1, &of, 1));
	item_row_release(&it);
	row = get_item(s, "u", "GP-HERO12");
	assert_string_equal(str(row, "price_value"), "329.99");
	assert_string_equal(str(row, "price_currency"), "USD");
	assert_string_equal(str(row, "ebay_listing_id"), "110551234567");
	assert_string_equal(str(row, "ebay_status"), "ACTIVE");
	assert_string_equal(str(row, "category"), "31388");
	assert_string_equal(str(row, "title"), "GoPro HERO12 \xc3\xa9\xe5\x95\x86");
	assert_string_equal(str(row, "condition"), "USED_EXCELLENT");
	assert_string_equal(str(row, "part_number"), "PN-1");
	assert_string_equal(str(row, "model"), "HERO12");
	assert_int_equal(num(row, "quantity"), 7);
	assert_int_equal(num(row, "photo_count"), 3);
	assert_string_equal(str(row, "last_seen_run"), "run-1");
	assert_string_equal(str(row, "rec_created"), created);
	assert_true(strcmp(str(row, "rec_updated"), created) > 0);
	want = parse(full_item);
	assert_true(json_equal(json_object_get(row, "raw_payload"), want));
	json_decref(want);
	json_decref(row);
	expect_offers(s, &q, "5005317010", 1);
	free(created);

	/* No offers any more: UNKNOWN and NULLs; the category, which no offer
	 * names now, stays; nothing else changes. */
	it = bare_item("GP-HERO12");
	mapping_item_apply_offers(&it, NULL, 0);
	CHECK(s, store_write_batch(s, "u", "run-3", &it, 1, NULL, 0));
	item_row_release(&it);
	row = get_item(s, "u", "GP-HERO12");
	assert_string_equal(str(row, "ebay_status"), "UNKNOWN");
	assert_null_col(row, "price_value");
	assert_null_col(row, "price_currency");
	assert_null_col(row, "ebay_listing_id");
	assert_string_equal(str(row, "category"), "31388");
	assert_string_equal(str(row, "condition"), "USED_EXCELLENT");
	assert_int_equal(num(row, "quantity"), 7);
	json_decref(row);

	/* No row for the SKU (or only another user's): none is created. */
	put_item(s, "other", "run-1", item("{\"sku\":\"ELSEWHERE\"}"));
	it = bare_item("ELSEWHERE");
	mapping_item_apply_offers(&it, &of, 1);
	CHECK(s, store_write_batch(s, "u", "run-3", &it, 1, NULL, 0));
	item_row_release(&it);
	expect_items(s, &q, "GP-HERO12", 1);
	row = get_item(s, "other", "ELSEWHERE");
	assert_string_equal(str(row, "ebay_status"), "UNKNOWN");
	json_decref(row);
	offer_row_release(&of);
}

/* A price that is not a decimal amount, written straight to the store (as
 * item, offer and offer-derived row): every backend stores NULL, the rest
 * of the row as given; a decimal one is stored as written. */
static void test_non_decimal_price_is_null(void **state)
{
	static const char *const bad[] = {"N/A", "", "-1.00", "1e3", ".5", "19,99", "12.", "0x1F"};
	struct store *s = ((struct fixture *)*state)->s;
	json_t *row;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct item_row it = item("{\"sku\":\"P-%zu\"}", i), derived;
		struct offer_row of = offer("{\"offerId\":\"O-%zu\",\"sku\":\"P-%zu\"}", i, i);
		char sku[16], id[16];

		snprintf(sku, sizeof(sku), "P-%zu", i);
		snprintf(id, sizeof(id), "O-%zu", i);
		it.price_value = xstrdup(bad[i]);
		it.price_currency = xstrdup("USD");
		it.ebay_status = xstrdup("ACTIVE");
		it.offer_fields_known = 1;
		of.price_value = xstrdup(bad[i]);
		CHECK(s, store_write_batch(s, "u", "run-1", &it, 1, &of, 1));
		row = get_item(s, "u", sku);
		assert_null_col(row, "price_value");
		assert_string_equal(str(row, "price_currency"), "USD");
		assert_string_equal(str(row, "ebay_status"), "ACTIVE");
		json_decref(row);
		row = get_offer(s, "u", id);
		assert_non_null(row);
		assert_null_col(row, "price_value");
		json_decref(row);

		/* The offers sync's row for the SKU, after a decimal price. */
		derived = bare_item(sku);
		derived.price_value = xstrdup("5.00");
		derived.offer_fields_known = 1;
		CHECK(s, store_write_batch(s, "u", "run-2", &derived, 1, NULL, 0));
		row = get_item(s, "u", sku);
		assert_string_equal(str(row, "price_value"), "5.00");
		json_decref(row);
		free(derived.price_value);
		derived.price_value = xstrdup(bad[i]);
		CHECK(s, store_write_batch(s, "u", "run-3", &derived, 1, NULL, 0));
		row = get_item(s, "u", sku);
		assert_null_col(row, "price_value");
		json_decref(row);
		item_row_release(&derived);
		item_row_release(&it);
		offer_row_release(&of);
	}
}

static void test_two_users_same_sku(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	const char *users[] = {"alice", "bob"};
	json_t *row;
	int i;

	for (i = 0; i < 2; i++) {
		struct item_row it =
		    item("{\"sku\":\"SAME\",\"product\":{\"title\":\"%s's\"}}", users[i]);
		struct offer_row of =
		    offer("{\"offerId\":\"777\",\"sku\":\"SAME\",\"pricingSummary\":"
			  "{\"price\":{\"value\":\"%d.00\",\"currency\":\"USD\"}}}",
			  10 + i);
		CHECK(s, store_write_batch(s, users[i], "r", &it, 1, &of, 1));
		item_row_release(&it);
		offer_row_release(&of);
	}
	for (i = 0; i < 2; i++) {
		char want[32];
		struct store_query q = {.user_id = users[i]};

		row = get_item(s, users[i], "SAME");
		snprintf(want, sizeof(want), "%s's", users[i]);
		assert_string_equal(str(row, "title"), want);
		assert_string_equal(str(row, "user_id"), users[i]);
		json_decref(row);
		row = get_offer(s, users[i], "777");
		snprintf(want, sizeof(want), "%d.00", 10 + i);
		assert_string_equal(str(row, "price_value"), want);
		json_decref(row);
		expect_items(s, &q, "SAME", 1);
		expect_offers(s, &q, "777", 1);
	}
	assert_null(get_item(s, "carol", "SAME"));
}

static void test_batch_of_1000(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	enum { N = 1000 };
	struct item_row *items = xcalloc(N, sizeof(*items));
	struct offer_row *offers = xcalloc(N, sizeof(*offers));
	struct store_query q = {.user_id = "bulk", .limit = 1};
	long long t0, ms, total;
	json_t *rows, *row;
	int i;

	for (i = 0; i < N; i++) {
		items[i] =
		    item("{\"sku\":\"BULK-%04d\",\"product\":{\"title\":\"Item %d\"},"
			 "\"availability\":{\"shipToLocationAvailability\":{\"quantity\":%d}}}",
			 i, i, i);
		offers[i] = offer("{\"offerId\":\"OF-%04d\",\"sku\":\"BULK-%04d\",\"status\":"
				  "\"PUBLISHED\",\"availableQuantity\":%d}",
				  i, i, i);
	}
	t0 = timeutil_mono_ms();
	CHECK(s, store_write_batch(s, "bulk", "r1", items, N, offers, N));
	ms = timeutil_mono_ms() - t0;
	print_message("[ %s ] 1000 items + 1000 offers in one batch: %lld ms\n", backend, ms);

	CHECK(s, store_list_items(s, &q, &rows, &total));
	assert_int_equal(total, N);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	CHECK(s, store_list_offers(s, &q, &rows, &total));
	assert_int_equal(total, N);
	json_decref(rows);
	row = get_item(s, "bulk", "BULK-0999");
	assert_string_equal(str(row, "title"), "Item 999");
	assert_int_equal(num(row, "quantity"), 999);
	json_decref(row);

	/* The same batch again: upserts, still 1000 rows. */
	CHECK(s, store_write_batch(s, "bulk", "r2", items, N, offers, N));
	CHECK(s, store_list_items(s, &q, &rows, &total));
	assert_int_equal(total, N);
	json_decref(rows);
	release_items(items, N);
	release_offers(offers, N);
	free(items);
	free(offers);
}

/* Runs SQL on the fixture's database behind the store's back. */
static void exec_direct(const struct fixture *f, const char *sqlite_sql, const char *pg_sql)
{
	if (!strcmp(backend, "sqlite")) {
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

static void test_batch_is_atomic(void **state)
{
	struct fixture *f = *state;
	struct store *s = f->s;
	struct item_row items[2];
	struct offer_row of;
	struct store_query q = {.user_id = "u"};

	/* The database refuses one row in the middle of a batch: nothing of the
	 * batch stays, and the message names the table and the SKU. */
	exec_direct(f,
		    "CREATE TRIGGER boom BEFORE INSERT ON inventory WHEN NEW.sku_code = 'BOOM' "
		    "BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
		    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		    "IF NEW.sku_code = 'BOOM' THEN RAISE EXCEPTION 'boom refused'; END IF; "
		    "RETURN NEW; END $$; CREATE TRIGGER boom BEFORE INSERT ON inventory "
		    "FOR EACH ROW EXECUTE FUNCTION boom()");
	items[0] = item("{\"sku\":\"FIRST\"}");
	items[1] = item("{\"sku\":\"BOOM\"}");
	of = offer("{\"offerId\":\"OF-1\",\"sku\":\"FIRST\"}");
	assert_int_equal(store_write_batch(s, "u", "r", items, 2, &of, 1), ERR_DB);
	assert_non_null(strstr(store_errmsg(s), "inventory row for sku 'BOOM'"));
	assert_non_null(strstr(store_errmsg(s), "boom refused"));
	expect_items(s, &q, "", 0);
	expect_offers(s, &q, "", 0);
	CHECK(s, store_write_batch(s, "u", "r", items, 1, &of, 1));
	expect_items(s, &q, "FIRST", 1);
	expect_offers(s, &q, "OF-1", 1);
	release_items(items, 2);
	offer_row_release(&of);
	q.user_id = "v";

	items[0] = item("{\"sku\":\"GOOD\"}");
	items[1] = item("{\"sku\":\"BAD\"}");
	FREE_AND_NULL(items[1].sku);
	assert_int_equal(store_write_batch(s, "v", "r", items, 2, NULL, 0), ERR_INVALID);
	assert_non_null(strstr(store_errmsg(s), "inventory row"));
	expect_items(s, &q, "", 0);

	of = offer("{\"offerId\":\"NOSKU\"}");
	assert_int_equal(store_write_batch(s, "v", "r", items, 1, &of, 1), ERR_INVALID);
	assert_non_null(strstr(store_errmsg(s), "offer 'NOSKU'"));
	expect_items(s, &q, "", 0);
	assert_int_equal(store_write_batch(s, NULL, "r", items, 1, NULL, 0), ERR_INVALID);
	expect_items(s, &q, "", 0);

	/* And after the refusals, the connection still works. */
	CHECK(s, store_write_batch(s, "v", "r", items, 1, NULL, 0));
	expect_items(s, &q, "GOOD", 1);
	assert_string_equal(store_errmsg(s), "");
	release_items(items, 2);
	offer_row_release(&of);
}

/* ---- listing ------------------------------------------------------------- */

static void seed_list(struct store *s)
{
	static const struct {
		const char *sku, *title, *cond, *status;
		int qty;
		const char *price;
	} rows[] = {
	    {"SKU-001", "Red Widget", "NEW", "PUBLISHED", 5, "9.99"},
	    {"SKU-002", "blue WIDGET", "USED_GOOD", "UNPUBLISHED", 1, "10.00"},
	    {"sku-003", "Gadget", "NEW", "UNPUBLISHED", 3, "100.50"},
	    {"50%_off", "Sale", "NEW", NULL, 0, NULL},
	    {"50x-off", "Decoy one", "USED_GOOD", NULL, 0, NULL},
	    {"a_b", "Under score", "NEW", NULL, 0, NULL},
	    {"axb", "Decoy two", "NEW", NULL, 0, NULL},
	    {"back\\slash", "Back slash", "NEW", NULL, 0, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *j =
		    json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:i}}}", "sku", rows[i].sku, "condition",
			      rows[i].cond, "product", "title", rows[i].title, "availability",
			      "shipToLocationAvailability", "quantity", rows[i].qty);
		char *text = json_dumps(j, JSON_COMPACT);
		struct item_row it = item("%s", text);

		if (rows[i].status) {
			struct offer_row of =
			    offer("{\"offerId\":\"O-%zu\",\"sku\":\"x\",\"status\":\"%s\","
				  "\"pricingSummary\":{\"price\":{\"value\":\"%s\",\"currency\":"
				  "\"USD\"}}}",
				  i, rows[i].status, rows[i].price);
			mapping_item_apply_offers(&it, &of, 1);
			offer_row_release(&of);
		}
		put_item(s, "lister", "r", it);
		free(text);
		json_decref(j);
	}
	/* Another user's rows never show up. */
	put_item(s, "other", "r", item("{\"sku\":\"SKU-001\",\"product\":{\"title\":\"Red\"}}"));
}

static void test_list_filters_and_search(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct store_query q = {.user_id = "lister"};

	seed_list(s);
	expect_items(s, &q, "50%_off,50x-off,SKU-001,SKU-002,a_b,axb,back\\slash,sku-003", 8);

	/* Case-insensitive substring of the title or the SKU. */
	q.search = "widget";
	expect_items(s, &q, "SKU-001,SKU-002", 2);
	q.search = "WiDgEt";
	expect_items(s, &q, "SKU-001,SKU-002", 2);
	q.search = "sku-00";
	expect_items(s, &q, "SKU-001,SKU-002,sku-003", 3);
	q.search = "decoy";
	expect_items(s, &q, "50x-off,axb", 2);

	/* The user's % and _ are literal characters, not wildcards. */
	q.search = "%";
	expect_items(s, &q, "50%_off", 1);
	q.search = "0%_o";
	expect_items(s, &q, "50%_off", 1);
	q.search = "_";
	expect_items(s, &q, "50%_off,a_b", 2);
	q.search = "a_b";
	expect_items(s, &q, "a_b", 1);
	q.search = "\\";
	expect_items(s, &q, "back\\slash", 1);
	q.search = "nothing-like-this";
	expect_items(s, &q, "", 0);
	q.search = "";
	expect_items(s, &q, "50%_off,50x-off,SKU-001,SKU-002,a_b,axb,back\\slash,sku-003", 8);

	/* Status, condition and exact SKU, alone and together. */
	q.search = NULL;
	q.status = "ACTIVE";
	expect_items(s, &q, "SKU-001", 1);
	q.status = "ENDED";
	expect_items(s, &q, "SKU-002,sku-003", 2);
	q.status = "UNKNOWN";
	expect_items(s, &q, "50%_off,50x-off,a_b,axb,back\\slash", 5);
	q.status = NULL;
	q.condition = "USED_GOOD";
	expect_items(s, &q, "50x-off,SKU-002", 2);
	q.search = "widget";
	expect_items(s, &q, "SKU-002", 1);
	q.search = NULL;
	q.condition = NULL;
	q.sku = "SKU-001";
	expect_items(s, &q, "SKU-001", 1);
	q.sku = "sku-001"; /* exact, case and all */
	expect_items(s, &q, "", 0);
	q.sku = "50%_off";
	expect_items(s, &q, "50%_off", 1);

	q.sku = NULL;
	q.user_id = "other";
	expect_items(s, &q, "SKU-001", 1);
	q.user_id = "nobody";
	expect_items(s, &q, "", 0);
}

static void test_list_sort_and_paging(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct store_query q = {.user_id = "lister", .search = "sku-"};
	json_t *rows = (json_t *)1;
	long long total = -1;

	seed_list(s);
	q.sort = "title";
	expect_items(s, &q, "sku-003,SKU-001,SKU-002", 3); /* Gadget, Red Widget, blue WIDGET */
	q.desc = 1;
	expect_items(s, &q, "SKU-002,SKU-001,sku-003", 3);
	q.desc = 0;
	q.sort = "quantity";
	expect_items(s, &q, "SKU-002,sku-003,SKU-001", 3);
	q.sort = "price_value"; /* numerically: 9.99 < 10.00 < 100.50 */
	expect_items(s, &q, "SKU-001,SKU-002,sku-003", 3);
	q.desc = 1;
	expect_items(s, &q, "sku-003,SKU-002,SKU-001", 3);

	/* NULLs last in both directions; ties broken by SKU. */
	q.search = NULL;
	q.desc = 0;
	expect_items(s, &q, "SKU-001,SKU-002,sku-003,50%_off,50x-off,a_b,axb,back\\slash", 8);
	q.desc = 1;
	expect_items(s, &q, "sku-003,SKU-002,SKU-001,back\\slash,axb,a_b,50x-off,50%_off", 8);

	/* Paging: total counts all matches. */
	q.desc = 0;
	q.sort = NULL; /* sku_code */
	q.limit = 3;
	expect_items(s, &q, "50%_off,50x-off,SKU-001", 8);
	q.offset = 3;
	expect_items(s, &q, "SKU-002,a_b,axb", 8);
	q.offset = 6;
	expect_items(s, &q, "back\\slash,sku-003", 8);
	q.offset = 100;
	expect_items(s, &q, "", 8);
	q.offset = 0;
	q.limit = 2;
	q.condition = "NEW";
	expect_items(s, &q, "50%_off,SKU-001", 6);

	/* Only allow-listed columns sort. */
	q.sort = "bogus";
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
	assert_string_equal(store_errmsg(s), "cannot sort by 'bogus'");
	assert_null(rows);
	q.sort = "title; DROP TABLE inventory";
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
	assert_string_equal(store_errmsg(s), "cannot sort by 'title; DROP TABLE inventory'");
	q.sort = "raw_payload";
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
	q.sort = "offer_id"; /* an offers column */
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
	q.sort = "sku_code";
	q.condition = NULL;
	q.limit = 0;
	expect_items(s, &q, "50%_off,50x-off,SKU-001,SKU-002,a_b,axb,back\\slash,sku-003", 8);

	q.user_id = NULL;
	assert_int_equal(store_list_items(s, &q, &rows, &total), ERR_INVALID);
	assert_int_equal(store_list_offers(s, &q, &rows, &total), ERR_INVALID);
}

static void test_list_offers(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct offer_row of[4];
	struct store_query q = {.user_id = "u"};
	json_t *rows = NULL;
	long long total;

	of[0] =
	    offer("{\"offerId\":\"1\",\"sku\":\"CAM-1\",\"status\":\"PUBLISHED\","
		  "\"availableQuantity\":5,\"pricingSummary\":{\"price\":{\"value\":\"20.00\"}}}");
	of[1] =
	    offer("{\"offerId\":\"2\",\"sku\":\"CAM-1\",\"status\":\"UNPUBLISHED\","
		  "\"availableQuantity\":1,\"pricingSummary\":{\"price\":{\"value\":\"3.50\"}}}");
	of[2] =
	    offer("{\"offerId\":\"3\",\"sku\":\"lens_2\",\"status\":\"PUBLISHED\","
		  "\"availableQuantity\":9,\"pricingSummary\":{\"price\":{\"value\":\"100\"}}}");
	of[3] = offer("{\"offerId\":\"4\",\"sku\":\"lensx2\",\"status\":\"PUBLISHED\"}");
	CHECK(s, store_write_batch(s, "u", "r", NULL, 0, of, 4));
	release_offers(of, 4);

	expect_offers(s, &q, "1,2,3,4", 4);
	q.search = "cam";
	expect_offers(s, &q, "1,2", 2);
	q.search = "s_2";
	expect_offers(s, &q, "3", 1);
	q.search = NULL;
	q.status = "PUBLISHED";
	expect_offers(s, &q, "1,3,4", 3);
	q.status = NULL;
	q.sku = "CAM-1";
	expect_offers(s, &q, "1,2", 2);
	q.sku = NULL;
	q.sort = "price_value";
	expect_offers(s, &q, "2,1,3,4", 4);
	q.sort = "available_quantity";
	q.desc = 1;
	expect_offers(s, &q, "3,1,2,4", 4);
	q.limit = 1;
	q.offset = 1;
	expect_offers(s, &q, "1", 4);
	q.sort = "title"; /* not an offers column */
	assert_int_equal(store_list_offers(s, &q, &rows, &total), ERR_INVALID);
	assert_string_equal(store_errmsg(s), "cannot sort by 'title'");
}

static void test_hostile_skus_round_trip(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	static const char *const skus[] = {
	    "A B  C",
	    "a/b",
	    "#1",
	    "100%",
	    "a+b",
	    "it's \"quoted\"",
	    "Ünï-商品-🚀",
	    "'; DROP TABLE inventory; --",
	    "01234567890123456789012345678901234567890123456789",
	};
	size_t i;

	for (i = 0; i < sizeof(skus) / sizeof(skus[0]); i++) {
		json_t *j = json_pack("{s:s}", "sku", skus[i]);
		char *text = json_dumps(j, JSON_COMPACT);
		struct store_query q = {.user_id = "h", .search = skus[i]};
		json_t *row;

		put_item(s, "h", "r", item("%s", text));
		row = get_item(s, "h", skus[i]);
		if (!row)
			fail_msg("sku '%s' not found by exact match", skus[i]);
		assert_string_equal(str(row, "sku_code"), skus[i]);
		json_decref(row);
		expect_items(s, &q, skus[i], 1);
		free(text);
		json_decref(j);
	}
}

/* ---- runs, events, failures, cursors, users ------------------------------ */

static struct run_row run(const char *id, const char *user, long long started, long long heartbeat,
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

static void test_runs(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct run_row r1 = run("offers_1_a", "alice", 1000, 1000, "h:1");
	struct run_row r2 = run("offers_3_b", "alice", 3000, 3000, "h:1");
	struct run_row r3 = run("offers_2_c", "bob", 2000, 2000, "h:2");
	struct run_row got, *list;
	size_t n;
	long long total;

	r2.kind = (char *)"all"; /* one running run of a kind per user */
	CHECK(s, store_run_insert(s, &r1));
	CHECK(s, store_run_insert(s, &r2));
	CHECK(s, store_run_insert(s, &r3));
	assert_int_equal(store_run_insert(s, &r1), ERR_CONFLICT);

	CHECK(s, store_run_get(s, "alice", "offers_1_a", &got));
	assert_string_equal(got.id, "offers_1_a");
	assert_string_equal(got.user_id, "alice");
	assert_string_equal(got.kind, "offers");
	assert_string_equal(got.status, "running");
	assert_int_equal(got.started_ms, 1000);
	assert_int_equal(got.heartbeat_ms, 1000);
	assert_int_equal(got.finished_ms, 0);
	assert_int_equal(got.fetched + got.stored + got.failed + got.total, 0);
	assert_int_equal(got.stop_requested, 0);
	assert_null(got.error);
	assert_string_equal(got.owner, "h:1");
	run_row_release(&got);

	r1.status = (char *)STORE_RUN_FAILED;
	r1.fetched = 10;
	r1.stored = 8;
	r1.failed = 2;
	r1.total = 12;
	r1.heartbeat_ms = 4000;
	r1.finished_ms = 4500;
	r1.error = (char *)"eBay answered 401: Invalid access token";
	CHECK(s, store_run_update(s, &r1));
	CHECK(s, store_run_get(s, NULL, "offers_1_a", &got));
	assert_string_equal(got.status, "failed");
	assert_int_equal(got.fetched, 10);
	assert_int_equal(got.stored, 8);
	assert_int_equal(got.failed, 2);
	assert_int_equal(got.total, 12);
	assert_int_equal(got.heartbeat_ms, 4000);
	assert_int_equal(got.finished_ms, 4500);
	assert_string_equal(got.error, "eBay answered 401: Invalid access token");
	assert_int_equal(got.started_ms, 1000); /* not an updated column */
	run_row_release(&got);
	r3.id = (char *)"no_such_run";
	assert_int_equal(store_run_update(s, &r3), ERR_NOTFOUND);
	r3.id = (char *)"offers_2_c";

	/* Newest first, paged, with the total. */
	CHECK(s, store_run_list(s, "alice", 0, 0, &list, &n, &total));
	assert_int_equal(n, 2);
	assert_int_equal(total, 2);
	assert_string_equal(list[0].id, "offers_3_b");
	assert_string_equal(list[1].id, "offers_1_a");
	assert_string_equal(list[1].status, "failed");
	while (n)
		run_row_release(&list[--n]);
	free(list);
	CHECK(s, store_run_list(s, "alice", 1, 1, &list, &n, &total));
	assert_int_equal(n, 1);
	assert_int_equal(total, 2);
	assert_string_equal(list[0].id, "offers_1_a");
	run_row_release(&list[0]);
	free(list);

	/* Another user's run is not found, by get and by stop. */
	assert_int_equal(store_run_get(s, "alice", "offers_2_c", &got), ERR_NOTFOUND);
	assert_int_equal(store_run_get(s, "alice", "nope", &got), ERR_NOTFOUND);
	assert_int_equal(store_run_request_stop(s, "alice", "offers_2_c"), ERR_NOTFOUND);
	CHECK(s, store_run_get(s, "bob", "offers_2_c", &got));
	assert_int_equal(got.stop_requested, 0);
	run_row_release(&got);

	CHECK(s, store_run_request_stop(s, "alice", "offers_3_b"));
	CHECK(s, store_run_request_stop(s, "alice", "offers_3_b")); /* again: fine */
	CHECK(s, store_run_get(s, "alice", "offers_3_b", &got));
	assert_int_equal(got.stop_requested, 1);
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	/* A finished run cannot be stopped; a later update keeps the flag. */
	assert_int_equal(store_run_request_stop(s, "alice", "offers_1_a"), ERR_CONFLICT);
	r2.heartbeat_ms = 3500;
	CHECK(s, store_run_update(s, &r2));
	CHECK(s, store_run_get(s, "alice", "offers_3_b", &got));
	assert_int_equal(got.stop_requested, 1);
	run_row_release(&got);
}

static void test_runs_interrupt_stale(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	long long now = timeutil_wall_ms();
	struct run_row stale = run("stale", "u", now - 7200000, now - 3600000, "h:9");
	struct run_row fresh = run("fresh", "u", now, now, "h:1");
	struct run_row mine = run("mine", "u", now, now, "h:2");
	struct run_row done = run("done", "u", now - 7200000, now - 3600000, "h:9");
	struct run_row got;
	long long count = -1;

	/* One running run of a kind per user. */
	fresh.kind = (char *)"inventory";
	mine.kind = (char *)"all";
	done.status = (char *)STORE_RUN_DONE;
	done.finished_ms = now - 3600000;
	CHECK(s, store_run_insert(s, &stale));
	CHECK(s, store_run_insert(s, &fresh));
	CHECK(s, store_run_insert(s, &mine));
	CHECK(s, store_run_insert(s, &done));

	CHECK(s, store_runs_interrupt_stale(s, NULL, 60000, &count));
	assert_int_equal(count, 1);
	CHECK(s, store_run_get(s, NULL, "stale", &got));
	assert_string_equal(got.status, "interrupted");
	assert_true(got.finished_ms >= now);
	run_row_release(&got);
	CHECK(s, store_run_get(s, NULL, "fresh", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	CHECK(s, store_run_get(s, NULL, "done", &got));
	assert_string_equal(got.status, "done");
	run_row_release(&got);

	/* With an owner: that owner's running runs too, however fresh. */
	CHECK(s, store_runs_interrupt_stale(s, "h:2", 60000, &count));
	assert_int_equal(count, 1);
	CHECK(s, store_run_get(s, NULL, "mine", &got));
	assert_string_equal(got.status, "interrupted");
	run_row_release(&got);
	CHECK(s, store_run_get(s, NULL, "fresh", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	CHECK(s, store_runs_interrupt_stale(s, NULL, 60000, &count));
	assert_int_equal(count, 0);
}

/* At most one run of a kind runs for a user, per the schema: a second
 * running insert is refused and names the first; another kind, another
 * user, or the same kind once the first has ended are fine. */
static void test_one_running_run(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct run_row first = run("offers_1_a", "alice", 1000, 1000, "h:1");
	struct run_row second = run("offers_2_b", "alice", 2000, 2000, "h:2");
	struct run_row inventory = run("inventory_2_c", "alice", 2000, 2000, "h:2");
	struct run_row bob = run("offers_2_d", "bob", 2000, 2000, "h:2");
	struct run_row third = run("offers_3_e", "alice", 3000, 3000, "h:3");
	struct run_row got;
	long long count;

	inventory.kind = (char *)"inventory";
	CHECK(s, store_run_insert(s, &first));
	assert_int_equal(store_run_insert(s, &second), ERR_CONFLICT);
	assert_string_equal(store_errmsg(s),
			    "an offers sync is already running for alice (run offers_1_a)");
	assert_int_equal(store_run_get(s, NULL, "offers_2_b", &got), ERR_NOTFOUND);
	/* A finished run of that kind being inserted is not running. */
	second.status = (char *)STORE_RUN_FAILED;
	second.finished_ms = 2500;
	CHECK(s, store_run_insert(s, &second));
	CHECK(s, store_run_insert(s, &inventory));
	CHECK(s, store_run_insert(s, &bob));
	third.kind = (char *)"inventory";
	assert_int_equal(store_run_insert(s, &third), ERR_CONFLICT);
	assert_string_equal(store_errmsg(s),
			    "an inventory sync is already running for alice (run inventory_2_c)");
	third.kind = (char *)"offers";

	/* The first ends: another may start. */
	first.status = (char *)STORE_RUN_DONE;
	first.finished_ms = 2600;
	CHECK(s, store_run_update(s, &first));
	CHECK(s, store_run_insert(s, &third));
	CHECK(s, store_run_get(s, "alice", "offers_3_e", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);

	/* A run marked interrupted (its process died) no longer blocks. */
	CHECK(s, store_runs_interrupt_stale(s, "h:3", LLONG_MAX, &count));
	assert_int_equal(count, 1);
	first.id = (char *)"offers_4_f";
	first.status = (char *)STORE_RUN_RUNNING;
	first.finished_ms = 0;
	CHECK(s, store_run_insert(s, &first));
	/* A taken id is still a taken id. */
	assert_int_equal(store_run_insert(s, &bob), ERR_CONFLICT);
	assert_null(strstr(store_errmsg(s), "already running"));
}

/* A database of an older version may hold two running runs of a kind for a
 * user (left by crashed processes): migration 0003 keeps the newest running,
 * marks the others interrupted, and then guards. */
static void test_one_running_migration(void **state)
{
	static const char undo[] =
	    "DROP INDEX sync_runs_one_running; "
	    "DELETE FROM schema_migrations WHERE version = 3; "
	    "INSERT INTO sync_runs (id, user_id, kind, status, started_ms, "
	    "heartbeat_ms) VALUES ('old', 'u', 'offers', 'running', 1000, 1500), "
	    "('new', 'u', 'offers', 'running', 2000, 2500), "
	    "('inv', 'u', 'inventory', 'running', 1000, 1500)";
	struct fixture *f = *state;
	struct run_row got, again = run("again", "u", 3000, 3000, "h:1");
	struct buf why = BUF_INIT;

	store_close(f->s);
	f->s = NULL;
	exec_direct(f, undo, undo);
	if (store_open(f->url, &f->s, &why))
		fail_msg("cannot open the store again: %s", buf_str(&why));
	CHECK(f->s, store_run_get(f->s, NULL, "old", &got));
	assert_string_equal(got.status, "interrupted");
	assert_int_equal(got.finished_ms, 1500);
	run_row_release(&got);
	CHECK(f->s, store_run_get(f->s, NULL, "new", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	CHECK(f->s, store_run_get(f->s, NULL, "inv", &got));
	assert_string_equal(got.status, "running");
	run_row_release(&got);
	assert_int_equal(store_run_insert(f->s, &again), ERR_CONFLICT);
	assert_string_equal(store_errmsg(f->s),
			    "an offers sync is already running for u (run new)");
	buf_release(&why);
}

static void test_events(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct event_row ev[3] = {
	    {1, (char *)"start", 100, (char *)"Starting Offers sync from eBay (production)",
	     (char *)"{\"n\":1}"},
	    {2, (char *)"info", 200,
	     (char *)"Step 1: Fetching all inventory items to get SKU "
		     "list...",
	     (char *)"{\"n\":2}"},
	    {3, (char *)"progress", 300, (char *)"\xe2\x86\x92 [1/50] SKU 'q\"x'", NULL},
	};
	struct event_row retry[2] = {
	    {3, (char *)"info", 999, (char *)"a retried copy must not replace", (char *)"{}"},
	    {4, (char *)"done", 400, (char *)"Offers sync completed", (char *)"{\"n\":4}"},
	};
	struct event_row other = {1, (char *)"start", 1, (char *)"other run", (char *)"{}"};
	struct event_row *got;
	size_t n;

	CHECK(s, store_events_append(s, "run-e", ev, 3));
	CHECK(s, store_events_append(s, "run-e", ev, 3)); /* the writer retried */
	CHECK(s, store_events_append(s, "run-e", retry, 2));
	CHECK(s, store_events_append(s, "run-other", &other, 1));

	CHECK(s, store_events_list(s, "run-e", 0, 0, &got, &n));
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i].seq, (long long)i + 1);
	assert_string_equal(got[0].type, "start");
	assert_int_equal(got[0].ts_ms, 100);
	assert_string_equal(got[0].line, "Starting Offers sync from eBay (production)");
	assert_string_equal(got[0].data, "{\"n\":1}");
	assert_string_equal(got[2].type, "progress");
	assert_string_equal(got[2].line, "\xe2\x86\x92 [1/50] SKU 'q\"x'");
	assert_string_equal(got[2].data, "{}"); /* NULL data is stored as {} */
	assert_string_equal(got[3].type, "done");
	while (n)
		event_row_release(&got[--n]);
	free(got);

	CHECK(s, store_events_list(s, "run-e", 1, 1, &got, &n));
	assert_int_equal(n, 1);
	assert_int_equal(got[0].seq, 2);
	event_row_release(&got[0]);
	free(got);
	CHECK(s, store_events_list(s, "run-e", 4, 10, &got, &n));
	assert_int_equal(n, 0);
	free(got);
	CHECK(s, store_events_list(s, "run-other", 0, 10, &got, &n));
	assert_int_equal(n, 1);
	assert_string_equal(got[0].line, "other run");
	event_row_release(&got[0]);
	free(got);
	CHECK(s, store_events_list(s, "no-such-run", 0, 10, &got, &n));
	assert_int_equal(n, 0);
	free(got);
}

static void test_failures(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	char **skus;
	size_t n;
	json_t *arr, *want;

	CHECK(s, store_failure_add(s, "u", "offers", "r1", "SKU-A", "HTTP 500", 3));
	timeutil_sleep_ms(5);
	CHECK(s, store_failure_add(s, "u", "offers", "r1", "SKU-B", "reset", 8));
	timeutil_sleep_ms(5);
	CHECK(s, store_failure_add(s, "u", "offers", "r2", "SKU-A", "timeout", 5));
	CHECK(s, store_failure_add(s, "u", "inventory", "r2", "SKU-C", "bad", 1));
	CHECK(s, store_failure_add(s, "v", "offers", "r3", "SKU-A", "other user", 1));

	/* Oldest first: A failed first, and failing again keeps its place. */
	CHECK(s, store_failure_list(s, "u", "offers", &skus, &n));
	assert_int_equal(n, 2);
	assert_string_equal(skus[0], "SKU-A");
	assert_string_equal(skus[1], "SKU-B");
	while (n)
		free(skus[--n]);
	free(skus);

	CHECK(s, store_run_failures(s, "r2", &arr));
	want = parse("[{\"sku\":\"SKU-A\",\"error\":\"timeout\",\"attempts\":5},"
		     "{\"sku\":\"SKU-C\",\"error\":\"bad\",\"attempts\":1}]");
	if (!json_equal(arr, want)) {
		char *got = json_dumps(arr, JSON_COMPACT);
		fail_msg("run_failures(r2) = %s", got);
	}
	json_decref(arr);
	json_decref(want);
	CHECK(s, store_run_failures(s, "r1", &arr));
	want = parse("[{\"sku\":\"SKU-B\",\"error\":\"reset\",\"attempts\":8}]");
	assert_true(json_equal(arr, want));
	json_decref(arr);
	json_decref(want);

	CHECK(s, store_failure_clear(s, "u", "offers", "SKU-A"));
	CHECK(s, store_failure_clear(s, "u", "offers", "SKU-A")); /* already gone: fine */
	CHECK(s, store_failure_list(s, "u", "offers", &skus, &n));
	assert_int_equal(n, 1);
	assert_string_equal(skus[0], "SKU-B");
	free(skus[0]);
	free(skus);
	CHECK(s, store_failure_list(s, "v", "offers", &skus, &n));
	assert_int_equal(n, 1);
	free(skus[0]);
	free(skus);
	CHECK(s, store_failure_list(s, "w", "offers", &skus, &n));
	assert_int_equal(n, 0);
	free(skus);
	CHECK(s, store_run_failures(s, "r9", &arr));
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
}

static void test_cursors(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	char *v = (char *)1;

	assert_int_equal(store_cursor_get(s, "u", "inventory_offset", &v), ERR_NOTFOUND);
	assert_null(v);
	CHECK(s, store_cursor_set(s, "u", "inventory_offset", "200"));
	CHECK(s, store_cursor_get(s, "u", "inventory_offset", &v));
	assert_string_equal(v, "200");
	free(v);
	CHECK(s, store_cursor_set(s, "u", "inventory_offset", "400"));
	CHECK(s, store_cursor_get(s, "u", "inventory_offset", &v));
	assert_string_equal(v, "400");
	free(v);
	assert_int_equal(store_cursor_get(s, "other", "inventory_offset", &v), ERR_NOTFOUND);
	assert_int_equal(store_cursor_get(s, "u", "other_name", &v), ERR_NOTFOUND);
}

static void test_count_unseen(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct item_row items[2] = {item("{\"sku\":\"A\"}"), item("{\"sku\":\"B\"}")};
	struct offer_row offers[2] = {offer("{\"offerId\":\"1\",\"sku\":\"A\"}"),
				      offer("{\"offerId\":\"2\",\"sku\":\"B\"}")};
	long long count = -1;

	CHECK(s, store_write_batch(s, "u", "run-1", items, 2, offers, 2));
	CHECK(s, store_write_batch(s, "u", "run-2", items, 1, offers, 1));
	CHECK(s, store_count_unseen(s, "u", "inventory", "run-2", &count));
	assert_int_equal(count, 1);
	CHECK(s, store_count_unseen(s, "u", "offers", "run-2", &count));
	assert_int_equal(count, 1);
	CHECK(s, store_count_unseen(s, "u", "inventory", "run-1", &count));
	assert_int_equal(count, 1);
	CHECK(s, store_count_unseen(s, "u", "inventory", "run-3", &count));
	assert_int_equal(count, 2);
	CHECK(s, store_count_unseen(s, "nobody", "inventory", "run-3", &count));
	assert_int_equal(count, 0);
	assert_int_equal(store_count_unseen(s, "u", "users", "run-2", &count), ERR_INVALID);
	assert_non_null(strstr(store_errmsg(s), "'users'"));
	release_items(items, 2);
	release_offers(offers, 2);
}

static void test_users(void **state)
{
	struct store *s = ((struct fixture *)*state)->s;
	struct user_row u = {(char *)"zed",
			     (char *)"$6$salt$hash",
			     (char *)"sealed-token",
			     (char *)"sealed-refresh",
			     99000,
			     1000,
			     77000};
	struct user_row a = {(char *)"amy", (char *)"$6$x$y", NULL, NULL, 0, 2000, 0};
	struct user_row got, *list;
	size_t n;

	assert_int_equal(store_user_get(s, "zed", &got), ERR_NOTFOUND);
	CHECK(s, store_user_put(s, &u));
	CHECK(s, store_user_get(s, "zed", &got));
	assert_string_equal(got.id, "zed");
	assert_string_equal(got.password_hash, "$6$salt$hash");
	assert_string_equal(got.ebay_token, "sealed-token");
	assert_string_equal(got.ebay_refresh_token, "sealed-refresh");
	assert_int_equal(got.refresh_expires_ms, 99000);
	assert_int_equal(got.created_ms, 1000);
	assert_int_equal(got.ebay_token_expires_ms, 77000);
	user_row_release(&got);

	/* Update: new values, but created_ms stays. */
	u.password_hash = (char *)"$6$new$hash";
	u.ebay_token = NULL;
	u.created_ms = 5000;
	CHECK(s, store_user_put(s, &u));
	CHECK(s, store_user_get(s, "zed", &got));
	assert_string_equal(got.password_hash, "$6$new$hash");
	assert_null(got.ebay_token);
	assert_int_equal(got.created_ms, 1000);
	user_row_release(&got);

	CHECK(s, store_user_put(s, &a));
	CHECK(s, store_user_list(s, &list, &n));
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "amy");
	assert_null(list[0].ebay_refresh_token);
	assert_int_equal(list[0].refresh_expires_ms, 0);
	assert_string_equal(list[1].id, "zed");
	while (n)
		user_row_release(&list[--n]);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_concurrently, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_read_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_keeps_rec_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_offer_fields_keep_derived, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_item_without_payload_updates_offer_fields, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_non_decimal_price_is_null, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_users_same_sku, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_of_1000, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_is_atomic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_filters_and_search, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_sort_and_paging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_offers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_skus_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runs_interrupt_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_running_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_running_migration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_count_unseen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	};
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names), i, failed = 0;

	for (i = 0; i < n; i++) {
		backend = names[i];
		print_message("backend %s\n", backend);
		failed += cmocka_run_group_tests_name(names[i], tests, NULL, NULL);
	}
	testutil_backends_release(urls, n);
	return failed;
}
