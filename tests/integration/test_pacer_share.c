/*
 * The pacer shared by the processes of an install, end to end: three
 * `ebaysync sync all` processes at once, one user each, on one database
 * (a SQLite file, then a PostgreSQL database), against one ebaysync-sim
 * with a global rate limit none of them is told. From the simulator's own
 * counts (GET /sim/stats): together they attempted no more than about the
 * limit and few of their calls were refused; every user's mirror equals
 * the catalog. Run with EBAYSYNC_PACER_SHARE=0 in the environment, each
 * process finds the rate alone and the test fails on the 429s.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "catalog_check.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"
#include "xalloc.h"

#define LIMIT	100 /* the simulator's requests a second, all callers together */
#define SKUS	"500"
#define PROCS	3
#define LATENCY "20"

/* API calls the simulator answered (every status) and its 429s. */
static void sim_counts(struct catalog_env *e, long long *calls, long long *throttled)
{
	char *url = xasprintf("%s/sim/stats", e->sim.base_url);
	json_t *st = testutil_get_json(url, NULL), *by_status, *n;
	const char *ep, *status;

	assert_non_null(st);
	*calls = 0;
	json_object_foreach(json_object_get(st, "calls"), ep, by_status)
	{
		if (!strcmp(ep, "token"))
			continue;
		json_object_foreach(by_status, status, n) *calls += json_integer_value(n);
	}
	*throttled = json_integer_value(json_object_get(st, "throttled"));
	json_decref(st);
	free(url);
}

static pid_t spawn_sync(struct catalog_env *e, const char *db, const char *user)
{
	char *argv[] = {TESTUTIL_APP_BIN, "sync",	"all",	       "--db",	    (char *)db,
			"--user",	  (char *)user, "--env",       "simulator", "--api-base",
			e->sim.base_url,  "--token",	CATALOG_TOKEN, "--quiet",   NULL};
	pid_t pid = fork();

	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);

		if (out < 0)
			_exit(127);
		dup2(out, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void three_at_once(const char *db, const char *backend)
{
	const char *sim[] = {"--skus", SKUS,	       "--rps", "100", "--rate-scope",
			     "global", "--latency-ms", LATENCY, NULL};
	struct catalog_env e = {0};
	char user[16];
	pid_t pids[PROCS];
	long long t0, elapsed, calls, throttled;
	double attempted;
	json_t *cat;
	int i, status;

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	t0 = timeutil_mono_ms();
	for (i = 0; i < PROCS; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		pids[i] = spawn_sync(&e, db, user);
		assert_true(pids[i] > 0);
	}
	for (i = 0; i < PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	elapsed = timeutil_mono_ms() - t0;
	sim_counts(&e, &calls, &throttled);
	cat = catalog_fetch(&e);
	/* Stopped before any assertion, which would leave it running. */
	testutil_stop(&e.sim, 0);
	attempted = (double)calls * 1000.0 / (double)elapsed;
	fprintf(stderr, "%s: %lld calls, %lld refused (%.2f%%) in %lld ms: %.1f a second\n",
		backend, calls, throttled, 100.0 * (double)throttled / (double)calls, elapsed,
		attempted);
	/* Every process syncs the whole catalog: 500 getOffers and 3 pages. */
	assert_true(calls >= PROCS * 503);
	/* Together at the limit, not three times it. */
	assert_true(attempted <= 1.1 * LIMIT);
	if (throttled * 100 >= 3 * calls)
		fail_msg("%s: %lld of %lld calls refused (3%% at most)", backend, throttled, calls);
	for (i = 0; i < PROCS; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		catalog_assert_db_equals(db, user, cat, 1);
	}
	json_decref(cat);
}

static void test_three_processes_share_the_rate(void **state)
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names);

	(void)state;
	for (int b = 0; b < n; b++)
		three_at_once(urls[b], names[b]);
	testutil_backends_release(urls, n);
}

/* The table itself, on every backend: a row written over by its owner, the
 * rows of a scope, the stale ones pruned. */
static void test_peer_rows(void **state)
{
	char *urls[2];
	const char *names[2];
	int n = testutil_backends(urls, names);

	(void)state;
	for (int b = 0; b < n; b++) {
		struct pacer_peer_row r = {.scope = "http://x",
					   .owner = "h:1",
					   .heartbeat_ms = 1000,
					   .weight = 2,
					   .demand = -1,
					   .used = 12.5,
					   .rate = 13,
					   .wall = 90.25,
					   .wall_seq = 3,
					   .wall_ms = 999};
		struct pacer_peer_row *rows = NULL;
		struct buf why = BUF_INIT;
		struct store *s = NULL;
		long long deleted = 0;
		size_t k = 0;

		assert_int_equal(store_open(urls[b], &s, &why), ERR_OK);
		assert_int_equal(store_pacer_peer_put(s, &r), ERR_OK);
		r.owner = "h:2";
		r.heartbeat_ms = 5000;
		assert_int_equal(store_pacer_peer_put(s, &r), ERR_OK);
		r.heartbeat_ms = 6000; /* written over, not added */
		r.demand = 0;
		assert_int_equal(store_pacer_peer_put(s, &r), ERR_OK);
		r.scope = "http://y";
		assert_int_equal(store_pacer_peer_put(s, &r), ERR_OK);
		assert_int_equal(store_pacer_peers_list(s, "http://x", &rows, &k), ERR_OK);
		assert_int_equal(k, 2);
		for (size_t i = 0; i < k; i++) {
			int two = !strcmp(rows[i].owner, "h:2");

			assert_string_equal(rows[i].scope, "http://x");
			assert_int_equal(rows[i].heartbeat_ms, two ? 6000 : 1000);
			assert_true(rows[i].demand == (two ? 0 : -1));
			assert_true(rows[i].weight == 2 && rows[i].used == 12.5 &&
				    rows[i].rate == 13 && rows[i].wall == 90.25);
			assert_int_equal(rows[i].wall_seq, 3);
			assert_int_equal(rows[i].wall_ms, 999);
			pacer_peer_row_release(&rows[i]);
		}
		free(rows);
		assert_int_equal(store_pacer_peers_prune(s, "http://x", 2000, &deleted), ERR_OK);
		assert_int_equal(deleted, 1);
		assert_int_equal(store_pacer_peers_list(s, "http://x", &rows, &k), ERR_OK);
		assert_int_equal(k, 1);
		assert_string_equal(rows[0].owner, "h:2");
		pacer_peer_row_release(&rows[0]);
		free(rows);
		store_close(s);
		buf_release(&why);
	}
	testutil_backends_release(urls, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peer_rows),
	    cmocka_unit_test(test_three_processes_share_the_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
