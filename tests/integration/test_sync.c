/*
 * The sync engine end to end: the real `ebaysync sync` binary against the
 * real `ebaysync-sim`, into a fresh database on every backend, and what
 * landed compared with the simulator's own ground truth (GET /sim/catalog)
 * field by field. The expected values are worked out here from the catalog
 * JSON, independently of src/mapping.c.
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

/* Waits (up to 60 s) until user's newest run has stored at least min rows:
 * a test that interrupts a run midway interrupts it after it has done
 * something, however slow the machine is. */
static void wait_stored(const char *db, const char *user, long long min)
{
	long long deadline = timeutil_mono_ms() + 60000, stored = -1;

	while (timeutil_mono_ms() < deadline) {
		struct store *s = NULL;
		struct run_row *runs = NULL;
		size_t n = 0;
		long long total = 0;

		if (store_open(db, &s, NULL) == ERR_OK &&
		    store_run_list(s, user, 1, 0, &runs, &n, &total) == ERR_OK && n == 1)
			stored = runs[0].stored;
		while (n)
			run_row_release(&runs[--n]);
		free(runs);
		store_close(s);
		if (stored >= min)
			return;
		timeutil_sleep_ms(50);
	}
	fail_msg("the run of %s stored %lld rows in 60 s, not %lld", user, stored, min);
}

static long long catalog_offer_count(json_t *cat)
{
	long long n = 0;
	const char *sku;
	json_t *e;

	json_object_foreach(cat, sku, e) n +=
	    (long long)json_array_size(json_object_get(e, "offers"));
	return n;
}

static void sync_and_compare(const char *const sim_flags[], const char *const sync_flags[])
{
	struct catalog_env e = {0};

	assert_int_equal(catalog_start_sim(&e, sim_flags), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct run_row run;
		json_t *cat;

		fprintf(stderr, "backend %s\n", e.names[b]);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "alice", "all", sync_flags), 0);
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "alice", cat, 1);
		catalog_newest_run(e.urls[b], "alice", &run);
		assert_string_equal(run.status, "done");
		assert_int_equal(run.fetched, catalog_offer_count(cat));
		assert_int_equal(run.stored, run.fetched);
		assert_int_equal(run.failed, 0);
		run_row_release(&run);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

static void test_clean_record_offsets(void **state)
{
	const char *sim[] = {"--offset-mode", "record", NULL};
	sync_and_compare(sim, NULL);
}

static void test_clean_page_offsets(void **state)
{
	const char *sim[] = {"--offset-mode", "page", NULL};
	const char *sync[] = {"--page-size", "150", NULL};
	sync_and_compare(sim, sync);
}

static void test_faults_without_retry_after(void **state)
{
	const char *sim[] = {"--fail-500",
			     "0.03",
			     "--fail-25025",
			     "0.01",
			     "--rps",
			     "300",
			     "--burst",
			     "20",
			     "--fail-reset",
			     "0.02",
			     "--fail-truncate",
			     "0.02",
			     "--fail-malformed",
			     "0.01",
			     NULL};
	const char *sync[] = {"--timeout", "5", NULL};
	sync_and_compare(sim, sync);
}

static void test_faults_with_retry_after(void **state)
{
	const char *sim[] = {
	    "--fail-500", "0.04",	   "--rps",	   "300",  "--burst",
	    "20",	  "--retry-after", "--fail-reset", "0.02", "--fail-truncate",
	    "0.02",	  "--fail-stall",  "0.002",	   NULL};
	const char *sync[] = {"--timeout", "3", NULL};
	sync_and_compare(sim, sync);
}

static void test_inventory_only(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--offset-mode", "page", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct run_row run;
		json_t *cat;

		assert_int_equal(catalog_run_sync(&e, e.urls[b], "bob", "inventory", NULL), 0);
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "bob", cat, 0);
		catalog_newest_run(e.urls[b], "bob", &run);
		assert_string_equal(run.status, "done");
		assert_int_equal(run.fetched, (long long)json_object_size(cat));
		assert_int_equal(run.stored, run.fetched);
		run_row_release(&run);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* Two users syncing the same catalog into one database do not collide. */
static void test_two_users(void **state)
{
	struct catalog_env e = {0};

	assert_int_equal(catalog_start_sim(&e, NULL), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		json_t *cat;

		assert_int_equal(catalog_run_sync(&e, e.urls[b], "alice", "all", NULL), 0);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "carol", "all", NULL), 0);
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "alice", cat, 1);
		catalog_assert_db_equals(e.urls[b], "carol", cat, 1);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* Starts `ebaysync sync KIND` (4 at once, quiet) without waiting; returns
 * its pid. Its output is dropped, but standard error goes to err_path when
 * given. */
static pid_t spawn_sync(struct catalog_env *e, const char *db, const char *user, const char *kind,
			const char *err_path)
{
	char *argv[] = {TESTUTIL_APP_BIN, "sync",	(char *)kind, "--db",	       (char *)db,
			"--user",	  (char *)user, "--env",      "simulator",     "--api-base",
			e->sim.base_url,  "--token",	TOKEN,	      "--concurrency", "4",
			"--quiet",	  NULL};
	pid_t pid = fork();

	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);
		int err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : out;

		if (out < 0 || err < 0)
			_exit(127);
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* SIGINT midway: exit 130, status cancelled, and what is stored is whole:
 * every stored offer equals the catalog's, the run's stored count equals
 * the offers table. */
static void test_cancel_midway(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "20", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct store *s = NULL;
		struct store_query q = {.user_id = "dave"};
		json_t *offers = NULL, *cat, *row;
		long long total = 0;
		struct run_row run;
		int status;
		size_t i;
		pid_t pid = spawn_sync(&e, e.urls[b], "dave", "offers", NULL);

		timeutil_sleep_ms(2500);
		wait_stored(e.urls[b], "dave", 1);
		kill(pid, SIGINT);
		waitpid(pid, &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 130);

		catalog_newest_run(e.urls[b], "dave", &run);
		assert_string_equal(run.status, "cancelled");
		assert_true(run.finished_ms > 0);
		cat = catalog_fetch(&e);
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_list_offers(s, &q, &offers, &total), ERR_OK);
		assert_true(json_array_size(offers) > 0);
		assert_true((long long)json_array_size(offers) < catalog_offer_count(cat));
		assert_int_equal(run.stored, (long long)json_array_size(offers));
		json_array_foreach(offers, i, row)
		{
			const char *sku = json_string_value(json_object_get(row, "sku_code"));
			json_t *want = json_object_get(json_object_get(cat, sku), "offers"), *o;
			size_t k;
			int found = 0;

			json_array_foreach(want, k, o)
			{
				if (!strcmp(json_string_value(json_object_get(o, "offerId")),
					    json_string_value(json_object_get(row, "offer_id")))) {
					catalog_check_offer(sku, o, row);
					found = 1;
				}
			}
			assert_true(found);
		}
		run_row_release(&run);
		json_decref(offers);
		json_decref(cat);
		store_close(s);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* A catalog that changes while it is read: every SKU that existed from
 * before the run to after it ends up stored. */
static void test_churn(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--churn", "200", "--latency-ms", "5", NULL};
	const char *sync[] = {"--page-size", "50", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		json_t *before = catalog_fetch(&e), *after, *items = NULL, *imap, *v;
		struct store *s = NULL;
		struct store_query q = {.user_id = "erin"};
		long long total = 0;
		const char *sku;
		size_t throughout = 0;

		assert_int_equal(catalog_run_sync(&e, e.urls[b], "erin", "inventory", sync), 0);
		after = catalog_fetch(&e);
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_list_items(s, &q, &items, &total), ERR_OK);
		imap = catalog_by_key(items, "sku_code");
		json_object_foreach(before, sku, v)
		{
			if (!json_object_get(after, sku))
				continue;
			throughout++;
			if (!json_object_get(imap, sku))
				fail_msg("SKU '%s' existed throughout the run but was not stored",
					 sku);
		}
		/* Churn is by the second: on a loaded machine a slow walk sees more
		 * SKUs come and go, so the floor only says that enough SKUs
		 * stayed for the check to mean something. */
		if (throughout < 100)
			fail_msg("only %zu SKUs existed throughout the run", throughout);
		json_decref(imap);
		json_decref(items);
		json_decref(before);
		json_decref(after);
		store_close(s);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

static void sim_config(struct catalog_env *e, const char *json)
{
	char *cfg = xasprintf("%s/sim/config", e->sim.base_url);
	struct testutil_http r;

	assert_int_equal(testutil_http("POST", cfg, json, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	testutil_http_release(&r);
	free(cfg);
}

/*
 * Runs an offers sync whose Step 2 meets 30% of 500s with one attempt per
 * request: the faults are switched on once Step 1 (the inventory pages) is
 * complete, by watching the run's JSON lines. Returns the exit code.
 */
static int offers_with_failing_step2(struct catalog_env *e, const char *db, const char *user)
{
	char *argv[] = {TESTUTIL_APP_BIN,
			"sync",
			"offers",
			"--db",
			(char *)db,
			"--user",
			(char *)user,
			"--env",
			"simulator",
			"--api-base",
			e->sim.base_url,
			"--token",
			TOKEN,
			"--json",
			"--max-attempts",
			"1",
			"--concurrency",
			"2",
			NULL};
	int pipefd[2], status, switched = 0;
	char line[8192];
	FILE *f;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	while (fgets(line, sizeof(line), f)) {
		if (!switched && strstr(line, "Step 1 complete")) {
			sim_config(e, "{\"fail_500\": 0.3}");
			switched = 1;
		}
	}
	fclose(f);
	waitpid(pid, &status, 0);
	sim_config(e, "{\"fail_500\": 0}");
	assert_true(switched);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* SKUs that still fail after their retries are recorded, the run ends done
 * with the count, and the next run retries them first and clears them. */
static void test_failures_recorded_then_retried(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "3", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct store *s = NULL;
		struct run_row run;
		char **fails = NULL;
		size_t n_fails = 0;
		json_t *cat;

		assert_int_equal(catalog_run_sync(&e, e.urls[b], "frank", "inventory", NULL), 0);
		assert_int_equal(offers_with_failing_step2(&e, e.urls[b], "frank"), 0);
		catalog_newest_run(e.urls[b], "frank", &run);
		assert_string_equal(run.status, "done");
		assert_true(run.failed > 50);
		assert_true(
		    catalog_newest_run_logged(e.urls[b], "frank", "SKUs failed after all retries"));
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_failure_list(s, "frank", "offers", &fails, &n_fails),
				 ERR_OK);
		assert_int_equal((long long)n_fails, run.failed);
		for (size_t i = 0; i < n_fails; i++)
			free(fails[i]);
		free(fails);
		store_close(s);
		run_row_release(&run);

		/* The next run retries them first, and ends with the catalog. */
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "frank", "offers", NULL), 0);
		assert_true(catalog_newest_run_logged(e.urls[b], "frank", "Retrying first"));
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "frank", cat, 1);
		json_decref(cat);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* Starts `ebaysync sync KIND`, interrupts it with SIGINT after ms and once
 * it has stored something, and returns its exit code. */
static int run_and_interrupt(struct catalog_env *e, const char *db, const char *user,
			     const char *kind, long long ms)
{
	pid_t pid = spawn_sync(e, db, user, kind, NULL);
	int status;

	timeutil_sleep_ms(ms);
	wait_stored(db, user, 1);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* An inventory run stopped between pages: every page it fetched is stored
 * and counted (fetched = stored = the rows in the table). */
static void test_cancel_inventory(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "150", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct store_query q = {.user_id = "judy"};
		struct store *s = NULL;
		struct run_row run;
		json_t *items = NULL;
		long long total = 0;

		assert_int_equal(run_and_interrupt(&e, e.urls[b], "judy", "inventory", 700), 130);
		catalog_newest_run(e.urls[b], "judy", &run);
		assert_string_equal(run.status, "cancelled");
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_list_items(s, &q, &items, &total), ERR_OK);
		assert_true(total > 0 && total < 2000);
		assert_int_equal(run.fetched, total);
		assert_int_equal(run.stored, total);
		json_decref(items);
		store_close(s);
		run_row_release(&run);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* A stopped offers run is resumed with --resume: the next run skips the SKUs
 * it stored, fetches the rest, and the database ends equal to the catalog. */
static void test_resume_after_cancel(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "20", NULL};
	const char *resume[] = {"--resume", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct run_row run;
		json_t *cat;

		assert_int_equal(catalog_run_sync(&e, e.urls[b], "gina", "inventory", NULL), 0);
		assert_int_equal(run_and_interrupt(&e, e.urls[b], "gina", "offers", 3000), 130);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "gina", "offers", resume), 0);
		assert_true(catalog_newest_run_logged(e.urls[b], "gina", "Resuming run offers_"));
		catalog_newest_run(e.urls[b], "gina", &run);
		assert_string_equal(run.status, "done");
		assert_true(run.total > 0 && run.total < 2000); /* only the SKUs left */
		run_row_release(&run);
		cat = catalog_fetch(&e);
		catalog_assert_db_equals(e.urls[b], "gina", cat, 1);
		json_decref(cat);
		/* After a run that ended done there is nothing to resume. */
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "gina", "offers", resume), 0);
		assert_true(catalog_newest_run_logged(e.urls[b], "gina", "Nothing to resume"));
		catalog_newest_run(e.urls[b], "gina", &run);
		assert_int_equal(run.total, 2000);
		run_row_release(&run);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* `sync skus`: the given SKUs (hostile ones among them, and two eBay does
 * not know) through bulkGetInventoryItem, then their offers; what landed
 * equals the catalog for exactly those SKUs. */
static void test_skus(void **state)
{
	struct catalog_env e = {0};

	assert_int_equal(catalog_start_sim(&e, NULL), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		json_t *cat = catalog_fetch(&e), *want = json_object(), *entry, *items = NULL,
		       *imap, *offers = NULL, *omap;
		char *dir = testutil_tmpdir(), *path = xasprintf("%s/skus.txt", dir);
		const char *extra[] = {"--sku-file", path, "no-such-sku-1", "no-such-sku-2", NULL};
		struct store_query q = {.user_id = "hank"};
		struct store *s = NULL;
		struct run_row run;
		long long total = 0;
		size_t hostile = 0, n = 0, n_offers = 0;
		const char *sku;
		FILE *f = fopen(path, "w");

		json_object_foreach(cat, sku, entry)
		{
			int odd = strpbrk(sku, " /#%+?&\"'") != NULL || (unsigned char)sku[0] > 127;

			if ((odd && hostile < 15) || (n % 40 == 0)) {
				/* bulkGetInventoryItem's items are InventoryItemWithSkuLocale-
				 * GroupKeys: no groupIds, as on eBay */
				json_t *copy = json_deep_copy(entry);

				json_object_del(json_object_get(copy, "item"), "groupIds");
				fprintf(f, "%s\n", sku);
				json_object_set_new(want, sku, copy);
				hostile += odd;
			}
			n++;
		}
		fclose(f);
		assert_true(hostile >= 5);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "hank", "skus", extra), 0);
		catalog_newest_run(e.urls[b], "hank", &run);
		assert_string_equal(run.status, "done");
		assert_int_equal(run.failed, 2);
		run_row_release(&run);
		assert_true(catalog_newest_run_logged(e.urls[b], "hank",
						      "no-such-sku-1: not found on eBay"));

		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_list_items(s, &q, &items, &total), ERR_OK);
		assert_int_equal(store_list_offers(s, &q, &offers, &total), ERR_OK);
		imap = catalog_by_key(items, "sku_code");
		omap = catalog_by_key(offers, "offer_id");
		assert_int_equal(json_object_size(imap), json_object_size(want));
		json_object_foreach(want, sku, entry)
		{
			json_t *row = json_object_get(imap, sku), *o;
			size_t k;

			if (!row)
				fail_msg("SKU '%s' was asked for but not stored", sku);
			catalog_check_item(sku, entry, row, 1);
			json_array_foreach(json_object_get(entry, "offers"), k, o)
			{
				catalog_check_offer(
				    sku, o,
				    json_object_get(
					omap, json_string_value(json_object_get(o, "offerId"))));
				n_offers++;
			}
		}
		assert_int_equal(json_object_size(omap), n_offers);
		json_decref(imap);
		json_decref(omap);
		json_decref(items);
		json_decref(offers);
		json_decref(want);
		json_decref(cat);
		store_close(s);
		testutil_rmrf(dir);
		free(dir);
		free(path);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* The heartbeat goes on while a page request is slow: another process
 * must not take a live run for a dead one. */
static void test_heartbeat_while_waiting(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "4000", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct run_row run;
		long long age;
		int status;
		pid_t pid = spawn_sync(&e, e.urls[b], "ivan", "inventory", NULL);

		/* 3 s into the first page's 4 s: only the writer thread beats */
		timeutil_sleep_ms(3000);
		catalog_newest_run(e.urls[b], "ivan", &run);
		age = timeutil_wall_ms() - run.heartbeat_ms;
		assert_string_equal(run.status, "running");
		run_row_release(&run);
		kill(pid, SIGINT);
		waitpid(pid, &status, 0);
		if (age >= 1500)
			fail_msg("the heartbeat of a run waiting on eBay is %lld ms old", age);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

/* Bad input from our own user: a clear message and exit 2, nothing run. */
static void test_usage_errors(void **state)
{
	char *no_kind[] = {TESTUTIL_APP_BIN, "sync", NULL};
	char *bad_kind[] = {TESTUTIL_APP_BIN, "sync", "everything", NULL};
	char *bad_conc[] = {TESTUTIL_APP_BIN, "sync", "offers", "--concurrency", "0", NULL};
	char *no_token[] = {TESTUTIL_APP_BIN, "sync", "offers", "--env", "sandbox", NULL};
	char *env_unset[] = {"EBAY_TOKEN=", NULL};

	assert_int_equal(testutil_run(no_kind, NULL, NULL), 2);
	assert_int_equal(testutil_run(bad_kind, NULL, NULL), 2);
	assert_int_equal(testutil_run(bad_conc, NULL, NULL), 2);
	assert_int_not_equal(testutil_run(no_token, env_unset, NULL), 0);
}

/* A wrong token: the run fails with a message that says so, exit 1. */
static void test_bad_token(void **state)
{
	struct catalog_env e = {0};
	char *dir = testutil_tmpdir();
	char *db = xasprintf("%s/t.db", dir);

	assert_int_equal(catalog_start_sim(&e, NULL), 0);
	{
		char *argv[] = {
		    TESTUTIL_APP_BIN, "sync",	    "offers",	    "--db",    db,	"--env",
		    "simulator",      "--api-base", e.sim.base_url, "--token", "wrong", NULL};
		struct run_row run;
		assert_int_equal(testutil_run(argv, NULL, NULL), 1);
		catalog_newest_run(db, "default", &run);
		assert_string_equal(run.status, "failed");
		assert_non_null(run.error);
		assert_non_null(strstr(run.error, "inventory page 1"));
		run_row_release(&run);
	}
	testutil_stop(&e.sim, 0);
	testutil_rmrf(dir);
	free(db);
	free(dir);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = xcalloc(1, 65536);

	if (f) {
		size_t n = fread(text, 1, 65535, f);
		text[n] = '\0';
		fclose(f);
	}
	return text;
}

/*
 * Two `ebaysync sync offers` for one user at the same instant against a
 * slow simulator: the database lets only one of them run. One ends done,
 * the other exits 1 at once, naming the first, and leaves nothing behind.
 * Then a run left 'running' by a crashed process (no heartbeat for a
 * minute) does not keep the next one from starting.
 */
static void test_one_run_of_a_kind_at_once(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "20", NULL};
	char *dir = testutil_tmpdir();

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		char *err_path[2], *err_text[2], *want;
		int code[2], status, done;
		struct store *s = NULL;
		struct run_row *runs = NULL, run, stale;
		size_t n = 0;
		long long total = 0, t0;
		pid_t pid[2];

		for (int i = 0; i < 2; i++)
			err_path[i] = xasprintf("%s/err-%d-%d.txt", dir, b, i);
		t0 = timeutil_mono_ms();
		for (int i = 0; i < 2; i++)
			pid[i] = spawn_sync(&e, e.urls[b], "dora", "offers", err_path[i]);
		for (int i = 0; i < 2; i++) {
			assert_true(pid[i] > 0);
			assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
			code[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
			err_text[i] = read_text(err_path[i]);
		}
		if (!((code[0] == 0 && code[1] == 1) || (code[0] == 1 && code[1] == 0)))
			fail_msg(
			    "want one run done and one refused, got exit codes %d and %d:\n%s\n%s",
			    code[0], code[1], err_text[0], err_text[1]);
		done = code[0] == 0 ? 0 : 1;
		print_message("[ %s ] two syncs at once: one done, one refused (%lld ms)\n",
			      e.names[b], timeutil_mono_ms() - t0);

		/* Exactly one offers run of dora is stored: the one that ran. */
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		assert_int_equal(store_run_list(s, "dora", 10, 0, &runs, &n, &total), ERR_OK);
		assert_int_equal(n, 1);
		assert_string_equal(runs[0].status, "done");
		assert_string_equal(runs[0].kind, "offers");
		want = xasprintf("ebaysync: an offers sync is already running for dora (run %s)\n",
				 runs[0].id);
		if (!strstr(err_text[1 - done], want))
			fail_msg("the refused run said:\n%s\nwant: %s", err_text[1 - done], want);
		assert_null(strstr(err_text[done], "already running"));
		free(want);
		run_row_release(&runs[0]);
		free(runs);

		/* A crashed run: 'running', heartbeat a minute old. */
		memset(&stale, 0, sizeof(stale));
		stale.id = (char *)"offers_1_dead";
		stale.user_id = (char *)"dora";
		stale.kind = (char *)"offers";
		stale.status = (char *)STORE_RUN_RUNNING;
		stale.started_ms = timeutil_wall_ms() - 120000;
		stale.heartbeat_ms = timeutil_wall_ms() - 60000;
		stale.owner = (char *)"elsewhere:1";
		assert_int_equal(store_run_insert(s, &stale), ERR_OK);
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "dora", "offers", NULL), 0);
		assert_int_equal(store_run_get(s, "dora", "offers_1_dead", &run), ERR_OK);
		assert_string_equal(run.status, "interrupted");
		run_row_release(&run);
		catalog_newest_run(e.urls[b], "dora", &run);
		assert_string_equal(run.status, "done");
		run_row_release(&run);
		store_close(s);
		for (int i = 0; i < 2; i++) {
			free(err_path[i]);
			free(err_text[i]);
		}
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
	testutil_rmrf(dir);
	free(dir);
}

/*
 * `kill -9` of a command-line sync leaves its run 'running' with a fresh
 * heartbeat. Its owner names a process of this host that is gone, so the
 * next sync marks it interrupted at once and runs, rather than being
 * refused until the heartbeat is SYNC_STALE_MS old.
 */
static void test_rerun_after_kill_9(void **state)
{
	struct catalog_env e = {0};
	const char *sim[] = {"--latency-ms", "50", NULL};

	assert_int_equal(catalog_start_sim(&e, sim), 0);
	e.n_backends = testutil_backends(e.urls, e.names);
	for (int b = 0; b < e.n_backends; b++) {
		struct store *s = NULL;
		struct run_row *runs = NULL, killed;
		size_t n = 0;
		long long total = 0, t0;
		int status;
		pid_t pid = spawn_sync(&e, e.urls[b], "kim", "all", NULL);

		assert_true(pid > 0);
		assert_int_equal(store_open(e.urls[b], &s, NULL), ERR_OK);
		/* until its run row is there */
		for (t0 = timeutil_mono_ms(); n == 0 && timeutil_mono_ms() - t0 < 10000;) {
			timeutil_sleep_ms(50);
			free(runs);
			assert_int_equal(store_run_list(s, "kim", 1, 0, &runs, &n, &total), ERR_OK);
		}
		assert_int_equal(n, 1);
		killed = runs[0];
		free(runs);
		assert_string_equal(killed.status, "running");
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));

		t0 = timeutil_mono_ms();
		assert_int_equal(catalog_run_sync(&e, e.urls[b], "kim", "all", NULL), 0);
		print_message("[ %s ] sync after kill -9: done in %lld ms\n", e.names[b],
			      timeutil_mono_ms() - t0);
		run_row_release(&killed);
		assert_int_equal(store_run_list(s, "kim", 10, 0, &runs, &n, &total), ERR_OK);
		assert_int_equal(n, 2);
		assert_string_equal(runs[0].status, "done");
		assert_string_equal(runs[1].status, "interrupted");
		for (size_t i = 0; i < n; i++)
			run_row_release(&runs[i]);
		free(runs);
		store_close(s);
	}
	testutil_backends_release(e.urls, e.n_backends);
	testutil_stop(&e.sim, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_clean_record_offsets),
	    cmocka_unit_test(test_clean_page_offsets),
	    cmocka_unit_test(test_inventory_only),
	    cmocka_unit_test(test_two_users),
	    cmocka_unit_test(test_faults_without_retry_after),
	    cmocka_unit_test(test_faults_with_retry_after),
	    cmocka_unit_test(test_failures_recorded_then_retried),
	    cmocka_unit_test(test_cancel_midway),
	    cmocka_unit_test(test_cancel_inventory),
	    cmocka_unit_test(test_resume_after_cancel),
	    cmocka_unit_test(test_skus),
	    cmocka_unit_test(test_heartbeat_while_waiting),
	    cmocka_unit_test(test_churn),
	    cmocka_unit_test(test_bad_token),
	    cmocka_unit_test(test_one_run_of_a_kind_at_once),
	    cmocka_unit_test(test_rerun_after_kill_9),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
