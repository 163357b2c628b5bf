/*
 * The fixture of the store tests (tests/unit/test_store_*.c but
 * test_store_pg.c): every test runs once per backend that
 * testutil_backends() offers, SQLite always and PostgreSQL when
 * ES_TEST_PG_URL names a server. Each backend is its own cmocka group, whose
 * state names the backend; each test gets a fresh, empty database of it,
 * open, as a struct store_fixture in *state. So a backend that fails any
 * test fails the file, and the output names which one.
 *
 * Also the row helpers those tests share (prefix sf_): rows mapped from
 * eBay-shaped JSON by the real mapping, so what is stored is what a sync
 * would store, and assertions on the JSON rows the listings return. They
 * fail the running test (cmocka's fail_msg) rather than return errors.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "mapping.h"
#include "store.h"

/* The backend of the group running: "sqlite" or "postgres". */
struct store_group {
	const char *backend;
};

/* What each test finds in *state. */
struct store_fixture {
	const char *backend; /* as the group's */
	char *dir;	     /* SQLite's folder, or NULL */
	char *url;
	struct store *s; /* open on url; a test may close and reopen it */
};

/* Per-test setup and teardown: a fresh database of the group's backend,
 * opened (store_fixture_setup fails the test when it cannot be). */
int store_fixture_setup(void **state);
int store_fixture_teardown(void **state);

#define STORE_FIXTURE_TEST(fn)                                                                     \
	cmocka_unit_test_setup_teardown(fn, store_fixture_setup, store_fixture_teardown)

/* Runs tests (made with STORE_FIXTURE_TEST) as one group per backend;
 * returns the number of failures, for main()'s exit code. */
int store_fixture_run(const struct CMUnitTest *tests, size_t n);
#define STORE_FIXTURE_RUN(tests) store_fixture_run(tests, sizeof(tests) / sizeof((tests)[0]))

/* A fresh empty database of backend (malloc'd URL); *dir is SQLite's
 * folder (malloc'd, to remove with testutil_rmrf), or NULL. */
char *store_fixture_fresh_url(const char *backend, char **dir);

/* Runs SQL on the fixture's database behind the store's back: sqlite_sql or
 * pg_sql, as the backend is. */
void store_fixture_exec(const struct store_fixture *f, const char *sqlite_sql, const char *pg_sql);

/* ---- rows ------------------------------------------------------------------ */

/* Fails the test with the store's message unless call returns ERR_OK. */
#define CHECK(s, call)                                                                             \
	do {                                                                                       \
		enum error check_err_ = (call);                                                    \
		if (check_err_)                                                                    \
			fail_msg("%s failed: %s: %s", #call, error_strerror(check_err_),           \
				 store_errmsg(s));                                                 \
	} while (0)

/* A sample item and its offer, with every field the mapping reads. */
extern const char sf_full_item[];
extern const char sf_full_offer[];

/* The JSON text parsed (the caller decrefs). */
json_t *sf_parse(const char *text);
/* An item or offer row mapped from printf-formatted eBay JSON; the caller
 * releases it. */
struct item_row sf_item(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct offer_row sf_offer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An item row as the offers sync makes it: the SKU, no payload. */
struct item_row sf_bare_item(const char *sku);
void sf_release_items(struct item_row *rows, size_t n);
void sf_release_offers(struct offer_row *rows, size_t n);

/* Writes one item (and nothing else) for user in run; releases row. */
void sf_put_item(struct store *s, const char *user, const char *run, struct item_row row);
/* The stored inventory row of (user, sku), or offer of (user, offer_id), as
 * JSON, or NULL; the caller decrefs. */
json_t *sf_get_item(struct store *s, const char *user, const char *sku);
json_t *sf_get_offer(struct store *s, const char *user, const char *offer_id);

/* Column key of row: a string (NULL for null), an integer, or null. */
const char *sf_str(const json_t *row, const char *key);
long long sf_num(const json_t *row, const char *key);
void sf_assert_null_col(const json_t *row, const char *key);
/* t is "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void sf_assert_iso_time(const char *t);

/* Lists items (offers) with q and checks the sku_code (offer_id) column of
 * the rows, joined with ',', and the total. */
void sf_expect_items(struct store *s, const struct store_query *q, const char *skus,
		     long long total);
void sf_expect_offers(struct store *s, const struct store_query *q, const char *ids,
		      long long total);

/* A running offers run of user with these times (the strings are not
 * copied: do not release it). */
struct run_row sf_run(const char *id, const char *user, long long started, long long heartbeat,
		      const char *owner);
/* Fails unless run id (of any user) has this status. */
void sf_expect_status(struct store *s, const char *id, const char *status);

#endif
