/*
 * Deletions and the change log end to end (issue 11): the real `ebaysync
 * sync` against the real `ebaysync-sim`, on every backend. A full sync
 * records one "created" per SKU and nothing else; then the simulator
 * changes prices, quantities, statuses and titles, adds and removes SKUs
 * (POST /sim/mutate, which answers its own record of every SKU before and
 * after), and after `sync all` the change table holds exactly the changes
 * that record implies, worked out here from the simulator's JSON
 * independently of src/mapping.c; removed SKUs are marked (rows kept,
 * hidden from the default listing) and come back clean after the catalog
 * is reset. A stopped inventory walk marks nothing.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mapping.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define TOKEN "test-token-1"
#define SKUS  "400"

struct env {
	struct testutil_proc sim;
	char *urls[2];
	const char *names[2];
	int n_backends;
};

static int start_sim(struct env *e)
{
	char *argv[] = {TESTUTIL_SIM_BIN, "--listen", "127.0.0.1:0", "--seed", "42",
			"--skus",	  SKUS,	      "--token",     TOKEN,    NULL};

	return testutil_spawn(&e->sim, argv, NULL);
}

static char *const *sync_argv(struct env *e, const char *db, const char *kind)
{
	static char *argv[24];
	char *v[] = {TESTUTIL_APP_BIN,
		     "sync",
		     (char *)kind,
		     "--db",
		     (char *)db,
		     "--user",
		     "alice",
		     "--env",
		     "simulator",
		     "--api-base",
		     e->sim.base_url,
		     "--token",
		     TOKEN,
		     "--max-rps",
		     "5000",
		     "--concurrency",
		     "8",
		     "--page-size",
		     "50",
		     "--quiet",
		     NULL};

	memcpy(argv, v, sizeof(v));
	return argv;
}

static int run_sync(struct env *e, const char *db, const char *kind)
{
	char *out = NULL;
	int code = testutil_run(sync_argv(e, db, kind), NULL, &out);

	if (code != 0)
		fprintf(stderr, "sync %s exited %d:\n%s\n", kind, code, out ? out : "");
	free(out);
	return code;
}

static json_t *sim_post(struct env *e, const char *path, const char *body)
{
	char *url = xasprintf("%s%s", e->sim.base_url, path);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct testutil_http r;
	json_t *j;

	assert_int_equal(testutil_http("POST", url, body, h, &r), 0);
	if (r.status != 200)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	testutil_http_release(&r);
	free(url);
	return j;
}

/* ---- the oracle: a SKU's fields as the mirror shows them ----------------- */

static const char *str_at(const json_t *o, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

/* The first PUBLISHED offer, else the first. */
static const json_t *lead_offer(const json_t *offers)
{
	size_t i;
	const json_t *o;

	json_array_foreach(offers, i, o)
	{
		const char *st = str_at(o, "status", NULL, NULL);
		if (st && !strcmp(st, "PUBLISHED"))
			return o;
	}
	return json_array_get(offers, 0);
}

static const char *status_of(const json_t *offers)
{
	size_t i;
	const json_t *o;

	if (json_array_size(offers) == 0)
		return "UNKNOWN";
	json_array_foreach(offers, i, o)
	{
		const char *st = str_at(o, "status", NULL, NULL);
		if (st && (!strcmp(st, "PUBLISHED") || !strcmp(st, "PUBLISHED_IN_PROGRESS")))
			return "ACTIVE";
	}
	return "ENDED";
}

enum { F_TITLE, F_CONDITION, F_PRICE, F_CURRENCY, F_QUANTITY, F_LISTING, F_STATUS, F_N };
static const char *const FIELD[F_N] = {"title",	   "condition",	 "price", "currency",
				       "quantity", "listing_id", "status"};

/* The seven logged fields of a SKU's content {"item", "offers"}; quantity
 * into qty. */
static void fields_of(const json_t *content, const char *out[F_N], char qty[24])
{
	const json_t *item = json_object_get(content, "item");
	const json_t *offers = json_object_get(content, "offers");
	const json_t *lead = lead_offer(offers);
	const json_t *q = json_object_get(
	    json_object_get(json_object_get(item, "availability"), "shipToLocationAvailability"),
	    "quantity");
	int buy_now = lead && str_at(lead, "pricingSummary", "price", "value");

	out[F_TITLE] = str_at(item, "product", "title", NULL);
	/* eBay's deprecated name stands for the current one (the table in
	 * EBAY-API-NOTES.md; test_sync.c checks the mapping itself). */
	out[F_CONDITION] = mapping_condition(str_at(item, "condition", NULL, NULL));
	out[F_PRICE] = !lead	 ? NULL
		       : buy_now ? str_at(lead, "pricingSummary", "price", "value")
				 : str_at(lead, "pricingSummary", "auctionStartPrice", "value");
	out[F_CURRENCY] = !lead ? NULL
			  : buy_now
			      ? str_at(lead, "pricingSummary", "price", "currency")
			      : str_at(lead, "pricingSummary", "auctionStartPrice", "currency");
	out[F_LISTING] = lead ? str_at(lead, "listing", "listingId", NULL) : NULL;
	out[F_STATUS] = status_of(offers);
	out[F_QUANTITY] = NULL;
	if (json_is_integer(q)) {
		snprintf(qty, 24, "%lld", (long long)json_integer_value(q));
		out[F_QUANTITY] = qty;
	}
}

static int differ(int f, const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	if (f == F_PRICE) /* NUMERIC compares 25.0 and 25 equal */
		return strtod(a, NULL) != strtod(b, NULL);
	return strcmp(a, b) != 0;
}

static void add_line(json_t *set, const char *sku, const char *field, const char *old,
		     const char *new)
{
	char *line = xasprintf("%s|%s|%s|%s", sku, field, old ? old : "-", new ? new : "-");

	json_array_append_new(set, json_string(line));
	free(line);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The lines of set, sorted, one per line, for a readable failure. */
static char *sorted_text(json_t *set)
{
	size_t n = json_array_size(set), i;
	const char **v = xcalloc(n + 1, sizeof(*v));
	struct {
		char *p;
		size_t len;
	} out = {0};
	FILE *f = open_memstream(&out.p, &out.len);

	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(set, i));
	qsort(v, n, sizeof(*v), by_text);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", v[i]);
	fclose(f);
	free(v);
	return out.p;
}

/*
 * What the mirror's change log must hold after syncing the record of
 * /sim/mutate, as sorted lines "sku|field|old|new": per SKU, from its first
 * "before" to its last "after". *removed gets the SKUs removed.
 */
static json_t *expected_changes(const json_t *record, json_t *removed)
{
	json_t *first = json_object(), *last = json_object(), *set = json_array(), *ch;
	const char *sku;
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(record, "changes"), i, ch)
	{
		sku = json_string_value(json_object_get(ch, "sku"));
		if (!json_object_get(first, sku))
			json_object_set(first, sku, json_object_get(ch, "before"));
		json_object_set(last, sku, json_object_get(ch, "after"));
	}
	json_object_foreach(first, sku, b)
	{
		json_t *a = json_object_get(last, sku);
		const char *old[F_N], *new[F_N];
		char q1[24], q2[24];

		if (json_is_null(b) && json_is_null(a))
			continue;
		if (json_is_null(b)) {
			add_line(set, sku, "created", NULL, NULL);
			continue;
		}
		if (json_is_null(a)) {
			add_line(set, sku, "removed", NULL, NULL);
			json_array_append_new(removed, json_string(sku));
			continue;
		}
		fields_of(b, old, q1);
		fields_of(a, new, q2);
		for (int f = 0; f < F_N; f++)
			if (differ(f, old[f], new[f]))
				add_line(set, sku, FIELD[f], old[f], new[f]);
	}
	json_decref(first);
	json_decref(last);
	return set;
}

/* ---- the mirror ---------------------------------------------------------- */

static char *newest_run_id(struct store *s)
{
	struct run_row *runs = NULL;
	size_t n = 0;
	char *id;

	assert_int_equal(store_run_list(s, "alice", 1, 0, &runs, &n, NULL), ERR_OK);
	assert_int_equal(n, 1);
	id = xstrdup(runs[0].id);
	run_row_release(&runs[0]);
	free(runs);
	return id;
}

/* The change lines of one run (prices as stored). */
static json_t *changes_of(struct store *s, const char *run_id)
{
	struct store_change_query q = {.user_id = "alice", .run_id = run_id};
	json_t *rows = NULL, *set = json_array(), *r;
	size_t i;

	assert_int_equal(store_list_changes(s, &q, &rows, NULL), ERR_OK);
	json_array_foreach(rows, i, r) add_line(set, json_string_value(json_object_get(r, "sku")),
						json_string_value(json_object_get(r, "field")),
						json_string_value(json_object_get(r, "old")),
						json_string_value(json_object_get(r, "new")));
	json_decref(rows);
	return set;
}

static long long count_rows(struct store *s, int offers, enum store_removed removed)
{
	struct store_query q = {.user_id = "alice", .removed = removed, .limit = 1};
	json_t *rows = NULL;
	long long total = -1;

	assert_int_equal(offers ? store_list_offers(s, &q, &rows, &total)
				: store_list_items(s, &q, &rows, &total),
			 ERR_OK);
	json_decref(rows);
	return total;
}

static void assert_same_lines(json_t *want, json_t *got, const char *what)
{
	char *w = sorted_text(want), *g = sorted_text(got);

	if (strcmp(w, g)) {
		fprintf(stderr, "--- want\n%s--- got\n%s", w, g);
		fail_msg("%s: the change log differs from the simulator's record (above)", what);
	}
	free(w);
	free(g);
}

static void test_changes_recorded(void **state)
{
	struct env e = {0};

	(void)state;
	assert_int_equal(start_sim(&e), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct store *s = NULL;
		json_t *rec, *want, *got, *removed = json_array(), *v;
		char *run1, *run2, *run3;
		long long n_items, n_removed;
		size_t i;

		/* A first full sync: "created" once a SKU, nothing else. */
		json_decref(sim_post(&e, "/sim/reset", "{}"));
		assert_int_equal(run_sync(&e, e.urls[b], "all"), 0);
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		run1 = newest_run_id(s);
		got = changes_of(s, run1);
		n_items = count_rows(s, 0, STORE_REMOVED_HIDE);
		assert_true(n_items > 300);
		assert_int_equal((long long)json_array_size(got), n_items);
		json_array_foreach(got, i, v)
		    assert_non_null(strstr(json_string_value(v), "|created|-|-"));
		json_decref(got);

		/* The simulator changes the catalog and says how. */
		rec = sim_post(&e, "/sim/mutate",
			       "{\"edit\": 60, \"remove\": 12, \"add\": 9, \"seed\": 7}");
		assert_int_equal(json_array_size(json_object_get(rec, "changes")), 81);
		want = expected_changes(rec, removed);
		assert_int_equal(json_array_size(removed), 12);
		assert_int_equal(run_sync(&e, e.urls[b], "all"), 0);
		run2 = newest_run_id(s);
		got = changes_of(s, run2);
		assert_same_lines(want, got, e.names[b]);
		json_decref(got);
		json_decref(want);

		/* Removed SKUs are marked, kept, and hidden by default. */
		n_removed = count_rows(s, 0, STORE_REMOVED_ONLY);
		assert_int_equal(n_removed, 12);
		assert_int_equal(count_rows(s, 0, STORE_REMOVED_HIDE), n_items - 12 + 9);
		assert_int_equal(count_rows(s, 0, STORE_REMOVED_INCLUDE), n_items + 9);
		assert_true(count_rows(s, 1, STORE_REMOVED_ONLY) > 0);
		json_array_foreach(removed, i, v)
		{
			struct store_query q = {.user_id = "alice",
						.sku = json_string_value(v),
						.removed = STORE_REMOVED_ONLY};
			json_t *rows = NULL;

			assert_int_equal(store_list_items(s, &q, &rows, NULL), ERR_OK);
			assert_int_equal(json_array_size(rows), 1);
			assert_true(
			    json_is_string(json_object_get(json_array_get(rows, 0), "removed_at")));
			json_decref(rows);
		}

		/* The catalog back to its seed: the removed SKUs come back
		 * clean, with "restored" recorded. */
		json_decref(sim_post(&e, "/sim/reset", "{}"));
		assert_int_equal(run_sync(&e, e.urls[b], "all"), 0);
		run3 = newest_run_id(s);
		got = changes_of(s, run3);
		json_array_foreach(removed, i, v)
		{
			char *line = xasprintf("%s|restored|-|-", json_string_value(v));
			size_t k;
			json_t *g;
			int found = 0;

			json_array_foreach(got, k, g) found |= !strcmp(json_string_value(g), line);
			if (!found)
				fail_msg("no restored change for SKU '%s'", json_string_value(v));
			free(line);
		}
		assert_int_equal(count_rows(s, 0, STORE_REMOVED_ONLY), 9); /* the added ones */
		assert_int_equal(count_rows(s, 0, STORE_REMOVED_HIDE), n_items);
		json_decref(got);

		json_decref(rec);
		json_decref(removed);
		free(run1);
		free(run2);
		free(run3);
		store_close(s);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* A walk stopped between pages marks nothing removed. */
static void test_stopped_walk_marks_nothing(void **state)
{
	struct env e = {0};

	(void)state;
	assert_int_equal(start_sim(&e), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct store *s = NULL;
		struct store_change_query q = {.user_id = "alice", .field = "removed"};
		json_t *rows = NULL;
		long long total = -1;
		char *const *argv;
		pid_t pid;
		int status;

		json_decref(sim_post(&e, "/sim/reset", "{}"));
		json_decref(sim_post(&e, "/sim/config", "{\"latency_ms\": 0}"));
		assert_int_equal(run_sync(&e, e.urls[b], "inventory"), 0);
		json_decref(sim_post(&e, "/sim/mutate", "{\"remove\": 30, \"seed\": 3}"));
		json_decref(sim_post(&e, "/sim/config", "{\"latency_ms\": 200}"));
		argv = sync_argv(&e, e.urls[b], "inventory");
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
			execv(argv[0], argv);
			_exit(127);
		}
		timeutil_sleep_ms(700);
		kill(pid, SIGINT);
		waitpid(pid, &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 130);
		json_decref(sim_post(&e, "/sim/config", "{\"latency_ms\": 0}"));

		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(count_rows(s, 0, STORE_REMOVED_ONLY), 0);
		assert_int_equal(store_list_changes(s, &q, &rows, &total), ERR_OK);
		assert_int_equal(total, 0);
		json_decref(rows);
		store_close(s);

		/* The same walk, not stopped, marks the 30. */
		assert_int_equal(run_sync(&e, e.urls[b], "inventory"), 0);
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(count_rows(s, 0, STORE_REMOVED_ONLY), 30);
		assert_int_equal(store_list_changes(s, &q, &rows, &total), ERR_OK);
		assert_int_equal(total, 30);
		json_decref(rows);
		store_close(s);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_changes_recorded),
	    cmocka_unit_test(test_stopped_walk_marks_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
