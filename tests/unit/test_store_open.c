/*
 * The store tests of opening and of refused arguments, on every backend
 * (store_fixture.h): concurrent opens of a fresh database, the messages of
 * databases that cannot be opened, and the arguments that no backend could
 * use, which store.c refuses the same way for each.
 */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "testutil.h"
#include "xalloc.h"

/* ---- open and migrations ------------------------------------------------- */

static void test_open_concurrently(void **state)
{
	enum { N = 8 };
	const struct store_fixture *f = *state;
	char *dir, *url = store_fixture_fresh_url(f->backend, &dir);
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
	sf_put_item(s, "u", "r1", sf_item("{\"sku\":\"AFTER\"}"));
	store_close(s);

	if (!strcmp(f->backend, "sqlite")) {
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
	const struct store_fixture *f = *state;
	struct store *s = (struct store *)1;
	struct buf err;

	buf_init(&err, 0);
	assert_int_equal(store_open("", &s, &err), ERR_INVALID);
	assert_null(s);
	assert_non_null(strstr(buf_str(&err), "no database given"));
	if (!strcmp(f->backend, "sqlite")) {
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

/* ---- refused arguments ------------------------------------------------- */

/*
 * Arguments no backend could use are refused before any backend sees them
 * (store.c's wrappers), the same way on each: ERR_INVALID, a message that
 * says what is missing, and outputs cleared.
 */
struct bad_call {
	const char *what; /* the call, for the failure message */
	enum error (*call)(struct store *s);
	const char *message; /* store_errmsg() after it */
};

static struct run_row no_id_run(void)
{
	struct run_row r = sf_run("r", "u", 1, 1, "h:1");

	r.id = NULL;
	return r;
}

static enum error insert_no_id(struct store *s)
{
	struct run_row r = no_id_run();

	return store_run_insert(s, &r);
}

static enum error update_no_status(struct store *s)
{
	struct run_row r = sf_run("r", "u", 1, 1, "h:1");

	r.status = NULL;
	return store_run_update(s, &r);
}

static enum error get_no_id(struct store *s)
{
	struct run_row got = {.id = (char *)"stale"};
	enum error err = store_run_get(s, "u", NULL, &got);

	assert_null(got.id);
	return err;
}

static enum error stop_no_id(struct store *s)
{
	return store_run_request_stop(s, "u", NULL);
}

static enum error append_no_run(struct store *s)
{
	struct event_row ev = {1, (char *)"info", 1, (char *)"x", NULL};

	return store_events_append(s, NULL, &ev, 1);
}

static enum error append_no_type(struct store *s)
{
	struct event_row ev[2] = {{1, (char *)"info", 1, (char *)"x", NULL},
				  {2, NULL, 1, (char *)"y", NULL}};

	return store_events_append(s, "r", ev, 2);
}

static enum error events_no_run(struct store *s)
{
	struct event_row *out = (struct event_row *)1;
	size_t n = 9;
	enum error err = store_events_list(s, NULL, 0, 0, &out, &n);

	assert_null(out);
	assert_int_equal(n, 0);
	return err;
}

static enum error failure_add_no_sku(struct store *s)
{
	return store_failure_add(s, "u", "offers", "r", NULL, "why", 1);
}

static enum error failure_clear_no_kind(struct store *s)
{
	return store_failure_clear(s, "u", NULL, "SKU");
}

static enum error failure_list_no_user(struct store *s)
{
	char **skus = (char **)1;
	size_t n = 9;
	enum error err = store_failure_list(s, NULL, "offers", &skus, &n);

	assert_null(skus);
	assert_int_equal(n, 0);
	return err;
}

static enum error run_failures_no_run(struct store *s)
{
	json_t *out = (json_t *)1;
	enum error err = store_run_failures(s, NULL, &out);

	assert_null(out);
	return err;
}

static enum error cursor_get_no_name(struct store *s)
{
	char *v = (char *)1;
	enum error err = store_cursor_get(s, "u", NULL, &v);

	assert_null(v);
	return err;
}

static enum error cursor_set_no_value(struct store *s)
{
	return store_cursor_set(s, "u", "inventory_offset", NULL);
}

static enum error list_items_no_user(struct store *s)
{
	struct store_query q = {.user_id = NULL};
	json_t *rows = (json_t *)1;
	long long total = 9;
	enum error err = store_list_items(s, &q, &rows, &total);

	assert_null(rows);
	assert_int_equal(total, 0);
	return err;
}

static enum error list_offers_long_search(struct store *s)
{
	char search[STORE_SEARCH_MAX + 2];
	struct store_query q = {.user_id = "u", .search = search};
	json_t *rows = (json_t *)1;

	memset(search, 'x', sizeof(search) - 1);
	search[sizeof(search) - 1] = '\0';
	return store_list_offers(s, &q, &rows, NULL);
}

static enum error unseen_no_table(struct store *s)
{
	long long count = 9;
	enum error err = store_count_unseen(s, "u", NULL, "r", &count);

	assert_int_equal(count, 0);
	return err;
}

static enum error batch_no_user(struct store *s)
{
	struct item_row it = sf_item("{\"sku\":\"A\"}");
	enum error err = store_write_batch(s, NULL, "r", &it, 1, NULL, 0);

	item_row_release(&it);
	return err;
}

static enum error batch_offer_no_id(struct store *s)
{
	struct offer_row of = sf_offer("{\"offerId\":\"O\",\"sku\":\"A\"}");
	enum error err;

	FREE_AND_NULL(of.offer_id);
	err = store_write_batch(s, "u", "r", NULL, 0, &of, 1);
	offer_row_release(&of);
	return err;
}

static enum error user_put_no_hash(struct store *s)
{
	struct user_row u = {.id = (char *)"amy"};

	return store_user_put(s, &u);
}

static enum error user_get_no_id(struct store *s)
{
	struct user_row got = {.id = (char *)"stale"};
	enum error err = store_user_get(s, NULL, &got);

	assert_null(got.id);
	return err;
}

static const struct bad_call bad_calls[] = {
    {"run_insert without id", insert_no_id,
     "cannot insert a run without id, user, kind and status"},
    {"run_update without status", update_no_status, "cannot update a run without id and status"},
    {"run_get without id", get_no_id, "cannot look up a run without its id"},
    {"run_request_stop without id", stop_no_id, "cannot stop a run without its id"},
    {"events_append without run", append_no_run, "cannot append events without a run id"},
    {"events_append without type", append_no_type,
     "cannot append event 2 of run 'r': it has no type"},
    {"events_list without run", events_no_run, "cannot list events without a run id"},
    {"failure_add without sku", failure_add_no_sku,
     "cannot record a failure without user, kind, run and sku"},
    {"failure_clear without kind", failure_clear_no_kind,
     "cannot clear a failure without user, kind and sku"},
    {"failure_list without user", failure_list_no_user,
     "cannot list failures without user and kind"},
    {"run_failures without run", run_failures_no_run, "cannot list failures without a run id"},
    {"cursor_get without name", cursor_get_no_name, "cannot read a cursor without user and name"},
    {"cursor_set without value", cursor_set_no_value,
     "cannot set a cursor without user, name and value"},
    {"list_items without user", list_items_no_user, "cannot list inventory without a user id"},
    {"list_offers with a long search", list_offers_long_search,
     "search text is 201 bytes, over the limit of 200"},
    {"count_unseen without table", unseen_no_table,
     "cannot count unseen rows without user and table"},
    {"write_batch without user", batch_no_user, "cannot store rows without a user id"},
    {"write_batch with an offer without id", batch_offer_no_id,
     "cannot upsert offer row 1 of the batch: it has no offer id"},
    {"user_put without password hash", user_put_no_hash,
     "cannot store a user without id and password hash"},
    {"user_get without id", user_get_no_id, "cannot look up a user without an id"},
};

static void test_refuses_missing_arguments(void **state)
{
	struct store *s = ((struct store_fixture *)*state)->s;
	struct run_row none = no_id_run();
	struct run_row *list;
	size_t n;

	for (size_t i = 0; i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
		enum error err = bad_calls[i].call(s);

		if (err != ERR_INVALID || strcmp(store_errmsg(s), bad_calls[i].message))
			fail_msg("%s: got %s '%s', want invalid '%s'", bad_calls[i].what,
				 error_strerror(err), store_errmsg(s), bad_calls[i].message);
	}
	/* Nothing of it reached the database, and the store still works. */
	none.id = (char *)"r";
	CHECK(s, store_run_insert(s, &none));
	CHECK(s, store_run_list(s, NULL, 0, 0, &list, &n, NULL));
	assert_int_equal(n, 1);
	assert_string_equal(store_errmsg(s), "");
	run_row_release(&list[0]);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STORE_FIXTURE_TEST(test_open_concurrently),
	    STORE_FIXTURE_TEST(test_open_errors),
	    STORE_FIXTURE_TEST(test_refuses_missing_arguments),
	};

	return STORE_FIXTURE_RUN(tests);
}
