/*
 * The refresh end to end: the real `ebaysync sync refresh` against the real
 * `ebaysync-sim`, on every backend. A full sync, then the simulator's
 * /sim/mutate changes prices, quantities and listing statuses of a share of
 * the SKUs, and the refresh must leave the database equal to GET
 * /sim/catalog field by field (the same check as test_sync.c:
 * tests/helpers/catalog_check.c), for far fewer eBay calls than a
 * full sync (counted by /sim/stats). Without the report (the daily cap, a
 * failed task, a damaged or cut archive) it falls back to getOffers for
 * every SKU, or with --report-only fails with the reason and stores nothing
 * from the report; a STOP keeps what was written.
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
#include "catalog_check.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define TOKEN CATALOG_TOKEN
#define SKUS  CATALOG_SKUS

static void sim_post(struct catalog_env *e, const char *path, const char *json, json_t **answer)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	char *url = xasprintf("%s%s", e->sim.base_url, path);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", url, json, headers, &r), 0);
	if (r.status != 200)
		fail_msg("POST %s %s: %ld %s", path, json, r.status, r.body);
	if (answer)
		*answer = json_loads(r.body, 0, NULL);
	testutil_http_release(&r);
	free(url);
}

/* Mutates a share of the catalog; returns how many SKUs changed. */
static long long mutate(struct catalog_env *e, double fraction, int seed)
{
	char *body = xasprintf("{\"fraction\":%g,\"seed\":%d}", fraction, seed);
	json_t *a = NULL;
	long long n;

	sim_post(e, "/sim/mutate", body, &a);
	n = json_integer_value(json_object_get(a, "mutated"));
	assert_int_equal((size_t)n, json_array_size(json_object_get(a, "skus")));
	json_decref(a);
	free(body);
	return n;
}

/* Calls the simulator answered so far: one name ("getOffers"), or all. */
static long long calls(struct catalog_env *e, const char *name)
{
	char *url = xasprintf("%s/sim/stats", e->sim.base_url);
	json_t *st = testutil_get_json(url, NULL), *by, *v;
	const char *k, *status;
	long long n = 0;

	assert_non_null(st);
	json_object_foreach(json_object_get(st, "calls"), k, by)
	{
		if (name && strcmp(k, name))
			continue;
		json_object_foreach(by, status, v) n += json_integer_value(v);
	}
	json_decref(st);
	free(url);
	return n;
}

/* Every offer of user as its JSON row, by offer id (text). */
static char *offers_text(const char *db, const char *user)
{
	struct store *s = NULL;
	struct store_query q = {.user_id = user, .sort = "offer_id"};
	json_t *rows = NULL;
	long long total;
	size_t i;
	json_t *r;
	char *text;

	assert_int_equal(store_open(db, &s, NULL), ERR_OK);
	assert_int_equal(store_list_offers(s, &q, &rows, &total), ERR_OK);
	json_array_foreach(rows, i, r) json_object_del(r, "rec_updated");
	text = json_dumps(rows, JSON_SORT_KEYS);
	json_decref(rows);
	store_close(s);
	return text;
}

static const char *const quiet_feed[] = {"--feed-delay-ms", "200", NULL};

/*
 * Full sync, mutate 5% of the SKUs, refresh: the database equals the
 * catalog, for the pages, four Feed calls and at most one getOffers per
 * mutated SKU (a full sync makes one per SKU); a second refresh of an
 * unchanged catalog calls getOffers for none and stores nothing.
 */
static void test_refresh_equals_catalog(void **state)
{
	struct catalog_env e = {0};

	assert_int_equal(catalog_start_sim(&e, quiet_feed), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		long long all_calls, c0, offers0, mutated, refresh_calls, refresh_offers;
		struct run_row run;
		json_t *cat;

		fprintf(stderr, "backend %s\n", e.names[b]);
		c0 = calls(&e, NULL);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "alice", "all", NULL), 0);
		all_calls = calls(&e, NULL) - c0;
		mutated = mutate(&e, 0.05, b + 1);
		assert_int_equal(mutated, 100);

		c0 = calls(&e, NULL);
		offers0 = calls(&e, "getOffers");
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "alice", "refresh", NULL), 0);
		refresh_calls = calls(&e, NULL) - c0;
		refresh_offers = calls(&e, "getOffers") - offers0;
		fprintf(stderr,
			"sync all: %lld calls; refresh after %lld mutations: %lld calls, "
			"%lld getOffers\n",
			all_calls, mutated, refresh_calls, refresh_offers);
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "alice", cat, 1);
		json_decref(cat);
		assert_true(refresh_offers > 0);
		assert_true(refresh_offers <= mutated);
		assert_true(refresh_calls <= 10 + 4 + mutated);
		assert_true(refresh_calls * 10 < all_calls);
		catalog_newest_run(e.urls[b], "alice", &run);
		assert_string_equal(run.kind, "refresh");
		assert_string_equal(run.status, "done");
		run_row_release(&run);
		assert_true(catalog_newest_run_logged(e.urls[b], "alice", "written from it"));

		/* Nothing changed since: no getOffers, nothing stored. */
		offers0 = calls(&e, "getOffers");
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "alice", "refresh", NULL), 0);
		assert_int_equal(calls(&e, "getOffers") - offers0, 0);
		catalog_newest_run(e.urls[b], "alice", &run);
		assert_int_equal(run.stored, 0);
		run_row_release(&run);
		assert_true(
		    catalog_newest_run_logged(e.urls[b], "alice", "0 changed, 2000 unchanged"));
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "alice", cat, 1);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/*
 * Each way of having no report: the refresh says why in one line and
 * fetches every SKU's offers (the database ends equal to the catalog);
 * with --report-only it fails with the reason, and the offers table is
 * exactly as before (nothing stored from the report).
 */
static void no_report_case(struct catalog_env *e, const char *db, const char *user,
			   const char *config, const char *reason, int seed)
{
	const char *report_only[] = {"--report-only", NULL};
	long long offers0;
	struct run_row run;
	char *before, *after;
	json_t *cat;

	fprintf(stderr, "  %s\n", config);
	sim_post(e, "/sim/config", config, NULL);
	mutate(e, 0.05, seed);
	before = offers_text(db, user);
	assert_int_equal(catalog_run_sync(e, db, user, "refresh", report_only), 1);
	catalog_newest_run(db, user, &run);
	assert_string_equal(run.status, "failed");
	if (!strstr(run.error, reason) || !strstr(run.error, "--report-only"))
		fail_msg("want '%s' in the reason, got '%s'", reason, run.error);
	run_row_release(&run);
	after = offers_text(db, user);
	assert_string_equal(before, after);
	free(before);
	free(after);

	offers0 = calls(e, "getOffers");
	assert_int_equal(catalog_run_sync(e, db, user, "refresh", NULL), 0);
	assert_int_equal(calls(e, "getOffers") - offers0, 2000);
	assert_true(catalog_newest_run_logged(db, user, "No Active Inventory Report"));
	assert_true(catalog_newest_run_logged(db, user, reason));
	cat = catalog_fetch(e);
	catalog_assert_db_equals(db, user, cat, 1);
	json_decref(cat);
}

static void test_no_report_falls_back(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--feed-delay-ms", "200", "--feed-daily-cap", "1000", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		const char *off = "{\"feed_fail\":0,\"feed_partial\":0,\"feed_cut\":0,"
				  "\"feed_corrupt\":0,\"feed_daily_cap\":1000}";

		fprintf(stderr, "backend %s\n", e.names[b]);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "bob", "all", NULL), 0);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_fail\":1}", "FAILED", 10 * b + 1);
		sim_post(&e, "/sim/config", off, NULL);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_partial\":1}", "COMPLETED_WITH_ERROR",
			       10 * b + 2);
		sim_post(&e, "/sim/config", off, NULL);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_corrupt\":1}", "was refused",
			       10 * b + 3);
		sim_post(&e, "/sim/config", off, NULL);
		no_report_case(&e, e.urls[b], "bob", "{\"feed_cut\":1}", "was refused", 10 * b + 4);
		sim_post(&e, "/sim/config", off, NULL);
		/* The cap: every task of the day is used up. */
		no_report_case(&e, e.urls[b], "bob", "{\"feed_daily_cap\":1}", "daily cap",
			       10 * b + 5);
		sim_post(&e, "/sim/config", off, NULL);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* Starts a refresh without waiting; returns its pid. */
static pid_t spawn_refresh(struct catalog_env *e, const char *db, const char *user)
{
	char *argv[] = {TESTUTIL_APP_BIN, "sync",	"refresh", "--db",	    (char *)db,
			"--user",	  (char *)user, "--env",   "simulator",	    "--api-base",
			e->sim.base_url,  "--token",	TOKEN,	   "--concurrency", "2",
			"--quiet",	  NULL};
	pid_t pid = fork();

	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);

		if (out < 0)
			_exit(127);
		dup2(out, 1);
		dup2(out, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * STOP (SIGINT) while the refresh fetches offers: exit 130, the run
 * cancelled with what it stored counted, and the next refresh completes
 * the mirror from there.
 */
static void test_stop_keeps_what_was_written(void **state)
{
	struct catalog_env e = {0};

	assert_int_equal(catalog_start_sim(&e, quiet_feed), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		long long offers0, deadline;
		struct run_row run;
		pid_t pid;
		int status;
		json_t *cat;

		fprintf(stderr, "backend %s\n", e.names[b]);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "carol", "all", NULL), 0);
		mutate(&e, 0.2, b + 7);
		/* Slow answers: the getOffers step takes seconds. */
		sim_post(&e, "/sim/config", "{\"latency_ms\":150}", NULL);
		offers0 = calls(&e, "getOffers");
		pid = spawn_refresh(&e, e.urls[b], "carol");
		deadline = timeutil_mono_ms() + 120000;
		while (calls(&e, "getOffers") - offers0 < 20) {
			if (timeutil_mono_ms() > deadline || waitpid(pid, &status, WNOHANG) == pid)
				fail_msg("the refresh made %lld getOffers calls and %s, not 20 in "
					 "flight to stop",
					 calls(&e, "getOffers") - offers0,
					 timeutil_mono_ms() > deadline
					     ? "is still running after 120 s"
					     : "ended");
			timeutil_sleep_ms(50);
		}
		kill(pid, SIGINT);
		waitpid(pid, &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 130);
		catalog_newest_run(e.urls[b], "carol", &run);
		assert_string_equal(run.kind, "refresh");
		assert_string_equal(run.status, "cancelled");
		assert_true(run.stored > 0);
		run_row_release(&run);
		sim_post(&e, "/sim/config", "{\"latency_ms\":0}", NULL);

		assert_int_equal(catalog_run_sync(&e, e.urls[b], "carol", "refresh", NULL), 0);
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "carol", cat, 1);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refresh_equals_catalog),
	    cmocka_unit_test(test_no_report_falls_back),
	    cmocka_unit_test(test_stop_keeps_what_was_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
